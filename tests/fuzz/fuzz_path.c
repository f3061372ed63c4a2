/* libFuzzer target: gb_path_normalize() and the invariants of its output. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gb_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_normal(const char *out, size_t in_len)
{
	size_t len = strlen(out), i;

	if (len == 0 || out[0] != '/')
		abort();
	if (len > in_len + 1)
		abort();
	if (strstr(out, "//") != NULL)
		abort();
	if (strstr(out, "/./") != NULL || strstr(out, "/../") != NULL)
		abort();
	/* nor as the last segment */
	if ((len >= 2 && strcmp(out + len - 2, "/.") == 0) ||
	    (len >= 3 && strcmp(out + len - 3, "/..") == 0))
		abort();
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c < 0x20 || c == 0x7f)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gb_arena *a;
	char *out = NULL, *again = NULL;
	enum gb_err e;

	if (a == NULL && (a = gb_arena_new(64 * 1024)) == NULL)
		abort();
	e = gb_path_normalize(a, (const char *)data, size, &out);
	if (e == GB_OK) {
		check_normal(out, size);
		/* a normalized path is a fixed point unless it holds a decoded
		 * byte that is not valid raw: '%', '#', space */
		if (strpbrk(out, "%# ") == NULL) {
			if (gb_path_normalize(a, out, strlen(out), &again) != GB_OK ||
			    strcmp(again, out) != 0)
				abort();
		}
	} else if (out != NULL) {
		abort();                    /* *out is set only on GB_OK */
	} else if (e != GB_EINVAL && e != GB_ETOOBIG) {
		abort();
	}
	gb_arena_reset(a);
	return 0;
}
