/* Tests for lib/gb_arena.c: per-request memory. */
#include "config.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "gb_arena.h"
#include "gb_test.h"

#define BLOCK 4096

static struct gb_arena *a;

static void
setup(void)
{
	a = gb_arena_new(BLOCK);
	ck_assert_ptr_nonnull(a);
}

static void
teardown(void)
{
	gb_arena_free(a);
	a = NULL;
}

START_TEST(test_new_footprint)
{
	ck_assert_uint_eq(gb_arena_footprint(a), BLOCK);
}
END_TEST

START_TEST(test_alignment)
{
	size_t size;

	for (size = 0; size <= 200; size++) {
		unsigned char *p = gb_arena_alloc(a, size);

		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t)p % alignof(max_align_t), 0);
		memset(p, 0xa5, size);
	}
}
END_TEST

START_TEST(test_distinct)
{
	char *p[100];
	int i, j;

	for (i = 0; i < 100; i++) {
		p[i] = gb_arena_alloc(a, 37);
		ck_assert_ptr_nonnull(p[i]);
		memset(p[i], i, 37);
	}
	for (i = 0; i < 100; i++)
		for (j = 0; j < 37; j++)
			ck_assert_int_eq(p[i][j], i);
}
END_TEST

START_TEST(test_large_allocation)
{
	size_t big = BLOCK * 10 + 3;
	unsigned char *p = gb_arena_alloc(a, big);
	char *q;

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq((uintptr_t)p % alignof(max_align_t), 0);
	memset(p, 1, big);
	ck_assert_uint_ge(gb_arena_footprint(a), BLOCK + big);
	/* small allocations still work after a large one */
	q = gb_arena_strdup(a, "after");
	ck_assert_str_eq(q, "after");
	ck_assert_uint_eq(p[big - 1], 1);
}
END_TEST

START_TEST(test_reset_keeps_one_block)
{
	size_t before = gb_arena_footprint(a);
	void *first, *again;
	int i, round;

	for (round = 0; round < 3; round++) {
		first = gb_arena_alloc(a, 16);
		ck_assert_ptr_nonnull(first);
		for (i = 0; i < 1000; i++)
			ck_assert_ptr_nonnull(gb_arena_alloc(a, 100));
		ck_assert_ptr_nonnull(gb_arena_alloc(a, 1 << 20));
		ck_assert_uint_gt(gb_arena_footprint(a), before);
		gb_arena_reset(a);
		ck_assert_uint_eq(gb_arena_footprint(a), before);
		/* the first block is reused: the same address comes back */
		again = gb_arena_alloc(a, 16);
		ck_assert_ptr_eq(again, first);
		ck_assert_uint_eq(gb_arena_footprint(a), before);
		gb_arena_reset(a);
	}
}
END_TEST

START_TEST(test_small_block_size)
{
	struct gb_arena *s = gb_arena_new(0);
	int i;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < 100; i++)
		ck_assert_ptr_nonnull(gb_arena_alloc(s, 50));
	gb_arena_reset(s);
	ck_assert_uint_gt(gb_arena_footprint(s), 0);
	gb_arena_free(s);
	gb_arena_free(NULL);
}
END_TEST

START_TEST(test_overflow)
{
	size_t before = gb_arena_footprint(a);

	ck_assert_ptr_null(gb_arena_alloc(a, SIZE_MAX));
	ck_assert_ptr_null(gb_arena_alloc(a, SIZE_MAX - 8));
	/* rounds up to a size the block header no longer fits beside */
	ck_assert_ptr_null(gb_arena_alloc(a, SIZE_MAX - 16));
	ck_assert_ptr_null(gb_arena_calloc(a, SIZE_MAX / 2, 4));
	ck_assert_ptr_null(gb_arena_calloc(a, 4, SIZE_MAX / 2));
	ck_assert_ptr_null(gb_arena_strndup(a, "x", SIZE_MAX));
	ck_assert_uint_eq(gb_arena_footprint(a), before);
	/* still usable */
	ck_assert_str_eq(gb_arena_strdup(a, "ok"), "ok");
}
END_TEST

START_TEST(test_calloc_zeroes)
{
	unsigned char *p = gb_arena_alloc(a, 64), *q;
	size_t i;

	memset(p, 0xff, 64);
	gb_arena_reset(a);
	q = gb_arena_calloc(a, 8, 8);
	ck_assert_ptr_eq(q, p);
	for (i = 0; i < 64; i++)
		ck_assert_uint_eq(q[i], 0);
	ck_assert_ptr_nonnull(gb_arena_calloc(a, 0, 8));
}
END_TEST

START_TEST(test_strings)
{
	static const char src[] = "abcdef";
	char *s;

	s = gb_arena_strdup(a, "hello");
	ck_assert_str_eq(s, "hello");
	ck_assert_ptr_ne(s, "hello");
	ck_assert_str_eq(gb_arena_strdup(a, ""), "");
	ck_assert_ptr_null(gb_arena_strdup(a, NULL));
	ck_assert_ptr_null(gb_arena_strndup(a, NULL, 3));
	ck_assert_str_eq(gb_arena_strndup(a, src, 3), "abc");
	ck_assert_str_eq(gb_arena_strndup(a, src, 0), "");
	ck_assert_str_eq(gb_arena_strndup(a, src, 6), "abcdef");
}
END_TEST

START_TEST(test_cat)
{
	char big[5000];

	ck_assert_str_eq(gb_arena_cat(a, NULL), "");
	ck_assert_str_eq(gb_arena_cat(a, "abc", NULL), "abc");
	ck_assert_str_eq(gb_arena_cat(a, "/p", "?", "q=1", "", NULL), "/p?q=1");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_uint_eq(strlen(gb_arena_cat(a, big, "-", big, NULL)), 2 * (sizeof(big) - 1) + 1);
}
END_TEST

START_TEST(test_strndup_stops_at_nul)
{
	/* Like strndup(3): at most n bytes, never past the string's end
	 * (ASan reports the over-read when it is not so). */
	char *heap = strdup("ab");
	char *s;

	ck_assert_ptr_nonnull(heap);
	s = gb_arena_strndup(a, heap, 100);
	ck_assert_str_eq(s, "ab");
	free(heap);
}
END_TEST

START_TEST(test_printf)
{
	char *s = gb_arena_printf(a, "%s-%d-%c", "x", 42, 'z');
	char *big;
	size_t i;

	ck_assert_str_eq(s, "x-42-z");
	ck_assert_str_eq(gb_arena_printf(a, "%s", ""), "");
	big = gb_arena_printf(a, "%*s|", BLOCK * 3, "y");
	ck_assert_ptr_nonnull(big);
	ck_assert_uint_eq(strlen(big), BLOCK * 3 + 1);
	for (i = 0; i < BLOCK * 3 - 1; i++)
		ck_assert_int_eq(big[i], ' ');
	ck_assert_str_eq(big + BLOCK * 3 - 1, "y|");
	ck_assert_str_eq(s, "x-42-z");
}
END_TEST

static Suite *
arena_suite(void)
{
	Suite *s = suite_create("gb_arena");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_new_footprint);
	tcase_add_test(tc, test_alignment);
	tcase_add_test(tc, test_distinct);
	tcase_add_test(tc, test_large_allocation);
	tcase_add_test(tc, test_reset_keeps_one_block);
	tcase_add_test(tc, test_small_block_size);
	tcase_add_test(tc, test_overflow);
	tcase_add_test(tc, test_calloc_zeroes);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_cat);
	tcase_add_test(tc, test_strndup_stops_at_nul);
	tcase_add_test(tc, test_printf);
	suite_add_tcase(s, tc);
	return s;
}

GB_TEST_MAIN(arena_suite)
