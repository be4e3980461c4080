/*
 * dfs-s3: the S3-compatible gateway. A client of the cluster like the mount (it finds
 * the namenode as every client does, locate.h, and talks to the datanodes directly),
 * serving the namespace as buckets (the top-level directories, or those below --root)
 * and objects over HTTP or HTTPS (front.c). Each access key of the key file is a dfs
 * user: requests signed with it reach the namenode as that uid and gid, so the
 * namenode enforces the permissions. The main thread waits for SIGTERM/SIGINT and
 * meanwhile expires abandoned multipart uploads.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "gw.h"
#include "http.h"
#include "locate.h"
#include "log.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dfs-s3 [--listen HOST:PORT] [--access-keys FILE] [--anonymous UID[:GID]]\n"
		"              [--region NAME] [--root DIR] [--http HOST:PORT]\n"
		"              [--max-connections N] [--max-per-ip N] [--timeout S]\n"
		"              [--header-max BYTES] [--upload-expiry S] [--ready-file FILE]\n"
		"              [-n HOST:PORT] [--dir DIR] [--key FILE] [--config FILE]\n"
		"              [--tls-cert FILE --tls-key FILE --tls-ca FILE]\n"
		"              [--log FILE] [--log-level LEVEL]\n"
		"Serves the dfs namespace over the S3 API.\n"
		"  --listen HOST:PORT  where to serve S3 (default 127.0.0.1:9000; port 0: any)\n"
		"  --access-keys FILE  lines 'ACCESS_KEY SECRET_KEY USER' (USER: a name, or\n"
		"                      UID[:GID]); requests signed with a key act as its user\n"
		"  --anonymous USER    unsigned requests act as USER (default: refused)\n"
		"  --region NAME       the region clients sign for (default us-east-1)\n"
		"  --root DIR          buckets are the directories below DIR (default /)\n"
		"  --http HOST:PORT    /metrics (Prometheus) on this address\n"
		"  --max-connections N concurrent connections (default 256), --max-per-ip N\n"
		"                      per client address (default 64)\n"
		"  --timeout S         idle connections close after S seconds (default 60)\n"
		"  --header-max BYTES  request header section limit (default 65536)\n"
		"  --upload-expiry S   abandoned multipart uploads are removed after S seconds\n"
		"                      without a part (default 604800)\n"
		"  --ready-file FILE   write the bound HOST:PORT there once serving\n"
		"  --tls-cert, --tls-key, --tls-ca FILE\n"
		"                      HTTPS with this certificate, and TLS to a TLS cluster\n");
}

/* "name" or "uid[:gid]" into uid, gid. */
static int parse_user(const char *s, uint32_t *uid, uint32_t *gid)
{
	char *end;
	unsigned long u = strtoul(s, &end, 10);
	if (end != s && (!*end || *end == ':')) {
		*uid = (uint32_t)u;
		*gid = (uint32_t)u;
		if (*end == ':') {
			const char *g = end + 1;
			*gid = (uint32_t)strtoul(g, &end, 10);
			if (end == g || *end)
				return -EINVAL;
		}
		return 0;
	}
	struct passwd *pw = getpwnam(s);
	if (!pw)
		return -ENOENT;
	*uid = (uint32_t)pw->pw_uid;
	*gid = (uint32_t)pw->pw_gid;
	return 0;
}

static int load_keys(struct gw *gw, const char *path)
{
	struct buf text = BUF_INIT;
	int rc = fs_read_file(path, &text);
	if (rc) {
		fprintf(stderr, "dfs-s3: cannot read the key file '%s': %s\n", path, strerror(-rc));
		return rc;
	}
	char *save = NULL;
	int line = 0;
	for (char *l = strtok_r(text.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		line++;
		char a[128], s[128], u[128];
		while (*l == ' ' || *l == '\t')
			l++;
		if (!*l || *l == '#')
			continue;
		struct gw_user *nu = realloc(gw->users, (gw->nusers + 1) * sizeof *nu);
		if (!nu) {
			rc = -ENOMEM;
			break;
		}
		gw->users = nu;
		struct gw_user *x = &gw->users[gw->nusers];
		memset(x, 0, sizeof *x);
		if (sscanf(l, "%127s %127s %127s", a, s, u) != 3 || parse_user(u, &x->uid, &x->gid)) {
			fprintf(stderr, "dfs-s3: %s:%d: want 'ACCESS_KEY SECRET_KEY USER'\n", path, line);
			rc = -EINVAL;
			break;
		}
		snprintf(x->access, sizeof x->access, "%s", a);
		snprintf(x->secret, sizeof x->secret, "%s", s);
		gw->nusers++;
	}
	buf_free(&text);
	return rc;
}

static int render(void *arg, const char *path, struct buf *body, const char **ctype)
{
	struct gw *gw = arg;
	if (strcmp(path, "/metrics"))
		return 404;
	gw_metrics(gw, body);
	*ctype = HTTP_PROMETHEUS;
	return 200;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (end == s || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"access-keys", required_argument, NULL, 'a'},
		{"anonymous", required_argument, NULL, 'u'},
		{"region", required_argument, NULL, 'r'},
		{"root", required_argument, NULL, 'R'},
		{"http", required_argument, NULL, 'H'},
		{"max-connections", required_argument, NULL, 'm'},
		{"max-per-ip", required_argument, NULL, 'i'},
		{"timeout", required_argument, NULL, 't'},
		{"header-max", required_argument, NULL, 'x'},
		{"upload-expiry", required_argument, NULL, 'e'},
		{"ready-file", required_argument, NULL, 'F'},
		{"dir", required_argument, NULL, 'D'},
		{"key", required_argument, NULL, 'K'},
		{"config", required_argument, NULL, 'C'},
		{"tls-cert", required_argument, NULL, 'T'},
		{"tls-key", required_argument, NULL, 'Y'},
		{"tls-ca", required_argument, NULL, 'A'},
		{"log", required_argument, NULL, 'L'},
		{"log-level", required_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct gw gw;
	struct locate_args la = {0};
	const char *keys = NULL, *anon = NULL, *http = NULL, *logfile = NULL, *ready = NULL;
	snprintf(gw.listen, sizeof gw.listen, "127.0.0.1:9000");
	snprintf(gw.region, sizeof gw.region, "us-east-1");
	gw.max_connections = 256;
	gw.max_per_ip = 64;
	gw.timeout = 60;
	gw.header_max = 65536;
	gw.upload_expiry = 604800;
	pthread_mutex_init(&gw.users_lock, NULL);
	pthread_mutex_init(&gw.metrics_lock, NULL);
	log_set_name("dfs-s3");
	int c;
	unsigned long v;
	while ((c = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': snprintf(gw.listen, sizeof gw.listen, "%s", optarg); break;
		case 'a': keys = optarg; break;
		case 'u': anon = optarg; break;
		case 'r': snprintf(gw.region, sizeof gw.region, "%s", optarg); break;
		case 'R':
			snprintf(gw.root, sizeof gw.root, "%s", strcmp(optarg, "/") ? optarg : "");
			if (gw.root[0] && gw.root[0] != '/') {
				fprintf(stderr, "dfs-s3: --root wants an absolute path\n");
				return 2;
			}
			break;
		case 'H': http = optarg; break;
		case 'm':
		case 'i':
		case 't':
		case 'x':
		case 'e':
			if (parse_uint(optarg, c == 'e' ? 100000000ul : c == 'x' ? (16ul << 20) : 100000ul, &v) || !v) {
				fprintf(stderr, "dfs-s3: bad number '%s'\n", optarg);
				return 2;
			}
			if (c == 'm')
				gw.max_connections = (unsigned)v;
			else if (c == 'i')
				gw.max_per_ip = (unsigned)v;
			else if (c == 't')
				gw.timeout = (unsigned)v;
			else if (c == 'x')
				gw.header_max = v;
			else
				gw.upload_expiry = (double)v;
			break;
		case 'F': ready = optarg; break;
		case 'n': la.namenode = optarg; break;
		case 'D': la.dir = optarg; break;
		case 'K': la.key = optarg; break;
		case 'C': la.config = optarg; break;
		case 'T': la.tls_cert = optarg; break;
		case 'Y': la.tls_key = optarg; break;
		case 'A': la.tls_ca = optarg; break;
		case 'L': logfile = optarg; break;
		case 'V': {
			enum log_level l;
			if (log_parse_level(optarg, &l)) {
				fprintf(stderr, "dfs-s3: unknown log level '%s'\n", optarg);
				return 2;
			}
			log_set_level(l);
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (logfile && log_open(logfile)) {
		fprintf(stderr, "dfs-s3: cannot open log file '%s': %s\n", logfile, strerror(errno));
		return 1;
	}
	if (keys && load_keys(&gw, keys))
		return 2;
	if (anon) {
		static struct gw_user a;
		if (parse_user(anon, &a.uid, &a.gid)) {
			fprintf(stderr, "dfs-s3: --anonymous: unknown user '%s'\n", anon);
			return 2;
		}
		snprintf(a.access, sizeof a.access, "(anonymous)");
		gw.anonymous = &a;
	}
	if (!gw.nusers && !gw.anonymous)
		log_warn("no access keys and no anonymous user: every request will be refused");
	struct buf err = BUF_INIT;
	if (locate_cluster(&la, &gw.co, &err)) {
		fprintf(stderr, "dfs-s3: %s\n", err.data);
		return 1;
	}
	buf_free(&err);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread inherits it: sigtimedwait below */
	signal(SIGPIPE, SIG_IGN);
	struct dfs_client_opts admin = gw.co;
	admin.uid = admin.gid = 0;
	if (dfs_connect(&admin, &gw.admin)) {
		fprintf(stderr, "dfs-s3: cannot connect to the namenode '%s': %s\n", gw.co.namenode,
			dfs_errmsg());
		return 1;
	}
	dfs_set_reconnect(gw.admin, true);
	const char *cert = la.tls_cert, *key = la.tls_key;
	if (gw_start(&gw, cert, key))
		return 1;
	struct http *h = NULL;
	char hbound[256] = "";
	if (http && http_start(http, render, &gw, hbound, sizeof hbound, &h)) {
		log_error("cannot serve /metrics on '%s'", http);
		gw_stop();
		return 1;
	}
	log_info("serving S3 on %s%s%s for the cluster at %s", gw.bound, h ? ", metrics on " : "",
		 hbound, gw.co.namenode);
	if (ready) {
		struct buf b = BUF_INIT;
		buf_printf(&b, "%s\n", gw.bound);
		if (fs_write_atomic(ready, b.data, b.len))
			log_warn("cannot write the ready file '%s'", ready);
		buf_free(&b);
	}
	double period = gw.upload_expiry / 4 < 60 ? gw.upload_expiry / 4 : 60;
	if (period < 1)
		period = 1;
	for (;;) {
		struct timespec ts = {(time_t)period, (long)((period - (double)(time_t)period) * 1e9)};
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig < 0 && errno == EAGAIN)
			gw_expire_uploads(&gw);
	}
	log_info("stopping");
	http_stop(h);
	gw_stop();
	for (size_t i = 0; i < gw.nusers; i++)
		for (int k = 0; k < GW_POOL; k++)
			if (gw.users[i].c[k])
				dfs_close(gw.users[i].c[k]);
	for (int k = 0; gw.anonymous && k < GW_POOL; k++)
		if (gw.anonymous->c[k])
			dfs_close(gw.anonymous->c[k]);
	dfs_close(gw.admin);
	free(gw.users);
	return 0;
}
