/* Tests for lib/gb_filter.c: list queries (good, bad, hostile) and
 * cursors (round trips and tampering). */
#include "config.h"

#include "gb_filter.h"
#include "gb_jwt.h"
#include "gb_test.h"
#include "gb_url.h"

static const char decl[] =
	"{\"resource\": \"notes\", \"table\": \"notes\",\n"
	" \"columns\": {\n"
	"  \"title\": {\"type\": \"text\", \"required\": true, \"max_length\": 200},\n"
	"  \"body\": {\"type\": \"text\"},\n"
	"  \"done\": {\"type\": \"boolean\", \"default\": false},\n"
	"  \"due\": {\"type\": \"date\"},\n"
	"  \"n\": {\"type\": \"integer\"},\n"
	"  \"price\": {\"type\": \"numeric\"},\n"
	"  \"ref\": {\"type\": \"uuid\"},\n"
	"  \"at\": {\"type\": \"timestamp\"},\n"
	"  \"meta\": {\"type\": \"json\"}\n"
	" },\n"
	" \"filter\": [\"title\", \"done\", \"due\", \"n\", \"price\", \"ref\", \"at\", \"id\", "
	"\"created_at\"],\n"
	" \"sort\": [\"title\", \"due\", \"n\", \"id\"]}\n";

static const struct gb_catalog_column cols[] = {
	{ "id", "uuid", -1, true, true },
	{ "company_id", "uuid", -1, true, true },
	{ "version", "int8", -1, true, true },
	{ "created_at", "timestamptz", -1, true, true },
	{ "updated_at", "timestamptz", -1, true, true },
	{ "title", "text", -1, true, false },
	{ "body", "text", -1, false, false },
	{ "done", "bool", -1, true, true },
	{ "due", "date", -1, false, false },
	{ "n", "int4", -1, false, false },
	{ "price", "numeric", -1, false, false },
	{ "ref", "uuid", -1, false, false },
	{ "at", "timestamptz", -1, false, false },
	{ "meta", "jsonb", -1, false, false },
};
static const struct gb_catalog_policy pol = { "tenant", true, '*', true, true, true, true };
static const struct gb_catalog_constraint pk = { "notes_pkey", 'p', "id" };

#define ID "0d5e7a3c-7d8e-4d59-9d53-5d2f3c8a9b10"

static struct gb_schema *s;
static const struct gb_resource *r;
static struct gb_arena *a;

static void
setup(void)
{
	struct gb_catalog_table t = {
		.exists = true, .is_table = true, .rls = true, .force_rls = true,
		.can_select = true, .can_insert = true, .can_update = true, .can_delete = true,
		.cols = cols, .ncols = NELEM(cols), .policies = &pol, .npolicies = 1,
		.cons = &pk, .ncons = 1,
	};
	struct gb_schema_error err;

	ck_assert_int_eq(gb_schema_parse(decl, strlen(decl), "notes.json", &s, &err), GB_OK);
	ck_assert_msg(gb_schema_bind(s, 0, &t, &err) == GB_OK, "%s: %s", err.key, err.msg);
	r = gb_schema_at(s, 0);
	a = gb_arena_new(4096);
	ck_assert_ptr_nonnull(a);
}

static void
teardown(void)
{
	gb_schema_free(s);
	gb_arena_free(a);
}

/* Parses the raw query string qs. */
static enum gb_err
parse(const char *qs, struct gb_list_query *q, json_t **errors, bool *bad_cursor)
{
	struct gb_query query;

	ck_assert_int_eq(gb_query_parse(a, qs, strlen(qs), &query), GB_OK);
	return gb_filter_parse(r, &query, a, q, errors, bad_cursor);
}

/* "col op value; ..." of q's conditions. */
static const char *
conds(const struct gb_list_query *q)
{
	static char out[1024];
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < q->nconds; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s %s %s", i ? "; " : "",
		                      q->conds[i].col->name, gb_filter_op_name(q->conds[i].op),
		                      q->conds[i].value);
	return out;
}

START_TEST(test_default)
{
	struct gb_list_query q;
	json_t *errors = (json_t *)0x1;
	bool bad = true;

	ck_assert_int_eq(parse("", &q, &errors, &bad), GB_OK);
	ck_assert_ptr_null(errors);
	ck_assert(!bad);
	ck_assert_int_eq(q.limit, GB_FILTER_LIMIT_DEFAULT);
	ck_assert_str_eq(q.sort->name, "created_at");
	ck_assert(!q.desc && !q.has_cursor);
	ck_assert_uint_eq(q.nconds, 0);
	ck_assert_str_eq(gb_filter_op_name(GB_OP_GTE), "gte");
	ck_assert_str_eq(gb_filter_op_name((enum gb_filter_op)42), "?");
}
END_TEST

static const struct {
	const char *qs;
	long limit;
	const char *sort;       /* "-due" */
	const char *conds;
} good[] = {
	{ "limit=1", 1, "created_at", "" },
	{ "limit=100&sort=-due", 100, "-due", "" },
	{ "sort=created_at", 20, "created_at", "" },     /* the default sort, always allowed */
	{ "sort=-id", 20, "-id", "" },
	{ "done=false", 20, "created_at", "done eq false" },
	{ "done.ne=true&due.null=true", 20, "created_at", "done ne true; due null true" },
	{ "due.gte=2026-01-01&due.lt=2026-02-01", 20, "created_at",
	  "due gte 2026-01-01; due lt 2026-02-01" },
	{ "n.gt=-5&n.lte=10&price.lt=12.50", 20, "created_at", "n gt -5; n lte 10; price lt 12.50" },
	{ "title=%27%20OR%201%3D1%20--", 20, "created_at", "title eq ' OR 1=1 --" },
	{ "title=Robert%27)%3B%20DROP%20TABLE%20students%3B--", 20, "created_at",
	  "title eq Robert'); DROP TABLE students;--" },
	{ "title=", 20, "created_at", "title eq " },
	{ "title.gt=m&sort=title", 20, "title", "title gt m" },
	{ "ref=6F9619FF-8B86-D011-B42D-00C04FC964FF", 20, "created_at",
	  "ref eq 6f9619ff-8b86-d011-b42d-00c04fc964ff" },
	{ "at.gte=2026-01-01T00:00:00%2B07:00", 20, "created_at",
	  "at gte 2026-01-01T00:00:00+07:00" },
	{ "id=" ID, 20, "created_at", "id eq " ID },
	{ "created_at.lt=2026-01-01T00:00:00Z", 20, "created_at",
	  "created_at lt 2026-01-01T00:00:00Z" },
	{ "due.null=false&sort=-n&limit=7", 7, "-n", "due null false" },
};

START_TEST(test_good)
{
	struct gb_list_query q;
	json_t *errors = NULL;
	char spec[80];
	bool bad;

	ck_assert_msg(parse(good[_i].qs, &q, &errors, &bad) == GB_OK, "case %d", _i);
	ck_assert_ptr_null(errors);
	ck_assert_int_eq(q.limit, good[_i].limit);
	snprintf(spec, sizeof(spec), "%s%s", q.desc ? "-" : "", q.sort->name);
	ck_assert_str_eq(spec, good[_i].sort);
	ck_assert_str_eq(conds(&q), good[_i].conds);
	ck_assert(!q.has_cursor);
}
END_TEST

static const struct {
	const char *qs;
	const char *key;        /* the field of the first error */
	const char *msg;
	bool cursor;
} bad_cases[] = {
	{ "company_id=" ID, "company_id", "not a parameter", false },
	{ "company_id.eq=" ID, "company_id.eq", "not a parameter", false },
	{ "extra=1", "extra", "not a parameter", false },
	{ "body=x", "body", "cannot be filtered on", false },
	{ "meta=1", "meta", "cannot be filtered on", false },
	{ "version=1", "version", "cannot be filtered on", false },
	{ "title.like=x", "title.like", "operator other than", false },
	{ "title.=x", "title.", "operator other than", false },
	{ ".eq=x", ".eq", "not a parameter", false },
	{ "title.eq.eq=x", "title.eq.eq", "operator other than", false },
	{ "done.lt=true", "done.lt", "type does not take", false },
	{ "ref.gt=" ID, "ref.gt", "type does not take", false },
	{ "done=yes", "done", "true or false", false },
	{ "due.null=yes", "due.null", "true or false", false },
	{ "n=abc", "n", "whole number", false },
	{ "n=1%3B%20DROP%20TABLE%20x", "n", "whole number", false },
	{ "n=99999999999999999999", "n", "out of range", false },
	{ "price=1e9", "price", "number", false },
	{ "due=2026-02-30", "due", "YYYY-MM-DD", false },
	{ "due=2026-01-01%27%20OR%20%271%27%3D%271", "due", "YYYY-MM-DD", false },
	{ "at=2026-01-01T00:00:00+07:00", "at", "offset", false },  /* '+' read as a space */
	{ "ref=x", "ref", "UUID", false },
	{ "title=%C3%28", "title", "UTF-8", false },
	{ "limit=0", "limit", "1 to 100", false },
	{ "limit=101", "limit", "1 to 100", false },
	{ "limit=-1", "limit", "1 to 100", false },
	{ "limit=1e2", "limit", "1 to 100", false },
	{ "limit=", "limit", "1 to 100", false },
	{ "sort=body", "sort", "no sortable column", false },
	{ "sort=done", "sort", "no sortable column", false },
	{ "sort=--due", "sort", "no sortable column", false },
	{ "sort=", "sort", "no sortable column", false },
	{ "sort=due%20desc", "sort", "no sortable column", false },
	{ "sort=version", "sort", "no sortable column", false },
	{ "done=true&done=false", "done", "more than once", false },
	{ "limit=5&limit=5", "limit", "more than once", false },
	{ "%27%20OR%201%3D1%20--=1", "' OR 1=1 --", "not a parameter", false },
	{ "%C3%28=1", "?(", "not a parameter", false },
	{ "cursor=", "cursor", "not a cursor", true },
	{ "cursor=abc", "cursor", "not a cursor", true },
	{ "cursor=%27%3B%20DROP%20TABLE%20notes%3B--", "cursor", "not a cursor", true },
	{ "cursor=a&cursor=b", "cursor", "more than once", true },
};

START_TEST(test_bad)
{
	struct gb_list_query q;
	json_t *errors = NULL, *first;
	bool bad_cursor;
	const char *key;

	ck_assert_int_eq(parse(bad_cases[_i].qs, &q, &errors, &bad_cursor), GB_EINVAL);
	ck_assert_ptr_nonnull(errors);
	ck_assert_msg(bad_cursor == bad_cases[_i].cursor, "case %d", _i);
	key = json_object_iter_key(json_object_iter(errors));
	ck_assert_msg(strcmp(key, bad_cases[_i].key) == 0, "case %d: key \"%s\"", _i, key);
	first = json_array_get(json_object_get(errors, key), 0);
	ck_assert_msg(strstr(json_string_value(first), bad_cases[_i].msg) != NULL,
	              "case %d: \"%s\" lacks \"%s\"", _i, json_string_value(first), bad_cases[_i].msg);
	json_decref(errors);
}
END_TEST

/* Every bad parameter at once. */
START_TEST(test_all_errors)
{
	struct gb_list_query q;
	json_t *errors = NULL;
	bool bad_cursor;

	ck_assert_int_eq(parse("limit=0&sort=body&done=maybe&x=1&done=1&title=ok", &q, &errors,
	                       &bad_cursor), GB_EINVAL);
	ck_assert_uint_eq(json_object_size(errors), 4);
	ck_assert_uint_eq(json_array_size(json_object_get(errors, "done")), 2);
	ck_assert(!bad_cursor);
	json_decref(errors);
}
END_TEST

START_TEST(test_too_many_filters)
{
	char qs[2048];
	struct gb_list_query q;
	json_t *errors = NULL;
	bool bad_cursor;
	int i, o = 0;

	for (i = 0; i <= GB_FILTER_CONDS_MAX; i++)
		o += snprintf(qs + o, sizeof(qs) - (size_t)o, "%sn.%s=%d", i ? "&" : "",
		              i % 2 ? "gt" : "lt", i);
	/* the keys repeat: the duplicates are reported, not the count */
	ck_assert_int_eq(parse(qs, &q, &errors, &bad_cursor), GB_EINVAL);
	json_decref(errors);
	errors = NULL;
	o = 0;
	for (i = 0; i < 9; i++)
		o += snprintf(qs + o, sizeof(qs) - (size_t)o, "%sn.gt=%d&n.lt=%d&due.gte=2026-01-0%d&"
		              "title.ne=%d", i ? "&" : "", i, i, i + 1, i);
	ck_assert_int_eq(parse(qs, &q, &errors, &bad_cursor), GB_EINVAL);
	ck_assert_ptr_nonnull(errors);
	json_decref(errors);
}
END_TEST

/* ---- cursors -------------------------------------------------------------- */

/* A cursor from raw bytes, as a forger would make one. */
static const char *
forge(const void *raw, size_t n)
{
	char *out = gb_arena_alloc(a, GB_B64URL_LEN(n) + 1);

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(gb_b64url_encode(raw, n, out, GB_B64URL_LEN(n) + 1, NULL), GB_OK);
	return out;
}

static enum gb_err
with_cursor(const char *sort, const char *cursor, struct gb_list_query *q, json_t **errors,
            bool *bad_cursor)
{
	char qs[GB_FILTER_CURSOR_MAX + 64];

	snprintf(qs, sizeof(qs), "%s%s%scursor=%s", sort ? "sort=" : "", sort ? sort : "",
	         sort ? "&" : "", cursor);
	return parse(qs, q, errors, bad_cursor);
}

START_TEST(test_cursor_round_trip)
{
	static const struct {
		const char *sort;
		const char *key;
	} cases[] = {
		{ "-due", "2026-01-31" }, { "due", NULL }, { "-due", NULL },
		{ "title", "caf\xc3\xa9 & 'quotes' \"and\" =signs=" }, { "title", "" },
		{ "n", "-42" }, { NULL, "2026-11-22T08:33:20.91755+00:00" }, { "-id", ID },
	};
	struct gb_list_query q, back;
	json_t *errors = NULL;
	const char *c;
	char qs[64];
	bool bad;
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		snprintf(qs, sizeof(qs), "%s%s", cases[i].sort ? "sort=" : "",
		         cases[i].sort ? cases[i].sort : "");
		ck_assert_int_eq(parse(qs, &q, &errors, &bad), GB_OK);
		c = gb_filter_cursor(a, &q, cases[i].key, ID);
		ck_assert_ptr_nonnull(c);
		ck_assert(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
		          strlen(c));
		ck_assert_msg(with_cursor(cases[i].sort, c, &back, &errors, &bad) == GB_OK,
		              "case %zu", i);
		ck_assert(back.has_cursor);
		ck_assert_str_eq(back.after_id, ID);
		if (cases[i].key == NULL)
			ck_assert_ptr_null(back.after_key);
		else
			ck_assert_str_eq(back.after_key, cases[i].key);
		ck_assert_ptr_eq(back.sort, q.sort);
		ck_assert(back.desc == q.desc);
	}
}
END_TEST

#define RAW(s) s, sizeof(s) - 1

START_TEST(test_cursor_tampered)
{
	static const struct {
		const char *sort;
		const char *raw;
		size_t len;
		const char *msg;
	} cases[] = {
		{ "-due", RAW("1\0due\0=2026-01-31\0" ID), "another sort" },
		{ "due", RAW("1\0-due\0=2026-01-31\0" ID), "another sort" },
		{ "due", RAW("2\0due\0=2026-01-31\0" ID), "not a cursor" },
		{ "due", RAW("1\0due\0=2026-02-30\0" ID), "not a cursor" },
		{ "due", RAW("1\0due\0=2026-01-31' OR 1=1\0" ID), "not a cursor" },
		{ "due", RAW("1\0due\0~2026-01-31\0" ID), "not a cursor" },
		{ "due", RAW("1\0due\0=2026-01-31\0" ID "\0"), "not a cursor" },
		{ "due", RAW("1\0due\0=2026-01-31\0\0" ID), "not a cursor" },
		{ "due", RAW("1\0due\0=2026-01-31"), "not a cursor" },
		{ "due", RAW("1\0due\0=2026-01-31\0" "0D5E7A3C-7D8E-4D59-9D53-5D2F3C8A9B10"),
		  "not a cursor" },
		{ "due", RAW("1\0due\0=2026-01-31\0" "0d5e7a3c-7d8e-4d59-9d53-5d2f3c8a9b1"),
		  "not a cursor" },
		{ "due", RAW("1\0due\0=2026-01-31\0" "0d5e7a3c-7d8e-4d59-9d53-5d2f3c8a9b10x"),
		  "not a cursor" },
		/* created_at is NOT NULL: no row has a null key there */
		{ NULL, RAW("1\0created_at\0-\0" ID), "not a cursor" },
		{ "n", RAW("1\0n\0=1.5\0" ID), "not a cursor" },
		{ "title", RAW("1\0title\0=\xff\0" ID), "not a cursor" },
		{ "due", RAW(""), "not a cursor" },
		{ "due", RAW("\0\0\0"), "not a cursor" },
	};
	struct gb_list_query q;
	json_t *errors = NULL;
	const char *msg;
	bool bad;
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		const char *c = forge(cases[i].raw, cases[i].len);

		if (c[0] == '\0')
			c = "AA";
		ck_assert_msg(with_cursor(cases[i].sort, c, &q, &errors, &bad) == GB_EINVAL,
		              "case %zu", i);
		ck_assert(bad);
		msg = json_string_value(json_array_get(json_object_get(errors, "cursor"), 0));
		ck_assert_msg(msg != NULL && strstr(msg, cases[i].msg) != NULL, "case %zu: %s", i,
		              msg ? msg : "none");
		json_decref(errors);
		errors = NULL;
	}
}
END_TEST

START_TEST(test_cursor_encoding)
{
	struct gb_list_query q;
	json_t *errors = NULL;
	const char *good_cursor;
	char *c, *big;
	bool bad;
	size_t i, n;

	ck_assert_int_eq(parse("sort=due", &q, &errors, &bad), GB_OK);
	good_cursor = gb_filter_cursor(a, &q, "2026-01-31", ID);
	/* not base64url: padding, other alphabets, bytes past the end */
	static const char *const wrong[] = { "MQ==", "MQ", "%2B%2F%2B%2F", "a.b", "Zg%3D", "Z", "Zm9vYmFy%0A" };
	for (i = 0; i < NELEM(wrong); i++) {
		ck_assert_int_eq(with_cursor("due", wrong[i], &q, &errors, &bad), GB_EINVAL);
		ck_assert(bad);
		json_decref(errors);
		errors = NULL;
	}
	/* every single-character change of a good cursor is refused or still
	 * names a valid position; none crashes or is taken for another sort */
	n = strlen(good_cursor);
	c = gb_arena_strdup(a, good_cursor);
	for (i = 0; i < n; i++) {
		char was = c[i];

		c[i] = was == 'A' ? 'B' : 'A';
		if (with_cursor("due", c, &q, &errors, &bad) == GB_OK)
			ck_assert(q.has_cursor && q.sort == gb_resource_column(r, "due"));
		else
			ck_assert(bad);
		json_decref(errors);
		errors = NULL;
		c[i] = was;
	}
	/* too long: refused before decoding; too long a key: no cursor made */
	big = gb_arena_alloc(a, GB_FILTER_CURSOR_MAX + 2);
	memset(big, 'A', GB_FILTER_CURSOR_MAX + 1);
	big[GB_FILTER_CURSOR_MAX + 1] = '\0';
	ck_assert_int_eq(with_cursor("due", big, &q, &errors, &bad), GB_EINVAL);
	json_decref(errors);
	big[GB_FILTER_CURSOR_MAX] = '\0';
	ck_assert_ptr_null(gb_filter_cursor(a, &q, big, ID));
	big[2000] = '\0';
	ck_assert_ptr_nonnull(gb_filter_cursor(a, &q, big, ID));
}
END_TEST

static Suite *
filter_suite(void)
{
	Suite *su = suite_create("gb_filter");
	TCase *t = tcase_create("filter");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_default);
	tcase_add_loop_test(t, test_good, 0, NELEM(good));
	tcase_add_loop_test(t, test_bad, 0, NELEM(bad_cases));
	tcase_add_test(t, test_all_errors);
	tcase_add_test(t, test_too_many_filters);
	tcase_add_test(t, test_cursor_round_trip);
	tcase_add_test(t, test_cursor_tampered);
	tcase_add_test(t, test_cursor_encoding);
	suite_add_tcase(su, t);
	return su;
}

GB_TEST_MAIN(filter_suite)
