/*
 * client_write: the block write pipeline of the client library -- files written
 * through dfs_create / dfs_write / dfs_writer_close (`dfs put`), free-standing blocks
 * for copy-on-write (dfs_put_block, the streaming dfs_block_writer, dfs_sync_block),
 * and the recovery that replaces a failed pipeline node.
 *
 * Writer states: NO_BLOCK -> (add_block, connect pipeline: open_block) BLOCK_OPEN ->
 * packets stream with up to WINDOW unacknowledged (pump) -> the block's last packet
 * and all its acks (pump with finish) -> NO_BLOCK (block_done) ... -> dfs_writer_close
 * completes the file with the last block's length and the nodes that stored it. A
 * failure on the way (read_ack, pump, open_block set failed_node) goes to recover:
 * the failed node is excluded, the block abandoned and sent whole down a new pipeline.
 *
 * Threads: a dfs_writer belongs to one thread at a time, and so do its pipeline
 * connection and buffers. Its namenode requests go through client_call (serialised
 * with the other threads' calls). The pool of idle datanode connections (`idle`) is
 * shared by every writer and every thread of the process; connpool locks it.
 */
#include "client.h"
#include "client_int.h"

#include <errno.h>
#include <poll.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "connpool.h"
#include "crc.h"
#include "net.h"
#include "health.h"
#include "packet.h"
#include "tls.h"

#define WINDOW 16 /* packets in flight per pipeline */

/* Datanode write connections whose last block finished cleanly (process-wide). */
static struct connpool idle = CONNPOOL_INITIALIZER;

struct dfs_writer {
	struct dfs_client *c;
	char path[PROTO_PATH_MAX + 1];
	struct dfs_attr attr;
	uint64_t block_size;
	/* the current block's bytes, kept until its whole pipeline acked them, so a
	 * failed pipeline can be replaced and the block sent again */
	struct buf blk;
	size_t sent; /* bytes of blk sent down the pipeline */
	/* the open pipeline */
	bool open;
	uint64_t id, gs, seq, acked;
	uint8_t token[TOKEN_LEN];
	int fd;
	uint32_t nlocs;
	struct dfs_loc *locs;
	int failed_node;           /* index in locs of the node that failed, or -1 */
	/* nodes that failed this writer: never asked for again */
	char (*excluded)[PROTO_ID_MAX + 1];
	uint32_t nexcluded;
	/* the previous (finished) block, reported with the next add_block / complete */
	uint64_t prev_id, prev_len;
	uint32_t prev_n;
	struct dfs_loc *prev_locs;
	int err;
	bool alloc; /* one free-standing block (dfs_put_block), not a file's next block */
	bool fin;   /* the LAST packet of the open pipeline went out */
	bool nosync; /* datanodes finalize without fsync (PROTO_WRITE_NOSYNC) */
	uint64_t health_gen; /* health_generation() when the pipeline was last checked */
	/* an external buffer holding the block instead of blk (it never moves) */
	const uint8_t *ext;
	size_t ext_len;
	/* bytes of the file in blocks before the current one, and the size it will
	 * have (dfs_writer_expect; 0 = unknown): a short last block needs less room */
	uint64_t before, expect;
};

static const uint8_t *wdata(const struct dfs_writer *w)
{
	return w->ext ? w->ext : (const uint8_t *)w->blk.data;
}

static size_t wlen(const struct dfs_writer *w) { return w->ext ? w->ext_len : w->blk.len; }

int dfs_create(struct dfs_client *c, const char *path, uint32_t mode, bool overwrite,
	       uint16_t replication, uint64_t block_size, struct dfs_writer **out)
{
	struct buf req = BUF_INIT;
	struct dfs_attr a;
	char client[64];
	snprintf(client, sizeof client, "dfs-client-%d", (int)getpid());
	pack_str(&req, path);
	pack_u32(&req, mode);
	pack_u8(&req, overwrite ? PROTO_CREATE_OVERWRITE : 0);
	pack_u16(&req, replication);
	pack_u64(&req, block_size);
	pack_str(&req, client);
	int rc = client_call_attr(c, PROTO_CN_CREATE, &req, &a);
	if (rc)
		return rc;
	struct dfs_writer *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->c = c;
	snprintf(w->path, sizeof w->path, "%s", path);
	w->attr = a;
	w->block_size = a.block_size;
	w->fd = -1;
	w->failed_node = -1;
	buf_init(&w->blk);
	*out = w;
	return 0;
}

static void pack_prev(struct buf *req, const struct dfs_writer *w)
{
	pack_u64(req, w->prev_id);
	pack_u64(req, w->prev_len);
	pack_u32(req, w->prev_n);
	for (uint32_t i = 0; i < w->prev_n; i++)
		pack_str(req, w->prev_locs[i].id);
}

/* Connects and authenticates to datanode loc for a write; -EIO (blaming it) or
 * -EACCES on failure, with the error text set. */
static int dn_open(struct dfs_client *c, const struct dfs_loc *loc, int *fdp)
{
	bool connected;
	int rc = client_dn_dial(c, loc->addr, fdp, &connected);
	if (rc && !connected) {
		client_set_err("cannot connect to datanode '%s' at %s: %s", loc->id, loc->addr,
			       tls_on() && (rc == -EACCES || rc == -EPROTO) ? tls_error()
									    : strerror(-rc));
		return -EIO;
	}
	if (rc) {
		client_set_err("datanode '%s' refused the connection: %s", loc->id,
			       rc == -EACCES ? "wrong cluster key" : auth_strerror(rc));
		return rc == -EACCES ? rc : -EIO;
	}
	return 0;
}

/*
 * Which node of w's pipeline a DT_WRITE_BLOCK refusal blames: the reply's u32 after the
 * message (proto.h), the failed node's index from the first node. A reply without it,
 * or with an index past the pipeline, blames the first node.
 */
static int pipeline_failed_index(const struct dfs_writer *w, const struct buf *rep)
{
	struct unpack u;
	unpack_init(&u, rep->data, rep->len);
	(void)unpack_raw(&u, unpack_u32(&u)); /* the message (a str) */
	uint32_t failed = unpack_u32(&u);
	if (!unpack_ok(&u) || failed >= w->nlocs)
		return 0;
	return (int)failed;
}

/* The connection to the first node broke (rc): blames that node. Returns -EIO. */
static int lost_pipeline(struct dfs_writer *w, int rc)
{
	if (rc == -ETIMEDOUT) {
		char why[96];
		snprintf(why, sizeof why, "acknowledged nothing for %.1fs during a write",
			 health_ack_timeout_ms(w->nlocs, w->fin) / 1000.0);
		health_suspect(w->locs[0].id, w->locs[0].addr, why);
		client_set_err("block %" PRIu64 ": datanode '%s' %s", w->id, w->locs[0].id, why);
	} else {
		client_set_err("block %" PRIu64 ": lost the pipeline at datanode '%s': %s", w->id,
			       w->locs[0].id, strerror(-rc));
	}
	w->failed_node = 0;
	return -EIO;
}

/* A pipeline member this process now avoids (health.h: it hung for another reader or
 * writer, or the namenode says it is not live): its index, or -1. Cheap when nothing
 * changed since the last look. */
static int avoided_member(struct dfs_writer *w)
{
	uint64_t g = health_generation();
	if (g == w->health_gen)
		return -1;
	w->health_gen = g;
	for (uint32_t i = 0; i < w->nlocs; i++)
		if (health_avoid(w->locs[i].addr))
			return (int)i;
	return -1;
}

static void close_pipeline(struct dfs_writer *w)
{
	/* a write whose every packet, the last included, was acked leaves the stream in
	 * step: the connection can carry the next block */
	if (w->fd >= 0 && w->open && w->fin && w->acked == w->seq && w->nlocs)
		connpool_put(&idle, w->locs[0].addr, w->fd);
	else if (w->fd >= 0)
		net_close(w->fd);
	w->fd = -1;
	w->open = false;
}

/*
 * Waits until the next ack can be read, at most the pipeline's deadline, in slices
 * between which a member this process now avoids ends the wait at once (the namenode
 * marked it stale while we waited: the mount asks every heartbeat). 0, -ETIMEDOUT, or
 * -EIO with w->failed_node set.
 */
static int wait_ack(struct dfs_writer *w)
{
	bool last = w->fin && w->acked + 1 == w->seq; /* after the replicas' finalize */
	double end = clock_now() + health_ack_timeout_ms(w->nlocs, last) / 1000.0;
	for (;;) {
		if (net_pending(w->fd))
			return 0;
		double left = end - clock_now();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = w->fd, .events = POLLIN};
		int n = poll(&p, 1, left > 0.25 ? 250 : (int)(left * 1000) + 1);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
		int bad = avoided_member(w);
		if (bad >= 0) {
			w->failed_node = bad;
			client_set_err("block %" PRIu64 ": datanode '%s' of the pipeline is avoided now",
				       w->id, w->locs[bad].id);
			return -EIO;
		}
	}
}

/* Reads one ack; on a failure remembers which node failed (w->failed_node). */
static int read_ack(struct dfs_writer *w)
{
	int rc = wait_ack(w);
	if (rc == -EIO)
		return rc;
	if (rc)
		return lost_pipeline(w, rc);
	struct buf in = BUF_INIT;
	struct proto_hdr h;
	rc = proto_recv(w->fd, &h, &in, 4096);
	uint64_t seq = 0;
	int32_t status = 0;
	uint32_t failed = PROTO_NO_NODE;
	if (!rc && h.type != PROTO_DT_ACK)
		rc = -EPROTO;
	if (!rc)
		rc = packet_decode_ack(in.data, in.len, &seq, &status, &failed);
	if (!rc && seq != w->acked)
		rc = -EPROTO;
	buf_free(&in);
	if (rc)
		return lost_pipeline(w, rc);
	if (status) {
		w->failed_node = failed < w->nlocs ? (int)failed : 0;
		rc = proto_errno(status);
		client_set_err("block %" PRIu64 ": datanode '%s' failed to store data: %s", w->id,
			w->locs[w->failed_node].id,
			proto_strerror(rc));
		if (rc != -EBADMSG && rc != -EEXIST && rc != -ESTALE && rc != -EACCES &&
		    rc != -ENOSPC) /* the node, not this block: hung, gone, or its disk failing */
			health_suspect(w->locs[w->failed_node].id, w->locs[w->failed_node].addr,
				       "failed in a write pipeline");
		return -EIO;
	}
	w->acked++;
	return 0;
}

/* How many bytes the block being opened will hold, when known to be fewer than a
 * block (all of it is here, or the file's size was given); 0 = a whole block. */
static uint64_t block_need(const struct dfs_writer *w, bool all_here)
{
	uint64_t n = 0;
	if (all_here)
		n = wlen(w);
	else if (w->expect > w->before)
		n = w->expect - w->before;
	return n && n < w->block_size ? n : 0;
}

/* Asks the namenode for a new block (room for `need` bytes, 0 = a whole block) and
 * connects its pipeline. */
static int open_block(struct dfs_writer *w, uint64_t need)
{
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_u64(&req, w->attr.ino);
	if (!w->alloc)
		pack_prev(&req, w);
	pack_str(&req, w->c->opts.favored);
	size_t head = req.len;
	/* nodes this process avoids now are left out too, unless that leaves too few */
	char avoid[16][PROTO_ID_MAX + 1];
	size_t navoid = health_avoided_ids(avoid, 16);
	int rc;
	for (;;) {
		pack_u32(&req, w->nexcluded + (uint32_t)navoid);
		for (uint32_t i = 0; i < w->nexcluded; i++)
			pack_str(&req, w->excluded[i]);
		for (size_t i = 0; i < navoid; i++)
			pack_str(&req, avoid[i]);
		pack_u64(&req, need);
		rc = client_call(w->c, w->alloc ? PROTO_CN_ALLOC_BLOCK : PROTO_CN_ADD_BLOCK, &req,
				 &rep);
		if (rc != -ENOSPC || !navoid)
			break;
		navoid = 0;
		req.len = head;
	}
	buf_free(&req);
	if (rc) {
		buf_free(&rep);
		return rc;
	}
	struct unpack u;
	unpack_init(&u, rep.data, rep.len);
	w->id = unpack_u64(&u);
	w->gs = unpack_u64(&u);
	(void)unpack_u64(&u);
	(void)unpack_u64(&u);
	free(w->locs);
	rc = client_get_locs(&u, &w->nlocs, &w->locs);
	const void *tok = unpack_raw(&u, TOKEN_LEN);
	if (!rc && !tok)
		rc = -EPROTO;
	if (!rc)
		memcpy(w->token, tok, TOKEN_LEN);
	buf_free(&rep);
	if (rc || !w->nlocs)
		return rc ? rc : -EPROTO;
	w->seq = w->acked = 0;
	w->sent = 0;
	w->fin = false;
	w->failed_node = 0; /* until the pipeline is up, blame its first node */
	pack_u64(&req, w->id);
	pack_u64(&req, w->gs);
	pack_u32(&req, w->nosync ? PROTO_WRITE_NOSYNC : 0);
	pack_raw(&req, w->token, TOKEN_LEN);
	pack_u32(&req, w->nlocs - 1);
	for (uint32_t i = 1; i < w->nlocs; i++) {
		pack_str(&req, w->locs[i].id);
		pack_str(&req, w->locs[i].addr);
	}
	/* a kept connection may have died idle: then try once more on a fresh one */
	for (int fresh = 0; fresh < 2; fresh++) {
		bool kept = !fresh && (w->fd = connpool_take(&idle, w->locs[0].addr)) >= 0;
		if (!kept) {
			fresh = 1;
			rc = dn_open(w->c, &w->locs[0], &w->fd);
			if (rc) {
				buf_free(&req);
				return rc;
			}
		}
		rc = proto_send(w->fd, PROTO_DT_WRITE_BLOCK, 0, 1, 0, req.data, req.len);
		struct proto_hdr h;
		if (!rc)
			rc = proto_recv(w->fd, &h, &rep, 64 * 1024);
		if (rc && kept) {
			close_pipeline(w);
			continue;
		}
		if (!rc && h.status) {
			client_err_from_reply(rep.data, rep.len);
			w->failed_node = pipeline_failed_index(w, &rep);
			rc = -EIO;
		} else if (rc) {
			client_set_err("datanode '%s' dropped the write: %s", w->locs[0].id,
				strerror(-rc));
			rc = -EIO;
		}
		break;
	}
	buf_free(&req);
	buf_free(&rep);
	if (rc) {
		close_pipeline(w);
		return rc;
	}
	/* silence from the pipeline for this long: a member hung (the first node waits
	 * a little less for the others, so that it can name the one that did) */
	net_set_timeout(w->fd, health_ack_timeout_ms(w->nlocs, false));
	w->health_gen = health_generation();
	w->open = true;
	w->failed_node = -1;
	return 0;
}

/* Sends the unsent bytes of the block in packets; `finish` sends the rest even when
 * short and marks the last packet, then waits for every ack. */
static int pump(struct dfs_writer *w, bool finish)
{
	int rc;
	if (!w->open && (rc = open_block(w, block_need(w, finish))))
		return rc;
	uint32_t crcs[PACKET_MAX_CRCS];
	/* with finish, the LAST packet goes out even when every byte went already (then
	 * empty): it is what makes the datanodes finalize the replica */
	while (wlen(w) - w->sent >= PROTO_PACKET_SIZE || (finish && !w->fin)) {
		size_t n = wlen(w) - w->sent;
		if (n > PROTO_PACKET_SIZE)
			n = PROTO_PACKET_SIZE;
		bool last = finish && w->sent + n == wlen(w);
		int bad = avoided_member(w);
		if (bad >= 0) {
			w->failed_node = bad;
			client_set_err("block %" PRIu64 ": datanode '%s' of the pipeline is avoided now",
				       w->id, w->locs[bad].id);
			return -EIO;
		}
		const uint8_t *p = wdata(w) + w->sent;
		crc32c_chunks(p, n, PROTO_CHUNK_SIZE, crcs);
		rc = packet_send(w->fd, 1, w->seq, w->sent, last ? PROTO_PKT_LAST : 0, p,
				 (uint32_t)n, crcs);
		if (rc) {
			rc = lost_pipeline(w, rc);
			/* an error ack may name the node that really failed */
			if (w->acked < w->seq)
				read_ack(w);
			return rc;
		}
		w->seq++;
		w->sent += n;
		w->fin = last;
		while (w->seq - w->acked > (last ? 0 : WINDOW))
			if ((rc = read_ack(w)))
				return rc;
		if (last)
			break;
	}
	return 0;
}

/* Gives the current block up at the namenode. */
static int abandon(struct dfs_writer *w)
{
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_u64(&req, w->attr.ino);
	pack_u64(&req, w->id);
	int rc = client_call(w->c, PROTO_CN_ABANDON, &req, &rep);
	buf_free(&req);
	buf_free(&rep);
	w->id = 0;
	return rc;
}

/*
 * Recovery: the pipeline failed. Drop the failed node for this writer, give the block
 * up at the namenode, and send the whole block again down a new pipeline.
 */
static int recover(struct dfs_writer *w, bool finish)
{
	int rc = -EIO;
	for (int attempt = 0; attempt < 5 && rc == -EIO; attempt++) {
		if (w->failed_node >= 0 && (uint32_t)w->failed_node < w->nlocs) {
			char (*ex)[PROTO_ID_MAX + 1] =
				realloc(w->excluded, (w->nexcluded + 1) * sizeof *ex);
			if (!ex)
				return -ENOMEM;
			w->excluded = ex;
			snprintf(ex[w->nexcluded++], sizeof ex[0], "%s", w->locs[w->failed_node].id);
		}
		close_pipeline(w);
		int arc = abandon(w);
		if (arc)
			return arc;
		rc = pump(w, finish);
	}
	return rc;
}

/* Sends what is due; on a pipeline failure, recovers and sends again. */
static int flush_block(struct dfs_writer *w, bool finish)
{
	char first_err[sizeof client_errmsg];
	int rc = pump(w, finish);
	if (rc != -EIO || w->failed_node < 0)
		return rc;
	snprintf(first_err, sizeof first_err, "%s", client_errmsg);
	rc = recover(w, finish);
	if (rc == -ENOSPC || rc == -EIO)
		client_set_err("%s; no other datanode could take the block", first_err);
	return rc;
}

/* The block is complete on its pipeline: it becomes the previous block. */
static void block_done(struct dfs_writer *w)
{
	close_pipeline(w);
	w->prev_id = w->id;
	w->prev_len = w->blk.len;
	w->before += w->blk.len;
	free(w->prev_locs);
	w->prev_locs = w->locs;
	w->prev_n = w->nlocs;
	w->locs = NULL;
	w->nlocs = 0;
	buf_reset(&w->blk);
	w->sent = 0;
}

int dfs_write(struct dfs_writer *w, const void *data, size_t len)
{
	if (w->err)
		return w->err;
	const uint8_t *p = data;
	while (len) {
		size_t room = (size_t)(w->block_size - w->blk.len);
		size_t n = len < room ? len : room;
		buf_add(&w->blk, p, n);
		p += n;
		len -= n;
		bool full = w->blk.len == w->block_size;
		if (full || w->blk.len - w->sent >= PROTO_PACKET_SIZE) {
			int rc = flush_block(w, full);
			if (rc)
				return w->err = rc;
			if (full)
				block_done(w);
		}
	}
	return 0;
}

static void writer_free(struct dfs_writer *w)
{
	close_pipeline(w);
	free(w->locs);
	free(w->prev_locs);
	free(w->excluded);
	buf_free(&w->blk);
	free(w);
}

void dfs_writer_expect(struct dfs_writer *w, uint64_t total) { w->expect = total; }

int dfs_writer_close(struct dfs_writer *w)
{
	int rc = w->err;
	if (!rc && (w->blk.len || w->open)) {
		rc = flush_block(w, true);
		if (!rc)
			block_done(w);
	}
	if (!rc) {
		struct buf req = BUF_INIT, rep = BUF_INIT;
		pack_u64(&req, w->attr.ino);
		pack_prev(&req, w);
		rc = client_call(w->c, PROTO_CN_COMPLETE, &req, &rep);
		buf_free(&req);
		buf_free(&rep);
	}
	writer_free(w);
	return rc;
}

void dfs_writer_abort(struct dfs_writer *w)
{
	if (w->alloc && w->id) /* a free-standing block: no file will use it */
		abandon(w);
	writer_free(w);
}

int dfs_put_block(struct dfs_client *c, uint64_t ino, const void *data, size_t len, bool sync,
		  struct dfs_stored *out)
{
	memset(out, 0, sizeof *out);
	struct dfs_writer *w;
	int rc = dfs_block_writer(c, ino, data, len, &w);
	if (rc)
		return rc;
	w->ext_len = len; /* all of it, sent in one go */
	return dfs_block_finish(w, sync, out);
}

int dfs_block_extend(struct dfs_writer *w, size_t len)
{
	if (w->err)
		return w->err;
	if (len < w->ext_len || len >= w->block_size)
		return -EINVAL;
	w->ext_len = len;
	if (len - w->sent < PROTO_PACKET_SIZE)
		return 0;
	int rc = flush_block(w, false);
	return rc ? (w->err = rc) : 0;
}

int dfs_block_writer(struct dfs_client *c, uint64_t ino, const void *base, uint64_t max_len,
		     struct dfs_writer **out)
{
	struct dfs_writer *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->c = c;
	w->attr.ino = ino;
	w->block_size = max_len + 1; /* never "full": dfs_block_finish ends it */
	w->fd = -1;
	w->failed_node = -1;
	w->alloc = true;
	w->ext = base;
	buf_init(&w->blk);
	*out = w;
	return 0;
}

int dfs_block_finish(struct dfs_writer *w, bool sync, struct dfs_stored *out)
{
	memset(out, 0, sizeof *out);
	if (!w->open && !w->id)
		w->nosync = !sync; /* nothing sent yet: the pipeline opens now */
	int rc = w->err;
	if (!rc)
		rc = flush_block(w, true);
	if (rc) {
		dfs_writer_abort(w); /* no file will use the block */
		return rc;
	}
	close_pipeline(w); /* keeps the connection for the next block */
	out->id = w->id;
	out->genstamp = w->gs;
	memcpy(out->token, w->token, TOKEN_LEN);
	out->n = w->nlocs;
	out->nodes = w->locs; /* taken */
	w->locs = NULL;
	w->nlocs = 0;
	writer_free(w);
	return 0;
}

int dfs_sync_block(struct dfs_client *c, const struct dfs_block *b)
{
	if (!b->id)
		return 0; /* a hole */
	uint8_t req[16 + TOKEN_LEN];
	be64_put(req, b->id);
	be64_put(req + 8, b->genstamp);
	memcpy(req + 16, b->token, TOKEN_LEN);
	int synced = 0, rc = b->nlocs ? 0 : -EIO;
	bool refreshed = false;
	for (uint32_t i = 0; i < b->nlocs; i++) {
		int fd = connpool_take(&idle, b->locs[i].addr), one;
		if (fd < 0 && (one = dn_open(c, &b->locs[i], &fd))) {
			rc = one;
			continue;
		}
		struct proto_hdr h;
		struct buf rep = BUF_INIT;
		one = proto_send(fd, PROTO_DT_SYNC_BLOCK, 0, 1, 0, req, sizeof req);
		if (!one)
			one = proto_recv(fd, &h, &rep, 64 * 1024);
		if (!one && h.type != PROTO_DT_SYNC_BLOCK)
			one = -EPROTO;
		if (!one) {
			connpool_put(&idle, b->locs[i].addr, fd); /* in step whatever the status */
			one = proto_errno(h.status);
		} else {
			net_close(fd);
		}
		buf_free(&rep);
		if (one == -EACCES && !refreshed) { /* the token expired: get a new one */
			refreshed = true;
			if (!dfs_block_token(c, b->id, b->genstamp, TOKEN_WRITE, req + 16)) {
				i--;
				continue;
			}
		}
		if (one) {
			client_set_err("block %" PRIu64 ": datanode '%s' could not sync it: %s", b->id,
				b->locs[i].id, strerror(-one));
			rc = one;
		} else {
			synced++;
		}
	}
	/* a replica that vanished meanwhile is the namenode's to replace */
	return synced ? 0 : rc;
}

void dfs_stored_free(struct dfs_stored *s)
{
	free(s->nodes);
	s->nodes = NULL;
	s->n = 0;
}

