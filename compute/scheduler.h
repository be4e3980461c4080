/*
 * scheduler: the namenode's side of `dfs run` -- jobs, their tasks (one per block of
 * each input file) and task attempts, placed on datanodes' task slots. Pure logic
 * driven by the namenode's loop thread (no I/O, no locks, time passed in): it calls
 * back to launch and kill attempts and when a job ends.
 *
 * Placement (delay scheduling, Zaharia et al.): a free slot goes to the job with the
 * fewest running attempts (fair sharing across jobs, then submission order), which
 * runs a task whose block has a replica on that node (node-local). A job that has no
 * such task waits up to locality_delay before running a task elsewhere (a remote
 * read); a task none of whose replica holders can run it goes anywhere at once. Nodes
 * take tasks one at a time in turn, up to their slot count, so a node with fewer
 * slots, or one that finishes tasks more slowly, gets fewer tasks.
 *
 * Faults: an attempt that fails (command exit status, read error, its node lost or
 * silent for task_timeout) is retried on another node, avoiding the nodes it failed
 * on, until a task has failed task_attempts times: then the job fails, naming the task,
 * the node and the reason. Speculation is LATE's (Zaharia et al., OSDI'08; see
 * speculate_kind()), for maps once every map has started and for reduces once every map
 * is done and every reduce has started: an attempt running alone for spec_min or more
 * whose progress rate (a map: its split read; a reduce: its report's progress over the
 * copy, merge and reduce phases) is in the slowest quarter of its kind and whose
 * estimated time left exceeds the median time of the finished tasks of its kind gets a
 * backup -- the longest time left first, never on a node that runs such a slow attempt
 * itself, while the backups running number under a tenth of the slots (at least one);
 * the first attempt to succeed wins and the others are killed (each attempt writes its
 * own temporary output, and only the winner's is renamed into place: exactly one
 * part file per task).
 *
 * MapReduce jobs (spec.reduce set): tasks of kind JOB_K_MAP come first, then one
 * JOB_K_REDUCE task per partition. A reduce task is placed once reduce_slowstart of the
 * maps are done and no map is waiting for a slot (slow start: reducers copy map outputs
 * while the last maps run), or once every map is done; it goes to any node at once (it
 * has no block). Its launch names each finished map's winning attempt, and
 * ops.map_located tells the running reducers of every map that finishes or is lost
 * afterwards. A reducer never starves the maps it waits for: when a map is pending and
 * no slot is free, the newest reducer still waiting for maps is killed to make room
 * (preempt_reducer; not a failure) and placed again later. Map outputs live on their
 * nodes, so while some reduce task is unfinished:
 *   - a node lost or restarted takes its finished maps' outputs with it: those maps go
 *     back to PENDING (lose_node -> map_output_lost) and run again;
 *   - a reduce attempt that could not fetch a map's output (report.lost_map) fails
 *     without counting against the reduce task, and that map, when the named attempt
 *     is still its winner, runs again; this counts against the map (its node is
 *     avoided), so a node whose outputs cannot be fetched fails the job after
 *     task_attempts tries instead of looping.
 * The reduce tasks then wait until the maps are done again. Task states: PENDING ->
 * RUNNING (launch) -> DONE (attempt_succeeded); RUNNING -> PENDING (attempt_failed, no attempt left running); DONE -> PENDING (a map
 * whose output was lost: map_output_lost).
 */
#ifndef DFS_COMPUTE_SCHEDULER_H
#define DFS_COMPUTE_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>

#include "job.h"

#define SCHED_NO_NODE UINT32_MAX
#define SCHED_MAX_HOLDERS 64

enum sched_tstate { SCHED_T_PENDING = 1, SCHED_T_RUNNING = 2, SCHED_T_DONE = 3 };

struct sched_attempt {
	uint32_t n;    /* attempt number, from 1 */
	uint32_t node; /* node index */
	uint8_t state; /* JOB_A_* */
	bool speculative, local;
	double start, end, last_report;
	int32_t exit_status;
	uint64_t bytes_in, bytes_local, records;
	uint64_t counters[JOB_NCOUNTERS];
	uint64_t mem_peak, cmd_rss;
	uint32_t progress; /* a reduce's, in millionths (its report's) */
	char *message, *stderr_tail;
};

struct sched_input {
	char *path;
	uint64_t ino, size;
};

struct sched_task {
	uint32_t index; /* its part number (reduce tasks: nmaps + partition) */
	uint8_t kind;   /* JOB_K_* */
	uint32_t partition; /* reduce tasks */
	uint32_t file;  /* index into the job's inputs */
	uint64_t offset, length, block, gs;
	uint8_t state; /* SCHED_T_* */
	uint32_t failures;
	uint32_t nattempts, capattempts;
	struct sched_attempt *attempts;
	int32_t winner; /* index into attempts of the attempt that succeeded, or -1 */
	uint32_t *bad_nodes; /* nodes it failed on */
	uint32_t nbad;
};

struct sched_job {
	char id[JOB_ID_MAX + 1];
	uint64_t seq;
	struct job_spec spec;
	uint32_t uid, gid;
	uint8_t state; /* JOB_* */
	struct sched_input *inputs;
	uint32_t ninputs;
	struct sched_task *tasks;
	uint32_t ntasks;
	uint32_t pending, done, running, failed_attempts, speculative, node_local, remote;
	uint64_t input_bytes, records, bytes_done;
	uint32_t nmaps, maps_done, reduce_done; /* reduce tasks: ntasks - nmaps */
	uint64_t counters[JOB_NCOUNTERS];       /* summed over the winning attempts */
	double submitted, ended; /* scheduler time (seconds) */
	double maps_ended;       /* when the last map finished (0: not yet, or a map-only job) */
	int64_t submitted_ms;    /* wall clock, ms since the epoch */
	double skip_since;       /* waiting for a node-local slot since (< 0: not waiting) */
	char *error, *error_stderr;
	void *user; /* the namenode's per-job state */
	struct sched_job *next;
};

struct sched_cfg {
	double locality_delay;  /* seconds */
	uint32_t task_attempts; /* failed attempts of one task before the job fails */
	double task_timeout;    /* seconds without a report before an attempt is failed */
	bool speculation;
	double spec_min;        /* seconds an attempt runs before it may get a backup */
	double reduce_slowstart; /* share of maps done before reducers may start (0..1) */
	uint32_t keep_jobs;     /* ended jobs remembered */
};

struct sched_ops {
	void *arg;
	/* Node indexes holding a replica of block (up to max); returns how many. */
	uint32_t (*holders)(void *arg, uint64_t block, uint32_t *out, uint32_t max);
	void (*launch)(void *arg, struct sched_job *j, struct sched_task *t,
		       struct sched_attempt *a);
	void (*kill)(void *arg, struct sched_job *j, struct sched_task *t,
		     struct sched_attempt *a);
	/* The job ended (j->state says how). On success the callee commits the output
	 * and may turn the state into JOB_FAILED (setting j->error) if that fails. */
	void (*ended)(void *arg, struct sched_job *j);
	/* Optional: true while no reduce task may start (a test's hold). */
	bool (*hold_reduces)(void *arg);
	/* Optional: map task t of MapReduce job j finished (t->winner) or lost its output
	 * (t->winner < 0) while reducers of j run: tell them. */
	void (*map_located)(void *arg, struct sched_job *j, struct sched_task *t);
};

struct sched;

struct sched *sched_new(const struct sched_cfg *cfg, const struct sched_ops *ops);
void sched_free(struct sched *s);

/* A node that can run tasks: slots at once, map commands only when exec. Calling it
 * again for a node that is up means the node restarted: its attempts are failed. */
void sched_node_up(struct sched *s, uint32_t node, const char *id, uint32_t slots, bool exec,
		   double now);
/* The node is gone: its running attempts fail. */
void sched_node_down(struct sched *s, uint32_t node, double now);
/* The node's id ("" when unknown). */
const char *sched_node_id(const struct sched *s, uint32_t node);
/* Attempts running on node. */
uint32_t sched_node_running(const struct sched *s, uint32_t node);

/*
 * Takes a new job: j has its spec, identity, inputs and tasks (index, file, offset,
 * length, block, gs) filled and is owned by the scheduler from now on. The scheduler
 * sets its id, counters and state; a job with no tasks succeeds at once.
 */
void sched_submit(struct sched *s, struct sched_job *j, double now);
/* A datanode's report on an attempt (node: where it came from). Unknown attempts are
 * ignored. */
void sched_report(struct sched *s, uint32_t node, const struct job_report *r, double now);
/* Kills a running job: -ENOENT when unknown, -EALREADY when it has ended. */
int sched_kill(struct sched *s, const char *id, double now);
/* Timeouts, delayed placements and speculation; call a few times a second. */
void sched_tick(struct sched *s, double now);
/* Places what can be placed now (called by the others; exposed for tests). */
void sched_schedule(struct sched *s, double now);

struct sched_job *sched_find(struct sched *s, const char *id);
/* Jobs, oldest first. */
struct sched_job *sched_jobs(struct sched *s);
/* Fills info (strings borrowed from j; do not free them). */
void sched_job_info(const struct sched_job *j, double now, struct job_info *info);

#endif
