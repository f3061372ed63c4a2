/* Tests for lib/gb_sign.c: the gateway_verified request signature and
 * SHA-256 helpers. */
#include "config.h"

#include <stdint.h>

#include "gb_sign.h"
#include "gb_test.h"

#define KEY "k3y-0123456789abcdef0123456789abcd"     /* 34 bytes */
#define KEYLEN (sizeof(KEY) - 1)
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define NOW INT64_C(1700000000)

/* ---- known answers ------------------------------------------------------ */

/* Each expected value computed by hand with openssl(1):
 *
 * 1. GET with a query, no identity (public-like fields empty):
 *    printf 'GERBANG-HMAC-SHA256\nGET\n/v1/reports?from=2024-01-01&to=2024-01-31\n'\
 *    '1700000000\nreq-abc.123\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'\
 *    '\n\n\n' | openssl dgst -sha256 -hmac 'k3y-0123456789abcdef0123456789abcd'
 *
 * 2. POST of the body {"n":1} with identity (printf '{"n":1}' | openssl
 *    dgst -sha256 gives the body hash):
 *    printf 'GERBANG-HMAC-SHA256\nPOST\n/items\n1700000000\nreq-1\n'\
 *    '2bfd14f43d17fc7cea24e0917a8879b4b2f880b8baeec1b9d90fbaad655e71bd\n'\
 *    '2b1f6f4e-7b1a-4c6e-9a39-0d8f3a1e5c21\n9c0e3a52-1f4d-4b8e-8e2a-5d7c9b1a3f60\nadmin' \
 *    | openssl dgst -sha256 -hmac 'k3y-0123456789abcdef0123456789abcd'
 */
static const struct {
	struct gb_sign_input in;
	const char *body;
	const char *sig;
} kat[] = {
	{ { "GET", "/v1/reports?from=2024-01-01&to=2024-01-31", "1700000000", "req-abc.123",
	    EMPTY_SHA256, "", "", "" }, "",
	  "04cd2ce8dcf795cfe801d1fbf312be729433223c746faa87aee5c5c644741f70" },
	{ { "POST", "/items", "1700000000", "req-1",
	    "2bfd14f43d17fc7cea24e0917a8879b4b2f880b8baeec1b9d90fbaad655e71bd",
	    "2b1f6f4e-7b1a-4c6e-9a39-0d8f3a1e5c21", "9c0e3a52-1f4d-4b8e-8e2a-5d7c9b1a3f60",
	    "admin" }, "{\"n\":1}",
	  "34f35cb3a6ed2e8155dbf470e7c12b37ddd3b46eba24c924ec7a4d523e4fa161" },
};

START_TEST(test_known_answer)
{
	char sig[65], body[65];

	ck_assert_int_eq(gb_sha256_hex(kat[_i].body, strlen(kat[_i].body), body), GB_OK);
	ck_assert_str_eq(body, kat[_i].in.body_sha256);
	ck_assert_int_eq(gb_sign(KEY, KEYLEN, &kat[_i].in, sig), GB_OK);
	ck_assert_str_eq(sig, kat[_i].sig);
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &kat[_i].in, kat[_i].sig, NOW, 60), GB_OK);
}
END_TEST

static const struct {
	const char *in;
	const char *hex;
} sha_cases[] = {
	{ "", EMPTY_SHA256 },
	{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
};

START_TEST(test_sha256)
{
	struct gb_sha256 *h;
	char out[65], inc[65];
	size_t i, n = strlen(sha_cases[_i].in);

	ck_assert_int_eq(gb_sha256_hex(sha_cases[_i].in, n, out), GB_OK);
	ck_assert_str_eq(out, sha_cases[_i].hex);
	/* byte by byte, twice: final starts the hash over */
	h = gb_sha256_new();
	ck_assert_ptr_nonnull(h);
	for (int round = 0; round < 2; round++) {
		for (i = 0; i < n; i++)
			ck_assert_int_eq(gb_sha256_update(h, sha_cases[_i].in + i, 1), GB_OK);
		ck_assert_int_eq(gb_sha256_update(h, NULL, 0), GB_OK);
		ck_assert_int_eq(gb_sha256_final_hex(h, inc), GB_OK);
		ck_assert_str_eq(inc, sha_cases[_i].hex);
	}
	gb_sha256_free(h);
}
END_TEST

START_TEST(test_sha256_misuse)
{
	struct gb_sha256 *h = gb_sha256_new();
	char out[65] = "x";

	ck_assert_int_eq(gb_sha256_hex(NULL, 0, out), GB_OK);
	ck_assert_str_eq(out, EMPTY_SHA256);
	ck_assert_int_eq(gb_sha256_hex(NULL, 1, out), GB_EINVAL);
	ck_assert_str_eq(out, "");
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(gb_sha256_update(h, NULL, 3), GB_EINVAL);
	ck_assert_int_eq(gb_sha256_update(NULL, "a", 1), GB_EINVAL);
	ck_assert_int_eq(gb_sha256_final_hex(NULL, out), GB_EINVAL);
	ck_assert_int_eq(gb_sha256_final_hex(h, out), GB_OK);
	ck_assert_str_eq(out, EMPTY_SHA256);
	gb_sha256_free(h);
	gb_sha256_free(NULL);
}
END_TEST

/* ---- every field is covered --------------------------------------------- */

static struct gb_sign_input
base_input(void)
{
	struct gb_sign_input in = {
		"POST", "/v1/x?a=1&b=2", "1700000000", "req-1",
		"2bfd14f43d17fc7cea24e0917a8879b4b2f880b8baeec1b9d90fbaad655e71bd",
		"2b1f6f4e-7b1a-4c6e-9a39-0d8f3a1e5c21", "9c0e3a52-1f4d-4b8e-8e2a-5d7c9b1a3f60",
		"member",
	};
	return in;
}

/* One changed field each: the signature of the base must fail on it. */
static const struct {
	const char *what;
	size_t off;
	const char *value;
} tamper[] = {
#define F(f) offsetof(struct gb_sign_input, f)
	{ "method", F(method), "PUT" },
	{ "method case", F(method), "post" },
	{ "target path", F(target), "/v1/y?a=1&b=2" },
	{ "target no query", F(target), "/v1/x" },
	{ "query byte", F(target), "/v1/x?a=1&b=3" },
	{ "query order", F(target), "/v1/x?b=2&a=1" },
	{ "empty query", F(target), "/v1/x?" },
	{ "timestamp", F(timestamp), "1700000001" },
	{ "request id", F(request_id), "req-2" },
	{ "body hash", F(body_sha256), EMPTY_SHA256 },
	{ "user id", F(user_id), "2b1f6f4e-7b1a-4c6e-9a39-0d8f3a1e5c22" },
	{ "user id empty", F(user_id), "" },
	{ "company id", F(company_id), "9c0e3a52-1f4d-4b8e-8e2a-5d7c9b1a3f61" },
	{ "company id empty", F(company_id), "" },
	{ "role", F(role), "admin" },
	{ "role empty", F(role), "" },
#undef F
};

START_TEST(test_tamper)
{
	struct gb_sign_input in = base_input();
	char sig[65], other[65];

	ck_assert_int_eq(gb_sign(KEY, KEYLEN, &in, sig), GB_OK);
	ck_assert(t_is_lower_hex(sig, 64));
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in, sig, NOW, 60), GB_OK);
	*(const char **)((char *)&in + tamper[_i].off) = tamper[_i].value;
	ck_assert_msg(gb_sign_verify(KEY, KEYLEN, &in, sig, NOW, 60) == GB_EUNAUTH,
	              "%s: still verifies", tamper[_i].what);
	ck_assert_int_eq(gb_sign(KEY, KEYLEN, &in, other), GB_OK);
	ck_assert_str_ne(other, sig);
}
END_TEST

/* Moving text from one field to the next gives another canonical string. */
START_TEST(test_field_boundaries)
{
	struct gb_sign_input a = base_input(), b = base_input();
	char sa[65], sb[65];

	a.user_id = "u";
	a.company_id = "c";
	b.user_id = "";
	b.company_id = "uc";
	ck_assert_int_eq(gb_sign(KEY, KEYLEN, &a, sa), GB_OK);
	ck_assert_int_eq(gb_sign(KEY, KEYLEN, &b, sb), GB_OK);
	ck_assert_str_ne(sa, sb);
}
END_TEST

START_TEST(test_other_key)
{
	struct gb_sign_input in = base_input();
	char sig[65];
	static const char key2[] = "k3y-0123456789abcdef0123456789abce";

	ck_assert_int_eq(gb_sign(KEY, KEYLEN, &in, sig), GB_OK);
	ck_assert_int_eq(gb_sign_verify(key2, sizeof(key2) - 1, &in, sig, NOW, 60), GB_EUNAUTH);
	/* a prefix of the key is another key */
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN - 1, &in, sig, NOW, 60), GB_EUNAUTH);
}
END_TEST

/* ---- the window --------------------------------------------------------- */

static const struct {
	int64_t now;
	long window;
	enum gb_err want;
} window_cases[] = {
	{ NOW, 60, GB_OK },
	{ NOW + 60, 60, GB_OK },          /* edges are inside */
	{ NOW - 60, 60, GB_OK },
	{ NOW + 61, 60, GB_EUNAUTH },     /* replayed a second too late */
	{ NOW - 61, 60, GB_EUNAUTH },     /* from the future */
	{ NOW + 3600, 3600, GB_OK },
	{ NOW + 3601, 3600, GB_EUNAUTH },
	{ NOW + 1, 1, GB_OK },
	{ NOW + 2, 1, GB_EUNAUTH },
	{ NOW + 86400, 60, GB_EUNAUTH },  /* a day-old capture */
	{ 0, 60, GB_EUNAUTH },
	{ INT64_MAX, 60, GB_EUNAUTH },
	{ INT64_MIN, 60, GB_EUNAUTH },
	{ NOW, 0, GB_EINVAL },            /* window out of bounds */
	{ NOW, -5, GB_EINVAL },
	{ NOW, 3601, GB_EINVAL },
};

START_TEST(test_window)
{
	struct gb_sign_input in = base_input();
	char sig[65];

	ck_assert_int_eq(gb_sign(KEY, KEYLEN, &in, sig), GB_OK);
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in, sig, window_cases[_i].now,
	                                window_cases[_i].window), window_cases[_i].want);
}
END_TEST

/* Timestamps a request may carry: only canonical decimal verifies. */
static const struct {
	const char *ts;
	enum gb_err sign;      /* gb_sign */
	enum gb_err verify;    /* gb_sign_verify at NOW, window 60, signed or not */
} ts_cases[] = {
	{ "1700000000", GB_OK, GB_OK },
	{ "1699999940", GB_OK, GB_OK },
	{ "0", GB_OK, GB_EUNAUTH },
	{ "", GB_EINVAL, GB_EUNAUTH },
	{ "01700000000", GB_EINVAL, GB_EUNAUTH },      /* leading zero */
	{ "+1700000000", GB_EINVAL, GB_EUNAUTH },
	{ "-1700000000", GB_EINVAL, GB_EUNAUTH },
	{ " 1700000000", GB_EINVAL, GB_EUNAUTH },
	{ "1700000000 ", GB_EINVAL, GB_EUNAUTH },
	{ "1700000000.5", GB_EINVAL, GB_EUNAUTH },
	{ "0x6553f100", GB_EINVAL, GB_EUNAUTH },
	{ "1e9", GB_EINVAL, GB_EUNAUTH },
	{ "1700000000\t", GB_EINVAL, GB_EUNAUTH },
	{ "999999999999999999", GB_OK, GB_EUNAUTH },  /* 18 digits: far future */
	{ "9999999999999999999", GB_EINVAL, GB_EUNAUTH },
	{ "99999999999999999999999", GB_EINVAL, GB_EUNAUTH },
};

START_TEST(test_timestamp)
{
	struct gb_sign_input in = base_input();
	char sig[65];
	enum gb_err e;

	in.timestamp = ts_cases[_i].ts;
	e = gb_sign(KEY, KEYLEN, &in, sig);
	ck_assert_msg(e == ts_cases[_i].sign, "\"%s\": gb_sign %d", ts_cases[_i].ts, e);
	if (e != GB_OK) {
		ck_assert_str_eq(sig, "");
		/* what the gateway never signs, a plugin never accepts */
		strcpy(sig, "0000000000000000000000000000000000000000000000000000000000000000");
	}
	e = gb_sign_verify(KEY, KEYLEN, &in, sig, NOW, 60);
	ck_assert_msg(e == ts_cases[_i].verify, "\"%s\": verify %d", ts_cases[_i].ts, e);
}
END_TEST

/* ---- malformed signatures ------------------------------------------------ */

START_TEST(test_signature_format)
{
	struct gb_sign_input in = base_input();
	char sig[65], bad[80];
	size_t i;

	ck_assert_int_eq(gb_sign(KEY, KEYLEN, &in, sig), GB_OK);

	/* uppercase and mixed case are the same bytes */
	for (i = 0; i < 64; i++)
		bad[i] = (sig[i] >= 'a' && sig[i] <= 'f') ? (char)(sig[i] - 32) : sig[i];
	bad[64] = '\0';
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in, bad, NOW, 60), GB_OK);
	for (i = 0; i < 64; i += 2)
		bad[i] = sig[i];
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in, bad, NOW, 60), GB_OK);

	/* 63 and 65 characters */
	memcpy(bad, sig, 64);
	bad[63] = '\0';
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in, bad, NOW, 60), GB_EUNAUTH);
	memcpy(bad, sig, 64);
	bad[64] = '0';
	bad[65] = '\0';
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in, bad, NOW, 60), GB_EUNAUTH);
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in, "", NOW, 60), GB_EUNAUTH);
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in, NULL, NOW, 60), GB_EUNAUTH);

	/* one character changed, or not hex, anywhere */
	for (i = 0; i < 64; i++) {
		memcpy(bad, sig, 65);
		bad[i] = bad[i] == '0' ? '1' : '0';
		ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in, bad, NOW, 60), GB_EUNAUTH);
		memcpy(bad, sig, 65);
		bad[i] = 'g';
		ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in, bad, NOW, 60), GB_EUNAUTH);
	}
	memcpy(bad, sig, 65);
	bad[10] = ' ';
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in, bad, NOW, 60), GB_EUNAUTH);
	/* another encoding (base64url, 43 characters) is not accepted */
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in,
	                                "hj4tShAA-bPelh0vycnrcplCMXH5QWTGlpIzULb8ANI", NOW, 60),
	                 GB_EUNAUTH);
}
END_TEST

/* ---- inputs that can forge a line ---------------------------------------- */

static const struct {
	const char *what;
	size_t off;
	const char *value;
} control_cases[] = {
#define F(f) offsetof(struct gb_sign_input, f)
	{ "LF in role", F(role), "member\nadmin" },
	{ "CR in role", F(role), "member\r" },
	{ "LF in target", F(target), "/v1/x\n" },
	{ "TAB in user", F(user_id), "a\tb" },
	{ "DEL in request id", F(request_id), "req\x7f" },
	{ "ESC in method", F(method), "GET\x1b" },
	{ "LF in company", F(company_id), "\n" },
#undef F
};

START_TEST(test_control_bytes)
{
	struct gb_sign_input in = base_input();
	char sig[65] = "x";

	*(const char **)((char *)&in + control_cases[_i].off) = control_cases[_i].value;
	ck_assert_int_eq(gb_sign(KEY, KEYLEN, &in, sig), GB_EINVAL);
	ck_assert_str_eq(sig, "");
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in,
	                                EMPTY_SHA256, NOW, 60), GB_EUNAUTH);
}
END_TEST

START_TEST(test_caller_errors)
{
	struct gb_sign_input in = base_input();
	char sig[65], good[65];
	static const char shortkey[] = "0123456789abcdef0123456789abcde";   /* 31 */
	const char **fields[] = { &in.method, &in.target, &in.timestamp, &in.request_id,
	                          &in.body_sha256, &in.user_id, &in.company_id, &in.role };
	const char *saved;
	size_t i;

	ck_assert_int_eq(gb_sign(KEY, KEYLEN, &in, good), GB_OK);
	ck_assert_int_eq(gb_sign(NULL, KEYLEN, &in, sig), GB_EINVAL);
	ck_assert_int_eq(gb_sign(shortkey, sizeof(shortkey) - 1, &in, sig), GB_EINVAL);
	ck_assert_int_eq(gb_sign(shortkey, GB_SIGN_KEY_MAX + 1, &in, sig), GB_EINVAL);
	ck_assert_int_eq(gb_sign(KEY, KEYLEN, NULL, sig), GB_EINVAL);
	ck_assert_int_eq(gb_sign_verify(NULL, KEYLEN, &in, good, NOW, 60), GB_EINVAL);
	ck_assert_int_eq(gb_sign_verify(shortkey, sizeof(shortkey) - 1, &in, good, NOW, 60),
	                 GB_EINVAL);
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, NULL, good, NOW, 60), GB_EINVAL);
	for (i = 0; i < NELEM(fields); i++) {
		saved = *fields[i];
		*fields[i] = NULL;
		ck_assert_int_eq(gb_sign(KEY, KEYLEN, &in, sig), GB_EINVAL);
		ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in, good, NOW, 60), GB_EINVAL);
		*fields[i] = saved;
	}
	/* a body hash that is not gb_sha256_hex output is a caller's bug */
	in.body_sha256 = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
	ck_assert_int_eq(gb_sign(KEY, KEYLEN, &in, sig), GB_EINVAL);
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in, good, NOW, 60), GB_EINVAL);
	in.body_sha256 = "e3b0";
	ck_assert_int_eq(gb_sign(KEY, KEYLEN, &in, sig), GB_EINVAL);
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in, good, NOW, 60), GB_EINVAL);
}
END_TEST

/* Long targets (path and query at their limits) sign and verify. */
START_TEST(test_long_target)
{
	struct gb_sign_input in = base_input();
	char sig[65], *t = t_repeat('a', 4096 + 1 + 8192);

	t[0] = '/';
	t[4096] = '?';
	in.target = t;
	ck_assert_int_eq(gb_sign(KEY, KEYLEN, &in, sig), GB_OK);
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in, sig, NOW, 60), GB_OK);
	t[5000] = 'b';
	ck_assert_int_eq(gb_sign_verify(KEY, KEYLEN, &in, sig, NOW, 60), GB_EUNAUTH);
	free(t);
}
END_TEST

static Suite *
sign_suite(void)
{
	Suite *s = suite_create("gb_sign");
	TCase *tk = tcase_create("known");
	TCase *tv = tcase_create("verify");
	TCase *ti = tcase_create("input");

	tcase_add_loop_test(tk, test_known_answer, 0, (int)NELEM(kat));
	tcase_add_loop_test(tk, test_sha256, 0, (int)NELEM(sha_cases));
	tcase_add_test(tk, test_sha256_misuse);
	suite_add_tcase(s, tk);

	tcase_add_loop_test(tv, test_tamper, 0, (int)NELEM(tamper));
	tcase_add_test(tv, test_field_boundaries);
	tcase_add_test(tv, test_other_key);
	tcase_add_loop_test(tv, test_window, 0, (int)NELEM(window_cases));
	tcase_add_loop_test(tv, test_timestamp, 0, (int)NELEM(ts_cases));
	tcase_add_test(tv, test_signature_format);
	suite_add_tcase(s, tv);

	tcase_add_loop_test(ti, test_control_bytes, 0, (int)NELEM(control_cases));
	tcase_add_test(ti, test_caller_errors);
	tcase_add_test(ti, test_long_target);
	suite_add_tcase(s, ti);
	return s;
}

GB_TEST_MAIN(sign_suite)
