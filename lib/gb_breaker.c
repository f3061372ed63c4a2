#include "config.h"
#include "gb_breaker.h"

#include <stddef.h>

void
gb_breaker_init(struct gb_breaker *b, int threshold, int64_t open_ms)
{
	b->threshold = threshold >= 1 ? threshold : 1;
	b->open_ms = open_ms >= 1 ? open_ms : 1;
	atomic_init(&b->failures, 0);
	atomic_init(&b->open_until, 0);
	atomic_init(&b->probing, false);
}

bool
gb_breaker_allow(struct gb_breaker *b, int64_t now_ms, int64_t *retry_in_ms)
{
	int64_t until = atomic_load(&b->open_until);
	bool expected = false;

	if (retry_in_ms != NULL)
		*retry_in_ms = 0;
	if (until == 0)
		return true;
	if (now_ms >= until &&
	    atomic_compare_exchange_strong(&b->probing, &expected, true))
		return true;            /* the one probe of a half-open breaker */
	if (retry_in_ms != NULL)
		/* a probe in flight: ask again after a moment */
		*retry_in_ms = now_ms < until ? until - now_ms : 1000;
	return false;
}

bool
gb_breaker_would_allow(struct gb_breaker *b, int64_t now_ms, int64_t *retry_in_ms)
{
	int64_t until = atomic_load(&b->open_until);

	if (retry_in_ms != NULL)
		*retry_in_ms = 0;
	if (until == 0 || (now_ms >= until && !atomic_load(&b->probing)))
		return true;
	if (retry_in_ms != NULL)
		*retry_in_ms = now_ms < until ? until - now_ms : 1000;
	return false;
}

void
gb_breaker_record(struct gb_breaker *b, int64_t now_ms, bool ok)
{
	if (ok) {
		atomic_store(&b->failures, 0);
		atomic_store(&b->open_until, 0);
		atomic_store(&b->probing, false);
		return;
	}
	/* A failed probe, or the threshold reached: open (again) from now.
	 * Failures of calls let through before it opened extend it. */
	if (atomic_fetch_add(&b->failures, 1) + 1 >= b->threshold ||
	    atomic_load(&b->open_until) != 0) {
		atomic_store(&b->open_until, now_ms + b->open_ms);
		atomic_store(&b->probing, false);
	}
}

enum gb_breaker_state
gb_breaker_state(struct gb_breaker *b, int64_t now_ms)
{
	int64_t until = atomic_load(&b->open_until);

	if (until == 0)
		return GB_BREAKER_CLOSED;
	return now_ms >= until ? GB_BREAKER_HALF_OPEN : GB_BREAKER_OPEN;
}
