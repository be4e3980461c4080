/*
 * locks: advisory file locks held for clients (the FUSE mounts' flock and fcntl
 * locks), so that locks hold across mounts. Soft state in RAM: a namenode restart
 * drops every lock, as a crashed NFS server's lock manager does, and a session's
 * locks go when its connection closes (nn_locks_drop_session). Loop thread only.
 *
 * A lock belongs to (session, owner): the session is the client connection, the
 * owner the mount's lock owner (a process's file table for POSIX locks, an open file
 * for flock). POSIX (fcntl) locks cover byte ranges and a later lock of the same owner
 * replaces the overlap; flock locks cover the whole file. The two kinds never
 * conflict with each other, as on Linux.
 */
#ifndef DFS_NN_LOCKS_H
#define DFS_NN_LOCKS_H

#include <stdbool.h>
#include <stdint.h>

#define NN_LOCKS_MAX 100000 /* all sessions together: beyond, ENOLCK */

struct nn_lock {
	uint64_t ino;
	uint64_t session, owner;
	uint64_t start, end; /* inclusive; end UINT64_MAX = to the end of the file */
	uint32_t pid;        /* the holder's pid, for F_GETLK (on its own host) */
	uint8_t kind;        /* PROTO_LOCK_POSIX or PROTO_LOCK_FLOCK */
	uint8_t type;        /* PROTO_LOCK_READ, PROTO_LOCK_WRITE or PROTO_LOCK_UNLOCK */
};

struct nn_locks {
	struct nn_lock *v;
	uint32_t n, cap;
};

/* A lock of another owner that conflicts with want (true, copied to *conflict). */
bool nn_locks_test(const struct nn_locks *t, const struct nn_lock *want,
		   struct nn_lock *conflict);
/* Takes (or with PROTO_LOCK_UNLOCK releases) a lock: -EAGAIN when another owner's
 * lock conflicts, -ENOLCK when the table is full, else 0. */
int nn_locks_set(struct nn_locks *t, const struct nn_lock *l);
/* Releases every lock of a session (its connection closed). */
void nn_locks_drop_session(struct nn_locks *t, uint64_t session);
void nn_locks_free(struct nn_locks *t);

#endif
