/* libFuzzer target: JWT verification and base64url.
 *
 * An input is a raw token, verified with a fixed HS256 key and with an
 * ES256 key made at start: it may verify only when it is exactly what
 * gb_jwt_issue makes for the claims it carries (HS256 signatures are
 * deterministic; ES256 ones are random, so there the signed part is
 * compared).  An input starting with byte 0x01 is instead a payload that
 * the harness signs with the HS256 key, so that the claim checks behind the
 * signature are reached too: what verifies must hold valid claims and
 * survive a re-issue unchanged.  Every input is also decoded as base64url,
 * which must succeed only for the one canonical encoding.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "gb_jwt.h"

#define NOW INT64_C(1750000000)
#define SECRET "gerbang fuzz secret, 32 bytes..."

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gb_jwt_key *hs, *es;
static const struct gb_jwt_policy policy = { "https://auth.gerbang.test", "gerbang-api", 30 };

static void
write_pem(const char *path, EVP_PKEY *pk, int priv)
{
	BIO *b = BIO_new_file(path, "w");

	if (b == NULL || (priv ? PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL)
	                       : PEM_write_bio_PUBKEY(b, pk)) != 1)
		abort();
	BIO_free(b);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/gb-fuzz-jwt.XXXXXX", priv[64], pub[64], why[256];
	EVP_PKEY *pk = EVP_EC_gen("P-256");

	(void)argc;
	(void)argv;
	if (gb_jwt_key_hmac(SECRET, strlen(SECRET), &hs) != GB_OK)
		abort();
	if (pk == NULL || mkdtemp(dir) == NULL)
		abort();
	snprintf(priv, sizeof(priv), "%s/ec.key", dir);
	snprintf(pub, sizeof(pub), "%s/ec.pub", dir);
	write_pem(priv, pk, 1);
	write_pem(pub, pk, 0);
	if (gb_jwt_key_pem(GB_JWT_ES256, priv, pub, &es, why, sizeof(why)) != GB_OK) {
		fprintf(stderr, "fuzz_jwt: %s\n", why);
		abort();
	}
	unlink(priv);
	unlink(pub);
	rmdir(dir);
	EVP_PKEY_free(pk);
	return 0;
}

static int
is_uuid(const char *s)
{
	size_t i;

	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return 0;
		}
	}
	return s[36] == '\0';
}

static void
check_claims(const struct gb_jwt_claims *c)
{
	if (!is_uuid(c->sub) || !is_uuid(c->company_id))
		abort();
	if (strcmp(c->role, "owner") != 0 && strcmp(c->role, "admin") != 0 &&
	    strcmp(c->role, "member") != 0 && strcmp(c->role, "viewer") != 0)
		abort();
	if (strnlen(c->jti, sizeof(c->jti)) == sizeof(c->jti))
		abort();
	if (c->exp < NOW - policy.leeway_s || c->iat > NOW + policy.leeway_s ||
	    c->nbf > NOW + policy.leeway_s || c->iat < 0 || c->nbf < 0)
		abort();
}

static int
claims_eq(const struct gb_jwt_claims *a, const struct gb_jwt_claims *b)
{
	return strcmp(a->sub, b->sub) == 0 && strcmp(a->company_id, b->company_id) == 0 &&
	       strcmp(a->role, b->role) == 0 && strcmp(a->jti, b->jti) == 0 &&
	       a->iat == b->iat && a->nbf == b->nbf && a->exp == b->exp &&
	       a->platform_admin == b->platform_admin;
}

/* Verifies t[0..n) with k; a failure must leave out alone and give a
 * reason.  Returns 1 when it verified. */
static int
verify(const struct gb_jwt_key *k, const char *t, size_t n, struct gb_jwt_claims *out)
{
	struct gb_jwt_claims sentinel;
	const char *why = NULL;
	enum gb_err e;

	memset(out, 0x5a, sizeof(*out));
	memcpy(&sentinel, out, sizeof(sentinel));
	e = gb_jwt_verify(k, &policy, t, n, NOW, out, &why);
	if (e == GB_OK) {
		check_claims(out);
		return 1;
	}
	if (e != GB_EINVAL || why == NULL || strlen(why) > 40 ||
	    memcmp(out, &sentinel, sizeof(sentinel)) != 0)
		abort();
	return 0;
}

/* A raw token: it verifies only if gb_jwt_issue makes it. */
static void
raw(const char *t, size_t n)
{
	struct gb_jwt_claims c;
	char again[GB_JWT_MAX + 1];
	const char *dot;

	if (verify(hs, t, n, &c)) {
		if (gb_jwt_issue(hs, &policy, &c, again, sizeof(again)) != GB_OK ||
		    strlen(again) != n || memcmp(again, t, n) != 0)
			abort();
	}
	if (verify(es, t, n, &c)) {
		if (gb_jwt_issue(es, &policy, &c, again, sizeof(again)) != GB_OK)
			abort();
		dot = strrchr(again, '.');
		if (n <= (size_t)(dot - again) || memcmp(again, t, (size_t)(dot - again + 1)) != 0)
			abort();
	}
}

/* A payload signed here: what verifies has valid claims that re-issue and
 * verify to the same claims. */
static void
signed_payload(const uint8_t *pay, size_t n)
{
	static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char t[2 * GB_JWT_MAX], again[GB_JWT_MAX + 1];
	unsigned char mac[32];
	unsigned int maclen = 0;
	size_t len = 0, w;
	struct gb_jwt_claims c, c2;
	enum gb_err e;

	if (n > GB_JWT_MAX)
		return;
	if (gb_b64url_encode(hdr, strlen(hdr), t, sizeof(t), &w) != GB_OK)
		abort();
	len = w;
	t[len++] = '.';
	if (gb_b64url_encode(pay, n, t + len, sizeof(t) - len, &w) != GB_OK)
		abort();
	len += w;
	if (HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)t, len, mac,
	         &maclen) == NULL)
		abort();
	t[len++] = '.';
	if (gb_b64url_encode(mac, maclen, t + len, sizeof(t) - len, &w) != GB_OK)
		abort();
	len += w;
	if (!verify(hs, t, len, &c))
		return;
	e = gb_jwt_issue(hs, &policy, &c, again, sizeof(again));
	if (c.exp <= c.iat) {
		if (e != GB_EINVAL)
			abort();
		return;
	}
	if (e != GB_OK || !verify(hs, again, strlen(again), &c2) || !claims_eq(&c, &c2))
		abort();
}

/* Decoding succeeds only for the canonical encoding. */
static void
b64(const uint8_t *data, size_t size)
{
	static unsigned char dec[GB_JWT_MAX];
	static char enc[GB_JWT_MAX * 2];
	size_t n = 0, m = 0;

	if (gb_b64url_decode((const char *)data, size, dec, sizeof(dec), &n) != GB_OK)
		return;
	if (gb_b64url_encode(dec, n, enc, sizeof(enc), &m) != GB_OK || m != size ||
	    memcmp(enc, data, size) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *t;

	b64(data, size);
	if (size > 0 && data[0] == 1) {
		signed_payload(data + 1, size - 1);
		return 0;
	}
	/* a copy of exactly size bytes, so that reading past it is caught */
	t = malloc(size > 0 ? size : 1);
	if (t == NULL)
		abort();
	memcpy(t, data, size);
	raw(t, size);
	free(t);
	return 0;
}
