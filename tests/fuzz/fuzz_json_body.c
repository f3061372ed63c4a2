/* libFuzzer target: the JSON body parser and the content-type check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gb_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gb_req_error e;
	json_t *j = NULL;
	char ct[256];
	size_t n = size < sizeof(ct) - 1 ? size : sizeof(ct) - 1;

	if (gb_json_parse_object((const char *)data, size, &j, &e) == GB_OK) {
		if (!json_is_object(j) || j->refcount != 1)
			abort();
		json_decref(j);
	} else if (j != NULL || e.err != GB_EINVAL || strlen(e.msg) >= sizeof(e.msg)) {
		abort();
	}
	memcpy(ct, data, n);
	ct[n] = '\0';
	(void)gb_content_type_is_json(ct);
	return 0;
}
