/*
 * Unit tests for re-replication and excess deletion (namenode/replication.h) over a
 * block map and a datanode table built by hand: four reported, live nodes on four
 * hosts with plenty of space. Commands are checked by decoding each node's cmds buffer
 * (the PROTO_DN_HEARTBEAT reply layout of common/proto.h). Every test runs in its own
 * forked process (CK_FORK default).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../namenode/replication.h"
#include "log.h"
#include "pack.h"
#include "proto.h"
#include "unit.h"

#define GB (1024ULL * 1024ULL * 1024ULL)
#define MB (1024ULL * 1024ULL)
#define NOW 1000.0
#define NNODES 4

static struct nn_dns dns;
static struct nn_blockmap *bm;
static struct nn_repl *repl;

static void repl_setup(void)
{
	srand(777);
	nn_dns_init(&dns, 30, 600, 1800);
	for (int k = 0; k < NNODES; k++) {
		char id[32], addr[64];
		snprintf(id, sizeof id, "dn%d", k);
		snprintf(addr, sizeof addr, "10.0.0.%d:9000", k + 1);
		uint32_t i = nn_dns_register(&dns, id, addr, NOW);
		ck_assert_uint_eq(i, (uint32_t)k);
		dns.v[i].reported = true;
		nn_dns_heartbeat(&dns, i, 1000 * GB, 100 * GB, 900 * GB, 0, NOW);
	}
	bm = nn_blockmap_new();
	repl = nn_repl_new();
}

static void repl_teardown(void)
{
	nn_repl_free(repl);
	nn_blockmap_free(bm);
	nn_dns_free(&dns);
}

/* ---- helpers ---- */

/* A finalized block with replicas on the nodes listed (ending with -1). */
static struct nn_block *block(uint64_t id, uint16_t r, const int *nodes)
{
	struct nn_block *b = nn_blockmap_put(bm, id, id + 1000, 4 * MB, 1, r);
	for (; *nodes >= 0; nodes++)
		ck_assert(nn_block_add_replica(bm, b, (uint32_t)*nodes));
	return b;
}

static uint32_t total_cmds(void)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < dns.n; i++)
		n += dns.v[i].ncmds;
	return n;
}

struct cmd {
	uint8_t type;
	uint64_t id, gs, len;
	uint32_t ntargets;
	int targets[4]; /* node indexes, found by id */
};

/* Decodes every command queued on node i; returns how many (<= max). */
static uint32_t decode_cmds(uint32_t i, struct cmd *out, uint32_t max)
{
	struct unpack u;
	uint32_t k = 0;
	unpack_init(&u, dns.v[i].cmds.data, dns.v[i].cmds.len);
	while (u.left && k < max) {
		struct cmd *c = &out[k++];
		c->type = unpack_u8(&u);
		c->id = unpack_u64(&u);
		c->gs = unpack_u64(&u);
		c->len = unpack_u64(&u);
		c->ntargets = unpack_u32(&u);
		ck_assert_uint_le(c->ntargets, 4);
		for (uint32_t t = 0; t < c->ntargets; t++) {
			char id[PROTO_ID_MAX + 1], addr[PROTO_ADDR_MAX + 1];
			unpack_str(&u, id, sizeof id);
			unpack_str(&u, addr, sizeof addr);
			c->targets[t] = nn_dns_find(&dns, id);
			ck_assert_int_ge(c->targets[t], 0);
			ck_assert_str_eq(addr, dns.v[c->targets[t]].addr);
		}
		ck_assert(unpack_ok(&u));
	}
	ck_assert_uint_eq(u.left, 0);
	ck_assert_uint_eq(k, dns.v[i].ncmds);
	return k;
}

static bool has_target(const struct cmd *c, int node)
{
	for (uint32_t t = 0; t < c->ntargets; t++)
		if (c->targets[t] == node)
			return true;
	return false;
}

/* ---- tests ---- */

START_TEST(test_replicate_one_missing)
{
	struct nn_block *b = block(10, 3, (const int[]){0, 2, -1});
	ck_assert_uint_eq(nn_repl_pending(repl), 0);
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW), 1);
	ck_assert_uint_eq(total_cmds(), 1);
	int src = dns.v[0].ncmds ? 0 : 2;
	ck_assert_uint_eq(dns.v[src].ncmds, 1);
	ck_assert_uint_eq((uint8_t)dns.v[src].cmds.data[0], PROTO_CMD_REPLICATE);
	struct cmd c[4];
	ck_assert_uint_eq(decode_cmds((uint32_t)src, c, 4), 1);
	ck_assert_uint_eq(c[0].type, PROTO_CMD_REPLICATE);
	ck_assert_uint_eq(c[0].id, 10);
	ck_assert_uint_eq(c[0].gs, 1010);
	ck_assert_uint_eq(c[0].len, 4 * MB);
	ck_assert_uint_eq(c[0].ntargets, 1);
	/* the one live node not holding it: 1 or 3 */
	ck_assert(c[0].targets[0] == 1 || c[0].targets[0] == 3);
	ck_assert(!nn_block_has_replica(b, (uint32_t)c[0].targets[0]));
	ck_assert_uint_eq(nn_repl_pending(repl), 1);
	ck_assert_uint_eq(dns.v[src].replicating, 1);

	/* not twice while pending */
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW + 1), 0);
	ck_assert_uint_eq(total_cmds(), 1);
	ck_assert_uint_eq(nn_repl_pending(repl), 1);

	/* arrival clears it, and the wrong node or block does not */
	uint32_t tgt = (uint32_t)c[0].targets[0];
	ck_assert(!nn_repl_arrived(repl, &dns, 10, tgt == 1 ? 3 : 1));
	ck_assert(!nn_repl_arrived(repl, &dns, 11, tgt));
	ck_assert_uint_eq(nn_repl_pending(repl), 1);
	ck_assert(nn_repl_arrived(repl, &dns, 10, tgt));
	ck_assert_uint_eq(nn_repl_pending(repl), 0);
	ck_assert_uint_eq(dns.v[src].replicating, 0);
	ck_assert(!nn_repl_arrived(repl, &dns, 10, tgt));

	/* with the replica recorded the block is complete: nothing more */
	nn_block_add_replica(bm, nn_blockmap_get(bm, 10), tgt);
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW + 2), 0);
	ck_assert_uint_eq(total_cmds(), 1);
	ck_assert_uint_eq(nn_repl_pending(repl), 0);
}
END_TEST

START_TEST(test_replicate_two_targets)
{
	block(20, 3, (const int[]){1, -1});
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW), 1);
	ck_assert_uint_eq(dns.v[1].ncmds, 1);
	struct cmd c[2];
	ck_assert_uint_eq(decode_cmds(1, c, 2), 1);
	ck_assert_uint_eq(c[0].ntargets, 2);
	ck_assert_int_ne(c[0].targets[0], c[0].targets[1]);
	ck_assert(!has_target(&c[0], 1));
	ck_assert_uint_eq(nn_repl_pending(repl), 2);
	ck_assert_uint_eq(dns.v[1].replicating, 2);
}
END_TEST

START_TEST(test_replication_capped_by_nodes)
{
	/* replication 10 on a 4-node cluster: only 4 copies are possible */
	block(30, 10, (const int[]){0, 1, 2, 3, -1});
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW), 0);
	ck_assert_uint_eq(total_cmds(), 0);
	ck_assert_uint_eq(nn_repl_pending(repl), 0);
}
END_TEST

START_TEST(test_excess_deleted)
{
	struct nn_block *b = block(40, 3, (const int[]){0, 1, 2, 3, -1});
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW), 1);
	ck_assert_uint_eq(total_cmds(), 1);
	b = nn_blockmap_get(bm, 40);
	ck_assert_uint_eq(b->nrep, 3);
	int victim = -1;
	for (int k = 0; k < NNODES; k++)
		if (dns.v[k].ncmds)
			victim = k;
	ck_assert_int_ge(victim, 0);
	ck_assert(!nn_block_has_replica(b, (uint32_t)victim));
	struct cmd c[2];
	ck_assert_uint_eq(decode_cmds((uint32_t)victim, c, 2), 1);
	ck_assert_uint_eq(c[0].type, PROTO_CMD_DELETE);
	ck_assert_uint_eq(c[0].id, 40);
	ck_assert_uint_eq(c[0].gs, 1040);
	ck_assert_uint_eq(nn_repl_pending(repl), 0);
	/* nothing further */
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW), 0);
	ck_assert_uint_eq(total_cmds(), 1);
}
END_TEST

START_TEST(test_excess_prefers_fullest)
{
	nn_dns_heartbeat(&dns, 2, 1000 * GB, 990 * GB, 10 * GB, 0, NOW);
	block(41, 2, (const int[]){0, 1, 2, -1});
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW), 1);
	ck_assert_uint_eq(dns.v[2].ncmds, 1);
	ck_assert(!nn_block_has_replica(nn_blockmap_get(bm, 41), 2));
}
END_TEST

START_TEST(test_uc_left_alone)
{
	struct nn_block *b = block(50, 3, (const int[]){0, -1});
	b->flags |= NN_BLOCK_UC;
	b = block(51, 1, (const int[]){0, 1, 2, -1});
	b->flags |= NN_BLOCK_UC;
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW), 0);
	ck_assert_uint_eq(total_cmds(), 0);
	ck_assert_uint_eq(nn_repl_pending(repl), 0);
	ck_assert_uint_eq(nn_blockmap_get(bm, 51)->nrep, 3);
}
END_TEST

START_TEST(test_no_live_replica_left_alone)
{
	block(60, 3, (const int[]){2, -1});
	block(61, 3, (const int[]){-1});
	nn_dns_lost(&dns, 2, false, NOW);
	uint32_t live, maint;
	nn_repl_count(nn_blockmap_get(bm, 60), &dns, NOW, &live, &maint);
	ck_assert_uint_eq(live, 0);
	ck_assert_uint_eq(maint, 0);
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW), 0);
	ck_assert_uint_eq(total_cmds(), 0);
	ck_assert_uint_eq(nn_repl_pending(repl), 0);
}
END_TEST

struct order_probe {
	uint32_t seen, two_live_early;
};

static void order_cb(void *arg, struct nn_block *b)
{
	struct order_probe *p = arg;
	if (p->seen++ < NN_REPL_STREAMS && b->nrep == 2)
		p->two_live_early++;
}

START_TEST(test_fewest_replicas_first)
{
	/* node 1 is stale: its replicas count, but it is neither a source nor a target,
	 * so node 0 is the only source for every block below */
	dns.v[1].state = PROTO_DN_STALE;
	for (uint64_t k = 0; k < NN_REPL_STREAMS; k++) {
		block(100 + k, 3, (const int[]){0, 1, -1}); /* 2 live, wants 1 */
		block(200 + k, 2, (const int[]){0, -1});    /* 1 live, wants 1 */
	}
	/* the walk order mixes them: without sorting some 2-live blocks would go first */
	struct order_probe p = {0, 0};
	nn_blockmap_each(bm, order_cb, &p);
	ck_assert_msg(p.two_live_early > 0, "test premise: walk order not mixed");

	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW), NN_REPL_STREAMS);
	ck_assert_uint_eq(dns.v[0].ncmds, NN_REPL_STREAMS);
	ck_assert_uint_eq(total_cmds(), NN_REPL_STREAMS);
	ck_assert_uint_eq(dns.v[0].replicating, NN_REPL_STREAMS);
	struct cmd c[NN_REPL_STREAMS + 1];
	ck_assert_uint_eq(decode_cmds(0, c, NN_REPL_STREAMS + 1), NN_REPL_STREAMS);
	bool got[NN_REPL_STREAMS] = {false};
	for (int k = 0; k < NN_REPL_STREAMS; k++) {
		ck_assert_uint_eq(c[k].type, PROTO_CMD_REPLICATE);
		ck_assert_msg(c[k].id >= 200 && c[k].id < 200 + NN_REPL_STREAMS,
			      "command %d is for block %llu (2 live) before a 1-live block", k,
			      (unsigned long long)c[k].id);
		ck_assert(!got[c[k].id - 200]);
		got[c[k].id - 200] = true;
		ck_assert_uint_eq(c[k].ntargets, 1);
		ck_assert(c[k].targets[0] == 2 || c[k].targets[0] == 3);
	}
	ck_assert_uint_eq(nn_repl_pending(repl), NN_REPL_STREAMS);
	/* the source is busy: nothing more now */
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW), 0);
}
END_TEST

START_TEST(test_maintenance_counts_with_two_live)
{
	block(300, 3, (const int[]){0, 1, 2, -1}); /* 2 live + 1 in maintenance */
	block(301, 3, (const int[]){0, 1, -1});    /* 1 live + 1 in maintenance */
	nn_dns_lost(&dns, 0, true, NOW);
	ck_assert(nn_dn_in_maintenance(&dns.v[0], NOW));

	uint32_t live, maint;
	nn_repl_count(nn_blockmap_get(bm, 300), &dns, NOW, &live, &maint);
	ck_assert_uint_eq(live, 2);
	ck_assert_uint_eq(maint, 1);
	nn_repl_count(nn_blockmap_get(bm, 301), &dns, NOW, &live, &maint);
	ck_assert_uint_eq(live, 1);
	ck_assert_uint_eq(maint, 1);

	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW), 1);
	/* only block 301 was copied, from node 1, to both other live nodes */
	ck_assert_uint_eq(dns.v[1].ncmds, 1);
	ck_assert_uint_eq(total_cmds(), 1);
	struct cmd c[2];
	ck_assert_uint_eq(decode_cmds(1, c, 2), 1);
	ck_assert_uint_eq(c[0].id, 301);
	ck_assert_uint_eq(c[0].ntargets, 2);
	ck_assert(has_target(&c[0], 2));
	ck_assert(has_target(&c[0], 3));
	ck_assert(!has_target(&c[0], 0));
	/* the maintenance node's replica is not deleted as excess either */
	ck_assert_uint_eq(nn_blockmap_get(bm, 300)->nrep, 3);

	/* once maintenance is over, node 0's replica of 300 no longer counts */
	double later = NOW + 1800 + 1;
	nn_repl_count(nn_blockmap_get(bm, 300), &dns, later, &live, &maint);
	ck_assert_uint_eq(live, 2);
	ck_assert_uint_eq(maint, 0);
}
END_TEST

START_TEST(test_expire)
{
	block(400, 3, (const int[]){0, 1, -1});
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW), 1);
	ck_assert_uint_eq(nn_repl_pending(repl), 1);
	int src = dns.v[0].ncmds ? 0 : 1;
	ck_assert_uint_eq(dns.v[src].replicating, 1);
	/* not yet */
	ck_assert(!nn_repl_expire(repl, &dns, NOW + 1));
	ck_assert_uint_eq(nn_repl_pending(repl), 1);
	/* long after its deadline */
	ck_assert(nn_repl_expire(repl, &dns, NOW + 1e6));
	ck_assert_uint_eq(nn_repl_pending(repl), 0);
	ck_assert_uint_eq(dns.v[src].replicating, 0);
	ck_assert(!nn_repl_expire(repl, &dns, NOW + 1e6));
	/* retried */
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW + 1e6), 1);
	ck_assert_uint_eq(nn_repl_pending(repl), 1);
}
END_TEST

START_TEST(test_expire_target_lost)
{
	block(410, 3, (const int[]){0, 1, -1});
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW), 1);
	int src = dns.v[0].ncmds ? 0 : 1;
	struct cmd c[1];
	ck_assert_uint_eq(decode_cmds((uint32_t)src, c, 1), 1);
	ck_assert_uint_eq(c[0].ntargets, 1);
	int tgt = c[0].targets[0];
	ck_assert(tgt == 2 || tgt == 3);
	nn_dns_lost(&dns, (uint32_t)tgt, false, NOW);
	ck_assert(nn_repl_expire(repl, &dns, NOW + 1));
	ck_assert_uint_eq(nn_repl_pending(repl), 0);
	/* retried on the remaining node */
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW + 1), 1);
	ck_assert_uint_eq(dns.v[src].ncmds, 2);
	struct cmd c2[2];
	ck_assert_uint_eq(decode_cmds((uint32_t)src, c2, 2), 2);
	ck_assert_uint_eq(c2[1].targets[0], tgt == 2 ? 3 : 2);
}
END_TEST

START_TEST(test_decommission_done)
{
	dns.v[0].decommission = true;
	struct nn_block *b = block(500, 2, (const int[]){0, -1});
	block(501, 2, (const int[]){1, 2, -1}); /* not on node 0: irrelevant */
	ck_assert(!nn_repl_decommission_done(bm, &dns, 0));
	b = nn_blockmap_get(bm, 500);
	nn_block_add_replica(bm, b, 1);
	ck_assert(!nn_repl_decommission_done(bm, &dns, 0));
	nn_block_add_replica(bm, b, 3);
	ck_assert(nn_repl_decommission_done(bm, &dns, 0));
	/* a node with nothing at all is done */
	ck_assert(nn_repl_decommission_done(bm, &dns, 3));
}
END_TEST

/* The decommissioning node holds the only copy: it must be the copy's source, or the
 * decommission can never finish. */
START_TEST(test_decommission_sole_copy_replicated)
{
	dns.v[0].decommission = true;
	block(510, 2, (const int[]){0, -1});
	ck_assert(!nn_repl_decommission_done(bm, &dns, 0));
	uint32_t q = nn_repl_schedule(repl, bm, &dns, NOW);
	ck_assert_msg(q == 1 && dns.v[0].ncmds == 1,
		      "block 510 held only by decommissioning node 0 was not scheduled "
		      "(queued %u, node 0 ncmds %u)", q, dns.v[0].ncmds);
	struct cmd c[1];
	ck_assert_uint_eq(decode_cmds(0, c, 1), 1);
	ck_assert_uint_eq(c[0].type, PROTO_CMD_REPLICATE);
	ck_assert_uint_eq(c[0].ntargets, 2);
	ck_assert(!has_target(&c[0], 0));
}
END_TEST

/* A decommissioning node holding a second copy: the block gets its copy elsewhere,
 * possibly from the retiring node, and never to it. */
START_TEST(test_decommission_not_counted)
{
	dns.v[0].decommission = true;
	block(520, 2, (const int[]){0, 1, -1});
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW), 1);
	ck_assert_uint_eq(total_cmds(), 1);
	int src = dns.v[0].ncmds ? 0 : 1;
	struct cmd c[1];
	ck_assert_uint_eq(decode_cmds((uint32_t)src, c, 1), 1);
	ck_assert_uint_eq(c[0].ntargets, 1);
	ck_assert(c[0].targets[0] == 2 || c[0].targets[0] == 3);
}
END_TEST

/* A corrupt copy dropped from node 2 (of 0, 1, 2): the new copy goes to node 3, which
 * lacks the block, never back to node 2 -- for each of 16 blocks, so a random choice
 * between the two would show. */
START_TEST(test_repair_avoids_bad_node)
{
	for (uint64_t id = 600; id < 616; id++) {
		struct nn_block *b = block(id, 3, (const int[]){0, 1, 2, -1});
		ck_assert(nn_block_remove_replica(bm, b, 2));
		nn_repl_avoid(repl, id, 2, NOW);
	}
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW), 16);
	for (uint32_t src = 0; src < 2; src++) {
		struct cmd c[32];
		uint32_t n = decode_cmds(src, c, 32);
		for (uint32_t k = 0; k < n; k++) {
			ck_assert_uint_eq(c[k].ntargets, 1);
			ck_assert_int_eq(c[k].targets[0], 3);
		}
	}
	ck_assert_uint_eq(dns.v[2].ncmds, 0);
}
END_TEST

/* Every node already holds the block: the bad copy is replaced in place. */
START_TEST(test_repair_in_place_when_all_hold_it)
{
	struct nn_block *b = block(700, 4, (const int[]){0, 1, 2, 3, -1});
	ck_assert(nn_block_remove_replica(bm, b, 1));
	nn_repl_avoid(repl, 700, 1, NOW);
	ck_assert_uint_eq(nn_repl_schedule(repl, bm, &dns, NOW), 1);
	struct cmd c[2];
	uint32_t src = dns.v[0].ncmds ? 0 : dns.v[2].ncmds ? 2 : 3;
	ck_assert_uint_eq(decode_cmds(src, c, 2), 1);
	ck_assert_uint_eq(c[0].ntargets, 1);
	ck_assert_int_eq(c[0].targets[0], 1);
}
END_TEST

int main(void)
{
	log_set_level(LOG_ERROR); /* expiry logs expected warnings */
	return UNIT_MAIN("replication",
		{"core", .setup = repl_setup, .teardown = repl_teardown, .tests = UNIT_TESTS(
			test_replicate_one_missing, test_replicate_two_targets,
			test_replication_capped_by_nodes, test_excess_deleted,
			test_excess_prefers_fullest, test_uc_left_alone,
			test_no_live_replica_left_alone, test_fewest_replicas_first,
			test_maintenance_counts_with_two_live, test_expire, test_expire_target_lost,
			test_decommission_done, test_decommission_sole_copy_replicated,
			test_decommission_not_counted, test_repair_avoids_bad_node,
			test_repair_in_place_when_all_hold_it)});
}
