/* gb_auth.h - who is calling: access tokens in the request pipeline.
 *
 * A route's policy is data in its table entry (gb_router.h): GB_PUBLIC, or
 * GB_JWT with a set of allowed roles (GB_ROLE_*; 0 = any role) and
 * optionally GB_ROLE_PLATFORM for the operator's routes.  The pipeline
 * calls gb_auth_check() before the handler; handlers read the result from
 * struct gb_ctx (auth, company_id).
 */
#ifndef GB_AUTH_H
#define GB_AUTH_H

#include <stdbool.h>

#include "gb_config.h"
#include "gb_err.h"
#include "gb_jwt.h"

enum {
	GB_ROLE_OWNER = 1u << 0,
	GB_ROLE_ADMIN = 1u << 1,
	GB_ROLE_MEMBER = 1u << 2,
	GB_ROLE_VIEWER = 1u << 3,
	GB_ROLE_PLATFORM = 1u << 8,     /* the route needs a platform admin */
};
#define GB_ROLES_ADMIN (GB_ROLE_OWNER | GB_ROLE_ADMIN)

/* The bit of a role name ("owner", ...), 0 for anything else. */
unsigned gb_role_bit(const char *role);

/* The process's token keys and policy, loaded once at start. */
struct gb_auth;

/* Loads the key of cfg (JWT_ALG with JWT_SECRET or the key files).  With
 * sign set the private key is required too.  Returns GB_OK, or
 * GB_ECONFIG/GB_ENOMEM with a message naming the key in why. */
enum gb_err gb_auth_new(const struct gb_config *cfg, bool sign, struct gb_auth **out,
                        char *why, size_t whylen);
void gb_auth_free(struct gb_auth *a);

/* Verifies an Authorization header value ("Bearer <token>") and the
 * route's roles.  Returns GB_OK with *claims filled, GB_EUNAUTH (401: none,
 * malformed, forged, expired; *why says which, for the log) or GB_EFORBIDDEN
 * (403: a valid token whose role the route does not allow). */
enum gb_err gb_auth_check(const struct gb_auth *a, const char *authorization,
                          unsigned roles, struct gb_jwt_claims *claims, const char **why);

/* Issues an access token for c (iat now, exp now + ACCESS_TOKEN_TTL_S, a
 * new jti) into out.  GB_EINVAL when this process cannot sign. */
enum gb_err gb_auth_issue(const struct gb_auth *a, struct gb_jwt_claims *c,
                          char *out, size_t outlen);

/* ACCESS_TOKEN_TTL_S, for expires_in. */
long gb_auth_ttl(const struct gb_auth *a);

#endif
