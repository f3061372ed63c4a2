/* gb_time.h - clocks. */
#ifndef GB_TIME_H
#define GB_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic clock in microseconds (for latencies and deadlines). */
int64_t gb_mono_us(void);

/* The wall clock as RFC 3339 UTC with milliseconds, "2026-01-02T03:04:05.678Z",
 * into buf (at least GB_RFC3339_LEN bytes); returns buf. */
#define GB_RFC3339_LEN 32
char *gb_rfc3339_now(char *buf, size_t size);

#endif
