/* attr: the one encoding of inode attributes (see attr.h). Any thread. */
#include "attr.h"

void attr_pack_fields(struct buf *b, const struct dfs_attr *a)
{
	pack_u8(b, a->type);
	pack_u32(b, a->mode);
	pack_u32(b, a->uid);
	pack_u32(b, a->gid);
	pack_u32(b, a->nlink);
	pack_u64(b, a->size);
	pack_i64(b, a->mtime);
	pack_i64(b, a->atime);
	pack_i64(b, a->ctime);
	pack_u16(b, a->replication);
	pack_u64(b, a->block_size);
	pack_u32(b, a->rdev);
	pack_u8(b, a->flags);
}

void attr_unpack_fields(struct unpack *u, struct dfs_attr *a)
{
	a->type = unpack_u8(u);
	a->mode = unpack_u32(u);
	a->uid = unpack_u32(u);
	a->gid = unpack_u32(u);
	a->nlink = unpack_u32(u);
	a->size = unpack_u64(u);
	a->mtime = unpack_i64(u);
	a->atime = unpack_i64(u);
	a->ctime = unpack_i64(u);
	a->replication = unpack_u16(u);
	a->block_size = unpack_u64(u);
	a->rdev = unpack_u32(u);
	a->flags = unpack_u8(u);
}

void attr_pack(struct buf *b, const struct dfs_attr *a)
{
	pack_u64(b, a->ino);
	attr_pack_fields(b, a);
}

void attr_unpack(struct unpack *u, struct dfs_attr *a)
{
	a->ino = unpack_u64(u);
	attr_unpack_fields(u, a);
}
