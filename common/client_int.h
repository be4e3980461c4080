/*
 * client_int: what the files of the client library share, and nothing outside it may use
 * (the public API is client.h). The library is four files:
 *
 *   client.c        the namenode connection: connect, handshake retries, reconnect,
 *                   one call and its reply, the per-thread error text; shared decoders
 *   client_ns.c     the namespace calls: one request stub per namenode message
 *   client_write.c  the block write pipeline, its recovery, free-standing blocks (put)
 *   client_read.c   verified block reads with replica failover (get, cat, pread)
 *
 * Threads and locks: dfs-fuse calls the library from many libfuse threads at once.
 *  - struct dfs_client is shared by them: opts never change after dfs_connect; fd and
 *    reqid are guarded by its lock, taken only inside client_call for one request and
 *    its reply (so namenode calls are serialised, one in flight per connection).
 *  - The error text is per thread (client_errmsg is __thread): no lock.
 *  - A dfs_writer or dfs_reader is used by one thread at a time (its caller's rule);
 *    their datanode connections are theirs alone, except the process-wide pool of idle
 *    write connections in client_write.c, which has its own mutex (connpool.h).
 */
#ifndef DFS_CLIENT_INT_H
#define DFS_CLIENT_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "client.h"
#include "pack.h"

#define CLIENT_ERR_MAX 512

struct dfs_client {
	struct dfs_client_opts opts; /* set by dfs_connect, read-only after */
	pthread_mutex_t lock;        /* guards fd and reqid (held by client_call only) */
	int fd;                      /* -1 after a broken connection */
	uint64_t reqid;  /* the last call's id: idbase | call number */
	uint64_t idbase; /* this client's random id, shifted above the call number */
	bool reconnect; /* open a new connection when the old one broke */
	int cur;        /* index in opts.namenode's list of the namenode fd is open to */
	char leader[PROTO_ADDR_MAX + 1]; /* a NOT_LEADER reply's hint, tried first; or "" */
	int cancelled; /* dfs_interrupt: calls fail with ECANCELED (atomic) */
};

/* A call id (namenode/retrycache.h): a random 40-bit client id, then a 24-bit call
 * number, so that the one-call clients of a busy cluster (each dfs command) do not
 * share ids within the retry cache's window. */
#define CLIENT_CALL_BITS 24
#define CLIENT_ID_MASK ((1ULL << 40) - 1)
#define CLIENT_NN_MAX 9          /* members of a namenode group a client holds */
#define CLIENT_FAILOVER_TRIES 40 /* calls sent before a group's failover gives up (~20 s) */

/* Splits a comma-separated list of HOST:PORT (spaces allowed) into out; the count. */
int client_nn_list(const char *list, char (*out)[PROTO_ADDR_MAX + 1], int max);

/* The calling thread's error explanation (what dfs_errmsg returns). */
extern __thread char client_errmsg[CLIENT_ERR_MAX];

/* Sets the calling thread's error text. */
void client_set_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Sets the error text from an error reply's payload (a string: the server's reason). */
void client_err_from_reply(const void *data, size_t len);

/* One request to the namenode and its reply payload in rep (reset first); an error
 * reply gives -errno with the server's message as the error text. Thread-safe. */
int client_call(struct dfs_client *c, uint16_t type, const struct buf *req, struct buf *rep);
/* client_call for a reply that is one attr (decoded into out, may be NULL); frees req. */
int client_call_attr(struct dfs_client *c, uint16_t type, struct buf *req,
		     struct dfs_attr *out);

/* Decodes an attr (proto.h's attr layout); the cursor's error flag tells failure. */
void client_get_attr(struct unpack *u, struct dfs_attr *a);
/* Decodes a CN_GROUP_STATUS reply into g (errors are the cursor's). */
void client_get_group_status(struct unpack *u, struct dfs_group_status *g);
/* Decodes "u32 n, n x (id, addr)" into a new array (caller frees *locs). */
int client_get_locs(struct unpack *u, uint32_t *n, struct dfs_loc **locs);

/* Connects to the datanode at addr and authenticates as this client, for bulk
 * transfers; *connected says whether the TCP connection was made (a failure after it
 * is the handshake's). */
int client_dn_dial(const struct dfs_client *c, const char *addr, int *fdp, bool *connected);

#endif
