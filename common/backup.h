/*
 * backup: the file a namespace backup is kept in (`dfs admin backup DIR` writes
 * DIR/namespace.dfsbak; `dfs-namenode format --from-backup DIR` reads it).
 *
 *   "DFSBACKUP\n", u32 version (1), i64 created (seconds since the epoch)
 *   records: u32 key length, key, u32 value length, value   (LevelDB's, in key order)
 *   u32 0xffffffff, u64 record count, u32 CRC32C of every record byte
 * A file cut short or altered fails its count or checksum: nothing is restored from it.
 */
#ifndef DFS_BACKUP_H
#define DFS_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define BACKUP_FILE "namespace.dfsbak"

struct backup_writer;
struct backup_reader;

/* Starts DIR/namespace.dfsbak (written to a temporary name until backup_finish). */
int backup_create(const char *dir, struct backup_writer **out);
/* Appends n records already in the record layout. */
int backup_write(struct backup_writer *w, const void *records, size_t len, uint32_t n);
/* Writes the trailer, syncs and renames into place; frees w. */
int backup_finish(struct backup_writer *w);
void backup_abort(struct backup_writer *w);

int backup_open(const char *dir, struct backup_reader **out);
/* The next record: 1, 0 at the (verified) end, -EPROTO when the file is damaged. */
int backup_next(struct backup_reader *r, struct buf *key, struct buf *value);
uint64_t backup_count(const struct backup_reader *r);
void backup_close(struct backup_reader *r);

#endif
