/* libFuzzer target: gb_llm_stream_feed(), the incremental reading of a
 * streamed chat-completions answer (server-sent events from the API, or
 * from whatever answers in its place).  The input is fed in pieces cut
 * where its first byte says, as a network would; what comes out is text
 * without NUL bytes, collected exactly as the deltas were handed over, and
 * a failure leaves a printable reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gb_llm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	size_t bytes;               /* of every delta handed over */
	int stop_after;             /* the reader goes away after this many, -1 never */
	int calls;
};

static int
on_delta(void *arg, const char *text, size_t len)
{
	struct seen *s = arg;

	if (len == 0 || memchr(text, '\0', len) != NULL)
		abort();
	s->bytes += len;
	s->calls++;
	return s->stop_after >= 0 && s->calls > s->stop_after ? -1 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gb_llm_stream st;
	struct seen seen = { 0, -1, 0 };
	size_t cut, off = 0, n;
	enum gb_err e = GB_OK;
	const char *p;

	if (size < 1)
		return 0;
	cut = (size_t)(data[0] & 0x3f) + 1;
	if (data[0] & 0x40)
		seen.stop_after = data[0] >> 7;
	data++;
	size--;
	gb_llm_stream_init(&st, on_delta, &seen);
	while (off < size && e == GB_OK) {
		n = size - off < cut ? size - off : cut;
		e = gb_llm_stream_feed(&st, (const char *)data + off, n);
		off += n;
	}
	if (e != GB_OK) {
		if (!st.failed || (e != GB_EINVAL && e != GB_EIO))
			abort();
		for (p = st.why; *p != '\0'; p++)
			if (*p < 0x20 || *p >= 0x7f)
				abort();
	}
	/* the text holds what the reader was given, no more (a stopped reader
	 * was given the piece that stopped it) */
	if (st.text.len != seen.bytes)
		abort();
	if (st.text.len > 0 && memchr(st.text.data, '\0', st.text.len) != NULL)
		abort();
	gb_llm_stream_free(&st);
	return 0;
}
