/* gb_db.h - one PostgreSQL connection per serving thread.
 *
 * Connects on first use and whenever the last use failed, so a restarted
 * PostgreSQL costs the requests that were in flight and nothing else.
 * Every call has a deadline: a hung server makes a call fail with
 * GB_ETIMEOUT, never block the thread.
 */
#ifndef GB_DB_H
#define GB_DB_H

#include <libpq-fe.h>

#include "gb_err.h"

struct gb_db;

/* A handle for conninfo (copied); does not connect.  NULL on ENOMEM. */
struct gb_db *gb_db_new(const char *conninfo, int timeout_ms);
void gb_db_free(struct gb_db *db);

/* A statement a program prepares once per connection.  name is unique in
 * the program; the table of a program's statements is static, or lives as
 * long as the program.  A NULL name is a statement built for one request
 * (gerbang-data's filters): sent with its text each time, never prepared.
 * The parameters are text; the SQL casts them ($1::uuid). */
struct gb_stmt {
	const char *name;
	const char *sql;
	int nparams;
};

/* The errors below come from SQLSTATE: 23505 unique violation and 23P01
 * exclusion are GB_ECONFLICT; class 22 (data exception), 23502 (not null),
 * 23503 (foreign key) and 23514 (check) are GB_EVALIDATION; anything else
 * is GB_EDB.  gb_db_sqlstate() and gb_db_constraint() say which. */

/* Runs st outside any tenant (security-definer functions, the catalog).
 * Returns GB_OK with a result the caller PQclear()s in *out, or an error
 * with *out NULL. */
enum gb_err gb_db_exec(struct gb_db *db, const struct gb_stmt *st,
                       const char *const *params, PGresult **out);

/* Runs st in a transaction of its own for company_id: BEGIN, then
 * set_config('app.company_id', company_id, true) before anything else,
 * then st, then COMMIT, sent together in one round trip.  The setting is
 * local to that transaction, so it never outlives it on the connection.  A
 * serialization failure or deadlock is retried (twice).  Returns as
 * gb_db_exec; on error the transaction was rolled back. */
enum gb_err gb_db_tenant(struct gb_db *db, const char *company_id,
                         const struct gb_stmt *st, const char *const *params,
                         PGresult **out);

/* Several statements in one tenant transaction: begin (sent with the first
 * statement), exec as often as needed, then commit or abort.  After an
 * error from exec the transaction is already rolled back and commit
 * returns that error; abort is always safe and idempotent. */
void gb_db_tx_begin(struct gb_db *db, const char *company_id);
enum gb_err gb_db_tx_exec(struct gb_db *db, const struct gb_stmt *st,
                          const char *const *params, PGresult **out);
enum gb_err gb_db_tx_commit(struct gb_db *db);
void gb_db_tx_abort(struct gb_db *db);

/* The SQLSTATE, constraint name and column name of the last failed
 * statement, "" if none (for mapping a 409 or 422 to a field, and for
 * logs). */
const char *gb_db_sqlstate(const struct gb_db *db);
const char *gb_db_constraint(const struct gb_db *db);
const char *gb_db_column(const struct gb_db *db);

/* "select 1" within timeout_ms; GB_OK, GB_EDB or GB_ETIMEOUT. */
enum gb_err gb_db_ping(struct gb_db *db, int timeout_ms);

/* The last connection or query error, for logs (no secrets: libpq does not
 * echo passwords); "" when none. */
const char *gb_db_last_error(const struct gb_db *db);

#endif
