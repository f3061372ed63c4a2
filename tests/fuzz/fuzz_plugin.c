/* libFuzzer target: gb_plugin_parse() (no file access) and the invariants
 * of what it accepts: a mount and an upstream that cannot take or leak
 * another route, header rules, bounds; error messages that are printable. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb_plugin.h"
#include "gb_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gb_arena *a;

static void
printable(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n == max)
		abort();                    /* not terminated inside its array */
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s >= 0x7f)
			abort();
}

static bool
is_pchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("-._~!$&'()*+,;=:@", c) != NULL);
}

/* An absolute path in normalized form without a trailing slash, pchar only;
 * "/" only when root is allowed. */
static void
check_path(const char *s, bool root)
{
	size_t n = strlen(s), i;
	char *norm = NULL;

	if (n == 0 || s[0] != '/' || n > GB_PLUGIN_PATH_MAX)
		abort();
	if (n == 1) {
		if (!root)
			abort();
		return;
	}
	if (s[n - 1] == '/' || strstr(s, "//") != NULL || strstr(s, "/./") != NULL ||
	    strstr(s, "/../") != NULL || strcmp(s + n - 2, "/.") == 0 ||
	    (n >= 3 && strcmp(s + n - 3, "/..") == 0))
		abort();
	for (i = 0; i < n; i++)
		if (s[i] != '/' && !is_pchar(s[i]))
			abort();
	if (gb_path_normalize(a, s, n, &norm) != GB_OK || strcmp(norm, s) != 0)
		abort();
}

static void
check_plugin(const struct gb_plugin *p)
{
	char origin[512], *path, *out;
	size_t i, n;

	n = strlen(p->name);
	if (n < 1 || n > 64 || strspn(p->name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
		abort();
	n = strlen(p->version);
	if (n < 1 || n > 32)
		abort();
	printable(p->version, 64);

	/* the mount: never "/", never escapable */
	check_path(p->mount, false);
	if (p->mount_len != strlen(p->mount) || strchr(p->mount, '%') != NULL)
		abort();

	/* the upstream: http(s), a host, a port, a clean base path */
	if (strcmp(p->scheme, "http") != 0 && strcmp(p->scheme, "https") != 0)
		abort();
	if (p->host[0] == '\0' || strpbrk(p->host, "@/?#% \\") != NULL || p->port < 1 ||
	    p->port > 65535)
		abort();
	if (strpbrk(p->upstream, "@?#") != NULL)
		abort();
	snprintf(origin, sizeof(origin), "%s://%s:%u", p->scheme, p->host, p->port);
	if (strcmp(origin, p->upstream_origin) != 0)
		abort();
	if (p->base_path[0] != '\0')
		check_path(p->base_path, false);
	if (p->health_path != NULL)
		check_path(p->health_path, true);

	/* headers: only what the rules allow, lowercase, clean values */
	if (p->nforward_headers > GB_PLUGIN_HEADERS_MAX || p->ninject_headers > GB_PLUGIN_HEADERS_MAX)
		abort();
	for (i = 0; i < p->nforward_headers; i++)
		if (!gb_plugin_header_allowed(p->forward_headers[i]) ||
		    strpbrk(p->forward_headers[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != NULL)
			abort();
	for (i = 0; i < p->ninject_headers; i++) {
		const char *v = p->inject_headers[i].value;

		if (!gb_plugin_header_allowed(p->inject_headers[i].name) ||
		    strpbrk(p->inject_headers[i].name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != NULL ||
		    strlen(v) > GB_PLUGIN_HEADER_VALUE_MAX || strpbrk(v, "\r\n") != NULL)
			abort();
	}

	/* cross-field rules and bounds */
	if (p->auth_mode == GB_PLUGIN_PUBLIC && p->roles != 0)
		abort();
	if ((p->secret_file != NULL) != (p->auth_mode == GB_PLUGIN_GATEWAY_VERIFIED))
		abort();
	if (p->secret != NULL || p->secret_len != 0)
		abort();
	if (p->timeout_ms < 1 || p->timeout_ms > 300000 || p->connect_timeout_ms < 1 ||
	    p->connect_timeout_ms > 60000 || p->retries < 0 || p->retries > 5 ||
	    p->max_body_bytes < 0 || p->max_body_bytes > 1073741824 ||
	    p->breaker_failure_threshold < 1 || p->breaker_open_ms < 100 ||
	    p->breaker_half_open_max < 1 || (p->roles & ~0xfu) != 0)
		abort();
	if (p->has_rate_limit && (!(p->rate > 0) || p->capacity < 1 || p->capacity > 1000000))
		abort();

	/* the upstream path of a request under the mount stays under base_path
	 * and holds no byte that changes the request line */
	path = gb_arena_printf(a, "%s/a?b#c d%%e", p->mount);
	if (path == NULL)
		abort();
	if (gb_plugin_upstream_path(a, p, path, path + p->mount_len, &out) != GB_OK)
		abort();
	if (strncmp(out, p->base_path, strlen(p->base_path)) != 0 || out[strlen(p->base_path)] != '/')
		abort();
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] != '/' && out[i] != '%' && !is_pchar(out[i]))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gb_plugin_error err;
	struct gb_plugin *p = NULL;
	enum gb_err e;

	if (a == NULL && (a = gb_arena_new(16 * 1024)) == NULL)
		abort();
	memset(&err, 0x7f, sizeof(err));
	e = gb_plugin_parse((const char *)data, size, "fuzz.json", &p, &err);
	if (e == GB_OK) {
		if (p == NULL)
			abort();
		check_plugin(p);
		gb_plugin_free(p);
	} else {
		if (p != NULL || (e != GB_ECONFIG && e != GB_ENOMEM))
			abort();
		if (strcmp(err.file, "fuzz.json") != 0 || err.msg[0] == '\0')
			abort();
		printable(err.key, sizeof(err.key));
		printable(err.msg, sizeof(err.msg));
	}
	gb_arena_reset(a);
	return 0;
}
