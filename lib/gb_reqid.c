#include "config.h"
#include "gb_reqid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static _Thread_local unsigned char pool[256];
static _Thread_local size_t pool_left;

void
gb_random_bytes(void *buf, size_t n)
{
	unsigned char *out = buf;
	size_t take;
	ssize_t got;
	size_t filled;

	while (n > 0) {
		if (pool_left == 0) {
			for (filled = 0; filled < sizeof(pool); filled += (size_t)got) {
				got = getrandom(pool + filled, sizeof(pool) - filled, 0);
				if (got < 0) {
					if (errno == EINTR) {
						got = 0;
						continue;
					}
					/* getrandom(2) cannot fail on Linux >= 3.17 with
					 * a valid buffer; never hand out stale bytes. */
					abort();
				}
			}
			pool_left = sizeof(pool);
		}
		take = n < pool_left ? n : pool_left;
		memcpy(out, pool + sizeof(pool) - pool_left, take);
		explicit_bzero(pool + sizeof(pool) - pool_left, take);
		pool_left -= take;
		out += take;
		n -= take;
	}
}

void
gb_reqid_thread_end(void)
{
	explicit_bzero(pool, sizeof(pool));
	pool_left = 0;
}

bool
gb_reqid_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == GB_REQID_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return i > 0;
}

static void
hex(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void
gb_reqid_new(char out[33])
{
	unsigned char r[16];

	gb_random_bytes(r, sizeof(r));
	hex(out, r, sizeof(r));
}

/* n lowercase hex digits, not all zero. */
static bool
hex_field(const char *s, size_t n)
{
	size_t i;
	bool nonzero = false;

	for (i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
		nonzero |= s[i] != '0';
	}
	return nonzero;
}

bool
gb_traceparent_parse(const char *s, struct gb_trace *t)
{
	/* vv-tttttttttttttttttttttttttttttttt-pppppppppppppppp-ff */
	size_t len = strnlen(s, 512);
	unsigned flags;

	if (len < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-')
		return false;
	if (!((s[0] >= '0' && s[0] <= '9') || (s[0] >= 'a' && s[0] <= 'f')) ||
	    !((s[1] >= '0' && s[1] <= '9') || (s[1] >= 'a' && s[1] <= 'f')))
		return false;
	if (s[0] == 'f' && s[1] == 'f')
		return false;
	if (s[0] == '0' && s[1] == '0' && len != 55)
		return false;
	if (len > 55 && s[55] != '-')
		return false;
	if (!hex_field(s + 3, 32) || !hex_field(s + 36, 16))
		return false;
	if (!((s[53] >= '0' && s[53] <= '9') || (s[53] >= 'a' && s[53] <= 'f')) ||
	    !((s[54] >= '0' && s[54] <= '9') || (s[54] >= 'a' && s[54] <= 'f')))
		return false;
	if (sscanf(s + 53, "%2x", &flags) != 1)
		return false;
	memcpy(t->trace_id, s + 3, 32);
	t->trace_id[32] = '\0';
	memcpy(t->parent_id, s + 36, 16);
	t->parent_id[16] = '\0';
	t->flags = (uint8_t)flags;
	return true;
}

void
gb_trace_start(struct gb_trace *t, const char *incoming)
{
	unsigned char r[16];

	if (incoming == NULL || !gb_traceparent_parse(incoming, t)) {
		do
			gb_random_bytes(r, 16);
		while (!memcmp(r, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16));
		hex(t->trace_id, r, 16);
		t->parent_id[0] = '\0';
		t->flags = 0;
	}
	do
		gb_random_bytes(r, 8);
	while (!memcmp(r, "\0\0\0\0\0\0\0\0", 8));
	hex(t->span_id, r, 8);
}

void
gb_traceparent_format(const struct gb_trace *t, char out[56])
{
	snprintf(out, 56, "00-%s-%s-%02x", t->trace_id, t->span_id, t->flags);
}
