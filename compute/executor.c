/* executor: task attempts on a datanode. See executor.h. */
#include "executor.h"
#include "executor_int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "client.h"
#include "fetch.h"
#include "filter.h"
#include "fsutil.h"
#include "job.h"
#include "log.h"
#include "reduce.h"
#include "shuffle.h"
#include "split.h"

#define READ_SIZE (4u << 20)  /* split read size: a multiple of the checksum chunk */




static void wake(struct cx_exec *x)
{
	uint64_t one = 1;
	ssize_t r = write(x->efd, &one, sizeof one);
	(void)r;
}

/* ---------- reading the split ---------- */

struct source {
	struct attempt *a;
	struct dfs_client *c;
	struct dfs_reader *r;
	struct dfs_blocks known; /* blocks of the file past (or instead of) our own */
	bool own_remote;         /* our own block is not readable here */
	char err[256];
};

static const struct dfs_block *find_known(const struct source *s, uint64_t off)
{
	for (size_t i = 0; i < s->known.n; i++) {
		const struct dfs_block *b = &s->known.v[i];
		if (off >= b->offset && off < b->offset + b->length)
			return b;
	}
	return NULL;
}

static ssize_t read_at(void *arg, uint64_t off, void *buf, size_t max)
{
	struct source *s = arg;
	struct attempt *a = s->a;
	struct cx_exec *x = a->x;
	const struct job_launch *l = &a->l;
	if (atomic_load(&a->kill))
		return -EINTR;
	if (!s->own_remote && off >= l->offset && off < l->offset + l->length) {
		size_t n = l->offset + l->length - off < max ? (size_t)(l->offset + l->length - off)
							      : max;
		ssize_t r = x->o.local_read(x->o.local_arg, l->block, l->gs, off - l->offset, n,
					    buf);
		if (r > 0) {
			atomic_fetch_add(&a->bytes_local, (uint64_t)r);
			return r;
		}
		s->own_remote = true; /* not here (or bad here): read it like the others */
	}
	const struct dfs_block *b = find_known(s, off);
	if (!b) {
		dfs_blocks_free(&s->known);
		memset(&s->known, 0, sizeof s->known);
		uint64_t span = (l->length > (1u << 20) ? l->length : (1u << 20)) * 2;
		int rc = dfs_file_blocks(s->c, l->ino, off, span, &s->known);
		if (rc) {
			snprintf(s->err, sizeof s->err, "cannot locate %s at offset %" PRIu64 ": %s",
				 l->input, off, dfs_errmsg()[0] ? dfs_errmsg() : strerror(-rc));
			return rc;
		}
		b = find_known(s, off);
		if (!b)
			return 0; /* the file is shorter now */
	}
	uint64_t in = off - b->offset;
	size_t n = b->length - in < max ? (size_t)(b->length - in) : max;
	if (b->id == 0) {
		memset(buf, 0, n); /* a hole */
		return (ssize_t)n;
	}
	for (uint32_t i = 0; i < b->nlocs; i++) {
		if (strcmp(b->locs[i].id, x->o.node_id) || in % PROTO_CHUNK_SIZE)
			continue;
		ssize_t r = x->o.local_read(x->o.local_arg, b->id, b->genstamp, in, n, buf);
		if (r > 0) {
			atomic_fetch_add(&a->bytes_local, (uint64_t)r);
			return r;
		}
	}
	int rc = dfs_read_block(s->r, b, in, n, buf);
	if (rc) {
		snprintf(s->err, sizeof s->err, "cannot read %s at offset %" PRIu64 ": %s",
			 l->input, off, dfs_errmsg()[0] ? dfs_errmsg() : strerror(-rc));
		return rc;
	}
	return (ssize_t)n;
}

/* ---------- the map command ---------- */


static void keep_tail(struct buf *t, const char *p, size_t n)
{
	buf_add(t, p, n);
	if (t->len > 2 * JOB_STDERR_MAX)
		buf_consume(t, t->len - JOB_STDERR_MAX);
}

/* Reads what stdout and stderr have ready; -errno on an output write failure. */
static int drain(struct command *cmd, const struct pollfd *pf)
{
	char tmp[64 * 1024];
	if (cmd->out >= 0 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
		ssize_t n = read(cmd->out, tmp, sizeof tmp);
		if (n > 0) {
			int rc = cmd->combiner ? shuf_map_combined(cmd->shuf, tmp, (size_t)n)
				 : cmd->shuf	 ? shuf_map_add(cmd->shuf, tmp, (size_t)n)
						 : dfs_write(cmd->w, tmp, (size_t)n);
			if (rc) {
				const char *sw = cmd->shuf ? shuf_map_why(cmd->shuf) : "";
				snprintf(cmd->why, sizeof cmd->why, "cannot write the output: %s",
					 sw[0] ? sw : dfs_errmsg()[0] ? dfs_errmsg() : strerror(-rc));
				return rc;
			}
			if (!cmd->combiner)
				atomic_fetch_add(&cmd->a->bytes_out, (uint64_t)n);
			cmd->last_progress = clock_now();
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			close(cmd->out);
			cmd->out = -1;
		}
	}
	if (cmd->err >= 0 && (pf[2].revents & (POLLIN | POLLHUP | POLLERR))) {
		ssize_t n = read(cmd->err, tmp, sizeof tmp);
		if (n > 0) {
			keep_tail(&cmd->tail, tmp, (size_t)n);
			cmd->last_progress = clock_now();
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			close(cmd->err);
			cmd->err = -1;
		}
	}
	return 0;
}

/* Checks the kill flag and the no-progress timeout: -EINTR / -ETIMEDOUT. */
static int check_alive(struct command *cmd)
{
	struct attempt *a = cmd->a;
	if (atomic_load(&a->kill))
		return -EINTR;
	if (a->l.timeout && clock_now() - cmd->last_progress > a->l.timeout) {
		snprintf(cmd->why, sizeof cmd->why, "timed out: no progress for %u s",
			 a->l.timeout);
		return -ETIMEDOUT;
	}
	return 0;
}

/* One round of the command's pipes: waits (at most 200 ms) for stdin to take some of
 * data[0..*len) -- none when len is NULL -- or stdout/stderr to have something, and
 * moves what it can, advancing *data and *len. Checks the kill flag and the timeout. */
static int pump(struct command *cmd, const char **data, size_t *len)
{
	bool feeding = len && *len && !cmd->input_closed;
	struct pollfd pf[3] = {{feeding ? cmd->in : -1, POLLOUT, 0}, {cmd->out, POLLIN, 0},
			       {cmd->err, POLLIN, 0}};
	int n = poll(pf, 3, 200);
	if (n < 0 && errno != EINTR)
		return -errno;
	int rc = check_alive(cmd);
	if (rc || n <= 0)
		return rc;
	if ((rc = drain(cmd, pf)))
		return rc;
	if (feeding && (pf[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
		ssize_t w = write(cmd->in, *data, *len);
		if (w > 0) {
			*data += w;
			if (cmd->count_in) /* progress: the input the command has taken */
				atomic_fetch_add(&cmd->a->bytes_in, (uint64_t)w);
			*len -= (size_t)w;
			cmd->last_progress = clock_now();
		} else if (w < 0 && errno == EPIPE) {
			cmd->input_closed = true; /* it has read all it wants */
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			return -errno;
		}
	}
	return 0;
}

/* Feeds data to the command's stdin, draining its output meanwhile. */
int cx_feed(struct command *cmd, const char *data, size_t len)
{
	int rc = 0;
	while (!rc && len && !cmd->input_closed)
		rc = pump(cmd, &data, &len);
	return rc;
}

/* Closes stdin and reads stdout and stderr to their end. */
int cx_finish_command(struct command *cmd)
{
	if (cmd->in >= 0) {
		close(cmd->in);
		cmd->in = -1;
	}
	int rc = 0;
	while (!rc && (cmd->out >= 0 || cmd->err >= 0))
		rc = pump(cmd, NULL, NULL);
	return rc;
}

static void set_env(char **env, size_t *n, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char *e = malloc(len);
	if (!e)
		return;
	snprintf(e, len, "%s=%s", name, value);
	env[(*n)++] = e;
}

/* Starts /bin/sh -c command in scratch; 0 or -errno. */
static int spawn(struct cx_exec *x, struct attempt *a, const char *command, const char *scratch,
		 struct command *cmd)
{
	const struct job_launch *l = &a->l;
	int pin[2], pout[2], perr[2];
	if (pipe2(pin, O_CLOEXEC))
		return -errno;
	if (pipe2(pout, O_CLOEXEC)) {
		close(pin[0]);
		close(pin[1]);
		return -errno;
	}
	if (pipe2(perr, O_CLOEXEC)) {
		close(pin[0]);
		close(pin[1]);
		close(pout[0]);
		close(pout[1]);
		return -errno;
	}
	char *env[16];
	size_t ne = 0;
	char num[32];
	set_env(env, &ne, "PATH", "/usr/local/bin:/usr/bin:/bin");
	set_env(env, &ne, "HOME", scratch);
	set_env(env, &ne, "TMPDIR", scratch);
	set_env(env, &ne, "DFS_JOB_ID", l->job);
	snprintf(num, sizeof num, "%05u", l->task);
	set_env(env, &ne, "DFS_TASK_ID", num);
	snprintf(num, sizeof num, "%u", l->attempt);
	set_env(env, &ne, "DFS_ATTEMPT", num);
	set_env(env, &ne, "DFS_NODE_ID", x->o.node_id);
	set_env(env, &ne, "DFS_INPUT_FILE", l->input ? l->input : "");
	snprintf(num, sizeof num, "%" PRIu64, l->offset);
	set_env(env, &ne, "DFS_BLOCK_OFFSET", num);
	snprintf(num, sizeof num, "%" PRIu64, l->length);
	set_env(env, &ne, "DFS_SPLIT_LENGTH", num);
	if (l->kind == JOB_K_REDUCE) {
		snprintf(num, sizeof num, "%u", l->partition);
		set_env(env, &ne, "DFS_PARTITION", num);
	}
	env[ne] = NULL;
	char *argv[] = {"sh", "-c", (char *)command, NULL};
	uid_t uid = x->task_uid;
	gid_t gid = x->task_gid;
	bool drop = x->root;
	pid_t pid = fork();
	if (pid == 0) {
		/* the child: async-signal-safe calls only */
		setpgid(0, 0);
		struct sigaction dfl = {.sa_handler = SIG_DFL};
		sigaction(SIGPIPE, &dfl, NULL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(pin[0], 0) < 0 || dup2(pout[1], 1) < 0 || dup2(perr[1], 2) < 0)
			_exit(126);
		syscall(SYS_close_range, 3u, ~0u, 0u);
		if (chdir(scratch))
			_exit(126);
		if (drop && (setgroups(0, NULL) || setgid(gid) || setuid(uid)))
			_exit(126);
		/* dies with the datanode (set after setuid, which clears it) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execve("/bin/sh", argv, env);
		_exit(127);
	}
	int saved = errno;
	for (size_t i = 0; i < ne; i++)
		free(env[i]);
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	if (pid < 0) {
		close(pin[1]);
		close(pout[0]);
		close(perr[0]);
		return -saved;
	}
	setpgid(pid, pid); /* also here: no race with a kill right after the fork */
	fcntl(pin[1], F_SETFL, O_NONBLOCK);
	fcntl(pout[0], F_SETFL, O_NONBLOCK);
	fcntl(perr[0], F_SETFL, O_NONBLOCK);
	cmd->pid = pid;
	cmd->in = pin[1];
	cmd->out = pout[0];
	cmd->err = perr[0];
	cmd->last_progress = clock_now();
	pthread_mutex_lock(&a->pid_lock);
	a->pid = pid;
	pthread_mutex_unlock(&a->pid_lock);
	if (atomic_load(&a->kill))
		kill(-pid, SIGKILL);
	return 0;
}

void cx_max(atomic_uint_fast64_t *v, uint64_t x)
{
	uint64_t cur = atomic_load(v);
	while (x > cur && !atomic_compare_exchange_weak(v, &cur, x))
		;
}

/* Kills (when still running) and reaps the command; its exit status. */
int cx_reap(struct attempt *a, struct command *cmd, bool force)
{
	if (!cmd->pid)
		return -1;
	if (force)
		kill(-cmd->pid, SIGKILL);
	int st = 0;
	struct rusage ru = {0};
	while (wait4(cmd->pid, &st, 0, &ru) < 0 && errno == EINTR)
		;
	cx_max(&a->cmd_rss, (uint64_t)ru.ru_maxrss * 1024); /* its largest process's */
	if (!force)
		kill(-cmd->pid, SIGKILL); /* what it left running in its group */
	pthread_mutex_lock(&a->pid_lock);
	a->pid = 0;
	pthread_mutex_unlock(&a->pid_lock);
	cmd->pid = 0;
	for (int *fd = &cmd->in; fd <= &cmd->err; fd++)
		if (*fd >= 0) {
			close(*fd);
			*fd = -1;
		}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---------- an attempt ---------- */


int cx_flush_out(struct run *r)
{
	if (!r->out.len)
		return 0;
	int rc = r->shuf ? shuf_map_add(r->shuf, r->out.data, r->out.len)
			 : dfs_write(r->w, r->out.data, r->out.len);
	if (rc)
		snprintf(r->why, sizeof r->why, "cannot write the output: %s",
			 dfs_errmsg()[0] ? dfs_errmsg() : strerror(-rc));
	else
		atomic_fetch_add(&r->a->bytes_out, r->out.len);
	buf_reset(&r->out);
	return rc;
}

static int sink(void *arg, const char *data, size_t len)
{
	struct run *r = arg;
	struct attempt *a = r->a;
	if (atomic_load(&a->kill))
		return -EINTR;
	r->sunk += len;
	if (!r->cmd || r->f) /* a bare map command counts what it takes (pump) */
		atomic_fetch_add(&a->bytes_in, len);
	if (r->shuf) { /* map input records */
		uint64_t n = 0;
		for (const char *p = data, *e = data + len; (p = memchr(p, '\n', (size_t)(e - p)));
		     p++)
			n++;
		atomic_fetch_add(&a->counters[JOB_C_MAP_INPUT_RECORDS], n);
	}
	if (r->f) {
		bool counting = a->l.flags & JOB_F_COUNT;
		uint64_t n = filter_run(r->f, data, len, counting ? NULL : &r->out);
		atomic_fetch_add(&a->records, n);
		if (r->cmd) {
			int rc = cx_feed(r->cmd, r->out.data, r->out.len);
			buf_reset(&r->out);
			return rc;
		}
		return r->out.len >= OUT_FLUSH ? cx_flush_out(r) : 0;
	}
	if (!r->cmd) /* a MapReduce job with no map: its input is the map output */
		return shuf_map_add(r->shuf, data, len);
	return cx_feed(r->cmd, data, len);
}

static void queue_report(struct attempt *a, uint8_t state, int exit_status, const char *msg,
			 const char *tail)
{
	struct cx_exec *x = a->x;
	struct job_report r = {0};
	snprintf(r.job, sizeof r.job, "%s", a->l.job);
	r.task = a->l.task;
	r.attempt = a->l.attempt;
	r.state = state;
	r.exit_status = exit_status;
	r.bytes_in = atomic_load(&a->bytes_in);
	r.bytes_local = atomic_load(&a->bytes_local);
	r.bytes_out = atomic_load(&a->bytes_out);
	r.records = atomic_load(&a->records);
	for (int i = 0; i < JOB_NCOUNTERS; i++)
		r.counters[i] = atomic_load(&a->counters[i]);
	r.lost_map = a->lost_map;
	r.lost_attempt = a->lost_attempt;
	r.mem_peak = atomic_load(&a->mem_peak);
	r.cmd_rss = atomic_load(&a->cmd_rss);
	r.progress = atomic_load(&a->progress);
	r.message = (char *)(msg ? msg : "");
	r.stderr_tail = (char *)(tail ? tail : "");
	pthread_mutex_lock(&x->lock);
	job_report_pack(&x->done, &r);
	x->ndone++;
	atomic_store(&a->finished, true);
	pthread_mutex_unlock(&x->lock);
	wake(x);
}

/* ---------- pieces shared by maps and reduces ---------- */

int cx_connect_client(struct attempt *a, struct dfs_client **c, char *why, size_t whysz)
{
	struct cx_exec *x = a->x;
	struct dfs_client_opts co = {0};
	snprintf(co.namenode, sizeof co.namenode, "%s", x->o.namenode);
	memcpy(co.key, x->o.key, AUTH_KEY_LEN);
	co.uid = a->l.uid;
	co.gid = a->l.gid;
	snprintf(co.favored, sizeof co.favored, "%s", x->o.node_id);
	int rc = dfs_connect(&co, c);
	if (rc)
		snprintf(why, whysz, "cannot reach the namenode: %s", strerror(-rc));
	return rc;
}

/* Makes the fresh scratch directory dir and starts command there. */
int cx_start_command(struct attempt *a, const char *command, const char *dir,
			 struct command *cmd, char *why, size_t whysz)
{
	struct cx_exec *x = a->x;
	fs_remove_tree(dir);
	if (fs_mkdir_p(x->o.scratch, 0755) || mkdir(dir, 0700) ||
	    (x->root && chown(dir, x->task_uid, x->task_gid))) {
		int rc = -errno;
		snprintf(why, whysz, "cannot make the scratch directory %s: %s", dir,
			 strerror(errno));
		return rc;
	}
	int rc = spawn(x, a, command, dir, cmd);
	if (rc)
		snprintf(why, whysz, "cannot start the command: %s", strerror(-rc));
	return rc;
}

/* Reaps the command (killing it when rc says the attempt failed); its exit status into
 * *status; a non-zero status fails an attempt that was fine (-ECHILD, why says so). */
int cx_end_command(struct attempt *a, struct command *cmd, int rc, int *status, char *why,
		       size_t whysz)
{
	*status = cx_reap(a, cmd, rc != 0);
	if (rc || !*status)
		return rc;
	if (*status > 128)
		snprintf(why, whysz, "the command was killed by signal %d", *status - 128);
	else
		snprintf(why, whysz, "the command exited with status %d", *status);
	return -ECHILD;
}

int cx_close_output(struct run *r)
{
	int rc = dfs_writer_close(r->w);
	r->w = NULL;
	if (rc)
		snprintf(r->why, sizeof r->why, "cannot finish the output: %s",
			 dfs_errmsg()[0] ? dfs_errmsg() : strerror(-rc));
	return rc;
}

/* The job's map outputs went (PROTO_TASK_CLEANUP) while this attempt ran: what it
 * wrote since goes too. */
static void drop_if_cleaned(struct attempt *a)
{
	if (!atomic_load(&a->cleaned))
		return;
	struct buf dir = BUF_INIT;
	shuf_job_dir(a->x->o.scratch, a->l.job, &dir);
	fs_remove_tree(dir.data);
	buf_free(&dir);
}

/* The attempt's end: its state from rc and the kill flag, logged and reported. */
void cx_end_attempt(struct attempt *a, int rc, int exit_status, char *why, size_t whysz,
			const char *tail)
{
	const struct job_launch *l = &a->l;
	uint8_t state = !rc ? JOB_A_SUCCEEDED
			    : atomic_load(&a->kill) ? JOB_A_KILLED : JOB_A_FAILED;
	if (state == JOB_A_KILLED) {
		snprintf(why, whysz, "%s",
			 atomic_load(&a->kill_reason) == 2 ? "killed: the datanode is stopping"
							   : "killed on the namenode's request");
		a->lost_map = 0;
	}
	log_debug("job %s task %05u attempt %u: %s%s%s", l->job, l->task, l->attempt,
		  job_state_name(state), why[0] ? ": " : "", why);
	drop_if_cleaned(a);
	queue_report(a, state, exit_status, why, tail);
}

/* ---------- a MapReduce map's output ---------- */

/* A command combiner (--combine CMD) run by the collector on each sorted partition of
 * each spill, in the map attempt's thread: like the map command (same sandbox), its
 * stdout back into the collector. */
struct combiner {
	struct attempt *a;
	struct command *map; /* the map command while it runs, or NULL */
	struct shuf_map *shuf;
	struct command cmd;
	uint32_t runs;
	struct buf dir;
};

static int combiner_start(void *arg, void **h)
{
	struct combiner *cb = arg;
	struct attempt *a = cb->a;
	cb->cmd = (struct command){.a = a, .in = -1, .out = -1, .err = -1, .shuf = cb->shuf,
				   .combiner = true};
	buf_reset(&cb->dir);
	buf_printf(&cb->dir, "%s/%s_%05u_%u_c%u", a->x->o.scratch, a->l.job, a->l.task,
		   a->l.attempt, cb->runs++);
	*h = cb;
	char why[256];
	int rc = cx_start_command(a, a->l.combine, cb->dir.data, &cb->cmd, why, sizeof why);
	if (rc)
		fs_remove_tree(cb->dir.data);
	return rc;
}

static int combiner_feed(void *h, const char *data, size_t len)
{
	struct combiner *cb = h;
	return cx_feed(&cb->cmd, data, len);
}

static int combiner_finish(void *h, struct buf *why)
{
	struct combiner *cb = h;
	struct attempt *a = cb->a;
	int rc = cx_finish_command(&cb->cmd), st;
	char w[256] = "";
	rc = cx_end_command(a, &cb->cmd, rc, &st, w, sizeof w);
	if (rc)
		buf_printf(why, "%s", w[0] ? w : cb->cmd.why[0] ? cb->cmd.why : strerror(-rc));
	if (cb->cmd.tail.len)
		buf_printf(why, "%s%.*s", why->len ? "; its stderr: " : "",
			   (int)(cb->cmd.tail.len < 512 ? cb->cmd.tail.len : 512), cb->cmd.tail.data);
	buf_free(&cb->cmd.tail);
	fs_remove_tree(cb->dir.data);
	if (cb->map) { /* the map command again: the kill target; combining was progress */
		pthread_mutex_lock(&a->pid_lock);
		a->pid = cb->map->pid;
		pthread_mutex_unlock(&a->pid_lock);
		cb->map->last_progress = clock_now();
	}
	return rc;
}

static int start_collector(struct attempt *a, struct combiner *cb, struct shuf_cmd_ops *ops,
			   struct shuf_map **out, char *why, size_t whysz)
{
	struct cx_exec *x = a->x;
	const struct job_launch *l = &a->l;
	struct buf dir = BUF_INIT, base = BUF_INIT;
	int rc = shuf_is_job_id(l->job) ? 0 : -EINVAL;
	shuf_job_dir(x->o.scratch, l->job, &dir);
	if (!rc)
		rc = fs_mkdir_p(dir.data, 0700);
	if (rc)
		snprintf(why, whysz, "cannot make the shuffle directory %s: %s", dir.data,
			 strerror(-rc));
	enum mr_builtin comb = mr_builtin_parse(l->combine);
	bool shell = l->combine && l->combine[0] && comb == MR_NONE;
	if (!rc && shell && !x->o.exec) {
		rc = -EPERM;
		snprintf(why, whysz, "this datanode runs built-ins only (--no-exec)");
	}
	*ops = (struct shuf_cmd_ops){cb, combiner_start, combiner_feed, combiner_finish};
	shuf_map_base(x->o.scratch, l->job, l->task, l->attempt, &base);
	struct shuf_map_opts o = {base.data, l->reducers, l->key_fields,
				  x->o.sort_buffer ? x->o.sort_buffer : (128u << 20),
				  comb, 0,
				  l->partitioner == MR_PART_RANGE ? l->bounds : NULL,
				  shell ? ops : NULL};
	if (!rc && !(*out = shuf_map_new(&o))) {
		rc = -errno;
		snprintf(why, whysz, "cannot start the map output: %s", strerror(errno));
	}
	if (!rc)
		cb->shuf = *out;
	buf_free(&dir);
	buf_free(&base);
	return rc;
}

static void *attempt_main(void *arg)
{
	struct attempt *a = arg;
	struct cx_exec *x = a->x;
	const struct job_launch *l = &a->l;
	struct run r = {.a = a};
	struct command cmd = {.a = a, .in = -1, .out = -1, .err = -1};
	struct source src = {.a = a};
	struct buf scratch = BUF_INIT, err = BUF_INIT;
	int exit_status = -1, rc;
	bool have_map = l->map && l->map[0];
	struct combiner cb = {.a = a, .dir = BUF_INIT};
	struct shuf_cmd_ops cb_ops;

	bool mr = l->kind == JOB_K_MAP && l->reducers > 0;
	if (l->kind == JOB_K_REDUCE)
		return cx_reduce_main(a);
	if ((rc = cx_connect_client(a, &src.c, r.why, sizeof r.why)))
		goto out;
	if ((rc = dfs_reader_new(src.c, &src.r))) {
		snprintf(r.why, sizeof r.why, "cannot start a reader: %s", strerror(-rc));
		goto out;
	}
	if (have_map && !x->o.exec) {
		rc = -EPERM;
		snprintf(r.why, sizeof r.why, "this datanode runs built-in filters only (--no-exec)");
		goto out;
	}
	if (l->filter && (rc = filter_new(l->filter, l->pattern, l->flags, &r.f, &err))) {
		snprintf(r.why, sizeof r.why, "%s", err.data);
		goto out;
	}
	if (mr && (rc = start_collector(a, &cb, &cb_ops, &r.shuf, r.why, sizeof r.why)))
		goto out;
	if (!mr && (rc = dfs_create(src.c, l->output, 0644, true, l->out_repl, 0, &r.w))) {
		snprintf(r.why, sizeof r.why, "cannot create %s: %s", l->output,
			 dfs_errmsg()[0] ? dfs_errmsg() : strerror(-rc));
		goto out;
	}
	cmd.w = r.w;
	cmd.shuf = r.shuf;
	if (have_map) {
		buf_printf(&scratch, "%s/%s_%05u_%u", x->o.scratch, l->job, l->task, l->attempt);
		cmd.count_in = !r.f;
		if ((rc = cx_start_command(a, l->map, scratch.data, &cmd, r.why, sizeof r.why)))
			goto out;
		r.cmd = &cmd;
		cb.map = &cmd;
	}
	struct split_opts so = {READ_SIZE, PROTO_CHUNK_SIZE, r.f != NULL};
	uint64_t read_bytes;
	rc = split_run(l->offset, l->length, l->fsize, &so, read_at, &src, sink, &r, &read_bytes);
	if (rc == -EPIPE)
		rc = 0;
	if (!rc && r.cmd && !r.f) /* all of it was fed, or the command wanted no more */
		atomic_store(&a->bytes_in, r.sunk);
	if (rc && !r.why[0])
		snprintf(r.why, sizeof r.why, "%s",
			 src.err[0] ? src.err : cmd.why[0] ? cmd.why : strerror(-rc));
	if (!rc && r.f && !r.cmd && (l->flags & JOB_F_COUNT))
		buf_printf(&r.out, "%" PRIu64 "\n", (uint64_t)atomic_load(&a->records));
	if (!rc && r.cmd) {
		rc = cx_finish_command(&cmd);
		if (rc && !r.why[0])
			snprintf(r.why, sizeof r.why, "%s", cmd.why[0] ? cmd.why : strerror(-rc));
	}
	if (r.cmd)
		rc = cx_end_command(a, &cmd, rc, &exit_status, r.why, sizeof r.why);
	cb.map = NULL;
	if (!rc)
		rc = cx_flush_out(&r);
	if (!rc && mr) {
		rc = shuf_map_finish(r.shuf, &err);
		if (rc)
			snprintf(r.why, sizeof r.why, "cannot write the map output: %s",
				 err.len ? err.data : strerror(-rc));
		struct shuf_counters c;
		shuf_map_counters(r.shuf, &c);
		atomic_store(&a->counters[JOB_C_MAP_OUTPUT_RECORDS], c.records_out);
		atomic_store(&a->counters[JOB_C_SPILLED_BYTES], c.spilled_bytes);
		atomic_store(&a->counters[JOB_C_COMBINE_INPUT_RECORDS], c.combine_in);
		atomic_store(&a->counters[JOB_C_COMBINE_OUTPUT_RECORDS], c.combine_out);
		cx_max(&a->mem_peak, shuf_map_peak(r.shuf));
	} else if (!rc) {
		rc = cx_close_output(&r);
	}
out:
	if (cmd.pid)
		exit_status = cx_reap(a, &cmd, true);
	if (r.w)
		dfs_writer_abort(r.w);
	shuf_map_free(r.shuf); /* removes its files unless it finished */
	if (rc && src.c && !mr)
		dfs_delete(src.c, l->output, false); /* no partial output left behind */
	if (scratch.len)
		fs_remove_tree(scratch.data);
	cx_end_attempt(a, rc, exit_status, r.why, sizeof r.why, cmd.tail.data);
	filter_free(r.f);
	buf_free(&r.out);
	buf_free(&cmd.tail);
	buf_free(&scratch);
	buf_free(&err);
	buf_free(&cb.dir);
	if (src.r)
		dfs_reader_close(src.r);
	dfs_blocks_free(&src.known);
	if (src.c)
		dfs_close(src.c);
	return NULL;
}

/* ---------- the executor ---------- */

static struct attempt *find(struct cx_exec *x, const char *job, uint32_t task, uint32_t n)
{
	for (struct attempt *a = x->attempts; a; a = a->next)
		if (!strcmp(a->l.job, job) && a->l.task == task && a->l.attempt == n)
			return a;
	return NULL;
}

static void kill_attempt(struct attempt *a, int reason)
{
	atomic_store(&a->kill_reason, reason);
	atomic_store(&a->kill, true);
	pthread_mutex_lock(&a->pid_lock);
	if (a->pid > 0)
		kill(-a->pid, SIGKILL);
	pthread_mutex_unlock(&a->pid_lock);
}

static void launch(struct cx_exec *x, struct job_launch *l)
{
	struct attempt *a = calloc(1, sizeof *a);
	if (!a) {
		job_launch_free(l);
		return;
	}
	a->x = x;
	a->l = *l;
	pthread_mutex_init(&a->pid_lock, NULL);
	pthread_mutex_init(&a->maps_lock, NULL);
	pthread_cond_init(&a->maps_cond, NULL);
	if (atomic_load(&x->stopping)) {
		queue_report(a, JOB_A_FAILED, -1, "the datanode is stopping", "");
		pthread_mutex_lock(&x->lock);
		a->next = x->attempts; /* reaped with the others */
		x->attempts = a;
		pthread_mutex_unlock(&x->lock);
		return;
	}
	pthread_mutex_lock(&x->lock);
	bool dup = find(x, l->job, l->task, l->attempt) != NULL;
	if (!dup) {
		a->next = x->attempts;
		x->attempts = a;
	}
	pthread_mutex_unlock(&x->lock);
	if (dup) {
		job_launch_free(&a->l);
		free(a);
		return;
	}
	if (pthread_create(&a->thread, NULL, attempt_main, a)) {
		a->thread = 0;
		queue_report(a, JOB_A_FAILED, -1, "cannot start a thread", "");
	}
}

/* A MapReduce job ended: its attempts here are killed and its map outputs removed. */
static void cleanup_job(struct cx_exec *x, const char *job)
{
	if (!shuf_is_job_id(job))
		return;
	pthread_mutex_lock(&x->lock);
	for (struct attempt *a = x->attempts; a; a = a->next)
		if (!strcmp(a->l.job, job) && !atomic_load(&a->finished)) {
			atomic_store(&a->cleaned, true);
			kill_attempt(a, 1);
		}
	pthread_mutex_unlock(&x->lock);
	struct buf dir = BUF_INIT;
	shuf_job_dir(x->o.scratch, job, &dir);
	fs_remove_tree(dir.data);
	log_debug("job %s: map outputs removed", job);
	buf_free(&dir);
}

void cx_tasks(struct cx_exec *x, struct unpack *u)
{
	uint32_t n = unpack_count(u, 1);
	for (uint32_t i = 0; i < n && unpack_ok(u); i++) {
		uint8_t op = unpack_u8(u);
		if (op == PROTO_TASK_START) {
			struct job_launch l;
			if (job_launch_unpack(u, &l))
				break;
			launch(x, &l);
		} else if (op == PROTO_TASK_KILL) {
			char job[JOB_ID_MAX + 1];
			unpack_str(u, job, sizeof job);
			uint32_t task = unpack_u32(u), attempt = unpack_u32(u);
			if (!unpack_ok(u))
				break;
			pthread_mutex_lock(&x->lock);
			struct attempt *a = find(x, job, task, attempt);
			if (a)
				kill_attempt(a, 1);
			pthread_mutex_unlock(&x->lock);
		} else if (op == PROTO_TASK_MAPS) {
			struct job_map_loc loc;
			char job[JOB_ID_MAX + 1];
			unpack_str(u, job, sizeof job);
			uint32_t task = unpack_u32(u);
			unpack_str(u, loc.node, sizeof loc.node);
			unpack_str(u, loc.addr, sizeof loc.addr);
			loc.attempt = unpack_u32(u);
			if (!unpack_ok(u))
				break;
			cx_update_maps(x, job, task, &loc);
		} else if (op == PROTO_TASK_CLEANUP) {
			char job[JOB_ID_MAX + 1];
			unpack_str(u, job, sizeof job);
			if (!unpack_ok(u))
				break;
			cleanup_job(x, job);
		} else {
			log_warn("unknown task operation %u from the namenode", op);
			return;
		}
	}
	if (!unpack_ok(u))
		log_warn("malformed task list from the namenode");
}

/* Joins and frees finished attempts (x->lock held). */
static void reap_finished(struct cx_exec *x)
{
	for (struct attempt **pp = &x->attempts; *pp;) {
		struct attempt *a = *pp;
		if (!atomic_load(&a->finished)) {
			pp = &a->next;
			continue;
		}
		*pp = a->next;
		if (a->thread)
			pthread_join(a->thread, NULL);
		job_launch_free(&a->l);
		pthread_mutex_destroy(&a->pid_lock);
		pthread_mutex_destroy(&a->maps_lock);
		pthread_cond_destroy(&a->maps_cond);
		free(a);
	}
}

uint32_t cx_take_reports(struct cx_exec *x, bool progress, struct buf *out)
{
	struct buf body = BUF_INIT;
	pthread_mutex_lock(&x->lock);
	uint32_t n = x->ndone;
	buf_add(&body, x->done.data, x->done.len);
	buf_reset(&x->done);
	x->ndone = 0;
	reap_finished(x);
	if (progress) {
		for (struct attempt *a = x->attempts; a; a = a->next) {
			if (atomic_load(&a->finished))
				continue;
			struct job_report r = {0};
			snprintf(r.job, sizeof r.job, "%s", a->l.job);
			r.task = a->l.task;
			r.attempt = a->l.attempt;
			r.state = JOB_A_RUNNING;
			r.exit_status = -1;
			r.bytes_in = atomic_load(&a->bytes_in);
			r.bytes_local = atomic_load(&a->bytes_local);
			r.bytes_out = atomic_load(&a->bytes_out);
			r.records = atomic_load(&a->records);
			for (int c = 0; c < JOB_NCOUNTERS; c++)
				r.counters[c] = atomic_load(&a->counters[c]);
			r.message = "";
			r.stderr_tail = "";
			job_report_pack(&body, &r);
			n++;
		}
	}
	pthread_mutex_unlock(&x->lock);
	buf_reset(out);
	pack_u32(out, n);
	buf_add(out, body.data, body.len);
	buf_free(&body);
	return n;
}

uint32_t cx_running(struct cx_exec *x)
{
	uint32_t n = 0;
	pthread_mutex_lock(&x->lock);
	for (struct attempt *a = x->attempts; a; a = a->next)
		n += !atomic_load(&a->finished);
	pthread_mutex_unlock(&x->lock);
	return n;
}

int cx_event_fd(const struct cx_exec *x) { return x->efd; }

int cx_start(const struct cx_opts *o, struct cx_exec **out)
{
	struct cx_exec *x = calloc(1, sizeof *x);
	if (!x)
		return -ENOMEM;
	x->o = *o;
	x->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (x->efd < 0) {
		int rc = -errno;
		free(x);
		return rc;
	}
	pthread_mutex_init(&x->lock, NULL);
	buf_init(&x->done);
	x->root = geteuid() == 0;
	x->task_uid = 65534;
	x->task_gid = 65534;
	if (x->root && o->exec) {
		struct passwd pw, *res = NULL;
		char tmp[4096];
		if (!getpwnam_r(o->task_user, &pw, tmp, sizeof tmp, &res) && res) {
			x->task_uid = pw.pw_uid;
			x->task_gid = pw.pw_gid;
		} else {
			log_warn("task user '%s' not found; map commands run as uid 65534",
				 o->task_user);
		}
		if (x->task_uid == 0)
			log_warn("task user '%s' is root: map commands run with full privileges",
				 o->task_user);
	}
	fs_remove_tree(o->scratch); /* what a crash left behind */
	*out = x;
	return 0;
}

void cx_stop(struct cx_exec *x)
{
	if (!x)
		return;
	atomic_store(&x->stopping, true);
	pthread_mutex_lock(&x->lock);
	for (struct attempt *a = x->attempts; a; a = a->next)
		kill_attempt(a, 2);
	pthread_mutex_unlock(&x->lock);
	for (;;) {
		pthread_mutex_lock(&x->lock);
		bool all = true;
		for (struct attempt *a = x->attempts; a; a = a->next)
			all &= atomic_load(&a->finished);
		reap_finished(x);
		pthread_mutex_unlock(&x->lock);
		if (all)
			break;
		usleep(20000);
	}
}

void cx_free(struct cx_exec *x)
{
	if (!x)
		return;
	cx_stop(x); /* anything launched since */
	buf_free(&x->done);
	close(x->efd);
	pthread_mutex_destroy(&x->lock);
	free(x);
}
