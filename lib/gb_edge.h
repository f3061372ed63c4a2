/* gb_edge.h - what the gateway does at its edge for every program: the
 * client's address behind trusted proxies, CORS, and the rate-limit class
 * table, built once from the configuration.
 *
 * A gb_edge is immutable after gb_edge_new(); the serving threads read it
 * without locks.  The per-request steps that use it are in gb_serve (they
 * answer requests): client address, method gate, CORS, rate limits and
 * the security headers.
 */
#ifndef GB_EDGE_H
#define GB_EDGE_H

#include <stddef.h>

#include "gb_clientip.h"
#include "gb_config.h"
#include "gb_cors.h"
#include "gb_err.h"
#include "gb_ratelimit.h"

struct gb_edge {
	struct gb_cidr_list *trusted;   /* TRUSTED_PROXIES */
	struct gb_cors *cors;           /* CORS_* */
	struct gb_rl_table *rl;         /* NULL when RATE_LIMIT=off */
	const char *rl_prefix;          /* RATE_LIMIT_PREFIX (the config's) */
	char hsts[64];                  /* Strict-Transport-Security value, "" none */
};

/* Builds the edge of cfg (which must outlive it).  GB_OK, or GB_ECONFIG
 * with one line naming the setting at fault in why, or GB_ENOMEM. */
enum gb_err gb_edge_new(const struct gb_config *cfg, struct gb_edge **out, char *why,
                        size_t whysize);
void gb_edge_free(struct gb_edge *e);

#endif
