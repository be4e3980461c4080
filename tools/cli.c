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

struct dfs_client *cli_connect(void)
{
	struct dfs_client_opts o;
	memset(&o, 0, sizeof o);
	struct buf err = BUF_INIT;
	struct locate_args a = {cli_g.namenode, cli_g.dir,     cli_g.config, cli_g.key,
				cli_g.tls_cert, cli_g.tls_key, cli_g.tls_ca};
	if (locate_cluster(&a, &o, &err)) {
		cli_error(NULL, "%s", err.data);
		exit(1);
	}
	o.uid = (uint32_t)getuid();
	o.gid = (uint32_t)getgid();
	struct dfs_client *c;
	if (dfs_connect(&o, &c)) {
		cli_error(NULL, "%s", dfs_errmsg());
		exit(1);
	}
	buf_free(&err);
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

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);
	return c;
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

int cli_json_only(const char *cmd, int argc, char **argv, bool *json)
{
	static const struct option lo[] = {{"json", no_argument, 0, 'j'},
					   {"help", no_argument, 0, 'H'}, {0, 0, 0, 0}};
	*json = false;
	int ch;
	while ((ch = cli_getopt(argc, argv, "", lo)) != -1) {
		if (ch != 'j')
			return cli_usage(cmd, ch == 'H');
		*json = true;
	}
	return -1;
}
