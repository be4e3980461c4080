/*
 * dfs-datanode: stores block replicas and serves them.
 *
 *   dfs-datanode --namenode HOST:PORT --data DIR [--id ID] [--listen HOST:PORT]
 *                [--advertise HOST:PORT] [--key FILE] [--port-file FILE]
 *                [--config FILE] [--set KEY=VALUE]... [--log FILE] [--log-level L]
 *   dfs-datanode upgrade --data DIR   (an older block store layout to this one)
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "blockstore.h"
#include "cfg.h"
#include "daemon.h"
#include "executor.h"
#include "fsutil.h"
#include "layout.h"
#include "log.h"
#include "net.h"
#include "nnlink.h"
#include "replicate.h"
#include "scanner.h"
#include "status.h"
#include "tls.h"
#include "xfer.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static ssize_t local_read(void *arg, uint64_t id, uint64_t gs, uint64_t off, size_t len,
			  void *buf)
{
	return dn_store_pread(arg, id, gs, off, len, buf);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dfs-datanode --namenode HOST:PORT --data DIR [options]\n"
		"       dfs-datanode upgrade --data DIR[,DIR...]\n"
		"\n"
		"  upgrade               bring data directories of an older block store layout\n"
		"                        to this datanode's (it refuses to start on them before)\n"
		"  --namenode HOST:PORT  the namenode (setting namenode)\n"
		"  --data DIR[,DIR...]   block directories, one per disk (setting data_dir)\n"
		"  --id ID               persistent node id, fixed on first start (default: random)\n"
		"  --listen HOST:PORT    data transfer address (port 0: any free port)\n"
		"  --advertise HOST:PORT address others use to reach this node (default: listen)\n"
		"  --key FILE            cluster key file\n"
		"  --datanode-key FILE   datanode key file (default: datanode.key next to --key)\n"
		"  --tls-cert FILE, --tls-key FILE, --tls-ca FILE\n"
		"                        TLS 1.3 on every connection: this node's certificate\n"
		"                        and key (PEM), and the CA that signed every peer's\n"
		"                        certificate (settings tls_cert, tls_key, tls_ca)\n"
		"  --port-file FILE      write the bound HOST:PORT here once listening\n"
		"  --config FILE         read settings from a 'key = value' file\n"
		"  --set KEY=VALUE       override one setting (see README)\n"
		"  --no-sync             do not fsync replicas when a block is finished\n"
		"  --no-exec             run built-in filters only, never map commands\n"
		"  --http HOST:PORT      serve /metrics there (setting http; default: off)\n"
		"  --http-port-file FILE write the bound HTTP HOST:PORT here\n"
		"  --log FILE            log to FILE instead of standard error\n"
		"  --log-level LEVEL     debug, info, warn or error\n"
		"\n"
		"TEST ONLY, never in production: --set test_corrupt_writes=N flips a byte in\n"
		"every Nth packet this node receives for a write, before verifying it, so that\n"
		"it answers with a checksum error (0, the default: off); --set test_io_delay=S\n"
		"makes each packet's disk read or write wait S seconds (a slow disk).\n");
}

/* upgrade --data DIR: an older block store layout to this one (layout.h). */
static int upgrade(const struct cfg *cfg)
{
	if (!cfg->data_dir[0]) {
		fprintf(stderr, "dfs-datanode: upgrade: --data is required\n");
		return 2;
	}
	struct buf out = BUF_INIT;
	int rc = dn_layout_upgrade(cfg->data_dir, &out);
	fprintf(rc ? stderr : stdout, "%s%s%s", rc ? "dfs-datanode: upgrade: " : "", out.data,
		rc ? "\n" : "");
	buf_free(&out);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct cfg cfg;
	cfg_defaults(&cfg);
	snprintf(cfg.listen, sizeof cfg.listen, "0.0.0.0:9866");
	const char *port_file = NULL, *id = NULL, *http_port_file = NULL;
	bool sync_on_close = true, exec = true;
	struct buf err = BUF_INIT;
	static const struct option opts[] = {
		{"namenode", required_argument, 0, 'n'}, {"data", required_argument, 0, 'd'},
		{"id", required_argument, 0, 'i'},       {"listen", required_argument, 0, 'l'},
		{"advertise", required_argument, 0, 'a'}, {"key", required_argument, 0, 'k'},
		{"datanode-key", required_argument, 0, 'K'}, {"tls-cert", required_argument, 0, 'C'},
		{"tls-key", required_argument, 0, 'Y'},  {"tls-ca", required_argument, 0, 'A'},
		{"port-file", required_argument, 0, 'p'}, {"config", required_argument, 0, 'c'},
		{"set", required_argument, 0, 's'},      {"log", required_argument, 0, 'L'},
		{"log-level", required_argument, 0, 'v'}, {"no-sync", no_argument, 0, 'S'},
		{"no-exec", no_argument, 0, 'X'},
		{"http", required_argument, 0, 'H'},
		{"http-port-file", required_argument, 0, 'F'},
		{"help", no_argument, 0, 'h'},           {0, 0, 0, 0},
	};
	if (daemon_load_config(argc, argv, &cfg, "dfs-datanode"))
		return 2;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int rc = 0;
		switch (c) {
		case 'n': rc = cfg_set(&cfg, "namenode", optarg, &err); break;
		case 'd': rc = cfg_set(&cfg, "data_dir", optarg, &err); break;
		case 'i': id = optarg; break;
		case 'l': rc = cfg_set(&cfg, "listen", optarg, &err); break;
		case 'a': rc = cfg_set(&cfg, "advertise", optarg, &err); break;
		case 'k': rc = cfg_set(&cfg, "key_file", optarg, &err); break;
		case 'K': rc = cfg_set(&cfg, "datanode_key_file", optarg, &err); break;
		case 'C': rc = cfg_set(&cfg, "tls_cert", optarg, &err); break;
		case 'Y': rc = cfg_set(&cfg, "tls_key", optarg, &err); break;
		case 'A': rc = cfg_set(&cfg, "tls_ca", optarg, &err); break;
		case 'p': port_file = optarg; break;
		case 'c': break;
		case 's': rc = cfg_set_kv(&cfg, optarg, &err); break;
		case 'L': rc = cfg_set(&cfg, "log_file", optarg, &err); break;
		case 'v': rc = cfg_set(&cfg, "log_level", optarg, &err); break;
		case 'S': sync_on_close = false; break;
		case 'X': exec = false; break;
		case 'H': rc = cfg_set(&cfg, "http", optarg, &err); break;
		case 'F': http_port_file = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (rc) {
			fprintf(stderr, "dfs-datanode: %s\n", err.data);
			return 2;
		}
	}
	if (optind < argc && !strcmp(argv[optind], "upgrade") && optind + 1 == argc)
		return upgrade(&cfg);
	if (optind < argc) {
		fprintf(stderr, "dfs-datanode: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (cfg.namenodes[0]) /* a namenode group: every member (nnlink.c follows the leader) */
		snprintf(cfg.namenode, sizeof cfg.namenode, "%s", cfg.namenodes);
	if (!cfg.namenode[0] || !cfg.data_dir[0] || !cfg.key_file[0]) {
		fprintf(stderr, "dfs-datanode: --namenode, --data and --key are required\n");
		usage(stderr);
		return 2;
	}
	if (id && (!*id || strlen(id) > PROTO_ID_MAX || strpbrk(id, " \t\n/"))) {
		fprintf(stderr, "dfs-datanode: bad node id '%s'\n", id);
		return 2;
	}
	struct auth_keys keys;
	int rc = daemon_init(&cfg, "dfs-datanode", "datanode", &keys, on_signal);
	if (rc)
		return rc;

	rc = dn_layout_check(cfg.data_dir, &err);
	if (rc) {
		fprintf(stderr, "dfs-datanode: %s\n", err.data);
		log_error("%s", err.data);
		return 1;
	}
	struct dn_store *store;
	rc = dn_store_open(cfg.data_dir, id, &store);
	if (rc) {
		fprintf(stderr, "dfs-datanode: cannot open data directory '%s': %s\n",
			cfg.data_dir, strerror(-rc));
		return 1;
	}
	struct dn_xfer *xfer;
	char bound[128];
	rc = dn_xfer_start(cfg.listen, store, &keys, sync_on_close, bound, sizeof bound, &xfer);
	if (rc) {
		log_error("cannot listen on '%s': %s", cfg.listen, strerror(-rc));
		fprintf(stderr, "dfs-datanode: cannot listen on '%s': %s\n", cfg.listen,
			strerror(-rc));
		return 1;
	}
	dn_xfer_set_deadline(xfer, cfg.stale_node_timeout);
	dn_replicate_set_deadline(cfg.stale_node_timeout);
	if (cfg.test_io_delay > 0) {
		log_warn("TEST ONLY: test_io_delay = %.3fs: each packet's disk I/O waits that long",
			 cfg.test_io_delay);
		dn_xfer_set_test_io_delay(xfer, cfg.test_io_delay);
	}
	if (cfg.test_corrupt_writes) {
		log_warn("TEST ONLY: test_corrupt_writes = %u: corrupting every %u%s packet received",
			 cfg.test_corrupt_writes, cfg.test_corrupt_writes,
			 cfg.test_corrupt_writes == 1 ? "st" : "th");
		dn_xfer_set_test_corrupt(xfer, cfg.test_corrupt_writes);
	}
	char advertise[256];
	if (cfg.advertise[0])
		snprintf(advertise, sizeof advertise, "%s", cfg.advertise);
	else
		snprintf(advertise, sizeof advertise, "%s", bound);
	if (port_file) {
		char line[140];
		snprintf(line, sizeof line, "%s\n", bound);
		rc = fs_write_atomic(port_file, line, strlen(line));
		if (rc) {
			log_error("cannot write port file '%s': %s", port_file, strerror(-rc));
			return 1;
		}
	}
	log_info("datanode '%s' serving blocks on %s", dn_store_id(store), bound);
	struct cx_opts xo = {0};
	snprintf(xo.node_id, sizeof xo.node_id, "%s", dn_store_id(store));
	snprintf(xo.namenode, sizeof xo.namenode, "%s", cfg.namenode);
	memcpy(xo.key, keys.cluster, AUTH_KEY_LEN); /* tasks are clients */
	xo.exec = exec;
	snprintf(xo.task_user, sizeof xo.task_user, "%s", cfg.task_user);
	/* task scratch space in the first data directory */
	snprintf(xo.scratch, sizeof xo.scratch, "%.*s/tasks",
		 (int)strcspn(cfg.data_dir, ","), cfg.data_dir);
	xo.sort_buffer = cfg.sort_buffer;
	dn_xfer_set_shuffle_dir(xfer, xo.scratch);
	xo.local_read = local_read;
	xo.local_arg = store;
	struct cx_exec *cx;
	rc = cx_start(&xo, &cx);
	if (rc) {
		log_error("cannot start the task executor: %s", strerror(-rc));
		return 1;
	}
	struct dn_nnlink *link;
	rc = dn_nnlink_start(cfg.namenode, advertise, cfg.heartbeat_interval, store, xfer, cx,
			     cfg.task_slots, exec, keys.datanode, &link);
	if (rc) {
		log_error("cannot start the namenode link: %s", strerror(-rc));
		return 1;
	}
	struct dn_status *status = NULL;
	if (cfg.http[0] && strcmp(cfg.http, "off")) {
		char hb[128];
		rc = dn_status_start(cfg.http, store, xfer, cx, hb, sizeof hb, &status);
		if (rc) {
			log_error("cannot serve HTTP on '%s': %s", cfg.http, strerror(-rc));
			return 1;
		}
		char line[140];
		snprintf(line, sizeof line, "%s\n", hb);
		if (http_port_file && (rc = fs_write_atomic(http_port_file, line, strlen(line)))) {
			log_error("cannot write '%s': %s", http_port_file, strerror(-rc));
			return 1;
		}
		log_info("metrics on %s://%s/metrics", tls_on() ? "https" : "http", hb);
	}
	struct dn_scanner *scanner;
	rc = dn_scanner_start(store, cfg.scan_period, &scanner);
	if (rc) {
		log_error("cannot start the block scanner: %s", strerror(-rc));
		return 1;
	}
	while (!stopping)
		pause();
	dn_scanner_stop(scanner);
	dn_status_stop(status);
	log_info("datanode '%s' stopping", dn_store_id(store));
	cx_stop(cx); /* its attempts end as killed; the namenode runs them elsewhere */
	/* finish the transfers in flight, then say goodbye: the namenode sees a clean stop */
	bool idle = dn_xfer_stop(xfer, 5);
	dn_nnlink_stop(link); /* its last reports include the attempts killed above */
	cx_free(cx);
	idle &= dn_replicate_drain(5); /* copies the namenode asked for, still in flight */
	if (idle)
		dn_store_close(store);
	buf_free(&err);
	return 0;
}
