/* gb_validate.h - checking JSON request bodies field by field.
 *
 * Each check adds "field": ["reason"] to *errors (created on first use) and
 * goes on, so a 422 names every failing field at once.  A NULL *errors
 * after all checks means the body is valid.
 */
#ifndef GB_VALIDATE_H
#define GB_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* obj[key] as a string of min..max bytes (jansson has checked UTF-8).
 * Returns it, or NULL when absent (an error only if required) or invalid. */
const char *gb_v_string(json_t *obj, const char *key, bool required, size_t min,
                        size_t max, json_t **errors);

/* Every key of obj not in allowed (NULL-terminated) is "unknown field". */
void gb_v_only(json_t *obj, const char *const *allowed, json_t **errors);

/* obj[key] as a boolean; absent gives dflt (required: an error). */
bool gb_v_bool(json_t *obj, const char *key, bool required, bool dflt, json_t **errors);

/* An email address as the gateway accepts one: 3..254 bytes, one '@' with
 * text on both sides, no spaces or control bytes. */
bool gb_v_email(const char *s);

/* A UUID in canonical text form (36 characters, 8-4-4-4-12 hex). */
bool gb_v_uuid(const char *s);

/* Adds reason to errors[field]; on ENOMEM *errors becomes NULL and the
 * caller answers 500 (gb_v_failed()). */
void gb_v_error(json_t **errors, const char *field, const char *reason);

#endif
