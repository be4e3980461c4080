/*
 * callbacks: which mount holds which inode, and the invalidations it is owed (the
 * design and the states are in callbacks.h).
 *
 * Holds are one open-addressed table, inode -> bit mask of the session slots holding
 * it (linear probing, deletion by backward shift, so no tombstones). A session's queue
 * is the CN_WATCH reply's entries, packed as they come.
 */
#include "callbacks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pack.h"
#include "proto.h"

struct hold {
	uint64_t ino; /* 0: an empty slot */
	uint64_t mask;
};

struct session {
	uint64_t id;
	uint32_t nconns; /* 0: the slot is free */
	bool watching;   /* a CN_WATCH waits for its answer */
	uint64_t reqid;  /* ... its call id */
	double since;    /* ... when it arrived */
	double heard;    /* the last CN_WATCH's arrival */
	struct buf queue;
	uint32_t nqueued;
	bool overflow; /* more than NN_CB_QUEUE_MAX: the batch says PROTO_INVAL_ALL */
	uint64_t sent, acked; /* batch numbers */
};

#define NN_CB_QUEUE_MAX 65536

struct nn_cb {
	struct session s[NN_CB_SESSIONS];
	uint32_t nsessions;
	struct hold *t;
	size_t cap, n; /* cap: a power of two, or 0 */
	uint64_t sent_total;
	uint64_t incarnation; /* random, per namenode start: a mount seeing it change lost
			       * its holds (they lived in the process before) */
};

static size_t slot_of(const struct nn_cb *cb, uint64_t ino)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ULL) >> 17) & (cb->cap - 1);
}

/* The table index holding ino, or the empty index where it would go. */
static size_t find(const struct nn_cb *cb, uint64_t ino)
{
	size_t i = slot_of(cb, ino);
	while (cb->t[i].ino && cb->t[i].ino != ino)
		i = (i + 1) & (cb->cap - 1);
	return i;
}

static int grow(struct nn_cb *cb)
{
	size_t cap = cb->cap ? cb->cap * 2 : 1024;
	struct hold *old = cb->t, *t = calloc(cap, sizeof *t);
	if (!t)
		return -ENOMEM;
	size_t oldcap = cb->cap;
	cb->t = t;
	cb->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].ino)
			cb->t[find(cb, old[i].ino)] = old[i];
	free(old);
	return 0;
}

static void del_at(struct nn_cb *cb, size_t i)
{
	size_t m = cb->cap - 1;
	for (size_t j = (i + 1) & m; cb->t[j].ino; j = (j + 1) & m) {
		size_t k = slot_of(cb, cb->t[j].ino);
		/* j stays when its home k lies cyclically in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		cb->t[i] = cb->t[j];
		i = j;
	}
	cb->t[i] = (struct hold){0, 0};
	cb->n--;
}

static uint64_t holders(const struct nn_cb *cb, uint64_t ino)
{
	if (!cb->n)
		return 0;
	size_t i = find(cb, ino);
	return cb->t[i].ino ? cb->t[i].mask : 0;
}

struct nn_cb *nn_cb_new(void)
{
	struct nn_cb *cb = calloc(1, sizeof *cb);
	while (cb && !cb->incarnation &&
	       getrandom(&cb->incarnation, sizeof cb->incarnation, 0) == sizeof cb->incarnation)
		;
	if (cb && !cb->incarnation)
		cb->incarnation = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
	return cb;
}

void nn_cb_free(struct nn_cb *cb)
{
	if (!cb)
		return;
	for (int i = 0; i < NN_CB_SESSIONS; i++)
		buf_free(&cb->s[i].queue);
	free(cb->t);
	free(cb);
}

void nn_cb_note(struct nn_cb *cb, int slot, uint64_t ino)
{
	if (slot < 0 || !ino || !cb->s[slot].nconns)
		return;
	if ((cb->n + 1) * 10 > cb->cap * 7 && grow(cb))
		return; /* without memory the inode is not held: its changes go unsaid */
	size_t i = find(cb, ino);
	if (!cb->t[i].ino) {
		cb->t[i].ino = ino;
		cb->n++;
	}
	cb->t[i].mask |= 1ULL << slot;
}

void nn_cb_forget(struct nn_cb *cb, int slot, uint64_t ino)
{
	if (slot < 0 || !cb->n || ino == NN_ROOT_INO)
		return;
	size_t i = find(cb, ino);
	if (!cb->t[i].ino)
		return;
	cb->t[i].mask &= ~(1ULL << slot);
	if (!cb->t[i].mask)
		del_at(cb, i);
}

int nn_cb_session(struct nn_cb *cb, uint64_t id)
{
	if (!id)
		return -EINVAL;
	int free_slot = -1;
	for (int i = 0; i < NN_CB_SESSIONS; i++) {
		if (cb->s[i].nconns && cb->s[i].id == id) {
			cb->s[i].nconns++;
			return i;
		}
		if (!cb->s[i].nconns && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return -EBUSY;
	struct session *s = &cb->s[free_slot];
	buf_reset(&s->queue);
	*s = (struct session){.id = id, .nconns = 1, .queue = s->queue};
	cb->nsessions++;
	nn_cb_note(cb, free_slot, NN_ROOT_INO); /* never looked up: always held */
	return free_slot;
}

void nn_cb_session_gone(struct nn_cb *cb, int slot)
{
	if (slot < 0 || !cb->s[slot].nconns || --cb->s[slot].nconns)
		return;
	struct session *s = &cb->s[slot];
	s->watching = false;
	s->nqueued = 0;
	buf_reset(&s->queue);
	cb->nsessions--;
	uint64_t bit = 1ULL << slot;
	for (size_t i = 0; i < cb->cap;) { /* drop its holds (a backward shift may move a
					      * later entry to i: look at i again) */
		if (cb->t[i].ino && (cb->t[i].mask & bit)) {
			cb->t[i].mask &= ~bit;
			if (!cb->t[i].mask) {
				del_at(cb, i);
				continue;
			}
		}
		i++;
	}
}

bool nn_cb_any(const struct nn_cb *cb) { return cb->nsessions > 0; }

/* Whether session s is heard from (watching, or within the lease): only those are sent
 * invalidations; one that was silent longer voided its cache itself. */
static bool live(const struct session *s, double now)
{
	return s->nconns && s->heard > 0 && now - s->heard < NN_CB_LEASE_MS / 1000.0;
}

static void queue(struct nn_cb *cb, uint64_t mask, uint8_t kind, uint64_t ino,
		  const char *name, double now)
{
	for (int i = 0; mask && i < NN_CB_SESSIONS; i++, mask >>= 1) {
		struct session *s = &cb->s[i];
		if (!(mask & 1) || !live(s, now) || s->overflow)
			continue;
		if (s->nqueued >= NN_CB_QUEUE_MAX) {
			s->overflow = true;
			buf_reset(&s->queue);
			pack_u8(&s->queue, PROTO_INVAL_ALL);
			pack_u64(&s->queue, 0);
			s->nqueued = 1;
			continue;
		}
		pack_u8(&s->queue, kind);
		pack_u64(&s->queue, ino);
		if (kind == PROTO_INVAL_ENTRY)
			pack_str(&s->queue, name);
		s->nqueued++;
	}
}

void nn_cb_changes(struct nn_cb *cb, struct nn_ns *ns, int from, double now)
{
	const struct nn_ns_touch *t;
	size_t n = nn_ns_touched(ns, &t);
	uint64_t others = from >= 0 ? ~(1ULL << from) : ~0ULL;
	for (size_t i = 0; i < n; i++) {
		uint64_t m = holders(cb, t[i].ino) & others;
		if (!m)
			continue;
		uint8_t kind = t[i].kind == 'B'	  ? PROTO_INVAL_DATA
			       : t[i].kind == 'D' ? PROTO_INVAL_ENTRY
						  : PROTO_INVAL_ATTR;
		queue(cb, m, kind, t[i].ino, t[i].name, now);
	}
	nn_ns_touched_clear(ns);
}

void nn_cb_watch(struct nn_cb *cb, int slot, uint64_t acked, uint64_t reqid, double now)
{
	struct session *s = &cb->s[slot];
	if (acked != s->sent)
		log_debug("session %d: batch %llu acknowledged, %llu sent (a reply was lost: "
			  "the mount voided its cache)", slot, (unsigned long long)acked,
			  (unsigned long long)s->sent);
	s->acked = s->sent; /* applied, or lost with a call the mount then gave up on */
	s->watching = true;
	s->reqid = reqid;
	s->since = s->heard = now;
}

bool nn_cb_take_reply(struct nn_cb *cb, int slot, double now, uint64_t *reqid, struct buf *p)
{
	struct session *s = &cb->s[slot];
	if (!s->watching || (!s->nqueued && now - s->since < NN_CB_POLL_MS / 1000.0))
		return false;
	pack_u64(p, s->nqueued ? ++s->sent : 0);
	pack_u32(p, s->nqueued);
	buf_add(p, s->queue.data, s->queue.len);
	pack_u64(p, cb->incarnation);
	cb->sent_total += s->nqueued;
	s->nqueued = 0;
	s->overflow = false;
	buf_reset(&s->queue);
	s->watching = false;
	*reqid = s->reqid;
	return true;
}

void nn_cb_unwatch(struct nn_cb *cb, int slot)
{
	if (slot >= 0)
		cb->s[slot].watching = false;
}

bool nn_cb_holding(const struct nn_cb *cb, double now)
{
	for (int i = 0; i < NN_CB_SESSIONS; i++) {
		const struct session *s = &cb->s[i];
		if (live(s, now) && (s->nqueued || s->sent > s->acked))
			return true;
	}
	return false;
}

uint32_t nn_cb_sessions(const struct nn_cb *cb) { return cb->nsessions; }
uint64_t nn_cb_held(const struct nn_cb *cb) { return cb->n; }
uint64_t nn_cb_sent(const struct nn_cb *cb) { return cb->sent_total; }
