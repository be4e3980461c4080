/*
 * ns_path: reading the namespace -- path checks and resolution (path -> inode through
 * the "D" entries, from the root), stat, directory listings, a file's block list and
 * the start-up scan of every block. Loop thread only. Nothing here writes to LevelDB
 * but the deferred files a read observes (ns_defer.c); reads see every committed
 * mutation, synced or not (the overlay, ns_store.c), and go through the hot-record
 * cache for inodes and entries.
 *
 * Paths are absolute, checked by nn_ns_check_path before any lookup: no empty, "." or
 * ".." components (duplicate and trailing slashes are ignored), names up to
 * PROTO_NAME_MAX bytes, whole paths up to PROTO_PATH_MAX. There is no symlink
 * following here: a symlink is an inode like any other (clients resolve targets).
 */
#include "ns_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pack.h"

int nn_ns_stat_ino(struct nn_ns *ns, uint64_t ino, struct nn_attr *out)
{
	uint8_t k[NN_NS_PREFIX_LEN];
	struct buf v = BUF_INIT;
	size_t kl = nn_ns_key_inode(k, ino);
	int rc = nn_ns_db_get(ns, k, kl, &v);
	if (rc == -ENOENT && ns->ndeferred && !nn_ns_defer_ino(ns, ino))
		rc = nn_ns_db_get(ns, k, kl, &v); /* a deferred file, observed: written now */
	if (!rc)
		rc = nn_ns_decode_inode(v.data, v.len, ino, out);
	buf_free(&v);
	return rc;
}

int nn_ns_dirent_get(struct nn_ns *ns, uint64_t parent, const char *name, uint64_t *child)
{
	uint8_t k[NN_NS_KEY_MAX];
	struct buf v = BUF_INIT;
	size_t kl = nn_ns_key_dirent(k, parent, name);
	int rc = nn_ns_db_get(ns, k, kl, &v);
	if (rc == -ENOENT && ns->ndeferred && !nn_ns_defer_name(ns, parent, name))
		rc = nn_ns_db_get(ns, k, kl, &v);
	if (!rc)
		rc = nn_ns_decode_dirent(v.data, v.len, child);
	buf_free(&v);
	return rc;
}

/* ---- paths ---- */

int nn_ns_check_path(const char *path)
{
	size_t len = strlen(path);
	if (path[0] != '/')
		return -EINVAL;
	if (len > PROTO_PATH_MAX)
		return -ENAMETOOLONG;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n > PROTO_NAME_MAX)
			return -ENAMETOOLONG;
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		p = e;
	}
	return 0;
}

bool nn_ns_next_name(const char **p, char name[PROTO_NAME_MAX + 1])
{
	const char *s = *p;
	while (*s == '/')
		s++;
	if (!*s)
		return false;
	const char *e = strchrnul(s, '/');
	memcpy(name, s, (size_t)(e - s));
	name[e - s] = 0;
	*p = e;
	return true;
}

bool nn_ns_is_last(const char *p)
{
	while (*p == '/')
		p++;
	return !*p;
}

int nn_ns_resolve(struct nn_ns *ns, const char *path, struct nn_attr *a,
		  struct nn_attr *parent, char name[PROTO_NAME_MAX + 1], bool *last_missing)
{
	if (last_missing)
		*last_missing = false;
	int rc = nn_ns_check_path(path);
	if (rc)
		return rc;
	rc = nn_ns_stat_ino(ns, NN_ROOT_INO, a);
	if (rc)
		return rc;
	const char *p = path;
	name[0] = 0;
	if (parent)
		*parent = *a;
	while (nn_ns_next_name(&p, name)) {
		if (a->type != PROTO_T_DIR)
			return -ENOTDIR;
		uint64_t child;
		if (parent)
			*parent = *a;
		rc = nn_ns_dirent_get(ns, a->ino, name, &child);
		if (rc == -ENOENT && last_missing)
			*last_missing = nn_ns_is_last(p);
		if (rc)
			return rc;
		rc = nn_ns_stat_ino(ns, child, a);
		if (rc)
			return rc == -ENOENT ? -EIO : rc; /* an entry naming no inode */
	}
	return 0;
}

int nn_ns_resolve_parent(struct nn_ns *ns, const char *path, struct nn_attr *parent,
			 char name[PROTO_NAME_MAX + 1], struct nn_attr *target, bool *exists)
{
	bool last_missing;
	int rc = nn_ns_resolve(ns, path, target, parent, name, &last_missing);
	*exists = rc == 0;
	if (rc == 0)
		return name[0] ? 0 : -EBUSY;
	return rc == -ENOENT && last_missing ? 0 : rc;
}

int nn_ns_slot_path(struct nn_ns *ns, const char *path, struct nn_ns_slot *sl)
{
	return nn_ns_resolve_parent(ns, path, &sl->dir, sl->name, &sl->old, &sl->exists);
}

int nn_ns_check_name(const char *name)
{
	size_t n = strlen(name);
	if (!n || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	return n > PROTO_NAME_MAX ? -ENAMETOOLONG : 0;
}

int nn_ns_slot_at(struct nn_ns *ns, uint64_t dir, const char *name, struct nn_ns_slot *sl)
{
	int rc = nn_ns_check_name(name);
	if (rc)
		return rc;
	if ((rc = nn_ns_stat_ino(ns, dir, &sl->dir)))
		return rc;
	if (sl->dir.type != PROTO_T_DIR)
		return -ENOTDIR;
	snprintf(sl->name, sizeof sl->name, "%s", name);
	uint64_t child;
	rc = nn_ns_dirent_get(ns, dir, name, &child);
	sl->exists = rc == 0;
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	rc = nn_ns_stat_ino(ns, child, &sl->old);
	return rc == -ENOENT ? -EIO : rc; /* an entry naming no inode */
}

int nn_ns_lookup(struct nn_ns *ns, uint64_t dir, const char *name, struct nn_attr *out)
{
	struct nn_ns_slot *sl = malloc(sizeof *sl);
	if (!sl)
		return -ENOMEM;
	int rc = nn_ns_slot_at(ns, dir, name, sl);
	if (!rc && !sl->exists)
		rc = -ENOENT;
	if (!rc)
		*out = sl->old;
	free(sl);
	return rc;
}

int nn_ns_is_within(struct nn_ns *ns, uint64_t ino, uint64_t dir)
{
	struct nn_attr a;
	for (int depth = 0; depth < 65536; depth++) {
		if (ino == dir)
			return 1;
		if (ino == NN_ROOT_INO)
			return 0;
		int rc = nn_ns_stat_ino(ns, ino, &a);
		if (rc)
			return rc;
		if (a.type != PROTO_T_DIR || !a.parent)
			return -EIO; /* only directories are walked, and each has its parent */
		ino = a.parent;
	}
	return -ELOOP;
}

int nn_ns_stat(struct nn_ns *ns, const char *path, struct nn_attr *out)
{
	char name[PROTO_NAME_MAX + 1];
	return nn_ns_resolve(ns, path, out, NULL, name, NULL);
}

/* ---- directories ---- */

bool nn_ns_dir_is_empty(struct nn_ns *ns, uint64_t ino)
{
	if (ns->ndeferred)
		nn_ns_defer_dir(ns, ino); /* a deferred file counts */
	uint8_t k[NN_NS_PREFIX_LEN];
	nn_ns_key_prefix(k, 'D', ino);
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	leveldb_iter_seek(it, (const char *)k, sizeof k);
	bool empty = true;
	if (leveldb_iter_valid(it)) {
		size_t kl;
		const char *key = leveldb_iter_key(it, &kl);
		empty = !(kl > sizeof k && !memcmp(key, k, sizeof k));
	}
	leveldb_iter_destroy(it);
	return empty;
}

int nn_ns_list(struct nn_ns *ns, const char *path, const char *start_after, uint32_t max,
	       nn_ns_list_cb cb, void *arg, bool *more)
{
	struct nn_attr d;
	int rc = nn_ns_stat(ns, path, &d);
	return rc ? rc : nn_ns_list_ino(ns, d.ino, start_after, max, cb, arg, more);
}

int nn_ns_list_ino(struct nn_ns *ns, uint64_t dir, const char *start_after, uint32_t max,
		   nn_ns_list_cb cb, void *arg, bool *more)
{
	struct nn_attr d;
	int rc = nn_ns_stat_ino(ns, dir, &d);
	if (rc)
		return rc;
	if (d.type != PROTO_T_DIR)
		return -ENOTDIR;
	if (start_after && strlen(start_after) > PROTO_NAME_MAX)
		return -ENAMETOOLONG;
	if (ns->ndeferred && (rc = nn_ns_defer_dir(ns, d.ino)))
		return rc; /* listed files are written ones */
	uint8_t k[NN_NS_KEY_MAX];
	size_t kl = nn_ns_key_dirent(k, d.ino, start_after ? start_after : "");
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	uint32_t n = 0;
	*more = false;
	struct nn_attr *a = malloc(sizeof *a);
	if (!a) {
		leveldb_iter_destroy(it);
		return -ENOMEM;
	}
	for (leveldb_iter_seek(it, (const char *)k, kl); leveldb_iter_valid(it);
	     leveldb_iter_next(it)) {
		size_t l, vl;
		const char *key = leveldb_iter_key(it, &l);
		if (l <= NN_NS_PREFIX_LEN || memcmp(key, k, NN_NS_PREFIX_LEN))
			break;
		if (l == kl && !memcmp(key, k, kl))
			continue; /* start_after itself */
		if (n == max) {
			*more = true;
			break;
		}
		const char *v = leveldb_iter_value(it, &vl);
		char name[PROTO_NAME_MAX + 1];
		size_t nl = l - NN_NS_PREFIX_LEN;
		if (nl > PROTO_NAME_MAX)
			nl = PROTO_NAME_MAX;
		memcpy(name, key + NN_NS_PREFIX_LEN, nl);
		name[nl] = 0;
		uint64_t child;
		if (nn_ns_decode_dirent(v, vl, &child) || nn_ns_stat_ino(ns, child, a)) {
			rc = -EIO;
			break;
		}
		rc = cb(arg, name, a);
		if (rc)
			break;
		n++;
	}
	free(a);
	leveldb_iter_destroy(it);
	return rc;
}

struct list_all {
	nn_ns_list_cb cb;
	void *arg;
	char last[PROTO_NAME_MAX + 1];
};

static int list_all_one(void *arg, const char *name, const struct nn_attr *a)
{
	struct list_all *l = arg;
	snprintf(l->last, sizeof l->last, "%s", name);
	return l->cb(l->arg, name, a);
}

int nn_ns_list_all(struct nn_ns *ns, const char *path, nn_ns_list_cb cb, void *arg)
{
	struct list_all l = {cb, arg, ""};
	char after[PROTO_NAME_MAX + 1] = "";
	bool more = true;
	int rc = 0;
	while (more && !rc) {
		rc = nn_ns_list(ns, path, after, 1024, list_all_one, &l, &more);
		if (!strcmp(after, l.last))
			break;
		snprintf(after, sizeof after, "%s", l.last);
	}
	return rc;
}

/* ---- blocks ---- */

int nn_ns_blocks(struct nn_ns *ns, uint64_t ino, uint64_t offset, uint64_t len,
		 struct nn_blocks *out)
{
	uint8_t k[NN_NS_PREFIX_LEN];
	nn_ns_key_prefix(k, 'B', ino);
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	uint64_t off = 0;
	int rc = 0;
	for (leveldb_iter_seek(it, (const char *)k, sizeof k); leveldb_iter_valid(it);
	     leveldb_iter_next(it)) {
		size_t kl, vl;
		const uint8_t *key = (const uint8_t *)leveldb_iter_key(it, &kl);
		if (kl != NN_NS_BLOCK_KEY_LEN || memcmp(key, k, sizeof k))
			break;
		const char *v = leveldb_iter_value(it, &vl);
		struct nn_blockrec b = {.offset = off, .ino = ino,
					.index = be32_get(key + NN_NS_PREFIX_LEN)};
		rc = nn_ns_decode_block(v, vl, &b);
		if (rc)
			break;
		off += b.len;
		if (len && b.offset >= offset && b.offset - offset >= len)
			break; /* past the range (written so that offset + len cannot wrap) */
		/* the last (possibly still growing) block always overlaps */
		if (b.offset + b.len > offset || b.len == 0 || b.offset == offset)
			nn_blocks_push(out, &b);
	}
	leveldb_iter_destroy(it);
	return rc;
}

int nn_ns_scan_blocks(struct nn_ns *ns, nn_ns_block_cb cb, void *arg)
{
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	uint64_t cur = 0;
	uint16_t repl = 0;
	int rc = 0;
	ns->nblocks = 0; /* recounted here */
	for (leveldb_iter_seek(it, "B", 1); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t kl, vl;
		const uint8_t *key = (const uint8_t *)leveldb_iter_key(it, &kl);
		if (kl < 1 || key[0] != 'B')
			break;
		const char *v = leveldb_iter_value(it, &vl);
		if (kl != NN_NS_BLOCK_KEY_LEN) {
			rc = -EIO;
			break;
		}
		uint64_t ino = be64_get(key + 1);
		struct nn_blockrec b = {.ino = ino, .index = be32_get(key + NN_NS_PREFIX_LEN)};
		rc = nn_ns_decode_block(v, vl, &b);
		if (rc)
			break;
		if (ino != cur) {
			struct nn_attr a;
			cur = ino;
			repl = nn_ns_stat_ino(ns, ino, &a) ? 0 : a.replication;
		}
		if (!b.id)
			continue; /* a hole: stored nowhere */
		ns->nblocks++;
		cb(arg, &b, repl);
	}
	leveldb_iter_destroy(it);
	return rc;
}

int nn_ns_scan_open_files(struct nn_ns *ns, nn_ns_ino_cb cb, void *arg)
{
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	int rc = 0;
	for (leveldb_iter_seek(it, "I", 1); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t kl, vl;
		const uint8_t *key = (const uint8_t *)leveldb_iter_key(it, &kl);
		if (kl < 1 || key[0] != 'I')
			break;
		if (kl != NN_NS_PREFIX_LEN) {
			rc = -EIO;
			break;
		}
		const char *v = leveldb_iter_value(it, &vl);
		struct nn_attr a;
		rc = nn_ns_decode_inode(v, vl, be64_get(key + 1), &a);
		if (rc)
			break;
		if (a.type == PROTO_T_FILE && (a.flags & PROTO_A_UNDER_CONSTRUCTION))
			cb(arg, a.ino);
	}
	leveldb_iter_destroy(it);
	return rc;
}
