/* Tests for lib/gb_err.c: every error has a text and a status. */
#include "config.h"

#include "gb_err.h"
#include "gb_test.h"

static const struct {
	enum gb_err err;
	int status;
	const char *text;
} cases[] = {
	{ GB_OK, 200, "success" },
	{ GB_ENOMEM, 500, "out of memory" },
	{ GB_EINVAL, 400, "malformed input" },
	{ GB_ERANGE, 400, "value out of range" },
	{ GB_ETOOBIG, 413, "input too large" },
	{ GB_EMEDIA, 415, "unsupported media type" },
	{ GB_ENOTFOUND, 404, "not found" },
	{ GB_EMETHOD, 405, "method not allowed" },
	{ GB_EIO, 500, "input/output error" },
	{ GB_ETIMEOUT, 504, "timed out" },
	{ GB_EDB, 503, "database unavailable" },
	{ GB_EREDIS, 503, "redis unavailable" },
	{ GB_ECONFIG, 500, "invalid configuration" },
	{ GB_ESYS, 500, "system error" },
	{ GB_EUNAUTH, 401, "unauthenticated" },
	{ GB_EFORBIDDEN, 403, "forbidden" },
	{ GB_ECONFLICT, 409, "conflict" },
	{ GB_EVALIDATION, 422, "invalid values" },
	{ GB_ELIMIT, 429, "rate limit reached" },
};

START_TEST(test_table_covers_enum)
{
	/* A new enum value must be added to the table above (and gb_err.c). */
	ck_assert_uint_eq(NELEM(cases), GB_ERR_MAX);
}
END_TEST

START_TEST(test_each)
{
	ck_assert_int_eq(cases[_i].err, _i);
	ck_assert_str_eq(gb_strerror(cases[_i].err), cases[_i].text);
	ck_assert_int_eq(gb_err_status(cases[_i].err), cases[_i].status);
}
END_TEST

START_TEST(test_every_value_distinct_text)
{
	int i, j;

	for (i = 0; i < GB_ERR_MAX; i++) {
		const char *t = gb_strerror((enum gb_err)i);

		ck_assert_ptr_nonnull(t);
		ck_assert_uint_gt(strlen(t), 0);
		ck_assert_str_ne(t, "unknown error");
		for (j = 0; j < i; j++)
			ck_assert_str_ne(t, gb_strerror((enum gb_err)j));
	}
}
END_TEST

START_TEST(test_out_of_range)
{
	static const int bad[] = { GB_ERR_MAX, GB_ERR_MAX + 1, 1000, -1, -1000 };
	size_t i;

	for (i = 0; i < NELEM(bad); i++) {
		ck_assert_str_eq(gb_strerror((enum gb_err)bad[i]), "unknown error");
		ck_assert_int_eq(gb_err_status((enum gb_err)bad[i]), 500);
	}
}
END_TEST

START_TEST(test_show)
{
	char d[16];

	gb_show(d, sizeof(d), "abc", 3, 10);
	ck_assert_str_eq(d, "abc");
	gb_show(d, sizeof(d), "a\nb\x01" "c\xff", 6, 10);
	ck_assert_str_eq(d, "a?b?c?");
	gb_show(d, sizeof(d), "abcdefghij", 10, 4);
	ck_assert_str_eq(d, "abcd...");
	gb_show(d, sizeof(d), "a\0b", 3, 10);             /* a NUL is a byte too */
	ck_assert_str_eq(d, "a?b");
	gb_show(d, 4, "abcdefgh", 8, 10);                  /* the buffer cuts */
	ck_assert_str_eq(d, "abc");
	gb_show(d, sizeof(d), "", 0, 10);
	ck_assert_str_eq(d, "");
	d[0] = 'x';
	gb_show(d, 0, "abc", 3, 10);                       /* nothing written */
	ck_assert_int_eq(d[0], 'x');
}
END_TEST

static Suite *
err_suite(void)
{
	Suite *s = suite_create("gb_err");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_table_covers_enum);
	tcase_add_test(tc, test_show);
	tcase_add_loop_test(tc, test_each, 0, (int)NELEM(cases));
	tcase_add_test(tc, test_every_value_distinct_text);
	tcase_add_test(tc, test_out_of_range);
	suite_add_tcase(s, tc);
	return s;
}

GB_TEST_MAIN(err_suite)
