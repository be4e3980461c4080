/*
 * namespace: `dfs mkdir`, `dfs rm` (into the trash when the cluster keeps one) and
 * `dfs mv`. Main thread only.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pack.h"
#include "proto.h"

int cmd_mkdir(int argc, char **argv)
{
	bool parents = false;
	const struct cli_opt opts[] = {CLI_BOOL('p', "parents", &parents), CLI_END};
	int st = cli_parse_options("mkdir", argc, argv, opts, 1, CLI_ANY);
	if (st >= 0)
		return st;
	struct dfs_client *c = cli_connect();
	struct buf p = BUF_INIT;
	int status = 0;
	for (int i = optind; i < argc; i++) {
		cli_remote_path(argv[i], &p);
		int rc = dfs_mkdir(c, p.data, 0755, parents, NULL);
		if (rc)
			status |= cli_fail(p.data, rc);
	}
	buf_free(&p);
	dfs_close(c);
	return status;
}

int cmd_rm(int argc, char **argv)
{
	bool recursive = false, force = false, skip_trash = false;
	const struct cli_opt opts[] = {CLI_BOOL('r', "recursive", &recursive),
				       CLI_BOOL('R', NULL, &recursive), CLI_BOOL('f', "force", &force),
				       CLI_BOOL(0, "skip-trash", &skip_trash), CLI_END};
	int st = cli_parse_options("rm", argc, argv, opts, 1, CLI_ANY);
	if (st >= 0)
		return st;
	char user[64];
	struct passwd *pw = getpwuid(getuid());
	if (pw)
		snprintf(user, sizeof user, "%s", pw->pw_name);
	else
		snprintf(user, sizeof user, "%u", (unsigned)getuid());
	struct dfs_client *c = cli_connect();
	struct buf p = BUF_INIT;
	int status = 0;
	for (int i = optind; i < argc; i++) {
		cli_remote_path(argv[i], &p);
		struct dfs_attr a;
		int rc = dfs_stat(c, p.data, &a);
		if (!rc && a.type == PROTO_T_DIR && !recursive) {
			cli_error(p.data, "is a directory (use -r to remove it and its contents)");
			status = 1;
			continue;
		}
		bool trashed = false;
		if (!rc && !skip_trash) {
			struct buf req = BUF_INIT, rep = BUF_INIT;
			pack_str(&req, p.data);
			pack_str(&req, user);
			int trc = dfs_call(c, PROTO_CN_TRASH, &req, &rep);
			if (!trc) {
				trashed = true;
				struct unpack u;
				unpack_init(&u, rep.data, rep.len);
				char where[PROTO_PATH_MAX + 1];
				unpack_str(&u, where, sizeof where);
				if (!cli_g.quiet)
					fprintf(stderr, "moved %s to the trash: %s\n", p.data, where);
			} else if (trc != -EOPNOTSUPP && trc != -EINVAL) {
				rc = trc; /* EINVAL: already in the trash, deleted below */
			}
			buf_free(&req);
			buf_free(&rep);
		}
		if (!rc && !trashed)
			rc = dfs_delete(c, p.data, recursive);
		if (rc && !(force && rc == -ENOENT))
			status |= cli_fail(p.data, rc);
	}
	buf_free(&p);
	dfs_close(c);
	return status;
}

int cmd_mv(int argc, char **argv)
{
	int st = cli_parse_options("mv", argc, argv, NULL, 2, CLI_ANY);
	if (st >= 0)
		return st;
	int n = argc - optind;
	struct dfs_client *c = cli_connect();
	struct buf dst = BUF_INIT, src = BUF_INIT, t = BUF_INIT;
	bool dst_dir;
	int status = cli_remote_dest(c, argv[argc - 1], n - 1, &dst, &dst_dir);
	for (int i = optind; !status && i < argc - 1; i++) {
		cli_remote_path(argv[i], &src);
		cli_target(dst.data, dst_dir && strcmp(src.data, dst.data), src.data, &t);
		int rc = dfs_rename(c, src.data, t.data, 0);
		if (rc)
			status |= cli_fail(rc == -ENOENT ? src.data : t.data, rc);
	}
	buf_free(&dst);
	buf_free(&src);
	buf_free(&t);
	dfs_close(c);
	return status;
}

