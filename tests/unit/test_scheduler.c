/*
 * Unit tests for the job scheduler (compute/scheduler.h) with fake datanodes and a
 * fake block map: node-local placement while slots are free, delay scheduling before
 * a remote read, slots and heterogeneous nodes, retries on other nodes and the job
 * failing after task_attempts, lost nodes, speculation (first finisher wins, the
 * other is killed; LATE: the attempt with the longest time left by its progress rate is
 * backed up, not the nearly done one, never on a slow node, under a cap), fair sharing between jobs, kills, --no-exec nodes, empty jobs;
 * MapReduce jobs: reduces wait for every map, a lost node's finished maps run again, a
 * reducer's fetch failure re-runs the map without counting against the reducer; slow
 * start (reducers once a share of the maps is done and none waits, told of each map
 * that finishes) and a reducer preempted for a map that has no slot; LATE for reducers
 * (by their reported progress, once every map is done: the slow one is backed up on
 * another node, the backup wins and the original is killed).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "scheduler.h"
#include "unit.h"

#define MAXL 256

struct fake {
	/* block b is held by the nodes in holders[b] (bitmask) */
	uint32_t holders[64];
	struct {
		uint32_t task, attempt, node;
		bool local, speculative;
	} launched[MAXL], killed[MAXL];
	int nlaunched, nkilled, nended, nlocated;
	uint32_t located[MAXL];
	uint8_t last_state;
};

static uint32_t f_holders(void *arg, uint64_t block, uint32_t *out, uint32_t max)
{
	struct fake *f = arg;
	uint32_t n = 0;
	for (uint32_t i = 0; i < 32 && n < max; i++)
		if (f->holders[block] & (1u << i))
			out[n++] = i;
	return n;
}

static void f_launch(void *arg, struct sched_job *j, struct sched_task *t,
		     struct sched_attempt *a)
{
	(void)j;
	struct fake *f = arg;
	ck_assert_int_lt(f->nlaunched, MAXL);
	f->launched[f->nlaunched].task = t->index;
	f->launched[f->nlaunched].attempt = a->n;
	f->launched[f->nlaunched].node = a->node;
	f->launched[f->nlaunched].local = a->local;
	f->launched[f->nlaunched].speculative = a->speculative;
	f->nlaunched++;
}

static void f_kill(void *arg, struct sched_job *j, struct sched_task *t, struct sched_attempt *a)
{
	(void)j;
	struct fake *f = arg;
	f->killed[f->nkilled].task = t->index;
	f->killed[f->nkilled].attempt = a->n;
	f->killed[f->nkilled].node = a->node;
	f->nkilled++;
}

static void f_ended(void *arg, struct sched_job *j)
{
	struct fake *f = arg;
	f->nended++;
	f->last_state = j->state;
}

static void f_located(void *arg, struct sched_job *j, struct sched_task *t)
{
	(void)j;
	struct fake *f = arg;
	f->located[f->nlocated++] = t->index;
}

static struct sched *mk(struct fake *f, double delay, bool spec)
{
	memset(f, 0, sizeof *f);
	struct sched_cfg cfg = {.locality_delay = delay, .task_attempts = 3, .task_timeout = 60,
				.speculation = spec, .spec_min = 1, .reduce_slowstart = 1,
				.keep_jobs = 10};
	struct sched_ops ops = {f, f_holders, f_launch, f_kill, f_ended, NULL, f_located};
	return sched_new(&cfg, &ops);
}

/* A job of n tasks over one file; task i reads block i. */
static struct sched_job *job(uint32_t n, bool map)
{
	struct sched_job *j = calloc(1, sizeof *j);
	j->spec.ninputs = 1;
	j->spec.inputs = calloc(1, sizeof(char *));
	j->spec.inputs[0] = strdup("/in");
	j->spec.output = strdup("/out");
	j->spec.map = strdup(map ? "cat" : "");
	j->spec.pattern = strdup("x");
	j->spec.filter = map ? 0 : 1;
	j->inputs = calloc(1, sizeof *j->inputs);
	j->inputs[0].path = strdup("/in");
	j->ninputs = 1;
	j->tasks = calloc(n ? n : 1, sizeof *j->tasks);
	j->ntasks = n;
	for (uint32_t i = 0; i < n; i++) {
		j->tasks[i].index = i;
		j->tasks[i].block = i;
		j->tasks[i].length = 100;
		j->tasks[i].offset = 100 * i;
	}
	return j;
}

static void report(struct sched *s, struct sched_job *j, uint32_t task, uint32_t attempt,
		   uint32_t node, uint8_t state, double now)
{
	struct job_report r = {0};
	snprintf(r.job, sizeof r.job, "%s", j->id);
	r.task = task;
	r.attempt = attempt;
	r.state = state;
	r.exit_status = state == JOB_A_FAILED ? 1 : 0;
	r.records = 2;
	r.bytes_in = 100;
	r.message = (char *)(state == JOB_A_FAILED ? "the command exited with status 1" : "");
	r.stderr_tail = (char *)"oops\n";
	sched_report(s, node, &r, now);
}

/* Nodes 0..n-1 come up at time 0, each called "dn" with slots slots, maps allowed. */
static void nodes_up(struct sched *s, uint32_t n, uint32_t slots)
{
	for (uint32_t i = 0; i < n; i++)
		sched_node_up(s, i, "dn", slots, true, 0);
}

/* Blocks 0..n-1 each have a replica on every node of mask. */
static void hold(struct fake *f, uint32_t n, uint32_t mask)
{
	for (uint32_t b = 0; b < n; b++)
		f->holders[b] = mask;
}

START_TEST(test_local_when_slots_free)
{
	struct fake f;
	struct sched *s = mk(&f, 1, false);
	nodes_up(s, 3, 2);
	for (uint32_t b = 0; b < 6; b++)
		f.holders[b] = 1u << (b % 3); /* one replica each, spread */
	struct sched_job *j = job(6, false);
	sched_submit(s, j, 0);
	ck_assert_int_eq(f.nlaunched, 6);
	for (int i = 0; i < 6; i++) {
		ck_assert(f.launched[i].local);
		ck_assert_uint_eq(f.launched[i].node, f.launched[i].task % 3);
	}
	for (int i = 0; i < 6; i++)
		report(s, j, f.launched[i].task, 1, f.launched[i].node, JOB_A_SUCCEEDED, 0.5);
	ck_assert_int_eq(f.nended, 1);
	ck_assert_int_eq(f.last_state, JOB_SUCCEEDED);
	ck_assert_uint_eq(j->node_local, 6);
	ck_assert_uint_eq(j->records, 12);
	sched_free(s);
}
END_TEST

START_TEST(test_delay_then_remote)
{
	struct fake f;
	struct sched *s = mk(&f, 1, false);
	nodes_up(s, 2, 1);
	hold(&f, 4, 1u); /* everything on node 0 */
	struct sched_job *j = job(4, false);
	sched_submit(s, j, 0);
	ck_assert_int_eq(f.nlaunched, 1); /* node 0's one slot; node 1 waits */
	ck_assert_uint_eq(f.launched[0].node, 0);
	sched_tick(s, 0.5);
	ck_assert_int_eq(f.nlaunched, 1); /* still within the delay */
	sched_tick(s, 1.1);
	ck_assert_int_eq(f.nlaunched, 2); /* node 1 gives up waiting: a remote read */
	ck_assert_uint_eq(f.launched[1].node, 1);
	ck_assert(!f.launched[1].local);
	/* node 0 frees up: the next task there is local again */
	report(s, j, f.launched[0].task, 1, 0, JOB_A_SUCCEEDED, 1.2);
	ck_assert_int_eq(f.nlaunched, 3);
	ck_assert_uint_eq(f.launched[2].node, 0);
	ck_assert(f.launched[2].local);
	sched_free(s);
}
END_TEST

START_TEST(test_slots_and_heterogeneous)
{
	struct fake f;
	struct sched *s = mk(&f, 0, false);
	sched_node_up(s, 0, "big", 3, true, 0);
	sched_node_up(s, 1, "small", 1, true, 0);
	hold(&f, 10, 3u);
	struct sched_job *j = job(10, false);
	sched_submit(s, j, 0);
	ck_assert_int_eq(f.nlaunched, 4);
	int on0 = 0;
	for (int i = 0; i < 4; i++)
		on0 += f.launched[i].node == 0;
	ck_assert_int_eq(on0, 3);
	ck_assert_uint_eq(sched_node_running(s, 0), 3);
	ck_assert_uint_eq(sched_node_running(s, 1), 1);
	sched_free(s);
}
END_TEST

START_TEST(test_retry_elsewhere_then_fail)
{
	struct fake f;
	struct sched *s = mk(&f, 0, false);
	for (uint32_t n = 0; n < 3; n++)
		sched_node_up(s, n, n == 1 ? "dn2" : "dn", 1, true, 0);
	f.holders[0] = 7u;
	struct sched_job *j = job(1, true);
	sched_submit(s, j, 0);
	ck_assert_int_eq(f.nlaunched, 1);
	uint32_t first = f.launched[0].node;
	report(s, j, 0, 1, first, JOB_A_FAILED, 1);
	ck_assert_int_eq(f.nlaunched, 2);
	ck_assert_uint_ne(f.launched[1].node, first); /* another replica holder */
	ck_assert_uint_eq(f.launched[1].attempt, 2);
	report(s, j, 0, 2, f.launched[1].node, JOB_A_FAILED, 2);
	ck_assert_int_eq(f.nlaunched, 3);
	ck_assert_uint_ne(f.launched[2].node, first);
	ck_assert_uint_ne(f.launched[2].node, f.launched[1].node);
	/* a report from the wrong node is ignored */
	report(s, j, 0, 3, (f.launched[2].node + 1) % 3, JOB_A_FAILED, 3);
	ck_assert_int_eq(f.nended, 0);
	report(s, j, 0, 3, f.launched[2].node, JOB_A_FAILED, 3);
	ck_assert_int_eq(f.nended, 1);
	ck_assert_int_eq(j->state, JOB_FAILED);
	ck_assert_uint_eq(j->failed_attempts, 3);
	ck_assert_ptr_nonnull(strstr(j->error, "task 00000"));
	ck_assert_ptr_nonnull(strstr(j->error, "status 1"));
	ck_assert_str_eq(j->error_stderr, "oops\n");
	sched_free(s);
}
END_TEST

START_TEST(test_node_lost)
{
	struct fake f;
	struct sched *s = mk(&f, 0, false);
	nodes_up(s, 2, 1);
	hold(&f, 2, 3u);
	struct sched_job *j = job(2, false);
	sched_submit(s, j, 0);
	ck_assert_int_eq(f.nlaunched, 2);
	uint32_t lost_task = f.launched[0].node == 0 ? f.launched[0].task : f.launched[1].task;
	sched_node_down(s, 0, 1);
	/* the task that ran on node 0 waits for node 1's slot */
	uint32_t other = f.launched[0].node == 1 ? f.launched[0].task : f.launched[1].task;
	report(s, j, other, 1, 1, JOB_A_SUCCEEDED, 2);
	ck_assert_int_eq(f.nlaunched, 3);
	ck_assert_uint_eq(f.launched[2].task, lost_task);
	ck_assert_uint_eq(f.launched[2].node, 1);
	report(s, j, lost_task, 2, 1, JOB_A_SUCCEEDED, 3);
	ck_assert_int_eq(j->state, JOB_SUCCEEDED);
	ck_assert_uint_eq(j->failed_attempts, 1);
	/* a node that registers again (restarted) loses its attempts too */
	struct sched_job *j2 = job(1, false);
	f.holders[0] = 2u;
	sched_submit(s, j2, 4);
	ck_assert_int_eq(f.nlaunched, 4);
	sched_node_up(s, 1, "dn", 1, true, 5);
	ck_assert_uint_eq(j2->failed_attempts, 1);
	ck_assert_int_eq(f.nlaunched, 5); /* and gets the retry */
	sched_free(s);
}
END_TEST

START_TEST(test_speculation)
{
	struct fake f;
	struct sched *s = mk(&f, 0, true);
	nodes_up(s, 3, 1);
	hold(&f, 3, 7u);
	struct sched_job *j = job(3, true);
	sched_submit(s, j, 0);
	ck_assert_int_eq(f.nlaunched, 3);
	/* two finish quickly; the third is slow */
	report(s, j, f.launched[0].task, 1, f.launched[0].node, JOB_A_SUCCEEDED, 0.2);
	report(s, j, f.launched[1].task, 1, f.launched[1].node, JOB_A_SUCCEEDED, 0.3);
	ck_assert_int_eq(f.nlaunched, 3);
	sched_tick(s, 0.9); /* under spec_min */
	ck_assert_int_eq(f.nlaunched, 3);
	sched_tick(s, 1.5);
	ck_assert_int_eq(f.nlaunched, 4);
	ck_assert(f.launched[3].speculative);
	ck_assert_uint_eq(f.launched[3].task, f.launched[2].task);
	ck_assert_uint_ne(f.launched[3].node, f.launched[2].node);
	/* one backup only */
	sched_tick(s, 3);
	ck_assert_int_eq(f.nlaunched, 4);
	/* the backup wins: the original is killed */
	report(s, j, f.launched[3].task, 2, f.launched[3].node, JOB_A_SUCCEEDED, 3.1);
	ck_assert_int_eq(f.nkilled, 1);
	ck_assert_uint_eq(f.killed[0].node, f.launched[2].node);
	ck_assert_int_eq(j->state, JOB_SUCCEEDED);
	ck_assert_uint_eq(j->speculative, 1);
	ck_assert_int_eq(j->tasks[f.launched[2].task].winner, 1);
	sched_free(s);
}
END_TEST

/* A progress report: attempt 1 of task read `bytes` of its 100. */
static void progress(struct sched *s, struct sched_job *j, uint32_t task, uint32_t node,
		     uint64_t bytes, double now)
{
	struct job_report r = {0};
	snprintf(r.job, sizeof r.job, "%s", j->id);
	r.task = task;
	r.attempt = 1;
	r.state = JOB_A_RUNNING;
	r.bytes_in = bytes;
	r.message = r.stderr_tail = (char *)"";
	sched_report(s, node, &r, now);
}

START_TEST(test_late)
{
	struct fake f;
	struct sched *s = mk(&f, 0, true);
	for (uint32_t n = 0; n < 4; n++)
		sched_node_up(s, n, "dn", 1, true, 0);
	for (uint32_t b = 0; b < 4; b++)
		f.holders[b] = 1u << b; /* task b on node b */
	struct sched_job *j = job(4, true);
	sched_submit(s, j, 0);
	ck_assert_int_eq(f.nlaunched, 4);
	/* by the heartbeats: task 2 at 0.3/s (2.3 s left), task 3 crawling (0.03/s) */
	progress(s, j, 1, 1, 95, 0.9);
	progress(s, j, 2, 2, 27, 0.9);
	progress(s, j, 3, 3, 3, 0.9);
	report(s, j, 0, 1, 0, JOB_A_SUCCEEDED, 1);
	ck_assert_int_eq(f.nlaunched, 5); /* the slowest quarter is task 3 */
	ck_assert_uint_eq(f.launched[4].task, 3);
	ck_assert(f.launched[4].speculative);
	ck_assert_uint_ne(f.launched[4].node, 3); /* not on the slow node */
	ck_assert_uint_ne(f.launched[4].node, 2); /* busy */
	/* task 2 slows down too, but the cap (a tenth of 4 slots: one) holds its backup */
	report(s, j, 1, 1, 1, JOB_A_SUCCEEDED, 1.01);
	ck_assert_int_eq(f.nlaunched, 5);
	progress(s, j, 2, 2, 28, 3);
	sched_tick(s, 3);
	ck_assert_int_eq(f.nlaunched, 5);
	/* the backup wins; task 2 may now be backed up */
	report(s, j, 3, 2, f.launched[4].node, JOB_A_SUCCEEDED, 3.5);
	ck_assert_int_eq(f.nlaunched, 6);
	ck_assert_uint_eq(f.launched[5].task, 2);
	sched_free(s);
}
END_TEST

START_TEST(test_fair_share_and_kill)
{
	struct fake f;
	struct sched *s = mk(&f, 0, false);
	nodes_up(s, 1, 4);
	hold(&f, 8, 1u);
	struct sched_job *a = job(8, false);
	sched_submit(s, a, 0);
	ck_assert_int_eq(f.nlaunched, 4); /* a takes every slot */
	struct sched_job *b = job(8, false);
	sched_submit(s, b, 0.1);
	ck_assert_int_eq(f.nlaunched, 4);
	/* as a's tasks finish, the slots go to b until both run two */
	report(s, a, 0, 1, 0, JOB_A_SUCCEEDED, 1);
	report(s, a, 1, 1, 0, JOB_A_SUCCEEDED, 1);
	ck_assert_int_eq(f.nlaunched, 6);
	ck_assert_uint_eq(a->running, 2);
	ck_assert_uint_eq(b->running, 2);
	ck_assert_int_eq(sched_kill(s, b->id, 2), 0);
	ck_assert_int_eq(b->state, JOB_KILLED);
	ck_assert_int_eq(f.nkilled, 2);
	ck_assert_int_eq(sched_kill(s, b->id, 2), -EALREADY);
	ck_assert_int_eq(sched_kill(s, "job_nope", 2), -ENOENT);
	ck_assert_int_eq(f.nlaunched, 8); /* the freed slots go back to a */
	sched_free(s);
}
END_TEST

START_TEST(test_no_exec_and_empty)
{
	struct fake f;
	struct sched *s = mk(&f, 5, false);
	sched_node_up(s, 0, "filters-only", 2, false, 0);
	sched_node_up(s, 1, "dn", 2, true, 0);
	f.holders[0] = 1u; /* only on the no-exec node */
	struct sched_job *m = job(1, true);
	sched_submit(s, m, 0);
	ck_assert_int_eq(f.nlaunched, 1);
	ck_assert_uint_eq(f.launched[0].node, 1); /* no viable holder: remote at once */
	ck_assert(!f.launched[0].local);
	struct sched_job *g = job(1, false);
	sched_submit(s, g, 0);
	ck_assert_uint_eq(f.launched[1].node, 0); /* a filter runs there, locally */
	struct sched_job *e = job(0, false);
	sched_submit(s, e, 0);
	ck_assert_int_eq(e->state, JOB_SUCCEEDED);
	ck_assert_int_eq(f.nended, 1);
	struct job_info info;
	sched_job_info(e, 1, &info);
	ck_assert_uint_eq(info.total, 0);
	ck_assert_ptr_eq(sched_find(s, e->id), e);
	sched_free(s);
}
END_TEST

START_TEST(test_timeout)
{
	struct fake f;
	struct sched *s = mk(&f, 0, false);
	nodes_up(s, 2, 1);
	f.holders[0] = 3u;
	struct sched_job *j = job(1, false);
	sched_submit(s, j, 0);
	report(s, j, 0, 1, f.launched[0].node, JOB_A_RUNNING, 30); /* progress */
	sched_tick(s, 80);
	ck_assert_int_eq(f.nkilled, 0);
	sched_tick(s, 91);
	ck_assert_int_eq(f.nkilled, 1);
	ck_assert_int_eq(f.nlaunched, 2);
	ck_assert_uint_ne(f.launched[1].node, f.launched[0].node);
	sched_free(s);
}
END_TEST


/* A MapReduce job: nmaps map tasks (block i each), then nred reduce tasks. */
static struct sched_job *mr_job(uint32_t nmaps, uint32_t nred)
{
	struct sched_job *j = job(nmaps, true);
	j->spec.reduce = strdup("count");
	j->spec.reducers = nred;
	j->spec.key_fields = 1;
	j->tasks = realloc(j->tasks, (nmaps + nred) * sizeof *j->tasks);
	for (uint32_t r = 0; r < nred; r++) {
		memset(&j->tasks[nmaps + r], 0, sizeof j->tasks[0]);
		j->tasks[nmaps + r].index = nmaps + r;
		j->tasks[nmaps + r].kind = JOB_K_REDUCE;
		j->tasks[nmaps + r].partition = r;
		j->tasks[nmaps + r].block = 63; /* no block: no holder */
	}
	j->ntasks = nmaps + nred;
	return j;
}

/* The node of the last launch of task t (attempt into *attempt). */
static uint32_t launched_on(const struct fake *f, uint32_t t, uint32_t *attempt)
{
	for (int i = f->nlaunched - 1; i >= 0; i--)
		if (f->launched[i].task == t) {
			if (attempt)
				*attempt = f->launched[i].attempt;
			return f->launched[i].node;
		}
	ck_abort_msg("task %u never launched", t);
	return 0;
}

/* Reduce task task's attempt 1 on node failed: it could not fetch map `map` attempt 1. */
static void report_lost(struct sched *s, struct sched_job *j, uint32_t task, uint32_t node,
			uint32_t map, double now)
{
	struct job_report r = {0};
	snprintf(r.job, sizeof r.job, "%s", j->id);
	r.task = task;
	r.attempt = 1;
	r.state = JOB_A_FAILED;
	r.lost_map = map + 1;
	r.lost_attempt = 1;
	r.message = (char *)"cannot fetch the output of a map";
	r.stderr_tail = (char *)"";
	sched_report(s, node, &r, now);
}

static int launches_of(const struct fake *f, uint32_t t)
{
	int n = 0;
	for (int i = 0; i < f->nlaunched; i++)
		n += f->launched[i].task == t;
	return n;
}

START_TEST(test_mr_reduces_wait_for_maps)
{
	struct fake f;
	struct sched *s = mk(&f, 0, false);
	for (uint32_t n = 0; n < 3; n++)
		sched_node_up(s, n, "dn", 4, true, 0);
	for (uint32_t b = 0; b < 3; b++)
		f.holders[b] = 1u << b;
	struct sched_job *j = mr_job(3, 2);
	sched_submit(s, j, 0);
	ck_assert_int_eq(f.nlaunched, 3); /* the maps only, though slots are free */
	struct job_info info;
	sched_job_info(j, 0, &info);
	ck_assert_uint_eq(info.phase, JOB_PHASE_MAP);
	ck_assert_uint_eq(info.reduce_total, 2);
	report(s, j, 0, 1, 0, JOB_A_SUCCEEDED, 1);
	report(s, j, 1, 1, 1, JOB_A_SUCCEEDED, 1);
	ck_assert_int_eq(f.nlaunched, 3);
	struct job_report r = {0};
	snprintf(r.job, sizeof r.job, "%s", j->id);
	r.task = 2;
	r.attempt = 1;
	r.state = JOB_A_SUCCEEDED;
	r.counters[JOB_C_MAP_OUTPUT_RECORDS] = 7;
	r.message = r.stderr_tail = (char *)"";
	sched_report(s, 2, &r, 1);
	ck_assert_int_eq(f.nlaunched, 5); /* now both reducers */
	sched_job_info(j, 1, &info);
	ck_assert_uint_eq(info.phase, JOB_PHASE_REDUCE);
	ck_assert_int_eq(info.map_elapsed_ms, 1000); /* the last map ended at 1 s */
	ck_assert_uint_eq(info.counters[JOB_C_MAP_OUTPUT_RECORDS], 7);
	ck_assert_uint_eq(info.node_local, 3);
	report(s, j, 3, 1, launched_on(&f, 3, NULL), JOB_A_SUCCEEDED, 2);
	report(s, j, 4, 1, launched_on(&f, 4, NULL), JOB_A_SUCCEEDED, 2);
	ck_assert_int_eq(f.nended, 1);
	ck_assert_uint_eq(f.last_state, JOB_SUCCEEDED);
	sched_job_info(j, 2, &info);
	ck_assert_uint_eq(info.phase, JOB_PHASE_DONE);
	ck_assert_uint_eq(info.reduce_done, 2);
	ck_assert_uint_eq(info.node_local + info.remote, 3); /* placement counts maps */
	sched_free(s);
}
END_TEST

START_TEST(test_mr_lost_node_reruns_maps)
{
	struct fake f;
	struct sched *s = mk(&f, 0, false);
	for (uint32_t n = 0; n < 3; n++)
		sched_node_up(s, n, "dn", 1, true, 0);
	for (uint32_t b = 0; b < 3; b++)
		f.holders[b] = 7; /* every node holds every block */
	struct sched_job *j = mr_job(3, 1);
	sched_submit(s, j, 0);
	for (uint32_t t = 0; t < 3; t++)
		report(s, j, t, 1, launched_on(&f, t, NULL), JOB_A_SUCCEEDED, 1);
	uint32_t rnode = launched_on(&f, 3, NULL);
	/* a node other than the reducer's, whose map output is lost */
	uint32_t dead = (rnode + 1) % 3, lost = 3;
	for (uint32_t t = 0; t < 3; t++)
		if (launched_on(&f, t, NULL) == dead)
			lost = t;
	ck_assert_uint_lt(lost, 3);
	sched_node_down(s, dead, 2);
	struct job_info info;
	sched_job_info(j, 2, &info);
	ck_assert_uint_eq(info.phase, JOB_PHASE_MAP); /* a map to do again */
	ck_assert_int_eq(launches_of(&f, lost), 2);
	uint32_t at;
	ck_assert_uint_ne(launched_on(&f, lost, &at), dead);
	ck_assert_uint_eq(at, 2);
	ck_assert_int_eq(f.nended, 0);
	/* the reducer, still running, fails to fetch the old attempt: it waits again */
	report_lost(s, j, 3, rnode, lost, 3);
	ck_assert_int_eq(launches_of(&f, 3), 1); /* not before the map is done again */
	ck_assert_uint_eq(j->tasks[3].failures, 0); /* not the reducer's fault */
	ck_assert_int_eq(launches_of(&f, lost), 2); /* the re-run attempt was not the one named */
	report(s, j, lost, 2, launched_on(&f, lost, NULL), JOB_A_SUCCEEDED, 4);
	ck_assert_int_eq(launches_of(&f, 3), 2);
	report(s, j, 3, 2, launched_on(&f, 3, NULL), JOB_A_SUCCEEDED, 5);
	ck_assert_uint_eq(f.last_state, JOB_SUCCEEDED);
	sched_free(s);
}
END_TEST

START_TEST(test_mr_slow_start_and_preemption)
{
	struct fake f;
	memset(&f, 0, sizeof f);
	struct sched_cfg cfg = {.locality_delay = 0, .task_attempts = 3, .task_timeout = 60,
				.reduce_slowstart = 0.5, .keep_jobs = 10};
	struct sched_ops ops = {&f, f_holders, f_launch, f_kill, f_ended, NULL, f_located};
	struct sched *s = sched_new(&cfg, &ops);
	for (uint32_t n = 0; n < 2; n++)
		sched_node_up(s, n, "dn", 2, true, 0);
	for (uint32_t b = 0; b < 4; b++)
		f.holders[b] = 1u << (b % 2); /* maps 0, 2 on node 0; 1, 3 on node 1 */
	struct sched_job *j = mr_job(4, 2);
	sched_submit(s, j, 0);
	ck_assert_int_eq(f.nlaunched, 4);
	report(s, j, 0, 1, 0, JOB_A_SUCCEEDED, 1);
	ck_assert_int_eq(f.nlaunched, 4); /* 1 of 4 maps: under the slow start share */
	report(s, j, 1, 1, 1, JOB_A_SUCCEEDED, 1);
	ck_assert_int_eq(f.nlaunched, 6); /* 2 of 4: both reducers, maps 2 and 3 running */
	ck_assert_uint_ge(f.launched[4].task, 4);
	ck_assert_uint_ge(f.launched[5].task, 4);
	struct job_info info;
	sched_job_info(j, 1, &info);
	ck_assert_uint_eq(info.phase, JOB_PHASE_MAP);
	/* one reducer on each node (locality put them where the maps ended) */
	ck_assert_uint_ne(launched_on(&f, 4, NULL), launched_on(&f, 5, NULL));
	/* map 2 fails on node 0; node 1 runs map 3 and a reducer: that reducer, waiting
	 * for maps, is preempted for map 2, which may not go back to node 0 */
	report(s, j, 2, 1, 0, JOB_A_FAILED, 2);
	ck_assert_int_eq(f.nkilled, 1);
	ck_assert_uint_eq(f.killed[0].node, 1);
	ck_assert_uint_ge(f.killed[0].task, 4);
	ck_assert_uint_eq(j->tasks[f.killed[0].task].failures, 0);
	ck_assert_int_eq(launches_of(&f, 2), 2);
	ck_assert_uint_eq(launched_on(&f, 2, NULL), 1);
	/* the reducers hear of each map that finishes now */
	report(s, j, 3, 1, 1, JOB_A_SUCCEEDED, 3);
	ck_assert_int_eq(f.nlocated, 1);
	ck_assert_uint_eq(f.located[0], 3);
	report(s, j, 2, 2, 1, JOB_A_SUCCEEDED, 4);
	ck_assert_int_eq(f.nlocated, 2);
	ck_assert_int_eq(f.nlaunched, 8); /* the preempted reducer again */
	/* every reducer (the preempted one again) finishes */
	for (uint32_t r = 4; r < 6; r++) {
		uint32_t at;
		uint32_t node = launched_on(&f, r, &at);
		report(s, j, r, at, node, JOB_A_SUCCEEDED, 5);
	}
	ck_assert_uint_eq(f.last_state, JOB_SUCCEEDED);
	sched_free(s);
}
END_TEST

START_TEST(test_mr_fetch_failure_reruns_map)
{
	struct fake f;
	struct sched *s = mk(&f, 0, false);
	for (uint32_t n = 0; n < 2; n++)
		sched_node_up(s, n, "dn", 2, true, 0);
	f.holders[0] = f.holders[1] = 3;
	struct sched_job *j = mr_job(2, 1);
	sched_submit(s, j, 0);
	report(s, j, 0, 1, launched_on(&f, 0, NULL), JOB_A_SUCCEEDED, 1);
	report(s, j, 1, 1, launched_on(&f, 1, NULL), JOB_A_SUCCEEDED, 1);
	uint32_t m0 = launched_on(&f, 0, NULL);
	report_lost(s, j, 2, launched_on(&f, 2, NULL), 0, 2);
	ck_assert_int_eq(launches_of(&f, 0), 2);
	ck_assert_uint_ne(launched_on(&f, 0, NULL), m0); /* away from the node that failed */
	ck_assert_uint_eq(j->tasks[0].failures, 1);
	ck_assert_uint_eq(j->tasks[2].failures, 0);
	report(s, j, 0, 2, launched_on(&f, 0, NULL), JOB_A_SUCCEEDED, 3);
	report(s, j, 2, 2, launched_on(&f, 2, NULL), JOB_A_SUCCEEDED, 4);
	ck_assert_uint_eq(f.last_state, JOB_SUCCEEDED);
	sched_free(s);
}
END_TEST

/* A reduce's progress report: attempt `attempt` of task at ppm millionths. */
static void reduce_progress(struct sched *s, struct sched_job *j, uint32_t task,
			    uint32_t attempt, uint32_t node, uint32_t ppm, double now)
{
	struct job_report r = {0};
	snprintf(r.job, sizeof r.job, "%s", j->id);
	r.task = task;
	r.attempt = attempt;
	r.state = JOB_A_RUNNING;
	r.progress = ppm;
	r.message = r.stderr_tail = (char *)"";
	sched_report(s, node, &r, now);
}

START_TEST(test_mr_late_reducers)
{
	struct fake f;
	struct sched *s = mk(&f, 0, true);
	for (uint32_t n = 0; n < 4; n++)
		sched_node_up(s, n, "dn", 2, true, 0);
	for (uint32_t b = 0; b < 2; b++)
		f.holders[b] = 1u << b;
	struct sched_job *j = mr_job(2, 3);
	sched_submit(s, j, 0);
	report(s, j, 0, 1, 0, JOB_A_SUCCEEDED, 0.5);
	report(s, j, 1, 1, 1, JOB_A_SUCCEEDED, 0.5);
	ck_assert_int_eq(f.nlaunched, 5); /* the three reducers */
	uint32_t slow = launched_on(&f, 4, NULL);
	/* reducer 2 crawls (a tenth done in 2 s), reducer 1 is nearly done: no backup
	 * before one reducer has finished (no estimate of a fresh copy) */
	reduce_progress(s, j, 4, 1, slow, 100000, 2.5);
	reduce_progress(s, j, 3, 1, launched_on(&f, 3, NULL), 900000, 2.5);
	sched_tick(s, 2.5);
	ck_assert_int_eq(f.nlaunched, 5);
	report(s, j, 2, 1, launched_on(&f, 2, NULL), JOB_A_SUCCEEDED, 2.6);
	sched_tick(s, 2.7);
	ck_assert_int_eq(f.nlaunched, 6); /* the slow one, not the nearly done one */
	ck_assert_uint_eq(f.launched[5].task, 4);
	ck_assert(f.launched[5].speculative);
	ck_assert_uint_ne(f.launched[5].node, slow); /* never on the slow node */
	/* the backup wins: the slow attempt is killed, the task is done once */
	report(s, j, 3, 1, launched_on(&f, 3, NULL), JOB_A_SUCCEEDED, 3);
	report(s, j, 4, 2, f.launched[5].node, JOB_A_SUCCEEDED, 4);
	ck_assert_int_eq(f.nkilled, 1);
	ck_assert_uint_eq(f.killed[0].task, 4);
	ck_assert_uint_eq(f.killed[0].node, slow);
	ck_assert_int_eq(j->state, JOB_SUCCEEDED);
	ck_assert_int_eq(j->tasks[4].winner, 1);
	ck_assert_uint_eq(j->reduce_done, 3);
	sched_free(s);
}
END_TEST

START_TEST(test_mr_no_reduce_backup_while_maps_run)
{
	/* a reducer waiting for a slow map makes no progress, and is not slow: no backup */
	struct fake f;
	struct sched *s = mk(&f, 0, true);
	for (uint32_t n = 0; n < 4; n++)
		sched_node_up(s, n, "dn", 2, true, 0);
	for (uint32_t b = 0; b < 2; b++)
		f.holders[b] = 1u << b;
	struct sched_job *j = mr_job(2, 2);
	j->spec.reducers = 2;
	sched_submit(s, j, 0);
	report(s, j, 0, 1, 0, JOB_A_SUCCEEDED, 0.5);
	report(s, j, 1, 1, 1, JOB_A_SUCCEEDED, 0.5);
	ck_assert_int_eq(f.nlaunched, 4);
	report(s, j, 2, 1, launched_on(&f, 2, NULL), JOB_A_SUCCEEDED, 1);
	/* the map's node restarts: its map runs again, and the reducer waits for it */
	sched_node_up(s, 0, "dn", 2, true, 1.1);
	reduce_progress(s, j, 3, 1, launched_on(&f, 3, NULL), 1000, 5);
	sched_tick(s, 5);
	for (int i = 4; i < f.nlaunched; i++)
		ck_assert_msg(f.launched[i].task != 3 || !f.launched[i].speculative,
			      "a reducer waiting for maps was backed up");
	sched_free(s);
}
END_TEST

int main(void)
{
	log_set_level(LOG_WARN);
	return UNIT_MAIN("scheduler",
		{"core", .tests = UNIT_TESTS(
			test_local_when_slots_free, test_delay_then_remote,
			test_slots_and_heterogeneous, test_retry_elsewhere_then_fail,
			test_node_lost, test_speculation, test_fair_share_and_kill,
			test_no_exec_and_empty, test_timeout, test_late,
			test_mr_reduces_wait_for_maps, test_mr_lost_node_reruns_maps,
			test_mr_fetch_failure_reruns_map, test_mr_slow_start_and_preemption,
			test_mr_late_reducers, test_mr_no_reduce_backup_while_maps_run)});
}
