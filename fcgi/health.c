/* gerbang-health: welcome, liveness, readiness and version. */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "gb_db.h"
#include "gb_envelope.h"
#include "gb_log.h"
#include "gb_plugin.h"
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
	/* A liveness probe is called often: its fixed shape is written as
	 * text, {"status":"ok","timestamp":"..."}. */
	static const char head[] = "{\"status\":\"ok\",\"timestamp\":\"";
	char data[sizeof(head) + GB_RFC3339_LEN + 2], ts[GB_RFC3339_LEN];
	size_t n = sizeof(head) - 1, tlen;

	gb_rfc3339_now(ts, sizeof(ts));
	tlen = strlen(ts);
	memcpy(data, head, n);
	memcpy(data + n, ts, tlen);
	n += tlen;
	memcpy(data + n, "\"}", 2);
	gb_ok_raw(c, 200, "alive", data, n + 2);
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

/* libcurl is initialised by the first /readyz that has a plugin to check
 * (curl_easy_init does it; thread-safe since libcurl 7.84): its OpenSSL
 * set-up is most of a program's memory, and most hosts never need it. */
static atomic_bool curl_used;

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* GET the plugin's health_path: GB_OK for a 2xx, GB_ETIMEOUT, or GB_EIO. */
static enum gb_err
plugin_ping(struct gb_ctx *c, CURL *h, const struct gb_plugin *p, long timeout_ms)
{
	char *url = gb_arena_printf(c->arena, "%s%s%s", p->upstream_origin, p->base_path,
	                            p->health_path);
	long status = 0;
	CURLcode rc;

	if (url == NULL)
		return GB_ENOMEM;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return GB_ETIMEOUT;
	if (rc != CURLE_OK)
		return GB_EIO;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	return status >= 200 && status < 300 ? GB_OK : GB_EIO;
}

/* Each plugin with a health_path, as "plugin:<name>" in checks (and in
 * errors when down).  Returns how many are down.  The registry is read
 * afresh: /readyz is rare, and it then always matches the directory. */
static int
check_plugins(struct gb_ctx *c, json_t *checks, json_t **errors)
{
	struct gb_plugin_error perr;
	struct gb_registry *reg;
	struct stat st;
	CURL *h;
	size_t i;
	int down = 0;

	if (stat(c->cfg->plugin_dir, &st) != 0 && errno == ENOENT)
		return 0;       /* no plugins on this host */
	if (gb_registry_load(c->cfg->plugin_dir, &reg, &perr) != GB_OK) {
		gb_log(GB_LOG_WARN, c->req.request_id, "plugin registry invalid", "file", perr.file,
		       "key", perr.key, "error", perr.msg, NULL);
		*errors = gb_field_error(*errors, "plugins", "the registry is invalid");
		return 1;
	}
	atomic_store(&curl_used, true);
	h = curl_easy_init();
	for (i = 0; h != NULL && i < gb_registry_count(reg); i++) {
		const struct gb_plugin *p = gb_registry_at(reg, i);
		const char *name;
		int64_t t0 = gb_mono_us();
		enum gb_err e;

		if (p->health_path == NULL)
			continue;
		name = gb_arena_printf(c->arena, "plugin:%s", p->name);
		e = plugin_ping(c, h, p, c->cfg->ready_timeout_ms);
		if (name == NULL)
			continue;
		down += !record(c, name, e, t0, e == GB_OK ? "" : "health check failed", checks, errors);
	}
	if (h != NULL)
		curl_easy_cleanup(h);
	gb_registry_free(reg);
	return down;
}

static void
health_fini(void)
{
	if (atomic_load(&curl_used))
		curl_global_cleanup();
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
	int up = 0, plugins_down;

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
	plugins_down = check_plugins(c, checks, &errors);

	/* A plugin that is down degrades the gateway but does not make it
	 * unready: one plugin must not take every route out of a balancer. */
	if (up == 2) {
		json_decref(errors);
		gb_ok(c, 200, plugins_down ? "ready, some plugins are down" : "ready",
		      json_pack("{s:s, s:o}", "status", plugins_down ? "degraded" : "ready",
		                "checks", checks));
		return;
	}
	json_decref(checks);
	gb_fail(c, 503, "not ready", errors);
}

static const struct gb_route routes[] = {
	{ "GET", "/", welcome, GB_PUBLIC, 0, GB_RATE_NONE },
	{ "GET", "/healthz", healthz, GB_PUBLIC, 0, GB_RATE_NONE },
	{ "GET", "/healthz/", healthz, GB_PUBLIC, 0, GB_RATE_NONE },
	{ "GET", "/readyz", readyz, GB_PUBLIC, 0, GB_RATE_NONE },
	{ "GET", "/version", version, GB_PUBLIC, 0, GB_RATE_NONE },
};

static const struct gb_app app = {
	.name = "gerbang-health",
	.service = "health",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.fini = health_fini,
};

int
main(int argc, char **argv)
{
	return gb_serve_main(argc, argv, &app);
}
