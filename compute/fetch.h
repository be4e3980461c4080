/*
 * fetch: moving map outputs to the reducers (DT_FETCH_MAP_OUTPUT in proto.h) and the
 * job token that guards them. The serving side runs in a datanode's transfer thread
 * (xfer.c hands it the request); the fetching side in a reduce attempt's thread. No
 * shared state: any thread.
 *
 * Job token: HMAC-SHA256(datanode key, "dfs-job-token" | job id), minted by the
 * namenode for every task of a job (struct job_launch) and checked by the serving
 * datanode, which holds the same key. Holding the cluster key is not enough to read a
 * job's intermediate data: a peer fetches a map output only with its job's token, and
 * a peer that did not pass the handshake cannot send a request at all.
 *
 * A fetch names the map attempt and the partition; the server finds the run
 * (shuffle.h, under its scratch directory -- never a path from the network), sends its
 * length, then its bytes in replies of up to FETCH_CHUNK bytes and an empty one. The
 * fetcher stores them in a local file and verifies the run's checksums before it is
 * used, so a corrupt or torn map output is reported as that map's loss.
 */
#ifndef DFS_COMPUTE_FETCH_H
#define DFS_COMPUTE_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "job.h"
#include "proto.h"

#define FETCH_CHUNK (1u << 20)

/* The job token of job under key (the datanode key). */
void fetch_job_token(const uint8_t key[32], const char *job, uint8_t out[JOB_TOKEN_LEN]);
/* True when tok is job's token under key (constant-time compare). */
bool fetch_token_ok(const uint8_t key[32], const char *job, const uint8_t *tok);

/*
 * Serves one DT_FETCH_MAP_OUTPUT request (payload borrowed) on a blocking socket:
 * refusals (bad token, no such output) are replied and return 0, so the connection
 * stays in step; a broken stream returns -errno (close it). *sent: bytes sent.
 */
int fetch_serve(int fd, const struct proto_hdr *h, const struct buf *payload,
		const char *scratch, const uint8_t key[32], uint64_t *sent);

/* What to fetch, and as whom (all borrowed). */
struct fetch_req {
	const char *addr;         /* the map's datanode, HOST:PORT */
	const uint8_t *cluster_key; /* AUTH_KEY_LEN: the handshake, as a client */
	uint32_t uid, gid;
	const char *job;
	uint32_t task, attempt, partition;
	const uint8_t *token;     /* JOB_TOKEN_LEN */
};

/*
 * Fetches one map output partition into the file dest (created, verified). 0, or
 * -errno with why: -EBADMSG for a corrupt output, -EACCES when refused, a network
 * error, -ENOENT when the node no longer has it. *bytes: bytes received.
 */
int fetch_map_output(const struct fetch_req *r, const char *dest, uint64_t *bytes,
		     struct buf *why);

#endif
