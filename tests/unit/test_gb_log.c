/* Tests for lib/gb_log.c: one JSON object per line, levels, escaping. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <unistd.h>

#include "gb_log.h"
#include "gb_test.h"

static int fds[2];

static void
setup(void)
{
	ck_assert_int_eq(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
	gb_log_init("svc", GB_LOG_INFO, fds[1]);
}

static void
teardown(void)
{
	gb_log_thread_end();
	close(fds[0]);
	close(fds[1]);
}

/* Everything written so far, as a string (static). */
static const char *
drain(void)
{
	static char buf[1 << 17];
	size_t len = 0;
	ssize_t n;

	gb_log_flush();         /* access lines may wait in the thread */
	while ((n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	ck_assert(n == 0 || errno == EAGAIN);
	buf[len] = '\0';
	return buf;
}

/* Reads exactly one line and parses it. */
static json_t *
one_line(void)
{
	const char *s = drain();
	size_t len = strlen(s);
	json_error_t jerr;
	json_t *j;

	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(s[len - 1], '\n');
	ck_assert_ptr_eq(strchr(s, '\n'), s + len - 1);     /* one line only */
	j = json_loadb(s, len - 1, JSON_REJECT_DUPLICATES, &jerr);
	ck_assert_msg(j != NULL, "%s: %s", s, jerr.text);
	ck_assert(json_is_object(j));
	return j;
}

static const char *
str(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);

	ck_assert_msg(json_is_string(v), "%s is not a string", key);
	return json_string_value(v);
}

static void
assert_ts(json_t *j)
{
	const char *ts = str(j, "ts");
	int y, mo, d, h, mi, s, ms;
	char z;

	/* 2026-01-02T03:04:05.678Z */
	ck_assert_uint_eq(strlen(ts), 24);
	ck_assert_int_eq(sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &s,
	                        &ms, &z), 8);
	ck_assert_int_ge(y, 2024);
	ck_assert_int_eq(z, 'Z');
}

START_TEST(test_basic_line)
{
	json_t *j;

	gb_log(GB_LOG_INFO, "rid-1", "hello", "k", "v", "skipped", (const char *)NULL,
	       "k2", "v2", NULL);
	j = one_line();
	assert_ts(j);
	ck_assert_str_eq(str(j, "level"), "info");
	ck_assert_str_eq(str(j, "msg"), "hello");
	ck_assert_str_eq(str(j, "service"), "svc");
	ck_assert_str_eq(str(j, "request_id"), "rid-1");
	ck_assert_str_eq(str(j, "k"), "v");
	ck_assert_str_eq(str(j, "k2"), "v2");
	ck_assert_ptr_null(json_object_get(j, "skipped"));
	ck_assert_uint_eq(json_object_size(j), 7);
	json_decref(j);
}
END_TEST

START_TEST(test_field_order)
{
	const char *s;

	gb_log(GB_LOG_WARN, NULL, "m", "a", "1", NULL);
	s = drain();
	ck_assert_int_eq(strncmp(s, "{\"ts\":\"", 7), 0);
	ck_assert_str_eq(s + 7 + 24, "\",\"level\":\"warn\",\"msg\":\"m\",\"service\":\"svc\","
	                 "\"a\":\"1\"}\n");
}
END_TEST

START_TEST(test_no_request_id)
{
	json_t *j;

	gb_log(GB_LOG_ERROR, NULL, "boom", NULL);
	j = one_line();
	ck_assert_str_eq(str(j, "level"), "error");
	ck_assert_ptr_null(json_object_get(j, "request_id"));
	ck_assert_uint_eq(json_object_size(j), 4);
	json_decref(j);
}
END_TEST

START_TEST(test_levels)
{
	static const struct {
		enum gb_log_level min, level;
		bool written;
	} c[] = {
		{ GB_LOG_INFO, GB_LOG_DEBUG, false }, { GB_LOG_INFO, GB_LOG_INFO, true },
		{ GB_LOG_INFO, GB_LOG_ERROR, true }, { GB_LOG_WARN, GB_LOG_INFO, false },
		{ GB_LOG_WARN, GB_LOG_WARN, true }, { GB_LOG_ERROR, GB_LOG_WARN, false },
		{ GB_LOG_ERROR, GB_LOG_ERROR, true }, { GB_LOG_DEBUG, GB_LOG_DEBUG, true },
	};
	static const char *const names[] = { "debug", "info", "warn", "error" };
	size_t i;
	json_t *j;

	for (i = 0; i < NELEM(c); i++) {
		gb_log_init("svc", c[i].min, fds[1]);
		ck_assert(gb_log_enabled(c[i].level) == c[i].written);
		gb_log(c[i].level, "r", "m", NULL);
		if (!c[i].written) {
			ck_assert_str_eq(drain(), "");
			continue;
		}
		j = one_line();
		ck_assert_str_eq(str(j, "level"), names[c[i].level]);
		json_decref(j);
	}
}
END_TEST

START_TEST(test_escaping)
{
	json_t *j;

	gb_log(GB_LOG_INFO, "r", "a \"quoted\"\nline\r\\", "bad", "x\xff\xc3(y", "ctl", "\x01\t",
	       "ok", "caf\xc3\xa9", "key\"\n", "v", NULL);
	j = one_line();
	ck_assert_str_eq(str(j, "msg"), "a \"quoted\"\nline\r\\");
	ck_assert_str_eq(str(j, "bad"), "x\xef\xbf\xbd\xef\xbf\xbd(y");
	ck_assert_str_eq(str(j, "ctl"), "\x01\t");
	ck_assert_str_eq(str(j, "ok"), "caf\xc3\xa9");
	ck_assert_str_eq(str(j, "key\"\n"), "v");
	json_decref(j);
}
END_TEST

START_TEST(test_long_values)
{
	char *big = t_repeat('x', 50000);
	json_t *j;

	gb_log(GB_LOG_INFO, "r", "big", "v", big, NULL);
	j = one_line();
	ck_assert_uint_eq(strlen(str(j, "v")), 50000);
	json_decref(j);
	free(big);
	/* the next line is short and whole again */
	gb_log(GB_LOG_INFO, "r", "small", NULL);
	j = one_line();
	ck_assert_str_eq(str(j, "msg"), "small");
	json_decref(j);
}
END_TEST

START_TEST(test_service_name)
{
	char *svc = t_repeat('s', 100);
	json_t *j;

	gb_log_init(svc, GB_LOG_INFO, fds[1]);
	free(svc);                               /* copied */
	gb_log(GB_LOG_INFO, NULL, "m", NULL);
	j = one_line();
	ck_assert_uint_eq(strlen(str(j, "service")), 63);
	json_decref(j);
	gb_log_init("we\"ird\n", GB_LOG_INFO, fds[1]);
	gb_log(GB_LOG_INFO, NULL, "m", NULL);
	j = one_line();
	ck_assert_str_eq(str(j, "service"), "we\"ird\n");
	json_decref(j);
}
END_TEST

START_TEST(test_access_full)
{
	struct gb_access acc = {
		.request_id = "rid", .trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
		.method = "POST", .route = "/v1/users/{id}", .status = 201, .latency_ms = 1.5,
		.company_id = "c-1", .bytes = 1234, .upstream = "http://up:8080",
		.upstream_ms = 0.25,
	};
	json_t *j;

	gb_log_access(&acc);
	j = one_line();
	assert_ts(j);
	ck_assert_str_eq(str(j, "level"), "info");
	ck_assert_str_eq(str(j, "msg"), "request");
	ck_assert_str_eq(str(j, "service"), "svc");
	ck_assert_str_eq(str(j, "request_id"), "rid");
	ck_assert_str_eq(str(j, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
	ck_assert_str_eq(str(j, "method"), "POST");
	ck_assert_str_eq(str(j, "route"), "/v1/users/{id}");
	ck_assert(json_is_integer(json_object_get(j, "status")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 201);
	ck_assert(json_is_real(json_object_get(j, "latency_ms")));
	ck_assert_double_eq(json_real_value(json_object_get(j, "latency_ms")), 1.5);
	ck_assert_str_eq(str(j, "company_id"), "c-1");
	ck_assert(json_is_integer(json_object_get(j, "bytes")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "bytes")), 1234);
	ck_assert_str_eq(str(j, "upstream"), "http://up:8080");
	ck_assert_double_eq(json_real_value(json_object_get(j, "upstream_ms")), 0.25);
	ck_assert_uint_eq(json_object_size(j), 14);
	json_decref(j);
}
END_TEST

START_TEST(test_access_minimal)
{
	struct gb_access acc;
	json_t *j;

	memset(&acc, 0, sizeof(acc));
	acc.status = 404;
	gb_log_access(&acc);
	j = one_line();
	ck_assert_str_eq(str(j, "level"), "info");
	ck_assert_str_eq(str(j, "request_id"), "-");
	ck_assert_str_eq(str(j, "method"), "-");
	ck_assert_str_eq(str(j, "route"), "-");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 404);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "bytes")), 0);
	ck_assert_ptr_null(json_object_get(j, "trace_id"));
	ck_assert_ptr_null(json_object_get(j, "company_id"));
	ck_assert_ptr_null(json_object_get(j, "upstream"));
	ck_assert_ptr_null(json_object_get(j, "upstream_ms"));
	json_decref(j);
}
END_TEST

START_TEST(test_access_levels_and_escaping)
{
	struct gb_access acc;
	json_t *j;

	memset(&acc, 0, sizeof(acc));
	acc.status = 503;
	acc.method = "GE\"T\n";
	acc.route = "/\xff";
	gb_log_access(&acc);
	j = one_line();
	ck_assert_str_eq(str(j, "level"), "error");
	ck_assert_str_eq(str(j, "method"), "GE\"T\n");
	ck_assert_str_eq(str(j, "route"), "/\xef\xbf\xbd");
	json_decref(j);

	/* at warn, a 200 is dropped and a 500 is written */
	gb_log_init("svc", GB_LOG_WARN, fds[1]);
	acc.status = 200;
	gb_log_access(&acc);
	ck_assert_str_eq(drain(), "");
	acc.status = 500;
	gb_log_access(&acc);
	j = one_line();
	ck_assert_str_eq(str(j, "level"), "error");
	json_decref(j);
	gb_log_init("svc", GB_LOG_ERROR, fds[1]);
	acc.status = 499;
	gb_log_access(&acc);
	ck_assert_str_eq(drain(), "");
}
END_TEST

START_TEST(test_access_big_numbers)
{
	struct gb_access acc;
	json_t *j;

	memset(&acc, 0, sizeof(acc));
	acc.status = 200;
	acc.bytes = (uint64_t)1 << 62;
	acc.latency_ms = 123456.789;
	gb_log_access(&acc);
	j = one_line();
	ck_assert_int_eq(json_integer_value(json_object_get(j, "bytes")), (json_int_t)1 << 62);
	ck_assert_double_eq_tol(json_real_value(json_object_get(j, "latency_ms")), 123456.789,
	                        0.0005);
	json_decref(j);
}
END_TEST

/* Everything in the pipe without flushing the thread's access lines. */
static size_t
pipe_bytes(void)
{
	char buf[8192];
	size_t len = 0;
	ssize_t n;

	while ((n = read(fds[0], buf, sizeof(buf))) > 0)
		len += (size_t)n;
	return len;
}

/* Access lines wait, whole, until 4096 bytes, an idle flush, the thread's
 * end or another line, which they precede. */
START_TEST(test_access_lines_wait)
{
	struct gb_access acc;
	const char *s;
	size_t total = 0, before;
	int i;

	memset(&acc, 0, sizeof(acc));
	acc.status = 200;
	acc.route = "/x";
	gb_log_access(&acc);
	gb_log_access(&acc);
	ck_assert_uint_eq(pipe_bytes(), 0);
	gb_log(GB_LOG_WARN, NULL, "other", NULL);
	s = drain();
	/* the two access lines first, then the other: order kept */
	ck_assert_ptr_nonnull(strstr(s, "\"msg\":\"request\""));
	ck_assert(strstr(s, "\"msg\":\"request\"") < strstr(s, "\"msg\":\"other\""));
	/* many lines: written in whole-line pieces of at most 4096 bytes */
	for (i = 0; i < 200; i++) {
		gb_log_access(&acc);
		before = pipe_bytes();
		ck_assert_uint_le(before, 4096);
		total += before;
	}
	ck_assert_uint_gt(total, 0);
	total += strlen(drain());
	ck_assert_uint_eq(total % 200, 0);          /* 200 lines of one length */
	gb_log_access(&acc);
	gb_log_thread_end();                        /* the end writes them */
	ck_assert_uint_gt(pipe_bytes(), 0);
}
END_TEST

START_TEST(test_closed_fd)
{
	/* a dead log fd loses lines but never crashes */
	gb_log_init("svc", GB_LOG_INFO, -1);
	gb_log(GB_LOG_INFO, "r", "lost", NULL);
	gb_log_init("svc", GB_LOG_INFO, fds[1]);
	gb_log(GB_LOG_INFO, "r", "kept", NULL);
	ck_assert_ptr_nonnull(strstr(drain(), "\"msg\":\"kept\""));
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("gb_log");
	TCase *tc = tcase_create("log");
	TCase *ta = tcase_create("access");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_basic_line);
	tcase_add_test(tc, test_field_order);
	tcase_add_test(tc, test_no_request_id);
	tcase_add_test(tc, test_levels);
	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_long_values);
	tcase_add_test(tc, test_service_name);
	tcase_add_test(tc, test_closed_fd);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(ta, setup, teardown);
	tcase_add_test(ta, test_access_full);
	tcase_add_test(ta, test_access_minimal);
	tcase_add_test(ta, test_access_levels_and_escaping);
	tcase_add_test(ta, test_access_big_numbers);
	tcase_add_test(ta, test_access_lines_wait);
	suite_add_tcase(s, ta);
	return s;
}

GB_TEST_MAIN(log_suite)
