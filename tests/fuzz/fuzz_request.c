/* libFuzzer target: a whole request.  The input is NAME=VALUE lines (the
 * FastCGI parameters) up to an empty line; the bytes after it are the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gb_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PARAMS 64

struct body {
	const uint8_t *p;
	size_t left;
};

static ssize_t
body_read(void *io, char *buf, size_t n)
{
	struct body *b = io;

	if (n > b->left)
		n = b->left;
	/* short reads, as a socket gives them */
	if (n > 7)
		n = n / 2 + 1;
	memcpy(buf, b->p, n);
	b->p += n;
	b->left -= n;
	return (ssize_t)n;
}

static const char *const headers[] = {
	"X-Request-Id", "traceparent", "Accept", "Authorization", "x_forwarded_for",
	"Content-Type", "",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gb_arena *a;
	char *envp[MAX_PARAMS + 1];
	size_t n = 0, i, off = 0;
	struct gb_req r;
	struct gb_req_error e;
	struct body body;
	json_t *j = NULL;

	if (a == NULL && (a = gb_arena_new(64 * 1024)) == NULL)
		abort();
	/* lines up to an empty one (or the end) become parameters */
	while (off < size && n < MAX_PARAMS) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl != NULL ? (size_t)(nl - (data + off)) : size - off;

		if (len == 0) {
			off++;
			break;
		}
		envp[n] = gb_arena_strndup(a, (const char *)data + off, len);
		if (envp[n] == NULL)
			abort();
		n++;
		off += len + (nl != NULL);
	}
	envp[n] = NULL;

	if (gb_req_parse(&r, a, envp, &e) != GB_OK) {
		if (e.err == GB_OK || e.msg[0] == '\0')
			abort();
	}
	/* the request id and trace are valid whatever happened */
	if (!gb_reqid_valid(r.request_id) || strlen(r.trace.trace_id) != 32 ||
	    strlen(r.trace.span_id) != 16)
		abort();
	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		(void)gb_req_header(&r, headers[i]);
	if (n > 0) {
		/* any parameter's own name, as a header name */
		const char *eq = strchr(envp[0], '=');
		char name[160];
		size_t nl = eq != NULL ? (size_t)(eq - envp[0]) : strlen(envp[0]);

		if (nl >= sizeof(name))
			nl = sizeof(name) - 1;
		memcpy(name, envp[0], nl);
		name[nl] = '\0';
		(void)gb_req_header(&r, name);
		(void)gb_req_param(&r, name);
	}
	if (r.path != NULL) {
		body.p = data + off;
		body.left = size - off;
		r.body_read = body_read;
		r.body_io = &body;
		r.body_max = 4096;
		if (gb_req_json(&r, &j, &e) == GB_OK) {
			if (!json_is_object(j))
				abort();
			json_decref(j);
		} else if (j != NULL) {
			abort();
		}
	}
	gb_arena_reset(a);
	return 0;
}
