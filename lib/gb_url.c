#include "config.h"
#include "gb_url.h"

#include <string.h>

int
gb_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
gb_hex_encode(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

ssize_t
gb_url_decode(char *dst, const char *src, size_t n, bool plus_space)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == '%') {
			if (n - i < 3 || (hi = gb_hex_value((unsigned char)src[i + 1])) < 0 ||
			    (lo = gb_hex_value((unsigned char)src[i + 2])) < 0)
				goto err;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (c == '\0')
			goto err;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return (ssize_t)o;
err:
	dst[o] = '\0';
	return -1;
}

enum gb_err
gb_query_parse(struct gb_arena *a, const char *qs, size_t len, struct gb_query *out)
{
	size_t i, start, eq, count = 1, n = 0;
	struct gb_kv *items;

	out->items = NULL;
	out->n = 0;
	if (len > GB_QUERY_MAX)
		return GB_ETOOBIG;
	for (i = 0; i < len; i++)
		count += qs[i] == '&';
	if (count > GB_QUERY_PARAMS_MAX) {
		/* Empty pieces do not count against the limit. */
		size_t real = 0;

		for (i = 0, start = 0; i <= len; i++)
			if (i == len || qs[i] == '&') {
				real += i > start;
				start = i + 1;
			}
		if (real > GB_QUERY_PARAMS_MAX)
			return GB_ETOOBIG;
		count = real;
	}
	items = gb_arena_calloc(a, count, sizeof(*items));
	if (items == NULL)
		return GB_ENOMEM;
	for (i = 0, start = 0; i <= len; i++) {
		char *k, *v;

		if (i < len && qs[i] != '&')
			continue;
		if (i > start) {
			for (eq = start; eq < i && qs[eq] != '='; eq++)
				;
			k = gb_arena_alloc(a, eq - start + 1);
			v = gb_arena_alloc(a, eq < i ? i - eq : 1);
			if (k == NULL || v == NULL)
				return GB_ENOMEM;
			if (gb_url_decode(k, qs + start, eq - start, true) < 0)
				return GB_EINVAL;
			if (eq < i) {
				if (gb_url_decode(v, qs + eq + 1, i - eq - 1, true) < 0)
					return GB_EINVAL;
			} else {
				v[0] = '\0';
			}
			items[n].key = k;
			items[n].value = v;
			n++;
		}
		start = i + 1;
	}
	out->items = items;
	out->n = n;
	return GB_OK;
}

const char *
gb_query_get(const struct gb_query *q, const char *key)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		if (strcmp(q->items[i].key, key) == 0)
			return q->items[i].value;
	return NULL;
}

enum gb_err
gb_path_normalize(struct gb_arena *a, const char *raw, size_t len, char **out)
{
	char *buf, *seg;
	size_t o = 0, i, start, j;
	ssize_t dl;
	bool trailing;

	if (len == 0 || raw[0] != '/')
		return GB_EINVAL;
	if (len > GB_PATH_MAX)
		return GB_ETOOBIG;
	/* Decoding never lengthens; "/" + segments fits in len + 1. */
	buf = gb_arena_alloc(a, len + 2);
	seg = gb_arena_alloc(a, len + 1);
	if (buf == NULL || seg == NULL)
		return GB_ENOMEM;
	/* Raw bytes a request target never holds: controls, space, '#'. */
	for (i = 0; i < len; i++)
		if ((unsigned char)raw[i] <= ' ' || raw[i] == 0x7f || raw[i] == '#')
			return GB_EINVAL;
	trailing = len > 1 && raw[len - 1] == '/';
	for (i = 1, start = 1; i <= len; i++) {
		if (i < len && raw[i] != '/')
			continue;
		dl = gb_url_decode(seg, raw + start, i - start, false);
		start = i + 1;
		if (dl < 0)
			return GB_EINVAL;
		for (j = 0; j < (size_t)dl; j++) {
			unsigned char c = (unsigned char)seg[j];

			if (c == '/' || c < 0x20 || c == 0x7f)
				return GB_EINVAL;
		}
		if (dl == 0 || (dl == 1 && seg[0] == '.'))
			continue;
		if (dl == 2 && seg[0] == '.' && seg[1] == '.') {
			if (o == 0)
				return GB_EINVAL;
			while (o > 0 && buf[o - 1] != '/')
				o--;
			o--;          /* the '/' before the removed segment */
			continue;
		}
		buf[o++] = '/';
		memcpy(buf + o, seg, (size_t)dl);
		o += (size_t)dl;
	}
	if (o == 0 || trailing)
		buf[o++] = '/';
	buf[o] = '\0';
	*out = buf;
	return GB_OK;
}
