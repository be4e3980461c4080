/* jobs: the namenode's job service. See jobs.h. */
#include "jobs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grow.h"
#include "ev.h"
#include "log.h"
#include "fetch.h"
#include "perm.h"
#include "proto.h"
#include "scheduler.h"

struct nn_jobs {
	struct nn_jobs_env env;
	struct cfg cfg;
	struct sched *sched;
};

/* ---------- scheduler callbacks ---------- */

static uint32_t holders(void *arg, uint64_t block, uint32_t *out, uint32_t max)
{
	struct nn_jobs *j = arg;
	struct nn_block *b = block ? nn_blockmap_get(j->env.bm, block) : NULL;
	uint32_t n = 0;
	for (uint16_t i = 0; b && i < b->nrep && n < max; i++)
		if (b->reps[i] < j->env.dns->n && j->env.dns->v[b->reps[i]].state == PROTO_DN_LIVE)
			out[n++] = b->reps[i];
	return n;
}

static void attempt_path(const struct sched_job *job, const struct sched_task *t,
			 uint32_t attempt, struct buf *out)
{
	if (t->kind == JOB_K_REDUCE)
		buf_printf(out, "%s/_temporary/attempt_r_%05u_%u", job->spec.output, t->partition,
			   attempt);
	else
		buf_printf(out, "%s/_temporary/attempt_%05u_%u", job->spec.output, t->index,
			   attempt);
}

/* Where map task m's output is: its winner's node and attempt (attempt 0: not done). */
static void map_loc(struct nn_jobs *j, const struct sched_task *m, struct job_map_loc *out)
{
	memset(out, 0, sizeof *out);
	if (m->state != SCHED_T_DONE || m->winner < 0)
		return;
	const struct sched_attempt *w = &m->attempts[m->winner];
	snprintf(out->node, sizeof out->node, "%s", j->env.dns->v[w->node].id);
	snprintf(out->addr, sizeof out->addr, "%s", j->env.dns->v[w->node].addr);
	out->attempt = w->n;
}

/* Slow start: the running reducers of job learn where map t's output is now. */
static void map_located(void *arg, struct sched_job *job, struct sched_task *t)
{
	struct nn_jobs *j = arg;
	uint32_t n = j->env.dns->n;
	bool *sent = calloc(n ? n : 1, sizeof *sent);
	if (!sent)
		return;
	struct job_map_loc loc;
	map_loc(j, t, &loc);
	struct buf p = BUF_INIT;
	pack_u32(&p, 1);
	pack_u8(&p, PROTO_TASK_MAPS);
	pack_str(&p, job->id);
	pack_u32(&p, t->index);
	pack_str(&p, loc.node);
	pack_str(&p, loc.addr);
	pack_u32(&p, loc.attempt);
	for (uint32_t i = job->nmaps; i < job->ntasks; i++)
		for (uint32_t k = 0; k < job->tasks[i].nattempts; k++) {
			const struct sched_attempt *a = &job->tasks[i].attempts[k];
			if (a->state == JOB_A_RUNNING && a->node < n && !sent[a->node]) {
				sent[a->node] = true;
				j->env.send(j->env.arg, a->node, PROTO_NN_TASKS, &p);
			}
		}
	buf_free(&p);
	free(sent);
}

static bool hold_reduces(void *arg)
{
	struct nn_jobs *j = arg;
	return j->cfg.test_hold_reduces[0] && !access(j->cfg.test_hold_reduces, F_OK);
}

static void launch(void *arg, struct sched_job *job, struct sched_task *t,
		   struct sched_attempt *a)
{
	struct nn_jobs *j = arg;
	struct buf path = BUF_INIT, p = BUF_INIT;
	struct job_launch l = {0};
	bool mr = job_spec_is_mr(&job->spec);
	if (!mr || t->kind == JOB_K_REDUCE)
		attempt_path(job, t, a->n, &path);
	snprintf(l.job, sizeof l.job, "%s", job->id);
	l.task = t->index;
	l.attempt = a->n;
	l.map = job->spec.map;
	l.filter = job->spec.filter;
	l.pattern = job->spec.pattern;
	l.flags = job->spec.flags;
	if (t->kind == JOB_K_MAP) {
		l.input = job->inputs[t->file].path;
		l.ino = job->inputs[t->file].ino;
		l.fsize = job->inputs[t->file].size;
	}
	l.offset = t->offset;
	l.length = t->length;
	l.block = t->block;
	l.gs = t->gs;
	l.output = path.data;
	l.uid = job->uid;
	l.gid = job->gid;
	l.timeout = (uint32_t)j->cfg.task_timeout;
	l.kind = t->kind;
	l.reduce = job->spec.reduce;
	l.combine = job->spec.combine;
	l.reducers = job->spec.reducers;
	l.key_fields = job->spec.key_fields;
	l.out_repl = job->spec.out_repl;
	l.partitioner = job->spec.partitioner;
	l.bounds = job->spec.bounds;
	l.partition = t->partition;
	if (mr)
		fetch_job_token(j->env.job_key, job->id, l.token);
	if (t->kind == JOB_K_REDUCE) {
		l.nmaps = job->nmaps;
		l.maps = calloc(l.nmaps ? l.nmaps : 1, sizeof *l.maps);
		if (!l.maps)
			abort();
		for (uint32_t i = 0; i < job->nmaps; i++)
			map_loc(j, &job->tasks[i], &l.maps[i]);
	}
	pack_u32(&p, 1);
	pack_u8(&p, PROTO_TASK_START);
	job_launch_pack(&p, &l);
	j->env.send(j->env.arg, a->node, PROTO_NN_TASKS, &p);
	free(l.maps);
	log_debug("job %s: task %05u attempt %u on '%s'%s%s", job->id, t->index, a->n,
		  j->env.dns->v[a->node].id, a->local ? "" : " (remote read)",
		  a->speculative ? " (speculative)" : "");
	buf_free(&path);
	buf_free(&p);
}

static void kill_attempt(void *arg, struct sched_job *job, struct sched_task *t,
			 struct sched_attempt *a)
{
	struct nn_jobs *j = arg;
	struct buf p = BUF_INIT;
	pack_u32(&p, 1);
	pack_u8(&p, PROTO_TASK_KILL);
	pack_str(&p, job->id);
	pack_u32(&p, t->index);
	pack_u32(&p, a->n);
	j->env.send(j->env.arg, a->node, PROTO_NN_TASKS, &p);
	buf_free(&p);
}

/* Moves the winners into place, writes _SUCCESS, drops _temporary. */
static int commit(struct nn_jobs *j, struct sched_job *job, struct buf *err)
{
	struct buf from = BUF_INIT, to = BUF_INIT;
	struct nn_blocks freed = {0};
	int rc = 0;
	bool mr = job_spec_is_mr(&job->spec);
	for (uint32_t i = 0; i < job->ntasks && !rc; i++) {
		struct sched_task *t = &job->tasks[i];
		if (mr && t->kind == JOB_K_MAP)
			continue; /* their outputs were the reducers' input */
		buf_reset(&from);
		buf_reset(&to);
		attempt_path(job, t, t->attempts[t->winner].n, &from);
		if (t->kind == JOB_K_REDUCE)
			buf_printf(&to, "%s/part-r-%05u", job->spec.output, t->partition);
		else
			buf_printf(&to, "%s/part-%05u", job->spec.output, t->index);
		rc = nn_ns_rename(j->env.ns, from.data, to.data, PROTO_RENAME_NOREPLACE, &freed);
		if (rc)
			buf_printf(err, "cannot move %s to %s: %s", from.data, to.data,
				   strerror(-rc));
	}
	if (!rc) {
		buf_reset(&to);
		buf_printf(&to, "%s/_SUCCESS", job->spec.output);
		struct nn_attr a;
		rc = nn_ns_create(j->env.ns, to.data, 0644, false, 0, 0, job->uid, job->gid, &a,
				  &freed);
		if (!rc)
			rc = nn_ns_complete(j->env.ns, a.ino, 0, 0, &a);
		if (rc)
			buf_printf(err, "cannot create %s: %s", to.data, strerror(-rc));
	}
	if (!rc) {
		buf_reset(&to);
		buf_printf(&to, "%s/_temporary", job->spec.output);
		nn_ns_delete(j->env.ns, to.data, true, &freed);
	}
	j->env.release(j->env.arg, &freed);
	buf_free(&from);
	buf_free(&to);
	return rc;
}

/* Tells every node that ran a task of MapReduce job `job` to drop its map outputs. */
static void cleanup_scratch(struct nn_jobs *j, struct sched_job *job)
{
	if (!job_spec_is_mr(&job->spec))
		return;
	uint32_t n = j->env.dns->n;
	bool *ran = calloc(n ? n : 1, sizeof *ran);
	if (!ran)
		return;
	for (uint32_t i = 0; i < job->ntasks; i++)
		for (uint32_t k = 0; k < job->tasks[i].nattempts; k++)
			if (job->tasks[i].attempts[k].node < n)
				ran[job->tasks[i].attempts[k].node] = true;
	struct buf p = BUF_INIT;
	pack_u32(&p, 1);
	pack_u8(&p, PROTO_TASK_CLEANUP);
	pack_str(&p, job->id);
	for (uint32_t d = 0; d < n; d++)
		if (ran[d])
			j->env.send(j->env.arg, d, PROTO_NN_TASKS, &p);
	buf_free(&p);
	free(ran);
}

static void ended(void *arg, struct sched_job *job)
{
	struct nn_jobs *j = arg;
	cleanup_scratch(j, job);
	if (job->state == JOB_SUCCEEDED) {
		struct buf err = BUF_INIT;
		if (commit(j, job, &err)) {
			job->state = JOB_FAILED;
			free(job->error);
			job->error = strdup(err.data);
		}
		buf_free(&err);
	}
	if (job->state != JOB_SUCCEEDED) {
		struct nn_blocks freed = {0};
		nn_ns_delete(j->env.ns, job->spec.output, true, &freed);
		j->env.release(j->env.arg, &freed);
	}
	struct job_info info;
	sched_job_info(job, ev_now(), &info);
	if (job->state == JOB_SUCCEEDED)
		log_info("job %s succeeded in %.2f s: %u tasks (%u node-local, %u remote), %u "
			 "failed attempts, %u speculative", job->id, info.elapsed_ms / 1000.0,
			 info.total, info.node_local, info.remote, info.failed_attempts,
			 info.speculative);
	else
		log_warn("job %s %s: %s", job->id, job_state_name(job->state),
			 job->error ? job->error : "");
}

/* ---------- planning ---------- */

struct plan {
	struct nn_jobs *j;
	const struct nn_cred *cred;
	struct sched_job *job;
	uint32_t capinputs;
	int rc;
	struct buf *err;
};

static int add_file(struct plan *p, const char *path, const struct nn_attr *a)
{
	struct sched_job *job = p->job;
	if (!nn_perm_ok(a, p->cred, NN_R)) {
		buf_printf(p->err, "input %s: permission denied", path);
		return -EACCES;
	}
	if (ALLOC_GROW(job->inputs, job->ninputs + 1, p->capinputs))
		return -ENOMEM;
	struct nn_blocks b = {0};
	int rc = nn_ns_blocks(p->j->env.ns, a->ino, 0, 0, &b);
	if (rc) {
		buf_printf(p->err, "cannot read the blocks of %s: %s", path, strerror(-rc));
		return rc;
	}
	uint32_t fi = job->ninputs++;
	job->inputs[fi] = (struct sched_input){strdup(path), a->ino, a->size};
	if (!job->inputs[fi].path) {
		nn_blocks_free(&b);
		return -ENOMEM;
	}
	struct sched_task *v = realloc(job->tasks, (job->ntasks + b.n + 1) * sizeof *v);
	if (!v) {
		nn_blocks_free(&b);
		return -ENOMEM;
	}
	job->tasks = v;
	for (size_t i = 0; i < b.n; i++) {
		if (!b.v[i].len)
			continue;
		struct sched_task *t = &job->tasks[job->ntasks];
		memset(t, 0, sizeof *t);
		t->index = job->ntasks++;
		t->file = fi;
		t->offset = b.v[i].offset;
		t->length = b.v[i].len;
		t->block = b.v[i].id;
		t->gs = b.v[i].gs;
	}
	nn_blocks_free(&b);
	return 0;
}

struct walk {
	struct plan *p;
	const char *dir;
	char (*names)[PROTO_NAME_MAX + 1];
	uint8_t *types;
	struct nn_attr *attrs;
	uint32_t n, cap;
};

static int walk_entry(void *arg, const char *name, const struct nn_attr *a)
{
	struct walk *w = arg;
	if (w->n == w->cap) {
		/* two arrays of one capacity: both grow, then the capacity moves */
		uint32_t cap_names = w->cap, cap_attrs = w->cap;
		if (ALLOC_GROW(w->names, w->n + 1, cap_names) ||
		    ALLOC_GROW(w->attrs, w->n + 1, cap_attrs))
			return -ENOMEM;
		w->cap = cap_names < cap_attrs ? cap_names : cap_attrs;
	}
	snprintf(w->names[w->n], sizeof w->names[w->n], "%s", name);
	w->attrs[w->n] = *a;
	w->n++;
	return 0;
}

/* Adds every file below dir, in name order, skipping names starting with '_' or '.'
 * (markers such as _SUCCESS, hidden files). */
static int add_dir(struct plan *p, const char *dir, int depth)
{
	if (depth > 64) {
		buf_printf(p->err, "%s: directories nested too deep", dir);
		return -ELOOP;
	}
	struct nn_attr da;
	int src = nn_ns_stat(p->j->env.ns, dir, &da);
	if (!src && !nn_perm_ok(&da, p->cred, NN_R | NN_X)) {
		buf_printf(p->err, "input %s: permission denied", dir);
		return -EACCES;
	}
	struct walk w = {p, dir, NULL, NULL, NULL, 0, 0};
	int rc = nn_ns_list_all(p->j->env.ns, dir, walk_entry, &w);
	for (uint32_t i = 0; i < w.n && !rc; i++) {
		if (w.names[i][0] == '_' || w.names[i][0] == '.')
			continue;
		struct buf path = BUF_INIT;
		buf_printf(&path, "%s/%s", strcmp(dir, "/") ? dir : "", w.names[i]);
		if (w.attrs[i].type == PROTO_T_DIR)
			rc = add_dir(p, path.data, depth + 1);
		else if (w.attrs[i].type == PROTO_T_FILE)
			rc = add_file(p, path.data, &w.attrs[i]);
		buf_free(&path);
	}
	free(w.names);
	free(w.attrs);
	return rc;
}

/* True when path is dir or below it. */
static bool below(const char *path, const char *dir)
{
	if (!strcmp(dir, "/"))
		return true;
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == 0 || path[n] == '/');
}

int nn_jobs_submit(struct nn_jobs *j, struct unpack *u, const struct nn_cred *cred,
		   char id[JOB_ID_MAX + 1], struct buf *err)
{
	uint32_t uid = cred->uid, gid = cred->gid;
	struct sched_job *job = calloc(1, sizeof *job);
	if (!job)
		return -ENOMEM;
	int rc = job_spec_unpack(u, &job->spec);
	if (rc) {
		free(job);
		buf_printf(err, "malformed job");
		return rc;
	}
	job->uid = uid;
	job->gid = gid;
	rc = job_spec_check(&job->spec, err);
	if (!rc && (rc = nn_ns_check_path(job->spec.output)))
		buf_printf(err, "bad output path '%s'", job->spec.output);
	for (uint32_t i = 0; !rc && i < job->spec.ninputs; i++) {
		const char *in = job->spec.inputs[i];
		if ((rc = nn_ns_check_path(in))) {
			buf_printf(err, "bad input path '%s'", in);
			break;
		}
		if (below(job->spec.output, in) || below(in, job->spec.output)) {
			buf_printf(err, "the output %s overlaps the input %s", job->spec.output, in);
			rc = -EINVAL;
		}
	}
	struct plan p = {j, cred, job, 0, 0, err};
	for (uint32_t i = 0; !rc && i < job->spec.ninputs; i++) {
		const char *in = job->spec.inputs[i];
		struct nn_attr a;
		rc = nn_perm_path(j->env.ns, in, cred, 0, 0);
		if (!rc)
			rc = nn_ns_stat(j->env.ns, in, &a);
		if (rc == -EACCES)
			buf_printf(err, "input %s: permission denied", in);
		else if (rc == -ENOENT)
			buf_printf(err, "input %s does not exist", in);
		else if (rc)
			buf_printf(err, "input %s: %s", in, strerror(-rc));
		else if (a.type == PROTO_T_DIR)
			rc = add_dir(&p, in, 0);
		else if (a.type == PROTO_T_FILE)
			rc = add_file(&p, in, &a);
		else {
			buf_printf(err, "input %s is not a file or directory", in);
			rc = -EINVAL;
		}
	}
	if (!rc && job_spec_is_mr(&job->spec)) {
		uint32_t m = job->ntasks, r = job->spec.reducers;
		struct sched_task *v = realloc(job->tasks, (m + r) * sizeof *v);
		if (!v)
			rc = -ENOMEM;
		for (uint32_t i = 0; !rc && i < r; i++) {
			struct sched_task *t = &v[m + i];
			memset(t, 0, sizeof *t);
			t->index = m + i;
			t->kind = JOB_K_REDUCE;
			t->partition = i;
		}
		if (v) {
			job->tasks = v;
			job->ntasks = m + r;
		}
	}
	struct nn_blocks freed = {0};
	if (!rc) {
		struct nn_attr a;
		int src = nn_ns_stat(j->env.ns, job->spec.output, &a);
		bool over = job->spec.flags & JOB_F_OVERWRITE;
		int prc = src ? nn_perm_mkdirs(j->env.ns, job->spec.output, cred)
		      : over ? nn_perm_remove(j->env.ns, job->spec.output, cred, true) : 0;
		if (prc) {
			buf_printf(err, "output %s: %s", job->spec.output,
				   prc == -EACCES ? "permission denied" : strerror(-prc));
			rc = prc;
		} else if (!src && !over) {
			buf_printf(err, "output %s already exists (remove it, or use --overwrite)",
				   job->spec.output);
			rc = -EEXIST;
		} else if (!src) {
			rc = nn_ns_delete(j->env.ns, job->spec.output, true, &freed);
			if (rc)
				buf_printf(err, "cannot remove the old output %s: %s",
					   job->spec.output, strerror(-rc));
		}
	}
	if (!rc) {
		rc = nn_ns_mkdir(j->env.ns, job->spec.output, 0755, true, uid, gid, NULL);
		struct buf t = BUF_INIT;
		buf_printf(&t, "%s/_temporary", job->spec.output);
		if (!rc)
			rc = nn_ns_mkdir(j->env.ns, t.data, 0755, false, uid, gid, NULL);
		if (rc)
			buf_printf(err, "cannot create the output %s: %s", job->spec.output,
				   strerror(-rc));
		buf_free(&t);
	}
	j->env.release(j->env.arg, &freed);
	if (rc) {
		for (uint32_t i = 0; i < job->ninputs; i++)
			free(job->inputs[i].path);
		free(job->inputs);
		free(job->tasks);
		job_spec_free(&job->spec);
		free(job);
		return rc;
	}
	sched_submit(j->sched, job, ev_now());
	snprintf(id, JOB_ID_MAX + 1, "%s", job->id);
	struct buf what = BUF_INIT;
	job_spec_describe(&job->spec, &what);
	log_info("job %s submitted by uid %u: %s over %u files, %u tasks, output %s", job->id,
		 uid, what.data, job->ninputs, job->ntasks, job->spec.output);
	buf_free(&what);
	return 0;
}

/* ---------- queries ---------- */

/* A job's info as users see it; what (reset first) holds its description. */
static void job_info_of(const struct sched_job *job, struct job_info *info, struct buf *what)
{
	sched_job_info(job, ev_now(), info);
	buf_reset(what);
	job_spec_describe(&job->spec, what);
	info->what = what->data;
}

static void pack_info(const struct sched_job *job, struct buf *out)
{
	struct job_info info;
	struct buf what = BUF_INIT;
	job_info_of(job, &info, &what);
	job_info_pack(out, &info);
	buf_free(&what);
}

void nn_jobs_each(struct nn_jobs *j, void (*cb)(void *arg, const struct job_info *info),
		  void *arg)
{
	struct buf what = BUF_INIT;
	for (struct sched_job *job = sched_jobs(j->sched); job; job = job->next) {
		struct job_info info;
		job_info_of(job, &info, &what);
		cb(arg, &info);
	}
	buf_free(&what);
}

int nn_jobs_status(struct nn_jobs *j, const char *id, struct buf *out)
{
	struct sched_job *job = sched_find(j->sched, id);
	if (!job)
		return -ENOENT;
	pack_info(job, out);
	return 0;
}

bool nn_jobs_over(struct nn_jobs *j, const char *id)
{
	struct sched_job *job = sched_find(j->sched, id);
	return !job || job->state != JOB_RUNNING;
}

void nn_jobs_list(struct nn_jobs *j, struct buf *out)
{
	uint32_t n = 0;
	for (struct sched_job *job = sched_jobs(j->sched); job; job = job->next)
		n++;
	pack_u32(out, n);
	for (struct sched_job *job = sched_jobs(j->sched); job; job = job->next)
		pack_info(job, out);
}

int nn_jobs_kill(struct nn_jobs *j, const char *id)
{
	int rc = sched_kill(j->sched, id, ev_now());
	if (!rc)
		log_info("job %s killed", id);
	return rc;
}

int nn_jobs_logs(struct nn_jobs *j, const char *id, int32_t task, struct buf *out)
{
	struct sched_job *job = sched_find(j->sched, id);
	if (!job)
		return -ENOENT;
	if (task >= 0 && (uint32_t)task >= job->ntasks)
		return -ERANGE;
	uint32_t n = 0;
	for (uint32_t i = 0; i < job->ntasks; i++)
		if (task < 0 || (uint32_t)task == i)
			n += job->tasks[i].nattempts;
	pack_u32(out, n);
	double now = ev_now();
	for (uint32_t i = 0; i < job->ntasks; i++) {
		if (task >= 0 && (uint32_t)task != i)
			continue;
		struct sched_task *t = &job->tasks[i];
		for (uint32_t k = 0; k < t->nattempts; k++) {
			struct sched_attempt *a = &t->attempts[k];
			struct job_attempt_log l = {0};
			l.task = t->index;
			l.attempt = a->n;
			snprintf(l.node, sizeof l.node, "%s", sched_node_id(j->sched, a->node));
			l.state = a->state;
			l.exit_status = a->exit_status;
			l.speculative = a->speculative;
			l.local = a->local;
			l.elapsed_ms = (int64_t)(((a->state == JOB_A_RUNNING ? now : a->end) -
						  a->start) * 1000);
			l.message = a->message;
			l.stderr_text = a->stderr_tail;
			l.mem_peak = a->mem_peak;
			l.cmd_rss = a->cmd_rss;
			job_attempt_log_pack(out, &l);
		}
	}
	return 0;
}

/* ---------- datanodes ---------- */

void nn_jobs_node_up(struct nn_jobs *j, uint32_t dn, uint32_t slots, bool exec)
{
	sched_node_up(j->sched, dn, j->env.dns->v[dn].id, slots, exec, ev_now());
}

void nn_jobs_node_down(struct nn_jobs *j, uint32_t dn) { sched_node_down(j->sched, dn, ev_now()); }

uint32_t nn_jobs_node_running(struct nn_jobs *j, uint32_t dn)
{
	return sched_node_running(j->sched, dn);
}

int nn_jobs_reports(struct nn_jobs *j, uint32_t dn, struct unpack *u)
{
	uint32_t n = unpack_count(u, 40);
	for (uint32_t i = 0; i < n; i++) {
		struct job_report r;
		if (job_report_unpack(u, &r))
			return -EPROTO;
		sched_report(j->sched, dn, &r, ev_now());
		job_report_free(&r);
	}
	return unpack_ok(u) ? 0 : -EPROTO;
}

void nn_jobs_tick(struct nn_jobs *j) { sched_tick(j->sched, ev_now()); }

struct nn_jobs *nn_jobs_new(const struct cfg *cfg, const struct nn_jobs_env *env)
{
	struct nn_jobs *j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	j->env = *env;
	j->cfg = *cfg;
	struct sched_cfg sc = {
		.locality_delay = cfg->locality_delay,
		.task_attempts = cfg->task_attempts,
		.task_timeout = cfg->task_timeout > 0 ? cfg->task_timeout : 600,
		.speculation = cfg->speculation != 0,
		.spec_min = 1.0,
		.reduce_slowstart = cfg->reduce_slowstart,
		.keep_jobs = 100,
	};
	struct sched_ops ops = {j, holders, launch, kill_attempt, ended, hold_reduces, map_located};
	j->sched = sched_new(&sc, &ops);
	if (!j->sched) {
		free(j);
		return NULL;
	}
	return j;
}

void nn_jobs_free(struct nn_jobs *j)
{
	if (!j)
		return;
	sched_free(j->sched);
	free(j);
}
