/* gb_reqid.h - request ids and W3C trace context.
 *
 * An incoming X-Request-Id is kept when it is 1 to 64 characters of
 * [A-Za-z0-9._-]; otherwise a new one is made.  An incoming traceparent is
 * continued when valid (a new span id for our hop); otherwise a new trace
 * starts.
 */
#ifndef GB_REQID_H
#define GB_REQID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GB_REQID_MAX 64

/* True when s is an acceptable request id. */
bool gb_reqid_valid(const char *s);

/* Writes a new random id of 32 lowercase hex digits and a NUL into out. */
void gb_reqid_new(char out[33]);

/* Fills buf with n unpredictable bytes (getrandom, buffered per thread). */
void gb_random_bytes(void *buf, size_t n);

struct gb_trace {
	char trace_id[33];     /* 32 hex digits */
	char parent_id[17];    /* the caller's span, "" when we started the trace */
	char span_id[17];      /* ours, sent on as the parent of the next hop */
	uint8_t flags;
};

/* Parses a traceparent header (version 00 exactly; a later version by its
 * first 55 characters); false when malformed, t unchanged then. */
bool gb_traceparent_parse(const char *s, struct gb_trace *t);

/* Continues the incoming traceparent (may be NULL) or starts a new trace;
 * always gives t a new span id. */
void gb_trace_start(struct gb_trace *t, const char *incoming);

/* "00-<trace>-<span>-<flags>" into out (56 bytes with the NUL). */
void gb_traceparent_format(const struct gb_trace *t, char out[56]);

/* Frees nothing; drops the calling thread's buffered random bytes. */
void gb_reqid_thread_end(void);

#endif
