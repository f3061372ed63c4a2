/* Tests for lib/gb_ratelimit.c: the class table and RATE_LIMIT_FILE, and
 * token buckets against a real redis-server each test starts on a unix
 * socket in a temporary directory (killed when the test ends).
 *
 * The Redis tests need redis-server ($GB_TEST_REDIS_SERVER, else
 * /usr/bin/redis-server); without it they are left out and the program
 * exits 77 (skipped) once the other tests pass. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gb_ratelimit.h"
#include "gb_redis.h"
#include "gb_test.h"

#define UUID_A "6f9619ff-8b86-d011-b42d-00c04fc964ff"
#define UUID_B "00000000-0000-4000-8000-000000000001"

static const struct gb_rl_class defaults_open = { "ignored", 10, 20, false };
static const struct gb_rl_class defaults_closed = { "", 2.5, 7, true };

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Every test's directory is made under basedir, which main() makes and
 * removes: a failed test ends with _exit() and skips its teardown. */
static char basedir[64];

static void
remove_dir(const char *dir)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_gb_ratelimit: cannot remove %s\n", dir);
}

/* ---- the table ---------------------------------------------------------- */

static char tmpdir[96];

static void
dir_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/t.XXXXXX", basedir);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
dir_teardown(void)
{
	remove_dir(tmpdir);
}

/* Writes text as tmpdir/name; the path goes into path. */
static void
put(const char *name, const char *text, size_t len, char *path, size_t pathsize)
{
	int fd;

	snprintf(path, pathsize, "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

static struct gb_rl_table *
load_text(const char *text, const struct gb_rl_class *defaults)
{
	struct gb_rl_table *t = NULL;
	char path[128], why[512];

	put("ratelimit.json", text, strlen(text), path, sizeof(path));
	ck_assert_msg(gb_rl_table_load(path, defaults, &t, why, sizeof(why)) == GB_OK, "%s", why);
	ck_assert_str_eq(why, "");
	ck_assert_ptr_nonnull(t);
	return t;
}

static void
check_class(const struct gb_rl_class *c, const char *name, double rate, long capacity,
            bool fail_closed)
{
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->name, name);
	ck_assert_msg(c->rate == rate, "%s: rate %.17g, want %.17g", name, c->rate, rate);
	ck_assert_int_eq(c->capacity, capacity);
	ck_assert_int_eq(c->fail_closed, fail_closed);
}

START_TEST(test_builtins)
{
	struct gb_rl_table *t = NULL;
	char why[256] = "junk";

	ck_assert_int_eq(gb_rl_table_load(NULL, &defaults_open, &t, why, sizeof(why)), GB_OK);
	ck_assert_str_eq(why, "");
	ck_assert_uint_eq(gb_rl_table_nclasses(t), 4);
	ck_assert_uint_eq(gb_rl_table_ncompanies(t), 0);
	check_class(gb_rl_table_class(t, "default", NULL), "default", 10, 20, false);
	check_class(gb_rl_table_class(t, GB_RL_CHAT, NULL), "chat", 0.5, 10, false);
	check_class(gb_rl_table_class(t, GB_RL_LOGIN_IP, NULL), "login_ip", 0.1, 20, false);
	check_class(gb_rl_table_class(t, GB_RL_LOGIN_ACCOUNT, UUID_A), "login_account",
	            1.0 / 60, 5, false);
	ck_assert_ptr_null(gb_rl_table_class(t, "uploads", NULL));
	ck_assert_ptr_null(gb_rl_table_class(t, "", NULL));
	ck_assert_ptr_null(gb_rl_table_class(t, NULL, NULL));
	ck_assert_ptr_null(gb_rl_table_class(NULL, "default", NULL));
	gb_rl_table_free(t);

	/* "" is no file too; the built-ins take the defaults' fail policy */
	t = NULL;
	ck_assert_int_eq(gb_rl_table_load("", &defaults_closed, &t, NULL, 0), GB_OK);
	check_class(gb_rl_table_class(t, "default", NULL), "default", 2.5, 7, true);
	check_class(gb_rl_table_class(t, "login_ip", NULL), "login_ip", 0.1, 20, true);
	check_class(gb_rl_table_class(t, "login_account", NULL), "login_account", 1.0 / 60, 5,
	            true);
	gb_rl_table_free(t);
	gb_rl_table_free(NULL);
	ck_assert_uint_eq(gb_rl_table_nclasses(NULL), 0);
	ck_assert_uint_eq(gb_rl_table_ncompanies(NULL), 0);
}
END_TEST

static const char good_file[] =
	"{\n"
	"  \"companies\": {\n"
	"    \"" UUID_A "\": {\n"
	"      \"default\": {\"rate\": 100, \"capacity\": 200},\n"
	"      \"uploads\": {\"fail\": \"open\"},\n"
	"      \"login_ip\": {}\n"
	"    },\n"
	"    \"" UUID_B "\": {\n"
	"      \"uploads\": {\"capacity\": 50}\n"
	"    },\n"
	"    \"ffffffff-ffff-ffff-ffff-ffffffffffff\": {}\n"
	"  },\n"
	"  \"classes\": {\n"
	"    \"default\":   {\"rate\": 10.5, \"capacity\": 20, \"fail\": \"closed\"},\n"
	"    \"login_ip\":  {\"capacity\": 30},\n"
	"    \"uploads\":   {\"rate\": 1, \"capacity\": 5, \"fail\": \"closed\"},\n"
	"    \"search-v2_\": {\"rate\": 0.0001, \"capacity\": 1000000000}\n"
	"  }\n"
	"}\n";

START_TEST(test_good_file)
{
	struct gb_rl_table *t = load_text(good_file, &defaults_open);
	const struct gb_rl_class *c;

	ck_assert_uint_eq(gb_rl_table_nclasses(t), 6);
	ck_assert_uint_eq(gb_rl_table_ncompanies(t), 3);
	/* the file over the built-ins; fields left out kept */
	check_class(gb_rl_table_class(t, "default", NULL), "default", 10.5, 20, true);
	check_class(gb_rl_table_class(t, "login_ip", NULL), "login_ip", 0.1, 30, false);
	check_class(gb_rl_table_class(t, "login_account", NULL), "login_account", 1.0 / 60, 5,
	            false);
	check_class(gb_rl_table_class(t, "uploads", NULL), "uploads", 1, 5, true);
	check_class(gb_rl_table_class(t, "search-v2_", NULL), "search-v2_", 0.0001,
	            1000000000, false);
	/* a company's class over the class, inheriting the file's values
	 * (classes come first though the file lists companies first) */
	check_class(gb_rl_table_class(t, "default", UUID_A), "default", 100, 200, true);
	check_class(gb_rl_table_class(t, "uploads", UUID_A), "uploads", 1, 5, false);
	check_class(gb_rl_table_class(t, "login_ip", UUID_A), "login_ip", 0.1, 30, false);
	check_class(gb_rl_table_class(t, "uploads", UUID_B), "uploads", 1, 50, true);
	/* no override of that class for that company: the class */
	c = gb_rl_table_class(t, "default", UUID_B);
	ck_assert_ptr_eq(c, gb_rl_table_class(t, "default", NULL));
	ck_assert_ptr_eq(gb_rl_table_class(t, "login_account", UUID_A),
	                 gb_rl_table_class(t, "login_account", NULL));
	ck_assert_ptr_eq(gb_rl_table_class(t, "uploads", "ffffffff-ffff-ffff-ffff-ffffffffffff"),
	                 gb_rl_table_class(t, "uploads", NULL));
	/* ids in another case match; not-ids and unknown companies do not */
	check_class(gb_rl_table_class(t, "default", "6F9619FF-8B86-D011-B42D-00C04FC964FF"),
	            "default", 100, 200, true);
	ck_assert_ptr_eq(gb_rl_table_class(t, "default", "6f9619ff-8b86-d011-b42d-00c04fc964f"),
	                 c);
	ck_assert_ptr_eq(gb_rl_table_class(t, "default", UUID_A "0"), c);
	ck_assert_ptr_eq(gb_rl_table_class(t, "default", ""), c);
	ck_assert_ptr_eq(gb_rl_table_class(t, "default", "11111111-1111-1111-1111-111111111111"),
	                 c);
	/* an unknown class stays unknown for a company */
	ck_assert_ptr_null(gb_rl_table_class(t, "nope", UUID_A));
	gb_rl_table_free(t);
}
END_TEST

START_TEST(test_empty_objects)
{
	struct gb_rl_table *t = load_text("{}", &defaults_closed);

	ck_assert_uint_eq(gb_rl_table_nclasses(t), 4);
	check_class(gb_rl_table_class(t, "default", NULL), "default", 2.5, 7, true);
	gb_rl_table_free(t);
	t = load_text("{\"classes\": {}, \"companies\": {}}", &defaults_open);
	ck_assert_uint_eq(gb_rl_table_nclasses(t), 4);
	ck_assert_uint_eq(gb_rl_table_ncompanies(t), 0);
	gb_rl_table_free(t);
	/* a new class without fail takes the defaults' policy */
	t = load_text("{\"classes\": {\"a\": {\"rate\": 1000000, \"capacity\": 1}}}",
	              &defaults_closed);
	check_class(gb_rl_table_class(t, "a", NULL), "a", 1000000, 1, true);
	gb_rl_table_free(t);
}
END_TEST

#define CO "{\"companies\": {\"" UUID_A "\": "
#define CL "{\"classes\": {"

/* why after "<path>: " (or all of it when whole), exactly or as a prefix. */
static const struct {
	const char *text;
	const char *why;
	bool prefix;
} bad[] = {
	{ "[]", "must be a JSON object {\"classes\": ..., \"companies\": ...}", false },
	{ "\"x\"", "line 1 column 3: ", true },
	{ "{\"class\": {}}", "class: is not a known key (classes, companies)", false },
	{ "{\"classes\": {}, \"Companies\": {}}",
	  "Companies: is not a known key (classes, companies)", false },
	{ "{\"cl\\u0001\\u00e9\": 1}", "cl???: is not a known key (classes, companies)", false },
	{ "{\"classes\": []}", "classes: must be an object of class names", false },
	{ "{\"classes\": null}", "classes: must be an object of class names", false },
	{ CL "\"Bad\": {\"rate\": 1, \"capacity\": 1}}}",
	  "classes.Bad: is not a class name (1 to 31 characters of a-z, 0-9, '_' and '-')", false },
	{ CL "\"\": {\"rate\": 1, \"capacity\": 1}}}",
	  "classes.: is not a class name (1 to 31 characters of a-z, 0-9, '_' and '-')", false },
	{ CL "\"a.b\": {\"rate\": 1, \"capacity\": 1}}}",
	  "classes.a.b: is not a class name (1 to 31 characters of a-z, 0-9, '_' and '-')", false },
	{ CL "\"abcdefghijklmnopqrstuvwxyz01234x\": {\"rate\": 1, \"capacity\": 1}}}",
	  "classes.abcdefghijklmnopqrstuvwxyz01234x: is not a class name (1 to 31 characters "
	  "of a-z, 0-9, '_' and '-')", false },
	{ CL "\"x\": 1}}", "classes.x: must be an object {\"rate\": ..., \"capacity\": ..., "
	  "\"fail\": ...}", false },
	{ CL "\"x\": {\"capacity\": 1}}}", "classes.x.rate: is required", false },
	{ CL "\"x\": {\"rate\": 1}}}", "classes.x.capacity: is required", false },
	{ CL "\"x\": {}}}", "classes.x.rate: is required", false },
	{ CL "\"x\": {\"rate\": 0, \"capacity\": 1}}}",
	  "classes.x.rate: must be a number from 0.0001 to 1000000", false },
	{ CL "\"x\": {\"rate\": -1, \"capacity\": 1}}}",
	  "classes.x.rate: must be a number from 0.0001 to 1000000", false },
	{ CL "\"x\": {\"rate\": 0.00009, \"capacity\": 1}}}",
	  "classes.x.rate: must be a number from 0.0001 to 1000000", false },
	{ CL "\"x\": {\"rate\": 1000000.5, \"capacity\": 1}}}",
	  "classes.x.rate: must be a number from 0.0001 to 1000000", false },
	{ CL "\"x\": {\"rate\": \"1\", \"capacity\": 1}}}",
	  "classes.x.rate: must be a number from 0.0001 to 1000000", false },
	{ CL "\"x\": {\"rate\": null, \"capacity\": 1}}}",
	  "classes.x.rate: must be a number from 0.0001 to 1000000", false },
	{ CL "\"login_ip\": {\"rate\": 0}}}",
	  "classes.login_ip.rate: must be a number from 0.0001 to 1000000", false },
	{ CL "\"x\": {\"rate\": 1, \"capacity\": 0}}}",
	  "classes.x.capacity: must be from 1 to 1000000000, not 0", false },
	{ CL "\"x\": {\"rate\": 1, \"capacity\": -5}}}",
	  "classes.x.capacity: must be from 1 to 1000000000, not -5", false },
	{ CL "\"x\": {\"rate\": 1, \"capacity\": 1000000001}}}",
	  "classes.x.capacity: must be from 1 to 1000000000, not 1000000001", false },
	{ CL "\"x\": {\"rate\": 1, \"capacity\": 1.5}}}",
	  "classes.x.capacity: must be a whole number from 1 to 1000000000", false },
	{ CL "\"x\": {\"rate\": 1, \"capacity\": 2.0}}}",
	  "classes.x.capacity: must be a whole number from 1 to 1000000000", false },
	{ CL "\"x\": {\"rate\": 1, \"capacity\": \"2\"}}}",
	  "classes.x.capacity: must be a whole number from 1 to 1000000000", false },
	{ CL "\"x\": {\"rate\": 1, \"capacity\": 1, \"fail\": \"maybe\"}}}",
	  "classes.x.fail: must be \"open\" or \"closed\", not \"maybe\"", false },
	{ CL "\"x\": {\"rate\": 1, \"capacity\": 1, \"fail\": \"Open\"}}}",
	  "classes.x.fail: must be \"open\" or \"closed\", not \"Open\"", false },
	{ CL "\"x\": {\"rate\": 1, \"capacity\": 1, \"fail\": true}}}",
	  "classes.x.fail: must be \"open\" or \"closed\"", false },
	/* an unknown key is found before a missing one */
	{ CL "\"x\": {\"burst\": 3}}}",
	  "classes.x.burst: is not a known key (rate, capacity, fail)", false },
	{ CL "\"default\": {\"rate\": 1, \"capacity\": 1, "
	  "\"a_very_long_key_name_that_goes_on_and_on_and_on\": 1}}}",
	  "classes.default.a_very_long_key_name_that_goes_on_and_on...: is not a known key "
	  "(rate, capacity, fail)", false },
	{ "{\"companies\": []}", "companies: must be an object of company ids", false },
	{ "{\"companies\": {\"6F9619FF-8B86-D011-B42D-00C04FC964FF\": {}}}",
	  "companies.6F9619FF-8B86-D011-B42D-00C04FC964FF: is not a company id (a lowercase "
	  "UUID, 8-4-4-4-12)", false },
	{ "{\"companies\": {\"6f9619ff8b86d011b42d00c04fc964ff\": {}}}",
	  "companies.6f9619ff8b86d011b42d00c04fc964ff: is not a company id (a lowercase "
	  "UUID, 8-4-4-4-12)", false },
	{ "{\"companies\": {\"6f9619ff-8b86-d011-b42d-00c04fc964f\": {}}}",
	  "companies.6f9619ff-8b86-d011-b42d-00c04fc964f: is not a company id (a lowercase "
	  "UUID, 8-4-4-4-12)", false },
	{ "{\"companies\": {\"6f9619ff-8b86-d011-b42d-00c04fc964ff0\": {}}}",
	  "companies.6f9619ff-8b86-d011-b42d-00c04fc964ff0: is not a company id (a lowercase "
	  "UUID, 8-4-4-4-12)", false },
	{ "{\"companies\": {\"6f9619ff-8b86-d011-b42d-00c04fc964fg\": {}}}",
	  "companies.6f9619ff-8b86-d011-b42d-00c04fc964fg: is not a company id (a lowercase "
	  "UUID, 8-4-4-4-12)", false },
	{ "{\"companies\": {\"6f9619ff-8b86-d011-b42d+00c04fc964ff\": {}}}",
	  "companies.6f9619ff-8b86-d011-b42d+00c04fc964ff: is not a company id (a lowercase "
	  "UUID, 8-4-4-4-12)", false },
	{ "{\"companies\": {\"\": {}}}",
	  "companies.: is not a company id (a lowercase UUID, 8-4-4-4-12)", false },
	{ CO "[]}}", "companies." UUID_A ": must be an object of class names", false },
	{ CO "{\"nope\": {}}}}",
	  "companies." UUID_A ".nope: is not a class (built in or in classes)", false },
	{ CO "{\"Default\": {}}}}",
	  "companies." UUID_A ".Default: is not a class (built in or in classes)", false },
	{ CO "{\"default\": 5}}}", "companies." UUID_A ".default: must be an object "
	  "{\"rate\": ..., \"capacity\": ..., \"fail\": ...}", false },
	{ CO "{\"default\": {\"rate\": 2000000}}}}",
	  "companies." UUID_A ".default.rate: must be a number from 0.0001 to 1000000", false },
	{ CO "{\"login_account\": {\"capacity\": 0}}}}",
	  "companies." UUID_A ".login_account.capacity: must be from 1 to 1000000000, not 0",
	  false },
	{ CO "{\"default\": {\"fail\": \"no\"}}}}",
	  "companies." UUID_A ".default.fail: must be \"open\" or \"closed\", not \"no\"", false },
	{ CO "{\"default\": {\"burst\": 1}}}}",
	  "companies." UUID_A ".default.burst: is not a known key (rate, capacity, fail)", false },
	/* a class of the file's, still checked when the file lists it later */
	{ CO "{\"uploads\": {\"rate\": 0}}}, \"classes\": {\"uploads\": {\"rate\": 1, "
	  "\"capacity\": 1}}}",
	  "companies." UUID_A ".uploads.rate: must be a number from 0.0001 to 1000000", false },
	/* JSON: jansson's own words after the position */
	{ "", "line 1 column 0: ", true },
	{ "{\"classes\": {", "line 1 column 13: ", true },
	{ "{} {}", "line 1 column 4: ", true },
	{ CL "\"a\\u0000b\": {\"rate\": 1, \"capacity\": 1}}}", "line 1 column 23: ", true },
	{ CL "\"x\": {\"rate\": 1, \"rate\": 2, \"capacity\": 1}}}",
	  "rate: line 1 column 36: the key appears twice", false },
	{ "{\"classes\": {}, \"classes\": {}}", "classes: line 1 column 25: the key appears twice",
	  false },
};

START_TEST(test_bad_file)
{
	struct gb_rl_table *t = (struct gb_rl_table *)&t;   /* unchanged on error */
	char path[128], why[512], want[768];
	enum gb_err e;

	put("bad.json", bad[_i].text, strlen(bad[_i].text), path, sizeof(path));
	e = gb_rl_table_load(path, &defaults_open, &t, why, sizeof(why));
	ck_assert_msg(e == GB_ECONFIG, "%s: %d", bad[_i].text, e);
	ck_assert_ptr_eq(t, (struct gb_rl_table *)&t);
	snprintf(want, sizeof(want), "%s: %s", path, bad[_i].why);
	if (bad[_i].prefix)
		ck_assert_msg(strncmp(why, want, strlen(want)) == 0 && strlen(why) > strlen(want),
		              "%s: got \"%s\", want \"%s...\"", bad[_i].text, why, want);
	else
		ck_assert_msg(strcmp(why, want) == 0, "%s: got \"%s\", want \"%s\"", bad[_i].text,
		              why, want);
	/* no why at all */
	ck_assert_int_eq(gb_rl_table_load(path, &defaults_open, &t, NULL, 0), GB_ECONFIG);
	ck_assert_ptr_eq(t, (struct gb_rl_table *)&t);
}
END_TEST

START_TEST(test_file_errors)
{
	struct gb_rl_table *t = NULL;
	char path[128], why[512], want[256];
	int fd;

	/* missing, a directory */
	snprintf(path, sizeof(path), "%s/missing.json", tmpdir);
	ck_assert_int_eq(gb_rl_table_load(path, &defaults_open, &t, why, sizeof(why)), GB_ECONFIG);
	snprintf(want, sizeof(want), "%s: cannot open: %s", path, strerror(ENOENT));
	ck_assert_str_eq(why, want);
	ck_assert_int_eq(gb_rl_table_load(tmpdir, &defaults_open, &t, why, sizeof(why)),
	                 GB_ECONFIG);
	snprintf(want, sizeof(want), "%s: is not a regular file", tmpdir);
	ck_assert_str_eq(why, want);
	/* too large (sparse: never read), and exactly the largest allowed */
	snprintf(path, sizeof(path), "%s/big.json", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, GB_RL_FILE_MAX + 1), 0);
	ck_assert_int_eq(gb_rl_table_load(path, &defaults_open, &t, why, sizeof(why)), GB_ECONFIG);
	snprintf(want, sizeof(want), "%s: is larger than %d bytes", path, GB_RL_FILE_MAX);
	ck_assert_str_eq(why, want);
	ck_assert_int_eq(ftruncate(fd, GB_RL_FILE_MAX - 2), 0);
	ck_assert_int_eq(pwrite(fd, "{}", 2, GB_RL_FILE_MAX - 2), 2);
	ck_assert_int_eq(close(fd), 0);
	/* NULs are not JSON whitespace: the size passed, the parse did not */
	ck_assert_int_eq(gb_rl_table_load(path, &defaults_open, &t, why, sizeof(why)), GB_ECONFIG);
	snprintf(want, sizeof(want), "%s: line 1 column ", path);
	ck_assert_msg(strncmp(why, want, strlen(want)) == 0, "%s", why);
	ck_assert_ptr_null(t);
	/* a short why is cut, never overrun */
	memset(why, 'x', sizeof(why));
	ck_assert_int_eq(gb_rl_table_load(tmpdir, &defaults_open, &t, why, 8), GB_ECONFIG);
	ck_assert_uint_eq(strlen(why), 7);
	ck_assert_int_eq(why[8], 'x');
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_bad_defaults)
{
	static const struct {
		struct gb_rl_class d;
		const char *why;
	} cases[] = {
		{ { "", 0, 1, false },
		  "RATE_LIMIT_RATE: must be a number from 0.0001 to 1000000, not 0" },
		{ { "", 0.00001, 1, false },
		  "RATE_LIMIT_RATE: must be a number from 0.0001 to 1000000, not 1e-05" },
		{ { "", 1e7, 1, false },
		  "RATE_LIMIT_RATE: must be a number from 0.0001 to 1000000, not 1e+07" },
		{ { "", 1, 0, false }, "RATE_LIMIT_CAPACITY: must be from 1 to 1000000000, not 0" },
		{ { "", 1, 1000000001, true },
		  "RATE_LIMIT_CAPACITY: must be from 1 to 1000000000, not 1000000001" },
	};
	struct gb_rl_table *t = NULL;
	struct gb_rl_class nan_rate = { "", NAN, 1, false };
	char why[256];
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		ck_assert_int_eq(gb_rl_table_load(NULL, &cases[i].d, &t, why, sizeof(why)),
		                 GB_ECONFIG);
		ck_assert_str_eq(why, cases[i].why);
		ck_assert_ptr_null(t);
	}
	ck_assert_int_eq(gb_rl_table_load(NULL, &nan_rate, &t, why, sizeof(why)), GB_ECONFIG);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(gb_rl_table_load(NULL, NULL, &t, why, sizeof(why)), GB_ECONFIG);
	ck_assert_str_eq(why, "no defaults given");
	ck_assert_int_eq(gb_rl_table_load(NULL, &defaults_open, NULL, why, sizeof(why)),
	                 GB_ECONFIG);
}
END_TEST

/* A file of n classes c0..c<n-1> (and companies, each with one class). */
static char *
many(size_t nclasses, size_t ncompanies)
{
	size_t cap = 64 + nclasses * 64 + ncompanies * 64, o = 0, i;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	o += (size_t)snprintf(s + o, cap - o, "{\"classes\": {");
	for (i = 0; i < nclasses; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s\"c%zu\":{\"rate\":1,\"capacity\":%zu}",
		                      i ? "," : "", i, i + 1);
	o += (size_t)snprintf(s + o, cap - o, "}, \"companies\": {");
	for (i = 0; i < ncompanies; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s\"%08zx-0000-4000-8000-%012zx\":"
		                      "{\"default\":{}}", i ? "," : "", i, i * 7);
	snprintf(s + o, cap - o, "}}");
	return s;
}

START_TEST(test_limits)
{
	struct gb_rl_table *t;
	char path[128], why[512], want[256], id[40];
	char *text;
	size_t i;

	/* 256 classes with the 4 built-ins, and no more */
	text = many(GB_RL_CLASSES_MAX - 4, 0);
	t = load_text(text, &defaults_open);
	free(text);
	ck_assert_uint_eq(gb_rl_table_nclasses(t), GB_RL_CLASSES_MAX);
	for (i = 0; i < GB_RL_CLASSES_MAX - 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "c%zu", i);
		check_class(gb_rl_table_class(t, name, NULL), name, 1, (long)i + 1, false);
	}
	gb_rl_table_free(t);
	text = many(GB_RL_CLASSES_MAX - 3, 0);
	put("many.json", text, strlen(text), path, sizeof(path));
	free(text);
	t = NULL;
	ck_assert_int_eq(gb_rl_table_load(path, &defaults_open, &t, why, sizeof(why)), GB_ECONFIG);
	snprintf(want, sizeof(want), "%s: classes.c%d: is one class too many: at most %d, "
	         "built-ins included", path, GB_RL_CLASSES_MAX - 4, GB_RL_CLASSES_MAX);
	ck_assert_str_eq(why, want);
	ck_assert_ptr_null(t);

	/* GB_RL_COMPANIES_MAX companies, found by bsearch, and no more */
	text = many(0, GB_RL_COMPANIES_MAX);
	t = load_text(text, &defaults_open);
	free(text);
	ck_assert_uint_eq(gb_rl_table_ncompanies(t), GB_RL_COMPANIES_MAX);
	for (i = 0; i < GB_RL_COMPANIES_MAX; i += 997) {
		snprintf(id, sizeof(id), "%08zx-0000-4000-8000-%012zx", i, i * 7);
		ck_assert_ptr_ne(gb_rl_table_class(t, "default", id),
		                 gb_rl_table_class(t, "default", NULL));
		snprintf(id, sizeof(id), "%08zx-0000-4000-8000-%012zx", i, i * 7 + 1);
		ck_assert_ptr_eq(gb_rl_table_class(t, "default", id),
		                 gb_rl_table_class(t, "default", NULL));
	}
	gb_rl_table_free(t);
	text = many(0, GB_RL_COMPANIES_MAX + 1);
	put("many.json", text, strlen(text), path, sizeof(path));
	free(text);
	t = NULL;
	ck_assert_int_eq(gb_rl_table_load(path, &defaults_open, &t, why, sizeof(why)), GB_ECONFIG);
	snprintf(want, sizeof(want), "%s: companies: holds %d companies, more than %d", path,
	         GB_RL_COMPANIES_MAX + 1, GB_RL_COMPANIES_MAX);
	ck_assert_str_eq(why, want);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_names)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
		{ "default", true }, { "a", true }, { "0", true }, { "-_", true },
		{ "abcdefghijklmnopqrstuvwxyz01234", true },
		{ "abcdefghijklmnopqrstuvwxyz012345", false },
		{ "", false }, { "A", false }, { "a b", false }, { "a.b", false }, { "a:b", false },
		{ "\xc3\xa9", false },
	};
	size_t i;

	for (i = 0; i < NELEM(cases); i++)
		ck_assert_msg(gb_rl_class_name_ok(cases[i].name) == cases[i].ok, "%s",
		              cases[i].name);
	ck_assert(!gb_rl_class_name_ok(NULL));
}
END_TEST

START_TEST(test_degrade)
{
	static const struct gb_rl_class open = { "o", 1, 10, false };
	static const struct gb_rl_class closed = { "c", 1, 10, true };
	struct gb_rl_decision d;

	memset(&d, 0x5a, sizeof(d));
	gb_rl_degrade(&open, 1, &d);
	ck_assert(d.allowed && d.degraded);
	ck_assert_int_eq(d.limit, 10);
	ck_assert_int_eq(d.remaining, 9);
	ck_assert_int_eq(d.reset_s, 0);
	ck_assert_int_eq(d.retry_after_s, 0);
	gb_rl_degrade(&open, 11, &d);
	ck_assert(d.allowed);
	ck_assert_int_eq(d.remaining, 0);
	memset(&d, 0x5a, sizeof(d));
	gb_rl_degrade(&closed, 1, &d);
	ck_assert(!d.allowed && d.degraded);
	ck_assert_int_eq(d.limit, 10);
	ck_assert_int_eq(d.remaining, 0);
	ck_assert_int_eq(d.reset_s, 1);
	ck_assert_int_eq(d.retry_after_s, 1);
	gb_rl_degrade(NULL, 1, &d);
	ck_assert(!d.allowed && d.degraded);
	gb_rl_degrade(&open, 1, NULL);
}
END_TEST

START_TEST(test_script_sha)
{
	const char *sha = gb_rl_script_sha1();

	ck_assert(t_is_lower_hex(sha, 40));
	ck_assert_ptr_eq(sha, gb_rl_script_sha1());
	ck_assert_ptr_nonnull(strstr(gb_rl_script(), "redis.call('TIME')"));
	ck_assert_ptr_nonnull(strstr(gb_rl_script(), "KEYS[1]"));
}
END_TEST

/* ---- a real Redis ------------------------------------------------------- */

static const char *redis_server;   /* NULL: none, the Redis tests are left out */
static char rdir[96], rsock[128], rurl[160];
static pid_t rpid = -1;

/* In the test's process: a redis-server that dies with it (also when the
 * test fails or is killed: PR_SET_PDEATHSIG), ready to answer. */
static void
redis_setup(void)
{
	pid_t parent = getpid();
	struct gb_redis *r;
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
	/* the socket appears at bind(), before listen(): wait for an answer,
	 * at most 5 s */
	r = gb_redis_new(rurl, 2000, NULL);
	ck_assert_ptr_nonnull(r);
	for (i = 0; i < 500; i++) {
		if (stat(rsock, &st) == 0 && S_ISSOCK(st.st_mode) && gb_redis_ping(r) == GB_OK)
			break;
		ck_assert_msg(waitpid(rpid, NULL, WNOHANG) == 0, "redis-server exited; see %s",
		              logpath);
		sleep_ms(10);
	}
	gb_redis_free(r);
	ck_assert_msg(i < 500, "redis-server did not answer in 5 s; see %s", logpath);
}

static void
redis_teardown(void)
{
	if (rpid > 0) {
		kill(rpid, SIGKILL);
		waitpid(rpid, NULL, 0);
		rpid = -1;
	}
	remove_dir(rdir);
}

static struct gb_redis *
handle(int timeout_ms)
{
	struct gb_redis *r = gb_redis_new(rurl, timeout_ms, NULL);

	ck_assert_ptr_nonnull(r);
	return r;
}

/* A command whose integer answer is wanted. */
static long long
redis_int(struct gb_redis *r, const char *cmd, const char *key)
{
	redisReply *rep = gb_redis_command(r, NULL, cmd, key);
	long long v;

	ck_assert_ptr_nonnull(rep);
	ck_assert_msg(rep->type == REDIS_REPLY_INTEGER, "%s %s: type %d", cmd, key, rep->type);
	v = rep->integer;
	freeReplyObject(rep);
	return v;
}

static void
take_ok(struct gb_redis *r, const struct gb_rl_class *cls, const char *key,
        long cost, struct gb_rl_decision *d)
{
	enum gb_err e = gb_rl_take(r, "t:rl:", cls, key, cost, d);

	ck_assert_msg(e == GB_OK, "take: %s (%s)", gb_strerror(e), gb_redis_last_error(r));
	ck_assert(!d->degraded);
	ck_assert_int_eq(d->limit, cls->capacity);
}

START_TEST(test_capacity)
{
	/* no refill to speak of: 10000 s a token */
	static const struct gb_rl_class cls = { "cap", 0.0001, 5, false };
	struct gb_redis *r = handle(2000);
	struct gb_rl_decision d;
	long i;

	for (i = 4; i >= 0; i--) {
		take_ok(r, &cls, "u:a", 1, &d);
		ck_assert(d.allowed);
		ck_assert_int_eq(d.remaining, i);
		ck_assert_int_eq(d.retry_after_s, 0);
		/* (5 - i) tokens to refill at 10000 s each */
		ck_assert_int_ge(d.reset_s, (5 - i) * 10000 - 1);
		ck_assert_int_le(d.reset_s, (5 - i) * 10000);
	}
	for (i = 0; i < 3; i++) {
		take_ok(r, &cls, "u:a", 1, &d);
		ck_assert(!d.allowed);
		ck_assert_int_eq(d.remaining, 0);
		ck_assert_int_ge(d.retry_after_s, 9999);
		ck_assert_int_le(d.retry_after_s, 10000);
		ck_assert_int_ge(d.reset_s, 49999);
		ck_assert_int_le(d.reset_s, 50000);
	}
	/* another key, another bucket; the same key in another class too */
	take_ok(r, &cls, "u:b", 1, &d);
	ck_assert(d.allowed);
	ck_assert_int_eq(d.remaining, 4);
	{
		static const struct gb_rl_class other = { "cap2", 0.0001, 5, false };

		take_ok(r, &other, "u:a", 1, &d);
		ck_assert(d.allowed);
		ck_assert_int_eq(d.remaining, 4);
	}
	/* the key is prefix + class + ":" + key, a hash */
	ck_assert_int_eq(redis_int(r, "EXISTS %s", "t:rl:cap:u:a"), 1);
	ck_assert_int_eq(redis_int(r, "HLEN %s", "t:rl:cap:u:a"), 2);
	gb_redis_free(r);
}
END_TEST

START_TEST(test_cost)
{
	static const struct gb_rl_class cls = { "cost", 0.0001, 5, true };
	struct gb_redis *r = handle(2000);
	struct gb_rl_decision d;

	take_ok(r, &cls, "k", 3, &d);
	ck_assert(d.allowed);
	ck_assert_int_eq(d.remaining, 2);
	take_ok(r, &cls, "k", 3, &d);
	ck_assert(!d.allowed);
	ck_assert_int_eq(d.remaining, 2);            /* a refusal takes nothing */
	ck_assert_int_ge(d.retry_after_s, 9999);     /* one token missing */
	ck_assert_int_le(d.retry_after_s, 10000);
	take_ok(r, &cls, "k", 2, &d);
	ck_assert(d.allowed);
	ck_assert_int_eq(d.remaining, 0);
	/* cost outside 1..capacity: the caller's bug, the fail policy, no call */
	ck_assert_int_eq(gb_rl_take(r, "t:rl:", &cls, "k2", 6, &d), GB_EINVAL);
	ck_assert(!d.allowed && d.degraded);
	ck_assert_int_eq(gb_rl_take(r, "t:rl:", &cls, "k2", 0, &d), GB_EINVAL);
	ck_assert_int_eq(redis_int(r, "EXISTS %s", "t:rl:cost:k2"), 0);
	gb_redis_free(r);
}
END_TEST

START_TEST(test_refill)
{
	static const struct gb_rl_class cls = { "fast", 20, 2, false };
	struct gb_redis *r = handle(2000);
	struct gb_rl_decision d;

	take_ok(r, &cls, "ip:203.0.113.9", 1, &d);
	ck_assert(d.allowed);
	ck_assert_int_eq(d.remaining, 1);
	ck_assert_int_eq(d.reset_s, 1);               /* 50 ms, rounded up */
	take_ok(r, &cls, "ip:203.0.113.9", 1, &d);
	ck_assert(d.allowed);
	ck_assert_int_eq(d.remaining, 0);
	take_ok(r, &cls, "ip:203.0.113.9", 1, &d);
	ck_assert(!d.allowed);
	ck_assert_int_eq(d.retry_after_s, 1);         /* at most 50 ms, rounded up */
	ck_assert_int_eq(d.reset_s, 1);
	/* 120 ms refill 2.4 tokens, capped at 2 */
	sleep_ms(120);
	take_ok(r, &cls, "ip:203.0.113.9", 1, &d);
	ck_assert(d.allowed);
	ck_assert_int_eq(d.remaining, 1);
	take_ok(r, &cls, "ip:203.0.113.9", 1, &d);
	ck_assert(d.allowed);
	/* one token after 50 ms */
	sleep_ms(60);
	take_ok(r, &cls, "ip:203.0.113.9", 1, &d);
	ck_assert(d.allowed);
	gb_redis_free(r);
}
END_TEST

/* calls=N of cmdstat_<name> in INFO commandstats; 0 when absent. */
static long
calls(struct gb_redis *r, const char *name)
{
	redisReply *rep = gb_redis_command(r, NULL, "INFO commandstats");
	char needle[64];
	const char *p;
	long n = 0;

	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(rep->type, REDIS_REPLY_STRING);
	snprintf(needle, sizeof(needle), "cmdstat_%s:calls=", name);
	if ((p = strstr(rep->str, needle)) != NULL)
		n = strtol(p + strlen(needle), NULL, 10);
	freeReplyObject(rep);
	return n;
}

START_TEST(test_noscript)
{
	static const struct gb_rl_class cls = { "flush", 0.0001, 10, true };
	struct gb_redis *r = handle(2000);
	struct gb_rl_decision d;
	redisReply *rep;
	long i;

	/* a fresh server knows no script: EVALSHA, NOSCRIPT, EVAL, then EVALSHA */
	for (i = 9; i >= 7; i--) {
		take_ok(r, &cls, "k", 1, &d);
		ck_assert(d.allowed);
		ck_assert_int_eq(d.remaining, i);
	}
	ck_assert_int_eq(calls(r, "eval"), 1);
	ck_assert_int_eq(calls(r, "evalsha"), 3);
	rep = gb_redis_command(r, NULL, "SCRIPT FLUSH");
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(rep->type, REDIS_REPLY_STATUS);
	freeReplyObject(rep);
	take_ok(r, &cls, "k", 1, &d);
	ck_assert(d.allowed);
	ck_assert_int_eq(d.remaining, 6);
	ck_assert_int_eq(calls(r, "eval"), 2);
	take_ok(r, &cls, "k", 1, &d);
	ck_assert_int_eq(d.remaining, 5);
	ck_assert_int_eq(calls(r, "eval"), 2);
	ck_assert_int_eq(calls(r, "evalsha"), 5);
	/* Redis's SHA-1 of the script is ours */
	rep = gb_redis_command(r, NULL, "SCRIPT LOAD %s", gb_rl_script());
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(rep->type, REDIS_REPLY_STRING);
	ck_assert_str_eq(rep->str, gb_rl_script_sha1());
	freeReplyObject(rep);
	gb_redis_free(r);
}
END_TEST

#define NTHREADS 8
#define NTAKES 10

static const struct gb_rl_class shared_cls = { "shared", 0.0001, 50, false };

struct worker {
	pthread_t tid;
	int allowed, failed;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct gb_redis *r = gb_redis_new(rurl, 5000, NULL);
	struct gb_rl_decision d;
	int i;

	for (i = 0; i < NTAKES; i++) {
		if (r == NULL || gb_rl_take(r, "t:rl:", &shared_cls, "u:c:u", 1, &d) != GB_OK ||
		    d.degraded)
			w->failed++;
		else if (d.allowed)
			w->allowed++;
	}
	gb_redis_free(r);
	return NULL;
}

START_TEST(test_concurrent)
{
	struct worker w[NTHREADS];
	struct gb_redis *r;
	struct gb_rl_decision d;
	int i, allowed = 0;

	memset(w, 0, sizeof(w));
	for (i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&w[i].tid, NULL, worker_main, &w[i]), 0);
	for (i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(pthread_join(w[i].tid, NULL), 0);
		ck_assert_int_eq(w[i].failed, 0);
		allowed += w[i].allowed;
	}
	ck_assert_int_eq(allowed, 50);
	r = handle(2000);
	take_ok(r, &shared_cls, "u:c:u", 1, &d);
	ck_assert(!d.allowed);
	ck_assert_int_eq(d.remaining, 0);
	gb_redis_free(r);
}
END_TEST

START_TEST(test_expiry)
{
	static const struct gb_rl_class slow = { "exp", 1, 10, false };
	static const struct gb_rl_class ten = { "exp10", 10, 10, false };
	static const struct gb_rl_class fast = { "exp20", 20, 1, false };
	struct gb_redis *r = handle(2000);
	struct gb_rl_decision d;
	long long ttl;

	/* one token short: full in 1000 ms */
	take_ok(r, &slow, "ip:192.0.2.1", 1, &d);
	ttl = redis_int(r, "PTTL %s", "t:rl:exp:ip:192.0.2.1");
	ck_assert_int_gt(ttl, 900);
	ck_assert_int_le(ttl, 1000);
	/* three short at 10/s: 300 ms */
	take_ok(r, &ten, "ip:192.0.2.1", 3, &d);
	ck_assert_int_eq(d.remaining, 7);
	ck_assert_int_eq(d.reset_s, 1);
	ttl = redis_int(r, "PTTL %s", "t:rl:exp10:ip:192.0.2.1");
	ck_assert_int_gt(ttl, 200);
	ck_assert_int_le(ttl, 300);
	/* an idle bucket vanishes once full: 50 ms here */
	take_ok(r, &fast, "ip:192.0.2.1", 1, &d);
	ttl = redis_int(r, "PTTL %s", "t:rl:exp20:ip:192.0.2.1");
	ck_assert_int_gt(ttl, 0);
	ck_assert_int_le(ttl, 50);
	sleep_ms(150);
	ck_assert_int_eq(redis_int(r, "EXISTS %s", "t:rl:exp20:ip:192.0.2.1"), 0);
	take_ok(r, &fast, "ip:192.0.2.1", 1, &d);
	ck_assert(d.allowed);
	gb_redis_free(r);
}
END_TEST

START_TEST(test_keys)
{
	static const struct gb_rl_class cls = { "k", 1, 10, true };
	static const struct gb_rl_class bad_rate = { "k", 0, 10, false };
	static const struct gb_rl_class bad_cap = { "k", 1, 0, false };
	static const struct gb_rl_class no_name = { "", 1, 10, false };
	struct gb_redis *r = handle(2000);
	struct gb_rl_decision d;
	char key[GB_RL_KEY_MAX + 8];

	/* "t:rl:" "k" ":" + key: GB_RL_KEY_MAX bytes in all fit */
	memset(key, 'x', sizeof(key));
	key[GB_RL_KEY_MAX - 7] = '\0';
	take_ok(r, &cls, key, 1, &d);
	ck_assert(d.allowed);
	key[GB_RL_KEY_MAX - 7] = 'x';
	key[GB_RL_KEY_MAX - 6] = '\0';
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(gb_rl_take(r, "t:rl:", &cls, key, 1, &d), GB_EINVAL);
	ck_assert(d.degraded && !d.allowed);           /* fail closed */
	/* binary-safe and without a prefix */
	take_ok(r, &cls, "a b\r\n%s", 1, &d);
	ck_assert_int_eq(gb_rl_take(r, NULL, &cls, "u:x", 1, &d), GB_OK);
	ck_assert_int_eq(redis_int(r, "EXISTS %s", "k:u:x"), 1);
	/* bad arguments */
	ck_assert_int_eq(gb_rl_take(r, "", &bad_rate, "u:x", 1, &d), GB_EINVAL);
	ck_assert(d.degraded && d.allowed);
	ck_assert_int_eq(gb_rl_take(r, "", &bad_cap, "u:x", 1, &d), GB_EINVAL);
	ck_assert_int_eq(gb_rl_take(r, "", &no_name, "u:x", 1, &d), GB_EINVAL);
	ck_assert_int_eq(gb_rl_take(r, "", &cls, NULL, 1, &d), GB_EINVAL);
	ck_assert_int_eq(gb_rl_take(NULL, "", &cls, "u:x", 1, &d), GB_EINVAL);
	ck_assert_int_eq(gb_rl_take(r, "", NULL, "u:x", 1, &d), GB_EINVAL);
	ck_assert_int_eq(gb_rl_take(r, "", &cls, "u:x", 1, NULL), GB_EINVAL);
	gb_redis_free(r);
}
END_TEST

START_TEST(test_wrong_type)
{
	static const struct gb_rl_class open = { "wt", 1, 10, false };
	static const struct gb_rl_class closed = { "wt", 1, 10, true };
	struct gb_redis *r = handle(2000);
	struct gb_rl_decision d;
	redisReply *rep;

	/* an answer that is not the script's: Redis's error, the fail policy */
	rep = gb_redis_command(r, NULL, "SET %s %s", "t:rl:wt:k", "text");
	ck_assert_ptr_nonnull(rep);
	freeReplyObject(rep);
	ck_assert_int_eq(gb_rl_take(r, "t:rl:", &open, "k", 1, &d), GB_EREDIS);
	ck_assert(d.allowed && d.degraded);
	ck_assert_int_eq(d.limit, 10);
	ck_assert_int_eq(d.remaining, 9);
	ck_assert_int_eq(gb_rl_take(r, "t:rl:", &closed, "k", 1, &d), GB_EREDIS);
	ck_assert(!d.allowed && d.degraded);
	ck_assert_int_eq(d.retry_after_s, 1);
	/* the handle still works */
	take_ok(r, &closed, "k2", 1, &d);
	ck_assert(d.allowed);
	gb_redis_free(r);
}
END_TEST

START_TEST(test_killed)
{
	static const struct gb_rl_class open = { "dead", 1, 10, false };
	static const struct gb_rl_class closed = { "dead", 1, 10, true };
	struct gb_redis *r = handle(200), *fresh = handle(200);
	struct gb_rl_decision d;
	int64_t t0;
	enum gb_err e;

	take_ok(r, &open, "k", 1, &d);
	ck_assert_int_eq(kill(rpid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(rpid, NULL, 0), rpid);
	rpid = -1;
	t0 = now_ms();
	e = gb_rl_take(r, "t:rl:", &open, "k", 1, &d);
	ck_assert_msg(e == GB_EREDIS || e == GB_ETIMEOUT, "%s", gb_strerror(e));
	ck_assert(d.allowed && d.degraded);
	ck_assert_int_eq(d.limit, 10);
	ck_assert_int_eq(d.remaining, 9);
	ck_assert_int_eq(d.reset_s, 0);
	ck_assert_int_eq(d.retry_after_s, 0);
	e = gb_rl_take(r, "t:rl:", &closed, "k", 1, &d);
	ck_assert_msg(e == GB_EREDIS || e == GB_ETIMEOUT, "%s", gb_strerror(e));
	ck_assert(!d.allowed && d.degraded);
	ck_assert_int_eq(d.limit, 10);
	ck_assert_int_eq(d.remaining, 0);
	ck_assert_int_eq(d.retry_after_s, 1);
	/* never connected */
	e = gb_rl_take(fresh, "t:rl:", &closed, "k", 1, &d);
	ck_assert_msg(e == GB_EREDIS || e == GB_ETIMEOUT, "%s", gb_strerror(e));
	ck_assert(!d.allowed && d.degraded);
	/* three answers within one 200 ms timeout: a refused connect is fast */
	ck_assert_int_lt(now_ms() - t0, 200);
	gb_redis_free(r);
	gb_redis_free(fresh);
}
END_TEST

/* Waits (at most 2 s) until /proc says pid is stopped. */
static void
wait_stopped(pid_t pid)
{
	char path[64], buf[256], *p;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (i = 0; i < 200; i++) {
		FILE *f = fopen(path, "r");
		size_t n;

		ck_assert_ptr_nonnull(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		/* "pid (comm) S ..." */
		if ((p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] == 'T')
			return;
		sleep_ms(10);
	}
	ck_abort_msg("redis-server did not stop");
}

START_TEST(test_stopped)
{
	static const struct gb_rl_class open = { "stop", 1, 10, false };
	static const struct gb_rl_class closed = { "stop", 1, 10, true };
	struct gb_redis *r = handle(200);
	struct gb_rl_decision d;
	int64_t t0, took;
	enum gb_err e;

	take_ok(r, &open, "k", 1, &d);
	ck_assert_int_eq(kill(rpid, SIGSTOP), 0);
	wait_stopped(rpid);
	/* on the open connection */
	t0 = now_ms();
	e = gb_rl_take(r, "t:rl:", &closed, "k", 1, &d);
	took = now_ms() - t0;
	ck_assert_msg(e == GB_ETIMEOUT, "%s", gb_strerror(e));
	ck_assert(!d.allowed && d.degraded);
	ck_assert_int_eq(d.retry_after_s, 1);
	ck_assert_int_ge(took, 150);
	ck_assert_int_lt(took, 600);
	/* on a new one: the kernel accepts it, Redis does not answer */
	t0 = now_ms();
	e = gb_rl_take(r, "t:rl:", &open, "k", 1, &d);
	took = now_ms() - t0;
	ck_assert_msg(e == GB_ETIMEOUT, "%s", gb_strerror(e));
	ck_assert(d.allowed && d.degraded);
	ck_assert_int_ge(took, 150);
	ck_assert_int_lt(took, 600);
	/* back: the next take reconnects and Redis decides again */
	ck_assert_int_eq(kill(rpid, SIGCONT), 0);
	take_ok(r, &open, "k", 1, &d);
	ck_assert(d.allowed);
	gb_redis_free(r);
}
END_TEST

/* A free loopback TCP port (bound, read, closed). */
static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* A second redis-server, on loopback TCP with a password, answering. */
static pid_t
tcp_server(int port, const char *password)
{
	pid_t parent = getpid(), pid;
	char portstr[16], url[160], logpath[160];
	struct gb_redis *r;
	int i, fd;

	snprintf(portstr, sizeof(portstr), "%d", port);
	snprintf(logpath, sizeof(logpath), "%s/tcp.log", rdir);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(127);
		fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(redis_server, "redis-server", "--port", portstr, "--bind", "127.0.0.1",
		      "--requirepass", password, "--save", "", "--appendonly", "no",
		      "--daemonize", "no", "--dir", rdir, (char *)NULL);
		_exit(127);
	}
	snprintf(url, sizeof(url), "redis://:%s@127.0.0.1:%d/0", password, port);
	r = gb_redis_new(url, 500, NULL);
	ck_assert_ptr_nonnull(r);
	for (i = 0; i < 500 && gb_redis_ping(r) != GB_OK; i++) {
		ck_assert_msg(waitpid(pid, NULL, WNOHANG) == 0, "redis-server exited; see %s",
		              logpath);
		sleep_ms(10);
	}
	gb_redis_free(r);
	ck_assert_msg(i < 500, "redis-server on port %d did not answer in 5 s", port);
	return pid;
}

/* A Redis with a password: the handle authenticates, a wrong password is a
 * Redis failure (the fail policy decides), and after a restart the same
 * handle connects and authenticates again by itself. */
START_TEST(test_reauth)
{
	static const struct gb_rl_class cls = { "auth", 0.0001, 3, true };
	struct gb_redis *r, *wrong;
	struct gb_rl_decision d;
	char url[160];
	int port = free_port();
	pid_t pid = tcp_server(port, "s3cret-pw");
	enum gb_err e;

	snprintf(url, sizeof(url), "redis://:s3cret-pw@127.0.0.1:%d/0", port);
	r = gb_redis_new(url, 500, NULL);
	snprintf(url, sizeof(url), "redis://:not-it@127.0.0.1:%d/0", port);
	wrong = gb_redis_new(url, 500, NULL);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(wrong);
	take_ok(r, &cls, "a", 1, &d);
	ck_assert_int_eq(d.remaining, 2);
	e = gb_rl_take(wrong, "t:rl:", &cls, "a", 1, &d);
	ck_assert_int_eq(e, GB_EREDIS);
	ck_assert(d.degraded && !d.allowed);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	pid = tcp_server(port, "s3cret-pw");
	/* the old connection is dead: the next take reconnects and logs in */
	take_ok(r, &cls, "a", 1, &d);
	ck_assert_int_eq(d.remaining, 2);          /* a new server, a full bucket */
	take_ok(r, &cls, "a", 1, &d);
	ck_assert_int_eq(d.remaining, 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	gb_redis_free(r);
	gb_redis_free(wrong);
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("gb_ratelimit");
	TCase *tt = tcase_create("table");
	TCase *tr;

	tcase_add_checked_fixture(tt, dir_setup, dir_teardown);
	tcase_add_test(tt, test_builtins);
	tcase_add_test(tt, test_good_file);
	tcase_add_test(tt, test_empty_objects);
	tcase_add_loop_test(tt, test_bad_file, 0, (int)NELEM(bad));
	tcase_add_test(tt, test_file_errors);
	tcase_add_test(tt, test_bad_defaults);
	tcase_add_test(tt, test_limits);
	tcase_add_test(tt, test_names);
	tcase_add_test(tt, test_degrade);
	tcase_add_test(tt, test_script_sha);
	tcase_set_timeout(tt, 30);   /* 100000 companies under the sanitizers */
	suite_add_tcase(s, tt);

	if (redis_server == NULL)
		return s;
	tr = tcase_create("redis");
	tcase_add_checked_fixture(tr, redis_setup, redis_teardown);
	tcase_add_test(tr, test_capacity);
	tcase_add_test(tr, test_cost);
	tcase_add_test(tr, test_refill);
	tcase_add_test(tr, test_noscript);
	tcase_add_test(tr, test_concurrent);
	tcase_add_test(tr, test_expiry);
	tcase_add_test(tr, test_keys);
	tcase_add_test(tr, test_wrong_type);
	tcase_add_test(tr, test_killed);
	tcase_add_test(tr, test_stopped);
	tcase_add_test(tr, test_reauth);
	suite_add_tcase(s, tr);
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
		fprintf(stderr, "test_gb_ratelimit: no %s: the Redis tests are left out\n",
		        redis_server);
		redis_server = NULL;
	}
	snprintf(basedir, sizeof(basedir), "%s", "/tmp/gb-rl-test.XXXXXX");
	if (mkdtemp(basedir) == NULL) {
		perror("test_gb_ratelimit: mkdtemp");
		return EXIT_FAILURE;
	}
	sr = srunner_create(ratelimit_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_dir(basedir);
	if (failed != 0)
		return EXIT_FAILURE;
	return redis_server != NULL ? EXIT_SUCCESS : 77;   /* 77: skipped, for automake */
}
