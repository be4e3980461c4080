/*
 * server: the namenode's RPC server -- one epoll loop thread that owns the namespace,
 * the block map and the datanode table, authenticates every connection, decodes each
 * request, and answers it. Replies produced during a loop turn are held until the
 * turn's namespace changes are synced (group commit, see ns.h). This header is the
 * whole public API; the server's files share their state through server_int.h, which
 * also maps them (connections, the request table, one file per request family, leases,
 * safe mode, the status pages).
 */
#ifndef DFS_NN_SERVER_H
#define DFS_NN_SERVER_H

#include <stdint.h>

#include "auth.h"
#include "cfg.h"

struct nn_server;

/* Opens the namespace in cfg->name_dir and listens on cfg->listen (and serves the
 * status page and metrics on cfg->http unless it is empty or "off"). port_file and
 * http_port_file (may be NULL) receive the bound HOST:PORTs once listening. */
int nn_server_start(const struct cfg *cfg, const struct auth_keys *keys,
		    const char *port_file, const char *http_port_file, struct nn_server **out);
/* Serves until nn_server_stop (signal-safe). */
void nn_server_run(struct nn_server *s);
void nn_server_stop(struct nn_server *s);
/* Syncs and frees everything. */
void nn_server_free(struct nn_server *s);

/*
 * Test hook (the fuzzer, tests/fuzz/fuzz_namenode.c): handles the bytes of one
 * connection -- frames as a peer of `role` (PROTO_ROLE_*) and uid (gid the same) that has authenticated
 * would send them -- exactly as the loop would, on a connection of their own that is
 * then closed; replies are dropped. Returns how many frames were handled.
 */
int nn_server_inject(struct nn_server *s, uint8_t role, uint32_t uid, const uint8_t *bytes,
		     size_t len);

#endif
