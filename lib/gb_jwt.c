#include "config.h"
#include "gb_jwt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "gb_buf.h"
#include "gb_hmac.h"

struct gb_jwt_key {
	enum gb_jwt_alg alg;
	unsigned char *secret;   /* HS256 */
	size_t secret_len;
	EVP_PKEY *pub;           /* RS256, ES256: verifies */
	EVP_PKEY *priv;          /* RS256, ES256: signs; NULL when verify-only */
};

#define HS256_LEN 32          /* HMAC-SHA256 output */
#define ES256_HALF 32         /* R and S of a P-256 signature */
#define PEM_FILE_MAX 65536

static const char *const alg_names[] = {
	[GB_JWT_HS256] = "HS256",
	[GB_JWT_RS256] = "RS256",
	[GB_JWT_ES256] = "ES256",
};

#define NALGS (sizeof(alg_names) / sizeof(alg_names[0]))

enum gb_err
gb_jwt_alg_parse(const char *name, enum gb_jwt_alg *out)
{
	size_t i;

	if (name == NULL)
		return GB_EINVAL;
	for (i = 0; i < NALGS; i++) {
		if (strcmp(name, alg_names[i]) == 0) {
			*out = (enum gb_jwt_alg)i;
			return GB_OK;
		}
	}
	return GB_EINVAL;
}

const char *
gb_jwt_alg_name(enum gb_jwt_alg alg)
{
	if ((unsigned)alg >= NALGS)
		return "?";
	return alg_names[alg];
}

/* ---- base64url --------------------------------------------------------- */

static const char b64url_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The value of each byte as a base64url digit, -1 for the rest. */
static const signed char b64url_values[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static inline int
b64url_value(unsigned char c)
{
	return b64url_values[c];
}

enum gb_err
gb_b64url_encode(const void *src, size_t n, char *dst, size_t dstlen, size_t *outlen)
{
	const unsigned char *s = src;
	size_t need, i, o = 0;
	uint32_t v;

	if (n > (SIZE_MAX - 8) / 4 * 3)
		return GB_ERANGE;
	need = GB_B64URL_LEN(n);
	if (dstlen < need + 1)
		return GB_ERANGE;
	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		dst[o++] = b64url_chars[v >> 18 & 63];
		dst[o++] = b64url_chars[v >> 12 & 63];
		dst[o++] = b64url_chars[v >> 6 & 63];
		dst[o++] = b64url_chars[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)s[i] << 16;
		dst[o++] = b64url_chars[v >> 18 & 63];
		dst[o++] = b64url_chars[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		dst[o++] = b64url_chars[v >> 18 & 63];
		dst[o++] = b64url_chars[v >> 12 & 63];
		dst[o++] = b64url_chars[v >> 6 & 63];
	}
	dst[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return GB_OK;
}

enum gb_err
gb_b64url_decode(const char *src, size_t n, void *dst, size_t dstlen, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)src;
	unsigned char *d = dst;
	size_t need, i, o = 0, rest = n % 4;
	int a, b, c, e;

	if (rest == 1)
		return GB_EINVAL;
	need = n / 4 * 3 + (rest != 0 ? rest - 1 : 0);
	if (dstlen < need)
		return GB_ERANGE;
	/* Four characters make three bytes; a bad one makes a value < 0,
	 * which the OR of the four shows. */
	for (i = 0; i + 4 <= n; i += 4) {
		a = b64url_values[s[i]];
		b = b64url_values[s[i + 1]];
		c = b64url_values[s[i + 2]];
		e = b64url_values[s[i + 3]];
		if ((a | b | c | e) < 0)
			return GB_EINVAL;
		d[o++] = (unsigned char)(a << 2 | b >> 4);
		d[o++] = (unsigned char)((b & 15) << 4 | c >> 2);
		d[o++] = (unsigned char)((c & 3) << 6 | e);
	}
	/* The last character of a 2 or 3 character group carries 4 or 2 unused
	 * bits: only zeros there, so that each byte string has one encoding. */
	if (rest == 2) {
		a = b64url_values[s[i]];
		b = b64url_values[s[i + 1]];
		if ((a | b) < 0 || (b & 15) != 0)
			return GB_EINVAL;
		d[o++] = (unsigned char)(a << 2 | b >> 4);
	} else if (rest == 3) {
		a = b64url_values[s[i]];
		b = b64url_values[s[i + 1]];
		c = b64url_values[s[i + 2]];
		if ((a | b | c) < 0 || (c & 3) != 0)
			return GB_EINVAL;
		d[o++] = (unsigned char)(a << 2 | b >> 4);
		d[o++] = (unsigned char)((b & 15) << 4 | c >> 2);
	}
	if (outlen != NULL)
		*outlen = o;
	return GB_OK;
}

/* ---- keys -------------------------------------------------------------- */

enum gb_err
gb_jwt_key_hmac(const void *secret, size_t len, struct gb_jwt_key **out)
{
	struct gb_jwt_key *k;

	if (secret == NULL || out == NULL || len < GB_JWT_SECRET_MIN || len > GB_JWT_SECRET_MAX)
		return GB_EINVAL;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return GB_ENOMEM;
	k->secret = malloc(len);
	if (k->secret == NULL) {
		free(k);
		return GB_ENOMEM;
	}
	memcpy(k->secret, secret, len);
	k->secret_len = len;
	k->alg = GB_JWT_HS256;
	*out = k;
	return GB_OK;
}

enum gb_jwt_alg
gb_jwt_key_alg(const struct gb_jwt_key *k)
{
	return k->alg;
}

void
gb_jwt_key_free(struct gb_jwt_key *k)
{
	if (k == NULL)
		return;
	if (k->secret != NULL) {
		explicit_bzero(k->secret, k->secret_len);
		free(k->secret);
	}
	EVP_PKEY_free(k->pub);
	EVP_PKEY_free(k->priv);   /* OpenSSL clears private key material */
	explicit_bzero(k, sizeof(*k));
	free(k);
}

static void
set_why(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
set_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* Reads all of path (at most PEM_FILE_MAX - 1 bytes) into a new buffer. */
static enum gb_err
read_file(const char *path, unsigned char **out, size_t *outlen, char *why, size_t whylen)
{
	unsigned char *buf;
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_why(why, whylen, "cannot open %s: %s", path, strerror(errno));
		return GB_ECONFIG;
	}
	buf = malloc(PEM_FILE_MAX);
	if (buf == NULL) {
		close(fd);
		return GB_ENOMEM;
	}
	while (len < PEM_FILE_MAX && (n = read(fd, buf + len, PEM_FILE_MAX - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_why(why, whylen, "cannot read %s: %s", path, strerror(errno));
			goto err;
		}
		len += (size_t)n;
	}
	if (len == PEM_FILE_MAX) {
		set_why(why, whylen, "%s is larger than %d bytes", path, PEM_FILE_MAX - 1);
		goto err;
	}
	close(fd);
	*out = buf;
	*outlen = len;
	return GB_OK;
err:
	explicit_bzero(buf, PEM_FILE_MAX);
	free(buf);
	close(fd);
	return GB_ECONFIG;
}

/* Never ask for a passphrase (OpenSSL's default callback reads the tty). */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Reads a public (priv false) or private key from a PEM file. */
static enum gb_err
load_pem(const char *path, bool priv, EVP_PKEY **out, char *why, size_t whylen)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	enum gb_err e;

	e = read_file(path, &buf, &len, why, whylen);
	if (e != GB_OK)
		return e;
	e = GB_ENOMEM;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (bio == NULL)
		goto err;
	if (priv)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	else
		pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	if (pkey == NULL) {
		set_why(why, whylen, "%s holds no %s", path,
		        priv ? "unencrypted PEM private key" : "PEM public key (BEGIN PUBLIC KEY)");
		e = GB_ECONFIG;
		goto err;
	}
	*out = pkey;
	e = GB_OK;
err:
	BIO_free(bio);
	explicit_bzero(buf, len);
	free(buf);
	ERR_clear_error();
	return e;
}

/* Whether pkey is the kind of key alg needs. */
static enum gb_err
check_pkey(enum gb_jwt_alg alg, EVP_PKEY *pkey, const char *path, char *why, size_t whylen)
{
	char group[64];
	size_t glen = 0;
	int bits = EVP_PKEY_get_bits(pkey);
	EVP_PKEY_CTX *ctx;
	int ok;

	if (alg == GB_JWT_RS256) {
		if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
			set_why(why, whylen, "%s: not an RSA key (RS256)", path);
			return GB_ECONFIG;
		}
		if (bits < GB_JWT_RSA_BITS_MIN || bits > GB_JWT_RSA_BITS_MAX) {
			set_why(why, whylen, "%s: an RSA key of %d bits; RS256 needs %d to %d",
			        path, bits, GB_JWT_RSA_BITS_MIN, GB_JWT_RSA_BITS_MAX);
			return GB_ECONFIG;
		}
	} else {
		if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC ||
		    EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) != 1 ||
		    strcmp(group, SN_X9_62_prime256v1) != 0) {
			set_why(why, whylen, "%s: not a P-256 EC key (ES256)", path);
			ERR_clear_error();
			return GB_ECONFIG;
		}
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (ctx == NULL)
		return GB_ENOMEM;
	ok = EVP_PKEY_public_check(ctx);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	if (ok != 1) {
		set_why(why, whylen, "%s: the public key is not valid", path);
		return GB_ECONFIG;
	}
	return GB_OK;
}

enum gb_err
gb_jwt_key_pem(enum gb_jwt_alg alg, const char *private_pem_path, const char *public_pem_path,
               struct gb_jwt_key **out, char *why, size_t whylen)
{
	struct gb_jwt_key *k = NULL;
	enum gb_err e = GB_EINVAL;

	set_why(why, whylen, "%s", "");
	if ((alg != GB_JWT_RS256 && alg != GB_JWT_ES256) || public_pem_path == NULL ||
	    out == NULL) {
		set_why(why, whylen, "RS256 or ES256 and a public key file are needed");
		goto err;
	}
	e = GB_ENOMEM;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		goto err;
	k->alg = alg;
	e = load_pem(public_pem_path, false, &k->pub, why, whylen);
	if (e != GB_OK)
		goto err;
	e = check_pkey(alg, k->pub, public_pem_path, why, whylen);
	if (e != GB_OK)
		goto err;
	if (private_pem_path != NULL) {
		e = load_pem(private_pem_path, true, &k->priv, why, whylen);
		if (e != GB_OK)
			goto err;
		e = check_pkey(alg, k->priv, private_pem_path, why, whylen);
		if (e != GB_OK)
			goto err;
		if (EVP_PKEY_eq(k->priv, k->pub) != 1) {
			ERR_clear_error();
			set_why(why, whylen, "%s does not match the public key in %s",
			        private_pem_path, public_pem_path);
			e = GB_ECONFIG;
			goto err;
		}
	}
	*out = k;
	return GB_OK;
err:
	if (e == GB_ENOMEM)
		set_why(why, whylen, "out of memory");
	gb_jwt_key_free(k);
	return e;
}

/* ---- signatures -------------------------------------------------------- */

/* 1 when sig is a valid signature of data[0..n) by pkey, 0 when not, -1 when
 * libcrypto could not check (allocation). */
static int
pkey_verify(EVP_PKEY *pkey, const unsigned char *sig, size_t siglen,
            const unsigned char *data, size_t n)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int r = -1;

	if (ctx == NULL)
		goto err;
	if (EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, pkey) != 1)
		goto err;
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
		goto err;
	r = EVP_DigestVerify(ctx, sig, siglen, data, n) == 1 ? 1 : 0;
err:
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

/* Signs data[0..n) with pkey into sig[0..*siglen) (in: room, out: length). */
static enum gb_err
pkey_sign(EVP_PKEY *pkey, const unsigned char *data, size_t n, unsigned char *sig,
          size_t *siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	enum gb_err e = GB_ENOMEM;
	size_t need = 0;

	if (ctx == NULL)
		goto err;
	if (EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, pkey) != 1)
		goto err;
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
		goto err;
	if (EVP_DigestSign(ctx, NULL, &need, data, n) != 1 || need > *siglen)
		goto err;
	if (EVP_DigestSign(ctx, sig, siglen, data, n) != 1)
		goto err;
	e = GB_OK;
err:
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return e;
}

/* The 64-byte R||S of JWS (RFC 7518 3.4) to the DER that OpenSSL checks. */
static unsigned char *
es256_to_der(const unsigned char *rs, int *derlen)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(rs, ES256_HALF, NULL);
	BIGNUM *ss = BN_bin2bn(rs + ES256_HALF, ES256_HALF, NULL);
	unsigned char *der = NULL;
	int n;

	if (s == NULL || r == NULL || ss == NULL || ECDSA_SIG_set0(s, r, ss) != 1) {
		BN_free(r);
		BN_free(ss);
		goto err;
	}
	n = i2d_ECDSA_SIG(s, &der);
	if (n <= 0) {
		der = NULL;
		goto err;
	}
	*derlen = n;
err:
	ECDSA_SIG_free(s);
	return der;
}

/* The DER signature OpenSSL makes to the 64-byte R||S of JWS. */
static enum gb_err
der_to_es256(const unsigned char *der, size_t derlen, unsigned char rs[2 * ES256_HALF])
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	enum gb_err e = GB_ENOMEM;

	if (s == NULL)
		goto err;
	if (BN_bn2binpad(ECDSA_SIG_get0_r(s), rs, ES256_HALF) != ES256_HALF ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(s), rs + ES256_HALF, ES256_HALF) != ES256_HALF)
		goto err;
	e = GB_OK;
err:
	ECDSA_SIG_free(s);
	ERR_clear_error();
	return e;
}

/* Signs data[0..n) with k into sig (room for the largest RSA signature). */
static enum gb_err
sign(const struct gb_jwt_key *k, const char *data, size_t n, unsigned char *sig,
     size_t *siglen)
{
	unsigned char der[128];
	size_t derlen = sizeof(der);
	enum gb_err e;

	switch (k->alg) {
	case GB_JWT_HS256:
		if (gb_hmac_sha256(k->secret, k->secret_len, data, n, sig) != 0)
			return GB_ENOMEM;
		*siglen = HS256_LEN;
		return GB_OK;
	case GB_JWT_RS256:
		return pkey_sign(k->priv, (const unsigned char *)data, n, sig, siglen);
	case GB_JWT_ES256:
		e = pkey_sign(k->priv, (const unsigned char *)data, n, der, &derlen);
		if (e == GB_OK)
			e = der_to_es256(der, derlen, sig);
		if (e == GB_OK)
			*siglen = 2 * ES256_HALF;
		return e;
	}
	return GB_EINVAL;
}

/* GB_OK when sig[0..siglen) signs data[0..n) under k; GB_EINVAL with
 * *reason when not; GB_ENOMEM. */
static enum gb_err
check_sig(const struct gb_jwt_key *k, const char *data, size_t n,
          const unsigned char *sig, size_t siglen, const char **reason)
{
	unsigned char mac[EVP_MAX_MD_SIZE], *der = NULL;
	int derlen = 0, r = 0;

	*reason = "bad signature";
	switch (k->alg) {
	case GB_JWT_HS256:
		if (siglen != HS256_LEN)
			return GB_EINVAL;
		if (gb_hmac_sha256(k->secret, k->secret_len, data, n, mac) != 0)
			return GB_ENOMEM;
		r = CRYPTO_memcmp(mac, sig, HS256_LEN) == 0;
		explicit_bzero(mac, sizeof(mac));
		break;
	case GB_JWT_RS256:
		if (EVP_PKEY_get_size(k->pub) <= 0 || siglen != (size_t)EVP_PKEY_get_size(k->pub))
			return GB_EINVAL;
		r = pkey_verify(k->pub, sig, siglen, (const unsigned char *)data, n);
		break;
	case GB_JWT_ES256:
		if (siglen != 2 * ES256_HALF)
			return GB_EINVAL;
		der = es256_to_der(sig, &derlen);
		if (der == NULL)
			return GB_ENOMEM;
		r = pkey_verify(k->pub, der, (size_t)derlen, (const unsigned char *)data, n);
		OPENSSL_free(der);
		break;
	}
	if (r < 0)
		return GB_ENOMEM;
	return r == 1 ? GB_OK : GB_EINVAL;
}

/* ---- a strict reader for the two small JSON objects of a token --------
 *
 * jansson builds a tree with a hash table to answer a few lookups; on the
 * path every authenticated request takes, that was half of the cost of a
 * verification.  This reads RFC 8259 JSON without allocating: the top
 * object's members as spans of the token's decoded text.  Stricter than
 * needed where it is cheap to be: member names with escapes, duplicate
 * names, more than JMEMBERS_MAX members, nesting deeper than JDEPTH_MAX and
 * invalid UTF-8 are all refused.  A string value holding an escape is kept
 * but marked, and never equals or becomes a claim: no token we issue has
 * one. */

enum jtype { J_STRING, J_INTEGER, J_NUMBER, J_TRUE, J_FALSE, J_NULL, J_ARRAY, J_OBJECT };

struct jval {
	enum jtype type;
	const char *p;          /* J_STRING: between the quotes; J_ARRAY, J_OBJECT:
	                         * from the bracket to its match, inclusive */
	size_t n;
	bool escaped;           /* J_STRING holds a backslash escape */
	int64_t i;              /* J_INTEGER */
};

struct jmember {
	const char *name;
	size_t len;
	struct jval v;
};

#define JMEMBERS_MAX 32
#define JDEPTH_MAX 16

struct jreader {
	const char *p, *end;
};

static void
j_ws(struct jreader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static bool
j_hex4(const char *p)
{
	int i;

	for (i = 0; i < 4; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') ||
		      (p[i] >= 'A' && p[i] <= 'F')))
			return false;
	return true;
}

/* At '"': a string, its escapes and UTF-8 checked. */
static bool
j_string(struct jreader *r, struct jval *v)
{
	const unsigned char *s;
	size_t len;

	r->p++;
	v->type = J_STRING;
	v->p = r->p;
	v->escaped = false;
	while (r->p < r->end) {
		s = (const unsigned char *)r->p;
		if (*s == '"') {
			v->n = (size_t)(r->p - v->p);
			r->p++;
			return true;
		}
		if (*s < 0x20)
			return false;
		if (*s == '\\') {
			v->escaped = true;
			if (r->end - r->p < 2)
				return false;
			switch (r->p[1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				r->p += 2;
				break;
			case 'u':
				/* \u0000 refused, as jansson does: no NUL in a claim */
				if (r->end - r->p < 6 || !j_hex4(r->p + 2) ||
				    memcmp(r->p + 2, "0000", 4) == 0)
					return false;
				r->p += 6;
				break;
			default:
				return false;
			}
			continue;
		}
		if (*s < 0x80) {
			r->p++;
			continue;
		}
		len = gb_utf8_len(s, (size_t)(r->end - r->p));
		if (len == 0)
			return false;
		r->p += len;
	}
	return false;
}

static bool
j_digit(const struct jreader *r)
{
	return r->p < r->end && *r->p >= '0' && *r->p <= '9';
}

/* A number; J_INTEGER when it has no fraction or exponent and fits. */
static bool
j_number(struct jreader *r, struct jval *v)
{
	bool neg = false, fits = true;
	uint64_t u = 0;

	v->p = r->p;
	v->type = J_INTEGER;
	if (*r->p == '-') {
		neg = true;
		r->p++;
	}
	if (!j_digit(r))
		return false;
	if (*r->p == '0') {
		r->p++;
	} else {
		while (j_digit(r)) {
			unsigned d = (unsigned)(*r->p++ - '0');

			if (u > (UINT64_MAX - d) / 10)
				fits = false;
			else
				u = u * 10 + d;
		}
	}
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		if (!j_digit(r))
			return false;
		while (j_digit(r))
			r->p++;
		v->type = J_NUMBER;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (!j_digit(r))
			return false;
		while (j_digit(r))
			r->p++;
		v->type = J_NUMBER;
	}
	v->n = (size_t)(r->p - v->p);
	if (v->type == J_INTEGER) {
		if (!fits || u > (uint64_t)INT64_MAX + (neg ? 1 : 0))
			v->type = J_NUMBER;
		else
			v->i = neg ? (int64_t)(0 - u) : (int64_t)u;
	}
	return true;
}

static bool
j_literal(struct jreader *r, const char *word, enum jtype t, struct jval *v)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return false;
	v->type = t;
	v->p = r->p;
	v->n = n;
	r->p += n;
	return true;
}

static bool j_value(struct jreader *r, struct jval *v, int depth);

/* At '{' or '[': the members or elements, up to the matching bracket. */
static bool
j_container(struct jreader *r, struct jval *v, int depth)
{
	char close = *r->p == '{' ? '}' : ']';
	struct jval item;

	if (depth >= JDEPTH_MAX)
		return false;
	v->type = close == '}' ? J_OBJECT : J_ARRAY;
	v->p = r->p++;
	j_ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		v->n = (size_t)(r->p - v->p);
		return true;
	}
	for (;;) {
		if (close == '}') {
			if (r->p >= r->end || *r->p != '"' || !j_string(r, &item))
				return false;
			j_ws(r);
			if (r->p >= r->end || *r->p != ':')
				return false;
			r->p++;
			j_ws(r);
		}
		if (!j_value(r, &item, depth + 1))
			return false;
		j_ws(r);
		if (r->p >= r->end)
			return false;
		if (*r->p == close) {
			r->p++;
			v->n = (size_t)(r->p - v->p);
			return true;
		}
		if (*r->p != ',')
			return false;
		r->p++;
		j_ws(r);
	}
}

static bool
j_value(struct jreader *r, struct jval *v, int depth)
{
	if (r->p >= r->end)
		return false;
	switch (*r->p) {
	case '"': return j_string(r, v);
	case '{': case '[': return j_container(r, v, depth);
	case 't': return j_literal(r, "true", J_TRUE, v);
	case 'f': return j_literal(r, "false", J_FALSE, v);
	case 'n': return j_literal(r, "null", J_NULL, v);
	default:
		if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
			return j_number(r, v);
		return false;
	}
}

/* buf[0..n) as one JSON object: its members into m (at most JMEMBERS_MAX),
 * their count into *nm.  False for anything else (see above). */
static bool
j_object(const unsigned char *buf, size_t n, struct jmember *m, size_t *nm)
{
	struct jreader r = { (const char *)buf, (const char *)buf + n };
	struct jval key;
	size_t k = 0, i;

	j_ws(&r);
	if (r.p >= r.end || *r.p != '{')
		return false;
	r.p++;
	j_ws(&r);
	if (r.p < r.end && *r.p == '}') {
		r.p++;
		goto done;
	}
	for (;;) {
		if (r.p >= r.end || *r.p != '"' || !j_string(&r, &key) || key.escaped)
			return false;
		if (k == JMEMBERS_MAX)
			return false;
		for (i = 0; i < k; i++)
			if (m[i].len == key.n && memcmp(m[i].name, key.p, key.n) == 0)
				return false;
		m[k].name = key.p;
		m[k].len = key.n;
		j_ws(&r);
		if (r.p >= r.end || *r.p != ':')
			return false;
		r.p++;
		j_ws(&r);
		if (!j_value(&r, &m[k].v, 1))
			return false;
		k++;
		j_ws(&r);
		if (r.p >= r.end)
			return false;
		if (*r.p == '}') {
			r.p++;
			break;
		}
		if (*r.p != ',')
			return false;
		r.p++;
		j_ws(&r);
	}
done:
	j_ws(&r);
	if (r.p != r.end)
		return false;
	*nm = k;
	return true;
}

/* The member called name, or NULL. */
static const struct jval *
j_get(const struct jmember *m, size_t nm, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < nm; i++)
		if (m[i].len == n && memcmp(m[i].name, name, n) == 0)
			return &m[i].v;
	return NULL;
}

/* v is a string without escapes equal to s. */
static bool
j_str_eq(const struct jval *v, const char *s)
{
	return v->type == J_STRING && !v->escaped && v->n == strlen(s) &&
	       memcmp(v->p, s, v->n) == 0;
}

/* ---- claims ------------------------------------------------------------ */

enum claim_type { C_UUID, C_ROLE, C_ID, C_TIME, C_BOOL };

struct claim {
	const char *name;
	enum claim_type type;
	bool required;
	size_t off;
	size_t size;            /* of the char array for strings */
	const char *missing;    /* reasons */
	const char *bad;
};

#define CL(f) offsetof(struct gb_jwt_claims, f), sizeof(((struct gb_jwt_claims *)0)->f)

/* In the order they are issued, after iss and aud. */
static const struct claim claims[] = {
	{ "sub", C_UUID, true, CL(sub), "missing sub", "sub is not a UUID" },
	{ "company_id", C_UUID, true, CL(company_id), "missing company_id",
	  "company_id is not a UUID" },
	{ "role", C_ROLE, true, CL(role), "missing role", "role is not a known role" },
	{ "iat", C_TIME, true, CL(iat), "missing iat", "iat is not an integer time" },
	{ "exp", C_TIME, true, CL(exp), "missing exp", "exp is not an integer time" },
	{ "nbf", C_TIME, false, CL(nbf), NULL, "nbf is not an integer time" },
	{ "jti", C_ID, false, CL(jti), NULL, "jti is malformed" },
	{ "pa", C_BOOL, false, CL(platform_admin), NULL, "pa is not a boolean" },
};

#define NCLAIMS (sizeof(claims) / sizeof(claims[0]))

static const char *const roles[] = { "owner", "admin", "member", "viewer" };

/* A lowercase UUID in its 36-character text form. */
static bool
valid_uuid(const char *s, size_t n)
{
	size_t i;

	if (n != 36)
		return false;
	for (i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return true;
}

static bool
valid_role(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strlen(roles[i]) == n && memcmp(s, roles[i], n) == 0)
			return true;
	return false;
}

/* 1 to size - 1 characters of [A-Za-z0-9._-]: safe to log. */
static bool
valid_id(const char *s, size_t n, size_t size)
{
	size_t i;

	if (n == 0 || n >= size)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static bool
valid_str(const struct claim *cl, const char *s, size_t n)
{
	if (n >= cl->size)
		return false;
	switch (cl->type) {
	case C_UUID:
		return valid_uuid(s, n);
	case C_ROLE:
		return valid_role(s, n);
	case C_ID:
		return valid_id(s, n, cl->size);
	case C_TIME:
	case C_BOOL:
		break;
	}
	return false;
}

static bool
valid_time(int64_t t)
{
	return t >= 0 && t <= GB_JWT_TIME_MAX;
}

/* Stores the claim cl from v (a member of the payload, or NULL when absent)
 * into c; the reason on failure. */
static const char *
take_claim(const struct claim *cl, const struct jval *v, struct gb_jwt_claims *c)
{
	void *field = (char *)c + cl->off;

	if (v == NULL)
		return cl->required ? cl->missing : NULL;
	switch (cl->type) {
	case C_UUID:
	case C_ROLE:
	case C_ID:
		if (v->type != J_STRING || v->escaped || !valid_str(cl, v->p, v->n))
			return cl->bad;
		memcpy(field, v->p, v->n);
		((char *)field)[v->n] = '\0';
		return NULL;
	case C_TIME:
		if (v->type != J_INTEGER || !valid_time(v->i))
			return cl->bad;
		*(int64_t *)field = v->i;
		return NULL;
	case C_BOOL:
		if (v->type != J_TRUE && v->type != J_FALSE)
			return cl->bad;
		*(bool *)field = v->type == J_TRUE;
		return NULL;
	}
	return cl->bad;
}

/* aud is our audience, or an array of strings holding it. */
static bool
aud_ok(const struct jval *aud, const char *ours)
{
	struct jreader r;
	struct jval v;
	bool found = false;

	if (aud->type == J_STRING)
		return j_str_eq(aud, ours);
	if (aud->type != J_ARRAY)
		return false;
	/* Read again: the array was checked whole when the object was. */
	r.p = aud->p + 1;
	r.end = aud->p + aud->n - 1;
	for (;;) {
		j_ws(&r);
		if (r.p >= r.end)
			return found;
		if (!j_value(&r, &v, JDEPTH_MAX - 1) || v.type != J_STRING)
			return false;
		found |= j_str_eq(&v, ours);
		j_ws(&r);
		if (r.p < r.end && *r.p == ',')
			r.p++;
	}
}

static const char *
check_claims(const struct gb_jwt_policy *p, const struct jmember *m, size_t nm, int64_t now,
             struct gb_jwt_claims *c)
{
	const struct jval *v;
	const char *reason;
	size_t i;

	v = j_get(m, nm, "iss");
	if (v == NULL)
		return "missing iss";
	if (!j_str_eq(v, p->iss))
		return "wrong iss";
	v = j_get(m, nm, "aud");
	if (v == NULL)
		return "missing aud";
	if (!aud_ok(v, p->aud))
		return "wrong aud";
	for (i = 0; i < NCLAIMS; i++) {
		reason = take_claim(&claims[i], j_get(m, nm, claims[i].name), c);
		if (reason != NULL)
			return reason;
	}
	/* now, exp, nbf, iat <= GB_JWT_TIME_MAX and leeway small: no overflow.
	 * RFC 7519 4.1.4: valid only before exp (a token is refused from its
	 * exp second on), from nbf on. */
	if (now >= c->exp + p->leeway_s)
		return "expired";
	if (now + p->leeway_s < c->nbf)
		return "not yet valid";
	if (c->iat > now + p->leeway_s)
		return "issued in the future";
	return NULL;
}

/* The header: alg exactly ours, typ JWT if present, kid a string if
 * present, nothing else (crit above all: we understand no extension). */
static const char *
check_header(const struct gb_jwt_key *k, const struct jmember *m, size_t nm)
{
	const struct jval *v;
	size_t i;

	v = j_get(m, nm, "alg");
	if (v == NULL)
		return "missing alg";
	if (!j_str_eq(v, gb_jwt_alg_name(k->alg)))
		return "alg does not match the key";
	if (j_get(m, nm, "crit") != NULL)
		return "crit header not supported";
	for (i = 0; i < nm; i++) {
		v = &m[i].v;
		if (m[i].len == 3 && memcmp(m[i].name, "alg", 3) == 0)
			continue;
		if (m[i].len == 3 && memcmp(m[i].name, "typ", 3) == 0) {
			if (!j_str_eq(v, "JWT"))
				return "typ is not JWT";
		} else if (m[i].len == 3 && memcmp(m[i].name, "kid", 3) == 0) {
			if (v->type != J_STRING)
				return "kid is not a string";
		} else {
			return "unexpected header parameter";
		}
	}
	return NULL;
}

static bool
policy_ok(const struct gb_jwt_policy *p)
{
	return p->iss != NULL && p->iss[0] != '\0' && p->aud != NULL && p->aud[0] != '\0' &&
	       p->leeway_s >= 0 && p->leeway_s <= GB_JWT_LEEWAY_MAX;
}

enum gb_err
gb_jwt_verify(const struct gb_jwt_key *k, const struct gb_jwt_policy *p, const char *token,
              size_t len, int64_t now, struct gb_jwt_claims *out, const char **why)
{
	/* three decoded segments fit in 3/4 of the token */
	unsigned char buf[GB_JWT_MAX / 4 * 3];
	unsigned char *hb, *pb, *sb;
	size_t dot[2], nd = 0, hn, pn, sn, i;
	struct jmember m[JMEMBERS_MAX];
	size_t nm;
	struct gb_jwt_claims c;
	const char *reason = "bad call";
	enum gb_err e = GB_EINVAL;
	int v;

	if (k == NULL || p == NULL || out == NULL)
		goto err;
	if (!policy_ok(p)) {
		reason = "bad policy";
		e = GB_ECONFIG;
		goto err;
	}
	if (now < 0 || now > GB_JWT_TIME_MAX) {
		reason = "clock out of range";
		goto err;
	}
	reason = "bad token length";
	if (token == NULL || len < GB_JWT_MIN || len > GB_JWT_MAX)
		goto err;
	for (i = 0; i < len; i++) {
		v = b64url_value((unsigned char)token[i]);
		if (token[i] == '.') {
			reason = "not three segments";
			if (nd == 2)
				goto err;
			dot[nd++] = i;
		} else if (v < 0) {
			reason = "not base64url";
			goto err;
		}
	}
	reason = "not three segments";
	if (nd != 2)
		goto err;
	reason = "empty segment";
	if (dot[0] == 0 || dot[1] == dot[0] + 1)
		goto err;

	reason = "bad base64url";
	hb = buf;
	if (gb_b64url_decode(token, dot[0], hb, sizeof(buf), &hn) != GB_OK)
		goto err;
	pb = hb + hn;
	if (gb_b64url_decode(token + dot[0] + 1, dot[1] - dot[0] - 1, pb,
	                     sizeof(buf) - hn, &pn) != GB_OK)
		goto err;
	sb = pb + pn;
	if (gb_b64url_decode(token + dot[1] + 1, len - dot[1] - 1, sb,
	                     sizeof(buf) - hn - pn, &sn) != GB_OK)
		goto err;

	reason = "bad header JSON";
	if (!j_object(hb, hn, m, &nm))
		goto err;
	reason = check_header(k, m, nm);
	if (reason != NULL)
		goto err;

	/* Nothing in the payload is read before the signature holds. */
	reason = "empty signature";
	if (sn == 0)
		goto err;
	e = check_sig(k, token, dot[1], sb, sn, &reason);
	if (e != GB_OK)
		goto err;

	reason = "bad payload JSON";
	e = GB_EINVAL;
	if (!j_object(pb, pn, m, &nm))
		goto err;
	memset(&c, 0, sizeof(c));
	reason = check_claims(p, m, nm, now, &c);
	if (reason != NULL)
		goto err;
	*out = c;
	e = GB_OK;
err:
	if (e != GB_OK && why != NULL)
		*why = e == GB_ENOMEM ? "out of memory" : reason;
	return e;
}

/* ---- issuing ----------------------------------------------------------- */

/* Appends the base64url form of src[0..n) to out[*len..size). */
static enum gb_err
append_b64(char *out, size_t size, size_t *len, const void *src, size_t n)
{
	size_t w = 0;
	enum gb_err e;

	e = gb_b64url_encode(src, n, out + *len, size - *len, &w);
	if (e == GB_OK)
		*len += w;
	return e;
}

/* The payload for c, claims in table order; NULL when a value is invalid
 * (*e GB_EINVAL) or allocation failed (*e GB_ENOMEM). */
static json_t *
make_payload(const struct gb_jwt_policy *p, const struct gb_jwt_claims *c, enum gb_err *e)
{
	json_t *pay = json_object();
	const struct claim *cl;
	const void *field;
	const char *s;
	size_t i, n;
	int64_t t;
	int rc = 0;

	*e = GB_ENOMEM;
	if (pay == NULL)
		return NULL;
	rc |= json_object_set_new(pay, "iss", json_string(p->iss));
	rc |= json_object_set_new(pay, "aud", json_string(p->aud));
	for (i = 0; i < NCLAIMS && rc == 0; i++) {
		cl = &claims[i];
		field = (const char *)c + cl->off;
		switch (cl->type) {
		case C_UUID:
		case C_ROLE:
		case C_ID:
			s = field;
			n = strnlen(s, cl->size);
			if (n == 0 && !cl->required)
				break;
			if (!valid_str(cl, s, n)) {
				*e = GB_EINVAL;
				goto err;
			}
			rc |= json_object_set_new(pay, cl->name, json_stringn(s, n));
			break;
		case C_TIME:
			t = *(const int64_t *)field;
			if (t == 0 && !cl->required)
				break;
			if (!valid_time(t)) {
				*e = GB_EINVAL;
				goto err;
			}
			rc |= json_object_set_new(pay, cl->name, json_integer((json_int_t)t));
			break;
		case C_BOOL:
			if (*(const bool *)field)
				rc |= json_object_set_new(pay, cl->name, json_true());
			break;
		}
	}
	if (rc != 0)
		goto err;
	return pay;
err:
	json_decref(pay);
	return NULL;
}

enum gb_err
gb_jwt_issue(const struct gb_jwt_key *k, const struct gb_jwt_policy *p,
             const struct gb_jwt_claims *c, char *out, size_t outlen)
{
	char tok[GB_JWT_MAX + 1], json[GB_JWT_MAX];
	unsigned char sig[GB_JWT_RSA_BITS_MAX / 8];
	size_t len = 0, jn, siglen = sizeof(sig);
	json_t *hdr = NULL, *pay = NULL;
	enum gb_err e = GB_EINVAL;

	if (k == NULL || p == NULL || c == NULL || out == NULL)
		goto err;
	e = GB_ECONFIG;
	if (!policy_ok(p) || (k->alg != GB_JWT_HS256 && k->priv == NULL))
		goto err;
	e = GB_EINVAL;
	if (c->exp <= c->iat)
		goto err;
	pay = make_payload(p, c, &e);
	if (pay == NULL)
		goto err;
	e = GB_ENOMEM;
	hdr = json_pack("{s:s, s:s}", "alg", gb_jwt_alg_name(k->alg), "typ", "JWT");
	if (hdr == NULL)
		goto err;

	e = GB_ERANGE;
	jn = json_dumpb(hdr, json, sizeof(json), JSON_COMPACT);
	if (jn == 0 || jn > sizeof(json) ||
	    append_b64(tok, sizeof(tok), &len, json, jn) != GB_OK || len + 1 >= sizeof(tok))
		goto err;
	tok[len++] = '.';
	jn = json_dumpb(pay, json, sizeof(json), JSON_COMPACT);
	if (jn == 0 || jn > sizeof(json) ||
	    append_b64(tok, sizeof(tok), &len, json, jn) != GB_OK)
		goto err;
	e = sign(k, tok, len, sig, &siglen);
	if (e != GB_OK)
		goto err;
	e = GB_ERANGE;
	if (len + 1 >= sizeof(tok))
		goto err;
	tok[len++] = '.';
	if (append_b64(tok, sizeof(tok), &len, sig, siglen) != GB_OK || len + 1 > outlen)
		goto err;
	memcpy(out, tok, len + 1);
	e = GB_OK;
err:
	json_decref(hdr);
	json_decref(pay);
	return e;
}
