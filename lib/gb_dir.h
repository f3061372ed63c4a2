/* gb_dir.h - the configuration directories (PLUGIN_DIR, SCHEMA_DIR): the
 * names of their JSON files, read once and sorted, so that every program
 * loads them in the same order.
 */
#ifndef GB_DIR_H
#define GB_DIR_H

#include <stddef.h>

#include "gb_err.h"

/* The names of the files NAME.json (not hidden) of the directory dfd,
 * sorted by strcmp; at most max of them.  GB_OK with *out (free with
 * gb_dir_names_free) and *n; GB_EIO (the directory cannot be read: errno
 * says why), GB_ETOOBIG (more than max), GB_ENOMEM, with *out NULL and *n
 * 0.  dfd stays open and unread. */
enum gb_err gb_dir_json_names(int dfd, size_t max, char ***out, size_t *n);
void gb_dir_names_free(char **names, size_t n);

#endif
