#include "config.h"
#include "gb_hmac.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

/* A thread uses one or two keys (the access-token secret, a plugin's
 * signing secret): a few slots, replaced round-robin. */
#define SLOTS 4

struct slot {
	EVP_MAC_CTX *ctx;       /* keyed with key; NULL: empty */
	size_t keylen;
	unsigned char key[GB_HMAC_KEY_MAX];
};

static _Thread_local struct slot slots[SLOTS];
static _Thread_local unsigned next_slot;
static _Thread_local EVP_MAC *mac;

static void
slot_clear(struct slot *s)
{
	EVP_MAC_CTX_free(s->ctx);
	s->ctx = NULL;
	explicit_bzero(s->key, s->keylen);
	s->keylen = 0;
}

/* The slot keyed with key, keying one when none is. */
static struct slot *
slot_for(const void *key, size_t keylen)
{
	OSSL_PARAM params[2];
	struct slot *s;
	unsigned i;

	for (i = 0; i < SLOTS; i++) {
		s = &slots[i];
		if (s->ctx != NULL && s->keylen == keylen &&
		    CRYPTO_memcmp(s->key, key, keylen) == 0)
			return s;
	}
	if (mac == NULL && (mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return NULL;
	s = &slots[next_slot++ % SLOTS];
	slot_clear(s);
	if ((s->ctx = EVP_MAC_CTX_new(mac)) == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(s->ctx, key, keylen, params) != 1) {
		slot_clear(s);
		return NULL;
	}
	memcpy(s->key, key, keylen);
	s->keylen = keylen;
	return s;
}

int
gb_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
               unsigned char out[GB_HMAC_SHA256_LEN])
{
	struct slot *s;
	size_t outlen = 0;

	static const unsigned char empty[1];

	if (keylen == 0)
		key = empty;            /* a NULL key would mean "keep the old one" */
	if (key == NULL)
		return -1;
	if (keylen > GB_HMAC_KEY_MAX) {
		/* Too long to keep a copy of: the one-shot way. */
		if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, data, n, out,
		              GB_HMAC_SHA256_LEN, &outlen) == NULL || outlen != GB_HMAC_SHA256_LEN)
			goto err;
		return 0;
	}
	s = slot_for(key, keylen);
	if (s == NULL)
		goto err;
	/* Init without a key starts over from the key state stored in the
	 * context: the pads are not derived again. */
	if (EVP_MAC_init(s->ctx, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(s->ctx, data, n) != 1 ||
	    EVP_MAC_final(s->ctx, out, &outlen, GB_HMAC_SHA256_LEN) != 1 ||
	    outlen != GB_HMAC_SHA256_LEN) {
		slot_clear(s);
		goto err;
	}
	return 0;
err:
	ERR_clear_error();
	return -1;
}

void
gb_hmac_thread_end(void)
{
	unsigned i;

	for (i = 0; i < SLOTS; i++)
		slot_clear(&slots[i]);
	EVP_MAC_free(mac);
	mac = NULL;
}
