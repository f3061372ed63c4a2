/* gerbang-worker: runs the background tasks gerbang-tasks queues.
 *
 *   gerbang-worker [--concurrency N] [--id NAME]
 *
 * WORKER_CONCURRENCY threads each loop: take a message (gb_task_take: a
 * bounded BLMOVE into the processing list, and a visibility deadline),
 * start the task in PostgreSQL (gerbang.task_start: PENDING or STARTED ->
 * STARTED, attempts + 1, under row-level security for the message's
 * company, as the runtime role), run it through the adapter its kind is
 * configured to use, write the outcome with a conditional update (only a
 * STARTED task takes a result, so a task that ran twice keeps the first
 * result), then settle the message.  The main thread waits for signals
 * and, every second, re-delivers messages past their deadline and moves
 * due retries back to the queue (gb_task_reap).
 *
 * Outcomes: success -> SUCCESS; a transient failure -> PENDING again and a
 * retry after gb_task_backoff_ms, until TASK_MAX_ATTEMPTS runs; a
 * permanent failure, or the last attempt -> FAILURE and the dead-letter
 * list.  A task whose every attempt was cut short by its worker dying
 * (found with attempts beyond the maximum) fails the same way.  The
 * circuit of the chat-completions API refuses without spending an
 * attempt: the task waits in the delayed set until the circuit may
 * half-open.
 *
 * SIGTERM (or SIGINT): no new task is taken; a running task finishes, or,
 * if it is waiting on the API, is stopped and returned to the front of
 * the queue (PENDING, its attempt not counted).  Then everything is freed
 * and the process exits 0.
 *
 * Exit statuses: 0; 64 usage; 70 internal; 78 configuration.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gb_breaker.h"
#include "gb_config.h"
#include "gb_db.h"
#include "gb_llm.h"
#include "gb_llm_client.h"
#include "gb_log.h"
#include "gb_metrics.h"
#include "gb_redis.h"
#include "gb_task.h"
#include "gb_time.h"

#define PROG "gerbang-worker"
#define TAKE_BLOCK_MS 1000      /* a taking thread notices a stop within this */
#define REAP_EVERY_MS 1000
#define IDLE_MS 500             /* after PostgreSQL or Redis failed ... */
#define IDLE_MAX_MS 5000        /* ... doubled while it goes on failing */
#define OUTAGE_LOG_MS 10000     /* one outage line per thread in this */
#define WRITE_TRIES 3           /* of an outcome, while PostgreSQL is away */
#define ERROR_MAX 500           /* bytes of a task's error text */

static atomic_bool stopping;
static struct gb_config cfg;
static struct gb_task_keys keys;
static struct gb_breaker llm_breaker;
static struct gb_llm_options llm_opts;
static char worker_id[96];

/* ---- adapters ------------------------------------------------------------------ */

enum outcome {
	DONE,                   /* *result is the task's result */
	RETRY,                  /* transient: again later, if attempts remain */
	FAIL,                   /* permanent: FAILURE now */
	DEFER,                  /* not tried (an open circuit): again in delay_ms,
	                         * the attempt not counted */
	STOPPED,                /* cut short by SIGTERM: back to the queue */
};

struct run {
	json_t *result;         /* DONE: a new reference */
	char error[ERROR_MAX];  /* RETRY, FAIL: for the task and the log */
	long delay_ms;          /* DEFER: when to try; RETRY: the least wait */
};

struct thread;

/* One way of running a task.  Every kind is handled by one adapter:
 * "echo" always by echo, "generate_text" by the one LLM_ADAPTER names. */
struct adapter {
	const char *name;
	struct gb_breaker *breaker;     /* consulted before a task starts, or NULL */
	enum outcome (*run)(struct thread *t, json_t *input, struct run *r);
};

struct thread {
	pthread_t tid;
	unsigned index;
	bool started;
	struct gb_db *db;
	struct gb_redis *redis;
	struct gb_llm_client *llm;      /* made on first use */
};

/* echo: the input's text (or generate_text's prompt) back, offline. */
static enum outcome
run_echo(struct thread *t, json_t *input, struct run *r)
{
	json_t *text = json_object_get(input, "text");

	(void)t;
	if (!json_is_string(text))
		text = json_object_get(input, "prompt");
	if (!json_is_string(text)) {
		snprintf(r->error, sizeof(r->error), "the input has no text");
		return FAIL;
	}
	r->result = json_pack("{s:O}", "text", text);
	if (r->result == NULL) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		return RETRY;
	}
	return DONE;
}

/* openai: one chat completion (gb_llm_client: timeout, retries, the
 * circuit breaker). */
static enum outcome
run_openai(struct thread *t, json_t *input, struct run *r)
{
	struct gb_llm_outcome out;
	struct gb_llm_reply reply;
	json_t *prompt = json_object_get(input, "prompt");
	json_t *max = json_object_get(input, "max_tokens");

	if (!json_is_string(prompt)) {
		snprintf(r->error, sizeof(r->error), "the input has no prompt");
		return FAIL;
	}
	if (t->llm == NULL && (t->llm = gb_llm_client_new(&llm_opts)) == NULL) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		return RETRY;
	}
	if (gb_llm_complete(t->llm, json_string_value(prompt),
	                    json_is_integer(max) ? (long)json_integer_value(max) :
	                    cfg.llm_max_tokens, &reply, &out) == GB_OK) {
		r->result = json_pack("{s:s%, s:s, s:s?}", "text", reply.text, reply.text_len,
		                      "model", reply.model[0] != '\0' ? reply.model : cfg.llm_model,
		                      "finish_reason",
		                      reply.finish_reason[0] != '\0' ? reply.finish_reason : NULL);
		gb_llm_reply_free(&reply);
		if (r->result == NULL) {
			snprintf(r->error, sizeof(r->error), "out of memory");
			return RETRY;
		}
		gb_metrics_circuit("llm", GB_BREAKER_CLOSED);
		return DONE;
	}
	gb_metrics_circuit("llm", (int)gb_breaker_state(&llm_breaker, gb_mono_us() / 1000));
	snprintf(r->error, sizeof(r->error), "%s", out.why);
	if (out.stopped)
		return STOPPED;
	if (out.circuit_open) {
		/* Nothing sent: the attempt does not count.  After a failed
		 * request it does, and the retry waits for the circuit too. */
		r->delay_ms = out.retry_in_ms;
		return out.requests == 0 ? DEFER : RETRY;
	}
	return out.retryable ? RETRY : FAIL;
}

static const struct adapter adapter_echo = { "echo", NULL, run_echo };
static const struct adapter adapter_openai = { "openai", &llm_breaker, run_openai };

static const struct adapter *
adapter_for(const char *kind)
{
	if (strcmp(kind, "echo") == 0)
		return &adapter_echo;
	if (strcmp(kind, "generate_text") == 0)
		return cfg.llm_adapter == GB_LLM_ECHO ? &adapter_echo : &adapter_openai;
	return NULL;
}

/* ---- PostgreSQL ------------------------------------------------------------------ */

static const struct gb_stmt q_start = {
	"task_start", "SELECT kind, input::text, attempts FROM gerbang.task_start($1::uuid)", 1 };
/* Each outcome only moves a STARTED task: a second run of a task never
 * overwrites the first's result, nor a cancellation. */
static const struct gb_stmt q_success = {
	"task_success",
	"UPDATE gerbang.tasks SET status = 'SUCCESS', result = $2::jsonb, error = NULL, "
	"finished_at = now(), updated_at = now() "
	"WHERE id = $1::uuid AND status = 'STARTED' RETURNING id", 2 };
static const struct gb_stmt q_failure = {
	"task_failure",
	"UPDATE gerbang.tasks SET status = 'FAILURE', error = $2, finished_at = now(), "
	"updated_at = now() WHERE id = $1::uuid AND status = 'STARTED' RETURNING id", 2 };
static const struct gb_stmt q_retry = {
	"task_retry",
	"UPDATE gerbang.tasks SET status = 'PENDING', error = $2, updated_at = now() "
	"WHERE id = $1::uuid AND status = 'STARTED' RETURNING id", 2 };
/* Not tried after all (stopped, circuit open): the attempt does not count. */
static const struct gb_stmt q_return = {
	"task_return",
	"UPDATE gerbang.tasks SET status = 'PENDING', attempts = greatest(attempts - 1, 0), "
	"updated_at = now() WHERE id = $1::uuid AND status = 'STARTED' RETURNING id", 1 };

/* Sleeps ms in slices, returning early when stopping. */
static void
nap(long ms)
{
	int64_t end = gb_mono_us() / 1000 + ms, left;
	struct timespec ts;

	while (!atomic_load(&stopping) && (left = end - gb_mono_us() / 1000) > 0) {
		if (left > 100)
			left = 100;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000000L;
		nanosleep(&ts, NULL);
	}
}

/* Logs a failure of PostgreSQL or Redis at most once in OUTAGE_LOG_MS per
 * thread: an outage must not flood the journal. */
static void
outage(const char *what, const char *error, const struct gb_task_msg *m)
{
	static _Thread_local int64_t last;
	int64_t now = gb_mono_us();

	if (last != 0 && now - last < OUTAGE_LOG_MS * 1000)
		return;
	last = now;
	gb_log(GB_LOG_WARN, NULL, what, "error", error, "task_id", m != NULL ? m->task_id : NULL,
	       NULL);
}

/* Writes an outcome with st (params: the task id, then arg when st has
 * two), trying again while PostgreSQL is away.  1: the task moved; 0: it
 * was no longer STARTED (another run or a cancellation came first); -1:
 * PostgreSQL failed every time. */
static int
write_outcome(struct thread *t, const struct gb_task_msg *m, const struct gb_stmt *st,
              const char *arg)
{
	PGresult *res = NULL;
	enum gb_err e = GB_EDB;
	int i, moved;

	for (i = 0; i < WRITE_TRIES; i++) {
		if (i > 0)
			nap(200L << i);
		e = gb_db_tenant(t->db, m->company_id, st, (const char *const[]){ m->task_id, arg },
		                 &res);
		if (e == GB_OK)
			break;
		outage("cannot write a task's outcome", gb_db_last_error(t->db), m);
	}
	if (e != GB_OK)
		return -1;
	moved = PQntuples(res) > 0;
	PQclear(res);
	return moved;
}

/* ---- one message ------------------------------------------------------------------- */

static void
settle(struct thread *t, const char *msg, const struct gb_task_msg *m,
       enum gb_task_settle how, long delay_ms, const char *reason)
{
	enum gb_err e = gb_task_settle(t->redis, &keys, msg, how, delay_ms, reason, NULL);

	/* Unsettled, the message stays in processing: the reaper delivers it
	 * again after its deadline, and its task's state says what is left. */
	if (e != GB_OK)
		outage("cannot settle a task's message", gb_redis_last_error(t->redis), m);
}

static void
log_task(enum gb_log_level level, const char *msg, const struct gb_task_msg *m,
         long attempt, const char *error)
{
	char a[24], d[24];

	snprintf(a, sizeof(a), "%ld", attempt);
	snprintf(d, sizeof(d), "%ld", m->delivery);
	gb_log(level, NULL, msg, "task_id", m->task_id, "company_id", m->company_id,
	       "kind", m->kind, "attempt", a, "delivery", d, "worker", worker_id,
	       "error", error, NULL);
}

/* The end of a task that will not run again: FAILURE, and its message to
 * the dead-letter list. */
static void
fail_task(struct thread *t, const char *msg, const struct gb_task_msg *m, long attempt,
          const char *error)
{
	int moved = write_outcome(t, m, &q_failure, error);

	if (moved < 0)
		return;         /* re-delivered later, decided again */
	if (moved == 0) {
		settle(t, msg, m, GB_TASK_ACK, 0, NULL);
		return;
	}
	settle(t, msg, m, GB_TASK_DEAD, 0, error);
	gb_metrics_task(m->kind, "failure");
	gb_metrics_task(m->kind, "dead_lettered");
	log_task(GB_LOG_WARN, "task failed", m, attempt, error);
}

static void
process(struct thread *t, const char *msg)
{
	const struct adapter *ad;
	struct gb_task_msg m;
	struct run r;
	PGresult *res = NULL;
	json_t *input = NULL;
	char *result = NULL;
	int64_t wait;
	long attempt;
	int moved;
	enum outcome o;
	enum gb_err e;

	memset(&r, 0, sizeof(r));
	if (gb_task_msg_parse(msg, strlen(msg), &m) != GB_OK || (ad = adapter_for(m.kind)) == NULL) {
		/* Nobody can run it: kept for the operator, never retried. */
		gb_log(GB_LOG_ERROR, NULL, "a message no worker can run: dead-lettered",
		       "worker", worker_id, NULL);
		gb_task_settle(t->redis, &keys, msg, GB_TASK_DEAD, 0, "malformed message", NULL);
		gb_metrics_task("unknown", "dead_lettered");
		return;
	}
	/* An open circuit: wait for it without spending an attempt. */
	if (ad->breaker != NULL && !gb_breaker_would_allow(ad->breaker, gb_mono_us() / 1000, &wait)) {
		settle(t, msg, &m, GB_TASK_RETRY, wait > 0 ? (long)wait : 1000, NULL);
		gb_metrics_task(m.kind, "deferred");
		return;
	}

	e = gb_db_tenant(t->db, m.company_id, &q_start, (const char *const[]){ m.task_id }, &res);
	if (e != GB_OK) {
		outage("cannot start a task", gb_db_last_error(t->db), &m);
		settle(t, msg, &m, GB_TASK_RETRY, IDLE_MS, NULL);
		nap(IDLE_MS);
		return;
	}
	if (PQntuples(res) != 1) {
		/* Finished, cancelled, or never committed (its enqueue rolled
		 * back): nothing to do. */
		PQclear(res);
		settle(t, msg, &m, GB_TASK_ACK, 0, NULL);
		gb_metrics_task(m.kind, "dropped");
		log_task(GB_LOG_DEBUG, "message dropped: the task is not pending", &m, 0, NULL);
		return;
	}
	attempt = strtol(PQgetvalue(res, 0, 2), NULL, 10);
	/* The row's kind wins over the message's (they agree unless someone
	 * wrote the message by hand). */
	if (strcmp(PQgetvalue(res, 0, 0), m.kind) != 0) {
		PQclear(res);
		fail_task(t, msg, &m, attempt, "the task's kind does not match its message");
		return;
	}
	input = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
	PQclear(res);
	if (input == NULL) {
		fail_task(t, msg, &m, attempt, "the task's input is unreadable");
		return;
	}
	if (attempt > cfg.task_max_attempts) {
		/* Every earlier run ended with its worker (killed, or past its
		 * deadline): do not start another. */
		char why[160];

		snprintf(why, sizeof(why), "gave up after %ld attempts: the worker running it "
		         "stopped or took too long each time", cfg.task_max_attempts);
		fail_task(t, msg, &m, attempt, why);
		goto out;
	}

	log_task(GB_LOG_DEBUG, "task started", &m, attempt, NULL);
	o = ad->run(t, input, &r);
	switch (o) {
	case DONE:
		result = json_dumps(r.result, JSON_COMPACT);
		if (result == NULL) {
			o = RETRY;
			snprintf(r.error, sizeof(r.error), "out of memory");
			break;
		}
		moved = write_outcome(t, &m, &q_success, result);
		if (moved < 0)
			break;  /* no result written: the message is delivered again */
		settle(t, msg, &m, GB_TASK_ACK, 0, NULL);
		if (moved > 0) {
			gb_metrics_task(m.kind, "success");
			log_task(GB_LOG_INFO, "task finished", &m, attempt, NULL);
		} else {
			log_task(GB_LOG_INFO, "task ran again; its first result stays", &m, attempt,
			         NULL);
		}
		break;
	case DEFER:
	case STOPPED:
		moved = write_outcome(t, &m, &q_return, NULL);
		if (moved < 0)
			break;
		if (moved == 0)
			settle(t, msg, &m, GB_TASK_ACK, 0, NULL);
		else if (o == DEFER)
			settle(t, msg, &m, GB_TASK_RETRY, r.delay_ms, NULL);
		else
			settle(t, msg, &m, GB_TASK_RETURN, 0, NULL);
		if (moved > 0)
			gb_metrics_task(m.kind, o == DEFER ? "deferred" : "returned");
		log_task(GB_LOG_INFO, o == DEFER ? "task deferred: the API's circuit is open" :
		         "task returned to the queue: stopping", &m, attempt, NULL);
		break;
	default:
		break;
	}
	if (o == RETRY && attempt < cfg.task_max_attempts) {
		moved = write_outcome(t, &m, &q_retry, r.error);
		if (moved == 0)
			settle(t, msg, &m, GB_TASK_ACK, 0, NULL);
		else if (moved > 0) {
			long delay = gb_task_backoff_ms(attempt, cfg.task_retry_base_ms,
			                                cfg.task_retry_max_ms);

			settle(t, msg, &m, GB_TASK_RETRY, delay > r.delay_ms ? delay : r.delay_ms,
			       NULL);
			gb_metrics_task(m.kind, "retried");
			log_task(GB_LOG_WARN, "task failed; it will be retried", &m, attempt, r.error);
		}
	} else if (o == RETRY || o == FAIL) {
		fail_task(t, msg, &m, attempt, r.error);
	}
out:
	free(result);
	json_decref(r.result);
	json_decref(input);
}

/* ---- threads ------------------------------------------------------------------------ */

static void *
thread_main(void *arg)
{
	struct thread *t = arg;
	char msg[GB_TASK_MSG_MAX];
	long idle = IDLE_MS;
	enum gb_err e;

	while (!atomic_load(&stopping)) {
		e = gb_task_take(t->redis, &keys, TAKE_BLOCK_MS, cfg.task_visibility_s * 1000, msg);
		if (e == GB_ENOTFOUND) {
			idle = IDLE_MS;
			continue;
		}
		if (e != GB_OK) {
			outage("cannot take a task", gb_redis_last_error(t->redis), NULL);
			nap(idle);
			idle = idle * 2 < IDLE_MAX_MS ? idle * 2 : IDLE_MAX_MS;
			continue;
		}
		idle = IDLE_MS;
		process(t, msg);
	}
	gb_log_thread_end();
	return NULL;
}

static void
thread_free(struct thread *t)
{
	gb_db_free(t->db);
	gb_redis_free(t->redis);
	gb_llm_client_free(t->llm);
	t->db = NULL;
	t->redis = NULL;
	t->llm = NULL;
}

/* One reaper pass, and its metrics. */
static void
reap(struct gb_redis *r)
{
	struct gb_task_reaped out;
	const struct gb_task_kind *k;
	char n[24];
	long i, j;
	enum gb_err e;

	e = gb_task_reap(r, &keys, cfg.task_visibility_s * 1000, &out);
	if (e != GB_OK) {
		outage("cannot re-deliver late tasks", gb_redis_last_error(r), NULL);
		return;
	}
	for (i = 0; (k = gb_task_kind_at((size_t)i)) != NULL; i++)
		for (j = 0; j < out.by_kind[i]; j++)
			gb_metrics_task(k->name, "redelivered");
	if (out.redelivered > 0) {
		snprintf(n, sizeof(n), "%ld", out.redelivered);
		gb_log(GB_LOG_WARN, NULL, "tasks re-delivered: their worker did not finish in time",
		       "count", n, "worker", worker_id, NULL);
	}
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [--concurrency N] [--id NAME]\n"
	           "       " PROG " --version | --help\n"
	           "Runs the tasks of the Redis queue (REDIS_URL, TASK_PREFIX) with N threads\n"
	           "(WORKER_CONCURRENCY), recording them in PostgreSQL (DATABASE_URL).\n"
	           "SIGTERM finishes or returns the running tasks and exits.  See gerbang(7).\n");
}

static int
run(long concurrency)
{
	struct thread *threads;
	struct gb_redis *reaper;
	struct timespec tick = { 0, 200 * 1000000L };
	int64_t last_reap = 0, now;
	sigset_t set;
	long i, started = 0;
	char n[24], pid[24];
	int sig, rc = 0;

	threads = calloc((size_t)concurrency, sizeof(*threads));
	reaper = gb_redis_new(cfg.redis_url, (int)cfg.redis_timeout_ms, NULL);
	if (threads == NULL || reaper == NULL) {
		free(threads);
		gb_redis_free(reaper);
		return 70;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	for (i = 0; i < concurrency; i++) {
		struct thread *t = &threads[i];

		t->index = (unsigned)i;
		t->db = gb_db_new(cfg.database_url, (int)cfg.db_timeout_ms);
		/* BLMOVE waits up to TAKE_BLOCK_MS: the command timeout covers it. */
		t->redis = gb_redis_new(cfg.redis_url, (int)(cfg.redis_timeout_ms + TAKE_BLOCK_MS),
		                        NULL);
		if (t->db == NULL || t->redis == NULL ||
		    pthread_create(&t->tid, NULL, thread_main, t) != 0) {
			thread_free(t);
			continue;
		}
		t->started = true;
		started++;
	}
	if (started == 0) {
		gb_log(GB_LOG_ERROR, NULL, "no worker thread could start", NULL);
		rc = 70;
		atomic_store(&stopping, true);
	} else {
		snprintf(n, sizeof(n), "%ld", started);
		snprintf(pid, sizeof(pid), "%ld", (long)getpid());
		gb_log(GB_LOG_INFO, NULL, "worker ready", "worker", worker_id, "pid", pid,
		       "concurrency", n, "generate_text",
		       cfg.llm_adapter == GB_LLM_ECHO ? "echo" : "openai", "version", PACKAGE_VERSION,
		       NULL);
	}
	while (!atomic_load(&stopping)) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			atomic_store(&stopping, true);
			break;
		}
		if (sig == SIGHUP)
			gb_log(GB_LOG_INFO, NULL, "SIGHUP: nothing to reload; restart to apply "
			       "a new configuration", NULL);
		now = gb_mono_us() / 1000;
		if (now - last_reap >= REAP_EVERY_MS) {
			last_reap = now;
			reap(reaper);
		}
	}
	if (started > 0)
		gb_log(GB_LOG_INFO, NULL, "stopping: finishing or returning the running tasks",
		       "worker", worker_id, NULL);
	for (i = 0; i < concurrency; i++) {
		if (threads[i].started)
			pthread_join(threads[i].tid, NULL);
		thread_free(&threads[i]);
	}
	free(threads);
	gb_redis_free(reaper);
	if (started > 0)
		gb_log(GB_LOG_INFO, NULL, "stopped", "worker", worker_id, NULL);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "concurrency", required_argument, NULL, 'c' },
		{ "id", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct gb_config_error cerr;
	const char *conc_arg = NULL, *id_arg = NULL, *why = NULL;
	char reason[320], host[64];
	long concurrency;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:i:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': conc_arg = optarg; break;
		case 'i': id_arg = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " %s (%s, built %s)\n", PACKAGE_VERSION, GB_GIT_COMMIT,
		                 GB_BUILD_TIME); return 0;
		default: usage(stderr); return 64;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 64;
	}
	if (gb_config_load(&cfg, NULL, &cerr) != GB_OK) {
		fprintf(stderr, PROG ": configuration: %s: %s\n", cerr.key, cerr.msg);
		return 78;
	}
	concurrency = cfg.worker_concurrency;
	rc = 64;
	if (conc_arg != NULL && gb_parse_long(conc_arg, 1, 256, &concurrency) != GB_OK) {
		fprintf(stderr, PROG ": --concurrency must be a whole number from 1 to 256\n");
		goto out;
	}
	if (id_arg != NULL && (strlen(id_arg) == 0 || strlen(id_arg) >= 64)) {
		fprintf(stderr, PROG ": --id must be 1 to 63 characters\n");
		goto out;
	}
	rc = 78;
	if (gb_redis_url_parse(cfg.redis_url, &(struct gb_redis_addr){0}, &why) != GB_OK) {
		fprintf(stderr, PROG ": configuration: REDIS_URL: %s\n", why);
		goto out;
	}
	if (gb_task_config_check(&cfg, reason, sizeof(reason)) != GB_OK) {
		fprintf(stderr, PROG ": configuration: %s\n", reason);
		goto out;
	}
	gb_task_keys_init(&keys, cfg.task_prefix);
	if (id_arg != NULL) {
		snprintf(worker_id, sizeof(worker_id), "%s", id_arg);
	} else {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(worker_id, sizeof(worker_id), "%s:%ld", host, (long)getpid());
	}
	gb_breaker_init(&llm_breaker, (int)cfg.llm_breaker_failures, cfg.llm_breaker_open_ms);
	llm_opts = (struct gb_llm_options){
		.base_url = cfg.llm_base_url, .model = cfg.llm_model, .api_key = cfg.llm_api_key,
		.temperature = cfg.llm_temperature, .timeout_ms = cfg.llm_timeout_ms,
		.retries = cfg.llm_retries, .breaker = &llm_breaker, .stop = &stopping,
	};
	gb_log_init("worker", (enum gb_log_level)cfg.log_level, STDERR_FILENO);
	if (cfg.metrics && gb_metrics_open(cfg.run_dir, reason, sizeof(reason)) != GB_OK)
		gb_log(GB_LOG_WARN, NULL, "metrics off", "error", reason, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, PROG ": cannot initialise libcurl\n");
		rc = 70;
		goto out;
	}
	rc = run(concurrency);
	curl_global_cleanup();
	gb_log_thread_end();
	gb_metrics_close();
out:
	gb_config_free(&cfg);
	return rc;
}
