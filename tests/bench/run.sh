#!/usr/bin/env bash
# tests/bench/run.sh BUILD_DIR - throughput, latency and memory of gerbang
# against the floors of its architecture.  A measurement, not a test: it
# prints figures and the bars they are held to, and exits 0 unless something
# could not run.
#
# One private stack (scripts/stack, nginx access log off, its own echo
# port) in a temporary directory, plus bare-fcgi (tests/bench/bare-fcgi.c:
# the least a libfcgi responder can do), bare-forward
# (tests/bench/bare-forward.c: the least a libfcgi + libcurl forwarder can
# do) and one bench nginx with a single worker that serves
#   /floor/static    nginx `return 200` with a JSON body of /healthz's size
#   /floor/fcgi      fastcgi_pass to bare-fcgi
#   /healthz         fastcgi_pass to the stack's gerbang-health
#   /v1/me, /v1/users/{id}   gerbang-auth, gerbang-users (bench token)
#   :RL_PORT /healthz  a second gerbang-health with METRICS=off and
#                    ACCESS_LOG=off, interleaved with /healthz
#   :RL_PORT /v1/me  a second gerbang-auth with rate limiting on (the stack
#                    runs with RATE_LIMIT=off), a class that never trips:
#                    what one bucket costs, interleaved with /v1/me
#   /floor/direct/   proxy_pass (keep-alive upstream) to gerbang-echo
#   /floor/forward/  fastcgi_pass to bare-forward -> gerbang-echo
#   /floor/forward-h/  the same, a second bare-forward that also sends the
#                    ten headers gerbang-proxy adds (fixed values): what
#                    those cost in libcurl, the echo and nginx
#   /v1/plugins/     fastcgi_pass to the stack's gerbang-proxy -> gerbang-echo
#                    (mount /v1/plugins/echo: gateway_verified, signed)
# so every target goes through the same nginx worker and FastCGI settings.
# The last four all ask gerbang-echo (the reference plugin upstream, a
# FastCGI program behind the stack's nginx on the echo port) for /bench, so
# each pays that hop alike.
# Each target: wrk warm-up 2 s, then wrk -t2 -c32 -d${BENCH_SECONDS}s --latency;
# the libfcgi floor with /healthz, /v1/me (with and without rate limiting)
# and /v1/users/{id}, and forward, forward-h and the proxy, each group in
# two interleaved halves (see measure).
# With gerbang-data in the build, also GET /v1/data/notes?limit=50 (a page
# of 50 rows of the bench company: JWT, tenant transaction, keyset query,
# rows written as JSON) and GET /v1/data/notes/{id} (one row), in the
# interleaved group of the libfcgi floor.
# With gerbang-tasks in the build, also POST /v1/tasks/echo (the enqueue:
# row, Redis push, commit; 202) against the same floor, with the stack's
# worker stopped so that only the enqueue is measured, and afterwards the
# worker's throughput: gerbang-worker (echo adapter, GERBANG_THREADS
# threads) started on the queue those runs filled, timed until it is empty.
# Then gerbang-health's RSS at idle and after at least 200,000 requests,
# and gerbang-proxy's at idle and after its runs.
#
# Environment: BENCH_SECONDS (default 10), GERBANG_THREADS (threads per
# program, default 4, passed to the stack), BENCH_KEEP=1 keeps the temporary
# directory (logs) after the run.  BENCH_PERF=1 adds, after the measured
# runs, one system-wide `perf record -g` over a wrk run of the forward and
# of the proxy target, prints where the CPU went by process and keeps the
# reports in the temporary directory (with BENCH_KEEP=1).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 64; }
BUILD=$(cd "$1" && pwd) || exit 66
SECS=${BENCH_SECONDS:-10}
if ! [[ $SECS =~ ^[0-9]+$ ]] || [ "$SECS" -lt 1 ] || [ "$SECS" -gt 600 ]; then
	echo "bench: BENCH_SECONDS must be 1..600" >&2
	exit 64
fi
THREADS=${GERBANG_THREADS:-4}
WARM=2
CONNS=32
WRK_THREADS=2
RSS_REQUESTS=200000

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

for t in wrk nginx gcc pkg-config python3 curl timeout; do
	command -v "$t" >/dev/null || die "$t not found (scripts/dev installs what is missing)"
done
for p in fcgi/gerbang-health fcgi/gerbang-proxy plugins/gerbang-echo; do
	[ -x "$BUILD/$p" ] || die "$BUILD/$p not built"
done
pkg-config --exists libcurl || die "libcurl's pkg-config file not found (libcurl4-openssl-dev)"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

BARE_PID="" FWD_PID="" FWDH_PID="" AUTHRL_PID="" QUIET_PID="" WRK_PID="" PERF_PID="" STACK_STARTED=0
TMP=$(mktemp -d /tmp/gerbang-bench-XXXXXX)
D=$TMP/stack          # scripts/stack's directory
B=$TMP/bench          # bench nginx, bare-fcgi, wrk output

# stop_pid PID [SIGNAL]: signal, wait up to 10 s, then SIGKILL.
stop_pid() {
	local pid=$1 sig=${2:-TERM} i
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -"$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

TOPO_DIR=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_pid "$WRK_PID" TERM
	stop_pid "$PERF_PID" INT
	[ -f "$B/nginx.pid" ] && stop_pid "$(cat "$B/nginx.pid")" QUIT
	stop_pid "$BARE_PID" TERM
	stop_pid "$FWD_PID" TERM
	stop_pid "$FWDH_PID" TERM
	stop_pid "$AUTHRL_PID" TERM
	stop_pid "$QUIET_PID" TERM
	[ -z "$TOPO_DIR" ] || TOPOLOGY_QUIET=1 timeout 60 "$SRC/tests/scaleout/topology" down "$TOPO_DIR" \
		>/dev/null 2>&1 || note "topology down failed ($TOPO_DIR)"
	wait 2>/dev/null || true
	if [ $STACK_STARTED = 1 ]; then
		# Without DIR/build, `stack stop` skips lighttpd_stop, whose pkill -f
		# by program path would reach programs of other stacks of this
		# build; every process of ours is stopped by its pid file.
		rm -f "$D/build"
		STACK_QUIET=1 "$SRC/scripts/stack" stop "$D" >/dev/null 2>&1 ||
			note "scripts/stack stop failed; see $D/log"
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
		note "logs kept in $TMP"
	else
		rm -rf "$TMP"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

chmod 755 "$TMP"      # nginx workers (www-data) reach sockets below it
mkdir -p "$B/snippets" "$B/tmp"
chmod 755 "$B"
chown www-data "$B/tmp"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- bare-fcgi ----------------------------------------------------------------
BARE=$BUILD/tests/bench/bare-fcgi
mkdir -p "$(dirname "$BARE")"
if [ ! -x "$BARE" ] || [ "$SRC/tests/bench/bare-fcgi.c" -nt "$BARE" ]; then
	# shellcheck disable=SC2046
	gcc -std=c11 -O2 -Wall -Wextra -pthread -o "$BARE" "$SRC/tests/bench/bare-fcgi.c" \
		$(pkg-config --cflags --libs fcgi) || die "cannot build bare-fcgi"
fi
FWD=$BUILD/tests/bench/bare-forward
if [ ! -x "$FWD" ] || [ "$SRC/tests/bench/bare-forward.c" -nt "$FWD" ]; then
	# shellcheck disable=SC2046
	gcc -std=c11 -O2 -Wall -Wextra -pthread -o "$FWD" "$SRC/tests/bench/bare-forward.c" \
		$(pkg-config --cflags --libs fcgi libcurl) || die "cannot build bare-forward"
fi

# --- the stack -------------------------------------------------------------------
HTTP_PORT=$(free_port) HTTPS_PORT=$(free_port) BENCH_PORT=$(free_port) ECHO_PORT=$(free_port)
RL_PORT=$(free_port)
STACK_STARTED=1
# Rate limiting off in the stack: the bars of /healthz, /v1/me, the tenant
# read and the proxy are about the pipeline, the token, the database and
# the forwarding; what a bucket costs is measured on its own (me_rl).
# CORS as shipped: off (the development stack allows two local origins,
# which adds Vary: Origin to every response).
# No per-company task limit within reach: the enqueue runs queue tens of
# thousands of tasks for one company.
GERBANG_NGINX_ACCESS_LOG=off GERBANG_THREADS=$THREADS GERBANG_RATE_LIMIT=off GERBANG_CORS_ORIGINS= \
	GERBANG_TASKS_MAX_QUEUED=1000000 GERBANG_WORKER_CONCURRENCY=$THREADS STACK_QUIET=1 \
	timeout 120 "$SRC/scripts/stack" start "$D" --build "$BUILD" \
	--http-port "$HTTP_PORT" --https-port "$HTTPS_PORT" --echo-port "$ECHO_PORT" \
	--provider-port "$(free_port)" >"$B/stack-start.log" 2>&1 ||
	{ cat "$B/stack-start.log" >&2; die "the stack did not start"; }
RUN=$D/run
read -r _ _ ECHO_PORT <"$D/ports"
[ -n "$ECHO_PORT" ] || die "$D/ports names no echo port"

# gerbang-proxy's RSS before it served anything.
PROXY_PID=$(cat "$RUN/proxy.pid")
PROXY_EXE=$(readlink "/proc/$PROXY_PID/exe") || die "gerbang-proxy (pid $PROXY_PID) is not running"
case $PROXY_EXE in
*/gerbang-proxy) ;;
*) note "pid $PROXY_PID is $PROXY_EXE, not gerbang-proxy: its RSS and CPU figures would be wrong" ;;
esac
PROXY_RSS_IDLE=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PROXY_PID/status")

# Every program under test runs in a session of its own (setsid), as the
# stack's programs do and as systemd runs each in a unit of its own: with
# the kernel's scheduler autogroups (sched_autogroup_enabled), a process
# left in this script's session would share wrk's CPU group, and be
# scheduled unlike the programs it is compared with (15-20% apart in
# req/s on this 2-core machine for two identical gerbang-health).
setsid "$BARE" "$B/bare.sock" 4 </dev/null >"$B/bare-fcgi.log" 2>&1 &
BARE_PID=$!
# A second gerbang-auth with rate limiting on, its default class far beyond
# what wrk can ask: every request pays its bucket's Redis round trip and
# nothing is refused.
cat >"$B/ratelimit.json" <<'EOF'
{"classes": {"default": {"rate": 1000000, "capacity": 1000000000}}}
EOF
(
	while IFS= read -r kv; do export "${kv?}"; done < <("$SRC/scripts/stack" env "$D")
	export RATE_LIMIT=on RATE_LIMIT_FILE=$B/ratelimit.json CORS_ORIGINS=
	exec setsid "$BUILD/fcgi/gerbang-auth" --listen "unix:$B/auth-rl.sock"
) </dev/null >"$B/auth-rl.log" 2>&1 &
AUTHRL_PID=$!
# A second gerbang-health with metrics and the access log off: what both
# cost /healthz, side by side with the stack's (both on).
(
	while IFS= read -r kv; do export "${kv?}"; done < <("$SRC/scripts/stack" env "$D")
	export METRICS=off ACCESS_LOG=off RATE_LIMIT=off CORS_ORIGINS=
	exec setsid "$BUILD/fcgi/gerbang-health" --listen "unix:$B/health-quiet.sock"
) </dev/null >"$B/health-quiet.log" 2>&1 &
QUIET_PID=$!
setsid "$FWD" "$B/forward.sock" "http://127.0.0.1:$ECHO_PORT/" /floor/forward/ 4 </dev/null \
	>"$B/bare-forward.log" 2>&1 &
FWD_PID=$!
# The headers gerbang-proxy sends in gateway_verified mode for a request
# that has none of the plugin's forward_headers, at their real sizes; the
# signature cannot verify, which costs the echo the same one HMAC.
setsid "$FWD" "$B/forward-h.sock" "http://127.0.0.1:$ECHO_PORT/" /floor/forward-h/ 4 \
	"X-Request-Id: 0123456789abcdef0123456789abcdef" \
	"traceparent: 00-0123456789abcdef0123456789abcdef-0123456789abcdef-00" \
	"X-Forwarded-For: 127.0.0.1" "X-Forwarded-Proto: http" "X-Plugin-Name: echo" \
	"X-User-Id: 01234567-89ab-cdef-0123-456789abcdef" \
	"X-Company-Id: 01234567-89ab-cdef-0123-456789abcdef" "X-Role: owner" \
	"X-Internal-Timestamp: 1700000000" \
	"X-Internal-Signature: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	</dev/null >"$B/bare-forward-h.log" 2>&1 &
FWDH_PID=$!

# --- the bench nginx -----------------------------------------------------------
cp /etc/nginx/fastcgi_params "$B/"
cp "$SRC/etc/nginx/gerbang-fastcgi-params.conf" "$B/snippets/"
# 139 bytes of JSON, the size of gerbang-health's /healthz envelope.
STATIC_BODY='{"ok":true,"message":"alive","data":{"status":"ok","timestamp":"2026-01-01T00:00:00.000Z"},"request_id":"00000000000000000000000000000000"}'
cat >"$B/nginx.conf" <<EOF
user www-data;
worker_processes 1;
pid $B/nginx.pid;
error_log $B/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    server_tokens off;
    client_body_temp_path $B/tmp/body;
    fastcgi_temp_path $B/tmp/fastcgi;
    proxy_temp_path $B/tmp/proxy;
    uwsgi_temp_path $B/tmp/uwsgi;
    scgi_temp_path $B/tmp/scgi;
    # The FastCGI settings of etc/nginx/gerbang-fastcgi.conf.
    fastcgi_keep_conn off;
    fastcgi_connect_timeout 5s;
    fastcgi_read_timeout 60s;
    fastcgi_intercept_errors off;
    # gerbang-echo on the stack's echo port, connections kept alive so the
    # direct floor pays no connect per request (as curl's cache does not).
    upstream gerbang_echo {
        server 127.0.0.1:$ECHO_PORT;
        keepalive 32;
    }
    server {
        listen 127.0.0.1:$BENCH_PORT;
        location = /floor/static {
            types { }
            default_type application/json;
            return 200 '$STATIC_BODY';
        }
        location = /floor/fcgi {
            include snippets/gerbang-fastcgi-params.conf;
            fastcgi_pass unix:$B/bare.sock;
        }
        location = /healthz {
            include snippets/gerbang-fastcgi-params.conf;
            fastcgi_pass unix:$RUN/health.sock;
        }
        location = /v1/me {
            include snippets/gerbang-fastcgi-params.conf;
            fastcgi_pass unix:$RUN/auth.sock;
        }
        location /v1/users/ {
            include snippets/gerbang-fastcgi-params.conf;
            fastcgi_pass unix:$RUN/users.sock;
        }
        location /v1/tasks/ {
            include snippets/gerbang-fastcgi-params.conf;
            fastcgi_pass unix:$RUN/tasks.sock;
        }
        location /v1/data/ {
            include snippets/gerbang-fastcgi-params.conf;
            fastcgi_pass unix:$RUN/data.sock;
        }
        location /floor/direct/ {
            proxy_pass http://gerbang_echo/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        # Both forwarders get the settings of the shipped /v1/plugins/
        # location (etc/nginx/gerbang-fastcgi.conf): responses streamed.
        location /floor/forward/ {
            include snippets/gerbang-fastcgi-params.conf;
            fastcgi_buffering off;
            fastcgi_pass unix:$B/forward.sock;
        }
        location /floor/forward-h/ {
            include snippets/gerbang-fastcgi-params.conf;
            fastcgi_buffering off;
            fastcgi_pass unix:$B/forward-h.sock;
        }
        location /v1/plugins/ {
            include snippets/gerbang-fastcgi-params.conf;
            fastcgi_buffering off;
            fastcgi_pass unix:$RUN/proxy.sock;
        }
    }
    # /v1/me of the gerbang-auth with rate limiting on, and /healthz of the
    # gerbang-health without metrics and access log; same worker.
    server {
        listen 127.0.0.1:$RL_PORT;
        location = /v1/me {
            include snippets/gerbang-fastcgi-params.conf;
            fastcgi_pass unix:$B/auth-rl.sock;
        }
        location = /healthz {
            include snippets/gerbang-fastcgi-params.conf;
            fastcgi_pass unix:$B/health-quiet.sock;
        }
    }
}
EOF
nginx -p "$B" -c nginx.conf -t >"$B/nginx-test.log" 2>&1 || { cat "$B/nginx-test.log" >&2; die "bench nginx config invalid"; }
nginx -p "$B" -c nginx.conf || die "bench nginx did not start"

# --- a tenant and an access token for the authenticated targets -----------------
owner_sql() {
	psql "postgresql:///gerbang?host=$RUN&user=gerbang_owner" -qAt -v ON_ERROR_STOP=1 -c "$1"
}
BENCH_CID=$(owner_sql "insert into gerbang.companies (slug, name) values ('bench-$$', 'Bench') returning id") ||
	die "cannot create the bench company"
BENCH_USER=$(owner_sql "insert into gerbang.users (company_id, email, password_hash, role)
	values ('$BENCH_CID', 'bench@bench.test', '*', 'owner') returning id") || die "cannot create the bench user"
# HS256 with the stack's development secret, the claims gerbang-auth issues.
TOKEN=$(python3 - "$D/jwt-secret" "$BENCH_USER" "$BENCH_CID" <<'PY'
import base64, hashlib, hmac, json, sys, time
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
key = open(sys.argv[1]).read().strip().encode()
now = int(time.time())
h = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
p = b64(json.dumps({"sub": sys.argv[2], "company_id": sys.argv[3], "role": "owner",
                    "iss": "gerbang", "aud": "gerbang", "iat": now, "exp": now + 3600}).encode())
print(f"{h}.{p}." + b64(hmac.new(key, f"{h}.{p}".encode(), hashlib.sha256).digest()))
PY
) || die "cannot sign the bench token"

BASE=http://127.0.0.1:$BENCH_PORT
NAMES=(static fcgi healthz quiet me me_rl)
# The plugin targets: the same echo path through each.
ECHO_PATH=bench
declare -A URL=([static]=$BASE/floor/static [fcgi]=$BASE/floor/fcgi [healthz]=$BASE/healthz
	[quiet]=http://127.0.0.1:$RL_PORT/healthz [me]=$BASE/v1/me [me_rl]=http://127.0.0.1:$RL_PORT/v1/me [user]=$BASE/v1/users/$BENCH_USER
	[direct]=$BASE/floor/direct/$ECHO_PATH [forward]=$BASE/floor/forward/$ECHO_PATH
	[fwdhdr]=$BASE/floor/forward-h/$ECHO_PATH [proxy]=$BASE/v1/plugins/echo/$ECHO_PATH)
declare -A LABEL=([static]="nginx static" [fcgi]="bare libfcgi" [healthz]="/healthz"
	[quiet]="/healthz quiet" [me]="/v1/me" [me_rl]="/v1/me +rl" [user]="/v1/users/{id}" [direct]="direct" [forward]="forward"
	[fwdhdr]="forward+hdrs" [proxy]="proxy")
declare -A HDR=([me]="Authorization: Bearer $TOKEN" [me_rl]="Authorization: Bearer $TOKEN"
	[user]="Authorization: Bearer $TOKEN"
	[proxy]="Authorization: Bearer $TOKEN")
# gerbang-users answers the tenant read when it is part of the build.
[ -f "$RUN/users.pid" ] && NAMES+=(user)
# The task enqueue, when gerbang-tasks is: a POST with a body (a wrk script),
# answered 202.  The stack's worker is stopped: only the enqueue is measured.
declare -A SCRIPT=() EXPECT=()
if [ -f "$RUN/tasks.pid" ]; then
	cat >"$B/task.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"text":"bench"}'
wrk.headers["Content-Type"] = "application/json"
LUA
	STACK_QUIET=1 "$SRC/scripts/stack" program-stop "$D" worker >/dev/null 2>&1 ||
		die "cannot stop the stack's worker"
	URL[task]=$BASE/v1/tasks/echo LABEL[task]="POST /v1/tasks" HDR[task]="Authorization: Bearer $TOKEN"
	SCRIPT[task]=$B/task.lua EXPECT[task]=202
	NAMES+=(task)
fi
# gerbang-data, when it is part of the build: 50 notes of the bench
# company, read as one page and one by one.
if [ -f "$RUN/data.pid" ]; then
	owner_sql "insert into gerbang_data.notes (company_id, title, due, done)
		select '$BENCH_CID', 'bench note ' || k, date '2026-01-01' + k, k % 2 = 0
		from generate_series(1, 50) k" >/dev/null || die "cannot create the bench notes"
	NOTE_ID=$(owner_sql "select id from gerbang_data.notes where company_id = '$BENCH_CID'
		order by created_at, id limit 1") || die "cannot read a bench note"
	URL[list50]="$BASE/v1/data/notes?limit=50" URL[row]=$BASE/v1/data/notes/$NOTE_ID
	LABEL[list50]="data list 50" LABEL[row]="data row"
	HDR[list50]="Authorization: Bearer $TOKEN" HDR[row]="Authorization: Bearer $TOKEN"
	NAMES+=(list50 row)
fi
PLUGIN_NAMES=(direct forward fwdhdr proxy)
NAMES+=("${PLUGIN_NAMES[@]}")
for n in "${NAMES[@]}"; do
	ok=0
	for ((i = 0; i < 100; i++)); do
		if [ "$(curl -s -o "$B/probe-$n" -w '%{http_code}' --max-time 2 ${HDR[$n]:+-H "${HDR[$n]}"} \
			${SCRIPT[$n]:+-H 'Content-Type: application/json' -d '{"text":"bench"}'} "${URL[$n]}" ||
			true)" = "${EXPECT[$n]:-200}" ]; then
			ok=1
			break
		fi
		sleep 0.1
	done
	[ $ok = 1 ] || die "${URL[$n]} does not answer ${EXPECT[$n]:-200} (logs: $B, $D/log)"
done
# Each plugin target reached the echo's /bench; the proxy's request came
# signed, and the echo verified it.
for n in "${PLUGIN_NAMES[@]}"; do
	grep -q '"path":"/'$ECHO_PATH'"' "$B/probe-$n" || die "${URL[$n]} did not reach the echo's /$ECHO_PATH (see $B/probe-$n)"
done
grep -q '"signature":"valid"' "$B/probe-proxy" ||
	die "the echo did not verify gerbang-proxy's signature (see $B/probe-proxy)"
grep -q '"x-internal-signature":' "$B/probe-fwdhdr" ||
	die "the echo did not get forward+hdrs' headers (see $B/probe-fwdhdr)"
# Only the rate-limited gerbang-auth takes tokens.
curl -s -D - -o /dev/null -H "${HDR[me_rl]}" "${URL[me_rl]}" | grep -qi '^ratelimit-limit:' ||
	die "${URL[me_rl]} sent no RateLimit-Limit: is rate limiting on? (see $B/auth-rl.log)"
! curl -s -D - -o /dev/null -H "${HDR[me]}" "${URL[me]}" | grep -qi '^ratelimit-limit:' ||
	die "${URL[me]} is rate limited: the stack should run with RATE_LIMIT=off"
declare -A BODY_BYTES
for n in "${PLUGIN_NAMES[@]}"; do BODY_BYTES[$n]=$(wc -c <"$B/probe-$n"); done

# --- process facts ------------------------------------------------------------
HEALTH_PID=$(cat "$RUN/health.pid")
HEALTH_EXE=$(readlink "/proc/$HEALTH_PID/exe") || die "gerbang-health (pid $HEALTH_PID) is not running"
case $HEALTH_EXE in
*/gerbang-health) ;;
*) note "pid $HEALTH_PID is $HEALTH_EXE, not gerbang-health: RSS figures would be wrong" ;;
esac

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
proc_threads() { awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo "?"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.2f", k / 1024 }'; }

HEALTH_RSS_IDLE=$(rss_kib "$HEALTH_PID")
HEALTH_RSS_SPLIT=$(awk '/^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 }
	END { printf "anon %.2f + file %.2f", a / 1024, f / 1024 }' "/proc/$HEALTH_PID/status")
BARE_RSS_IDLE=$(rss_kib "$BARE_PID")
FWD_RSS_IDLE=$(rss_kib "$FWD_PID")

# --- wrk ----------------------------------------------------------------------------
# wrk_run NAME URL SECONDS OUT: one bounded wrk; OUT gets its output and
# OUT.v "rps p50_ms p99_ms requests non2xx socket_errors seconds".
wrk_run() {
	local name=$1 url=$2 secs=$3 out=$4 rc=0
	timeout -k 5 $((secs + 20)) wrk -t$WRK_THREADS -c$CONNS -d"${secs}s" --latency \
		${HDR[$name]:+-H "${HDR[$name]}"} ${SCRIPT[$name]:+-s "${SCRIPT[$name]}"} "$url" >"$out" 2>&1 &
	WRK_PID=$!
	wait "$WRK_PID" || rc=$?
	WRK_PID=""
	[ $rc = 0 ] || { cat "$out" >&2; die "wrk on $url failed (exit $rc)"; }
	awk '
	function ms(v,   n, u) {
		n = v + 0
		u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") return n / 1000
		if (u == "ms") return n
		if (u == "s") return n * 1000
		if (u == "m") return n * 60000
		if (u == "h") return n * 3600000
		return -1
	}
	$1 == "50%" { p50 = ms($2) }
	$1 == "99%" { p99 = ms($2) }
	/ requests in / { reqs = $1; d = $4; sub(/,$/, "", d); secs = ms(d) / 1000 }
	/^ *Socket errors:/ { gsub(/,/, ""); sock = $4 + $6 + $8 + $10 }
	/^ *Non-2xx or 3xx responses:/ { non = $NF }
	/^Requests\/sec:/ { rps = $2 }
	END { printf "%.2f %.3f %.3f %d %d %d %.3f\n", rps, p50, p99, reqs, non, sock, secs }' "$out" >"$out.v"
}

# CPU time (user+system, all threads) a process has used, in clock ticks.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0; }
TICK=$(getconf CLK_TCK)
NGINX_WORKER=$(ps --no-headers -o pid --ppid "$(cat "$B/nginx.pid")" | head -n 1 | tr -d ' ')
declare -A PROG_PID=([static]="" [fcgi]=$BARE_PID [healthz]=$HEALTH_PID
	[quiet]=$QUIET_PID [me]=$(cat "$RUN/auth.pid") [me_rl]=$AUTHRL_PID
	[user]=$(cat "$RUN/users.pid" 2>/dev/null || true)
	[task]=$(cat "$RUN/tasks.pid" 2>/dev/null || true)
	[list50]=$(cat "$RUN/data.pid" 2>/dev/null || true) [row]=$(cat "$RUN/data.pid" 2>/dev/null || true)
	[direct]="" [forward]=$FWD_PID [fwdhdr]=$FWDH_PID [proxy]=$PROXY_PID)
# The upstream side of the plugin targets: gerbang-echo and the stack's
# nginx worker in front of it (it serves nothing else during the run).
ECHO_PID=$(cat "$RUN/echo.pid")
STACK_NGINX_WORKER=$(ps --no-headers -o pid --ppid "$(cat "$RUN/nginx.pid")" | head -n 1 | tr -d ' ')
[ -n "$STACK_NGINX_WORKER" ] || die "the stack's nginx has no worker"
REDIS_PID=$(cat "$RUN/redis.pid")
# upstream_ticks NAME: CPU ticks so far of what NAME's program waits on:
# gerbang-echo and its nginx for the plugin targets, Redis for /v1/me +rl.
upstream_ticks() {
	if [ "$1" = me_rl ]; then
		cpu_ticks "$REDIS_PID"
	else
		echo $(($(cpu_ticks "$ECHO_PID") + $(cpu_ticks "$STACK_NGINX_WORKER")))
	fi
}
# us of CPU per request: ticks, requests.
us_per_req() { awk -v t="$1" -v n="$2" -v hz="$TICK" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else printf "-" }'; }

declare -A RPS P50 P99 REQS ERRS NGX_CPU PROG_CPU UP_CPU
declare -A IS_PLUGIN=([direct]=1 [forward]=1 [fwdhdr]=1 [proxy]=1)
declare -A HAS_UPSTREAM=([direct]=1 [forward]=1 [fwdhdr]=1 [proxy]=1 [me_rl]=1)
# Totals over a target's measured runs: seconds, request-weighted sums of
# p50 and p99, CPU ticks of the bench nginx worker, the program and the
# upstream side, non-2xx responses and socket errors.
declare -A T_DUR T_P50 T_P99 T_NGX T_PROG T_UP T_NON T_SOCK
HEALTHZ_SERVED=0
PROXY_SERVED=0

# served NAME N: N more requests served by the programs whose RSS we follow.
served() {
	case $1 in
	healthz) HEALTHZ_SERVED=$((HEALTHZ_SERVED + $2)) ;;
	proxy) PROXY_SERVED=$((PROXY_SERVED + $2)) ;;
	esac
}

# warm NAME: the warm-up run, not measured.
warm() {
	local wreqs
	wrk_run "$1" "${URL[$1]}" $WARM "$B/wrk-$1-warm.txt"
	read -r _ _ _ wreqs _ <"$B/wrk-$1-warm.txt.v"
	served "$1" "$wreqs"
}

# measure NAME SECONDS OUT: one measured run, added to NAME's totals.
measure() {
	local n=$1 out=$3 ng0 pr0=0 up0=0 p50 p99 reqs non sock dur
	ng0=$(cpu_ticks "$NGINX_WORKER")
	[ -z "${PROG_PID[$n]}" ] || pr0=$(cpu_ticks "${PROG_PID[$n]}")
	[ -z "${HAS_UPSTREAM[$n]:-}" ] || up0=$(upstream_ticks "$n")
	wrk_run "$n" "${URL[$n]}" "$2" "$out"
	T_NGX[$n]=$((${T_NGX[$n]:-0} + $(cpu_ticks "$NGINX_WORKER") - ng0))
	[ -z "${PROG_PID[$n]}" ] || T_PROG[$n]=$((${T_PROG[$n]:-0} + $(cpu_ticks "${PROG_PID[$n]}") - pr0))
	[ -z "${HAS_UPSTREAM[$n]:-}" ] || T_UP[$n]=$((${T_UP[$n]:-0} + $(upstream_ticks "$n") - up0))
	read -r _ p50 p99 reqs non sock dur <"$out.v"
	REQS[$n]=$((${REQS[$n]:-0} + reqs))
	T_NON[$n]=$((${T_NON[$n]:-0} + non))
	T_SOCK[$n]=$((${T_SOCK[$n]:-0} + sock))
	read -r "T_DUR[$n]" "T_P50[$n]" "T_P99[$n]" <<<"$(awk -v d="${T_DUR[$n]:-0}" -v a="${T_P50[$n]:-0}" \
		-v b="${T_P99[$n]:-0}" -v dur="$dur" -v p50="$p50" -v p99="$p99" -v r="$reqs" \
		'BEGIN { printf "%.3f %.3f %.3f\n", d + dur, a + p50 * r, b + p99 * r }')"
	served "$n" "$reqs"
	if [ "$n" = proxy ]; then PROXY_RSS_RUN=$(rss_kib "$PROXY_PID"); fi
}

# Every target: a warm-up, then SECS measured.  The targets a bar compares
# run in slices of SLICE seconds, in turns whose order alternates: a b c,
# c b a, a b c, ...  Other load on the machine (a shared 2-core box) and
# the slow drifts of its scheduling then weigh on each about equally, and
# a run that happened to go badly is one slice of several.  Their latencies
# are the request-weighted mean of the slices' percentiles.
#   BAR_NAMES: the proxy and the forwarders it is held to;
#   RL_NAMES: the bare libfcgi floor, the targets held to it, the quiet
#   /healthz and /v1/me with its bucket.
BAR_NAMES=(forward fwdhdr proxy)
RL_NAMES=(fcgi healthz quiet me me_rl)
[ -f "$RUN/users.pid" ] && RL_NAMES+=(user)
[ -z "${URL[row]:-}" ] || RL_NAMES+=(list50 row)
[ -z "${URL[task]:-}" ] || RL_NAMES+=(task)
SLICE=2
NSLICES=$(((SECS + SLICE - 1) / SLICE))
[ $NSLICES -ge 2 ] || NSLICES=2
# interleaved NAME...: the warm-ups, then NSLICES turns of SLICE seconds.
interleaved() {
	local names=("$@") i k
	for n in "${names[@]}"; do warm "$n"; done
	for ((k = 0; k < NSLICES; k++)); do
		for ((i = 0; i < ${#names[@]}; i++)); do
			n=${names[$((k % 2 == 0 ? i : ${#names[@]} - 1 - i))]}
			measure "$n" $SLICE "$B/wrk-$n-$k.txt"
		done
	done
}
for n in "${NAMES[@]}"; do
	case " ${BAR_NAMES[*]} ${RL_NAMES[*]} " in *" $n "*) continue ;; esac
	warm "$n"
	measure "$n" "$SECS" "$B/wrk-$n.txt"
done
interleaved "${RL_NAMES[@]}"
interleaved "${BAR_NAMES[@]}"
for n in "${NAMES[@]}"; do
	read -r "RPS[$n]" "P50[$n]" "P99[$n]" <<<"$(awk -v r="${REQS[$n]}" -v d="${T_DUR[$n]}" \
		-v a="${T_P50[$n]}" -v b="${T_P99[$n]}" 'BEGIN {
		printf "%.2f %.3f %.3f\n", (d > 0 ? r / d : 0), (r > 0 ? a / r : 0), (r > 0 ? b / r : 0) }')"
	NGX_CPU[$n]=$(us_per_req "${T_NGX[$n]}" "${REQS[$n]}")
	PROG_CPU[$n]=- UP_CPU[$n]=-
	[ -z "${PROG_PID[$n]}" ] || PROG_CPU[$n]=$(us_per_req "${T_PROG[$n]}" "${REQS[$n]}")
	[ -z "${HAS_UPSTREAM[$n]:-}" ] || UP_CPU[$n]=$(us_per_req "${T_UP[$n]}" "${REQS[$n]}")
	ERRS[$n]=""
	[ "${T_NON[$n]}" = 0 ] || ERRS[$n]+="non-2xx=${T_NON[$n]} "
	[ "${T_SOCK[$n]}" = 0 ] || ERRS[$n]+="socket=${T_SOCK[$n]} "
done
# The worker's throughput: the queue the enqueue runs filled, drained by a
# gerbang-worker with the echo adapter, timed from its start until the
# queue and its processing list are empty (at most 300 s).
WORKER_TASKS=0 WORKER_SECS=0
if [ -n "${URL[task]:-}" ]; then
	llen() { redis-cli -s "$RUN/redis.sock" LLEN "gerbang:tasks:$1" 2>/dev/null || echo 0; }
	WORKER_TASKS=$(llen queue)
	t0=$(date +%s.%N)
	STACK_QUIET=1 "$SRC/scripts/stack" program-start "$D" worker >/dev/null 2>&1 ||
		die "the worker did not start (see $D/log/worker.log)"
	for ((i = 0; i < 3000; i++)); do
		[ "$(llen queue)" = 0 ] && [ "$(llen processing)" = 0 ] && break
		sleep 0.1
	done
	WORKER_SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
	[ "$(llen queue)" = 0 ] || note "the worker did not drain the queue in 300 s"
fi
BARE_RSS_LOADED=$(rss_kib "$BARE_PID")
FWD_RSS_LOADED=$(rss_kib "$FWD_PID")
kill -0 "$PROXY_PID" 2>/dev/null || note "gerbang-proxy (pid $PROXY_PID) is gone"
HEALTH_RSS_WARM=$(rss_kib "$HEALTH_PID")

# Top up /healthz until the program has served RSS_REQUESTS in all.
TOPUP_ERRS=""
for ((round = 0; round < 5 && HEALTHZ_SERVED < RSS_REQUESTS; round++)); do
	rate=${RPS[healthz]%.*}
	[ "${rate:-0}" -gt 0 ] || break
	secs=$(((RSS_REQUESTS - HEALTHZ_SERVED) * 11 / 10 / rate + 1))
	[ $secs -le 60 ] || secs=60
	wrk_run healthz "${URL[healthz]}" "$secs" "$B/wrk-healthz-rss-$round.txt"
	read -r _ _ _ wreqs wnon wsock _ <"$B/wrk-healthz-rss-$round.txt.v"
	HEALTHZ_SERVED=$((HEALTHZ_SERVED + wreqs))
	[ "$wnon" = 0 ] || TOPUP_ERRS+="non-2xx=$wnon "
	[ "$wsock" = 0 ] || TOPUP_ERRS+="socket=$wsock "
done
HEALTH_RSS_END=$(rss_kib "$HEALTH_PID")
kill -0 "$HEALTH_PID" 2>/dev/null || note "gerbang-health (pid $HEALTH_PID) is gone"

# --- optional: where the CPU goes (BENCH_PERF=1) ------------------------------------
# perf_run NAME COMM: one system-wide perf record over a wrk run of NAME;
# the share of each process, then COMM's hottest symbols, into $B/perf-NAME-*.txt.
perf_run() {
	local name=$1 comm=$2 rc=0
	timeout -k 5 $((SECS + 30)) perf record -q -a -g -F 499 -o "$B/perf-$name.data" -- \
		wrk -t$WRK_THREADS -c$CONNS -d"${SECS}s" ${HDR[$name]:+-H "${HDR[$name]}"} "${URL[$name]}" \
		>"$B/perf-$name-wrk.txt" 2>&1 &
	PERF_PID=$!
	wait "$PERF_PID" || rc=$?
	PERF_PID=""
	[ $rc = 0 ] || { note "perf record over $name failed (exit $rc; see $B/perf-$name-wrk.txt)"; return 0; }
	timeout 120 perf report -i "$B/perf-$name.data" --stdio --no-children --sort comm -g none \
		2>/dev/null | grep -E '^ +[0-9.]+%' >"$B/perf-$name-comm.txt" || true
	timeout 120 perf report -i "$B/perf-$name.data" --stdio --no-children --percentage relative --comms "$comm" \
		--sort dso,sym -g none 2>/dev/null | grep -E '^ +[0-9.]+%' >"$B/perf-$name-sym.txt" || true
}
PERF_DONE=0
if [ "${BENCH_PERF:-0}" = 1 ]; then
	if command -v perf >/dev/null; then
		perf_run forward bare-forward
		perf_run proxy gerbang-proxy
		PERF_DONE=1
	else
		note "BENCH_PERF=1 but perf is not installed (linux-perf)"
	fi
fi

# --- report -----------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "-" }'; }

echo
echo "gerbang bench: $(date -u +%Y-%m-%dT%H:%M:%SZ), build $BUILD"
echo "machine: nproc $(nproc), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
	"load average before the run $LOAD_BEFORE"
echo "         bench nginx workers $(ps --no-headers --ppid "$(cat "$B/nginx.pid")" | wc -l)," \
	"gerbang-health threads $THREADS (GERBANG_THREADS; /proc: $(proc_threads "$HEALTH_PID") incl. main)," \
	"bare-fcgi and bare-forward threads 4, gerbang-echo threads ${GERBANG_ECHO_THREADS:-16}"
echo "         wrk -t$WRK_THREADS -c$CONNS --latency after a ${WARM}s warm-up; ${SECS}s per target, the compared" \
	"ones in $NSLICES slices of ${SLICE}s in turns a b c, c b a, ..."
echo "         for bare libfcgi, /healthz, /healthz quiet, /v1/me, /v1/me +rl, /v1/users/{id} and for forward," \
	"forward+hdrs, proxy; wrk, nginx and the programs share the same CPUs"
echo
printf '%-14s %10s %7s %7s %9s %8s %7s %10s %10s %10s  %s\n' target req/s "p50 ms" "p99 ms" \
	"vs static" "vs floor" "vs fwd" "nginx us/r" "prog us/r" "upstr us/r" errors
for n in "${NAMES[@]}"; do
	vsfwd=-
	[ -z "${IS_PLUGIN[$n]:-}" ] || vsfwd=$(ratio "${RPS[$n]}" "${RPS[forward]}")
	printf '%-14s %10s %7s %7s %9s %8s %7s %10s %10s %10s  %s\n' "${LABEL[$n]}" "${RPS[$n]}" \
		"${P50[$n]}" "${P99[$n]}" \
		"$(ratio "${RPS[$n]}" "${RPS[static]}")" "$(ratio "${RPS[$n]}" "${RPS[fcgi]}")" "$vsfwd" \
		"${NGX_CPU[$n]}" "${PROG_CPU[$n]}" "${UP_CPU[$n]}" \
		"${ERRS[$n]:-none}${ERRS[$n]:+(* run with errors)}"
done
echo "(us/r: CPU microseconds, user+system, per request of the measured run, of the bench"
echo " nginx worker, of the FastCGI program (forward, forward+hdrs: bare-forward; proxy:"
echo " gerbang-proxy) and of the upstream side (gerbang-echo + the stack's nginx worker in"
echo " front of it; for /v1/me +rl, Redis); less sensitive than req/s to a shared machine)"
echo "direct: bench nginx proxy_pass (keep-alive) -> echo; forward: bench nginx -> bare-forward"
echo " (libfcgi + libcurl, nothing else) -> echo; forward+hdrs: the same sending the 10 headers"
echo " gerbang-proxy adds; proxy: bench nginx -> gerbang-proxy (/v1/plugins/echo, gateway_verified:"
echo " JWT, signed, filtered headers) -> echo.  Each asks the echo for /$ECHO_PATH, whose JSON"
echo " describes the request it got: body bytes direct ${BODY_BYTES[direct]}," \
	"forward ${BODY_BYTES[forward]}, forward+hdrs ${BODY_BYTES[fwdhdr]}, proxy ${BODY_BYTES[proxy]}"
echo
echo "/healthz vs bare libfcgi: $(ratio "${RPS[healthz]}" "${RPS[fcgi]}") (bar 0.85x)"
echo "/v1/me (JWT verify) vs bare libfcgi: $(ratio "${RPS[me]}" "${RPS[fcgi]}") (bar 0.75x)"
[ -z "${RPS[user]:-}" ] ||
	echo "/v1/users/{id} (JWT + tenant transaction + query) vs bare libfcgi: $(ratio "${RPS[user]}" "${RPS[fcgi]}") (bar 0.35x)"
echo "/healthz with metrics and access log vs the same with both off:" \
	"$(ratio "${RPS[healthz]}" "${RPS[quiet]}") (bar 0.95x)"
echo "/v1/me with a rate-limit class that never trips vs the same without:" \
	"$(ratio "${RPS[me_rl]}" "${RPS[me]}") (bar 0.7x)"
[ -z "${RPS[row]:-}" ] ||
	echo "single-row read vs bare libfcgi: $(ratio "${RPS[row]}" "${RPS[fcgi]}") (bar 0.35x;" \
		"GET /v1/data/notes/{id}: JWT + tenant transaction + query)"
[ -z "${RPS[list50]:-}" ] ||
	echo "list of 50 rows vs bare libfcgi: $(ratio "${RPS[list50]}" "${RPS[fcgi]}") (no bar;" \
		"GET /v1/data/notes?limit=50)"
[ -z "${RPS[task]:-}" ] ||
	echo "POST /v1/tasks/echo (JWT + insert + Redis push + commit, 202) vs bare libfcgi: $(ratio "${RPS[task]}" "${RPS[fcgi]}") (bar 0.3x)"
[ "$WORKER_TASKS" = 0 ] ||
	echo "gerbang-worker, echo adapter, $THREADS threads: $WORKER_TASKS tasks in ${WORKER_SECS}s," \
		"$(awk -v n="$WORKER_TASKS" -v s="$WORKER_SECS" 'BEGIN { if (s > 0) printf "%.0f", n / s; else printf "-" }') tasks/s (no bar)"
echo "gerbang-proxy vs bare forwarder: $(ratio "${RPS[proxy]}" "${RPS[forward]}") (bar 0.8x)"
echo "gerbang-proxy p99 vs bare forwarder p99: $(ratio "${P99[proxy]}" "${P99[forward]}") (bar <= 1.5x)"
echo "(no bar: gerbang-proxy vs the bare forwarder sending the same headers:" \
	"$(ratio "${RPS[proxy]}" "${RPS[fwdhdr]}"), p99 $(ratio "${P99[proxy]}" "${P99[fwdhdr]}");"
echo " bare forwarder vs nginx direct: $(ratio "${RPS[forward]}" "${RPS[direct]}"))"
echo
GROWTH=$((HEALTH_RSS_END - HEALTH_RSS_IDLE))
echo "gerbang-health RSS (pid $HEALTH_PID, $HEALTH_EXE):"
printf '  %-34s %6s MiB  (bar: RSS idle <= 8 MiB)\n' "idle after start:" "$(mib "$HEALTH_RSS_IDLE")"
printf '  %-34s %s MiB (file: mapped libraries)\n' "  of which" "$HEALTH_RSS_SPLIT"
printf '  %-34s %6s MiB\n' "after the measured /healthz run:" "$(mib "$HEALTH_RSS_WARM")"
printf '  %-34s %6s MiB%s\n' "after $HEALTHZ_SERVED /healthz requests:" "$(mib "$HEALTH_RSS_END")" \
	"${TOPUP_ERRS:+  (top-up runs had errors: $TOPUP_ERRS)}"
printf '  %-34s %6s MiB  (bar: growth < 1 MiB over 200,000 requests)\n' "growth since idle:" "$(mib "$GROWTH")"
printf '  %-34s %6s MiB\n' "growth since the measured run:" "$(mib $((HEALTH_RSS_END - HEALTH_RSS_WARM)))"
[ "$HEALTHZ_SERVED" -ge $RSS_REQUESTS ] || echo "  (only $HEALTHZ_SERVED requests served: growth is not over 200,000)"
echo "bare-fcgi RSS (pid $BARE_PID, for comparison):"
printf '  %-34s %6s MiB\n' "idle after start:" "$(mib "$BARE_RSS_IDLE")" \
	"after its runs:" "$(mib "$BARE_RSS_LOADED")"
echo "gerbang-proxy RSS (pid $PROXY_PID, $PROXY_EXE):"
printf '  %-34s %6s MiB\n' "idle after start (no request yet):" "$(mib "$PROXY_RSS_IDLE")" \
	"after its runs ($PROXY_SERVED requests):" "$(mib "${PROXY_RSS_RUN:-0}")"
echo "bare-forward RSS (pid $FWD_PID, forward, for comparison):"
printf '  %-34s %6s MiB\n' "idle after start:" "$(mib "$FWD_RSS_IDLE")" \
	"after its runs:" "$(mib "$FWD_RSS_LOADED")"
if [ $PERF_DONE = 1 ]; then
	for n in forward proxy; do
		echo
		echo "perf, ${SECS}s of $n ($(awk '/^Requests\/sec:/ { print $2 }' "$B/perf-$n-wrk.txt") req/s under perf):" \
			"share of all samples by process"
		head -n 8 "$B/perf-$n-comm.txt"
		echo "  hottest symbols of $([ $n = proxy ] && echo gerbang-proxy || echo bare-forward)" \
			"(percent of its own samples)"
		head -n 25 "$B/perf-$n-sym.txt"
	done
fi

# --- two hosts against one ------------------------------------------------------------
# tests/scaleout/topology: N gateway hosts in network namespaces sharing one
# PostgreSQL and Redis (a namespace of their own) behind an nginx load
# balancer, as in the scale-out test; wrk through the balancer on GET
# /v1/users/{id} (JWT + tenant transaction + query on the shared database),
# rate limiting off, first with one host, then with two.  Needs root (the
# namespaces); skipped, and said so, without.
topo_rps() {
	local n=$1 lb token uid rc=0
	TOPO_DIR=$B/topology-$n
	printf 'RATE_LIMIT=off\n' >"$B/topology.env"
	TOPOLOGY_QUIET=1 timeout 180 "$SRC/tests/scaleout/topology" up "$TOPO_DIR" --hosts "$n" \
		--build "$BUILD" --env-file "$B/topology.env" >"$B/topology-$n.log" 2>&1 || {
		tail -n 20 "$B/topology-$n.log" >&2
		return 1
	}
	lb=$("$SRC/tests/scaleout/topology" env "$TOPO_DIR" | sed -n 's/^LB_URL=//p')
	token=$(curl -s --max-time 10 "$lb/v1/auth/login" -H 'Content-Type: application/json' \
		-d '{"company":"demo","email":"owner@demo.test","password":"demo-owner-pass"}' |
		sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
	uid=$(curl -s --max-time 10 "$lb/v1/me" -H "Authorization: Bearer $token" |
		sed -n 's/.*"id":"\([0-9a-f-]*\)".*/\1/p' | head -n 1)
	if [ -z "$token" ] || [ -z "$uid" ]; then
		note "no token or user through the balancer of $n host(s) (log: $B/topology-$n.log)"
		rc=1
	else
		HDR[topo]="Authorization: Bearer $token"
		wrk_run topo "$lb/v1/users/$uid" "$WARM" "$B/topo-$n-warm.txt"
		wrk_run topo "$lb/v1/users/$uid" "$SECS" "$B/topo-$n.txt"
		read -r TOPO_RPS _ TOPO_P99 _ TOPO_NON TOPO_SOCK _ <"$B/topo-$n.txt.v"
	fi
	TOPOLOGY_QUIET=1 timeout 60 "$SRC/tests/scaleout/topology" down "$TOPO_DIR" >/dev/null 2>&1 ||
		note "topology down failed ($TOPO_DIR)"
	TOPO_DIR=
	return $rc
}
echo
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
	if topo_rps 1; then
		ONE=$TOPO_RPS ONE_P99=$TOPO_P99 ONE_ERR="$TOPO_NON/$TOPO_SOCK"
		if topo_rps 2; then
			echo "two hosts vs one, GET /v1/users/{id} through an nginx load balancer (network" \
				"namespaces, shared PostgreSQL and Redis): $TOPO_RPS vs $ONE req/s = $(ratio "$TOPO_RPS" "$ONE")" \
				"(p99 $TOPO_P99 vs $ONE_P99 ms; non-2xx/socket errors $TOPO_NON/$TOPO_SOCK vs $ONE_ERR)"
			echo " (no bar: every host, the database, the balancer and wrk share the same $(nproc) CPUs," \
				"so a second host adds processes, not CPU; the ratio shows what spreading costs or gains" \
				"on one machine, not what a second machine adds)"
		else
			echo "two hosts vs one: the two-host topology did not come up or answer (see above)"
		fi
	else
		echo "two hosts vs one: the one-host topology did not come up or answer (see above)"
	fi
else
	echo "two hosts vs one: skipped (needs root for network namespaces)"
fi

