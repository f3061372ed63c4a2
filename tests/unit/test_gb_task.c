/* Tests for lib/gb_task.c: kinds and their inputs, messages, backoff, the
 * configuration check, and the queue's scripts against a real redis-server
 * each test starts on a unix socket in a temporary directory (killed when
 * the test ends).
 *
 * The Redis tests need redis-server ($GB_TEST_REDIS_SERVER, else
 * /usr/bin/redis-server); without it they are left out and the program
 * exits 77 (skipped) once the other tests pass. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gb_config.h"
#include "gb_redis.h"
#include "gb_task.h"
#include "gb_test.h"

#define T_TASK "6f9619ff-8b86-4011-b42d-00c04fc964ff"
#define T_COMP "00000000-0000-4000-8000-000000000001"

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static char basedir[64];

static void
remove_dir(const char *dir)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_gb_task: cannot remove %s\n", dir);
}

/* ---- kinds ------------------------------------------------------------------- */

static struct gb_config cfg;

static void
cfg_setup(void)
{
	struct gb_config_error err;
	char *envp[] = { NULL };

	ck_assert_int_eq(gb_config_load(&cfg, envp, &err), GB_OK);
}

static void
cfg_teardown(void)
{
	gb_config_free(&cfg);
}

/* Validates text as a body of kind; returns the stored input as compact
 * sorted JSON (or "" when refused) and the errors in *errs (compact). */
static char *
validate(const char *kind, const char *text, char **errs)
{
	const struct gb_task_kind *k = gb_task_kind_find(kind);
	json_t *body = json_loads(text, 0, NULL), *errors = NULL, *in;
	char *out;

	ck_assert_ptr_nonnull(k);
	ck_assert_ptr_nonnull(body);
	in = k->validate(body, &cfg, &errors);
	*errs = errors != NULL ? json_dumps(errors, JSON_COMPACT | JSON_SORT_KEYS) : strdup("");
	out = in != NULL ? json_dumps(in, JSON_COMPACT | JSON_SORT_KEYS) : strdup("");
	ck_assert_msg((in == NULL) == (errors != NULL), "input and errors for %s", text);
	json_decref(in);
	json_decref(errors);
	json_decref(body);
	return out;
}

static const struct {
	const char *kind, *body, *input, *errors;
} input_cases[] = {
	{ "echo", "{\"text\": \"hi\"}", "{\"text\":\"hi\"}", "" },
	{ "echo", "{\"text\": \"\"}", "{\"text\":\"\"}", "" },
	{ "echo", "{}", "", "{\"text\":[\"is required\"]}" },
	{ "echo", "{\"text\": 1}", "", "{\"text\":[\"must be a string\"]}" },
	{ "echo", "{\"text\": \"x\", \"y\": 1}", "", "{\"y\":[\"unknown field\"]}" },
	{ "generate_text", "{\"prompt\": \"p\"}", "{\"max_tokens\":1024,\"prompt\":\"p\"}", "" },
	{ "generate_text", "{\"prompt\": \"p\", \"max_tokens\": 7}",
	  "{\"max_tokens\":7,\"prompt\":\"p\"}", "" },
	{ "generate_text", "{\"prompt\": \"p\", \"max_tokens\": null}",
	  "{\"max_tokens\":1024,\"prompt\":\"p\"}", "" },
	{ "generate_text", "{\"prompt\": \"\"}", "", "{\"prompt\":[\"must not be empty\"]}" },
	{ "generate_text", "{\"prompt\": \"p\", \"max_tokens\": 1025}", "",
	  "{\"max_tokens\":[\"must be a whole number from 1 to 1024\"]}" },
	{ "generate_text", "{\"prompt\": \"p\", \"max_tokens\": 1.0}", "",
	  "{\"max_tokens\":[\"must be a whole number from 1 to 1024\"]}" },
	{ "generate_text", "{\"prompt\": \"p\", \"max_tokens\": -9223372036854775807}", "",
	  "{\"max_tokens\":[\"must be a whole number from 1 to 1024\"]}" },
	{ "generate_text", "{\"text\": \"p\", \"max_tokens\": false}", "",
	  "{\"max_tokens\":[\"must be a whole number from 1 to 1024\"],"
	  "\"prompt\":[\"is required\"],\"text\":[\"unknown field\"]}" },
};

START_TEST(test_inputs)
{
	char *errs, *in = validate(input_cases[_i].kind, input_cases[_i].body, &errs);

	ck_assert_str_eq(in, input_cases[_i].input);
	ck_assert_str_eq(errs, input_cases[_i].errors);
	free(in);
	free(errs);
}
END_TEST

START_TEST(test_kinds_and_statuses)
{
	ck_assert_str_eq(gb_task_kind_find("echo")->name, "echo");
	ck_assert_str_eq(gb_task_kind_find("generate_text")->name, "generate_text");
	ck_assert_ptr_null(gb_task_kind_find("Echo"));
	ck_assert_ptr_null(gb_task_kind_find(""));
	ck_assert_ptr_null(gb_task_kind_find(NULL));
	ck_assert_str_eq(gb_task_kind_at(0)->name, "echo");
	ck_assert_str_eq(gb_task_kind_at(1)->name, "generate_text");
	ck_assert_ptr_null(gb_task_kind_at(2));
	ck_assert(gb_task_status_ok("PENDING"));
	ck_assert(gb_task_status_ok("CANCELLED"));
	ck_assert(!gb_task_status_ok("pending"));
	ck_assert(!gb_task_status_ok(NULL));
}
END_TEST

START_TEST(test_text_bounds)
{
	char *big = malloc(GB_TASK_TEXT_MAX + 64), *errs, *in;

	ck_assert_ptr_nonnull(big);
	memcpy(big, "{\"text\": \"", 10);
	memset(big + 10, 'x', GB_TASK_TEXT_MAX);
	memcpy(big + 10 + GB_TASK_TEXT_MAX, "\"}", 3);
	in = validate("echo", big, &errs);
	ck_assert_str_eq(errs, "");
	free(in);
	free(errs);
	memcpy(big + 10 + GB_TASK_TEXT_MAX, "x\"}", 4);
	in = validate("echo", big, &errs);
	ck_assert_str_eq(errs, "{\"text\":[\"is too long\"]}");
	free(in);
	free(errs);
	free(big);
}
END_TEST

/* ---- messages ------------------------------------------------------------------ */

START_TEST(test_msg_round_trip)
{
	struct gb_task_msg m = { T_TASK, T_COMP, "generate_text", 1 }, back;
	char buf[GB_TASK_MSG_MAX];
	size_t n;

	n = gb_task_msg_format(&m, buf);
	ck_assert_str_eq(buf, "t1|" T_TASK "|" T_COMP "|generate_text|1");
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_int_eq(gb_task_msg_parse(buf, n, &back), GB_OK);
	ck_assert_str_eq(back.task_id, T_TASK);
	ck_assert_str_eq(back.company_id, T_COMP);
	ck_assert_str_eq(back.kind, "generate_text");
	ck_assert_int_eq(back.delivery, 1);
	m.delivery = 999999999;
	n = gb_task_msg_format(&m, buf);
	ck_assert_int_eq(gb_task_msg_parse(buf, n, &back), GB_OK);
	ck_assert_int_eq(back.delivery, 999999999);
}
END_TEST

static const char *const bad_msgs[] = {
	"",
	"t1|",
	"t2|" T_TASK "|" T_COMP "|echo|1",
	"t1|" T_TASK "|" T_COMP "|echo|0",
	"t1|" T_TASK "|" T_COMP "|echo|01",
	"t1|" T_TASK "|" T_COMP "|echo|1000000000",
	"t1|" T_TASK "|" T_COMP "|echo|",
	"t1|" T_TASK "|" T_COMP "|echo|1x",
	"t1|" T_TASK "|" T_COMP "|echo",
	"t1|" T_TASK "|" T_COMP "||1",
	"t1|" T_TASK "|" T_COMP "|Echo|1",
	"t1|" T_TASK "|" T_COMP "|1echo|1",
	"t1|" T_TASK "|" T_COMP "|ec-ho|1",
	"t1|6F9619FF-8B86-4011-B42D-00C04FC964FF|" T_COMP "|echo|1",
	"t1|" T_TASK "x|" T_COMP "|echo|1",
	"t1|" T_TASK "|" T_COMP "|echo|1|2",
	"t1|" T_TASK "||echo|1",
	"t1|" T_TASK "|" T_COMP "|abcdefghijklmnopqrstuvwxyz0123456|1",
};

START_TEST(test_msg_bad)
{
	struct gb_task_msg m;

	memset(&m, 'x', sizeof(m));
	ck_assert_int_eq(gb_task_msg_parse(bad_msgs[_i], strlen(bad_msgs[_i]), &m), GB_EINVAL);
	ck_assert_str_eq(m.task_id, "");
	ck_assert_int_eq(m.delivery, 0);
}
END_TEST

START_TEST(test_msg_embedded_nul_and_length)
{
	static const char with_nul[] = "t1|" T_TASK "|" T_COMP "|echo|1\0";
	struct gb_task_msg m;

	/* the length is the caller's: a NUL inside is a bad byte */
	ck_assert_int_eq(gb_task_msg_parse(with_nul, sizeof(with_nul), &m), GB_EINVAL);
	ck_assert_int_eq(gb_task_msg_parse(with_nul, sizeof(with_nul) - 2, &m), GB_OK);
	ck_assert_int_eq(gb_task_msg_parse(with_nul, GB_TASK_MSG_MAX, &m), GB_EINVAL);
}
END_TEST

START_TEST(test_msg_format_refuses)
{
	struct gb_task_msg m = { T_TASK, T_COMP, "echo", 1 };
	char buf[GB_TASK_MSG_MAX];

	m.delivery = 0;
	ck_assert_uint_eq(gb_task_msg_format(&m, buf), 0);
	ck_assert_str_eq(buf, "");
	m.delivery = 1;
	snprintf(m.kind, sizeof(m.kind), "Bad");
	ck_assert_uint_eq(gb_task_msg_format(&m, buf), 0);
	snprintf(m.kind, sizeof(m.kind), "echo");
	m.task_id[0] = 'G';
	ck_assert_uint_eq(gb_task_msg_format(&m, buf), 0);
}
END_TEST

START_TEST(test_backoff)
{
	ck_assert_int_eq(gb_task_backoff_ms(1, 1000, 300000), 1000);
	ck_assert_int_eq(gb_task_backoff_ms(2, 1000, 300000), 2000);
	ck_assert_int_eq(gb_task_backoff_ms(5, 1000, 300000), 16000);
	ck_assert_int_eq(gb_task_backoff_ms(20, 1000, 300000), 300000);
	ck_assert_int_eq(gb_task_backoff_ms(100, 3600000, 86400000), 86400000);
	ck_assert_int_eq(gb_task_backoff_ms(1, 500, 100), 100);
	ck_assert_int_eq(gb_task_backoff_ms(0, 500, 1000), 500);
}
END_TEST

START_TEST(test_config_check)
{
	char why[320];

	ck_assert_int_eq(gb_task_config_check(&cfg, why, sizeof(why)), GB_OK);
	/* 3 x 30 s and 2 waits of at most 10 s: 110 s, and a second more */
	cfg.task_visibility_s = 111;
	ck_assert_int_eq(gb_task_config_check(&cfg, why, sizeof(why)), GB_ECONFIG);
	ck_assert_ptr_nonnull(strstr(why, "TASK_VISIBILITY_S"));
	cfg.task_visibility_s = 112;
	ck_assert_int_eq(gb_task_config_check(&cfg, why, sizeof(why)), GB_OK);
	cfg.task_visibility_s = 5;
	cfg.llm_adapter = 1;            /* echo: no API, no bound */
	ck_assert_int_eq(gb_task_config_check(&cfg, why, sizeof(why)), GB_OK);
	cfg.llm_adapter = 0;
	cfg.task_visibility_s = 120;
	free(cfg.llm_base_url);
	cfg.llm_base_url = strdup("ftp://x");
	ck_assert_int_eq(gb_task_config_check(&cfg, why, sizeof(why)), GB_ECONFIG);
	ck_assert_str_eq(why, "LLM_BASE_URL: must start with http:// or https://");
}
END_TEST

START_TEST(test_keys)
{
	struct gb_task_keys k;
	char prefix[GB_TASK_KEY_MAX];

	ck_assert_int_eq(gb_task_keys_init(&k, "p:"), GB_OK);
	ck_assert_str_eq(k.queue, "p:queue");
	ck_assert_str_eq(k.processing, "p:processing");
	ck_assert_str_eq(k.deadlines, "p:deadlines");
	ck_assert_str_eq(k.delayed, "p:delayed");
	ck_assert_str_eq(k.dead, "p:dead");
	memset(prefix, 'a', sizeof(prefix) - 1);
	prefix[sizeof(prefix) - 1] = '\0';
	ck_assert_int_eq(gb_task_keys_init(&k, prefix), GB_EINVAL);
	ck_assert_int_eq(gb_task_keys_init(&k, NULL), GB_EINVAL);
	ck_assert_ptr_nonnull(gb_task_script(0));
	ck_assert_ptr_nonnull(gb_task_script(2));
	ck_assert_ptr_null(gb_task_script(3));
	ck_assert_ptr_null(gb_task_script(-1));
}
END_TEST

/* ---- a real Redis -------------------------------------------------------------- */

static const char *redis_server;
static char rdir[96], rsock[128], rurl[160];
static pid_t rpid = -1;
static struct gb_redis *r;
static struct gb_task_keys keys;

static void
redis_setup(void)
{
	pid_t parent = getpid();
	char logpath[160];
	struct stat st;
	int i, fd;

	snprintf(rdir, sizeof(rdir), "%s/r.XXXXXX", basedir);
	ck_assert_ptr_nonnull(mkdtemp(rdir));
	snprintf(rsock, sizeof(rsock), "%s/redis.sock", rdir);
	snprintf(rurl, sizeof(rurl), "unix:%s", rsock);
	snprintf(logpath, sizeof(logpath), "%s/redis.log", rdir);
	rpid = fork();
	ck_assert_int_ge(rpid, 0);
	if (rpid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(127);
		fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(redis_server, "redis-server", "--port", "0", "--unixsocket", rsock,
		      "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", rdir,
		      (char *)NULL);
		_exit(127);
	}
	r = gb_redis_new(rurl, 3000, NULL);
	ck_assert_ptr_nonnull(r);
	for (i = 0; i < 500; i++) {
		if (stat(rsock, &st) == 0 && S_ISSOCK(st.st_mode) && gb_redis_ping(r) == GB_OK)
			break;
		ck_assert_msg(waitpid(rpid, NULL, WNOHANG) == 0, "redis-server exited; see %s",
		              logpath);
		sleep_ms(10);
	}
	ck_assert_msg(i < 500, "redis-server did not answer in 5 s; see %s", logpath);
	ck_assert_int_eq(gb_task_keys_init(&keys, "t:"), GB_OK);
}

static void
redis_teardown(void)
{
	gb_redis_free(r);
	r = NULL;
	if (rpid > 0) {
		kill(rpid, SIGKILL);
		waitpid(rpid, NULL, 0);
		rpid = -1;
	}
	remove_dir(rdir);
}

static long long
rint_of(const char *cmd, const char *key)
{
	redisReply *rep = gb_redis_command(r, NULL, cmd, key);
	long long v;

	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(rep->type, REDIS_REPLY_INTEGER);
	v = rep->integer;
	freeReplyObject(rep);
	return v;
}

/* The message of task number i (delivery d). */
static const char *
msg_of(int i, long d, char *buf)
{
	struct gb_task_msg m = { "", T_COMP, "echo", d };

	snprintf(m.task_id, sizeof(m.task_id), "00000000-0000-4000-8000-%012d", i);
	ck_assert_uint_gt(gb_task_msg_format(&m, buf), 0);
	return buf;
}

START_TEST(test_fifo_take_and_ack)
{
	char a[GB_TASK_MSG_MAX], b[GB_TASK_MSG_MAX], got[GB_TASK_MSG_MAX];
	bool held;

	ck_assert_int_eq(gb_task_push(r, &keys, msg_of(1, 1, a)), GB_OK);
	ck_assert_int_eq(gb_task_push(r, &keys, msg_of(2, 1, b)), GB_OK);
	ck_assert_int_eq(gb_task_take(r, &keys, 100, 60000, got), GB_OK);
	ck_assert_str_eq(got, a);          /* first in, first out */
	ck_assert_int_eq(rint_of("LLEN %s", keys.processing), 1);
	ck_assert_int_eq(rint_of("ZCARD %s", keys.deadlines), 1);
	ck_assert_int_eq(gb_task_settle(r, &keys, got, GB_TASK_ACK, 0, NULL, &held), GB_OK);
	ck_assert(held);
	ck_assert_int_eq(rint_of("LLEN %s", keys.processing), 0);
	ck_assert_int_eq(rint_of("ZCARD %s", keys.deadlines), 0);
	ck_assert_int_eq(gb_task_take(r, &keys, 100, 60000, got), GB_OK);
	ck_assert_str_eq(got, b);
	/* acking twice: nothing held the second time */
	ck_assert_int_eq(gb_task_settle(r, &keys, got, GB_TASK_ACK, 0, NULL, &held), GB_OK);
	ck_assert_int_eq(gb_task_settle(r, &keys, got, GB_TASK_ACK, 0, NULL, &held), GB_OK);
	ck_assert(!held);
}
END_TEST

START_TEST(test_take_waits_a_bounded_time)
{
	char got[GB_TASK_MSG_MAX];
	struct timespec t0, t1;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(gb_task_take(r, &keys, 300, 60000, got), GB_ENOTFOUND);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, 250);
	ck_assert_int_lt(ms, 2000);
	ck_assert_str_eq(got, "");
	ck_assert_int_eq(gb_task_take(r, &keys, 0, 60000, got), GB_ENOTFOUND);
	ck_assert_int_eq(gb_task_take(r, &keys, 60001, 60000, got), GB_EINVAL);
}
END_TEST

START_TEST(test_retry_goes_through_delayed)
{
	char a[GB_TASK_MSG_MAX], b[GB_TASK_MSG_MAX], got[GB_TASK_MSG_MAX];
	struct gb_task_reaped out;

	ck_assert_int_eq(gb_task_push(r, &keys, msg_of(3, 1, a)), GB_OK);
	ck_assert_int_eq(gb_task_take(r, &keys, 100, 60000, got), GB_OK);
	ck_assert_int_eq(gb_task_settle(r, &keys, got, GB_TASK_RETRY, 300, NULL, NULL), GB_OK);
	ck_assert_int_eq(rint_of("ZCARD %s", keys.delayed), 1);
	ck_assert_int_eq(gb_task_reap(r, &keys, 60000, &out), GB_OK);
	ck_assert_int_eq(out.due, 0);          /* not yet */
	ck_assert_int_eq(gb_task_take(r, &keys, 0, 60000, got), GB_ENOTFOUND);
	sleep_ms(350);
	ck_assert_int_eq(gb_task_reap(r, &keys, 60000, &out), GB_OK);
	ck_assert_int_eq(out.due, 1);
	ck_assert_int_eq(out.redelivered, 0);
	ck_assert_int_eq(gb_task_take(r, &keys, 100, 60000, got), GB_OK);
	ck_assert_str_eq(got, msg_of(3, 2, b));        /* the next delivery */
}
END_TEST

START_TEST(test_past_deadline_is_redelivered_first)
{
	char a[GB_TASK_MSG_MAX], b[GB_TASK_MSG_MAX], c[GB_TASK_MSG_MAX];
	char got[GB_TASK_MSG_MAX], late[GB_TASK_MSG_MAX];
	struct gb_task_reaped out;
	bool held;

	ck_assert_int_eq(gb_task_push(r, &keys, msg_of(4, 1, a)), GB_OK);
	ck_assert_int_eq(gb_task_take(r, &keys, 100, 200, late), GB_OK);    /* dies */
	ck_assert_int_eq(gb_task_push(r, &keys, msg_of(5, 1, b)), GB_OK);
	ck_assert_int_eq(gb_task_reap(r, &keys, 200, &out), GB_OK);
	ck_assert_int_eq(out.redelivered, 0);
	sleep_ms(250);
	ck_assert_int_eq(gb_task_reap(r, &keys, 200, &out), GB_OK);
	ck_assert_int_eq(out.redelivered, 1);
	ck_assert_int_eq(out.by_kind[0], 1);       /* echo */
	ck_assert_int_eq(rint_of("LLEN %s", keys.processing), 0);
	ck_assert_int_eq(gb_task_take(r, &keys, 100, 60000, got), GB_OK);
	ck_assert_str_eq(got, msg_of(4, 2, c));    /* ahead of the newer one */
	/* the first taker settling late changes nothing any more */
	ck_assert_int_eq(gb_task_settle(r, &keys, late, GB_TASK_ACK, 0, NULL, &held), GB_OK);
	ck_assert(!held);
	ck_assert_int_eq(rint_of("LLEN %s", keys.processing), 1);
}
END_TEST

START_TEST(test_taken_without_deadline_gets_one)
{
	char a[GB_TASK_MSG_MAX], got[GB_TASK_MSG_MAX];
	struct gb_task_reaped out;
	redisReply *rep;

	/* a worker that died between BLMOVE and its claim */
	ck_assert_int_eq(gb_task_push(r, &keys, msg_of(6, 1, a)), GB_OK);
	rep = gb_redis_command(r, NULL, "LMOVE %s %s RIGHT LEFT", keys.queue, keys.processing);
	ck_assert_ptr_nonnull(rep);
	freeReplyObject(rep);
	ck_assert_int_eq(gb_task_reap(r, &keys, 200, &out), GB_OK);
	ck_assert_int_eq(out.redelivered, 0);
	ck_assert_int_eq(rint_of("ZCARD %s", keys.deadlines), 1);
	sleep_ms(250);
	ck_assert_int_eq(gb_task_reap(r, &keys, 200, &out), GB_OK);
	ck_assert_int_eq(out.redelivered, 1);
	ck_assert_int_eq(gb_task_take(r, &keys, 100, 60000, got), GB_OK);
}
END_TEST

START_TEST(test_dead_and_return)
{
	char a[GB_TASK_MSG_MAX], b[GB_TASK_MSG_MAX], got[GB_TASK_MSG_MAX];
	redisReply *rep;
	json_t *j;

	ck_assert_int_eq(gb_task_push(r, &keys, msg_of(7, 1, a)), GB_OK);
	ck_assert_int_eq(gb_task_push(r, &keys, msg_of(8, 1, b)), GB_OK);
	ck_assert_int_eq(gb_task_take(r, &keys, 100, 60000, got), GB_OK);
	ck_assert_int_eq(gb_task_settle(r, &keys, got, GB_TASK_DEAD, 0, "it broke", NULL), GB_OK);
	rep = gb_redis_command(r, NULL, "LINDEX %s 0", keys.dead);
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(rep->type, REDIS_REPLY_STRING);
	j = json_loads(rep->str, 0, NULL);
	freeReplyObject(rep);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "message")), a);
	ck_assert_str_eq(json_string_value(json_object_get(j, "reason")), "it broke");
	ck_assert(json_is_integer(json_object_get(j, "at")));
	json_decref(j);
	/* returned: back to the front, ahead of what waited */
	ck_assert_int_eq(gb_task_take(r, &keys, 100, 60000, got), GB_OK);
	ck_assert_str_eq(got, b);
	ck_assert_int_eq(gb_task_push(r, &keys, msg_of(9, 1, a)), GB_OK);
	ck_assert_int_eq(gb_task_settle(r, &keys, got, GB_TASK_RETURN, 0, NULL, NULL), GB_OK);
	ck_assert_int_eq(gb_task_take(r, &keys, 100, 60000, got), GB_OK);
	ck_assert_str_eq(got, msg_of(8, 2, b));
	ck_assert_int_eq(gb_task_settle(r, &keys, got, GB_TASK_ACK, 0, NULL, NULL), GB_OK);
	ck_assert_int_eq(gb_task_settle(r, &keys, got, 99, 0, NULL, NULL), GB_EINVAL);
	ck_assert_int_eq(gb_task_settle(r, &keys, got, GB_TASK_RETRY, -1, NULL, NULL), GB_EINVAL);
}
END_TEST

START_TEST(test_dead_letters_are_capped)
{
	char a[GB_TASK_MSG_MAX];
	int i;

	for (i = 0; i < GB_TASK_DEAD_MAX + 5; i++)
		ck_assert_int_eq(gb_task_settle(r, &keys, msg_of(i, 1, a), GB_TASK_DEAD, 0, "x",
		                                NULL), GB_OK);
	ck_assert_int_eq(rint_of("LLEN %s", keys.dead), GB_TASK_DEAD_MAX);
}
END_TEST

START_TEST(test_oversized_message_is_buried)
{
	char big[400], got[GB_TASK_MSG_MAX];
	redisReply *rep;

	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rep = gb_redis_command(r, NULL, "LPUSH %s %s", keys.queue, big);
	ck_assert_ptr_nonnull(rep);
	freeReplyObject(rep);
	ck_assert_int_eq(gb_task_take(r, &keys, 100, 60000, got), GB_ENOTFOUND);
	ck_assert_int_eq(rint_of("LLEN %s", keys.dead), 1);
	ck_assert_int_eq(rint_of("LLEN %s", keys.processing), 0);
}
END_TEST

START_TEST(test_scripts_after_flush)
{
	char a[GB_TASK_MSG_MAX], got[GB_TASK_MSG_MAX];
	redisReply *rep;

	ck_assert_int_eq(gb_task_push(r, &keys, msg_of(10, 1, a)), GB_OK);
	ck_assert_int_eq(gb_task_take(r, &keys, 100, 60000, got), GB_OK);
	rep = gb_redis_command(r, NULL, "SCRIPT FLUSH");
	ck_assert_ptr_nonnull(rep);
	freeReplyObject(rep);
	ck_assert_int_eq(gb_task_settle(r, &keys, got, GB_TASK_ACK, 0, NULL, NULL), GB_OK);
	ck_assert_int_eq(gb_task_reap(r, &keys, 1000, NULL), GB_OK);
}
END_TEST

START_TEST(test_redis_gone)
{
	char a[GB_TASK_MSG_MAX], got[GB_TASK_MSG_MAX];
	enum gb_err e;

	kill(rpid, SIGKILL);
	waitpid(rpid, NULL, 0);
	rpid = -1;
	e = gb_task_push(r, &keys, msg_of(11, 1, a));
	ck_assert(e == GB_EREDIS || e == GB_ETIMEOUT);
	e = gb_task_take(r, &keys, 100, 1000, got);
	ck_assert(e == GB_EREDIS || e == GB_ETIMEOUT);
	e = gb_task_settle(r, &keys, a, GB_TASK_ACK, 0, NULL, NULL);
	ck_assert(e == GB_EREDIS || e == GB_ETIMEOUT);
	e = gb_task_reap(r, &keys, 1000, NULL);
	ck_assert(e == GB_EREDIS || e == GB_ETIMEOUT);
}
END_TEST

static Suite *
task_suite(void)
{
	Suite *s = suite_create("gb_task");
	TCase *tk = tcase_create("kinds");
	TCase *tm = tcase_create("messages");
	TCase *tr = tcase_create("redis");

	tcase_add_checked_fixture(tk, cfg_setup, cfg_teardown);
	tcase_add_loop_test(tk, test_inputs, 0, (int)NELEM(input_cases));
	tcase_add_test(tk, test_kinds_and_statuses);
	tcase_add_test(tk, test_text_bounds);
	tcase_add_test(tk, test_config_check);
	suite_add_tcase(s, tk);

	tcase_add_test(tm, test_msg_round_trip);
	tcase_add_loop_test(tm, test_msg_bad, 0, (int)NELEM(bad_msgs));
	tcase_add_test(tm, test_msg_embedded_nul_and_length);
	tcase_add_test(tm, test_msg_format_refuses);
	tcase_add_test(tm, test_backoff);
	tcase_add_test(tm, test_keys);
	suite_add_tcase(s, tm);

	if (redis_server != NULL) {
		tcase_add_checked_fixture(tr, redis_setup, redis_teardown);
		tcase_set_timeout(tr, 30);
		tcase_add_test(tr, test_fifo_take_and_ack);
		tcase_add_test(tr, test_take_waits_a_bounded_time);
		tcase_add_test(tr, test_retry_goes_through_delayed);
		tcase_add_test(tr, test_past_deadline_is_redelivered_first);
		tcase_add_test(tr, test_taken_without_deadline_gets_one);
		tcase_add_test(tr, test_dead_and_return);
		tcase_add_test(tr, test_dead_letters_are_capped);
		tcase_add_test(tr, test_oversized_message_is_buried);
		tcase_add_test(tr, test_scripts_after_flush);
		tcase_add_test(tr, test_redis_gone);
		suite_add_tcase(s, tr);
	}
	return s;
}

int
main(void)
{
	const char *env = getenv("GB_TEST_REDIS_SERVER");
	SRunner *sr;
	int failed;

	redis_server = env != NULL && env[0] != '\0' ? env : "/usr/bin/redis-server";
	if (access(redis_server, X_OK) != 0) {
		fprintf(stderr, "test_gb_task: no %s: the Redis tests are left out\n", redis_server);
		redis_server = NULL;
	}
	snprintf(basedir, sizeof(basedir), "%s", "/tmp/gb-task-test.XXXXXX");
	if (mkdtemp(basedir) == NULL) {
		perror("test_gb_task: mkdtemp");
		return EXIT_FAILURE;
	}
	sr = srunner_create(task_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_dir(basedir);
	if (failed != 0)
		return EXIT_FAILURE;
	return redis_server != NULL ? EXIT_SUCCESS : 77;
}
