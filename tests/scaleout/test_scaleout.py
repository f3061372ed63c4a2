"""Several gateway hosts behind a load balancer, sharing PostgreSQL and
Redis (conftest.py, topology): what must hold across hosts.

The tests run in this file's order, which matters: the disabled user's
access token is taken early and checked for expiry after the task run, so
that waiting for it costs little, and the host is killed last."""
import collections
import concurrent.futures
import json
import threading
import time
import uuid

import pytest

from conftest import ACCESS_TOKEN_TTL_S, HOSTS, RL_CAPACITY
from tenants import b64url_decode, claims, jwt_secret, make_company, make_user, psql, q, sign

PASSWORD = "scale-out-pass-1"


def token(topo, cid, sub=None, role="member", ttl=600):
    now = int(time.time())
    return sign({"alg": "HS256", "typ": "JWT"},
                claims(sub or str(uuid.uuid4()), cid, role, exp=now + ttl), jwt_secret(topo))


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def refresh(topo, rt, host):
    return topo.post_json("/v1/auth/refresh", {"refresh_token": rt}, host=host)


def login(topo, slug, email, host, password=PASSWORD):
    return topo.post_json("/v1/auth/login", {"company": slug, "email": email,
                                             "password": password}, host=host)


def refused(r, status=401):
    assert r.status == status, r
    assert r.json["ok"] is False, r
    return r


def payload(access_token):
    return json.loads(b64url_decode(access_token.split(".")[1]))


def wait_until(what, predicate, seconds, step=0.25):
    deadline = time.monotonic() + seconds
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds}s")
        time.sleep(step)


# ---- (1) one client's rate limit holds across hosts --------------------------------------------------

def test_one_clients_bucket_is_shared_by_every_host(topo):
    user = str(uuid.uuid4())
    tok = token(topo, topo.rl_company, user)
    # round-robin straight to the hosts, one after another: the bucket
    # counts down across them, and is empty for all of them at once
    rs = [topo.request("GET", "/v1/me", headers=bearer(tok), host=i % HOSTS)
          for i in range(3 * RL_CAPACITY)]
    assert [r.status for r in rs] == [200] * RL_CAPACITY + [429] * (2 * RL_CAPACITY), \
        [r.status for r in rs]
    assert [int(r.header("ratelimit-remaining")) for r in rs[:RL_CAPACITY]] == \
        list(range(RL_CAPACITY - 1, -1, -1))
    for r in rs:
        assert r.header("ratelimit-limit") == str(RL_CAPACITY), r.headers
    for r in rs[RL_CAPACITY:]:
        refused(r, 429)
        assert int(r.header("retry-after")) > 0
    # each host admitted some and refused some
    for h in range(HOSTS):
        mine = rs[h::HOSTS]
        assert {r.status for r in mine} == {200, 429}
    # one bucket in the shared Redis, for the company and user
    keys = topo.redis("--scan", "--pattern", f"gerbang:rl:*{user}*").split()
    assert len(keys) == 1, keys


def test_a_concurrent_burst_across_hosts_gets_exactly_the_capacity(topo):
    tok = token(topo, topo.rl_company)
    n = 5 * RL_CAPACITY
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        # hosts h1..hN and the load balancer in turn
        rs = list(ex.map(lambda i: topo.request("GET", "/v1/me", headers=bearer(tok),
                                                host=None if i % (HOSTS + 1) == HOSTS
                                                else i % (HOSTS + 1)), range(n)))
    statuses = collections.Counter(r.status for r in rs)
    assert statuses == {200: RL_CAPACITY, 429: n - RL_CAPACITY}, statuses


# ---- (2) revocation is seen by every host at once -------------------------------------------------------

@pytest.fixture(scope="module")
def account(topo):
    slug, cid = make_company(topo, "scale")
    email = f"user-{uuid.uuid4().hex[:8]}@scale.test"
    uid = make_user(topo, cid, email, PASSWORD, role="member")
    return {"slug": slug, "cid": cid, "email": email, "id": uid}


def test_a_refresh_token_revoked_on_one_host_is_refused_by_the_others(topo, account):
    r = login(topo, account["slug"], account["email"], host=0)
    assert r.status == 200, r
    first = r.json["data"]
    # rotation on another host than the login
    r = refresh(topo, first["refresh_token"], host=1)
    assert r.status == 200, r
    second = r.json["data"]
    assert second["refresh_token"] != first["refresh_token"]
    # logout on a third; at once, no host takes the token
    r = topo.post_json("/v1/auth/logout", {"refresh_token": second["refresh_token"]}, host=2)
    assert r.status == 200 and r.json["ok"] is True, r
    for h in (0, 1, 2, None):
        refused(refresh(topo, second["refresh_token"], host=h))
    rows = psql(topo, "select count(*) filter (where revoked_at is null), count(*) "
                f"from gerbang.refresh_tokens where user_id = {q(account['id'])}")
    assert rows == ["0|2"], rows


def test_a_replayed_refresh_token_revokes_the_family_on_every_host(topo, account):
    first = login(topo, account["slug"], account["email"], host=1).json["data"]
    second = refresh(topo, first["refresh_token"], host=2).json["data"]
    # the thief replays the first token on another host: refused, and the
    # family is gone everywhere, the thief's and the owner's
    refused(refresh(topo, first["refresh_token"], host=0))
    for h in (0, 1, 2):
        refused(refresh(topo, second["refresh_token"], host=h))


@pytest.fixture(scope="module")
def disabled(topo):
    """A user who logged in and was then disabled with gerbang-admin (run on
    host h3, against the shared database)."""
    slug, cid = make_company(topo, "dis")
    email = f"gone-{uuid.uuid4().hex[:8]}@scale.test"
    uid = make_user(topo, cid, email, PASSWORD, role="member")
    r = login(topo, slug, email, host=1)
    assert r.status == 200, r
    tokens = r.json["data"]
    p = topo.ctl("admin", "h3", "user", "disable", "--company", slug, "--email", email)
    at = time.time()
    assert "disabled" in p.stdout, p
    return {"slug": slug, "email": email, "id": uid, "tokens": tokens, "disabled_at": at}


def test_a_disabled_user_is_refused_at_once_on_every_host(topo, disabled):
    assert psql(topo, f"select disabled from gerbang.users where id = {q(disabled['id'])}") == ["t"]
    assert psql(topo, "select count(*) from gerbang.refresh_tokens where revoked_at is null "
                f"and user_id = {q(disabled['id'])}") == ["0"]
    for h in (0, 1, 2, None):
        refused(refresh(topo, disabled["tokens"]["refresh_token"], host=h))
        refused(login(topo, disabled["slug"], disabled["email"], host=h))
    # the access token is a signed statement, checked without the
    # database: it keeps working until it expires, at most
    # ACCESS_TOKEN_TTL_S after the login (test_..._lapses below)
    p = payload(disabled["tokens"]["access_token"])
    assert p["exp"] - p["iat"] == ACCESS_TOKEN_TTL_S
    assert disabled["tokens"]["expires_in"] == ACCESS_TOKEN_TTL_S
    if time.time() < p["exp"] - 2:
        for h in range(HOSTS):
            r = topo.request("GET", "/v1/me", headers=bearer(disabled["tokens"]["access_token"]),
                             host=h)
            assert r.status == 200 and r.json["data"]["id"] == disabled["id"], r


# ---- (3) a thousand tasks, round-robin, exactly once ---------------------------------------------------

def test_a_thousand_tasks_round_robin_finish_exactly_once(topo):
    slug, cid = make_company(topo, "tasks")
    tok = token(topo, cid)
    texts = [f"scale task {i}" for i in range(1000)]

    def submit(text):
        r = topo.post_json("/v1/tasks/echo", {"text": text}, headers=bearer(tok))
        assert r.status == 202, r
        return r.json["data"]["task_id"], topo.host_name(r.header("x-gerbang-upstream"))

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        submitted = list(ex.map(submit, texts))
    ids = [tid for tid, _ in submitted]
    assert len(set(ids)) == 1000
    # the load balancer spread them over every host
    by_host = collections.Counter(h for _, h in submitted)
    assert set(by_host) == {f"h{n + 1}" for n in range(HOSTS)}, by_host
    assert min(by_host.values()) >= 1000 // HOSTS - 50, by_host

    def done():
        out = psql(topo, "select count(*) filter (where status = 'SUCCESS'), count(*) "
                   f"from gerbang.tasks where company_id = {q(cid)}")
        ok, total = map(int, out[0].split("|"))
        return ok == 1000 and total == 1000
    wait_until("1000 tasks SUCCESS", done, 90, 0.5)
    elapsed = time.monotonic() - t0

    rows = psql(topo, "select id, status, attempts, result::text from gerbang.tasks "
                f"where company_id = {q(cid)}")
    by_id = {l.split("|")[0]: l.split("|", 3) for l in rows}
    for tid, text in zip(ids, texts):
        _, status, attempts, result = by_id[tid]
        assert status == "SUCCESS" and attempts == "1", by_id[tid]
        assert json.loads(result) == {"text": text}
    # exactly once: one "task finished" line per task over every host's
    # worker, none that ran a second time, and every worker did some
    finished = collections.defaultdict(list)
    for n in range(HOSTS):
        host = f"h{n + 1}"
        for line in topo.log_lines(host, "worker"):
            if line.get("company_id") != cid:
                continue
            assert line["msg"] != "task ran again; its first result stays", line
            if line["msg"] == "task finished":
                finished[line["task_id"]].append(host)
    assert set(finished) == set(ids)
    assert all(len(v) == 1 for v in finished.values()), \
        [v for v in finished.values() if len(v) > 1][:5]
    per_worker = collections.Counter(v[0] for v in finished.values())
    assert set(per_worker) == {f"h{n + 1}" for n in range(HOSTS)}, per_worker
    # the shared queue is empty, the limit's counters back to zero
    for key, cmd in (("queue", "LLEN"), ("processing", "LLEN"), ("deadlines", "ZCARD")):
        assert topo.redis(cmd, "gerbang:tasks:" + key) == "0", key
    assert psql(topo, "select coalesce(sum(active), 0) from gerbang.task_counts "
                f"where company_id = {q(cid)}") == ["0"]
    print(f"\n1000 tasks: submitted by {dict(by_host)}, run by {dict(per_worker)}, "
          f"{elapsed:.1f}s")


# ---- (2, end) the disabled user's access token lapses ---------------------------------------------------

def test_a_disabled_users_access_token_lapses_within_its_lifetime(topo, disabled):
    access = disabled["tokens"]["access_token"]
    exp = payload(access)["exp"]
    assert exp <= disabled["disabled_at"] + ACCESS_TOKEN_TTL_S
    # exp is the last whole second the token is good for (gb_jwt:
    # refused when now > exp + JWT_LEEWAY_S, 0 here; time(2) may lag a
    # tick behind the clock this test reads)
    wait = exp + 1.5 - time.time()
    assert wait <= ACCESS_TOKEN_TTL_S + 1.5
    if wait > 0:
        time.sleep(wait)
    for h in (0, 1, 2, None):
        refused(topo.request("GET", "/v1/me", headers=bearer(access), host=h))
    assert time.time() <= disabled["disabled_at"] + ACCESS_TOKEN_TTL_S + 5


# ---- (4) a host that dies under load costs only its requests in flight --------------------------------

CLIENTS = 8
LOAD_S = 6.0
KILL_AT_S = 2.0


def test_a_host_killed_under_load_costs_only_its_requests_in_flight(topo):
    slug, cid = make_company(topo, "load")
    tok = token(topo, cid)
    tag = uuid.uuid4().hex[:12]
    victim = "h2"
    victim_addr = topo.hosts[1] + ":80"
    results = []        # (t0, t1, method, status or None, last upstream, note id or error)
    lock = threading.Lock()
    stop = threading.Event()
    deadline = time.monotonic() + LOAD_S + 20

    def client(k):
        i = 0
        while not stop.is_set() and time.monotonic() < deadline:
            post = k % 2 == 0
            t0 = time.monotonic()
            try:
                if post:
                    r = topo.post_json("/v1/data/notes", {"title": f"{tag} {k} {i}"},
                                       headers=bearer(tok), timeout=15)
                else:
                    r = topo.request("GET", "/v1/me", headers=bearer(tok), timeout=15)
                up = (r.header("x-gerbang-upstream") or "").split(", ")[-1]
                what = r.json["data"]["id"] if post and r.status == 201 else r.body[:200]
                rec = (t0, time.monotonic(), "POST" if post else "GET", r.status, up, what)
            except Exception as e:     # a connection error is a failure too
                rec = (t0, time.monotonic(), "POST" if post else "GET", None, "", repr(e))
            with lock:
                results.append(rec)
            i += 1

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(CLIENTS)]
    start = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(KILL_AT_S)
    kill0 = time.monotonic()
    topo.ctl("kill", victim)
    kill1 = time.monotonic()
    time.sleep(max(0.0, LOAD_S - (time.monotonic() - start)))
    stop.set()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a client did not finish"

    ok = {"POST": 201, "GET": 200}
    failed = [r for r in results if r[3] != ok[r[2]]]
    before = [r for r in results if r[1] < kill0]
    after = [r for r in results if r[0] > kill1]
    # the victim served its share before it died
    assert sum(r[4] == victim_addr for r in before) >= 5, collections.Counter(r[4] for r in before)
    # every failure was a request in flight when the host died: started
    # before the kill ended, finished after it began; at most one per client
    assert len(failed) <= CLIENTS, failed
    for r in failed:
        assert r[0] < kill1 and r[1] >= kill0, (r, kill0, kill1)
        assert r[3] is None or r[4] == victim_addr, r
    # everything sent after it went to the others, and succeeded
    assert len(after) >= 50, len(after)
    assert all(r[3] == ok[r[2]] for r in after), [r for r in after if r[3] != ok[r[2]]][:5]
    assert not any(r[4] == victim_addr for r in after)
    assert {r[4] for r in after} == {a + ":80" for a in topo.hosts} - {victim_addr}
    # the database holds every note answered 201, and at most the failed
    # POSTs besides (one may have committed before its host died)
    created = {r[5] for r in results if r[2] == "POST" and r[3] == 201}
    failed_posts = sum(r[2] == "POST" for r in failed)
    rows = set(psql(topo, "select id from gerbang_data.notes "
                    f"where company_id = {q(cid)} and title like {q(tag + ' %')}"))
    assert created <= rows
    assert len(rows) - len(created) <= failed_posts, (len(rows), len(created), failed_posts)
    # the other hosts' workers carry on with the shared queue
    tids = []
    for i in range(30):
        r = topo.post_json("/v1/tasks/echo", {"text": f"after {i}"}, headers=bearer(tok))
        assert r.status == 202 and r.header("x-gerbang-upstream").split(", ")[-1] != victim_addr, r
        tids.append(r.json["data"]["task_id"])

    def done():
        out = psql(topo, "select count(*) from gerbang.tasks where status = 'SUCCESS' "
                   f"and attempts = 1 and company_id = {q(cid)}")
        return out == ["30"]
    wait_until("30 tasks after the kill", done, 30, 0.2)
    print(f"\nload: {len(results)} requests, {len(after)} after the kill, failed: "
          f"{[(r[2], r[3]) for r in failed]}, kill took {kill1 - kill0:.3f}s")
