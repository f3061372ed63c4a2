/* gb_jwt.h - JWT access tokens (compact JWS), issued and verified here.
 *
 * Our own code on libcrypto and jansson, never libjwt's verify: libjwt
 * 1.10.2 checks no claims, matches "alg" case-insensitively, accepts "none"
 * and compares HMACs non-constant-time.  The algorithm is pinned in the key,
 * the signature is checked before any claim is read, and every claim we use
 * is checked for type and value.
 *
 * Keys are immutable once made: one key may be shared by every thread.
 */
#ifndef GB_JWT_H
#define GB_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gb_err.h"

/* Bounds of a token accepted by gb_jwt_verify (bytes, without a NUL). */
#define GB_JWT_MIN 64
#define GB_JWT_MAX 4096
/* HS256 secrets: at least the hash size (RFC 7518 3.2). */
#define GB_JWT_SECRET_MIN 32
#define GB_JWT_SECRET_MAX 4096
/* RS256 modulus sizes; larger ones only make verifying slow. */
#define GB_JWT_RSA_BITS_MIN 2048
#define GB_JWT_RSA_BITS_MAX 8192
/* Greatest time claim accepted (9999-12-31T23:59:59Z) and leeway allowed. */
#define GB_JWT_TIME_MAX INT64_C(253402300799)
#define GB_JWT_LEEWAY_MAX 600

enum gb_jwt_alg { GB_JWT_HS256, GB_JWT_RS256, GB_JWT_ES256 };

/* Sets *out from the exact, case-sensitive names "HS256", "RS256" and
 * "ES256"; GB_EINVAL for anything else (also NULL), *out unchanged then. */
enum gb_err gb_jwt_alg_parse(const char *name, enum gb_jwt_alg *out);

/* "HS256", "RS256" or "ES256"; "?" for a value outside the enum. */
const char *gb_jwt_alg_name(enum gb_jwt_alg alg);

struct gb_jwt_key;   /* opaque; the algorithm is pinned in it */

/* An HS256 key holding a copy of secret[0..len).  GB_EINVAL when secret or
 * out is NULL or len is outside GB_JWT_SECRET_MIN..GB_JWT_SECRET_MAX;
 * GB_ENOMEM.  *out is set only on GB_OK; the caller still owns (and should
 * wipe) secret. */
enum gb_err gb_jwt_key_hmac(const void *secret, size_t len, struct gb_jwt_key **out);

/* An RS256 or ES256 key from PEM files: public_pem_path holds a
 * SubjectPublicKeyInfo ("BEGIN PUBLIC KEY"); private_pem_path, NULL for a
 * key that only verifies, an unencrypted private key of the same pair.
 * RS256 needs RSA (not RSA-PSS) of GB_JWT_RSA_BITS_MIN..MAX bits, ES256 a
 * P-256 EC key.  Returns GB_EINVAL for a NULL argument or alg HS256;
 * GB_ECONFIG for a file that cannot be read, is not such a key, or a
 * private key that does not match the public one, with a one-line reason
 * (naming the file) in why[0..whylen) when why is not NULL; GB_ENOMEM.
 * *out is set only on GB_OK.  Private key bytes read are wiped. */
enum gb_err gb_jwt_key_pem(enum gb_jwt_alg alg, const char *private_pem_path,
                           const char *public_pem_path, struct gb_jwt_key **out,
                           char *why, size_t whylen);

/* The algorithm pinned in k. */
enum gb_jwt_alg gb_jwt_key_alg(const struct gb_jwt_key *k);

/* Wipes and frees k; NULL is a no-op. */
void gb_jwt_key_free(struct gb_jwt_key *k);

/* The claims we issue and trust.  sub and company_id are lowercase UUIDs
 * (8-4-4-4-12 hex digits), role one of owner, admin, member, viewer; jti,
 * "" when absent, 1 to 47 characters of [A-Za-z0-9._-]; nbf 0 when absent;
 * times are seconds since the epoch, 0..GB_JWT_TIME_MAX. */
struct gb_jwt_claims {
	char sub[64];
	char company_id[64];
	char role[16];
	char jti[48];
	int64_t iat, nbf, exp;
	bool platform_admin;    /* claim "pa" */
};

/* What a token must match: iss and aud exactly (both required), and the
 * clock skew tolerated on exp, nbf and iat, 0..GB_JWT_LEEWAY_MAX seconds. */
struct gb_jwt_policy {
	const char *iss;
	const char *aud;
	long leeway_s;
};

/* Writes the compact token for c, signed with k, and a NUL into
 * out[0..outlen).  Header {"alg":..,"typ":"JWT"}; payload iss, aud, sub,
 * company_id, role, iat, exp, then nbf when not 0, jti when not "", and
 * "pa":true only when platform_admin.  Returns GB_EINVAL when an argument
 * is NULL or a claim would fail gb_jwt_verify's checks (also exp <= iat);
 * GB_ECONFIG when k cannot sign (verify-only) or p is incomplete;
 * GB_ERANGE when the token needs more than outlen bytes or is longer than
 * GB_JWT_MAX; GB_ENOMEM when allocation or libcrypto fails.  out is
 * unchanged on error. */
enum gb_err gb_jwt_issue(const struct gb_jwt_key *k, const struct gb_jwt_policy *p,
                         const struct gb_jwt_claims *c, char *out, size_t outlen);

/* Verifies token[0..len) (no NUL needed) at time now against k and p.
 * Returns GB_OK and fills *out only when every check passes: length
 * GB_JWT_MIN..GB_JWT_MAX, three base64url segments without padding,
 * header and payload JSON objects without duplicate names, header "alg"
 * exactly k's algorithm, "typ" absent or "JWT", "kid" a string (ignored),
 * no "crit" or other header parameter, a valid signature (checked before
 * the payload is parsed), iss and aud (a string, or an array of strings
 * holding ours) equal to p's, the claims described at struct gb_jwt_claims
 * with integer times, now <= exp + leeway, nbf - leeway <= now and
 * iat <= now + leeway, "pa" a boolean when present; other claims are
 * ignored.  Otherwise returns GB_EINVAL with a short static reason (never
 * token text) in *why when why is not NULL; GB_ECONFIG when p is
 * incomplete or its leeway out of bounds; GB_ENOMEM.  *out is unchanged,
 * and *why too on GB_OK. */
enum gb_err gb_jwt_verify(const struct gb_jwt_key *k, const struct gb_jwt_policy *p,
                          const char *token, size_t len, int64_t now,
                          struct gb_jwt_claims *out, const char **why);

/* ---- base64url (RFC 4648 section 5), without padding ------------------ */

/* Characters that encoding n bytes gives. */
#define GB_B64URL_LEN(n) ((n) / 3 * 4 + ((n) % 3 != 0 ? (n) % 3 + 1 : 0))

/* Writes src[0..n) base64url-encoded and a NUL into dst[0..dstlen), and the
 * length without the NUL into *outlen when outlen is not NULL.  GB_ERANGE
 * when dstlen < GB_B64URL_LEN(n) + 1; dst unchanged then. */
enum gb_err gb_b64url_encode(const void *src, size_t n, char *dst, size_t dstlen,
                             size_t *outlen);

/* Decodes src[0..n) into dst[0..dstlen) and sets *outlen (when not NULL).
 * Only the canonical form is accepted: GB_EINVAL for a byte outside
 * [A-Za-z0-9_-] (padding '=' included), n % 4 == 1, or unused trailing
 * bits that are not zero; GB_ERANGE when the result does not fit.  dst is
 * unchanged on error. */
enum gb_err gb_b64url_decode(const char *src, size_t n, void *dst, size_t dstlen,
                             size_t *outlen);

#endif
