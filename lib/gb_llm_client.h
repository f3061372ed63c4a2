/* gb_llm_client.h - one chat completion over HTTP (libcurl), with a
 * deadline per request, retries with backoff and a circuit breaker.
 *
 * A client is one thread's: its own curl handle (whose connection cache
 * keeps the API's connection alive between tasks).  The breaker and the
 * stop flag are shared by every client of a process.
 *
 * Failures, as outcome->err:
 *   GB_ETIMEOUT     no answer within timeout_ms                  retryable
 *   GB_EIO          no connection, a reset, HTTP 429 or 5xx,     retryable
 *                   the circuit open, or stopped (see the flags)
 *   GB_EFORBIDDEN   HTTP 401 or 403: the key is wrong            permanent
 *   GB_EVALIDATION  any other HTTP status: the request is wrong  permanent
 *   GB_EINVAL       a 200 whose body gb_llm_parse refuses        permanent
 *   GB_ENOMEM
 * Retryable failures are retried up to `retries` times, waiting
 * gb_llm_wait_ms between requests; each request's outcome is recorded in
 * the breaker (success closes it, a failure counts), and an open breaker
 * refuses at once (circuit_open, with retry_in_ms).
 */
#ifndef GB_LLM_CLIENT_H
#define GB_LLM_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>

#include "gb_breaker.h"
#include "gb_err.h"
#include "gb_llm.h"

struct gb_llm_options {
	const char *base_url;       /* checked with gb_llm_base_url_ok */
	const char *model;
	const char *api_key;        /* "" or NULL: no Authorization header */
	double temperature;
	long timeout_ms;            /* one request, connection included */
	long retries;
	struct gb_breaker *breaker; /* may be NULL: none */
	const atomic_bool *stop;    /* may be NULL; once true, requests end */
};

struct gb_llm_outcome {
	enum gb_err err;
	bool retryable;
	bool circuit_open;          /* refused by the breaker (requests says
	                             * whether one was sent before) */
	bool stopped;               /* *stop became true */
	bool reader_gone;           /* a streamed request's reader stopped it */
	int http_status;            /* of the last answer, 0 when none */
	int requests;               /* requests sent */
	long retry_in_ms;           /* with circuit_open: when it may half-open */
	char why[192];              /* for logs and the task's error: no secret,
	                             * no text of the answer */
};

struct gb_llm_client;

/* A client for o (o and its strings must outlive it).  NULL on ENOMEM. */
struct gb_llm_client *gb_llm_client_new(const struct gb_llm_options *o);
void gb_llm_client_free(struct gb_llm_client *c);

/* Asks for a completion of prompt with at most max_tokens.  GB_OK with
 * reply filled (gb_llm_reply_free), or the error also in out->err with
 * reply empty.  Takes at most gb_llm_worst_ms(timeout_ms, retries). */
enum gb_err gb_llm_complete(struct gb_llm_client *c, const char *prompt, long max_tokens,
                            struct gb_llm_reply *reply, struct gb_llm_outcome *out);

/* The same for a conversation of n >= 1 messages.  With stream (set up by
 * gb_llm_stream_init, freed by the caller) the answer is asked for
 * streamed and each piece of text goes to the stream's fn as it comes;
 * reply gets the whole text at the end.  Once text went to fn, a failure
 * is not retried (the reader has part of an answer); a reader that stops
 * the stream ends it with GB_EIO and reader_gone, which the breaker does
 * not count against the API. */
enum gb_err gb_llm_chat(struct gb_llm_client *c, const struct gb_llm_msg *msgs, size_t n,
                        long max_tokens, struct gb_llm_stream *stream,
                        struct gb_llm_reply *reply, struct gb_llm_outcome *out);

#endif
