#include "config.h"
#include "gb_request.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gb_config.h"

static void
set_error(struct gb_req_error *e, enum gb_err err, const char *field, const char *msg)
{
	e->err = err;
	e->field = field;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
}

const char *
gb_req_param(const struct gb_req *r, const char *name)
{
	char *const *p;
	size_t n = strlen(name);

	for (p = r->envp; *p != NULL; p++)
		if (strncmp(*p, name, n) == 0 && (*p)[n] == '=')
			return *p + n + 1;
	return NULL;
}

const char *
gb_req_header(const struct gb_req *r, const char *name)
{
	char key[5 + 128];
	size_t i, n = strlen(name);

	if (n > 127)
		return NULL;
	memcpy(key, "HTTP_", 5);
	for (i = 0; i < n; i++) {
		char c = name[i];

		key[5 + i] = c == '-' ? '_' : (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
	}
	key[5 + n] = '\0';
	return gb_req_param(r, key);
}

/* The parameters the pipeline reads for every request, found in one pass
 * over the environment instead of one scan each. */
struct known {
	const char *request_id, *traceparent, *method, *https, *content_length;
	const char *uri, *script_name, *path_info, *query_string;
};

/* Sets *dst to the value of entry e when e is "name=..." and *dst is not
 * yet set (the first of duplicate entries wins, as in gb_req_param). */
#define TAKE(e, name, dst)                                                   \
	do {                                                                 \
		if ((dst) == NULL && strncmp((e), name, sizeof(name) - 1) == 0 && \
		    (e)[sizeof(name) - 1] == '=')                            \
			(dst) = (e) + sizeof(name);                          \
	} while (0)

static void
scan(struct gb_req *r, struct known *k, char *const *envp)
{
	char *const *p;
	const char *e, *h;

	for (p = envp; *p != NULL; p++) {
		e = *p;
		switch (e[0]) {
		case 'H':
			if (strncmp(e, "HTTP_", 5) != 0) {
				TAKE(e, "HTTPS", k->https);
				break;
			}
			h = e + 5;
			switch (h[0]) {
			case 'A': TAKE(h, "AUTHORIZATION", r->authorization); break;
			case 'O': TAKE(h, "ORIGIN", r->origin); break;
			case 'T': TAKE(h, "TRACEPARENT", k->traceparent); break;
			case 'X':
				TAKE(h, "X_REQUEST_ID", k->request_id);
				TAKE(h, "X_FORWARDED_FOR", r->forwarded_for);
				break;
			default: break;
			}
			break;
		case 'R':
			TAKE(e, "REQUEST_METHOD", k->method);
			TAKE(e, "REQUEST_URI", k->uri);
			TAKE(e, "REMOTE_ADDR", r->remote_addr);
			break;
		case 'C':
			TAKE(e, "CONTENT_TYPE", r->content_type);
			TAKE(e, "CONTENT_LENGTH", k->content_length);
			break;
		case 'S': TAKE(e, "SCRIPT_NAME", k->script_name); break;
		case 'P': TAKE(e, "PATH_INFO", k->path_info); break;
		case 'Q': TAKE(e, "QUERY_STRING", k->query_string); break;
		default: break;
		}
	}
}

#undef TAKE

enum gb_err
gb_req_parse(struct gb_req *r, struct gb_arena *a, char *const *envp,
             struct gb_req_error *e)
{
	struct known k = { 0 };
	const char *uri, *q, *v;
	size_t plen;
	enum gb_err err;
	long cl;
	char *path;

	memset(r, 0, sizeof(*r));
	r->arena = a;
	r->envp = envp;
	r->content_length = -1;
	e->err = GB_OK;
	e->field = NULL;
	e->msg[0] = '\0';
	scan(r, &k, envp);

	v = k.request_id;
	if (v != NULL && gb_reqid_valid(v))
		memcpy(r->request_id, v, strlen(v) + 1);
	else
		gb_reqid_new(r->request_id);
	gb_trace_start(&r->trace, k.traceparent);

	r->method = k.method;
	if (r->method == NULL || *r->method == '\0')
		r->method = "GET";
	r->https = k.https != NULL && strcasecmp(k.https, "on") == 0;
	if (r->content_type != NULL && *r->content_type == '\0')
		r->content_type = NULL;
	if (r->authorization != NULL && *r->authorization == '\0')
		r->authorization = NULL;
	v = k.content_length;
	if (v != NULL && *v != '\0') {
		if (gb_parse_long(v, 0, 1L << 62, &cl) != GB_OK) {
			set_error(e, GB_EINVAL, "headers", "invalid Content-Length");
			return GB_EINVAL;
		}
		r->content_length = cl;
	}

	/* REQUEST_URI is the raw target; plain CGI from a shell may only have
	 * SCRIPT_NAME, PATH_INFO and QUERY_STRING. */
	uri = k.uri;
	if (uri != NULL && *uri != '\0') {
		q = strchr(uri, '?');
		plen = q != NULL ? (size_t)(q - uri) : strlen(uri);
		r->raw_path = gb_arena_strndup(a, uri, plen);
		r->query_string = q != NULL ? q + 1 : "";
	} else {
		const char *sn = k.script_name;
		const char *pi = k.path_info;

		r->raw_path = gb_arena_printf(a, "%s%s", sn ? sn : "", pi ? pi : "");
		if (r->raw_path != NULL && r->raw_path[0] == '\0')
			r->raw_path = "/";
		q = k.query_string;
		r->query_string = q != NULL ? q : "";
	}
	if (r->raw_path == NULL) {
		set_error(e, GB_ENOMEM, NULL, "out of memory");
		return GB_ENOMEM;
	}
	err = gb_path_normalize(a, r->raw_path, strlen(r->raw_path), &path);
	if (err != GB_OK) {
		set_error(e, err, "path", err == GB_ETOOBIG ? "the path is too long" :
		          "the path is malformed");
		return err;
	}
	r->path = path;
	err = gb_query_parse(a, r->query_string, strlen(r->query_string), &r->query);
	if (err != GB_OK) {
		set_error(e, err, "query", err == GB_ETOOBIG ?
		          "the query string is too long or has too many parameters" :
		          "the query string is malformed");
		return err;
	}
	return GB_OK;
}

enum gb_err
gb_req_body(struct gb_req *r, struct gb_req_error *e)
{
	size_t want, len = 0;
	ssize_t n;
	char *buf;

	if (r->body_done)
		return GB_OK;
	if (r->content_length > 0 && (unsigned long)r->content_length > r->body_max) {
		set_error(e, GB_ETOOBIG, "body", "the request body is too large");
		return GB_ETOOBIG;
	}
	want = r->content_length > 0 ? (size_t)r->content_length : 0;
	buf = gb_arena_alloc(r->arena, want + 1);
	if (buf == NULL) {
		set_error(e, GB_ENOMEM, NULL, "out of memory");
		return GB_ENOMEM;
	}
	while (len < want && r->body_read != NULL) {
		n = r->body_read(r->body_io, buf + len, want - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (len < want) {
		set_error(e, GB_EIO, "body", "the request body ended early");
		return GB_EIO;
	}
	buf[len] = '\0';
	r->body = buf;
	r->body_len = len;
	r->body_done = true;
	return GB_OK;
}

bool
gb_content_type_is_json(const char *ct)
{
	size_t n, i;
	const char *slash;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return true;
	/* application/<subtype>+json */
	if (n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
	    strncasecmp(ct + n - 5, "+json", 5) == 0) {
		slash = ct + 12;
		for (i = 0; i < n - 17; i++)
			if (slash[i] == '/' || slash[i] == ' ')
				return false;
		return true;
	}
	return false;
}

enum gb_err
gb_json_parse_object(const char *text, size_t len, json_t **out, struct gb_req_error *e)
{
	json_error_t jerr;
	json_t *j;

	*out = NULL;
	if (len == 0) {
		set_error(e, GB_EINVAL, "body", "a JSON object body is required");
		return GB_EINVAL;
	}
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		e->err = GB_EINVAL;
		e->field = "body";
		snprintf(e->msg, sizeof(e->msg), "invalid JSON at line %d, column %d: %.100s",
		         jerr.line, jerr.column, jerr.text);
		return GB_EINVAL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		set_error(e, GB_EINVAL, "body", "the body must be a JSON object");
		return GB_EINVAL;
	}
	*out = j;
	return GB_OK;
}

enum gb_err
gb_req_json(struct gb_req *r, json_t **out, struct gb_req_error *e)
{
	enum gb_err err;

	*out = NULL;
	if (!gb_content_type_is_json(r->content_type)) {
		set_error(e, GB_EMEDIA, "Content-Type", "the body must be application/json");
		return GB_EMEDIA;
	}
	err = gb_req_body(r, e);
	if (err != GB_OK)
		return err;
	return gb_json_parse_object(r->body, r->body_len, out, e);
}
