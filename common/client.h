/*
 * client: the client library used by the `dfs` tool (and the FUSE mount): namespace
 * calls to the namenode, streaming writes through datanode pipelines, and verified
 * reads from the nearest replica.
 *
 * Thread-safety: a struct dfs_client may be shared by threads (namenode calls are
 * serialised by its mutex); a dfs_writer or dfs_reader belongs to one thread at a time.
 * (The implementation is client.c, client_ns.c, client_write.c and client_read.c;
 * client_int.h describes its locking.)
 * Errors: functions return 0 or -errno; dfs_errmsg() then gives the server's or the
 * library's explanation for the calling thread ("" when there is none).
 */
#ifndef DFS_CLIENT_H
#define DFS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "attr.h"
#include "auth.h"
#include "proto.h"
#include "token.h"

struct dfs_client;
struct dfs_writer;
struct dfs_reader;

struct dfs_client_opts {
	/* HOST:PORT, or a comma-separated list of a namenode group's members: the client
	 * talks to the leader, follows NOT_LEADER replies and fails over (client.c). */
	char namenode[PROTO_ADDR_MAX + 1];
	uint8_t key[AUTH_KEY_LEN];
	uint32_t uid, gid;                   /* identity sent in the handshake */
	char favored[PROTO_ID_MAX + 1];      /* a datanode id to hold first replicas, or "" */
	int timeout_ms; /* longest wait for a handshake or a reply; 0: 60 s */
	/* a mount's cache session (namenode/callbacks.h), named by every connection right
	 * after its handshake (CN_SESSION); 0: none */
	uint64_t session;
};

struct dfs_loc {
	char id[PROTO_ID_MAX + 1];
	char addr[PROTO_ADDR_MAX + 1];
};

struct dfs_block {
	uint64_t id, genstamp, offset, length;
	uint32_t nlocs;
	struct dfs_loc *locs; /* nearest first */
	uint8_t token[TOKEN_LEN]; /* the block access token the datanodes want */
};

struct dfs_blocks {
	struct dfs_attr attr;
	size_t n;
	struct dfs_block *v;
};

struct dfs_dn_report {
	char id[PROTO_ID_MAX + 1];
	char addr[PROTO_ADDR_MAX + 1];
	uint8_t state; /* PROTO_DN_* */
	uint64_t capacity, used, remaining, blocks;
	int64_t last_contact_ms;
	uint32_t xceivers;
	char fs_id[PROTO_FS_MAX * (PROTO_FSID_MAX + 1)]; /* its file systems ("" unknown) */
};

struct dfs_report {
	bool safe_mode;
	uint64_t capacity, used, remaining, files, blocks;
	uint64_t under_replicated, corrupt, missing;
	uint32_t ndatanodes;
	struct dfs_dn_report *datanodes;
};

struct dfs_statfs {
	uint64_t capacity, used, remaining, files, blocks;
};

/* The calling thread's last error explanation (never NULL). */
const char *dfs_errmsg(void);
/* Name of a PROTO_DN_* state ("live", "stale", "dead", ...). */
const char *dfs_dn_state_name(uint8_t state);

/* Connects and authenticates. -EACCES for a wrong key. Caller frees with dfs_close. */
int dfs_connect(const struct dfs_client_opts *opts, struct dfs_client **out);
void dfs_close(struct dfs_client *c);

int dfs_stat(struct dfs_client *c, const char *path, struct dfs_attr *out);
int dfs_mkdir(struct dfs_client *c, const char *path, uint32_t mode, bool parents,
	      struct dfs_attr *out);
/* Calls cb for every entry of directory path, in name order; a non-zero return stops. */
typedef int (*dfs_list_cb)(void *arg, const char *name, const struct dfs_attr *attr);
int dfs_list(struct dfs_client *c, const char *path, dfs_list_cb cb, void *arg);
int dfs_rename(struct dfs_client *c, const char *src, const char *dst, uint32_t flags);
int dfs_delete(struct dfs_client *c, const char *path, bool recursive);
/* Removes an empty directory: ENOTDIR when path is something else, ENOTEMPTY. */
int dfs_rmdir(struct dfs_client *c, const char *path);
int dfs_setrep(struct dfs_client *c, const char *path, uint16_t replication,
	       struct dfs_attr *out);
int dfs_statfs(struct dfs_client *c, struct dfs_statfs *out);
/* Asks the namenode for its liveness settings and the datanodes that are not live
 * (CN_LIVENESS) and hands them to this process's health table (health.h), which the
 * datanode deadlines and replica choices follow. dfs_connect does it once; a long-lived
 * client (the mount) calls it every heartbeat. A namenode without CN_LIVENESS: 0,
 * nothing changes. */
int dfs_refresh_liveness(struct dfs_client *c);
/* Caller frees with dfs_report_free. */
int dfs_report(struct dfs_client *c, struct dfs_report *out);
void dfs_report_free(struct dfs_report *r);
/* Blocks of path overlapping [offset, offset+len) (len 0: to the end); caller frees
 * with dfs_blocks_free. */
int dfs_get_blocks(struct dfs_client *c, const char *path, uint64_t offset, uint64_t len,
		   struct dfs_blocks *out);
void dfs_blocks_free(struct dfs_blocks *b);

/*
 * POSIX calls (the FUSE mount). The *_as / uid, gid forms name the owner of the new
 * inode; the namenode honours them only from a root client.
 */
int dfs_mkdir_as(struct dfs_client *c, const char *path, uint32_t mode, uint32_t uid,
		 uint32_t gid, struct dfs_attr *out);
/* Creates a complete empty file (no lease: it is written by block updates). */
int dfs_create_closed(struct dfs_client *c, const char *path, uint32_t mode, bool overwrite,
		      uint32_t uid, uint32_t gid, struct dfs_attr *out);
int dfs_symlink(struct dfs_client *c, const char *path, const char *target, uint32_t uid,
		uint32_t gid, struct dfs_attr *out);
int dfs_mknod(struct dfs_client *c, const char *path, uint8_t type, uint32_t mode,
	      uint32_t rdev, uint32_t uid, uint32_t gid, struct dfs_attr *out);
int dfs_link(struct dfs_client *c, const char *existing, const char *newpath,
	     struct dfs_attr *out);
/* valid: PROTO_SET_*; times in ns. */
int dfs_setattr(struct dfs_client *c, const char *path, uint32_t valid, uint32_t mode,
		uint32_t uid, uint32_t gid, int64_t atime, int64_t mtime, struct dfs_attr *out);
/* The symlink's target into out (NUL-terminated, truncated to size). */
int dfs_readlink(struct dfs_client *c, const char *path, char *out, size_t size);
struct buf;
/* flags: PROTO_XATTR_*. get and list fill out (a struct buf, reset first); list gives
 * NUL-terminated names. */
int dfs_setxattr(struct dfs_client *c, const char *path, const char *name, const void *value,
		 size_t len, uint32_t flags);
int dfs_getxattr(struct dfs_client *c, const char *path, const char *name, struct buf *out);
int dfs_listxattr(struct dfs_client *c, const char *path, struct buf *out);
int dfs_removexattr(struct dfs_client *c, const char *path, const char *name);
/* Like dfs_get_blocks, by inode number (follows a file across renames). */
int dfs_file_blocks(struct dfs_client *c, uint64_t ino, uint64_t offset, uint64_t len,
		    struct dfs_blocks *out);
/* An advisory lock (see namenode/locks.h): kind PROTO_LOCK_POSIX or _FLOCK, type
 * PROTO_LOCK_READ, _WRITE or _UNLOCK, bytes [start, end] (end UINT64_MAX: to EOF). */
struct dfs_lock {
	uint8_t kind, type;
	uint64_t start, end;
	uint32_t pid;
};
/* Takes or releases lock l of owner on inode ino for this connection: -EAGAIN when
 * another owner's lock conflicts. */
int dfs_setlk(struct dfs_client *c, uint64_t ino, uint64_t owner, const struct dfs_lock *l);
/* Finds a lock of another owner conflicting with l: 1 (in *conflict) or 0. */
int dfs_getlk(struct dfs_client *c, uint64_t ino, uint64_t owner, const struct dfs_lock *l,
	      struct dfs_lock *conflict);
/* After a broken connection, the next call opens a new one instead of failing
 * (for long-lived clients such as the mount; off by default). */
void dfs_set_reconnect(struct dfs_client *c, bool on);
/* From another thread: the call c is in (a long poll, say) ends now, and every later
 * one fails at once, with ECANCELED. c stays to be closed by its owner. */
void dfs_interrupt(struct dfs_client *c);

/*
 * Copy-on-write of whole blocks (random writes): dfs_put_block stores data as a new
 * free-standing block of file ino through a pipeline (recovering from failed nodes),
 * on the datanodes' disks when sync, else in their memory (dfs_sync_block later);
 * dfs_update then switches the file to its new block list in one step. Blocks put but
 * never used by an update are deleted when the connection closes.
 */
struct dfs_stored {
	uint64_t id, genstamp;
	uint32_t n;
	struct dfs_loc *nodes;    /* the nodes that stored it */
	uint8_t token[TOKEN_LEN]; /* lets its writer read and sync it */
};
int dfs_put_block(struct dfs_client *c, uint64_t ino, const void *data, size_t len, bool sync,
		  struct dfs_stored *out);
void dfs_stored_free(struct dfs_stored *s);
/*
 * The streaming form of dfs_put_block over a caller's buffer `base` (borrowed; it must
 * not move or change below the length told, until finish or abort): dfs_block_extend
 * says the block now holds len bytes there and streams the full packets down the
 * pipeline (synced on the datanodes, unless finish says otherwise before anything went
 * out); dfs_block_finish stores the rest and frees w (dfs_writer_abort gives up).
 * At most max_len bytes in all.
 */
int dfs_block_writer(struct dfs_client *c, uint64_t ino, const void *base, uint64_t max_len,
		     struct dfs_writer **out);
int dfs_block_extend(struct dfs_writer *w, size_t len);
int dfs_block_finish(struct dfs_writer *w, bool sync, struct dfs_stored *out);
/* A fresh block access token for block (id, gs) in modes (TOKEN_READ/TOKEN_WRITE):
 * reads and syncs ask for one themselves when a datanode refuses an expired token. */
int dfs_block_token(struct dfs_client *c, uint64_t id, uint64_t gs, uint8_t modes,
		    uint8_t out[TOKEN_LEN]);
/* Puts every replica of a finished block on its datanode's disk (fsync): 0 when at
 * least one replica is synced. */
int dfs_sync_block(struct dfs_client *c, const struct dfs_block *b);

struct dfs_change {
	uint32_t index;            /* slot in the file */
	uint64_t old_id;           /* the block seen there (0: a new slot) */
	uint64_t len;
	struct dfs_stored stored;  /* borrowed; id 0 = a hole of len zero bytes */
};
/* The file becomes nblocks long with these slots changed and size bytes in all; every
 * slot but the last holds exactly block_size bytes. -ESTALE when another writer
 * changed one of the slots first. */
int dfs_update(struct dfs_client *c, uint64_t ino, uint64_t size, uint32_t nblocks,
	       const struct dfs_change *ch, size_t n, struct dfs_attr *out);

/* One raw request to the namenode and its reply payload (rep, reset first): for the
 * message families whose layouts live outside this library (jobs, compute/job.h).
 * An error reply gives -errno with the server's message in dfs_errmsg(). */
int dfs_call(struct dfs_client *c, uint16_t type, const struct buf *req, struct buf *rep);

/* Tells the namenode that datanode dn's replica of a block is bad (PROTO_BAD_*). */
int dfs_bad_block(struct dfs_client *c, uint64_t id, uint64_t genstamp, const char *dn,
		  uint8_t why);

struct dfs_fsck_problem {
	char *path, *what;
};

struct dfs_fsck {
	uint64_t files, blocks, under_replicated, over_replicated, corrupt, missing;
	uint32_t nproblems;
	struct dfs_fsck_problem *problems;
};

/* Checks every file below path; caller frees with dfs_fsck_free. */
int dfs_fsck(struct dfs_client *c, const char *path, struct dfs_fsck *out);
void dfs_fsck_free(struct dfs_fsck *f);
/* Starts (on) or ends (!on) the decommissioning of datanode id. */
int dfs_decommission(struct dfs_client *c, const char *id, bool on);
/* Gets or changes (PROTO_SAFEMODE_*) the namenode's safe mode. */
/* A namenode's place in its group (CN_GROUP_STATUS; any member answers). */
struct dfs_group_status {
	bool in_group;
	uint32_t raft_id;
	char state[32], role[32]; /* group.h's state ("single" out of a group), Raft's */
	uint64_t term, commit_index, applied_index;
	char leader[PROTO_ADDR_MAX + 1]; /* the leader's client address, "" if unknown */
};
int dfs_group_status(struct dfs_client *c, struct dfs_group_status *out);
int dfs_safemode(struct dfs_client *c, uint8_t action, bool *on, uint64_t *reported,
		 uint64_t *total);

/*
 * The same calls addressed by inode (the mount; proto.h's PROTO_CN_INODE_MESSAGES): a
 * name is (dir inode, name), a file its inode number, and no path is resolved. uid and
 * gid own a new inode when the caller connected as root (else the caller does); flags
 * of dfs_create_at are PROTO_CREATE_*; dfs_unlink_at's flags are PROTO_DELETE_DIR (rmdir)
 * and PROTO_DELETE_KEEP (the caller has the file open: it lives on, nameless, until
 * dfs_reclaim on the same connection or until that connection closes), and gone gets
 * the inode as the name left it (nlink 0: that was its last name). dir_after (may be
 * NULL) of dfs_unlink_at and of the calls that make a name gets the directory as the
 * change left it (ino 0 when the namenode did not say).
 */
int dfs_lookup(struct dfs_client *c, uint64_t dir, const char *name, struct dfs_attr *out);
int dfs_getattr(struct dfs_client *c, uint64_t ino, struct dfs_attr *out);
int dfs_readlink_ino(struct dfs_client *c, uint64_t ino, char *out, size_t size);
int dfs_setattr_ino(struct dfs_client *c, uint64_t ino, uint32_t valid, uint32_t mode,
		    uint32_t uid, uint32_t gid, int64_t atime, int64_t mtime,
		    struct dfs_attr *out);
int dfs_mkdir_at(struct dfs_client *c, uint64_t dir, const char *name, uint32_t mode,
		 uint32_t uid, uint32_t gid, struct dfs_attr *out, struct dfs_attr *dir_after);
int dfs_create_at(struct dfs_client *c, uint64_t dir, const char *name, uint32_t mode,
		  uint8_t flags, uint16_t replication, uint64_t block_size, uint32_t uid,
		  uint32_t gid, struct dfs_attr *out, struct dfs_attr *dir_after);
/* CN_RECREATE: a deferred create (PROTO_CREATE_DEFER) the namenode lost, made again with
 * its inode number ino. */
int dfs_recreate(struct dfs_client *c, uint64_t ino, uint64_t dir, const char *name,
		 uint32_t mode, uint16_t replication, uint64_t block_size, uint32_t uid,
		 uint32_t gid, struct dfs_attr *out);
int dfs_mknod_at(struct dfs_client *c, uint64_t dir, const char *name, uint8_t type,
		 uint32_t mode, uint32_t rdev, uint32_t uid, uint32_t gid, struct dfs_attr *out,
		 struct dfs_attr *dir_after);
int dfs_symlink_at(struct dfs_client *c, uint64_t dir, const char *name, const char *target,
		   uint32_t uid, uint32_t gid, struct dfs_attr *out, struct dfs_attr *dir_after);
int dfs_link_at(struct dfs_client *c, uint64_t ino, uint64_t dir, const char *name,
		struct dfs_attr *out, struct dfs_attr *dir_after);
int dfs_unlink_at(struct dfs_client *c, uint64_t dir, const char *name, uint8_t flags,
		  struct dfs_attr *gone, struct dfs_attr *dir_after);
int dfs_reclaim(struct dfs_client *c, uint64_t ino);
/* kept (may be NULL) gets the inode of a file the rename replaced and, with
 * PROTO_RENAME_KEEP, the namenode keeps for this connection (0: none). */
int dfs_rename_at(struct dfs_client *c, uint64_t sdir, const char *sname, uint64_t ddir,
		  const char *dname, uint32_t flags, uint64_t *kept);
/* Every entry of directory dir, in name order, a page of 1024 at a time. */
int dfs_readdir(struct dfs_client *c, uint64_t dir, dfs_list_cb cb, void *arg);
int dfs_setxattr_ino(struct dfs_client *c, uint64_t ino, const char *name, const void *value,
		     size_t len, uint32_t flags);
int dfs_getxattr_ino(struct dfs_client *c, uint64_t ino, const char *name, struct buf *out);
int dfs_listxattr_ino(struct dfs_client *c, uint64_t ino, struct buf *out);
int dfs_removexattr_ino(struct dfs_client *c, uint64_t ino, const char *name);

/*
 * Creates path and returns a writer. replication / block_size 0 take the directory's
 * or the cluster's default. Data is stored only when dfs_writer_close returns 0: then
 * every byte is on every node of its block's pipeline.
 */
int dfs_create(struct dfs_client *c, const char *path, uint32_t mode, bool overwrite,
	       uint16_t replication, uint64_t block_size, struct dfs_writer **out);
int dfs_write(struct dfs_writer *w, const void *data, size_t len);
/* The file will hold `total` bytes from w's start (a regular file's size): a block
 * that will hold less than the block size asks the namenode for only that much room. */
void dfs_writer_expect(struct dfs_writer *w, uint64_t total);
/* Finishes the file and frees w (also on error). */
int dfs_writer_close(struct dfs_writer *w);
/* Gives up: the file stays with what was completed; frees w. */
void dfs_writer_abort(struct dfs_writer *w);

/* Opens path for reading. Caller frees with dfs_reader_close. */
int dfs_open(struct dfs_client *c, const char *path, struct dfs_reader **out);
const struct dfs_attr *dfs_reader_attr(const struct dfs_reader *r);
/* Reads up to len bytes at off; returns bytes read (0 at end of file) or -errno. */
ssize_t dfs_pread(struct dfs_reader *r, void *buf, size_t len, uint64_t off);
/* Streams the whole file to fd. progress (may be NULL) is called with bytes so far. */
int dfs_read_to_fd(struct dfs_reader *r, int fd, void (*progress)(void *arg, uint64_t done),
		   void *arg);
void dfs_reader_close(struct dfs_reader *r);
/* A reader with no file: only for dfs_read_block. */
int dfs_reader_new(struct dfs_client *c, struct dfs_reader **out);
/* Reads [off, off+len) of block b (a hole reads as zeros) into buf, verified, from the
 * first replica that serves it. */
int dfs_read_block(struct dfs_reader *r, const struct dfs_block *b, uint64_t off,
		   uint64_t len, void *buf);

#endif
