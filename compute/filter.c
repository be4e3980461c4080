/* filter: fixed-string and ERE line selection. See filter.h. */
#include "filter.h"

#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "grow.h"

struct filter {
	uint8_t kind, flags;
	char *pat; /* fixed string (lower-cased with JOB_F_ICASE) */
	size_t plen;
	regex_t re;
	char *lower; /* scratch: a lower-cased copy of the data (fixed string, no case) */
	size_t lower_cap;
};

static char lower_of(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

/*
 * How big glibc's compiled form of an ERE gets, roughly: regcomp copies the operand of
 * `+` once and of `{m,n}` about n times, so stacked or nested repetitions multiply
 * (`(a|b)++++...` or `((a{99}){99}){99}` take all memory). Returns the estimate, capped.
 */
#define RE_COST_MAX 20000.0

static double re_alt(const char **p, int depth, int *qnest);

/* One atom and its quantifiers; *qnest gets how deeply quantifiers nest in it. */
static double re_piece(const char **p, int depth, int *qnest)
{
	const char *c = *p;
	double size;
	int inner = 0;
	*qnest = 0;
	if (*c == '(') {
		c++;
		*p = c;
		size = depth > 64 ? RE_COST_MAX : re_alt(p, depth + 1, &inner);
		c = *p;
		if (*c == ')')
			c++;
	} else if (*c == '[') {
		c++;
		if (*c == '^')
			c++;
		if (*c == ']')
			c++;
		while (*c && *c != ']') {
			if (*c == '[' && (c[1] == ':' || c[1] == '.' || c[1] == '=')) {
				const char *end = strstr(c + 2, c[1] == ':' ? ":]" : c[1] == '.' ? ".]" : "=]");
				c = end ? end + 2 : c + strlen(c);
			} else {
				c++;
			}
		}
		if (*c)
			c++;
		size = 1;
	} else {
		if (*c == '\\' && c[1] >= '1' && c[1] <= '9')
			return RE_COST_MAX; /* a backreference: matching is exponential */
		if (*c == '\\' && c[1])
			c++;
		c++;
		size = 1;
	}
	/* quantifiers: one per atom (stacked ones, a++ or (a|)*+, make glibc's epsilon
	 * closures explode and mean nothing in POSIX ERE) */
	int nq = 0;
	for (;;) {
		if ((*c == '*' || *c == '?' || *c == '+' || *c == '{') && nq++)
			return RE_COST_MAX;
		if (*c == '*' || *c == '?') {
			size = size * 1 + 1;
			c++;
		} else if (*c == '+') {
			size = size * 2 + 1;
			c++;
		} else if (*c == '{') {
			char *end;
			unsigned long lo = strtoul(c + 1, &end, 10), hi = lo;
			if (*end == ',')
				hi = end[1] == '}' ? lo : strtoul(end + 1, &end, 10);
			else
				hi = lo;
			while (*end && *end != '}')
				end++;
			c = *end ? end + 1 : end;
			size = size * (double)(hi > lo ? hi : lo ? lo : 1) + 1;
		} else {
			break;
		}
		if (size > RE_COST_MAX)
			size = RE_COST_MAX;
	}
	*qnest = inner + (nq > 0);
	if (*qnest > 3)
		return RE_COST_MAX; /* quantified groups nested deeper than that */
	*p = c;
	return size;
}

static double re_alt(const char **p, int depth, int *qnest)
{
	double total = 0;
	*qnest = 0;
	while (**p && **p != ')') {
		if (**p == '|') {
			(*p)++;
			continue;
		}
		int q = 0;
		total += re_piece(p, depth, &q);
		if (q > *qnest)
			*qnest = q;
		if (total >= RE_COST_MAX)
			return RE_COST_MAX;
	}
	return total;
}

int filter_check(uint8_t kind, const char *pattern, uint8_t flags, struct buf *err)
{
	if (kind != JOB_FILTER_REGEX)
		return 0;
	const char *p = pattern;
	double cost = 0;
	while (*p && cost < RE_COST_MAX) { /* unbalanced ')' are regcomp's to report */
		int q = 0;
		cost += re_alt(&p, 0, &q);
		if (*p)
			p++;
	}
	if (cost >= RE_COST_MAX) {
		buf_printf(err, "regular expression '%.80s' is too complex (nested or stacked "
				"repetitions, or backreferences, which POSIX ERE does not have)",
			   pattern);
		return -EINVAL;
	}
	regex_t re;
	int rc = regcomp(&re, pattern,
			 REG_EXTENDED | REG_NEWLINE | REG_NOSUB | ((flags & JOB_F_ICASE) ? REG_ICASE : 0));
	if (rc) {
		char msg[256];
		regerror(rc, &re, msg, sizeof msg);
		buf_printf(err, "bad regular expression '%s': %s", pattern, msg);
		regfree(&re);
		return -EINVAL;
	}
	regfree(&re);
	return 0;
}

int filter_new(uint8_t kind, const char *pattern, uint8_t flags, struct filter **out,
	       struct buf *err)
{
	struct filter *f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	f->kind = kind;
	f->flags = flags;
	if (kind == JOB_FILTER_REGEX && filter_check(kind, pattern, flags, err)) {
		free(f);
		return -EINVAL;
	}
	if (kind == JOB_FILTER_REGEX) {
		int cf = REG_EXTENDED | REG_NEWLINE | ((flags & JOB_F_ICASE) ? REG_ICASE : 0);
		int rc = regcomp(&f->re, pattern, cf);
		if (rc) {
			char msg[256];
			regerror(rc, &f->re, msg, sizeof msg);
			buf_printf(err, "bad regular expression '%s': %s", pattern, msg);
			free(f);
			return -EINVAL;
		}
	} else if (kind == JOB_FILTER_GREP) {
		f->pat = strdup(pattern);
		if (!f->pat) {
			free(f);
			return -ENOMEM;
		}
		f->plen = strlen(pattern);
		if (flags & JOB_F_ICASE)
			for (size_t i = 0; i < f->plen; i++)
				f->pat[i] = lower_of(f->pat[i]);
	} else {
		buf_printf(err, "unknown filter kind %u", kind);
		free(f);
		return -EINVAL;
	}
	*out = f;
	return 0;
}

void filter_free(struct filter *f)
{
	if (!f)
		return;
	if (f->kind == JOB_FILTER_REGEX)
		regfree(&f->re);
	free(f->pat);
	free(f->lower);
	free(f);
}

/* Offset of the first match at or after pos in data[0..len), or len when none. */
static size_t find(struct filter *f, const char *data, const char *hay, size_t len, size_t pos)
{
	if (f->kind == JOB_FILTER_REGEX) {
		regmatch_t m[1];
		m[0].rm_so = (regoff_t)pos;
		m[0].rm_eo = (regoff_t)len;
		if (regexec(&f->re, data, 1, m, REG_STARTEND))
			return len;
		return (size_t)m[0].rm_so < len ? (size_t)m[0].rm_so : len;
	}
	if (f->plen == 0)
		return pos;
	const char *p = memmem(hay + pos, len - pos, f->pat, f->plen);
	return p ? (size_t)(p - hay) : len;
}

/* Appends data[a..b) (whole lines), adding the '\n' a last line may lack. */
static void emit(struct buf *out, const char *data, size_t a, size_t b)
{
	if (!out || a >= b)
		return;
	buf_add(out, data + a, b - a);
	if (data[b - 1] != '\n')
		buf_add(out, "\n", 1);
}

/* Lines in data[a..b) (whole lines, the last maybe without its '\n'). */
static uint64_t lines_in(const char *data, size_t a, size_t b)
{
	uint64_t n = 0;
	const char *p = data + a, *end = data + b;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		n++;
		if (!nl)
			break;
		p = nl + 1;
	}
	return n;
}

uint64_t filter_run(struct filter *f, const char *data, size_t len, struct buf *out)
{
	const char *hay = data;
	if (f->kind == JOB_FILTER_GREP && (f->flags & JOB_F_ICASE) && f->plen) {
		if (ALLOC_GROW(f->lower, len, f->lower_cap))
			abort();
		for (size_t i = 0; i < len; i++)
			f->lower[i] = lower_of(data[i]);
		hay = f->lower;
	}
	bool invert = f->flags & JOB_F_INVERT;
	uint64_t n = 0;
	size_t pos = 0;
	while (pos < len) {
		size_t m = find(f, data, hay, len, pos);
		if (m >= len)
			break;
		const char *ls = m > pos ? memrchr(data + pos, '\n', m - pos) : NULL;
		size_t start = ls ? (size_t)(ls - data) + 1 : pos;
		const char *le = memchr(data + m, '\n', len - m);
		size_t end = le ? (size_t)(le - data) + 1 : len;
		if (invert) {
			n += lines_in(data, pos, start);
			emit(out, data, pos, start);
		} else {
			n++;
			emit(out, data, start, end);
		}
		pos = end;
	}
	if (invert && pos < len) {
		n += lines_in(data, pos, len);
		emit(out, data, pos, len);
	}
	return n;
}
