/* gerbang-proxy: forwards every mount of the plugin registry (PLUGIN_DIR)
 * to its upstream over HTTP, streaming both ways.
 *
 * The registry is an immutable snapshot.  A reload (SIGHUP, or a change in
 * the directory) builds a new one and publishes it with a new generation;
 * a serving thread notices with one atomic load per request and swaps its
 * reference, so the hot path takes no lock.  A bad reload keeps the last
 * good registry.  Each thread has its own curl handle, whose connection
 * cache keeps upstream connections alive between requests.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "gb_log.h"
#include "gb_metrics.h"
#include "gb_plugin.h"
#include "gb_serve.h"
#include "gb_sign.h"
#include "gb_time.h"

/* ---- circuit breakers and snapshots ------------------------------------- */

struct breaker {
	atomic_int failures;          /* consecutive */
	atomic_llong open_until_ms;   /* 0: closed */
	atomic_int probes;            /* requests let through while half-open */
};

struct snapshot {
	struct gb_registry *reg;
	struct breaker *breakers;     /* one per plugin, in registry order */
	atomic_int refs;
	unsigned long gen;
};

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *current;  /* under snap_lock */
static atomic_ulong generation;
static char *plugin_dir;

/* What each serving thread keeps between requests. */
struct thread_state {
	struct snapshot *snap;
	CURL *curl;
};
static pthread_key_t state_key;

static int64_t
now_ms(void)
{
	return gb_mono_us() / 1000;
}

static void
snapshot_release(struct snapshot *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	gb_registry_free(s->reg);
	free(s->breakers);
	free(s);
}

static void
state_free(void *p)
{
	struct thread_state *ts = p;

	snapshot_release(ts->snap);
	if (ts->curl != NULL)
		curl_easy_cleanup(ts->curl);
	free(ts);
}

static struct thread_state *
state(void)
{
	struct thread_state *ts = pthread_getspecific(state_key);

	if (ts == NULL) {
		ts = calloc(1, sizeof(*ts));
		if (ts == NULL)
			return NULL;
		ts->curl = curl_easy_init();
		if (ts->curl == NULL || pthread_setspecific(state_key, ts) != 0) {
			state_free(ts);
			return NULL;
		}
	}
	if (ts->snap == NULL || ts->snap->gen != atomic_load(&generation)) {
		pthread_mutex_lock(&snap_lock);
		snapshot_release(ts->snap);
		ts->snap = current;
		atomic_fetch_add(&current->refs, 1);
		pthread_mutex_unlock(&snap_lock);
	}
	return ts;
}

/* Loads PLUGIN_DIR and publishes it; on error keeps what was there. */
static int
load_registry(const char *why)
{
	struct gb_plugin_error err;
	struct snapshot *s, *old;
	struct gb_registry *reg;
	char count[24];

	if (gb_registry_load(plugin_dir, &reg, &err) != GB_OK) {
		gb_log(GB_LOG_ERROR, NULL, current != NULL ?
		       "plugin registry not reloaded: keeping the last good one" :
		       "plugin registry invalid", "file", err.file, "key", err.key,
		       "error", err.msg, NULL);
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (s != NULL)
		s->breakers = calloc(gb_registry_count(reg) + 1, sizeof(*s->breakers));
	if (s == NULL || s->breakers == NULL) {
		free(s);
		gb_registry_free(reg);
		gb_log(GB_LOG_ERROR, NULL, "plugin registry: out of memory", NULL);
		return -1;
	}
	s->reg = reg;
	atomic_init(&s->refs, 1);       /* the reference `current` holds */
	pthread_mutex_lock(&snap_lock);
	old = current;
	s->gen = atomic_load(&generation) + 1;
	current = s;
	atomic_store(&generation, s->gen);
	pthread_mutex_unlock(&snap_lock);
	snapshot_release(old);
	snprintf(count, sizeof(count), "%zu", gb_registry_count(reg));
	gb_log(GB_LOG_INFO, NULL, "plugin registry loaded", "plugins", count, "dir", plugin_dir,
	       "why", why, NULL);
	return 0;
}

/* Closed: let through.  Open: refuse until open_ms passed, then let up to
 * half_open_max probes through; their outcome closes or reopens it. */
static bool
breaker_allow(struct breaker *b, const struct gb_plugin *p)
{
	int64_t until = atomic_load(&b->open_until_ms);

	if (until == 0)
		return true;
	if (now_ms() < until)
		return false;
	gb_metrics_circuit(p->name, 1);         /* half-open: probing */
	return atomic_fetch_add(&b->probes, 1) < p->breaker_half_open_max;
}

static void
breaker_record(struct breaker *b, const struct gb_plugin *p, bool ok)
{
	if (ok) {
		atomic_store(&b->failures, 0);
		atomic_store(&b->open_until_ms, 0);
		atomic_store(&b->probes, 0);
		gb_metrics_circuit(p->name, 0);
		return;
	}
	if (atomic_fetch_add(&b->failures, 1) + 1 >= p->breaker_failure_threshold ||
	    atomic_load(&b->open_until_ms) != 0) {
		atomic_store(&b->open_until_ms, now_ms() + p->breaker_open_ms);
		atomic_store(&b->probes, 0);
		gb_metrics_circuit(p->name, 2);
	}
}

/* ---- the directory watcher ---------------------------------------------- */

static pthread_t watcher;
static int watch_stop = -1;
static bool watching;

static void *
watch_main(void *arg)
{
	struct pollfd p[2];
	char buf[4096];
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	(void)arg;
	if (in < 0 || inotify_add_watch(in, plugin_dir, IN_CLOSE_WRITE | IN_MOVED_TO |
	                                IN_MOVED_FROM | IN_DELETE | IN_CREATE) < 0) {
		gb_log(GB_LOG_WARN, NULL, "cannot watch the plugin directory: reload with SIGHUP",
		       "error", strerror(errno), NULL);
		if (in >= 0)
			close(in);
		gb_log_thread_end();
		return NULL;
	}
	p[0] = (struct pollfd){ .fd = in, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = watch_stop, .events = POLLIN };
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents != 0)
			break;
		if (p[0].revents == 0)
			continue;
		/* An editor writes in several steps: let them settle, then read
		 * everything that queued up and reload once. */
		usleep(200 * 1000);
		while (read(in, buf, sizeof(buf)) > 0)
			;
		load_registry("directory changed");
	}
	close(in);
	gb_log_thread_end();
	return NULL;
}

/* ---- program hooks ------------------------------------------------------ */

static int
proxy_init(const struct gb_config *cfg)
{
	plugin_dir = strdup(cfg->plugin_dir);
	if (plugin_dir == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    pthread_key_create(&state_key, state_free) != 0) {
		fprintf(stderr, "gerbang-proxy: cannot initialise\n");
		return -1;
	}
	if (load_registry("start") != 0) {
		fprintf(stderr, "gerbang-proxy: configuration: PLUGIN_DIR: the registry in %s is "
		        "invalid (see the log line above)\n", plugin_dir);
		return -1;
	}
	watch_stop = eventfd(0, EFD_CLOEXEC);
	watching = watch_stop >= 0 && pthread_create(&watcher, NULL, watch_main, NULL) == 0;
	return 0;
}

static void
proxy_reload(void)
{
	load_registry("SIGHUP");
}

static void
proxy_fini(void)
{
	uint64_t one = 1;

	if (watching) {
		if (write(watch_stop, &one, sizeof(one)) < 0)
			gb_log(GB_LOG_WARN, NULL, "cannot stop the directory watcher", NULL);
		pthread_join(watcher, NULL);
	}
	if (watch_stop >= 0)
		close(watch_stop);
	pthread_mutex_lock(&snap_lock);
	snapshot_release(current);
	current = NULL;
	pthread_mutex_unlock(&snap_lock);
	curl_global_cleanup();
	free(plugin_dir);
}

/* ---- one forwarded request ---------------------------------------------- */

struct xfer {
	struct gb_ctx *c;
	const struct gb_plugin *p;
	long status;
	const char *content_type;
	bool began;         /* a byte (or the headers) reached the client */
	bool client_gone;
	/* the streamed request body */
	long long body_left;
};

static bool
idempotent(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") ||
	       !strcmp(m, "DELETE") || !strcmp(m, "OPTIONS");
}

static bool
listed(const struct gb_plugin *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nforward_headers; i++)
		if (strcasecmp(p->forward_headers[i], name) == 0)
			return true;
	return false;
}

/* The response headers the gateway's edge sets on every response (CORS,
 * rate limits, security headers): an upstream's own would be a second,
 * possibly contradicting, copy. */
static bool
edge_header(const char *name)
{
	static const char *const exact[] = {
		"x-content-type-options", "referrer-policy", "strict-transport-security",
	};
	size_t i;

	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcasecmp(name, exact[i]) == 0)
			return true;
	return strncasecmp(name, "access-control-", 15) == 0 ||
	       strncasecmp(name, "ratelimit-", 10) == 0;
}

/* A Content-Length nginx can pass on: 1 to 18 digits, nothing else. */
static bool
length_ok(const char *v)
{
	size_t n = strspn(v, "0123456789");

	return n > 0 && n <= 18 && v[n] == '\0';
}

/* A response header from the upstream: kept unless hop-by-hop, ours
 * (X-Request-Id, the edge's), or Set-Cookie/Server not listed in the
 * plugin's forward_headers.  Content-Length passes when it is a plain
 * number: nginx then sends the body with it instead of chunked, and a
 * body the upstream cuts short reaches the client as cut short (the
 * connection closes early), never as a complete chunked one. */
static size_t
header_cb(char *line, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n, nl;
	char *colon, *name, *value;

	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* A new response (after a 100 Continue): forget the last one. */
		const char *sp = memchr(line, ' ', len);

		x->status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
		x->c->resp.nheaders = 0;
		x->content_type = NULL;
		return len;
	}
	for (nl = len; nl > 0 && (line[nl - 1] == '\r' || line[nl - 1] == '\n'); nl--)
		;
	colon = memchr(line, ':', nl);
	if (colon == NULL || colon == line)
		return len;
	name = gb_arena_strndup(x->c->arena, line, (size_t)(colon - line));
	for (value = colon + 1; value < line + nl && (*value == ' ' || *value == '\t'); value++)
		;
	value = gb_arena_strndup(x->c->arena, value, (size_t)(line + nl - value));
	if (name == NULL || value == NULL)
		return 0;
	if (strcasecmp(name, "Content-Type") == 0) {
		x->content_type = value;
		return len;
	}
	if (strcasecmp(name, "Content-Length") == 0) {
		if (length_ok(value))
			gb_header(x->c, "Content-Length", value);
		return len;
	}
	if (gb_header_is_hop_by_hop(name) ||
	    strcasecmp(name, "X-Request-Id") == 0 || edge_header(name) ||
	    ((strcasecmp(name, "Set-Cookie") == 0 || strcasecmp(name, "Server") == 0) &&
	     !listed(x->p, name)))
		return len;
	gb_header(x->c, name, value);   /* silently dropped past the table's size */
	return len;
}

static int
begin(struct xfer *x)
{
	x->began = true;
	if (gb_stream_begin(x->c, (int)x->status, x->content_type) != 0) {
		x->client_gone = true;
		return -1;
	}
	return 0;
}

static size_t
write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;

	if (!x->began && begin(x) != 0)
		return 0;
	if (gb_stream_write(x->c, data, size * n) != 0) {
		x->client_gone = true;
		return 0;       /* curl aborts: the thread is free at once */
	}
	return size * n;
}

static size_t
read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t want = size * n;
	ssize_t got;

	if (x->body_left <= 0)
		return 0;
	if ((long long)want > x->body_left)
		want = (size_t)x->body_left;
	got = gb_body_read(x->c, buf, want);
	if (got <= 0)
		return CURL_READFUNC_ABORT;
	x->body_left -= got;
	return (size_t)got;
}

/* Adds "Name: value" to a curl header list; false on ENOMEM. */
/* The request headers for curl, built in the request's arena: the nodes
 * are curl_slist's public layout and curl only reads them, so nothing is
 * copied again or freed one by one. */
struct hlist {
	struct curl_slist *head, *tail;
};

static bool
append_line(struct gb_ctx *c, struct hlist *list, char *line)
{
	struct curl_slist *l = gb_arena_alloc(c->arena, sizeof(*l));

	if (l == NULL)
		return false;
	l->data = line;
	l->next = NULL;
	if (list->tail != NULL)
		list->tail->next = l;
	else
		list->head = l;
	list->tail = l;
	return true;
}

static bool
add_header(struct gb_ctx *c, struct hlist *list, const char *name, const char *value)
{
	size_t n = strlen(name), v = strlen(value);
	char *line = gb_arena_alloc(c->arena, n + 2 + v + 1);

	if (line == NULL)
		return false;
	memcpy(line, name, n);
	memcpy(line + n, ": ", 2);
	memcpy(line + n + 2, value, v + 1);
	return append_line(c, list, line);
}

/* The client's headers the plugin may see: forward_headers only (and the
 * Authorization header in forward_jwt mode), rebuilt from HTTP_* params. */
static bool
client_headers(struct gb_ctx *c, const struct gb_plugin *p, struct hlist *list)
{
	char *const *e;
	char name[128];
	size_t i;

	for (e = c->req.envp; *e != NULL; e++) {
		const char *kv = *e, *eq;

		if (strncmp(kv, "HTTP_", 5) != 0 || (eq = strchr(kv, '=')) == NULL ||
		    (size_t)(eq - kv - 5) >= sizeof(name))
			continue;
		for (i = 0; kv + 5 + i < eq; i++)
			name[i] = kv[5 + i] == '_' ? '-' : (char)(kv[5 + i] | 0x20);
		name[i] = '\0';
		if (gb_header_is_gateway_owned(name) || gb_header_is_hop_by_hop(name))
			continue;
		if ((strcmp(name, "authorization") == 0 && p->auth_mode == GB_PLUGIN_FORWARD_JWT) ||
		    listed(p, name))
			if (!add_header(c, list, name, eq + 1))
				return false;
	}
	return true;
}

/* Worth another try: the request never got a response started (refused,
 * reset, nothing back - a stale keep-alive connection), not a timeout,
 * after which the upstream may still be working on it. */
static bool
transient(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_GOT_NOTHING ||
	       rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR;
}

/* No body byte was sent: the envelope replaces the upstream's response,
 * headers included (a Content-Length or a cookie of the upstream's must
 * not ride on our error). */
static void
fail_upstream(struct gb_ctx *c, CURLcode rc)
{
	c->resp.nheaders = 0;
	if (rc == CURLE_OPERATION_TIMEDOUT)
		gb_fail(c, 504, "the plugin timed out", NULL);
	else
		gb_fail(c, 502, "the plugin is unavailable", NULL);
}

/* A plugin with rate_limit in its manifest has a bucket of its own per
 * caller, in class "plugin" (RATE_LIMIT_FILE may override it per company);
 * the others share the caller's "default" bucket. */
static enum gb_err
rate_limit(struct gb_ctx *c, const struct gb_plugin *p)
{
	struct gb_rl_class cls = { .name = "plugin" };
	char caller[192], key[256];

	if (!p->has_rate_limit)
		return gb_rate_limit(c, NULL, NULL, NULL);
	cls.rate = p->rate;
	cls.capacity = p->capacity;
	cls.fail_closed = c->cfg->rate_limit_fail != 0;
	snprintf(key, sizeof(key), "%s:%s", p->name, gb_ctx_caller(c, caller, sizeof(caller)));
	return gb_rate_limit(c, "plugin", &cls, key);
}

static void
proxy(struct gb_ctx *c)
{
	struct thread_state *ts = state();
	const struct gb_plugin *p;
	static char no_expect[] = "Expect:", no_accept[] = "Accept:";
	struct hlist hdrs = { NULL, NULL };
	struct breaker *br = NULL;
	struct xfer x;
	const char *rest, *target;
	char *path, *url, ts_text[24], sig[65], body_hash[65], trace[56];
	struct gb_req_error rerr;
	bool buffered, retryable;
	long attempt, tries;
	size_t i;
	int64_t t0;
	CURLcode rc = CURLE_OK;

	if (ts == NULL) {
		gb_fail(c, 500, "internal error", NULL);
		return;
	}
	p = gb_registry_match(ts->snap->reg, c->req.path, &rest);
	if (p == NULL) {
		gb_fail(c, 404, "no such route", NULL);
		return;
	}
	for (i = 0; gb_registry_at(ts->snap->reg, i) != p; i++)
		;
	br = &ts->snap->breakers[i];

	if (p->auth_mode != GB_PLUGIN_PUBLIC && gb_authorize(c, p->roles) != GB_OK)
		return;
	if (rate_limit(c, p) != GB_OK)
		return;
	if (c->req.content_length > p->max_body_bytes) {
		gb_fail(c, 413, "the request body is too large", NULL);
		return;
	}
	if (!breaker_allow(br, p)) {
		gb_header(c, "Retry-After", gb_arena_printf(c->arena, "%ld",
		          (p->breaker_open_ms + 999) / 1000));
		gb_fail(c, 503, "the plugin is unavailable", NULL);
		return;
	}

	/* The signature covers the body: a signed request's body is read
	 * first (bounded by max_body_bytes); others stream through. */
	buffered = p->auth_mode == GB_PLUGIN_GATEWAY_VERIFIED;
	if (buffered) {
		c->req.body_max = (size_t)p->max_body_bytes;
		if (gb_req_body(&c->req, &rerr) != GB_OK) {
			gb_fail_req(c, &rerr);
			return;
		}
		if (gb_sha256_hex(c->req.body, c->req.body_len, body_hash) != GB_OK) {
			gb_fail(c, 500, "internal error", NULL);
			return;
		}
	}
	if (gb_plugin_upstream_path(c->arena, p, c->req.path, rest, &path) != GB_OK ||
	    (target = *c->req.query_string ? gb_arena_cat(c->arena, path, "?",
	              c->req.query_string, NULL) : path) == NULL ||
	    (url = gb_arena_cat(c->arena, p->upstream_origin, target, NULL)) == NULL) {
		gb_fail(c, 500, "internal error", NULL);
		return;
	}

	gb_traceparent_format(&c->req.trace, trace);
	if (!client_headers(c, p, &hdrs) ||
	    !add_header(c, &hdrs, "X-Request-Id", c->req.request_id) ||
	    !add_header(c, &hdrs, "traceparent", trace) ||
	    !add_header(c, &hdrs, "X-Forwarded-For", c->req.remote_addr ? c->req.remote_addr : "") ||
	    !add_header(c, &hdrs, "X-Forwarded-Proto", c->req.https ? "https" : "http") ||
	    (c->req.content_type != NULL &&
	     !add_header(c, &hdrs, "Content-Type", c->req.content_type)))
		goto nomem;
	for (i = 0; i < p->ninject_headers; i++)
		if (!add_header(c, &hdrs, p->inject_headers[i].name, p->inject_headers[i].value))
			goto nomem;
	if (p->auth_mode == GB_PLUGIN_GATEWAY_VERIFIED) {
		struct gb_sign_input in = {
			.method = c->req.method, .target = target, .timestamp = ts_text,
			.request_id = c->req.request_id, .body_sha256 = body_hash,
			.user_id = c->auth.sub, .company_id = c->auth.company_id, .role = c->auth.role,
		};

		snprintf(ts_text, sizeof(ts_text), "%lld", (long long)time(NULL));
		if (gb_sign(p->secret, p->secret_len, &in, sig) != GB_OK) {
			gb_fail(c, 500, "internal error", NULL);
			return;
		}
		if (!add_header(c, &hdrs, "X-User-Id", c->auth.sub) ||
		    !add_header(c, &hdrs, "X-Company-Id", c->auth.company_id) ||
		    !add_header(c, &hdrs, "X-Role", c->auth.role) ||
		    !add_header(c, &hdrs, "X-Internal-Timestamp", ts_text) ||
		    !add_header(c, &hdrs, "X-Internal-Signature", sig))
			goto nomem;
	}
	/* curl would otherwise add these itself. */
	if (!append_line(c, &hdrs, no_expect) || !append_line(c, &hdrs, no_accept))
		goto nomem;

	retryable = idempotent(c->req.method) && (buffered || c->req.content_length <= 0);
	tries = retryable ? 1 + p->retries : 1;
	t0 = gb_mono_us();
	for (attempt = 0; attempt < tries; attempt++) {
		CURL *h = ts->curl;

		if (attempt > 0)
			usleep((useconds_t)(50000 * attempt));     /* a short backoff */
		memset(&x, 0, sizeof(x));
		x.c = c;
		x.p = p;
		x.body_left = c->req.content_length > 0 ? c->req.content_length : 0;
		curl_easy_reset(h);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, p->connect_timeout_ms);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, p->timeout_ms);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs.head);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
		curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 65536L);
		if (strcmp(c->req.method, "HEAD") == 0) {
			curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
		} else if (buffered && c->req.body_len > 0) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->req.body);
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->req.body_len);
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->req.method);
		} else if (!buffered && x.body_left > 0) {
			curl_easy_setopt(h, CURLOPT_POST, 1L);
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x.body_left);
			curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
			curl_easy_setopt(h, CURLOPT_READDATA, &x);
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->req.method);
		} else if (strcmp(c->req.method, "GET") != 0) {
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->req.method);
		}
		rc = curl_easy_perform(h);
		if (rc == CURLE_OK || x.began || x.client_gone || !transient(rc))
			break;
		gb_log(GB_LOG_WARN, c->req.request_id, "upstream failed", "plugin", p->name,
		       "error", curl_easy_strerror(rc), NULL);
	}
	gb_ctx_upstream(c, p->name, (double)(gb_mono_us() - t0) / 1000.0);
	gb_metrics_upstream(p->name, rc == CURLE_OK ? (int)x.status : 0,
	                    (double)(gb_mono_us() - t0) / 1e6);
	if (x.client_gone) {
		gb_log(GB_LOG_INFO, c->req.request_id, "client went away", "plugin", p->name, NULL);
		return;         /* not the plugin's fault: the breaker is untouched */
	}
	if (rc == CURLE_OK) {
		breaker_record(br, p, x.status < 500);
		if (!x.began)
			begin(&x);  /* a response without a body (204, HEAD) */
	} else {
		breaker_record(br, p, false);
		if (!x.began)
			fail_upstream(c, rc);
		/* else: the client has a truncated body; nothing better to send */
	}
	return;
nomem:
	gb_fail(c, 500, "internal error", NULL);
}

static const struct gb_route routes[] = {
	/* Limited per plugin, once the plugin and the caller are known. */
	{ "*", "/{*path}", proxy, GB_PUBLIC, 0, GB_RATE_NONE },
};

static const struct gb_app app = {
	.name = "gerbang-proxy",
	.service = "proxy",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.verifies_tokens = true,
	.init = proxy_init,
	.reload = proxy_reload,
	.fini = proxy_fini,
};

int
main(int argc, char **argv)
{
	return gb_serve_main(argc, argv, &app);
}
