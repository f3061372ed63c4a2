/* gb_ratelimit.h - token buckets in Redis, one Lua script per decision.
 *
 * A class says how fast a bucket refills (rate, tokens per second), how
 * much it holds (capacity, the burst) and what happens when Redis cannot
 * answer (fail open: admit; fail closed: refuse).  A bucket is one Redis
 * hash per class and key; a script refills it from the time elapsed on the
 * Redis server's clock (so gateway hosts with skewed clocks share buckets
 * correctly), takes the tokens or refuses, and sets the key to expire when
 * the bucket would be full again, so idle keys vanish.
 *
 * The class table is an immutable snapshot built once by gb_rl_table_load():
 * the built-in classes, then RATE_LIMIT_FILE on top.  Nothing in it changes
 * afterwards, so every thread may read it without locks.
 *
 * RATE_LIMIT_FILE is a JSON object (duplicate keys rejected, at most
 * GB_RL_FILE_MAX bytes); any key not listed here is an error:
 *
 *   classes     object: class name -> { "rate": number, "capacity": whole
 *               number, "fail": "open" | "closed" }.  A class name is 1 to
 *               31 characters of [a-z0-9_-].  rate is GB_RL_RATE_MIN to
 *               GB_RL_RATE_MAX, capacity 1 to GB_RL_CAPACITY_MAX.  A built-in
 *               class named here takes the fields given and keeps the
 *               others; a new class needs rate and capacity.  fail defaults
 *               to the policy of the defaults given to gb_rl_table_load().
 *   companies   object: company id (a UUID, lowercase canonical
 *               8-4-4-4-12) -> object: class name -> the same object as in
 *               classes, every field optional.  The class must exist (built
 *               in or in classes); omitted fields are the class's.
 *
 * At most GB_RL_CLASSES_MAX classes (built-ins included) and
 * GB_RL_COMPANIES_MAX companies.  Errors name the file and the key path
 * ("ratelimit.json: classes.login_ip.rate: must be a number from 0.0001
 * to 1000000"); text taken from the file is shown with control and
 * non-ASCII bytes replaced by '?' and cut short.
 */
#ifndef GB_RATELIMIT_H
#define GB_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "gb_err.h"
#include "gb_redis.h"

#define GB_RL_NAME_MAX 31                  /* characters of a class name */
#define GB_RL_KEY_MAX 512                  /* bytes of a Redis key: prefix class ":" key */
#define GB_RL_CLASSES_MAX 256              /* classes in a table, built-ins included */
#define GB_RL_COMPANIES_MAX 100000         /* companies in RATE_LIMIT_FILE */
#define GB_RL_FILE_MAX (16 * 1024 * 1024)  /* bytes of RATE_LIMIT_FILE, ~160 a company */
#define GB_RL_RATE_MIN 0.0001              /* tokens per second */
#define GB_RL_RATE_MAX 1000000.0
#define GB_RL_CAPACITY_MAX 1000000000L

/* The built-in classes. */
#define GB_RL_DEFAULT "default"             /* the defaults given to the load */
#define GB_RL_LOGIN_IP "login_ip"           /* 0.1/s, capacity 20 */
#define GB_RL_LOGIN_ACCOUNT "login_account" /* 1/60 per s, capacity 5 */
#define GB_RL_CHAT "chat"                   /* 0.5/s, capacity 10: a chat message asks the API */

struct gb_rl_class {
	char name[32];          /* "default", "login_ip", a route's or plugin's class */
	double rate;            /* tokens added per second, > 0 */
	long capacity;          /* bucket size (burst), >= 1 */
	bool fail_closed;       /* Redis unreachable: refuse (true) or admit (false) */
};

struct gb_rl_decision {
	bool allowed;
	bool degraded;          /* Redis failed; the class's fail policy decided */
	long limit;             /* capacity, for RateLimit-Limit */
	long remaining;         /* whole tokens left after this request, for RateLimit-Remaining */
	long reset_s;           /* seconds until the bucket is full again (ceil), RateLimit-Reset */
	long retry_after_s;     /* refused: seconds until the cost is there (ceil, >= 1); else 0 */
};

struct gb_rl_table;

/* Builds the class table: the built-in classes first, then the file at path
 * (NULL or "": none) on top.  defaults is the "default" class (its name is
 * ignored); login_ip and login_account take its fail policy.
 * Returns GB_OK and sets *out; or GB_ECONFIG (a bad file, or defaults out
 * of the bounds above) or GB_ENOMEM with a message naming the file and the
 * key in why[0..whysize) when why is not NULL, and *out unchanged. */
enum gb_err gb_rl_table_load(const char *path, const struct gb_rl_class *defaults,
                             struct gb_rl_table **out, char *why, size_t whysize);
void gb_rl_table_free(struct gb_rl_table *t);

/* The class to apply: company_id's override of name if there is one, else
 * name, else NULL (an unknown name is the caller's programming error, best
 * found at start).  company_id may be NULL; it is matched ignoring ASCII
 * case.  The class lives as long as t.  Lookups are O(log n), no locks. */
const struct gb_rl_class *gb_rl_table_class(const struct gb_rl_table *t, const char *name,
                                            const char *company_id);

/* Classes (built-ins included) and companies in t, for the start-up log. */
size_t gb_rl_table_nclasses(const struct gb_rl_table *t);
size_t gb_rl_table_ncompanies(const struct gb_rl_table *t);

/* Whether name is a valid class name: 1 to 31 characters of [a-z0-9_-]. */
bool gb_rl_class_name_ok(const char *name);

/* Takes cost tokens from the bucket prefix + cls->name + ":" + key (at most
 * GB_RL_KEY_MAX bytes in all; prefix may be NULL) in one round trip:
 * EVALSHA of the script, and after a NOSCRIPT error (SCRIPT FLUSH, a Redis
 * restart) EVAL of the whole script, a second round trip but no error.
 *
 * Returns GB_OK when Redis decided, with d filled from its answer.
 * Otherwise d is filled by gb_rl_degrade() and the return says why:
 * GB_EREDIS (unreachable, an error reply, an unexpected answer),
 * GB_ETIMEOUT (no answer within the handle's timeout; Redis may still apply
 * the take later), GB_EINVAL (key too long, cost outside 1..capacity, a
 * class outside the bounds above: the caller's bug; nothing is sent).
 * d NULL or cls NULL: GB_EINVAL and nothing filled.
 *
 * Waits at most the handle's timeout per round trip (plus a reconnect when
 * the connection was lost); r is used by one thread at a time. */
enum gb_err gb_rl_take(struct gb_redis *r, const char *prefix, const struct gb_rl_class *cls,
                       const char *key, long cost, struct gb_rl_decision *d);

/* Fills d as cls's fail policy decides without Redis: degraded = true,
 * limit = capacity; fail open: allowed, remaining = capacity - cost (as if
 * the bucket were full; 0 if cost is larger), reset_s = retry_after_s = 0;
 * fail closed: refused, remaining = 0, reset_s = retry_after_s = 1.
 * Callers may prefer to send no RateLimit-* headers when d->degraded. */
void gb_rl_degrade(const struct gb_rl_class *cls, long cost, struct gb_rl_decision *d);

/* The Lua script, and its SHA-1 in lowercase hex ("" if OpenSSL could not
 * hash it: then every take sends EVAL).  For tests; loading the script at
 * start is not needed. */
const char *gb_rl_script(void);
const char *gb_rl_script_sha1(void);

#endif
