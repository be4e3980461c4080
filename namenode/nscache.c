/* nscache: chained hash of raw key -> value. Loop thread only (ns_store.c); see
 * nscache.h. */
#include "nscache.h"

#include <stdlib.h>
#include <string.h>

struct entry {
	struct entry *next;
	uint64_t hash;
	uint32_t klen, vlen;
	uint8_t data[]; /* key, then value */
};

struct nn_nscache {
	struct entry **buckets;
	size_t nbuckets, count, max;
};

static uint64_t hash_of(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

struct nn_nscache *nn_nscache_new(size_t max_entries)
{
	struct nn_nscache *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->max = max_entries ? max_entries : 1;
	c->nbuckets = 1024;
	c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
	if (!c->buckets)
		abort();
	return c;
}

void nn_nscache_clear(struct nn_nscache *c)
{
	for (size_t i = 0; i < c->nbuckets; i++) {
		for (struct entry *e = c->buckets[i], *n; e; e = n) {
			n = e->next;
			free(e);
		}
		c->buckets[i] = NULL;
	}
	c->count = 0;
}

void nn_nscache_free(struct nn_nscache *c)
{
	if (!c)
		return;
	nn_nscache_clear(c);
	free(c->buckets);
	free(c);
}

size_t nn_nscache_count(const struct nn_nscache *c) { return c->count; }

static struct entry **find(struct nn_nscache *c, const void *key, size_t klen, uint64_t h)
{
	struct entry **pp = &c->buckets[h & (c->nbuckets - 1)];
	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->klen == klen && !memcmp((*pp)->data, key, klen))
			break;
	return pp;
}

const void *nn_nscache_get(struct nn_nscache *c, const void *key, size_t klen, size_t *vlen)
{
	struct entry *e = *find(c, key, klen, hash_of(key, klen));
	if (!e)
		return NULL;
	*vlen = e->vlen;
	return e->data + e->klen;
}

static void grow(struct nn_nscache *c)
{
	size_t n = c->nbuckets * 2;
	struct entry **b = calloc(n, sizeof *b);
	if (!b)
		return; /* stay at this size: chains just get longer */
	for (size_t i = 0; i < c->nbuckets; i++) {
		for (struct entry *e = c->buckets[i], *next; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
}

void nn_nscache_put(struct nn_nscache *c, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	uint64_t h = hash_of(key, klen);
	struct entry **pp = find(c, key, klen, h);
	if (*pp) {
		struct entry *old = *pp;
		*pp = old->next;
		free(old);
		c->count--;
	} else if (c->count >= c->max) {
		nn_nscache_clear(c);
		pp = find(c, key, klen, h);
	}
	struct entry *e = malloc(sizeof *e + klen + vlen);
	if (!e)
		return; /* a cache may always miss */
	e->hash = h;
	e->klen = (uint32_t)klen;
	e->vlen = (uint32_t)vlen;
	memcpy(e->data, key, klen);
	memcpy(e->data + klen, val, vlen);
	e->next = *pp;
	*pp = e;
	if (++c->count > c->nbuckets)
		grow(c);
}

void nn_nscache_del(struct nn_nscache *c, const void *key, size_t klen)
{
	struct entry **pp = find(c, key, klen, hash_of(key, klen));
	if (*pp) {
		struct entry *old = *pp;
		*pp = old->next;
		free(old);
		c->count--;
	}
}
