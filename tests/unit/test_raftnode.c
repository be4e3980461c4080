/*
 * Unit tests for raftnode (namenode/raftnode.h): three members in one process on
 * 127.0.0.1, each with its own libraft directory. A leader is elected; entries proposed
 * on it are acknowledged (DONE, status 0) and applied on every member in the same order;
 * a follower refuses proposals; after the leader stops, the other two elect a new one
 * and go on; the stopped member, restarted on its directory, replays the whole log
 * (including what was committed while it was down). Waits poll the members' state with a
 * deadline; nothing sleeps a fixed time. Every test runs in its own forked process.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "../../namenode/raftnode.h"

#include "testdir.h"
#include "unit.h"

#define N 3
#define MAX_SEEN 64

struct member {
	struct raftnode *rn;
	char dir[4200];
	int nseen;
	char seen[MAX_SEEN][32]; /* applied entries, in order */
	uint64_t last_index;
	int done_ok, done_err;
};

static struct member m[N];
static char addrs[N][64];
static char root[4096];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void start_member(int i)
{
	struct raftnode_opts o = {.id = (uint64_t)i + 1, .dir = m[i].dir, .n = N,
				  .election_ms = 300};
	for (int k = 0; k < N; k++)
		o.addrs[k] = addrs[k];
	m[i].nseen = 0;
	m[i].last_index = 0;
	ck_assert_int_eq(raftnode_start(&o, &m[i].rn), 0);
}

static void drain(int i)
{
	struct raftnode_event ev;
	while (m[i].rn && raftnode_poll(m[i].rn, &ev)) {
		if (ev.kind == RAFTNODE_EV_APPLY) {
			ck_assert_uint_gt(ev.index, m[i].last_index); /* in index order */
			m[i].last_index = ev.index;
			ck_assert_int_lt(m[i].nseen, MAX_SEEN);
			snprintf(m[i].seen[m[i].nseen++], sizeof m[i].seen[0], "%.*s", (int)ev.len,
				 (char *)ev.data);
			free(ev.data);
		} else if (ev.status == 0) {
			m[i].done_ok++;
		} else {
			m[i].done_err++;
		}
	}
}

static void setup(void)
{
	testdir_make("raftnode");
	snprintf(root, sizeof root, "%s", tmp_base);
	for (int i = 0; i < N; i++) {
		snprintf(m[i].dir, sizeof m[i].dir, "%s/nn%d", root, i + 1);
		int fd = net_listen("127.0.0.1:0", 1); /* a free port, then let go */
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(net_local_addr(fd, addrs[i], sizeof addrs[i]), 0);
		close(fd);
	}
	for (int i = 0; i < N; i++)
		start_member(i);
}

/* The one leader among the running members (waits up to 15 s), its index. */
static int wait_leader(void)
{
	double end = now_s() + 15;
	while (now_s() < end) {
		int leader = -1, leaders = 0;
		for (int i = 0; i < N; i++) {
			if (!m[i].rn)
				continue;
			drain(i);
			struct raftnode_status st;
			raftnode_status(m[i].rn, &st);
			if (st.role == RAFTNODE_LEADER) {
				leader = i;
				leaders++;
			}
		}
		if (leaders == 1)
			return leader;
		usleep(20000);
	}
	ck_abort_msg("no leader elected in 15 s");
	return -1;
}

/* Waits until every running member applied `want` entries (up to 15 s). */
static void wait_applied(int want)
{
	double end = now_s() + 15;
	for (;;) {
		bool all = true;
		for (int i = 0; i < N; i++) {
			if (!m[i].rn)
				continue;
			drain(i);
			all = all && m[i].nseen >= want;
		}
		if (all)
			return;
		ck_assert_msg(now_s() < end, "entries not applied on every member in 15 s");
		usleep(20000);
	}
}

static void propose_n(int leader, int from, int count)
{
	for (int k = from; k < from + count; k++) {
		char e[32];
		int len = snprintf(e, sizeof e, "entry-%d", k);
		ck_assert_int_eq(raftnode_propose(m[leader].rn, e, (size_t)len, (uint64_t)k), 0);
	}
}

START_TEST(test_replicate_failover_replay)
{
	int l = wait_leader();
	propose_n(l, 0, 10);
	wait_applied(10);
	for (int i = 0; i < N; i++)
		for (int k = 0; k < 10; k++) {
			char e[32];
			snprintf(e, sizeof e, "entry-%d", k);
			ck_assert_str_eq(m[i].seen[k], e);
		}
	ck_assert_int_eq(m[l].done_ok, 10);
	ck_assert_int_eq(m[l].done_err, 0);

	/* a follower refuses: its DONE carries an error */
	int f = (l + 1) % N;
	ck_assert_int_eq(raftnode_propose(m[f].rn, "x", 1, 99), 0);
	double end = now_s() + 5;
	while (m[f].done_err == 0) {
		drain(f);
		ck_assert_msg(now_s() < end, "a follower's proposal had no outcome");
		usleep(10000);
	}
	ck_assert_int_eq(m[f].done_ok, 0);

	/* the leader goes: the other two elect one and go on */
	raftnode_stop(m[l].rn);
	m[l].rn = NULL;
	int l2 = wait_leader();
	ck_assert_int_ne(l2, l);
	struct raftnode_status st;
	raftnode_status(m[l2].rn, &st);
	ck_assert_uint_ge(st.term, 2);
	propose_n(l2, 10, 5);
	wait_applied(15);

	/* the old leader comes back on its directory and replays all 15 */
	start_member(l);
	wait_applied(15);
	for (int k = 0; k < 15; k++) {
		char e[32];
		snprintf(e, sizeof e, "entry-%d", k);
		ck_assert_str_eq(m[l].seen[k], e);
		ck_assert_str_eq(m[l2].seen[k], e);
	}
	for (int i = 0; i < N; i++) {
		raftnode_stop(m[i].rn);
		m[i].rn = NULL;
	}
}
END_TEST

START_TEST(test_bad_opts)
{
	struct raftnode *rn;
	struct raftnode_opts o = {.id = 4, .dir = "/nonexistent", .n = 3};
	ck_assert_int_eq(raftnode_start(&o, &rn), -EINVAL);
	o.id = 0;
	ck_assert_int_eq(raftnode_start(&o, &rn), -EINVAL);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("raftnode",
			 {"group", UNIT_TESTS(test_replicate_failover_replay), .timeout = 90,
			  .setup = setup, .teardown = tmp_teardown},
			 {"opts", UNIT_TESTS(test_bad_opts), .timeout = 10});
}
