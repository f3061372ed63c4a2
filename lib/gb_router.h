/* gb_router.h - a table of routes: method + path pattern with {params}.
 *
 * A program's routes are one static array.  A pattern is literal text with
 * {name} placeholders, each matching one non-empty path segment, and may
 * end with {*name}, which matches the rest of the path (possibly empty,
 * slashes included).  The method "*" answers every method.  The
 * table's order does not matter unless two patterns match one path, then
 * the first wins (list literal routes before parameterized ones).
 */
#ifndef GB_ROUTER_H
#define GB_ROUTER_H

#include <stddef.h>

#include "gb_arena.h"
#include "gb_err.h"

struct gb_ctx;
typedef void gb_handler(struct gb_ctx *ctx);

/* Who may call a route. */
enum gb_access_policy {
	GB_PUBLIC = 0,          /* anyone */
	GB_JWT,                 /* a valid access token; roles narrow it */
};

struct gb_route {
	const char *method;     /* "GET", "POST", ... ; GET also answers HEAD */
	const char *pattern;    /* "/v1/users/{id}" */
	gb_handler *handler;
	enum gb_access_policy access;
	unsigned roles;         /* allowed roles as a bit set; 0 = any role */
	const char *rate_class; /* rate-limit class; NULL = the default */
};

/* A route the pipeline takes no token for: health probes, or a handler
 * that calls gb_rate_limit itself (the proxy, per plugin). */
#define GB_RATE_NONE ""

#define GB_ROUTE_PARAMS_MAX 8

struct gb_route_match {
	const struct gb_route *route;
	size_t nparams;
	struct {
		char name[32];
		char *value;    /* from the arena, already decoded by the path */
	} params[GB_ROUTE_PARAMS_MAX];
	char allow[96];         /* on GB_EMETHOD: "GET, HEAD, POST" */
};

/* Finds the route for method and a normalized path.  Returns GB_OK (m->route
 * and params set), GB_ENOTFOUND, GB_EMETHOD (m->allow lists the methods the
 * path does answer) or GB_ENOMEM. */
enum gb_err gb_route_match(const struct gb_route *routes, size_t n,
                           const char *method, const char *path,
                           struct gb_arena *a, struct gb_route_match *m);

/* The value of param name in m, or NULL. */
const char *gb_route_param(const struct gb_route_match *m, const char *name);

#endif
