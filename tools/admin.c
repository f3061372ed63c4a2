/* gerbang-admin: the operator's command line for companies, users, access
 * tokens and the configuration.
 *
 *   gerbang-admin company create SLUG NAME | show SLUG | list
 *   gerbang-admin user create --company SLUG --email EMAIL --role ROLE [--platform-admin]
 *   gerbang-admin user set-password|disable|enable|show --company SLUG --email EMAIL
 *   gerbang-admin user list --company SLUG
 *   gerbang-admin token issue --company SLUG --email EMAIL
 *   gerbang-admin check-config [--database]
 *
 * It reads the programs' own environment (gb_config_load) and connects with
 * DATABASE_URL, the runtime role, and does what the gateway does: companies
 * through the security-definer functions, everything else in tenant
 * transactions under row-level security.  No owner privilege is needed.
 * Passwords come from the first line of standard input, never from the
 * command line (any local user can read another's argv in /proc).
 *
 * Exit statuses (sysexits.h): 0; 1 the operation failed; 64 usage; 69 the
 * database is unreachable; 78 configuration.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "gb_auth.h"
#include "gb_config.h"
#include "gb_db.h"
#include "gb_edge.h"
#include "gb_jwt.h"
#include "gb_llm.h"
#include "gb_password.h"
#include "gb_plugin.h"
#include "gb_redis.h"
#include "gb_schema.h"
#include "gb_serve.h"
#include "gb_task.h"
#include "gb_validate.h"

#define PROG "gerbang-admin"
#define EX_FAILED 1
/* Shortest password accepted here; the gateway itself only refuses empty ones. */
#define PASSWORD_MIN 8
/* Rows per page of gerbang.company_list (its own maximum). */
#define COMPANY_PAGE 200
#define STR_(x) #x
#define STR(x) STR_(x)

/* ---- statements --------------------------------------------------------- */

static const struct gb_stmt q_company_by_slug = {
	"company_by_slug", "SELECT gerbang.company_by_slug($1)", 1 };
static const struct gb_stmt q_company_create = {
	"company_create", "SELECT id FROM gerbang.company_create($1, $2)", 2 };
static const struct gb_stmt q_company_list = {
	"company_list",
	"SELECT id, slug, name, to_json(created_at) #>> '{}' "
	"FROM gerbang.company_list($1, " STR(COMPANY_PAGE) ")", 1 };
static const struct gb_stmt q_company_get = {
	"company_get",
	"SELECT id, slug, name, to_json(created_at) #>> '{}' FROM gerbang.companies "
	"WHERE id = $1", 1 };

#define USER_COLUMNS \
	"id, email, role, CASE WHEN disabled THEN 'disabled' ELSE 'enabled' END, " \
	"CASE WHEN platform_admin THEN 'platform-admin' ELSE '-' END, " \
	"to_json(created_at) #>> '{}'"
enum { U_ID, U_EMAIL, U_ROLE, U_STATE, U_PLATFORM, U_CREATED, U_NCOLS };

static const struct gb_stmt q_user_insert = {
	"user_insert",
	"INSERT INTO gerbang.users (company_id, email, password_hash, role, platform_admin) "
	"VALUES ($1, lower($2), $3, $4, $5::boolean) RETURNING id", 5 };
static const struct gb_stmt q_user_get = {
	"user_get",
	"SELECT " USER_COLUMNS " FROM gerbang.users WHERE company_id = $1 AND email = lower($2)", 2 };
static const struct gb_stmt q_user_list = {
	"user_list",
	"SELECT " USER_COLUMNS " FROM gerbang.users WHERE company_id = $1 ORDER BY email", 1 };
static const struct gb_stmt q_user_password = {
	"user_password",
	"UPDATE gerbang.users SET password_hash = $3, updated_at = now() "
	"WHERE company_id = $1 AND email = lower($2) RETURNING id", 3 };
static const struct gb_stmt q_user_disabled = {
	"user_disabled",
	"UPDATE gerbang.users SET disabled = $3::boolean, updated_at = now() "
	"WHERE company_id = $1 AND email = lower($2) RETURNING id", 3 };
static const struct gb_stmt q_tokens_revoke = {
	"tokens_revoke",
	"UPDATE gerbang.refresh_tokens SET revoked_at = now() "
	"WHERE user_id = $1 AND revoked_at IS NULL", 1 };

/* ---- the command table -------------------------------------------------- */

enum { O_COMPANY = 1u << 0, O_EMAIL = 1u << 1, O_ROLE = 1u << 2, O_PLATFORM = 1u << 3,
       O_DATABASE = 1u << 4 };

struct admin {
	struct gb_config cfg;
	struct gb_db *db;
	const char *company;     /* --company SLUG */
	const char *email;       /* --email, as given: the statements lowercase it */
	const char *role;        /* --role */
	bool platform_admin;     /* --platform-admin */
	bool database;           /* check-config --database */
	char **args;             /* the positional arguments */
	char cid[64];            /* the company's id, once looked up */
};

struct command {
	const char *noun, *verb;   /* verb NULL: a command of one word */
	unsigned need, allow;      /* options required; options also allowed */
	int nargs;                 /* positional arguments, exactly */
	bool db;                   /* connects to the database */
	int (*check)(const struct admin *a);   /* arguments, before anything else */
	int (*run)(struct admin *a);
	const char *synopsis;
};

static int company_create(struct admin *a);
static int company_show(struct admin *a);
static int company_list(struct admin *a);
static int user_create(struct admin *a);
static int user_set_password(struct admin *a);
static int user_disable(struct admin *a);
static int user_enable(struct admin *a);
static int user_show(struct admin *a);
static int user_list(struct admin *a);
static int token_issue(struct admin *a);
static int check_config(struct admin *a);
static int check_company_args(const struct admin *a);

#define WHO "--company SLUG --email EMAIL"

static const struct command commands[] = {
	{ "company", "create", 0, 0, 2, true, check_company_args, company_create,
	  "company create SLUG NAME" },
	{ "company", "show", 0, 0, 1, true, NULL, company_show, "company show SLUG" },
	{ "company", "list", 0, 0, 0, true, NULL, company_list, "company list" },
	{ "user", "create", O_COMPANY | O_EMAIL | O_ROLE, O_PLATFORM, 0, true, NULL, user_create,
	  "user create " WHO " --role owner|admin|member|viewer [--platform-admin]" },
	{ "user", "set-password", O_COMPANY | O_EMAIL, 0, 0, true, NULL, user_set_password,
	  "user set-password " WHO },
	{ "user", "disable", O_COMPANY | O_EMAIL, 0, 0, true, NULL, user_disable,
	  "user disable " WHO },
	{ "user", "enable", O_COMPANY | O_EMAIL, 0, 0, true, NULL, user_enable,
	  "user enable " WHO },
	{ "user", "show", O_COMPANY | O_EMAIL, 0, 0, true, NULL, user_show, "user show " WHO },
	{ "user", "list", O_COMPANY, 0, 0, true, NULL, user_list, "user list --company SLUG" },
	{ "token", "issue", O_COMPANY | O_EMAIL, 0, 0, true, NULL, token_issue,
	  "token issue " WHO },
	{ "check-config", NULL, 0, O_DATABASE, 0, false, NULL, check_config,
	  "check-config [--database]" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: " PROG " COMMAND [OPTIONS]\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "       " PROG " %s\n", commands[i].synopsis);
	fprintf(f, "       " PROG " --help | --version\n"
	           "Reads the programs' environment (DATABASE_URL, JWT_*, ...); passwords are\n"
	           "read from the first line of standard input.  Exit status: 0 ok, 1 failed,\n"
	           "64 usage, 69 database unreachable, 78 configuration.\n");
}

static int
command_usage(const struct command *c, FILE *f)
{
	fprintf(f, "usage: " PROG " %s\n", c->synopsis);
	return f == stdout ? 0 : EX_USAGE;
}

/* ---- helpers ------------------------------------------------------------ */

/* Says why a statement failed: 69 when the database could not be reached
 * or did not answer in time (no SQLSTATE: the connection failed), else 1. */
static int
db_failed(const struct admin *a, enum gb_err e)
{
	if (e == GB_ETIMEOUT || (e == GB_EDB && gb_db_sqlstate(a->db)[0] == '\0')) {
		fprintf(stderr, PROG ": database unreachable: %s\n", gb_db_last_error(a->db));
		return EX_UNAVAILABLE;
	}
	fprintf(stderr, PROG ": database error: %s\n", gb_db_last_error(a->db));
	return EX_FAILED;
}

/* Looks up --company (or SLUG) into a->cid; 0, or an exit status. */
static int
find_company(struct admin *a, const char *slug)
{
	PGresult *res;
	enum gb_err e;
	bool found;

	e = gb_db_exec(a->db, &q_company_by_slug, (const char *const[]){ slug }, &res);
	if (e != GB_OK)
		return db_failed(a, e);
	found = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
	if (found)
		snprintf(a->cid, sizeof(a->cid), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!found) {
		fprintf(stderr, PROG ": no company \"%s\"\n", slug);
		return EX_FAILED;
	}
	return 0;
}

static void
print_row(const PGresult *res, int row)
{
	int i, n = PQnfields(res);

	for (i = 0; i < n; i++)
		printf("%s%s", PQgetvalue(res, row, i), i + 1 < n ? "\t" : "\n");
}

/* Reads one line of fd (without its line end) into buf[0..size), a byte at
 * a time so that no copy is left in a stdio buffer.  Returns its length;
 * -1 on a read error (errno set); -2 when it has a NUL byte or does not
 * fit (the rest of the line is left unread). */
static long
read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;
	char ch;

	for (;;) {
		r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0 || ch == '\n')
			break;
		if (ch == '\0' || n + 1 >= size) {
			ch = 0;
			return -2;
		}
		buf[n++] = ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return (long)n;
}

/* Reads a line from standard input without echo when it is a terminal,
 * prompting on standard error. */
static long
read_secret_line(const char *prompt, char *buf, size_t size)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	long n;

	if (tty) {
		fputs(prompt, stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	n = read_line(STDIN_FILENO, buf, size);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return n;
}

/* Reads the new password (the first line of standard input; asked twice on
 * a terminal) and hashes it into hash[0..GB_PASSWORD_HASH_SIZE).  0, or 1
 * with a message.  The password is wiped. */
static int
read_password_hash(char *hash)
{
	char pw[GB_PASSWORD_MAX + 1], again[GB_PASSWORD_MAX + 1];
	int rc = EX_FAILED;
	long n;

	n = read_secret_line("new password: ", pw, sizeof(pw));
	if (n == -1) {
		fprintf(stderr, PROG ": cannot read the password: %s\n", strerror(errno));
		goto out;
	}
	if (n == -2) {
		fprintf(stderr, PROG ": the password is longer than %d bytes or has a NUL byte\n",
		        GB_PASSWORD_MAX);
		goto out;
	}
	if (n == 0) {
		fprintf(stderr, PROG ": no password: give it as the first line of standard input\n");
		goto out;
	}
	if (n < PASSWORD_MIN) {
		fprintf(stderr, PROG ": the password is shorter than %d bytes\n", PASSWORD_MIN);
		goto out;
	}
	if (isatty(STDIN_FILENO)) {
		n = read_secret_line("again: ", again, sizeof(again));
		if (n < 0 || strcmp(pw, again) != 0) {
			fprintf(stderr, PROG ": the passwords differ\n");
			goto out;
		}
	}
	if (gb_password_hash(pw, hash, GB_PASSWORD_HASH_SIZE) != GB_OK) {
		fprintf(stderr, PROG ": cannot hash the password: %s\n", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(again, sizeof(again));
	return rc;
}

/* write(2) all of s: the token never sits in a stdio buffer. */
static int
write_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- companies ---------------------------------------------------------- */

/* The slug rule of sql/001_identity.sql, checked here for a clear message. */
static bool
slug_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n &&
	       s[0] != '-';
}

static int
check_company_args(const struct admin *a)
{
	size_t n = strlen(a->args[1]);

	if (!slug_valid(a->args[0])) {
		fprintf(stderr, PROG ": SLUG must be 1 to 63 characters of a-z, 0-9 and '-', "
		        "not starting with '-'\n");
		return EX_USAGE;
	}
	if (n == 0 || n > 800 || strpbrk(a->args[1], "\n\r") != NULL) {
		fprintf(stderr, PROG ": NAME must be one line of 1 to 200 characters\n");
		return EX_USAGE;
	}
	return 0;
}

static int
company_create(struct admin *a)
{
	PGresult *res;
	enum gb_err e;

	e = gb_db_exec(a->db, &q_company_create, (const char *const[]){ a->args[0], a->args[1] },
	               &res);
	if (e == GB_ECONFLICT) {
		fprintf(stderr, PROG ": a company with the slug \"%s\" already exists\n", a->args[0]);
		return EX_FAILED;
	}
	if (e == GB_EVALIDATION) {
		fprintf(stderr, PROG ": invalid company (%s): NAME must be 1 to 200 characters\n",
		        gb_db_constraint(a->db)[0] ? gb_db_constraint(a->db) : gb_db_sqlstate(a->db));
		return EX_FAILED;
	}
	if (e != GB_OK)
		return db_failed(a, e);
	printf("%s\n", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

static int
company_show(struct admin *a)
{
	PGresult *res;
	enum gb_err e;
	int rc;

	if ((rc = find_company(a, a->args[0])) != 0)
		return rc;
	e = gb_db_tenant(a->db, a->cid, &q_company_get, (const char *const[]){ a->cid }, &res);
	if (e != GB_OK)
		return db_failed(a, e);
	if (PQntuples(res) == 1)
		print_row(res, 0);
	rc = PQntuples(res) == 1 ? 0 : EX_FAILED;
	if (rc != 0)
		fprintf(stderr, PROG ": company \"%s\" is gone\n", a->args[0]);
	PQclear(res);
	return rc;
}

static int
company_list(struct admin *a)
{
	char after[64] = "";
	PGresult *res;
	enum gb_err e;
	int i, n;

	do {
		e = gb_db_exec(a->db, &q_company_list,
		               (const char *const[]){ after[0] ? after : NULL }, &res);
		if (e != GB_OK)
			return db_failed(a, e);
		n = PQntuples(res);
		for (i = 0; i < n; i++)
			print_row(res, i);
		if (n > 0)
			snprintf(after, sizeof(after), "%s", PQgetvalue(res, n - 1, 0));
		PQclear(res);
	} while (n == COMPANY_PAGE);
	return 0;
}

/* ---- users -------------------------------------------------------------- */

static int
user_create(struct admin *a)
{
	char hash[GB_PASSWORD_HASH_SIZE];
	PGresult *res = NULL;
	enum gb_err e;
	int rc;

	if ((rc = find_company(a, a->company)) != 0)
		return rc;
	if ((rc = read_password_hash(hash)) != 0)
		return rc;
	e = gb_db_tenant(a->db, a->cid, &q_user_insert,
	                 (const char *const[]){ a->cid, a->email, hash, a->role,
	                                        a->platform_admin ? "true" : "false" }, &res);
	explicit_bzero(hash, sizeof(hash));
	if (e == GB_ECONFLICT) {
		fprintf(stderr, PROG ": %s already exists in company \"%s\"\n", a->email, a->company);
		return EX_FAILED;
	}
	if (e == GB_EVALIDATION) {
		fprintf(stderr, PROG ": invalid user: %s\n", gb_db_last_error(a->db));
		return EX_FAILED;
	}
	if (e != GB_OK)
		return db_failed(a, e);
	printf("%s\n", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* In one tenant transaction: st (an UPDATE of the user by company and
 * email, with value as $3, RETURNING id), then, when revoke is set, the
 * revocation of every live refresh token of that user (their count into
 * *revoked).  0, or an exit status with a message. */
static int
update_user(struct admin *a, const struct gb_stmt *st, const char *value, bool revoke,
            long *revoked)
{
	char uid[64];
	PGresult *res = NULL;
	enum gb_err e;

	*revoked = 0;
	gb_db_tx_begin(a->db, a->cid);
	e = gb_db_tx_exec(a->db, st, (const char *const[]){ a->cid, a->email, value }, &res);
	if (e != GB_OK)
		goto err;
	if (PQntuples(res) != 1) {
		PQclear(res);
		gb_db_tx_abort(a->db);
		fprintf(stderr, PROG ": no user %s in company \"%s\"\n", a->email, a->company);
		return EX_FAILED;
	}
	snprintf(uid, sizeof(uid), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;
	if (revoke) {
		e = gb_db_tx_exec(a->db, &q_tokens_revoke, (const char *const[]){ uid }, &res);
		if (e != GB_OK)
			goto err;
		*revoked = strtol(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		res = NULL;
	}
	e = gb_db_tx_commit(a->db);
	if (e != GB_OK)
		goto err;
	return 0;
err:
	PQclear(res);
	gb_db_tx_abort(a->db);
	return db_failed(a, e);
}

static int
user_set_password(struct admin *a)
{
	char hash[GB_PASSWORD_HASH_SIZE];
	long revoked;
	int rc;

	if ((rc = find_company(a, a->company)) != 0)
		return rc;
	if ((rc = read_password_hash(hash)) != 0)
		return rc;
	rc = update_user(a, &q_user_password, hash, true, &revoked);
	explicit_bzero(hash, sizeof(hash));
	if (rc == 0)
		printf("%s: password set, %ld refresh token%s revoked\n", a->email, revoked,
		       revoked == 1 ? "" : "s");
	return rc;
}

static int
set_disabled(struct admin *a, bool disabled)
{
	long revoked;
	int rc;

	if ((rc = find_company(a, a->company)) != 0)
		return rc;
	rc = update_user(a, &q_user_disabled, disabled ? "true" : "false", disabled, &revoked);
	if (rc == 0 && disabled)
		printf("%s: disabled, %ld refresh token%s revoked\n", a->email, revoked,
		       revoked == 1 ? "" : "s");
	else if (rc == 0)
		printf("%s: enabled\n", a->email);
	return rc;
}

static int
user_disable(struct admin *a)
{
	return set_disabled(a, true);
}

static int
user_enable(struct admin *a)
{
	return set_disabled(a, false);
}

/* The user --email of --company into *out (PQclear it); 0 or an exit status. */
static int
get_user(struct admin *a, PGresult **out)
{
	enum gb_err e;
	int rc;

	*out = NULL;
	if ((rc = find_company(a, a->company)) != 0)
		return rc;
	e = gb_db_tenant(a->db, a->cid, &q_user_get, (const char *const[]){ a->cid, a->email },
	                 out);
	if (e != GB_OK)
		return db_failed(a, e);
	if (PQntuples(*out) != 1) {
		PQclear(*out);
		*out = NULL;
		fprintf(stderr, PROG ": no user %s in company \"%s\"\n", a->email, a->company);
		return EX_FAILED;
	}
	return 0;
}

static int
user_show(struct admin *a)
{
	PGresult *res;
	int rc;

	if ((rc = get_user(a, &res)) != 0)
		return rc;
	print_row(res, 0);
	PQclear(res);
	return 0;
}

static int
user_list(struct admin *a)
{
	PGresult *res;
	enum gb_err e;
	int rc, i;

	if ((rc = find_company(a, a->company)) != 0)
		return rc;
	e = gb_db_tenant(a->db, a->cid, &q_user_list, (const char *const[]){ a->cid }, &res);
	if (e != GB_OK)
		return db_failed(a, e);
	for (i = 0; i < PQntuples(res); i++)
		print_row(res, i);
	PQclear(res);
	return 0;
}

/* ---- tokens ------------------------------------------------------------- */

static int
token_issue(struct admin *a)
{
	char why[256] = "", token[GB_JWT_MAX + 2];
	struct gb_jwt_claims claims;
	struct gb_auth *auth = NULL;
	PGresult *res = NULL;
	enum gb_err e;
	size_t len;
	int rc;

	/* The key first: a configuration error is one whatever the user. */
	e = gb_auth_new(&a->cfg, true, &auth, why, sizeof(why));
	if (e != GB_OK) {
		fprintf(stderr, PROG ": configuration: %s\n",
		        e == GB_ENOMEM ? "out of memory" : why);
		return e == GB_ENOMEM ? EX_FAILED : EX_CONFIG;
	}
	if ((rc = get_user(a, &res)) != 0)
		goto out;
	rc = EX_FAILED;
	if (strcmp(PQgetvalue(res, 0, U_STATE), "disabled") == 0) {
		fprintf(stderr, PROG ": %s is disabled\n", a->email);
		goto out;
	}
	memset(&claims, 0, sizeof(claims));
	snprintf(claims.sub, sizeof(claims.sub), "%s", PQgetvalue(res, 0, U_ID));
	snprintf(claims.company_id, sizeof(claims.company_id), "%s", a->cid);
	snprintf(claims.role, sizeof(claims.role), "%s", PQgetvalue(res, 0, U_ROLE));
	claims.platform_admin = strcmp(PQgetvalue(res, 0, U_PLATFORM), "platform-admin") == 0;
	e = gb_auth_issue(auth, &claims, token, sizeof(token) - 1);
	if (e != GB_OK) {
		fprintf(stderr, PROG ": cannot issue a token: %s\n", gb_strerror(e));
		goto out;
	}
	/* gb_auth_issue was given one byte less: room for the newline */
	len = strlen(token);
	token[len++] = '\n';
	if (write_all(STDOUT_FILENO, token, len) != 0) {
		fprintf(stderr, PROG ": cannot write the token: %s\n", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(token, sizeof(token));
	PQclear(res);
	gb_auth_free(auth);
	return rc;
}

/* ---- check-config ------------------------------------------------------- */

/* One check of the environment beyond gb_config_load: GB_OK with an
 * optional note for the operator in note, or an error with a message that
 * starts with the key at fault in why (never a secret value): GB_ECONFIG,
 * or GB_EDB when a database it had to ask did not answer. */
struct check {
	enum gb_err (*run)(const struct gb_config *cfg, char *note, char *why, size_t len);
};

/* check-config --database: the checks that can ask PostgreSQL do. */
static bool check_database;

static enum gb_err
check_database_url(const struct gb_config *cfg, char *note, char *why, size_t len)
{
	PQconninfoOption *opts;
	char *err = NULL;

	/* libpq's message may quote the string, password included: not shown. */
	opts = PQconninfoParse(cfg->database_url, &err);
	PQfreemem(err);
	if (opts == NULL) {
		snprintf(why, len, "DATABASE_URL: not a libpq connection string or URI");
		return GB_ECONFIG;
	}
	PQconninfoFree(opts);
	return GB_OK;
}

static enum gb_err
check_redis_url(const struct gb_config *cfg, char *note, char *why, size_t len)
{
	struct gb_redis_addr addr;
	const char *reason = NULL;
	enum gb_err e;

	e = gb_redis_url_parse(cfg->redis_url, &addr, &reason);
	explicit_bzero(&addr, sizeof(addr));
	if (e != GB_OK) {
		snprintf(why, len, "REDIS_URL: %s", reason != NULL ? reason : "invalid");
		return GB_ECONFIG;
	}
	return GB_OK;
}

/* Loads the key as the programs will: signing too when there is something
 * to sign with (the HS256 secret, or a private key file). */
static enum gb_err
check_jwt(const struct gb_config *cfg, char *note, char *why, size_t len)
{
	const char *alg = gb_jwt_alg_name((enum gb_jwt_alg)cfg->jwt_alg);
	bool sign = cfg->jwt_alg == GB_JWT_HS256 || cfg->jwt_private_key_file[0] != '\0';
	struct gb_auth *auth = NULL;
	enum gb_err e;

	e = gb_auth_new(cfg, sign, &auth, why, len);
	gb_auth_free(auth);
	if (e == GB_ENOMEM)
		snprintf(why, len, "JWT_ALG: out of memory loading the %s key", alg);
	if (e != GB_OK)
		return e;
	if (cfg->jwt_alg == GB_JWT_HS256)
		snprintf(note, len, "access tokens: HS256 with JWT_SECRET, signs and verifies");
	else if (sign)
		snprintf(note, len, "access tokens: %s with the key files, signs and verifies", alg);
	else
		snprintf(note, len, "access tokens: %s, verifies only (no JWT_PRIVATE_KEY_FILE: "
		         "gerbang-auth and token issue cannot sign)", alg);
	return GB_OK;
}

/* The plugin registry exactly as gerbang-proxy loads it (secret files
 * included).  No directory is fine on a host that runs no proxy. */
static enum gb_err
check_plugins(const struct gb_config *cfg, char *note, char *why, size_t len)
{
	struct gb_plugin_error err;
	struct gb_registry *reg;
	struct stat st;

	if (stat(cfg->plugin_dir, &st) != 0 && errno == ENOENT) {
		snprintf(note, len, "plugins: %s does not exist (gerbang-proxy needs it)",
		         cfg->plugin_dir);
		return GB_OK;
	}
	if (gb_registry_load(cfg->plugin_dir, &reg, &err) != GB_OK) {
		snprintf(why, len, "PLUGIN_DIR: %s: %s%s%s", err.file, err.key,
		         err.key[0] ? ": " : "", err.msg);
		return GB_ECONFIG;
	}
	snprintf(note, len, "plugins: %zu in %s", gb_registry_count(reg), cfg->plugin_dir);
	gb_registry_free(reg);
	return GB_OK;
}

/* Trusted proxies, CORS and the rate-limit classes, exactly as every
 * program builds them at start. */
static enum gb_err
check_edge(const struct gb_config *cfg, char *note, char *why, size_t len)
{
	struct gb_edge *edge;
	enum gb_err e;

	e = gb_edge_new(cfg, &edge, why, len);
	if (e != GB_OK)
		return e;
	if (edge->rl == NULL)
		snprintf(note, len, "rate limits: off; trusted proxies: %zu; CORS: %s",
		         gb_cidr_list_count(edge->trusted),
		         gb_cors_enabled(edge->cors) ? "on" : "off");
	else
		snprintf(note, len, "rate limits: %zu classes, %zu company overrides; "
		         "trusted proxies: %zu; CORS: %s", gb_rl_table_nclasses(edge->rl),
		         gb_rl_table_ncompanies(edge->rl), gb_cidr_list_count(edge->trusted),
		         gb_cors_enabled(edge->cors) ? "on" : "off");
	gb_edge_free(edge);
	return GB_OK;
}

/* The task queue and the worker's adapters, as gerbang-worker checks them
 * at start (no connection to the API). */
static enum gb_err
check_tasks(const struct gb_config *cfg, char *note, char *why, size_t len)
{
	if (gb_task_config_check(cfg, why, len) != GB_OK)
		return GB_ECONFIG;
	if (cfg->llm_adapter == GB_LLM_ECHO)
		snprintf(note, len, "tasks: generate_text through the echo adapter (offline)");
	else
		snprintf(note, len, "tasks: generate_text through %.120s (model %.60s)",
		         cfg->llm_base_url, cfg->llm_model);
	return GB_OK;
}

/* gerbang-data's declarations, parsed as it parses them; with --database
 * also checked against the catalog as it does at start (as the runtime
 * role of DATABASE_URL).  No directory is fine on a host that runs no
 * gerbang-data. */
static enum gb_err
check_schema(const struct gb_config *cfg, char *note, char *why, size_t len)
{
	struct gb_schema_error err;
	struct gb_schema *s = NULL;
	struct gb_db *db;
	struct stat st;
	enum gb_err e;

	if (stat(cfg->schema_dir, &st) != 0 && errno == ENOENT) {
		snprintf(note, len, "resources: %s does not exist (gerbang-data needs it)",
		         cfg->schema_dir);
		return GB_OK;
	}
	if (gb_schema_load(cfg->schema_dir, &s, &err) != GB_OK) {
		snprintf(why, len, "SCHEMA_DIR: %s: %s%s%s", err.file, err.key,
		         err.key[0] ? ": " : "", err.msg);
		return GB_ECONFIG;
	}
	e = GB_OK;
	if (check_database && gb_schema_count(s) > 0) {
		if ((db = gb_db_new(cfg->database_url, (int)cfg->db_timeout_ms)) == NULL) {
			gb_schema_free(s);
			snprintf(why, len, "SCHEMA_DIR: out of memory");
			return GB_ENOMEM;
		}
		e = gb_schema_verify(s, db, &err);
		gb_db_free(db);
		if (e == GB_EDB || e == GB_ETIMEOUT) {
			snprintf(why, len, "SCHEMA_DIR: cannot check it against the database: %s",
			         err.msg);
			e = GB_EDB;
		} else if (e != GB_OK) {
			snprintf(why, len, "SCHEMA_DIR: %s: %s%s%s", err.file, err.key,
			         err.key[0] ? ": " : "", err.msg);
		}
	}
	if (e == GB_OK)
		snprintf(note, len, "resources: %zu in %s%s", gb_schema_count(s), cfg->schema_dir,
		         !check_database && gb_schema_count(s) > 0 ?
		         " (tables not checked: --database checks them)" : "");
	gb_schema_free(s);
	return e;
}

/* In order; a new kind of check is a row. */
static const struct check checks[] = {
	{ check_database_url },
	{ check_redis_url },
	{ check_jwt },
	{ check_plugins },
	{ check_edge },
	{ check_tasks },
	{ check_schema },
};

static int
check_config(struct admin *a)
{
	char notes[sizeof(checks) / sizeof(checks[0])][512], why[512];
	enum gb_err e;
	size_t i;

	check_database = a->database;
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		notes[i][0] = '\0';
		why[0] = '\0';
		if ((e = checks[i].run(&a->cfg, notes[i], why, sizeof(why))) != GB_OK) {
			fprintf(stderr, PROG ": %s: %s\n", e == GB_EDB ? "database unreachable" :
			        "configuration", why[0] ? why : "invalid");
			return e == GB_EDB ? EX_UNAVAILABLE : EX_CONFIG;
		}
	}
	fflush(stdout);
	if (gb_config_print(&a->cfg, STDOUT_FILENO) != 0)
		return EX_FAILED;
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (notes[i][0] != '\0')
			printf("%s\n", notes[i]);
	printf("configuration OK\n");
	return 0;
}

/* ---- main --------------------------------------------------------------- */

/* The command named by words[0..n), and how many words name it. */
static const struct command *
find_command(int n, char **words, int *used)
{
	size_t i;

	for (i = 0; n > 0 && i < NCOMMANDS; i++) {
		if (strcmp(words[0], commands[i].noun) != 0)
			continue;
		if (commands[i].verb == NULL) {
			*used = 1;
			return &commands[i];
		}
		if (n > 1 && strcmp(words[1], commands[i].verb) == 0) {
			*used = 2;
			return &commands[i];
		}
	}
	return NULL;
}

/* Parses the options and arguments after the command's name (argv[0] is
 * its last word) into a.  0, or an exit status (64, or 0 after --help)
 * with *done set. */
static int
parse_args(const struct command *c, struct admin *a, int argc, char **argv, bool *done)
{
	static const struct option opts[] = {
		{ "company", required_argument, NULL, 'c' },
		{ "email", required_argument, NULL, 'e' },
		{ "role", required_argument, NULL, 'r' },
		{ "platform-admin", no_argument, NULL, 'P' },
		{ "database", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ O_COMPANY, "--company" }, { O_EMAIL, "--email" }, { O_ROLE, "--role" },
		{ O_PLATFORM, "--platform-admin" }, { O_DATABASE, "--database" },
	};
	unsigned seen = 0;
	size_t i;
	int opt;

	*done = true;
	argv[0] = (char *)PROG;    /* what getopt's own messages start with */
	optind = 0;    /* glibc: start over, at argv[1] */
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': a->company = optarg; seen |= O_COMPANY; break;
		case 'e': a->email = optarg; seen |= O_EMAIL; break;
		case 'r': a->role = optarg; seen |= O_ROLE; break;
		case 'P': a->platform_admin = true; seen |= O_PLATFORM; break;
		case 'D': a->database = true; seen |= O_DATABASE; break;
		case 'h': return command_usage(c, stdout);
		default: return command_usage(c, stderr);
		}
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((seen & names[i].bit) && !((c->need | c->allow) & names[i].bit)) {
			fprintf(stderr, PROG ": %s does not take %s\n", c->synopsis, names[i].name);
			return command_usage(c, stderr);
		}
		if (!(seen & names[i].bit) && (c->need & names[i].bit)) {
			fprintf(stderr, PROG ": %s is required\n", names[i].name);
			return command_usage(c, stderr);
		}
	}
	if (argc - optind != c->nargs)
		return command_usage(c, stderr);
	if (a->email != NULL && !gb_v_email(a->email)) {
		fprintf(stderr, PROG ": --email: not an email address\n");
		return EX_USAGE;
	}
	if (a->role != NULL && gb_role_bit(a->role) == 0) {
		fprintf(stderr, PROG ": --role must be owner, admin, member or viewer\n");
		return EX_USAGE;
	}
	a->args = argv + optind;
	*done = false;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *cmd;
	struct gb_config_error cerr;
	struct admin a;
	int opt, used = 0, rc;
	bool done;

	memset(&a, 0, sizeof(a));
	while ((opt = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " %s (%s, built %s)\n", gb_version, gb_git_commit,
		                 gb_build_time); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	cmd = find_command(argc - optind, argv + optind, &used);
	if (cmd == NULL) {
		if (optind < argc)
			fprintf(stderr, PROG ": unknown command \"%s%s%s\"\n", argv[optind],
			        optind + 1 < argc ? " " : "", optind + 1 < argc ? argv[optind + 1] : "");
		usage(stderr);
		return EX_USAGE;
	}
	rc = parse_args(cmd, &a, argc - optind - used + 1, argv + optind + used - 1, &done);
	if (done)
		return rc;
	if (cmd->check != NULL && (rc = cmd->check(&a)) != 0)
		return rc;
	if (gb_config_load(&a.cfg, NULL, &cerr) != GB_OK) {
		fprintf(stderr, PROG ": configuration: %s: %s\n", cerr.key, cerr.msg);
		return EX_CONFIG;
	}
	if (cmd->db && (a.db = gb_db_new(a.cfg.database_url, (int)a.cfg.db_timeout_ms)) == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		rc = EX_FAILED;
		goto out;
	}
	rc = cmd->run(&a);
	if (fflush(stdout) != 0 && rc == 0) {
		fprintf(stderr, PROG ": cannot write the output: %s\n", strerror(errno));
		rc = EX_FAILED;
	}
out:
	gb_db_free(a.db);
	gb_config_free(&a.cfg);
	return rc;
}
