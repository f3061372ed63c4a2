#include "config.h"
#include "gb_db.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb_metrics.h"
#include "gb_time.h"

/* Statements prepared per connection; past this many a statement runs
 * unnamed (parsed each time), so no program can run out of slots. */
#define PREPARED_MAX 128

struct gb_db {
	PGconn *conn;
	char *conninfo;
	int timeout_ms;
	char error[256];
	char sqlstate[6];
	char constraint[64];
	char column[64];
	/* statements prepared on this connection, by identity */
	const struct gb_stmt *prepared[PREPARED_MAX];
	int nprepared;
	/* the open tenant transaction, if any */
	char tx_company[64];
	bool tx_pending;        /* begun, BEGIN not sent yet */
	bool tx_open;           /* BEGIN sent and not ended */
	enum gb_err tx_err;     /* first error inside it */
};

struct gb_db *
gb_db_new(const char *conninfo, int timeout_ms)
{
	struct gb_db *db = calloc(1, sizeof(*db));

	if (db == NULL)
		return NULL;
	db->conninfo = strdup(conninfo);
	if (db->conninfo == NULL) {
		free(db);
		return NULL;
	}
	db->timeout_ms = timeout_ms;
	return db;
}

/* Every lost connection is a database error for gerbang_db_errors_total:
 * failed connects, timeouts, broken connections (a restart too). */
static void
drop(struct gb_db *db, const char *why)
{
	const char *msg = why;

	gb_metrics_db_error();
	if (msg == NULL && db->conn != NULL)
		msg = PQerrorMessage(db->conn);
	snprintf(db->error, sizeof(db->error), "%s", msg != NULL ? msg : "");
	db->error[strcspn(db->error, "\n")] = '\0';
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	db->nprepared = 0;
	db->tx_open = false;
}

void
gb_db_free(struct gb_db *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL)
		PQfinish(db->conn);
	explicit_bzero(db->conninfo, strlen(db->conninfo));
	free(db->conninfo);
	free(db);
}

const char *
gb_db_last_error(const struct gb_db *db)
{
	return db->error;
}

/* Waits until the connection's socket is ready for events or the deadline
 * passes; 1 ready, 0 timed out, -1 error. */
static int
wait_fd(PGconn *conn, short events, int64_t deadline)
{
	struct pollfd p = { .fd = PQsocket(conn), .events = events };
	int64_t left;
	int r;

	if (p.fd < 0)
		return -1;
	for (;;) {
		left = (deadline - gb_mono_us()) / 1000;
		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static enum gb_err
connect_db(struct gb_db *db, int64_t deadline)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int r;

	db->conn = PQconnectStart(db->conninfo);
	if (db->conn == NULL) {
		drop(db, "out of memory");
		return GB_EDB;
	}
	if (PQstatus(db->conn) == CONNECTION_BAD) {
		drop(db, NULL);
		return GB_EDB;
	}
	while (st != PGRES_POLLING_OK) {
		if (st == PGRES_POLLING_FAILED) {
			drop(db, NULL);
			return GB_EDB;
		}
		r = wait_fd(db->conn, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
		if (r <= 0) {
			drop(db, r == 0 ? "connect timed out" : "poll failed");
			return r == 0 ? GB_ETIMEOUT : GB_EDB;
		}
		st = PQconnectPoll(db->conn);
	}
	if (PQsetnonblocking(db->conn, 1) != 0) {
		drop(db, NULL);
		return GB_EDB;
	}
	return GB_OK;
}

/* An idle connection has nothing to read unless the server closed it or
 * told it to go (restart, idle kill): check before reusing it, so a stale
 * connection costs a reconnect, not the request.  Nothing is retried after
 * sending, so no statement can run twice. */
static void
drop_if_closed(struct gb_db *db)
{
	struct pollfd p = { .fd = PQsocket(db->conn), .events = POLLIN };

	if (PQstatus(db->conn) != CONNECTION_OK || p.fd < 0) {
		drop(db, NULL);
		return;
	}
	/* We never LISTEN, so what is there is the server's goodbye (a FATAL
	 * notice that libpq would only report once it reads EOF). */
	if (poll(&p, 1, 0) > 0)
		drop(db, "connection closed by the server");
}

/* ---- pipelined statements ------------------------------------------- */

/* OP_QUERY: a statement sent with its text, unnamed (never prepared). */
enum op_kind { OP_BEGIN, OP_SETCFG, OP_PREPARE, OP_STMT, OP_QUERY, OP_COMMIT, OP_ROLLBACK };

struct op {
	enum op_kind kind;
	const struct gb_stmt *st;
	const char *const *params;
};

#define OPS_MAX 6

static const char *const control_sql[] = {
	[OP_BEGIN] = "BEGIN",
	[OP_SETCFG] = "SELECT set_config('app.company_id', $1, true)",
	[OP_COMMIT] = "COMMIT",
	[OP_ROLLBACK] = "ROLLBACK",
};

const char *
gb_db_sqlstate(const struct gb_db *db)
{
	return db->sqlstate;
}

const char *
gb_db_constraint(const struct gb_db *db)
{
	return db->constraint;
}

const char *
gb_db_column(const struct gb_db *db)
{
	return db->column;
}

static bool
is_prepared(const struct gb_db *db, const struct gb_stmt *st)
{
	int i;

	for (i = 0; i < db->nprepared; i++)
		if (db->prepared[i] == st)
			return true;
	return false;
}

static enum gb_err
map_sqlstate(const char *state)
{
	if (strcmp(state, "23505") == 0 || strcmp(state, "23P01") == 0)
		return GB_ECONFLICT;
	if (strncmp(state, "22", 2) == 0 || strcmp(state, "23502") == 0 ||
	    strcmp(state, "23503") == 0 || strcmp(state, "23514") == 0)
		return GB_EVALIDATION;
	return GB_EDB;
}

static void
record_error(struct gb_db *db, const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
	const char *col = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);

	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", state != NULL ? state : "");
	snprintf(db->constraint, sizeof(db->constraint), "%s", cons != NULL ? cons : "");
	snprintf(db->column, sizeof(db->column), "%s", col != NULL ? col : "");
	snprintf(db->error, sizeof(db->error), "%s", PQresultErrorMessage(res));
	db->error[strcspn(db->error, "\n")] = '\0';
}

static int
send_op(struct gb_db *db, const struct op *o, const char *company)
{
	switch (o->kind) {
	case OP_SETCFG:
		return PQsendQueryParams(db->conn, control_sql[o->kind], 1, NULL,
		                         (const char *const[]){ company }, NULL, NULL, 0);
	case OP_PREPARE:
		return PQsendPrepare(db->conn, o->st->name, o->st->sql, o->st->nparams, NULL);
	case OP_STMT:
		return PQsendQueryPrepared(db->conn, o->st->name, o->st->nparams, o->params,
		                           NULL, NULL, 0);
	case OP_QUERY:
		return PQsendQueryParams(db->conn, o->st->sql, o->st->nparams, NULL, o->params,
		                         NULL, NULL, 0);
	default:
		return PQsendQueryParams(db->conn, control_sql[o->kind], 0, NULL, NULL, NULL,
		                         NULL, 0);
	}
}

/* Sends ops as one pipeline and reads every result.  The result of the op
 * at index keep (-1: none) goes to *out on success.  Returns GB_OK, the
 * mapped SQL error of the first failing op, or GB_EDB / GB_ETIMEOUT for
 * the connection (then dropped). */
static enum gb_err
run(struct gb_db *db, struct op *ops, int n, int keep, const char *company,
    PGresult **out, int64_t deadline)
{
	enum gb_err e = GB_OK, sql_err = GB_OK;
	PGresult *res;
	int i, idx = 0, r;

	if (out != NULL)
		*out = NULL;
	db->sqlstate[0] = '\0';
	db->constraint[0] = '\0';
	db->column[0] = '\0';
	/* The caller checked a reused connection (drop_if_closed) before it
	 * chose which statements need a PREPARE. */
	if (db->conn == NULL) {
		if (db->tx_open) {
			/* The transaction died with its connection. */
			return GB_EDB;
		}
		if ((e = connect_db(db, deadline)) != GB_OK)
			return e;
	}
	if (!PQenterPipelineMode(db->conn))
		goto fail;
	for (i = 0; i < n; i++)
		if (!send_op(db, &ops[i], company))
			goto fail;
	if (!PQpipelineSync(db->conn))
		goto fail;
	while ((r = PQflush(db->conn)) == 1)
		if (wait_fd(db->conn, POLLOUT | POLLIN, deadline) <= 0)
			goto timeout;
	if (r < 0)
		goto fail;
	for (;;) {
		while (PQisBusy(db->conn)) {
			r = wait_fd(db->conn, POLLIN, deadline);
			if (r == 0)
				goto timeout;
			if (r < 0 || !PQconsumeInput(db->conn))
				goto fail;
		}
		res = PQgetResult(db->conn);
		if (res == NULL) {
			idx++;          /* the end of one op's results */
			continue;
		}
		switch (PQresultStatus(res)) {
		case PGRES_PIPELINE_SYNC:
			PQclear(res);
			goto done;
		case PGRES_COMMAND_OK:
		case PGRES_TUPLES_OK:
			if (idx < n && ops[idx].kind == OP_PREPARE && db->nprepared < PREPARED_MAX)
				db->prepared[db->nprepared++] = ops[idx].st;
			if (idx == keep && out != NULL && sql_err == GB_OK) {
				*out = res;
				res = NULL;
			}
			break;
		case PGRES_PIPELINE_ABORTED:
			break;
		default:
			if (sql_err == GB_OK) {
				record_error(db, res);
				sql_err = map_sqlstate(db->sqlstate);
			}
			break;
		}
		PQclear(res);
	}
done:
	if (!PQexitPipelineMode(db->conn))
		goto fail;
	if (sql_err != GB_OK && out != NULL && *out != NULL) {
		PQclear(*out);
		*out = NULL;
	}
	return sql_err;
timeout:
	drop(db, "statement timed out");
	if (out != NULL && *out != NULL) {
		PQclear(*out);
		*out = NULL;
	}
	return GB_ETIMEOUT;
fail:
	drop(db, NULL);
	if (out != NULL && *out != NULL) {
		PQclear(*out);
		*out = NULL;
	}
	return GB_EDB;
}

static int64_t
deadline_of(const struct gb_db *db)
{
	return gb_mono_us() + (int64_t)db->timeout_ms * 1000;
}

/* Appends st (and its PREPARE when this connection lacks it) to ops;
 * returns the index of the statement.  An unnamed statement, or one that
 * finds every slot of this connection taken, is sent with its text. */
static int
add_stmt(struct gb_db *db, struct op *ops, int *n, const struct gb_stmt *st,
         const char *const *params)
{
	if (st->name == NULL ||
	    (db->conn != NULL && !is_prepared(db, st) && db->nprepared == PREPARED_MAX)) {
		ops[*n] = (struct op){ OP_QUERY, st, params };
		return (*n)++;
	}
	if (db->conn == NULL || !is_prepared(db, st))
		ops[(*n)++] = (struct op){ OP_PREPARE, st, NULL };
	ops[*n] = (struct op){ OP_STMT, st, params };
	return (*n)++;
}

/* Leaves the connection idle: a failed transaction is rolled back (or the
 * connection dropped when even that fails). */
static void
ensure_idle(struct gb_db *db)
{
	struct op rb = { OP_ROLLBACK, NULL, NULL };
	char state[sizeof(db->sqlstate)], cons[sizeof(db->constraint)], col[sizeof(db->column)];

	db->tx_open = false;
	if (db->conn == NULL || PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		return;
	/* Keep what the failed statement said, not the rollback's "". */
	memcpy(state, db->sqlstate, sizeof(state));
	memcpy(cons, db->constraint, sizeof(cons));
	memcpy(col, db->column, sizeof(col));
	if (run(db, &rb, 1, -1, NULL, NULL, deadline_of(db)) != GB_OK && db->conn != NULL)
		drop(db, "rollback failed");
	memcpy(db->sqlstate, state, sizeof(state));
	memcpy(db->constraint, cons, sizeof(cons));
	memcpy(db->column, col, sizeof(col));
}

enum gb_err
gb_db_exec(struct gb_db *db, const struct gb_stmt *st, const char *const *params,
           PGresult **out)
{
	struct op ops[OPS_MAX];
	int n = 0, keep;
	enum gb_err e;

	if (db->conn != NULL)
		drop_if_closed(db);
	keep = add_stmt(db, ops, &n, st, params);
	e = run(db, ops, n, keep, NULL, out, deadline_of(db));
	ensure_idle(db);
	return e;
}

enum gb_err
gb_db_tenant(struct gb_db *db, const char *company_id, const struct gb_stmt *st,
             const char *const *params, PGresult **out)
{
	struct op ops[OPS_MAX];
	int n, keep, attempt;
	enum gb_err e = GB_EDB;

	for (attempt = 0; attempt < 3; attempt++) {
		n = 0;
		if (db->conn != NULL)
			drop_if_closed(db);
		ops[n++] = (struct op){ OP_BEGIN, NULL, NULL };
		ops[n++] = (struct op){ OP_SETCFG, NULL, NULL };
		keep = add_stmt(db, ops, &n, st, params);
		ops[n++] = (struct op){ OP_COMMIT, NULL, NULL };
		e = run(db, ops, n, keep, company_id, out, deadline_of(db));
		ensure_idle(db);
		/* serialization failure, deadlock: the whole transaction again */
		if (e != GB_EDB || (strcmp(db->sqlstate, "40001") != 0 &&
		                    strcmp(db->sqlstate, "40P01") != 0))
			break;
	}
	return e;
}

void
gb_db_tx_begin(struct gb_db *db, const char *company_id)
{
	snprintf(db->tx_company, sizeof(db->tx_company), "%s", company_id);
	db->tx_pending = true;
	db->tx_open = false;
	db->tx_err = GB_OK;
}

enum gb_err
gb_db_tx_exec(struct gb_db *db, const struct gb_stmt *st, const char *const *params,
              PGresult **out)
{
	struct op ops[OPS_MAX];
	int n = 0, keep;
	enum gb_err e;

	*out = NULL;
	if (db->tx_err != GB_OK)
		return db->tx_err;
	if (!db->tx_pending && !db->tx_open)
		return db->tx_err = GB_EINVAL;     /* no gb_db_tx_begin */
	if (db->tx_pending) {
		if (db->conn != NULL)
			drop_if_closed(db);
		ops[n++] = (struct op){ OP_BEGIN, NULL, NULL };
		ops[n++] = (struct op){ OP_SETCFG, NULL, NULL };
	}
	keep = add_stmt(db, ops, &n, st, params);
	e = run(db, ops, n, keep, db->tx_company, out, deadline_of(db));
	if (db->tx_pending && db->conn != NULL) {
		db->tx_pending = false;
		db->tx_open = true;
	}
	if (e != GB_OK) {
		db->tx_err = e;
		db->tx_pending = false;
		ensure_idle(db);
	}
	return e;
}

enum gb_err
gb_db_tx_commit(struct gb_db *db)
{
	struct op c = { OP_COMMIT, NULL, NULL };
	enum gb_err e;

	if (db->tx_err != GB_OK) {
		e = db->tx_err;
		gb_db_tx_abort(db);
		return e;
	}
	db->tx_pending = false;      /* nothing was sent: nothing to commit */
	if (!db->tx_open)
		return GB_OK;
	e = run(db, &c, 1, -1, NULL, NULL, deadline_of(db));
	db->tx_open = false;
	ensure_idle(db);
	return e;
}

void
gb_db_tx_abort(struct gb_db *db)
{
	db->tx_pending = false;
	db->tx_err = GB_OK;
	if (db->tx_open) {
		db->tx_open = false;
		ensure_idle(db);
	}
}

enum gb_err
gb_db_ping(struct gb_db *db, int timeout_ms)
{
	static const struct gb_stmt ping = { "gb_ping", "SELECT 1", 0 };
	struct op ops[2];
	int n = 0, keep;
	enum gb_err e;
	PGresult *res;

	if (db->conn != NULL)
		drop_if_closed(db);
	keep = add_stmt(db, ops, &n, &ping, NULL);
	e = run(db, ops, n, keep, NULL, &res, gb_mono_us() + (int64_t)timeout_ms * 1000);
	PQclear(res);
	ensure_idle(db);
	return e;
}
