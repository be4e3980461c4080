/*
 * ev: a small epoll event loop (Redis' ae): file events, timers, and a hook that runs
 * once per loop turn before the loop sleeps (where the namenode group-commits).
 * Single-threaded: a loop and everything registered on it belong to the thread that
 * calls ev_run; ev_stop may be called from a signal handler.
 */
#ifndef DFS_EV_H
#define DFS_EV_H

#include <stdbool.h>
#include <stdint.h>

#define EV_READ 0x1
#define EV_WRITE 0x2

struct ev_loop;
typedef void (*ev_fd_cb)(struct ev_loop *loop, int fd, int events, void *arg);
typedef void (*ev_timer_cb)(struct ev_loop *loop, void *arg);
typedef void (*ev_hook_cb)(struct ev_loop *loop, void *arg);

/* NULL and errno on failure. */
struct ev_loop *ev_new(void);
void ev_free(struct ev_loop *loop);
/* Watches fd for events (EV_READ|EV_WRITE), replacing any earlier watch. 0 or -errno. */
int ev_watch(struct ev_loop *loop, int fd, int events, ev_fd_cb cb, void *arg);
/* Stops watching fd (call before closing it). */
void ev_unwatch(struct ev_loop *loop, int fd);
/* Calls cb every `period` seconds. Returns a timer id > 0. */
int ev_every(struct ev_loop *loop, double period, ev_timer_cb cb, void *arg);
/* Sets the hook run at the end of each turn, before sleeping. */
void ev_before_sleep(struct ev_loop *loop, ev_hook_cb cb, void *arg);
/* Runs until ev_stop. */
void ev_run(struct ev_loop *loop);
void ev_stop(struct ev_loop *loop);
/* Monotonic time in seconds. */
double ev_now(void);

#endif
