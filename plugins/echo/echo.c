/* gerbang-echo: the reference plugin upstream.
 *
 * A small "foreign" microservice that the proxy tests, the demo and the
 * benchmark forward to: it answers every method on every path with a plain
 * JSON object (not our envelope) describing the request it received, and
 * whether the gateway's X-Internal-Signature over it verifies against the
 * secret in ECHO_SECRET_FILE.  A few paths misbehave on purpose for the
 * proxy's failure tests; plugins/echo/README.md lists them.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gb_config.h"
#include "gb_serve.h"
#include "gb_sign.h"

#define SLOW_DEFAULT_MS 1000
#define SLOW_MAX_MS 30000
#define BIG_DEFAULT_BYTES (1L << 20)
#define BIG_MAX_BYTES (64L << 20)
#define BIG_CHUNK 65536

/* The signing key: the first line of ECHO_SECRET_FILE, read once by init;
 * secret_len 0 when the variable is unset (every signature is "absent"). */
static char secret[GB_SIGN_KEY_MAX + 2];
static size_t secret_len;

/* What /big sends, filled by init. */
static char big_chunk[BIG_CHUNK];

static int
dump_cb(const char *p, size_t n, void *data)
{
	return gb_buf_append(data, p, n);
}

/* Answers status with j (stolen) as the whole body. */
static void
answer(struct gb_ctx *c, int status, json_t *j)
{
	struct gb_buf *b = &c->resp.body;

	gb_buf_reset(b);
	c->resp.status = status;
	if (j == NULL || json_dump_callback(j, dump_cb, b, JSON_COMPACT) != 0 ||
	    gb_buf_failed(b)) {
		gb_buf_reset(b);
		c->resp.status = 500;
		gb_buf_puts(b, "{\"error\":\"internal error\"}");
	}
	json_decref(j);
}

static void
answer_error(struct gb_ctx *c, int status, const char *msg)
{
	answer(c, status, json_pack("{s:s}", "error", msg));
}

/* s as a JSON string.  A raw path or header may carry any byte: a value
 * that is not valid UTF-8 has each non-ASCII byte replaced by '?'. */
static json_t *
jstr(const char *s)
{
	json_t *j = json_string(s);
	char *copy, *p;

	if (j != NULL || (copy = strdup(s)) == NULL)
		return j;
	for (p = copy; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* Reads the whole body (every path does: an unread body can break the
 * web server's write of it).  Returns 0, or -1 having answered 413/400. */
static int
read_body(struct gb_ctx *c)
{
	struct gb_req_error e;
	enum gb_err err = gb_req_body(&c->req, &e);

	if (err == GB_OK)
		return 0;
	if (err == GB_ETOOBIG)
		answer_error(c, 413, "request body too large");
	else
		answer_error(c, err == GB_ENOMEM ? 500 : 400, "cannot read the request body");
	return -1;
}

/* A whole-number query parameter in [0, max], dflt when absent.  Returns 0,
 * or -1 having answered 400. */
static int
query_long(struct gb_ctx *c, const char *key, long dflt, long max, long *out)
{
	const char *v = gb_query_get(&c->req.query, key);
	char msg[96];

	*out = dflt;
	if (v == NULL || gb_parse_long(v, 0, max, out) == GB_OK)
		return 0;
	snprintf(msg, sizeof(msg), "%s must be a whole number from 0 to %ld", key, max);
	answer_error(c, 400, msg);
	return -1;
}

/* Every request header, from the HTTP_* parameters ("HTTP_X_REQUEST_ID"
 * becomes "x-request-id"); a header sent twice arrives as two parameters
 * and is joined with ", ".  Then content-type and content-length from the
 * CGI parameters, when the web server passed no HTTP_ form of them (it
 * does for a chunked body, whose length it counted itself). */
static json_t *
headers_object(const struct gb_req *r)
{
	static const struct {
		const char *param, *name;
	} cgi[] = {
		{ "CONTENT_TYPE", "content-type" },
		{ "CONTENT_LENGTH", "content-length" },
	};
	json_t *h = json_object(), *prev, *v;
	char *const *p;
	char name[256], *joined;
	const char *eq;
	size_t n, i;

	if (h == NULL)
		return NULL;
	for (p = r->envp; *p != NULL; p++) {
		eq = strchr(*p, '=');
		n = eq != NULL ? (size_t)(eq - *p) : 0;
		/* HTTP_PROXY is the web server's own, always empty (httpoxy). */
		if (n <= 5 || n - 5 >= sizeof(name) || strncmp(*p, "HTTP_", 5) != 0 ||
		    strncmp(*p, "HTTP_PROXY=", 11) == 0)
			continue;
		for (i = 5; i < n; i++)
			name[i - 5] = (*p)[i] == '_' ? '-' : (char)tolower((unsigned char)(*p)[i]);
		name[n - 5] = '\0';
		prev = json_object_get(h, name);
		if (prev == NULL) {
			v = jstr(eq + 1);
		} else {
			if (asprintf(&joined, "%s, %s", json_string_value(prev), eq + 1) < 0)
				goto err;
			v = jstr(joined);
			free(joined);
		}
		if (json_object_set_new(h, name, v) != 0)
			goto err;
	}
	for (i = 0; i < sizeof(cgi) / sizeof(cgi[0]); i++) {
		eq = gb_req_param(r, cgi[i].param);
		if (eq != NULL && *eq != '\0' && json_object_get(h, cgi[i].name) == NULL &&
		    json_object_set_new(h, cgi[i].name, jstr(eq)) != 0)
			goto err;
	}
	return h;
err:
	json_decref(h);
	return NULL;
}

static const char *
hdr(const struct gb_req *r, const char *name)
{
	const char *v = gb_req_header(r, name);

	return v != NULL ? v : "";
}

/* Signatures seen within their window, so a replay is caught: keyed by the
 * first 64 bits of the MAC (unforgeable without the secret), open
 * addressing over a short probe run, the oldest entry of the run evicted
 * when all are live.  Under a flood of more distinct requests than slots
 * per window an old entry can be evicted early: this is a reference plugin;
 * a real one sizes the cache for its rate. */
#define REPLAY_SLOTS 16384
#define REPLAY_PROBE 16

static struct {
	uint64_t key;
	int64_t until;
} replay[REPLAY_SLOTS];
static pthread_mutex_t replay_lock = PTHREAD_MUTEX_INITIALIZER;

static bool
seen_before(const char *sig, int64_t now)
{
	uint64_t key = 0;
	size_t i, slot, victim;
	bool seen = false;

	for (i = 0; i < 16; i++) {
		int c = tolower((unsigned char)sig[i]);

		key = key << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	pthread_mutex_lock(&replay_lock);
	victim = slot = key % REPLAY_SLOTS;
	for (i = 0; i < REPLAY_PROBE; i++, slot = (slot + 1) % REPLAY_SLOTS) {
		if (replay[slot].key == key && replay[slot].until > now) {
			seen = true;
			break;
		}
		if (replay[slot].until < replay[victim].until)
			victim = slot;
	}
	if (!seen) {
		/* Twice the window: a signature stays valid for window seconds
		 * either side of its timestamp. */
		replay[victim].key = key;
		replay[victim].until = now + 2 * GB_SIGN_WINDOW_DEFAULT + 1;
	}
	pthread_mutex_unlock(&replay_lock);
	return seen;
}

/* "valid", "replayed", "invalid", "stale" or "absent" for the request's
 * signature. */
static const char *
signature_state(const struct gb_req *r, const char *body_sha256)
{
	const char *sig = gb_req_header(r, "X-Internal-Signature");
	const char *uri = gb_req_param(r, "REQUEST_URI");
	struct gb_sign_input in;
	long ts;

	if (secret_len == 0 || sig == NULL)
		return "absent";
	in.method = r->method;
	in.target = uri != NULL && *uri != '\0' ? uri : r->raw_path;
	in.timestamp = hdr(r, "X-Internal-Timestamp");
	in.request_id = hdr(r, "X-Request-Id");
	in.body_sha256 = body_sha256;
	in.user_id = hdr(r, "X-User-Id");
	in.company_id = hdr(r, "X-Company-Id");
	in.role = hdr(r, "X-Role");
	if (gb_sign_verify(secret, secret_len, &in, sig, (int64_t)time(NULL),
	                   GB_SIGN_WINDOW_DEFAULT) == GB_OK)
		return seen_before(sig, (int64_t)time(NULL)) ? "replayed" : "valid";
	/* Stale: the MAC is right, only the clock is out of the window; that
	 * is the same check at the signed time itself. */
	if (gb_parse_long(in.timestamp, 0, LONG_MAX, &ts) == GB_OK &&
	    gb_sign_verify(secret, secret_len, &in, sig, (int64_t)ts,
	                   GB_SIGN_WINDOW_DEFAULT) == GB_OK)
		return "stale";
	return "invalid";
}

/* Any other path: what arrived, and whether its signature holds. */
static void
echo(struct gb_ctx *c)
{
	const struct gb_req *r = &c->req;
	char sha[65];
	const char *state;
	json_t *j, *identity;

	if (read_body(c) != 0)
		return;
	if (gb_sha256_hex(r->body, r->body_len, sha) != GB_OK) {
		answer_error(c, 500, "internal error");
		return;
	}
	state = signature_state(r, sha);
	identity = strcmp(state, "valid") != 0 ? json_null() :
	           json_pack("{s:o, s:o, s:o}", "user_id", jstr(hdr(r, "X-User-Id")),
	                     "company_id", jstr(hdr(r, "X-Company-Id")),
	                     "role", jstr(hdr(r, "X-Role")));
	j = json_pack("{s:o, s:o, s:o, s:o, s:s, s:I, s:s, s:o}",
	              "method", jstr(r->method), "path", jstr(r->raw_path),
	              "query", jstr(r->query_string), "headers", headers_object(r),
	              "body_sha256", sha, "body_bytes", (json_int_t)r->body_len,
	              "signature", state, "trusted_identity", identity);
	answer(c, 200, j);
}

static void
health(struct gb_ctx *c)
{
	if (read_body(c) == 0)
		answer(c, 200, json_pack("{s:s}", "status", "ok"));
}

/* /slow?ms=N: a slow upstream, for the proxy's timeouts. */
static void
slow(struct gb_ctx *c)
{
	struct timespec t;
	long ms;

	if (query_long(c, "ms", SLOW_DEFAULT_MS, SLOW_MAX_MS, &ms) != 0)
		return;
	t.tv_sec = ms / 1000;
	t.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
	echo(c);
}

/* /status/NNN: that status, for the proxy's error mapping and circuit
 * breaker.  1xx cannot be a final answer. */
static void
status(struct gb_ctx *c)
{
	const char *v = gb_route_param(&c->match, "code");
	long code;

	if (v == NULL || gb_parse_long(v, 200, 599, &code) != GB_OK) {
		answer_error(c, 400, "the status must be a number from 200 to 599");
		return;
	}
	if (read_body(c) != 0)
		return;
	if (code == 204 || code == 304) {
		gb_buf_reset(&c->resp.body);      /* no body allowed */
		c->resp.status = (int)code;
		return;
	}
	answer(c, (int)code, json_pack("{s:I}", "status", (json_int_t)code));
}

/* /big?bytes=N: N bytes of 'a', streamed in chunks so memory stays flat. */
static void
big(struct gb_ctx *c)
{
	long n;
	size_t k;
	char *len;

	if (query_long(c, "bytes", BIG_DEFAULT_BYTES, BIG_MAX_BYTES, &n) != 0 ||
	    read_body(c) != 0)
		return;
	len = gb_arena_printf(c->arena, "%ld", n);
	if (len == NULL || gb_header(c, "Content-Length", len) != 0) {
		answer_error(c, 500, "internal error");
		return;
	}
	if (gb_stream_begin(c, 200, "text/plain") != 0)
		return;
	while (n > 0 && !c->resp.head_only) {
		k = n > BIG_CHUNK ? BIG_CHUNK : (size_t)n;
		if (gb_stream_write(c, big_chunk, k) != 0)
			return;       /* the client is gone */
		n -= (long)k;
	}
}

/* /garbage: a CGI response the web server must reject (502): its Status is
 * not three digits, and its body is not text at all. */
static void
garbage(struct gb_ctx *c)
{
	static const char junk[] = "\x00\xff\xfe garbage \x01\x02\r\n\r\n";

	if (read_body(c) != 0)
		return;
	c->resp.status = 99;
	c->resp.content_type = "application/octet-stream";
	gb_buf_reset(&c->resp.body);
	gb_buf_append(&c->resp.body, junk, sizeof(junk) - 1);
}

/* /set-cookie: headers the proxy must not pass on to its clients. */
static void
set_cookie(struct gb_ctx *c)
{
	if (read_body(c) != 0)
		return;
	gb_header(c, "Set-Cookie", "echo_session=secret; Path=/; HttpOnly");
	gb_header(c, "Server", "gerbang-echo-internal/1.0");
	answer(c, 200, json_pack("{s:b}", "cookie_set", 1));
}

/* Exact special paths first; the catch-all takes every other path. */
static const struct gb_route routes[] = {
	{ "*", "/health", health, GB_PUBLIC, 0, NULL },
	{ "*", "/slow", slow, GB_PUBLIC, 0, NULL },
	{ "*", "/status/{code}", status, GB_PUBLIC, 0, NULL },
	{ "*", "/big", big, GB_PUBLIC, 0, NULL },
	{ "*", "/garbage", garbage, GB_PUBLIC, 0, NULL },
	{ "*", "/set-cookie", set_cookie, GB_PUBLIC, 0, NULL },
	{ "*", "/{*rest}", echo, GB_PUBLIC, 0, NULL },
};

/* Fills big_chunk and reads the first line of ECHO_SECRET_FILE, if set.
 * Returns 0, or -1 having said why on stderr (the program then exits 78). */
static int
echo_init(const struct gb_config *cfg)
{
	const char *path = getenv("ECHO_SECRET_FILE");
	FILE *f;
	size_t n;

	memset(big_chunk, 'a', sizeof(big_chunk));
	if (path == NULL || *path == '\0')
		return 0;
	f = fopen(path, "re");
	if (f == NULL) {
		fprintf(stderr, "gerbang-echo: ECHO_SECRET_FILE %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fgets(secret, sizeof(secret), f) == NULL)
		secret[0] = '\0';
	fclose(f);
	n = strcspn(secret, "\r\n");
	secret[n] = '\0';
	if (n < GB_SIGN_KEY_MIN || n > GB_SIGN_KEY_MAX) {
		explicit_bzero(secret, sizeof(secret));
		fprintf(stderr, "gerbang-echo: ECHO_SECRET_FILE %s: the first line must hold "
		        "a secret of %d to %d bytes\n", path, GB_SIGN_KEY_MIN, GB_SIGN_KEY_MAX);
		return -1;
	}
	secret_len = n;
	return 0;
}

static void
echo_fini(void)
{
	explicit_bzero(secret, sizeof(secret));
	secret_len = 0;
}

static const struct gb_app app = {
	.name = "gerbang-echo",
	.service = "echo",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.any_method = true,             /* it echoes whatever it is sent */
	.init = echo_init,
	.fini = echo_fini,
};

int
main(int argc, char **argv)
{
	return gb_serve_main(argc, argv, &app);
}
