"""gerbang-health through nginx: routes, envelopes, request ids, hostile input."""
import datetime
import re

import pytest

from conftest import SRC, envelope_error

HEX32 = re.compile(r"[0-9a-f]{32}")


def ok_envelope(r, status=200):
    assert r.status == status, r
    assert r.header("content-type") == "application/json"
    body = r.json
    assert body["ok"] is True
    assert body["request_id"] == r.header("x-request-id")
    return body


def test_welcome(stack):
    body = ok_envelope(stack.get("/"))
    assert body["data"]["name"] == "gerbang"


@pytest.mark.parametrize("path", ["/healthz", "/healthz/"])
def test_healthz(stack, path):
    r = stack.get(path)
    body = ok_envelope(r)
    assert r.header("location") is None
    assert body["data"]["status"] == "ok"
    ts = datetime.datetime.fromisoformat(body["data"]["timestamp"].replace("Z", "+00:00"))
    assert abs((datetime.datetime.now(datetime.timezone.utc) - ts).total_seconds()) < 60


def test_healthz_https(stack):
    r = stack.get("/healthz", https=True)
    ok_envelope(r)
    assert r.header("strict-transport-security").startswith("max-age=")


def test_version(stack):
    want = re.search(r"AC_INIT\(\[gerbang\], \[([^]]+)\]", (SRC / "configure.ac").read_text())[1]
    data = ok_envelope(stack.get("/version"))["data"]
    assert data["version"] == want
    assert data["commit"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["build_time"])


def test_readyz_up(stack):
    data = ok_envelope(stack.get("/readyz"))["data"]
    assert data["status"] == "ready"
    assert data["checks"]["postgres"]["status"] == "up"
    assert data["checks"]["redis"]["status"] == "up"


def test_request_id_kept(stack):
    r = stack.get("/healthz", headers={"X-Request-Id": "client-id_1.2"})
    assert r.header("x-request-id") == "client-id_1.2"
    assert r.json["request_id"] == "client-id_1.2"


@pytest.mark.parametrize("bad", ["a" * 65, "has space", "<script>", "ünï", "a/b", "x;y"])
def test_request_id_replaced(stack, bad):
    r = stack.get("/healthz", headers={"X-Request-Id": bad.encode().decode("latin-1")})
    assert HEX32.fullmatch(r.header("x-request-id")), r.headers
    assert r.json["request_id"] == r.header("x-request-id")


def test_request_id_generated_unique(stack):
    ids = {stack.get("/healthz").header("x-request-id") for _ in range(20)}
    assert len(ids) == 20 and all(HEX32.fullmatch(i) for i in ids)


def test_traceparent_continued_and_logged(stack):
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    rid = "trace-test-1"
    stack.get("/healthz", headers={"X-Request-Id": rid,
                                   "traceparent": f"00-{trace}-00f067aa0ba902b7-01"})
    stack.get("/healthz", headers={"X-Request-Id": "trace-test-2", "traceparent": "00-zz-bad"})
    stack.wait_log("health", lambda l: l.get("request_id") == "trace-test-2")
    lines = {l.get("request_id"): l for l in stack.log_lines("health") if l["msg"] == "request"}
    assert lines[rid]["trace_id"] == trace
    assert HEX32.fullmatch(lines["trace-test-2"]["trace_id"])
    assert lines["trace-test-2"]["trace_id"] != trace


def test_access_log_fields(stack):
    stack.get("/version", headers={"X-Request-Id": "log-fields-1"})
    line = stack.wait_log("health", lambda l: l.get("request_id") == "log-fields-1")
    for key in ("ts", "level", "msg", "service", "request_id", "trace_id", "method",
                "route", "status", "latency_ms", "bytes"):
        assert key in line, (key, line)
    assert line["service"] == "health"
    assert line["route"] == "/version"
    assert line["status"] == 200
    assert line["method"] == "GET"


def test_log_holds_no_secrets(stack):
    secret = "Bearer eyJhbGciOi.secret-token-value"
    stack.request("GET", "/healthz?password=hunter2-secret",
                  headers={"Authorization": secret, "Cookie": "session=cookie-secret"})
    text = (stack.log / "health.log").read_text()
    for s in ("secret-token-value", "hunter2-secret", "cookie-secret"):
        assert s not in text


def test_method_not_allowed(stack):
    r = stack.request("POST", "/healthz", body=b"{}", headers={"Content-Type": "application/json"})
    envelope_error(r, 405)
    assert r.header("allow") == "GET, HEAD, OPTIONS"


def test_head(stack):
    r = stack.request("HEAD", "/healthz")
    assert r.status == 200
    assert r.body == b""
    assert HEX32.fullmatch(r.header("x-request-id"))


@pytest.mark.parametrize("path", ["/nothing", "/healthzz", "/etc/passwd", "/v1/unknown",
                                  "/index.html", "/.gerbang-error/413"])
def test_unknown_paths_are_envelopes(stack, path):
    envelope_error(stack.get(path), 404)


@pytest.mark.parametrize("path", [
    "/healthz?a=%zz",             # bad escape
    "/healthz?a=%00",             # NUL
    "/healthz?%00=1",
    "/healthz/../../etc/passwd",  # above the root
    "/%2e%2e/%2e%2e/healthz",
    "/healthz%2f",                # encoded slash
    "/healthz%00",
    "/healthz%0a",
])
def test_hostile_paths_rejected(stack, path):
    r = stack.get(path)
    assert r.status in (400, 404), r
    envelope_error(r, r.status)


def test_dot_segments_resolve(stack):
    ok_envelope(stack.get("/version/../healthz"))


def test_too_many_query_params(stack):
    envelope_error(stack.get("/healthz?" + "&".join(f"k{i}=v" for i in range(65))), 414)


def test_query_params_at_limit(stack):
    ok_envelope(stack.get("/healthz?" + "&".join(f"k{i}=v" for i in range(64))))


def test_uri_too_long(stack):
    envelope_error(stack.get("/healthz?x=" + "a" * 9000), 414)


def test_headers_too_large(stack):
    envelope_error(stack.get("/healthz", headers={"X-Big": "a" * 9000}), 431)


def test_body_too_large(stack):
    envelope_error(stack.request("POST", "/healthz", body=b"x" * (2 << 20)), 413)


def test_security_headers(stack):
    r = stack.get("/healthz")
    assert r.header("x-content-type-options") == "nosniff"
    assert r.header("referrer-policy") == "no-referrer"
    assert r.header("server") == "nginx"


def test_program_down_is_an_envelope(stack):
    stack.ctl("program-stop", "health")
    try:
        envelope_error(stack.get("/healthz"), 502)
    finally:
        stack.ctl("program-start", "health")
    ok_envelope(stack.get("/healthz"))
