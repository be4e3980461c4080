/* status: a datanode's metrics endpoint. See status.h. Its own thread (libmicrohttpd's):
 * it reads only the store's locked counters, xfer's atomics and the executor's count. */
#include "status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "json.h"
#include "prom.h"

struct dn_status {
	struct dn_store *store;
	struct dn_xfer *xfer;
	struct cx_exec *cx;
	struct http *http;
};

static int render(void *arg, const char *path, struct buf *o, const char **ctype)
{
	struct dn_status *s = arg;
	struct dn_xfer_stats x;
	dn_xfer_stats(s->xfer, &x);
	uint64_t cap, used, rem;
	dn_store_usage(s->store, &cap, &used, &rem);
	uint64_t blocks = dn_store_count(s->store);
	uint32_t active = dn_xfer_active(s->xfer), tasks = s->cx ? cx_running(s->cx) : 0;
	if (!strcmp(path, "/metrics")) {
		*ctype = HTTP_PROMETHEUS;
		prom_u64(o, "dfs_datanode_bytes_written_total", PROM_COUNTER,
			 "Bytes of block data received.", x.bytes_written);
		prom_u64(o, "dfs_datanode_bytes_read_total", PROM_COUNTER,
			 "Bytes of block data served.", x.bytes_read);
		prom_u64(o, "dfs_datanode_blocks_written_total", PROM_COUNTER, NULL,
			 x.blocks_written);
		prom_u64(o, "dfs_datanode_blocks_read_total", PROM_COUNTER, NULL, x.blocks_read);
		prom_u64(o, "dfs_datanode_checksum_errors_total", PROM_COUNTER, NULL,
			 x.checksum_errors);
		prom_u64(o, "dfs_datanode_pipeline_breaks_total", PROM_COUNTER,
			 "Writes whose downstream datanode was lost mid-block.", x.pipeline_breaks);
		prom_u64(o, "dfs_datanode_blocks", PROM_GAUGE, "Finalized replicas stored.",
			 blocks);
		prom_u64(o, "dfs_datanode_capacity_bytes", PROM_GAUGE, NULL, cap);
		prom_u64(o, "dfs_datanode_used_bytes", PROM_GAUGE, NULL, used);
		prom_u64(o, "dfs_datanode_remaining_bytes", PROM_GAUGE, NULL, rem);
		prom_u64(o, "dfs_datanode_transfers", PROM_GAUGE, NULL, active);
		prom_u64(o, "dfs_datanode_tasks_running", PROM_GAUGE, NULL, tasks);
		return 200;
	}
	if (!strcmp(path, "/")) {
		*ctype = HTTP_JSON;
		buf_addc(o, '{');
		json_kstr(o, "id", dn_store_id(s->store));
		json_ku64(o, "blocks", blocks);
		json_ku64(o, "capacity", cap);
		json_ku64(o, "used", used);
		json_ku64(o, "remaining", rem);
		json_ku64(o, "bytes_written", x.bytes_written);
		json_ku64(o, "bytes_read", x.bytes_read);
		json_ku64(o, "checksum_errors", x.checksum_errors);
		json_ku64(o, "transfers", active);
		json_ku64(o, "tasks", tasks);
		buf_adds(o, "}\n");
		return 200;
	}
	buf_adds(o, "not found\n");
	return 404;
}

int dn_status_start(const char *addr, struct dn_store *store, struct dn_xfer *xfer,
		    struct cx_exec *cx, char *bound, size_t boundsz, struct dn_status **out)
{
	struct dn_status *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->store = store;
	s->xfer = xfer;
	s->cx = cx;
	int rc = http_start(addr, render, s, bound, boundsz, &s->http);
	if (rc) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void dn_status_stop(struct dn_status *s)
{
	if (!s)
		return;
	http_stop(s->http);
	free(s);
}
