#include "config.h"
#include "gb_edge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* gb_cors names its option by the struct field that starts its message:
 * the key of the environment instead. */
static const char *
cors_key(const char *reason)
{
	static const struct {
		const char *field, *key;
	} keys[] = {
		{ "origins", "CORS_ORIGINS: " }, { "credentials", "CORS_CREDENTIALS: " },
		{ "max_age_s", "CORS_MAX_AGE_S: " }, { "allow_headers", "CORS_ALLOW_HEADERS: " },
		{ "expose_headers", "CORS_EXPOSE_HEADERS: " },
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strncmp(reason, keys[i].field, strlen(keys[i].field)) == 0)
			return keys[i].key;
	return "CORS: ";
}

enum gb_err
gb_edge_new(const struct gb_config *cfg, struct gb_edge **out, char *why, size_t whysize)
{
	struct gb_cors_opts co = {
		.origins = cfg->cors_origins,
		.credentials = cfg->cors_credentials != 0,
		.max_age_s = cfg->cors_max_age_s,
		.allow_headers = cfg->cors_allow_headers,
		.expose_headers = cfg->cors_expose_headers,
	};
	struct gb_rl_class def = {
		.name = GB_RL_DEFAULT,
		.rate = cfg->rate_limit_rate,
		.capacity = cfg->rate_limit_capacity,
		.fail_closed = cfg->rate_limit_fail != 0,
	};
	struct gb_edge *e;
	char reason[256];
	enum gb_err err;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return GB_ENOMEM;
	e->rl_prefix = cfg->rate_limit_prefix;
	err = gb_cidr_list_parse(cfg->trusted_proxies, &e->trusted, reason, sizeof(reason));
	if (err != GB_OK) {
		snprintf(why, whysize, "TRUSTED_PROXIES: %s", reason);
		goto fail;
	}
	err = gb_cors_new(&co, &e->cors, reason, sizeof(reason));
	if (err != GB_OK) {
		snprintf(why, whysize, "%s%s", cors_key(reason), reason);
		goto fail;
	}
	if (cfg->rate_limit) {
		err = gb_rl_table_load(cfg->rate_limit_file, &def, &e->rl, reason, sizeof(reason));
		if (err != GB_OK) {
			snprintf(why, whysize, "RATE_LIMIT_FILE: %s", reason);
			goto fail;
		}
	}
	if (cfg->hsts_max_age_s > 0)
		snprintf(e->hsts, sizeof(e->hsts), "max-age=%ld; includeSubDomains",
		         cfg->hsts_max_age_s);
	*out = e;
	return GB_OK;
fail:
	if (err == GB_EINVAL)
		err = GB_ECONFIG;
	if (err == GB_ENOMEM)
		snprintf(why, whysize, "out of memory");
	gb_edge_free(e);
	return err;
}

void
gb_edge_free(struct gb_edge *e)
{
	if (e == NULL)
		return;
	gb_cidr_list_free(e->trusted);
	gb_cors_free(e->cors);
	gb_rl_table_free(e->rl);
	free(e);
}
