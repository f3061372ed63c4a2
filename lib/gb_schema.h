/* gb_schema.h - resources declared in SCHEMA_DIR for gerbang-data.
 *
 * One JSON file per resource.  Only what is declared is reachable: a
 * resource's URL name, its table in the schema gerbang_data (never
 * another: the gateway's own tables live in the schema gerbang, and their
 * names are refused too), and the columns clients may see and write.
 *
 *   {"resource": "notes", "table": "notes",
 *    "columns": {"title": {"type": "text", "required": true, "max_length": 200},
 *                "done": {"type": "boolean", "default": false}, ...},
 *    "filter": ["done", "due"], "sort": ["due", "created_at"],
 *    "default_sort": "-created_at",
 *    "roles": {"read": ["owner", "admin", "member", "viewer"],
 *              "write": ["owner", "admin", "member"]}}
 *
 * Keys (any other, at any level, is an error naming it):
 *   resource      required, 1..63 of [a-z0-9_-], starting with a letter;
 *                 unique in the directory: the {resource} of /v1/data/
 *   table         required, 1..63 of [a-z0-9_], starting with a letter,
 *                 not pg_*, not a table of the gateway (users, companies,
 *                 refresh_tokens, tasks, task_counts, applied): a table of
 *                 the schema gerbang_data
 *   columns       required object, 1..GB_SCHEMA_COLUMNS_MAX columns named
 *                 like tables; not id, company_id, version, created_at,
 *                 updated_at (the gateway's: every resource has them) nor
 *                 limit, cursor, sort (the list query's parameters)
 *     type        required: text, integer, numeric, boolean, date,
 *                 timestamp (with time zone), uuid, json
 *     required    boolean: a POST must give it, and never null
 *     default     a value of the type, within the limits, written by a
 *                 POST that omits the column (not with required or
 *                 read_only)
 *     min_length, max_length   text: 0..GB_SCHEMA_TEXT_MAX characters
 *     minimum, maximum         integer (whole numbers), numeric (numbers or
 *                 decimal strings), date ("YYYY-MM-DD"), timestamp (RFC
 *                 3339 with an offset): inclusive bounds
 *     pattern     text: a POSIX extended regular expression, unanchored
 *                 (write ^...$), matched on bytes (C locale)
 *     enum        text: 1..64 distinct allowed strings
 *     read_only   boolean: never written by clients (the table's DEFAULT
 *                 or triggers fill it)
 *     write_once  boolean: written by POST only, never by PATCH
 *   filter        array of column names clients may filter on (json
 *                 columns cannot be); id, created_at, updated_at too
 *   sort          array of column names clients may sort on (not json;
 *                 text with a max_length of at most GB_SCHEMA_SORT_TEXT_MAX,
 *                 as the last row's key travels in the next page's
 *                 cursor); id, created_at, updated_at too
 *   default_sort  "name" or "-name" (descending), a sortable column;
 *                 default "created_at"; always accepted by ?sort=
 *   roles         object {"read": [...], "write": [...]} of owner, admin,
 *                 member, viewer (each non-empty); default read: every
 *                 role, write: owner, admin, member
 *
 * Errors name the file and the key ("columns.title.max_length"); text
 * taken from a file is quoted with control and non-ASCII bytes shown as
 * '?' and cut short (gb_show).
 *
 * A parsed schema is not yet usable: gb_schema_verify() checks every table
 * against PostgreSQL's catalog (gb_schema_bind() the pure part, for
 * tests) and fills in what the database says.  After that nothing in it
 * changes, so every thread may read it without locks.
 */
#ifndef GB_SCHEMA_H
#define GB_SCHEMA_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "gb_arena.h"
#include "gb_buf.h"
#include "gb_err.h"

#define GB_SCHEMA_MAX 128               /* resources in a directory */
#define GB_SCHEMA_FILE_MAX 65536        /* bytes of one declaration */
#define GB_SCHEMA_COLUMNS_MAX 40        /* declared columns of a resource */
#define GB_SCHEMA_NAME_MAX 63           /* PostgreSQL's identifier length */
#define GB_SCHEMA_TEXT_MAX 1048576      /* max_length's own bound */
#define GB_SCHEMA_ENUM_MAX 64
#define GB_SCHEMA_VALUE_MAX 8192        /* an enum value */
#define GB_SCHEMA_SORT_TEXT_MAX 1024    /* max_length of a text column to sort on */
/* The schema every declared table lives in. */
#define GB_SCHEMA_DATA "gerbang_data"

enum gb_coltype {
	GB_COL_TEXT,
	GB_COL_INTEGER,
	GB_COL_NUMERIC,
	GB_COL_BOOLEAN,
	GB_COL_DATE,
	GB_COL_TIMESTAMP,
	GB_COL_UUID,
	GB_COL_JSON,
};

/* One column of a resource, declared or the gateway's own (id, version,
 * created_at, updated_at: system, read-only).  Read-only for users. */
struct gb_column {
	const char *name;            /* [a-z][a-z0-9_]{0,62} */
	const char *ident;           /* the name as a quoted SQL identifier */
	enum gb_coltype type;
	const char *cast;            /* "text", "bigint", ...: the type a value
	                              * is bound as ($n::cast), untyped by
	                              * length so nothing is truncated */
	bool system;
	bool required, read_only, write_once;
	bool filter, sort;
	/* limits; bounds are compared as: integer, date (days since
	 * 1970-01-01) and timestamp (microseconds since the epoch) exactly in
	 * imin/imax, numeric as doubles in dmin/dmax */
	long min_length, max_length; /* -1: none */
	bool has_min, has_max;
	long long imin, imax;
	double dmin, dmax;
	const char *min_text, *max_text;   /* as declared, for messages */
	bool has_pattern;
	regex_t pattern;
	const char *pattern_text;
	const char *const *enum_values;
	size_t nenum;
	const char *default_value;   /* as it is bound; NULL: none */
	/* from the catalog (gb_schema_bind) */
	bool db_nullable;
	bool db_has_default;
};

/* One resource.  Strings and arrays live as long as the schema. */
struct gb_resource {
	const char *file;            /* the declaration's path as given */
	const char *name;            /* the URL name */
	const char *table;           /* bare table name */
	const char *qtable;          /* "gerbang_data"."table", quoted */
	struct gb_column *cols;      /* id, the declared ones in file order,
	                              * version, created_at, updated_at */
	size_t ncols;
	unsigned read_roles, write_roles;    /* GB_ROLE_* bits */
	const struct gb_column *default_sort;
	bool default_desc;
	/* Constraints of the table with one column each, for naming the
	 * field of a 409 or 422 (gb_schema_bind). */
	struct gb_constraint {
		const char *name;
		const struct gb_column *col;
	} *constraints;
	size_t nconstraints;
};

struct gb_schema;

/* Where a declaration or a table is wrong.  key is "" when the fault is
 * not one key's (JSON syntax, a file that cannot be read). */
struct gb_schema_error {
	char file[256];
	char key[96];
	char msg[256];
};

/* "text", "integer", ...; "?" outside the enum. */
const char *gb_coltype_name(enum gb_coltype t);

/* Parses one declaration, text[0..len) (no NUL needed), named file in
 * messages (NULL: "").  Returns GB_OK with *out a schema of one resource
 * (not yet bound); GB_ECONFIG with err filled; GB_ENOMEM.  *out is
 * unchanged on error; err may be NULL. */
enum gb_err gb_schema_parse(const char *text, size_t len, const char *file,
                            struct gb_schema **out, struct gb_schema_error *err);

/* Loads every "*.json" of dir in strcmp order of their names (names
 * starting with '.' are skipped, never opened), each a regular file of at
 * most GB_SCHEMA_FILE_MAX bytes, at most GB_SCHEMA_MAX of them.  A
 * resource name used twice is an error naming the second file and
 * "resource".  An empty directory gives an empty schema.  Returns as
 * gb_schema_parse (err->file is "dir/name", or dir itself). */
enum gb_err gb_schema_load(const char *dir, struct gb_schema **out,
                           struct gb_schema_error *err);

/* Frees s and its resources (compiled patterns too); NULL is a no-op. */
void gb_schema_free(struct gb_schema *s);

/* Resources in load order; at() is NULL past the end. */
size_t gb_schema_count(const struct gb_schema *s);
const struct gb_resource *gb_schema_at(const struct gb_schema *s, size_t i);

/* The resource named name, or NULL (also for a NULL s or name). */
const struct gb_resource *gb_schema_find(const struct gb_schema *s, const char *name);

/* The column named name of r (declared or system), or NULL. */
const struct gb_column *gb_resource_column(const struct gb_resource *r, const char *name);

/* The declared column of a constraint name (a unique, foreign-key or check
 * constraint on that column alone), or NULL. */
const struct gb_column *gb_resource_constraint(const struct gb_resource *r,
                                               const char *constraint);

/* ---- values --------------------------------------------------------------- */

/* Checks v, a request body's value for c, against its type and limits.
 * Returns the text to bind ($n::cast) from arena a, or NULL with *why set
 * to a reason for the field's error (NULL v: absent, never passed; JSON
 * null: returns NULL with *why NULL when the column may be null, else a
 * reason).  *why is a static string or from a.  On ENOMEM: NULL with
 * *why "out of memory". */
const char *gb_column_json_value(const struct gb_column *c, json_t *v, struct gb_arena *a,
                                 const char **why);

/* Checks s, a value from a query string or a cursor, against c's type only
 * (a filter on a value past a limit is valid and matches nothing).
 * Returns the text to bind from a, or NULL with *why set. */
const char *gb_column_text_value(const struct gb_column *c, const char *s, struct gb_arena *a,
                                 const char **why);

/* Writes v as compact JSON into b, numbers exactly as parsed (integers as
 * themselves, reals in the fewest digits that read back the same double).
 * Returns 0, or -1 with b failed (memory, NaN or infinity, deeper than 64). */
int gb_schema_json_text(struct gb_buf *b, const json_t *v);

/* ---- the catalog ------------------------------------------------------------ */

/* What PostgreSQL says about one table (gb_schema_verify reads it). */
struct gb_catalog_column {
	const char *name;
	const char *type;            /* pg_type.typname: text, varchar, int4 ... */
	int varchar_max;             /* varchar(n): n; else -1 */
	bool not_null;
	bool has_default;
};

struct gb_catalog_policy {
	const char *name;
	bool permissive;
	char cmd;                    /* pg_policy.polcmd: '*', 'r', 'a', 'w', 'd' */
	bool has_using, using_tenant;    /* USING is the tenant expression */
	bool has_check, check_tenant;    /* WITH CHECK is */
};

struct gb_catalog_constraint {
	const char *name;
	char type;                   /* 'p', 'u', 'f', 'c', 'x' */
	const char *column;          /* its one column, NULL when several */
};

struct gb_catalog_table {
	bool exists;
	bool is_table;               /* ordinary or partitioned */
	bool rls, force_rls;
	bool runtime_owns;           /* the connected role is (a member of) its owner */
	bool role_bypasses_rls;      /* the connected role is superuser or BYPASSRLS */
	bool can_select, can_insert, can_update, can_delete;
	const struct gb_catalog_column *cols;
	size_t ncols;
	const struct gb_catalog_policy *policies;
	size_t npolicies;
	const struct gb_catalog_constraint *cons;
	size_t ncons;
};

/* The expression every permissive policy must use (USING and WITH CHECK),
 * as pg_get_expr() prints it with search_path pg_catalog. */
#define GB_SCHEMA_TENANT_EXPR "(company_id = gerbang.current_company())"

/* Checks resource i of s against t and records what it says (nullability,
 * defaults, json or jsonb, integer widths, constraints).  The table must
 * be an ordinary table with ENABLE and FORCE ROW LEVEL SECURITY, at least
 * one permissive policy for every command and only permissive policies on
 * the tenant expression, SELECT, INSERT, UPDATE and DELETE granted, not
 * owned by the connected role (which must not bypass row security); id
 * uuid, its primary key, with a default; company_id uuid NOT NULL;
 * version bigint NOT NULL with a default; created_at and updated_at
 * timestamptz NOT NULL with defaults; every declared column present with
 * a matching type (text: text or varchar(n) with max_length <= n;
 * integer: int2, int4, int8, bounded by the type; numeric; boolean; date;
 * timestamp: timestamptz; uuid; json: json or jsonb), and required when
 * NOT NULL without a default of either kind.  Returns GB_OK, GB_ECONFIG
 * with err naming the file and key ("table", "columns.due.type"), or
 * GB_ENOMEM. */
enum gb_err gb_schema_bind(struct gb_schema *s, size_t i, const struct gb_catalog_table *t,
                           struct gb_schema_error *err);

struct gb_db;

/* Reads the catalog for every resource of s through db (gb_db_exec, as the
 * connected role: the programs' runtime role) and binds it.  Returns GB_OK;
 * GB_ECONFIG as gb_schema_bind; GB_EDB or GB_ETIMEOUT when the database
 * could not be asked (err names no key and says why). */
enum gb_err gb_schema_verify(struct gb_schema *s, struct gb_db *db, struct gb_schema_error *err);

#endif
