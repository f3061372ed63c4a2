/* Tests for lib/gb_url.c: percent-decoding, query strings and paths. */
#include "config.h"

#include "gb_test.h"
#include "gb_url.h"

static struct gb_arena *a;

static void
setup(void)
{
	a = gb_arena_new(4096);
	ck_assert_ptr_nonnull(a);
}

static void
teardown(void)
{
	gb_arena_free(a);
	a = NULL;
}

/* ---- gb_url_decode ---------------------------------------------------- */

static const struct {
	const char *in;
	size_t n;            /* bytes of in to decode */
	bool plus;
	ssize_t ret;
	const char *out;     /* dst after the call (NUL-terminated either way) */
} decode_cases[] = {
#define D(in, plus, ret, out) { in, sizeof(in) - 1, plus, ret, out }
	D("", false, 0, ""),
	D("abc", false, 3, "abc"),
	D("a%20b", false, 3, "a b"),
	D("%41%42%43", false, 3, "ABC"),
	D("%7e%7E", false, 2, "~~"),
	D("%e2%82%ac", false, 3, "\xe2\x82\xac"),
	D("%ff", false, 1, "\xff"),
	D("a+b", true, 3, "a b"),
	D("a+b", false, 3, "a+b"),
	D("%2B", true, 1, "+"),
	D("%2b+", true, 2, "+ "),
	D("100%25", false, 4, "100%"),
	D("%2525", false, 3, "%25"),          /* decoded once only */
	D("%zz", false, -1, ""),
	D("%g0", false, -1, ""),
	D("%0g", false, -1, ""),
	D("%", false, -1, ""),
	D("%4", false, -1, ""),
	D("ab%4", false, -1, "ab"),
	D("ab%zzcd", false, -1, "ab"),
	D("%00", false, -1, ""),
	D("a%00b", false, -1, "a"),
	D("a\0b", false, -1, "a"),            /* a raw NUL too */
	D("% 41", false, -1, ""),
	D("%-1", false, -1, ""),
#undef D
	/* n shorter than the string: bytes past n are never read */
	{ "abc%41", 3, false, 3, "abc" },
	{ "%41", 2, false, -1, "" },
	{ "a+b", 1, true, 1, "a" },
};

START_TEST(test_decode)
{
	char dst[64];
	ssize_t r;

	memset(dst, 'X', sizeof(dst));
	r = gb_url_decode(dst, decode_cases[_i].in, decode_cases[_i].n, decode_cases[_i].plus);
	ck_assert_int_eq(r, decode_cases[_i].ret);
	ck_assert_str_eq(dst, decode_cases[_i].out);
	if (r >= 0)
		ck_assert_int_eq(dst[r], '\0');
}
END_TEST

/* ---- gb_query_parse --------------------------------------------------- */

static const struct {
	const char *qs;
	enum gb_err err;
	const char *pairs[10];    /* key, value, key, value, ..., NULL */
} query_cases[] = {
	{ "", GB_OK, { NULL } },
	{ "a=1", GB_OK, { "a", "1", NULL } },
	{ "a=1&b=2", GB_OK, { "a", "1", "b", "2", NULL } },
	{ "&&a=1&", GB_OK, { "a", "1", NULL } },
	{ "&", GB_OK, { NULL } },
	{ "&&&&", GB_OK, { NULL } },
	{ "a", GB_OK, { "a", "", NULL } },
	{ "a=", GB_OK, { "a", "", NULL } },
	{ "a&b", GB_OK, { "a", "", "b", "", NULL } },
	{ "=1", GB_OK, { "", "1", NULL } },
	{ "=", GB_OK, { "", "", NULL } },
	{ "a=1&a=2", GB_OK, { "a", "1", "a", "2", NULL } },
	{ "a=b=c", GB_OK, { "a", "b=c", NULL } },
	{ "q=hello+world%21", GB_OK, { "q", "hello world!", NULL } },
	{ "a%20b=c%26d", GB_OK, { "a b", "c&d", NULL } },
	{ "k%3D=v", GB_OK, { "k=", "v", NULL } },
	{ "e=%C3%A9", GB_OK, { "e", "\xc3\xa9", NULL } },
	{ "x=%2B1", GB_OK, { "x", "+1", NULL } },
	{ "a=%zz", GB_EINVAL, { NULL } },
	{ "%zz=1", GB_EINVAL, { NULL } },
	{ "a=1&b=%", GB_EINVAL, { NULL } },
	{ "a=1&b=%4", GB_EINVAL, { NULL } },
	{ "a=%00", GB_EINVAL, { NULL } },
	{ "%00=1", GB_EINVAL, { NULL } },
	{ "%00", GB_EINVAL, { NULL } },
};

static void
check_query(const struct gb_query *q, const char *const *pairs)
{
	size_t i, n = 0;

	while (pairs[2 * n] != NULL)
		n++;
	ck_assert_uint_eq(q->n, n);
	for (i = 0; i < n; i++) {
		ck_assert_str_eq(q->items[i].key, pairs[2 * i]);
		ck_assert_str_eq(q->items[i].value, pairs[2 * i + 1]);
	}
}

START_TEST(test_query)
{
	struct gb_query q = { (struct gb_kv *)&q, 99 };
	enum gb_err e;

	e = gb_query_parse(a, query_cases[_i].qs, strlen(query_cases[_i].qs), &q);
	ck_assert_int_eq(e, query_cases[_i].err);
	if (e != GB_OK) {
		ck_assert_ptr_null(q.items);
		ck_assert_uint_eq(q.n, 0);
		return;
	}
	check_query(&q, query_cases[_i].pairs);
}
END_TEST

START_TEST(test_query_get)
{
	struct gb_query q;
	static const char qs[] = "a=1&b=&a=2&c";

	ck_assert_int_eq(gb_query_parse(a, qs, strlen(qs), &q), GB_OK);
	ck_assert_str_eq(gb_query_get(&q, "a"), "1");    /* the first */
	ck_assert_str_eq(gb_query_get(&q, "b"), "");
	ck_assert_str_eq(gb_query_get(&q, "c"), "");
	ck_assert_ptr_null(gb_query_get(&q, "d"));
	ck_assert_ptr_null(gb_query_get(&q, "A"));       /* case matters */
	ck_assert_ptr_null(gb_query_get(&q, ""));
	q.n = 0;
	ck_assert_ptr_null(gb_query_get(&q, "a"));
}
END_TEST

START_TEST(test_query_not_terminated)
{
	struct gb_query q;
	static const char qs[] = "a=1&b=%zz";

	ck_assert_int_eq(gb_query_parse(a, qs, 3, &q), GB_OK);
	ck_assert_uint_eq(q.n, 1);
	ck_assert_str_eq(q.items[0].key, "a");
	ck_assert_str_eq(q.items[0].value, "1");
	ck_assert_int_eq(gb_query_parse(a, qs, 0, &q), GB_OK);
	ck_assert_uint_eq(q.n, 0);
}
END_TEST

/* "p0=0&p1=1&..." with n pairs and extra empty pieces between them. */
static char *
many_params(size_t n, size_t empties)
{
	char *s = malloc(n * 16 + empties + 1);
	size_t i, len = 0;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < empties; i++)
		s[len++] = '&';
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(s + len, "%sp%zu=%zu", i ? "&" : "", i, i);
	s[len] = '\0';
	return s;
}

START_TEST(test_query_params_max)
{
	struct gb_query q = { NULL, 0 };
	char *qs, key[32], val[32];
	size_t i;

	qs = many_params(GB_QUERY_PARAMS_MAX, 0);
	ck_assert_int_eq(gb_query_parse(a, qs, strlen(qs), &q), GB_OK);
	ck_assert_uint_eq(q.n, GB_QUERY_PARAMS_MAX);
	for (i = 0; i < q.n; i++) {
		snprintf(key, sizeof(key), "p%zu", i);
		snprintf(val, sizeof(val), "%zu", i);
		ck_assert_str_eq(q.items[i].key, key);
		ck_assert_str_eq(q.items[i].value, val);
	}
	free(qs);

	qs = many_params(GB_QUERY_PARAMS_MAX + 1, 0);
	ck_assert_int_eq(gb_query_parse(a, qs, strlen(qs), &q), GB_ETOOBIG);
	ck_assert_uint_eq(q.n, 0);
	ck_assert_ptr_null(q.items);
	free(qs);

	/* empty pieces do not count against the limit */
	qs = many_params(GB_QUERY_PARAMS_MAX, 100);
	ck_assert_int_eq(gb_query_parse(a, qs, strlen(qs), &q), GB_OK);
	ck_assert_uint_eq(q.n, GB_QUERY_PARAMS_MAX);
	ck_assert_str_eq(q.items[GB_QUERY_PARAMS_MAX - 1].key, "p63");
	free(qs);

	qs = many_params(GB_QUERY_PARAMS_MAX + 1, 100);
	ck_assert_int_eq(gb_query_parse(a, qs, strlen(qs), &q), GB_ETOOBIG);
	free(qs);

	/* 64 keys without '=' */
	qs = t_repeat('&', 2 * GB_QUERY_PARAMS_MAX);
	for (i = 0; i < GB_QUERY_PARAMS_MAX; i++)
		qs[2 * i] = 'k';
	ck_assert_int_eq(gb_query_parse(a, qs, strlen(qs), &q), GB_OK);
	ck_assert_uint_eq(q.n, GB_QUERY_PARAMS_MAX);
	ck_assert_str_eq(q.items[5].key, "k");
	ck_assert_str_eq(q.items[5].value, "");
	free(qs);
}
END_TEST

START_TEST(test_query_length)
{
	struct gb_query q = { NULL, 0 };
	char *qs;

	/* exactly GB_QUERY_MAX bytes: one huge value */
	qs = t_repeat('v', GB_QUERY_MAX);
	qs[0] = 'k';
	qs[1] = '=';
	ck_assert_int_eq(gb_query_parse(a, qs, GB_QUERY_MAX, &q), GB_OK);
	ck_assert_uint_eq(q.n, 1);
	ck_assert_str_eq(q.items[0].key, "k");
	ck_assert_uint_eq(strlen(q.items[0].value), GB_QUERY_MAX - 2);
	free(qs);

	qs = t_repeat('v', GB_QUERY_MAX + 1);
	qs[0] = 'k';
	qs[1] = '=';
	ck_assert_int_eq(gb_query_parse(a, qs, GB_QUERY_MAX + 1, &q), GB_ETOOBIG);
	ck_assert_uint_eq(q.n, 0);
	free(qs);

	/* a huge encoded value decodes to a third */
	qs = malloc(GB_QUERY_MAX + 1);
	ck_assert_ptr_nonnull(qs);
	strcpy(qs, "k=");
	while (strlen(qs) + 3 <= GB_QUERY_MAX)
		strcat(qs, "%41");
	ck_assert_int_eq(gb_query_parse(a, qs, strlen(qs), &q), GB_OK);
	ck_assert_uint_eq(strlen(q.items[0].value), (strlen(qs) - 2) / 3);
	ck_assert_int_eq(q.items[0].value[0], 'A');
	free(qs);
}
END_TEST

/* ---- gb_path_normalize ------------------------------------------------ */

static const struct {
	const char *raw;
	enum gb_err err;
	const char *out;
} path_cases[] = {
	{ "/", GB_OK, "/" },
	{ "/a", GB_OK, "/a" },
	{ "/a/", GB_OK, "/a/" },
	{ "/a/b", GB_OK, "/a/b" },
	{ "/healthz/", GB_OK, "/healthz/" },
	{ "//", GB_OK, "/" },
	{ "//a//b//", GB_OK, "/a/b/" },
	{ "///a", GB_OK, "/a" },
	{ "/.", GB_OK, "/" },
	{ "/./", GB_OK, "/" },
	{ "/./a/./b/.", GB_OK, "/a/b" },
	{ "/a/./", GB_OK, "/a/" },
	{ "/a/../b", GB_OK, "/b" },
	{ "/a/b/../../c", GB_OK, "/c" },
	{ "/a/b/../c/./d/..", GB_OK, "/a/c" },
	{ "/a/..", GB_OK, "/" },
	{ "/a/../", GB_OK, "/" },
	{ "/a/b/..", GB_OK, "/a" },
	{ "/a/b/../", GB_OK, "/a/" },
	{ "/aa/bb/..", GB_OK, "/aa" },
	{ "/a//../b", GB_OK, "/b" },
	{ "/...", GB_OK, "/..." },
	{ "/a/..b", GB_OK, "/a/..b" },
	{ "/a/b..", GB_OK, "/a/b.." },
	{ "/.a", GB_OK, "/.a" },
	{ "/a%20b", GB_OK, "/a b" },
	{ "/a+b", GB_OK, "/a+b" },             /* '+' is not a space in paths */
	{ "/%C3%A9t%C3%A9", GB_OK, "/\xc3\xa9t\xc3\xa9" },
	{ "/a%2e", GB_OK, "/a." },
	{ "/a/%2e", GB_OK, "/a" },
	{ "/a/%2E/b", GB_OK, "/a/b" },
	{ "/a/%2e%2e/b", GB_OK, "/b" },
	{ "/a/.%2e/b", GB_OK, "/b" },
	{ "/a/%2E%2E", GB_OK, "/" },
	{ "/v1/users/42?", GB_OK, "/v1/users/42?" },  /* the caller strips the query */
	{ "/%25", GB_OK, "/%" },
	{ "/..", GB_EINVAL, NULL },
	{ "/../", GB_EINVAL, NULL },
	{ "/../a", GB_EINVAL, NULL },
	{ "/a/../..", GB_EINVAL, NULL },
	{ "/a/../../b", GB_EINVAL, NULL },
	{ "/%2e%2e/a", GB_EINVAL, NULL },
	{ "/%2E%2E", GB_EINVAL, NULL },
	{ "/.%2e", GB_EINVAL, NULL },
	{ "/a%2fb", GB_EINVAL, NULL },
	{ "/a%2Fb", GB_EINVAL, NULL },
	{ "/%2f", GB_EINVAL, NULL },
	{ "/a#frag", GB_EINVAL, NULL },      /* a fragment never reaches a server */
	{ "/a b", GB_EINVAL, NULL },         /* raw space */
	{ "/a\tb", GB_EINVAL, NULL },        /* raw control byte */
	{ "/a%23b", GB_OK, "/a#b" },         /* an encoded '#' is data */
	{ "/a%5cb", GB_OK, "/a\\b" },
	{ "/a%0ab", GB_EINVAL, NULL },
	{ "/a%0d%0aSet-Cookie:x", GB_EINVAL, NULL },
	{ "/a\nb", GB_EINVAL, NULL },
	{ "/a\rb", GB_EINVAL, NULL },
	{ "/a\tb", GB_EINVAL, NULL },
	{ "/a\x01", GB_EINVAL, NULL },
	{ "/a\x1f", GB_EINVAL, NULL },
	{ "/a\x7f", GB_EINVAL, NULL },
	{ "/a%7f", GB_EINVAL, NULL },
	{ "/a%7F", GB_EINVAL, NULL },
	{ "/a%1b", GB_EINVAL, NULL },
	{ "/a%00", GB_EINVAL, NULL },
	{ "/a%00/..", GB_EINVAL, NULL },
	{ "/a%zz", GB_EINVAL, NULL },
	{ "/a%", GB_EINVAL, NULL },
	{ "/a%4", GB_EINVAL, NULL },
	{ "", GB_EINVAL, NULL },
	{ "a", GB_EINVAL, NULL },
	{ "a/b", GB_EINVAL, NULL },
	{ "*", GB_EINVAL, NULL },
	{ ".", GB_EINVAL, NULL },
	{ "../a", GB_EINVAL, NULL },
	{ "%2fa", GB_EINVAL, NULL },
	{ "http://host/a", GB_EINVAL, NULL },
};

START_TEST(test_path)
{
	char sentinel[] = "unchanged";
	char *out = sentinel;
	enum gb_err e;

	e = gb_path_normalize(a, path_cases[_i].raw, strlen(path_cases[_i].raw), &out);
	ck_assert_msg(e == path_cases[_i].err, "%s: got %d, want %d",
	              path_cases[_i].raw, e, path_cases[_i].err);
	if (e == GB_OK)
		ck_assert_str_eq(out, path_cases[_i].out);
	else
		ck_assert_ptr_eq(out, sentinel);
}
END_TEST

START_TEST(test_path_raw_nul)
{
	static const char raw[] = "/a\0b";
	char *out = NULL;

	ck_assert_int_eq(gb_path_normalize(a, raw, 4, &out), GB_EINVAL);
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_path_not_terminated)
{
	static const char raw[] = "/a/b/../%zz";
	char *out = NULL;

	ck_assert_int_eq(gb_path_normalize(a, raw, 4, &out), GB_OK);
	ck_assert_str_eq(out, "/a/b");
	ck_assert_int_eq(gb_path_normalize(a, raw, 6, &out), GB_OK);
	ck_assert_str_eq(out, "/a/b");
	ck_assert_int_eq(gb_path_normalize(a, raw, 7, &out), GB_OK);
	ck_assert_str_eq(out, "/a");
	ck_assert_int_eq(gb_path_normalize(a, raw, 8, &out), GB_OK);
	ck_assert_str_eq(out, "/a/");
}
END_TEST

START_TEST(test_path_length)
{
	char *raw, *out = NULL;
	size_t i;

	/* exactly GB_PATH_MAX */
	raw = t_repeat('a', GB_PATH_MAX);
	raw[0] = '/';
	ck_assert_int_eq(gb_path_normalize(a, raw, GB_PATH_MAX, &out), GB_OK);
	ck_assert_uint_eq(strlen(out), GB_PATH_MAX);
	ck_assert_str_eq(out, raw);
	free(raw);

	raw = t_repeat('a', GB_PATH_MAX + 1);
	raw[0] = '/';
	out = NULL;
	ck_assert_int_eq(gb_path_normalize(a, raw, GB_PATH_MAX + 1, &out), GB_ETOOBIG);
	ck_assert_ptr_null(out);
	free(raw);

	/* many segments, all slashes, deep ".." chains */
	raw = t_repeat('/', GB_PATH_MAX);
	ck_assert_int_eq(gb_path_normalize(a, raw, GB_PATH_MAX, &out), GB_OK);
	ck_assert_str_eq(out, "/");
	free(raw);

	/* 800 segments and 800 ".." give the root; one more is above it */
	raw = malloc(GB_PATH_MAX + 1);
	ck_assert_ptr_nonnull(raw);
	raw[0] = '\0';
	for (i = 0; i < 800; i++)
		strcat(raw, "/a");
	for (i = 0; i < 800; i++)
		strcat(raw, "/..");
	ck_assert_int_eq(gb_path_normalize(a, raw, strlen(raw), &out), GB_OK);
	ck_assert_str_eq(out, "/");
	strcat(raw, "/..");
	out = NULL;
	ck_assert_int_eq(gb_path_normalize(a, raw, strlen(raw), &out), GB_EINVAL);
	ck_assert_ptr_null(out);
	free(raw);
}
END_TEST

/* A normalized path is a fixed point (when it holds no '%' to decode). */
START_TEST(test_path_idempotent)
{
	char *once, *twice;
	size_t i;

	for (i = 0; i < NELEM(path_cases); i++) {
		if (path_cases[i].err != GB_OK || strpbrk(path_cases[i].out, "%# ") != NULL)
			continue;
		ck_assert_int_eq(gb_path_normalize(a, path_cases[i].raw,
		                                   strlen(path_cases[i].raw), &once), GB_OK);
		ck_assert_int_eq(gb_path_normalize(a, once, strlen(once), &twice), GB_OK);
		ck_assert_str_eq(twice, once);
	}
}
END_TEST

static Suite *
url_suite(void)
{
	Suite *s = suite_create("gb_url");
	TCase *td = tcase_create("decode");
	TCase *tq = tcase_create("query");
	TCase *tp = tcase_create("path");

	tcase_add_loop_test(td, test_decode, 0, (int)NELEM(decode_cases));
	suite_add_tcase(s, td);

	tcase_add_checked_fixture(tq, setup, teardown);
	tcase_add_loop_test(tq, test_query, 0, (int)NELEM(query_cases));
	tcase_add_test(tq, test_query_get);
	tcase_add_test(tq, test_query_not_terminated);
	tcase_add_test(tq, test_query_params_max);
	tcase_add_test(tq, test_query_length);
	suite_add_tcase(s, tq);

	tcase_add_checked_fixture(tp, setup, teardown);
	tcase_add_loop_test(tp, test_path, 0, (int)NELEM(path_cases));
	tcase_add_test(tp, test_path_raw_nul);
	tcase_add_test(tp, test_path_not_terminated);
	tcase_add_test(tp, test_path_length);
	tcase_add_test(tp, test_path_idempotent);
	suite_add_tcase(s, tp);
	return s;
}

GB_TEST_MAIN(url_suite)
