/*
 * ns_store: the namespace's storage layer -- its on-disk format (keys and the record
 * codec, laid out in ns_int.h), reads through the hot-record cache, the overlay and
 * group-commit batch, the id counters, and open / format / close / sync. Loop thread
 * only (no locks); `dfs-namenode format` also runs nn_ns_format on its main thread
 * before any loop exists.
 *
 * The overlay and group commit. Every mutation is one LevelDB WriteBatch handed to
 * nn_ns_commit, which
 *   1. applies it at once without sync, so the very next request reads it: LevelDB's
 *      memtable is the in-memory overlay of pending mutations, readable before sync;
 *   2. replays its puts and deletes into the hot cache (nscache.h), so the cache never
 *      holds a value LevelDB does not;
 *   3. appends it to ns->pending, the turn's merged batch, and sets ns->dirty.
 * nn_ns_sync writes that merged batch again with sync=true -- one fsync for every
 * mutation of the loop turn -- and the server holds every reply of the turn until it
 * returns. Re-applying the same puts and deletes in the same order is idempotent, and
 * the synced copy lands in the current log whatever log file the unsynced copies went
 * to, so a crash after the sync loses nothing that was answered, and a crash before it
 * loses only mutations nobody was told about. nn_ns_close syncs what is pending.
 *
 * Counters. "C" is written in the same batch as the mutation that used it (a new
 * inode, a new block), so ids and the records using them become durable together.
 * Inode numbers, block ids and genstamps are reserved in ranges of NN_ID_RESERVE: "C"
 * holds the end of the range, so most allocations write nothing, and nn_ns_open resumes
 * at the stored end -- past anything handed out before a crash, synced or not (a
 * deferred create, ns_defer.c, hands out an inode number that nothing records yet).
 */
#include "ns_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "grow.h"
#include "buf.h"
#include "fsutil.h"
#include "log.h"
#include "nscache.h"
#include "pack.h"

#define NN_ID_RESERVE 65536
#define NN_NS_MAGIC "dfs-ns"
#define NN_NS_MAGIC_LEN 6
#define NN_NS_FORMAT_REC_LEN (NN_NS_MAGIC_LEN + 4)
#define NN_INODE_REC_VERSION 2 /* 1: without the parent (format 1) */

void nn_blocks_push(struct nn_blocks *b, const struct nn_blockrec *r)
{
	if (ALLOC_GROW(b->v, b->n + 1, b->cap))
		abort();
	b->v[b->n++] = *r;
}

void nn_blocks_free(struct nn_blocks *b)
{
	free(b->v);
	memset(b, 0, sizeof *b);
}

int64_t nn_ns_now(void) { return clock_wall_ns(); }

/* ---- keys and records ---- */

size_t nn_ns_key_prefix(uint8_t *k, char tag, uint64_t ino)
{
	k[0] = (uint8_t)tag;
	be64_put(k + 1, ino);
	return NN_NS_PREFIX_LEN;
}

size_t nn_ns_key_inode(uint8_t *k, uint64_t ino) { return nn_ns_key_prefix(k, 'I', ino); }

/* A tag + ino prefix followed by a name (entries and xattrs). */
static size_t key_named(uint8_t *k, char tag, uint64_t ino, const char *name)
{
	size_t n = strlen(name);
	nn_ns_key_prefix(k, tag, ino);
	memcpy(k + NN_NS_PREFIX_LEN, name, n);
	return NN_NS_PREFIX_LEN + n;
}

size_t nn_ns_key_dirent(uint8_t *k, uint64_t parent, const char *name)
{
	return key_named(k, 'D', parent, name);
}

size_t nn_ns_key_xattr(uint8_t *k, uint64_t ino, const char *name)
{
	return key_named(k, 'X', ino, name);
}

size_t nn_ns_key_block(uint8_t *k, uint64_t ino, uint32_t index)
{
	nn_ns_key_prefix(k, 'B', ino);
	be32_put(k + NN_NS_PREFIX_LEN, index);
	return NN_NS_BLOCK_KEY_LEN;
}

void nn_ns_encode_inode(struct buf *b, const struct nn_attr *a)
{
	pack_u8(b, NN_INODE_REC_VERSION);
	attr_pack_fields(b, &a->base);
	pack_u32(b, a->nblocks);
	pack_str(b, a->target);
	pack_u64(b, a->parent);
}

int nn_ns_decode_inode(const void *p, size_t n, uint64_t ino, struct nn_attr *a)
{
	struct unpack u;
	unpack_init(&u, p, n);
	uint8_t v = unpack_u8(&u);
	a->ino = ino;
	attr_unpack_fields(&u, &a->base);
	a->nblocks = unpack_u32(&u);
	unpack_str(&u, a->target, sizeof a->target);
	a->parent = v >= 2 ? unpack_u64(&u) : 0; /* version 1: only met while upgrading */
	if (!unpack_ok(&u) || v < 1 || v > NN_INODE_REC_VERSION) {
		log_error("corrupt inode record %llu", (unsigned long long)ino);
		return -EIO;
	}
	return 0;
}

int nn_ns_decode_block(const void *v, size_t n, struct nn_blockrec *b)
{
	if (n != NN_NS_BLOCK_REC_LEN)
		return -EIO;
	const uint8_t *p = v;
	b->id = be64_get(p);
	b->gs = be64_get(p + 8);
	b->len = be64_get(p + 16);
	return 0;
}

int nn_ns_decode_dirent(const void *v, size_t n, uint64_t *child)
{
	if (n != NN_NS_DIRENT_REC_LEN)
		return -EIO;
	*child = be64_get(v);
	return 0;
}

bool nn_ns_is_format_record(const void *v, size_t n, uint32_t *format)
{
	if (n != NN_NS_FORMAT_REC_LEN || memcmp(v, NN_NS_MAGIC, NN_NS_MAGIC_LEN))
		return false;
	*format = be32_get((const uint8_t *)v + NN_NS_MAGIC_LEN);
	return true;
}

/* ---- reads ---- */

/* Only inodes and entries are cached: they are what path resolution reads. */
static bool is_cached_key(const uint8_t *k, size_t kl)
{
	return kl && (k[0] == 'I' || k[0] == 'D');
}

int nn_ns_db_get(struct nn_ns *ns, const uint8_t *k, size_t kl, struct buf *val)
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

/* ---- writes ---- */

void nn_ns_put_counters(struct nn_ns *ns, leveldb_writebatch_t *wb)
{
	uint8_t v[24];
	if (ns->next_ino > ns->ceil_ino)
		ns->ceil_ino = ns->next_ino + NN_ID_RESERVE;
	be64_put(v, ns->ceil_ino);
	if (ns->next_block > ns->ceil_block || ns->next_gs > ns->ceil_gs) {
		ns->ceil_block = ns->next_block + NN_ID_RESERVE;
		ns->ceil_gs = ns->next_gs + NN_ID_RESERVE;
	}
	be64_put(v + 8, ns->ceil_block);
	be64_put(v + 16, ns->ceil_gs);
	leveldb_writebatch_put(wb, "C", 1, (const char *)v, sizeof v);
}

void nn_ns_put_inode(leveldb_writebatch_t *wb, const struct nn_attr *a)
{
	uint8_t k[NN_NS_PREFIX_LEN];
	struct buf v = BUF_INIT;
	nn_ns_encode_inode(&v, a);
	leveldb_writebatch_put(wb, (const char *)k, nn_ns_key_inode(k, a->ino), v.data, v.len);
	buf_free(&v);
}

void nn_ns_put_dirent(leveldb_writebatch_t *wb, uint64_t parent, const char *name,
		      uint64_t child, uint8_t type)
{
	uint8_t k[NN_NS_KEY_MAX], v[NN_NS_DIRENT_REC_LEN];
	be64_put(v, child);
	v[8] = type;
	leveldb_writebatch_put(wb, (const char *)k, nn_ns_key_dirent(k, parent, name),
			       (const char *)v, sizeof v);
}

void nn_ns_del_dirent(leveldb_writebatch_t *wb, uint64_t parent, const char *name)
{
	uint8_t k[NN_NS_KEY_MAX];
	leveldb_writebatch_delete(wb, (const char *)k, nn_ns_key_dirent(k, parent, name));
}

void nn_ns_put_block(leveldb_writebatch_t *wb, uint64_t ino, uint32_t index,
		     const struct nn_blockrec *b)
{
	uint8_t k[NN_NS_BLOCK_KEY_LEN], v[NN_NS_BLOCK_REC_LEN];
	be64_put(v, b->id);
	be64_put(v + 8, b->gs);
	be64_put(v + 16, b->len);
	leveldb_writebatch_put(wb, (const char *)k, nn_ns_key_block(k, ino, index),
			       (const char *)v, sizeof v);
}

void nn_ns_del_block(leveldb_writebatch_t *wb, uint64_t ino, uint32_t index)
{
	uint8_t k[NN_NS_BLOCK_KEY_LEN];
	leveldb_writebatch_delete(wb, (const char *)k, nn_ns_key_block(k, ino, index));
}

/* Notes what record key k changed, when tracking (nn_ns_track). */
static void touch(struct nn_ns *ns, const char *k, size_t kl)
{
	if (!ns->track || kl < NN_NS_PREFIX_LEN)
		return;
	char kind = k[0] == 'X' || k[0] == 'U' ? 'I' : k[0];
	if (kind != 'I' && kind != 'B' && kind != 'D')
		return;
	uint64_t ino = be64_get((const uint8_t *)k + 1);
	size_t nl = kind == 'D' ? kl - NN_NS_PREFIX_LEN : 0;
	if (nl > PROTO_NAME_MAX)
		return;
	for (size_t i = ns->ntouched; i-- > 0 && ns->ntouched - i <= 4;) {
		struct nn_ns_touch *t = &ns->touched[i]; /* the same record again, lately */
		if (t->ino == ino && t->kind == kind &&
		    (kind != 'D' || (strlen(t->name) == nl && !memcmp(t->name, k + 9, nl))))
			return;
	}
	if (ALLOC_GROW(ns->touched, ns->ntouched + 1, ns->captouched))
		return;
	struct nn_ns_touch *t = &ns->touched[ns->ntouched++];
	t->ino = ino;
	t->kind = kind;
	memcpy(t->name, k + NN_NS_PREFIX_LEN, nl);
	t->name[nl] = 0;
}

void nn_ns_track(struct nn_ns *ns, bool on)
{
	ns->track = on;
	if (!on)
		nn_ns_touched_clear(ns);
}

size_t nn_ns_touched(const struct nn_ns *ns, const struct nn_ns_touch **out)
{
	*out = ns->touched;
	return ns->ntouched;
}

void nn_ns_touched_clear(struct nn_ns *ns) { ns->ntouched = 0; }

static void cache_put(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	struct nn_ns *ns = arg;
	touch(ns, k, kl);
	if (is_cached_key((const uint8_t *)k, kl))
		nn_nscache_put(ns->hot, k, kl, v, vl);
}

static void cache_del(void *arg, const char *k, size_t kl)
{
	struct nn_ns *ns = arg;
	touch(ns, k, kl);
	if (is_cached_key((const uint8_t *)k, kl))
		nn_nscache_del(ns->hot, k, kl);
}

int nn_ns_commit(struct nn_ns *ns, leveldb_writebatch_t *wb)
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

int nn_ns_commit_inode(struct nn_ns *ns, const struct nn_attr *a, struct nn_attr *out)
{
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	nn_ns_put_inode(wb, a);
	int rc = nn_ns_commit(ns, wb);
	if (!rc && out)
		*out = *a;
	return rc;
}

bool nn_ns_dirty(const struct nn_ns *ns) { return ns->dirty; }
uint64_t nn_ns_syncs(const struct nn_ns *ns) { return ns->syncs; }

int nn_ns_sync(struct nn_ns *ns)
{
	if (!ns->dirty)
		return 0;
	char *err = NULL;
	leveldb_write(ns->db, ns->wopts_sync, ns->pending, &err);
	leveldb_writebatch_clear(ns->pending);
	ns->dirty = false;
	ns->syncs++;
	if (err) {
		log_error("namespace sync failed: %s", err);
		leveldb_free(err);
		return -EIO;
	}
	return 0;
}

int nn_ns_alloc_block(struct nn_ns *ns, uint64_t *id, uint64_t *gs)
{
	*id = ns->next_block++;
	*gs = ns->next_gs++;
	if (ns->next_block <= ns->ceil_block && ns->next_gs <= ns->ceil_gs)
		return 0; /* inside the reserved range: nothing to write */
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	nn_ns_put_counters(ns, wb);
	return nn_ns_commit(ns, wb);
}

uint64_t nn_ns_files(const struct nn_ns *ns) { return ns->nfiles; }
uint64_t nn_ns_block_count(const struct nn_ns *ns) { return ns->nblocks; }

/* ---- open / format ---- */

int nn_ns_open_db(const char *dir, bool create, struct nn_ns **out)
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
	nn_ns_defer_free(ns);
	free(ns->touched);
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
	int rc = nn_ns_open_db(dir, true, &ns);
	if (rc)
		return rc;
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	uint8_t v[NN_NS_FORMAT_REC_LEN];
	memcpy(v, NN_NS_MAGIC, NN_NS_MAGIC_LEN);
	be32_put(v + NN_NS_MAGIC_LEN, NN_NS_FORMAT);
	leveldb_writebatch_put(wb, "V", 1, (const char *)v, sizeof v);
	ns->next_ino = NN_ROOT_INO + 1;
	ns->next_block = 1ULL << 32; /* ids stay far from small numbers in logs */
	ns->next_gs = 1000;
	nn_ns_put_counters(ns, wb);
	int64_t t = nn_ns_now();
	struct nn_attr root = {.ino = NN_ROOT_INO, .type = PROTO_T_DIR, .mode = 0755,
			       .nlink = 2, .parent = NN_ROOT_INO, .mtime = t, .atime = t, .ctime = t};
	nn_ns_put_inode(wb, &root);
	rc = nn_ns_commit(ns, wb);
	if (!rc)
		rc = nn_ns_sync(ns);
	nn_ns_close(ns);
	return rc;
}

int nn_ns_open(const char *dir, const struct nn_ns_defaults *defaults, struct nn_ns **out)
{
	struct nn_ns *ns;
	int rc = nn_ns_open_db(dir, false, &ns);
	if (rc)
		return rc;
	ns->defaults = *defaults;
	struct buf v = BUF_INIT;
	uint32_t fmt;
	rc = nn_ns_db_get(ns, (const uint8_t *)"V", 1, &v);
	if (rc || !nn_ns_is_format_record(v.data, v.len, &fmt)) {
		log_error("'%s' holds no dfs namespace", dir);
		rc = -ENOENT;
		goto out;
	}
	if (fmt < NN_NS_FORMAT) {
		log_error("namespace '%s' has format %u, this namenode uses %u: run "
			  "'dfs-namenode upgrade --dir %s' first", dir, fmt, NN_NS_FORMAT, dir);
		rc = -EUCLEAN;
		goto out;
	}
	if (fmt > NN_NS_FORMAT) {
		log_error("namespace '%s' has format %u, newer than this namenode's %u: run the "
			  "dfs-namenode that wrote it", dir, fmt, NN_NS_FORMAT);
		rc = -EPROTONOSUPPORT;
		goto out;
	}
	rc = nn_ns_refresh(ns);
out:
	buf_free(&v);
	if (rc)
		nn_ns_close(ns);
	else
		*out = ns;
	return rc;
}

int nn_ns_refresh(struct nn_ns *ns)
{
	struct buf v = BUF_INIT;
	nn_nscache_clear(ns->hot);
	int rc = nn_ns_db_get(ns, (const uint8_t *)"C", 1, &v);
	if (rc || v.len != 24) {
		buf_free(&v);
		return -EIO;
	}
	ns->next_ino = ns->ceil_ino = ns->first_ino = be64_get((uint8_t *)v.data);
	ns->next_block = ns->ceil_block = be64_get((uint8_t *)v.data + 8);
	ns->next_gs = ns->ceil_gs = be64_get((uint8_t *)v.data + 16);
	buf_free(&v);
	/* count inodes (blocks are counted by nn_ns_scan_blocks at start-up) */
	ns->nfiles = ns->nblocks = 0;
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	for (leveldb_iter_seek(it, "I", 1); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t kl;
		const char *k = leveldb_iter_key(it, &kl);
		if (kl < 1 || k[0] != 'I')
			break;
		ns->nfiles++;
	}
	leveldb_iter_destroy(it);
	return 0;
}

/* ---- upgrade ---- */

/*
 * Format 1 -> 2: directories learn their parent (inode record version 2), which
 * inode-addressed renames need to refuse moving a directory into itself. Every inode
 * is rewritten as version 2; a directory's parent comes from the one "D" entry naming
 * it, the root's is itself.
 */
static int upgrade_dir_parents(struct nn_ns *ns, leveldb_writebatch_t *wb)
{
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	struct nn_attr *a = malloc(sizeof *a);
	int rc = a ? 0 : -ENOMEM;
	/* first every inode as version 2 (parent 0), then the directories' parents on top:
	 * a later put of the same key in one batch wins */
	for (leveldb_iter_seek(it, "I", 1); !rc && leveldb_iter_valid(it);
	     leveldb_iter_next(it)) {
		size_t kl, vl;
		const uint8_t *key = (const uint8_t *)leveldb_iter_key(it, &kl);
		if (kl < 1 || key[0] != 'I')
			break;
		const char *v = leveldb_iter_value(it, &vl);
		if (kl != NN_NS_PREFIX_LEN || nn_ns_decode_inode(v, vl, be64_get(key + 1), a))
			rc = -EIO;
		else if (a->ino == NN_ROOT_INO || a->type != PROTO_T_DIR) {
			a->parent = a->ino == NN_ROOT_INO ? NN_ROOT_INO : 0;
			nn_ns_put_inode(wb, a);
		}
	}
	for (leveldb_iter_seek(it, "D", 1); !rc && leveldb_iter_valid(it);
	     leveldb_iter_next(it)) {
		size_t kl, vl;
		const uint8_t *key = (const uint8_t *)leveldb_iter_key(it, &kl);
		if (kl < 1 || key[0] != 'D')
			break;
		const uint8_t *v = (const uint8_t *)leveldb_iter_value(it, &vl);
		uint64_t child;
		if (kl <= NN_NS_PREFIX_LEN || nn_ns_decode_dirent(v, vl, &child))
			rc = -EIO;
		else if (v[8] == PROTO_T_DIR && !(rc = nn_ns_stat_ino(ns, child, a))) {
			a->parent = be64_get(key + 1);
			nn_ns_put_inode(wb, a);
		}
	}
	free(a);
	leveldb_iter_destroy(it);
	return rc;
}

/*
 * The steps from each older format, in order: step i takes format from_format to
 * from_format + 1 by adding its changes to wb (the "V" record is added after it).
 * Format 1 was the first, so an older namespace cannot exist.
 */
static const struct {
	uint32_t from_format;
	int (*step)(struct nn_ns *ns, leveldb_writebatch_t *wb);
} upgrades[] = {{1, upgrade_dir_parents}};

int nn_ns_upgrade(const char *dir, uint32_t *from, struct buf *why)
{
	struct nn_ns *ns;
	int rc = nn_ns_open_db(dir, false, &ns);
	if (rc) {
		buf_printf(why, "cannot open namespace '%s'", dir);
		return rc;
	}
	struct buf v = BUF_INIT;
	uint32_t fmt = 0;
	rc = nn_ns_db_get(ns, (const uint8_t *)"V", 1, &v);
	if (rc || !nn_ns_is_format_record(v.data, v.len, &fmt)) {
		buf_printf(why, "'%s' holds no dfs namespace", dir);
		rc = -ENOENT;
		goto out;
	}
	*from = fmt;
	if (fmt > NN_NS_FORMAT) {
		buf_printf(why, "namespace '%s' has format %u, newer than this namenode's %u", dir,
			   fmt, NN_NS_FORMAT);
		rc = -EPROTONOSUPPORT;
		goto out;
	}
	while (fmt < NN_NS_FORMAT) {
		size_t i = 0;
		while (i < sizeof upgrades / sizeof upgrades[0] &&
		       (upgrades[i].from_format != fmt || !upgrades[i].step))
			i++;
		if (i == sizeof upgrades / sizeof upgrades[0]) {
			buf_printf(why, "no upgrade from namespace format %u to %u", fmt, fmt + 1);
			rc = -ENOTSUP;
			goto out;
		}
		leveldb_writebatch_t *wb = leveldb_writebatch_create();
		rc = upgrades[i].step(ns, wb);
		if (rc) {
			leveldb_writebatch_destroy(wb);
		} else {
			uint8_t rec[NN_NS_FORMAT_REC_LEN];
			memcpy(rec, NN_NS_MAGIC, NN_NS_MAGIC_LEN);
			be32_put(rec + NN_NS_MAGIC_LEN, fmt + 1);
			leveldb_writebatch_put(wb, "V", 1, (const char *)rec, sizeof rec);
			rc = nn_ns_commit(ns, wb);
		}
		if (!rc)
			rc = nn_ns_sync(ns);
		if (rc) {
			buf_printf(why, "upgrading namespace '%s' from format %u failed", dir, fmt);
			goto out;
		}
		fmt++;
	}
out:
	buf_free(&v);
	nn_ns_close(ns);
	return rc;
}
