#include "config.h"
#include "gb_plugin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "gb_auth.h"
#include "gb_dir.h"
#include "gb_url.h"

/* The public struct first, so a struct gb_plugin * is also ours. */
struct plugin {
	struct gb_plugin pub;
	struct gb_arena *a;           /* every string and array of pub */
	unsigned char *secret;        /* from malloc, wiped on free */
	size_t secret_len;
};

struct gb_registry {
	struct gb_plugin **v;         /* load order */
	struct gb_plugin **by_len;    /* longest mount first, for matching */
	size_t n;
};

struct key;

struct ctx {
	struct plugin *pl;
	struct gb_plugin *p;
	struct gb_plugin_error *err;
	const char *prefix;           /* "" or "circuit_breaker." ... */
};

typedef enum gb_err (*key_fn)(struct ctx *c, const struct key *k, json_t *v);

/* One manifest key: its parser, and for whole numbers bounds, default and
 * where the value goes (a long in struct gb_plugin). */
struct key {
	const char *name;
	key_fn parse;
	bool required;
	long min, max, def;
	size_t off;
};

#define SHOW_MAX 40                   /* manifest text quoted in messages */
#define ARENA_BLOCK 2048

/* ---- messages ----------------------------------------------------------- */

/* s, a C string, quoted in a message (gb_show). */
static void
show(char *dst, size_t dstlen, const char *s, size_t max)
{
	gb_show(dst, dstlen, s, strlen(s), max);
}

static void
fill_err(struct gb_plugin_error *err, const char *key, const char *fmt, va_list ap)
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
	char full[160];
	va_list ap;

	snprintf(full, sizeof(full), "%s%s", c->prefix, key);
	va_start(ap, fmt);
	fill_err(c->err, full, fmt, ap);
	va_end(ap);
	return GB_ECONFIG;
}

static void reg_err(struct gb_plugin_error *err, const char *file, const char *key,
                    const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
reg_err(struct gb_plugin_error *err, const char *file, const char *key,
        const char *fmt, ...)
{
	va_list ap;

	show(err->file, sizeof(err->file), file, sizeof(err->file) - 4);
	va_start(ap, fmt);
	fill_err(err, key, fmt, ap);
	va_end(ap);
}

/* ---- character classes (ASCII, no locale) ------------------------------ */

static char
lower(char ch)
{
	return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

static bool
is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* RFC 3986 pchar, less pct-encoded. */
static bool
is_pchar(char ch)
{
	return is_alnum(ch) || (ch != '\0' && strchr("-._~!$&'()*+,;=:@", ch) != NULL);
}

/* RFC 9110 tchar. */
static bool
is_tchar(char ch)
{
	return is_alnum(ch) || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* a and b equal ignoring ASCII case, '_' in a read as '-' when dash. */
static bool
name_eq(const char *a, const char *b, size_t n, bool dash)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char x = lower(a[i]);

		if (dash && x == '_')
			x = '-';
		if (x != b[i])
			return false;
	}
	return true;
}

/* ---- headers ------------------------------------------------------------ */

bool
gb_header_is_gateway_owned(const char *name)
{
	static const char *const exact[] = { "x-user-id", "x-company-id", "x-role", "x-internal" };
	size_t i, n;

	if (name == NULL)
		return false;
	n = strlen(name);
	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (n == strlen(exact[i]) && name_eq(name, exact[i], n, true))
			return true;
	return n >= 11 && name_eq(name, "x-internal-", 11, true);
}

bool
gb_header_is_hop_by_hop(const char *name)
{
	static const char *const hop[] = {
		"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
		"proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
	};
	size_t i, n;

	if (name == NULL)
		return false;
	n = strlen(name);
	for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (n == strlen(hop[i]) && name_eq(name, hop[i], n, true))
			return true;
	return false;
}

/* Why name may not be listed in a manifest, or NULL when it may. */
static const char *
header_refusal(const char *name, enum gb_plugin_auth mode)
{
	static const struct {
		const char *name;
		const char *why;
	} gateway_set[] = {
		{ "x-request-id", "is always sent by the gateway" },
		{ "traceparent", "is always sent by the gateway" },
		{ "host", "is set by the proxy from upstream" },
		{ "content-length", "is set by the proxy" },
	};
	size_t i, n = strlen(name);

	if (n == 0 || n > 128)
		return "is not a header name of 1 to 128 characters";
	for (i = 0; i < n; i++)
		if (!is_tchar(name[i]))
			return "is not a valid header name";
	if (gb_header_is_gateway_owned(name))
		return "is set only by the gateway";
	if (gb_header_is_hop_by_hop(name))
		return "is a hop-by-hop header";
	for (i = 0; i < sizeof(gateway_set) / sizeof(gateway_set[0]); i++)
		if (n == strlen(gateway_set[i].name) && name_eq(name, gateway_set[i].name, n, true))
			return gateway_set[i].why;
	if (n == 13 && name_eq(name, "authorization", n, false))
		return mode == GB_PLUGIN_FORWARD_JWT ?
		       "is always forwarded in forward_jwt" :
		       "carries the client's token, sent only in forward_jwt";
	return NULL;
}

bool
gb_plugin_header_allowed(const char *name)
{
	return name != NULL && header_refusal(name, GB_PLUGIN_PUBLIC) == NULL;
}

const char *
gb_plugin_auth_name(enum gb_plugin_auth mode)
{
	switch (mode) {
	case GB_PLUGIN_FORWARD_JWT: return "forward_jwt";
	case GB_PLUGIN_GATEWAY_VERIFIED: return "gateway_verified";
	case GB_PLUGIN_PUBLIC: return "public";
	}
	return "?";
}

/* ---- value parsers ------------------------------------------------------ */

static char *
copy_lower(struct gb_arena *a, const char *s)
{
	char *d = gb_arena_strdup(a, s);
	size_t i;

	if (d != NULL)
		for (i = 0; d[i] != '\0'; i++)
			d[i] = lower(d[i]);
	return d;
}

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

/* Checks s as an absolute path already in the form gb_path_normalize()
 * gives (which is what request paths are matched in), with only pchar
 * bytes, and stores it without a trailing slash ("/" stays "/"). */
static enum gb_err
check_path(struct ctx *c, const char *key, const char *s, bool allow_root, char **out)
{
	char shown[SHOW_MAX + 4], *norm = NULL;
	size_t n = strlen(s), i;
	enum gb_err e;

	show(shown, sizeof(shown), s, SHOW_MAX);
	if (n == 0 || s[0] != '/')
		return set_err(c, key, "must be an absolute path starting with '/', not \"%s\"", shown);
	if (n > GB_PLUGIN_PATH_MAX)
		return set_err(c, key, "must be at most %d bytes", GB_PLUGIN_PATH_MAX);
	if (strchr(s, '%') != NULL)
		return set_err(c, key, "must not contain '%%' (write the path decoded)");
	for (i = 0; i < n; i++)
		if (s[i] != '/' && !is_pchar(s[i]))
			return set_err(c, key, "holds a character not allowed in a path: \"%s\"", shown);
	e = gb_path_normalize(c->pl->a, s, n, &norm);
	if (e == GB_ENOMEM)
		return GB_ENOMEM;
	if (e != GB_OK || strcmp(norm, s) != 0)
		return set_err(c, key, "must be a normalized path (no empty, \".\" or \"..\" "
		               "segment), not \"%s\"", shown);
	if (n > 1 && norm[n - 1] == '/')
		norm[n - 1] = '\0';
	if (!allow_root && strcmp(norm, "/") == 0)
		return set_err(c, key, "must not be \"/\": it would take every route");
	*out = norm;
	return GB_OK;
}

static enum gb_err
k_name(struct ctx *c, const struct key *k, json_t *v)
{
	enum gb_err e;
	const char *s = want_string(c, k, v, &e);
	size_t i, n;

	if (s == NULL)
		return e;
	n = strlen(s);
	if (n < 1 || n > 64)
		return set_err(c, k->name, "must be 1 to 64 characters");
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '-'))
			return set_err(c, k->name, "must be made of a-z, 0-9, '_' and '-'");
	if ((c->p->name = gb_arena_strdup(c->pl->a, s)) == NULL)
		return GB_ENOMEM;
	return GB_OK;
}

static enum gb_err
k_version(struct ctx *c, const struct key *k, json_t *v)
{
	enum gb_err e;
	const char *s = want_string(c, k, v, &e);
	size_t i, n;

	if (s == NULL)
		return e;
	n = strlen(s);
	if (n < 1 || n > 32)
		return set_err(c, k->name, "must be 1 to 32 characters");
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f)
			return set_err(c, k->name, "must be printable ASCII without spaces");
	if ((c->p->version = gb_arena_strdup(c->pl->a, s)) == NULL)
		return GB_ENOMEM;
	return GB_OK;
}

static enum gb_err
k_auth(struct ctx *c, const struct key *k, json_t *v)
{
	static const enum gb_plugin_auth modes[] = {
		GB_PLUGIN_FORWARD_JWT, GB_PLUGIN_GATEWAY_VERIFIED, GB_PLUGIN_PUBLIC,
	};
	char shown[SHOW_MAX + 4];
	enum gb_err e;
	const char *s = want_string(c, k, v, &e);
	size_t i;

	if (s == NULL)
		return e;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(s, gb_plugin_auth_name(modes[i])) == 0) {
			c->p->auth_mode = modes[i];
			return GB_OK;
		}
	}
	show(shown, sizeof(shown), s, SHOW_MAX);
	return set_err(c, k->name, "must be forward_jwt, gateway_verified or public, not \"%s\"",
	               shown);
}

static enum gb_err
k_mount(struct ctx *c, const struct key *k, json_t *v)
{
	enum gb_err e;
	const char *s = want_string(c, k, v, &e);
	char *m;

	if (s == NULL)
		return e;
	if ((e = check_path(c, k->name, s, false, &m)) != GB_OK)
		return e;
	c->p->mount = m;
	c->p->mount_len = strlen(m);
	return GB_OK;
}

static enum gb_err
k_health_path(struct ctx *c, const struct key *k, json_t *v)
{
	enum gb_err e;
	const char *s = want_string(c, k, v, &e);
	char *h;

	if (s == NULL)
		return e;
	if ((e = check_path(c, k->name, s, true, &h)) != GB_OK)
		return e;
	c->p->health_path = h;
	return GB_OK;
}

/* host: a name of [A-Za-z0-9._-] starting with a letter or digit, or an
 * IPv6 literal in brackets. */
static bool
valid_host(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	if (s[0] == '[') {
		if (n < 4 || n > 47 || s[n - 1] != ']' || memchr(s, ':', n) == NULL)
			return false;
		for (i = 1; i < n - 1; i++)
			if (!((s[i] >= '0' && s[i] <= '9') || (lower(s[i]) >= 'a' && lower(s[i]) <= 'f') ||
			      s[i] == ':' || s[i] == '.'))
				return false;
	} else {
		if (n > 253 || !is_alnum(s[0]) || s[n - 1] == '.' || s[n - 1] == '-')
			return false;
		for (i = 0; i < n; i++)
			if ((!is_alnum(s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_') ||
			    (s[i] == '.' && s[i + 1] == '.'))
				return false;
	}
	return true;
}

static enum gb_err
k_upstream(struct ctx *c, const struct key *k, json_t *v)
{
	struct gb_plugin *p = c->p;
	struct gb_arena *a = c->pl->a;
	char shown[SHOW_MAX + 4], *host = NULL, *base = NULL;
	const char *s, *auth, *end, *colon;
	size_t n, i, slen, hlen;
	unsigned long port = 0;
	enum gb_err e;
	bool https;

	if ((s = want_string(c, k, v, &e)) == NULL)
		return e;
	n = strlen(s);
	show(shown, sizeof(shown), s, SHOW_MAX);
	if (n > GB_PLUGIN_URL_MAX)
		return set_err(c, k->name, "must be at most %d bytes", GB_PLUGIN_URL_MAX);
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f)
			return set_err(c, k->name, "must not contain spaces, control or non-ASCII bytes");
	/* before anything quotes the URL: it may hold a password */
	if (strchr(s, '@') != NULL)
		return set_err(c, k->name, "must not hold a user name or password ('@')");
	if (n >= 7 && name_eq(s, "http://", 7, false)) {
		https = false;
		slen = 7;
	} else if (n >= 8 && name_eq(s, "https://", 8, false)) {
		https = true;
		slen = 8;
	} else {
		return set_err(c, k->name, "must be an http:// or https:// URL, not \"%s\"", shown);
	}
	if (strpbrk(s, "?#") != NULL)
		return set_err(c, k->name, "must not have a query or a fragment");
	auth = s + slen;
	end = strchr(auth, '/');
	if (end == NULL)
		end = s + n;
	/* the port's ':' is after the IPv6 literal's ']' */
	colon = NULL;
	for (i = (size_t)(end - auth); i > 0; i--) {
		if (auth[i - 1] == ']')
			break;
		if (auth[i - 1] == ':') {
			colon = auth + i - 1;
			break;
		}
	}
	hlen = (size_t)((colon != NULL ? colon : end) - auth);
	if (!valid_host(auth, hlen))
		return set_err(c, k->name, "must name a valid host, not \"%s\"", shown);
	if ((host = gb_arena_strndup(a, auth, hlen)) == NULL)
		return GB_ENOMEM;
	for (i = 0; i < hlen; i++)
		host[i] = lower(host[i]);
	if (colon != NULL) {
		if (colon + 1 == end || end - colon > 6)
			return set_err(c, k->name, "has a bad port");
		for (i = 1; colon + i < end; i++) {
			if (colon[i] < '0' || colon[i] > '9')
				return set_err(c, k->name, "has a bad port");
			port = port * 10 + (unsigned long)(colon[i] - '0');
		}
		if (port < 1 || port > 65535)
			return set_err(c, k->name, "has a port outside 1 to 65535");
	} else {
		port = https ? 443 : 80;
	}
	if (*end == '/') {
		if ((e = check_path(c, k->name, end, true, &base)) != GB_OK)
			return e;
		if (strcmp(base, "/") == 0)
			base[0] = '\0';
	} else {
		base = gb_arena_strdup(a, "");
	}
	p->upstream = gb_arena_strdup(a, s);
	p->scheme = https ? "https" : "http";
	p->host = host;
	p->port = (unsigned)port;
	p->base_path = base;
	p->upstream_origin = gb_arena_printf(a, "%s://%s:%lu", p->scheme, host, port);
	if (p->upstream == NULL || p->base_path == NULL || p->upstream_origin == NULL)
		return GB_ENOMEM;
	return GB_OK;
}

static enum gb_err
k_long(struct ctx *c, const struct key *k, json_t *v)
{
	json_int_t x;

	if (!json_is_integer(v))
		return set_err(c, k->name, "must be a whole number from %ld to %ld", k->min, k->max);
	x = json_integer_value(v);
	if (x < k->min || x > k->max)
		return set_err(c, k->name, "must be from %ld to %ld, not %lld", k->min, k->max,
		               (long long)x);
	*(long *)((char *)c->p + k->off) = (long)x;
	return GB_OK;
}

static enum gb_err
k_keep_prefix(struct ctx *c, const struct key *k, json_t *v)
{
	if (!json_is_boolean(v))
		return set_err(c, k->name, "must be true or false");
	c->p->keep_mount_prefix = json_is_true(v);
	return GB_OK;
}

/* A forward_headers or inject_headers name: allowed, lowercased, new. */
static enum gb_err
header_name(struct ctx *c, const char *key, const char *name, char **out)
{
	char shown[SHOW_MAX + 4];
	const char *why = header_refusal(name, c->p->auth_mode);
	char *low;
	size_t i;

	show(shown, sizeof(shown), name, SHOW_MAX);
	if (why != NULL)
		return set_err(c, key, "\"%s\" %s", shown, why);
	if ((low = copy_lower(c->pl->a, name)) == NULL)
		return GB_ENOMEM;
	for (i = 0; i < c->p->nforward_headers; i++)
		if (strcmp(c->p->forward_headers[i], low) == 0)
			return set_err(c, key, "\"%s\" is already in forward_headers", shown);
	for (i = 0; i < c->p->ninject_headers; i++)
		if (strcmp(c->p->inject_headers[i].name, low) == 0)
			return set_err(c, key, "\"%s\" is already in inject_headers", shown);
	*out = low;
	return GB_OK;
}

static enum gb_err
k_forward(struct ctx *c, const struct key *k, json_t *v)
{
	const char **names;
	size_t i, n;
	enum gb_err e;
	char *name;

	if (!json_is_array(v))
		return set_err(c, k->name, "must be an array of header names");
	n = json_array_size(v);
	if (n > GB_PLUGIN_HEADERS_MAX)
		return set_err(c, k->name, "must list at most %d headers", GB_PLUGIN_HEADERS_MAX);
	if ((names = gb_arena_calloc(c->pl->a, n + 1, sizeof(*names))) == NULL)
		return GB_ENOMEM;
	c->p->forward_headers = names;
	c->p->nforward_headers = 0;
	for (i = 0; i < n; i++) {
		json_t *it = json_array_get(v, i);

		if (!json_is_string(it))
			return set_err(c, k->name, "must be an array of strings");
		if ((e = header_name(c, k->name, json_string_value(it), &name)) != GB_OK)
			return e;
		names[c->p->nforward_headers++] = name;
	}
	return GB_OK;
}

static enum gb_err
k_inject(struct ctx *c, const struct key *k, json_t *v)
{
	struct gb_plugin_header *h;
	char key[160], *name, *val;
	const char *hk, *hs;
	json_t *hv;
	size_t i;
	enum gb_err e;

	if (!json_is_object(v))
		return set_err(c, k->name, "must be an object of header names to values");
	if (json_object_size(v) > GB_PLUGIN_HEADERS_MAX)
		return set_err(c, k->name, "must hold at most %d headers", GB_PLUGIN_HEADERS_MAX);
	h = gb_arena_calloc(c->pl->a, json_object_size(v) + 1, sizeof(*h));
	if (h == NULL)
		return GB_ENOMEM;
	c->p->inject_headers = h;
	c->p->ninject_headers = 0;
	json_object_foreach(v, hk, hv) {
		snprintf(key, sizeof(key), "%s.%s", k->name, hk);
		if ((e = header_name(c, key, hk, &name)) != GB_OK)
			return e;
		if (!json_is_string(hv))
			return set_err(c, key, "must be a string");
		hs = json_string_value(hv);
		if (json_string_length(hv) > GB_PLUGIN_HEADER_VALUE_MAX)
			return set_err(c, key, "must be at most %d bytes", GB_PLUGIN_HEADER_VALUE_MAX);
		for (i = 0; i < json_string_length(hv); i++) {
			unsigned char ch = (unsigned char)hs[i];

			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return set_err(c, key, "must not contain control characters (CR, LF, NUL ...)");
		}
		if ((val = gb_arena_strdup(c->pl->a, hs)) == NULL)
			return GB_ENOMEM;
		h[c->p->ninject_headers].name = name;
		h[c->p->ninject_headers].value = val;
		c->p->ninject_headers++;
	}
	return GB_OK;
}

static enum gb_err
k_roles(struct ctx *c, const struct key *k, json_t *v)
{
	char shown[SHOW_MAX + 4];
	unsigned bit, roles = 0;
	size_t i;

	if (!json_is_array(v))
		return set_err(c, k->name, "must be an array of role names");
	if (json_array_size(v) > 0 && c->p->auth_mode == GB_PLUGIN_PUBLIC)
		return set_err(c, k->name, "must be empty when auth_mode is public");
	for (i = 0; i < json_array_size(v); i++) {
		json_t *it = json_array_get(v, i);

		if (!json_is_string(it))
			return set_err(c, k->name, "must be an array of strings");
		show(shown, sizeof(shown), json_string_value(it), SHOW_MAX);
		bit = gb_role_bit(json_string_value(it));
		if (bit == 0)
			return set_err(c, k->name, "\"%s\" is not owner, admin, member or viewer", shown);
		if (roles & bit)
			return set_err(c, k->name, "\"%s\" is listed twice", shown);
		roles |= bit;
	}
	c->p->roles = roles;
	return GB_OK;
}

static enum gb_err
k_rate(struct ctx *c, const struct key *k, json_t *v)
{
	double x;

	if (!json_is_number(v))
		return set_err(c, k->name, "must be a number from 0.0001 to 1000000");
	x = json_number_value(v);
	if (!isfinite(x) || x < 0.0001 || x > 1000000)
		return set_err(c, k->name, "must be a number from 0.0001 to 1000000");
	c->p->rate = x;
	return GB_OK;
}

static enum gb_err
k_secret_file(struct ctx *c, const struct key *k, json_t *v)
{
	enum gb_err e;
	const char *s = want_string(c, k, v, &e);
	size_t i, n;

	if (s == NULL)
		return e;
	if (c->p->auth_mode != GB_PLUGIN_GATEWAY_VERIFIED)
		return set_err(c, k->name, "is only for auth_mode gateway_verified");
	n = strlen(s);
	if (n < 2 || s[0] != '/' || n > 4095)
		return set_err(c, k->name, "must be an absolute path");
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return set_err(c, k->name, "must not contain control characters");
	if ((c->p->secret_file = gb_arena_strdup(c->pl->a, s)) == NULL)
		return GB_ENOMEM;
	return GB_OK;
}

static enum gb_err parse_object(struct ctx *c, const struct key *keys, size_t nkeys,
                                json_t *obj, const char *prefix);

#define OFF(f) offsetof(struct gb_plugin, f)
#define NELEM(t) (sizeof(t) / sizeof((t)[0]))

static const struct key rate_keys[] = {
	{ "rate", k_rate, true, 0, 0, 0, 0 },
	{ "capacity", k_long, true, 1, 1000000, 0, OFF(capacity) },
};

static const struct key cb_keys[] = {
	{ "failure_threshold", k_long, false, 1, 1000, 5, OFF(breaker_failure_threshold) },
	{ "open_ms", k_long, false, 100, 600000, 30000, OFF(breaker_open_ms) },
	{ "half_open_max", k_long, false, 1, 100, 1, OFF(breaker_half_open_max) },
};

static enum gb_err
k_rate_limit(struct ctx *c, const struct key *k, json_t *v)
{
	enum gb_err e;

	if (!json_is_object(v))
		return set_err(c, k->name, "must be an object {\"rate\": ..., \"capacity\": ...}");
	if ((e = parse_object(c, rate_keys, NELEM(rate_keys), v, "rate_limit.")) != GB_OK)
		return e;
	c->p->has_rate_limit = true;
	return GB_OK;
}

static enum gb_err
k_circuit_breaker(struct ctx *c, const struct key *k, json_t *v)
{
	if (!json_is_object(v))
		return set_err(c, k->name, "must be an object");
	return parse_object(c, cb_keys, NELEM(cb_keys), v, "circuit_breaker.");
}

/* In the order checked: auth_mode before the keys whose rules depend on
 * it, forward_headers before inject_headers. */
static const struct key top_keys[] = {
	{ "name", k_name, true, 0, 0, 0, 0 },
	{ "version", k_version, true, 0, 0, 0, 0 },
	{ "auth_mode", k_auth, true, 0, 0, 0, 0 },
	{ "mount", k_mount, true, 0, 0, 0, 0 },
	{ "upstream", k_upstream, true, 0, 0, 0, 0 },
	{ "timeout_ms", k_long, false, 1, 300000, 10000, OFF(timeout_ms) },
	{ "connect_timeout_ms", k_long, false, 1, 60000, 2000, OFF(connect_timeout_ms) },
	{ "forward_headers", k_forward, false, 0, 0, 0, 0 },
	{ "inject_headers", k_inject, false, 0, 0, 0, 0 },
	{ "keep_mount_prefix", k_keep_prefix, false, 0, 0, 0, 0 },
	{ "roles", k_roles, false, 0, 0, 0, 0 },
	{ "rate_limit", k_rate_limit, false, 0, 0, 0, 0 },
	{ "retries", k_long, false, 0, 5, 0, OFF(retries) },
	{ "health_path", k_health_path, false, 0, 0, 0, 0 },
	{ "max_body_bytes", k_long, false, 0, 1073741824, 10485760, OFF(max_body_bytes) },
	{ "circuit_breaker", k_circuit_breaker, false, 0, 0, 0, 0 },
	{ "secret_file", k_secret_file, false, 0, 0, 0, 0 },
};

static void
set_defaults(struct gb_plugin *p, const struct key *keys, size_t nkeys)
{
	size_t i;

	for (i = 0; i < nkeys; i++)
		if (keys[i].parse == k_long && !keys[i].required)
			*(long *)((char *)p + keys[i].off) = keys[i].def;
}

static enum gb_err
parse_object(struct ctx *c, const struct key *keys, size_t nkeys, json_t *obj,
             const char *prefix)
{
	const char *saved = c->prefix, *name;
	enum gb_err e = GB_OK;
	json_t *v;
	size_t i;

	c->prefix = prefix;
	/* unknown keys first: a typo must not pass as an absent optional key */
	json_object_foreach(obj, name, v) {
		for (i = 0; i < nkeys; i++)
			if (strcmp(name, keys[i].name) == 0)
				break;
		if (i == nkeys) {
			e = set_err(c, name, "is not a known key");
			goto out;
		}
	}
	for (i = 0; i < nkeys; i++) {
		v = json_object_get(obj, keys[i].name);
		if (v == NULL) {
			if (keys[i].required) {
				e = set_err(c, keys[i].name, "is required");
				goto out;
			}
			continue;
		}
		if ((e = keys[i].parse(c, &keys[i], v)) != GB_OK)
			goto out;
	}
out:
	c->prefix = saved;
	return e;
}

/* ---- manifests ---------------------------------------------------------- */

/* jansson names a duplicate key only inside its message: near '"key"'. */
static void
json_err(struct gb_plugin_error *err, const char *file, const json_error_t *je)
{
	char key[96] = "";
	const char *s, *t;

	if (json_error_code(je) == json_error_duplicate_key &&
	    (s = strstr(je->text, "near '\"")) != NULL &&
	    (t = strrchr(s + 7, '"')) != NULL && t > s + 7) {
		snprintf(key, sizeof(key), "%.*s", (int)(t - (s + 7)), s + 7);
		reg_err(err, file, key, "line %d column %d: the key appears twice",
		        je->line, je->column);
		return;
	}
	reg_err(err, file, key, "line %d column %d: %s", je->line, je->column, je->text);
}

enum gb_err
gb_plugin_parse(const char *text, size_t len, const char *file, struct gb_plugin **out,
                struct gb_plugin_error *err)
{
	struct gb_plugin_error dummy;
	struct plugin *pl = NULL;
	struct ctx c;
	json_error_t je;
	json_t *root = NULL;
	enum gb_err e;

	if (err == NULL)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	if (file == NULL)
		file = "";
	show(err->file, sizeof(err->file), file, sizeof(err->file) - 4);
	if (text == NULL || out == NULL) {
		reg_err(err, file, "", "no manifest given");
		return GB_ECONFIG;
	}
	if (len > GB_PLUGIN_FILE_MAX) {
		reg_err(err, file, "", "is larger than %d bytes", GB_PLUGIN_FILE_MAX);
		return GB_ECONFIG;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		json_err(err, file, &je);
		return GB_ECONFIG;
	}
	if (!json_is_object(root)) {
		reg_err(err, file, "", "must be a JSON object");
		e = GB_ECONFIG;
		goto err;
	}
	e = GB_ENOMEM;
	if ((pl = calloc(1, sizeof(*pl))) == NULL ||
	    (pl->a = gb_arena_new(ARENA_BLOCK)) == NULL ||
	    (pl->pub.file = gb_arena_strdup(pl->a, file)) == NULL)
		goto err;
	set_defaults(&pl->pub, top_keys, NELEM(top_keys));
	set_defaults(&pl->pub, cb_keys, NELEM(cb_keys));
	pl->pub.forward_headers = (const char *const *)gb_arena_calloc(pl->a, 1, sizeof(char *));
	pl->pub.inject_headers = gb_arena_calloc(pl->a, 1, sizeof(struct gb_plugin_header));
	if (pl->pub.forward_headers == NULL || pl->pub.inject_headers == NULL)
		goto err;
	c.pl = pl;
	c.p = &pl->pub;
	c.err = err;
	c.prefix = "";
	if ((e = parse_object(&c, top_keys, NELEM(top_keys), root, "")) != GB_OK)
		goto err;
	if (pl->pub.auth_mode == GB_PLUGIN_GATEWAY_VERIFIED && pl->pub.secret_file == NULL) {
		e = set_err(&c, "secret_file", "is required when auth_mode is gateway_verified");
		goto err;
	}
	json_decref(root);
	*out = &pl->pub;
	return GB_OK;
err:
	if (e == GB_ENOMEM)
		reg_err(err, file, "", "out of memory");
	json_decref(root);
	gb_plugin_free(pl != NULL ? &pl->pub : NULL);
	return e;
}

void
gb_plugin_free(struct gb_plugin *p)
{
	struct plugin *pl = (struct plugin *)p;

	if (pl == NULL)
		return;
	if (pl->secret != NULL) {
		explicit_bzero(pl->secret, pl->secret_len);
		free(pl->secret);
	}
	gb_arena_free(pl->a);
	free(pl);
}

enum gb_err
gb_plugin_upstream_path(struct gb_arena *a, const struct gb_plugin *p, const char *path,
                        const char *rest, char **out)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *tail;
	size_t bl, tl, i, o;
	char *s;

	if (a == NULL || p == NULL || path == NULL || rest == NULL || out == NULL ||
	    path[0] != '/' || (rest[0] != '\0' && rest[0] != '/'))
		return GB_EINVAL;
	tail = p->keep_mount_prefix ? path : (rest[0] != '\0' ? rest : "/");
	bl = strlen(p->base_path);
	tl = strlen(tail);
	if (tl > (SIZE_MAX - bl - 1) / 3)
		return GB_ENOMEM;
	if ((s = gb_arena_alloc(a, bl + 3 * tl + 1)) == NULL)
		return GB_ENOMEM;
	memcpy(s, p->base_path, bl);
	o = bl;
	for (i = 0; i < tl; i++) {
		char ch = tail[i];

		if (ch == '/' || is_pchar(ch)) {
			s[o++] = ch;
		} else {
			s[o++] = '%';
			s[o++] = hex[(unsigned char)ch >> 4];
			s[o++] = hex[(unsigned char)ch & 15];
		}
	}
	s[o] = '\0';
	*out = s;
	return GB_OK;
}

/* ---- the registry ------------------------------------------------------- */

/* Reads all of fd, a regular file of at most max bytes, into a new buffer
 * (NUL-terminated); why says what failed. */
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
			explicit_bzero(buf, len);
			free(buf);
			return GB_ECONFIG;
		}
		len += (size_t)n;
	}
	if (len > max) {
		*why = "too large";
		explicit_bzero(buf, len);
		free(buf);
		return GB_ECONFIG;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return GB_OK;
}

/* The first line of p->secret_file becomes p's key. */
static enum gb_err
load_secret(struct plugin *pl, struct gb_plugin_error *err)
{
	const char *why = NULL, *path = pl->pub.secret_file;
	char *buf = NULL;
	size_t len = 0, line;
	enum gb_err e;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		reg_err(err, pl->pub.file, "secret_file", "cannot open %s: %s", path, strerror(errno));
		return GB_ECONFIG;
	}
	e = read_all(fd, GB_PLUGIN_FILE_MAX, &buf, &len, &why);
	close(fd);
	if (e == GB_ENOMEM)
		return e;
	if (e != GB_OK) {
		reg_err(err, pl->pub.file, "secret_file", "cannot read %s: %s", path, why);
		return e;
	}
	line = strcspn(buf, "\r\n");
	e = GB_ECONFIG;
	if (line < len && buf[line] != '\r' && buf[line] != '\n')
		reg_err(err, pl->pub.file, "secret_file", "%s holds a NUL byte", path);
	else if (line < GB_PLUGIN_SECRET_MIN)
		reg_err(err, pl->pub.file, "secret_file", "the first line of %s is shorter than %d bytes",
		        path, GB_PLUGIN_SECRET_MIN);
	else if (line > GB_PLUGIN_SECRET_MAX)
		reg_err(err, pl->pub.file, "secret_file", "the first line of %s is longer than %d bytes",
		        path, GB_PLUGIN_SECRET_MAX);
	else if ((pl->secret = malloc(line)) == NULL)
		e = GB_ENOMEM;
	else
		e = GB_OK;
	if (e == GB_OK) {
		memcpy(pl->secret, buf, line);
		pl->secret_len = line;
		pl->pub.secret = pl->secret;
		pl->pub.secret_len = line;
	}
	explicit_bzero(buf, len);
	free(buf);
	return e;
}

static int
cmp_mount_len(const void *x, const void *y)
{
	const struct gb_plugin *a = *(const struct gb_plugin *const *)x;
	const struct gb_plugin *b = *(const struct gb_plugin *const *)y;

	if (a->mount_len != b->mount_len)
		return a->mount_len > b->mount_len ? -1 : 1;
	return strcmp(a->mount, b->mount);
}

/* The NAME.json files of the directory dfd, sorted. */
static enum gb_err
list_dir(int dfd, const char *dir, char ***out, size_t *n, struct gb_plugin_error *err)
{
	enum gb_err e = gb_dir_json_names(dfd, GB_PLUGIN_MAX, out, n);

	if (e == GB_EIO)
		reg_err(err, dir, "", "cannot read the directory: %s", strerror(errno));
	else if (e == GB_ETOOBIG)
		reg_err(err, dir, "", "holds more than %d manifests", GB_PLUGIN_MAX);
	else if (e == GB_ENOMEM)
		reg_err(err, dir, "", "out of memory");
	return e == GB_OK ? GB_OK : e == GB_ENOMEM ? GB_ENOMEM : GB_ECONFIG;
}

/* Loads dir/name into a new plugin. */
static enum gb_err
load_one(int dfd, const char *dir, const char *name, struct gb_plugin **out,
         struct gb_plugin_error *err)
{
	const char *why = NULL;
	char *path, *text = NULL;
	size_t len = 0;
	enum gb_err e;
	int fd;

	size_t plen = strlen(dir) + strlen(name) + 2;

	if ((path = malloc(plen)) == NULL)
		return GB_ENOMEM;
	snprintf(path, plen, "%s/%s", dir, name);
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		reg_err(err, path, "", "cannot open: %s", strerror(errno));
		e = GB_ECONFIG;
		goto out;
	}
	e = read_all(fd, GB_PLUGIN_FILE_MAX, &text, &len, &why);
	close(fd);
	if (e == GB_ECONFIG) {
		if (strcmp(why, "too large") == 0)
			reg_err(err, path, "", "is larger than %d bytes", GB_PLUGIN_FILE_MAX);
		else
			reg_err(err, path, "", "cannot read: %s", why);
	}
	if (e != GB_OK)
		goto out;
	if ((e = gb_plugin_parse(text, len, path, out, err)) != GB_OK)
		goto out;
	if ((*out)->auth_mode == GB_PLUGIN_GATEWAY_VERIFIED &&
	    (e = load_secret((struct plugin *)*out, err)) != GB_OK) {
		gb_plugin_free(*out);
		*out = NULL;
	}
out:
	free(text);
	free(path);
	return e;
}

enum gb_err
gb_registry_load(const char *dir, struct gb_registry **out, struct gb_plugin_error *err)
{
	struct gb_plugin_error dummy;
	struct gb_registry *r = NULL;
	struct gb_plugin *p = NULL;
	char **names = NULL;
	size_t n = 0, i, j;
	enum gb_err e;
	int dfd = -1;

	if (err == NULL)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	if (dir == NULL || out == NULL) {
		reg_err(err, "", "", "no directory given");
		return GB_ECONFIG;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		reg_err(err, dir, "", "cannot open the directory: %s", strerror(errno));
		return GB_ECONFIG;
	}
	if ((e = list_dir(dfd, dir, &names, &n, err)) != GB_OK)
		goto err;
	e = GB_ENOMEM;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (n > 0 && ((r->v = calloc(n, sizeof(*r->v))) == NULL ||
	               (r->by_len = calloc(n, sizeof(*r->by_len))) == NULL))) {
		reg_err(err, dir, "", "out of memory");
		goto err;
	}
	for (i = 0; i < n; i++) {
		if ((e = load_one(dfd, dir, names[i], &p, err)) != GB_OK)
			goto err;
		for (j = 0; j < r->n; j++) {
			const char *other = strrchr(r->v[j]->file, '/') + 1;

			if (strcmp(r->v[j]->name, p->name) == 0) {
				reg_err(err, p->file, "name", "\"%s\" is already the name of %s",
				        p->name, other);
				e = GB_ECONFIG;
			} else if (strcmp(r->v[j]->mount, p->mount) == 0) {
				reg_err(err, p->file, "mount", "\"%s\" is already the mount of %s",
				        p->mount, other);
				e = GB_ECONFIG;
			}
			if (e != GB_OK) {
				gb_plugin_free(p);
				goto err;
			}
		}
		r->v[r->n++] = p;
	}
	if (n > 0) {
		memcpy(r->by_len, r->v, n * sizeof(*r->v));
		qsort(r->by_len, n, sizeof(*r->by_len), cmp_mount_len);
	}
	gb_dir_names_free(names, n);
	close(dfd);
	*out = r;
	return GB_OK;
err:
	if (e == GB_ENOMEM && err->msg[0] == '\0')
		reg_err(err, dir, "", "out of memory");
	gb_dir_names_free(names, n);
	gb_registry_free(r);
	close(dfd);
	return e;
}

void
gb_registry_free(struct gb_registry *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		gb_plugin_free(r->v[i]);
	free(r->v);
	free(r->by_len);
	free(r);
}

size_t
gb_registry_count(const struct gb_registry *r)
{
	return r != NULL ? r->n : 0;
}

const struct gb_plugin *
gb_registry_at(const struct gb_registry *r, size_t i)
{
	return r != NULL && i < r->n ? r->v[i] : NULL;
}

const struct gb_plugin *
gb_registry_match(const struct gb_registry *r, const char *path, const char **rest)
{
	const struct gb_plugin *p;
	size_t i;

	if (r == NULL || path == NULL || path[0] != '/')
		return NULL;
	for (i = 0; i < r->n; i++) {
		p = r->by_len[i];
		if (strncmp(path, p->mount, p->mount_len) == 0 &&
		    (path[p->mount_len] == '\0' || path[p->mount_len] == '/')) {
			if (rest != NULL)
				*rest = path + p->mount_len;
			return p;
		}
	}
	return NULL;
}
