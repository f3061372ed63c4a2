/* Tests for lib/gb_envelope.c: the exact bytes of every envelope. */
#include "config.h"

#include "gb_envelope.h"
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

/* Parses the body back and checks the fields every envelope has. */
static json_t *
parse_body(bool ok, const char *message, const char *request_id)
{
	json_error_t jerr;
	json_t *j = json_loadb(r.body.data, r.body.len, JSON_REJECT_DUPLICATES, &jerr);

	ck_assert_msg(j != NULL, "%s: %s", r.body.data, jerr.text);
	ck_assert(json_is_object(j));
	ck_assert(json_is_boolean(json_object_get(j, "ok")));
	ck_assert(json_boolean_value(json_object_get(j, "ok")) == ok);
	ck_assert_str_eq(json_string_value(json_object_get(j, "message")), message);
	ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")), request_id);
	return j;
}

START_TEST(test_ok_object)
{
	json_t *data = json_pack("{s:i,s:s}", "a", 1, "b", "x");
	json_t *j;

	ck_assert_int_eq(gb_envelope_ok(&r, "rid1", 200, "hello", data, NULL), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body.data,
	                 "{\"ok\":true,\"message\":\"hello\",\"data\":{\"a\":1,\"b\":\"x\"},"
	                 "\"request_id\":\"rid1\"}");
	ck_assert_uint_eq(r.body.len, strlen(r.body.data));
	j = parse_body(true, "hello", "rid1");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "data"), "a")), 1);
	ck_assert_ptr_null(json_object_get(j, "errors"));
	ck_assert_ptr_null(json_object_get(j, "meta"));
	ck_assert_uint_eq(json_object_size(j), 4);
	json_decref(j);
}
END_TEST

START_TEST(test_ok_null_and_scalars)
{
	gb_envelope_ok(&r, "r", 201, "created", NULL, NULL);
	ck_assert_int_eq(r.status, 201);
	ck_assert_str_eq(r.body.data,
	                 "{\"ok\":true,\"message\":\"created\",\"data\":null,\"request_id\":\"r\"}");
	gb_envelope_ok(&r, "r", 200, "", json_string("s"), NULL);
	ck_assert_str_eq(r.body.data,
	                 "{\"ok\":true,\"message\":\"\",\"data\":\"s\",\"request_id\":\"r\"}");
	gb_envelope_ok(&r, "r", 200, "m", json_array(), NULL);
	ck_assert_str_eq(r.body.data,
	                 "{\"ok\":true,\"message\":\"m\",\"data\":[],\"request_id\":\"r\"}");
	gb_envelope_ok(&r, "r", 200, "m", json_integer(-7), NULL);
	ck_assert_str_eq(r.body.data,
	                 "{\"ok\":true,\"message\":\"m\",\"data\":-7,\"request_id\":\"r\"}");
}
END_TEST

START_TEST(test_ok_meta)
{
	json_t *meta = json_pack("{s:i,s:n}", "limit", 10, "next_cursor");
	json_t *j;

	ck_assert_int_eq(gb_envelope_ok(&r, "r", 200, "list", json_pack("[i,i]", 1, 2), meta), 0);
	ck_assert_str_eq(r.body.data,
	                 "{\"ok\":true,\"message\":\"list\",\"data\":[1,2],"
	                 "\"meta\":{\"limit\":10,\"next_cursor\":null},\"request_id\":\"r\"}");
	j = parse_body(true, "list", "r");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "meta"), "limit")),
	                 10);
	json_decref(j);
}
END_TEST

START_TEST(test_ok_steals)
{
	json_t *data = json_object(), *meta = json_object();

	json_incref(data);
	json_incref(meta);
	gb_envelope_ok(&r, "r", 200, "m", data, meta);
	ck_assert_int_eq(data->refcount, 1);
	ck_assert_int_eq(meta->refcount, 1);
	json_decref(data);
	json_decref(meta);
}
END_TEST

START_TEST(test_error_empty)
{
	ck_assert_int_eq(gb_envelope_error(&r, "r", 404, "not found", NULL), 0);
	ck_assert_int_eq(r.status, 404);
	ck_assert_str_eq(r.body.data,
	                 "{\"ok\":false,\"message\":\"not found\",\"errors\":{},\"request_id\":\"r\"}");
}
END_TEST

START_TEST(test_error_fields)
{
	json_t *errors = NULL, *j, *list;

	errors = gb_field_error(errors, "email", "is required");
	ck_assert_ptr_nonnull(errors);
	errors = gb_field_error(errors, "email", "must be an address");
	errors = gb_field_error(errors, "name", "too long");
	ck_assert_ptr_nonnull(errors);
	ck_assert_int_eq(gb_envelope_error(&r, "abc", 422, "validation failed", errors), 0);
	ck_assert_int_eq(r.status, 422);
	ck_assert_str_eq(r.body.data,
	                 "{\"ok\":false,\"message\":\"validation failed\","
	                 "\"errors\":{\"email\":[\"is required\",\"must be an address\"],"
	                 "\"name\":[\"too long\"]},\"request_id\":\"abc\"}");
	j = parse_body(false, "validation failed", "abc");
	list = json_object_get(json_object_get(j, "errors"), "email");
	ck_assert_uint_eq(json_array_size(list), 2);
	ck_assert_str_eq(json_string_value(json_array_get(list, 1)), "must be an address");
	ck_assert_ptr_null(json_object_get(j, "data"));
	json_decref(j);
}
END_TEST

START_TEST(test_field_error_steals_on_failure)
{
	/* a field that holds a non-array cannot take a message: errors is freed */
	json_t *errors = json_pack("{s:i}", "x", 1);

	ck_assert_ptr_null(gb_field_error(errors, "x", "boom"));
}
END_TEST

START_TEST(test_escaping)
{
	json_t *j;
	static const char msg[] = "say \"hi\"\n\\ \x01 caf\xc3\xa9 \xff";

	gb_envelope_error(&r, "id.with-_chars", 400, msg, gb_field_error(NULL, "a\"b", "x\ny"));
	ck_assert_str_eq(r.body.data,
	                 "{\"ok\":false,\"message\":\"say \\\"hi\\\"\\u000a\\\\ \\u0001 caf\xc3\xa9 "
	                 "\xef\xbf\xbd\",\"errors\":{\"a\\\"b\":[\"x\\u000ay\"]},"
	                 "\"request_id\":\"id.with-_chars\"}");
	j = parse_body(false, "say \"hi\"\n\\ \x01 caf\xc3\xa9 \xef\xbf\xbd", "id.with-_chars");
	json_decref(j);
}
END_TEST

START_TEST(test_reuse_replaces_body)
{
	gb_envelope_error(&r, "r", 500, "first, a longer message", NULL);
	gb_envelope_ok(&r, "r", 200, "second", NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body.data,
	                 "{\"ok\":true,\"message\":\"second\",\"data\":null,\"request_id\":\"r\"}");
}
END_TEST

START_TEST(test_too_big_falls_back_to_500)
{
	/* the 500 envelope is 68 bytes: it fits in 80, not in 40 */
	static const char e500[] =
		"{\"ok\":false,\"message\":\"internal error\",\"errors\":{},\"request_id\":\"r\"}";
	char *big = t_repeat('x', 200);

	ck_assert_uint_eq(strlen(e500), 68);
	r.body.max = 80;
	ck_assert_int_eq(gb_envelope_ok(&r, "r", 200, "m", json_string(big), NULL), -1);
	ck_assert_int_eq(r.status, 500);
	ck_assert_str_eq(r.body.data, e500);
	ck_assert(!gb_buf_failed(&r.body));

	r.body.max = 40;
	ck_assert_int_eq(gb_envelope_error(&r, "r", 422, big, NULL), -1);
	ck_assert_int_eq(r.status, 500);
	ck_assert_uint_eq(r.body.len, 0);
	free(big);
}
END_TEST

/* A page whose rows the program wrote as JSON text itself. */
START_TEST(test_ok_list_raw)
{
	static const char rows[] = "[{\"id\":1},{\"id\":2}]";
	json_t *j;

	ck_assert_int_eq(gb_envelope_ok_list_raw(&r, "r", 200, "notes", rows, strlen(rows),
	                                         json_pack("{s:i,s:s}", "limit", 2, "next_cursor",
	                                                   "MQ")), 0);
	ck_assert_str_eq(r.body.data,
	                 "{\"ok\":true,\"message\":\"notes\",\"data\":[{\"id\":1},{\"id\":2}],"
	                 "\"meta\":{\"limit\":2,\"next_cursor\":\"MQ\"},\"request_id\":\"r\"}");
	j = parse_body(true, "notes", "r");
	json_decref(j);
	/* no rows: an empty array; only the given bytes are copied */
	ck_assert_int_eq(gb_envelope_ok_list_raw(&r, "r", 200, "m", NULL, 0,
	                                         json_pack("{s:i,s:n}", "limit", 5, "next_cursor")),
	                 0);
	ck_assert_str_eq(r.body.data, "{\"ok\":true,\"message\":\"m\",\"data\":[],"
	                 "\"meta\":{\"limit\":5,\"next_cursor\":null},\"request_id\":\"r\"}");
	ck_assert_int_eq(gb_envelope_ok_list_raw(&r, "r", 200, "m", "[]xyz", 2, NULL), 0);
	ck_assert_str_eq(r.body.data, "{\"ok\":true,\"message\":\"m\",\"data\":[],"
	                 "\"request_id\":\"r\"}");
}
END_TEST

static Suite *
envelope_suite(void)
{
	Suite *s = suite_create("gb_envelope");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ok_object);
	tcase_add_test(tc, test_ok_null_and_scalars);
	tcase_add_test(tc, test_ok_meta);
	tcase_add_test(tc, test_ok_steals);
	tcase_add_test(tc, test_error_empty);
	tcase_add_test(tc, test_error_fields);
	tcase_add_test(tc, test_field_error_steals_on_failure);
	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_reuse_replaces_body);
	tcase_add_test(tc, test_too_big_falls_back_to_500);
	tcase_add_test(tc, test_ok_list_raw);
	suite_add_tcase(s, tc);
	return s;
}

GB_TEST_MAIN(envelope_suite)
