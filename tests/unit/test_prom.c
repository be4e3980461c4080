/*
 * Unit tests for prom (common/prom.h), the Prometheus text writer of the daemons'
 * /metrics pages: the HELP line only when there is a help text, the TYPE line, and one
 * sample line with the full 64-bit value. Every test runs in its own forked process.
 */
#include <check.h>
#include <stdint.h>

#include "buf.h"
#include "prom.h"
#include "unit.h"

START_TEST(test_head)
{
	struct buf b = BUF_INIT;
	prom_head(&b, "dfs_jobs", PROM_GAUGE, "Jobs by state.");
	ck_assert_str_eq(b.data, "# HELP dfs_jobs Jobs by state.\n# TYPE dfs_jobs gauge\n");
	buf_reset(&b);
	prom_head(&b, "dfs_x_total", PROM_COUNTER, NULL);
	ck_assert_str_eq(b.data, "# TYPE dfs_x_total counter\n");
	buf_free(&b);
}
END_TEST

START_TEST(test_u64)
{
	struct buf b = BUF_INIT;
	prom_u64(&b, "dfs_used_bytes", PROM_GAUGE, NULL, UINT64_MAX);
	ck_assert_str_eq(b.data, "# TYPE dfs_used_bytes gauge\n"
				 "dfs_used_bytes 18446744073709551615\n");
	buf_reset(&b);
	prom_u64(&b, "dfs_blocks", PROM_GAUGE, "Blocks.", 0);
	ck_assert_str_eq(b.data,
			 "# HELP dfs_blocks Blocks.\n# TYPE dfs_blocks gauge\ndfs_blocks 0\n");
	buf_free(&b);
}
END_TEST

int main(void) { return UNIT_MAIN("prom", {"prom", .tests = UNIT_TESTS(test_head, test_u64)}); }
