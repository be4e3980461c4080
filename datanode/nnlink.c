/*
 * nnlink: datanode -> namenode control channel. Its own thread; talks to the block
 * store (thread-safe) and reads xfer's atomic counters.
 *
 * States: DISCONNECTED -> (connect, auth, DN_REGISTER, DN_BLOCK_REPORT) -> SERVING
 * (heartbeats, incremental reports, commands) -> DISCONNECTED on any error, retried
 * every second; STOPPING sends DN_BYE and ends the thread.
 *
 * A namenode group (the namenode setting lists its members, comma-separated): the
 * link serves the leader. A member answering NOT_LEADER names the leader, which the
 * next attempt tries; a member that cannot be reached, or names none, is followed by
 * the next one in the list.
 */
#include "nnlink.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "log.h"
#include "net.h"
#include "pack.h"
#include "replicate.h"

#define NNLINK_MEMBERS 9

struct dn_nnlink {
	char namenode[256], advertise[256]; /* namenode: the member tried now */
	char members[NNLINK_MEMBERS][256];
	int nmembers, cur;
	char hint[256]; /* a NOT_LEADER reply's leader, tried next ("": none) */
	double interval;
	struct dn_store *store;
	struct dn_xfer *xfer;
	struct cx_exec *cx;
	uint32_t slots;
	bool exec;
	uint8_t key[AUTH_KEY_LEN];
	pthread_t thread;
	atomic_bool stop;
	int fd;
	uint64_t reqid;
};

static void run_commands(struct dn_nnlink *l, struct buf *rep);

/* Frames the namenode sends unasked: commands and tasks. False for anything else. */
static bool unsolicited(struct dn_nnlink *l, const struct proto_hdr *h, struct buf *in)
{
	if (h->flags & PROTO_F_REPLY)
		return false;
	if (h->type == PROTO_NN_COMMANDS) {
		run_commands(l, in);
		return true;
	}
	if (h->type == PROTO_NN_BLOCK_KEYS) {
		struct unpack u;
		unpack_init(&u, in->data, in->len);
		dn_xfer_set_block_keys(l->xfer, &u);
		return true;
	}
	if (h->type == PROTO_NN_TASKS) {
		struct unpack u;
		unpack_init(&u, in->data, in->len);
		if (l->cx)
			cx_tasks(l->cx, &u);
		else
			log_warn("the namenode sent tasks to a node that runs none");
		return true;
	}
	return false;
}

/* One request/response on the control channel; commands the namenode pushes in the
 * meantime are carried out on the way. */
static int call(struct dn_nnlink *l, uint16_t type, const struct buf *req, struct buf *rep)
{
	uint64_t id = ++l->reqid;
	int rc = proto_send(l->fd, type, 0, id, 0, req->data, req->len);
	struct proto_hdr h;
	while (!rc) {
		rc = proto_recv(l->fd, &h, rep, PROTO_MAX_REPLY);
		if (rc || !unsolicited(l, &h, rep))
			break;
	}
	if (!rc && (h.reqid != id || h.type != type))
		rc = -EPROTO;
	if (!rc && h.status) {
		struct unpack u;
		char msg[256];
		unpack_init(&u, rep->data, rep->len);
		unpack_str(&u, msg, sizeof msg);
		if (h.status == PROTO_E_NOTLEADER) /* msg is the leader, or "" */
			snprintf(l->hint, sizeof l->hint, "%s", unpack_ok(&u) ? msg : "");
		else
			log_warn("namenode refused %s: %s", proto_type_name(type), msg);
		rc = proto_errno(h.status);
	}
	return rc;
}

static int send_full_report(struct dn_nnlink *l)
{
	struct dn_replica_info *v;
	size_t n;
	int rc = dn_store_list(l->store, true, &v, &n);
	if (rc)
		return rc;
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_u32(&req, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		pack_u64(&req, v[i].id);
		pack_u64(&req, v[i].gs);
		pack_u64(&req, v[i].len);
	}
	free(v);
	rc = call(l, PROTO_DN_BLOCK_REPORT, &req, &rep);
	buf_free(&req);
	buf_free(&rep);
	return rc;
}

static int send_changes(struct dn_nnlink *l)
{
	struct dn_replica_info *rv;
	uint64_t *dv;
	size_t rn, dnum;
	dn_store_take_changes(l->store, &rv, &rn, &dv, &dnum);
	struct buf req = BUF_INIT, rep = BUF_INIT;
	int rc = 0;
	if (rn) {
		pack_u32(&req, (uint32_t)rn);
		for (size_t i = 0; i < rn; i++) {
			pack_u64(&req, rv[i].id);
			pack_u64(&req, rv[i].gs);
			pack_u64(&req, rv[i].len);
		}
		rc = call(l, PROTO_DN_BLOCK_RECEIVED, &req, &rep);
	}
	if (!rc && dnum) {
		buf_reset(&req);
		pack_u32(&req, (uint32_t)dnum);
		for (size_t i = 0; i < dnum; i++)
			pack_u64(&req, dv[i]);
		rc = call(l, PROTO_DN_BLOCK_DELETED, &req, &rep);
	}
	struct dn_bad_replica *bv;
	size_t nbad;
	dn_store_take_bad(l->store, &bv, &nbad);
	if (!rc && nbad) {
		buf_reset(&req);
		pack_u32(&req, (uint32_t)nbad);
		for (size_t i = 0; i < nbad; i++) {
			pack_u64(&req, bv[i].id);
			pack_u64(&req, bv[i].gs);
			pack_u8(&req, bv[i].why);
		}
		rc = call(l, PROTO_DN_BAD_BLOCK, &req, &rep);
	}
	free(bv);
	free(rv);
	free(dv);
	if (!rc && l->cx && cx_take_reports(l->cx, false, &req))
		rc = call(l, PROTO_DN_TASK_STATUS, &req, &rep);
	buf_free(&req);
	buf_free(&rep);
	return rc; /* on failure the reconnect's full report covers what was lost */
}

static void run_commands(struct dn_nnlink *l, struct buf *rep)
{
	struct unpack u;
	unpack_init(&u, rep->data, rep->len);
	uint32_t n = unpack_count(&u, 29), deleted = 0;
	struct dn_target *targets = calloc(PROTO_REPL_MAX, sizeof *targets);
	if (!targets)
		return;
	for (uint32_t i = 0; i < n && unpack_ok(&u); i++) {
		uint8_t type = unpack_u8(&u);
		uint64_t id = unpack_u64(&u), gs = unpack_u64(&u), len = unpack_u64(&u);
		uint32_t nt = unpack_count(&u, 8);
		for (uint32_t t = 0; t < nt; t++) {
			struct dn_target tmp, *dst = t < PROTO_REPL_MAX ? &targets[t] : &tmp;
			unpack_str(&u, dst->id, sizeof dst->id);
			unpack_str(&u, dst->addr, sizeof dst->addr);
		}
		if (!unpack_ok(&u))
			break;
		if (type == PROTO_CMD_DELETE) {
			if (dn_store_delete(l->store, id, gs) == 0)
				deleted++;
		} else if (type == PROTO_CMD_REPLICATE && nt) {
			int rc = dn_replicate_start(l->store, l->key, id, gs, len, targets,
						    nt > PROTO_REPL_MAX ? PROTO_REPL_MAX : nt);
			if (rc)
				log_warn("cannot start copying block %" PRIu64 ": %s", id,
					 strerror(-rc));
		} else {
			log_warn("unsupported namenode command %u for block %" PRIu64, type, id);
		}
	}
	free(targets);
	if (deleted)
		log_info("deleted %u replicas on the namenode's command", deleted);
	if (!unpack_ok(&u))
		log_warn("malformed command list from the namenode");
}

static int heartbeat(struct dn_nnlink *l)
{
	uint64_t cap, used, rem;
	dn_store_usage(l->store, &cap, &used, &rem);
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_u64(&req, cap);
	pack_u64(&req, used);
	pack_u64(&req, rem);
	pack_u32(&req, dn_xfer_active(l->xfer));
	dn_store_pack_fslist(l->store, &req);
	int rc = call(l, PROTO_DN_HEARTBEAT, &req, &rep);
	if (!rc)
		run_commands(l, &rep);
	if (!rc && l->cx && cx_take_reports(l->cx, true, &req))
		rc = call(l, PROTO_DN_TASK_STATUS, &req, &rep);
	buf_free(&req);
	buf_free(&rep);
	return rc;
}

static int session(struct dn_nnlink *l)
{
	memcpy(l->namenode, l->hint[0] ? l->hint : l->members[l->cur], sizeof l->namenode);
	l->hint[0] = 0;
	l->fd = net_connect(l->namenode, 5000);
	if (l->fd < 0)
		return l->fd;
	/* a live namenode greets at once: in a group, a member that does not (hung,
	 * SIGSTOPped) is passed over quickly, as another one leads within seconds */
	net_set_timeout(l->fd, l->nmembers > 1 ? 2000 : 30000);
	int rc = auth_client(l->fd, l->key, PROTO_ROLE_DATANODE, 0, 0);
	if (rc) {
		if (rc == -EACCES)
			log_error("namenode %s refused this node: wrong datanode key", l->namenode);
		goto out;
	}
	uint64_t cap, used, rem;
	dn_store_usage(l->store, &cap, &used, &rem);
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_str(&req, dn_store_id(l->store));
	pack_str(&req, l->advertise);
	pack_u64(&req, cap);
	pack_u64(&req, used);
	pack_u64(&req, rem);
	pack_u32(&req, l->cx ? l->slots : 0);
	pack_u8(&req, l->exec ? 0 : PROTO_DNF_NO_EXEC);
	dn_store_pack_fslist(l->store, &req);
	rc = call(l, PROTO_DN_REGISTER, &req, &rep);
	buf_free(&req);
	buf_free(&rep);
	if (rc)
		goto out;
	net_set_timeout(l->fd, 30000); /* a large report takes the namenode a while */
	rc = send_full_report(l);
	if (rc)
		goto out;
	log_info("registered with namenode %s as '%s'", l->namenode, dn_store_id(l->store));
	/* a group's leader that misses three heartbeats is hung: look for the new one */
	int hb_ms = l->interval * 3000 > 3000 ? (int)(l->interval * 3000) : 3000;
	net_set_timeout(l->fd, l->nmembers > 1 ? hb_ms : 30000);
	double next = 0;
	while (!atomic_load(&l->stop)) {
		rc = send_changes(l);
		if (rc)
			goto out;
		if (ev_now() >= next) {
			rc = heartbeat(l);
			if (rc)
				goto out;
			next = ev_now() + l->interval;
		}
		double wait = next - ev_now();
		if (wait <= 0)
			continue;
		/* sleep until a heartbeat is due, replicas change, or the namenode pushes
		 * commands */
		struct pollfd p[3] = {{dn_store_event_fd(l->store), POLLIN, 0},
				      {l->fd, POLLIN, 0},
				      {l->cx ? cx_event_fd(l->cx) : -1, POLLIN, 0}};
		/* frames already decrypted (TLS) are not seen by poll: take them at once */
		bool pending = net_pending(l->fd) > 0;
		int n = poll(p, 3, pending ? 0 : (int)(wait * 1000) + 1);
		if (pending) {
			p[1].revents |= POLLIN;
			n = n > 0 ? n + 1 : 1;
		}
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			goto out;
		}
		if (n > 0 && (p[0].revents & POLLIN)) {
			uint64_t v;
			ssize_t r = read(p[0].fd, &v, sizeof v);
			(void)r; /* drained; the changes themselves are taken by send_changes */
		}
		if (n > 0 && (p[2].revents & POLLIN)) {
			uint64_t v;
			ssize_t r = read(p[2].fd, &v, sizeof v);
			(void)r; /* drained; the reports are taken by send_changes */
		}
		if (n > 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			struct proto_hdr h;
			struct buf in = BUF_INIT;
			rc = proto_recv(l->fd, &h, &in, PROTO_MAX_REPLY);
			if (!rc && !unsolicited(l, &h, &in))
				rc = -EPROTO;
			buf_free(&in);
			if (rc)
				goto out;
		}
	}
	struct buf e = BUF_INIT, r = BUF_INIT;
	send_changes(l);
	call(l, PROTO_DN_BYE, &e, &r);
	buf_free(&r);
out:
	net_close(l->fd);
	l->fd = -1;
	return rc;
}

static void *nnlink_main(void *arg)
{
	struct dn_nnlink *l = arg;
	bool warned = false;
	int backoff_ms = 100; /* doubles up to a second while the namenode is away */
	while (!atomic_load(&l->stop)) {
		double started = ev_now();
		int rc = session(l);
		if (atomic_load(&l->stop))
			break;
		if (ev_now() - started > 5)
			backoff_ms = 100; /* the session had been up: retry quickly */
		if (l->nmembers > 1 && !l->hint[0]) /* else the leader a follower named */
			l->cur = (l->cur + 1) % l->nmembers;
		if (!warned && rc != -EREMCHG)
			log_warn("lost the namenode at %s (%s); retrying", l->namenode,
				 strerror(-rc));
		warned = rc != 0;
		for (int waited = 0; waited < backoff_ms && !atomic_load(&l->stop); waited += 50)
			usleep(50000);
		backoff_ms = backoff_ms * 2 > 1000 ? 1000 : backoff_ms * 2;
	}
	return NULL;
}

int dn_nnlink_start(const char *namenode, const char *advertise, double heartbeat_interval,
		    struct dn_store *store, struct dn_xfer *xfer, struct cx_exec *cx,
		    uint32_t task_slots, bool exec, const uint8_t key[AUTH_KEY_LEN],
		    struct dn_nnlink **out)
{
	struct dn_nnlink *l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	snprintf(l->namenode, sizeof l->namenode, "%s", namenode);
	for (const char *p = namenode; *p && l->nmembers < NNLINK_MEMBERS;) {
		size_t n = strcspn(p, ",");
		size_t skip = strspn(p, " ");
		if (n > skip && n - skip < sizeof l->members[0])
			snprintf(l->members[l->nmembers++], sizeof l->members[0], "%.*s",
				 (int)strcspn(p + skip, ", "), p + skip);
		p += n;
		p += *p == ',';
	}
	if (!l->nmembers)
		snprintf(l->members[l->nmembers++], sizeof l->members[0], "%s", namenode);
	snprintf(l->advertise, sizeof l->advertise, "%s", advertise);
	l->interval = heartbeat_interval > 0 ? heartbeat_interval : 1;
	l->store = store;
	l->xfer = xfer;
	l->cx = cx;
	l->slots = task_slots;
	l->exec = exec;
	l->fd = -1;
	memcpy(l->key, key, AUTH_KEY_LEN);
	if (pthread_create(&l->thread, NULL, nnlink_main, l)) {
		free(l);
		return -EAGAIN;
	}
	*out = l;
	return 0;
}

void dn_nnlink_stop(struct dn_nnlink *l)
{
	atomic_store(&l->stop, true);
	dn_store_wake(l->store);
	pthread_join(l->thread, NULL);
	free(l);
}
