/*
 * Unit tests for net (common/net.h) on real sockets on 127.0.0.1, port 0: address
 * parsing, listen / connect / accept and the addresses each side sees, exact reads and
 * writes (plain, vectored, sendfile) with a peer thread, read and write deadlines, a
 * peer that closes (EOF mid-read, writes to a closed peer without SIGPIPE), and a
 * refused connection. Deadlines are checked as lower bounds only. Every test runs in
 * its own forked process.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ev.h"
#include "net.h"

#include "testdir.h"
#include "unit.h"

/* ---- address parsing ---- */

START_TEST(test_parse_addr)
{
	char host[16];
	uint16_t port = 1;
	ck_assert_int_eq(net_parse_addr("127.0.0.1:9866", host, sizeof host, &port), 0);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_uint_eq(port, 9866);
	ck_assert_int_eq(net_parse_addr("h:0", host, sizeof host, &port), 0);
	ck_assert_str_eq(host, "h");
	ck_assert_uint_eq(port, 0);
	ck_assert_int_eq(net_parse_addr("h:65535", host, sizeof host, &port), 0);
	ck_assert_uint_eq(port, 65535);
	/* the port is after the last ':' */
	ck_assert_int_eq(net_parse_addr("a:b:7", host, sizeof host, &port), 0);
	ck_assert_str_eq(host, "a:b");
	ck_assert_uint_eq(port, 7);
	const char *bad[] = {"noport", ":80", "h:", "h:65536", "h:-1", "h:12x", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(net_parse_addr(bad[i], host, sizeof host, &port) == -EINVAL,
			      "'%s' was accepted", bad[i]);
	ck_assert_int_eq(net_parse_addr(NULL, host, sizeof host, &port), -EINVAL);
	/* a host that does not fit (with its NUL) */
	ck_assert_int_eq(net_parse_addr("0123456789abcdef:1", host, sizeof host, &port), -EINVAL);
	ck_assert_int_eq(net_parse_addr("0123456789abcde:1", host, sizeof host, &port), 0);
}
END_TEST

/* ---- a connected pair ---- */

struct pair {
	int lfd, c, s; /* listener, client side, server side */
	char addr[64];
};

static void pair_open(struct pair *p)
{
	p->lfd = net_listen("127.0.0.1:0", 8);
	ck_assert_int_ge(p->lfd, 0);
	ck_assert_int_eq(net_local_addr(p->lfd, p->addr, sizeof p->addr), 0);
	ck_assert_int_eq(strncmp(p->addr, "127.0.0.1:", 10), 0);
	ck_assert_str_ne(p->addr, "127.0.0.1:0"); /* a real port was bound */
	p->c = net_connect(p->addr, 2000);
	ck_assert_int_ge(p->c, 0);
	p->s = net_accept(p->lfd);
	ck_assert_int_ge(p->s, 0);
}

static void pair_close(struct pair *p)
{
	net_close(p->c);
	net_close(p->s);
	net_close(p->lfd);
}

START_TEST(test_listen_connect_addresses)
{
	struct pair p;
	pair_open(&p);
	char cl[64], cp[64], sl[64], sp[64];
	ck_assert_int_eq(net_local_addr(p.c, cl, sizeof cl), 0);
	ck_assert_int_eq(net_peer_addr(p.c, cp, sizeof cp), 0);
	ck_assert_int_eq(net_local_addr(p.s, sl, sizeof sl), 0);
	ck_assert_int_eq(net_peer_addr(p.s, sp, sizeof sp), 0);
	ck_assert_str_eq(cp, p.addr); /* the client reached the listener's address */
	ck_assert_str_eq(sl, p.addr);
	ck_assert_str_eq(sp, cl); /* each side sees the other */
	/* too small an output buffer */
	char tiny[8];
	ck_assert_int_eq(net_local_addr(p.c, tiny, sizeof tiny), -ENAMETOOLONG);
	/* a listener on any address */
	int any = net_listen("*:0", 4);
	ck_assert_int_ge(any, 0);
	ck_assert_int_eq(net_local_addr(any, cl, sizeof cl), 0);
	ck_assert_int_eq(strncmp(cl, "0.0.0.0:", 8), 0);
	net_close(any);
	pair_close(&p);
	ck_assert_int_eq(net_listen("no-port", 4), -EINVAL);
	ck_assert_int_eq(net_connect("127.0.0.1", 100), -EINVAL);
}
END_TEST

#define BIG (4u << 20)

struct writer {
	int fd;
	const uint8_t *data;
	size_t len;
	int how; /* 0: net_write_full, 1: net_writev_full in three pieces */
	int rc;
};

static void *write_main(void *arg)
{
	struct writer *w = arg;
	if (w->how == 0) {
		w->rc = net_write_full(w->fd, w->data, w->len);
	} else {
		struct iovec iov[3] = {{(void *)w->data, 10},
				       {(void *)(w->data + 10), w->len / 2},
				       {(void *)(w->data + 10 + w->len / 2), w->len - 10 - w->len / 2}};
		w->rc = net_writev_full(w->fd, iov, 3);
	}
	return NULL;
}

START_TEST(test_read_write_full)
{
	struct pair p;
	pair_open(&p);
	uint8_t *src = random_bytes(BIG, 7), *dst = malloc(BIG);
	ck_assert_ptr_nonnull(dst);
	for (int how = 0; how < 2; how++) {
		/* more than the socket buffers hold: the writer blocks while we read */
		struct writer w = {p.c, src, BIG, how, 1};
		pthread_t t;
		ck_assert_int_eq(pthread_create(&t, NULL, write_main, &w), 0);
		memset(dst, 0, BIG);
		ck_assert_int_eq(net_read_full(p.s, dst, BIG), 0);
		pthread_join(t, NULL);
		ck_assert_int_eq(w.rc, 0);
		ck_assert_int_eq(memcmp(src, dst, BIG), 0);
	}
	free(src);
	free(dst);
	pair_close(&p);
}
END_TEST

static void tmp_setup(void) { testdir_make("net"); }

START_TEST(test_sendfile)
{
	struct pair p;
	pair_open(&p);
	char path[4200];
	snprintf(path, sizeof path, "%s/f", tmp_base);
	FILE *f = fopen(path, "w+");
	ck_assert_ptr_nonnull(f);
	uint8_t data[100000], got[60000];
	fill(data, sizeof data, 3);
	ck_assert_uint_eq(fwrite(data, 1, sizeof data, f), sizeof data);
	fflush(f);
	int in = fileno(f);
	int64_t off = 1000;
	ck_assert_int_eq(net_sendfile_full(p.c, in, &off, sizeof got), 0);
	ck_assert_int_eq(off, 1000 + (int64_t)sizeof got); /* advanced */
	ck_assert_int_eq(net_read_full(p.s, got, sizeof got), 0);
	ck_assert_mem_eq(got, data + 1000, sizeof got);
	/* the file is shorter than promised */
	off = sizeof data - 10;
	ck_assert_int_eq(net_sendfile_full(p.c, in, &off, 100), -EIO);
	fclose(f);
	pair_close(&p);
}
END_TEST

/* ---- deadlines ---- */

START_TEST(test_read_deadline)
{
	struct pair p;
	pair_open(&p);
	ck_assert_int_eq(net_set_timeout(p.s, 100), 0);
	char b[4];
	double start = ev_now();
	ck_assert_int_eq(net_read_full(p.s, b, sizeof b), -ETIMEDOUT); /* a silent peer */
	ck_assert_double_ge(ev_now() - start, 0.1 - 0.01);
	/* bytes that came before the deadline are not lost: a later read gets them */
	ck_assert_int_eq(net_write_full(p.c, "abcd", 4), 0);
	ck_assert_int_eq(net_read_full(p.s, b, sizeof b), 0);
	ck_assert_mem_eq(b, "abcd", 4);
	pair_close(&p);
}
END_TEST

START_TEST(test_write_deadline)
{
	/* a peer that never reads: once the socket buffers are full the write times out */
	struct pair p;
	pair_open(&p);
	ck_assert_int_eq(net_set_timeout(p.c, 100), 0);
	size_t n = 64u << 20;
	uint8_t *b = calloc(1, n);
	double start = ev_now();
	ck_assert_int_eq(net_write_full(p.c, b, n), -ETIMEDOUT);
	ck_assert_double_ge(ev_now() - start, 0.1 - 0.01);
	free(b);
	pair_close(&p);
}
END_TEST

/* ---- a peer that goes away ---- */

START_TEST(test_peer_closes)
{
	struct pair p;
	pair_open(&p);
	ck_assert_int_eq(net_write_full(p.s, "xyz", 3), 0);
	net_close(p.s);
	p.s = -1;
	char b[10];
	/* three bytes, then EOF: short of the 10 asked */
	ck_assert_int_eq(net_read_full(p.c, b, sizeof b), -ECONNRESET);
	ck_assert_int_eq(net_read_full(p.c, b, 1), -ECONNRESET);
	/* writes to the closed peer fail once its reset arrived, and raise no SIGPIPE
	 * (which would kill this process); the reset is polled for, not waited out */
	int rc = 0;
	for (int i = 0; i < 200 && !rc; i++) {
		rc = net_write_full(p.c, "0123456789", 10);
		if (!rc)
			usleep(5000);
	}
	ck_assert_msg(rc == -EPIPE || rc == -ECONNRESET, "write to a closed peer: %d", rc);
	pair_close(&p);
}
END_TEST

START_TEST(test_connect_refused)
{
	int lfd = net_listen("127.0.0.1:0", 1);
	ck_assert_int_ge(lfd, 0);
	char addr[64];
	ck_assert_int_eq(net_local_addr(lfd, addr, sizeof addr), 0);
	net_close(lfd); /* nobody listens there now */
	ck_assert_int_eq(net_connect(addr, 2000), -ECONNREFUSED);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("net",
		{"net", .once_setup = tmp_setup, .once_teardown = tmp_teardown, .tests = UNIT_TESTS(
			test_parse_addr, test_listen_connect_addresses, test_read_write_full,
			test_sendfile, test_read_deadline, test_write_deadline, test_peer_closes,
			test_connect_refused)});
}
