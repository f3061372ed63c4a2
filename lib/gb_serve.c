#include "config.h"
#include "gb_serve.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gb_db.h"
#include "gb_edge.h"
#include "gb_envelope.h"
#include "gb_hmac.h"
#include "gb_log.h"
#include "gb_metrics.h"
#include "gb_redis.h"
#include "gb_time.h"
#include "gb_validate.h"

const char gb_version[] = PACKAGE_VERSION;
const char gb_git_commit[] = GB_GIT_COMMIT;
const char gb_build_time[] = GB_BUILD_TIME;

#define ARENA_BLOCK (64 * 1024)
#define LISTEN_BACKLOG 1024

/* How one request's bytes move: FastCGI streams or the CGI stdio fds. */
struct io {
	FCGX_Request *fcgx;    /* NULL in CGI mode */
};

static void edge_headers(struct gb_ctx *c);

struct server {
	const struct gb_app *app;
	struct gb_config cfg;
	struct gb_auth *auth;
	struct gb_edge *edge;
	int listen_fd;
	int stop_fd;           /* eventfd, readable once we are stopping */
	atomic_bool stopping;
	long threads;
};

static ssize_t
io_read(void *p, char *buf, size_t n)
{
	struct io *io = p;
	ssize_t r;

	if (io->fcgx != NULL)
		return FCGX_GetStr(buf, n > INT32_MAX ? INT32_MAX : (int)n, io->fcgx->in);
	do
		r = read(STDIN_FILENO, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

static int
io_write(struct io *io, const char *p, size_t n)
{
	ssize_t w;

	if (io->fcgx != NULL)
		return FCGX_PutStr(p, (int)n, io->fcgx->out) == (int)n ? 0 : -1;
	while (n > 0) {
		w = write(STDOUT_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

struct gb_db *
gb_ctx_db(struct gb_ctx *c)
{
	if (c->db_handle == NULL)
		c->db_handle = gb_db_new(c->cfg->database_url, (int)c->cfg->db_timeout_ms);
	return c->db_handle;
}

struct gb_redis *
gb_ctx_redis(struct gb_ctx *c)
{
	if (c->redis_handle == NULL)
		c->redis_handle = gb_redis_new(c->cfg->redis_url, (int)c->cfg->redis_timeout_ms, NULL);
	return c->redis_handle;
}

int
gb_header(struct gb_ctx *c, const char *name, const char *value)
{
	return gb_resp_header(&c->resp, name, value);
}

void
gb_ok(struct gb_ctx *c, int status, const char *message, json_t *data)
{
	gb_envelope_ok(&c->resp, c->req.request_id, status, message, data, NULL);
}

void
gb_ok_raw(struct gb_ctx *c, int status, const char *message, const char *data_json, size_t len)
{
	gb_envelope_ok_raw(&c->resp, c->req.request_id, status, message, data_json, len);
}

void
gb_ok_list(struct gb_ctx *c, int status, const char *message, json_t *data, json_t *meta)
{
	gb_envelope_ok(&c->resp, c->req.request_id, status, message, data, meta);
}

void
gb_ok_list_raw(struct gb_ctx *c, int status, const char *message, const char *data_json,
               size_t len, json_t *meta)
{
	gb_envelope_ok_list_raw(&c->resp, c->req.request_id, status, message, data_json, len, meta);
}

void
gb_fail(struct gb_ctx *c, int status, const char *message, json_t *errors)
{
	gb_envelope_error(&c->resp, c->req.request_id, status, message, errors);
}

void
gb_fail_err(struct gb_ctx *c, enum gb_err e)
{
	int status = gb_err_status(e);

	gb_fail(c, status, status >= 500 && status != 503 && status != 504 ?
	        "internal error" : gb_strerror(e), NULL);
}

void
gb_log_db_error(struct gb_ctx *c, struct gb_db *db, enum gb_err e)
{
	gb_log(e == GB_EVALIDATION || e == GB_ECONFLICT ? GB_LOG_WARN : GB_LOG_ERROR,
	       c->req.request_id, "database error", "error", gb_db_last_error(db), "sqlstate",
	       gb_db_sqlstate(db), "constraint", gb_db_constraint(db), NULL);
}

json_t *
gb_body_object(struct gb_ctx *c, const char *const *allowed, json_t **errors)
{
	struct gb_req_error rerr;
	json_t *j;

	if (gb_req_json(&c->req, &j, &rerr) != GB_OK) {
		gb_fail_req(c, &rerr);
		return NULL;
	}
	gb_v_only(j, allowed, errors);
	return j;
}

void
gb_fail_req(struct gb_ctx *c, const struct gb_req_error *e)
{
	const char *f = e->field != NULL ? e->field : "";
	int status = e->err == GB_ETOOBIG && (strcmp(f, "path") == 0 || strcmp(f, "query") == 0)
	             ? 414 :
	             /* fewer bytes than Content-Length: the client's doing, not ours */
	             e->err == GB_EIO && strcmp(f, "body") == 0 ? 400 : gb_err_status(e->err);
	json_t *errors = NULL;

	if (status >= 500) {
		gb_fail(c, 500, "internal error", NULL);
		return;
	}
	if (e->field != NULL)
		errors = gb_field_error(NULL, e->field, e->msg);
	gb_fail(c, status, e->msg[0] ? e->msg : gb_status_reason(status), errors);
}

int
gb_stream_begin(struct gb_ctx *c, int status, const char *content_type)
{
	struct gb_resp *r = &c->resp;

	if (c->streaming)
		return -1;
	r->status = status;
	r->content_type = content_type;
	edge_headers(c);
	c->streaming = true;
	gb_buf_reset(c->head);
	if (gb_resp_head_stream(r, c->head) != 0)
		return -1;
	return io_write(c->io, c->head->data, c->head->len);
}

int
gb_stream_write(struct gb_ctx *c, const void *p, size_t n)
{
	if (!c->streaming || c->resp.head_only)
		return c->streaming ? 0 : -1;
	if (io_write(c->io, p, n) != 0)
		return -1;
	c->streamed += n;
	return 0;
}

int
gb_stream_flush(struct gb_ctx *c)
{
	struct io *io = c->io;

	if (io->fcgx != NULL)
		return FCGX_FFlush(io->fcgx->out) == 0 ? 0 : -1;
	return 0;
}

ssize_t
gb_body_read(struct gb_ctx *c, char *buf, size_t n)
{
	return io_read(c->io, buf, n);
}

void
gb_ctx_upstream(struct gb_ctx *c, const char *upstream, double ms)
{
	c->upstream = upstream;
	c->upstream_ms = ms;
}

static bool
has_header(const struct gb_resp *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return true;
	return false;
}

static void
put_long(char *buf, size_t size, long v)
{
	snprintf(buf, size, "%ld", v > 0 ? v : 0);
}

/* The headers every response gets from the gateway: request id, CORS,
 * rate limit, and the security headers (DESIGN.md, the edge). */
static void
edge_headers(struct gb_ctx *c)
{
	struct gb_resp *r = &c->resp;
	size_t i;

	gb_resp_header_known(r, "X-Request-Id", c->req.request_id);
	for (i = 0; i < c->cors.n; i++)
		gb_resp_header_known(r, c->cors.h[i].name, c->cors.h[i].value);
	if (c->rl_set) {
		put_long(c->rl_text[0], sizeof(c->rl_text[0]), c->rl.limit);
		put_long(c->rl_text[1], sizeof(c->rl_text[1]), c->rl.remaining);
		put_long(c->rl_text[2], sizeof(c->rl_text[2]), c->rl.reset_s);
		gb_resp_header_known(r, "RateLimit-Limit", c->rl_text[0]);
		gb_resp_header_known(r, "RateLimit-Remaining", c->rl_text[1]);
		gb_resp_header_known(r, "RateLimit-Reset", c->rl_text[2]);
	}
	gb_resp_header_known(r, "X-Content-Type-Options", "nosniff");
	gb_resp_header_known(r, "Referrer-Policy", "no-referrer");
	if (c->authenticated && !has_header(r, "Cache-Control"))
		gb_resp_header_known(r, "Cache-Control", "no-store");
	if (c->req.https && c->edge != NULL && c->edge->hsts[0] != '\0')
		gb_resp_header_known(r, "Strict-Transport-Security", c->edge->hsts);
}

const char *
gb_ctx_client_ip(struct gb_ctx *c)
{
	if (c->client_ip[0] == '\0' &&
	    (c->edge == NULL || gb_client_ip(c->edge->trusted, c->req.remote_addr,
	                                     c->req.forwarded_for, c->client_ip,
	                                     sizeof(c->client_ip)) != 0))
		snprintf(c->client_ip, sizeof(c->client_ip), "unknown");
	return c->client_ip;
}

const char *
gb_ctx_caller(struct gb_ctx *c, char *buf, size_t size)
{
	if (c->authenticated)
		snprintf(buf, size, "u:%s:%s", c->company_id, c->auth.sub);
	else
		snprintf(buf, size, "ip:%s", gb_ctx_client_ip(c));
	return buf;
}

enum gb_err
gb_rate_limit(struct gb_ctx *c, const char *name, const struct gb_rl_class *fallback,
              const char *key)
{
	static _Thread_local int64_t last_warn;
	const struct gb_rl_class *cls;
	struct gb_rl_decision d;
	struct gb_redis *r;
	char who[192];
	enum gb_err e = GB_EREDIS;
	int64_t now;

	if (c->edge == NULL || c->edge->rl == NULL)
		return GB_OK;
	cls = gb_rl_table_class(c->edge->rl, name != NULL ? name : GB_RL_DEFAULT, c->company_id);
	if (cls == NULL)
		cls = fallback;
	if (cls == NULL) {
		gb_log(GB_LOG_ERROR, c->req.request_id, "unknown rate-limit class",
		       "class", name, NULL);
		gb_fail(c, 500, "internal error", NULL);
		return GB_ECONFIG;
	}
	if (key == NULL)
		key = gb_ctx_caller(c, who, sizeof(who));
	r = gb_ctx_redis(c);
	if (r != NULL)
		e = gb_rl_take(r, c->edge->rl_prefix, cls, key, 1, &d);
	if (r == NULL || (e != GB_OK && e != GB_EREDIS && e != GB_ETIMEOUT))
		gb_rl_degrade(cls, 1, &d);
	gb_metrics_ratelimit(cls->name, d.degraded ? (d.allowed ? "failed_open" : "failed_closed") :
	                     d.allowed ? "allowed" : "limited");
	if (d.degraded) {
		/* Logged at most once a second per thread: an outage under load
		 * must not flood the journal. */
		now = gb_mono_us();
		if (now - last_warn >= 1000000 || last_warn == 0) {
			last_warn = now;
			gb_log(GB_LOG_WARN, c->req.request_id, "rate limiter unavailable",
			       "class", cls->name, "policy", cls->fail_closed ? "closed" : "open",
			       "error", r != NULL ? gb_redis_last_error(r) : "no Redis handle", NULL);
		}
		if (d.allowed)
			return GB_OK;
		gb_header(c, "Retry-After", "1");
		gb_fail(c, 503, "rate limiter unavailable", NULL);
		return GB_EREDIS;
	}
	if (!c->rl_set || d.remaining < c->rl.remaining || !d.allowed) {
		c->rl = d;
		c->rl_set = true;
	}
	if (d.allowed)
		return GB_OK;
	put_long(c->rl_text[3], sizeof(c->rl_text[3]), d.retry_after_s > 0 ? d.retry_after_s : 1);
	gb_header(c, "Retry-After", c->rl_text[3]);
	gb_fail(c, 429, "rate limit exceeded", NULL);
	return GB_ELIMIT;
}

static void
send_response(struct gb_ctx *c, struct io *io, struct gb_buf *head)
{
	struct gb_resp *r = &c->resp;

	if (c->streaming)
		return;

	edge_headers(c);
	gb_buf_reset(head);
	if (gb_resp_head(r, head) != 0)
		return;
	if (io_write(io, head->data, head->len) != 0)
		return;
	if (!r->head_only && r->body.len > 0)
		io_write(io, r->body.data, r->body.len);
}

enum gb_err
gb_authorize(struct gb_ctx *c, unsigned roles)
{
	const char *hdr, *why = "";
	enum gb_err e;

	hdr = c->req.authorization;
	e = gb_auth_check(c->auth_keys, hdr, roles, &c->auth, &why);
	if (e == GB_OK || e == GB_EFORBIDDEN) {
		c->authenticated = true;
		c->company_id = c->auth.company_id;
	}
	if (e == GB_OK)
		return GB_OK;
	gb_log(GB_LOG_INFO, c->req.request_id, "access denied", "reason", why,
	       "route", c->match.route != NULL ? c->match.route->pattern : "-", NULL);
	if (e == GB_EFORBIDDEN) {
		gb_fail(c, 403, "forbidden", NULL);
	} else {
		gb_header(c, "WWW-Authenticate", hdr != NULL && *hdr != '\0' ?
		          "Bearer realm=\"gerbang\", error=\"invalid_token\"" :
		          "Bearer realm=\"gerbang\"");
		gb_fail(c, 401, hdr != NULL && *hdr != '\0' ? "invalid or expired token" :
		        "authentication required", NULL);
	}
	return e;
}

static bool
known_method(const char *m)
{
	static const char *const methods[] = {
		"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
	};
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(m, methods[i]) == 0)
			return true;
	return false;
}

/* allow, a route match's "GET, HEAD, POST", with OPTIONS added: the
 * pipeline answers OPTIONS on every path a route takes (options() below).
 * Left as it is when OPTIONS is there already or there is no room. */
static void
allow_options(char *allow, size_t size)
{
	static const char opt[] = "OPTIONS";
	const size_t n = sizeof(opt) - 1;
	size_t len = strlen(allow);
	const char *p;

	for (p = allow; (p = strstr(p, opt)) != NULL; p += n)
		if ((p == allow || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
			return;
	if (len == 0)
		snprintf(allow, size, "%s", opt);
	else if (len + 2 + n < size)
		snprintf(allow + len, size - len, ", %s", opt);
}

/* OPTIONS: a CORS preflight, or a plain question about a path's methods,
 * answered here unless a route takes every method (the proxy, whose
 * plugins may answer OPTIONS themselves).  Returns true when answered. */
static bool
options(struct gb_ctx *c)
{
	static const char every[] = "GET, HEAD, POST, PUT, PATCH, DELETE";
	const char *acrm = gb_req_header(&c->req, "Access-Control-Request-Method");
	const char *allow;
	enum gb_err e;

	e = gb_route_match(c->app->routes, c->app->nroutes, "OPTIONS", c->req.path, c->arena,
	                   &c->match);
	if (e == GB_EMETHOD)
		allow = c->match.allow;
	else if (e == GB_OK)
		allow = every;          /* a "*" route */
	else
		return false;           /* 404 and the like: the usual path */
	c->match.route = NULL;
	if (c->req.origin != NULL && acrm != NULL && c->edge != NULL &&
	    gb_cors_enabled(c->edge->cors)) {
		gb_cors_check(c->edge->cors, "OPTIONS", c->req.origin, acrm,
		              gb_req_header(&c->req, "Access-Control-Request-Headers"), allow,
		              &c->cors);
		if (c->cors.kind == GB_CORS_PREFLIGHT_OK) {
			c->resp.status = 204;
			return true;
		}
		gb_fail(c, 403, "CORS preflight refused", NULL);
		return true;
	}
	if (e == GB_OK)
		return false;           /* the route's handler answers OPTIONS */
	allow_options(c->match.allow, sizeof(c->match.allow));
	gb_header(c, "Allow", c->match.allow);
	c->resp.status = 204;
	return true;
}

/* ACCESS_LOG and ACCESS_LOG_SAMPLE: errors always, successes sampled. */
static bool
log_this(const struct gb_config *cfg, int status)
{
	static _Thread_local uint64_t x;

	if (!cfg->access_log)
		return false;
	if (status >= 400 || cfg->access_log_sample >= 1.0)
		return true;
	if (cfg->access_log_sample <= 0.0)
		return false;
	if (x == 0)
		x = (uint64_t)gb_mono_us() | 1;
	/* xorshift64: cheap, per thread, good enough to pick lines */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (double)(x >> 11) * 0x1.0p-53 < cfg->access_log_sample;
}

/* One request, start to end.  Everything it allocates is released by the
 * caller's arena reset. */
static void
handle(struct gb_ctx *c, struct io *io, char *const *envp, struct gb_buf *head)
{
	int64_t t0 = gb_mono_us();
	struct gb_req_error rerr;
	struct gb_access acc;
	const char *rate_class;
	enum gb_err e;

	gb_resp_reset(&c->resp);
	c->head = head;
	c->company_id = NULL;
	c->authenticated = false;
	c->io = io;
	c->streaming = false;
	c->streamed = 0;
	c->upstream = NULL;
	c->upstream_ms = 0;
	c->match.route = NULL;
	c->cors.n = 0;
	c->rl_set = false;
	c->client_ip[0] = '\0';
	e = gb_req_parse(&c->req, c->arena, envp, &rerr);
	c->req.body_read = io_read;
	c->req.body_io = io;
	c->req.body_max = (size_t)c->cfg->max_body_bytes;
	c->resp.head_only = c->req.method != NULL && strcmp(c->req.method, "HEAD") == 0;
	if (e != GB_OK) {
		gb_fail_req(c, &rerr);
		goto out;
	}
	if (c->app->any_method ? strcmp(c->req.method, "TRACE") == 0 ||
	                         strcmp(c->req.method, "CONNECT") == 0 :
	                         !known_method(c->req.method)) {
		/* TRACE, CONNECT and whatever else: nothing here answers them. */
		gb_header(c, "Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
		gb_fail(c, 405, "method not allowed", NULL);
		goto out;
	}
	if (strcmp(c->req.method, "OPTIONS") == 0 && options(c))
		goto out;
	if (c->edge != NULL)
		gb_cors_check(c->edge->cors, c->req.method, c->req.origin, NULL, NULL, NULL, &c->cors);
	e = gb_route_match(c->app->routes, c->app->nroutes, c->req.method, c->req.path,
	                   c->arena, &c->match);
	if (e == GB_ENOTFOUND) {
		gb_fail(c, 404, "no such route", NULL);
		goto out;
	}
	if (e == GB_EMETHOD) {
		allow_options(c->match.allow, sizeof(c->match.allow));
		gb_header(c, "Allow", c->match.allow);   /* lives in c until sent */
		gb_fail(c, 405, "method not allowed", NULL);
		goto out;
	}
	if (e != GB_OK) {
		gb_fail(c, 500, "internal error", NULL);
		goto out;
	}
	if (c->match.route->access != GB_PUBLIC &&
	    gb_authorize(c, c->match.route->roles) != GB_OK)
		goto out;
	rate_class = c->match.route->rate_class;
	if ((rate_class == NULL || rate_class[0] != '\0') &&
	    gb_rate_limit(c, rate_class, NULL, NULL) != GB_OK)
		goto out;
	c->match.route->handler(c);
	if (c->resp.status == 0) {
		gb_log(GB_LOG_ERROR, c->req.request_id, "handler gave no response",
		       "route", c->match.route->pattern, NULL);
		gb_fail(c, 500, "internal error", NULL);
	}
out:
	send_response(c, io, head);
	memset(&acc, 0, sizeof(acc));
	acc.request_id = c->req.request_id;
	acc.trace_id = c->req.trace.trace_id;
	acc.method = c->req.method;
	acc.route = c->match.route != NULL ? c->match.route->pattern : NULL;
	acc.status = c->resp.status;
	acc.latency_ms = (double)(gb_mono_us() - t0) / 1000.0;
	acc.company_id = c->company_id;
	acc.bytes = c->streaming ? c->streamed : c->resp.head_only ? 0 : c->resp.body.len;
	acc.upstream = c->upstream;
	acc.upstream_ms = c->upstream_ms;
	if (log_this(c->cfg, acc.status))
		gb_log_access(&acc);
	gb_metrics_http(c->app->service, acc.route != NULL ? acc.route : "-", acc.method,
	                acc.status, acc.latency_ms / 1000.0);
}

static int
ctx_init(struct gb_ctx *c, struct server *s, unsigned thread)
{
	memset(c, 0, sizeof(*c));
	c->app = s->app;
	c->cfg = &s->cfg;
	c->auth_keys = s->auth;
	c->edge = s->edge;
	c->thread = thread;
	c->arena = gb_arena_new(ARENA_BLOCK);
	gb_buf_init(&c->resp.body, 0);
	return c->arena != NULL ? 0 : -1;
}

static void
ctx_fini(struct gb_ctx *c)
{
	gb_db_free(c->db_handle);
	gb_redis_free(c->redis_handle);
	gb_buf_free(&c->resp.body);
	gb_arena_free(c->arena);
	gb_log_thread_end();
	gb_reqid_thread_end();
	gb_hmac_thread_end();
}

/* A thread's wait for work: its own epoll set holding the listening socket
 * with EPOLLEXCLUSIVE (one connection wakes one idle thread, not all of
 * them, as a blocking accept would) and the stop eventfd (wakes all). */
static int
waiter_new(struct server *s)
{
	struct epoll_event lev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
	struct epoll_event sev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -1;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s->listen_fd, &lev) != 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, s->stop_fd, &sev) != 0) {
		close(ep);
		return -1;
	}
	return ep;
}

static void
wait_for_work(int ep)
{
	struct epoll_event ev[2];

	while (epoll_wait(ep, ev, 2, -1) < 0 && errno == EINTR)
		;
}

struct worker {
	struct server *s;
	unsigned index;
	pthread_t tid;
	bool started;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct server *s = w->s;
	struct gb_buf head = GB_BUF_INIT;
	FCGX_Request req;
	struct gb_ctx c;
	struct io io = { .fcgx = &req };
	int rc, ep;

	ep = waiter_new(s);
	if (ep < 0 || ctx_init(&c, s, w->index) != 0 ||
	    FCGX_InitRequest(&req, s->listen_fd, 0) != 0) {
		gb_log(GB_LOG_ERROR, NULL, "cannot start a serving thread", NULL);
		if (ep >= 0)
			close(ep);
		ctx_fini(&c);
		return NULL;
	}
	while (!atomic_load(&s->stopping)) {
		/* The listening socket is non-blocking: with no connection
		 * waiting a thread gets EAGAIN and waits in epoll, where the
		 * stop eventfd can wake it. */
		rc = FCGX_Accept_r(&req);
		if (rc < 0) {
			if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR ||
			    rc == -ECONNABORTED) {
				gb_log_flush();      /* idle: the access lines go out */
				wait_for_work(ep);
				continue;
			}
			if (rc == -EMFILE || rc == -ENFILE || rc == -ENOBUFS || rc == -ENOMEM) {
				gb_log(GB_LOG_ERROR, NULL, "accept failed, retrying",
				       "error", strerror(-rc), NULL);
				usleep(100000);
				continue;
			}
			gb_log(GB_LOG_ERROR, NULL, "accept failed, thread stops",
			       "error", rc < 0 && rc > -4096 ? strerror(-rc) : "libfcgi", NULL);
			break;
		}
		handle(&c, &io, req.envp, &head);
		FCGX_Finish_r(&req);
		gb_arena_reset(c.arena);
		gb_buf_trim(&head, 16384);
	}
	FCGX_Free(&req, 1);
	gb_buf_free(&head);
	ctx_fini(&c);
	close(ep);
	return NULL;
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static bool
is_listening_socket(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v != 0;
}

/* Opens unix:PATH or HOST:PORT ([v6]:PORT); -1 with a message on stderr. */
static int
open_listener(const char *spec, const char *prog, mode_t mode)
{
	int fd = -1, one = 1, e;
	struct sockaddr_un sun;
	struct addrinfo hints, *res = NULL, *ai;
	char host[256];
	const char *colon, *port;
	size_t hl;
	struct stat st;

	if (strncmp(spec, "unix:", 5) == 0) {
		const char *path = spec + 5;

		if (strlen(path) >= sizeof(sun.sun_path) || path[0] != '/') {
			fprintf(stderr, "%s: --listen unix: needs an absolute path under 108 bytes\n", prog);
			return -1;
		}
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, path, strlen(path));
		/* Only a stale socket is removed, never another kind of file. */
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
		    chmod(path, mode) != 0 || listen(fd, LISTEN_BACKLOG) != 0)
			goto err;
		return fd;
	}
	colon = strrchr(spec, ':');
	if (colon == NULL || colon == spec) {
		fprintf(stderr, "%s: --listen takes unix:PATH or HOST:PORT\n", prog);
		return -1;
	}
	port = colon + 1;
	hl = (size_t)(colon - spec);
	if (spec[0] == '[' && colon[-1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		fprintf(stderr, "%s: --listen host too long\n", prog);
		return -1;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	e = getaddrinfo(host, port, &hints, &res);
	if (e != 0) {
		fprintf(stderr, "%s: --listen %s: %s\n", prog, spec, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, LISTEN_BACKLOG) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		return fd;
err:
	fprintf(stderr, "%s: cannot listen on %s: %s\n", prog, spec, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static bool
needs_tokens(const struct gb_app *app)
{
	size_t i;

	for (i = 0; i < app->nroutes; i++)
		if (app->routes[i].access != GB_PUBLIC)
			return true;
	return false;
}

/* Every rate class the route table names exists (with RATE_LIMIT=on). */
static bool
rate_classes_ok(const struct server *s, char *why, size_t whysize)
{
	const struct gb_route *r;
	size_t i;

	if (s->edge->rl == NULL)
		return true;
	for (i = 0; i < s->app->nroutes; i++) {
		r = &s->app->routes[i];
		if (r->rate_class == NULL || r->rate_class[0] == '\0' ||
		    gb_rl_table_class(s->edge->rl, r->rate_class, NULL) != NULL)
			continue;
		snprintf(why, whysize, "route %s %s uses rate-limit class \"%s\", which "
		         "RATE_LIMIT_FILE does not define", r->method, r->pattern, r->rate_class);
		return false;
	}
	return true;
}

static void
usage(FILE *f, const char *prog)
{
	fprintf(f,
	        "usage: %s [--listen unix:PATH|HOST:PORT] [--threads N]\n"
	        "       %s --version | --help\n"
	        "With no --listen it serves a listening socket on fd 0 (or systemd's\n"
	        "LISTEN_FDS), or answers one CGI request when REQUEST_METHOD is set.\n"
	        "Configuration comes from the environment; see gerbang(7).\n",
	        prog, prog);
}

/* Serves one plain CGI request on stdin/stdout. */
static int
serve_cgi(struct server *s)
{
	extern char **environ;
	struct gb_buf head = GB_BUF_INIT;
	struct io io = { .fcgx = NULL };
	struct gb_ctx c;

	if (ctx_init(&c, s, 0) != 0) {
		ctx_fini(&c);
		return 70;
	}
	handle(&c, &io, environ, &head);
	gb_buf_free(&head);
	ctx_fini(&c);
	return 0;
}

static int
serve_threads(struct server *s)
{
	struct worker *w;
	sigset_t set;
	int sig = 0;
	long i, started = 0;
	uint64_t one = 1;

	/* Threads inherit this mask: signals reach only sigwait() below. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (set_nonblock(s->listen_fd) != 0 ||
	    (s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		gb_log(GB_LOG_ERROR, NULL, "cannot set up the listening socket",
		       "error", strerror(errno), NULL);
		return 69;
	}
	w = calloc((size_t)s->threads, sizeof(*w));
	if (w == NULL)
		return 70;
	for (i = 0; i < s->threads; i++) {
		w[i].s = s;
		w[i].index = (unsigned)i;
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) == 0) {
			w[i].started = true;
			started++;
		}
	}
	if (started == 0) {
		free(w);
		gb_log(GB_LOG_ERROR, NULL, "no serving thread could start", NULL);
		return 70;
	}
	{
		char n[24];

		snprintf(n, sizeof(n), "%ld", started);
		gb_log(GB_LOG_INFO, NULL, "serving", "program", s->app->name, "threads", n,
		       "version", gb_version, NULL);
	}
	while (sig != SIGTERM && sig != SIGINT) {
		if (sigwait(&set, &sig) != 0)
			break;
		if (sig == SIGHUP && s->app->reload != NULL)
			s->app->reload();
		else if (sig == SIGHUP)
			gb_log(GB_LOG_INFO, NULL, "SIGHUP: nothing to reload", NULL);
	}
	gb_log(GB_LOG_INFO, NULL, "stopping: finishing requests in flight", NULL);
	atomic_store(&s->stopping, true);
	if (write(s->stop_fd, &one, sizeof(one)) < 0)
		gb_log(GB_LOG_WARN, NULL, "cannot wake serving threads", NULL);
	for (i = 0; i < s->threads; i++)
		if (w[i].started)
			pthread_join(w[i].tid, NULL);
	free(w);
	close(s->stop_fd);
	gb_log(GB_LOG_INFO, NULL, "stopped", NULL);
	return 0;
}

int
gb_serve_main(int argc, char **argv, const struct gb_app *app)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct server s;
	struct gb_config_error cerr;
	const char *listen_spec = NULL, *threads_arg = NULL, *why = NULL;
	const char *lpid, *lfds;
	bool inited = false;
	long v;
	int opt, rc;

	memset(&s, 0, sizeof(s));
	s.app = app;
	s.listen_fd = -1;
	s.stop_fd = -1;
	while ((opt = getopt_long(argc, argv, "l:t:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'l': listen_spec = optarg; break;
		case 't': threads_arg = optarg; break;
		case 'h': usage(stdout, app->name); return 0;
		case 'V': printf("%s %s (%s, built %s)\n", app->name, gb_version,
		                 gb_git_commit, gb_build_time); return 0;
		default: usage(stderr, app->name); return 64;
		}
	}
	if (optind != argc) {
		usage(stderr, app->name);
		return 64;
	}
	if (gb_config_load(&s.cfg, NULL, &cerr) != GB_OK) {
		fprintf(stderr, "%s: configuration: %s: %s\n", app->name, cerr.key, cerr.msg);
		return 78;
	}
	s.threads = app->threads != NULL ? app->threads(&s.cfg) : s.cfg.threads;
	if (threads_arg != NULL) {
		if (gb_parse_long(threads_arg, 1, 256, &v) != GB_OK) {
			fprintf(stderr, "%s: --threads must be a whole number from 1 to 256\n", app->name);
			rc = 64;
			goto out;
		}
		s.threads = v;
	}
	if (gb_redis_url_parse(s.cfg.redis_url, &(struct gb_redis_addr){0}, &why) != GB_OK) {
		fprintf(stderr, "%s: configuration: REDIS_URL: %s\n", app->name, why);
		rc = 78;
		goto out;
	}
	if (app->signs_tokens || app->verifies_tokens || needs_tokens(app)) {
		char reason[256];

		if (gb_auth_new(&s.cfg, app->signs_tokens, &s.auth, reason, sizeof(reason)) != GB_OK) {
			fprintf(stderr, "%s: configuration: %s\n", app->name, reason);
			rc = 78;
			goto out;
		}
	}
	{
		char reason[320];

		if (gb_edge_new(&s.cfg, &s.edge, reason, sizeof(reason)) != GB_OK ||
		    !rate_classes_ok(&s, reason, sizeof(reason))) {
			fprintf(stderr, "%s: configuration: %s\n", app->name, reason);
			rc = 78;
			goto out;
		}
	}
	gb_log_init(app->service, (enum gb_log_level)s.cfg.log_level, STDERR_FILENO);
	if (s.cfg.metrics) {
		char reason[320];

		/* Without the segment the program still serves; only counting
		 * stops, and the journal says why. */
		if (gb_metrics_open(s.cfg.run_dir, reason, sizeof(reason)) != GB_OK)
			gb_log(GB_LOG_WARN, NULL, "metrics off", "error", reason, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	if (app->init != NULL) {
		if ((rc = app->init(&s.cfg)) != 0) {
			rc = rc == 75 ? 75 : 78;
			goto out;
		}
		inited = true;
	}
	if (FCGX_Init() != 0) {
		fprintf(stderr, "%s: FCGX_Init failed\n", app->name);
		rc = 70;
		goto out;
	}

	lpid = getenv("LISTEN_PID");
	lfds = getenv("LISTEN_FDS");
	if (listen_spec != NULL) {
		s.listen_fd = open_listener(listen_spec, app->name, (mode_t)s.cfg.socket_mode);
		if (s.listen_fd < 0) {
			rc = 69;
			goto out;
		}
	} else if (lpid != NULL && lfds != NULL && gb_parse_long(lpid, 1, INT32_MAX, &v) == GB_OK &&
	           v == (long)getpid() && strcmp(lfds, "1") == 0 && is_listening_socket(3)) {
		s.listen_fd = 3;
		fcntl(3, F_SETFD, FD_CLOEXEC);
	} else if (is_listening_socket(STDIN_FILENO)) {
		s.listen_fd = STDIN_FILENO;
	} else if (getenv("REQUEST_METHOD") != NULL) {
		rc = serve_cgi(&s);
		goto out;
	} else {
		fprintf(stderr, "%s: nothing to serve: no --listen, no listening socket on "
		        "fd 0 and no REQUEST_METHOD for a CGI request\n", app->name);
		usage(stderr, app->name);
		rc = 64;
		goto out;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	rc = serve_threads(&s);
	/* The socket file stays: a successor may already have bound a new one
	 * at that path, and the next start removes a stale one anyway. */
	if (listen_spec != NULL)
		close(s.listen_fd);
out:
	if (inited && app->fini != NULL)
		app->fini();
	gb_metrics_close();
	gb_auth_free(s.auth);
	gb_edge_free(s.edge);
	gb_config_free(&s.cfg);
	return rc;
}
