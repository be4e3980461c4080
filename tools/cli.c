/* cli: shared helpers of the dfs tool. Main thread only. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
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
	struct locate_args a = {cli_g.namenode, cli_g.dir, cli_g.config, cli_g.key};
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
