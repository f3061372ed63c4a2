/* gerbang-chat: conversations with the configured language model.
 *
 *   POST /v1/chat/sessions/{sid}/messages   {"content", "max_tokens"?}: the
 *        reply, as JSON, or with Accept: text/event-stream as server-sent
 *        events while the API produces it
 *   GET  /v1/chat/sessions/{sid}/messages   the session's history, oldest
 *        first, a page at a time
 *
 * A session belongs to the caller: the token's company (row-level security)
 * and user (every statement).  {sid} is the client's name for it,
 * [A-Za-z0-9_-]{1,64}; another user's or company's session is "no such
 * session".
 *
 * A message goes out with the session's recent context, kept in Redis
 * (CHAT_PREFIX company:user:sid, a list of {"role","content"}) to at most
 * CHAT_CONTEXT_MESSAGES messages and CHAT_CONTEXT_CHARS characters, for
 * CHAT_CONTEXT_TTL_S after the last message.  The message and its reply are
 * stored together (PostgreSQL, one transaction) once the reply is whole, and
 * then added to the context.  Redis down or slow: the reply comes without
 * context, and the envelope's message says so; the history is still kept.
 * A failed reply stores nothing.
 *
 * The API is the one gerbang-worker's generate_text uses (LLM_* keys):
 * gb_llm_client with its timeout, retries and circuit breaker (one per
 * process).  Streaming: the events start with the first piece of text, so
 * an error before it (the circuit open, no answer, a refused request) is
 * an ordinary JSON envelope with its status; after it, an "error" event
 * ends the stream.  Events:
 *   event: delta   data: {"text": "..."}          as the API produces them
 *   event: done    data: the envelope the JSON answer would be
 *   event: error   data: an error envelope (ok false, message, request_id)
 */
#include "config.h"

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb_breaker.h"
#include "gb_buf.h"
#include "gb_db.h"
#include "gb_envelope.h"
#include "gb_llm.h"
#include "gb_llm_client.h"
#include "gb_log.h"
#include "gb_metrics.h"
#include "gb_ratelimit.h"
#include "gb_redis.h"
#include "gb_serve.h"
#include "gb_time.h"
#include "gb_validate.h"

#define SID_MAX 64
#define PAGE_DEFAULT 50
#define PAGE_MAX 200
#define THREADS_MAX 256
#define NO_SUCH_SESSION "no such session"
#define REPLY "reply"
#define REPLY_NO_CONTEXT "reply without the conversation's context: the context store is unavailable"

static struct gb_llm_options llm_opts;
static struct gb_breaker breaker;
/* One API client per serving thread (its curl handle keeps the connection). */
static struct gb_llm_client *clients[THREADS_MAX];

/* The message and its reply, one transaction; the rows as stored. */
static const struct gb_stmt q_insert = {
	"chat_insert",
	"INSERT INTO gerbang.chat_messages (user_id, session_id, role, content, model, finish_reason) "
	"VALUES ($1::uuid, $2, 'user', $3, NULL, NULL), ($1::uuid, $2, 'assistant', $4, "
	"        nullif($5, ''), nullif($6, '')) "
	"RETURNING id, role, content, model, finish_reason, "
	"          to_json(created_at) #>> '{}', seq", 6 };
/* A page of history after seq $3 (0: from the start); one more row than
 * asked tells whether there is a next page. */
static const struct gb_stmt q_history = {
	"chat_history",
	"SELECT id, role, content, model, finish_reason, to_json(created_at) #>> '{}', seq "
	"FROM gerbang.chat_messages "
	"WHERE user_id = $1::uuid AND session_id = $2 AND seq > $3::bigint "
	"ORDER BY seq LIMIT $4::int", 4 };
enum { H_ID, H_ROLE, H_CONTENT, H_MODEL, H_FINISH, H_CREATED, H_SEQ };

/* ---- start and stop --------------------------------------------------------- */

static int
chat_init(const struct gb_config *cfg)
{
	const char *why;

	if (!gb_llm_base_url_ok(cfg->llm_base_url, &why)) {
		fprintf(stderr, "gerbang-chat: configuration: LLM_BASE_URL: %s\n", why);
		return -1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "gerbang-chat: cannot initialise libcurl\n");
		return -1;
	}
	gb_breaker_init(&breaker, (int)cfg->llm_breaker_failures, cfg->llm_breaker_open_ms);
	llm_opts = (struct gb_llm_options){
		.base_url = cfg->llm_base_url, .model = cfg->llm_model, .api_key = cfg->llm_api_key,
		.temperature = cfg->llm_temperature, .timeout_ms = cfg->llm_timeout_ms,
		.retries = cfg->llm_retries, .breaker = &breaker, .stop = NULL,
	};
	gb_metrics_circuit("llm_chat", GB_BREAKER_CLOSED);
	return 0;
}

static void
chat_fini(void)
{
	size_t i;

	for (i = 0; i < THREADS_MAX; i++) {
		gb_llm_client_free(clients[i]);
		clients[i] = NULL;
	}
	curl_global_cleanup();
}

/* ---- helpers ------------------------------------------------------------------ */

/* {sid}: [A-Za-z0-9_-]{1,64}. */
static bool
sid_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		      (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '-'))
			return false;
	return n >= 1 && n <= SID_MAX;
}

/* The session of the path and the caller's user id; false after answering. */
static bool
session_of(struct gb_ctx *c, const char **sid)
{
	*sid = gb_route_param(&c->match, "sid");
	if (!sid_ok(*sid)) {
		gb_fail(c, 404, NO_SUCH_SESSION, gb_field_error(NULL, "sid",
		        "must be 1 to 64 letters, digits, '_' or '-'"));
		return false;
	}
	if (!gb_v_uuid(c->auth.sub)) {
		gb_fail(c, 403, "chat needs a user's token", NULL);
		return false;
	}
	return true;
}

static void
db_failed(struct gb_ctx *c, struct gb_db *db, enum gb_err e)
{
	gb_log_db_error(c, db, e);
	gb_db_tx_abort(db);
	gb_fail_err(c, e == GB_ETIMEOUT ? GB_ETIMEOUT : GB_EDB);
}

/* A stored message as JSON. */
static json_t *
message_json(const PGresult *res, int row)
{
	json_t *m = json_pack("{s:s, s:s, s:s, s:s}", "id", PQgetvalue(res, row, H_ID),
	                      "role", PQgetvalue(res, row, H_ROLE),
	                      "content", PQgetvalue(res, row, H_CONTENT),
	                      "created_at", PQgetvalue(res, row, H_CREATED));

	if (m != NULL && strcmp(PQgetvalue(res, row, H_ROLE), "assistant") == 0) {
		json_object_set_new(m, "model", PQgetisnull(res, row, H_MODEL) ? json_null() :
		                    json_string(PQgetvalue(res, row, H_MODEL)));
		json_object_set_new(m, "finish_reason", PQgetisnull(res, row, H_FINISH) ?
		                    json_null() : json_string(PQgetvalue(res, row, H_FINISH)));
	}
	return m;
}

/* ---- the context in Redis ------------------------------------------------------ */

struct context {
	char key[GB_RL_KEY_MAX];
	json_t *msgs;               /* [{"role","content"}], oldest first */
	bool available;             /* Redis answered */
};

/* Reads the session's context, bounded by the budgets (the newest kept). */
static void
context_read(struct gb_ctx *c, const char *sid, struct context *x)
{
	const struct gb_config *cfg = c->cfg;
	char start[24];
	const char *argv[4];
	size_t argvlen[4], i, chars = 0;
	struct gb_redis *r;
	redisReply *rep;
	json_t *m, *keep;
	enum gb_err e;

	x->available = false;
	x->msgs = json_array();
	snprintf(x->key, sizeof(x->key), "%s%s:%s:%s", cfg->chat_prefix, c->company_id,
	         c->auth.sub, sid);
	if (x->msgs == NULL || (r = gb_ctx_redis(c)) == NULL)
		return;
	snprintf(start, sizeof(start), "%ld", -cfg->chat_context_messages);
	argv[0] = "LRANGE";
	argv[1] = x->key;
	argv[2] = cfg->chat_context_messages > 0 ? start : "1";
	argv[3] = cfg->chat_context_messages > 0 ? "-1" : "0";
	for (i = 0; i < 4; i++)
		argvlen[i] = strlen(argv[i]);
	rep = gb_redis_command_argv(r, &e, 4, argv, argvlen);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		if (rep != NULL)
			freeReplyObject(rep);
		gb_log(GB_LOG_WARN, c->req.request_id, "chat context unavailable", "error",
		       gb_redis_last_error(r), NULL);
		return;
	}
	x->available = true;
	/* newest first, within the character budget, then put back in order */
	keep = json_array();
	for (i = rep->elements; keep != NULL && i-- > 0;) {
		const redisReply *el = rep->element[i];
		json_t *role, *content;
		size_t n;

		if (el->type != REDIS_REPLY_STRING)
			continue;
		m = json_loadb(el->str, el->len, JSON_REJECT_DUPLICATES, NULL);
		role = json_object_get(m, "role");
		content = json_object_get(m, "content");
		if (!json_is_string(role) || !json_is_string(content) ||
		    (strcmp(json_string_value(role), "user") != 0 &&
		     strcmp(json_string_value(role), "assistant") != 0)) {
			json_decref(m);
			continue;
		}
		n = json_string_length(content);
		if (chars + n > (size_t)cfg->chat_context_chars) {
			json_decref(m);
			break;
		}
		chars += n;
		json_array_insert_new(keep, 0, m);
	}
	freeReplyObject(rep);
	if (keep != NULL) {
		json_decref(x->msgs);
		x->msgs = keep;
	}
}

/* Adds the message and its reply to the context, trims it, renews its
 * lifetime.  false when Redis did not take it. */
/* {"role": role, "content": content} as compact JSON, or NULL. */
static char *
context_entry(const char *role, const char *content)
{
	json_t *m = json_pack("{s:s, s:s}", "role", role, "content", content);
	char *s = m != NULL ? json_dumps(m, JSON_COMPACT) : NULL;

	json_decref(m);
	return s;
}

static bool
context_add(struct gb_ctx *c, struct context *x, const char *content, const char *reply)
{
	const struct gb_config *cfg = c->cfg;
	char *um, *am, start[24], ttl[24];
	const char *argv[4], *cmds[3][4];
	size_t argvlen[4];
	struct gb_redis *r = gb_ctx_redis(c);
	redisReply *rep;
	enum gb_err e;
	bool ok = false;
	int i;

	if (cfg->chat_context_messages == 0)
		return true;
	if (r == NULL)
		return false;
	um = context_entry("user", content);
	am = context_entry("assistant", reply);
	if (um == NULL || am == NULL)
		goto out;
	snprintf(start, sizeof(start), "%ld", -cfg->chat_context_messages);
	snprintf(ttl, sizeof(ttl), "%ld", cfg->chat_context_ttl_s * 1000);
	cmds[0][0] = "RPUSH", cmds[0][1] = x->key, cmds[0][2] = um, cmds[0][3] = am;
	cmds[1][0] = "LTRIM", cmds[1][1] = x->key, cmds[1][2] = start, cmds[1][3] = "-1";
	cmds[2][0] = "PEXPIRE", cmds[2][1] = x->key, cmds[2][2] = ttl, cmds[2][3] = NULL;
	for (i = 0; i < 3; i++) {
		int argc = cmds[i][3] != NULL ? 4 : 3, k;

		for (k = 0; k < argc; k++) {
			argv[k] = cmds[i][k];
			argvlen[k] = strlen(argv[k]);
		}
		rep = gb_redis_command_argv(r, &e, argc, argv, argvlen);
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
			if (rep != NULL)
				freeReplyObject(rep);
			goto out;
		}
		freeReplyObject(rep);
	}
	ok = true;
out:
	if (!ok)
		gb_log(GB_LOG_WARN, c->req.request_id, "chat context not updated", "error",
		       gb_redis_last_error(r), NULL);
	free(um);
	free(am);
	return ok;
}

/* ---- POST: a message ------------------------------------------------------------ */

struct streaming {
	struct gb_ctx *c;
	bool started;               /* the events began */
	bool gone;                  /* the client went away */
};

static int
sse_event(struct gb_ctx *c, const char *event, json_t *data)
{
	struct gb_buf b = GB_BUF_INIT;
	int rc = -1;

	if (data == NULL)
		return -1;
	gb_buf_printf(&b, "event: %s\ndata: ", event);
	if (gb_json_dump(&b, data) == 0 && gb_buf_puts(&b, "\n\n") == 0 && !gb_buf_failed(&b))
		rc = gb_stream_write(c, b.data, b.len) == 0 && gb_stream_flush(c) == 0 ? 0 : -1;
	gb_buf_free(&b);
	json_decref(data);
	return rc;
}

static int
sse_begin(struct streaming *s)
{
	if (s->started)
		return 0;
	s->started = true;
	gb_header(s->c, "Cache-Control", "no-cache");
	gb_header(s->c, "X-Accel-Buffering", "no");
	if (gb_stream_begin(s->c, 200, "text/event-stream; charset=utf-8") != 0 ||
	    gb_stream_flush(s->c) != 0) {
		s->gone = true;
		return -1;
	}
	return 0;
}

/* The API's next piece of text: one "delta" event. */
static int
on_delta(void *arg, const char *text, size_t len)
{
	struct streaming *s = arg;

	if (s->gone || sse_begin(s) != 0 ||
	    sse_event(s->c, "delta", json_pack("{s:s%}", "text", text, len)) != 0) {
		s->gone = true;
		return -1;
	}
	return 0;
}

/* An error: an envelope, or, once the events began, an "error" event. */
static void
chat_fail(struct gb_ctx *c, struct streaming *s, int status, const char *message)
{
	if (s == NULL || !s->started) {
		gb_fail(c, status, message, NULL);
		return;
	}
	if (!s->gone)
		sse_event(c, "error", json_pack("{s:b, s:s, s:i, s:s}", "ok", 0, "message", message,
		                                "status", status, "request_id", c->req.request_id));
}

/* The API's failure as an answer (and a log line). */
static void
llm_failed(struct gb_ctx *c, struct streaming *s, const struct gb_llm_outcome *out)
{
	char retry[24];

	gb_log(GB_LOG_WARN, c->req.request_id, "language model failed", "error", out->why, NULL);
	gb_metrics_circuit("llm_chat", (int)gb_breaker_state(&breaker, gb_mono_us() / 1000));
	if (out->circuit_open && out->requests == 0) {
		snprintf(retry, sizeof(retry), "%ld", (out->retry_in_ms + 999) / 1000);
		if (s == NULL || !s->started)
			gb_header(c, "Retry-After", retry);
		chat_fail(c, s, 503, "the language model is unavailable");
	} else if (out->err == GB_ETIMEOUT) {
		chat_fail(c, s, 504, "the language model did not answer in time");
	} else if (out->err == GB_EINVAL) {
		chat_fail(c, s, 502, "the language model's answer was malformed");
	} else if (out->err == GB_ENOMEM) {
		chat_fail(c, s, 500, "internal error");
	} else {
		chat_fail(c, s, 502, "the language model failed");
	}
}

/* {"content", "max_tokens"?}: every failing field at once. */
static bool
read_message(struct gb_ctx *c, const char **content, long *max_tokens, json_t **body)
{
	struct gb_req_error rerr;
	json_t *errors = NULL, *v;
	const char *k;
	size_t n;

	if (gb_req_json(&c->req, body, &rerr) != GB_OK) {
		gb_fail_req(c, &rerr);
		return false;
	}
	if (!json_is_object(*body)) {
		gb_fail(c, 422, "invalid fields", gb_field_error(NULL, "body", "must be a JSON object"));
		return false;
	}
	json_object_foreach(*body, k, v)
		if (strcmp(k, "content") != 0 && strcmp(k, "max_tokens") != 0)
			gb_v_error(&errors, k, "is not a field of a chat message");
	v = json_object_get(*body, "content");
	*content = json_string_value(v);
	n = json_string_length(v);
	if (!json_is_string(v))
		gb_v_error(&errors, "content", "is required, a string");
	else if (n == 0 || strspn(*content, " \t\r\n") == n)
		gb_v_error(&errors, "content", "must not be empty");
	else if (n > (size_t)c->cfg->chat_message_max)
		gb_v_error(&errors, "content", "is too long");
	else if (memchr(*content, '\0', n) != NULL)
		gb_v_error(&errors, "content", "must not hold a NUL character");
	*max_tokens = c->cfg->llm_max_tokens;
	v = json_object_get(*body, "max_tokens");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > c->cfg->llm_max_tokens)
			gb_v_error(&errors, "max_tokens", "must be a whole number from 1 to LLM_MAX_TOKENS");
		else
			*max_tokens = (long)json_integer_value(v);
	}
	if (errors != NULL) {
		gb_fail(c, 422, "invalid fields", errors);
		return false;
	}
	return true;
}

static bool
wants_stream(const struct gb_ctx *c)
{
	const char *a = gb_req_header(&c->req, "Accept");

	return a != NULL && strstr(a, "text/event-stream") != NULL;
}

static void
post_message(struct gb_ctx *c)
{
	const char *sid, *content;
	long max_tokens;
	json_t *body = NULL, *data = NULL;
	struct context x = { .msgs = NULL };
	struct gb_llm_msg *msgs = NULL;
	struct gb_llm_reply reply = { 0 };
	struct gb_llm_outcome out;
	struct gb_llm_stream stream;
	struct streaming s = { .c = c };
	struct gb_db *db;
	PGresult *res = NULL;
	size_t n = 0, i;
	bool streamed = wants_stream(c), saved_context;
	enum gb_err e;

	if (!session_of(c, &sid) || !read_message(c, &content, &max_tokens, &body))
		goto out;
	if (c->thread >= THREADS_MAX) {
		gb_fail_err(c, GB_ENOMEM);
		goto out;
	}
	context_read(c, sid, &x);
	msgs = calloc(json_array_size(x.msgs) + 2, sizeof(*msgs));
	if (msgs == NULL) {
		gb_fail_err(c, GB_ENOMEM);
		goto out;
	}
	if (c->cfg->chat_system_prompt[0] != '\0')
		msgs[n++] = (struct gb_llm_msg){ "system", c->cfg->chat_system_prompt };
	for (i = 0; i < json_array_size(x.msgs); i++) {
		json_t *m = json_array_get(x.msgs, i);

		msgs[n++] = (struct gb_llm_msg){ json_string_value(json_object_get(m, "role")),
		                                 json_string_value(json_object_get(m, "content")) };
	}
	msgs[n++] = (struct gb_llm_msg){ "user", content };

	if (clients[c->thread] == NULL &&
	    (clients[c->thread] = gb_llm_client_new(&llm_opts)) == NULL) {
		gb_fail_err(c, GB_ENOMEM);
		goto out;
	}
	if (streamed)
		gb_llm_stream_init(&stream, on_delta, &s);
	e = gb_llm_chat(clients[c->thread], msgs, n, max_tokens, streamed ? &stream : NULL, &reply,
	                &out);
	if (streamed)
		gb_llm_stream_free(&stream);
	gb_metrics_circuit("llm_chat", (int)gb_breaker_state(&breaker, gb_mono_us() / 1000));
	if (e != GB_OK) {
		if (out.reader_gone || s.gone)
			gb_log(GB_LOG_INFO, c->req.request_id, "chat client went away", NULL);
		else
			llm_failed(c, streamed ? &s : NULL, &out);
		goto out;
	}

	/* Whole: stored with the message, then remembered. */
	if ((db = gb_ctx_db(c)) == NULL) {
		chat_fail(c, streamed ? &s : NULL, 500, "internal error");
		goto out;
	}
	e = gb_db_tenant(db, c->company_id, &q_insert, (const char *const[]){ c->auth.sub, sid,
	                 content, reply.text, reply.model, reply.finish_reason }, &res);
	if (e != GB_OK || PQntuples(res) != 2) {
		if (!streamed || !s.started) {
			db_failed(c, db, e != GB_OK ? e : GB_EDB);
		} else {
			gb_log_db_error(c, db, e != GB_OK ? e : GB_EDB);
			chat_fail(c, &s, 503, "the reply could not be saved");
		}
		goto out;
	}
	saved_context = x.available && context_add(c, &x, content, reply.text);
	/* the rows come back in the order of VALUES: message, reply */
	data = json_pack("{s:s, s:o, s:o, s:i}", "session_id", sid,
	                 "message", message_json(res, PQgetvalue(res, 0, H_ROLE)[0] == 'u' ? 0 : 1),
	                 "reply", message_json(res, PQgetvalue(res, 0, H_ROLE)[0] == 'u' ? 1 : 0),
	                 "context_messages", (int)json_array_size(x.msgs));
	if (data == NULL) {
		chat_fail(c, streamed ? &s : NULL, 500, "internal error");
		goto out;
	}
	if (!streamed) {
		gb_ok(c, 200, saved_context ? REPLY : REPLY_NO_CONTEXT, data);
		data = NULL;
	} else if (sse_begin(&s) == 0) {
		sse_event(c, "done", json_pack("{s:b, s:s, s:O, s:s}", "ok", 1, "message",
		                               saved_context ? REPLY : REPLY_NO_CONTEXT, "data", data,
		                               "request_id", c->req.request_id));
	}
out:
	json_decref(data);
	PQclear(res);
	gb_llm_reply_free(&reply);
	free(msgs);
	json_decref(x.msgs);
	json_decref(body);
}

/* ---- GET: the history ------------------------------------------------------------ */

static void
get_messages(struct gb_ctx *c)
{
	const char *sid, *l, *cur;
	char limit_s[24], after[24];
	long limit = PAGE_DEFAULT, after_seq = 0;
	json_t *errors = NULL, *items, *meta;
	struct gb_db *db;
	PGresult *res = NULL;
	enum gb_err e;
	int i, rows;

	if (!session_of(c, &sid))
		return;
	l = gb_query_get(&c->req.query, "limit");
	cur = gb_query_get(&c->req.query, "cursor");
	if (l != NULL && gb_parse_long(l, 1, PAGE_MAX, &limit) != GB_OK)
		gb_v_error(&errors, "limit", "must be a whole number from 1 to 200");
	if (cur != NULL && gb_parse_long(cur, 1, 9000000000000000000L, &after_seq) != GB_OK)
		gb_v_error(&errors, "cursor", "is not a cursor of this list");
	for (i = 0; i < (int)c->req.query.n; i++) {
		const char *k = c->req.query.items[i].key;

		if (strcmp(k, "limit") != 0 && strcmp(k, "cursor") != 0)
			gb_v_error(&errors, k, "is not a parameter of this list");
	}
	if (errors != NULL) {
		gb_fail(c, 422, "invalid query", errors);
		return;
	}
	if ((db = gb_ctx_db(c)) == NULL) {
		gb_fail_err(c, GB_ENOMEM);
		return;
	}
	snprintf(limit_s, sizeof(limit_s), "%ld", limit + 1);
	snprintf(after, sizeof(after), "%ld", after_seq);
	e = gb_db_tenant(db, c->company_id, &q_history, (const char *const[]){ c->auth.sub, sid,
	                 after, limit_s }, &res);
	if (e != GB_OK) {
		db_failed(c, db, e);
		return;
	}
	rows = PQntuples(res);
	if (rows == 0 && after_seq == 0) {
		gb_fail(c, 404, NO_SUCH_SESSION, NULL);
		PQclear(res);
		return;
	}
	items = json_array();
	for (i = 0; items != NULL && i < rows && i < limit; i++)
		json_array_append_new(items, message_json(res, i));
	meta = json_pack("{s:I, s:s?}", "limit", (json_int_t)limit, "next_cursor",
	                 rows > limit ? PQgetvalue(res, (int)limit - 1, H_SEQ) : NULL);
	if (items == NULL || meta == NULL) {
		json_decref(items);
		json_decref(meta);
		gb_fail_err(c, GB_ENOMEM);
	} else {
		gb_ok_list(c, 200, "messages", items, meta);
	}
	PQclear(res);
}

static const struct gb_route routes[] = {
	{ "POST", "/v1/chat/sessions/{sid}/messages", post_message, GB_JWT, 0, GB_RL_CHAT },
	{ "GET", "/v1/chat/sessions/{sid}/messages", get_messages, GB_JWT, 0, NULL },
};

static const struct gb_app app = {
	.name = "gerbang-chat",
	.service = "chat",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.init = chat_init,
	.fini = chat_fini,
};

int
main(int argc, char **argv)
{
	return gb_serve_main(argc, argv, &app);
}
