/* Tests for lib/gb_llm.c (the chat-completions request and a strict
 * reading of the answer), lib/gb_breaker.c and the failure paths of
 * lib/gb_llm_client.c that need no server: nobody listening, an open
 * circuit, a stop.  The client's exchanges with a server are tested by
 * the integration tests, against scripts/fake-provider. */
#include "config.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gb_breaker.h"
#include "gb_llm.h"
#include "gb_llm_client.h"
#include "gb_test.h"

/* ---- the request ---------------------------------------------------------------- */

START_TEST(test_request_json)
{
	char *s = gb_llm_request_json("m-1", "say \"hi\"\n", 64, 0.7, false);
	json_t *j, *msgs;

	ck_assert_ptr_nonnull(s);
	j = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "model")), "m-1");
	msgs = json_object_get(j, "messages");
	ck_assert_uint_eq(json_array_size(msgs), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 0), "role")), "user");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 0), "content")),
	                 "say \"hi\"\n");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "max_tokens")), 64);
	ck_assert(json_is_false(json_object_get(j, "stream")));
	ck_assert_ptr_nonnull(strstr(s, "\"temperature\":0.7"));    /* not 0.69999... */
	json_decref(j);
	free(s);
	s = gb_llm_request_json("m", "p", 1, 0, true);
	ck_assert_ptr_nonnull(strstr(s, "\"stream\":true"));
	free(s);
	ck_assert_ptr_null(gb_llm_request_json("m", "p", 1, NAN, false));
	ck_assert_ptr_null(gb_llm_request_json("m", "p", 1, INFINITY, false));
}
END_TEST

/* ---- the answer ------------------------------------------------------------------- */

static const struct {
	const char *body;
	enum gb_err e;
	const char *text;          /* on GB_OK */
	const char *why;           /* on GB_EINVAL */
	const char *model, *finish;
} parse_cases[] = {
	{ "{\"id\":\"x\",\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
	  "\"assistant\",\"content\":\"Hello\"},\"finish_reason\":\"stop\"}],\"usage\":{}}",
	  GB_OK, "Hello", NULL, "gpt-x", "stop" },
	{ "{\"choices\":[{\"message\":{\"content\":\"\"}}]}", GB_OK, "", NULL, "", "" },
	{ "{\"choices\":[{\"message\":{\"content\":\"a\"}},{\"message\":{\"content\":1}}]}",
	  GB_OK, "a", NULL, "", "" },
	{ "{\"choices\":[{\"message\":{\"content\":\"\\u00e9\\ud83d\\ude80\"}}]}", GB_OK,
	  "\xc3\xa9\xf0\x9f\x9a\x80", NULL, "", "" },
	/* odd side fields are dropped, never trusted */
	{ "{\"model\":\"a\\u0001b\",\"choices\":[{\"message\":{\"content\":\"t\"},"
	  "\"finish_reason\":7}]}", GB_OK, "t", NULL, "", "" },
	{ "", GB_EINVAL, NULL, "malformed answer: not JSON", NULL, NULL },
	{ "<html>", GB_EINVAL, NULL, "malformed answer: not JSON", NULL, NULL },
	{ "{\"choices\":[{\"message\":{\"content\":\"a\"}}]} x", GB_EINVAL, NULL,
	  "malformed answer: not JSON", NULL, NULL },
	{ "[]", GB_EINVAL, NULL, "malformed answer: not a JSON object", NULL, NULL },
	{ "{}", GB_EINVAL, NULL, "malformed answer: no choices", NULL, NULL },
	{ "{\"choices\":[]}", GB_EINVAL, NULL, "malformed answer: no choices", NULL, NULL },
	{ "{\"choices\":{}}", GB_EINVAL, NULL, "malformed answer: no choices", NULL, NULL },
	{ "{\"choices\":[1]}", GB_EINVAL, NULL,
	  "malformed answer: choices[0].message is not an object", NULL, NULL },
	{ "{\"choices\":[{\"text\":\"legacy\"}]}", GB_EINVAL, NULL,
	  "malformed answer: choices[0].message is not an object", NULL, NULL },
	{ "{\"choices\":[{\"message\":{\"content\":null}}]}", GB_EINVAL, NULL,
	  "malformed answer: choices[0].message.content is not a string", NULL, NULL },
	{ "{\"choices\":[{\"message\":{\"content\":[\"a\"]}}]}", GB_EINVAL, NULL,
	  "malformed answer: choices[0].message.content is not a string", NULL, NULL },
	{ "{\"choices\":[{\"message\":{\"content\":\"a\\u0000b\"}}]}", GB_EINVAL, NULL,
	  "malformed answer: choices[0].message.content holds a NUL character", NULL, NULL },
	{ "{\"choices\":[{\"message\":{\"content\":\"a\",\"content\":\"b\"}}]}", GB_EINVAL, NULL,
	  "malformed answer: not JSON", NULL, NULL },
};

START_TEST(test_parse)
{
	struct gb_llm_reply r;
	char why[192] = "untouched";
	enum gb_err e;

	e = gb_llm_parse(parse_cases[_i].body, strlen(parse_cases[_i].body), &r, why, sizeof(why));
	ck_assert_int_eq(e, parse_cases[_i].e);
	if (e == GB_OK) {
		ck_assert_str_eq(r.text, parse_cases[_i].text);
		ck_assert_uint_eq(r.text_len, strlen(parse_cases[_i].text));
		ck_assert_str_eq(r.model, parse_cases[_i].model);
		ck_assert_str_eq(r.finish_reason, parse_cases[_i].finish);
	} else {
		ck_assert_str_eq(why, parse_cases[_i].why);
		ck_assert_ptr_null(r.text);
	}
	gb_llm_reply_free(&r);
	gb_llm_reply_free(NULL);
}
END_TEST

START_TEST(test_parse_too_large)
{
	struct gb_llm_reply r;
	char why[192];

	ck_assert_int_eq(gb_llm_parse("{}", GB_LLM_BODY_MAX + 1, &r, why, sizeof(why)), GB_EINVAL);
	ck_assert_str_eq(why, "malformed answer: too large");
}
END_TEST

/* ---- LLM_BASE_URL, waits ----------------------------------------------------------- */

static const struct {
	const char *url;
	bool ok;
} url_cases[] = {
	{ "https://api.openai.com/v1", true },
	{ "http://127.0.0.1:8091/v1", true },
	{ "http://[::1]:8000/v1/", true },
	{ "http://llm.internal", true },
	{ "ftp://x/v1", false },
	{ "https://", false },
	{ "https:///v1", false },
	{ "http://:80/v1", false },
	{ "http://user:pw@host/v1", false },
	{ "http://host/v1?x=1", false },
	{ "http://host/v1#f", false },
	{ "http://ho st/v1", false },
	{ "http://host/\x01", false },
	{ "HTTP://host/v1", false },
};

struct pieces {
	char text[256];
	int calls;
	int stop_at;                /* 0: never */
};

static int
collect(void *arg, const char *text, size_t len)
{
	struct pieces *p = arg;

	strncat(p->text, text, len);
	return ++p->calls == p->stop_at ? -1 : 0;
}

/* feeds s in pieces of n bytes */
static enum gb_err
feed(struct gb_llm_stream *st, const char *s, size_t n)
{
	size_t off = 0, len = strlen(s), k;
	enum gb_err e = GB_OK;

	while (off < len && e == GB_OK) {
		k = len - off < n ? len - off : n;
		e = gb_llm_stream_feed(st, s + off, k);
		off += k;
	}
	return e;
}

START_TEST(test_stream)
{
	static const char ok[] =
		": a comment\r\n"
		"event: message\n"
		"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"model\":\"m-1\"}\n\n"
		"data:{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\r\n\r\n"
		"data: {\"choices\":[{\"delta\":{\"content\":\"lo \\u00e9\"},\"finish_reason\":null}]}\n\n"
		"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
		"data: {\"choices\":[],\"usage\":{\"total_tokens\":3}}\n\n"
		"data: [DONE]\n\n";
	struct gb_llm_stream st;
	struct pieces p;
	size_t n;

	/* whole, and in every piece size down to one byte */
	for (n = sizeof(ok); n >= 1; n = n > 8 ? n / 2 : n - 1) {
		memset(&p, 0, sizeof(p));
		gb_llm_stream_init(&st, collect, &p);
		ck_assert_int_eq(feed(&st, ok, n), GB_OK);
		ck_assert(st.done && !st.failed);
		ck_assert_str_eq(p.text, "Hello \xc3\xa9");
		ck_assert_int_eq(p.calls, 2);
		ck_assert_uint_eq(st.text.len, strlen("Hello \xc3\xa9"));
		ck_assert_str_eq(st.model, "m-1");
		ck_assert_str_eq(st.finish_reason, "stop");
		gb_llm_stream_free(&st);
	}

	/* garbage, at once */
	static const char *const bad[] = {
		"<html>\n",
		"data: not json\n",
		"data: {\"choices\":[{\"delta\":{\"content\":42}}]}\n",
		"data: {\"choices\":[{\"delta\":\"x\"}]}\n",
		"data: {\"nope\":1}\n",
		"data: {\"choices\":[{\"delta\":{\"content\":\"a\\u0000b\"}}]}\n",
		"data: [DONE]\ndata: {\"choices\":[]}\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&p, 0, sizeof(p));
		gb_llm_stream_init(&st, collect, &p);
		ck_assert_msg(feed(&st, bad[i], 1000) == GB_EINVAL, "%s", bad[i]);
		ck_assert(st.failed);
		ck_assert_msg(strncmp(st.why, "malformed answer: ", 18) == 0, "%s", st.why);
		ck_assert_int_eq(gb_llm_stream_feed(&st, "data: [DONE]\n", 13), GB_EINVAL);
		gb_llm_stream_free(&st);
	}

	/* a reader that goes away stops it after the piece it refused */
	memset(&p, 0, sizeof(p));
	p.stop_at = 1;
	gb_llm_stream_init(&st, collect, &p);
	ck_assert_int_eq(feed(&st, ok, 7), GB_EIO);
	ck_assert(st.failed && !st.done);
	ck_assert_str_eq(p.text, "Hel");
	gb_llm_stream_free(&st);

	/* cut short: no [DONE] */
	gb_llm_stream_init(&st, NULL, NULL);
	ck_assert_int_eq(feed(&st, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n", 5),
	                 GB_OK);
	ck_assert(!st.done && !st.failed);
	gb_llm_stream_free(&st);
}
END_TEST

START_TEST(test_request_json_msgs)
{
	struct gb_llm_msg m[] = { { "system", "be brief" }, { "user", "hi" },
	                          { "assistant", "hello" }, { "user", "again" } };
	char *s = gb_llm_request_json_msgs("m", m, 4, 10, 0.5, true);
	json_t *j;

	ck_assert_ptr_nonnull(s);
	j = json_loads(s, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "messages")), 4);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j,
	                 "messages"), 2), "role")), "assistant");
	ck_assert(json_is_true(json_object_get(j, "stream")));
	json_decref(j);
	free(s);
	ck_assert_ptr_null(gb_llm_request_json_msgs("m", m, 0, 10, 0.5, false));
}
END_TEST

START_TEST(test_base_url)
{
	const char *why = NULL;

	ck_assert_msg(gb_llm_base_url_ok(url_cases[_i].url, &why) == url_cases[_i].ok,
	              "%s: %s", url_cases[_i].url, why != NULL ? why : "ok");
	if (!url_cases[_i].ok)
		ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(test_base_url_length)
{
	char url[GB_LLM_URL_MAX + 2];
	const char *why;

	memset(url, 'a', sizeof(url) - 1);
	memcpy(url, "http://", 7);
	url[sizeof(url) - 1] = '\0';
	ck_assert(!gb_llm_base_url_ok(url, &why));
	url[sizeof(url) - 2] = '\0';
	ck_assert(gb_llm_base_url_ok(url, &why));
}
END_TEST

START_TEST(test_waits)
{
	ck_assert_int_eq(gb_llm_wait_ms(1, 0), 250);
	ck_assert_int_eq(gb_llm_wait_ms(2, 0), 500);
	ck_assert_int_eq(gb_llm_wait_ms(3, 0), 1000);
	ck_assert_int_eq(gb_llm_wait_ms(10, 0), GB_LLM_WAIT_MAX_MS);
	ck_assert_int_eq(gb_llm_wait_ms(1, 2), 2000);          /* Retry-After: 2 */
	ck_assert_int_eq(gb_llm_wait_ms(3, 0), gb_llm_wait_ms(3, 1));
	ck_assert_int_eq(gb_llm_wait_ms(1, 3600), GB_LLM_WAIT_MAX_MS);
	ck_assert_int_eq(gb_llm_worst_ms(30000, 2), 110000);
	ck_assert_int_eq(gb_llm_worst_ms(1000, 0), 1000);
}
END_TEST

/* ---- the breaker --------------------------------------------------------------------- */

START_TEST(test_breaker_cycle)
{
	struct gb_breaker b;
	int64_t wait = -1;

	gb_breaker_init(&b, 3, 1000);
	ck_assert_int_eq(gb_breaker_state(&b, 0), GB_BREAKER_CLOSED);
	ck_assert(gb_breaker_allow(&b, 0, &wait));
	ck_assert_int_eq(wait, 0);
	gb_breaker_record(&b, 10, false);
	gb_breaker_record(&b, 20, false);
	ck_assert(gb_breaker_allow(&b, 30, NULL));
	gb_breaker_record(&b, 30, false);          /* the third: open until 1030 */
	ck_assert_int_eq(gb_breaker_state(&b, 31), GB_BREAKER_OPEN);
	ck_assert(!gb_breaker_allow(&b, 500, &wait));
	ck_assert_int_eq(wait, 530);
	ck_assert(!gb_breaker_would_allow(&b, 500, &wait));
	ck_assert_int_eq(gb_breaker_state(&b, 1030), GB_BREAKER_HALF_OPEN);
	/* half-open: one probe; asking does not take it */
	ck_assert(gb_breaker_would_allow(&b, 1030, NULL));
	ck_assert(gb_breaker_allow(&b, 1030, NULL));
	ck_assert(!gb_breaker_allow(&b, 1031, &wait));
	ck_assert_int_gt(wait, 0);
	ck_assert(!gb_breaker_would_allow(&b, 1031, NULL));
	gb_breaker_record(&b, 1040, false);        /* a failed probe: open again */
	ck_assert_int_eq(gb_breaker_state(&b, 1041), GB_BREAKER_OPEN);
	ck_assert(!gb_breaker_allow(&b, 2000, NULL));
	ck_assert(gb_breaker_allow(&b, 2040, NULL));
	gb_breaker_record(&b, 2050, true);         /* a good probe: closed */
	ck_assert_int_eq(gb_breaker_state(&b, 2050), GB_BREAKER_CLOSED);
	ck_assert(gb_breaker_allow(&b, 2051, NULL));
	ck_assert(gb_breaker_allow(&b, 2052, NULL));
	/* a success resets the count */
	gb_breaker_record(&b, 3000, false);
	gb_breaker_record(&b, 3001, false);
	gb_breaker_record(&b, 3002, true);
	gb_breaker_record(&b, 3003, false);
	gb_breaker_record(&b, 3004, false);
	ck_assert_int_eq(gb_breaker_state(&b, 3005), GB_BREAKER_CLOSED);
}
END_TEST

START_TEST(test_breaker_bounds)
{
	struct gb_breaker b;

	gb_breaker_init(&b, 0, 0);
	ck_assert_int_eq(b.threshold, 1);
	ck_assert_int_eq(b.open_ms, 1);
	gb_breaker_record(&b, 100, false);
	ck_assert_int_eq(gb_breaker_state(&b, 100), GB_BREAKER_OPEN);
	ck_assert_int_eq(gb_breaker_state(&b, 101), GB_BREAKER_HALF_OPEN);
}
END_TEST

/* ---- the client without a server -------------------------------------------------------- */

/* A loopback port nobody listens on (bound, never listened, closed). */
static int
dead_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

START_TEST(test_client_refused_opens_the_circuit)
{
	struct gb_breaker b;
	struct gb_llm_options o = { .model = "m", .api_key = "k", .temperature = 0.5,
	                            .timeout_ms = 2000, .retries = 1, .breaker = &b };
	struct gb_llm_outcome out;
	struct gb_llm_reply reply;
	struct gb_llm_client *c;
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/", dead_port());
	o.base_url = url;
	gb_breaker_init(&b, 2, 60000);
	c = gb_llm_client_new(&o);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(gb_llm_complete(c, "p", 5, &reply, &out), GB_EIO);
	ck_assert(out.retryable && !out.circuit_open && !out.stopped);
	ck_assert_int_eq(out.requests, 2);         /* one retry */
	ck_assert_int_eq(out.http_status, 0);
	ck_assert_ptr_nonnull(strstr(out.why, "the API is unreachable"));
	ck_assert_ptr_null(reply.text);
	/* two failures: open; the next call sends nothing */
	ck_assert_int_eq(gb_llm_complete(c, "p", 5, &reply, &out), GB_EIO);
	ck_assert(out.circuit_open && out.retryable);
	ck_assert_int_eq(out.requests, 0);
	ck_assert_int_gt(out.retry_in_ms, 50000);
	ck_assert_str_eq(out.why, "the API's circuit is open");
	gb_llm_client_free(c);
	gb_llm_client_free(NULL);
}
END_TEST

START_TEST(test_client_stops)
{
	atomic_bool stop = true;
	struct gb_llm_options o = { .base_url = "http://127.0.0.1:9/v1", .model = "m",
	                            .timeout_ms = 2000, .retries = 3, .stop = &stop };
	struct gb_llm_outcome out;
	struct gb_llm_reply reply;
	struct gb_llm_client *c = gb_llm_client_new(&o);

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(gb_llm_complete(c, "p", 5, &reply, &out), GB_EIO);
	ck_assert(out.stopped && out.retryable);
	ck_assert_int_eq(out.requests, 0);
	gb_llm_client_free(c);
}
END_TEST

static Suite *
llm_suite(void)
{
	Suite *s = suite_create("gb_llm");
	TCase *tp = tcase_create("protocol");
	TCase *tb = tcase_create("breaker");
	TCase *tc = tcase_create("client");

	tcase_add_test(tp, test_request_json);
	tcase_add_test(tp, test_request_json_msgs);
	tcase_add_test(tp, test_stream);
	tcase_add_loop_test(tp, test_parse, 0, (int)NELEM(parse_cases));
	tcase_add_test(tp, test_parse_too_large);
	tcase_add_loop_test(tp, test_base_url, 0, (int)NELEM(url_cases));
	tcase_add_test(tp, test_base_url_length);
	tcase_add_test(tp, test_waits);
	suite_add_tcase(s, tp);
	tcase_add_test(tb, test_breaker_cycle);
	tcase_add_test(tb, test_breaker_bounds);
	suite_add_tcase(s, tb);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_client_refused_opens_the_circuit);
	tcase_add_test(tc, test_client_stops);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return EXIT_FAILURE;
	sr = srunner_create(llm_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
