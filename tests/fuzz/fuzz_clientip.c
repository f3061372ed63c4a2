/* libFuzzer target: trusted-proxy lists, the client address behind them,
 * and CORS decisions.  The input is up to eight fields split on '\n':
 *   trusted spec, REMOTE_ADDR, X-Forwarded-For, method, Origin,
 *   Access-Control-Request-Method, Access-Control-Request-Headers,
 *   allow_methods
 * (a missing field is NULL).  The first field is also tried as a CORS
 * origin list, with the seventh as its allow_headers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gb_clientip.h"
#include "gb_cors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS 8
#define APP "https://app.example.com"
#define LOCAL "http://localhost:3000"

static struct gb_cors *list_cors, *any_cors;

static void
init(void)
{
	static const struct gb_cors_opts list = {
		APP ", " LOCAL, true, 600,
		"Authorization, Content-Type, X-Request-Id, Idempotency-Key, If-Match",
		"X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After"
	};
	static const struct gb_cors_opts any = { "*", false, 0, "Content-Type", NULL };

	if (list_cors != NULL)
		return;
	if (gb_cors_new(&list, &list_cors, NULL, 0) != GB_OK ||
	    gb_cors_new(&any, &any_cors, NULL, 0) != GB_OK)
		abort();
}

/* out is what gb_client_ip() gives for an address alone: its canonical
 * form, which is a fixed point. */
static void
check_canonical(const char *out)
{
	char again[GB_IP_MAX];

	if (strlen(out) >= GB_IP_MAX)
		abort();
	if (gb_client_ip(NULL, out, NULL, again, sizeof(again)) != 0 || strcmp(again, out) != 0)
		abort();
}

static void
check_result(const struct gb_cors_result *r, const char *origin, bool preflight,
             const char *allowed_origin)
{
	size_t i;

	if (r->n > GB_CORS_HEADERS_MAX)
		abort();
	for (i = 0; i < r->n; i++) {
		if (r->h[i].name == NULL || r->h[i].value == NULL ||
		    strpbrk(r->h[i].value, "\r\n") != NULL || r->h[i].value == origin)
			abort();
		if (strcmp(r->h[i].name, "Access-Control-Allow-Origin") == 0) {
			if (strcmp(r->h[i].value, "*") != 0 &&
			    (origin == NULL || strcmp(r->h[i].value, origin) != 0))
				abort();
			if (allowed_origin != NULL && strcmp(r->h[i].value, allowed_origin) != 0)
				abort();
		}
	}
	switch (r->kind) {
	case GB_CORS_NONE:
		break;
	case GB_CORS_ALLOWED:
		if (origin == NULL || r->n < 2 || preflight)
			abort();
		break;
	case GB_CORS_PREFLIGHT_OK:
		if (origin == NULL || r->n < 4 || !preflight)
			abort();
		break;
	case GB_CORS_REFUSED:
		if (!preflight || r->n != 1)
			abort();
		break;
	default:
		abort();
	}
}

static void
fuzz_cors(char *const f[FIELDS])
{
	struct gb_cors_opts o = { f[0], false, 0, f[6], f[2] };
	struct gb_cors_result r;
	struct gb_cors *c;
	bool preflight = f[3] != NULL && strcmp(f[3], "OPTIONS") == 0 && f[4] != NULL &&
	                 f[5] != NULL;
	char why[128];

	gb_cors_check(list_cors, f[3], f[4], f[5], f[6], f[7], &r);
	check_result(&r, f[4], preflight, NULL);
	if (r.kind != GB_CORS_NONE && r.kind != GB_CORS_REFUSED &&
	    strcmp(f[4], APP) != 0 && strcmp(f[4], LOCAL) != 0)
		abort();
	gb_cors_check(any_cors, f[3], f[4], f[5], f[6], f[7], &r);
	check_result(&r, f[4], preflight, "*");

	why[0] = '\0';
	if (gb_cors_new(&o, &c, why, sizeof(why)) == GB_OK) {
		gb_cors_check(c, f[3], f[4], f[5], f[6], f[7], &r);
		check_result(&r, f[4], preflight, NULL);
		gb_cors_free(c);
	} else if (why[0] == '\0') {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *f[FIELDS] = { NULL }, *p, out[GB_IP_MAX], plain[GB_IP_MAX];
	struct gb_cidr_list *l = NULL;
	char why[128];
	size_t n = 0;
	int ret;

	if (s == NULL)
		abort();
	init();
	memcpy(s, data, size);
	s[size] = '\0';
	for (p = s; n < FIELDS && p != NULL; n++) {
		f[n] = p;
		p = strchr(p, '\n');
		if (p != NULL)
			*p++ = '\0';
	}

	why[0] = '\0';
	if (gb_cidr_list_parse(f[0], &l, why, sizeof(why)) == GB_OK) {
		if (l == NULL || gb_cidr_list_count(l) > GB_CIDR_MAX)
			abort();
	} else if (why[0] == '\0' || l != NULL) {
		abort();
	}

	ret = gb_client_ip(l, f[1], f[2], out, sizeof(out));
	if (ret == 0) {
		check_canonical(out);
		/* the peer alone, and the peer with no trusted list */
		if (gb_client_ip(NULL, f[1], f[2], plain, sizeof(plain)) != 0)
			abort();
		check_canonical(plain);
		/* membership does not depend on the spelling */
		if (gb_cidr_list_contains(l, f[1]) != gb_cidr_list_contains(l, plain))
			abort();
		/* an untrusted peer is the client, whatever the header says */
		if (!gb_cidr_list_contains(l, plain) && strcmp(out, plain) != 0)
			abort();
		if (gb_cidr_list_count(l) == 0 && strcmp(out, plain) != 0)
			abort();
		if (f[2] != NULL)
			(void)gb_cidr_list_contains(l, f[2]);
	} else if (ret != -1 || strcmp(out, "unknown") != 0) {
		abort();
	}

	fuzz_cors(f);
	gb_cidr_list_free(l);
	free(s);
	return 0;
}
