"""Rate limiting through nginx with the real Redis: token buckets shared by
programs and processes, their headers, login throttling, SCRIPT FLUSH and
Redis dying under load for each fail policy.

The module restarts gerbang-auth, gerbang-users and gerbang-proxy with a
RATE_LIMIT_FILE of tight classes and TRUSTED_PROXIES=127.0.0.1 (so a test
can be a client of its own address through X-Forwarded-For), and puts the
stack's own settings back at the end.  Each test uses identities or
addresses of its own, so no two share a bucket by accident.
"""
import json
import os
import secrets
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import envelope_error
from tenants import Tenant, claims, jwt_secret, login, sign

PROGRAMS = ("auth", "users", "proxy")
NEVER = 0.0001          # tokens per second: no refill within a test
CAPACITY = 10


def restart(stack, env=None):
    for p in PROGRAMS:
        stack.ctl("program-stop", p)
        stack.ctl("program-start", p, env=env or {})


def redis(stack, *args):
    p = subprocess.run(["redis-cli", "-s", str(stack.run / "redis.sock"), *args],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


@pytest.fixture(scope="module")
def limits(stack):
    """The tight classes, and a company whose default class is overridden."""
    fast = Tenant(stack)
    path = stack.dir / "ratelimit-test.json"
    path.write_text(json.dumps({
        "classes": {
            "default": {"rate": NEVER, "capacity": CAPACITY},
            "login_ip": {"rate": NEVER, "capacity": 5},
            "login_account": {"rate": NEVER, "capacity": 3},
        },
        "companies": {fast.id: {"default": {"rate": 2, "capacity": 4}}},
    }))
    env = {"GERBANG_RATE_LIMIT_FILE": str(path), "GERBANG_TRUSTED_PROXIES": "127.0.0.1",
           "GERBANG_REDIS_TIMEOUT_MS": "200"}
    restart(stack, env)
    yield {"env": env, "fast": fast}
    restart(stack)


def token(stack, cid=None, sub=None, role="member"):
    return sign({"alg": "HS256", "typ": "JWT"},
                claims(sub or str(uuid.uuid4()), cid or str(uuid.uuid4()), role),
                jwt_secret(stack))


def me(stack, tok, **kw):
    return stack.get("/v1/me", headers={"Authorization": "Bearer " + tok}, **kw)


def test_fifty_parallel_requests_get_exactly_the_capacity(stack, limits):
    tok = token(stack)
    with ThreadPoolExecutor(50) as pool:
        rs = list(pool.map(lambda _: me(stack, tok), range(50)))
    ok = [r for r in rs if r.status == 200]
    refused = [r for r in rs if r.status == 429]
    assert len(ok) == CAPACITY and len(refused) == 50 - CAPACITY, [r.status for r in rs]
    # each admitted request saw its own count
    assert sorted(int(r.header("ratelimit-remaining")) for r in ok) == list(range(CAPACITY))
    for r in refused:
        body = envelope_error(r, 429)
        assert body["message"] == "rate limit exceeded"
        assert int(r.header("retry-after")) >= 1
        assert r.header("ratelimit-remaining") == "0"


def test_headers_count_down(stack, limits):
    tok = token(stack)
    for want in range(CAPACITY - 1, CAPACITY - 4, -1):
        r = me(stack, tok)
        assert r.status == 200, r
        assert r.header("ratelimit-limit") == str(CAPACITY)
        assert r.header("ratelimit-remaining") == str(want)
        # seconds until full: the missing tokens at NEVER tokens a second
        missing = CAPACITY - want
        assert abs(int(r.header("ratelimit-reset")) - missing / NEVER) <= 2, r.headers
    for _ in range(CAPACITY - 3):
        assert me(stack, tok).status == 200
    r = me(stack, tok)
    envelope_error(r, 429)
    # the wait for one token
    assert abs(int(r.header("retry-after")) - 1 / NEVER) <= 2, r.headers


def test_refill_matches_the_rate_and_company_overrides(stack, limits):
    """The overriding company's class: 2 tokens a second, 4 at most."""
    t = limits["fast"]
    tok = token(stack, cid=t.id)
    rs = [me(stack, tok) for _ in range(6)]
    assert [r.status for r in rs] == [200] * 4 + [429] * 2
    assert rs[0].header("ratelimit-limit") == "4"
    time.sleep(1.5)                       # 3 tokens at 2 a second
    statuses = []
    for _ in range(6):
        statuses.append(me(stack, tok).status)
    admitted = statuses.count(200)
    assert 3 <= admitted <= 4 and statuses[:3] == [200] * 3, statuses
    assert statuses[-1] == 429


def test_two_programs_share_one_bucket(stack, limits):
    t = Tenant(stack)
    tok = token(stack, cid=t.id, sub=t.owner_id, role="owner")
    for i in range(CAPACITY):
        if i % 2:
            r = me(stack, tok)
        else:
            r = stack.get(f"/v1/users/{t.owner_id}", headers={"Authorization": "Bearer " + tok})
        assert r.status == 200, r
    envelope_error(me(stack, tok), 429)
    envelope_error(stack.get(f"/v1/users/{t.owner_id}",
                             headers={"Authorization": "Bearer " + tok}), 429)


def cgi_me(stack, tok):
    """One /v1/me answered by a gerbang-auth process of its own (plain CGI)."""
    env = dict(line.split("=", 1) for line in
               stack.ctl("env", env={"GERBANG_RATE_LIMIT_FILE":
                                     limits_path(stack)}).stdout.splitlines())
    env.update({k: v for k, v in os.environ.items()
                if k in ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")})
    env.update({"REQUEST_METHOD": "GET", "REQUEST_URI": "/v1/me",
                "REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": "Bearer " + tok})
    p = subprocess.run([str(stack.build / "fcgi" / "gerbang-auth")], env=env,
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=30)
    assert p.returncode == 0, p.stderr
    head = p.stdout.split(b"\r\n\r\n", 1)[0].decode()
    return int(head.split()[1])


def limits_path(stack):
    return str(stack.dir / "ratelimit-test.json")


def test_two_processes_share_one_bucket(stack, limits):
    tok = token(stack)
    statuses = []
    for i in range(CAPACITY):
        statuses.append(cgi_me(stack, tok) if i % 2 else me(stack, tok).status)
    assert statuses == [200] * CAPACITY
    assert cgi_me(stack, tok) == 429
    assert me(stack, tok).status == 429


def test_anonymous_clients_are_limited_by_address(stack, limits):
    """Spraying one password over many accounts from one address stops at
    login_ip's capacity; another address is not affected."""
    spray = {"X-Forwarded-For": "203.0.113.10"}
    for i in range(5):
        r = login(stack, "demo", f"nobody{i}-{secrets.token_hex(3)}@demo.test", "guess",
                  headers=spray)
        envelope_error(r, 401)
    r = login(stack, "demo", "someone-else@demo.test", "guess", headers=spray)
    envelope_error(r, 429)
    assert int(r.header("retry-after")) >= 1
    envelope_error(login(stack, "demo", "x@demo.test", "guess",
                         headers={"X-Forwarded-For": "203.0.113.11"}), 401)


@pytest.mark.parametrize("known", [True, False])
def test_guessing_one_account_from_many_addresses(stack, limits, known):
    """login_account holds for an account however many addresses guess, and
    for an account that does not exist just the same."""
    t = Tenant(stack)
    email = t.member_email if known else f"ghost-{secrets.token_hex(3)}@{t.slug}.test"
    for i in range(3):
        r = login(stack, t.slug, email, "wrong-" + str(i),
                  headers={"X-Forwarded-For": f"198.51.100.{20 + i}"})
        envelope_error(r, 401)
    # the right password too, from yet another address, and the email's case
    r = login(stack, t.slug, email.upper(), t.password,
              headers={"X-Forwarded-For": "198.51.100.99"})
    body = envelope_error(r, 429)
    assert body["message"] == "rate limit exceeded"


def test_spoofed_forwarded_for_changes_nothing(stack, limits):
    """Behind a trusted proxy, the right-most untrusted address counts: what
    a client writes to the left of it is ignored."""
    for i in range(5):
        r = login(stack, "demo", f"a{i}@demo.test", "x",
                  headers={"X-Forwarded-For": f"10.{i}.0.1, 192.0.2.77"})
        envelope_error(r, 401)
    envelope_error(login(stack, "demo", "b@demo.test", "x",
                         headers={"X-Forwarded-For": "1.2.3.4, 192.0.2.77"}), 429)
    assert redis(stack, "exists", "gerbang:rl:login_ip:ip:192.0.2.77") == "1"
    assert redis(stack, "exists", "gerbang:rl:login_ip:ip:1.2.3.4") == "0"


def test_untrusted_peer_forwarded_for_is_ignored(stack, limits):
    """Trusting no proxy, X-Forwarded-For is ignored: whatever it says, the
    bucket is the peer's address."""
    restart(stack, {**limits["env"], "GERBANG_TRUSTED_PROXIES": ""})
    try:
        for i in range(5):
            r = login(stack, "demo", f"c{i}@demo.test", "x",
                      headers={"X-Forwarded-For": f"192.0.2.{200 + i}"})
            envelope_error(r, 401)
        envelope_error(login(stack, "demo", "d@demo.test", "x",
                             headers={"X-Forwarded-For": "192.0.2.250"}), 429)
        assert redis(stack, "exists", "gerbang:rl:login_ip:ip:192.0.2.200") == "0"
        assert redis(stack, "exists", "gerbang:rl:login_ip:ip:127.0.0.1") == "1"
    finally:
        redis(stack, "del", "gerbang:rl:login_ip:ip:127.0.0.1")
        restart(stack, limits["env"])


def test_script_flush_during_traffic(stack, limits):
    """SCRIPT FLUSH between batches of parallel requests: each batch after a
    flush takes the NOSCRIPT path, and the bucket still counts exactly."""
    tok = token(stack)
    rs = []
    with ThreadPoolExecutor(3) as pool:
        for _ in range(CAPACITY):
            assert redis(stack, "script", "flush") == "OK"
            rs += list(pool.map(lambda _: me(stack, tok), range(3)))
    statuses = [r.status for r in rs]
    assert statuses.count(200) == CAPACITY and statuses.count(429) == 2 * CAPACITY, statuses


def outage(stack, tok, want, seconds):
    """Requests while Redis cannot answer: each within seconds, all want."""
    with ThreadPoolExecutor(8) as pool:
        def one(_):
            t0 = time.monotonic()
            r = me(stack, tok, timeout=10)
            return r, time.monotonic() - t0
        results = list(pool.map(one, range(16)))
    for r, took in results:
        assert took < seconds, (took, r)
        assert r.status == want, r
        assert r.header("ratelimit-limit") is None      # nothing known to tell
    return [r for r, _ in results]


@pytest.mark.parametrize("policy", ["open", "closed"])
def test_redis_stopped_killed_restarted_under_load(stack, limits, policy):
    restart(stack, {**limits["env"], "GERBANG_RATE_LIMIT_FAIL": policy})
    pid = stack.pid("auth")
    tok = token(stack)
    want = 200 if policy == "open" else 503
    try:
        assert me(stack, tok).status == 200
        stack.ctl("redis-pause")
        try:
            rs = outage(stack, tok, want, 2.0)
        finally:
            stack.ctl("redis-resume")
        stack.ctl("redis-stop")
        rs += outage(stack, tok, want, 2.0)
        if policy == "closed":
            for r in rs:
                body = envelope_error(r, 503)
                assert body["message"] == "rate limiter unavailable"
                assert r.header("retry-after") == "1"
    finally:
        stack.ctl("redis-start")
    # back by itself, no program restarted.  A new caller: Redis keeps its
    # data across the restart (appendonly, for the task queue), and the takes
    # sent while it was paused may have spent the old caller's bucket.
    tok = token(stack)
    deadline = time.monotonic() + 10
    while True:
        r = me(stack, tok)
        if r.status == 200 and r.header("ratelimit-limit") == str(CAPACITY):
            break
        assert time.monotonic() < deadline, r
        time.sleep(0.1)
    assert stack.pid("auth") == pid
    warnings = [l for l in stack.log_lines("auth") if l["msg"] == "rate limiter unavailable"]
    assert warnings and warnings[-1]["policy"] == policy
    restart(stack, limits["env"])
