/*
 * cfg: cluster settings (../shared/INTERFACE.md "Settings") and daemon options, read
 * from a `key = value` file (# comments) and overridden by `--set key=value` flags.
 * Sizes take K, M, G suffixes (powers of 1024); times are seconds, fractional allowed.
 * A struct cfg is filled at start-up and read-only afterwards.
 */
#ifndef DFS_CFG_H
#define DFS_CFG_H

#include <stdint.h>

#include "buf.h"

struct cfg {
	/* cluster settings */
	uint64_t block_size;
	uint32_t replication;
	double heartbeat_interval;
	double stale_node_timeout;
	double dead_node_timeout;
	double maintenance_timeout;
	double scan_period;
	double safemode_threshold;
	double lease_timeout;
	uint32_t task_slots;
	double locality_delay;
	uint32_t task_attempts;
	double task_timeout;
	uint32_t speculation; /* 0 or 1 */
	uint64_t sort_buffer; /* bytes of a map task's sort buffer (MapReduce jobs) */
	double reduce_slowstart; /* share of a job's maps done before its reducers start */
	char task_user[64];   /* map commands run as this user (datanode run as root) */
	double trash_interval;
	double retry_cache_seconds; /* namenode: keep mutating calls' first replies this long */
	double metadata_sync; /* 0 = always */
	uint32_t permissions; /* 0: no permission checks */
	uint32_t superuser;   /* a uid besides 0 that passes every check (0: none) */
	/* limits (hostile or broken peers) */
	uint32_t max_connections;        /* per daemon */
	uint32_t max_unauth_connections; /* still in the handshake; oldest dropped first */
	double handshake_timeout;        /* to finish the handshake */
	double frame_timeout;            /* to finish sending a frame once it has started */
	double block_token_lifetime;     /* a block access token is valid this long */
	double block_key_interval;       /* the namenode rolls its block key this often */
	/* TEST ONLY: a datanode flips a byte in every Nth packet it receives (0: never) */
	uint32_t test_corrupt_writes;
	double test_io_delay; /* test only: seconds each datanode packet I/O waits */
	/* test only: while this file exists, the namenode exits right after making a
	 * change durable, before any reply leaves (and removes the file) */
	char test_exit_before_reply[4096];
	/* TEST ONLY: the namenode starts no reduce task while this local file exists */
	char test_hold_reduces[4096];
	/* where things are (daemon options; also settable in the file) */
	char namenode[256]; /* HOST:PORT of the namenode (datanodes, clients) */
	char namenodes[256]; /* clients: every member of a namenode group, comma-separated */
	/* a namenode group member (namenode/group.h): every member's Raft HOST:PORT in
	 * member order, this member's place in it (1..n), the election timeout */
	char raft_addrs[256];
	uint32_t raft_id;
	double election_timeout;
	char listen[256];   /* HOST:PORT to bind */
	char advertise[256]; /* HOST:PORT others should use (default: listen) */
	char http[256];      /* status page and /metrics HOST:PORT ("" or "off": none) */
	char key_file[4096];
	char datanode_key_file[4096]; /* "" = datanode.key next to key_file */
	char tls_cert[4096];          /* TLS on when all three are set (tls.h) */
	char tls_key[4096];
	char tls_ca[4096];
	char name_dir[4096]; /* namenode metadata directory */
	char data_dir[4096]; /* datanode block directory */
	char log_file[4096];
	char log_level[16];
};

/* Fills in the documented defaults. */
void cfg_defaults(struct cfg *c);
/*
 * The config format's version. A file may say `config_version = N` (the ones dfs writes
 * do); a file of a newer version is refused with both versions named, since its keys
 * may mean something this program does not know. No older format exists yet: version 1
 * is also what a file without the line is.
 */
#define CFG_VERSION 1
/* Sets one key; on error returns -EINVAL and writes why into err. */
int cfg_set(struct cfg *c, const char *key, const char *value, struct buf *err);
/* Parses "key=value" (a --set flag). */
int cfg_set_kv(struct cfg *c, const char *kv, struct buf *err);
/* Loads a config file; unknown keys and bad values are errors naming the line. */
int cfg_load(struct cfg *c, const char *path, struct buf *err);
/* The same over text in memory (name is used in messages). */
int cfg_parse(struct cfg *c, const char *text, size_t len, const char *name, struct buf *err);
/* The datanode key's path: datanode_key_file, or datanode.key in key_file's directory. */
void cfg_datanode_key_path(const struct cfg *c, char *out, size_t outsz);
/* Parses a size with optional K/M/G suffix; -EINVAL when malformed. */
int cfg_parse_size(const char *s, uint64_t *out);
/* Parses seconds (fractional); -EINVAL when malformed or negative. */
int cfg_parse_seconds(const char *s, double *out);

#endif
