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

/* Runs one statement with text parameters within the handle's timeout.
 * Returns GB_OK and a result the caller PQclear()s in *out (any status:
 * the caller checks PQresultStatus), or GB_EDB / GB_ETIMEOUT with *out NULL;
 * on those the connection is dropped so the next call reconnects. */
enum gb_err gb_db_query(struct gb_db *db, const char *sql, int nparams,
                        const char *const *params, PGresult **out);

/* "select 1" within timeout_ms; GB_OK, GB_EDB or GB_ETIMEOUT. */
enum gb_err gb_db_ping(struct gb_db *db, int timeout_ms);

/* The last connection or query error, for logs (no secrets: libpq does not
 * echo passwords); "" when none. */
const char *gb_db_last_error(const struct gb_db *db);

#endif
