/*
 * server: namenode RPC over the ev loop. Loop thread only; no locks.
 *
 * Connection states: HANDSHAKE (HELLO sent, waiting for AUTH; frames capped at
 * PROTO_MAX_HANDSHAKE) -> READY (conn_auth) -> closed (conn_close). A connection whose
 * peer registered as a datanode (on_register) is that node's control channel; losing it
 * without DN_BYE marks the node dead at once (nn_dns_lost).
 *
 * Replies are appended to conn.out; `safe` counts the bytes of out that may be sent:
 * the before-sleep hook (turn_end) syncs the namespace, then marks every queued byte
 * safe and flushes, so no client hears of a change before it is durable.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blockmap.h"
#include "datanodes.h"
#include "ev.h"
#include "fsutil.h"
#include "log.h"
#include "net.h"
#include "ns.h"
#include "pack.h"
#include "proto.h"
#include "jobs.h"
#include "locks.h"
#include "perm.h"
#include "client.h"
#include "http.h"
#include "json.h"
#include "trash.h"
#include "replication.h"
#include "tls.h"
#include "token.h"
#include <openssl/crypto.h>

/* C_TLS: the TLS handshake (tls.h; only with TLS on), then the dfs handshake */
enum conn_state { C_TLS, C_HANDSHAKE, C_READY };

struct conn {
	int fd;
	enum conn_state state;
	struct auth_server auth;
	struct auth_peer peer;
	struct nn_cred cred; /* who the peer is, for permission checks (perm.h) */
	struct buf in, out;
	size_t safe;      /* bytes of out that may be written */
	bool queued;      /* in the server's flush list */
	bool closing;     /* close once out is written */
	bool said_bye;
	double accepted;    /* ev_now() at accept: the handshake deadline runs from here */
	double frame_since; /* a frame has been arriving since then (0: none pending) */
	int dn;           /* datanode index when a datanode's control channel, else -1 */
	char peer_addr[64], peer_host[64];
	uint64_t *writing; /* inodes this client created and has not completed: its leases */
	uint32_t nwriting, capwriting;
	uint64_t id;       /* unique per connection: its lock session */
	uint64_t *pending; /* blocks from CN_ALLOC_BLOCK not yet used by a CN_UPDATE */
	struct nn_ns_dump *dump; /* a backup being read (CN_BACKUP) */
	uint32_t npending, cappending;
	struct conn *prev, *next;
};

/* A writer's connection closed with the file still open: recovered at `deadline`. */
struct orphan {
	uint64_t ino;
	double deadline;
};

struct nn_server {
	struct cfg cfg;
	struct auth_keys keys;
	struct token_keys tokens; /* block keys (token.h), rolled by on_tick */
	struct ev_loop *loop;
	int lfd;
	struct nn_ns *ns;
	struct nn_blockmap *bm;
	struct nn_dns dns;
	struct conn *conns;
	uint32_t nconns;
	struct conn **flush;
	size_t nflush, capflush;
	struct conn **dn_conn; /* by datanode index */
	uint32_t dn_conn_cap;
	double last_sync;
	uint32_t nunauth; /* connections still in the handshake */
	double trash_last; /* the last trash checkpoint (trash.h) */
	struct log_limit reject_log;
	struct nn_repl *repl;
	bool repl_dirty;       /* something changed that may need copies or deletions */
	double repl_last;      /* last scheduling pass */
	struct orphan *orphans;  /* leases of writers that went away (recover_leases) */
	uint32_t norphans, caporphans;
	bool safe_mode;        /* read-only, no replication decisions (see check_safe_mode) */
	bool safe_manual;      /* entered by an administrator: left only by one */
	double started;
	uint64_t rpc_count[256];
	double rpc_seconds[256];  /* time spent handling each request type */
	uint64_t heartbeats;
	struct http *http;        /* status page and metrics, or NULL */
	struct nn_locks locks;
	uint64_t next_conn_id;
	struct nn_jobs *jobs;
	struct waiter *waiters; /* CN_JOB_STATUS calls waiting for their job to end */
	uint32_t nwaiters, capwaiters;
};

/* A client waiting (CN_JOB_STATUS with wait_ms) for a job to end. */
struct waiter {
	struct conn *c;
	uint64_t reqid;
	char job[JOB_ID_MAX + 1];
	double deadline;
};

/* Rejected peers are logged at a bounded rate (common/log.h). */
#define log_reject(s, ...) log_warn_limited(&(s)->reject_log, __VA_ARGS__)

/* ---------- replies ---------- */

static void queue_flush(struct nn_server *s, struct conn *c)
{
	if (c->queued)
		return;
	if (s->nflush == s->capflush) {
		size_t cap = s->capflush ? s->capflush * 2 : 64;
		struct conn **f = realloc(s->flush, cap * sizeof *f);
		if (!f)
			abort();
		s->flush = f;
		s->capflush = cap;
	}
	s->flush[s->nflush++] = c;
	c->queued = true;
}

static void reply(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		  const struct buf *payload)
{
	proto_frame(&c->out, h->type, PROTO_F_REPLY, h->reqid, 0, payload->data, payload->len);
	queue_flush(s, c);
}

/* A success reply without payload. */
static void reply_ok(struct nn_server *s, struct conn *c, const struct proto_hdr *h)
{
	proto_frame(&c->out, h->type, PROTO_F_REPLY, h->reqid, 0, NULL, 0);
	queue_flush(s, c);
}

static void reply_err(struct nn_server *s, struct conn *c, const struct proto_hdr *h, int rc,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void reply_err(struct nn_server *s, struct conn *c, const struct proto_hdr *h, int rc,
		      const char *fmt, ...)
{
	struct buf msg = BUF_INIT, p = BUF_INIT;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		buf_vprintf(&msg, fmt, ap);
		va_end(ap);
	}
	pack_str(&p, msg.data);
	proto_frame(&c->out, h->type, PROTO_F_REPLY, h->reqid, proto_status(rc), p.data, p.len);
	queue_flush(s, c);
	buf_free(&msg);
	buf_free(&p);
}

static void pack_attr(struct buf *b, const struct nn_attr *a)
{
	pack_u64(b, a->ino);
	pack_u8(b, a->type);
	pack_u32(b, a->mode);
	pack_u32(b, a->uid);
	pack_u32(b, a->gid);
	pack_u32(b, a->nlink);
	pack_u64(b, a->size);
	pack_i64(b, a->mtime);
	pack_i64(b, a->atime);
	pack_i64(b, a->ctime);
	pack_u16(b, a->replication);
	pack_u64(b, a->block_size);
	pack_u32(b, a->rdev);
	pack_u8(b, a->flags);
}

static void reply_attr(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		       const struct nn_attr *a)
{
	struct buf p = BUF_INIT;
	pack_attr(&p, a);
	reply(s, c, h, &p);
	buf_free(&p);
}

/* ---------- block bookkeeping ---------- */

/* Forgets blocks no file uses and tells their holders to delete them. */
static void release_blocks(struct nn_server *s, struct nn_blocks *freed)
{
	for (size_t i = 0; i < freed->n; i++) {
		struct nn_block *b = nn_blockmap_get(s->bm, freed->v[i].id);
		if (!b)
			continue;
		for (uint16_t r = 0; r < b->nrep; r++)
			nn_dns_queue_delete(&s->dns, b->reps[r], b->id, b->gs);
		nn_blockmap_remove(s->bm, freed->v[i].id);
	}
	nn_blocks_free(freed);
}

/* Records the datanodes a client says stored block id (its pipeline acked). */
static int note_stored(struct nn_server *s, struct unpack *u, uint64_t id, uint64_t len,
		       bool finished)
{
	uint32_t n = unpack_count(u, 4);
	struct nn_block *b = id ? nn_blockmap_get(s->bm, id) : NULL;
	for (uint32_t i = 0; i < n; i++) {
		char dn[PROTO_ID_MAX + 1];
		unpack_str(u, dn, sizeof dn);
		int idx = nn_dns_find(&s->dns, dn);
		if (b && idx >= 0 && s->dns.v[idx].connected)
			nn_block_add_replica(b, (uint32_t)idx);
	}
	if (b) {
		b->len = len;
		if (finished)
			b->flags &= (uint8_t)~NN_BLOCK_UC;
	}
	return unpack_ok(u) ? 0 : -EPROTO;
}

static void pack_loc(struct buf *p, const struct nn_dn *d)
{
	pack_str(p, d->id);
	pack_str(p, d->addr);
}

/* ---------- block access tokens (common/token.h) ---------- */

static int64_t token_life_ms(const struct nn_server *s)
{
	return (int64_t)(s->cfg.block_token_lifetime * 1000);
}

static int64_t key_interval_ms(const struct nn_server *s)
{
	return (int64_t)(s->cfg.block_key_interval * 1000);
}

/* Appends the token for block (id, gs) in modes, minted for c's user. */
static void pack_token(struct nn_server *s, struct buf *p, const struct conn *c, uint64_t id,
		       uint64_t gs, uint8_t modes)
{
	uint8_t tok[TOKEN_LEN];
	token_mint(&s->tokens, id, gs, modes, c->peer.uid, token_now_ms(), token_life_ms(s),
		   tok);
	pack_raw(p, tok, sizeof tok);
}

/* Queues the block keys to datanode connection c (unsolicited NN_BLOCK_KEYS). */
static void send_block_keys(struct nn_server *s, struct conn *c)
{
	struct buf p = BUF_INIT;
	token_keys_pack(&s->tokens, &p);
	proto_frame(&c->out, PROTO_NN_BLOCK_KEYS, 0, 0, 0, p.data, p.len);
	queue_flush(s, c);
	buf_free(&p);
}

/* Rolls the block keys when due and sends the new set to every datanode. */
static void roll_block_keys(struct nn_server *s)
{
	if (!token_keys_roll(&s->tokens, token_now_ms(), key_interval_ms(s), token_life_ms(s)))
		return;
	log_debug("block keys rolled over; sending them to the datanodes");
	for (uint32_t i = 0; i < s->dns.n && i < s->dn_conn_cap; i++)
		if (s->dn_conn[i] && !s->dn_conn[i]->closing)
			send_block_keys(s, s->dn_conn[i]);
}

/* ---------- client operations ---------- */

static void new_owner(const struct conn *c, struct unpack *u, uint32_t *uid, uint32_t *gid);
static bool pending_take(struct conn *c, uint64_t id);

/* The caller's identity for permission checks: the superuser is uid 0 or the
 * `superuser` setting; datanodes and every caller when checks are off pass too. */
static struct nn_cred cred_of(const struct nn_server *s, const struct auth_peer *p)
{
	struct nn_cred c = {p->uid, p->gid, false};
	c.super = !s->cfg.permissions || p->uid == 0 ||
		  (s->cfg.superuser && p->uid == s->cfg.superuser) ||
		  p->role != PROTO_ROLE_CLIENT;
	return c;
}

/* Replies with rc and returns true when a permission check (perm.h) failed. */
static bool denied(struct nn_server *s, struct conn *c, const struct proto_hdr *h, int rc)
{
	if (!rc)
		return false;
	reply_err(s, c, h, rc, NULL);
	return true;
}

static int perm_setattr(struct nn_server *s, struct conn *c, const char *path, uint32_t valid,
			uint32_t uid, uint32_t gid)
{
	int rc = nn_perm_path(s->ns, path, &c->cred, 0, 0);
	struct nn_attr a;
	if (rc || c->cred.super || nn_ns_stat(s->ns, path, &a))
		return rc;
	return nn_perm_setattr(&a, &c->cred, valid, uid, gid);
}

/* Extended attributes: the user namespace by the file's permissions, the others
 * (trusted., security., system.) by the superuser only. */
static int perm_xattr(struct nn_server *s, struct conn *c, const char *path, const char *name,
		      int want)
{
	if (!c->cred.super && strncmp(name, "user.", 5))
		return -EPERM;
	return nn_perm_path(s->ns, path, &c->cred, 0, want);
}

static int perm_ino(struct nn_server *s, struct conn *c, uint64_t ino, int want)
{
	struct nn_attr a;
	if (c->cred.super || nn_ns_stat_ino(s->ns, ino, &a))
		return 0;
	return nn_perm_ok(&a, &c->cred, want) ? 0 : -EACCES;
}

static void op_mkdir(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		     struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	uint32_t mode = unpack_u32(u);
	uint8_t flags = unpack_u8(u);
	uint32_t uid, gid;
	new_owner(c, u, &uid, &gid);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, (flags & PROTO_MKDIR_PARENTS) ? nn_perm_mkdirs(s->ns, path, &c->cred)
						       : nn_perm_path(s->ns, path, &c->cred, NN_W | NN_X, 0)))
		return;
	struct nn_attr a;
	int rc = nn_ns_mkdir(s->ns, path, mode, flags & PROTO_MKDIR_PARENTS, uid, gid, &a);
	if (rc)
		return reply_err(s, c, h, rc, NULL);
	reply_attr(s, c, h, &a);
}

/* ---------- leases ----------
 * One writer per file: the connection that created it holds its lease (conn.writing)
 * until it completes it. When that connection goes away with the file still open, the
 * file becomes an orphan; lease_timeout later recover_leases closes it at the length
 * its datanodes stored: the last block keeps the length of its finalized replicas, or
 * is dropped when none finalized, so what the writer had fully written stays. */

static void lease_add(struct conn *c, uint64_t ino)
{
	if (c->nwriting == c->capwriting) {
		c->capwriting = c->capwriting ? c->capwriting * 2 : 4;
		c->writing = realloc(c->writing, c->capwriting * sizeof *c->writing);
		if (!c->writing)
			abort();
	}
	c->writing[c->nwriting++] = ino;
}

static void lease_drop(struct conn *c, uint64_t ino)
{
	for (uint32_t i = 0; i < c->nwriting; i++)
		if (c->writing[i] == ino) {
			c->writing[i] = c->writing[--c->nwriting];
			return;
		}
}

static void leases_orphaned(struct nn_server *s, struct conn *c)
{
	for (uint32_t i = 0; i < c->nwriting; i++) {
		if (s->norphans == s->caporphans) {
			s->caporphans = s->caporphans ? s->caporphans * 2 : 16;
			s->orphans = realloc(s->orphans, s->caporphans * sizeof *s->orphans);
			if (!s->orphans)
				abort();
		}
		s->orphans[s->norphans++] =
			(struct orphan){c->writing[i], ev_now() + s->cfg.lease_timeout};
	}
	free(c->writing);
	c->writing = NULL;
	c->nwriting = c->capwriting = 0;
}

static void release_blocks(struct nn_server *s, struct nn_blocks *freed);

static void recover_file(struct nn_server *s, uint64_t ino)
{
	struct nn_attr a;
	if (nn_ns_stat_ino(s->ns, ino, &a) || a.type != PROTO_T_FILE ||
	    !(a.flags & PROTO_A_UNDER_CONSTRUCTION))
		return; /* gone, or completed meanwhile */
	struct nn_blocks bl = {0};
	nn_ns_blocks(s->ns, ino, 0, 0, &bl);
	uint64_t last = 0, len = 0;
	if (bl.n) {
		struct nn_blockrec *r = &bl.v[bl.n - 1];
		struct nn_block *b = nn_blockmap_get(s->bm, r->id);
		if (b && b->nrep) {
			last = r->id;
			len = b->len;
		} else {
			struct nn_blocks freed = {0};
			nn_ns_abandon_block(s->ns, ino, r->id, &freed);
			release_blocks(s, &freed);
			if (bl.n > 1) {
				last = bl.v[bl.n - 2].id;
				len = bl.v[bl.n - 2].len;
			}
		}
	}
	nn_blocks_free(&bl);
	struct nn_attr done;
	int rc = nn_ns_complete(s->ns, ino, last, len, &done);
	if (rc) {
		log_error("lease recovery of inode %llu failed: %s", (unsigned long long)ino,
			  strerror(-rc));
		return;
	}
	struct nn_block *b = last ? nn_blockmap_get(s->bm, last) : NULL;
	if (b)
		b->flags &= (uint8_t)~NN_BLOCK_UC;
	log_info("recovered the lease of inode %llu: its writer went away; closed at %llu bytes",
		 (unsigned long long)ino, (unsigned long long)done.size);
}

static void recover_leases(struct nn_server *s)
{
	double now = ev_now();
	for (uint32_t i = 0; i < s->norphans;) {
		if (s->orphans[i].deadline > now || s->safe_mode) {
			i++;
			continue;
		}
		uint64_t ino = s->orphans[i].ino;
		s->orphans[i] = s->orphans[--s->norphans];
		recover_file(s, ino);
	}
}

static bool block_size_ok(uint64_t bs)
{
	return bs == 0 || (bs % PROTO_CHUNK_SIZE == 0 && bs <= (1ULL << 40));
}

static void op_create(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		      struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1], client[256];
	unpack_str(u, path, sizeof path);
	uint32_t mode = unpack_u32(u);
	uint8_t flags = unpack_u8(u);
	uint16_t repl = unpack_u16(u);
	uint64_t bs = unpack_u64(u);
	unpack_str(u, client, sizeof client);
	uint32_t uid, gid;
	new_owner(c, u, &uid, &gid);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, NN_W | NN_X,
					 (flags & PROTO_CREATE_OVERWRITE) ? NN_W : 0)))
		return;
	if (repl > PROTO_REPL_MAX)
		return reply_err(s, c, h, -EINVAL, "replication %u is out of range 1..%d", repl,
				 PROTO_REPL_MAX);
	if (!block_size_ok(bs))
		return reply_err(s, c, h, -EINVAL,
				 "block size %llu is not a multiple of %u (64K)",
				 (unsigned long long)bs, PROTO_CHUNK_SIZE);
	struct nn_attr a;
	struct nn_blocks freed = {0};
	int rc = nn_ns_create(s->ns, path, mode, flags & PROTO_CREATE_OVERWRITE, repl, bs,
			      uid, gid, &a, &freed);
	release_blocks(s, &freed);
	if (!rc && (flags & PROTO_CREATE_CLOSED))
		rc = nn_ns_complete(s->ns, a.ino, 0, 0, &a); /* same group commit */
	else if (!rc)
		lease_add(c, a.ino);
	if (rc)
		return reply_err(s, c, h, rc, NULL);
	reply_attr(s, c, h, &a);
}

/* Puts new block nb of file a in the block map (under construction), chooses its
 * pipeline and replies with it; false (nothing sent) when no datanode has room. */
static bool reply_pipeline(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			   const struct nn_attr *a, const struct nn_blockrec *nb,
			   const char *favored, const uint32_t *exclude, uint32_t nexclude)
{
	uint32_t want = a->replication, targets[PROTO_REPL_MAX];
	int fav = favored[0] ? nn_dns_find(&s->dns, favored)
			     : nn_dns_on_host(&s->dns, c->peer_host);
	uint32_t got = nn_dns_choose(&s->dns, want, fav, exclude, nexclude, a->block_size,
				     targets);
	if (!got)
		return false;
	struct nn_block *b = nn_blockmap_put(s->bm, nb->id, nb->gs, 0, a->ino, a->replication);
	b->flags |= NN_BLOCK_UC;
	struct buf p = BUF_INIT;
	pack_u64(&p, nb->id);
	pack_u64(&p, nb->gs);
	pack_u64(&p, nb->offset);
	pack_u64(&p, 0);
	pack_u32(&p, got);
	for (uint32_t i = 0; i < got; i++)
		pack_loc(&p, &s->dns.v[targets[i]]);
	pack_token(s, &p, c, nb->id, nb->gs, TOKEN_WRITE | TOKEN_READ);
	reply(s, c, h, &p);
	buf_free(&p);
	return true;
}

/* Reads "u32 n, n x str datanode id" into exclude (unknown ids skipped). */
static uint32_t unpack_excluded(struct nn_server *s, struct unpack *u,
				uint32_t exclude[PROTO_REPL_MAX])
{
	uint32_t nex = unpack_count(u, 4), n = 0;
	for (uint32_t i = 0; i < nex && unpack_ok(u); i++) {
		char id[PROTO_ID_MAX + 1];
		unpack_str(u, id, sizeof id);
		int idx = nn_dns_find(&s->dns, id);
		if (idx >= 0 && n < PROTO_REPL_MAX)
			exclude[n++] = (uint32_t)idx;
	}
	return n;
}

static void op_add_block(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			 struct unpack *u)
{
	uint64_t ino = unpack_u64(u), prev = unpack_u64(u), prev_len = unpack_u64(u);
	struct unpack acked = *u;
	uint32_t n = unpack_count(u, 4);
	for (uint32_t i = 0; i < n; i++)
		(void)unpack_raw(u, unpack_u32(u));
	char favored[PROTO_ID_MAX + 1];
	unpack_str(u, favored, sizeof favored);
	uint32_t exclude[PROTO_REPL_MAX], nexclude = unpack_excluded(s, u, exclude);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (!nn_dns_live(&s->dns))
		return reply_err(s, c, h, -ENOSPC, "no live datanodes to write to");
	struct nn_attr a;
	struct nn_blockrec nb;
	int rc = nn_ns_add_block(s->ns, ino, prev, prev_len, &nb, &a);
	if (rc)
		return reply_err(s, c, h, rc, rc == -EINVAL ? "file is not open for writing"
							    : NULL);
	note_stored(s, &acked, prev, prev_len, true);
	if (reply_pipeline(s, c, h, &a, &nb, favored, exclude, nexclude))
		return;
	struct nn_blocks freed = {0};
	nn_ns_abandon_block(s->ns, ino, nb.id, &freed);
	release_blocks(s, &freed);
	reply_err(s, c, h, -ENOSPC, "no datanode has room for a block");
}

static void op_complete(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			struct unpack *u)
{
	uint64_t ino = unpack_u64(u), last = unpack_u64(u), len = unpack_u64(u);
	struct unpack acked = *u;
	uint32_t n = unpack_count(u, 4);
	for (uint32_t i = 0; i < n; i++)
		(void)unpack_raw(u, unpack_u32(u));
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	struct nn_attr a;
	int rc = nn_ns_complete(s->ns, ino, last, len, &a);
	if (rc)
		return reply_err(s, c, h, rc, rc == -EINVAL ? "block list mismatch" : NULL);
	note_stored(s, &acked, last, len, true);
	lease_drop(c, ino);
	reply_attr(s, c, h, &a);
}

static void op_abandon(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		       struct unpack *u)
{
	uint64_t ino = unpack_u64(u), id = unpack_u64(u);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	struct nn_blocks freed = {0};
	if (pending_take(c, id)) { /* a free-standing block given up (CN_ALLOC_BLOCK) */
		struct nn_blockrec r = {.id = id};
		nn_blocks_push(&freed, &r);
		release_blocks(s, &freed);
		return reply_ok(s, c, h);
	}
	int rc = nn_ns_abandon_block(s->ns, ino, id, &freed);
	release_blocks(s, &freed);
	if (rc)
		return reply_err(s, c, h, rc, NULL);
	reply_ok(s, c, h);
}

static void reply_blocks(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			 const struct nn_attr *ap, uint64_t off, uint64_t len);
static void pending_release(struct nn_server *s, struct conn *c);
static bool pending_take(struct conn *c, uint64_t id);

static void op_get_blocks(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			  struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	uint64_t off = unpack_u64(u), len = unpack_u64(u);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, 0, NN_R)))
		return;
	struct nn_attr a;
	int rc = nn_ns_stat(s->ns, path, &a);
	if (!rc && a.type == PROTO_T_DIR)
		rc = -EISDIR;
	else if (!rc && a.type != PROTO_T_FILE)
		rc = -EINVAL;
	if (rc)
		return reply_err(s, c, h, rc, NULL);
	reply_blocks(s, c, h, &a, off, len);
}

/* Replies with a's attributes and its blocks overlapping [off, off+len). */
static void reply_blocks(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			 const struct nn_attr *ap, uint64_t off, uint64_t len)
{
	struct nn_attr a = *ap;
	struct nn_blocks bl = {0};
	int rc = nn_ns_blocks(s->ns, a.ino, off, len, &bl);
	if (rc) {
		nn_blocks_free(&bl);
		return reply_err(s, c, h, rc, NULL);
	}
	struct buf p = BUF_INIT;
	pack_attr(&p, &a);
	pack_u32(&p, (uint32_t)bl.n);
	for (size_t i = 0; i < bl.n; i++) {
		pack_u64(&p, bl.v[i].id);
		pack_u64(&p, bl.v[i].gs);
		pack_u64(&p, bl.v[i].offset);
		pack_u64(&p, bl.v[i].len);
		struct nn_block *b = nn_blockmap_get(s->bm, bl.v[i].id);
		uint32_t reps[PROTO_REPL_MAX], n = 0;
		if (b) {
			n = b->nrep > PROTO_REPL_MAX ? PROTO_REPL_MAX : b->nrep;
			memcpy(reps, b->reps, n * sizeof *reps);
			n = nn_dns_sort_for_reader(&s->dns, c->peer_host, reps, n);
		}
		pack_u32(&p, n);
		for (uint32_t r = 0; r < n; r++)
			pack_loc(&p, &s->dns.v[reps[r]]);
		pack_token(s, &p, c, bl.v[i].id, bl.v[i].gs, TOKEN_READ);
	}
	nn_blocks_free(&bl);
	reply(s, c, h, &p);
	buf_free(&p);
}

static void op_stat(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, 0, 0)))
		return;
	struct nn_attr a;
	int rc = nn_ns_stat(s->ns, path, &a);
	if (rc)
		return reply_err(s, c, h, rc, NULL);
	reply_attr(s, c, h, &a);
}

struct list_ctx {
	struct buf *p;
	uint32_t n;
};

static int list_one(void *arg, const char *name, const struct nn_attr *a)
{
	struct list_ctx *l = arg;
	pack_str(l->p, name);
	pack_attr(l->p, a);
	l->n++;
	return 0;
}

static void op_list(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1], after[PROTO_NAME_MAX + 1];
	unpack_str(u, path, sizeof path);
	unpack_str(u, after, sizeof after);
	uint32_t max = unpack_u32(u);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, 0, NN_R)))
		return;
	if (max == 0 || max > 4096)
		max = 4096;
	struct buf entries = BUF_INIT, p = BUF_INIT;
	struct list_ctx l = {&entries, 0};
	bool more = false;
	int rc = nn_ns_list(s->ns, path, after, max, list_one, &l, &more);
	if (rc) {
		buf_free(&entries);
		return reply_err(s, c, h, rc, NULL);
	}
	pack_u32(&p, l.n);
	pack_raw(&p, entries.data, entries.len);
	pack_u8(&p, more);
	reply(s, c, h, &p);
	buf_free(&entries);
	buf_free(&p);
}

static void op_rename(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		      struct unpack *u)
{
	char src[PROTO_PATH_MAX + 1], dst[PROTO_PATH_MAX + 1];
	unpack_str(u, src, sizeof src);
	unpack_str(u, dst, sizeof dst);
	uint32_t flags = unpack_u32(u);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, nn_perm_remove(s->ns, src, &c->cred, false)) ||
	    denied(s, c, h, nn_perm_remove(s->ns, dst, &c->cred, false)))
		return;
	struct nn_blocks freed = {0};
	int rc = nn_ns_rename(s->ns, src, dst, flags, &freed);
	release_blocks(s, &freed);
	if (rc)
		return reply_err(s, c, h, rc, rc == -EINVAL ? "cannot move a directory into itself"
							    : NULL);
	reply_ok(s, c, h);
}

static void op_delete(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		      struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	uint8_t flags = unpack_u8(u);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, nn_perm_remove(s->ns, path, &c->cred, flags & PROTO_DELETE_RECURSIVE)))
		return;
	struct nn_attr a;
	if ((flags & PROTO_DELETE_DIR) && !nn_ns_stat(s->ns, path, &a) && a.type != PROTO_T_DIR)
		return reply_err(s, c, h, -ENOTDIR, NULL);
	struct nn_blocks freed = {0};
	int rc = nn_ns_delete(s->ns, path, flags & PROTO_DELETE_RECURSIVE, &freed);
	release_blocks(s, &freed);
	if (rc)
		return reply_err(s, c, h, rc, rc == -EBUSY ? "cannot remove the root" : NULL);
	reply_ok(s, c, h);
}

/* Changes a file's replication (its blocks follow) or a directory's default. */
static int set_replication(struct nn_server *s, const char *path, uint16_t repl,
			   struct nn_attr *a)
{
	int rc = nn_ns_setrep(s->ns, path, repl, a);
	if (rc || a->type != PROTO_T_FILE)
		return rc;
	struct nn_blocks bl = {0};
	nn_ns_blocks(s->ns, a->ino, 0, 0, &bl);
	for (size_t i = 0; i < bl.n; i++) {
		struct nn_block *b = nn_blockmap_get(s->bm, bl.v[i].id);
		if (b)
			b->repl = repl;
	}
	nn_blocks_free(&bl);
	s->repl_dirty = true;
	return 0;
}

static void op_setrep(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		      struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	uint16_t repl = unpack_u16(u);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, 0, NN_W)))
		return;
	if (repl < 1 || repl > PROTO_REPL_MAX)
		return reply_err(s, c, h, -EINVAL, "replication %u is out of range 1..%d", repl,
				 PROTO_REPL_MAX);
	struct nn_attr a;
	int rc = set_replication(s, path, repl, &a);
	if (rc)
		return reply_err(s, c, h, rc, NULL);
	reply_attr(s, c, h, &a);
}


/* ---------- POSIX calls (the FUSE mount) ---------- */

/* The owner of a new inode: what a root client asks for, else the peer itself. */
static void new_owner(const struct conn *c, struct unpack *u, uint32_t *uid, uint32_t *gid)
{
	*uid = c->peer.uid;
	*gid = c->peer.gid;
	if (u->left >= 8) {
		uint32_t ru = unpack_u32(u), rg = unpack_u32(u);
		if (c->peer.uid == 0) {
			*uid = ru;
			*gid = rg;
		}
	}
}

static void op_setattr(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		       struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	uint32_t valid = unpack_u32(u), mode = unpack_u32(u), uid = unpack_u32(u),
		 gid = unpack_u32(u);
	int64_t at = unpack_i64(u), mt = unpack_i64(u);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, perm_setattr(s, c, path, valid, uid, gid)))
		return;
	struct nn_attr a;
	int rc = nn_ns_setattr(s->ns, path, valid, mode, uid, gid, at, mt, &a);
	if (rc)
		return reply_err(s, c, h, rc, NULL);
	reply_attr(s, c, h, &a);
}

static void op_symlink(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		       struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1], target[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	unpack_str(u, target, sizeof target);
	uint32_t uid, gid;
	new_owner(c, u, &uid, &gid);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, NN_W | NN_X, 0)))
		return;
	struct nn_attr *a = malloc(sizeof *a);
	if (!a)
		return reply_err(s, c, h, -ENOMEM, NULL);
	int rc = nn_ns_symlink(s->ns, path, target, uid, gid, a);
	if (rc)
		reply_err(s, c, h, rc, NULL);
	else
		reply_attr(s, c, h, a);
	free(a);
}

static void op_readlink(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, 0, 0)))
		return;
	struct nn_attr *a = malloc(sizeof *a);
	if (!a)
		return reply_err(s, c, h, -ENOMEM, NULL);
	int rc = nn_ns_stat(s->ns, path, a);
	if (!rc && a->type != PROTO_T_SYMLINK)
		rc = -EINVAL;
	if (rc) {
		reply_err(s, c, h, rc, NULL);
	} else {
		struct buf p = BUF_INIT;
		pack_str(&p, a->target);
		reply(s, c, h, &p);
		buf_free(&p);
	}
	free(a);
}

static void op_link(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	char src[PROTO_PATH_MAX + 1], dst[PROTO_PATH_MAX + 1];
	unpack_str(u, src, sizeof src);
	unpack_str(u, dst, sizeof dst);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, nn_perm_path(s->ns, src, &c->cred, 0, 0)) ||
	    denied(s, c, h, nn_perm_path(s->ns, dst, &c->cred, NN_W | NN_X, 0)))
		return;
	struct nn_attr a;
	int rc = nn_ns_link(s->ns, src, dst, &a);
	if (rc)
		return reply_err(s, c, h, rc, rc == -EPERM ? "cannot hard-link a directory"
							   : NULL);
	reply_attr(s, c, h, &a);
}

static void op_mknod(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		     struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	uint8_t type = unpack_u8(u);
	uint32_t mode = unpack_u32(u), rdev = unpack_u32(u), uid, gid;
	new_owner(c, u, &uid, &gid);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, NN_W | NN_X, 0)))
		return;
	struct nn_attr a;
	int rc = nn_ns_mknod(s->ns, path, type, mode, rdev, uid, gid, &a);
	if (rc)
		return reply_err(s, c, h, rc, NULL);
	reply_attr(s, c, h, &a);
}

/* The attributes dfs itself keeps: replication and block size, as MooseFS's goals. */
#define XATTR_REPL "user.dfs.replication"
#define XATTR_BS "user.dfs.block_size"

static int parse_u64(const void *v, uint32_t n, uint64_t *out)
{
	char tmp[32];
	if (!n || n >= sizeof tmp)
		return -EINVAL;
	memcpy(tmp, v, n);
	tmp[n] = 0;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(tmp, &end, 10);
	if (errno || end == tmp || (*end && *end != '\n') || tmp[0] == '-')
		return -EINVAL;
	*out = x;
	return 0;
}

static void op_setxattr(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1], name[PROTO_NAME_MAX + 2];
	unpack_str(u, path, sizeof path);
	unpack_str(u, name, sizeof name);
	uint32_t flags = unpack_u32(u), n = unpack_u32(u);
	const void *v = unpack_raw(u, n);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, perm_xattr(s, c, path, name, NN_W)))
		return;
	int rc;
	uint64_t x = 0;
	struct nn_attr a;
	if (!strcmp(name, XATTR_REPL)) {
		rc = parse_u64(v, n, &x);
		if (!rc && (x < 1 || x > PROTO_REPL_MAX))
			rc = -EINVAL;
		if (!rc)
			rc = set_replication(s, path, (uint16_t)x, &a);
	} else if (!strcmp(name, XATTR_BS)) {
		rc = parse_u64(v, n, &x);
		if (!rc)
			rc = nn_ns_set_block_size(s->ns, path, x, &a);
	} else {
		rc = nn_ns_xattr_set(s->ns, path, name, v, n, flags);
	}
	if (rc)
		return reply_err(s, c, h, rc, NULL);
	reply_ok(s, c, h);
}

/* Replies "u32 n, n bytes" with v when rc is 0, else the error; frees v. */
static void reply_bytes(struct nn_server *s, struct conn *c, const struct proto_hdr *h, int rc,
			struct buf *v)
{
	if (rc) {
		reply_err(s, c, h, rc, NULL);
	} else {
		struct buf p = BUF_INIT;
		pack_u32(&p, (uint32_t)v->len);
		pack_raw(&p, v->data, v->len);
		reply(s, c, h, &p);
		buf_free(&p);
	}
	buf_free(v);
}

/* The value of a dfs attribute (XATTR_REPL, XATTR_BS) of path, in decimal, into v. */
static int dfs_xattr_get(struct nn_server *s, const char *path, const char *name, struct buf *v)
{
	struct nn_attr a;
	int rc = nn_ns_stat(s->ns, path, &a);
	if (rc)
		return rc;
	if (a.type != PROTO_T_FILE && a.type != PROTO_T_DIR)
		return -ENODATA;
	bool repl = !strcmp(name, XATTR_REPL);
	uint64_t x = repl ? a.replication : a.block_size;
	if (!x) /* a directory that sets none: the cluster's default */
		x = repl ? s->cfg.replication : s->cfg.block_size;
	buf_printf(v, "%llu", (unsigned long long)x);
	return 0;
}

static void op_getxattr(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1], name[PROTO_NAME_MAX + 2];
	unpack_str(u, path, sizeof path);
	unpack_str(u, name, sizeof name);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, 0, NN_R)))
		return;
	struct buf v = BUF_INIT;
	int rc = !strcmp(name, XATTR_REPL) || !strcmp(name, XATTR_BS)
			 ? dfs_xattr_get(s, path, name, &v)
			 : nn_ns_xattr_get(s->ns, path, name, &v);
	reply_bytes(s, c, h, rc, &v);
}

static void op_listxattr(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			 struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, 0, NN_R)))
		return;
	struct buf v = BUF_INIT;
	reply_bytes(s, c, h, nn_ns_xattr_list(s->ns, path, &v), &v);
}

static void op_removexattr(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			   struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1], name[PROTO_NAME_MAX + 2];
	unpack_str(u, path, sizeof path);
	unpack_str(u, name, sizeof name);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, perm_xattr(s, c, path, name, NN_W)))
		return;
	int rc = !strcmp(name, XATTR_REPL) || !strcmp(name, XATTR_BS)
			 ? -EPERM : nn_ns_xattr_remove(s->ns, path, name);
	if (rc)
		return reply_err(s, c, h, rc, rc == -EPERM ? "dfs attributes cannot be removed"
							   : NULL);
	reply_ok(s, c, h);
}

/* ---------- block rewrites ----------
 * A closed file changes by copy-on-write of whole blocks: the client asks for a fresh
 * block (op_alloc_block: it is this connection's until used), writes the slot's new
 * contents through its pipeline, then switches the file to the new blocks in one
 * namespace update (op_update), after which the old blocks are deleted. A writer dying
 * before the update leaves the old version whole; its fresh blocks are released with
 * its connection (pending_release). */

#define NN_MAX_PENDING 4096

static bool pending_take(struct conn *c, uint64_t id)
{
	for (uint32_t i = 0; i < c->npending; i++)
		if (c->pending[i] == id) {
			c->pending[i] = c->pending[--c->npending];
			return true;
		}
	return false;
}

static void pending_release(struct nn_server *s, struct conn *c)
{
	struct nn_blocks freed = {0};
	for (uint32_t i = 0; i < c->npending; i++) {
		struct nn_blockrec r = {.id = c->pending[i]};
		nn_blocks_push(&freed, &r);
	}
	release_blocks(s, &freed);
	free(c->pending);
	c->pending = NULL;
	c->npending = c->cappending = 0;
}

static void op_alloc_block(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			   struct unpack *u)
{
	uint64_t ino = unpack_u64(u);
	char favored[PROTO_ID_MAX + 1];
	unpack_str(u, favored, sizeof favored);
	uint32_t exclude[PROTO_REPL_MAX], nexclude = unpack_excluded(s, u, exclude);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	struct nn_attr a;
	int rc = nn_ns_stat_ino(s->ns, ino, &a);
	if (!rc && a.type != PROTO_T_FILE)
		rc = -EISDIR;
	if (rc)
		return reply_err(s, c, h, rc, NULL);
	if (c->npending >= NN_MAX_PENDING)
		return reply_err(s, c, h, -EBUSY, "too many blocks in flight on one connection");
	if (!nn_dns_live(&s->dns))
		return reply_err(s, c, h, -ENOSPC, "no live datanodes to write to");
	struct nn_blockrec nb = {.ino = ino};
	if ((rc = nn_ns_alloc_block(s->ns, &nb.id, &nb.gs)))
		return reply_err(s, c, h, rc, NULL);
	if (!reply_pipeline(s, c, h, &a, &nb, favored, exclude, nexclude))
		return reply_err(s, c, h, -ENOSPC, "no datanode has room for a block");
	if (c->npending == c->cappending) {
		c->cappending = c->cappending ? c->cappending * 2 : 8;
		c->pending = realloc(c->pending, c->cappending * sizeof *c->pending);
		if (!c->pending)
			abort();
	}
	c->pending[c->npending++] = nb.id;
}

static void op_update(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		      struct unpack *u)
{
	uint64_t ino = unpack_u64(u), size = unpack_u64(u);
	uint32_t nblocks = unpack_u32(u);
	uint32_t n = unpack_count(u, 32);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	struct nn_ns_change *ch = calloc(n ? n : 1, sizeof *ch);
	struct unpack *acked = calloc(n ? n : 1, sizeof *acked);
	if (!ch || !acked) {
		free(ch);
		free(acked);
		return reply_err(s, c, h, -ENOMEM, NULL);
	}
	int rc = 0;
	for (uint32_t i = 0; i < n && unpack_ok(u); i++) {
		ch[i].index = unpack_u32(u);
		ch[i].old_id = unpack_u64(u);
		ch[i].new_id = unpack_u64(u);
		ch[i].len = unpack_u64(u);
		acked[i] = *u;
		uint32_t k = unpack_count(u, 4);
		for (uint32_t j = 0; j < k; j++)
			(void)unpack_raw(u, unpack_u32(u));
		if (!ch[i].new_id)
			continue;
		struct nn_block *b = nn_blockmap_get(s->bm, ch[i].new_id);
		bool mine = false;
		for (uint32_t j = 0; j < c->npending && !mine; j++)
			mine = c->pending[j] == ch[i].new_id;
		if (!b || !mine || b->ino != ino) {
			rc = -EINVAL;
			break;
		}
		ch[i].gs = b->gs;
	}
	if (!unpack_ok(u))
		rc = -EPROTO;
	struct nn_attr a;
	struct nn_blocks freed = {0};
	if (!rc)
		rc = nn_ns_update(s->ns, ino, size, nblocks, ch, n, &freed, &a);
	if (!rc) {
		for (uint32_t i = 0; i < n; i++) {
			if (!ch[i].new_id)
				continue;
			pending_take(c, ch[i].new_id);
			note_stored(s, &acked[i], ch[i].new_id, ch[i].len, true);
			struct nn_block *b = nn_blockmap_get(s->bm, ch[i].new_id);
			if (b)
				b->repl = a.replication;
		}
		s->repl_dirty = true;
	}
	release_blocks(s, &freed);
	free(ch);
	free(acked);
	if (rc)
		return reply_err(s, c, h, rc,
				 rc == -ESTALE ? "the file was changed by another writer meanwhile"
				 : rc == -EBUSY ? "the file is being written by a streaming writer"
				 : rc == -EINVAL ? "inconsistent block update" : NULL);
	reply_attr(s, c, h, &a);
}

static void op_lock(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	struct nn_lock l = {.session = c->id};
	l.ino = unpack_u64(u);
	l.owner = unpack_u64(u);
	l.kind = unpack_u8(u);
	l.type = unpack_u8(u);
	l.start = unpack_u64(u);
	l.end = unpack_u64(u);
	l.pid = unpack_u32(u);
	bool test = unpack_u8(u);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (l.kind > PROTO_LOCK_FLOCK || l.type < PROTO_LOCK_READ ||
	    l.type > PROTO_LOCK_UNLOCK || l.start > l.end)
		return reply_err(s, c, h, -EINVAL, "bad lock request");
	struct buf p = BUF_INIT;
	if (test) {
		struct nn_lock o;
		bool conflict = l.type != PROTO_LOCK_UNLOCK && nn_locks_test(&s->locks, &l, &o);
		pack_u8(&p, conflict);
		if (conflict) {
			pack_u8(&p, o.type);
			pack_u64(&p, o.start);
			pack_u64(&p, o.end);
			pack_u32(&p, o.session == c->id ? o.pid : 0);
		}
	} else {
		int rc = nn_locks_set(&s->locks, &l);
		if (rc) {
			buf_free(&p);
			return reply_err(s, c, h, rc, NULL);
		}
		pack_u8(&p, 0);
	}
	reply(s, c, h, &p);
	buf_free(&p);
}

static void op_file_blocks(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			   struct unpack *u)
{
	uint64_t ino = unpack_u64(u), off = unpack_u64(u), len = unpack_u64(u);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (denied(s, c, h, perm_ino(s, c, ino, NN_R)))
		return;
	struct nn_attr a;
	int rc = nn_ns_stat_ino(s->ns, ino, &a);
	if (!rc && a.type != PROTO_T_FILE)
		rc = a.type == PROTO_T_DIR ? -EISDIR : -EINVAL;
	if (rc)
		return reply_err(s, c, h, rc, NULL);
	reply_blocks(s, c, h, &a, off, len);
}

/* A fresh token for a block the caller may read (or write): clients whose token
 * expired, or was signed by a key a restarted namenode no longer has, ask again. */
static void op_block_token(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			   struct unpack *u)
{
	uint64_t id = unpack_u64(u), gs = unpack_u64(u);
	uint8_t modes = unpack_u8(u);
	if (!unpack_ok(u) || !modes || (modes & ~(TOKEN_READ | TOKEN_WRITE)))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	struct nn_block *b = nn_blockmap_get(s->bm, id);
	if (!b || b->gs != gs)
		return reply_err(s, c, h, -ENOENT, "no block %llu with genstamp %llu",
				 (unsigned long long)id, (unsigned long long)gs);
	int want = ((modes & TOKEN_READ) ? NN_R : 0) | ((modes & TOKEN_WRITE) ? NN_W : 0);
	if (denied(s, c, h, perm_ino(s, c, b->ino, want)))
		return;
	struct buf p = BUF_INIT;
	pack_token(s, &p, c, id, gs, modes);
	reply(s, c, h, &p);
	buf_free(&p);
}

struct totals {
	uint64_t capacity, used, remaining;
	uint64_t under, corrupt, missing;
	const struct nn_dns *dns;
};

static void count_block(void *arg, struct nn_block *b)
{
	struct totals *t = arg;
	uint32_t live = 0;
	for (uint16_t i = 0; i < b->nrep; i++)
		live += t->dns->v[b->reps[i]].state != PROTO_DN_DEAD;
	if (b->flags & NN_BLOCK_CORRUPT)
		t->corrupt++;
	else if (live == 0 && !(b->flags & NN_BLOCK_UC))
		t->missing++;
	else if (live < b->repl && !(b->flags & NN_BLOCK_UC))
		t->under++;
}

static void totals(struct nn_server *s, struct totals *t, bool blocks)
{
	memset(t, 0, sizeof *t);
	t->dns = &s->dns;
	for (uint32_t i = 0; i < s->dns.n; i++) {
		const struct nn_dn *d = &s->dns.v[i];
		if (d->state == PROTO_DN_DEAD)
			continue;
		t->capacity += d->capacity;
		t->used += d->used;
		t->remaining += d->remaining;
	}
	if (blocks)
		nn_blockmap_each(s->bm, count_block, t);
}

static void op_statfs(struct nn_server *s, struct conn *c, const struct proto_hdr *h)
{
	struct totals t;
	totals(s, &t, false);
	struct buf p = BUF_INIT;
	pack_u64(&p, t.capacity);
	pack_u64(&p, t.used);
	pack_u64(&p, t.remaining);
	pack_u64(&p, nn_ns_files(s->ns));
	pack_u64(&p, nn_blockmap_count(s->bm));
	reply(s, c, h, &p);
	buf_free(&p);
}

static void op_report(struct nn_server *s, struct conn *c, const struct proto_hdr *h)
{
	struct totals t;
	totals(s, &t, true);
	struct buf p = BUF_INIT;
	double now = ev_now();
	pack_u8(&p, s->safe_mode);
	pack_u64(&p, t.capacity);
	pack_u64(&p, t.used);
	pack_u64(&p, t.remaining);
	pack_u64(&p, nn_ns_files(s->ns));
	pack_u64(&p, nn_blockmap_count(s->bm));
	pack_u64(&p, t.under);
	pack_u64(&p, t.corrupt);
	pack_u64(&p, t.missing);
	pack_u32(&p, s->dns.n);
	for (uint32_t i = 0; i < s->dns.n; i++) {
		const struct nn_dn *d = &s->dns.v[i];
		pack_str(&p, d->id);
		pack_str(&p, d->addr);
		pack_u8(&p, nn_dn_shown_state(d));
		pack_u64(&p, d->capacity);
		pack_u64(&p, d->used);
		pack_u64(&p, d->remaining);
		pack_u64(&p, d->nblocks);
		pack_i64(&p, (int64_t)((now - d->last_contact) * 1000));
		pack_u32(&p, d->xceivers);
	}
	reply(s, c, h, &p);
	buf_free(&p);
}

/* ---------- corruption, fsck, safe mode ---------- */

/*
 * Replica of block id on datanode dn is bad (a reader or the node's scanner said so).
 * With a good copy elsewhere it is dropped and deleted, and re-replication replaces
 * it -- on the same node if every live node already holds the block. The last copy
 * is kept and the block marked corrupt: nothing better exists.
 */
static void bad_replica(struct nn_server *s, uint64_t id, uint64_t gs, uint32_t dn,
			uint8_t why)
{
	struct nn_block *b = nn_blockmap_get(s->bm, id);
	if (!b || gs != b->gs || !nn_block_has_replica(b, dn))
		return;
	uint32_t others = 0;
	for (uint16_t i = 0; i < b->nrep; i++)
		others += b->reps[i] != dn && s->dns.v[b->reps[i]].connected;
	struct nn_dn *d = &s->dns.v[dn];
	if (!others && why == PROTO_BAD_CHECKSUM) {
		if (!(b->flags & NN_BLOCK_CORRUPT))
			log_error("block %llu: the last replica (on '%s') is corrupt too",
				  (unsigned long long)id, d->id);
		b->flags |= NN_BLOCK_CORRUPT;
		return;
	}
	log_warn("block %llu: replica on datanode '%s' is %s; replacing it",
		 (unsigned long long)id, d->id, why == PROTO_BAD_MISSING ? "missing" : "corrupt");
	nn_block_remove_replica(b, dn);
	if (d->nblocks)
		d->nblocks--;
	if (why == PROTO_BAD_CHECKSUM)
		nn_dns_queue_delete(&s->dns, dn, id, gs);
	s->repl_dirty = true;
}

static void op_bad_block(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			 struct unpack *u)
{
	uint64_t id = unpack_u64(u), gs = unpack_u64(u);
	char dn[PROTO_ID_MAX + 1];
	unpack_str(u, dn, sizeof dn);
	uint8_t why = unpack_u8(u);
	if (!unpack_ok(u) || (why != PROTO_BAD_CHECKSUM && why != PROTO_BAD_MISSING))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	int i = nn_dns_find(&s->dns, dn);
	if (i >= 0)
		bad_replica(s, id, gs, (uint32_t)i, why);
	reply_ok(s, c, h);
}

static void op_dn_bad_block(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			    struct unpack *u)
{
	if (c->dn < 0)
		return reply_err(s, c, h, -EPERM, "datanode not registered");
	uint32_t n = unpack_count(u, 17);
	for (uint32_t k = 0; k < n && unpack_ok(u); k++) {
		uint64_t id = unpack_u64(u), gs = unpack_u64(u);
		uint8_t why = unpack_u8(u);
		if (unpack_ok(u))
			bad_replica(s, id, gs, (uint32_t)c->dn, why);
	}
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	reply_ok(s, c, h);
}

struct fsck {
	struct nn_server *s;
	uint64_t files, blocks, under, over, corrupt, missing;
	uint32_t nproblems;
	struct buf problems;
	char path[PROTO_PATH_MAX + 1];
	int depth;
};

static void fsck_problem(struct fsck *f, const char *what)
{
	if (f->nproblems >= 1000)
		return;
	pack_str(&f->problems, f->path);
	pack_str(&f->problems, what);
	f->nproblems++;
}

static void fsck_file(struct fsck *f, const struct nn_attr *a)
{
	struct nn_blocks bl = {0};
	f->files++;
	if (nn_ns_blocks(f->s->ns, a->ino, 0, 0, &bl))
		return;
	double now = ev_now();
	for (size_t i = 0; i < bl.n; i++) {
		struct nn_block *b = nn_blockmap_get(f->s->bm, bl.v[i].id);
		char what[160];
		f->blocks++;
		if (!b)
			continue;
		uint32_t live, maint;
		nn_repl_count(b, &f->s->dns, now, &live, &maint);
		if (b->flags & NN_BLOCK_UC)
			continue;
		if (b->flags & NN_BLOCK_CORRUPT) {
			f->corrupt++;
			snprintf(what, sizeof what, "block %llu: every replica is corrupt",
				 (unsigned long long)b->id);
			fsck_problem(f, what);
		} else if (!live) {
			f->missing++;
			snprintf(what, sizeof what, "block %llu: missing (no live replica)",
				 (unsigned long long)b->id);
			fsck_problem(f, what);
		} else if (live < b->repl) {
			f->under++;
			snprintf(what, sizeof what, "block %llu: under-replicated, %u of %u",
				 (unsigned long long)b->id, live, b->repl);
			fsck_problem(f, what);
		} else if (live > b->repl) {
			f->over++;
		}
	}
	nn_blocks_free(&bl);
}

static int fsck_entry(void *arg, const char *name, const struct nn_attr *a)
{
	struct fsck *f = arg;
	size_t len = strlen(f->path);
	if (len + 1 + strlen(name) > PROTO_PATH_MAX || f->depth > 4096)
		return 0;
	snprintf(f->path + len, sizeof f->path - len, "%s%s", len > 1 ? "/" : "", name);
	if (a->type == PROTO_T_DIR) {
		bool more;
		f->depth++;
		nn_ns_list(f->s->ns, f->path, NULL, UINT32_MAX, fsck_entry, f, &more);
		f->depth--;
	} else if (a->type == PROTO_T_FILE) {
		fsck_file(f, a);
	}
	f->path[len] = 0;
	return 0;
}

static void op_fsck(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	struct fsck *f = calloc(1, sizeof *f);
	if (!f)
		return reply_err(s, c, h, -ENOMEM, NULL);
	f->s = s;
	buf_init(&f->problems);
	unpack_str(u, f->path, sizeof f->path);
	struct nn_attr a;
	int rc = unpack_ok(u) ? nn_ns_stat(s->ns, f->path, &a) : -EPROTO;
	if (!rc) {
		if (a.type == PROTO_T_DIR) {
			bool more;
			while (strlen(f->path) > 1 && f->path[strlen(f->path) - 1] == '/')
				f->path[strlen(f->path) - 1] = 0;
			rc = nn_ns_list(s->ns, f->path, NULL, UINT32_MAX, fsck_entry, f, &more);
		} else if (a.type == PROTO_T_FILE) {
			fsck_file(f, &a);
		}
	}
	if (rc) {
		reply_err(s, c, h, rc, NULL);
	} else {
		struct buf p = BUF_INIT;
		pack_u64(&p, f->files);
		pack_u64(&p, f->blocks);
		pack_u64(&p, f->under);
		pack_u64(&p, f->over);
		pack_u64(&p, f->corrupt);
		pack_u64(&p, f->missing);
		pack_u32(&p, f->nproblems);
		pack_raw(&p, f->problems.data, f->problems.len);
		reply(s, c, h, &p);
		buf_free(&p);
	}
	buf_free(&f->problems);
	free(f);
}

struct safe_count {
	const struct nn_dns *dns;
	uint64_t total, reported;
};

static void safe_count_block(void *arg, struct nn_block *b)
{
	struct safe_count *sc = arg;
	if (b->flags & NN_BLOCK_UC)
		return;
	sc->total++;
	for (uint16_t i = 0; i < b->nrep; i++)
		if (sc->dns->v[b->reps[i]].connected) {
			sc->reported++;
			return;
		}
}

/*
 * Safe mode after a start: read-only and no replication decisions until
 * safemode_threshold of the blocks have a reported replica -- or, so that a node that
 * is gone for good is never waited for, until dead_node_timeout has passed and every
 * datanode that registered has reported.
 */
static void check_safe_mode(struct nn_server *s)
{
	if (!s->safe_mode || s->safe_manual)
		return;
	struct safe_count sc = {&s->dns, 0, 0};
	nn_blockmap_each(s->bm, safe_count_block, &sc);
	bool all_reported = true;
	for (uint32_t i = 0; i < s->dns.n; i++)
		if (s->dns.v[i].connected && !s->dns.v[i].reported)
			all_reported = false;
	bool enough = !sc.total || (double)sc.reported >= s->cfg.safemode_threshold *
							   (double)sc.total;
	bool waited = ev_now() - s->started > s->cfg.dead_node_timeout && all_reported;
	if (enough || waited) {
		s->safe_mode = false;
		s->repl_dirty = true;
		log_info("leaving safe mode: %llu of %llu blocks reported%s",
			 (unsigned long long)sc.reported, (unsigned long long)sc.total,
			 enough ? "" : " (stopped waiting for absent datanodes)");
	}
}

static void op_decommission(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			    struct unpack *u)
{
	char id[PROTO_ID_MAX + 1];
	unpack_str(u, id, sizeof id);
	uint8_t on = unpack_u8(u);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (c->peer.uid != 0 && c->peer.uid != getuid())
		return reply_err(s, c, h, -EPERM, "only the superuser may decommission nodes");
	int i = nn_dns_find(&s->dns, id);
	if (i < 0)
		return reply_err(s, c, h, -ENOENT, "no datanode '%s'", id);
	struct nn_dn *d = &s->dns.v[i];
	d->decommission = on;
	d->decommissioned = false;
	s->repl_dirty = true;
	log_info("datanode '%s' %s by an administrator", id,
		 on ? "is being decommissioned" : "is back in service");
	reply_ok(s, c, h);
}

/* Marks decommissioning nodes done once everything they hold is safe elsewhere. */
static void check_decommission(struct nn_server *s)
{
	for (uint32_t i = 0; i < s->dns.n; i++) {
		struct nn_dn *d = &s->dns.v[i];
		if (!d->decommission || d->decommissioned || !d->connected)
			continue;
		if (nn_repl_decommission_done(s->bm, &s->dns, i)) {
			d->decommissioned = true;
			log_info("datanode '%s' is decommissioned: it can be taken away", d->id);
		}
	}
}

static void op_safemode(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			struct unpack *u)
{
	uint8_t action = unpack_u8(u);
	if (!unpack_ok(u) || action > PROTO_SAFEMODE_LEAVE)
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (action != PROTO_SAFEMODE_GET && c->peer.uid != 0 && c->peer.uid != getuid())
		return reply_err(s, c, h, -EPERM, "only the superuser may change safe mode");
	if (action == PROTO_SAFEMODE_ENTER) {
		s->safe_mode = s->safe_manual = true;
		log_info("safe mode entered by an administrator");
	} else if (action == PROTO_SAFEMODE_LEAVE) {
		s->safe_mode = s->safe_manual = false;
		s->repl_dirty = true;
		log_info("safe mode left by an administrator");
	}
	struct safe_count sc = {&s->dns, 0, 0};
	nn_blockmap_each(s->bm, safe_count_block, &sc);
	struct buf p = BUF_INIT;
	pack_u8(&p, s->safe_mode);
	pack_u64(&p, sc.reported);
	pack_u64(&p, sc.total);
	reply(s, c, h, &p);
	buf_free(&p);
}

/* ---------- trash ---------- */

static void op_trash(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		     struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1], user[PROTO_NAME_MAX + 1];
	unpack_str(u, path, sizeof path);
	unpack_str(u, user, sizeof user);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (s->cfg.trash_interval <= 0)
		return reply_err(s, c, h, -EOPNOTSUPP, "the trash is off (trash_interval 0)");
	if (denied(s, c, h, nn_perm_remove(s->ns, path, &c->cred, true)))
		return;
	char where[PROTO_PATH_MAX + 1];
	int rc = nn_trash_move(s->ns, path, user, c->peer.uid, c->peer.gid, (int64_t)time(NULL),
			       where, sizeof where);
	if (rc == -EINVAL)
		return reply_err(s, c, h, rc, "already in the trash, or a bad user name");
	if (rc == -EBUSY)
		return reply_err(s, c, h, rc, "cannot move %s to the trash", path);
	if (rc)
		return reply_err(s, c, h, rc, NULL);
	struct buf p = BUF_INIT;
	pack_str(&p, where);
	reply(s, c, h, &p);
	buf_free(&p);
}

/* ---------- backup ---------- */

static void op_backup(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		      struct unpack *u)
{
	uint8_t start = unpack_u8(u);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (!c->cred.super || c->peer.role != PROTO_ROLE_CLIENT)
		return reply_err(s, c, h, -EPERM, "only the superuser takes backups");
	if (start) {
		nn_ns_dump_end(c->dump);
		c->dump = NULL;
		int rc = nn_ns_dump_start(s->ns, &c->dump);
		if (rc)
			return reply_err(s, c, h, rc, NULL);
		log_info("backup of the namespace started by %s", c->peer_addr);
	} else if (!c->dump) {
		return reply_err(s, c, h, -EINVAL, "no backup in progress on this connection");
	}
	struct buf p = BUF_INIT, recs = BUF_INIT;
	uint32_t n = nn_ns_dump_next(c->dump, &recs, 4u << 20);
	pack_u32(&p, n);
	pack_raw(&p, recs.data, recs.len);
	pack_u8(&p, n != 0);
	if (!n) {
		nn_ns_dump_end(c->dump);
		c->dump = NULL;
	}
	reply(s, c, h, &p);
	buf_free(&p);
	buf_free(&recs);
}

/* ---------- jobs ---------- */

static void op_job_submit(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			  struct unpack *u)
{
	char id[JOB_ID_MAX + 1];
	struct buf err = BUF_INIT;
	int rc = nn_jobs_submit(s->jobs, u, &c->cred, id, &err);
	if (rc)
		reply_err(s, c, h, rc, "%s", err.data);
	else {
		struct buf p = BUF_INIT;
		pack_str(&p, id);
		reply(s, c, h, &p);
		buf_free(&p);
	}
	buf_free(&err);
}

static void reply_job_status(struct nn_server *s, struct conn *c, uint64_t reqid,
			     const char *id)
{
	struct proto_hdr h = {.type = PROTO_CN_JOB_STATUS, .reqid = reqid};
	struct buf p = BUF_INIT;
	int rc = nn_jobs_status(s->jobs, id, &p);
	if (rc)
		reply_err(s, c, &h, rc, "no job %s (the namenode keeps the last 100 jobs, "
			  "until it restarts)", id);
	else
		reply(s, c, &h, &p);
	buf_free(&p);
}

static void op_job_status(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			  struct unpack *u)
{
	char id[JOB_ID_MAX + 1];
	unpack_str(u, id, sizeof id);
	uint32_t wait_ms = unpack_u32(u);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	if (!wait_ms || nn_jobs_over(s->jobs, id))
		return reply_job_status(s, c, h->reqid, id);
	if (s->nwaiters == s->capwaiters) {
		uint32_t cap = s->capwaiters ? s->capwaiters * 2 : 16;
		struct waiter *v = realloc(s->waiters, cap * sizeof *v);
		if (!v)
			return reply_job_status(s, c, h->reqid, id);
		s->waiters = v;
		s->capwaiters = cap;
	}
	struct waiter *w = &s->waiters[s->nwaiters++];
	w->c = c;
	w->reqid = h->reqid;
	snprintf(w->job, sizeof w->job, "%s", id);
	w->deadline = ev_now() + (wait_ms > 60000 ? 60000 : wait_ms) / 1000.0;
}

/* Answers the waiters whose job ended or whose wait is over (c: only c's, dropping
 * them unanswered: it is closing). */
static void answer_waiters(struct nn_server *s, struct conn *closing)
{
	double now = ev_now();
	for (uint32_t i = 0; i < s->nwaiters;) {
		struct waiter *w = &s->waiters[i];
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

static void op_job_list(struct nn_server *s, struct conn *c, const struct proto_hdr *h)
{
	struct buf p = BUF_INIT;
	nn_jobs_list(s->jobs, &p);
	reply(s, c, h, &p);
	buf_free(&p);
}

static void op_job_kill(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			struct unpack *u)
{
	char id[JOB_ID_MAX + 1];
	unpack_str(u, id, sizeof id);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	int rc = nn_jobs_kill(s->jobs, id);
	if (rc == -ENOENT)
		return reply_err(s, c, h, rc, "no job %s", id);
	if (rc == -EALREADY)
		return reply_err(s, c, h, -EINVAL, "job %s has already ended", id);
	reply_ok(s, c, h);
}

static void op_job_logs(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			struct unpack *u)
{
	char id[JOB_ID_MAX + 1];
	unpack_str(u, id, sizeof id);
	int32_t task = unpack_i32(u);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	struct buf p = BUF_INIT;
	int rc = nn_jobs_logs(s->jobs, id, task, &p);
	if (rc == -ENOENT)
		reply_err(s, c, h, rc, "no job %s", id);
	else if (rc == -ERANGE)
		reply_err(s, c, h, -EINVAL, "job %s has no task %d", id, task);
	else
		reply(s, c, h, &p);
	buf_free(&p);
}

static void jobs_send(void *arg, uint32_t dn, uint16_t type, const struct buf *payload)
{
	struct nn_server *s = arg;
	struct conn *c = dn < s->dn_conn_cap ? s->dn_conn[dn] : NULL;
	if (!c || c->closing)
		return;
	proto_frame(&c->out, type, 0, 0, 0, payload->data, payload->len);
	queue_flush(s, c);
}

static void jobs_release(void *arg, struct nn_blocks *freed) { release_blocks(arg, freed); }

/* ---------- datanode operations ---------- */

static void ensure_dn_conn(struct nn_server *s, uint32_t i)
{
	if (i < s->dn_conn_cap)
		return;
	uint32_t cap = s->dn_conn_cap ? s->dn_conn_cap : 16;
	while (cap <= i)
		cap *= 2;
	struct conn **v = realloc(s->dn_conn, cap * sizeof *v);
	if (!v)
		abort();
	memset(v + s->dn_conn_cap, 0, (cap - s->dn_conn_cap) * sizeof *v);
	s->dn_conn = v;
	s->dn_conn_cap = cap;
}

static void forget_replicas_of(void *arg, struct nn_block *b)
{
	nn_block_remove_replica(b, *(uint32_t *)arg);
}

static void dn_count_blocks(struct nn_server *s, uint32_t dn);

/* Forgets every replica node i was thought to hold. */
static void forget_node_replicas(struct nn_server *s, uint32_t i)
{
	nn_blockmap_each(s->bm, forget_replicas_of, &i);
	s->dns.v[i].nblocks = 0;
	s->repl_dirty = true;
}

static void on_dn_dead(void *arg, uint32_t i)
{
	struct nn_server *s = arg;
	forget_node_replicas(s, i);
	nn_jobs_node_down(s->jobs, i);
}

static void op_register(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			struct unpack *u)
{
	char id[PROTO_ID_MAX + 1], addr[PROTO_ADDR_MAX + 1];
	unpack_str(u, id, sizeof id);
	unpack_str(u, addr, sizeof addr);
	uint64_t cap = unpack_u64(u), used = unpack_u64(u), rem = unpack_u64(u);
	uint32_t slots = 0;
	uint8_t dnflags = 0;
	if (u->left) { /* a datanode that runs tasks */
		slots = unpack_u32(u);
		dnflags = unpack_u8(u);
	}
	if (!unpack_ok(u) || !id[0])
		return reply_err(s, c, h, -EPROTO, "malformed registration");
	char host[PROTO_ADDR_MAX + 1];
	uint16_t port;
	if (net_parse_addr(addr, host, sizeof host, &port) || port == 0)
		return reply_err(s, c, h, -EINVAL, "bad datanode address '%s'", addr);
	/* an unspecified listen host: use the address the node connected from */
	if (!strcmp(host, "0.0.0.0"))
		snprintf(addr, sizeof addr, "%s:%u", c->peer_host, port);
	if (c->dn >= 0 && strcmp(s->dns.v[c->dn].id, id))
		return reply_err(s, c, h, -EINVAL, "this connection is datanode '%s' already",
				 s->dns.v[c->dn].id); /* (else the first id's slot would dangle) */
	int old = nn_dns_find(&s->dns, id);
	if (old >= 0) {
		ensure_dn_conn(s, (uint32_t)old);
		struct conn *oc = s->dn_conn[old];
		if (oc && oc != c) {
			log_warn("datanode '%s' registered again from %s; dropping its old "
				 "connection", id, c->peer_addr);
			oc->dn = -1;
			oc->closing = true;
			queue_flush(s, oc);
		}
	}
	uint32_t i = nn_dns_register(&s->dns, id, addr, ev_now());
	ensure_dn_conn(s, i);
	s->dn_conn[i] = c;
	c->dn = (int)i;
	nn_dns_heartbeat(&s->dns, i, cap, used, rem, 0, ev_now());
	nn_jobs_node_up(s->jobs, i, slots, !(dnflags & PROTO_DNF_NO_EXEC));
	log_info("datanode '%s' registered at %s (%u task slots%s)", id, addr, slots,
		 (dnflags & PROTO_DNF_NO_EXEC) ? ", built-in filters only" : "");
	send_block_keys(s, c); /* before the reply: it knows them once registered */
	reply_ok(s, c, h);
}

static int dn_of(struct nn_server *s, struct conn *c, const struct proto_hdr *h)
{
	if (c->dn < 0) {
		reply_err(s, c, h, -EPERM, "datanode not registered");
		return -1;
	}
	return c->dn;
}

static void op_heartbeat(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			 struct unpack *u)
{
	int i = dn_of(s, c, h);
	if (i < 0)
		return;
	uint64_t cap = unpack_u64(u), used = unpack_u64(u), rem = unpack_u64(u);
	uint32_t xc = unpack_u32(u);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed heartbeat");
	struct nn_dn *d = &s->dns.v[i];
	if (d->state == PROTO_DN_DEAD) {
		/* its replicas were given up: it must register and report them again */
		log_warn("datanode '%s' was declared dead and is back; asking it to re-register",
			 d->id);
		reply_err(s, c, h, -ESTALE, "declared dead: register again");
		c->closing = true;
		return;
	}
	nn_dns_heartbeat(&s->dns, (uint32_t)i, cap, used, rem, xc, ev_now());
	s->heartbeats++;
	struct buf p = BUF_INIT;
	pack_u32(&p, d->ncmds);
	pack_raw(&p, d->cmds.data, d->cmds.len);
	buf_reset(&d->cmds);
	d->ncmds = 0;
	reply(s, c, h, &p);
	buf_free(&p);
}

struct count_ctx {
	uint32_t dn;
	uint64_t n;
};

static void count_dn(void *arg, struct nn_block *b)
{
	struct count_ctx *cc = arg;
	cc->n += nn_block_has_replica(b, cc->dn);
}

static void dn_count_blocks(struct nn_server *s, uint32_t dn)
{
	struct count_ctx cc = {dn, 0};
	nn_blockmap_each(s->bm, count_dn, &cc);
	s->dns.v[dn].nblocks = cc.n;
}

/* One replica reported by datanode dn: keep it, or tell the node to delete it. */
static void reported(struct nn_server *s, uint32_t dn, uint64_t id, uint64_t gs, uint64_t len)
{
	struct nn_block *b = nn_blockmap_get(s->bm, id);
	if (!b) {
		log_info("datanode '%s' holds block %llu that no file uses: deleting",
			 s->dns.v[dn].id, (unsigned long long)id);
		nn_dns_queue_delete(&s->dns, dn, id, gs);
		return;
	}
	if (gs < b->gs || (!(b->flags & NN_BLOCK_UC) && len != b->len)) {
		log_info("datanode '%s' holds a stale replica of block %llu (genstamp %llu, "
			 "length %llu): deleting", s->dns.v[dn].id, (unsigned long long)id,
			 (unsigned long long)gs, (unsigned long long)len);
		nn_block_remove_replica(b, dn);
		nn_dns_queue_delete(&s->dns, dn, id, gs);
		return;
	}
	if ((b->flags & NN_BLOCK_UC) && len > b->len)
		b->len = len; /* what a finalized replica holds: lease recovery's length */
	if (nn_block_add_replica(b, dn)) {
		s->dns.v[dn].nblocks++;
		s->dns.v[dn].used += len; /* until the next heartbeat says exactly */
	}
	if (nn_repl_arrived(s->repl, &s->dns, id, dn))
		s->repl_dirty = true; /* its source has a free stream for the next copy */
}

static void op_block_report(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			    struct unpack *u, bool full)
{
	int i = dn_of(s, c, h);
	if (i < 0)
		return;
	uint32_t n = unpack_count(u, 24);
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed block report");
	if (full)
		forget_node_replicas(s, (uint32_t)i); /* the report says it all */
	for (uint32_t k = 0; k < n; k++) {
		uint64_t id = unpack_u64(u), gs = unpack_u64(u), len = unpack_u64(u);
		reported(s, (uint32_t)i, id, gs, len);
	}
	if (full) {
		dn_count_blocks(s, (uint32_t)i);
		s->dns.v[i].reported = true;
		s->repl_dirty = true;
		check_safe_mode(s);
		log_info("datanode '%s' reported %u blocks", s->dns.v[i].id, n);
	}
	reply_ok(s, c, h);
}

static void op_block_deleted(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			     struct unpack *u)
{
	int i = dn_of(s, c, h);
	if (i < 0)
		return;
	uint32_t n = unpack_count(u, 8);
	for (uint32_t k = 0; k < n && unpack_ok(u); k++) {
		struct nn_block *b = nn_blockmap_get(s->bm, unpack_u64(u));
		if (b && nn_block_remove_replica(b, (uint32_t)i)) {
			if (s->dns.v[i].nblocks)
				s->dns.v[i].nblocks--;
			s->repl_dirty = true; /* a replica we did not ask to delete is gone */
		}
	}
	if (!unpack_ok(u))
		return reply_err(s, c, h, -EPROTO, "malformed request");
	reply_ok(s, c, h);
}

/* ---------- connections ---------- */

/* Forgets what the connection held: leases, allocated blocks, locks, waiters, its
 * datanode. */
static void conn_release(struct nn_server *s, struct conn *c)
{
	if (c->nwriting)
		leases_orphaned(s, c);
	free(c->writing);
	pending_release(s, c);
	nn_locks_drop_session(&s->locks, c->id);
	nn_ns_dump_end(c->dump);
	c->dump = NULL;
	answer_waiters(s, c);
	if (c->state != C_READY)
		s->nunauth--;
	if (c->dn >= 0) {
		struct nn_dn *d = &s->dns.v[c->dn];
		if (c->said_bye) {
			log_info("datanode '%s' stopped", d->id);
		} else {
			log_warn("datanode '%s' (%s) lost its connection: declaring it dead",
				 d->id, d->addr);
			on_dn_dead(s, (uint32_t)c->dn);
		}
		nn_dns_lost(&s->dns, (uint32_t)c->dn, c->said_bye, ev_now());
		nn_jobs_node_down(s->jobs, (uint32_t)c->dn);
		s->dn_conn[c->dn] = NULL;
	}
}

static void conn_close(struct nn_server *s, struct conn *c)
{
	conn_release(s, c);
	for (size_t i = 0; i < s->nflush; i++)
		if (s->flush[i] == c)
			s->flush[i] = NULL;
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

static void dispatch_op(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			const void *payload)
{
	struct unpack u;
	unpack_init(&u, payload, h->length);
	s->rpc_count[h->type & 0xff]++;
	bool is_dn = c->peer.role == PROTO_ROLE_DATANODE;
	if (s->safe_mode) {
		switch (h->type) {
		case PROTO_CN_MKDIR: case PROTO_CN_CREATE: case PROTO_CN_ADD_BLOCK:
		case PROTO_CN_RENAME: case PROTO_CN_DELETE: case PROTO_CN_SETREP:
		case PROTO_CN_ABANDON: case PROTO_CN_SETATTR: case PROTO_CN_SYMLINK:
		case PROTO_CN_LINK: case PROTO_CN_MKNOD: case PROTO_CN_SETXATTR:
		case PROTO_CN_REMOVEXATTR: case PROTO_CN_ALLOC_BLOCK: case PROTO_CN_UPDATE:
		case PROTO_CN_JOB_SUBMIT: case PROTO_CN_TRASH:
			return reply_err(s, c, h, -EROFS, "the namenode is in safe mode (waiting "
				"for datanodes to report their blocks); try again shortly");
		default: break;
		}
	}
	switch (h->type) {
	case PROTO_CN_MKDIR: return op_mkdir(s, c, h, &u);
	case PROTO_CN_CREATE: return op_create(s, c, h, &u);
	case PROTO_CN_ADD_BLOCK: return op_add_block(s, c, h, &u);
	case PROTO_CN_COMPLETE: return op_complete(s, c, h, &u);
	case PROTO_CN_ABANDON: return op_abandon(s, c, h, &u);
	case PROTO_CN_GET_BLOCKS: return op_get_blocks(s, c, h, &u);
	case PROTO_CN_STAT: return op_stat(s, c, h, &u);
	case PROTO_CN_LIST: return op_list(s, c, h, &u);
	case PROTO_CN_RENAME: return op_rename(s, c, h, &u);
	case PROTO_CN_DELETE: return op_delete(s, c, h, &u);
	case PROTO_CN_SETREP: return op_setrep(s, c, h, &u);
	case PROTO_CN_STATFS: return op_statfs(s, c, h);
	case PROTO_CN_REPORT: return op_report(s, c, h);
	case PROTO_CN_BAD_BLOCK: return op_bad_block(s, c, h, &u);
	case PROTO_CN_FSCK: return op_fsck(s, c, h, &u);
	case PROTO_CN_SAFEMODE: return op_safemode(s, c, h, &u);
	case PROTO_CN_DECOMMISSION: return op_decommission(s, c, h, &u);
	case PROTO_CN_SETATTR: return op_setattr(s, c, h, &u);
	case PROTO_CN_SYMLINK: return op_symlink(s, c, h, &u);
	case PROTO_CN_READLINK: return op_readlink(s, c, h, &u);
	case PROTO_CN_LINK: return op_link(s, c, h, &u);
	case PROTO_CN_MKNOD: return op_mknod(s, c, h, &u);
	case PROTO_CN_SETXATTR: return op_setxattr(s, c, h, &u);
	case PROTO_CN_GETXATTR: return op_getxattr(s, c, h, &u);
	case PROTO_CN_LISTXATTR: return op_listxattr(s, c, h, &u);
	case PROTO_CN_REMOVEXATTR: return op_removexattr(s, c, h, &u);
	case PROTO_CN_ALLOC_BLOCK: return op_alloc_block(s, c, h, &u);
	case PROTO_CN_UPDATE: return op_update(s, c, h, &u);
	case PROTO_CN_FILE_BLOCKS: return op_file_blocks(s, c, h, &u);
	case PROTO_CN_LOCK: return op_lock(s, c, h, &u);
	case PROTO_CN_JOB_SUBMIT: return op_job_submit(s, c, h, &u);
	case PROTO_CN_JOB_STATUS: return op_job_status(s, c, h, &u);
	case PROTO_CN_JOB_LIST: return op_job_list(s, c, h);
	case PROTO_CN_JOB_KILL: return op_job_kill(s, c, h, &u);
	case PROTO_CN_JOB_LOGS: return op_job_logs(s, c, h, &u);
	case PROTO_CN_TRASH: return op_trash(s, c, h, &u);
	case PROTO_CN_BACKUP: return op_backup(s, c, h, &u);
	case PROTO_CN_BLOCK_TOKEN: return op_block_token(s, c, h, &u);
	default: break;
	}
	if (is_dn) {
		switch (h->type) {
		case PROTO_DN_REGISTER: return op_register(s, c, h, &u);
		case PROTO_DN_HEARTBEAT: return op_heartbeat(s, c, h, &u);
		case PROTO_DN_BLOCK_REPORT: return op_block_report(s, c, h, &u, true);
		case PROTO_DN_BLOCK_RECEIVED: return op_block_report(s, c, h, &u, false);
		case PROTO_DN_BLOCK_DELETED: return op_block_deleted(s, c, h, &u);
		case PROTO_DN_BAD_BLOCK: return op_dn_bad_block(s, c, h, &u);
		case PROTO_DN_TASK_STATUS: {
			if (dn_of(s, c, h) < 0)
				return;
			if (nn_jobs_reports(s->jobs, (uint32_t)c->dn, &u))
				return reply_err(s, c, h, -EPROTO, "malformed task report");
			return reply_ok(s, c, h);
		}
		case PROTO_DN_BYE: {
			c->said_bye = true;
			return reply_ok(s, c, h);
		}
		default: break;
		}
	}
	reply_err(s, c, h, -ENOSYS, "unknown request type 0x%x", h->type);
}

/* Handles one request, timing it for /metrics (the sync of the turn not included). */
static void dispatch(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
		     const void *payload)
{
	double t0 = ev_now();
	dispatch_op(s, c, h, payload);
	s->rpc_seconds[h->type & 0xff] += ev_now() - t0;
}

static void handle_frame(struct nn_server *s, struct conn *c, const struct proto_hdr *h,
			 const void *payload)
{
	if (c->state == C_HANDSHAKE) {
		if (h->type != PROTO_AUTH) {
			log_reject(s, "peer %s: expected a handshake, got message 0x%x; closing",
				   c->peer_addr, h->type);
			c->closing = true;
			return;
		}
		int rc = auth_server_check(&c->auth, &s->keys, payload, h->length, &c->peer,
					   &c->out);
		queue_flush(s, c);
		if (rc) {
			log_reject(s, "peer %s: authentication failed: %s", c->peer_addr,
				   rc == -EPROTO ? "malformed handshake"
						 : "wrong key for the role it claimed");
			c->closing = true;
			return;
		}
		c->state = C_READY;
		s->nunauth--;
		c->cred = cred_of(s, &c->peer);
		return;
	}
	dispatch(s, c, h, payload);
}

static uint32_t max_frame(const struct conn *c)
{
	if (c->state == C_HANDSHAKE)
		return PROTO_MAX_HANDSHAKE;
	return c->peer.role == PROTO_ROLE_DATANODE ? PROTO_MAX_DN_REQ : PROTO_MAX_CLIENT_REQ;
}

static void conn_read(struct nn_server *s, struct conn *c)
{
	for (;;) {
		buf_grow(&c->in, 64 * 1024);
		ssize_t n = net_recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			conn_close(s, c);
			return;
		}
		buf_commit(&c->in, (size_t)n);
		/* process whole frames */
		size_t off = 0;
		while (!c->closing && c->in.len - off >= PROTO_HDR_LEN) {
			struct proto_hdr h;
			int rc = proto_hdr_decode((uint8_t *)c->in.data + off, &h, max_frame(c));
			if (rc) {
				log_reject(s, "peer %s: %s; closing", c->peer_addr,
					   rc == -EPROTO ? "garbage frame" : "frame too large");
				conn_close(s, c);
				return;
			}
			if (c->in.len - off < PROTO_HDR_LEN + (size_t)h.length)
				break;
			handle_frame(s, c, &h, c->in.data + off + PROTO_HDR_LEN);
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

static void conn_flush(struct nn_server *s, struct conn *c)
{
	while (c->safe > 0) {
		ssize_t n = net_send(c->fd, c->out.data, c->safe);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			conn_close(s, c);
			return;
		}
		buf_consume(&c->out, (size_t)n);
		c->safe -= (size_t)n;
	}
	if (c->safe == 0 && c->closing) {
		conn_close(s, c);
		return;
	}
	ev_watch(s->loop, c->fd, EV_READ | (c->safe ? EV_WRITE : 0), conn_event, c);
}

/* ev callbacks get the conn; the server is reached through this global, set once in
 * nn_server_start (one server per process). */
static struct nn_server *the_server;

static void conn_event(struct ev_loop *loop, int fd, int events, void *arg)
{
	(void)loop;
	(void)fd;
	struct conn *c = arg;
	struct nn_server *s = the_server;
	if (c->state == C_TLS) {
		bool want_write;
		int rc = tls_server_step(c->fd, &want_write);
		if (rc == -EAGAIN) {
			ev_watch(s->loop, c->fd, want_write ? EV_WRITE : EV_READ, conn_event, c);
			return;
		}
		if (rc) {
			log_reject(s, "peer %s: %s; closing", c->peer_addr, tls_error());
			conn_close(s, c);
			return;
		}
		c->state = C_HANDSHAKE; /* now the dfs handshake, inside TLS */
		auth_server_hello(&c->auth, PROTO_ROLE_NAMENODE, &c->out);
		queue_flush(s, c);
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
	struct conn *oldest = NULL;
	for (struct conn *c = s->conns; c; c = c->next)
		if (c->state != C_READY && (!oldest || c->accepted <= oldest->accepted))
			oldest = c;
	if (!oldest)
		return;
	log_reject(s, "peer %s: dropped, %u connections still in the handshake "
		   "(max_unauth_connections)", oldest->peer_addr, s->nunauth);
	conn_close(s, oldest);
}

/* Closes connections past their deadlines: the handshake, or a frame begun and not
 * finished (a slow sender holding buffers). */
static void check_deadlines(struct nn_server *s)
{
	double now = ev_now();
	for (struct conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		const char *why = NULL;
		if (c->state != C_READY && now - c->accepted > s->cfg.handshake_timeout)
			why = "no handshake within handshake_timeout";
		else if (c->frame_since && now - c->frame_since > s->cfg.frame_timeout)
			why = "a frame not finished within frame_timeout";
		if (!why)
			continue;
		log_reject(s, "peer %s: %s; closing", c->peer_addr, why);
		conn_close(s, c);
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
		struct conn *c = calloc(1, sizeof *c);
		if (!c) {
			close(cfd);
			return;
		}
		c->fd = cfd;
		c->dn = -1;
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
			c->state = C_TLS;
			if (tls_server_start(cfd)) {
				conn_close(s, c);
				continue;
			}
		} else {
			c->state = C_HANDSHAKE;
			auth_server_hello(&c->auth, PROTO_ROLE_NAMENODE, &c->out);
			queue_flush(s, c);
		}
		if (ev_watch(s->loop, cfd, EV_READ, conn_event, c))
			conn_close(s, c);
	}
}

/* Sends every datanode its queued commands now, instead of on its next heartbeat. */
static void push_commands(struct nn_server *s)
{
	for (uint32_t i = 0; i < s->dns.n; i++) {
		struct nn_dn *d = &s->dns.v[i];
		struct conn *c = i < s->dn_conn_cap ? s->dn_conn[i] : NULL;
		if (!d->ncmds || !c || c->closing)
			continue;
		struct buf p = BUF_INIT;
		pack_u32(&p, d->ncmds);
		pack_raw(&p, d->cmds.data, d->cmds.len);
		proto_frame(&c->out, PROTO_NN_COMMANDS, 0, 0, 0, p.data, p.len);
		queue_flush(s, c);
		buf_free(&p);
		buf_reset(&d->cmds);
		d->ncmds = 0;
	}
}

/* End of a loop turn: make the turn's changes durable, then release the replies. */
static void turn_end(struct ev_loop *loop, void *arg)
{
	(void)loop;
	struct nn_server *s = arg;
	if (s->repl_dirty && !s->safe_mode) {
		s->repl_dirty = false;
		s->repl_last = ev_now();
		uint32_t n = nn_repl_schedule(s->repl, s->bm, &s->dns, s->repl_last);
		if (n)
			log_info("replication: %u commands queued, %u copies in flight", n,
				 nn_repl_pending(s->repl));
	}
	push_commands(s);
	if (s->nwaiters)
		answer_waiters(s, NULL);
	if (s->cfg.metadata_sync == 0 && nn_ns_dirty(s->ns)) {
		if (nn_ns_sync(s->ns)) {
			log_error("cannot make namespace changes durable; stopping so that no "
				  "client is told a change was saved when it was not");
			exit(1);
		}
	}
	for (size_t i = 0; i < s->nflush; i++) {
		struct conn *c = s->flush[i];
		if (!c)
			continue;
		c->queued = false;
		c->safe = c->out.len;
		conn_flush(s, c); /* may free c; its later slots were cleared by conn_close */
	}
	s->nflush = 0;
}

static void on_tick(struct ev_loop *loop, void *arg)
{
	(void)loop;
	struct nn_server *s = arg;
	nn_dns_check(&s->dns, ev_now(), on_dn_dead, s);
	check_deadlines(s);
	http_tick(s->http);
	check_safe_mode(s);
	recover_leases(s);
	roll_block_keys(s);
	if (!s->safe_mode) {
		check_decommission(s);
		nn_jobs_tick(s->jobs);
		double every = s->cfg.trash_interval / 10 > 1 ? s->cfg.trash_interval / 10 : 1;
		if (s->cfg.trash_interval > 0 && ev_now() - s->trash_last >= every) {
			s->trash_last = ev_now();
			struct nn_blocks freed = {0};
			nn_trash_tick(s->ns, s->cfg.trash_interval, (int64_t)time(NULL), &freed);
			release_blocks(s, &freed);
		}
	}
	if (nn_repl_expire(s->repl, &s->dns, ev_now()) || ev_now() - s->repl_last > 3)
		s->repl_dirty = true; /* a periodic pass also catches what events missed */
	if (s->cfg.metadata_sync > 0 && ev_now() - s->last_sync >= s->cfg.metadata_sync) {
		if (nn_ns_sync(s->ns)) {
			log_error("cannot sync the namespace; stopping");
			exit(1);
		}
		s->last_sync = ev_now();
	}
}

/* ---------- status page and metrics (common/http.h) ---------- */

static void status_json(struct nn_server *s, struct buf *o)
{
	struct totals t;
	totals(s, &t, true);
	double now = ev_now();
	buf_addc(o, '{');
	json_kbool(o, "safe_mode", s->safe_mode);
	json_ku64(o, "capacity", t.capacity);
	json_ku64(o, "used", t.used);
	json_ku64(o, "remaining", t.remaining);
	json_ku64(o, "files", nn_ns_files(s->ns));
	json_ku64(o, "blocks", nn_blockmap_count(s->bm));
	json_ku64(o, "under_replicated", t.under);
	json_ku64(o, "corrupt", t.corrupt);
	json_ku64(o, "missing", t.missing);
	json_key(o, "datanodes");
	buf_addc(o, '[');
	for (uint32_t i = 0; i < s->dns.n; i++) {
		const struct nn_dn *d = &s->dns.v[i];
		json_sep(o);
		buf_addc(o, '{');
		json_kstr(o, "id", d->id);
		json_kstr(o, "addr", d->addr);
		json_kstr(o, "state", dfs_dn_state_name(nn_dn_shown_state(d)));
		json_ku64(o, "capacity", d->capacity);
		json_ku64(o, "used", d->used);
		json_ku64(o, "remaining", d->remaining);
		json_ku64(o, "blocks", d->nblocks);
		json_kdbl(o, "last_contact_s", now - d->last_contact);
		json_ku64(o, "xceivers", d->xceivers);
		json_ku64(o, "tasks", nn_jobs_node_running(s->jobs, i));
		buf_addc(o, '}');
	}
	buf_adds(o, "]}");
}

static void html_esc(struct buf *o, const char *v)
{
	for (; v && *v; v++) {
		switch (*v) {
		case '<': buf_adds(o, "&lt;"); break;
		case '>': buf_adds(o, "&gt;"); break;
		case '&': buf_adds(o, "&amp;"); break;
		case '"': buf_adds(o, "&quot;"); break;
		default: buf_addc(o, *v);
		}
	}
}

static const char *human(uint64_t n, char out[32])
{
	const char *u = "KMGTPE";
	if (n < 1024) {
		snprintf(out, 32, "%llu B", (unsigned long long)n);
		return out;
	}
	double v = (double)n;
	int i = -1;
	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	snprintf(out, 32, "%.1f %ciB", v, u[i]);
	return out;
}

static void job_row(void *arg, const struct job_info *ji)
{
	struct buf *o = arg;
	buf_adds(o, "<tr><td>");
	html_esc(o, ji->id);
	buf_printf(o, "</td><td%s>%s</td><td>%u/%u</td><td>%u</td><td>%u</td><td>%.2f</td><td>",
		   ji->state == JOB_FAILED ? " class=\"bad\"" : "", job_state_name(ji->state),
		   ji->done, ji->total, ji->node_local, ji->failed_attempts, ji->elapsed_ms / 1000.0);
	html_esc(o, ji->output);
	buf_adds(o, "</td></tr>");
}

static void count_job(void *arg, const struct job_info *ji)
{
	uint32_t *by_state = arg;
	by_state[ji->state <= JOB_KILLED ? ji->state : 0]++;
}

static void status_html(struct nn_server *s, struct buf *o)
{
	struct totals t;
	totals(s, &t, true);
	char a[32], b[32], c[32];
	double now = ev_now();
	buf_adds(o, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>dfs namenode</title>"
		    "<meta http-equiv=\"refresh\" content=\"10\"><style>body{font-family:sans-serif;"
		    "margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
		    "padding:.3em .6em;text-align:right}th{background:#eee}td:first-child,"
		    "th:first-child{text-align:left}.bad{color:#b00;font-weight:bold}</style>"
		    "</head><body><h1>dfs namenode</h1>");
	buf_printf(o, "<h2>Cluster</h2><table id=\"summary\"><tr><th>capacity</th><td>%s</td></tr>"
		      "<tr><th>used</th><td>%s</td></tr><tr><th>remaining</th><td>%s</td></tr>"
		      "<tr><th>files and directories</th><td>%llu</td></tr>"
		      "<tr><th>blocks</th><td>%zu</td></tr>",
		   human(t.capacity, a), human(t.used, b), human(t.remaining, c),
		   (unsigned long long)nn_ns_files(s->ns), nn_blockmap_count(s->bm));
	buf_printf(o, "<tr><th>under-replicated blocks</th><td%s>%llu</td></tr>"
		      "<tr><th>corrupt blocks</th><td%s>%llu</td></tr>"
		      "<tr><th>missing blocks</th><td%s>%llu</td></tr>"
		      "<tr><th>safe mode</th><td%s>%s</td></tr>"
		      "<tr><th>up for</th><td>%.0f s</td></tr></table>",
		   t.under ? " class=\"bad\"" : "", (unsigned long long)t.under,
		   t.corrupt ? " class=\"bad\"" : "", (unsigned long long)t.corrupt,
		   t.missing ? " class=\"bad\"" : "", (unsigned long long)t.missing,
		   s->safe_mode ? " class=\"bad\"" : "", s->safe_mode ? "on" : "off",
		   now - s->started);
	buf_adds(o, "<h2>Datanodes</h2><table id=\"datanodes\"><tr><th>id</th><th>address</th>"
		    "<th>state</th><th>last contact</th><th>capacity</th><th>used</th>"
		    "<th>remaining</th><th>blocks</th><th>transfers</th><th>running tasks</th></tr>");
	for (uint32_t i = 0; i < s->dns.n; i++) {
		const struct nn_dn *d = &s->dns.v[i];
		const char *st = dfs_dn_state_name(nn_dn_shown_state(d));
		buf_adds(o, "<tr><td>");
		html_esc(o, d->id);
		buf_adds(o, "</td><td>");
		html_esc(o, d->addr);
		buf_printf(o, "</td><td%s>%s</td><td>%.1f s ago</td><td>%s</td><td>%s</td><td>%s</td>"
			      "<td>%llu</td><td>%u</td><td>%u</td></tr>",
			   strcmp(st, "live") ? " class=\"bad\"" : "", st, now - d->last_contact,
			   human(d->capacity, a), human(d->used, b), human(d->remaining, c),
			   (unsigned long long)d->nblocks, d->xceivers,
			   nn_jobs_node_running(s->jobs, i));
	}
	buf_adds(o, "</table><h2>Recent jobs</h2><table id=\"jobs\"><tr><th>job</th><th>state</th>"
		    "<th>tasks done</th><th>node-local</th><th>failed attempts</th><th>seconds</th>"
		    "<th>output</th></tr>");
	nn_jobs_each(s->jobs, job_row, o);
	buf_adds(o, "</table><p><a href=\"/api/status\">/api/status</a> &middot; "
		    "<a href=\"/metrics\">/metrics</a></p></body></html>\n");
}

static void metrics(struct nn_server *s, struct buf *o)
{
	struct totals t;
	totals(s, &t, true);
	buf_printf(o, "# HELP dfs_files Files, directories and other inodes.\n# TYPE dfs_files gauge\n"
		      "dfs_files %llu\n", (unsigned long long)nn_ns_files(s->ns));
	buf_printf(o, "# HELP dfs_blocks Blocks in the namespace.\n# TYPE dfs_blocks gauge\n"
		      "dfs_blocks %zu\n", nn_blockmap_count(s->bm));
	buf_printf(o, "# TYPE dfs_under_replicated_blocks gauge\ndfs_under_replicated_blocks %llu\n"
		      "# TYPE dfs_corrupt_blocks gauge\ndfs_corrupt_blocks %llu\n"
		      "# TYPE dfs_missing_blocks gauge\ndfs_missing_blocks %llu\n",
		   (unsigned long long)t.under, (unsigned long long)t.corrupt,
		   (unsigned long long)t.missing);
	buf_printf(o, "# TYPE dfs_capacity_bytes gauge\ndfs_capacity_bytes %llu\n"
		      "# TYPE dfs_used_bytes gauge\ndfs_used_bytes %llu\n"
		      "# TYPE dfs_remaining_bytes gauge\ndfs_remaining_bytes %llu\n",
		   (unsigned long long)t.capacity, (unsigned long long)t.used,
		   (unsigned long long)t.remaining);
	buf_printf(o, "# TYPE dfs_safe_mode gauge\ndfs_safe_mode %d\n", s->safe_mode ? 1 : 0);
	uint32_t by_state[8] = {0};
	uint64_t tasks = 0;
	for (uint32_t i = 0; i < s->dns.n; i++) {
		by_state[nn_dn_shown_state(&s->dns.v[i]) & 7]++;
		tasks += nn_jobs_node_running(s->jobs, i);
	}
	buf_adds(o, "# HELP dfs_datanodes Datanodes by state.\n# TYPE dfs_datanodes gauge\n");
	for (uint8_t st = PROTO_DN_LIVE; st <= PROTO_DN_DECOMMISSIONED; st++)
		buf_printf(o, "dfs_datanodes{state=\"%s\"} %u\n", dfs_dn_state_name(st), by_state[st]);
	buf_printf(o, "# HELP dfs_replication_queue Block copies in flight.\n"
		      "# TYPE dfs_replication_queue gauge\ndfs_replication_queue %u\n",
		   nn_repl_pending(s->repl));
	buf_printf(o, "# TYPE dfs_heartbeats_total counter\ndfs_heartbeats_total %llu\n",
		   (unsigned long long)s->heartbeats);
	buf_printf(o, "# TYPE dfs_connections gauge\ndfs_connections %u\n", s->nconns);
	buf_printf(o, "# TYPE dfs_tasks_running gauge\ndfs_tasks_running %llu\n",
		   (unsigned long long)tasks);
	uint32_t jobs[5] = {0};
	nn_jobs_each(s->jobs, count_job, jobs);
	buf_adds(o, "# HELP dfs_jobs Jobs the namenode remembers, by state.\n# TYPE dfs_jobs gauge\n");
	for (uint8_t st = JOB_RUNNING; st <= JOB_KILLED; st++)
		buf_printf(o, "dfs_jobs{state=\"%s\"} %u\n", job_state_name(st), jobs[st]);
	buf_adds(o, "# HELP dfs_rpc_requests_total Requests handled, by operation.\n"
		    "# TYPE dfs_rpc_requests_total counter\n");
	for (int k = 0; k < 256; k++)
		if (s->rpc_count[k])
			buf_printf(o, "dfs_rpc_requests_total{op=\"%s\"} %llu\n",
				   proto_type_name((uint16_t)k), (unsigned long long)s->rpc_count[k]);
	buf_adds(o, "# HELP dfs_rpc_seconds_total Time spent handling requests, by operation.\n"
		    "# TYPE dfs_rpc_seconds_total counter\n");
	for (int k = 0; k < 256; k++)
		if (s->rpc_count[k])
			buf_printf(o, "dfs_rpc_seconds_total{op=\"%s\"} %.6f\n",
				   proto_type_name((uint16_t)k), s->rpc_seconds[k]);
}

static int render(void *arg, const char *path, struct buf *body, const char **ctype)
{
	struct nn_server *s = arg;
	if (!strcmp(path, "/")) {
		status_html(s, body);
		*ctype = HTTP_HTML;
	} else if (!strcmp(path, "/api/status")) {
		status_json(s, body);
		buf_addc(body, '\n');
		*ctype = HTTP_JSON;
	} else if (!strcmp(path, "/metrics")) {
		metrics(s, body);
		*ctype = HTTP_PROMETHEUS;
	} else {
		buf_adds(body, "not found\n");
		return 404;
	}
	return 200;
}

static void load_block(void *arg, const struct nn_blockrec *b, uint16_t repl)
{
	struct nn_server *s = arg;
	nn_blockmap_put(s->bm, b->id, b->gs, b->len, b->ino, repl);
}

int nn_server_start(const struct cfg *cfg, const struct auth_keys *keys,
		    const char *port_file, const char *http_port_file, struct nn_server **out)
{
	struct nn_server *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->lfd = -1;
	s->keys = *keys;
	token_keys_init(&s->tokens);
	if (!token_keys_roll(&s->tokens, token_now_ms(), key_interval_ms(s), token_life_ms(s))) {
		log_error("cannot make block keys (no random bytes)");
		free(s);
		return -EIO;
	}
	nn_dns_init(&s->dns, cfg->stale_node_timeout, cfg->dead_node_timeout,
		    cfg->maintenance_timeout);
	s->repl = nn_repl_new();
	s->bm = nn_blockmap_new();
	struct nn_ns_defaults def = {(uint16_t)cfg->replication, cfg->block_size};
	int rc = nn_ns_open(cfg->name_dir, &def, &s->ns);
	if (rc) {
		if (rc == -ENOENT)
			log_error("no namespace in '%s': run 'dfs-namenode format' first",
				  cfg->name_dir);
		goto fail;
	}
	rc = nn_ns_scan_blocks(s->ns, load_block, s);
	if (rc) {
		log_error("cannot load the block list: %s", strerror(-rc));
		goto fail;
	}
	log_info("namespace loaded: %llu inodes, %zu blocks",
		 (unsigned long long)nn_ns_files(s->ns), nn_blockmap_count(s->bm));
	s->started = ev_now();
	struct nn_jobs_env jenv = {s->ns, s->bm, &s->dns, s, jobs_send, jobs_release};
	s->jobs = nn_jobs_new(cfg, &jenv);
	if (!s->jobs) {
		rc = -ENOMEM;
		goto fail;
	}
	s->safe_mode = nn_blockmap_count(s->bm) > 0;
	if (s->safe_mode)
		log_info("in safe mode until the datanodes report their blocks");
	s->loop = ev_new();
	if (!s->loop) {
		rc = -errno;
		goto fail;
	}
	s->lfd = net_listen(cfg->listen, 1024);
	if (s->lfd < 0) {
		rc = s->lfd;
		log_error("cannot listen on '%s': %s", cfg->listen, strerror(-rc));
		goto fail;
	}
	net_set_nonblock(s->lfd, 1);
	char addr[128];
	net_local_addr(s->lfd, addr, sizeof addr);
	char line[140];
	snprintf(line, sizeof line, "%s\n", addr);
	if (port_file && (rc = fs_write_atomic(port_file, line, strlen(line)))) {
		log_error("cannot write port file '%s': %s", port_file, strerror(-rc));
		goto fail;
	}
	ev_watch(s->loop, s->lfd, EV_READ, on_accept, s);
	ev_before_sleep(s->loop, turn_end, s);
	ev_every(s->loop, 0.25, on_tick, s);
	s->last_sync = ev_now();
	if (cfg->http[0] && strcmp(cfg->http, "off")) {
		char hb[128];
		rc = http_start_in_loop(cfg->http, s->loop, render, s, hb, sizeof hb, &s->http);
		if (rc) {
			log_error("cannot serve HTTP on '%s': %s", cfg->http, strerror(-rc));
			goto fail;
		}
		snprintf(line, sizeof line, "%s\n", hb);
		if (http_port_file && (rc = fs_write_atomic(http_port_file, line, strlen(line)))) {
			log_error("cannot write '%s': %s", http_port_file, strerror(-rc));
			goto fail;
		}
		log_info("status page and metrics on %s://%s/", tls_on() ? "https" : "http", hb);
	}
	the_server = s;
	log_info("namenode listening on %s (metadata in '%s')", addr, cfg->name_dir);
	*out = s;
	return 0;
fail:
	nn_server_free(s);
	return rc;
}

int nn_server_inject(struct nn_server *s, uint8_t role, uint32_t uid, const uint8_t *bytes,
		     size_t len)
{
	struct conn *c = calloc(1, sizeof *c);
	if (!c)
		return 0;
	c->fd = -1;
	c->dn = -1;
	c->id = ++s->next_conn_id;
	c->state = C_READY;
	c->peer.role = role;
	c->peer.uid = c->peer.gid = uid;
	c->cred = cred_of(s, &c->peer); /* uid 0: the superuser */
	buf_init(&c->in);
	buf_init(&c->out);
	snprintf(c->peer_addr, sizeof c->peer_addr, "fuzz");
	snprintf(c->peer_host, sizeof c->peer_host, "127.0.0.1");
	int frames = 0;
	size_t off = 0;
	while (!c->closing && len - off >= PROTO_HDR_LEN) {
		struct proto_hdr h;
		if (proto_hdr_decode(bytes + off, &h, max_frame(c)) ||
		    len - off - PROTO_HDR_LEN < h.length)
			break;
		handle_frame(s, c, &h, bytes + off + PROTO_HDR_LEN);
		off += PROTO_HDR_LEN + h.length;
		frames++;
	}
	/* the replies go nowhere: take c out of the flush list before the turn ends */
	answer_waiters(s, c);
	for (size_t i = 0; i < s->nflush; i++)
		if (s->flush[i] == c)
			s->flush[i] = NULL;
	turn_end(s->loop, s); /* replication, commands, syncs: as after a loop turn */
	conn_release(s, c);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
	return frames;
}

void nn_server_run(struct nn_server *s) { ev_run(s->loop); }

void nn_server_stop(struct nn_server *s) { ev_stop(s->loop); }

void nn_server_free(struct nn_server *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_close(s, s->conns);
	if (s->lfd >= 0)
		close(s->lfd);
	http_stop(s->http);
	nn_jobs_free(s->jobs);
	free(s->waiters);
	nn_ns_close(s->ns); /* syncs */
	nn_blockmap_free(s->bm);
	nn_locks_free(&s->locks);
	nn_repl_free(s->repl);
	nn_dns_free(&s->dns);
	ev_free(s->loop);
	free(s->flush);
	free(s->dn_conn);
	free(s->orphans);
	token_keys_destroy(&s->tokens);
	OPENSSL_cleanse(&s->keys, sizeof s->keys);
	free(s);
}
