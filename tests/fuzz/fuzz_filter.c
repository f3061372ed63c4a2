/* libFuzzer target: gb_filter_parse() on a query string, or on a cursor
 * given whole (first byte 'c'), against a fixed resource with a column of
 * every type.  What it accepts: bounded limit and filters, sortable sorts,
 * cursors that read back to themselves, statements (gb_sql_list) that hold
 * no value and no quote but their own '{}'; what it refuses: errors named
 * by printable parameters, and a cursor at fault is said to be. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb_filter.h"
#include "gb_sql.h"
#include "gb_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char decl[] =
	"{\"resource\": \"things\", \"table\": \"things\", \"columns\": {"
	"\"title\": {\"type\": \"text\", \"required\": true, \"max_length\": 100},"
	"\"done\": {\"type\": \"boolean\"}, \"due\": {\"type\": \"date\"},"
	"\"n\": {\"type\": \"integer\"}, \"price\": {\"type\": \"numeric\"},"
	"\"at\": {\"type\": \"timestamp\"}, \"ref\": {\"type\": \"uuid\"},"
	"\"meta\": {\"type\": \"json\"}},"
	"\"filter\": [\"title\", \"done\", \"due\", \"n\", \"price\", \"at\", \"ref\", \"id\"],"
	"\"sort\": [\"title\", \"due\", \"n\", \"price\", \"at\", \"id\", \"updated_at\"]}";

static const struct gb_catalog_column cols[] = {
	{ "id", "uuid", -1, true, true }, { "company_id", "uuid", -1, true, false },
	{ "version", "int8", -1, true, true }, { "created_at", "timestamptz", -1, true, true },
	{ "updated_at", "timestamptz", -1, true, true }, { "title", "text", -1, true, false },
	{ "done", "bool", -1, false, false }, { "due", "date", -1, false, false },
	{ "n", "int4", -1, false, false }, { "price", "numeric", -1, false, false },
	{ "at", "timestamptz", -1, false, false }, { "ref", "uuid", -1, false, false },
	{ "meta", "jsonb", -1, false, false },
};

static struct gb_schema *schema;
static const struct gb_resource *r;
static struct gb_arena *a;

static void
init(void)
{
	static const struct gb_catalog_policy pol = { "tenant", true, '*', true, true, true, true };
	static const struct gb_catalog_constraint pk = { "pk", 'p', "id" };
	struct gb_catalog_table t = {
		.exists = true, .is_table = true, .rls = true, .force_rls = true,
		.can_select = true, .can_insert = true, .can_update = true, .can_delete = true,
		.cols = cols, .ncols = sizeof(cols) / sizeof(cols[0]), .policies = &pol,
		.npolicies = 1, .cons = &pk, .ncons = 1,
	};

	if (gb_schema_parse(decl, strlen(decl), "things.json", &schema, NULL) != GB_OK ||
	    gb_schema_bind(schema, 0, &t, NULL) != GB_OK)
		abort();
	r = gb_schema_at(schema, 0);
	if ((a = gb_arena_new(64 * 1024)) == NULL)
		abort();
}

static void
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s >= 0x7f)
			abort();
}

/* No value in the statement: the only quotes are its own '{}'. */
static void
check_sql(const char *sql, const char *const *params, int n)
{
	const char *p;
	int i;

	for (p = strchr(sql, '\''); p != NULL; p = strchr(p + 4, '\''))
		if (strncmp(p, "'{}'", 4) != 0)
			abort();
	if (strchr(sql, ';') != NULL || strstr(sql, "--") != NULL)
		abort();
	for (i = 0; i < n; i++)
		if (params[i] == NULL)
			abort();
}

static void
check_ok(const struct gb_list_query *q)
{
	struct gb_list_query back;
	struct gb_query one;
	struct gb_kv kv[2];
	const char **params;
	json_t *errors = NULL;
	char *sql, *c, spec[80];
	bool bad;
	size_t i;
	int n;

	if (q->limit < 1 || q->limit > GB_FILTER_LIMIT_MAX || q->nconds > GB_FILTER_CONDS_MAX)
		abort();
	if (!(q->sort->sort || q->sort == r->default_sort))
		abort();
	for (i = 0; i < q->nconds; i++)
		if (!q->conds[i].col->filter || q->conds[i].value == NULL)
			abort();
	if (gb_sql_list(a, r, q, &sql, &params, &n) != GB_OK)
		abort();
	check_sql(sql, params, n);
	if (n > (int)q->nconds + 3)
		abort();
	/* the cursor after any row reads back to the same position */
	c = gb_filter_cursor(a, q, q->has_cursor ? q->after_key : "2026-01-01",
	                     q->has_cursor ? q->after_id : "0d5e7a3c-7d8e-4d59-9d53-5d2f3c8a9b10");
	if (c == NULL)
		return;          /* a key too long for a cursor */
	snprintf(spec, sizeof(spec), "%s%s", q->desc ? "-" : "", q->sort->name);
	kv[0] = (struct gb_kv){ "sort", spec };
	kv[1] = (struct gb_kv){ "cursor", c };
	one = (struct gb_query){ kv, 2 };
	if (gb_filter_parse(r, &one, a, &back, &errors, &bad) != GB_OK) {
		/* only a made-up key that is not of the sort column's type */
		json_decref(errors);
		if (q->has_cursor || !bad)
			abort();
		return;
	}
	if (!back.has_cursor || back.sort != q->sort || back.desc != q->desc)
		abort();
	if (q->has_cursor && (strcmp(back.after_id, q->after_id) != 0 ||
	                      (q->after_key == NULL) != (back.after_key == NULL) ||
	                      (q->after_key != NULL && strcmp(q->after_key, back.after_key) != 0)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gb_list_query q;
	struct gb_query query;
	struct gb_kv kv;
	json_t *errors = NULL, *v;
	const char *key;
	char *text;
	bool bad = false;
	enum gb_err e;

	if (schema == NULL)
		init();
	if (size > 0 && data[0] == 'c') {
		/* a cursor as it arrives, decoded */
		if ((text = gb_arena_strndup(a, (const char *)data + 1, size - 1)) == NULL)
			abort();
		kv = (struct gb_kv){ "cursor", text };
		query = (struct gb_query){ &kv, 1 };
	} else if (gb_query_parse(a, (const char *)data, size, &query) != GB_OK) {
		gb_arena_reset(a);
		return 0;
	}
	e = gb_filter_parse(r, &query, a, &q, &errors, &bad);
	if (e == GB_OK) {
		if (errors != NULL || bad)
			abort();
		check_ok(&q);
	} else {
		if (e != GB_EINVAL || errors == NULL || json_object_size(errors) == 0)
			abort();
		json_object_foreach(errors, key, v) {
			printable(key);
			if (strlen(key) > 68 || !json_is_array(v) || json_array_size(v) == 0)
				abort();
		}
		if (bad != (json_object_get(errors, "cursor") != NULL))
			abort();
		json_decref(errors);
	}
	gb_arena_reset(a);
	return 0;
}
