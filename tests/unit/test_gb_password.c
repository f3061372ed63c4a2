/* Tests for lib/gb_password.c: yescrypt hashes through libcrypt. */
#include "config.h"

#include <crypt.h>
#include <time.h>

#include "gb_password.h"
#include "gb_test.h"

#define PW "correct horse battery staple"

/* This thread's CPU time: the password work itself, whatever else the
 * machine is doing (wall time on a loaded CI machine is noise). */
static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_hash_verify)
{
	char h[GB_PASSWORD_HASH_SIZE];

	ck_assert_int_eq(gb_password_hash(PW, h, sizeof(h)), GB_OK);
	ck_assert_msg(strncmp(h, "$y$", 3) == 0, "hash %s", h);
	ck_assert(gb_password_verify(PW, h));
	ck_assert(!gb_password_verify(PW "!", h));
	ck_assert(!gb_password_verify("correct horse battery stapl", h));
	ck_assert(!gb_password_verify("Correct horse battery staple", h));
	ck_assert(!gb_password_verify("", h));
	ck_assert(!gb_password_verify(NULL, h));
	ck_assert(!gb_password_verify(PW, NULL));
	ck_assert(!gb_password_verify(PW, ""));
}
END_TEST

START_TEST(test_salted)
{
	char h1[GB_PASSWORD_HASH_SIZE], h2[GB_PASSWORD_HASH_SIZE];

	ck_assert_int_eq(gb_password_hash(PW, h1, sizeof(h1)), GB_OK);
	ck_assert_int_eq(gb_password_hash(PW, h2, sizeof(h2)), GB_OK);
	ck_assert_str_ne(h1, h2);
	ck_assert(gb_password_verify(PW, h1));
	ck_assert(gb_password_verify(PW, h2));
}
END_TEST

/* A changed or cut hash never matches: the whole result is compared. */
START_TEST(test_tampered)
{
	char h[GB_PASSWORD_HASH_SIZE], t[GB_PASSWORD_HASH_SIZE + 1];
	size_t n;

	ck_assert_int_eq(gb_password_hash(PW, h, sizeof(h)), GB_OK);
	n = strlen(h);
	strcpy(t, h);
	t[n - 1] = t[n - 1] == 'a' ? 'b' : 'a';
	ck_assert(!gb_password_verify(PW, t));
	strcpy(t, h);
	t[n - 1] = '\0';
	ck_assert(!gb_password_verify(PW, t));
	strcpy(t, h);
	strcat(t, "x");
	ck_assert(!gb_password_verify(PW, t));
	/* the setting alone (salt, no hash) is not the hash */
	strcpy(t, h);
	*strrchr(t, '$') = '\0';
	ck_assert(!gb_password_verify(PW, t));
}
END_TEST

START_TEST(test_locked)
{
	char h[GB_PASSWORD_HASH_SIZE], t[GB_PASSWORD_HASH_SIZE + 1];

	ck_assert_int_eq(gb_password_hash(PW, h, sizeof(h)), GB_OK);
	t[0] = '!';
	strcpy(t + 1, h);
	ck_assert(!gb_password_verify(PW, t));
	t[0] = '*';
	ck_assert(!gb_password_verify(PW, t));
	ck_assert(!gb_password_verify(PW, "*"));
	ck_assert(!gb_password_verify(PW, "!"));
	ck_assert(!gb_password_verify(PW, "*0"));
	ck_assert(gb_password_verify(PW, h));
}
END_TEST

/* Legacy methods do not match even when the hash is right. */
START_TEST(test_legacy_methods)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	static const char *const settings[] = { "ab", "$1$saltsalt$", "_J9..salt" };
	const char *h;
	size_t i;

	ck_assert_ptr_nonnull(cd);
	for (i = 0; i < NELEM(settings); i++) {
		h = crypt_r(PW, settings[i], cd);
		if (h == NULL || h[0] == '*')
			continue;   /* this libcrypt does not build the method at all */
		ck_assert_msg(!gb_password_verify(PW, h), "%s accepted", h);
	}
	/* a strong method other than yescrypt does match */
	h = crypt_r(PW, "$6$saltsaltsalt$", cd);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(h[0], '$');
	ck_assert(gb_password_verify(PW, h));
	free(cd);
}
END_TEST

static const struct {
	size_t len;          /* of a password of 'p' repeated */
	enum gb_err err;
} len_cases[] = {
	{ 0, GB_EINVAL },
	{ 1, GB_OK },
	{ GB_PASSWORD_MAX, GB_OK },
	{ GB_PASSWORD_MAX + 1, GB_EINVAL },
	{ 1024, GB_EINVAL },
	{ 1025, GB_EINVAL },
	{ 100000, GB_EINVAL },
};

START_TEST(test_length)
{
	char h[GB_PASSWORD_HASH_SIZE] = "unchanged";
	char *pw = t_repeat('p', len_cases[_i].len);

	ck_assert_int_eq(gb_password_hash(pw, h, sizeof(h)), len_cases[_i].err);
	if (len_cases[_i].err == GB_OK) {
		ck_assert(gb_password_verify(pw, h));
		pw[0] = 'q';
		ck_assert(!gb_password_verify(pw, h));
	} else {
		ck_assert_str_eq(h, "unchanged");
	}
	free(pw);
}
END_TEST

/* A password one byte too long never matches, even a hash of all but its
 * last byte. */
START_TEST(test_verify_too_long)
{
	char h[GB_PASSWORD_HASH_SIZE];
	char *pw = t_repeat('p', GB_PASSWORD_MAX + 1);

	pw[GB_PASSWORD_MAX] = '\0';
	ck_assert_int_eq(gb_password_hash(pw, h, sizeof(h)), GB_OK);
	ck_assert(gb_password_verify(pw, h));
	pw[GB_PASSWORD_MAX] = 'p';
	ck_assert(!gb_password_verify(pw, h));
	free(pw);
}
END_TEST

START_TEST(test_bad_args)
{
	char h[GB_PASSWORD_HASH_SIZE] = "unchanged";

	ck_assert_int_eq(gb_password_hash(NULL, h, sizeof(h)), GB_EINVAL);
	ck_assert_int_eq(gb_password_hash(PW, NULL, 100), GB_EINVAL);
	ck_assert_int_eq(gb_password_hash(PW, h, 20), GB_ERANGE);
	ck_assert_int_eq(gb_password_hash(PW, h, 0), GB_ERANGE);
	ck_assert_str_eq(h, "unchanged");
}
END_TEST

/* Burning costs about what verifying costs (a quarter at least, allowing
 * for a loaded machine), and nothing for input verify rejects at once. */
START_TEST(test_burn)
{
	char h[GB_PASSWORD_HASH_SIZE];
	double t0, t, verify_s, burn_s, locked_s;
	int i;

	ck_assert_int_eq(gb_password_hash(PW, h, sizeof(h)), GB_OK);
	gb_password_burn(PW);          /* makes the dummy hash */
	gb_password_burn(NULL);
	/* the least of three runs of each: what the work costs at best */
	verify_s = burn_s = locked_s = 1e9;
	for (i = 0; i < 3; i++) {
		t0 = cpu_s();
		ck_assert(gb_password_verify(PW, h));
		t = cpu_s() - t0;
		verify_s = t < verify_s ? t : verify_s;
		t0 = cpu_s();
		gb_password_burn("some other password");
		t = cpu_s() - t0;
		burn_s = t < burn_s ? t : burn_s;
		t0 = cpu_s();
		ck_assert(!gb_password_verify(PW, "!locked"));
		t = cpu_s() - t0;
		locked_s = t < locked_s ? t : locked_s;
	}
	ck_assert_msg(burn_s > verify_s / 4, "burn %.4fs, verify %.4fs", burn_s, verify_s);
	ck_assert_msg(locked_s > verify_s / 4, "locked %.4fs, verify %.4fs", locked_s, verify_s);
	ck_assert(gb_password_verify(PW, h));
}
END_TEST

static Suite *
password_suite(void)
{
	Suite *s = suite_create("gb_password");
	TCase *tc = tcase_create("password");

	tcase_set_timeout(tc, 30);   /* yescrypt under the sanitizers */
	tcase_add_test(tc, test_hash_verify);
	tcase_add_test(tc, test_salted);
	tcase_add_test(tc, test_tampered);
	tcase_add_test(tc, test_locked);
	tcase_add_test(tc, test_legacy_methods);
	tcase_add_loop_test(tc, test_length, 0, (int)NELEM(len_cases));
	tcase_add_test(tc, test_verify_too_long);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_burn);
	suite_add_tcase(s, tc);
	return s;
}

GB_TEST_MAIN(password_suite)
