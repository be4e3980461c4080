/*
 * replication: keeps every block at its replication. Finds blocks below their target
 * (fewest live replicas first) and asks a live holder to copy them datanode-to-datanode;
 * finds blocks above it and deletes the excess. Loop thread only.
 *
 * Counting: a replica is live on a connected, reported, not-dead node; replicas on a
 * node down for maintenance still count while the block has two live ones. The target
 * is min(file replication, nodes that could hold it). Copies in flight are "pending"
 * (block, source, target, deadline) until the target reports the replica
 * (nn_repl_arrived) or the deadline passes (nn_repl_expire) and they are retried
 * elsewhere. Each source runs at most NN_REPL_STREAMS copies at once.
 *
 * Repairs: a node whose copy of a block was found bad (nn_repl_avoid) is not chosen
 * for that block's new copy while another usable node lacks it; only when every node
 * holds it is the copy replaced in place. The note lasts NN_REPL_AVOID_SECS.
 */
#ifndef DFS_NN_REPLICATION_H
#define DFS_NN_REPLICATION_H

#include <stdbool.h>
#include <stdint.h>

#include "blockmap.h"
#include "datanodes.h"

#define NN_REPL_STREAMS 8
#define NN_REPL_AVOID_SECS 600.0
#define NN_REPL_AVOID_MAX 4096 /* notes kept; the oldest goes first */

struct nn_repl;

struct nn_repl *nn_repl_new(void);
void nn_repl_free(struct nn_repl *r);
/* Queues REPLICATE and DELETE commands on the datanodes (nn_dn.cmds); returns how
 * many commands it queued. */
uint32_t nn_repl_schedule(struct nn_repl *r, struct nn_blockmap *bm, struct nn_dns *dns,
			  double now);
/* Datanode dn now holds block id: a copy to it is no longer pending (true if one was:
 * its source can take another). */
bool nn_repl_arrived(struct nn_repl *r, struct nn_dns *dns, uint64_t id, uint32_t dn);
/* Forgets pending copies whose deadline passed or whose nodes left; true if any. */
bool nn_repl_expire(struct nn_repl *r, struct nn_dns *dns, double now);
uint32_t nn_repl_pending(const struct nn_repl *r);
/* Datanode dn held a bad copy of block id (dropped from the map): place the block's
 * replacement elsewhere when any other node can take it. */
void nn_repl_avoid(struct nn_repl *r, uint64_t id, uint32_t dn, double now);
/* True when every block on node dn (being decommissioned) has its replication on
 * other nodes. */
bool nn_repl_decommission_done(struct nn_blockmap *bm, const struct nn_dns *dns, uint32_t dn);
/* Counts a block's replicas on live nodes and on nodes in maintenance. */
void nn_repl_count(const struct nn_block *b, const struct nn_dns *dns, double now,
		   uint32_t *live, uint32_t *maint);

#endif
