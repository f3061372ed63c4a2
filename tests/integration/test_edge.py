"""The edge through nginx: CORS, the security headers (each exactly once),
methods, sizes, and slow clients that must not hold the programs' threads.

The stack allows the origins http://localhost:3000 and http://127.0.0.1:3000
(scripts/stack, CORS_ORIGINS)."""
import http.client
import select
import socket
import ssl
import time
import uuid

import pytest

from conftest import envelope_error
from tenants import claims, jwt_secret, sign

ORIGIN = "http://localhost:3000"
EVIL = "https://evil.example"


def raw(stack, method, path, headers=None, https=False, body=None):
    """(status, [(name, value)...], body): every header as sent, duplicates too."""
    if https:
        ctx = ssl.create_default_context(cafile=str(stack.dir / "tls" / "cert.pem"))
        conn = http.client.HTTPSConnection("127.0.0.1", stack.https_port, context=ctx,
                                           timeout=15)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=15)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, [(k.lower(), v) for k, v in r.getheaders()], r.read()
    finally:
        conn.close()


def values(hs, name):
    return [v for k, v in hs if k == name]


def token(stack):
    return sign({"alg": "HS256", "typ": "JWT"},
                claims(str(uuid.uuid4()), str(uuid.uuid4())), jwt_secret(stack))


# ---- security headers --------------------------------------------------------

SECURITY = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}


@pytest.mark.parametrize("https", [False, True])
@pytest.mark.parametrize("method,path", [
    ("GET", "/healthz"),                 # a program
    ("GET", "/v1/me"),                   # a program's 401
    ("GET", "/no/such/thing"),           # nginx's own 404
    ("GET", "/v1/users/not-a-uuid"),     # a program's 404
    ("DELETE", "/healthz"),              # a program's 405
    ("GET", "/v1/plugins/nope"),         # the proxy's 404
])
def test_security_headers_exactly_once(stack, https, method, path):
    status, hs, _ = raw(stack, method, path, https=https)
    assert status < 500, (status, hs)
    for name, value in SECURITY.items():
        assert values(hs, name) == [value], (name, hs)
    hsts = values(hs, "strict-transport-security")
    if https:
        assert len(hsts) == 1 and hsts[0].startswith("max-age="), hs
    else:
        assert hsts == [], hs


@pytest.mark.parametrize("https", [False, True])
def test_proxied_responses_carry_the_gateways_copy_only(stack, https):
    """gerbang-echo sets these headers too: the proxy drops the plugin's."""
    status, hs, _ = raw(stack, "GET", "/v1/plugins/echo/x", https=https,
                        headers={"Authorization": "Bearer " + token(stack),
                                 "Origin": ORIGIN})
    assert status == 200, hs
    for name, value in SECURITY.items():
        assert values(hs, name) == [value], (name, hs)
    assert values(hs, "access-control-allow-origin") == [ORIGIN]
    assert len(values(hs, "strict-transport-security")) == (1 if https else 0)
    assert values(hs, "cache-control") == ["no-store"]


def test_authenticated_responses_are_not_stored(stack):
    status, hs, _ = raw(stack, "GET", "/v1/me",
                        headers={"Authorization": "Bearer " + token(stack)})
    assert status == 200
    assert values(hs, "cache-control") == ["no-store"]
    status, hs, _ = raw(stack, "GET", "/healthz")
    assert "no-store" not in values(hs, "cache-control")


# ---- CORS ----------------------------------------------------------------------

def preflight(stack, origin, method="GET", req_headers="authorization", path="/v1/me"):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if req_headers:
        h["Access-Control-Request-Headers"] = req_headers
    return raw(stack, "OPTIONS", path, headers=h)


def test_preflight_allowed(stack):
    status, hs, body = preflight(stack, ORIGIN, req_headers="authorization, content-type")
    assert status == 204 and body == b"", (status, hs)
    h = dict(hs)
    assert h["access-control-allow-origin"] == ORIGIN
    assert "GET" in h["access-control-allow-methods"]
    assert "authorization" in h["access-control-allow-headers"].lower()
    assert h["access-control-max-age"] == "600"
    assert "origin" in h["vary"].lower()
    assert "access-control-allow-credentials" not in h


@pytest.mark.parametrize("origin", [EVIL, "null", "http://localhost:3000/",
                                    "http://localhost:3001", "HTTP://LOCALHOST:3000",
                                    "http://localhost:3000.evil.example"])
def test_preflight_from_a_foreign_origin_is_refused(stack, origin):
    status, hs, body = preflight(stack, origin)
    assert status == 403, (status, hs)
    assert not any(k.startswith("access-control-") for k, _ in hs), hs
    assert origin.encode() not in body


def test_preflight_asking_for_a_header_not_allowed(stack):
    status, hs, _ = preflight(stack, ORIGIN, req_headers="authorization, x-evil")
    assert status == 403
    assert values(hs, "access-control-allow-origin") == []


def test_preflight_for_a_method_the_path_does_not_answer(stack):
    status, _, _ = preflight(stack, ORIGIN, method="DELETE")
    assert status == 403


def test_actual_request_from_an_allowed_origin(stack):
    status, hs, _ = raw(stack, "GET", "/healthz", headers={"Origin": ORIGIN})
    assert status == 200
    assert values(hs, "access-control-allow-origin") == [ORIGIN]
    assert "x-request-id" in values(hs, "access-control-expose-headers")[0].lower()
    assert "origin" in ",".join(values(hs, "vary")).lower()


def test_actual_request_from_a_foreign_origin_is_not_echoed(stack):
    status, hs, body = raw(stack, "GET", "/healthz", headers={"Origin": EVIL})
    assert status == 200
    assert values(hs, "access-control-allow-origin") == []
    assert not any(EVIL in v for _, v in hs)
    assert "origin" in ",".join(values(hs, "vary")).lower()


def test_plain_options_lists_the_methods(stack):
    status, hs, _ = raw(stack, "OPTIONS", "/v1/users")
    assert status == 204
    allow = values(hs, "allow")[0]
    assert [m.strip() for m in allow.split(",")] == ["GET", "HEAD", "POST", "OPTIONS"]


# ---- methods and sizes ---------------------------------------------------------

@pytest.mark.parametrize("method", ["TRACE", "FOO", "PROPFIND"])
def test_trace_and_unknown_methods_are_405(stack, method):
    status, hs, body = raw(stack, method, "/healthz")
    assert status == 405, (status, body)
    assert values(hs, "content-type")[0].startswith("application/json")
    assert b'"ok":false' in body


def test_body_too_large_is_413(stack):
    status, hs, body = raw(stack, "POST", "/v1/auth/login", body=b"x" * (2 * 1024 * 1024),
                           headers={"Content-Type": "application/json"})
    assert status == 413 and b'"ok":false' in body
    assert values(hs, "x-content-type-options") == ["nosniff"]


def test_uri_too_long_is_414(stack):
    status, _, body = raw(stack, "GET", "/healthz?" + "a" * 16384)
    assert status == 414 and b'"ok":false' in body


def test_headers_too_large_are_431(stack):
    status, _, body = raw(stack, "GET", "/healthz", headers={"X-Big": "b" * 16384})
    assert status == 431 and b'"ok":false' in body


# ---- slow clients --------------------------------------------------------------

def test_slow_clients_do_not_hold_the_programs(stack):
    """More slow clients than gerbang-auth has threads, some dribbling their
    headers and some their body: nginx holds them, the program never sees
    them, and everyone else is answered at once."""
    slow = []
    try:
        for i in range(24):
            s = socket.create_connection(("127.0.0.1", stack.http_port), timeout=5)
            if i % 2:
                s.sendall(b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
            else:
                s.sendall(b"GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append(s)
        time.sleep(0.5)
        for _ in range(3):
            t0 = time.monotonic()
            status, _, _ = raw(stack, "GET", "/v1/me",
                               headers={"Authorization": "Bearer " + token(stack)})
            assert status == 200
            assert time.monotonic() - t0 < 1.0
            status, _, _ = raw(stack, "POST", "/v1/auth/login", body=b"{}",
                               headers={"Content-Type": "application/json"})
            assert status == 422
        # the stalled ones are still waiting on nginx, unanswered
        readable, _, _ = select.select(slow, [], [], 0)
        assert readable == []
    finally:
        for s in slow:
            s.close()
