/* gb_cors.h - Cross-Origin Resource Sharing decisions from an allow-list.
 *
 * A gb_cors is built once from configuration by gb_cors_new() and is
 * immutable afterwards, so every thread may read it without locks.
 * gb_cors_check() looks at one request and says which headers to add to
 * its response; it never allocates and never echoes request text: an
 * allowed origin is answered with the configured copy of it.
 *
 * Origins match by exact bytes, as browsers serialise them (RFC 6454):
 * scheme "http" or "https", "://", a lowercase host (a name, an IPv4
 * address or a bracketed IPv6 address), an optional ":port" that is not the
 * scheme's default, and nothing after: no path, no trailing slash.  The
 * configured list is held to that form at gb_cors_new(), so that an entry
 * that could never match is an error rather than a silent "refused".
 * "null" (sandboxed frames, file: pages, some redirects) is never allowed.
 *
 * Header names in allow_headers and in a preflight's
 * Access-Control-Request-Headers match ignoring ASCII case; methods match
 * exactly (browsers send them uppercase).
 *
 * Every result of a CORS-enabled gb_cors carries "Vary: Origin", even for a
 * request without Origin or from a foreign origin: the response differs
 * with the Origin header, so a shared cache must key on it.
 */
#ifndef GB_CORS_H
#define GB_CORS_H

#include <stdbool.h>
#include <stddef.h>

#include "gb_err.h"

/* Longest origin, in the list or in a request (longer is foreign). */
#define GB_CORS_ORIGIN_MAX 512
/* Most origins in the list. */
#define GB_CORS_ORIGINS_MAX 64
/* Most names in allow_headers and in expose_headers, and the longest name. */
#define GB_CORS_NAMES_MAX 64
#define GB_CORS_NAME_MAX 128
/* Longest Access-Control-Request-Headers, and most names in it (past
 * either the preflight is refused). */
#define GB_CORS_ACRH_MAX 1024
#define GB_CORS_ACRH_NAMES_MAX 32
/* Longest allow_methods given to gb_cors_check(). */
#define GB_CORS_METHODS_MAX 256
/* Largest max_age_s (browsers cap it lower: Chromium at 7200). */
#define GB_CORS_MAX_AGE_MAX 86400

struct gb_cors_opts {
	/* The allowed origins separated by commas and/or spaces
	 * ("https://app.example.com, http://localhost:3000"), or "*" alone for
	 * any origin; NULL or "" turns CORS off. */
	const char *origins;
	/* Send Access-Control-Allow-Credentials: true (cookies, HTTP auth).
	 * Refused with "*": it would let any site act as the user. */
	bool credentials;
	/* Access-Control-Max-Age of a preflight, 0 to GB_CORS_MAX_AGE_MAX
	 * seconds; 0 makes the browser ask before every request. */
	long max_age_s;
	/* Request headers a preflight may ask for, separated by commas and/or
	 * spaces ("Authorization, Content-Type, X-Request-Id"); NULL or "":
	 * none.  Header names (RFC 9110 tokens) only; "*" is refused. */
	const char *allow_headers;
	/* Response headers the page's script may read beyond the safelisted
	 * ones ("X-Request-Id, RateLimit-Limit, Retry-After"); NULL or "":
	 * none.  Same syntax as allow_headers. */
	const char *expose_headers;
};

struct gb_cors;

/* Builds a gb_cors from o (the strings are copied; o may go after).
 * Returns GB_OK and sets *out (never NULL, also when CORS is off; free it
 * with gb_cors_free); GB_EINVAL for a NULL o or a bad option, with one line
 * naming the option, the entry (control and non-ASCII bytes shown as '?',
 * cut short) and the reason in why[0..whysize) when why is not NULL; or
 * GB_ENOMEM.  *out is unchanged on error. */
enum gb_err gb_cors_new(const struct gb_cors_opts *o, struct gb_cors **out, char *why,
                        size_t whysize);

/* Frees c; NULL is fine. */
void gb_cors_free(struct gb_cors *c);

/* True when c answers CORS at all (origins was not empty). */
bool gb_cors_enabled(const struct gb_cors *c);

struct gb_cors_header {
	const char *name;
	const char *value;
};

#define GB_CORS_HEADERS_MAX 8

enum gb_cors_kind {
	GB_CORS_NONE,           /* not CORS, CORS off, or a foreign origin's
	                         * actual request: answer it as usual */
	GB_CORS_ALLOWED,        /* an actual request from an allowed origin */
	GB_CORS_PREFLIGHT_OK,   /* answer the preflight with 204 and h[] */
	GB_CORS_REFUSED         /* a preflight to refuse (e.g. 403, without
	                         * CORS headers: the browser stops there) */
};

struct gb_cors_result {
	enum gb_cors_kind kind;
	size_t n;               /* headers to add, in h[0..n) */
	/* Names are static.  Values are static, or point into the gb_cors (the
	 * matched origin, the header lists, the max age), or are the
	 * allow_methods argument itself: valid while both live.  The result
	 * holds no pointer into itself and may be copied. */
	struct gb_cors_header h[GB_CORS_HEADERS_MAX];
};

/* Decides one request and fills *r (always: r->n is 0 for nothing to add).
 *
 * method is the request method; origin the Origin header (NULL: absent);
 * acr_method and acr_headers the Access-Control-Request-Method and
 * -Headers headers (NULL: absent); allow_methods the methods the route
 * answers ("GET, HEAD, POST", from the router; NULL or "": none).  c NULL
 * is CORS off.
 *
 * A preflight is OPTIONS with Origin and Access-Control-Request-Method;
 * OPTIONS without the latter is an actual request.
 *   - CORS off: NONE, no headers.
 *   - No Origin: NONE with Vary.
 *   - Foreign origin (not in the list; "null"; empty; longer than
 *     GB_CORS_ORIGIN_MAX): a preflight is REFUSED, an actual request NONE;
 *     both with Vary only, so the browser blocks the read.
 *   - Allowed origin, actual request: ALLOWED with
 *     Access-Control-Allow-Origin (the origin, or "*" for a "*" list),
 *     Vary, Access-Control-Allow-Credentials when configured and
 *     Access-Control-Expose-Headers when configured.  The request method is
 *     not checked here: the router answers 405.
 *   - Allowed origin, preflight: PREFLIGHT_OK with
 *     Access-Control-Allow-Origin, Vary, Access-Control-Allow-Methods
 *     (allow_methods as given), Access-Control-Allow-Headers (the
 *     configured list, when not empty), Access-Control-Max-Age and
 *     Access-Control-Allow-Credentials when configured.  REFUSED (with
 *     Vary) instead when the requested method is not one of allow_methods,
 *     allow_methods is empty, longer than GB_CORS_METHODS_MAX or not a list
 *     of tokens, or a requested header is not in allow_headers, is not a
 *     token, or the header is longer than GB_CORS_ACRH_MAX or names more
 *     than GB_CORS_ACRH_NAMES_MAX (empty list elements are skipped). */
void gb_cors_check(const struct gb_cors *c, const char *method, const char *origin,
                   const char *acr_method, const char *acr_headers, const char *allow_methods,
                   struct gb_cors_result *r);

#endif
