#include "config.h"
#include "gb_router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Matches path against pattern; on success records params into m (when m is
 * not NULL).  Returns 1 on a match, 0 if none, -1 on ENOMEM. */
static int
match_pattern(const char *pat, const char *path, struct gb_arena *a,
              struct gb_route_match *m)
{
	size_t np = 0;

	while (*pat != '\0') {
		if (pat[0] == '{' && pat[1] == '*') {
			/* {*name}: the rest of the path, possibly empty; last in a
			 * pattern (gb_route_match's contract). */
			const char *close = strchr(pat, '}');
			size_t nlen;

			if (close == NULL || close[1] != '\0' || np == GB_ROUTE_PARAMS_MAX)
				return 0;
			if (m != NULL) {
				nlen = (size_t)(close - pat - 2);
				if (nlen >= sizeof(m->params[np].name))
					nlen = sizeof(m->params[np].name) - 1;
				memcpy(m->params[np].name, pat + 2, nlen);
				m->params[np].name[nlen] = '\0';
				m->params[np].value = gb_arena_strdup(a, path);
				if (m->params[np].value == NULL)
					return -1;
				m->nparams = np + 1;
			}
			return 1;
		}
		if (*pat == '{') {
			const char *close = strchr(pat, '}');
			size_t seg = strcspn(path, "/");
			size_t nlen;

			if (close == NULL || seg == 0 || np == GB_ROUTE_PARAMS_MAX)
				return 0;
			if (m != NULL) {
				nlen = (size_t)(close - pat - 1);
				if (nlen >= sizeof(m->params[np].name))
					nlen = sizeof(m->params[np].name) - 1;
				memcpy(m->params[np].name, pat + 1, nlen);
				m->params[np].name[nlen] = '\0';
				m->params[np].value = gb_arena_strndup(a, path, seg);
				if (m->params[np].value == NULL)
					return -1;
			}
			np++;
			path += seg;
			pat = close + 1;
			continue;
		}
		if (*pat != *path)
			return 0;
		pat++;
		path++;
	}
	if (*path != '\0')
		return 0;
	if (m != NULL)
		m->nparams = np;
	return 1;
}

static void
allow_add(char *allow, size_t size, const char *method)
{
	size_t len = strlen(allow), mlen = strlen(method);
	const char *p = allow;

	/* Already listed? */
	while ((p = strstr(p, method)) != NULL) {
		if ((p == allow || p[-1] == ' ') && (p[mlen] == ',' || p[mlen] == '\0'))
			return;
		p += mlen;
	}
	snprintf(allow + len, size - len, "%s%s", len ? ", " : "", method);
}

enum gb_err
gb_route_match(const struct gb_route *routes, size_t n, const char *method,
               const char *path, struct gb_arena *a, struct gb_route_match *m)
{
	bool head = strcmp(method, "HEAD") == 0;
	bool path_known = false;
	size_t i;
	int r;

	m->route = NULL;
	m->nparams = 0;
	m->allow[0] = '\0';
	for (i = 0; i < n; i++) {
		const struct gb_route *rt = &routes[i];
		bool same = strcmp(rt->method, method) == 0 || strcmp(rt->method, "*") == 0 ||
		            (head && strcmp(rt->method, "GET") == 0);

		if (same) {
			r = match_pattern(rt->pattern, path, a, m);
			if (r < 0)
				return GB_ENOMEM;
			if (r > 0) {
				m->route = rt;
				return GB_OK;
			}
		} else if (match_pattern(rt->pattern, path, NULL, NULL) > 0) {
			path_known = true;
		}
	}
	if (!path_known)
		return GB_ENOTFOUND;
	/* Build Allow in table order: every method whose pattern takes path. */
	for (i = 0; i < n; i++) {
		if (match_pattern(routes[i].pattern, path, NULL, NULL) <= 0)
			continue;
		allow_add(m->allow, sizeof(m->allow), routes[i].method);
		if (strcmp(routes[i].method, "GET") == 0)
			allow_add(m->allow, sizeof(m->allow), "HEAD");
	}
	return GB_EMETHOD;
}

const char *
gb_route_param(const struct gb_route_match *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nparams; i++)
		if (strcmp(m->params[i].name, name) == 0)
			return m->params[i].value;
	return NULL;
}
