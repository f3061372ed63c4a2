#include "config.h"
#include "gb_err.h"

#include <string.h>

static const struct {
	const char *text;
	int status;
} errs[GB_ERR_MAX] = {
	[GB_OK]        = { "success", 200 },
	[GB_ENOMEM]    = { "out of memory", 500 },
	[GB_EINVAL]    = { "malformed input", 400 },
	[GB_ERANGE]    = { "value out of range", 400 },
	[GB_ETOOBIG]   = { "input too large", 413 },
	[GB_EMEDIA]    = { "unsupported media type", 415 },
	[GB_ENOTFOUND] = { "not found", 404 },
	[GB_EMETHOD]   = { "method not allowed", 405 },
	[GB_EIO]       = { "input/output error", 500 },
	[GB_ETIMEOUT]  = { "timed out", 504 },
	[GB_EDB]       = { "database unavailable", 503 },
	[GB_EREDIS]    = { "redis unavailable", 503 },
	[GB_ECONFIG]   = { "invalid configuration", 500 },
	[GB_ESYS]      = { "system error", 500 },
	[GB_EUNAUTH]   = { "unauthenticated", 401 },
	[GB_EFORBIDDEN] = { "forbidden", 403 },
	[GB_ECONFLICT] = { "conflict", 409 },
	[GB_EVALIDATION] = { "invalid values", 422 },
	[GB_ELIMIT]    = { "rate limit reached", 429 },
};

const char *
gb_strerror(enum gb_err err)
{
	if ((unsigned)err >= GB_ERR_MAX)
		return "unknown error";
	return errs[err].text;
}

int
gb_err_status(enum gb_err err)
{
	if ((unsigned)err >= GB_ERR_MAX)
		return 500;
	return errs[err].status;
}

void
gb_show(char *dst, size_t dstlen, const char *s, size_t len, size_t max)
{
	size_t i, o = 0;

	if (dstlen == 0)
		return;
	for (i = 0; i < len && o + 1 < dstlen; i++) {
		if (i == max) {
			if (o + 4 <= dstlen) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		dst[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	}
	dst[o] = '\0';
}
