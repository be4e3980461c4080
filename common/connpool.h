/*
 * connpool: a few idle connections kept by peer address for the next request (write
 * pipelines reuse them: no connect and handshake per block). Thread-safe (its mutex).
 * A connection goes in only when its last exchange ended cleanly (the stream is in
 * step); one taken out may still have died idle, so users try once more on a fresh one.
 */
#ifndef DFS_CONNPOOL_H
#define DFS_CONNPOOL_H

#include <pthread.h>
#include <stdbool.h>

#include "proto.h"

#define CONNPOOL_SLOTS 8

struct connpool {
	pthread_mutex_t lock;
	struct {
		bool used;
		int fd;
		char addr[PROTO_ADDR_MAX + 1];
	} v[CONNPOOL_SLOTS];
	unsigned next; /* the slot to evict when all are used */
};

/* For a static pool; one in allocated memory calls connpool_init. */
#define CONNPOOL_INITIALIZER {PTHREAD_MUTEX_INITIALIZER, {{false, -1, ""}}, 0}
void connpool_init(struct connpool *p);
/* An idle connection to addr (the caller owns it now), or -1. */
int connpool_take(struct connpool *p, const char *addr);
/* Keeps fd (taken) for addr, closing the oldest kept one when the pool is full. */
void connpool_put(struct connpool *p, const char *addr, int fd);
/* Closes every kept connection. */
void connpool_close_all(struct connpool *p);

#endif
