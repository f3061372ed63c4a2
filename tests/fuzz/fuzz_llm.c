/* libFuzzer target: gb_llm_parse(), the reading of a chat-completions
 * answer (untrusted: whatever the API or something in its place sends).
 * What it accepts is a string without NUL bytes of the length it says;
 * what it refuses leaves nothing allocated and a printable reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gb_llm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
printable(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n == max)
		abort();
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s >= 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gb_llm_reply r;
	char why[192];
	enum gb_err e;

	why[0] = '\0';
	e = gb_llm_parse((const char *)data, size, &r, why, sizeof(why));
	if (e == GB_OK) {
		if (r.text == NULL || strlen(r.text) != r.text_len)
			abort();
		printable(r.model, sizeof(r.model));
		printable(r.finish_reason, sizeof(r.finish_reason));
	} else {
		if (e != GB_EINVAL && e != GB_ENOMEM)
			abort();
		if (r.text != NULL || r.text_len != 0)
			abort();
		if (e == GB_EINVAL) {
			printable(why, sizeof(why));
			if (strncmp(why, "malformed answer: ", 18) != 0)
				abort();
		}
	}
	gb_llm_reply_free(&r);
	return 0;
}
