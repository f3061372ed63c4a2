#include "config.h"
#include "gb_redis.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb_config.h"
#include "gb_metrics.h"
#include "gb_url.h"

struct gb_redis {
	struct gb_redis_addr addr;
	redisContext *c;
	struct timeval tv;
	char error[160];
};

static enum gb_err
bad(const char **why, const char *msg)
{
	if (why != NULL)
		*why = msg;
	return GB_EINVAL;
}

/* Copies the decoded s[0..n) into dst of size dsize. */
static int
copy_decoded(char *dst, size_t dsize, const char *s, size_t n)
{
	char tmp[512];

	if (n >= sizeof(tmp) || n >= dsize)
		return -1;
	if (gb_url_decode(tmp, s, n, false) < 0)
		return -1;
	memcpy(dst, tmp, strlen(tmp) + 1);
	explicit_bzero(tmp, sizeof(tmp));
	return 0;
}

enum gb_err
gb_redis_url_parse(const char *url, struct gb_redis_addr *a, const char **why)
{
	const char *p, *at, *end, *hostend, *q;
	long port;
	char num[16];

	memset(a, 0, sizeof(*a));
	a->port = 6379;
	if (strncmp(url, "unix:", 5) == 0) {
		p = url + 5;
		if (strncmp(p, "//", 2) == 0)
			p += 2;
		q = strchr(p, '?');
		end = q != NULL ? q : p + strlen(p);
		if (*p != '/' || (size_t)(end - p) >= sizeof(a->path))
			return bad(why, "unix: needs an absolute socket path of at most 107 bytes");
		memcpy(a->path, p, (size_t)(end - p));
		a->is_unix = true;
		if (q != NULL) {
			if (strncmp(q, "?db=", 4) != 0 ||
			    gb_parse_long(q + 4, 0, 65535, &a->db) != GB_OK)
				return bad(why, "the only unix: option is ?db=N (0 to 65535)");
		}
		return GB_OK;
	}
	if (strncmp(url, "redis://", 8) != 0)
		return bad(why, "must start with redis:// or unix:");
	p = url + 8;
	end = p + strcspn(p, "/");
	/* The last '@': a password may hold one (better percent-encoded). */
	at = memrchr(p, '@', (size_t)(end - p));
	if (at != NULL) {
		const char *colon = memchr(p, ':', (size_t)(at - p));

		if (colon == NULL)
			return bad(why, "credentials must be [user]:password@");
		if (copy_decoded(a->user, sizeof(a->user), p, (size_t)(colon - p)) != 0 ||
		    copy_decoded(a->password, sizeof(a->password), colon + 1,
		                 (size_t)(at - colon - 1)) != 0)
			return bad(why, "the user or password is malformed or too long");
		p = at + 1;
	}
	if (*p == '[') {
		hostend = memchr(p, ']', (size_t)(end - p));
		if (hostend == NULL)
			return bad(why, "an IPv6 host needs its closing ]");
		if ((size_t)(hostend - p - 1) >= sizeof(a->host) || hostend == p + 1)
			return bad(why, "the host is empty or too long");
		memcpy(a->host, p + 1, (size_t)(hostend - p - 1));
		p = hostend + 1;
	} else {
		hostend = p + strcspn(p, ":/");
		if (hostend > end)
			hostend = end;
		if (hostend == p || (size_t)(hostend - p) >= sizeof(a->host))
			return bad(why, "the host is empty or too long");
		memcpy(a->host, p, (size_t)(hostend - p));
		p = hostend;
	}
	if (*p == ':') {
		size_t n = (size_t)(end - p - 1);

		if (n == 0 || n >= sizeof(num))
			return bad(why, "the port must be 1 to 65535");
		memcpy(num, p + 1, n);
		num[n] = '\0';
		if (gb_parse_long(num, 1, 65535, &port) != GB_OK)
			return bad(why, "the port must be 1 to 65535");
		a->port = (int)port;
	} else if (p != end) {
		return bad(why, "unexpected text after the host");
	}
	if (*end == '/' && end[1] != '\0' &&
	    gb_parse_long(end + 1, 0, 65535, &a->db) != GB_OK)
		return bad(why, "the database must be a number from 0 to 65535");
	return GB_OK;
}

struct gb_redis *
gb_redis_new(const char *url, int timeout_ms, const char **why)
{
	struct gb_redis *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		if (why != NULL)
			*why = "out of memory";
		return NULL;
	}
	if (gb_redis_url_parse(url, &r->addr, why) != GB_OK) {
		free(r);
		return NULL;
	}
	r->tv.tv_sec = timeout_ms / 1000;
	r->tv.tv_usec = (timeout_ms % 1000) * 1000;
	return r;
}

/* Every lost connection counts in gerbang_redis_errors_total. */
static void
drop(struct gb_redis *r, const char *why)
{
	gb_metrics_redis_error();
	snprintf(r->error, sizeof(r->error), "%s", why);
	if (r->c != NULL)
		redisFree(r->c);
	r->c = NULL;
}

void
gb_redis_free(struct gb_redis *r)
{
	if (r == NULL)
		return;
	if (r->c != NULL)
		redisFree(r->c);
	explicit_bzero(r->addr.password, sizeof(r->addr.password));
	free(r);
}

const char *
gb_redis_last_error(const struct gb_redis *r)
{
	return r->error;
}

static enum gb_err
failure(struct gb_redis *r)
{
	/* hiredis reports a timeout as an I/O error with EAGAIN. */
	enum gb_err e = (r->c != NULL && r->c->err == REDIS_ERR_IO &&
	                 (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINPROGRESS ||
	                  strstr(r->c->errstr, "timed out") != NULL))
	                ? GB_ETIMEOUT : GB_EREDIS;

	drop(r, r->c != NULL && r->c->errstr[0] ? r->c->errstr : "connection failed");
	return e;
}

static enum gb_err
setup(struct gb_redis *r)
{
	redisReply *rep = NULL;

	if (r->addr.is_unix)
		r->c = redisConnectUnixWithTimeout(r->addr.path, r->tv);
	else
		r->c = redisConnectWithTimeout(r->addr.host, r->addr.port, r->tv);
	if (r->c == NULL) {
		drop(r, "out of memory");
		return GB_EREDIS;
	}
	if (r->c->err || redisSetTimeout(r->c, r->tv) != REDIS_OK)
		return failure(r);
	if (r->addr.password[0] != '\0') {
		if (r->addr.user[0] != '\0')
			rep = redisCommand(r->c, "AUTH %s %s", r->addr.user, r->addr.password);
		else
			rep = redisCommand(r->c, "AUTH %s", r->addr.password);
		if (rep == NULL)
			return failure(r);
		if (rep->type == REDIS_REPLY_ERROR) {
			freeReplyObject(rep);
			drop(r, "authentication failed");
			return GB_EREDIS;
		}
		freeReplyObject(rep);
	}
	if (r->addr.db != 0) {
		rep = redisCommand(r->c, "SELECT %ld", r->addr.db);
		if (rep == NULL)
			return failure(r);
		if (rep->type == REDIS_REPLY_ERROR) {
			freeReplyObject(rep);
			drop(r, "SELECT failed");
			return GB_EREDIS;
		}
		freeReplyObject(rep);
	}
	return GB_OK;
}

/* Redis sends nothing unasked on a connection like ours: one that is
 * readable while idle was closed by the server (restart, timeout), so it is
 * replaced before use rather than failing the command.  Nothing is retried
 * after sending, so no command runs twice. */
static void
drop_if_closed(struct gb_redis *r)
{
	struct pollfd p = { .fd = r->c->fd, .events = POLLIN };

	if (r->c->err || poll(&p, 1, 0) > 0)
		drop(r, "connection closed by the server");
}

/* The connection to send on, set up if need be; NULL with *e set. */
static redisContext *
ready(struct gb_redis *r, enum gb_err *e)
{
	*e = GB_OK;
	if (r->c != NULL)
		drop_if_closed(r);
	if (r->c == NULL && (*e = setup(r)) != GB_OK)
		return NULL;
	return r->c;
}

/* What a command's reply or its absence means, into *err. */
static redisReply *
done(struct gb_redis *r, redisReply *rep, enum gb_err e, enum gb_err *err)
{
	if (e == GB_OK && rep == NULL)
		e = failure(r);
	if (err != NULL)
		*err = e;
	return e == GB_OK ? rep : NULL;
}

redisReply *
gb_redis_command(struct gb_redis *r, enum gb_err *err, const char *fmt, ...)
{
	redisReply *rep = NULL;
	redisContext *c;
	enum gb_err e;
	va_list ap;

	if ((c = ready(r, &e)) != NULL) {
		va_start(ap, fmt);
		rep = redisvCommand(c, fmt, ap);
		va_end(ap);
	}
	return done(r, rep, e, err);
}

redisReply *
gb_redis_command_argv(struct gb_redis *r, enum gb_err *err, int argc, const char **argv,
                      const size_t *argvlen)
{
	redisReply *rep = NULL;
	redisContext *c;
	enum gb_err e;

	if ((c = ready(r, &e)) != NULL)
		rep = redisCommandArgv(c, argc, argv, argvlen);
	return done(r, rep, e, err);
}

enum gb_err
gb_redis_ping(struct gb_redis *r)
{
	enum gb_err e;
	redisReply *rep = gb_redis_command(r, &e, "PING");

	if (rep == NULL)
		return e;
	if (rep->type != REDIS_REPLY_STATUS || strcmp(rep->str, "PONG") != 0) {
		snprintf(r->error, sizeof(r->error), "unexpected PING reply");
		e = GB_EREDIS;
	}
	freeReplyObject(rep);
	return e;
}
