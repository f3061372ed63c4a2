/* gb_response.h - the response a handler builds, sent by the pipeline. */
#ifndef GB_RESPONSE_H
#define GB_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gb_buf.h"

#define GB_RESP_HEADERS_MAX 48     /* room for a proxied response's headers */

struct gb_resp {
	int status;                  /* 0 until a handler answers */
	const char *content_type;    /* default application/json */
	size_t nheaders;
	struct {
		const char *name;
		const char *value;
	} headers[GB_RESP_HEADERS_MAX];
	struct gb_buf body;
	bool head_only;              /* HEAD: headers and Content-Length only */
};

/* Empties r for the next request; keeps the body buffer's memory. */
void gb_resp_reset(struct gb_resp *r);

/* Adds a header.  name and value are not copied: they must live until the
 * response is sent (literals or arena strings).  Returns -1, adding nothing,
 * when either holds CR, LF or NUL-free junk (a control byte), or when the
 * table is full. */
int gb_resp_header(struct gb_resp *r, const char *name, const char *value);

/* The same for a name and value the program wrote itself (literals, the
 * configuration's checked values, digits): not checked again, as the
 * pipeline adds several to every response.  0, or -1 when the table is full. */
int gb_resp_header_known(struct gb_resp *r, const char *name, const char *value);

/* The standard reason phrase of an HTTP status ("Not Found"); "Unknown" for
 * codes it does not know. */
const char *gb_status_reason(int status);

/* Writes the CGI header block ("Status: ...\r\n...\r\n\r\n") of r into out,
 * Content-Length included.  Returns 0 or -1 (out failed). */
int gb_resp_head(const struct gb_resp *r, struct gb_buf *out);

/* The same for a response streamed without a known length: no
 * Content-Length, and application/octet-stream when no type is set. */
int gb_resp_head_stream(const struct gb_resp *r, struct gb_buf *out);

#endif
