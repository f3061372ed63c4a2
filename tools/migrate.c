/* gerbang-migrate: applies the numbered, forward-only migrations in a
 * directory, each in its own transaction, under an advisory lock so two
 * runs never collide; refuses to go on when an applied file has changed.
 *
 *   gerbang-migrate [--dir DIR] [up]     apply what is pending
 *   gerbang-migrate [--dir DIR] status   list applied, pending, changed
 *
 * Connects with MIGRATE_DATABASE_URL (or MIGRATE_DATABASE_URL_FILE): the
 * owner role, not the programs' runtime role.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gb_config.h"

#define PROG "gerbang-migrate"
#define FILE_MAX (4 << 20)
#define FILES_MAX 1000
/* pg_advisory_lock key: "gerbang" in ASCII, so it is recognisable in pg_locks. */
#define LOCK_KEY "29099066883335783"

struct migration {
	int version;
	char name[128];
	char *sql;
	char sha256[65];
	bool applied;
};

static int
by_version(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	return (x->version > y->version) - (x->version < y->version);
}

static void
sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	int i;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* NNN_name.sql: three digits, an underscore, [a-z0-9_]. */
static int
parse_name(const char *name)
{
	size_t n = strlen(name), i;
	long v;
	char num[4];

	if (n < 9 || n >= 128 || strcmp(name + n - 4, ".sql") != 0 || name[3] != '_')
		return -1;
	for (i = 0; i < 3; i++)
		if (name[i] < '0' || name[i] > '9')
			return -1;
	for (i = 4; i < n - 4; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '_'))
			return -1;
	memcpy(num, name, 3);
	num[3] = '\0';
	if (gb_parse_long(num, 1, 999, &v) != GB_OK)
		return -1;
	return (int)v;
}

static char *
read_file(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;
	char *buf = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	buf = malloc(FILE_MAX + 1);
	if (buf != NULL) {
		len = fread(buf, 1, FILE_MAX + 1, f);
		if (ferror(f) || len > FILE_MAX || memchr(buf, '\0', len) != NULL) {
			free(buf);
			buf = NULL;
			errno = EFBIG;
		} else {
			buf[len] = '\0';
		}
	}
	fclose(f);
	return buf;
}

/* Loads every migration file of dir, sorted; -1 with a message on error. */
static int
load(const char *dir, struct migration **out, size_t *n)
{
	struct migration *m = NULL;
	struct dirent *de;
	size_t count = 0, i;
	DIR *d;
	int v;

	d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, PROG ": %s: %s\n", dir, strerror(errno));
		return -1;
	}
	m = calloc(FILES_MAX, sizeof(*m));
	if (m == NULL)
		goto err;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strstr(de->d_name, ".sql") == NULL)
			continue;
		v = parse_name(de->d_name);
		if (v < 0) {
			fprintf(stderr, PROG ": %s/%s: not a migration name (NNN_name.sql)\n",
			        dir, de->d_name);
			goto err;
		}
		if (count == FILES_MAX) {
			fprintf(stderr, PROG ": %s: too many files\n", dir);
			goto err;
		}
		m[count].version = v;
		snprintf(m[count].name, sizeof(m[count].name), "%s", de->d_name);
		m[count].sql = read_file(dir, de->d_name);
		if (m[count].sql == NULL) {
			fprintf(stderr, PROG ": %s/%s: %s\n", dir, de->d_name, strerror(errno));
			goto err;
		}
		sha256_hex(m[count].sql, strlen(m[count].sql), m[count].sha256);
		count++;
	}
	closedir(d);
	d = NULL;
	qsort(m, count, sizeof(*m), by_version);
	for (i = 1; i < count; i++) {
		if (m[i].version == m[i - 1].version) {
			fprintf(stderr, PROG ": %s and %s have the same number\n", m[i - 1].name,
			        m[i].name);
			goto err;
		}
	}
	*out = m;
	*n = count;
	return 0;
err:
	if (d != NULL)
		closedir(d);
	for (i = 0; m != NULL && i < count; i++)
		free(m[i].sql);
	free(m);
	return -1;
}

static bool
ok(PGconn *c, PGresult *r, const char *what)
{
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return true;
	fprintf(stderr, PROG ": %s: %s", what, PQresultErrorMessage(r)[0] ?
	        PQresultErrorMessage(r) : PQerrorMessage(c));
	return false;
}

static bool
exec_ok(PGconn *c, const char *sql, const char *what)
{
	PGresult *r = PQexec(c, sql);
	bool good = ok(c, r, what);

	PQclear(r);
	return good;
}

/* Marks applied migrations; -1 when an applied one changed or is gone. */
static int
check_applied(PGconn *c, struct migration *m, size_t n, bool report)
{
	PGresult *r;
	int rc = 0, i;
	size_t j;

	r = PQexec(c, "SELECT version, name, sha256, applied_at FROM gerbang_migrations.applied "
	              "ORDER BY version");
	if (!ok(c, r, "reading gerbang_migrations.applied")) {
		PQclear(r);
		return -1;
	}
	for (i = 0; i < PQntuples(r); i++) {
		long v = strtol(PQgetvalue(r, i, 0), NULL, 10);

		for (j = 0; j < n && m[j].version != v; j++)
			;
		if (j == n) {
			fprintf(stderr, PROG ": applied migration %s has no file any more\n",
			        PQgetvalue(r, i, 1));
			rc = -1;
			continue;
		}
		m[j].applied = true;
		if (strcmp(m[j].sha256, PQgetvalue(r, i, 2)) != 0 ||
		    strcmp(m[j].name, PQgetvalue(r, i, 1)) != 0) {
			fprintf(stderr, PROG ": applied migration %s has changed since %s; "
			        "migrations are forward-only: add a new file instead\n",
			        PQgetvalue(r, i, 1), PQgetvalue(r, i, 3));
			rc = -1;
		} else if (report) {
			printf("applied  %s  %s\n", m[j].name, PQgetvalue(r, i, 3));
		}
	}
	PQclear(r);
	return rc;
}

static int
apply(PGconn *c, struct migration *mg)
{
	char v[16];
	const char *params[3] = { v, mg->name, mg->sha256 };
	PGresult *r;

	snprintf(v, sizeof(v), "%d", mg->version);
	if (!exec_ok(c, "BEGIN", "BEGIN"))
		return -1;
	r = PQexec(c, mg->sql);
	if (!ok(c, r, mg->name)) {
		PQclear(r);
		exec_ok(c, "ROLLBACK", "ROLLBACK");
		return -1;
	}
	PQclear(r);
	r = PQexecParams(c, "INSERT INTO gerbang_migrations.applied (version, name, sha256) "
	                    "VALUES ($1, $2, $3)", 3, NULL, params, NULL, NULL, 0);
	if (!ok(c, r, "recording the migration")) {
		PQclear(r);
		exec_ok(c, "ROLLBACK", "ROLLBACK");
		return -1;
	}
	PQclear(r);
	if (!exec_ok(c, "COMMIT", mg->name))
		return -1;
	printf("applied  %s\n", mg->name);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [--dir DIR] [up | status]\n"
	           "Connects with MIGRATE_DATABASE_URL (the owner role).  Default DIR: %s\n",
	        GB_SQL_DIR);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = GB_SQL_DIR, *cmd = "up", *url, *file;
	struct migration *m = NULL;
	char *fromfile = NULL;
	PGconn *c = NULL;
	size_t n = 0, i;
	int opt, rc = 1, pending = 0;

	while ((opt = getopt_long(argc, argv, "d:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " %s (%s, built %s)\n", PACKAGE_VERSION, GB_GIT_COMMIT,
		                 GB_BUILD_TIME); return 0;
		default: usage(stderr); return 64;
		}
	}
	if (optind < argc)
		cmd = argv[optind++];
	if (optind != argc || (strcmp(cmd, "up") != 0 && strcmp(cmd, "status") != 0)) {
		usage(stderr);
		return 64;
	}
	url = getenv("MIGRATE_DATABASE_URL");
	file = getenv("MIGRATE_DATABASE_URL_FILE");
	if (url != NULL && file != NULL) {
		fprintf(stderr, PROG ": set MIGRATE_DATABASE_URL or MIGRATE_DATABASE_URL_FILE, not both\n");
		return 78;
	}
	if (file != NULL) {
		fromfile = read_file("/", file);
		if (fromfile == NULL) {
			fprintf(stderr, PROG ": MIGRATE_DATABASE_URL_FILE: %s: %s\n", file, strerror(errno));
			return 78;
		}
		fromfile[strcspn(fromfile, "\r\n")] = '\0';
		url = fromfile;
	}
	if (url == NULL) {
		fprintf(stderr, PROG ": MIGRATE_DATABASE_URL is not set (the owner role's connection)\n");
		return 78;
	}
	if (load(dir, &m, &n) != 0)
		goto out;
	c = PQconnectdbParams((const char *const[]){ "dbname", "connect_timeout", NULL },
	                      (const char *const[]){ url, "10", NULL }, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, PROG ": cannot connect: %s", PQerrorMessage(c));
		goto out;
	}
	if (!exec_ok(c, "SET client_min_messages = warning", "settings") ||
	    !exec_ok(c, "SELECT pg_advisory_lock(" LOCK_KEY ")", "taking the migration lock") ||
	    !exec_ok(c, "CREATE SCHEMA IF NOT EXISTS gerbang_migrations; "
	                "CREATE TABLE IF NOT EXISTS gerbang_migrations.applied ("
	                " version int PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,"
	                " applied_at timestamptz NOT NULL DEFAULT now())",
	             "creating gerbang_migrations.applied"))
		goto out;
	if (check_applied(c, m, n, strcmp(cmd, "status") == 0) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (m[i].applied)
			continue;
		pending++;
		if (strcmp(cmd, "status") == 0)
			printf("pending  %s\n", m[i].name);
		else if (apply(c, &m[i]) != 0)
			goto out;
	}
	if (strcmp(cmd, "up") == 0 && pending == 0)
		printf("up to date (%zu migrations)\n", n);
	rc = 0;
out:
	if (c != NULL) {
		if (PQstatus(c) == CONNECTION_OK)
			PQclear(PQexec(c, "SELECT pg_advisory_unlock_all()"));
		PQfinish(c);
	}
	for (i = 0; i < n; i++)
		free(m[i].sql);
	free(m);
	if (fromfile != NULL) {
		explicit_bzero(fromfile, strlen(fromfile));
		free(fromfile);
	}
	return rc;
}
