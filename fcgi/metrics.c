/* gerbang-metrics: GET /metrics, the Prometheus text exposition of the
 * counters every gerbang process keeps in RUN_DIR/metrics.v1.shm.
 *
 * Who may read it: the shipped nginx location allows loopback only, and
 * METRICS_TOKEN (or METRICS_TOKEN_FILE), when set, must also come as
 * "Authorization: Bearer <token>".  Scrapes take no rate-limit token.
 */
#include "config.h"

#include <openssl/crypto.h>
#include <string.h>

#include "gb_log.h"
#include "gb_metrics.h"
#include "gb_serve.h"

#define BEARER "Bearer "

/* The bearer token, compared in constant time (over the token's length). */
static bool
token_ok(const struct gb_ctx *c)
{
	const char *want = c->cfg->metrics_token, *got = c->req.authorization;
	size_t n = strlen(want);

	if (n == 0)
		return true;
	if (got == NULL || strncmp(got, BEARER, sizeof(BEARER) - 1) != 0)
		return false;
	got += sizeof(BEARER) - 1;
	return strlen(got) == n && CRYPTO_memcmp(got, want, n) == 0;
}

static void
metrics(struct gb_ctx *c)
{
	enum gb_err e;

	if (!token_ok(c)) {
		gb_log(GB_LOG_INFO, c->req.request_id, "access denied", "reason",
		       "no or wrong metrics token", "route", "/metrics", NULL);
		gb_header(c, "WWW-Authenticate", "Bearer realm=\"gerbang-metrics\"");
		gb_fail(c, 401, "authentication required", NULL);
		return;
	}
	if (!gb_metrics_on()) {
		gb_fail(c, 503, "metrics are off (METRICS=off, or RUN_DIR not writable)", NULL);
		return;
	}
	gb_buf_reset(&c->resp.body);
	e = gb_metrics_expose(&c->resp.body, gb_version, gb_git_commit);
	if (e != GB_OK) {
		gb_fail_err(c, e);
		return;
	}
	c->resp.status = 200;
	c->resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
	gb_header(c, "Cache-Control", "no-store");
}

static const struct gb_route routes[] = {
	{ "GET", "/metrics", metrics, GB_PUBLIC, 0, GB_RATE_NONE },
};

static const struct gb_app app = {
	.name = "gerbang-metrics",
	.service = "metrics",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
};

int
main(int argc, char **argv)
{
	return gb_serve_main(argc, argv, &app);
}
