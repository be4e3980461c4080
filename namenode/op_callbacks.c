/*
 * op_callbacks: the mounts' cache callbacks on the wire -- CN_SESSION, CN_WATCH and
 * CN_FORGET -- and where the server meets callbacks.h: the inodes replies hand out, a
 * closing connection, and the turn's end, where due CN_WATCH calls are answered and
 * the turn's replies are held while invalidations are unacknowledged. Loop thread only.
 */
#include "server_int.h"

#include <errno.h>

void nn_cb_seen(struct nn_server *s, const struct nn_conn *c, uint64_t ino)
{
	if (c->cb_slot >= 0)
		nn_cb_note(s->cb, c->cb_slot, ino);
}

void nn_op_session(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		   struct unpack *u)
{
	uint64_t id = unpack_u64(u);
	if (nn_malformed(s, c, h, u))
		return;
	if (c->cb_slot >= 0)
		return nn_reply_err(s, c, h, -EALREADY, "this connection named its session");
	int slot = nn_cb_session(s->cb, id);
	if (slot < 0)
		return nn_reply_err(s, c, h, slot, slot == -EBUSY ?
				    "every callback session is taken: this mount keeps short "
				    "cache timeouts" : "session 0 is not a session");
	c->cb_slot = slot;
	nn_ns_track(s->ns, true);
	nn_reply_ok(s, c, h);
}

void nn_op_watch(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		 struct unpack *u)
{
	uint64_t acked = unpack_u64(u);
	if (nn_malformed(s, c, h, u))
		return;
	if (c->cb_slot < 0)
		return nn_reply_err(s, c, h, -EINVAL, "CN_WATCH before CN_SESSION");
	struct nn_conn *w = s->cb_watch[c->cb_slot];
	if (w && w != c)
		w->cb_watcher = false; /* the mount watches on a new connection now */
	s->cb_watch[c->cb_slot] = c;
	c->cb_watcher = true;
	nn_cb_watch(s->cb, c->cb_slot, acked, h->reqid, ev_now());
	/* answered at the turn's end (nn_cb_turn_end), at once if something is queued */
}

void nn_op_forget(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		  struct unpack *u)
{
	uint32_t n = unpack_count(u, 8);
	for (uint32_t i = 0; i < n && unpack_ok(u); i++)
		nn_cb_forget(s->cb, c->cb_slot, unpack_u64(u));
	if (nn_malformed(s, c, h, u))
		return;
	nn_reply_ok(s, c, h);
}

void nn_cb_conn_release(struct nn_server *s, struct nn_conn *c)
{
	if (c->cb_slot < 0)
		return;
	if (s->cb_watch[c->cb_slot] == c) {
		s->cb_watch[c->cb_slot] = NULL;
		nn_cb_unwatch(s->cb, c->cb_slot);
	}
	if (c->cb_held)
		s->cb_nheld--;
	c->cb_held = false;
	nn_cb_session_gone(s->cb, c->cb_slot);
	c->cb_slot = -1;
	if (!nn_cb_any(s->cb))
		nn_ns_track(s->ns, false);
}

/* Lets every held reply go. */
static void release_held(struct nn_server *s)
{
	struct nn_conn *next;
	for (struct nn_conn *c = s->conns; c && s->cb_nheld; c = next) {
		next = c->next;
		if (!c->cb_held)
			continue;
		c->cb_held = false;
		s->cb_nheld--;
		if (c->wait_tag)
			continue; /* a group's entry holds it too (nn_conn_settled lets it go) */
		c->safe = c->cb_len;
		if (c->fd >= 0)
			nn_conn_flush(s, c); /* may free c, not next */
	}
	s->cb_nheld = 0;
}

bool nn_cb_turn_end(struct nn_server *s)
{
	if (!nn_cb_any(s->cb)) {
		if (s->cb_nheld)
			release_held(s);
		return false;
	}
	double now = ev_now();
	nn_cb_changes(s->cb, s->ns, -1, now); /* made outside calls: lease recovery, trash */
	for (int i = 0; i < NN_CB_SESSIONS; i++) {
		struct nn_conn *w = s->cb_watch[i];
		uint64_t reqid;
		struct buf p = BUF_INIT;
		if (w && nn_cb_take_reply(s->cb, i, now, &reqid, &p)) {
			struct proto_hdr h = {.type = PROTO_CN_WATCH, .reqid = reqid};
			nn_reply(s, w, &h, &p);
		}
		buf_free(&p);
	}
	bool hold = nn_cb_holding(s->cb, now);
	if (!hold && s->cb_nheld)
		release_held(s);
	return hold;
}
