/*
 * ns_xattr: extended attributes, one "X" ino name -> value record each (ns_int.h).
 * Loop thread only. Names are 1..PROTO_NAME_MAX bytes, values up to NN_XATTR_MAX.
 * Invariant: an inode's PROTO_A_XATTRS flag is set exactly when it has at least one
 * "X" record; every set and remove commits the record and the inode (flag, ctime) in
 * one batch. When an inode goes (its last link, ns_mutate.c) nn_ns_xattr_drop_all
 * deletes its records in the same batch.
 */
#include "ns_int.h"

#include <errno.h>
#include <string.h>

#include "buf.h"

static int xattr_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (!n)
		return -EINVAL;
	return n > PROTO_NAME_MAX ? -ERANGE : 0;
}

/* One attribute of one inode: the inode and the key of the attribute's record. */
struct xattr_ref {
	struct nn_attr inode;
	uint8_t key[NN_NS_KEY_MAX];
	size_t keylen;
};

/* Checks name, reads inode ino and builds the reference to its attribute name into *x. */
static int xattr_resolve(struct nn_ns *ns, uint64_t ino, const char *name,
			 struct xattr_ref *x)
{
	int rc = xattr_name_ok(name);
	if (!rc)
		rc = nn_ns_stat_ino(ns, ino, &x->inode);
	if (!rc)
		x->keylen = nn_ns_key_xattr(x->key, x->inode.ino, name);
	return rc;
}

/* 0 when the attribute x is set, -ENOENT when not, or another -errno. */
static int xattr_exists(struct nn_ns *ns, const struct xattr_ref *x)
{
	struct buf v = BUF_INIT;
	int rc = nn_ns_db_get(ns, x->key, x->keylen, &v);
	buf_free(&v);
	return rc;
}

/* Calls fn for the key of every attribute of inode ino, in name order. */
static void xattr_each(struct nn_ns *ns, uint64_t ino,
		       void (*fn)(void *arg, const char *key, size_t kl), void *arg)
{
	uint8_t px[NN_NS_PREFIX_LEN];
	nn_ns_key_prefix(px, 'X', ino);
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	for (leveldb_iter_seek(it, (const char *)px, sizeof px); leveldb_iter_valid(it);
	     leveldb_iter_next(it)) {
		size_t kl;
		const char *key = leveldb_iter_key(it, &kl);
		if (kl <= sizeof px || memcmp(key, px, sizeof px))
			break;
		fn(arg, key, kl);
	}
	leveldb_iter_destroy(it);
}

static void add_name(void *arg, const char *key, size_t kl)
{
	struct buf *out = arg;
	buf_add(out, key + NN_NS_PREFIX_LEN, kl - NN_NS_PREFIX_LEN);
	buf_add(out, "", 1);
}

/* Every attribute name of inode ino, each NUL-terminated, into out (reset first). */
static void xattr_names(struct nn_ns *ns, uint64_t ino, struct buf *out)
{
	buf_reset(out);
	xattr_each(ns, ino, add_name, out);
}

static void delete_key(void *arg, const char *key, size_t kl)
{
	leveldb_writebatch_delete(arg, key, kl);
}

void nn_ns_xattr_drop_all(struct nn_ns *ns, leveldb_writebatch_t *wb, uint64_t ino)
{
	xattr_each(ns, ino, delete_key, wb);
}

int nn_ns_xattr_set_ino(struct nn_ns *ns, uint64_t ino, const char *name, const void *value,
			size_t len, uint32_t flags)
{
	if (len > NN_XATTR_MAX)
		return -E2BIG;
	struct xattr_ref x;
	int rc = xattr_resolve(ns, ino, name, &x);
	if (rc)
		return rc;
	rc = xattr_exists(ns, &x);
	if (rc && rc != -ENOENT)
		return rc;
	if (!rc && (flags & PROTO_XATTR_CREATE))
		return -EEXIST;
	if (rc == -ENOENT && (flags & PROTO_XATTR_REPLACE))
		return -ENODATA;
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	leveldb_writebatch_put(wb, (const char *)x.key, x.keylen, value ? value : "", len);
	x.inode.flags |= PROTO_A_XATTRS;
	x.inode.ctime = nn_ns_now();
	nn_ns_put_inode(wb, &x.inode);
	return nn_ns_commit(ns, wb);
}

int nn_ns_xattr_get_ino(struct nn_ns *ns, uint64_t ino, const char *name, struct buf *out)
{
	struct xattr_ref x;
	int rc = xattr_resolve(ns, ino, name, &x);
	if (rc)
		return rc;
	rc = nn_ns_db_get(ns, x.key, x.keylen, out);
	return rc == -ENOENT ? -ENODATA : rc;
}

int nn_ns_xattr_list_ino(struct nn_ns *ns, uint64_t ino, struct buf *out)
{
	struct nn_attr a;
	int rc = nn_ns_stat_ino(ns, ino, &a);
	if (!rc)
		xattr_names(ns, a.ino, out);
	return rc;
}

int nn_ns_xattr_remove_ino(struct nn_ns *ns, uint64_t ino, const char *name)
{
	struct xattr_ref x;
	int rc = xattr_resolve(ns, ino, name, &x);
	if (rc)
		return rc;
	rc = xattr_exists(ns, &x);
	if (rc)
		return rc == -ENOENT ? -ENODATA : rc;
	/* the last one gone: clear the inode's flag */
	struct buf names = BUF_INIT;
	xattr_names(ns, x.inode.ino, &names);
	if (names.len == strlen(name) + 1)
		x.inode.flags &= (uint8_t)~PROTO_A_XATTRS;
	buf_free(&names);
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	leveldb_writebatch_delete(wb, (const char *)x.key, x.keylen);
	x.inode.ctime = nn_ns_now();
	nn_ns_put_inode(wb, &x.inode);
	return nn_ns_commit(ns, wb);
}

/* ---- the same by path ---- */

int nn_ns_xattr_set(struct nn_ns *ns, const char *path, const char *name, const void *value,
		    size_t len, uint32_t flags)
{
	struct nn_attr a;
	int rc = nn_ns_stat(ns, path, &a);
	return rc ? rc : nn_ns_xattr_set_ino(ns, a.ino, name, value, len, flags);
}

int nn_ns_xattr_get(struct nn_ns *ns, const char *path, const char *name, struct buf *out)
{
	struct nn_attr a;
	int rc = nn_ns_stat(ns, path, &a);
	return rc ? rc : nn_ns_xattr_get_ino(ns, a.ino, name, out);
}

int nn_ns_xattr_list(struct nn_ns *ns, const char *path, struct buf *out)
{
	struct nn_attr a;
	int rc = nn_ns_stat(ns, path, &a);
	return rc ? rc : nn_ns_xattr_list_ino(ns, a.ino, out);
}

int nn_ns_xattr_remove(struct nn_ns *ns, const char *path, const char *name)
{
	struct nn_attr a;
	int rc = nn_ns_stat(ns, path, &a);
	return rc ? rc : nn_ns_xattr_remove_ino(ns, a.ino, name);
}
