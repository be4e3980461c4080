/*
 * Unit tests for replog (namenode/replog.h) on a real LevelDB in a temporary directory:
 * a batch's puts and deletes survive encode / decode in order, an entry is applied with
 * its index in the same batch, replays at or below the stored index are skipped (also
 * after reopening the store), and malformed entries are refused without writing
 * anything. Every test runs in its own forked process.
 */
#include <check.h>
#include <errno.h>
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../namenode/replog.h"

#include "testdir.h"
#include "unit.h"

static leveldb_t *open_db(void)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/db", tmp_base);
	leveldb_options_t *o = leveldb_options_create();
	leveldb_options_set_create_if_missing(o, 1);
	char *err = NULL;
	leveldb_t *db = leveldb_open(o, path, &err);
	leveldb_options_destroy(o);
	ck_assert_msg(db && !err, "open: %s", err ? err : "");
	return db;
}

/* The value of key in db, or "" when absent. */
static const char *get(leveldb_t *db, const char *key)
{
	static char out[64];
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	char *err = NULL;
	size_t len = 0;
	char *v = leveldb_get(db, ro, key, strlen(key), &len, &err);
	leveldb_readoptions_destroy(ro);
	ck_assert_ptr_null(err);
	snprintf(out, sizeof out, "%.*s", v ? (int)len : 0, v ? v : "");
	leveldb_free(v);
	return out;
}

static void put_raw(leveldb_t *db, const char *k, const char *v)
{
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	char *err = NULL;
	leveldb_put(db, wo, k, strlen(k), v, strlen(v), &err);
	leveldb_writeoptions_destroy(wo);
	ck_assert_ptr_null(err);
}

/* An entry: put a=1, put b=2, delete old, put a=3 (the later put wins). */
static void sample(struct buf *out)
{
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	leveldb_writebatch_put(wb, "a", 1, "1", 1);
	leveldb_writebatch_put(wb, "b", 1, "2", 1);
	leveldb_writebatch_delete(wb, "old", 3);
	leveldb_writebatch_put(wb, "a", 1, "3", 1);
	replog_encode(wb, out);
	leveldb_writebatch_destroy(wb);
}

START_TEST(test_apply_and_skip_replays)
{
	leveldb_t *db = open_db();
	put_raw(db, "old", "x");
	uint64_t applied = 1;
	ck_assert_int_eq(replog_applied(db, &applied), 0);
	ck_assert_uint_eq(applied, 0);
	struct buf e = BUF_INIT;
	sample(&e);
	ck_assert_int_eq(replog_apply(db, 5, e.data, e.len, &applied), 1);
	ck_assert_uint_eq(applied, 5);
	ck_assert_str_eq(get(db, "a"), "3");
	ck_assert_str_eq(get(db, "b"), "2");
	ck_assert_str_eq(get(db, "old"), "");
	/* a replay at or below the index changes nothing */
	put_raw(db, "a", "local");
	ck_assert_int_eq(replog_apply(db, 5, e.data, e.len, &applied), 0);
	ck_assert_int_eq(replog_apply(db, 2, e.data, e.len, &applied), 0);
	ck_assert_str_eq(get(db, "a"), "local");
	leveldb_close(db);

	/* the index is durable with the entry: after reopening, still skipped */
	db = open_db();
	ck_assert_int_eq(replog_applied(db, &applied), 0);
	ck_assert_uint_eq(applied, 5);
	ck_assert_int_eq(replog_apply(db, 5, e.data, e.len, &applied), 0);
	ck_assert_int_eq(replog_apply(db, 6, e.data, e.len, &applied), 1);
	ck_assert_str_eq(get(db, "a"), "3");
	ck_assert_int_eq(replog_applied(db, &applied), 0);
	ck_assert_uint_eq(applied, 6);
	buf_free(&e);
	leveldb_close(db);
}
END_TEST

START_TEST(test_malformed_refused)
{
	leveldb_t *db = open_db();
	struct buf e = BUF_INIT;
	sample(&e);
	uint64_t applied = 0;
	/* every truncation is refused and writes nothing, not even the index */
	for (size_t cut = 0; cut < e.len; cut++)
		ck_assert_int_eq(replog_apply(db, 9, e.data, cut, &applied), -EPROTO);
	ck_assert_uint_eq(applied, 0);
	ck_assert_str_eq(get(db, "a"), "");
	ck_assert_int_eq(replog_applied(db, &applied), 0);
	ck_assert_uint_eq(applied, 0);
	/* trailing garbage and another version are refused too */
	buf_addc(&e, 'x');
	ck_assert_int_eq(replog_apply(db, 9, e.data, e.len, &applied), -EPROTO);
	buf_truncate(&e, e.len - 1);
	e.data[0] = REPLOG_VERSION + 1;
	ck_assert_int_eq(replog_apply(db, 9, e.data, e.len, &applied), -EPROTO);
	buf_free(&e);
	leveldb_close(db);
}
END_TEST

START_TEST(test_empty_batch)
{
	leveldb_t *db = open_db();
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	struct buf e = BUF_INIT;
	replog_encode(wb, &e);
	leveldb_writebatch_destroy(wb);
	uint64_t applied = 0;
	ck_assert_int_eq(replog_apply(db, 3, e.data, e.len, &applied), 1);
	ck_assert_uint_eq(applied, 3);
	buf_free(&e);
	leveldb_close(db);
}
END_TEST

static void mk(void) { testdir_make("replog"); }

int main(void)
{
	return UNIT_MAIN("replog",
			 {"replog",
			  UNIT_TESTS(test_apply_and_skip_replays, test_malformed_refused,
				     test_empty_batch),
			  .timeout = 30, .setup = mk, .teardown = tmp_teardown});
}
