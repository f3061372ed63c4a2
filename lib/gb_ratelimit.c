#include "config.h"
#include "gb_ratelimit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "gb_url.h"

#define UUID_LEN 36
#define SHOW_MAX 40                   /* file text quoted in messages */
#define SHOW_FILE_MAX 200
#define NELEM(t) (sizeof(t) / sizeof((t)[0]))

/* One company's class: the company first, for sorting and bsearch. */
struct override {
	char company[UUID_LEN + 1];
	struct gb_rl_class cls;
};

struct gb_rl_table {
	struct gb_rl_class *classes;  /* sorted by name */
	size_t nclasses;
	struct override *overrides;   /* sorted by company, then class name */
	size_t noverrides;
	size_t ncompanies;
};

/* ---- the script --------------------------------------------------------- */

/* KEYS[1] is the bucket, a hash: tokens (a float) and ts (the Redis
 * server's time of the last refill, in microseconds).  Numbers go to Redis
 * as strings made here: Redis would write a Lua number with "%.14g", which
 * loses microseconds and turns a long PEXPIRE into "1e+16".
 * ARGV: rate (tokens per second), capacity, cost.  A missing (or garbled)
 * bucket is full; time going backwards (a fail-over to a host with another
 * clock) refills nothing; a capacity lowered since clips the tokens.  The
 * key expires when the bucket would be full, which is what a missing key
 * means.  TIME is allowed because scripts replicate their effects (the
 * only mode since Redis 7, the default since 5).  Answers {allowed 0|1,
 * whole tokens left, ms until full, ms until cost tokens when refused}. */
static const char script[] =
	"local rate = tonumber(ARGV[1])\n"
	"local cap = tonumber(ARGV[2])\n"
	"local cost = tonumber(ARGV[3])\n"
	"if not rate or not cap or not cost or rate <= 0 or cap < 1 or cost < 1 or\n"
	"    cost > cap then\n"
	"  return redis.error_reply('ERR gb_ratelimit: bad arguments')\n"
	"end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
	"local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')\n"
	"local tokens = tonumber(b[1])\n"
	"local ts = tonumber(b[2])\n"
	"if tokens == nil or ts == nil or tokens ~= tokens then\n"
	"  tokens = cap\n"
	"elseif now > ts then\n"
	"  tokens = tokens + (now - ts) * rate / 1000000\n"
	"end\n"
	"if tokens > cap then tokens = cap end\n"
	"if tokens < 0 then tokens = 0 end\n"
	"local allowed, wait = 0, 0\n"
	"if tokens >= cost then\n"
	"  allowed = 1\n"
	"  tokens = tokens - cost\n"
	"else\n"
	"  wait = math.ceil((cost - tokens) * 1000 / rate)\n"
	"end\n"
	"local full = math.ceil((cap - tokens) * 1000 / rate)\n"
	"if full < 1 then full = 1 end\n"
	"redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),\n"
	"  'ts', string.format('%d', now))\n"
	"redis.call('PEXPIRE', KEYS[1], string.format('%d', full))\n"
	"return {allowed, math.floor(tokens), full, wait}\n";

static char script_sha[41];
static pthread_once_t sha_once = PTHREAD_ONCE_INIT;

/* Leaves script_sha "" if OpenSSL cannot hash: then every take sends EVAL. */
static void
sha_make(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(script, sizeof(script) - 1, md, &n, EVP_sha1(), NULL) != 1 || n != 20) {
		ERR_clear_error();
		script_sha[0] = '\0';
		return;
	}
	gb_hex_encode(md, n, script_sha);
}

const char *
gb_rl_script(void)
{
	return script;
}

const char *
gb_rl_script_sha1(void)
{
	pthread_once(&sha_once, sha_make);
	return script_sha;
}

/* ---- names -------------------------------------------------------------- */

static bool
is_lower_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

bool
gb_rl_class_name_ok(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0')
		return false;
	for (i = 0; name[i] != '\0'; i++)
		if (i == GB_RL_NAME_MAX ||
		    !((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '_' || name[i] == '-'))
			return false;
	return true;
}

/* A UUID as PostgreSQL prints it: 8-4-4-4-12 lowercase hex digits. */
static bool
uuid_ok(const char *s)
{
	size_t i;

	for (i = 0; i < UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!is_lower_hex(s[i])) {
			return false;
		}
	}
	return s[UUID_LEN] == '\0';
}

/* ---- messages ----------------------------------------------------------- */

struct ctx {
	struct gb_rl_table *t;
	const char *file;             /* as shown; NULL: the environment */
	char *why;
	size_t whysize;
	bool fail_closed;             /* the defaults' policy */
	size_t cap_overrides;
};

/* s, a C string, quoted in a message (gb_show). */
static void
show(char *dst, size_t dstlen, const char *s, size_t max)
{
	gb_show(dst, dstlen, s, strlen(s), max);
}

/* dst = parent "." name, name shown. */
static void
key_path(char *dst, size_t dstlen, const char *parent, const char *name)
{
	char shown[SHOW_MAX + 4];

	show(shown, sizeof(shown), name, SHOW_MAX);
	snprintf(dst, dstlen, "%s%s%s", parent, parent[0] != '\0' ? "." : "", shown);
}

static enum gb_err fail(struct ctx *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "file: key: message" into why, leaving out the file or the key when
 * there is none; returns GB_ECONFIG for the caller. */
static enum gb_err
fail(struct ctx *c, const char *key, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (c->why == NULL || c->whysize == 0)
		return GB_ECONFIG;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->file == NULL && key != NULL && key[0] != '\0')
		snprintf(c->why, c->whysize, "%s: %s", key, msg);
	else if (c->file == NULL)
		snprintf(c->why, c->whysize, "%s", msg);
	else if (key != NULL && key[0] != '\0')
		snprintf(c->why, c->whysize, "%s: %s: %s", c->file, key, msg);
	else
		snprintf(c->why, c->whysize, "%s: %s", c->file, msg);
	return GB_ECONFIG;
}

static enum gb_err
nomem(struct ctx *c)
{
	fail(c, NULL, "out of memory");
	return GB_ENOMEM;
}

/* ---- classes ------------------------------------------------------------ */

typedef enum gb_err (*field_fn)(struct ctx *c, const char *key, json_t *v,
                                struct gb_rl_class *cls);

static bool
rate_ok(double x)
{
	return isfinite(x) && x >= GB_RL_RATE_MIN && x <= GB_RL_RATE_MAX;
}

static enum gb_err
f_rate(struct ctx *c, const char *key, json_t *v, struct gb_rl_class *cls)
{
	if (!json_is_number(v) || !rate_ok(json_number_value(v)))
		return fail(c, key, "must be a number from %g to %.0f", GB_RL_RATE_MIN,
		            GB_RL_RATE_MAX);
	cls->rate = json_number_value(v);
	return GB_OK;
}

static enum gb_err
f_capacity(struct ctx *c, const char *key, json_t *v, struct gb_rl_class *cls)
{
	json_int_t x;

	if (!json_is_integer(v))
		return fail(c, key, "must be a whole number from 1 to %ld", GB_RL_CAPACITY_MAX);
	x = json_integer_value(v);
	if (x < 1 || x > GB_RL_CAPACITY_MAX)
		return fail(c, key, "must be from 1 to %ld, not %lld", GB_RL_CAPACITY_MAX,
		            (long long)x);
	cls->capacity = (long)x;
	return GB_OK;
}

static enum gb_err
f_fail(struct ctx *c, const char *key, json_t *v, struct gb_rl_class *cls)
{
	char shown[SHOW_MAX + 4];
	const char *s;

	if (!json_is_string(v))
		return fail(c, key, "must be \"open\" or \"closed\"");
	s = json_string_value(v);
	if (strcmp(s, "open") == 0) {
		cls->fail_closed = false;
	} else if (strcmp(s, "closed") == 0) {
		cls->fail_closed = true;
	} else {
		show(shown, sizeof(shown), s, SHOW_MAX);
		return fail(c, key, "must be \"open\" or \"closed\", not \"%s\"", shown);
	}
	return GB_OK;
}

/* The keys of a class object; required only where nothing is inherited. */
static const struct field {
	const char *name;
	field_fn parse;
	bool required;
} fields[] = {
	{ "rate", f_rate, true },
	{ "capacity", f_capacity, true },
	{ "fail", f_fail, false },
};

/* Parses the class object v at key into *out named name: base's values
 * (NULL: a new class, rate and capacity required) overwritten by v's. */
static enum gb_err
parse_class(struct ctx *c, const char *key, json_t *v, const char *name,
            const struct gb_rl_class *base, struct gb_rl_class *out)
{
	struct gb_rl_class cls;
	char sub[192];
	const char *k;
	enum gb_err e;
	json_t *fv;
	size_t i;

	if (!json_is_object(v))
		return fail(c, key, "must be an object {\"rate\": ..., \"capacity\": ..., "
		            "\"fail\": ...}");
	/* unknown keys first: a typo must not pass as an absent optional key */
	json_object_foreach(v, k, fv) {
		for (i = 0; i < NELEM(fields); i++)
			if (strcmp(k, fields[i].name) == 0)
				break;
		if (i == NELEM(fields)) {
			key_path(sub, sizeof(sub), key, k);
			return fail(c, sub, "is not a known key (rate, capacity, fail)");
		}
	}
	if (base != NULL) {
		cls = *base;
	} else {
		memset(&cls, 0, sizeof(cls));
		cls.fail_closed = c->fail_closed;
	}
	snprintf(cls.name, sizeof(cls.name), "%s", name);
	for (i = 0; i < NELEM(fields); i++) {
		key_path(sub, sizeof(sub), key, fields[i].name);
		if ((fv = json_object_get(v, fields[i].name)) == NULL) {
			if (base == NULL && fields[i].required)
				return fail(c, sub, "is required");
			continue;
		}
		if ((e = fields[i].parse(c, sub, fv, &cls)) != GB_OK)
			return e;
	}
	*out = cls;
	return GB_OK;
}

static int
cmp_class(const void *x, const void *y)
{
	return strcmp(((const struct gb_rl_class *)x)->name, ((const struct gb_rl_class *)y)->name);
}

static int
cmp_class_key(const void *name, const void *y)
{
	return strcmp(name, ((const struct gb_rl_class *)y)->name);
}

static struct gb_rl_class *
find_class(const struct gb_rl_table *t, const char *name)
{
	return bsearch(name, t->classes, t->nclasses, sizeof(*t->classes), cmp_class_key);
}

/* Before the classes are sorted. */
static struct gb_rl_class *
find_class_linear(const struct gb_rl_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nclasses; i++)
		if (strcmp(t->classes[i].name, name) == 0)
			return &t->classes[i];
	return NULL;
}

static enum gb_err
load_builtins(struct ctx *c, const struct gb_rl_class *defaults)
{
	static const struct {
		const char *name;
		double rate;
		long capacity;
	} builtins[] = {
		{ GB_RL_LOGIN_IP, 0.1, 20 },
		{ GB_RL_LOGIN_ACCOUNT, 1.0 / 60, 5 },
		{ GB_RL_CHAT, 0.5, 10 },
	};
	struct gb_rl_table *t = c->t;
	size_t i;

	if (!rate_ok(defaults->rate))
		return fail(c, "RATE_LIMIT_RATE", "must be a number from %g to %.0f, not %g",
		            GB_RL_RATE_MIN, GB_RL_RATE_MAX, defaults->rate);
	if (defaults->capacity < 1 || defaults->capacity > GB_RL_CAPACITY_MAX)
		return fail(c, "RATE_LIMIT_CAPACITY", "must be from 1 to %ld, not %ld",
		            GB_RL_CAPACITY_MAX, defaults->capacity);
	t->classes[0] = *defaults;
	snprintf(t->classes[0].name, sizeof(t->classes[0].name), "%s", GB_RL_DEFAULT);
	t->nclasses = 1;
	for (i = 0; i < NELEM(builtins); i++) {
		struct gb_rl_class *cls = &t->classes[t->nclasses++];

		snprintf(cls->name, sizeof(cls->name), "%s", builtins[i].name);
		cls->rate = builtins[i].rate;
		cls->capacity = builtins[i].capacity;
		cls->fail_closed = defaults->fail_closed;
	}
	return GB_OK;
}

static enum gb_err
load_classes(struct ctx *c, json_t *obj)
{
	struct gb_rl_table *t = c->t;
	struct gb_rl_class *have;
	char key[96];
	const char *name;
	enum gb_err e;
	json_t *v;

	if (!json_is_object(obj))
		return fail(c, "classes", "must be an object of class names");
	json_object_foreach(obj, name, v) {
		key_path(key, sizeof(key), "classes", name);
		if (!gb_rl_class_name_ok(name))
			return fail(c, key, "is not a class name (1 to %d characters of a-z, 0-9, "
			            "'_' and '-')", GB_RL_NAME_MAX);
		if ((have = find_class_linear(t, name)) != NULL) {
			/* a built-in: the fields given, the others kept */
			if ((e = parse_class(c, key, v, name, have, have)) != GB_OK)
				return e;
			continue;
		}
		if (t->nclasses == GB_RL_CLASSES_MAX)
			return fail(c, key, "is one class too many: at most %d, built-ins included",
			            GB_RL_CLASSES_MAX);
		if ((e = parse_class(c, key, v, name, NULL, &t->classes[t->nclasses])) != GB_OK)
			return e;
		t->nclasses++;
	}
	return GB_OK;
}

static int
cmp_override(const void *x, const void *y)
{
	const struct override *a = x, *b = y;
	int d = strcmp(a->company, b->company);

	return d != 0 ? d : strcmp(a->cls.name, b->cls.name);
}

static enum gb_err
add_override(struct ctx *c, const char *company, const struct gb_rl_class *cls)
{
	struct gb_rl_table *t = c->t;
	struct override *grown;
	size_t cap;

	if (t->noverrides == c->cap_overrides) {
		cap = c->cap_overrides == 0 ? 64 : c->cap_overrides * 2;
		if ((grown = realloc(t->overrides, cap * sizeof(*grown))) == NULL)
			return nomem(c);
		t->overrides = grown;
		c->cap_overrides = cap;
	}
	memcpy(t->overrides[t->noverrides].company, company, UUID_LEN + 1);
	t->overrides[t->noverrides].cls = *cls;
	t->noverrides++;
	return GB_OK;
}

static enum gb_err
load_companies(struct ctx *c, json_t *obj)
{
	struct gb_rl_table *t = c->t;
	const struct gb_rl_class *base;
	struct gb_rl_class cls;
	char key[96], sub[160];
	const char *id, *name;
	enum gb_err e;
	json_t *v, *cv;

	if (!json_is_object(obj))
		return fail(c, "companies", "must be an object of company ids");
	if (json_object_size(obj) > GB_RL_COMPANIES_MAX)
		return fail(c, "companies", "holds %zu companies, more than %d",
		            json_object_size(obj), GB_RL_COMPANIES_MAX);
	json_object_foreach(obj, id, v) {
		key_path(key, sizeof(key), "companies", id);
		if (!uuid_ok(id))
			return fail(c, key, "is not a company id (a lowercase UUID, 8-4-4-4-12)");
		if (!json_is_object(v))
			return fail(c, key, "must be an object of class names");
		json_object_foreach(v, name, cv) {
			key_path(sub, sizeof(sub), key, name);
			if ((base = find_class(t, name)) == NULL)
				return fail(c, sub, "is not a class (built in or in classes)");
			if ((e = parse_class(c, sub, cv, name, base, &cls)) != GB_OK)
				return e;
			if ((e = add_override(c, id, &cls)) != GB_OK)
				return e;
		}
		t->ncompanies++;
	}
	if (t->noverrides > 1)
		qsort(t->overrides, t->noverrides, sizeof(*t->overrides), cmp_override);
	return GB_OK;
}

/* ---- the file ----------------------------------------------------------- */

/* Reads all of path, a regular file of at most GB_RL_FILE_MAX bytes. */
static enum gb_err
read_file(struct ctx *c, const char *path, char **out, size_t *outlen)
{
	struct stat st;
	size_t len = 0, cap;
	ssize_t n;
	char *buf = NULL, *grown;
	enum gb_err e = GB_ECONFIG;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return fail(c, NULL, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(c, NULL, "is not a regular file");
	}
	if (st.st_size > GB_RL_FILE_MAX) {
		close(fd);
		return fail(c, NULL, "is larger than %d bytes", GB_RL_FILE_MAX);
	}
	/* one byte more than its size, to see the end; it may grow meanwhile */
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap)) == NULL) {
		e = nomem(c);
		goto err;
	}
	for (;;) {
		if (len == cap) {
			if (cap > GB_RL_FILE_MAX) {
				fail(c, NULL, "is larger than %d bytes", GB_RL_FILE_MAX);
				goto err;
			}
			cap = cap > GB_RL_FILE_MAX / 2 ? (size_t)GB_RL_FILE_MAX + 1 : cap * 2;
			if ((grown = realloc(buf, cap)) == NULL) {
				e = nomem(c);
				goto err;
			}
			buf = grown;
		}
		if ((n = read(fd, buf + len, cap - len)) == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail(c, NULL, "cannot read: %s", strerror(errno));
			goto err;
		}
		len += (size_t)n;
	}
	close(fd);
	*out = buf;
	*outlen = len;
	return GB_OK;
err:
	free(buf);
	close(fd);
	return e;
}

/* jansson names a duplicate key only inside its message: near '"key"'. */
static enum gb_err
json_fail(struct ctx *c, const json_error_t *je)
{
	char key[SHOW_MAX + 4], raw[96];
	const char *s, *t;

	if (json_error_code(je) == json_error_duplicate_key &&
	    (s = strstr(je->text, "near '\"")) != NULL &&
	    (t = strrchr(s + 7, '"')) != NULL && t > s + 7) {
		snprintf(raw, sizeof(raw), "%.*s", (int)(t - (s + 7)), s + 7);
		show(key, sizeof(key), raw, SHOW_MAX);
		return fail(c, key, "line %d column %d: the key appears twice", je->line,
		            je->column);
	}
	return fail(c, NULL, "line %d column %d: %s", je->line, je->column, je->text);
}

static enum gb_err
load_file(struct ctx *c, const char *path)
{
	static const char *const top[] = { "classes", "companies" };
	char *text = NULL;
	const char *k;
	json_error_t je;
	json_t *root = NULL, *v;
	size_t len = 0, i;
	enum gb_err e;

	if ((e = read_file(c, path, &text, &len)) != GB_OK)
		return e;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (root == NULL)
		return json_fail(c, &je);
	if (!json_is_object(root)) {
		e = fail(c, NULL, "must be a JSON object {\"classes\": ..., \"companies\": ...}");
		goto out;
	}
	json_object_foreach(root, k, v) {
		for (i = 0; i < NELEM(top); i++)
			if (strcmp(k, top[i]) == 0)
				break;
		if (i == NELEM(top)) {
			char key[SHOW_MAX + 4];

			show(key, sizeof(key), k, SHOW_MAX);
			e = fail(c, key, "is not a known key (classes, companies)");
			goto out;
		}
	}
	/* classes before companies, whatever the order in the file */
	if ((v = json_object_get(root, "classes")) != NULL &&
	    (e = load_classes(c, v)) != GB_OK)
		goto out;
	qsort(c->t->classes, c->t->nclasses, sizeof(*c->t->classes), cmp_class);
	if ((v = json_object_get(root, "companies")) != NULL &&
	    (e = load_companies(c, v)) != GB_OK)
		goto out;
	e = GB_OK;
out:
	json_decref(root);
	return e;
}

/* ---- the table ---------------------------------------------------------- */

enum gb_err
gb_rl_table_load(const char *path, const struct gb_rl_class *defaults,
                 struct gb_rl_table **out, char *why, size_t whysize)
{
	char shown[SHOW_FILE_MAX + 4];
	struct gb_rl_table *t = NULL;
	struct gb_rl_class *grown;
	struct ctx c;
	enum gb_err e;

	if (why != NULL && whysize > 0)
		why[0] = '\0';
	show(shown, sizeof(shown), path != NULL ? path : "", SHOW_FILE_MAX);
	memset(&c, 0, sizeof(c));
	c.why = why;
	c.whysize = whysize;
	if (defaults == NULL || out == NULL)
		return fail(&c, NULL, "no defaults given");
	c.fail_closed = defaults->fail_closed;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->classes = calloc(GB_RL_CLASSES_MAX, sizeof(*t->classes))) == NULL) {
		e = nomem(&c);
		goto err;
	}
	c.t = t;
	/* the defaults come from the environment, not the file */
	if ((e = load_builtins(&c, defaults)) != GB_OK)
		goto err;
	c.file = shown;
	if (path != NULL && path[0] != '\0') {
		if ((e = load_file(&c, path)) != GB_OK)
			goto err;
	} else {
		qsort(t->classes, t->nclasses, sizeof(*t->classes), cmp_class);
	}
	/* give back the unused class slots */
	if ((grown = realloc(t->classes, t->nclasses * sizeof(*grown))) != NULL)
		t->classes = grown;
	*out = t;
	return GB_OK;
err:
	gb_rl_table_free(t);
	return e;
}

void
gb_rl_table_free(struct gb_rl_table *t)
{
	if (t == NULL)
		return;
	free(t->classes);
	free(t->overrides);
	free(t);
}

size_t
gb_rl_table_nclasses(const struct gb_rl_table *t)
{
	return t != NULL ? t->nclasses : 0;
}

size_t
gb_rl_table_ncompanies(const struct gb_rl_table *t)
{
	return t != NULL ? t->ncompanies : 0;
}

const struct gb_rl_class *
gb_rl_table_class(const struct gb_rl_table *t, const char *name, const char *company_id)
{
	const struct gb_rl_class *base;
	const struct override *o;
	struct override key;
	size_t i;

	if (t == NULL || name == NULL || (base = find_class(t, name)) == NULL)
		return NULL;
	if (company_id == NULL || t->noverrides == 0)
		return base;
	/* ids are stored lowercase; the token's may be in either case */
	for (i = 0; i < UUID_LEN && company_id[i] != '\0'; i++) {
		char ch = company_id[i];

		key.company[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	if (i < UUID_LEN || company_id[i] != '\0')
		return base;
	key.company[i] = '\0';
	snprintf(key.cls.name, sizeof(key.cls.name), "%s", base->name);
	o = bsearch(&key, t->overrides, t->noverrides, sizeof(*t->overrides), cmp_override);
	return o != NULL ? &o->cls : base;
}

/* ---- taking ------------------------------------------------------------- */

void
gb_rl_degrade(const struct gb_rl_class *cls, long cost, struct gb_rl_decision *d)
{
	if (d == NULL)
		return;
	memset(d, 0, sizeof(*d));
	d->degraded = true;
	if (cls == NULL || cls->fail_closed) {
		d->limit = cls != NULL ? cls->capacity : 0;
		d->reset_s = 1;
		d->retry_after_s = 1;
		return;
	}
	d->allowed = true;
	d->limit = cls->capacity;
	d->remaining = cost >= 0 && cost <= cls->capacity ? cls->capacity - cost : 0;
}

/* Fills d from the script's answer; GB_EREDIS when it is not one. */
static enum gb_err
decode(const redisReply *rep, const struct gb_rl_class *cls, struct gb_rl_decision *d)
{
	long long v[4];
	size_t i;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != NELEM(v))
		return GB_EREDIS;
	for (i = 0; i < NELEM(v); i++) {
		if (rep->element[i] == NULL || rep->element[i]->type != REDIS_REPLY_INTEGER)
			return GB_EREDIS;
		v[i] = rep->element[i]->integer;
	}
	if ((v[0] != 0 && v[0] != 1) || v[1] < 0 || v[1] > cls->capacity || v[2] < 0 ||
	    v[3] < 0 || v[2] > LLONG_MAX - 999 || v[3] > LLONG_MAX - 999)
		return GB_EREDIS;
	d->allowed = v[0] == 1;
	d->degraded = false;
	d->limit = cls->capacity;
	d->remaining = (long)v[1];
	d->reset_s = (long)((v[2] + 999) / 1000);
	d->retry_after_s = 0;
	if (!d->allowed)
		d->retry_after_s = v[3] < 1000 ? 1 : (long)((v[3] + 999) / 1000);
	return GB_OK;
}

static bool
class_ok(const struct gb_rl_class *cls)
{
	return memchr(cls->name, '\0', sizeof(cls->name)) != NULL && cls->name[0] != '\0' &&
	       rate_ok(cls->rate) && cls->capacity >= 1 && cls->capacity <= GB_RL_CAPACITY_MAX;
}

/* v in decimal into buf (at least 21 bytes); its length. */
static size_t
put_long(char *buf, long v)
{
	char tmp[24];
	unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
	size_t n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		buf[len++] = '-';
	while (n > 0)
		buf[len++] = tmp[--n];
	buf[len] = '\0';
	return len;
}

/* The rate as the script reads it: "%.17g" gives the double back exactly
 * (programs keep the C locale).  Kept per thread for the last rate, as a
 * program's requests mostly take from one class. */
static const char *
rate_arg(double rate, size_t *len)
{
	static _Thread_local double last = -1.0;
	static _Thread_local char text[32];
	static _Thread_local size_t text_len;

	if (rate != last || text_len == 0) {
		int n = snprintf(text, sizeof(text), "%.17g", rate);

		text_len = n > 0 && (size_t)n < sizeof(text) ? (size_t)n : 0;
		last = rate;
	}
	*len = text_len;
	return text;
}

enum gb_err
gb_rl_take(struct gb_redis *r, const char *prefix, const struct gb_rl_class *cls,
           const char *key, long cost, struct gb_rl_decision *d)
{
	char bucket[GB_RL_KEY_MAX + 1], cap[24], n[24];
	const char *sha = gb_rl_script_sha1();
	const char *argv[7];
	size_t argvlen[7], plen, nlen, klen;
	redisReply *rep = NULL;
	enum gb_err e = GB_EINVAL;

	if (cls == NULL || d == NULL)
		return GB_EINVAL;
	if (r == NULL || key == NULL || !class_ok(cls) || cost < 1 || cost > cls->capacity)
		goto err;
	/* bucket: prefix, class name, ':', key */
	plen = prefix != NULL ? strlen(prefix) : 0;
	nlen = strlen(cls->name);
	klen = strlen(key);
	if (plen + nlen + 1 + klen >= sizeof(bucket))
		goto err;
	memcpy(bucket, prefix != NULL ? prefix : "", plen);
	memcpy(bucket + plen, cls->name, nlen);
	bucket[plen + nlen] = ':';
	memcpy(bucket + plen + nlen + 1, key, klen + 1);
	argv[2] = "1";
	argvlen[2] = 1;
	argv[3] = bucket;
	argvlen[3] = plen + nlen + 1 + klen;
	argv[4] = rate_arg(cls->rate, &argvlen[4]);
	if (argvlen[4] == 0)
		goto err;
	argv[5] = cap;
	argvlen[5] = put_long(cap, cls->capacity);
	argv[6] = n;
	argvlen[6] = put_long(n, cost);
	if (sha[0] != '\0') {
		argv[0] = "EVALSHA";
		argvlen[0] = 7;
		argv[1] = sha;
		argvlen[1] = strlen(sha);
		rep = gb_redis_command_argv(r, &e, 7, argv, argvlen);
		if (rep == NULL)
			goto err;
		if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
			freeReplyObject(rep);
			rep = NULL;
		}
	}
	if (rep == NULL) {
		argv[0] = "EVAL";
		argvlen[0] = 4;
		argv[1] = script;
		argvlen[1] = sizeof(script) - 1;
		rep = gb_redis_command_argv(r, &e, 7, argv, argvlen);
		if (rep == NULL)
			goto err;
	}
	if ((e = decode(rep, cls, d)) != GB_OK)
		goto err;
	freeReplyObject(rep);
	return GB_OK;
err:
	if (rep != NULL)
		freeReplyObject(rep);
	gb_rl_degrade(cls, cost, d);
	return e;
}
