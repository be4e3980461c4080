/*
 * Unit tests for the rate-limited log lines (common/log.h): a flood of one message
 * kind yields at most `burst` lines per interval and, in a later interval, one line
 * saying how many were held back. The log goes to a file in a fresh temp dir.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "testdir.h"
#include "unit.h"

static char logpath[4200];

static void log_setup(void)
{
	testdir_make("log");
	snprintf(logpath, sizeof logpath, "%s/log", tmp_base);
	ck_assert_int_eq(log_open(logpath), 0);
}

/* Lines of the log containing s. */
static unsigned lines_with(const char *s)
{
	FILE *f = fopen(logpath, "r");
	ck_assert_ptr_nonnull(f);
	char line[4096];
	unsigned n = 0;
	while (fgets(line, sizeof line, f))
		n += strstr(line, s) != NULL;
	fclose(f);
	return n;
}

START_TEST(test_flood_is_limited)
{
	struct log_limit l = {.interval = 0.2, .burst = 3};
	for (int i = 0; i < 1000; i++)
		log_limited(&l, LOG_ERROR, "call %d failed: %s", i, "connection refused");
	ck_assert_uint_le(lines_with("failed: connection refused"), 3);
	ck_assert_uint_eq(lines_with("ERROR"), lines_with("failed: connection refused"));
	ck_assert_uint_eq(lines_with("suppressed"), 0);
	/* the next interval's first line says how many were held back (polled) */
	double give_up = clock_now() + 10;
	while (!lines_with("similar messages suppressed") && clock_now() < give_up)
		log_limited(&l, LOG_ERROR, "again");
	ck_assert_uint_eq(lines_with("similar messages suppressed"), 1);
	/* 997 of the flood, and the "again" lines of the same interval */
	FILE *f = fopen(logpath, "r");
	char line[4096];
	unsigned held = 0;
	while (fgets(line, sizeof line, f)) {
		char *p = strstr(line, " similar messages suppressed");
		if (p) {
			while (p > line && p[-1] >= '0' && p[-1] <= '9')
				p--;
			held = (unsigned)strtoul(p, NULL, 10);
		}
	}
	fclose(f);
	ck_assert_uint_ge(held, 997);
	ck_assert_uint_ge(lines_with("again"), 1);
}
END_TEST

START_TEST(test_below_level_not_counted)
{
	struct log_limit l = {.interval = 100, .burst = 2};
	log_set_level(LOG_ERROR);
	for (int i = 0; i < 10; i++)
		log_limited(&l, LOG_WARN, "quiet %d", i);
	log_limited(&l, LOG_ERROR, "loud");
	ck_assert_uint_eq(lines_with("quiet"), 0);
	ck_assert_uint_eq(lines_with("loud"), 1);
}
END_TEST

START_TEST(test_default_budget)
{
	struct log_limit l = {0};
	for (int i = 0; i < 50; i++)
		log_warn_limited(&l, "peer %d refused", i);
	ck_assert_uint_le(lines_with("refused"), 2 * LOG_LIMIT_BURST); /* a second may turn */
	ck_assert_uint_ge(lines_with("refused"), 1);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("log",
		{"core", .setup = log_setup, .teardown = tmp_teardown,
		 .tests = UNIT_TESTS(test_flood_is_limited, test_below_level_not_counted,
				     test_default_budget)});
}
