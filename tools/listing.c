/*
 * listing: `dfs ls`, `dfs stat`, `dfs du` and `dfs df` -- what is in the namespace and
 * how much space it takes. Main thread only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "json.h"
#include "proto.h"

static const char *type_name(uint8_t t)
{
	switch (t) {
	case PROTO_T_FILE: return "file";
	case PROTO_T_DIR: return "directory";
	case PROTO_T_SYMLINK: return "symlink";
	case PROTO_T_FIFO: return "fifo";
	case PROTO_T_CHR: return "char device";
	case PROTO_T_BLK: return "block device";
	case PROTO_T_SOCK: return "socket";
	default: return "unknown";
	}
}

static void mode_string(const struct dfs_attr *a, char out[11])
{
	static const char tc[] = "?-dlpcbs";
	out[0] = a->type < sizeof tc - 1 ? tc[a->type] : '?';
	const char *rwx = "rwxrwxrwx";
	for (int i = 0; i < 9; i++)
		out[1 + i] = a->mode & (1u << (8 - i)) ? rwx[i] : '-';
	out[10] = 0;
}

static void time_string(int64_t ns, char out[32])
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M", &tm);
}


/* ---------------- ls ---------------- */

struct ls_ctx {
	struct dfs_client *c;
	bool lng, human, recursive;
	/* subdirectories of the directory being listed, listed after it (-R order) */
	struct buf *subdirs;
};

static int ls_print(void *arg, const char *path, const struct dfs_attr *a)
{
	const struct ls_ctx *l = arg;
	if (!l->lng) {
		printf("%s\n", path);
		return 0;
	}
	char mode[11], t[32], sz[32], rep[8];
	mode_string(a, mode);
	time_string(a->mtime, t);
	if (a->type == PROTO_T_FILE)
		snprintf(rep, sizeof rep, "%u", a->replication);
	else
		snprintf(rep, sizeof rep, "-");
	printf("%s %3s %5u %5u %10s %s %s\n", mode, rep, a->uid, a->gid,
	       cli_size(a->size, l->human, sz), t, path);
	return 0;
}

static int ls_collect(void *arg, const char *path, const struct dfs_attr *a)
{
	struct ls_ctx *l = arg;
	ls_print(l, path, a);
	if (l->recursive && a->type == PROTO_T_DIR)
		buf_add(l->subdirs, path, strlen(path) + 1);
	return 0;
}

static int ls_dir(struct ls_ctx *l, const char *dir)
{
	struct buf names = BUF_INIT;
	struct ls_ctx sub = *l;
	sub.subdirs = &names;
	int status = cli_list(l->c, dir, ls_collect, &sub);
	for (size_t off = 0; off < names.len; off += strlen(names.data + off) + 1)
		status |= ls_dir(l, names.data + off);
	buf_free(&names);
	return status;
}

static int ls_path(void *arg, const char *path, const struct dfs_attr *a)
{
	return a->type == PROTO_T_DIR ? ls_dir(arg, path) : ls_print(arg, path, a);
}

int cmd_ls(int argc, char **argv)
{
	struct ls_ctx l = {0};
	const struct cli_opt opts[] = {CLI_BOOL('l', "long", &l.lng),
				       CLI_BOOL('R', "recursive", &l.recursive),
				       CLI_BOOL('h', "human-readable", &l.human), CLI_END};
	int st = cli_parse_options("ls", argc, argv, opts, 0, CLI_ANY);
	if (st >= 0)
		return st;
	l.c = cli_connect();
	int status = cli_each_path(l.c, argc - optind, argv + optind, "/", ls_path, &l);
	dfs_close(l.c);
	return status;
}

/* ---------------- stat ---------------- */

static void attr_json(struct buf *b, const char *path, const struct dfs_attr *a)
{
	char mode[8];
	snprintf(mode, sizeof mode, "%04o", a->mode & 07777);
	buf_addc(b, '{');
	json_kstr(b, "path", path);
	json_kstr(b, "type", type_name(a->type));
	json_ku64(b, "ino", a->ino);
	json_ku64(b, "length", a->size);
	json_ku64(b, "replication", a->replication);
	json_ku64(b, "block_size", a->block_size);
	json_kstr(b, "mode", mode);
	json_ku64(b, "uid", a->uid);
	json_ku64(b, "gid", a->gid);
	json_ku64(b, "nlink", a->nlink);
	json_kdbl(b, "mtime", (double)a->mtime / 1e9);
	json_kdbl(b, "atime", (double)a->atime / 1e9);
	json_kdbl(b, "ctime", (double)a->ctime / 1e9);
	json_kbool(b, "under_construction", a->flags & PROTO_A_UNDER_CONSTRUCTION);
	buf_addc(b, '}');
}

static int stat_path(void *arg, const char *path, const struct dfs_attr *a)
{
	bool json = *(bool *)arg;
	if (json) {
		struct buf out = BUF_INIT;
		attr_json(&out, path, a);
		printf("%s\n", out.data);
		buf_free(&out);
		return 0;
	}
	char mode[11], mt[32], at[32], ct[32];
	mode_string(a, mode);
	time_string(a->mtime, mt);
	time_string(a->atime, at);
	time_string(a->ctime, ct);
	printf("  Path: %s\n  Type: %s%s\n  Size: %" PRIu64 "\n"
	       "  Mode: %04o (%s)  Uid: %u  Gid: %u  Links: %u  Inode: %" PRIu64 "\n"
	       "  Replication: %u  Block size: %" PRIu64 "\n"
	       "Modify: %s\nAccess: %s\nChange: %s\n",
	       path, type_name(a->type),
	       a->flags & PROTO_A_UNDER_CONSTRUCTION ? " (being written)" : "", a->size,
	       a->mode & 07777, mode, a->uid, a->gid, a->nlink, a->ino, a->replication,
	       a->block_size, mt, at, ct);
	return 0;
}

int cmd_stat(int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = {CLI_JSON(&json), CLI_END};
	int st = cli_parse_options("stat", argc, argv, opts, 1, CLI_ANY);
	if (st >= 0)
		return st;
	struct dfs_client *c = cli_connect();
	int status = cli_each_path(c, argc - optind, argv + optind, NULL, stat_path, &json);
	dfs_close(c);
	return status;
}

/* ---------------- du, df ---------------- */

struct du_ctx {
	struct dfs_client *c;
	bool human, summary;
	uint64_t total;
};

/* Adds the bytes of the files below one entry to d->total. */
static int du_sum(void *arg, const char *path, const struct dfs_attr *a)
{
	struct du_ctx *d = arg;
	if (a->type != PROTO_T_DIR) {
		d->total += a->size;
		return 0;
	}
	return cli_list(d->c, path, du_sum, d);
}

/* One line: the bytes below path. */
static int du_line(void *arg, const char *path, const struct dfs_attr *a)
{
	struct du_ctx d = *(struct du_ctx *)arg;
	d.total = 0;
	int status = du_sum(&d, path, a);
	char sz[32];
	printf("%-10s %s\n", cli_size(d.total, d.human, sz), path);
	return status;
}

static int du_path(void *arg, const char *path, const struct dfs_attr *a)
{
	const struct du_ctx *d = arg;
	if (a->type != PROTO_T_DIR || d->summary)
		return du_line(arg, path, a);
	return cli_list(d->c, path, du_line, arg);
}

int cmd_du(int argc, char **argv)
{
	struct du_ctx d = {0};
	const struct cli_opt opts[] = {CLI_BOOL('s', "summarize", &d.summary),
				       CLI_BOOL('h', "human-readable", &d.human), CLI_END};
	int st = cli_parse_options("du", argc, argv, opts, 0, CLI_ANY);
	if (st >= 0)
		return st;
	d.c = cli_connect();
	int status = cli_each_path(d.c, argc - optind, argv + optind, "/", du_path, &d);
	dfs_close(d.c);
	return status;
}

int cmd_df(int argc, char **argv)
{
	bool human = false;
	const struct cli_opt opts[] = {CLI_BOOL('h', "human-readable", &human), CLI_END};
	int st = cli_parse_options("df", argc, argv, opts, 0, CLI_ANY);
	if (st >= 0)
		return st;
	struct dfs_client *c = cli_connect();
	struct dfs_statfs s;
	int rc = dfs_statfs(c, &s);
	dfs_close(c);
	if (rc)
		return cli_fail(NULL, rc);
	char a[32], b[32], d[32];
	double pct = s.capacity ? 100.0 * (double)(s.capacity - s.remaining) / (double)s.capacity : 0;
	printf("%-12s %12s %12s %12s %5s\n", "Filesystem", "Size", "Used", "Available", "Use%");
	printf("%-12s %12s %12s %12s %4.0f%%\n", "dfs", cli_size(s.capacity, human, a),
	       cli_size(s.used, human, b), cli_size(s.remaining, human, d), pct);
	return 0;
}

