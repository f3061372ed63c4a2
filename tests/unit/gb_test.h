/* gb_test.h - helpers shared by the Check unit tests in tests/unit/.
 *
 * Header-only (static inline) so that each test program is one .c file.
 */
#ifndef GB_TEST_H
#define GB_TEST_H

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* T_ASAN is 1 under AddressSanitizer (gcc or clang), where a huge malloc()
 * aborts instead of returning NULL. */
#if defined(__SANITIZE_ADDRESS__)
#define T_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_ASAN 1
#endif
#endif
#ifndef T_ASAN
#define T_ASAN 0
#endif

/* Runs the suite built by make_suite and returns the exit status for the
 * automake harness: 0 when every test passed. */
#define GB_TEST_MAIN(make_suite)                                        \
	int main(void)                                                  \
	{                                                               \
		SRunner *sr = srunner_create(make_suite());             \
		int failed;                                             \
                                                                        \
		srunner_run_all(sr, CK_NORMAL);                         \
		failed = srunner_ntests_failed(sr);                     \
		srunner_free(sr);                                       \
		return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;       \
	}

/* A writable, NULL-terminated environment (FastCGI parameters) built from
 * string literals: t_env_new("A=1", "B=2", NULL). */
struct t_env {
	char **v;
	size_t n;
};

static inline void
t_env_add(struct t_env *e, const char *s)
{
	char **v = realloc(e->v, (e->n + 2) * sizeof(*v));

	ck_assert_ptr_nonnull(v);
	e->v = v;
	e->v[e->n] = strdup(s);
	ck_assert_ptr_nonnull(e->v[e->n]);
	e->n++;
	e->v[e->n] = NULL;
}

/* Adds NAME=VALUE where VALUE is c repeated n times. */
static inline void
t_env_add_long(struct t_env *e, const char *name, char c, size_t n)
{
	size_t nl = strlen(name);
	char *s = malloc(nl + 1 + n + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, name, nl);
	s[nl] = '=';
	memset(s + nl + 1, c, n);
	s[nl + 1 + n] = '\0';
	t_env_add(e, s);
	free(s);
}

static inline void
t_env_init(struct t_env *e)
{
	e->v = NULL;
	e->n = 0;
	t_env_add(e, "GB_TEST=1");  /* never empty, so v is never NULL */
}

static inline struct t_env t_env_make(const char *first, ...)
	__attribute__((sentinel));

static inline struct t_env
t_env_make(const char *first, ...)
{
	struct t_env e;
	va_list ap;
	const char *s;

	t_env_init(&e);
	va_start(ap, first);
	for (s = first; s != NULL; s = va_arg(ap, const char *))
		t_env_add(&e, s);
	va_end(ap);
	return e;
}

static inline void
t_env_free(struct t_env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	e->v = NULL;
	e->n = 0;
}

/* A string of c repeated n times, from malloc. */
static inline char *
t_repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* True when s is exactly n lowercase hex digits. */
static inline int
t_is_lower_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[n] == '\0';
}

#endif
