/* gb_token.h - opaque refresh tokens.
 *
 * A refresh token is 32 random bytes in base64url without padding.  Only
 * its SHA-256 is stored, so a leaked table does not give usable tokens;
 * lookups are by that hash.
 */
#ifndef GB_TOKEN_H
#define GB_TOKEN_H

#include <stdbool.h>

#include "gb_err.h"

#define GB_TOKEN_LEN 43        /* 32 random bytes, base64url, no padding */
#define GB_TOKEN_HASH_LEN 64   /* lowercase hex SHA-256 */

/* Writes a new token of GB_TOKEN_LEN characters and a NUL into out, from
 * gb_random_bytes (which never fails: it aborts rather than give stale
 * bytes). */
void gb_token_new(char out[GB_TOKEN_LEN + 1]);

/* True when s is exactly GB_TOKEN_LEN characters of [A-Za-z0-9_-] making a
 * canonical encoding (the last one carries no stray bits); false for NULL. */
bool gb_token_valid(const char *s);

/* Writes the lowercase hex SHA-256 of token and a NUL into out.  Returns
 * GB_EINVAL when token is not gb_token_valid (nothing a client sends is
 * hashed unchecked); GB_ENOMEM when libcrypto fails.  out is unchanged on
 * error. */
enum gb_err gb_token_hash(const char *token, char out[GB_TOKEN_HASH_LEN + 1]);

#endif
