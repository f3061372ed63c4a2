#include "config.h"
#include "gb_buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
gb_buf_init(struct gb_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->failed = false;
}

void
gb_buf_free(struct gb_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
}

void
gb_buf_reset(struct gb_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
	b->failed = false;
}

void
gb_buf_trim(struct gb_buf *b, size_t keep)
{
	size_t max = b->max;

	if (b->cap > keep) {
		gb_buf_free(b);
		b->max = max;
	} else {
		gb_buf_reset(b);
	}
}

int
gb_buf_reserve(struct gb_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > SIZE_MAX - b->len - 1)
		goto err;
	need = b->len + extra + 1;
	if (b->max != 0 && need - 1 > b->max)
		goto err;
	if (need <= b->cap)
		return 0;
	cap = b->cap != 0 ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		goto err;
	b->data = p;
	b->cap = cap;
	return 0;
err:
	b->failed = true;
	return -1;
}

int
gb_buf_put_u64(struct gb_buf *b, unsigned long long v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return gb_buf_append(b, tmp + i, sizeof(tmp) - i);
}

int
gb_buf_put_milli(struct gb_buf *b, unsigned long long v)
{
	char frac[4] = { '.', (char)('0' + v / 100 % 10), (char)('0' + v / 10 % 10),
	                 (char)('0' + v % 10) };

	if (gb_buf_put_u64(b, v / 1000) != 0)
		return -1;
	return gb_buf_append(b, frac, sizeof(frac));
}

int
gb_buf_printf(struct gb_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room = b->cap > b->len ? b->cap - b->len : 0;
	int n;

	/* One pass when it fits, which is nearly always: format straight into
	 * the spare capacity, and only measure and grow when it did not. */
	va_start(ap, fmt);
	n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		if (room)
			b->data[b->len] = '\0';
		return -1;
	}
	if (b->max != 0 && (size_t)n > b->max - (b->len < b->max ? b->len : b->max)) {
		b->failed = true;
		if (room)
			b->data[b->len] = '\0';
		return -1;
	}
	if ((size_t)n >= room) {
		if (gb_buf_reserve(b, (size_t)n) != 0) {
			if (room)
				b->data[b->len] = '\0';
			return -1;
		}
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
	return 0;
}

size_t
gb_utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

int
gb_buf_json_str(struct gb_buf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run, len;

	if (gb_buf_putc(b, '"') != 0)
		return -1;
	while (i < n) {
		/* Copy the longest run that needs no escaping in one go. */
		for (run = i; run < n && s[run] >= 0x20 && s[run] < 0x80 &&
		     s[run] != '"' && s[run] != '\\'; run++)
			;
		if (run > i && gb_buf_append(b, s + i, run - i) != 0)
			return -1;
		i = run;
		if (i == n)
			break;
		if (s[i] == '"' || s[i] == '\\') {
			char e[2] = { '\\', (char)s[i] };

			if (gb_buf_append(b, e, 2) != 0)
				return -1;
			i++;
		} else if (s[i] < 0x20) {
			char e[6] = { '\\', 'u', '0', '0', hex[s[i] >> 4], hex[s[i] & 15] };

			if (gb_buf_append(b, e, 6) != 0)
				return -1;
			i++;
		} else if ((len = gb_utf8_len(s + i, n - i)) != 0) {
			if (gb_buf_append(b, s + i, len) != 0)
				return -1;
			i += len;
		} else {
			if (gb_buf_append(b, "\xef\xbf\xbd", 3) != 0)
				return -1;
			i++;
		}
	}
	return gb_buf_putc(b, '"');
}
