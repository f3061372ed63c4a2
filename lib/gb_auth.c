#include "config.h"
#include "gb_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gb_reqid.h"

struct gb_auth {
	struct gb_jwt_key *key;
	struct gb_jwt_policy policy;
	char *iss, *aud;
	bool can_sign;
	long ttl;
};

unsigned
gb_role_bit(const char *role)
{
	static const struct {
		const char *name;
		unsigned bit;
	} roles[] = {
		{ "owner", GB_ROLE_OWNER }, { "admin", GB_ROLE_ADMIN },
		{ "member", GB_ROLE_MEMBER }, { "viewer", GB_ROLE_VIEWER },
	};
	size_t i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(role, roles[i].name) == 0)
			return roles[i].bit;
	return 0;
}

void
gb_auth_free(struct gb_auth *a)
{
	if (a == NULL)
		return;
	gb_jwt_key_free(a->key);
	free(a->iss);
	free(a->aud);
	free(a);
}

enum gb_err
gb_auth_new(const struct gb_config *cfg, bool sign, struct gb_auth **out, char *why,
            size_t whylen)
{
	struct gb_auth *a;
	enum gb_err e;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return GB_ENOMEM;
	a->iss = strdup(cfg->jwt_issuer);
	a->aud = strdup(cfg->jwt_audience);
	if (a->iss == NULL || a->aud == NULL) {
		e = GB_ENOMEM;
		goto err;
	}
	a->policy.iss = a->iss;
	a->policy.aud = a->aud;
	a->policy.leeway_s = cfg->jwt_leeway_s;
	a->ttl = cfg->access_token_ttl_s;
	if (cfg->jwt_alg == GB_JWT_HS256) {
		if (strlen(cfg->jwt_secret) < GB_JWT_SECRET_MIN) {
			snprintf(why, whylen, "JWT_SECRET: must be set (or JWT_SECRET_FILE) "
			         "with at least %d bytes for HS256", GB_JWT_SECRET_MIN);
			e = GB_ECONFIG;
			goto err;
		}
		e = gb_jwt_key_hmac(cfg->jwt_secret, strlen(cfg->jwt_secret), &a->key);
		if (e != GB_OK) {
			snprintf(why, whylen, "JWT_SECRET: not a usable HMAC key");
			e = e == GB_ENOMEM ? e : GB_ECONFIG;
			goto err;
		}
		a->can_sign = true;
	} else {
		char kwhy[160] = "";

		if (cfg->jwt_public_key_file[0] == '\0' ||
		    (sign && cfg->jwt_private_key_file[0] == '\0')) {
			snprintf(why, whylen, "%s: must be set for %s",
			         cfg->jwt_public_key_file[0] == '\0' ? "JWT_PUBLIC_KEY_FILE" :
			         "JWT_PRIVATE_KEY_FILE", gb_jwt_alg_name((enum gb_jwt_alg)cfg->jwt_alg));
			e = GB_ECONFIG;
			goto err;
		}
		e = gb_jwt_key_pem((enum gb_jwt_alg)cfg->jwt_alg,
		                   sign ? cfg->jwt_private_key_file : NULL,
		                   cfg->jwt_public_key_file, &a->key, kwhy, sizeof(kwhy));
		if (e != GB_OK) {
			snprintf(why, whylen, "JWT key files: %s", kwhy);
			e = e == GB_ENOMEM ? e : GB_ECONFIG;
			goto err;
		}
		a->can_sign = sign;
	}
	*out = a;
	return GB_OK;
err:
	gb_auth_free(a);
	return e;
}

enum gb_err
gb_auth_check(const struct gb_auth *a, const char *authorization, unsigned roles,
              struct gb_jwt_claims *claims, const char **why)
{
	const char *tok;
	unsigned bit;

	if (authorization == NULL || *authorization == '\0') {
		*why = "no token";
		return GB_EUNAUTH;
	}
	/* RFC 6750: "Bearer" (any case), one or more spaces, the token. */
	if (strncasecmp(authorization, "Bearer ", 7) != 0) {
		*why = "not a Bearer token";
		return GB_EUNAUTH;
	}
	for (tok = authorization + 7; *tok == ' '; tok++)
		;
	if (gb_jwt_verify(a->key, &a->policy, tok, strlen(tok), (int64_t)time(NULL),
	                  claims, why) != GB_OK)
		return GB_EUNAUTH;
	bit = gb_role_bit(claims->role);
	if ((roles & GB_ROLE_PLATFORM) && !claims->platform_admin) {
		*why = "platform admin required";
		return GB_EFORBIDDEN;
	}
	if ((roles & ~(unsigned)GB_ROLE_PLATFORM) != 0 && (roles & bit) == 0) {
		*why = "role not allowed";
		return GB_EFORBIDDEN;
	}
	return GB_OK;
}

enum gb_err
gb_auth_issue(const struct gb_auth *a, struct gb_jwt_claims *c, char *out, size_t outlen)
{
	char jti[33];

	if (!a->can_sign)
		return GB_EINVAL;
	gb_reqid_new(jti);
	snprintf(c->jti, sizeof(c->jti), "%s", jti);
	c->iat = (int64_t)time(NULL);
	c->nbf = 0;
	c->exp = c->iat + a->ttl;
	return gb_jwt_issue(a->key, &a->policy, c, out, outlen);
}

long
gb_auth_ttl(const struct gb_auth *a)
{
	return a->ttl;
}
