/* gb_buf.h - a growable byte buffer, always NUL-terminated.
 *
 * Used to build responses and log lines.  A buffer that failed an append
 * keeps what it had and remembers the failure (gb_buf_failed()), so a
 * sequence of appends can be checked once at the end.
 */
#ifndef GB_BUF_H
#define GB_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct gb_buf {
	char *data;     /* NUL-terminated while cap > 0 */
	size_t len;
	size_t cap;
	size_t max;     /* 0: unbounded; else appends past max fail */
	bool failed;
};

#define GB_BUF_INIT { NULL, 0, 0, 0, false }

void gb_buf_init(struct gb_buf *b, size_t max);
void gb_buf_free(struct gb_buf *b);
/* Empties the buffer and clears the failure; keeps the memory. */
void gb_buf_reset(struct gb_buf *b);
/* Frees the memory too when it grew past keep bytes. */
void gb_buf_trim(struct gb_buf *b, size_t keep);

/* Each returns 0, or -1 (buffer unchanged, failed set) on ENOMEM or max.
 * The appends are inline: a response or a log line is built from many
 * small pieces, and nearly every one fits in the room already there. */
int gb_buf_reserve(struct gb_buf *b, size_t extra);

static inline int
gb_buf_append(struct gb_buf *b, const void *p, size_t n)
{
	if ((n >= b->cap - b->len || (b->max != 0 && n > b->max - b->len)) &&
	    gb_buf_reserve(b, n) != 0)
		return -1;
	if (n != 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static inline int
gb_buf_puts(struct gb_buf *b, const char *s)
{
	return gb_buf_append(b, s, strlen(s));
}

static inline int
gb_buf_putc(struct gb_buf *b, char c)
{
	return gb_buf_append(b, &c, 1);
}

/* Appends v in decimal. */
int gb_buf_put_u64(struct gb_buf *b, unsigned long long v);
/* Appends v / 1000 with exactly three decimals ("12.345"), v >= 0. */
int gb_buf_put_milli(struct gb_buf *b, unsigned long long v);
int gb_buf_printf(struct gb_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* s[0..n) as a JSON string with quotes; invalid UTF-8 bytes become U+FFFD,
 * control characters \u00XX. */
int gb_buf_json_str(struct gb_buf *b, const char *s, size_t n);

/* Length of the valid UTF-8 sequence at s (n > 0 bytes available), 0 when
 * it is not one (overlong, surrogate, past U+10FFFF, cut short). */
size_t gb_utf8_len(const unsigned char *s, size_t n);

static inline bool gb_buf_failed(const struct gb_buf *b) { return b->failed; }

#endif
