/*
 * bcache: kept block lists of closed files (bcache.h). A chained hash of entries, with
 * a FIFO ring of their inode numbers for eviction; an epoch counter per bucket of
 * inode numbers, bumped by every drop, tells a put whether its fetch raced with an
 * invalidation.
 */
#include "bcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define BUCKETS 4096

struct entry {
	struct dfs_blocks b;
	double until; /* clock_now() */
	struct entry *next;
};

static struct {
	pthread_mutex_t lock;
	struct entry *b[BUCKETS];
	uint64_t epoch[BUCKETS];
	uint64_t ring[BCACHE_MAX]; /* inode numbers in put order */
	size_t head, n;
} bc = {.lock = PTHREAD_MUTEX_INITIALIZER};

static size_t bucket(uint64_t ino) { return (size_t)(ino % BUCKETS); }

static int copy_blocks(const struct dfs_blocks *from, struct dfs_blocks *to)
{
	*to = (struct dfs_blocks){.attr = from->attr, .n = 0, .v = NULL};
	if (!from->n)
		return 0;
	to->v = calloc(from->n, sizeof *to->v);
	if (!to->v)
		return -1;
	for (size_t i = 0; i < from->n; i++) {
		to->v[i] = from->v[i];
		to->v[i].locs = NULL;
		if (from->v[i].nlocs) {
			size_t sz = from->v[i].nlocs * sizeof *from->v[i].locs;
			to->v[i].locs = malloc(sz);
			if (!to->v[i].locs) {
				to->n = i;
				dfs_blocks_free(to);
				return -1;
			}
			memcpy(to->v[i].locs, from->v[i].locs, sz);
		}
		to->n = i + 1;
	}
	return 0;
}

/* Unlinks and frees ino's entry (bc.lock held); true when there was one. */
static bool remove_locked(uint64_t ino)
{
	struct entry **pp = &bc.b[bucket(ino)];
	while (*pp && (*pp)->b.attr.ino != ino)
		pp = &(*pp)->next;
	struct entry *e = *pp;
	if (!e)
		return false;
	*pp = e->next;
	dfs_blocks_free(&e->b);
	free(e);
	return true;
}

uint64_t bcache_epoch(uint64_t ino)
{
	pthread_mutex_lock(&bc.lock);
	uint64_t ep = bc.epoch[bucket(ino)];
	pthread_mutex_unlock(&bc.lock);
	return ep;
}

void bcache_put(const struct dfs_blocks *b, uint64_t epoch)
{
	if (b->n > BCACHE_BLOCKS_MAX || b->attr.type != PROTO_T_FILE)
		return;
	struct entry *e = calloc(1, sizeof *e);
	if (!e || copy_blocks(b, &e->b)) {
		free(e);
		return;
	}
	e->until = clock_now() + BCACHE_TTL_S;
	uint64_t ino = b->attr.ino;
	pthread_mutex_lock(&bc.lock);
	if (bc.epoch[bucket(ino)] != epoch) { /* invalidated while it was fetched */
		pthread_mutex_unlock(&bc.lock);
		dfs_blocks_free(&e->b);
		free(e);
		return;
	}
	remove_locked(ino);
	if (bc.n == BCACHE_MAX) { /* the oldest goes (if it is still there) */
		remove_locked(bc.ring[bc.head]);
		bc.head = (bc.head + 1) % BCACHE_MAX;
		bc.n--;
	}
	bc.ring[(bc.head + bc.n) % BCACHE_MAX] = ino;
	bc.n++;
	e->next = bc.b[bucket(ino)];
	bc.b[bucket(ino)] = e;
	pthread_mutex_unlock(&bc.lock);
}

bool bcache_get(uint64_t ino, struct dfs_blocks *out)
{
	bool hit = false;
	pthread_mutex_lock(&bc.lock);
	struct entry *e = bc.b[bucket(ino)];
	while (e && e->b.attr.ino != ino)
		e = e->next;
	if (e && e->until < clock_now())
		remove_locked(ino);
	else if (e)
		hit = !copy_blocks(&e->b, out);
	pthread_mutex_unlock(&bc.lock);
	return hit;
}

void bcache_drop(uint64_t ino)
{
	pthread_mutex_lock(&bc.lock);
	bc.epoch[bucket(ino)]++;
	remove_locked(ino);
	pthread_mutex_unlock(&bc.lock);
}

void bcache_clear(void)
{
	pthread_mutex_lock(&bc.lock);
	for (size_t i = 0; i < BUCKETS; i++) {
		bc.epoch[i]++;
		while (bc.b[i])
			remove_locked(bc.b[i]->b.attr.ino);
	}
	bc.head = bc.n = 0;
	pthread_mutex_unlock(&bc.lock);
}
