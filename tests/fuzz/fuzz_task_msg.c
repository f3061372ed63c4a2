/* libFuzzer target: gb_task_msg_parse(), the reading of a queue message
 * (from Redis, which anyone with access to it may write).  What it
 * accepts formats back to exactly the same bytes; what it refuses leaves
 * the message zeroed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gb_task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gb_task_msg m, zero;
	char buf[GB_TASK_MSG_MAX];
	size_t n;

	memset(&zero, 0, sizeof(zero));
	if (gb_task_msg_parse((const char *)data, size, &m) != GB_OK) {
		if (memcmp(&m, &zero, sizeof(m)) != 0)
			abort();
		return 0;
	}
	n = gb_task_msg_format(&m, buf);
	if (n != size || memcmp(buf, data, size) != 0)
		abort();
	if (m.kind[0] == '\0' || m.delivery < 1)
		abort();
	return 0;
}
