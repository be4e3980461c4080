/*
 * Unit tests for the namenode block map (namenode/blockmap.h): put/get/count, replica
 * lists, and removal from collision clusters (backward-shift deletion) across growth.
 * Every test runs in its own forked process (CK_FORK default).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../namenode/blockmap.h"
#include "log.h"
#include "unit.h"

/* ---- helpers ---- */

/* xorshift64: a fixed, reproducible stream of random ids */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

struct visit {
	uint64_t *ids;
	size_t n, cap;
	uint64_t sum_len;
};

static void visit_cb(void *arg, struct nn_block *b)
{
	struct visit *v = arg;
	ck_assert_uint_lt(v->n, v->cap);
	v->ids[v->n++] = b->id;
	v->sum_len += b->len;
}

/* ---- tests ---- */

START_TEST(test_put_get_count)
{
	struct nn_blockmap *m = nn_blockmap_new();
	ck_assert_uint_eq(nn_blockmap_count(m), 0);
	ck_assert_ptr_null(nn_blockmap_get(m, 42));

	struct nn_block *b = nn_blockmap_put(m, 42, 7, 1000, 99, 3);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->id, 42);
	ck_assert_uint_eq(b->nrep, 0);
	ck_assert_uint_eq(nn_blockmap_count(m), 1);
	nn_blockmap_put(m, 43, 8, 2000, 100, 2);
	ck_assert_uint_eq(nn_blockmap_count(m), 2);

	b = nn_blockmap_get(m, 42);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->id, 42);
	ck_assert_uint_eq(b->gs, 7);
	ck_assert_uint_eq(b->len, 1000);
	ck_assert_uint_eq(b->ino, 99);
	ck_assert_uint_eq(b->repl, 3);
	b = nn_blockmap_get(m, 43);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->gs, 8);
	ck_assert_uint_eq(b->len, 2000);
	ck_assert_uint_eq(b->repl, 2);
	ck_assert_ptr_null(nn_blockmap_get(m, 44));
	ck_assert_ptr_null(nn_blockmap_get(m, 0));

	nn_blockmap_remove(m, 42);
	ck_assert_uint_eq(nn_blockmap_count(m), 1);
	ck_assert_ptr_null(nn_blockmap_get(m, 42));
	ck_assert_ptr_nonnull(nn_blockmap_get(m, 43));
	/* removing an unknown id changes nothing */
	nn_blockmap_remove(m, 42);
	nn_blockmap_remove(m, 12345);
	ck_assert_uint_eq(nn_blockmap_count(m), 1);
	nn_blockmap_free(m);
}
END_TEST

START_TEST(test_update_keeps_replicas)
{
	struct nn_blockmap *m = nn_blockmap_new();
	struct nn_block *b = nn_blockmap_put(m, 5, 1, 10, 1, 3);
	ck_assert(nn_block_add_replica(m, b, 3));
	ck_assert(nn_block_add_replica(m, b, 9));

	b = nn_blockmap_put(m, 5, 2, 20, 1, 2);
	ck_assert_uint_eq(nn_blockmap_count(m), 1);
	ck_assert_uint_eq(b->gs, 2);
	ck_assert_uint_eq(b->len, 20);
	ck_assert_uint_eq(b->repl, 2);
	ck_assert_uint_eq(b->nrep, 2);
	ck_assert(nn_block_has_replica(b, 3));
	ck_assert(nn_block_has_replica(b, 9));

	b = nn_blockmap_get(m, 5);
	ck_assert_uint_eq(b->nrep, 2);
	ck_assert(nn_block_has_replica(b, 3));
	nn_blockmap_free(m);
}
END_TEST

/* Each node's block count is the map's: replicas added and removed, a block removed
 * (a file deleted), a duplicate or unknown replica not counted. */
START_TEST(test_node_counts)
{
	struct nn_blockmap *m = nn_blockmap_new();
	ck_assert_uint_eq(nn_blockmap_node_blocks(m, 7), 0);
	for (uint64_t id = 1; id <= 10; id++) {
		struct nn_block *b = nn_blockmap_put(m, id, 1, 10, 1, 3);
		ck_assert(nn_block_add_replica(m, b, 0));
		ck_assert(nn_block_add_replica(m, b, (uint32_t)(1 + id % 2)));
		ck_assert(!nn_block_add_replica(m, b, 0));
	}
	ck_assert_uint_eq(nn_blockmap_node_blocks(m, 0), 10);
	ck_assert_uint_eq(nn_blockmap_node_blocks(m, 1), 5);
	ck_assert_uint_eq(nn_blockmap_node_blocks(m, 2), 5);
	nn_blockmap_remove(m, 3); /* on nodes 0 and 2 */
	nn_blockmap_remove(m, 3);
	ck_assert_uint_eq(nn_blockmap_node_blocks(m, 0), 9);
	ck_assert_uint_eq(nn_blockmap_node_blocks(m, 2), 4);
	struct nn_block *b = nn_blockmap_get(m, 4);
	ck_assert(nn_block_remove_replica(m, b, 1));
	ck_assert(!nn_block_remove_replica(m, b, 1));
	ck_assert_uint_eq(nn_blockmap_node_blocks(m, 1), 4);
	ck_assert(nn_block_add_replica(m, b, 40)); /* a node index beyond any seen */
	ck_assert_uint_eq(nn_blockmap_node_blocks(m, 40), 1);
	ck_assert_uint_eq(nn_blockmap_node_blocks(m, 39), 0);
	for (uint64_t id = 1; id <= 10; id++)
		nn_blockmap_remove(m, id);
	for (uint32_t dn = 0; dn <= 40; dn++)
		ck_assert_uint_eq(nn_blockmap_node_blocks(m, dn), 0);
	nn_blockmap_free(m);
}
END_TEST

START_TEST(test_replicas)
{
	struct nn_blockmap *m = nn_blockmap_new();
	struct nn_block *b = nn_blockmap_put(m, 77, 1, 10, 1, 3);
	ck_assert(!nn_block_has_replica(b, 0));
	ck_assert(nn_block_add_replica(m, b, 0));
	ck_assert(!nn_block_add_replica(m, b, 0)); /* duplicate */
	ck_assert_uint_eq(b->nrep, 1);
	/* past the initial capacity of the replica array */
	for (uint32_t dn = 1; dn < 20; dn++)
		ck_assert(nn_block_add_replica(m, b, dn));
	ck_assert_uint_eq(b->nrep, 20);
	ck_assert(!nn_block_add_replica(m, b, 13));
	ck_assert_uint_eq(b->nrep, 20);
	for (uint32_t dn = 0; dn < 20; dn++)
		ck_assert(nn_block_has_replica(b, dn));
	ck_assert(!nn_block_has_replica(b, 20));

	ck_assert(nn_block_remove_replica(m, b, 5));
	ck_assert(!nn_block_remove_replica(m, b, 5));
	ck_assert(!nn_block_remove_replica(m, b, 100));
	ck_assert_uint_eq(b->nrep, 19);
	ck_assert(!nn_block_has_replica(b, 5));
	for (uint32_t dn = 0; dn < 20; dn++)
		if (dn != 5)
			ck_assert_msg(nn_block_has_replica(b, dn), "lost replica %u", dn);
	/* removing the last one too */
	ck_assert(nn_block_remove_replica(m, b, 19));
	ck_assert(!nn_block_has_replica(b, 19));
	ck_assert(nn_block_has_replica(b, 18));
	/* and re-adding */
	ck_assert(nn_block_add_replica(m, b, 5));
	ck_assert(nn_block_has_replica(b, 5));
	ck_assert_uint_eq(b->nrep, 19);
	nn_blockmap_free(m);
}
END_TEST

#define NSEQ 5000
#define NRND 5000
#define NALL (NSEQ + NRND)

START_TEST(test_remove_clusters)
{
	struct nn_blockmap *m = nn_blockmap_new();
	uint64_t *ids = malloc(NALL * sizeof *ids);
	ck_assert_ptr_nonnull(ids);
	rng_state = 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < NSEQ; i++)
		ids[i] = i + 1;
	for (size_t i = NSEQ; i < NALL; i++) {
		uint64_t id;
		do
			id = rng_next();
		while (id <= NSEQ); /* distinct from the sequential ones (and from 0) */
		ids[i] = id;
	}
	/* the random ones must be distinct too: check, they are the test's assumption */
	uint64_t *sorted = malloc(NALL * sizeof *sorted);
	ck_assert_ptr_nonnull(sorted);
	memcpy(sorted, ids, NALL * sizeof *ids);
	qsort(sorted, NALL, sizeof *sorted, cmp_u64);
	for (size_t i = 1; i < NALL; i++)
		ck_assert_uint_ne(sorted[i], sorted[i - 1]);
	free(sorted);

	for (size_t i = 0; i < NALL; i++) {
		struct nn_block *b = nn_blockmap_put(m, ids[i], ids[i] ^ 1, i, i, 3);
		/* replicas so that removal frees them and shifts must carry them */
		ck_assert(nn_block_add_replica(m, b, (uint32_t)(i % 7)));
		ck_assert(nn_block_add_replica(m, b, (uint32_t)(i % 7) + 100));
	}
	ck_assert_uint_eq(nn_blockmap_count(m), NALL);
	for (size_t i = 0; i < NALL; i++) {
		struct nn_block *b = nn_blockmap_get(m, ids[i]);
		ck_assert_msg(b != NULL, "id %llu missing after insert",
			      (unsigned long long)ids[i]);
		ck_assert_uint_eq(b->len, i);
	}

	/* shuffle, then remove the first half in that random order */
	for (size_t i = NALL - 1; i > 0; i--) {
		size_t j = (size_t)(rng_next() % (i + 1));
		uint64_t t = ids[i];
		ids[i] = ids[j];
		ids[j] = t;
	}
	for (size_t i = 0; i < NALL / 2; i++) {
		nn_blockmap_remove(m, ids[i]);
		ck_assert_uint_eq(nn_blockmap_count(m), NALL - i - 1);
		/* spot-check along the way that the shift never hides a survivor */
		if (i % 97 == 0)
			for (size_t k = NALL / 2; k < NALL; k++)
				ck_assert_msg(nn_blockmap_get(m, ids[k]) != NULL,
					      "id %llu lost after %zu removals",
					      (unsigned long long)ids[k], i + 1);
	}
	for (size_t i = 0; i < NALL / 2; i++)
		ck_assert_msg(nn_blockmap_get(m, ids[i]) == NULL, "removed id %llu still found",
			      (unsigned long long)ids[i]);
	for (size_t i = NALL / 2; i < NALL; i++) {
		struct nn_block *b = nn_blockmap_get(m, ids[i]);
		ck_assert_msg(b != NULL, "id %llu lost", (unsigned long long)ids[i]);
		ck_assert_uint_eq(b->id, ids[i]);
		ck_assert_uint_eq(b->gs, ids[i] ^ 1);
		ck_assert_uint_eq(b->nrep, 2);
		uint32_t r = (uint32_t)(b->len % 7);
		ck_assert(nn_block_has_replica(b, r));
		ck_assert(nn_block_has_replica(b, r + 100));
	}

	/* each visits every survivor exactly once */
	struct visit v = {malloc(NALL * sizeof(uint64_t)), 0, NALL, 0};
	ck_assert_ptr_nonnull(v.ids);
	nn_blockmap_each(m, visit_cb, &v);
	ck_assert_uint_eq(v.n, NALL / 2);
	qsort(v.ids, v.n, sizeof *v.ids, cmp_u64);
	qsort(ids + NALL / 2, NALL / 2, sizeof *ids, cmp_u64);
	for (size_t i = 0; i < v.n; i++)
		ck_assert_uint_eq(v.ids[i], ids[NALL / 2 + i]);
	free(v.ids);

	/* re-inserting removed ids works and they start with no replicas */
	for (size_t i = 0; i < 100; i++) {
		struct nn_block *b = nn_blockmap_put(m, ids[i], 1, 1, 1, 1);
		ck_assert_uint_eq(b->nrep, 0);
	}
	ck_assert_uint_eq(nn_blockmap_count(m), NALL / 2 + 100);
	free(ids);
	nn_blockmap_free(m); /* no double free of moved replica arrays (see the asan build) */
}
END_TEST

/* Ids that all land in one cluster of a fresh map (cap 1024): sequential ids packed
 * densely; remove from the middle and the front and every other must stay findable. */
START_TEST(test_remove_middle_of_cluster)
{
	struct nn_blockmap *m = nn_blockmap_new();
	/* 700 ids in a 1024-slot table make long clusters (no growth below 768) */
	for (uint64_t id = 1; id <= 700; id++)
		nn_block_add_replica(m, nn_blockmap_put(m, id, 0, 0, 0, 1), (uint32_t)id);
	for (uint64_t id = 1; id <= 700; id += 3)
		nn_blockmap_remove(m, id);
	for (uint64_t id = 1; id <= 700; id++) {
		struct nn_block *b = nn_blockmap_get(m, id);
		if ((id - 1) % 3 == 0) {
			ck_assert_msg(b == NULL, "removed %llu found", (unsigned long long)id);
		} else {
			ck_assert_msg(b != NULL, "id %llu lost", (unsigned long long)id);
			ck_assert(nn_block_has_replica(b, (uint32_t)id));
		}
	}
	ck_assert_uint_eq(nn_blockmap_count(m), 700 - 234);
	nn_blockmap_free(m);
}
END_TEST

START_TEST(test_each_once)
{
	struct nn_blockmap *m = nn_blockmap_new();
	ck_assert_uint_eq(nn_blockmap_count(m), 0);
	struct visit v = {malloc(3000 * sizeof(uint64_t)), 0, 3000, 0};
	ck_assert_ptr_nonnull(v.ids);
	nn_blockmap_each(m, visit_cb, &v);
	ck_assert_uint_eq(v.n, 0);
	/* enough to grow twice */
	uint64_t want = 0;
	for (uint64_t id = 1; id <= 2000; id++) {
		nn_blockmap_put(m, id * 1000003ULL, 0, id, 0, 1);
		want += id;
	}
	nn_blockmap_each(m, visit_cb, &v);
	ck_assert_uint_eq(v.n, 2000);
	ck_assert_uint_eq(v.sum_len, want);
	qsort(v.ids, v.n, sizeof *v.ids, cmp_u64);
	for (size_t i = 0; i < v.n; i++)
		ck_assert_uint_eq(v.ids[i], (i + 1) * 1000003ULL);
	free(v.ids);
	nn_blockmap_free(m);
}
END_TEST

START_TEST(test_free_after_removes)
{
	nn_blockmap_free(NULL);
	struct nn_blockmap *m = nn_blockmap_new();
	for (uint64_t id = 1; id <= 2000; id++) {
		struct nn_block *b = nn_blockmap_put(m, id * 7919, 0, 0, 0, 1);
		for (uint32_t r = 0; r < 5; r++)
			nn_block_add_replica(m, b, r);
	}
	for (uint64_t id = 1; id <= 2000; id += 2)
		nn_blockmap_remove(m, id * 7919);
	ck_assert_uint_eq(nn_blockmap_count(m), 1000);
	for (uint64_t id = 2; id <= 2000; id += 2)
		ck_assert_uint_eq(nn_blockmap_get(m, id * 7919)->nrep, 5);
	nn_blockmap_free(m);
}
END_TEST

int main(void)
{
	log_set_level(LOG_WARN);
	return UNIT_MAIN("blockmap",
		{"core", .timeout = 60, .tests = UNIT_TESTS(
			test_put_get_count, test_update_keeps_replicas, test_replicas,
			test_remove_clusters, test_remove_middle_of_cluster, test_each_once,
			test_free_after_removes, test_node_counts)});
}
