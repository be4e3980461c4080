/*
 * op_jobs: the compute jobs' requests (submit, status, list, kill, logs; the jobs
 * themselves are jobs.c's) and the CN_JOB_STATUS calls that wait for their job to end
 * (server.waiters). Loop thread only; no locks.
 */
#include "server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "grow.h"

void nn_op_job_submit(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		      struct unpack *u)
{
	char id[JOB_ID_MAX + 1];
	struct buf err = BUF_INIT;
	int rc = nn_jobs_submit(s->jobs, u, &c->cred, id, &err);
	if (rc)
		nn_reply_err(s, c, h, rc, "%s", err.data);
	else {
		struct buf p = BUF_INIT;
		pack_str(&p, id);
		nn_reply(s, c, h, &p);
		buf_free(&p);
	}
	buf_free(&err);
}

static void reply_job_status(struct nn_server *s, struct nn_conn *c, uint64_t reqid,
			     const char *id)
{
	struct proto_hdr h = {.type = PROTO_CN_JOB_STATUS, .reqid = reqid};
	struct buf p = BUF_INIT;
	int rc = nn_jobs_status(s->jobs, id, &p);
	if (rc)
		nn_reply_err(s, c, &h, rc, "no job %s (the namenode keeps the last 100 jobs, "
			     "until it restarts)", id);
	else
		nn_reply(s, c, &h, &p);
	buf_free(&p);
}

void nn_op_job_status(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		      struct unpack *u)
{
	char id[JOB_ID_MAX + 1];
	unpack_str(u, id, sizeof id);
	uint32_t wait_ms = unpack_u32(u);
	if (nn_malformed(s, c, h, u))
		return;
	if (!wait_ms || nn_jobs_over(s->jobs, id))
		return reply_job_status(s, c, h->reqid, id);
	if (ALLOC_GROW(s->waiters, s->nwaiters + 1, s->capwaiters))
		return reply_job_status(s, c, h->reqid, id);
	struct nn_waiter *w = &s->waiters[s->nwaiters++];
	w->c = c;
	w->reqid = h->reqid;
	snprintf(w->job, sizeof w->job, "%s", id);
	w->deadline = ev_now() + (wait_ms > 60000 ? 60000 : wait_ms) / 1000.0;
}

void nn_answer_waiters(struct nn_server *s, struct nn_conn *closing)
{
	double now = ev_now();
	for (uint32_t i = 0; i < s->nwaiters;) {
		struct nn_waiter *w = &s->waiters[i];
		bool drop = closing && w->c == closing;
		if (!drop && !closing && (now >= w->deadline || nn_jobs_over(s->jobs, w->job))) {
			reply_job_status(s, w->c, w->reqid, w->job);
			drop = true;
		}
		if (drop)
			*w = s->waiters[--s->nwaiters];
		else
			i++;
	}
}

void nn_op_job_list(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	(void)u;
	struct buf p = BUF_INIT;
	nn_jobs_list(s->jobs, &p);
	nn_reply(s, c, h, &p);
	buf_free(&p);
}

void nn_op_job_kill(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	char id[JOB_ID_MAX + 1];
	unpack_str(u, id, sizeof id);
	if (nn_malformed(s, c, h, u))
		return;
	int rc = nn_jobs_kill(s->jobs, id);
	if (rc == -ENOENT)
		return nn_reply_err(s, c, h, rc, "no job %s", id);
	if (rc == -EALREADY)
		return nn_reply_err(s, c, h, -EINVAL, "job %s has already ended", id);
	nn_reply_ok(s, c, h);
}

void nn_op_job_logs(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	char id[JOB_ID_MAX + 1];
	unpack_str(u, id, sizeof id);
	int32_t task = unpack_i32(u);
	if (nn_malformed(s, c, h, u))
		return;
	struct buf p = BUF_INIT;
	int rc = nn_jobs_logs(s->jobs, id, task, &p);
	if (rc == -ENOENT)
		nn_reply_err(s, c, h, rc, "no job %s", id);
	else if (rc == -ERANGE)
		nn_reply_err(s, c, h, -EINVAL, "job %s has no task %d", id, task);
	else
		nn_reply(s, c, h, &p);
	buf_free(&p);
}
