/* health: which datanodes a client process avoids, and the deadlines it follows. */
#include "unit.h"

#include <string.h>
#include <unistd.h>

#include "health.h"
#include "log.h"

START_TEST(test_deadlines_follow_the_settings)
{
	health_reset();
	/* before the namenode says: cfg.c's defaults (stale 4 s) */
	ck_assert_int_eq(health_read_timeout_ms(), 4000);
	ck_assert_int_gt(health_write_timeout_ms(), health_read_timeout_ms());
	health_set_settings(500, 1500, 3000);
	ck_assert_int_eq(health_read_timeout_ms(), 1500);
	/* the node just above a silent one gives up first: a margin per node below */
	ck_assert_int_eq(health_ack_timeout_ms(1, false), 1500);
	ck_assert_int_eq(health_ack_timeout_ms(2, false), 1750);
	ck_assert_int_eq(health_ack_timeout_ms(3, false), 2000);
	ck_assert_int_eq(health_ack_timeout_ms(3, true), 3500); /* the finalize's fsync */
	ck_assert_int_eq(health_write_timeout_ms(), 1750);
	ck_assert_int_eq(health_connect_timeout_ms(), 1500);
	ck_assert_uint_eq(health_heartbeat_ms(), 500);
	health_set_settings(0, 100, 0); /* 0 keeps a value; a tiny stale has a floor */
	ck_assert_uint_eq(health_heartbeat_ms(), 500);
	ck_assert_int_eq(health_read_timeout_ms(), 500);
	health_set_settings(0, 60000, 0);
	ck_assert_int_eq(health_connect_timeout_ms(), 5000);
}
END_TEST

START_TEST(test_a_suspect_is_avoided_until_dead_timeout)
{
	health_reset();
	health_set_settings(100, 500, 300); /* dead after 0.3 s, for the test */
	ck_assert(!health_avoid("127.0.0.1:1"));
	uint64_t g = health_generation();
	health_suspect("dn1", "127.0.0.1:1", "sent nothing");
	ck_assert(health_avoid("127.0.0.1:1"));
	ck_assert(!health_avoid("127.0.0.1:2"));
	ck_assert_uint_gt(health_generation(), g);
	char ids[4][PROTO_ID_MAX + 1];
	ck_assert_uint_eq(health_avoided_ids(ids, 4), 1);
	ck_assert_str_eq(ids[0], "dn1");
	/* suspected again while avoided: not a new turn */
	g = health_generation();
	health_suspect("dn1", "127.0.0.1:1", "sent nothing");
	ck_assert_uint_eq(health_generation(), g);
	usleep(400000);
	ck_assert(!health_avoid("127.0.0.1:1")); /* tried again after dead_node_timeout */
	ck_assert_uint_eq(health_avoided_ids(ids, 4), 0);
	health_suspect("dn1", "127.0.0.1:1", "sent nothing");
	ck_assert_uint_gt(health_generation(), g); /* a new turn */
}
END_TEST

START_TEST(test_the_namenodes_list)
{
	health_reset();
	const char ids[2][PROTO_ID_MAX + 1] = {"dn2", "dn3"};
	const char addrs[2][PROTO_ADDR_MAX + 1] = {"127.0.0.1:2", "127.0.0.1:3"};
	const uint8_t states[2] = {PROTO_DN_STALE, PROTO_DN_DEAD};
	uint64_t g = health_generation();
	health_from_namenode(2, ids, addrs, states);
	ck_assert(health_avoid("127.0.0.1:2"));
	ck_assert(health_avoid("127.0.0.1:3"));
	ck_assert_uint_gt(health_generation(), g);
	char got[4][PROTO_ID_MAX + 1];
	ck_assert_uint_eq(health_avoided_ids(got, 4), 2);
	ck_assert_uint_eq(health_avoided_ids(got, 1), 1); /* bounded */
	/* the same list again: no new turn (nothing to log, no pipeline to re-check) */
	g = health_generation();
	health_from_namenode(2, ids, addrs, states);
	ck_assert_uint_eq(health_generation(), g);
	/* the next list leaves dn2 out: live again on the namenode's word */
	health_from_namenode(1, ids + 1, addrs + 1, states + 1);
	ck_assert(!health_avoid("127.0.0.1:2"));
	ck_assert(health_avoid("127.0.0.1:3"));
	/* a node this process saw hang stays avoided though the namenode lists it no more
	 * (a slow disk: its heartbeats are fine) */
	health_suspect("dn2", "127.0.0.1:2", "sent nothing");
	health_from_namenode(0, NULL, NULL, NULL);
	ck_assert(health_avoid("127.0.0.1:2"));
	ck_assert(!health_avoid("127.0.0.1:3"));
}
END_TEST

int main(void)
{
	log_set_level(LOG_ERROR); /* the suspects' expected warnings */
	return UNIT_MAIN("health",
		{"health", .tests = UNIT_TESTS(
			test_deadlines_follow_the_settings,
			test_a_suspect_is_avoided_until_dead_timeout, test_the_namenodes_list)});
}
