/*
 * metabench: namespace operations per second straight to the namenode, from N client
 * threads each with its own connection. Prints one line per operation.
 *
 *   metabench -n HOST:PORT --key FILE [-t THREADS] [-c OPS_PER_THREAD]
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "ev.h"

enum op { OP_MKDIR, OP_CREATE, OP_STAT, OP_LIST, OP_RENAME, OP_DELETE, OP_N };
static const char *op_names[] = {"mkdir", "create+complete", "stat", "list (per entry)",
				 "rename", "delete"};

struct worker {
	pthread_t t;
	int id, count;
	struct dfs_client_opts *opts;
	pthread_barrier_t *bar;
	int failures;
};

static int run_op(struct dfs_client *c, enum op op, int w, int i)
{
	char p[128], q[128];
	snprintf(p, sizeof p, "/bench/w%d/f%d", w, i);
	switch (op) {
	case OP_MKDIR:
		snprintf(p, sizeof p, "/bench/w%d/d%d", w, i);
		return dfs_mkdir(c, p, 0755, false, NULL);
	case OP_CREATE: {
		struct dfs_writer *wr;
		int rc = dfs_create(c, p, 0644, false, 1, 0, &wr);
		return rc ? rc : dfs_writer_close(wr);
	}
	case OP_STAT: {
		struct dfs_attr a;
		return dfs_stat(c, p, &a);
	}
	case OP_RENAME:
		snprintf(q, sizeof q, "/bench/w%d/g%d", w, i);
		return dfs_rename(c, p, q, 0);
	case OP_DELETE:
		snprintf(q, sizeof q, "/bench/w%d/g%d", w, i);
		return dfs_delete(c, q, false);
	default:
		return -EINVAL;
	}
}

static int count_entry(void *arg, const char *name, const struct dfs_attr *a)
{
	(void)name;
	(void)a;
	(*(long *)arg)++;
	return 0;
}

static double phase_start[OP_N], phase_end[OP_N];
static long list_entries;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct dfs_client *c;
	if (dfs_connect(w->opts, &c)) {
		fprintf(stderr, "metabench: %s\n", dfs_errmsg());
		exit(1);
	}
	char dir[64];
	snprintf(dir, sizeof dir, "/bench/w%d", w->id);
	dfs_mkdir(c, dir, 0755, true, NULL);
	for (int op = 0; op < OP_N; op++) {
		pthread_barrier_wait(w->bar);
		if (w->id == 0)
			phase_start[op] = ev_now();
		pthread_barrier_wait(w->bar);
		if (op == OP_LIST) {
			long n = 0;
			for (int r = 0; r < 5; r++)
				if (dfs_list(c, dir, count_entry, &n))
					w->failures++;
			pthread_mutex_lock(&lock);
			list_entries += n;
			pthread_mutex_unlock(&lock);
		} else {
			for (int i = 0; i < w->count; i++)
				if (run_op(c, (enum op)op, w->id, i))
					w->failures++;
		}
		pthread_barrier_wait(w->bar);
		if (w->id == 0)
			phase_end[op] = ev_now();
	}
	dfs_close(c);
	return NULL;
}

int main(int argc, char **argv)
{
	struct dfs_client_opts opts;
	memset(&opts, 0, sizeof opts);
	int threads = 1, count = 2000, ch;
	const char *key = NULL;
	static const struct option lo[] = {{"key", required_argument, 0, 'k'}, {0, 0, 0, 0}};
	while ((ch = getopt_long(argc, argv, "n:t:c:", lo, NULL)) != -1) {
		switch (ch) {
		case 'n': snprintf(opts.namenode, sizeof opts.namenode, "%s", optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'c': count = atoi(optarg); break;
		case 'k': key = optarg; break;
		default: return 2;
		}
	}
	if (!opts.namenode[0] || !key || threads < 1 || count < 1 ||
	    auth_key_load(key, opts.key)) {
		fprintf(stderr, "usage: metabench -n HOST:PORT --key FILE [-t N] [-c N]\n");
		return 2;
	}
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, (unsigned)threads);
	struct worker *w = calloc((size_t)threads, sizeof *w);
	for (int i = 0; i < threads; i++) {
		w[i] = (struct worker){.id = i, .count = count, .opts = &opts, .bar = &bar};
		pthread_create(&w[i].t, NULL, worker_main, &w[i]);
	}
	int failures = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].t, NULL);
		failures += w[i].failures;
	}
	for (int op = 0; op < OP_N; op++) {
		double secs = phase_end[op] - phase_start[op];
		double n = op == OP_LIST ? (double)list_entries : (double)threads * count;
		printf("%-18s %2d clients %9.0f ops/s\n", op_names[op], threads, n / secs);
	}
	if (failures)
		printf("failures: %d\n", failures);
	return failures ? 1 : 0;
}
