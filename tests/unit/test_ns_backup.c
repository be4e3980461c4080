/*
 * Unit tests for the namespace's backups (namenode/ns_backup.c): a dump read in
 * pieces from a snapshot, restored into a new namespace; restores refused without
 * this build's format record.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "pack.h"

#include "nstest.h"

/* Reads records in the dump layout back from an unpack cursor. */
static int restore_next(void *arg, struct buf *k, struct buf *v)
{
	struct unpack *u = arg;
	if (!u->left)
		return 0;
	uint32_t kl = unpack_u32(u);
	const void *kp = unpack_raw(u, kl);
	uint32_t vl = unpack_u32(u);
	const void *vp = unpack_raw(u, vl);
	if (!unpack_ok(u))
		return -EPROTO;
	buf_reset(k);
	buf_add(k, kp, kl);
	buf_reset(v);
	buf_add(v, vp, vl);
	return 1;
}

START_TEST(test_dump_restore)
{
	ck_assert_int_eq(nn_ns_mkdir(ns, "/d", 0750, false, 7, 8, NULL), 0);
	ck_assert_int_eq(nn_ns_xattr_set(ns, "/d", "user.k", "v", 1, 0), 0);
	struct nn_ns_dump *d;
	ck_assert_int_eq(nn_ns_dump_start(ns, &d), 0);
	/* changes after the snapshot are not in it */
	ck_assert_int_eq(nn_ns_mkdir(ns, "/later", 0755, false, 0, 0, NULL), 0);
	struct buf recs = BUF_INIT;
	uint32_t total = 0, n;
	while ((n = nn_ns_dump_next(d, &recs, 64)))
		total += n;
	nn_ns_dump_end(d);
	ck_assert_uint_gt(total, 3);
	struct cursor {
		struct unpack u;
	} cur;
	unpack_init(&cur.u, recs.data, recs.len);
	char rdir[4300];
	snprintf(rdir, sizeof rdir, "%s-restored", dir);
	ck_assert_int_eq(nn_ns_restore(rdir, restore_next, &cur.u), 0);
	struct nn_ns *r;
	ck_assert_int_eq(nn_ns_open(rdir, &defaults, &r), 0);
	struct nn_attr a;
	ck_assert_int_eq(nn_ns_stat(r, "/d", &a), 0);
	ck_assert_uint_eq(a.mode & 0777, 0750);
	ck_assert_uint_eq(a.uid, 7);
	ck_assert_int_eq(nn_ns_stat(r, "/later", &a), -ENOENT);
	struct buf v = BUF_INIT;
	ck_assert_int_eq(nn_ns_xattr_get(r, "/d", "user.k", &v), 0);
	ck_assert_uint_eq(v.len, 1);
	nn_ns_close(r);
	/* into a directory holding a namespace: refused */
	unpack_init(&cur.u, recs.data, recs.len);
	ck_assert_int_eq(nn_ns_restore(rdir, restore_next, &cur.u), -EEXIST);
	buf_free(&v);
	buf_free(&recs);
}
END_TEST

/* Appends one record in the dump layout to b. */
static void add_record(struct buf *b, const void *k, uint32_t kl, const void *v,
		       uint32_t vl)
{
	pack_u32(b, kl);
	pack_raw(b, k, kl);
	pack_u32(b, vl);
	pack_raw(b, v, vl);
}

START_TEST(test_restore_needs_this_format)
{
	uint8_t c[24] = {0}, fmt[10];
	memcpy(fmt, "dfs-ns", 6);
	char rdir[4300];
	struct unpack u;
	struct buf recs = BUF_INIT;
	/* no format record at all */
	add_record(&recs, "C", 1, c, sizeof c);
	unpack_init(&u, recs.data, recs.len);
	snprintf(rdir, sizeof rdir, "%s-none", dir);
	ck_assert_int_eq(nn_ns_restore(rdir, restore_next, &u), -EPROTO);
	/* another version's */
	be32_put(fmt + 6, NN_NS_FORMAT + 1);
	add_record(&recs, "V", 1, fmt, sizeof fmt);
	unpack_init(&u, recs.data, recs.len);
	snprintf(rdir, sizeof rdir, "%s-other", dir);
	ck_assert_int_eq(nn_ns_restore(rdir, restore_next, &u), -EPROTO);
	/* a damaged stream, though with this version's format record first */
	be32_put(fmt + 6, NN_NS_FORMAT);
	buf_reset(&recs);
	add_record(&recs, "V", 1, fmt, sizeof fmt);
	add_record(&recs, "C", 1, c, sizeof c);
	unpack_init(&u, recs.data, recs.len - 1);
	snprintf(rdir, sizeof rdir, "%s-cut", dir);
	ck_assert_int_eq(nn_ns_restore(rdir, restore_next, &u), -EPROTO);
	buf_free(&recs);
}
END_TEST

int main(void)
{
	return nstest_main("ns_backup", UNIT_TESTS(
		test_dump_restore, test_restore_needs_this_format));
}
