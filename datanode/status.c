/* status: a datanode's metrics endpoint. See status.h. Its own thread (libmicrohttpd's):
 * it reads only the store's locked counters, xfer's atomics and the executor's count. */
#include "status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "json.h"

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
		buf_printf(o, "# HELP dfs_datanode_bytes_written_total Bytes of block data received.\n"
			      "# TYPE dfs_datanode_bytes_written_total counter\n"
			      "dfs_datanode_bytes_written_total %llu\n",
			   (unsigned long long)x.bytes_written);
		buf_printf(o, "# HELP dfs_datanode_bytes_read_total Bytes of block data served.\n"
			      "# TYPE dfs_datanode_bytes_read_total counter\n"
			      "dfs_datanode_bytes_read_total %llu\n",
			   (unsigned long long)x.bytes_read);
		buf_printf(o, "# TYPE dfs_datanode_blocks_written_total counter\n"
			      "dfs_datanode_blocks_written_total %llu\n"
			      "# TYPE dfs_datanode_blocks_read_total counter\n"
			      "dfs_datanode_blocks_read_total %llu\n"
			      "# TYPE dfs_datanode_checksum_errors_total counter\n"
			      "dfs_datanode_checksum_errors_total %llu\n",
			   (unsigned long long)x.blocks_written, (unsigned long long)x.blocks_read,
			   (unsigned long long)x.checksum_errors);
		buf_printf(o, "# HELP dfs_datanode_pipeline_breaks_total Writes whose downstream "
			      "datanode was lost mid-block.\n"
			      "# TYPE dfs_datanode_pipeline_breaks_total counter\n"
			      "dfs_datanode_pipeline_breaks_total %llu\n",
			   (unsigned long long)x.pipeline_breaks);
		buf_printf(o, "# HELP dfs_datanode_blocks Finalized replicas stored.\n"
			      "# TYPE dfs_datanode_blocks gauge\ndfs_datanode_blocks %llu\n",
			   (unsigned long long)blocks);
		buf_printf(o, "# TYPE dfs_datanode_capacity_bytes gauge\n"
			      "dfs_datanode_capacity_bytes %llu\n"
			      "# TYPE dfs_datanode_used_bytes gauge\ndfs_datanode_used_bytes %llu\n"
			      "# TYPE dfs_datanode_remaining_bytes gauge\n"
			      "dfs_datanode_remaining_bytes %llu\n",
			   (unsigned long long)cap, (unsigned long long)used,
			   (unsigned long long)rem);
		buf_printf(o, "# TYPE dfs_datanode_transfers gauge\ndfs_datanode_transfers %u\n"
			      "# TYPE dfs_datanode_tasks_running gauge\ndfs_datanode_tasks_running %u\n",
			   active, tasks);
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
