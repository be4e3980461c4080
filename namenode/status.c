/*
 * status: what the namenode shows over HTTP (common/http.h) -- the status page "/",
 * /api/status (JSON) and /metrics (Prometheus) -- and the cluster totals that CN_STATFS
 * and CN_REPORT also use. Loop thread only (http_start_in_loop serves from the loop).
 */
#include "server_int.h"

#include <stdio.h>
#include <string.h>

#include "client.h"
#include "http.h"
#include "json.h"
#include "prom.h"
#include "group.h"
#include "retrycache.h"

/* ---------- cluster totals ---------- */

static void count_block(void *arg, struct nn_block *b)
{
	struct nn_totals *t = arg;
	uint32_t live = 0;
	for (uint16_t i = 0; i < b->nrep; i++)
		live += t->dns->v[b->reps[i]].state != PROTO_DN_DEAD;
	if (b->flags & NN_BLOCK_CORRUPT)
		t->corrupt++;
	else if (live == 0 && !(b->flags & NN_BLOCK_UC))
		t->missing++;
	else if (live < b->repl && !(b->flags & NN_BLOCK_UC))
		t->under++;
}

void nn_totals(struct nn_server *s, struct nn_totals *t, bool blocks)
{
	memset(t, 0, sizeof *t);
	t->dns = &s->dns;
	for (uint32_t i = 0; i < s->dns.n; i++) {
		const struct nn_dn *d = &s->dns.v[i];
		if (d->state != PROTO_DN_DEAD)
			t->used += d->used;
	}
	nn_dns_space(&s->dns, &t->capacity, &t->remaining);
	if (blocks)
		nn_blockmap_each(s->bm, count_block, t);
}


/* ---------- pages ---------- */

static void status_json(struct nn_server *s, struct buf *o)
{
	struct nn_totals t;
	nn_totals(s, &t, true);
	double now = ev_now();
	buf_addc(o, '{');
	json_kbool(o, "safe_mode", s->safe_mode);
	json_ku64(o, "capacity", t.capacity);
	json_ku64(o, "used", t.used);
	json_ku64(o, "remaining", t.remaining);
	json_ku64(o, "files", nn_ns_files(s->ns));
	json_ku64(o, "blocks", nn_blockmap_count(s->bm));
	json_ku64(o, "under_replicated", t.under);
	json_ku64(o, "corrupt", t.corrupt);
	json_ku64(o, "missing", t.missing);
	json_key(o, "datanodes");
	buf_addc(o, '[');
	for (uint32_t i = 0; i < s->dns.n; i++) {
		const struct nn_dn *d = &s->dns.v[i];
		json_sep(o);
		buf_addc(o, '{');
		json_kstr(o, "id", d->id);
		json_kstr(o, "addr", d->addr);
		json_kstr(o, "state", dfs_dn_state_name(nn_dn_shown_state(d)));
		json_ku64(o, "capacity", d->capacity);
		json_ku64(o, "used", d->used);
		json_ku64(o, "remaining", d->remaining);
		json_ku64(o, "blocks", nn_blockmap_node_blocks(s->bm, i));
		char fsids[PROTO_FS_MAX * (PROTO_FSID_MAX + 1)];
		nn_dn_fs_ids(d, fsids, sizeof fsids);
		json_kstr(o, "fs_id", fsids);
		json_kdbl(o, "last_contact_s", now - d->last_contact);
		json_ku64(o, "xceivers", d->xceivers);
		json_ku64(o, "tasks", nn_jobs_node_running(s->jobs, i));
		buf_addc(o, '}');
	}
	buf_adds(o, "]}");
}

static void html_esc(struct buf *o, const char *v)
{
	for (; v && *v; v++) {
		switch (*v) {
		case '<': buf_adds(o, "&lt;"); break;
		case '>': buf_adds(o, "&gt;"); break;
		case '&': buf_adds(o, "&amp;"); break;
		case '"': buf_adds(o, "&quot;"); break;
		default: buf_addc(o, *v);
		}
	}
}

static const char *human(uint64_t n, char out[32])
{
	const char *u = "KMGTPE";
	if (n < 1024) {
		snprintf(out, 32, "%llu B", (unsigned long long)n);
		return out;
	}
	double v = (double)n;
	int i = -1;
	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	snprintf(out, 32, "%.1f %ciB", v, u[i]);
	return out;
}

static void job_row(void *arg, const struct job_info *ji)
{
	struct buf *o = arg;
	buf_adds(o, "<tr><td>");
	html_esc(o, ji->id);
	buf_printf(o, "</td><td%s>%s</td><td>%u/%u</td><td>%u</td><td>%u</td><td>%.2f</td><td>",
		   ji->state == JOB_FAILED ? " class=\"bad\"" : "", job_state_name(ji->state),
		   ji->done, ji->total, ji->node_local, ji->failed_attempts, ji->elapsed_ms / 1000.0);
	html_esc(o, ji->output);
	buf_adds(o, "</td></tr>");
}

/* A MapReduce job's phase, reducers and counters (Hadoop's counters page, in a row). */
static void counter_row(void *arg, const struct job_info *ji)
{
	struct buf *o = arg;
	if (!ji->reduce_total)
		return;
	char a[32], b[32], c[32];
	buf_adds(o, "<tr><td>");
	html_esc(o, ji->id);
	buf_printf(o, "</td><td>%s</td><td>%u/%u</td><td>%u/%u</td>", job_phase_name(ji->phase),
		   ji->done - ji->reduce_done, ji->total - ji->reduce_total, ji->reduce_done,
		   ji->reduce_total);
	for (int k = 0; k < JOB_NCOUNTERS; k++)
		buf_printf(o, "<td>%llu</td>", (unsigned long long)ji->counters[k]);
	buf_printf(o, "<td>%s</td><td>%s</td><td>%s</td></tr>", human(ji->map_mem, a),
		   human(ji->reduce_mem, b),
		   human(ji->map_rss > ji->reduce_rss ? ji->map_rss : ji->reduce_rss, c));
}

static void count_job(void *arg, const struct job_info *ji)
{
	uint32_t *by_state = arg;
	by_state[ji->state <= JOB_KILLED ? ji->state : 0]++;
}

static void status_html(struct nn_server *s, struct buf *o)
{
	struct nn_totals t;
	nn_totals(s, &t, true);
	char a[32], b[32], c[32];
	double now = ev_now();
	buf_adds(o, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>dfs namenode</title>"
		    "<meta http-equiv=\"refresh\" content=\"10\"><style>body{font-family:sans-serif;"
		    "margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
		    "padding:.3em .6em;text-align:right}th{background:#eee}td:first-child,"
		    "th:first-child{text-align:left}.bad{color:#b00;font-weight:bold}</style>"
		    "</head><body><h1>dfs namenode</h1>");
	buf_printf(o, "<h2>Cluster</h2><table id=\"summary\"><tr><th>capacity</th><td>%s</td></tr>"
		      "<tr><th>used</th><td>%s</td></tr><tr><th>remaining</th><td>%s</td></tr>"
		      "<tr><th>files and directories</th><td>%llu</td></tr>"
		      "<tr><th>blocks</th><td>%zu</td></tr>",
		   human(t.capacity, a), human(t.used, b), human(t.remaining, c),
		   (unsigned long long)nn_ns_files(s->ns), nn_blockmap_count(s->bm));
	buf_printf(o, "<tr><th>under-replicated blocks</th><td%s>%llu</td></tr>"
		      "<tr><th>corrupt blocks</th><td%s>%llu</td></tr>"
		      "<tr><th>missing blocks</th><td%s>%llu</td></tr>"
		      "<tr><th>safe mode</th><td%s>%s</td></tr>"
		      "<tr><th>up for</th><td>%.0f s</td></tr></table>",
		   t.under ? " class=\"bad\"" : "", (unsigned long long)t.under,
		   t.corrupt ? " class=\"bad\"" : "", (unsigned long long)t.corrupt,
		   t.missing ? " class=\"bad\"" : "", (unsigned long long)t.missing,
		   s->safe_mode ? " class=\"bad\"" : "", s->safe_mode ? "on" : "off",
		   now - s->started);
	buf_adds(o, "<h2>Datanodes</h2><table id=\"datanodes\"><tr><th>id</th><th>address</th>"
		    "<th>state</th><th>last contact</th><th>capacity</th><th>used</th>"
		    "<th>remaining</th><th>blocks</th><th>transfers</th><th>running tasks</th></tr>");
	for (uint32_t i = 0; i < s->dns.n; i++) {
		const struct nn_dn *d = &s->dns.v[i];
		const char *st = dfs_dn_state_name(nn_dn_shown_state(d));
		buf_adds(o, "<tr><td>");
		html_esc(o, d->id);
		buf_adds(o, "</td><td>");
		html_esc(o, d->addr);
		buf_printf(o, "</td><td%s>%s</td><td>%.1f s ago</td><td>%s</td><td>%s</td><td>%s</td>"
			      "<td>%llu</td><td>%u</td><td>%u</td></tr>",
			   strcmp(st, "live") ? " class=\"bad\"" : "", st, now - d->last_contact,
			   human(d->capacity, a), human(d->used, b), human(d->remaining, c),
			   (unsigned long long)nn_blockmap_node_blocks(s->bm, i), d->xceivers,
			   nn_jobs_node_running(s->jobs, i));
	}
	buf_adds(o, "</table><h2>Recent jobs</h2><table id=\"jobs\"><tr><th>job</th><th>state</th>"
		    "<th>tasks done</th><th>node-local</th><th>failed attempts</th><th>seconds</th>"
		    "<th>output</th></tr>");
	nn_jobs_each(s->jobs, job_row, o);
	buf_adds(o, "</table><h2>MapReduce counters</h2><table id=\"counters\"><tr><th>job</th>"
		    "<th>phase</th><th>maps done</th><th>reducers done</th>");
	for (int k = 0; k < JOB_NCOUNTERS; k++) {
		buf_adds(o, "<th>");
		buf_adds(o, job_counter_name(k));
		buf_adds(o, "</th>");
	}
	buf_adds(o, "<th>map peak memory</th><th>reduce peak memory</th>"
		    "<th>command peak RSS</th></tr>");
	nn_jobs_each(s->jobs, counter_row, o);
	buf_adds(o, "</table><p><a href=\"/api/status\">/api/status</a> &middot; "
		    "<a href=\"/metrics\">/metrics</a></p></body></html>\n");
}

static void metrics(struct nn_server *s, struct buf *o)
{
	struct nn_totals t;
	nn_totals(s, &t, true);
	prom_u64(o, "dfs_files", PROM_GAUGE, "Files, directories and other inodes.",
		 nn_ns_files(s->ns));
	prom_u64(o, "dfs_blocks", PROM_GAUGE, "Blocks in the namespace.", nn_blockmap_count(s->bm));
	prom_u64(o, "dfs_under_replicated_blocks", PROM_GAUGE, NULL, t.under);
	prom_u64(o, "dfs_corrupt_blocks", PROM_GAUGE, NULL, t.corrupt);
	prom_u64(o, "dfs_missing_blocks", PROM_GAUGE, NULL, t.missing);
	prom_u64(o, "dfs_capacity_bytes", PROM_GAUGE, NULL, t.capacity);
	prom_u64(o, "dfs_used_bytes", PROM_GAUGE, NULL, t.used);
	prom_u64(o, "dfs_remaining_bytes", PROM_GAUGE, NULL, t.remaining);
	prom_u64(o, "dfs_safe_mode", PROM_GAUGE, NULL, s->safe_mode ? 1 : 0);
	uint32_t by_state[8] = {0};
	uint64_t tasks = 0;
	for (uint32_t i = 0; i < s->dns.n; i++) {
		by_state[nn_dn_shown_state(&s->dns.v[i]) & 7]++;
		tasks += nn_jobs_node_running(s->jobs, i);
	}
	prom_head(o, "dfs_datanodes", PROM_GAUGE, "Datanodes by state.");
	for (uint8_t st = PROTO_DN_LIVE; st <= PROTO_DN_MAINTENANCE; st++)
		buf_printf(o, "dfs_datanodes{state=\"%s\"} %u\n", dfs_dn_state_name(st), by_state[st]);
	prom_u64(o, "dfs_replication_queue", PROM_GAUGE, "Block copies in flight.",
		 nn_repl_pending(s->repl));
	prom_u64(o, "dfs_heartbeats_total", PROM_COUNTER, NULL, s->heartbeats);
	prom_u64(o, "dfs_connections", PROM_GAUGE, NULL, s->nconns);
	prom_u64(o, "dfs_tasks_running", PROM_GAUGE, NULL, tasks);
	uint32_t jobs[5] = {0};
	nn_jobs_each(s->jobs, count_job, jobs);
	prom_head(o, "dfs_jobs", PROM_GAUGE, "Jobs the namenode remembers, by state.");
	for (uint8_t st = JOB_RUNNING; st <= JOB_KILLED; st++)
		buf_printf(o, "dfs_jobs{state=\"%s\"} %u\n", job_state_name(st), jobs[st]);
	prom_head(o, "dfs_rpc_requests_total", PROM_COUNTER, "Requests handled, by operation.");
	for (int k = 0; k < 256; k++)
		if (s->rpc_count[k])
			buf_printf(o, "dfs_rpc_requests_total{op=\"%s\"} %llu\n",
				   proto_type_name((uint16_t)k), (unsigned long long)s->rpc_count[k]);
	if (s->group) { /* a namenode group's member (group.h) */
		struct raftnode_status st;
		const char *state;
		nn_group_status(s->group, &st, &state);
		prom_head(o, "dfs_namenode_group_state", PROM_GAUGE,
			  "This member's serving state (1 for the current one).");
		buf_printf(o, "dfs_namenode_group_state{state=\"%s\",raft=\"%s\"} 1\n", state,
			   raftnode_role_name(st.role));
		prom_head(o, "dfs_namenode_group_term", PROM_GAUGE, "The Raft term.");
		buf_printf(o, "dfs_namenode_group_term %llu\n", (unsigned long long)st.term);
		prom_head(o, "dfs_namenode_group_commit_index", PROM_GAUGE,
			  "The last log entry a majority has.");
		buf_printf(o, "dfs_namenode_group_commit_index %llu\n",
			   (unsigned long long)st.commit_index);
		prom_head(o, "dfs_namenode_group_applied_index", PROM_GAUGE,
			  "The last log entry applied here.");
		buf_printf(o, "dfs_namenode_group_applied_index %llu\n",
			   (unsigned long long)st.applied_index);
	}
	prom_head(o, "dfs_namespace_syncs_total", PROM_COUNTER,
		  "Synced writes of the namespace: one per loop turn with changes (0 in a group, "
		  "whose log is the durable record).");
	buf_printf(o, "dfs_namespace_syncs_total %llu\n", (unsigned long long)nn_ns_syncs(s->ns));
	prom_head(o, "dfs_deferred_creates", PROM_GAUGE,
		  "Files created and answered, not written yet: written with their first block "
		  "or when observed.");
	buf_printf(o, "dfs_deferred_creates %u\n", nn_ns_deferred(s->ns));
	prom_head(o, "dfs_cache_sessions", PROM_GAUGE,
		  "Mounts with cache callbacks (sessions named by CN_SESSION).");
	buf_printf(o, "dfs_cache_sessions %u\n", nn_cb_sessions(s->cb));
	prom_head(o, "dfs_cache_held_inodes", PROM_GAUGE,
		  "Inodes some mount's kernel may cache (held by a session).");
	buf_printf(o, "dfs_cache_held_inodes %llu\n", (unsigned long long)nn_cb_held(s->cb));
	prom_head(o, "dfs_cache_invalidations_total", PROM_COUNTER,
		  "Invalidations sent to mounts.");
	buf_printf(o, "dfs_cache_invalidations_total %llu\n", (unsigned long long)nn_cb_sent(s->cb));
	prom_head(o, "dfs_retry_cache_entries", PROM_GAUGE,
		  "First replies of mutating calls kept for retries.");
	buf_printf(o, "dfs_retry_cache_entries %llu\n", (unsigned long long)nn_rc_size(s->rc));
	prom_head(o, "dfs_retry_cache_replays_total", PROM_COUNTER,
		  "Retried calls answered with their first reply.");
	buf_printf(o, "dfs_retry_cache_replays_total %llu\n",
		   (unsigned long long)nn_rc_replays(s->rc));
	prom_head(o, "dfs_rpc_seconds_total", PROM_COUNTER,
		  "Time spent handling requests, by operation.");
	for (int k = 0; k < 256; k++)
		if (s->rpc_count[k])
			buf_printf(o, "dfs_rpc_seconds_total{op=\"%s\"} %.6f\n",
				   proto_type_name((uint16_t)k), s->rpc_seconds[k]);
}

int nn_status_render(void *arg, const char *path, struct buf *body, const char **ctype)
{
	struct nn_server *s = arg;
	if (!strcmp(path, "/")) {
		status_html(s, body);
		*ctype = HTTP_HTML;
	} else if (!strcmp(path, "/api/status")) {
		status_json(s, body);
		buf_addc(body, '\n');
		*ctype = HTTP_JSON;
	} else if (!strcmp(path, "/metrics")) {
		metrics(s, body);
		*ctype = HTTP_PROMETHEUS;
	} else {
		buf_adds(body, "not found\n");
		return 404;
	}
	return 200;
}
