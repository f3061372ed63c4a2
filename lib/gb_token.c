#include "config.h"
#include "gb_token.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "gb_jwt.h"
#include "gb_reqid.h"

#define TOKEN_BYTES 32

_Static_assert(GB_B64URL_LEN(TOKEN_BYTES) == GB_TOKEN_LEN, "43 characters hold 32 bytes");

void
gb_token_new(char out[GB_TOKEN_LEN + 1])
{
	unsigned char r[TOKEN_BYTES];

	gb_random_bytes(r, sizeof(r));
	/* cannot fail: out has room for GB_B64URL_LEN(32) + 1 */
	(void)gb_b64url_encode(r, sizeof(r), out, GB_TOKEN_LEN + 1, NULL);
	explicit_bzero(r, sizeof(r));
}

bool
gb_token_valid(const char *s)
{
	unsigned char r[TOKEN_BYTES];
	bool ok;

	if (s == NULL || strnlen(s, GB_TOKEN_LEN + 1) != GB_TOKEN_LEN)
		return false;
	ok = gb_b64url_decode(s, GB_TOKEN_LEN, r, sizeof(r), NULL) == GB_OK;
	explicit_bzero(r, sizeof(r));
	return ok;
}

enum gb_err
gb_token_hash(const char *token, char out[GB_TOKEN_HASH_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	enum gb_err e = GB_EINVAL;

	if (!gb_token_valid(token) || out == NULL)
		goto err;
	e = GB_ENOMEM;
	if (EVP_Digest(token, GB_TOKEN_LEN, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen * 2 != GB_TOKEN_HASH_LEN) {
		ERR_clear_error();
		goto err;
	}
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[GB_TOKEN_HASH_LEN] = '\0';
	e = GB_OK;
err:
	explicit_bzero(md, sizeof(md));
	return e;
}
