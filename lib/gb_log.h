/* gb_log.h - structured logs: one JSON object per line on stderr.
 *
 * Every line has ts, level, msg and service; callers add request_id and
 * further string fields.  Nothing here ever receives a token, a password or
 * a body: callers pass identifiers and outcomes only.  Every write(2)
 * holds whole lines, so lines from threads and processes never mix: one
 * line each, but access lines a few together (at most 4096 bytes, at most
 * 100 ms late; gb_log_flush writes them out at once).
 */
#ifndef GB_LOG_H
#define GB_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "gb_config.h"

/* Sets the service name (copied, at most 63 bytes), the lowest level that is
 * written, and the fd (normally 2).  Call before threads start. */
void gb_log_init(const char *service, enum gb_log_level min, int fd);

bool gb_log_enabled(enum gb_log_level level);

/* Logs msg; the variadic part is pairs of const char *key, const char *value
 * ending with NULL.  A NULL value omits that field; request_id may be NULL. */
void gb_log(enum gb_log_level level, const char *request_id, const char *msg, ...)
	__attribute__((sentinel));

/* The access log line: one per request, written by the pipeline. */
struct gb_access {
	const char *request_id;
	const char *trace_id;
	const char *method;
	const char *route;        /* the route template, or "-" when none matched */
	int status;
	double latency_ms;
	const char *company_id;   /* NULL when unauthenticated */
	uint64_t bytes;           /* response body bytes */
	const char *upstream;     /* NULL when the request had none */
	double upstream_ms;
};
void gb_log_access(const struct gb_access *a);

/* Writes the calling thread's waiting access lines now: before a thread
 * waits for work, so that an idle program has logged everything. */
void gb_log_flush(void);

/* Writes what waits and frees the calling thread's buffers; call when a
 * thread ends. */
void gb_log_thread_end(void);

#endif
