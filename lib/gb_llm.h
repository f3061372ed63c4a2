/* gb_llm.h - the OpenAI-compatible chat-completions protocol: the request
 * body gerbang sends and a strict reading of what comes back.
 *
 * POST {LLM_BASE_URL}/chat/completions with
 *   {"model": M, "messages": [{"role": "user", "content": PROMPT}],
 *    "max_tokens": N, "temperature": T, "stream": false}
 * answers {"choices": [{"message": {"content": "..."}, "finish_reason":
 * "..."}], "model": "...", ...}.  Anything else, a content that is not a
 * string included, is a malformed answer ("garbage"): never guessed at.
 * The HTTP exchange itself is gb_llm_client.
 */
#ifndef GB_LLM_H
#define GB_LLM_H

#include <stdbool.h>
#include <stddef.h>

#include "gb_buf.h"
#include "gb_err.h"

/* LLM_ADAPTER, in the order of its configuration values. */
enum gb_llm_adapter { GB_LLM_OPENAI, GB_LLM_ECHO };

#define GB_LLM_BODY_MAX (8 * 1024 * 1024)   /* bytes of an answer read */
#define GB_LLM_URL_MAX 1024                 /* bytes of LLM_BASE_URL */

/* The request body (compact JSON, a new string the caller frees), or NULL
 * on ENOMEM or a temperature that is not finite. */
char *gb_llm_request_json(const char *model, const char *prompt, long max_tokens,
                          double temperature, bool stream);

struct gb_llm_reply {
	char *text;                 /* choices[0].message.content, without NUL
	                             * bytes (PostgreSQL's jsonb refuses them) */
	size_t text_len;
	char model[128];            /* the answer's "model", "" when absent or odd */
	char finish_reason[32];     /* choices[0].finish_reason, "" likewise */
};

/* Reads the body of a 200 answer.  GB_OK with r filled (free with
 * gb_llm_reply_free); GB_EINVAL with what is wrong in why (printable
 * ASCII, no text of the answer) and r empty; GB_ENOMEM. */
enum gb_err gb_llm_parse(const char *body, size_t len, struct gb_llm_reply *r, char *why,
                         size_t whysize);

void gb_llm_reply_free(struct gb_llm_reply *r);

/* A conversation for the API: role "system", "user" or "assistant". */
struct gb_llm_msg {
	const char *role;
	const char *content;
};

/* The request body for the n (>= 1) messages, as gb_llm_request_json. */
char *gb_llm_request_json_msgs(const char *model, const struct gb_llm_msg *msgs, size_t n,
                               long max_tokens, double temperature, bool stream);

/* A streamed answer ("stream": true): server-sent events whose data are
 * chunks {"choices": [{"delta": {"content": "..."}, "finish_reason":
 * ...}], "model": ...}, ending with "data: [DONE]".  Read strictly and
 * incrementally: fn (may be NULL) gets each piece of text as it comes
 * (non-zero from it stops the stream), text collects them all. */
#define GB_LLM_STREAM_LINE_MAX (1024 * 1024)
typedef int (*gb_llm_delta_fn)(void *arg, const char *text, size_t len);
struct gb_llm_stream {
	struct gb_buf line;         /* the line being read */
	struct gb_buf text;         /* every delta so far, at most GB_LLM_BODY_MAX */
	bool done;                  /* [DONE] came */
	bool failed;
	char why[160];              /* when failed: printable, no text of the answer */
	char model[128];
	char finish_reason[32];
	gb_llm_delta_fn fn;
	void *arg;
};
void gb_llm_stream_init(struct gb_llm_stream *s, gb_llm_delta_fn fn, void *arg);
/* The next bytes of the body: GB_OK, GB_EINVAL (malformed: why says what),
 * GB_EIO (fn stopped it). */
enum gb_err gb_llm_stream_feed(struct gb_llm_stream *s, const char *p, size_t n);
void gb_llm_stream_free(struct gb_llm_stream *s);

/* Whether url can be LLM_BASE_URL: http:// or https://, a host, no query,
 * fragment, user info, spaces or control bytes, at most GB_LLM_URL_MAX
 * bytes.  false with the reason in *why. */
bool gb_llm_base_url_ok(const char *url, const char **why);

/* The longest one generate_text run can take: retries + 1 requests of
 * timeout_ms each and the waits between them (gb_llm_client's backoff,
 * Retry-After included), in milliseconds.  TASK_VISIBILITY_S must exceed
 * it. */
long gb_llm_worst_ms(long timeout_ms, long retries);

/* The wait before request number i + 1 (i from 1) after a transient
 * failure: 250 ms doubled each time, at most GB_LLM_WAIT_MAX_MS; a
 * Retry-After (seconds, 0 when none) longer than that is honoured up to
 * GB_LLM_WAIT_MAX_MS. */
#define GB_LLM_WAIT_MAX_MS 10000
long gb_llm_wait_ms(int i, long retry_after_s);

#endif
