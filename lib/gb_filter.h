/* gb_filter.h - the query string of a list of a declared resource.
 *
 *   GET /v1/data/{resource}?done=false&due.gte=2026-01-01&sort=-due&limit=50&cursor=...
 *
 *   limit=N        1..GB_FILTER_LIMIT_MAX rows, default GB_FILTER_LIMIT_DEFAULT
 *   sort=COL       one column of the declaration's "sort" (or its default
 *   sort=-COL      sort), ascending or descending ('-'); rows with equal
 *                  keys in id order, null keys last ascending, first
 *                  descending; default the declaration's default_sort
 *   cursor=C       meta.next_cursor of the page before: opaque, valid only
 *                  with the same sort; anything else is refused
 *   COL=V          a column of the declaration's "filter": equal to V
 *   COL.OP=V       OP: eq, ne (is distinct from), lt, lte, gt, gte (not for
 *                  boolean and uuid columns), null (V true: is null, false:
 *                  is not null)
 * V is text in the column's type: true/false, 42, -1.5, 2026-01-31,
 * 2026-01-31T09:30:00Z (percent-encode '+' as %2B), a UUID, any text.
 * Every other parameter, a parameter given twice, an undeclared column and
 * a value not of the type are errors naming the parameter.
 *
 * Pages are keyset pages: a page starts after the (sort key, id) of the
 * last row of the page before, so rows inserted or deleted meanwhile make
 * no row repeat or go missing.
 */
#ifndef GB_FILTER_H
#define GB_FILTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gb_arena.h"
#include "gb_err.h"
#include "gb_schema.h"
#include "gb_url.h"

#define GB_FILTER_LIMIT_DEFAULT 20
#define GB_FILTER_LIMIT_MAX 100
#define GB_FILTER_CONDS_MAX 32
#define GB_FILTER_CURSOR_MAX 6000        /* characters of a cursor */

enum gb_filter_op {
	GB_OP_EQ,
	GB_OP_NE,
	GB_OP_LT,
	GB_OP_LTE,
	GB_OP_GT,
	GB_OP_GTE,
	GB_OP_NULL,
};

struct gb_filter_cond {
	const struct gb_column *col;
	enum gb_filter_op op;
	const char *value;       /* the text to bind; GB_OP_NULL: "true" or "false" */
};

/* A list query, checked against its resource. */
struct gb_list_query {
	long limit;
	const struct gb_column *sort;
	bool desc;
	bool has_cursor;
	const char *after_key;   /* the last row's sort key as bound; NULL: null */
	char after_id[37];       /* the last row's id, lowercase */
	struct gb_filter_cond conds[GB_FILTER_CONDS_MAX];
	size_t nconds;
};

/* "eq", "ne", ...; "?" outside the enum. */
const char *gb_filter_op_name(enum gb_filter_op op);

/* The query of r's first page: no filter, the default sort, the default
 * limit. */
void gb_filter_default(const struct gb_resource *r, struct gb_list_query *out);

/* Parses q (a request's parsed query string) for r into out, strings from
 * a.  Returns GB_OK; GB_EINVAL with every bad parameter in *errors (keys
 * are parameter names shown as printable ASCII, at most 64 characters)
 * and *bad_cursor true when the cursor was among them; GB_ENOMEM.  *errors
 * is created on the first error (gb_field_error); NULL after ENOMEM. */
enum gb_err gb_filter_parse(const struct gb_resource *r, const struct gb_query *q,
                            struct gb_arena *a, struct gb_list_query *out, json_t **errors,
                            bool *bad_cursor);

/* The cursor of the page after a row of q's results: key is the row's sort
 * key as text (NULL for null), id its id.  Returns a string from a, or
 * NULL on ENOMEM or when it would be longer than GB_FILTER_CURSOR_MAX. */
char *gb_filter_cursor(struct gb_arena *a, const struct gb_list_query *q, const char *key,
                       const char *id);

#endif
