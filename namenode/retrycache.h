/*
 * retrycache: the first outcome of each mutating call, kept so that a call retried
 * after its reply was lost (the namenode killed after the change was durable, before
 * the reply left; a broken connection; later, a failover) gets that outcome again
 * instead of being applied twice -- HDFS's RetryCache, kept in the namespace's LevelDB
 * so that it survives the restart that lost the reply.
 *
 * A client marks a call PROTO_F_RETRY_ID when its reqid names the call uniquely (a
 * random 40-bit client id, then a 24-bit call number: common/client_int.h) and stays
 * the same on every attempt. The dispatcher (optable.c) asks nn_rc_replay before running such a call;
 * after it ran, nn_rc_record keeps its reply frame when the reply said success --
 * unless the outcome lives in the call's connection only (a deferred create, a block
 * handed out by CN_ALLOC_BLOCK: the handler sets nn_server.rc_skip). A retry comes on
 * another connection, where that outcome is gone with the first, so it runs anew.
 *
 * Record: key "Q" u64 reqid (ns_int.h), value u16 type, u32 crc32c of the request's
 * payload, i64 time (seconds), then the reply frame (header and payload) as sent.
 * The record goes into the same LevelDB batch as the call's change (the loop turn's
 * merged batch), so it is durable exactly when the change is, and it travels in a
 * namenode group's log entries with it. A retry whose type or payload differs is not a
 * retry (a reused id): it runs as a new call.
 *
 * States of a record: absent -> kept (nn_rc_record) -> replayed any number of times
 * -> expired after `retry_cache_seconds` (nn_rc_expire, from the server's tick, in
 * time order from an in-memory queue that nn_rc_open rebuilds from the records).
 *
 * Threads: the namenode loop's only.
 */
#ifndef DFS_NN_RETRYCACHE_H
#define DFS_NN_RETRYCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ns.h"
#include "proto.h"

struct nn_rc;

/* Loads the queue of kept records from ns (deleting those older than keep seconds). */
int nn_rc_open(struct nn_ns *ns, double keep, int64_t now, struct nn_rc **out);
void nn_rc_close(struct nn_rc *rc);
/* A call h (its payload) already answered: appends its first reply frame to out and
 * returns true. */
bool nn_rc_replay(struct nn_rc *rc, const struct proto_hdr *h, const void *payload,
		  struct buf *out);
/* Keeps the reply frame (len bytes) of call h if its status is success. */
void nn_rc_record(struct nn_rc *rc, const struct proto_hdr *h, const void *payload,
		  const void *frame, size_t len, int64_t now);
/* Deletes the records older than keep seconds; returns how many. */
uint64_t nn_rc_expire(struct nn_rc *rc, int64_t now);
/* Records kept, and replies replayed since the start (for /metrics). */
uint64_t nn_rc_size(const struct nn_rc *rc);
uint64_t nn_rc_replays(const struct nn_rc *rc);

#endif
