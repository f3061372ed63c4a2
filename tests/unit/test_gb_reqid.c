/* Tests for lib/gb_reqid.c: request ids and W3C trace context. */
#include "config.h"

#include "gb_reqid.h"
#include "gb_test.h"

#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define PARENT "00f067aa0ba902b7"

/* ---- gb_reqid_valid --------------------------------------------------- */

static const struct {
	const char *id;
	bool valid;
} id_cases[] = {
	{ "a", true },
	{ "Z", true },
	{ "0", true },
	{ "abc-DEF_123.x", true },
	{ "...", true },
	{ "-", true },
	{ "4bf92f3577b34da6a3ce929d0e0e4736", true },
	{ "", false },
	{ "a b", false },
	{ " a", false },
	{ "a ", false },
	{ "a/b", false },
	{ "a+b", false },
	{ "a:b", false },
	{ "a=b", false },
	{ "a\"b", false },
	{ "a\nb", false },
	{ "a\tb", false },
	{ "\xc3\xa9", false },
	{ "a\xff", false },
	{ "{id}", false },
	{ "a%20b", false },
};

START_TEST(test_valid)
{
	ck_assert_msg(gb_reqid_valid(id_cases[_i].id) == id_cases[_i].valid,
	              "\"%s\"", id_cases[_i].id);
}
END_TEST

START_TEST(test_valid_length)
{
	char *s = t_repeat('x', 65);

	ck_assert(!gb_reqid_valid(s));       /* 65 */
	s[64] = '\0';
	ck_assert(gb_reqid_valid(s));        /* 64 */
	s[63] = '!';
	ck_assert(!gb_reqid_valid(s));
	free(s);
	s = t_repeat('y', 100000);
	ck_assert(!gb_reqid_valid(s));
	free(s);
}
END_TEST

/* ---- gb_reqid_new / gb_random_bytes ----------------------------------- */

static int
cmp_str(const void *x, const void *y)
{
	return strcmp((const char *)x, (const char *)y);
}

START_TEST(test_new_format_unique)
{
	enum { N = 2000 };
	static char ids[N][33];
	int i;

	for (i = 0; i < N; i++) {
		memset(ids[i], 'X', 33);
		gb_reqid_new(ids[i]);
		ck_assert_msg(t_is_lower_hex(ids[i], 32), "%s", ids[i]);
		ck_assert(gb_reqid_valid(ids[i]));
	}
	qsort(ids, N, sizeof(ids[0]), cmp_str);
	for (i = 1; i < N; i++)
		ck_assert_str_ne(ids[i - 1], ids[i]);
	gb_reqid_thread_end();
	gb_reqid_new(ids[0]);
	ck_assert(t_is_lower_hex(ids[0], 32));
}
END_TEST

START_TEST(test_random_bytes)
{
	unsigned char x[1000], y[1000], zero[1000] = { 0 };
	unsigned char guard[4] = { 0xaa, 0xaa, 0xaa, 0xaa };

	gb_random_bytes(x, sizeof(x));      /* spans several pool refills */
	gb_random_bytes(y, sizeof(y));
	ck_assert(memcmp(x, zero, sizeof(x)) != 0);
	ck_assert(memcmp(x, y, sizeof(x)) != 0);
	gb_random_bytes(guard, 0);
	ck_assert_uint_eq(guard[0], 0xaa);
	gb_random_bytes(guard, 1);
	ck_assert_uint_eq(guard[1], 0xaa);
}
END_TEST

/* ---- gb_traceparent_parse --------------------------------------------- */

static const struct {
	const char *tp;
	bool valid;
	unsigned flags;
} tp_cases[] = {
	{ "00-" TRACE "-" PARENT "-01", true, 1 },
	{ "00-" TRACE "-" PARENT "-00", true, 0 },
	{ "00-" TRACE "-" PARENT "-ff", true, 255 },
	{ "00-" TRACE "-" PARENT "-09", true, 9 },
	/* a later version: the first 55 characters, more fields after '-' */
	{ "01-" TRACE "-" PARENT "-01", true, 1 },
	{ "cc-" TRACE "-" PARENT "-01", true, 1 },
	{ "cc-" TRACE "-" PARENT "-01-what-the-future-will-be-like", true, 1 },
	{ "fe-" TRACE "-" PARENT "-02-", true, 2 },
	{ "cc-" TRACE "-" PARENT "-01x", false, 0 },
	{ "cc-" TRACE "-" PARENT "-01.x", false, 0 },
	/* version 00 is exactly 55 characters */
	{ "00-" TRACE "-" PARENT "-01-", false, 0 },
	{ "00-" TRACE "-" PARENT "-01-extra", false, 0 },
	{ "00-" TRACE "-" PARENT "-01x", false, 0 },
	{ "00-" TRACE "-" PARENT "-01 ", false, 0 },
	{ "00-" TRACE "-" PARENT "-1", false, 0 },
	/* version ff is invalid */
	{ "ff-" TRACE "-" PARENT "-01", false, 0 },
	{ "ff-" TRACE "-" PARENT "-01-x", false, 0 },
	/* all-zero ids */
	{ "00-00000000000000000000000000000000-" PARENT "-01", false, 0 },
	{ "00-" TRACE "-0000000000000000-01", false, 0 },
	{ "01-00000000000000000000000000000000-" PARENT "-01", false, 0 },
	/* uppercase hex anywhere */
	{ "00-4BF92F3577B34DA6A3CE929D0E0E4736-" PARENT "-01", false, 0 },
	{ "00-" TRACE "-00F067AA0BA902B7-01", false, 0 },
	{ "00-" TRACE "-" PARENT "-0A", false, 0 },
	{ "0A-" TRACE "-" PARENT "-01", false, 0 },
	/* non-hex, wrong shape */
	{ "00-4bf92f3577b34da6a3ce929d0e0e473g-" PARENT "-01", false, 0 },
	{ "00-" TRACE "-00f067aa0ba902bz-01", false, 0 },
	{ "00-" TRACE "-" PARENT "-0g", false, 0 },
	{ "00-" TRACE "-" PARENT "-g0", false, 0 },
	{ "0g-" TRACE "-" PARENT "-01", false, 0 },
	{ "00_" TRACE "-" PARENT "-01", false, 0 },
	{ "00-" TRACE "_" PARENT "-01", false, 0 },
	{ "00-" TRACE "-" PARENT "_01", false, 0 },
	{ "00-4bf92f3577b34da6a3ce929d0e0e473-" PARENT "0-01", false, 0 },
	{ "00-" TRACE "-" PARENT "-", false, 0 },
	{ "00-" TRACE "-" PARENT, false, 0 },
	{ " 00-" TRACE "-" PARENT "-01", false, 0 },
	{ "00-" TRACE "-" PARENT "-+1", false, 0 },
	{ "00-" TRACE "-" PARENT "- 1", false, 0 },
	{ "", false, 0 },
	{ "00", false, 0 },
	{ "garbage", false, 0 },
};

START_TEST(test_traceparent)
{
	struct gb_trace t, before;
	bool ok;

	memset(&t, 0x5a, sizeof(t));
	before = t;
	ok = gb_traceparent_parse(tp_cases[_i].tp, &t);
	ck_assert_msg(ok == tp_cases[_i].valid, "%s", tp_cases[_i].tp);
	if (!ok) {
		ck_assert_mem_eq(&t, &before, sizeof(t));
		return;
	}
	ck_assert_str_eq(t.trace_id, TRACE);
	ck_assert_str_eq(t.parent_id, PARENT);
	ck_assert_uint_eq(t.flags, tp_cases[_i].flags);
}
END_TEST

START_TEST(test_traceparent_long_future)
{
	/* a later version may carry long extra fields */
	char *s = t_repeat('a', 2000);
	struct gb_trace t;

	memcpy(s, "cc-" TRACE "-" PARENT "-01-", 56);
	ck_assert(gb_traceparent_parse(s, &t));
	ck_assert_str_eq(t.trace_id, TRACE);
	free(s);
}
END_TEST

/* ---- gb_trace_start / gb_traceparent_format --------------------------- */

START_TEST(test_trace_continue)
{
	struct gb_trace t, u;

	gb_trace_start(&t, "00-" TRACE "-" PARENT "-01");
	ck_assert_str_eq(t.trace_id, TRACE);
	ck_assert_str_eq(t.parent_id, PARENT);
	ck_assert_uint_eq(t.flags, 1);
	ck_assert(t_is_lower_hex(t.span_id, 16));
	ck_assert_str_ne(t.span_id, PARENT);
	ck_assert_str_ne(t.span_id, "0000000000000000");
	gb_trace_start(&u, "00-" TRACE "-" PARENT "-01");
	ck_assert_str_eq(u.trace_id, TRACE);
	ck_assert_str_ne(u.span_id, t.span_id);      /* a new span each time */
}
END_TEST

START_TEST(test_trace_new)
{
	static const char *const incoming[] = {
		NULL, "", "garbage", "ff-" TRACE "-" PARENT "-01",
		"00-00000000000000000000000000000000-" PARENT "-01",
	};
	struct gb_trace t, u;
	size_t i;

	for (i = 0; i < NELEM(incoming); i++) {
		memset(&t, 0x5a, sizeof(t));
		t.parent_id[16] = '\0';
		gb_trace_start(&t, incoming[i]);
		ck_assert(t_is_lower_hex(t.trace_id, 32));
		ck_assert_str_ne(t.trace_id, "00000000000000000000000000000000");
		ck_assert_str_ne(t.trace_id, TRACE);
		ck_assert_str_eq(t.parent_id, "");
		ck_assert(t_is_lower_hex(t.span_id, 16));
		ck_assert_uint_eq(t.flags, 0);
		gb_trace_start(&u, incoming[i]);
		ck_assert_str_ne(u.trace_id, t.trace_id);
	}
}
END_TEST

START_TEST(test_format)
{
	struct gb_trace t, back;
	char out[56];

	memset(&t, 0, sizeof(t));
	strcpy(t.trace_id, TRACE);
	strcpy(t.span_id, PARENT);
	strcpy(t.parent_id, "1111111111111111");
	t.flags = 1;
	memset(out, 'X', sizeof(out));
	gb_traceparent_format(&t, out);
	ck_assert_str_eq(out, "00-" TRACE "-" PARENT "-01");
	t.flags = 0xab;
	gb_traceparent_format(&t, out);
	ck_assert_str_eq(out, "00-" TRACE "-" PARENT "-ab");

	/* round trip: our span becomes the next hop's parent */
	gb_trace_start(&t, NULL);
	t.flags = 3;
	gb_traceparent_format(&t, out);
	ck_assert_uint_eq(strlen(out), 55);
	ck_assert(gb_traceparent_parse(out, &back));
	ck_assert_str_eq(back.trace_id, t.trace_id);
	ck_assert_str_eq(back.parent_id, t.span_id);
	ck_assert_uint_eq(back.flags, 3);
}
END_TEST

static Suite *
reqid_suite(void)
{
	Suite *s = suite_create("gb_reqid");
	TCase *ti = tcase_create("reqid");
	TCase *tt = tcase_create("trace");

	tcase_add_loop_test(ti, test_valid, 0, (int)NELEM(id_cases));
	tcase_add_test(ti, test_valid_length);
	tcase_add_test(ti, test_new_format_unique);
	tcase_add_test(ti, test_random_bytes);
	suite_add_tcase(s, ti);
	tcase_add_loop_test(tt, test_traceparent, 0, (int)NELEM(tp_cases));
	tcase_add_test(tt, test_traceparent_long_future);
	tcase_add_test(tt, test_trace_continue);
	tcase_add_test(tt, test_trace_new);
	tcase_add_test(tt, test_format);
	suite_add_tcase(s, tt);
	return s;
}

GB_TEST_MAIN(reqid_suite)
