/* Tests for lib/gb_config.c: numbers with bounds, the key table, secrets
 * from files, and printing without secrets. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "gb_config.h"
#include "gb_test.h"

/* ---- gb_parse_long ---------------------------------------------------- */

static const struct {
	const char *s;
	long min, max;
	enum gb_err err;
	long value;
} long_cases[] = {
	{ "0", 0, 10, GB_OK, 0 },
	{ "10", 0, 10, GB_OK, 10 },
	{ "007", 0, 10, GB_OK, 7 },
	{ "-5", -10, 10, GB_OK, -5 },
	{ "-10", -10, 10, GB_OK, -10 },
	{ "-0", 0, 10, GB_OK, 0 },
	{ "11", 0, 10, GB_ERANGE, 0 },
	{ "-1", 0, 10, GB_ERANGE, 0 },
	{ "-11", -10, 10, GB_ERANGE, 0 },
	{ "9223372036854775807", LONG_MIN, LONG_MAX, GB_OK, LONG_MAX },
	{ "-9223372036854775808", LONG_MIN, LONG_MAX, GB_OK, LONG_MIN },
	{ "9223372036854775808", LONG_MIN, LONG_MAX, GB_ERANGE, 0 },
	{ "-9223372036854775809", LONG_MIN, LONG_MAX, GB_ERANGE, 0 },
	{ "99999999999999999999999999", 0, 10, GB_ERANGE, 0 },
	{ "", 0, 10, GB_EINVAL, 0 },
	{ " 1", 0, 10, GB_EINVAL, 0 },
	{ "1 ", 0, 10, GB_EINVAL, 0 },
	{ "\t1", 0, 10, GB_EINVAL, 0 },
	{ "1\n", 0, 10, GB_EINVAL, 0 },
	{ "+1", 0, 10, GB_EINVAL, 0 },
	{ "1x", 0, 10, GB_EINVAL, 0 },
	{ "x1", 0, 10, GB_EINVAL, 0 },
	{ "0x10", 0, 100, GB_EINVAL, 0 },
	{ "1e3", 0, 10000, GB_EINVAL, 0 },
	{ "1.0", 0, 10, GB_EINVAL, 0 },
	{ "-", 0, 10, GB_EINVAL, 0 },
	{ "--1", -10, 10, GB_EINVAL, 0 },
	{ "- 1", -10, 10, GB_EINVAL, 0 },
	{ "1_000", 0, 10000, GB_EINVAL, 0 },
};

START_TEST(test_parse_long)
{
	long v = 12345;
	enum gb_err err = gb_parse_long(long_cases[_i].s, long_cases[_i].min,
	                                long_cases[_i].max, &v);

	ck_assert_msg(err == long_cases[_i].err, "\"%s\": got %d", long_cases[_i].s, err);
	ck_assert_int_eq(v, err == GB_OK ? long_cases[_i].value : 12345);
}
END_TEST

START_TEST(test_parse_long_null)
{
	long v = 1;

	ck_assert_int_eq(gb_parse_long(NULL, 0, 10, &v), GB_EINVAL);
	ck_assert_int_eq(v, 1);
}
END_TEST

/* ---- gb_config_load --------------------------------------------------- */

static struct gb_config c;
static struct gb_config_error err;
static struct t_env env;
static char tmpdir[64];

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s", "/tmp/gb-test-config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	env.v = NULL;
	env.n = 0;
}

static void
teardown(void)
{
	char cmd[128];

	gb_config_free(&c);
	t_env_free(&env);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Writes n bytes into a new file under tmpdir; returns its path (static). */
static const char *
write_file(const char *name, const void *data, size_t n)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
	return path;
}

static enum gb_err
load(void)
{
	memset(&c, 0x5a, sizeof(c));
	memset(&err, 0x5a, sizeof(err));
	return gb_config_load(&c, env.v, &err);
}

static void
assert_nothing_to_free(void)
{
	ck_assert_ptr_null(c.database_url);
	ck_assert_ptr_null(c.redis_url);
	ck_assert_ptr_null(c.run_dir);
}

START_TEST(test_defaults)
{
	env = t_env_make("UNRELATED=1", NULL);
	ck_assert_int_eq(load(), GB_OK);
	ck_assert_str_eq(err.key, "");
	ck_assert_str_eq(err.msg, "");
	ck_assert_str_eq(c.database_url, "postgresql:///gerbang");
	ck_assert_str_eq(c.redis_url, "redis://127.0.0.1:6379/0");
	ck_assert_str_eq(c.run_dir, "/run/gerbang");
	ck_assert_int_eq(c.threads, 4);
	ck_assert_int_eq(c.socket_mode, 0660);
	ck_assert_int_eq(c.max_body_bytes, 1048576);
	ck_assert_int_eq(c.db_timeout_ms, 2000);
	ck_assert_int_eq(c.redis_timeout_ms, 500);
	ck_assert_int_eq(c.ready_timeout_ms, 1000);
	ck_assert_int_eq(c.log_level, GB_LOG_INFO);
}
END_TEST

START_TEST(test_values)
{
	env = t_env_make("DATABASE_URL=postgresql://u@db/x", "REDIS_URL=unix:/run/r.sock",
	                 "RUN_DIR=/tmp/gb", "THREADS=256", "SOCKET_MODE=0600",
	                 "MAX_BODY_BYTES=0", "DB_TIMEOUT_MS=60000", "REDIS_TIMEOUT_MS=10",
	                 "READY_TIMEOUT_MS=30000", "LOG_LEVEL=debug", "THREADSX=0",
	                 "RUN_DIR_FILE=/nonexistent", NULL);
	ck_assert_int_eq(load(), GB_OK);
	ck_assert_str_eq(c.database_url, "postgresql://u@db/x");
	ck_assert_str_eq(c.redis_url, "unix:/run/r.sock");
	ck_assert_str_eq(c.run_dir, "/tmp/gb");       /* RUN_DIR is no secret: no _FILE */
	ck_assert_int_eq(c.threads, 256);
	ck_assert_int_eq(c.socket_mode, 0600);
	ck_assert_int_eq(c.max_body_bytes, 0);
	ck_assert_int_eq(c.db_timeout_ms, 60000);
	ck_assert_int_eq(c.redis_timeout_ms, 10);
	ck_assert_int_eq(c.ready_timeout_ms, 30000);
	ck_assert_int_eq(c.log_level, GB_LOG_DEBUG);
}
END_TEST

static const struct {
	const char *value;
	long want;
} mode_cases[] = {
	{ "SOCKET_MODE=0", 0 }, { "SOCKET_MODE=00", 0 }, { "SOCKET_MODE=0600", 0600 },
	{ "SOCKET_MODE=0666", 0666 }, { "SOCKET_MODE=0777", 0777 }, { "SOCKET_MODE=0007", 7 },
	{ "SOCKET_MODE=070", 070 },
	{ "LOG_LEVEL=debug", GB_LOG_DEBUG }, { "LOG_LEVEL=info", GB_LOG_INFO },
	{ "LOG_LEVEL=warn", GB_LOG_WARN }, { "LOG_LEVEL=error", GB_LOG_ERROR },
};

START_TEST(test_octal_and_enum)
{
	env = t_env_make(mode_cases[_i].value, NULL);
	ck_assert_int_eq(load(), GB_OK);
	if (strncmp(mode_cases[_i].value, "SOCKET_MODE", 11) == 0)
		ck_assert_int_eq(c.socket_mode, mode_cases[_i].want);
	else
		ck_assert_int_eq(c.log_level, mode_cases[_i].want);
}
END_TEST

/* Each bad setting fails the whole load and names its key. */
static const struct {
	const char *setting;
	const char *key;
} bad_cases[] = {
	{ "THREADS=0", "THREADS" },
	{ "THREADS=257", "THREADS" },
	{ "THREADS=abc", "THREADS" },
	{ "THREADS=", "THREADS" },
	{ "THREADS= 4", "THREADS" },
	{ "THREADS=4k", "THREADS" },
	{ "THREADS=+4", "THREADS" },
	{ "THREADS=99999999999999999999", "THREADS" },
	{ "MAX_BODY_BYTES=-1", "MAX_BODY_BYTES" },
	{ "MAX_BODY_BYTES=67108865", "MAX_BODY_BYTES" },
	{ "MAX_BODY_BYTES=1MB", "MAX_BODY_BYTES" },
	{ "DB_TIMEOUT_MS=49", "DB_TIMEOUT_MS" },
	{ "DB_TIMEOUT_MS=60001", "DB_TIMEOUT_MS" },
	{ "REDIS_TIMEOUT_MS=9", "REDIS_TIMEOUT_MS" },
	{ "REDIS_TIMEOUT_MS=60001", "REDIS_TIMEOUT_MS" },
	{ "READY_TIMEOUT_MS=9", "READY_TIMEOUT_MS" },
	{ "READY_TIMEOUT_MS=30001", "READY_TIMEOUT_MS" },
	{ "SOCKET_MODE=660", "SOCKET_MODE" },
	{ "SOCKET_MODE=0999", "SOCKET_MODE" },
	{ "SOCKET_MODE=0668", "SOCKET_MODE" },
	{ "SOCKET_MODE=01000", "SOCKET_MODE" },
	{ "SOCKET_MODE=00660", "SOCKET_MODE" },
	{ "SOCKET_MODE=0x1ff", "SOCKET_MODE" },
	{ "SOCKET_MODE=-0660", "SOCKET_MODE" },
	{ "SOCKET_MODE=0660 ", "SOCKET_MODE" },
	{ "SOCKET_MODE=", "SOCKET_MODE" },
	{ "LOG_LEVEL=verbose", "LOG_LEVEL" },
	{ "LOG_LEVEL=INFO", "LOG_LEVEL" },
	{ "LOG_LEVEL=info ", "LOG_LEVEL" },
	{ "LOG_LEVEL=", "LOG_LEVEL" },
	{ "LOG_LEVEL=0", "LOG_LEVEL" },
	{ "RUN_DIR=/a\nb", "RUN_DIR" },
	{ "DATABASE_URL=x\ny", "DATABASE_URL" },
	{ "REDIS_URL=redis://h\n", "REDIS_URL" },
	{ "RATE_LIMIT_RATE=0", "RATE_LIMIT_RATE" },
	{ "RATE_LIMIT_RATE=0.00001", "RATE_LIMIT_RATE" },
	{ "RATE_LIMIT_RATE=1000001", "RATE_LIMIT_RATE" },
	{ "RATE_LIMIT_RATE=-1", "RATE_LIMIT_RATE" },
	{ "RATE_LIMIT_RATE=1e3", "RATE_LIMIT_RATE" },
	{ "RATE_LIMIT_RATE=0x10", "RATE_LIMIT_RATE" },
	{ "RATE_LIMIT_RATE=nan", "RATE_LIMIT_RATE" },
	{ "RATE_LIMIT_RATE=1.2.3", "RATE_LIMIT_RATE" },
	{ "RATE_LIMIT_RATE=.5", "RATE_LIMIT_RATE" },
	{ "RATE_LIMIT_RATE=", "RATE_LIMIT_RATE" },
	{ "RATE_LIMIT_CAPACITY=0", "RATE_LIMIT_CAPACITY" },
	{ "RATE_LIMIT=yes", "RATE_LIMIT" },
	{ "RATE_LIMIT_FAIL=maybe", "RATE_LIMIT_FAIL" },
	{ "CORS_CREDENTIALS=true", "CORS_CREDENTIALS" },
	{ "HSTS_MAX_AGE_S=-1", "HSTS_MAX_AGE_S" },
	{ "ACCESS_LOG_SAMPLE=1.5", "ACCESS_LOG_SAMPLE" },
	{ "ACCESS_LOG_SAMPLE=-0.1", "ACCESS_LOG_SAMPLE" },
	{ "METRICS=yes", "METRICS" },
	{ "TASKS_MAX_QUEUED=0", "TASKS_MAX_QUEUED" },
	{ "TASKS_THREADS=257", "TASKS_THREADS" },
	{ "CHAT_CONTEXT_MESSAGES=201", "CHAT_CONTEXT_MESSAGES" },
	{ "CHAT_CONTEXT_TTL_S=59", "CHAT_CONTEXT_TTL_S" },
	{ "CHAT_MESSAGE_MAX=0", "CHAT_MESSAGE_MAX" },
	{ "WORKER_CONCURRENCY=257", "WORKER_CONCURRENCY" },
	{ "TASK_VISIBILITY_S=1", "TASK_VISIBILITY_S" },
	{ "TASK_MAX_ATTEMPTS=0", "TASK_MAX_ATTEMPTS" },
	{ "TASK_RETRY_BASE_MS=9", "TASK_RETRY_BASE_MS" },
	{ "LLM_ADAPTER=anthropic", "LLM_ADAPTER" },
	{ "LLM_BASE_URL=http://a\nb", "LLM_BASE_URL" },
	{ "LLM_MAX_TOKENS=0", "LLM_MAX_TOKENS" },
	{ "LLM_TEMPERATURE=2.5", "LLM_TEMPERATURE" },
	{ "LLM_TEMPERATURE=-1", "LLM_TEMPERATURE" },
	{ "LLM_TIMEOUT_MS=99", "LLM_TIMEOUT_MS" },
	{ "LLM_RETRIES=11", "LLM_RETRIES" },
	{ "LLM_BREAKER_FAILURES=0", "LLM_BREAKER_FAILURES" },
	{ "LLM_BREAKER_OPEN_MS=99", "LLM_BREAKER_OPEN_MS" },
};

/* Decimal rates. */
START_TEST(test_rate)
{
	env = t_env_make("RATE_LIMIT_RATE=0.5", "RATE_LIMIT_FAIL=closed", "RATE_LIMIT=off", NULL);
	ck_assert_int_eq(load(), GB_OK);
	ck_assert_double_eq(c.rate_limit_rate, 0.5);
	ck_assert_int_eq(c.rate_limit_fail, 1);
	ck_assert_int_eq(c.rate_limit, 0);
	gb_config_free(&c);
	t_env_free(&env);
	env = t_env_make("RATE_LIMIT_RATE=0.0001", NULL);
	ck_assert_int_eq(load(), GB_OK);
	ck_assert_double_eq(c.rate_limit_rate, 0.0001);
}
END_TEST

START_TEST(test_bad_values)
{
	/* good values beside the bad one: their memory is freed on error (the
	 * bad one comes first: the first of two equal names wins) */
	env = t_env_make(bad_cases[_i].setting, "DATABASE_URL=postgresql://a/b", "RUN_DIR=/x",
	                 "LOG_LEVEL_X=1", NULL);
	ck_assert_int_eq(load(), GB_ECONFIG);
	ck_assert_str_eq(err.key, bad_cases[_i].key);
	ck_assert_uint_gt(strlen(err.msg), 0);
	assert_nothing_to_free();
}
END_TEST

START_TEST(test_bad_messages)
{
	env = t_env_make("THREADS=0", NULL);
	ck_assert_int_eq(load(), GB_ECONFIG);
	ck_assert_str_eq(err.msg, "must be a whole number from 1 to 256, not \"0\"");
	t_env_free(&env);
	env = t_env_make("SOCKET_MODE=0999", NULL);
	ck_assert_int_eq(load(), GB_ECONFIG);
	ck_assert_str_eq(err.msg, "must be an octal mode from 0000 to 0777, not \"0999\"");
	t_env_free(&env);
	env = t_env_make("LOG_LEVEL=loud", NULL);
	ck_assert_int_eq(load(), GB_ECONFIG);
	ck_assert_str_eq(err.msg, "must be one of the listed values, not \"loud\"");
	t_env_free(&env);
	/* a long bad value is cut in the message */
	t_env_init(&env);
	t_env_add_long(&env, "THREADS", '9', 1000);
	ck_assert_int_eq(load(), GB_ECONFIG);
	ck_assert_uint_lt(strlen(err.msg), sizeof(err.msg));
	ck_assert_ptr_nonnull(strstr(err.msg, "\"9999999999"));
}
END_TEST

START_TEST(test_key_and_file_both)
{
	const char *p = write_file("db", "postgresql://f/x\n", 17);
	char buf[256];

	snprintf(buf, sizeof(buf), "DATABASE_URL_FILE=%s", p);
	env = t_env_make("DATABASE_URL=postgresql://e/x", buf, NULL);
	ck_assert_int_eq(load(), GB_ECONFIG);
	ck_assert_str_eq(err.key, "DATABASE_URL");
	ck_assert_str_eq(err.msg, "set either DATABASE_URL or DATABASE_URL_FILE, not both");
	assert_nothing_to_free();
	t_env_free(&env);

	snprintf(buf, sizeof(buf), "REDIS_URL_FILE=%s", p);
	env = t_env_make("REDIS_URL=", buf, NULL);    /* set but empty still counts */
	ck_assert_int_eq(load(), GB_ECONFIG);
	ck_assert_str_eq(err.key, "REDIS_URL");
}
END_TEST

static const struct {
	const char *content;
	size_t n;
	const char *value;
} file_cases[] = {
#define F(content, value) { content, sizeof(content) - 1, value }
	F("postgresql://u:pw@h/db\n", "postgresql://u:pw@h/db"),
	F("postgresql://u:pw@h/db", "postgresql://u:pw@h/db"),
	F("first\nsecond\n", "first"),
	F("crlf\r\n", "crlf"),
	F("cr\rrest", "cr"),
	F("\n", ""),
	F("", ""),
	F(" spaced value \n", " spaced value "),
	F("v\nline two has a \0 NUL\n", "v"),         /* only the first line matters */
#undef F
};

START_TEST(test_secret_file)
{
	const char *p = write_file("secret", file_cases[_i].content, file_cases[_i].n);
	char buf[256];

	snprintf(buf, sizeof(buf), "DATABASE_URL_FILE=%s", p);
	env = t_env_make(buf, NULL);
	ck_assert_int_eq(load(), GB_OK);
	ck_assert_str_eq(c.database_url, file_cases[_i].value);
	ck_assert_str_eq(c.redis_url, "redis://127.0.0.1:6379/0");
	t_env_free(&env);
	gb_config_free(&c);

	snprintf(buf, sizeof(buf), "REDIS_URL_FILE=%s", p);
	env = t_env_make(buf, NULL);
	ck_assert_int_eq(load(), GB_OK);
	ck_assert_str_eq(c.redis_url, file_cases[_i].value);
	ck_assert_str_eq(c.database_url, "postgresql:///gerbang");
}
END_TEST

START_TEST(test_secret_file_errors)
{
	char buf[256], *big;
	const char *p;

	/* missing file: the _FILE key is named, with the path */
	env = t_env_make("DATABASE_URL_FILE=/nonexistent/gb-secret", NULL);
	ck_assert_int_eq(load(), GB_ECONFIG);
	ck_assert_str_eq(err.key, "DATABASE_URL_FILE");
	ck_assert_str_eq(err.msg, "cannot open /nonexistent/gb-secret: No such file or directory");
	assert_nothing_to_free();
	t_env_free(&env);

	/* a NUL byte in the first line */
	p = write_file("nul", "pass\0word\n", 10);
	snprintf(buf, sizeof(buf), "REDIS_URL_FILE=%s", p);
	env = t_env_make(buf, NULL);
	ck_assert_int_eq(load(), GB_ECONFIG);
	ck_assert_str_eq(err.key, "REDIS_URL_FILE");
	ck_assert_ptr_nonnull(strstr(err.msg, "NUL byte"));
	assert_nothing_to_free();
	t_env_free(&env);

	/* a directory cannot be read */
	snprintf(buf, sizeof(buf), "REDIS_URL_FILE=%s", tmpdir);
	env = t_env_make(buf, NULL);
	ck_assert_int_eq(load(), GB_ECONFIG);
	ck_assert_str_eq(err.key, "REDIS_URL_FILE");
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot read"));
	t_env_free(&env);

	/* too large (64 KiB and more) */
	big = t_repeat('x', 65536);
	p = write_file("big", big, 65536);
	free(big);
	snprintf(buf, sizeof(buf), "DATABASE_URL_FILE=%s", p);
	env = t_env_make(buf, NULL);
	ck_assert_int_eq(load(), GB_ECONFIG);
	ck_assert_str_eq(err.key, "DATABASE_URL_FILE");
	ck_assert_ptr_nonnull(strstr(err.msg, "larger than"));
	t_env_free(&env);

	/* just under the limit is fine */
	big = t_repeat('y', 65535);
	p = write_file("big", big, 65535);
	free(big);
	snprintf(buf, sizeof(buf), "DATABASE_URL_FILE=%s", p);
	env = t_env_make(buf, NULL);
	ck_assert_int_eq(load(), GB_OK);
	ck_assert_uint_eq(strlen(c.database_url), 65535);
}
END_TEST

START_TEST(test_process_environment)
{
	/* envp NULL reads environ (each test runs in its own process) */
	ck_assert_int_eq(setenv("THREADS", "7", 1), 0);
	ck_assert_int_eq(setenv("LOG_LEVEL", "warn", 1), 0);
	memset(&c, 0x5a, sizeof(c));
	ck_assert_int_eq(gb_config_load(&c, NULL, &err), GB_OK);
	ck_assert_int_eq(c.threads, 7);
	ck_assert_int_eq(c.log_level, GB_LOG_WARN);
	ck_assert_int_eq(setenv("THREADS", "0", 1), 0);
	gb_config_free(&c);
	ck_assert_int_eq(gb_config_load(&c, NULL, &err), GB_ECONFIG);
	ck_assert_str_eq(err.key, "THREADS");
	unsetenv("THREADS");
	unsetenv("LOG_LEVEL");
}
END_TEST

START_TEST(test_free_twice)
{
	env = t_env_make("UNRELATED=1", NULL);
	ck_assert_int_eq(load(), GB_OK);
	gb_config_free(&c);
	assert_nothing_to_free();
	gb_config_free(&c);
}
END_TEST

/* ---- gb_config_print -------------------------------------------------- */

static char *
print_to_string(const struct gb_config *cfg)
{
	static char out[8192];
	int p[2];
	ssize_t n;
	size_t len = 0;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(gb_config_print(cfg, p[1]), 0);
	close(p[1]);
	while ((n = read(p[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	close(p[0]);
	out[len] = '\0';
	return out;
}

START_TEST(test_print_defaults)
{
	env = t_env_make("UNRELATED=1", NULL);
	ck_assert_int_eq(load(), GB_OK);
	ck_assert_str_eq(print_to_string(&c),
	                 "DATABASE_URL=(set)\n"
	                 "REDIS_URL=(set)\n"
	                 "RUN_DIR=/run/gerbang\n"
	                 "THREADS=4\n"
	                 "SOCKET_MODE=0660\n"
	                 "MAX_BODY_BYTES=1048576\n"
	                 "DB_TIMEOUT_MS=2000\n"
	                 "REDIS_TIMEOUT_MS=500\n"
	                 "READY_TIMEOUT_MS=1000\n"
	                 "LOG_LEVEL=info\n"
	                 "JWT_ALG=HS256\n"
	                 "JWT_SECRET=(unset)\n"
	                 "JWT_PRIVATE_KEY_FILE=\n"
	                 "JWT_PUBLIC_KEY_FILE=\n"
	                 "JWT_ISSUER=gerbang\n"
	                 "JWT_AUDIENCE=gerbang\n"
	                 "JWT_LEEWAY_S=30\n"
	                 "ACCESS_TOKEN_TTL_S=900\n"
	                 "REFRESH_TOKEN_TTL_S=2592000\n"
	                 "PLUGIN_DIR=/etc/gerbang/plugins.d\n"
	                 "SCHEMA_DIR=/etc/gerbang/schema.d\n"
	                 "RATE_LIMIT=on\n"
	                 "RATE_LIMIT_RATE=20\n"
	                 "RATE_LIMIT_CAPACITY=40\n"
	                 "RATE_LIMIT_PREFIX=gerbang:rl:\n"
	                 "RATE_LIMIT_FAIL=open\n"
	                 "RATE_LIMIT_FILE=\n"
	                 "TRUSTED_PROXIES=\n"
	                 "CORS_ORIGINS=\n"
	                 "CORS_CREDENTIALS=off\n"
	                 "CORS_MAX_AGE_S=600\n"
	                 "CORS_ALLOW_HEADERS=Authorization, Content-Type, X-Request-Id, "
	                 "Idempotency-Key, If-Match, traceparent\n"
	                 "CORS_EXPOSE_HEADERS=X-Request-Id, RateLimit-Limit, RateLimit-Remaining, "
	                 "RateLimit-Reset, Retry-After, Location, ETag\n"
	                 "HSTS_MAX_AGE_S=31536000\n"
	                 "METRICS=on\n"
	                 "METRICS_TOKEN=(unset)\n"
	                 "ACCESS_LOG=on\n"
	                 "ACCESS_LOG_SAMPLE=1\n"
	                 "TASK_PREFIX=gerbang:tasks:\n"
	                 "TASKS_THREADS=32\n"
	                 "TASKS_MAX_QUEUED=1000\n"
	                 "WORKER_CONCURRENCY=4\n"
	                 "TASK_VISIBILITY_S=120\n"
	                 "TASK_MAX_ATTEMPTS=3\n"
	                 "TASK_RETRY_BASE_MS=1000\n"
	                 "TASK_RETRY_MAX_MS=300000\n"
	                 "LLM_ADAPTER=openai\n"
	                 "LLM_BASE_URL=https://api.openai.com/v1\n"
	                 "LLM_MODEL=gpt-4o-mini\n"
	                 "LLM_API_KEY=(unset)\n"
	                 "LLM_MAX_TOKENS=1024\n"
	                 "LLM_TEMPERATURE=0.7\n"
	                 "LLM_TIMEOUT_MS=30000\n"
	                 "LLM_RETRIES=2\n"
	                 "LLM_BREAKER_FAILURES=5\n"
	                 "LLM_BREAKER_OPEN_MS=30000\n"
	                 "CHAT_PREFIX=gerbang:chat:\n"
	                 "CHAT_CONTEXT_MESSAGES=20\n"
	                 "CHAT_CONTEXT_CHARS=16000\n"
	                 "CHAT_CONTEXT_TTL_S=3600\n"
	                 "CHAT_MESSAGE_MAX=8000\n"
	                 "CHAT_SYSTEM_PROMPT=\n");
}
END_TEST

START_TEST(test_print_hides_secrets)
{
	const char *p = write_file("redis", "redis://:filepass@h/1\n", 22);
	char buf[256], *out;

	snprintf(buf, sizeof(buf), "REDIS_URL_FILE=%s", p);
	env = t_env_make("DATABASE_URL=postgresql://app:hunter2@db/gerbang", buf,
	                 "RUN_DIR=/srv/run", "SOCKET_MODE=0", "LOG_LEVEL=error", NULL);
	ck_assert_int_eq(load(), GB_OK);
	out = print_to_string(&c);
	ck_assert_ptr_null(strstr(out, "hunter2"));
	ck_assert_ptr_null(strstr(out, "filepass"));
	ck_assert_ptr_null(strstr(out, "postgresql"));
	ck_assert_ptr_nonnull(strstr(out, "DATABASE_URL=(set)\nREDIS_URL=(set)\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nRUN_DIR=/srv/run\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nSOCKET_MODE=00\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nLOG_LEVEL=error\n"));
}
END_TEST

START_TEST(test_print_write_error)
{
	env = t_env_make("UNRELATED=1", NULL);
	ck_assert_int_eq(load(), GB_OK);
	ck_assert_int_eq(gb_config_print(&c, -1), -1);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("gb_config");
	TCase *tn = tcase_create("parse_long");
	TCase *tl = tcase_create("load");

	tcase_add_loop_test(tn, test_parse_long, 0, (int)NELEM(long_cases));
	tcase_add_test(tn, test_parse_long_null);
	suite_add_tcase(s, tn);

	tcase_add_checked_fixture(tl, setup, teardown);
	tcase_add_test(tl, test_defaults);
	tcase_add_test(tl, test_values);
	tcase_add_loop_test(tl, test_octal_and_enum, 0, (int)NELEM(mode_cases));
	tcase_add_loop_test(tl, test_bad_values, 0, (int)NELEM(bad_cases));
	tcase_add_test(tl, test_rate);
	tcase_add_test(tl, test_bad_messages);
	tcase_add_test(tl, test_key_and_file_both);
	tcase_add_loop_test(tl, test_secret_file, 0, (int)NELEM(file_cases));
	tcase_add_test(tl, test_secret_file_errors);
	tcase_add_test(tl, test_process_environment);
	tcase_add_test(tl, test_free_twice);
	tcase_add_test(tl, test_print_defaults);
	tcase_add_test(tl, test_print_hides_secrets);
	tcase_add_test(tl, test_print_write_error);
	suite_add_tcase(s, tl);
	return s;
}

GB_TEST_MAIN(config_suite)
