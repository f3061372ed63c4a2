#include "config.h"
#include "gb_validate.h"

#include <string.h>

#include "gb_envelope.h"

void
gb_v_error(json_t **errors, const char *field, const char *reason)
{
	*errors = gb_field_error(*errors, field, reason);
}

const char *
gb_v_string(json_t *obj, const char *key, bool required, size_t min, size_t max,
            json_t **errors)
{
	json_t *v = json_object_get(obj, key);
	size_t len;

	if (v == NULL || json_is_null(v)) {
		if (required)
			gb_v_error(errors, key, "is required");
		return NULL;
	}
	if (!json_is_string(v)) {
		gb_v_error(errors, key, "must be a string");
		return NULL;
	}
	len = json_string_length(v);
	if (memchr(json_string_value(v), '\0', len) != NULL) {
		gb_v_error(errors, key, "must not contain NUL");
		return NULL;
	}
	if (len < min) {
		gb_v_error(errors, key, min <= 1 ? "must not be empty" : "is too short");
		return NULL;
	}
	if (len > max) {
		gb_v_error(errors, key, "is too long");
		return NULL;
	}
	return json_string_value(v);
}

void
gb_v_only(json_t *obj, const char *const *allowed, json_t **errors)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(obj, key, v) {
		for (i = 0; allowed[i] != NULL && strcmp(allowed[i], key) != 0; i++)
			;
		if (allowed[i] == NULL)
			gb_v_error(errors, key, "unknown field");
	}
}

bool
gb_v_bool(json_t *obj, const char *key, bool required, bool dflt, json_t **errors)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		if (required)
			gb_v_error(errors, key, "is required");
		return dflt;
	}
	if (!json_is_boolean(v)) {
		gb_v_error(errors, key, "must be true or false");
		return dflt;
	}
	return json_is_true(v);
}

bool
gb_v_email(const char *s)
{
	size_t len = strlen(s), i, at = 0, nat = 0;

	if (len < 3 || len > 254)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f)
			return false;
		if (c == '@') {
			at = i;
			nat++;
		}
	}
	return nat == 1 && at > 0 && at < len - 1;
}

bool
gb_v_uuid(const char *s)
{
	size_t i;

	for (i = 0; i < 36; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		             (c >= 'A' && c <= 'F'))) {
			return false;
		}
	}
	return s[36] == '\0';
}
