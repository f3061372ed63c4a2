"""lighttpd spawning the programs itself (bin-path) from the shipped config."""
import http.client
import subprocess
import uuid

import pytest

from conftest import envelope_error, free_port
from tenants import claims, jwt_secret, sign


@pytest.fixture(scope="module")
def lighttpd(stack):
    port = free_port()
    stack.ctl("lighttpd-start", "--build", stack.build, "--http-port", port)
    yield port
    stack.ctl("lighttpd-stop")


def alive(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return not any(l.startswith("State:") and "Z" in l.split()[1] for l in f)
    except FileNotFoundError:
        return False


def spawned(stack):
    """The programs the stack's lighttpd spawned (its children)."""
    lpid = (stack.run / "lighttpd.pid").read_text().strip()
    out = subprocess.run(["pgrep", "-P", lpid], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_spawned_program_answers(stack, lighttpd):
    r = stack.get("/healthz", port=lighttpd)
    assert r.status == 200, r
    assert r.json["ok"] is True
    assert r.json["request_id"] == r.header("x-request-id")
    assert r.header("x-content-type-options") == "nosniff"
    assert len(spawned(stack)) >= 1


def test_spawned_program_reaches_dependencies(stack, lighttpd):
    r = stack.get("/readyz", port=lighttpd)
    assert r.status == 200, r
    assert r.json["data"]["checks"]["postgres"]["status"] == "up"


def test_spawned_routes_and_errors(stack, lighttpd):
    assert stack.get("/", port=lighttpd).json["data"]["name"] == "gerbang"
    assert stack.get("/healthz/", port=lighttpd).status == 200
    assert stack.get("/version", port=lighttpd).status == 200
    r = stack.request("POST", "/healthz", body=b"", port=lighttpd)
    envelope_error(r, 405)
    envelope_error(stack.get("/healthz?a=%zz", port=lighttpd), 400)


def test_request_id_through_lighttpd(stack, lighttpd):
    r = stack.get("/healthz", port=lighttpd, headers={"X-Request-Id": "via-lighttpd"})
    assert r.header("x-request-id") == "via-lighttpd"


def test_edge_through_lighttpd(stack, lighttpd):
    """The same edge as behind nginx: each security header once (lighttpd
    sets the same values, replacing, never adding), rate limits, CORS."""
    tok = sign({"alg": "HS256", "typ": "JWT"}, claims(str(uuid.uuid4()), str(uuid.uuid4())),
               jwt_secret(stack))
    conn = http.client.HTTPConnection("127.0.0.1", lighttpd, timeout=15)
    try:
        conn.request("GET", "/v1/me", headers={"Authorization": "Bearer " + tok,
                                                "Origin": "http://localhost:3000"})
        r = conn.getresponse()
        r.read()
        hs = [(k.lower(), v) for k, v in r.getheaders()]
    finally:
        conn.close()
    assert r.status == 200
    for name, value in (("x-content-type-options", "nosniff"),
                        ("referrer-policy", "no-referrer"), ("cache-control", "no-store"),
                        ("access-control-allow-origin", "http://localhost:3000")):
        assert [v for k, v in hs if k == name] == [value], (name, hs)
    assert int(dict(hs)["ratelimit-remaining"]) >= 0
    envelope_error(stack.request("TRACE", "/healthz", port=lighttpd), 405)


def test_data_through_lighttpd(stack, lighttpd):
    """gerbang-data spawned by lighttpd with SCHEMA_DIR from bin-environment:
    the declared notes answer, an undeclared resource is its 404."""
    from tenants import make_company
    _, cid = make_company(stack, "lighttpd")
    tok = sign({"alg": "HS256", "typ": "JWT"}, claims(str(uuid.uuid4()), cid, "owner"),
               jwt_secret(stack))
    auth = {"Authorization": "Bearer " + tok}
    r = stack.request("POST", "/v1/data/notes", port=lighttpd,
                      headers={**auth, "Content-Type": "application/json"},
                      body=b'{"title": "via lighttpd"}')
    assert r.status == 201, r
    assert r.header("etag") == '"1"'
    r = stack.get(r.header("location"), port=lighttpd, headers=auth)
    assert r.status == 200 and r.json["data"]["title"] == "via lighttpd", r
    assert envelope_error(stack.get("/v1/data/nope", port=lighttpd, headers=auth),
                          404)["message"] == "no such resource"


def test_chat_events_stream_through_lighttpd(stack, lighttpd):
    """gerbang-chat spawned by lighttpd: the server-sent events reach curl as
    the model writes them (server.stream-response-body 2 for /v1/chat/)."""
    from test_chat import Chatter, curl_events, events
    a = Chatter(stack)
    lines, rc, head = curl_events(stack, a.token(), "lt", "[drip:300] one two three four",
                                  port=lighttpd)
    assert rc == 0, head
    deltas = [t for t, l in lines if l.startswith("event: delta")]
    assert len(deltas) >= 6 and deltas[-1] - deltas[0] > 1.0, lines
    ev = events(lines)
    assert ev[-1][0] == "done" and ev[-1][1]["ok"] is True
    assert a.rows("lt")[-1] == "assistant|fake answer to: one two three four"


def test_stop_leaves_no_program(stack, lighttpd):
    """Runs last in this module: stopping lighttpd stops what it spawned."""
    children = spawned(stack)
    assert children
    lpid = int((stack.run / "lighttpd.pid").read_text())
    stack.ctl("lighttpd-stop")
    assert not alive(lpid)
    assert [p for p in children if alive(p)] == []

