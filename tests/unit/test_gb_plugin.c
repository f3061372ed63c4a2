/* Tests for lib/gb_plugin.c: manifests, the registry, mount matching,
 * upstream paths and the header rules the proxy strips by. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gb_auth.h"
#include "gb_plugin.h"
#include "gb_test.h"
#include "gb_url.h"

/* ---- manifests ---------------------------------------------------------- */

static const char full_manifest[] =
	"{\n"
	"  \"name\": \"lab-reporting\",\n"
	"  \"version\": \"1.2.0-rc.1\",\n"
	"  \"mount\": \"/v1/plugins/lab-reporting/\",\n"
	"  \"upstream\": \"HTTPS://Reports.Internal:8443/api/v2/\",\n"
	"  \"timeout_ms\": 30000,\n"
	"  \"connect_timeout_ms\": 500,\n"
	"  \"auth_mode\": \"gateway_verified\",\n"
	"  \"forward_headers\": [\"Accept\", \"Content-Type\", \"If-None-Match\"],\n"
	"  \"inject_headers\": { \"X-Plugin-Name\": \"lab-reporting\", \"X-Tab\": \"a\\tb\" },\n"
	"  \"keep_mount_prefix\": true,\n"
	"  \"roles\": [\"owner\", \"admin\"],\n"
	"  \"rate_limit\": { \"rate\": 2.5, \"capacity\": 20 },\n"
	"  \"retries\": 2,\n"
	"  \"health_path\": \"/healthz\",\n"
	"  \"max_body_bytes\": 1048576,\n"
	"  \"circuit_breaker\": { \"failure_threshold\": 3, \"open_ms\": 5000, \"half_open_max\": 2 },\n"
	"  \"secret_file\": \"/etc/gerbang/plugins.d/lab-reporting.secret\"\n"
	"}\n";

START_TEST(test_full)
{
	struct gb_plugin_error err;
	struct gb_plugin *p = NULL;

	ck_assert_int_eq(gb_plugin_parse(full_manifest, strlen(full_manifest), "full.json", &p,
	                                 &err), GB_OK);
	ck_assert_str_eq(p->file, "full.json");
	ck_assert_str_eq(p->name, "lab-reporting");
	ck_assert_str_eq(p->version, "1.2.0-rc.1");
	ck_assert_str_eq(p->mount, "/v1/plugins/lab-reporting");
	ck_assert_uint_eq(p->mount_len, strlen("/v1/plugins/lab-reporting"));
	ck_assert_str_eq(p->upstream, "HTTPS://Reports.Internal:8443/api/v2/");
	ck_assert_str_eq(p->scheme, "https");
	ck_assert_str_eq(p->host, "reports.internal");
	ck_assert_uint_eq(p->port, 8443);
	ck_assert_str_eq(p->upstream_origin, "https://reports.internal:8443");
	ck_assert_str_eq(p->base_path, "/api/v2");
	ck_assert_int_eq(p->timeout_ms, 30000);
	ck_assert_int_eq(p->connect_timeout_ms, 500);
	ck_assert_int_eq(p->auth_mode, GB_PLUGIN_GATEWAY_VERIFIED);
	ck_assert_uint_eq(p->nforward_headers, 3);
	ck_assert_str_eq(p->forward_headers[0], "accept");
	ck_assert_str_eq(p->forward_headers[1], "content-type");
	ck_assert_str_eq(p->forward_headers[2], "if-none-match");
	ck_assert_uint_eq(p->ninject_headers, 2);
	ck_assert_str_eq(p->inject_headers[0].name, "x-plugin-name");
	ck_assert_str_eq(p->inject_headers[0].value, "lab-reporting");
	ck_assert_str_eq(p->inject_headers[1].name, "x-tab");
	ck_assert_str_eq(p->inject_headers[1].value, "a\tb");
	ck_assert(p->keep_mount_prefix);
	ck_assert_uint_eq(p->roles, GB_ROLE_OWNER | GB_ROLE_ADMIN);
	ck_assert(p->has_rate_limit);
	ck_assert(p->rate == 2.5);
	ck_assert_int_eq(p->capacity, 20);
	ck_assert_int_eq(p->retries, 2);
	ck_assert_str_eq(p->health_path, "/healthz");
	ck_assert_int_eq(p->max_body_bytes, 1048576);
	ck_assert_int_eq(p->breaker_failure_threshold, 3);
	ck_assert_int_eq(p->breaker_open_ms, 5000);
	ck_assert_int_eq(p->breaker_half_open_max, 2);
	ck_assert_str_eq(p->secret_file, "/etc/gerbang/plugins.d/lab-reporting.secret");
	ck_assert_ptr_null(p->secret);          /* only gb_registry_load reads it */
	ck_assert_uint_eq(p->secret_len, 0);
	ck_assert_str_eq(gb_plugin_auth_name(p->auth_mode), "gateway_verified");
	gb_plugin_free(p);
}
END_TEST

START_TEST(test_minimal)
{
	static const char text[] = "{\"name\":\"echo\",\"version\":\"1\",\"mount\":\"/v1/echo\","
	                           "\"upstream\":\"http://127.0.0.1\",\"auth_mode\":\"forward_jwt\"}";
	struct gb_plugin *p = NULL;

	ck_assert_int_eq(gb_plugin_parse(text, strlen(text), NULL, &p, NULL), GB_OK);
	ck_assert_str_eq(p->file, "");
	ck_assert_str_eq(p->mount, "/v1/echo");
	ck_assert_str_eq(p->scheme, "http");
	ck_assert_str_eq(p->host, "127.0.0.1");
	ck_assert_uint_eq(p->port, 80);
	ck_assert_str_eq(p->upstream_origin, "http://127.0.0.1:80");
	ck_assert_str_eq(p->base_path, "");
	ck_assert_int_eq(p->timeout_ms, 10000);
	ck_assert_int_eq(p->connect_timeout_ms, 2000);
	ck_assert_int_eq(p->auth_mode, GB_PLUGIN_FORWARD_JWT);
	ck_assert_uint_eq(p->nforward_headers, 0);
	ck_assert_ptr_nonnull(p->forward_headers);
	ck_assert_uint_eq(p->ninject_headers, 0);
	ck_assert_ptr_nonnull(p->inject_headers);
	ck_assert(!p->keep_mount_prefix);
	ck_assert_uint_eq(p->roles, 0);
	ck_assert(!p->has_rate_limit);
	ck_assert_int_eq(p->retries, 0);
	ck_assert_ptr_null(p->health_path);
	ck_assert_int_eq(p->max_body_bytes, 10485760);
	ck_assert_int_eq(p->breaker_failure_threshold, 5);
	ck_assert_int_eq(p->breaker_open_ms, 30000);
	ck_assert_int_eq(p->breaker_half_open_max, 1);
	ck_assert_ptr_null(p->secret_file);
	ck_assert_ptr_null(p->secret);
	gb_plugin_free(p);
	gb_plugin_free(NULL);
}
END_TEST

/* Pieces of a valid manifest, so each case below changes one thing. */
#define NV "\"name\":\"p\",\"version\":\"1\""
#define MT "\"mount\":\"/v1/p\""
#define UP "\"upstream\":\"http://127.0.0.1:8080\""
#define FJ "\"auth_mode\":\"forward_jwt\""
#define GV "\"auth_mode\":\"gateway_verified\",\"secret_file\":\"/etc/gerbang/p.secret\""
#define PUB "\"auth_mode\":\"public\""
#define WITH(x) "{" NV "," MT "," UP "," FJ "," x "}"
#define WITH_GV(x) "{" NV "," MT "," UP "," GV "," x "}"
#define WITH_PUB(x) "{" NV "," MT "," UP "," PUB "," x "}"
#define MOUNT(m) "{" NV ",\"mount\":" m "," UP "," FJ "}"
#define UPSTREAM(u) "{" NV "," MT ",\"upstream\":" u "," FJ "}"

/* Valid variations, each checked by one field. */
static const struct {
	const char *text;
	const char *mount, *host, *base, *origin;
} good_cases[] = {
	{ MOUNT("\"/v1/p/\""), "/v1/p", NULL, NULL, NULL },
	{ MOUNT("\"/a\""), "/a", NULL, NULL, NULL },
	{ MOUNT("\"/v1/p...\""), "/v1/p...", NULL, NULL, NULL },
	{ MOUNT("\"/v1/~user/a-b_c.d\""), "/v1/~user/a-b_c.d", NULL, NULL, NULL },
	{ MOUNT("\"/v1/a;b=c,d@e:f+g!$&'()*\""), "/v1/a;b=c,d@e:f+g!$&'()*", NULL, NULL, NULL },
	{ UPSTREAM("\"http://h\""), NULL, "h", "", "http://h:80" },
	{ UPSTREAM("\"https://h\""), NULL, "h", "", "https://h:443" },
	{ UPSTREAM("\"Http://H.Example.COM/\""), NULL, "h.example.com", "", "http://h.example.com:80" },
	{ UPSTREAM("\"http://h:1/a/b\""), NULL, "h", "/a/b", "http://h:1" },
	{ UPSTREAM("\"http://h:65535/a/\""), NULL, "h", "/a", "http://h:65535" },
	{ UPSTREAM("\"http://[::1]:9000/api\""), NULL, "[::1]", "/api", "http://[::1]:9000" },
	{ UPSTREAM("\"http://[FE80::1]\""), NULL, "[fe80::1]", "", "http://[fe80::1]:80" },
	{ UPSTREAM("\"http://my_service.local:8080\""), NULL, "my_service.local", "",
	  "http://my_service.local:8080" },
	{ WITH_PUB("\"roles\":[]"), NULL, NULL, NULL, NULL },
	{ WITH("\"inject_headers\":{}, \"forward_headers\":[]"), NULL, NULL, NULL, NULL },
	{ WITH("\"health_path\":\"/\""), NULL, NULL, NULL, NULL },
	{ WITH("\"rate_limit\":{\"rate\":1000000,\"capacity\":1000000}"), NULL, NULL, NULL, NULL },
	{ WITH("\"rate_limit\":{\"rate\":0.001,\"capacity\":1}"), NULL, NULL, NULL, NULL },
	{ WITH("\"max_body_bytes\":0, \"retries\":5, \"timeout_ms\":300000"), NULL, NULL, NULL, NULL },
	{ WITH("\"max_body_bytes\":1073741824, \"timeout_ms\":1, \"connect_timeout_ms\":60000"),
	  NULL, NULL, NULL, NULL },
	{ WITH("\"circuit_breaker\":{}"), NULL, NULL, NULL, NULL },
	{ WITH("\"forward_headers\":[\"X~!#$%&'*+-.^_`|\"]"), NULL, NULL, NULL, NULL },
};

START_TEST(test_good)
{
	struct gb_plugin_error err;
	struct gb_plugin *p = NULL;
	const char *t = good_cases[_i].text;
	enum gb_err e;

	e = gb_plugin_parse(t, strlen(t), "good.json", &p, &err);
	ck_assert_msg(e == GB_OK, "%s: %s: %s", t, err.key, err.msg);
	if (good_cases[_i].mount != NULL)
		ck_assert_str_eq(p->mount, good_cases[_i].mount);
	if (good_cases[_i].host != NULL) {
		ck_assert_str_eq(p->host, good_cases[_i].host);
		ck_assert_str_eq(p->base_path, good_cases[_i].base);
		ck_assert_str_eq(p->upstream_origin, good_cases[_i].origin);
	}
	gb_plugin_free(p);
}
END_TEST

/* Broken manifests and the key each error must name. */
static const struct {
	const char *text;
	const char *key;
} bad_cases[] = {
	/* not a manifest */
	{ "", "" },
	{ "[]", "" },
	{ "\"x\"", "" },
	{ "null", "" },
	{ "{", "" },
	{ "{} x", "" },
	{ "{\"name\":\"p\",}", "" },
	{ "{\"name\":\"a\\u0000b\"}", "" },
	/* duplicate keys, at the top and nested */
	{ "{\"name\":\"a\",\"name\":\"b\"}", "name" },
	{ WITH("\"retries\":1,\"retries\":1"), "retries" },
	{ WITH("\"circuit_breaker\":{\"open_ms\":100,\"open_ms\":200}"), "open_ms" },
	/* unknown keys: checked first, at every level */
	{ WITH("\"bogus\":1"), "bogus" },
	{ "{\"bogus\":1}", "bogus" },
	{ WITH("\"Name\":\"p\""), "Name" },
	{ WITH("\"circuit_breaker\":{\"bogus\":1}"), "circuit_breaker.bogus" },
	{ WITH("\"rate_limit\":{\"rate\":1,\"capacity\":1,\"burst\":2}"), "rate_limit.burst" },
	{ WITH("\"inject_headers\":{\"X\\nY\":\"v\"}"), "inject_headers.X?Y" },
	/* required */
	{ "{}", "name" },
	{ "{" MT "," UP "," FJ "}", "name" },
	{ "{\"name\":\"p\"," MT "," UP "," FJ "}", "version" },
	{ "{" NV "," UP "," FJ "}", "mount" },
	{ "{" NV "," MT "," FJ "}", "upstream" },
	{ "{" NV "," MT "," UP "}", "auth_mode" },
	/* name, version */
	{ "{\"name\":\"Echo\",\"version\":\"1\"," MT "," UP "," FJ "}", "name" },
	{ "{\"name\":\"\",\"version\":\"1\"," MT "," UP "," FJ "}", "name" },
	{ "{\"name\":\"a b\",\"version\":\"1\"," MT "," UP "," FJ "}", "name" },
	{ "{\"name\":\"a.b\",\"version\":\"1\"," MT "," UP "," FJ "}", "name" },
	{ "{\"name\":5,\"version\":\"1\"," MT "," UP "," FJ "}", "name" },
	{ "{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
	  "\"version\":\"1\"," MT "," UP "," FJ "}", "name" },
	{ "{\"name\":\"p\",\"version\":\"\"," MT "," UP "," FJ "}", "version" },
	{ "{\"name\":\"p\",\"version\":\"1 0\"," MT "," UP "," FJ "}", "version" },
	{ "{\"name\":\"p\",\"version\":1," MT "," UP "," FJ "}", "version" },
	{ "{\"name\":\"p\",\"version\":\"123456789012345678901234567890123\"," MT "," UP "," FJ "}",
	  "version" },
	/* mount: normalized, absolute, not "/", no '%' */
	{ MOUNT("\"/\""), "mount" },
	{ MOUNT("\"//\""), "mount" },
	{ MOUNT("\"\""), "mount" },
	{ MOUNT("\"relative\""), "mount" },
	{ MOUNT("\"v1/p\""), "mount" },
	{ MOUNT("\"/v1/../admin\""), "mount" },
	{ MOUNT("\"/v1/p/..\""), "mount" },
	{ MOUNT("\"/..\""), "mount" },
	{ MOUNT("\"/v1/./p\""), "mount" },
	{ MOUNT("\"/v1/p/.\""), "mount" },
	{ MOUNT("\"/v1//p\""), "mount" },
	{ MOUNT("\"/v1/p//\""), "mount" },
	{ MOUNT("\"/v1%2fp\""), "mount" },
	{ MOUNT("\"/v1/%2e%2e/admin\""), "mount" },
	{ MOUNT("\"/v1/%70\""), "mount" },
	{ MOUNT("\"/v1/p?x=1\""), "mount" },
	{ MOUNT("\"/v1/p#x\""), "mount" },
	{ MOUNT("\"/v1/p q\""), "mount" },
	{ MOUNT("\"/v1/p\\\\q\""), "mount" },
	{ MOUNT("\"/v1/\\u00e9\""), "mount" },
	{ MOUNT("\"/v1/p\\n\""), "mount" },
	{ MOUNT("5"), "mount" },
	{ MOUNT("[\"/v1/p\"]"), "mount" },
	{ MOUNT("null"), "mount" },
	/* upstream */
	{ UPSTREAM("\"ftp://h\""), "upstream" },
	{ UPSTREAM("\"file:///etc/passwd\""), "upstream" },
	{ UPSTREAM("\"gopher://h:70\""), "upstream" },
	{ UPSTREAM("\"h:8080\""), "upstream" },
	{ UPSTREAM("\"//h\""), "upstream" },
	{ UPSTREAM("\"http:/h\""), "upstream" },
	{ UPSTREAM("\"http://\""), "upstream" },
	{ UPSTREAM("\"http:///a\""), "upstream" },
	{ UPSTREAM("\"http://user:hunter2@h\""), "upstream" },
	{ UPSTREAM("\"http://user@h\""), "upstream" },
	{ UPSTREAM("\"http://h/a@b\""), "upstream" },
	{ UPSTREAM("\"http://h/?q=1\""), "upstream" },
	{ UPSTREAM("\"http://h?q=1\""), "upstream" },
	{ UPSTREAM("\"http://h#f\""), "upstream" },
	{ UPSTREAM("\"http://h:0\""), "upstream" },
	{ UPSTREAM("\"http://h:65536\""), "upstream" },
	{ UPSTREAM("\"http://h:\""), "upstream" },
	{ UPSTREAM("\"http://h:8a\""), "upstream" },
	{ UPSTREAM("\"http://h:-1\""), "upstream" },
	{ UPSTREAM("\"http://h:0000080\""), "upstream" },
	{ UPSTREAM("\"http://h h\""), "upstream" },
	{ UPSTREAM("\"http://-h\""), "upstream" },
	{ UPSTREAM("\"http://h.\""), "upstream" },
	{ UPSTREAM("\"http://a..b\""), "upstream" },
	{ UPSTREAM("\"http://[::1\""), "upstream" },
	{ UPSTREAM("\"http://[zz::1]\""), "upstream" },
	{ UPSTREAM("\"http://[]\""), "upstream" },
	{ UPSTREAM("\"http://a:b:80\""), "upstream" },
	{ UPSTREAM("\"http://h/a/../b\""), "upstream" },
	{ UPSTREAM("\"http://h/a//b\""), "upstream" },
	{ UPSTREAM("\"http://h/%2e\""), "upstream" },
	{ UPSTREAM("\"http://h//\""), "upstream" },
	{ UPSTREAM("\"http://h\\t\""), "upstream" },
	{ UPSTREAM("\"http://h\\u00e9\""), "upstream" },
	{ UPSTREAM("\"http://h%2f\""), "upstream" },
	{ UPSTREAM("1"), "upstream" },
	/* numbers: bounds and types */
	{ WITH("\"timeout_ms\":0"), "timeout_ms" },
	{ WITH("\"timeout_ms\":\"100\""), "timeout_ms" },
	{ WITH("\"timeout_ms\":300001"), "timeout_ms" },
	{ WITH("\"timeout_ms\":100.0"), "timeout_ms" },
	{ WITH("\"timeout_ms\":-1"), "timeout_ms" },
	{ WITH("\"timeout_ms\":true"), "timeout_ms" },
	{ WITH("\"timeout_ms\":null"), "timeout_ms" },
	{ WITH("\"timeout_ms\":99999999999999999999"), "" },   /* jansson: too big */
	{ WITH("\"timeout_ms\":9223372036854775807"), "timeout_ms" },
	{ WITH("\"connect_timeout_ms\":0"), "connect_timeout_ms" },
	{ WITH("\"connect_timeout_ms\":60001"), "connect_timeout_ms" },
	{ WITH("\"retries\":6"), "retries" },
	{ WITH("\"retries\":-1"), "retries" },
	{ WITH("\"max_body_bytes\":-1"), "max_body_bytes" },
	{ WITH("\"max_body_bytes\":1073741825"), "max_body_bytes" },
	{ WITH("\"keep_mount_prefix\":\"yes\""), "keep_mount_prefix" },
	{ WITH("\"keep_mount_prefix\":1"), "keep_mount_prefix" },
	/* auth_mode */
	{ "{" NV "," MT "," UP ",\"auth_mode\":\"jwt\"}", "auth_mode" },
	{ "{" NV "," MT "," UP ",\"auth_mode\":\"Forward_JWT\"}", "auth_mode" },
	{ "{" NV "," MT "," UP ",\"auth_mode\":\"\"}", "auth_mode" },
	{ "{" NV "," MT "," UP ",\"auth_mode\":1}", "auth_mode" },
	/* forward_headers */
	{ WITH("\"forward_headers\":[\"X-User-Id\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"x_user_id\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"X-Company-Id\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"X-ROLE\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"x_internal_sig\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"X-Internal-Timestamp\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"X-Request-Id\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"traceparent\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"Host\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"Content-Length\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"Transfer-Encoding\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"Connection\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"Upgrade\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"Proxy-Authorization\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"Authorization\"]"), "forward_headers" },
	{ WITH_GV("\"forward_headers\":[\"Authorization\"]"), "forward_headers" },
	{ WITH_PUB("\"forward_headers\":[\"authorization\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"bad header\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"X:Y\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[\"Accept\",\"accept\"]"), "forward_headers" },
	{ WITH("\"forward_headers\":[1]"), "forward_headers" },
	{ WITH("\"forward_headers\":\"Accept\""), "forward_headers" },
	{ WITH("\"forward_headers\":{}"), "forward_headers" },
	/* inject_headers */
	{ WITH("\"inject_headers\":{\"X-Foo\":\"a\\r\\nX-User-Id: 1\"}"), "inject_headers.X-Foo" },
	{ WITH("\"inject_headers\":{\"X-Foo\":\"a\\nb\"}"), "inject_headers.X-Foo" },
	{ WITH("\"inject_headers\":{\"X-Foo\":\"\\u007f\"}"), "inject_headers.X-Foo" },
	{ WITH("\"inject_headers\":{\"X-Foo\":1}"), "inject_headers.X-Foo" },
	{ WITH("\"inject_headers\":{\"X-Foo\":null}"), "inject_headers.X-Foo" },
	{ WITH("\"inject_headers\":{\"X-User-Id\":\"1\"}"), "inject_headers.X-User-Id" },
	{ WITH("\"inject_headers\":{\"X_Internal_Signature\":\"1\"}"),
	  "inject_headers.X_Internal_Signature" },
	{ WITH("\"inject_headers\":{\"Host\":\"evil\"}"), "inject_headers.Host" },
	{ WITH("\"inject_headers\":{\"Authorization\":\"Bearer x\"}"), "inject_headers.Authorization" },
	{ WITH("\"inject_headers\":{\"bad name\":\"v\"}"), "inject_headers.bad name" },
	{ WITH("\"inject_headers\":{\"X-Foo\":\"a\",\"x-foo\":\"b\"}"), "inject_headers.x-foo" },
	{ WITH("\"forward_headers\":[\"Accept\"],\"inject_headers\":{\"ACCEPT\":\"*/*\"}"),
	  "inject_headers.ACCEPT" },
	{ WITH("\"inject_headers\":[\"X-Foo\"]"), "inject_headers" },
	/* roles */
	{ WITH("\"roles\":[\"root\"]"), "roles" },
	{ WITH("\"roles\":[\"Admin\"]"), "roles" },
	{ WITH("\"roles\":[\"admin\",\"admin\"]"), "roles" },
	{ WITH("\"roles\":\"admin\""), "roles" },
	{ WITH("\"roles\":[1]"), "roles" },
	{ WITH("\"roles\":[\"\"]"), "roles" },
	{ WITH_PUB("\"roles\":[\"admin\"]"), "roles" },
	/* rate_limit */
	{ WITH("\"rate_limit\":{\"rate\":0,\"capacity\":1}"), "rate_limit.rate" },
	{ WITH("\"rate_limit\":{\"rate\":-1,\"capacity\":1}"), "rate_limit.rate" },
	{ WITH("\"rate_limit\":{\"rate\":\"5\",\"capacity\":1}"), "rate_limit.rate" },
	{ WITH("\"rate_limit\":{\"rate\":1000000.5,\"capacity\":1}"), "rate_limit.rate" },
	{ WITH("\"rate_limit\":{\"rate\":1,\"capacity\":0}"), "rate_limit.capacity" },
	{ WITH("\"rate_limit\":{\"rate\":1,\"capacity\":1000001}"), "rate_limit.capacity" },
	{ WITH("\"rate_limit\":{\"rate\":1,\"capacity\":1.5}"), "rate_limit.capacity" },
	{ WITH("\"rate_limit\":{\"rate\":1}"), "rate_limit.capacity" },
	{ WITH("\"rate_limit\":{\"capacity\":1}"), "rate_limit.rate" },
	{ WITH("\"rate_limit\":[]"), "rate_limit" },
	{ WITH("\"rate_limit\":5"), "rate_limit" },
	/* health_path */
	{ WITH("\"health_path\":\"health\""), "health_path" },
	{ WITH("\"health_path\":\"/a/../b\""), "health_path" },
	{ WITH("\"health_path\":\"/h?x=1\""), "health_path" },
	{ WITH("\"health_path\":\"/h%20\""), "health_path" },
	{ WITH("\"health_path\":\"\""), "health_path" },
	{ WITH("\"health_path\":true"), "health_path" },
	/* circuit_breaker */
	{ WITH("\"circuit_breaker\":{\"failure_threshold\":0}"), "circuit_breaker.failure_threshold" },
	{ WITH("\"circuit_breaker\":{\"failure_threshold\":1001}"), "circuit_breaker.failure_threshold" },
	{ WITH("\"circuit_breaker\":{\"open_ms\":99}"), "circuit_breaker.open_ms" },
	{ WITH("\"circuit_breaker\":{\"open_ms\":600001}"), "circuit_breaker.open_ms" },
	{ WITH("\"circuit_breaker\":{\"half_open_max\":0}"), "circuit_breaker.half_open_max" },
	{ WITH("\"circuit_breaker\":{\"half_open_max\":101}"), "circuit_breaker.half_open_max" },
	{ WITH("\"circuit_breaker\":{\"open_ms\":\"1000\"}"), "circuit_breaker.open_ms" },
	{ WITH("\"circuit_breaker\":5"), "circuit_breaker" },
	{ WITH("\"circuit_breaker\":null"), "circuit_breaker" },
	/* secret_file: gateway_verified only, and there required */
	{ "{" NV "," MT "," UP ",\"auth_mode\":\"gateway_verified\"}", "secret_file" },
	{ WITH_PUB("\"secret_file\":\"/etc/gerbang/p.secret\""), "secret_file" },
	{ WITH("\"secret_file\":\"/etc/gerbang/p.secret\""), "secret_file" },
	{ "{" NV "," MT "," UP ",\"auth_mode\":\"gateway_verified\",\"secret_file\":\"p.secret\"}",
	  "secret_file" },
	{ "{" NV "," MT "," UP ",\"auth_mode\":\"gateway_verified\",\"secret_file\":\"\"}",
	  "secret_file" },
	{ "{" NV "," MT "," UP ",\"auth_mode\":\"gateway_verified\",\"secret_file\":\"/\"}",
	  "secret_file" },
	{ "{" NV "," MT "," UP ",\"auth_mode\":\"gateway_verified\",\"secret_file\":7}",
	  "secret_file" },
	{ "{" NV "," MT "," UP ",\"auth_mode\":\"gateway_verified\",\"secret_file\":\"/a\\tb\"}",
	  "secret_file" },
};

/* No control or non-ASCII byte in what may reach a log line. */
static void
check_printable(const char *s)
{
	for (; *s != '\0'; s++)
		ck_assert_msg(*s >= 0x20 && *s < 0x7f, "unprintable byte 0x%02x",
		              (unsigned)(unsigned char)*s);
}

START_TEST(test_bad)
{
	struct gb_plugin_error err;
	struct gb_plugin *p = (struct gb_plugin *)&err;    /* must stay unchanged */
	const char *t = bad_cases[_i].text;
	enum gb_err e;

	memset(&err, 'x', sizeof(err));
	e = gb_plugin_parse(t, strlen(t), "/etc/gerbang/plugins.d/p.json", &p, &err);
	ck_assert_msg(e == GB_ECONFIG, "%s: accepted (%d)", t, e);
	ck_assert_ptr_eq(p, (struct gb_plugin *)&err);
	ck_assert_str_eq(err.file, "/etc/gerbang/plugins.d/p.json");
	ck_assert_msg(strcmp(err.key, bad_cases[_i].key) == 0, "%s: key \"%s\" (%s), want \"%s\"",
	              t, err.key, err.msg, bad_cases[_i].key);
	ck_assert_msg(err.msg[0] != '\0', "%s: no message", t);
	check_printable(err.key);
	check_printable(err.msg);
	check_printable(err.file);
	/* a password in the URL never reaches the message */
	ck_assert_ptr_null(strstr(err.msg, "hunter2"));
}
END_TEST

START_TEST(test_bad_args)
{
	struct gb_plugin_error err;
	struct gb_plugin *p = NULL;
	static const char text[] = "{" NV "," MT "," UP "," FJ "}";

	ck_assert_int_eq(gb_plugin_parse(NULL, 0, "f", &p, &err), GB_ECONFIG);
	ck_assert_int_eq(gb_plugin_parse(text, strlen(text), "f", NULL, &err), GB_ECONFIG);
	ck_assert_int_eq(gb_plugin_parse("{", 1, "f", &p, NULL), GB_ECONFIG);
	ck_assert_ptr_null(p);
	/* the length given is all that is read */
	ck_assert_int_eq(gb_plugin_parse(text, strlen(text) - 1, "f", &p, &err), GB_ECONFIG);
	ck_assert_int_eq(gb_plugin_parse(text, strlen(text), "f", &p, &err), GB_OK);
	gb_plugin_free(p);
}
END_TEST

/* Values at their length limits, built at run time. */
START_TEST(test_limits)
{
	struct gb_plugin_error err;
	struct gb_plugin *p = NULL;
	char *text, *big, *v;
	size_t n;
	int i;

	text = malloc(GB_PLUGIN_FILE_MAX + 4096);
	ck_assert_ptr_nonnull(text);

	/* a mount of GB_PLUGIN_PATH_MAX bytes, then one more */
	v = t_repeat('m', GB_PLUGIN_PATH_MAX);
	v[0] = '/';
	sprintf(text, "{" NV ",\"mount\":\"%s\"," UP "," FJ "}", v);
	ck_assert_int_eq(gb_plugin_parse(text, strlen(text), "f", &p, &err), GB_OK);
	ck_assert_uint_eq(p->mount_len, GB_PLUGIN_PATH_MAX);
	gb_plugin_free(p);
	free(v);
	v = t_repeat('m', GB_PLUGIN_PATH_MAX + 1);
	v[0] = '/';
	sprintf(text, "{" NV ",\"mount\":\"%s\"," UP "," FJ "}", v);
	ck_assert_int_eq(gb_plugin_parse(text, strlen(text), "f", &p, &err), GB_ECONFIG);
	ck_assert_str_eq(err.key, "mount");
	free(v);

	/* an inject_headers value of 1024 bytes, then 1025 */
	v = t_repeat('v', GB_PLUGIN_HEADER_VALUE_MAX);
	sprintf(text, WITH("\"inject_headers\":{\"X-Big\":\"%s\"}"), v);
	ck_assert_int_eq(gb_plugin_parse(text, strlen(text), "f", &p, &err), GB_OK);
	ck_assert_uint_eq(strlen(p->inject_headers[0].value), GB_PLUGIN_HEADER_VALUE_MAX);
	gb_plugin_free(p);
	free(v);
	v = t_repeat('v', GB_PLUGIN_HEADER_VALUE_MAX + 1);
	sprintf(text, WITH("\"inject_headers\":{\"X-Big\":\"%s\"}"), v);
	ck_assert_int_eq(gb_plugin_parse(text, strlen(text), "f", &p, &err), GB_ECONFIG);
	ck_assert_str_eq(err.key, "inject_headers.X-Big");
	free(v);

	/* header names of 128 and 129 characters */
	v = t_repeat('h', 128);
	sprintf(text, WITH("\"forward_headers\":[\"%s\"]"), v);
	ck_assert_int_eq(gb_plugin_parse(text, strlen(text), "f", &p, &err), GB_OK);
	gb_plugin_free(p);
	free(v);
	v = t_repeat('h', 129);
	sprintf(text, WITH("\"forward_headers\":[\"%s\"]"), v);
	ck_assert_int_eq(gb_plugin_parse(text, strlen(text), "f", &p, &err), GB_ECONFIG);
	ck_assert_str_eq(err.key, "forward_headers");
	free(v);

	/* 32 forward headers, then 33 */
	for (n = 32; n <= 33; n++) {
		strcpy(text, "{" NV "," MT "," UP "," FJ ",\"forward_headers\":[");
		for (i = 0; i < (int)n; i++)
			sprintf(text + strlen(text), "%s\"x-h%d\"", i ? "," : "", i);
		strcat(text, "]}");
		if (n == 32) {
			ck_assert_int_eq(gb_plugin_parse(text, strlen(text), "f", &p, &err), GB_OK);
			ck_assert_uint_eq(p->nforward_headers, 32);
			gb_plugin_free(p);
		} else {
			ck_assert_int_eq(gb_plugin_parse(text, strlen(text), "f", &p, &err), GB_ECONFIG);
			ck_assert_str_eq(err.key, "forward_headers");
		}
	}

	/* a long unknown key is cut short in the message */
	big = t_repeat('k', 500);
	sprintf(text, WITH("\"%s\":1"), big);
	ck_assert_int_eq(gb_plugin_parse(text, strlen(text), "f", &p, &err), GB_ECONFIG);
	ck_assert_uint_lt(strlen(err.key), sizeof(err.key));
	ck_assert_int_eq(strncmp(err.key, "kkkk", 4), 0);
	free(big);

	/* a manifest over GB_PLUGIN_FILE_MAX bytes, even valid JSON */
	memset(text, ' ', GB_PLUGIN_FILE_MAX + 10);
	memcpy(text, "{" NV "," MT "," UP "," FJ "}", strlen("{" NV "," MT "," UP "," FJ "}"));
	ck_assert_int_eq(gb_plugin_parse(text, GB_PLUGIN_FILE_MAX, "f", &p, &err), GB_OK);
	gb_plugin_free(p);
	ck_assert_int_eq(gb_plugin_parse(text, GB_PLUGIN_FILE_MAX + 1, "f", &p, &err), GB_ECONFIG);
	ck_assert_str_eq(err.key, "");

	/* a long file name is cut, not overflowed */
	big = t_repeat('f', 1000);
	ck_assert_int_eq(gb_plugin_parse("[]", 2, big, &p, &err), GB_ECONFIG);
	ck_assert_uint_lt(strlen(err.file), sizeof(err.file));
	free(big);
	free(text);
}
END_TEST

/* ---- headers ------------------------------------------------------------ */

static const struct {
	const char *name;
	bool owned, hop, allowed;
} header_cases[] = {
	{ "X-User-Id", true, false, false },
	{ "X-USER-ID", true, false, false },
	{ "x-user-id", true, false, false },
	{ "x_user_id", true, false, false },
	{ "X_User-Id", true, false, false },
	{ "X-Company-Id", true, false, false },
	{ "x_company_id", true, false, false },
	{ "X-Role", true, false, false },
	{ "X_ROLE", true, false, false },
	{ "X-Internal-Anything", true, false, false },
	{ "X-Internal-Timestamp", true, false, false },
	{ "X-INTERNAL-SIGNATURE", true, false, false },
	{ "x_internal_sig", true, false, false },
	{ "x-internal_sig", true, false, false },
	{ "X-Internal", true, false, false },
	{ "X-Internal-", true, false, false },
	{ "X_Internal_", true, false, false },
	{ "X-Userid", false, false, true },
	{ "X-User", false, false, true },
	{ "X-User-Id2", false, false, true },
	{ "X-User-Id-Hint", false, false, true },
	{ "X-Roles", false, false, true },
	{ "X-Rol", false, false, true },
	{ "XRole", false, false, true },
	{ "X-Internals", false, false, true },
	{ "X-Internalx-Foo", false, false, true },
	{ "Internal-Foo", false, false, true },
	{ "Connection", false, true, false },
	{ "KEEP-ALIVE", false, true, false },
	{ "keep_alive", false, true, false },
	{ "Proxy-Connection", false, true, false },
	{ "Proxy-Authenticate", false, true, false },
	{ "proxy-authorization", false, true, false },
	{ "TE", false, true, false },
	{ "te", false, true, false },
	{ "Trailer", false, true, false },
	{ "Transfer-Encoding", false, true, false },
	{ "transfer_encoding", false, true, false },
	{ "Upgrade", false, true, false },
	{ "Trailers", false, false, true },
	{ "Tee", false, false, true },
	{ "X-Request-Id", false, false, false },
	{ "x_request_id", false, false, false },    /* one name to CGI-style servers */
	{ "Content_Length", false, false, false },
	{ "traceparent", false, false, false },
	{ "Host", false, false, false },
	{ "Content-Length", false, false, false },
	{ "Authorization", false, false, false },
	{ "Accept", false, false, true },
	{ "Content-Type", false, false, true },
	{ "If-None-Match", false, false, true },
	{ "X-Forwarded-For", false, false, true },
	{ "", false, false, false },
	{ "a b", false, false, false },
	{ "a:b", false, false, false },
	{ "\xc3\xa9", false, false, false },
};

START_TEST(test_headers)
{
	const char *n = header_cases[_i].name;

	ck_assert_msg(gb_header_is_gateway_owned(n) == header_cases[_i].owned, "%s: owned", n);
	ck_assert_msg(gb_header_is_hop_by_hop(n) == header_cases[_i].hop, "%s: hop", n);
	ck_assert_msg(gb_plugin_header_allowed(n) == header_cases[_i].allowed, "%s: allowed", n);
}
END_TEST

START_TEST(test_headers_null)
{
	ck_assert(!gb_header_is_gateway_owned(NULL));
	ck_assert(!gb_header_is_hop_by_hop(NULL));
	ck_assert(!gb_plugin_header_allowed(NULL));
	ck_assert_str_eq(gb_plugin_auth_name(GB_PLUGIN_FORWARD_JWT), "forward_jwt");
	ck_assert_str_eq(gb_plugin_auth_name(GB_PLUGIN_PUBLIC), "public");
	ck_assert_str_eq(gb_plugin_auth_name((enum gb_plugin_auth)99), "?");
}
END_TEST

/* ---- upstream paths ----------------------------------------------------- */

static const struct {
	const char *upstream;
	bool keep;
	const char *path, *rest;
	enum gb_err err;
	const char *out;
} up_cases[] = {
	{ "http://h", false, "/v1/p/x", "/x", GB_OK, "/x" },
	{ "http://h", false, "/v1/p", "", GB_OK, "/" },
	{ "http://h", false, "/v1/p/", "/", GB_OK, "/" },
	{ "http://h", false, "/v1/p/x/", "/x/", GB_OK, "/x/" },
	{ "http://h", true, "/v1/p/x", "/x", GB_OK, "/v1/p/x" },
	{ "http://h", true, "/v1/p", "", GB_OK, "/v1/p" },
	{ "http://h/", false, "/v1/p/x", "/x", GB_OK, "/x" },
	{ "http://h/api", false, "/v1/p/x/y", "/x/y", GB_OK, "/api/x/y" },
	{ "http://h/api/", false, "/v1/p", "", GB_OK, "/api/" },
	{ "http://h/api/v2", false, "/v1/p/", "/", GB_OK, "/api/v2/" },
	{ "http://h/api", true, "/v1/p", "", GB_OK, "/api/v1/p" },
	{ "http://h/api", true, "/v1/p/x", "/x", GB_OK, "/api/v1/p/x" },
	/* decoded bytes are encoded again */
	{ "http://h", false, "/v1/p/a?b", "/a?b", GB_OK, "/a%3Fb" },
	{ "http://h", false, "/v1/p/a#b", "/a#b", GB_OK, "/a%23b" },
	{ "http://h", false, "/v1/p/a b", "/a b", GB_OK, "/a%20b" },
	{ "http://h", false, "/v1/p/100%", "/100%", GB_OK, "/100%25" },
	{ "http://h", false, "/v1/p/%41", "/%41", GB_OK, "/%2541" },
	{ "http://h", false, "/v1/p/\xc3\xa9", "/\xc3\xa9", GB_OK, "/%C3%A9" },
	{ "http://h", false, "/v1/p/a\\b", "/a\\b", GB_OK, "/a%5Cb" },
	{ "http://h", false, "/v1/p/a\"<>", "/a\"<>", GB_OK, "/a%22%3C%3E" },
	{ "http://h", false, "/v1/p/a;b=c,d@e:f~g", "/a;b=c,d@e:f~g", GB_OK, "/a;b=c,d@e:f~g" },
	{ "http://h", true, "/v1/p/a?b", "/a?b", GB_OK, "/v1/p/a%3Fb" },
	/* misuse */
	{ "http://h", false, "v1/p/x", "/x", GB_EINVAL, NULL },
	{ "http://h", false, "", "", GB_EINVAL, NULL },
	{ "http://h", false, "/v1/p/x", "x", GB_EINVAL, NULL },
};

START_TEST(test_upstream_path)
{
	char text[512], *out = NULL;
	struct gb_plugin *p = NULL;
	struct gb_arena *a = gb_arena_new(1024);

	ck_assert_ptr_nonnull(a);
	snprintf(text, sizeof(text), "{" NV "," MT ",\"upstream\":\"%s\"," FJ
	         ",\"keep_mount_prefix\":%s}", up_cases[_i].upstream,
	         up_cases[_i].keep ? "true" : "false");
	ck_assert_int_eq(gb_plugin_parse(text, strlen(text), "f", &p, NULL), GB_OK);
	ck_assert_int_eq(gb_plugin_upstream_path(a, p, up_cases[_i].path, up_cases[_i].rest, &out),
	                 up_cases[_i].err);
	if (up_cases[_i].err == GB_OK)
		ck_assert_str_eq(out, up_cases[_i].out);
	else
		ck_assert_ptr_null(out);
	ck_assert_int_eq(gb_plugin_upstream_path(a, p, "/x", NULL, &out), GB_EINVAL);
	ck_assert_int_eq(gb_plugin_upstream_path(a, NULL, "/x", "", &out), GB_EINVAL);
	gb_plugin_free(p);
	gb_arena_free(a);
}
END_TEST

/* ---- the registry ------------------------------------------------------- */

static char tmpdir[64];

static void
reg_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s", "/tmp/gb-plugin-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
reg_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
put(const char *name, const char *text, size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static void
put_str(const char *name, const char *text)
{
	put(name, text, strlen(text));
}

/* A small manifest; mode "gateway_verified" gets secret_file tmpdir/sname. */
static void
put_manifest(const char *file, const char *name, const char *mount, const char *mode,
             const char *sname)
{
	char text[1024];

	if (sname != NULL)
		snprintf(text, sizeof(text),
		         "{\"name\":\"%s\",\"version\":\"1\",\"mount\":\"%s\",\"upstream\":"
		         "\"http://127.0.0.1:9\",\"auth_mode\":\"%s\",\"secret_file\":\"%s/%s\"}",
		         name, mount, mode, tmpdir, sname);
	else
		snprintf(text, sizeof(text),
		         "{\"name\":\"%s\",\"version\":\"1\",\"mount\":\"%s\",\"upstream\":"
		         "\"http://127.0.0.1:9\",\"auth_mode\":\"%s\"}", name, mount, mode);
	put_str(file, text);
}

static const char *
tail(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

START_TEST(test_registry_sorted)
{
	struct gb_plugin_error err;
	struct gb_registry *r = NULL;
	char sub[128];

	put_manifest("b.json", "bravo", "/v1/b", "forward_jwt", NULL);
	put_manifest("a.json", "alpha", "/v1/a", "public", NULL);
	put_manifest("c.json", "charlie", "/v1/c", "forward_jwt", NULL);
	put_manifest("10.json", "ten", "/v1/ten", "forward_jwt", NULL);
	/* ignored: other names, hidden files, a directory without .json */
	put_str("README", "not json at all");
	put_str("x.json.bak", "{");
	put_str("x.json~", "{");
	put_str(".hidden.json", "{");
	put_str("upper.JSON", "{");
	put_str("json", "{");
	put_str("x.secret", "0123456789abcdef0123456789abcdef");
	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);

	ck_assert_int_eq(gb_registry_load(tmpdir, &r, &err), GB_OK);
	ck_assert_uint_eq(gb_registry_count(r), 4);
	ck_assert_str_eq(gb_registry_at(r, 0)->name, "ten");     /* "10.json" sorts first */
	ck_assert_str_eq(gb_registry_at(r, 1)->name, "alpha");
	ck_assert_str_eq(gb_registry_at(r, 2)->name, "bravo");
	ck_assert_str_eq(gb_registry_at(r, 3)->name, "charlie");
	ck_assert_ptr_null(gb_registry_at(r, 4));
	ck_assert_str_eq(tail(gb_registry_at(r, 1)->file), "a.json");
	ck_assert_int_eq(strncmp(gb_registry_at(r, 1)->file, tmpdir, strlen(tmpdir)), 0);
	gb_registry_free(r);
	gb_registry_free(NULL);
	ck_assert_uint_eq(gb_registry_count(NULL), 0);
	ck_assert_ptr_null(gb_registry_at(NULL, 0));
}
END_TEST

START_TEST(test_registry_empty)
{
	struct gb_plugin_error err;
	struct gb_registry *r = NULL;
	const char *rest = "unchanged";

	put_str("README", "nothing here");
	ck_assert_int_eq(gb_registry_load(tmpdir, &r, &err), GB_OK);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(gb_registry_count(r), 0);
	ck_assert_ptr_null(gb_registry_at(r, 0));
	ck_assert_ptr_null(gb_registry_match(r, "/v1/p", &rest));
	ck_assert_str_eq(rest, "unchanged");
	gb_registry_free(r);
}
END_TEST

START_TEST(test_registry_missing)
{
	struct gb_plugin_error err;
	struct gb_registry *r = (struct gb_registry *)&err;
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/nope", tmpdir);
	ck_assert_int_eq(gb_registry_load(dir, &r, &err), GB_ECONFIG);
	ck_assert_ptr_eq(r, (struct gb_registry *)&err);
	ck_assert_str_eq(err.file, dir);
	ck_assert_str_eq(err.key, "");
	ck_assert_ptr_nonnull(strstr(err.msg, "No such file"));
	/* a file is not a directory */
	put_str("file", "x");
	snprintf(dir, sizeof(dir), "%s/file", tmpdir);
	ck_assert_int_eq(gb_registry_load(dir, &r, &err), GB_ECONFIG);
	ck_assert_int_eq(gb_registry_load(NULL, &r, &err), GB_ECONFIG);
	ck_assert_int_eq(gb_registry_load(tmpdir, NULL, NULL), GB_ECONFIG);
}
END_TEST

START_TEST(test_registry_duplicates)
{
	struct gb_plugin_error err;
	struct gb_registry *r = NULL;

	put_manifest("a.json", "same", "/v1/a", "forward_jwt", NULL);
	put_manifest("b.json", "same", "/v1/b", "forward_jwt", NULL);
	ck_assert_int_eq(gb_registry_load(tmpdir, &r, &err), GB_ECONFIG);
	ck_assert_ptr_null(r);
	ck_assert_str_eq(tail(err.file), "b.json");
	ck_assert_str_eq(err.key, "name");
	ck_assert_ptr_nonnull(strstr(err.msg, "a.json"));

	/* the same mount, spelled with a trailing slash */
	put_manifest("b.json", "other", "/v1/a/", "forward_jwt", NULL);
	ck_assert_int_eq(gb_registry_load(tmpdir, &r, &err), GB_ECONFIG);
	ck_assert_str_eq(tail(err.file), "b.json");
	ck_assert_str_eq(err.key, "mount");

	/* nested mounts are fine */
	put_manifest("b.json", "other", "/v1/a/b", "forward_jwt", NULL);
	ck_assert_int_eq(gb_registry_load(tmpdir, &r, &err), GB_OK);
	ck_assert_uint_eq(gb_registry_count(r), 2);
	gb_registry_free(r);
}
END_TEST

START_TEST(test_registry_bad_manifest)
{
	struct gb_plugin_error err;
	struct gb_registry *r = NULL;
	char *big;

	put_manifest("a.json", "alpha", "/v1/a", "forward_jwt", NULL);
	put_str("b.json", "{\"name\":\"b\",\"bogus\":true}");
	ck_assert_int_eq(gb_registry_load(tmpdir, &r, &err), GB_ECONFIG);
	ck_assert_ptr_null(r);
	ck_assert_str_eq(tail(err.file), "b.json");
	ck_assert_str_eq(err.key, "bogus");

	put_str("b.json", "");
	ck_assert_int_eq(gb_registry_load(tmpdir, &r, &err), GB_ECONFIG);
	ck_assert_str_eq(tail(err.file), "b.json");

	/* too large: refused without parsing */
	big = t_repeat(' ', GB_PLUGIN_FILE_MAX + 1);
	put("b.json", big, GB_PLUGIN_FILE_MAX + 1);
	ck_assert_int_eq(gb_registry_load(tmpdir, &r, &err), GB_ECONFIG);
	ck_assert_str_eq(tail(err.file), "b.json");
	ck_assert_ptr_nonnull(strstr(err.msg, "larger"));
	free(big);
}
END_TEST

START_TEST(test_registry_not_regular)
{
	struct gb_plugin_error err;
	struct gb_registry *r = NULL;
	char path[128];

	/* a FIFO must not block the load, a directory is not skipped silently */
	snprintf(path, sizeof(path), "%s/fifo.json", tmpdir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(gb_registry_load(tmpdir, &r, &err), GB_ECONFIG);
	ck_assert_str_eq(tail(err.file), "fifo.json");
	ck_assert_ptr_nonnull(strstr(err.msg, "regular"));
	unlink(path);
	snprintf(path, sizeof(path), "%s/dir.json", tmpdir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(gb_registry_load(tmpdir, &r, &err), GB_ECONFIG);
	ck_assert_str_eq(tail(err.file), "dir.json");
	rmdir(path);

	/* a symbolic link to a manifest is followed */
	put_manifest("real.txt", "linked", "/v1/l", "public", NULL);
	snprintf(path, sizeof(path), "%s/link.json", tmpdir);
	ck_assert_int_eq(symlink("real.txt", path), 0);
	ck_assert_int_eq(gb_registry_load(tmpdir, &r, &err), GB_OK);
	ck_assert_uint_eq(gb_registry_count(r), 1);
	ck_assert_str_eq(gb_registry_at(r, 0)->name, "linked");
	gb_registry_free(r);
}
END_TEST

START_TEST(test_registry_too_many)
{
	struct gb_plugin_error err;
	struct gb_registry *r = NULL;
	char file[32], name[32], mount[32];
	int i;

	for (i = 0; i < GB_PLUGIN_MAX; i++) {
		snprintf(file, sizeof(file), "p%03d.json", i);
		snprintf(name, sizeof(name), "p%03d", i);
		snprintf(mount, sizeof(mount), "/v1/p%03d", i);
		put_manifest(file, name, mount, "public", NULL);
	}
	ck_assert_int_eq(gb_registry_load(tmpdir, &r, &err), GB_OK);
	ck_assert_uint_eq(gb_registry_count(r), GB_PLUGIN_MAX);
	gb_registry_free(r);
	put_manifest("zzz.json", "zzz", "/v1/zzz", "public", NULL);
	r = NULL;
	ck_assert_int_eq(gb_registry_load(tmpdir, &r, &err), GB_ECONFIG);
	ck_assert_ptr_null(r);
	ck_assert_str_eq(err.file, tmpdir);
}
END_TEST

static const struct {
	const char *content;      /* NULL: no file */
	size_t len;
	bool ok;
	size_t secret_len;
	const char *msg;          /* a part of err.msg */
} secret_cases[] = {
#define S(s) s, sizeof(s) - 1
	{ S("0123456789abcdef0123456789abcdef"), true, 32, NULL },
	{ S("0123456789abcdef0123456789abcdef\n"), true, 32, NULL },
	{ S("0123456789abcdef0123456789abcdef\r\nsecond line"), true, 32, NULL },
	{ S("0123456789abcdef0123456789abcdef0123\nx"), true, 36, NULL },
	{ S("0123456789abcdef0123456789abcde"), false, 0, "shorter" },
	{ S("0123456789abcdef0123456789abcde\n0123456789abcdef0123456789abcdef"), false, 0,
	  "shorter" },
	{ S(""), false, 0, "shorter" },
	{ S("\n0123456789abcdef0123456789abcdef"), false, 0, "shorter" },
	{ S("0123456789abcdef\0" "0123456789abcdef0123"), false, 0, "NUL" },
	{ NULL, 0, false, 0, "cannot open" },
#undef S
};

START_TEST(test_registry_secret)
{
	struct gb_plugin_error err;
	struct gb_registry *r = NULL;
	const struct gb_plugin *p;

	put_manifest("s.json", "signed", "/v1/s", "gateway_verified", "s.secret");
	if (secret_cases[_i].content != NULL)
		put("s.secret", secret_cases[_i].content, secret_cases[_i].len);
	if (!secret_cases[_i].ok) {
		ck_assert_int_eq(gb_registry_load(tmpdir, &r, &err), GB_ECONFIG);
		ck_assert_ptr_null(r);
		ck_assert_str_eq(tail(err.file), "s.json");
		ck_assert_str_eq(err.key, "secret_file");
		ck_assert_msg(strstr(err.msg, secret_cases[_i].msg) != NULL, "%s", err.msg);
		/* the secret's text never reaches a message */
		ck_assert_ptr_null(strstr(err.msg, "0123456789abcdef"));
		return;
	}
	ck_assert_int_eq(gb_registry_load(tmpdir, &r, &err), GB_OK);
	p = gb_registry_at(r, 0);
	ck_assert_ptr_nonnull(p->secret);
	ck_assert_uint_eq(p->secret_len, secret_cases[_i].secret_len);
	ck_assert_int_eq(memcmp(p->secret, secret_cases[_i].content, p->secret_len), 0);
	gb_registry_free(r);
}
END_TEST

/* ---- matching ----------------------------------------------------------- */

static struct gb_registry *match_reg;

static void
match_setup(void)
{
	struct gb_plugin_error err;

	reg_setup();
	put_manifest("1.json", "p", "/v1/p", "forward_jwt", NULL);
	put_manifest("2.json", "pa", "/v1/p/a", "forward_jwt", NULL);
	put_manifest("3.json", "pab", "/v1/p/a/b", "forward_jwt", NULL);
	put_manifest("4.json", "q", "/v1/q/", "public", NULL);
	put_manifest("5.json", "x", "/x", "public", NULL);
	ck_assert_int_eq(gb_registry_load(tmpdir, &match_reg, &err), GB_OK);
}

static void
match_teardown(void)
{
	gb_registry_free(match_reg);
	match_reg = NULL;
	reg_teardown();
}

/* Raw request paths, normalized as the pipeline does, then matched. */
static const struct {
	const char *raw;
	const char *plugin;       /* NULL: no match (or the path is refused) */
	const char *rest;
} match_cases[] = {
	{ "/v1/p", "p", "" },
	{ "/v1/p/", "p", "/" },
	{ "/v1/p/x", "p", "/x" },
	{ "/v1/p/x/", "p", "/x/" },
	{ "/v1/p/a", "pa", "" },
	{ "/v1/p/a/", "pa", "/" },
	{ "/v1/p/ab", "p", "/ab" },
	{ "/v1/p/a/b", "pab", "" },
	{ "/v1/p/a/b/c/d", "pab", "/c/d" },
	{ "/v1/p/a/bc", "pa", "/bc" },
	{ "/v1/p/a/x/b", "pa", "/x/b" },
	{ "/v1/px", NULL, NULL },
	{ "/v1/p.", NULL, NULL },
	{ "/v1/p-a", NULL, NULL },
	{ "/v1/", NULL, NULL },
	{ "/v1", NULL, NULL },
	{ "/", NULL, NULL },
	{ "/V1/P", NULL, NULL },
	{ "/v1/q", "q", "" },
	{ "/v1/q/x/", "q", "/x/" },
	{ "/x", "x", "" },
	{ "/xx", NULL, NULL },
	{ "/v2/p", NULL, NULL },
	/* spellings normalize first: nothing escapes one mount into another */
	{ "//v1//p//x", "p", "/x" },
	{ "/v1/./p/./x", "p", "/x" },
	{ "/v1/p/../q/x", "q", "/x" },
	{ "/v1/p/a/../x", "p", "/x" },
	{ "/v1/p/a/%2e%2e/x", "p", "/x" },
	{ "/v1/p/a/.%2E/b", "p", "/b" },
	{ "/v1/p/%2e%2e/q", "q", "" },
	{ "/v1/%70/a", "pa", "" },
	{ "/v1/p%2fa", NULL, NULL },          /* encoded slash: refused */
	{ "/v1/p/a%2fb", NULL, NULL },
	{ "/v1/q/../../x/y", "x", "/y" },
	{ "/v1/q/../../../x", NULL, NULL },   /* above the root: refused */
	{ "/v1/p/x%3F/y", "p", "/x?/y" },     /* decoded; re-encoded upstream */
	{ "/v1/p\\x", NULL, NULL },
};

START_TEST(test_match)
{
	struct gb_arena *a = gb_arena_new(1024);
	const struct gb_plugin *p;
	const char *rest = "unchanged";
	char *path = NULL;
	enum gb_err e;

	ck_assert_ptr_nonnull(a);
	e = gb_path_normalize(a, match_cases[_i].raw, strlen(match_cases[_i].raw), &path);
	if (e != GB_OK) {
		ck_assert_msg(match_cases[_i].plugin == NULL, "%s: refused by gb_path_normalize",
		              match_cases[_i].raw);
		gb_arena_free(a);
		return;
	}
	p = gb_registry_match(match_reg, path, &rest);
	if (match_cases[_i].plugin == NULL) {
		ck_assert_msg(p == NULL, "%s: matched %s", match_cases[_i].raw, p ? p->name : "");
		ck_assert_str_eq(rest, "unchanged");
	} else {
		ck_assert_msg(p != NULL, "%s: no match", match_cases[_i].raw);
		ck_assert_str_eq(p->name, match_cases[_i].plugin);
		ck_assert_str_eq(rest, match_cases[_i].rest);
		/* the mount is a prefix of the path, and rest what follows it */
		ck_assert_int_eq(strncmp(path, p->mount, p->mount_len), 0);
		ck_assert_ptr_eq(rest, path + p->mount_len);
		ck_assert(rest[0] == '\0' || rest[0] == '/');
		ck_assert_ptr_null(strstr(rest, "/../"));
		ck_assert_ptr_null(strstr(rest, "/./"));
		ck_assert_ptr_eq(gb_registry_match(match_reg, path, NULL), p);
	}
	gb_arena_free(a);
}
END_TEST

START_TEST(test_match_args)
{
	const char *rest = "unchanged";

	ck_assert_ptr_null(gb_registry_match(NULL, "/v1/p", &rest));
	ck_assert_ptr_null(gb_registry_match(match_reg, NULL, &rest));
	ck_assert_ptr_null(gb_registry_match(match_reg, "", &rest));
	ck_assert_ptr_null(gb_registry_match(match_reg, "v1/p", &rest));
	ck_assert_str_eq(rest, "unchanged");
}
END_TEST

static Suite *
plugin_suite(void)
{
	Suite *s = suite_create("gb_plugin");
	TCase *tm = tcase_create("manifest");
	TCase *th = tcase_create("headers");
	TCase *tu = tcase_create("upstream_path");
	TCase *tr = tcase_create("registry");
	TCase *tx = tcase_create("match");

	tcase_add_test(tm, test_full);
	tcase_add_test(tm, test_minimal);
	tcase_add_loop_test(tm, test_good, 0, (int)NELEM(good_cases));
	tcase_add_loop_test(tm, test_bad, 0, (int)NELEM(bad_cases));
	tcase_add_test(tm, test_bad_args);
	tcase_add_test(tm, test_limits);
	suite_add_tcase(s, tm);

	tcase_add_loop_test(th, test_headers, 0, (int)NELEM(header_cases));
	tcase_add_test(th, test_headers_null);
	suite_add_tcase(s, th);

	tcase_add_loop_test(tu, test_upstream_path, 0, (int)NELEM(up_cases));
	suite_add_tcase(s, tu);

	tcase_add_checked_fixture(tr, reg_setup, reg_teardown);
	tcase_add_test(tr, test_registry_sorted);
	tcase_add_test(tr, test_registry_empty);
	tcase_add_test(tr, test_registry_missing);
	tcase_add_test(tr, test_registry_duplicates);
	tcase_add_test(tr, test_registry_bad_manifest);
	tcase_add_test(tr, test_registry_not_regular);
	tcase_add_test(tr, test_registry_too_many);
	tcase_add_loop_test(tr, test_registry_secret, 0, (int)NELEM(secret_cases));
	suite_add_tcase(s, tr);

	tcase_add_checked_fixture(tx, match_setup, match_teardown);
	tcase_add_loop_test(tx, test_match, 0, (int)NELEM(match_cases));
	tcase_add_test(tx, test_match_args);
	suite_add_tcase(s, tx);
	return s;
}

GB_TEST_MAIN(plugin_suite)
