#include "config.h"
#include "gb_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gb_buf.h"
#include "gb_time.h"

static char service[64] = "gerbang";
static enum gb_log_level min_level = GB_LOG_INFO;
static int log_fd = 2;
static _Thread_local struct gb_buf line = GB_BUF_INIT;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
gb_log_init(const char *svc, enum gb_log_level min, int fd)
{
	snprintf(service, sizeof(service), "%s", svc);
	min_level = min;
	log_fd = fd;
}

bool
gb_log_enabled(enum gb_log_level level)
{
	return level >= min_level;
}

static void
field(struct gb_buf *b, const char *key, const char *value)
{
	gb_buf_putc(b, ',');
	gb_buf_json_str(b, key, strlen(key));
	gb_buf_putc(b, ':');
	gb_buf_json_str(b, value, strlen(value));
}

/* The same with key already written as ",\"key\":" (a literal). */
#define FIELD(b, keylit, value)                                      \
	do {                                                         \
		gb_buf_append((b), keylit, sizeof(keylit) - 1);      \
		gb_buf_json_str((b), (value), strlen(value));        \
	} while (0)

static void
begin(struct gb_buf *b, enum gb_log_level level, const char *msg)
{
	char ts[GB_RFC3339_LEN];

	gb_buf_reset(b);
	gb_buf_puts(b, "{\"ts\":\"");
	gb_buf_puts(b, gb_rfc3339_now(ts, sizeof(ts)));
	gb_buf_puts(b, "\",\"level\":\"");
	gb_buf_puts(b, (unsigned)level <= GB_LOG_ERROR ? level_names[level] : "error");
	gb_buf_puts(b, "\",\"msg\":");
	gb_buf_json_str(b, msg, strlen(msg));
	field(b, "service", service);
}

/* Access lines wait in a per-thread buffer and go out together, as
 * nginx's access_log buffer= does: one write(2) for many requests.  Whole
 * lines only, at most PIPE_BUF bytes, so that a write to a pipe or the
 * journal's stream stays whole; never older than PENDING_AGE_US, and
 * written at once when the thread is about to wait (gb_log_flush), when it
 * ends, and before any other line (which keeps the order). */
#define PENDING_MAX 4096
#define PENDING_AGE_US 100000

static _Thread_local struct gb_buf pending = GB_BUF_INIT;
static _Thread_local int64_t pending_since;

static void
write_all(const char *p, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = write(log_fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
}

void
gb_log_flush(void)
{
	if (pending.len > 0)
		write_all(pending.data, pending.len);
	gb_buf_reset(&pending);
	pending_since = 0;
}

static void
finish(struct gb_buf *b)
{
	gb_buf_puts(b, "}\n");
	if (!gb_buf_failed(b)) {
		gb_log_flush();
		write_all(b->data, b->len);
	}
	/* A burst of long lines must not pin memory in every thread. */
	gb_buf_trim(b, 16384);
}

/* An access line: into the pending lines, out when they are full or old. */
static void
finish_access(struct gb_buf *b)
{
	int64_t now;

	gb_buf_puts(b, "}\n");
	if (gb_buf_failed(b))
		goto out;
	if (pending.len + b->len > PENDING_MAX)
		gb_log_flush();
	if (b->len > PENDING_MAX || gb_buf_append(&pending, b->data, b->len) != 0) {
		write_all(b->data, b->len);
		goto out;
	}
	now = gb_mono_us();
	if (pending_since == 0)
		pending_since = now;
	else if (now - pending_since >= PENDING_AGE_US)
		gb_log_flush();
out:
	gb_buf_trim(b, 16384);
}

void
gb_log(enum gb_log_level level, const char *request_id, const char *msg, ...)
{
	va_list ap;
	const char *k, *v;

	if (level < min_level)
		return;
	begin(&line, level, msg);
	if (request_id != NULL)
		field(&line, "request_id", request_id);
	va_start(ap, msg);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (v != NULL)
			field(&line, k, v);
	}
	va_end(ap);
	finish(&line);
}

/* ms as whole microseconds, rounded; 0 for a negative or absurd value. */
static unsigned long long
micros(double ms)
{
	if (!(ms >= 0.0 && ms < 1e12))
		return 0;
	return (unsigned long long)(ms * 1000.0 + 0.5);
}

void
gb_log_access(const struct gb_access *a)
{
	struct gb_buf *b = &line;
	enum gb_log_level level = a->status >= 500 ? GB_LOG_ERROR : GB_LOG_INFO;

	if (level < min_level)
		return;
	begin(b, level, "request");
	FIELD(b, ",\"request_id\":", a->request_id != NULL ? a->request_id : "-");
	if (a->trace_id != NULL)
		FIELD(b, ",\"trace_id\":", a->trace_id);
	FIELD(b, ",\"method\":", a->method != NULL ? a->method : "-");
	FIELD(b, ",\"route\":", a->route != NULL ? a->route : "-");
	/* Numbers by hand: this line is written for every request. */
	gb_buf_puts(b, ",\"status\":");
	gb_buf_put_u64(b, a->status > 0 ? (unsigned)a->status : 0);
	gb_buf_puts(b, ",\"latency_ms\":");
	gb_buf_put_milli(b, micros(a->latency_ms));
	if (a->company_id != NULL)
		FIELD(b, ",\"company_id\":", a->company_id);
	gb_buf_puts(b, ",\"bytes\":");
	gb_buf_put_u64(b, (unsigned long long)a->bytes);
	if (a->upstream != NULL) {
		FIELD(b, ",\"upstream\":", a->upstream);
		gb_buf_puts(b, ",\"upstream_ms\":");
		gb_buf_put_milli(b, micros(a->upstream_ms));
	}
	finish_access(b);
}

void
gb_log_thread_end(void)
{
	gb_log_flush();
	gb_buf_free(&pending);
	gb_buf_free(&line);
}
