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
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

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

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
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
	unsigned char *d = dst;
	size_t need, i, o = 0;
	uint32_t v = 0;
	int bits = 0, x;

	if (n % 4 == 1)
		return GB_EINVAL;
	for (i = 0; i < n; i++)
		if (b64url_value((unsigned char)src[i]) < 0)
			return GB_EINVAL;
	/* The last character of a 2 or 3 character group carries 4 or 2 unused
	 * bits: only zeros there, so that each byte string has one encoding. */
	if (n % 4 != 0) {
		x = b64url_value((unsigned char)src[n - 1]);
		if ((n % 4 == 2 && (x & 15) != 0) || (n % 4 == 3 && (x & 3) != 0))
			return GB_EINVAL;
	}
	need = n / 4 * 3 + (n % 4 != 0 ? n % 4 - 1 : 0);
	if (dstlen < need)
		return GB_ERANGE;
	for (i = 0; i < n; i++) {
		v = v << 6 | (uint32_t)b64url_value((unsigned char)src[i]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[o++] = (unsigned char)(v >> bits);
			v &= (1u << bits) - 1;
		}
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
	unsigned int maclen = 0;
	enum gb_err e;

	switch (k->alg) {
	case GB_JWT_HS256:
		if (HMAC(EVP_sha256(), k->secret, (int)k->secret_len, (const unsigned char *)data,
		         n, sig, &maclen) == NULL || maclen != HS256_LEN) {
			ERR_clear_error();
			return GB_ENOMEM;
		}
		*siglen = maclen;
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
	unsigned int maclen = 0;
	int derlen = 0, r = 0;

	*reason = "bad signature";
	switch (k->alg) {
	case GB_JWT_HS256:
		if (siglen != HS256_LEN)
			return GB_EINVAL;
		if (HMAC(EVP_sha256(), k->secret, (int)k->secret_len, (const unsigned char *)data,
		         n, mac, &maclen) == NULL || maclen != HS256_LEN) {
			ERR_clear_error();
			return GB_ENOMEM;
		}
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
take_claim(const struct claim *cl, json_t *v, struct gb_jwt_claims *c)
{
	void *field = (char *)c + cl->off;
	const char *s;
	size_t n;

	if (v == NULL)
		return cl->required ? cl->missing : NULL;
	switch (cl->type) {
	case C_UUID:
	case C_ROLE:
	case C_ID:
		if (!json_is_string(v))
			return cl->bad;
		s = json_string_value(v);
		n = json_string_length(v);
		if (!valid_str(cl, s, n))
			return cl->bad;
		memcpy(field, s, n);
		((char *)field)[n] = '\0';
		return NULL;
	case C_TIME:
		if (!json_is_integer(v) || !valid_time((int64_t)json_integer_value(v)))
			return cl->bad;
		*(int64_t *)field = (int64_t)json_integer_value(v);
		return NULL;
	case C_BOOL:
		if (!json_is_boolean(v))
			return cl->bad;
		*(bool *)field = json_is_true(v);
		return NULL;
	}
	return cl->bad;
}

static bool
json_str_eq(const json_t *v, const char *s)
{
	return json_is_string(v) && json_string_length(v) == strlen(s) &&
	       strcmp(json_string_value(v), s) == 0;
}

/* aud is our audience, or an array of strings holding it. */
static bool
aud_ok(json_t *aud, const char *ours)
{
	json_t *v;
	size_t i;
	bool found = false;

	if (json_is_string(aud))
		return json_str_eq(aud, ours);
	if (!json_is_array(aud))
		return false;
	json_array_foreach(aud, i, v) {
		if (!json_is_string(v))
			return false;
		found |= json_str_eq(v, ours);
	}
	return found;
}

static const char *
check_claims(const struct gb_jwt_policy *p, json_t *pay, int64_t now, struct gb_jwt_claims *c)
{
	const char *reason;
	json_t *v;
	size_t i;

	v = json_object_get(pay, "iss");
	if (v == NULL)
		return "missing iss";
	if (!json_str_eq(v, p->iss))
		return "wrong iss";
	v = json_object_get(pay, "aud");
	if (v == NULL)
		return "missing aud";
	if (!aud_ok(v, p->aud))
		return "wrong aud";
	for (i = 0; i < NCLAIMS; i++) {
		reason = take_claim(&claims[i], json_object_get(pay, claims[i].name), c);
		if (reason != NULL)
			return reason;
	}
	/* now, exp, nbf, iat <= GB_JWT_TIME_MAX and leeway small: no overflow */
	if (now > c->exp + p->leeway_s)
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
check_header(const struct gb_jwt_key *k, json_t *hdr)
{
	const char *name;
	json_t *v;

	v = json_object_get(hdr, "alg");
	if (v == NULL)
		return "missing alg";
	if (!json_str_eq(v, gb_jwt_alg_name(k->alg)))
		return "alg does not match the key";
	if (json_object_get(hdr, "crit") != NULL)
		return "crit header not supported";
	json_object_foreach(hdr, name, v) {
		if (strcmp(name, "alg") == 0)
			continue;
		if (strcmp(name, "typ") == 0) {
			if (!json_str_eq(v, "JWT"))
				return "typ is not JWT";
		} else if (strcmp(name, "kid") == 0) {
			if (!json_is_string(v))
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

/* Parses buf[0..n) as a JSON object; NULL with *e set when it is not. */
static json_t *
parse_object(const unsigned char *buf, size_t n, enum gb_err *e)
{
	json_error_t jerr;
	json_t *j;

	j = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		*e = json_error_code(&jerr) == json_error_out_of_memory ? GB_ENOMEM : GB_EINVAL;
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		*e = GB_EINVAL;
		return NULL;
	}
	return j;
}

enum gb_err
gb_jwt_verify(const struct gb_jwt_key *k, const struct gb_jwt_policy *p, const char *token,
              size_t len, int64_t now, struct gb_jwt_claims *out, const char **why)
{
	/* three decoded segments fit in 3/4 of the token */
	unsigned char buf[GB_JWT_MAX / 4 * 3];
	unsigned char *hb, *pb, *sb;
	size_t dot[2], nd = 0, hn, pn, sn, i;
	json_t *hdr = NULL, *pay = NULL;
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
	hdr = parse_object(hb, hn, &e);
	if (hdr == NULL)
		goto err;
	e = GB_EINVAL;
	reason = check_header(k, hdr);
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
	pay = parse_object(pb, pn, &e);
	if (pay == NULL)
		goto err;
	e = GB_EINVAL;
	memset(&c, 0, sizeof(c));
	reason = check_claims(p, pay, now, &c);
	if (reason != NULL)
		goto err;
	*out = c;
	e = GB_OK;
err:
	json_decref(hdr);
	json_decref(pay);
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
