#include "config.h"
#include "gb_db.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb_time.h"

struct gb_db {
	PGconn *conn;
	char *conninfo;
	int timeout_ms;
	char error[256];
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

static void
drop(struct gb_db *db, const char *why)
{
	const char *msg = why;

	if (msg == NULL && db->conn != NULL)
		msg = PQerrorMessage(db->conn);
	snprintf(db->error, sizeof(db->error), "%s", msg != NULL ? msg : "");
	db->error[strcspn(db->error, "\n")] = '\0';
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
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

static enum gb_err
query_until(struct gb_db *db, const char *sql, int nparams, const char *const *params,
            int64_t deadline, PGresult **out)
{
	PGresult *res, *last = NULL;
	enum gb_err e;
	int r;

	*out = NULL;
	if (db->conn != NULL)
		drop_if_closed(db);
	if (db->conn == NULL && (e = connect_db(db, deadline)) != GB_OK)
		return e;
	if (!PQsendQueryParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0))
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
		if (res == NULL)
			break;
		PQclear(last);
		last = res;
	}
	if (last == NULL || PQstatus(db->conn) != CONNECTION_OK)
		goto fail;
	*out = last;
	return GB_OK;
timeout:
	PQclear(last);
	/* The server may still be running it; a cancel cannot be trusted to
	 * reach a hung server, so the connection goes. */
	drop(db, "query timed out");
	return GB_ETIMEOUT;
fail:
	PQclear(last);
	drop(db, NULL);
	return GB_EDB;
}

enum gb_err
gb_db_query(struct gb_db *db, const char *sql, int nparams,
            const char *const *params, PGresult **out)
{
	return query_until(db, sql, nparams, params,
	                   gb_mono_us() + (int64_t)db->timeout_ms * 1000, out);
}

enum gb_err
gb_db_ping(struct gb_db *db, int timeout_ms)
{
	PGresult *res;
	enum gb_err e;

	e = query_until(db, "select 1", 0, NULL, gb_mono_us() + (int64_t)timeout_ms * 1000, &res);
	if (e != GB_OK)
		return e;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(db->error, sizeof(db->error), "%s", PQresultErrorMessage(res));
		db->error[strcspn(db->error, "\n")] = '\0';
		e = GB_EDB;
	}
	PQclear(res);
	return e;
}
