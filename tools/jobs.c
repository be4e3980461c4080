/*
 * jobs: `dfs run` (submit a job and follow it) and `dfs job list|status|kill|logs`.
 * Main thread only. The layouts of the messages are in compute/job.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "job.h"
#include "json.h"
#include "proto.h"
#include "reduce.h"
#include "sample.h"

static int job_status(struct dfs_client *c, const char *id, uint32_t wait_ms,
		      struct job_info *out)
{
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_str(&req, id);
	pack_u32(&req, wait_ms);
	int rc = dfs_call(c, PROTO_CN_JOB_STATUS, &req, &rep);
	if (!rc) {
		struct unpack u;
		unpack_init(&u, rep.data, rep.len);
		rc = job_info_unpack(&u, out);
	}
	buf_free(&req);
	buf_free(&rep);
	return rc;
}

/* One status line, redrawn in place on a terminal. */
static void progress_line(const struct job_info *i)
{
	char rd[32], tot[32];
	cli_size(i->bytes_read, true, rd);
	cli_size(i->input_bytes, true, tot);
	uint32_t placed = i->node_local + i->remote;
	double secs = i->elapsed_ms / 1000.0;
	double rate = secs > 0 ? (double)i->bytes_read / secs : 0;
	char rs[32];
	cli_size((uint64_t)rate, true, rs);
	if (i->reduce_total)
		fprintf(stderr, "\r\033[K%s: %s, maps %u/%u, reduces %u/%u, %u running, %.1f s", i->id,
			job_phase_name(i->phase), i->done - i->reduce_done, i->total - i->reduce_total,
			i->reduce_done, i->reduce_total, i->running, i->elapsed_ms / 1000.0);
	if (i->reduce_total) {
		fflush(stderr);
		return;
	}
	fprintf(stderr, "\r\033[K%s: tasks %u/%u done, %u running, %s of %s read (%s/s), %.0f%% "
			"node-local, %.1f s",
		i->id, i->done, i->total, i->running, rd, tot, rs,
		placed ? 100.0 * i->node_local / placed : 100.0, secs);
	if (rate > 0 && i->input_bytes > i->bytes_read)
		fprintf(stderr, ", ETA %.0f s", (double)(i->input_bytes - i->bytes_read) / rate);
	fflush(stderr);
}

static void print_failure(const struct job_info *i)
{
	cli_error(NULL, "job %s %s: %s", i->id, job_state_name(i->state),
		  i->error && i->error[0] ? i->error : "no reason given");
	if (i->error_stderr && i->error_stderr[0]) {
		fprintf(stderr, "--- standard error of that attempt (its end) ---\n%s",
			i->error_stderr);
		if (i->error_stderr[strlen(i->error_stderr) - 1] != '\n')
			fputc('\n', stderr);
		fprintf(stderr, "--- 'dfs job logs %s' shows every attempt ---\n", i->id);
	}
}

static void summary(const struct job_info *i)
{
	char rd[32];
	cli_size(i->bytes_read, true, rd);
	uint32_t placed = i->node_local + i->remote;
	fprintf(stderr, "%s %s in %.2f s: %u tasks, %u node-local, %u remote (%.0f%% "
			"node-local), %s read, %u failed attempts, %u speculative; output in %s\n",
		i->id, job_state_name(i->state), i->elapsed_ms / 1000.0, i->total, i->node_local,
		i->remote, placed ? 100.0 * i->node_local / placed : 100.0, rd, i->failed_attempts,
		i->speculative, i->output);
}

/* What `dfs run`'s options fill in beside the job's flags. */
struct run_opts {
	struct job_spec *s;
	char **inputs; /* s->ninputs of them */
	const char *pattern;
};

static int opt_input(void *arg, const char *path)
{
	struct run_opts *o = arg;
	o->inputs[o->s->ninputs++] = (char *)path;
	return 0;
}

static int set_filter(struct run_opts *o, uint8_t filter, const char *pattern)
{
	if (o->s->filter) {
		cli_error(NULL, "give one of --grep and --regex");
		return 2;
	}
	o->s->filter = filter;
	o->pattern = pattern;
	return 0;
}

/* A count option's value (name for the message): 0 or 2 (usage error). */
static int parse_count(const char *name, const char *v, uint32_t max, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long n = v ? strtoul(v, &end, 10) : 0;
	if (!v || !*v || *end || errno || n > max || *v == '-') {
		cli_error(NULL, "--%s '%s': not a number from 0 to %u", name, v ? v : "", max);
		return 2;
	}
	*out = (uint32_t)n;
	return 0;
}

/* A bare word that is no built-in and no program the tasks could run: a typo of a
 * built-in, most likely (the tasks' PATH is /usr/local/bin:/usr/bin:/bin). */
static bool is_unknown_builtin(const char *cmd)
{
	if (!cmd || !*cmd || mr_builtin_parse(cmd) != MR_NONE)
		return false;
	for (const char *p = cmd; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && *p != '_')
			return false;
	static const char *const dirs[] = {"/usr/local/bin", "/usr/bin", "/bin"};
	char path[4200];
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dirs[i], cmd);
		if (!access(path, X_OK))
			return false;
	}
	return true;
}

static int opt_grep(void *o, const char *arg) { return set_filter(o, JOB_FILTER_GREP, arg); }
static int opt_regex(void *o, const char *arg) { return set_filter(o, JOB_FILTER_REGEX, arg); }

int cmd_run(int argc, char **argv)
{
	struct buf bounds = BUF_INIT; /* range bounds (s.bounds points in) */
	struct job_spec s = {0};
	char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
	struct buf out = BUF_INIT;
	bool detach = false;
	const char *map = NULL, *output = NULL, *reduce = NULL, *combine = NULL;
	const char *reducers = NULL, *key_fields = NULL, *out_repl = NULL, *partition = NULL;
	struct run_opts ro = {&s, inputs, NULL};
	const struct cli_opt opts[] = {
		CLI_CALLBACK(0, "input", opt_input, &ro), CLI_STRING(0, "output", &output),
		CLI_STRING(0, "map", &map),               CLI_CALLBACK(0, "grep", opt_grep, &ro),
		CLI_CALLBACK(0, "regex", opt_regex, &ro), CLI_BIT(0, "invert", &s.flags, JOB_F_INVERT),
		CLI_BIT(0, "ignore-case", &s.flags, JOB_F_ICASE),
		CLI_BIT(0, "count", &s.flags, JOB_F_COUNT),
		CLI_BIT(0, "overwrite", &s.flags, JOB_F_OVERWRITE),
		CLI_BOOL(0, "detach", &detach),           CLI_STRING(0, "reduce", &reduce),
		CLI_STRING(0, "combine", &combine),       CLI_STRING(0, "reducers", &reducers),
		CLI_STRING(0, "key-fields", &key_fields),
		CLI_STRING(0, "output-replication", &out_repl),
		CLI_STRING(0, "partition", &partition), CLI_END};
	int st = cli_parse_options("run", argc, argv, opts, 0, CLI_ANY);
	if (st >= 0) {
		free(inputs);
		return st;
	}
	const char *pattern = ro.pattern;
	if (output)
		cli_remote_path(output, &out);
	for (int i = optind; i < argc; i++) /* --input A B C */
		inputs[s.ninputs++] = argv[i];
	struct buf *paths = calloc(s.ninputs + 1, sizeof *paths);
	s.inputs = calloc(s.ninputs + 1, sizeof *s.inputs);
	for (uint32_t i = 0; i < s.ninputs; i++) {
		cli_remote_path(inputs[i], &paths[i]);
		s.inputs[i] = paths[i].data;
	}
	s.output = out.data;
	s.map = (char *)(map ? map : "");
	s.pattern = (char *)(pattern ? pattern : "");
	s.reduce = (char *)(reduce ? reduce : "");
	s.combine = (char *)(combine ? combine : "");
	s.reducers = reduce ? 1 : 0;
	s.key_fields = 1;
	uint32_t repl = 0;
	struct buf err = BUF_INIT;
	int status = 0;
	if ((reducers && (status = parse_count("reducers", reducers, MR_REDUCERS_MAX, &s.reducers))) ||
	    (key_fields &&
	     (status = parse_count("key-fields", key_fields, MR_KEY_FIELDS_MAX, &s.key_fields))) ||
	    (out_repl && (status = parse_count("output-replication", out_repl, PROTO_REPL_MAX, &repl))))
		goto out;
	s.out_repl = (uint16_t)repl;
	if (key_fields && !s.key_fields) {
		cli_error(NULL, "--key-fields 0: a key is at least one field");
		status = 2;
		goto out;
	}
	if (partition && strcmp(partition, "hash") && strcmp(partition, "range")) {
		cli_error(NULL, "--partition '%s': hash or range", partition);
		status = 2;
		goto out;
	}
	s.partitioner = partition && !strcmp(partition, "range") ? MR_PART_RANGE : MR_PART_HASH;
	s.bounds = "";
	if (is_unknown_builtin(s.reduce)) {
		cli_error(NULL, "unknown built-in reducer '%s': the built-ins are count, sum, min "
				"and max (a command must be a program on the tasks' PATH)",
			  s.reduce);
		status = 2;
		goto out;
	}
	if (is_unknown_builtin(s.combine)) {
		cli_error(NULL, "unknown built-in combiner '%s': the built-ins are count, sum, min "
				"and max (a command must be a program on the tasks' PATH)",
			  s.combine);
		status = 2;
		goto out;
	}
	if (job_spec_check(&s, &err)) {
		cli_error(NULL, "%s", err.data);
		fprintf(stderr, "try 'dfs run --help'\n");
		status = 2;
		goto out;
	}
	struct dfs_client *c = cli_connect();
	struct buf req = BUF_INIT, rep = BUF_INIT;
	if (s.partitioner == MR_PART_RANGE) {
		if (sample_bounds(c, &s, &bounds, &err)) {
			cli_error(NULL, "%s", err.data);
			status = 1;
			dfs_close(c);
			buf_free(&bounds);
			goto out;
		}
		s.bounds = bounds.data;
	}
	int resubmits = 0;
	char id[JOB_ID_MAX + 1] = "";
	int rc;
submit:
	job_spec_pack(&req, &s);
	rc = dfs_call(c, PROTO_CN_JOB_SUBMIT, &req, &rep);
	if (!rc) {
		struct unpack u;
		unpack_init(&u, rep.data, rep.len);
		unpack_str(&u, id, sizeof id);
		if (!unpack_ok(&u))
			rc = -EPROTO;
	}
	buf_free(&req);
	buf_free(&rep);
	if (rc) {
		status = cli_fail(NULL, rc);
		dfs_close(c);
		goto out;
	}
	if (detach) {
		printf("%s\n", id);
		dfs_close(c);
		goto out;
	}
	bool tty = isatty(2) && !cli_g.quiet;
	if (!cli_g.quiet && !tty)
		fprintf(stderr, "%s submitted\n", id);
	struct job_info info = {0};
	for (;;) {
		rc = job_status(c, id, tty ? 250 : 5000, &info);
		if (rc == -ENOENT && resubmits < 3) {
			/* jobs live in the namenode that runs them: one that restarted, or a
			 * group's new leader, never heard of this one. Its output is ours (the
			 * submit refused an existing one), so it is run again over it. */
			resubmits++;
			if (!cli_g.quiet)
				fprintf(stderr, "%s%s: lost with its namenode (a restart or a failover): "
					"submitting it again\n", tty ? "\r\033[K" : "", id);
			s.flags |= JOB_F_OVERWRITE;
			goto submit;
		}
		if (rc)
			break;
		if (info.state != JOB_RUNNING)
			break;
		if (tty)
			progress_line(&info);
		job_info_free(&info);
	}
	dfs_close(c);
	if (tty)
		fprintf(stderr, "\r\033[K");
	if (rc) {
		status = cli_fail(id, rc);
		goto out;
	}
	if (info.state == JOB_SUCCEEDED) {
		if (!cli_g.quiet)
			summary(&info);
		if (s.flags & JOB_F_COUNT)
			printf("%" PRIu64 "\n", info.records);
	} else {
		print_failure(&info);
		status = 1;
	}
	job_info_free(&info);
out:
	buf_free(&bounds); /* (s.bounds points into it until here: a resubmit packs it) */
	for (uint32_t i = 0; i < s.ninputs; i++)
		buf_free(&paths[i]);
	free(paths);
	free(s.inputs);
	free(inputs);
	buf_free(&out);
	buf_free(&err);
	return status;
}

static void info_json(struct buf *o, const struct job_info *i)
{
	buf_addc(o, '{');
	json_kstr(o, "id", i->id);
	json_kstr(o, "state", job_state_name(i->state));
	bool mr = i->reduce_total > 0;
	json_kstr(o, "phase", job_phase_name(i->phase));
	json_key(o, "tasks");
	buf_addc(o, '{');
	json_ku64(o, "total", i->total);
	json_ku64(o, "done", i->done);
	json_ku64(o, "running", i->running);
	json_ku64(o, "failed_attempts", i->failed_attempts);
	json_ku64(o, "speculative", i->speculative);
	json_ku64(o, "reduce_total", i->reduce_total);
	json_ku64(o, "reduce_done", i->reduce_done);
	buf_addc(o, '}');
	if (mr) {
		json_key(o, "counters");
		buf_addc(o, '{');
		for (int c = 0; c < JOB_NCOUNTERS; c++)
			json_ku64(o, job_counter_name(c), i->counters[c]);
		json_ku64(o, "shuffle_bytes",
			  i->counters[JOB_C_SHUFFLE_BYTES_LOCAL] + i->counters[JOB_C_SHUFFLE_BYTES_REMOTE]);
		buf_addc(o, '}');
	}
	if (mr) /* seconds from submission to the last map's end (0: maps still run) */
		json_kdbl(o, "map_elapsed", i->map_elapsed_ms / 1000.0);
	json_key(o, "peak_memory"); /* the largest over the attempts, bytes */
	buf_addc(o, '{');
	json_ku64(o, "map", i->map_mem);
	json_ku64(o, "reduce", i->reduce_mem);
	json_ku64(o, "map_command_rss", i->map_rss);
	json_ku64(o, "reduce_command_rss", i->reduce_rss);
	buf_addc(o, '}');
	json_ku64(o, "node_local", i->node_local);
	json_ku64(o, "remote", i->remote);
	json_kstr(o, "output", i->output);
	json_kstr(o, "what", i->what);
	json_ku64(o, "uid", i->uid);
	json_ku64(o, "input_bytes", i->input_bytes);
	json_ku64(o, "bytes_read", i->bytes_read);
	json_ku64(o, "records", i->records);
	if (i->flags & JOB_F_COUNT)
		json_ku64(o, "count", i->records);
	json_ki64(o, "submitted_ms", i->submitted_ms);
	json_kdbl(o, "elapsed", i->elapsed_ms / 1000.0);
	if (i->error && i->error[0])
		json_kstr(o, "error", i->error);
	if (i->error_stderr && i->error_stderr[0])
		json_kstr(o, "error_stderr", i->error_stderr);
	buf_addc(o, '}');
}

static int job_list(struct dfs_client *c, bool json)
{
	struct buf req = BUF_INIT, rep = BUF_INIT;
	int rc = dfs_call(c, PROTO_CN_JOB_LIST, &req, &rep);
	if (rc) {
		buf_free(&rep);
		return cli_fail(NULL, rc);
	}
	struct unpack u;
	unpack_init(&u, rep.data, rep.len);
	uint32_t n = unpack_count(&u, 8);
	struct buf o = BUF_INIT;
	if (json)
		buf_addc(&o, '[');
	else
		printf("%-30s %-10s %11s %8s  %s\n", "JOB", "STATE", "TASKS", "TIME", "OUTPUT");
	for (uint32_t k = 0; k < n; k++) {
		struct job_info i;
		if (job_info_unpack(&u, &i)) {
			rc = -EPROTO;
			break;
		}
		if (json) {
			json_sep(&o);
			info_json(&o, &i);
		} else {
			char tasks[32];
			snprintf(tasks, sizeof tasks, "%u/%u", i.done, i.total);
			printf("%-30s %-10s %11s %7.1fs  %s\n", i.id, job_state_name(i.state), tasks,
			       i.elapsed_ms / 1000.0, i.output);
		}
		job_info_free(&i);
	}
	if (json) {
		buf_addc(&o, ']');
		printf("%s\n", o.data);
	}
	buf_free(&o);
	buf_free(&rep);
	return rc ? cli_fail(NULL, rc) : 0;
}

static int job_logs(struct dfs_client *c, const char *id, int32_t task)
{
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_str(&req, id);
	pack_i32(&req, task);
	int rc = dfs_call(c, PROTO_CN_JOB_LOGS, &req, &rep);
	buf_free(&req);
	if (rc) {
		buf_free(&rep);
		return cli_fail(id, rc);
	}
	struct unpack u;
	unpack_init(&u, rep.data, rep.len);
	uint32_t n = unpack_count(&u, 8);
	for (uint32_t k = 0; k < n; k++) {
		struct job_attempt_log a;
		if (job_attempt_log_unpack(&u, &a)) {
			rc = -EPROTO;
			break;
		}
		printf("== task %05u attempt %u on %s: %s", a.task, a.attempt,
		       a.node[0] ? a.node : "?", job_state_name(a.state));
		if (a.exit_status >= 0)
			printf(", exit status %d", a.exit_status);
		printf(", %.2f s%s%s", a.elapsed_ms / 1000.0, a.local ? ", node-local" : ", remote read",
		       a.speculative ? ", speculative" : "");
		if (a.mem_peak || a.cmd_rss) {
			char mem[32], rss[32];
			cli_size(a.mem_peak, true, mem);
			cli_size(a.cmd_rss, true, rss);
			printf(", memory %s, command RSS %s", mem, rss);
		}
		printf("%s%s\n", a.message[0] ? ": " : "", a.message);
		if (a.stderr_text[0]) {
			fputs(a.stderr_text, stdout);
			if (a.stderr_text[strlen(a.stderr_text) - 1] != '\n')
				putchar('\n');
		}
		job_attempt_log_free(&a);
	}
	buf_free(&rep);
	return rc ? cli_fail(id, rc) : 0;
}

int cmd_job(int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = {CLI_JSON(&json), CLI_END};
	int st = cli_parse_options("job", argc, argv, opts, 1, CLI_ANY);
	if (st >= 0)
		return st;
	int left = argc - optind;
	char **a = argv + optind;
	const char *sub = a[0];
	bool needs_id = strcmp(sub, "list") != 0;
	if (!strcmp(sub, "list") ? left != 1
	    : !strcmp(sub, "logs") ? (left < 2 || left > 3)
	    : (strcmp(sub, "status") && strcmp(sub, "kill")) || left != 2)
		return cli_usage("job", false);
	int32_t task = -1;
	if (left == 3) {
		char *end;
		long t = strtol(a[2], &end, 10);
		if (*end || t < 0 || t > INT32_MAX) {
			cli_error(a[2], "not a task number");
			return 2;
		}
		task = (int32_t)t;
	}
	struct dfs_client *c = cli_connect();
	st = 0;
	if (!needs_id) {
		st = job_list(c, json);
	} else if (!strcmp(sub, "status")) {
		struct job_info i;
		int rc = job_status(c, a[1], 0, &i);
		if (rc) {
			st = cli_fail(a[1], rc);
		} else {
			if (json) {
				struct buf o = BUF_INIT;
				info_json(&o, &i);
				printf("%s\n", o.data);
				buf_free(&o);
			} else {
				char rd[32], tot[32];
				cli_size(i.bytes_read, true, rd);
				cli_size(i.input_bytes, true, tot);
				printf("job        %s\nstate      %s\nwhat       %s\noutput     %s\n"
				       "tasks      %u done, %u running, %u total\n"
				       "placement  %u node-local, %u remote\n"
				       "attempts   %u failed, %u speculative\n"
				       "read       %s of %s\nrecords    %" PRIu64 "\n"
				       "elapsed    %.2f s\n",
				       i.id, job_state_name(i.state), i.what, i.output, i.done,
				       i.running, i.total, i.node_local, i.remote, i.failed_attempts,
				       i.speculative, rd, tot, i.records, i.elapsed_ms / 1000.0);
				if (i.reduce_total) {
					printf("phase      %s, %u of %u reducers done\n",
					       job_phase_name(i.phase), i.reduce_done, i.reduce_total);
					for (int k = 0; k < JOB_NCOUNTERS; k++)
						printf("  %-24s %" PRIu64 "\n", job_counter_name(k),
						       i.counters[k]);
					char mm[32], rm[32], mr[32], rr[32];
					cli_size(i.map_mem, true, mm);
					cli_size(i.reduce_mem, true, rm);
					cli_size(i.map_rss, true, mr);
					cli_size(i.reduce_rss, true, rr);
					printf("peak memory  map %s (command RSS %s), reduce %s (command "
					       "RSS %s)\n", mm, mr, rm, rr);
				}
				if (i.error[0])
					printf("error      %s\n", i.error);
			}
			job_info_free(&i);
		}
	} else if (!strcmp(sub, "kill")) {
		struct buf req = BUF_INIT, rep = BUF_INIT;
		pack_str(&req, a[1]);
		int rc = dfs_call(c, PROTO_CN_JOB_KILL, &req, &rep);
		buf_free(&req);
		buf_free(&rep);
		if (rc)
			st = cli_fail(a[1], rc);
		else if (!cli_g.quiet)
			fprintf(stderr, "killed %s\n", a[1]);
	} else {
		st = job_logs(c, a[1], task);
	}
	dfs_close(c);
	return st;
}
