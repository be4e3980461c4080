/*
 * Unit tests for ev (common/ev.h), the epoll loop: timers (never before they are due,
 * periodic, several at once), fd watches on pipes (read, write, EOF, replacing a
 * watch, unwatching, a watch removed by an earlier callback of the same turn), the
 * before-sleep hook (once per turn, before the turn's events), and ev_stop (before
 * running, from a callback, from a signal handler). Time is only ever checked as a
 * lower bound, so a loaded machine cannot fail them. Every test runs in its own forked
 * process.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "ev.h"
#include "unit.h"

struct counter {
	int n, stop_at;
	double first, last; /* ev_now() at the first and the last call */
	int other_at_first; /* another counter's n when this one first ran */
	const struct counter *other;
};

static void count_timer(struct ev_loop *loop, void *arg)
{
	struct counter *c = arg;
	double now = ev_now();
	if (!c->n) {
		c->first = now;
		c->other_at_first = c->other ? c->other->n : 0;
	}
	c->last = now;
	if (++c->n == c->stop_at)
		ev_stop(loop);
}

START_TEST(test_timer_not_before_due)
{
	struct ev_loop *l = ev_new();
	ck_assert_ptr_nonnull(l);
	struct counter c = {.stop_at = 5};
	double start = ev_now();
	ck_assert_int_gt(ev_every(l, 0.02, count_timer, &c), 0);
	ev_run(l);
	ck_assert_int_eq(c.n, 5);
	/* each call at least a period after the one before */
	ck_assert_double_ge(c.first - start, 0.02 - 1e-3);
	ck_assert_double_ge(c.last - start, 5 * 0.02 - 1e-3);
	ev_free(l);
}
END_TEST

START_TEST(test_two_timers)
{
	struct ev_loop *l = ev_new();
	struct counter fast = {0}, slow = {.stop_at = 2, .other = &fast};
	/* registered first: in a turn where both are due, fast runs first */
	int a = ev_every(l, 0.01, count_timer, &fast);
	int b = ev_every(l, 0.1, count_timer, &slow);
	ck_assert_int_gt(a, 0);
	ck_assert_int_gt(b, 0);
	ck_assert_int_ne(a, b);
	double start = ev_now();
	ev_run(l);
	ck_assert_int_eq(slow.n, 2);
	ck_assert_double_ge(slow.first - start, 0.1 - 1e-3);
	/* the fast timer was due ten times before the slow one: it ran at least once */
	ck_assert_int_ge(slow.other_at_first, 1);
	ck_assert_int_ge(fast.n, slow.n);
	ev_free(l);
}
END_TEST

struct io {
	int calls, events, last_fd;
	char got[16];
	ssize_t nread;
	bool stop;
	struct ev_loop *loop;
	int unwatch_fd; /* >= 0: unwatch this fd in the callback */
};

static void on_io(struct ev_loop *loop, int fd, int events, void *arg)
{
	struct io *io = arg;
	io->calls++;
	io->events = events;
	io->last_fd = fd;
	if (events & EV_READ)
		io->nread = read(fd, io->got, sizeof io->got);
	if (io->unwatch_fd >= 0)
		ev_unwatch(loop, io->unwatch_fd);
	if (io->stop)
		ev_stop(loop);
}

START_TEST(test_watch_read)
{
	struct ev_loop *l = ev_new();
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	struct io io = {.stop = true, .unwatch_fd = -1};
	ck_assert_int_eq(ev_watch(l, p[0], EV_READ, on_io, &io), 0);
	ck_assert_int_eq(write(p[1], "hi", 2), 2);
	ev_run(l);
	ck_assert_int_eq(io.calls, 1);
	ck_assert_int_eq(io.events, EV_READ);
	ck_assert_int_eq(io.last_fd, p[0]);
	ck_assert_int_eq(io.nread, 2);
	ck_assert_mem_eq(io.got, "hi", 2);
	ev_free(l);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_watch_write_and_eof)
{
	struct ev_loop *l = ev_new();
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	/* an empty pipe is writable at once */
	struct io w = {.stop = true, .unwatch_fd = -1};
	ck_assert_int_eq(ev_watch(l, p[1], EV_WRITE, on_io, &w), 0);
	ev_run(l);
	ck_assert_int_eq(w.calls, 1);
	ck_assert_int_eq(w.events, EV_WRITE);
	ev_free(l); /* a stopped loop stays stopped: a new one */
	/* the writer closes: the reader's watch fires with EV_READ and read() gives 0 */
	l = ev_new();
	close(p[1]);
	struct io r = {.stop = true, .unwatch_fd = -1, .nread = -1};
	ck_assert_int_eq(ev_watch(l, p[0], EV_READ, on_io, &r), 0);
	ev_run(l);
	ck_assert_int_eq(r.calls, 1);
	ck_assert(r.events & EV_READ);
	ck_assert_int_eq(r.nread, 0);
	ev_free(l);
	close(p[0]);
}
END_TEST

/* a timer that stops the loop on its 3rd call: the loop turns without fd events */
static void stop_third(struct ev_loop *loop, void *arg)
{
	int *n = arg;
	if (++*n == 3)
		ev_stop(loop);
}

START_TEST(test_replace_and_unwatch)
{
	struct ev_loop *l = ev_new();
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	struct io old = {.stop = true, .unwatch_fd = -1}, new = {.stop = true, .unwatch_fd = -1};
	ck_assert_int_eq(ev_watch(l, p[0], EV_READ, on_io, &old), 0);
	ck_assert_int_eq(ev_watch(l, p[0], EV_READ, on_io, &new), 0); /* replaces */
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ev_run(l);
	ck_assert_int_eq(old.calls, 0);
	ck_assert_int_eq(new.calls, 1);
	ev_free(l);
	/* unwatched: data waiting on the fd calls nobody */
	l = ev_new();
	struct io gone = {.unwatch_fd = -1};
	ck_assert_int_eq(ev_watch(l, p[0], EV_READ, on_io, &gone), 0);
	ev_unwatch(l, p[0]);
	ev_unwatch(l, p[0]); /* twice is harmless */
	ck_assert_int_eq(write(p[1], "y", 1), 1);
	int ticks = 0;
	ck_assert_int_gt(ev_every(l, 0.01, stop_third, &ticks), 0);
	ev_run(l);
	ck_assert_int_eq(ticks, 3);
	ck_assert_int_eq(gone.calls, 0);
	ev_free(l);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_unwatch_in_same_turn)
{
	/* two readable pipes; whichever callback runs first unwatches the other fd:
	 * the other's event of the same turn must not be delivered */
	struct ev_loop *l = ev_new();
	int a[2], b[2];
	ck_assert_int_eq(pipe(a), 0);
	ck_assert_int_eq(pipe(b), 0);
	struct io ia = {.unwatch_fd = b[0]}, ib = {.unwatch_fd = a[0]};
	ck_assert_int_eq(ev_watch(l, a[0], EV_READ, on_io, &ia), 0);
	ck_assert_int_eq(ev_watch(l, b[0], EV_READ, on_io, &ib), 0);
	ck_assert_int_eq(write(a[1], "a", 1), 1);
	ck_assert_int_eq(write(b[1], "b", 1), 1);
	int ticks = 0;
	ck_assert_int_gt(ev_every(l, 0.01, stop_third, &ticks), 0);
	ev_run(l);
	ck_assert_int_eq(ia.calls + ib.calls, 1);
	ev_free(l);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
	}
}
END_TEST

struct turns {
	int hooks, events;
	bool in_order; /* at each event, this turn's hook had run */
};

static void hook(struct ev_loop *loop, void *arg)
{
	struct turns *t = arg;
	if (++t->hooks == 3)
		ev_stop(loop); /* this turn still dispatches its events */
}

static void busy(struct ev_loop *loop, int fd, int events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	struct turns *t = arg;
	t->events++;
	if (t->hooks != t->events)
		t->in_order = false;
}

START_TEST(test_before_sleep_hook)
{
	struct ev_loop *l = ev_new();
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "z", 1), 1); /* never read: readable on every turn */
	struct turns t = {.in_order = true};
	ev_before_sleep(l, hook, &t);
	ck_assert_int_eq(ev_watch(l, p[0], EV_READ, busy, &t), 0);
	ev_run(l);
	ck_assert_int_eq(t.hooks, 3);
	ck_assert_int_eq(t.events, 3);
	ck_assert(t.in_order);
	ev_free(l);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_stop_before_run)
{
	struct ev_loop *l = ev_new();
	struct turns t = {.in_order = true};
	ev_before_sleep(l, hook, &t);
	ev_stop(l);
	ev_run(l); /* returns at once: not one turn */
	ck_assert_int_eq(t.hooks, 0);
	ev_free(l);
}
END_TEST

static struct ev_loop *sig_loop;
static volatile sig_atomic_t signalled;

static void on_alarm(int sig)
{
	(void)sig;
	signalled = 1;
	ev_stop(sig_loop);
}

START_TEST(test_stop_from_signal)
{
	sig_loop = ev_new();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	struct itimerval it = {.it_value = {.tv_usec = 50000}};
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	double start = ev_now();
	ev_run(sig_loop); /* nothing watched: only the signal ends it */
	ck_assert(signalled);
	ck_assert_double_ge(ev_now() - start, 0.05 - 1e-3);
	ev_free(sig_loop);
}
END_TEST

START_TEST(test_now_monotonic)
{
	double a = ev_now(), b = ev_now();
	ck_assert_double_gt(a, 0);
	ck_assert_double_ge(b, a);
	usleep(10000);
	ck_assert_double_ge(ev_now() - a, 0.01 - 1e-3);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("ev",
		{"ev", .tests = UNIT_TESTS(
			test_timer_not_before_due, test_two_timers, test_watch_read,
			test_watch_write_and_eof, test_replace_and_unwatch,
			test_unwatch_in_same_turn, test_before_sleep_hook, test_stop_before_run,
			test_stop_from_signal, test_now_monotonic)});
}
