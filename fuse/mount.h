/*
 * mount: what the files of dfs-fuse share. The mount uses libfuse's low-level API: the
 * kernel addresses every call by node id, and a node id is the dfs inode number
 * (FUSE_ROOT_ID is the root, inode 1), so hard links are one kernel inode, renames of
 * open files change nothing, and no path is built or resolved anywhere (the namenode's
 * inode-addressed calls, proto.h). The generation is always 1: inode numbers are never
 * reused.
 *
 *   main.c    options, the session (multi-threaded, clone_fd), mount and unmount
 *   mount.c   this header's helpers and the node table (lookup counts, forget)
 *   ops.c     the operation table; entries and attributes: lookup, getattr, setattr,
 *             mknod, mkdir, symlink, link, unlink, rmdir, rename, readlink, statfs,
 *             xattrs
 *   files.c   open files: create, open, read, write, flush, fsync, release
 *   dirs.c    directory handles: opendir, readdir(plus), releasedir
 *   locks.c   POSIX and flock locks, kept by the namenode across mounts
 *   inval.c   cache callbacks: the namenode's invalidations applied to the kernel
 *   bcache.c  block lists of closed files kept while the callbacks vouch for them
 *   ofile.c   the open-file table and its write model (ofile.h)
 *
 * Node table: every entry the mount hands the kernel (lookup, create, mkdir, ...,
 * readdirplus) counts one lookup of its inode; forget gives them back and the node's
 * entry goes at zero. A node remembers whether its inode had extended attributes when
 * last seen, so the xattr probes of `ls -l` (security.selinux, ACLs) on inodes without
 * any are answered without a namenode round trip for attr_timeout.
 *
 * Threads: libfuse's workers call everything at once. The namenode connections are a
 * pool (fs_conn picks the calling thread's); the node table has its own mutex.
 */
#ifndef DFS_FUSE_MOUNT_H
#define DFS_FUSE_MOUNT_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "client.h"

#define FS_POOL_MAX 8
/* The largest file the mount makes: 16 TiB (a size past it is EFBIG). */
#define FS_FILE_MAX (1ULL << 44)

struct fs {
	struct dfs_client *pool[FS_POOL_MAX]; /* namenode connections; pool[0] is the
					       * session of locks and kept files */
	unsigned npool;
	bool read_only;
	unsigned readahead;    /* bytes of kernel read-ahead asked for at init */
	double entry_timeout;  /* seconds the kernel may keep a name */
	double attr_timeout;   /* ... and attributes (fs_attr_timeout: the one in force) */
	double negative_timeout;
	double watched_attr_timeout; /* ... attributes while cache callbacks work */
	bool no_callbacks;           /* -o nocallbacks: no session, short timeouts only */
	struct fuse_session *se;
};

/* The mount (set by main before the loop starts). */
extern struct fs *fs_the;

/* The operation table (ops.c). */
extern const struct fuse_lowlevel_ops fs_ops;

/* A namenode connection for the calling thread (threads spread over the pool). */
struct dfs_client *fs_conn(void);
/* -EROFS on a read-only mount, else 0. Every operation that changes the namespace
 * begins with it or with fs_refuse_read_only, which count the change begun. */
int fs_rofs(void);
/* On a read-only mount replies EROFS and returns true (the call ends there). */
bool fs_refuse_read_only(fuse_req_t req);

/*
 * The fresh-directory slot. The kernel follows each change of a name (create, mknod,
 * mkdir, symlink, link, unlink, rmdir) with a GETATTR of the directory (its cached
 * attributes were dropped by the change); the namenode's reply to such a change
 * carries the directory as the change left it, and the slot answers that GETATTR
 * without a round trip. States: empty -> noted (fs_fresh_dir, only when no other change
 * began on this mount since the caller's fs_mutations()) -> taken once by the GETATTR of
 * that inode, or stale when any change begins or attr_timeout passes (then the GETATTR
 * asks the namenode). Never used with attr_timeout 0.
 */
uint64_t fs_mutations(void);
void fs_fresh_dir(const struct dfs_attr *dir, uint64_t seen);
bool fs_fresh_take(uint64_t ino, struct dfs_attr *out);
/* A failure that is the cluster's, not the caller's (unreachable, protocol): logged
 * with what (the operation) and ino, and turned into EIO; other errors pass. */
int fs_fail(const char *what, uint64_t ino, int rc);
/* Replies with an error rc (-errno) through fs_fail. */
void fs_reply_err(fuse_req_t req, const char *what, uint64_t ino, int rc);
/* The same for a call on inode ino itself: ENOENT (the inode is gone, as after a rename
 * over it on another mount) becomes ESTALE, on which the kernel looks the name up
 * again and retries, as NFS clients do. */
void fs_reply_ino_err(fuse_req_t req, const char *what, uint64_t ino, int rc);
/* The stat of attributes a. */
void fs_to_stat(const struct dfs_attr *a, struct stat *st);
/* Fills e for inode a (timeouts, generation) and counts one lookup of it. */
void fs_entry(struct fuse_entry_param *e, const struct dfs_attr *a);
/* fs_entry and fuse_reply_entry, or the error when rc is not 0. */
void fs_reply_entry(fuse_req_t req, const char *what, int rc, const struct dfs_attr *a);
/* fuse_reply_attr of a (an open file's unflushed size and times overlaid). */
void fs_reply_attr(fuse_req_t req, struct dfs_attr *a);
/* The uid and gid of the process the request is for (owners of new inodes). */
void fs_caller(fuse_req_t req, uint32_t *uid, uint32_t *gid);

/* ---- cache callbacks (inval.c) ---- */

/* A new random session id (dfs_client_opts.session of every connection). */
uint64_t fs_inval_session(void);
/* Starts / stops the threads that watch for invalidations (co names the session). */
int fs_inval_start(const struct dfs_client_opts *co);
void fs_inval_stop(void);
/* True while invalidations arrive: attributes may then be cached long. */
bool fs_inval_watching(void);
/* The attribute timeout in force (watched_attr_timeout while watching). */
double fs_attr_timeout(void);
/* The kernel forgot inode ino: told to the namenode with the next watch. */
void fs_inval_forgot(uint64_t ino);

/* ---- the node table (mount.c) ---- */

/* Every inode the kernel holds, into a new *out (the caller frees); how many. */
size_t fs_node_list(uint64_t **out);

/* n more lookups of inode ino were handed to the kernel; a, when given, is its fresh
 * attributes (noted for the xattr probes). */
void fs_node_ref(uint64_t ino, uint64_t n, const struct dfs_attr *a);
/* The kernel forgot n lookups of ino. */
void fs_node_forget(uint64_t ino, uint64_t n);
/* Fresh attributes of ino were seen (getattr, setattr): noted for the xattr probes. */
void fs_node_seen(const struct dfs_attr *a);
/* True when ino was seen without extended attributes less than attr_timeout ago. */
bool fs_node_no_xattrs(uint64_t ino);
/* ino's extended attributes are changing: forget what was seen. */
void fs_node_xattrs_changed(uint64_t ino);
/* How many nodes the kernel holds (for the log at unmount). */
uint64_t fs_node_count(void);

/* ---- handlers of the other files, for the table in ops.c ---- */

/* files.c */
void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi);
void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	     struct fuse_file_info *fi);
void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	      struct fuse_file_info *fi);
void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
/* The size change of setattr: through the open file fi (may be NULL) or a new one. */
int fs_truncate(uint64_t ino, uint64_t size, struct fuse_file_info *fi);
/* dirs.c */
void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
/* locks.c */
void fs_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock);
void fs_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock,
	      int sleep);
void fs_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op);
/* The last close of a handle holding flock locks releases them (release paths). */
void fs_flock_release(uint64_t ino, struct fuse_file_info *fi);
/* close(2) by owner: its POSIX locks on ino go (flush). */
void fs_posix_release(uint64_t ino, uint64_t owner);

#endif
