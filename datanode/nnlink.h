/*
 * nnlink: the datanode's control channel to the namenode, run by one thread: connect
 * and authenticate (retrying while the namenode is away), register, send a full block
 * report, then heartbeat every heartbeat_interval with capacity and load, send
 * incremental reports as soon as replicas are finalized or deleted, and carry out the
 * commands that come back on heartbeat replies.
 */
#ifndef DFS_DN_NNLINK_H
#define DFS_DN_NNLINK_H

#include "auth.h"
#include "blockstore.h"
#include "xfer.h"

struct dn_nnlink;

/* Starts the thread. namenode and advertise are HOST:PORT strings (copied). */
int dn_nnlink_start(const char *namenode, const char *advertise, double heartbeat_interval,
		    struct dn_store *store, struct dn_xfer *xfer,
		    const uint8_t key[AUTH_KEY_LEN], struct dn_nnlink **out);
/* Says goodbye to the namenode (graceful stop) and joins the thread. */
void dn_nnlink_stop(struct dn_nnlink *l);

#endif
