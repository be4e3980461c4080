/*
 * fscmds: the file commands of the dfs tool -- put, get, cat, ls, mkdir, rm, mv, stat,
 * du, df, setrep, blocks, report. Main thread only.
 */
#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "cli.h"
#include "pack.h"
#include "progress.h"
#include "json.h"
#include "proto.h"

#define HELP_OPT {"help", no_argument, 0, 'H'}

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
	struct progress *pg = progress_start("put", dst, !fstat(fd, &st) && S_ISREG(st.st_mode)
							     ? (uint64_t)st.st_size : 0);
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

int cmd_put(int argc, char **argv)
{
	static const struct option lo[] = {
		{"force", no_argument, 0, 'f'}, {"replication", required_argument, 0, 'r'},
		{"block-size", required_argument, 0, 'b'}, HELP_OPT, {0, 0, 0, 0}};
	struct put_opts o = {0};
	int ch;
	uint64_t v;
	while ((ch = cli_getopt(argc, argv, "fr:b:", lo)) != -1) {
		switch (ch) {
		case 'f': o.force = true; break;
		case 'r':
			if (!cli_parse_size(optarg, &v) || v < 1 || v > PROTO_REPL_MAX) {
				cli_error(NULL, "replication must be between 1 and %d, not '%s'",
					  PROTO_REPL_MAX, optarg);
				return 2;
			}
			o.repl = (uint16_t)v;
			break;
		case 'b':
			if (!cli_parse_size(optarg, &v) || v == 0 || v % PROTO_CHUNK_SIZE) {
				cli_error(NULL, "block size must be a positive multiple of 64K, not '%s'",
					  optarg);
				return 2;
			}
			o.bs = v;
			break;
		case 'H': return cli_usage("put", true);
		default: return cli_usage("put", false);
		}
	}
	int n = argc - optind;
	if (n < 2)
		return cli_usage("put", false);
	struct dfs_client *c = cli_connect();
	struct buf dst = BUF_INIT, t = BUF_INIT;
	cli_remote_path(argv[argc - 1], &dst);
	struct dfs_attr da;
	bool dst_dir = dfs_stat(c, dst.data, &da) == 0 && da.type == PROTO_T_DIR;
	int status = 0;
	if (n > 2 && !dst_dir) {
		cli_error(dst.data, "not a directory (needed for several sources)");
		status = 1;
	}
	for (int i = optind; !status && i < argc - 1; i++) {
		const char *src = argv[i];
		if (dst_dir) {
			if (!strcmp(src, "-")) {
				cli_error(dst.data, "is a directory");
				status = 1;
				break;
			}
			char *copy = strdup(src);
			size_t l = strlen(copy);
			while (l > 1 && copy[l - 1] == '/')
				copy[--l] = 0;
			cli_join(dst.data, cli_basename(copy), &t);
			free(copy);
		} else {
			buf_reset(&t);
			buf_adds(&t, dst.data);
		}
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
	const char *src, *dst;
	bool force;
	int status;
};

static int get_one(struct dfs_client *c, const char *src, const char *dst, bool force);

static int get_entry(void *arg, const char *name, const struct dfs_attr *a)
{
	(void)a;
	struct get_ctx *g = arg;
	struct buf s = BUF_INIT, d = BUF_INIT;
	cli_join(g->src, name, &s);
	cli_join(g->dst, name, &d);
	g->status |= get_one(g->c, s.data, d.data, g->force);
	buf_free(&s);
	buf_free(&d);
	return 0;
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
		struct get_ctx g = {c, src, dst, force, 0};
		rc = dfs_list(c, src, get_entry, &g);
		if (rc)
			return cli_fail(src, rc);
		return g.status;
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
	static const struct option lo[] = {{"force", no_argument, 0, 'f'}, HELP_OPT, {0, 0, 0, 0}};
	bool force = false;
	int ch;
	while ((ch = cli_getopt(argc, argv, "f", lo)) != -1) {
		if (ch == 'f')
			force = true;
		else
			return cli_usage("get", ch == 'H');
	}
	int n = argc - optind;
	if (n < 2)
		return cli_usage("get", false);
	const char *dst = argv[argc - 1];
	struct dfs_client *c = cli_connect();
	struct buf src = BUF_INIT, t = BUF_INIT;
	int status = 0, nsrc;
	char **srcs = cli_expand(c, n - 1, argv + optind, &nsrc);
	n = nsrc + 1;
	struct stat st;
	bool dst_dir = strcmp(dst, "-") && stat(dst, &st) == 0 && S_ISDIR(st.st_mode);
	if (n > 2 && !dst_dir && strcmp(dst, "-")) {
		cli_error(dst, "not a directory (needed for several sources)");
		status = 1;
	}
	for (int i = 0; !status && i < nsrc; i++) {
		cli_remote_path(srcs[i], &src);
		if (!strcmp(dst, "-")) {
			status |= get_file(c, src.data, 1, NULL);
			continue;
		}
		if (dst_dir)
			cli_join(dst, cli_basename(src.data), &t);
		else {
			buf_reset(&t);
			buf_adds(&t, dst);
		}
		status |= get_one(c, src.data, t.data, force);
	}
	cli_expand_free(srcs, nsrc);
	buf_free(&src);
	buf_free(&t);
	dfs_close(c);
	return status;
}

int cmd_cat(int argc, char **argv)
{
	static const struct option lo[] = {HELP_OPT, {0, 0, 0, 0}};
	int ch;
	while ((ch = cli_getopt(argc, argv, "", lo)) != -1)
		return cli_usage("cat", ch == 'H');
	if (optind >= argc)
		return cli_usage("cat", false);
	struct dfs_client *c = cli_connect();
	struct buf p = BUF_INIT;
	int status = 0, n;
	char **v = cli_expand(c, argc - optind, argv + optind, &n);
	for (int i = 0; i < n; i++) {
		cli_remote_path(v[i], &p);
		struct dfs_attr a;
		int rc = dfs_stat(c, p.data, &a);
		if (!rc && a.type == PROTO_T_DIR)
			rc = -EISDIR;
		if (rc)
			status |= cli_fail(p.data, rc);
		else
			status |= get_file(c, p.data, 1, NULL);
	}
	cli_expand_free(v, n);
	buf_free(&p);
	dfs_close(c);
	return status;
}

/* ---------------- ls ---------------- */

struct ls_ctx {
	struct dfs_client *c;
	bool lng, human, recursive;
	const char *dir;
	int status;
	/* entries of one directory, printed after listing (for -R order) */
	struct buf names;
};

static void ls_print(const struct ls_ctx *l, const char *path, const struct dfs_attr *a)
{
	if (!l->lng) {
		printf("%s\n", path);
		return;
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
}

static int ls_dir(struct ls_ctx *l, const char *dir);

static int ls_collect(void *arg, const char *name, const struct dfs_attr *a)
{
	struct ls_ctx *l = arg;
	struct buf p = BUF_INIT;
	cli_join(l->dir, name, &p);
	ls_print(l, p.data, a);
	if (l->recursive && a->type == PROTO_T_DIR) {
		buf_add(&l->names, p.data, p.len + 1);
	}
	buf_free(&p);
	return 0;
}

static int ls_dir(struct ls_ctx *l, const char *dir)
{
	struct ls_ctx sub = *l;
	sub.dir = dir;
	buf_init(&sub.names);
	int rc = dfs_list(l->c, dir, ls_collect, &sub);
	if (rc) {
		buf_free(&sub.names);
		return cli_fail(dir, rc);
	}
	int status = sub.status;
	for (size_t off = 0; off < sub.names.len; off += strlen(sub.names.data + off) + 1)
		status |= ls_dir(l, sub.names.data + off);
	buf_free(&sub.names);
	return status;
}

int cmd_ls(int argc, char **argv)
{
	static const struct option lo[] = {{"long", no_argument, 0, 'l'},
					   {"recursive", no_argument, 0, 'R'},
					   {"human-readable", no_argument, 0, 'h'},
					   HELP_OPT, {0, 0, 0, 0}};
	struct ls_ctx l = {0};
	int ch;
	while ((ch = cli_getopt(argc, argv, "lRh", lo)) != -1) {
		switch (ch) {
		case 'l': l.lng = true; break;
		case 'R': l.recursive = true; break;
		case 'h': l.human = true; break;
		default: return cli_usage("ls", ch == 'H');
		}
	}
	l.c = cli_connect();
	struct buf p = BUF_INIT;
	int status = 0;
	int first = optind, last = argc;
	char *root[] = {"/"};
	char **paths = argv;
	if (first == last) {
		paths = root;
		first = 0;
		last = 1;
	}
	for (int i = first; i < last; i++) {
		cli_remote_path(paths[i], &p);
		struct dfs_attr a;
		int rc = dfs_stat(l.c, p.data, &a);
		if (rc) {
			status |= cli_fail(p.data, rc);
			continue;
		}
		if (a.type == PROTO_T_DIR)
			status |= ls_dir(&l, p.data);
		else
			ls_print(&l, p.data, &a);
	}
	buf_free(&p);
	dfs_close(l.c);
	return status;
}

/* ---------------- mkdir, rm, mv ---------------- */

int cmd_mkdir(int argc, char **argv)
{
	static const struct option lo[] = {{"parents", no_argument, 0, 'p'}, HELP_OPT, {0, 0, 0, 0}};
	bool parents = false;
	int ch;
	while ((ch = cli_getopt(argc, argv, "p", lo)) != -1) {
		if (ch == 'p')
			parents = true;
		else
			return cli_usage("mkdir", ch == 'H');
	}
	if (optind >= argc)
		return cli_usage("mkdir", false);
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
	static const struct option lo[] = {{"recursive", no_argument, 0, 'r'},
					   {"force", no_argument, 0, 'f'},
					   {"skip-trash", no_argument, 0, 'S'}, HELP_OPT, {0, 0, 0, 0}};
	bool recursive = false, force = false, skip_trash = false;
	int ch;
	while ((ch = cli_getopt(argc, argv, "rRf", lo)) != -1) {
		if (ch == 'r' || ch == 'R')
			recursive = true;
		else if (ch == 'f')
			force = true;
		else if (ch == 'S')
			skip_trash = true;
		else
			return cli_usage("rm", ch == 'H');
	}
	char user[64];
	struct passwd *pw = getpwuid(getuid());
	if (pw)
		snprintf(user, sizeof user, "%s", pw->pw_name);
	else
		snprintf(user, sizeof user, "%u", (unsigned)getuid());
	if (optind >= argc)
		return cli_usage("rm", false);
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
	static const struct option lo[] = {HELP_OPT, {0, 0, 0, 0}};
	int ch;
	while ((ch = cli_getopt(argc, argv, "", lo)) != -1)
		return cli_usage("mv", ch == 'H');
	int n = argc - optind;
	if (n < 2)
		return cli_usage("mv", false);
	struct dfs_client *c = cli_connect();
	struct buf dst = BUF_INIT, src = BUF_INIT, t = BUF_INIT;
	cli_remote_path(argv[argc - 1], &dst);
	struct dfs_attr da;
	bool dst_dir = dfs_stat(c, dst.data, &da) == 0 && da.type == PROTO_T_DIR;
	int status = 0;
	if (n > 2 && !dst_dir) {
		cli_error(dst.data, "not a directory (needed for several sources)");
		status = 1;
	}
	for (int i = optind; !status && i < argc - 1; i++) {
		cli_remote_path(argv[i], &src);
		if (dst_dir && strcmp(src.data, dst.data))
			cli_join(dst.data, cli_basename(src.data), &t);
		else {
			buf_reset(&t);
			buf_adds(&t, dst.data);
		}
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

int cmd_stat(int argc, char **argv)
{
	bool json;
	int opts = cli_json_only("stat", argc, argv, &json);
	if (opts >= 0)
		return opts;
	if (optind >= argc)
		return cli_usage("stat", false);
	struct dfs_client *c = cli_connect();
	struct buf p = BUF_INIT, out = BUF_INIT;
	int status = 0;
	for (int i = optind; i < argc; i++) {
		cli_remote_path(argv[i], &p);
		struct dfs_attr a;
		int rc = dfs_stat(c, p.data, &a);
		if (rc) {
			status |= cli_fail(p.data, rc);
			continue;
		}
		buf_reset(&out);
		if (json) {
			attr_json(&out, p.data, &a);
			printf("%s\n", out.data);
			continue;
		}
		char mode[11], mt[32], at[32], ct[32];
		mode_string(&a, mode);
		time_string(a.mtime, mt);
		time_string(a.atime, at);
		time_string(a.ctime, ct);
		printf("  Path: %s\n  Type: %s%s\n  Size: %" PRIu64 "\n"
		       "  Mode: %04o (%s)  Uid: %u  Gid: %u  Links: %u  Inode: %" PRIu64 "\n"
		       "  Replication: %u  Block size: %" PRIu64 "\n"
		       "Modify: %s\nAccess: %s\nChange: %s\n",
		       p.data, type_name(a.type),
		       a.flags & PROTO_A_UNDER_CONSTRUCTION ? " (being written)" : "", a.size,
		       a.mode & 07777, mode, a.uid, a.gid, a.nlink, a.ino, a.replication,
		       a.block_size, mt, at, ct);
	}
	buf_free(&p);
	buf_free(&out);
	dfs_close(c);
	return status;
}

/* ---------------- du, df ---------------- */

struct du_ctx {
	struct dfs_client *c;
	const char *dir;
	uint64_t total;
	int status;
};

static int du_walk(struct dfs_client *c, const char *path, uint64_t *total);

static int du_entry(void *arg, const char *name, const struct dfs_attr *a)
{
	struct du_ctx *d = arg;
	if (a->type == PROTO_T_DIR) {
		struct buf p = BUF_INIT;
		cli_join(d->dir, name, &p);
		d->status |= du_walk(d->c, p.data, &d->total);
		buf_free(&p);
	} else {
		d->total += a->size;
	}
	return 0;
}

static int du_walk(struct dfs_client *c, const char *path, uint64_t *total)
{
	struct du_ctx d = {c, path, 0, 0};
	int rc = dfs_list(c, path, du_entry, &d);
	if (rc)
		return cli_fail(path, rc);
	*total += d.total;
	return d.status;
}

struct du_top {
	struct dfs_client *c;
	const char *dir;
	bool human;
	int status;
};

static int du_top_entry(void *arg, const char *name, const struct dfs_attr *a)
{
	struct du_top *t = arg;
	struct buf p = BUF_INIT;
	cli_join(t->dir, name, &p);
	uint64_t n = a->size;
	if (a->type == PROTO_T_DIR) {
		n = 0;
		t->status |= du_walk(t->c, p.data, &n);
	}
	char sz[32];
	printf("%-10s %s\n", cli_size(n, t->human, sz), p.data);
	buf_free(&p);
	return 0;
}

int cmd_du(int argc, char **argv)
{
	static const struct option lo[] = {{"summarize", no_argument, 0, 's'},
					   {"human-readable", no_argument, 0, 'h'},
					   HELP_OPT, {0, 0, 0, 0}};
	bool summary = false, human = false;
	int ch;
	while ((ch = cli_getopt(argc, argv, "sh", lo)) != -1) {
		if (ch == 's')
			summary = true;
		else if (ch == 'h')
			human = true;
		else
			return cli_usage("du", ch == 'H');
	}
	struct dfs_client *c = cli_connect();
	struct buf p = BUF_INIT;
	int status = 0;
	int first = optind, last = argc;
	char *root[] = {"/"};
	char **paths = argv;
	if (first == last) {
		paths = root;
		first = 0;
		last = 1;
	}
	for (int i = first; i < last; i++) {
		cli_remote_path(paths[i], &p);
		struct dfs_attr a;
		int rc = dfs_stat(c, p.data, &a);
		if (rc) {
			status |= cli_fail(p.data, rc);
			continue;
		}
		char sz[32];
		if (a.type != PROTO_T_DIR) {
			printf("%-10s %s\n", cli_size(a.size, human, sz), p.data);
		} else if (summary) {
			uint64_t n = 0;
			status |= du_walk(c, p.data, &n);
			printf("%-10s %s\n", cli_size(n, human, sz), p.data);
		} else {
			struct du_top t = {c, p.data, human, 0};
			rc = dfs_list(c, p.data, du_top_entry, &t);
			status |= rc ? cli_fail(p.data, rc) : t.status;
		}
	}
	buf_free(&p);
	dfs_close(c);
	return status;
}

int cmd_df(int argc, char **argv)
{
	static const struct option lo[] = {{"human-readable", no_argument, 0, 'h'}, HELP_OPT,
					   {0, 0, 0, 0}};
	bool human = false;
	int ch;
	while ((ch = cli_getopt(argc, argv, "h", lo)) != -1) {
		if (ch == 'h')
			human = true;
		else
			return cli_usage("df", ch == 'H');
	}
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

/* ---------------- setrep ---------------- */

static int setrep_tree(struct dfs_client *c, const char *path, uint16_t n);

struct setrep_ctx {
	struct dfs_client *c;
	const char *dir;
	uint16_t n;
	int status;
};

static int setrep_entry(void *arg, const char *name, const struct dfs_attr *a)
{
	struct setrep_ctx *s = arg;
	struct buf p = BUF_INIT;
	cli_join(s->dir, name, &p);
	if (a->type == PROTO_T_DIR || a->type == PROTO_T_FILE)
		s->status |= setrep_tree(s->c, p.data, s->n);
	buf_free(&p);
	return 0;
}

static int setrep_tree(struct dfs_client *c, const char *path, uint16_t n)
{
	struct dfs_attr a;
	int rc = dfs_setrep(c, path, n, &a);
	if (rc)
		return cli_fail(path, rc);
	if (a.type != PROTO_T_DIR)
		return 0;
	struct setrep_ctx s = {c, path, n, 0};
	rc = dfs_list(c, path, setrep_entry, &s);
	return rc ? cli_fail(path, rc) : s.status;
}

/* Waits until every block below path has its replication (setrep -w). */
static int setrep_wait(struct dfs_client *c, const char *path)
{
	for (int i = 0;; i++) {
		struct dfs_fsck f;
		int rc = dfs_fsck(c, path, &f);
		if (rc)
			return cli_fail(path, rc);
		uint64_t left = f.under_replicated + f.over_replicated, bad = f.corrupt + f.missing;
		dfs_fsck_free(&f);
		if (!left && bad) {
			cli_error(path, "%llu blocks are corrupt or missing",
				  (unsigned long long)bad);
			return 1;
		}
		if (!left)
			return 0;
		if (i % 25 == 0 && !cli_g.quiet)
			fprintf(stderr, "waiting for %llu blocks of %s to reach their replication\n",
				(unsigned long long)left, path);
		usleep(200000);
	}
}

int cmd_setrep(int argc, char **argv)
{
	static const struct option lo[] = {{"wait", no_argument, 0, 'w'}, HELP_OPT, {0, 0, 0, 0}};
	bool wait = false;
	int ch;
	while ((ch = cli_getopt(argc, argv, "w", lo)) != -1) {
		if (ch == 'w')
			wait = true;
		else
			return cli_usage("setrep", ch == 'H');
	}
	if (argc - optind < 2)
		return cli_usage("setrep", false);
	uint64_t n;
	if (!cli_parse_size(argv[optind], &n) || n < 1 || n > PROTO_REPL_MAX) {
		cli_error(NULL, "replication must be between 1 and %d, not '%s'", PROTO_REPL_MAX,
			  argv[optind]);
		return 2;
	}
	struct dfs_client *c = cli_connect();
	struct buf p = BUF_INIT;
	int status = 0;
	for (int i = optind + 1; i < argc; i++) {
		cli_remote_path(argv[i], &p);
		status |= setrep_tree(c, p.data, (uint16_t)n);
		if (!status && wait)
			status |= setrep_wait(c, p.data);
		if (!status)
			printf("replication of %s set to %llu\n", p.data, (unsigned long long)n);
	}
	buf_free(&p);
	dfs_close(c);
	return status;
}

/* ---------------- blocks ---------------- */

int cmd_blocks(int argc, char **argv)
{
	bool json;
	int opts = cli_json_only("blocks", argc, argv, &json);
	if (opts >= 0)
		return opts;
	if (argc - optind != 1)
		return cli_usage("blocks", false);
	struct dfs_client *c = cli_connect();
	struct buf p = BUF_INIT, out = BUF_INIT;
	cli_remote_path(argv[optind], &p);
	struct dfs_blocks b;
	int rc = dfs_get_blocks(c, p.data, 0, 0, &b);
	dfs_close(c);
	if (rc) {
		int s = cli_fail(p.data, rc);
		buf_free(&p);
		return s;
	}
	if (json) {
		buf_addc(&out, '{');
		json_kstr(&out, "path", p.data);
		json_ku64(&out, "length", b.attr.size);
		json_ku64(&out, "replication", b.attr.replication);
		json_ku64(&out, "block_size", b.attr.block_size);
		json_key(&out, "blocks");
		buf_addc(&out, '[');
		for (size_t i = 0; i < b.n; i++) {
			json_sep(&out);
			buf_addc(&out, '{');
			json_ku64(&out, "id", b.v[i].id);
			json_ku64(&out, "genstamp", b.v[i].genstamp);
			json_ku64(&out, "offset", b.v[i].offset);
			json_ku64(&out, "length", b.v[i].length);
			json_key(&out, "locations");
			buf_addc(&out, '[');
			for (uint32_t l = 0; l < b.v[i].nlocs; l++) {
				json_sep(&out);
				json_str(&out, b.v[i].locs[l].id);
			}
			buf_adds(&out, "]}");
		}
		buf_adds(&out, "]}");
		printf("%s\n", out.data);
	} else {
		printf("%s: %" PRIu64 " bytes, %zu blocks, replication %u, block size %" PRIu64 "\n",
		       p.data, b.attr.size, b.n, b.attr.replication, b.attr.block_size);
		for (size_t i = 0; i < b.n; i++) {
			printf("  %zu. blk_%" PRIu64 "_%" PRIu64 " offset %" PRIu64 " length %" PRIu64
			       " on", i, b.v[i].id, b.v[i].genstamp, b.v[i].offset, b.v[i].length);
			if (!b.v[i].nlocs)
				printf(" (no live replica)");
			for (uint32_t l = 0; l < b.v[i].nlocs; l++)
				printf(" %s(%s)", b.v[i].locs[l].id, b.v[i].locs[l].addr);
			printf("\n");
		}
	}
	dfs_blocks_free(&b);
	buf_free(&p);
	buf_free(&out);
	return 0;
}

/* ---------------- report ---------------- */

int cmd_report(int argc, char **argv)
{
	static const struct option lo[] = {{"json", no_argument, 0, 'j'},
					   {"human-readable", no_argument, 0, 'h'},
					   HELP_OPT, {0, 0, 0, 0}};
	bool json = false, human = false;
	int ch;
	while ((ch = cli_getopt(argc, argv, "h", lo)) != -1) {
		if (ch == 'j')
			json = true;
		else if (ch == 'h')
			human = true;
		else
			return cli_usage("report", ch == 'H');
	}
	if (optind != argc)
		return cli_usage("report", false);
	struct dfs_client *c = cli_connect();
	struct dfs_report r;
	int rc = dfs_report(c, &r);
	dfs_close(c);
	if (rc)
		return cli_fail(NULL, rc);
	if (json) {
		struct buf out = BUF_INIT;
		buf_addc(&out, '{');
		json_kbool(&out, "safe_mode", r.safe_mode);
		json_ku64(&out, "capacity", r.capacity);
		json_ku64(&out, "used", r.used);
		json_ku64(&out, "remaining", r.remaining);
		json_ku64(&out, "files", r.files);
		json_ku64(&out, "blocks", r.blocks);
		json_ku64(&out, "under_replicated", r.under_replicated);
		json_ku64(&out, "corrupt", r.corrupt);
		json_ku64(&out, "missing", r.missing);
		json_key(&out, "datanodes");
		buf_addc(&out, '[');
		for (uint32_t i = 0; i < r.ndatanodes; i++) {
			struct dfs_dn_report *d = &r.datanodes[i];
			json_sep(&out);
			buf_addc(&out, '{');
			json_kstr(&out, "id", d->id);
			json_kstr(&out, "addr", d->addr);
			json_kstr(&out, "state", dfs_dn_state_name(d->state));
			json_ku64(&out, "capacity", d->capacity);
			json_ku64(&out, "used", d->used);
			json_ku64(&out, "remaining", d->remaining);
			json_ku64(&out, "blocks", d->blocks);
			json_kdbl(&out, "last_contact_s", (double)d->last_contact_ms / 1000.0);
			json_ku64(&out, "xceivers", d->xceivers);
			buf_addc(&out, '}');
		}
		buf_adds(&out, "]}");
		printf("%s\n", out.data);
		buf_free(&out);
		dfs_report_free(&r);
		return 0;
	}
	char a[32], b[32], d[32];
	uint32_t live = 0, dead = 0;
	for (uint32_t i = 0; i < r.ndatanodes; i++) {
		live += r.datanodes[i].state != PROTO_DN_DEAD;
		dead += r.datanodes[i].state == PROTO_DN_DEAD;
	}
	printf("Safe mode: %s\n", r.safe_mode ? "ON" : "off");
	printf("Configured capacity: %s\n", cli_size(r.capacity, human, a));
	printf("DFS used: %s\nDFS remaining: %s\n", cli_size(r.used, human, b),
	       cli_size(r.remaining, human, d));
	printf("Files and directories: %" PRIu64 "\nBlocks: %" PRIu64 "\n", r.files, r.blocks);
	printf("Under-replicated blocks: %" PRIu64 "\nCorrupt blocks: %" PRIu64
	       "\nMissing blocks: %" PRIu64 "\n", r.under_replicated, r.corrupt, r.missing);
	printf("Datanodes: %u live, %u dead\n\n", live, dead);
	printf("%-14s %-22s %-8s %10s %10s %10s %8s %s\n", "ID", "ADDRESS", "STATE", "CAPACITY",
	       "USED", "REMAINING", "BLOCKS", "LAST CONTACT");
	for (uint32_t i = 0; i < r.ndatanodes; i++) {
		struct dfs_dn_report *n = &r.datanodes[i];
		char x[32], y[32], z[32];
		printf("%-14s %-22s %-8s %10s %10s %10s %8" PRIu64 " %.1fs ago\n", n->id, n->addr,
		       dfs_dn_state_name(n->state), cli_size(n->capacity, human, x),
		       cli_size(n->used, human, y), cli_size(n->remaining, human, z), n->blocks,
		       (double)n->last_contact_ms / 1000.0);
	}
	dfs_report_free(&r);
	return 0;
}
