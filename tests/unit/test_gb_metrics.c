/* Tests for lib/gb_metrics.c: the segment file (creation, mode, layout,
 * a restart, relayout of files of another layout, refusal of what is not
 * a regular file), updates from forked processes and threads, histogram
 * bucket math, label folding and escaping, a full table, and the
 * exposition under a strict parser written here (which is tested too). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gb_buf.h"
#include "gb_metrics.h"
#include "gb_test.h"

/* Header offsets, as gb_metrics.h and gb_metrics.c document them. */
#define H_VERSION 8
#define H_HEADER_SIZE 12
#define H_TOTAL_SIZE 16
#define H_NSLOTS 24
#define H_NBUCKETS 28
#define H_SLOT_SIZE 32
#define H_LABELS_MAX 36
#define H_BOUNDS 40

/* Every test's directory is made under basedir, which main() makes and
 * removes: a failed test ends with _exit() and skips its teardown. */
static char basedir[64];
static char tmpdir[96];
static char shm[160];

static void
remove_dir(const char *dir)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_gb_metrics: cannot remove %s\n", dir);
}

static void
dir_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/t.XXXXXX", basedir);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(shm, sizeof(shm), "%s/%s", tmpdir, GB_METRICS_FILE);
}

static void
dir_teardown(void)
{
	gb_metrics_close();
	remove_dir(tmpdir);
}

static void
open_ok(const char *dir)
{
	char why[512] = "junk";

	ck_assert_msg(gb_metrics_open(dir, why, sizeof(why)) == GB_OK, "%s", why);
	ck_assert_str_eq(why, "");
	ck_assert(gb_metrics_on());
}

/* ---- a strict exposition parser ----------------------------------------- */

static char perr[512];

static const char *
bad(int line, const char *what, const char *at)
{
	const char *end = strchr(at, '\n');

	snprintf(perr, sizeof(perr), "line %d: %s: \"%.*s\"", line, what,
	         (int)(end != NULL ? end - at : 60), at);
	return perr;
}

static bool
name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

/* A metric or label name at *p into name; false if there is none. */
static bool
get_name(const char **p, char *name, size_t size, bool label)
{
	size_t n = 0;

	if (!name_char(**p, true) || (label && **p == ':'))
		return false;
	while (name_char(**p, false) && !(label && **p == ':')) {
		if (n + 1 >= size)
			return false;
		name[n++] = *(*p)++;
	}
	name[n] = '\0';
	return true;
}

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

struct hist {
	bool open;              /* inside a label set's buckets */
	char labels[512];       /* without le */
	double le;
	double inf;             /* the +Inf count; NAN before it */
	int step;               /* 0 buckets, 1 after +Inf, 2 after _sum */
	double last;
};

/* NULL when text is an exposition that keeps every rule below; else what
 * is wrong, and where. */
static const char *
parse(const char *text)
{
	char fams[64][128], cur[128] = "", type[16] = "", help[128] = "";
	char name[128], lname[64], seen[8][64], labels[512], series[720], le[64];
	char **all = NULL;
	size_t nfam = 0, nall = 0, i;
	const char *p = text, *line, *err = NULL;
	struct hist h;
	int ln = 0;

	memset(&h, 0, sizeof(h));
	if (text[0] == '\0')
		return "empty";
	while (*p != '\0' && err == NULL) {
		size_t nseen = 0, llen = 0;
		bool has_le = false;
		const char *suffix = "";
		char *endp;
		double v;

		line = p;
		ln++;
		if (strchr(p, '\n') == NULL) {
			err = bad(ln, "no newline at the end", line);
			break;
		}
		if (strncmp(p, "# HELP ", 7) == 0) {
			p += 7;
			if (!get_name(&p, name, sizeof(name), false) || *p != ' ' || p[1] == '\n') {
				err = bad(ln, "bad HELP", line);
				break;
			}
			for (i = 0; i < nfam; i++)
				if (strcmp(fams[i], name) == 0)
					break;
			if (i < nfam || help[0] != '\0') {
				err = bad(ln, "second HELP, or HELP without TYPE", line);
				break;
			}
			snprintf(help, sizeof(help), "%s", name);
			for (p++; *p != '\n'; p++)
				if (*p == '\\' && p[1] != '\\' && p[1] != 'n') {
					err = bad(ln, "bad escape in HELP", line);
					break;
				}
			p++;
			continue;
		}
		if (strncmp(p, "# TYPE ", 7) == 0) {
			p += 7;
			if (!get_name(&p, name, sizeof(name), false) || *p++ != ' ') {
				err = bad(ln, "bad TYPE", line);
				break;
			}
			if (strcmp(help, name) != 0) {
				err = bad(ln, "TYPE not right after its HELP", line);
				break;
			}
			help[0] = '\0';
			if (h.open) {
				err = bad(ln, "histogram cut short", line);
				break;
			}
			if (strncmp(p, "counter\n", 8) == 0 || strncmp(p, "gauge\n", 6) == 0 ||
			    strncmp(p, "histogram\n", 10) == 0) {
				snprintf(type, sizeof(type), "%.*s", (int)(strchr(p, '\n') - p), p);
			} else {
				err = bad(ln, "unknown type", line);
				break;
			}
			if (nfam == NELEM(fams)) {
				err = bad(ln, "too many families", line);
				break;
			}
			snprintf(fams[nfam++], sizeof(fams[0]), "%s", name);
			snprintf(cur, sizeof(cur), "%s", name);
			p = strchr(p, '\n') + 1;
			continue;
		}
		if (*p == '#' || *p == '\n') {
			err = bad(ln, "a comment or an empty line", line);
			break;
		}
		if (help[0] != '\0') {
			err = bad(ln, "HELP without TYPE", line);
			break;
		}
		/* a sample: name{labels} value */
		if (!get_name(&p, name, sizeof(name), false)) {
			err = bad(ln, "no metric name", line);
			break;
		}
		if (cur[0] == '\0' || strncmp(name, cur, strlen(cur)) != 0) {
			err = bad(ln, "sample before its TYPE, or outside its family", line);
			break;
		}
		suffix = name + strlen(cur);
		if (strcmp(type, "histogram") == 0 ? strcmp(suffix, "_bucket") != 0 &&
		    strcmp(suffix, "_sum") != 0 && strcmp(suffix, "_count") != 0 :
		    suffix[0] != '\0') {
			err = bad(ln, "a name that is not its family's", line);
			break;
		}
		labels[0] = '\0';
		le[0] = '\0';
		if (*p == '{') {
			p++;
			for (;;) {
				const char *vstart;

				if (!get_name(&p, lname, sizeof(lname), true) || *p++ != '=' ||
				    *p++ != '"') {
					err = bad(ln, "bad label", line);
					break;
				}
				for (i = 0; i < nseen; i++)
					if (strcmp(seen[i], lname) == 0)
						break;
				if (i < nseen || nseen == NELEM(seen)) {
					err = bad(ln, "a label twice", line);
					break;
				}
				snprintf(seen[nseen++], sizeof(seen[0]), "%s", lname);
				vstart = p;
				while (*p != '"') {
					if (*p == '\n' || *p == '\0') {
						err = bad(ln, "label value not closed", line);
						break;
					}
					if (*p == '\\') {
						if (p[1] != '\\' && p[1] != '"' && p[1] != 'n') {
							err = bad(ln, "bad escape", line);
							break;
						}
						p++;
					}
					p++;
				}
				if (err != NULL)
					break;
				if (strcmp(lname, "le") == 0) {
					has_le = true;
					snprintf(le, sizeof(le), "%.*s", (int)(p - vstart), vstart);
				} else {
					int w = snprintf(labels + llen, sizeof(labels) - llen,
					                 "%s%s=\"%.*s\"", llen > 0 ? "," : "",
					                 lname, (int)(p - vstart), vstart);

					if (w < 0 || (size_t)w >= sizeof(labels) - llen) {
						err = bad(ln, "labels too long", line);
						break;
					}
					llen += (size_t)w;
				}
				p++;
				if (*p == ',') {
					p++;
					continue;
				}
				if (*p++ != '}')
					err = bad(ln, "labels not closed", line);
				break;
			}
			if (err != NULL)
				break;
			if (nseen == 0) {
				err = bad(ln, "empty braces", line);
				break;
			}
		}
		if (*p++ != ' ' || *p == ' ' || *p == '\n') {
			err = bad(ln, "not one space before the value", line);
			break;
		}
		errno = 0;
		v = strtod(p, &endp);
		if (endp == p || *endp != '\n' || errno != 0 || isnan(v) || isinf(v)) {
			err = bad(ln, "bad value", line);
			break;
		}
		if (strcmp(type, "counter") == 0 && (v < 0 || v != floor(v))) {
			err = bad(ln, "a counter not a whole number >= 0", line);
			break;
		}
		p = endp + 1;
		if (has_le != (strcmp(suffix, "_bucket") == 0)) {
			err = bad(ln, "le where no bucket is, or a bucket without", line);
			break;
		}
		/* histogram order: buckets ascending to +Inf, _sum, _count == +Inf */
		if (strcmp(type, "histogram") == 0) {
			if (strcmp(suffix, "_bucket") == 0) {
				double lev;

				if (strcmp(le, "+Inf") == 0) {
					lev = INFINITY;
				} else {
					lev = strtod(le, &endp);
					if (endp == le || *endp != '\0' || !isfinite(lev)) {
						err = bad(ln, "bad le", line);
						break;
					}
				}
				if (!h.open) {
					h.open = true;
					h.step = 0;
					h.le = -INFINITY;
					h.last = 0;
					snprintf(h.labels, sizeof(h.labels), "%s", labels);
				}
				if (h.step != 0 || strcmp(h.labels, labels) != 0 || !(lev > h.le) ||
				    v < h.last) {
					err = bad(ln, "buckets out of order or falling", line);
					break;
				}
				h.le = lev;
				h.last = v;
				if (isinf(lev)) {
					h.inf = v;
					h.step = 1;
				}
			} else if (strcmp(suffix, "_sum") == 0) {
				if (!h.open || h.step != 1 || strcmp(h.labels, labels) != 0) {
					err = bad(ln, "_sum not after +Inf", line);
					break;
				}
				h.step = 2;
			} else {
				if (!h.open || h.step != 2 || strcmp(h.labels, labels) != 0) {
					err = bad(ln, "_count not after _sum", line);
					break;
				}
				if (v != h.inf) {
					err = bad(ln, "_count is not +Inf", line);
					break;
				}
				h.open = false;
			}
		}
		snprintf(series, sizeof(series), "%s{%s}%s", name, labels, le);
		all = realloc(all, (nall + 1) * sizeof(*all));
		ck_assert_ptr_nonnull(all);
		all[nall] = strdup(series);
		ck_assert_ptr_nonnull(all[nall]);
		nall++;
	}
	if (err == NULL && (h.open || help[0] != '\0'))
		err = "ends inside a histogram or after a HELP";
	if (err == NULL && nall > 1) {
		qsort(all, nall, sizeof(*all), cmp_str);
		for (i = 1; i < nall && err == NULL; i++)
			if (strcmp(all[i - 1], all[i]) == 0) {
				snprintf(perr, sizeof(perr), "a series twice: %s", all[i]);
				err = perr;
			}
	}
	for (i = 0; i < nall; i++)
		free(all[i]);
	free(all);
	return err;
}

/* The exposition, parsed; free() it. */
static char *
expose(void)
{
	struct gb_buf b = GB_BUF_INIT;
	const char *err;

	ck_assert_int_eq(gb_metrics_expose(&b, "1.2.3", "abc"), GB_OK);
	ck_assert_ptr_nonnull(b.data);
	err = parse(b.data);
	if (err != NULL)
		fprintf(stderr, "%s\n", b.data);
	ck_assert_msg(err == NULL, "%s", err);
	return b.data;
}

/* The value of the sample whose name and labels are series exactly; -1
 * when there is none. */
static double
value(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p;

	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p != NULL ? p + 1 : p)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

static size_t
lines_starting(const char *text, const char *prefix)
{
	size_t n = 0, len = strlen(prefix);
	const char *p;

	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p != NULL ? p + 1 : p)
		if (strncmp(p, prefix, len) == 0)
			n++;
	return n;
}

/* Check's messages are short: the exposition goes to stderr. */
static void
check_value(const char *text, const char *series, double want, int line)
{
	double got = value(text, series);

	if (got != want)
		fprintf(stderr, "%s\n", text);
	ck_assert_msg(got == want, "line %d: %s: %.17g, want %.17g", line, series, got, want);
}

#define CHECK_VALUE(text, series, want) check_value((text), (series), (double)(want), __LINE__)

START_TEST(test_parser)
{
	static const char *const bad_texts[] = {
		"",
		"x 1\n",                                            /* no TYPE */
		"# HELP x h\n# TYPE x counter\nx 1",                /* no newline */
		"# HELP x h\n# TYPE x counter\nx 1\nx 2\n",         /* twice */
		"# HELP x h\n# TYPE x counter\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n",
		"# HELP x h\n# TYPE x counter\n# HELP x h\n# TYPE x counter\n",
		"# TYPE x counter\nx 1\n",                          /* no HELP */
		"# HELP x h\n# TYPE x counter\ny 1\n",              /* outside */
		"# HELP x h\n# TYPE x counter\nx{} 1\n",
		"# HELP x h\n# TYPE x counter\nx{a=\"b} 1\n",
		"# HELP x h\n# TYPE x counter\nx{a=\"\\t\"} 1\n",  /* bad escape */
		"# HELP x h\n# TYPE x counter\nx{a=\"1\",a=\"2\"} 1\n",
		"# HELP x h\n# TYPE x counter\nx  1\n",
		"# HELP x h\n# TYPE x counter\nx 1.5\n",
		"# HELP x h\n# TYPE x counter\nx -1\n",
		"# HELP x h\n# TYPE x counter\nx one\n",
		"# HELP x h\n# TYPE x counter\n\nx 1\n",
		"# HELP x h\n# TYPE x summary\n",
		"# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
		"h_sum 1\nh_count 1\n",                             /* not cumulative */
		"# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"0.5\"} 1\n"
		"h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",    /* le descending */
		"# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
		"h_sum 1\nh_count 1\n",                             /* _count != +Inf */
		"# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
		"# HELP h h\n# TYPE h histogram\nh 1\n",
		"# HELP h h\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\n",
		"# HELP x h\n# TYPE x counter\nx{a=\"1\"} 1\n# HELP x h\n# TYPE x gauge\n",
	};
	size_t i;

	ck_assert_ptr_null(parse("# HELP x h\n# TYPE x counter\nx 1\nx{a=\"\\\"\\n\\\\\"} 2\n"
	                         "# HELP h h\n# TYPE h histogram\nh_bucket{a=\"1\",le=\"1\"} 1\n"
	                         "h_bucket{a=\"1\",le=\"+Inf\"} 3\nh_sum{a=\"1\"} 1.5\n"
	                         "h_count{a=\"1\"} 3\n"));
	for (i = 0; i < NELEM(bad_texts); i++)
		ck_assert_msg(parse(bad_texts[i]) != NULL, "accepted: %s", bad_texts[i]);
}
END_TEST

/* ---- the file ----------------------------------------------------------- */

static uint32_t
get_u32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t
get_u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Reads the header into h (H_BOUNDS + the bounds bytes); returns the
 * file's size. */
static off_t
read_header(unsigned char *h, size_t n)
{
	struct stat st;
	int fd = open(shm, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(pread(fd, h, n, 0), (ssize_t)n);
	close(fd);
	return st.st_size;
}

START_TEST(test_create)
{
	unsigned char h[H_BOUNDS + sizeof(gb_metrics_buckets)];
	struct stat st;
	double b;
	off_t size;
	size_t i;

	umask(077);             /* the mode must not depend on it */
	ck_assert(!gb_metrics_on());
	open_ok(tmpdir);
	ck_assert_int_eq(lstat(shm, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	size = read_header(h, sizeof(h));
	ck_assert_int_eq(memcmp(h, "GBMETRIC", 8), 0);
	ck_assert_uint_eq(get_u32(h + H_VERSION), GB_METRICS_VERSION);
	ck_assert_uint_eq(get_u32(h + H_HEADER_SIZE) % 64, 0);
	ck_assert_uint_ge(get_u32(h + H_HEADER_SIZE), sizeof(h) + 8);
	ck_assert_uint_eq(get_u64(h + H_TOTAL_SIZE), (uint64_t)size);
	ck_assert_uint_eq(get_u32(h + H_NSLOTS), GB_METRICS_SERIES);
	ck_assert_uint_eq(get_u32(h + H_NBUCKETS), GB_METRICS_NBUCKETS);
	ck_assert_uint_eq(get_u32(h + H_SLOT_SIZE) % 64, 0);
	ck_assert_uint_ge(get_u32(h + H_SLOT_SIZE), GB_METRICS_LABELS_MAX + 16 + 8 * 14);
	ck_assert_uint_eq(get_u32(h + H_LABELS_MAX), GB_METRICS_LABELS_MAX);
	ck_assert_uint_eq((uint64_t)size, get_u32(h + H_HEADER_SIZE) +
	                  (uint64_t)GB_METRICS_SERIES * get_u32(h + H_SLOT_SIZE));
	for (i = 0; i < GB_METRICS_NBUCKETS; i++) {
		memcpy(&b, h + H_BOUNDS + i * sizeof(b), sizeof(b));
		ck_assert(b == gb_metrics_buckets[i]);
		if (i > 0)
			ck_assert(gb_metrics_buckets[i] > gb_metrics_buckets[i - 1]);
	}
	ck_assert(gb_metrics_buckets[0] == 0.005 && gb_metrics_buckets[10] == 10);
	gb_metrics_close();
	ck_assert(!gb_metrics_on());
	gb_metrics_close();     /* twice is fine */
}
END_TEST

START_TEST(test_restart)
{
	char *t;
	int i;

	open_ok(tmpdir);
	for (i = 0; i < 3; i++)
		gb_metrics_http("auth", "/v1/me", "GET", 200, 0.003);
	gb_metrics_db_error();
	gb_metrics_db_error();
	gb_metrics_close();
	gb_metrics_http("auth", "/v1/me", "GET", 200, 0.003);   /* closed: not counted */
	gb_metrics_db_error();

	open_ok(tmpdir);        /* a restarted program */
	t = expose();
	CHECK_VALUE(t, "gerbang_http_requests_total{service=\"auth\",route=\"/v1/me\","
	            "method=\"GET\",code=\"200\"}", 3);
	CHECK_VALUE(t, "gerbang_db_errors_total", 2);
	CHECK_VALUE(t, "gerbang_redis_errors_total", 0);
	free(t);
	gb_metrics_http("auth", "/v1/me", "GET", 200, 0.003);
	gb_metrics_redis_error();
	t = expose();
	CHECK_VALUE(t, "gerbang_http_requests_total{service=\"auth\",route=\"/v1/me\","
	            "method=\"GET\",code=\"200\"}", 4);
	CHECK_VALUE(t, "gerbang_http_request_duration_seconds_count{service=\"auth\","
	            "route=\"/v1/me\"}", 4);
	CHECK_VALUE(t, "gerbang_redis_errors_total", 1);
	free(t);
}
END_TEST

/* A file that is not this layout, made from a good one with counts in it;
 * opening must start it anew, never read its bytes as counters. */
enum spoil { S_VERSION, S_GARBAGE, S_SHORT, S_EMPTY, S_LONG, S_BOUNDS, S_MAGIC, S_NSLOTS };

static void
spoil_file(enum spoil how, off_t size)
{
	unsigned char h[H_BOUNDS + sizeof(gb_metrics_buckets)];
	char *junk;
	int fd = open(shm, O_RDWR | O_CLOEXEC);
	uint32_t u;
	double d = 0.001;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	switch (how) {
	case S_VERSION:
		u = GB_METRICS_VERSION + 1;
		ck_assert_int_eq(pwrite(fd, &u, sizeof(u), H_VERSION), (ssize_t)sizeof(u));
		break;
	case S_GARBAGE:
		junk = t_repeat('\xff', (size_t)size);
		ck_assert_int_eq(pwrite(fd, junk, (size_t)size, 0), (ssize_t)size);
		free(junk);
		break;
	case S_SHORT:
		ck_assert_int_eq(ftruncate(fd, get_u32(h + H_HEADER_SIZE)), 0);
		break;
	case S_EMPTY:
		ck_assert_int_eq(ftruncate(fd, 0), 0);
		break;
	case S_LONG:
		ck_assert_int_eq(ftruncate(fd, size + 4096), 0);
		break;
	case S_BOUNDS:
		ck_assert_int_eq(pwrite(fd, &d, sizeof(d), H_BOUNDS), (ssize_t)sizeof(d));
		break;
	case S_MAGIC:
		ck_assert_int_eq(pwrite(fd, "GBMETRIX", 8, 0), 8);
		break;
	case S_NSLOTS:
		u = GB_METRICS_SERIES / 2;
		ck_assert_int_eq(pwrite(fd, &u, sizeof(u), H_NSLOTS), (ssize_t)sizeof(u));
		break;
	}
	close(fd);
}

START_TEST(test_relayout)
{
	unsigned char h[H_BOUNDS + sizeof(gb_metrics_buckets)];
	off_t size;
	char *t;
	int i;

	open_ok(tmpdir);
	for (i = 0; i < 5; i++)
		gb_metrics_http("auth", "/v1/me", "GET", 200, 0.003);
	gb_metrics_db_error();
	gb_metrics_close();
	size = read_header(h, sizeof(h));

	spoil_file((enum spoil)_i, size);
	open_ok(tmpdir);
	ck_assert_int_eq(read_header(h, sizeof(h)), size);
	ck_assert_int_eq(memcmp(h, "GBMETRIC", 8), 0);
	ck_assert_uint_eq(get_u32(h + H_VERSION), GB_METRICS_VERSION);
	ck_assert_uint_eq(get_u32(h + H_NSLOTS), GB_METRICS_SERIES);
	t = expose();
	ck_assert_msg(strstr(t, "gerbang_http_requests_total{") == NULL, "%s", t);
	ck_assert_msg(strstr(t, "_bucket{") == NULL, "%s", t);
	CHECK_VALUE(t, "gerbang_db_errors_total", 0);
	CHECK_VALUE(t, "gerbang_metrics_dropped_total", 0);
	free(t);
	gb_metrics_http("auth", "/v1/me", "GET", 200, 0.003);
	t = expose();
	CHECK_VALUE(t, "gerbang_http_requests_total{service=\"auth\",route=\"/v1/me\","
	            "method=\"GET\",code=\"200\"}", 1);
	free(t);
}
END_TEST

START_TEST(test_refused)
{
	char why[512], path[200], sub[160];
	int fd;

	/* a symbolic link, to nothing or to a good segment */
	ck_assert_int_eq(symlink("/nonexistent/metrics.shm", shm), 0);
	strcpy(why, "junk");
	ck_assert_int_eq(gb_metrics_open(tmpdir, why, sizeof(why)), GB_ESYS);
	ck_assert_msg(strstr(why, shm) != NULL && strstr(why, "symbolic link") != NULL, "%s",
	              why);
	ck_assert(!gb_metrics_on());
	ck_assert_int_eq(unlink(shm), 0);
	snprintf(sub, sizeof(sub), "%s/real", tmpdir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	open_ok(sub);
	gb_metrics_close();
	snprintf(path, sizeof(path), "%s/%s", sub, GB_METRICS_FILE);
	ck_assert_int_eq(symlink(path, shm), 0);
	ck_assert_int_eq(gb_metrics_open(tmpdir, why, sizeof(why)), GB_ESYS);
	ck_assert_msg(strstr(why, shm) != NULL, "%s", why);
	ck_assert(!gb_metrics_on());
	ck_assert_int_eq(unlink(shm), 0);

	/* a directory */
	ck_assert_int_eq(mkdir(shm, 0700), 0);
	ck_assert_int_eq(gb_metrics_open(tmpdir, why, sizeof(why)), GB_ESYS);
	ck_assert_msg(strstr(why, shm) != NULL, "%s", why);
	ck_assert(!gb_metrics_on());
	ck_assert_int_eq(rmdir(shm), 0);

	/* a FIFO */
	ck_assert_int_eq(mkfifo(shm, 0600), 0);
	ck_assert_int_eq(gb_metrics_open(tmpdir, why, sizeof(why)), GB_ESYS);
	ck_assert_msg(strstr(why, shm) != NULL && strstr(why, "not a regular file") != NULL,
	              "%s", why);
	ck_assert(!gb_metrics_on());
	ck_assert_int_eq(unlink(shm), 0);

	/* no such directory, none given */
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	ck_assert_int_eq(gb_metrics_open(path, why, sizeof(why)), GB_ESYS);
	ck_assert_msg(strstr(why, path) != NULL, "%s", why);
	ck_assert_int_eq(gb_metrics_open(NULL, why, sizeof(why)), GB_ESYS);
	ck_assert_int_eq(gb_metrics_open("", NULL, 0), GB_ESYS);
	ck_assert(!gb_metrics_on());

	/* a failed open turns off what was open */
	open_ok(tmpdir);
	ck_assert_int_eq(gb_metrics_open(path, why, sizeof(why)), GB_ESYS);
	ck_assert(!gb_metrics_on());

	/* an existing file keeps its mode; one made here is 0660 */
	ck_assert_int_eq(unlink(shm), 0);
	fd = open(shm, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	open_ok(tmpdir);
}
END_TEST

/* ---- no-ops ------------------------------------------------------------- */

static void
update_all(void)
{
	gb_metrics_http("s", "/r", "GET", 200, 0.1);
	gb_metrics_upstream("p", 200, 0.1);
	gb_metrics_ratelimit("default", "allowed");
	gb_metrics_circuit("p", 2);
	gb_metrics_db_error();
	gb_metrics_redis_error();
	gb_metrics_task("cleanup", "ok");
}

START_TEST(test_noop)
{
	struct gb_buf b = GB_BUF_INIT;
	char *t;

	ck_assert(!gb_metrics_on());
	update_all();
	ck_assert_int_eq(gb_metrics_expose(&b, "1", "c"), GB_ESYS);
	ck_assert_uint_eq(b.len, 0);
	ck_assert(access(shm, F_OK) != 0);

	open_ok(tmpdir);
	t = expose();
	/* only the label-less counters, dropped and build_info have samples */
	CHECK_VALUE(t, "gerbang_db_errors_total", 0);
	CHECK_VALUE(t, "gerbang_redis_errors_total", 0);
	CHECK_VALUE(t, "gerbang_metrics_dropped_total", 0);
	CHECK_VALUE(t, "gerbang_build_info{version=\"1.2.3\",commit=\"abc\"}", 1);
	ck_assert_uint_eq(lines_starting(t, "gerbang_"), 4);
	ck_assert_uint_eq(lines_starting(t, "# HELP "), 11);
	ck_assert_uint_eq(lines_starting(t, "# TYPE "), 11);
	free(t);
	update_all();
	gb_metrics_close();
	update_all();
	ck_assert_int_eq(gb_metrics_expose(&b, "1", "c"), GB_ESYS);
	ck_assert_uint_eq(b.len, 0);
	gb_buf_free(&b);

	open_ok(tmpdir);
	t = expose();
	CHECK_VALUE(t, "gerbang_db_errors_total", 1);
	CHECK_VALUE(t, "gerbang_tasks_total{kind=\"cleanup\",status=\"ok\"}", 1);
	CHECK_VALUE(t, "gerbang_circuit_state{plugin=\"p\"}", 2);
	CHECK_VALUE(t, "gerbang_upstream_requests_total{plugin=\"p\",code=\"200\"}", 1);
	CHECK_VALUE(t, "gerbang_ratelimit_decisions_total{class=\"default\",decision=\"allowed\"}",
	            1);
	free(t);
}
END_TEST

/* The families in their fixed order, each once, with its type. */
START_TEST(test_families)
{
	static const char *const want[] = {
		"# TYPE gerbang_http_requests_total counter\n",
		"# TYPE gerbang_http_request_duration_seconds histogram\n",
		"# TYPE gerbang_upstream_requests_total counter\n",
		"# TYPE gerbang_upstream_duration_seconds histogram\n",
		"# TYPE gerbang_ratelimit_decisions_total counter\n",
		"# TYPE gerbang_circuit_state gauge\n",
		"# TYPE gerbang_db_errors_total counter\n",
		"# TYPE gerbang_redis_errors_total counter\n",
		"# TYPE gerbang_tasks_total counter\n",
		"# TYPE gerbang_metrics_dropped_total counter\n",
		"# TYPE gerbang_build_info gauge\n",
	};
	const char *at, *prev = NULL;
	char *t;
	size_t i;

	open_ok(tmpdir);
	update_all();
	gb_metrics_circuit("a", 0);
	gb_metrics_circuit("p", 1);         /* a gauge is set, not added */
	gb_metrics_circuit("neg", -1);
	gb_metrics_task("b", "failed");
	gb_metrics_task("a", "ok");
	gb_metrics_task("a", "failed");
	t = expose();
	for (i = 0; i < NELEM(want); i++) {
		ck_assert_msg((at = strstr(t, want[i])) != NULL, "%s", want[i]);
		ck_assert_msg(prev == NULL || at > prev, "%s out of order", want[i]);
		prev = at;
	}
	CHECK_VALUE(t, "gerbang_circuit_state{plugin=\"p\"}", 1);
	CHECK_VALUE(t, "gerbang_circuit_state{plugin=\"neg\"}", -1);
	/* sorted by label text */
	ck_assert_ptr_nonnull(strstr(t, "gerbang_circuit_state{plugin=\"a\"} 0\n"
	                             "gerbang_circuit_state{plugin=\"neg\"} -1\n"
	                             "gerbang_circuit_state{plugin=\"p\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "gerbang_tasks_total{kind=\"a\",status=\"failed\"} 1\n"
	                             "gerbang_tasks_total{kind=\"a\",status=\"ok\"} 1\n"
	                             "gerbang_tasks_total{kind=\"b\",status=\"failed\"} 1\n"
	                             "gerbang_tasks_total{kind=\"cleanup\",status=\"ok\"} 1\n"));
	free(t);
}
END_TEST

/* ---- buckets ------------------------------------------------------------ */

static const char *const le_text[GB_METRICS_NBUCKETS] = {
	"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"
};

/* The cumulative bucket counts of plugin's upstream histogram, +Inf at
 * [GB_METRICS_NBUCKETS]; checks _count == +Inf. */
static void
buckets_of(const char *t, const char *plugin, double *cum)
{
	char series[160];
	size_t i;

	for (i = 0; i <= GB_METRICS_NBUCKETS; i++) {
		snprintf(series, sizeof(series),
		         "gerbang_upstream_duration_seconds_bucket{plugin=\"%s\",le=\"%s\"}",
		         plugin, i < GB_METRICS_NBUCKETS ? le_text[i] : "+Inf");
		cum[i] = value(t, series);
		ck_assert_msg(cum[i] >= 0, "no %s", series);
		ck_assert(i == 0 || cum[i] >= cum[i - 1]);
	}
	snprintf(series, sizeof(series), "gerbang_upstream_duration_seconds_count{plugin=\"%s\"}",
	         plugin);
	CHECK_VALUE(t, series, cum[GB_METRICS_NBUCKETS]);
}

START_TEST(test_buckets)
{
	/* value, the bucket it goes in (GB_METRICS_NBUCKETS: only +Inf) */
	static const struct {
		double s;
		size_t b;
	} cases[] = {
		{ 0, 0 }, { -1, 0 }, { -0.0, 0 }, { 0.001, 0 }, { 0.005, 0 }, { 0.0050001, 1 },
		{ 0.01, 1 }, { 0.025, 2 }, { 0.0251, 3 }, { 0.05, 3 }, { 0.1, 4 }, { 0.25, 5 },
		{ 0.5, 6 }, { 0.75, 7 }, { 1, 7 }, { 2.5, 8 }, { 5, 9 }, { 10, 10 },
		{ 10.000001, GB_METRICS_NBUCKETS }, { 3600, GB_METRICS_NBUCKETS },
	};
	double cum[GB_METRICS_NBUCKETS + 1], want = 0;
	unsigned long long sum_us = 0;
	char series[160], *t, *end;
	size_t i, b;

	open_ok(tmpdir);
	for (i = 0; i < NELEM(cases); i++) {
		snprintf(series, sizeof(series), "c%zu", i);
		gb_metrics_upstream(series, 200, cases[i].s);
		gb_metrics_upstream("all", 200, cases[i].s);
		sum_us += cases[i].s > 0 ? (unsigned long long)llround(cases[i].s * 1e6) : 0;
	}
	gb_metrics_upstream("nan", 0, NAN);
	gb_metrics_upstream("inf", 0, INFINITY);
	gb_metrics_upstream("inf", 0, 1e300);
	gb_metrics_upstream("inf", 0, -INFINITY);
	t = expose();
	for (i = 0; i < NELEM(cases); i++) {
		snprintf(series, sizeof(series), "c%zu", i);
		buckets_of(t, series, cum);
		for (b = 0; b <= GB_METRICS_NBUCKETS; b++)
			ck_assert_msg(cum[b] == (b >= cases[i].b), "%g: le %zu is %g", cases[i].s,
			              b, cum[b]);
	}
	buckets_of(t, "all", cum);
	ck_assert(cum[GB_METRICS_NBUCKETS] == NELEM(cases));
	for (b = 0; b < GB_METRICS_NBUCKETS; b++) {
		for (want = 0, i = 0; i < NELEM(cases); i++)
			want += cases[i].b <= b;
		ck_assert_msg(cum[b] == want, "le %s: %g, want %g", le_text[b], cum[b], want);
	}
	/* _sum in seconds, exact to the microsecond */
	snprintf(series, sizeof(series), "gerbang_upstream_duration_seconds_sum{plugin=\"all\"} "
	         "%llu.%06llu\n", sum_us / 1000000, sum_us % 1000000);
	ck_assert_msg(strstr(t, series) != NULL, "%s", series);
	ck_assert_ptr_nonnull(strstr(t, "gerbang_upstream_duration_seconds_sum{plugin=\"c0\"} "
	                             "0.000000\n"));
	buckets_of(t, "nan", cum);
	ck_assert(cum[0] == 1 && cum[GB_METRICS_NBUCKETS] == 1);
	buckets_of(t, "inf", cum);
	ck_assert(cum[0] == 1 && cum[GB_METRICS_NBUCKETS - 1] == 1 &&
	          cum[GB_METRICS_NBUCKETS] == 3);
	end = strstr(t, "gerbang_upstream_duration_seconds_sum{plugin=\"inf\"} ");
	ck_assert_ptr_nonnull(end);
	ck_assert(strtod(end + strlen("gerbang_upstream_duration_seconds_sum{plugin=\"inf\"} "),
	                 NULL) >= 1e6);
	CHECK_VALUE(t, "gerbang_upstream_requests_total{plugin=\"inf\",code=\"0\"}", 3);
	free(t);
}
END_TEST

/* ---- labels ------------------------------------------------------------- */

START_TEST(test_fold)
{
	static const struct {
		const char *method;
		int code;
		const char *labels;
	} cases[] = {
		{ "GET", 200, "method=\"GET\",code=\"200\"" },
		{ "HEAD", 204, "method=\"HEAD\",code=\"204\"" },
		{ "POST", 201, "method=\"POST\",code=\"201\"" },
		{ "PUT", 100, "method=\"PUT\",code=\"100\"" },
		{ "PATCH", 599, "method=\"PATCH\",code=\"599\"" },
		{ "DELETE", 404, "method=\"DELETE\",code=\"404\"" },
		{ "OPTIONS", 503, "method=\"OPTIONS\",code=\"503\"" },
		{ "get", 99, "method=\"OTHER\",code=\"0\"" },
		{ "TRACE", 600, "method=\"OTHER\",code=\"0\"" },
		{ "GETX", -200, "method=\"OTHER\",code=\"0\"" },
		{ "", 0, "method=\"OTHER\",code=\"0\"" },
		{ NULL, 1000, "method=\"OTHER\",code=\"0\"" },
		{ "CONNECT", 200, "method=\"OTHER\",code=\"200\"" },
	};
	char series[200], *t;
	size_t i;

	open_ok(tmpdir);
	for (i = 0; i < NELEM(cases); i++)
		gb_metrics_http("s", "/r", cases[i].method, cases[i].code, 0.001);
	gb_metrics_upstream("p", 0, 0.1);
	gb_metrics_upstream("p", 700, 0.1);
	gb_metrics_upstream("p", 302, 0.1);
	gb_metrics_http(NULL, NULL, "GET", 200, 0.001);
	t = expose();
	CHECK_VALUE(t, "gerbang_http_requests_total{service=\"s\",route=\"/r\","
	            "method=\"OTHER\",code=\"0\"}", 5);
	for (i = 0; i < NELEM(cases); i++) {
		snprintf(series, sizeof(series), "gerbang_http_requests_total{service=\"s\","
		         "route=\"/r\",%s}", cases[i].labels);
		ck_assert_msg(value(t, series) >= 1, "no %s", series);
	}
	CHECK_VALUE(t, "gerbang_http_request_duration_seconds_count{service=\"s\",route=\"/r\"}",
	            NELEM(cases));
	CHECK_VALUE(t, "gerbang_upstream_requests_total{plugin=\"p\",code=\"0\"}", 2);
	CHECK_VALUE(t, "gerbang_upstream_requests_total{plugin=\"p\",code=\"302\"}", 1);
	CHECK_VALUE(t, "gerbang_upstream_duration_seconds_count{plugin=\"p\"}", 3);
	CHECK_VALUE(t, "gerbang_http_requests_total{service=\"\",route=\"\",method=\"GET\","
	            "code=\"200\"}", 1);
	free(t);
}
END_TEST

START_TEST(test_escape)
{
	struct gb_buf b = GB_BUF_INIT;
	char *t;

	open_ok(tmpdir);
	gb_metrics_http("a\\b", "/x\"y\nz", "GET", 200, 0.001);
	gb_metrics_task("tab\there", "caf\xc3\xa9 \xff\x01");
	gb_metrics_circuit("\"\\\n", 2);
	t = expose();
	CHECK_VALUE(t, "gerbang_http_requests_total{service=\"a\\\\b\",route=\"/x\\\"y\\nz\","
	            "method=\"GET\",code=\"200\"}", 1);
	CHECK_VALUE(t, "gerbang_http_request_duration_seconds_bucket{service=\"a\\\\b\","
	            "route=\"/x\\\"y\\nz\",le=\"0.005\"}", 1);
	/* control characters and bytes that are not UTF-8: '?'; UTF-8 kept */
	CHECK_VALUE(t, "gerbang_tasks_total{kind=\"tab?here\",status=\"caf\xc3\xa9 ??\"}", 1);
	CHECK_VALUE(t, "gerbang_circuit_state{plugin=\"\\\"\\\\\\n\"}", 2);
	free(t);

	ck_assert_int_eq(gb_metrics_expose(&b, "1.0\"beta\n", "a\\b"), GB_OK);
	ck_assert_msg(parse(b.data) == NULL, "%s", perr);
	CHECK_VALUE(b.data, "gerbang_build_info{version=\"1.0\\\"beta\\n\",commit=\"a\\\\b\"}", 1);
	gb_buf_reset(&b);
	ck_assert_int_eq(gb_metrics_expose(&b, NULL, ""), GB_OK);
	CHECK_VALUE(b.data, "gerbang_build_info{version=\"unknown\",commit=\"unknown\"}", 1);
	gb_buf_free(&b);
}
END_TEST

/* The cache must not take the text behind a pointer for granted: one
 * buffer holding route after route is route after route. */
START_TEST(test_reused_pointer)
{
	char route[32], service[16], kind[16], *t;
	int i;

	open_ok(tmpdir);
	strcpy(service, "svc");
	for (i = 0; i < 30; i++) {
		snprintf(route, sizeof(route), "/r/%d", i % 3);
		gb_metrics_http(service, route, "GET", 200, 0.001);
		snprintf(kind, sizeof(kind), "k%d", i % 2);
		gb_metrics_task(kind, "ok");
		gb_metrics_circuit(kind, i % 2);
	}
	strcpy(service, "other");
	gb_metrics_http(service, route, "GET", 200, 0.001);
	/* longer, shorter: the old text a prefix of the new, and back */
	strcpy(kind, "pre");
	gb_metrics_task(kind, "ok");
	strcpy(kind, "prefix");
	gb_metrics_task(kind, "ok");
	strcpy(kind, "pre");
	gb_metrics_task(kind, "ok");
	strcpy(kind, "pr");
	gb_metrics_task(kind, "ok");
	/* the same text elsewhere: the same series */
	gb_metrics_http("svc", "/r/0", "GET", 200, 0.001);
	t = expose();
	CHECK_VALUE(t, "gerbang_http_requests_total{service=\"svc\",route=\"/r/0\","
	            "method=\"GET\",code=\"200\"}", 11);
	CHECK_VALUE(t, "gerbang_http_requests_total{service=\"svc\",route=\"/r/1\","
	            "method=\"GET\",code=\"200\"}", 10);
	CHECK_VALUE(t, "gerbang_http_requests_total{service=\"svc\",route=\"/r/2\","
	            "method=\"GET\",code=\"200\"}", 10);
	CHECK_VALUE(t, "gerbang_http_requests_total{service=\"other\",route=\"/r/2\","
	            "method=\"GET\",code=\"200\"}", 1);
	CHECK_VALUE(t, "gerbang_http_request_duration_seconds_count{service=\"svc\","
	            "route=\"/r/0\"}", 11);
	CHECK_VALUE(t, "gerbang_http_request_duration_seconds_count{service=\"other\","
	            "route=\"/r/2\"}", 1);
	CHECK_VALUE(t, "gerbang_tasks_total{kind=\"pre\",status=\"ok\"}", 2);
	CHECK_VALUE(t, "gerbang_tasks_total{kind=\"prefix\",status=\"ok\"}", 1);
	CHECK_VALUE(t, "gerbang_tasks_total{kind=\"pr\",status=\"ok\"}", 1);
	CHECK_VALUE(t, "gerbang_tasks_total{kind=\"k0\",status=\"ok\"}", 15);
	CHECK_VALUE(t, "gerbang_tasks_total{kind=\"k1\",status=\"ok\"}", 15);
	CHECK_VALUE(t, "gerbang_circuit_state{plugin=\"k0\"}", 0);
	CHECK_VALUE(t, "gerbang_circuit_state{plugin=\"k1\"}", 1);
	free(t);
}
END_TEST

/* A close and an open elsewhere: no thread's cache may keep the old
 * mapping's slots. */
START_TEST(test_reopen_elsewhere)
{
	char other[160], *t;
	int i;

	snprintf(other, sizeof(other), "%s/other", tmpdir);
	ck_assert_int_eq(mkdir(other, 0700), 0);
	open_ok(tmpdir);
	for (i = 0; i < 3; i++) {
		gb_metrics_http("s", "/r", "GET", 200, 0.001);
		gb_metrics_db_error();
	}
	gb_metrics_close();
	open_ok(other);
	gb_metrics_http("s", "/r", "GET", 200, 0.001);
	gb_metrics_db_error();
	t = expose();
	CHECK_VALUE(t, "gerbang_http_requests_total{service=\"s\",route=\"/r\","
	            "method=\"GET\",code=\"200\"}", 1);
	CHECK_VALUE(t, "gerbang_db_errors_total", 1);
	free(t);
	open_ok(tmpdir);        /* open again without a close */
	gb_metrics_db_error();
	t = expose();
	CHECK_VALUE(t, "gerbang_http_requests_total{service=\"s\",route=\"/r\","
	            "method=\"GET\",code=\"200\"}", 3);
	CHECK_VALUE(t, "gerbang_db_errors_total", 4);
	free(t);
}
END_TEST

/* ---- a full table ------------------------------------------------------- */

START_TEST(test_full)
{
	char kind[32], *t, *long_name, *seen;
	const char *line;
	size_t extra = 100, fit, i, n;
	unsigned long v;

	open_ok(tmpdir);
	gb_metrics_http("s", "/r", "GET", 200, 0.001);       /* 2 series */
	gb_metrics_db_error();                               /* 1 */
	fit = GB_METRICS_SERIES - 3;
	for (i = 0; i < fit + extra; i++) {
		snprintf(kind, sizeof(kind), "kind-%zu", i);
		gb_metrics_task(kind, "ok");
	}
	t = expose();
	n = lines_starting(t, "gerbang_tasks_total{");
	ck_assert_uint_eq(n, fit);
	CHECK_VALUE(t, "gerbang_metrics_dropped_total", extra);
	free(t);

	/* old series go on counting; new ones are dropped, and counted */
	gb_metrics_http("s", "/r", "GET", 200, 0.001);
	gb_metrics_db_error();
	gb_metrics_task("kind-0", "ok");
	gb_metrics_http("s", "/new", "GET", 200, 0.001);    /* 2 dropped */
	gb_metrics_redis_error();                            /* 1 dropped */
	gb_metrics_redis_error();                            /* 1 more: each update */
	/* too long for GB_METRICS_LABELS_MAX: dropped, whatever the room */
	long_name = t_repeat('x', GB_METRICS_LABELS_MAX);
	gb_metrics_circuit(long_name, 1);
	free(long_name);
	t = expose();
	CHECK_VALUE(t, "gerbang_http_requests_total{service=\"s\",route=\"/r\","
	            "method=\"GET\",code=\"200\"}", 2);
	CHECK_VALUE(t, "gerbang_http_request_duration_seconds_count{service=\"s\","
	            "route=\"/r\"}", 2);
	CHECK_VALUE(t, "gerbang_db_errors_total", 2);
	CHECK_VALUE(t, "gerbang_redis_errors_total", 0);
	CHECK_VALUE(t, "gerbang_tasks_total{kind=\"kind-0\",status=\"ok\"}", 2);
	CHECK_VALUE(t, "gerbang_metrics_dropped_total", extra + 5);
	ck_assert(strstr(t, "route=\"/new\"") == NULL);
	ck_assert(strstr(t, "gerbang_circuit_state{") == NULL);
	/* every stored series intact: one pass over the text (a search per
	 * series is quadratic, too slow under the sanitizers) */
	seen = calloc(fit, 1);
	ck_assert_ptr_nonnull(seen);
	for (line = strstr(t, "\ngerbang_tasks_total{kind=\"kind-"); line != NULL;
	     line = strstr(line + 1, "\ngerbang_tasks_total{kind=\"kind-")) {
		ck_assert_int_eq(sscanf(line, "\ngerbang_tasks_total{kind=\"kind-%zu\",status=\"ok\"} %lu",
		                        &i, &v), 2);
		ck_assert_uint_lt(i, fit);
		ck_assert_int_eq(seen[i], 0);
		seen[i] = 1;
		ck_assert_uint_eq(v, i == 0 ? 2 : 1);
	}
	for (i = 0; i < fit; i++)
		ck_assert_msg(seen[i], "kind-%zu missing", i);
	free(seen);
	free(t);
}
END_TEST

START_TEST(test_too_long)
{
	char *name, *t;

	open_ok(tmpdir);
	/* plugin="...": 9 bytes around the name, and the NUL: the longest */
	name = t_repeat('p', GB_METRICS_LABELS_MAX - 10);
	gb_metrics_circuit(name, 1);
	name[0] = '"';                  /* escaped: one byte more */
	gb_metrics_circuit(name, 1);
	free(name);
	name = t_repeat('q', GB_METRICS_LABELS_MAX - 9);
	gb_metrics_circuit(name, 1);
	t = expose();
	ck_assert_uint_eq(lines_starting(t, "gerbang_circuit_state{plugin=\"ppp"), 1);
	ck_assert_uint_eq(lines_starting(t, "gerbang_circuit_state{"), 1);
	CHECK_VALUE(t, "gerbang_metrics_dropped_total", 2);
	free(t);
	free(name);
}
END_TEST

/* Slots written by something else (another build of this version, a
 * claim given up on): one series in two slots is one line, values summed;
 * a slot of no known family or with labels not ended is left out.  The
 * slot layout: state, family, hash, labels, then the values from the next
 * 64-byte boundary. */
static void
put_slot(int fd, uint32_t slot_size, uint32_t header_size, unsigned at, uint32_t fam,
         const char *labels, size_t llen, uint64_t value)
{
	off_t base = (off_t)header_size + (off_t)at * slot_size;
	uint32_t state = 2;
	size_t voff = (16 + GB_METRICS_LABELS_MAX + 63) / 64 * 64;

	ck_assert_int_eq(pwrite(fd, &fam, 4, base + 4), 4);
	ck_assert_int_eq(pwrite(fd, labels, llen, base + 16), (ssize_t)llen);
	ck_assert_int_eq(pwrite(fd, &value, 8, base + (off_t)voff), 8);
	ck_assert_int_eq(pwrite(fd, &state, 4, base), 4);
}

START_TEST(test_foreign_slots)
{
	static const char dup[] = "kind=\"dup\",status=\"ok\"";
	unsigned char h[H_BOUNDS + sizeof(gb_metrics_buckets)];
	char *junk, *t;
	int fd;

	open_ok(tmpdir);
	gb_metrics_close();
	read_header(h, sizeof(h));
	fd = open(shm, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	/* 9: gerbang_tasks_total, the ninth family */
	put_slot(fd, get_u32(h + H_SLOT_SIZE), get_u32(h + H_HEADER_SIZE), 10, 9, dup,
	         sizeof(dup), 3);
	put_slot(fd, get_u32(h + H_SLOT_SIZE), get_u32(h + H_HEADER_SIZE), 20, 9, dup,
	         sizeof(dup), 4);
	put_slot(fd, get_u32(h + H_SLOT_SIZE), get_u32(h + H_HEADER_SIZE), 30, 99, dup,
	         sizeof(dup), 5);
	junk = t_repeat('a', GB_METRICS_LABELS_MAX);
	put_slot(fd, get_u32(h + H_SLOT_SIZE), get_u32(h + H_HEADER_SIZE), 40, 9, junk,
	         GB_METRICS_LABELS_MAX, 6);
	free(junk);
	close(fd);

	open_ok(tmpdir);
	t = expose();
	CHECK_VALUE(t, "gerbang_tasks_total{kind=\"dup\",status=\"ok\"}", 7);
	ck_assert_uint_eq(lines_starting(t, "gerbang_tasks_total{"), 1);
	free(t);
	gb_metrics_task("dup", "ok");       /* a third slot (the hash differs): still one */
	t = expose();
	CHECK_VALUE(t, "gerbang_tasks_total{kind=\"dup\",status=\"ok\"}", 8);
	ck_assert_uint_eq(lines_starting(t, "gerbang_tasks_total{"), 1);
	free(t);
}
END_TEST

/* ---- processes and threads ---------------------------------------------- */

#define PROCS 4
#define THREADS 4
#define ITERS 3000
#define ROUTES 12

static double
duration(int i)
{
	return (double)(i % 9) * 0.0125;
}

/* Every route sees both methods and both codes. */
static bool
is_post(int i)
{
	return i / ROUTES % 3 == 0;
}

static int
code_of(int i)
{
	return i / ROUTES / 3 % 2 ? 404 : 200;
}

static void *
worker(void *arg)
{
	char route[32];
	int i;

	(void)arg;
	for (i = 0; i < ITERS; i++) {
		/* one buffer for every route: no pointer identity */
		snprintf(route, sizeof(route), "/r/%d", i % ROUTES);
		gb_metrics_http("svc", route, is_post(i) ? "POST" : "GET", code_of(i), duration(i));
		if (i % 10 == 0)
			gb_metrics_db_error();
		gb_metrics_ratelimit("default", i % 4 == 0 ? "limited" : "allowed");
	}
	return NULL;
}

/* Opens on its own (all children at once: one lays the file out), then
 * runs THREADS workers; the exit status says what failed. */
static void
child(int gate)
{
	pthread_t tid[THREADS];
	char c;
	int i;

	if (read(gate, &c, 1) != 0)
		_exit(3);
	if (gb_metrics_open(tmpdir, NULL, 0) != GB_OK)
		_exit(2);
	for (i = 0; i < THREADS; i++)
		if (pthread_create(&tid[i], NULL, worker, NULL) != 0)
			_exit(4);
	for (i = 0; i < THREADS; i++)
		pthread_join(tid[i], NULL);
	gb_metrics_close();
	_exit(0);
}

START_TEST(test_concurrent)
{
	unsigned long long want[ROUTES][2][2], count[ROUTES], bucket[ROUTES][GB_METRICS_NBUCKETS];
	unsigned long long sum_us[ROUTES], dberr = 0, limited = 0;
	char series[200], *t;
	pid_t pid[PROCS];
	int gate[2], i, r, m, c, st;
	size_t b;

	memset(want, 0, sizeof(want));
	memset(count, 0, sizeof(count));
	memset(bucket, 0, sizeof(bucket));
	memset(sum_us, 0, sizeof(sum_us));
	for (i = 0; i < ITERS; i++) {
		double s = duration(i);

		r = i % ROUTES;
		want[r][is_post(i)][code_of(i) == 404]++;
		count[r]++;
		for (b = 0; b < GB_METRICS_NBUCKETS && !(s <= gb_metrics_buckets[b]); b++)
			;
		if (b < GB_METRICS_NBUCKETS)
			bucket[r][b]++;
		sum_us[r] += (unsigned long long)llround(s * 1e6);
		dberr += i % 10 == 0;
		limited += i % 4 == 0;
	}

	ck_assert_int_eq(pipe(gate), 0);
	for (i = 0; i < PROCS; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] == 0) {
			close(gate[1]);
			child(gate[0]);
		}
	}
	close(gate[0]);
	close(gate[1]);         /* go */
	for (i = 0; i < PROCS; i++) {
		ck_assert_int_eq(waitpid(pid[i], &st, 0), pid[i]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: status %d", i, st);
	}

	open_ok(tmpdir);
	t = expose();
	for (r = 0; r < ROUTES; r++) {
		unsigned long long cum = 0;

		for (m = 0; m < 2; m++)
			for (c = 0; c < 2; c++) {
				snprintf(series, sizeof(series), "gerbang_http_requests_total{"
				         "service=\"svc\",route=\"/r/%d\",method=\"%s\","
				         "code=\"%s\"}", r, m ? "POST" : "GET", c ? "404" : "200");
				ck_assert_uint_ne(want[r][m][c], 0);
				CHECK_VALUE(t, series, want[r][m][c] * PROCS * THREADS);
			}
		for (b = 0; b < GB_METRICS_NBUCKETS; b++) {
			cum += bucket[r][b];
			snprintf(series, sizeof(series),
			         "gerbang_http_request_duration_seconds_bucket{"
			         "service=\"svc\",route=\"/r/%d\",le=\"%s\"}", r, le_text[b]);
			CHECK_VALUE(t, series, cum * PROCS * THREADS);
		}
		snprintf(series, sizeof(series), "gerbang_http_request_duration_seconds_count{"
		         "service=\"svc\",route=\"/r/%d\"}", r);
		CHECK_VALUE(t, series, count[r] * PROCS * THREADS);
		snprintf(series, sizeof(series), "gerbang_http_request_duration_seconds_sum{"
		         "service=\"svc\",route=\"/r/%d\"} %llu.%06llu\n", r,
		         sum_us[r] * PROCS * THREADS / 1000000,
		         sum_us[r] * PROCS * THREADS % 1000000);
		ck_assert_msg(strstr(t, series) != NULL, "%s", series);
	}
	CHECK_VALUE(t, "gerbang_db_errors_total", dberr * PROCS * THREADS);
	CHECK_VALUE(t, "gerbang_ratelimit_decisions_total{class=\"default\",decision=\"limited\"}",
	            limited * PROCS * THREADS);
	CHECK_VALUE(t, "gerbang_ratelimit_decisions_total{class=\"default\",decision=\"allowed\"}",
	            (ITERS - limited) * PROCS * THREADS);
	CHECK_VALUE(t, "gerbang_metrics_dropped_total", 0);
	ck_assert_uint_eq(lines_starting(t, "gerbang_http_requests_total{"), ROUTES * 4);
	free(t);
}
END_TEST

/* An exposition while writers run: every one parses (+Inf == _count,
 * buckets cumulative), and counts only grow. */
static atomic_int stop_writers;

static void *
writer(void *arg)
{
	int i = 0;

	(void)arg;
	while (!stop_writers) {
		gb_metrics_http("svc", "/w", "GET", 200, duration(i++));
		gb_metrics_upstream("p", 200, duration(i));
	}
	return NULL;
}

START_TEST(test_expose_racing)
{
	pthread_t tid[2];
	double last = 0, now;
	char *t;
	int i;

	open_ok(tmpdir);
	gb_metrics_http("svc", "/w", "GET", 200, 0);
	stop_writers = 0;
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&tid[i], NULL, writer, NULL), 0);
	for (i = 0; i < 50; i++) {
		t = expose();
		now = value(t, "gerbang_http_request_duration_seconds_count{service=\"svc\","
		            "route=\"/w\"}");
		ck_assert(now >= last);
		last = now;
		free(t);
	}
	stop_writers = 1;
	for (i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("gb_metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, test_parser);
	tcase_add_test(tc, test_create);
	tcase_add_test(tc, test_restart);
	tcase_add_loop_test(tc, test_relayout, S_VERSION, S_NSLOTS + 1);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_noop);
	tcase_add_test(tc, test_families);
	tcase_add_test(tc, test_buckets);
	tcase_add_test(tc, test_fold);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_reused_pointer);
	tcase_add_test(tc, test_reopen_elsewhere);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_foreign_slots);
	tcase_add_test(tc, test_concurrent);
	tcase_add_test(tc, test_expose_racing);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	snprintf(basedir, sizeof(basedir), "%s", "/tmp/gb-metrics-test.XXXXXX");
	if (mkdtemp(basedir) == NULL) {
		perror("test_gb_metrics: mkdtemp");
		return EXIT_FAILURE;
	}
	sr = srunner_create(metrics_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_dir(basedir);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
