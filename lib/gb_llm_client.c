#include "config.h"
#include "gb_llm_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gb_buf.h"
#include "gb_time.h"

struct gb_llm_client {
	const struct gb_llm_options *o;
	CURL *curl;
	char *url;                  /* base_url + "/chat/completions" */
	char *auth;                 /* "Authorization: Bearer KEY", or NULL */
	struct gb_buf body;         /* the answer, up to GB_LLM_BODY_MAX */
	long retry_after_s;         /* of the last answer, 0 when none */
	struct gb_llm_stream *stream;   /* a streamed request's reader, or NULL */
};

struct gb_llm_client *
gb_llm_client_new(const struct gb_llm_options *o)
{
	struct gb_llm_client *c = calloc(1, sizeof(*c));
	size_t n = strlen(o->base_url);

	if (c == NULL)
		return NULL;
	c->o = o;
	while (n > 0 && o->base_url[n - 1] == '/')
		n--;
	c->url = malloc(n + sizeof("/chat/completions"));
	if (c->url != NULL) {
		memcpy(c->url, o->base_url, n);
		memcpy(c->url + n, "/chat/completions", sizeof("/chat/completions"));
	}
	if (o->api_key != NULL && o->api_key[0] != '\0') {
		n = strlen(o->api_key);
		c->auth = malloc(sizeof("Authorization: Bearer ") + n);
		if (c->auth != NULL)
			snprintf(c->auth, sizeof("Authorization: Bearer ") + n,
			         "Authorization: Bearer %s", o->api_key);
	}
	c->curl = curl_easy_init();
	gb_buf_init(&c->body, GB_LLM_BODY_MAX);
	if (c->url == NULL || c->curl == NULL ||
	    (o->api_key != NULL && o->api_key[0] != '\0' && c->auth == NULL)) {
		gb_llm_client_free(c);
		return NULL;
	}
	return c;
}

void
gb_llm_client_free(struct gb_llm_client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	if (c->auth != NULL) {
		explicit_bzero(c->auth, strlen(c->auth));
		free(c->auth);
	}
	free(c->url);
	gb_buf_free(&c->body);
	free(c);
}

static int64_t
now_ms(void)
{
	return gb_mono_us() / 1000;
}

static bool
stopping(const struct gb_llm_client *c)
{
	return c->o->stop != NULL && atomic_load(c->o->stop);
}

static size_t
write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct gb_llm_client *c = arg;
	long code = 0;

	/* A 200 to a streamed request goes to its reader as it comes; a
	 * malformed stream or a reader that went away stops the transfer. */
	if (c->stream != NULL) {
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
		if (code == 200)
			return gb_llm_stream_feed(c->stream, data, size * n) == GB_OK ? size * n : 0;
	}
	/* Past GB_LLM_BODY_MAX the append fails and curl stops reading. */
	return gb_buf_append(&c->body, data, size * n) == 0 ? size * n : 0;
}

/* Retry-After in whole seconds; an HTTP date or anything else is ignored. */
static size_t
header_cb(char *line, size_t size, size_t n, void *arg)
{
	struct gb_llm_client *c = arg;
	size_t len = size * n, i = 12;
	long v = 0;

	if (len > 12 && strncasecmp(line, "retry-after:", 12) == 0) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		for (; i < len && line[i] >= '0' && line[i] <= '9' && v < 100000; i++)
			v = v * 10 + (line[i] - '0');
		c->retry_after_s = v;
	}
	return len;
}

static int
progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
            curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return stopping(arg) ? 1 : 0;       /* non-zero aborts the transfer */
}

/* Sleeps ms in slices, returning early (false) when stopping. */
static bool
nap(const struct gb_llm_client *c, long ms)
{
	int64_t end = now_ms() + ms, left;
	struct timespec ts;

	while ((left = end - now_ms()) > 0) {
		if (stopping(c))
			return false;
		if (left > 50)
			left = 50;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000000L;
		nanosleep(&ts, NULL);
	}
	return !stopping(c);
}

static void
say(struct gb_llm_outcome *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
say(struct gb_llm_outcome *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
}

/* One request.  Fills out (err, retryable, http_status, why) and, on
 * GB_OK, reply. */
static void
exchange(struct gb_llm_client *c, const char *json, struct gb_llm_reply *reply,
         struct gb_llm_outcome *out)
{
	struct curl_slist *h = NULL, *h2;
	CURL *e = c->curl;
	CURLcode rc;
	long code = 0;
	char status[16];

	out->err = GB_ENOMEM;
	out->retryable = false;
	out->http_status = 0;
	gb_buf_reset(&c->body);
	c->retry_after_s = 0;
	if (c->stream != NULL) {
		/* a retry starts afresh (retried only when no text went out) */
		gb_buf_reset(&c->stream->line);
		gb_buf_reset(&c->stream->text);
		c->stream->done = c->stream->failed = false;
		c->stream->why[0] = c->stream->model[0] = c->stream->finish_reason[0] = '\0';
	}
	h2 = curl_slist_append(h, "Content-Type: application/json");
	if (h2 == NULL)
		goto out;
	h = h2;
	if ((h2 = curl_slist_append(h, c->stream != NULL ? "Accept: text/event-stream" :
	                                "Accept: application/json")) == NULL)
		goto out;
	h = h2;
	if ((h2 = curl_slist_append(h, "Expect:")) == NULL)
		goto out;
	h = h2;
	if (c->auth != NULL) {
		if ((h2 = curl_slist_append(h, c->auth)) == NULL)
			goto out;
		h = h2;
	}
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, c->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->o->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	                 c->o->timeout_ms < 10000 ? c->o->timeout_ms : 10000L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json));
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, c);
	rc = curl_easy_perform(e);
	out->requests++;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	out->http_status = (int)code;
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		out->err = GB_EIO;
		out->stopped = true;
		say(out, "%s", "stopped");
	} else if (c->stream != NULL && c->stream->failed) {
		/* malformed (permanent), or our reader went away (not the API's
		 * fault, nothing to retry for) */
		out->err = strncmp(c->stream->why, "malformed", 9) == 0 ? GB_EINVAL : GB_EIO;
		out->reader_gone = out->err == GB_EIO;
		say(out, "%s", c->stream->why);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		out->err = GB_ETIMEOUT;
		out->retryable = true;
		say(out, "%s", "the API did not answer in time");
	} else if (rc == CURLE_WRITE_ERROR && gb_buf_failed(&c->body)) {
		out->err = GB_EINVAL;
		say(out, "%s", "malformed answer: too large");
	} else if (rc == CURLE_PARTIAL_FILE || rc == CURLE_GOT_NOTHING) {
		out->err = GB_EIO;
		out->retryable = c->stream == NULL || c->stream->text.len == 0;
		say(out, "%s", rc == CURLE_GOT_NOTHING ? "the API closed the connection unanswered" :
		    "the API's answer was cut short");
	} else if (rc != CURLE_OK) {
		out->err = GB_EIO;
		out->retryable = true;
		say(out, "the API is unreachable: %s", curl_easy_strerror(rc));
	} else if (code == 200 && c->stream != NULL) {
		if (!c->stream->done) {
			out->err = GB_EIO;
			out->retryable = c->stream->text.len == 0;
			say(out, "%s", "the API's answer was cut short");
		} else if ((reply->text = malloc(c->stream->text.len + 1)) == NULL) {
			out->err = GB_ENOMEM;
		} else {
			memcpy(reply->text, c->stream->text.data != NULL ? c->stream->text.data : "",
			       c->stream->text.len);
			reply->text[c->stream->text.len] = '\0';
			reply->text_len = c->stream->text.len;
			memcpy(reply->model, c->stream->model, sizeof(reply->model));
			memcpy(reply->finish_reason, c->stream->finish_reason,
			       sizeof(reply->finish_reason));
			out->err = GB_OK;
		}
	} else if (code == 200) {
		out->err = gb_llm_parse(c->body.data != NULL ? c->body.data : "", c->body.len, reply,
		                        out->why, sizeof(out->why));
	} else {
		snprintf(status, sizeof(status), "%ld", code);
		if (code == 429 || code >= 500) {
			out->err = GB_EIO;
			out->retryable = true;
		} else {
			out->err = code == 401 || code == 403 ? GB_EFORBIDDEN : GB_EVALIDATION;
		}
		say(out, "the API answered HTTP %s", status);
	}
out:
	if (out->err == GB_ENOMEM && out->why[0] == '\0')
		say(out, "%s", "out of memory");
	curl_slist_free_all(h);
}

enum gb_err
gb_llm_complete(struct gb_llm_client *c, const char *prompt, long max_tokens,
                struct gb_llm_reply *reply, struct gb_llm_outcome *out)
{
	struct gb_llm_msg m = { "user", prompt };

	return gb_llm_chat(c, &m, 1, max_tokens, NULL, reply, out);
}

enum gb_err
gb_llm_chat(struct gb_llm_client *c, const struct gb_llm_msg *msgs, size_t n, long max_tokens,
            struct gb_llm_stream *stream, struct gb_llm_reply *reply, struct gb_llm_outcome *out)
{
	char *json;
	int64_t wait;
	long i;

	memset(out, 0, sizeof(*out));
	memset(reply, 0, sizeof(*reply));
	c->stream = stream;
	json = gb_llm_request_json_msgs(c->o->model, msgs, n, max_tokens, c->o->temperature,
	                                stream != NULL);
	if (json == NULL) {
		out->err = GB_ENOMEM;
		say(out, "%s", "out of memory");
		return out->err;
	}
	for (i = 0; i <= c->o->retries; i++) {
		if (i > 0 && !nap(c, gb_llm_wait_ms((int)i, c->retry_after_s))) {
			out->err = GB_EIO;
			out->retryable = true;
			out->stopped = true;
			say(out, "%s", "stopped");
			break;
		}
		if (stopping(c)) {
			out->err = GB_EIO;
			out->retryable = true;
			out->stopped = true;
			say(out, "%s", "stopped");
			break;
		}
		if (c->o->breaker != NULL && !gb_breaker_allow(c->o->breaker, now_ms(), &wait)) {
			out->err = GB_EIO;
			out->retryable = true;
			out->circuit_open = true;
			out->retry_in_ms = wait > 0 ? (long)wait : 1000;
			/* After a failed request, its reason is the news. */
			if (out->requests == 0)
				say(out, "%s", "the API's circuit is open");
			break;
		}
		exchange(c, json, reply, out);
		if (out->reader_gone) {
			/* our client left: not the API's success nor its failure */
			if (c->o->breaker != NULL)
				gb_breaker_record(c->o->breaker, now_ms(), true);
			break;
		}
		if (out->stopped) {
			/* Neither the API's success nor its failure (a probe left
			 * in flight does not matter: the process is stopping). */
			out->retryable = true;
			break;
		}
		if (c->o->breaker != NULL && out->err != GB_ENOMEM)
			gb_breaker_record(c->o->breaker, now_ms(),
			                  out->err == GB_OK || out->err == GB_EFORBIDDEN ||
			                  out->err == GB_EVALIDATION);
		if (out->err == GB_OK || !out->retryable)
			break;
	}
	free(json);
	c->stream = NULL;
	if (out->err != GB_OK)
		gb_llm_reply_free(reply);
	return out->err;
}
