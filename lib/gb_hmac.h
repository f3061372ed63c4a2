/* gb_hmac.h - HMAC-SHA256 for the hot paths (access tokens, request
 * signatures).
 *
 * OpenSSL 3's one-shot HMAC() fetches the algorithm and derives the key's
 * pads on every call.  gb_hmac_sha256 keeps, per thread, a few MAC
 * contexts already keyed, so a call with a key seen before costs the hash
 * of the data and little else.  Keys are compared in full; the copies are
 * wiped by gb_hmac_thread_end().  Keys longer than GB_HMAC_KEY_MAX are
 * not kept: each call with one derives the pads again.
 */
#ifndef GB_HMAC_H
#define GB_HMAC_H

#include <stddef.h>

#define GB_HMAC_SHA256_LEN 32
#define GB_HMAC_KEY_MAX 1024

/* out = HMAC-SHA256(key, data).  Returns 0, or -1 (no memory, NULL key). */
int gb_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                   unsigned char out[GB_HMAC_SHA256_LEN]);

/* Frees and wipes the calling thread's contexts; call before a thread that
 * used gb_hmac_sha256 ends. */
void gb_hmac_thread_end(void);

#endif
