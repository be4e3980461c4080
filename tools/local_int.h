/*
 * local_int: what the files of `dfs local` share (local.c: the subcommands and the
 * daemons; local_status.c: `local status`). Main thread only.
 */
#ifndef DFS_TOOLS_LOCAL_INT_H
#define DFS_TOOLS_LOCAL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "proto.h"

#define MAX_NODES 64
#define MAX_NAMENODES 9

struct local {
	struct buf dir;
	char ids[MAX_NODES][PROTO_ID_MAX + 1];
	int nids;
	struct buf settings; /* "k=v\n" lines */
	bool tls;            /* DIR/tls holds a CA: every connection is TLS */
	int nnn;             /* namenodes: 1 ("namenode"), or a group nn1..nnN */
};

/* DIR/rel into out. */
void path_of(const struct local *l, const char *rel, struct buf *out);
/* The pid of daemon `name` when it runs, else 0. */
pid_t running_pid(const struct local *l, const char *name);
/* The HOST:PORT a daemon wrote in run/NAME.SUFFIX ("" when none). */
void daemon_file(const struct local *l, const char *name, const char *suffix, char *out,
		 size_t sz);
/* The address daemon `name` bound last (kept across restarts), or "". */
void daemon_addr(const struct local *l, const char *name, char *out, size_t sz);
/* The mount point of the cluster's mount, or "". */
void current_mount(const struct local *l, char *out, size_t sz);
/* The gateway's key pair. */
bool s3_keys(const struct local *l, char *access, char *secret);
/* The name of namenode k (1-based): "namenode" alone, else "nnK". */
void local_nn_name(const struct local *l, int k, char *out, size_t sz);
/* Every namenode's client address, comma-separated (the `namenodes` setting). */
void local_nn_list(const struct local *l, char *out, size_t sz);

/* local_status.c */
int local_status(struct local *l, bool json);

#endif
