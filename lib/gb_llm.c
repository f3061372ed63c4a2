#include "config.h"
#include "gb_llm.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb_buf.h"

char *
gb_llm_request_json(const char *model, const char *prompt, long max_tokens,
                    double temperature, bool stream)
{
	struct gb_llm_msg m = { "user", prompt };

	return gb_llm_request_json_msgs(model, &m, 1, max_tokens, temperature, stream);
}

char *
gb_llm_request_json_msgs(const char *model, const struct gb_llm_msg *msgs, size_t n,
                         long max_tokens, double temperature, bool stream)
{
	json_t *j, *arr, *m;
	char *s = NULL;
	size_t i;

	if (!isfinite(temperature) || n == 0)
		return NULL;
	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		m = json_pack("{s:s, s:s}", "role", msgs[i].role, "content", msgs[i].content);
		if (m == NULL || json_array_append_new(arr, m) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	j = json_pack("{s:s, s:o, s:I, s:f, s:b}", "model", model, "messages", arr,
	              "max_tokens", (json_int_t)max_tokens, "temperature", temperature,
	              "stream", stream);
	if (j != NULL)
		s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9));
	json_decref(j);
	return s;
}

static enum gb_err
garbage(struct gb_llm_reply *r, char *why, size_t whysize, const char *what)
{
	gb_llm_reply_free(r);
	if (why != NULL && whysize > 0)
		snprintf(why, whysize, "malformed answer: %s", what);
	return GB_EINVAL;
}

/* v as a short printable ASCII string into dst, "" otherwise: these fields
 * are only reported, never relied on. */
static void
copy_short(char *dst, size_t size, json_t *v)
{
	const char *s;
	size_t i, n;

	dst[0] = '\0';
	if (!json_is_string(v))
		return;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n >= size)
		return;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f)
			return;
	memcpy(dst, s, n + 1);
}

enum gb_err
gb_llm_parse(const char *body, size_t len, struct gb_llm_reply *r, char *why, size_t whysize)
{
	json_t *j, *choices, *first, *msg, *content;
	json_error_t jerr;
	enum gb_err e;
	size_t n;

	memset(r, 0, sizeof(*r));
	if (len > GB_LLM_BODY_MAX)
		return garbage(r, why, whysize, "too large");
	/* Duplicate keys are refused: two "content"s are no answer at all. */
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (j == NULL)
		return garbage(r, why, whysize, "not JSON");
	if (!json_is_object(j)) {
		e = garbage(r, why, whysize, "not a JSON object");
		goto out;
	}
	choices = json_object_get(j, "choices");
	if (!json_is_array(choices) || json_array_size(choices) == 0) {
		e = garbage(r, why, whysize, "no choices");
		goto out;
	}
	first = json_array_get(choices, 0);
	msg = json_object_get(first, "message");
	if (!json_is_object(first) || !json_is_object(msg)) {
		e = garbage(r, why, whysize, "choices[0].message is not an object");
		goto out;
	}
	content = json_object_get(msg, "content");
	if (!json_is_string(content)) {
		e = garbage(r, why, whysize, "choices[0].message.content is not a string");
		goto out;
	}
	n = json_string_length(content);
	if (memchr(json_string_value(content), '\0', n) != NULL) {
		e = garbage(r, why, whysize, "choices[0].message.content holds a NUL character");
		goto out;
	}
	r->text = malloc(n + 1);
	if (r->text == NULL) {
		e = GB_ENOMEM;
		goto out;
	}
	memcpy(r->text, json_string_value(content), n + 1);
	r->text_len = n;
	copy_short(r->model, sizeof(r->model), json_object_get(j, "model"));
	copy_short(r->finish_reason, sizeof(r->finish_reason),
	           json_object_get(first, "finish_reason"));
	e = GB_OK;
out:
	json_decref(j);
	return e;
}

void
gb_llm_reply_free(struct gb_llm_reply *r)
{
	if (r == NULL)
		return;
	free(r->text);
	memset(r, 0, sizeof(*r));
}

bool
gb_llm_base_url_ok(const char *url, const char **why)
{
	const char *host, *p;
	size_t n = strlen(url);

	if (n > GB_LLM_URL_MAX) {
		*why = "is longer than 1024 bytes";
		return false;
	}
	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else {
		*why = "must start with http:// or https://";
		return false;
	}
	if (*host == '\0' || *host == '/' || *host == ':') {
		*why = "names no host";
		return false;
	}
	for (p = url; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			*why = "must not contain spaces or control characters";
			return false;
		}
		if (*p == '?' || *p == '#') {
			*why = "must have no query or fragment";
			return false;
		}
	}
	p = host + strcspn(host, "/");
	if (memchr(host, '@', (size_t)(p - host)) != NULL) {
		*why = "must not carry credentials (use LLM_API_KEY_FILE)";
		return false;
	}
	return true;
}

long
gb_llm_wait_ms(int i, long retry_after_s)
{
	long d = 250;

	for (; i > 1 && d < GB_LLM_WAIT_MAX_MS; i--)
		d *= 2;
	if (retry_after_s > 0 && retry_after_s <= GB_LLM_WAIT_MAX_MS / 1000 &&
	    retry_after_s * 1000 > d)
		d = retry_after_s * 1000;
	else if (retry_after_s > GB_LLM_WAIT_MAX_MS / 1000)
		d = GB_LLM_WAIT_MAX_MS;
	return d < GB_LLM_WAIT_MAX_MS ? d : GB_LLM_WAIT_MAX_MS;
}

long
gb_llm_worst_ms(long timeout_ms, long retries)
{
	return (retries + 1) * timeout_ms + retries * GB_LLM_WAIT_MAX_MS;
}

/* ---- streamed answers ------------------------------------------------------ */

void
gb_llm_stream_init(struct gb_llm_stream *s, gb_llm_delta_fn fn, void *arg)
{
	memset(s, 0, sizeof(*s));
	gb_buf_init(&s->line, GB_LLM_STREAM_LINE_MAX);
	gb_buf_init(&s->text, GB_LLM_BODY_MAX);
	s->fn = fn;
	s->arg = arg;
}

void
gb_llm_stream_free(struct gb_llm_stream *s)
{
	gb_buf_free(&s->line);
	gb_buf_free(&s->text);
}

static enum gb_err
stream_garbage(struct gb_llm_stream *s, const char *what)
{
	s->failed = true;
	snprintf(s->why, sizeof(s->why), "malformed answer: %s", what);
	return GB_EINVAL;
}

/* One "data:" payload: a chunk, or [DONE]. */
static enum gb_err
stream_data(struct gb_llm_stream *s, const char *d, size_t n)
{
	json_t *j, *choices, *first, *delta, *content, *fin;
	json_error_t jerr;
	enum gb_err e = GB_OK;
	size_t len;

	if (n == 6 && memcmp(d, "[DONE]", 6) == 0) {
		s->done = true;
		return GB_OK;
	}
	if (s->done)
		return stream_garbage(s, "data after [DONE]");
	j = json_loadb(d, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (j == NULL)
		return stream_garbage(s, "a streamed chunk is not JSON");
	choices = json_object_get(j, "choices");
	if (!json_is_object(j) || !json_is_array(choices)) {
		e = stream_garbage(s, "a streamed chunk has no choices");
		goto out;
	}
	if (json_array_size(choices) == 0)
		goto out;               /* some APIs send usage alone at the end */
	first = json_array_get(choices, 0);
	delta = json_object_get(first, "delta");
	if (!json_is_object(first) || !json_is_object(delta)) {
		e = stream_garbage(s, "choices[0].delta is not an object");
		goto out;
	}
	content = json_object_get(delta, "content");
	if (content != NULL && !json_is_null(content)) {
		if (!json_is_string(content)) {
			e = stream_garbage(s, "choices[0].delta.content is not a string");
			goto out;
		}
		len = json_string_length(content);
		if (memchr(json_string_value(content), '\0', len) != NULL) {
			e = stream_garbage(s, "choices[0].delta.content holds a NUL character");
			goto out;
		}
		if (gb_buf_append(&s->text, json_string_value(content), len) != 0) {
			e = stream_garbage(s, "too large");
			goto out;
		}
		if (len > 0 && s->fn != NULL && s->fn(s->arg, json_string_value(content), len) != 0) {
			s->failed = true;
			snprintf(s->why, sizeof(s->why), "%s", "the reader went away");
			e = GB_EIO;
			goto out;
		}
	}
	if (s->model[0] == '\0')
		copy_short(s->model, sizeof(s->model), json_object_get(j, "model"));
	fin = json_object_get(first, "finish_reason");
	if (json_is_string(fin))
		copy_short(s->finish_reason, sizeof(s->finish_reason), fin);
out:
	json_decref(j);
	return e;
}

/* One complete line (without its end). */
static enum gb_err
stream_line(struct gb_llm_stream *s, const char *l, size_t n)
{
	if (n > 0 && l[n - 1] == '\r')
		n--;
	if (n == 0 || l[0] == ':')
		return GB_OK;           /* an event's end, or a comment */
	if (n >= 5 && memcmp(l, "data:", 5) == 0) {
		l += 5;
		n -= 5;
		if (n > 0 && l[0] == ' ') {
			l++;
			n--;
		}
		return stream_data(s, l, n);
	}
	/* event:, id:, retry: are allowed and say nothing we use */
	if ((n >= 6 && memcmp(l, "event:", 6) == 0) || (n >= 3 && memcmp(l, "id:", 3) == 0) ||
	    (n >= 6 && memcmp(l, "retry:", 6) == 0))
		return GB_OK;
	return stream_garbage(s, "not a server-sent event stream");
}

enum gb_err
gb_llm_stream_feed(struct gb_llm_stream *s, const char *p, size_t n)
{
	const char *nl;
	size_t k;
	enum gb_err e;

	if (s->failed)
		return GB_EINVAL;
	while (n > 0) {
		nl = memchr(p, '\n', n);
		k = nl != NULL ? (size_t)(nl - p) : n;
		if (gb_buf_append(&s->line, p, k) != 0)
			return stream_garbage(s, "a line of the stream is too long");
		if (nl == NULL)
			break;
		e = stream_line(s, s->line.data != NULL ? s->line.data : "", s->line.len);
		gb_buf_reset(&s->line);
		if (e != GB_OK)
			return e;
		p += k + 1;
		n -= k + 1;
	}
	return GB_OK;
}
