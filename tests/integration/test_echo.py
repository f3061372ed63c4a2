"""gerbang-echo, the reference plugin upstream, on its own nginx server.

Everything goes over HTTP to the stack's echo port, as the proxy would:
the echo of a request, the gateway signature it verifies, and the special
paths the proxy's failure tests rely on (plugins/echo/README.md).
"""
import hashlib
import hmac
import http.client
import json
import threading
import time

import pytest


def echo(stack, method, path, headers=None, body=None, **kw):
    return stack.request(method, path, headers=headers, body=body, port=stack.echo_port, **kw)


def secret(stack):
    return (stack.dir / "plugins" / "echo.secret").read_text().splitlines()[0]


def sign(stack, method, target, body=b"", ts=None, request_id="req-echo-1",
         user_id="", company_id="", role="", key=None):
    """The gateway's headers for a request, signed per the canonical string."""
    ts = str(int(time.time()) if ts is None else ts)
    canonical = "\n".join(["GERBANG-HMAC-SHA256", method, target, ts, request_id,
                           hashlib.sha256(body).hexdigest(), user_id, company_id, role])
    mac = hmac.new((key or secret(stack)).encode(), canonical.encode(), hashlib.sha256)
    headers = {"X-Internal-Timestamp": ts, "X-Request-Id": request_id,
               "X-Internal-Signature": mac.hexdigest()}
    for name, value in (("X-User-Id", user_id), ("X-Company-Id", company_id),
                        ("X-Role", role)):
        if value:
            headers[name] = value
    return headers


def test_echo_reports_the_request_exactly(stack):
    body = b'{"hello": "world", "n": [1, 2, 3]}\x00\xff'
    r = echo(stack, "POST", "/some/deep/path%20x?b=2&a=1&empty=",
             headers={"Content-Type": "application/octet-stream", "X-Custom-Thing": "v 1",
                      "Accept": "application/json"}, body=body)
    assert r.status == 200, r
    assert r.header("content-type") == "application/json"
    j = r.json
    assert j["method"] == "POST"
    assert j["path"] == "/some/deep/path%20x"
    assert j["query"] == "b=2&a=1&empty="
    headers = dict(j["headers"])
    assert headers.pop("host").startswith("127.0.0.1")
    assert headers == {"content-type": "application/octet-stream", "x-custom-thing": "v 1",
                       "accept": "application/json", "content-length": str(len(body))}
    assert j["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert j["body_bytes"] == len(body)
    assert j["signature"] == "absent"
    assert j["trusted_identity"] is None


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "REPORT"])
def test_every_method_on_every_path(stack, method):
    r = echo(stack, method, "/v1/anything/" + method.lower())
    assert r.status == 200, r
    j = r.json
    assert (j["method"], j["path"], j["query"]) == (method, "/v1/anything/" + method.lower(), "")
    assert j["body_bytes"] == 0
    assert j["body_sha256"] == hashlib.sha256(b"").hexdigest()
    assert "content-length" not in j["headers"]


def test_head_answers_without_a_body(stack):
    r = echo(stack, "HEAD", "/x")
    assert r.status == 200 and r.body == b""


def test_root_and_near_special_paths_echo(stack):
    for path in ("/", "/health/", "/slow/", "/status", "/status/200/x", "/bigger"):
        r = echo(stack, "GET", path)
        assert r.status == 200, (path, r)
        assert r.json["path"] == path


def test_a_repeated_header_is_joined(stack):
    conn = http.client.HTTPConnection("127.0.0.1", stack.echo_port, timeout=10)
    try:
        conn.putrequest("GET", "/multi", skip_accept_encoding=True)
        conn.putheader("X-Multi", "one")
        conn.putheader("X-Multi", "two")
        conn.endheaders()
        r = conn.getresponse()
        j = json.loads(r.read())
    finally:
        conn.close()
    assert j["headers"]["x-multi"] == "one, two"


def test_signature_absent_without_headers(stack):
    r = echo(stack, "GET", "/s", headers={"X-User-Id": "u1", "X-Role": "owner"})
    assert r.json["signature"] == "absent"
    assert r.json["trusted_identity"] is None


def test_signature_valid(stack):
    body = b'{"a":1}'
    target = "/orders/42?expand=items&x=%2F"
    h = sign(stack, "POST", target, body, user_id="user-1", company_id="company-9",
             role="member")
    r = echo(stack, "POST", target, headers={**h, "Content-Type": "application/json"},
             body=body)
    j = r.json
    assert j["signature"] == "valid", j
    assert j["trusted_identity"] == {"user_id": "user-1", "company_id": "company-9",
                                     "role": "member"}


def test_signature_valid_without_identity_or_query(stack):
    h = sign(stack, "GET", "/public")
    j = echo(stack, "GET", "/public", headers=h).json
    assert j["signature"] == "valid"
    assert j["trusted_identity"] == {"user_id": "", "company_id": "", "role": ""}


def test_signature_invalid(stack):
    h = sign(stack, "GET", "/x", user_id="u1")
    h["X-Internal-Signature"] = "0" * 64
    j = echo(stack, "GET", "/x", headers=h).json
    assert j["signature"] == "invalid"
    assert j["trusted_identity"] is None


@pytest.mark.parametrize("change", ["key", "method", "target", "body", "user", "company",
                                    "role", "request_id", "no_timestamp", "bad_timestamp"])
def test_signature_over_something_else_is_invalid(stack, change):
    body = b"payload"
    h = sign(stack, "PUT", "/t?q=1", body, user_id="u1", company_id="c1", role="member",
             key="not-the-secret" if change == "key" else None)
    method, target = "PUT", "/t?q=1"
    if change == "method":
        method = "POST"
    elif change == "target":
        target = "/t?q=2"
    elif change == "body":
        body = b"payloaD"
    elif change == "user":
        h["X-User-Id"] = "u2"
    elif change == "company":
        h["X-Company-Id"] = "c2"
    elif change == "role":
        h["X-Role"] = "owner"
    elif change == "request_id":
        h["X-Request-Id"] = "req-echo-2"
    elif change == "no_timestamp":
        del h["X-Internal-Timestamp"]
    elif change == "bad_timestamp":
        h["X-Internal-Timestamp"] += "x"
    j = echo(stack, method, target, headers=h, body=body).json
    assert j["signature"] == "invalid", change
    assert j["trusted_identity"] is None


# 62, not 61: time(2) reads the coarse clock, which may still show the
# previous second when Python's clock has just turned.
@pytest.mark.parametrize("offset", [-3600, -62, 62, 3600])
def test_signature_stale(stack, offset):
    h = sign(stack, "GET", "/old", ts=int(time.time()) + offset, user_id="u1")
    j = echo(stack, "GET", "/old", headers=h).json
    assert j["signature"] == "stale"
    assert j["trusted_identity"] is None


def test_signature_within_the_window(stack):
    h = sign(stack, "GET", "/recent", ts=int(time.time()) - 50)
    assert echo(stack, "GET", "/recent", headers=h).json["signature"] == "valid"


def test_health(stack):
    r = echo(stack, "GET", "/health")
    assert r.status == 200 and r.json == {"status": "ok"}


def test_slow(stack):
    t0 = time.monotonic()
    r = echo(stack, "GET", "/slow?ms=700")
    assert time.monotonic() - t0 >= 0.7
    assert r.status == 200 and r.json["path"] == "/slow" and r.json["query"] == "ms=700"


def test_slow_does_not_hold_up_others(stack):
    done = []
    t = threading.Thread(target=lambda: done.append(echo(stack, "GET", "/slow?ms=1500")))
    t.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    assert echo(stack, "GET", "/health").status == 200
    assert time.monotonic() - t0 < 1.0
    t.join()
    assert done[0].status == 200


@pytest.mark.parametrize("query", ["ms=30001", "ms=-1", "ms=abc", "ms="])
def test_slow_rejects_bad_durations(stack, query):
    r = echo(stack, "GET", "/slow?" + query)
    assert r.status == 400 and "error" in r.json


@pytest.mark.parametrize("code", [200, 201, 400, 401, 403, 404, 418, 429, 500, 502, 503, 504, 599])
def test_status(stack, code):
    r = echo(stack, "POST", f"/status/{code}", body=b"ignored")
    assert r.status == code
    assert r.json == {"status": code}


@pytest.mark.parametrize("code", [204, 304])
def test_status_without_body(stack, code):
    r = echo(stack, "GET", f"/status/{code}")
    assert r.status == code and r.body == b""


@pytest.mark.parametrize("code", ["99", "100", "600", "abc", "2000"])
def test_status_out_of_range(stack, code):
    r = echo(stack, "GET", f"/status/{code}")
    assert r.status == 400 and "error" in r.json


def vm_hwm_kb(stack):
    with open(f"/proc/{stack.pid('echo')}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_big_streams_in_bounded_memory(stack):
    before = vm_hwm_kb(stack)
    n = 64 * 1024 * 1024
    r = echo(stack, "GET", f"/big?bytes={n}", timeout=60)
    assert r.status == 200
    assert r.header("content-type") == "text/plain"
    assert r.header("content-length") == str(n)
    assert len(r.body) == n and r.body.count(b"a") == n
    # 64 MiB went out; the program's peak grew by far less.
    assert vm_hwm_kb(stack) - before < 16 * 1024


@pytest.mark.parametrize("n", [0, 1, 65535, 65536, 65537, 1 << 20])
def test_big_sizes(stack, n):
    r = echo(stack, "GET", f"/big?bytes={n}")
    assert r.status == 200 and r.body == b"a" * n


def test_big_default_and_limit(stack):
    assert len(echo(stack, "GET", "/big").body) == 1 << 20
    r = echo(stack, "GET", f"/big?bytes={64 * 1024 * 1024 + 1}")
    assert r.status == 400 and "error" in r.json


def test_garbage_is_a_502_from_nginx(stack):
    r = echo(stack, "GET", "/garbage")
    assert r.status == 502
    assert b"garbage" not in r.body


def test_set_cookie_and_server_headers(stack):
    r = echo(stack, "GET", "/set-cookie")
    assert r.status == 200 and r.json == {"cookie_set": True}
    assert r.header("set-cookie").startswith("echo_session=")
    assert r.header("server") == "gerbang-echo-internal/1.0"


def test_body_over_the_limit_is_413(stack):
    body = b"x" * (1048576 + 1)
    r = echo(stack, "POST", "/too-big", body=body, headers={"Content-Type": "text/plain"})
    assert r.status == 413 and "error" in r.json
    # the limit itself is fine
    r = echo(stack, "POST", "/just-fits", body=body[:-1])
    assert r.status == 200 and r.json["body_bytes"] == 1048576


def test_the_stack_wrote_the_plugin_registry(stack):
    manifests = {p.name: json.loads(p.read_text()) for p in (stack.dir / "plugins.d").glob("*.json")}
    assert set(manifests) == {"echo.json", "echo-jwt.json"}
    for m in manifests.values():
        assert m["upstream"] == f"http://127.0.0.1:{stack.echo_port}"
    assert manifests["echo.json"]["auth_mode"] == "gateway_verified"
    assert manifests["echo.json"]["secret_file"] == str(stack.dir / "plugins" / "echo.secret")
    assert manifests["echo-jwt.json"]["auth_mode"] == "forward_jwt"
    assert "secret_file" not in manifests["echo-jwt.json"]
    env = dict(line.split("=", 1) for line in stack.ctl("env").stdout.splitlines())
    assert env["PLUGIN_DIR"] == str(stack.dir / "plugins.d")
    assert (stack.dir / "ports").read_text().split() == [
        str(stack.http_port), str(stack.https_port), str(stack.echo_port)]


def test_echo_can_be_stopped_and_started(stack):
    stack.ctl("program-stop", "echo")
    try:
        assert echo(stack, "GET", "/health").status == 502
    finally:
        stack.ctl("program-start", "echo")
    r = echo(stack, "GET", "/health")
    assert r.status == 200
    h = sign(stack, "GET", "/again")
    assert echo(stack, "GET", "/again", headers=h).json["signature"] == "valid"


def test_replayed_request_is_rejected(stack):
    """The same signed request twice inside the window: the second is a
    replay (the cache is keyed by signature, not by the client-chosen
    request id)."""
    body = b'{"pay": 100}'
    h = sign(stack, "POST", "/pay", body, request_id="replay-1", user_id="u", company_id="c",
             role="owner")
    first = echo(stack, "POST", "/pay", headers=h, body=body).json
    second = echo(stack, "POST", "/pay", headers=h, body=body).json
    assert first["signature"] == "valid"
    assert second["signature"] == "replayed"
    assert second["trusted_identity"] is None
    # a fresh signature for the same request is fine
    h2 = sign(stack, "POST", "/pay", body, request_id="replay-2", user_id="u", company_id="c",
              role="owner")
    assert echo(stack, "POST", "/pay", headers=h2, body=body).json["signature"] == "valid"
