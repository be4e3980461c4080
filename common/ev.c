/* ev: epoll loop. See ev.h. Owned by the thread running ev_run. */
#include "ev.h"
#include "clock.h"
#include "grow.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

struct ev_watch {
	ev_fd_cb cb;
	void *arg;
	int events;
};

struct ev_timer {
	double period, next;
	ev_timer_cb cb;
	void *arg;
};

struct ev_loop {
	int epfd;
	struct ev_watch *watches; /* indexed by fd */
	int nwatches;
	struct ev_timer *timers;
	int ntimers, captimers;
	ev_hook_cb hook;
	void *hook_arg;
	volatile sig_atomic_t stop;
};

double ev_now(void) { return clock_now(); }

struct ev_loop *ev_new(void)
{
	struct ev_loop *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int e = errno;
		free(l);
		errno = e;
		return NULL;
	}
	return l;
}

void ev_free(struct ev_loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l->watches);
	free(l->timers);
	free(l);
}

int ev_watch(struct ev_loop *l, int fd, int events, ev_fd_cb cb, void *arg)
{
	if (fd >= l->nwatches) {
		int n = l->nwatches ? l->nwatches : 64;
		while (n <= fd)
			n *= 2;
		struct ev_watch *w = realloc(l->watches, (size_t)n * sizeof *w);
		if (!w)
			return -ENOMEM;
		memset(w + l->nwatches, 0, (size_t)(n - l->nwatches) * sizeof *w);
		l->watches = w;
		l->nwatches = n;
	}
	if (l->watches[fd].cb && l->watches[fd].events == events) {
		l->watches[fd].cb = cb; /* nothing changes for the kernel */
		l->watches[fd].arg = arg;
		return 0;
	}
	struct epoll_event e = {0};
	e.events = (events & EV_READ ? EPOLLIN : 0) | (events & EV_WRITE ? EPOLLOUT : 0);
	e.data.fd = fd;
	int op = l->watches[fd].cb ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(l->epfd, op, fd, &e))
		return -errno;
	l->watches[fd] = (struct ev_watch){cb, arg, events};
	return 0;
}

void ev_unwatch(struct ev_loop *l, int fd)
{
	if (fd < 0 || fd >= l->nwatches || !l->watches[fd].cb)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->watches[fd].cb = NULL;
}

int ev_every(struct ev_loop *l, double period, ev_timer_cb cb, void *arg)
{
	if (ALLOC_GROW(l->timers, l->ntimers + 1, l->captimers))
		return -ENOMEM;
	l->timers[l->ntimers] = (struct ev_timer){period, ev_now() + period, cb, arg};
	return ++l->ntimers;
}

void ev_before_sleep(struct ev_loop *l, ev_hook_cb cb, void *arg)
{
	l->hook = cb;
	l->hook_arg = arg;
}

void ev_stop(struct ev_loop *l) { l->stop = 1; }

static void dispatch(struct ev_loop *l, struct epoll_event *evs, int n)
{
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd;
		if (fd >= l->nwatches || !l->watches[fd].cb)
			continue; /* unwatched by an earlier callback this turn */
		int ev = 0;
		if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			ev |= EV_READ;
		if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			ev |= EV_WRITE;
		struct ev_watch w = l->watches[fd];
		w.cb(l, fd, ev & (w.events | EV_READ), w.arg);
	}
}

void ev_run(struct ev_loop *l)
{
	struct epoll_event evs[256];
	while (!l->stop) {
		if (l->hook)
			l->hook(l, l->hook_arg);
		double now = ev_now(), next = now + 1;
		for (int i = 0; i < l->ntimers; i++)
			if (l->timers[i].next < next)
				next = l->timers[i].next;
		int timeout = next > now ? (int)((next - now) * 1000) + 1 : 0;
		int n = epoll_wait(l->epfd, evs, 256, timeout);
		if (n < 0 && errno != EINTR)
			break;
		dispatch(l, evs, n > 0 ? n : 0);
		now = ev_now();
		for (int i = 0; i < l->ntimers; i++) {
			if (l->timers[i].next > now)
				continue;
			l->timers[i].next = now + l->timers[i].period;
			l->timers[i].cb(l, l->timers[i].arg);
		}
	}
}
