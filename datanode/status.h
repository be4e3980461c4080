/*
 * status: a datanode's own HTTP endpoint (common/http.h, on its own thread): `/metrics`
 * in Prometheus text format -- bytes and blocks read and written, checksum errors,
 * replicas and space, transfers and tasks running -- and `/` (the same as JSON).
 */
#ifndef DFS_DN_STATUS_H
#define DFS_DN_STATUS_H

#include <stddef.h>

#include "blockstore.h"
#include "executor.h"
#include "xfer.h"

struct dn_status;

/* Serves on addr; the bound HOST:PORT into bound. 0 or -errno. */
int dn_status_start(const char *addr, struct dn_store *store, struct dn_xfer *xfer,
		    struct cx_exec *cx, char *bound, size_t boundsz, struct dn_status **out);
void dn_status_stop(struct dn_status *s);

#endif
