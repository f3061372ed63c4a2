/* gb_config.h - configuration from the environment.
 *
 * One table (gb_config.c) lists every key with its type, default and bounds.
 * Keys marked secret may instead be given as KEY_FILE, a path whose first
 * line is the value (the file is read once, at start).  Numbers are parsed
 * whole, in base 10, within their bounds; anything else is an error that
 * names the key.
 */
#ifndef GB_CONFIG_H
#define GB_CONFIG_H

#include <stddef.h>

#include "gb_err.h"

enum gb_log_level { GB_LOG_DEBUG, GB_LOG_INFO, GB_LOG_WARN, GB_LOG_ERROR };

struct gb_config {
	char *database_url;
	char *redis_url;
	char *run_dir;
	long threads;
	long socket_mode;        /* for --listen unix:PATH */
	long max_body_bytes;
	long db_timeout_ms;
	long redis_timeout_ms;
	long ready_timeout_ms;
	long log_level;          /* enum gb_log_level */
	/* access tokens */
	long jwt_alg;            /* enum gb_jwt_alg */
	char *jwt_secret;        /* HS256 */
	char *jwt_private_key_file;   /* RS256/ES256: signing (gerbang-auth, -admin) */
	char *jwt_public_key_file;    /* RS256/ES256: verifying */
	char *jwt_issuer;
	char *jwt_audience;
	long jwt_leeway_s;
	long access_token_ttl_s;
	long refresh_token_ttl_s;
	char *plugin_dir;        /* gerbang-proxy's registry */
	char *schema_dir;        /* gerbang-data's resource declarations */
	/* rate limiting (gb_ratelimit) */
	long rate_limit;         /* 1: on, 0: off */
	double rate_limit_rate;  /* default class: tokens per second */
	long rate_limit_capacity;
	char *rate_limit_prefix; /* Redis key prefix */
	long rate_limit_fail;    /* 0: open, 1: closed */
	char *rate_limit_file;   /* classes and per-company overrides, "" none */
	/* the edge */
	char *trusted_proxies;   /* CIDR list whose X-Forwarded-For is believed */
	char *cors_origins;      /* allowed origins, "" (CORS off) or "*" */
	long cors_credentials;   /* 1: Access-Control-Allow-Credentials */
	long cors_max_age_s;
	char *cors_allow_headers;
	char *cors_expose_headers;
	long hsts_max_age_s;     /* 0: no Strict-Transport-Security */
	/* observability */
	long metrics;            /* 1: count into RUN_DIR/metrics.v1.shm */
	char *metrics_token;     /* gerbang-metrics: bearer token, "" none */
	long access_log;         /* 1: one line per request */
	double access_log_sample; /* share of successful requests logged */
	/* background tasks (gerbang-tasks, gerbang-worker; gb_task) */
	char *task_prefix;       /* Redis key prefix of the queue */
	long tasks_max_queued;   /* PENDING + STARTED tasks per company */
	long tasks_threads;      /* gerbang-tasks' serving threads (group commit) */
	long worker_concurrency; /* tasks a gerbang-worker runs at once */
	long task_visibility_s;  /* a taken task is re-delivered after this */
	long task_max_attempts;
	long task_retry_base_ms; /* backoff: base * 2^(attempt - 1) ... */
	long task_retry_max_ms;  /* ... up to this */
	/* generate_text (gb_llm) */
	long llm_adapter;        /* enum gb_llm_adapter */
	char *llm_base_url;      /* OpenAI-compatible API root, ".../v1" */
	char *llm_model;
	char *llm_api_key;       /* "" sends no Authorization */
	long llm_max_tokens;     /* default and largest max_tokens of a task */
	double llm_temperature;
	long llm_timeout_ms;     /* one HTTP exchange */
	long llm_retries;        /* further exchanges after a transient failure */
	long llm_breaker_failures;  /* consecutive failures that open the circuit */
	long llm_breaker_open_ms;   /* how long it stays open */
	/* chat (gerbang-chat) */
	char *chat_prefix;          /* Redis key prefix of the contexts */
	long chat_context_messages; /* earlier messages sent with a new one */
	long chat_context_chars;    /* ... at most this many characters of them */
	long chat_context_ttl_s;
	long chat_message_max;      /* bytes of one message */
	char *chat_system_prompt;   /* "" none */
};

struct gb_config_error {
	char key[64];            /* the key at fault, "" if none */
	char msg[192];           /* what is wrong, for a person */
};

/* Fills c from envp (NULL: the process environment).  On error returns
 * GB_ECONFIG or GB_ENOMEM, fills err, and leaves c with nothing to free. */
enum gb_err gb_config_load(struct gb_config *c, char *const *envp,
                           struct gb_config_error *err);

/* Frees what gb_config_load allocated and wipes secret values. */
void gb_config_free(struct gb_config *c);

/* Parses all of s as a base-10 integer in [min, max] into *out; returns
 * GB_OK, GB_EINVAL (not a number) or GB_ERANGE; *out unchanged on error. */
enum gb_err gb_parse_long(const char *s, long min, long max, long *out);

/* Writes one "KEY=value" line per key to fd, secrets as "(set)" or "(unset)";
 * returns 0 or -1 on a write error. */
int gb_config_print(const struct gb_config *c, int fd);

#endif
