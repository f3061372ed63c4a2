#!/bin/bash
# tests/package/test-installed.sh - the installed-package test.
#
#   tests/package/test-installed.sh [path/to/gerbang_VERSION_ARCH.deb]
#
# Without an argument it builds the package from this source tree first
# (in a temporary copy; DEB_BUILD_OPTIONS is honoured).  Then it:
#   1. installs the .deb with apt-get (dependencies included, plus nginx,
#      ssl-cert and curl for step 3), with service starts blocked by a
#      temporary policy-rc.d so no system web server grabs ports 80/443;
#   2. checks the user, units, tmpfiles directory, man pages, conffiles and
#      `gerbang-health --version`;
#   3. serves the INSTALLED program the way gerbang-health.socket and
#      .service would, without systemd as PID 1: systemd-socket-activate
#      (as root) owns /run/gerbang/health.sock, root:www-data 0660, and
#      execs the program as user gerbang with the listening socket on fd 0;
#      a private nginx master (own pid, logs and temp paths) includes the
#      INSTALLED /etc/nginx/sites-available/gerbang unchanged, and curl
#      checks /healthz (200) over https and /readyz (503, no database or
#      Redis reachable) over http;
#   4. stops all it started, checks nothing is left running, purges the
#      package and checks the user, conffiles and units are gone.
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

PKG=gerbang
SOCK=/run/gerbang/health.sock
PROG=/usr/sbin/gerbang-health
PASS=0
FAIL=0
WORK=
HEALTH_PID=
NGINX_PID=
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
	local rc=$?
	trap - EXIT INT TERM
	[ -n "$NGINX_PID" ] && stop_pid "$NGINX_PID" TERM 10
	[ -n "$HEALTH_PID" ] && stop_pid "$HEALTH_PID" TERM 10
	[ -S "$SOCK" ] && [ -n "$WORK" ] && rm -f "$SOCK"
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
trap cleanup EXIT
trap 'fail "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- setup --
[ "$(id -u)" -eq 0 ] || abort "must run as root"
if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
	abort "needs a Debian system (apt-get, dpkg-query)"
fi
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q ' installed$'; then
	abort "$PKG is already installed here; this test installs and purges it, refusing"
fi
[ -e "$SOCK" ] && abort "$SOCK already exists (something else serves it), refusing"

WORK=$(mktemp -d /tmp/gerbang-pkgtest.XXXXXX) || abort "mktemp"
chmod 0755 "$WORK"

srcdir=$(cd "$(dirname "$0")/../.." && pwd)

build_deb() {
	local ver dir log=$WORK/build.log
	ver=$(dpkg-parsechangelog -l "$srcdir/debian/changelog" -S Version) || return 1
	dir=$WORK/build/$PKG-$ver
	mkdir -p "$dir"
	if git -C "$srcdir" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$srcdir" ls-files -z --cached --others --exclude-standard |
			(cd "$srcdir" && tar --null -T - -cf -) | tar -C "$dir" -xf - || return 1
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
		tail -n 30 "$log" | sed 's/^/#      /' >&3
		return 1
	}
	DEB=$(find "$WORK/build" -maxdepth 1 -name "${PKG}_${ver}_*.deb" | head -n 1)
	[ -n "$DEB" ]
}

if [ $# -ge 1 ]; then
	DEB=$(readlink -f "$1")
	[ -f "$DEB" ] || abort "no such file: $1"
else
	note "building the package from $srcdir"
	build_deb || abort "build the package (log above)"
	pass "package builds: $(basename "$DEB")"
fi
VERSION=$(dpkg-deb -f "$DEB" Version) || abort "$DEB is not a .deb"
UPSTREAM=${VERSION%%-*}
if command -v lintian >/dev/null; then
	if timeout 300 lintian --fail-on error,warning "$DEB" >"$WORK/lintian.log" 2>&1; then
		pass "lintian: no errors or warnings"
	else
		grep -E '^[EW]: ' "$WORK/lintian.log" | sed 's/^/#      /' >&3
		fail "lintian: no errors or warnings"
	fi
else
	note "lintian not installed: skipped"
fi

# -------------------------------------------------------------- install --
# A temporary policy-rc.d keeps packages pulled in here (nginx) from
# starting their system services.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 0755 /usr/sbin/policy-rc.d
	POLICY_RC_CREATED=1
fi
install_pkg() {
	timeout 900 apt-get install "${APT_OPTS[@]}" "$DEB" nginx ssl-cert curl
}
INSTALLED_BY_US=1
if ! install_pkg >"$WORK/install.log" 2>&1; then
	timeout 300 apt-get update -q >>"$WORK/install.log" 2>&1
	install_pkg >>"$WORK/install.log" 2>&1
fi
if dpkg-query -W -f='${Status} ${Version}' "$PKG" 2>/dev/null | grep -qx "install ok installed $VERSION"; then
	pass "apt-get install $(basename "$DEB")"
else
	tail -n 20 "$WORK/install.log" | sed 's/^/#      /' >&3
	abort "apt-get install $(basename "$DEB")"
fi
if [ -n "$POLICY_RC_CREATED" ]; then
	rm -f /usr/sbin/policy-rc.d
	POLICY_RC_CREATED=
fi

# ---------------------------------------------------------------- files --
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

for f in /lib/systemd/system/gerbang-health.socket /lib/systemd/system/gerbang-health.service \
	/usr/lib/tmpfiles.d/gerbang.conf; do
	check "file $f" test -f "$f"
done
check "gerbang-health.socket is enabled (sockets.target.wants)" \
	test -L /etc/systemd/system/sockets.target.wants/gerbang-health.socket
if command -v systemd-analyze >/dev/null; then
	check "systemd-analyze verify accepts the units" eval \
		'test -z "$(systemd-analyze verify --man=no /lib/systemd/system/gerbang-health.socket /lib/systemd/system/gerbang-health.service 2>&1)"'
fi
if command -v systemd-tmpfiles >/dev/null; then
	check "/run/gerbang created by tmpfiles.d: gerbang:www-data 750" \
		test "$(stat -c '%U:%G %a' /run/gerbang 2>/dev/null)" = "gerbang:www-data 750"
else
	note "no systemd-tmpfiles here: creating /run/gerbang as tmpfiles.d would"
fi
[ -d /run/gerbang ] || install -d -o gerbang -g www-data -m 0750 /run/gerbang

for f in /usr/share/man/man8/gerbang-health.8.gz /usr/share/man/man7/gerbang.7.gz; do
	check "man page $f" test -s "$f"
done
check "no libtool .la file installed" \
	eval 'test -z "$(dpkg -L gerbang | grep "\.la$")"'

CONFFILES="/etc/default/gerbang
/etc/nginx/sites-available/gerbang
/etc/nginx/snippets/gerbang-fastcgi.conf
/etc/nginx/snippets/gerbang-fastcgi-params.conf
/etc/lighttpd/conf-available/50-gerbang.conf"
registered=$(dpkg-query -W -f='${Conffiles}\n' "$PKG" | awk 'NF {print $1}')
for f in $CONFFILES; do
	check "conffile $f" eval 'test -f "$f" && printf "%s\n" "$registered" | grep -qxF "$f"'
done

out=$("$PROG" --version 2>&1)
check "gerbang-health --version: $out" eval 'case "$out" in "gerbang-health $UPSTREAM "*) true;; *) false;; esac'

cgi=$(env -i REQUEST_METHOD=GET REQUEST_URI=/healthz SCRIPT_NAME= \
	setpriv --reuid=gerbang --regid=gerbang --init-groups -- timeout 10 "$PROG" </dev/null 2>/dev/null)
check "gerbang-health answers one CGI request as gerbang" \
	eval 'printf "%s" "$cgi" | grep -q "\"ok\":true"'

# ---------------------------------------------------------------- serve --
# As under systemd, with nothing of systemd running.
if [ -d /run/systemd/system ]; then
	# systemd is PID 1 here: the postinst started the socket; take it over.
	timeout 30 systemctl stop gerbang-health.socket gerbang-health.service >/dev/null 2>&1
	wait_for 10 test ! -e "$SOCK"
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

if [ -n "$serve_ok" ]; then
	# The environment systemd would give it: /etc/default/gerbang (all
	# commented out as shipped) plus dead PostgreSQL and Redis endpoints,
	# so that /readyz fails fast whatever runs on this machine.
	umask 0077
	(
		exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			DATABASE_URL="postgresql:///gerbang?host=$WORK/no-postgres" \
			REDIS_URL="unix:$WORK/no-redis.sock" \
			READY_TIMEOUT_MS=500 \
			systemd-socket-activate --inetd -l "$SOCK" \
			setpriv --reuid=gerbang --regid=gerbang --init-groups --inh-caps=-all \
				--no-new-privs -- \
			"$PROG"
	) </dev/null 2>"$WORK/health.log" 3>&- &
	HEALTH_PID=$!
	umask 0022
	if wait_for 10 test -S "$SOCK"; then
		# What SocketUser=root, SocketGroup=www-data, SocketMode=0660 do.
		chgrp www-data "$SOCK" && chmod 0660 "$SOCK"
		pass "socket $SOCK listening ($(stat -c '%U:%G %a' "$SOCK"))"
	else
		fail "socket $SOCK listening"
		serve_ok=
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
	nginx -e "$N/error.log" -c "$N/nginx.conf" </dev/null >"$N/stdout.log" 2>&1 3>&- &
	NGINX_PID=$!
	if wait_for 15 eval 'port_busy 01BB && port_busy 0050'; then
		pass "private nginx listening on 80 and 443"
	else
		fail "private nginx listening on 80 and 443"
		sed 's/^/#      /' "$N/error.log" | tail -n 10 >&3
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
	check "nginx adds its security headers (X-Content-Type-Options: nosniff)" \
		test "$(header healthz X-Content-Type-Options)" = nosniff

	fetch version https://127.0.0.1/version
	check "https /version answers 200 with version $UPSTREAM" \
		eval 'test "$(code version)" = 200 && body_has version "\"version\":\"$UPSTREAM\""'

	fetch readyz http://127.0.0.1/readyz
	check "http /readyz answers 503 without PostgreSQL and Redis (got $(code readyz))" \
		test "$(code readyz)" = 503
	check "http /readyz body is an {\"ok\":false,...} envelope naming postgres and redis" \
		eval 'body_has readyz "{\"ok\":false," && body_has readyz "\"postgres\":" && body_has readyz "\"redis\":" && body_has readyz "\"request_id\":\""'
	check "http /readyz has an X-Request-Id header" test -n "$(header readyz X-Request-Id)"

	fetch nosuch https://127.0.0.1/nosuch
	check "a path no program serves gets nginx's 404 envelope" \
		eval 'test "$(code nosuch)" = 404 && body_has nosuch "{\"ok\":false,"'

	user=$(ps -o user= -p "$HEALTH_PID" 2>/dev/null | tr -d ' ')
	exe=$(readlink "/proc/$HEALTH_PID/exe" 2>/dev/null)
	check "the program serving the socket is $PROG as gerbang (${exe:-?} as ${user:-?})" \
		test "$user:$exe" = "gerbang:$PROG"
	check "the program logs one JSON access line per request on stderr" \
		grep -q '"request_id":"pkgtest-1.a_b"' "$WORK/health.log"
fi

# ----------------------------------------------------------------- stop --
if [ -n "$HEALTH_PID" ]; then
	stop_pid "$HEALTH_PID" TERM 15
	HEALTH_PID=
	check "gerbang-health exits 0 on SIGTERM (status $STOP_STATUS)" test "$STOP_STATUS" = 0
	if [ -n "$serve_ok" ]; then
		# The socket file is still there, nobody listens: nginx answers.
		fetch down https://127.0.0.1/healthz
		check "with the program down, nginx answers a 502 envelope (got $(code down))" \
			eval 'test "$(code down)" = 502 && body_has down "{\"ok\":false,"'
	fi
	rm -f "$SOCK"
fi
if [ -n "$NGINX_PID" ]; then
	workers=$(ps -o pid= --ppid "$NGINX_PID" 2>/dev/null)
	stop_pid "$NGINX_PID" QUIT 15
	NGINX_PID=
	left=
	for w in $workers; do alive "$w" && left="$left $w"; done
	check "nginx master and workers stopped" test -z "$left"
fi
check "no process of user gerbang left" eval '! ps -u gerbang -o pid= | grep -q .'
# Anything this test started: the program, its activator, the nginx master
# and workers (their command lines name $WORK/nginx).
leftovers() {
	local p c
	for p in /proc/[0-9]*; do
		c=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
		case "$c" in
		*"$WORK/nginx"* | *systemd-socket-activate*"$SOCK"* | "$PROG"*) echo "${p#/proc/} $c" ;;
		esac
	done
}
left=$(leftovers)
[ -n "$left" ] && printf '%s\n' "$left" | sed 's/^/#      left: /' >&3
check "no process started by this test left" test -z "$left"

# ---------------------------------------------------------------- purge --
if timeout 300 apt-get purge "${APT_OPTS[@]}" "$PKG" >"$WORK/purge.log" 2>&1; then
	pass "apt-get purge $PKG"
else
	tail -n 20 "$WORK/purge.log" | sed 's/^/#      /' >&3
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
check "units and their enablement removed" eval \
	'test ! -e /lib/systemd/system/gerbang-health.socket && test ! -e /lib/systemd/system/gerbang-health.service && test ! -L /etc/systemd/system/sockets.target.wants/gerbang-health.socket'
check "/run/gerbang removed" test ! -e /run/gerbang

exit 0
