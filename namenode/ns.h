/*
 * ns: the namespace -- inodes, directory entries, per-file block lists, extended
 * attributes -- persisted in LevelDB. Owned by the namenode's loop thread (no locks).
 * The implementation is split by concern (ns_store.c, ns_path.c, ns_mutate.c,
 * ns_xattr.c, ns_backup.c) around a private header, ns_int.h, which also documents
 * the on-disk records and the format version ("V" record, NN_NS_FORMAT below).
 *
 * Durability and group commit: every mutation is applied at once without sync, so the
 * very next request sees it, and queued into the loop turn's merged batch;
 * nn_ns_sync() writes that batch synced -- one fsync for every mutation of the turn --
 * and the server holds every reply of the turn until it returns, so a crash loses
 * nothing that was answered. The id and generation-stamp counters travel in the same
 * batch as the mutation that used them. (Details: ns_store.c.)
 *
 * The root directory is inode 1. Hard links are several entries naming one inode
 * (nlink counts them); symlink targets and device numbers live in the inode record.
 * A directory's replication / block_size (0 = unset) are inherited by new children.
 */
#ifndef DFS_NN_NS_H
#define DFS_NN_NS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attr.h"
#include "proto.h"

/* The namespace format this build writes and reads (the "V" record, ns_int.h). */
#define NN_NS_FORMAT 2
#define NN_ROOT_INO 1

struct nn_ns;

/* An inode: the attributes every client sees (attr.h; `base` is them as a struct
 * dfs_attr, for attr_pack), and what only the namenode keeps. */
struct nn_attr {
	union {
		struct {
			DFS_ATTR_FIELDS
		};
		struct dfs_attr base;
	};
	uint32_t nblocks;
	uint64_t parent;   /* a directory's parent (the root's is itself); 0 for others */
	char target[4096]; /* symlink target */
};

struct nn_blockrec {
	uint64_t id, gs, len;
	uint64_t offset; /* in the file (filled by nn_ns_blocks) */
	uint64_t ino;
	uint32_t index;
};

/* A growable array of block records; zero-initialise, free with nn_blocks_free. */
struct nn_blocks {
	struct nn_blockrec *v;
	size_t n, cap;
};
void nn_blocks_push(struct nn_blocks *b, const struct nn_blockrec *r);
void nn_blocks_free(struct nn_blocks *b);

/* Defaults applied to new files whose directories set none. */
struct nn_ns_defaults {
	uint16_t replication;
	uint64_t block_size;
};

/* Creates an empty namespace in dir (must not hold one: -EEXIST). */
int nn_ns_format(const char *dir);
/* Opens dir; -ENOENT when not formatted, -EUCLEAN when its format is older than
 * NN_NS_FORMAT (run nn_ns_upgrade first: never upgraded silently), -EPROTONOSUPPORT when
 * newer; each logged with both versions. */
int nn_ns_open(const char *dir, const struct nn_ns_defaults *defaults, struct nn_ns **out);
/*
 * `dfs-namenode upgrade`: brings the namespace in dir from an older format to
 * NN_NS_FORMAT, one step at a time (each step one synced batch, the "V" record in it).
 * *from gets the format found. 0 when done or already current; -ENOENT when dir holds
 * no namespace, -EPROTONOSUPPORT when it is newer, -ENOTSUP when no step leads from its
 * format (why explains).
 */
int nn_ns_upgrade(const char *dir, uint32_t *from, struct buf *why);
void nn_ns_close(struct nn_ns *ns);
/* Forgets what memory holds of the store (the hot-record cache, the counters, the
 * counts) and reads it again: after another writer (a namenode group's log, group.h)
 * changed the LevelDB underneath. Blocks are counted again by nn_ns_scan_blocks. */
int nn_ns_refresh(struct nn_ns *ns);

/* True when mutations are waiting for nn_ns_sync. */
bool nn_ns_dirty(const struct nn_ns *ns);
/* Makes every mutation so far durable (one synced write). 0 or -EIO. */
int nn_ns_sync(struct nn_ns *ns);

uint64_t nn_ns_files(const struct nn_ns *ns); /* files + directories + others */
uint64_t nn_ns_block_count(const struct nn_ns *ns);

/*
 * Operations. Paths are absolute; each returns 0 or -errno (ENOENT, EEXIST, ENOTDIR,
 * EISDIR, ENOTEMPTY, EINVAL, ENAMETOOLONG ...). `out` (may be NULL) receives the
 * resulting attributes; `freed` (may be NULL) receives blocks that no file uses any
 * more (the caller removes them from datanodes).
 */
int nn_ns_stat(struct nn_ns *ns, const char *path, struct nn_attr *out);
int nn_ns_stat_ino(struct nn_ns *ns, uint64_t ino, struct nn_attr *out);
int nn_ns_mkdir(struct nn_ns *ns, const char *path, uint32_t mode, bool parents,
		uint32_t uid, uint32_t gid, struct nn_attr *out);
int nn_ns_create(struct nn_ns *ns, const char *path, uint32_t mode, bool overwrite,
		 uint16_t replication, uint64_t block_size, uint32_t uid, uint32_t gid,
		 struct nn_attr *out, struct nn_blocks *freed);
/* Sets the last block's length to prev_len (when prev_id names it) and appends a new
 * block with a fresh id and genstamp; the file must be under construction. */
int nn_ns_add_block(struct nn_ns *ns, uint64_t ino, uint64_t prev_id, uint64_t prev_len,
		    struct nn_blockrec *newb, struct nn_attr *out);
/* Drops the file's last block when it is block_id (a failed pipeline). */
int nn_ns_abandon_block(struct nn_ns *ns, uint64_t ino, uint64_t block_id,
			struct nn_blocks *freed);
/* Records the last block's length and closes the file. */
int nn_ns_complete(struct nn_ns *ns, uint64_t ino, uint64_t last_id, uint64_t last_len,
		   struct nn_attr *out);
/* The blocks of a file overlapping [offset, offset+len) (len 0 = to the end). */
int nn_ns_blocks(struct nn_ns *ns, uint64_t ino, uint64_t offset, uint64_t len,
		 struct nn_blocks *out);
typedef int (*nn_ns_list_cb)(void *arg, const char *name, const struct nn_attr *attr);
/* Calls cb for up to max entries after start_after in name order; *more is set when
 * entries remain. cb returning non-zero stops the listing with that value. */
int nn_ns_list(struct nn_ns *ns, const char *path, const char *start_after, uint32_t max,
	       nn_ns_list_cb cb, void *arg, bool *more);
/* Calls cb for every entry of directory path in name order, however many (paging
 * inside); cb must not change the namespace. */
int nn_ns_list_all(struct nn_ns *ns, const char *path, nn_ns_list_cb cb, void *arg);
int nn_ns_rename(struct nn_ns *ns, const char *src, const char *dst, uint32_t flags,
		 struct nn_blocks *freed);
int nn_ns_delete(struct nn_ns *ns, const char *path, bool recursive, struct nn_blocks *freed);
/* Sets a file's replication, or a directory's default for new files. */
int nn_ns_setrep(struct nn_ns *ns, uint64_t ino, uint16_t replication, struct nn_attr *out);
/* Calls cb for every block of every file (start-up: building the block map). */
typedef void (*nn_ns_block_cb)(void *arg, const struct nn_blockrec *b, uint16_t replication);
int nn_ns_scan_blocks(struct nn_ns *ns, nn_ns_block_cb cb, void *arg);
/* Calls cb for every file still under construction (start-up: their writers' leases
 * did not survive the restart, so they go to lease recovery). */
typedef void (*nn_ns_ino_cb)(void *arg, uint64_t ino);
int nn_ns_scan_open_files(struct nn_ns *ns, nn_ns_ino_cb cb, void *arg);

/*
 * POSIX attribute changes. `valid` is a mask of PROTO_SET_*; times are ns since the
 * epoch. Changing the size is not done here (see nn_ns_update).
 */
int nn_ns_setattr(struct nn_ns *ns, const char *path, uint32_t valid, uint32_t mode,
		  uint32_t uid, uint32_t gid, int64_t atime, int64_t mtime, struct nn_attr *out);
/* Creates a symlink at path pointing to target (at most PROTO_PATH_MAX bytes). */
int nn_ns_symlink(struct nn_ns *ns, const char *path, const char *target, uint32_t uid,
		  uint32_t gid, struct nn_attr *out);
/* Creates a FIFO, socket or device node (type PROTO_T_*; files and dirs have their own
 * calls). */
int nn_ns_mknod(struct nn_ns *ns, const char *path, uint8_t type, uint32_t mode,
		uint32_t rdev, uint32_t uid, uint32_t gid, struct nn_attr *out);
/* Adds newpath as another name of existing (not a directory: EPERM). */
int nn_ns_link(struct nn_ns *ns, const char *existing, const char *newpath,
	       struct nn_attr *out);

/*
 * The same calls addressed by inode, for the mount (libfuse's low-level API): a name
 * in a directory is (dir inode, name), a file is its inode number, and no path is
 * resolved, so no path length applies. A name is 1..PROTO_NAME_MAX bytes without '/'
 * and is not "." or "..": -EINVAL or -ENAMETOOLONG (nn_ns_check_name). A dir that is
 * no inode gives -ENOENT, one that is not a directory -ENOTDIR. Inode numbers are
 * never reused (the counter only grows), so an inode number alone names one file for
 * the namespace's whole life.
 */
int nn_ns_check_name(const char *name);
/* The inode named name in directory dir: 0 or -ENOENT. */
int nn_ns_lookup(struct nn_ns *ns, uint64_t dir, const char *name, struct nn_attr *out);
/* One new directory (no -p): -EEXIST when the name is taken. */
int nn_ns_mkdir_at(struct nn_ns *ns, uint64_t dir, const char *name, uint32_t mode,
		   uint32_t uid, uint32_t gid, struct nn_attr *out);
int nn_ns_create_at(struct nn_ns *ns, uint64_t dir, const char *name, uint32_t mode,
		    bool overwrite, uint16_t replication, uint64_t block_size, uint32_t uid,
		    uint32_t gid, struct nn_attr *out, struct nn_blocks *freed);
/*
 * Deferred creates (ns_defer.c), the one-commit small file. nn_ns_create_deferred makes
 * the checks of a create of an empty closed file at (dir, name) and answers with its
 * attributes -- a new inode number -- but writes nothing: the file is held in memory,
 * invisible, until it is observed or changed. Whatever reads its name (a lookup, a
 * create or rename there), its inode (a stat, an update of its blocks) or its
 * directory (a listing, an emptiness check) first writes it into the turn's batch, as
 * the create it is. So a file created, given its first block (CN_UPDATE) and closed
 * costs one sync, and nobody can tell the create was late. Deferred files of an owner
 * (a connection) that goes away are forgotten (nn_ns_defer_drop): nobody was told they
 * were saved. -EAGAIN when the create cannot be deferred (the name is taken, the table
 * is full): make it the usual way.
 *
 * States of a deferred file: ANSWERED (in the table) -> WRITTEN (observed or changed:
 * out of the table, an ordinary file) or -> FORGOTTEN (its owner went away).
 */
int nn_ns_create_deferred(struct nn_ns *ns, uint64_t dir, const char *name, uint32_t mode,
			  uint16_t replication, uint64_t block_size, uint32_t uid, uint32_t gid,
			  uint64_t owner, struct nn_attr *out);
/* CN_RECREATE: inode ino, deferred by an earlier namenode (a number below this one's
 * first), defers again at (dir, name) as nn_ns_create_deferred would (its times now).
 * 0 also when ino is there already, deferred or written (out gets it); -ENOENT when
 * ino is this namenode's own to hand out (then it was deleted, or its creator went
 * away), -EEXIST when the name is taken. One window is left: a deferred file that an
 * observer wrote and then deleted under the earlier namenode, just before it died, is
 * made again by its writer's close (the number alone cannot tell it from a lost one). */
int nn_ns_redefer(struct nn_ns *ns, uint64_t ino, uint64_t dir, const char *name, uint32_t mode,
		  uint16_t replication, uint64_t block_size, uint32_t uid, uint32_t gid,
		  uint64_t owner, struct nn_attr *out);
/* Directory d's times as writing the deferred file a moves them: to a's creation time,
 * unless d changed after it. */
void nn_ns_defer_touch_dir(struct nn_attr *d, const struct nn_attr *a);
/* nn_ns_stat_ino that also answers for a deferred file, without writing it. */
int nn_ns_peek_ino(struct nn_ns *ns, uint64_t ino, struct nn_attr *out);
/* Forgets owner's deferred files. */
void nn_ns_defer_drop(struct nn_ns *ns, uint64_t owner);
/*
 * Change tracking, for the mounts' cache callbacks (callbacks.h): with it on, each
 * committed record is noted as what it changed -- an inode's attributes ('I': its
 * record, its extended attributes or its kept mark), its contents ('B': a block slot),
 * or an entry in directory ino ('D', with the name) -- until nn_ns_touched_clear.
 */
struct nn_ns_touch {
	uint64_t ino;
	char kind; /* 'I', 'B' or 'D' */
	char name[PROTO_NAME_MAX + 1]; /* 'D' only */
};
void nn_ns_track(struct nn_ns *ns, bool on);
size_t nn_ns_touched(const struct nn_ns *ns, const struct nn_ns_touch **out);
void nn_ns_touched_clear(struct nn_ns *ns);
/* How many synced writes nn_ns_sync has made (one per loop turn with changes). */
uint64_t nn_ns_syncs(const struct nn_ns *ns);
/* How many creates are deferred now. */
uint32_t nn_ns_deferred(const struct nn_ns *ns);
int nn_ns_symlink_at(struct nn_ns *ns, uint64_t dir, const char *name, const char *target,
		     uint32_t uid, uint32_t gid, struct nn_attr *out);
int nn_ns_mknod_at(struct nn_ns *ns, uint64_t dir, const char *name, uint8_t type,
		   uint32_t mode, uint32_t rdev, uint32_t uid, uint32_t gid, struct nn_attr *out);
/* Adds (dir, name) as another name of inode ino. */
int nn_ns_link_at(struct nn_ns *ns, uint64_t ino, uint64_t dir, const char *name,
		  struct nn_attr *out);
/* unlink(2) (a directory gives -EISDIR) or, with NN_UNLINK_DIR, rmdir(2) (a
 * non-directory gives -ENOTDIR, a non-empty one -ENOTEMPTY). With NN_UNLINK_KEEP a
 * file losing its last name is kept, with nlink 0, until nn_ns_reclaim: a mount has it
 * open (POSIX: an unlinked file lives until its last close). gone (may be NULL) gets
 * the inode as the name left it: nlink 0 when that was its last name. */
#define NN_UNLINK_DIR 0x1
#define NN_UNLINK_KEEP 0x2
int nn_ns_unlink_at(struct nn_ns *ns, uint64_t dir, const char *name, uint32_t flags,
		    struct nn_blocks *freed, struct nn_attr *gone);
/* Deletes a kept inode (NN_UNLINK_KEEP) at its last close: -ENOENT when ino is not
 * kept (any more). Its blocks go to freed. */
int nn_ns_reclaim(struct nn_ns *ns, uint64_t ino, struct nn_blocks *freed);
/* Calls cb for every kept inode (start-up: no mount's open survives a restart). */
int nn_ns_scan_kept(struct nn_ns *ns, nn_ns_ino_cb cb, void *arg);
/* rename(2) with PROTO_RENAME_* flags, as nn_ns_rename; moving a directory into itself
 * or below it is -EINVAL, checked by walking the directories' parents. With
 * PROTO_RENAME_KEEP a file replaced and so losing its last name is kept, as
 * NN_UNLINK_KEEP keeps it. */
int nn_ns_rename_at(struct nn_ns *ns, uint64_t sdir, const char *sname, uint64_t ddir,
		    const char *dname, uint32_t flags, struct nn_blocks *freed);
int nn_ns_setattr_ino(struct nn_ns *ns, uint64_t ino, uint32_t valid, uint32_t mode,
		      uint32_t uid, uint32_t gid, int64_t atime, int64_t mtime,
		      struct nn_attr *out);
int nn_ns_list_ino(struct nn_ns *ns, uint64_t dir, const char *start_after, uint32_t max,
		   nn_ns_list_cb cb, void *arg, bool *more);

/* Extended attributes: names up to PROTO_NAME_MAX bytes, values up to NN_XATTR_MAX.
 * flags: PROTO_XATTR_CREATE (EEXIST if set) / PROTO_XATTR_REPLACE (ENODATA if not). */
#define NN_XATTR_MAX 65536
int nn_ns_xattr_set(struct nn_ns *ns, const char *path, const char *name, const void *value,
		    size_t len, uint32_t flags);
/* Appends the value to out (a struct buf *, reset first); -ENODATA when unset. */
struct buf;
int nn_ns_xattr_get(struct nn_ns *ns, const char *path, const char *name, struct buf *out);
/* Appends every name, each NUL-terminated, to out (reset first). */
int nn_ns_xattr_list(struct nn_ns *ns, const char *path, struct buf *out);
int nn_ns_xattr_remove(struct nn_ns *ns, const char *path, const char *name);
/* ... and by inode */
int nn_ns_xattr_set_ino(struct nn_ns *ns, uint64_t ino, const char *name, const void *value,
			size_t len, uint32_t flags);
int nn_ns_xattr_get_ino(struct nn_ns *ns, uint64_t ino, const char *name, struct buf *out);
int nn_ns_xattr_list_ino(struct nn_ns *ns, uint64_t ino, struct buf *out);
int nn_ns_xattr_remove_ino(struct nn_ns *ns, uint64_t ino, const char *name);

/* Sets a directory's block size for new files (0 = unset), or an empty file's. */
int nn_ns_set_block_size(struct nn_ns *ns, uint64_t ino, uint64_t block_size,
			 struct nn_attr *out);

/* Reserves a fresh block id and generation stamp (for a block not yet in any file). */
int nn_ns_alloc_block(struct nn_ns *ns, uint64_t *id, uint64_t *gs);

/* One block slot changed by nn_ns_update: slot `index` gets block new_id (0 = a hole:
 * len zero bytes stored nowhere) of len bytes; old_id is what the writer saw there
 * (0 for a slot past the old end). */
struct nn_ns_change {
	uint32_t index;
	uint64_t old_id, new_id, gs, len;
};

/*
 * Switches a closed file to a new version in one step: its block list becomes
 * nblocks long (slots past it dropped), the changed slots take their new blocks, and
 * its size becomes `size` (which must equal the sum of the block lengths). A slot
 * whose block is no longer old_id fails the whole update with -ESTALE (someone else
 * rewrote it); a file still being written by a streaming writer gives -EBUSY.
 * Replaced and dropped blocks go to freed.
 */
int nn_ns_update(struct nn_ns *ns, uint64_t ino, uint64_t size, uint32_t nblocks,
		 const struct nn_ns_change *ch, size_t n, struct nn_blocks *freed,
		 struct nn_attr *out);

/*
 * Backups (dfs admin backup): a consistent snapshot of every record, read in pieces
 * while the namenode keeps serving. Each record is appended to out as u32 key length,
 * key, u32 value length, value; nn_ns_dump_next returns how many it appended (0: done).
 */
struct nn_ns_dump;
int nn_ns_dump_start(struct nn_ns *ns, struct nn_ns_dump **out);
uint32_t nn_ns_dump_next(struct nn_ns_dump *d, struct buf *out, size_t max_bytes);
void nn_ns_dump_end(struct nn_ns_dump *d);
/* Creates a namespace in dir (which must hold none: -EEXIST) from records given by next
 * (1 with a record, 0 at the end, -errno) and syncs it. */
int nn_ns_restore(const char *dir,
		  int (*next)(void *arg, struct buf *key, struct buf *value), void *arg);

/* Checks a path: absolute, no empty/./.. components, lengths within limits. */
int nn_ns_check_path(const char *path);

#endif
