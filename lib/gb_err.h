/* gb_err.h - the one error enum of libgerbang.
 *
 * Library functions return enum gb_err (GB_OK is 0) or fill one.  Only the
 * programs in fcgi/ turn these into HTTP statuses (gb_err_status()).
 */
#ifndef GB_ERR_H
#define GB_ERR_H

#include <stddef.h>

enum gb_err {
	GB_OK = 0,
	GB_ENOMEM,      /* allocation failed */
	GB_EINVAL,      /* malformed input (400) */
	GB_ERANGE,      /* a number or length out of its bounds */
	GB_ETOOBIG,     /* input larger than its configured limit (413) */
	GB_EMEDIA,      /* unsupported content type (415) */
	GB_ENOTFOUND,   /* no such thing (404) */
	GB_EMETHOD,     /* method not allowed (405) */
	GB_EIO,         /* read or write failed, peer gone */
	GB_ETIMEOUT,    /* a deadline passed */
	GB_EDB,         /* PostgreSQL unreachable or failed */
	GB_EREDIS,      /* Redis unreachable or failed */
	GB_ECONFIG,     /* bad configuration */
	GB_ESYS,        /* a system call failed; errno says more */
	GB_EUNAUTH,     /* no valid credentials (401) */
	GB_EFORBIDDEN,  /* valid credentials, not allowed (403) */
	GB_ECONFLICT,   /* conflicts with existing state, e.g. a duplicate (409) */
	GB_EVALIDATION, /* well-formed but invalid values (422) */
	GB_ELIMIT,      /* rate limit reached (429) */
	GB_ERR_MAX
};

/* A static, never NULL, English description of err; unknown values give
 * "unknown error". */
const char *gb_strerror(enum gb_err err);

/* The HTTP status that err means when it reaches a client: 400, 404, 405,
 * 413, 415, 503 or 504; 500 for anything internal. */
int gb_err_status(enum gb_err err);

/* Copies s[0..len) into dst (dstlen bytes, NUL-terminated) to quote it in
 * a message: bytes outside printable ASCII become '?', and past max
 * characters "..." ends it.  For text from files and the environment. */
void gb_show(char *dst, size_t dstlen, const char *s, size_t len, size_t max);

#endif
