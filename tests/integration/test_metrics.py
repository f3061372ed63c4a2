"""gerbang-metrics through nginx: the exposition parses under a strict
parser, counters from requests spread over programs and processes add up
exactly, histograms are consistent, counters survive a restart, /metrics
is restricted; and the access log: sampling, one parseable line per
outcome, no secrets anywhere in any log."""
import http.client
import json
import math
import os
import re
import secrets
import socket
import subprocess
import time
import uuid

import pytest

from conftest import envelope_error
from tenants import Tenant, claims, jwt_secret, login, sign

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*"'
SAMPLE = re.compile(rf"^({NAME})(\{{(?:{LABEL})(?:,{LABEL})*\}})? (\S+)$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"')


def parse(text):
    """Prometheus text format 0.0.4, strictly: {family: {"type", "help",
    "samples": {(name, frozenset(labels)): value}}}."""
    fams, current = {}, None
    assert text.endswith("\n")
    for line in text.splitlines():
        assert line, "an empty line"
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            assert re.fullmatch(NAME, name) and help_, line
            assert name not in fams, f"second HELP for {name}"
            fams[name] = {"help": help_, "type": None, "samples": {}}
            current = name
            continue
        if line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert name == current and fams[name]["type"] is None, line
            assert typ in ("counter", "gauge", "histogram"), line
            fams[name]["type"] = typ
            continue
        assert not line.startswith("#"), line
        m = SAMPLE.match(line)
        assert m, f"not a sample: {line!r}"
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        fam = fams[current]
        assert fam["type"] is not None, f"sample before TYPE: {line}"
        base = current
        if fam["type"] == "histogram":
            assert name in (base + "_bucket", base + "_sum", base + "_count"), line
        else:
            assert name == base, line
        pairs = LABEL_RE.findall(labels)
        assert len({k for k, _ in pairs}) == len(pairs), f"a label twice: {line}"
        key = (name, frozenset(pairs))
        assert key not in fam["samples"], f"a series twice: {line}"
        v = float(value) if value not in ("+Inf", "-Inf", "NaN") else float(value.lower())
        assert not math.isnan(v)
        fam["samples"][key] = v
    for name, fam in fams.items():
        assert fam["type"], f"{name} has no TYPE"
        if fam["type"] == "histogram":
            check_histogram(name, fam["samples"])
    return fams


def check_histogram(name, samples):
    series = {}
    for (n, labels), v in samples.items():
        rest = frozenset((k, x) for k, x in labels if k != "le")
        le = dict(labels).get("le")
        series.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if n.endswith("_bucket"):
            series[rest]["buckets"].append((float(le.replace("+Inf", "inf")), v))
        elif n.endswith("_sum"):
            series[rest]["sum"] = v
        else:
            series[rest]["count"] = v
    for labels, s in series.items():
        b = sorted(s["buckets"])
        assert b and b[-1][0] == math.inf, (name, labels)
        assert all(b[i][1] <= b[i + 1][1] for i in range(len(b) - 1)), (name, labels, b)
        assert b[-1][1] == s["count"], (name, labels, b[-1], s["count"])
        assert s["sum"] is not None and s["sum"] >= 0


def scrape(stack, headers=None):
    r = stack.get("/metrics", headers=headers)
    assert r.status == 200, r
    assert r.header("content-type").startswith("text/plain; version=0.0.4"), r.headers
    return parse(r.body.decode())


def value(fams, family, sample=None, **labels):
    want = frozenset(labels.items())
    return sum(v for (n, l), v in fams.get(family, {"samples": {}})["samples"].items()
               if n == (sample or family) and want <= l)


def healthz_count(fams):
    return value(fams, "gerbang_http_requests_total", service="health", route="/healthz",
                 method="GET", code="200")


def cgi_healthz(stack):
    env = dict(line.split("=", 1) for line in stack.ctl("env").stdout.splitlines())
    env.update({k: v for k, v in os.environ.items()
                if k in ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")})
    env.update({"REQUEST_METHOD": "GET", "REQUEST_URI": "/healthz"})
    p = subprocess.run([str(stack.build / "fcgi" / "gerbang-health")], env=env,
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=30)
    assert p.stdout.startswith(b"Status: 200"), p


def test_exposition_is_strict_and_complete(stack):
    stack.get("/healthz")
    fams = scrape(stack)
    for name, typ in (("gerbang_http_requests_total", "counter"),
                      ("gerbang_http_request_duration_seconds", "histogram"),
                      ("gerbang_db_errors_total", "counter"),
                      ("gerbang_redis_errors_total", "counter"),
                      ("gerbang_metrics_dropped_total", "counter"),
                      ("gerbang_build_info", "gauge")):
        assert fams[name]["type"] == typ, name
    version = stack.get("/version").json["data"]["version"]
    assert value(fams, "gerbang_build_info", version=version) == 1
    # labels are templates, never raw paths or ids
    for (n, labels) in fams["gerbang_http_requests_total"]["samples"]:
        route = dict(labels)["route"]
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", route), route


def test_counts_add_up_over_programs_and_processes(stack):
    before = scrape(stack)
    n_nginx, n_cgi = 37, 5
    for _ in range(n_nginx):
        assert stack.get("/healthz").status == 200
    for _ in range(n_cgi):
        cgi_healthz(stack)                      # other processes, same file
    after = scrape(stack)
    assert healthz_count(after) - healthz_count(before) == n_nginx + n_cgi
    h = "gerbang_http_request_duration_seconds"
    assert (value(after, h, h + "_count", service="health", route="/healthz") -
            value(before, h, h + "_count", service="health", route="/healthz")) == n_nginx + n_cgi


def test_errors_and_methods_are_labelled(stack):
    before = scrape(stack)
    envelope_error(stack.request("DELETE", "/healthz"), 405)
    envelope_error(stack.get("/v1/me"), 401)
    envelope_error(stack.request("PROPFIND", "/v1/me"), 405)
    after = scrape(stack)

    def d(**labels):
        return (value(after, "gerbang_http_requests_total", **labels) -
                value(before, "gerbang_http_requests_total", **labels))
    # no route matched the method: "-", as in the access log
    assert d(service="health", route="-", method="DELETE", code="405") == 1
    assert d(service="auth", route="/v1/me", method="GET", code="401") == 1
    assert d(service="auth", route="-", method="OTHER", code="405") == 1


def test_restart_keeps_the_counters(stack):
    stack.get("/healthz")
    before = healthz_count(scrape(stack))
    stack.ctl("program-stop", "health")
    stack.ctl("program-start", "health")
    stack.get("/healthz")
    assert healthz_count(scrape(stack)) == before + 1


def test_upstream_ratelimit_and_dependency_counters(stack):
    t = Tenant(stack)
    tok = sign({"alg": "HS256", "typ": "JWT"}, claims(t.owner_id, t.id, "owner"),
               jwt_secret(stack))
    before = scrape(stack)
    r = stack.get("/v1/plugins/echo/counted", headers={"Authorization": "Bearer " + tok})
    assert r.status == 200
    stack.ctl("redis-stop")
    try:
        for _ in range(3):      # rate limiting fails open, and counts why
            assert stack.get("/v1/me", headers={"Authorization": "Bearer " + tok}).status == 200
    finally:
        stack.ctl("redis-start")
    stack.get("/v1/me", headers={"Authorization": "Bearer " + tok})
    after = scrape(stack)
    assert (value(after, "gerbang_upstream_requests_total", plugin="echo", code="200") -
            value(before, "gerbang_upstream_requests_total", plugin="echo", code="200")) == 1
    assert value(after, "gerbang_upstream_duration_seconds",
                 "gerbang_upstream_duration_seconds_count", plugin="echo") >= 1
    assert (value(after, "gerbang_ratelimit_decisions_total", decision="allowed") >
            value(before, "gerbang_ratelimit_decisions_total", decision="allowed"))
    assert (value(after, "gerbang_ratelimit_decisions_total", decision="failed_open") -
            value(before, "gerbang_ratelimit_decisions_total", decision="failed_open")) == 3
    assert value(after, "gerbang_redis_errors_total") >= value(before, "gerbang_redis_errors_total") + 3
    assert value(after, "gerbang_circuit_state", plugin="echo") == 0


def test_metrics_only_from_loopback(stack):
    """The shipped location allows 127.0.0.1 and ::1: another address of
    the host (127.0.0.2 here) gets nginx's 403 envelope."""
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", stack.http_port))
    conn = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=10)
    conn.sock = s
    try:
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        body = r.read()
    finally:
        conn.close()
    assert r.status == 403, body
    assert json.loads(body)["ok"] is False


def test_metrics_token(stack):
    token = secrets.token_hex(16)
    stack.ctl("program-stop", "metrics")
    stack.ctl("program-start", "metrics", env={"GERBANG_METRICS_TOKEN": token})
    try:
        r = stack.get("/metrics")
        envelope_error(r, 401)
        assert r.header("www-authenticate").startswith("Bearer")
        envelope_error(stack.get("/metrics", headers={"Authorization": "Bearer " + token[:-1] + "x"}), 401)
        scrape(stack, headers={"Authorization": "Bearer " + token})
    finally:
        stack.ctl("program-stop", "metrics")
        stack.ctl("program-start", "metrics")


def test_access_log_sampling(stack):
    stack.ctl("program-stop", "health")
    stack.ctl("program-start", "health", env={"GERBANG_ACCESS_LOG_SAMPLE": "0"})
    try:
        for i in range(5):
            stack.get("/healthz", headers={"X-Request-Id": f"sampled-out-{i}"})
        stack.request("DELETE", "/healthz", headers={"X-Request-Id": "sampled-error"})
        stack.wait_log("health", lambda l: l.get("request_id") == "sampled-error")
        assert not [l for l in stack.log_lines("health")
                    if str(l.get("request_id", "")).startswith("sampled-out-")]
    finally:
        stack.ctl("program-stop", "health")
        stack.ctl("program-start", "health")


def test_every_outcome_logged_once_and_no_secret_anywhere(stack):
    t = Tenant(stack)
    password = "pw-" + secrets.token_hex(12)
    marker = "body-" + secrets.token_hex(12)
    tok = sign({"alg": "HS256", "typ": "JWT"}, claims(t.owner_id, t.id, "owner"),
               jwt_secret(stack))
    outcomes = {
        "out-200": lambda h: stack.get("/v1/me", headers={**h, "Authorization": "Bearer " + tok}),
        "out-401": lambda h: login(stack, t.slug, t.owner_email, password, headers=h),
        "out-422": lambda h: stack.request("POST", "/v1/users", body=json.dumps(
            {"email": "x", "password": marker}).encode(),
            headers={**h, "Authorization": "Bearer " + tok, "Content-Type": "application/json"}),
        "out-404": lambda h: stack.get(f"/v1/users/{uuid.uuid4()}",
                                       headers={**h, "Authorization": "Bearer " + tok}),
        "out-400": lambda h: stack.request("POST", "/v1/auth/login", body=b"{" + marker.encode(),
                                           headers={**h, "Content-Type": "application/json"}),
    }
    for rid, call in outcomes.items():
        r = call({"X-Request-Id": rid})
        assert str(r.status) == rid[-3:], (rid, r)
    for rid, program in (("out-200", "auth"), ("out-401", "auth"), ("out-422", "users"),
                         ("out-404", "users"), ("out-400", "auth")):
        line = stack.wait_log(program, lambda l, rid=rid: l.get("request_id") == rid)
        assert line["status"] == int(rid[-3:]) and line["msg"] == "request"
        assert len([l for l in stack.log_lines(program) if l.get("request_id") == rid]) == 1
    time.sleep(0.2)
    for f in stack.log.glob("*.log"):
        text = f.read_text(errors="replace")
        for secret in (password, marker, tok, tok.split(".")[2]):
            assert secret not in text, (f.name, secret[:12])
