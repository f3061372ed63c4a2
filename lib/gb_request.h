/* gb_request.h - one HTTP request as the web server handed it over.
 *
 * The fields are read-only for handlers; gb_req_parse() fills them from the
 * FastCGI or CGI parameters (envp).  Every string lives in the request's
 * arena until the end of the loop pass.
 */
#ifndef GB_REQUEST_H
#define GB_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "gb_arena.h"
#include "gb_err.h"
#include "gb_reqid.h"
#include "gb_url.h"

/* Reads up to n body bytes into buf; returns the count, 0 at the end, or -1. */
typedef ssize_t gb_body_read_fn(void *io, char *buf, size_t n);

struct gb_req {
	struct gb_arena *arena;
	char *const *envp;
	const char *method;          /* "GET", ... as sent */
	const char *raw_path;        /* as sent, still encoded, no query */
	const char *path;            /* gb_path_normalize()d */
	const char *query_string;    /* raw, without '?', may be "" */
	struct gb_query query;       /* parsed query_string */
	const char *remote_addr;     /* the web server's REMOTE_ADDR */
	const char *authorization;   /* Authorization header, NULL if none */
	const char *origin;          /* Origin header, NULL if none */
	const char *forwarded_for;   /* X-Forwarded-For, NULL if none */
	const char *content_type;    /* NULL if none */
	long content_length;         /* -1 if none */
	char request_id[GB_REQID_MAX + 1];
	struct gb_trace trace;
	bool https;

	/* body, read on demand by gb_req_body() */
	gb_body_read_fn *body_read;
	void *body_io;
	size_t body_max;
	char *body;
	size_t body_len;
	bool body_done;
};

/* Why parsing failed, for the error envelope. */
struct gb_req_error {
	enum gb_err err;
	const char *field;           /* "path", "query", "body", ... */
	char msg[160];
};

/* Fills r from envp.  Sets the request id and trace first, so they are
 * valid even when the rest fails.  Returns GB_OK, or an error described in
 * *e (GB_EINVAL: 400, GB_ETOOBIG: 414, GB_ENOMEM). */
enum gb_err gb_req_parse(struct gb_req *r, struct gb_arena *a, char *const *envp,
                         struct gb_req_error *e);

/* A FastCGI parameter ("CONTENT_TYPE", "HTTP_X_REQUEST_ID"), or NULL. */
const char *gb_req_param(const struct gb_req *r, const char *name);

/* A request header by its HTTP name ("X-Request-Id"), case-insensitive;
 * NULL if absent or if the name is longer than 127 bytes. */
const char *gb_req_header(const struct gb_req *r, const char *name);

/* Reads the whole body, at most r->body_max bytes.  Returns GB_OK (body and
 * body_len set, body NUL-terminated), GB_ETOOBIG (413) or GB_EIO. */
enum gb_err gb_req_body(struct gb_req *r, struct gb_req_error *e);

/* Reads the body as a JSON object.  Returns GB_OK with a new reference in
 * *out, or GB_EMEDIA (415: not application/json), GB_EINVAL (400: empty,
 * malformed with its position in e->msg, duplicate keys, not an object),
 * GB_ETOOBIG or GB_EIO; *out is NULL on error. */
enum gb_err gb_req_json(struct gb_req *r, json_t **out, struct gb_req_error *e);

/* Parses a JSON text (the body parser, separately for tests and fuzzing). */
enum gb_err gb_json_parse_object(const char *text, size_t len, json_t **out,
                                 struct gb_req_error *e);

/* True when the content type is application/json or application/<x>+json,
 * with any parameters. */
bool gb_content_type_is_json(const char *ct);

#endif
