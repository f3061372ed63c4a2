/* Tests for lib/gb_sql.c: the exact statements, and that no value a client
 * sends ever becomes text of one. */
#include "config.h"

#include "gb_sql.h"
#include "gb_test.h"
#include "gb_url.h"

static const char decl[] =
	"{\"resource\": \"notes\", \"table\": \"notes\",\n"
	" \"columns\": {\"title\": {\"type\": \"text\", \"required\": true, \"max_length\": 200},\n"
	"  \"done\": {\"type\": \"boolean\", \"default\": false}, \"due\": {\"type\": \"date\"},\n"
	"  \"n\": {\"type\": \"integer\"}, \"meta\": {\"type\": \"json\"}},\n"
	" \"filter\": [\"title\", \"done\", \"due\", \"n\"], \"sort\": [\"title\", \"due\", \"id\"]}";

static const struct gb_catalog_column cols[] = {
	{ "id", "uuid", -1, true, true },
	{ "company_id", "uuid", -1, true, true },
	{ "version", "int8", -1, true, true },
	{ "created_at", "timestamptz", -1, true, true },
	{ "updated_at", "timestamptz", -1, true, true },
	{ "title", "text", -1, true, false },
	{ "done", "bool", -1, true, true },
	{ "due", "date", -1, false, false },
	{ "n", "int4", -1, false, false },
	{ "meta", "json", -1, false, false },
};
static const struct gb_catalog_policy pol = { "tenant", true, '*', true, true, true, true };
static const struct gb_catalog_constraint pk = { "notes_pkey", 'p', "id" };

#define ID "0d5e7a3c-7d8e-4d59-9d53-5d2f3c8a9b10"
#define T "\"gerbang_data\".\"notes\""
#define ROW "to_json(t.\"id\"), to_json(t.\"title\"), to_json(t.\"done\"), to_json(t.\"due\"), " \
	"to_json(t.\"n\"), to_json(t.\"meta\"), to_json(t.\"version\"), " \
	"to_json(t.\"created_at\"), to_json(t.\"updated_at\")"

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

START_TEST(test_one_row)
{
	char *sql;

	ck_assert_int_eq(gb_sql_get(a, r, &sql), GB_OK);
	ck_assert_str_eq(sql, "SELECT " ROW " FROM " T " t WHERE t.\"id\" = $1::uuid");
	ck_assert_int_eq(gb_sql_version(a, r, &sql), GB_OK);
	ck_assert_str_eq(sql, "SELECT t.\"version\" FROM " T " t WHERE t.\"id\" = $1::uuid");
	ck_assert_int_eq(gb_sql_delete(a, r, false, &sql), GB_OK);
	ck_assert_str_eq(sql, "DELETE FROM " T " AS t WHERE t.\"id\" = $1::uuid "
	                 "RETURNING t.\"version\"");
	ck_assert_int_eq(gb_sql_delete(a, r, true, &sql), GB_OK);
	ck_assert_str_eq(sql, "DELETE FROM " T " AS t WHERE t.\"id\" = $1::uuid AND "
	                 "t.\"version\" = ANY ($2::bigint[]) RETURNING t.\"version\"");
}
END_TEST

START_TEST(test_writes)
{
	const struct gb_column *w[3];
	char *sql;

	w[0] = gb_resource_column(r, "title");
	w[1] = gb_resource_column(r, "n");
	w[2] = gb_resource_column(r, "meta");
	ck_assert_int_eq(gb_sql_insert(a, r, w, 3, &sql), GB_OK);
	ck_assert_str_eq(sql, "INSERT INTO " T " AS t (\"company_id\", \"title\", \"n\", \"meta\") "
	                 "VALUES ($1::uuid, $2::text, $3::bigint, $4::json) RETURNING " ROW);
	ck_assert_int_eq(gb_sql_insert(a, r, w, 0, &sql), GB_OK);
	ck_assert_str_eq(sql, "INSERT INTO " T " AS t (\"company_id\") VALUES ($1::uuid) "
	                 "RETURNING " ROW);
	ck_assert_int_eq(gb_sql_update(a, r, w, 2, false, &sql), GB_OK);
	ck_assert_str_eq(sql, "UPDATE " T " AS t SET \"title\" = $2::text, \"n\" = $3::bigint, "
	                 "\"version\" = t.\"version\" + 1, \"updated_at\" = now() "
	                 "WHERE t.\"id\" = $1::uuid RETURNING " ROW);
	ck_assert_int_eq(gb_sql_update(a, r, w + 2, 1, true, &sql), GB_OK);
	ck_assert_str_eq(sql, "UPDATE " T " AS t SET \"meta\" = $3::json, "
	                 "\"version\" = t.\"version\" + 1, \"updated_at\" = now() "
	                 "WHERE t.\"id\" = $1::uuid AND t.\"version\" = ANY ($2::bigint[]) "
	                 "RETURNING " ROW);
}
END_TEST

/* One list query: its statement and parameters. */
static const struct {
	const char *qs;
	const char *key;        /* the cursor's key, when one is given */
	bool null_key;
	const char *sql;        /* after "SELECT ROW, " */
	const char *params;     /* joined with '|' */
} lists[] = {
	{ "", NULL, false,
	  "to_json(t.\"created_at\") #>> '{}', t.\"id\" FROM " T " t ORDER BY t.\"created_at\" ASC "
	  "NULLS LAST, t.\"id\" ASC LIMIT $1::int", "21" },
	{ "limit=5&done=true&due.gte=2026-01-01&due.null=false&n.ne=3", NULL, false,
	  "to_json(t.\"created_at\") #>> '{}', t.\"id\" FROM " T " t WHERE t.\"done\" = $1::boolean "
	  "AND t.\"due\" >= $2::date AND t.\"due\" IS NOT NULL AND "
	  "t.\"n\" IS DISTINCT FROM $3::bigint ORDER BY t.\"created_at\" ASC NULLS LAST, "
	  "t.\"id\" ASC LIMIT $4::int", "true|2026-01-01|3|6" },
	/* after a key, on a NOT NULL column: a row comparison */
	{ "", "2026-11-22T08:33:20.91755+00:00", false,
	  "to_json(t.\"created_at\") #>> '{}', t.\"id\" FROM " T " t WHERE "
	  "((t.\"created_at\", t.\"id\") > ($1::timestamptz, $2::uuid)) ORDER BY "
	  "t.\"created_at\" ASC NULLS LAST, t.\"id\" ASC LIMIT $3::int",
	  "2026-11-22T08:33:20.91755+00:00|" ID "|21" },
	/* a nullable column ascending: greater, or null, or equal and a later id */
	{ "sort=due&title=x", "2026-01-31", false,
	  "to_json(t.\"due\") #>> '{}', t.\"id\" FROM " T " t WHERE t.\"title\" = $1::text AND "
	  "(t.\"due\" > $2::date OR t.\"due\" IS NULL OR (t.\"due\" = $2::date AND t.\"id\" > "
	  "$3::uuid)) ORDER BY t.\"due\" ASC NULLS LAST, t.\"id\" ASC LIMIT $4::int",
	  "x|2026-01-31|" ID "|21" },
	/* descending: nulls came first, so only smaller keys or equal ones */
	{ "sort=-due", "2026-01-31", false,
	  "to_json(t.\"due\") #>> '{}', t.\"id\" FROM " T " t WHERE (t.\"due\" < $1::date OR "
	  "(t.\"due\" = $1::date AND t.\"id\" < $2::uuid)) ORDER BY t.\"due\" DESC NULLS FIRST, "
	  "t.\"id\" DESC LIMIT $3::int", "2026-01-31|" ID "|21" },
	/* after a null key ascending: the other nulls; descending: them, then every key */
	{ "sort=due", NULL, true,
	  "to_json(t.\"due\") #>> '{}', t.\"id\" FROM " T " t WHERE (t.\"due\" IS NULL AND "
	  "t.\"id\" > $1::uuid) ORDER BY t.\"due\" ASC NULLS LAST, t.\"id\" ASC LIMIT $2::int",
	  ID "|21" },
	{ "sort=-due", NULL, true,
	  "to_json(t.\"due\") #>> '{}', t.\"id\" FROM " T " t WHERE (t.\"due\" IS NOT NULL OR "
	  "t.\"id\" < $1::uuid) ORDER BY t.\"due\" DESC NULLS FIRST, t.\"id\" DESC LIMIT $2::int",
	  ID "|21" },
	/* by id */
	{ "sort=-id&limit=100", ID, false,
	  "to_json(t.\"id\") #>> '{}', t.\"id\" FROM " T " t WHERE t.\"id\" < $1::uuid ORDER BY "
	  "t.\"id\" DESC LIMIT $2::int", ID "|101" },
};

START_TEST(test_list)
{
	struct gb_list_query q;
	struct gb_query query;
	json_t *errors = NULL;
	const char **params;
	char *sql, joined[512];
	bool bad;
	int n, i, o = 0;

	ck_assert_int_eq(gb_query_parse(a, lists[_i].qs, strlen(lists[_i].qs), &query), GB_OK);
	ck_assert_int_eq(gb_filter_parse(r, &query, a, &q, &errors, &bad), GB_OK);
	if (lists[_i].key != NULL || lists[_i].null_key) {
		q.has_cursor = true;
		q.after_key = lists[_i].key;
		memcpy(q.after_id, ID, 37);
	}
	ck_assert_int_eq(gb_sql_list(a, r, &q, &sql, &params, &n), GB_OK);
	ck_assert_str_eq(sql, gb_arena_cat(a, "SELECT " ROW ", ", lists[_i].sql, NULL));
	joined[0] = '\0';
	for (i = 0; i < n; i++)
		o += snprintf(joined + o, sizeof(joined) - (size_t)o, "%s%s", i ? "|" : "", params[i]);
	ck_assert_str_eq(joined, lists[_i].params);
}
END_TEST

/* Hostile values go to the parameters and nowhere else. */
START_TEST(test_values_stay_parameters)
{
	static const char *const hostile[] = {
		"'; DROP TABLE gerbang.users; --",
		"\" OR \"1\"=\"1",
		"$1::text); DELETE FROM x; --",
		"\\'; SELECT pg_sleep(10); --",
		"notes\" t; --",
	};
	struct gb_list_query q;
	struct gb_query query;
	json_t *errors = NULL;
	const char **params;
	char *sql, qs[512], enc[200];
	bool bad;
	size_t i, k, o;
	int n;

	for (i = 0; i < NELEM(hostile); i++) {
		/* percent-encode every byte */
		for (k = 0, o = 0; hostile[i][k] != '\0'; k++)
			o += (size_t)snprintf(enc + o, sizeof(enc) - o, "%%%02X",
			                      (unsigned char)hostile[i][k]);
		snprintf(qs, sizeof(qs), "title=%s&title.ne=%s&sort=title", enc, enc);
		ck_assert_int_eq(gb_query_parse(a, qs, strlen(qs), &query), GB_OK);
		ck_assert_int_eq(gb_filter_parse(r, &query, a, &q, &errors, &bad), GB_OK);
		q.has_cursor = true;
		q.after_key = hostile[i];
		memcpy(q.after_id, ID, 37);
		ck_assert_int_eq(gb_sql_list(a, r, &q, &sql, &params, &n), GB_OK);
		ck_assert_ptr_null(strstr(sql, hostile[i]));
		ck_assert_ptr_null(strchr(sql, ';'));
		ck_assert_ptr_null(strstr(sql, "--"));
		ck_assert_int_eq(n, 5);
		ck_assert_str_eq(params[0], hostile[i]);
		ck_assert_str_eq(params[1], hostile[i]);
		ck_assert_str_eq(params[2], hostile[i]);
	}
}
END_TEST

static Suite *
sql_suite(void)
{
	Suite *su = suite_create("gb_sql");
	TCase *t = tcase_create("sql");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_one_row);
	tcase_add_test(t, test_writes);
	tcase_add_loop_test(t, test_list, 0, NELEM(lists));
	tcase_add_test(t, test_values_stay_parameters);
	suite_add_tcase(su, t);
	return su;
}

GB_TEST_MAIN(sql_suite)
