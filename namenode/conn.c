/*
 * conn: the namenode's connections. Loop thread only; no locks.
 *
 * Connection states: NN_CONN_TLS (only with TLS on: the TLS handshake, conn_event)
 * -> NN_CONN_HANDSHAKE (HELLO sent, waiting for AUTH; frames capped at
 * PROTO_MAX_HANDSHAKE) -> NN_CONN_READY (nn_conn_frame checked the AUTH) -> closed
 * (nn_conn_close). A connection whose peer registered as a datanode (nn_op_register) is
 * that node's control channel; losing it without DN_BYE marks the node dead at once
 * (nn_dns_lost).
 *
 * Replies are appended to conn.out; `safe` counts the bytes of out that may be sent:
 * the before-sleep hook (nn_conn_turn_end) syncs the namespace, then marks every queued
 * byte safe and flushes, so no client hears of a change before it is durable.
 */
#include "server_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "group.h"
#include "grow.h"
#include "http.h"
#include "net.h"
#include "tls.h"

/* ---------- replies ---------- */

/* ---------- replies ---------- */

void nn_conn_queue(struct nn_server *s, struct nn_conn *c)
{
	if (c->queued)
		return;
	if (ALLOC_GROW(s->flush, s->nflush + 1, s->capflush))
		abort();
	s->flush[s->nflush++] = c;
	c->queued = true;
}

void nn_conn_unqueue(struct nn_server *s, struct nn_conn *c)
{
	for (size_t i = 0; i < s->nflush; i++)
		if (s->flush[i] == c)
			s->flush[i] = NULL;
}

void nn_reply(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
	      const struct buf *payload)
{
	proto_frame(&c->out, h->type, PROTO_F_REPLY, h->reqid, 0, payload->data, payload->len);
	nn_conn_queue(s, c);
}

void nn_reply_ok(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h)
{
	proto_frame(&c->out, h->type, PROTO_F_REPLY, h->reqid, 0, NULL, 0);
	nn_conn_queue(s, c);
}

static void reply_err(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		      uint16_t flags, int rc, const char *fmt, va_list ap)
{
	struct buf msg = BUF_INIT, p = BUF_INIT;
	if (fmt)
		buf_vprintf(&msg, fmt, ap);
	pack_str(&p, msg.data);
	proto_frame(&c->out, h->type, PROTO_F_REPLY | flags, h->reqid, proto_status(rc), p.data,
		    p.len);
	nn_conn_queue(s, c);
	buf_free(&msg);
	buf_free(&p);
}

void nn_reply_err(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h, int rc,
		  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_err(s, c, h, 0, rc, fmt, ap);
	va_end(ap);
}

void nn_reply_err_flags(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			uint16_t flags, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_err(s, c, h, flags, rc, fmt, ap);
	va_end(ap);
}

void nn_pack_attr(struct buf *b, const struct nn_attr *a) { attr_pack(b, &a->base); }

void nn_reply_attr(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		   const struct nn_attr *a)
{
	struct buf p = BUF_INIT;
	nn_pack_attr(&p, a);
	nn_reply(s, c, h, &p);
	buf_free(&p);
	nn_cb_seen(s, c, a->ino); /* the caller may cache it now */
}

void nn_reply_attr_or_err(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			  int rc, const struct nn_attr *a)
{
	if (rc)
		nn_reply_err(s, c, h, rc, NULL);
	else
		nn_reply_attr(s, c, h, a);
}

void nn_reply_attr_dir(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		       int rc, const struct nn_attr *a, uint64_t dir)
{
	if (rc)
		return nn_reply_err(s, c, h, rc, NULL);
	struct buf p = BUF_INIT;
	nn_pack_attr(&p, a);
	struct nn_attr d;
	if (!nn_ns_stat_ino(s->ns, dir, &d))
		nn_pack_attr(&p, &d);
	nn_reply(s, c, h, &p);
	buf_free(&p);
	nn_cb_seen(s, c, a->ino);
	nn_cb_seen(s, c, dir);
}

void nn_reply_ok_or_err(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			int rc)
{
	if (rc)
		nn_reply_err(s, c, h, rc, NULL);
	else
		nn_reply_ok(s, c, h);
}

/* ---------- connections ---------- */

void nn_conn_release(struct nn_server *s, struct nn_conn *c)
{
	if (c->nwriting)
		nn_lease_orphan_all(s, c);
	free(c->writing);
	nn_pending_release(s, c);
	nn_ns_defer_drop(s->ns, c->id); /* creates answered and never used: never saved */
	nn_cb_conn_release(s, c);
	nn_kept_release(s, c);
	nn_locks_drop_session(&s->locks, c->id);
	nn_ns_dump_end(c->dump);
	c->dump = NULL;
	nn_answer_waiters(s, c);
	if (c->state != NN_CONN_READY)
		s->nunauth--;
	if (c->dn >= 0) {
		struct nn_dn *d = &s->dns.v[c->dn];
		if (c->said_bye) {
			log_info("datanode '%s' stopped", d->id);
		} else {
			log_warn("datanode '%s' (%s) lost its connection: declaring it dead",
				 d->id, d->addr);
			nn_on_dn_dead(s, (uint32_t)c->dn);
		}
		nn_dns_lost(&s->dns, (uint32_t)c->dn, c->said_bye, ev_now());
		nn_jobs_node_down(s->jobs, (uint32_t)c->dn);
		s->dn_conn[c->dn] = NULL;
	}
}

void nn_conn_close(struct nn_server *s, struct nn_conn *c)
{
	nn_conn_release(s, c);
	nn_conn_unqueue(s, c);
	ev_unwatch(s->loop, c->fd);
	net_close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

void nn_conn_frame(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		   const void *payload)
{
	if (c->state == NN_CONN_HANDSHAKE) {
		if (h->type != PROTO_AUTH) {
			log_reject(s, "peer %s: expected a handshake, got message 0x%x; closing",
				   c->peer_addr, h->type);
			c->closing = true;
			return;
		}
		int rc = auth_server_check(&c->auth, &s->keys, payload, h->length, &c->peer,
					   &c->out);
		nn_conn_queue(s, c);
		if (rc) {
			log_reject(s, "peer %s: authentication failed: %s", c->peer_addr,
				   rc == -EPROTO		? "malformed handshake"
				   : rc == -EPROTONOSUPPORT ? auth_strerror(rc)
							    : "wrong key for the role it claimed");
			c->closing = true;
			return;
		}
		c->state = NN_CONN_READY;
		s->nunauth--;
		c->cred = nn_cred_of(s, &c->peer);
		return;
	}
	nn_dispatch(s, c, h, payload);
}

uint32_t nn_conn_max_frame(const struct nn_conn *c)
{
	if (c->state == NN_CONN_HANDSHAKE)
		return PROTO_MAX_HANDSHAKE;
	return c->peer.role == PROTO_ROLE_DATANODE ? PROTO_MAX_DN_REQ : PROTO_MAX_CLIENT_REQ;
}

static void conn_read(struct nn_server *s, struct nn_conn *c)
{
	for (;;) {
		buf_grow(&c->in, 64 * 1024);
		ssize_t n = net_recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			nn_conn_close(s, c);
			return;
		}
		buf_commit(&c->in, (size_t)n);
		/* process whole frames */
		size_t off = 0;
		while (!c->closing && c->in.len - off >= PROTO_HDR_LEN) {
			struct proto_hdr h;
			int rc = proto_hdr_decode((uint8_t *)c->in.data + off, &h,
						  nn_conn_max_frame(c));
			if (rc) {
				log_reject(s, "peer %s: %s; closing", c->peer_addr,
					   rc == -EPROTO ? "garbage frame" : "frame too large");
				nn_conn_close(s, c);
				return;
			}
			if (c->in.len - off < PROTO_HDR_LEN + (size_t)h.length)
				break;
			nn_conn_frame(s, c, &h, c->in.data + off + PROTO_HDR_LEN);
			off += PROTO_HDR_LEN + h.length;
		}
		buf_consume(&c->in, off);
		/* the slow-sender clock runs while a frame is incomplete */
		if (!c->in.len)
			c->frame_since = 0;
		else if (off || !c->frame_since)
			c->frame_since = ev_now();
		if (c->closing)
			break;
		if ((size_t)n < 64 * 1024 && !net_pending(c->fd))
			break; /* drained for now; epoll tells us when there is more */
	}
}

static void conn_event(struct ev_loop *loop, int fd, int events, void *arg);

static void conn_flush(struct nn_server *s, struct nn_conn *c)
{
	while (c->safe > 0) {
		ssize_t n = net_send(c->fd, c->out.data, c->safe);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			nn_conn_close(s, c);
			return;
		}
		buf_consume(&c->out, (size_t)n);
		c->safe -= (size_t)n;
		if (c->wait_tag)
			c->wait_len -= (size_t)n;
	}
	if (c->safe == 0 && c->closing) {
		nn_conn_close(s, c);
		return;
	}
	ev_watch(s->loop, c->fd, EV_READ | (c->safe ? EV_WRITE : 0), conn_event, c);
}

void nn_conn_flush(struct nn_server *s, struct nn_conn *c) { conn_flush(s, c); }

/* ev callbacks get the conn; the server is reached through this global, set once in
 * nn_conn_listen (one server per process). */
static struct nn_server *the_server;

static void conn_event(struct ev_loop *loop, int fd, int events, void *arg)
{
	(void)loop;
	(void)fd;
	struct nn_conn *c = arg;
	struct nn_server *s = the_server;
	if (c->state == NN_CONN_TLS) {
		bool want_write;
		int rc = tls_server_step(c->fd, &want_write);
		if (rc == -EAGAIN) {
			ev_watch(s->loop, c->fd, want_write ? EV_WRITE : EV_READ, conn_event, c);
			return;
		}
		if (rc) {
			log_reject(s, "peer %s: %s; closing", c->peer_addr, tls_error());
			nn_conn_close(s, c);
			return;
		}
		c->state = NN_CONN_HANDSHAKE; /* now the dfs handshake, inside TLS */
		auth_server_hello(&c->auth, PROTO_ROLE_NAMENODE, &c->out);
		nn_conn_queue(s, c);
		ev_watch(s->loop, c->fd, EV_READ, conn_event, c);
		return;
	}
	if (events & EV_WRITE) {
		conn_flush(s, c);
		return; /* c may be gone; a pending read event is reported again */
	}
	if (events & EV_READ)
		conn_read(s, c);
}

/* Makes room for a new connection among those still in the handshake: the oldest goes
 * (a flood of silent connections cannot lock out the clients that authenticate). */
static void drop_oldest_unauth(struct nn_server *s)
{
	struct nn_conn *oldest = NULL;
	for (struct nn_conn *c = s->conns; c; c = c->next)
		if (c->state != NN_CONN_READY && (!oldest || c->accepted <= oldest->accepted))
			oldest = c;
	if (!oldest)
		return;
	log_reject(s, "peer %s: dropped, %u connections still in the handshake "
		   "(max_unauth_connections)", oldest->peer_addr, s->nunauth);
	nn_conn_close(s, oldest);
}

/* Closes connections past their deadlines: the handshake, or a frame begun and not
 * finished (a slow sender holding buffers). */
void nn_conn_check_deadlines(struct nn_server *s)
{
	double now = ev_now();
	for (struct nn_conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		const char *why = NULL;
		if (c->state != NN_CONN_READY && now - c->accepted > s->cfg.handshake_timeout)
			why = "no handshake within handshake_timeout";
		else if (c->frame_since && now - c->frame_since > s->cfg.frame_timeout)
			why = "a frame not finished within frame_timeout";
		if (!why)
			continue;
		log_reject(s, "peer %s: %s; closing", c->peer_addr, why);
		nn_conn_close(s, c);
	}
}

static void on_accept(struct ev_loop *loop, int fd, int events, void *arg)
{
	(void)loop;
	(void)events;
	struct nn_server *s = arg;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("accept failed: %s", strerror(errno));
			return;
		}
		if (s->nunauth >= s->cfg.max_unauth_connections)
			drop_oldest_unauth(s);
		if (s->nconns >= s->cfg.max_connections) {
			char peer[64];
			net_peer_addr(cfd, peer, sizeof peer);
			log_reject(s, "peer %s: refused, %u connections already (max_connections)",
				   peer, s->nconns);
			close(cfd);
			continue;
		}
		struct nn_conn *c = calloc(1, sizeof *c);
		if (!c) {
			close(cfd);
			return;
		}
		c->fd = cfd;
		c->dn = -1;
		c->cb_slot = -1;
		c->accepted = ev_now();
		s->nunauth++;
		c->id = ++s->next_conn_id;
		int one = 1;
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		buf_init(&c->in);
		buf_init(&c->out);
		net_peer_addr(cfd, c->peer_addr, sizeof c->peer_addr);
		uint16_t port;
		if (net_parse_addr(c->peer_addr, c->peer_host, sizeof c->peer_host, &port))
			snprintf(c->peer_host, sizeof c->peer_host, "?");
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		if (tls_on()) { /* the client speaks first: wait for its hello */
			c->state = NN_CONN_TLS;
			if (tls_server_start(cfd)) {
				nn_conn_close(s, c);
				continue;
			}
		} else {
			c->state = NN_CONN_HANDSHAKE;
			auth_server_hello(&c->auth, PROTO_ROLE_NAMENODE, &c->out);
			nn_conn_queue(s, c);
		}
		if (ev_watch(s->loop, cfd, EV_READ, conn_event, c))
			nn_conn_close(s, c);
	}
}

void nn_conn_turn_end(struct nn_server *s)
{
	if (s->repl_dirty && !s->safe_mode) {
		s->repl_dirty = false;
		s->repl_last = ev_now();
		uint32_t n = nn_repl_schedule(s->repl, s->bm, &s->dns, s->repl_last);
		if (n)
			log_info("replication: %u commands queued, %u copies in flight", n,
				 nn_repl_pending(s->repl));
	}
	nn_push_commands(s);
	if (s->nwaiters)
		nn_answer_waiters(s, NULL);
	if (s->group) {
		nn_group_turn_end(s->group); /* the log is the durable record: no sync */
	} else if (s->cfg.metadata_sync == 0 && nn_ns_dirty(s->ns)) {
		if (nn_ns_sync(s->ns)) {
			log_error("cannot make namespace changes durable; stopping so that no "
				  "client is told a change was saved when it was not");
			exit(1);
		}
		const char *t = s->cfg.test_exit_before_reply;
		if (t[0] && !unlink(t)) { /* test only: the reply is lost, the change kept */
			log_warn("test_exit_before_reply: exiting with %zu replies unsent",
				 s->nflush);
			_exit(3);
		}
	}
	uint64_t unsettled = nn_group_unsettled(s->group);
	bool hold = nn_cb_turn_end(s); /* invalidations some mount has not acknowledged */
	for (size_t i = 0; i < s->nflush; i++) {
		struct nn_conn *c = s->flush[i];
		if (!c)
			continue;
		c->queued = false;
		bool cb_wait = hold && !c->cb_watcher && c->dn < 0; /* the mounts' acks (a
								      * datanode's replies
								      * tell nothing) */
		if (unsettled) { /* a group: after the turn's entry (or an earlier) commits */
			c->wait_tag = unsettled;
			c->wait_len = c->out.len;
			if (cb_wait) { /* ... and after the acks: whichever comes last flushes */
				if (!c->cb_held)
					s->cb_nheld++;
				c->cb_held = true;
				c->cb_len = c->out.len;
			}
			continue;
		}
		if (cb_wait) {
			if (!c->cb_held)
				s->cb_nheld++;
			c->cb_held = true;
			c->cb_len = c->out.len;
			continue;
		}
		if (c->cb_held) {
			c->cb_held = false;
			s->cb_nheld--;
		}
		c->wait_tag = 0;
		c->safe = c->out.len;
		conn_flush(s, c); /* may free c; its later slots were cleared by conn_close */
	}
	s->nflush = 0;
}

void nn_conn_settled(struct nn_server *s, uint64_t tag)
{
	struct nn_conn *next;
	for (struct nn_conn *c = s->conns; c; c = next) {
		next = c->next;
		if (!c->wait_tag || c->wait_tag > tag)
			continue;
		c->wait_tag = 0;
		if (c->cb_held) { /* invalidations are unacknowledged: their release flushes
				   * it, up to here at least (what came after needs no acks) */
			if (c->wait_len > c->cb_len)
				c->cb_len = c->wait_len;
			continue;
		}
		c->safe = c->wait_len;
		if (c->fd >= 0)
			conn_flush(s, c); /* may free c, not next */
	}
}

static void turn_end(struct ev_loop *loop, void *arg)
{
	(void)loop;
	nn_conn_turn_end(arg);
}

int nn_conn_listen(struct nn_server *s)
{
	the_server = s;
	ev_before_sleep(s->loop, turn_end, s);
	return ev_watch(s->loop, s->lfd, EV_READ, on_accept, s);
}
