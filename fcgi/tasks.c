/* gerbang-tasks: background tasks of the caller's company.
 *
 *   POST   /v1/tasks/{kind}    queue a task (202, Location)
 *   GET    /v1/tasks/{id}      its status, and its result or error
 *   GET    /v1/tasks           the company's tasks, newest first
 *   DELETE /v1/tasks/{id}      cancel a pending one
 * and the seed's aliases POST /background/generate_text and GET
 * /background/tasks/{id}.
 *
 * A task is a row of gerbang.tasks (under row-level security: another
 * company's task is not found, 404) and a message in the Redis queue
 * (gb_task) that gerbang-worker takes.  Queuing never leaves half a task:
 * the row is inserted in a transaction, the message pushed, and only then
 * the transaction committed; when the push fails it is rolled back and the
 * answer is 503.  Tasks queued at the same moment share that transaction
 * (see "group commit").  The other way round cannot be made atomic either, but
 * its leftover is harmless: a message whose transaction rolled back (or
 * whose COMMIT failed) names no row, and the worker that takes it drops
 * it.  A worker that takes a message before the COMMIT waits for it on the
 * task's advisory lock (sql/004_tasks.sql).
 *
 * Idempotency-Key: the same key of the same company answers the task it
 * first made (202 again, Idempotent-Replayed: true); with another kind or
 * input it is 409.  Keys are kept as long as their task.
 *
 * TASKS_MAX_QUEUED bounds a company's PENDING and STARTED tasks; over it a
 * new task is 429.  They are counted by triggers into gerbang.task_counts
 * (sql/004_tasks.sql), so the check costs the same whatever the backlog.
 * The check and the insert are one statement but not serialized per
 * company (that would make every enqueue of a busy company wait for
 * another's commit): requests racing at the limit may pass it by as many
 * as run at once.
 */
#include "config.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "gb_db.h"
#include "gb_envelope.h"
#include "gb_log.h"
#include "gb_metrics.h"
#include "gb_redis.h"
#include "gb_reqid.h"
#include "gb_serve.h"
#include "gb_sign.h"
#include "gb_task.h"
#include "gb_validate.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 200
#define IDEMPOTENCY_KEY_MAX 255

/* Who may queue and cancel: anyone of the company but a viewer, who only
 * reads. */
#define ROLES_WRITE (GB_ROLES_ADMIN | GB_ROLE_MEMBER)

/* What a task looks like to clients (k is gerbang.tasks).  A list leaves
 * out input and result (GET one for them). */
#define TASK_COLS(input, result) \
	"k.id, k.kind, k.status, " input " AS input, " result " AS result, k.error, " \
	"k.attempts, to_json(k.created_at) #>> '{}' AS created_at, " \
	"to_json(k.updated_at) #>> '{}' AS updated_at, " \
	"to_json(k.started_at) #>> '{}' AS started_at, " \
	"to_json(k.finished_at) #>> '{}' AS finished_at"
#define FULL_COLS TASK_COLS("k.input::text", "k.result::text")
#define LIST_COLS TASK_COLS("NULL::text", "NULL::text")
enum { C_ID, C_KIND, C_STATUS, C_INPUT, C_RESULT, C_ERROR, C_ATTEMPTS, C_CREATED, C_UPDATED,
       C_STARTED, C_FINISHED, C_NCOLS };

/* The company's active tasks (gerbang.task_counts, at most 16 rows), and
 * the new row if they are fewer than the limit ($6) and the key ($3) is
 * new, with the task's advisory lock held until the transaction ends (a
 * worker that takes the message before the COMMIT waits on it): one round
 * trip. */
static const struct gb_stmt q_insert = {
	"task_insert",
	"WITH active AS (SELECT coalesce(sum(active), 0) AS n FROM gerbang.task_counts), "
	"ins AS ("
	"  INSERT INTO gerbang.tasks AS k (kind, input, idempotency_key, request_sha256, created_by) "
	"  SELECT $1, $2::jsonb, $3, $4, $5::uuid FROM active WHERE active.n < $6::bigint "
	"  ON CONFLICT ON CONSTRAINT tasks_idempotency DO NOTHING "
	"  RETURNING " FULL_COLS ") "
	"SELECT ins.*, (SELECT n FROM active), gerbang.task_lock(ins.id) "
	"FROM (VALUES (1)) one LEFT JOIN ins ON true", 6 };
/* A group of new tasks of one company without Idempotency-Key (see "group
 * commit" below), ids made by the program: $1 ids, $2 kinds, $3 inputs, $4
 * SHA-256s, $5 creators, as arrays; $6 the limit.  The tasks past the
 * limit, in the group's order, are not inserted.  Each inserted task's
 * advisory lock is held until the transaction ends. */
static const struct gb_stmt q_insert_group = {
	"task_insert_group",
	"WITH active AS (SELECT coalesce(sum(active), 0) AS n FROM gerbang.task_counts), "
	"src AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::uuid[]) "
	"        WITH ORDINALITY AS s (id, kind, input, sha, created_by, ord)), "
	"ins AS ("
	"  INSERT INTO gerbang.tasks AS k (id, kind, input, request_sha256, created_by) "
	"  SELECT s.id, s.kind, s.input, s.sha, s.created_by FROM src s, active "
	"  WHERE active.n + s.ord <= $6::bigint ORDER BY s.ord "
	"  RETURNING k.id, k.status, to_json(k.created_at) #>> '{}' AS created_at) "
	"SELECT ins.id, ins.status, ins.created_at, gerbang.task_lock(ins.id) FROM ins", 6 };
static const struct gb_stmt q_by_key = {
	"task_by_key",
	"SELECT " FULL_COLS ", k.request_sha256 FROM gerbang.tasks k WHERE k.idempotency_key = $1", 1 };
static const struct gb_stmt q_get = {
	"task_get", "SELECT " FULL_COLS " FROM gerbang.tasks k WHERE k.id = $1::uuid", 1 };
/* Newest first; the cursor is the last id of the previous page (of this
 * company: another's finds no row, so the page is empty). */
static const struct gb_stmt q_list = {
	"task_list",
	"SELECT " LIST_COLS " FROM gerbang.tasks k "
	"WHERE ($1::uuid IS NULL OR (k.created_at, k.id) < "
	"       (SELECT c.created_at, c.id FROM gerbang.tasks c WHERE c.id = $1::uuid)) "
	"AND ($2::text IS NULL OR k.status = $2) AND ($3::text IS NULL OR k.kind = $3) "
	"ORDER BY k.created_at DESC, k.id DESC LIMIT $4::int", 4 };
/* The task's status before, and the cancelled task when it was PENDING.
 * The lock orders it with a worker's start: whichever is first wins. */
static const struct gb_stmt q_cancel = {
	"task_cancel",
	"WITH t AS (SELECT id, status FROM gerbang.tasks WHERE id = $1::uuid FOR UPDATE), "
	"u AS (UPDATE gerbang.tasks k SET status = 'CANCELLED', finished_at = now(), "
	"      updated_at = now() FROM t WHERE k.id = t.id AND t.status = 'PENDING' "
	"      RETURNING " FULL_COLS ") "
	"SELECT u.*, t.status FROM t LEFT JOIN u ON true", 1 };

#define NO_SUCH_TASK "no such task"

static struct gb_task_keys keys;
/* The connections of the group commit (below), made at its first group. */
static struct gb_db *group_db;
static struct gb_redis *group_redis;

static int
tasks_init(const struct gb_config *cfg)
{
	if (gb_task_keys_init(&keys, cfg->task_prefix) != GB_OK) {
		fprintf(stderr, "gerbang-tasks: configuration: TASK_PREFIX: is longer than %d bytes\n",
		        GB_TASK_KEY_MAX - 16);
		return -1;
	}
	return 0;
}

static void
tasks_fini(void)
{
	gb_db_free(group_db);
	group_db = NULL;
	gb_redis_free(group_redis);
	group_redis = NULL;
}

static struct gb_db *
db_of(struct gb_ctx *c)
{
	struct gb_db *db = gb_ctx_db(c);

	if (db == NULL)
		gb_fail_err(c, GB_ENOMEM);
	return db;
}

/* A failed statement: rolled back, logged, 503/504 (or 422 for values the
 * database refused, which validation should have caught). */
static void
db_failed(struct gb_ctx *c, struct gb_db *db, enum gb_err e)
{
	gb_log_db_error(c, db, e);
	gb_db_tx_abort(db);
	if (e == GB_EVALIDATION)
		gb_fail(c, 422, "invalid values", NULL);
	else
		gb_fail_err(c, e == GB_ETIMEOUT ? GB_ETIMEOUT : GB_EDB);
}

/* The {id} of the path as a lowercase UUID, false when it is none. */
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

/* A jsonb column as JSON; null when NULL (or, never expected, unreadable). */
static json_t *
jsonb(const PGresult *res, int row, int col)
{
	json_t *j;

	if (PQgetisnull(res, row, col))
		return json_null();
	j = json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY, NULL);
	return j != NULL ? j : json_null();
}

static json_t *
text_or_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

/* Row row of a FULL_COLS or LIST_COLS result (full: with input and result). */
static json_t *
task_json(const PGresult *res, int row, bool full)
{
	json_t *t = json_pack("{s:s, s:s, s:s, s:o, s:I, s:s, s:s, s:o, s:o}",
	                      "id", PQgetvalue(res, row, C_ID),
	                      "kind", PQgetvalue(res, row, C_KIND),
	                      "status", PQgetvalue(res, row, C_STATUS),
	                      "error", text_or_null(res, row, C_ERROR),
	                      "attempts", (json_int_t)strtol(PQgetvalue(res, row, C_ATTEMPTS), NULL, 10),
	                      "created_at", PQgetvalue(res, row, C_CREATED),
	                      "updated_at", PQgetvalue(res, row, C_UPDATED),
	                      "started_at", text_or_null(res, row, C_STARTED),
	                      "finished_at", text_or_null(res, row, C_FINISHED));

	if (t != NULL && full &&
	    (json_object_set_new(t, "input", jsonb(res, row, C_INPUT)) != 0 ||
	     json_object_set_new(t, "result", jsonb(res, row, C_RESULT)) != 0)) {
		json_decref(t);
		return NULL;
	}
	return t;
}

static json_t *
task_list_json(const PGresult *res, int row)
{
	return task_json(res, row, false);
}

/* The answer to a queued task, new or replayed: 202 and where to look. */
static void
accepted_task(struct gb_ctx *c, const char *id, const char *kind, const char *status,
              const char *created_at, bool replayed)
{
	const char *where = gb_arena_cat(c->arena, "/v1/tasks/", id, NULL);

	if (where == NULL) {
		gb_fail_err(c, GB_ENOMEM);
		return;
	}
	gb_header(c, "Location", where);
	if (replayed)
		gb_header(c, "Idempotent-Replayed", "true");
	gb_ok(c, 202, replayed ? "task already queued" : "task queued",
	      json_pack("{s:s, s:s, s:s, s:s, s:s}", "task_id", id, "kind", kind,
	                "status", status, "created_at", created_at, "location", where));
}

static void
accepted(struct gb_ctx *c, const PGresult *res, bool replayed)
{
	accepted_task(c, PQgetvalue(res, 0, C_ID), PQgetvalue(res, 0, C_KIND),
	              PQgetvalue(res, 0, C_STATUS), PQgetvalue(res, 0, C_CREATED), replayed);
}

/* Idempotency-Key: absent (NULL), or 1 to 255 visible ASCII characters.
 * Returns false after answering 422. */
static bool
idempotency_key(struct gb_ctx *c, const char **key)
{
	const char *k = gb_req_header(&c->req, "Idempotency-Key");
	size_t i, n;

	*key = k;
	if (k == NULL)
		return true;
	n = strlen(k);
	for (i = 0; i < n && k[i] > ' ' && k[i] < 0x7f; i++)
		;
	if (n == 0 || n > IDEMPOTENCY_KEY_MAX || i != n) {
		gb_fail(c, 422, "invalid Idempotency-Key", gb_field_error(NULL, "Idempotency-Key",
		        "must be 1 to 255 visible ASCII characters"));
		return false;
	}
	return true;
}

/* The key was used before: the same request gets its task again, another
 * one is a conflict.  Ends the transaction. */
static void
replay(struct gb_ctx *c, struct gb_db *db, const char *key, const char *sha)
{
	PGresult *res = NULL;
	enum gb_err e;

	e = gb_db_tx_exec(db, &q_by_key, (const char *const[]){ key }, &res);
	if (e != GB_OK) {
		db_failed(c, db, e);
		return;
	}
	gb_db_tx_abort(db);     /* read only: nothing to commit */
	if (PQntuples(res) != 1) {
		/* The key is new: the insert found the company over its limit. */
		PQclear(res);
		gb_header(c, "Retry-After", "5");
		gb_fail(c, 429, "too many queued tasks", NULL);
		return;
	}
	if (strcmp(PQgetvalue(res, 0, C_NCOLS), sha) != 0)
		gb_fail(c, 409, "the Idempotency-Key was used for another request",
		        gb_field_error(NULL, "Idempotency-Key",
		                       "was used with another kind or input"));
	else
		accepted(c, res, true);
	PQclear(res);
}

/* Queues a task of kind name (from the path, or an alias's). */
/* ---- group commit ---------------------------------------------------------- */

/* A new task without Idempotency-Key does not get a transaction of its
 * own: the serving threads that queue tasks at the same time share one.
 * One group runs at a time.  A thread that arrives while none runs takes
 * every waiting task of the oldest one's company (at most
 * GB_TASK_PUSH_MAX) and runs the group on the group's own connections to
 * PostgreSQL and Redis: one multi-row INSERT, one LPUSH of all their
 * messages, one COMMIT; then it wakes the others, which answer their
 * requests, and the next group starts with the tasks that came meanwhile.
 * Alone, a task is a group of one and waits for nobody; under load one
 * commit (and its WAL flush) serves many, which is why gerbang-tasks runs
 * more threads than the others (TASKS_THREADS).  Measured on 2 cores: 16
 * threads queue about three times as many tasks a second as 4 threads
 * with a transaction each, at a fifth of PostgreSQL's CPU per task; two
 * groups at a time did worse than one.  All or nothing still holds per
 * group: a failed push or commit fails every task of the group (503),
 * none is left half made. */

struct pending {
	/* the request's task, set by its thread */
	const char *company_id;
	const char *kind;
	const char *input;          /* canonical JSON */
	const char *sha;
	const char *created_by;     /* NULL: nobody */
	char id[37];                /* made here: random, version 4 */
	/* the outcome, set by the thread that ran the group, which then
	 * publishes it as state under group_mu (the only field the waiting
	 * thread reads before it has an outcome) */
	enum { P_WAITING, P_QUEUED, P_FULL, P_FAILED } state, outcome;
	enum gb_err err;            /* P_FAILED: GB_EREDIS for the queue, else the database's */
	char status[16];
	char created_at[48];
	pthread_cond_t wake;        /* signalled when it has an outcome, or may
	                             * run the next group */
	struct pending *next;
};

static pthread_mutex_t group_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pending *waiting;     /* oldest first */
static bool group_running;

/* A random (version 4) UUID, lowercase. */
static void
new_uuid(char out[37])
{
	unsigned char b[16];

	gb_random_bytes(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
}

/* Appends s as an element of a PostgreSQL array literal: quoted, with
 * quotes and backslashes escaped; NULL as NULL. */
static void
array_elem(struct gb_buf *b, const char *s, bool first)
{
	if (!first)
		gb_buf_putc(b, ',');
	if (s == NULL) {
		gb_buf_puts(b, "NULL");
		return;
	}
	gb_buf_putc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			gb_buf_putc(b, '\\');
		gb_buf_putc(b, *s);
	}
	gb_buf_putc(b, '"');
}

/* Takes the waiting tasks of the oldest one's company, in order, into
 * group (at most GB_TASK_PUSH_MAX).  Under group_mu. */
static size_t
take_group(struct pending **group)
{
	struct pending **pp = &waiting, *p;
	const char *company = waiting->company_id;
	size_t n = 0;

	while ((p = *pp) != NULL && n < GB_TASK_PUSH_MAX) {
		if (strcmp(p->company_id, company) == 0) {
			*pp = p->next;
			p->next = NULL;
			group[n++] = p;
		} else {
			pp = &p->next;
		}
	}
	return n;
}

static void
fail_group(struct pending **group, size_t n, enum gb_err e)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (group[i]->outcome == P_WAITING || group[i]->outcome == P_QUEUED) {
			group[i]->outcome = P_FAILED;
			group[i]->err = e;
		}
}

/* Runs one group (the one running): every task gets an outcome. */
static void
run_group(struct gb_ctx *c, struct pending **group, size_t n)
{
	struct gb_buf ids = GB_BUF_INIT, kinds = GB_BUF_INIT, inputs = GB_BUF_INIT,
	              shas = GB_BUF_INIT, creators = GB_BUF_INIT;
	struct gb_buf *arrays[] = { &ids, &kinds, &inputs, &shas, &creators };
	char max[24], (*msgbuf)[GB_TASK_MSG_MAX] = NULL;
	const char *msgs[GB_TASK_PUSH_MAX];
	struct gb_task_msg msg;
	struct gb_db *db;
	struct gb_redis *r;
	PGresult *res = NULL;
	size_t i, k, nq = 0;
	enum gb_err e;
	int row;

	for (k = 0; k < 5; k++)
		gb_buf_putc(arrays[k], '{');
	for (i = 0; i < n; i++) {
		array_elem(&ids, group[i]->id, i == 0);
		array_elem(&kinds, group[i]->kind, i == 0);
		array_elem(&inputs, group[i]->input, i == 0);
		array_elem(&shas, group[i]->sha, i == 0);
		array_elem(&creators, group[i]->created_by, i == 0);
	}
	if (group_db == NULL)
		group_db = gb_db_new(c->cfg->database_url, (int)c->cfg->db_timeout_ms);
	db = group_db;
	e = GB_OK;
	for (k = 0; k < 5; k++)
		if (gb_buf_putc(arrays[k], '}') != 0 || gb_buf_failed(arrays[k]))
			e = GB_ENOMEM;
	if (e == GB_OK && (db == NULL || (msgbuf = calloc(n, sizeof(*msgbuf))) == NULL))
		e = GB_ENOMEM;
	if (e != GB_OK) {
		fail_group(group, n, e);
		goto out;
	}
	snprintf(max, sizeof(max), "%ld", c->cfg->tasks_max_queued);
	gb_db_tx_begin(db, group[0]->company_id);
	e = gb_db_tx_exec(db, &q_insert_group, (const char *const[]){ ids.data, kinds.data,
	                  inputs.data, shas.data, creators.data, max }, &res);
	if (e != GB_OK) {
		gb_log_db_error(c, db, e);
		gb_db_tx_abort(db);
		fail_group(group, n, e);
		goto out;
	}
	/* Inserted: queued once pushed and committed; the others are past
	 * the company's limit. */
	for (i = 0; i < n; i++)
		group[i]->outcome = P_FULL;
	for (row = 0; row < PQntuples(res); row++)
		for (i = 0; i < n; i++)
			if (strcmp(PQgetvalue(res, row, 0), group[i]->id) == 0) {
				group[i]->outcome = P_QUEUED;
				snprintf(group[i]->status, sizeof(group[i]->status), "%s",
				         PQgetvalue(res, row, 1));
				snprintf(group[i]->created_at, sizeof(group[i]->created_at), "%s",
				         PQgetvalue(res, row, 2));
				break;
			}
	for (i = 0; i < n; i++) {
		if (group[i]->outcome != P_QUEUED)
			continue;
		memset(&msg, 0, sizeof(msg));
		snprintf(msg.task_id, sizeof(msg.task_id), "%s", group[i]->id);
		snprintf(msg.company_id, sizeof(msg.company_id), "%s", group[i]->company_id);
		snprintf(msg.kind, sizeof(msg.kind), "%s", group[i]->kind);
		msg.delivery = 1;
		if (gb_task_msg_format(&msg, msgbuf[nq]) == 0) {
			e = GB_EINVAL;
			break;
		}
		msgs[nq] = msgbuf[nq];
		nq++;
	}
	if (nq == 0 || e != GB_OK) {
		/* nothing to queue (all past the limit), or a message that
		 * cannot be written (never expected) */
		gb_db_tx_abort(db);
		if (e != GB_OK)
			fail_group(group, n, GB_EREDIS);
		goto out;
	}
	if (group_redis == NULL)
		group_redis = gb_redis_new(c->cfg->redis_url, (int)c->cfg->redis_timeout_ms, NULL);
	r = group_redis;
	e = r == NULL ? GB_EREDIS : gb_task_push_many(r, &keys, msgs, nq);
	if (e != GB_OK) {
		gb_db_tx_abort(db);
		gb_log(GB_LOG_ERROR, c->req.request_id, "cannot queue tasks: rolled back", "error",
		       r != NULL ? gb_redis_last_error(r) : "no Redis handle", NULL);
		fail_group(group, n, GB_EREDIS);
		goto out;
	}
	if ((e = gb_db_tx_commit(db)) != GB_OK) {
		/* The messages stay; they name no row, and the workers drop them. */
		gb_log_db_error(c, db, e);
		gb_db_tx_abort(db);
		fail_group(group, n, e);
	}
out:
	PQclear(res);
	free(msgbuf);
	for (k = 0; k < 5; k++)
		gb_buf_free(arrays[k]);
}

/* Queues p with the other tasks waiting now; returns once it has an
 * outcome.  The calling thread may run groups, its own or others'. */
static void
enqueue(struct gb_ctx *c, struct pending *p)
{
	struct pending *group[GB_TASK_PUSH_MAX], **pp;
	size_t n;

	new_uuid(p->id);
	p->state = p->outcome = P_WAITING;
	p->next = NULL;
	pthread_cond_init(&p->wake, NULL);
	pthread_mutex_lock(&group_mu);
	for (pp = &waiting; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = p;
	while (p->state == P_WAITING) {
		if (!group_running && waiting != NULL) {
			n = take_group(group);
			group_running = true;
			pthread_mutex_unlock(&group_mu);
			run_group(c, group, n);
			pthread_mutex_lock(&group_mu);
			/* Wake exactly the group's threads, and the oldest waiting
			 * one to run the next group: a broadcast to every waiting
			 * thread cost more in context switches than the group
			 * saved. */
			while (n > 0) {
				n--;
				group[n]->state = group[n]->outcome;
				if (group[n] != p)
					pthread_cond_signal(&group[n]->wake);
			}
			group_running = false;
			if (waiting != NULL && waiting != p)
				pthread_cond_signal(&waiting->wake);
		} else {
			pthread_cond_wait(&p->wake, &group_mu);
		}
	}
	pthread_mutex_unlock(&group_mu);
	pthread_cond_destroy(&p->wake);
}

/* Queues a new task without Idempotency-Key and answers. */
static void
queue_new(struct gb_ctx *c, struct pending *p)
{
	enqueue(c, p);
	switch (p->state) {
	case P_QUEUED:
		gb_metrics_task(p->kind, "queued");
		gb_log(GB_LOG_INFO, c->req.request_id, "task queued", "task_id", p->id,
		       "kind", p->kind, "company_id", c->company_id, NULL);
		accepted_task(c, p->id, p->kind, p->status, p->created_at, false);
		break;
	case P_FULL:
		gb_header(c, "Retry-After", "5");
		gb_fail(c, 429, "too many queued tasks", NULL);
		break;
	default:
		if (p->err == GB_EREDIS) {
			gb_header(c, "Retry-After", "1");
			gb_fail(c, 503, "the task queue is unavailable", NULL);
		} else if (p->err == GB_EVALIDATION) {
			gb_fail(c, 422, "invalid values", NULL);
		} else {
			gb_fail_err(c, p->err == GB_ETIMEOUT || p->err == GB_ENOMEM ? p->err : GB_EDB);
		}
		break;
	}
}

static void
create(struct gb_ctx *c, const char *name)
{
	const struct gb_task_kind *kind = gb_task_kind_find(name);
	char sha[65], max[24], msgbuf[GB_TASK_MSG_MAX];
	json_t *body = NULL, *input = NULL, *errors = NULL;
	const char *key, *created_by;
	char *canonical = NULL, *hashed = NULL;
	struct gb_req_error rerr;
	struct gb_task_msg msg;
	struct gb_redis *r;
	PGresult *res = NULL;
	struct gb_db *db;
	enum gb_err e;

	if (kind == NULL) {
		gb_fail(c, 404, "no such task kind", gb_field_error(NULL, "kind",
		        "must be one of echo, generate_text"));
		return;
	}
	if (!idempotency_key(c, &key))
		return;
	if (gb_req_json(&c->req, &body, &rerr) != GB_OK) {
		gb_fail_req(c, &rerr);
		return;
	}
	input = kind->validate(body, c->cfg, &errors);
	if (errors != NULL || input == NULL) {
		if (errors != NULL)
			gb_fail(c, 422, "invalid fields", errors);
		else
			gb_fail_err(c, GB_ENOMEM);
		goto out;
	}
	/* The request's identity for Idempotency-Key: the kind and the input
	 * as stored, keys sorted. */
	canonical = json_dumps(input, JSON_COMPACT | JSON_SORT_KEYS);
	hashed = canonical != NULL ? gb_arena_cat(c->arena, kind->name, "\n", canonical, NULL) : NULL;
	if (hashed == NULL || gb_sha256_hex(hashed, strlen(hashed), sha) != GB_OK) {
		gb_fail_err(c, GB_ENOMEM);
		goto out;
	}
	if ((db = db_of(c)) == NULL)
		goto out;
	created_by = gb_v_uuid(c->auth.sub) ? c->auth.sub : NULL;
	if (key == NULL) {
		queue_new(c, &(struct pending){ .company_id = c->company_id, .kind = kind->name,
		          .input = canonical, .sha = sha, .created_by = created_by });
		goto out;
	}
	snprintf(max, sizeof(max), "%ld", c->cfg->tasks_max_queued);
	gb_db_tx_begin(db, c->company_id);
	e = gb_db_tx_exec(db, &q_insert, (const char *const[]){ kind->name, canonical, key, sha,
	                  created_by, max }, &res);
	if (e != GB_OK) {
		db_failed(c, db, e);
		goto out;
	}
	if (PQgetisnull(res, 0, C_ID)) {
		if (key != NULL) {
			replay(c, db, key, sha);
		} else {
			gb_db_tx_abort(db);
			gb_header(c, "Retry-After", "5");
			gb_fail(c, 429, "too many queued tasks", NULL);
		}
		goto out;
	}

	/* The row exists in the open transaction: push, then commit. */
	memset(&msg, 0, sizeof(msg));
	snprintf(msg.task_id, sizeof(msg.task_id), "%s", PQgetvalue(res, 0, C_ID));
	snprintf(msg.company_id, sizeof(msg.company_id), "%s", c->company_id);
	snprintf(msg.kind, sizeof(msg.kind), "%s", kind->name);
	msg.delivery = 1;
	r = gb_ctx_redis(c);
	e = gb_task_msg_format(&msg, msgbuf) == 0 ? GB_EINVAL :
	    r == NULL ? GB_EREDIS : gb_task_push(r, &keys, msgbuf);
	if (e != GB_OK) {
		gb_db_tx_abort(db);
		gb_log(GB_LOG_ERROR, c->req.request_id, "cannot queue a task: rolled back",
		       "kind", kind->name, "error", e == GB_EINVAL ? "bad message" :
		       r != NULL ? gb_redis_last_error(r) : "no Redis handle", NULL);
		gb_header(c, "Retry-After", "1");
		gb_fail(c, 503, "the task queue is unavailable", NULL);
		goto out;
	}
	e = gb_db_tx_commit(db);
	if (e != GB_OK) {
		/* The message stays; it names no row, and the worker drops it. */
		db_failed(c, db, e);
		goto out;
	}
	gb_metrics_task(kind->name, "queued");
	gb_log(GB_LOG_INFO, c->req.request_id, "task queued", "task_id", msg.task_id,
	       "kind", kind->name, "company_id", c->company_id, NULL);
	accepted(c, res, false);
out:
	PQclear(res);
	free(canonical);
	json_decref(input);
	json_decref(body);
}

static void
task_create(struct gb_ctx *c)
{
	create(c, gb_route_param(&c->match, "kind"));
}

static void
alias_generate_text(struct gb_ctx *c)
{
	create(c, "generate_text");
}

static void
task_get(struct gb_ctx *c)
{
	struct gb_db *db;
	PGresult *res = NULL;
	char id[37];
	enum gb_err e;

	if (!path_id(c, id)) {
		gb_fail(c, 404, NO_SUCH_TASK, NULL);
		return;
	}
	if ((db = db_of(c)) == NULL)
		return;
	e = gb_db_tenant(db, c->company_id, &q_get, (const char *const[]){ id }, &res);
	if (e != GB_OK) {
		db_failed(c, db, e);
		return;
	}
	if (PQntuples(res) != 1)
		gb_fail(c, 404, NO_SUCH_TASK, NULL);
	else
		gb_ok(c, 200, "task", task_json(res, 0, true));
	PQclear(res);
}

/* ?limit= ?cursor= ?status= ?kind=; false after answering 422 with every
 * bad parameter named. */
static bool
list_args(struct gb_ctx *c, long *limit, const char **cursor, const char **status,
          const char **kind)
{
	const char *l = gb_query_get(&c->req.query, "limit");
	json_t *errors = NULL;

	*limit = PAGE_DEFAULT;
	*cursor = gb_query_get(&c->req.query, "cursor");
	*status = gb_query_get(&c->req.query, "status");
	*kind = gb_query_get(&c->req.query, "kind");
	if (l != NULL && gb_parse_long(l, 1, PAGE_MAX, limit) != GB_OK)
		gb_v_error(&errors, "limit", "must be a whole number from 1 to 200");
	if (*cursor != NULL && !gb_v_uuid(*cursor))
		gb_v_error(&errors, "cursor", "is not a valid cursor");
	if (*status != NULL && !gb_task_status_ok(*status))
		gb_v_error(&errors, "status",
		           "must be one of PENDING, STARTED, SUCCESS, FAILURE, CANCELLED");
	if (*kind != NULL && gb_task_kind_find(*kind) == NULL)
		gb_v_error(&errors, "kind", "must be one of echo, generate_text");
	if (errors != NULL) {
		gb_fail(c, 422, "invalid query", errors);
		return false;
	}
	return true;
}

static void
task_list(struct gb_ctx *c)
{
	const char *cursor, *status, *kind;
	json_t *data;
	struct gb_db *db;
	PGresult *res = NULL;
	char lim[24];
	long limit;
	int n, i;
	enum gb_err e;

	if (!list_args(c, &limit, &cursor, &status, &kind) || (db = db_of(c)) == NULL)
		return;
	snprintf(lim, sizeof(lim), "%ld", limit + 1);
	e = gb_db_tenant(db, c->company_id, &q_list,
	                 (const char *const[]){ cursor, status, kind, lim }, &res);
	if (e != GB_OK) {
		db_failed(c, db, e);
		return;
	}
	/* limit + 1 rows were asked: the extra one only says there is more */
	n = PQntuples(res) > limit ? (int)limit : PQntuples(res);
	data = json_array();
	for (i = 0; data != NULL && i < n; i++)
		if (json_array_append_new(data, task_list_json(res, i)) != 0) {
			json_decref(data);
			data = NULL;
		}
	if (data == NULL)
		gb_fail_err(c, GB_ENOMEM);
	else
		gb_ok_list(c, 200, "tasks", data, json_pack("{s:I, s:s?}", "limit", (json_int_t)limit,
		           "next_cursor", PQntuples(res) > limit && n > 0 ?
		           PQgetvalue(res, n - 1, C_ID) : NULL));
	PQclear(res);
}

static void
task_cancel(struct gb_ctx *c)
{
	struct gb_db *db;
	PGresult *res = NULL;
	const char *before;
	char id[37];
	enum gb_err e;

	if (!path_id(c, id)) {
		gb_fail(c, 404, NO_SUCH_TASK, NULL);
		return;
	}
	if ((db = db_of(c)) == NULL)
		return;
	e = gb_db_tenant(db, c->company_id, &q_cancel, (const char *const[]){ id }, &res);
	if (e != GB_OK) {
		db_failed(c, db, e);
		return;
	}
	if (PQntuples(res) != 1) {
		gb_fail(c, 404, NO_SUCH_TASK, NULL);
		goto out;
	}
	before = PQgetvalue(res, 0, C_NCOLS);
	if (strcmp(before, "PENDING") == 0) {
		gb_metrics_task(PQgetvalue(res, 0, C_KIND), "cancelled");
		gb_log(GB_LOG_INFO, c->req.request_id, "task cancelled", "task_id", id,
		       "company_id", c->company_id, "by", c->auth.sub, NULL);
		gb_ok(c, 200, "task cancelled", task_json(res, 0, true));
	} else if (strcmp(before, "CANCELLED") == 0) {
		/* Cancelling again changes nothing: the same answer. */
		PQclear(res);
		res = NULL;
		e = gb_db_tenant(db, c->company_id, &q_get, (const char *const[]){ id }, &res);
		if (e != GB_OK)
			db_failed(c, db, e);
		else if (PQntuples(res) != 1)
			gb_fail(c, 404, NO_SUCH_TASK, NULL);
		else
			gb_ok(c, 200, "task cancelled", task_json(res, 0, true));
	} else {
		gb_fail(c, 409, "only a pending task can be cancelled",
		        gb_field_error(NULL, "status", strcmp(before, "STARTED") == 0 ?
		                       "the task has started" : "the task has finished"));
	}
out:
	PQclear(res);
}

static const struct gb_route routes[] = {
	{ "GET", "/v1/tasks", task_list, GB_JWT, 0, NULL },
	{ "POST", "/v1/tasks/{kind}", task_create, GB_JWT, ROLES_WRITE, NULL },
	{ "GET", "/v1/tasks/{id}", task_get, GB_JWT, 0, NULL },
	{ "DELETE", "/v1/tasks/{id}", task_cancel, GB_JWT, ROLES_WRITE, NULL },
	/* the seed's routes, the same handlers */
	{ "POST", "/background/generate_text", alias_generate_text, GB_JWT, ROLES_WRITE, NULL },
	{ "GET", "/background/tasks/{id}", task_get, GB_JWT, 0, NULL },
};

static long
tasks_threads(const struct gb_config *cfg)
{
	return cfg->tasks_threads;
}

static const struct gb_app app = {
	.name = "gerbang-tasks",
	.service = "tasks",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.init = tasks_init,
	.fini = tasks_fini,
	.threads = tasks_threads,
};

int
main(int argc, char **argv)
{
	return gb_serve_main(argc, argv, &app);
}
