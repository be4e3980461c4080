/*
 * Unit tests for the namenode datanode table and replica placement
 * (namenode/datanodes.h): registration, liveness timeouts, maintenance, choice of
 * nodes for new replicas, reader ordering and command queues. Every test runs in its
 * own forked process (CK_FORK default).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../namenode/datanodes.h"
#include "log.h"
#include "pack.h"
#include "proto.h"
#include "unit.h"

#define GB (1024ULL * 1024ULL * 1024ULL)
#define MB (1024ULL * 1024ULL)
#define BLOCK (64 * MB)

#define STALE_T 30.0
#define DEAD_T 600.0
#define MAINT_T 1800.0

static struct nn_dns d;

static void dns_setup(void)
{
	nn_dns_init(&d, STALE_T, DEAD_T, MAINT_T);
	srand(12345);
}

static void dns_teardown(void) { nn_dns_free(&d); }

/* ---- helpers ---- */

/* Registers node `id` at addr, reported and live, with the given space. */
static uint32_t add_node(const char *id, const char *addr, uint64_t capacity,
			 uint64_t remaining, double now)
{
	uint32_t i = nn_dns_register(&d, id, addr, now);
	d.v[i].reported = true;
	nn_dns_heartbeat(&d, i, capacity, capacity - remaining, remaining, 0, now);
	return i;
}

/* Six nodes, two per host on 10.0.0.1..3: node k on host 10.0.0.(k/2 + 1). */
static void add_six(void)
{
	for (int k = 0; k < 6; k++) {
		char id[32], addr[64];
		snprintf(id, sizeof id, "dn%d", k);
		snprintf(addr, sizeof addr, "10.0.0.%d:%d", k / 2 + 1, 9000 + k);
		ck_assert_uint_eq(add_node(id, addr, 100 * GB, 50 * GB, 0), (uint32_t)k);
	}
}

/* nn_dns_check at time t, as the namenode's tick runs it: every second from the last
 * check up to t (one jump would be a namenode that did not run meanwhile). */
static void check_at(double t, void (*cb)(void *arg, uint32_t i), void *arg)
{
	for (double x = d.last_check ? d.last_check + 1 : t; x < t; x += 1)
		nn_dns_check(&d, x, cb, arg);
	nn_dns_check(&d, t, cb, arg);
}

static bool contains(const uint32_t *v, uint32_t n, uint32_t x)
{
	for (uint32_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static void assert_distinct(const uint32_t *v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = i + 1; j < n; j++)
			ck_assert_msg(v[i] != v[j], "node %u chosen twice", v[i]);
}

struct dead_log {
	uint32_t n;
	uint32_t who[16];
};

static void dead_cb(void *arg, uint32_t i)
{
	struct dead_log *l = arg;
	ck_assert_uint_lt(l->n, 16);
	l->who[l->n++] = i;
}

/* ---- registration ---- */

START_TEST(test_register_twice)
{
	uint32_t a = add_node("alpha", "10.0.0.1:9000", 100 * GB, 50 * GB, 1);
	uint32_t b = add_node("beta", "10.0.0.2:9000", 100 * GB, 50 * GB, 1);
	ck_assert_uint_ne(a, b);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_str_eq(d.v[a].host, "10.0.0.1");
	ck_assert_str_eq(d.v[a].addr, "10.0.0.1:9000");

	uint32_t a2 = nn_dns_register(&d, "alpha", "10.0.0.7:9100", 5);
	ck_assert_uint_eq(a2, a);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_str_eq(d.v[a].addr, "10.0.0.7:9100");
	ck_assert_str_eq(d.v[a].host, "10.0.0.7");
	ck_assert_str_eq(d.v[a].id, "alpha");
	ck_assert_uint_eq(d.v[a].state, PROTO_DN_LIVE);
	ck_assert(d.v[a].connected);
	/* the other node is untouched */
	ck_assert_str_eq(d.v[b].addr, "10.0.0.2:9000");
}
END_TEST

START_TEST(test_find)
{
	ck_assert_int_eq(nn_dns_find(&d, "x"), -1);
	add_six();
	ck_assert_int_eq(nn_dns_find(&d, "dn0"), 0);
	ck_assert_int_eq(nn_dns_find(&d, "dn4"), 4);
	ck_assert_int_eq(nn_dns_find(&d, "dn5"), 5);
	ck_assert_int_eq(nn_dns_find(&d, "dn6"), -1);
	ck_assert_int_eq(nn_dns_find(&d, "dn"), -1);
	ck_assert_uint_eq(nn_dns_live(&d), 6);
}
END_TEST

START_TEST(test_register_many_grows)
{
	for (int k = 0; k < 40; k++) {
		char id[32];
		snprintf(id, sizeof id, "n%d", k);
		ck_assert_uint_eq(add_node(id, "10.1.1.1:1", GB, GB, 0), (uint32_t)k);
	}
	ck_assert_int_eq(nn_dns_find(&d, "n0"), 0);
	ck_assert_int_eq(nn_dns_find(&d, "n39"), 39);
	ck_assert_str_eq(d.v[0].id, "n0");
	ck_assert_uint_eq(nn_dns_live(&d), 40);
}
END_TEST

/* ---- placement ---- */

START_TEST(test_choose_distinct)
{
	add_six();
	for (int round = 0; round < 200; round++) {
		uint32_t out[6];
		uint32_t got = nn_dns_choose(&d, 6, -1, NULL, 0, BLOCK, out);
		ck_assert_uint_eq(got, 6);
		assert_distinct(out, got);
		for (uint32_t i = 0; i < got; i++)
			ck_assert_uint_lt(out[i], 6);
	}
	/* more than there are: as many as exist */
	uint32_t out[10];
	ck_assert_uint_eq(nn_dns_choose(&d, 10, -1, NULL, 0, BLOCK, out), 6);
	assert_distinct(out, 6);
	ck_assert_uint_eq(nn_dns_choose(&d, 0, -1, NULL, 0, BLOCK, out), 0);
}
END_TEST

START_TEST(test_choose_distinct_hosts)
{
	add_six();
	for (int round = 0; round < 300; round++) {
		uint32_t out[3];
		ck_assert_uint_eq(nn_dns_choose(&d, 3, -1, NULL, 0, BLOCK, out), 3);
		assert_distinct(out, 3);
		for (uint32_t i = 0; i < 3; i++)
			for (uint32_t j = i + 1; j < 3; j++)
				ck_assert_msg(strcmp(d.v[out[i]].host, d.v[out[j]].host),
					      "round %d: nodes %u and %u share host %s", round,
					      out[i], out[j], d.v[out[i]].host);
	}
}
END_TEST

START_TEST(test_choose_favored_first)
{
	add_six();
	for (int fav = 0; fav < 6; fav++) {
		for (int round = 0; round < 20; round++) {
			uint32_t out[3];
			ck_assert_uint_eq(nn_dns_choose(&d, 3, fav, NULL, 0, BLOCK, out), 3);
			ck_assert_uint_eq(out[0], (uint32_t)fav);
			assert_distinct(out, 3);
			/* still one per host */
			ck_assert_str_ne(d.v[out[1]].host, d.v[out[0]].host);
			ck_assert_str_ne(d.v[out[2]].host, d.v[out[0]].host);
			ck_assert_str_ne(d.v[out[2]].host, d.v[out[1]].host);
		}
	}
	/* a favored node that is excluded is not chosen */
	uint32_t ex = 2, out[3];
	for (int round = 0; round < 50; round++) {
		ck_assert_uint_eq(nn_dns_choose(&d, 3, 2, &ex, 1, BLOCK, out), 3);
		ck_assert(!contains(out, 3, 2));
	}
	/* an out-of-range favored index is ignored */
	ck_assert_uint_eq(nn_dns_choose(&d, 3, 99, NULL, 0, BLOCK, out), 3);
	assert_distinct(out, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_lt(out[i], 6);
}
END_TEST

START_TEST(test_choose_exclude)
{
	add_six();
	uint32_t ex[3] = {0, 3, 5};
	for (int round = 0; round < 300; round++) {
		uint32_t out[6];
		uint32_t got = nn_dns_choose(&d, 6, -1, ex, 3, BLOCK, out);
		ck_assert_uint_eq(got, 3);
		assert_distinct(out, got);
		for (uint32_t i = 0; i < got; i++)
			ck_assert_msg(!contains(ex, 3, out[i]), "excluded %u chosen", out[i]);
	}
	/* everything excluded: nothing */
	uint32_t all[6] = {0, 1, 2, 3, 4, 5}, out[6];
	ck_assert_uint_eq(nn_dns_choose(&d, 3, -1, all, 6, BLOCK, out), 0);
}
END_TEST

START_TEST(test_choose_skips_full)
{
	add_six();
	/* node 1 and 4 have less than a block left */
	nn_dns_heartbeat(&d, 1, 100 * GB, 100 * GB - BLOCK + 1, BLOCK - 1, 0, 1);
	nn_dns_heartbeat(&d, 4, 100 * GB, 100 * GB, 0, 0, 1);
	for (int round = 0; round < 300; round++) {
		uint32_t out[6];
		uint32_t got = nn_dns_choose(&d, 6, -1, NULL, 0, BLOCK, out);
		ck_assert_uint_eq(got, 4);
		ck_assert(!contains(out, got, 1));
		ck_assert(!contains(out, got, 4));
	}
	/* a node reporting no capacity at all (unknown yet) is not "full" */
	nn_dns_heartbeat(&d, 4, 0, 0, 0, 0, 1);
	uint32_t out[6];
	ck_assert_uint_eq(nn_dns_choose(&d, 6, -1, NULL, 0, BLOCK, out), 5);
	ck_assert(contains(out, 5, 4));
}
END_TEST

/* The favored node gets no exemption from the free-space rule: a write there fails. */
START_TEST(test_choose_favored_full)
{
	add_six();
	nn_dns_heartbeat(&d, 1, 100 * GB, 100 * GB, 0, 0, 1);
	uint32_t out[3];
	uint32_t got = nn_dns_choose(&d, 3, 1, NULL, 0, BLOCK, out);
	ck_assert_uint_eq(got, 3);
	ck_assert_msg(!contains(out, got, 1), "full favored node 1 chosen (out[0]=%u)", out[0]);
}
END_TEST

START_TEST(test_choose_skips_decommission)
{
	add_six();
	d.v[2].decommission = true;
	d.v[3].decommission = true;
	for (int round = 0; round < 300; round++) {
		uint32_t out[6];
		uint32_t got = nn_dns_choose(&d, 6, round % 6, NULL, 0, BLOCK, out);
		ck_assert_uint_eq(got, 4);
		ck_assert(!contains(out, got, 2));
		ck_assert(!contains(out, got, 3));
	}
	ck_assert_uint_eq(nn_dns_live(&d), 4);
}
END_TEST

START_TEST(test_choose_skips_unreported_and_dead)
{
	add_six();
	d.v[0].reported = false;
	nn_dns_lost(&d, 5, false, 1);
	for (int round = 0; round < 200; round++) {
		uint32_t out[6];
		uint32_t got = nn_dns_choose(&d, 6, 5, NULL, 0, BLOCK, out);
		ck_assert_uint_eq(got, 4);
		ck_assert(!contains(out, got, 0));
		ck_assert(!contains(out, got, 5));
	}
}
END_TEST

START_TEST(test_choose_spread)
{
	for (int k = 0; k < 5; k++) {
		char id[32], addr[64];
		snprintf(id, sizeof id, "dn%d", k);
		snprintf(addr, sizeof addr, "10.0.0.9:%d", 9000 + k);
		add_node(id, addr, 100 * GB, 50 * GB, 0);
	}
	srand(4242);
	uint32_t hits[5] = {0};
	const int rounds = 3000;
	for (int round = 0; round < rounds; round++) {
		uint32_t out[3];
		ck_assert_uint_eq(nn_dns_choose(&d, 3, -1, NULL, 0, BLOCK, out), 3);
		assert_distinct(out, 3);
		for (int i = 0; i < 3; i++)
			hits[out[i]]++;
	}
	for (int k = 0; k < 5; k++) {
		double share = (double)hits[k] / rounds;
		ck_assert_msg(share >= 0.45 && share <= 0.75, "node %d chosen in %.1f%% of rounds",
			      k, share * 100);
	}
}
END_TEST

START_TEST(test_choose_prefers_free_space)
{
	/* two nodes on one host: the emptier should win most power-of-two draws */
	add_node("full", "10.0.0.1:1", 100 * GB, 10 * GB, 0);
	add_node("empty", "10.0.0.1:2", 100 * GB, 90 * GB, 0);
	uint32_t empty_first = 0;
	for (int round = 0; round < 1000; round++) {
		uint32_t out[1];
		ck_assert_uint_eq(nn_dns_choose(&d, 1, -1, NULL, 0, BLOCK, out), 1);
		empty_first += out[0] == 1;
	}
	/* uniform would be ~500; two draws pick the empty one unless both hit "full" */
	ck_assert_uint_gt(empty_first, 650);
}
END_TEST

/* ---- liveness ---- */

START_TEST(test_lost)
{
	add_six();
	nn_dns_lost(&d, 1, false, 100);
	ck_assert(!nn_dn_is_usable(&d.v[1]));
	ck_assert_uint_eq(d.v[1].state, PROTO_DN_DEAD);
	ck_assert(!d.v[1].connected);
	ck_assert(!nn_dn_in_maintenance(&d.v[1], 100));
	ck_assert_uint_eq(nn_dns_live(&d), 5);

	nn_dns_lost(&d, 2, true, 100);
	ck_assert(!nn_dn_is_usable(&d.v[2]));
	ck_assert_uint_eq(d.v[2].state, PROTO_DN_DEAD);
	ck_assert(nn_dn_in_maintenance(&d.v[2], 100));
	ck_assert(nn_dn_in_maintenance(&d.v[2], 100 + MAINT_T - 1));
	ck_assert(!nn_dn_in_maintenance(&d.v[2], 100 + MAINT_T));
	ck_assert(!nn_dn_in_maintenance(&d.v[2], 100 + MAINT_T + 1));
	ck_assert_uint_eq(nn_dns_live(&d), 4);
	ck_assert(!nn_dn_in_maintenance(&d.v[3], 100));

	/* lost nodes are never chosen */
	for (int round = 0; round < 100; round++) {
		uint32_t out[6];
		uint32_t got = nn_dns_choose(&d, 6, 1, NULL, 0, BLOCK, out);
		ck_assert_uint_eq(got, 4);
		ck_assert(!contains(out, got, 1));
		ck_assert(!contains(out, got, 2));
	}

	/* coming back ends maintenance */
	nn_dns_register(&d, "dn2", "10.0.0.2:9002", 200);
	ck_assert(!nn_dn_in_maintenance(&d.v[2], 200));
	ck_assert(d.v[2].connected);
}
END_TEST

START_TEST(test_check_dead_once_and_stale)
{
	add_six(); /* all last heard of at 0 */
	nn_dns_heartbeat(&d, 0, 100 * GB, 0, 50 * GB, 0, 1000);
	nn_dns_heartbeat(&d, 1, 100 * GB, 0, 50 * GB, 0, 1000 - STALE_T - 5); /* stale */
	nn_dns_heartbeat(&d, 2, 100 * GB, 0, 50 * GB, 0, 1000 - DEAD_T - 5);  /* dead */
	nn_dns_heartbeat(&d, 3, 100 * GB, 0, 50 * GB, 0, 1000 - STALE_T + 5); /* fine */
	nn_dns_heartbeat(&d, 4, 100 * GB, 0, 50 * GB, 0, 1000);
	nn_dns_heartbeat(&d, 5, 100 * GB, 0, 50 * GB, 0, 1000);

	struct dead_log log = {0};
	check_at(1000, dead_cb, &log);
	ck_assert_uint_eq(log.n, 1);
	ck_assert_uint_eq(log.who[0], 2);
	ck_assert_uint_eq(d.v[2].state, PROTO_DN_DEAD);
	ck_assert_uint_eq(d.v[1].state, PROTO_DN_STALE);
	ck_assert_uint_eq(d.v[0].state, PROTO_DN_LIVE);
	ck_assert_uint_eq(d.v[3].state, PROTO_DN_LIVE);
	ck_assert(!nn_dn_is_usable(&d.v[1]));
	ck_assert(!nn_dn_is_usable(&d.v[2]));
	ck_assert_uint_eq(nn_dns_live(&d), 4);

	/* again: no second report of node 2 */
	check_at(1001, dead_cb, &log);
	ck_assert_uint_eq(log.n, 1);
	check_at(1002, NULL, NULL);

	/* the stale node goes dead later, once */
	/* (node 3, last heard at 975, is not dead yet at 1566) */
	check_at(1000 - STALE_T - 5 + DEAD_T + 1, dead_cb, &log);
	ck_assert_uint_eq(log.n, 2);
	ck_assert_uint_eq(log.who[1], 1);
	ck_assert_uint_eq(d.v[3].state, PROTO_DN_STALE);
	check_at(1000 - STALE_T - 5 + DEAD_T + 2, dead_cb, &log);
	ck_assert_uint_eq(log.n, 2);

	/* a heartbeat revives it */
	nn_dns_heartbeat(&d, 1, 100 * GB, 0, 50 * GB, 0, 1000 + DEAD_T + 2);
	ck_assert_uint_eq(d.v[1].state, PROTO_DN_LIVE);
	ck_assert(nn_dn_is_usable(&d.v[1]));
}
END_TEST

START_TEST(test_check_maintenance_expiry)
{
	add_six();
	nn_dns_lost(&d, 3, true, 10);
	struct dead_log log = {0};
	for (int k = 0; k < 6; k++)
		if (k != 3)
			nn_dns_heartbeat(&d, (uint32_t)k, 100 * GB, 0, 50 * GB, 0, 10 + MAINT_T);
	check_at(10 + MAINT_T - 1, dead_cb, &log);
	ck_assert_uint_eq(log.n, 0);
	ck_assert(nn_dn_in_maintenance(&d.v[3], 10 + MAINT_T - 1));
	check_at(10 + MAINT_T + 1, dead_cb, &log);
	ck_assert_uint_eq(log.n, 1);
	ck_assert_uint_eq(log.who[0], 3);
	ck_assert(!nn_dn_in_maintenance(&d.v[3], 10 + MAINT_T + 1));
	check_at(10 + MAINT_T + 2, dead_cb, &log);
	ck_assert_uint_eq(log.n, 1);
}
END_TEST

/* ---- readers ---- */

START_TEST(test_sort_for_reader)
{
	add_six();
	for (int round = 0; round < 100; round++) {
		uint32_t reps[4] = {0, 2, 4, 5};
		uint32_t n = nn_dns_sort_for_reader(&d, "10.0.0.3", reps, 4);
		ck_assert_uint_eq(n, 4);
		/* host 10.0.0.3 holds nodes 4 and 5: both before 0 and 2 */
		ck_assert(reps[0] == 4 || reps[0] == 5);
		ck_assert(reps[1] == 4 || reps[1] == 5);
		ck_assert_uint_ne(reps[0], reps[1]);
		ck_assert(contains(reps, 4, 0));
		ck_assert(contains(reps, 4, 2));
	}
	/* dead nodes are dropped (lost, or timed out) */
	nn_dns_lost(&d, 4, false, 1);
	nn_dns_heartbeat(&d, 2, 100 * GB, 0, 50 * GB, 0, 0);
	for (int k = 0; k < 6; k++)
		if (k != 2)
			nn_dns_heartbeat(&d, (uint32_t)k, 100 * GB, 0, 50 * GB, 0, DEAD_T);
	check_at(DEAD_T + 1, NULL, NULL);
	ck_assert_uint_eq(d.v[2].state, PROTO_DN_DEAD);
	for (int round = 0; round < 50; round++) {
		uint32_t reps[4] = {0, 2, 4, 5};
		uint32_t n = nn_dns_sort_for_reader(&d, "10.0.0.3", reps, 4);
		ck_assert_uint_eq(n, 2);
		ck_assert_uint_eq(reps[0], 5);
		ck_assert_uint_eq(reps[1], 0);
	}
	/* stale nodes come last; an unknown client host gets every usable node */
	d.v[5].state = PROTO_DN_STALE;
	for (int round = 0; round < 50; round++) {
		uint32_t reps[3] = {5, 1, 0};
		uint32_t n = nn_dns_sort_for_reader(&d, "192.168.1.1", reps, 3);
		ck_assert_uint_eq(n, 3);
		ck_assert_uint_eq(reps[2], 5);
		ck_assert(reps[0] == 0 || reps[0] == 1);
	}
	/* no client host at all */
	uint32_t reps[2] = {1, 3};
	ck_assert_uint_eq(nn_dns_sort_for_reader(&d, NULL, reps, 2), 2);
}
END_TEST

START_TEST(test_on_host)
{
	/* a single host: no "local" node even when only one node lives there */
	add_node("a", "10.0.0.1:1", 100 * GB, 50 * GB, 0);
	ck_assert_int_eq(nn_dns_on_host(&d, "10.0.0.1"), -1);
	add_node("b", "10.0.0.2:1", 100 * GB, 50 * GB, 0);
	add_node("c", "10.0.0.3:1", 100 * GB, 50 * GB, 0);
	add_node("c2", "10.0.0.3:2", 100 * GB, 50 * GB, 0);
	ck_assert_int_eq(nn_dns_on_host(&d, "10.0.0.1"), 0);
	ck_assert_int_eq(nn_dns_on_host(&d, "10.0.0.2"), 1);
	/* two nodes share 10.0.0.3: none is "the" local one */
	ck_assert_int_eq(nn_dns_on_host(&d, "10.0.0.3"), -1);
	ck_assert_int_eq(nn_dns_on_host(&d, "10.0.0.9"), -1);
	/* an unusable node does not count */
	nn_dns_lost(&d, 3, false, 1);
	ck_assert_int_eq(nn_dns_on_host(&d, "10.0.0.3"), 2);
	nn_dns_lost(&d, 1, false, 1);
	ck_assert_int_eq(nn_dns_on_host(&d, "10.0.0.2"), -1);
}
END_TEST

/* ---- commands ---- */

START_TEST(test_queue_delete)
{
	add_six();
	nn_dns_queue_delete(&d, 0, 77, 5);
	ck_assert_uint_eq(d.v[0].ncmds, 1);
	nn_dns_queue_delete(&d, 0, 78, 6);
	ck_assert_uint_eq(d.v[0].ncmds, 2);
	ck_assert_uint_eq(d.v[1].ncmds, 0);
	ck_assert_uint_eq(d.v[1].cmds.len, 0);

	struct unpack u;
	unpack_init(&u, d.v[0].cmds.data, d.v[0].cmds.len);
	for (uint64_t k = 0; k < 2; k++) {
		ck_assert_uint_eq(unpack_u8(&u), PROTO_CMD_DELETE);
		ck_assert_uint_eq(unpack_u64(&u), 77 + k);
		ck_assert_uint_eq(unpack_u64(&u), 5 + k);
		unpack_u64(&u);
		ck_assert_uint_eq(unpack_u32(&u), 0);
	}
	assert_read_all(&u);

	/* a disconnected node gets nothing */
	nn_dns_lost(&d, 2, true, 1);
	nn_dns_queue_delete(&d, 2, 77, 5);
	ck_assert_uint_eq(d.v[2].ncmds, 0);
	ck_assert_uint_eq(d.v[2].cmds.len, 0);

	/* losing a node drops its queue; re-registering starts empty */
	nn_dns_lost(&d, 0, false, 2);
	ck_assert_uint_eq(d.v[0].ncmds, 0);
	ck_assert_uint_eq(d.v[0].cmds.len, 0);
}
END_TEST

START_TEST(test_queue_replicate)
{
	add_six();
	uint32_t targets[2] = {3, 5};
	nn_dns_queue_replicate(&d, 1, 900, 9, 4096, targets, 2);
	ck_assert_uint_eq(d.v[1].ncmds, 1);
	struct unpack u;
	unpack_init(&u, d.v[1].cmds.data, d.v[1].cmds.len);
	ck_assert_uint_eq(unpack_u8(&u), PROTO_CMD_REPLICATE);
	ck_assert_uint_eq(unpack_u64(&u), 900);
	ck_assert_uint_eq(unpack_u64(&u), 9);
	ck_assert_uint_eq(unpack_u64(&u), 4096);
	ck_assert_uint_eq(unpack_u32(&u), 2);
	char id[PROTO_ID_MAX + 1], addr[PROTO_ADDR_MAX + 1];
	unpack_str(&u, id, sizeof id);
	unpack_str(&u, addr, sizeof addr);
	ck_assert_str_eq(id, "dn3");
	ck_assert_str_eq(addr, "10.0.0.2:9003");
	unpack_str(&u, id, sizeof id);
	unpack_str(&u, addr, sizeof addr);
	ck_assert_str_eq(id, "dn5");
	ck_assert_str_eq(addr, "10.0.0.3:9005");
	assert_read_all(&u);
}
END_TEST

START_TEST(test_shown_state)
{
	add_six();
	ck_assert_uint_eq(nn_dn_shown_state(&d.v[0]), PROTO_DN_LIVE);
	d.v[0].decommission = true;
	ck_assert_uint_eq(nn_dn_shown_state(&d.v[0]), PROTO_DN_DECOMMISSIONING);
	d.v[0].decommissioned = true;
	ck_assert_uint_eq(nn_dn_shown_state(&d.v[0]), PROTO_DN_DECOMMISSIONED);
	/* a dead retiring node shows dead */
	nn_dns_lost(&d, 0, false, 1);
	ck_assert_uint_eq(nn_dn_shown_state(&d.v[0]), PROTO_DN_DEAD);
	/* registered but not reported yet: not live */
	uint32_t i = nn_dns_register(&d, "new", "10.0.0.8:1", 1);
	ck_assert_uint_ne(nn_dn_shown_state(&d.v[i]), PROTO_DN_LIVE);
	ck_assert(!nn_dn_is_usable(&d.v[i]));
	d.v[i].reported = true;
	ck_assert_uint_eq(nn_dn_shown_state(&d.v[i]), PROTO_DN_LIVE);
	d.v[1].state = PROTO_DN_STALE;
	ck_assert_uint_eq(nn_dn_shown_state(&d.v[1]), PROTO_DN_STALE);
}
END_TEST

/* A namenode that did not run for a while (SIGSTOP, swapped out) does not declare every
 * datanode dead on waking: their heartbeats wait unread in its sockets. */
START_TEST(test_check_namenode_paused)
{
	add_six();
	check_at(10, NULL, NULL);
	for (uint32_t i = 0; i < 6; i++)
		nn_dns_heartbeat(&d, i, 100 * GB, 0, 50 * GB, 0, 10);
	struct dead_log log = {0};
	nn_dns_check(&d, 10 + DEAD_T + 50, dead_cb, &log); /* the loop was away */
	ck_assert_uint_eq(log.n, 0);
	for (uint32_t i = 0; i < 6; i++)
		ck_assert_uint_eq(d.v[i].state, PROTO_DN_LIVE);
	/* from then on silence counts again: a node that still says nothing goes */
	double woke = 10 + DEAD_T + 50;
	check_at(woke + DEAD_T - 10, dead_cb, &log);
	ck_assert_uint_eq(log.n, 0);
	for (uint32_t i = 1; i < 6; i++)
		nn_dns_heartbeat(&d, i, 100 * GB, 0, 50 * GB, 0, woke + DEAD_T - 10);
	check_at(woke + DEAD_T + 2, dead_cb, &log);
	ck_assert_uint_eq(log.n, 1);
	ck_assert_uint_eq(log.who[0], 0);
}
END_TEST

int main(void)
{
	log_set_level(LOG_ERROR); /* the timeout tests log expected warnings */
	return UNIT_MAIN("datanodes",
		{"core", .setup = dns_setup, .teardown = dns_teardown, .tests = UNIT_TESTS(
			test_register_twice, test_find, test_register_many_grows,
			test_choose_distinct, test_choose_distinct_hosts, test_choose_favored_first,
			test_choose_exclude, test_choose_skips_full, test_choose_favored_full,
			test_choose_skips_decommission, test_choose_skips_unreported_and_dead,
			test_choose_spread, test_choose_prefers_free_space, test_lost,
			test_check_dead_once_and_stale, test_check_maintenance_expiry,
			test_check_namenode_paused,
			test_sort_for_reader, test_on_host, test_queue_delete, test_queue_replicate,
			test_shown_state)});
}
