#include "config.h"
#include "gb_envelope.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define DUMP_DEPTH_MAX 64

static int
dump(struct gb_buf *b, const json_t *v, int depth)
{
	char num[32];
	const char *key;
	json_t *item;
	size_t i, n;
	int len;

	if (depth > DUMP_DEPTH_MAX)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		gb_buf_putc(b, '{');
		n = 0;
		json_object_foreach((json_t *)v, key, item) {
			if (n++ != 0)
				gb_buf_putc(b, ',');
			gb_buf_json_str(b, key, strlen(key));
			gb_buf_putc(b, ':');
			if (dump(b, item, depth + 1) != 0)
				return -1;
		}
		return gb_buf_putc(b, '}');
	case JSON_ARRAY:
		gb_buf_putc(b, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (i != 0)
				gb_buf_putc(b, ',');
			if (dump(b, json_array_get(v, i), depth + 1) != 0)
				return -1;
		}
		return gb_buf_putc(b, ']');
	case JSON_STRING:
		return gb_buf_json_str(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		len = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return gb_buf_append(b, num, (size_t)len);
	case JSON_REAL:
		/* As jansson writes it with JSON_REAL_PRECISION(9): %.9g, and
		 * ".0" when that looks like an integer; no NaN or infinity. */
		if (!isfinite(json_real_value(v)))
			return -1;
		len = snprintf(num, sizeof(num), "%.9g", json_real_value(v));
		if (len <= 0 || (size_t)len >= sizeof(num) - 2)
			return -1;
		if (strpbrk(num, ".eE") == NULL) {
			memcpy(num + len, ".0", 3);
			len += 2;
		}
		return gb_buf_append(b, num, (size_t)len);
	case JSON_TRUE:
		return gb_buf_append(b, "true", 4);
	case JSON_FALSE:
		return gb_buf_append(b, "false", 5);
	case JSON_NULL:
		return gb_buf_append(b, "null", 4);
	}
	return -1;
}

int
gb_json_dump(struct gb_buf *b, const json_t *v)
{
	if (dump(b, v, 0) != 0 || gb_buf_failed(b)) {
		b->failed = true;
		return -1;
	}
	return 0;
}

/* Writes the envelope with payload, or with the JSON text raw when
 * payload is NULL and raw is not. */
static void
write_envelope(struct gb_resp *r, const char *request_id, bool ok, const char *message,
               const char *key, json_t *payload, json_t *meta, const char *raw, size_t rawlen)
{
	struct gb_buf *b = &r->body;

	gb_buf_reset(b);
	gb_buf_puts(b, ok ? "{\"ok\":true,\"message\":" : "{\"ok\":false,\"message\":");
	gb_buf_json_str(b, message, strlen(message));
	gb_buf_putc(b, ',');
	gb_buf_json_str(b, key, strlen(key));
	gb_buf_putc(b, ':');
	if (payload != NULL)
		gb_json_dump(b, payload);
	else if (raw != NULL)
		gb_buf_append(b, raw, rawlen);
	else
		gb_buf_puts(b, ok ? "null" : "{}");
	if (meta != NULL) {
		gb_buf_puts(b, ",\"meta\":");
		gb_json_dump(b, meta);
	}
	gb_buf_puts(b, ",\"request_id\":");
	gb_buf_json_str(b, request_id, strlen(request_id));
	gb_buf_putc(b, '}');
}

static int
finish(struct gb_resp *r, const char *request_id)
{
	if (!gb_buf_failed(&r->body))
		return 0;
	r->status = 500;
	write_envelope(r, request_id, false, "internal error", "errors", NULL, NULL, NULL, 0);
	if (gb_buf_failed(&r->body))
		gb_buf_reset(&r->body);
	return -1;
}

int
gb_envelope_ok(struct gb_resp *r, const char *request_id, int status,
               const char *message, json_t *data, json_t *meta)
{
	r->status = status;
	write_envelope(r, request_id, true, message, "data", data, meta, NULL, 0);
	json_decref(data);
	json_decref(meta);
	return finish(r, request_id);
}

int
gb_envelope_ok_raw(struct gb_resp *r, const char *request_id, int status,
                   const char *message, const char *data_json, size_t len)
{
	r->status = status;
	write_envelope(r, request_id, true, message, "data", NULL, NULL,
	               data_json != NULL ? data_json : "null", data_json != NULL ? len : 4);
	return finish(r, request_id);
}

int
gb_envelope_ok_list_raw(struct gb_resp *r, const char *request_id, int status,
                        const char *message, const char *data_json, size_t len, json_t *meta)
{
	r->status = status;
	write_envelope(r, request_id, true, message, "data", NULL, meta,
	               data_json != NULL ? data_json : "[]", data_json != NULL ? len : 2);
	json_decref(meta);
	return finish(r, request_id);
}

int
gb_envelope_error(struct gb_resp *r, const char *request_id, int status,
                  const char *message, json_t *errors)
{
	r->status = status;
	write_envelope(r, request_id, false, message, "errors", errors, NULL, NULL, 0);
	json_decref(errors);
	return finish(r, request_id);
}

json_t *
gb_field_error(json_t *errors, const char *field, const char *msg)
{
	json_t *list;

	if (errors == NULL && (errors = json_object()) == NULL)
		return NULL;
	list = json_object_get(errors, field);
	if (list == NULL) {
		list = json_array();
		if (list == NULL || json_object_set_new(errors, field, list) != 0)
			goto err;
	}
	if (json_array_append_new(list, json_string(msg)) != 0)
		goto err;
	return errors;
err:
	json_decref(errors);
	return NULL;
}
