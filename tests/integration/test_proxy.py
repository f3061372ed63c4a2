"""gerbang-proxy through nginx, forwarding to the reference echo plugin (a
real FastCGI program behind its own nginx server block) and to upstreams a
test makes: spoofing, path escapes, failures, the breaker, reloads."""
import http.client
import json
import socket
import threading
import time

import pytest

from conftest import envelope_error, free_port
from tenants import Tenant, claims, jwt_secret, login, sign


@pytest.fixture(scope="module")
def tenant(stack):
    return Tenant(stack)


@pytest.fixture(scope="module")
def token(stack, tenant):
    return login(stack, tenant.slug, tenant.owner_email, tenant.password).json["data"]["access_token"]


def call(stack, token, path, method="GET", body=None, headers=None):
    h = {"Authorization": f"Bearer {token}"} if token else {}
    h.update(headers or {})
    return stack.request(method, path, body=body, headers=h, timeout=30)


def manifest(stack, name, **over):
    m = {"name": name, "version": "1", "mount": f"/v1/plugins/{name}",
         "upstream": f"http://127.0.0.1:{stack.echo_port}", "auth_mode": "public",
         "timeout_ms": 3000}
    m.update(over)
    return m


def install(stack, name, m, wait_status=None, path=None):
    """Writes a manifest into the stack's PLUGIN_DIR; the proxy notices."""
    d = stack.dir / "plugins.d"
    tmp = d / f".{name}.tmp"
    tmp.write_text(json.dumps(m) if isinstance(m, dict) else m)
    tmp.rename(d / f"{name}.json")
    if wait_status is not None:
        stack.wait_status(path or f"/v1/plugins/{name}/health", wait_status, seconds=10)


def remove(stack, name):
    (stack.dir / "plugins.d" / f"{name}.json").unlink(missing_ok=True)


def test_gateway_verified_signs_identity(stack, tenant, token):
    r = call(stack, token, "/v1/plugins/echo/a/b?x=1&y=%20", method="POST", body=b'{"k":1}',
             headers={"Content-Type": "application/json", "X-Echo-Test": "passed"})
    assert r.status == 200, r
    e = r.json
    assert e["method"] == "POST"
    assert e["path"] == "/a/b"                 # mount prefix stripped
    assert e["query"] == "x=1&y=%20"
    assert e["signature"] == "valid"
    assert e["trusted_identity"] == {"user_id": tenant.owner_id, "company_id": tenant.id,
                                     "role": "owner"}
    assert e["body_bytes"] == 7
    h = e["headers"]
    assert h["x-echo-test"] == "passed"        # listed in forward_headers
    assert h["x-plugin-name"] == "echo"        # inject_headers
    assert h["x-request-id"] == r.header("x-request-id")
    assert h["traceparent"].startswith("00-")
    assert "authorization" not in h            # gateway_verified: the token stays here


@pytest.mark.parametrize("name", ["X-User-Id", "x-user-id", "X-USER-ID", "X-Company-Id",
                                  "X-Role", "X-Internal-Timestamp", "X-Internal-Signature",
                                  "X-Internal-Anything", "x-internal-foo"])
def test_spoofed_identity_headers_are_replaced(stack, tenant, token, name):
    r = call(stack, token, "/v1/plugins/echo/spoof",
             headers={name: "00000000-0000-0000-0000-000000000000"})
    e = r.json
    assert e["signature"] == "valid"
    h = e["headers"]
    for k, v in h.items():
        assert v != "00000000-0000-0000-0000-000000000000", (k, v)
    assert h["x-user-id"] == tenant.owner_id


def test_unlisted_client_headers_do_not_pass(stack, token):
    r = call(stack, token, "/v1/plugins/echo/h", headers={"X-Other": "secret", "Cookie": "c=1"})
    h = r.json["headers"]
    assert "x-other" not in h and "cookie" not in h


def test_forward_jwt_passes_the_token(stack, tenant, token):
    r = call(stack, token, "/v1/plugins/echo-jwt/z")
    assert r.status == 200, r
    e = r.json
    assert e["headers"]["authorization"] == f"Bearer {token}"
    assert e["signature"] == "absent"
    assert "x-user-id" not in e["headers"]


def echo_saw(stack, request_id):
    return request_id in (stack.log / "echo.log").read_text()


@pytest.mark.parametrize("mount", ["echo", "echo-jwt"])
def test_bad_tokens_never_reach_the_plugin(stack, tenant, mount):
    expired = sign({"alg": "HS256"}, claims(tenant.owner_id, tenant.id, iat=1, exp=2),
                   jwt_secret(stack))
    forged = sign({"alg": "HS256"}, claims(tenant.owner_id, tenant.id), b"k" * 32)
    for i, tok in enumerate([None, expired, forged, "garbage"]):
        rid = f"never-{mount}-{i}"
        r = call(stack, tok, f"/v1/plugins/{mount}/x", headers={"X-Request-Id": rid})
        envelope_error(r, 401)
        assert not echo_saw(stack, rid)


@pytest.mark.parametrize("path,status", [
    ("/v1/plugins/echo/../../v1/users", 404),
    ("/v1/plugins/echo/%2e%2e/%2e%2e/v1/users", 404),
    ("/v1/plugins/echo/%2e%2e/echo-jwt/x", None),     # resolves to another mount: its rules
    ("/v1/plugins/echo/a%2fb", 400),
    ("/v1/plugins/echo/a%00", 400),
    ("/v1/plugins/echo/a%0ab", 400),
    ("/v1/plugins/echox", 404),
])
def test_path_escapes(stack, token, path, status):
    r = call(stack, token, path)
    if status is None:
        assert r.status == 200 and r.json["headers"].get("authorization"), r
    else:
        envelope_error(r, status)


def test_double_encoding_stays_inside_the_mount(stack, token):
    r = call(stack, token, "/v1/plugins/echo/%252e%252e/x")
    assert r.status == 200, r
    assert r.json["path"] == "/%252e%252e/x"


def test_set_cookie_and_server_are_not_passed(stack, token):
    r = call(stack, token, "/v1/plugins/echo/set-cookie")
    assert r.status == 200
    assert r.header("set-cookie") is None
    assert r.header("server") == "nginx"


def test_upstream_status_passes_through(stack, token):
    r = call(stack, token, "/v1/plugins/echo/status/418")
    assert r.status == 418


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def test_large_download_streams_with_bounded_memory(stack, token):
    pid = stack.pid("proxy")
    call(stack, token, "/v1/plugins/echo/big?bytes=1048576")       # warm every path
    before = rss_kib(pid)
    for _ in range(2):
        r = call(stack, token, "/v1/plugins/echo/big?bytes=33554432")
        assert r.status == 200
        assert len(r.body) == 33554432 and r.body[:1] == b"a"
    # 64 MiB went through; the proxy held no more than a few buffers of it
    assert rss_kib(pid) - before < 8 * 1024, (before, rss_kib(pid))


def test_slow_upstream_is_504(stack, token):
    t0 = time.monotonic()
    envelope_error(call(stack, token, "/v1/plugins/echo/slow?ms=8000"), 504)
    assert time.monotonic() - t0 < 7.5          # timeout_ms 5000 in the manifest


def test_body_over_max_is_413(stack, token):
    envelope_error(call(stack, token, "/v1/plugins/echo/x", method="POST",
                        body=b"x" * (1048576 + 1)), 413)


def test_roles_are_enforced(stack, tenant):
    install(stack, "owners", manifest(stack, "owners", auth_mode="forward_jwt",
                                       roles=["owner"]))
    member = login(stack, tenant.slug, tenant.member_email, tenant.password).json["data"]["access_token"]
    owner = login(stack, tenant.slug, tenant.owner_email, tenant.password).json["data"]["access_token"]
    try:
        deadline = time.monotonic() + 10
        while call(stack, owner, "/v1/plugins/owners/x").status == 404 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert call(stack, owner, "/v1/plugins/owners/x").status == 200
        envelope_error(call(stack, member, "/v1/plugins/owners/x"), 403)
    finally:
        remove(stack, "owners")


def test_upstream_down_is_502_and_the_breaker_opens(stack):
    port = free_port()          # nothing listens there
    install(stack, "down", manifest(stack, "down", upstream=f"http://127.0.0.1:{port}",
                                     circuit_breaker={"failure_threshold": 2, "open_ms": 1500,
                                                      "half_open_max": 1}))
    try:
        deadline = time.monotonic() + 10
        r = stack.get("/v1/plugins/down/x")
        while r.status == 404 and time.monotonic() < deadline:
            time.sleep(0.2)
            r = stack.get("/v1/plugins/down/x")
        body = envelope_error(r, 502)
        assert "127.0.0.1" not in json.dumps(body)          # no upstream detail
        envelope_error(stack.get("/v1/plugins/down/x"), 502)
        r = stack.get("/v1/plugins/down/x")
        envelope_error(r, 503)                               # open: fails fast
        assert r.header("retry-after") == "2"
        time.sleep(1.7)
        envelope_error(stack.get("/v1/plugins/down/x"), 502)  # the half-open probe
        envelope_error(stack.get("/v1/plugins/down/x"), 503)  # reopened
    finally:
        remove(stack, "down")


class RawUpstream:
    """A plugin upstream on a socket of the test's, answering every request
    with the bytes of reply(): garbage, or a response cut short or stalled."""

    def __init__(self, reply):
        self.reply = reply
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.srv.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.srv.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    for part in self.reply():
                        if isinstance(part, (int, float)):
                            self.stop.wait(part)        # a stall, bounded
                        else:
                            conn.sendall(part)
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        self.thread.join(10)
        self.srv.close()


def first_answer(stack, path, seconds=10):
    """The first answer of the proxy to path that is not the 404 of a
    manifest it has not loaded yet."""
    deadline = time.monotonic() + seconds
    r = stack.get(path)
    while r.status == 404 and time.monotonic() < deadline:
        time.sleep(0.2)
        r = stack.get(path)
    return r


def test_garbage_upstream_is_502(stack):
    up = RawUpstream(lambda: [b"\x00\x01garbage\r\n\r\nnot http at all"])
    install(stack, "junk", manifest(stack, "junk", upstream=f"http://127.0.0.1:{up.port}"))
    try:
        envelope_error(first_answer(stack, "/v1/plugins/junk/x"), 502)
    finally:
        remove(stack, "junk")
        up.close()


def test_stalled_upstream_504_carries_none_of_its_headers(stack):
    """Headers came, then nothing: the 504 envelope is ours alone."""
    up = RawUpstream(lambda: [b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                              b"Content-Length: 100\r\nX-Leak: upstream\r\n\r\n", 3.0])
    install(stack, "stall", manifest(stack, "stall", upstream=f"http://127.0.0.1:{up.port}",
                                     timeout_ms=1000))
    try:
        r = first_answer(stack, "/v1/plugins/stall/x")
        envelope_error(r, 504)
        assert r.header("x-leak") is None
        assert int(r.header("content-length")) == len(r.body)
    finally:
        remove(stack, "stall")
        up.close()


def test_upstream_content_length_passes_and_a_cut_body_shows(stack, token):
    r = call(stack, token, "/v1/plugins/echo/len")
    assert r.status == 200
    assert r.header("transfer-encoding") is None
    assert int(r.header("content-length")) == len(r.body)

    up = RawUpstream(lambda: [b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                              b"Content-Length: 100\r\nConnection: close\r\n\r\n0123456789"])
    install(stack, "cut", manifest(stack, "cut", upstream=f"http://127.0.0.1:{up.port}"))
    try:
        deadline = time.monotonic() + 10
        while True:         # until the proxy has the manifest: then reading fails
            try:
                r = stack.get("/v1/plugins/cut/x")
            except http.client.IncompleteRead as e:
                assert e.partial == b"0123456789"
                break
            assert r.status == 404 and time.monotonic() < deadline, r
            time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", stack.http_port), timeout=10) as s:
            s.sendall(b"GET /v1/plugins/cut/x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Connection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        assert b" 200 " in head.split(b"\r\n")[0]
        assert b"content-length: 100" in head.lower()
        assert b"transfer-encoding" not in head.lower()
        # the client can tell: 10 bytes of the 100 announced, then the close
        assert body == b"0123456789"
    finally:
        remove(stack, "cut")
        up.close()


def test_bad_manifest_keeps_the_last_good_registry(stack, token):
    install(stack, "broken", '{"name": "broken", "mount": "/v1/plugins/broken", "bogus": 1}')
    try:
        time.sleep(1)
        assert call(stack, token, "/v1/plugins/echo/still").status == 200
        log = (stack.log / "proxy.log").read_text()
        assert "keeping the last good one" in log and "bogus" in log
    finally:
        remove(stack, "broken")


def test_unknown_mount_is_404(stack):
    envelope_error(stack.get("/v1/plugins/nothing-here/x"), 404)


def test_head_and_methods(stack, token):
    r = call(stack, token, "/v1/plugins/echo/m", method="HEAD")
    assert r.status == 200 and r.body == b""
    for m in ("PUT", "PATCH", "DELETE", "OPTIONS"):
        r = call(stack, token, "/v1/plugins/echo/m", method=m, body=b"abc" if m != "OPTIONS" else None)
        assert r.status == 200 and r.json["method"] == m, (m, r)


def test_access_log_names_the_upstream(stack, token):
    call(stack, token, "/v1/plugins/echo/logged", headers={"X-Request-Id": "proxy-log-1"})
    line = stack.wait_log("proxy", lambda l: l.get("request_id") == "proxy-log-1")
    assert line["upstream"] == "echo" and line["status"] == 200
    assert line["route"] == "/{*path}"


def test_readyz_reports_plugins(stack):
    data = stack.get("/readyz").json["data"]
    assert data["status"] == "ready"
    assert data["checks"]["plugin:echo"]["status"] == "up"
    stack.ctl("program-stop", "echo")
    try:
        r = stack.get("/readyz")
        assert r.status == 200, r               # degraded, still serving
        assert r.json["message"] == "ready, some plugins are down"
        assert r.json["data"]["status"] == "degraded"
        assert r.json["data"]["checks"]["plugin:echo"]["status"] == "unreachable"
        assert r.json["data"]["checks"]["postgres"]["status"] == "up"
    finally:
        stack.ctl("program-start", "echo")
    assert stack.get("/readyz").json["data"]["status"] == "ready"


def test_sighup_reloads(stack, token):
    import os
    import signal
    d = stack.dir / "plugins.d"
    before = (stack.log / "proxy.log").read_text().count("plugin registry loaded")
    os.kill(stack.pid("proxy"), signal.SIGHUP)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if (stack.log / "proxy.log").read_text().count("plugin registry loaded") > before:
            break
        time.sleep(0.1)
    assert '"why":"SIGHUP"' in (stack.log / "proxy.log").read_text()
    assert call(stack, token, "/v1/plugins/echo/after-hup").status == 200
    assert d.exists()


def test_retry_after_a_refused_connection(stack, token):
    """An idempotent request is retried when the connection fails before any
    answer; here the upstream comes up between the attempts."""
    port = free_port()
    install(stack, "late", manifest(stack, "late", upstream=f"http://127.0.0.1:{port}",
                                     retries=2))
    srv = None
    try:
        deadline = time.monotonic() + 10
        while stack.get("/v1/plugins/late/x").status == 404 and time.monotonic() < deadline:
            time.sleep(0.2)
        result = {}

        def slow_request():
            result["r"] = stack.get("/v1/plugins/late/x")

        # start a tiny HTTP server shortly after the first attempt failed
        t = threading.Thread(target=slow_request)
        t.start()
        time.sleep(0.02)
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen(4)
        srv.settimeout(5)
        try:
            conn, _ = srv.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: 2\r\nConnection: close\r\n\r\nok")
        except OSError:
            pass
        t.join(10)
        assert result["r"].status == 200 and result["r"].body == b"ok", result
        assert "upstream failed" in (stack.log / "proxy.log").read_text()
    finally:
        remove(stack, "late")
        if srv is not None:
            srv.close()


def test_post_is_never_retried(stack, token):
    port = free_port()
    install(stack, "noretry", manifest(stack, "noretry", upstream=f"http://127.0.0.1:{port}",
                                        retries=3))
    try:
        deadline = time.monotonic() + 10
        while stack.get("/v1/plugins/noretry/x").status == 404 and time.monotonic() < deadline:
            time.sleep(0.2)
        rid = "no-retry-post-1"
        envelope_error(stack.request("POST", "/v1/plugins/noretry/x", body=b"{}",
                                     headers={"X-Request-Id": rid}), 502)
        fails = [l for l in (stack.log / "proxy.log").read_text().splitlines()
                 if rid in l and "upstream failed" in l]
        assert len(fails) == 1, fails
    finally:
        remove(stack, "noretry")


def test_large_upload_streams_with_forward_jwt(stack, token):
    body = b"u" * (800 * 1024)
    r = call(stack, token, "/v1/plugins/echo-jwt/up", method="PUT", body=body,
             headers={"Content-Type": "application/octet-stream"})
    assert r.status == 200, r
    import hashlib
    assert r.json["body_bytes"] == len(body)
    assert r.json["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_client_disconnect_frees_the_thread(stack, token):
    """Clients that hang up mid-download do not keep the proxy's threads:
    more of them than there are threads, then a normal request answers."""
    for _ in range(8):
        s = socket.create_connection(("127.0.0.1", stack.http_port), timeout=5)
        s.sendall(f"GET /v1/plugins/echo/big?bytes=67108864 HTTP/1.1\r\nHost: x\r\n"
                  f"Authorization: Bearer {token}\r\n\r\n".encode())
        s.recv(4096)
        s.close()
    t0 = time.monotonic()
    r = call(stack, token, "/v1/plugins/echo/after")
    assert r.status == 200
    assert time.monotonic() - t0 < 5


def test_upstream_connections_are_kept_alive(stack):
    """Each proxy thread keeps its upstream connection: 40 requests in a row
    open at most one connection per thread, not one each."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    port = srv.getsockname()[1]
    accepted = []
    stop = threading.Event()

    def handle(conn):
        buf = b""
        with conn:
            conn.settimeout(5)
            while not stop.is_set():
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while b"\r\n\r\n" in buf:
                    _, buf = buf.split(b"\r\n\r\n", 1)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                 b"Content-Length: 2\r\n\r\nok")

    def serve():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            accepted.append(1)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    install(stack, "alive", manifest(stack, "alive", upstream=f"http://127.0.0.1:{port}"))
    try:
        deadline = time.monotonic() + 10
        while stack.get("/v1/plugins/alive/x").status == 404 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(accepted) >= 1          # the warm-up went through
        accepted.clear()
        for _ in range(40):
            r = stack.get("/v1/plugins/alive/x")
            assert r.status == 200 and r.body == b"ok"
        threads = int(open(f"/proc/{stack.pid('proxy')}/status").read()
                      .split("Threads:")[1].split()[0])
        assert len(accepted) <= threads, (len(accepted), threads)
    finally:
        remove(stack, "alive")
        stop.set()
        t.join(5)
        srv.close()
