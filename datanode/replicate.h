/*
 * replicate: copies a finalized replica to other datanodes on the namenode's command
 * (re-replication), each copy on its own short-lived thread. The data is checked
 * against the replica's stored checksums as it is read, so a rotten replica is never
 * spread; the targets store it through the ordinary write pipeline and report it.
 */
#ifndef DFS_DN_REPLICATE_H
#define DFS_DN_REPLICATE_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "blockstore.h"
#include "proto.h"

#define DN_REPLICATE_MAX 16 /* copies running at once on one node */

struct dn_target {
	char id[PROTO_ID_MAX + 1];
	char addr[PROTO_ADDR_MAX + 1];
};

/* A copy whose first target is silent this long after the cluster's stale_node_timeout
 * (stale_s) fails (the namenode then schedules it elsewhere). Until called: 20 s. */
void dn_replicate_set_deadline(double stale_s);
/* Starts copying replica (id, gs, len) to targets (a pipeline, in order; copied).
 * -EBUSY when DN_REPLICATE_MAX copies already run. */
/* Refuses new copies and waits up to seconds for those in flight: true when none is
 * left (the datanode is stopping). */
bool dn_replicate_drain(double seconds);
int dn_replicate_start(struct dn_store *s, const uint8_t key[AUTH_KEY_LEN], uint64_t id,
		       uint64_t gs, uint64_t len, const struct dn_target *targets, uint32_t n);

#endif
