/* gb_serve.h - a FastCGI program: the request pipeline and its threads.
 *
 * A program is a route table handed to gb_serve_main().  It serves
 *   --listen unix:PATH | HOST:PORT   a socket of its own, or
 *   a listening socket on fd 0       (lighttpd bin-path, spawn-fcgi,
 *                                      systemd StandardInput=socket), or
 *   LISTEN_FDS=1 from systemd        (fd 3), or
 *   one plain CGI request            (REQUEST_METHOD set, no socket).
 * N threads each loop on FCGX_Accept_r with their own gb_ctx: arena,
 * response buffer and database and Redis connections, shared with nobody.
 * SIGTERM or SIGINT stops accepting; requests in flight finish.
 *
 * Pipeline: parse -> request id -> route (404/405) -> handler -> envelope
 * -> access log.  Only this layer turns enum gb_err into HTTP statuses.
 */
#ifndef GB_SERVE_H
#define GB_SERVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "gb_auth.h"
#include "gb_clientip.h"
#include "gb_config.h"
#include "gb_cors.h"
#include "gb_ratelimit.h"
#include "gb_request.h"
#include "gb_response.h"
#include "gb_router.h"

struct gb_db;
struct gb_redis;

struct gb_app {
	const char *name;               /* "gerbang-health" */
	const char *service;            /* "health", for logs and metrics */
	const struct gb_route *routes;
	size_t nroutes;
	bool signs_tokens;              /* needs the private key (gerbang-auth) */
	bool verifies_tokens;           /* checks tokens itself (gerbang-proxy) */
	bool any_method;                /* serves methods beyond the usual seven
	                                 * (a plugin upstream); TRACE still 405 */
	/* Optional hooks, all called from the main thread: init after the
	 * configuration is loaded and before any thread serves (non-zero: the
	 * program exits 78 after init printed why, or 75 when init returned
	 * 75, EX_TEMPFAIL: a dependency it must ask at start did not answer,
	 * and a restart may succeed), reload on SIGHUP, fini after the last
	 * thread finished. */
	int (*init)(const struct gb_config *cfg);
	/* Optional: the serving threads when --threads does not say, in place
	 * of THREADS (gerbang-tasks: TASKS_THREADS). */
	long (*threads)(const struct gb_config *cfg);
	void (*reload)(void);
	void (*fini)(void);
};

/* Per thread; handlers read req and match, and answer with gb_ok/gb_fail. */
struct gb_ctx {
	const struct gb_app *app;
	const struct gb_config *cfg;
	unsigned thread;
	struct gb_arena *arena;         /* reset after every request */
	struct gb_req req;
	struct gb_route_match match;
	struct gb_resp resp;
	const struct gb_auth *auth_keys;  /* NULL when no route needs a token */
	bool authenticated;             /* auth holds the caller's verified claims */
	struct gb_jwt_claims auth;
	const char *company_id;         /* the caller's tenant, once authenticated */
	const struct gb_edge *edge;
	struct gb_db *db_handle;        /* use gb_ctx_db() */
	struct gb_redis *redis_handle;  /* use gb_ctx_redis() */
	/* private to the pipeline */
	void *io;
	struct gb_buf *head;            /* the thread's buffer for headers */
	bool streaming;                 /* headers sent by gb_stream_begin */
	uint64_t streamed;              /* body bytes sent since */
	const char *upstream;           /* for the access log, when proxied */
	double upstream_ms;
	char client_ip[GB_IP_MAX];      /* use gb_ctx_client_ip() */
	struct gb_cors_result cors;     /* headers for this request's origin */
	struct gb_rl_decision rl;       /* the tightest bucket met, when rl_set */
	bool rl_set;
	char rl_text[4][24];            /* RateLimit-* and Retry-After values */
};

/* Parses arguments and configuration, then serves until SIGTERM.  Returns
 * the process exit status: 0, 64 (usage), 69 (cannot listen) or
 * 78 (configuration). */
int gb_serve_main(int argc, char **argv, const struct gb_app *app);

/* Answer with a success envelope; data is stolen (NULL: null). */
void gb_ok(struct gb_ctx *c, int status, const char *message, json_t *data);

/* The same with data as JSON text the program built (gb_envelope_ok_raw). */
void gb_ok_raw(struct gb_ctx *c, int status, const char *message, const char *data_json,
               size_t len);

/* The same for one page of a list: meta ({"limit":..,"next_cursor":..})
 * is stolen too and goes into the envelope's "meta". */
void gb_ok_list(struct gb_ctx *c, int status, const char *message, json_t *data,
                json_t *meta);

/* The same with data as JSON text the program built (an array). */
void gb_ok_list_raw(struct gb_ctx *c, int status, const char *message, const char *data_json,
                    size_t len, json_t *meta);

/* Answer with an error envelope; errors is stolen (NULL: {}).  message and
 * errors reach the client as they are: never pass library or system error
 * text (it goes to the log). */
void gb_fail(struct gb_ctx *c, int status, const char *message, json_t *errors);

/* Checks the request's access token against roles (GB_ROLE_* bits, 0 =
 * any role), as the pipeline does for GB_JWT routes; for programs whose
 * policy is not known until the request is seen (gerbang-proxy).  GB_OK
 * sets c->auth and c->company_id; otherwise the 401 (with
 * WWW-Authenticate) or 403 envelope is already set and is returned. */
enum gb_err gb_authorize(struct gb_ctx *c, unsigned roles);

/* The client's address: REMOTE_ADDR, or behind TRUSTED_PROXIES the
 * right-most untrusted address of X-Forwarded-For; "unknown" when there is
 * none.  Worked out on first use. */
const char *gb_ctx_client_ip(struct gb_ctx *c);

/* Who is calling, as a rate-limit key: "u:COMPANY:USER" when
 * authenticated, else "ip:CLIENT-ADDRESS"; written into buf, returned. */
const char *gb_ctx_caller(struct gb_ctx *c, char *buf, size_t size);

/* Takes a token for this request from the rate-limit class name (the
 * caller's company's override of it if there is one; fallback when the
 * table has no such class, e.g. a plugin's manifest class; NULL name:
 * "default") from the bucket of key (NULL: the caller, gb_ctx_caller).  GB_OK: go on; the
 * response will carry RateLimit-Limit/-Remaining/-Reset of the tightest
 * bucket met.  Otherwise the envelope is set and returned: GB_ELIMIT, 429
 * with Retry-After; GB_EREDIS, 503, when Redis could not answer and the
 * class fails closed (a class failing open admits, and the failure is
 * logged).  RATE_LIMIT=off: GB_OK and nothing else.  The pipeline calls it
 * for every route whose rate_class is not GB_RATE_NONE. */
enum gb_err gb_rate_limit(struct gb_ctx *c, const char *name, const struct gb_rl_class *fallback,
                          const char *key);

/* Answer with the status of a library error (gb_err_status) and its
 * generic text; internal errors say only "internal error". */
void gb_fail_err(struct gb_ctx *c, enum gb_err e);

/* Logs db's last failure ("database error": its message, SQLSTATE and
 * constraint) under the request's id: a warning for e GB_EVALIDATION or
 * GB_ECONFLICT (the client's values), else an error.  Never client text. */
void gb_log_db_error(struct gb_ctx *c, struct gb_db *db, enum gb_err e);

/* The request body as a JSON object (gb_req_json); on failure answers
 * (400/413/415) and returns NULL.  Keys not in allowed (NULL-terminated)
 * are added to *errors as "unknown field", so the caller's own checks can
 * report every failing field in one 422.  The caller json_decref()s it. */
json_t *gb_body_object(struct gb_ctx *c, const char *const *allowed, json_t **errors);

/* Answer with the error a failed gb_req_* call described. */
void gb_fail_req(struct gb_ctx *c, const struct gb_req_error *e);

/* The thread's database and Redis handles, created on first use (they
 * connect lazily).  NULL only on ENOMEM or a bad REDIS_URL. */
struct gb_db *gb_ctx_db(struct gb_ctx *c);
struct gb_redis *gb_ctx_redis(struct gb_ctx *c);

/* Streaming a response whose length is not known in advance (a proxied
 * body, server-sent events): gb_stream_begin sends the status, the headers
 * added so far and X-Request-Id at once, without Content-Length; each
 * gb_stream_write sends a chunk as it comes.  The pipeline then sends
 * nothing more.  Both return 0, or -1 once the client is gone (stop
 * producing: the thread is free again as soon as the handler returns). */
int gb_stream_begin(struct gb_ctx *c, int status, const char *content_type);
int gb_stream_write(struct gb_ctx *c, const void *p, size_t n);
/* Pushes what was written so far to the web server; 0 or -1. */
int gb_stream_flush(struct gb_ctx *c);

/* Reads up to n bytes of the request body as it arrives (instead of
 * gb_req_body, never both): the count, 0 at its end, -1 on error. */
ssize_t gb_body_read(struct gb_ctx *c, char *buf, size_t n);

/* Records the upstream and its latency for the access log line. */
void gb_ctx_upstream(struct gb_ctx *c, const char *upstream, double ms);

/* Adds a response header (see gb_resp_header). */
int gb_header(struct gb_ctx *c, const char *name, const char *value);

/* The program's version string, git commit and build time. */
extern const char gb_version[], gb_git_commit[], gb_build_time[];

#endif
