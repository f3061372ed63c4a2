/* Tests for lib/gb_token.c: opaque refresh tokens. */
#include "config.h"

#include <stdbool.h>

#include "gb_test.h"
#include "gb_token.h"

#define KAT_TOKEN "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
/* printf %s KAT_TOKEN | sha256sum */
#define KAT_HASH "46a2199782c8827f0ac56f503be9d39efee97f40a736b92cc7d7c5f825cfd851"

static bool
b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

START_TEST(test_new_format)
{
	char t[GB_TOKEN_LEN + 8];
	size_t i;

	memset(t, '=', sizeof(t));
	gb_token_new(t);
	ck_assert_uint_eq(strlen(t), GB_TOKEN_LEN);
	for (i = 0; i < GB_TOKEN_LEN; i++)
		ck_assert_msg(b64url_char(t[i]), "byte %zu is %#x", i, (unsigned char)t[i]);
	ck_assert_int_eq(t[GB_TOKEN_LEN + 1], '=');   /* nothing written past the NUL */
	ck_assert(gb_token_valid(t));
}
END_TEST

static int
cmp_tokens(const void *a, const void *b)
{
	return strcmp(a, b);
}

START_TEST(test_new_unique)
{
	enum { N = 1000 };
	char (*t)[GB_TOKEN_LEN + 1] = calloc(N, sizeof(*t));
	size_t i, j;
	unsigned seen[256] = { 0 };

	ck_assert_ptr_nonnull(t);
	for (i = 0; i < N; i++)
		gb_token_new(t[i]);
	qsort(t, N, sizeof(*t), cmp_tokens);
	for (i = 1; i < N; i++)
		ck_assert_str_ne(t[i - 1], t[i]);
	/* 42 full characters of each of 1000 tokens: all 64 symbols show up */
	for (i = 0; i < N; i++)
		for (j = 0; j < GB_TOKEN_LEN - 1; j++)
			seen[(unsigned char)t[i][j]]++;
	for (i = j = 0; i < 256; i++)
		j += seen[i] != 0;
	ck_assert_uint_eq(j, 64);
	free(t);
}
END_TEST

static const struct {
	const char *s;
	bool valid;
} valid_cases[] = {
	{ KAT_TOKEN, true },
	{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", true },
	{ "___________________________________________", false },  /* stray bits */
	{ "__________________________________________8", true },
	{ "-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_0", true },
	{ "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPR", false }, /* stray bits */
	{ "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP", false },  /* 42 */
	{ "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQA", false }, /* 44 */
	{ "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP=", false },
	{ "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN+/Q", false },
	{ "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO Q", false },
	{ "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN.PQ", false },
	{ "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN\xc3\xa9Q", false },
	{ "", false },
	{ NULL, false },
};

START_TEST(test_valid)
{
	ck_assert_msg(gb_token_valid(valid_cases[_i].s) == valid_cases[_i].valid, "%s",
	              valid_cases[_i].s ? valid_cases[_i].s : "(null)");
}
END_TEST

START_TEST(test_hash_kat)
{
	char h[GB_TOKEN_HASH_LEN + 1];

	ck_assert_int_eq(gb_token_hash(KAT_TOKEN, h), GB_OK);
	ck_assert_str_eq(h, KAT_HASH);
}
END_TEST

START_TEST(test_hash_new)
{
	char t[GB_TOKEN_LEN + 1], u[GB_TOKEN_LEN + 1];
	char h1[GB_TOKEN_HASH_LEN + 1], h2[GB_TOKEN_HASH_LEN + 1], h3[GB_TOKEN_HASH_LEN + 1];

	gb_token_new(t);
	gb_token_new(u);
	ck_assert_int_eq(gb_token_hash(t, h1), GB_OK);
	ck_assert_int_eq(gb_token_hash(t, h2), GB_OK);
	ck_assert_int_eq(gb_token_hash(u, h3), GB_OK);
	ck_assert(t_is_lower_hex(h1, GB_TOKEN_HASH_LEN));
	ck_assert_str_eq(h1, h2);
	ck_assert_str_ne(h1, h3);
}
END_TEST

START_TEST(test_hash_invalid)
{
	char h[GB_TOKEN_HASH_LEN + 1] = "unchanged";

	ck_assert_int_eq(gb_token_hash(KAT_TOKEN "A", h), GB_EINVAL);
	ck_assert_int_eq(gb_token_hash("short", h), GB_EINVAL);
	ck_assert_int_eq(gb_token_hash("", h), GB_EINVAL);
	ck_assert_int_eq(gb_token_hash(NULL, h), GB_EINVAL);
	ck_assert_str_eq(h, "unchanged");
	ck_assert_int_eq(gb_token_hash(KAT_TOKEN, NULL), GB_EINVAL);
}
END_TEST

static Suite *
token_suite(void)
{
	Suite *s = suite_create("gb_token");
	TCase *tn = tcase_create("new");
	TCase *tv = tcase_create("valid");
	TCase *th = tcase_create("hash");

	tcase_add_test(tn, test_new_format);
	tcase_add_test(tn, test_new_unique);
	suite_add_tcase(s, tn);

	tcase_add_loop_test(tv, test_valid, 0, (int)NELEM(valid_cases));
	suite_add_tcase(s, tv);

	tcase_add_test(th, test_hash_kat);
	tcase_add_test(th, test_hash_new);
	tcase_add_test(th, test_hash_invalid);
	suite_add_tcase(s, th);
	return s;
}

GB_TEST_MAIN(token_suite)
