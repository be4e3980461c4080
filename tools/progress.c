/* progress: progress bars on a terminal. See progress.h. */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "cli.h"

struct progress {
	char verb[16], what[80];
	uint64_t total, done;
	double start, last_draw;
	bool tty;
};


struct progress *progress_start(const char *verb, const char *what, uint64_t total)
{
	bool tty = !cli_g.quiet && isatty(2);
	if (!tty && !cli_g.verbose)
		return NULL;
	struct progress *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	snprintf(p->verb, sizeof p->verb, "%s", verb);
	size_t n = strlen(what);
	/* keep the end of a long name: it is the part that differs */
	snprintf(p->what, sizeof p->what, "%s%s", n > 40 ? "..." : "", n > 40 ? what + n - 37 : what);
	p->total = total;
	p->start = clock_now();
	p->tty = tty;
	return p;
}

static void draw(struct progress *p, double now)
{
	char done[32], total[32], rate[32];
	double secs = now - p->start;
	double bps = secs > 0 ? p->done / secs : 0;
	cli_size(p->done, true, done);
	cli_size(p->total, true, total);
	cli_size((uint64_t)bps, true, rate);
	if (p->total) {
		int width = 24, fill = (int)(width * (double)p->done / (double)p->total);
		char bar[32];
		for (int i = 0; i < width; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[width] = 0;
		double left = bps > 0 ? (double)(p->total - p->done) / bps : 0;
		fprintf(stderr, "\r\033[K%s %s [%s] %3.0f%% %s/%s %s/s ETA %.0fs", p->verb, p->what,
			bar, 100.0 * (double)p->done / (double)p->total, done, total, rate, left);
	} else {
		fprintf(stderr, "\r\033[K%s %s %s %s/s", p->verb, p->what, done, rate);
	}
	fflush(stderr);
	p->last_draw = now;
}

void progress_set(struct progress *p, uint64_t done)
{
	if (!p)
		return;
	p->done = done;
	if (p->total && p->done > p->total)
		p->total = p->done;
	double now = clock_now();
	if (p->tty && now - p->last_draw >= 0.1)
		draw(p, now);
}

void progress_add(struct progress *p, uint64_t n)
{
	if (p)
		progress_set(p, p->done + n);
}

void progress_end(struct progress *p, bool ok)
{
	if (!p)
		return;
	if (p->tty && p->last_draw > 0)
		fprintf(stderr, "\r\033[K");
	if (cli_g.verbose && ok) {
		double secs = clock_now() - p->start;
		fprintf(stderr, "%s %s: %llu bytes in %.2f s (%.1f MB/s)\n", p->verb, p->what,
			(unsigned long long)p->done, secs, secs > 0 ? p->done / secs / 1e6 : 0.0);
	}
	free(p);
}
