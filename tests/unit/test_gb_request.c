/* Tests for lib/gb_request.c: parsing the FastCGI parameters, headers,
 * the body and JSON bodies. */
#include "config.h"

#include "gb_request.h"
#include "gb_test.h"

#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define PARENT "00f067aa0ba902b7"

static struct gb_arena *a;
static struct gb_req r;
static struct gb_req_error e;
static struct t_env env;

static void
setup(void)
{
	a = gb_arena_new(4096);
	ck_assert_ptr_nonnull(a);
	env.v = NULL;
	env.n = 0;
}

static void
teardown(void)
{
	t_env_free(&env);
	gb_arena_free(a);
	a = NULL;
}

static enum gb_err
parse(void)
{
	memset(&e, 0x5a, sizeof(e));
	return gb_req_parse(&r, a, env.v, &e);
}

/* ---- gb_req_parse: target, method, basics ----------------------------- */

START_TEST(test_request_uri)
{
	env = t_env_make("REQUEST_METHOD=POST", "REQUEST_URI=/v1/./users/?limit=10&x=a%20b",
	                 "QUERY_STRING=ignored=1", "REMOTE_ADDR=192.0.2.7", NULL);
	ck_assert_int_eq(parse(), GB_OK);
	ck_assert_int_eq(e.err, GB_OK);
	ck_assert_ptr_null(e.field);
	ck_assert_str_eq(e.msg, "");
	ck_assert_ptr_eq(r.arena, a);
	ck_assert_str_eq(r.method, "POST");
	ck_assert_str_eq(r.raw_path, "/v1/./users/");
	ck_assert_str_eq(r.path, "/v1/users/");
	ck_assert_str_eq(r.query_string, "limit=10&x=a%20b");
	ck_assert_uint_eq(r.query.n, 2);
	ck_assert_str_eq(gb_query_get(&r.query, "limit"), "10");
	ck_assert_str_eq(gb_query_get(&r.query, "x"), "a b");
	ck_assert_ptr_null(gb_query_get(&r.query, "ignored"));
	ck_assert_str_eq(r.remote_addr, "192.0.2.7");
	ck_assert_ptr_null(r.content_type);
	ck_assert_int_eq(r.content_length, -1);
	ck_assert(!r.https);
	ck_assert_ptr_null(r.body);
	ck_assert(!r.body_done);
}
END_TEST

static const struct {
	const char *uri;
	const char *raw_path, *path, *qs;
	size_t nq;
} uri_cases[] = {
	{ "/", "/", "/", "", 0 },
	{ "/a/../b/", "/a/../b/", "/b/", "", 0 },
	{ "/x?", "/x", "/x", "", 0 },
	{ "/x??a=1", "/x", "/x", "?a=1", 1 },
	{ "/x?a=1?b", "/x", "/x", "a=1?b", 1 },
	{ "/%7Euser", "/%7Euser", "/~user", "", 0 },
	{ "//healthz", "//healthz", "/healthz", "", 0 },
	{ "/x?&&", "/x", "/x", "&&", 0 },
};

START_TEST(test_request_uri_table)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "REQUEST_URI=%s", uri_cases[_i].uri);
	env = t_env_make("REQUEST_METHOD=GET", buf, NULL);
	ck_assert_int_eq(parse(), GB_OK);
	ck_assert_str_eq(r.raw_path, uri_cases[_i].raw_path);
	ck_assert_str_eq(r.path, uri_cases[_i].path);
	ck_assert_str_eq(r.query_string, uri_cases[_i].qs);
	ck_assert_uint_eq(r.query.n, uri_cases[_i].nq);
}
END_TEST

START_TEST(test_cgi_fallback)
{
	env = t_env_make("REQUEST_METHOD=GET", "SCRIPT_NAME=/cgi", "PATH_INFO=/x/../y",
	                 "QUERY_STRING=a=1&b", NULL);
	ck_assert_int_eq(parse(), GB_OK);
	ck_assert_str_eq(r.raw_path, "/cgi/x/../y");
	ck_assert_str_eq(r.path, "/cgi/y");
	ck_assert_str_eq(r.query_string, "a=1&b");
	ck_assert_uint_eq(r.query.n, 2);
	ck_assert_str_eq(gb_query_get(&r.query, "b"), "");
}
END_TEST

START_TEST(test_cgi_fallback_parts)
{
	/* PATH_INFO alone; an empty REQUEST_URI counts as absent */
	env = t_env_make("REQUEST_URI=", "PATH_INFO=/healthz", NULL);
	ck_assert_int_eq(parse(), GB_OK);
	ck_assert_str_eq(r.path, "/healthz");
	ck_assert_str_eq(r.query_string, "");
	t_env_free(&env);

	/* nothing at all: "/" */
	env = t_env_make("REQUEST_METHOD=GET", NULL);
	ck_assert_int_eq(parse(), GB_OK);
	ck_assert_str_eq(r.raw_path, "/");
	ck_assert_str_eq(r.path, "/");
	ck_assert_str_eq(r.query_string, "");
	ck_assert_uint_eq(r.query.n, 0);
	t_env_free(&env);

	env = t_env_make("SCRIPT_NAME=/only", NULL);
	ck_assert_int_eq(parse(), GB_OK);
	ck_assert_str_eq(r.path, "/only");
	t_env_free(&env);

	/* a relative PATH_INFO is still a malformed path */
	env = t_env_make("PATH_INFO=relative", NULL);
	ck_assert_int_eq(parse(), GB_EINVAL);
	ck_assert_str_eq(e.field, "path");
}
END_TEST

START_TEST(test_method_default_and_exact_names)
{
	/* a parameter name must match whole: REQUEST_METHODX is not it */
	env = t_env_make("REQUEST_METHODX=PUT", "XREQUEST_METHOD=PUT", "REQUEST_URI=/", NULL);
	ck_assert_int_eq(parse(), GB_OK);
	ck_assert_str_eq(r.method, "GET");
	t_env_free(&env);
	env = t_env_make("REQUEST_METHOD=", "REQUEST_URI=/", NULL);
	ck_assert_int_eq(parse(), GB_OK);
	ck_assert_str_eq(r.method, "GET");
	t_env_free(&env);
	env = t_env_make("REQUEST_METHOD=DELETE", "REQUEST_URI=/", NULL);
	ck_assert_int_eq(parse(), GB_OK);
	ck_assert_str_eq(r.method, "DELETE");
}
END_TEST

START_TEST(test_https_and_content_type)
{
	static const struct {
		const char *https;
		bool on;
	} h[] = { { "HTTPS=on", true }, { "HTTPS=ON", true }, { "HTTPS=off", false },
	          { "HTTPS=", false }, { "HTTPS=1", false }, { "X=1", false } };
	size_t i;

	for (i = 0; i < NELEM(h); i++) {
		env = t_env_make(h[i].https, "CONTENT_TYPE=application/json", NULL);
		ck_assert_int_eq(parse(), GB_OK);
		ck_assert(r.https == h[i].on);
		ck_assert_str_eq(r.content_type, "application/json");
		t_env_free(&env);
	}
	env = t_env_make("CONTENT_TYPE=", NULL);
	ck_assert_int_eq(parse(), GB_OK);
	ck_assert_ptr_null(r.content_type);
}
END_TEST

/* ---- CONTENT_LENGTH --------------------------------------------------- */

static const struct {
	const char *cl;       /* the whole parameter */
	enum gb_err err;
	long value;
} cl_cases[] = {
	{ "CONTENT_LENGTH=0", GB_OK, 0 },
	{ "CONTENT_LENGTH=12", GB_OK, 12 },
	{ "CONTENT_LENGTH=007", GB_OK, 7 },
	{ "CONTENT_LENGTH=4611686018427387904", GB_OK, 4611686018427387904L },
	{ "CONTENT_LENGTH=", GB_OK, -1 },
	{ "GB_NONE=1", GB_OK, -1 },
	{ "CONTENT_LENGTH=abc", GB_EINVAL, 0 },
	{ "CONTENT_LENGTH=-1", GB_EINVAL, 0 },
	{ "CONTENT_LENGTH=+12", GB_EINVAL, 0 },
	{ "CONTENT_LENGTH= 12", GB_EINVAL, 0 },
	{ "CONTENT_LENGTH=12 ", GB_EINVAL, 0 },
	{ "CONTENT_LENGTH=1.5", GB_EINVAL, 0 },
	{ "CONTENT_LENGTH=0x10", GB_EINVAL, 0 },
	{ "CONTENT_LENGTH=12,12", GB_EINVAL, 0 },
	{ "CONTENT_LENGTH=4611686018427387905", GB_EINVAL, 0 },
	{ "CONTENT_LENGTH=99999999999999999999999", GB_EINVAL, 0 },
};

START_TEST(test_content_length)
{
	env = t_env_make("REQUEST_URI=/", "HTTP_X_REQUEST_ID=cl-test", cl_cases[_i].cl, NULL);
	ck_assert_int_eq(parse(), cl_cases[_i].err);
	if (cl_cases[_i].err == GB_OK) {
		ck_assert_int_eq(r.content_length, cl_cases[_i].value);
	} else {
		ck_assert_int_eq(e.err, GB_EINVAL);
		ck_assert_str_eq(e.field, "headers");
		ck_assert_str_eq(e.msg, "invalid Content-Length");
		/* the request id is valid even when parsing fails */
		ck_assert_str_eq(r.request_id, "cl-test");
		ck_assert(t_is_lower_hex(r.trace.trace_id, 32));
	}
}
END_TEST

/* ---- path and query errors -------------------------------------------- */

START_TEST(test_bad_targets)
{
	static const struct {
		const char *uri;
		enum gb_err err;
		const char *field, *msg;
	} c[] = {
		{ "REQUEST_URI=/a%2fb", GB_EINVAL, "path", "the path is malformed" },
		{ "REQUEST_URI=/..", GB_EINVAL, "path", "the path is malformed" },
		{ "REQUEST_URI=/a%0a", GB_EINVAL, "path", "the path is malformed" },
		{ "REQUEST_URI=relative", GB_EINVAL, "path", "the path is malformed" },
		{ "REQUEST_URI=http://h/x", GB_EINVAL, "path", "the path is malformed" },
		{ "REQUEST_URI=/x?a=%zz", GB_EINVAL, "query", "the query string is malformed" },
		{ "REQUEST_URI=/x?a=%00", GB_EINVAL, "query", "the query string is malformed" },
		{ "QUERY_STRING=%", GB_EINVAL, "query", "the query string is malformed" },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		env = t_env_make("HTTP_X_REQUEST_ID=keep-me", c[i].uri, NULL);
		ck_assert_int_eq(parse(), c[i].err);
		ck_assert_int_eq(e.err, c[i].err);
		ck_assert_str_eq(e.field, c[i].field);
		ck_assert_str_eq(e.msg, c[i].msg);
		ck_assert_str_eq(r.request_id, "keep-me");
		t_env_free(&env);
	}
}
END_TEST

START_TEST(test_too_long_targets)
{
	char *q;
	size_t i;

	t_env_init(&env);
	t_env_add_long(&env, "REQUEST_URI", 'a', GB_PATH_MAX + 1);
	env.v[env.n - 1][strlen("REQUEST_URI=")] = '/';
	ck_assert_int_eq(parse(), GB_ETOOBIG);
	ck_assert_str_eq(e.field, "path");
	ck_assert_str_eq(e.msg, "the path is too long");
	t_env_free(&env);

	t_env_init(&env);
	t_env_add_long(&env, "QUERY_STRING", 'a', GB_QUERY_MAX + 1);
	ck_assert_int_eq(parse(), GB_ETOOBIG);
	ck_assert_str_eq(e.field, "query");
	ck_assert_str_eq(e.msg, "the query string is too long or has too many parameters");
	t_env_free(&env);

	q = malloc(16 + 4 * (GB_QUERY_PARAMS_MAX + 1));
	ck_assert_ptr_nonnull(q);
	strcpy(q, "REQUEST_URI=/?");
	for (i = 0; i <= GB_QUERY_PARAMS_MAX; i++)
		strcat(q, "a=1&");
	env = t_env_make(q, NULL);
	free(q);
	ck_assert_int_eq(parse(), GB_ETOOBIG);
	ck_assert_str_eq(e.field, "query");
}
END_TEST

/* ---- request id and trace --------------------------------------------- */

START_TEST(test_request_id_kept)
{
	static const char *const keep[] = { "abc-123", "A.b_C-d", "x" };
	char buf[128];
	size_t i;

	for (i = 0; i < NELEM(keep); i++) {
		snprintf(buf, sizeof(buf), "HTTP_X_REQUEST_ID=%s", keep[i]);
		env = t_env_make(buf, NULL);
		ck_assert_int_eq(parse(), GB_OK);
		ck_assert_str_eq(r.request_id, keep[i]);
		t_env_free(&env);
	}
	t_env_init(&env);
	t_env_add_long(&env, "HTTP_X_REQUEST_ID", 'z', GB_REQID_MAX);
	ck_assert_int_eq(parse(), GB_OK);
	ck_assert_uint_eq(strlen(r.request_id), GB_REQID_MAX);
	ck_assert_int_eq(r.request_id[0], 'z');
}
END_TEST

START_TEST(test_request_id_replaced)
{
	static const char *const bad[] = {
		"HTTP_X_REQUEST_ID=", "HTTP_X_REQUEST_ID=has space", "HTTP_X_REQUEST_ID=caf\xc3\xa9",
		"HTTP_X_REQUEST_ID=a\"b", "HTTP_X_REQUEST_ID=a/b", "HTTP_X_REQUEST_ID=x\ny",
		"GB_NO_ID=1",
	};
	char prev[GB_REQID_MAX + 1] = "";
	size_t i;

	for (i = 0; i < NELEM(bad); i++) {
		env = t_env_make(bad[i], NULL);
		ck_assert_int_eq(parse(), GB_OK);
		ck_assert_msg(t_is_lower_hex(r.request_id, 32), "%s -> %s", bad[i], r.request_id);
		ck_assert_str_ne(r.request_id, prev);
		memcpy(prev, r.request_id, sizeof(prev));
		t_env_free(&env);
	}
	/* 65 characters, and a huge value */
	t_env_init(&env);
	t_env_add_long(&env, "HTTP_X_REQUEST_ID", 'z', GB_REQID_MAX + 1);
	ck_assert_int_eq(parse(), GB_OK);
	ck_assert(t_is_lower_hex(r.request_id, 32));
	t_env_free(&env);
	t_env_init(&env);
	t_env_add_long(&env, "HTTP_X_REQUEST_ID", 'z', 1 << 20);
	ck_assert_int_eq(parse(), GB_OK);
	ck_assert(t_is_lower_hex(r.request_id, 32));
}
END_TEST

START_TEST(test_traceparent_continued)
{
	env = t_env_make("HTTP_TRACEPARENT=00-" TRACE "-" PARENT "-01", NULL);
	ck_assert_int_eq(parse(), GB_OK);
	ck_assert_str_eq(r.trace.trace_id, TRACE);
	ck_assert_str_eq(r.trace.parent_id, PARENT);
	ck_assert_uint_eq(r.trace.flags, 1);
	ck_assert(t_is_lower_hex(r.trace.span_id, 16));
	ck_assert_str_ne(r.trace.span_id, PARENT);
}
END_TEST

START_TEST(test_traceparent_replaced)
{
	static const char *const bad[] = {
		"HTTP_TRACEPARENT=", "HTTP_TRACEPARENT=garbage",
		"HTTP_TRACEPARENT=00-" TRACE "-" PARENT "-01-extra",
		"HTTP_TRACEPARENT=ff-" TRACE "-" PARENT "-01",
		"HTTP_TRACEPARENT=00-00000000000000000000000000000000-" PARENT "-01",
		"GB_NO_TRACE=1",
	};
	size_t i;

	for (i = 0; i < NELEM(bad); i++) {
		env = t_env_make(bad[i], NULL);
		ck_assert_int_eq(parse(), GB_OK);
		ck_assert(t_is_lower_hex(r.trace.trace_id, 32));
		ck_assert_str_ne(r.trace.trace_id, TRACE);
		ck_assert_str_eq(r.trace.parent_id, "");
		ck_assert(t_is_lower_hex(r.trace.span_id, 16));
		t_env_free(&env);
	}
	t_env_init(&env);
	t_env_add_long(&env, "HTTP_TRACEPARENT", '0', 100000);
	ck_assert_int_eq(parse(), GB_OK);
	ck_assert(t_is_lower_hex(r.trace.trace_id, 32));
}
END_TEST

/* ---- headers ---------------------------------------------------------- */

START_TEST(test_header_lookup)
{
	static const char *const names[] = {
		"X-Request-Id", "x-request-id", "X-REQUEST-ID", "x-ReQuEsT-iD", "X_Request_Id",
		"x_request-id",
	};
	char *name;
	size_t i;

	env = t_env_make("HTTP_X_REQUEST_ID=rid", "HTTP_ACCEPT=text/html", "HTTP_X=one",
	                 "HTTP_EMPTY=", "CONTENT_TYPE=text/plain", NULL);
	ck_assert_int_eq(parse(), GB_OK);
	for (i = 0; i < NELEM(names); i++)
		ck_assert_pstr_eq(gb_req_header(&r, names[i]), "rid");
	ck_assert_pstr_eq(gb_req_header(&r, "accept"), "text/html");
	ck_assert_pstr_eq(gb_req_header(&r, "x"), "one");
	ck_assert_pstr_eq(gb_req_header(&r, "Empty"), "");
	ck_assert_ptr_null(gb_req_header(&r, "X-Request"));
	ck_assert_ptr_null(gb_req_header(&r, "X-Request-Id-2"));
	ck_assert_ptr_null(gb_req_header(&r, "Accept-Language"));
	ck_assert_ptr_null(gb_req_header(&r, ""));
	/* CGI passes Content-Type as CONTENT_TYPE, not as a header */
	ck_assert_ptr_null(gb_req_header(&r, "Content-Type"));
	ck_assert_pstr_eq(gb_req_param(&r, "CONTENT_TYPE"), "text/plain");
	ck_assert_pstr_eq(gb_req_param(&r, "HTTP_X"), "one");
	ck_assert_ptr_null(gb_req_param(&r, "HTTP_"));
	ck_assert_ptr_null(gb_req_param(&r, "CONTENT"));

	/* huge values come back whole */
	t_env_free(&env);
	t_env_init(&env);
	t_env_add_long(&env, "HTTP_X_BIG", 'v', 100000);
	ck_assert_int_eq(parse(), GB_OK);
	ck_assert_uint_eq(strlen(gb_req_header(&r, "X-Big")), 100000);

	/* a 127-byte name is looked up, a 128-byte one is not */
	t_env_free(&env);
	name = t_repeat('A', 128);
	t_env_init(&env);
	{
		char *p = malloc(5 + 128 + 3);

		ck_assert_ptr_nonnull(p);
		sprintf(p, "HTTP_%.127s=v", name);
		t_env_add(&env, p);
		sprintf(p, "HTTP_%s=w", name);
		t_env_add(&env, p);
		free(p);
	}
	ck_assert_int_eq(parse(), GB_OK);
	memset(name, 'a', 128);
	ck_assert_ptr_null(gb_req_header(&r, name));
	name[127] = '\0';
	ck_assert_pstr_eq(gb_req_header(&r, name), "v");
	free(name);
}
END_TEST

/* ---- gb_req_body ------------------------------------------------------ */

struct fake_body {
	const char *data;
	size_t len, pos;
	size_t chunk;        /* most bytes per call; 0 = any */
	bool fail;           /* return -1 once data runs out instead of 0 */
	int calls;
};

static ssize_t
fake_read(void *io, char *buf, size_t n)
{
	struct fake_body *f = io;
	size_t take = f->len - f->pos;

	f->calls++;
	if (take == 0)
		return f->fail ? -1 : 0;
	if (take > n)
		take = n;
	if (f->chunk != 0 && take > f->chunk)
		take = f->chunk;
	memcpy(buf, f->data + f->pos, take);
	f->pos += take;
	return (ssize_t)take;
}

static void
body_setup(const char *cl, const char *ct, struct fake_body *f, size_t max)
{
	env = t_env_make("REQUEST_METHOD=POST", "REQUEST_URI=/", cl, ct, NULL);
	ck_assert_int_eq(parse(), GB_OK);
	r.body_read = fake_read;
	r.body_io = f;
	r.body_max = max;
	memset(&e, 0, sizeof(e));
}

START_TEST(test_body_ok)
{
	struct fake_body f = { "hello", 5, 0, 0, false, 0 };

	body_setup("CONTENT_LENGTH=5", "X=1", &f, 10);
	ck_assert_int_eq(gb_req_body(&r, &e), GB_OK);
	ck_assert_uint_eq(r.body_len, 5);
	ck_assert_str_eq(r.body, "hello");
	ck_assert(r.body_done);
	/* read once: a second call returns the same body without reading */
	f.calls = 0;
	ck_assert_int_eq(gb_req_body(&r, &e), GB_OK);
	ck_assert_int_eq(f.calls, 0);
	ck_assert_str_eq(r.body, "hello");
}
END_TEST

START_TEST(test_body_chunks)
{
	struct fake_body f = { "0123456789abcdef", 16, 0, 1, false, 0 };

	body_setup("CONTENT_LENGTH=16", "X=1", &f, 16);     /* exactly the limit */
	ck_assert_int_eq(gb_req_body(&r, &e), GB_OK);
	ck_assert_uint_eq(r.body_len, 16);
	ck_assert_str_eq(r.body, "0123456789abcdef");
	ck_assert_int_eq(f.calls, 16);
}
END_TEST

START_TEST(test_body_stops_at_length)
{
	struct fake_body f = { "hello world", 11, 0, 0, false, 0 };

	body_setup("CONTENT_LENGTH=5", "X=1", &f, 100);
	ck_assert_int_eq(gb_req_body(&r, &e), GB_OK);
	ck_assert_str_eq(r.body, "hello");
	ck_assert_uint_eq(f.pos, 5);
}
END_TEST

START_TEST(test_body_empty)
{
	struct fake_body f = { "ignored", 7, 0, 0, false, 0 };

	body_setup("GB_NO_CL=1", "X=1", &f, 100);
	ck_assert_int_eq(gb_req_body(&r, &e), GB_OK);
	ck_assert_uint_eq(r.body_len, 0);
	ck_assert_str_eq(r.body, "");
	t_env_free(&env);
	body_setup("CONTENT_LENGTH=0", "X=1", &f, 0);
	ck_assert_int_eq(gb_req_body(&r, &e), GB_OK);
	ck_assert_uint_eq(r.body_len, 0);
}
END_TEST

START_TEST(test_body_short)
{
	struct fake_body f = { "hello", 5, 0, 2, false, 0 };

	body_setup("CONTENT_LENGTH=10", "X=1", &f, 100);
	ck_assert_int_eq(gb_req_body(&r, &e), GB_EIO);
	ck_assert_int_eq(e.err, GB_EIO);
	ck_assert_str_eq(e.field, "body");
	ck_assert_str_eq(e.msg, "the request body ended early");
	ck_assert_ptr_null(r.body);
	ck_assert(!r.body_done);
}
END_TEST

START_TEST(test_body_read_error)
{
	struct fake_body f = { "abc", 3, 0, 0, true, 0 };

	body_setup("CONTENT_LENGTH=5", "X=1", &f, 100);
	ck_assert_int_eq(gb_req_body(&r, &e), GB_EIO);
	ck_assert_str_eq(e.field, "body");
	t_env_free(&env);
	/* no reader at all */
	body_setup("CONTENT_LENGTH=5", "X=1", &f, 100);
	r.body_read = NULL;
	ck_assert_int_eq(gb_req_body(&r, &e), GB_EIO);
}
END_TEST

START_TEST(test_body_too_big)
{
	struct fake_body f = { "01234567890", 11, 0, 0, false, 0 };

	body_setup("CONTENT_LENGTH=11", "X=1", &f, 10);
	ck_assert_int_eq(gb_req_body(&r, &e), GB_ETOOBIG);
	ck_assert_int_eq(e.err, GB_ETOOBIG);
	ck_assert_str_eq(e.field, "body");
	ck_assert_str_eq(e.msg, "the request body is too large");
	ck_assert_int_eq(f.calls, 0);        /* refused before reading */
	ck_assert_ptr_null(r.body);
	t_env_free(&env);
	body_setup("CONTENT_LENGTH=4611686018427387904", "X=1", &f, 1 << 20);
	ck_assert_int_eq(gb_req_body(&r, &e), GB_ETOOBIG);
}
END_TEST

#if !T_ASAN
/* An allocation failure is described in e like any other error (under
 * ASan a 4 EiB malloc aborts instead of failing, so not there). */
START_TEST(test_body_enomem)
{
	struct fake_body f = { "x", 1, 0, 0, false, 0 };

	body_setup("CONTENT_LENGTH=4611686018427387904", "X=1", &f, SIZE_MAX);
	e.err = GB_OK;
	ck_assert_int_eq(gb_req_body(&r, &e), GB_ENOMEM);
	ck_assert_int_eq(e.err, GB_ENOMEM);
	ck_assert_str_eq(e.msg, "out of memory");
	ck_assert_int_eq(f.calls, 0);
}
END_TEST
#endif

/* ---- gb_content_type_is_json ------------------------------------------ */

static const struct {
	const char *ct;
	bool json;
} ct_cases[] = {
	{ "application/json", true },
	{ "APPLICATION/JSON", true },
	{ "Application/Json", true },
	{ "application/json; charset=utf-8", true },
	{ "application/json;charset=UTF-8", true },
	{ "application/json ; charset=utf-8", true },
	{ " application/json", true },
	{ "\tapplication/json\t", true },
	{ "application/problem+json", true },
	{ "application/vnd.api+json; ext=x", true },
	{ "application/merge-patch+JSON", true },
	{ "application/jsonx", false },
	{ "application/json-patch", false },
	{ "application/jso", false },
	{ "application/+json", false },
	{ "application/a/b+json", false },
	{ "application/a b+json", false },
	{ "application/x+jsonx", false },
	{ "text/json", false },
	{ "text/plain", false },
	{ "text/plain+json", false },
	{ "applicationjson", false },
	{ "json", false },
	{ "", false },
	{ ";application/json", false },
	{ "multipart/form-data; boundary=application/json", false },
};

START_TEST(test_content_type)
{
	ck_assert_msg(gb_content_type_is_json(ct_cases[_i].ct) == ct_cases[_i].json, "\"%s\"",
	              ct_cases[_i].ct);
}
END_TEST

START_TEST(test_content_type_null)
{
	ck_assert(!gb_content_type_is_json(NULL));
}
END_TEST

/* ---- gb_json_parse_object / gb_req_json ------------------------------- */

static const struct {
	const char *text;
	enum gb_err err;
	const char *msg;       /* exact e.msg on error */
} json_cases[] = {
	{ "{}", GB_OK, NULL },
	{ " {\"a\":1,\"b\":[true,null,\"x\"]} \n", GB_OK, NULL },
	{ "{\"a\":{\"a\":1}}", GB_OK, NULL },        /* same key, different objects */
	{ "", GB_EINVAL, "a JSON object body is required" },
	{ "{\"a\":", GB_EINVAL,
	  "invalid JSON at line 1, column 5: unexpected token near end of file" },
	{ "{\n  \"a\": tru\n}", GB_EINVAL,
	  "invalid JSON at line 2, column 10: invalid token near 'tru'" },
	{ "{\"a\":1,\"a\":2}", GB_EINVAL,
	  "invalid JSON at line 1, column 10: duplicate object key near '\"a\"'" },
	{ "{\"a\":\"\\u0000\"}", GB_EINVAL,
	  "invalid JSON at line 1, column 13: \\u0000 is not allowed without JSON_ALLOW_NUL "
	  "near '\"\\u0000\"'" },
	{ "{\"a\":1} x", GB_EINVAL,
	  "invalid JSON at line 1, column 9: end of file expected near 'x'" },
	{ "[1,2]", GB_EINVAL, "the body must be a JSON object" },
	{ "[]", GB_EINVAL, "the body must be a JSON object" },
	{ "\"str\"", GB_EINVAL,
	  "invalid JSON at line 1, column 5: '[' or '{' expected near '\"str\"'" },
	{ "1", GB_EINVAL, NULL },
	{ "null", GB_EINVAL, NULL },
	{ " ", GB_EINVAL, NULL },
	{ "{\"a\":\"\xff\"}", GB_EINVAL, NULL },      /* invalid UTF-8 */
	{ "{'a':1}", GB_EINVAL, NULL },
	{ "{\"a\":1,}", GB_EINVAL, NULL },
	{ "{\"a\":NaN}", GB_EINVAL, NULL },
};

START_TEST(test_json_parse)
{
	json_t *j = (json_t *)&j;
	enum gb_err err;

	memset(&e, 0, sizeof(e));
	err = gb_json_parse_object(json_cases[_i].text, strlen(json_cases[_i].text), &j, &e);
	ck_assert_msg(err == json_cases[_i].err, "%s: %d", json_cases[_i].text, err);
	if (err == GB_OK) {
		ck_assert(json_is_object(j));
		json_decref(j);
		return;
	}
	ck_assert_ptr_null(j);
	ck_assert_int_eq(e.err, GB_EINVAL);
	ck_assert_str_eq(e.field, "body");
	if (json_cases[_i].msg != NULL)
		ck_assert_str_eq(e.msg, json_cases[_i].msg);
	else
		ck_assert_uint_gt(strlen(e.msg), 0);
}
END_TEST

START_TEST(test_json_parse_length)
{
	json_t *j;

	/* only len bytes are parsed */
	ck_assert_int_eq(gb_json_parse_object("{\"k\":2}garbage", 7, &j, &e), GB_OK);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "k")), 2);
	json_decref(j);
	/* an embedded NUL byte is not the end */
	ck_assert_int_eq(gb_json_parse_object("{}\0", 3, &j, &e), GB_EINVAL);
	ck_assert_ptr_null(j);
}
END_TEST

START_TEST(test_json_deep_nesting)
{
	size_t depth = 100000, i;
	char *s = malloc(2 * depth + 16);
	json_t *j;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < depth; i++)
		s[i] = '[';
	for (i = 0; i < depth; i++)
		s[depth + i] = ']';
	ck_assert_int_eq(gb_json_parse_object(s, 2 * depth, &j, &e), GB_EINVAL);
	ck_assert_ptr_null(j);
	/* objects too */
	for (i = 0; i + 5 <= 2 * depth; i += 5)
		memcpy(s + i, "{\"a\":", 5);
	ck_assert_int_eq(gb_json_parse_object(s, i, &j, &e), GB_EINVAL);
	ck_assert_ptr_null(j);
	/* a sane depth parses */
	strcpy(s, "{\"a\":[[[[[[[[[[{\"b\":{}}]]]]]]]]]]}");
	ck_assert_int_eq(gb_json_parse_object(s, strlen(s), &j, &e), GB_OK);
	json_decref(j);
	free(s);
}
END_TEST

START_TEST(test_req_json_ok)
{
	static const char body[] = "{\"name\":\"x\",\"n\":3}";
	struct fake_body f = { body, sizeof(body) - 1, 0, 3, false, 0 };
	char cl[64];
	json_t *j = NULL;

	snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%zu", sizeof(body) - 1);
	body_setup(cl, "CONTENT_TYPE=application/json; charset=utf-8", &f, 1024);
	ck_assert_int_eq(gb_req_json(&r, &j, &e), GB_OK);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "x");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "n")), 3);
	ck_assert_int_eq(j->refcount, 1);
	json_decref(j);
	ck_assert_str_eq(r.body, body);
}
END_TEST

START_TEST(test_req_json_problem)
{
	struct fake_body f = { "{}", 2, 0, 0, false, 0 };
	json_t *j = NULL;

	body_setup("CONTENT_LENGTH=2", "CONTENT_TYPE=application/problem+json", &f, 1024);
	ck_assert_int_eq(gb_req_json(&r, &j, &e), GB_OK);
	json_decref(j);
}
END_TEST

START_TEST(test_req_json_media)
{
	static const char *const cts[] = {
		"GB_NO_CT=1", "CONTENT_TYPE=", "CONTENT_TYPE=text/plain",
		"CONTENT_TYPE=application/jsonx", "CONTENT_TYPE=application/x-www-form-urlencoded",
	};
	struct fake_body f = { "{}", 2, 0, 0, false, 0 };
	json_t *j;
	size_t i;

	for (i = 0; i < NELEM(cts); i++) {
		f.pos = 0;
		f.calls = 0;
		body_setup("CONTENT_LENGTH=2", cts[i], &f, 1024);
		j = (json_t *)&j;
		ck_assert_int_eq(gb_req_json(&r, &j, &e), GB_EMEDIA);
		ck_assert_ptr_null(j);
		ck_assert_int_eq(e.err, GB_EMEDIA);
		ck_assert_str_eq(e.field, "Content-Type");
		ck_assert_str_eq(e.msg, "the body must be application/json");
		ck_assert_int_eq(f.calls, 0);    /* the body is not read */
		t_env_free(&env);
	}
}
END_TEST

START_TEST(test_req_json_errors)
{
	struct fake_body f = { "[1]", 3, 0, 0, false, 0 };
	json_t *j;

	/* empty body */
	body_setup("CONTENT_LENGTH=0", "CONTENT_TYPE=application/json", &f, 1024);
	j = (json_t *)&j;
	ck_assert_int_eq(gb_req_json(&r, &j, &e), GB_EINVAL);
	ck_assert_ptr_null(j);
	ck_assert_str_eq(e.msg, "a JSON object body is required");
	t_env_free(&env);

	/* not an object */
	body_setup("CONTENT_LENGTH=3", "CONTENT_TYPE=application/json", &f, 1024);
	ck_assert_int_eq(gb_req_json(&r, &j, &e), GB_EINVAL);
	ck_assert_ptr_null(j);
	ck_assert_str_eq(e.msg, "the body must be a JSON object");
	t_env_free(&env);

	/* too big */
	f.pos = 0;
	body_setup("CONTENT_LENGTH=3", "CONTENT_TYPE=application/json", &f, 2);
	j = (json_t *)&j;
	ck_assert_int_eq(gb_req_json(&r, &j, &e), GB_ETOOBIG);
	ck_assert_ptr_null(j);
	t_env_free(&env);

	/* short */
	f.pos = 0;
	body_setup("CONTENT_LENGTH=4", "CONTENT_TYPE=application/json", &f, 100);
	j = (json_t *)&j;
	ck_assert_int_eq(gb_req_json(&r, &j, &e), GB_EIO);
	ck_assert_ptr_null(j);
}
END_TEST

static Suite *
request_suite(void)
{
	Suite *s = suite_create("gb_request");
	TCase *tp = tcase_create("parse");
	TCase *th = tcase_create("headers");
	TCase *tb = tcase_create("body");
	TCase *tj = tcase_create("json");

	tcase_add_checked_fixture(tp, setup, teardown);
	tcase_add_test(tp, test_request_uri);
	tcase_add_loop_test(tp, test_request_uri_table, 0, (int)NELEM(uri_cases));
	tcase_add_test(tp, test_cgi_fallback);
	tcase_add_test(tp, test_cgi_fallback_parts);
	tcase_add_test(tp, test_method_default_and_exact_names);
	tcase_add_test(tp, test_https_and_content_type);
	tcase_add_loop_test(tp, test_content_length, 0, (int)NELEM(cl_cases));
	tcase_add_test(tp, test_bad_targets);
	tcase_add_test(tp, test_too_long_targets);
	suite_add_tcase(s, tp);

	tcase_add_checked_fixture(th, setup, teardown);
	tcase_add_test(th, test_request_id_kept);
	tcase_add_test(th, test_request_id_replaced);
	tcase_add_test(th, test_traceparent_continued);
	tcase_add_test(th, test_traceparent_replaced);
	tcase_add_test(th, test_header_lookup);
	suite_add_tcase(s, th);

	tcase_add_checked_fixture(tb, setup, teardown);
	tcase_add_test(tb, test_body_ok);
	tcase_add_test(tb, test_body_chunks);
	tcase_add_test(tb, test_body_stops_at_length);
	tcase_add_test(tb, test_body_empty);
	tcase_add_test(tb, test_body_short);
	tcase_add_test(tb, test_body_read_error);
	tcase_add_test(tb, test_body_too_big);
#if !T_ASAN
	tcase_add_test(tb, test_body_enomem);
#endif
	suite_add_tcase(s, tb);

	tcase_add_checked_fixture(tj, setup, teardown);
	tcase_add_loop_test(tj, test_content_type, 0, (int)NELEM(ct_cases));
	tcase_add_test(tj, test_content_type_null);
	tcase_add_loop_test(tj, test_json_parse, 0, (int)NELEM(json_cases));
	tcase_add_test(tj, test_json_parse_length);
	tcase_add_test(tj, test_json_deep_nesting);
	tcase_add_test(tj, test_req_json_ok);
	tcase_add_test(tj, test_req_json_problem);
	tcase_add_test(tj, test_req_json_media);
	tcase_add_test(tj, test_req_json_errors);
	suite_add_tcase(s, tj);
	return s;
}

GB_TEST_MAIN(request_suite)
