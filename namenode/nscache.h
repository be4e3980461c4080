/*
 * nscache: the namenode's RAM cache of hot namespace records (inodes and directory
 * entries), keyed by their raw LevelDB key. Loop thread only.
 *
 * Coherence: ns_store.c is its only user. nn_ns_db_get fills it on reads that miss,
 * and nn_ns_commit replays every applied WriteBatch's puts and deletes of "I" and "D"
 * keys into it (nn_nscache_put / nn_nscache_del), so it never holds a value LevelDB
 * does not; a failed write clears it (nn_nscache_clear). Writes therefore go through
 * nn_ns_commit only. It holds at most `max_entries`; past that it starts over empty
 * (simple, and a namespace bigger than the cache still works, just slower).
 */
#ifndef DFS_NN_NSCACHE_H
#define DFS_NN_NSCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nn_nscache;

/* A new, empty cache of at most max_entries (0 counts as 1); caller frees with
 * nn_nscache_free. Aborts when out of memory. */
struct nn_nscache *nn_nscache_new(size_t max_entries);
/* Frees c and every entry (c may be NULL). */
void nn_nscache_free(struct nn_nscache *c);
/* Borrowed pointer to the cached value, valid until the next change; NULL on a miss. */
const void *nn_nscache_get(struct nn_nscache *c, const void *key, size_t klen, size_t *vlen);
/* Stores a copy of key -> val, replacing any value of key; when the cache is full it
 * is emptied first. Out of memory: the entry is simply not cached. */
void nn_nscache_put(struct nn_nscache *c, const void *key, size_t klen, const void *val,
		    size_t vlen);
/* Forgets key (nothing when it is not cached). */
void nn_nscache_del(struct nn_nscache *c, const void *key, size_t klen);
/* Forgets every entry. */
void nn_nscache_clear(struct nn_nscache *c);
/* How many entries it holds. */
size_t nn_nscache_count(const struct nn_nscache *c);

#endif
