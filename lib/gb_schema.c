#include "config.h"
#include "gb_schema.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gb_auth.h"
#include "gb_db.h"
#include "gb_dir.h"

struct gb_schema {
	struct gb_arena *a;           /* every string and array of the resources */
	struct gb_resource *v;        /* GB_SCHEMA_MAX slots */
	size_t n;
	regex_t **regs;               /* compiled patterns, regfree()d by free */
	size_t nregs, capregs;
};

struct key;

/* The parser's state for one declaration. */
struct ctx {
	struct gb_schema *s;
	struct gb_resource *r;
	struct gb_column *col;        /* the column being parsed */
	struct gb_schema_error *err;
	char prefix[96];              /* "" or "columns.title." */
	json_t *filter, *sort;        /* kept for after the columns */
};

typedef enum gb_err (*key_fn)(struct ctx *c, const struct key *k, json_t *v);

struct key {
	const char *name;
	key_fn parse;
	bool required;
};

#define SHOW_MAX 40
#define ARENA_BLOCK 4096
#define NELEM(t) (sizeof(t) / sizeof((t)[0]))
#define NUMERIC_TEXT_MAX 100          /* digits, sign and point of a numeric value */
#define JSON_DEPTH_MAX 64
#define PATTERN_DUP_MAX 255           /* largest count in a pattern's {n,m} */
#define PATTERN_WEIGHT_MAX 10000      /* atoms once regcomp() has copied repetitions */
#define PATTERN_DEPTH_MAX 32          /* nested groups */

/* The gateway's columns, in the order a row shows them (id first, the
 * rest after the declared ones). */
enum { SYS_ID, SYS_VERSION, SYS_CREATED, SYS_UPDATED, SYS_N };
static const struct {
	const char *name;
	enum gb_coltype type;
	const char *cast;
} sys_cols[SYS_N] = {
	[SYS_ID] = { "id", GB_COL_UUID, "uuid" },
	[SYS_VERSION] = { "version", GB_COL_INTEGER, "bigint" },
	[SYS_CREATED] = { "created_at", GB_COL_TIMESTAMP, "timestamptz" },
	[SYS_UPDATED] = { "updated_at", GB_COL_TIMESTAMP, "timestamptz" },
};

/* Names a declared column may not have: the gateway's, and the list
 * query's own parameters. */
static const char *const reserved_columns[] = {
	"id", "company_id", "version", "created_at", "updated_at", "limit", "cursor", "sort",
};

/* Tables of the gateway (schema gerbang, gerbang_migrations): refused even
 * though a declared table is always looked up in gerbang_data. */
static const char *const gateway_tables[] = {
	"users", "companies", "refresh_tokens", "tasks", "task_counts", "applied",
};

static const struct {
	const char *name;
	const char *cast;
} types[] = {
	[GB_COL_TEXT] = { "text", "text" },
	[GB_COL_INTEGER] = { "integer", "bigint" },
	[GB_COL_NUMERIC] = { "numeric", "numeric" },
	[GB_COL_BOOLEAN] = { "boolean", "boolean" },
	[GB_COL_DATE] = { "date", "date" },
	[GB_COL_TIMESTAMP] = { "timestamp", "timestamptz" },
	[GB_COL_UUID] = { "uuid", "uuid" },
	[GB_COL_JSON] = { "json", "jsonb" },
};

const char *
gb_coltype_name(enum gb_coltype t)
{
	return (unsigned)t < NELEM(types) ? types[t].name : "?";
}

/* ---- messages ----------------------------------------------------------- */

static void
show(char *dst, size_t dstlen, const char *s, size_t max)
{
	gb_show(dst, dstlen, s, strlen(s), max);
}

static void
fill_err(struct gb_schema_error *err, const char *key, const char *fmt, va_list ap)
{
	char tmp[512];

	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	show(err->key, sizeof(err->key), key, sizeof(err->key) - 4);
	show(err->msg, sizeof(err->msg), tmp, sizeof(err->msg) - 4);
}

static enum gb_err set_err(struct ctx *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Names key under the current prefix; returns GB_ECONFIG for the caller. */
static enum gb_err
set_err(struct ctx *c, const char *key, const char *fmt, ...)
{
	char full[192];
	va_list ap;

	snprintf(full, sizeof(full), "%s%s", c->prefix, key);
	va_start(ap, fmt);
	fill_err(c->err, full, fmt, ap);
	va_end(ap);
	return GB_ECONFIG;
}

static void file_err(struct gb_schema_error *err, const char *file, const char *key,
                     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
file_err(struct gb_schema_error *err, const char *file, const char *key, const char *fmt, ...)
{
	va_list ap;

	show(err->file, sizeof(err->file), file, sizeof(err->file) - 4);
	va_start(ap, fmt);
	fill_err(err, key, fmt, ap);
	va_end(ap);
}

/* ---- names -------------------------------------------------------------- */

/* [a-z][a-z0-9_]{0,62}, and '-' too when dash. */
static bool
valid_name(const char *s, bool dash)
{
	size_t i;

	if (!(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      (dash && s[i] == '-')))
			return false;
	return i <= GB_SCHEMA_NAME_MAX;
}

static bool
in_list(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* "name" for a valid name: such a name needs no escaping, but a quote
 * would be doubled all the same. */
static char *
quote_ident(struct gb_arena *a, const char *name)
{
	size_t n = strlen(name), i, o = 0;
	char *q = gb_arena_alloc(a, 2 * n + 3);

	if (q == NULL)
		return NULL;
	q[o++] = '"';
	for (i = 0; i < n; i++) {
		if (name[i] == '"')
			q[o++] = '"';
		q[o++] = name[i];
	}
	q[o++] = '"';
	q[o] = '\0';
	return q;
}

/* ---- value syntax --------------------------------------------------------- */

static bool
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* n digits at s as a number, or -1. */
static long
digits(const char *s, int n)
{
	long v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static long long
days_from_civil(long y, long m, long d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (long long)era * 146097 + doe - 719468;
}

static int
days_in_month(long y, long m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

/* YYYY-MM-DD, year 0001..9999, a real day of a real month. */
static bool
parse_date_n(const char *s, size_t n, long long *days)
{
	long y, m, d;

	if (n != 10 || s[4] != '-' || s[7] != '-')
		return false;
	y = digits(s, 4);
	m = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return false;
	*days = days_from_civil(y, m, d);
	return true;
}

/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|+HH:MM|-HH:MM), 'T' and 'Z' in
 * either case, offsets up to 15:59 (as PostgreSQL takes them). */
static bool
parse_timestamp(const char *s, long long *us)
{
	size_t n = strlen(s), i = 19;
	long long days, frac = 0;
	long h, mi, sec, oh, om;
	int fd = 0, sign;

	if (n < 20 || !parse_date_n(s, 10, &days) || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return false;
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
		return false;
	if (s[i] == '.') {
		for (i++; is_digit(s[i]) && fd < 6; i++, fd++)
			frac = frac * 10 + (s[i] - '0');
		if (fd == 0 || is_digit(s[i]))
			return false;
		for (; fd < 6; fd++)
			frac *= 10;
	}
	if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0') {
		oh = om = 0;
		sign = 1;
	} else if ((s[i] == '+' || s[i] == '-') && strlen(s + i) == 6 && s[i + 3] == ':') {
		sign = s[i] == '-' ? -1 : 1;
		oh = digits(s + i + 1, 2);
		om = digits(s + i + 4, 2);
		if (oh < 0 || oh > 15 || om < 0 || om > 59)
			return false;
	} else {
		return false;
	}
	*us = ((days * 86400 + h * 3600 + mi * 60 + sec) - sign * (oh * 3600 + om * 60)) *
	      1000000LL + frac;
	return true;
}

/* -?[0-9]+(.[0-9]+)?, at most NUMERIC_TEXT_MAX bytes; *d its value. */
static bool
parse_numeric(const char *s, double *d)
{
	size_t i = 0, n = strlen(s);

	if (n == 0 || n > NUMERIC_TEXT_MAX)
		return false;
	if (s[i] == '-')
		i++;
	if (!is_digit(s[i]))
		return false;
	while (is_digit(s[i]))
		i++;
	if (s[i] == '.') {
		i++;
		if (!is_digit(s[i]))
			return false;
		while (is_digit(s[i]))
			i++;
	}
	if (s[i] != '\0')
		return false;
	*d = strtod(s, NULL);
	return isfinite(*d);
}

/* -?[0-9]+ within long long. */
static bool
parse_integer(const char *s, long long *v)
{
	char *end;

	if (!(is_digit(s[0]) || (s[0] == '-' && is_digit(s[1]))))
		return false;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return *end == '\0' && errno == 0;
}

static bool
is_uuid(const char *s)
{
	static const char hex[] = "0123456789abcdefABCDEF";
	size_t i;

	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (s[i] == '\0' || strchr(hex, s[i]) == NULL) {
			return false;
		}
	}
	return s[36] == '\0';
}

/* Code points of a valid UTF-8 string of n bytes; -1 when it is not
 * valid UTF-8. */
static long
utf8_count(const char *s, size_t n)
{
	size_t i = 0, l;
	long count = 0;

	while (i < n) {
		if ((unsigned char)s[i] < 0x80) {
			i++;
		} else {
			l = gb_utf8_len((const unsigned char *)s + i, n - i);
			if (l == 0)
				return -1;
			i += l;
		}
		count++;
	}
	return count;
}

/* The fewest of 15, 16 or 17 significant digits that read back as d. */
static void
format_double(char *buf, size_t n, double d)
{
	int p;

	for (p = 15; p <= 17; p++) {
		snprintf(buf, n, "%.*g", p, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

static int
json_text(struct gb_buf *b, const json_t *v, int depth)
{
	char num[40];
	const char *key;
	json_t *item;
	size_t i, n;
	int len;

	if (depth > JSON_DEPTH_MAX)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		gb_buf_putc(b, '{');
		n = 0;
		json_object_foreach((json_t *)v, key, item) {
			if (n++ != 0)
				gb_buf_putc(b, ',');
			gb_buf_json_str(b, key, strlen(key));
			gb_buf_putc(b, ':');
			if (json_text(b, item, depth + 1) != 0)
				return -1;
		}
		return gb_buf_putc(b, '}');
	case JSON_ARRAY:
		gb_buf_putc(b, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (i != 0)
				gb_buf_putc(b, ',');
			if (json_text(b, json_array_get(v, i), depth + 1) != 0)
				return -1;
		}
		return gb_buf_putc(b, ']');
	case JSON_STRING:
		return gb_buf_json_str(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		len = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return gb_buf_append(b, num, (size_t)len);
	case JSON_REAL:
		if (!isfinite(json_real_value(v)))
			return -1;
		format_double(num, sizeof(num), json_real_value(v));
		return gb_buf_puts(b, num);
	case JSON_TRUE:
		return gb_buf_append(b, "true", 4);
	case JSON_FALSE:
		return gb_buf_append(b, "false", 5);
	case JSON_NULL:
		return gb_buf_append(b, "null", 4);
	}
	return -1;
}

int
gb_schema_json_text(struct gb_buf *b, const json_t *v)
{
	if (json_text(b, v, 0) != 0 || gb_buf_failed(b)) {
		b->failed = true;
		return -1;
	}
	return 0;
}

/* ---- values --------------------------------------------------------------- */

static const char *const oom = "out of memory";

/* The limits of c that need a number's comparable form: v, an integer or
 * the days or microseconds of a date or timestamp. */
static const char *
check_ibounds(const struct gb_column *c, long long v, struct gb_arena *a)
{
	const char *m;

	if (c->has_min && v < c->imin) {
		m = gb_arena_printf(a, "must be at least %s", c->min_text);
		return m != NULL ? m : oom;
	}
	if (c->has_max && v > c->imax) {
		m = gb_arena_printf(a, "must be at most %s", c->max_text);
		return m != NULL ? m : oom;
	}
	return NULL;
}

static const char *
check_dbounds(const struct gb_column *c, double v, struct gb_arena *a)
{
	const char *m;

	if (c->has_min && v < c->dmin) {
		m = gb_arena_printf(a, "must be at least %s", c->min_text);
		return m != NULL ? m : oom;
	}
	if (c->has_max && v > c->dmax) {
		m = gb_arena_printf(a, "must be at most %s", c->max_text);
		return m != NULL ? m : oom;
	}
	return NULL;
}

static const char *
must_be(enum gb_coltype t)
{
	switch (t) {
	case GB_COL_TEXT: return "must be a string";
	case GB_COL_INTEGER: return "must be a whole number";
	case GB_COL_NUMERIC: return "must be a number or a decimal string (\"12.50\")";
	case GB_COL_BOOLEAN: return "must be true or false";
	case GB_COL_DATE: return "must be a date, YYYY-MM-DD";
	case GB_COL_TIMESTAMP:
		return "must be a timestamp with an offset, as 2026-01-31T09:30:00Z "
		       "(RFC 3339, at most 6 decimals)";
	case GB_COL_UUID: return "must be a UUID";
	case GB_COL_JSON: return "must be JSON";
	}
	return "is invalid";
}

/* The text rules of a body's string: length, pattern, enum. */
static const char *
check_text(const struct gb_column *c, const char *s, size_t n, struct gb_arena *a)
{
	long chars = utf8_count(s, n);
	const char *m;
	size_t i;

	if (chars < 0)
		return "must be valid UTF-8";
	if (c->min_length >= 0 && chars < c->min_length) {
		m = c->min_length == 1 ? "must not be empty" :
		    gb_arena_printf(a, "must be at least %ld characters", c->min_length);
		return m != NULL ? m : oom;
	}
	if (c->max_length >= 0 && chars > c->max_length) {
		m = gb_arena_printf(a, "must be at most %ld characters", c->max_length);
		return m != NULL ? m : oom;
	}
	if (c->has_pattern && regexec(&c->pattern, s, 0, NULL, 0) != 0) {
		m = gb_arena_printf(a, "must match %s", c->pattern_text);
		return m != NULL ? m : oom;
	}
	if (c->nenum > 0) {
		for (i = 0; i < c->nenum; i++)
			if (strcmp(s, c->enum_values[i]) == 0)
				return NULL;
		return "is not one of the allowed values";
	}
	return NULL;
}

const char *
gb_column_json_value(const struct gb_column *c, json_t *v, struct gb_arena *a,
                     const char **why)
{
	char num[40], *out = NULL, *p;
	struct gb_buf b = GB_BUF_INIT;
	long long iv, days, us;
	bool valid = false;
	double d = 0;
	const char *s;

	*why = NULL;
	if (json_is_null(v)) {
		if (c->required || !c->db_nullable)
			*why = "must not be null";
		return NULL;
	}
	switch (c->type) {
	case GB_COL_TEXT:
		if (!json_is_string(v))
			break;
		valid = true;
		s = json_string_value(v);
		if ((*why = check_text(c, s, json_string_length(v), a)) != NULL)
			return NULL;
		out = gb_arena_strndup(a, s, json_string_length(v));
		break;
	case GB_COL_INTEGER:
		if (!json_is_integer(v))
			break;
		valid = true;
		iv = json_integer_value(v);
		if ((*why = check_ibounds(c, iv, a)) != NULL)
			return NULL;
		out = gb_arena_printf(a, "%lld", iv);
		break;
	case GB_COL_NUMERIC:
		if (json_is_integer(v)) {
			d = (double)json_integer_value(v);
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		} else if (json_is_real(v) && isfinite(json_real_value(v))) {
			d = json_real_value(v);
			format_double(num, sizeof(num), d);
		} else if (json_is_string(v) && parse_numeric(json_string_value(v), &d)) {
			num[0] = '\0';
		} else {
			break;
		}
		valid = true;
		if ((*why = check_dbounds(c, d, a)) != NULL)
			return NULL;
		out = gb_arena_strdup(a, num[0] != '\0' ? num : json_string_value(v));
		break;
	case GB_COL_BOOLEAN:
		if (!json_is_boolean(v))
			break;
		valid = true;
		out = gb_arena_strdup(a, json_is_true(v) ? "true" : "false");
		break;
	case GB_COL_DATE:
		if (!json_is_string(v) || !parse_date_n(json_string_value(v), json_string_length(v),
		                                        &days))
			break;
		valid = true;
		if ((*why = check_ibounds(c, days, a)) != NULL)
			return NULL;
		out = gb_arena_strdup(a, json_string_value(v));
		break;
	case GB_COL_TIMESTAMP:
		if (!json_is_string(v) || !parse_timestamp(json_string_value(v), &us))
			break;
		valid = true;
		if ((*why = check_ibounds(c, us, a)) != NULL)
			return NULL;
		out = gb_arena_strdup(a, json_string_value(v));
		break;
	case GB_COL_UUID:
		if (!json_is_string(v) || !is_uuid(json_string_value(v)))
			break;
		valid = true;
		if ((out = gb_arena_strdup(a, json_string_value(v))) != NULL)
			for (p = out; *p != '\0'; p++)
				if (*p >= 'A' && *p <= 'F')
					*p = (char)(*p - 'A' + 'a');
		break;
	case GB_COL_JSON:
		valid = true;
		if (json_text(&b, v, 0) != 0 || gb_buf_failed(&b)) {
			*why = gb_buf_failed(&b) ? oom : "must be JSON nested at most 64 deep";
			gb_buf_free(&b);
			return NULL;
		}
		out = gb_arena_strndup(a, b.data, b.len);
		gb_buf_free(&b);
		break;
	}
	if (!valid)
		*why = must_be(c->type);
	else if (out == NULL)
		*why = oom;
	return out;
}

/* Digits with an optional leading '-': a whole number, perhaps too large. */
static bool
looks_integer(const char *s)
{
	if (s[0] == '-')
		s++;
	return is_digit(s[0]) && strspn(s, "0123456789") == strlen(s);
}

const char *
gb_column_text_value(const struct gb_column *c, const char *s, struct gb_arena *a,
                     const char **why)
{
	long long iv, days, us;
	bool valid = false;
	char *out = NULL, *p;
	double d;

	*why = NULL;
	switch (c->type) {
	case GB_COL_TEXT:
		valid = utf8_count(s, strlen(s)) >= 0;
		if (!valid) {
			*why = "must be valid UTF-8";
			return NULL;
		}
		break;
	case GB_COL_INTEGER:
		if ((valid = parse_integer(s, &iv)))
			out = gb_arena_printf(a, "%lld", iv);
		else if (looks_integer(s))
			*why = "is out of range";
		break;
	case GB_COL_NUMERIC:
		valid = parse_numeric(s, &d);
		break;
	case GB_COL_BOOLEAN:
		valid = strcmp(s, "true") == 0 || strcmp(s, "false") == 0;
		break;
	case GB_COL_DATE:
		valid = parse_date_n(s, strlen(s), &days);
		break;
	case GB_COL_TIMESTAMP:
		valid = parse_timestamp(s, &us);
		break;
	case GB_COL_UUID:
		valid = is_uuid(s);
		break;
	case GB_COL_JSON:
		*why = "is a json column, which cannot be compared";
		return NULL;
	}
	if (!valid) {
		if (*why == NULL)
			*why = must_be(c->type);
		return NULL;
	}
	if (out == NULL && (out = gb_arena_strdup(a, s)) != NULL && c->type == GB_COL_UUID)
		for (p = out; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
	if (out == NULL)
		*why = oom;
	return out;
}

/* ---- declaration keys --------------------------------------------------- */

static enum gb_err parse_object(struct ctx *c, const struct key *keys, size_t nkeys,
                                json_t *obj);

static const char *
want_string(struct ctx *c, const struct key *k, json_t *v, enum gb_err *e)
{
	if (!json_is_string(v)) {
		*e = set_err(c, k->name, "must be a string");
		return NULL;
	}
	*e = GB_OK;
	return json_string_value(v);
}

static enum gb_err
want_bool(struct ctx *c, const struct key *k, json_t *v, bool *out)
{
	if (!json_is_boolean(v))
		return set_err(c, k->name, "must be true or false");
	*out = json_is_true(v);
	return GB_OK;
}

static enum gb_err
k_resource(struct ctx *c, const struct key *k, json_t *v)
{
	char shown[SHOW_MAX + 4];
	enum gb_err e;
	const char *s = want_string(c, k, v, &e);

	if (s == NULL)
		return e;
	show(shown, sizeof(shown), s, SHOW_MAX);
	if (!valid_name(s, true))
		return set_err(c, k->name, "\"%s\" must be 1 to 63 of a-z, 0-9, '_' and '-', "
		               "starting with a letter", shown);
	return (c->r->name = gb_arena_strdup(c->s->a, s)) != NULL ? GB_OK : GB_ENOMEM;
}

static enum gb_err
k_table(struct ctx *c, const struct key *k, json_t *v)
{
	char shown[SHOW_MAX + 4];
	enum gb_err e;
	const char *s = want_string(c, k, v, &e);
	char *q;

	if (s == NULL)
		return e;
	show(shown, sizeof(shown), s, SHOW_MAX);
	if (!valid_name(s, false))
		return set_err(c, k->name, "\"%s\" must be 1 to 63 of a-z, 0-9 and '_', starting "
		               "with a letter (a table of the schema " GB_SCHEMA_DATA ")", shown);
	if (strncmp(s, "pg_", 3) == 0 || in_list(s, gateway_tables, NELEM(gateway_tables)))
		return set_err(c, k->name, "\"%s\" is a table of the gateway or of PostgreSQL and "
		               "cannot be declared", shown);
	c->r->table = gb_arena_strdup(c->s->a, s);
	q = quote_ident(c->s->a, s);
	if (c->r->table == NULL || q == NULL)
		return GB_ENOMEM;
	c->r->qtable = gb_arena_cat(c->s->a, "\"" GB_SCHEMA_DATA "\".", q, NULL);
	return c->r->qtable != NULL ? GB_OK : GB_ENOMEM;
}

/* -- one column -- */

static enum gb_err
k_type(struct ctx *c, const struct key *k, json_t *v)
{
	char shown[SHOW_MAX + 4];
	enum gb_err e;
	const char *s = want_string(c, k, v, &e);
	size_t i;

	if (s == NULL)
		return e;
	for (i = 0; i < NELEM(types); i++) {
		if (strcmp(s, types[i].name) == 0) {
			c->col->type = (enum gb_coltype)i;
			c->col->cast = types[i].cast;
			return GB_OK;
		}
	}
	show(shown, sizeof(shown), s, SHOW_MAX);
	return set_err(c, k->name, "must be text, integer, numeric, boolean, date, timestamp, "
	               "uuid or json, not \"%s\"", shown);
}

static enum gb_err
k_required(struct ctx *c, const struct key *k, json_t *v)
{
	return want_bool(c, k, v, &c->col->required);
}

static enum gb_err
k_read_only(struct ctx *c, const struct key *k, json_t *v)
{
	return want_bool(c, k, v, &c->col->read_only);
}

static enum gb_err
k_write_once(struct ctx *c, const struct key *k, json_t *v)
{
	return want_bool(c, k, v, &c->col->write_once);
}

static enum gb_err
k_length(struct ctx *c, const struct key *k, json_t *v)
{
	json_int_t x;

	if (c->col->type != GB_COL_TEXT)
		return set_err(c, k->name, "is only for text columns");
	if (!json_is_integer(v) || (x = json_integer_value(v)) < 0 || x > GB_SCHEMA_TEXT_MAX)
		return set_err(c, k->name, "must be a whole number from 0 to %d", GB_SCHEMA_TEXT_MAX);
	if (strcmp(k->name, "min_length") == 0)
		c->col->min_length = (long)x;
	else
		c->col->max_length = (long)x;
	return GB_OK;
}

/* minimum and maximum, in the column's type. */
static enum gb_err
k_bound(struct ctx *c, const struct key *k, json_t *v)
{
	struct gb_column *col = c->col;
	bool is_min = strcmp(k->name, "minimum") == 0;
	char num[40];
	const char *text = NULL;
	long long iv = 0;
	double d = 0;

	switch (col->type) {
	case GB_COL_INTEGER:
		if (!json_is_integer(v))
			return set_err(c, k->name, "must be a whole number");
		iv = json_integer_value(v);
		text = gb_arena_printf(c->s->a, "%lld", iv);
		break;
	case GB_COL_NUMERIC:
		if (json_is_integer(v)) {
			d = (double)json_integer_value(v);
			text = gb_arena_printf(c->s->a, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		} else if (json_is_real(v)) {
			d = json_real_value(v);
			format_double(num, sizeof(num), d);
			text = gb_arena_strdup(c->s->a, num);
		} else if (json_is_string(v) && parse_numeric(json_string_value(v), &d)) {
			text = gb_arena_strdup(c->s->a, json_string_value(v));
		} else {
			return set_err(c, k->name, "must be a number");
		}
		break;
	case GB_COL_DATE:
		if (!json_is_string(v) ||
		    !parse_date_n(json_string_value(v), json_string_length(v), &iv))
			return set_err(c, k->name, "must be a date, YYYY-MM-DD");
		text = gb_arena_strdup(c->s->a, json_string_value(v));
		break;
	case GB_COL_TIMESTAMP:
		if (!json_is_string(v) || !parse_timestamp(json_string_value(v), &iv))
			return set_err(c, k->name, "must be an RFC 3339 timestamp with an offset");
		text = gb_arena_strdup(c->s->a, json_string_value(v));
		break;
	default:
		return set_err(c, k->name, "is only for integer, numeric, date and timestamp columns");
	}
	if (text == NULL)
		return GB_ENOMEM;
	if (is_min) {
		col->has_min = true;
		col->imin = iv;
		col->dmin = d;
		col->min_text = text;
	} else {
		col->has_max = true;
		col->imax = iv;
		col->dmax = d;
		col->max_text = text;
	}
	return GB_OK;
}

/* The decimal count at *p, advancing it; stops past PATTERN_DUP_MAX. */
static long
pattern_count(const char **p)
{
	long n = 0;

	for (; **p >= '0' && **p <= '9' && n <= PATTERN_DUP_MAX; (*p)++)
		n = n * 10 + (**p - '0');
	return n;
}

/* Why a pattern is refused before regcomp() sees it, or NULL.  glibc's
 * regcomp() copies a repeated atom once per repetition ({n,m} makes m copies,
 * x+ two), so repetitions nested in groups or stacked ("a+++") multiply into
 * gigabytes.  Refused: a count above PATTERN_DUP_MAX, a repetition of a
 * repetition (undefined in POSIX), more than PATTERN_WEIGHT_MAX atoms after
 * the copies, groups nested past PATTERN_DEPTH_MAX, and back-references
 * (exponential to match, and patterns are matched against request bodies).
 * What is malformed otherwise is left to regcomp() to name. */
static const char *
pattern_refusal(const char *p)
{
	struct {
		long start;   /* atoms before the group opened */
		long last;    /* the last atom (or group), with its repetitions */
		bool rep;     /* the last atom already has a repetition */
	} f[PATTERN_DEPTH_MAX + 1] = { { 0, 0, false } };
	long atoms = 0;   /* the whole pattern's, repetitions expanded */
	long factor, n, m;
	int d = 0;

	for (; *p != '\0'; p++) {
		factor = 0;
		switch (*p) {
		case '\\':
			if (p[1] >= '1' && p[1] <= '9')
				return "has a back-reference";
			if (p[1] != '\0')
				p++;
			break;
		case '[':   /* a bracket expression is one atom */
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p != '\0' && *p != ']') {
				if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
					char close = p[1];

					for (p += 2; *p != '\0' && !(p[0] == close && p[1] == ']'); p++)
						;
					if (*p == '\0')
						return NULL;
					p++;
				}
				p++;
			}
			if (*p == '\0')
				return NULL;
			break;
		case '(':
			if (d == PATTERN_DEPTH_MAX)
				return "nests groups too deep";
			d++;
			f[d].start = atoms;
			f[d].last = 0;
			f[d].rep = false;
			continue;
		case ')':
			if (d == 0)
				break;   /* a literal */
			n = atoms - f[d].start;
			d--;
			f[d].last = n > 0 ? n : 1;   /* "()" counts once repeated */
			f[d].rep = false;
			continue;
		case '|':
			f[d].last = 0;
			f[d].rep = false;
			continue;
		case '*':
		case '?':
			factor = 1;
			break;
		case '+':
			factor = 2;
			break;
		case '{':
			if (p[1] < '0' || p[1] > '9')
				break;   /* a literal */
			p++;
			n = m = pattern_count(&p);
			if (*p == ',') {
				p++;
				m = *p >= '0' && *p <= '9' ? pattern_count(&p) : -1;
			}
			if (n > PATTERN_DUP_MAX || m > PATTERN_DUP_MAX)
				return "has a repetition count above 255";
			if (*p != '}')
				return "has a malformed {n,m}";
			factor = m < 0 ? n + 1 : (m > 0 ? m : 1);
			break;
		default:
			break;
		}
		if (factor == 0) {   /* an atom */
			atoms++;
			f[d].last = 1;
			f[d].rep = false;
		} else if (f[d].last > 0) {
			if (f[d].rep)
				return "repeats a repetition";
			atoms += f[d].last * (factor - 1);
			f[d].last *= factor;
			f[d].rep = true;
		}
		if (atoms > PATTERN_WEIGHT_MAX)
			return "repeats too much (over 10000 atoms once expanded)";
	}
	return NULL;
}

static enum gb_err
k_pattern(struct ctx *c, const struct key *k, json_t *v)
{
	struct gb_schema *s = c->s;
	char msg[128], shown[SHOW_MAX + 4];
	enum gb_err e;
	const char *p = want_string(c, k, v, &e);
	const char *why;
	regex_t *re, **grown;
	int rc;

	if (p == NULL)
		return e;
	if (c->col->type != GB_COL_TEXT)
		return set_err(c, k->name, "is only for text columns");
	if (json_string_length(v) == 0 || json_string_length(v) > 1024)
		return set_err(c, k->name, "must be 1 to 1024 bytes");
	if ((why = pattern_refusal(p)) != NULL) {
		show(shown, sizeof(shown), p, SHOW_MAX);
		return set_err(c, k->name, "\"%s\" %s", shown, why);
	}
	if (s->nregs == s->capregs) {
		size_t cap = s->capregs == 0 ? 8 : s->capregs * 2;

		if ((grown = realloc(s->regs, cap * sizeof(*grown))) == NULL)
			return GB_ENOMEM;
		s->regs = grown;
		s->capregs = cap;
	}
	re = &c->col->pattern;
	rc = regcomp(re, p, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		regerror(rc, re, msg, sizeof(msg));
		show(shown, sizeof(shown), p, SHOW_MAX);
		return set_err(c, k->name, "\"%s\" is not a POSIX extended regular expression: %s",
		               shown, msg);
	}
	s->regs[s->nregs++] = re;
	c->col->has_pattern = true;
	return (c->col->pattern_text = gb_arena_strdup(s->a, p)) != NULL ? GB_OK : GB_ENOMEM;
}

static enum gb_err
k_enum(struct ctx *c, const struct key *k, json_t *v)
{
	const char **vals;
	size_t i, j, n;

	if (c->col->type != GB_COL_TEXT)
		return set_err(c, k->name, "is only for text columns");
	if (!json_is_array(v) || (n = json_array_size(v)) < 1 || n > GB_SCHEMA_ENUM_MAX)
		return set_err(c, k->name, "must be an array of 1 to %d strings", GB_SCHEMA_ENUM_MAX);
	if ((vals = gb_arena_calloc(c->s->a, n, sizeof(*vals))) == NULL)
		return GB_ENOMEM;
	for (i = 0; i < n; i++) {
		json_t *it = json_array_get(v, i);

		if (!json_is_string(it) || json_string_length(it) > GB_SCHEMA_VALUE_MAX)
			return set_err(c, k->name, "must be an array of strings of at most %d bytes",
			               GB_SCHEMA_VALUE_MAX);
		for (j = 0; j < i; j++)
			if (strcmp(vals[j], json_string_value(it)) == 0)
				return set_err(c, k->name, "lists a value twice");
		if ((vals[i] = gb_arena_strdup(c->s->a, json_string_value(it))) == NULL)
			return GB_ENOMEM;
	}
	c->col->enum_values = vals;
	c->col->nenum = n;
	return GB_OK;
}

/* The default is checked once the other keys are known (defaults_ok). */
static enum gb_err
k_default(struct ctx *c, const struct key *k, json_t *v)
{
	(void)c;
	(void)k;
	(void)v;
	return GB_OK;
}

/* type first: the other keys' rules depend on it; default last. */
static const struct key column_keys[] = {
	{ "type", k_type, true },
	{ "required", k_required, false },
	{ "read_only", k_read_only, false },
	{ "write_once", k_write_once, false },
	{ "min_length", k_length, false },
	{ "max_length", k_length, false },
	{ "minimum", k_bound, false },
	{ "maximum", k_bound, false },
	{ "pattern", k_pattern, false },
	{ "enum", k_enum, false },
	{ "default", k_default, false },
};

/* What a column's keys say together. */
static enum gb_err
column_rules(struct ctx *c, json_t *obj)
{
	struct gb_column *col = c->col;
	json_t *dv = json_object_get(obj, "default");
	const char *why, *val;
	char shown[SHOW_MAX + 4];

	if (col->read_only && (col->required || col->write_once))
		return set_err(c, "read_only", "cannot be combined with %s",
		               col->required ? "required" : "write_once");
	if (col->min_length >= 0 && col->max_length >= 0 && col->min_length > col->max_length)
		return set_err(c, "min_length", "is more than max_length");
	if (col->has_min && col->has_max &&
	    (col->type == GB_COL_NUMERIC ? col->dmin > col->dmax : col->imin > col->imax))
		return set_err(c, "minimum", "is more than maximum");
	if (col->nenum > 0 && (col->has_pattern || col->min_length >= 0 || col->max_length >= 0))
		return set_err(c, "enum", "cannot be combined with pattern, min_length or max_length");
	if (dv == NULL)
		return GB_OK;
	if (col->required || col->read_only)
		return set_err(c, "default", "is not for a %s column",
		               col->required ? "required" : "read-only (use the table's DEFAULT)");
	if (json_is_null(dv))
		return set_err(c, "default", "must not be null (leave it out instead)");
	val = gb_column_json_value(col, dv, c->s->a, &why);
	if (val == NULL && why == oom)
		return GB_ENOMEM;
	if (val == NULL) {
		show(shown, sizeof(shown), why, SHOW_MAX * 2);
		return set_err(c, "default", "%s", shown);
	}
	col->default_value = val;
	return GB_OK;
}

static enum gb_err
k_columns(struct ctx *c, const struct key *k, json_t *v)
{
	struct gb_resource *r = c->r;
	char shown[SHOW_MAX + 4];
	const char *name;
	struct gb_column *col;
	json_t *cv;
	size_t n, i = 0, j;
	enum gb_err e;

	if (!json_is_object(v) || (n = json_object_size(v)) < 1 || n > GB_SCHEMA_COLUMNS_MAX)
		return set_err(c, k->name, "must be an object of 1 to %d columns",
		               GB_SCHEMA_COLUMNS_MAX);
	r->ncols = n + SYS_N;
	if ((r->cols = gb_arena_calloc(c->s->a, r->ncols, sizeof(*r->cols))) == NULL)
		return GB_ENOMEM;
	/* id first, the declared ones, then version, created_at, updated_at */
	for (j = 0; j < SYS_N; j++) {
		col = &r->cols[j == SYS_ID ? 0 : n + j];
		col->name = sys_cols[j].name;
		col->type = sys_cols[j].type;
		col->cast = sys_cols[j].cast;
		col->system = true;
		col->read_only = true;
		col->min_length = col->max_length = -1;
		if ((col->ident = quote_ident(c->s->a, col->name)) == NULL)
			return GB_ENOMEM;
	}
	json_object_foreach(v, name, cv) {
		col = &r->cols[1 + i++];
		snprintf(c->prefix, sizeof(c->prefix), "columns.");
		show(shown, sizeof(shown), name, SHOW_MAX);
		if (!valid_name(name, false))
			return set_err(c, shown, "must be 1 to 63 of a-z, 0-9 and '_', starting with a "
			               "letter");
		if (in_list(name, reserved_columns, NELEM(reserved_columns)))
			return set_err(c, shown, "is a name the gateway uses itself (id, company_id, "
			               "version, created_at, updated_at; limit, cursor, sort)");
		if (!json_is_object(cv))
			return set_err(c, shown, "must be an object with at least \"type\"");
		col->name = gb_arena_strdup(c->s->a, name);
		col->ident = quote_ident(c->s->a, name);
		if (col->name == NULL || col->ident == NULL)
			return GB_ENOMEM;
		col->min_length = col->max_length = -1;
		col->db_nullable = true;
		snprintf(c->prefix, sizeof(c->prefix), "columns.%s.", name);
		c->col = col;
		if ((e = parse_object(c, column_keys, NELEM(column_keys), cv)) != GB_OK ||
		    (e = column_rules(c, cv)) != GB_OK)
			return e;
		c->col = NULL;
	}
	c->prefix[0] = '\0';
	return GB_OK;
}

/* filter and sort: arrays of column names, kept until the columns are
 * known (column_lists). */
static enum gb_err
k_filter(struct ctx *c, const struct key *k, json_t *v)
{
	(void)k;
	c->filter = v;
	return GB_OK;
}

static enum gb_err
k_sort(struct ctx *c, const struct key *k, json_t *v)
{
	(void)k;
	c->sort = v;
	return GB_OK;
}

static enum gb_err
mark_columns(struct ctx *c, const char *key, json_t *v, bool sort)
{
	char shown[SHOW_MAX + 4];
	struct gb_column *col;
	size_t i, j;

	if (!json_is_array(v))
		return set_err(c, key, "must be an array of column names");
	for (i = 0; i < json_array_size(v); i++) {
		json_t *it = json_array_get(v, i);

		if (!json_is_string(it))
			return set_err(c, key, "must be an array of strings");
		show(shown, sizeof(shown), json_string_value(it), SHOW_MAX);
		col = NULL;
		for (j = 0; j < c->r->ncols; j++)
			if (strcmp(c->r->cols[j].name, json_string_value(it)) == 0)
				col = &c->r->cols[j];
		if (col == NULL || strcmp(col->name, "version") == 0)
			return set_err(c, key, "\"%s\" is not a declared column (nor id, created_at, "
			               "updated_at)", shown);
		if (col->type == GB_COL_JSON)
			return set_err(c, key, "\"%s\" is a json column, which cannot be %s", shown,
			               sort ? "sorted on" : "filtered on");
		/* a sort key travels in the cursor */
		if (sort && col->type == GB_COL_TEXT &&
		    (col->max_length < 0 || col->max_length > GB_SCHEMA_SORT_TEXT_MAX))
			return set_err(c, key, "\"%s\" needs a max_length of at most %d to be sorted on "
			               "(its values travel in cursors)", shown, GB_SCHEMA_SORT_TEXT_MAX);
		if (sort ? col->sort : col->filter)
			return set_err(c, key, "\"%s\" is listed twice", shown);
		if (sort)
			col->sort = true;
		else
			col->filter = true;
	}
	return GB_OK;
}

static enum gb_err
k_default_sort(struct ctx *c, const struct key *k, json_t *v)
{
	char shown[SHOW_MAX + 4];
	enum gb_err e;
	const char *s = want_string(c, k, v, &e);
	const struct gb_column *col;
	bool desc;

	if (s == NULL)
		return e;
	desc = s[0] == '-';
	show(shown, sizeof(shown), s, SHOW_MAX);
	col = gb_resource_column(c->r, s + desc);
	if (col == NULL || strcmp(col->name, "version") == 0 || col->type == GB_COL_JSON)
		return set_err(c, k->name, "\"%s\" must be a column name, with '-' before it for "
		               "descending order (not a json column)", shown);
	if (col->type == GB_COL_TEXT &&
	    (col->max_length < 0 || col->max_length > GB_SCHEMA_SORT_TEXT_MAX))
		return set_err(c, k->name, "\"%s\" needs a max_length of at most %d to be sorted on "
		               "(its values travel in cursors)", shown, GB_SCHEMA_SORT_TEXT_MAX);
	c->r->default_sort = col;
	c->r->default_desc = desc;
	return GB_OK;
}

static enum gb_err
role_list(struct ctx *c, const char *key, json_t *v, unsigned *out)
{
	char shown[SHOW_MAX + 4];
	unsigned bit, roles = 0;
	size_t i;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return set_err(c, key, "must be a non-empty array of owner, admin, member, viewer");
	for (i = 0; i < json_array_size(v); i++) {
		json_t *it = json_array_get(v, i);

		if (!json_is_string(it))
			return set_err(c, key, "must be an array of strings");
		show(shown, sizeof(shown), json_string_value(it), SHOW_MAX);
		bit = gb_role_bit(json_string_value(it));
		if (bit == 0)
			return set_err(c, key, "\"%s\" is not owner, admin, member or viewer", shown);
		if (roles & bit)
			return set_err(c, key, "\"%s\" is listed twice", shown);
		roles |= bit;
	}
	*out = roles;
	return GB_OK;
}

static enum gb_err
k_role_read(struct ctx *c, const struct key *k, json_t *v)
{
	return role_list(c, k->name, v, &c->r->read_roles);
}

static enum gb_err
k_role_write(struct ctx *c, const struct key *k, json_t *v)
{
	return role_list(c, k->name, v, &c->r->write_roles);
}

static const struct key role_keys[] = {
	{ "read", k_role_read, false },
	{ "write", k_role_write, false },
};

static enum gb_err
k_roles(struct ctx *c, const struct key *k, json_t *v)
{
	enum gb_err e;

	if (!json_is_object(v))
		return set_err(c, k->name, "must be an object {\"read\": [...], \"write\": [...]}");
	snprintf(c->prefix, sizeof(c->prefix), "roles.");
	e = parse_object(c, role_keys, NELEM(role_keys), v);
	c->prefix[0] = '\0';
	return e;
}

/* In the order checked: columns before what names them. */
static const struct key top_keys[] = {
	{ "resource", k_resource, true },
	{ "table", k_table, true },
	{ "columns", k_columns, true },
	{ "filter", k_filter, false },
	{ "sort", k_sort, false },
	{ "default_sort", k_default_sort, false },
	{ "roles", k_roles, false },
};

static enum gb_err
parse_object(struct ctx *c, const struct key *keys, size_t nkeys, json_t *obj)
{
	const char *name;
	char shown[SHOW_MAX + 4];
	enum gb_err e;
	json_t *v;
	size_t i;

	/* unknown keys first: a typo must not pass as an absent optional key */
	json_object_foreach(obj, name, v) {
		for (i = 0; i < nkeys; i++)
			if (strcmp(name, keys[i].name) == 0)
				break;
		if (i == nkeys) {
			show(shown, sizeof(shown), name, SHOW_MAX);
			return set_err(c, shown, "is not a known key");
		}
	}
	for (i = 0; i < nkeys; i++) {
		v = json_object_get(obj, keys[i].name);
		if (v == NULL) {
			if (keys[i].required)
				return set_err(c, keys[i].name, "is required");
			continue;
		}
		if ((e = keys[i].parse(c, &keys[i], v)) != GB_OK)
			return e;
	}
	return GB_OK;
}

/* jansson names a duplicate key only inside its message: near '"key"'. */
static void
json_err(struct gb_schema_error *err, const char *file, const json_error_t *je)
{
	char key[96] = "";
	const char *s, *t;

	if (json_error_code(je) == json_error_duplicate_key &&
	    (s = strstr(je->text, "near '\"")) != NULL &&
	    (t = strrchr(s + 7, '"')) != NULL && t > s + 7) {
		snprintf(key, sizeof(key), "%.*s", (int)(t - (s + 7)), s + 7);
		file_err(err, file, key, "line %d column %d: the key appears twice",
		         je->line, je->column);
		return;
	}
	file_err(err, file, key, "line %d column %d: %s", je->line, je->column, je->text);
}

static struct gb_schema *
schema_new(void)
{
	struct gb_schema *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->a = gb_arena_new(ARENA_BLOCK);
	s->v = calloc(GB_SCHEMA_MAX, sizeof(*s->v));
	if (s->a == NULL || s->v == NULL) {
		gb_schema_free(s);
		return NULL;
	}
	return s;
}

/* Parses text into the next resource slot of s; counts it only on
 * success (a failed one is freed with s). */
static enum gb_err
parse_into(struct gb_schema *s, const char *text, size_t len, const char *file,
           struct gb_schema_error *err)
{
	struct gb_resource *r;
	struct ctx c;
	json_error_t je;
	json_t *root;
	enum gb_err e;

	if (s->n == GB_SCHEMA_MAX) {
		file_err(err, file, "", "more than %d resources", GB_SCHEMA_MAX);
		return GB_ECONFIG;
	}
	if (len > GB_SCHEMA_FILE_MAX) {
		file_err(err, file, "", "is larger than %d bytes", GB_SCHEMA_FILE_MAX);
		return GB_ECONFIG;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		json_err(err, file, &je);
		return GB_ECONFIG;
	}
	r = &s->v[s->n];
	memset(r, 0, sizeof(*r));
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.r = r;
	c.err = err;
	show(err->file, sizeof(err->file), file, sizeof(err->file) - 4);
	if (!json_is_object(root)) {
		e = set_err(&c, "", "must be a JSON object");
		goto out;
	}
	if ((r->file = gb_arena_strdup(s->a, file)) == NULL) {
		e = GB_ENOMEM;
		goto out;
	}
	r->read_roles = GB_ROLE_OWNER | GB_ROLE_ADMIN | GB_ROLE_MEMBER | GB_ROLE_VIEWER;
	r->write_roles = GB_ROLE_OWNER | GB_ROLE_ADMIN | GB_ROLE_MEMBER;
	if ((e = parse_object(&c, top_keys, NELEM(top_keys), root)) != GB_OK)
		goto out;
	if ((c.filter != NULL && (e = mark_columns(&c, "filter", c.filter, false)) != GB_OK) ||
	    (c.sort != NULL && (e = mark_columns(&c, "sort", c.sort, true)) != GB_OK))
		goto out;
	if (r->default_sort == NULL) {
		r->default_sort = gb_resource_column(r, "created_at");
		r->default_desc = false;
	}
	s->n++;
out:
	if (e == GB_ENOMEM)
		file_err(err, file, "", "out of memory");
	json_decref(root);
	return e;
}

enum gb_err
gb_schema_parse(const char *text, size_t len, const char *file, struct gb_schema **out,
                struct gb_schema_error *err)
{
	struct gb_schema_error dummy;
	struct gb_schema *s;
	enum gb_err e;

	if (err == NULL)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	if (file == NULL)
		file = "";
	if (text == NULL || out == NULL) {
		file_err(err, file, "", "no declaration given");
		return GB_ECONFIG;
	}
	if ((s = schema_new()) == NULL) {
		file_err(err, file, "", "out of memory");
		return GB_ENOMEM;
	}
	e = parse_into(s, text, len, file, err);
	if (e != GB_OK) {
		gb_schema_free(s);
		return e;
	}
	*out = s;
	return GB_OK;
}

void
gb_schema_free(struct gb_schema *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nregs; i++)
		regfree(s->regs[i]);
	free(s->regs);
	free(s->v);
	gb_arena_free(s->a);
	free(s);
}

size_t
gb_schema_count(const struct gb_schema *s)
{
	return s != NULL ? s->n : 0;
}

const struct gb_resource *
gb_schema_at(const struct gb_schema *s, size_t i)
{
	return s != NULL && i < s->n ? &s->v[i] : NULL;
}

const struct gb_resource *
gb_schema_find(const struct gb_schema *s, const char *name)
{
	size_t i;

	if (s == NULL || name == NULL)
		return NULL;
	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return &s->v[i];
	return NULL;
}

const struct gb_column *
gb_resource_column(const struct gb_resource *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->ncols; i++)
		if (strcmp(r->cols[i].name, name) == 0)
			return &r->cols[i];
	return NULL;
}

const struct gb_column *
gb_resource_constraint(const struct gb_resource *r, const char *constraint)
{
	size_t i;

	if (constraint == NULL)
		return NULL;
	for (i = 0; i < r->nconstraints; i++)
		if (strcmp(r->constraints[i].name, constraint) == 0)
			return r->constraints[i].col;
	return NULL;
}

/* ---- the directory ---------------------------------------------------------- */

/* Reads all of fd, a regular file of at most max bytes, into a new buffer. */
static enum gb_err
read_all(int fd, size_t max, char **out, size_t *outlen, const char **why)
{
	struct stat st;
	size_t len = 0;
	ssize_t n;
	char *buf;

	if (fstat(fd, &st) != 0) {
		*why = strerror(errno);
		return GB_ECONFIG;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		return GB_ECONFIG;
	}
	if ((buf = malloc(max + 2)) == NULL)
		return GB_ENOMEM;
	while (len <= max && (n = read(fd, buf + len, max + 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*why = strerror(errno);
			free(buf);
			return GB_ECONFIG;
		}
		len += (size_t)n;
	}
	if (len > max) {
		*why = "too large";
		free(buf);
		return GB_ECONFIG;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return GB_OK;
}

/* The NAME.json files of the directory dfd, sorted. */
static enum gb_err
list_dir(int dfd, const char *dir, char ***out, size_t *n, struct gb_schema_error *err)
{
	enum gb_err e = gb_dir_json_names(dfd, GB_SCHEMA_MAX, out, n);

	if (e == GB_EIO)
		file_err(err, dir, "", "cannot read the directory: %s", strerror(errno));
	else if (e == GB_ETOOBIG)
		file_err(err, dir, "", "holds more than %d declarations", GB_SCHEMA_MAX);
	else if (e == GB_ENOMEM)
		file_err(err, dir, "", "out of memory");
	return e == GB_OK ? GB_OK : e == GB_ENOMEM ? GB_ENOMEM : GB_ECONFIG;
}

static enum gb_err
load_one(struct gb_schema *s, int dfd, const char *dir, const char *name,
         struct gb_schema_error *err)
{
	size_t plen = strlen(dir) + strlen(name) + 2, len = 0, i;
	const char *why = NULL;
	char *path, *text = NULL;
	enum gb_err e;
	int fd;

	if ((path = malloc(plen)) == NULL)
		return GB_ENOMEM;
	snprintf(path, plen, "%s/%s", dir, name);
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		file_err(err, path, "", "cannot open: %s", strerror(errno));
		e = GB_ECONFIG;
		goto out;
	}
	e = read_all(fd, GB_SCHEMA_FILE_MAX, &text, &len, &why);
	close(fd);
	if (e == GB_ECONFIG) {
		if (strcmp(why, "too large") == 0)
			file_err(err, path, "", "is larger than %d bytes", GB_SCHEMA_FILE_MAX);
		else
			file_err(err, path, "", "cannot read: %s", why);
	}
	if (e != GB_OK || (e = parse_into(s, text, len, path, err)) != GB_OK)
		goto out;
	for (i = 0; i + 1 < s->n; i++) {
		if (strcmp(s->v[i].name, s->v[s->n - 1].name) == 0) {
			file_err(err, path, "resource", "\"%s\" is already the resource of %s",
			         s->v[i].name, strrchr(s->v[i].file, '/') + 1);
			s->n--;
			e = GB_ECONFIG;
			break;
		}
	}
out:
	free(text);
	free(path);
	return e;
}

enum gb_err
gb_schema_load(const char *dir, struct gb_schema **out, struct gb_schema_error *err)
{
	struct gb_schema_error dummy;
	struct gb_schema *s = NULL;
	char **names = NULL;
	size_t n = 0, i;
	enum gb_err e;
	int dfd;

	if (err == NULL)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	if (dir == NULL || out == NULL) {
		file_err(err, "", "", "no directory given");
		return GB_ECONFIG;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		file_err(err, dir, "", "cannot open the directory: %s", strerror(errno));
		return GB_ECONFIG;
	}
	if ((e = list_dir(dfd, dir, &names, &n, err)) != GB_OK)
		goto out;
	if ((s = schema_new()) == NULL) {
		file_err(err, dir, "", "out of memory");
		e = GB_ENOMEM;
		goto out;
	}
	for (i = 0; i < n && e == GB_OK; i++)
		e = load_one(s, dfd, dir, names[i], err);
out:
	gb_dir_names_free(names, n);
	close(dfd);
	if (e != GB_OK) {
		gb_schema_free(s);
		return e;
	}
	*out = s;
	return GB_OK;
}

/* ---- the catalog ------------------------------------------------------------ */

static const struct gb_catalog_column *
cat_column(const struct gb_catalog_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return &t->cols[i];
	return NULL;
}

/* Whether the database type typ can hold the declared type, and the
 * integer range it allows. */
static bool
type_matches(enum gb_coltype want, const char *typ, long long *lo, long long *hi)
{
	static const struct {
		enum gb_coltype type;
		const char *db;
		long long lo, hi;
	} ok[] = {
		{ GB_COL_TEXT, "text", 0, 0 },
		{ GB_COL_TEXT, "varchar", 0, 0 },
		{ GB_COL_INTEGER, "int2", -32768, 32767 },
		{ GB_COL_INTEGER, "int4", INT32_MIN, INT32_MAX },
		{ GB_COL_INTEGER, "int8", LLONG_MIN, LLONG_MAX },
		{ GB_COL_NUMERIC, "numeric", 0, 0 },
		{ GB_COL_BOOLEAN, "bool", 0, 0 },
		{ GB_COL_DATE, "date", 0, 0 },
		{ GB_COL_TIMESTAMP, "timestamptz", 0, 0 },
		{ GB_COL_UUID, "uuid", 0, 0 },
		{ GB_COL_JSON, "json", 0, 0 },
		{ GB_COL_JSON, "jsonb", 0, 0 },
	};
	size_t i;

	for (i = 0; i < NELEM(ok); i++) {
		if (ok[i].type == want && strcmp(ok[i].db, typ) == 0) {
			*lo = ok[i].lo;
			*hi = ok[i].hi;
			return true;
		}
	}
	return false;
}

/* Why the table's row security would not isolate tenants, or NULL. */
static const char *
policies_wrong(const struct gb_catalog_table *t, char *buf, size_t len)
{
	static const char cmds[] = { 'r', 'a', 'w', 'd' };
	static const char *const cmd_names[] = { "SELECT", "INSERT", "UPDATE", "DELETE" };
	const struct gb_catalog_policy *p;
	bool covered;
	size_t i, j;

	for (i = 0; i < t->npolicies; i++) {
		p = &t->policies[i];
		if (!p->permissive)
			continue;      /* restrictive policies only narrow */
		if ((p->cmd != 'a' && (!p->has_using || !p->using_tenant)) ||
		    (p->has_check && !p->check_tenant) || (p->cmd == 'a' && !p->has_check)) {
			snprintf(buf, len, "policy \"%.60s\" must be USING and WITH CHECK "
			         GB_SCHEMA_TENANT_EXPR " and nothing else", p->name);
			return buf;
		}
	}
	for (j = 0; j < sizeof(cmds); j++) {
		covered = false;
		for (i = 0; i < t->npolicies; i++)
			if (t->policies[i].permissive &&
			    (t->policies[i].cmd == '*' || t->policies[i].cmd == cmds[j]))
				covered = true;
		if (!covered) {
			snprintf(buf, len, "has no policy for %s: add CREATE POLICY tenant ON ... USING "
			         GB_SCHEMA_TENANT_EXPR " WITH CHECK " GB_SCHEMA_TENANT_EXPR,
			         cmd_names[j]);
			return buf;
		}
	}
	return NULL;
}

/* The gateway's columns: id (the primary key), company_id, version,
 * created_at, updated_at, NOT NULL, with defaults but company_id. */
static const char *
system_columns_wrong(const struct gb_catalog_table *t, char *buf, size_t len)
{
	static const struct {
		const char *name, *type, *decl;
		bool needs_default;
	} want[] = {
		{ "id", "uuid", "id uuid PRIMARY KEY DEFAULT gen_random_uuid()", true },
		{ "company_id", "uuid", "company_id uuid NOT NULL REFERENCES gerbang.companies", false },
		{ "version", "int8", "version bigint NOT NULL DEFAULT 1", true },
		{ "created_at", "timestamptz", "created_at timestamptz NOT NULL DEFAULT now()", true },
		{ "updated_at", "timestamptz", "updated_at timestamptz NOT NULL DEFAULT now()", true },
	};
	const struct gb_catalog_column *c;
	bool pk = false;
	size_t i;

	for (i = 0; i < NELEM(want); i++) {
		c = cat_column(t, want[i].name);
		if (c == NULL || strcmp(c->type, want[i].type) != 0 || !c->not_null ||
		    (want[i].needs_default && !c->has_default)) {
			snprintf(buf, len, "needs the column %s", want[i].decl);
			return buf;
		}
	}
	for (i = 0; i < t->ncons; i++)
		if (t->cons[i].type == 'p' && t->cons[i].column != NULL &&
		    strcmp(t->cons[i].column, "id") == 0)
			pk = true;
	if (!pk) {
		snprintf(buf, len, "needs PRIMARY KEY (id)");
		return buf;
	}
	return NULL;
}

static enum gb_err
bind_column(struct ctx *c, struct gb_column *col, const struct gb_catalog_table *t)
{
	const struct gb_catalog_column *cc = cat_column(t, col->name);
	long long lo, hi;
	char bound[32];

	if (cc == NULL)
		return set_err(c, col->name, "the table %s." "%.63s has no such column",
		               GB_SCHEMA_DATA, c->r->table);
	snprintf(c->prefix, sizeof(c->prefix), "columns.%s.", col->name);
	if (!type_matches(col->type, cc->type, &lo, &hi))
		return set_err(c, "type", "is %s, but the column is %.40s in the database",
		               gb_coltype_name(col->type), cc->type);
	if (cc->varchar_max >= 0 && (col->max_length < 0 || col->max_length > cc->varchar_max))
		return set_err(c, "max_length", "must be at most %d: the column is varchar(%d)",
		               cc->varchar_max, cc->varchar_max);
	if (col->type == GB_COL_INTEGER) {
		if ((col->has_min && col->imin < lo) || (col->has_max && col->imax > hi))
			return set_err(c, col->has_min && col->imin < lo ? "minimum" : "maximum",
			               "is outside what the column's %s holds", cc->type);
		if (!col->has_min) {
			snprintf(bound, sizeof(bound), "%lld", lo);
			col->has_min = true;
			col->imin = lo;
			col->min_text = gb_arena_strdup(c->s->a, bound);
		}
		if (!col->has_max) {
			snprintf(bound, sizeof(bound), "%lld", hi);
			col->has_max = true;
			col->imax = hi;
			col->max_text = gb_arena_strdup(c->s->a, bound);
		}
		if (col->min_text == NULL || col->max_text == NULL)
			return GB_ENOMEM;
	}
	if (col->type == GB_COL_JSON)
		col->cast = strcmp(cc->type, "json") == 0 ? "json" : "jsonb";
	if (cc->not_null && !cc->has_default && !col->required && col->default_value == NULL)
		return set_err(c, col->read_only ? "read_only" : "required", "%s: the column is "
		               "NOT NULL without a default", col->read_only ?
		               "cannot be true" : "must be true (or give a default)");
	col->db_nullable = !cc->not_null;
	col->db_has_default = cc->has_default;
	c->prefix[0] = '\0';
	return GB_OK;
}

/* Constraints whose columns hold one declared column (and perhaps
 * company_id, as a composite key of a tenant table does). */
static enum gb_err
bind_constraints(struct ctx *c, const struct gb_catalog_table *t)
{
	struct gb_resource *r = c->r;
	const struct gb_column *col, *found;
	char name[GB_SCHEMA_NAME_MAX + 1];
	const char *p, *q;
	size_t i, n;

	r->constraints = gb_arena_calloc(c->s->a, t->ncons + 1, sizeof(*r->constraints));
	if (r->constraints == NULL)
		return GB_ENOMEM;
	r->nconstraints = 0;
	for (i = 0; i < t->ncons; i++) {
		found = NULL;
		for (p = t->cons[i].column; p != NULL && *p != '\0'; p = *q ? q + 1 : q) {
			q = p + strcspn(p, ",");
			n = (size_t)(q - p) < sizeof(name) ? (size_t)(q - p) : sizeof(name) - 1;
			memcpy(name, p, n);
			name[n] = '\0';
			if (strcmp(name, "company_id") == 0)
				continue;
			col = gb_resource_column(r, name);
			if (col == NULL || col->system || found != NULL) {
				found = NULL;
				break;
			}
			found = col;
		}
		if (found == NULL)
			continue;
		r->constraints[r->nconstraints].name = gb_arena_strdup(c->s->a, t->cons[i].name);
		r->constraints[r->nconstraints].col = found;
		if (r->constraints[r->nconstraints].name == NULL)
			return GB_ENOMEM;
		r->nconstraints++;
	}
	return GB_OK;
}

enum gb_err
gb_schema_bind(struct gb_schema *s, size_t i, const struct gb_catalog_table *t,
               struct gb_schema_error *err)
{
	struct gb_schema_error dummy;
	const char *missing[4], *why;
	char buf[224];
	struct ctx c;
	size_t j, nm = 0;
	enum gb_err e;

	if (err == NULL)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	if (s == NULL || i >= s->n || t == NULL) {
		file_err(err, "", "", "no resource to bind");
		return GB_ECONFIG;
	}
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.r = &s->v[i];
	c.err = err;
	show(err->file, sizeof(err->file), c.r->file, sizeof(err->file) - 4);
	if (!t->exists)
		return set_err(&c, "table", "there is no table %s.%.63s (apply the migration that "
		               "creates it; the runtime role needs USAGE on the schema)",
		               GB_SCHEMA_DATA, c.r->table);
	if (!t->is_table)
		return set_err(&c, "table", "%s.%.63s is not a table", GB_SCHEMA_DATA, c.r->table);
	if (t->role_bypasses_rls)
		return set_err(&c, "table", "the role of DATABASE_URL is a superuser or has "
		               "BYPASSRLS: row-level security would not separate tenants");
	if (t->runtime_owns)
		return set_err(&c, "table", "%s.%.63s is owned by the role of DATABASE_URL, which "
		               "could turn its row-level security off: the runtime role owns nothing",
		               GB_SCHEMA_DATA, c.r->table);
	if (!t->rls || !t->force_rls)
		return set_err(&c, "table", "%s.%.63s needs ENABLE and FORCE ROW LEVEL SECURITY",
		               GB_SCHEMA_DATA, c.r->table);
	if ((why = policies_wrong(t, buf, sizeof(buf))) != NULL)
		return set_err(&c, "table", "%s", why);
	if (!t->can_select)
		missing[nm++] = "SELECT";
	if (!t->can_insert)
		missing[nm++] = "INSERT";
	if (!t->can_update)
		missing[nm++] = "UPDATE";
	if (!t->can_delete)
		missing[nm++] = "DELETE";
	if (nm > 0)
		return set_err(&c, "table", "the role of DATABASE_URL lacks %s%s%s%s%s%s%s on it "
		               "(GRANT SELECT, INSERT, UPDATE, DELETE ... TO gerbang_runtime)",
		               missing[0], nm > 1 ? ", " : "", nm > 1 ? missing[1] : "",
		               nm > 2 ? ", " : "", nm > 2 ? missing[2] : "", nm > 3 ? ", " : "",
		               nm > 3 ? missing[3] : "");
	if ((why = system_columns_wrong(t, buf, sizeof(buf))) != NULL)
		return set_err(&c, "table", "%s", why);
	snprintf(c.prefix, sizeof(c.prefix), "columns.");
	for (j = 0; j < c.r->ncols; j++) {
		if (c.r->cols[j].system) {
			c.r->cols[j].db_nullable = false;
			c.r->cols[j].db_has_default = true;
			continue;
		}
		snprintf(c.prefix, sizeof(c.prefix), "columns.");
		if ((e = bind_column(&c, &c.r->cols[j], t)) != GB_OK)
			return e;
	}
	c.prefix[0] = '\0';
	if ((e = bind_constraints(&c, t)) != GB_OK) {
		file_err(err, c.r->file, "", "out of memory");
		return e;
	}
	return GB_OK;
}

/* -- reading it -- */

/* With search_path pg_catalog (set once on the connection by verify), so
 * that pg_get_expr() prints the policy's function schema-qualified. */
static const struct gb_stmt q_search_path = {
	"schema_search_path", "SELECT set_config('search_path', 'pg_catalog', false)", 0 };
#define TABLE_OID \
	"(SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " \
	"WHERE n.nspname = '" GB_SCHEMA_DATA "' AND c.relname = $1)"
static const struct gb_stmt q_table = {
	"schema_table",
	"SELECT c.relkind IN ('r', 'p'), c.relrowsecurity, c.relforcerowsecurity, "
	"pg_has_role(current_user, c.relowner, 'USAGE'), "
	"(SELECT r.rolsuper OR r.rolbypassrls FROM pg_roles r WHERE r.rolname = current_user), "
	"has_table_privilege(c.oid, 'SELECT'), has_table_privilege(c.oid, 'INSERT'), "
	"has_table_privilege(c.oid, 'UPDATE'), has_table_privilege(c.oid, 'DELETE'), "
	"has_schema_privilege(n.oid, 'USAGE') "
	"FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
	"WHERE n.nspname = '" GB_SCHEMA_DATA "' AND c.relname = $1", 1 };
static const struct gb_stmt q_columns = {
	"schema_columns",
	"SELECT a.attname, t.typname, "
	"CASE WHEN t.typname = 'varchar' AND a.atttypmod > 4 THEN a.atttypmod - 4 ELSE -1 END, "
	"a.attnotnull, a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '' "
	"FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
	"WHERE a.attrelid = " TABLE_OID " AND a.attnum > 0 AND NOT a.attisdropped "
	"ORDER BY a.attnum", 1 };
static const struct gb_stmt q_policies = {
	"schema_policies",
	"SELECT p.polname, p.polpermissive, p.polcmd, p.polqual IS NOT NULL, "
	"coalesce(pg_get_expr(p.polqual, p.polrelid) = $2, false), p.polwithcheck IS NOT NULL, "
	"coalesce(pg_get_expr(p.polwithcheck, p.polrelid) = $2, false) "
	"FROM pg_policy p WHERE p.polrelid = " TABLE_OID " ORDER BY p.polname", 2 };
static const struct gb_stmt q_constraints = {
	"schema_constraints",
	"SELECT con.conname, con.contype, (SELECT string_agg(a.attname, ',' ORDER BY a.attnum) "
	"FROM pg_attribute a WHERE a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey)) "
	"FROM pg_constraint con WHERE con.conrelid = " TABLE_OID " ORDER BY con.conname", 1 };

static bool
is_t(const PGresult *res, int row, int col)
{
	return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

static enum gb_err
db_err(struct gb_schema_error *err, struct gb_db *db, const char *file, enum gb_err e)
{
	file_err(err, file, "", "cannot read the catalog: %s", gb_db_last_error(db));
	return e == GB_ETIMEOUT ? GB_ETIMEOUT : GB_EDB;
}

/* Reads and binds resource i. */
static enum gb_err
verify_one(struct gb_schema *s, size_t i, struct gb_db *db, struct gb_schema_error *err)
{
	const char *file = s->v[i].file, *name = s->v[i].table;
	PGresult *rt = NULL, *rc = NULL, *rp = NULL, *rk = NULL;
	struct gb_catalog_column *cols = NULL;
	struct gb_catalog_policy *pols = NULL;
	struct gb_catalog_constraint *cons = NULL;
	struct gb_catalog_table t;
	int k, n;
	enum gb_err e;

	memset(&t, 0, sizeof(t));
	if ((e = gb_db_exec(db, &q_table, (const char *const[]){ name }, &rt)) != GB_OK ||
	    (e = gb_db_exec(db, &q_columns, (const char *const[]){ name }, &rc)) != GB_OK ||
	    (e = gb_db_exec(db, &q_policies,
	                    (const char *const[]){ name, GB_SCHEMA_TENANT_EXPR }, &rp)) != GB_OK ||
	    (e = gb_db_exec(db, &q_constraints, (const char *const[]){ name }, &rk)) != GB_OK) {
		e = db_err(err, db, file, e);
		goto out;
	}
	t.exists = PQntuples(rt) == 1 && is_t(rt, 0, 9);
	if (t.exists) {
		t.is_table = is_t(rt, 0, 0);
		t.rls = is_t(rt, 0, 1);
		t.force_rls = is_t(rt, 0, 2);
		t.runtime_owns = is_t(rt, 0, 3);
		t.role_bypasses_rls = is_t(rt, 0, 4);
		t.can_select = is_t(rt, 0, 5);
		t.can_insert = is_t(rt, 0, 6);
		t.can_update = is_t(rt, 0, 7);
		t.can_delete = is_t(rt, 0, 8);
	}
	n = PQntuples(rc);
	cols = calloc((size_t)n + 1, sizeof(*cols));
	pols = calloc((size_t)PQntuples(rp) + 1, sizeof(*pols));
	cons = calloc((size_t)PQntuples(rk) + 1, sizeof(*cons));
	if (cols == NULL || pols == NULL || cons == NULL) {
		file_err(err, file, "", "out of memory");
		e = GB_ENOMEM;
		goto out;
	}
	for (k = 0; k < n; k++) {
		cols[k].name = PQgetvalue(rc, k, 0);
		cols[k].type = PQgetvalue(rc, k, 1);
		cols[k].varchar_max = (int)strtol(PQgetvalue(rc, k, 2), NULL, 10);
		cols[k].not_null = is_t(rc, k, 3);
		cols[k].has_default = is_t(rc, k, 4);
	}
	t.cols = cols;
	t.ncols = (size_t)n;
	for (k = 0; k < PQntuples(rp); k++) {
		pols[k].name = PQgetvalue(rp, k, 0);
		pols[k].permissive = is_t(rp, k, 1);
		pols[k].cmd = PQgetvalue(rp, k, 2)[0];
		pols[k].has_using = is_t(rp, k, 3);
		pols[k].using_tenant = is_t(rp, k, 4);
		pols[k].has_check = is_t(rp, k, 5);
		pols[k].check_tenant = is_t(rp, k, 6);
	}
	t.policies = pols;
	t.npolicies = (size_t)PQntuples(rp);
	for (k = 0; k < PQntuples(rk); k++) {
		cons[k].name = PQgetvalue(rk, k, 0);
		cons[k].type = PQgetvalue(rk, k, 1)[0];
		cons[k].column = PQgetisnull(rk, k, 2) ? NULL : PQgetvalue(rk, k, 2);
	}
	t.cons = cons;
	t.ncons = (size_t)PQntuples(rk);
	e = gb_schema_bind(s, i, &t, err);
out:
	free(cols);
	free(pols);
	free(cons);
	PQclear(rt);
	PQclear(rc);
	PQclear(rp);
	PQclear(rk);
	return e;
}

enum gb_err
gb_schema_verify(struct gb_schema *s, struct gb_db *db, struct gb_schema_error *err)
{
	struct gb_schema_error dummy;
	PGresult *res = NULL;
	enum gb_err e;
	size_t i;

	if (err == NULL)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	if (s == NULL || db == NULL) {
		file_err(err, "", "", "nothing to verify");
		return GB_ECONFIG;
	}
	if (s->n == 0)
		return GB_OK;
	e = gb_db_exec(db, &q_search_path, NULL, &res);
	PQclear(res);
	if (e != GB_OK)
		return db_err(err, db, s->v[0].file, e);
	for (i = 0; i < s->n; i++)
		if ((e = verify_one(s, i, db, err)) != GB_OK)
			return e;
	return GB_OK;
}
