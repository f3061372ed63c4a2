/* gerbang-data: create, read, update and delete over the resources
 * declared in SCHEMA_DIR (gb_schema), for the caller's company.
 *
 *   GET    /v1/data/{resource}        a page (gb_filter: filters, sort,
 *                                     cursor, limit)
 *   POST   /v1/data/{resource}        201, Location and ETag
 *   GET    /v1/data/{resource}/{id}   the row, ETag
 *   PATCH  /v1/data/{resource}/{id}   the columns given; If-Match
 *   DELETE /v1/data/{resource}/{id}   If-Match
 *
 * Only declared resources and columns are reachable: an undeclared
 * resource is 404, an undeclared field 422, an undeclared filter or sort
 * 422.  The declarations are checked against the database at start
 * (gb_schema_verify): a table without forced row-level security on the
 * tenant, or a column of another type, stops the program with the file
 * and key named.  They are read once: restart the program after a change.
 *
 * The company is the token's: every statement runs in a tenant
 * transaction (gb_db_tenant) under the table's row security, and an
 * insert writes the token's company_id itself; a company_id in a body or a
 * query is an error, so another company's row is not found (404) whatever
 * a request says.  Statements come from gb_sql: identifiers from the
 * declaration, every value a parameter.
 *
 * Rows carry a version, the ETag ("3").  PATCH and DELETE honour If-Match
 * (412 when the row has another version; the check is part of the UPDATE
 * or DELETE, so two writers with the same ETag cannot both win) and do not
 * require it: a client that read before writing sends it.
 */
#include "config.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb_db.h"
#include "gb_envelope.h"
#include "gb_filter.h"
#include "gb_log.h"
#include "gb_schema.h"
#include "gb_serve.h"
#include "gb_sql.h"
#include "gb_validate.h"

#define IF_MATCH_TAGS_MAX 16
#define NO_SUCH_ROW "no such row"

/* The statements of one resource prepared on each connection: those of a
 * read, a delete and a list in the declared order.  Filters and other
 * orders, inserts and updates are built per request (unnamed). */
struct prepared {
	struct gb_stmt get, version, del, del_if, list_first, list_next;
	int version_col;              /* index of version among the row's columns */
};

static struct gb_schema *schema;
static struct prepared *prep;     /* one per resource, in schema order */
static struct gb_arena *prep_arena;

/* ---- start ---------------------------------------------------------------- */

static int
prepare_resource(size_t i)
{
	const struct gb_resource *r = gb_schema_at(schema, i);
	struct prepared *p = &prep[i];
	struct gb_list_query q;
	const char **params;
	char *sql[6];
	int np, k;

	gb_filter_default(r, &q);
	if (gb_sql_get(prep_arena, r, &sql[0]) != GB_OK ||
	    gb_sql_version(prep_arena, r, &sql[1]) != GB_OK ||
	    gb_sql_delete(prep_arena, r, false, &sql[2]) != GB_OK ||
	    gb_sql_delete(prep_arena, r, true, &sql[3]) != GB_OK ||
	    gb_sql_list(prep_arena, r, &q, &sql[4], &params, &np) != GB_OK)
		return -1;
	/* the next pages in the default order: after a key that is not null */
	q.has_cursor = true;
	q.after_key = "";
	if (gb_sql_list(prep_arena, r, &q, &sql[5], &params, &np) != GB_OK)
		return -1;
	p->get = (struct gb_stmt){ gb_arena_printf(prep_arena, "d%zu_get", i), sql[0], 1 };
	p->version = (struct gb_stmt){ gb_arena_printf(prep_arena, "d%zu_version", i), sql[1], 1 };
	p->del = (struct gb_stmt){ gb_arena_printf(prep_arena, "d%zu_del", i), sql[2], 1 };
	p->del_if = (struct gb_stmt){ gb_arena_printf(prep_arena, "d%zu_del_if", i), sql[3], 2 };
	p->list_first = (struct gb_stmt){ gb_arena_printf(prep_arena, "d%zu_list", i), sql[4], 1 };
	p->list_next = (struct gb_stmt){ gb_arena_printf(prep_arena, "d%zu_next", i), sql[5], np };
	if (p->get.name == NULL || p->version.name == NULL || p->del.name == NULL ||
	    p->del_if.name == NULL || p->list_first.name == NULL || p->list_next.name == NULL)
		return -1;
	for (k = 0; k < (int)r->ncols; k++)
		if (strcmp(r->cols[k].name, "version") == 0)
			p->version_col = k;
	return 0;
}

static void
data_fini(void)
{
	gb_schema_free(schema);
	schema = NULL;
	free(prep);
	prep = NULL;
	gb_arena_free(prep_arena);
	prep_arena = NULL;
}

/* SCHEMA_DIR, checked against the database when it declares anything:
 * 78 for a bad declaration or table, 75 when the database did not answer
 * (a restart may do better). */
static int
data_init(const struct gb_config *cfg)
{
	struct gb_schema_error err;
	struct gb_db *db;
	char count[24];
	size_t i, n;
	enum gb_err e;
	int rc = 1;

	if (gb_schema_load(cfg->schema_dir, &schema, &err) != GB_OK)
		goto bad;
	n = gb_schema_count(schema);
	if (n > 0) {
		if ((db = gb_db_new(cfg->database_url, (int)cfg->db_timeout_ms)) == NULL)
			goto nomem;
		e = gb_schema_verify(schema, db, &err);
		gb_db_free(db);
		if (e == GB_EDB || e == GB_ETIMEOUT) {
			fprintf(stderr, "gerbang-data: cannot check SCHEMA_DIR against the database: "
			        "%s\n", err.msg);
			rc = 75;
			goto err;
		}
		if (e != GB_OK)
			goto bad;
	}
	prep = calloc(n + 1, sizeof(*prep));
	prep_arena = gb_arena_new(16384);
	for (i = 0; prep != NULL && prep_arena != NULL && i < n; i++)
		if (prepare_resource(i) != 0)
			break;
	if (prep == NULL || prep_arena == NULL || i < n)
		goto nomem;
	snprintf(count, sizeof(count), "%zu", n);
	gb_log(GB_LOG_INFO, NULL, "resources loaded", "resources", count, "dir",
	       cfg->schema_dir, NULL);
	return 0;
bad:
	fprintf(stderr, "gerbang-data: configuration: SCHEMA_DIR: %s: %s%s%s\n", err.file,
	        err.key, err.key[0] ? ": " : "", err.msg);
	goto err;
nomem:
	fprintf(stderr, "gerbang-data: out of memory\n");
err:
	data_fini();
	return rc;
}

/* ---- helpers ---------------------------------------------------------------- */

static struct gb_db *
db_of(struct gb_ctx *c)
{
	struct gb_db *db = gb_ctx_db(c);

	if (db == NULL)
		gb_fail_err(c, GB_ENOMEM);
	return db;
}

/* The resource of the path, if the caller's role may read it (or write
 * it); else answers 404 or 403 and returns NULL.  *index is its place. */
static const struct gb_resource *
resource_of(struct gb_ctx *c, bool write, size_t *index)
{
	const char *name = gb_route_param(&c->match, "resource");
	const struct gb_resource *r = NULL;
	size_t i, n = gb_schema_count(schema);

	for (i = 0; name != NULL && i < n; i++) {
		r = gb_schema_at(schema, i);
		if (strcmp(r->name, name) == 0)
			break;
	}
	if (name == NULL || i == n) {
		gb_fail(c, 404, "no such resource", NULL);
		return NULL;
	}
	if ((gb_role_bit(c->auth.role) & (write ? r->write_roles : r->read_roles)) == 0) {
		gb_fail(c, 403, write ? "your role may not change this resource" :
		        "your role may not read this resource", NULL);
		return NULL;
	}
	*index = i;
	return r;
}

/* The {id} of the path as a lowercase UUID, false when it is none (no row
 * can have it: 404 without a query). */
static bool
path_id(struct gb_ctx *c, char out[37])
{
	const char *id = gb_route_param(&c->match, "id");
	size_t i;

	if (id == NULL || !gb_v_uuid(id))
		return false;
	for (i = 0; i < 36; i++)
		out[i] = (char)tolower((unsigned char)id[i]);
	out[36] = '\0';
	return true;
}

/* Bytes row's JSON takes: {"name":value,...}; values are to_json() text. */
static size_t
row_size(const struct gb_resource *r, const PGresult *res, int row)
{
	size_t n = 2, i;

	for (i = 0; i < r->ncols; i++)
		n += strlen(r->cols[i].name) + 4 +
		     (PQgetisnull(res, row, (int)i) ? 4 : (size_t)PQgetlength(res, row, (int)i));
	return n;
}

/* Writes row's JSON at p; returns the end. */
static char *
row_write(char *p, const struct gb_resource *r, const PGresult *res, int row)
{
	size_t i, n;

	*p++ = '{';
	for (i = 0; i < r->ncols; i++) {
		if (i != 0)
			*p++ = ',';
		*p++ = '"';
		n = strlen(r->cols[i].name);
		memcpy(p, r->cols[i].name, n);
		p += n;
		*p++ = '"';
		*p++ = ':';
		if (PQgetisnull(res, row, (int)i)) {
			memcpy(p, "null", 4);
			p += 4;
		} else {
			n = (size_t)PQgetlength(res, row, (int)i);
			memcpy(p, PQgetvalue(res, row, (int)i), n);
			p += n;
		}
	}
	*p++ = '}';
	return p;
}

/* Answers one row with its ETag (and Location when created). */
static void
answer_row(struct gb_ctx *c, const struct gb_resource *r, size_t ri, const PGresult *res,
           int status, const char *message)
{
	size_t n = row_size(r, res, 0);
	char *json = gb_arena_alloc(c->arena, n + 1), *end, *etag, *loc = NULL;
	const char *id = PQgetvalue(res, 0, 0);    /* "\"uuid\"" */

	etag = gb_arena_cat(c->arena, "\"", PQgetvalue(res, 0, prep[ri].version_col), "\"", NULL);
	if (status == 201 && strlen(id) == 38)
		loc = gb_arena_printf(c->arena, "/v1/data/%s/%.36s", r->name, id + 1);
	if (json == NULL || etag == NULL || (status == 201 && loc == NULL)) {
		gb_fail_err(c, GB_ENOMEM);
		return;
	}
	end = row_write(json, r, res, 0);
	gb_header(c, "ETag", etag);
	if (loc != NULL)
		gb_header(c, "Location", loc);
	gb_ok_raw(c, status, message, json, (size_t)(end - json));
}

/* A failed statement: the constraint or column it names becomes the
 * field; a duplicate is 409, a foreign key 422 (409 when deleting a row
 * others refer to), bad values 422; the database unavailable 503/504. */
static void
db_failed(struct gb_ctx *c, struct gb_db *db, enum gb_err e, const struct gb_resource *r,
          bool deleting)
{
	const char *state = gb_db_sqlstate(db), *field = NULL, *why = NULL;
	const struct gb_column *col = gb_resource_constraint(r, gb_db_constraint(db));

	if (col == NULL && gb_db_column(db)[0] != '\0')
		col = gb_resource_column(r, gb_db_column(db));
	if (col != NULL && !col->system)
		field = col->name;
	gb_log(e == GB_ECONFLICT || e == GB_EVALIDATION ? GB_LOG_INFO : GB_LOG_ERROR,
	       c->req.request_id, "database error", "resource", r->name, "error",
	       gb_db_last_error(db), "sqlstate", state, "constraint", gb_db_constraint(db), NULL);
	if (e == GB_ECONFLICT) {
		gb_fail(c, 409, "conflict", field != NULL ?
		        gb_field_error(NULL, field, "already exists") : NULL);
		return;
	}
	if (e != GB_EVALIDATION) {
		gb_fail_err(c, e == GB_ETIMEOUT ? GB_ETIMEOUT : GB_EDB);
		return;
	}
	if (strcmp(state, "23503") == 0 && deleting) {
		gb_fail(c, 409, "other rows still refer to this one", NULL);
		return;
	}
	if (strcmp(state, "23503") == 0)
		why = "refers to a row that does not exist";
	else if (strcmp(state, "23502") == 0)
		why = "must not be null";
	else if (strcmp(state, "23514") == 0)
		why = "is not accepted by the table's checks";
	else
		why = "is not a value the column takes";
	gb_fail(c, 422, "invalid fields", gb_field_error(NULL, field != NULL ? field : "body", why));
}

/* If-Match: absent or "*" (any version: *versions NULL), or the versions
 * its strong numeric tags name as a bigint[] literal ("{3,4}"; "{}" when
 * none can match).  Returns 0, or -1 after answering 400 for a malformed
 * header. */
static int
if_match(struct gb_ctx *c, const char **versions)
{
	const char *h = gb_req_header(&c->req, "If-Match"), *p, *q;
	char list[IF_MATCH_TAGS_MAX * 20 + 3];
	size_t len = 1, ntags = 0, seen = 0;
	bool weak;

	*versions = NULL;
	if (h == NULL)
		return 0;
	p = h + strspn(h, " \t");
	if (p[0] == '*' && p[1 + strspn(p + 1, " \t")] == '\0')
		return 0;
	list[0] = '{';
	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		weak = strncmp(p, "W/", 2) == 0;
		if (weak)
			p += 2;
		if (*p != '"')
			goto bad;
		seen++;
		for (q = p + 1; *q != '"'; q++)
			if (*q == '\0' || (unsigned char)*q < 0x21 || *q == 0x7f)
				goto bad;
		/* weak tags never match (strong comparison); ours are digits */
		if (!weak && q - p - 1 >= 1 && q - p - 1 <= 18 &&
		    strspn(p + 1, "0123456789") == (size_t)(q - p - 1)) {
			if (++ntags > IF_MATCH_TAGS_MAX)
				goto bad;
			if (len > 1)
				list[len++] = ',';
			memcpy(list + len, p + 1, (size_t)(q - p - 1));
			len += (size_t)(q - p - 1);
		}
		p = q + 1;
		p += strspn(p, " \t");
		if (*p != ',' && *p != '\0')
			goto bad;
	}
	if (seen == 0)
		goto bad;       /* an empty header names no tag */
	list[len++] = '}';
	list[len] = '\0';
	if ((*versions = gb_arena_strdup(c->arena, list)) == NULL) {
		gb_fail_err(c, GB_ENOMEM);
		return -1;
	}
	return 0;
bad:
	gb_fail(c, 400, "invalid If-Match", gb_field_error(NULL, "If-Match",
	        "must be * or a list of entity tags, as \"3\""));
	return -1;
}

/* After an UPDATE or DELETE found no row: 412 with the current ETag when
 * the row is there (its version was not one If-Match named), else 404. */
static void
no_row(struct gb_ctx *c, struct gb_db *db, const struct gb_resource *r, size_t ri,
       const char *id, bool checked_version)
{
	PGresult *res = NULL;
	enum gb_err e;
	char *etag;

	if (!checked_version) {
		gb_fail(c, 404, NO_SUCH_ROW, NULL);
		return;
	}
	e = gb_db_tenant(db, c->company_id, &prep[ri].version, (const char *const[]){ id }, &res);
	if (e != GB_OK) {
		db_failed(c, db, e, r, false);
		return;
	}
	if (PQntuples(res) == 0) {
		gb_fail(c, 404, NO_SUCH_ROW, NULL);
	} else {
		etag = gb_arena_cat(c->arena, "\"", PQgetvalue(res, 0, 0), "\"", NULL);
		if (etag != NULL)
			gb_header(c, "ETag", etag);
		gb_fail(c, 412, "the row has changed since it was read",
		        gb_field_error(NULL, "If-Match", "does not name the row's current version"));
	}
	PQclear(res);
}

/* The columns and values of a body: every field checked, each failure in
 * *errors.  create: required columns must be there and defaults fill the
 * absent ones; otherwise write-once columns are refused and at least one
 * column is needed.  cols and vals hold r->ncols entries. */
static void
body_values(struct gb_ctx *c, const struct gb_resource *r, json_t *j, bool create,
            const struct gb_column **cols, const char **vals, size_t *n, json_t **errors)
{
	const struct gb_column *col;
	const char *key, *val, *why;
	json_t *v;
	size_t i;

	*n = 0;
	json_object_foreach(j, key, v) {
		col = gb_resource_column(r, key);
		if (strcmp(key, "company_id") == 0)
			why = "is set by the gateway from your token";
		else if (col == NULL)
			why = "unknown field";
		else if (col->system)
			why = "is set by the gateway";
		else if (col->read_only)
			why = "is read-only";
		else if (!create && col->write_once)
			why = "can only be set when the row is created";
		else if ((val = gb_column_json_value(col, v, c->arena, &why)) != NULL || why == NULL) {
			cols[*n] = col;
			vals[(*n)++] = val;     /* NULL: SQL NULL */
			continue;
		}
		gb_v_error(errors, key, why);
	}
	if (create) {
		for (i = 0; i < r->ncols; i++) {
			col = &r->cols[i];
			if (col->system || json_object_get(j, col->name) != NULL)
				continue;
			if (col->required) {
				gb_v_error(errors, col->name, "is required");
			} else if (col->default_value != NULL) {
				cols[*n] = col;
				vals[(*n)++] = col->default_value;
			}
		}
	} else if (*n == 0 && *errors == NULL) {
		gb_v_error(errors, "body", "names no column to change");
	}
}

/* ---- handlers ---------------------------------------------------------------- */

static void
data_list(struct gb_ctx *c)
{
	const struct gb_resource *r;
	const struct prepared *p;
	struct gb_list_query q;
	struct gb_stmt one = { NULL, NULL, 0 };
	const struct gb_stmt *st;
	const char **params, *cursor = NULL, *args[3];
	char *sql, *data, *w, limit[24];
	json_t *errors = NULL;
	PGresult *res = NULL;
	struct gb_db *db;
	bool bad_cursor, more;
	size_t ri, size = 2;
	int nparams, n, i;
	enum gb_err e;

	if ((r = resource_of(c, false, &ri)) == NULL)
		return;
	p = &prep[ri];
	e = gb_filter_parse(r, &c->req.query, c->arena, &q, &errors, &bad_cursor);
	if (e == GB_EINVAL) {
		gb_fail(c, bad_cursor ? 400 : 422, bad_cursor ? "invalid cursor" : "invalid query",
		        errors);
		return;
	}
	if (e != GB_OK || (db = db_of(c)) == NULL) {
		if (e != GB_OK)
			gb_fail_err(c, e);
		return;
	}
	snprintf(limit, sizeof(limit), "%ld", q.limit + 1);
	if (q.nconds == 0 && q.sort == r->default_sort && q.desc == r->default_desc &&
	    (!q.has_cursor || q.after_key != NULL)) {
		/* the declared order, unfiltered: prepared on the connection */
		n = 0;
		if (q.has_cursor && strcmp(q.sort->name, "id") != 0)
			args[n++] = q.after_key;
		if (q.has_cursor)
			args[n++] = q.after_id;
		args[n] = limit;
		st = q.has_cursor ? &p->list_next : &p->list_first;
		params = args;
	} else {
		if (gb_sql_list(c->arena, r, &q, &sql, &params, &nparams) != GB_OK) {
			gb_fail_err(c, GB_ENOMEM);
			return;
		}
		one = (struct gb_stmt){ NULL, sql, nparams };
		st = &one;
	}
	e = gb_db_tenant(db, c->company_id, st, params, &res);
	if (e != GB_OK) {
		db_failed(c, db, e, r, false);
		return;
	}
	n = PQntuples(res);
	more = n > q.limit;
	if (more)
		n = (int)q.limit;
	for (i = 0; i < n; i++)
		size += row_size(r, res, i) + 1;
	if ((data = gb_arena_alloc(c->arena, size + 1)) == NULL)
		goto nomem;
	w = data;
	*w++ = '[';
	for (i = 0; i < n; i++) {
		if (i != 0)
			*w++ = ',';
		w = row_write(w, r, res, i);
	}
	*w++ = ']';
	if (more) {
		cursor = gb_filter_cursor(c->arena, &q,
		                          PQgetisnull(res, n - 1, GB_SQL_LIST_KEY(r)) ? NULL :
		                          PQgetvalue(res, n - 1, GB_SQL_LIST_KEY(r)),
		                          PQgetvalue(res, n - 1, GB_SQL_LIST_ID(r)));
		if (cursor == NULL)
			goto nomem;
	}
	gb_ok_list_raw(c, 200, r->name, data, (size_t)(w - data),
	               json_pack("{s:I, s:s?}", "limit", (json_int_t)q.limit, "next_cursor", cursor));
	PQclear(res);
	return;
nomem:
	gb_log(GB_LOG_ERROR, c->req.request_id, "cannot build the page", "resource", r->name, NULL);
	gb_fail_err(c, GB_ENOMEM);
	PQclear(res);
}

static void
data_get(struct gb_ctx *c)
{
	const struct gb_resource *r;
	PGresult *res = NULL;
	struct gb_db *db;
	char id[37];
	size_t ri;
	enum gb_err e;

	if ((r = resource_of(c, false, &ri)) == NULL)
		return;
	if (!path_id(c, id)) {
		gb_fail(c, 404, NO_SUCH_ROW, NULL);
		return;
	}
	if ((db = db_of(c)) == NULL)
		return;
	e = gb_db_tenant(db, c->company_id, &prep[ri].get, (const char *const[]){ id }, &res);
	if (e != GB_OK) {
		db_failed(c, db, e, r, false);
		return;
	}
	if (PQntuples(res) != 1)
		gb_fail(c, 404, NO_SUCH_ROW, NULL);
	else
		answer_row(c, r, ri, res, 200, "row");
	PQclear(res);
}

static void
data_create(struct gb_ctx *c)
{
	const struct gb_resource *r;
	const struct gb_column **cols;
	const char **vals;
	struct gb_req_error rerr;
	json_t *j = NULL, *errors = NULL;
	PGresult *res = NULL;
	struct gb_db *db;
	char *sql;
	size_t ri, n;
	enum gb_err e;

	if ((r = resource_of(c, true, &ri)) == NULL)
		return;
	if (gb_req_json(&c->req, &j, &rerr) != GB_OK) {
		gb_fail_req(c, &rerr);
		return;
	}
	cols = gb_arena_calloc(c->arena, r->ncols, sizeof(*cols));
	/* $1 the company, then the values */
	vals = gb_arena_calloc(c->arena, r->ncols + 1, sizeof(*vals));
	if (cols == NULL || vals == NULL) {
		gb_fail_err(c, GB_ENOMEM);
		goto out;
	}
	body_values(c, r, j, true, cols, vals + 1, &n, &errors);
	if (errors != NULL) {
		gb_fail(c, 422, "invalid fields", errors);
		goto out;
	}
	if (gb_sql_insert(c->arena, r, cols, n, &sql) != GB_OK) {
		gb_fail_err(c, GB_ENOMEM);
		goto out;
	}
	if ((db = db_of(c)) == NULL)
		goto out;
	vals[0] = c->company_id;
	e = gb_db_tenant(db, c->company_id, &(struct gb_stmt){ NULL, sql, (int)n + 1 }, vals, &res);
	if (e != GB_OK) {
		db_failed(c, db, e, r, false);
		goto out;
	}
	gb_log(GB_LOG_INFO, c->req.request_id, "row created", "resource", r->name, "company_id",
	       c->company_id, "by", c->auth.sub, NULL);
	answer_row(c, r, ri, res, 201, "created");
out:
	PQclear(res);
	json_decref(j);
}

static void
data_patch(struct gb_ctx *c)
{
	const struct gb_resource *r;
	const struct gb_column **cols;
	const char **vals, *versions;
	struct gb_req_error rerr;
	json_t *j = NULL, *errors = NULL;
	PGresult *res = NULL;
	struct gb_db *db;
	char id[37], *sql;
	size_t ri, n, first;
	enum gb_err e;

	if ((r = resource_of(c, true, &ri)) == NULL)
		return;
	if (!path_id(c, id)) {
		gb_fail(c, 404, NO_SUCH_ROW, NULL);
		return;
	}
	if (if_match(c, &versions) != 0)
		return;
	if (gb_req_json(&c->req, &j, &rerr) != GB_OK) {
		gb_fail_req(c, &rerr);
		return;
	}
	/* $1 the id, $2 the versions If-Match names, then the values */
	first = versions != NULL ? 2 : 1;
	cols = gb_arena_calloc(c->arena, r->ncols, sizeof(*cols));
	vals = gb_arena_calloc(c->arena, r->ncols + 2, sizeof(*vals));
	if (cols == NULL || vals == NULL) {
		gb_fail_err(c, GB_ENOMEM);
		goto out;
	}
	body_values(c, r, j, false, cols, vals + first, &n, &errors);
	if (errors != NULL) {
		gb_fail(c, 422, "invalid fields", errors);
		goto out;
	}
	if (gb_sql_update(c->arena, r, cols, n, versions != NULL, &sql) != GB_OK) {
		gb_fail_err(c, GB_ENOMEM);
		goto out;
	}
	if ((db = db_of(c)) == NULL)
		goto out;
	vals[0] = id;
	if (versions != NULL)
		vals[1] = versions;
	e = gb_db_tenant(db, c->company_id, &(struct gb_stmt){ NULL, sql, (int)(n + first) },
	                 vals, &res);
	if (e != GB_OK) {
		db_failed(c, db, e, r, false);
		goto out;
	}
	if (PQntuples(res) != 1) {
		no_row(c, db, r, ri, id, versions != NULL);
		goto out;
	}
	gb_log(GB_LOG_INFO, c->req.request_id, "row updated", "resource", r->name, "company_id",
	       c->company_id, "id", id, "by", c->auth.sub, NULL);
	answer_row(c, r, ri, res, 200, "updated");
out:
	PQclear(res);
	json_decref(j);
}

static void
data_delete(struct gb_ctx *c)
{
	const struct gb_resource *r;
	const char *versions;
	PGresult *res = NULL;
	struct gb_db *db;
	char id[37];
	size_t ri;
	enum gb_err e;

	if ((r = resource_of(c, true, &ri)) == NULL)
		return;
	if (!path_id(c, id)) {
		gb_fail(c, 404, NO_SUCH_ROW, NULL);
		return;
	}
	if (if_match(c, &versions) != 0 || (db = db_of(c)) == NULL)
		return;
	e = gb_db_tenant(db, c->company_id, versions != NULL ? &prep[ri].del_if : &prep[ri].del,
	                 (const char *const[]){ id, versions }, &res);
	if (e != GB_OK) {
		db_failed(c, db, e, r, true);
		return;
	}
	if (PQntuples(res) != 1) {
		no_row(c, db, r, ri, id, versions != NULL);
	} else {
		gb_log(GB_LOG_INFO, c->req.request_id, "row deleted", "resource", r->name,
		       "company_id", c->company_id, "id", id, "by", c->auth.sub, NULL);
		gb_ok(c, 200, "deleted", NULL);
	}
	PQclear(res);
}

/* Roles are the declaration's, per resource (resource_of): any role
 * passes the table. */
static const struct gb_route routes[] = {
	{ "GET", "/v1/data/{resource}", data_list, GB_JWT, 0, NULL },
	{ "POST", "/v1/data/{resource}", data_create, GB_JWT, 0, NULL },
	{ "GET", "/v1/data/{resource}/{id}", data_get, GB_JWT, 0, NULL },
	{ "PATCH", "/v1/data/{resource}/{id}", data_patch, GB_JWT, 0, NULL },
	{ "DELETE", "/v1/data/{resource}/{id}", data_delete, GB_JWT, 0, NULL },
};

static const struct gb_app app = {
	.name = "gerbang-data",
	.service = "data",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.init = data_init,
	.fini = data_fini,
};

int
main(int argc, char **argv)
{
	return gb_serve_main(argc, argv, &app);
}
