/*
 * ofile: open-file state of the mount (see ofile.h for the write model and locking).
 *
 * Terms: a slot is block index i of the file, covering [i*bs, (i+1)*bs). `cur` is the
 * committed block list (what the namenode has). `low` is the committed prefix still
 * live: a truncate below the committed size lowers it, so committed bytes past it read
 * as zeros until the next flush rewrites or drops them. Dirty slots hold the slot's
 * whole new contents from byte 0 (bytes past d->len read as zeros).
 */
#include "ofile.h"

#include "bcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "grow.h"

#define FLUSH_DIRTY_SLOTS 64            /* flush on write past this many dirty slots */
#define FLUSH_DIRTY_BYTES (512ull << 20) /* ... or this many buffered bytes */

struct dirty {
	uint32_t index;
	uint8_t *data;
	size_t len, cap;
	/* a slot written from byte 0 in order streams down a pipeline as it fills; the
	 * writer has seen exactly data[0, len) while w is set */
	struct dfs_writer *w;
};

struct ofile {
	uint64_t ino;
	int refs;           /* table.lock */
	struct ofile *next; /* table chain, table.lock */
	pthread_rwlock_t lock;
	struct dfs_client *c;
	uint64_t bs;
	uint64_t size; /* as this mount sees it (read atomically by ofile_overlay) */
	int64_t mtime;
	uint64_t low;
	struct dfs_blocks cur;
	struct dirty *dirty;
	size_t ndirty, capdirty;
	uint64_t dirty_bytes;
	bool unflushed; /* writes or truncates not committed yet (read by ofile_overlay) */
	/* synced[i]: slot i's committed block is known to be on the datanodes' disks
	 * (close stores small blocks in their memory only; fsync syncs the rest) */
	uint8_t *synced;
	size_t nsynced;
	struct dfs_client *kept; /* unlinked while open: reclaim there at the last close */
	/* created here and perhaps not written by the namenode yet (PROTO_CREATE_DEFER):
	 * the first flush commits it even when nothing was written, and makes the create
	 * again (dfs_recreate) if the namenode lost it meanwhile */
	bool unsaved;
	struct ofile_create *made; /* that create, while unsaved */
};

struct ofile_create {
	uint64_t dir;
	uint32_t mode, uid, gid;
	char name[];
};

#define NBUCKETS 1024
static struct {
	pthread_mutex_t lock;
	struct ofile *b[NBUCKETS];
	size_t n; /* ofiles in the table */
} table = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};

/* Slot buffers of a whole block come from a small pool: a fresh 64 MiB buffer costs
 * a page fault per 4 KiB, more than the copy it holds. */
#define POOL_MAX 4
#define WHOLE_MAX (256u << 20) /* bigger blocks grow their buffers instead */
static struct {
	pthread_mutex_t lock;
	void *v[POOL_MAX];
	size_t size[POOL_MAX];
	int n;
} pool = {PTHREAD_MUTEX_INITIALIZER, {0}, {0}, 0};

static void *pool_get(size_t size)
{
	pthread_mutex_lock(&pool.lock);
	for (int i = 0; i < pool.n; i++)
		if (pool.size[i] == size) {
			void *p = pool.v[i];
			pool.v[i] = pool.v[--pool.n];
			pool.size[i] = pool.size[pool.n];
			pthread_mutex_unlock(&pool.lock);
			return p;
		}
	pthread_mutex_unlock(&pool.lock);
	return malloc(size);
}

static void pool_put(void *p, size_t size)
{
	pthread_mutex_lock(&pool.lock);
	if (pool.n < POOL_MAX) {
		pool.v[pool.n] = p;
		pool.size[pool.n++] = size;
		p = NULL;
	}
	pthread_mutex_unlock(&pool.lock);
	free(p);
}


/* ---- page-cache versions ---- */

#define NVERSIONS 8192
static struct {
	pthread_mutex_t lock;
	struct {
		uint64_t ino, size;
		int64_t mtime;
	} v[NVERSIONS];
} versions = {PTHREAD_MUTEX_INITIALIZER, {{0, 0, 0}}};

void ofile_version_note(uint64_t ino, int64_t mtime, uint64_t size)
{
	pthread_mutex_lock(&versions.lock);
	size_t k = ino % NVERSIONS;
	versions.v[k].ino = ino;
	versions.v[k].mtime = mtime;
	versions.v[k].size = size;
	pthread_mutex_unlock(&versions.lock);
}

bool ofile_version_same(const struct dfs_attr *a)
{
	pthread_mutex_lock(&versions.lock);
	uint64_t ino = a->ino;
	size_t k = ino % NVERSIONS;
	bool same = versions.v[k].ino == ino && versions.v[k].mtime == a->mtime &&
		    versions.v[k].size == a->size;
	pthread_mutex_unlock(&versions.lock);
	return same;
}

/* ---- per-thread datanode reader ---- */

static pthread_key_t reader_key;
static pthread_once_t reader_once = PTHREAD_ONCE_INIT;

static void reader_free(void *r) { dfs_reader_close(r); }
static void reader_key_init(void) { pthread_key_create(&reader_key, reader_free); }

static struct dfs_reader *thread_reader(struct dfs_client *c)
{
	pthread_once(&reader_once, reader_key_init);
	struct dfs_reader *r = pthread_getspecific(reader_key);
	if (!r && !dfs_reader_new(c, &r))
		pthread_setspecific(reader_key, r);
	return r;
}

/* ---- table ---- */

static void set_blocks(struct ofile *f, struct dfs_blocks *bp)
{
	struct dfs_blocks b = *bp;
	memset(bp, 0, sizeof *bp);
	dfs_blocks_free(&f->cur);
	f->cur = b;
	free(f->synced);
	f->synced = NULL;
	f->nsynced = 0;
	f->bs = b.attr.block_size;
	f->low = b.attr.size;
	__atomic_store_n(&f->size, b.attr.size, __ATOMIC_RELAXED);
	__atomic_store_n(&f->mtime, b.attr.mtime, __ATOMIC_RELAXED);
}

static int fetch_blocks(struct ofile *f)
{
	struct dfs_blocks b;
	int rc = dfs_file_blocks(f->c, f->ino, 0, 0, &b);
	if (!rc)
		set_blocks(f, &b);
	return rc;
}

int ofile_get(struct dfs_client *c, struct dfs_blocks *b, struct ofile **out)
{
	const struct dfs_attr *attr = &b->attr;
	uint64_t ino = attr->ino;
	size_t k = ino % NBUCKETS;
	pthread_mutex_lock(&table.lock);
	struct ofile *f;
	for (f = table.b[k]; f; f = f->next)
		if (f->ino == ino)
			break;
	if (f) {
		f->refs++;
		pthread_mutex_unlock(&table.lock);
		*out = f;
		return 0;
	}
	pthread_mutex_unlock(&table.lock);
	f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	f->ino = ino;
	f->c = c;
	f->refs = 1;
	pthread_rwlock_init(&f->lock, NULL);
	if (!attr->block_size) {
		pthread_rwlock_destroy(&f->lock);
		free(f);
		return -EIO;
	}
	struct dfs_blocks mine = *b;
	set_blocks(f, b);
	/* another thread may have opened it meanwhile: use theirs */
	pthread_mutex_lock(&table.lock);
	struct ofile *g;
	for (g = table.b[k]; g; g = g->next)
		if (g->ino == ino)
			break;
	if (g) {
		g->refs++;
		pthread_mutex_unlock(&table.lock);
		*b = mine; /* not used after all: back to the caller */
		memset(&f->cur, 0, sizeof f->cur);
		pthread_rwlock_destroy(&f->lock);
		free(f);
		*out = g;
		return 0;
	}
	f->next = table.b[k];
	table.b[k] = f;
	table.n++;
	pthread_mutex_unlock(&table.lock);
	*out = f;
	return 0;
}

static void drop_dirty(struct ofile *f, size_t i)
{
	if (f->dirty[i].w)
		dfs_writer_abort(f->dirty[i].w); /* its block is released with the connection */
	f->dirty_bytes -= f->dirty[i].cap;
	if (f->dirty[i].cap == f->bs && f->bs <= WHOLE_MAX)
		pool_put(f->dirty[i].data, f->dirty[i].cap);
	else
		free(f->dirty[i].data);
	f->dirty[i] = f->dirty[--f->ndirty];
}

void ofile_put(struct ofile *f)
{
	pthread_mutex_lock(&table.lock);
	if (--f->refs > 0) {
		pthread_mutex_unlock(&table.lock);
		return;
	}
	struct ofile **pp = &table.b[f->ino % NBUCKETS];
	while (*pp != f)
		pp = &(*pp)->next;
	*pp = f->next;
	table.n--;
	pthread_mutex_unlock(&table.lock);
	int rc = f->kept ? 0 : ofile_flush(f, false); /* a kept file's data is going */
	if (rc)
		log_error("inode %llu: unflushed writes lost at release: %s",
			  (unsigned long long)f->ino, strerror(-rc));
	if (f->kept && (rc = dfs_reclaim(f->kept, f->ino)))
		log_warn("inode %llu: unlinked while open, not reclaimed (%s): the namenode "
			 "deletes it when this mount goes", (unsigned long long)f->ino,
			 dfs_errmsg()[0] ? dfs_errmsg() : strerror(-rc));
	while (f->ndirty)
		drop_dirty(f, 0);
	free(f->dirty);
	free(f->synced);
	free(f->made);
	dfs_blocks_free(&f->cur);
	pthread_rwlock_destroy(&f->lock);
	free(f);
}

bool ofile_any_open(void)
{
	pthread_mutex_lock(&table.lock);
	bool any = table.n > 0;
	pthread_mutex_unlock(&table.lock);
	return any;
}

bool ofile_is_open(uint64_t ino)
{
	pthread_mutex_lock(&table.lock);
	struct ofile *f;
	for (f = table.b[ino % NBUCKETS]; f; f = f->next)
		if (f->ino == ino)
			break;
	pthread_mutex_unlock(&table.lock);
	return f != NULL;
}

int ofile_flush_ino(uint64_t ino)
{
	pthread_mutex_lock(&table.lock);
	struct ofile *f;
	for (f = table.b[ino % NBUCKETS]; f; f = f->next)
		if (f->ino == ino)
			break;
	if (f)
		f->refs++;
	pthread_mutex_unlock(&table.lock);
	if (!f)
		return 0;
	int rc = ofile_flush(f, false);
	ofile_put(f);
	return rc;
}

void ofile_overlay(struct dfs_attr *a)
{
	pthread_mutex_lock(&table.lock);
	struct ofile *f;
	for (f = table.b[a->ino % NBUCKETS]; f; f = f->next)
		if (f->ino == a->ino)
			break;
	if (f && __atomic_load_n(&f->unflushed, __ATOMIC_RELAXED)) {
		a->size = __atomic_load_n(&f->size, __ATOMIC_RELAXED);
		int64_t mt = __atomic_load_n(&f->mtime, __ATOMIC_RELAXED);
		if (mt > a->mtime)
			a->mtime = mt;
	}
	pthread_mutex_unlock(&table.lock);
}

void ofile_mark_kept(uint64_t ino, struct dfs_client *session)
{
	pthread_mutex_lock(&table.lock);
	struct ofile *f;
	for (f = table.b[ino % NBUCKETS]; f; f = f->next)
		if (f->ino == ino)
			break;
	if (f)
		f->kept = session;
	pthread_mutex_unlock(&table.lock);
	if (!f) /* closed meanwhile: nothing will reclaim it but us */
		dfs_reclaim(session, ino);
}

uint64_t ofile_ino(const struct ofile *f) { return f->ino; }

uint64_t ofile_size(struct ofile *f) { return __atomic_load_n(&f->size, __ATOMIC_RELAXED); }

/* ---- slots ---- */

/* Committed bytes of slot i still live (see `low`). */
static uint64_t live_len(const struct ofile *f, uint32_t i)
{
	if (i >= f->cur.n)
		return 0;
	uint64_t start = (uint64_t)i * f->bs, len = f->cur.v[i].length;
	if (f->low <= start)
		return 0;
	return f->low - start < len ? f->low - start : len;
}

static struct dirty *find_dirty(struct ofile *f, uint32_t i)
{
	for (size_t k = 0; k < f->ndirty; k++)
		if (f->dirty[k].index == i)
			return &f->dirty[k];
	return NULL;
}

static int reserve(struct ofile *f, struct dirty *d, size_t want)
{
	if (want <= d->cap)
		return 0;
	if (!d->cap && f->bs <= WHOLE_MAX) {
		d->data = pool_get((size_t)f->bs);
		if (!d->data)
			return -ENOMEM;
		d->cap = (size_t)f->bs;
		f->dirty_bytes += d->cap;
		return 0;
	}
	size_t cap = d->cap ? d->cap : 64 * 1024;
	while (cap < want)
		cap *= 2;
	if (cap > f->bs)
		cap = (size_t)f->bs;
	uint8_t *p = realloc(d->data, cap);
	if (!p)
		return -ENOMEM;
	f->dirty_bytes += cap - d->cap;
	d->data = p;
	d->cap = cap;
	return 0;
}

/* True when the namenode no longer has committed slot i's block version: another
 * writer replaced it (or cut the file short), so its old replicas may be gone. */
static bool slot_replaced(struct ofile *f, uint32_t i)
{
	const struct dfs_block *mine = &f->cur.v[i];
	struct dfs_blocks now;
	if (dfs_file_blocks(f->c, f->ino, mine->offset, 1, &now))
		return false; /* cannot tell: the read's own error stands */
	bool same = false;
	for (size_t k = 0; k < now.n; k++)
		if (now.v[k].offset == mine->offset)
			same = now.v[k].id == mine->id && now.v[k].genstamp == mine->genstamp;
	dfs_blocks_free(&now);
	return !same;
}

/* Reads committed slot i's [off, off+len) into buf (zeros past its live length).
 * -ESTALE when the version read was replaced by another writer meanwhile (a lost
 * write race, not a cluster failure). */
static int read_committed(struct ofile *f, uint32_t i, uint64_t off, uint64_t len, void *buf)
{
	uint64_t live = live_len(f, i);
	uint64_t n = off < live ? (live - off < len ? live - off : len) : 0;
	if (n < len)
		memset((uint8_t *)buf + n, 0, (size_t)(len - n));
	if (!n)
		return 0;
	struct dfs_reader *r = thread_reader(f->c);
	if (!r)
		return -ENOMEM;
	int rc = dfs_read_block(r, &f->cur.v[i], off, n, buf);
	if (rc == -EIO && slot_replaced(f, i)) {
		log_warn("inode %llu: block %llu was replaced by another writer while this "
			 "one changed it: ESTALE", (unsigned long long)f->ino,
			 (unsigned long long)f->cur.v[i].id);
		return -ESTALE;
	}
	if (rc)
		log_warn("inode %llu: reading block %llu failed: %s", (unsigned long long)f->ino,
			 (unsigned long long)f->cur.v[i].id, dfs_errmsg());
	return rc;
}

/* Makes slot i dirty; loads its live committed bytes unless [0, cover) replaces them. */
static int make_dirty(struct ofile *f, uint32_t i, uint64_t cover, struct dirty **out)
{
	if (ALLOC_GROW(f->dirty, f->ndirty + 1, f->capdirty))
		return -ENOMEM;
	struct dirty d = {.index = i};
	uint64_t live = live_len(f, i);
	if (live > cover) {
		int rc = reserve(f, &d, (size_t)live);
		if (!rc)
			rc = read_committed(f, i, 0, live, d.data);
		if (rc) {
			f->dirty_bytes -= d.cap;
			if (d.cap == f->bs && f->bs <= WHOLE_MAX)
				pool_put(d.data, d.cap);
			else
				free(d.data);
			return rc;
		}
		d.len = (size_t)live;
	}
	f->dirty[f->ndirty] = d;
	*out = &f->dirty[f->ndirty++];
	return 0;
}

static bool has_changes(const struct ofile *f)
{
	return f->ndirty || f->size != f->cur.attr.size || f->low != f->cur.attr.size;
}

/* Puts slot contents as a new block: change ch (its stored part owned by the caller). */
static int put_slot(struct ofile *f, uint32_t i, struct dirty *d, uint64_t len, bool sync,
		    struct dfs_change *ch)
{
	memset(ch, 0, sizeof *ch);
	ch->index = i;
	ch->old_id = i < f->cur.n ? f->cur.v[i].id : 0;
	ch->len = len;
	int rc = -EAGAIN;
	if (d->w && d->len == len) { /* streamed so far: send the rest and finish */
		rc = dfs_block_finish(d->w, sync, &ch->stored);
		d->w = NULL;
		if (rc)
			log_warn("inode %llu: streaming block %u failed (%s); sending it again",
				 (unsigned long long)f->ino, i, dfs_errmsg());
	}
	if (d->w) {
		dfs_writer_abort(d->w);
		d->w = NULL;
	}
	if (rc)
		rc = dfs_put_block(f->c, f->ino, d->data, (size_t)len, sync, &ch->stored);
	if (rc)
		log_error("inode %llu: storing block %u failed: %s", (unsigned long long)f->ino,
			  i, dfs_errmsg());
	return rc;
}

/* Marks slot i synced or not. */
static void mark_synced(struct ofile *f, uint32_t i, bool on)
{
	if (i >= f->nsynced) {
		size_t n = (size_t)i + 64;
		uint8_t *v = realloc(f->synced, n);
		if (!v)
			return; /* then it counts as unsynced: synced again at fsync */
		memset(v + f->nsynced, 0, n - f->nsynced);
		f->synced = v;
		f->nsynced = n;
	}
	f->synced[i] = on;
}

/* The namenode took the update: make cur match (nblocks slots, changes applied). */
static int apply_committed(struct ofile *f, uint32_t nblocks, struct dfs_change *ch, size_t n,
			   bool sync, const struct dfs_attr *a)
{
	bcache_drop(f->ino); /* a kept block list of it is an old one now */
	if (nblocks > f->cur.n) {
		struct dfs_block *v = realloc(f->cur.v, (nblocks + 1) * sizeof *v);
		if (!v)
			return -ENOMEM;
		memset(v + f->cur.n, 0, (nblocks + 1 - f->cur.n) * sizeof *v);
		f->cur.v = v;
	}
	for (size_t k = nblocks; k < f->cur.n; k++) {
		free(f->cur.v[k].locs);
		memset(&f->cur.v[k], 0, sizeof f->cur.v[k]);
	}
	f->cur.n = nblocks;
	for (size_t k = 0; k < n; k++) {
		struct dfs_block *b = &f->cur.v[ch[k].index];
		free(b->locs);
		b->id = ch[k].stored.id;
		b->genstamp = ch[k].stored.genstamp;
		memcpy(b->token, ch[k].stored.token, TOKEN_LEN);
		b->offset = (uint64_t)ch[k].index * f->bs;
		b->length = ch[k].len;
		b->nlocs = ch[k].stored.n;
		b->locs = ch[k].stored.nodes; /* taken */
		ch[k].stored.nodes = NULL;
		ch[k].stored.n = 0;
		mark_synced(f, ch[k].index, sync || !b->id);
	}
	f->cur.attr = *a;
	f->low = a->size;
	__atomic_store_n(&f->mtime, a->mtime, __ATOMIC_RELAXED);
	ofile_version_note(f->ino, a->mtime, a->size); /* the kernel holds our own writes */
	return 0;
}

static void free_changes(struct dfs_change *ch, size_t n)
{
	for (size_t k = 0; k < n; k++)
		dfs_stored_free(&ch[k].stored);
	free(ch);
}

/*
 * A dirty slot just became full: store it and switch the file to it now when that
 * keeps the committed list consistent (streaming writes), freeing its memory.
 */
static int try_commit_full(struct ofile *f, struct dirty *d)
{
	uint32_t i = d->index, n = (uint32_t)f->cur.n;
	uint64_t cs = f->cur.attr.size, newsize;
	uint32_t newn;
	if (f->low != cs)
		return 0; /* a pending truncate: all at the next flush */
	if (i + 1 < n) {
		newsize = cs;
		newn = n;
	} else if (i + 1 == n) {
		newsize = (uint64_t)n * f->bs;
		newn = n;
	} else if (i == n && cs == (uint64_t)n * f->bs) {
		newsize = cs + f->bs;
		newn = n + 1;
	} else {
		return 0;
	}
	struct dfs_change *ch = calloc(1, sizeof *ch);
	if (!ch)
		return -ENOMEM;
	int rc = put_slot(f, i, d, f->bs, true, ch); /* a whole block: worth its fsync */
	struct dfs_attr a;
	if (!rc)
		rc = dfs_update(f->c, f->ino, newsize, newn, ch, 1, &a);
	if (!rc)
		rc = apply_committed(f, newn, ch, 1, true, &a);
	else
		log_error("inode %llu: switching to new block %u failed: %s",
			  (unsigned long long)f->ino, i, dfs_errmsg());
	free_changes(ch, 1);
	if (!rc)
		drop_dirty(f, (size_t)(d - f->dirty));
	return rc;
}

/* Syncs every committed block not known to be on the datanodes' disks. */
static int sync_committed(struct ofile *f)
{
	int rc = 0;
	for (size_t i = 0; i < f->cur.n && !rc; i++) {
		if (i < f->nsynced && f->synced[i])
			continue;
		rc = dfs_sync_block(f->c, &f->cur.v[i]);
		if (rc)
			log_error("inode %llu: syncing block %llu failed: %s",
				  (unsigned long long)f->ino,
				  (unsigned long long)f->cur.v[i].id, dfs_errmsg());
		else
			mark_synced(f, (uint32_t)i, true);
	}
	return rc;
}

static int flush_once(struct ofile *f, bool sync);

/* A flush that the namenode's loss of the file's deferred create failed (a restart or
 * failover between the create and this first commit: the block, or the update, names
 * an inode it does not know) makes the create again, with the same inode number, and
 * flushes once more. */
static int flush_locked(struct ofile *f, bool sync)
{
	int rc = flush_once(f, sync);
	if (!rc || !f->unsaved || !f->made || (rc != -ENOENT && rc != -EINVAL && rc != -ESTALE))
		return rc;
	struct dfs_attr a;
	int rrc = dfs_recreate(f->c, f->ino, f->made->dir, f->made->name, f->made->mode,
			       f->cur.attr.replication, f->cur.attr.block_size, f->made->uid,
			       f->made->gid, &a);
	if (rrc) {
		log_error("inode %llu: the namenode lost its create, and making it again failed: "
			  "%s", (unsigned long long)f->ino, dfs_errmsg()[0] ? dfs_errmsg()
									: strerror(-rrc));
		return rc;
	}
	log_warn("inode %llu: the namenode lost its create (a restart or failover): made it "
		 "again as '%s'", (unsigned long long)f->ino, f->made->name);
	return flush_once(f, sync);
}

static int flush_once(struct ofile *f, bool sync)
{
	if (!has_changes(f) && !f->unsaved) {
		__atomic_store_n(&f->unflushed, false, __ATOMIC_RELAXED);
		return sync ? sync_committed(f) : 0;
	}
	uint64_t size = f->size, bs = f->bs;
	uint32_t nblocks = (uint32_t)((size + bs - 1) / bs);
	struct dfs_change *ch = calloc(nblocks + 1, sizeof *ch);
	if (!ch)
		return -ENOMEM;
	size_t n = 0;
	int rc = 0;
	for (uint32_t i = 0; i < nblocks && !rc; i++) {
		uint64_t want = i + 1 == nblocks ? size - (uint64_t)i * bs : bs;
		struct dirty *d = find_dirty(f, i);
		if (!d) {
			uint64_t live = live_len(f, i);
			bool committed = i < f->cur.n;
			if (committed && live == want && f->cur.v[i].length == want)
				continue; /* unchanged */
			if (!live) { /* nothing live to keep: a hole */
				ch[n].index = i;
				ch[n].old_id = committed ? f->cur.v[i].id : 0;
				ch[n].len = want;
				n++;
				continue;
			}
			rc = make_dirty(f, i, 0, &d);
			if (rc)
				break;
		}
		rc = reserve(f, d, (size_t)want);
		if (rc)
			break;
		if (d->len < want) { /* grown by a truncate: zeros the stream never saw */
			memset(d->data + d->len, 0, (size_t)(want - d->len));
			if (d->w) {
				dfs_writer_abort(d->w);
				d->w = NULL;
			}
		}
		d->len = (size_t)want;
		rc = put_slot(f, i, d, want, sync, &ch[n]);
		if (!rc)
			n++;
	}
	struct dfs_attr a;
	if (!rc) {
		rc = dfs_update(f->c, f->ino, size, nblocks, ch, n, &a);
		if (rc)
			log_error("inode %llu: committing %zu changed blocks failed: %s",
				  (unsigned long long)f->ino, n, dfs_errmsg());
	}
	if (!rc) {
		f->unsaved = false;
		free(f->made);
		f->made = NULL;
	}
	if (!rc)
		rc = apply_committed(f, nblocks, ch, n, sync, &a);
	free_changes(ch, n + 1);
	if (!rc) {
		while (f->ndirty)
			drop_dirty(f, 0);
		__atomic_store_n(&f->unflushed, false, __ATOMIC_RELAXED);
	}
	if (!rc && sync)
		rc = sync_committed(f);
	return rc;
}

void ofile_mark_unsaved(struct ofile *f, uint64_t dir, const char *name, uint32_t mode,
			uint32_t uid, uint32_t gid)
{
	struct ofile_create *m = malloc(sizeof *m + strlen(name) + 1);
	if (m) {
		*m = (struct ofile_create){dir, mode, uid, gid};
		strcpy(m->name, name);
	}
	pthread_rwlock_wrlock(&f->lock);
	f->unsaved = true;
	free(f->made);
	f->made = m; /* without memory a lost create is not made again: the close fails */
	pthread_rwlock_unlock(&f->lock);
}

int ofile_flush(struct ofile *f, bool sync)
{
	pthread_rwlock_wrlock(&f->lock);
	int rc = flush_locked(f, sync);
	pthread_rwlock_unlock(&f->lock);
	return rc;
}

/*
 * Streams a write into slot d down its pipeline when it extends the slot in order
 * from byte 0 (starting the pipeline at the slot's first write); any other write ends
 * streaming for the slot, which is then stored whole when it is committed.
 */
static void stream(struct ofile *f, struct dirty *d, uint64_t in, uint64_t n)
{
	if (!d->w && in == 0 && d->len == 0 && n && d->cap == f->bs &&
	    dfs_block_writer(f->c, f->ino, d->data, f->bs, &d->w))
		d->w = NULL;
	if (!d->w)
		return;
	if (in != d->len || dfs_block_extend(d->w, (size_t)(in + n))) {
		dfs_writer_abort(d->w);
		d->w = NULL;
	}
}

ssize_t ofile_write(struct ofile *f, const void *buf, size_t len, uint64_t off)
{
	if (off + len < off)
		return -EFBIG;
	pthread_rwlock_wrlock(&f->lock);
	__atomic_store_n(&f->unflushed, true, __ATOMIC_RELAXED);
	__atomic_store_n(&f->mtime, clock_wall_ns(), __ATOMIC_RELAXED);
	const uint8_t *p = buf;
	uint64_t pos = off, end = off + len;
	int rc = 0;
	while (pos < end) {
		uint32_t i = (uint32_t)(pos / f->bs);
		uint64_t in = pos % f->bs;
		uint64_t n = f->bs - in < end - pos ? f->bs - in : end - pos;
		struct dirty *d = find_dirty(f, i);
		if (!d && (rc = make_dirty(f, i, in == 0 ? n : 0, &d)))
			break;
		if ((rc = reserve(f, d, (size_t)(in + n))))
			break;
		if (d->w && in != d->len) { /* out of order: no more streaming for the slot */
			dfs_writer_abort(d->w);
			d->w = NULL;
		}
		if (in > d->len)
			memset(d->data + d->len, 0, (size_t)(in - d->len));
		memcpy(d->data + in, p, (size_t)n);
		stream(f, d, in, n);
		if (in + n > d->len)
			d->len = (size_t)(in + n);
		p += n;
		pos += n;
		if (pos > f->size)
			__atomic_store_n(&f->size, pos, __ATOMIC_RELAXED);
		if (d->len == f->bs && (rc = try_commit_full(f, d)))
			break;
	}
	if (!rc && (f->ndirty > FLUSH_DIRTY_SLOTS || f->dirty_bytes > FLUSH_DIRTY_BYTES))
		rc = flush_locked(f, false);
	pthread_rwlock_unlock(&f->lock);
	return rc ? rc : (ssize_t)len;
}

int ofile_truncate(struct ofile *f, uint64_t size)
{
	pthread_rwlock_wrlock(&f->lock);
	for (size_t k = 0; k < f->ndirty;) {
		struct dirty *d = &f->dirty[k];
		uint64_t start = (uint64_t)d->index * f->bs;
		if (start >= size) {
			drop_dirty(f, k);
			continue;
		}
		if (start + d->len > size) {
			d->len = (size_t)(size - start);
			if (d->w) { /* it streamed bytes that are cut now */
				dfs_writer_abort(d->w);
				d->w = NULL;
			}
		}
		k++;
	}
	__atomic_store_n(&f->unflushed, true, __ATOMIC_RELAXED);
	__atomic_store_n(&f->mtime, clock_wall_ns(), __ATOMIC_RELAXED);
	if (size < f->low)
		f->low = size;
	__atomic_store_n(&f->size, size, __ATOMIC_RELAXED);
	pthread_rwlock_unlock(&f->lock);
	return 0;
}

static ssize_t read_locked(struct ofile *f, void *buf, size_t len, uint64_t off)
{
	uint64_t size = f->size;
	if (off >= size || !len)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);
	uint8_t *p = buf;
	uint64_t pos = off, end = off + len;
	while (pos < end) {
		uint32_t i = (uint32_t)(pos / f->bs);
		uint64_t in = pos % f->bs;
		uint64_t n = f->bs - in < end - pos ? f->bs - in : end - pos;
		struct dirty *d = find_dirty(f, i);
		if (d) {
			uint64_t have = in < d->len ? (d->len - in < n ? d->len - in : n) : 0;
			memcpy(p, d->data + in, (size_t)have);
			memset(p + have, 0, (size_t)(n - have));
		} else {
			int rc = read_committed(f, i, in, n, p);
			if (rc)
				return rc;
		}
		p += n;
		pos += n;
	}
	return (ssize_t)len;
}

ssize_t ofile_read(struct ofile *f, void *buf, size_t len, uint64_t off)
{
	pthread_rwlock_rdlock(&f->lock);
	ssize_t rc = read_locked(f, buf, len, off);
	pthread_rwlock_unlock(&f->lock);
	if (rc != -EIO && rc != -ESTALE)
		return rc;
	/* the replicas may be gone because another mount rewrote the file: refetch */
	pthread_rwlock_wrlock(&f->lock);
	if (!has_changes(f) && !fetch_blocks(f))
		rc = read_locked(f, buf, len, off);
	pthread_rwlock_unlock(&f->lock);
	return rc;
}
