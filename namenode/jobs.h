/*
 * jobs: the namenode's job service for `dfs run` -- turns a submitted spec into tasks
 * (one per block of every input file), feeds the scheduler (compute/scheduler.h) with
 * datanodes and their reports, sends task launches and kills down the datanodes'
 * control connections, and commits or cleans up a job's output in the namespace.
 * Loop thread only.
 *
 * Output protocol: the job makes OUTPUT and OUTPUT/_temporary at submission; attempt
 * a of task t writes OUTPUT/_temporary/attempt_TTTTT_A; when every task has succeeded
 * the winners are renamed to OUTPUT/part-TTTTT, OUTPUT/_SUCCESS is created and
 * _temporary removed, in one namespace turn. A failed or killed job removes OUTPUT.
 * MapReduce jobs: reduce task r writes OUTPUT/_temporary/attempt_r_RRRRR_A, committed
 * as OUTPUT/part-r-RRRRR (map outputs stay on the datanodes' scratch disks, and every
 * node that ran a task of the job is told to remove them when it ends, however).
 * Jobs live in the namenode's memory: a namenode restart forgets them.
 */
#ifndef DFS_NN_JOBS_H
#define DFS_NN_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include "blockmap.h"
#include "buf.h"
#include "cfg.h"
#include "datanodes.h"
#include "job.h"
#include "ns.h"
#include "pack.h"

struct nn_jobs;

struct nn_jobs_env {
	struct nn_ns *ns;
	struct nn_blockmap *bm;
	struct nn_dns *dns;
	void *arg;
	/* Queues a frame on datanode dn's control connection (dropped when it has none). */
	void (*send)(void *arg, uint32_t dn, uint16_t type, const struct buf *payload);
	/* Blocks no file uses any more after a namespace change (consumes freed). */
	void (*release)(void *arg, struct nn_blocks *freed);
	/* The datanode key (borrowed): MapReduce jobs' tokens (compute/fetch.h). */
	const uint8_t *job_key;
};

struct nn_jobs *nn_jobs_new(const struct cfg *cfg, const struct nn_jobs_env *env);
void nn_jobs_free(struct nn_jobs *j);

/* CN_JOB_SUBMIT: the job id into id, or -errno with the reason in err. Its tasks run
 * as the caller's uid and gid. */
struct nn_cred;
/* The caller (cred, see perm.h) must be able to read the inputs and create the output. */
int nn_jobs_submit(struct nn_jobs *j, struct unpack *u, const struct nn_cred *cred,
		   char id[JOB_ID_MAX + 1], struct buf *err);
/* Packs a jobinfo: -ENOENT when unknown. */
int nn_jobs_status(struct nn_jobs *j, const char *id, struct buf *out);
/* True when job id is unknown or has ended. */
bool nn_jobs_over(struct nn_jobs *j, const char *id);
/* u32 n, n x jobinfo. */
void nn_jobs_list(struct nn_jobs *j, struct buf *out);
/* Calls cb with each remembered job, oldest first (info's strings live for the call):
 * for pages in this process, without a trip through the wire layout. */
void nn_jobs_each(struct nn_jobs *j, void (*cb)(void *arg, const struct job_info *info),
		  void *arg);
int nn_jobs_kill(struct nn_jobs *j, const char *id);
/* u32 n, n x attemptlog for task (-1: all). */
int nn_jobs_logs(struct nn_jobs *j, const char *id, int32_t task, struct buf *out);

/* A datanode registered (or registered again: it restarted). */
void nn_jobs_node_up(struct nn_jobs *j, uint32_t dn, uint32_t slots, bool exec);
void nn_jobs_node_down(struct nn_jobs *j, uint32_t dn);
/* DN_TASK_STATUS payload from datanode dn: -EPROTO when malformed. */
int nn_jobs_reports(struct nn_jobs *j, uint32_t dn, struct unpack *u);
/* Timeouts, delayed placements, speculation (call a few times a second). */
void nn_jobs_tick(struct nn_jobs *j);
/* Running tasks on dn (for reports). */
uint32_t nn_jobs_node_running(struct nn_jobs *j, uint32_t dn);

#endif
