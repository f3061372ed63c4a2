/* Tests for lib/gb_response.c: headers, reason phrases, the CGI head. */
#include "config.h"

#include "gb_response.h"
#include "gb_test.h"

static struct gb_resp r;

static void
setup(void)
{
	memset(&r, 0, sizeof(r));
	gb_buf_init(&r.body, 0);
}

static void
teardown(void)
{
	gb_buf_free(&r.body);
}

static const struct {
	const char *name, *value;
	int ret;
} header_cases[] = {
	{ "X-A", "b", 0 },
	{ "X-A", "", 0 },
	{ "X-A", "a b, c=d; e", 0 },
	{ "X-A", "a\tb", 0 },
	{ "X-A", "caf\xc3\xa9", 0 },
	{ "Cache-Control", "no-store", 0 },
	{ "x!#$%&'*+.^_`|~1", "v", 0 },
	{ "", "v", -1 },
	{ "X A", "v", -1 },
	{ " X", "v", -1 },
	{ "X:A", "v", -1 },
	{ "X-A:", "v", -1 },
	{ "X\tA", "v", -1 },
	{ "X-A\r", "v", -1 },
	{ "X-A\n", "v", -1 },
	{ "X\x7f", "v", -1 },
	{ "X\x01", "v", -1 },
	{ "X-A", "a\r\nSet-Cookie: x=1", -1 },
	{ "X-A", "a\nb", -1 },
	{ "X-A", "a\rb", -1 },
	{ "X-A", "a\x01", -1 },
	{ "X-A", "\x1f", -1 },
	{ "X-A", "a\x7f", -1 },
	{ "X-A", "\x00", 0 },   /* "" as a C string */
};

START_TEST(test_header)
{
	ck_assert_int_eq(gb_resp_header(&r, "X-First", "1"), 0);
	ck_assert_int_eq(gb_resp_header(&r, header_cases[_i].name, header_cases[_i].value),
	                 header_cases[_i].ret);
	if (header_cases[_i].ret == 0) {
		ck_assert_uint_eq(r.nheaders, 2);
		ck_assert_ptr_eq(r.headers[1].name, header_cases[_i].name);
		ck_assert_ptr_eq(r.headers[1].value, header_cases[_i].value);
	} else {
		ck_assert_uint_eq(r.nheaders, 1);       /* nothing added */
	}
	ck_assert_str_eq(r.headers[0].name, "X-First");
}
END_TEST

START_TEST(test_header_table_full)
{
	int i;

	for (i = 0; i < GB_RESP_HEADERS_MAX; i++)
		ck_assert_int_eq(gb_resp_header(&r, "X-N", "v"), 0);
	ck_assert_int_eq(gb_resp_header(&r, "X-N", "v"), -1);
	ck_assert_uint_eq(r.nheaders, GB_RESP_HEADERS_MAX);
}
END_TEST

static const struct {
	int status;
	const char *reason;
} reason_cases[] = {
	{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" }, { 204, "No Content" },
	{ 301, "Moved Permanently" }, { 304, "Not Modified" }, { 400, "Bad Request" },
	{ 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
	{ 405, "Method Not Allowed" }, { 406, "Not Acceptable" }, { 408, "Request Timeout" },
	{ 409, "Conflict" }, { 410, "Gone" }, { 412, "Precondition Failed" },
	{ 413, "Content Too Large" }, { 414, "URI Too Long" },
	{ 415, "Unsupported Media Type" }, { 422, "Unprocessable Content" },
	{ 428, "Precondition Required" }, { 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" }, { 500, "Internal Server Error" },
	{ 501, "Not Implemented" }, { 502, "Bad Gateway" }, { 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
	{ 0, "Unknown" }, { -1, "Unknown" }, { 99, "Unknown" }, { 299, "Unknown" },
	{ 418, "Unknown" }, { 600, "Unknown" }, { 2000, "Unknown" },
};

START_TEST(test_reason)
{
	ck_assert_str_eq(gb_status_reason(reason_cases[_i].status), reason_cases[_i].reason);
}
END_TEST

START_TEST(test_head_exact)
{
	struct gb_buf out = GB_BUF_INIT;

	r.status = 404;
	gb_buf_puts(&r.body, "{}");
	gb_resp_header(&r, "X-Request-Id", "abc");
	gb_resp_header(&r, "Allow", "GET, HEAD");
	ck_assert_int_eq(gb_resp_head(&r, &out), 0);
	ck_assert_str_eq(out.data,
	                 "Status: 404 Not Found\r\n"
	                 "Content-Type: application/json\r\n"
	                 "X-Request-Id: abc\r\n"
	                 "Allow: GET, HEAD\r\n"
	                 "Content-Length: 2\r\n"
	                 "\r\n");
	gb_buf_free(&out);
}
END_TEST

START_TEST(test_head_content_type_and_head_only)
{
	struct gb_buf out = GB_BUF_INIT;

	r.status = 200;
	r.content_type = "text/plain; version=0.0.4";
	r.head_only = true;     /* HEAD still reports the body's length */
	gb_buf_puts(&r.body, "metric 1\n");
	ck_assert_int_eq(gb_resp_head(&r, &out), 0);
	ck_assert_str_eq(out.data,
	                 "Status: 200 OK\r\n"
	                 "Content-Type: text/plain; version=0.0.4\r\n"
	                 "Content-Length: 9\r\n"
	                 "\r\n");
	gb_buf_reset(&out);
	r.status = 299;
	gb_buf_reset(&r.body);
	r.content_type = NULL;
	ck_assert_int_eq(gb_resp_head(&r, &out), 0);
	ck_assert_str_eq(out.data,
	                 "Status: 299 Unknown\r\n"
	                 "Content-Type: application/json\r\n"
	                 "Content-Length: 0\r\n"
	                 "\r\n");
	gb_buf_free(&out);
}
END_TEST

START_TEST(test_head_out_full)
{
	struct gb_buf out;

	gb_buf_init(&out, 30);
	r.status = 200;
	ck_assert_int_eq(gb_resp_head(&r, &out), -1);
	ck_assert(gb_buf_failed(&out));
	gb_buf_free(&out);
}
END_TEST

START_TEST(test_reset)
{
	char *data;

	r.status = 500;
	r.content_type = "text/plain";
	r.head_only = true;
	gb_resp_header(&r, "X-A", "b");
	gb_buf_puts(&r.body, "body");
	data = r.body.data;
	gb_resp_reset(&r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_null(r.content_type);
	ck_assert_uint_eq(r.nheaders, 0);
	ck_assert(!r.head_only);
	ck_assert_uint_eq(r.body.len, 0);
	ck_assert_ptr_eq(r.body.data, data);       /* a small body keeps its memory */
	ck_assert_str_eq(r.body.data, "");

	ck_assert_int_eq(gb_buf_reserve(&r.body, (1 << 20) + 1), 0);
	gb_resp_reset(&r);
	ck_assert_ptr_null(r.body.data);           /* a huge one is released */
	ck_assert_int_eq(gb_buf_puts(&r.body, "again"), 0);
}
END_TEST

static Suite *
response_suite(void)
{
	Suite *s = suite_create("gb_response");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_header, 0, (int)NELEM(header_cases));
	tcase_add_test(tc, test_header_table_full);
	tcase_add_loop_test(tc, test_reason, 0, (int)NELEM(reason_cases));
	tcase_add_test(tc, test_head_exact);
	tcase_add_test(tc, test_head_content_type_and_head_only);
	tcase_add_test(tc, test_head_out_full);
	tcase_add_test(tc, test_reset);
	suite_add_tcase(s, tc);
	return s;
}

GB_TEST_MAIN(response_suite)
