/* daemon: shared daemon start-up. See daemon.h. */
#include "daemon.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "tls.h"

int daemon_load_config(int argc, char **argv, struct cfg *cfg, const char *prog)
{
	struct buf err = BUF_INIT;
	int status = 0;
	for (int i = 1; i < argc - 1 && !status; i++)
		if (!strcmp(argv[i], "--config") && cfg_load(cfg, argv[i + 1], &err)) {
			fprintf(stderr, "%s: %s\n", prog, err.data);
			status = 2;
		}
	buf_free(&err);
	return status;
}

int daemon_init(const struct cfg *cfg, const char *prog, const char *name,
		struct auth_keys *keys, void (*on_signal)(int))
{
	log_set_name(name);
	enum log_level lvl;
	if (log_parse_level(cfg->log_level, &lvl)) {
		fprintf(stderr, "%s: bad log level '%s'\n", prog, cfg->log_level);
		return 2;
	}
	log_set_level(lvl);
	if (cfg->log_file[0] && log_open(cfg->log_file)) {
		fprintf(stderr, "%s: cannot open log '%s'\n", prog, cfg->log_file);
		return 1;
	}
	char dnkey[sizeof cfg->key_file + 16];
	cfg_datanode_key_path(cfg, dnkey, sizeof dnkey);
	const char *what = "cluster", *path = cfg->key_file;
	int rc = auth_key_load(cfg->key_file, keys->cluster);
	if (!rc) {
		what = "datanode";
		path = dnkey;
		rc = auth_key_load(dnkey, keys->datanode);
	}
	if (rc) {
		const char *why = rc == -EINVAL ? "malformed key file" : strerror(-rc);
		fprintf(stderr, "%s: cannot load %s key '%s': %s%s\n", prog, what, path, why,
			rc == -ENOENT && path == dnkey ? " ('dfs-namenode format' makes it next "
			"to the cluster key; copy it to every datanode)" : "");
		if (cfg->log_file[0])
			log_error("cannot load %s key '%s': %s", what, path, why);
		return 1;
	}
	keys->has_datanode = true;
	signal(SIGPIPE, SIG_IGN);
	if (cfg->tls_cert[0] || cfg->tls_key[0] || cfg->tls_ca[0]) {
		struct buf err = BUF_INIT;
		rc = tls_init(cfg->tls_cert, cfg->tls_key, cfg->tls_ca, &err);
		if (!rc)
			rc = http_set_tls(cfg->tls_cert, cfg->tls_key, &err);
		if (rc) {
			fprintf(stderr, "%s: TLS: %s\n", prog, err.data);
			if (cfg->log_file[0])
				log_error("TLS: %s", err.data);
			buf_free(&err);
			return 1;
		}
		log_info("TLS 1.3 on every connection (CA '%s')", cfg->tls_ca);
	}
	/* no OpenSSL clean-up at exit: a thread still finishing a handshake while the
	 * process exits must not find its locks freed under it */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	return 0;
}
