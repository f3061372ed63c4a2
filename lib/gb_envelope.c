#include "config.h"
#include "gb_envelope.h"

#include <string.h>

static int
dump_cb(const char *p, size_t n, void *data)
{
	return gb_buf_append(data, p, n);
}

static void
write_envelope(struct gb_resp *r, const char *request_id, bool ok, const char *message,
               const char *key, json_t *payload, json_t *meta)
{
	struct gb_buf *b = &r->body;

	gb_buf_reset(b);
	gb_buf_puts(b, ok ? "{\"ok\":true,\"message\":" : "{\"ok\":false,\"message\":");
	gb_buf_json_str(b, message, strlen(message));
	gb_buf_putc(b, ',');
	gb_buf_json_str(b, key, strlen(key));
	gb_buf_putc(b, ':');
	if (payload == NULL)
		gb_buf_puts(b, ok ? "null" : "{}");
	else if (json_dump_callback(payload, dump_cb, b, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(9)) != 0)
		b->failed = true;
	if (meta != NULL) {
		gb_buf_puts(b, ",\"meta\":");
		if (json_dump_callback(meta, dump_cb, b, JSON_COMPACT | JSON_REAL_PRECISION(9)) != 0)
			b->failed = true;
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
	write_envelope(r, request_id, false, "internal error", "errors", NULL, NULL);
	if (gb_buf_failed(&r->body))
		gb_buf_reset(&r->body);
	return -1;
}

int
gb_envelope_ok(struct gb_resp *r, const char *request_id, int status,
               const char *message, json_t *data, json_t *meta)
{
	r->status = status;
	write_envelope(r, request_id, true, message, "data", data, meta);
	json_decref(data);
	json_decref(meta);
	return finish(r, request_id);
}

int
gb_envelope_error(struct gb_resp *r, const char *request_id, int status,
                  const char *message, json_t *errors)
{
	r->status = status;
	write_envelope(r, request_id, false, message, "errors", errors, NULL);
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
