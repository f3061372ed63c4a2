/* libFuzzer target: traceparent parsing, continuing and formatting. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gb_reqid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
lower_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[n] == '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct gb_trace t, back;
	char out[56];

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&t, 0, sizeof(t));
	if (gb_traceparent_parse(s, &t)) {
		if (!lower_hex(t.trace_id, 32) || !lower_hex(t.parent_id, 16))
			abort();
		if (strcmp(t.trace_id, "00000000000000000000000000000000") == 0 ||
		    strcmp(t.parent_id, "0000000000000000") == 0)
			abort();
	}
	gb_trace_start(&t, s);
	if (!lower_hex(t.trace_id, 32) || !lower_hex(t.span_id, 16))
		abort();
	gb_traceparent_format(&t, out);
	if (strlen(out) != 55 || !gb_traceparent_parse(out, &back) ||
	    strcmp(back.trace_id, t.trace_id) != 0 || strcmp(back.parent_id, t.span_id) != 0 ||
	    back.flags != t.flags)
		abort();
	(void)gb_reqid_valid(s);
	free(s);
	return 0;
}
