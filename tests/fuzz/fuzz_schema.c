/* libFuzzer target: gb_schema_parse() (declarations of gerbang-data, no
 * file access) and the invariants of what it accepts: names that need no
 * escaping, bounded columns, defaults that pass their own column's checks,
 * a binding to a catalog that matches, and statements (gb_sql) with no
 * quote of anything but their own '{}'. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb_schema.h"
#include "gb_sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gb_arena *a;

static void
printable(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n == max)
		abort();                    /* not terminated inside its array */
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s >= 0x7f)
			abort();
}

static bool
plain_name(const char *s, bool dash)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 63 && s[0] >= 'a' && s[0] <= 'z' &&
	       strspn(s, dash ? "abcdefghijklmnopqrstuvwxyz0123456789_-" :
	              "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* Every quote of sql is one of its own '{}': nothing from a declaration
 * (or a value) is a string literal of a statement. */
static void
check_sql(const char *sql)
{
	const char *p;

	for (p = strchr(sql, '\''); p != NULL; p = strchr(p + 4, '\''))
		if (strncmp(p, "'{}'", 4) != 0)
			abort();
	if (strchr(sql, ';') != NULL || strstr(sql, "--") != NULL)
		abort();
}

static const char *
db_type(enum gb_coltype t)
{
	static const char *const names[] = { "text", "int8", "numeric", "bool", "date",
	                                     "timestamptz", "uuid", "jsonb" };

	return names[t];
}

static void
check_resource(struct gb_schema *s)
{
	const struct gb_resource *r = gb_schema_at(s, 0);
	struct gb_catalog_column cols[GB_SCHEMA_COLUMNS_MAX + 8];
	static const struct gb_catalog_policy pol = { "tenant", true, '*', true, true, true, true };
	static const struct gb_catalog_constraint pk = { "pk", 'p', "id" };
	const struct gb_column *w[GB_SCHEMA_COLUMNS_MAX + 8];
	struct gb_catalog_table t;
	struct gb_schema_error err;
	struct gb_list_query q;
	const char **params, *why, *out;
	size_t i, n = 0, nw = 0;
	char *sql;
	int np;

	if (gb_schema_count(s) != 1 || r == NULL || !plain_name(r->name, true) ||
	    !plain_name(r->table, false) || strncmp(r->table, "pg_", 3) == 0)
		abort();
	if (r->ncols < 5 || r->ncols > GB_SCHEMA_COLUMNS_MAX + 4 || r->default_sort == NULL ||
	    r->read_roles == 0 || r->write_roles == 0 || (r->read_roles & ~0xfu) ||
	    (r->write_roles & ~0xfu))
		abort();
	memset(&t, 0, sizeof(t));
	cols[n++] = (struct gb_catalog_column){ "company_id", "uuid", -1, true, false };
	for (i = 0; i < r->ncols; i++) {
		const struct gb_column *c = &r->cols[i];

		if (!plain_name(c->name, false) || c->ident[0] != '"' ||
		    strlen(c->ident) != strlen(c->name) + 2 || c->cast == NULL)
			abort();
		if (c->system != (i == 0 || i + 3 >= r->ncols))
			abort();
		if (c->type == GB_COL_JSON && (c->filter || c->sort))
			abort();
		if (c->read_only && !c->system && (c->required || c->write_once || c->default_value))
			abort();
		if (c->min_length > c->max_length && c->max_length >= 0)
			abort();
		cols[n++] = (struct gb_catalog_column){ c->name, c->system && c->type == GB_COL_INTEGER ?
		                                        "int8" : db_type(c->type), -1,
		                                        c->system, c->system };
		if (!c->system && !c->read_only)
			w[nw++] = c;
		/* a default passes its own column's checks (a numeric one may be
		 * written with an exponent, which PostgreSQL takes but a filter
		 * value may not have) */
		if (c->default_value != NULL && c->type != GB_COL_JSON && c->type != GB_COL_NUMERIC) {
			out = gb_column_text_value(c, c->default_value, a, &why);
			if (out == NULL)
				abort();
		}
	}
	t.exists = t.is_table = t.rls = t.force_rls = true;
	t.can_select = t.can_insert = t.can_update = t.can_delete = true;
	t.cols = cols;
	t.ncols = n;
	t.policies = &pol;
	t.npolicies = 1;
	t.cons = &pk;
	t.ncons = 1;
	if (gb_schema_bind(s, 0, &t, &err) != GB_OK)
		abort();
	if (gb_sql_get(a, r, &sql) != GB_OK)
		abort();
	check_sql(sql);
	if (gb_sql_insert(a, r, w, nw, &sql) != GB_OK)
		abort();
	check_sql(sql);
	if (gb_sql_update(a, r, w, nw, true, &sql) != GB_OK)
		abort();
	check_sql(sql);
	if (gb_sql_delete(a, r, true, &sql) != GB_OK)
		abort();
	check_sql(sql);
	gb_filter_default(r, &q);
	if (gb_sql_list(a, r, &q, &sql, &params, &np) != GB_OK || np != 1)
		abort();
	check_sql(sql);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gb_schema_error err;
	struct gb_schema *s = NULL;
	enum gb_err e;

	if (a == NULL && (a = gb_arena_new(16 * 1024)) == NULL)
		abort();
	memset(&err, 0x7f, sizeof(err));
	e = gb_schema_parse((const char *)data, size, "fuzz.json", &s, &err);
	if (e == GB_OK) {
		if (s == NULL)
			abort();
		check_resource(s);
		gb_schema_free(s);
	} else {
		if (s != NULL || (e != GB_ECONFIG && e != GB_ENOMEM))
			abort();
		if (strcmp(err.file, "fuzz.json") != 0 || err.msg[0] == '\0')
			abort();
		printable(err.key, sizeof(err.key));
		printable(err.msg, sizeof(err.msg));
	}
	gb_arena_reset(a);
	return 0;
}
