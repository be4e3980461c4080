/*
 * Unit tests for the namespace's store (namenode/ns_store.c): format and open, the
 * format record (written here straight into LevelDB), durability across reopen (synced
 * or only closed), the start-up block scan and the id counters.
 */
#include <check.h>
#include <errno.h>
#include <leveldb/c.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pack.h"

#include "nstest.h"

/* ---- format / open ---- */

START_TEST(test_format_open)
{
	struct nn_attr r = stat_ok("/");
	ck_assert_uint_eq(r.ino, NN_ROOT_INO);
	ck_assert_uint_eq(r.type, PROTO_T_DIR);
	ck_assert_uint_eq(r.nlink, 2);
	ck_assert_uint_eq(nn_ns_files(ns), 1); /* the root */
	ck_assert_uint_eq(nn_ns_block_count(ns), 0);
	ck_assert(!nn_ns_dirty(ns));

	/* formatting twice would destroy the namespace: refused */
	nn_ns_close(ns);
	ns = NULL;
	ck_assert_int_eq(nn_ns_format(dir), -EEXIST);
	ck_assert_int_eq(nn_ns_open(dir, &defaults, &ns), 0);
	ck_assert_uint_eq(stat_ok("/").ino, NN_ROOT_INO);
	/* an empty directory holds no namespace */
	char empty[4300];
	snprintf(empty, sizeof empty, "%s/empty-XXXXXX", tmp_base);
	ck_assert_ptr_nonnull(mkdtemp(empty));
	struct nn_ns *other = NULL;
	ck_assert_int_eq(nn_ns_open(empty, &defaults, &other), -ENOENT);
	ck_assert_ptr_null(other);
}
END_TEST

/* Replaces the format record of the (closed) namespace in dir with value v. */
static void put_format_record(const void *v, size_t n)
{
	leveldb_options_t *o = leveldb_options_create();
	char *err = NULL;
	leveldb_t *db = leveldb_open(o, dir, &err);
	ck_assert_msg(!err, "%s", err ? err : "");
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	leveldb_put(db, wo, "V", 1, v, n, &err);
	ck_assert_msg(!err, "%s", err ? err : "");
	leveldb_writeoptions_destroy(wo);
	leveldb_close(db);
	leveldb_options_destroy(o);
}

START_TEST(test_format_version)
{
	/* another version of the format: refused as unreadable, not as absent */
	nn_ns_close(ns);
	ns = NULL;
	uint8_t v[10];
	memcpy(v, "dfs-ns", 6);
	be32_put(v + 6, NN_NS_FORMAT + 1);
	put_format_record(v, sizeof v);
	struct nn_ns *other = NULL;
	ck_assert_int_eq(nn_ns_open(dir, &defaults, &other), -EPROTONOSUPPORT);
	ck_assert_ptr_null(other);
	/* ... and upgrade leaves a newer one alone */
	struct buf why = BUF_INIT;
	uint32_t from = 0;
	ck_assert_int_eq(nn_ns_upgrade(dir, &from, &why), -EPROTONOSUPPORT);
	ck_assert_uint_eq(from, NN_NS_FORMAT + 1);
	ck_assert_ptr_nonnull(strstr(why.data, "newer than this namenode's"));
	/* an older one is refused until upgraded; format 0 never existed: no step */
	be32_put(v + 6, 0);
	put_format_record(v, sizeof v);
	ck_assert_int_eq(nn_ns_open(dir, &defaults, &other), -EUCLEAN);
	ck_assert_ptr_null(other);
	buf_reset(&why);
	ck_assert_int_eq(nn_ns_upgrade(dir, &from, &why), -ENOTSUP);
	ck_assert_uint_eq(from, 0);
	ck_assert_ptr_nonnull(strstr(why.data, "no upgrade from namespace format"));
	ck_assert_int_eq(nn_ns_open(dir, &defaults, &other), -EUCLEAN); /* untouched */
	/* another magic: no dfs namespace at all */
	memcpy(v, "xfs-ns", 6);
	be32_put(v + 6, NN_NS_FORMAT);
	put_format_record(v, sizeof v);
	ck_assert_int_eq(nn_ns_open(dir, &defaults, &other), -ENOENT);
	/* this version again: opens, the root is there */
	memcpy(v, "dfs-ns", 6);
	put_format_record(v, sizeof v);
	buf_reset(&why);
	ck_assert_int_eq(nn_ns_upgrade(dir, &from, &why), 0); /* current: nothing to do */
	ck_assert_uint_eq(from, NN_NS_FORMAT);
	buf_free(&why);
	ck_assert_int_eq(nn_ns_open(dir, &defaults, &ns), 0);
	ck_assert_uint_eq(stat_ok("/").ino, NN_ROOT_INO);
}
END_TEST

/* Rewrites the (closed) namespace in dir as format 1 wrote it: "V" 1 and every inode
 * record version 1, without the parent that version 2 appends. */
static void downgrade_to_format_1(void)
{
	leveldb_options_t *o = leveldb_options_create();
	char *err = NULL;
	leveldb_t *db = leveldb_open(o, dir, &err);
	ck_assert_msg(!err, "%s", err ? err : "");
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
	int n = 0;
	for (leveldb_iter_seek(it, "I", 1); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t kl, vl;
		const char *k = leveldb_iter_key(it, &kl);
		if (k[0] != 'I')
			break;
		const char *val = leveldb_iter_value(it, &vl);
		char old[8192];
		ck_assert(vl > 8 && vl <= sizeof old && val[0] == 2);
		memcpy(old, val, vl - 8);
		old[0] = 1;
		leveldb_writebatch_put(wb, k, kl, old, vl - 8);
		n++;
	}
	ck_assert_int_gt(n, 3);
	leveldb_iter_destroy(it);
	uint8_t v[10];
	memcpy(v, "dfs-ns", 6);
	be32_put(v + 6, 1);
	leveldb_writebatch_put(wb, "V", 1, (const char *)v, sizeof v);
	leveldb_write(db, wo, wb, &err);
	ck_assert_msg(!err, "%s", err ? err : "");
	leveldb_writebatch_destroy(wb);
	leveldb_writeoptions_destroy(wo);
	leveldb_readoptions_destroy(ro);
	leveldb_close(db);
	leveldb_options_destroy(o);
}

START_TEST(test_upgrade_from_format_1)
{
	/* format 1 kept no parents: the upgrade gives every directory its own */
	struct nn_attr a = mkdir_ok("/a"), b = mkdir_ok("/a/b"), c = mkdir_ok("/a/b/c");
	struct nn_attr f = create_ok("/a/f");
	ck_assert_int_eq(nn_ns_rename(ns, "/a/b/c", "/c", 0, NULL), 0); /* moved once */
	nn_ns_close(ns);
	ns = NULL;
	downgrade_to_format_1();
	struct nn_ns *other = NULL;
	ck_assert_int_eq(nn_ns_open(dir, &defaults, &other), -EUCLEAN);
	struct buf why = BUF_INIT;
	uint32_t from = 0;
	ck_assert_int_eq(nn_ns_upgrade(dir, &from, &why), 0);
	ck_assert_uint_eq(from, 1);
	buf_free(&why);
	ck_assert_int_eq(nn_ns_open(dir, &defaults, &ns), 0);
	ck_assert_uint_eq(stat_ok("/").parent, NN_ROOT_INO);
	ck_assert_uint_eq(stat_ok("/a").parent, NN_ROOT_INO);
	ck_assert_uint_eq(stat_ok("/a/b").parent, a.ino);
	ck_assert_uint_eq(stat_ok("/c").parent, NN_ROOT_INO);
	ck_assert_uint_eq(stat_ok("/c").ino, c.ino);
	ck_assert_uint_eq(stat_ok("/a/f").ino, f.ino);
	ck_assert_uint_eq(stat_ok("/a/f").parent, 0);
	/* the loop check walks those parents */
	ck_assert_int_eq(nn_ns_rename(ns, "/a", "/a/b/x", 0, NULL), -EINVAL);
	ck_assert_int_eq(nn_ns_rename_at(ns, NN_ROOT_INO, "a", b.ino, "x", 0, NULL), -EINVAL);
	ck_assert_int_eq(nn_ns_rename_at(ns, NN_ROOT_INO, "c", b.ino, "c", 0, NULL), 0);
}
END_TEST

/* ---- durability ---- */

struct scanned {
	struct nn_blockrec b[16];
	uint16_t repl[16];
	int n;
};

static void scan_cb(void *arg, const struct nn_blockrec *b, uint16_t replication)
{
	struct scanned *s = arg;
	ck_assert_int_lt(s->n, 16);
	s->b[s->n] = *b;
	s->repl[s->n] = replication;
	s->n++;
}

static int find_scanned(const struct scanned *s, uint64_t id)
{
	for (int i = 0; i < s->n; i++)
		if (s->b[i].id == id)
			return i;
	return -1;
}

START_TEST(test_durable_reopen)
{
	mkdir_ok("/d");
	ck_assert_int_eq(nn_ns_setrep(ns, stat_ok("/d").ino, 2, NULL), 0);
	uint64_t ids[2];
	struct nn_attr f = write_file("/d/f", 2, 777, ids);
	struct nn_attr g = create_ok("/g"); /* left under construction */
	struct nn_blockrec gb;
	ck_assert_int_eq(nn_ns_add_block(ns, g.ino, 0, 0, &gb, NULL), 0);
	ck_assert_int_eq(nn_ns_rename(ns, "/d/f", "/d/f2", 0, NULL), 0);
	create_ok("/gone");
	ck_assert_int_eq(nn_ns_delete(ns, "/gone", false, NULL), 0);
	uint64_t files = nn_ns_files(ns);
	ck_assert(nn_ns_dirty(ns));
	ck_assert_int_eq(nn_ns_sync(ns), 0);
	ck_assert(!nn_ns_dirty(ns));

	reopen();
	ck_assert_uint_eq(nn_ns_files(ns), files);
	struct nn_attr s = stat_ok("/d/f2");
	ck_assert_uint_eq(s.ino, f.ino);
	ck_assert_uint_eq(s.size, 1 * MB + 777);
	ck_assert_uint_eq(s.replication, 2);
	ck_assert(!(s.flags & PROTO_A_UNDER_CONSTRUCTION));
	ck_assert_int_eq(stat_rc("/d/f"), -ENOENT);
	ck_assert_int_eq(stat_rc("/gone"), -ENOENT);
	ck_assert_uint_eq(stat_ok("/d").replication, 2);
	ck_assert_uint_eq(stat_ok("/").nlink, 3);
	struct nn_attr gs = stat_ok("/g");
	ck_assert(gs.flags & PROTO_A_UNDER_CONSTRUCTION);
	ck_assert_uint_eq(gs.nblocks, 1);

	struct nn_blocks bl = {0};
	ck_assert_int_eq(nn_ns_blocks(ns, f.ino, 0, 0, &bl), 0);
	ck_assert_uint_eq(bl.n, 2);
	ck_assert_uint_eq(bl.v[0].id, ids[0]);
	ck_assert_uint_eq(bl.v[1].id, ids[1]);
	ck_assert_uint_eq(bl.v[1].offset, 1 * MB);
	ck_assert_uint_eq(bl.v[1].len, 777);
	nn_blocks_free(&bl);

	/* the counters survived: nothing is handed out twice */
	struct nn_attr h = create_ok("/h");
	ck_assert_uint_gt(h.ino, g.ino);
	ck_assert_uint_gt(h.ino, f.ino);
	struct nn_blockrec hb;
	ck_assert_int_eq(nn_ns_add_block(ns, h.ino, 0, 0, &hb, NULL), 0);
	ck_assert_uint_gt(hb.id, gb.id);
	ck_assert_uint_gt(hb.gs, gb.gs);
	ck_assert_uint_gt(hb.id, ids[1]);

	/* the unfinished file can still be completed after the restart */
	ck_assert_int_eq(nn_ns_complete(ns, g.ino, gb.id, 42, &gs), 0);
	ck_assert_uint_eq(gs.size, 42);
}
END_TEST

START_TEST(test_durable_without_sync_on_close)
{
	/* close makes pending mutations durable too */
	struct nn_attr f = create_ok("/f");
	reopen();
	ck_assert_uint_eq(stat_ok("/f").ino, f.ino);
	ck_assert_uint_eq(nn_ns_files(ns), 2);
}
END_TEST

START_TEST(test_scan_blocks_after_reopen)
{
	struct nn_attr a;
	uint64_t ida[2], idb[1], idc[3];
	ck_assert_int_eq(nn_ns_create(ns, "/a", 0644, false, 2, 0, 0, 0, &a, NULL), 0);
	struct nn_blockrec b0, b1;
	ck_assert_int_eq(nn_ns_add_block(ns, a.ino, 0, 0, &b0, NULL), 0);
	ck_assert_int_eq(nn_ns_add_block(ns, a.ino, b0.id, 1 * MB, &b1, NULL), 0);
	ck_assert_int_eq(nn_ns_complete(ns, a.ino, b1.id, 10, NULL), 0);
	ida[0] = b0.id;
	ida[1] = b1.id;
	mkdir_ok("/r4");
	ck_assert_int_eq(nn_ns_setrep(ns, stat_ok("/r4").ino, 4, NULL), 0);
	struct nn_attr b = write_file("/r4/b", 1, 20, idb);
	struct nn_attr c = write_file("/c", 3, 30, idc);
	ck_assert_int_eq(nn_ns_setrep(ns, stat_ok("/c").ino, 6, NULL), 0);
	ck_assert_int_eq(nn_ns_sync(ns), 0);

	reopen();
	struct scanned s;
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(nn_ns_scan_blocks(ns, scan_cb, &s), 0);
	ck_assert_int_eq(s.n, 6);
	ck_assert_uint_eq(nn_ns_block_count(ns), 6);
	for (int i = 0; i < 2; i++) {
		int k = find_scanned(&s, ida[i]);
		ck_assert_int_ge(k, 0);
		ck_assert_uint_eq(s.repl[k], 2);
		ck_assert_uint_eq(s.b[k].ino, a.ino);
		ck_assert_uint_eq(s.b[k].index, (uint32_t)i);
		ck_assert_uint_eq(s.b[k].gs, i ? b1.gs : b0.gs);
	}
	ck_assert_uint_eq(s.b[find_scanned(&s, ida[0])].len, 1 * MB);
	ck_assert_uint_eq(s.b[find_scanned(&s, ida[1])].len, 10);
	int k = find_scanned(&s, idb[0]);
	ck_assert_int_ge(k, 0);
	ck_assert_uint_eq(s.repl[k], 4);
	ck_assert_uint_eq(s.b[k].ino, b.ino);
	ck_assert_uint_eq(s.b[k].len, 20);
	for (int i = 0; i < 3; i++) {
		k = find_scanned(&s, idc[i]);
		ck_assert_int_ge(k, 0);
		ck_assert_uint_eq(s.repl[k], 6);
		ck_assert_uint_eq(s.b[k].ino, c.ino);
		ck_assert_uint_eq(s.b[k].index, (uint32_t)i);
	}

	/* after the start-up scan the block count follows deletions */
	ck_assert_int_eq(nn_ns_delete(ns, "/c", false, NULL), 0);
	ck_assert_uint_eq(nn_ns_block_count(ns), 3);
}
END_TEST

/* ---- id counters ---- */

START_TEST(test_alloc_ids_survive_restart)
{
	uint64_t id1, gs1, id2, gs2;
	ck_assert_int_eq(nn_ns_alloc_block(ns, &id1, &gs1), 0);
	ck_assert_int_eq(nn_ns_sync(ns), 0);
	ck_assert_int_eq(nn_ns_alloc_block(ns, &id2, &gs2), 0); /* inside the reserved range */
	reopen();
	uint64_t id3, gs3;
	ck_assert_int_eq(nn_ns_alloc_block(ns, &id3, &gs3), 0);
	ck_assert_uint_gt(id3, id2); /* never handed out twice, even unsynced */
	ck_assert_uint_gt(gs3, gs2);
}
END_TEST

int main(void)
{
	return nstest_main("ns_store", UNIT_TESTS(
		test_format_open, test_format_version, test_upgrade_from_format_1,
		test_durable_reopen, test_durable_without_sync_on_close,
		test_scan_blocks_after_reopen, test_alloc_ids_survive_restart));
}
