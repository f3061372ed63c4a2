/* gb_task.h - background tasks: the kinds, their inputs, and the queue in
 * Redis that gerbang-tasks fills and gerbang-worker drains.
 *
 * A task's state and result live in PostgreSQL (gerbang.tasks, under
 * row-level security); its message in Redis only says which task of which
 * company to work on.  A message is the text
 *
 *   t1|TASK_ID|COMPANY_ID|KIND|DELIVERY
 *
 * (two lowercase UUIDs, a kind name, the delivery number from 1), and is
 * kept under the configured prefix (TASK_PREFIX, "gerbang:tasks:"):
 *
 *   queue       list: gerbang-tasks LPUSHes, workers take from the right
 *   processing  list: what workers hold (BLMOVE queue -> processing)
 *   deadlines   zset: processing message -> its visibility deadline (ms)
 *   delayed     zset: message -> when it is due again (retries, backoff)
 *   dead        list: the dead letters, newest first, at most
 *               GB_TASK_DEAD_MAX (JSON: message, reason, at)
 *
 * A worker takes a message with BLMOVE (bounded wait) and gives it a
 * deadline; when it is done it settles the message: ack, retry (to delayed,
 * delivery + 1), dead or back to the queue.  gb_task_reap() re-delivers
 * messages past their deadline (their worker died or hung) and moves due
 * delayed ones back to the queue; each worker process calls it every
 * second.  Every script runs on the Redis server's clock, so workers on
 * several hosts agree on deadlines.  A message is delivered at least once;
 * the worker's conditional result write makes the result exactly once.
 */
#ifndef GB_TASK_H
#define GB_TASK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gb_config.h"
#include "gb_err.h"
#include "gb_redis.h"

#define GB_TASK_KIND_MAX 32        /* bytes of a kind name, NUL included */
#define GB_TASK_MSG_MAX 128        /* bytes of a message, NUL included */
#define GB_TASK_KEY_MAX 256        /* bytes of one Redis key, NUL included */
#define GB_TASK_DEAD_MAX 10000     /* dead letters kept */
#define GB_TASK_REAP_MAX 1000      /* messages one reap moves, each way */
#define GB_TASK_TEXT_MAX 65536     /* bytes of echo's text */
#define GB_TASK_PROMPT_MAX 32768   /* bytes of generate_text's prompt */

/* ---- kinds and their inputs --------------------------------------------- */

struct gb_task_kind {
	const char *name;          /* "echo", "generate_text" */
	/* Checks body (the request's JSON object) and returns the input to
	 * store (a new reference) or NULL with every failing field in *errors
	 * (gb_v_* style; unknown fields included). */
	json_t *(*validate)(json_t *body, const struct gb_config *cfg, json_t **errors);
};

/* The kind called name, or NULL.  The table is static: every program
 * knows the same kinds. */
const struct gb_task_kind *gb_task_kind_find(const char *name);

/* The i-th kind, NULL past the last (at most GB_TASK_KINDS_MAX). */
const struct gb_task_kind *gb_task_kind_at(size_t i);

/* Checks what the task keys of cfg need beyond their bounds: TASK_PREFIX's
 * length; with LLM_ADAPTER=openai, LLM_BASE_URL, and a TASK_VISIBILITY_S
 * longer than a generate_text run can take (gb_llm_worst_ms plus a
 * second).  GB_OK, or GB_ECONFIG with "KEY: reason" in why. */
enum gb_err gb_task_config_check(const struct gb_config *cfg, char *why, size_t whysize);

/* The task statuses, as stored and answered. */
bool gb_task_status_ok(const char *s);

/* ---- messages ------------------------------------------------------------ */

struct gb_task_msg {
	char task_id[37];
	char company_id[37];
	char kind[GB_TASK_KIND_MAX];
	long delivery;             /* 1 for the first */
};

/* Writes m as a message into buf (GB_TASK_MSG_MAX bytes).  Returns its
 * length, or 0 (nothing usable in buf) when m is not valid: UUIDs in
 * lowercase canonical form, a kind of [a-z0-9_] starting with a letter,
 * delivery 1 to 999999999. */
size_t gb_task_msg_format(const struct gb_task_msg *m, char *buf);

/* Parses s[0..len) strictly (the form gb_task_msg_format writes).  Returns
 * GB_OK, or GB_EINVAL with m zeroed. */
enum gb_err gb_task_msg_parse(const char *s, size_t len, struct gb_task_msg *m);

/* ---- the queue ------------------------------------------------------------- */

struct gb_task_keys {
	char queue[GB_TASK_KEY_MAX];
	char processing[GB_TASK_KEY_MAX];
	char deadlines[GB_TASK_KEY_MAX];
	char delayed[GB_TASK_KEY_MAX];
	char dead[GB_TASK_KEY_MAX];
};

/* The key names under prefix.  GB_OK, or GB_EINVAL when prefix is longer
 * than GB_TASK_KEY_MAX - 16 bytes (k is then unusable). */
enum gb_err gb_task_keys_init(struct gb_task_keys *k, const char *prefix);

/* LPUSH of msg onto the queue: one round trip.  GB_OK once Redis has it,
 * else GB_EREDIS or GB_ETIMEOUT (after a timeout Redis may still apply
 * the push later: the caller's rollback leaves a message without a task,
 * which workers drop). */
enum gb_err gb_task_push(struct gb_redis *r, const struct gb_task_keys *k, const char *msg);

/* The same for n messages (1 to GB_TASK_PUSH_MAX) in one LPUSH: all or
 * none are queued, in their order (the first is taken first).  GB_EINVAL
 * for another n. */
#define GB_TASK_PUSH_MAX 64
enum gb_err gb_task_push_many(struct gb_redis *r, const struct gb_task_keys *k,
                              const char *const *msgs, size_t n);

/* Takes the oldest message into the processing list (BLMOVE, waiting at
 * most block_ms, 0 to 60000) and gives it a deadline visibility_ms from
 * now.  Returns GB_OK with the message in buf (GB_TASK_MSG_MAX bytes),
 * GB_ENOTFOUND when none came in time, GB_EREDIS / GB_ETIMEOUT.  A
 * message that does not fit buf is moved to the dead list and
 * GB_ENOTFOUND returned.  r's command timeout must exceed block_ms. */
enum gb_err gb_task_take(struct gb_redis *r, const struct gb_task_keys *k, long block_ms,
                         long visibility_ms, char *buf);

/* What to do with a message a worker took. */
enum gb_task_settle {
	GB_TASK_ACK,               /* done with it (finished, or nothing to do) */
	GB_TASK_RETRY,             /* to delayed, due in delay_ms, delivery + 1 */
	GB_TASK_DEAD,              /* to the dead list with reason */
	GB_TASK_RETURN,            /* back to the front of the queue, delivery + 1 */
};

/* Removes msg from processing and its deadline, then does what how says,
 * in one script.  delay_ms applies to GB_TASK_RETRY (0 to 86400000);
 * reason (at most 200 bytes, may be NULL) to GB_TASK_DEAD.  Returns GB_OK
 * and sets *held (may be NULL) to whether msg was still in processing
 * (false: the reaper re-delivered it meanwhile, and what how says was done
 * anyway except for GB_TASK_ACK); GB_EREDIS, GB_ETIMEOUT or GB_EINVAL. */
enum gb_err gb_task_settle(struct gb_redis *r, const struct gb_task_keys *k, const char *msg,
                           enum gb_task_settle how, long delay_ms, const char *reason,
                           bool *held);

/* What one gb_task_reap pass did. */
#define GB_TASK_KINDS_MAX 8
struct gb_task_reaped {
	long redelivered;          /* past their deadline, back in the queue */
	long due;                  /* delayed ones moved back to the queue */
	long by_kind[GB_TASK_KINDS_MAX];   /* redelivered, by gb_task_kind_at index */
};

/* One pass: processing messages without a deadline get one (their worker
 * died between taking and claiming), those past it go back to the front
 * of the queue with delivery + 1, due delayed messages go to the queue; at
 * most GB_TASK_REAP_MAX each way.  GB_OK with *out filled (may be NULL),
 * GB_EREDIS or GB_ETIMEOUT. */
enum gb_err gb_task_reap(struct gb_redis *r, const struct gb_task_keys *k, long visibility_ms,
                         struct gb_task_reaped *out);

/* Backoff before run attempt + 1 of a task that failed attempt times:
 * base * 2^(attempt - 1), at most max_ms. */
long gb_task_backoff_ms(long attempt, long base_ms, long max_ms);

/* The Lua scripts, for tests: 0 take-claim, 1 settle, 2 reap; NULL past. */
const char *gb_task_script(int i);

#endif
