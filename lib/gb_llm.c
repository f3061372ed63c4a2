#include "config.h"
#include "gb_llm.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *
gb_llm_request_json(const char *model, const char *prompt, long max_tokens,
                    double temperature, bool stream)
{
	json_t *j;
	char *s;

	if (!isfinite(temperature))
		return NULL;
	j = json_pack("{s:s, s:[{s:s, s:s}], s:I, s:f, s:b}", "model", model, "messages",
	              "role", "user", "content", prompt, "max_tokens", (json_int_t)max_tokens,
	              "temperature", temperature, "stream", stream);
	if (j == NULL)
		return NULL;
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
