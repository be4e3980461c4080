/*
 * spares: replica files made ahead of need. Creating a file costs about a millisecond on
 * common file systems (ext4 here: 1.3 ms), and a new replica needs two (its data and its
 * .meta), so a small file written at replication 3 would wait for six creates. A
 * background thread keeps a few empty pairs ready in each data directory's rbw/ (named
 * spare_<n> and spare_<n>.meta, the .meta with its header already written); a new
 * replica renames a pair to its own names, which costs microseconds.
 *
 * States of a spare pair: made (by the thread, up to `per_vol` per directory) -> taken
 * (dn_spares_take renames it to a replica's rbw/ names and hands over its open files)
 * or, at dn_spares_stop, unlinked. Spares left by a crash are removed with the rest of
 * rbw/ at the next start (blockstore.c). When a directory cannot take a file (full, or
 * failing) the thread backs off for a second; takers then fall back to creating their
 * files themselves.
 *
 * Threads: any caller; the maker is the module's own thread.
 */
#ifndef DFS_DN_SPARES_H
#define DFS_DN_SPARES_H

#include <stddef.h>

struct dn_spares;

/* Starts the maker for the nvols directories vols (their rbw/ exists); hdr (hdrlen
 * bytes) goes at the start of every .meta. NULL on failure (then there are no spares). */
struct dn_spares *dn_spares_start(const char (*vols)[4096], unsigned nvols, const void *hdr,
				  size_t hdrlen, unsigned per_vol);
/* Renames a spare pair of directory vol to data_path and meta_path and hands over their
 * file descriptors. 0; -EEXIST when data_path exists (nothing renamed); -ENOENT when no
 * spare is ready (the caller creates its files itself); another -errno on failure. */
int dn_spares_take(struct dn_spares *sp, unsigned vol, const char *data_path,
		   const char *meta_path, int *data_fd, int *meta_fd);
/* Stops the maker and removes the spares not taken. NULL is a no-op. */
void dn_spares_stop(struct dn_spares *sp);

#endif
