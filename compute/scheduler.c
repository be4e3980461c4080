/* scheduler: jobs, tasks and attempts on the namenode. See scheduler.h. */
#include "scheduler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "buf.h"
#include "grow.h"
#include "reduce.h"

struct node {
	bool up, exec;
	uint32_t slots, running;
	char id[PROTO_ID_MAX + 1];
};

struct sched {
	struct sched_cfg cfg;
	struct sched_ops ops;
	struct node *nodes;
	uint32_t nnodes;
	uint32_t rr; /* the node offered a slot first in the next pass */
	struct sched_job *jobs, *last;
	uint64_t seq;
	char prefix[32];
};

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		abort();
	return p;
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = xstrdup(s);
}

struct sched *sched_new(const struct sched_cfg *cfg, const struct sched_ops *ops)
{
	struct sched *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->cfg = *cfg;
	if (!s->cfg.task_attempts)
		s->cfg.task_attempts = 1;
	if (!s->cfg.keep_jobs)
		s->cfg.keep_jobs = 100;
	s->ops = *ops;
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(s->prefix, sizeof s->prefix, "%Y%m%d%H%M%S", &tm);
	return s;
}

static void free_job(struct sched_job *j)
{
	for (uint32_t i = 0; i < j->ntasks; i++) {
		struct sched_task *t = &j->tasks[i];
		for (uint32_t k = 0; k < t->nattempts; k++) {
			free(t->attempts[k].message);
			free(t->attempts[k].stderr_tail);
		}
		free(t->attempts);
		free(t->bad_nodes);
	}
	for (uint32_t i = 0; i < j->ninputs; i++)
		free(j->inputs[i].path);
	free(j->inputs);
	free(j->tasks);
	job_spec_free(&j->spec);
	free(j->error);
	free(j->error_stderr);
	free(j);
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	while (s->jobs) {
		struct sched_job *j = s->jobs;
		s->jobs = j->next;
		free_job(j);
	}
	free(s->nodes);
	free(s);
}

static struct node *node_at(struct sched *s, uint32_t i)
{
	if (i >= s->nnodes) {
		uint32_t n = i + 1 > s->nnodes * 2 ? i + 1 : s->nnodes * 2;
		struct node *v = realloc(s->nodes, n * sizeof *v);
		if (!v)
			abort();
		memset(v + s->nnodes, 0, (n - s->nnodes) * sizeof *v);
		s->nodes = v;
		s->nnodes = n;
	}
	return &s->nodes[i];
}

const char *sched_node_id(const struct sched *s, uint32_t node)
{
	return node < s->nnodes ? s->nodes[node].id : "";
}

uint32_t sched_node_running(const struct sched *s, uint32_t node)
{
	return node < s->nnodes ? s->nodes[node].running : 0;
}

static bool needs_exec(const struct sched_job *j)
{
	return (j->spec.map && j->spec.map[0]) ||
	       (job_spec_is_mr(&j->spec) && mr_builtin_parse(j->spec.reduce) == MR_NONE);
}

/* Reduce tasks of j may be placed now: every map is done, or reduce_slowstart of them
 * and none waits for a slot (and no test holds them). */
static bool reduces_ready(const struct sched *s, const struct sched_job *j)
{
	if (s->ops.hold_reduces && s->ops.hold_reduces(s->ops.arg))
		return false;
	if (j->maps_done == j->nmaps)
		return true;
	if ((double)j->maps_done < s->cfg.reduce_slowstart * j->nmaps)
		return false;
	for (uint32_t i = 0; i < j->nmaps; i++)
		if (j->tasks[i].state == SCHED_T_PENDING)
			return false;
	return true;
}

/* Tells j's running reducers where map t's output is now. */
static void map_located(struct sched *s, struct sched_job *j, struct sched_task *t)
{
	if (!s->ops.map_located || t->kind != JOB_K_MAP || j->nmaps == j->ntasks)
		return;
	for (uint32_t i = j->nmaps; i < j->ntasks; i++)
		if (j->tasks[i].state == SCHED_T_RUNNING) {
			s->ops.map_located(s->ops.arg, j, t);
			return;
		}
}

static bool can_run(const struct sched *s, uint32_t n, const struct sched_job *j)
{
	const struct node *nd = &s->nodes[n];
	return nd->up && nd->slots > 0 && (nd->exec || !needs_exec(j));
}

static bool failed_on(const struct sched_task *t, uint32_t n)
{
	for (uint32_t i = 0; i < t->nbad; i++)
		if (t->bad_nodes[i] == n)
			return true;
	return false;
}

static bool running_on(const struct sched_task *t, uint32_t n)
{
	for (uint32_t i = 0; i < t->nattempts; i++)
		if (t->attempts[i].state == JOB_A_RUNNING && t->attempts[i].node == n)
			return true;
	return false;
}

/* Nodes that could take t now or later without retrying where it failed; when it has
 * failed everywhere, every node may be tried again. */
static bool node_allowed(const struct sched *s, const struct sched_job *j,
			 const struct sched_task *t, uint32_t n)
{
	if (!can_run(s, n, j) || running_on(t, n))
		return false;
	if (!failed_on(t, n))
		return true;
	for (uint32_t i = 0; i < s->nnodes; i++)
		if (i != n && can_run(s, i, j) && !failed_on(t, i))
			return false;
	return true;
}

static bool is_holder(const uint32_t *h, uint32_t nh, uint32_t n)
{
	for (uint32_t i = 0; i < nh; i++)
		if (h[i] == n)
			return true;
	return false;
}

/* True when some holder of t's block could run it (so waiting for one makes sense). */
static bool has_viable_holder(struct sched *s, const struct sched_job *j,
			      const struct sched_task *t, const uint32_t *h, uint32_t nh)
{
	for (uint32_t i = 0; i < nh; i++)
		if (h[i] < s->nnodes && node_allowed(s, j, t, h[i]))
			return true;
	return false;
}

static struct sched_attempt *new_attempt(struct sched_task *t)
{
	if (ALLOC_GROW(t->attempts, t->nattempts + 1, t->capattempts))
		abort();
	struct sched_attempt *a = &t->attempts[t->nattempts];
	memset(a, 0, sizeof *a);
	a->n = ++t->nattempts;
	a->exit_status = -1;
	return a;
}

static void launch(struct sched *s, struct sched_job *j, struct sched_task *t, uint32_t n,
		   bool local, bool speculative, double now)
{
	struct sched_attempt *a = new_attempt(t);
	a->node = n;
	a->state = JOB_A_RUNNING;
	a->local = local;
	a->speculative = speculative;
	a->start = a->last_report = now;
	if (t->state == SCHED_T_PENDING) {
		t->state = SCHED_T_RUNNING;
		j->pending--;
	}
	j->running++;
	if (speculative)
		j->speculative++;
	s->nodes[n].running++;
	s->ops.launch(s->ops.arg, j, t, a);
}

/* An attempt stops running (any reason): its slot and counters. */
static void attempt_stopped(struct sched *s, struct sched_job *j, struct sched_attempt *a,
			    uint8_t state, double now)
{
	a->state = state;
	a->end = now;
	j->running--;
	if (a->node < s->nnodes && s->nodes[a->node].running)
		s->nodes[a->node].running--;
}

/* Kills every running attempt of task t, saying why. */
static void kill_running(struct sched *s, struct sched_job *j, struct sched_task *t,
			 const char *why, double now)
{
	for (uint32_t k = 0; k < t->nattempts; k++) {
		struct sched_attempt *a = &t->attempts[k];
		if (a->state != JOB_A_RUNNING)
			continue;
		attempt_stopped(s, j, a, JOB_A_KILLED, now);
		set_str(&a->message, why);
		s->ops.kill(s->ops.arg, j, t, a);
	}
}

static void end_job(struct sched *s, struct sched_job *j, uint8_t state, double now)
{
	for (uint32_t i = 0; i < j->ntasks; i++)
		kill_running(s, j, &j->tasks[i], "killed: the job ended", now);
	j->state = state;
	j->ended = now;
	s->ops.ended(s->ops.arg, j);
	/* forget the oldest ended jobs beyond keep_jobs */
	uint32_t ended = 0;
	for (struct sched_job *x = s->jobs; x; x = x->next)
		ended += x->state != JOB_RUNNING;
	struct sched_job **pp = &s->jobs;
	while (*pp && ended > s->cfg.keep_jobs) {
		struct sched_job *x = *pp;
		if (x->state == JOB_RUNNING || x == j) {
			pp = &x->next;
			continue;
		}
		*pp = x->next;
		free_job(x);
		ended--;
	}
	s->last = NULL;
	for (struct sched_job *x = s->jobs; x; x = x->next)
		s->last = x;
}

void sched_submit(struct sched *s, struct sched_job *j, double now)
{
	j->seq = ++s->seq;
	snprintf(j->id, sizeof j->id, "job_%s_%04llu", s->prefix, (unsigned long long)j->seq);
	j->state = JOB_RUNNING;
	j->submitted = now;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	j->submitted_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	j->pending = j->ntasks;
	j->skip_since = -1;
	j->input_bytes = 0;
	j->nmaps = j->maps_done = j->reduce_done = 0;
	for (uint32_t i = 0; i < j->ntasks; i++) {
		struct sched_task *t = &j->tasks[i];
		t->state = SCHED_T_PENDING;
		t->winner = -1;
		j->input_bytes += t->length;
		j->nmaps += t->kind == JOB_K_MAP;
	}
	j->next = NULL;
	if (s->last)
		s->last->next = j;
	else
		s->jobs = j;
	s->last = j;
	if (!j->ntasks)
		end_job(s, j, JOB_SUCCEEDED, now);
	else
		sched_schedule(s, now);
}

/* Chooses a pending task of j for node n: node-local first, then (when allowed) one
 * that must or may run remotely. Returns it or NULL; *local tells which. */
static struct sched_task *pick_task(struct sched *s, struct sched_job *j, uint32_t n,
				    double now, bool *local)
{
	struct sched_task *must_remote = NULL, *any = NULL;
	uint32_t h[SCHED_MAX_HOLDERS];
	bool reduces = reduces_ready(s, j);
	for (uint32_t i = 0; i < j->ntasks; i++) {
		struct sched_task *t = &j->tasks[i];
		if (t->state != SCHED_T_PENDING || !node_allowed(s, j, t, n))
			continue;
		if (t->kind == JOB_K_REDUCE && !reduces)
			continue;
		uint32_t nh = s->ops.holders(s->ops.arg, t->block, h, SCHED_MAX_HOLDERS);
		if (is_holder(h, nh, n)) {
			*local = true;
			return t;
		}
		if (!must_remote && !has_viable_holder(s, j, t, h, nh))
			must_remote = t;
		if (!any)
			any = t;
	}
	*local = false;
	if (must_remote)
		return must_remote;
	if (any && j->skip_since >= 0 && now - j->skip_since >= s->cfg.locality_delay)
		return any;
	if (any && j->skip_since < 0)
		j->skip_since = now;
	return NULL;
}

/* Running jobs in fair-share order: fewest running attempts, then oldest. */
static uint32_t jobs_by_share(struct sched *s, struct sched_job **out, uint32_t max)
{
	uint32_t n = 0;
	for (struct sched_job *j = s->jobs; j && n < max; j = j->next) {
		if (j->state != JOB_RUNNING || !j->pending)
			continue;
		uint32_t k = n++;
		while (k > 0 && (out[k - 1]->running > j->running)) {
			out[k] = out[k - 1];
			k--;
		}
		out[k] = j;
	}
	return n;
}

static bool offer_slot(struct sched *s, uint32_t n, double now)
{
	struct sched_job *order[256];
	uint32_t nj = jobs_by_share(s, order, 256);
	for (uint32_t i = 0; i < nj; i++) {
		struct sched_job *j = order[i];
		if (!can_run(s, n, j))
			continue;
		bool local;
		struct sched_task *t = pick_task(s, j, n, now, &local);
		if (!t)
			continue;
		if (local)
			j->skip_since = -1;
		launch(s, j, t, n, local, false, now);
		return true;
	}
	return false;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* A running attempt's estimate (LATE): progress rate and time left. */
struct late {
	struct sched_task *t;
	struct sched_attempt *a;
	double rate, left;
};

static int cmp_rate(const void *x, const void *y)
{
	const struct late *a = x, *b = y;
	return a->rate < b->rate ? -1 : a->rate > b->rate;
}

static int cmp_left_desc(const void *x, const void *y)
{
	const struct late *a = x, *b = y;
	return a->left > b->left ? -1 : a->left < b->left;
}

/* True when node n runs one of the slow attempts cand[0..nc) (a node not to back up on). */
static bool runs_slow(const struct late *cand, uint32_t nc, uint32_t n)
{
	for (uint32_t i = 0; i < nc; i++)
		if (cand[i].a->node == n)
			return true;
	return false;
}

/* A running attempt's progress, 0..1: a map's share of its split read; a reduce's as it
 * reports it (its copy, merge and reduce phases, a third each). */
static double attempt_progress(const struct sched_task *t, const struct sched_attempt *a)
{
	double p = t->kind == JOB_K_REDUCE ? a->progress / 1e6
		   : t->length		   ? (double)a->bytes_in / (double)t->length
					   : 0;
	return p > 1 ? 1 : p;
}

/*
 * LATE (Zaharia et al., OSDI'08) over j's tasks of one kind: maps once each map has
 * started, reduces once every map is done and each reduce has started (a reducer
 * waiting for maps is not slow). A running attempt's rate is progress / elapsed, its
 * time left (1 - progress) / rate. Candidates ran at least spec_min, are in the slowest
 * quarter of the rates of the tasks of that kind running alone, and would take longer
 * than a fresh copy (the median time of the finished tasks of that kind). The one with
 * the longest time left is backed up first, on a free node that runs no candidate
 * itself (for maps a replica holder when one is free), while the backups running stay
 * under the cap (a tenth of the slots, at least one, over both kinds).
 */
static void speculate_kind(struct sched *s, struct sched_job *j, uint8_t kind, double now)
{
	uint32_t nrunning = 0, slots = 0, spec_running = 0, ndone = 0;
	if (kind == JOB_K_REDUCE && (j->maps_done < j->nmaps || j->nmaps == j->ntasks))
		return;
	for (uint32_t i = 0; i < j->ntasks; i++) {
		struct sched_task *t = &j->tasks[i];
		if (t->kind == kind && t->state == SCHED_T_PENDING)
			return; /* not every task of the kind has started */
		nrunning += t->kind == kind && t->state == SCHED_T_RUNNING;
		ndone += t->kind == kind && t->state == SCHED_T_DONE;
		for (uint32_t k = 0; k < t->nattempts; k++)
			spec_running += t->attempts[k].state == JOB_A_RUNNING &&
					t->attempts[k].speculative;
	}
	for (uint32_t n = 0; n < s->nnodes; n++)
		slots += s->nodes[n].up ? s->nodes[n].slots : 0;
	uint32_t cap = slots / 10 > 1 ? slots / 10 : 1;
	if (!nrunning || !ndone || spec_running >= cap)
		return;
	double *d = malloc(ndone * sizeof *d);
	struct late *c = malloc(nrunning * sizeof *c);
	if (!d || !c)
		goto out;
	uint32_t nd = 0, nc = 0;
	for (uint32_t i = 0; i < j->ntasks; i++) {
		struct sched_task *t = &j->tasks[i];
		if (t->kind != kind)
			continue;
		if (t->state == SCHED_T_DONE && t->winner >= 0 && nd < ndone) {
			struct sched_attempt *w = &t->attempts[t->winner];
			d[nd++] = w->end - w->start;
		}
		if (t->state != SCHED_T_RUNNING)
			continue;
		struct sched_attempt *only = NULL;
		uint32_t nrun = 0;
		for (uint32_t k = 0; k < t->nattempts; k++)
			if (t->attempts[k].state == JOB_A_RUNNING) {
				only = &t->attempts[k];
				nrun++;
			}
		if (nrun != 1)
			continue; /* backed up already */
		double el = now - only->start;
		double p = attempt_progress(t, only);
		double rate = el > 0 ? p / el : 0;
		c[nc++] = (struct late){t, only, rate, rate > 0 ? (1 - p) / rate : 1e300};
	}
	if (!nd || !nc)
		goto out;
	qsort(d, nd, sizeof *d, cmp_double);
	double fresh = d[nd / 2];
	qsort(c, nc, sizeof *c, cmp_rate);
	double slow_rate = c[nc / 4].rate; /* SlowTaskThreshold: the slowest quarter */
	uint32_t ns = 0;
	for (uint32_t i = 0; i < nc; i++)
		if (c[i].rate <= slow_rate && now - c[i].a->start >= s->cfg.spec_min &&
		    c[i].left > fresh)
			c[ns++] = c[i];
	qsort(c, ns, sizeof *c, cmp_left_desc);
	uint32_t h[SCHED_MAX_HOLDERS];
	for (uint32_t i = 0; i < ns && spec_running < cap; i++) {
		struct sched_task *t = c[i].t;
		/* a free slot on a node that is not slow, on a replica holder when there is one */
		uint32_t nh = kind == JOB_K_MAP
				      ? s->ops.holders(s->ops.arg, t->block, h, SCHED_MAX_HOLDERS)
				      : 0;
		uint32_t best = SCHED_NO_NODE;
		bool best_local = false;
		for (uint32_t n = 0; n < s->nnodes; n++) {
			struct node *nd2 = &s->nodes[n];
			if (runs_slow(c, ns, n) || nd2->running >= nd2->slots ||
			    !node_allowed(s, j, t, n))
				continue;
			bool local = is_holder(h, nh, n);
			if (best == SCHED_NO_NODE || (local && !best_local)) {
				best = n;
				best_local = local;
			}
		}
		if (best != SCHED_NO_NODE) {
			launch(s, j, t, best, best_local, true, now);
			spec_running++;
		}
	}
out:
	free(d);
	free(c);
}

static void speculate(struct sched *s, struct sched_job *j, double now)
{
	if (j->state != JOB_RUNNING || !j->done || !s->cfg.speculation)
		return;
	speculate_kind(s, j, JOB_K_MAP, now);
	if (j->state == JOB_RUNNING)
		speculate_kind(s, j, JOB_K_REDUCE, now);
}

static void requeue_if_idle(struct sched_job *j, struct sched_task *t);

/* A reducer must not starve the maps it waits for: when a pending map of a job has no
 * free slot on any node it may run on, the newest of the job's reducers (all waiting
 * for maps) on such a node is killed -- not a failure -- and placed again later. True
 * when one was. */
static bool preempt_reducer(struct sched *s, double now)
{
	for (struct sched_job *j = s->jobs; j; j = j->next) {
		if (j->state != JOB_RUNNING || j->maps_done == j->nmaps || j->nmaps == j->ntasks)
			continue;
		for (uint32_t i = 0; i < j->nmaps; i++) {
			struct sched_task *m = &j->tasks[i];
			if (m->state != SCHED_T_PENDING)
				continue;
			bool room = false;
			for (uint32_t n = 0; n < s->nnodes && !room; n++)
				room = s->nodes[n].running < s->nodes[n].slots &&
				       node_allowed(s, j, m, n);
			if (room)
				continue; /* it will be placed (maybe after the locality delay) */
			struct sched_task *vt = NULL;
			struct sched_attempt *va = NULL;
			for (uint32_t r = j->nmaps; r < j->ntasks; r++)
				for (uint32_t k = 0; k < j->tasks[r].nattempts; k++) {
					struct sched_attempt *a = &j->tasks[r].attempts[k];
					if (a->state == JOB_A_RUNNING && node_allowed(s, j, m, a->node) &&
					    (!va || a->start > va->start)) {
						vt = &j->tasks[r];
						va = a;
					}
				}
			if (!va)
				continue;
			attempt_stopped(s, j, va, JOB_A_KILLED, now);
			set_str(&va->message, "killed: a map it waits for needs its slot");
			s->ops.kill(s->ops.arg, j, vt, va);
			requeue_if_idle(j, vt);
			return true;
		}
	}
	return false;
}

void sched_schedule(struct sched *s, double now)
{
	bool placed = true;
	while (placed) {
		placed = false;
		for (uint32_t k = 0; k < s->nnodes; k++) {
			uint32_t n = (s->rr + k) % s->nnodes;
			struct node *nd = &s->nodes[n];
			if (!nd->up || nd->running >= nd->slots)
				continue;
			if (offer_slot(s, n, now))
				placed = true;
		}
		if (s->nnodes)
			s->rr = (s->rr + 1) % s->nnodes;
		if (!placed)
			placed = preempt_reducer(s, now);
	}
	for (struct sched_job *j = s->jobs; j; j = j->next)
		speculate(s, j, now);
}

static struct sched_attempt *find_attempt(struct sched *s, const char *job, uint32_t task,
					  uint32_t attempt, struct sched_job **jo,
					  struct sched_task **to)
{
	struct sched_job *j = sched_find(s, job);
	if (!j || task >= j->ntasks)
		return NULL;
	struct sched_task *t = &j->tasks[task];
	if (attempt < 1 || attempt > t->nattempts)
		return NULL;
	*jo = j;
	*to = t;
	return &t->attempts[attempt - 1];
}

/* One more failure of t, on node (avoided from now on). */
static void charge_failure(struct sched_job *j, struct sched_task *t, uint32_t node)
{
	j->failed_attempts++;
	t->failures++;
	if (!failed_on(t, node)) {
		uint32_t *v = realloc(t->bad_nodes, (t->nbad + 1) * sizeof *v);
		if (!v)
			abort();
		v[t->nbad++] = node;
		t->bad_nodes = v;
	}
}

/* t is back to PENDING unless another attempt of it still runs (or it is done). */
static void requeue_if_idle(struct sched_job *j, struct sched_task *t)
{
	bool other = false;
	for (uint32_t k = 0; k < t->nattempts; k++)
		other |= t->attempts[k].state == JOB_A_RUNNING;
	if (!other && t->state != SCHED_T_DONE) {
		t->state = SCHED_T_PENDING;
		j->pending++;
	}
}

/* Attempt a of t failed: retry, or fail the job when t has failed too often. */
static void attempt_failed(struct sched *s, struct sched_job *j, struct sched_task *t,
			   struct sched_attempt *a, const char *why, double now)
{
	attempt_stopped(s, j, a, JOB_A_FAILED, now);
	if (why)
		set_str(&a->message, why);
	charge_failure(j, t, a->node);
	if (t->state == SCHED_T_DONE)
		return;
	if (t->failures >= s->cfg.task_attempts) {
		struct buf e = BUF_INIT;
		buf_printf(&e, "task %05u (%s at offset %llu) failed %u time%s; the last attempt, on "
			       "node '%s': %s",
			   t->index, j->inputs[t->file].path, (unsigned long long)t->offset,
			   t->failures, t->failures == 1 ? "" : "s", sched_node_id(s, a->node),
			   a->message ? a->message : "failed");
		set_str(&j->error, e.data);
		set_str(&j->error_stderr, a->stderr_tail);
		buf_free(&e);
		end_job(s, j, JOB_FAILED, now);
		return;
	}
	requeue_if_idle(j, t);
}

static void attempt_succeeded(struct sched *s, struct sched_job *j, struct sched_task *t,
			      struct sched_attempt *a, double now)
{
	attempt_stopped(s, j, a, JOB_A_SUCCEEDED, now);
	if (t->state == SCHED_T_DONE)
		return; /* another attempt won: this one's output is discarded */
	t->state = SCHED_T_DONE;
	t->winner = (int32_t)(a - t->attempts);
	j->done++;
	if (t->kind == JOB_K_MAP)
		j->maps_done++;
	else
		j->reduce_done++;
	if (t->kind == JOB_K_MAP && j->maps_done == j->nmaps && j->nmaps < j->ntasks)
		j->maps_ended = now; /* the last map (again, after a lost output re-ran) */
	for (int c = 0; c < JOB_NCOUNTERS; c++)
		j->counters[c] += a->counters[c];
	j->records += a->records;
	if (t->kind == JOB_K_MAP) { /* placement and input bytes are the maps' */
		j->bytes_done += a->bytes_in;
		if (a->local)
			j->node_local++;
		else
			j->remote++;
	}
	kill_running(s, j, t, "killed: another attempt finished first", now);
	map_located(s, j, t);
	if (j->done == j->ntasks)
		end_job(s, j, JOB_SUCCEEDED, now);
}

static void map_output_lost(struct sched *s, struct sched_job *j, struct sched_task *t,
			    const char *why, bool charge, double now);

void sched_report(struct sched *s, uint32_t node, const struct job_report *r, double now)
{
	struct sched_job *j;
	struct sched_task *t;
	struct sched_attempt *a = find_attempt(s, r->job, r->task, r->attempt, &j, &t);
	if (!a || a->node != node || a->state != JOB_A_RUNNING || j->state != JOB_RUNNING)
		return;
	a->last_report = now;
	a->bytes_in = r->bytes_in;
	a->bytes_local = r->bytes_local;
	a->records = r->records;
	a->exit_status = r->exit_status;
	memcpy(a->counters, r->counters, sizeof a->counters);
	a->mem_peak = r->mem_peak;
	a->cmd_rss = r->cmd_rss;
	a->progress = r->progress > 1000000 ? 1000000 : r->progress;
	if (r->state == JOB_A_RUNNING)
		return;
	set_str(&a->stderr_tail, r->stderr_tail);
	set_str(&a->message, r->message);
	if (r->state == JOB_A_FAILED && t->kind == JOB_K_REDUCE && r->lost_map &&
	    r->lost_map <= j->nmaps) {
		/* not the reducer's fault: it goes back to wait for that map */
		struct sched_task *m = &j->tasks[r->lost_map - 1];
		attempt_stopped(s, j, a, JOB_A_FAILED, now);
		j->failed_attempts++;
		requeue_if_idle(j, t);
		if (m->kind == JOB_K_MAP && m->state == SCHED_T_DONE && m->winner >= 0 &&
		    m->attempts[m->winner].n == r->lost_attempt)
			map_output_lost(s, j, m, r->message && r->message[0] ? r->message
									     : "fetch failed",
					true, now);
		sched_schedule(s, now);
		return;
	}
	if (r->state == JOB_A_SUCCEEDED)
		attempt_succeeded(s, j, t, a, now);
	else
		attempt_failed(s, j, t, a, r->message && r->message[0] ? r->message : "failed",
			       now);
	sched_schedule(s, now);
}

/* True while some reduce task of j is unfinished (map outputs are still needed). */
static bool needs_map_outputs(const struct sched_job *j)
{
	return j->state == JOB_RUNNING && j->nmaps < j->ntasks &&
	       j->reduce_done < j->ntasks - j->nmaps;
}

/* Map task t of j is done but its output is gone: back to PENDING, to run again.
 * charge: count it as a failure of t on its node (a fetch failure). */
static void map_output_lost(struct sched *s, struct sched_job *j, struct sched_task *t,
			    const char *why, bool charge, double now)
{
	struct sched_attempt *w = &t->attempts[t->winner];
	set_str(&w->message, why);
	for (int c = 0; c < JOB_NCOUNTERS; c++)
		j->counters[c] -= w->counters[c];
	j->records -= w->records;
	j->bytes_done -= w->bytes_in;
	if (w->local)
		j->node_local--;
	else
		j->remote--;
	t->state = SCHED_T_PENDING;
	t->winner = -1;
	j->pending++;
	j->done--;
	j->maps_done--;
	map_located(s, j, t);
	if (!charge)
		return;
	charge_failure(j, t, w->node);
	if (t->failures >= s->cfg.task_attempts) {
		struct buf e = BUF_INIT;
		buf_printf(&e, "task %05u (%s at offset %llu): its output could not be fetched "
			       "%u time%s; the last time from node '%s': %s",
			   t->index, j->inputs[t->file].path, (unsigned long long)t->offset,
			   t->failures, t->failures == 1 ? "" : "s", sched_node_id(s, w->node), why);
		set_str(&j->error, e.data);
		buf_free(&e);
		end_job(s, j, JOB_FAILED, now);
	}
}

/* Fails every attempt running on node n (it is gone, or restarted), and runs again the
 * finished maps whose outputs were there. */
static void lose_node(struct sched *s, uint32_t n, const char *why, double now)
{
	for (struct sched_job *j = s->jobs; j; j = j->next) {
		for (uint32_t i = 0; i < j->ntasks && needs_map_outputs(j); i++) {
			struct sched_task *t = &j->tasks[i];
			if (t->kind == JOB_K_MAP && t->state == SCHED_T_DONE && t->winner >= 0 &&
			    t->attempts[t->winner].node == n)
				map_output_lost(s, j, t, "its output was lost with its node", false,
						now);
		}
	}
	for (struct sched_job *j = s->jobs; j; j = j->next) {
		for (uint32_t i = 0; i < j->ntasks && j->state == JOB_RUNNING; i++) {
			struct sched_task *t = &j->tasks[i];
			for (uint32_t k = 0; k < t->nattempts && j->state == JOB_RUNNING; k++) {
				struct sched_attempt *a = &t->attempts[k];
				if (a->state == JOB_A_RUNNING && a->node == n)
					attempt_failed(s, j, t, a, why, now);
			}
		}
	}
}

void sched_node_up(struct sched *s, uint32_t node, const char *id, uint32_t slots, bool exec,
		   double now)
{
	struct node *nd = node_at(s, node);
	if (nd->up)
		lose_node(s, node, "the node restarted", now);
	nd->up = true;
	nd->exec = exec;
	nd->slots = slots;
	nd->running = 0;
	snprintf(nd->id, sizeof nd->id, "%s", id);
	sched_schedule(s, now);
}

void sched_node_down(struct sched *s, uint32_t node, double now)
{
	if (node >= s->nnodes || !s->nodes[node].up)
		return;
	s->nodes[node].up = false;
	lose_node(s, node, "its node was lost", now);
	s->nodes[node].running = 0;
	sched_schedule(s, now);
}

int sched_kill(struct sched *s, const char *id, double now)
{
	struct sched_job *j = sched_find(s, id);
	if (!j)
		return -ENOENT;
	if (j->state != JOB_RUNNING)
		return -EALREADY;
	set_str(&j->error, "killed by a user");
	end_job(s, j, JOB_KILLED, now);
	sched_schedule(s, now);
	return 0;
}

void sched_tick(struct sched *s, double now)
{
	for (struct sched_job *j = s->jobs; j; j = j->next) {
		for (uint32_t i = 0; i < j->ntasks && j->state == JOB_RUNNING; i++) {
			struct sched_task *t = &j->tasks[i];
			for (uint32_t k = 0; k < t->nattempts && j->state == JOB_RUNNING; k++) {
				struct sched_attempt *a = &t->attempts[k];
				if (a->state != JOB_A_RUNNING ||
				    now - a->last_report < s->cfg.task_timeout)
					continue;
				s->ops.kill(s->ops.arg, j, t, a);
				char why[96];
				snprintf(why, sizeof why, "timed out: no progress for %.0f s",
					 s->cfg.task_timeout);
				attempt_failed(s, j, t, a, why, now);
			}
		}
	}
	sched_schedule(s, now);
}

struct sched_job *sched_find(struct sched *s, const char *id)
{
	for (struct sched_job *j = s->jobs; j; j = j->next)
		if (!strcmp(j->id, id))
			return j;
	return NULL;
}

struct sched_job *sched_jobs(struct sched *s) { return s->jobs; }

void sched_job_info(const struct sched_job *j, double now, struct job_info *i)
{
	memset(i, 0, sizeof *i);
	snprintf(i->id, sizeof i->id, "%s", j->id);
	i->state = j->state;
	i->output = j->spec.output;
	i->what = NULL;
	i->uid = j->uid;
	i->total = j->ntasks;
	i->done = j->done;
	i->running = j->running;
	i->failed_attempts = j->failed_attempts;
	i->speculative = j->speculative;
	i->node_local = j->node_local;
	i->remote = j->remote;
	i->input_bytes = j->input_bytes;
	uint64_t read = j->bytes_done;
	for (uint32_t k = 0; k < j->ntasks; k++) {
		const struct sched_task *t = &j->tasks[k];
		if (t->state != SCHED_T_RUNNING || t->kind != JOB_K_MAP)
			continue;
		uint64_t best = 0;
		for (uint32_t a = 0; a < t->nattempts; a++)
			if (t->attempts[a].state == JOB_A_RUNNING && t->attempts[a].bytes_in > best)
				best = t->attempts[a].bytes_in;
		read += best;
	}
	i->bytes_read = read;
	i->records = j->records;
	i->flags = j->spec.flags;
	i->submitted_ms = j->submitted_ms;
	double end = j->state == JOB_RUNNING ? now : j->ended;
	i->elapsed_ms = (int64_t)((end - j->submitted) * 1000);
	i->error = j->error;
	i->error_stderr = j->error_stderr;
	i->phase = j->state != JOB_RUNNING ? JOB_PHASE_DONE
		   : j->maps_done < j->nmaps ? JOB_PHASE_MAP : JOB_PHASE_REDUCE;
	i->reduce_total = j->ntasks - j->nmaps;
	i->reduce_done = j->reduce_done;
	i->map_elapsed_ms = j->maps_ended > 0 ? (int64_t)((j->maps_ended - j->submitted) * 1000) : 0;
	memcpy(i->counters, j->counters, sizeof i->counters);
	for (uint32_t k = 0; k < j->ntasks; k++) {
		const struct sched_task *t = &j->tasks[k];
		bool map = t->kind == JOB_K_MAP;
		for (uint32_t n = 0; n < t->nattempts; n++) {
			const struct sched_attempt *a = &t->attempts[n];
			uint64_t *mem = map ? &i->map_mem : &i->reduce_mem;
			uint64_t *rss = map ? &i->map_rss : &i->reduce_rss;
			*mem = a->mem_peak > *mem ? a->mem_peak : *mem;
			*rss = a->cmd_rss > *rss ? a->cmd_rss : *rss;
		}
	}
}
