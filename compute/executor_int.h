/*
 * executor_int: what the executor's files share (executor.c: attempts, the commands'
 * pipes, map attempts, the executor; reducer.c: reduce attempts). Private to compute/'s
 * executor; the public API is executor.h. Attempt state is its attempt thread's, but
 * for the atomics, the pid (pid_lock) and a reduce's map locations (maps_lock), which
 * the namenode link's thread touches too; the attempt list is cx_exec.lock's.
 */
#ifndef DFS_COMPUTE_EXECUTOR_INT_H
#define DFS_COMPUTE_EXECUTOR_INT_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "client.h"
#include "executor.h"
#include "job.h"
#include "shuffle.h"

#define OUT_FLUSH (1u << 20)    /* output written in pieces of this size */
#define FEED_BATCH (256u << 10) /* merged records fed to a reduce command at once */

struct attempt {
	struct cx_exec *x;
	struct job_launch l;
	pthread_t thread;
	atomic_bool kill, finished;
	atomic_int kill_reason; /* 1: the namenode, 2: the executor stops */
	atomic_uint_fast64_t bytes_in, bytes_local, bytes_out, records;
	atomic_uint_fast64_t counters[JOB_NCOUNTERS];
	atomic_bool cleaned; /* the job ended: its map outputs go when this attempt ends */
	atomic_uint_fast64_t mem_peak, cmd_rss; /* reported: job_report's */
	atomic_uint progress; /* a reduce's, in millionths */
	uint32_t lost_map, lost_attempt; /* a reduce's fetch failure (attempt thread) */
	/* a reduce's map locations (l.maps) change as maps finish (PROTO_TASK_MAPS) */
	pthread_mutex_t maps_lock;
	pthread_cond_t maps_cond;
	pid_t pid; /* the map command's process group, or 0 */
	pthread_mutex_t pid_lock;
	struct attempt *next;
};

struct cx_exec {
	struct cx_opts o;
	uid_t task_uid;
	gid_t task_gid;
	bool root;
	int efd;
	pthread_mutex_t lock;
	struct attempt *attempts; /* running or finished, not yet joined */
	struct buf done;          /* packed reports of ended attempts */
	uint32_t ndone;
	atomic_bool stopping;     /* no new attempts */
};

/* A running command (a map's or a reduce's): its pipes and where its stdout goes. */
struct command {
	struct attempt *a;
	pid_t pid;
	int in, out, err; /* our ends of its stdin, stdout, stderr (-1 when closed) */
	struct dfs_writer *w;
	struct shuf_map *shuf; /* a MapReduce map: stdout goes here instead of w */
	bool combiner;         /* a command combiner: stdout goes to shuf_map_combined */
	struct buf tail; /* the end of its stderr */
	double last_progress;
	bool input_closed; /* it stopped reading: the rest of the input is dropped */
	bool count_in;     /* what it takes from stdin is the attempt's bytes_in (progress) */
	char why[256];
};

/* An attempt's output side. */
struct run {
	struct attempt *a;
	struct filter *f;
	struct command *cmd; /* NULL: no map */
	struct dfs_writer *w;
	struct shuf_map *shuf; /* a MapReduce map's output collector, else NULL */
	struct buf out;      /* filter output waiting to be written */
	uint64_t sunk;       /* split bytes handed to the sink */
	char why[256];
};

/* Feeds data to the command's stdin, draining its output meanwhile. 0 or -errno. */
int cx_feed(struct command *cmd, const char *data, size_t len);
/* Closes the command's stdin and reads its stdout and stderr to their end. */
int cx_finish_command(struct command *cmd);
/* Kills (force) and reaps the command; its exit status (-1: none ran). */
int cx_reap(struct attempt *a, struct command *cmd, bool force);
/* Writes r->out to the output (file or shuffle collector). */
int cx_flush_out(struct run *r);
/* The attempt's client of the cluster (as the job's user); why on failure. */
int cx_connect_client(struct attempt *a, struct dfs_client **c, char *why, size_t whysz);
/* Makes the fresh scratch directory dir and starts command there (as the task user). */
int cx_start_command(struct attempt *a, const char *command, const char *dir,
		     struct command *cmd, char *why, size_t whysz);
/* Raises *v to x when x is larger. */
void cx_max(atomic_uint_fast64_t *v, uint64_t x);
/* Reaps the command; a non-zero exit status fails an attempt that was fine (-ECHILD). */
int cx_end_command(struct attempt *a, struct command *cmd, int rc, int *status, char *why,
		   size_t whysz);
/* Finishes the output file (r->w). */
int cx_close_output(struct run *r);
/* The attempt's end: state from rc and the kill flag, logged and reported. */
void cx_end_attempt(struct attempt *a, int rc, int exit_status, char *why, size_t whysz,
		    const char *tail);

/* reducer.c: runs reduce attempt a (its thread's body); returns NULL. */
void *cx_reduce_main(struct attempt *a);
/* reducer.c: map task `task` of job is at loc now (attempt 0: lost): the job's reduce
 * attempts here learn of it (PROTO_TASK_MAPS). */
void cx_update_maps(struct cx_exec *x, const char *job, uint32_t task,
		    const struct job_map_loc *loc);

#endif
