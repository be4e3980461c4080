/*
 * dfs-fuse: mounts the cluster's namespace (libfuse3's low-level API; mount.h). Finds
 * the cluster as every client does (locate.h), opens a small pool of namenode
 * connections, then runs libfuse's multi-threaded session loop (a /dev/fuse clone per
 * worker thread), in the foreground with -f or as a daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "health.h"
#include "mount.h"
#include "locate.h"
#include "log.h"

/*
 * The liveness watch: every heartbeat interval the mount asks the namenode which
 * datanodes are not live (dfs_refresh_liveness), so its readers and pipelines drop a
 * hung node as soon as the namenode marks it stale, on a connection of its own.
 */
struct watch {
	struct dfs_client *c;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
};

static void *watch_main(void *arg)
{
	struct watch *w = arg;
	dfs_set_reconnect(w->c, true);
	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		uint32_t ms = health_heartbeat_ms();
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += ms / 1000;
		t.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cond, &w->lock, &t);
		if (w->stop)
			break;
		pthread_mutex_unlock(&w->lock);
		dfs_refresh_liveness(w->c); /* a namenode away: the table stays as it was */
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dfs-fuse [-f] [-d] [-o OPTIONS] [-n HOST:PORT] [--dir DIR] [--key FILE]\n"
		"                [--config FILE] [--connections N] [--read-ahead KB]\n"
		"                [--tls-cert FILE --tls-key FILE --tls-ca FILE]\n"
		"                [--log FILE] [--log-level LEVEL] MOUNTPOINT\n"
		"Mounts the dfs namespace at MOUNTPOINT.\n"
		"  -f              stay in the foreground (default: become a daemon)\n"
		"  -d              foreground with libfuse's request debugging\n"
		"  -o OPTIONS      mount options: ro, allow_other, attr_timeout=S,\n"
		"                  entry_timeout=S, negative_timeout=S (default 1, 1, 0),\n"
		"                  max_read=N, ... (libfuse3's); as root allow_other is on,\n"
		"                  and default_permissions always\n"
		"  -n HOST:PORT    the namenode (else $DFS_NAMENODE, --dir, ./.dfs, config)\n"
		"  --connections N namenode connections (default 4, at most %d)\n"
		"  --tls-cert, --tls-key, --tls-ca FILE\n"
		"                  TLS to a TLS cluster (else tls_* from the config)\n"
		"  --read-ahead KB kernel read-ahead for the mount (default 4096; 0 = leave\n"
		"                  the kernel's 128; raising it needs root)\n"
		"Unmount with: fusermount3 -u MOUNTPOINT\n",
		FS_POOL_MAX);
}

/* Takes dfs-fuse's own options (the cache timeouts, "ro") out of the comma-separated
 * list in, leaving libfuse's in out; -1 with a message for a bad value. */
static int split_options(const char *in, struct fs *fs, struct buf *out)
{
	static const struct {
		const char *key;
		size_t off;
	} mine[] = {
		{"attr_timeout=", offsetof(struct fs, attr_timeout)},
		{"entry_timeout=", offsetof(struct fs, entry_timeout)},
		{"negative_timeout=", offsetof(struct fs, negative_timeout)},
		{"watched_attr_timeout=", offsetof(struct fs, watched_attr_timeout)},
	};
	char *copy = strdup(in ? in : ""), *save = NULL;
	int rc = copy ? 0 : -1;
	for (char *o = copy ? strtok_r(copy, ",", &save) : NULL; o && !rc;
	     o = strtok_r(NULL, ",", &save)) {
		size_t i = 0;
		while (i < sizeof mine / sizeof mine[0] &&
		       strncmp(o, mine[i].key, strlen(mine[i].key)))
			i++;
		if (i < sizeof mine / sizeof mine[0]) {
			char *end;
			double v = strtod(o + strlen(mine[i].key), &end);
			if (*end || end == o + strlen(mine[i].key) || v < 0 || v > 86400) {
				fprintf(stderr, "dfs-fuse: -o %s: seconds from 0 to 86400\n", o);
				rc = -1;
			}
			*(double *)((char *)fs + mine[i].off) = v;
			continue;
		}
		if (!strcmp(o, "nocallbacks")) {
			fs->no_callbacks = true;
			continue;
		}
		if (!strcmp(o, "ro"))
			fs->read_only = true; /* ours to enforce too (EROFS before any call) */
		if (out->len)
			buf_addc(out, ',');
		buf_adds(out, o);
	}
	free(copy);
	return rc;
}

/*
 * Raises the kernel's read-ahead for this mount (it offers FUSE only 128 KiB, which
 * keeps a single sequential reader to one request at a time): the mount's device is
 * found in /proc/self/mountinfo (a stat of the mount point would ask ourselves, before
 * the loop runs) and its backing device's read_ahead_kb set. Needs root; else a no-op.
 */
static void set_readahead(const char *mnt, unsigned kb)
{
	char dev[64];
	if (!kb || fs_find_mount(mnt, "fuse.dfs", dev, sizeof dev))
		return;
	char path[128];
	snprintf(path, sizeof path, "/sys/class/bdi/%s/read_ahead_kb", dev);
	FILE *ra = fopen(path, "w");
	if (!ra) {
		log_debug("cannot raise read-ahead (%s): %s", path, strerror(errno));
		return;
	}
	fprintf(ra, "%u\n", kb);
	if (fclose(ra))
		log_debug("cannot raise read-ahead (%s): %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"dir", required_argument, NULL, 'D'},
		{"key", required_argument, NULL, 'K'},
		{"config", required_argument, NULL, 'C'},
		{"tls-cert", required_argument, NULL, 'T'},
		{"tls-key", required_argument, NULL, 'Y'},
		{"tls-ca", required_argument, NULL, 'A'},
		{"log", required_argument, NULL, 'L'},
		{"log-level", required_argument, NULL, 'V'},
		{"connections", required_argument, NULL, 'P'},
		{"read-ahead", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct locate_args la = {0};
	bool foreground = false, debug = false;
	const char *logfile = NULL, *mnt = NULL;
	unsigned npool = 4, readahead_kb = 4096;
	struct buf opts = BUF_INIT;
	int c;
	log_set_name("dfs-fuse");
	while ((c = getopt_long(argc, argv, "+fdo:n:h", longopts, NULL)) != -1 || optind < argc) {
		if (c == -1) { /* an operand: options may follow it */
			if (mnt) {
				fprintf(stderr, "dfs-fuse: one mount point only ('%s')\n", argv[optind]);
				return 2;
			}
			mnt = argv[optind++];
			continue;
		}
		switch (c) {
		case 'f': foreground = true; break;
		case 'd': foreground = debug = true; break;
		case 'o':
			if (opts.len)
				buf_addc(&opts, ',');
			buf_adds(&opts, optarg);
			break;
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
				fprintf(stderr, "dfs-fuse: unknown log level '%s'\n", optarg);
				return 2;
			}
			log_set_level(l);
			break;
		}
		case 'P': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > FS_POOL_MAX) {
				fprintf(stderr, "dfs-fuse: --connections must be 1..%d\n",
					FS_POOL_MAX);
				return 2;
			}
			npool = (unsigned)n;
			break;
		}
		case 'R': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n < 0 || n > 1048576) {
				fprintf(stderr, "dfs-fuse: --read-ahead takes KiB, 0..1048576\n");
				return 2;
			}
			readahead_kb = (unsigned)n;
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!mnt) {
		usage(stderr);
		return 2;
	}
	static struct fs fs = {.entry_timeout = 1, .attr_timeout = 1, .negative_timeout = 0,
			       .watched_attr_timeout = 60};
	struct buf o = BUF_INIT;
	/* our defaults first, so the user's -o can override them */
	buf_adds(&o, "default_permissions,fsname=dfs,subtype=dfs");
	if (geteuid() == 0)
		buf_adds(&o, ",allow_other");
	if (split_options(opts.data, &fs, &o))
		return 2;
	if (logfile && log_open(logfile)) {
		fprintf(stderr, "dfs-fuse: cannot open log file '%s': %s\n", logfile,
			strerror(errno));
		return 1;
	}

	struct dfs_client_opts co;
	memset(&co, 0, sizeof co);
	struct buf err = BUF_INIT;
	if (locate_cluster(&la, &co, &err)) {
		fprintf(stderr, "dfs-fuse: %s\n", err.data);
		return 1;
	}
	buf_free(&err);
	co.uid = (uint32_t)getuid();
	co.gid = (uint32_t)getgid();
	if (!fs.no_callbacks)
		co.session = fs_inval_session(); /* every connection names it */
	fs_the = &fs;
	fs.readahead = readahead_kb ? readahead_kb * 1024 : 1 << 20;
	for (unsigned i = 0; i < npool; i++) {
		if (dfs_connect(&co, &fs.pool[i])) {
			fprintf(stderr, "dfs-fuse: %s\n", dfs_errmsg());
			return 1;
		}
		dfs_set_reconnect(fs.pool[i], true);
		fs.npool++;
	}

	char *fargv[] = {argv[0], "-o", o.data, debug ? "-d" : NULL, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(debug ? 4 : 3, fargv);
	fs.se = fuse_session_new(&args, &fs_ops, sizeof fs_ops, &fs);
	fuse_opt_free_args(&args); /* what libfuse's option parsing allocated */
	if (!fs.se) {
		fprintf(stderr, "dfs-fuse: bad mount options '%s'\n", o.data);
		return 2;
	}
	int rc = 1;
	if (fuse_session_mount(fs.se, mnt)) {
		fprintf(stderr, "dfs-fuse: cannot mount at '%s'\n", mnt);
		goto destroy;
	}
	set_readahead(mnt, readahead_kb);
	if (fuse_set_signal_handlers(fs.se) || fuse_daemonize(foreground))
		goto out;
	signal(SIGPIPE, SIG_IGN);
	log_info("mounted %s at %s", co.namenode, mnt);
	struct watch w = {.c = NULL, .stop = false};
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	bool watching = !dfs_connect(&co, &w.c) && !pthread_create(&w.thread, NULL, watch_main, &w);
	if (!watching)
		log_warn("cannot watch the datanodes' liveness: %s", dfs_errmsg());
	bool callbacks = !fs.no_callbacks && !fs_inval_start(&co);
	if (!fs.no_callbacks && !callbacks)
		log_warn("cannot start the cache callbacks: attributes cached %.0f s", fs.attr_timeout);
	/* a /dev/fuse clone per worker thread: requests spread over them without one
	 * shared queue */
	struct fuse_loop_config *lc = fuse_loop_cfg_create();
	if (lc) {
		fuse_loop_cfg_set_clone_fd(lc, 1);
		fuse_loop_cfg_set_max_threads(lc, 64);
	}
	rc = fuse_session_loop_mt(fs.se, lc) ? 1 : 0;
	fuse_loop_cfg_destroy(lc);
	fuse_remove_signal_handlers(fs.se);
	if (callbacks)
		fs_inval_stop();
	if (watching) {
		pthread_mutex_lock(&w.lock);
		w.stop = true;
		pthread_cond_signal(&w.cond);
		pthread_mutex_unlock(&w.lock);
		pthread_join(w.thread, NULL);
	}
	dfs_close(w.c);
out:
	fuse_session_unmount(fs.se);
destroy:
	fuse_session_destroy(fs.se);
	for (unsigned i = 0; i < fs.npool; i++)
		dfs_close(fs.pool[i]);
	buf_free(&o);
	buf_free(&opts);
	log_info("unmounted %s", mnt);
	return rc;
}
