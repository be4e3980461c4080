/*
 * replog: the namespace's replicated log entries -- one loop turn's merged LevelDB write
 * batch (ns->pending, see ns_store.c) as bytes for a raftnode entry, and an entry
 * applied to a member's LevelDB together with the log index it came from.
 *
 * Entry format: u8 version (REPLOG_VERSION), u32 op count, then per op u8 kind
 * (1 put, 2 delete), u32 key length, the key, and for a put u32 value length and the
 * value (pack.h byte order). Counters travel as the batch's "C" put, like any record.
 *
 * Applied index: key "R" (u64, pack.h order) in the namespace's own LevelDB, written in
 * the same batch as the entry's ops, so after a crash the store and the index agree. An
 * entry at or below the stored index is a replay (libraft re-delivers its log after a
 * restart) and is skipped. Because libraft fsyncs its log before an entry commits, these
 * writes need no sync of their own: what a crash loses is replayed from the log.
 *
 * Threads: none of its own; the caller's (the namenode loop).
 */
#ifndef DFS_REPLOG_H
#define DFS_REPLOG_H

#include <leveldb/c.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define REPLOG_VERSION 1
#define REPLOG_APPLIED_KEY "R"

/* Appends wb's puts and deletes, in order, to out as one entry. */
void replog_encode(leveldb_writebatch_t *wb, struct buf *out);
/* Decodes an entry into wb (appended): 0, or -EPROTO for a malformed or unknown one. */
int replog_decode(const void *data, size_t len, leveldb_writebatch_t *wb);
/* The applied index stored in db (0 when none). */
int replog_applied(leveldb_t *db, uint64_t *out);
/* Applies the entry at index to db with its applied index in one batch (no sync):
 * 1 when applied, 0 when index <= *applied (a replay, skipped), -EPROTO for a
 * malformed entry, -EIO when LevelDB fails. *applied follows. */
int replog_apply(leveldb_t *db, uint64_t index, const void *data, size_t len,
		 uint64_t *applied);

#endif
