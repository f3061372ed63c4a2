/* gb_sql.h - the statements of gerbang-data over a declared resource.
 *
 * Identifiers come only from a validated declaration (gb_schema), quoted;
 * every value a client sends is a parameter ($n with an explicit cast to
 * the column's type), never text of the statement.  The table is aliased
 * t.  A row is selected as to_json() of each column of r->cols in order
 * (id, the declared columns, version, created_at, updated_at), so the
 * program writes its JSON without parsing it and PostgreSQL does the
 * quoting; a SQL NULL comes back as a NULL field.
 *
 * Every function returns GB_OK with *out (and the others) from a, or
 * GB_ENOMEM.
 */
#ifndef GB_SQL_H
#define GB_SQL_H

#include <stdbool.h>
#include <stddef.h>

#include "gb_arena.h"
#include "gb_err.h"
#include "gb_filter.h"
#include "gb_schema.h"

/* One row: $1 the id. */
enum gb_err gb_sql_get(struct gb_arena *a, const struct gb_resource *r, char **out);

/* The version of one row: $1 the id.  One column. */
enum gb_err gb_sql_version(struct gb_arena *a, const struct gb_resource *r, char **out);

/* One page of q: the row's columns, then the sort key as text
 * (GB_SQL_LIST_KEY) and the id (GB_SQL_LIST_ID); up to q->limit + 1 rows
 * (the one more says that there is a next page).  *params (nparams of
 * them, from a) are the filter values in q's order, the cursor's key (when
 * not null) and id, and the row limit. */
enum gb_err gb_sql_list(struct gb_arena *a, const struct gb_resource *r,
                        const struct gb_list_query *q, char **out, const char ***params,
                        int *nparams);
#define GB_SQL_LIST_KEY(r) ((int)(r)->ncols)
#define GB_SQL_LIST_ID(r) ((int)(r)->ncols + 1)

/* INSERT of cols[0..n) (declared, writable columns): $1 the company, then
 * one value per column in that order.  Returns the row. */
enum gb_err gb_sql_insert(struct gb_arena *a, const struct gb_resource *r,
                          const struct gb_column *const *cols, size_t n, char **out);

/* UPDATE of one row setting cols[0..n), version + 1 and updated_at: $1 the
 * id, with if_match $2 the versions it may have (a bigint[] literal), then
 * one value per column.  Returns the row, or no row. */
enum gb_err gb_sql_update(struct gb_arena *a, const struct gb_resource *r,
                          const struct gb_column *const *cols, size_t n, bool if_match,
                          char **out);

/* DELETE of one row: $1 the id, with if_match $2 as above.  Returns its
 * version, or no row. */
enum gb_err gb_sql_delete(struct gb_arena *a, const struct gb_resource *r, bool if_match,
                          char **out);

#endif
