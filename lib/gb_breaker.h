/* gb_breaker.h - a circuit breaker shared by the threads of one process.
 *
 * Closed: calls go through.  After `threshold` consecutive failures it
 * opens for open_ms: calls are refused without trying.  Then it is
 * half-open: one call at a time probes; its success closes the breaker,
 * its failure opens it again for open_ms.  State is a few atomics: no
 * lock, and a thread never waits for another.  Times are milliseconds of
 * the monotonic clock (gb_mono_us() / 1000), passed in so tests can drive
 * them.
 */
#ifndef GB_BREAKER_H
#define GB_BREAKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct gb_breaker {
	int threshold;              /* consecutive failures that open it, >= 1 */
	int64_t open_ms;            /* how long it stays open, >= 1 */
	atomic_int failures;        /* consecutive, while closed */
	atomic_llong open_until;    /* 0: closed; else when probing may start */
	atomic_bool probing;        /* a half-open probe is in flight */
};

enum gb_breaker_state { GB_BREAKER_CLOSED, GB_BREAKER_HALF_OPEN, GB_BREAKER_OPEN };

/* Sets b up closed (threshold and open_ms clamped to at least 1). */
void gb_breaker_init(struct gb_breaker *b, int threshold, int64_t open_ms);

/* Whether a call may go now.  Half-open, true for one caller only (the
 * probe), until it reports with gb_breaker_record.  When refused,
 * *retry_in_ms (may be NULL) says when asking again makes sense. */
bool gb_breaker_allow(struct gb_breaker *b, int64_t now_ms, int64_t *retry_in_ms);

/* Whether gb_breaker_allow would let a call through now (closed, or
 * half-open with no probe in flight), without taking the probe. */
bool gb_breaker_would_allow(struct gb_breaker *b, int64_t now_ms, int64_t *retry_in_ms);

/* The outcome of a call gb_breaker_allow let through. */
void gb_breaker_record(struct gb_breaker *b, int64_t now_ms, bool ok);

/* The state now (for metrics and logs). */
enum gb_breaker_state gb_breaker_state(struct gb_breaker *b, int64_t now_ms);

#endif
