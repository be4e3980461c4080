/*
 * ns_int: the namespace's private header, shared by its files and by nothing else
 * (the public API is ns.h). Loop thread only, like every ns file:
 *
 *   ns_store.c   the on-disk format (keys, record codec), LevelDB access, the overlay
 *                and group-commit batch, open / format / close / sync, the id counters
 *   ns_path.c    path checks and resolution, stat, listings, block lists and scans
 *   ns_defer.c   creates answered before they are written (the one-commit small file)
 *   ns_mutate.c  every change to inodes, entries and block lists (create, mkdir, rename,
 *                delete, setattr, link, add_block, update, ...)
 *   ns_xattr.c   extended attributes
 *   ns_backup.c  dump (snapshot read in pieces) and restore
 *
 * ---- On-disk format ----
 *
 * One LevelDB per namenode (the name directory). Keys start with a one-byte tag; ids
 * and indexes are big-endian so that LevelDB's byte order is numeric order, and all of
 * one inode's entries, blocks or xattrs are one contiguous range (tag + ino prefix).
 *
 *   key                         value
 *   "V"                         format record: "dfs-ns" (6 bytes), u32 NN_NS_FORMAT
 *   "C"                         counters: u64 inode-number ceiling (before this
 *                               build: the next inode, which serves as one), u64
 *                               block-id ceiling, u64 genstamp ceiling (see
 *                               "Counters" in ns_store.c)
 *   "I" u64 ino                 inode: u8 record version (2), u8 type, u32 mode,
 *                               u32 uid, u32 gid, u32 nlink, u64 size, i64 mtime,
 *                               i64 atime, i64 ctime, u16 replication, u64 block_size,
 *                               u32 rdev, u8 flags, u32 nblocks, then the symlink
 *                               target as u32 length + bytes, then u64 parent
 *                               (a directory's; 0 for others; version 1, format 1,
 *                               ended before it) (nn_ns_encode_inode)
 *   "D" u64 parent, name bytes  directory entry: u64 child ino, u8 type (PROTO_T_*)
 *   "B" u64 ino, u32 index      block slot: u64 block id (0: a hole), u64 genstamp,
 *                               u64 length
 *   "X" u64 ino, name bytes     extended attribute: the raw value
 *   "U" u64 ino                 a file unlinked while a mount had it open: kept, with
 *                               nlink 0, until nn_ns_reclaim (empty value)
 *   "R"                         a namenode group member's applied log index (u64;
 *                               replog.h; written only by replog_apply, not yet wired)
 *   "Q" u64 reqid               a mutating call's first reply (retrycache.h)
 *
 * Versioning: "V" is the namespace's format version, written by nn_ns_format, checked
 * by nn_ns_open (no "V" or another magic: -ENOENT; another version: -EPROTO) and by
 * nn_ns_restore (a backup must carry this version's "V"). Inode records also carry
 * their own version byte (2), so one record type can change layout without a whole
 * new format. A change that old code cannot read bumps NN_NS_FORMAT (ns.h). Format 2
 * added the directories' parents (for inode-addressed renames); `dfs-namenode upgrade`
 * brings a format-1 namespace to it (upgrade_dir_parents, ns_store.c).
 *
 * Invariants every mutation keeps (one WriteBatch, so they hold on disk at every sync):
 *   - an inode's nlink is the number of "D" entries naming it (directories: 2 + their
 *     subdirectories); the root, inode 1, has no entry; an inode with nlink 0 has a
 *     "U" record (it is kept for an open file) and a "U" record names such an inode;
 *   - a directory's parent is the directory whose "D" entry names it (the root's is
 *     itself), so walking parents from any directory reaches the root;
 *   - a file's nblocks equals its number of "B" slots, 0..nblocks-1, and its size is
 *     the sum of their lengths;
 *   - PROTO_A_XATTRS is set exactly when the inode has an "X" record;
 *   - ns->nfiles counts "I" records and ns->nblocks the non-hole "B" slots (once
 *     nn_ns_scan_blocks has counted them at start-up).
 */
#ifndef DFS_NN_NS_INT_H
#define DFS_NN_NS_INT_H

#include <leveldb/c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ns.h"
#include "proto.h"

struct buf;
struct nn_nscache;

/* Room for the longest key ("D"/"X" + ino + a PROTO_NAME_MAX name). */
#define NN_NS_KEY_MAX (9 + PROTO_NAME_MAX + 1)
/* The length of a block key ("B" ino index) and of a block record. */
#define NN_NS_BLOCK_KEY_LEN 13
#define NN_NS_BLOCK_REC_LEN 24
/* The length of a directory entry record and of an inode-range prefix (tag + ino). */
#define NN_NS_DIRENT_REC_LEN 9
#define NN_NS_PREFIX_LEN 9

struct nn_ns {
	leveldb_t *db;
	leveldb_options_t *opts;
	leveldb_readoptions_t *ropts;
	leveldb_writeoptions_t *wopts_async, *wopts_sync;
	leveldb_filterpolicy_t *bloom;
	leveldb_cache_t *cache;
	leveldb_writebatch_t *pending; /* the turn's merged batch, replayed synced */
	struct nn_nscache *hot;        /* hot "I" and "D" records (nscache.h) */
	bool dirty;                    /* pending holds something */
	uint64_t syncs;                /* synced writes of pending (nn_ns_syncs) */
	uint64_t next_ino, next_block, next_gs;
	/* inode numbers, block ids and genstamps are reserved in ranges: "C" holds the
	 * end of the range (ceil_*), so most allocations need no write, and after a
	 * restart allocation resumes past anything that may have been handed out */
	uint64_t ceil_ino, ceil_block, ceil_gs;
	uint64_t first_ino; /* next_ino when opened: numbers below were handed out before */
	uint64_t nfiles, nblocks;
	struct nn_ns_defaults defaults;
	/* what commits changed, while tracking is on (nn_ns_track) */
	bool track;
	struct nn_ns_touch *touched;
	size_t ntouched, captouched;
	/* creates answered but not yet written (ns_defer.c), oldest first */
	struct nn_deferred **deferred;
	uint32_t ndeferred, capdeferred;
};

/* ---- ns_store.c: time, keys and records ---- */

/* Wall-clock time in ns since the epoch (inode times). */
int64_t nn_ns_now(void);

/* Each builds a key into k (room for NN_NS_KEY_MAX bytes) and returns its length. */
size_t nn_ns_key_inode(uint8_t *k, uint64_t ino);
size_t nn_ns_key_dirent(uint8_t *k, uint64_t parent, const char *name);
size_t nn_ns_key_block(uint8_t *k, uint64_t ino, uint32_t index);
size_t nn_ns_key_xattr(uint8_t *k, uint64_t ino, const char *name);
/* The prefix (tag 'D', 'B' or 'X', then ino) of every such key of one inode. */
size_t nn_ns_key_prefix(uint8_t *k, char tag, uint64_t ino);

/* Appends a's inode record to b. */
void nn_ns_encode_inode(struct buf *b, const struct nn_attr *a);
/* Decodes inode ino's record (p, n) into a; -EIO (logged) when corrupt. */
int nn_ns_decode_inode(const void *p, size_t n, uint64_t ino, struct nn_attr *a);
/* Decodes a block record into b's id, gs and len; -EIO when it has the wrong length. */
int nn_ns_decode_block(const void *v, size_t n, struct nn_blockrec *b);
/* Decodes a directory entry record's child inode; -EIO when it has the wrong length. */
int nn_ns_decode_dirent(const void *v, size_t n, uint64_t *child);
/* True when (v, n) is a format record ("dfs-ns" magic); *format gets its version. */
bool nn_ns_is_format_record(const void *v, size_t n, uint32_t *format);

/* ---- ns_store.c: reads and writes ---- */

/* Reads key k into val (reset first) through the hot cache: 0, -ENOENT or -EIO. */
int nn_ns_db_get(struct nn_ns *ns, const uint8_t *k, size_t kl, struct buf *val);

/* Puts into wb: the counters (reserving a new id range when the current one is used
 * up), an inode record, a directory entry, a block slot; or deletes an entry or slot. */
void nn_ns_put_counters(struct nn_ns *ns, leveldb_writebatch_t *wb);
void nn_ns_put_inode(leveldb_writebatch_t *wb, const struct nn_attr *a);
void nn_ns_put_dirent(leveldb_writebatch_t *wb, uint64_t parent, const char *name,
		      uint64_t child, uint8_t type);
void nn_ns_del_dirent(leveldb_writebatch_t *wb, uint64_t parent, const char *name);
void nn_ns_put_block(leveldb_writebatch_t *wb, uint64_t ino, uint32_t index,
		     const struct nn_blockrec *b);
void nn_ns_del_block(leveldb_writebatch_t *wb, uint64_t ino, uint32_t index);

/* Applies wb (taken: destroyed here) now, visible to the next read, and queues it for
 * nn_ns_sync's synced replay. 0 or -EIO (then nothing of it may be assumed applied). */
int nn_ns_commit(struct nn_ns *ns, leveldb_writebatch_t *wb);
/* Commits a changed inode record alone; out (may be NULL) gets it. */
int nn_ns_commit_inode(struct nn_ns *ns, const struct nn_attr *a, struct nn_attr *out);

/* Opens the LevelDB in dir into a new handle (caller frees with nn_ns_close); with
 * create, makes dir and a new, empty database there (an existing one: -EEXIST). */
int nn_ns_open_db(const char *dir, bool create, struct nn_ns **out);

/* ---- ns_path.c: path walking ---- */

/* The next component of *p into name (advancing *p); false at the end. */
bool nn_ns_next_name(const char **p, char name[PROTO_NAME_MAX + 1]);
/* True when nothing but slashes is left of p. */
bool nn_ns_is_last(const char *p);
/* The child inode named name in directory parent: 0, -ENOENT or -EIO. */
int nn_ns_dirent_get(struct nn_ns *ns, uint64_t parent, const char *name, uint64_t *child);
/*
 * Resolves path into *a. *parent (may be NULL) gets the directory holding the last
 * component and name that component ("" for the root). When only the last component
 * is missing, returns -ENOENT with *last_missing (may be NULL) set, so create/mkdir
 * can proceed.
 */
int nn_ns_resolve(struct nn_ns *ns, const char *path, struct nn_attr *a,
		  struct nn_attr *parent, char name[PROTO_NAME_MAX + 1], bool *last_missing);
/* Resolves the parent of path and its last name; *exists tells whether the target is
 * there (then in *target). -EBUSY for the root itself. */
int nn_ns_resolve_parent(struct nn_ns *ns, const char *path, struct nn_attr *parent,
			 char name[PROTO_NAME_MAX + 1], struct nn_attr *target, bool *exists);
/* A name in a directory, resolved: what the calls that add, remove or rename names
 * work on, whether the caller named it by path or by (directory inode, name). */
struct nn_ns_slot {
	struct nn_attr dir;            /* the directory */
	char name[PROTO_NAME_MAX + 1]; /* the name in it */
	struct nn_attr old;            /* what the name holds, when exists */
	bool exists;
};
/* path's parent directory and last name into sl; -EBUSY for the root itself. */
int nn_ns_slot_path(struct nn_ns *ns, const char *path, struct nn_ns_slot *sl);
/* name in directory dir into sl: -ENOENT when there is no inode dir, -ENOTDIR when it is
 * not a directory, nn_ns_check_name's errors for the name. */
int nn_ns_slot_at(struct nn_ns *ns, uint64_t dir, const char *name, struct nn_ns_slot *sl);
/* 1 when directory ino is dir or below it (walking the parents up), 0 when not, or
 * -errno. */
int nn_ns_is_within(struct nn_ns *ns, uint64_t ino, uint64_t dir);
/* True when directory ino has no entries. */
bool nn_ns_dir_is_empty(struct nn_ns *ns, uint64_t ino);

/* ---- ns_mutate.c ---- */

/* A new inode of type in *a, numbered from the counter, owned by uid:gid, times t. */
void nn_ns_init_child(struct nn_ns *ns, struct nn_attr *a, uint8_t type, uint32_t mode,
		      uint32_t uid, uint32_t gid, int64_t t);

/* ---- ns_defer.c: deferred creates made real when observed ---- */

/* Writes the deferred file numbered ino, if there is one, into the turn's batch: 0 when
 * it did, -ENOENT when there is none, or the commit's error. */
int nn_ns_defer_ino(struct nn_ns *ns, uint64_t ino);
/* The same for the deferred file named name in directory dir. */
int nn_ns_defer_name(struct nn_ns *ns, uint64_t dir, const char *name);
/* The same for every deferred file in directory dir (before it is listed). */
int nn_ns_defer_dir(struct nn_ns *ns, uint64_t dir);
/* Frees the table (nn_ns_close): what is in it was never saved, nor said to be. */
void nn_ns_defer_free(struct nn_ns *ns);

/* ---- ns_xattr.c ---- */

/* Deletes every extended attribute of inode ino into wb (the inode is going away). */
void nn_ns_xattr_drop_all(struct nn_ns *ns, leveldb_writebatch_t *wb, uint64_t ino);

#endif
