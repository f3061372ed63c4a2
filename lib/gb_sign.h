/* gb_sign.h - the signature gerbang-proxy puts on gateway_verified requests.
 *
 * The gateway sends a plugin the caller's identity in plain headers
 * (X-User-Id, X-Company-Id, X-Role) and proves they are its own with
 * X-Internal-Timestamp and X-Internal-Signature: the lowercase hex
 * HMAC-SHA256, keyed with the plugin's secret_file, of this canonical
 * string, nine lines joined with "\n" and no newline at the end:
 *
 *   GERBANG-HMAC-SHA256
 *   METHOD          as sent, e.g. GET (uppercase)
 *   PATH_AND_QUERY  the request target exactly as the plugin receives it:
 *                   the path, then "?" and the raw query when there is one
 *   TIMESTAMP       decimal Unix seconds, the X-Internal-Timestamp value
 *   REQUEST_ID      the X-Request-Id value
 *   BODY_SHA256     lowercase hex SHA-256 of the body bytes (of the empty
 *                   string when there is no body)
 *   USER_ID         the X-User-Id value, or "" when not sent
 *   COMPANY_ID      the X-Company-Id value, or ""
 *   ROLE            the X-Role value, or ""
 *
 * No field may hold a control byte, so no field can forge a line.
 * Plugins verify with gb_sign_verify() (or the recipe of docs/plugins.md):
 * a small window around their clock, a constant-time compare, and a
 * replay cache of X-Request-Id values seen within the window.
 */
#ifndef GB_SIGN_H
#define GB_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "gb_err.h"

#define GB_SIGN_SCHEME "GERBANG-HMAC-SHA256"
#define GB_SIGN_HEADER_TIMESTAMP "X-Internal-Timestamp"
#define GB_SIGN_HEADER_SIGNATURE "X-Internal-Signature"
/* Keys: at least the size of the hash, as plugin secret files must be. */
#define GB_SIGN_KEY_MIN 32
#define GB_SIGN_KEY_MAX 4096
/* The window a plugin should use, and the bounds gb_sign_verify takes. */
#define GB_SIGN_WINDOW_DEFAULT 60
#define GB_SIGN_WINDOW_MAX 3600

/* The fields of the canonical string, each NUL-terminated ("" when empty). */
struct gb_sign_input {
	const char *method;
	const char *target;        /* path and query */
	const char *timestamp;
	const char *request_id;
	const char *body_sha256;   /* gb_sha256_hex() of the body */
	const char *user_id;
	const char *company_id;
	const char *role;
};

/* Writes the lowercase hex HMAC-SHA256 of in's canonical string under
 * key[0..keylen) and a NUL into out.  Returns GB_OK; GB_EINVAL when key
 * is NULL, keylen is outside GB_SIGN_KEY_MIN..GB_SIGN_KEY_MAX, in or any
 * field is NULL, a field holds a control byte (LF, CR, TAB, DEL ...),
 * the timestamp is not decimal digits or body_sha256 is not 64 lowercase
 * hex digits; GB_ENOMEM.  out is "" on error. */
enum gb_err gb_sign(const void *key, size_t keylen, const struct gb_sign_input *in,
                    char out[65]);

/* Checks signature_hex, the X-Internal-Signature value, against in at time
 * now (Unix seconds).  Returns GB_OK only when the timestamp is decimal
 * digits without a sign or leading zero, within now - window_s ..
 * now + window_s, and the signature is 64 hex digits (either case) equal,
 * compared in constant time, to the HMAC of in.  GB_EUNAUTH for anything
 * a request can get wrong: a bad, malformed or missing (NULL) signature,
 * a timestamp out of the window or malformed, a field holding a control
 * byte; GB_EINVAL for the caller's mistakes: a NULL key, in or field, a
 * key length out of bounds, window_s outside 1..GB_SIGN_WINDOW_MAX;
 * GB_ENOMEM.  It does not detect replays: keep the request ids seen
 * within the window. */
enum gb_err gb_sign_verify(const void *key, size_t keylen, const struct gb_sign_input *in,
                           const char *signature_hex, int64_t now, long window_s);

/* The SHA-256 of no bytes, in hex. */
#define GB_SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Writes the lowercase hex SHA-256 of data[0..n) (data may be NULL when n
 * is 0) and a NUL into out.  Returns GB_OK, GB_EINVAL (NULL data, n > 0)
 * or GB_ENOMEM; out is "" on error. */
enum gb_err gb_sha256_hex(const void *data, size_t n, char out[65]);

/* The same over a body that arrives in pieces. */
struct gb_sha256;

/* A new hash; NULL on ENOMEM. */
struct gb_sha256 *gb_sha256_new(void);
/* Adds data[0..n) (data may be NULL when n is 0).  GB_OK; GB_EINVAL for
 * a NULL h, or NULL data with n > 0 (nothing added); GB_ENOMEM (h then
 * fails until the next gb_sha256_final_hex()). */
enum gb_err gb_sha256_update(struct gb_sha256 *h, const void *data, size_t n);
/* Writes the hex digest of everything added and a NUL into out, and starts
 * h over, empty, for the next body.  GB_OK, GB_EINVAL (NULL h) or
 * GB_ENOMEM; out is "" on error. */
enum gb_err gb_sha256_final_hex(struct gb_sha256 *h, char out[65]);
/* NULL is a no-op. */
void gb_sha256_free(struct gb_sha256 *h);

#endif
