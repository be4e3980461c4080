/*
 * locate: how every client binary finds the cluster (../shared/INTERFACE.md "Finding
 * the cluster"): -n HOST:PORT, $DFS_NAMENODE, --dir DIR / $DFS_DIR (an embedded
 * cluster's state directory), ./.dfs when it holds a running embedded cluster, then
 * the config file (--config FILE, $DFS_CONFIG, /etc/dfs/dfs.conf). The key file is
 * found the same way, or given with --key FILE / $DFS_KEY, and so are the TLS files
 * (--tls-cert/--tls-key/--tls-ca, or tls_cert/tls_key/tls_ca in that config): when
 * they are set, locate_cluster turns TLS on for the process (tls.h).
 */
#ifndef DFS_LOCATE_H
#define DFS_LOCATE_H

#include "buf.h"
#include "client.h"

struct locate_args {
	const char *namenode, *dir, *config, *key; /* command-line values or NULL */
	const char *tls_cert, *tls_key, *tls_ca;
};

/* Fills opts->namenode and opts->key. On failure returns -errno and explains in err. */
int locate_cluster(const struct locate_args *a, struct dfs_client_opts *opts, struct buf *err);
/* The embedded-cluster directory in effect (--dir, $DFS_DIR, or "./.dfs"), absolute. */
void locate_local_dir(const char *dir, struct buf *out);

#endif
