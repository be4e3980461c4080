/*
 * xfer: the datanode's data-transfer server. An accept thread hands each connection to
 * its own thread (at most DN_XFER_MAX_CONNS at once; more are refused; of those at
 * most DN_XFER_MAX_UNAUTH still in the handshake, the oldest dropped for a newcomer, so
 * a flood of silent connections cannot lock authenticated peers out), which
 * authenticates the peer and serves DT_WRITE_BLOCK (receive, verify, store, forward
 * down the pipeline, ack back once every downstream node stored the packet) and
 * DT_READ_BLOCK (ranged reads sent with sendfile, checksums from the .meta file), and
 * DT_FETCH_MAP_OUTPUT (a map's sorted output to a reducer, compute/fetch.h). A
 * client's request needs a block access token (token.h) for that block and mode; a
 * peer that proved the datanode key (another datanode) needs none.
 * Threads share only the block store (thread-safe) and atomic counters.
 */
#ifndef DFS_DN_XFER_H
#define DFS_DN_XFER_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "blockstore.h"
#include "pack.h"

#define DN_XFER_MAX_CONNS 512
#define DN_XFER_MAX_UNAUTH 64

struct dn_xfer;

struct dn_xfer_stats {
	uint64_t bytes_written, bytes_read, blocks_written, blocks_read, checksum_errors;
	uint64_t pipeline_breaks; /* writes whose downstream node was lost mid-block */
};

/* Listens on addr and starts the accept thread. bound receives the bound HOST:PORT. */
int dn_xfer_start(const char *addr, struct dn_store *store, const struct auth_keys *keys,
		  bool sync_on_close, char *bound, size_t boundsz, struct dn_xfer **out);
/* Replaces the block keys with the set packed in u (NN_BLOCK_KEYS); any thread. */
void dn_xfer_set_block_keys(struct dn_xfer *x, struct unpack *u);
/* Serves map outputs (DT_FETCH_MAP_OUTPUT) from the task executor's scratch directory
 * dir; call before any task runs. */
void dn_xfer_set_shuffle_dir(struct dn_xfer *x, const char *dir);
/* A downstream node of a pipeline that sends no ack (or takes no data) for stale_s
 * seconds (the cluster's stale_node_timeout; twice that for the block's last packet,
 * which the nodes finalize first) is dropped and named in the ack, so the client
 * rebuilds the pipeline without it. Until called: 4 s. Any thread. */
void dn_xfer_set_deadline(struct dn_xfer *x, double stale_s);
/* TEST ONLY (setting test_io_delay): a slow disk: each packet read or written waits s
 * seconds first; 0 turns it off. Any thread. */
void dn_xfer_set_test_io_delay(struct dn_xfer *x, double s);
/* TEST ONLY (setting test_corrupt_writes): from now on flip a byte in every `every`th
 * non-empty packet received on the write path, before its checksums are verified, so
 * that this node answers it with a checksum error; 0 turns it off. Any thread. */
void dn_xfer_set_test_corrupt(struct dn_xfer *x, uint32_t every);
/* Connections being served now. */
uint32_t dn_xfer_active(struct dn_xfer *x);
/* The transfer counters since start (atomics: any thread). */
void dn_xfer_stats(struct dn_xfer *x, struct dn_xfer_stats *out);
/* Stops accepting, waits up to timeout_s for the transfers in flight, and frees x when
 * they all ended (returns false, leaving x allocated, when some are still running). */
bool dn_xfer_stop(struct dn_xfer *x, double timeout_s);

#endif
