/* gb_envelope.h - the JSON envelope every response body uses.
 *
 *   {"ok":true,"message":"...","data":...,"request_id":"..."}
 *   {"ok":true,...,"meta":{"limit":..,"next_cursor":..},"request_id":"..."}
 *   {"ok":false,"message":"...","errors":{"field":["..."]},"request_id":"..."}
 */
#ifndef GB_ENVELOPE_H
#define GB_ENVELOPE_H

#include <jansson.h>

#include "gb_response.h"

/* Sets r's status and writes a success envelope into its body.  data and
 * meta are stolen (NULL data is JSON null; NULL meta omits "meta").
 * Returns 0, or -1 when the body could not be built (r is then a 500
 * envelope if even that fits, else left with status 500 and no body). */
int gb_envelope_ok(struct gb_resp *r, const char *request_id, int status,
                   const char *message, json_t *data, json_t *meta);

/* The same with data given as JSON text the program built itself (a fixed
 * shape, cheaper than a json_t for a hot path such as /healthz); it is
 * copied as it is, so it must be valid JSON. */
int gb_envelope_ok_raw(struct gb_resp *r, const char *request_id, int status,
                       const char *message, const char *data_json, size_t len);

/* A list page with data as JSON text the program built (an array), and
 * meta, stolen, as for gb_envelope_ok. */
int gb_envelope_ok_list_raw(struct gb_resp *r, const char *request_id, int status,
                            const char *message, const char *data_json, size_t len,
                            json_t *meta);

/* Appends v as compact JSON (reals as %.9g); 0, or -1 with b failed (no
 * memory, NaN or infinity, nesting deeper than 64). */
int gb_json_dump(struct gb_buf *b, const json_t *v);

/* The same for an error; errors is stolen (NULL gives {}). */
int gb_envelope_error(struct gb_resp *r, const char *request_id, int status,
                      const char *message, json_t *errors);

/* Appends msg to errors[field] (an array), creating errors when NULL.
 * Returns errors (or the new object), NULL on ENOMEM (errors is freed). */
json_t *gb_field_error(json_t *errors, const char *field, const char *msg);

#endif
