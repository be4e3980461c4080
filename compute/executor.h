/*
 * executor: the datanode's side of `dfs run` -- runs the task attempts the namenode
 * sends (PROTO_NN_TASKS), one thread each, and queues their reports for the
 * namenode link (PROTO_DN_TASK_STATUS).
 *
 * An attempt reads its split by the line rule of split.h: from this node's replica
 * file when it has one (verified against its checksums, no network), else from the
 * nearest replica through the client library; the bytes past the split that finish
 * its last line come from the next block, wherever it is. The bytes go through the
 * built-in filter (filter.h) in this process and/or to the map command, run as
 * `/bin/sh -c CMD` in a fresh scratch directory (removed afterwards) as the
 * unprivileged task user when the datanode runs as root, with the split on stdin and
 * DFS_JOB_ID, DFS_TASK_ID, DFS_ATTEMPT, DFS_NODE_ID, DFS_INPUT_FILE, DFS_BLOCK_OFFSET
 * and DFS_SPLIT_LENGTH in its environment. stdin is fed while stdout and stderr are
 * drained (a command that stops reading early is not an error; its exit status
 * decides). stdout -- or the filter's lines, or with --count the number of matching
 * lines -- is written to the attempt's output file in the cluster, its first replica
 * on this node; the last JOB_STDERR_MAX bytes of stderr go back with the report.
 *
 * An attempt is killed (its command's whole process group) when the namenode says
 * so, when it makes no progress for the launch's timeout, or when the executor stops;
 * its partial output file is removed.
 *
 * MapReduce (job.h): a map attempt's output (or, with no map, its filtered or raw
 * input) goes to a shuffle collector (shuffle.h) instead of the file system; its sorted
 * partitions stay in scratch/shuffle/JOB/. A command combiner (--combine CMD) runs like
 * the map command, in the map attempt's thread, once per sorted partition of each spill
 * (its stdout back into the collector). A reduce attempt copies partition r of every
 * map (compute/fetch.h; in place when the map ran here), merges them with a bounded
 * fan-in and runs the built-in reducer in this thread or the reduce command (like a map
 * command, the merged records on stdin, DFS_PARTITION in its environment); its output
 * is written like a map's. A fetch
 * that fails names the map in the report (lost_map), so the namenode runs it again.
 * Reports carry the attempt's peak memory (the collector's or the merge's bytes, and
 * the largest RSS of its commands by wait4) and a reduce's progress (copy, merge and
 * reduce, a third each), which LATE speculation reads.
 * PROTO_TASK_CLEANUP (the job ended) kills the job's attempts and removes its map
 * outputs; the executor's start removes whatever a crash left.
 */
#ifndef DFS_COMPUTE_EXECUTOR_H
#define DFS_COMPUTE_EXECUTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth.h"
#include "buf.h"
#include "pack.h"
#include "proto.h"

struct cx_opts {
	char node_id[PROTO_ID_MAX + 1];
	char namenode[PROTO_ADDR_MAX + 1];
	uint8_t key[AUTH_KEY_LEN];
	bool exec;            /* map commands allowed (false: --no-exec) */
	char task_user[64];   /* map commands run as this user when we are root */
	char scratch[4200];   /* parent of the attempts' scratch directories, and of the
				 MapReduce map outputs (shuffle/JOB/, shuffle.h) */
	uint64_t sort_buffer; /* a MapReduce map's sort buffer, bytes (0: 128 MiB) */
	/*
	 * Reads [off, off+len) of this node's replica (id, gs) into buf, verified: bytes
	 * read (0 past its end), -ENOENT / -ESTALE when this node has no such replica,
	 * -EBADMSG when it is corrupt. off is a multiple of PROTO_CHUNK_SIZE.
	 */
	ssize_t (*local_read)(void *arg, uint64_t id, uint64_t gs, uint64_t off, size_t len,
			      void *buf);
	void *local_arg;
};

struct cx_exec;

/* Starts an executor (no threads until tasks come). 0 or -errno. */
int cx_start(const struct cx_opts *o, struct cx_exec **out);
/* Kills every running attempt and waits for their threads (their reports stay queued
 * for cx_take_reports). */
void cx_stop(struct cx_exec *x);
/* Frees a stopped executor (once nobody takes its reports any more). */
void cx_free(struct cx_exec *x);
/* Carries out an NN_TASKS payload (launches and kills). */
void cx_tasks(struct cx_exec *x, struct unpack *u);
/* Becomes readable when reports are waiting (drain it with read(2)). */
int cx_event_fd(const struct cx_exec *x);
/*
 * Packs a DN_TASK_STATUS payload into out (reset first): every attempt that ended
 * since the last call, and with progress, the progress of the running ones too.
 * Returns the number of reports (0: nothing to send).
 */
uint32_t cx_take_reports(struct cx_exec *x, bool progress, struct buf *out);
/* Attempts running now. */
uint32_t cx_running(struct cx_exec *x);

#endif
