#include "config.h"
#include "gb_arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN _Alignof(max_align_t)

struct block {
	struct block *next;
	size_t size;
	size_t used;
	_Alignas(max_align_t) unsigned char data[];
};

struct gb_arena {
	struct block *head;   /* current block; the first one is last in the list */
	size_t block_size;
	size_t footprint;
};

static struct block *
block_new(size_t size)
{
	struct block *b;

	if (size > SIZE_MAX - sizeof(*b))
		return NULL;
	b = malloc(sizeof(*b) + size);
	if (b == NULL)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

struct gb_arena *
gb_arena_new(size_t block_size)
{
	struct gb_arena *a;

	if (block_size < 256)
		block_size = 256;
	a = malloc(sizeof(*a));
	if (a == NULL)
		return NULL;
	a->head = block_new(block_size);
	if (a->head == NULL) {
		free(a);
		return NULL;
	}
	a->block_size = block_size;
	a->footprint = block_size;
	return a;
}

void
gb_arena_free(struct gb_arena *a)
{
	struct block *b, *next;

	if (a == NULL)
		return;
	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

void
gb_arena_reset(struct gb_arena *a)
{
	struct block *b;

	while (a->head->next != NULL) {
		b = a->head;
		a->head = b->next;
		a->footprint -= b->size;
		free(b);
	}
	a->head->used = 0;
}

void *
gb_arena_alloc(struct gb_arena *a, size_t size)
{
	struct block *b = a->head;
	size_t need, off;

	if (size == 0)
		size = 1;
	if (size > SIZE_MAX - ALIGN)
		return NULL;
	need = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	off = b->used;
	if (need > b->size - off) {
		/* A large request gets a block of its own size. */
		size_t bs = need > a->block_size ? need : a->block_size;

		b = block_new(bs);
		if (b == NULL)
			return NULL;
		b->next = a->head;
		a->head = b;
		a->footprint += bs;
		off = 0;
	}
	b->used = off + need;
	return b->data + off;
}

void *
gb_arena_calloc(struct gb_arena *a, size_t n, size_t size)
{
	void *p;

	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	p = gb_arena_alloc(a, n * size);
	if (p != NULL)
		memset(p, 0, n * size);
	return p;
}

char *
gb_arena_strndup(struct gb_arena *a, const char *s, size_t n)
{
	char *p;

	if (s == NULL || n == SIZE_MAX)
		return NULL;
	n = strnlen(s, n);      /* like strndup(3): never read past the NUL */
	p = gb_arena_alloc(a, n + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
gb_arena_strdup(struct gb_arena *a, const char *s)
{
	if (s == NULL)
		return NULL;
	return gb_arena_strndup(a, s, strlen(s));
}

char *
gb_arena_printf(struct gb_arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = gb_arena_alloc(a, (size_t)n + 1);
	if (p == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

char *
gb_arena_cat(struct gb_arena *a, ...)
{
	va_list ap;
	const char *s;
	size_t n = 0, k;
	char *p, *o;

	va_start(ap, a);
	while ((s = va_arg(ap, const char *)) != NULL) {
		k = strlen(s);
		if (k > SIZE_MAX - 1 - n) {
			va_end(ap);
			return NULL;
		}
		n += k;
	}
	va_end(ap);
	if ((p = gb_arena_alloc(a, n + 1)) == NULL)
		return NULL;
	o = p;
	va_start(ap, a);
	while ((s = va_arg(ap, const char *)) != NULL) {
		k = strlen(s);
		memcpy(o, s, k);
		o += k;
	}
	va_end(ap);
	*o = '\0';
	return p;
}

size_t
gb_arena_footprint(const struct gb_arena *a)
{
	return a->footprint;
}
