/*
 * op_datanode: the datanodes' requests on their control connections -- register,
 * heartbeat (the reply carries the queued commands), full and incremental block
 * reports, deletions, bad replicas (also a client's CN_BAD_BLOCK), task reports, bye --
 * and the datanode's side of the server: commands pushed at the end of a turn, a dead
 * node's replicas forgotten. Loop thread only; no locks.
 */
#include "server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

/* ---------- bad replicas ---------- */

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
	nn_block_remove_replica(s->bm, b, dn);
	nn_repl_avoid(s->repl, id, dn, ev_now());
	if (why == PROTO_BAD_CHECKSUM)
		nn_dns_queue_delete(&s->dns, dn, id, gs);
	s->repl_dirty = true;
}

void nn_op_bad_block(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		     struct unpack *u)
{
	uint64_t id = unpack_u64(u), gs = unpack_u64(u);
	char dn[PROTO_ID_MAX + 1];
	unpack_str(u, dn, sizeof dn);
	uint8_t why = unpack_u8(u);
	if (!unpack_ok(u) || (why != PROTO_BAD_CHECKSUM && why != PROTO_BAD_MISSING))
		return nn_reply_err(s, c, h, -EPROTO, "malformed request");
	int i = nn_dns_find(&s->dns, dn);
	if (i >= 0)
		bad_replica(s, id, gs, (uint32_t)i, why);
	nn_reply_ok(s, c, h);
}

void nn_op_dn_bad_block(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			struct unpack *u)
{
	uint32_t n = unpack_count(u, 17);
	for (uint32_t k = 0; k < n && unpack_ok(u); k++) {
		uint64_t id = unpack_u64(u), gs = unpack_u64(u);
		uint8_t why = unpack_u8(u);
		if (unpack_ok(u))
			bad_replica(s, id, gs, (uint32_t)c->dn, why);
	}
	if (nn_malformed(s, c, h, u))
		return;
	nn_reply_ok(s, c, h);
}

/* ---------- datanode operations ---------- */

static void ensure_dn_conn(struct nn_server *s, uint32_t i)
{
	if (i < s->dn_conn_cap)
		return;
	uint32_t cap = s->dn_conn_cap ? s->dn_conn_cap : 16;
	while (cap <= i)
		cap *= 2;
	struct nn_conn **v = realloc(s->dn_conn, cap * sizeof *v);
	if (!v)
		abort();
	memset(v + s->dn_conn_cap, 0, (cap - s->dn_conn_cap) * sizeof *v);
	s->dn_conn = v;
	s->dn_conn_cap = cap;
}

struct forget_ctx {
	struct nn_blockmap *bm;
	uint32_t dn;
};

static void forget_replicas_of(void *arg, struct nn_block *b)
{
	struct forget_ctx *f = arg;
	nn_block_remove_replica(f->bm, b, f->dn);
}

/* Forgets every replica node i was thought to hold. */
static void forget_node_replicas(struct nn_server *s, uint32_t i)
{
	struct forget_ctx f = {s->bm, i};
	nn_blockmap_each(s->bm, forget_replicas_of, &f);
	s->repl_dirty = true;
}

void nn_on_dn_dead(void *arg, uint32_t i)
{
	struct nn_server *s = arg;
	forget_node_replicas(s, i);
	nn_jobs_node_down(s->jobs, i);
}

void nn_op_register(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
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
	struct unpack fsl = *u; /* its file systems, read once it has an index */
	if (u->left) {
		uint32_t k = unpack_count(u, 20);
		for (uint32_t j = 0; j < k && unpack_ok(u); j++) {
			(void)unpack_raw(u, unpack_u32(u));
			(void)unpack_u64(u);
			(void)unpack_u64(u);
		}
	}
	if (!unpack_ok(u) || !id[0])
		return nn_reply_err(s, c, h, -EPROTO, "malformed registration");
	char host[PROTO_ADDR_MAX + 1];
	uint16_t port;
	if (net_parse_addr(addr, host, sizeof host, &port) || port == 0)
		return nn_reply_err(s, c, h, -EINVAL, "bad datanode address '%s'", addr);
	/* an unspecified listen host: use the address the node connected from */
	if (!strcmp(host, "0.0.0.0"))
		snprintf(addr, sizeof addr, "%s:%u", c->peer_host, port);
	if (c->dn >= 0 && strcmp(s->dns.v[c->dn].id, id))
		/* (else the first id's slot would dangle) */
		return nn_reply_err(s, c, h, -EINVAL, "this connection is datanode '%s' already",
				    s->dns.v[c->dn].id);
	int old = nn_dns_find(&s->dns, id);
	if (old >= 0) {
		ensure_dn_conn(s, (uint32_t)old);
		struct nn_conn *oc = s->dn_conn[old];
		if (oc && oc != c) {
			log_warn("datanode '%s' registered again from %s; dropping its old "
				 "connection", id, c->peer_addr);
			oc->dn = -1;
			oc->closing = true;
			nn_conn_queue(s, oc);
		}
	}
	uint32_t i = nn_dns_register(&s->dns, id, addr, ev_now());
	ensure_dn_conn(s, i);
	s->dn_conn[i] = c;
	c->dn = (int)i;
	nn_dns_heartbeat(&s->dns, i, cap, used, rem, 0, ev_now());
	s->dns.v[i].nfs = 0;
	nn_dns_unpack_fslist(&s->dns, i, &fsl);
	nn_jobs_node_up(s->jobs, i, slots, !(dnflags & PROTO_DNF_NO_EXEC));
	log_info("datanode '%s' registered at %s (%u task slots%s)", id, addr, slots,
		 (dnflags & PROTO_DNF_NO_EXEC) ? ", built-in filters only" : "");
	nn_send_block_keys(s, c); /* before the reply: it knows them once registered */
	nn_reply_ok(s, c, h);
}

void nn_op_heartbeat(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		     struct unpack *u)
{
	int i = c->dn; /* registered (NN_OP_REGISTERED) */
	uint64_t cap = unpack_u64(u), used = unpack_u64(u), rem = unpack_u64(u);
	uint32_t xc = unpack_u32(u);
	struct unpack fsl = *u;
	if (u->left) { /* checked here, stored once the node is known to be alive */
		uint32_t k = unpack_count(u, 20);
		for (uint32_t j = 0; j < k && unpack_ok(u); j++) {
			(void)unpack_raw(u, unpack_u32(u));
			(void)unpack_u64(u);
			(void)unpack_u64(u);
		}
	}
	if (!unpack_ok(u))
		return nn_reply_err(s, c, h, -EPROTO, "malformed heartbeat");
	struct nn_dn *d = &s->dns.v[i];
	if (d->state == PROTO_DN_DEAD) {
		/* its replicas were given up: it must register and report them again */
		log_warn("datanode '%s' was declared dead and is back; asking it to re-register",
			 d->id);
		nn_reply_err(s, c, h, -ESTALE, "declared dead: register again");
		c->closing = true;
		return;
	}
	nn_dns_heartbeat(&s->dns, (uint32_t)i, cap, used, rem, xc, ev_now());
	nn_dns_unpack_fslist(&s->dns, (uint32_t)i, &fsl);
	s->heartbeats++;
	struct buf p = BUF_INIT;
	pack_u32(&p, d->ncmds);
	pack_raw(&p, d->cmds.data, d->cmds.len);
	buf_reset(&d->cmds);
	d->ncmds = 0;
	nn_reply(s, c, h, &p);
	buf_free(&p);
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
		nn_block_remove_replica(s->bm, b, dn);
		nn_dns_queue_delete(&s->dns, dn, id, gs);
		return;
	}
	if ((b->flags & NN_BLOCK_UC) && len > b->len)
		b->len = len; /* what a finalized replica holds: lease recovery's length */
	if (nn_block_add_replica(s->bm, b, dn)) {
		s->dns.v[dn].used += len; /* until the next heartbeat says exactly */
	}
	if (nn_repl_arrived(s->repl, &s->dns, id, dn))
		s->repl_dirty = true; /* its source has a free stream for the next copy */
}

static void block_report(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			 struct unpack *u, bool full)
{
	int i = c->dn; /* registered (NN_OP_REGISTERED) */
	uint32_t n = unpack_count(u, 24);
	if (!unpack_ok(u))
		return nn_reply_err(s, c, h, -EPROTO, "malformed block report");
	if (full)
		forget_node_replicas(s, (uint32_t)i); /* the report says it all */
	for (uint32_t k = 0; k < n; k++) {
		uint64_t id = unpack_u64(u), gs = unpack_u64(u), len = unpack_u64(u);
		reported(s, (uint32_t)i, id, gs, len);
	}
	if (full) {
		s->dns.v[i].reported = true;
		s->repl_dirty = true;
		nn_safemode_check(s);
		log_info("datanode '%s' reported %u blocks", s->dns.v[i].id, n);
	}
	nn_reply_ok(s, c, h);
}

void nn_op_block_report(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			struct unpack *u)
{
	block_report(s, c, h, u, true);
}

void nn_op_block_received(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			  struct unpack *u)
{
	block_report(s, c, h, u, false);
}

void nn_op_block_deleted(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			 struct unpack *u)
{
	int i = c->dn; /* registered (NN_OP_REGISTERED) */
	uint32_t n = unpack_count(u, 8);
	for (uint32_t k = 0; k < n && unpack_ok(u); k++) {
		struct nn_block *b = nn_blockmap_get(s->bm, unpack_u64(u));
		if (b && nn_block_remove_replica(s->bm, b, (uint32_t)i)) {
			s->repl_dirty = true; /* a replica we did not ask to delete is gone */
		}
	}
	if (nn_malformed(s, c, h, u))
		return;
	nn_reply_ok(s, c, h);
}


void nn_op_task_status(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		       struct unpack *u)
{
	if (nn_jobs_reports(s->jobs, (uint32_t)c->dn, u))
		return nn_reply_err(s, c, h, -EPROTO, "malformed task report");
	nn_reply_ok(s, c, h);
}

void nn_op_bye(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
	       struct unpack *u)
{
	(void)u;
	c->said_bye = true;
	nn_reply_ok(s, c, h);
}

/* ---------- commands ---------- */

/* Sends every datanode its queued commands now, instead of on its next heartbeat. */
void nn_push_commands(struct nn_server *s)
{
	for (uint32_t i = 0; i < s->dns.n; i++) {
		struct nn_dn *d = &s->dns.v[i];
		struct nn_conn *c = i < s->dn_conn_cap ? s->dn_conn[i] : NULL;
		if (!d->ncmds || !c || c->closing)
			continue;
		struct buf p = BUF_INIT;
		pack_u32(&p, d->ncmds);
		pack_raw(&p, d->cmds.data, d->cmds.len);
		proto_frame(&c->out, PROTO_NN_COMMANDS, 0, 0, 0, p.data, p.len);
		nn_conn_queue(s, c);
		buf_free(&p);
		buf_reset(&d->cmds);
		d->ncmds = 0;
	}
}
