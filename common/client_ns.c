/*
 * client_ns: the namespace calls of the client library -- one request stub per
 * namenode message (stat, mkdir, list, rename, xattrs, locks, block lists, reports,
 * fsck, safe mode, the copy-on-write update), and their inode-addressed forms for the
 * mount (lookup, getattr, *_at, *_ino, readdir). Each packs its request, makes one
 * client_call and decodes the reply; the layouts are in proto.h.
 *
 * Threads: any (a stub keeps no state; client_call serialises the connection).
 */
#include "client.h"
#include "client_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes a reply (u positioned at its start) into arg: 0 or -errno; a value > 0
 * passes through (call_lock's answer). */
typedef int (*reply_fn)(struct unpack *u, void *arg);

/* A call whose reply dec decodes; -EPROTO when the reply is short or malformed (the
 * cursor's error flag). Frees req. */
static int call_reply(struct dfs_client *c, uint16_t type, struct buf *req, reply_fn dec,
		      void *arg)
{
	struct buf rep = BUF_INIT;
	int rc = client_call(c, type, req, &rep);
	if (!rc) {
		struct unpack u;
		unpack_init(&u, rep.data, rep.len);
		rc = dec(&u, arg);
		if (rc >= 0 && !unpack_ok(&u))
			rc = -EPROTO;
	}
	buf_free(&rep);
	buf_free(req);
	return rc;
}

static int call_void(struct dfs_client *c, uint16_t type, struct buf *req)
{
	struct buf rep = BUF_INIT;
	int rc = client_call(c, type, req, &rep);
	buf_free(&rep);
	buf_free(req);
	return rc;
}

int dfs_stat(struct dfs_client *c, const char *path, struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	return client_call_attr(c, PROTO_CN_STAT, &req, out);
}

int dfs_mkdir(struct dfs_client *c, const char *path, uint32_t mode, bool parents,
	      struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_u32(&req, mode);
	pack_u8(&req, parents ? PROTO_MKDIR_PARENTS : 0);
	return client_call_attr(c, PROTO_CN_MKDIR, &req, out);
}

int dfs_mkdir_as(struct dfs_client *c, const char *path, uint32_t mode, uint32_t uid,
		 uint32_t gid, struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_u32(&req, mode);
	pack_u8(&req, 0);
	pack_u32(&req, uid);
	pack_u32(&req, gid);
	return client_call_attr(c, PROTO_CN_MKDIR, &req, out);
}

int dfs_create_closed(struct dfs_client *c, const char *path, uint32_t mode, bool overwrite,
		      uint32_t uid, uint32_t gid, struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_u32(&req, mode);
	pack_u8(&req, PROTO_CREATE_CLOSED | (overwrite ? PROTO_CREATE_OVERWRITE : 0));
	pack_u16(&req, 0);
	pack_u64(&req, 0);
	pack_str(&req, "");
	pack_u32(&req, uid);
	pack_u32(&req, gid);
	return client_call_attr(c, PROTO_CN_CREATE, &req, out);
}

int dfs_symlink(struct dfs_client *c, const char *path, const char *target, uint32_t uid,
		uint32_t gid, struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_str(&req, target);
	pack_u32(&req, uid);
	pack_u32(&req, gid);
	return client_call_attr(c, PROTO_CN_SYMLINK, &req, out);
}

int dfs_mknod(struct dfs_client *c, const char *path, uint8_t type, uint32_t mode,
	      uint32_t rdev, uint32_t uid, uint32_t gid, struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_u8(&req, type);
	pack_u32(&req, mode);
	pack_u32(&req, rdev);
	pack_u32(&req, uid);
	pack_u32(&req, gid);
	return client_call_attr(c, PROTO_CN_MKNOD, &req, out);
}

int dfs_link(struct dfs_client *c, const char *existing, const char *newpath,
	     struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, existing);
	pack_str(&req, newpath);
	return client_call_attr(c, PROTO_CN_LINK, &req, out);
}

/* CN_SETATTR's fields after its path (CN_SETATTR_INO's after its inode); makes the
 * call. */
static int call_setattr(struct dfs_client *c, uint16_t type, struct buf *req, uint32_t valid,
			uint32_t mode, uint32_t uid, uint32_t gid, int64_t atime, int64_t mtime,
			struct dfs_attr *out)
{
	pack_u32(req, valid);
	pack_u32(req, mode);
	pack_u32(req, uid);
	pack_u32(req, gid);
	pack_i64(req, atime);
	pack_i64(req, mtime);
	return client_call_attr(c, type, req, out);
}

int dfs_setattr(struct dfs_client *c, const char *path, uint32_t valid, uint32_t mode,
		uint32_t uid, uint32_t gid, int64_t atime, int64_t mtime, struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	return call_setattr(c, PROTO_CN_SETATTR, &req, valid, mode, uid, gid, atime, mtime, out);
}

int dfs_setattr_ino(struct dfs_client *c, uint64_t ino, uint32_t valid, uint32_t mode,
		    uint32_t uid, uint32_t gid, int64_t atime, int64_t mtime,
		    struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_u64(&req, ino);
	return call_setattr(c, PROTO_CN_SETATTR_INO, &req, valid, mode, uid, gid, atime, mtime,
			    out);
}

struct str_out {
	char *p;
	size_t size;
};

static int get_str(struct unpack *u, void *arg)
{
	struct str_out *s = arg;
	unpack_str(u, s->p, s->size);
	return 0;
}

int dfs_readlink(struct dfs_client *c, const char *path, char *out, size_t size)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	struct str_out s = {out, size};
	return call_reply(c, PROTO_CN_READLINK, &req, get_str, &s);
}

int dfs_readlink_ino(struct dfs_client *c, uint64_t ino, char *out, size_t size)
{
	struct buf req = BUF_INIT;
	pack_u64(&req, ino);
	struct str_out s = {out, size};
	return call_reply(c, PROTO_CN_READLINK_INO, &req, get_str, &s);
}

/* A call whose reply is "u32 n, n bytes", appended to out (reset first). */
static int get_bytes(struct unpack *u, void *arg)
{
	struct buf *out = arg;
	uint32_t n = unpack_u32(u);
	const void *v = unpack_raw(u, n);
	if (!unpack_ok(u))
		return -EPROTO;
	buf_reset(out);
	buf_add(out, v, n);
	return 0;
}

static int call_bytes(struct dfs_client *c, uint16_t type, struct buf *req, struct buf *out)
{
	return call_reply(c, type, req, get_bytes, out);
}

/* The head of an xattr request: the inode by path, or by number when path is NULL
 * (the _INO types), then the name when there is one; returns the request type. */
static uint16_t pack_xattr_head(struct buf *req, uint16_t type, const char *path,
				uint64_t ino, const char *name)
{
	if (path)
		pack_str(req, path);
	else
		pack_u64(req, ino);
	if (name)
		pack_str(req, name);
	return path ? type : (uint16_t)(type - PROTO_CN_SETXATTR + PROTO_CN_SETXATTR_INO);
}

static int setxattr_(struct dfs_client *c, const char *path, uint64_t ino, const char *name,
		     const void *value, size_t len, uint32_t flags)
{
	struct buf req = BUF_INIT;
	uint16_t type = pack_xattr_head(&req, PROTO_CN_SETXATTR, path, ino, name);
	pack_u32(&req, flags);
	pack_u32(&req, (uint32_t)len);
	pack_raw(&req, value, len);
	return call_void(c, type, &req);
}

static int getxattr_(struct dfs_client *c, const char *path, uint64_t ino, const char *name,
		     struct buf *out)
{
	struct buf req = BUF_INIT;
	uint16_t type = pack_xattr_head(&req, PROTO_CN_GETXATTR, path, ino, name);
	return call_bytes(c, type, &req, out);
}

static int listxattr_(struct dfs_client *c, const char *path, uint64_t ino, struct buf *out)
{
	struct buf req = BUF_INIT;
	uint16_t type = pack_xattr_head(&req, PROTO_CN_LISTXATTR, path, ino, NULL);
	return call_bytes(c, type, &req, out);
}

static int removexattr_(struct dfs_client *c, const char *path, uint64_t ino, const char *name)
{
	struct buf req = BUF_INIT;
	uint16_t type = pack_xattr_head(&req, PROTO_CN_REMOVEXATTR, path, ino, name);
	return call_void(c, type, &req);
}

int dfs_setxattr(struct dfs_client *c, const char *path, const char *name, const void *value,
		 size_t len, uint32_t flags)
{
	return setxattr_(c, path, 0, name, value, len, flags);
}

int dfs_getxattr(struct dfs_client *c, const char *path, const char *name, struct buf *out)
{
	return getxattr_(c, path, 0, name, out);
}

int dfs_listxattr(struct dfs_client *c, const char *path, struct buf *out)
{
	return listxattr_(c, path, 0, out);
}

int dfs_removexattr(struct dfs_client *c, const char *path, const char *name)
{
	return removexattr_(c, path, 0, name);
}

int dfs_setxattr_ino(struct dfs_client *c, uint64_t ino, const char *name, const void *value,
		     size_t len, uint32_t flags)
{
	return setxattr_(c, NULL, ino, name, value, len, flags);
}

int dfs_getxattr_ino(struct dfs_client *c, uint64_t ino, const char *name, struct buf *out)
{
	return getxattr_(c, NULL, ino, name, out);
}

int dfs_listxattr_ino(struct dfs_client *c, uint64_t ino, struct buf *out)
{
	return listxattr_(c, NULL, ino, out);
}

int dfs_removexattr_ino(struct dfs_client *c, uint64_t ino, const char *name)
{
	return removexattr_(c, NULL, ino, name);
}

struct lock_reply {
	uint8_t kind;
	struct dfs_lock *conflict; /* or NULL */
};

/* "u8 conflict, [u8 type, u64 start, u64 end, u32 pid]": 1 when there is one. */
static int get_lock(struct unpack *u, void *arg)
{
	struct lock_reply *r = arg;
	int found = unpack_u8(u);
	if (found && r->conflict) {
		r->conflict->kind = r->kind;
		r->conflict->type = unpack_u8(u);
		r->conflict->start = unpack_u64(u);
		r->conflict->end = unpack_u64(u);
		r->conflict->pid = unpack_u32(u);
	}
	return found;
}

static int call_lock(struct dfs_client *c, uint64_t ino, uint64_t owner,
		     const struct dfs_lock *l, bool test, struct dfs_lock *conflict)
{
	struct buf req = BUF_INIT;
	pack_u64(&req, ino);
	pack_u64(&req, owner);
	pack_u8(&req, l->kind);
	pack_u8(&req, l->type);
	pack_u64(&req, l->start);
	pack_u64(&req, l->end);
	pack_u32(&req, l->pid);
	pack_u8(&req, test);
	struct lock_reply r = {l->kind, conflict};
	return call_reply(c, PROTO_CN_LOCK, &req, get_lock, &r);
}

int dfs_setlk(struct dfs_client *c, uint64_t ino, uint64_t owner, const struct dfs_lock *l)
{
	int rc = call_lock(c, ino, owner, l, false, NULL);
	return rc > 0 ? 0 : rc;
}

int dfs_getlk(struct dfs_client *c, uint64_t ino, uint64_t owner, const struct dfs_lock *l,
	      struct dfs_lock *conflict)
{
	return call_lock(c, ino, owner, l, true, conflict);
}

int dfs_setrep(struct dfs_client *c, const char *path, uint16_t replication,
	       struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_u16(&req, replication);
	return client_call_attr(c, PROTO_CN_SETREP, &req, out);
}

int dfs_rename(struct dfs_client *c, const char *src, const char *dst, uint32_t flags)
{
	struct buf req = BUF_INIT;
	pack_str(&req, src);
	pack_str(&req, dst);
	pack_u32(&req, flags);
	return call_void(c, PROTO_CN_RENAME, &req);
}

int dfs_delete(struct dfs_client *c, const char *path, bool recursive)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_u8(&req, recursive ? PROTO_DELETE_RECURSIVE : 0);
	return call_void(c, PROTO_CN_DELETE, &req);
}

int dfs_rmdir(struct dfs_client *c, const char *path)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_u8(&req, PROTO_DELETE_DIR);
	return call_void(c, PROTO_CN_DELETE, &req);
}

/* Every entry of directory path (or inode dir when path is NULL), a page at a time. */
static int list_all(struct dfs_client *c, const char *path, uint64_t dir, dfs_list_cb cb,
		    void *arg)
{
	char after[PROTO_NAME_MAX + 1] = "";
	struct buf req = BUF_INIT, rep = BUF_INIT;
	int rc;
	for (;;) {
		buf_reset(&req);
		if (path)
			pack_str(&req, path);
		else
			pack_u64(&req, dir);
		pack_str(&req, after);
		pack_u32(&req, 1024);
		rc = client_call(c, path ? PROTO_CN_LIST : PROTO_CN_READDIR, &req, &rep);
		if (rc)
			break;
		struct unpack u;
		unpack_init(&u, rep.data, rep.len);
		uint32_t n = unpack_count(&u, 60);
		for (uint32_t i = 0; i < n && !rc; i++) {
			struct dfs_attr a;
			unpack_str(&u, after, sizeof after);
			client_get_attr(&u, &a);
			if (!unpack_ok(&u))
				break;
			rc = cb(arg, after, &a);
		}
		bool more = unpack_u8(&u);
		if (!rc && !unpack_ok(&u))
			rc = -EPROTO;
		if (rc || !more)
			break;
	}
	buf_free(&req);
	buf_free(&rep);
	return rc;
}

int dfs_list(struct dfs_client *c, const char *path, dfs_list_cb cb, void *arg)
{
	return list_all(c, path, 0, cb, arg);
}

int dfs_readdir(struct dfs_client *c, uint64_t dir, dfs_list_cb cb, void *arg)
{
	return list_all(c, NULL, dir, cb, arg);
}

/* ---- the rest of the inode-addressed calls ---- */

static void pack_at(struct buf *req, uint64_t dir, const char *name)
{
	pack_u64(req, dir);
	pack_str(req, name);
}

int dfs_lookup(struct dfs_client *c, uint64_t dir, const char *name, struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_at(&req, dir, name);
	return client_call_attr(c, PROTO_CN_LOOKUP, &req, out);
}

int dfs_getattr(struct dfs_client *c, uint64_t ino, struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_u64(&req, ino);
	return client_call_attr(c, PROTO_CN_GETATTR, &req, out);
}

/* Appends the [ids] owner of a new inode and makes the call. */
struct unlinked {
	struct dfs_attr *gone, *dir;
};

static int get_unlinked(struct unpack *u, void *arg)
{
	struct unlinked *r = arg;
	client_get_attr(u, r->gone);
	if (r->dir) /* the directory after the change, when the namenode sent it */
		r->dir->ino = 0;
	if (r->dir && unpack_ok(u) && u->left)
		client_get_attr(u, r->dir);
	return 0;
}

/* A call that makes a name: the new inode in out, and in dir_after (may be NULL) the
 * directory as the change left it (ino 0 when the namenode did not say). */
static int call_new_inode(struct dfs_client *c, uint16_t type, struct buf *req, uint32_t uid,
			  uint32_t gid, struct dfs_attr *out, struct dfs_attr *dir_after)
{
	pack_u32(req, uid);
	pack_u32(req, gid);
	struct dfs_attr a;
	struct unlinked r = {out ? out : &a, dir_after};
	return call_reply(c, type, req, get_unlinked, &r);
}

int dfs_mkdir_at(struct dfs_client *c, uint64_t dir, const char *name, uint32_t mode,
		 uint32_t uid, uint32_t gid, struct dfs_attr *out, struct dfs_attr *dir_after)
{
	struct buf req = BUF_INIT;
	pack_at(&req, dir, name);
	pack_u32(&req, mode);
	return call_new_inode(c, PROTO_CN_MKDIR_AT, &req, uid, gid, out, dir_after);
}

int dfs_create_at(struct dfs_client *c, uint64_t dir, const char *name, uint32_t mode,
		  uint8_t flags, uint16_t replication, uint64_t block_size, uint32_t uid,
		  uint32_t gid, struct dfs_attr *out, struct dfs_attr *dir_after)
{
	struct buf req = BUF_INIT;
	pack_at(&req, dir, name);
	pack_u32(&req, mode);
	pack_u8(&req, flags);
	pack_u16(&req, replication);
	pack_u64(&req, block_size);
	pack_str(&req, "");
	return call_new_inode(c, PROTO_CN_CREATE_AT, &req, uid, gid, out, dir_after);
}

int dfs_recreate(struct dfs_client *c, uint64_t ino, uint64_t dir, const char *name,
		 uint32_t mode, uint16_t replication, uint64_t block_size, uint32_t uid,
		 uint32_t gid, struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_u64(&req, ino);
	pack_at(&req, dir, name);
	pack_u32(&req, mode);
	pack_u16(&req, replication);
	pack_u64(&req, block_size);
	return call_new_inode(c, PROTO_CN_RECREATE, &req, uid, gid, out, NULL);
}

int dfs_mknod_at(struct dfs_client *c, uint64_t dir, const char *name, uint8_t type,
		 uint32_t mode, uint32_t rdev, uint32_t uid, uint32_t gid, struct dfs_attr *out,
		 struct dfs_attr *dir_after)
{
	struct buf req = BUF_INIT;
	pack_at(&req, dir, name);
	pack_u8(&req, type);
	pack_u32(&req, mode);
	pack_u32(&req, rdev);
	return call_new_inode(c, PROTO_CN_MKNOD_AT, &req, uid, gid, out, dir_after);
}

int dfs_symlink_at(struct dfs_client *c, uint64_t dir, const char *name, const char *target,
		   uint32_t uid, uint32_t gid, struct dfs_attr *out, struct dfs_attr *dir_after)
{
	struct buf req = BUF_INIT;
	pack_at(&req, dir, name);
	pack_str(&req, target);
	return call_new_inode(c, PROTO_CN_SYMLINK_AT, &req, uid, gid, out, dir_after);
}

int dfs_link_at(struct dfs_client *c, uint64_t ino, uint64_t dir, const char *name,
		struct dfs_attr *out, struct dfs_attr *dir_after)
{
	struct buf req = BUF_INIT;
	pack_u64(&req, ino);
	pack_at(&req, dir, name);
	struct dfs_attr a;
	struct unlinked r = {out ? out : &a, dir_after};
	return call_reply(c, PROTO_CN_LINK_AT, &req, get_unlinked, &r);
}

int dfs_unlink_at(struct dfs_client *c, uint64_t dir, const char *name, uint8_t flags,
		  struct dfs_attr *gone, struct dfs_attr *dir_after)
{
	struct buf req = BUF_INIT;
	pack_at(&req, dir, name);
	pack_u8(&req, flags);
	struct dfs_attr g;
	struct unlinked r = {gone ? gone : &g, dir_after};
	return call_reply(c, PROTO_CN_UNLINK_AT, &req, get_unlinked, &r);
}

int dfs_reclaim(struct dfs_client *c, uint64_t ino)
{
	struct buf req = BUF_INIT;
	pack_u64(&req, ino);
	return call_void(c, PROTO_CN_RECLAIM, &req);
}

static int get_u64(struct unpack *u, void *arg)
{
	*(uint64_t *)arg = unpack_u64(u);
	return 0;
}

int dfs_rename_at(struct dfs_client *c, uint64_t sdir, const char *sname, uint64_t ddir,
		  const char *dname, uint32_t flags, uint64_t *kept)
{
	struct buf req = BUF_INIT;
	pack_at(&req, sdir, sname);
	pack_at(&req, ddir, dname);
	pack_u32(&req, flags);
	uint64_t k = 0;
	int rc = call_reply(c, PROTO_CN_RENAME_AT, &req, get_u64, &k);
	if (kept)
		*kept = rc ? 0 : k;
	return rc;
}

static int get_statfs(struct unpack *u, void *arg)
{
	struct dfs_statfs *s = arg;
	s->capacity = unpack_u64(u);
	s->used = unpack_u64(u);
	s->remaining = unpack_u64(u);
	s->files = unpack_u64(u);
	s->blocks = unpack_u64(u);
	return 0;
}

int dfs_statfs(struct dfs_client *c, struct dfs_statfs *out)
{
	struct buf req = BUF_INIT;
	return call_reply(c, PROTO_CN_STATFS, &req, get_statfs, out);
}

static int get_report(struct unpack *u, void *arg)
{
	struct dfs_report *r = arg;
	r->safe_mode = unpack_u8(u);
	r->capacity = unpack_u64(u);
	r->used = unpack_u64(u);
	r->remaining = unpack_u64(u);
	r->files = unpack_u64(u);
	r->blocks = unpack_u64(u);
	r->under_replicated = unpack_u64(u);
	r->corrupt = unpack_u64(u);
	r->missing = unpack_u64(u);
	r->ndatanodes = unpack_count(u, 50);
	r->datanodes = calloc(r->ndatanodes + 1, sizeof *r->datanodes);
	if (!r->datanodes)
		return -ENOMEM;
	for (uint32_t i = 0; i < r->ndatanodes; i++) {
		struct dfs_dn_report *d = &r->datanodes[i];
		unpack_str(u, d->id, sizeof d->id);
		unpack_str(u, d->addr, sizeof d->addr);
		d->state = unpack_u8(u);
		d->capacity = unpack_u64(u);
		d->used = unpack_u64(u);
		d->remaining = unpack_u64(u);
		d->blocks = unpack_u64(u);
		d->last_contact_ms = unpack_i64(u);
		d->xceivers = unpack_u32(u);
	}
	if (u->left) { /* the file systems, in the same order */
		uint32_t n = unpack_count(u, 4);
		for (uint32_t i = 0; i < n && i < r->ndatanodes; i++)
			unpack_str(u, r->datanodes[i].fs_id, sizeof r->datanodes[i].fs_id);
	}
	return 0;
}

int dfs_report(struct dfs_client *c, struct dfs_report *out)
{
	memset(out, 0, sizeof *out);
	struct buf req = BUF_INIT;
	int rc = call_reply(c, PROTO_CN_REPORT, &req, get_report, out);
	if (rc)
		dfs_report_free(out);
	return rc;
}

void dfs_report_free(struct dfs_report *r)
{
	free(r->datanodes);
	r->datanodes = NULL;
	r->ndatanodes = 0;
}

static int get_blocks(struct unpack *u, void *arg)
{
	struct dfs_blocks *out = arg;
	client_get_attr(u, &out->attr);
	uint32_t n = unpack_count(u, 36);
	out->v = calloc(n + 1, sizeof *out->v);
	if (!out->v)
		return -ENOMEM;
	int rc = 0;
	for (uint32_t i = 0; i < n && !rc; i++) {
		struct dfs_block *b = &out->v[i];
		b->id = unpack_u64(u);
		b->genstamp = unpack_u64(u);
		b->offset = unpack_u64(u);
		b->length = unpack_u64(u);
		rc = client_get_locs(u, &b->nlocs, &b->locs);
		const void *tok = unpack_raw(u, TOKEN_LEN);
		if (tok)
			memcpy(b->token, tok, TOKEN_LEN);
		out->n = i + 1;
	}
	return rc;
}

static int call_blocks(struct dfs_client *c, uint16_t type, struct buf *req,
		       struct dfs_blocks *out)
{
	memset(out, 0, sizeof *out);
	int rc = call_reply(c, type, req, get_blocks, out);
	if (rc)
		dfs_blocks_free(out);
	return rc;
}

int dfs_get_blocks(struct dfs_client *c, const char *path, uint64_t offset, uint64_t len,
		   struct dfs_blocks *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_u64(&req, offset);
	pack_u64(&req, len);
	return call_blocks(c, PROTO_CN_GET_BLOCKS, &req, out);
}

int dfs_file_blocks(struct dfs_client *c, uint64_t ino, uint64_t offset, uint64_t len,
		    struct dfs_blocks *out)
{
	struct buf req = BUF_INIT;
	pack_u64(&req, ino);
	pack_u64(&req, offset);
	pack_u64(&req, len);
	return call_blocks(c, PROTO_CN_FILE_BLOCKS, &req, out);
}

void dfs_blocks_free(struct dfs_blocks *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].locs);
	free(b->v);
	b->v = NULL;
	b->n = 0;
}

int dfs_block_token(struct dfs_client *c, uint64_t id, uint64_t gs, uint8_t modes,
		    uint8_t out[TOKEN_LEN])
{
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_u64(&req, id);
	pack_u64(&req, gs);
	pack_u8(&req, modes);
	int rc = client_call(c, PROTO_CN_BLOCK_TOKEN, &req, &rep);
	if (!rc && rep.len != TOKEN_LEN)
		rc = -EPROTO;
	if (!rc)
		memcpy(out, rep.data, TOKEN_LEN);
	buf_free(&req);
	buf_free(&rep);
	return rc;
}

int dfs_bad_block(struct dfs_client *c, uint64_t id, uint64_t genstamp, const char *dn,
		  uint8_t why)
{
	char saved[sizeof client_errmsg];
	snprintf(saved, sizeof saved, "%s", client_errmsg); /* a report must not hide the cause */
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_u64(&req, id);
	pack_u64(&req, genstamp);
	pack_str(&req, dn);
	pack_u8(&req, why);
	int rc = client_call(c, PROTO_CN_BAD_BLOCK, &req, &rep);
	buf_free(&req);
	buf_free(&rep);
	snprintf(client_errmsg, sizeof client_errmsg, "%s", saved);
	return rc;
}

static int get_fsck(struct unpack *u, void *arg)
{
	struct dfs_fsck *f = arg;
	f->files = unpack_u64(u);
	f->blocks = unpack_u64(u);
	f->under_replicated = unpack_u64(u);
	f->over_replicated = unpack_u64(u);
	f->corrupt = unpack_u64(u);
	f->missing = unpack_u64(u);
	f->nproblems = unpack_count(u, 8);
	f->problems = calloc(f->nproblems + 1, sizeof *f->problems);
	if (!f->problems)
		return -ENOMEM;
	for (uint32_t i = 0; i < f->nproblems; i++) {
		f->problems[i].path = unpack_strdup(u, PROTO_PATH_MAX);
		f->problems[i].what = unpack_strdup(u, 1024);
	}
	return 0;
}

int dfs_fsck(struct dfs_client *c, const char *path, struct dfs_fsck *out)
{
	memset(out, 0, sizeof *out);
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	int rc = call_reply(c, PROTO_CN_FSCK, &req, get_fsck, out);
	if (rc)
		dfs_fsck_free(out);
	return rc;
}

void dfs_fsck_free(struct dfs_fsck *f)
{
	for (uint32_t i = 0; f->problems && i < f->nproblems; i++) {
		free(f->problems[i].path);
		free(f->problems[i].what);
	}
	free(f->problems);
	f->problems = NULL;
	f->nproblems = 0;
}

int dfs_decommission(struct dfs_client *c, const char *id, bool on)
{
	struct buf req = BUF_INIT;
	pack_str(&req, id);
	pack_u8(&req, on);
	return call_void(c, PROTO_CN_DECOMMISSION, &req);
}

struct safemode_reply {
	bool *on;
	uint64_t *reported, *total;
};

static int get_safemode(struct unpack *u, void *arg)
{
	struct safemode_reply *r = arg;
	*r->on = unpack_u8(u);
	*r->reported = unpack_u64(u);
	*r->total = unpack_u64(u);
	return 0;
}

int dfs_safemode(struct dfs_client *c, uint8_t action, bool *on, uint64_t *reported,
		 uint64_t *total)
{
	struct buf req = BUF_INIT;
	pack_u8(&req, action);
	struct safemode_reply r = {on, reported, total};
	return call_reply(c, PROTO_CN_SAFEMODE, &req, get_safemode, &r);
}

static int get_group_status(struct unpack *u, void *arg)
{
	client_get_group_status(u, arg);
	return 0;
}

int dfs_group_status(struct dfs_client *c, struct dfs_group_status *out)
{
	struct buf req = BUF_INIT;
	memset(out, 0, sizeof *out);
	return call_reply(c, PROTO_CN_GROUP_STATUS, &req, get_group_status, out);
}

int dfs_update(struct dfs_client *c, uint64_t ino, uint64_t size, uint32_t nblocks,
	       const struct dfs_change *ch, size_t n, struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_u64(&req, ino);
	pack_u64(&req, size);
	pack_u32(&req, nblocks);
	pack_u32(&req, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		pack_u32(&req, ch[i].index);
		pack_u64(&req, ch[i].old_id);
		pack_u64(&req, ch[i].stored.id);
		pack_u64(&req, ch[i].len);
		pack_u32(&req, ch[i].stored.n);
		for (uint32_t j = 0; j < ch[i].stored.n; j++)
			pack_str(&req, ch[i].stored.nodes[j].id);
	}
	return client_call_attr(c, PROTO_CN_UPDATE, &req, out);
}
