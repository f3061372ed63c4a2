/* gerbang-health: welcome, liveness, readiness and version. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>

#include "gb_db.h"
#include "gb_envelope.h"
#include "gb_log.h"
#include "gb_redis.h"
#include "gb_serve.h"
#include "gb_time.h"

static void
welcome(struct gb_ctx *c)
{
	gb_ok(c, 200, "welcome to gerbang",
	      json_pack("{s:s, s:s, s:s}", "name", "gerbang", "version", gb_version,
	                "health", "/healthz"));
}

/* Liveness: answers from memory only, so it stays cheap and says nothing
 * about dependencies (that is /readyz). */
static void
healthz(struct gb_ctx *c)
{
	char ts[GB_RFC3339_LEN];

	gb_ok(c, 200, "alive", json_pack("{s:s, s:s}", "status", "ok",
	                                 "timestamp", gb_rfc3339_now(ts, sizeof(ts))));
}

static void
version(struct gb_ctx *c)
{
	gb_ok(c, 200, "version", json_pack("{s:s, s:s, s:s}", "version", gb_version,
	                                   "commit", gb_git_commit, "build_time", gb_build_time));
}

/* Records one dependency's check into checks and, when it failed, into
 * errors; returns 1 when it is up. */
static int
record(struct gb_ctx *c, const char *name, enum gb_err e, int64_t t0, const char *detail,
       json_t *checks, json_t **errors)
{
	double ms = (double)(gb_mono_us() - t0) / 1000.0;
	const char *state = e == GB_OK ? "up" : e == GB_ETIMEOUT ? "timed out" : "unreachable";

	json_object_set_new(checks, name, json_pack("{s:s, s:f}", "status", state,
	                                            "latency_ms", ms));
	if (e == GB_OK)
		return 1;
	/* The client sees only the state; the detail (hosts, errors) is logged. */
	gb_log(GB_LOG_WARN, c->req.request_id, "dependency down", "dependency", name,
	       "error", detail, NULL);
	*errors = gb_field_error(*errors, name, state);
	return 0;
}

static void
readyz(struct gb_ctx *c)
{
	int timeout = (int)c->cfg->ready_timeout_ms;
	json_t *checks = json_object(), *errors = NULL;
	struct gb_redis *redis;
	struct gb_db *db;
	enum gb_err e;
	int64_t t0;
	int up = 0;

	if (checks == NULL) {
		gb_fail(c, 500, "internal error", NULL);
		return;
	}
	t0 = gb_mono_us();
	db = gb_ctx_db(c);
	e = db != NULL ? gb_db_ping(db, timeout) : GB_ENOMEM;
	up += record(c, "postgres", e, t0, db != NULL ? gb_db_last_error(db) : "no memory",
	             checks, &errors);

	t0 = gb_mono_us();
	redis = gb_ctx_redis(c);
	e = redis != NULL ? gb_redis_ping(redis) : GB_ENOMEM;
	up += record(c, "redis", e, t0, redis != NULL ? gb_redis_last_error(redis) : "no memory",
	             checks, &errors);

	if (up == 2) {
		json_decref(errors);
		gb_ok(c, 200, "ready", json_pack("{s:s, s:o}", "status", "ready", "checks", checks));
		return;
	}
	json_decref(checks);
	gb_fail(c, 503, "not ready", errors);
}

static const struct gb_route routes[] = {
	{ "GET", "/", welcome, GB_PUBLIC, 0, NULL },
	{ "GET", "/healthz", healthz, GB_PUBLIC, 0, NULL },
	{ "GET", "/healthz/", healthz, GB_PUBLIC, 0, NULL },
	{ "GET", "/readyz", readyz, GB_PUBLIC, 0, NULL },
	{ "GET", "/version", version, GB_PUBLIC, 0, NULL },
};

static const struct gb_app app = {
	.name = "gerbang-health",
	.service = "health",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
};

int
main(int argc, char **argv)
{
	return gb_serve_main(argc, argv, &app);
}
