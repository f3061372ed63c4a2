#include "config.h"
#include "gb_cors.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Characters of an entry shown in a message. */
#define SHOW_MAX 48

struct span {
	const char *s;
	size_t len;
};

struct gb_cors {
	bool on;                /* origins was not empty */
	bool any;               /* origins was "*" */
	bool credentials;
	size_t norigins;
	struct span origins[GB_CORS_ORIGINS_MAX];  /* NUL-terminated, in obuf */
	size_t nallow;
	struct span allow[GB_CORS_NAMES_MAX];      /* in allow_headers */
	char *obuf;
	char *allow_headers;    /* ", "-joined; NULL for none */
	char *expose_headers;   /* the same */
	char max_age[24];
};

static bool
is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

/* The next entry of s from *pos on, in a list separated by any run of
 * commas, spaces and tabs: its start, with *len set; NULL at the end. */
static const char *
next_entry(const char *s, size_t *pos, size_t *len)
{
	size_t i = *pos, start;

	while (is_sep(s[i]))
		i++;
	if (s[i] == '\0') {
		*pos = i;
		return NULL;
	}
	start = i;
	while (s[i] != '\0' && !is_sep(s[i]))
		i++;
	*pos = i;
	*len = i - start;
	return s + start;
}

/* An RFC 9110 token: header names and methods. */
static bool
is_token(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL)))
			return false;
	}
	return true;
}

/* ASCII case-insensitive equality of a[0..n) and b[0..n), whatever the
 * locale. */
static bool
ascii_caseeq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/* "option entry N "text": reason" into why, text shown with bytes outside
 * printable ASCII as '?' and cut at SHOW_MAX characters. */
static void
fail(char *why, size_t whysize, const char *opt, size_t index, const char *s, size_t len,
     const char *reason)
{
	char shown[SHOW_MAX + 4];

	if (why == NULL)
		return;
	gb_show(shown, sizeof(shown), s, len, SHOW_MAX);
	snprintf(why, whysize, "%s entry %zu \"%s\": %s", opt, index, shown, reason);
}

/* NULL when s[0..n) is an origin as a browser serialises it; else why not. */
static const char *
origin_bad(const char *s, size_t n)
{
	size_t i, h, label = 0, p, port = 0;
	const char *dport;

	if (n > GB_CORS_ORIGIN_MAX)
		return "longer than 512 bytes";
	if (n == 4 && memcmp(s, "null", 4) == 0)
		return "\"null\" is never allowed: every sandboxed frame and file: page sends it";
	if (n == 1 && s[0] == '*')
		return "\"*\" must be the only entry";
	if (n >= 8 && memcmp(s, "https://", 8) == 0) {
		h = 8;
		dport = "443";
	} else if (n >= 7 && memcmp(s, "http://", 7) == 0) {
		h = 7;
		dport = "80";
	} else if ((n >= 8 && ascii_caseeq(s, "https://", 8)) ||
	           (n >= 7 && ascii_caseeq(s, "http://", 7))) {
		return "write the scheme in lowercase, as browsers send it";
	} else {
		return "not http:// or https:// and a host";
	}
	i = h;
	if (i < n && s[i] == '[') {
		char buf[INET6_ADDRSTRLEN];
		unsigned char a[16];

		for (i++; i < n && s[i] != ']'; i++)
			if (s[i] >= 'A' && s[i] <= 'F')
				return "write the host in lowercase, as browsers send it";
		if (i == n || i - h - 1 == 0 || i - h - 1 >= sizeof(buf))
			return "bad IPv6 address";
		memcpy(buf, s + h + 1, i - h - 1);
		buf[i - h - 1] = '\0';
		if (inet_pton(AF_INET6, buf, a) != 1)
			return "bad IPv6 address";
		i++;
	} else {
		for (; i < n; i++) {
			char c = s[i];

			if (c == '.') {
				if (label == 0)
					return "empty label in the host name";
				label = 0;
			} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			           c == '_') {
				if (++label > 63)
					return "host name label longer than 63";
			} else if (c >= 'A' && c <= 'Z') {
				return "write the host in lowercase, as browsers send it";
			} else {
				break;
			}
		}
		if (i == h)
			return "no host";
		if (label == 0)
			return "empty label in the host name";
	}
	if (i < n && s[i] == ':') {
		for (p = ++i; i < n && s[i] >= '0' && s[i] <= '9' && i - p < 6; i++)
			port = port * 10 + (size_t)(s[i] - '0');
		if (i == p || i - p > 5 || s[p] == '0' || port > 65535)
			return "bad port";
		if (i - p == strlen(dport) && memcmp(s + p, dport, i - p) == 0)
			return "drop the scheme's default port: browsers never send it";
	}
	if (i == n)
		return NULL;
	switch (s[i]) {
	case '/':
		return "no path, not even a trailing slash";
	case '?':
	case '#':
		return "no query or fragment";
	case '@':
		return "no user name";
	default:
		return "bad character";
	}
}

static enum gb_err
origins_parse(struct gb_cors *c, const char *spec, char *why, size_t whysize)
{
	size_t pos = 0, len, n = 0, o = 0;
	const char *e, *bad;

	if (spec == NULL)
		spec = "";
	while ((e = next_entry(spec, &pos, &len)) != NULL)
		n++;
	c->on = n > 0;
	pos = 0;
	e = next_entry(spec, &pos, &len);
	if (n == 1 && len == 1 && e[0] == '*') {
		c->any = true;
		return GB_OK;
	}
	if (n == 0)
		return GB_OK;
	c->obuf = malloc(strlen(spec) + 1);
	if (c->obuf == NULL) {
		if (why != NULL)
			snprintf(why, whysize, "out of memory");
		return GB_ENOMEM;
	}
	for (; e != NULL; e = next_entry(spec, &pos, &len)) {
		bad = c->norigins == GB_CORS_ORIGINS_MAX ? "more than 64 origins" : origin_bad(e, len);
		if (bad != NULL) {
			fail(why, whysize, "origins", c->norigins + 1, e, len, bad);
			return GB_EINVAL;
		}
		memcpy(c->obuf + o, e, len);
		c->obuf[o + len] = '\0';
		c->origins[c->norigins].s = c->obuf + o;
		c->origins[c->norigins].len = len;
		c->norigins++;
		o += len + 1;
	}
	return GB_OK;
}

/* Parses a list of header names into *joined (", "-joined, NULL for an
 * empty list) and, when spans is not NULL, the names into spans[0..*n). */
static enum gb_err
names_parse(const char *spec, const char *opt, char **joined, struct span *spans, size_t *n,
            char *why, size_t whysize)
{
	size_t pos = 0, len, o = 0, count = 0;
	const char *e, *bad;
	char *j;

	*joined = NULL;
	if (spec == NULL)
		return GB_OK;
	/* Each name but the first has a separator before it in spec, so
	 * ", " between them at most doubles the length. */
	j = malloc(2 * strlen(spec) + 1);
	if (j == NULL) {
		if (why != NULL)
			snprintf(why, whysize, "out of memory");
		return GB_ENOMEM;
	}
	while ((e = next_entry(spec, &pos, &len)) != NULL) {
		bad = NULL;
		if (count == GB_CORS_NAMES_MAX)
			bad = "more than 64 names";
		else if (len == 1 && e[0] == '*')
			bad = "\"*\" is not supported: name the headers";
		else if (len > GB_CORS_NAME_MAX)
			bad = "longer than 128 bytes";
		else if (!is_token(e, len))
			bad = "not a header name";
		if (bad != NULL) {
			fail(why, whysize, opt, count + 1, e, len, bad);
			free(j);
			return GB_EINVAL;
		}
		if (o > 0) {
			j[o++] = ',';
			j[o++] = ' ';
		}
		memcpy(j + o, e, len);
		if (spans != NULL) {
			spans[count].s = j + o;
			spans[count].len = len;
		}
		o += len;
		count++;
	}
	if (count == 0) {
		free(j);
		return GB_OK;
	}
	j[o] = '\0';
	*joined = j;
	if (n != NULL)
		*n = count;
	return GB_OK;
}

enum gb_err
gb_cors_new(const struct gb_cors_opts *o, struct gb_cors **out, char *why, size_t whysize)
{
	struct gb_cors *c;
	enum gb_err err = GB_EINVAL;

	if (o == NULL) {
		if (why != NULL)
			snprintf(why, whysize, "no options");
		return GB_EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		if (why != NULL)
			snprintf(why, whysize, "out of memory");
		return GB_ENOMEM;
	}
	c->credentials = o->credentials;
	if (o->max_age_s < 0 || o->max_age_s > GB_CORS_MAX_AGE_MAX) {
		if (why != NULL)
			snprintf(why, whysize, "max_age_s: %ld is not 0 to %d seconds", o->max_age_s,
			         GB_CORS_MAX_AGE_MAX);
		goto err;
	}
	snprintf(c->max_age, sizeof(c->max_age), "%ld", o->max_age_s);
	if ((err = origins_parse(c, o->origins, why, whysize)) != GB_OK)
		goto err;
	if (c->any && c->credentials) {
		if (why != NULL)
			snprintf(why, whysize, "credentials: not with origins \"*\", which would let "
			         "any site act as the user; list the origins");
		err = GB_EINVAL;
		goto err;
	}
	err = names_parse(o->allow_headers, "allow_headers", &c->allow_headers, c->allow,
	                  &c->nallow, why, whysize);
	if (err != GB_OK)
		goto err;
	err = names_parse(o->expose_headers, "expose_headers", &c->expose_headers, NULL, NULL,
	                  why, whysize);
	if (err != GB_OK)
		goto err;
	*out = c;
	return GB_OK;
err:
	gb_cors_free(c);
	return err;
}

void
gb_cors_free(struct gb_cors *c)
{
	if (c == NULL)
		return;
	free(c->obuf);
	free(c->allow_headers);
	free(c->expose_headers);
	free(c);
}

bool
gb_cors_enabled(const struct gb_cors *c)
{
	return c != NULL && c->on;
}

/* The value for Access-Control-Allow-Origin, or NULL for a foreign origin. */
static const char *
origin_match(const struct gb_cors *c, const char *origin)
{
	size_t n = strnlen(origin, GB_CORS_ORIGIN_MAX + 1), i;

	if (n == 0 || n > GB_CORS_ORIGIN_MAX || (n == 4 && memcmp(origin, "null", 4) == 0))
		return NULL;
	if (c->any)
		return "*";
	for (i = 0; i < c->norigins; i++)
		if (c->origins[i].len == n && memcmp(c->origins[i].s, origin, n) == 0)
			return c->origins[i].s;
	return NULL;
}

/* True when method is one of allow_methods and allow_methods is a list of
 * tokens, safe to send back as a header value. */
static bool
method_allowed(const char *allow_methods, const char *method)
{
	size_t pos = 0, len, mlen;
	const char *e;
	bool found = false;

	if (allow_methods == NULL || strnlen(allow_methods, GB_CORS_METHODS_MAX + 1) >
	    GB_CORS_METHODS_MAX)
		return false;
	mlen = strnlen(method, GB_CORS_METHODS_MAX + 1);
	while ((e = next_entry(allow_methods, &pos, &len)) != NULL) {
		if (!is_token(e, len))
			return false;
		if (len == mlen && memcmp(e, method, len) == 0)
			found = true;
	}
	return found;
}

/* True when every name in acr_headers is in c's allow_headers. */
static bool
headers_allowed(const struct gb_cors *c, const char *acr_headers)
{
	size_t pos = 0, len, n = 0, i;
	const char *e;

	if (acr_headers == NULL)
		return true;
	if (strnlen(acr_headers, GB_CORS_ACRH_MAX + 1) > GB_CORS_ACRH_MAX)
		return false;
	while ((e = next_entry(acr_headers, &pos, &len)) != NULL) {
		if (++n > GB_CORS_ACRH_NAMES_MAX || !is_token(e, len))
			return false;
		for (i = 0; i < c->nallow; i++)
			if (c->allow[i].len == len && ascii_caseeq(c->allow[i].s, e, len))
				break;
		if (i == c->nallow)
			return false;
	}
	return true;
}

static void
add(struct gb_cors_result *r, const char *name, const char *value)
{
	if (r->n < GB_CORS_HEADERS_MAX) {
		r->h[r->n].name = name;
		r->h[r->n].value = value;
		r->n++;
	}
}

void
gb_cors_check(const struct gb_cors *c, const char *method, const char *origin,
              const char *acr_method, const char *acr_headers, const char *allow_methods,
              struct gb_cors_result *r)
{
	const char *acao;
	bool preflight;

	r->kind = GB_CORS_NONE;
	r->n = 0;
	if (c == NULL || !c->on)
		return;
	preflight = origin != NULL && acr_method != NULL && method != NULL &&
	            strcmp(method, "OPTIONS") == 0;
	acao = origin != NULL ? origin_match(c, origin) : NULL;
	if (acao == NULL || (preflight && (!method_allowed(allow_methods, acr_method) ||
	                                   !headers_allowed(c, acr_headers)))) {
		/* Never an Access-Control-Allow-* header: the browser blocks. */
		if (preflight)
			r->kind = GB_CORS_REFUSED;
		add(r, "Vary", "Origin");
		return;
	}
	add(r, "Access-Control-Allow-Origin", acao);
	add(r, "Vary", "Origin");
	if (preflight) {
		r->kind = GB_CORS_PREFLIGHT_OK;
		add(r, "Access-Control-Allow-Methods", allow_methods);
		if (c->allow_headers != NULL)
			add(r, "Access-Control-Allow-Headers", c->allow_headers);
		add(r, "Access-Control-Max-Age", c->max_age);
	} else {
		r->kind = GB_CORS_ALLOWED;
		if (c->expose_headers != NULL)
			add(r, "Access-Control-Expose-Headers", c->expose_headers);
	}
	if (c->credentials)
		add(r, "Access-Control-Allow-Credentials", "true");
}
