#include "config.h"
#include "gb_config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

enum key_type { K_STR, K_LONG, K_OCTAL, K_ENUM, K_NUM };

struct key {
	const char *name;
	enum key_type type;
	size_t off;
	const char *def;         /* default, as it would be written */
	long min, max;           /* K_LONG bounds; K_NUM: min / 10000 to max */
	const char *const *choices;   /* K_ENUM: index is the value */
	bool secret;             /* may come from NAME_FILE; never printed */
	const char *help;
};

static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };
static const char *const off_on[] = { "off", "on", NULL };
static const char *const open_closed[] = { "open", "closed", NULL };
/* In the order of enum gb_llm_adapter. */
static const char *const llm_adapters[] = { "openai", "echo", NULL };
/* In the order of enum gb_jwt_alg. */
static const char *const jwt_algs[] = { "HS256", "RS256", "ES256", NULL };

#define OFF(f) offsetof(struct gb_config, f)

static const struct key keys[] = {
	{ "DATABASE_URL", K_STR, OFF(database_url), "postgresql:///gerbang", 0, 0, NULL, true,
	  "libpq connection string or URI of the runtime role" },
	{ "REDIS_URL", K_STR, OFF(redis_url), "redis://127.0.0.1:6379/0", 0, 0, NULL, true,
	  "redis://[:password@]host[:port][/db] or unix:/path[?db=N]" },
	{ "RUN_DIR", K_STR, OFF(run_dir), "/run/gerbang", 0, 0, NULL, false,
	  "directory for sockets and the shared metrics file" },
	{ "THREADS", K_LONG, OFF(threads), "4", 1, 256, NULL, false,
	  "serving threads per program (--threads overrides)" },
	{ "SOCKET_MODE", K_OCTAL, OFF(socket_mode), "0660", 0, 0777, NULL, false,
	  "permissions of a --listen unix: socket, in octal" },
	{ "MAX_BODY_BYTES", K_LONG, OFF(max_body_bytes), "1048576", 0, 67108864, NULL, false,
	  "largest request body accepted; larger gets 413" },
	{ "DB_TIMEOUT_MS", K_LONG, OFF(db_timeout_ms), "2000", 50, 60000, NULL, false,
	  "PostgreSQL connect and statement timeout" },
	{ "REDIS_TIMEOUT_MS", K_LONG, OFF(redis_timeout_ms), "500", 10, 60000, NULL, false,
	  "Redis connect and command timeout" },
	{ "READY_TIMEOUT_MS", K_LONG, OFF(ready_timeout_ms), "1000", 10, 30000, NULL, false,
	  "deadline of each /readyz check" },
	{ "LOG_LEVEL", K_ENUM, OFF(log_level), "info", 0, 0, log_levels, false,
	  "debug, info, warn or error" },
	{ "JWT_ALG", K_ENUM, OFF(jwt_alg), "HS256", 0, 0, jwt_algs, false,
	  "access token algorithm: HS256, RS256 or ES256 (exact)" },
	{ "JWT_SECRET", K_STR, OFF(jwt_secret), "", 0, 0, NULL, true,
	  "HS256 key, at least 32 bytes" },
	{ "JWT_PRIVATE_KEY_FILE", K_STR, OFF(jwt_private_key_file), "", 0, 0, NULL, false,
	  "RS256/ES256 PEM private key (programs that issue tokens)" },
	{ "JWT_PUBLIC_KEY_FILE", K_STR, OFF(jwt_public_key_file), "", 0, 0, NULL, false,
	  "RS256/ES256 PEM public key" },
	{ "JWT_ISSUER", K_STR, OFF(jwt_issuer), "gerbang", 0, 0, NULL, false,
	  "iss of access tokens, checked exactly" },
	{ "JWT_AUDIENCE", K_STR, OFF(jwt_audience), "gerbang", 0, 0, NULL, false,
	  "aud of access tokens, checked exactly" },
	{ "JWT_LEEWAY_S", K_LONG, OFF(jwt_leeway_s), "30", 0, 600, NULL, false,
	  "clock skew allowed on exp, nbf and iat" },
	{ "ACCESS_TOKEN_TTL_S", K_LONG, OFF(access_token_ttl_s), "900", 60, 86400, NULL, false,
	  "lifetime of access tokens" },
	{ "REFRESH_TOKEN_TTL_S", K_LONG, OFF(refresh_token_ttl_s), "2592000", 300, 31536000, NULL, false,
	  "lifetime of refresh tokens" },
	{ "PLUGIN_DIR", K_STR, OFF(plugin_dir), "/etc/gerbang/plugins.d", 0, 0, NULL, false,
	  "directory of plugin manifests (*.json) for gerbang-proxy" },
	{ "SCHEMA_DIR", K_STR, OFF(schema_dir), "/etc/gerbang/schema.d", 0, 0, NULL, false,
	  "directory of resource declarations (*.json) for gerbang-data" },
	{ "RATE_LIMIT", K_ENUM, OFF(rate_limit), "on", 0, 0, off_on, false,
	  "on or off: token buckets in Redis for every route" },
	{ "RATE_LIMIT_RATE", K_NUM, OFF(rate_limit_rate), "20", 1, 1000000, NULL, false,
	  "default class: requests per second refilled (decimals allowed)" },
	{ "RATE_LIMIT_CAPACITY", K_LONG, OFF(rate_limit_capacity), "40", 1, 1000000000, NULL, false,
	  "default class: bucket size (the burst)" },
	{ "RATE_LIMIT_PREFIX", K_STR, OFF(rate_limit_prefix), "gerbang:rl:", 0, 0, NULL, false,
	  "prefix of the Redis keys of the buckets" },
	{ "RATE_LIMIT_FAIL", K_ENUM, OFF(rate_limit_fail), "open", 0, 0, open_closed, false,
	  "when Redis is unreachable: open (admit) or closed (refuse, 503)" },
	{ "RATE_LIMIT_FILE", K_STR, OFF(rate_limit_file), "", 0, 0, NULL, false,
	  "JSON file of rate-limit classes and per-company overrides" },
	{ "TRUSTED_PROXIES", K_STR, OFF(trusted_proxies), "", 0, 0, NULL, false,
	  "addresses or CIDR blocks whose X-Forwarded-For is believed" },
	{ "CORS_ORIGINS", K_STR, OFF(cors_origins), "", 0, 0, NULL, false,
	  "allowed browser origins (scheme://host[:port], comma-separated), * or empty (off)" },
	{ "CORS_CREDENTIALS", K_ENUM, OFF(cors_credentials), "off", 0, 0, off_on, false,
	  "on: Access-Control-Allow-Credentials (not with *)" },
	{ "CORS_MAX_AGE_S", K_LONG, OFF(cors_max_age_s), "600", 0, 86400, NULL, false,
	  "how long a browser may cache a preflight" },
	{ "CORS_ALLOW_HEADERS", K_STR, OFF(cors_allow_headers),
	  "Authorization, Content-Type, X-Request-Id, Idempotency-Key, If-Match, traceparent",
	  0, 0, NULL, false, "request headers a preflight may ask for" },
	{ "CORS_EXPOSE_HEADERS", K_STR, OFF(cors_expose_headers),
	  "X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After, Location, "
	  "ETag",
	  0, 0, NULL, false, "response headers a browser script may read" },
	{ "HSTS_MAX_AGE_S", K_LONG, OFF(hsts_max_age_s), "31536000", 0, 63072000, NULL, false,
	  "Strict-Transport-Security max-age on HTTPS responses; 0 sends none" },
	{ "METRICS", K_ENUM, OFF(metrics), "on", 0, 0, off_on, false,
	  "on or off: counters in RUN_DIR/metrics.v1.shm, served by gerbang-metrics" },
	{ "METRICS_TOKEN", K_STR, OFF(metrics_token), "", 0, 0, NULL, true,
	  "bearer token gerbang-metrics requires for /metrics; empty: none" },
	{ "ACCESS_LOG", K_ENUM, OFF(access_log), "on", 0, 0, off_on, false,
	  "on or off: one JSON line per request" },
	{ "ACCESS_LOG_SAMPLE", K_NUM, OFF(access_log_sample), "1", 0, 1, NULL, false,
	  "share (0 to 1) of successful requests logged; errors always are" },
	{ "TASK_PREFIX", K_STR, OFF(task_prefix), "gerbang:tasks:", 0, 0, NULL, false,
	  "prefix of the Redis keys of the task queue" },
	{ "TASKS_THREADS", K_LONG, OFF(tasks_threads), "32", 1, 256, NULL, false,
	  "serving threads of gerbang-tasks, in place of THREADS: the tasks they queue at once share a commit" },
	{ "TASKS_MAX_QUEUED", K_LONG, OFF(tasks_max_queued), "1000", 1, 1000000, NULL, false,
	  "pending and started tasks a company may have; more get 429" },
	{ "WORKER_CONCURRENCY", K_LONG, OFF(worker_concurrency), "4", 1, 256, NULL, false,
	  "tasks one gerbang-worker runs at once (--concurrency overrides)" },
	{ "TASK_VISIBILITY_S", K_LONG, OFF(task_visibility_s), "120", 2, 86400, NULL, false,
	  "a task taken by a worker that neither finished nor returned it is re-delivered after this" },
	{ "TASK_MAX_ATTEMPTS", K_LONG, OFF(task_max_attempts), "3", 1, 100, NULL, false,
	  "runs of a task before it fails for good and goes to the dead-letter list" },
	{ "TASK_RETRY_BASE_MS", K_LONG, OFF(task_retry_base_ms), "1000", 10, 3600000, NULL, false,
	  "delay before the second run of a failed task; doubled for each further run" },
	{ "TASK_RETRY_MAX_MS", K_LONG, OFF(task_retry_max_ms), "300000", 10, 86400000, NULL, false,
	  "longest delay between two runs of a failed task" },
	{ "LLM_ADAPTER", K_ENUM, OFF(llm_adapter), "openai", 0, 0, llm_adapters, false,
	  "generate_text through openai (a chat-completions API) or echo (offline)" },
	{ "LLM_BASE_URL", K_STR, OFF(llm_base_url), "https://api.openai.com/v1", 0, 0, NULL, false,
	  "root of the OpenAI-compatible API; /chat/completions is added" },
	{ "LLM_MODEL", K_STR, OFF(llm_model), "gpt-4o-mini", 0, 0, NULL, false,
	  "model asked for" },
	{ "LLM_API_KEY", K_STR, OFF(llm_api_key), "", 0, 0, NULL, true,
	  "bearer key of the API; empty: none sent" },
	{ "LLM_MAX_TOKENS", K_LONG, OFF(llm_max_tokens), "1024", 1, 131072, NULL, false,
	  "max_tokens of a generate_text task that names none, and the most one may name" },
	{ "LLM_TEMPERATURE", K_NUM, OFF(llm_temperature), "0.7", 0, 2, NULL, false,
	  "sampling temperature, 0 to 2" },
	{ "LLM_TIMEOUT_MS", K_LONG, OFF(llm_timeout_ms), "30000", 100, 600000, NULL, false,
	  "deadline of one request to the API" },
	{ "LLM_RETRIES", K_LONG, OFF(llm_retries), "2", 0, 10, NULL, false,
	  "further requests after a timeout, a refused connection, 429 or 5xx" },
	{ "LLM_BREAKER_FAILURES", K_LONG, OFF(llm_breaker_failures), "5", 1, 1000, NULL, false,
	  "consecutive failed requests that open the API's circuit" },
	{ "LLM_BREAKER_OPEN_MS", K_LONG, OFF(llm_breaker_open_ms), "30000", 100, 3600000, NULL, false,
	  "how long an open circuit refuses before one request probes the API" },
	{ "CHAT_PREFIX", K_STR, OFF(chat_prefix), "gerbang:chat:", 0, 0, NULL, false,
	  "prefix of the Redis keys of chat contexts" },
	{ "CHAT_CONTEXT_MESSAGES", K_LONG, OFF(chat_context_messages), "20", 0, 200, NULL, false,
	  "earlier messages of a session sent with a new one (0: none)" },
	{ "CHAT_CONTEXT_CHARS", K_LONG, OFF(chat_context_chars), "16000", 0, 1000000, NULL, false,
	  "at most this many characters of them, the newest kept" },
	{ "CHAT_CONTEXT_TTL_S", K_LONG, OFF(chat_context_ttl_s), "3600", 60, 2592000, NULL, false,
	  "a session's context is forgotten this long after its last message" },
	{ "CHAT_MESSAGE_MAX", K_LONG, OFF(chat_message_max), "8000", 1, 100000, NULL, false,
	  "bytes of a chat message" },
	{ "CHAT_SYSTEM_PROMPT", K_STR, OFF(chat_system_prompt), "", 0, 0, NULL, false,
	  "a system message sent first in every chat request; empty: none" },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))
#define FILE_MAX 65536

static void
set_err(struct gb_config_error *err, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
set_err(struct gb_config_error *err, const char *key, const char *fmt, ...)
{
	va_list ap;

	snprintf(err->key, sizeof(err->key), "%s", key);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

static const char *
env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

enum gb_err
gb_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0' || !(*s == '-' || (*s >= '0' && *s <= '9')))
		return GB_EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0')
		return GB_EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return GB_ERANGE;
	*out = v;
	return GB_OK;
}

/* All of s as a plain decimal ("20", "0.5"; no sign, exponent, hex, inf
 * or nan) in [min, max]. */
static enum gb_err
parse_num(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (s[0] < '0' || s[0] > '9' || strspn(s, "0123456789.") != strlen(s) ||
	    strchr(s, '.') != strrchr(s, '.') || strlen(s) > 24)
		return GB_EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || errno != 0 || v < min || v > max)
		return GB_ERANGE;
	*out = v;
	return GB_OK;
}

/* Reads the first line of path (the value, without its line end) into a new
 * string; a NUL byte in that line is an error. */
static enum gb_err
read_secret_file(const char *key, const char *path, char **out,
                 struct gb_config_error *err)
{
	char *buf;
	size_t len = 0, line;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, key, "cannot open %s: %s", path, strerror(errno));
		return GB_ECONFIG;
	}
	buf = malloc(FILE_MAX + 1);
	if (buf == NULL) {
		close(fd);
		return GB_ENOMEM;
	}
	while (len < FILE_MAX && (n = read(fd, buf + len, FILE_MAX - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_err(err, key, "cannot read %s: %s", path, strerror(errno));
			goto err;
		}
		len += (size_t)n;
	}
	if (len == FILE_MAX) {
		set_err(err, key, "%s is larger than %d bytes", path, FILE_MAX - 1);
		goto err;
	}
	for (line = 0; line < len && buf[line] != '\n' && buf[line] != '\r'; line++) {
		if (buf[line] == '\0') {
			set_err(err, key, "%s contains a NUL byte", path);
			goto err;
		}
	}
	explicit_bzero(buf + line, len - line);
	buf[line] = '\0';
	close(fd);
	*out = buf;
	return GB_OK;
err:
	explicit_bzero(buf, FILE_MAX + 1);
	free(buf);
	close(fd);
	return GB_ECONFIG;
}

static enum gb_err
load_key(struct gb_config *c, const struct key *k, char *const *envp,
         struct gb_config_error *err)
{
	char filekey[80];
	const char *val, *path = NULL;
	char *fromfile = NULL;
	enum gb_err e = GB_OK;
	void *field = (char *)c + k->off;
	size_t i;

	val = env_get(envp, k->name);
	if (k->secret) {
		snprintf(filekey, sizeof(filekey), "%s_FILE", k->name);
		path = env_get(envp, filekey);
		if (path != NULL && val != NULL) {
			set_err(err, k->name, "set either %s or %s, not both", k->name, filekey);
			return GB_ECONFIG;
		}
		if (path != NULL) {
			e = read_secret_file(filekey, path, &fromfile, err);
			if (e != GB_OK)
				return e;
			val = fromfile;
		}
	}
	if (val == NULL)
		val = k->def;

	switch (k->type) {
	case K_STR:
		if (memchr(val, '\n', strlen(val)) != NULL) {
			set_err(err, k->name, "must be one line");
			e = GB_ECONFIG;
			break;
		}
		if (fromfile != NULL) {
			*(char **)field = fromfile;
			fromfile = NULL;
		} else if ((*(char **)field = strdup(val)) == NULL) {
			e = GB_ENOMEM;
		}
		break;
	case K_LONG:
		e = gb_parse_long(val, k->min, k->max, (long *)field);
		if (e != GB_OK) {
			set_err(err, k->name, "must be a whole number from %ld to %ld, not \"%.40s\"",
			        k->min, k->max, val);
			e = GB_ECONFIG;
		}
		break;
	case K_NUM:
		e = parse_num(val, (double)k->min / 10000.0, (double)k->max, (double *)field);
		if (e != GB_OK) {
			set_err(err, k->name, "must be a number from %g to %ld, not \"%.40s\"",
			        (double)k->min / 10000.0, k->max, val);
			e = GB_ECONFIG;
		}
		break;
	case K_OCTAL:
		if (val[0] != '0' || strspn(val, "01234567") != strlen(val) ||
		    strlen(val) > 4 || strtol(val, NULL, 8) > k->max) {
			set_err(err, k->name, "must be an octal mode from 0000 to 0%lo, not \"%.40s\"",
			        (unsigned long)k->max, val);
			e = GB_ECONFIG;
		} else {
			*(long *)field = strtol(val, NULL, 8);
		}
		break;
	case K_ENUM:
		for (i = 0; k->choices[i] != NULL; i++)
			if (strcmp(val, k->choices[i]) == 0)
				break;
		if (k->choices[i] == NULL) {
			set_err(err, k->name, "must be one of the listed values, not \"%.40s\"", val);
			e = GB_ECONFIG;
		} else {
			*(long *)field = (long)i;
		}
		break;
	}
	if (fromfile != NULL) {
		explicit_bzero(fromfile, strlen(fromfile));
		free(fromfile);
	}
	return e;
}

enum gb_err
gb_config_load(struct gb_config *c, char *const *envp, struct gb_config_error *err)
{
	enum gb_err e;
	size_t i;

	memset(c, 0, sizeof(*c));
	err->key[0] = '\0';
	err->msg[0] = '\0';
	if (envp == NULL)
		envp = environ;
	for (i = 0; i < NKEYS; i++) {
		e = load_key(c, &keys[i], envp, err);
		if (e != GB_OK) {
			if (e == GB_ENOMEM)
				set_err(err, keys[i].name, "out of memory");
			gb_config_free(c);
			return e;
		}
	}
	return GB_OK;
}

void
gb_config_free(struct gb_config *c)
{
	size_t i;
	char **p;

	for (i = 0; i < NKEYS; i++) {
		if (keys[i].type != K_STR)
			continue;
		p = (char **)((char *)c + keys[i].off);
		if (*p != NULL && keys[i].secret)
			explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

/* dprintf(3) leaks its buffer when the write fails (glibc 2.36), so each
 * line is formatted in memory and written with write(2). */
static int
put_line(int fd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
put_line(int fd, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;
	size_t off = 0;
	ssize_t w;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	while (off < (size_t)n) {
		w = write(fd, s + off, (size_t)n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(s);
	return off == (size_t)n ? 0 : -1;
}

int
gb_config_print(const struct gb_config *c, int fd)
{
	const void *field;
	size_t i;
	int rc = 0;

	for (i = 0; i < NKEYS && rc >= 0; i++) {
		field = (const char *)c + keys[i].off;
		if (keys[i].secret)
			rc = put_line(fd, "%s=%s\n", keys[i].name,
			              **(char *const *)field != '\0' ? "(set)" : "(unset)");
		else if (keys[i].type == K_STR)
			rc = put_line(fd, "%s=%s\n", keys[i].name, *(char *const *)field);
		else if (keys[i].type == K_LONG)
			rc = put_line(fd, "%s=%ld\n", keys[i].name, *(const long *)field);
		else if (keys[i].type == K_NUM)
			rc = put_line(fd, "%s=%g\n", keys[i].name, *(const double *)field);
		else if (keys[i].type == K_OCTAL)
			rc = put_line(fd, "%s=0%lo\n", keys[i].name,
			              (unsigned long)*(const long *)field);
		else
			rc = put_line(fd, "%s=%s\n", keys[i].name,
			              keys[i].choices[*(const long *)field]);
	}
	return rc < 0 ? -1 : 0;
}
