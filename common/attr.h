/*
 * attr: an inode's attributes and their one encoding. Any thread (no state).
 *
 * The wire's `attr` (proto.h) is exactly attr_pack's output: u64 ino, then the fields
 * attr_pack_fields writes -- u8 type, u32 mode, u32 uid, u32 gid, u32 nlink, u64 size,
 * i64 mtime_ns, i64 atime_ns, i64 ctime_ns, u16 replication, u64 block_size, u32 rdev,
 * u8 flags. The namenode stores the same fields in its inode records (keyed by ino, so
 * without it), the client reads them from replies, and both use these functions.
 *
 * DFS_ATTR_FIELDS lets a larger struct hold the same members by name and by layout
 * (the namenode's struct nn_attr: see ns.h), so it passes as a struct dfs_attr.
 */
#ifndef DFS_ATTR_H
#define DFS_ATTR_H

#include <stdint.h>

#include "buf.h"
#include "pack.h"

#define DFS_ATTR_FIELDS                                                                     \
	uint64_t ino;                                                                       \
	uint8_t type; /* PROTO_T_* */                                                       \
	uint32_t mode, uid, gid, nlink;                                                     \
	uint64_t size;                                                                      \
	int64_t mtime, atime, ctime; /* ns since the epoch */                               \
	uint16_t replication;                                                               \
	uint64_t block_size;                                                                \
	uint32_t rdev;                                                                      \
	uint8_t flags; /* PROTO_A_* */

struct dfs_attr {
	DFS_ATTR_FIELDS
};

/* Appends the wire `attr` of a (borrowed) to b. */
void attr_pack(struct buf *b, const struct dfs_attr *a);
/* Reads a wire `attr` into a; errors are the cursor's (check unpack_ok). */
void attr_unpack(struct unpack *u, struct dfs_attr *a);
/* The same without the inode number (the namenode's inode records). */
void attr_pack_fields(struct buf *b, const struct dfs_attr *a);
void attr_unpack_fields(struct unpack *u, struct dfs_attr *a);

#endif
