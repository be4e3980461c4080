/*
 * retrycache: kept first outcomes of mutating calls (see retrycache.h).
 */
#include "retrycache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crc.h"
#include "grow.h"
#include "log.h"
#include "ns_int.h"
#include "pack.h"

#define RC_KEY_LEN 9
#define RC_HEAD_LEN 14 /* u16 type, u32 crc, i64 time */

struct rc_entry {
	int64_t time;
	uint64_t reqid;
};

struct nn_rc {
	struct nn_ns *ns;
	int64_t keep;
	struct rc_entry *q; /* a ring in time order: head .. head+n */
	size_t head, n, cap;
	uint64_t replays;
};

static void rc_key(uint8_t k[RC_KEY_LEN], uint64_t reqid)
{
	k[0] = 'Q';
	be64_put(k + 1, reqid);
}

static int push(struct nn_rc *rc, int64_t time, uint64_t reqid)
{
	if (rc->n == rc->cap) { /* grow, unrolling the ring */
		size_t cap = rc->cap ? rc->cap * 2 : 1024;
		struct rc_entry *q = malloc(cap * sizeof *q);
		if (!q)
			return -ENOMEM;
		for (size_t i = 0; i < rc->n; i++)
			q[i] = rc->q[(rc->head + i) % rc->cap];
		free(rc->q);
		rc->q = q;
		rc->cap = cap;
		rc->head = 0;
	}
	rc->q[(rc->head + rc->n) % rc->cap] = (struct rc_entry){time, reqid};
	rc->n++;
	return 0;
}

static int by_time(const void *a, const void *b)
{
	const struct rc_entry *x = a, *y = b;
	return x->time < y->time ? -1 : x->time > y->time;
}

int nn_rc_open(struct nn_ns *ns, double keep, int64_t now, struct nn_rc **out)
{
	struct nn_rc *rc = calloc(1, sizeof *rc);
	if (!rc)
		return -ENOMEM;
	rc->ns = ns;
	rc->keep = keep > 0 ? (int64_t)keep : 0;
	int err = 0;
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	for (leveldb_iter_seek(it, "Q", 1); leveldb_iter_valid(it) && !err;
	     leveldb_iter_next(it)) {
		size_t kl, vl;
		const char *k = leveldb_iter_key(it, &kl);
		if (kl < 1 || k[0] != 'Q')
			break;
		const uint8_t *v = (const uint8_t *)leveldb_iter_value(it, &vl);
		if (kl != RC_KEY_LEN || vl < RC_HEAD_LEN)
			continue; /* not ours: left alone */
		err = push(rc, (int64_t)be64_get(v + 6), be64_get((const uint8_t *)k + 1));
	}
	leveldb_iter_destroy(it);
	if (err) {
		nn_rc_close(rc);
		return err;
	}
	if (rc->n)
		qsort(rc->q, rc->n, sizeof *rc->q, by_time); /* head is 0 here */
	uint64_t gone = nn_rc_expire(rc, now);
	if (rc->n || gone)
		log_info("retry cache: %zu replies kept, %llu expired", rc->n,
			 (unsigned long long)gone);
	*out = rc;
	return 0;
}

void nn_rc_close(struct nn_rc *rc)
{
	if (!rc)
		return;
	free(rc->q);
	free(rc);
}

bool nn_rc_replay(struct nn_rc *rc, const struct proto_hdr *h, const void *payload,
		  struct buf *out)
{
	if (!rc || !rc->keep || !(h->flags & PROTO_F_RETRY_ID))
		return false;
	uint8_t k[RC_KEY_LEN];
	rc_key(k, h->reqid);
	struct buf v = BUF_INIT;
	bool hit = false;
	if (!nn_ns_db_get(rc->ns, k, sizeof k, &v) && v.len >= RC_HEAD_LEN + PROTO_HDR_LEN) {
		const uint8_t *p = (const uint8_t *)v.data;
		uint16_t type = (uint16_t)(p[0] << 8 | p[1]);
		if (type == h->type && be32_get(p + 2) == crc32c(payload, h->length)) {
			buf_add(out, p + RC_HEAD_LEN, v.len - RC_HEAD_LEN);
			rc->replays++;
			hit = true;
		} else {
			log_warn("retry cache: call id %016llx came back as another call (%s); "
				 "running it as a new one", (unsigned long long)h->reqid,
				 proto_type_name(h->type));
		}
	}
	buf_free(&v);
	return hit;
}

void nn_rc_record(struct nn_rc *rc, const struct proto_hdr *h, const void *payload,
		  const void *frame, size_t len, int64_t now)
{
	if (!rc || !rc->keep || !(h->flags & PROTO_F_RETRY_ID) || len < PROTO_HDR_LEN)
		return;
	struct proto_hdr r;
	if (proto_hdr_decode(frame, &r, PROTO_MAX_REPLY) || r.status != 0 ||
	    r.reqid != h->reqid || PROTO_HDR_LEN + (size_t)r.length != len)
		return; /* failures are not kept: nothing changed, a retry fails the same */
	uint8_t k[RC_KEY_LEN], head[RC_HEAD_LEN];
	rc_key(k, h->reqid);
	head[0] = (uint8_t)(h->type >> 8);
	head[1] = (uint8_t)h->type;
	be32_put(head + 2, crc32c(payload, h->length));
	be64_put(head + 6, (uint64_t)now);
	struct buf v = BUF_INIT;
	buf_add(&v, head, sizeof head);
	buf_add(&v, frame, len);
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	leveldb_writebatch_put(wb, (const char *)k, sizeof k, v.data, v.len);
	buf_free(&v);
	if (!nn_ns_commit(rc->ns, wb))
		push(rc, now, h->reqid); /* without room it stays until the next start */
}

uint64_t nn_rc_expire(struct nn_rc *rc, int64_t now)
{
	uint64_t gone = 0;
	leveldb_writebatch_t *wb = NULL;
	while (rc && rc->n && rc->q[rc->head].time < now - rc->keep && gone < 100000) {
		uint8_t k[RC_KEY_LEN];
		rc_key(k, rc->q[rc->head].reqid);
		if (!wb)
			wb = leveldb_writebatch_create();
		leveldb_writebatch_delete(wb, (const char *)k, sizeof k);
		rc->head = (rc->head + 1) % rc->cap;
		rc->n--;
		gone++;
	}
	if (wb)
		nn_ns_commit(rc->ns, wb); /* frees wb */
	return gone;
}

uint64_t nn_rc_size(const struct nn_rc *rc) { return rc ? rc->n : 0; }
uint64_t nn_rc_replays(const struct nn_rc *rc) { return rc ? rc->replays : 0; }
