/*
 * Unit tests for cfg (settings: sizes, seconds, key validation, config files). Every
 * test runs in its own forked process.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"

#include "testdir.h"
#include "unit.h"

/* ---- cfg: parsers ---- */

START_TEST(test_parse_size)
{
	uint64_t v = 0;
	ck_assert_int_eq(cfg_parse_size("64M", &v), 0);
	ck_assert_uint_eq(v, 64ULL << 20);
	ck_assert_int_eq(cfg_parse_size("1G", &v), 0);
	ck_assert_uint_eq(v, 1ULL << 30);
	ck_assert_int_eq(cfg_parse_size("512", &v), 0);
	ck_assert_uint_eq(v, 512);
	ck_assert_int_eq(cfg_parse_size("4k", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(cfg_parse_size("0", &v), 0);
	ck_assert_uint_eq(v, 0);
}
END_TEST

START_TEST(test_parse_size_invalid)
{
	static const char *bad[] = {"1.5M", "", "12X", "-1", " 1", "M", "1M ", "1MM",
				    "99999999999999999999", "17179869184G", "0x10"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t v = 777;
		ck_assert_msg(cfg_parse_size(bad[i], &v) == -EINVAL, "'%s' accepted", bad[i]);
		ck_assert_msg(v == 777, "'%s' changed the output", bad[i]);
	}
	uint64_t v;
	ck_assert_int_eq(cfg_parse_size(NULL, &v), -EINVAL);
}
END_TEST

START_TEST(test_parse_seconds)
{
	double d = -1;
	ck_assert_int_eq(cfg_parse_seconds("0.5", &d), 0);
	ck_assert_double_eq(d, 0.5);
	ck_assert_int_eq(cfg_parse_seconds("10", &d), 0);
	ck_assert_double_eq(d, 10.0);
	ck_assert_int_eq(cfg_parse_seconds("0", &d), 0);
	ck_assert_double_eq(d, 0.0);
	static const char *bad[] = {"-1", "", "1s", "abc", "inf", "nan", "1e999", "-0.5"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		d = 123;
		ck_assert_msg(cfg_parse_seconds(bad[i], &d) == -EINVAL, "'%s' accepted", bad[i]);
		ck_assert_msg(d == 123, "'%s' changed the output", bad[i]);
	}
}
END_TEST

/* ---- cfg: keys ---- */

START_TEST(test_defaults)
{
	struct cfg c;
	cfg_defaults(&c);
	ck_assert_uint_eq(c.block_size, 64ULL << 20);
	ck_assert_uint_eq(c.replication, 3);
	ck_assert_double_eq(c.metadata_sync, 0);
	ck_assert_str_eq(c.log_level, "info");
	ck_assert_uint_ge(c.task_slots, 1);
}
END_TEST

START_TEST(test_set_unknown_key)
{
	struct cfg c;
	cfg_defaults(&c);
	struct buf err = BUF_INIT;
	ck_assert_int_eq(cfg_set(&c, "replicaton", "2", &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.data, "replicaton"));
	ck_assert_uint_eq(c.replication, 3);
	buf_free(&err);
}
END_TEST

START_TEST(test_set_replication)
{
	struct cfg c;
	cfg_defaults(&c);
	struct buf err = BUF_INIT;
	ck_assert_int_eq(cfg_set(&c, "replication", "0", &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.data, "replication"));
	ck_assert_uint_eq(c.replication, 3);
	buf_reset(&err);
	ck_assert_int_eq(cfg_set(&c, "replication", "513", &err), -EINVAL);
	ck_assert_uint_eq(c.replication, 3);
	buf_reset(&err);
	ck_assert_int_eq(cfg_set(&c, "replication", "two", &err), -EINVAL);
	buf_reset(&err);
	ck_assert_int_eq(cfg_set(&c, "replication", "512", &err), 0);
	ck_assert_uint_eq(c.replication, 512);
	ck_assert_int_eq(cfg_set(&c, "replication", "1", &err), 0);
	ck_assert_uint_eq(c.replication, 1);
	buf_free(&err);
}
END_TEST

START_TEST(test_set_block_size)
{
	struct cfg c;
	cfg_defaults(&c);
	struct buf err = BUF_INIT;
	ck_assert_int_eq(cfg_set(&c, "block_size", "96K", &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.data, "block_size"));
	ck_assert_uint_eq(c.block_size, 64ULL << 20);
	buf_reset(&err);
	ck_assert_int_eq(cfg_set(&c, "block_size", "1000000", &err), -EINVAL);
	buf_reset(&err);
	ck_assert_int_eq(cfg_set(&c, "block_size", "0", &err), -EINVAL);
	buf_reset(&err);
	ck_assert_int_eq(cfg_set(&c, "block_size", "128K", &err), 0);
	ck_assert_uint_eq(c.block_size, 128 * 1024);
	ck_assert_int_eq(cfg_set(&c, "block_size", "65536", &err), 0);
	ck_assert_uint_eq(c.block_size, 65536);
	ck_assert_int_eq(cfg_set(&c, "block_size", "1G", &err), 0);
	ck_assert_uint_eq(c.block_size, 1ULL << 30);
	buf_free(&err);
}
END_TEST

START_TEST(test_set_metadata_sync)
{
	struct cfg c;
	cfg_defaults(&c);
	struct buf err = BUF_INIT;
	ck_assert_int_eq(cfg_set(&c, "metadata_sync", "2", &err), 0);
	ck_assert_double_eq(c.metadata_sync, 2.0);
	ck_assert_int_eq(cfg_set(&c, "metadata_sync", "always", &err), 0);
	ck_assert_double_eq(c.metadata_sync, 0.0);
	ck_assert_int_eq(cfg_set(&c, "metadata_sync", "0.25", &err), 0);
	ck_assert_double_eq(c.metadata_sync, 0.25);
	ck_assert_int_eq(cfg_set(&c, "metadata_sync", "0", &err), -EINVAL);
	ck_assert_int_eq(cfg_set(&c, "metadata_sync", "never", &err), -EINVAL);
	ck_assert_int_eq(cfg_set(&c, "metadata_sync", "-1", &err), -EINVAL);
	ck_assert_double_eq(c.metadata_sync, 0.25);
	buf_free(&err);
}
END_TEST

START_TEST(test_set_other_kinds)
{
	struct cfg c;
	cfg_defaults(&c);
	struct buf err = BUF_INIT;
	ck_assert_int_eq(cfg_set(&c, "heartbeat_interval", "0.5", &err), 0);
	ck_assert_double_eq(c.heartbeat_interval, 0.5);
	ck_assert_int_eq(cfg_set(&c, "dead_node_timeout", "-1", &err), -EINVAL);
	ck_assert_double_eq(c.dead_node_timeout, 10);
	ck_assert_int_eq(cfg_set(&c, "safemode_threshold", "1.5", &err), -EINVAL);
	ck_assert_int_eq(cfg_set(&c, "safemode_threshold", "0.5", &err), 0);
	ck_assert_double_eq(c.safemode_threshold, 0.5);
	ck_assert_int_eq(cfg_set(&c, "listen", "127.0.0.1:9000", &err), 0);
	ck_assert_str_eq(c.listen, "127.0.0.1:9000");
	char longv[300];
	memset(longv, 'h', sizeof longv - 1);
	longv[sizeof longv - 1] = 0;
	buf_reset(&err);
	ck_assert_int_eq(cfg_set(&c, "listen", longv, &err), -EINVAL);
	ck_assert_str_eq(c.listen, "127.0.0.1:9000");
	buf_free(&err);
}
END_TEST

START_TEST(test_set_kv)
{
	struct cfg c;
	cfg_defaults(&c);
	struct buf err = BUF_INIT;
	ck_assert_int_eq(cfg_set_kv(&c, "replication=2", &err), 0);
	ck_assert_uint_eq(c.replication, 2);
	ck_assert_int_eq(cfg_set_kv(&c, "log_level=debug", &err), 0);
	ck_assert_str_eq(c.log_level, "debug");
	ck_assert_int_eq(cfg_set_kv(&c, "noequals", &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.data, "noequals"));
	ck_assert_int_eq(cfg_set_kv(&c, "=5", &err), -EINVAL);
	buf_reset(&err);
	ck_assert_int_eq(cfg_set_kv(&c, "bogus=1", &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.data, "bogus"));
	buf_free(&err);
}
END_TEST

/* ---- cfg: files ---- */

static void tmp_setup(void) { testdir_make("cfg"); }

/* Writes content into a new file below tmp_base; path receives its name. */
static void temp_file(char *path, size_t sz, const char *content)
{
	int n = snprintf(path, sz, "%s/cfg-XXXXXX", tmp_base);
	ck_assert(n > 0 && (size_t)n < sz);
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	size_t len = strlen(content);
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	close(fd);
}

START_TEST(test_load_file)
{
	char path[4200];
	temp_file(path, sizeof path,
		  "# a dfs config\n"
		  "\n"
		  "replication = 2\n"
		  "   block_size=128M   \n"
		  "metadata_sync = always # group commit off\n"
		  "\t# indented comment\n"
		  "heartbeat_interval = 0.5\n"
		  "name_dir = /var/lib/dfs/name\n"
		  "listen = 127.0.0.1:8020");
	struct cfg c;
	cfg_defaults(&c);
	c.metadata_sync = 5;
	struct buf err = BUF_INIT;
	ck_assert_int_eq(cfg_load(&c, path, &err), 0);
	ck_assert_uint_eq(err.len, 0);
	ck_assert_uint_eq(c.replication, 2);
	ck_assert_uint_eq(c.block_size, 128ULL << 20);
	ck_assert_double_eq(c.metadata_sync, 0);
	ck_assert_double_eq(c.heartbeat_interval, 0.5);
	ck_assert_str_eq(c.name_dir, "/var/lib/dfs/name");
	ck_assert_str_eq(c.listen, "127.0.0.1:8020"); /* last line without a newline */
	/* untouched keys keep their defaults */
	ck_assert_double_eq(c.dead_node_timeout, 10);
	buf_free(&err);
}
END_TEST

START_TEST(test_load_bad_line)
{
	char path[4200];
	temp_file(path, sizeof path,
		  "# comment\n"
		  "replication = 2\n"
		  "this line has no equals sign\n"
		  "block_size = 1M\n");
	struct cfg c;
	cfg_defaults(&c);
	struct buf err = BUF_INIT;
	ck_assert_int_eq(cfg_load(&c, path, &err), -EINVAL);
	ck_assert_msg(strstr(err.data, ":3:") != NULL, "no line number in '%s'", err.data);
	ck_assert_ptr_nonnull(strstr(err.data, path));
	ck_assert_uint_eq(c.replication, 2);      /* lines before the error applied */
	ck_assert_uint_eq(c.block_size, 64ULL << 20); /* lines after it not */
	buf_free(&err);
}
END_TEST

START_TEST(test_load_bad_value)
{
	char path[4200];
	temp_file(path, sizeof path,
		  "replication = 2\n"
		  "\n"
		  "# next: not a multiple of 64K\n"
		  "block_size = 100K\n");
	struct cfg c;
	cfg_defaults(&c);
	struct buf err = BUF_INIT;
	ck_assert_int_eq(cfg_load(&c, path, &err), -EINVAL);
	ck_assert_msg(strstr(err.data, ":4:") != NULL, "no line number in '%s'", err.data);
	ck_assert_ptr_nonnull(strstr(err.data, "block_size"));
	buf_free(&err);

	temp_file(path, sizeof path, "replication = 2\nno_such_key = 1\n");
	buf_init(&err);
	ck_assert_int_eq(cfg_load(&c, path, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.data, ":2:"));
	ck_assert_ptr_nonnull(strstr(err.data, "no_such_key"));
	buf_free(&err);
}
END_TEST

START_TEST(test_load_missing)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/does-not-exist.conf", tmp_base);
	struct cfg c;
	cfg_defaults(&c);
	struct buf err = BUF_INIT;
	ck_assert_int_eq(cfg_load(&c, path, &err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err.data, "does-not-exist.conf"));
	buf_free(&err);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("cfg",
		{"cfg", .once_setup = tmp_setup, .once_teardown = tmp_teardown, .tests = UNIT_TESTS(
			test_parse_size, test_parse_size_invalid, test_parse_seconds, test_defaults,
			test_set_unknown_key, test_set_replication, test_set_block_size,
			test_set_metadata_sync, test_set_other_kinds, test_set_kv, test_load_file,
			test_load_bad_line, test_load_bad_value, test_load_missing)});
}
