/* Tests for lib/gb_schema.c: declarations (good, bad, hostile), the
 * directory, values of every type at their edges, and binding to what the
 * catalog says. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gb_auth.h"
#include "gb_schema.h"
#include "gb_test.h"

/* ---- a declaration with every type, and the catalog of its table ------ */

static const char things[] =
	"{\"resource\": \"things\", \"table\": \"things\",\n"
	" \"columns\": {\n"
	"  \"title\": {\"type\": \"text\", \"required\": true, \"min_length\": 2,"
	"              \"max_length\": 10, \"pattern\": \"^[A-Za-z ]+$\"},\n"
	"  \"kind\": {\"type\": \"text\", \"enum\": [\"a\", \"b\"], \"default\": \"a\"},\n"
	"  \"n\": {\"type\": \"integer\", \"minimum\": -5, \"maximum\": 100},\n"
	"  \"big\": {\"type\": \"integer\"},\n"
	"  \"price\": {\"type\": \"numeric\", \"minimum\": 0, \"maximum\": \"999.99\"},\n"
	"  \"ok\": {\"type\": \"boolean\", \"default\": true},\n"
	"  \"due\": {\"type\": \"date\", \"minimum\": \"2000-01-01\", \"maximum\": \"2099-12-31\"},\n"
	"  \"at\": {\"type\": \"timestamp\", \"minimum\": \"2000-01-01T00:00:00Z\"},\n"
	"  \"ref\": {\"type\": \"uuid\", \"write_once\": true},\n"
	"  \"meta\": {\"type\": \"json\"},\n"
	"  \"code\": {\"type\": \"text\", \"max_length\": 20},\n"
	"  \"seq\": {\"type\": \"integer\", \"read_only\": true},\n"
	"  \"qty\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 100000}\n"
	" },\n"
	" \"filter\": [\"title\", \"n\", \"ok\", \"due\", \"at\", \"ref\", \"created_at\", \"id\"],\n"
	" \"sort\": [\"title\", \"due\", \"n\", \"id\"],\n"
	" \"default_sort\": \"-due\",\n"
	" \"roles\": {\"read\": [\"owner\", \"viewer\"], \"write\": [\"owner\"]}}\n";

static const struct gb_catalog_column things_cols[] = {
	{ "id", "uuid", -1, true, true },
	{ "company_id", "uuid", -1, true, true },
	{ "version", "int8", -1, true, true },
	{ "created_at", "timestamptz", -1, true, true },
	{ "updated_at", "timestamptz", -1, true, true },
	{ "title", "text", -1, true, false },
	{ "kind", "text", -1, false, false },
	{ "n", "int4", -1, false, false },
	{ "big", "int8", -1, false, false },
	{ "price", "numeric", -1, false, false },
	{ "ok", "bool", -1, true, true },
	{ "due", "date", -1, false, false },
	{ "at", "timestamptz", -1, false, false },
	{ "ref", "uuid", -1, false, false },
	{ "meta", "jsonb", -1, false, false },
	{ "code", "varchar", 20, false, false },
	{ "seq", "int8", -1, true, true },
	{ "qty", "int4", -1, false, false },
	{ "extra", "text", -1, false, false },      /* undeclared: never reachable */
};

static const struct gb_catalog_policy tenant_policy[] = {
	{ "tenant", true, '*', true, true, true, true },
	{ "no_archived", false, 'r', true, false, false, false },  /* restrictive: fine */
};

static const struct gb_catalog_constraint things_cons[] = {
	{ "things_pkey", 'p', "id" },
	{ "things_code_key", 'u', "company_id,code" },
	{ "things_ref_fkey", 'f', "company_id,ref" },
	{ "things_n_check", 'c', "n" },
	{ "things_two", 'u', "title,code" },       /* two columns: no field */
	{ "things_version_check", 'c', "version" },
};

static struct gb_catalog_table
good_table(void)
{
	struct gb_catalog_table t = {
		.exists = true, .is_table = true, .rls = true, .force_rls = true,
		.can_select = true, .can_insert = true, .can_update = true, .can_delete = true,
		.cols = things_cols, .ncols = NELEM(things_cols),
		.policies = tenant_policy, .npolicies = NELEM(tenant_policy),
		.cons = things_cons, .ncons = NELEM(things_cons),
	};

	return t;
}

static struct gb_schema *
things_bound(void)
{
	struct gb_catalog_table t = good_table();
	struct gb_schema_error err;
	struct gb_schema *s = NULL;

	ck_assert_int_eq(gb_schema_parse(things, strlen(things), "things.json", &s, &err), GB_OK);
	ck_assert_msg(gb_schema_bind(s, 0, &t, &err) == GB_OK, "%s: %s", err.key, err.msg);
	return s;
}

START_TEST(test_parse_full)
{
	struct gb_schema *s = things_bound();
	const struct gb_resource *r = gb_schema_at(s, 0);
	const struct gb_column *c;
	static const char *const order[] = {
		"id", "title", "kind", "n", "big", "price", "ok", "due", "at", "ref", "meta", "code",
		"seq", "qty", "version", "created_at", "updated_at",
	};
	size_t i;

	ck_assert_uint_eq(gb_schema_count(s), 1);
	ck_assert_ptr_null(gb_schema_at(s, 1));
	ck_assert_ptr_eq(gb_schema_find(s, "things"), r);
	ck_assert_ptr_null(gb_schema_find(s, "thing"));
	ck_assert_ptr_null(gb_schema_find(s, NULL));
	ck_assert_str_eq(r->file, "things.json");
	ck_assert_str_eq(r->name, "things");
	ck_assert_str_eq(r->table, "things");
	ck_assert_str_eq(r->qtable, "\"gerbang_data\".\"things\"");
	ck_assert_uint_eq(r->ncols, NELEM(order));
	for (i = 0; i < NELEM(order); i++) {
		ck_assert_str_eq(r->cols[i].name, order[i]);
		ck_assert_ptr_eq(gb_resource_column(r, order[i]), &r->cols[i]);
	}
	ck_assert_ptr_null(gb_resource_column(r, "company_id"));
	ck_assert_ptr_null(gb_resource_column(r, "extra"));
	ck_assert_uint_eq(r->read_roles, GB_ROLE_OWNER | GB_ROLE_VIEWER);
	ck_assert_uint_eq(r->write_roles, GB_ROLE_OWNER);
	ck_assert_str_eq(r->default_sort->name, "due");
	ck_assert(r->default_desc);

	c = gb_resource_column(r, "id");
	ck_assert(c->system && c->read_only && c->filter && c->sort && !c->db_nullable);
	ck_assert_str_eq(c->ident, "\"id\"");
	ck_assert_str_eq(c->cast, "uuid");
	c = gb_resource_column(r, "version");
	ck_assert(c->system && !c->filter && !c->sort);
	c = gb_resource_column(r, "title");
	ck_assert(c->required && c->filter && c->sort && !c->system && !c->db_nullable);
	ck_assert_int_eq(c->min_length, 2);
	ck_assert_int_eq(c->max_length, 10);
	ck_assert(c->has_pattern);
	ck_assert_str_eq(c->cast, "text");
	c = gb_resource_column(r, "kind");
	ck_assert_uint_eq(c->nenum, 2);
	ck_assert_str_eq(c->default_value, "a");
	ck_assert(c->db_nullable && !c->filter);
	c = gb_resource_column(r, "n");
	ck_assert(c->has_min && c->has_max);
	ck_assert_int_eq(c->imin, -5);
	ck_assert_int_eq(c->imax, 100);
	ck_assert_str_eq(c->cast, "bigint");
	/* an int8 column without bounds is bounded by its type once bound */
	c = gb_resource_column(r, "big");
	ck_assert(c->has_min && c->has_max);
	ck_assert_str_eq(c->min_text, "-9223372036854775808");
	ck_assert_str_eq(c->max_text, "9223372036854775807");
	c = gb_resource_column(r, "price");
	ck_assert(c->dmin == 0 && c->dmax == 999.99);
	ck_assert_str_eq(c->max_text, "999.99");
	c = gb_resource_column(r, "ok");
	ck_assert_str_eq(c->default_value, "true");
	ck_assert(!c->db_nullable && c->db_has_default);
	c = gb_resource_column(r, "due");
	ck_assert_int_eq(c->imin, 10957);         /* days from 1970-01-01 to 2000-01-01 */
	ck_assert_str_eq(c->cast, "date");
	c = gb_resource_column(r, "at");
	ck_assert_int_eq(c->imin, 946684800000000LL);
	ck_assert_str_eq(c->cast, "timestamptz");
	c = gb_resource_column(r, "ref");
	ck_assert(c->write_once);
	c = gb_resource_column(r, "meta");
	ck_assert_str_eq(c->cast, "jsonb");
	c = gb_resource_column(r, "seq");
	ck_assert(c->read_only && !c->system);

	/* constraints of one declared column (company_id aside) */
	ck_assert_str_eq(gb_resource_constraint(r, "things_code_key")->name, "code");
	ck_assert_str_eq(gb_resource_constraint(r, "things_ref_fkey")->name, "ref");
	ck_assert_str_eq(gb_resource_constraint(r, "things_n_check")->name, "n");
	ck_assert_ptr_null(gb_resource_constraint(r, "things_two"));
	ck_assert_ptr_null(gb_resource_constraint(r, "things_pkey"));
	ck_assert_ptr_null(gb_resource_constraint(r, "things_version_check"));
	ck_assert_ptr_null(gb_resource_constraint(r, "nope"));
	ck_assert_ptr_null(gb_resource_constraint(r, NULL));
	gb_schema_free(s);
	gb_schema_free(NULL);
}
END_TEST

START_TEST(test_parse_minimal)
{
	static const char text[] = "{\"resource\":\"t-1\",\"table\":\"t_1\","
	                           "\"columns\":{\"x\":{\"type\":\"text\"}}}";
	struct gb_schema *s = NULL;
	const struct gb_resource *r;

	ck_assert_int_eq(gb_schema_parse(text, strlen(text), NULL, &s, NULL), GB_OK);
	r = gb_schema_at(s, 0);
	ck_assert_str_eq(r->file, "");
	ck_assert_str_eq(r->name, "t-1");
	ck_assert_str_eq(r->default_sort->name, "created_at");
	ck_assert(!r->default_desc);
	ck_assert_uint_eq(r->read_roles, GB_ROLE_OWNER | GB_ROLE_ADMIN | GB_ROLE_MEMBER |
	                  GB_ROLE_VIEWER);
	ck_assert_uint_eq(r->write_roles, GB_ROLE_OWNER | GB_ROLE_ADMIN | GB_ROLE_MEMBER);
	ck_assert(!gb_resource_column(r, "x")->filter);
	ck_assert(!gb_resource_column(r, "created_at")->sort);
	ck_assert_int_eq(gb_resource_column(r, "x")->max_length, -1);
	ck_assert_ptr_null(gb_resource_column(r, "x")->default_value);
	gb_schema_free(s);
}
END_TEST

/* Patterns a real declaration uses stay accepted under the limits. */
START_TEST(test_pattern_ok)
{
	static const char *const ok[] = {
		"^[A-Za-z ]+$",
		"^[[:alpha:]]{2,5}(-[0-9]{1,4})?$",
		"^[]a-z]*[^]]?\\\\+\\\\{x$",
		"^([a-z0-9._%+-]+)@([a-z0-9-]+\\\\.)+[a-z]{2,63}$",
		"^(a{1,255}){1,39}$",
		"^[0-9]{3}-[0-9]{3}-[0-9]{4}$|^x{0}$",
	};
	char text[512];
	struct gb_schema *s;

	for (size_t i = 0; i < NELEM(ok); i++) {
		snprintf(text, sizeof(text), "{\"resource\":\"r\",\"table\":\"t\",\"columns\":"
		         "{\"x\":{\"type\":\"text\",\"pattern\":\"%s\"}}}", ok[i]);
		s = NULL;
		ck_assert_msg(gb_schema_parse(text, strlen(text), NULL, &s, NULL) == GB_OK,
		              "pattern %s refused", ok[i]);
		ck_assert(gb_resource_column(gb_schema_at(s, 0), "x")->has_pattern);
		gb_schema_free(s);
	}
}
END_TEST

/* ---- bad declarations: one input, the key and words of its error ------ */

#define MIN_COLS "\"columns\":{\"x\":{\"type\":\"text\"}}"
#define DECL(rest) "{\"resource\":\"r\",\"table\":\"t\"," rest "}"
#define COL(def) DECL("\"columns\":{\"x\":" def "}")

static const struct {
	const char *text;
	const char *key;
	const char *msg;
} bad[] = {
	{ "", "", "line 1" },
	{ "[]", "", "must be a JSON object" },
	{ "{\"resource\":\"r\"", "", "line 1" },
	{ "{\"resource\":\"r\",\"resource\":\"s\"}", "resource", "appears twice" },
	{ DECL(MIN_COLS ",\"colums\":{}"), "colums", "not a known key" },
	{ DECL(MIN_COLS ",\"Table\":\"t\""), "Table", "not a known key" },
	{ "{\"table\":\"t\"," MIN_COLS "}", "resource", "is required" },
	{ "{\"resource\":\"r\"," MIN_COLS "}", "table", "is required" },
	{ DECL("\"filter\":[]"), "columns", "is required" },
	{ "{\"resource\":\"R\",\"table\":\"t\"," MIN_COLS "}", "resource", "a-z" },
	{ "{\"resource\":\"1r\",\"table\":\"t\"," MIN_COLS "}", "resource", "starting" },
	{ "{\"resource\":\"\",\"table\":\"t\"," MIN_COLS "}", "resource", "a-z" },
	{ "{\"resource\":\"r/x\",\"table\":\"t\"," MIN_COLS "}", "resource", "a-z" },
	{ "{\"resource\":\"r\\u00e9\",\"table\":\"t\"," MIN_COLS "}", "resource", "r??" },
	{ "{\"resource\":7,\"table\":\"t\"," MIN_COLS "}", "resource", "must be a string" },
	{ "{\"resource\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
	  "\"table\":\"t\"," MIN_COLS "}", "resource", "1 to 63" },
	{ "{\"resource\":\"r\",\"table\":\"t-x\"," MIN_COLS "}", "table", "a-z, 0-9 and '_'" },
	{ "{\"resource\":\"r\",\"table\":\"t\\\"; drop table x; --\"," MIN_COLS "}", "table",
	  "must be 1 to 63" },
	{ "{\"resource\":\"r\",\"table\":\"users\"," MIN_COLS "}", "table", "gateway" },
	{ "{\"resource\":\"r\",\"table\":\"refresh_tokens\"," MIN_COLS "}", "table", "gateway" },
	{ "{\"resource\":\"r\",\"table\":\"tasks\"," MIN_COLS "}", "table", "gateway" },
	{ "{\"resource\":\"r\",\"table\":\"companies\"," MIN_COLS "}", "table", "gateway" },
	{ "{\"resource\":\"r\",\"table\":\"pg_authid\"," MIN_COLS "}", "table", "PostgreSQL" },
	{ "{\"resource\":\"r\",\"table\":\"gerbang.users\"," MIN_COLS "}", "table", "a-z" },
	{ DECL("\"columns\":{}"), "columns", "1 to 40" },
	{ DECL("\"columns\":[]"), "columns", "1 to 40" },
	{ COL("7"), "columns.x", "must be an object" },
	{ COL("{}"), "columns.x.type", "is required" },
	{ COL("{\"type\":\"string\"}"), "columns.x.type", "not \"string\"" },
	{ COL("{\"type\":\"text\",\"maxlength\":3}"), "columns.x.maxlength", "not a known key" },
	{ DECL("\"columns\":{\"id\":{\"type\":\"uuid\"}}"), "columns.id", "gateway uses" },
	{ DECL("\"columns\":{\"company_id\":{\"type\":\"uuid\"}}"), "columns.company_id",
	  "gateway uses" },
	{ DECL("\"columns\":{\"version\":{\"type\":\"integer\"}}"), "columns.version",
	  "gateway uses" },
	{ DECL("\"columns\":{\"sort\":{\"type\":\"text\"}}"), "columns.sort", "gateway uses" },
	{ DECL("\"columns\":{\"limit\":{\"type\":\"text\"}}"), "columns.limit", "gateway uses" },
	{ DECL("\"columns\":{\"X\":{\"type\":\"text\"}}"), "columns.X", "a-z" },
	{ DECL("\"columns\":{\"a.b\":{\"type\":\"text\"}}"), "columns.a.b", "a-z" },
	{ DECL("\"columns\":{\"a\\\"b\":{\"type\":\"text\"}}"), "columns.a\"b", "a-z" },
	{ COL("{\"type\":\"text\",\"required\":1}"), "columns.x.required", "true or false" },
	{ COL("{\"type\":\"integer\",\"max_length\":3}"), "columns.x.max_length", "only for text" },
	{ COL("{\"type\":\"text\",\"max_length\":-1}"), "columns.x.max_length", "0 to 1048576" },
	{ COL("{\"type\":\"text\",\"max_length\":1.5}"), "columns.x.max_length", "whole number" },
	{ COL("{\"type\":\"text\",\"min_length\":5,\"max_length\":3}"), "columns.x.min_length",
	  "more than max_length" },
	{ COL("{\"type\":\"text\",\"minimum\":1}"), "columns.x.minimum", "only for integer" },
	{ COL("{\"type\":\"integer\",\"minimum\":1.5}"), "columns.x.minimum", "whole number" },
	{ COL("{\"type\":\"integer\",\"minimum\":5,\"maximum\":4}"), "columns.x.minimum",
	  "more than maximum" },
	{ COL("{\"type\":\"numeric\",\"maximum\":\"1e5\"}"), "columns.x.maximum", "a number" },
	{ COL("{\"type\":\"numeric\",\"minimum\":\"2.5\",\"maximum\":2}"), "columns.x.minimum",
	  "more than maximum" },
	{ COL("{\"type\":\"date\",\"minimum\":\"2026-02-30\"}"), "columns.x.minimum", "a date" },
	{ COL("{\"type\":\"timestamp\",\"maximum\":\"2026-01-01 00:00:00\"}"), "columns.x.maximum",
	  "RFC 3339" },
	{ COL("{\"type\":\"boolean\",\"maximum\":true}"), "columns.x.maximum", "only for" },
	{ COL("{\"type\":\"text\",\"pattern\":\"(\"}"), "columns.x.pattern", "not a POSIX" },
	{ COL("{\"type\":\"text\",\"pattern\":\"\"}"), "columns.x.pattern", "1 to 1024" },
	{ COL("{\"type\":\"uuid\",\"pattern\":\"a\"}"), "columns.x.pattern", "only for text" },
	{ COL("{\"type\":\"text\",\"pattern\":\"^[a-z]+++$\"}"), "columns.x.pattern",
	  "repeats a repetition" },
	{ COL("{\"type\":\"text\",\"pattern\":\"a{1,256}\"}"), "columns.x.pattern", "above 255" },
	{ COL("{\"type\":\"text\",\"pattern\":\"a{1x}\"}"), "columns.x.pattern", "malformed" },
	{ COL("{\"type\":\"text\",\"pattern\":\"((a{1,255}){1,255}){1,255}\"}"),
	  "columns.x.pattern", "repeats too much" },
	{ COL("{\"type\":\"text\",\"pattern\":\"([ab])+\\\\1\"}"), "columns.x.pattern",
	  "back-reference" },
	{ COL("{\"type\":\"text\",\"enum\":[]}"), "columns.x.enum", "1 to 64" },
	{ COL("{\"type\":\"text\",\"enum\":[1]}"), "columns.x.enum", "strings" },
	{ COL("{\"type\":\"text\",\"enum\":[\"a\",\"a\"]}"), "columns.x.enum", "twice" },
	{ COL("{\"type\":\"integer\",\"enum\":[\"a\"]}"), "columns.x.enum", "only for text" },
	{ COL("{\"type\":\"text\",\"enum\":[\"a\"],\"max_length\":3}"), "columns.x.enum",
	  "cannot be combined" },
	{ COL("{\"type\":\"text\",\"required\":true,\"read_only\":true}"), "columns.x.read_only",
	  "required" },
	{ COL("{\"type\":\"text\",\"write_once\":true,\"read_only\":true}"),
	  "columns.x.read_only", "write_once" },
	{ COL("{\"type\":\"text\",\"required\":true,\"default\":\"a\"}"), "columns.x.default",
	  "required" },
	{ COL("{\"type\":\"text\",\"read_only\":true,\"default\":\"a\"}"), "columns.x.default",
	  "read-only" },
	{ COL("{\"type\":\"text\",\"default\":null}"), "columns.x.default", "must not be null" },
	{ COL("{\"type\":\"text\",\"default\":1}"), "columns.x.default", "must be a string" },
	{ COL("{\"type\":\"text\",\"max_length\":2,\"default\":\"abc\"}"), "columns.x.default",
	  "at most 2 characters" },
	{ COL("{\"type\":\"integer\",\"maximum\":3,\"default\":4}"), "columns.x.default",
	  "at most 3" },
	{ COL("{\"type\":\"boolean\",\"default\":\"true\"}"), "columns.x.default", "true or false" },
	{ COL("{\"type\":\"date\",\"default\":\"2026-13-01\"}"), "columns.x.default", "date" },
	{ COL("{\"type\":\"uuid\",\"default\":\"x\"}"), "columns.x.default", "UUID" },
	{ DECL(MIN_COLS ",\"filter\":\"x\""), "filter", "array" },
	{ DECL(MIN_COLS ",\"filter\":[\"y\"]"), "filter", "\"y\" is not a declared" },
	{ DECL(MIN_COLS ",\"filter\":[\"x\",\"x\"]"), "filter", "listed twice" },
	{ DECL(MIN_COLS ",\"filter\":[\"company_id\"]"), "filter", "not a declared" },
	{ DECL(MIN_COLS ",\"filter\":[\"version\"]"), "filter", "not a declared" },
	{ DECL(MIN_COLS ",\"filter\":[1]"), "filter", "strings" },
	{ DECL("\"columns\":{\"j\":{\"type\":\"json\"}},\"filter\":[\"j\"]"), "filter",
	  "json column" },
	{ DECL("\"columns\":{\"j\":{\"type\":\"json\"}},\"sort\":[\"j\"]"), "sort", "json column" },
	{ DECL(MIN_COLS ",\"sort\":[\"x\"]"), "sort", "max_length of at most 1024" },
	{ DECL("\"columns\":{\"x\":{\"type\":\"text\",\"max_length\":1025}},\"sort\":[\"x\"]"),
	  "sort", "max_length" },
	{ DECL(MIN_COLS ",\"default_sort\":\"nope\""), "default_sort", "column name" },
	{ DECL(MIN_COLS ",\"default_sort\":\"--id\""), "default_sort", "column name" },
	{ DECL(MIN_COLS ",\"default_sort\":\"x\""), "default_sort", "max_length" },
	{ DECL(MIN_COLS ",\"default_sort\":\"version\""), "default_sort", "column name" },
	{ DECL(MIN_COLS ",\"roles\":[]"), "roles", "must be an object" },
	{ DECL(MIN_COLS ",\"roles\":{\"read\":[]}"), "roles.read", "non-empty" },
	{ DECL(MIN_COLS ",\"roles\":{\"write\":[\"boss\"]}"), "roles.write", "\"boss\" is not" },
	{ DECL(MIN_COLS ",\"roles\":{\"write\":[\"owner\",\"owner\"]}"), "roles.write", "twice" },
	{ DECL(MIN_COLS ",\"roles\":{\"delete\":[\"owner\"]}"), "roles.delete", "not a known key" },
};

START_TEST(test_parse_bad)
{
	struct gb_schema_error err;
	struct gb_schema *s = (struct gb_schema *)0x1;

	memset(&err, 0x7f, sizeof(err));
	ck_assert_int_eq(gb_schema_parse(bad[_i].text, strlen(bad[_i].text), "bad.json", &s, &err),
	                 GB_ECONFIG);
	ck_assert_ptr_eq(s, (struct gb_schema *)0x1);     /* unchanged */
	ck_assert_str_eq(err.file, "bad.json");
	ck_assert_msg(strcmp(err.key, bad[_i].key) == 0, "case %d: key \"%s\", not \"%s\" (%s)",
	              _i, err.key, bad[_i].key, err.msg);
	ck_assert_msg(strstr(err.msg, bad[_i].msg) != NULL, "case %d: \"%s\" lacks \"%s\"", _i,
	              err.msg, bad[_i].msg);
}
END_TEST

START_TEST(test_parse_hostile)
{
	struct gb_schema_error err;
	struct gb_schema *s = NULL;
	char *deep, *big;
	size_t i, n;

	/* nested past what anything takes */
	n = 5000;
	deep = malloc(2 * n + 1);
	ck_assert_ptr_nonnull(deep);
	for (i = 0; i < n; i++) {
		deep[i] = '[';
		deep[2 * n - 1 - i] = ']';
	}
	deep[2 * n] = '\0';
	ck_assert_int_eq(gb_schema_parse(deep, 2 * n, "deep.json", &s, &err), GB_ECONFIG);
	ck_assert_ptr_null(s);
	free(deep);

	/* larger than a declaration may be */
	big = malloc(GB_SCHEMA_FILE_MAX + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', GB_SCHEMA_FILE_MAX + 1);
	big[GB_SCHEMA_FILE_MAX + 1] = '\0';
	ck_assert_int_eq(gb_schema_parse(big, GB_SCHEMA_FILE_MAX + 1, "big.json", &s, &err),
	                 GB_ECONFIG);
	ck_assert(strstr(err.msg, "larger than") != NULL);
	free(big);

	/* a NUL inside the text, control bytes in a key: shown as '?' */
	ck_assert_int_eq(gb_schema_parse("{\"resource\":\"r\"\0}", 17, "nul.json", &s, &err),
	                 GB_ECONFIG);
	ck_assert_int_eq(gb_schema_parse("{\"a\\u0001\\n\":1}", 15, "ctl.json", &s, &err),
	                 GB_ECONFIG);
	ck_assert_str_eq(err.key, "a??");
	ck_assert_int_eq(gb_schema_parse(NULL, 0, "x", &s, &err), GB_ECONFIG);

	/* forty-one columns */
	{
		char text[4096];
		int o = snprintf(text, sizeof(text), "{\"resource\":\"r\",\"table\":\"t\",\"columns\":{");

		for (i = 0; i < 41; i++)
			o += snprintf(text + o, sizeof(text) - (size_t)o, "%s\"c%zu\":{\"type\":\"text\"}",
			              i ? "," : "", i);
		snprintf(text + o, sizeof(text) - (size_t)o, "}}");
		ck_assert_int_eq(gb_schema_parse(text, strlen(text), "many.json", &s, &err),
		                 GB_ECONFIG);
		ck_assert_str_eq(err.key, "columns");
	}
}
END_TEST

/* ---- values ------------------------------------------------------------- */

/* One JSON value for one column: the text bound, or words of the reason. */
static const struct {
	const char *col;
	const char *value;
	const char *bound;      /* NULL: an error */
	const char *why;        /* NULL: none (a bound value, or null allowed) */
} json_cases[] = {
	/* text: length in characters, pattern, enum */
	{ "title", "\"ab\"", "ab", NULL },
	{ "title", "\"abcdefghij\"", "abcdefghij", NULL },
	{ "title", "\"a\"", NULL, "at least 2 characters" },
	{ "title", "\"abcdefghijk\"", NULL, "at most 10 characters" },
	{ "title", "\"\"", NULL, "at least 2" },
	{ "title", "\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"", NULL,
	  "must match" },       /* 10 characters, 20 bytes; not [A-Za-z ] */
	{ "title", "\"a1\"", NULL, "must match" },
	{ "title", "\"x'; DROP TABLE users; --\"", NULL, "at most 10" },
	{ "title", "7", NULL, "must be a string" },
	{ "title", "null", NULL, "must not be null" },
	{ "title", "[\"ab\"]", NULL, "must be a string" },
	{ "code", "\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
	  "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"",
	  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", NULL },
	{ "code", "\"' OR 1=1 --\"", "' OR 1=1 --", NULL },
	{ "code", "null", NULL, NULL },
	{ "kind", "\"b\"", "b", NULL },
	{ "kind", "\"c\"", NULL, "not one of the allowed values" },
	{ "kind", "\"A\"", NULL, "not one of" },
	/* integer: whole numbers within the bounds and the type */
	{ "n", "-5", "-5", NULL },
	{ "n", "100", "100", NULL },
	{ "n", "-6", NULL, "at least -5" },
	{ "n", "101", NULL, "at most 100" },
	{ "n", "1.0", NULL, "whole number" },
	{ "n", "\"5\"", NULL, "whole number" },
	{ "n", "true", NULL, "whole number" },
	{ "big", "9223372036854775807", "9223372036854775807", NULL },
	{ "big", "-9223372036854775808", "-9223372036854775808", NULL },
	/* numeric: numbers, or decimal strings kept exactly */
	{ "price", "0", "0", NULL },
	{ "price", "12.5", "12.5", NULL },
	{ "price", "0.1", "0.1", NULL },
	{ "price", "\"999.99\"", "999.99", NULL },
	{ "price", "\"12.50\"", "12.50", NULL },
	{ "price", "\"0.000000000000000000001\"", "0.000000000000000000001", NULL },
	{ "price", "1000", NULL, "at most 999.99" },
	{ "price", "-0.01", NULL, "at least 0" },
	{ "price", "\"1e3\"", NULL, "number or a decimal string" },
	{ "price", "\"12.\"", NULL, "number" },
	{ "price", "\".5\"", NULL, "number" },
	{ "price", "\"+1\"", NULL, "number" },
	{ "price", "\"NaN\"", NULL, "number" },
	{ "price", "\"1; select 1\"", NULL, "number" },
	{ "price", "false", NULL, "number" },
	/* boolean */
	{ "ok", "true", "true", NULL },
	{ "ok", "false", "false", NULL },
	{ "ok", "\"true\"", NULL, "true or false" },
	{ "ok", "1", NULL, "true or false" },
	{ "ok", "null", NULL, "must not be null" },     /* NOT NULL in the table */
	/* date: real days, within the bounds */
	{ "due", "\"2024-02-29\"", "2024-02-29", NULL },
	{ "due", "\"2000-01-01\"", "2000-01-01", NULL },
	{ "due", "\"2099-12-31\"", "2099-12-31", NULL },
	{ "due", "\"1999-12-31\"", NULL, "at least 2000-01-01" },
	{ "due", "\"2100-01-01\"", NULL, "at most 2099-12-31" },
	{ "due", "\"2023-02-29\"", NULL, "YYYY-MM-DD" },
	{ "due", "\"2026-04-31\"", NULL, "YYYY-MM-DD" },
	{ "due", "\"2026-1-01\"", NULL, "YYYY-MM-DD" },
	{ "due", "\"2026-01-01T00:00:00Z\"", NULL, "YYYY-MM-DD" },
	{ "due", "\"today\"", NULL, "YYYY-MM-DD" },
	{ "due", "null", NULL, NULL },
	/* timestamp: RFC 3339 with an offset, microseconds at most */
	{ "at", "\"2026-01-31T09:30:00Z\"", "2026-01-31T09:30:00Z", NULL },
	{ "at", "\"2026-01-31t09:30:00.123456+07:00\"", "2026-01-31t09:30:00.123456+07:00", NULL },
	{ "at", "\"2000-01-01T00:00:00Z\"", "2000-01-01T00:00:00Z", NULL },
	{ "at", "\"2000-01-01T06:59:59+07:00\"", NULL, "at least" },   /* 1999-12-31 23:59:59Z */
	{ "at", "\"2026-01-31T09:30:00\"", NULL, "offset" },
	{ "at", "\"2026-01-31 09:30:00Z\"", NULL, "offset" },
	{ "at", "\"2026-01-31T24:00:00Z\"", NULL, "offset" },
	{ "at", "\"2026-01-31T09:30:60Z\"", NULL, "offset" },
	{ "at", "\"2026-01-31T09:30:00.1234567Z\"", NULL, "offset" },
	{ "at", "\"2026-01-31T09:30:00.Z\"", NULL, "offset" },
	{ "at", "\"2026-01-31T09:30:00+16:00\"", NULL, "offset" },
	{ "at", "\"2026-01-31T09:30:00+0700\"", NULL, "offset" },
	{ "at", "\"2026-01-31T09:30:00Z \"", NULL, "offset" },
	/* uuid: canonical form, lowercased */
	{ "ref", "\"6F9619FF-8B86-D011-B42D-00C04FC964FF\"",
	  "6f9619ff-8b86-d011-b42d-00c04fc964ff", NULL },
	{ "ref", "\"6f9619ff8b86d011b42d00c04fc964ff\"", NULL, "UUID" },
	{ "ref", "\"6f9619ff-8b86-d011-b42d-00c04fc964fg\"", NULL, "UUID" },
	{ "ref", "\"{6f9619ff-8b86-d011-b42d-00c04fc964ff}\"", NULL, "UUID" },
	/* json: any value, written back compact, numbers exactly */
	{ "meta", "{\"a\": [1, 2.5, 0.1, \"x\\\"y\", true, null], \"b\": {}}",
	  "{\"a\":[1,2.5,0.1,\"x\\\"y\",true,null],\"b\":{}}", NULL },
	{ "meta", "1e300", "1e+300", NULL },
	{ "meta", "[0.30000000000000004, 1.7976931348623157e308]",
	  "[0.30000000000000004,1.7976931348623157e+308]", NULL },
	{ "meta", "\"'; --\"", "\"'; --\"", NULL },
	{ "meta", "null", NULL, NULL },
};

START_TEST(test_json_values)
{
	struct gb_schema *s = things_bound();
	const struct gb_resource *r = gb_schema_at(s, 0);
	const struct gb_column *c = gb_resource_column(r, json_cases[_i].col);
	struct gb_arena *a = gb_arena_new(1024);
	json_error_t je;
	json_t *v = json_loads(json_cases[_i].value, JSON_DECODE_ANY, &je);
	const char *out, *why = "unset";

	ck_assert_ptr_nonnull(c);
	ck_assert_msg(v != NULL, "case %d: %s", _i, je.text);
	out = gb_column_json_value(c, v, a, &why);
	if (json_cases[_i].bound != NULL) {
		ck_assert_msg(out != NULL && strcmp(out, json_cases[_i].bound) == 0,
		              "case %d: %s gave \"%s\" (%s)", _i, json_cases[_i].value,
		              out ? out : "NULL", why ? why : "");
		ck_assert_ptr_null(why);
	} else {
		ck_assert_ptr_null(out);
		if (json_cases[_i].why == NULL)
			ck_assert_msg(why == NULL, "case %d: %s", _i, why);
		else
			ck_assert_msg(why != NULL && strstr(why, json_cases[_i].why) != NULL,
			              "case %d: \"%s\" lacks \"%s\"", _i, why ? why : "NULL",
			              json_cases[_i].why);
	}
	json_decref(v);
	gb_arena_free(a);
	gb_schema_free(s);
}
END_TEST

/* Values from a query string or a cursor: the type only. */
static const struct {
	const char *col;
	const char *value;
	const char *bound;      /* NULL: an error */
} text_cases[] = {
	{ "title", "a", "a" },                      /* past min_length: still a filter */
	{ "title", "", "" },
	{ "title", "' OR '1'='1", "' OR '1'='1" },
	{ "title", "\xc3\xa9", "\xc3\xa9" },
	{ "title", "\xc3", NULL },
	{ "title", "\xed\xa0\x80", NULL },          /* a surrogate */
	{ "title", "\xff", NULL },
	{ "n", "42", "42" },
	{ "n", "-7", "-7" },
	{ "n", "1000", "1000" },                    /* past maximum: still a filter */
	{ "n", "9223372036854775807", "9223372036854775807" },
	{ "n", "9223372036854775808", NULL },
	{ "n", "+1", NULL },
	{ "n", "1.5", NULL },
	{ "n", "1 OR 1=1", NULL },
	{ "n", "", NULL },
	{ "n", "-", NULL },
	{ "n", "0x10", NULL },
	{ "price", "12.50", "12.50" },
	{ "price", "-0.5", "-0.5" },
	{ "price", "1e2", NULL },
	{ "price", "Infinity", NULL },
	{ "ok", "true", "true" },
	{ "ok", "false", "false" },
	{ "ok", "TRUE", NULL },
	{ "ok", "1", NULL },
	{ "due", "2026-01-31", "2026-01-31" },
	{ "due", "1900-01-01", "1900-01-01" },      /* before minimum: still a filter */
	{ "due", "0000-01-01", NULL },
	{ "due", "2026-02-29", NULL },
	{ "due", "2026-01-31'--", NULL },
	{ "at", "2026-01-31T09:30:00+07:00", "2026-01-31T09:30:00+07:00" },
	{ "at", "2026-11-22T08:33:20.91755+00:00", "2026-11-22T08:33:20.91755+00:00" },
	{ "at", "2026-01-31T09:30:00 07:00", NULL },   /* an unencoded '+' */
	{ "ref", "6F9619FF-8B86-D011-B42D-00C04FC964FF", "6f9619ff-8b86-d011-b42d-00c04fc964ff" },
	{ "ref", "6f9619ff-8b86-d011-b42d-00c04fc964f", NULL },
	{ "meta", "{}", NULL },
};

START_TEST(test_text_values)
{
	struct gb_schema *s = things_bound();
	const struct gb_column *c = gb_resource_column(gb_schema_at(s, 0), text_cases[_i].col);
	struct gb_arena *a = gb_arena_new(1024);
	const char *out, *why = "unset";

	out = gb_column_text_value(c, text_cases[_i].value, a, &why);
	if (text_cases[_i].bound != NULL) {
		ck_assert_msg(out != NULL && strcmp(out, text_cases[_i].bound) == 0,
		              "case %d: gave \"%s\" (%s)", _i, out ? out : "NULL", why ? why : "");
		ck_assert_ptr_null(why);
	} else {
		ck_assert_msg(out == NULL && why != NULL && why[0] != '\0', "case %d: \"%s\"", _i,
		              out ? out : "NULL");
	}
	gb_arena_free(a);
	gb_schema_free(s);
}
END_TEST

START_TEST(test_json_text)
{
	struct gb_buf b = GB_BUF_INIT;
	json_t *v = json_pack("{s:f, s:f, s:f, s:I, s:[s, n, b]}", "a", 0.1, "b", 1.0 / 3,
	                      "c", 100.0, "d", (json_int_t)-42, "e", "\xc3\xa9\n", 1);
	json_t *deep = json_array(), *cur = deep;
	int i;

	ck_assert_int_eq(gb_schema_json_text(&b, v), 0);
	ck_assert_str_eq(b.data, "{\"a\":0.1,\"b\":0.3333333333333333,\"c\":100,\"d\":-42,"
	                 "\"e\":[\"\xc3\xa9\\u000a\",null,true]}");
	gb_buf_free(&b);
	json_decref(v);
	for (i = 0; i < 70; i++) {
		json_t *next = json_array();

		json_array_append_new(cur, next);
		cur = next;
	}
	ck_assert_int_eq(gb_schema_json_text(&b, deep), -1);
	ck_assert(gb_buf_failed(&b));
	gb_buf_free(&b);
	json_decref(deep);
}
END_TEST

START_TEST(test_coltype_names)
{
	ck_assert_str_eq(gb_coltype_name(GB_COL_TEXT), "text");
	ck_assert_str_eq(gb_coltype_name(GB_COL_TIMESTAMP), "timestamp");
	ck_assert_str_eq(gb_coltype_name(GB_COL_JSON), "json");
	ck_assert_str_eq(gb_coltype_name((enum gb_coltype)99), "?");
}
END_TEST

/* ---- binding: what the catalog may say ---------------------------------- */

enum change {
	NO_TABLE, NOT_TABLE, NO_RLS, NO_FORCE, OWNS, BYPASS, NO_INSERT, NO_DELETE_SELECT,
	NO_POLICY, OTHER_USING, OTHER_CHECK, INSERT_NO_CHECK, SELECT_ONLY, RESTRICTIVE_ONLY,
	NO_ID, ID_TEXT, NO_PK, NO_VERSION, VERSION_INT4, CREATED_NULLABLE, NO_COMPANY,
	NO_COLUMN, TYPE_TEXT_AS_INT, TYPE_TS_NAIVE, VARCHAR_SHORT, INT2_RANGE, NOT_NULL_OPTIONAL,
	READ_ONLY_NOT_NULL, TYPE_JSON_TEXT,
};

static const struct {
	enum change change;
	const char *key;
	const char *msg;
} bind_cases[] = {
	{ NO_TABLE, "table", "there is no table gerbang_data.things" },
	{ NOT_TABLE, "table", "is not a table" },
	{ NO_RLS, "table", "ENABLE and FORCE ROW LEVEL SECURITY" },
	{ NO_FORCE, "table", "FORCE ROW LEVEL SECURITY" },
	{ OWNS, "table", "owned by the role of DATABASE_URL" },
	{ BYPASS, "table", "BYPASSRLS" },
	{ NO_INSERT, "table", "lacks INSERT on it" },
	{ NO_DELETE_SELECT, "table", "lacks SELECT, DELETE on it" },
	{ NO_POLICY, "table", "no policy for SELECT" },
	{ OTHER_USING, "table", "policy \"open\" must be USING" },
	{ OTHER_CHECK, "table", "policy \"open\"" },
	{ INSERT_NO_CHECK, "table", "policy \"ins\"" },
	{ SELECT_ONLY, "table", "no policy for INSERT" },
	{ RESTRICTIVE_ONLY, "table", "no policy for SELECT" },
	{ NO_ID, "table", "id uuid PRIMARY KEY" },
	{ ID_TEXT, "table", "id uuid PRIMARY KEY" },
	{ NO_PK, "table", "PRIMARY KEY (id)" },
	{ NO_VERSION, "table", "version bigint NOT NULL DEFAULT 1" },
	{ VERSION_INT4, "table", "version bigint" },
	{ CREATED_NULLABLE, "table", "created_at timestamptz NOT NULL" },
	{ NO_COMPANY, "table", "company_id uuid NOT NULL" },
	{ NO_COLUMN, "columns.due", "has no such column" },
	{ TYPE_TEXT_AS_INT, "columns.title.type", "is text, but the column is int4" },
	{ TYPE_TS_NAIVE, "columns.at.type", "is timestamp, but the column is timestamp" },
	{ VARCHAR_SHORT, "columns.code.max_length", "varchar(10)" },
	{ INT2_RANGE, "columns.qty.maximum", "int2" },
	{ NOT_NULL_OPTIONAL, "columns.due.required", "NOT NULL without a default" },
	{ READ_ONLY_NOT_NULL, "columns.seq.read_only", "NOT NULL without a default" },
	{ TYPE_JSON_TEXT, "columns.meta.type", "is json, but the column is text" },
};

START_TEST(test_bind_bad)
{
	struct gb_catalog_column cols[NELEM(things_cols)];
	struct gb_catalog_policy pols[3];
	struct gb_catalog_constraint cons[NELEM(things_cons)];
	struct gb_catalog_table t = good_table();
	struct gb_schema_error err;
	struct gb_schema *s = NULL;
	size_t i;

	memcpy(cols, things_cols, sizeof(cols));
	memcpy(pols, tenant_policy, sizeof(tenant_policy));
	memcpy(cons, things_cons, sizeof(cons));
	t.cols = cols;
	t.policies = pols;
	t.cons = cons;
	for (i = 0; i < NELEM(cols); i++) {
#define COLUMN(n) if (strcmp(cols[i].name, n) == 0)
		switch (bind_cases[_i].change) {
		case NO_ID: COLUMN("id") cols[i].name = "idx"; break;
		case ID_TEXT: COLUMN("id") cols[i].type = "text"; break;
		case NO_VERSION: COLUMN("version") cols[i].has_default = false; break;
		case VERSION_INT4: COLUMN("version") cols[i].type = "int4"; break;
		case CREATED_NULLABLE: COLUMN("created_at") cols[i].not_null = false; break;
		case NO_COMPANY: COLUMN("company_id") cols[i].not_null = false; break;
		case NO_COLUMN: COLUMN("due") cols[i].name = "due_date"; break;
		case TYPE_TEXT_AS_INT: COLUMN("title") cols[i].type = "int4"; break;
		case TYPE_TS_NAIVE: COLUMN("at") cols[i].type = "timestamp"; break;
		case VARCHAR_SHORT: COLUMN("code") cols[i].varchar_max = 10; break;
		case INT2_RANGE: COLUMN("qty") cols[i].type = "int2"; break;
		case TYPE_JSON_TEXT: COLUMN("meta") cols[i].type = "text"; break;
		case NOT_NULL_OPTIONAL: COLUMN("due") cols[i].not_null = true; break;
		case READ_ONLY_NOT_NULL: COLUMN("seq") cols[i].has_default = false; break;
		default: break;
		}
#undef COLUMN
	}
	switch (bind_cases[_i].change) {
	case NO_TABLE: t.exists = false; break;
	case NOT_TABLE: t.is_table = false; break;
	case NO_RLS: t.rls = false; break;
	case NO_FORCE: t.force_rls = false; break;
	case OWNS: t.runtime_owns = true; break;
	case BYPASS: t.role_bypasses_rls = true; break;
	case NO_INSERT: t.can_insert = false; break;
	case NO_DELETE_SELECT: t.can_delete = t.can_select = false; break;
	case NO_POLICY: t.npolicies = 0; break;
	case OTHER_USING:
		pols[2] = (struct gb_catalog_policy){ "open", true, 'r', true, false, false, false };
		t.npolicies = 3;
		break;
	case OTHER_CHECK:
		pols[2] = (struct gb_catalog_policy){ "open", true, 'w', true, true, true, false };
		t.npolicies = 3;
		break;
	case INSERT_NO_CHECK:
		pols[2] = (struct gb_catalog_policy){ "ins", true, 'a', false, false, false, false };
		t.npolicies = 3;
		break;
	case SELECT_ONLY:
		pols[0].cmd = 'r';
		break;
	case RESTRICTIVE_ONLY:
		pols[0].permissive = false;
		break;
	case NO_PK:
		cons[0].type = 'u';
		break;
	default:
		break;
	}
	ck_assert_int_eq(gb_schema_parse(things, strlen(things), "things.json", &s, &err), GB_OK);
	ck_assert_int_eq(gb_schema_bind(s, 0, &t, &err), GB_ECONFIG);
	ck_assert_str_eq(err.file, "things.json");
	ck_assert_msg(strcmp(err.key, bind_cases[_i].key) == 0, "case %d: key \"%s\" (%s)", _i,
	              err.key, err.msg);
	ck_assert_msg(strstr(err.msg, bind_cases[_i].msg) != NULL, "case %d: \"%s\" lacks \"%s\"",
	              _i, err.msg, bind_cases[_i].msg);
	gb_schema_free(s);
}
END_TEST

START_TEST(test_bind_edges)
{
	struct gb_catalog_column cols[NELEM(things_cols)];
	struct gb_catalog_table t = good_table();
	struct gb_schema_error err;
	struct gb_schema *s = NULL;
	const struct gb_resource *r;
	size_t i;

	memcpy(cols, things_cols, sizeof(cols));
	t.cols = cols;
	for (i = 0; i < NELEM(cols); i++) {
		if (strcmp(cols[i].name, "meta") == 0)
			cols[i].type = "json";         /* json rather than jsonb */
		if (strcmp(cols[i].name, "big") == 0)
			cols[i].type = "int2";         /* no declared bounds: the type's */
		if (strcmp(cols[i].name, "title") == 0)
			cols[i].type = "varchar";      /* no limit of its own */
	}
	ck_assert_int_eq(gb_schema_parse(things, strlen(things), "things.json", &s, &err), GB_OK);
	ck_assert_msg(gb_schema_bind(s, 0, &t, &err) == GB_OK, "%s", err.msg);
	r = gb_schema_at(s, 0);
	ck_assert_str_eq(gb_resource_column(r, "meta")->cast, "json");
	ck_assert_int_eq(gb_resource_column(r, "big")->imin, -32768);
	ck_assert_int_eq(gb_resource_column(r, "big")->imax, 32767);
	ck_assert_str_eq(gb_resource_column(r, "big")->max_text, "32767");
	/* out of range */
	ck_assert_int_eq(gb_schema_bind(s, 1, &t, &err), GB_ECONFIG);
	ck_assert_int_eq(gb_schema_bind(NULL, 0, &t, &err), GB_ECONFIG);
	ck_assert_int_eq(gb_schema_bind(s, 0, NULL, NULL), GB_ECONFIG);
	gb_schema_free(s);
}
END_TEST

/* ---- the directory -------------------------------------------------------- */

static char dir[64];

static void
put(const char *name, const char *text)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
clean(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

#define R(name, table) "{\"resource\":\"" name "\",\"table\":\"" table "\"," MIN_COLS "}"

START_TEST(test_load)
{
	struct gb_schema_error err;
	struct gb_schema *s = NULL;
	char sub[96];

	snprintf(dir, sizeof(dir), "/tmp/gb-schema-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* empty */
	ck_assert_int_eq(gb_schema_load(dir, &s, &err), GB_OK);
	ck_assert_uint_eq(gb_schema_count(s), 0);
	gb_schema_free(s);
	s = NULL;
	/* sorted by file name; what is not *.json or is hidden is never read */
	put("b.json", R("beta", "b"));
	put("a.json", R("alpha", "a"));
	put(".c.json", "not json");
	put("d.json~", "not json");
	put("README", "not json");
	snprintf(sub, sizeof(sub), "%s/x.json.d", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(gb_schema_load(dir, &s, &err), GB_OK);
	ck_assert_uint_eq(gb_schema_count(s), 2);
	ck_assert_str_eq(gb_schema_at(s, 0)->name, "alpha");
	ck_assert_str_eq(gb_schema_at(s, 1)->name, "beta");
	ck_assert(strstr(gb_schema_at(s, 0)->file, "/a.json") != NULL);
	gb_schema_free(s);
	s = NULL;
	/* the same resource twice: the second file is named */
	put("c.json", R("alpha", "c"));
	ck_assert_int_eq(gb_schema_load(dir, &s, &err), GB_ECONFIG);
	ck_assert_ptr_null(s);
	ck_assert(strstr(err.file, "/c.json") != NULL);
	ck_assert_str_eq(err.key, "resource");
	ck_assert(strstr(err.msg, "a.json") != NULL);
	snprintf(sub, sizeof(sub), "%s/c.json", dir);
	unlink(sub);
	/* a bad file is named with its key */
	put("e.json", "{\"resource\":\"e\",\"table\":\"users\"," MIN_COLS "}");
	ck_assert_int_eq(gb_schema_load(dir, &s, &err), GB_ECONFIG);
	ck_assert(strstr(err.file, "/e.json") != NULL);
	ck_assert_str_eq(err.key, "table");
	snprintf(sub, sizeof(sub), "%s/e.json", dir);
	unlink(sub);
	/* a directory named *.json is not a declaration */
	snprintf(sub, sizeof(sub), "%s/f.json", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(gb_schema_load(dir, &s, &err), GB_ECONFIG);
	ck_assert(strstr(err.msg, "not a regular file") != NULL);
	rmdir(sub);
	/* no such directory */
	ck_assert_int_eq(gb_schema_load("/nonexistent/schema.d", &s, &err), GB_ECONFIG);
	ck_assert_str_eq(err.file, "/nonexistent/schema.d");
	ck_assert(strstr(err.msg, "cannot open") != NULL);
	ck_assert_int_eq(gb_schema_load(NULL, &s, &err), GB_ECONFIG);
	clean();
}
END_TEST

static Suite *
schema_suite(void)
{
	Suite *s = suite_create("gb_schema");
	TCase *t = tcase_create("schema");

	tcase_add_test(t, test_parse_full);
	tcase_add_test(t, test_parse_minimal);
	tcase_add_test(t, test_pattern_ok);
	tcase_add_loop_test(t, test_parse_bad, 0, NELEM(bad));
	tcase_add_test(t, test_parse_hostile);
	tcase_add_loop_test(t, test_json_values, 0, NELEM(json_cases));
	tcase_add_loop_test(t, test_text_values, 0, NELEM(text_cases));
	tcase_add_test(t, test_json_text);
	tcase_add_test(t, test_coltype_names);
	tcase_add_loop_test(t, test_bind_bad, 0, NELEM(bind_cases));
	tcase_add_test(t, test_bind_edges);
	tcase_add_test(t, test_load);
	suite_add_tcase(s, t);
	return s;
}

GB_TEST_MAIN(schema_suite)
