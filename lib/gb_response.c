#include "config.h"
#include "gb_response.h"

#include <string.h>

void
gb_resp_reset(struct gb_resp *r)
{
	r->status = 0;
	r->content_type = NULL;
	r->nheaders = 0;
	r->head_only = false;
	/* A rare huge body must not stay pinned in every thread. */
	gb_buf_trim(&r->body, 1 << 20);
}

static bool
header_text_ok(const char *s, bool name)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 && c != '\t')
			return false;
		if (c == 0x7f || (name && (c <= ' ' || c == ':')))
			return false;
	}
	return true;
}

int
gb_resp_header(struct gb_resp *r, const char *name, const char *value)
{
	if (r->nheaders == GB_RESP_HEADERS_MAX || *name == '\0' ||
	    !header_text_ok(name, true) || !header_text_ok(value, false))
		return -1;
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders].value = value;
	r->nheaders++;
	return 0;
}

int
gb_resp_header_known(struct gb_resp *r, const char *name, const char *value)
{
	if (r->nheaders == GB_RESP_HEADERS_MAX)
		return -1;
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders].value = value;
	r->nheaders++;
	return 0;
}

const char *
gb_status_reason(int status)
{
	static const struct {
		int code;
		const char *text;
	} reasons[] = {
		{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
		{ 204, "No Content" }, { 301, "Moved Permanently" },
		{ 304, "Not Modified" }, { 400, "Bad Request" },
		{ 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 406, "Not Acceptable" },
		{ 408, "Request Timeout" }, { 409, "Conflict" }, { 410, "Gone" },
		{ 412, "Precondition Failed" }, { 413, "Content Too Large" },
		{ 414, "URI Too Long" }, { 415, "Unsupported Media Type" },
		{ 422, "Unprocessable Content" }, { 428, "Precondition Required" },
		{ 429, "Too Many Requests" }, { 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
	};
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == status)
			return reasons[i].text;
	return "Unknown";
}

/* Appends "name: value\r\n". */
static void
put_header(struct gb_buf *out, const char *name, const char *value)
{
	gb_buf_puts(out, name);
	gb_buf_append(out, ": ", 2);
	gb_buf_puts(out, value);
	gb_buf_append(out, "\r\n", 2);
}

static int
head(const struct gb_resp *r, struct gb_buf *out, const char *default_type, bool with_length)
{
	int status = r->status >= 0 && r->status <= 999 ? r->status : 500;
	size_t i;

	/* No printf: this runs for every response. */
	gb_buf_append(out, "Status: ", 8);
	gb_buf_put_u64(out, (unsigned)status);
	gb_buf_putc(out, ' ');
	gb_buf_puts(out, gb_status_reason(status));
	gb_buf_append(out, "\r\n", 2);
	put_header(out, "Content-Type", r->content_type != NULL ? r->content_type : default_type);
	for (i = 0; i < r->nheaders; i++)
		put_header(out, r->headers[i].name, r->headers[i].value);
	if (with_length) {
		gb_buf_append(out, "Content-Length: ", 16);
		gb_buf_put_u64(out, (unsigned long long)r->body.len);
		gb_buf_append(out, "\r\n", 2);
	}
	gb_buf_append(out, "\r\n", 2);
	return gb_buf_failed(out) ? -1 : 0;
}

int
gb_resp_head(const struct gb_resp *r, struct gb_buf *out)
{
	return head(r, out, "application/json", true);
}

int
gb_resp_head_stream(const struct gb_resp *r, struct gb_buf *out)
{
	return head(r, out, "application/octet-stream", false);
}
