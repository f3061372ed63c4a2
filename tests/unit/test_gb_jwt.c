/* Tests for lib/gb_jwt.c: JWT issuing and verification, base64url.
 *
 * Keys are made at test time with libcrypto (no private key in the tree) and
 * written as PEM to a temporary directory.  Forged tokens are built here
 * with libcrypto directly, not with gb_jwt, so that the verifier is checked
 * against an independent encoder and signer.
 */
#include "config.h"

#include <stdint.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "gb_jwt.h"
#include "gb_test.h"

#define ISS "https://auth.gerbang.test"
#define AUD "gerbang-api"
#define SUB "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
#define CID "0b8e9f7a-1c2d-4e3f-9a8b-7c6d5e4f3a2b"
#define NOW INT64_C(1750000000)
#define LEEWAY 30
#define SECRET "0123456789abcdef0123456789abcdef"     /* 32 bytes */
#define SECRET2 "fedcba9876543210fedcba9876543210"

static const struct gb_jwt_policy policy = { ISS, AUD, LEEWAY };

/* ---- keys, made once before the tests fork ------------------------------ */

enum pk { PK_RSA, PK_RSA2, PK_RSA1024, PK_RSAPSS, PK_EC, PK_EC2, PK_EC384, NPK };

static const char *const pk_names[NPK] = {
	"rsa", "rsa2", "rsa1024", "rsapss", "ec", "ec2", "ec384"
};

static EVP_PKEY *pkeys[NPK];
static char keydir[64];
static char privpath[NPK][128], pubpath[NPK][128];
static char garbage_path[128], encrypted_path[128];
static unsigned char *rsa_pub_pem, *ec_pub_pem;   /* the public PEM bytes */
static size_t rsa_pub_pem_len, ec_pub_pem_len;

enum key { K_HS, K_HS2, K_RS, K_RS2, K_RS_PUB, K_ES, K_ES2, K_ES_PUB, NKEYS };
static struct gb_jwt_key *keys[NKEYS];

static void
die(const char *what)
{
	fprintf(stderr, "test_gb_jwt: %s failed\n", what);
	exit(EXIT_FAILURE);
}

static void
write_pem(const char *path, EVP_PKEY *pkey, bool priv)
{
	BIO *b = BIO_new_file(path, "w");
	int ok;

	if (b == NULL)
		die(path);
	if (priv)
		ok = PEM_write_bio_PrivateKey(b, pkey, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_bio_PUBKEY(b, pkey);
	BIO_free(b);
	if (ok != 1)
		die(path);
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = malloc(65536);

	if (f == NULL || buf == NULL)
		die(path);
	*len = fread(buf, 1, 65536, f);
	fclose(f);
	return buf;
}

static pid_t key_owner;

/* At exit of the process that made them: the forked tests exit too. */
static void
remove_keys(void)
{
	size_t i;

	if (getpid() != key_owner)
		return;
	for (i = 0; i < NKEYS; i++)
		gb_jwt_key_free(keys[i]);
	for (i = 0; i < NPK; i++) {
		unlink(privpath[i]);
		unlink(pubpath[i]);
		EVP_PKEY_free(pkeys[i]);
	}
	unlink(garbage_path);
	unlink(encrypted_path);
	rmdir(keydir);
	free(rsa_pub_pem);
	free(ec_pub_pem);
}

static EVP_PKEY *
rsa_pss_gen(void)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
	EVP_PKEY *pk = NULL;

	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) != 1 || EVP_PKEY_keygen(ctx, &pk) != 1)
		die("RSA-PSS key generation");
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

static void
make_keys(void)
{
	char why[256];
	FILE *f;
	BIO *b;
	size_t i;

	snprintf(keydir, sizeof(keydir), "%s", "/tmp/gb-jwt-test.XXXXXX");
	if (mkdtemp(keydir) == NULL)
		die("mkdtemp");
	key_owner = getpid();
	atexit(remove_keys);      /* also when a step below dies */
	pkeys[PK_RSA] = EVP_RSA_gen(2048);
	pkeys[PK_RSA2] = EVP_RSA_gen(2048);
	pkeys[PK_RSA1024] = EVP_RSA_gen(1024);
	pkeys[PK_RSAPSS] = rsa_pss_gen();
	pkeys[PK_EC] = EVP_EC_gen("P-256");
	pkeys[PK_EC2] = EVP_EC_gen("P-256");
	pkeys[PK_EC384] = EVP_EC_gen("P-384");
	for (i = 0; i < NPK; i++) {
		if (pkeys[i] == NULL)
			die("key generation");
		snprintf(privpath[i], sizeof(privpath[i]), "%s/%s.key", keydir, pk_names[i]);
		snprintf(pubpath[i], sizeof(pubpath[i]), "%s/%s.pub", keydir, pk_names[i]);
		write_pem(privpath[i], pkeys[i], true);
		write_pem(pubpath[i], pkeys[i], false);
	}
	snprintf(garbage_path, sizeof(garbage_path), "%s/garbage.pem", keydir);
	f = fopen(garbage_path, "w");
	if (f == NULL || fputs("-----BEGIN PUBLIC KEY-----\nnot base64\n"
	                       "-----END PUBLIC KEY-----\n", f) < 0)
		die(garbage_path);
	fclose(f);
	snprintf(encrypted_path, sizeof(encrypted_path), "%s/encrypted.key", keydir);
	b = BIO_new_file(encrypted_path, "w");
	if (b == NULL || PEM_write_bio_PrivateKey(b, pkeys[PK_RSA], EVP_aes_128_cbc(),
	                                          (const unsigned char *)"passphrase", 10,
	                                          NULL, NULL) != 1)
		die(encrypted_path);
	BIO_free(b);
	rsa_pub_pem = slurp(pubpath[PK_RSA], &rsa_pub_pem_len);
	ec_pub_pem = slurp(pubpath[PK_EC], &ec_pub_pem_len);

	if (gb_jwt_key_hmac(SECRET, 32, &keys[K_HS]) != GB_OK ||
	    gb_jwt_key_hmac(SECRET2, 32, &keys[K_HS2]) != GB_OK)
		die("gb_jwt_key_hmac");
	if (gb_jwt_key_pem(GB_JWT_RS256, privpath[PK_RSA], pubpath[PK_RSA], &keys[K_RS],
	                   why, sizeof(why)) != GB_OK ||
	    gb_jwt_key_pem(GB_JWT_RS256, privpath[PK_RSA2], pubpath[PK_RSA2], &keys[K_RS2],
	                   why, sizeof(why)) != GB_OK ||
	    gb_jwt_key_pem(GB_JWT_RS256, NULL, pubpath[PK_RSA], &keys[K_RS_PUB],
	                   why, sizeof(why)) != GB_OK ||
	    gb_jwt_key_pem(GB_JWT_ES256, privpath[PK_EC], pubpath[PK_EC], &keys[K_ES],
	                   why, sizeof(why)) != GB_OK ||
	    gb_jwt_key_pem(GB_JWT_ES256, privpath[PK_EC2], pubpath[PK_EC2], &keys[K_ES2],
	                   why, sizeof(why)) != GB_OK ||
	    gb_jwt_key_pem(GB_JWT_ES256, NULL, pubpath[PK_EC], &keys[K_ES_PUB],
	                   why, sizeof(why)) != GB_OK) {
		fprintf(stderr, "test_gb_jwt: %s\n", why);
		die("gb_jwt_key_pem");
	}
}

/* ---- an independent encoder and signer ---------------------------------- */

static char *
b64url(const void *src, size_t n)
{
	char *s = malloc(n / 3 * 4 + 8);
	int len, i, o = 0;

	ck_assert_ptr_nonnull(s);
	len = EVP_EncodeBlock((unsigned char *)s, src, (int)n);
	for (i = 0; i < len; i++) {
		if (s[i] == '=')
			break;
		s[o++] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
	}
	s[o] = '\0';
	return s;
}

/* How a forged token is signed. */
enum signer {
	S_HS,          /* HMAC-SHA256 with SECRET */
	S_HS2,         /* HMAC-SHA256 with SECRET2 */
	S_HS512,       /* HMAC-SHA512 with SECRET */
	S_HS_RSAPEM,   /* HMAC-SHA256 keyed with the RSA public key's PEM text */
	S_HS_ECPEM,    /* the same with the EC public key's PEM */
	S_RS,          /* RSA PKCS#1 v1.5 SHA-256 */
	S_RS2,         /* ... with another key */
	S_RS_PSS,      /* RSA-PSS SHA-256 with the right key */
	S_ES,          /* ECDSA P-256 SHA-256, R||S */
	S_ES2,         /* ... with another key */
	S_ES_DER,      /* the right key, DER signature instead of R||S */
	S_NONE,        /* empty signature */
};

static size_t
pkey_sign(EVP_PKEY *pkey, const char *data, size_t n, unsigned char *sig, size_t size,
          bool pss)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t len = size;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, pkey), 1);
	if (pss)
		ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, sig, &len, (const unsigned char *)data, n), 1);
	EVP_MD_CTX_free(ctx);
	return len;
}

static size_t
der_to_rs(const unsigned char *der, size_t n, unsigned char *rs)
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)n);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_r(s), rs, 32), 32);
	ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_s(s), rs + 32, 32), 32);
	ECDSA_SIG_free(s);
	return 64;
}

static size_t
sign_with(enum signer how, const char *data, size_t n, unsigned char *sig)
{
	unsigned char der[256];
	unsigned int len = 0;
	size_t dl;

	switch (how) {
	case S_HS:
		HMAC(EVP_sha256(), SECRET, 32, (const unsigned char *)data, n, sig, &len);
		return len;
	case S_HS2:
		HMAC(EVP_sha256(), SECRET2, 32, (const unsigned char *)data, n, sig, &len);
		return len;
	case S_HS512:
		HMAC(EVP_sha512(), SECRET, 32, (const unsigned char *)data, n, sig, &len);
		return len;
	case S_HS_RSAPEM:
		HMAC(EVP_sha256(), rsa_pub_pem, (int)rsa_pub_pem_len, (const unsigned char *)data,
		     n, sig, &len);
		return len;
	case S_HS_ECPEM:
		HMAC(EVP_sha256(), ec_pub_pem, (int)ec_pub_pem_len, (const unsigned char *)data,
		     n, sig, &len);
		return len;
	case S_RS:
		return pkey_sign(pkeys[PK_RSA], data, n, sig, 1024, false);
	case S_RS2:
		return pkey_sign(pkeys[PK_RSA2], data, n, sig, 1024, false);
	case S_RS_PSS:
		return pkey_sign(pkeys[PK_RSA], data, n, sig, 1024, true);
	case S_ES:
		dl = pkey_sign(pkeys[PK_EC], data, n, der, sizeof(der), false);
		return der_to_rs(der, dl, sig);
	case S_ES2:
		dl = pkey_sign(pkeys[PK_EC2], data, n, der, sizeof(der), false);
		return der_to_rs(der, dl, sig);
	case S_ES_DER:
		return pkey_sign(pkeys[PK_EC], data, n, sig, 1024, false);
	case S_NONE:
		break;
	}
	return 0;
}

/* header.payload.signature from JSON texts; malloc'd. */
static char *
forge(const char *hdr, const char *pay, enum signer how)
{
	char *h = b64url(hdr, strlen(hdr)), *p = b64url(pay, strlen(pay)), *s, *t;
	unsigned char sig[1024];
	size_t n = strlen(h) + 1 + strlen(p), sn;

	t = malloc(n + 2 + 2048);
	ck_assert_ptr_nonnull(t);
	snprintf(t, n + 1, "%s.%s", h, p);
	sn = sign_with(how, t, n, sig);
	s = b64url(sig, sn);
	snprintf(t + n, 2 + 2048, ".%s", s);
	free(h);
	free(p);
	free(s);
	return t;
}

/* The standard payload: skip leaves out one claim, add (raw JSON members)
 * goes at the end. */
static const struct {
	const char *name;
	const char *json;
} std_claims[] = {
	{ "iss", "\"iss\":\"" ISS "\"" },
	{ "aud", "\"aud\":\"" AUD "\"" },
	{ "sub", "\"sub\":\"" SUB "\"" },
	{ "company_id", "\"company_id\":\"" CID "\"" },
	{ "role", "\"role\":\"member\"" },
	{ "iat", "\"iat\":1749999990" },
	{ "exp", "\"exp\":1750000600" },
};

static char *
payload(const char *skip, const char *add)
{
	char *s = malloc(8192);
	size_t i;

	ck_assert_ptr_nonnull(s);
	strcpy(s, "{");
	for (i = 0; i < NELEM(std_claims); i++) {
		if (skip != NULL && strcmp(skip, std_claims[i].name) == 0)
			continue;
		if (s[1] != '\0')
			strcat(s, ",");
		strcat(s, std_claims[i].json);
	}
	if (add != NULL) {
		if (s[1] != '\0')
			strcat(s, ",");
		strcat(s, add);
	}
	strcat(s, "}");
	return s;
}

/* ---- the forged and malformed tokens ------------------------------------ */

#define H_HS "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define H_RS "{\"alg\":\"RS256\",\"typ\":\"JWT\"}"
#define H_ES "{\"alg\":\"ES256\",\"typ\":\"JWT\"}"

/* What is done to the signed token afterwards. */
enum mut {
	M_NONE,
	M_FLIP_HDR,     /* one character changed in the header */
	M_FLIP_PAY,     /* ... in the payload */
	M_FLIP_SIG,     /* ... in the signature */
	M_REROLE,       /* payload re-encoded with role owner, signature kept */
	M_SIG_EXTRA,    /* a valid signature with one more byte after it */
	M_SIG_SHORT,    /* a valid signature without its last byte */
	M_PAD,          /* '=' padding after the signature */
	M_PAD_PAY,      /* the payload encoded with its '=' padding */
	M_DOT,          /* a fourth segment */
	M_ONE_DOT,      /* the signature and its dot cut */
	M_CUT_SIG,      /* an empty signature after the second dot */
	M_CUT_HDR,      /* no header before the first dot */
	M_CUT_PAY,      /* nothing between the dots */
	M_CHAR_PLUS,    /* a '+' in the payload */
	M_CHAR_SLASH,   /* a '/' in the payload */
	M_CHAR_SPACE,   /* a space in the signature */
	M_CHAR_NUL,     /* a NUL byte inside len */
	M_CHAR_HIGH,    /* a byte 0xff in the header */
	M_LEN_4096,     /* an extra claim makes it exactly 4096 bytes, signed */
	M_LEN_4097,     /* ... 4097 bytes */
	M_LEN_5000,     /* ... 5000 bytes */
	M_EMPTY,        /* "" */
	M_SHORT,        /* "a.b.c" */
};

static const struct forged {
	const char *name;
	const char *hdr;
	const char *skip, *add;   /* payload(skip, add) */
	enum signer how;
	enum mut mut;
	enum key key;
	const char *why;          /* NULL: must verify; else *why ("": any) */
} forged[] = {
	/* the algorithm */
	{ "alg none", "{\"alg\":\"none\",\"typ\":\"JWT\"}", NULL, NULL, S_NONE, M_NONE, K_HS, "alg does not match the key" },
	{ "alg NONE", "{\"alg\":\"NONE\",\"typ\":\"JWT\"}", NULL, NULL, S_NONE, M_NONE, K_HS, "alg does not match the key" },
	{ "alg None", "{\"alg\":\"None\",\"typ\":\"JWT\"}", NULL, NULL, S_NONE, M_NONE, K_HS, "alg does not match the key" },
	{ "alg none, RSA key", "{\"alg\":\"none\"}", NULL, NULL, S_NONE, M_NONE, K_RS, "alg does not match the key" },
	{ "alg none, EC key", "{\"alg\":\"none\"}", NULL, NULL, S_NONE, M_NONE, K_ES, "alg does not match the key" },
	{ "alg none, signed", "{\"alg\":\"none\"}", NULL, NULL, S_HS, M_NONE, K_HS, "alg does not match the key" },
	{ "alg hs256", "{\"alg\":\"hs256\",\"typ\":\"JWT\"}", NULL, NULL, S_HS, M_NONE, K_HS, "alg does not match the key" },
	{ "alg Hs256", "{\"alg\":\"Hs256\"}", NULL, NULL, S_HS, M_NONE, K_HS, "alg does not match the key" },
	{ "alg HS256 ", "{\"alg\":\"HS256 \"}", NULL, NULL, S_HS, M_NONE, K_HS, "alg does not match the key" },
	{ "alg HS512", "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", NULL, NULL, S_HS512, M_NONE, K_HS, "alg does not match the key" },
	{ "alg HS384 signed HS256", "{\"alg\":\"HS384\"}", NULL, NULL, S_HS, M_NONE, K_HS, "alg does not match the key" },
	{ "alg not a string", "{\"alg\":256}", NULL, NULL, S_HS, M_NONE, K_HS, "alg does not match the key" },
	{ "alg missing", "{\"typ\":\"JWT\"}", NULL, NULL, S_HS, M_NONE, K_HS, "missing alg" },
	{ "key confusion: RS256 HMAC'd with the public PEM", H_RS, NULL, NULL, S_HS_RSAPEM,
	  M_NONE, K_RS, "bad signature" },
	{ "key confusion, verify-only RSA key", H_RS, NULL, NULL, S_HS_RSAPEM, M_NONE,
	  K_RS_PUB, "bad signature" },
	{ "key confusion: HS256 HMAC'd with the RSA PEM", H_HS, NULL, NULL, S_HS_RSAPEM,
	  M_NONE, K_RS, "alg does not match the key" },
	{ "key confusion: ES256 HMAC'd with the EC PEM", H_ES, NULL, NULL, S_HS_ECPEM,
	  M_NONE, K_ES, "bad signature" },
	{ "key confusion: HS256 HMAC'd with the EC PEM", H_HS, NULL, NULL, S_HS_ECPEM,
	  M_NONE, K_ES, "alg does not match the key" },
	{ "HS256 against an RSA key", H_HS, NULL, NULL, S_HS, M_NONE, K_RS, "alg does not match the key" },
	{ "HS256 against an EC key", H_HS, NULL, NULL, S_HS, M_NONE, K_ES, "alg does not match the key" },
	{ "RS256 against an HMAC key", H_RS, NULL, NULL, S_RS, M_NONE, K_HS, "alg does not match the key" },
	{ "RS256 against an EC key", H_RS, NULL, NULL, S_RS, M_NONE, K_ES, "alg does not match the key" },
	{ "ES256 against an RSA key", H_ES, NULL, NULL, S_ES, M_NONE, K_RS, "alg does not match the key" },
	{ "ES256 against an HMAC key", H_ES, NULL, NULL, S_ES, M_NONE, K_HS, "alg does not match the key" },
	/* the signature */
	{ "HS256 empty signature", H_HS, NULL, NULL, S_NONE, M_NONE, K_HS, "empty signature" },
	{ "RS256 empty signature", H_RS, NULL, NULL, S_NONE, M_NONE, K_RS, "empty signature" },
	{ "ES256 empty signature", H_ES, NULL, NULL, S_NONE, M_NONE, K_ES, "empty signature" },
	{ "HS256 another secret", H_HS, NULL, NULL, S_HS2, M_NONE, K_HS, "bad signature" },
	{ "HS256 with SHA-512 length", H_HS, NULL, NULL, S_HS512, M_NONE, K_HS, "bad signature" },
	{ "RS256 another key", H_RS, NULL, NULL, S_RS2, M_NONE, K_RS, "bad signature" },
	{ "RS256 PSS padding", H_RS, NULL, NULL, S_RS_PSS, M_NONE, K_RS, "bad signature" },
	{ "ES256 another key", H_ES, NULL, NULL, S_ES2, M_NONE, K_ES, "bad signature" },
	{ "ES256 DER signature", H_ES, NULL, NULL, S_ES_DER, M_NONE, K_ES, "bad signature" },
	{ "HS256 flipped header", H_HS, NULL, NULL, S_HS, M_FLIP_HDR, K_HS, "" },
	{ "HS256 flipped payload", H_HS, NULL, NULL, S_HS, M_FLIP_PAY, K_HS, "bad signature" },
	{ "HS256 flipped signature", H_HS, NULL, NULL, S_HS, M_FLIP_SIG, K_HS, "bad signature" },
	{ "RS256 flipped header", H_RS, NULL, NULL, S_RS, M_FLIP_HDR, K_RS, "" },
	{ "RS256 flipped payload", H_RS, NULL, NULL, S_RS, M_FLIP_PAY, K_RS, "bad signature" },
	{ "RS256 flipped signature", H_RS, NULL, NULL, S_RS, M_FLIP_SIG, K_RS, "bad signature" },
	{ "ES256 flipped header", H_ES, NULL, NULL, S_ES, M_FLIP_HDR, K_ES, "" },
	{ "ES256 flipped payload", H_ES, NULL, NULL, S_ES, M_FLIP_PAY, K_ES, "bad signature" },
	{ "ES256 flipped signature", H_ES, NULL, NULL, S_ES, M_FLIP_SIG, K_ES, "bad signature" },
	{ "HS256 signature and a byte", H_HS, NULL, NULL, S_HS, M_SIG_EXTRA, K_HS,
	  "bad signature" },
	{ "RS256 signature and a byte", H_RS, NULL, NULL, S_RS, M_SIG_EXTRA, K_RS,
	  "bad signature" },
	{ "ES256 signature and a byte", H_ES, NULL, NULL, S_ES, M_SIG_EXTRA, K_ES,
	  "bad signature" },
	{ "HS256 signature short a byte", H_HS, NULL, NULL, S_HS, M_SIG_SHORT, K_HS,
	  "bad signature" },
	{ "RS256 signature short a byte", H_RS, NULL, NULL, S_RS, M_SIG_SHORT, K_RS,
	  "bad signature" },
	{ "ES256 signature short a byte", H_ES, NULL, NULL, S_ES, M_SIG_SHORT, K_ES,
	  "bad signature" },
	{ "HS256 role changed, not re-signed", H_HS, NULL, NULL, S_HS, M_REROLE, K_HS,
	  "bad signature" },
	{ "RS256 role changed, not re-signed", H_RS, NULL, NULL, S_RS, M_REROLE, K_RS,
	  "bad signature" },
	{ "ES256 role changed, not re-signed", H_ES, NULL, NULL, S_ES, M_REROLE, K_ES,
	  "bad signature" },
	/* times (NOW 1750000000, leeway 30) */
	{ "expired", H_HS, "exp", "\"exp\":1749999970", S_HS, M_NONE, K_HS, "expired" },
	{ "expired long ago", H_HS, "exp", "\"exp\":1", S_HS, M_NONE, K_HS, "expired" },
	{ "exp within leeway", H_HS, "exp", "\"exp\":1749999971", S_HS, M_NONE, K_HS, NULL },
	{ "exp now", H_HS, "exp", "\"exp\":1750000000", S_HS, M_NONE, K_HS, NULL },
	{ "nbf in the future", H_HS, NULL, "\"nbf\":1750000031", S_HS, M_NONE, K_HS,
	  "not yet valid" },
	{ "nbf within leeway", H_HS, NULL, "\"nbf\":1750000030", S_HS, M_NONE, K_HS, NULL },
	{ "nbf past", H_HS, NULL, "\"nbf\":1749999000", S_HS, M_NONE, K_HS, NULL },
	{ "nbf as string", H_HS, NULL, "\"nbf\":\"1749999000\"", S_HS, M_NONE, K_HS, "nbf is not an integer time" },
	{ "iat far future", H_HS, "iat", "\"iat\":1750003600", S_HS, M_NONE, K_HS,
	  "issued in the future" },
	{ "iat just past leeway", H_HS, "iat", "\"iat\":1750000031", S_HS, M_NONE, K_HS,
	  "issued in the future" },
	{ "iat within leeway", H_HS, "iat", "\"iat\":1750000030", S_HS, M_NONE, K_HS, NULL },
	{ "exp as string", H_HS, "exp", "\"exp\":\"1750000600\"", S_HS, M_NONE, K_HS, "exp is not an integer time" },
	{ "exp as real", H_HS, "exp", "\"exp\":1750000600.0", S_HS, M_NONE, K_HS, "exp is not an integer time" },
	{ "exp as exponent", H_HS, "exp", "\"exp\":1.7500006e9", S_HS, M_NONE, K_HS, "exp is not an integer time" },
	{ "exp as boolean", H_HS, "exp", "\"exp\":true", S_HS, M_NONE, K_HS, "exp is not an integer time" },
	{ "exp as null", H_HS, "exp", "\"exp\":null", S_HS, M_NONE, K_HS, "exp is not an integer time" },
	{ "exp negative", H_HS, "exp", "\"exp\":-1", S_HS, M_NONE, K_HS, "exp is not an integer time" },
	{ "exp past year 9999", H_HS, "exp", "\"exp\":253402300800", S_HS, M_NONE, K_HS, "exp is not an integer time" },
	{ "exp past int64", H_HS, "exp", "\"exp\":99999999999999999999", S_HS, M_NONE, K_HS,
	  "exp is not an integer time" },
	{ "exp missing", H_HS, "exp", NULL, S_HS, M_NONE, K_HS, "missing exp" },
	{ "iat missing", H_HS, "iat", NULL, S_HS, M_NONE, K_HS, "missing iat" },
	{ "iat as string", H_HS, "iat", "\"iat\":\"1749999990\"", S_HS, M_NONE, K_HS, "iat is not an integer time" },
	/* iss and aud */
	{ "wrong iss", H_HS, "iss", "\"iss\":\"https://evil.test\"", S_HS, M_NONE, K_HS,
	  "wrong iss" },
	{ "iss in another case", H_HS, "iss", "\"iss\":\"HTTPS://auth.gerbang.test\"", S_HS,
	  M_NONE, K_HS, "wrong iss" },
	{ "iss with a suffix", H_HS, "iss", "\"iss\":\"" ISS "/\"", S_HS, M_NONE, K_HS,
	  "wrong iss" },
	{ "iss as array", H_HS, "iss", "\"iss\":[\"" ISS "\"]", S_HS, M_NONE, K_HS, "wrong iss" },
	{ "iss missing", H_HS, "iss", NULL, S_HS, M_NONE, K_HS, "missing iss" },
	{ "wrong aud", H_HS, "aud", "\"aud\":\"other-api\"", S_HS, M_NONE, K_HS, "wrong aud" },
	{ "aud prefix", H_HS, "aud", "\"aud\":\"gerbang-ap\"", S_HS, M_NONE, K_HS, "wrong aud" },
	{ "aud array without ours", H_HS, "aud", "\"aud\":[\"a\",\"b\"]", S_HS, M_NONE, K_HS,
	  "wrong aud" },
	{ "aud empty array", H_HS, "aud", "\"aud\":[]", S_HS, M_NONE, K_HS, "wrong aud" },
	{ "aud array with a number", H_HS, "aud", "\"aud\":[\"" AUD "\",1]", S_HS, M_NONE, K_HS,
	  "wrong aud" },
	{ "aud number", H_HS, "aud", "\"aud\":1", S_HS, M_NONE, K_HS, "wrong aud" },
	{ "aud missing", H_HS, "aud", NULL, S_HS, M_NONE, K_HS, "missing aud" },
	{ "aud array with ours", H_HS, "aud", "\"aud\":[\"x\",\"" AUD "\"]", S_HS, M_NONE, K_HS,
	  NULL },
	/* identity claims */
	{ "company_id missing", H_HS, "company_id", NULL, S_HS, M_NONE, K_HS,
	  "missing company_id" },
	{ "company_id not a UUID", H_HS, "company_id", "\"company_id\":\"acme\"", S_HS, M_NONE,
	  K_HS, "company_id is not a UUID" },
	{ "company_id uppercase", H_HS, "company_id",
	  "\"company_id\":\"0B8E9F7A-1C2D-4E3F-9A8B-7C6D5E4F3A2B\"", S_HS, M_NONE, K_HS,
	  "company_id is not a UUID" },
	{ "company_id without dashes", H_HS, "company_id",
	  "\"company_id\":\"0b8e9f7a1c2d4e3f9a8b7c6d5e4f3a2b\"", S_HS, M_NONE, K_HS, "company_id is not a UUID" },
	{ "company_id dash misplaced", H_HS, "company_id",
	  "\"company_id\":\"0b8e9f7a1-c2d-4e3f-9a8b-7c6d5e4f3a2b\"", S_HS, M_NONE, K_HS,
	  "company_id is not a UUID" },
	{ "company_id too long", H_HS, "company_id",
	  "\"company_id\":\"" CID "0\"", S_HS, M_NONE, K_HS, "company_id is not a UUID" },
	{ "company_id number", H_HS, "company_id", "\"company_id\":7", S_HS, M_NONE, K_HS,
	  "company_id is not a UUID" },
	{ "company_id empty", H_HS, "company_id", "\"company_id\":\"\"", S_HS, M_NONE, K_HS,
	  "company_id is not a UUID" },
	{ "sub missing", H_HS, "sub", NULL, S_HS, M_NONE, K_HS, "missing sub" },
	{ "sub not a UUID", H_HS, "sub", "\"sub\":\"admin\"", S_HS, M_NONE, K_HS, "sub is not a UUID" },
	{ "role superuser", H_HS, "role", "\"role\":\"superuser\"", S_HS, M_NONE, K_HS, "role is not a known role" },
	{ "role Owner", H_HS, "role", "\"role\":\"Owner\"", S_HS, M_NONE, K_HS, "role is not a known role" },
	{ "role with a NUL", H_HS, "role", "\"role\":\"owner\\u0000x\"", S_HS, M_NONE, K_HS,
	  "bad payload JSON" },
	{ "role empty", H_HS, "role", "\"role\":\"\"", S_HS, M_NONE, K_HS, "role is not a known role" },
	{ "role array", H_HS, "role", "\"role\":[\"owner\"]", S_HS, M_NONE, K_HS, "role is not a known role" },
	{ "role missing", H_HS, "role", NULL, S_HS, M_NONE, K_HS, "missing role" },
	{ "role owner", H_HS, "role", "\"role\":\"owner\"", S_HS, M_NONE, K_HS, NULL },
	{ "duplicate role", H_HS, NULL, "\"role\":\"owner\"", S_HS, M_NONE, K_HS,
	  "bad payload JSON" },
	{ "duplicate exp", H_HS, NULL, "\"exp\":1850000000", S_HS, M_NONE, K_HS,
	  "bad payload JSON" },
	{ "jti", H_HS, NULL, "\"jti\":\"abc-123_x.y\"", S_HS, M_NONE, K_HS, NULL },
	{ "jti empty", H_HS, NULL, "\"jti\":\"\"", S_HS, M_NONE, K_HS, "jti is malformed" },
	{ "jti 48 characters", H_HS, NULL,
	  "\"jti\":\"012345678901234567890123456789012345678901234567\"", S_HS, M_NONE, K_HS,
	  "jti is malformed" },
	{ "jti with a space", H_HS, NULL, "\"jti\":\"a b\"", S_HS, M_NONE, K_HS, "jti is malformed" },
	{ "jti number", H_HS, NULL, "\"jti\":5", S_HS, M_NONE, K_HS, "jti is malformed" },
	{ "pa true", H_HS, NULL, "\"pa\":true", S_HS, M_NONE, K_HS, NULL },
	{ "pa string", H_HS, NULL, "\"pa\":\"true\"", S_HS, M_NONE, K_HS, "pa is not a boolean" },
	{ "pa number", H_HS, NULL, "\"pa\":1", S_HS, M_NONE, K_HS, "pa is not a boolean" },
	{ "other claims ignored", H_HS, NULL, "\"x\":{\"y\":[1,2]}", S_HS, M_NONE, K_HS, NULL },
	{ "payload array", H_HS, NULL, NULL, S_HS, M_NONE, K_HS, "bad payload JSON" },
	{ "payload trailing garbage", H_HS, NULL, NULL, S_HS, M_NONE, K_HS, "bad payload JSON" },
	/* the header */
	{ "crit header", "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"crit\":[\"exp\"]}", NULL, NULL,
	  S_HS, M_NONE, K_HS, "crit header not supported" },
	{ "crit empty", "{\"alg\":\"HS256\",\"crit\":[]}", NULL, NULL, S_HS, M_NONE, K_HS,
	  "crit header not supported" },
	{ "jku header", "{\"alg\":\"HS256\",\"jku\":\"https://evil.test/k\"}", NULL, NULL, S_HS,
	  M_NONE, K_HS, "unexpected header parameter" },
	{ "jwk header", "{\"alg\":\"HS256\",\"jwk\":{}}", NULL, NULL, S_HS, M_NONE, K_HS,
	  "unexpected header parameter" },
	{ "typ at+jwt", "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", NULL, NULL, S_HS, M_NONE, K_HS,
	  "typ is not JWT" },
	{ "typ jwt", "{\"alg\":\"HS256\",\"typ\":\"jwt\"}", NULL, NULL, S_HS, M_NONE, K_HS, "typ is not JWT" },
	{ "typ absent", "{\"alg\":\"HS256\"}", NULL, NULL, S_HS, M_NONE, K_HS, NULL },
	{ "kid string", "{\"kid\":\"k1\",\"alg\":\"RS256\",\"typ\":\"JWT\"}", NULL, NULL, S_RS,
	  M_NONE, K_RS, NULL },
	{ "kid number", "{\"alg\":\"HS256\",\"kid\":1}", NULL, NULL, S_HS, M_NONE, K_HS, "kid is not a string" },
	{ "duplicate alg", "{\"alg\":\"HS256\",\"alg\":\"none\"}", NULL, NULL, S_HS, M_NONE,
	  K_HS, "bad header JSON" },
	{ "header array", "[\"HS256\"]", NULL, NULL, S_HS, M_NONE, K_HS, "bad header JSON" },
	{ "header not JSON", "alg=HS256", NULL, NULL, S_HS, M_NONE, K_HS, "bad header JSON" },
	/* the encoding */
	{ "padding after the signature", H_HS, NULL, NULL, S_HS, M_PAD, K_HS, "not base64url" },
	{ "padding in the payload", H_HS, NULL, NULL, S_HS, M_PAD_PAY, K_HS, "not base64url" },
	{ "3 dots", H_HS, NULL, NULL, S_HS, M_DOT, K_HS, "not three segments" },
	{ "1 dot", H_HS, NULL, NULL, S_HS, M_ONE_DOT, K_HS, "not three segments" },
	{ "trailing dot", H_HS, NULL, NULL, S_HS, M_CUT_SIG, K_HS, "empty signature" },
	{ "empty header", H_HS, NULL, NULL, S_HS, M_CUT_HDR, K_HS, "empty segment" },
	{ "empty payload", H_HS, NULL, NULL, S_HS, M_CUT_PAY, K_HS, "empty segment" },
	{ "'+' byte", H_HS, NULL, NULL, S_HS, M_CHAR_PLUS, K_HS, "not base64url" },
	{ "'/' byte", H_HS, NULL, NULL, S_HS, M_CHAR_SLASH, K_HS, "not base64url" },
	{ "space byte", H_HS, NULL, NULL, S_HS, M_CHAR_SPACE, K_HS, "not base64url" },
	{ "NUL byte", H_HS, NULL, NULL, S_HS, M_CHAR_NUL, K_HS, "not base64url" },
	{ "0xff byte", H_HS, NULL, NULL, S_HS, M_CHAR_HIGH, K_HS, "not base64url" },
	{ "4096 bytes", H_HS, NULL, NULL, S_HS, M_LEN_4096, K_HS, NULL },
	{ "4097 bytes", H_HS, NULL, NULL, S_HS, M_LEN_4097, K_HS, "bad token length" },
	{ "5000 bytes", H_HS, NULL, NULL, S_HS, M_LEN_5000, K_HS, "bad token length" },
	{ "empty string", H_HS, NULL, NULL, S_HS, M_EMPTY, K_HS, "bad token length" },
	{ "a.b.c", H_HS, NULL, NULL, S_HS, M_SHORT, K_HS, "bad token length" },
	/* the same claims verify with the right keys */
	{ "HS256 valid", H_HS, NULL, NULL, S_HS, M_NONE, K_HS, NULL },
	{ "RS256 valid", H_RS, NULL, NULL, S_RS, M_NONE, K_RS, NULL },
	{ "RS256 valid, verify-only key", H_RS, NULL, NULL, S_RS, M_NONE, K_RS_PUB, NULL },
	{ "ES256 valid", H_ES, NULL, NULL, S_ES, M_NONE, K_ES, NULL },
	{ "ES256 valid, verify-only key", H_ES, NULL, NULL, S_ES, M_NONE, K_ES_PUB, NULL },
};

/* Changes the character at i to another base64url character. */
static void
flip_at(char *t, size_t i)
{
	t[i] = t[i] == 'A' ? 'B' : 'A';
}

/* Forged token with an extra claim of pad characters, signed. */
static char *
forge_sized(const struct forged *f, size_t want)
{
	char *add, *pay, *t;
	size_t n;

	for (n = 0; n < 4000; n++) {
		add = malloc(n + 16);
		ck_assert_ptr_nonnull(add);
		sprintf(add, "\"x\":\"%s\"", "");
		memset(add + 5, 'p', n);
		strcpy(add + 5 + n, "\"");
		pay = payload(f->skip, add);
		t = forge(f->hdr, pay, f->how);
		free(add);
		free(pay);
		if (strlen(t) == want)
			return t;
		free(t);
	}
	ck_abort_msg("no padding gives %zu bytes", want);
	return NULL;
}

/* Builds forged[i]; *len is its length (it may hold a NUL). */
static char *
build(const struct forged *f, size_t *len)
{
	char *pay, *t, *d1, *d2, *p2, *h, *s;

	if (strcmp(f->name, "payload array") == 0) {
		pay = strdup("[1]");
	} else if (strcmp(f->name, "payload trailing garbage") == 0) {
		pay = payload(NULL, NULL);
		strcat(pay, "x");
	} else {
		pay = payload(f->skip, f->add);
	}
	ck_assert_ptr_nonnull(pay);
	switch (f->mut) {
	case M_LEN_4096:
		free(pay);
		t = forge_sized(f, 4096);
		*len = strlen(t);
		return t;
	case M_LEN_4097:
		free(pay);
		t = forge_sized(f, 4097);
		*len = strlen(t);
		return t;
	case M_LEN_5000:
		free(pay);
		t = forge_sized(f, 5000);
		*len = strlen(t);
		return t;
	case M_EMPTY:
		free(pay);
		*len = 0;
		return strdup("");
	case M_SHORT:
		free(pay);
		*len = 5;
		return strdup("a.b.c");
	default:
		break;
	}
	t = forge(f->hdr, pay, f->how);
	t = realloc(t, strlen(t) + 4096);
	ck_assert_ptr_nonnull(t);
	d1 = strchr(t, '.');
	d2 = strchr(d1 + 1, '.');
	switch (f->mut) {
	case M_FLIP_HDR:
		flip_at(t, (size_t)(d1 - t) / 2);
		break;
	case M_FLIP_PAY:
		flip_at(t, (size_t)(d1 - t) + (size_t)(d2 - d1) / 2);
		break;
	case M_FLIP_SIG:
		flip_at(t, (size_t)(d2 - t) + strlen(d2) / 2);
		break;
	case M_REROLE:
		free(pay);
		pay = payload("role", "\"role\":\"owner\"");
		p2 = b64url(pay, strlen(pay));
		s = strdup(d2);
		h = strndup(t, (size_t)(d1 - t));
		sprintf(t, "%s.%s%s", h, p2, s);
		free(p2);
		free(s);
		free(h);
		break;
	case M_SIG_EXTRA:
	case M_SIG_SHORT:
		{
			unsigned char raw[1024];
			size_t rn = 0;

			ck_assert_int_eq(gb_b64url_decode(d2 + 1, strlen(d2 + 1), raw,
			                                  sizeof(raw) - 1, &rn), GB_OK);
			if (f->mut == M_SIG_EXTRA)
				raw[rn++] = 0;
			else
				rn--;
			s = b64url(raw, rn);
			strcpy(d2 + 1, s);
			free(s);
		}
		break;
	case M_PAD:
		strcat(t, "=");
		break;
	case M_PAD_PAY:
		/* a payload of 3n+1 bytes needs "==" in standard base64 */
		free(pay);
		pay = payload(NULL, "\"x\":\"\"");
		while (strlen(pay) % 3 != 1) {
			memmove(pay + 6, pay + 5, strlen(pay + 5) + 1);   /* one more x in a key */
			pay[5] = 'x';
		}
		free(t);
		t = forge(f->hdr, pay, f->how);
		t = realloc(t, strlen(t) + 8);
		ck_assert_ptr_nonnull(t);
		d1 = strchr(t, '.');
		d2 = strchr(d1 + 1, '.');
		memmove(d2 + 2, d2, strlen(d2) + 1);
		d2[0] = '=';
		d2[1] = '=';
		break;
	case M_DOT:
		strcat(t, ".AAAA");
		break;
	case M_ONE_DOT:
		*d2 = '\0';
		break;
	case M_CUT_SIG:
		d2[1] = '\0';
		break;
	case M_CUT_HDR:
		memmove(t, d1, strlen(d1) + 1);
		break;
	case M_CUT_PAY:
		memmove(d1 + 1, d2, strlen(d2) + 1);
		break;
	case M_CHAR_PLUS:
		d1[3] = '+';
		break;
	case M_CHAR_SLASH:
		d1[3] = '/';
		break;
	case M_CHAR_SPACE:
		d2[3] = ' ';
		break;
	case M_CHAR_NUL:
		*len = strlen(t);
		d1[3] = '\0';
		free(pay);
		return t;
	case M_CHAR_HIGH:
		t[2] = '\xff';
		break;
	default:
		break;
	}
	free(pay);
	*len = strlen(t);
	return t;
}

START_TEST(test_forged)
{
	const struct forged *f = &forged[_i];
	struct gb_jwt_claims out, sentinel;
	const char *why = NULL;
	enum gb_err e;
	size_t len;
	char *t = build(f, &len);

	memset(&out, 0xa5, sizeof(out));
	memcpy(&sentinel, &out, sizeof(out));
	e = gb_jwt_verify(keys[f->key], &policy, t, len, NOW, &out, &why);
	if (f->why == NULL) {
		ck_assert_msg(e == GB_OK, "%s: %s", f->name, why ? why : "?");
		ck_assert_str_eq(out.sub, SUB);
		ck_assert_str_eq(out.company_id, CID);
		ck_assert_ptr_null(why);   /* untouched on success */
	} else {
		ck_assert_msg(e == GB_EINVAL, "%s: got %d (%s)", f->name, e, why ? why : "?");
		ck_assert_ptr_nonnull(why);
		ck_assert_msg(f->why[0] == '\0' || strcmp(why, f->why) == 0,
		              "%s: why \"%s\", want \"%s\"", f->name, why, f->why);
		ck_assert_msg(memcmp(&out, &sentinel, sizeof(out)) == 0, "%s: out written",
		              f->name);
	}
	free(t);
}
END_TEST

/* ---- issue and verify round trips --------------------------------------- */

static const struct gb_jwt_claims std = {
	SUB, CID, "member", "", NOW - 10, 0, NOW + 600, false
};

static const struct {
	enum key key;
	const char *header;
	size_t siglen;    /* encoded */
} algs[] = {
	{ K_HS, H_HS, 43 },
	{ K_RS, H_RS, 342 },
	{ K_ES, H_ES, 86 },
};

static void
assert_claims_eq(const struct gb_jwt_claims *a, const struct gb_jwt_claims *b)
{
	ck_assert_str_eq(a->sub, b->sub);
	ck_assert_str_eq(a->company_id, b->company_id);
	ck_assert_str_eq(a->role, b->role);
	ck_assert_str_eq(a->jti, b->jti);
	ck_assert_int_eq(a->iat, b->iat);
	ck_assert_int_eq(a->nbf, b->nbf);
	ck_assert_int_eq(a->exp, b->exp);
	ck_assert_int_eq(a->platform_admin, b->platform_admin);
}

static char *
decode_segment(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	size_t dn = 0;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(gb_b64url_decode(s, n, d, n, &dn), GB_OK);
	d[dn] = '\0';
	return d;
}

START_TEST(test_roundtrip)
{
	const struct gb_jwt_key *k = keys[algs[_i].key];
	struct gb_jwt_claims c = std, out;
	char tok[GB_JWT_MAX + 1], *h, *p;
	const char *d1, *d2, *why = NULL;

	ck_assert_int_eq(gb_jwt_issue(k, &policy, &c, tok, sizeof(tok)), GB_OK);
	memset(&out, 0, sizeof(out));
	ck_assert_int_eq(gb_jwt_verify(k, &policy, tok, strlen(tok), NOW, &out, &why), GB_OK);
	assert_claims_eq(&out, &c);

	d1 = strchr(tok, '.');
	d2 = strchr(d1 + 1, '.');
	ck_assert_ptr_null(strchr(d2 + 1, '.'));
	h = decode_segment(tok, (size_t)(d1 - tok));
	ck_assert_str_eq(h, algs[_i].header);
	p = decode_segment(d1 + 1, (size_t)(d2 - d1 - 1));
	ck_assert_str_eq(p, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"" SUB
	                 "\",\"company_id\":\"" CID "\",\"role\":\"member\","
	                 "\"iat\":1749999990,\"exp\":1750000600}");
	ck_assert_uint_eq(strlen(d2 + 1), algs[_i].siglen);
	free(h);
	free(p);

	/* every optional claim */
	strcpy(c.jti, "4bf92f3577b34da6a3ce929d0e0e4736");
	strcpy(c.role, "owner");
	c.nbf = NOW - 5;
	c.platform_admin = true;
	ck_assert_int_eq(gb_jwt_issue(k, &policy, &c, tok, sizeof(tok)), GB_OK);
	memset(&out, 0, sizeof(out));
	ck_assert_int_eq(gb_jwt_verify(k, &policy, tok, strlen(tok), NOW, &out, &why), GB_OK);
	assert_claims_eq(&out, &c);
	d1 = strchr(tok, '.');
	d2 = strchr(d1 + 1, '.');
	p = decode_segment(d1 + 1, (size_t)(d2 - d1 - 1));
	ck_assert_str_eq(p, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"" SUB
	                 "\",\"company_id\":\"" CID "\",\"role\":\"owner\","
	                 "\"iat\":1749999990,\"exp\":1750000600,\"nbf\":1749999995,"
	                 "\"jti\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"pa\":true}");
	free(p);

	/* what one key issued no other key accepts */
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i] == k || (i == K_RS_PUB && k == keys[K_RS]) ||
		    (i == K_ES_PUB && k == keys[K_ES]))
			continue;
		ck_assert_int_eq(gb_jwt_verify(keys[i], &policy, tok, strlen(tok), NOW, &out, &why),
		                 GB_EINVAL);
	}
	ck_assert_int_eq(gb_jwt_verify(keys[algs[_i].key == K_HS ? K_HS :
	                                    algs[_i].key == K_RS ? K_RS_PUB : K_ES_PUB],
	                               &policy, tok, strlen(tok), NOW, &out, &why), GB_OK);
}
END_TEST

/* Tokens from gb_jwt_issue verify with libcrypto alone (standard JWS). */
START_TEST(test_interop)
{
	struct gb_jwt_claims c = std;
	char tok[GB_JWT_MAX + 1], *d2;
	unsigned char sig[512], mac[32], *der = NULL;
	size_t sn = 0, i;
	unsigned int ml = 0;
	int dl;
	EVP_MD_CTX *ctx;
	ECDSA_SIG *es;
	EVP_PKEY *pk;

	for (i = 0; i < NELEM(algs); i++) {
		ck_assert_int_eq(gb_jwt_issue(keys[algs[i].key], &policy, &c, tok, sizeof(tok)),
		                 GB_OK);
		d2 = strrchr(tok, '.');
		ck_assert_int_eq(gb_b64url_decode(d2 + 1, strlen(d2 + 1), sig, sizeof(sig), &sn),
		                 GB_OK);
		if (algs[i].key == K_HS) {
			HMAC(EVP_sha256(), SECRET, 32, (unsigned char *)tok, (size_t)(d2 - tok), mac,
			     &ml);
			ck_assert_uint_eq(sn, 32);
			ck_assert_mem_eq(sig, mac, 32);
			continue;
		}
		pk = algs[i].key == K_RS ? pkeys[PK_RSA] : pkeys[PK_EC];
		if (algs[i].key == K_ES) {
			ck_assert_uint_eq(sn, 64);
			es = ECDSA_SIG_new();
			ck_assert_int_eq(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL),
			                                BN_bin2bn(sig + 32, 32, NULL)), 1);
			dl = i2d_ECDSA_SIG(es, &der);
			ck_assert_int_gt(dl, 0);
			memcpy(sig, der, (size_t)dl);
			sn = (size_t)dl;
			OPENSSL_free(der);
			der = NULL;
			ECDSA_SIG_free(es);
		} else {
			ck_assert_uint_eq(sn, 256);
		}
		ctx = EVP_MD_CTX_new();
		ck_assert_int_eq(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk), 1);
		ck_assert_int_eq(EVP_DigestVerify(ctx, sig, sn, (unsigned char *)tok,
		                                  (size_t)(d2 - tok)), 1);
		EVP_MD_CTX_free(ctx);
	}
}
END_TEST

/* ES256 signatures are randomized; HS256 and RS256 are deterministic. */
START_TEST(test_issue_determinism)
{
	char a[GB_JWT_MAX + 1], b[GB_JWT_MAX + 1];

	ck_assert_int_eq(gb_jwt_issue(keys[K_HS], &policy, &std, a, sizeof(a)), GB_OK);
	ck_assert_int_eq(gb_jwt_issue(keys[K_HS], &policy, &std, b, sizeof(b)), GB_OK);
	ck_assert_str_eq(a, b);
	ck_assert_int_eq(gb_jwt_issue(keys[K_ES], &policy, &std, a, sizeof(a)), GB_OK);
	ck_assert_int_eq(gb_jwt_issue(keys[K_ES], &policy, &std, b, sizeof(b)), GB_OK);
	ck_assert_str_ne(a, b);
}
END_TEST

/* Claims that verify rejects are never issued. */
static const struct {
	const char *name;
	const char *sub, *company_id, *role, *jti;
	int64_t iat, nbf, exp;
} bad_claims[] = {
	{ "sub empty", "", CID, "member", "", NOW, 0, NOW + 60 },
	{ "sub not a UUID", "alice", CID, "member", "", NOW, 0, NOW + 60 },
	{ "company_id uppercase", SUB, "0B8E9F7A-1C2D-4E3F-9A8B-7C6D5E4F3A2B", "member", "", NOW,
	  0, NOW + 60 },
	{ "company_id empty", SUB, "", "member", "", NOW, 0, NOW + 60 },
	{ "role superuser", SUB, CID, "superuser", "", NOW, 0, NOW + 60 },
	{ "role empty", SUB, CID, "", "", NOW, 0, NOW + 60 },
	{ "jti with a space", SUB, CID, "member", "a b", NOW, 0, NOW + 60 },
	{ "jti with a quote", SUB, CID, "member", "a\"b", NOW, 0, NOW + 60 },
	{ "exp before iat", SUB, CID, "member", "", NOW, 0, NOW - 1 },
	{ "exp equal to iat", SUB, CID, "member", "", NOW, 0, NOW },
	{ "iat negative", SUB, CID, "member", "", -5, 0, NOW },
	{ "exp past year 9999", SUB, CID, "member", "", NOW, 0, GB_JWT_TIME_MAX + 1 },
	{ "nbf negative", SUB, CID, "member", "", NOW, -1, NOW + 60 },
};

START_TEST(test_issue_bad_claims)
{
	struct gb_jwt_claims c;
	char tok[GB_JWT_MAX + 1] = "unchanged";

	memset(&c, 0, sizeof(c));
	strcpy(c.sub, bad_claims[_i].sub);
	strcpy(c.company_id, bad_claims[_i].company_id);
	strcpy(c.role, bad_claims[_i].role);
	strcpy(c.jti, bad_claims[_i].jti);
	c.iat = bad_claims[_i].iat;
	c.nbf = bad_claims[_i].nbf;
	c.exp = bad_claims[_i].exp;
	ck_assert_msg(gb_jwt_issue(keys[K_HS], &policy, &c, tok, sizeof(tok)) == GB_EINVAL,
	              "%s", bad_claims[_i].name);
	ck_assert_str_eq(tok, "unchanged");
}
END_TEST

START_TEST(test_issue_errors)
{
	struct gb_jwt_claims c = std;
	struct gb_jwt_policy p = policy;
	char tok[GB_JWT_MAX + 1], small[64];
	size_t n;

	/* too small an out, by one byte */
	ck_assert_int_eq(gb_jwt_issue(keys[K_HS], &policy, &c, tok, sizeof(tok)), GB_OK);
	n = strlen(tok);
	memset(tok, 'u', sizeof(tok));
	ck_assert_int_eq(gb_jwt_issue(keys[K_HS], &policy, &c, tok, n), GB_ERANGE);
	ck_assert_int_eq(tok[0], 'u');
	ck_assert_int_eq(tok[n - 1], 'u');
	ck_assert_int_eq(gb_jwt_issue(keys[K_HS], &policy, &c, tok, n + 1), GB_OK);
	ck_assert_uint_eq(strlen(tok), n);
	strcpy(small, "unchanged");
	ck_assert_int_eq(gb_jwt_issue(keys[K_HS], &policy, &c, small, sizeof(small)), GB_ERANGE);
	ck_assert_str_eq(small, "unchanged");
	ck_assert_int_eq(gb_jwt_issue(keys[K_HS], &policy, &c, small, 0), GB_ERANGE);

	/* verify-only keys cannot sign */
	ck_assert_int_eq(gb_jwt_issue(keys[K_RS_PUB], &policy, &c, tok, sizeof(tok)), GB_ECONFIG);
	ck_assert_int_eq(gb_jwt_issue(keys[K_ES_PUB], &policy, &c, tok, sizeof(tok)), GB_ECONFIG);

	/* incomplete policy */
	p.iss = NULL;
	ck_assert_int_eq(gb_jwt_issue(keys[K_HS], &p, &c, tok, sizeof(tok)), GB_ECONFIG);
	p = policy;
	p.aud = "";
	ck_assert_int_eq(gb_jwt_issue(keys[K_HS], &p, &c, tok, sizeof(tok)), GB_ECONFIG);

	ck_assert_int_eq(gb_jwt_issue(NULL, &policy, &c, tok, sizeof(tok)), GB_EINVAL);
	ck_assert_int_eq(gb_jwt_issue(keys[K_HS], NULL, &c, tok, sizeof(tok)), GB_EINVAL);
	ck_assert_int_eq(gb_jwt_issue(keys[K_HS], &policy, NULL, tok, sizeof(tok)), GB_EINVAL);
	ck_assert_int_eq(gb_jwt_issue(keys[K_HS], &policy, &c, NULL, sizeof(tok)), GB_EINVAL);

	/* not NUL-terminated claim buffers */
	memset(c.role, 'a', sizeof(c.role));
	ck_assert_int_eq(gb_jwt_issue(keys[K_HS], &policy, &c, tok, sizeof(tok)), GB_EINVAL);
	c = std;
	memset(c.jti, 'a', sizeof(c.jti));
	ck_assert_int_eq(gb_jwt_issue(keys[K_HS], &policy, &c, tok, sizeof(tok)), GB_EINVAL);
	c.jti[sizeof(c.jti) - 1] = '\0';    /* 47: the most */
	ck_assert_int_eq(gb_jwt_issue(keys[K_HS], &policy, &c, tok, sizeof(tok)), GB_OK);

	/* a token over GB_JWT_MAX is not issued */
	{
		char iss[4000];

		memset(iss, 'i', sizeof(iss) - 1);
		iss[sizeof(iss) - 1] = '\0';
		p = policy;
		p.iss = iss;
		ck_assert_int_eq(gb_jwt_issue(keys[K_HS], &p, &std, tok, sizeof(tok)), GB_ERANGE);
	}
}
END_TEST

START_TEST(test_verify_policy)
{
	struct gb_jwt_claims out;
	struct gb_jwt_policy p = policy;
	char tok[GB_JWT_MAX + 1];
	const char *why = NULL;
	size_t n;

	ck_assert_int_eq(gb_jwt_issue(keys[K_HS], &policy, &std, tok, sizeof(tok)), GB_OK);
	n = strlen(tok);
	p.leeway_s = -1;
	ck_assert_int_eq(gb_jwt_verify(keys[K_HS], &p, tok, n, NOW, &out, &why), GB_ECONFIG);
	p.leeway_s = GB_JWT_LEEWAY_MAX + 1;
	ck_assert_int_eq(gb_jwt_verify(keys[K_HS], &p, tok, n, NOW, &out, &why), GB_ECONFIG);
	p.leeway_s = GB_JWT_LEEWAY_MAX;
	ck_assert_int_eq(gb_jwt_verify(keys[K_HS], &p, tok, n, NOW, &out, &why), GB_OK);
	p = policy;
	p.aud = NULL;
	ck_assert_int_eq(gb_jwt_verify(keys[K_HS], &p, tok, n, NOW, &out, &why), GB_ECONFIG);
	p = policy;
	p.iss = "";
	ck_assert_int_eq(gb_jwt_verify(keys[K_HS], &p, tok, n, NOW, &out, &why), GB_ECONFIG);

	/* leeway 0: valid the second before exp, refused at exp (RFC 7519) */
	p = policy;
	p.leeway_s = 0;
	ck_assert_int_eq(gb_jwt_verify(keys[K_HS], &p, tok, n, NOW + 599, &out, &why), GB_OK);
	ck_assert_int_eq(gb_jwt_verify(keys[K_HS], &p, tok, n, NOW + 600, &out, &why), GB_EINVAL);
	ck_assert_str_eq(why, "expired");
	ck_assert_int_eq(gb_jwt_verify(keys[K_HS], &p, tok, n, NOW - 11, &out, &why), GB_EINVAL);
	ck_assert_str_eq(why, "issued in the future");

	/* the clock itself */
	ck_assert_int_eq(gb_jwt_verify(keys[K_HS], &policy, tok, n, -1, &out, &why), GB_EINVAL);
	ck_assert_int_eq(gb_jwt_verify(keys[K_HS], &policy, tok, n, INT64_MAX, &out, &why),
	                 GB_EINVAL);

	/* length is what counts, not a NUL: a prefix of a token fails */
	ck_assert_int_eq(gb_jwt_verify(keys[K_HS], &policy, tok, n - 1, NOW, &out, &why),
	                 GB_EINVAL);
	ck_assert_int_eq(gb_jwt_verify(keys[K_HS], &policy, NULL, n, NOW, &out, &why), GB_EINVAL);
	ck_assert_int_eq(gb_jwt_verify(NULL, &policy, tok, n, NOW, &out, &why), GB_EINVAL);
	ck_assert_int_eq(gb_jwt_verify(keys[K_HS], NULL, tok, n, NOW, &out, &why), GB_EINVAL);
	ck_assert_int_eq(gb_jwt_verify(keys[K_HS], &policy, tok, n, NOW, NULL, &why), GB_EINVAL);
	/* why may be NULL */
	ck_assert_int_eq(gb_jwt_verify(keys[K_HS], &policy, tok, n - 1, NOW, &out, NULL),
	                 GB_EINVAL);
	ck_assert_int_eq(gb_jwt_verify(keys[K_HS], &policy, tok, n, NOW, &out, NULL), GB_OK);
}
END_TEST

/* ---- algorithms and keys ------------------------------------------------ */

static const struct {
	const char *name;
	enum gb_err err;
	enum gb_jwt_alg alg;
} alg_cases[] = {
	{ "HS256", GB_OK, GB_JWT_HS256 },
	{ "RS256", GB_OK, GB_JWT_RS256 },
	{ "ES256", GB_OK, GB_JWT_ES256 },
	{ "hs256", GB_EINVAL, 0 },
	{ "Rs256", GB_EINVAL, 0 },
	{ "es256", GB_EINVAL, 0 },
	{ "none", GB_EINVAL, 0 },
	{ "HS512", GB_EINVAL, 0 },
	{ "PS256", GB_EINVAL, 0 },
	{ "HS256 ", GB_EINVAL, 0 },
	{ " HS256", GB_EINVAL, 0 },
	{ "HS25", GB_EINVAL, 0 },
	{ "", GB_EINVAL, 0 },
	{ NULL, GB_EINVAL, 0 },
};

START_TEST(test_alg_parse)
{
	enum gb_jwt_alg a = (enum gb_jwt_alg)99;

	ck_assert_int_eq(gb_jwt_alg_parse(alg_cases[_i].name, &a), alg_cases[_i].err);
	if (alg_cases[_i].err == GB_OK) {
		ck_assert_int_eq(a, alg_cases[_i].alg);
		ck_assert_str_eq(gb_jwt_alg_name(a), alg_cases[_i].name);
	} else {
		ck_assert_int_eq(a, 99);
	}
}
END_TEST

START_TEST(test_alg_name)
{
	ck_assert_str_eq(gb_jwt_alg_name(GB_JWT_HS256), "HS256");
	ck_assert_str_eq(gb_jwt_alg_name(GB_JWT_RS256), "RS256");
	ck_assert_str_eq(gb_jwt_alg_name(GB_JWT_ES256), "ES256");
	ck_assert_str_eq(gb_jwt_alg_name((enum gb_jwt_alg)3), "?");
	ck_assert_str_eq(gb_jwt_alg_name((enum gb_jwt_alg)-1), "?");
	ck_assert_int_eq(gb_jwt_key_alg(keys[K_HS]), GB_JWT_HS256);
	ck_assert_int_eq(gb_jwt_key_alg(keys[K_RS_PUB]), GB_JWT_RS256);
	ck_assert_int_eq(gb_jwt_key_alg(keys[K_ES]), GB_JWT_ES256);
}
END_TEST

static const struct {
	size_t len;
	enum gb_err err;
} hmac_cases[] = {
	{ 0, GB_EINVAL },
	{ 1, GB_EINVAL },
	{ GB_JWT_SECRET_MIN - 1, GB_EINVAL },
	{ GB_JWT_SECRET_MIN, GB_OK },
	{ 64, GB_OK },
	{ GB_JWT_SECRET_MAX, GB_OK },
	{ GB_JWT_SECRET_MAX + 1, GB_EINVAL },
};

START_TEST(test_key_hmac)
{
	struct gb_jwt_key *k = (struct gb_jwt_key *)&k;   /* a sentinel */
	char *secret = t_repeat('s', hmac_cases[_i].len);

	ck_assert_int_eq(gb_jwt_key_hmac(secret, hmac_cases[_i].len, &k), hmac_cases[_i].err);
	if (hmac_cases[_i].err == GB_OK) {
		ck_assert_int_eq(gb_jwt_key_alg(k), GB_JWT_HS256);
		gb_jwt_key_free(k);
	} else {
		ck_assert_ptr_eq(k, (struct gb_jwt_key *)&k);
	}
	free(secret);
}
END_TEST

/* The key keeps its own copy: the caller may wipe the secret. */
START_TEST(test_key_hmac_copy)
{
	char secret[] = SECRET, tok[GB_JWT_MAX + 1];
	struct gb_jwt_key *k = NULL;
	struct gb_jwt_claims out;

	ck_assert_int_eq(gb_jwt_key_hmac(secret, 32, &k), GB_OK);
	explicit_bzero(secret, sizeof(secret));
	ck_assert_int_eq(gb_jwt_issue(k, &policy, &std, tok, sizeof(tok)), GB_OK);
	ck_assert_int_eq(gb_jwt_verify(keys[K_HS], &policy, tok, strlen(tok), NOW, &out, NULL),
	                 GB_OK);
	gb_jwt_key_free(k);
	gb_jwt_key_free(NULL);
	ck_assert_int_eq(gb_jwt_key_hmac(NULL, 32, &k), GB_EINVAL);
	ck_assert_int_eq(gb_jwt_key_hmac(SECRET, 32, NULL), GB_EINVAL);
}
END_TEST

enum pem_file { F_NONE, F_MISSING, F_GARBAGE, F_ENCRYPTED, F_PRIV, F_PUB };

static const struct {
	const char *name;
	enum gb_jwt_alg alg;
	enum pem_file priv_kind;
	enum pk priv;
	enum pem_file pub_kind;
	enum pk pub;
	enum gb_err err;
	const char *why;
} pem_cases[] = {
	{ "RS256 pair", GB_JWT_RS256, F_PRIV, PK_RSA, F_PUB, PK_RSA, GB_OK, "" },
	{ "RS256 public only", GB_JWT_RS256, F_NONE, 0, F_PUB, PK_RSA, GB_OK, "" },
	{ "ES256 pair", GB_JWT_ES256, F_PRIV, PK_EC, F_PUB, PK_EC, GB_OK, "" },
	{ "ES256 public only", GB_JWT_ES256, F_NONE, 0, F_PUB, PK_EC, GB_OK, "" },
	{ "RS256 with EC keys", GB_JWT_RS256, F_PRIV, PK_EC, F_PUB, PK_EC, GB_ECONFIG,
	  "not an RSA key" },
	{ "RS256 with an EC public key", GB_JWT_RS256, F_NONE, 0, F_PUB, PK_EC, GB_ECONFIG,
	  "not an RSA key" },
	{ "RS256 with an RSA-PSS key", GB_JWT_RS256, F_NONE, 0, F_PUB, PK_RSAPSS, GB_ECONFIG,
	  "not an RSA key" },
	{ "RS256 with an RSA-PSS private key", GB_JWT_RS256, F_PRIV, PK_RSAPSS, F_PUB, PK_RSA,
	  GB_ECONFIG, "not an RSA key" },
	{ "ES256 with RSA keys", GB_JWT_ES256, F_PRIV, PK_RSA, F_PUB, PK_RSA, GB_ECONFIG,
	  "not a P-256 EC key" },
	{ "ES256 with P-384", GB_JWT_ES256, F_NONE, 0, F_PUB, PK_EC384, GB_ECONFIG,
	  "not a P-256 EC key" },
	{ "ES256 with a P-384 private key", GB_JWT_ES256, F_PRIV, PK_EC384, F_PUB, PK_EC,
	  GB_ECONFIG, "not a P-256 EC key" },
	{ "RS256 with 1024 bits", GB_JWT_RS256, F_NONE, 0, F_PUB, PK_RSA1024, GB_ECONFIG,
	  "1024 bits" },
	{ "RS256 pair of 1024 bits", GB_JWT_RS256, F_PRIV, PK_RSA1024, F_PUB, PK_RSA1024,
	  GB_ECONFIG, "1024 bits" },
	{ "RS256 mismatched pair", GB_JWT_RS256, F_PRIV, PK_RSA2, F_PUB, PK_RSA, GB_ECONFIG,
	  "does not match" },
	{ "ES256 mismatched pair", GB_JWT_ES256, F_PRIV, PK_EC2, F_PUB, PK_EC, GB_ECONFIG,
	  "does not match" },
	{ "private key as public", GB_JWT_RS256, F_NONE, 0, F_PRIV, PK_RSA, GB_ECONFIG,
	  "public key" },
	{ "public key as private", GB_JWT_RS256, F_PUB, PK_RSA, F_PUB, PK_RSA, GB_ECONFIG,
	  "private key" },
	{ "encrypted private key", GB_JWT_RS256, F_ENCRYPTED, 0, F_PUB, PK_RSA, GB_ECONFIG,
	  "private key" },
	{ "missing public file", GB_JWT_RS256, F_NONE, 0, F_MISSING, 0, GB_ECONFIG,
	  "cannot open" },
	{ "missing private file", GB_JWT_ES256, F_MISSING, 0, F_PUB, PK_EC, GB_ECONFIG,
	  "cannot open" },
	{ "garbage public file", GB_JWT_ES256, F_NONE, 0, F_GARBAGE, 0, GB_ECONFIG, "garbage" },
	{ "no public file", GB_JWT_RS256, F_PRIV, PK_RSA, F_NONE, 0, GB_EINVAL, "public" },
	{ "HS256 from PEM", GB_JWT_HS256, F_PRIV, PK_RSA, F_PUB, PK_RSA, GB_EINVAL, "RS256" },
};

static const char *
pem_path(enum pem_file kind, enum pk which)
{
	switch (kind) {
	case F_NONE:
		return NULL;
	case F_MISSING:
		return "/nonexistent/gerbang/key.pem";
	case F_GARBAGE:
		return garbage_path;
	case F_ENCRYPTED:
		return encrypted_path;
	case F_PRIV:
		return privpath[which];
	case F_PUB:
		return pubpath[which];
	}
	return NULL;
}

START_TEST(test_key_pem)
{
	struct gb_jwt_key *k = (struct gb_jwt_key *)&k;
	char why[512] = "unset";
	enum gb_err e;

	e = gb_jwt_key_pem(pem_cases[_i].alg, pem_path(pem_cases[_i].priv_kind, pem_cases[_i].priv),
	                   pem_path(pem_cases[_i].pub_kind, pem_cases[_i].pub), &k, why,
	                   sizeof(why));
	ck_assert_msg(e == pem_cases[_i].err, "%s: got %d (%s)", pem_cases[_i].name, e, why);
	ck_assert_msg(strstr(why, pem_cases[_i].why) != NULL, "%s: why \"%s\"",
	              pem_cases[_i].name, why);
	if (e == GB_OK) {
		ck_assert_int_eq(gb_jwt_key_alg(k), pem_cases[_i].alg);
		gb_jwt_key_free(k);
	} else {
		ck_assert_ptr_eq(k, (struct gb_jwt_key *)&k);
	}
}
END_TEST

START_TEST(test_key_pem_why_optional)
{
	struct gb_jwt_key *k = NULL;
	char why[8];

	ck_assert_int_eq(gb_jwt_key_pem(GB_JWT_RS256, NULL, "/nonexistent", &k, NULL, 0),
	                 GB_ECONFIG);
	ck_assert_int_eq(gb_jwt_key_pem(GB_JWT_RS256, NULL, "/nonexistent", &k, why, sizeof(why)),
	                 GB_ECONFIG);
	ck_assert_uint_eq(strlen(why), sizeof(why) - 1);   /* truncated, terminated */
	ck_assert_ptr_null(k);
}
END_TEST

/* ---- base64url ---------------------------------------------------------- */

static const struct {
	const char *raw;
	size_t n;
	const char *enc;
} b64_vectors[] = {
	{ "", 0, "" },
	{ "f", 1, "Zg" },
	{ "fo", 2, "Zm8" },
	{ "foo", 3, "Zm9v" },
	{ "foob", 4, "Zm9vYg" },
	{ "fooba", 5, "Zm9vYmE" },
	{ "foobar", 6, "Zm9vYmFy" },
	{ "\xfb\xff", 2, "-_8" },
	{ "\xff\xff\xff", 3, "____" },
	{ "\0\0\0", 3, "AAAA" },
	{ "\0", 1, "AA" },
	{ "\x3e\x3f", 2, "Pj8" },
};

START_TEST(test_b64url_vectors)
{
	char enc[32], dec[32];
	size_t n = 99;

	ck_assert_int_eq(gb_b64url_encode(b64_vectors[_i].raw, b64_vectors[_i].n, enc,
	                                  sizeof(enc), &n), GB_OK);
	ck_assert_str_eq(enc, b64_vectors[_i].enc);
	ck_assert_uint_eq(n, strlen(b64_vectors[_i].enc));
	ck_assert_uint_eq(GB_B64URL_LEN(b64_vectors[_i].n), n);
	n = 99;
	ck_assert_int_eq(gb_b64url_decode(enc, strlen(enc), dec, sizeof(dec), &n), GB_OK);
	ck_assert_uint_eq(n, b64_vectors[_i].n);
	ck_assert_mem_eq(dec, b64_vectors[_i].raw, n);
	/* exactly enough room, and one byte less */
	ck_assert_int_eq(gb_b64url_encode(b64_vectors[_i].raw, b64_vectors[_i].n, enc,
	                                  strlen(b64_vectors[_i].enc) + 1, NULL), GB_OK);
	strcpy(enc, "unchanged");
	ck_assert_int_eq(gb_b64url_encode(b64_vectors[_i].raw, b64_vectors[_i].n, enc,
	                                  strlen(b64_vectors[_i].enc), NULL), GB_ERANGE);
	ck_assert_str_eq(enc, "unchanged");
	if (b64_vectors[_i].n > 0) {
		memset(dec, 'u', sizeof(dec));
		ck_assert_int_eq(gb_b64url_decode(b64_vectors[_i].enc, strlen(b64_vectors[_i].enc),
		                                  dec, b64_vectors[_i].n - 1, NULL), GB_ERANGE);
		ck_assert_int_eq(dec[0], 'u');
	}
}
END_TEST

static const struct {
	const char *enc;
	enum gb_err err;
} b64_bad[] = {
	{ "Zg==", GB_EINVAL },     /* padding */
	{ "Zg=", GB_EINVAL },
	{ "Zm9v=", GB_EINVAL },
	{ "Z", GB_EINVAL },        /* n % 4 == 1 */
	{ "Zm9vY", GB_EINVAL },
	{ "Zh", GB_EINVAL },       /* stray bits */
	{ "Zm9", GB_EINVAL },
	{ "Zm+v", GB_EINVAL },     /* standard alphabet */
	{ "Zm/v", GB_EINVAL },
	{ "Zm v", GB_EINVAL },
	{ "Zm.v", GB_EINVAL },
	{ "Zm\xc3\xa9", GB_EINVAL },
	{ "Zm9v\n", GB_EINVAL },
};

START_TEST(test_b64url_bad)
{
	char dec[32] = "unchanged";
	size_t n = 99;

	ck_assert_int_eq(gb_b64url_decode(b64_bad[_i].enc, strlen(b64_bad[_i].enc), dec,
	                                  sizeof(dec), &n), b64_bad[_i].err);
	ck_assert_str_eq(dec, "unchanged");
	ck_assert_uint_eq(n, 99);
}
END_TEST

/* Every byte value survives, and a NUL inside the input is not accepted. */
START_TEST(test_b64url_all_bytes)
{
	unsigned char raw[256], dec[256];
	char enc[GB_B64URL_LEN(256) + 1];
	size_t i, n, m;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)i;
	for (m = 0; m <= sizeof(raw); m++) {
		ck_assert_int_eq(gb_b64url_encode(raw, m, enc, sizeof(enc), &n), GB_OK);
		ck_assert_int_eq(gb_b64url_decode(enc, n, dec, sizeof(dec), &n), GB_OK);
		ck_assert_uint_eq(n, m);
		ck_assert_mem_eq(dec, raw, m);
	}
	ck_assert_int_eq(gb_b64url_decode("Zm\0v", 4, dec, sizeof(dec), &n), GB_EINVAL);
}
END_TEST

static Suite *
jwt_suite(void)
{
	Suite *s = suite_create("gb_jwt");
	TCase *tf = tcase_create("forged");
	TCase *tr = tcase_create("roundtrip");
	TCase *tk = tcase_create("keys");
	TCase *tb = tcase_create("b64url");

	make_keys();   /* before the tests fork: every test sees the same keys */

	tcase_add_loop_test(tf, test_forged, 0, (int)NELEM(forged));
	suite_add_tcase(s, tf);

	tcase_add_loop_test(tr, test_roundtrip, 0, (int)NELEM(algs));
	tcase_add_test(tr, test_interop);
	tcase_add_test(tr, test_issue_determinism);
	tcase_add_loop_test(tr, test_issue_bad_claims, 0, (int)NELEM(bad_claims));
	tcase_add_test(tr, test_issue_errors);
	tcase_add_test(tr, test_verify_policy);
	suite_add_tcase(s, tr);

	tcase_add_loop_test(tk, test_alg_parse, 0, (int)NELEM(alg_cases));
	tcase_add_test(tk, test_alg_name);
	tcase_add_loop_test(tk, test_key_hmac, 0, (int)NELEM(hmac_cases));
	tcase_add_test(tk, test_key_hmac_copy);
	tcase_add_loop_test(tk, test_key_pem, 0, (int)NELEM(pem_cases));
	tcase_add_test(tk, test_key_pem_why_optional);
	suite_add_tcase(s, tk);

	tcase_add_loop_test(tb, test_b64url_vectors, 0, (int)NELEM(b64_vectors));
	tcase_add_loop_test(tb, test_b64url_bad, 0, (int)NELEM(b64_bad));
	tcase_add_test(tb, test_b64url_all_bytes);
	suite_add_tcase(s, tb);
	return s;
}

GB_TEST_MAIN(jwt_suite)
