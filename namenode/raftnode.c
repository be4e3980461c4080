/*
 * raftnode: a libraft member on its own libuv thread, bridged to the caller by two small
 * queues and an eventfd (raftnode.h has the API and the state machine).
 */
#include "raftnode.h"

#include <errno.h>
#include <pthread.h>
#include <raft.h>
#include <raft/uv.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "log.h"

/* One queued item: a proposal going in, or an event coming out. */
struct item {
	struct item *next;
	struct raftnode_event ev; /* for a proposal: data, len, tag */
};

struct queue {
	struct item *head, *tail;
};

struct proposal {
	struct raft_apply req;
	uint64_t tag;
	struct raftnode *rn;
};

struct raftnode {
	struct raftnode_opts o;
	char dir[4096];
	char addrs[RAFTNODE_MAX][256];
	pthread_t thread;
	int efd;
	pthread_mutex_t lock; /* guards in, out, st and stopping */
	struct queue in, out;
	struct raftnode_status st;
	bool stopping;
	/* raft thread only */
	uv_loop_t loop;
	uv_async_t wake;
	uv_timer_t tick;
	struct raft_uv_transport transport;
	struct raft_io io;
	struct raft_fsm fsm;
	struct raft raft;
	int start_rc;            /* what the thread's setup returned */
	sem_t started;           /* posted once setup is done */
	bool closing;
};

static void q_push(struct queue *q, struct item *it)
{
	it->next = NULL;
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
}

static struct item *q_pop(struct queue *q)
{
	struct item *it = q->head;
	if (it) {
		q->head = it->next;
		if (!q->head)
			q->tail = NULL;
	}
	return it;
}

/* Raft thread: hands an event to the caller's loop. */
static void emit(struct raftnode *rn, struct item *it)
{
	pthread_mutex_lock(&rn->lock);
	q_push(&rn->out, it);
	pthread_mutex_unlock(&rn->lock);
	uint64_t one = 1;
	if (write(rn->efd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_warn("raft: eventfd: %s", strerror(errno));
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
	struct raftnode *rn = fsm->data;
	struct item *it = calloc(1, sizeof *it);
	void *copy = malloc(buf->len ? buf->len : 1);
	if (!it || !copy) {
		free(it);
		free(copy);
		return RAFT_NOMEM;
	}
	uint64_t len = 0;
	if (buf->len >= 8)
		memcpy(&len, buf->base, 8);
	if (buf->len < 8 || len > buf->len - 8) {
		log_error("raft: entry %llu is malformed (%zu bytes)",
			  (unsigned long long)rn->raft.last_applied + 1, buf->len);
		free(it);
		free(copy);
		return RAFT_MALFORMED;
	}
	memcpy(copy, (const char *)buf->base + 8, len);
	it->ev.kind = RAFTNODE_EV_APPLY;
	it->ev.index = rn->raft.last_applied + 1;
	it->ev.data = copy;
	it->ev.len = len;
	*result = NULL;
	emit(rn, it);
	return 0;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n)
{
	(void)fsm, (void)bufs, (void)n;
	return RAFT_NOTFOUND; /* never asked: the threshold is never reached */
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
	(void)fsm, (void)buf;
	return RAFT_NOTFOUND;
}

static int raft_to_errno(int status)
{
	switch (status) {
	case 0: return 0;
	case RAFT_NOTLEADER:
	case RAFT_LEADERSHIPLOST: return -ENOTCONN;
	case RAFT_NOMEM: return -ENOMEM;
	case RAFT_SHUTDOWN: return -ESHUTDOWN;
	case RAFT_TOOBIG: return -EMSGSIZE;
	default: return -EIO;
	}
}

static void done(struct raftnode *rn, uint64_t tag, int status)
{
	struct item *it = calloc(1, sizeof *it);
	if (!it) {
		log_error("raft: out of memory for a proposal's outcome");
		return;
	}
	it->ev.kind = RAFTNODE_EV_DONE;
	it->ev.tag = tag;
	it->ev.status = status;
	emit(rn, it);
}

static void apply_cb(struct raft_apply *req, int status, void *result)
{
	(void)result;
	struct proposal *p = (struct proposal *)req;
	done(p->rn, p->tag, raft_to_errno(status));
	free(p);
}

static void refresh_status(struct raftnode *rn)
{
	struct raftnode_status st = {0};
	switch (raft_state(&rn->raft)) {
	case RAFT_FOLLOWER: st.role = RAFTNODE_FOLLOWER; break;
	case RAFT_CANDIDATE: st.role = RAFTNODE_CANDIDATE; break;
	case RAFT_LEADER: st.role = RAFTNODE_LEADER; break;
	default: st.role = RAFTNODE_DOWN; break;
	}
	st.term = rn->raft.current_term;
	st.commit_index = rn->raft.commit_index;
	st.applied_index = rn->raft.last_applied;
	const char *addr = NULL;
	raft_id lid = 0;
	raft_leader(&rn->raft, &lid, &addr);
	st.leader_id = lid;
	snprintf(st.leader_addr, sizeof st.leader_addr, "%s", addr ? addr : "");
	pthread_mutex_lock(&rn->lock);
	rn->st = st;
	pthread_mutex_unlock(&rn->lock);
}

static void close_cb(struct raft *r)
{
	struct raftnode *rn = r->data;
	raft_uv_close(&rn->io);
	raft_uv_tcp_close(&rn->transport);
	uv_close((uv_handle_t *)&rn->wake, NULL);
	uv_close((uv_handle_t *)&rn->tick, NULL);
}

static void tick_cb(uv_timer_t *t) { refresh_status(t->data); }

/* Raft thread: takes queued proposals to libraft, or begins the shutdown. */
static void wake_cb(uv_async_t *a)
{
	struct raftnode *rn = a->data;
	pthread_mutex_lock(&rn->lock);
	struct queue in = rn->in;
	rn->in.head = rn->in.tail = NULL;
	bool stop = rn->stopping;
	pthread_mutex_unlock(&rn->lock);
	struct item *it;
	while ((it = q_pop(&in))) {
		struct proposal *p = calloc(1, sizeof *p);
		/* libraft's segments need each entry a multiple of 8 bytes: a u64 length
		 * (host order: members share an architecture), the data, zero padding */
		size_t padded = 8 + ((it->ev.len + 7) & ~(size_t)7);
		struct raft_buffer b = {.base = raft_malloc(padded), .len = padded};
		int rc = p && b.base ? 0 : RAFT_NOMEM;
		if (!rc) {
			uint64_t len = it->ev.len;
			memset(b.base, 0, padded);
			memcpy(b.base, &len, 8);
			memcpy((char *)b.base + 8, it->ev.data, it->ev.len);
			p->tag = it->ev.tag;
			p->rn = rn;
			rc = raft_apply(&rn->raft, &p->req, &b, 1, apply_cb);
		}
		if (rc) {
			raft_free(b.base);
			free(p);
			done(rn, it->ev.tag, raft_to_errno(rc));
		}
		free(it->ev.data);
		free(it);
	}
	refresh_status(rn);
	if (stop && !rn->closing) {
		rn->closing = true;
		uv_timer_stop(&rn->tick);
		raft_close(&rn->raft, close_cb);
	}
}

static int setup(struct raftnode *rn)
{
	int rc = uv_loop_init(&rn->loop);
	if (rc)
		return -EIO;
	uv_async_init(&rn->loop, &rn->wake, wake_cb);
	rn->wake.data = rn;
	uv_timer_init(&rn->loop, &rn->tick);
	rn->tick.data = rn;
	rc = raft_uv_tcp_init(&rn->transport, &rn->loop);
	if (!rc)
		rc = raft_uv_init(&rn->io, &rn->loop, rn->dir, &rn->transport);
	if (rc) {
		log_error("raft: I/O in %s: %s", rn->dir, raft_strerror(rc));
		return -EIO;
	}
	rn->fsm = (struct raft_fsm){.version = 1, .data = rn, .apply = fsm_apply,
				    .snapshot = fsm_snapshot, .restore = fsm_restore};
	rc = raft_init(&rn->raft, &rn->io, &rn->fsm, rn->o.id, rn->addrs[rn->o.id - 1]);
	if (rc) {
		log_error("raft: init: %s", raft_errmsg(&rn->raft));
		return -EIO;
	}
	rn->raft.data = rn;
	unsigned el = rn->o.election_ms ? rn->o.election_ms : 1000;
	raft_set_election_timeout(&rn->raft, el);
	raft_set_heartbeat_timeout(&rn->raft, el / 10 ? el / 10 : 1);
	raft_set_snapshot_threshold(&rn->raft, UINT32_MAX); /* no snapshots yet */
	raft_set_pre_vote(&rn->raft, true); /* a rejoining member does not depose the leader */
	struct raft_configuration conf;
	raft_configuration_init(&conf);
	for (int i = 0; i < rn->o.n && !rc; i++)
		rc = raft_configuration_add(&conf, (raft_id)i + 1, rn->addrs[i], RAFT_VOTER);
	if (!rc) {
		rc = raft_bootstrap(&rn->raft, &conf);
		if (rc == RAFT_CANTBOOTSTRAP)
			rc = 0; /* not the first start: the log has the configuration */
	}
	raft_configuration_close(&conf);
	if (!rc)
		rc = raft_start(&rn->raft);
	if (rc) {
		log_error("raft: start: %s (%s)", raft_strerror(rc), raft_errmsg(&rn->raft));
		return -EIO;
	}
	uv_timer_start(&rn->tick, tick_cb, 50, 50);
	refresh_status(rn);
	return 0;
}

static void *raft_main(void *arg)
{
	struct raftnode *rn = arg;
	sigset_t pipe;
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE); /* a write to a member gone fails with EPIPE, never kills */
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	rn->start_rc = setup(rn);
	sem_post(&rn->started);
	if (rn->start_rc)
		return NULL;
	uv_run(&rn->loop, UV_RUN_DEFAULT);
	uv_loop_close(&rn->loop);
	pthread_mutex_lock(&rn->lock);
	rn->st.role = RAFTNODE_DOWN;
	pthread_mutex_unlock(&rn->lock);
	return NULL;
}

int raftnode_start(const struct raftnode_opts *o, struct raftnode **out)
{
	if (o->n < 1 || o->n > RAFTNODE_MAX || o->id < 1 || o->id > (uint64_t)o->n)
		return -EINVAL;
	struct raftnode *rn = calloc(1, sizeof *rn);
	if (!rn)
		return -ENOMEM;
	rn->o = *o;
	snprintf(rn->dir, sizeof rn->dir, "%s", o->dir);
	for (int i = 0; i < o->n; i++)
		snprintf(rn->addrs[i], sizeof rn->addrs[i], "%s", o->addrs[i]);
	if (mkdir(rn->dir, 0700) && errno != EEXIST) {
		int rc = -errno;
		free(rn);
		return rc;
	}
	rn->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (rn->efd < 0) {
		int rc = -errno;
		free(rn);
		return rc;
	}
	pthread_mutex_init(&rn->lock, NULL);
	sem_init(&rn->started, 0, 0);
	if (pthread_create(&rn->thread, NULL, raft_main, rn)) {
		close(rn->efd);
		free(rn);
		return -EAGAIN;
	}
	while (sem_wait(&rn->started) && errno == EINTR)
		; /* until setup is done */
	if (rn->start_rc) {
		int rc = rn->start_rc;
		pthread_join(rn->thread, NULL);
		close(rn->efd);
		free(rn);
		return rc;
	}
	*out = rn;
	return 0;
}

int raftnode_fd(const struct raftnode *rn) { return rn->efd; }

int raftnode_propose(struct raftnode *rn, const void *data, size_t len, uint64_t tag)
{
	struct item *it = calloc(1, sizeof *it);
	void *copy = malloc(len ? len : 1);
	if (!it || !copy) {
		free(it);
		free(copy);
		return -ENOMEM;
	}
	memcpy(copy, data, len);
	it->ev.data = copy;
	it->ev.len = len;
	it->ev.tag = tag;
	pthread_mutex_lock(&rn->lock);
	q_push(&rn->in, it);
	pthread_mutex_unlock(&rn->lock);
	uv_async_send(&rn->wake);
	return 0;
}

int raftnode_poll(struct raftnode *rn, struct raftnode_event *ev)
{
	pthread_mutex_lock(&rn->lock);
	struct item *it = q_pop(&rn->out);
	if (!it) {
		uint64_t v;
		if (read(rn->efd, &v, sizeof v) < 0 && errno != EAGAIN)
			log_warn("raft: eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&rn->lock);
	if (!it)
		return 0;
	*ev = it->ev;
	free(it);
	return 1;
}

void raftnode_status(struct raftnode *rn, struct raftnode_status *st)
{
	pthread_mutex_lock(&rn->lock);
	*st = rn->st;
	pthread_mutex_unlock(&rn->lock);
}

const char *raftnode_role_name(enum raftnode_role r)
{
	switch (r) {
	case RAFTNODE_FOLLOWER: return "follower";
	case RAFTNODE_CANDIDATE: return "candidate";
	case RAFTNODE_LEADER: return "leader";
	default: return "down";
	}
}

void raftnode_stop(struct raftnode *rn)
{
	if (!rn)
		return;
	pthread_mutex_lock(&rn->lock);
	rn->stopping = true;
	pthread_mutex_unlock(&rn->lock);
	uv_async_send(&rn->wake);
	pthread_join(rn->thread, NULL);
	struct raftnode_event ev;
	while (raftnode_poll(rn, &ev))
		if (ev.kind == RAFTNODE_EV_APPLY)
			free(ev.data);
	struct item *it;
	while ((it = q_pop(&rn->in))) {
		free(it->ev.data);
		free(it);
	}
	close(rn->efd);
	pthread_mutex_destroy(&rn->lock);
	sem_destroy(&rn->started);
	free(rn);
}
