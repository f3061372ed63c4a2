#include "config.h"
#include "gb_sign.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "gb_hmac.h"
#include "gb_url.h"

#define MAC_LEN GB_HMAC_SHA256_LEN
#define TS_DIGITS_MAX 18             /* below INT64_MAX, far past any clock */

struct gb_sha256 {
	EVP_MD_CTX *ctx;
	bool ok;                     /* false after a failed init or update */
};

/* What is wrong with an input, from the caller's or the request's side. */
enum check {
	C_OK,
	C_NULL,          /* a field is NULL: the caller's */
	C_BODY_HASH,     /* body_sha256 not 64 lowercase hex: the caller's */
	C_CONTROL,       /* a control byte in a field: the request's */
	C_TIMESTAMP,     /* not canonical decimal: the request's */
};

/* The fields in canonical order. */
static void
fields(const struct gb_sign_input *in, const char *f[8])
{
	f[0] = in->method;
	f[1] = in->target;
	f[2] = in->timestamp;
	f[3] = in->request_id;
	f[4] = in->body_sha256;
	f[5] = in->user_id;
	f[6] = in->company_id;
	f[7] = in->role;
}

/* Sets *ts from a timestamp of 1..TS_DIGITS_MAX digits without a leading
 * zero (one spelling per value). */
static bool
parse_ts(const char *s, int64_t *ts)
{
	size_t i, n = strlen(s);
	int64_t v = 0;

	if (n == 0 || n > TS_DIGITS_MAX || (s[0] == '0' && n > 1))
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ts = v;
	return true;
}

static enum check
check_input(const struct gb_sign_input *in)
{
	const char *f[8];
	const unsigned char *s;
	int64_t ts;
	size_t i;

	if (in == NULL)
		return C_NULL;
	fields(in, f);
	for (i = 0; i < 8; i++)
		if (f[i] == NULL)
			return C_NULL;
	if (strlen(in->body_sha256) != 64 || strspn(in->body_sha256, "0123456789abcdef") != 64)
		return C_BODY_HASH;
	for (i = 0; i < 8; i++)
		for (s = (const unsigned char *)f[i]; *s != '\0'; s++)
			if (*s < 0x20 || *s == 0x7f)
				return C_CONTROL;
	if (!parse_ts(in->timestamp, &ts))
		return C_TIMESTAMP;
	return C_OK;
}

/* The raw HMAC of in's canonical string; in has passed check_input. */
static enum gb_err
mac(const void *key, size_t keylen, const struct gb_sign_input *in,
    unsigned char md[MAC_LEN])
{
	const char *f[8];
	size_t len[8], total = sizeof(GB_SIGN_SCHEME) - 1, i, o;
	char *buf;
	int rc;

	fields(in, f);
	for (i = 0; i < 8; i++) {
		len[i] = strlen(f[i]);
		total += 1 + len[i];          /* the "\n" before it */
	}
	if ((buf = malloc(total)) == NULL)
		return GB_ENOMEM;
	memcpy(buf, GB_SIGN_SCHEME, sizeof(GB_SIGN_SCHEME) - 1);
	o = sizeof(GB_SIGN_SCHEME) - 1;
	for (i = 0; i < 8; i++) {
		buf[o++] = '\n';
		memcpy(buf + o, f[i], len[i]);
		o += len[i];
	}
	rc = gb_hmac_sha256(key, keylen, buf, total, md);
	free(buf);
	return rc == 0 ? GB_OK : GB_ENOMEM;
}

enum gb_err
gb_sign(const void *key, size_t keylen, const struct gb_sign_input *in, char out[65])
{
	unsigned char md[MAC_LEN];
	enum gb_err e;

	out[0] = '\0';
	if (key == NULL || keylen < GB_SIGN_KEY_MIN || keylen > GB_SIGN_KEY_MAX ||
	    check_input(in) != C_OK)
		return GB_EINVAL;
	if ((e = mac(key, keylen, in, md)) != GB_OK)
		return e;
	gb_hex_encode(md, MAC_LEN, out);
	OPENSSL_cleanse(md, sizeof(md));
	return GB_OK;
}

enum gb_err
gb_sign_verify(const void *key, size_t keylen, const struct gb_sign_input *in,
               const char *signature_hex, int64_t now, long window_s)
{
	unsigned char want[MAC_LEN], got[MAC_LEN];
	int64_t ts, lo, hi;
	size_t i;
	int hi4, lo4;
	enum gb_err e;

	if (key == NULL || keylen < GB_SIGN_KEY_MIN || keylen > GB_SIGN_KEY_MAX ||
	    window_s < 1 || window_s > GB_SIGN_WINDOW_MAX)
		return GB_EINVAL;
	switch (check_input(in)) {
	case C_OK:
		break;
	case C_NULL:
	case C_BODY_HASH:
		return GB_EINVAL;
	case C_CONTROL:
	case C_TIMESTAMP:
		return GB_EUNAUTH;
	}
	if (signature_hex == NULL || strlen(signature_hex) != 2 * MAC_LEN)
		return GB_EUNAUTH;
	for (i = 0; i < MAC_LEN; i++) {
		hi4 = gb_hex_value((unsigned char)signature_hex[2 * i]);
		lo4 = gb_hex_value((unsigned char)signature_hex[2 * i + 1]);
		if (hi4 < 0 || lo4 < 0)
			return GB_EUNAUTH;
		got[i] = (unsigned char)(hi4 << 4 | lo4);
	}
	(void)parse_ts(in->timestamp, &ts);      /* checked above */
	lo = now > INT64_MIN + window_s ? now - window_s : INT64_MIN;
	hi = now < INT64_MAX - window_s ? now + window_s : INT64_MAX;
	if (ts < lo || ts > hi)
		return GB_EUNAUTH;
	if ((e = mac(key, keylen, in, want)) != GB_OK)
		return e;
	e = CRYPTO_memcmp(want, got, MAC_LEN) == 0 ? GB_OK : GB_EUNAUTH;
	OPENSSL_cleanse(want, sizeof(want));
	return e;
}

enum gb_err
gb_sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	out[0] = '\0';
	if (data == NULL && n != 0)
		return GB_EINVAL;
	if (n == 0) {
		/* Most requests have no body: its hash is a constant. */
		memcpy(out, GB_SHA256_EMPTY, 65);
		return GB_OK;
	}
	if (EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return GB_ENOMEM;
	gb_hex_encode(md, 32, out);
	return GB_OK;
}

struct gb_sha256 *
gb_sha256_new(void)
{
	struct gb_sha256 *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	if ((h->ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		gb_sha256_free(h);
		return NULL;
	}
	h->ok = true;
	return h;
}

enum gb_err
gb_sha256_update(struct gb_sha256 *h, const void *data, size_t n)
{
	if (h == NULL || (data == NULL && n != 0))
		return GB_EINVAL;
	if (!h->ok)
		return GB_ENOMEM;
	if (n == 0)
		return GB_OK;
	if (EVP_DigestUpdate(h->ctx, data, n) != 1) {
		h->ok = false;
		return GB_ENOMEM;
	}
	return GB_OK;
}

enum gb_err
gb_sha256_final_hex(struct gb_sha256 *h, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	bool ok;

	out[0] = '\0';
	if (h == NULL)
		return GB_EINVAL;
	ok = h->ok && EVP_DigestFinal_ex(h->ctx, md, &mdlen) == 1 && mdlen == 32;
	h->ok = EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) == 1;
	if (!ok)
		return GB_ENOMEM;
	gb_hex_encode(md, 32, out);
	return GB_OK;
}

void
gb_sha256_free(struct gb_sha256 *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}
