/*
 * reducer: a reduce attempt on a datanode (executor_int.h; the contract is
 * executor.h's): the copy phase fetches partition r of every map as the maps finish
 * (compute/fetch.h; in place when the map ran here), the merge bounds its fan-in
 * (shuffle.h), and the reduce phase feeds the merged records to a built-in (reduce.h)
 * or to the reduce command (`cat`, the identity, writes them itself); the output is
 * written like a map's. The attempt's own
 * thread, but for cx_update_maps (the namenode link's thread).
 */
#include "executor_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"
#include "fetch.h"
#include "fsutil.h"
#include "log.h"
#include "reduce.h"

/* Built-in reducers' lines, to the output. */
static int emit_out(void *arg, const char *line, size_t len)
{
	struct run *r = arg;
	buf_add(&r->out, line, len);
	return r->out.len >= OUT_FLUSH ? cx_flush_out(r) : 0;
}

/*
 * The copy phase: every map's partition as a local run, fetched from the map's node or,
 * when the map ran here, read in place (verified), as the maps finish (a launch before
 * the last map is done -- slow start -- lists the others with attempt 0, and
 * PROTO_TASK_MAPS fills them in). paths[i] gets map i's run. A map output that cannot
 * be had sets a->lost_map.
 */
static int fetch_all(struct attempt *a, const char *dir, char **paths, char *why,
		     size_t whysz)
{
	struct cx_exec *x = a->x;
	const struct job_launch *l = &a->l;
	struct buf path = BUF_INIT, err = BUF_INIT;
	int rc = 0;
	uint32_t left = l->nmaps;
	while (left && !rc) {
		if (atomic_load(&a->kill)) {
			rc = -EINTR;
			break;
		}
		/* the next map whose output is known (slow start: some are still running) */
		struct job_map_loc loc;
		uint32_t i = l->nmaps;
		pthread_mutex_lock(&a->maps_lock);
		for (uint32_t k = 0; k < l->nmaps && i == l->nmaps; k++)
			if (!paths[k] && l->maps[k].attempt)
				i = k;
		if (i == l->nmaps) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&a->maps_cond, &a->maps_lock, &ts);
			pthread_mutex_unlock(&a->maps_lock);
			continue;
		}
		loc = l->maps[i];
		pthread_mutex_unlock(&a->maps_lock);
		const struct job_map_loc *ml = &loc;
		buf_reset(&path);
		buf_reset(&err);
		if (!strcmp(ml->node, x->o.node_id)) {
			shuf_map_base(x->o.scratch, l->job, i, ml->attempt, &path);
			buf_printf(&path, ".p%u", l->partition);
			struct stat st;
			rc = shuf_run_check(path.data, NULL);
			if (!rc && !stat(path.data, &st))
				atomic_fetch_add(&a->counters[JOB_C_SHUFFLE_BYTES_LOCAL],
						 (uint64_t)st.st_size);
			if (rc)
				buf_printf(&err, "%s", rc == -EBADMSG ? "corrupt (bad checksum)"
								      : strerror(-rc));
		} else {
			buf_printf(&path, "%s/m%05u", dir, i);
			struct fetch_req fr = {ml->addr, x->o.key,   l->uid,       l->gid, l->job,
					       i,        ml->attempt, l->partition, l->token};
			uint64_t got = 0;
			rc = fetch_map_output(&fr, path.data, &got, &err);
			atomic_fetch_add(&a->counters[JOB_C_SHUFFLE_BYTES_REMOTE], got);
		}
		if (rc) {
			struct buf msg = BUF_INIT;
			buf_printf(&msg, "cannot fetch the output of map %05u (attempt %u) from node "
				   "'%s': %s", i, ml->attempt, ml->node, err.data);
			snprintf(why, whysz, "%s", msg.data); /* a long reason is cut */
			buf_free(&msg);
			if (!atomic_load(&a->kill)) {
				a->lost_map = i + 1;
				a->lost_attempt = ml->attempt;
			}
			break;
		}
		if (!(paths[i] = strdup(path.data)))
			rc = -ENOMEM;
		left--;
		/* progress: the copy phase is the first third */
		atomic_store(&a->progress, (unsigned)((l->nmaps - left) * 333333ull / l->nmaps));
	}
	buf_free(&path);
	buf_free(&err);
	return rc;
}

/* The reduce phase: merged records to the built-in or the command; counts groups. */
static int reduce_records(struct attempt *a, struct shuf_merge *m, struct mr_reducer *red,
			  struct command *cmd, struct run *r, uint64_t total)
{
	const struct job_launch *l = &a->l;
	struct buf prev = BUF_INIT, batch = BUF_INIT;
	const char *line;
	size_t len;
	uint64_t records = 0, groups = 0;
	int rc;
	while ((rc = shuf_merge_next(m, &line, &len)) == 1) {
		rc = 0;
		size_t kl = mr_key_len(line, len, l->key_fields);
		if (!records++ || mr_key_cmp(prev.data, prev.len, line, kl)) {
			groups++;
			buf_reset(&prev);
			buf_add(&prev, line, kl);
		}
		if (red) {
			rc = mr_reducer_line(red, line, len);
		} else if (!cmd) { /* the identity (`cat`): the merged records are the output */
			buf_add(&r->out, line, len);
			buf_addc(&r->out, '\n');
			if (r->out.len >= OUT_FLUSH)
				rc = cx_flush_out(r);
		} else {
			buf_add(&batch, line, len);
			buf_addc(&batch, '\n');
			if (batch.len >= FEED_BATCH) {
				rc = cx_feed(cmd, batch.data, batch.len);
				buf_reset(&batch);
			}
		}
		if (!rc && !(records & 1023)) {
			uint64_t done = shuf_merge_bytes(m);
			atomic_store(&a->bytes_in, done);
			atomic_store(&a->progress, 666666u + (unsigned)(total ? (done < total ? done : total) *
								      333334ull / total : 0));
			if (atomic_load(&a->kill))
				rc = -EINTR;
		}
		if (rc)
			break;
	}
	if (!rc && batch.len)
		rc = cx_feed(cmd, batch.data, batch.len);
	atomic_store(&a->bytes_in, shuf_merge_bytes(m));
	cx_max(&a->mem_peak, shuf_merge_mem(m) + batch.cap + prev.cap);
	atomic_store(&a->records, records);
	atomic_store(&a->counters[JOB_C_REDUCE_INPUT_RECORDS], records);
	atomic_store(&a->counters[JOB_C_REDUCE_INPUT_GROUPS], groups);
	buf_free(&prev);
	buf_free(&batch);
	return rc;
}

void *cx_reduce_main(struct attempt *a)
{
	struct cx_exec *x = a->x;
	const struct job_launch *l = &a->l;
	struct run r = {.a = a};
	struct command cmd = {.a = a, .in = -1, .out = -1, .err = -1};
	struct dfs_client *c = NULL;
	struct buf dir = BUF_INIT, tmp = BUF_INIT, scratch = BUF_INIT;
	char **paths = calloc(l->nmaps + 1, sizeof *paths);
	uint32_t npaths = l->nmaps;
	struct shuf_merge *m = NULL;
	struct mr_reducer *red = NULL;
	enum mr_builtin b = mr_builtin_parse(l->reduce);
	/* `--reduce cat` is the identity: no command, the merged records written as they
	 * come (what cat would print, without two pipes and a process) */
	bool identity = b == MR_NONE && l->reduce && !strcmp(l->reduce, "cat");
	int exit_status = -1, rc = paths && shuf_is_job_id(l->job) ? 0 : -EINVAL;
	if (rc || (rc = cx_connect_client(a, &c, r.why, sizeof r.why)))
		goto out;
	if (b == MR_NONE && !identity && !x->o.exec) {
		rc = -EPERM;
		snprintf(r.why, sizeof r.why, "this datanode runs built-ins only (--no-exec)");
		goto out;
	}
	shuf_job_dir(x->o.scratch, l->job, &dir);
	buf_printf(&dir, "/r%05u_%u", l->partition, l->attempt);
	fs_remove_tree(dir.data);
	if ((rc = fs_mkdir_p(dir.data, 0700))) {
		snprintf(r.why, sizeof r.why, "cannot make %s: %s", dir.data, strerror(-rc));
		goto out;
	}
	/* the output and the reduce command first: with slow start the copy phase may
	 * wait for maps a while (the command waits on its stdin meanwhile) */
	if ((rc = dfs_create(c, l->output, 0644, true, l->out_repl, 0, &r.w))) {
		snprintf(r.why, sizeof r.why, "cannot create %s: %s", l->output,
			 dfs_errmsg()[0] ? dfs_errmsg() : strerror(-rc));
		goto out;
	}
	cmd.w = r.w;
	if (b != MR_NONE) {
		bool partials = l->combine && mr_builtin_parse(l->combine) == MR_COUNT;
		if (!(red = mr_reducer_new(b, partials, l->key_fields, emit_out, &r))) {
			rc = -ENOMEM;
			goto out;
		}
	} else if (!identity) {
		buf_printf(&scratch, "%s/%s_r%05u_%u", x->o.scratch, l->job, l->partition,
			   l->attempt);
		if ((rc = cx_start_command(a, l->reduce, scratch.data, &cmd, r.why, sizeof r.why)))
			goto out;
	}
	if ((rc = fetch_all(a, dir.data, paths, r.why, sizeof r.why)))
		goto out;
	cmd.last_progress = clock_now(); /* waiting for maps is no stall of the command */
	buf_printf(&tmp, "%s/merge", dir.data);
	rc = shuf_merge_reduce(paths, &npaths, SHUF_FANIN, l->key_fields, tmp.data, false);
	for (uint32_t i = npaths; i < l->nmaps; i++)
		paths[i] = NULL; /* merged away (and freed) */
	if (!rc)
		rc = shuf_merge_open((const char *const *)paths, npaths, l->key_fields, &m);
	uint64_t total = 0; /* the merged runs' bytes: the reduce phase's progress */
	for (uint32_t i = 0; !rc && i < npaths; i++) {
		struct stat st;
		if (!stat(paths[i], &st))
			total += (uint64_t)st.st_size;
	}
	atomic_store(&a->progress, 666666u);
	if (rc) {
		snprintf(r.why, sizeof r.why, "cannot merge the map outputs: %s",
			 rc == -EBADMSG ? "one is corrupt (bad checksum)" : strerror(-rc));
		goto out;
	}
	rc = reduce_records(a, m, red, red || identity ? NULL : &cmd, &r, total);
	if (rc == -EBADMSG)
		snprintf(r.why, sizeof r.why, "a map output is corrupt (bad checksum)");
	if (red) {
		if (!rc)
			rc = mr_reducer_finish(red);
		if (rc == -EINVAL)
			snprintf(r.why, sizeof r.why, "%s", mr_reducer_error(red));
	} else if (!identity) {
		if (!rc)
			rc = cx_finish_command(&cmd);
		rc = cx_end_command(a, &cmd, rc, &exit_status, r.why, sizeof r.why);
	}
	if (rc && !r.why[0])
		snprintf(r.why, sizeof r.why, "%s", cmd.why[0] ? cmd.why : strerror(-rc));
	if (!rc)
		rc = cx_flush_out(&r);
	if (!rc)
		rc = cx_close_output(&r);
out:
	if (cmd.pid)
		exit_status = cx_reap(a, &cmd, true);
	if (r.w)
		dfs_writer_abort(r.w);
	if (rc && c && l->output)
		dfs_delete(c, l->output, false);
	shuf_merge_close(m);
	mr_reducer_free(red);
	for (uint32_t i = 0; paths && i < l->nmaps; i++)
		free(paths[i]);
	free(paths);
	if (dir.len)
		fs_remove_tree(dir.data);
	if (scratch.len)
		fs_remove_tree(scratch.data);
	cx_end_attempt(a, rc, exit_status, r.why, sizeof r.why, cmd.tail.data);
	buf_free(&r.out);
	buf_free(&cmd.tail);
	buf_free(&dir);
	buf_free(&tmp);
	buf_free(&scratch);
	if (c)
		dfs_close(c);
	return NULL;
}

/* Map task `task` of job finished (or its output was lost: attempt 0): the reduce
 * attempts of the job here learn where its output is. */
void cx_update_maps(struct cx_exec *x, const char *job, uint32_t task,
			const struct job_map_loc *loc)
{
	pthread_mutex_lock(&x->lock);
	for (struct attempt *a = x->attempts; a; a = a->next) {
		if (strcmp(a->l.job, job) || a->l.kind != JOB_K_REDUCE || task >= a->l.nmaps ||
		    atomic_load(&a->finished))
			continue;
		pthread_mutex_lock(&a->maps_lock);
		a->l.maps[task] = *loc;
		pthread_cond_signal(&a->maps_cond);
		pthread_mutex_unlock(&a->maps_lock);
	}
	pthread_mutex_unlock(&x->lock);
}

