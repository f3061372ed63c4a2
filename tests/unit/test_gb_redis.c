/* Tests for gb_redis_url_parse() in lib/gb_redis.c, and a dead server. */
#include "config.h"

#include "gb_redis.h"
#include "gb_test.h"

static const struct {
	const char *url;
	bool ok;
	bool is_unix;
	const char *host;
	int port;
	const char *path;
	const char *user, *password;
	long db;
} cases[] = {
	{ "redis://localhost", true, false, "localhost", 6379, "", "", "", 0 },
	{ "redis://127.0.0.1:6379/0", true, false, "127.0.0.1", 6379, "", "", "", 0 },
	{ "redis://localhost:6380", true, false, "localhost", 6380, "", "", "", 0 },
	{ "redis://localhost/2", true, false, "localhost", 6379, "", "", "", 2 },
	{ "redis://localhost/", true, false, "localhost", 6379, "", "", "", 0 },
	{ "redis://localhost:1/65535", true, false, "localhost", 1, "", "", "", 65535 },
	{ "redis://h:65535", true, false, "h", 65535, "", "", "", 0 },
	{ "redis://[::1]:6380", true, false, "::1", 6380, "", "", "", 0 },
	{ "redis://[::1]", true, false, "::1", 6379, "", "", "", 0 },
	{ "redis://[::1]/3", true, false, "::1", 6379, "", "", "", 3 },
	{ "redis://user:pass@host:1/2", true, false, "host", 1, "", "user", "pass", 2 },
	/* credentials end at the last '@' */
	{ "redis://:p@ss@host:1", true, false, "host", 1, "", "", "p@ss", 0 },
	{ "redis://:pass@host", true, false, "host", 6379, "", "", "pass", 0 },
	{ "redis://user:@host", true, false, "host", 6379, "", "user", "", 0 },
	{ "redis://:p%40ss%3Aw%2Fd%25@host", true, false, "host", 6379, "", "", "p@ss:w/d%", 0 },
	{ "redis://u%20v:x@[::1]:2/4", true, false, "::1", 2, "", "u v", "x", 4 },
	{ "unix:/run/redis.sock", true, true, "", 6379, "/run/redis.sock", "", "", 0 },
	{ "unix:/run/redis.sock?db=3", true, true, "", 6379, "/run/redis.sock", "", "", 3 },
	{ "unix:///run/redis.sock", true, true, "", 6379, "/run/redis.sock", "", "", 0 },
	{ "unix:///run/redis.sock?db=0", true, true, "", 6379, "/run/redis.sock", "", "", 0 },
	/* junk */
	{ "", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "localhost", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "http://localhost", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis:/localhost", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "REDIS://localhost", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "rediss://localhost", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis:///0", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://:6379", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://[::1", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://[]:1", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://[::1]x", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://[::1]:", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://user@host", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://:p%zz@host", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://:p%00@host", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://:p%@host", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	/* bad ports */
	{ "redis://h:", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://h:0", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://h:65536", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://h:-1", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://h:+80", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://h: 80", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://h:80x", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://h:abc", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://h:99999999999999999999", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://h:6379:6380", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://h:6379?db=1", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	/* bad databases */
	{ "redis://h/abc", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://h/-1", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://h/65536", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://h/1/2", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "redis://h/ 1", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	/* unix */
	{ "unix:", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "unix:relative.sock", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "unix://relative.sock", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "unix:/x?db=", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "unix:/x?db=65536", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "unix:/x?db=-1", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "unix:/x?db=1&x=2", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "unix:/x?foo=1", false, false, NULL, 0, NULL, NULL, NULL, 0 },
	{ "unix:/x?", false, false, NULL, 0, NULL, NULL, NULL, 0 },
};

START_TEST(test_parse)
{
	struct gb_redis_addr ad;
	const char *why = NULL;
	enum gb_err e;

	memset(&ad, 0x5a, sizeof(ad));
	e = gb_redis_url_parse(cases[_i].url, &ad, &why);
	ck_assert_msg((e == GB_OK) == cases[_i].ok, "\"%s\": %d (%s)", cases[_i].url, e,
	              why ? why : "");
	if (!cases[_i].ok) {
		ck_assert_int_eq(e, GB_EINVAL);
		ck_assert_ptr_nonnull(why);
		ck_assert_uint_gt(strlen(why), 0);
		return;
	}
	ck_assert_ptr_null(why);
	ck_assert(ad.is_unix == cases[_i].is_unix);
	ck_assert_str_eq(ad.host, cases[_i].host);
	ck_assert_int_eq(ad.port, cases[_i].port);
	ck_assert_str_eq(ad.path, cases[_i].path);
	ck_assert_str_eq(ad.user, cases[_i].user);
	ck_assert_str_eq(ad.password, cases[_i].password);
	ck_assert_int_eq(ad.db, cases[_i].db);
}
END_TEST

START_TEST(test_why_may_be_null)
{
	struct gb_redis_addr ad;

	ck_assert_int_eq(gb_redis_url_parse("junk", &ad, NULL), GB_EINVAL);
	ck_assert_int_eq(gb_redis_url_parse("redis://h", &ad, NULL), GB_OK);
}
END_TEST

/* url = prefix + c * n + suffix */
static enum gb_err
parse_long(const char *prefix, char c, size_t n, const char *suffix, struct gb_redis_addr *ad)
{
	char *mid = t_repeat(c, n);
	char *url = malloc(strlen(prefix) + n + strlen(suffix) + 1);
	enum gb_err e;

	ck_assert_ptr_nonnull(url);
	sprintf(url, "%s%s%s", prefix, mid, suffix);
	e = gb_redis_url_parse(url, ad, NULL);
	free(url);
	free(mid);
	return e;
}

START_TEST(test_lengths)
{
	struct gb_redis_addr ad;

	/* host: 255 bytes fit in host[256] */
	ck_assert_int_eq(parse_long("redis://", 'h', 255, ":1", &ad), GB_OK);
	ck_assert_uint_eq(strlen(ad.host), 255);
	ck_assert_int_eq(parse_long("redis://", 'h', 256, ":1", &ad), GB_EINVAL);
	ck_assert_int_eq(parse_long("redis://[", 'a', 255, "]", &ad), GB_OK);
	ck_assert_int_eq(parse_long("redis://[", 'a', 256, "]", &ad), GB_EINVAL);
	/* password: 255 bytes */
	ck_assert_int_eq(parse_long("redis://:", 'p', 255, "@h", &ad), GB_OK);
	ck_assert_uint_eq(strlen(ad.password), 255);
	ck_assert_int_eq(parse_long("redis://:", 'p', 256, "@h", &ad), GB_EINVAL);
	ck_assert_int_eq(parse_long("redis://:", 'p', 100000, "@h", &ad), GB_EINVAL);
	/* user: 63 bytes */
	ck_assert_int_eq(parse_long("redis://", 'u', 63, ":p@h", &ad), GB_OK);
	ck_assert_int_eq(parse_long("redis://", 'u', 64, ":p@h", &ad), GB_EINVAL);
	/* unix path: 107 bytes fit in path[108] */
	ck_assert_int_eq(parse_long("unix:/", 's', 106, "", &ad), GB_OK);
	ck_assert_uint_eq(strlen(ad.path), 107);
	ck_assert_int_eq(parse_long("unix:/", 's', 107, "", &ad), GB_EINVAL);
	ck_assert_int_eq(parse_long("unix:/", 's', 106, "?db=1", &ad), GB_OK);
	ck_assert_int_eq(ad.db, 1);
}
END_TEST

START_TEST(test_new_bad_url)
{
	const char *why = NULL;

	ck_assert_ptr_null(gb_redis_new("nope://", 100, &why));
	ck_assert_str_eq(why, "must start with redis:// or unix:");
	ck_assert_ptr_null(gb_redis_new("nope://", 100, NULL));
	gb_redis_free(NULL);
}
END_TEST

START_TEST(test_dead_server)
{
	/* nothing listens there: the call fails fast, the handle survives
	 * and says why, and a second call tries again */
	static const char *const urls[] = {
		"unix:/nonexistent/gerbang-test.sock",
		"redis://127.0.0.1:1/0",
	};
	struct gb_redis *r;
	enum gb_err e;
	size_t i;

	for (i = 0; i < NELEM(urls); i++) {
		r = gb_redis_new(urls[i], 200, NULL);
		ck_assert_ptr_nonnull(r);
		ck_assert_str_eq(gb_redis_last_error(r), "");
		ck_assert_int_eq(gb_redis_ping(r), GB_EREDIS);
		ck_assert_uint_gt(strlen(gb_redis_last_error(r)), 0);
		e = GB_OK;
		ck_assert_ptr_null(gb_redis_command(r, &e, "GET %s", "k"));
		ck_assert_int_eq(e, GB_EREDIS);
		ck_assert_ptr_null(gb_redis_command(r, NULL, "PING"));
		gb_redis_free(r);
	}
}
END_TEST

static Suite *
redis_suite(void)
{
	Suite *s = suite_create("gb_redis");
	TCase *tc = tcase_create("url");
	TCase *td = tcase_create("dead");

	tcase_add_loop_test(tc, test_parse, 0, (int)NELEM(cases));
	tcase_add_test(tc, test_why_may_be_null);
	tcase_add_test(tc, test_lengths);
	suite_add_tcase(s, tc);
	tcase_add_test(td, test_new_bad_url);
	tcase_add_test(td, test_dead_server);
	suite_add_tcase(s, td);
	return s;
}

GB_TEST_MAIN(redis_suite)
