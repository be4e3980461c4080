/*
 * nnlink: the datanode's control channel to the namenode, run by one thread: connect
 * and authenticate (retrying while the namenode is away), register, send a full block
 * report, then heartbeat every heartbeat_interval with capacity and load, send
 * incremental reports as soon as replicas are finalized or deleted, and carry out the
 * commands that come back on heartbeat replies, and the compute tasks it is sent.
 */
#ifndef DFS_DN_NNLINK_H
#define DFS_DN_NNLINK_H

#include "auth.h"
#include "blockstore.h"
#include "executor.h"
#include "xfer.h"

struct dn_nnlink;

/* Starts the thread. namenode and advertise are HOST:PORT strings (copied). The node
 * offers task_slots slots to the namenode's scheduler and runs the tasks it is sent
 * with cx (NULL: no tasks); it sends cx's reports as they come and the progress of
 * running tasks with every heartbeat. key is the datanode key; the block keys the
 * namenode sends go to xfer. */
int dn_nnlink_start(const char *namenode, const char *advertise, double heartbeat_interval,
		    struct dn_store *store, struct dn_xfer *xfer, struct cx_exec *cx,
		    uint32_t task_slots, bool exec, const uint8_t key[AUTH_KEY_LEN],
		    struct dn_nnlink **out);
/* Says goodbye to the namenode (graceful stop) and joins the thread. */
void dn_nnlink_stop(struct dn_nnlink *l);

#endif
