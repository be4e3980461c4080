/*
 * server: the namenode's RPC server -- its lifecycle (start, free, the test hook), the
 * periodic tick, and the helpers every request family shares: credentials, block
 * release, block access tokens. Loop thread only; no locks. The layout of the server's
 * files is in server_int.h.
 */
#include "server_int.h"
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "fsutil.h"
#include "http.h"
#include "group.h"
#include "net.h"
#include "retrycache.h"
#include "tls.h"
#include "trash.h"

/* ---------- credentials ---------- */

/* The one superuser rule, for permission checks and privileged requests alike
 * (NN_OP_SUPER): uid 0 or the `superuser` setting; datanodes (they proved the
 * datanode key) and every caller when checks are off pass too. */
struct nn_cred nn_cred_of(const struct nn_server *s, const struct auth_peer *p)
{
	struct nn_cred c = {p->uid, p->gid, false};
	c.super = !s->cfg.permissions || p->uid == 0 ||
		  (s->cfg.superuser && p->uid == s->cfg.superuser) ||
		  p->role != PROTO_ROLE_CLIENT;
	return c;
}

bool nn_denied(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h, int rc)
{
	if (!rc)
		return false;
	nn_reply_err(s, c, h, rc, NULL);
	return true;
}

bool nn_malformed(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		  const struct unpack *u)
{
	if (unpack_ok(u))
		return false;
	nn_reply_err(s, c, h, -EPROTO, "malformed request");
	return true;
}

/* ---------- block bookkeeping ---------- */

void nn_release_blocks(struct nn_server *s, struct nn_blocks *freed)
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

int nn_note_stored(struct nn_server *s, struct unpack *u, uint64_t id, uint64_t len,
		   bool finished)
{
	uint32_t n = unpack_count(u, 4);
	struct nn_block *b = id ? nn_blockmap_get(s->bm, id) : NULL;
	for (uint32_t i = 0; i < n; i++) {
		char dn[PROTO_ID_MAX + 1];
		unpack_str(u, dn, sizeof dn);
		int idx = nn_dns_find(&s->dns, dn);
		if (b && idx >= 0 && s->dns.v[idx].connected)
			nn_block_add_replica(s->bm, b, (uint32_t)idx);
	}
	if (b) {
		b->len = len;
		if (finished)
			b->flags &= (uint8_t)~NN_BLOCK_UC;
	}
	return unpack_ok(u) ? 0 : -EPROTO;
}

void nn_pack_loc(struct buf *p, const struct nn_dn *d)
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

void nn_pack_token(struct nn_server *s, struct buf *p, const struct nn_conn *c, uint64_t id,
		   uint64_t gs, uint8_t modes)
{
	uint8_t tok[TOKEN_LEN];
	token_mint(&s->tokens, id, gs, modes, c->peer.uid, clock_wall_ms(), token_life_ms(s),
		   tok);
	pack_raw(p, tok, sizeof tok);
}

void nn_send_block_keys(struct nn_server *s, struct nn_conn *c)
{
	struct buf p = BUF_INIT;
	token_keys_pack(&s->tokens, &p);
	proto_frame(&c->out, PROTO_NN_BLOCK_KEYS, 0, 0, 0, p.data, p.len);
	nn_conn_queue(s, c);
	buf_free(&p);
}

/* Rolls the block keys when due and sends the new set to every datanode. */
static void roll_block_keys(struct nn_server *s)
{
	if (!token_keys_roll(&s->tokens, clock_wall_ms(), key_interval_ms(s), token_life_ms(s)))
		return;
	log_debug("block keys rolled over; sending them to the datanodes");
	for (uint32_t i = 0; i < s->dns.n && i < s->dn_conn_cap; i++)
		if (s->dn_conn[i] && !s->dn_conn[i]->closing)
			nn_send_block_keys(s, s->dn_conn[i]);
}

/* ---------- lifecycle ---------- */

/* The jobs' way to the datanodes (jobs.h: struct nn_jobs_env). */
static void jobs_send(void *arg, uint32_t dn, uint16_t type, const struct buf *payload)
{
	struct nn_server *s = arg;
	struct nn_conn *c = dn < s->dn_conn_cap ? s->dn_conn[dn] : NULL;
	if (!c || c->closing)
		return;
	proto_frame(&c->out, type, 0, 0, 0, payload->data, payload->len);
	nn_conn_queue(s, c);
}

static void jobs_release(void *arg, struct nn_blocks *freed) { nn_release_blocks(arg, freed); }

static void orphan_at_start(void *arg, uint64_t ino);
static void load_block(void *arg, const struct nn_blockrec *b, uint16_t repl);

int nn_server_load(struct nn_server *s)
{
	nn_rc_close(s->rc);
	s->rc = NULL;
	int rc = nn_rc_open(s->ns, s->cfg.retry_cache_seconds, (int64_t)time(NULL), &s->rc);
	if (rc) {
		log_error("cannot load the retry cache: %s", strerror(-rc));
		return rc;
	}
	rc = nn_ns_scan_blocks(s->ns, load_block, s);
	if (rc) {
		log_error("cannot load the block list: %s", strerror(-rc));
		return rc;
	}
	rc = nn_ns_scan_open_files(s->ns, orphan_at_start, s);
	if (rc) {
		log_error("cannot list the files under construction: %s", strerror(-rc));
		return rc;
	}
	nn_kept_reclaim_all(s);
	log_info("namespace loaded: %llu inodes, %zu blocks, %u files under construction",
		 (unsigned long long)nn_ns_files(s->ns), nn_blockmap_count(s->bm),
		 s->norphans);
	if (s->group) { /* a group's new leader: as after a start */
		s->started = ev_now();
		nn_safemode_start(s);
	}
	return 0;
}

static void on_tick(struct ev_loop *loop, void *arg)
{
	(void)loop;
	struct nn_server *s = arg;
	if (s->group && !nn_group_serving(s->group))
		return; /* a follower keeps no soft state and changes nothing */
	nn_dns_check(&s->dns, ev_now(), nn_on_dn_dead, s);
	nn_conn_check_deadlines(s);
	nn_rc_expire(s->rc, (int64_t)time(NULL));
	http_tick(s->http);
	nn_safemode_check(s);
	nn_lease_recover(s);
	roll_block_keys(s);
	if (!s->safe_mode) {
		nn_check_decommission(s);
		nn_jobs_tick(s->jobs);
		double every = s->cfg.trash_interval / 10 > 1 ? s->cfg.trash_interval / 10 : 1;
		if (s->cfg.trash_interval > 0 && ev_now() - s->trash_last >= every) {
			s->trash_last = ev_now();
			struct nn_blocks freed = {0};
			nn_trash_tick(s->ns, s->cfg.trash_interval, (int64_t)time(NULL), &freed);
			nn_release_blocks(s, &freed);
		}
	}
	if (nn_repl_expire(s->repl, &s->dns, ev_now()) || ev_now() - s->repl_last > 3)
		s->repl_dirty = true; /* a periodic pass also catches what events missed */
	if (!s->group && s->cfg.metadata_sync > 0 &&
	    ev_now() - s->last_sync >= s->cfg.metadata_sync) {
		if (nn_ns_sync(s->ns)) {
			log_error("cannot sync the namespace; stopping");
			exit(1);
		}
		s->last_sync = ev_now();
	}
}

/* ---------- status page and metrics (common/http.h) ---------- */

/* A file open for writing when the namenode stopped: no connection holds its lease. */
static void orphan_at_start(void *arg, uint64_t ino)
{
	struct nn_server *s = arg;
	nn_lease_orphan(s, ino);
	/* its last block was being written when the namenode stopped: what the datanodes
	 * report of it is what was written, not stale (the namespace has its length as
	 * of the last add_block), until lease recovery or the writer's complete */
	struct nn_blocks bl = {0};
	if (!nn_ns_blocks(s->ns, ino, 0, 0, &bl) && bl.n) {
		struct nn_block *b = nn_blockmap_get(s->bm, bl.v[bl.n - 1].id);
		if (b)
			b->flags |= NN_BLOCK_UC;
	}
	nn_blocks_free(&bl);
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
	if (!token_keys_roll(&s->tokens, clock_wall_ms(), key_interval_ms(s), token_life_ms(s))) {
		log_error("cannot make block keys (no random bytes)");
		free(s);
		return -EIO;
	}
	nn_dns_init(&s->dns, cfg->stale_node_timeout, cfg->dead_node_timeout,
		    cfg->maintenance_timeout);
	s->repl = nn_repl_new();
	s->bm = nn_blockmap_new();
	struct nn_ns_defaults def = {(uint16_t)cfg->replication, cfg->block_size};
	int rc = nn_group_configured(cfg) ? nn_group_prepare(cfg) : 0;
	if (rc)
		goto fail;
	rc = nn_ns_open(cfg->name_dir, &def, &s->ns);
	if (rc) {
		if (rc == -ENOENT)
			log_error("no namespace in '%s': run 'dfs-namenode format' first",
				  cfg->name_dir);
		goto fail;
	}
	/* a group member loads this when it becomes the leader (group.h) */
	if (!nn_group_configured(cfg) && (rc = nn_server_load(s)))
		goto fail;
	s->started = ev_now();
	struct nn_jobs_env jenv = {s->ns, s->bm, &s->dns, s, jobs_send, jobs_release,
				   s->keys.datanode};
	s->jobs = nn_jobs_new(cfg, &jenv);
	s->cb = nn_cb_new();
	if (!s->jobs || !s->cb) {
		rc = -ENOMEM;
		goto fail;
	}
	if (!nn_group_configured(cfg))
		nn_safemode_start(s);
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
	if ((rc = nn_conn_listen(s)))
		goto fail;
	ev_every(s->loop, 0.25, on_tick, s);
	s->last_sync = ev_now();
	if (cfg->http[0] && strcmp(cfg->http, "off")) {
		char hb[128];
		rc = http_start_in_loop(cfg->http, s->loop, nn_status_render, s, hb, sizeof hb,
					&s->http);
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
	if (nn_group_configured(cfg) && (rc = nn_group_start(s, &s->group)))
		goto fail;
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
	return nn_server_inject_replies(s, role, uid, bytes, len, NULL);
}

int nn_server_inject_replies(struct nn_server *s, uint8_t role, uint32_t uid,
			     const uint8_t *bytes, size_t len, struct buf *replies)
{
	struct nn_conn *c = calloc(1, sizeof *c);
	if (!c)
		return 0;
	c->fd = -1;
	c->dn = -1;
	c->id = ++s->next_conn_id;
	c->state = NN_CONN_READY;
	c->peer.role = role;
	c->peer.uid = c->peer.gid = uid;
	c->cred = nn_cred_of(s, &c->peer); /* uid 0: the superuser */
	buf_init(&c->in);
	buf_init(&c->out);
	snprintf(c->peer_addr, sizeof c->peer_addr, "fuzz");
	snprintf(c->peer_host, sizeof c->peer_host, "127.0.0.1");
	int frames = 0;
	size_t off = 0;
	while (!c->closing && len - off >= PROTO_HDR_LEN) {
		struct proto_hdr h;
		if (proto_hdr_decode(bytes + off, &h, nn_conn_max_frame(c)) ||
		    len - off - PROTO_HDR_LEN < h.length)
			break;
		nn_conn_frame(s, c, &h, bytes + off + PROTO_HDR_LEN);
		off += PROTO_HDR_LEN + h.length;
		frames++;
	}
	/* the replies go nowhere (or to replies): take c out of the flush list before the
	 * turn ends */
	nn_answer_waiters(s, c);
	nn_conn_unqueue(s, c);
	nn_conn_turn_end(s); /* replication, commands, syncs: as after a loop turn */
	if (replies)
		buf_add(replies, c->out.data, c->out.len);
	nn_conn_release(s, c);
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
	nn_group_stop(s->group); /* first: no more log events */
	s->group = NULL;
	while (s->conns)
		nn_conn_close(s, s->conns);
	if (s->lfd >= 0)
		close(s->lfd);
	http_stop(s->http);
	nn_jobs_free(s->jobs);
	free(s->waiters);
	nn_rc_close(s->rc);
	nn_cb_free(s->cb);
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

