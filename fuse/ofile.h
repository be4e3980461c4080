/*
 * ofile: the mount's state of one open file (by namenode inode number, so renames and
 * unlinks of an open file do not disturb it), shared by every handle of this mount
 * that has the file open.
 *
 * Writes are copy-on-write of whole blocks. A written block is held in memory (a
 * "dirty" slot) holding the slot's whole new contents; it is stored as a new block
 * through its own pipeline (dfs_put_block) and the file switches to it with one
 * namespace update (dfs_update) -- at once when the slot is full and the switch keeps
 * the file's block list consistent (the streaming case: one block of memory per file),
 * otherwise at ofile_flush (close, fsync). Until the update the previous version stays
 * whole on the cluster, so a writer that dies mid-rewrite loses only its unflushed
 * writes. Reads see this mount's unflushed writes first, then the committed blocks.
 *
 * Threads: libfuse's workers. Each ofile has a rwlock: readers share it for datanode
 * reads; writes, truncates and flushes hold it exclusively. The table of ofiles has its
 * own mutex (ofile_table_lock).
 */
#ifndef DFS_FUSE_OFILE_H
#define DFS_FUSE_OFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "client.h"

struct ofile;

/*
 * Finds this mount's ofile of inode b->attr.ino, or makes one from b (the file's
 * attributes and blocks, fresh from the namenode: taken when used, else left to the
 * caller to free); takes a reference. c is the connection its block writes and updates
 * use (borrowed; must outlive the ofile). 0 or -errno.
 */
int ofile_get(struct dfs_client *c, struct dfs_blocks *b, struct ofile **out);
/* Drops a reference; the last one flushes (errors are logged) and frees. */
void ofile_put(struct ofile *f);

/* True when this mount has any file open. */
bool ofile_any_open(void);
/* True when this mount already has inode ino open (its state is then the newest). */
bool ofile_is_open(uint64_t ino);
/* Overlays an open file's unflushed size and times on attributes from the namenode. */
void ofile_overlay(struct dfs_attr *a);

ssize_t ofile_read(struct ofile *f, void *buf, size_t len, uint64_t off);
ssize_t ofile_write(struct ofile *f, const void *buf, size_t len, uint64_t off);
int ofile_truncate(struct ofile *f, uint64_t size);
/* Stores every unflushed write on its pipelines and switches the file to it; with sync
 * (fsync) every block of the file is on the datanodes' disks too, not just in their
 * memory (close). */
int ofile_flush(struct ofile *f, bool sync);
/* The file was just created with PROTO_CREATE_DEFER, as name in directory dir: the
 * namenode may hold it unwritten until its first update, so the first flush sends one
 * even with nothing to store (a create-and-close is durable when close returns), and
 * makes the create again (CN_RECREATE) if a restarted namenode lost it. */
void ofile_mark_unsaved(struct ofile *f, uint64_t dir, const char *name, uint32_t mode,
			uint32_t uid, uint32_t gid);
/* Flushes inode ino when this mount has it open (before a call that must follow the
 * data, such as setting its times). */
int ofile_flush_ino(uint64_t ino);
/* The file's inode number. */
uint64_t ofile_ino(const struct ofile *f);
/* The file's size as this mount sees it. */
uint64_t ofile_size(struct ofile *f);

/*
 * Remembers the version (mtime, size) of inode ino the kernel has cached;
 * ofile_version_same tells whether attr still matches it.
 */
void ofile_version_note(uint64_t ino, int64_t mtime, uint64_t size);
bool ofile_version_same(const struct dfs_attr *attr);
/* Open inode ino lost its last name and the namenode keeps it for this mount (on
 * session, the connection that unlinked it): its last close reclaims it there. */
void ofile_mark_kept(uint64_t ino, struct dfs_client *session);

#endif
