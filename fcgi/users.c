/* gerbang-users: the users of the caller's company, and the companies
 * themselves for the platform operator.
 *
 * The company is the token's, always: no body, query or header names one.
 * Every user statement runs under row-level security for that company, so
 * the id of another company's user is simply not found (404, never 403).
 * Checks that depend on the target row (an admin may not touch an owner, the
 * last active owner stays) run in one transaction with the rows they read
 * locked FOR UPDATE, so two concurrent requests cannot both pass them.  The
 * caller's role is the token's (as for the route policy); tokens are short
 * lived.
 */
#include "config.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "gb_db.h"
#include "gb_envelope.h"
#include "gb_log.h"
#include "gb_password.h"
#include "gb_serve.h"
#include "gb_validate.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 200    /* also gerbang.company_list's own bound */
#define PASSWORD_MIN 8

/* What a user looks like to clients: never the password hash. */
#define USER_COLS \
	"id, email, role, disabled, platform_admin, " \
	"to_json(created_at) #>> '{}', to_json(updated_at) #>> '{}'"

static const struct gb_stmt q_user_list = {
	"user_list",
	"SELECT " USER_COLS " FROM gerbang.users "
	"WHERE $1::uuid IS NULL OR id > $1::uuid ORDER BY id LIMIT $2::int", 2 };
static const struct gb_stmt q_user_get = {
	"user_get", "SELECT " USER_COLS " FROM gerbang.users WHERE id = $1::uuid", 1 };
/* company_id defaults to gerbang.current_company(): the token's. */
static const struct gb_stmt q_user_insert = {
	"user_insert",
	"INSERT INTO gerbang.users (email, password_hash, role) VALUES (lower($1), $2, $3) "
	"RETURNING " USER_COLS, 3 };
/* The target alone, or the target and every active owner: locked in id
 * order, so concurrent demotions queue instead of deadlocking, and a row
 * changed by the one before no longer counts once its lock is granted. */
static const struct gb_stmt q_lock_target = {
	"lock_target",
	"SELECT id, role, disabled FROM gerbang.users WHERE id = $1::uuid FOR UPDATE", 1 };
static const struct gb_stmt q_lock_owners = {
	"lock_owners",
	"SELECT id, role, disabled FROM gerbang.users "
	"WHERE id = $1::uuid OR (role = 'owner' AND NOT disabled) ORDER BY id FOR UPDATE", 1 };
static const struct gb_stmt q_user_update = {
	"user_update",
	"UPDATE gerbang.users SET email = coalesce(lower($2), email), "
	"password_hash = coalesce($3, password_hash), role = coalesce($4, role), "
	"disabled = coalesce($5::boolean, disabled), updated_at = now() "
	"WHERE id = $1::uuid RETURNING " USER_COLS, 5 };
/* A new password or a disabled account ends every session of the user. */
static const struct gb_stmt q_sessions_revoke = {
	"sessions_revoke",
	"UPDATE gerbang.refresh_tokens SET revoked_at = now() "
	"WHERE user_id = $1::uuid AND revoked_at IS NULL", 1 };
static const struct gb_stmt q_user_delete = {
	"user_delete", "DELETE FROM gerbang.users WHERE id = $1::uuid", 1 };
static const struct gb_stmt q_company_create = {
	"company_create",
	"SELECT id, slug, name, to_json(created_at) #>> '{}' "
	"FROM gerbang.company_create($1, $2)", 2 };
static const struct gb_stmt q_company_list = {
	"company_list",
	"SELECT id, slug, name, to_json(created_at) #>> '{}' "
	"FROM gerbang.company_list($1::uuid, $2::int)", 2 };

#define NO_SUCH_USER "no such user"
#define NO_SELF_ESCALATION "no self-escalation"

/* The 409s a unique constraint turns into, by constraint name. */
static const struct {
	const char *constraint;
	const char *field;
} conflicts[] = {
	{ "users_email_unique", "email" },
	{ "companies_slug_key", "slug" },
};

/* The thread's database handle; answers 500 and returns NULL on ENOMEM. */
static struct gb_db *
db_of(struct gb_ctx *c)
{
	struct gb_db *db = gb_ctx_db(c);

	if (db == NULL)
		gb_fail_err(c, GB_ENOMEM);
	return db;
}

/* A failed statement, in or out of a transaction: rolled back, answered.
 * A duplicate names its field (409); anything but a constraint is logged
 * and is 503/504. */
static void
db_failed(struct gb_ctx *c, struct gb_db *db, enum gb_err e)
{
	size_t i;

	gb_db_tx_abort(db);
	if (e == GB_ECONFLICT) {
		for (i = 0; i < sizeof(conflicts) / sizeof(conflicts[0]); i++)
			if (strcmp(gb_db_constraint(db), conflicts[i].constraint) == 0)
				break;
		gb_fail(c, 409, "conflict", i < sizeof(conflicts) / sizeof(conflicts[0]) ?
		        gb_field_error(NULL, conflicts[i].field, "already exists") : NULL);
		return;
	}
	gb_log(e == GB_EVALIDATION ? GB_LOG_WARN : GB_LOG_ERROR, c->req.request_id,
	       "database error", "error", gb_db_last_error(db), "sqlstate", gb_db_sqlstate(db),
	       "constraint", gb_db_constraint(db), NULL);
	if (e == GB_EVALIDATION)
		gb_fail(c, 422, "invalid values", NULL);
	else
		gb_fail_err(c, e == GB_ETIMEOUT ? GB_ETIMEOUT : GB_EDB);
}

/* The {id} of the path as a lowercase UUID in out, false when it is none
 * (then no row can have it: the caller answers 404 without a query). */
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

/* ?limit= and ?cursor= of a list.  Returns 0, or -1 after answering 422
 * with every bad parameter named.  Other parameters are ignored. */
static int
page_args(struct gb_ctx *c, long *limit, const char **cursor)
{
	const char *l = gb_query_get(&c->req.query, "limit");
	const char *cur = gb_query_get(&c->req.query, "cursor");
	json_t *errors = NULL;

	*limit = PAGE_DEFAULT;
	*cursor = NULL;
	if (l != NULL && gb_parse_long(l, 1, PAGE_MAX, limit) != GB_OK)
		gb_v_error(&errors, "limit", "must be a whole number from 1 to 200");
	if (cur != NULL) {
		/* The cursor is the last id of the previous page. */
		if (gb_v_uuid(cur))
			*cursor = cur;
		else
			gb_v_error(&errors, "cursor", "is not a valid cursor");
	}
	if (errors != NULL) {
		gb_fail(c, 422, "invalid query", errors);
		return -1;
	}
	return 0;
}

static json_t *
page_meta(long limit, const char *next_cursor)
{
	return json_pack("{s:I, s:s?}", "limit", (json_int_t)limit, "next_cursor", next_cursor);
}

static bool
is_true(const PGresult *res, int row, int col)
{
	return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

/* Row row of a USER_COLS result. */
static json_t *
user_json(const PGresult *res, int row)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:b, s:s, s:s}",
	                 "id", PQgetvalue(res, row, 0), "email", PQgetvalue(res, row, 1),
	                 "role", PQgetvalue(res, row, 2), "disabled", is_true(res, row, 3),
	                 "platform_admin", is_true(res, row, 4),
	                 "created_at", PQgetvalue(res, row, 5),
	                 "updated_at", PQgetvalue(res, row, 6));
}

static json_t *
company_json(const PGresult *res, int row)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "id", PQgetvalue(res, row, 0),
	                 "slug", PQgetvalue(res, row, 1), "name", PQgetvalue(res, row, 2),
	                 "created_at", PQgetvalue(res, row, 3));
}

/* Answers one page from res, which holds up to limit + 1 rows: the extra
 * row only says that there is a next page. */
static void
answer_page(struct gb_ctx *c, const PGresult *res, long limit, const char *message,
            json_t *(*row_json)(const PGresult *, int), bool more)
{
	int n = PQntuples(res), i;
	json_t *data = json_array();

	if (n > limit) {
		n = (int)limit;
		more = true;
	}
	for (i = 0; data != NULL && i < n; i++)
		if (json_array_append_new(data, row_json(res, i)) != 0) {
			json_decref(data);
			data = NULL;
		}
	if (data == NULL) {
		gb_fail_err(c, GB_ENOMEM);
		return;
	}
	gb_ok_list(c, 200, message, data,
	           page_meta(limit, more && n > 0 ? PQgetvalue(res, n - 1, 0) : NULL));
}

/* ---- users ------------------------------------------------------------ */

static bool
caller_is_admin(const struct gb_ctx *c)
{
	return (gb_role_bit(c->auth.role) & GB_ROLES_ADMIN) != 0;
}

static bool
caller_is_owner(const struct gb_ctx *c)
{
	return gb_role_bit(c->auth.role) == GB_ROLE_OWNER;
}

/* email, password and role of a body, each checked when present (or when
 * required); every failure goes into *errors. */
static void
user_fields(json_t *j, bool required, const char **email, const char **password,
            const char **role, json_t **errors)
{
	*email = gb_v_string(j, "email", required, 3, 254, errors);
	if (*email != NULL && !gb_v_email(*email)) {
		gb_v_error(errors, "email", "is not a valid email address");
		*email = NULL;
	}
	*password = gb_v_string(j, "password", required, PASSWORD_MIN, GB_PASSWORD_MAX, errors);
	*role = gb_v_string(j, "role", required, 1, 15, errors);
	if (*role != NULL && gb_role_bit(*role) == 0) {
		gb_v_error(errors, "role", "must be one of owner, admin, member, viewer");
		*role = NULL;
	}
}

/* Hashes password into hash; answers 500 and returns false on failure. */
static bool
hash_password(struct gb_ctx *c, const char *password, char hash[GB_PASSWORD_HASH_SIZE])
{
	enum gb_err e = gb_password_hash(password, hash, GB_PASSWORD_HASH_SIZE);

	if (e != GB_OK) {
		gb_log(GB_LOG_ERROR, c->req.request_id, "cannot hash a password",
		       "error", gb_strerror(e), NULL);
		gb_fail(c, 500, "internal error", NULL);
		return false;
	}
	return true;
}

static void
user_list(struct gb_ctx *c)
{
	struct gb_db *db;
	const char *cursor;
	PGresult *res = NULL;
	char lim[24];
	long limit;
	enum gb_err e;

	if (page_args(c, &limit, &cursor) != 0 || (db = db_of(c)) == NULL)
		return;
	snprintf(lim, sizeof(lim), "%ld", limit + 1);
	e = gb_db_tenant(db, c->company_id, &q_user_list, (const char *const[]){ cursor, lim },
	                 &res);
	if (e != GB_OK) {
		db_failed(c, db, e);
		return;
	}
	answer_page(c, res, limit, "users", user_json, false);
	PQclear(res);
}

static void
user_get(struct gb_ctx *c)
{
	struct gb_db *db;
	PGresult *res = NULL;
	char id[37];
	enum gb_err e;

	if (!path_id(c, id)) {
		gb_fail(c, 404, NO_SUCH_USER, NULL);
		return;
	}
	if ((db = db_of(c)) == NULL)
		return;
	e = gb_db_tenant(db, c->company_id, &q_user_get, (const char *const[]){ id }, &res);
	if (e != GB_OK) {
		db_failed(c, db, e);
		return;
	}
	if (PQntuples(res) != 1)
		gb_fail(c, 404, NO_SUCH_USER, NULL);
	else if (!caller_is_admin(c) && strcmp(id, c->auth.sub) != 0)
		gb_fail(c, 403, "forbidden", NULL);
	else
		gb_ok(c, 200, "user", user_json(res, 0));
	PQclear(res);
}

static void
user_create(struct gb_ctx *c)
{
	static const char *const allowed[] = { "email", "password", "role", NULL };
	const char *email, *password, *role;
	char hash[GB_PASSWORD_HASH_SIZE];
	json_t *j, *errors = NULL;
	PGresult *res = NULL;
	struct gb_db *db;
	enum gb_err e;

	hash[0] = '\0';
	if ((j = gb_body_object(c, allowed, &errors)) == NULL)
		return;
	user_fields(j, true, &email, &password, &role, &errors);
	if (errors != NULL) {
		gb_fail(c, 422, "invalid fields", errors);
		goto out;
	}
	if (strcmp(role, "owner") == 0 && !caller_is_owner(c)) {
		gb_fail(c, 403, "only an owner may create an owner", NULL);
		goto out;
	}
	if (!hash_password(c, password, hash) || (db = db_of(c)) == NULL)
		goto out;
	e = gb_db_tenant(db, c->company_id, &q_user_insert,
	                 (const char *const[]){ email, hash, role }, &res);
	if (e != GB_OK) {
		db_failed(c, db, e);
		goto out;
	}
	gb_log(GB_LOG_INFO, c->req.request_id, "user created", "company_id", c->company_id,
	       "user_id", PQgetvalue(res, 0, 0), "by", c->auth.sub, NULL);
	gb_ok(c, 201, "user created", user_json(res, 0));
out:
	explicit_bzero(hash, sizeof(hash));
	PQclear(res);
	json_decref(j);
}

/* The target of a change as the lock query found it. */
struct target {
	bool found;
	char role[16];
	bool disabled;
	int other_owners;       /* active owners besides the target */
};

static void
read_target(const PGresult *res, const char *id, struct target *t)
{
	int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < PQntuples(res); i++) {
		if (strcmp(PQgetvalue(res, i, 0), id) == 0) {
			t->found = true;
			snprintf(t->role, sizeof(t->role), "%s", PQgetvalue(res, i, 1));
			t->disabled = is_true(res, i, 2);
		} else if (strcmp(PQgetvalue(res, i, 1), "owner") == 0 && !is_true(res, i, 2)) {
			t->other_owners++;
		}
	}
}

static bool
is_last_owner(const struct target *t)
{
	return strcmp(t->role, "owner") == 0 && !t->disabled && t->other_owners == 0;
}

/* What a PATCH asks for; NULL / -1 where a field is absent. */
struct change {
	const char *email, *password, *role;
	int disabled;
};

/* The rules of a change by the caller to target id, in order.  Returns
 * 0 when allowed, else the status it answered (403 or 409). */
static int
change_denied(struct gb_ctx *c, const char *id, const struct change *ch,
              const struct target *t)
{
	bool self = strcmp(id, c->auth.sub) == 0, admin = caller_is_admin(c);
	bool owner = caller_is_owner(c), target_owner = strcmp(t->role, "owner") == 0;
	bool role_change = ch->role != NULL && strcmp(ch->role, t->role) != 0;

	if (!self && !admin) {
		gb_fail(c, 403, "forbidden", NULL);
		return 403;
	}
	if ((ch->role != NULL || ch->disabled >= 0) && !admin) {
		gb_fail(c, 403, "only an owner or an admin may change role or disabled", NULL);
		return 403;
	}
	if (self && (role_change || ch->disabled == 1)) {
		gb_fail(c, 403, NO_SELF_ESCALATION, gb_field_error(NULL, role_change ? "role" :
		        "disabled", role_change ? "you cannot change your own role" :
		        "you cannot disable yourself"));
		return 403;
	}
	if (!owner && !self && target_owner) {
		gb_fail(c, 403, "an admin cannot modify an owner", NULL);
		return 403;
	}
	if (!owner && role_change && strcmp(ch->role, "owner") == 0) {
		gb_fail(c, 403, "an admin cannot grant owner", NULL);
		return 403;
	}
	if (is_last_owner(t) && (role_change || ch->disabled == 1)) {
		gb_fail(c, 409, "the last owner cannot be demoted or disabled", NULL);
		return 409;
	}
	return 0;
}

static void
user_patch(struct gb_ctx *c)
{
	static const char *const allowed[] = { "email", "password", "role", "disabled", NULL };
	char id[37], hash[GB_PASSWORD_HASH_SIZE];
	json_t *j = NULL, *errors = NULL;
	struct change ch = { NULL, NULL, NULL, -1 };
	struct target t;
	PGresult *res = NULL;
	struct gb_db *db;
	json_t *v;
	enum gb_err e;

	hash[0] = '\0';
	if (!path_id(c, id)) {
		gb_fail(c, 404, NO_SUCH_USER, NULL);
		return;
	}
	if ((j = gb_body_object(c, allowed, &errors)) == NULL)
		return;
	user_fields(j, false, &ch.email, &ch.password, &ch.role, &errors);
	if ((v = json_object_get(j, "disabled")) != NULL)
		ch.disabled = gb_v_bool(j, "disabled", true, false, &errors) ? 1 : 0;
	if (errors == NULL && ch.email == NULL && ch.password == NULL && ch.role == NULL &&
	    ch.disabled < 0)
		gb_v_error(&errors, "body", "names none of email, password, role, disabled");
	if (errors != NULL) {
		gb_fail(c, 422, "invalid fields", errors);
		goto out;
	}
	/* Hashed before the transaction: its locks are held for queries only. */
	if (ch.password != NULL && !hash_password(c, ch.password, hash))
		goto out;
	if ((db = db_of(c)) == NULL)
		goto out;

	gb_db_tx_begin(db, c->company_id);
	e = gb_db_tx_exec(db, ch.role != NULL || ch.disabled >= 0 ? &q_lock_owners :
	                  &q_lock_target, (const char *const[]){ id }, &res);
	if (e != GB_OK) {
		db_failed(c, db, e);
		goto out;
	}
	read_target(res, id, &t);
	PQclear(res);
	res = NULL;
	if (!t.found) {
		gb_db_tx_abort(db);
		gb_fail(c, 404, NO_SUCH_USER, NULL);
		goto out;
	}
	if (change_denied(c, id, &ch, &t) != 0) {
		gb_db_tx_abort(db);
		goto out;
	}
	e = gb_db_tx_exec(db, &q_user_update, (const char *const[]){ id, ch.email,
	                  ch.password != NULL ? hash : NULL, ch.role,
	                  ch.disabled < 0 ? NULL : ch.disabled ? "true" : "false" }, &res);
	if (e == GB_OK && (ch.password != NULL || ch.disabled == 1)) {
		PGresult *r2 = NULL;

		e = gb_db_tx_exec(db, &q_sessions_revoke, (const char *const[]){ id }, &r2);
		PQclear(r2);
	}
	if (e == GB_OK)
		e = gb_db_tx_commit(db);
	if (e != GB_OK) {
		db_failed(c, db, e);
		goto out;
	}
	gb_log(GB_LOG_INFO, c->req.request_id, "user updated", "company_id", c->company_id,
	       "user_id", id, "by", c->auth.sub, NULL);
	gb_ok(c, 200, "user updated", user_json(res, 0));
out:
	explicit_bzero(hash, sizeof(hash));
	PQclear(res);
	json_decref(j);
}

static void
user_delete(struct gb_ctx *c)
{
	struct gb_db *db;
	PGresult *res = NULL;
	struct target t;
	char id[37];
	enum gb_err e;

	if (!path_id(c, id)) {
		gb_fail(c, 404, NO_SUCH_USER, NULL);
		return;
	}
	if ((db = db_of(c)) == NULL)
		return;
	gb_db_tx_begin(db, c->company_id);
	e = gb_db_tx_exec(db, &q_lock_owners, (const char *const[]){ id }, &res);
	if (e != GB_OK) {
		db_failed(c, db, e);
		return;
	}
	read_target(res, id, &t);
	PQclear(res);
	res = NULL;
	if (!t.found) {
		gb_fail(c, 404, NO_SUCH_USER, NULL);
		goto denied;
	}
	if (strcmp(id, c->auth.sub) == 0) {
		gb_fail(c, 403, "you cannot delete yourself", NULL);
		goto denied;
	}
	if (!caller_is_owner(c) && strcmp(t.role, "owner") == 0) {
		gb_fail(c, 403, "an admin cannot delete an owner", NULL);
		goto denied;
	}
	if (is_last_owner(&t)) {
		gb_fail(c, 409, "the last owner cannot be deleted", NULL);
		goto denied;
	}
	e = gb_db_tx_exec(db, &q_user_delete, (const char *const[]){ id }, &res);
	PQclear(res);
	if (e == GB_OK)
		e = gb_db_tx_commit(db);
	if (e != GB_OK) {
		db_failed(c, db, e);
		return;
	}
	gb_log(GB_LOG_INFO, c->req.request_id, "user deleted", "company_id", c->company_id,
	       "user_id", id, "by", c->auth.sub, NULL);
	gb_ok(c, 200, "deleted", NULL);
	return;
denied:
	gb_db_tx_abort(db);
}

/* ---- companies (platform admins) -------------------------------------- */

/* ^[a-z0-9][a-z0-9-]{0,62}$, as the table's CHECK says. */
static bool
valid_slug(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      (s[i] == '-' && i > 0)))
			return false;
	return i >= 1 && i <= 63;
}

/* Characters (code points) of a valid UTF-8 string. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void
company_create(struct gb_ctx *c)
{
	static const char *const allowed[] = { "slug", "name", NULL };
	const char *slug, *name;
	json_t *j, *errors = NULL;
	PGresult *res = NULL;
	struct gb_db *db;
	enum gb_err e;

	if ((j = gb_body_object(c, allowed, &errors)) == NULL)
		return;
	slug = gb_v_string(j, "slug", true, 1, 63, &errors);
	if (slug != NULL && !valid_slug(slug))
		gb_v_error(&errors, "slug", "must match ^[a-z0-9][a-z0-9-]{0,62}$");
	/* 200 characters, up to 4 bytes each */
	name = gb_v_string(j, "name", true, 1, 800, &errors);
	if (name != NULL && utf8_chars(name) > 200)
		gb_v_error(&errors, "name", "is too long");
	if (errors != NULL) {
		gb_fail(c, 422, "invalid fields", errors);
		goto out;
	}
	if ((db = db_of(c)) == NULL)
		goto out;
	e = gb_db_exec(db, &q_company_create, (const char *const[]){ slug, name }, &res);
	if (e != GB_OK) {
		db_failed(c, db, e);
		goto out;
	}
	gb_log(GB_LOG_INFO, c->req.request_id, "company created",
	       "new_company_id", PQgetvalue(res, 0, 0), "by", c->auth.sub, NULL);
	gb_ok(c, 201, "company created", company_json(res, 0));
out:
	PQclear(res);
	json_decref(j);
}

static void
company_list(struct gb_ctx *c)
{
	struct gb_db *db;
	const char *cursor;
	PGresult *res = NULL, *probe = NULL;
	char lim[24];
	long limit;
	bool more = false;
	enum gb_err e;

	if (page_args(c, &limit, &cursor) != 0 || (db = db_of(c)) == NULL)
		return;
	/* gerbang.company_list returns at most PAGE_MAX rows, so a full page
	 * is followed by a probe for one more instead of asking limit + 1. */
	snprintf(lim, sizeof(lim), "%ld", limit);
	e = gb_db_exec(db, &q_company_list, (const char *const[]){ cursor, lim }, &res);
	if (e == GB_OK && PQntuples(res) == limit) {
		e = gb_db_exec(db, &q_company_list,
		               (const char *const[]){ PQgetvalue(res, (int)limit - 1, 0), "1" },
		               &probe);
		more = e == GB_OK && PQntuples(probe) > 0;
	}
	if (e != GB_OK)
		db_failed(c, db, e);
	else
		answer_page(c, res, limit, "companies", company_json, more);
	PQclear(probe);
	PQclear(res);
}

static const struct gb_route routes[] = {
	{ "GET", "/v1/users", user_list, GB_JWT, GB_ROLES_ADMIN, NULL },
	{ "POST", "/v1/users", user_create, GB_JWT, GB_ROLES_ADMIN, NULL },
	{ "GET", "/v1/users/{id}", user_get, GB_JWT, 0, NULL },
	{ "PATCH", "/v1/users/{id}", user_patch, GB_JWT, 0, NULL },
	{ "DELETE", "/v1/users/{id}", user_delete, GB_JWT, GB_ROLES_ADMIN, NULL },
	{ "GET", "/v1/companies", company_list, GB_JWT, GB_ROLE_PLATFORM, NULL },
	{ "POST", "/v1/companies", company_create, GB_JWT, GB_ROLE_PLATFORM, NULL },
};

static const struct gb_app app = {
	.name = "gerbang-users",
	.service = "users",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
};

int
main(int argc, char **argv)
{
	return gb_serve_main(argc, argv, &app);
}
