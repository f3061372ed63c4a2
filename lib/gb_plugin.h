/* gb_plugin.h - the plugin registry: one JSON manifest per plugin in PLUGIN_DIR.
 *
 * A registry is an immutable snapshot built once per load: gerbang-proxy
 * loads a new one on reload and swaps the pointer, keeping the last good
 * one when the new load fails.  Nothing in it changes after
 * gb_registry_load() returns, so every thread may read it without locks.
 *
 * A manifest is a JSON object (duplicate keys rejected) with these keys;
 * any other key, at the top level or inside a nested object, is an error:
 *
 *   name               required, 1..64 of [a-z0-9_-], unique in the registry
 *   version            required, 1..32 visible ASCII characters
 *   mount              required, the path prefix the plugin owns: absolute,
 *                      already normalized (no empty, "." or ".." segment),
 *                      no '%', at most GB_PLUGIN_PATH_MAX bytes, not "/";
 *                      one trailing slash is allowed and dropped; unique
 *   upstream           required, http:// or https:// URL: host (name or
 *                      [IPv6]), optional :port, optional normalized base
 *                      path; no userinfo, query or fragment
 *   auth_mode          required, "forward_jwt" | "gateway_verified" | "public"
 *   timeout_ms         1..300000, default 10000 (whole upstream exchange)
 *   connect_timeout_ms 1..60000, default 2000
 *   forward_headers    array of header names the client may pass through
 *                      (see gb_plugin_header_allowed())
 *   inject_headers     object name -> value set on every upstream request;
 *                      same name rules, values at most 1024 bytes without
 *                      control characters
 *   keep_mount_prefix  boolean, default false: send the full path upstream
 *                      instead of the part after the mount
 *   roles              array of "owner" | "admin" | "member" | "viewer";
 *                      empty or absent: any role; must be empty for public
 *   rate_limit         object { "rate": number > 0 (tokens per second, at
 *                      most 1000000), "capacity": 1..1000000 }, both
 *                      required; absent: the default class
 *   retries            0..5, default 0 (idempotent methods only)
 *   health_path        normalized absolute path on the upstream (joined to
 *                      its base path), checked by /readyz; default none
 *   max_body_bytes     0..1073741824, default 10485760
 *   circuit_breaker    object { "failure_threshold": 1..1000 (default 5),
 *                      "open_ms": 100..600000 (default 30000),
 *                      "half_open_max": 1..100 (default 1) }
 *   secret_file        absolute path of the HMAC key of gateway_verified
 *                      (required there, an error in other modes); its
 *                      first line, at least GB_PLUGIN_SECRET_MIN bytes, is
 *                      read by gb_registry_load()
 *
 * Errors name the file and the key ("circuit_breaker.open_ms",
 * "inject_headers.X-Foo"); text taken from a manifest is shown with control
 * and non-ASCII bytes replaced by '?' and cut short.
 */
#ifndef GB_PLUGIN_H
#define GB_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "gb_arena.h"
#include "gb_err.h"

#define GB_PLUGIN_MAX 256                /* plugins in one registry */
#define GB_PLUGIN_FILE_MAX 65536         /* bytes of one manifest */
#define GB_PLUGIN_PATH_MAX 256           /* mount, health_path, base path */
#define GB_PLUGIN_URL_MAX 2048           /* upstream */
#define GB_PLUGIN_HEADERS_MAX 32         /* forward_headers, inject_headers */
#define GB_PLUGIN_HEADER_VALUE_MAX 1024
#define GB_PLUGIN_SECRET_MIN 32          /* bytes: the HMAC-SHA256 block half */
#define GB_PLUGIN_SECRET_MAX 4096

enum gb_plugin_auth {
	GB_PLUGIN_FORWARD_JWT,       /* Authorization passed on; plugin verifies */
	GB_PLUGIN_GATEWAY_VERIFIED,  /* gateway verifies, sends signed identity */
	GB_PLUGIN_PUBLIC,            /* no token needed, no identity sent */
};

struct gb_plugin_header {
	const char *name;            /* lowercase */
	const char *value;
};

/* One plugin; read-only for users.  Strings are NUL-terminated and live as
 * long as the plugin. */
struct gb_plugin {
	const char *file;            /* the manifest's path (or name) as given */
	const char *name;
	const char *version;
	const char *mount;           /* no trailing slash, never "/" */
	size_t mount_len;
	const char *upstream;        /* as written */
	const char *scheme;          /* "http" or "https" */
	const char *host;            /* lowercase; an IPv6 address keeps its [] */
	unsigned port;               /* explicit or 80/443 */
	const char *upstream_origin; /* "scheme://host:port", for building URLs */
	const char *base_path;       /* "" or "/a/b", no trailing slash */
	long timeout_ms;
	long connect_timeout_ms;
	enum gb_plugin_auth auth_mode;
	const char *const *forward_headers;   /* lowercase */
	size_t nforward_headers;
	const struct gb_plugin_header *inject_headers;
	size_t ninject_headers;
	bool keep_mount_prefix;
	unsigned roles;              /* GB_ROLE_* bits; 0: any role */
	bool has_rate_limit;
	double rate;                 /* tokens per second, when has_rate_limit */
	long capacity;
	long retries;
	const char *health_path;     /* NULL when none */
	long max_body_bytes;
	long breaker_failure_threshold;
	long breaker_open_ms;
	long breaker_half_open_max;
	const char *secret_file;     /* NULL unless gateway_verified */
	const unsigned char *secret; /* read by gb_registry_load; NULL otherwise */
	size_t secret_len;
};

/* Where a manifest or registry is wrong.  Every field is NUL-terminated;
 * key is "" when the fault is not one key's (a JSON syntax error, a file
 * that cannot be read). */
struct gb_plugin_error {
	char file[256];
	char key[96];
	char msg[192];
};

/* "forward_jwt", "gateway_verified", "public"; "?" outside the enum. */
const char *gb_plugin_auth_name(enum gb_plugin_auth mode);

/* Parses one manifest, text[0..len) (no NUL needed), for the file named
 * file (used only in messages and p->file; NULL counts as "").  Does not
 * read secret_file: p->secret stays NULL (gb_registry_load reads it).
 * Returns GB_OK with *out set; GB_ECONFIG with err filled; GB_ENOMEM (err
 * filled too).  *out is unchanged on error.  err may be NULL. */
enum gb_err gb_plugin_parse(const char *text, size_t len, const char *file,
                            struct gb_plugin **out, struct gb_plugin_error *err);

/* Wipes the secret and frees p; NULL is a no-op. */
void gb_plugin_free(struct gb_plugin *p);

/* Builds the target path of the upstream request into a new string from
 * a: base_path, then path when keep_mount_prefix, else rest ("/" when rest
 * is ""), with one slash at the join.  path is the normalized request path
 * gb_registry_match() matched and rest what it returned.  The result is
 * percent-encoded again: every byte outside RFC 3986 pchar and '/' becomes
 * %XX, so a decoded '?', '#', '%', space or control byte cannot change the
 * request the upstream sees.  No query is added.  Returns GB_OK; GB_EINVAL
 * when path does not start with '/' or rest is neither "" nor starts with
 * '/'; GB_ENOMEM.  *out is set only on GB_OK. */
enum gb_err gb_plugin_upstream_path(struct gb_arena *a, const struct gb_plugin *p,
                                    const char *path, const char *rest, char **out);

/* True when the gateway alone sets the header: X-User-Id, X-Company-Id,
 * X-Role, X-Internal and every X-Internal-*, compared case-insensitively
 * with '_' read as '-' (CGI-style servers map both to one name).  The
 * proxy drops every such header a client sends. */
bool gb_header_is_gateway_owned(const char *name);

/* True for the hop-by-hop headers a proxy never forwards: Connection,
 * Keep-Alive, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization,
 * TE, Trailer, Transfer-Encoding, Upgrade (case-insensitive, '_' read as
 * '-' too: a Transfer_Encoding must not reach a server that merges them). */
bool gb_header_is_hop_by_hop(const char *name);

/* True when name may appear in forward_headers or inject_headers: a token
 * (RFC 9110) of 1..128 characters that is neither gateway owned,
 * hop-by-hop, nor one the gateway or the proxy sets itself: X-Request-Id,
 * traceparent, Host, Content-Length and Authorization (forwarded by the
 * gateway in forward_jwt, never otherwise; so in no mode a manifest's
 * business). */
bool gb_plugin_header_allowed(const char *name);

/* ---- the registry ----------------------------------------------------- */

struct gb_registry;

/* Loads every "*.json" of dir, in strcmp order of their names; names
 * starting with '.' and names not ending in ".json" are skipped, a skipped
 * name is never opened.  Each must be a regular file (symbolic links are
 * followed) of at most GB_PLUGIN_FILE_MAX bytes, at most GB_PLUGIN_MAX of
 * them.  Reads each gateway_verified plugin's secret_file.  Duplicate
 * names or mounts are errors naming the second file and "name" or
 * "mount".  An empty directory gives an empty registry.  Returns GB_OK
 * with *out set; GB_ECONFIG with err filled (err->file is "dir/name", or
 * dir itself when it cannot be read); GB_ENOMEM.  *out is unchanged on
 * error.  err may be NULL. */
enum gb_err gb_registry_load(const char *dir, struct gb_registry **out,
                             struct gb_plugin_error *err);

/* Frees r and every plugin in it (secrets wiped); NULL is a no-op. */
void gb_registry_free(struct gb_registry *r);

/* Plugins in load order (file names sorted); at() is NULL past the end. */
size_t gb_registry_count(const struct gb_registry *r);
const struct gb_plugin *gb_registry_at(const struct gb_registry *r, size_t i);

/* The plugin whose mount is the longest prefix of path ending on a
 * segment boundary: mount "/a/b" matches "/a/b", "/a/b/" and "/a/b/c", not
 * "/a/bc".  path must be gb_path_normalize() output (decoded, no dot
 * segments), so no spelling of a path reaches a mount it is not under.
 * Sets *rest (when rest is not NULL) to what follows the mount in path:
 * "" or a string starting with '/'.  NULL when no mount matches (also for
 * a NULL r or path); *rest is unchanged then. */
const struct gb_plugin *gb_registry_match(const struct gb_registry *r, const char *path,
                                          const char **rest);

#endif
