/* gerbang-auth: login, refresh, logout and the caller's own record.
 *
 * Access tokens are short-lived JWTs; refresh tokens are opaque, stored
 * hashed, rotated on every use, and a reused one revokes its whole family
 * (whoever holds the newer token loses it too: the theft is contained).
 * Every failure of a login gives the same 401 after the same password work.
 */
#include "config.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "gb_buf.h"
#include "gb_db.h"
#include "gb_log.h"
#include "gb_password.h"
#include "gb_ratelimit.h"
#include "gb_serve.h"
#include "gb_sign.h"
#include "gb_token.h"
#include "gb_validate.h"

static const struct gb_stmt q_company_by_slug = {
	"company_by_slug", "SELECT gerbang.company_by_slug($1)", 1 };
static const struct gb_stmt q_company_by_refresh = {
	"company_by_refresh", "SELECT gerbang.company_by_refresh($1)", 1 };
static const struct gb_stmt q_user_by_email = {
	"user_by_email",
	"SELECT id, password_hash, role, disabled, platform_admin FROM gerbang.users "
	"WHERE email = lower($1)", 1 };
static const struct gb_stmt q_token_insert = {
	"token_insert",
	"INSERT INTO gerbang.refresh_tokens (user_id, family, token_hash, expires_at) "
	"VALUES ($1, coalesce($2::uuid, gen_random_uuid()), $3, "
	"now() + make_interval(secs => $4::int)) RETURNING id", 4 };
static const struct gb_stmt q_token_lock = {
	"token_lock",
	"SELECT t.id, t.user_id, t.family, t.expires_at > now(), "
	"t.revoked_at IS NOT NULL OR t.replaced_by IS NOT NULL, "
	"u.role, u.disabled, u.platform_admin "
	"FROM gerbang.refresh_tokens t JOIN gerbang.users u ON u.id = t.user_id "
	"WHERE t.token_hash = $1 FOR UPDATE OF t", 1 };
static const struct gb_stmt q_family_revoke = {
	"family_revoke",
	"UPDATE gerbang.refresh_tokens SET revoked_at = now() "
	"WHERE family = $1 AND revoked_at IS NULL", 1 };
static const struct gb_stmt q_token_replace = {
	"token_replace",
	"UPDATE gerbang.refresh_tokens SET revoked_at = now(), replaced_by = $2 WHERE id = $1", 2 };
static const struct gb_stmt q_logout = {
	"logout",
	"UPDATE gerbang.refresh_tokens SET revoked_at = now() WHERE family = "
	"(SELECT family FROM gerbang.refresh_tokens WHERE token_hash = $1) "
	"AND revoked_at IS NULL", 1 };
#define BAD_CREDENTIALS "invalid credentials"
#define BAD_REFRESH "invalid refresh token"

/* The company of a pre-tenant lookup (slug or refresh hash) into out;
 * 1 found, 0 unknown, -1 answered (database error). */
static int
company_of(struct gb_ctx *c, const struct gb_stmt *st, const char *arg, char out[64])
{
	struct gb_db *db = gb_ctx_db(c);
	PGresult *res;
	enum gb_err e;
	int found;

	if (db == NULL) {
		gb_fail_err(c, GB_ENOMEM);
		return -1;
	}
	e = gb_db_exec(db, st, (const char *const[]){ arg }, &res);
	if (e != GB_OK) {
		gb_log(GB_LOG_ERROR, c->req.request_id, "database error", "error",
		       gb_db_last_error(db), NULL);
		gb_fail_err(c, e == GB_ETIMEOUT ? GB_ETIMEOUT : GB_EDB);
		return -1;
	}
	found = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
	if (found)
		snprintf(out, 64, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return found;
}

/* A database failure inside a transaction: logged, rolled back, answered. */
static void
tx_failed(struct gb_ctx *c, struct gb_db *db, enum gb_err e)
{
	gb_log(GB_LOG_ERROR, c->req.request_id, "database error", "error",
	       gb_db_last_error(db), "sqlstate", gb_db_sqlstate(db), NULL);
	gb_db_tx_abort(db);
	gb_fail_err(c, e == GB_ETIMEOUT ? GB_ETIMEOUT : GB_EDB);
}

/* Issues the access token for claims and answers with both tokens. */
static void
answer_tokens(struct gb_ctx *c, struct gb_jwt_claims *claims, const char *refresh,
              const char *message)
{
	char access[GB_JWT_MAX + 1];

	if (gb_auth_issue(c->auth_keys, claims, access, sizeof(access)) != GB_OK) {
		gb_log(GB_LOG_ERROR, c->req.request_id, "cannot issue an access token", NULL);
		gb_fail(c, 500, "internal error", NULL);
		return;
	}
	c->company_id = gb_arena_strdup(c->arena, claims->company_id);
	gb_ok(c, 200, message,
	      json_pack("{s:s, s:s, s:I, s:s, s:I}", "access_token", access,
	                "token_type", "Bearer", "expires_in", (json_int_t)gb_auth_ttl(c->auth_keys),
	                "refresh_token", refresh,
	                "refresh_expires_in", (json_int_t)c->cfg->refresh_token_ttl_s));
	explicit_bzero(access, sizeof(access));
}

/* The login_account bucket's key: "acct:" and the SHA-256 of the company
 * slug and the email, both lowercased, so that Redis holds no address and
 * "Owner@Demo.test" shares the bucket of "owner@demo.test". */
static int
account_key(const char *company, const char *email, char out[8 + 65])
{
	char buf[64 + 1 + 255];
	size_t i, n = 0;

	for (i = 0; company[i] != '\0' && n < sizeof(buf) - 1; i++)
		buf[n++] = (char)tolower((unsigned char)company[i]);
	buf[n++] = '\n';
	for (i = 0; email[i] != '\0' && n < sizeof(buf); i++)
		buf[n++] = (char)tolower((unsigned char)email[i]);
	memcpy(out, "acct:", 5);
	return gb_sha256_hex(buf, n, out + 5) == GB_OK ? 0 : -1;
}

static void
login(struct gb_ctx *c)
{
	static const char *const allowed[] = { "company", "email", "password", NULL };
	const char *company, *email, *password;
	char cid[64], refresh[GB_TOKEN_LEN + 1], hash[GB_TOKEN_HASH_LEN + 1], ttl[24];
	char akey[8 + 65];
	struct gb_jwt_claims claims;
	json_t *j, *errors = NULL;
	PGresult *res = NULL;
	struct gb_db *db;
	enum gb_err e;
	int found;

	if ((j = gb_body_object(c, allowed, &errors)) == NULL)
		return;
	company = gb_v_string(j, "company", true, 1, 63, &errors);
	email = gb_v_string(j, "email", true, 3, 254, &errors);
	password = gb_v_string(j, "password", true, 1, GB_PASSWORD_MAX, &errors);
	if (errors != NULL) {
		gb_fail(c, 422, "invalid fields", errors);
		goto out;
	}
	/* Per account too (the pipeline limited the client address): guessing
	 * one account's password from many addresses stops here, for accounts
	 * that do not exist as much as for those that do. */
	if (account_key(company, email, akey) != 0) {
		gb_fail_err(c, GB_ENOMEM);
		goto out;
	}
	if (gb_rate_limit(c, GB_RL_LOGIN_ACCOUNT, NULL, akey) != GB_OK)
		goto out;
	found = company_of(c, &q_company_by_slug, company, cid);
	if (found < 0)
		goto out;
	if (found == 0) {
		gb_password_burn(password);
		goto denied;
	}
	db = gb_ctx_db(c);
	gb_db_tx_begin(db, cid);
	e = gb_db_tx_exec(db, &q_user_by_email, (const char *const[]){ email }, &res);
	if (e != GB_OK) {
		tx_failed(c, db, e);
		goto out;
	}
	if (PQntuples(res) != 1) {
		gb_db_tx_abort(db);
		gb_password_burn(password);
		goto denied;
	}
	/* Disabled users pay the same password work as everyone else. */
	if (!gb_password_verify(password, PQgetvalue(res, 0, 1)) ||
	    strcmp(PQgetvalue(res, 0, 3), "t") == 0) {
		gb_db_tx_abort(db);
		goto denied;
	}
	memset(&claims, 0, sizeof(claims));
	snprintf(claims.sub, sizeof(claims.sub), "%s", PQgetvalue(res, 0, 0));
	snprintf(claims.company_id, sizeof(claims.company_id), "%s", cid);
	snprintf(claims.role, sizeof(claims.role), "%s", PQgetvalue(res, 0, 2));
	claims.platform_admin = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
	PQclear(res);
	res = NULL;

	gb_token_new(refresh);
	if (gb_token_hash(refresh, hash) != GB_OK) {
		gb_db_tx_abort(db);
		gb_fail_err(c, GB_ENOMEM);
		goto out;
	}
	snprintf(ttl, sizeof(ttl), "%ld", c->cfg->refresh_token_ttl_s);
	e = gb_db_tx_exec(db, &q_token_insert,
	                  (const char *const[]){ claims.sub, NULL, hash, ttl }, &res);
	if (e == GB_OK)
		e = gb_db_tx_commit(db);
	if (e != GB_OK) {
		tx_failed(c, db, e);
		goto out;
	}
	answer_tokens(c, &claims, refresh, "logged in");
	goto out;
denied:
	gb_fail(c, 401, BAD_CREDENTIALS, NULL);
out:
	explicit_bzero(refresh, sizeof(refresh));
	PQclear(res);
	json_decref(j);
}

static void
refresh_token(struct gb_ctx *c)
{
	static const char *const allowed[] = { "refresh_token", NULL };
	char cid[64], fresh[GB_TOKEN_LEN + 1], hash[GB_TOKEN_HASH_LEN + 1],
	     newhash[GB_TOKEN_HASH_LEN + 1], ttl[24], old_id[64], family[64];
	struct gb_jwt_claims claims;
	json_t *j, *errors = NULL;
	PGresult *res = NULL;
	const char *token;
	struct gb_db *db;
	enum gb_err e;
	int found;

	fresh[0] = '\0';
	if ((j = gb_body_object(c, allowed, &errors)) == NULL)
		return;
	token = gb_v_string(j, "refresh_token", true, 1, 256, &errors);
	if (errors != NULL) {
		gb_fail(c, 422, "invalid fields", errors);
		goto out;
	}
	if (!gb_token_valid(token) || gb_token_hash(token, hash) != GB_OK)
		goto denied;
	found = company_of(c, &q_company_by_refresh, hash, cid);
	if (found < 0)
		goto out;
	if (found == 0)
		goto denied;
	db = gb_ctx_db(c);
	gb_db_tx_begin(db, cid);
	e = gb_db_tx_exec(db, &q_token_lock, (const char *const[]){ hash }, &res);
	if (e != GB_OK) {
		tx_failed(c, db, e);
		goto out;
	}
	if (PQntuples(res) != 1) {
		gb_db_tx_abort(db);
		goto denied;
	}
	snprintf(old_id, sizeof(old_id), "%s", PQgetvalue(res, 0, 0));
	snprintf(family, sizeof(family), "%s", PQgetvalue(res, 0, 2));
	memset(&claims, 0, sizeof(claims));
	snprintf(claims.sub, sizeof(claims.sub), "%s", PQgetvalue(res, 0, 1));
	snprintf(claims.company_id, sizeof(claims.company_id), "%s", cid);
	snprintf(claims.role, sizeof(claims.role), "%s", PQgetvalue(res, 0, 5));
	claims.platform_admin = strcmp(PQgetvalue(res, 0, 7), "t") == 0;
	if (strcmp(PQgetvalue(res, 0, 4), "t") == 0 || strcmp(PQgetvalue(res, 0, 6), "t") == 0) {
		/* Reuse of a rotated or revoked token, or a disabled user: the
		 * whole family goes. */
		int reuse = strcmp(PQgetvalue(res, 0, 4), "t") == 0;

		PQclear(res);
		res = NULL;
		e = gb_db_tx_exec(db, &q_family_revoke, (const char *const[]){ family }, &res);
		if (e == GB_OK)
			e = gb_db_tx_commit(db);
		if (e != GB_OK) {
			tx_failed(c, db, e);
			goto out;
		}
		gb_log(GB_LOG_WARN, c->req.request_id, reuse ?
		       "refresh token reused: family revoked" : "refresh for a disabled user",
		       "company_id", cid, "user_id", claims.sub, NULL);
		goto denied;
	}
	if (strcmp(PQgetvalue(res, 0, 3), "t") != 0) {
		gb_db_tx_abort(db);
		goto denied;    /* expired */
	}
	PQclear(res);
	res = NULL;

	gb_token_new(fresh);
	if (gb_token_hash(fresh, newhash) != GB_OK) {
		gb_db_tx_abort(db);
		gb_fail_err(c, GB_ENOMEM);
		goto out;
	}
	snprintf(ttl, sizeof(ttl), "%ld", c->cfg->refresh_token_ttl_s);
	e = gb_db_tx_exec(db, &q_token_insert,
	                  (const char *const[]){ claims.sub, family, newhash, ttl }, &res);
	if (e == GB_OK) {
		const char *new_id = gb_arena_strdup(c->arena, PQgetvalue(res, 0, 0));

		PQclear(res);
		res = NULL;
		e = gb_db_tx_exec(db, &q_token_replace, (const char *const[]){ old_id, new_id },
		                  &res);
	}
	if (e == GB_OK)
		e = gb_db_tx_commit(db);
	if (e != GB_OK) {
		tx_failed(c, db, e);
		goto out;
	}
	answer_tokens(c, &claims, fresh, "refreshed");
	goto out;
denied:
	gb_fail(c, 401, BAD_REFRESH, NULL);
out:
	explicit_bzero(fresh, sizeof(fresh));
	PQclear(res);
	json_decref(j);
}

static void
logout(struct gb_ctx *c)
{
	static const char *const allowed[] = { "refresh_token", NULL };
	char cid[64], hash[GB_TOKEN_HASH_LEN + 1];
	json_t *j, *errors = NULL;
	PGresult *res = NULL;
	const char *token;
	enum gb_err e;
	int found;

	if ((j = gb_body_object(c, allowed, &errors)) == NULL)
		return;
	token = gb_v_string(j, "refresh_token", true, 1, 256, &errors);
	if (errors != NULL) {
		gb_fail(c, 422, "invalid fields", errors);
		goto out;
	}
	/* The same answer whether or not the token was known: logout says
	 * nothing about which tokens exist. */
	if (gb_token_valid(token) && gb_token_hash(token, hash) == GB_OK) {
		found = company_of(c, &q_company_by_refresh, hash, cid);
		if (found < 0)
			goto out;
		if (found == 1) {
			e = gb_db_tenant(gb_ctx_db(c), cid, &q_logout, (const char *const[]){ hash },
			                 &res);
			if (e != GB_OK) {
				gb_fail_err(c, e == GB_ETIMEOUT ? GB_ETIMEOUT : GB_EDB);
				goto out;
			}
		}
	}
	gb_ok(c, 200, "logged out", NULL);
out:
	PQclear(res);
	json_decref(j);
}

/* The caller as its access token says, verified, without a database read:
 * a token is the short-lived statement of who the caller is (a disabled
 * user's tokens lapse within ACCESS_TOKEN_TTL_S; refresh is refused at once). */
static void
me(struct gb_ctx *c)
{
	/* Every field is from the verified token; written as text, without a
	 * json_t, as this route is the cheapest authenticated call there is. */
	struct gb_buf b = GB_BUF_INIT;

	gb_buf_puts(&b, "{\"id\":");
	gb_buf_json_str(&b, c->auth.sub, strlen(c->auth.sub));
	gb_buf_puts(&b, ",\"company_id\":");
	gb_buf_json_str(&b, c->auth.company_id, strlen(c->auth.company_id));
	gb_buf_puts(&b, ",\"role\":");
	gb_buf_json_str(&b, c->auth.role, strlen(c->auth.role));
	gb_buf_puts(&b, c->auth.platform_admin ? ",\"platform_admin\":true,\"expires_at\":" :
	            ",\"platform_admin\":false,\"expires_at\":");
	gb_buf_put_u64(&b, c->auth.exp > 0 ? (unsigned long long)c->auth.exp : 0);
	gb_buf_putc(&b, '}');
	if (gb_buf_failed(&b))
		gb_fail_err(c, GB_ENOMEM);
	else
		gb_ok_raw(c, 200, "you", b.data, b.len);
	gb_buf_free(&b);
}

static const struct gb_route routes[] = {
	{ "POST", "/v1/auth/login", login, GB_PUBLIC, 0, GB_RL_LOGIN_IP },
	{ "POST", "/v1/auth/refresh", refresh_token, GB_PUBLIC, 0, GB_RL_LOGIN_IP },
	{ "POST", "/v1/auth/logout", logout, GB_PUBLIC, 0, NULL },
	{ "GET", "/v1/me", me, GB_JWT, 0, NULL },
};

static const struct gb_app app = {
	.name = "gerbang-auth",
	.service = "auth",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.signs_tokens = true,
};

int
main(int argc, char **argv)
{
	return gb_serve_main(argc, argv, &app);
}
