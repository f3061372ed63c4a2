/* gb_arena.h - per-request memory.
 *
 * Each serving thread owns one arena; everything a request allocates from it
 * is released at once by gb_arena_reset() at the end of the loop pass, and
 * the first block is kept, so a steady load allocates nothing from malloc.
 */
#ifndef GB_ARENA_H
#define GB_ARENA_H

#include <stddef.h>

struct gb_arena;

/* A new arena whose first block holds block_size bytes; NULL on ENOMEM. */
struct gb_arena *gb_arena_new(size_t block_size);
void gb_arena_free(struct gb_arena *a);

/* Forget every allocation; keeps the first block, frees the rest. */
void gb_arena_reset(struct gb_arena *a);

/* size bytes aligned for any type; NULL on ENOMEM or overflow.  The memory
 * lives until the next reset. */
void *gb_arena_alloc(struct gb_arena *a, size_t size);
void *gb_arena_calloc(struct gb_arena *a, size_t n, size_t size);

/* Copies; NULL on ENOMEM (s NULL gives NULL). The copy is NUL-terminated. */
char *gb_arena_strdup(struct gb_arena *a, const char *s);
char *gb_arena_strndup(struct gb_arena *a, const char *s, size_t n);
char *gb_arena_printf(struct gb_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The strings given, up to a NULL, one after the other in one copy; NULL
 * on ENOMEM.  No format to parse: for paths, URLs and header lines. */
char *gb_arena_cat(struct gb_arena *a, ...) __attribute__((sentinel));

/* Bytes currently held from malloc, for tests and the RSS budget. */
size_t gb_arena_footprint(const struct gb_arena *a);

#endif
