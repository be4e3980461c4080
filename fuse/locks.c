/*
 * locks: POSIX (fcntl) and flock locks, kept by the namenode so that they hold across
 * mounts (namenode/locks.h). All of this mount's locks travel on one connection,
 * pool[0]: that connection is the mount's lock session, and its locks go with it when
 * the mount goes away. A blocking request (F_SETLKW, flock without LOCK_NB) polls,
 * backing off to 50 ms, until it gets the lock or the caller is interrupted.
 *
 * close(2) drops the closing owner's POSIX locks on the file (fs_posix_release, from
 * flush); to keep that free for the files this mount never locked, the inodes it
 * took POSIX locks on are remembered in a small set (a miss costs nothing, a stale hit
 * one needless unlock).
 */
#include "mount.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/file.h>
#include <unistd.h>

#define LOCKED_SLOTS 4096
static struct {
	pthread_mutex_t lock;
	uint64_t ino[LOCKED_SLOTS];
} locked = {PTHREAD_MUTEX_INITIALIZER, {0}};

static void locked_note(uint64_t ino)
{
	pthread_mutex_lock(&locked.lock);
	locked.ino[ino % LOCKED_SLOTS] = ino;
	pthread_mutex_unlock(&locked.lock);
}

static bool locked_maybe(uint64_t ino)
{
	pthread_mutex_lock(&locked.lock);
	bool hit = locked.ino[ino % LOCKED_SLOTS] == ino;
	pthread_mutex_unlock(&locked.lock);
	return hit;
}

static struct dfs_client *session(void) { return fs_the->pool[0]; }

static int lock_wait(fuse_req_t req, uint64_t ino, uint64_t owner, const struct dfs_lock *l)
{
	useconds_t delay = 1000;
	for (;;) {
		int rc = dfs_setlk(session(), ino, owner, l);
		if (rc != -EAGAIN)
			return rc;
		if (fuse_req_interrupted(req))
			return -EINTR;
		usleep(delay);
		if (delay < 50000)
			delay *= 2;
	}
}

/* The dfs lock of a struct flock; -EINVAL for a bad range. */
static int from_flock(const struct flock *fl, struct dfs_lock *l)
{
	*l = (struct dfs_lock){.kind = PROTO_LOCK_POSIX, .pid = (uint32_t)fl->l_pid};
	l->type = fl->l_type == F_RDLCK ? PROTO_LOCK_READ
		  : fl->l_type == F_WRLCK ? PROTO_LOCK_WRITE : PROTO_LOCK_UNLOCK;
	if (fl->l_start < 0 || fl->l_len < 0)
		return -EINVAL;
	l->start = (uint64_t)fl->l_start;
	l->end = fl->l_len ? l->start + (uint64_t)fl->l_len - 1 : UINT64_MAX;
	return 0;
}

void fs_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *fl)
{
	struct dfs_lock l, o;
	int rc = from_flock(fl, &l);
	if (!rc)
		rc = dfs_getlk(session(), ino, fi->lock_owner, &l, &o);
	if (rc < 0)
		return fs_reply_err(req, "getlk", ino, rc);
	if (rc == 1) {
		fl->l_type = o.type == PROTO_LOCK_READ ? F_RDLCK : F_WRLCK;
		fl->l_whence = SEEK_SET;
		fl->l_start = (off_t)o.start;
		fl->l_len = o.end == UINT64_MAX ? 0 : (off_t)(o.end - o.start + 1);
		fl->l_pid = (pid_t)o.pid;
	} else {
		fl->l_type = F_UNLCK;
	}
	fuse_reply_lock(req, fl);
}

void fs_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *fl,
	      int sleep)
{
	struct dfs_lock l;
	int rc = from_flock(fl, &l);
	if (!rc && l.type != PROTO_LOCK_UNLOCK)
		locked_note(ino);
	if (!rc)
		rc = sleep ? lock_wait(req, ino, fi->lock_owner, &l)
			   : dfs_setlk(session(), ino, fi->lock_owner, &l);
	if (rc < 0)
		return fs_reply_err(req, "setlk", ino, rc);
	fuse_reply_err(req, 0);
}

void fs_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
	struct dfs_lock l = {.kind = PROTO_LOCK_FLOCK, .start = 0, .end = UINT64_MAX};
	int how = op & ~LOCK_NB;
	l.type = how == LOCK_SH ? PROTO_LOCK_READ : how == LOCK_EX ? PROTO_LOCK_WRITE
								  : PROTO_LOCK_UNLOCK;
	int rc = (op & LOCK_NB) || how == LOCK_UN
			 ? dfs_setlk(session(), ino, fi->lock_owner, &l)
			 : lock_wait(req, ino, fi->lock_owner, &l);
	if (rc == -EAGAIN)
		rc = -EWOULDBLOCK;
	if (rc < 0)
		return fs_reply_err(req, "flock", ino, rc);
	fuse_reply_err(req, 0);
}

void fs_flock_release(uint64_t ino, struct fuse_file_info *fi)
{
	if (!fi->flock_release)
		return;
	struct dfs_lock l = {.kind = PROTO_LOCK_FLOCK, .type = PROTO_LOCK_UNLOCK,
			     .start = 0, .end = UINT64_MAX};
	dfs_setlk(session(), ino, fi->lock_owner, &l);
}

void fs_posix_release(uint64_t ino, uint64_t owner)
{
	if (!locked_maybe(ino))
		return;
	struct dfs_lock l = {.kind = PROTO_LOCK_POSIX, .type = PROTO_LOCK_UNLOCK,
			     .start = 0, .end = UINT64_MAX};
	dfs_setlk(session(), ino, owner, &l);
}
