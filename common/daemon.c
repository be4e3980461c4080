/* daemon: shared daemon start-up. See daemon.h. */
#include "daemon.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

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
		uint8_t key[AUTH_KEY_LEN], void (*on_signal)(int))
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
	int rc = auth_key_load(cfg->key_file, key);
	if (rc) {
		const char *why = rc == -EINVAL ? "malformed key file" : strerror(-rc);
		fprintf(stderr, "%s: cannot load cluster key '%s': %s\n", prog, cfg->key_file,
			why);
		if (cfg->log_file[0])
			log_error("cannot load cluster key '%s': %s", cfg->key_file, why);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* no OpenSSL clean-up at exit: a thread still finishing a handshake while the
	 * process exits must not find its locks freed under it */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	return 0;
}
