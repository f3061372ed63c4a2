/* libFuzzer target: gb_redis_url_parse() on REDIS_URL values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gb_redis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct gb_redis_addr a;
	const char *why = NULL;

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if (gb_redis_url_parse(s, &a, &why) == GB_OK) {
		if (why != NULL)
			abort();
		if (memchr(a.host, '\0', sizeof(a.host)) == NULL ||
		    memchr(a.path, '\0', sizeof(a.path)) == NULL ||
		    memchr(a.user, '\0', sizeof(a.user)) == NULL ||
		    memchr(a.password, '\0', sizeof(a.password)) == NULL)
			abort();
		if (a.port < 1 || a.port > 65535 || a.db < 0 || a.db > 65535)
			abort();
		if (a.is_unix ? a.path[0] != '/' : a.host[0] == '\0')
			abort();
	} else if (why == NULL) {
		abort();
	}
	free(s);
	return 0;
}
