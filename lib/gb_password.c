#include "config.h"
#include "gb_password.h"

#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#if !defined(CRYPT_GENSALT_IMPLEMENTS_AUTO_ENTROPY) || !CRYPT_GENSALT_IMPLEMENTS_AUTO_ENTROPY
#error "libcrypt must find its own salt entropy (libxcrypt >= 4.0)"
#endif

_Static_assert(GB_PASSWORD_HASH_SIZE == CRYPT_OUTPUT_SIZE, "hash size is libcrypt's");
_Static_assert(GB_PASSWORD_MAX < CRYPT_MAX_PASSPHRASE_SIZE, "libcrypt takes the longest");

/* Prefixes of the methods whose hashes may match. */
static const char *const accepted[] = { "$y$", "$gy$", "$7$", "$2b$", "$2y$", "$6$", "$5$" };

/* The dummy hash is made once per process, so that it costs what the
 * running libcrypt's default costs; if that fails, this yescrypt setting
 * (libxcrypt 4.4's default cost) still makes burning take the time. */
static const char dummy_password[] = "gerbang: no such user";
static const char dummy_fallback[] = "$y$j9T$4xo.UgLXOkco3uaRdT06b0";
static char dummy_hash[CRYPT_OUTPUT_SIZE];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static bool
password_ok(const char *password)
{
	size_t n;

	if (password == NULL)
		return false;
	n = strnlen(password, GB_PASSWORD_MAX + 1);
	return n > 0 && n <= GB_PASSWORD_MAX;
}

static bool
method_accepted(const char *hash)
{
	size_t i;

	for (i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
		if (strncmp(hash, accepted[i], strlen(accepted[i])) == 0)
			return true;
	return false;
}

/* struct crypt_data is 32 KiB: too big for a thread's stack. */
static struct crypt_data *
cd_new(void)
{
	return calloc(1, sizeof(struct crypt_data));
}

static void
cd_free(struct crypt_data *cd)
{
	if (cd == NULL)
		return;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
}

enum gb_err
gb_password_hash(const char *password, char *out, size_t outlen)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = NULL;
	const char *h;
	enum gb_err e = GB_EINVAL;
	size_t n;

	if (!password_ok(password) || out == NULL)
		goto err;
	e = GB_ESYS;
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, (int)sizeof(salt)) == NULL)
		goto err;
	e = GB_ENOMEM;
	cd = cd_new();
	if (cd == NULL)
		goto err;
	e = GB_ESYS;
	h = crypt_r(password, salt, cd);
	if (h == NULL || h[0] != '$')   /* "*0" and "*1" are failures */
		goto err;
	e = GB_ERANGE;
	n = strlen(h);
	if (n + 1 > outlen)
		goto err;
	memcpy(out, h, n + 1);
	e = GB_OK;
err:
	cd_free(cd);
	return e;
}

/* The verification itself.  A hash of a method not accepted, or locked,
 * is replaced by the dummy one (made by then: callers run dummy_once), so
 * that the time does not tell it from a real one. */
static bool
check(const char *password, const char *hash)
{
	struct crypt_data *cd = NULL;
	const char *setting = hash, *h;
	size_t n;
	bool ok = false, usable;

	if (!password_ok(password) || hash == NULL)
		return false;
	n = strnlen(hash, CRYPT_OUTPUT_SIZE);
	usable = n < CRYPT_OUTPUT_SIZE && method_accepted(hash);
	if (!usable)
		setting = dummy_hash;
	cd = cd_new();
	if (cd == NULL)
		goto err;
	h = crypt_r(password, setting, cd);
	if (h == NULL || h[0] != '$' || !usable)
		goto err;
	ok = strlen(h) == n && CRYPTO_memcmp(h, hash, n) == 0;
err:
	cd_free(cd);
	return ok;
}

static void
dummy_make(void)
{
	if (gb_password_hash(dummy_password, dummy_hash, sizeof(dummy_hash)) != GB_OK)
		memcpy(dummy_hash, dummy_fallback, sizeof(dummy_fallback));
}

bool
gb_password_verify(const char *password, const char *hash)
{
	pthread_once(&dummy_once, dummy_make);
	return check(password, hash);
}

void
gb_password_burn(const char *password)
{
	pthread_once(&dummy_once, dummy_make);
	(void)check(password != NULL ? password : dummy_password, dummy_hash);
}
