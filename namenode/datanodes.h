/*
 * datanodes: the namenode's table of datanodes -- identity, address, capacity and
 * liveness -- plus replica placement and the commands waiting for each node.
 * Loop thread only. A node keeps its index for the namenode's lifetime (the block map
 * refers to nodes by index); the persistent id a datanode reports is what users see.
 *
 * States: LIVE on register/heartbeat (nn_dns_register, nn_dns_heartbeat); STALE after
 * stale_node_timeout without a heartbeat and DEAD after dead_node_timeout
 * (nn_dns_check); DEAD at once when its connection closes (nn_dns_lost) -- after a
 * goodbye, DEAD "in maintenance" until maintenance_timeout, when nn_dns_check finally
 * gives its replicas up (dead_cb).
 */
#ifndef DFS_NN_DATANODES_H
#define DFS_NN_DATANODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "proto.h"

/* One file system holding a datanode's data (proto.h `fslist`). */
struct nn_dn_fs {
	char id[PROTO_FSID_MAX + 1];
	uint64_t capacity, remaining;
};

struct nn_dn {
	char id[PROTO_ID_MAX + 1];
	char addr[PROTO_ADDR_MAX + 1];
	char host[PROTO_ADDR_MAX + 1];
	uint64_t capacity, used, remaining; /* its block count is the block map's */
	uint32_t xceivers;
	double last_contact; /* ev_now() seconds */
	uint8_t state;       /* PROTO_DN_* */
	bool connected;
	bool reported;            /* sent its full block report since registering */
	bool decommission;        /* an administrator is retiring it: no new replicas */
	bool decommissioned;      /* ... and every block it holds is safe elsewhere */
	double maintenance_until; /* after a graceful stop: replicas kept until then */
	uint32_t replicating;     /* replication commands in flight from this node */
	struct nn_dn_fs fs[PROTO_FS_MAX]; /* its file systems, as last reported */
	uint32_t nfs;                     /* 0: it never said (counted by its totals) */
	struct buf cmds; /* encoded commands for the next heartbeat reply */
	uint32_t ncmds;
};

struct unpack;

struct nn_dns {
	struct nn_dn *v;
	uint32_t n, cap;
	double stale_timeout, dead_timeout, maintenance_timeout;
	double last_check; /* when nn_dns_check last ran (0: never) */
};

void nn_dns_init(struct nn_dns *d, double stale_timeout, double dead_timeout,
		 double maintenance_timeout);
void nn_dns_free(struct nn_dns *d);
/* Finds or adds node id, marks it live at addr; returns its index. */
uint32_t nn_dns_register(struct nn_dns *d, const char *id, const char *addr, double now);
void nn_dns_heartbeat(struct nn_dns *d, uint32_t i, uint64_t capacity, uint64_t used,
		      uint64_t remaining, uint32_t xceivers, double now);
/* Reads an optional `fslist` (proto.h) at u into node i's file systems; nothing
 * when u is at its end. */
void nn_dns_unpack_fslist(struct nn_dns *d, uint32_t i, struct unpack *u);
/* Capacity and remaining of the nodes not dead, each (host, file system id) counted
 * once: datanodes sharing a disk report the same space. */
void nn_dns_space(const struct nn_dns *d, uint64_t *capacity, uint64_t *remaining);
/* Node n's file system ids, comma-separated, into out ("" when it never said). */
void nn_dn_fs_ids(const struct nn_dn *n, char *out, size_t sz);
/* The node's connection closed: dead. After a goodbye it is in maintenance: its
 * replicas still count until maintenance_timeout (unless a block falls to one copy). */
void nn_dns_lost(struct nn_dns *d, uint32_t i, bool graceful, double now);
/* The state users see: liveness, the decommission state of a node being retired, or
 * PROTO_DN_MAINTENANCE for a node stopped gracefully within maintenance_timeout. */
uint8_t nn_dn_shown_state(const struct nn_dn *n);
/* True while node n is down for maintenance (its replicas expected back). */
bool nn_dn_in_maintenance(const struct nn_dn *n, double now);
/* Index of node id, or -1. */
int nn_dns_find(const struct nn_dns *d, const char *id);
/* The one usable node on `host` when the cluster spans several hosts (a writer running
 * on a datanode's host gets its first replica there), else -1. */
int nn_dns_on_host(const struct nn_dns *d, const char *host);
/* Applies the timeouts; calls dead_cb for each node that just became dead. */
void nn_dns_check(struct nn_dns *d, double now, void (*dead_cb)(void *arg, uint32_t i),
		  void *arg);
uint32_t nn_dns_live(const struct nn_dns *d);
bool nn_dn_is_usable(const struct nn_dn *n);
/*
 * Chooses up to `want` distinct live nodes for a new replica, none in `exclude`
 * (nexclude entries), distinct hosts first, the favored node (index, or -1) first,
 * more free space and fewer transfers preferred. Returns how many were chosen.
 */
uint32_t nn_dns_choose(struct nn_dns *d, uint32_t want, int favored, const uint32_t *exclude,
		       uint32_t nexclude, uint64_t block_size, uint32_t *out);
/* Orders replica indexes for a reader on host `client_host`: same host first, then
 * usable nodes in random order, stale ones last; dead ones are dropped. Returns count. */
uint32_t nn_dns_sort_for_reader(const struct nn_dns *d, const char *client_host,
				uint32_t *reps, uint32_t n);
/* Queues a command on node i to copy block id to targets (a pipeline, in order). */
void nn_dns_queue_replicate(struct nn_dns *d, uint32_t i, uint64_t id, uint64_t gs,
			    uint64_t len, const uint32_t *targets, uint32_t n);
/* Queues a delete command for block id on node i. */
void nn_dns_queue_delete(struct nn_dns *d, uint32_t i, uint64_t id, uint64_t gs);

#endif
