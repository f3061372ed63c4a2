/* gb_redis.h - one Redis connection per serving thread.
 *
 * Connects on first use and again after any error, with a connect and a
 * command timeout, authenticating and selecting the database each time.
 */
#ifndef GB_REDIS_H
#define GB_REDIS_H

#include <hiredis/hiredis.h>
#include <stdbool.h>

#include "gb_err.h"

struct gb_redis_addr {
	bool is_unix;
	char host[256];
	int port;
	char path[108];
	char user[64];
	char password[256];
	long db;
};

/* Parses redis://[[user]:password@]host[:port][/db] (host may be [v6]) or
 * unix:PATH[?db=N] (also unix://PATH).  Returns GB_OK or GB_EINVAL with a
 * reason in why (may be NULL); a is zeroed first. */
enum gb_err gb_redis_url_parse(const char *url, struct gb_redis_addr *a, const char **why);

struct gb_redis;

/* A handle for url; does not connect.  NULL on a bad url (why set) or ENOMEM. */
struct gb_redis *gb_redis_new(const char *url, int timeout_ms, const char **why);
void gb_redis_free(struct gb_redis *r);

/* redisCommand() on the thread's connection, connecting first if needed.
 * Returns a reply the caller frees with freeReplyObject(), or NULL (GB_EREDIS
 * or GB_ETIMEOUT in *err when err is not NULL) after which the connection is
 * dropped and the next call reconnects.  An error reply is a reply. */
redisReply *gb_redis_command(struct gb_redis *r, enum gb_err *err, const char *fmt, ...);

/* The same with the command as argc strings of the given lengths
 * (redisCommandArgv): nothing to parse, binary-safe. */
redisReply *gb_redis_command_argv(struct gb_redis *r, enum gb_err *err, int argc,
                                  const char **argv, const size_t *argvlen);

/* PING within the handle's timeout: GB_OK, GB_EREDIS or GB_ETIMEOUT. */
enum gb_err gb_redis_ping(struct gb_redis *r);

const char *gb_redis_last_error(const struct gb_redis *r);

#endif
