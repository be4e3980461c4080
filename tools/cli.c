/* cli: shared helpers of the dfs tool. Main thread only. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "clock.h"
#include "proto.h"

struct cli_global cli_g;
const char *cli_cmd = "";

void cli_error(const char *subject, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "dfs: %s: ", cli_cmd);
	if (subject)
		fprintf(stderr, "%s: ", subject);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_fail(const char *subject, int rc)
{
	const char *msg = dfs_errmsg();
	if (msg[0]) {
		cli_error(subject, "%s", msg);
		return 1;
	}
	char text[128];
	snprintf(text, sizeof text, "%s", strerror(rc < 0 ? -rc : rc));
	if (text[0] && isupper((unsigned char)text[0]) && !isupper((unsigned char)text[1]))
		text[0] = (char)tolower((unsigned char)text[0]);
	cli_error(subject, "%s", text);
	return 1;
}

void cli_locate(struct dfs_client_opts *o)
{
	memset(o, 0, sizeof *o);
	struct buf err = BUF_INIT;
	struct locate_args a = {cli_g.namenode, cli_g.dir,     cli_g.config, cli_g.key,
				cli_g.tls_cert, cli_g.tls_key, cli_g.tls_ca};
	if (locate_cluster(&a, o, &err)) {
		cli_error(NULL, "%s", err.data);
		exit(1);
	}
	buf_free(&err);
	o->uid = (uint32_t)getuid();
	o->gid = (uint32_t)getgid();
}

#define CLI_CONNECT_WAIT 20.0 /* seconds: see cli_connect */

struct dfs_client *cli_connect(void)
{
	struct dfs_client_opts o;
	struct buf err = BUF_INIT;
	cli_locate(&o);
	struct dfs_client *c;
	/* A namenode that does not answer yet (restarting, failing over, just started) is
	 * waited for, as a call already connected waits for one that restarts: up to
	 * $DFS_CONNECT_WAIT seconds (default 20; 0 fails at once), with one note on
	 * standard error after the first second. A refusal that says something (a wrong
	 * key, TLS) fails at once. */
	const char *env = getenv("DFS_CONNECT_WAIT");
	char *end = NULL;
	double wait = env && *env ? strtod(env, &end) : CLI_CONNECT_WAIT;
	if (env && *env && (*end || wait < 0)) {
		cli_error(NULL, "DFS_CONNECT_WAIT is '%s', not a number of seconds", env);
		exit(2);
	}
	double start = clock_now();
	bool said = false;
	for (;;) {
		int rc = dfs_connect(&o, &c);
		if (!rc)
			break;
		bool down = rc == -ECONNREFUSED || rc == -ETIMEDOUT || rc == -EHOSTUNREACH ||
			    rc == -ECONNRESET || rc == -EPIPE || rc == -ENETUNREACH;
		double waited = clock_now() - start;
		if (!down || waited >= wait) {
			cli_error(NULL, "%s%s", dfs_errmsg(),
				  said ? " (gave up after waiting for it)" : "");
			exit(1);
		}
		if (!said && waited >= 1) {
			fprintf(stderr, "dfs: waiting for the namenode (%s)\n", dfs_errmsg());
			said = true;
		}
		usleep(200000);
	}
	buf_free(&err);
	/* a namenode restarted or replaced under a command: the call waits for it (about
	 * 20 s) and is retried under the same call id (the namenode's retry cache) */
	dfs_set_reconnect(c, true);
	return c;
}

bool cli_parse_size(const char *s, uint64_t *out) { return cfg_parse_size(s, out) == 0; }

const char *cli_size(uint64_t n, bool human, char buf[32])
{
	if (!human || n < 1024) {
		snprintf(buf, 32, "%llu", (unsigned long long)n);
		return buf;
	}
	static const char units[] = "KMGTPE";
	double v = (double)n;
	int u = -1;
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, 32, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
	return buf;
}

void cli_remote_path(const char *in, struct buf *out)
{
	buf_reset(out);
	if (in[0] != '/')
		buf_addc(out, '/');
	buf_adds(out, in);
	while (out->len > 1 && out->data[out->len - 1] == '/')
		buf_truncate(out, out->len - 1);
}

void cli_join(const char *dir, const char *name, struct buf *out)
{
	buf_reset(out);
	buf_adds(out, dir);
	if (!out->len || out->data[out->len - 1] != '/')
		buf_addc(out, '/');
	buf_adds(out, name);
}

const char *cli_basename(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

struct glob_ctx {
	const char *pat, *dir;
	char **v;
	int n, cap;
};

/* Appends an allocated path (owned by the list from now on). */
static void glob_push(struct glob_ctx *g, char *path)
{
	if (g->n + 1 >= g->cap) {
		g->cap = g->cap ? g->cap * 2 : 16;
		g->v = realloc(g->v, (size_t)g->cap * sizeof *g->v);
		if (!g->v)
			abort();
	}
	g->v[g->n++] = path;
}

static int glob_one(void *arg, const char *name, const struct dfs_attr *a)
{
	(void)a;
	struct glob_ctx *g = arg;
	if (fnmatch(g->pat, name, FNM_PERIOD))
		return 0;
	struct buf p = BUF_INIT;
	cli_join(g->dir, name, &p);
	glob_push(g, p.data); /* the buf's storage is ours now */
	return 0;
}

char **cli_expand(struct dfs_client *c, int argc, char **argv, int *outc)
{
	struct glob_ctx g = {0};
	for (int i = 0; i < argc; i++) {
		struct buf p = BUF_INIT;
		cli_remote_path(argv[i], &p);
		char *slash = strrchr(p.data, '/');
		int before = g.n;
		if (slash && strpbrk(slash + 1, "*?[") && !strpbrk(p.data, "\\")) {
			*slash = 0;
			g.pat = slash + 1;
			g.dir = p.data[0] ? p.data : "/";
			dfs_list(c, g.dir, glob_one, &g);
			*slash = '/';
		}
		if (g.n == before) /* no wildcard, or no match: keep it */
			glob_push(&g, strdup(argv[i]));
		buf_free(&p);
	}
	if (!g.v)
		g.v = calloc(1, sizeof *g.v);
	g.v[g.n] = NULL;
	*outc = g.n;
	return g.v;
}

void cli_expand_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

#define HELP_VAL 1000 /* getopt_long's value for --help (beyond every table index) */

/* The getopt value of table entry i: its letter, or one beyond the letters. */
static int opt_val(const struct cli_opt *o, int i) { return o->short_name ? o->short_name : 256 + i; }

static bool takes_arg(const struct cli_opt *o)
{
	return o->type == CLI_T_STRING || (o->type == CLI_T_CALLBACK && o->has_arg);
}

int cli_parse_options(const char *cmd, int argc, char **argv, const struct cli_opt *opts,
		      int min, int max)
{
	static const struct cli_opt none[] = {CLI_END};
	if (!opts)
		opts = none;
	int n = 0;
	while (opts[n].type != CLI_T_END)
		n++;
	struct option *lo = calloc((size_t)n + 2, sizeof *lo);
	char *so = calloc((size_t)n * 2 + 2, 1);
	if (!lo || !so)
		abort();
	int nl = 0, ns = 0;
	for (int i = 0; i < n; i++) {
		const struct cli_opt *o = &opts[i];
		if (o->long_name)
			lo[nl++] = (struct option){o->long_name, takes_arg(o) ? required_argument
									     : no_argument,
						   NULL, opt_val(o, i)};
		if (o->short_name) {
			so[ns++] = (char)o->short_name;
			if (takes_arg(o))
				so[ns++] = ':';
		}
	}
	lo[nl] = (struct option){"help", no_argument, NULL, HELP_VAL};
	int status = -1, ch;
	while (status < 0 && (ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		int i = 0;
		while (i < n && opt_val(&opts[i], i) != ch)
			i++;
		if (ch == HELP_VAL || i == n) {
			status = cli_usage(cmd, ch == HELP_VAL);
			break;
		}
		const struct cli_opt *o = &opts[i];
		switch (o->type) {
		case CLI_T_BOOL: *(bool *)o->value = true; break;
		case CLI_T_BIT: *(uint8_t *)o->value |= o->bit; break;
		case CLI_T_STRING: *(const char **)o->value = optarg; break;
		case CLI_T_CALLBACK:
			if ((status = o->cb(o->value, o->has_arg ? optarg : NULL)) == 0)
				status = -1;
			break;
		case CLI_T_END: break;
		}
	}
	free(lo);
	free(so);
	if (status < 0 && (argc - optind < min || (max != CLI_ANY && argc - optind > max)))
		status = cli_usage(cmd, false);
	return status;
}

bool cli_parse_repl(const char *s, uint16_t *out)
{
	uint64_t v;
	if (!cli_parse_size(s, &v) || v < 1 || v > PROTO_REPL_MAX) {
		cli_error(NULL, "replication must be between 1 and %d, not '%s'", PROTO_REPL_MAX, s);
		return false;
	}
	*out = (uint16_t)v;
	return true;
}

void cli_target(const char *dst, bool dst_dir, const char *src, struct buf *out)
{
	if (dst_dir) {
		cli_join(dst, cli_basename(src), out);
	} else {
		buf_reset(out);
		buf_adds(out, dst);
	}
}

int cli_each_path(struct dfs_client *c, int argc, char **argv, const char *dflt,
		  cli_path_fn fn, void *arg)
{
	char *dflt_v[] = {(char *)dflt};
	if (!argc && dflt) {
		argc = 1;
		argv = dflt_v;
	}
	struct buf p = BUF_INIT;
	int status = 0;
	for (int i = 0; i < argc && !(status & 2); i++) {
		cli_remote_path(argv[i], &p);
		struct dfs_attr a;
		int rc = dfs_stat(c, p.data, &a);
		status |= rc ? cli_fail(p.data, rc) : fn(arg, p.data, &a);
	}
	buf_free(&p);
	return status;
}

struct list_ctx {
	const char *dir;
	cli_path_fn fn;
	void *arg;
	int status;
};

static int list_entry(void *arg, const char *name, const struct dfs_attr *a)
{
	struct list_ctx *l = arg;
	struct buf p = BUF_INIT;
	cli_join(l->dir, name, &p);
	l->status |= l->fn(l->arg, p.data, a);
	buf_free(&p);
	return 0;
}

int cli_list(struct dfs_client *c, const char *dir, cli_path_fn fn, void *arg)
{
	struct list_ctx l = {dir, fn, arg, 0};
	int rc = dfs_list(c, dir, list_entry, &l);
	return rc ? cli_fail(dir, rc) : l.status;
}

int cli_need_dir(const char *dst)
{
	cli_error(dst, "not a directory (needed for several sources)");
	return 1;
}

int cli_remote_dest(struct dfs_client *c, const char *dst, int nsrc, struct buf *out,
		    bool *is_dir)
{
	cli_remote_path(dst, out);
	struct dfs_attr a;
	*is_dir = dfs_stat(c, out->data, &a) == 0 && a.type == PROTO_T_DIR;
	return nsrc > 1 && !*is_dir ? cli_need_dir(out->data) : 0;
}
