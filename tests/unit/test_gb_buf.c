/* Tests for lib/gb_buf.c: the growable buffer and its JSON string writer. */
#include "config.h"

#include <jansson.h>

#include "gb_buf.h"
#include "gb_test.h"

START_TEST(test_init_empty)
{
	struct gb_buf b = GB_BUF_INIT;

	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert(!gb_buf_failed(&b));
	gb_buf_init(&b, 7);
	ck_assert_uint_eq(b.max, 7);
	ck_assert_ptr_null(b.data);
	gb_buf_free(&b);
}
END_TEST

START_TEST(test_appends)
{
	struct gb_buf b;

	gb_buf_init(&b, 0);
	ck_assert_int_eq(gb_buf_append(&b, "ab", 2), 0);
	ck_assert_int_eq(gb_buf_puts(&b, "cd"), 0);
	ck_assert_int_eq(gb_buf_putc(&b, 'e'), 0);
	ck_assert_int_eq(gb_buf_append(&b, "XYZ", 0), 0);
	ck_assert_int_eq(gb_buf_append(&b, "\0f", 2), 0);
	ck_assert_uint_eq(b.len, 7);
	ck_assert_mem_eq(b.data, "abcde\0f", 8);   /* NUL-terminated */
	ck_assert(!gb_buf_failed(&b));
	gb_buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(test_empty_append_terminates)
{
	struct gb_buf b;

	gb_buf_init(&b, 0);
	ck_assert_int_eq(gb_buf_append(&b, NULL, 0), 0);
	ck_assert_ptr_nonnull(b.data);
	ck_assert_str_eq(b.data, "");
	gb_buf_free(&b);
}
END_TEST

START_TEST(test_growth)
{
	struct gb_buf b;
	size_t i;

	gb_buf_init(&b, 0);
	for (i = 0; i < 100000; i++)
		ck_assert_int_eq(gb_buf_putc(&b, (char)('a' + i % 26)), 0);
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_uint_gt(b.cap, b.len);
	for (i = 0; i < 100000; i++)
		ck_assert_int_eq(b.data[i], 'a' + (int)(i % 26));
	ck_assert_int_eq(b.data[b.len], '\0');
	gb_buf_free(&b);
}
END_TEST

START_TEST(test_printf)
{
	struct gb_buf b;
	char *expect;

	gb_buf_init(&b, 0);
	ck_assert_int_eq(gb_buf_printf(&b, "%d-%s", 42, "x"), 0);
	ck_assert_int_eq(gb_buf_printf(&b, "%s", ""), 0);
	ck_assert_int_eq(gb_buf_printf(&b, "|%05.1f", 2.5), 0);
	ck_assert_str_eq(b.data, "42-x|002.5");
	ck_assert_uint_eq(b.len, 10);
	gb_buf_reset(&b);
	expect = t_repeat('q', 5000);
	ck_assert_int_eq(gb_buf_printf(&b, "%s", expect), 0);
	ck_assert_str_eq(b.data, expect);
	ck_assert_uint_eq(b.len, 5000);
	free(expect);
	gb_buf_free(&b);
}
END_TEST

START_TEST(test_max_limit)
{
	struct gb_buf b;
	char *cap;

	gb_buf_init(&b, 10);
	ck_assert_int_eq(gb_buf_puts(&b, "hello"), 0);
	ck_assert_int_eq(gb_buf_puts(&b, "world!"), -1);     /* 11 > 10 */
	ck_assert(gb_buf_failed(&b));
	ck_assert_str_eq(b.data, "hello");
	ck_assert_uint_eq(b.len, 5);
	/* later appends that fit still work; failed stays set */
	ck_assert_int_eq(gb_buf_puts(&b, "world"), 0);     /* exactly 10 */
	ck_assert_str_eq(b.data, "helloworld");
	ck_assert(gb_buf_failed(&b));
	ck_assert_int_eq(gb_buf_putc(&b, 'x'), -1);
	ck_assert_int_eq(gb_buf_printf(&b, "%d", 1), -1);
	ck_assert_int_eq(gb_buf_json_str(&b, "", 0), -1);
	ck_assert_int_eq(gb_buf_reserve(&b, 1), -1);
	ck_assert_str_eq(b.data, "helloworld");
	ck_assert_uint_eq(b.len, 10);
	gb_buf_reset(&b);
	ck_assert(!gb_buf_failed(&b));
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.data, "");
	ck_assert_int_eq(gb_buf_printf(&b, "%s", "0123456789"), 0);
	ck_assert(!gb_buf_failed(&b));
	ck_assert_int_eq(gb_buf_append(&b, "", 0), 0);
	gb_buf_reset(&b);
	cap = t_repeat('z', 11);
	ck_assert_int_eq(gb_buf_printf(&b, "%s", cap), -1);
	ck_assert_str_eq(b.data, "");
	ck_assert(gb_buf_failed(&b));
	free(cap);
	gb_buf_free(&b);
}
END_TEST

START_TEST(test_reserve_overflow)
{
	struct gb_buf b;

	gb_buf_init(&b, 0);
	gb_buf_puts(&b, "abc");
	ck_assert_int_eq(gb_buf_reserve(&b, SIZE_MAX), -1);
	ck_assert_int_eq(gb_buf_reserve(&b, SIZE_MAX - 3), -1);
	ck_assert(gb_buf_failed(&b));
	ck_assert_str_eq(b.data, "abc");
	gb_buf_free(&b);
}
END_TEST

START_TEST(test_trim)
{
	struct gb_buf b;
	char *small;

	gb_buf_init(&b, 1 << 20);
	gb_buf_puts(&b, "x");
	small = b.data;
	gb_buf_trim(&b, 4096);              /* cap 256 <= keep: kept */
	ck_assert_ptr_eq(b.data, small);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.data, "");
	ck_assert_int_eq(gb_buf_reserve(&b, 100000), 0);
	gb_buf_trim(&b, 4096);              /* grew past keep: freed */
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.cap, 0);
	ck_assert_uint_eq(b.max, 1 << 20);  /* the limit survives */
	gb_buf_free(&b);
}
END_TEST

/* gb_buf_json_str: one input (bytes, with length), one expected output. */
static const struct {
	const char *in;
	size_t n;
	const char *out;
} json_cases[] = {
#define C(in, out) { in, sizeof(in) - 1, out }
	C("", "\"\""),
	C("abc", "\"abc\""),
	C("a\"b", "\"a\\\"b\""),
	C("a\\b", "\"a\\\\b\""),
	C("/", "\"/\""),
	C("\n", "\"\\u000a\""),
	C("\r\t\b\f", "\"\\u000d\\u0009\\u0008\\u000c\""),
	C("\x01\x1f", "\"\\u0001\\u001f\""),
	C("a\0b", "\"a\\u0000b\""),
	C(" ~", "\" ~\""),
	C("\x7f", "\"\x7f\""),
	/* valid UTF-8 is kept */
	C("\xc3\xa9", "\"\xc3\xa9\""),                        /* U+00E9 */
	C("\xc2\x80", "\"\xc2\x80\""),                        /* U+0080 */
	C("\xdf\xbf", "\"\xdf\xbf\""),                        /* U+07FF */
	C("\xe0\xa0\x80", "\"\xe0\xa0\x80\""),                /* U+0800 */
	C("\xe2\x82\xac", "\"\xe2\x82\xac\""),                /* U+20AC */
	C("\xed\x9f\xbf", "\"\xed\x9f\xbf\""),                /* U+D7FF */
	C("\xee\x80\x80", "\"\xee\x80\x80\""),                /* U+E000 */
	C("\xef\xbf\xbf", "\"\xef\xbf\xbf\""),                /* U+FFFF */
	C("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""),        /* U+1F600 */
	C("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""),        /* U+10FFFF */
	C("x\xc3\xa9y\"", "\"x\xc3\xa9y\\\"\""),
	/* each invalid byte becomes U+FFFD */
#define R "\xef\xbf\xbd"
	C("\xff", "\"" R "\""),
	C("\xfe", "\"" R "\""),
	C("\x80", "\"" R "\""),                               /* lone continuation */
	C("\xbf", "\"" R "\""),
	C("\xc3", "\"" R "\""),                               /* truncated */
	C("\xe2\x82", "\"" R R "\""),
	C("\xf0\x9f\x98", "\"" R R R "\""),
	C("\xc3\x28", "\"" R "(\""),                          /* bad continuation */
	C("\xc0\xaf", "\"" R R "\""),                         /* overlong '/' */
	C("\xc1\xbf", "\"" R R "\""),                         /* overlong */
	C("\xe0\x80\xaf", "\"" R R R "\""),                   /* overlong 3-byte */
	C("\xe0\x9f\xbf", "\"" R R R "\""),                   /* overlong U+07FF */
	C("\xf0\x80\x80\xaf", "\"" R R R R "\""),             /* overlong 4-byte */
	C("\xf0\x8f\xbf\xbf", "\"" R R R R "\""),             /* overlong U+FFFF */
	C("\xed\xa0\x80", "\"" R R R "\""),                   /* U+D800 surrogate */
	C("\xed\xbf\xbf", "\"" R R R "\""),                   /* U+DFFF surrogate */
	C("\xed\xa0\xbd\xed\xb8\x80", "\"" R R R R R R "\""), /* CESU pair */
	C("\xf4\x90\x80\x80", "\"" R R R R "\""),             /* U+110000 */
	C("\xf5\x80\x80\x80", "\"" R R R R "\""),             /* bad lead */
	C("\xf8\x88\x80\x80\x80", "\"" R R R R R "\""),       /* 5-byte form */
	C("a\xffz", "\"a" R "z\""),
	C("\xe2\x82\xac\xff\xe2\x82\xac", "\"\xe2\x82\xac" R "\xe2\x82\xac\""),
#undef R
#undef C
};

START_TEST(test_json_str)
{
	struct gb_buf b;

	gb_buf_init(&b, 0);
	ck_assert_int_eq(gb_buf_puts(&b, "pre:"), 0);
	ck_assert_int_eq(gb_buf_json_str(&b, json_cases[_i].in, json_cases[_i].n), 0);
	ck_assert_uint_eq(b.len, 4 + strlen(json_cases[_i].out));
	ck_assert_str_eq(b.data + 4, json_cases[_i].out);
	gb_buf_free(&b);
}
END_TEST

START_TEST(test_json_str_not_terminated)
{
	struct gb_buf b;

	gb_buf_init(&b, 0);
	/* only n bytes are read */
	ck_assert_int_eq(gb_buf_json_str(&b, "abc\"def", 3), 0);
	ck_assert_str_eq(b.data, "\"abc\"");
	gb_buf_reset(&b);
	/* a multibyte sequence cut by n is invalid */
	ck_assert_int_eq(gb_buf_json_str(&b, "\xe2\x82\xac", 2), 0);
	ck_assert_str_eq(b.data, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	gb_buf_free(&b);
}
END_TEST

/* Any byte string gives a JSON string that jansson reads back as valid
 * UTF-8 without NUL, and valid input round-trips. */
START_TEST(test_json_str_all_bytes)
{
	struct gb_buf b;
	unsigned char in[4];
	json_error_t jerr;
	json_t *j;
	int c, d;

	gb_buf_init(&b, 0);
	for (c = 0; c < 256; c++) {
		for (d = 0; d < 256; d += 17) {
			in[0] = (unsigned char)c;
			in[1] = (unsigned char)d;
			in[2] = 0x80;
			in[3] = 'x';
			gb_buf_reset(&b);
			ck_assert_int_eq(gb_buf_json_str(&b, (const char *)in, 4), 0);
			j = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
			ck_assert_msg(j != NULL, "byte %02x %02x: %s: %s", c, d, b.data, jerr.text);
			ck_assert(json_is_string(j));
			ck_assert_int_eq(json_string_value(j)[json_string_length(j) - 1], 'x');
			json_decref(j);
		}
	}
	gb_buf_reset(&b);
	ck_assert_int_eq(gb_buf_json_str(&b, "h\xc3\xa9 \"q\" \\ \n", 11), 0);
	j = json_loadb(b.data, b.len, JSON_DECODE_ANY, &jerr);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(j), "h\xc3\xa9 \"q\" \\ \n");
	json_decref(j);
	gb_buf_free(&b);
}
END_TEST

START_TEST(test_json_str_max)
{
	struct gb_buf b;

	gb_buf_init(&b, 8);
	ck_assert_int_eq(gb_buf_puts(&b, "ab"), 0);
	ck_assert_int_eq(gb_buf_json_str(&b, "\n\n", 2), -1);
	ck_assert(gb_buf_failed(&b));
	ck_assert_uint_le(b.len, 8);
	ck_assert_int_eq(b.data[b.len], '\0');
	ck_assert_int_eq(strncmp(b.data, "ab", 2), 0);
	gb_buf_free(&b);
}
END_TEST

static Suite *
buf_suite(void)
{
	Suite *s = suite_create("gb_buf");
	TCase *tc = tcase_create("core");
	TCase *tj = tcase_create("json_str");

	tcase_add_test(tc, test_init_empty);
	tcase_add_test(tc, test_appends);
	tcase_add_test(tc, test_empty_append_terminates);
	tcase_add_test(tc, test_growth);
	tcase_add_test(tc, test_printf);
	tcase_add_test(tc, test_max_limit);
	tcase_add_test(tc, test_reserve_overflow);
	tcase_add_test(tc, test_trim);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(tj, test_json_str, 0, (int)NELEM(json_cases));
	tcase_add_test(tj, test_json_str_not_terminated);
	tcase_add_test(tj, test_json_str_all_bytes);
	tcase_add_test(tj, test_json_str_max);
	suite_add_tcase(s, tj);
	return s;
}

GB_TEST_MAIN(buf_suite)
