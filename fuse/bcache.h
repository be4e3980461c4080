/*
 * bcache: the attributes and block lists of files this mount opened, kept after their
 * last close while the cache callbacks (inval.c) vouch for them, so that opening such a
 * file again needs no namenode round trip. Close-to-open still holds: any change of the
 * file elsewhere reaches this mount as an invalidation before that change is answered
 * (namenode/callbacks.h), and drops the entry; so does this mount's own change of it,
 * the loss of the callbacks (everything), and age (BCACHE_TTL_S, for the replica
 * locations, which move without a namespace change).
 *
 * States of an entry: absent -> KEPT (bcache_put after an open's fetch, when no
 * invalidation of that inode came between the fetch's start -- bcache_epoch -- and
 * the put) -> absent (bcache_drop, bcache_clear, aged out, or evicted past
 * BCACHE_MAX entries, oldest first).
 *
 * Threads: any; one mutex.
 */
#ifndef DFS_FUSE_BCACHE_H
#define DFS_FUSE_BCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "client.h"

#define BCACHE_MAX 8192
#define BCACHE_TTL_S 30
#define BCACHE_BLOCKS_MAX 16 /* files of more blocks are not kept */

/* The invalidation count of ino's bucket: read before fetching what bcache_put keeps. */
uint64_t bcache_epoch(uint64_t ino);
/* Keeps a copy of b, unless ino was invalidated since epoch. */
void bcache_put(const struct dfs_blocks *b, uint64_t epoch);
/* A copy of ino's kept attributes and blocks into *out (free with dfs_blocks_free). */
bool bcache_get(uint64_t ino, struct dfs_blocks *out);
/* ino changed (an invalidation, or this mount's own change): forget it. */
void bcache_drop(uint64_t ino);
/* Forget everything (the callbacks are lost). */
void bcache_clear(void);

#endif
