/*
 * ns: the namespace in LevelDB. Loop thread only. The durability scheme (unsynced
 * apply + synced replay of the turn's merged batch) is described in ns.h.
 *
 * File states: a file is created under construction (PROTO_A_UNDER_CONSTRUCTION,
 * nn_ns_create); nn_ns_add_block appends blocks while it is; nn_ns_complete closes it.
 * Sizes: inode.size is the sum of the block lengths recorded so far.
 */
#include "ns.h"

#include <errno.h>
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "fsutil.h"
#include "log.h"
#include "nscache.h"
#include "pack.h"
#include "proto.h"

#define NN_ID_RESERVE 65536

struct nn_ns {
	leveldb_t *db;
	leveldb_options_t *opts;
	leveldb_readoptions_t *ropts;
	leveldb_writeoptions_t *wopts_async, *wopts_sync;
	leveldb_filterpolicy_t *bloom;
	leveldb_cache_t *cache;
	leveldb_writebatch_t *pending; /* the turn's merged batch, replayed synced */
	struct nn_nscache *hot;        /* hot "I" and "D" records */
	bool dirty;
	uint64_t next_ino, next_block, next_gs;
	/* block ids and genstamps are reserved in ranges: "C" holds the end of the range
	 * (ceil_*), so most allocations need no write, and after a restart allocation
	 * resumes past anything that may have been handed out */
	uint64_t ceil_block, ceil_gs;
	uint64_t nfiles, nblocks;
	struct nn_ns_defaults defaults;
};

void nn_blocks_push(struct nn_blocks *b, const struct nn_blockrec *r)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct nn_blockrec *v = realloc(b->v, cap * sizeof *v);
		if (!v)
			abort();
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = *r;
}

void nn_blocks_free(struct nn_blocks *b)
{
	free(b->v);
	memset(b, 0, sizeof *b);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- keys and records ---- */

static size_t key_inode(uint8_t *k, uint64_t ino)
{
	k[0] = 'I';
	be64_put(k + 1, ino);
	return 9;
}

static size_t key_dirent(uint8_t *k, uint64_t parent, const char *name)
{
	size_t n = strlen(name);
	k[0] = 'D';
	be64_put(k + 1, parent);
	memcpy(k + 9, name, n);
	return 9 + n;
}

static size_t key_block(uint8_t *k, uint64_t ino, uint32_t idx)
{
	k[0] = 'B';
	be64_put(k + 1, ino);
	be32_put(k + 9, idx);
	return 13;
}

static void encode_inode(struct buf *b, const struct nn_attr *a)
{
	pack_u8(b, 1);
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
	pack_u32(b, a->nblocks);
	pack_str(b, a->target);
}

static int decode_inode(const void *p, size_t n, uint64_t ino, struct nn_attr *a)
{
	struct unpack u;
	unpack_init(&u, p, n);
	uint8_t v = unpack_u8(&u);
	a->ino = ino;
	a->type = unpack_u8(&u);
	a->mode = unpack_u32(&u);
	a->uid = unpack_u32(&u);
	a->gid = unpack_u32(&u);
	a->nlink = unpack_u32(&u);
	a->size = unpack_u64(&u);
	a->mtime = unpack_i64(&u);
	a->atime = unpack_i64(&u);
	a->ctime = unpack_i64(&u);
	a->replication = unpack_u16(&u);
	a->block_size = unpack_u64(&u);
	a->rdev = unpack_u32(&u);
	a->flags = unpack_u8(&u);
	a->nblocks = unpack_u32(&u);
	unpack_str(&u, a->target, sizeof a->target);
	if (!unpack_ok(&u) || v != 1) {
		log_error("corrupt inode record %llu", (unsigned long long)ino);
		return -EIO;
	}
	return 0;
}

/* ---- LevelDB access ---- */

static bool is_cached_key(const uint8_t *k, size_t kl)
{
	return kl && (k[0] == 'I' || k[0] == 'D');
}

static int db_get(struct nn_ns *ns, const uint8_t *k, size_t kl, struct buf *val)
{
	char *err = NULL;
	size_t vl;
	bool cacheable = is_cached_key(k, kl);
	if (cacheable) {
		const void *cv = nn_nscache_get(ns->hot, k, kl, &vl);
		if (cv) {
			buf_reset(val);
			buf_add(val, cv, vl);
			return 0;
		}
	}
	char *v = leveldb_get(ns->db, ns->ropts, (const char *)k, kl, &vl, &err);
	if (err) {
		log_error("namespace read failed: %s", err);
		leveldb_free(err);
		return -EIO;
	}
	if (!v)
		return -ENOENT;
	buf_reset(val);
	buf_add(val, v, vl);
	if (cacheable)
		nn_nscache_put(ns->hot, k, kl, v, vl);
	leveldb_free(v);
	return 0;
}

static void cache_put(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	struct nn_ns *ns = arg;
	if (is_cached_key((const uint8_t *)k, kl))
		nn_nscache_put(ns->hot, k, kl, v, vl);
}

static void cache_del(void *arg, const char *k, size_t kl)
{
	struct nn_ns *ns = arg;
	if (is_cached_key((const uint8_t *)k, kl))
		nn_nscache_del(ns->hot, k, kl);
}

static void put_counters(struct nn_ns *ns, leveldb_writebatch_t *wb)
{
	uint8_t v[24];
	be64_put(v, ns->next_ino);
	if (ns->next_block > ns->ceil_block || ns->next_gs > ns->ceil_gs) {
		ns->ceil_block = ns->next_block + NN_ID_RESERVE;
		ns->ceil_gs = ns->next_gs + NN_ID_RESERVE;
	}
	be64_put(v + 8, ns->ceil_block);
	be64_put(v + 16, ns->ceil_gs);
	leveldb_writebatch_put(wb, "C", 1, (const char *)v, sizeof v);
}

static void put_inode(leveldb_writebatch_t *wb, const struct nn_attr *a)
{
	uint8_t k[9];
	struct buf v = BUF_INIT;
	encode_inode(&v, a);
	leveldb_writebatch_put(wb, (const char *)k, key_inode(k, a->ino), v.data, v.len);
	buf_free(&v);
}

static void put_dirent(leveldb_writebatch_t *wb, uint64_t parent, const char *name,
		       uint64_t child, uint8_t type)
{
	uint8_t k[9 + PROTO_NAME_MAX + 1], v[9];
	be64_put(v, child);
	v[8] = type;
	leveldb_writebatch_put(wb, (const char *)k, key_dirent(k, parent, name),
			       (const char *)v, sizeof v);
}

static void del_dirent(leveldb_writebatch_t *wb, uint64_t parent, const char *name)
{
	uint8_t k[9 + PROTO_NAME_MAX + 1];
	leveldb_writebatch_delete(wb, (const char *)k, key_dirent(k, parent, name));
}

static void put_block(leveldb_writebatch_t *wb, uint64_t ino, uint32_t idx,
		      const struct nn_blockrec *b)
{
	uint8_t k[13], v[24];
	be64_put(v, b->id);
	be64_put(v + 8, b->gs);
	be64_put(v + 16, b->len);
	leveldb_writebatch_put(wb, (const char *)k, key_block(k, ino, idx), (const char *)v,
			       sizeof v);
}

/* Applies wb now (visible to the next read) and queues it for the synced replay. */
static int commit(struct nn_ns *ns, leveldb_writebatch_t *wb)
{
	char *err = NULL;
	leveldb_write(ns->db, ns->wopts_async, wb, &err);
	if (err) {
		log_error("namespace write failed: %s", err);
		leveldb_free(err);
		leveldb_writebatch_destroy(wb);
		nn_nscache_clear(ns->hot); /* no telling what was applied */
		return -EIO;
	}
	leveldb_writebatch_iterate(wb, ns, cache_put, cache_del);
	leveldb_writebatch_append(ns->pending, wb);
	leveldb_writebatch_destroy(wb);
	ns->dirty = true;
	return 0;
}

/* Commits a changed inode record alone; out (may be NULL) gets it. */
static int commit_inode(struct nn_ns *ns, const struct nn_attr *a, struct nn_attr *out)
{
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	put_inode(wb, a);
	int rc = commit(ns, wb);
	if (!rc && out)
		*out = *a;
	return rc;
}

bool nn_ns_dirty(const struct nn_ns *ns) { return ns->dirty; }

int nn_ns_sync(struct nn_ns *ns)
{
	if (!ns->dirty)
		return 0;
	char *err = NULL;
	leveldb_write(ns->db, ns->wopts_sync, ns->pending, &err);
	leveldb_writebatch_clear(ns->pending);
	ns->dirty = false;
	if (err) {
		log_error("namespace sync failed: %s", err);
		leveldb_free(err);
		return -EIO;
	}
	return 0;
}

uint64_t nn_ns_files(const struct nn_ns *ns) { return ns->nfiles; }
uint64_t nn_ns_block_count(const struct nn_ns *ns) { return ns->nblocks; }

/* ---- open / format ---- */

/* Opens the LevelDB in dir; with create, makes dir and a new, empty database there
 * (an existing one is an error). */
static int open_db(const char *dir, bool create, struct nn_ns **out)
{
	if (create) {
		int rc = fs_mkdir_p(dir, 0700);
		if (rc)
			return rc;
	}
	struct nn_ns *ns = calloc(1, sizeof *ns);
	if (!ns)
		return -ENOMEM;
	ns->opts = leveldb_options_create();
	leveldb_options_set_create_if_missing(ns->opts, create);
	leveldb_options_set_error_if_exists(ns->opts, create);
	ns->bloom = leveldb_filterpolicy_create_bloom(10);
	leveldb_options_set_filter_policy(ns->opts, ns->bloom);
	ns->cache = leveldb_cache_create_lru(256u << 20);
	leveldb_options_set_cache(ns->opts, ns->cache);
	leveldb_options_set_write_buffer_size(ns->opts, 32u << 20);
	ns->ropts = leveldb_readoptions_create();
	ns->wopts_async = leveldb_writeoptions_create();
	ns->wopts_sync = leveldb_writeoptions_create();
	leveldb_writeoptions_set_sync(ns->wopts_sync, 1);
	ns->pending = leveldb_writebatch_create();
	ns->hot = nn_nscache_new(1u << 20);
	char *err = NULL;
	ns->db = leveldb_open(ns->opts, dir, &err);
	if (err) {
		int rc = strstr(err, "exists") ? -EEXIST
			 : strstr(err, "does not exist") ? -ENOENT : -EIO;
		log_error("cannot open namespace '%s': %s", dir, err);
		leveldb_free(err);
		nn_ns_close(ns);
		return rc;
	}
	*out = ns;
	return 0;
}

void nn_ns_close(struct nn_ns *ns)
{
	if (!ns)
		return;
	if (ns->db) {
		nn_ns_sync(ns);
		leveldb_close(ns->db);
	}
	leveldb_writebatch_destroy(ns->pending);
	nn_nscache_free(ns->hot);
	leveldb_writeoptions_destroy(ns->wopts_async);
	leveldb_writeoptions_destroy(ns->wopts_sync);
	leveldb_readoptions_destroy(ns->ropts);
	leveldb_options_destroy(ns->opts);
	leveldb_cache_destroy(ns->cache);
	leveldb_filterpolicy_destroy(ns->bloom);
	free(ns);
}

int nn_ns_format(const char *dir)
{
	struct nn_ns *ns;
	int rc = open_db(dir, true, &ns);
	if (rc)
		return rc;
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	uint8_t v[10];
	memcpy(v, "dfs-ns", 6);
	be32_put(v + 6, NN_NS_FORMAT);
	leveldb_writebatch_put(wb, "V", 1, (const char *)v, sizeof v);
	ns->next_ino = NN_ROOT_INO + 1;
	ns->next_block = 1ULL << 32; /* ids stay far from small numbers in logs */
	ns->next_gs = 1000;
	put_counters(ns, wb);
	int64_t t = now_ns();
	struct nn_attr root = {.ino = NN_ROOT_INO, .type = PROTO_T_DIR, .mode = 0755,
			       .nlink = 2, .mtime = t, .atime = t, .ctime = t};
	put_inode(wb, &root);
	rc = commit(ns, wb);
	if (!rc)
		rc = nn_ns_sync(ns);
	nn_ns_close(ns);
	return rc;
}

int nn_ns_open(const char *dir, const struct nn_ns_defaults *defaults, struct nn_ns **out)
{
	struct nn_ns *ns;
	int rc = open_db(dir, false, &ns);
	if (rc)
		return rc;
	ns->defaults = *defaults;
	struct buf v = BUF_INIT;
	rc = db_get(ns, (const uint8_t *)"V", 1, &v);
	if (rc || v.len != 10 || memcmp(v.data, "dfs-ns", 6)) {
		log_error("'%s' holds no dfs namespace", dir);
		rc = -ENOENT;
		goto out;
	}
	uint32_t fmt = be32_get((uint8_t *)v.data + 6);
	if (fmt != NN_NS_FORMAT) {
		log_error("namespace '%s' has format %u, this namenode reads %u", dir, fmt,
			  NN_NS_FORMAT);
		rc = -EPROTO;
		goto out;
	}
	rc = db_get(ns, (const uint8_t *)"C", 1, &v);
	if (rc || v.len != 24) {
		rc = -EIO;
		goto out;
	}
	ns->next_ino = be64_get((uint8_t *)v.data);
	ns->next_block = ns->ceil_block = be64_get((uint8_t *)v.data + 8);
	ns->next_gs = ns->ceil_gs = be64_get((uint8_t *)v.data + 16);
	/* count inodes */
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	for (leveldb_iter_seek(it, "I", 1); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t kl;
		const char *k = leveldb_iter_key(it, &kl);
		if (kl < 1 || k[0] != 'I')
			break;
		ns->nfiles++;
	}
	leveldb_iter_destroy(it);
out:
	buf_free(&v);
	if (rc)
		nn_ns_close(ns);
	else
		*out = ns;
	return rc;
}

/* ---- lookups ---- */

int nn_ns_stat_ino(struct nn_ns *ns, uint64_t ino, struct nn_attr *out)
{
	uint8_t k[9];
	struct buf v = BUF_INIT;
	int rc = db_get(ns, k, key_inode(k, ino), &v);
	if (!rc)
		rc = decode_inode(v.data, v.len, ino, out);
	buf_free(&v);
	return rc;
}

static int dirent_get(struct nn_ns *ns, uint64_t parent, const char *name, uint64_t *child)
{
	uint8_t k[9 + PROTO_NAME_MAX + 1];
	struct buf v = BUF_INIT;
	int rc = db_get(ns, k, key_dirent(k, parent, name), &v);
	if (!rc && v.len != 9)
		rc = -EIO;
	if (!rc)
		*child = be64_get((uint8_t *)v.data);
	buf_free(&v);
	return rc;
}

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

/* Next component of *p into name; false at the end. */
static bool next_name(const char **p, char name[PROTO_NAME_MAX + 1])
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

static bool is_last(const char *p)
{
	while (*p == '/')
		p++;
	return !*p;
}

/*
 * Resolves path into *a. *parent (may be NULL) gets the directory holding the last
 * component and name that component ("" for the root). When only the last component
 * is missing, returns -ENOENT with *last_missing set, so create/mkdir can proceed.
 */
static int resolve(struct nn_ns *ns, const char *path, struct nn_attr *a,
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
	while (next_name(&p, name)) {
		if (a->type != PROTO_T_DIR)
			return -ENOTDIR;
		uint64_t child;
		if (parent)
			*parent = *a;
		rc = dirent_get(ns, a->ino, name, &child);
		if (rc == -ENOENT && last_missing)
			*last_missing = is_last(p);
		if (rc)
			return rc;
		rc = nn_ns_stat_ino(ns, child, a);
		if (rc)
			return rc == -ENOENT ? -EIO : rc;
	}
	return 0;
}

/* Resolves the parent of path and its last name; *exists tells whether the target is
 * there (then in *target). -EBUSY for the root itself. */
static int resolve_parent(struct nn_ns *ns, const char *path, struct nn_attr *parent,
			  char name[PROTO_NAME_MAX + 1], struct nn_attr *target, bool *exists)
{
	bool last_missing;
	int rc = resolve(ns, path, target, parent, name, &last_missing);
	*exists = rc == 0;
	if (rc == 0)
		return name[0] ? 0 : -EBUSY;
	return rc == -ENOENT && last_missing ? 0 : rc;
}

int nn_ns_stat(struct nn_ns *ns, const char *path, struct nn_attr *out)
{
	char name[PROTO_NAME_MAX + 1];
	return resolve(ns, path, out, NULL, name, NULL);
}

/* ---- iteration helpers ---- */

static bool dir_is_empty(struct nn_ns *ns, uint64_t ino)
{
	uint8_t k[9];
	k[0] = 'D';
	be64_put(k + 1, ino);
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	leveldb_iter_seek(it, (const char *)k, 9);
	bool empty = true;
	if (leveldb_iter_valid(it)) {
		size_t kl;
		const char *key = leveldb_iter_key(it, &kl);
		empty = !(kl > 9 && !memcmp(key, k, 9));
	}
	leveldb_iter_destroy(it);
	return empty;
}

int nn_ns_blocks(struct nn_ns *ns, uint64_t ino, uint64_t offset, uint64_t len,
		 struct nn_blocks *out)
{
	uint8_t k[13];
	key_block(k, ino, 0);
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	uint64_t off = 0;
	int rc = 0;
	for (leveldb_iter_seek(it, (const char *)k, 9); leveldb_iter_valid(it);
	     leveldb_iter_next(it)) {
		size_t kl, vl;
		const uint8_t *key = (const uint8_t *)leveldb_iter_key(it, &kl);
		if (kl != 13 || memcmp(key, k, 9))
			break;
		const uint8_t *v = (const uint8_t *)leveldb_iter_value(it, &vl);
		if (vl != 24) {
			rc = -EIO;
			break;
		}
		struct nn_blockrec b = {.id = be64_get(v), .gs = be64_get(v + 8),
					.len = be64_get(v + 16), .offset = off, .ino = ino,
					.index = be32_get(key + 9)};
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
		const uint8_t *v = (const uint8_t *)leveldb_iter_value(it, &vl);
		if (kl != 13 || vl != 24) {
			rc = -EIO;
			break;
		}
		uint64_t ino = be64_get(key + 1);
		if (ino != cur) {
			struct nn_attr a;
			cur = ino;
			repl = nn_ns_stat_ino(ns, ino, &a) ? 0 : a.replication;
		}
		struct nn_blockrec b = {.id = be64_get(v), .gs = be64_get(v + 8),
					.len = be64_get(v + 16), .ino = ino,
					.index = be32_get(key + 9)};
		if (!b.id)
			continue; /* a hole: stored nowhere */
		ns->nblocks++;
		cb(arg, &b, repl);
	}
	leveldb_iter_destroy(it);
	return rc;
}

/* ---- mutations ---- */

static void touch_dir(struct nn_attr *d, int64_t t)
{
	d->mtime = t;
	d->ctime = t;
}

/* Removes one link to inode a (its entry already deleted by the caller); when the last
 * link goes, deletes the inode, its blocks and xattrs into wb and freed. */
static void drop_link(struct nn_ns *ns, leveldb_writebatch_t *wb, struct nn_attr *a,
		      struct nn_blocks *freed, int64_t t)
{
	if (a->type != PROTO_T_DIR && a->nlink > 1) {
		a->nlink--;
		a->ctime = t;
		put_inode(wb, a);
		return;
	}
	uint8_t k[13];
	leveldb_writebatch_delete(wb, (const char *)k, key_inode(k, a->ino));
	ns->nfiles--;
	if (a->type == PROTO_T_FILE) {
		struct nn_blocks bl = {0};
		nn_ns_blocks(ns, a->ino, 0, 0, &bl);
		for (size_t i = 0; i < bl.n; i++) {
			leveldb_writebatch_delete(wb, (const char *)k,
						  key_block(k, a->ino, bl.v[i].index));
			if (!bl.v[i].id)
				continue; /* a hole */
			if (freed)
				nn_blocks_push(freed, &bl.v[i]);
			ns->nblocks--;
		}
		nn_blocks_free(&bl);
	}
	/* extended attributes */
	uint8_t px[9];
	px[0] = 'X';
	be64_put(px + 1, a->ino);
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	for (leveldb_iter_seek(it, (const char *)px, 9); leveldb_iter_valid(it);
	     leveldb_iter_next(it)) {
		size_t kl;
		const char *key = leveldb_iter_key(it, &kl);
		if (kl < 9 || memcmp(key, px, 9))
			break;
		leveldb_writebatch_delete(wb, key, kl);
	}
	leveldb_iter_destroy(it);
}

static void init_child(struct nn_ns *ns, struct nn_attr *a, uint8_t type, uint32_t mode,
		       uint32_t uid, uint32_t gid, int64_t t)
{
	memset(a, 0, sizeof *a);
	a->ino = ns->next_ino++;
	a->type = type;
	a->mode = mode & 07777;
	a->uid = uid;
	a->gid = gid;
	a->nlink = type == PROTO_T_DIR ? 2 : 1;
	a->mtime = a->atime = a->ctime = t;
}

int nn_ns_mkdir(struct nn_ns *ns, const char *path, uint32_t mode, bool parents,
		uint32_t uid, uint32_t gid, struct nn_attr *out)
{
	int rc = nn_ns_check_path(path);
	if (rc)
		return rc;
	struct nn_attr cur, child;
	rc = nn_ns_stat_ino(ns, NN_ROOT_INO, &cur);
	if (rc)
		return rc;
	const char *p = path;
	char name[PROTO_NAME_MAX + 1];
	bool created = false;
	leveldb_writebatch_t *wb = NULL;
	int64_t t = now_ns();
	if (is_last(p)) /* mkdir / */
		return parents ? (out ? (*out = cur, 0) : 0) : -EEXIST;
	while (next_name(&p, name)) {
		if (cur.type != PROTO_T_DIR) {
			rc = -ENOTDIR;
			goto fail;
		}
		uint64_t ino;
		rc = created ? -ENOENT : dirent_get(ns, cur.ino, name, &ino);
		if (rc == 0) {
			rc = nn_ns_stat_ino(ns, ino, &child);
			if (rc)
				goto fail;
			if (is_last(p) && !parents) {
				rc = -EEXIST;
				goto fail;
			}
			if (is_last(p) && child.type != PROTO_T_DIR) {
				rc = -EEXIST;
				goto fail;
			}
			cur = child;
			continue;
		}
		if (rc != -ENOENT)
			goto fail;
		if (!is_last(p) && !parents)
			goto fail; /* ENOENT: missing parent */
		if (!wb)
			wb = leveldb_writebatch_create();
		init_child(ns, &child, PROTO_T_DIR, is_last(p) ? mode : (mode | 0300), uid,
			   gid, t);
		child.replication = cur.replication;
		child.block_size = cur.block_size;
		put_dirent(wb, cur.ino, name, child.ino, PROTO_T_DIR);
		cur.nlink++;
		touch_dir(&cur, t);
		put_inode(wb, &cur);
		put_inode(wb, &child);
		ns->nfiles++;
		created = true;
		cur = child;
	}
	if (wb) {
		put_counters(ns, wb);
		rc = commit(ns, wb);
		wb = NULL;
		if (rc)
			return rc;
	}
	if (out)
		*out = cur;
	return 0;
fail:
	if (wb) /* only reachable before anything was created; ids merely skip */
		leveldb_writebatch_destroy(wb);
	return rc;
}

int nn_ns_create(struct nn_ns *ns, const char *path, uint32_t mode, bool overwrite,
		 uint16_t replication, uint64_t block_size, uint32_t uid, uint32_t gid,
		 struct nn_attr *out, struct nn_blocks *freed)
{
	struct nn_attr parent, old, a;
	char name[PROTO_NAME_MAX + 1];
	bool exists;
	int rc = resolve_parent(ns, path, &parent, name, &old, &exists);
	if (rc == -EBUSY)
		return -EISDIR;
	if (rc)
		return rc;
	if (replication > PROTO_REPL_MAX)
		return -EINVAL;
	if (exists) {
		if (old.type == PROTO_T_DIR)
			return -EISDIR;
		if (!overwrite)
			return -EEXIST;
	}
	int64_t t = now_ns();
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	if (exists)
		drop_link(ns, wb, &old, freed, t);
	init_child(ns, &a, PROTO_T_FILE, mode, uid, gid, t);
	a.replication = replication ? replication
			: parent.replication ? parent.replication : ns->defaults.replication;
	a.block_size = block_size ? block_size
		       : parent.block_size ? parent.block_size : ns->defaults.block_size;
	a.flags = PROTO_A_UNDER_CONSTRUCTION;
	put_dirent(wb, parent.ino, name, a.ino, PROTO_T_FILE);
	put_inode(wb, &a);
	touch_dir(&parent, t);
	put_inode(wb, &parent);
	put_counters(ns, wb);
	ns->nfiles++;
	rc = commit(ns, wb);
	if (!rc && out)
		*out = a;
	return rc;
}

static int open_file(struct nn_ns *ns, uint64_t ino, struct nn_attr *a)
{
	int rc = nn_ns_stat_ino(ns, ino, a);
	if (rc)
		return rc;
	if (a->type != PROTO_T_FILE)
		return -EISDIR;
	return 0;
}

static int last_block(struct nn_ns *ns, const struct nn_attr *a, struct nn_blockrec *b)
{
	uint8_t k[13];
	struct buf v = BUF_INIT;
	int rc = db_get(ns, k, key_block(k, a->ino, a->nblocks - 1), &v);
	if (!rc && v.len != 24)
		rc = -EIO;
	if (!rc) {
		const uint8_t *p = (const uint8_t *)v.data;
		*b = (struct nn_blockrec){.id = be64_get(p), .gs = be64_get(p + 8),
					  .len = be64_get(p + 16), .ino = a->ino,
					  .index = a->nblocks - 1};
	}
	buf_free(&v);
	return rc;
}

/* Records the last block's final length into wb and a. */
static int set_last_len(struct nn_ns *ns, leveldb_writebatch_t *wb, struct nn_attr *a,
			uint64_t id, uint64_t len)
{
	if (!a->nblocks)
		return id ? -EINVAL : 0;
	struct nn_blockrec b;
	int rc = last_block(ns, a, &b);
	if (rc)
		return rc;
	if (b.id != id || len > a->block_size)
		return -EINVAL;
	a->size = a->size - b.len + len;
	b.len = len;
	put_block(wb, a->ino, b.index, &b);
	return 0;
}

int nn_ns_add_block(struct nn_ns *ns, uint64_t ino, uint64_t prev_id, uint64_t prev_len,
		    struct nn_blockrec *newb, struct nn_attr *out)
{
	struct nn_attr a;
	int rc = open_file(ns, ino, &a);
	if (rc)
		return rc;
	if (!(a.flags & PROTO_A_UNDER_CONSTRUCTION))
		return -EINVAL;
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	rc = set_last_len(ns, wb, &a, prev_id, prev_len);
	if (rc) {
		leveldb_writebatch_destroy(wb);
		return rc;
	}
	*newb = (struct nn_blockrec){.id = ns->next_block++, .gs = ns->next_gs++, .len = 0,
				     .offset = a.size, .ino = ino, .index = a.nblocks};
	put_block(wb, ino, a.nblocks, newb);
	a.nblocks++;
	a.mtime = a.ctime = now_ns();
	put_inode(wb, &a);
	put_counters(ns, wb);
	ns->nblocks++;
	rc = commit(ns, wb);
	if (!rc && out)
		*out = a;
	return rc;
}

int nn_ns_abandon_block(struct nn_ns *ns, uint64_t ino, uint64_t block_id,
			struct nn_blocks *freed)
{
	struct nn_attr a;
	int rc = open_file(ns, ino, &a);
	if (rc)
		return rc;
	struct nn_blockrec b;
	if (!(a.flags & PROTO_A_UNDER_CONSTRUCTION) || !a.nblocks ||
	    last_block(ns, &a, &b) || b.id != block_id)
		return -EINVAL;
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	uint8_t k[13];
	leveldb_writebatch_delete(wb, (const char *)k, key_block(k, ino, b.index));
	a.nblocks--;
	a.size -= b.len;
	put_inode(wb, &a);
	ns->nblocks--;
	if (freed)
		nn_blocks_push(freed, &b);
	return commit(ns, wb);
}

int nn_ns_complete(struct nn_ns *ns, uint64_t ino, uint64_t last_id, uint64_t last_len,
		   struct nn_attr *out)
{
	struct nn_attr a;
	int rc = open_file(ns, ino, &a);
	if (rc)
		return rc;
	if (!(a.flags & PROTO_A_UNDER_CONSTRUCTION)) {
		if (out)
			*out = a; /* a retried complete */
		return 0;
	}
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	rc = set_last_len(ns, wb, &a, last_id, last_len);
	if (rc) {
		leveldb_writebatch_destroy(wb);
		return rc;
	}
	a.flags &= (uint8_t)~PROTO_A_UNDER_CONSTRUCTION;
	a.mtime = a.ctime = now_ns();
	put_inode(wb, &a);
	rc = commit(ns, wb);
	if (!rc && out)
		*out = a;
	return rc;
}

int nn_ns_list(struct nn_ns *ns, const char *path, const char *start_after, uint32_t max,
	       nn_ns_list_cb cb, void *arg, bool *more)
{
	struct nn_attr d;
	int rc = nn_ns_stat(ns, path, &d);
	if (rc)
		return rc;
	if (d.type != PROTO_T_DIR)
		return -ENOTDIR;
	if (start_after && strlen(start_after) > PROTO_NAME_MAX)
		return -ENAMETOOLONG;
	uint8_t k[9 + PROTO_NAME_MAX + 1];
	size_t kl = key_dirent(k, d.ino, start_after ? start_after : "");
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
		if (l <= 9 || memcmp(key, k, 9))
			break;
		if (l == kl && !memcmp(key, k, kl))
			continue; /* start_after itself */
		if (n == max) {
			*more = true;
			break;
		}
		const uint8_t *v = (const uint8_t *)leveldb_iter_value(it, &vl);
		char name[PROTO_NAME_MAX + 1];
		size_t nl = l - 9 > PROTO_NAME_MAX ? PROTO_NAME_MAX : l - 9;
		memcpy(name, key + 9, nl);
		name[nl] = 0;
		if (vl != 9 || nn_ns_stat_ino(ns, be64_get(v), a)) {
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

static bool path_is_within(const char *dir, const char *path)
{
	/* both checked, absolute; compare component-wise ignoring duplicate slashes */
	const char *a = dir, *b = path;
	char na[PROTO_NAME_MAX + 1], nb[PROTO_NAME_MAX + 1];
	while (next_name(&a, na)) {
		if (!next_name(&b, nb) || strcmp(na, nb))
			return false;
	}
	return true;
}

int nn_ns_rename(struct nn_ns *ns, const char *src, const char *dst, uint32_t flags,
		 struct nn_blocks *freed)
{
	struct nn_attr sp, s, dp, d;
	char sname[PROTO_NAME_MAX + 1], dname[PROTO_NAME_MAX + 1];
	bool sexists, dexists;
	int rc = resolve_parent(ns, src, &sp, sname, &s, &sexists);
	if (rc == -EBUSY)
		return -EBUSY;
	if (rc)
		return rc;
	if (!sexists)
		return -ENOENT;
	rc = resolve_parent(ns, dst, &dp, dname, &d, &dexists);
	if (rc == -EBUSY)
		return -EBUSY;
	if (rc)
		return rc;
	if ((flags & PROTO_RENAME_NOREPLACE) && (flags & PROTO_RENAME_EXCHANGE))
		return -EINVAL;
	if (s.type == PROTO_T_DIR && path_is_within(src, dst) && !(sp.ino == dp.ino &&
	    !strcmp(sname, dname)))
		return -EINVAL;
	if (dexists && d.ino == s.ino)
		return 0; /* same file (or hard links to it): nothing to do */
	if (dexists && (flags & PROTO_RENAME_NOREPLACE))
		return -EEXIST;
	if (flags & PROTO_RENAME_EXCHANGE) {
		if (!dexists)
			return -ENOENT;
		if (d.type == PROTO_T_DIR && path_is_within(dst, src))
			return -EINVAL;
	} else if (dexists) {
		if (s.type == PROTO_T_DIR && d.type != PROTO_T_DIR)
			return -ENOTDIR;
		if (s.type != PROTO_T_DIR && d.type == PROTO_T_DIR)
			return -EISDIR;
		if (d.type == PROTO_T_DIR && !dir_is_empty(ns, d.ino))
			return -ENOTEMPTY;
	}
	int64_t t = now_ns();
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	bool same_parent = sp.ino == dp.ino;
	if (flags & PROTO_RENAME_EXCHANGE) {
		put_dirent(wb, sp.ino, sname, d.ino, d.type);
		put_dirent(wb, dp.ino, dname, s.ino, s.type);
		if (!same_parent && s.type != d.type) {
			int delta = (s.type == PROTO_T_DIR) - (d.type == PROTO_T_DIR);
			sp.nlink = (uint32_t)((int)sp.nlink - delta);
			dp.nlink = (uint32_t)((int)dp.nlink + delta);
		}
		d.ctime = t;
		put_inode(wb, &d);
	} else {
		del_dirent(wb, sp.ino, sname);
		if (dexists) {
			if (d.type == PROTO_T_DIR)
				dp.nlink--;
			drop_link(ns, wb, &d, freed, t);
		}
		put_dirent(wb, dp.ino, dname, s.ino, s.type);
		if (s.type == PROTO_T_DIR && !same_parent) {
			sp.nlink--;
			dp.nlink++;
		}
	}
	s.ctime = t;
	put_inode(wb, &s);
	touch_dir(&dp, t);
	if (same_parent) {
		put_inode(wb, &dp);
	} else {
		touch_dir(&sp, t);
		put_inode(wb, &sp);
		put_inode(wb, &dp);
	}
	return commit(ns, wb);
}

/* Deletes the subtree under directory d (entries, inodes, blocks) into wb. */
static int delete_tree(struct nn_ns *ns, leveldb_writebatch_t *wb, struct nn_attr *d,
		       struct nn_blocks *freed, int64_t t, int depth)
{
	if (depth > 4096)
		return -ELOOP;
	uint8_t k[9];
	k[0] = 'D';
	be64_put(k + 1, d->ino);
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	int rc = 0;
	struct nn_attr *c = malloc(sizeof *c);
	if (!c) {
		leveldb_iter_destroy(it);
		return -ENOMEM;
	}
	for (leveldb_iter_seek(it, (const char *)k, 9); leveldb_iter_valid(it);
	     leveldb_iter_next(it)) {
		size_t kl, vl;
		const char *key = leveldb_iter_key(it, &kl);
		if (kl <= 9 || memcmp(key, k, 9))
			break;
		const uint8_t *v = (const uint8_t *)leveldb_iter_value(it, &vl);
		if (vl != 9 || nn_ns_stat_ino(ns, be64_get(v), c)) {
			rc = -EIO;
			break;
		}
		leveldb_writebatch_delete(wb, key, kl);
		if (c->type == PROTO_T_DIR) {
			rc = delete_tree(ns, wb, c, freed, t, depth + 1);
			if (rc)
				break;
		}
		drop_link(ns, wb, c, freed, t);
	}
	free(c);
	leveldb_iter_destroy(it);
	return rc;
}

int nn_ns_delete(struct nn_ns *ns, const char *path, bool recursive, struct nn_blocks *freed)
{
	struct nn_attr p, a;
	char name[PROTO_NAME_MAX + 1];
	bool exists;
	int rc = resolve_parent(ns, path, &p, name, &a, &exists);
	if (rc)
		return rc;
	if (!exists)
		return -ENOENT;
	if (a.type == PROTO_T_DIR && !recursive && !dir_is_empty(ns, a.ino))
		return -ENOTEMPTY;
	int64_t t = now_ns();
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	uint64_t files_before = ns->nfiles, blocks_before = ns->nblocks;
	if (a.type == PROTO_T_DIR) {
		rc = delete_tree(ns, wb, &a, freed, t, 0);
		if (rc) {
			ns->nfiles = files_before;
			ns->nblocks = blocks_before;
			leveldb_writebatch_destroy(wb);
			return rc;
		}
		p.nlink--;
	}
	del_dirent(wb, p.ino, name);
	drop_link(ns, wb, &a, freed, t);
	touch_dir(&p, t);
	put_inode(wb, &p);
	return commit(ns, wb);
}

int nn_ns_setrep(struct nn_ns *ns, const char *path, uint16_t replication,
		 struct nn_attr *out)
{
	if (replication < 1 || replication > PROTO_REPL_MAX)
		return -EINVAL;
	struct nn_attr a;
	int rc = nn_ns_stat(ns, path, &a);
	if (rc)
		return rc;
	if (a.type != PROTO_T_FILE && a.type != PROTO_T_DIR)
		return -EINVAL;
	a.replication = replication;
	a.ctime = now_ns();
	return commit_inode(ns, &a, out);
}

/* ---- POSIX attributes, special files, links ---- */

int nn_ns_setattr(struct nn_ns *ns, const char *path, uint32_t valid, uint32_t mode,
		  uint32_t uid, uint32_t gid, int64_t atime, int64_t mtime, struct nn_attr *out)
{
	struct nn_attr a;
	int rc = nn_ns_stat(ns, path, &a);
	if (rc)
		return rc;
	if (valid & PROTO_SET_MODE)
		a.mode = mode & 07777;
	if (valid & PROTO_SET_UID)
		a.uid = uid;
	if (valid & PROTO_SET_GID)
		a.gid = gid;
	if (valid & PROTO_SET_ATIME)
		a.atime = atime;
	if (valid & PROTO_SET_MTIME)
		a.mtime = mtime;
	a.ctime = now_ns();
	return commit_inode(ns, &a, out);
}

/* Adds a new non-directory, non-file inode (a filled in by the caller) at path. */
static int add_node(struct nn_ns *ns, const char *path, struct nn_attr *a, uint8_t type,
		    uint32_t mode, uint32_t uid, uint32_t gid)
{
	struct nn_attr parent, old;
	char name[PROTO_NAME_MAX + 1];
	bool exists;
	int rc = resolve_parent(ns, path, &parent, name, &old, &exists);
	if (rc == -EBUSY)
		return -EEXIST;
	if (rc)
		return rc;
	if (exists)
		return -EEXIST;
	int64_t t = now_ns();
	char target[sizeof a->target];
	uint32_t rdev = a->rdev;
	memcpy(target, a->target, sizeof target);
	init_child(ns, a, type, mode, uid, gid, t);
	memcpy(a->target, target, sizeof target);
	a->rdev = rdev;
	if (type == PROTO_T_SYMLINK)
		a->size = strlen(a->target);
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	put_dirent(wb, parent.ino, name, a->ino, type);
	put_inode(wb, a);
	touch_dir(&parent, t);
	put_inode(wb, &parent);
	put_counters(ns, wb);
	ns->nfiles++;
	return commit(ns, wb);
}

int nn_ns_symlink(struct nn_ns *ns, const char *path, const char *target, uint32_t uid,
		  uint32_t gid, struct nn_attr *out)
{
	size_t n = strlen(target);
	if (!n)
		return -ENOENT;
	if (n > PROTO_PATH_MAX)
		return -ENAMETOOLONG;
	struct nn_attr a;
	memset(&a, 0, sizeof a);
	memcpy(a.target, target, n + 1);
	int rc = add_node(ns, path, &a, PROTO_T_SYMLINK, 0777, uid, gid);
	if (!rc && out)
		*out = a;
	return rc;
}

int nn_ns_mknod(struct nn_ns *ns, const char *path, uint8_t type, uint32_t mode,
		uint32_t rdev, uint32_t uid, uint32_t gid, struct nn_attr *out)
{
	if (type != PROTO_T_FIFO && type != PROTO_T_CHR && type != PROTO_T_BLK &&
	    type != PROTO_T_SOCK)
		return -EINVAL;
	struct nn_attr a;
	memset(&a, 0, sizeof a);
	a.rdev = rdev;
	int rc = add_node(ns, path, &a, type, mode, uid, gid);
	if (!rc && out)
		*out = a;
	return rc;
}

int nn_ns_link(struct nn_ns *ns, const char *existing, const char *newpath,
	       struct nn_attr *out)
{
	struct nn_attr a, parent, old;
	int rc = nn_ns_stat(ns, existing, &a);
	if (rc)
		return rc;
	if (a.type == PROTO_T_DIR)
		return -EPERM;
	if (a.nlink >= 65000)
		return -EMLINK;
	char name[PROTO_NAME_MAX + 1];
	bool exists;
	rc = resolve_parent(ns, newpath, &parent, name, &old, &exists);
	if (rc == -EBUSY)
		return -EEXIST;
	if (rc)
		return rc;
	if (exists)
		return -EEXIST;
	int64_t t = now_ns();
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	a.nlink++;
	a.ctime = t;
	put_dirent(wb, parent.ino, name, a.ino, a.type);
	put_inode(wb, &a);
	touch_dir(&parent, t);
	put_inode(wb, &parent);
	rc = commit(ns, wb);
	if (!rc && out)
		*out = a;
	return rc;
}

/* ---- extended attributes ---- */

static size_t key_xattr(uint8_t *k, uint64_t ino, const char *name)
{
	size_t n = strlen(name);
	k[0] = 'X';
	be64_put(k + 1, ino);
	memcpy(k + 9, name, n);
	return 9 + n;
}

static int xattr_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (!n)
		return -EINVAL;
	return n > PROTO_NAME_MAX ? -ERANGE : 0;
}

/* Checks name, resolves path into *a and builds the attribute's key into k (*kl). */
static int xattr_resolve(struct nn_ns *ns, const char *path, const char *name,
			 struct nn_attr *a, uint8_t k[9 + PROTO_NAME_MAX + 1], size_t *kl)
{
	int rc = xattr_name_ok(name);
	if (!rc)
		rc = nn_ns_stat(ns, path, a);
	if (!rc)
		*kl = key_xattr(k, a->ino, name);
	return rc;
}

/* 0 when key k is set, -ENOENT when not, or another -errno. */
static int xattr_exists(struct nn_ns *ns, const uint8_t *k, size_t kl)
{
	struct buf v = BUF_INIT;
	int rc = db_get(ns, k, kl, &v);
	buf_free(&v);
	return rc;
}

/* Every attribute name of inode ino, each NUL-terminated, into out (reset first). */
static void xattr_names(struct nn_ns *ns, uint64_t ino, struct buf *out)
{
	buf_reset(out);
	uint8_t px[9];
	px[0] = 'X';
	be64_put(px + 1, ino);
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	for (leveldb_iter_seek(it, (const char *)px, 9); leveldb_iter_valid(it);
	     leveldb_iter_next(it)) {
		size_t kl;
		const char *key = leveldb_iter_key(it, &kl);
		if (kl <= 9 || memcmp(key, px, 9))
			break;
		buf_add(out, key + 9, kl - 9);
		buf_add(out, "", 1);
	}
	leveldb_iter_destroy(it);
}

int nn_ns_xattr_set(struct nn_ns *ns, const char *path, const char *name, const void *value,
		    size_t len, uint32_t flags)
{
	if (len > NN_XATTR_MAX)
		return -E2BIG;
	struct nn_attr a;
	uint8_t k[9 + PROTO_NAME_MAX + 1];
	size_t kl;
	int rc = xattr_resolve(ns, path, name, &a, k, &kl);
	if (rc)
		return rc;
	rc = xattr_exists(ns, k, kl);
	if (rc && rc != -ENOENT)
		return rc;
	if (!rc && (flags & PROTO_XATTR_CREATE))
		return -EEXIST;
	if (rc == -ENOENT && (flags & PROTO_XATTR_REPLACE))
		return -ENODATA;
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	leveldb_writebatch_put(wb, (const char *)k, kl, value ? value : "", len);
	a.flags |= PROTO_A_XATTRS;
	a.ctime = now_ns();
	put_inode(wb, &a);
	return commit(ns, wb);
}

int nn_ns_xattr_get(struct nn_ns *ns, const char *path, const char *name, struct buf *out)
{
	struct nn_attr a;
	uint8_t k[9 + PROTO_NAME_MAX + 1];
	size_t kl;
	int rc = xattr_resolve(ns, path, name, &a, k, &kl);
	if (rc)
		return rc;
	rc = db_get(ns, k, kl, out);
	return rc == -ENOENT ? -ENODATA : rc;
}

int nn_ns_xattr_list(struct nn_ns *ns, const char *path, struct buf *out)
{
	struct nn_attr a;
	int rc = nn_ns_stat(ns, path, &a);
	if (!rc)
		xattr_names(ns, a.ino, out);
	return rc;
}

int nn_ns_xattr_remove(struct nn_ns *ns, const char *path, const char *name)
{
	struct nn_attr a;
	uint8_t k[9 + PROTO_NAME_MAX + 1];
	size_t kl;
	int rc = xattr_resolve(ns, path, name, &a, k, &kl);
	if (rc)
		return rc;
	rc = xattr_exists(ns, k, kl);
	if (rc)
		return rc == -ENOENT ? -ENODATA : rc;
	/* the last one gone: clear the inode's flag */
	struct buf names = BUF_INIT;
	xattr_names(ns, a.ino, &names);
	if (names.len == strlen(name) + 1)
		a.flags &= (uint8_t)~PROTO_A_XATTRS;
	buf_free(&names);
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	leveldb_writebatch_delete(wb, (const char *)k, kl);
	a.ctime = now_ns();
	put_inode(wb, &a);
	return commit(ns, wb);
}

/* ---- block rewrites ---- */

int nn_ns_alloc_block(struct nn_ns *ns, uint64_t *id, uint64_t *gs)
{
	*id = ns->next_block++;
	*gs = ns->next_gs++;
	if (ns->next_block <= ns->ceil_block && ns->next_gs <= ns->ceil_gs)
		return 0; /* inside the reserved range: nothing to write */
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	put_counters(ns, wb);
	return commit(ns, wb);
}

int nn_ns_update(struct nn_ns *ns, uint64_t ino, uint64_t size, uint32_t nblocks,
		 const struct nn_ns_change *ch, size_t n, struct nn_blocks *freed,
		 struct nn_attr *out)
{
	struct nn_attr a;
	int rc = open_file(ns, ino, &a);
	if (rc)
		return rc;
	if (a.flags & PROTO_A_UNDER_CONSTRUCTION)
		return -EBUSY;
	struct nn_blocks cur = {0};
	if ((rc = nn_ns_blocks(ns, ino, 0, 0, &cur)))
		goto out;
	rc = -EIO;
	if (cur.n != a.nblocks)
		goto out; /* the inode and its block records disagree */
	/* the new list: current blocks (by slot), then the changes on top */
	uint64_t *lens = calloc(nblocks ? nblocks : 1, sizeof *lens);
	bool *set = calloc(nblocks ? nblocks : 1, sizeof *set);
	rc = -ENOMEM;
	if (!lens || !set)
		goto out_free;
	for (uint32_t i = 0; i < nblocks && i < cur.n; i++) {
		lens[i] = cur.v[i].len;
		set[i] = true;
	}
	rc = -EINVAL;
	for (size_t i = 0; i < n; i++) {
		uint32_t x = ch[i].index;
		if (x >= nblocks || ch[i].len > a.block_size)
			goto out_free;
		uint64_t was = x < cur.n ? cur.v[x].id : 0;
		if (was != ch[i].old_id) {
			rc = -ESTALE;
			goto out_free;
		}
		lens[x] = ch[i].len;
		set[x] = true;
	}
	uint64_t sum = 0;
	for (uint32_t i = 0; i < nblocks; i++) {
		if (!set[i])
			goto out_free; /* a gap nobody filled */
		if (i + 1 < nblocks && lens[i] != a.block_size)
			goto out_free; /* only the last block may be short */
		sum += lens[i];
	}
	if (sum != size)
		goto out_free;
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	uint8_t k[13];
	for (size_t i = nblocks; i < cur.n; i++) {
		leveldb_writebatch_delete(wb, (const char *)k, key_block(k, ino, (uint32_t)i));
		if (cur.v[i].id) {
			if (freed)
				nn_blocks_push(freed, &cur.v[i]);
			ns->nblocks--;
		}
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t x = ch[i].index;
		if (x < cur.n && cur.v[x].id) {
			if (freed)
				nn_blocks_push(freed, &cur.v[x]);
			ns->nblocks--;
		}
		struct nn_blockrec b = {.id = ch[i].new_id, .gs = ch[i].new_id ? ch[i].gs : 0,
					.len = ch[i].len, .ino = ino, .index = x};
		put_block(wb, ino, x, &b);
		if (b.id)
			ns->nblocks++;
	}
	a.nblocks = nblocks;
	a.size = size;
	a.mtime = a.ctime = now_ns();
	put_inode(wb, &a);
	rc = commit(ns, wb);
	if (!rc && out)
		*out = a;
out_free:
	free(lens);
	free(set);
out:
	nn_blocks_free(&cur);
	return rc;
}

int nn_ns_set_block_size(struct nn_ns *ns, const char *path, uint64_t block_size,
			 struct nn_attr *out)
{
	if (block_size % PROTO_CHUNK_SIZE || block_size > (1ULL << 40))
		return -EINVAL;
	struct nn_attr a;
	int rc = nn_ns_stat(ns, path, &a);
	if (rc)
		return rc;
	if (a.type == PROTO_T_FILE && a.nblocks)
		return -EBUSY; /* its blocks are laid out already */
	if (a.type != PROTO_T_FILE && a.type != PROTO_T_DIR)
		return -EINVAL;
	if (!block_size && a.type == PROTO_T_FILE)
		return -EINVAL;
	a.block_size = block_size;
	a.ctime = now_ns();
	return commit_inode(ns, &a, out);
}

/* ---------- backup and restore ---------- */

struct nn_ns_dump {
	struct nn_ns *ns;
	const leveldb_snapshot_t *snap;
	leveldb_readoptions_t *ropts;
	leveldb_iterator_t *it;
};

int nn_ns_dump_start(struct nn_ns *ns, struct nn_ns_dump **out)
{
	struct nn_ns_dump *d = calloc(1, sizeof *d);
	if (!d)
		return -ENOMEM;
	d->ns = ns;
	d->snap = leveldb_create_snapshot(ns->db);
	d->ropts = leveldb_readoptions_create();
	leveldb_readoptions_set_snapshot(d->ropts, d->snap);
	leveldb_readoptions_set_fill_cache(d->ropts, 0);
	d->it = leveldb_create_iterator(ns->db, d->ropts);
	leveldb_iter_seek_to_first(d->it);
	*out = d;
	return 0;
}

uint32_t nn_ns_dump_next(struct nn_ns_dump *d, struct buf *out, size_t max_bytes)
{
	uint32_t n = 0;
	size_t start = out->len;
	while (leveldb_iter_valid(d->it) && out->len - start < max_bytes) {
		size_t kl, vl;
		const char *k = leveldb_iter_key(d->it, &kl);
		const char *v = leveldb_iter_value(d->it, &vl);
		pack_u32(out, (uint32_t)kl);
		pack_raw(out, k, kl);
		pack_u32(out, (uint32_t)vl);
		pack_raw(out, v, vl);
		n++;
		leveldb_iter_next(d->it);
	}
	return n;
}

void nn_ns_dump_end(struct nn_ns_dump *d)
{
	if (!d)
		return;
	leveldb_iter_destroy(d->it);
	leveldb_readoptions_destroy(d->ropts);
	leveldb_release_snapshot(d->ns->db, d->snap);
	free(d);
}

int nn_ns_restore(const char *dir, int (*next)(void *arg, struct buf *key, struct buf *value),
		  void *arg)
{
	struct nn_ns *ns;
	int rc = open_db(dir, true, &ns);
	if (rc)
		return rc;
	struct buf k = BUF_INIT, v = BUF_INIT;
	bool have_format = false;
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	size_t batched = 0;
	while ((rc = next(arg, &k, &v)) == 1) {
		if (k.len == 1 && k.data[0] == 'V')
			have_format = v.len == 10 && !memcmp(v.data, "dfs-ns", 6) &&
				      be32_get((uint8_t *)v.data + 6) == NN_NS_FORMAT;
		leveldb_writebatch_put(wb, k.data, k.len, v.data, v.len);
		batched += k.len + v.len;
		if (batched > (8u << 20)) {
			char *err = NULL;
			leveldb_write(ns->db, ns->wopts_sync, wb, &err);
			leveldb_writebatch_clear(wb);
			batched = 0;
			if (err) {
				log_error("restore: %s", err);
				leveldb_free(err);
				rc = -EIO;
				break;
			}
		}
	}
	if (!rc && !have_format)
		rc = -EPROTO; /* not a dfs namespace of this format */
	if (!rc) {
		char *err = NULL;
		leveldb_write(ns->db, ns->wopts_sync, wb, &err);
		if (err) {
			log_error("restore: %s", err);
			leveldb_free(err);
			rc = -EIO;
		}
	}
	leveldb_writebatch_destroy(wb);
	buf_free(&k);
	buf_free(&v);
	nn_ns_close(ns);
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
