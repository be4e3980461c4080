/*
 * client_read: verified reads of the client library -- whole files (dfs_open,
 * dfs_read_to_fd: `dfs get`, `dfs cat`), ranges (dfs_pread: the mount) and single
 * blocks (dfs_read_block). Every chunk is checked against its CRC32C; a replica that
 * fails (unreachable, short, corrupt, missing) is reported to the namenode when it is
 * bad and the read goes on from the next replica where the last one stopped. An
 * expired block token is fetched again once per block.
 *
 * Threads: a dfs_reader belongs to one thread at a time, and so do its few kept
 * datanode connections (conns[]); its namenode requests (block lists, tokens, bad
 * replica reports) go through client_call (serialised with the other threads').
 */
#include "client.h"
#include "client_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc.h"
#include "health.h"
#include "net.h"
#include "packet.h"

#define READER_CONNS 4

struct dfs_reader {
	struct dfs_client *c;
	struct dfs_blocks blocks;
	int fd; /* the datanode connection in use: one of conns[] */
	/* connections kept to the last few datanodes read from */
	struct {
		int fd;
		char addr[PROTO_ADDR_MAX + 1];
	} conns[READER_CONNS];
	unsigned next; /* the slot to reuse next */
	struct buf in;
	/* a token fetched again (the one in the block had expired) */
	uint64_t fresh_id, fresh_gs;
	uint8_t fresh_token[TOKEN_LEN];
};

static void reader_init_conns(struct dfs_reader *r)
{
	r->fd = -1;
	for (int i = 0; i < READER_CONNS; i++)
		r->conns[i].fd = -1;
}

/* Closes the connection in use (after an error: it is out of step). */
static void reader_drop_fd(struct dfs_reader *r)
{
	for (int i = 0; i < READER_CONNS; i++)
		if (r->conns[i].fd == r->fd)
			r->conns[i].fd = -1;
	if (r->fd >= 0)
		net_close(r->fd);
	r->fd = -1;
}

int dfs_open(struct dfs_client *c, const char *path, struct dfs_reader **out)
{
	struct dfs_reader *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	int rc = dfs_get_blocks(c, path, 0, 0, &r->blocks);
	if (rc) {
		free(r);
		return rc;
	}
	r->c = c;
	reader_init_conns(r);
	buf_init(&r->in);
	*out = r;
	return 0;
}

const struct dfs_attr *dfs_reader_attr(const struct dfs_reader *r) { return &r->blocks.attr; }

void dfs_reader_close(struct dfs_reader *r)
{
	if (!r)
		return;
	for (int i = 0; i < READER_CONNS; i++)
		if (r->conns[i].fd >= 0)
			net_close(r->conns[i].fd);
	dfs_blocks_free(&r->blocks);
	buf_free(&r->in);
	free(r);
}

/* Connects r to the replica at loc: a kept connection to it when there is one (*kept
 * set), else a new one. */
static int dn_connect(struct dfs_reader *r, const struct dfs_loc *loc, bool *kept)
{
	*kept = false;
	for (int i = 0; i < READER_CONNS; i++)
		if (r->conns[i].fd >= 0 && !strcmp(r->conns[i].addr, loc->addr)) {
			r->fd = r->conns[i].fd;
			*kept = true;
			return 0;
		}
	int fd;
	bool connected;
	int rc = client_dn_dial(r->c, loc->addr, &fd, &connected);
	if (rc)
		return rc;
	unsigned k = r->next++ % READER_CONNS;
	if (r->conns[k].fd >= 0)
		net_close(r->conns[k].fd);
	r->conns[k].fd = fd;
	snprintf(r->conns[k].addr, sizeof r->conns[k].addr, "%s", loc->addr);
	r->fd = fd;
	return 0;
}

/* Errors that say the node (not one replica on it) is unwell: hung, gone, refusing. */
static bool dn_down(int rc)
{
	return rc == -ETIMEDOUT || rc == -ECONNREFUSED || rc == -ECONNRESET || rc == -EPIPE ||
	       rc == -EHOSTUNREACH;
}

typedef int (*sink_fn)(void *arg, const uint8_t *data, size_t len);

/*
 * Reads [off, off+len) of block b from one replica, verifying every chunk, passing the
 * requested bytes to sink in order. Returns 0, or -errno with nothing guaranteed about
 * how much reached the sink (*sent says how many bytes did).
 */
static int read_replica(struct dfs_reader *r, const struct dfs_block *b, const struct dfs_loc *loc,
			uint64_t off, uint64_t len, sink_fn sink, void *arg, uint64_t *sent)
{
	*sent = 0;
	uint8_t req[32 + TOKEN_LEN];
	be64_put(req, b->id);
	be64_put(req + 8, b->genstamp);
	be64_put(req + 16, off);
	be64_put(req + 24, len);
	bool fresh = r->fresh_id == b->id && r->fresh_gs == b->genstamp;
	memcpy(req + 32, fresh ? r->fresh_token : b->token, TOKEN_LEN);
	struct proto_hdr h;
	int rc;
	/* a kept connection may have been closed while idle (the datanode's idle timeout):
	 * then once more on a new one */
	for (int attempt = 0;; attempt++) {
		bool kept;
		if ((rc = dn_connect(r, loc, &kept)))
			return rc;
		rc = proto_send(r->fd, PROTO_DT_READ_BLOCK, 0, 1, 0, req, sizeof req);
		if (!rc)
			rc = proto_recv(r->fd, &h, &r->in, 64 * 1024);
		if (!rc || !kept || attempt || rc == -ETIMEDOUT) /* silence is no idle close */
			break;
		reader_drop_fd(r);
	}
	if (!rc && h.status) {
		rc = proto_errno(h.status); /* connection still in step */
		if (rc == -EACCES) /* the datanode says why */
			client_err_from_reply(r->in.data, r->in.len);
		return rc;
	}
	if (rc)
		goto broken;
	struct packet *p = malloc(sizeof *p);
	if (!p)
		return -ENOMEM;
	uint64_t end = off + len;
	for (;;) {
		rc = proto_recv(r->fd, &h, &r->in, PROTO_MAX_DATA);
		if (!rc && (h.type != PROTO_DT_PACKET || packet_decode(r->in.data, r->in.len, p)))
			rc = -EPROTO;
		if (rc)
			break;
		long bad = crc32c_verify(p->data, p->len, PROTO_CHUNK_SIZE, p->crcs);
		if (bad >= 0) {
			rc = -EBADMSG;
			break;
		}
		/* deliver the overlap of [p->offset, +len) with [off + sent, end) */
		uint64_t want = off + *sent;
		uint64_t pend = p->offset + p->len;
		if (pend > want && p->offset <= want) {
			uint64_t n = (pend < end ? pend : end) - want;
			rc = sink(arg, p->data + (want - p->offset), (size_t)n);
			if (rc)
				break;
			*sent += n;
		}
		if (p->flags & PROTO_PKT_LAST)
			break;
	}
	free(p);
	if (!rc && *sent < len)
		rc = -EIO; /* replica shorter than the namenode says */
	if (!rc)
		return 0;
broken:
	reader_drop_fd(r);
	return rc;
}

/* Reads a range of one block from the first replica that serves it whole. */
static int read_block(struct dfs_reader *r, const struct dfs_block *b, uint64_t off,
		      uint64_t len, sink_fn sink, void *arg)
{
	if (!b->id) { /* a hole */
		static const uint8_t zeros[64 * 1024];
		while (len) {
			size_t n = len < sizeof zeros ? (size_t)len : sizeof zeros;
			int rc = sink(arg, zeros, n);
			if (rc)
				return rc;
			len -= n;
		}
		return 0;
	}
	if (!b->nlocs) {
		client_set_err("block %" PRIu64 " has no live replica", b->id);
		return -EIO;
	}
	int rc = -EIO;
	uint64_t done = 0;
	char first[sizeof client_errmsg] = "";
	bool refreshed = false;
	/* the namenode's order (nearest first), but nodes this process avoids last */
	uint32_t order[PROTO_REPL_MAX], n = 0;
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < b->nlocs && n < PROTO_REPL_MAX; i++)
			if (health_avoid(b->locs[i].addr) == (pass == 1))
				order[n++] = i;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = order[k];
		uint64_t sent;
		rc = read_replica(r, b, &b->locs[i], off + done, len - done, sink, arg, &sent);
		done += sent;
		if (!rc)
			return 0;
		if (dn_down(rc)) {
			char why[96];
			if (rc == -ETIMEDOUT)
				snprintf(why, sizeof why, "sent nothing for %.1fs during a read",
					 health_read_timeout_ms() / 1000.0);
			else
				snprintf(why, sizeof why, "failed a read: %s", strerror(-rc));
			health_suspect(b->locs[i].id, b->locs[i].addr, why);
		}
		if (rc == -EACCES) {
			/* the token expired, or a restarted namenode has new keys: ask again */
			char why[256];
			snprintf(why, sizeof why, "%.200s", client_errmsg);
			int trc = refreshed ? -EACCES
					    : dfs_block_token(r->c, b->id, b->genstamp, TOKEN_READ,
							      r->fresh_token);
			if (!refreshed && !trc) {
				refreshed = true;
				r->fresh_id = b->id;
				r->fresh_gs = b->genstamp;
				k--;
				continue;
			}
			client_set_err("block %" PRIu64 ": datanode '%s' refused the read: %s", b->id,
				b->locs[i].id, why);
			if (!refreshed)
				return trc; /* no new token: the namenode said why */
		} else {
			if (rc == -EBADMSG || rc == -ENOENT)
				dfs_bad_block(r->c, b->id, b->genstamp, b->locs[i].id,
					      rc == -EBADMSG ? PROTO_BAD_CHECKSUM
							     : PROTO_BAD_MISSING);
			client_set_err("block %" PRIu64 ": replica on datanode '%s' failed: %s", b->id,
				b->locs[i].id,
				proto_strerror(rc));
		}
		if (!first[0])
			snprintf(first, sizeof first, "%s", client_errmsg);
	}
	if (b->nlocs > 1)
		client_set_err("block %" PRIu64 ": every replica failed (first: %s)", b->id, first);
	return rc == -ENOENT || rc == -EBADMSG ? -EIO : rc;
}

struct membuf {
	uint8_t *p;
};

static int to_mem(void *arg, const uint8_t *data, size_t len)
{
	struct membuf *m = arg;
	memcpy(m->p, data, len);
	m->p += len;
	return 0;
}

int dfs_reader_new(struct dfs_client *c, struct dfs_reader **out)
{
	struct dfs_reader *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->c = c;
	reader_init_conns(r);
	buf_init(&r->in);
	*out = r;
	return 0;
}

int dfs_read_block(struct dfs_reader *r, const struct dfs_block *b, uint64_t off,
		   uint64_t len, void *buf)
{
	if (off > b->length || len > b->length - off)
		return -EINVAL;
	struct membuf m = {buf};
	return read_block(r, b, off, len, to_mem, &m);
}

ssize_t dfs_pread(struct dfs_reader *r, void *buf, size_t len, uint64_t off)
{
	uint64_t size = r->blocks.attr.size;
	if (off >= size || !len)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);
	struct membuf m = {buf};
	size_t done = 0;
	for (size_t i = 0; i < r->blocks.n && done < len; i++) {
		const struct dfs_block *b = &r->blocks.v[i];
		uint64_t pos = off + done;
		if (pos < b->offset || pos >= b->offset + b->length)
			continue;
		uint64_t in = pos - b->offset;
		uint64_t n = b->length - in < len - done ? b->length - in : len - done;
		int rc = read_block(r, b, in, n, to_mem, &m);
		if (rc)
			return rc;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

struct fdsink {
	int fd;
	uint64_t done;
	void (*progress)(void *arg, uint64_t done);
	void *arg;
};

static int to_fd(void *arg, const uint8_t *data, size_t len)
{
	struct fdsink *s = arg;
	while (len) {
		ssize_t w = write(s->fd, data, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			client_set_err("cannot write output: %s", strerror(e));
			return -e;
		}
		data += w;
		len -= (size_t)w;
		s->done += (uint64_t)w;
	}
	if (s->progress)
		s->progress(s->arg, s->done);
	return 0;
}

int dfs_read_to_fd(struct dfs_reader *r, int fd, void (*progress)(void *arg, uint64_t done),
		   void *arg)
{
	struct fdsink s = {fd, 0, progress, arg};
	for (size_t i = 0; i < r->blocks.n; i++) {
		const struct dfs_block *b = &r->blocks.v[i];
		if (!b->length)
			continue;
		/* a replica failing midway is resumed from the next one (read_block) */
		int rc = read_block(r, b, 0, b->length, to_fd, &s);
		if (rc)
			return rc;
	}
	return 0;
}

