#include "config.h"
#include "gb_sql.h"

#include <stdio.h>
#include <string.h>

#include "gb_buf.h"

/* The column list of a row: to_json(t."col") for each. */
static void
put_row(struct gb_buf *b, const struct gb_resource *r)
{
	size_t i;

	for (i = 0; i < r->ncols; i++) {
		gb_buf_puts(b, i == 0 ? "to_json(t." : ", to_json(t.");
		gb_buf_puts(b, r->cols[i].ident);
		gb_buf_putc(b, ')');
	}
}

/* $n::cast */
static void
put_param(struct gb_buf *b, int n, const char *cast)
{
	gb_buf_printf(b, "$%d::%s", n, cast);
}

/* t."col" */
static void
put_col(struct gb_buf *b, const struct gb_column *c)
{
	gb_buf_puts(b, "t.");
	gb_buf_puts(b, c->ident);
}

/* Copies b into a; frees b. */
static enum gb_err
finish(struct gb_buf *b, struct gb_arena *a, char **out)
{
	char *s = gb_buf_failed(b) ? NULL : gb_arena_strndup(a, b->data, b->len);

	gb_buf_free(b);
	if (s == NULL)
		return GB_ENOMEM;
	*out = s;
	return GB_OK;
}

enum gb_err
gb_sql_get(struct gb_arena *a, const struct gb_resource *r, char **out)
{
	struct gb_buf b = GB_BUF_INIT;

	gb_buf_puts(&b, "SELECT ");
	put_row(&b, r);
	gb_buf_printf(&b, " FROM %s t WHERE t.\"id\" = $1::uuid", r->qtable);
	return finish(&b, a, out);
}

enum gb_err
gb_sql_version(struct gb_arena *a, const struct gb_resource *r, char **out)
{
	struct gb_buf b = GB_BUF_INIT;

	gb_buf_printf(&b, "SELECT t.\"version\" FROM %s t WHERE t.\"id\" = $1::uuid", r->qtable);
	return finish(&b, a, out);
}

static const char *const cmp_sql[] = {
	[GB_OP_EQ] = " = ", [GB_OP_NE] = " IS DISTINCT FROM ", [GB_OP_LT] = " < ",
	[GB_OP_LTE] = " <= ", [GB_OP_GT] = " > ", [GB_OP_GTE] = " >= ",
};

/* The rows after the cursor's (key, id) in q's order: ascending has null
 * keys last, descending first, as ORDER BY puts them. */
static void
put_keyset(struct gb_buf *b, const struct gb_list_query *q, int *n)
{
	const struct gb_column *k = q->sort;
	const char *op = q->desc ? " < " : " > ";
	int pk = 0, pid;

	if (strcmp(k->name, "id") == 0) {
		pid = ++*n;
		put_col(b, k);
		gb_buf_puts(b, op);
		put_param(b, pid, "uuid");
		return;
	}
	if (q->after_key != NULL)
		pk = ++*n;
	pid = ++*n;
	gb_buf_putc(b, '(');
	if (q->after_key == NULL) {
		/* after a null key: the other nulls, then (descending) every key */
		put_col(b, k);
		gb_buf_puts(b, q->desc ? " IS NOT NULL OR t.\"id\" < " : " IS NULL AND t.\"id\" > ");
		put_param(b, pid, "uuid");
	} else if (!k->db_nullable) {
		gb_buf_putc(b, '(');
		put_col(b, k);
		gb_buf_puts(b, ", t.\"id\")");
		gb_buf_puts(b, op);
		gb_buf_putc(b, '(');
		put_param(b, pk, k->cast);
		gb_buf_puts(b, ", ");
		put_param(b, pid, "uuid");
		gb_buf_putc(b, ')');
	} else {
		put_col(b, k);
		gb_buf_puts(b, op);
		put_param(b, pk, k->cast);
		if (!q->desc) {
			gb_buf_puts(b, " OR ");
			put_col(b, k);
			gb_buf_puts(b, " IS NULL");
		}
		gb_buf_puts(b, " OR (");
		put_col(b, k);
		gb_buf_puts(b, " = ");
		put_param(b, pk, k->cast);
		gb_buf_puts(b, " AND t.\"id\"");
		gb_buf_puts(b, op);
		put_param(b, pid, "uuid");
		gb_buf_putc(b, ')');
	}
	gb_buf_putc(b, ')');
}

enum gb_err
gb_sql_list(struct gb_arena *a, const struct gb_resource *r, const struct gb_list_query *q,
            char **out, const char ***params, int *nparams)
{
	struct gb_buf b = GB_BUF_INIT;
	const char **p;
	const char *dir = q->desc ? " DESC" : " ASC";
	size_t i;
	int n = 0, np = 0;

	/* at most: every filter, the cursor's key and id, the limit */
	if ((p = gb_arena_calloc(a, q->nconds + 3, sizeof(*p))) == NULL)
		return GB_ENOMEM;
	gb_buf_puts(&b, "SELECT ");
	put_row(&b, r);
	gb_buf_puts(&b, ", to_json(");
	put_col(&b, q->sort);
	gb_buf_printf(&b, ") #>> '{}', t.\"id\" FROM %s t", r->qtable);
	for (i = 0; i < q->nconds; i++) {
		const struct gb_filter_cond *c = &q->conds[i];

		gb_buf_puts(&b, i == 0 ? " WHERE " : " AND ");
		put_col(&b, c->col);
		if (c->op == GB_OP_NULL) {
			gb_buf_puts(&b, strcmp(c->value, "true") == 0 ? " IS NULL" : " IS NOT NULL");
			continue;
		}
		gb_buf_puts(&b, cmp_sql[c->op]);
		put_param(&b, ++n, c->col->cast);
		p[np++] = c->value;
	}
	if (q->has_cursor) {
		gb_buf_puts(&b, q->nconds == 0 ? " WHERE " : " AND ");
		put_keyset(&b, q, &n);
		if (q->after_key != NULL && strcmp(q->sort->name, "id") != 0)
			p[np++] = q->after_key;
		p[np++] = q->after_id;
	}
	gb_buf_puts(&b, " ORDER BY ");
	if (strcmp(q->sort->name, "id") != 0) {
		put_col(&b, q->sort);
		gb_buf_puts(&b, dir);
		gb_buf_puts(&b, q->desc ? " NULLS FIRST, " : " NULLS LAST, ");
	}
	gb_buf_printf(&b, "t.\"id\"%s LIMIT $%d::int", dir, ++n);
	if ((p[np++] = gb_arena_printf(a, "%ld", q->limit + 1)) == NULL) {
		gb_buf_free(&b);
		return GB_ENOMEM;
	}
	*params = p;
	*nparams = np;
	return finish(&b, a, out);
}

enum gb_err
gb_sql_insert(struct gb_arena *a, const struct gb_resource *r,
              const struct gb_column *const *cols, size_t n, char **out)
{
	struct gb_buf b = GB_BUF_INIT;
	size_t i;

	gb_buf_printf(&b, "INSERT INTO %s AS t (\"company_id\"", r->qtable);
	for (i = 0; i < n; i++) {
		gb_buf_puts(&b, ", ");
		gb_buf_puts(&b, cols[i]->ident);
	}
	gb_buf_puts(&b, ") VALUES ($1::uuid");
	for (i = 0; i < n; i++) {
		gb_buf_puts(&b, ", ");
		put_param(&b, (int)i + 2, cols[i]->cast);
	}
	gb_buf_puts(&b, ") RETURNING ");
	put_row(&b, r);
	return finish(&b, a, out);
}

enum gb_err
gb_sql_update(struct gb_arena *a, const struct gb_resource *r,
              const struct gb_column *const *cols, size_t n, bool if_match, char **out)
{
	struct gb_buf b = GB_BUF_INIT;
	int first = if_match ? 3 : 2;
	size_t i;

	gb_buf_printf(&b, "UPDATE %s AS t SET ", r->qtable);
	for (i = 0; i < n; i++) {
		gb_buf_puts(&b, cols[i]->ident);
		gb_buf_puts(&b, " = ");
		put_param(&b, first + (int)i, cols[i]->cast);
		gb_buf_puts(&b, ", ");
	}
	gb_buf_puts(&b, "\"version\" = t.\"version\" + 1, \"updated_at\" = now() "
	            "WHERE t.\"id\" = $1::uuid");
	if (if_match)
		gb_buf_puts(&b, " AND t.\"version\" = ANY ($2::bigint[])");
	gb_buf_puts(&b, " RETURNING ");
	put_row(&b, r);
	return finish(&b, a, out);
}

enum gb_err
gb_sql_delete(struct gb_arena *a, const struct gb_resource *r, bool if_match, char **out)
{
	struct gb_buf b = GB_BUF_INIT;

	gb_buf_printf(&b, "DELETE FROM %s AS t WHERE t.\"id\" = $1::uuid", r->qtable);
	if (if_match)
		gb_buf_puts(&b, " AND t.\"version\" = ANY ($2::bigint[])");
	gb_buf_puts(&b, " RETURNING t.\"version\"");
	return finish(&b, a, out);
}
