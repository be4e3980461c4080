/*
 * Unit tests for the client library's namenode group handling (common/client.c): a
 * list of namenodes in dfs_client_opts.namenode, a follower's NOT_LEADER reply followed
 * to the leader it names, a refused member skipped, a member that breaks a call
 * replaced by the next, and a group with no leader failing with a clear error after a
 * bounded number of tries. The namenodes are fake servers on 127.0.0.1 (threads that
 * run the real handshake and answer each request as their mode says). Every test runs
 * in its own forked process.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "client.h"
#include "client_int.h"
#include "net.h"
#include "pack.h"
#include "proto.h"

#include "unit.h"

enum mode {
	LEADER,   /* answers every call with OK (CN_LIVENESS with ENOSYS) */
	FOLLOWER, /* answers every call with NOT_LEADER naming fake->leader */
	CRASH,    /* closes the connection on the first request it reads */
};

struct fake {
	int lfd;
	char addr[64];
	enum mode mode;
	char leader[64]; /* FOLLOWER: the address its NOT_LEADER names ("" = none) */
	atomic_int calls; /* requests answered with OK (CN_LIVENESS not counted) */
	atomic_int conns;
	pthread_t t;
};

static uint8_t key[AUTH_KEY_LEN] = {7};

static void serve_conn(struct fake *f, int fd)
{
	struct auth_keys keys = {.has_datanode = false};
	memcpy(keys.cluster, key, sizeof key);
	struct auth_peer peer;
	if (auth_server_blocking(fd, &keys, PROTO_ROLE_NAMENODE, &peer))
		return;
	struct buf in = BUF_INIT, out = BUF_INIT;
	struct proto_hdr h;
	while (!proto_recv(fd, &h, &in, PROTO_MAX_REPLY)) {
		buf_reset(&out);
		int32_t status = 0;
		if (f->mode == CRASH) {
			break;
		} else if (f->mode == FOLLOWER) {
			status = PROTO_E_NOTLEADER;
			pack_str(&out, f->leader);
		} else if (h.type == PROTO_CN_LIVENESS) {
			status = PROTO_E_NOSYS;
			pack_str(&out, "no liveness");
		} else {
			atomic_fetch_add(&f->calls, 1);
		}
		if (proto_send(fd, h.type, PROTO_F_REPLY, h.reqid, status, out.data, out.len))
			break;
	}
	buf_free(&in);
	buf_free(&out);
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	for (;;) {
		int fd = net_accept(f->lfd);
		if (fd < 0)
			return NULL;
		atomic_fetch_add(&f->conns, 1);
		serve_conn(f, fd);
		net_close(fd);
	}
}

static void fake_start(struct fake *f, enum mode mode, const char *leader)
{
	memset(f, 0, sizeof *f);
	f->mode = mode;
	snprintf(f->leader, sizeof f->leader, "%s", leader ? leader : "");
	f->lfd = net_listen("127.0.0.1:0", 16);
	ck_assert_int_ge(f->lfd, 0);
	ck_assert_int_eq(net_local_addr(f->lfd, f->addr, sizeof f->addr), 0);
	ck_assert_int_eq(pthread_create(&f->t, NULL, fake_main, f), 0);
}

/* An address nothing listens on (bound once, then closed): connections are refused. */
static void dead_addr(char *out, size_t n)
{
	int fd = net_listen("127.0.0.1:0", 1);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(net_local_addr(fd, out, n), 0);
	close(fd);
}

static struct dfs_client *connect_list(const char *list)
{
	struct dfs_client_opts o = {.uid = 0, .gid = 0};
	memcpy(o.key, key, sizeof key);
	snprintf(o.namenode, sizeof o.namenode, "%s", list);
	struct dfs_client *c = NULL;
	ck_assert_msg(dfs_connect(&o, &c) == 0, "connect %s: %s", list, dfs_errmsg());
	return c;
}

static int one_call(struct dfs_client *c)
{
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_str(&req, "/x");
	int rc = dfs_call(c, PROTO_CN_STAT, &req, &rep);
	buf_free(&req);
	buf_free(&rep);
	return rc;
}

START_TEST(test_nn_list)
{
	char a[CLIENT_NN_MAX][PROTO_ADDR_MAX + 1];
	ck_assert_int_eq(client_nn_list("h1:1", a, CLIENT_NN_MAX), 1);
	ck_assert_str_eq(a[0], "h1:1");
	ck_assert_int_eq(client_nn_list("h1:1, h2:2,h3:3,", a, CLIENT_NN_MAX), 3);
	ck_assert_str_eq(a[1], "h2:2");
	ck_assert_str_eq(a[2], "h3:3");
	ck_assert_int_eq(client_nn_list("", a, CLIENT_NN_MAX), 0);
	ck_assert_int_eq(client_nn_list("a:1,b:2,c:3", a, 2), 2);
}
END_TEST

/* The first member is a follower: the call lands on the leader it names. */
START_TEST(test_follows_not_leader)
{
	static struct fake l, f;
	fake_start(&l, LEADER, NULL);
	fake_start(&f, FOLLOWER, l.addr);
	char list[200];
	snprintf(list, sizeof list, "%s,%s", f.addr, l.addr);
	struct dfs_client *c = connect_list(list);
	ck_assert_int_eq(one_call(c), 0);
	ck_assert_int_eq(one_call(c), 0);
	ck_assert_int_eq(atomic_load(&l.calls), 2);
	ck_assert_int_eq(atomic_load(&l.conns), 1); /* it stayed on the leader */
	dfs_close(c);
}
END_TEST

/* A refused member is skipped at connect and at each reconnect. */
START_TEST(test_skips_dead_member)
{
	static struct fake l;
	fake_start(&l, LEADER, NULL);
	char dead[64], list[200];
	dead_addr(dead, sizeof dead);
	snprintf(list, sizeof list, "%s,%s", dead, l.addr);
	struct dfs_client *c = connect_list(list);
	ck_assert_int_eq(one_call(c), 0);
	ck_assert_int_eq(atomic_load(&l.calls), 1);
	dfs_close(c);
}
END_TEST

/* The member a call is on breaks the connection: the call goes on with the next one. */
START_TEST(test_fails_over_on_broken_call)
{
	static struct fake x, l;
	fake_start(&x, CRASH, NULL);
	fake_start(&l, LEADER, NULL);
	char list[200];
	snprintf(list, sizeof list, "%s,%s", x.addr, l.addr);
	struct dfs_client *c = connect_list(list);
	ck_assert_int_eq(one_call(c), 0);
	ck_assert_int_eq(atomic_load(&l.calls), 1);
	ck_assert_int_ge(atomic_load(&x.conns), 1);
	dfs_close(c);
}
END_TEST

/* No member leads (an election that never ends): a clear error after bounded tries. */
START_TEST(test_no_leader_gives_up)
{
	static struct fake a, b;
	fake_start(&a, FOLLOWER, "");
	fake_start(&b, FOLLOWER, "");
	char list[200];
	snprintf(list, sizeof list, "%s,%s", a.addr, b.addr);
	struct dfs_client *c = connect_list(list);
	int before = atomic_load(&a.conns) + atomic_load(&b.conns);
	ck_assert_int_eq(one_call(c), -EAGAIN);
	ck_assert_msg(strstr(dfs_errmsg(), "no leader"), "%s", dfs_errmsg());
	int tried = atomic_load(&a.conns) + atomic_load(&b.conns) - before;
	ck_assert_int_le(tried, CLIENT_FAILOVER_TRIES + 1);
	ck_assert_int_ge(tried, 2); /* both members were asked */
	dfs_close(c);
}
END_TEST

/* One namenode (no list): a NOT_LEADER reply is not followed; the error names the
 * leader and says to give the whole list. */
START_TEST(test_single_not_followed)
{
	static struct fake f, l;
	fake_start(&l, LEADER, NULL);
	fake_start(&f, FOLLOWER, l.addr);
	struct dfs_client *c = connect_list(f.addr);
	ck_assert_int_eq(one_call(c), -EAGAIN);
	ck_assert_msg(strstr(dfs_errmsg(), l.addr), "%s", dfs_errmsg());
	ck_assert_int_eq(atomic_load(&l.conns), 0);
	dfs_close(c);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("client_failover",
			 {"group",
			  UNIT_TESTS(test_nn_list, test_follows_not_leader, test_skips_dead_member,
				     test_fails_over_on_broken_call, test_no_leader_gives_up,
				     test_single_not_followed),
			  .timeout = 60});
}
