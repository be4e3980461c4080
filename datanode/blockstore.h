/*
 * blockstore: the datanode's replicas on local disk. Thread-safe (one mutex guards the
 * replica map; file I/O happens outside it).
 *
 * Layout under each data directory (the store never takes a path from the network,
 * only block ids and genstamps):
 *   VERSION                      the node's persistent id and the layout version
 *                                (layout.h; an older or newer layout is refused)
 *   rbw/blk_<id>_<gs>[.meta]     replicas being written
 *   current/<xx>/blk_<id>_<gs>   finalized replicas (xx = two hex digits of the id)
 *   current/<xx>/blk_<id>_<gs>.meta
 * A .meta file is a 16-byte header ("DFSC", u16 version, u16 0, u32 chunk size,
 * u32 0) then one big-endian CRC32C per chunk of the data file.
 *
 * Replica states: being written (dn_store_create) -> finalized (dn_writer_finalize,
 * which fsyncs when asked and renames into current/) -> deleted (dn_store_delete).
 * A writer that is aborted (dn_writer_abort) leaves nothing behind. Only finalized
 * replicas are readable and reported.
 */
#ifndef DFS_DN_BLOCKSTORE_H
#define DFS_DN_BLOCKSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

#define DN_META_HDR 16

struct dn_store;
struct dn_writer;

struct dn_replica_info {
	uint64_t id, gs, len;
};

/* Opens (creating if needed) the store in dir -- or in several, "DIR1,DIR2" (one per
 * disk, at most DN_MAX_VOLUMES): new replicas go to each in turn, capacity is summed
 * over the distinct file systems. The node id comes from DIR/VERSION, or is set to `id`
 * (or a random one when id is NULL/empty) on first use; an `id` that differs from the
 * stored one, or directories of different nodes, are an error (-EINVAL). */
#define DN_MAX_VOLUMES 16
int dn_store_open(const char *dir, const char *id, struct dn_store **out);
void dn_store_close(struct dn_store *s);
/* The persistent node id (borrowed, lives as long as the store). */
const char *dn_store_id(const struct dn_store *s);
/* Disk capacity, bytes used by replicas, bytes free. */
void dn_store_usage(struct dn_store *s, uint64_t *capacity, uint64_t *used, uint64_t *remaining);
/* The distinct file systems of the data dirs, packed as proto.h's `fslist` (ids are
 * statvfs f_fsid and stat st_dev, "FSID:DEV" in hex). */
void dn_store_pack_fslist(struct dn_store *s, struct buf *out);
uint64_t dn_store_count(struct dn_store *s);

/* Starts writing replica (id, gs). -EEXIST when that replica is already finalized,
 * -EBUSY while another writer has it. */
int dn_store_create(struct dn_store *s, uint64_t id, uint64_t gs, struct dn_writer **out);
/*
 * Appends one packet (at most PROTO_MAX_PACKET bytes) at offset (which must equal the
 * bytes written so far and be a chunk multiple) after checking its data against crcs
 * (one per chunk).
 * -EBADMSG when a checksum does not match, -EINVAL on a bad offset.
 */
int dn_writer_write(struct dn_writer *w, uint64_t offset, const void *data, size_t len,
		    const uint32_t *crcs, uint32_t ncrcs);
uint64_t dn_writer_length(const struct dn_writer *w);
/* Finalizes the replica (fsync first when sync) and frees w. */
int dn_writer_finalize(struct dn_writer *w, bool sync);
/* Discards a replica being written and frees w. */
void dn_writer_abort(struct dn_writer *w);

/* Opens finalized replica (id, gs) for reading: fds the caller closes, and its length.
 * -ENOENT when absent, -ESTALE when only another genstamp is here. */
int dn_store_open_read(struct dn_store *s, uint64_t id, uint64_t gs, int *data_fd,
		       int *meta_fd, uint64_t *len);
/*
 * Reads [off, off+len) of finalized replica (id, gs) into buf after checking it against
 * its checksums (off a multiple of PROTO_CHUNK_SIZE): bytes read (0 at or past its
 * end), -ENOENT / -ESTALE as dn_store_open_read, -EBADMSG when the data is bad (the
 * replica is then queued as bad for the namenode).
 */
ssize_t dn_store_pread(struct dn_store *s, uint64_t id, uint64_t gs, uint64_t off, size_t len,
		       void *buf);
/* Puts finalized replica (id, gs) on disk: its data, checksums and directory entry.
 * -ENOENT / -ESTALE as dn_store_open_read. */
int dn_store_sync(struct dn_store *s, uint64_t id, uint64_t gs);
/* Deletes a finalized replica (any genstamp when gs is 0). 0, or -ENOENT. */
int dn_store_delete(struct dn_store *s, uint64_t id, uint64_t gs);
/* Every finalized replica; caller frees *out with free(). With for_report, it also
 * drops the pending incremental changes: the full report sent with it supersedes them
 * (only the namenode link may ask for that). */
int dn_store_list(struct dn_store *s, bool for_report, struct dn_replica_info **out,
		  size_t *n);

/* Checks a finalized replica against its checksums: 0, -EBADMSG when the data does
 * not match (or is shorter than recorded), -ENOENT when it vanished from the disk. */
int dn_store_verify(struct dn_store *s, uint64_t id, uint64_t gs);
/* Queues finalized replica id for the next incremental report again (someone asked to
 * write a replica we hold: the namenode must have lost track of it). */
void dn_store_announce(struct dn_store *s, uint64_t id);
/* Queues a bad replica (PROTO_BAD_*) for the next report to the namenode. */
void dn_store_report_bad(struct dn_store *s, uint64_t id, uint64_t gs, uint8_t why);
struct dn_bad_replica {
	uint64_t id, gs;
	uint8_t why;
};
/* Bad replicas queued since the last call; caller frees with free(). */
void dn_store_take_bad(struct dn_store *s, struct dn_bad_replica **out, size_t *n);

/* Replicas finalized / deleted since the last call, for incremental reports; caller
 * frees with free(). */
void dn_store_take_changes(struct dn_store *s, struct dn_replica_info **received,
			   size_t *nreceived, uint64_t **deleted, size_t *ndeleted);
/* An eventfd that becomes readable when changes are pending (or on dn_store_wake);
 * the reader drains it with read(2) before taking the changes. */
int dn_store_event_fd(const struct dn_store *s);
/* Makes the event fd readable (shutdown). */
void dn_store_wake(struct dn_store *s);

#endif
