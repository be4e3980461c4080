/*
 * dfs-namenode: the namespace and block manager.
 *
 *   dfs-namenode format --dir DIR [--key FILE]
 *   dfs-namenode upgrade --dir DIR   (a namespace of an older format to this one)
 *   dfs-namenode [--config FILE] [--dir DIR] [--key FILE] [--listen HOST:PORT]
 *                [--port-file FILE] [--set KEY=VALUE]... [--log FILE] [--log-level L]
 */
#include <errno.h>
#include <dirent.h>
#include <getopt.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "auth.h"
#include "backup.h"
#include "cfg.h"
#include "daemon.h"
#include "fsutil.h"
#include "log.h"
#include "ns.h"
#include "server.h"

static struct nn_server *server;

static void on_signal(int sig)
{
	(void)sig;
	if (server)
		nn_server_stop(server);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dfs-namenode format --dir DIR [--key FILE]\n"
		"       dfs-namenode upgrade --dir DIR   (an older namespace format to this one)\n"
		"       dfs-namenode digest --dir DIR    (records and SHA-256 of a stopped one)\n"
		"       dfs-namenode [options]\n"
		"\n"
		"  --dir DIR          metadata directory (setting name_dir)\n"
		"  --key FILE         cluster key file (default DIR/cluster.key)\n"
		"  --datanode-key FILE  datanode key file (default: datanode.key next to --key)\n"
		"  --tls-cert FILE, --tls-key FILE, --tls-ca FILE\n"
		"                     TLS 1.3 on every connection: this node's certificate and\n"
		"                     key (PEM), and the CA that signed every peer's\n"
		"                     certificate (settings tls_cert, tls_key, tls_ca)\n"
		"  --config FILE      read settings from a 'key = value' file\n"
		"  --listen HOST:PORT address to serve on (port 0: any free port)\n"
		"  --port-file FILE   write the bound HOST:PORT here once listening\n"
		"  --set KEY=VALUE    override one setting (see README)\n"
		"  --log FILE         log to FILE instead of standard error\n"
		"  --log-level LEVEL  debug, info, warn or error\n"
		"  --no-permissions   no permission checks (setting permissions = 0)\n"
		"  --http HOST:PORT   serve the status page, /api/status and /metrics (setting\n"
		"                     http; default: off)\n"
		"  --http-port-file FILE  write the bound HTTP HOST:PORT here\n"
		"\n"
		"  dfs-namenode format --dir DIR [--from-backup BACKUPDIR]\n"
		"      a new namespace (and cluster key), or one restored from 'dfs admin backup'\n");
}

static int next_record(void *arg, struct buf *key, struct buf *value)
{
	return backup_next(arg, key, value);
}

/* format --from-backup DIR: a namespace from `dfs admin backup`; the datanodes then
 * report which replicas they hold. The cluster key is not in a backup: keep yours. */
static int restore(const struct cfg *cfg, const char *from)
{
	if (!cfg->name_dir[0]) {
		fprintf(stderr, "dfs-namenode: format: --dir is required\n");
		return 2;
	}
	DIR *d = opendir(cfg->name_dir);
	if (d) {
		struct dirent *e;
		bool empty = true;
		while ((e = readdir(d)))
			empty &= !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
		closedir(d);
		if (!empty) {
			fprintf(stderr, "dfs-namenode: format: '%s' is not empty; restore into a new "
					"directory\n", cfg->name_dir);
			return 1;
		}
	}
	struct backup_reader *r;
	int rc = backup_open(from, &r);
	if (rc) {
		fprintf(stderr, "dfs-namenode: format: cannot read a backup in '%s': %s\n", from,
			rc == -EPROTO ? "not a dfs backup" : strerror(-rc));
		return 1;
	}
	rc = nn_ns_restore(cfg->name_dir, next_record, r);
	uint64_t n = backup_count(r);
	backup_close(r);
	if (rc == -EEXIST)
		fprintf(stderr, "dfs-namenode: format: '%s' already holds a namespace\n",
			cfg->name_dir);
	else if (rc == -EPROTO)
		fprintf(stderr, "dfs-namenode: format: the backup in '%s' is damaged or "
				"incomplete; nothing restored\n", from);
	else if (rc)
		fprintf(stderr, "dfs-namenode: format: cannot restore into '%s': %s\n",
			cfg->name_dir, strerror(-rc));
	if (rc) {
		fs_remove_tree(cfg->name_dir); /* no half-restored namespace (it was empty) */
		return 1;
	}
	printf("restored %llu records from '%s' into '%s'\n", (unsigned long long)n, from,
	       cfg->name_dir);
	return 0;
}

/* upgrade --dir DIR: an older namespace format to this one (ns.h); never done by a
 * plain start, which refuses an older format. */
static int upgrade(const struct cfg *cfg)
{
	if (!cfg->name_dir[0]) {
		fprintf(stderr, "dfs-namenode: upgrade: --dir is required\n");
		return 2;
	}
	struct buf why = BUF_INIT;
	uint32_t from = 0;
	int rc = nn_ns_upgrade(cfg->name_dir, &from, &why);
	if (rc)
		fprintf(stderr, "dfs-namenode: upgrade: %s\n", why.len ? why.data : strerror(-rc));
	else if (from == NN_NS_FORMAT)
		printf("namespace '%s' is already at format %u\n", cfg->name_dir, NN_NS_FORMAT);
	else
		printf("namespace '%s' upgraded from format %u to %u\n", cfg->name_dir, from,
		       NN_NS_FORMAT);
	buf_free(&why);
	return rc ? 1 : 0;
}

/* `dfs-namenode digest`: the number of records in dir's namespace and a SHA-256 of all
 * of them in key order (as `dfs admin backup` streams them), for comparing the members
 * of a group (their namespaces are the same once they applied the same entries). The
 * namenode of dir must be stopped (LevelDB's lock). */
static int digest(const struct cfg *cfg)
{
	if (!cfg->name_dir[0]) {
		fprintf(stderr, "dfs-namenode: digest: --dir is required\n");
		return 2;
	}
	struct nn_ns_defaults def = {3, 64u << 20};
	struct nn_ns *ns = NULL;
	int rc = nn_ns_open(cfg->name_dir, &def, &ns);
	if (rc) {
		fprintf(stderr, "dfs-namenode: digest: cannot open '%s': %s\n", cfg->name_dir,
			rc == -ENOENT ? "no namespace there" : strerror(-rc));
		return 1;
	}
	struct nn_ns_dump *d = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	rc = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? nn_ns_dump_start(ns, &d)
								    : -ENOMEM;
	unsigned long long records = 0;
	struct buf piece = BUF_INIT;
	uint32_t n;
	while (!rc && (n = nn_ns_dump_next(d, &piece, 1u << 20)) > 0) {
		records += n;
		EVP_DigestUpdate(md, piece.data, piece.len);
		buf_reset(&piece);
	}
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned hl = 0;
	if (!rc && EVP_DigestFinal_ex(md, h, &hl) == 1) {
		printf("%llu records sha256 ", records);
		for (unsigned i = 0; i < hl; i++)
			printf("%02x", h[i]);
		printf("\n");
	} else if (!rc) {
		rc = -EIO;
	}
	if (rc)
		fprintf(stderr, "dfs-namenode: digest: %s\n", strerror(-rc));
	buf_free(&piece);
	nn_ns_dump_end(d);
	EVP_MD_CTX_free(md);
	nn_ns_close(ns);
	return rc ? 1 : 0;
}

static int format(const struct cfg *cfg)
{
	if (!cfg->name_dir[0]) {
		fprintf(stderr, "dfs-namenode: format: --dir is required\n");
		return 2;
	}
	int rc = nn_ns_format(cfg->name_dir);
	if (rc == -EEXIST) {
		fprintf(stderr, "dfs-namenode: format: '%s' already holds a namespace\n",
			cfg->name_dir);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "dfs-namenode: format: cannot create namespace in '%s': %s\n",
			cfg->name_dir, strerror(-rc));
		return 1;
	}
	rc = auth_key_create(cfg->key_file);
	if (rc && rc != -EEXIST) {
		fprintf(stderr, "dfs-namenode: format: cannot create key file '%s': %s\n",
			cfg->key_file, strerror(-rc));
		return 1;
	}
	char dnkey[sizeof cfg->key_file + 16];
	cfg_datanode_key_path(cfg, dnkey, sizeof dnkey);
	int dnrc = auth_key_create(dnkey);
	if (dnrc && dnrc != -EEXIST) {
		fprintf(stderr, "dfs-namenode: format: cannot create key file '%s': %s\n",
			dnkey, strerror(-dnrc));
		return 1;
	}
	printf("formatted namespace in '%s'; cluster key in '%s'%s; datanode key in '%s'%s\n",
	       cfg->name_dir, cfg->key_file, rc == -EEXIST ? " (existing key kept)" : "",
	       dnkey, dnrc == -EEXIST ? " (existing key kept)" : "");
	return 0;
}

int main(int argc, char **argv)
{
	struct cfg cfg;
	cfg_defaults(&cfg);
	snprintf(cfg.listen, sizeof cfg.listen, "0.0.0.0:9000");
	const char *port_file = NULL, *http_port_file = NULL, *from_backup = NULL;
	struct buf err = BUF_INIT;
	static const struct option opts[] = {
		{"dir", required_argument, 0, 'd'},    {"key", required_argument, 0, 'k'},
		{"datanode-key", required_argument, 0, 'K'}, {"tls-cert", required_argument, 0, 'C'},
		{"tls-key", required_argument, 0, 'Y'},  {"tls-ca", required_argument, 0, 'A'},
		{"config", required_argument, 0, 'c'}, {"listen", required_argument, 0, 'l'},
		{"port-file", required_argument, 0, 'p'}, {"set", required_argument, 0, 's'},
		{"log", required_argument, 0, 'L'},    {"log-level", required_argument, 0, 'v'},
		{"no-permissions", no_argument, 0, 'P'},
		{"http", required_argument, 0, 'H'},
		{"from-backup", required_argument, 0, 'B'},
		{"http-port-file", required_argument, 0, 'F'},
		{"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
	};
	if (daemon_load_config(argc, argv, &cfg, "dfs-namenode"))
		return 2;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int rc = 0;
		switch (c) {
		case 'd': rc = cfg_set(&cfg, "name_dir", optarg, &err); break;
		case 'k': rc = cfg_set(&cfg, "key_file", optarg, &err); break;
		case 'K': rc = cfg_set(&cfg, "datanode_key_file", optarg, &err); break;
		case 'C': rc = cfg_set(&cfg, "tls_cert", optarg, &err); break;
		case 'Y': rc = cfg_set(&cfg, "tls_key", optarg, &err); break;
		case 'A': rc = cfg_set(&cfg, "tls_ca", optarg, &err); break;
		case 'c': break;
		case 'l': rc = cfg_set(&cfg, "listen", optarg, &err); break;
		case 'p': port_file = optarg; break;
		case 's': rc = cfg_set_kv(&cfg, optarg, &err); break;
		case 'L': rc = cfg_set(&cfg, "log_file", optarg, &err); break;
		case 'v': rc = cfg_set(&cfg, "log_level", optarg, &err); break;
		case 'P': cfg.permissions = 0; break;
		case 'H': rc = cfg_set(&cfg, "http", optarg, &err); break;
		case 'F': http_port_file = optarg; break;
		case 'B': from_backup = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (rc) {
			fprintf(stderr, "dfs-namenode: %s\n", err.data);
			return 2;
		}
	}
	if (!cfg.key_file[0] && cfg.name_dir[0]) {
		struct buf kf = BUF_INIT;
		buf_printf(&kf, "%s/cluster.key", cfg.name_dir);
		if (cfg_set(&cfg, "key_file", kf.data, &err)) {
			fprintf(stderr, "dfs-namenode: %s\n", err.data);
			return 2;
		}
		buf_free(&kf);
	}
	if (optind < argc && !strcmp(argv[optind], "format"))
		return from_backup ? restore(&cfg, from_backup) : format(&cfg);
	if (optind < argc && !strcmp(argv[optind], "upgrade") && !from_backup)
		return upgrade(&cfg);
	if (optind < argc && !strcmp(argv[optind], "digest") && !from_backup)
		return digest(&cfg);
	if (from_backup) {
		fprintf(stderr, "dfs-namenode: --from-backup goes with 'format'\n");
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "dfs-namenode: unknown command '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!cfg.name_dir[0]) {
		fprintf(stderr, "dfs-namenode: --dir (or name_dir in the config) is required\n");
		return 2;
	}
	if (cfg.block_token_lifetime < 1 || cfg.block_key_interval < 1) {
		fprintf(stderr, "dfs-namenode: block_token_lifetime and block_key_interval must "
				"be at least 1 second\n");
		return 2;
	}
	/* a namespace formatted before datanodes had their own key gets one now */
	char dnkey[sizeof cfg.key_file + 16];
	cfg_datanode_key_path(&cfg, dnkey, sizeof dnkey);
	if (!auth_key_create(dnkey))
		fprintf(stderr, "dfs-namenode: made a new datanode key '%s': copy it to every "
			"datanode\n", dnkey);
	struct auth_keys keys;
	int rc = daemon_init(&cfg, "dfs-namenode", "namenode", &keys, on_signal);
	if (rc)
		return rc;
	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	rc = nn_server_start(&cfg, &keys, port_file, http_port_file, &server);
	if (rc) {
		fprintf(stderr, "dfs-namenode: cannot start: %s\n",
			rc == -EUCLEAN || rc == -EPROTONOSUPPORT
				? "the namespace is of another format (see the message above)"
				: strerror(-rc));
		return 1;
	}
	nn_server_run(server);
	log_info("namenode stopping");
	nn_server_free(server);
	return 0;
}
