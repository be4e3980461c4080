/*
 * callbacks: cache coherence for the mounts -- which mount holds which inode in its
 * kernel's cache, and the invalidations a mount is sent when another client changes
 * one, as AFS callbacks and NFSv4 delegations keep their clients coherent.
 *
 * A mount is a session, a random non-zero id that each of its connections names
 * (CN_SESSION); one connection of it waits for invalidations (CN_WATCH, a long poll:
 * the namenode answers when it has some, or after NN_CB_POLL_MS with none). Replies that
 * hand a session an inode's attributes -- lookup, getattr, the create family and their
 * directory, readdir's entries, an open's block list, setattr -- note the inode as held
 * by it (nn_cb_note); CN_FORGET gives inodes back, and the root is always held. A
 * change committed by anyone else (ns.h's change tracking, drained after each call by
 * nn_cb_changes) queues for every other session holding the inode an invalidation of
 * its attributes (PROTO_INVAL_ATTR) or contents (PROTO_INVAL_DATA), and for every other
 * session holding a directory one of the entry changed in it (PROTO_INVAL_ENTRY). The
 * queue goes out as the reply of the session's waiting CN_WATCH, and the next CN_WATCH
 * acknowledges it. Only sessions heard from within the lease are sent anything (one
 * that was silent longer voided its cache); a queue past NN_CB_QUEUE_MAX becomes one
 * PROTO_INVAL_ALL.
 *
 * Holding replies: a loop turn's replies to clients (not to
 * datanodes, nor the CN_WATCH answers themselves) leave only once every
 * session with invalidations outstanding acknowledged them (nn_cb_holding), or once
 * such a session has been silent for NN_CB_LEASE_MS -- no CN_WATCH of it arrived for
 * that long. A mount voids its whole attribute cache when its CN_WATCH goes unanswered
 * for less than that (fuse/inval.c), so past the lease it trusts nothing it holds, and
 * the change may be answered. So a change closed on one mount is seen by a stat or an
 * open on another at once. In a namenode group a reply waits for both its entry's
 * commit and the acknowledgements (conn.c: whichever comes last lets it go).
 *
 * States of a session slot: FREE -> NAMED (a connection sent CN_SESSION; holds inodes)
 * -> WATCHING (its CN_WATCH waits here) -> SENT (the queue went out as the reply; the
 * next CN_WATCH acknowledges it and waits again) ... -> FREE when its last connection
 * closes (its holds are dropped). There are NN_CB_SESSIONS slots: a mount past them gets
 * no callbacks (CN_SESSION answers EBUSY) and keeps short cache timeouts.
 *
 * Threads: the namenode loop's only.
 */
#ifndef DFS_NN_CALLBACKS_H
#define DFS_NN_CALLBACKS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "ns.h"

#define NN_CB_SESSIONS 64
#define NN_CB_POLL_MS 1000
#define NN_CB_LEASE_MS 2500

struct nn_cb;

struct nn_cb *nn_cb_new(void);
void nn_cb_free(struct nn_cb *cb);

/* The slot of session id, named by one more connection (a new slot for a new id): the
 * slot, or -EBUSY when every slot is taken, -EINVAL for id 0. */
int nn_cb_session(struct nn_cb *cb, uint64_t id);
/* A connection of slot closed; the last one frees the slot. */
void nn_cb_session_gone(struct nn_cb *cb, int slot);
/* Whether any session is named (then the namespace's change tracking should be on). */
bool nn_cb_any(const struct nn_cb *cb);

/* Session slot (-1: none) now holds inode ino / no longer does. */
void nn_cb_note(struct nn_cb *cb, int slot, uint64_t ino);
void nn_cb_forget(struct nn_cb *cb, int slot, uint64_t ino);

/* Queues the invalidations for what ns's tracking noted (changes made by a call of
 * session `from`, -1 for none, whose own cache is its own to keep) and clears it. */
void nn_cb_changes(struct nn_cb *cb, struct nn_ns *ns, int from, double now);

/* CN_WATCH from slot: acked acknowledges the batch last sent. The call waits: the
 * server answers it when nn_cb_take_reply says so. now in seconds (ev_now). */
void nn_cb_watch(struct nn_cb *cb, int slot, uint64_t acked, uint64_t reqid, double now);
/* A waiting CN_WATCH of slot whose answer is due now (invalidations queued, or its
 * poll time passed): true with its reqid and the reply's payload in p (the batch is
 * then SENT); false when slot has nothing to answer yet. */
bool nn_cb_take_reply(struct nn_cb *cb, int slot, double now, uint64_t *reqid, struct buf *p);
/* The waiting CN_WATCH of slot is gone (its connection closed). */
void nn_cb_unwatch(struct nn_cb *cb, int slot);
/* True when some live session (heard from within the lease) has invalidations it has
 * not acknowledged: replies must wait. */
bool nn_cb_holding(const struct nn_cb *cb, double now);

/* For /metrics: sessions named, inodes held (over all sessions), invalidations sent. */
uint32_t nn_cb_sessions(const struct nn_cb *cb);
uint64_t nn_cb_held(const struct nn_cb *cb);
uint64_t nn_cb_sent(const struct nn_cb *cb);

#endif
