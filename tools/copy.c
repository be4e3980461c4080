/*
 * copy: `dfs put`, `dfs get` and `dfs cat` -- files and directory trees into and out
 * of the cluster (a put goes to DST._COPYING_ and is renamed into place when whole).
 * Main thread only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"
#include "proto.h"

/* ---------------- put ---------------- */

struct put_opts {
	bool force;
	uint16_t repl;
	uint64_t bs;
};

static int put_stream(struct dfs_client *c, int fd, const char *src, const char *dst,
		      const struct put_opts *o)
{
	struct buf tmp = BUF_INIT;
	buf_printf(&tmp, "%s._COPYING_", dst);
	struct dfs_writer *w;
	int rc = dfs_create(c, tmp.data, 0644, true, o->repl, o->bs, &w);
	if (rc) {
		buf_free(&tmp);
		return cli_fail(dst, rc);
	}
	size_t bufsz = 4 << 20;
	char *buf = malloc(bufsz);
	bool read_err = false;
	if (!buf)
		abort();
	struct stat st;
	bool regular = !fstat(fd, &st) && S_ISREG(st.st_mode);
	if (regular && st.st_size > 0) /* a short last block needs only its length */
		dfs_writer_expect(w, (uint64_t)st.st_size);
	struct progress *pg = progress_start("put", dst, regular ? (uint64_t)st.st_size : 0);
	for (;;) {
		ssize_t n = read(fd, buf, bufsz);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			cli_error(src, "cannot read: %s", strerror(e));
			read_err = true;
			rc = -e;
			break;
		}
		if (n == 0)
			break;
		rc = dfs_write(w, buf, (size_t)n);
		if (rc)
			break;
		progress_add(pg, (uint64_t)n);
	}
	free(buf);
	int status = 0;
	if (rc) {
		status = read_err ? 1 : cli_fail(dst, rc);
		dfs_writer_abort(w);
		dfs_delete(c, tmp.data, false);
	} else if ((rc = dfs_writer_close(w))) {
		status = cli_fail(dst, rc);
		dfs_delete(c, tmp.data, false);
	} else if ((rc = dfs_rename(c, tmp.data, dst, o->force ? 0 : PROTO_RENAME_NOREPLACE))) {
		status = cli_fail(dst, rc);
		dfs_delete(c, tmp.data, false);
	}
	progress_end(pg, !status);
	buf_free(&tmp);
	return status;
}

static int put_one(struct dfs_client *c, const char *src, const char *dst,
		   const struct put_opts *o);

static int put_dir(struct dfs_client *c, const char *src, const char *dst,
		   const struct put_opts *o)
{
	int rc = dfs_mkdir(c, dst, 0755, false, NULL);
	if (rc && rc != -EEXIST)
		return cli_fail(dst, rc);
	DIR *d = opendir(src);
	if (!d) {
		cli_error(src, "%s", strerror(errno));
		return 1;
	}
	int status = 0;
	struct dirent *e;
	struct buf s = BUF_INIT, t = BUF_INIT;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		cli_join(src, e->d_name, &s);
		cli_join(dst, e->d_name, &t);
		status |= put_one(c, s.data, t.data, o);
	}
	closedir(d);
	buf_free(&s);
	buf_free(&t);
	return status;
}

static int put_one(struct dfs_client *c, const char *src, const char *dst,
		   const struct put_opts *o)
{
	if (!strcmp(src, "-"))
		return put_stream(c, 0, "-", dst, o);
	struct stat st;
	if (stat(src, &st)) {
		cli_error(src, "%s", errno == ENOENT ? "no such file or directory" : strerror(errno));
		return 1;
	}
	if (S_ISDIR(st.st_mode))
		return put_dir(c, src, dst, o);
	if (!o->force) {
		struct dfs_attr a;
		if (dfs_stat(c, dst, &a) == 0) {
			cli_error(dst, a.type == PROTO_T_DIR ? "is a directory" : "file exists");
			return 1;
		}
	}
	int fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_error(src, "%s", strerror(errno));
		return 1;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	int rc = put_stream(c, fd, src, dst, o);
	close(fd);
	return rc;
}

static int opt_repl(void *repl, const char *arg) { return cli_parse_repl(arg, repl) ? 0 : 2; }

static int opt_block_size(void *bs, const char *arg)
{
	uint64_t v;
	if (!cli_parse_size(arg, &v) || v == 0 || v % PROTO_CHUNK_SIZE) {
		cli_error(NULL, "block size must be a positive multiple of 64K, not '%s'", arg);
		return 2;
	}
	*(uint64_t *)bs = v;
	return 0;
}

int cmd_put(int argc, char **argv)
{
	struct put_opts o = {0};
	const struct cli_opt opts[] = {CLI_BOOL('f', "force", &o.force),
				       CLI_CALLBACK('r', "replication", opt_repl, &o.repl),
				       CLI_CALLBACK('b', "block-size", opt_block_size, &o.bs),
				       CLI_END};
	int st = cli_parse_options("put", argc, argv, opts, 2, CLI_ANY);
	if (st >= 0)
		return st;
	int n = argc - optind;
	struct dfs_client *c = cli_connect();
	struct buf dst = BUF_INIT, t = BUF_INIT;
	bool dst_dir;
	int status = cli_remote_dest(c, argv[argc - 1], n - 1, &dst, &dst_dir);
	for (int i = optind; !status && i < argc - 1; i++) {
		const char *src = argv[i];
		if (dst_dir && !strcmp(src, "-")) {
			cli_error(dst.data, "is a directory");
			status = 1;
			break;
		}
		char *copy = strdup(src);
		size_t l = strlen(copy);
		while (l > 1 && copy[l - 1] == '/')
			copy[--l] = 0;
		cli_target(dst.data, dst_dir, copy, &t);
		free(copy);
		status |= put_one(c, src, t.data, &o);
	}
	buf_free(&dst);
	buf_free(&t);
	dfs_close(c);
	return status;
}

/* ---------------- get / cat ---------------- */

static void on_progress(void *arg, uint64_t done) { progress_set(arg, done); }

static int get_file(struct dfs_client *c, const char *src, int fd, const char *dst_name)
{
	struct dfs_reader *r;
	int rc = dfs_open(c, src, &r);
	if (rc)
		return cli_fail(src, rc);
	/* no bar when the bytes go to the terminal themselves (cat, get -) */
	struct progress *pg = dst_name ? progress_start("get", src, dfs_reader_attr(r)->size) : NULL;
	rc = dfs_read_to_fd(r, fd, on_progress, pg);
	progress_end(pg, !rc);
	dfs_reader_close(r);
	if (rc) {
		cli_fail(rc == -EIO || !dst_name ? src : dst_name, rc);
		return 1;
	}
	return 0;
}

struct get_ctx {
	struct dfs_client *c;
	const char *dst; /* the local directory the entries go into */
	bool force;
};

static int get_one(struct dfs_client *c, const char *src, const char *dst, bool force);

static int get_entry(void *arg, const char *path, const struct dfs_attr *a)
{
	(void)a;
	struct get_ctx *g = arg;
	struct buf d = BUF_INIT;
	cli_join(g->dst, cli_basename(path), &d);
	int status = get_one(g->c, path, d.data, g->force);
	buf_free(&d);
	return status;
}

static int get_one(struct dfs_client *c, const char *src, const char *dst, bool force)
{
	struct dfs_attr a;
	int rc = dfs_stat(c, src, &a);
	if (rc)
		return cli_fail(src, rc);
	if (a.type == PROTO_T_DIR) {
		if (mkdir(dst, 0755) && errno != EEXIST) {
			cli_error(dst, "%s", strerror(errno));
			return 1;
		}
		struct get_ctx g = {c, dst, force};
		return cli_list(c, src, get_entry, &g);
	}
	if (a.type != PROTO_T_FILE) {
		cli_error(src, "not a regular file");
		return 1;
	}
	int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0644);
	if (fd < 0) {
		cli_error(dst, "%s", errno == EEXIST ? "file exists" : strerror(errno));
		return 1;
	}
	int status = get_file(c, src, fd, dst);
	if (close(fd) && !status) {
		cli_error(dst, "%s", strerror(errno));
		status = 1;
	}
	if (status)
		unlink(dst);
	return status;
}

int cmd_get(int argc, char **argv)
{
	bool force = false;
	const struct cli_opt opts[] = {CLI_BOOL('f', "force", &force), CLI_END};
	int st = cli_parse_options("get", argc, argv, opts, 2, CLI_ANY);
	if (st >= 0)
		return st;
	int n = argc - optind;
	const char *dst = argv[argc - 1];
	struct dfs_client *c = cli_connect();
	struct buf src = BUF_INIT, t = BUF_INIT;
	int status = 0, nsrc;
	char **srcs = cli_expand(c, n - 1, argv + optind, &nsrc);
	n = nsrc + 1;
	struct stat sb;
	bool dst_dir = strcmp(dst, "-") && stat(dst, &sb) == 0 && S_ISDIR(sb.st_mode);
	if (n > 2 && !dst_dir && strcmp(dst, "-"))
		status = cli_need_dir(dst);
	for (int i = 0; !status && i < nsrc; i++) {
		cli_remote_path(srcs[i], &src);
		if (!strcmp(dst, "-")) {
			status |= get_file(c, src.data, 1, NULL);
			continue;
		}
		cli_target(dst, dst_dir, src.data, &t);
		status |= get_one(c, src.data, t.data, force);
	}
	cli_expand_free(srcs, nsrc);
	buf_free(&src);
	buf_free(&t);
	dfs_close(c);
	return status;
}

static int cat_path(void *c, const char *path, const struct dfs_attr *a)
{
	if (a->type == PROTO_T_DIR)
		return cli_fail(path, -EISDIR);
	return get_file(c, path, 1, NULL);
}

int cmd_cat(int argc, char **argv)
{
	int st = cli_parse_options("cat", argc, argv, NULL, 1, CLI_ANY);
	if (st >= 0)
		return st;
	struct dfs_client *c = cli_connect();
	int n;
	char **v = cli_expand(c, argc - optind, argv + optind, &n);
	int status = cli_each_path(c, n, v, NULL, cat_path, c);
	cli_expand_free(v, n);
	dfs_close(c);
	return status;
}

