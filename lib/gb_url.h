/* gb_url.h - parsers for the untrusted parts of a request URL.
 *
 * All three work on (pointer, length) input that need not be NUL-terminated
 * and allocate their results from the caller's arena.
 */
#ifndef GB_URL_H
#define GB_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "gb_arena.h"
#include "gb_err.h"

/* Longest path and query string accepted; longer is GB_ETOOBIG (414). */
#define GB_PATH_MAX 4096
#define GB_QUERY_MAX 8192
#define GB_QUERY_PARAMS_MAX 64

/* The value of one hexadecimal digit (either case), -1 for anything else. */
int gb_hex_value(unsigned char c);

/* b[0..n) as 2n lowercase hexadecimal digits and a NUL into out. */
void gb_hex_encode(const unsigned char *b, size_t n, char *out);

/* Percent-decodes src[0..n) into dst (room for n + 1 bytes), '+' as a space
 * when plus_space.  Returns the decoded length, or -1 for a malformed escape
 * or a decoded NUL byte; dst is NUL-terminated either way. */
ssize_t gb_url_decode(char *dst, const char *src, size_t n, bool plus_space);

struct gb_kv {
	const char *key;
	const char *value;
};

struct gb_query {
	struct gb_kv *items;   /* in the order given; keys may repeat */
	size_t n;
};

/* Splits a raw query string on '&' into decoded pairs ("k" alone gives the
 * value ""; empty pieces are skipped).  Returns GB_OK, GB_EINVAL (bad escape
 * or NUL byte), GB_ETOOBIG (longer than GB_QUERY_MAX or more than
 * GB_QUERY_PARAMS_MAX pairs) or GB_ENOMEM; out is empty on error. */
enum gb_err gb_query_parse(struct gb_arena *a, const char *qs, size_t len,
                           struct gb_query *out);

/* The first value of key, or NULL. */
const char *gb_query_get(const struct gb_query *q, const char *key);

/* Normalizes a raw (still encoded) absolute path: each segment is decoded,
 * empty and "." segments are dropped, ".." removes the one before it, and a
 * trailing slash is kept.  An encoded '/', a NUL or control byte (raw or
 * encoded), a raw space or '#', a bad escape, a relative path or ".." above the root is GB_EINVAL; longer than
 * GB_PATH_MAX is GB_ETOOBIG.  *out is set only on GB_OK. */
enum gb_err gb_path_normalize(struct gb_arena *a, const char *raw, size_t len,
                              char **out);

#endif
