#include "config.h"
#include "gb_dir.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
cmp_names(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static bool
wanted(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

void
gb_dir_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

enum gb_err
gb_dir_json_names(int dfd, size_t max, char ***out, size_t *n)
{
	struct dirent *de;
	char **names = NULL, **grown;
	size_t cap = 0, count = 0;
	enum gb_err e = GB_EIO;
	int fd2, saved;
	DIR *d;

	*out = NULL;
	*n = 0;
	/* a copy of dfd: closedir closes it, and readdir moves its offset */
	if ((fd2 = dup(dfd)) < 0)
		return GB_EIO;
	if ((d = fdopendir(fd2)) == NULL) {
		saved = errno;
		close(fd2);
		errno = saved;
		return GB_EIO;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				goto err;
			break;
		}
		if (!wanted(de->d_name))
			continue;
		if (count == max) {
			e = GB_ETOOBIG;
			goto err;
		}
		if (count == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((grown = realloc(names, cap * sizeof(*names))) == NULL)
				goto nomem;
			names = grown;
		}
		if ((names[count] = strdup(de->d_name)) == NULL)
			goto nomem;
		count++;
	}
	closedir(d);
	if (count > 0)
		qsort(names, count, sizeof(*names), cmp_names);
	*out = names;
	*n = count;
	return GB_OK;
nomem:
	e = GB_ENOMEM;
err:
	saved = errno;
	closedir(d);
	gb_dir_names_free(names, count);
	errno = saved;
	return e;
}
