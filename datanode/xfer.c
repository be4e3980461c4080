/*
 * xfer: block reads and writes. One thread per connection (bounded); a write with a
 * downstream node adds a responder thread that relays acks upstream.
 *
 * Write pipeline, per connection: the receiver (handle_write) reads a packet from
 * upstream, forwards it downstream, verifies and stores it, then queues (seq, result)
 * for the responder (responder_main), which waits for the downstream ack of that seq
 * and sends one combined ack upstream. Without a downstream the receiver acks itself.
 * The last packet finalizes the replica (fsync when sync_on_close) before its ack, so
 * an ack of the last packet means "stored durably on every node of the pipeline".
 * Ack `failed` is the index, counted from the receiving node, of the first node that
 * failed (each node adds one when relaying), so the client knows whom to drop.
 *
 * Test only: with test_corrupt_writes = N (dn_xfer_set_test_corrupt) the receiver flips
 * a byte of every Nth non-empty packet it receives, after forwarding it downstream and
 * before verifying it, so that this node (and only it) answers with a checksum error.
 */
#include "xfer.h"
#include "clock.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connpool.h"
#include "crc.h"
#include "fetch.h"
#include "log.h"
#include "net.h"
#include "pack.h"
#include "packet.h"
#include "tls.h"
#include "token.h"

struct dn_xfer {
	int lfd;
	struct dn_store *store;
	struct auth_keys keys;
	struct token_keys tokens; /* block keys, from the namenode (dn_xfer_set_block_keys) */
	bool sync_on_close;
	pthread_t accept_thread;
	struct log_limit reject_log;
	atomic_uint active;
	atomic_bool stopping;
	atomic_uint_fast64_t bytes_written, bytes_read, blocks_written, blocks_read, crc_errors;
	atomic_uint_fast64_t pipeline_breaks; /* downstream lost mid-block (responder_main) */
	atomic_uint corrupt_every;            /* test only: 0, or corrupt every Nth packet */
	atomic_uint io_delay_ms;              /* test only: a slow disk (each packet's I/O) */
	atomic_uint down_timeout_ms;          /* silence of a downstream node: it failed */
	atomic_uint_fast64_t packets_in;      /* non-empty packets received, for corrupt_every */
	struct connpool idle; /* downstream connections whose last pipeline ended cleanly */
	/* every open connection, so a stop can end those waiting idle for a request */
	pthread_mutex_t conns_lock;
	struct xconn *conns;
	char shuffle[4200]; /* the executor's scratch directory: map outputs ("" = none) */
};

struct xconn {
	struct dn_xfer *x;
	int fd;
	char peer[64];
	struct auth_peer who;      /* after the handshake */
	bool busy;                 /* handling a request (conns_lock) */
	bool authed;               /* past the handshake (conns_lock) */
	bool dropped;              /* shut down to make room (conns_lock) */
	struct xconn *prev, *next; /* x->conns (conns_lock) */
};

/* ---------- helpers ---------- */

static int reply_status(int fd, const struct proto_hdr *h, int rc, const char *msg)
{
	struct buf p = BUF_INIT;
	pack_str(&p, msg);
	int r = proto_send(fd, h->type, PROTO_F_REPLY, h->reqid, proto_status(rc), p.data, p.len);
	buf_free(&p);
	return r;
}

/* A DT_WRITE_BLOCK refusal: the message, then the index (from this node: 0 is this node,
 * 1 the next one...) of the pipeline node that failed (proto.h). */
static int reply_pipeline_err(int fd, const struct proto_hdr *h, int rc, const char *msg,
			      uint32_t failed)
{
	struct buf p = BUF_INIT;
	pack_str(&p, msg);
	pack_u32(&p, failed);
	int r = proto_send(fd, h->type, PROTO_F_REPLY, h->reqid, proto_status(rc), p.data, p.len);
	buf_free(&p);
	return r;
}

/* ---------- block access tokens ---------- */

/*
 * May xc's peer do mode on block (id, gs) with token tok (NULL: none sent)? A datanode
 * proved the datanode key in the handshake; a client needs a valid token. On refusal
 * replies with why (the stream stays in step) and returns -EACCES.
 */
static int authorize(struct xconn *xc, const struct proto_hdr *h, const uint8_t *tok,
		     uint64_t id, uint64_t gs, uint8_t mode)
{
	if (xc->who.role == PROTO_ROLE_DATANODE)
		return 0;
	const char *why = "no block token";
	if (tok && !token_check(&xc->x->tokens, tok, id, gs, mode, clock_wall_ms(), &why))
		return 0;
	log_warn_limited(&xc->x->reject_log, "peer %s (uid %u): %s of block %" PRIu64
			 " refused: %s", xc->peer, xc->who.uid,
			 mode == TOKEN_READ ? "read" : "write", id, why);
	reply_status(xc->fd, h, -EACCES, why);
	return -EACCES;
}

void dn_xfer_set_block_keys(struct dn_xfer *x, struct unpack *u)
{
	if (token_keys_unpack(&x->tokens, u))
		log_warn("malformed block keys from the namenode; keeping the old ones");
	else
		log_debug("block keys updated");
}

/* ---------- write pipeline ---------- */

struct ackq_item {
	uint64_t seq;
	int rc;
	bool end;
	bool last; /* the block's last packet: the nodes below finalize (fsync) first */
};

struct ackq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ackq_item *v;
	size_t head, n, cap;
};

static void ackq_push(struct ackq *q, struct ackq_item it)
{
	pthread_mutex_lock(&q->lock);
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		struct ackq_item *v = malloc(cap * sizeof *v);
		if (!v)
			abort();
		for (size_t i = 0; i < q->n; i++)
			v[i] = q->v[(q->head + i) % q->cap];
		free(q->v);
		q->v = v;
		q->cap = cap;
		q->head = 0;
	}
	q->v[(q->head + q->n) % q->cap] = it;
	q->n++;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

static struct ackq_item ackq_pop(struct ackq *q)
{
	pthread_mutex_lock(&q->lock);
	while (!q->n)
		pthread_cond_wait(&q->cond, &q->lock);
	struct ackq_item it = q->v[q->head];
	q->head = (q->head + 1) % q->cap;
	q->n--;
	pthread_mutex_unlock(&q->lock);
	return it;
}

struct responder {
	struct dn_xfer *x;
	int up, down;
	uint64_t reqid, id;
	const char *down_addr; /* borrowed from handle_write */
	struct ackq q;
	bool down_failed;
	uint32_t ndown; /* nodes below this one */
};

/* How long to wait for the next node's ack with ndown nodes below: the cluster's
 * stale_node_timeout (twice that for the last packet, which they finalize first), plus
 * a margin for each node below the next, so that the node just above a silent one
 * gives up first and names it (common/health.h has the client's side of the rule). */
static unsigned down_deadline_ms(unsigned ms, uint32_t ndown, bool last)
{
	unsigned margin = ms / 6 < 250 ? 250 : ms / 6;
	return (last ? 2 : 1) * ms + margin * (ndown ? ndown - 1 : 0);
}

static void *responder_main(void *arg)
{
	struct responder *r = arg;
	struct buf in = BUF_INIT;
	for (;;) {
		struct ackq_item it = ackq_pop(&r->q);
		if (it.end)
			break;
		int32_t status = proto_status(it.rc);
		uint32_t failed = it.rc ? 0 : PROTO_NO_NODE;
		if (!r->down_failed) {
			/* a downstream node silent for the cluster's stale_node_timeout has
			 * failed (its finalize, an fsync, may take twice that) */
			unsigned ms = down_deadline_ms(atomic_load(&r->x->down_timeout_ms), r->ndown,
						       it.last);
			net_set_timeout(r->down, (int)ms);
			struct proto_hdr h;
			uint64_t seq = 0;
			int32_t dst = 0;
			uint32_t dfailed = PROTO_NO_NODE;
			int rc = proto_recv(r->down, &h, &in, 4096);
			if (!rc && h.type != PROTO_DT_ACK)
				rc = -EPROTO;
			if (!rc)
				rc = packet_decode_ack(in.data, in.len, &seq, &dst, &dfailed);
			if (!rc && seq != it.seq)
				rc = -EPROTO;
			if (rc) {
				r->down_failed = true;
				atomic_fetch_add(&r->x->pipeline_breaks, 1);
				if (rc == -ETIMEDOUT)
					log_warn("block %" PRIu64 ": the downstream datanode at %s "
						 "sent no ack for %.1fs: dropping it from the pipeline",
						 r->id, r->down_addr, ms / 1000.0);
				else
					log_warn("block %" PRIu64 ": lost the downstream datanode at "
						 "%s: %s", r->id, r->down_addr, strerror(-rc));
				if (!it.rc) {
					status = proto_status(rc == -EPROTO ? EPROTO : EIO);
					failed = 1;
				}
			} else if (dst && !it.rc) {
				status = dst;
				failed = dfailed == PROTO_NO_NODE ? 1 : dfailed + 1;
			}
		} else if (!it.rc) {
			status = proto_status(EIO);
			failed = 1;
		}
		if (packet_send_ack(r->up, r->reqid, it.seq, status, failed))
			r->down_failed = true; /* upstream gone: keep draining the queue */
	}
	buf_free(&in);
	return NULL;
}

/* Connects to the next node (addr gets its address) and starts its part of the
 * pipeline, on a kept connection when there is one. On failure why says what failed and
 * *failed is that node's index from here (1: the next node; more when the next node
 * reported a failure further down). */
/*
 * The next node of a write pipeline. Its request goes out before this node creates its
 * own replica files (down_open) and its answer is read after (down_answer), so every
 * node of the pipeline creates its files at the same time: a file create costs about a
 * millisecond on common file systems, and a pipeline of three would pay it three
 * times in a row.
 */
struct down {
	struct buf req;
	char first[PROTO_ID_MAX + 1];    /* its id, for messages */
	char addr[PROTO_ADDR_MAX + 1];
	int fd;
	bool kept; /* fd came from the idle pool (it may have died idle) */
};

/* Decodes the rest of the pipeline (n nodes, the next one first) into d->req. */
static int down_request(struct down *d, uint64_t id, uint64_t gs, uint32_t flags,
			const uint8_t *tok, struct unpack *locs, uint32_t n)
{
	d->fd = -1;
	d->kept = false;
	d->req = (struct buf)BUF_INIT;
	unpack_str(locs, d->first, sizeof d->first);
	unpack_str(locs, d->addr, sizeof d->addr);
	pack_u64(&d->req, id);
	pack_u64(&d->req, gs);
	pack_u32(&d->req, flags);
	pack_raw(&d->req, tok, TOKEN_LEN);
	pack_u32(&d->req, n - 1);
	for (uint32_t i = 1; i < n; i++) {
		char a[PROTO_ADDR_MAX + 1];
		unpack_str(locs, a, sizeof a);
		pack_str(&d->req, a);
		unpack_str(locs, a, sizeof a);
		pack_str(&d->req, a);
	}
	return unpack_ok(locs) ? 0 : -EPROTO;
}

/* Sends d's request to the next node, on a kept connection when allowed and one is idle,
 * else on a new one. On error d->fd is closed. */
static int down_open(struct dn_xfer *x, const struct proto_hdr *h, struct down *d, uint32_t n,
		     bool may_keep)
{
	d->kept = may_keep && (d->fd = connpool_take(&x->idle, d->addr)) >= 0;
	int rc = 0;
	if (!d->kept) {
		d->fd = net_connect(d->addr, 5000);
		rc = d->fd < 0 ? d->fd : 0;
		if (!rc) {
			net_set_bulk(d->fd);
			rc = auth_client(d->fd, x->keys.datanode, PROTO_ROLE_DATANODE, 0, 0);
		}
	}
	if (!rc) /* sends to a node that stopped reading fail after the same silence */
		net_set_timeout(d->fd, (int)down_deadline_ms(atomic_load(&x->down_timeout_ms), n,
							     false));
	if (!rc)
		rc = proto_send(d->fd, PROTO_DT_WRITE_BLOCK, 0, h->reqid, 0, d->req.data, d->req.len);
	if (rc && d->fd >= 0) {
		net_close(d->fd);
		d->fd = -1;
	}
	return rc;
}

/* Reads the next node's answer to d's request (sent again on a new connection when a kept
 * one turns out dead). On error why says what failed, *failed is the pipeline index of
 * the node to blame (1: the next one), and d->fd is closed. */
static int down_answer(struct dn_xfer *x, const struct proto_hdr *h, struct down *d, uint32_t n,
		       struct buf *why, uint32_t *failed)
{
	struct buf rep = BUF_INIT;
	struct proto_hdr rh;
	int rc = proto_recv(d->fd, &rh, &rep, 64 * 1024);
	if (rc && d->kept) { /* it died idle: once more on a fresh one */
		net_close(d->fd);
		rc = down_open(x, h, d, n, false);
		if (!rc)
			rc = proto_recv(d->fd, &rh, &rep, 64 * 1024);
	}
	*failed = 1;
	if (!rc && rh.status) {
		rc = proto_errno(rh.status);
		/* the next node refused: its message and its own index of the culprit */
		struct unpack ru;
		unpack_init(&ru, rep.data, rep.len);
		char msg[256];
		unpack_str(&ru, msg, sizeof msg);
		uint32_t down_failed = unpack_u32(&ru);
		if (unpack_ok(&ru) && down_failed < n) {
			*failed = down_failed + 1;
			buf_printf(why, "%s", msg);
		} else {
			buf_printf(why, "pipeline: datanode '%s' refused the write: %s", d->first,
				   proto_strerror(rc));
		}
	} else if (rc) {
		buf_printf(why, "pipeline: cannot reach datanode '%s': %s", d->first,
			   proto_strerror(rc));
	}
	buf_free(&rep);
	if (rc && d->fd >= 0) {
		net_close(d->fd);
		d->fd = -1;
	}
	return rc;
}

/* test_corrupt_writes: flips a byte of every Nth non-empty packet (its data lies in in). */
static void corrupt_for_test(struct dn_xfer *x, uint64_t id, struct buf *in,
			     const struct packet *pkt)
{
	unsigned every = atomic_load(&x->corrupt_every);
	if (!every || !pkt->len || (atomic_fetch_add(&x->packets_in, 1) + 1) % every)
		return;
	size_t at = (size_t)(pkt->data - (const uint8_t *)in->data) + pkt->len / 2;
	in->data[at] ^= 0x5a;
	log_warn("block %" PRIu64 ": test_corrupt_writes: corrupted the packet at %" PRIu64, id,
		 pkt->offset);
}

/* test_io_delay: this node's disk answers each packet's read or write that late. */
static void slow_disk_for_test(struct dn_xfer *x)
{
	unsigned ms = atomic_load(&x->io_delay_ms);
	if (ms)
		usleep(ms * 1000u);
}

static int handle_write(struct xconn *xc, const struct proto_hdr *h, struct buf *payload)
{
	struct dn_xfer *x = xc->x;
	struct unpack u;
	unpack_init(&u, payload->data, payload->len);
	uint64_t id = unpack_u64(&u), gs = unpack_u64(&u);
	uint32_t flags = unpack_u32(&u);
	const uint8_t *tok = unpack_raw(&u, TOKEN_LEN);
	uint32_t n = unpack_count(&u, 8); /* the rest of the pipeline follows */
	if (!unpack_ok(&u) || n > PROTO_REPL_MAX)
		return reply_status(xc->fd, h, -EPROTO, "malformed write request"), -EPROTO;
	if (authorize(xc, h, tok, id, gs, TOKEN_WRITE))
		return 0;
	/* the next node first (it creates its replica while this one does), then this
	 * node's replica, then the next node's answer */
	struct down d = {.fd = -1};
	struct buf why = BUF_INIT;
	uint32_t failed = 1;
	int rc = 0;
	if (n) {
		rc = down_request(&d, id, gs, flags, tok, &u, n);
		if (rc) {
			buf_printf(&why, "malformed pipeline");
			failed = 0;
		} else if ((rc = down_open(x, h, &d, n, true)) && d.kept) {
			rc = down_open(x, h, &d, n, false); /* a kept one died idle */
		}
		if (rc && failed)
			buf_printf(&why, "pipeline: cannot reach datanode '%s': %s", d.first,
				   proto_strerror(rc));
	}
	struct dn_writer *w = NULL;
	if (!rc && (rc = dn_store_create(x->store, id, gs, &w))) {
		if (rc == -EEXIST)
			dn_store_announce(x->store, id); /* the namenode lost track of it */
		if (d.fd >= 0)
			net_close(d.fd); /* the next node drops its replica when the stream ends */
		buf_free(&d.req);
		buf_free(&why);
		reply_pipeline_err(xc->fd, h, rc,
				   rc == -EEXIST ? "replica exists" : "cannot create replica", 0);
		return rc;
	}
	if (!rc && n)
		rc = down_answer(x, h, &d, n, &why, &failed);
	buf_free(&d.req);
	if (rc) {
		log_warn("block %" PRIu64 ": %s", id, why.data);
		if (w)
			dn_writer_abort(w);
		reply_pipeline_err(xc->fd, h, -EIO, why.data, failed);
		buf_free(&why);
		return rc;
	}
	buf_free(&why);
	int down = d.fd;
	char *down_addr = d.addr;
	rc = reply_status(xc->fd, h, 0, "");
	if (rc) {
		dn_writer_abort(w);
		if (down >= 0)
			net_close(down);
		return rc;
	}
	struct responder r = {
		.x = x, .up = xc->fd, .down = down, .reqid = h->reqid, .id = id, .down_addr = down_addr,
		.ndown = n};
	pthread_t rt;
	bool have_responder = false;
	if (down >= 0) {
		pthread_mutex_init(&r.q.lock, NULL);
		pthread_cond_init(&r.q.cond, NULL);
		if (pthread_create(&rt, NULL, responder_main, &r)) {
			net_close(down);
			dn_writer_abort(w);
			return -EAGAIN;
		}
		have_responder = true;
	}
	struct packet *pkt = malloc(sizeof *pkt);
	struct buf in = BUF_INIT;
	bool finalized = false, down_ok = down >= 0;
	if (!pkt)
		abort();
	for (;;) {
		struct proto_hdr ph;
		rc = proto_recv(xc->fd, &ph, &in, PROTO_MAX_DATA);
		if (rc)
			break; /* upstream gone: the write is abandoned */
		if (ph.type != PROTO_DT_PACKET || packet_decode(in.data, in.len, pkt)) {
			rc = -EPROTO;
			break;
		}
		if (down_ok && proto_send(down, PROTO_DT_PACKET, 0, ph.reqid, 0, in.data, in.len))
			down_ok = false; /* the responder reports it when the ack is missing */
		corrupt_for_test(x, id, &in, pkt);
		slow_disk_for_test(x);
		int wrc = dn_writer_write(w, pkt->offset, pkt->data, pkt->len, pkt->crcs,
					  pkt->ncrcs);
		if (wrc == -EBADMSG) {
			atomic_fetch_add(&x->crc_errors, 1);
			log_warn("block %" PRIu64 ": checksum mismatch in a packet from %s", id,
				 xc->peer);
		} else if (wrc) {
			log_error("block %" PRIu64 ": cannot store packet at %" PRIu64 ": %s", id,
				  pkt->offset, strerror(-wrc));
		}
		atomic_fetch_add(&x->bytes_written, pkt->len);
		bool last = pkt->flags & PROTO_PKT_LAST;
		if (!wrc && last) {
			uint64_t len = dn_writer_length(w);
			wrc = dn_writer_finalize(w, x->sync_on_close &&
						      !(flags & PROTO_WRITE_NOSYNC));
			finalized = true; /* finalize frees w either way */
			if (!wrc) {
				atomic_fetch_add(&x->blocks_written, 1);
				log_debug("block %" PRIu64 " stored, %" PRIu64 " bytes", id, len);
			}
		}
		if (have_responder)
			ackq_push(&r.q, (struct ackq_item){pkt->seq, wrc, false, last});
		else if (packet_send_ack(xc->fd, h->reqid, pkt->seq, proto_status(wrc),
					 wrc ? 0 : PROTO_NO_NODE))
			wrc = wrc ? wrc : -EPIPE;
		if (wrc || last) {
			rc = wrc;
			break;
		}
	}
	if (have_responder) {
		ackq_push(&r.q, (struct ackq_item){0, 0, true, false});
		pthread_join(rt, NULL);
		pthread_mutex_destroy(&r.q.lock);
		pthread_cond_destroy(&r.q.cond);
		free(r.q.v);
	}
	if (!finalized)
		dn_writer_abort(w);
	if (down >= 0 && !rc && finalized && !r.down_failed)
		connpool_put(&x->idle, down_addr, down); /* every ack came back: in step */
	else if (down >= 0)
		net_close(down);
	free(pkt);
	buf_free(&in);
	return rc;
}

/* ---------- sync on demand ---------- */

static int handle_sync(struct xconn *xc, const struct proto_hdr *h, struct buf *payload)
{
	struct unpack u;
	unpack_init(&u, payload->data, payload->len);
	uint64_t id = unpack_u64(&u), gs = unpack_u64(&u);
	const uint8_t *tok = unpack_raw(&u, TOKEN_LEN);
	if (!unpack_ok(&u))
		return reply_status(xc->fd, h, -EPROTO, "malformed sync request"), -EPROTO;
	if (authorize(xc, h, tok, id, gs, TOKEN_WRITE))
		return 0;
	int rc = xc->x->sync_on_close ? dn_store_sync(xc->x->store, id, gs) : 0;
	if (rc && rc != -ENOENT && rc != -ESTALE)
		log_error("block %" PRIu64 ": cannot sync it to disk: %s", id, strerror(-rc));
	/* the status tells the client; the stream stays in step either way */
	return reply_status(xc->fd, h, rc, rc ? "cannot sync replica" : "") ? -EPIPE : 0;
}

/* ---------- reads ---------- */

static int handle_read(struct xconn *xc, const struct proto_hdr *h, struct buf *payload)
{
	struct dn_xfer *x = xc->x;
	struct unpack u;
	unpack_init(&u, payload->data, payload->len);
	uint64_t id = unpack_u64(&u), gs = unpack_u64(&u);
	uint64_t off = unpack_u64(&u), len = unpack_u64(&u);
	const uint8_t *tok = unpack_raw(&u, TOKEN_LEN);
	if (!unpack_ok(&u))
		return reply_status(xc->fd, h, -EPROTO, "malformed read request"), -EPROTO;
	if (authorize(xc, h, tok, id, gs, TOKEN_READ))
		return 0;
	int dfd = -1, mfd = -1;
	uint64_t rlen;
	int rc = dn_store_open_read(x->store, id, gs, &dfd, &mfd, &rlen);
	if (rc)
		return reply_status(xc->fd, h, rc, rc == -ESTALE ? "replica has another version"
							       : "no such replica"),
		       0;
	if (off > rlen) {
		rc = reply_status(xc->fd, h, -EINVAL, "offset past the end of the block");
		goto out;
	}
	uint64_t end = len && len < rlen - off ? off + len : rlen;
	/* whole chunks, so every byte sent can be verified */
	uint64_t start = off - off % PROTO_CHUNK_SIZE;
	uint64_t cend = end % PROTO_CHUNK_SIZE ? end + PROTO_CHUNK_SIZE - end % PROTO_CHUNK_SIZE : end;
	if (cend > rlen)
		cend = rlen;
	uint8_t lenb[8];
	be64_put(lenb, rlen);
	rc = proto_send(xc->fd, h->type, PROTO_F_REPLY, h->reqid, 0, lenb, sizeof lenb);
	if (rc)
		goto out;
	uint8_t crcb[4 * PACKET_MAX_CRCS];
	uint32_t crcs[PACKET_MAX_CRCS];
	uint64_t seq = 0, pos = start;
	do {
		uint32_t n = (uint32_t)(cend - pos < PROTO_PACKET_SIZE ? cend - pos : PROTO_PACKET_SIZE);
		uint32_t nc = (n + PROTO_CHUNK_SIZE - 1) / PROTO_CHUNK_SIZE;
		ssize_t r = pread(mfd, crcb, 4 * (size_t)nc,
				  (off_t)(DN_META_HDR + 4 * (pos / PROTO_CHUNK_SIZE)));
		if (r != (ssize_t)(4 * (size_t)nc)) {
			log_error("block %" PRIu64 ": checksum file is short; replica damaged", id);
			rc = -EIO;
			goto out;
		}
		for (uint32_t i = 0; i < nc; i++)
			crcs[i] = be32_get(crcb + 4 * i);
		bool last = pos + n >= cend;
		slow_disk_for_test(x);
		rc = packet_send_file(xc->fd, h->reqid, seq++, pos, last ? PROTO_PKT_LAST : 0, dfd,
				      (int64_t)pos, n, crcs);
		if (rc) {
			if (rc == -EIO)
				log_error("block %" PRIu64 ": data file shorter than recorded", id);
			goto out;
		}
		atomic_fetch_add(&x->bytes_read, n);
		pos += n;
	} while (pos < cend);
	atomic_fetch_add(&x->blocks_read, 1);
out:
	close(dfd);
	close(mfd);
	return rc;
}

/* ---------- map outputs (compute/fetch.h) ---------- */

static int handle_fetch(struct xconn *xc, const struct proto_hdr *h, struct buf *payload)
{
	struct dn_xfer *x = xc->x;
	if (!x->shuffle[0] || !x->keys.has_datanode)
		return reply_status(xc->fd, h, -ENOSYS, "this node serves no map outputs") ? -EPIPE
											  : 0;
	uint64_t sent = 0;
	int rc = fetch_serve(xc->fd, h, payload, x->shuffle, x->keys.datanode, &sent);
	atomic_fetch_add(&x->bytes_read, sent);
	return rc;
}

void dn_xfer_set_shuffle_dir(struct dn_xfer *x, const char *dir)
{
	snprintf(x->shuffle, sizeof x->shuffle, "%s", dir);
}

/* ---------- connections ---------- */

static void *conn_main(void *arg)
{
	struct xconn *xc = arg;
	struct dn_xfer *x = xc->x;
	net_set_timeout(xc->fd, 10000); /* handshake deadline */
	int rc = tls_on() ? tls_server(xc->fd) : 0;
	if (rc) {
		log_warn_limited(&x->reject_log, "peer %s: %s", xc->peer, tls_error());
		goto out;
	}
	rc = auth_server_blocking(xc->fd, &x->keys, PROTO_ROLE_DATANODE, &xc->who);
	if (rc) {
		log_warn_limited(&x->reject_log, "peer %s: %s", xc->peer,
				 rc == -EACCES ? "authentication failed: wrong key for the "
						 "role it claimed"
					       : "handshake failed: not a dfs client");
		goto out;
	}
	pthread_mutex_lock(&x->conns_lock);
	xc->authed = true;
	pthread_mutex_unlock(&x->conns_lock);
	net_set_bulk(xc->fd);
	net_set_timeout(xc->fd, 120000);
	struct buf req = BUF_INIT;
	for (;;) {
		struct proto_hdr h;
		pthread_mutex_lock(&x->conns_lock);
		xc->busy = false;
		bool stop = atomic_load(&x->stopping);
		pthread_mutex_unlock(&x->conns_lock);
		if (stop)
			break;
		rc = proto_recv(xc->fd, &h, &req, 64 * 1024);
		pthread_mutex_lock(&x->conns_lock);
		xc->busy = true;
		pthread_mutex_unlock(&x->conns_lock);
		if (rc) {
			if (rc == -EPROTO || rc == -EMSGSIZE)
				log_warn("peer %s: garbage or oversized frame; closing", xc->peer);
			break;
		}
		if (h.type == PROTO_DT_WRITE_BLOCK)
			rc = handle_write(xc, &h, &req);
		else if (h.type == PROTO_DT_READ_BLOCK)
			rc = handle_read(xc, &h, &req);
		else if (h.type == PROTO_DT_SYNC_BLOCK)
			rc = handle_sync(xc, &h, &req);
		else if (h.type == PROTO_DT_FETCH_MAP_OUTPUT)
			rc = handle_fetch(xc, &h, &req);
		else {
			reply_status(xc->fd, &h, -ENOSYS, "unknown request");
			rc = -ENOSYS;
		}
		if (rc)
			break; /* after a failed transfer the stream is out of step */
	}
	buf_free(&req);
out:
	pthread_mutex_lock(&x->conns_lock);
	if (xc->prev)
		xc->prev->next = xc->next;
	else
		x->conns = xc->next;
	if (xc->next)
		xc->next->prev = xc->prev;
	pthread_mutex_unlock(&x->conns_lock);
	net_close(xc->fd);
	atomic_fetch_sub(&x->active, 1);
	free(xc);
	return NULL;
}

/* Shuts the oldest connection still in the handshake (its thread then ends): room for
 * a newcomer. True when one was found. */
static bool drop_oldest_unauth(struct dn_xfer *x, bool only_if_full)
{
	pthread_mutex_lock(&x->conns_lock);
	struct xconn *oldest = NULL;
	uint32_t n = 0;
	for (struct xconn *c = x->conns; c; c = c->next) /* newest first */
		if (!c->authed && !c->dropped) {
			oldest = c;
			n++;
		}
	bool drop = oldest && (!only_if_full || n >= DN_XFER_MAX_UNAUTH);
	if (drop) {
		oldest->dropped = true;
		shutdown(oldest->fd, SHUT_RDWR);
		log_warn_limited(&x->reject_log, "peer %s: dropped, %u connections still in the "
				 "handshake", oldest->peer, n);
	}
	pthread_mutex_unlock(&x->conns_lock);
	return drop;
}

static void *accept_main(void *arg)
{
	struct dn_xfer *x = arg;
	while (!atomic_load(&x->stopping)) {
		int fd = net_accept(x->lfd);
		if (fd < 0) {
			if (atomic_load(&x->stopping))
				break;
			if (fd == -EMFILE || fd == -ENFILE)
				usleep(100000);
			continue;
		}
		drop_oldest_unauth(x, true);
		if (atomic_load(&x->active) >= DN_XFER_MAX_CONNS && !drop_oldest_unauth(x, false)) {
			close(fd); /* refuse rather than grow without limit */
			continue;
		}
		struct xconn *xc = calloc(1, sizeof *xc);
		if (!xc) {
			close(fd);
			continue;
		}
		xc->x = x;
		xc->fd = fd;
		xc->busy = true; /* the handshake */
		net_peer_addr(fd, xc->peer, sizeof xc->peer);
		atomic_fetch_add(&x->active, 1);
		pthread_mutex_lock(&x->conns_lock);
		xc->next = x->conns;
		if (x->conns)
			x->conns->prev = xc;
		x->conns = xc;
		pthread_mutex_unlock(&x->conns_lock);
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		pthread_t t;
		if (pthread_create(&t, &attr, conn_main, xc)) {
			pthread_mutex_lock(&x->conns_lock);
			x->conns = xc->next;
			if (xc->next)
				xc->next->prev = NULL;
			pthread_mutex_unlock(&x->conns_lock);
			atomic_fetch_sub(&x->active, 1);
			close(fd);
			free(xc);
		}
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

int dn_xfer_start(const char *addr, struct dn_store *store, const struct auth_keys *keys,
		  bool sync_on_close, char *bound, size_t boundsz, struct dn_xfer **out)
{
	struct dn_xfer *x = calloc(1, sizeof *x);
	if (!x)
		return -ENOMEM;
	x->store = store;
	x->keys = *keys;
	token_keys_init(&x->tokens);
	x->sync_on_close = sync_on_close;
	atomic_store(&x->down_timeout_ms, 4000);
	connpool_init(&x->idle);
	pthread_mutex_init(&x->conns_lock, NULL);
	x->lfd = net_listen(addr, 512);
	if (x->lfd < 0) {
		int rc = x->lfd;
		token_keys_destroy(&x->tokens);
		free(x);
		return rc;
	}
	net_local_addr(x->lfd, bound, boundsz);
	if (pthread_create(&x->accept_thread, NULL, accept_main, x)) {
		close(x->lfd);
		token_keys_destroy(&x->tokens);
		free(x);
		return -EAGAIN;
	}
	*out = x;
	return 0;
}

uint32_t dn_xfer_active(struct dn_xfer *x) { return atomic_load(&x->active); }

void dn_xfer_set_deadline(struct dn_xfer *x, double stale_s)
{
	unsigned ms = (unsigned)(stale_s * 1000);
	atomic_store(&x->down_timeout_ms, ms < 500 ? 500 : ms);
}

void dn_xfer_set_test_io_delay(struct dn_xfer *x, double s)
{
	atomic_store(&x->io_delay_ms, (unsigned)(s * 1000));
}

void dn_xfer_set_test_corrupt(struct dn_xfer *x, uint32_t every)
{
	atomic_store(&x->corrupt_every, every);
}

void dn_xfer_stats(struct dn_xfer *x, struct dn_xfer_stats *out)
{
	out->bytes_written = atomic_load(&x->bytes_written);
	out->bytes_read = atomic_load(&x->bytes_read);
	out->blocks_written = atomic_load(&x->blocks_written);
	out->blocks_read = atomic_load(&x->blocks_read);
	out->checksum_errors = atomic_load(&x->crc_errors);
	out->pipeline_breaks = atomic_load(&x->pipeline_breaks);
}

bool dn_xfer_stop(struct dn_xfer *x, double timeout_s)
{
	pthread_mutex_lock(&x->conns_lock);
	atomic_store(&x->stopping, true);
	for (struct xconn *c = x->conns; c; c = c->next)
		if (!c->busy) /* waiting for a next request that will not be served */
			shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_unlock(&x->conns_lock);
	shutdown(x->lfd, SHUT_RDWR);
	pthread_join(x->accept_thread, NULL);
	close(x->lfd);
	connpool_close_all(&x->idle);
	for (double waited = 0; atomic_load(&x->active) && waited < timeout_s; waited += 0.01)
		usleep(10000);
	if (atomic_load(&x->active))
		return false; /* connection threads still hold x */
	token_keys_destroy(&x->tokens);
	OPENSSL_cleanse(&x->keys, sizeof x->keys);
	free(x);
	return true;
}
