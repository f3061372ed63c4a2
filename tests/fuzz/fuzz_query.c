/* libFuzzer target: gb_query_parse() on untrusted query strings. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gb_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gb_arena *a;
	struct gb_query q;
	enum gb_err e;
	size_t i;

	if (a == NULL && (a = gb_arena_new(64 * 1024)) == NULL)
		abort();
	e = gb_query_parse(a, (const char *)data, size, &q);
	if (e != GB_OK) {
		if (q.n != 0 || q.items != NULL)
			abort();            /* out is empty on error */
		if (e != GB_EINVAL && e != GB_ETOOBIG)
			abort();
	} else {
		if (size > GB_QUERY_MAX || q.n > GB_QUERY_PARAMS_MAX)
			abort();
		for (i = 0; i < q.n; i++) {
			/* decoding never lengthens */
			if (strlen(q.items[i].key) + strlen(q.items[i].value) > size)
				abort();
		}
		if (q.n > 0 && gb_query_get(&q, q.items[0].key) != q.items[0].value)
			abort();
	}
	gb_arena_reset(a);
	return 0;
}
