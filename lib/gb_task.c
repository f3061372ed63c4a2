#include "config.h"
#include "gb_task.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb_llm.h"
#include "gb_url.h"
#include "gb_validate.h"

/* ---- kinds --------------------------------------------------------------- */

/* obj[key] as a whole number in [min, max], or dflt when absent. */
static long
v_long(json_t *obj, const char *key, long min, long max, long dflt, json_t **errors)
{
	json_t *v = json_object_get(obj, key);
	char why[96];
	json_int_t n;

	if (v == NULL || json_is_null(v))
		return dflt;
	n = json_is_integer(v) ? json_integer_value(v) : min - 1;
	if (!json_is_integer(v) || n < min || n > max) {
		snprintf(why, sizeof(why), "must be a whole number from %ld to %ld", min, max);
		gb_v_error(errors, key, why);
		return dflt;
	}
	return (long)n;
}

/* echo: {"text": string}; its result is {"text": the same}. */
static json_t *
validate_echo(json_t *body, const struct gb_config *cfg, json_t **errors)
{
	static const char *const allowed[] = { "text", NULL };
	const char *text;

	(void)cfg;
	gb_v_only(body, allowed, errors);
	text = gb_v_string(body, "text", true, 0, GB_TASK_TEXT_MAX, errors);
	if (*errors != NULL || text == NULL)
		return NULL;
	return json_pack("{s:s%}", "text", text, json_string_length(json_object_get(body, "text")));
}

/* generate_text: {"prompt": string, "max_tokens": 1..LLM_MAX_TOKENS}; the
 * stored input always names max_tokens, so a later change of the default
 * does not change a queued task. */
static json_t *
validate_generate_text(json_t *body, const struct gb_config *cfg, json_t **errors)
{
	static const char *const allowed[] = { "prompt", "max_tokens", NULL };
	const char *prompt;
	long max_tokens;

	gb_v_only(body, allowed, errors);
	prompt = gb_v_string(body, "prompt", true, 1, GB_TASK_PROMPT_MAX, errors);
	max_tokens = v_long(body, "max_tokens", 1, cfg->llm_max_tokens, cfg->llm_max_tokens,
	                    errors);
	if (*errors != NULL || prompt == NULL)
		return NULL;
	return json_pack("{s:s%, s:I}", "prompt", prompt,
	                 json_string_length(json_object_get(body, "prompt")),
	                 "max_tokens", (json_int_t)max_tokens);
}

static const struct gb_task_kind kinds[] = {
	{ "echo", validate_echo },
	{ "generate_text", validate_generate_text },
};
_Static_assert(sizeof(kinds) / sizeof(kinds[0]) <= GB_TASK_KINDS_MAX, "GB_TASK_KINDS_MAX");

const struct gb_task_kind *
gb_task_kind_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, name) == 0)
			return &kinds[i];
	return NULL;
}

const struct gb_task_kind *
gb_task_kind_at(size_t i)
{
	return i < sizeof(kinds) / sizeof(kinds[0]) ? &kinds[i] : NULL;
}

enum gb_err
gb_task_config_check(const struct gb_config *cfg, char *why, size_t whysize)
{
	const char *reason;
	long worst;

	if (strlen(cfg->task_prefix) > GB_TASK_KEY_MAX - 16) {
		snprintf(why, whysize, "TASK_PREFIX: is longer than %d bytes", GB_TASK_KEY_MAX - 16);
		return GB_ECONFIG;
	}
	if (cfg->llm_adapter != GB_LLM_OPENAI)
		return GB_OK;
	if (!gb_llm_base_url_ok(cfg->llm_base_url, &reason)) {
		snprintf(why, whysize, "LLM_BASE_URL: %s", reason);
		return GB_ECONFIG;
	}
	worst = gb_llm_worst_ms(cfg->llm_timeout_ms, cfg->llm_retries);
	if (cfg->task_visibility_s * 1000 <= worst + 1000) {
		snprintf(why, whysize, "TASK_VISIBILITY_S: %ld s is too short: a generate_text run "
		         "may take %ld ms (LLM_TIMEOUT_MS and LLM_RETRIES), so a task still running "
		         "would be delivered again; make it more than %ld s",
		         cfg->task_visibility_s, worst, (worst + 1000) / 1000 + 1);
		return GB_ECONFIG;
	}
	return GB_OK;
}

bool
gb_task_status_ok(const char *s)
{
	static const char *const statuses[] = {
		"PENDING", "STARTED", "SUCCESS", "FAILURE", "CANCELLED",
	};
	size_t i;

	for (i = 0; s != NULL && i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (strcmp(statuses[i], s) == 0)
			return true;
	return false;
}

/* ---- messages ---------------------------------------------------------------- */

#define MSG_TAG "t1|"

/* A UUID in lowercase canonical form. */
static bool
lower_uuid(const char *s, size_t len)
{
	size_t i;

	if (len != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return true;
}

static bool
kind_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= GB_TASK_KIND_MAX || s[0] < 'a' || s[0] > 'z')
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

size_t
gb_task_msg_format(const struct gb_task_msg *m, char *buf)
{
	int n;

	if (!lower_uuid(m->task_id, strnlen(m->task_id, sizeof(m->task_id))) ||
	    !lower_uuid(m->company_id, strnlen(m->company_id, sizeof(m->company_id))) ||
	    !kind_name_ok(m->kind, strnlen(m->kind, sizeof(m->kind))) ||
	    m->delivery < 1 || m->delivery > 999999999) {
		buf[0] = '\0';
		return 0;
	}
	n = snprintf(buf, GB_TASK_MSG_MAX, MSG_TAG "%s|%s|%s|%ld", m->task_id, m->company_id,
	             m->kind, m->delivery);
	if (n < 0 || n >= GB_TASK_MSG_MAX) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

enum gb_err
gb_task_msg_parse(const char *s, size_t len, struct gb_task_msg *m)
{
	const char *p = s, *end = s + len, *bar;
	size_t n, taglen = sizeof(MSG_TAG) - 1;
	long v = 0;

	memset(m, 0, sizeof(*m));
	if (len >= GB_TASK_MSG_MAX || len < taglen || memcmp(s, MSG_TAG, taglen) != 0)
		goto bad;
	p += taglen;
	/* task id, company id, kind: each ended by '|' */
	if ((bar = memchr(p, '|', (size_t)(end - p))) == NULL || !lower_uuid(p, (size_t)(bar - p)))
		goto bad;
	memcpy(m->task_id, p, 36);
	p = bar + 1;
	if ((bar = memchr(p, '|', (size_t)(end - p))) == NULL || !lower_uuid(p, (size_t)(bar - p)))
		goto bad;
	memcpy(m->company_id, p, 36);
	p = bar + 1;
	if ((bar = memchr(p, '|', (size_t)(end - p))) == NULL || !kind_name_ok(p, (size_t)(bar - p)))
		goto bad;
	memcpy(m->kind, p, (size_t)(bar - p));
	p = bar + 1;
	/* the delivery: 1 to 9 digits, no leading zero */
	n = (size_t)(end - p);
	if (n == 0 || n > 9 || p[0] == '0')
		goto bad;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		v = v * 10 + (*p - '0');
	}
	m->delivery = v;
	return GB_OK;
bad:
	memset(m, 0, sizeof(*m));
	return GB_EINVAL;
}

long
gb_task_backoff_ms(long attempt, long base_ms, long max_ms)
{
	long d = base_ms;

	for (; attempt > 1 && d < max_ms; attempt--)
		d = d > max_ms / 2 ? max_ms : d * 2;
	return d < max_ms ? d : max_ms;
}

/* ---- the scripts --------------------------------------------------------------- */

/* Every script reads the Redis server's clock, so deadlines agree across
 * hosts.  "bump" gives a message its next delivery number. */
#define LUA_NOW \
	"local t = redis.call('TIME') " \
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
#define LUA_BUMP \
	"local function bump(m) " \
	"  local base, n = string.match(m, '^(.*)|(%d+)$') " \
	"  if base == nil then return m end " \
	"  return base .. '|' .. (tonumber(n) + 1) " \
	"end "

/* KEYS: deadlines.  ARGV: message, visibility ms.  The deadline of a
 * message just taken (BLMOVE cannot set one itself). */
static const char script_claim[] =
	LUA_NOW
	"redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1]) "
	"return 1";

/* KEYS: processing, deadlines, queue, delayed, dead.  ARGV: message, how
 * (ack, retry, dead, return), delay ms, reason, dead-letter cap.  Returns
 * 1 when the message was still in processing, else 0. */
static const char script_settle[] =
	LUA_NOW LUA_BUMP
	"local held = redis.call('LREM', KEYS[1], 1, ARGV[1]) "
	"redis.call('ZREM', KEYS[2], ARGV[1]) "
	"local how = ARGV[2] "
	"if how == 'retry' then "
	"  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[3]), bump(ARGV[1])) "
	"elseif how == 'return' then "
	"  redis.call('RPUSH', KEYS[3], bump(ARGV[1])) "
	"elseif how == 'dead' then "
	"  redis.call('LPUSH', KEYS[5], cjson.encode({message = ARGV[1], reason = ARGV[4], at = now})) "
	"  redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[5]) - 1) "
	"end "
	"return held";

/* KEYS: processing, deadlines, queue, delayed.  ARGV: visibility ms, at
 * most this many each way.  Returns { redelivered messages, due count }. */
static const char script_reap[] =
	LUA_NOW LUA_BUMP
	"local vis, max = tonumber(ARGV[1]), tonumber(ARGV[2]) "
	"local held = redis.call('LRANGE', KEYS[1], 0, max - 1) "
	"for _, m in ipairs(held) do "
	"  if not redis.call('ZSCORE', KEYS[2], m) then "
	"    redis.call('ZADD', KEYS[2], now + vis, m) "
	"  end "
	"end "
	"local out = {} "
	"local late = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, max) "
	"for _, m in ipairs(late) do "
	"  redis.call('ZREM', KEYS[2], m) "
	"  if redis.call('LREM', KEYS[1], 1, m) > 0 then "
	"    local n = bump(m) "
	"    redis.call('RPUSH', KEYS[3], n) "
	"    out[#out + 1] = n "
	"  end "
	"end "
	"local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, max) "
	"for _, m in ipairs(due) do "
	"  redis.call('ZREM', KEYS[4], m) "
	"  redis.call('RPUSH', KEYS[3], m) "
	"end "
	"return { out, #due }";

enum { S_CLAIM, S_SETTLE, S_REAP, S_COUNT };

static const struct {
	const char *text;
	size_t len;
} scripts[S_COUNT] = {
	{ script_claim, sizeof(script_claim) - 1 },
	{ script_settle, sizeof(script_settle) - 1 },
	{ script_reap, sizeof(script_reap) - 1 },
};

static char sha1s[S_COUNT][41];
static pthread_once_t sha1_once = PTHREAD_ONCE_INIT;

/* The SHA-1 of each script in lowercase hex; "" when OpenSSL cannot hash
 * (then EVAL is sent every time). */
static void
sha1_init(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int i;

	for (i = 0; i < S_COUNT; i++) {
		if (EVP_Digest(scripts[i].text, scripts[i].len, md, &n, EVP_sha1(), NULL) != 1 ||
		    n != 20) {
			sha1s[i][0] = '\0';
			continue;
		}
		gb_hex_encode(md, 20, sha1s[i]);
	}
}

const char *
gb_task_script(int i)
{
	return i >= 0 && i < S_COUNT ? scripts[i].text : NULL;
}

/* Runs script i with argv[2..argc) already filled (numkeys, keys, args):
 * EVALSHA, and EVAL after NOSCRIPT.  Returns the reply (an error reply is
 * GB_EREDIS: the caller gets NULL) or NULL with *e set. */
static redisReply *
run_script(struct gb_redis *r, int i, int argc, const char **argv, size_t *argvlen,
           enum gb_err *e)
{
	redisReply *rep = NULL;

	pthread_once(&sha1_once, sha1_init);
	if (sha1s[i][0] != '\0') {
		argv[0] = "EVALSHA";
		argvlen[0] = 7;
		argv[1] = sha1s[i];
		argvlen[1] = 40;
		rep = gb_redis_command_argv(r, e, argc, argv, argvlen);
		if (rep == NULL)
			return NULL;
		if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
			freeReplyObject(rep);
			rep = NULL;
		}
	}
	if (rep == NULL) {
		argv[0] = "EVAL";
		argvlen[0] = 4;
		argv[1] = scripts[i].text;
		argvlen[1] = scripts[i].len;
		rep = gb_redis_command_argv(r, e, argc, argv, argvlen);
		if (rep == NULL)
			return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		freeReplyObject(rep);
		*e = GB_EREDIS;
		return NULL;
	}
	*e = GB_OK;
	return rep;
}

/* ---- the queue ------------------------------------------------------------------ */

enum gb_err
gb_task_keys_init(struct gb_task_keys *k, const char *prefix)
{
	memset(k, 0, sizeof(*k));
	if (prefix == NULL || strlen(prefix) > GB_TASK_KEY_MAX - 16)
		return GB_EINVAL;
	snprintf(k->queue, sizeof(k->queue), "%squeue", prefix);
	snprintf(k->processing, sizeof(k->processing), "%sprocessing", prefix);
	snprintf(k->deadlines, sizeof(k->deadlines), "%sdeadlines", prefix);
	snprintf(k->delayed, sizeof(k->delayed), "%sdelayed", prefix);
	snprintf(k->dead, sizeof(k->dead), "%sdead", prefix);
	return GB_OK;
}

static void
arg(const char **argv, size_t *argvlen, int i, const char *s)
{
	argv[i] = s;
	argvlen[i] = strlen(s);
}

enum gb_err
gb_task_push(struct gb_redis *r, const struct gb_task_keys *k, const char *msg)
{
	return gb_task_push_many(r, k, &msg, 1);
}

enum gb_err
gb_task_push_many(struct gb_redis *r, const struct gb_task_keys *k, const char *const *msgs,
                  size_t n)
{
	const char *argv[2 + GB_TASK_PUSH_MAX];
	size_t argvlen[2 + GB_TASK_PUSH_MAX], i;
	redisReply *rep;
	enum gb_err e;

	if (n == 0 || n > GB_TASK_PUSH_MAX)
		return GB_EINVAL;
	arg(argv, argvlen, 0, "LPUSH");
	arg(argv, argvlen, 1, k->queue);
	for (i = 0; i < n; i++)
		arg(argv, argvlen, (int)(2 + i), msgs[i]);
	rep = gb_redis_command_argv(r, &e, (int)(2 + n), argv, argvlen);
	if (rep == NULL)
		return e;
	e = rep->type == REDIS_REPLY_INTEGER ? GB_OK : GB_EREDIS;
	freeReplyObject(rep);
	return e;
}

/* The settle script's "dead" for a message that cannot be handled at all. */
static void
bury(struct gb_redis *r, const struct gb_task_keys *k, const char *msg, size_t len,
     const char *reason)
{
	const char *argv[13];
	size_t argvlen[13];
	redisReply *rep;
	char cap[24];
	enum gb_err e;

	snprintf(cap, sizeof(cap), "%d", GB_TASK_DEAD_MAX);
	arg(argv, argvlen, 2, "5");
	arg(argv, argvlen, 3, k->processing);
	arg(argv, argvlen, 4, k->deadlines);
	arg(argv, argvlen, 5, k->queue);
	arg(argv, argvlen, 6, k->delayed);
	arg(argv, argvlen, 7, k->dead);
	argv[8] = msg;
	argvlen[8] = len;
	arg(argv, argvlen, 9, "dead");
	arg(argv, argvlen, 10, "0");
	arg(argv, argvlen, 11, reason);
	arg(argv, argvlen, 12, cap);
	rep = run_script(r, S_SETTLE, 13, argv, argvlen, &e);
	if (rep != NULL)
		freeReplyObject(rep);
}

enum gb_err
gb_task_take(struct gb_redis *r, const struct gb_task_keys *k, long block_ms,
             long visibility_ms, char *buf)
{
	const char *argv[7];
	size_t argvlen[7];
	char wait[24], vis[24];
	redisReply *rep;
	enum gb_err e;

	buf[0] = '\0';
	if (block_ms < 0 || block_ms > 60000 || visibility_ms < 1)
		return GB_EINVAL;
	/* BLMOVE's timeout is in seconds, decimals allowed (Redis 6); 0 would
	 * wait for ever, so at least a millisecond. */
	snprintf(wait, sizeof(wait), "%ld.%03ld", block_ms / 1000,
	         block_ms > 0 ? block_ms % 1000 : 1L);
	arg(argv, argvlen, 0, "BLMOVE");
	arg(argv, argvlen, 1, k->queue);
	arg(argv, argvlen, 2, k->processing);
	arg(argv, argvlen, 3, "RIGHT");
	arg(argv, argvlen, 4, "LEFT");
	arg(argv, argvlen, 5, wait);
	rep = gb_redis_command_argv(r, &e, 6, argv, argvlen);
	if (rep == NULL)
		return e;
	if (rep->type == REDIS_REPLY_NIL) {
		freeReplyObject(rep);
		return GB_ENOTFOUND;
	}
	if (rep->type != REDIS_REPLY_STRING) {
		freeReplyObject(rep);
		return GB_EREDIS;
	}
	if (rep->len >= GB_TASK_MSG_MAX || memchr(rep->str, '\0', rep->len) != NULL) {
		bury(r, k, rep->str, rep->len, "malformed message");
		freeReplyObject(rep);
		return GB_ENOTFOUND;
	}
	memcpy(buf, rep->str, rep->len);
	buf[rep->len] = '\0';
	freeReplyObject(rep);

	snprintf(vis, sizeof(vis), "%ld", visibility_ms);
	arg(argv, argvlen, 2, "1");
	arg(argv, argvlen, 3, k->deadlines);
	arg(argv, argvlen, 4, buf);
	arg(argv, argvlen, 5, vis);
	rep = run_script(r, S_CLAIM, 6, argv, argvlen, &e);
	/* Without a deadline the message still is in processing: the reaper
	 * gives it one, so it is re-delivered if this worker dies.  The
	 * caller goes on either way. */
	if (rep != NULL)
		freeReplyObject(rep);
	return GB_OK;
}

enum gb_err
gb_task_settle(struct gb_redis *r, const struct gb_task_keys *k, const char *msg,
               enum gb_task_settle how, long delay_ms, const char *reason, bool *held)
{
	static const char *const hows[] = {
		[GB_TASK_ACK] = "ack", [GB_TASK_RETRY] = "retry",
		[GB_TASK_DEAD] = "dead", [GB_TASK_RETURN] = "return",
	};
	const char *argv[13];
	size_t argvlen[13];
	char delay[24], cap[24];
	redisReply *rep;
	enum gb_err e;

	if (held != NULL)
		*held = false;
	if ((unsigned)how >= sizeof(hows) / sizeof(hows[0]) || delay_ms < 0 ||
	    delay_ms > 86400000 || (reason != NULL && strlen(reason) > 200))
		return GB_EINVAL;
	snprintf(delay, sizeof(delay), "%ld", delay_ms);
	snprintf(cap, sizeof(cap), "%d", GB_TASK_DEAD_MAX);
	arg(argv, argvlen, 2, "5");
	arg(argv, argvlen, 3, k->processing);
	arg(argv, argvlen, 4, k->deadlines);
	arg(argv, argvlen, 5, k->queue);
	arg(argv, argvlen, 6, k->delayed);
	arg(argv, argvlen, 7, k->dead);
	arg(argv, argvlen, 8, msg);
	arg(argv, argvlen, 9, hows[how]);
	arg(argv, argvlen, 10, delay);
	arg(argv, argvlen, 11, reason != NULL ? reason : "");
	arg(argv, argvlen, 12, cap);
	rep = run_script(r, S_SETTLE, 13, argv, argvlen, &e);
	if (rep == NULL)
		return e;
	if (rep->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(rep);
		return GB_EREDIS;
	}
	if (held != NULL)
		*held = rep->integer > 0;
	freeReplyObject(rep);
	return GB_OK;
}

enum gb_err
gb_task_reap(struct gb_redis *r, const struct gb_task_keys *k, long visibility_ms,
             struct gb_task_reaped *out)
{
	const char *argv[9];
	size_t argvlen[9];
	char vis[24], max[24];
	struct gb_task_reaped sink;
	struct gb_task_msg m;
	const struct gb_task_kind *kind;
	redisReply *rep, *moved;
	enum gb_err e;
	size_t i;

	if (out == NULL)
		out = &sink;
	memset(out, 0, sizeof(*out));
	snprintf(vis, sizeof(vis), "%ld", visibility_ms);
	snprintf(max, sizeof(max), "%d", GB_TASK_REAP_MAX);
	arg(argv, argvlen, 2, "4");
	arg(argv, argvlen, 3, k->processing);
	arg(argv, argvlen, 4, k->deadlines);
	arg(argv, argvlen, 5, k->queue);
	arg(argv, argvlen, 6, k->delayed);
	arg(argv, argvlen, 7, vis);
	arg(argv, argvlen, 8, max);
	rep = run_script(r, S_REAP, 9, argv, argvlen, &e);
	if (rep == NULL)
		return e;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_ARRAY ||
	    rep->element[1]->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(rep);
		return GB_EREDIS;
	}
	moved = rep->element[0];
	out->redelivered = (long)moved->elements;
	out->due = (long)rep->element[1]->integer;
	for (i = 0; i < moved->elements; i++) {
		if (moved->element[i]->type != REDIS_REPLY_STRING ||
		    gb_task_msg_parse(moved->element[i]->str, moved->element[i]->len, &m) != GB_OK ||
		    (kind = gb_task_kind_find(m.kind)) == NULL)
			continue;
		out->by_kind[kind - kinds]++;
	}
	freeReplyObject(rep);
	return GB_OK;
}
