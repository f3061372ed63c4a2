#include "config.h"
#include "gb_filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb_config.h"
#include "gb_envelope.h"
#include "gb_jwt.h"

#define NELEM(t) (sizeof(t) / sizeof((t)[0]))
#define PARAM_SHOWN_MAX 64
/* The version of the cursor's layout: "1" NUL sort NUL ("-" | "=" key) NUL id. */
#define CURSOR_VERSION "1"
#define CURSOR_RAW_MAX (GB_FILTER_CURSOR_MAX / 4 * 3)

static const char *const op_names[] = {
	[GB_OP_EQ] = "eq", [GB_OP_NE] = "ne", [GB_OP_LT] = "lt", [GB_OP_LTE] = "lte",
	[GB_OP_GT] = "gt", [GB_OP_GTE] = "gte", [GB_OP_NULL] = "null",
};

const char *
gb_filter_op_name(enum gb_filter_op op)
{
	return (unsigned)op < NELEM(op_names) ? op_names[op] : "?";
}

void
gb_filter_default(const struct gb_resource *r, struct gb_list_query *out)
{
	memset(out, 0, sizeof(*out));
	out->limit = GB_FILTER_LIMIT_DEFAULT;
	out->sort = r->default_sort;
	out->desc = r->default_desc;
}

/* What parsing collects: the field errors, and whether memory ran out. */
struct errs {
	json_t *j;
	bool nomem;
};

/* Adds reason to errors[param], the parameter's name shown safely (a JSON
 * key must be valid UTF-8; it is echoed to the client). */
static void
add_error(struct errs *e, const char *param, const char *reason)
{
	char shown[PARAM_SHOWN_MAX + 4];

	if (strcmp(reason, "out of memory") == 0) {
		e->nomem = true;
		return;
	}
	gb_show(shown, sizeof(shown), param, strlen(param), PARAM_SHOWN_MAX);
	if ((e->j = gb_field_error(e->j, shown, reason)) == NULL)
		e->nomem = true;
}

static bool
ops_allowed(enum gb_coltype t, enum gb_filter_op op)
{
	if (op == GB_OP_EQ || op == GB_OP_NE || op == GB_OP_NULL)
		return true;
	return t != GB_COL_BOOLEAN && t != GB_COL_UUID && t != GB_COL_JSON;
}

/* sort=COL or sort=-COL: a sortable column or the default sort's. */
static const char *
parse_sort(const struct gb_resource *r, const char *v, struct gb_list_query *out)
{
	bool desc = v[0] == '-';
	const struct gb_column *c = gb_resource_column(r, v + desc);

	if (c == NULL || !(c->sort || c == r->default_sort))
		return "names no sortable column (write COL or -COL)";
	out->sort = c;
	out->desc = desc;
	return NULL;
}

/* COL or COL.OP = value. */
static const char *
parse_cond(const struct gb_resource *r, const char *key, const char *v, struct gb_arena *a,
           struct gb_list_query *out)
{
	char name[GB_SCHEMA_NAME_MAX + 1];
	const char *dot = strchr(key, '.'), *opname, *why;
	const struct gb_column *c;
	struct gb_filter_cond *cond;
	size_t n = dot != NULL ? (size_t)(dot - key) : strlen(key), i;

	if (n == 0 || n > GB_SCHEMA_NAME_MAX)
		return "is not a parameter of this list";
	if (out->nconds == GB_FILTER_CONDS_MAX)
		return "is one filter too many";
	memcpy(name, key, n);
	name[n] = '\0';
	c = gb_resource_column(r, name);
	if (c == NULL || !c->filter)
		return c == NULL ? "is not a parameter of this list" :
		       "names a column that cannot be filtered on";
	cond = &out->conds[out->nconds];
	cond->col = c;
	cond->op = GB_OP_EQ;
	if (dot != NULL) {
		opname = dot + 1;
		for (i = 0; i < NELEM(op_names); i++)
			if (strcmp(opname, op_names[i]) == 0)
				break;
		if (i == NELEM(op_names))
			return "has an operator other than eq, ne, lt, lte, gt, gte, null";
		cond->op = (enum gb_filter_op)i;
	}
	if (!ops_allowed(c->type, cond->op))
		return "has an operator this column's type does not take (eq, ne, null)";
	if (cond->op == GB_OP_NULL) {
		if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
			return "must be true or false";
		cond->value = v;
	} else if ((cond->value = gb_column_text_value(c, v, a, &why)) == NULL) {
		return why;
	}
	out->nconds++;
	return NULL;
}

/* The sort spec of q: "due" or "-due". */
static void
sort_spec(const struct gb_list_query *q, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", q->desc ? "-" : "", q->sort->name);
}

/* Reads cursor text into out->after_*; the reason it is not one, or NULL. */
static const char *
parse_cursor(const char *text, struct gb_arena *a, struct gb_list_query *out)
{
	char spec[GB_SCHEMA_NAME_MAX + 2];
	const char *part[4], *why, *end;
	size_t len = strlen(text), raw_len, i, k;
	unsigned char *raw;

	if (len == 0 || len > GB_FILTER_CURSOR_MAX)
		return "is not a cursor of this list";
	if ((raw = gb_arena_alloc(a, CURSOR_RAW_MAX + 1)) == NULL)
		return "out of memory";
	if (gb_b64url_decode(text, len, raw, CURSOR_RAW_MAX, &raw_len) != GB_OK)
		return "is not a cursor of this list";
	raw[raw_len] = '\0';
	/* four NUL-terminated parts, the last one ending the text */
	for (i = 0, k = 0; k < 4; k++) {
		if (i > raw_len)
			return "is not a cursor of this list";
		part[k] = (const char *)raw + i;
		i += strlen(part[k]) + 1;
	}
	if (i != raw_len + 1 || strcmp(part[0], CURSOR_VERSION) != 0)
		return "is not a cursor of this list";
	sort_spec(out, spec, sizeof(spec));
	if (strcmp(part[1], spec) != 0)
		return "belongs to another sort order";
	if (strcmp(part[2], "-") == 0) {
		if (!out->sort->db_nullable)
			return "is not a cursor of this list";
		out->after_key = NULL;
	} else if (part[2][0] == '=') {
		out->after_key = gb_column_text_value(out->sort, part[2] + 1, a, &why);
		if (out->after_key == NULL)
			return "is not a cursor of this list";
	} else {
		return "is not a cursor of this list";
	}
	end = part[3];
	if (strlen(end) != 36)
		return "is not a cursor of this list";
	for (i = 0; i < 36; i++) {
		char ch = end[i];

		if ((i == 8 || i == 13 || i == 18 || i == 23) ? ch != '-' :
		    !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return "is not a cursor of this list";
	}
	memcpy(out->after_id, end, 37);
	out->has_cursor = true;
	return NULL;
}

/* How many items before i have the key of item i. */
static size_t
seen_before(const struct gb_query *q, size_t i)
{
	size_t j, n = 0;

	for (j = 0; j < i; j++)
		if (strcmp(q->items[j].key, q->items[i].key) == 0)
			n++;
	return n;
}

enum gb_err
gb_filter_parse(const struct gb_resource *r, const struct gb_query *q, struct gb_arena *a,
                struct gb_list_query *out, json_t **errors, bool *bad_cursor)
{
	struct errs e = { NULL, false };
	const char *cursor = NULL, *why;
	size_t i, seen;
	long v;

	gb_filter_default(r, out);
	*bad_cursor = false;
	for (i = 0; i < q->n; i++) {
		const char *key = q->items[i].key, *val = q->items[i].value;

		why = NULL;
		if ((seen = seen_before(q, i)) > 0) {
			if (seen == 1)      /* said once, however often repeated */
				add_error(&e, key, "is given more than once");
			if (strcmp(key, "cursor") == 0)
				*bad_cursor = true;
			continue;
		}
		if (strcmp(key, "limit") == 0) {
			if (gb_parse_long(val, 1, GB_FILTER_LIMIT_MAX, &v) != GB_OK)
				why = "must be a whole number from 1 to 100";
			else
				out->limit = v;
		} else if (strcmp(key, "sort") == 0) {
			why = parse_sort(r, val, out);
		} else if (strcmp(key, "cursor") == 0) {
			cursor = val;
		} else {
			why = parse_cond(r, key, val, a, out);
		}
		if (why != NULL)
			add_error(&e, key, why);
	}
	/* after sort: a cursor is valid for one sort order only */
	if (cursor != NULL && !*bad_cursor && (why = parse_cursor(cursor, a, out)) != NULL) {
		add_error(&e, "cursor", why);
		*bad_cursor = true;
	}
	if (e.nomem) {
		json_decref(e.j);
		*errors = NULL;
		return GB_ENOMEM;
	}
	*errors = e.j;
	return e.j != NULL ? GB_EINVAL : GB_OK;
}

char *
gb_filter_cursor(struct gb_arena *a, const struct gb_list_query *q, const char *key,
                 const char *id)
{
	char spec[GB_SCHEMA_NAME_MAX + 2], *raw, *out;
	size_t slen, klen = key != NULL ? strlen(key) : 0, ilen = strlen(id), n, olen;

	sort_spec(q, spec, sizeof(spec));
	slen = strlen(spec);
	n = sizeof(CURSOR_VERSION) + slen + 1 + 1 + klen + 1 + ilen;
	if (n > CURSOR_RAW_MAX)
		return NULL;
	if ((raw = gb_arena_alloc(a, n)) == NULL ||
	    (out = gb_arena_alloc(a, GB_B64URL_LEN(n) + 1)) == NULL)
		return NULL;
	memcpy(raw, CURSOR_VERSION, sizeof(CURSOR_VERSION));
	memcpy(raw + sizeof(CURSOR_VERSION), spec, slen + 1);
	olen = sizeof(CURSOR_VERSION) + slen + 1;
	raw[olen++] = key != NULL ? '=' : '-';
	memcpy(raw + olen, key != NULL ? key : "", klen + 1);
	olen += klen + 1;
	memcpy(raw + olen, id, ilen);
	olen += ilen;
	if (gb_b64url_encode(raw, olen, out, GB_B64URL_LEN(n) + 1, NULL) != GB_OK)
		return NULL;
	return out;
}
