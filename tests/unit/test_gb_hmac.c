/* Tests for lib/gb_hmac.c: HMAC-SHA256 with per-thread keyed contexts. */
#include "config.h"

#include <pthread.h>

#include "gb_hmac.h"
#include "gb_test.h"

static void
hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
check_mac(const void *key, size_t keylen, const void *data, size_t n, const char *want)
{
	unsigned char mac[GB_HMAC_SHA256_LEN];
	char got[2 * GB_HMAC_SHA256_LEN + 1];

	ck_assert_int_eq(gb_hmac_sha256(key, keylen, data, n, mac), 0);
	hex(mac, sizeof(mac), got);
	ck_assert_str_eq(got, want);
}

/* RFC 4231 test cases 1, 2, 6 and 7 (6 and 7: a 131-byte key, longer than
 * the block, hashed first), and an empty key (openssl dgst -hmac ''). */
START_TEST(test_rfc4231)
{
	unsigned char key20[20], key131[131];

	memset(key20, 0x0b, sizeof(key20));
	memset(key131, 0xaa, sizeof(key131));
	check_mac(key20, sizeof(key20), "Hi There", 8,
	          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	check_mac("Jefe", 4, "what do ya want for nothing?", 28,
	          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	check_mac(key131, sizeof(key131),
	          "Test Using Larger Than Block-Size Key - Hash Key First", 54,
	          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	check_mac(key131, sizeof(key131),
	          "This is a test using a larger than block-size key and a larger than "
	          "block-size data. The key needs to be hashed before being used by the "
	          "HMAC algorithm.", 152,
	          "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
	check_mac("", 0, "", 0,
	          "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
	gb_hmac_thread_end();
}
END_TEST

/* More keys than a thread keeps contexts for, used in turn and again:
 * each answer stays that of its own key. */
START_TEST(test_many_keys)
{
	unsigned char ref[8][GB_HMAC_SHA256_LEN], mac[GB_HMAC_SHA256_LEN];
	char key[32];
	int round, i;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < 8; i++) {
			snprintf(key, sizeof(key), "key-number-%d", i);
			ck_assert_int_eq(gb_hmac_sha256(key, strlen(key), "data", 4, mac), 0);
			if (round == 0)
				memcpy(ref[i], mac, sizeof(mac));
			else
				ck_assert_mem_eq(ref[i], mac, sizeof(mac));
		}
	}
	/* Keys that differ only in length or in their last byte differ. */
	ck_assert_int_eq(gb_hmac_sha256("abcd", 4, "x", 1, ref[0]), 0);
	ck_assert_int_eq(gb_hmac_sha256("abc", 3, "x", 1, ref[1]), 0);
	ck_assert_int_eq(gb_hmac_sha256("abce", 4, "x", 1, ref[2]), 0);
	ck_assert_mem_ne(ref[0], ref[1], GB_HMAC_SHA256_LEN);
	ck_assert_mem_ne(ref[0], ref[2], GB_HMAC_SHA256_LEN);
	gb_hmac_thread_end();
	/* After the end, a thread can start over. */
	check_mac("Jefe", 4, "what do ya want for nothing?", 28,
	          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	gb_hmac_thread_end();
}
END_TEST

/* A key longer than GB_HMAC_KEY_MAX is not kept but still works. */
START_TEST(test_long_key)
{
	unsigned char *key = malloc(GB_HMAC_KEY_MAX + 1);
	unsigned char a[GB_HMAC_SHA256_LEN], b[GB_HMAC_SHA256_LEN];

	ck_assert_ptr_nonnull(key);
	memset(key, 'k', GB_HMAC_KEY_MAX + 1);
	ck_assert_int_eq(gb_hmac_sha256(key, GB_HMAC_KEY_MAX + 1, "m", 1, a), 0);
	ck_assert_int_eq(gb_hmac_sha256(key, GB_HMAC_KEY_MAX + 1, "m", 1, b), 0);
	ck_assert_mem_eq(a, b, sizeof(a));
	ck_assert_int_eq(gb_hmac_sha256(key, GB_HMAC_KEY_MAX, "m", 1, b), 0);
	ck_assert_mem_ne(a, b, sizeof(a));
	ck_assert_int_eq(gb_hmac_sha256(NULL, 4, "m", 1, b), -1);
	free(key);
	gb_hmac_thread_end();
}
END_TEST

static void *
worker(void *arg)
{
	unsigned char mac[GB_HMAC_SHA256_LEN];
	char got[2 * GB_HMAC_SHA256_LEN + 1];
	int i, *bad = arg;

	for (i = 0; i < 200; i++) {
		if (gb_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac) != 0) {
			(*bad)++;
			continue;
		}
		hex(mac, sizeof(mac), got);
		if (strcmp(got, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") != 0)
			(*bad)++;
	}
	gb_hmac_thread_end();
	return NULL;
}

/* Threads keep their own contexts: concurrent use gives right answers. */
START_TEST(test_threads)
{
	pthread_t t[4];
	int bad[4] = { 0 }, i;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker, &bad[i]), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(bad[i], 0);
	}
}
END_TEST

static Suite *
make_suite(void)
{
	Suite *s = suite_create("gb_hmac");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_rfc4231);
	tcase_add_test(tc, test_many_keys);
	tcase_add_test(tc, test_long_key);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

GB_TEST_MAIN(make_suite)
