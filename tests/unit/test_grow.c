/* Unit tests for common/grow (ALLOC_GROW). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "grow.h"
#include "unit.h"

START_TEST(test_append_keeps_contents)
{
	uint64_t *v = NULL;
	uint32_t n = 0, cap = 0;
	for (uint64_t i = 0; i < 10000; i++) {
		ck_assert_int_eq(ALLOC_GROW(v, n + 1, cap), 0);
		ck_assert_uint_ge(cap, n + 1);
		v[n++] = i * 7;
	}
	for (uint32_t i = 0; i < n; i++)
		ck_assert_uint_eq(v[i], (uint64_t)i * 7);
	/* doubling: about log2(10000) reallocations, so cap < 2 * n */
	ck_assert_uint_lt(cap, 2 * n);
	free(v);
}
END_TEST

START_TEST(test_no_growth_when_room)
{
	int *v = NULL;
	size_t cap = 0;
	ck_assert_int_eq(ALLOC_GROW(v, 3, cap), 0);
	ck_assert_uint_eq(cap, 4); /* the smallest capacity */
	int *before = v;
	ck_assert_int_eq(ALLOC_GROW(v, 4, cap), 0);
	ck_assert_ptr_eq(v, before);
	ck_assert_uint_eq(cap, 4);
	ck_assert_int_eq(ALLOC_GROW(v, 100, cap), 0); /* a jump: at least what is needed */
	ck_assert_uint_ge(cap, 100);
	free(v);
}
END_TEST

START_TEST(test_overflow_leaves_array)
{
	/* a uint16_t capacity never wraps: past 32767 it refuses */
	char *v = NULL;
	uint16_t cap = 0;
	ck_assert_int_eq(ALLOC_GROW(v, 30000, cap), 0);
	v[0] = 'x';
	char *before = v;
	ck_assert_int_eq(ALLOC_GROW(v, 40000, cap), -ENOMEM);
	ck_assert_ptr_eq(v, before);
	ck_assert_uint_ge(cap, 30000);
	ck_assert_int_eq(v[0], 'x');
	free(v);
	/* elements so big that the byte count would overflow size_t */
	struct big {
		char b[1 << 20];
	} *w = NULL;
	size_t wcap = 0;
	ck_assert_int_eq(ALLOC_GROW(w, SIZE_MAX / 1024, wcap), -ENOMEM);
	ck_assert_ptr_null(w);
	ck_assert_uint_eq(wcap, 0);
	ck_assert_uint_eq(grow_capacity(0, SIZE_MAX, 2, sizeof(size_t)), 0);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("grow",
		{"grow", .tests = UNIT_TESTS(
			test_append_keeps_contents, test_no_growth_when_room,
			test_overflow_leaves_array)});
}
