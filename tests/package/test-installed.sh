#!/bin/bash
# tests/package/test-installed.sh - the installed-package test.
#
#   tests/package/test-installed.sh [--from COMMIT|OLD.deb] [path/to/gerbang_VERSION_ARCH.deb]
#
# Without a .deb it builds the package from this source tree first (in a
# temporary copy; DEB_BUILD_OPTIONS is honoured), and lintian (pedantic)
# must report no error and no warning on it.  With --from, the
# previous release (the package of COMMIT, built from `git archive`, or
# OLD.deb) is installed first, set up (step 3) and served (gerbang-health
# and gerbang-auth, as their units would), a client logs in; then the
# package is upgraded over it as README.Debian says (apt-get install
# --force-confold): the administrator's edit of /etc/default/gerbang and
# the token key are kept, the running programs go on answering,
# gerbang-migrate applies the new migrations, the programs restart, and
# the refresh token from before refreshes.  Then it:
#   1. installs the .deb with apt-get (dependencies included, plus nginx,
#      ssl-cert and curl for step 4, and postgresql when no PostgreSQL
#      server is installed), with service starts blocked by a temporary
#      policy-rc.d so no system web server grabs ports 80/443;
#   2. checks the user, every program, unit, man page and migration, the
#      tmpfiles directory, the conffiles, the token key
#      /etc/gerbang/jwt-secret, the empty plugin directory
#      /etc/gerbang/plugins.d, the example plugin upstream
#      /usr/libexec/gerbang/gerbang-echo, and the API description
#      /usr/share/gerbang/openapi.json with the /docs page and its Swagger UI;
#   3. starts a private PostgreSQL cluster (initdb as postgres into a
#      temporary directory, unix socket only) and does the first-time
#      setup of README.Debian with the INSTALLED tools: its roles and
#      database with psql as postgres, gerbang-migrate (default directory)
#      as the owner, gerbang-admin company create / user create and
#      check-config as the system user gerbang (runtime role, peer
#      authentication);
#   4. serves the INSTALLED programs the way their .socket and .service
#      units would, without systemd as PID 1: systemd-socket-activate (as
#      root) owns /run/gerbang/NAME.sock, root:www-data 0660, and execs the
#      program as user gerbang with the listening socket on fd 0 and the
#      environment of /etc/default/gerbang (plus the private cluster's
#      DATABASE_URL and a dead REDIS_URL); a private nginx master (own pid,
#      logs and temp paths) includes the INSTALLED
#      /etc/nginx/sites-available/gerbang unchanged, and curl checks health
#      (/healthz, /version, /readyz), /openapi.json and /docs (static
#      files), login, /v1/me and /v1/users;
#      gerbang-proxy is served the same way, with one plugin: the INSTALLED
#      gerbang-echo as user gerbang on its own unix socket behind a second
#      server block of the private nginx (a free loopback port), the
#      installed example manifest echo.json (gateway_verified, its upstream
#      pointed at that port) in /etc/gerbang/plugins.d with a secret shared
#      by both; curl checks the signed identity the echo receives, 401
#      without a token, spoofed identity headers, a manifest added, a bad
#      one and SIGHUP (reloads), 502 and the circuit breaker's 503;
#      gerbang-tasks the same way, and the INSTALLED gerbang-worker as user
#      gerbang with that environment: with Redis dead, a task cannot be
#      queued (503, and no row is left), the lists answer, and the worker
#      waits for Redis, then exits 0 on SIGTERM;
#      gerbang-chat the same way (no language model reachable: a session
#      without messages, a bad message, no token);
#      gerbang-data the same way, with the installed example declaration
#      notes.json copied into /etc/gerbang/schema.d (as README.Debian
#      says): check-config --database, then create, list, a stale and a
#      good If-Match, an undeclared resource, no token;
#   5. stops all it started (programs, the echo, nginx, the cluster, which
#      it then removes), removes the manifests and secret it wrote, checks
#      nothing is left running, removes the package (the configuration,
#      key and user stay), purges it and checks the user, conffiles,
#      units, token key and plugin directory are gone.
# One line per check, then "package: N passed, M failed"; exit 0 only when
# nothing failed.  Run as root on a Debian machine where installing and
# purging the package "gerbang" is acceptable (a CI machine): it refuses to
# run if gerbang is already installed.  Every wait is bounded; a trap
# cleans up on failure and interruption.

# Checks are written as eval strings expanded when they run, which
# the linter cannot follow.
# shellcheck disable=SC2016,SC2034,SC2317

set -u
set -o pipefail

FROM=
if [ "${1:-}" = --from ]; then
	[ $# -ge 2 ] || { echo "usage: $0 [--from COMMIT|OLD.deb] [NEW.deb]" >&2; exit 64; }
	FROM=$2
	shift 2
fi

PKG=gerbang
PROGRAMS=(health auth users proxy metrics tasks data chat)   # the FastCGI programs, each with its socket
TOOLS=(migrate admin)                # the commands, no units
DAEMONS=(worker)                     # a .service each, no socket
WORKER=/usr/sbin/gerbang-worker
WORKER_PID=
RUN=/run/gerbang
SOCK=$RUN/health.sock
PROG=/usr/sbin/gerbang-health
ADMIN=/usr/sbin/gerbang-admin
MIGRATE=/usr/sbin/gerbang-migrate
SECRET=/etc/gerbang/jwt-secret
ECHO=/usr/libexec/gerbang/gerbang-echo   # the example plugin upstream
ECHO_SOCK=$RUN/echo.sock
PLUGDIR=/etc/gerbang/plugins.d           # PLUGIN_DIR, by default
MANIFEST=$PLUGDIR/echo.json
PSECRET=$PLUGDIR/echo.secret             # shared by the proxy and the echo
EXAMPLES=/usr/share/doc/gerbang/examples/plugins
SCHEMADIR=/etc/gerbang/schema.d          # SCHEMA_DIR, by default
SCHEMA_EXAMPLE=/usr/share/doc/gerbang/examples/schema.d/notes.json
SCHEMA_FILES=()   # what this test wrote into $SCHEMADIR, removed before purge
PASS=0
FAIL=0
WORK=
declare -A SERVE_PID=()
ECHO_PID=
PLUGIN_FILES=()   # what this test wrote into $PLUGDIR, removed before purge
NGINX_PID=
PG_PID=
POLICY_RC_CREATED=
INSTALLED_BY_US=
export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q -o DPkg::Lock::Timeout=120)

# Report on fd 3, the original stdout, so that lines written by a trap
# that fires inside a redirected command still reach the reader.
exec 3>&1
pass() { PASS=$((PASS + 1)); echo "ok   - $*" >&3; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL - $*" >&3; }
note() { echo "#      $*" >&3; }
# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	local desc=$1
	shift
	if "$@" >/dev/null 2>&1; then pass "$desc"; else fail "$desc"; fi
}
# A problem that makes the remaining checks meaningless: report it as a
# failure and stop (the EXIT trap cleans up and prints the summary).
abort() {
	fail "$*"
	exit 1
}
# show FILE [LINES]: the end of a log, as notes.
show() { tail -n "${2:-15}" "$1" 2>/dev/null | sed 's/^/#      /' >&3; }

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# wait_for SECONDS COMMAND...: polls every 0.1 s; 1 on timeout.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# stop_pid PID SIGNAL SECONDS: signal, wait, SIGKILL if still there.
# Sets STOP_STATUS to the exit status of PID (a child of this shell).
stop_pid() {
	local pid=$1 sig=$2 secs=$3
	STOP_STATUS=
	alive "$pid" || { wait "$pid" 2>/dev/null; STOP_STATUS=$?; return 0; }
	kill "-$sig" "$pid" 2>/dev/null
	if ! wait_for "$secs" eval "! kill -0 $pid"; then
		kill -KILL "$pid" 2>/dev/null
		wait_for 5 eval "! kill -0 $pid"
	fi
	wait "$pid" 2>/dev/null
	STOP_STATUS=$?
}

cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	[ -n "$NGINX_PID" ] && stop_pid "$NGINX_PID" TERM 10
	[ -n "$WORKER_PID" ] && stop_pid "$WORKER_PID" TERM 10
	for p in "${!SERVE_PID[@]}"; do
		stop_pid "${SERVE_PID[$p]}" TERM 10
		rm -f "$RUN/$p.sock"
	done
	if [ -n "$ECHO_PID" ]; then
		stop_pid "$ECHO_PID" TERM 10
		rm -f "$ECHO_SOCK"
	fi
	for p in "${PLUGIN_FILES[@]}"; do rm -f "$p"; done
	for p in "${SCHEMA_FILES[@]}"; do rm -f "$p"; done
	# SIGINT: PostgreSQL's fast shutdown.
	[ -n "$PG_PID" ] && stop_pid "$PG_PID" INT 30
	if [ -n "$POLICY_RC_CREATED" ]; then
		rm -f /usr/sbin/policy-rc.d
	fi
	if [ -n "$INSTALLED_BY_US" ] && dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null |
		grep -q ' installed$'; then
		timeout 300 apt-get purge "${APT_OPTS[@]}" "$PKG" >/dev/null 2>&1
	fi
	[ -n "$WORK" ] && rm -rf "$WORK"
	echo "package: $PASS passed, $FAIL failed" >&3
	[ "$rc" -eq 0 ] && [ "$FAIL" -gt 0 ] && rc=1
	exit "$rc"
}
interrupted() { fail "interrupted"; exit 130; }
trap cleanup EXIT
trap interrupted INT TERM
# Between starting a process in the background and storing its PID, an
# interruption only sets a flag: the trap could otherwise run in between
# and leave the process behind.
HELD=
hold_signals() { trap 'HELD=1' INT TERM; }
release_signals() {
	trap interrupted INT TERM
	[ -z "$HELD" ] || interrupted
}

# ---------------------------------------------------------------- setup --
[ "$(id -u)" -eq 0 ] || abort "must run as root"
if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
	abort "needs a Debian system (apt-get, dpkg-query)"
fi
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q ' installed$'; then
	abort "$PKG is already installed here; this test installs and purges it, refusing"
fi
for p in "${PROGRAMS[@]}" echo; do
	[ -e "$RUN/$p.sock" ] && abort "$RUN/$p.sock already exists (something else serves it), refusing"
done

WORK=$(mktemp -d /tmp/gerbang-pkgtest.XXXXXX) || abort "mktemp"
chmod 0755 "$WORK"

srcdir=$(cd "$(dirname "$0")/../.." && pwd)

# build_deb [REF]: builds the package of this tree, or of the commit REF
# (the previous release, for the upgrade), into $WORK/build[-REF]; sets
# BUILT to the .deb.
build_deb() {
	local ref=${1:-} ver dir out=$WORK/build${1:+-$1} log=$WORK/build${1:+-$1}.log
	BUILT=
	if [ -n "$ref" ]; then
		ver=$(git -C "$srcdir" show "$ref:debian/changelog" | dpkg-parsechangelog -l - -S Version) ||
			return 1
	else
		ver=$(dpkg-parsechangelog -l "$srcdir/debian/changelog" -S Version) || return 1
	fi
	dir=$out/$PKG-$ver
	mkdir -p "$dir"
	if [ -n "$ref" ]; then
		git -C "$srcdir" archive --format=tar "$ref" | tar -C "$dir" -xf - || return 1
		if [ -d "$srcdir/docs/ui/node_modules/swagger-ui-dist" ] && [ -d "$dir/docs/ui" ]; then
			mkdir -p "$dir/docs/ui/node_modules" &&
				cp -a "$srcdir/docs/ui/node_modules/swagger-ui-dist" "$dir/docs/ui/node_modules/" || return 1
		fi
		local GIT_COMMIT=${ref:0:12}
		export GIT_COMMIT
	elif git -C "$srcdir" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$srcdir" ls-files -z --cached --others --exclude-standard |
			(cd "$srcdir" && tar --null -T - -cf -) | tar -C "$dir" -xf - || return 1
		# The pinned Swagger UI that `npm ci` put in docs/ui/node_modules
		# (scripts/dev does), which git ignores: make ships files of it.
		if [ -d "$srcdir/docs/ui/node_modules/swagger-ui-dist" ]; then
			mkdir -p "$dir/docs/ui/node_modules" &&
				cp -a "$srcdir/docs/ui/node_modules/swagger-ui-dist" "$dir/docs/ui/node_modules/" || return 1
		fi
		export GIT_COMMIT="${GIT_COMMIT:-$(git -C "$srcdir" rev-parse --short=12 HEAD 2>/dev/null)}"
	else
		(cd "$srcdir" && tar --exclude=./debian/"$PKG" --exclude='*.o' -cf - .) |
			tar -C "$dir" -xf - || return 1
	fi
	if ! (cd "$dir" && dpkg-checkbuilddeps) >/dev/null 2>&1; then
		timeout 900 apt-get build-dep "${APT_OPTS[@]}" "$dir" >>"$log" 2>&1 || {
			timeout 300 apt-get update -q >>"$log" 2>&1
			timeout 900 apt-get build-dep "${APT_OPTS[@]}" "$dir" >>"$log" 2>&1
		} || return 1
	fi
	(cd "$dir" && timeout 1800 dpkg-buildpackage -us -uc -b) >>"$log" 2>&1 || {
		show "$log" 30
		return 1
	}
	BUILT=$(find "$out" -maxdepth 1 -name "${PKG}_${ver}_*.deb" | head -n 1)
	[ -n "$BUILT" ]
}

if [ $# -ge 1 ]; then
	DEB=$(readlink -f "$1")
	[ -f "$DEB" ] || abort "no such file: $1"
else
	note "building the package from $srcdir"
	build_deb || abort "build the package (log above)"
	DEB=$BUILT
	pass "package builds: $(basename "$DEB")"
fi
VERSION=$(dpkg-deb -f "$DEB" Version) || abort "$DEB is not a .deb"
UPSTREAM=${VERSION%%-*}
PREV_DEB=
if [ -n "$FROM" ]; then
	case $FROM in
	*.deb) PREV_DEB=$(readlink -f "$FROM") ;;
	*)
		rev=$(git -C "$srcdir" rev-parse --verify -q "$FROM^{commit}") ||
			abort "--from $FROM: no such commit in $srcdir (a clone with its history is needed)"
		note "building the previous release from commit $rev"
		build_deb "$rev" || abort "build the package of $FROM (log above)"
		PREV_DEB=$BUILT
		;;
	esac
	PREV_VERSION=$(dpkg-deb -f "$PREV_DEB" Version) || abort "$PREV_DEB is not a .deb"
	check "the previous release $PREV_VERSION is older than $VERSION" \
		dpkg --compare-versions "$PREV_VERSION" lt "$VERSION"
fi
if command -v lintian >/dev/null; then
	if timeout 300 lintian --pedantic --fail-on error,warning "$DEB" >"$WORK/lintian.log" 2>&1; then
		pass "lintian: no errors or warnings"
	else
		grep -E '^[EW]: ' "$WORK/lintian.log" | sed 's/^/#      /' >&3
		fail "lintian: no errors or warnings"
	fi
else
	note "lintian not installed: skipped"
fi

# -------------------------------------------------------------- install --
# The newest PostgreSQL server installed (Debian's layout), for step 3.
find_pgbin() {
	local d
	PGBIN=
	for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V); do
		[ -x "$d/initdb" ] && [ -x "$d/postgres" ] && [ -x "$d/psql" ] && PGBIN=$d
	done
	[ -n "$PGBIN" ]
}
EXTRA=(nginx ssl-cert curl)
find_pgbin || EXTRA+=(postgresql)

# A temporary policy-rc.d keeps packages pulled in here (nginx, postgresql)
# from starting their system services.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 0755 /usr/sbin/policy-rc.d
	POLICY_RC_CREATED=1
fi
# With --from, the previous release first (and cgi-fcgi, to talk to its
# running programs); this release is installed over it further down.
FIRST_DEB=$DEB FIRST_VERSION=$VERSION
if [ -n "$PREV_DEB" ]; then
	FIRST_DEB=$PREV_DEB FIRST_VERSION=$PREV_VERSION
	EXTRA+=(libfcgi-bin)
fi
install_pkg() {
	timeout 900 apt-get install "${APT_OPTS[@]}" "$FIRST_DEB" "${EXTRA[@]}"
}
INSTALLED_BY_US=1
if ! install_pkg >"$WORK/install.log" 2>&1; then
	timeout 300 apt-get update -q >>"$WORK/install.log" 2>&1
	install_pkg >>"$WORK/install.log" 2>&1
fi
if dpkg-query -W -f='${Status} ${Version}' "$PKG" 2>/dev/null | grep -qx "install ok installed $FIRST_VERSION"; then
	pass "apt-get install $(basename "$FIRST_DEB")"
else
	show "$WORK/install.log" 20
	abort "apt-get install $(basename "$FIRST_DEB")"
fi
if [ -n "$POLICY_RC_CREATED" ]; then
	rm -f /usr/sbin/policy-rc.d
	POLICY_RC_CREATED=
fi

# ------------------------------------------------------------- database --
# A private cluster: its own data directory, a unix socket in its own
# directory, no TCP.  The owner logs in with a password (from a pgpass
# file, as README.Debian has root do), everybody else by peer
# authentication: postgres as postgres, the runtime role as the system
# user gerbang.
PG=$WORK/pg
PGSOCK=$PG/run
PGLOG=$PG/postgres.log
OWNER_PW=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
USER_PW=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
COMPANY=pkgtest
EMAIL=owner@pkgtest.example
DB_URL="postgresql:///gerbang?host=$PGSOCK"
cid=
uid=
token=
as_postgres() {
	(cd "$PG" && env -i PATH=/usr/bin:/bin LC_ALL=C \
		setpriv --reuid=postgres --regid=postgres --init-groups -- "$@")
}
db_ok=1
find_pgbin || { fail "a PostgreSQL server is installed (/usr/lib/postgresql/*/bin)"; db_ok=; }
if [ -n "$db_ok" ] && ! getent passwd postgres >/dev/null; then
	fail "user postgres exists"
	db_ok=
fi
if [ -n "$db_ok" ]; then
	# Others may enter $PG to reach the socket; only the data is private.
	install -d -o postgres -g postgres -m 0755 "$PG"
	install -d -o postgres -g postgres -m 0700 "$PG/data"
	install -d -o postgres -g postgres -m 0755 "$PGSOCK"
	if as_postgres timeout 120 "$PGBIN/initdb" -D "$PG/data" -U postgres -E UTF8 \
		--no-locale --no-sync --no-instructions >"$WORK/initdb.log" 2>&1; then
		pass "initdb as postgres ($PGBIN)"
	else
		show "$WORK/initdb.log"
		fail "initdb as postgres ($PGBIN)"
		db_ok=
	fi
fi
if [ -n "$db_ok" ]; then
	cat >"$PG/data/pg_hba.conf" <<'EOF'
local all gerbang_owner scram-sha-256
local all all peer
EOF
	cat >>"$PG/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$PGSOCK'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
	hold_signals
	(
		cd "$PG" && exec env -i PATH=/usr/bin:/bin LC_ALL=C \
			setpriv --reuid=postgres --regid=postgres --init-groups -- \
			"$PGBIN/postgres" -D "$PG/data"
	) </dev/null >>"$PGLOG" 2>&1 3>&- &
	PG_PID=$!
	release_signals
	if wait_for 30 "$PGBIN/pg_isready" -q -h "$PGSOCK" -t 1; then
		pass "private PostgreSQL cluster accepts connections on $PGSOCK"
	else
		show "$PGLOG"
		fail "private PostgreSQL cluster accepts connections on $PGSOCK"
		db_ok=
	fi
	check "the cluster listens on no TCP port (listen_addresses '')" \
		eval 'la=$(as_postgres "$PGBIN/psql" -X -h "$PGSOCK" -U postgres -d postgres -qAt -c "show listen_addresses") && test -z "$la"'
fi

# psql_su: psql as the superuser postgres, SQL on stdin.
psql_su() {
	as_postgres timeout 30 "$PGBIN/psql" -X -h "$PGSOCK" -U postgres -d postgres \
		-v ON_ERROR_STOP=1 -qAt
}
if [ -n "$db_ok" ]; then
	# The roles and database exactly as the installed README.Debian says.
	zcat -f /usr/share/doc/gerbang/README.Debian* 2>/dev/null |
		sed -n "/<<'SQL'\$/,/^ *SQL\$/{//!p}" | sed 's/^ *//' >"$WORK/roles.sql"
	check "README.Debian gives the roles and database in SQL (4 statements)" \
		test "$(grep -c ';$' "$WORK/roles.sql")" = 4
	if psql_su <"$WORK/roles.sql" >"$WORK/roles.log" 2>&1; then
		pass "roles and database created with psql as postgres"
	else
		show "$WORK/roles.log"
		fail "roles and database created with psql as postgres"
		db_ok=
	fi
	printf "ALTER ROLE gerbang_owner PASSWORD '%s';\n" "$OWNER_PW" | psql_su >/dev/null 2>&1
	roles=$(psql_su <<'SQL' 2>&1
SELECT string_agg(format('%s:%s%s%s', r.rolname,
	CASE WHEN r.rolcanlogin THEN 'login' ELSE 'nologin' END,
	CASE WHEN r.rolbypassrls THEN ',bypassrls' ELSE '' END,
	CASE WHEN r.rolsuper THEN ',super' ELSE '' END), ' ' ORDER BY r.rolname)
FROM pg_roles r WHERE r.rolname LIKE 'gerbang%';
SELECT pg_has_role('gerbang', 'gerbang_runtime', 'MEMBER');
SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'gerbang';
SQL
)
	check "roles as documented ($(printf '%s' "$roles" | tr '\n' ' '))" test "$roles" = \
		"$(printf '%s\n' 'gerbang:login gerbang_owner:login,bypassrls gerbang_runtime:nologin' t gerbang_owner)"
fi

if [ -n "$db_ok" ]; then
	# As README.Debian: the owner's password from a pgpass file, the
	# migrations from the default directory.
	(umask 0077 && printf '*:*:gerbang:gerbang_owner:%s\n' "$OWNER_PW" >"$WORK/pgpass")
	migrate() {
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin PGPASSFILE="$WORK/pgpass" \
			MIGRATE_DATABASE_URL="postgresql:///gerbang?host=$PGSOCK&user=gerbang_owner" \
			timeout 60 "$MIGRATE" "$@"
	}
	if migrate >"$WORK/migrate.log" 2>&1; then
		pass "gerbang-migrate as gerbang_owner applies the installed migrations"
	else
		show "$WORK/migrate.log"
		fail "gerbang-migrate as gerbang_owner applies the installed migrations"
		db_ok=
	fi
	nsql=$(find /usr/share/gerbang/sql -name '[0-9][0-9][0-9]_*.sql' | wc -l)
	check "gerbang-migrate applied 001_identity.sql and all $nsql files" eval \
		'grep -q "^applied  *001_identity.sql" "$WORK/migrate.log" && test "$(grep -c "^applied " "$WORK/migrate.log")" = "$nsql"'
	st=$(migrate status 2>&1)
	check "gerbang-migrate status: every migration applied, none pending" eval \
		'test "$(printf "%s\n" "$st" | grep -c "^applied ")" = "$nsql" && ! printf "%s\n" "$st" | grep -q "^pending"'
	again=$(migrate 2>&1)
	check "gerbang-migrate again: up to date ($again)" eval 'case "$again" in "up to date"*) true;; *) false;; esac'
fi

# GENV: the command prefix that gives what follows the environment the
# units give the programs (/etc/default/gerbang as installed), plus the
# private cluster as DATABASE_URL, a Redis nobody serves, and the token key.
# An array, not a function, so that it can be exec'd.
genv() {
	GENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin bash -c
		'set -a && . /etc/default/gerbang && set +a && exec "$@"' gerbang-env
		env DATABASE_URL="$DB_URL" REDIS_URL="unix:$WORK/no-redis.sock"
		READY_TIMEOUT_MS=500 JWT_SECRET_FILE="$SECRET")
}
gerbang_env() { genv && "${GENV[@]}" "$@"; }
# as_gerbang COMMAND...: the same, as the system user gerbang.
as_gerbang() {
	gerbang_env setpriv --reuid=gerbang --regid=gerbang --init-groups -- "$@"
}

if [ -n "$db_ok" ]; then
	cid=$(as_gerbang timeout 30 "$ADMIN" company create "$COMPANY" "Package Test" 2>"$WORK/admin.log")
	check "gerbang-admin company create $COMPANY (id ${cid:-none})" \
		eval '[[ "$cid" =~ ^[0-9a-f-]{36}$ ]]'
	uid=$(printf '%s\n' "$USER_PW" | as_gerbang timeout 30 "$ADMIN" user create \
		--company "$COMPANY" --email "$EMAIL" --role owner 2>>"$WORK/admin.log")
	check "gerbang-admin user create $EMAIL, password on stdin (id ${uid:-none})" \
		eval '[[ "$uid" =~ ^[0-9a-f-]{36}$ ]]'
	shown=$(as_gerbang timeout 30 "$ADMIN" user show --company "$COMPANY" --email "$EMAIL" 2>>"$WORK/admin.log")
	check "gerbang-admin user show finds the owner" \
		eval 'printf "%s" "$shown" | grep -qF "$uid" && printf "%s" "$shown" | grep -qw owner'
	[ -s "$WORK/admin.log" ] && show "$WORK/admin.log"
fi

# check-config contacts nothing (tools/admin.c: REDIS_URL parsed by
# gb_redis_url_parse, DATABASE_URL by PQconninfoParse, no connection):
# the Redis given is served by nobody.
cc=$(as_gerbang timeout 30 "$ADMIN" check-config 2>&1)
cc_rc=$?
check "gerbang-admin check-config as gerbang exits 0 (status $cc_rc)" test "$cc_rc" = 0
check "check-config: configuration OK, HS256 key from $SECRET loaded, never printed" eval \
	'printf "%s\n" "$cc" | grep -qx "configuration OK" && printf "%s\n" "$cc" | grep -qx "JWT_SECRET=(set)" && ! printf "%s" "$cc" | grep -qF "$(cat "$SECRET")"'
[ "$cc_rc" = 0 ] || printf '%s\n' "$cc" | sed 's/^/#      /' >&3
cc_dead=$(DB_URL="postgresql:///gerbang?host=$WORK/no-postgres" as_gerbang timeout 30 "$ADMIN" check-config 2>&1)
check "check-config contacts neither PostgreSQL nor Redis (exit 0 with both dead)" eval \
	'printf "%s\n" "$cc_dead" | grep -qx "configuration OK"'

# activate NAME: gerbang-NAME as its .socket and .service would serve it.
# systemd-socket-activate passes on only PATH, HOME and TERM of its
# environment: the program's comes after it.  It waits for the first
# connection, then execs the rest, as systemd would start the service (its
# PID becomes the program's).
activate() {
	local p=$1
	umask 0077
	genv
	hold_signals
	(
		exec systemd-socket-activate --inetd -l "$RUN/$p.sock" \
			"${GENV[@]}" \
			setpriv --reuid=gerbang --regid=gerbang --init-groups --inh-caps=-all \
				--no-new-privs -- \
			"/usr/sbin/gerbang-$p"
	) </dev/null 2>>"$WORK/$p.log" 3>&- &
	SERVE_PID[$p]=$!
	release_signals
	umask 0022
}
# socket_ready NAME: waits for the socket, then sets what SocketUser=root,
# SocketGroup=www-data, SocketMode=0660 do; 1 when it never came.
socket_ready() {
	local s=$RUN/$1.sock
	if wait_for 10 test -S "$s"; then
		chgrp www-data "$s" && chmod 0660 "$s"
		pass "socket $s listening ($(stat -c '%U:%G %a' "$s"))"
	else
		show "$WORK/$1.log"
		fail "socket $s listening"
		return 1
	fi
}

# -------------------------------------------------------------- upgrade --
# fcgi NAME METHOD URI [BODY]: one request to the running gerbang-NAME
# through its socket, as the web server would send it (cgi-fcgi); the CGI
# answer (Status: line, headers, body) in $WORK/fcgi.out.
fcgi() {
	local body=${4:-}
	printf '%s' "$body" | env -i REQUEST_METHOD="$2" REQUEST_URI="$3" SCRIPT_NAME= \
		SERVER_PROTOCOL=HTTP/1.1 REMOTE_ADDR=127.0.0.1 CONTENT_TYPE=application/json \
		CONTENT_LENGTH=${#body} timeout 15 cgi-fcgi -bind -connect "$RUN/$1.sock" \
		>"$WORK/fcgi.out" 2>/dev/null
}
fcgi_status() { sed -n 's/^Status: \([0-9]*\).*/\1/p' "$WORK/fcgi.out" | head -n 1; }
fcgi_str() { sed -n "s/.*\"$1\":\"\([^\"\\\\]*\)\".*/\\1/p" "$WORK/fcgi.out" | head -n 1; }

# upgrade: the previous release, set up as above, serving; then this
# release over it as README.Debian's "Upgrading" says: apt-get install
# keeping the administrator's configuration, gerbang-migrate, and the
# services restarted.  What a client had before works after.
OLD_REFRESH=
upgrade() {
	local p old_pids=() before after secret_sum
	[ -d "$RUN" ] || install -d -o gerbang -g www-data -m 0750 "$RUN"
	for p in health auth; do
		activate "$p"
		socket_ready "$p" || abort "the previous release serves gerbang-$p"
	done
	fcgi health GET /version
	check "the running $PREV_VERSION answers /version with $PREV_VERSION" eval \
		'test "$(fcgi_status)" = 200 && grep -qF "\"version\":\"${PREV_VERSION%%-*}\"" "$WORK/fcgi.out"'
	fcgi auth POST /v1/auth/login "$(printf '{"company":"%s","email":"%s","password":"%s"}' \
		"$COMPANY" "$EMAIL" "$USER_PW")"
	OLD_REFRESH=$(fcgi_str refresh_token)
	check "the running $PREV_VERSION logs the owner in (a refresh token kept for after the upgrade)" \
		eval 'test "$(fcgi_status)" = 200 && test -n "$OLD_REFRESH"'
	# (the activator exec'd the program on the first connection: same PID)
	for p in health auth; do
		old_pids+=("${SERVE_PID[$p]}")
	done
	# The administrator's change to a conffile the new release also changes.
	printf '# kept across the upgrade (pkgtest)\nACCESS_LOG_SAMPLE=1\n' >>/etc/default/gerbang
	before=$(sha256sum </etc/default/gerbang)
	secret_sum=$(sha256sum <"$SECRET")
	hold_signals
	timeout 900 apt-get install "${APT_OPTS[@]}" -o Dpkg::Options::=--force-confold "$DEB" \
		</dev/null >"$WORK/upgrade.log" 2>&1
	release_signals
	if dpkg-query -W -f='${Status} ${Version}' "$PKG" 2>/dev/null | grep -qx "install ok installed $VERSION"; then
		pass "apt-get install $(basename "$DEB") over the running $PREV_VERSION"
	else
		show "$WORK/upgrade.log" 20
		abort "apt-get install $(basename "$DEB") over the running $PREV_VERSION"
	fi
	check "the upgrade asked nothing and reported no error" \
		eval '! grep -qiE "^(E:|dpkg: error)|conffile prompt" "$WORK/upgrade.log"'
	after=$(sha256sum </etc/default/gerbang)
	check "/etc/default/gerbang keeps the administrator's change" test "$before" = "$after"
	check "the new default configuration waits beside it (/etc/default/gerbang.dpkg-dist)" \
		eval 'test -f /etc/default/gerbang.dpkg-dist || cmp -s /etc/default/gerbang <(dpkg-deb --fsys-tarfile "$DEB" | tar -xOf - ./etc/default/gerbang)'
	check "the token key $SECRET is unchanged" test "$(sha256sum <"$SECRET")" = "$secret_sum"
	# (no systemd here: what dh_installsystemd wrote is what would run)
	check "the postinst restarts the sockets and the worker under systemd on an upgrade" \
		eval 'grep -q "_dh_action=restart" /var/lib/dpkg/info/gerbang.postinst &&
		      grep -q "deb-systemd-invoke \$_dh_action .*gerbang-health\.socket.*gerbang-worker\.service" /var/lib/dpkg/info/gerbang.postinst'
	for p in "${old_pids[@]}"; do
		check "the running program $p still serves from its replaced binary" \
			eval 'test -n "$p" && readlink "/proc/$p/exe" | grep -q "(deleted)"'
	done
	fcgi health GET /healthz
	check "the running $PREV_VERSION still answers during the upgrade" test "$(fcgi_status)" = 200
	st=$(migrate status 2>&1)
	check "gerbang-migrate status after the upgrade: this release's migrations pending" \
		eval 'printf "%s\n" "$st" | grep -q "^pending"'
	if migrate >"$WORK/migrate-upgrade.log" 2>&1; then
		pass "gerbang-migrate applies this release's migrations over $PREV_VERSION's"
	else
		show "$WORK/migrate-upgrade.log"
		fail "gerbang-migrate applies this release's migrations over $PREV_VERSION's"
	fi
	st=$(migrate status 2>&1)
	check "gerbang-migrate status: none pending" eval '! printf "%s\n" "$st" | grep -q "^pending"'
	# The restart: what systemctl restart gerbang-*.service does.
	for p in health auth; do
		stop_pid "${SERVE_PID[$p]}" TERM 10
		unset "SERVE_PID[$p]"
		rm -f "$RUN/$p.sock"
	done
}

# ---------------------------------------------------------------- files --
# What the package installed (after the upgrade, with --from).
check_files() {
	pw=$(getent passwd gerbang)
	IFS=: read -r _ _ pw_uid pw_gid _ pw_home pw_shell <<<"$pw"
	check "user gerbang exists" test -n "$pw"
	check "user gerbang is a system user (uid $pw_uid)" test "${pw_uid:-1000}" -lt 1000
	check "user gerbang has home /nonexistent, which does not exist" \
		eval 'test "$pw_home" = /nonexistent && test ! -e /nonexistent'
	check "user gerbang cannot log in ($pw_shell)" \
		eval 'case "$pw_shell" in */nologin|*/false) true;; *) false;; esac'
	check "group gerbang is its primary group" \
		test "$(getent group gerbang | cut -d: -f3)" = "${pw_gid:-x}"

	UNITS=()
	for p in "${PROGRAMS[@]}"; do
		UNITS+=("/lib/systemd/system/gerbang-$p.socket" "/lib/systemd/system/gerbang-$p.service")
	done
	for p in "${DAEMONS[@]}"; do
		UNITS+=("/lib/systemd/system/gerbang-$p.service")
	done
	for f in "${UNITS[@]}" /usr/lib/tmpfiles.d/gerbang.conf; do
		check "file $f" test -f "$f"
	done
	for p in "${PROGRAMS[@]}"; do
		check "gerbang-$p.socket is enabled (sockets.target.wants)" \
			test -L "/etc/systemd/system/sockets.target.wants/gerbang-$p.socket"
	done
	for p in "${DAEMONS[@]}"; do
		check "gerbang-$p.service is enabled (multi-user.target.wants)" \
			test -L "/etc/systemd/system/multi-user.target.wants/gerbang-$p.service"
	done
	if command -v systemd-analyze >/dev/null; then
		check "systemd-analyze verify accepts the ${#UNITS[@]} units" eval \
			'test -z "$(systemd-analyze verify --man=no "${UNITS[@]}" 2>&1)"'
	fi
	if command -v systemd-tmpfiles >/dev/null; then
		check "$RUN created by tmpfiles.d: gerbang:www-data 750" \
			test "$(stat -c '%U:%G %a' "$RUN" 2>/dev/null)" = "gerbang:www-data 750"
	else
		note "no systemd-tmpfiles here: creating $RUN as tmpfiles.d would"
	fi
	[ -d "$RUN" ] || install -d -o gerbang -g www-data -m 0750 "$RUN"

	MANPAGES=(/usr/share/man/man7/gerbang.7.gz /usr/share/man/man8/gerbang-echo.8.gz)
	for p in "${PROGRAMS[@]}" "${TOOLS[@]}" "${DAEMONS[@]}"; do
		MANPAGES+=("/usr/share/man/man8/gerbang-$p.8.gz")
	done
	for f in "${MANPAGES[@]}"; do
		check "man page $f" test -s "$f"
	done
	if command -v man >/dev/null; then
		check "the man pages render without warnings" eval \
			'(for f in "${MANPAGES[@]}"; do test -z "$(man --warnings -l "$f" 2>&1 >/dev/null)" || exit 1; done)'
	fi
	check "no libtool .la file installed" \
		eval 'test -z "$(dpkg -L gerbang | grep "\.la$")"'
	for f in "$srcdir"/sql/[0-9][0-9][0-9]_*.sql; do
		check "migration /usr/share/gerbang/sql/${f##*/}" test -s "/usr/share/gerbang/sql/${f##*/}"
	done
	# The API description and the /docs page with the Swagger UI it loads.
	check "API description /usr/share/gerbang/openapi.json (OpenAPI 3.1)" \
		grep -q '"openapi": "3\.1\.' /usr/share/gerbang/openapi.json
	for f in index.html gerbang-docs.js swagger-ui-bundle.js swagger-ui.css; do
		check "/docs file /usr/share/gerbang/docs/$f" test -s "/usr/share/gerbang/docs/$f"
	done
	# (dh_compress compresses documentation past 4 KiB)
	check "Swagger UI's NOTICE and the bundle's notices in /usr/share/doc/gerbang/swagger-ui" eval \
		'zcat -f /usr/share/doc/gerbang/swagger-ui/NOTICE* | grep -q SmartBear &&
		 zcat -f /usr/share/doc/gerbang/swagger-ui/swagger-ui-bundle.js.LICENSE.txt* | grep -q "@license React"'

	CONFFILES="/etc/default/gerbang
	/etc/nginx/sites-available/gerbang
	/etc/nginx/snippets/gerbang-fastcgi.conf
	/etc/nginx/snippets/gerbang-fastcgi-params.conf
	/etc/lighttpd/conf-available/50-gerbang.conf"
	registered=$(dpkg-query -W -f='${Conffiles}\n' "$PKG" | awk 'NF {print $1}')
	for f in $CONFFILES; do
		check "conffile $f" eval 'test -f "$f" && printf "%s\n" "$registered" | grep -qxF "$f"'
	done

	check "/etc/gerbang is root:gerbang 750" \
		test "$(stat -c '%U:%G %a' /etc/gerbang 2>/dev/null)" = "root:gerbang 750"
	check "$SECRET is root:gerbang 640" \
		test "$(stat -c '%U:%G %a' "$SECRET" 2>/dev/null)" = "root:gerbang 640"
	check "$SECRET holds 96 hex digits, no line end" \
		eval 'grep -qxE "[0-9a-f]{96}" "$SECRET" && test "$(stat -c %s "$SECRET")" = 96'
	check "$SECRET is not a conffile of the package" \
		eval '! printf "%s\n" "$registered" | grep -qxF "$SECRET"'
	check "/etc/default/gerbang sets JWT_SECRET_FILE=$SECRET" \
		grep -qx "JWT_SECRET_FILE=$SECRET" /etc/default/gerbang

	# The plugin registry: made by the postinst (not shipped: its group exists
	# only then), empty, its README in the documentation instead.
	check "$PLUGDIR is root:gerbang 750" \
		test "$(stat -c '%U:%G %a' "$PLUGDIR" 2>/dev/null)" = "root:gerbang 750"
	check "$PLUGDIR is empty" eval 'test -d "$PLUGDIR" && test -z "$(ls -A "$PLUGDIR")"'
	check "$PLUGDIR is made by the postinst, not a file of the package" \
		eval '! dpkg -L "$PKG" | grep -qx "$PLUGDIR"'
	check "its README is /usr/share/doc/gerbang/README.plugins.d" \
		test -s /usr/share/doc/gerbang/README.plugins.d
	check "the example plugin upstream $ECHO" test -x "$ECHO"
	for f in echo.json echo-jwt.json; do
		check "example manifest $EXAMPLES/$f" test -s "$EXAMPLES/$f"
	done
	# gerbang-data's declarations: the same, with the example resource notes.
	check "$SCHEMADIR is root:gerbang 750" \
		test "$(stat -c '%U:%G %a' "$SCHEMADIR" 2>/dev/null)" = "root:gerbang 750"
	check "$SCHEMADIR is empty" eval 'test -d "$SCHEMADIR" && test -z "$(ls -A "$SCHEMADIR")"'
	check "$SCHEMADIR is made by the postinst, not a file of the package" \
		eval '! dpkg -L "$PKG" | grep -qx "$SCHEMADIR"'
	check "example declaration $SCHEMA_EXAMPLE" test -s "$SCHEMA_EXAMPLE"

	for p in "${PROGRAMS[@]}" "${TOOLS[@]}" "${DAEMONS[@]}"; do
		out=$("/usr/sbin/gerbang-$p" --version 2>&1)
		check "gerbang-$p --version: $out" eval 'case "$out" in "gerbang-$p $UPSTREAM" | "gerbang-$p $UPSTREAM "*) true;; *) false;; esac'
	done
	out=$("$ECHO" --version 2>&1)
	check "gerbang-echo --version: $out" eval 'case "$out" in "gerbang-echo $UPSTREAM" | "gerbang-echo $UPSTREAM "*) true;; *) false;; esac'
	check "gerbang-migrate reads /usr/share/gerbang/sql by default" \
		eval '"$MIGRATE" --help | grep -qF /usr/share/gerbang/sql'

	cgi=$(env -i REQUEST_METHOD=GET REQUEST_URI=/healthz SCRIPT_NAME= \
		setpriv --reuid=gerbang --regid=gerbang --init-groups -- timeout 10 "$PROG" </dev/null 2>/dev/null)
	check "gerbang-health answers one CGI request as gerbang" \
		eval 'printf "%s" "$cgi" | grep -q "\"ok\":true"'
	cgi=$(env -i REQUEST_METHOD=GET REQUEST_URI='/a/b?x=1' SCRIPT_NAME= \
		setpriv --reuid=gerbang --regid=gerbang --init-groups -- timeout 10 "$ECHO" </dev/null 2>/dev/null)
	check "gerbang-echo answers one CGI request as gerbang (unsigned: absent)" \
		eval 'printf "%s" "$cgi" | grep -qF "\"path\":\"/a/b\"" && printf "%s" "$cgi" | grep -qF "\"signature\":\"absent\""'
}

# -------------------------------------------------------------- upgrade --
if [ -n "$PREV_DEB" ]; then
	upgrade
fi
check_files

# ---------------------------------------------------------------- serve --
# As under systemd, with nothing of systemd running.
if [ -d /run/systemd/system ]; then
	# systemd is PID 1 here: the postinst started the sockets; take them over.
	for p in "${PROGRAMS[@]}"; do
		timeout 30 systemctl stop "gerbang-$p.socket" "gerbang-$p.service" >/dev/null 2>&1
		wait_for 10 test ! -e "$RUN/$p.sock"
	done
	# and the worker it started: this test runs its own
	for p in "${DAEMONS[@]}"; do
		timeout 30 systemctl stop "gerbang-$p.service" >/dev/null 2>&1
	done
fi

port_busy() {
	# LISTEN (0A) on local port $1 (hex) in /proc/net/tcp{,6}
	awk -v p=":$1" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p {f = 1} END {exit !f}' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}
serve_ok=1
if port_busy 0050 || port_busy 01BB; then
	fail "ports 80 and 443 are free for the test nginx (something already listens; stop it)"
	serve_ok=
fi
for f in /etc/ssl/certs/ssl-cert-snakeoil.pem /etc/ssl/private/ssl-cert-snakeoil.key; do
	if [ ! -f "$f" ]; then
		note "generating the snakeoil certificate (ssl-cert)"
		timeout 60 make-ssl-cert generate-default-snakeoil >/dev/null 2>&1
		break
	fi
done
check "snakeoil certificate present" \
	test -f /etc/ssl/certs/ssl-cert-snakeoil.pem -a -f /etc/ssl/private/ssl-cert-snakeoil.key

# A loopback port nobody listens on, from 18090 up, other than $1.
free_port() {
	local p
	for p in $(seq 18090 18990); do
		[ "$p" != "${1:-}" ] && ! port_busy "$(printf '%04X' "$p")" && { echo "$p"; return 0; }
	done
	return 1
}
# put_plugin_file NAME MODE: stdin into $PLUGDIR/NAME, root:gerbang MODE,
# written beside it under a name the registry ignores and renamed into
# place, as gerbang-proxy(8) advises.  It records the names for the
# cleanup, so never at the end of a pipeline (a subshell): feed it with a
# redirection.
put_plugin_file() {
	local f=$PLUGDIR/$1 tmp=$PLUGDIR/.$1.tmp
	PLUGIN_FILES+=("$tmp" "$f")
	install -m "$2" -o root -g gerbang /dev/null "$tmp" && cat >"$tmp" && mv -f "$tmp" "$f"
}

# The plugin: its secret (first line, 64 hex digits), the echo on its own
# socket, and the installed example manifest pointed at the echo's port.
EPORT=
if [ -n "$serve_ok" ]; then
	EPORT=$(free_port) || { fail "a free loopback port for the echo"; serve_ok=; }
fi
if [ -n "$serve_ok" ]; then
	put_plugin_file echo.secret 0640 < <(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
	check "plugin secret $PSECRET is root:gerbang 640, 64 hex digits" eval \
		'test "$(stat -c "%U:%G %a" "$PSECRET")" = "root:gerbang 640" && grep -qxE "[0-9a-f]{64}" "$PSECRET"'
	# The echo's socket belongs to gerbang; 0666 lets nginx's workers (not
	# in group gerbang) connect, and only gerbang and www-data may enter
	# $RUN.  The activators below run as root and use their own mode.
	genv
	hold_signals
	(
		exec "${GENV[@]}" ECHO_SECRET_FILE="$PSECRET" SOCKET_MODE=0666 \
			setpriv --reuid=gerbang --regid=gerbang --init-groups --inh-caps=-all \
				--no-new-privs -- \
			"$ECHO" --listen "unix:$ECHO_SOCK" --threads 2
	) </dev/null 2>"$WORK/echo.log" 3>&- &
	ECHO_PID=$!
	release_signals
	if wait_for 10 test -S "$ECHO_SOCK"; then
		pass "gerbang-echo as gerbang listening on $ECHO_SOCK ($(stat -c '%U:%G %a' "$ECHO_SOCK"))"
	else
		show "$WORK/echo.log"
		fail "gerbang-echo as gerbang listening on $ECHO_SOCK"
		serve_ok=
	fi
	put_plugin_file echo.json 0640 < <(zcat -f "$EXAMPLES/echo.json" 2>/dev/null |
		sed "s|\"upstream\": *\"[^\"]*\"|\"upstream\": \"http://127.0.0.1:$EPORT\"|")
	check "manifest $MANIFEST: the installed example, gateway_verified, upstream port $EPORT, secret $PSECRET" eval \
		'grep -qF "\"upstream\": \"http://127.0.0.1:$EPORT\"" "$MANIFEST" && grep -qF "\"auth_mode\": \"gateway_verified\"" "$MANIFEST" && grep -qF "\"mount\": \"/v1/plugins/echo\"" "$MANIFEST" && grep -qF "\"secret_file\": \"$PSECRET\"" "$MANIFEST"'
fi

if [ -n "$serve_ok" ]; then
	for p in "${PROGRAMS[@]}"; do
		activate "$p"
	done
	for p in "${PROGRAMS[@]}"; do
		socket_ready "$p" || serve_ok=
	done
fi

# The task worker, as gerbang-worker.service runs it: as gerbang, with the
# environment of /etc/default/gerbang (and the dead Redis of GENV).
if [ -n "$serve_ok" ]; then
	genv
	hold_signals
	(
		exec "${GENV[@]}" setpriv --reuid=gerbang --regid=gerbang --init-groups --inh-caps=-all \
			--no-new-privs -- "$WORKER" --id pkgtest
	) </dev/null 2>"$WORK/worker.log" 3>&- &
	WORKER_PID=$!
	release_signals
	if wait_for 10 grep -q '"msg":"worker ready"' "$WORK/worker.log"; then
		pass "gerbang-worker as gerbang is ready (the installed configuration passes its checks)"
	else
		show "$WORK/worker.log"
		fail "gerbang-worker as gerbang is ready"
	fi
fi

if [ -n "$serve_ok" ]; then
	N=$WORK/nginx
	mkdir -p "$N/tmp"
	# Relative includes in the site resolve against this directory.
	ln -s /etc/nginx/snippets "$N/snippets"
	ln -s /etc/nginx/fastcgi_params "$N/fastcgi_params"
	cat >"$N/nginx.conf" <<EOF
user www-data;
worker_processes 1;
daemon off;
master_process on;
pid $N/nginx.pid;
error_log $N/error.log info;
events { worker_connections 64; }
http {
    access_log $N/access.log;
    default_type application/octet-stream;
    client_body_temp_path $N/tmp/body;
    fastcgi_temp_path $N/tmp/fastcgi;
    proxy_temp_path $N/tmp/proxy;
    uwsgi_temp_path $N/tmp/uwsgi;
    scgi_temp_path $N/tmp/scgi;
    include /etc/nginx/sites-available/gerbang;
    # The plugin upstream, as plugins/echo/README.md runs it: a server of
    # its own on a loopback port, plain HTTP.
    server {
        listen 127.0.0.1:$EPORT;
        location / {
            include /etc/nginx/snippets/gerbang-fastcgi-params.conf;
            fastcgi_pass unix:$ECHO_SOCK;
        }
    }
}
EOF
	if timeout 30 nginx -t -q -e "$N/error.log" -c "$N/nginx.conf" >"$N/test.log" 2>&1; then
		pass "nginx accepts the installed site /etc/nginx/sites-available/gerbang"
	else
		sed 's/^/#      /' "$N/test.log" >&3
		fail "nginx accepts the installed site /etc/nginx/sites-available/gerbang"
		serve_ok=
	fi
fi

if [ -n "$serve_ok" ]; then
	hold_signals
	nginx -e "$N/error.log" -c "$N/nginx.conf" </dev/null >"$N/stdout.log" 2>&1 3>&- &
	NGINX_PID=$!
	release_signals
	EPORT_HEX=$(printf '%04X' "$EPORT")
	if wait_for 15 eval 'port_busy 01BB && port_busy 0050 && port_busy "$EPORT_HEX"'; then
		pass "private nginx listening on 80, 443 and 127.0.0.1:$EPORT (the echo)"
	else
		fail "private nginx listening on 80, 443 and 127.0.0.1:$EPORT (the echo)"
		show "$N/error.log" 10
		serve_ok=
	fi
fi

# fetch NAME URL [curl args]: writes $WORK/NAME.{code,head,body}
fetch() {
	local name=$1 url=$2
	shift 2
	curl -s -k --max-time 15 -D "$WORK/$name.head" -o "$WORK/$name.body" \
		-w '%{http_code}' "$@" "$url" >"$WORK/$name.code" 2>/dev/null
	tr -d '\r' <"$WORK/$name.head" >"$WORK/$name.h" 2>/dev/null
}
code() { cat "$WORK/$1.code" 2>/dev/null; }
body_has() { grep -qF -- "$2" "$WORK/$1.body"; }
header() { sed -n "s/^$2: //Ip" "$WORK/$1.h" | head -n 1; }
# json_str NAME KEY: the first string value of "KEY" in the body (the
# envelopes are compact JSON; tokens and ids hold no quote or backslash).
json_str() { sed -n "s/.*\"$2\":\"\\([^\"\\\\]*\\)\".*/\\1/p" "$WORK/$1.body" | head -n 1; }

if [ -n "$serve_ok" ]; then
	fetch healthz https://127.0.0.1/healthz
	check "https /healthz answers 200 (got $(code healthz))" test "$(code healthz)" = 200
	check "https /healthz body is an {\"ok\":true,...} envelope" \
		eval 'body_has healthz "{\"ok\":true," && body_has healthz "\"request_id\":\""'
	rid=$(header healthz X-Request-Id)
	check "https /healthz has an X-Request-Id header (${rid:-none}) matching the envelope" \
		eval 'test -n "$rid" && body_has healthz "\"request_id\":\"$rid\""'

	fetch healthz2 https://127.0.0.1/healthz -H 'X-Request-Id: pkgtest-1.a_b'
	check "an incoming X-Request-Id is echoed in the header and the envelope" \
		eval 'test "$(header healthz2 X-Request-Id)" = pkgtest-1.a_b && body_has healthz2 "\"request_id\":\"pkgtest-1.a_b\""'
	count() { grep -ci "^$2:" "$WORK/$1.h"; }
	check "https /healthz has each security header once (nosniff, no-referrer, HSTS)" \
		eval 'test "$(header healthz X-Content-Type-Options)" = nosniff &&
		      test "$(count healthz X-Content-Type-Options)" = 1 &&
		      test "$(header healthz Referrer-Policy)" = no-referrer &&
		      test "$(count healthz Referrer-Policy)" = 1 &&
		      test "$(count healthz Strict-Transport-Security)" = 1'
	fetch trace https://127.0.0.1/healthz -X TRACE
	check "TRACE gets nginx's 405 envelope with the security headers (got $(code trace))" \
		eval 'test "$(code trace)" = 405 && body_has trace "{\"ok\":false," &&
		      test "$(header trace X-Content-Type-Options)" = nosniff'

	fetch metrics https://127.0.0.1/metrics
	check "https /metrics (loopback) answers the Prometheus text (got $(code metrics))" \
		eval 'test "$(code metrics)" = 200 &&
		      header metrics Content-Type | grep -q "^text/plain; version=0.0.4" &&
		      grep -q "^# TYPE gerbang_http_requests_total counter" "$WORK/metrics.body" &&
		      grep -q "^gerbang_http_requests_total{service=\"health\",route=\"/healthz\",method=\"GET\",code=\"200\"} [1-9]" "$WORK/metrics.body" &&
		      grep -q "^gerbang_build_info{version=\"$UPSTREAM\"" "$WORK/metrics.body"'
	check "the counters live in /run/gerbang/metrics.v1.shm (gerbang, 0660)" \
		test "$(stat -c %U:%a /run/gerbang/metrics.v1.shm 2>/dev/null)" = gerbang:660

	fetch version https://127.0.0.1/version
	check "https /version answers 200 with version $UPSTREAM" \
		eval 'test "$(code version)" = 200 && body_has version "\"version\":\"$UPSTREAM\""'

	fetch readyz http://127.0.0.1/readyz
	check "http /readyz answers 503 without Redis (got $(code readyz))" \
		test "$(code readyz)" = 503
	check "http /readyz body is an {\"ok\":false,...} envelope naming redis, not postgres (reached)" \
		eval 'body_has readyz "{\"ok\":false," && body_has readyz "\"redis\":" && ! body_has readyz "\"postgres\":" && body_has readyz "\"request_id\":\""'
	check "http /readyz has an X-Request-Id header" test -n "$(header readyz X-Request-Id)"

	fetch nosuch https://127.0.0.1/nosuch
	check "a path no program serves gets nginx's 404 envelope" \
		eval 'test "$(code nosuch)" = 404 && body_has nosuch "{\"ok\":false,"'

	# Static files of the package, served by the shipped snippet.
	fetch openapi https://127.0.0.1/openapi.json
	check "https /openapi.json answers 200 application/json, the installed file (got $(code openapi))" \
		eval 'test "$(code openapi)" = 200 && test "$(header openapi Content-Type)" = application/json &&
		      cmp -s "$WORK/openapi.body" /usr/share/gerbang/openapi.json &&
		      test "$(header openapi X-Content-Type-Options)" = nosniff'
	fetch docs https://127.0.0.1/docs
	check "https /docs answers 200 text/html with a Content-Security-Policy (got $(code docs))" \
		eval 'test "$(code docs)" = 200 && header docs Content-Type | grep -q "^text/html" &&
		      header docs Content-Security-Policy | grep -q "script-src '"'self'"'" &&
		      cmp -s "$WORK/docs.body" /usr/share/gerbang/docs/index.html'
	fetch docsjs https://127.0.0.1/docs/swagger-ui-bundle.js
	check "https /docs/swagger-ui-bundle.js answers 200 text/javascript (got $(code docsjs))" \
		eval 'test "$(code docsjs)" = 200 && header docsjs Content-Type | grep -q "^text/javascript" &&
		      cmp -s "$WORK/docsjs.body" /usr/share/gerbang/docs/swagger-ui-bundle.js'

	# gerbang-auth and gerbang-users, with the account gerbang-admin made.
	printf '{"company":"%s","email":"%s","password":"%s"}' "$COMPANY" "$EMAIL" "$USER_PW" >"$WORK/login.json"
	fetch login https://127.0.0.1/v1/auth/login -X POST \
		-H 'Content-Type: application/json' -H 'X-Request-Id: pkgtest-login' \
		--data-binary "@$WORK/login.json"
	token=$(json_str login access_token)
	check "https POST /v1/auth/login answers 200 (got $(code login))" test "$(code login)" = 200
	check "the login envelope has data.access_token (a JWT)" \
		eval 'body_has login "{\"ok\":true," && [[ "$token" =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]]'

	if [ -n "$OLD_REFRESH" ]; then
		printf '{"refresh_token":"%s"}' "$OLD_REFRESH" >"$WORK/oldrefresh.json"
		fetch oldrefresh https://127.0.0.1/v1/auth/refresh -X POST \
			-H 'Content-Type: application/json' --data-binary "@$WORK/oldrefresh.json"
		check "a refresh token $PREV_VERSION issued before the upgrade refreshes (got $(code oldrefresh))" \
			eval 'test "$(code oldrefresh)" = 200 && test -n "$(json_str oldrefresh access_token)"'
	fi

	printf '{"company":"%s","email":"%s","password":"wrong-%s"}' "$COMPANY" "$EMAIL" "$USER_PW" >"$WORK/badlogin.json"
	fetch badlogin https://127.0.0.1/v1/auth/login -X POST \
		-H 'Content-Type: application/json' --data-binary "@$WORK/badlogin.json"
	check "a wrong password gets a 401 envelope (got $(code badlogin))" \
		eval 'test "$(code badlogin)" = 401 && body_has badlogin "{\"ok\":false,"'

	fetch me https://127.0.0.1/v1/me -H "Authorization: Bearer $token"
	check "https GET /v1/me with the token answers 200 (got $(code me))" test "$(code me)" = 200
	check "an authenticated answer is Cache-Control: no-store" \
		test "$(header me Cache-Control)" = no-store
	check "/v1/me is the user gerbang-admin made (id ${uid:-?}, role owner)" \
		eval 'test -n "${uid:-}" && body_has me "\"id\":\"$uid\"" && body_has me "\"role\":\"owner\"" && body_has me "\"company_id\":\"$cid\""'

	fetch users https://127.0.0.1/v1/users -H "Authorization: Bearer $token"
	check "https GET /v1/users as the owner answers 200 (got $(code users))" test "$(code users)" = 200
	check "/v1/users lists the user (id and email) with meta" \
		eval 'body_has users "{\"ok\":true," && body_has users "\"id\":\"$uid\"" && body_has users "\"email\":\"$EMAIL\"" && body_has users "\"meta\":{"'

	fetch anon https://127.0.0.1/v1/me
	check "https GET /v1/me without a token answers 401 (got $(code anon))" test "$(code anon)" = 401
	check "the 401 is an {\"ok\":false,...} envelope with WWW-Authenticate: Bearer" \
		eval 'body_has anon "{\"ok\":false," && body_has anon "\"request_id\":\"" && header anon WWW-Authenticate | grep -q "^Bearer"'

	# ------------------------------------------ gerbang-tasks, gerbang-worker
	# Redis is dead here: nothing can be queued, and nothing is left behind.
	printf '{"text":"pkgtest"}' >"$WORK/task.json"
	fetch task https://127.0.0.1/v1/tasks/echo -X POST -H "Authorization: Bearer $token" \
		-H 'Content-Type: application/json' --data-binary "@$WORK/task.json"
	check "POST /v1/tasks/echo with Redis down answers a 503 envelope with Retry-After (got $(code task))" \
		eval 'test "$(code task)" = 503 && body_has task "\"message\":\"the task queue is unavailable\"" && test "$(header task Retry-After)" = 1'
	ntasks=$(as_postgres "$PGBIN/psql" -X -h "$PGSOCK" -U postgres -d gerbang -qAt \
		-c "select count(*) from gerbang.tasks" 2>&1)
	check "and leaves no task row behind (gerbang.tasks holds ${ntasks:-?})" test "$ntasks" = 0
	fetch tasks https://127.0.0.1/v1/tasks -H "Authorization: Bearer $token"
	check "GET /v1/tasks answers 200 with an empty page (got $(code tasks))" \
		eval 'test "$(code tasks)" = 200 && body_has tasks "\"data\":[]" && body_has tasks "\"meta\":{"'
	fetch notask https://127.0.0.1/background/tasks/00000000-0000-4000-8000-000000000000 \
		-H "Authorization: Bearer $token"
	check "GET /background/tasks/{id} reaches gerbang-tasks: 404 no such task (got $(code notask))" \
		eval 'test "$(code notask)" = 404 && body_has notask "\"message\":\"no such task\""'
	fetch nokind https://127.0.0.1/v1/tasks/nope -X POST -H "Authorization: Bearer $token" \
		-H 'Content-Type: application/json' --data-binary "@$WORK/task.json"
	check "an unknown task kind is a 404 envelope naming the kinds (got $(code nokind))" \
		eval 'test "$(code nokind)" = 404 && body_has nokind "must be one of echo, generate_text"'
	fetch taskanon https://127.0.0.1/v1/tasks
	check "GET /v1/tasks without a token answers 401 (got $(code taskanon))" test "$(code taskanon)" = 401
	check "gerbang-worker waits for Redis and says so" \
		wait_for 15 grep -q '"msg":"cannot take a task"' "$WORK/worker.log"

	# -------------------------------------------------------------- gerbang-data
	# The example resource enabled as README.Debian says, before the first
	# connection to data.sock starts gerbang-data (which reads it at start).
	SCHEMA_FILES+=("$SCHEMADIR/notes.json")
	install -m 0640 -o root -g gerbang "$SCHEMA_EXAMPLE" "$SCHEMADIR/notes.json"
	cc=$(as_gerbang timeout 30 "$ADMIN" check-config --database 2>&1)
	check "check-config --database as gerbang checks notes.json against the cluster" eval \
		'printf "%s\n" "$cc" | grep -qx "resources: 1 in $SCHEMADIR" && printf "%s\n" "$cc" | grep -qx "configuration OK"'
	printf '{"title":"pkgtest","due":"2026-12-01"}' >"$WORK/note.json"
	fetch dpost https://127.0.0.1/v1/data/notes -X POST -H "Authorization: Bearer $token" \
		-H 'Content-Type: application/json' --data-binary "@$WORK/note.json"
	nid=$(json_str dpost id)
	check "POST /v1/data/notes answers 201 with Location and ETag \"1\" (got $(code dpost))" \
		eval 'test "$(code dpost)" = 201 && test "$(header dpost ETag)" = "\"1\"" && test "$(header dpost Location)" = "/v1/data/notes/$nid"'
	[ "$(code dpost)" = 201 ] || { show "$WORK/dpost.body" 5; show "$WORK/data.log" 10; }
	fetch dlist 'https://127.0.0.1/v1/data/notes?done=false&sort=-due' -H "Authorization: Bearer $token"
	check "GET /v1/data/notes?done=false&sort=-due lists it, with meta (got $(code dlist))" \
		eval 'test "$(code dlist)" = 200 && body_has dlist "\"id\":\"$nid\"" && body_has dlist "\"meta\":{"'
	printf '{"done":true}' >"$WORK/done.json"
	fetch dstale "https://127.0.0.1/v1/data/notes/$nid" -X PATCH -H "Authorization: Bearer $token" \
		-H 'If-Match: "7"' -H 'Content-Type: application/json' --data-binary "@$WORK/done.json"
	fetch dpatch "https://127.0.0.1/v1/data/notes/$nid" -X PATCH -H "Authorization: Bearer $token" \
		-H 'If-Match: "1"' -H 'Content-Type: application/json' --data-binary "@$WORK/done.json"
	check "PATCH with a stale If-Match is 412, with the current one 200 and ETag \"2\" (got $(code dstale), $(code dpatch))" \
		eval 'test "$(code dstale)" = 412 && test "$(code dpatch)" = 200 && test "$(header dpatch ETag)" = "\"2\""'
	nrow=$(as_postgres "$PGBIN/psql" -X -h "$PGSOCK" -U postgres -d gerbang -qAt \
		-c "select company_id, done from gerbang_data.notes" 2>&1)
	check "the row is the token's company's, done ($nrow)" test "$nrow" = "$cid|t"
	fetch dnone https://127.0.0.1/v1/data/users -H "Authorization: Bearer $token"
	check "an undeclared resource (users) is gerbang-data's 404 (got $(code dnone))" \
		eval 'test "$(code dnone)" = 404 && body_has dnone "\"message\":\"no such resource\""'
	fetch danon https://127.0.0.1/v1/data/notes
	check "GET /v1/data/notes without a token answers 401 (got $(code danon))" test "$(code danon)" = 401

	# -------------------------------------------------------------- gerbang-chat
	# No language model is reachable here: what answers without one.
	fetch cnone https://127.0.0.1/v1/chat/sessions/pkg-1/messages -H "Authorization: Bearer $token"
	check "GET a session with no messages is gerbang-chat's 404 (got $(code cnone))" \
		eval 'test "$(code cnone)" = 404 && body_has cnone "\"message\":\"no such session\""'
	printf '{"content":"","extra":1}' >"$WORK/chat.json"
	fetch cbad https://127.0.0.1/v1/chat/sessions/pkg-1/messages -X POST \
		-H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		--data-binary "@$WORK/chat.json"
	check "POST a bad message answers 422 naming content and extra (got $(code cbad))" \
		eval 'test "$(code cbad)" = 422 && body_has cbad "\"content\":" && body_has cbad "\"extra\":"'
	fetch canon https://127.0.0.1/v1/chat/sessions/pkg-1/messages
	check "GET a chat session without a token answers 401 (got $(code canon))" test "$(code canon)" = 401

	# ------------------------------------------ gerbang-proxy, gerbang-echo
	# The echo itself, through its own server block: unsigned.
	fetch ehealth "http://127.0.0.1:$EPORT/health"
	check "the echo's server block answers /health 200 (got $(code ehealth))" \
		eval 'test "$(code ehealth)" = 200 && body_has ehealth "\"status\":\"ok\""'
	fetch edirect "http://127.0.0.1:$EPORT/x"
	check "the echo reached directly sees no signature (absent) and trusts nobody" \
		eval 'body_has edirect "\"signature\":\"absent\"" && body_has edirect "\"trusted_identity\":null"'

	# Through the shipped site: nginx -> gerbang-proxy -> nginx -> echo.
	fetch plug 'https://127.0.0.1/v1/plugins/echo/x?q=1' -H "Authorization: Bearer $token" \
		-H 'X-Request-Id: pkgtest-plugin' -H 'X-Echo-Test: yes' -H 'Cookie: session=nope'
	check "https GET /v1/plugins/echo/x with the token answers 200 (got $(code plug))" \
		test "$(code plug)" = 200
	[ "$(code plug)" = 200 ] || { show "$WORK/plug.body" 5; show "$WORK/proxy.log" 10; }
	# trusted_identity: an object of strings, no nested braces.
	ident() { sed -n 's/.*"trusted_identity":{\([^}]*\)}.*/\1/p' "$WORK/$1.body"; }
	check "the echo verified the gateway's signature (\"signature\":\"$(json_str plug signature)\")" \
		body_has plug '"signature":"valid"'
	check "the echo's trusted_identity is the user (id ${uid:-?}, company, role owner)" \
		eval 'test -n "${uid:-}" && ident plug | grep -qF "\"user_id\":\"$uid\"" && ident plug | grep -qF "\"company_id\":\"$cid\"" && ident plug | grep -qF "\"role\":\"owner\""'
	check "the echo got the path after the mount and the raw query (/x, q=1)" \
		eval 'body_has plug "\"path\":\"/x\"" && body_has plug "\"query\":\"q=1\""'
	check "the echo got X-Request-Id, traceparent, X-Forwarded-Proto https and the injected X-Plugin-Name" \
		eval 'body_has plug "\"x-request-id\":\"pkgtest-plugin\"" && body_has plug "\"traceparent\":\"00-" && body_has plug "\"x-forwarded-proto\":\"https\"" && body_has plug "\"x-plugin-name\":\"echo\""'
	check "the echo got the listed X-Echo-Test, not the token nor the cookie" \
		eval 'body_has plug "\"x-echo-test\":\"yes\"" && ! body_has plug "\"authorization\"" && ! body_has plug "\"cookie\"" && ! body_has plug "$token"'
	check "the answer carries the request's X-Request-Id" \
		test "$(header plug X-Request-Id)" = pkgtest-plugin

	SPOOF=00000000-0000-4000-8000-000000000000
	fetch spoof https://127.0.0.1/v1/plugins/echo/x -H "Authorization: Bearer $token" \
		-H "X-User-Id: $SPOOF" -H "X-Company-Id: $SPOOF" -H 'X-Role: viewer' \
		-H 'X-Internal-Timestamp: 1' -H 'X-Internal-Signature: 00'
	check "with spoofed X-User-Id, X-Company-Id, X-Role, X-Internal-*: 200, still valid (got $(code spoof))" \
		eval 'test "$(code spoof)" = 200 && body_has spoof "\"signature\":\"valid\""'
	check "the echo still reports the real user id, and never sees the spoofed values" \
		eval 'test -n "${uid:-}" && ident spoof | grep -qF "\"user_id\":\"$uid\"" && body_has spoof "\"x-user-id\":\"$uid\"" && ! body_has spoof "$SPOOF" && ! body_has spoof "\"viewer\""'

	printf '{"n":42}' >"$WORK/plugbody.json"
	fetch plugpost https://127.0.0.1/v1/plugins/echo/items -X POST -H "Authorization: Bearer $token" \
		-H 'Content-Type: application/json' --data-binary "@$WORK/plugbody.json"
	check "POST with a body: 200, signature valid over it, 8 bytes, its SHA-256" \
		eval 'test "$(code plugpost)" = 200 && body_has plugpost "\"signature\":\"valid\"" && body_has plugpost "\"body_bytes\":8" && body_has plugpost "\"body_sha256\":\"$(sha256sum "$WORK/plugbody.json" | cut -d" " -f1)\""'

	fetch pluganon https://127.0.0.1/v1/plugins/echo/x
	check "GET /v1/plugins/echo/x without a token answers 401 (got $(code pluganon))" \
		test "$(code pluganon)" = 401
	check "the proxy's 401 is an {\"ok\":false,...} envelope with WWW-Authenticate: Bearer" \
		eval 'body_has pluganon "{\"ok\":false," && body_has pluganon "\"request_id\":\"" && header pluganon WWW-Authenticate | grep -q "^Bearer"'
	fetch plugnone https://127.0.0.1/v1/plugins/none/x -H "Authorization: Bearer $token"
	check "a path under no mount gets the proxy's 404 envelope (got $(code plugnone))" \
		eval 'test "$(code plugnone)" = 404 && body_has plugnone "\"message\":\"no such route\""'
	check "gerbang-proxy logs the forwarded request with its upstream, without the token" \
		eval 'grep "\"request_id\":\"pkgtest-plugin\"" "$WORK/proxy.log" | grep -q "\"upstream\":\"echo\"" && ! grep -qF "$token" "$WORK/proxy.log"'

	# Reloads.  A manifest added: served without a restart (the directory
	# is watched).  Its upstream is a port nobody listens on: 502, and
	# after two failures its circuit opens: 503 with Retry-After.
	DPORT=$(free_port "$EPORT")
	put_plugin_file dead.json 0640 <<MANIFEST_EOF
{"name": "dead", "version": "1", "mount": "/v1/plugins/dead",
 "upstream": "http://127.0.0.1:${DPORT:-1}", "auth_mode": "public",
 "circuit_breaker": {"failure_threshold": 2, "open_ms": 60000}}
MANIFEST_EOF
	wait_for 10 eval 'fetch dead1 https://127.0.0.1/v1/plugins/dead/x && test "$(code dead1)" != 404'
	check "a manifest added to $PLUGDIR is served at once; refused upstream: 502 envelope (got $(code dead1))" \
		eval 'test "$(code dead1)" = 502 && body_has dead1 "{\"ok\":false," && body_has dead1 "\"message\":\"the plugin is unavailable\""'
	fetch dead2 https://127.0.0.1/v1/plugins/dead/x
	fetch dead3 https://127.0.0.1/v1/plugins/dead/x
	check "after 2 failures the circuit opens: 502 then 503 with Retry-After: 60 (got $(code dead2), $(code dead3))" \
		eval 'test "$(code dead2)" = 502 && test "$(code dead3)" = 503 && test "$(header dead3 Retry-After)" = 60 && body_has dead3 "{\"ok\":false,"'

	# A bad manifest: logged, and the last good registry (breaker state
	# included) stays in service.
	put_plugin_file bad.json 0640 <<<'{"name": "bad", "mount": "/v1/plugins/bad"}'
	wait_for 10 grep -q 'keeping the last good one' "$WORK/proxy.log"
	check "a bad manifest is logged, naming its file, and the last good registry is kept" \
		eval 'grep "keeping the last good one" "$WORK/proxy.log" | grep -qF "bad.json"'
	fetch keep https://127.0.0.1/v1/plugins/echo/x -H "Authorization: Bearer $token"
	fetch dead4 https://127.0.0.1/v1/plugins/dead/x
	check "meanwhile the echo still answers 200, valid, and the dead plugin's circuit is still open (got $(code keep), $(code dead4))" \
		eval 'test "$(code keep)" = 200 && body_has keep "\"signature\":\"valid\"" && test "$(code dead4)" = 503'

	# Both removed, and SIGHUP (what ExecReload sends): back to echo alone.
	rm -f "$PLUGDIR/bad.json" "$PLUGDIR/dead.json"
	ppid=${SERVE_PID[proxy]:-}
	if [ -n "$ppid" ] && [ "$(readlink "/proc/$ppid/exe" 2>/dev/null)" = /usr/sbin/gerbang-proxy ]; then
		kill -HUP "$ppid"
	fi
	check "SIGHUP reloads the registry (logged)" wait_for 10 eval \
		'grep "\"msg\":\"plugin registry loaded\"" "$WORK/proxy.log" | grep -q "\"why\":\"SIGHUP\""'
	wait_for 10 eval 'fetch dead5 https://127.0.0.1/v1/plugins/dead/x && test "$(code dead5)" = 404'
	fetch plug2 https://127.0.0.1/v1/plugins/echo/x -H "Authorization: Bearer $token"
	check "the removed mount is gone (404, got $(code dead5)) and the echo still answers (200, got $(code plug2))" \
		eval 'test "$(code dead5)" = 404 && test "$(code plug2)" = 200'

	fetch healthz3 https://127.0.0.1/healthz
	check "https /healthz still answers 200 (got $(code healthz3))" test "$(code healthz3)" = 200

	for p in "${PROGRAMS[@]}"; do
		user=$(ps -o user= -p "${SERVE_PID[$p]}" 2>/dev/null | tr -d ' ')
		exe=$(readlink "/proc/${SERVE_PID[$p]}/exe" 2>/dev/null)
		check "the program serving $RUN/$p.sock is /usr/sbin/gerbang-$p as gerbang (${exe:-?} as ${user:-?})" \
			test "$user:$exe" = "gerbang:/usr/sbin/gerbang-$p"
	done
	check "gerbang-health logs one JSON access line per request on stderr" \
		grep -q '"request_id":"pkgtest-1.a_b"' "$WORK/health.log"
	check "gerbang-auth logs the login, without the password" \
		eval 'grep -q "\"request_id\":\"pkgtest-login\"" "$WORK/auth.log" && ! grep -qF "$USER_PW" "$WORK/auth.log"'
fi

# ----------------------------------------------------------------- stop --
for p in "${PROGRAMS[@]}"; do
	[ -n "${SERVE_PID[$p]:-}" ] || continue
	stop_pid "${SERVE_PID[$p]}" TERM 15
	unset "SERVE_PID[$p]"
	check "gerbang-$p exits 0 on SIGTERM (status $STOP_STATUS)" test "$STOP_STATUS" = 0
	[ "$STOP_STATUS" = 0 ] || show "$WORK/$p.log" 5
	if [ "$p" = health ] && [ -n "$serve_ok" ]; then
		# The socket file is still there, nobody listens: nginx answers.
		fetch down https://127.0.0.1/healthz
		check "with the program down, nginx answers a 502 envelope (got $(code down))" \
			eval 'test "$(code down)" = 502 && body_has down "{\"ok\":false,"'
	fi
	rm -f "$RUN/$p.sock"
done
if [ -n "$WORKER_PID" ]; then
	stop_pid "$WORKER_PID" TERM 15
	WORKER_PID=
	check "gerbang-worker exits 0 on SIGTERM (status $STOP_STATUS)" test "$STOP_STATUS" = 0
	[ "$STOP_STATUS" = 0 ] || show "$WORK/worker.log" 5
	check "gerbang-worker logged its stop" grep -q '"msg":"stopped"' "$WORK/worker.log"
fi
if [ -n "$ECHO_PID" ]; then
	stop_pid "$ECHO_PID" TERM 15
	ECHO_PID=
	check "gerbang-echo exits 0 on SIGTERM (status $STOP_STATUS)" test "$STOP_STATUS" = 0
	[ "$STOP_STATUS" = 0 ] || show "$WORK/echo.log" 5
	rm -f "$ECHO_SOCK"
fi
if [ "${#SCHEMA_FILES[@]}" -gt 0 ]; then
	rm -f "${SCHEMA_FILES[@]}"
	SCHEMA_FILES=()
	check "the declaration this test wrote is removed: $SCHEMADIR is empty again" \
		eval 'test -z "$(ls -A "$SCHEMADIR")"'
fi
if [ "${#PLUGIN_FILES[@]}" -gt 0 ]; then
	rm -f "${PLUGIN_FILES[@]}"
	PLUGIN_FILES=()
	check "the manifests and the secret this test wrote are removed: $PLUGDIR is empty again" \
		eval 'test -z "$(ls -A "$PLUGDIR")"'
fi
if [ -n "$NGINX_PID" ]; then
	workers=$(ps -o pid= --ppid "$NGINX_PID" 2>/dev/null)
	stop_pid "$NGINX_PID" QUIT 15
	NGINX_PID=
	left=
	for w in $workers; do alive "$w" && left="$left $w"; done
	check "nginx master and workers stopped" test -z "$left"
fi
if [ -n "$PG_PID" ]; then
	backends=$(ps -o pid= --ppid "$PG_PID" 2>/dev/null)
	stop_pid "$PG_PID" INT 30
	PG_PID=
	check "the private cluster shuts down cleanly (status $STOP_STATUS)" test "$STOP_STATUS" = 0
	left=
	for w in $backends; do alive "$w" && left="$left $w"; done
	check "the cluster's processes stopped" test -z "$left"
	rm -rf "$PG"
	check "the private cluster is removed" test ! -e "$PG"
fi
check "no process of user gerbang left" eval '! ps -u gerbang -o pid= | grep -q .'
# Anything this test started: the programs, their activators, the echo,
# the nginx master and workers (their command lines name $WORK/nginx),
# PostgreSQL (its processes work in its data directory, under $WORK).
leftovers() {
	local p c d
	for p in /proc/[0-9]*; do
		c=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
		d=$(readlink "$p/cwd" 2>/dev/null)
		case "$c" in
		*"$WORK/nginx"* | *systemd-socket-activate*"$RUN/"* | /usr/sbin/gerbang-* | /usr/libexec/gerbang/*) echo "${p#/proc/} $c" ;;
		*) case "$d" in "$WORK" | "$WORK"/*) echo "${p#/proc/} $c (in $d)" ;; esac ;;
		esac
	done
}
left=$(leftovers)
[ -n "$left" ] && printf '%s\n' "$left" | sed 's/^/#      left: /' >&3
check "no process started by this test left" test -z "$left"

# ---------------------------------------------------------------- purge --
# Remove first: the programs go, the administrator's files stay.
if timeout 300 apt-get remove "${APT_OPTS[@]}" "$PKG" >"$WORK/remove.log" 2>&1; then
	pass "apt-get remove $PKG"
else
	show "$WORK/remove.log" 20
	fail "apt-get remove $PKG"
fi
check "after remove: $PKG is config-files only" \
	test "$(dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null)" = "deinstall ok config-files"
check "after remove: the programs are gone" eval 'test ! -e "$PROG" && test ! -e "$WORKER"'
check "after remove: /etc/default/gerbang, $SECRET and the user gerbang stay" \
	eval 'test -f /etc/default/gerbang && test -f "$SECRET" && getent passwd gerbang'
if timeout 300 apt-get purge "${APT_OPTS[@]}" "$PKG" >"$WORK/purge.log" 2>&1; then
	pass "apt-get purge $PKG"
else
	show "$WORK/purge.log" 20
	fail "apt-get purge $PKG"
fi
INSTALLED_BY_US=
check "package $PKG no longer installed" \
	eval '! dpkg-query -W -f="\${Status}" "$PKG" 2>/dev/null | grep -q " installed$"'
check "user gerbang removed" eval '! getent passwd gerbang'
check "group gerbang removed" eval '! getent group gerbang'
for f in $CONFFILES; do
	check "conffile $f removed" test ! -e "$f"
done
check "$SECRET, $PLUGDIR, $SCHEMADIR and /etc/gerbang removed" \
	eval 'test ! -e "$SECRET" && test ! -e "$PLUGDIR" && test ! -e "$SCHEMADIR" && test ! -e /etc/gerbang'
check "units and their enablement removed" eval \
	'(for p in "${PROGRAMS[@]}"; do test ! -e "/lib/systemd/system/gerbang-$p.socket" && test ! -e "/lib/systemd/system/gerbang-$p.service" && test ! -L "/etc/systemd/system/sockets.target.wants/gerbang-$p.socket" || exit 1; done)'
check "the worker's unit and its enablement removed" eval \
	'(for p in "${DAEMONS[@]}"; do test ! -e "/lib/systemd/system/gerbang-$p.service" && test ! -L "/etc/systemd/system/multi-user.target.wants/gerbang-$p.service" || exit 1; done)'
check "programs, the echo, migrations, examples and man pages removed" eval \
	'test ! -e "$PROG" && test ! -e "$ADMIN" && test ! -e "$MIGRATE" && test ! -e "$WORKER" && test ! -e /usr/sbin/gerbang-proxy && test ! -e /usr/libexec/gerbang && test ! -e /usr/share/gerbang && test ! -e /usr/share/doc/gerbang && test ! -e /usr/share/man/man7/gerbang.7.gz'
check "$RUN removed" test ! -e "$RUN"

exit 0
