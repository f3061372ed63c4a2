"""gerbang-tasks: queuing, reading, listing and cancelling background tasks,
their inputs, Idempotency-Key, the per-company limit, isolation between
companies, and Redis down at enqueue.  The stack's gerbang-worker runs
them (test_worker.py is about the worker itself)."""
import concurrent.futures
import json
import re
import time
import uuid

import pytest

from conftest import envelope_error
from taskutil import (Company, TERMINAL, counts_agree, metric, queue_lists, redis,
                      restart_worker, stop_worker)
from tenants import psql, q


@pytest.fixture(scope="module")
def a(stack):
    return Company(stack)


@pytest.fixture(scope="module")
def b(stack):
    return Company(stack)


@pytest.fixture
def no_worker(stack):
    """The stack's worker stopped for the test (tasks stay PENDING), then
    started again."""
    stop_worker(stack)
    yield
    restart_worker(stack)


def restart_tasks(stack, env=None):
    stack.ctl("program-stop", "tasks")
    stack.ctl("program-start", "tasks", env=env or {})


# ---- queue and read ---------------------------------------------------------------------

def test_echo_round_trip(stack, a):
    r = a.submit("echo", {"text": "hello, tasks"})
    assert r.status == 202, r
    data = r.json["data"]
    assert re.fullmatch(r"[0-9a-f-]{36}", data["task_id"])
    assert data["kind"] == "echo" and data["status"] in ("PENDING", "STARTED", "SUCCESS")
    assert r.header("location") == f"/v1/tasks/{data['task_id']}" == data["location"]
    assert r.json["request_id"] == r.header("x-request-id")
    t = a.wait(data["task_id"])
    assert t["status"] == "SUCCESS", t
    assert t["result"] == {"text": "hello, tasks"}
    assert t["input"] == {"text": "hello, tasks"}
    assert t["error"] is None and t["attempts"] == 1
    assert t["kind"] == "echo" and t["id"] == data["task_id"]
    for k in ("created_at", "updated_at", "started_at", "finished_at"):
        assert isinstance(t[k], str) and t[k].startswith("20"), (k, t)


def test_location_answers(stack, a):
    r = a.submit("echo", {"text": "x"})
    t = a.call("GET", r.header("location"))
    assert t.status == 200 and t.json["data"]["id"] == r.json["data"]["task_id"]


def test_empty_text_is_fine(stack, a):
    t = a.wait(a.queue("echo", {"text": ""}))
    assert t["status"] == "SUCCESS" and t["result"] == {"text": ""}


def test_unicode_survives(stack, a):
    text = "gerbang \u2014 \U0001F680 \"quoted\" \\ back"
    t = a.wait(a.queue("echo", {"text": text}))
    assert t["result"] == {"text": text}


def test_generate_text_through_the_fake_provider(stack, a):
    t = a.wait(a.queue("generate_text", {"prompt": "write a haiku about gates"}))
    assert t["status"] == "SUCCESS", t
    assert t["result"]["text"] == "fake answer to: write a haiku about gates"
    assert t["result"]["model"] == "fake-model"
    assert t["result"]["finish_reason"] == "stop"
    # the stored input names max_tokens (the configured default)
    assert t["input"] == {"prompt": "write a haiku about gates", "max_tokens": 1024}


def test_generate_text_max_tokens(stack, a):
    t = a.wait(a.queue("generate_text", {"prompt": "one two three four", "max_tokens": 3}))
    assert t["result"]["text"] == "fake answer to:"
    assert t["result"]["finish_reason"] == "length"


def test_aliases_of_the_seed(stack, a):
    r = a.submit(None, {"prompt": "alias"}, path="/background/generate_text")
    assert r.status == 202, r
    tid = r.json["data"]["task_id"]
    assert r.json["data"]["kind"] == "generate_text"
    a.wait(tid)
    g = a.call("GET", f"/background/tasks/{tid}")
    assert g.status == 200, g
    assert g.json["data"] == a.get(tid)
    assert g.json["data"]["result"]["text"] == "fake answer to: alias"
    envelope_error(a.call("POST", "/background/generate_text", {"text": "x"}), 422)


def test_get_unknown_and_malformed_ids(stack, a):
    for path in (f"/v1/tasks/{uuid.uuid4()}", "/v1/tasks/not-a-uuid", f"/background/tasks/{uuid.uuid4()}"):
        body = envelope_error(a.call("GET", path), 404)
        assert body["message"] == "no such task"


def test_token_required(stack):
    for method, path in (("GET", "/v1/tasks"), ("POST", "/v1/tasks/echo"),
                         ("GET", f"/v1/tasks/{uuid.uuid4()}"),
                         ("DELETE", f"/v1/tasks/{uuid.uuid4()}"),
                         ("POST", "/background/generate_text")):
        r = stack.request(method, path)
        envelope_error(r, 401)
        assert r.header("www-authenticate").startswith("Bearer")


def test_methods(stack, a):
    r = a.call("PUT", "/v1/tasks/echo", {"text": "x"})
    envelope_error(r, 405)
    assert "POST" in r.header("allow") and "DELETE" in r.header("allow")
    envelope_error(a.call("POST", "/v1/tasks", {"text": "x"}), 405)
    # not served by gerbang-tasks: nginx's 404
    envelope_error(a.call("GET", "/v1/tasksx"), 404)


# ---- bad input ----------------------------------------------------------------------------

def test_unknown_kind_is_404(stack, a):
    body = envelope_error(a.submit("resize_image", {"text": "x"}), 404)
    assert body["message"] == "no such task kind"
    assert body["errors"] == {"kind": ["must be one of echo, generate_text"]}


@pytest.mark.parametrize("kind,payload,fields", [
    ("echo", {}, {"text": ["is required"]}),
    ("echo", {"text": 5}, {"text": ["must be a string"]}),
    ("echo", {"text": None}, {"text": ["is required"]}),
    ("echo", {"text": "x" * 65537}, {"text": ["is too long"]}),
    ("echo", {"text": "x", "company_id": "y"}, {"company_id": ["unknown field"]}),
    ("generate_text", {}, {"prompt": ["is required"]}),
    ("generate_text", {"prompt": ""}, {"prompt": ["must not be empty"]}),
    ("generate_text", {"prompt": "x" * 32769}, {"prompt": ["is too long"]}),
    ("generate_text", {"prompt": "x", "max_tokens": 0},
     {"max_tokens": ["must be a whole number from 1 to 1024"]}),
    ("generate_text", {"prompt": "x", "max_tokens": 1025},
     {"max_tokens": ["must be a whole number from 1 to 1024"]}),
    ("generate_text", {"prompt": "x", "max_tokens": 2.5},
     {"max_tokens": ["must be a whole number from 1 to 1024"]}),
    ("generate_text", {"prompt": "x", "max_tokens": "9"},
     {"max_tokens": ["must be a whole number from 1 to 1024"]}),
    ("generate_text", {"text": "x", "max_tokens": True},
     {"text": ["unknown field"], "prompt": ["is required"],
      "max_tokens": ["must be a whole number from 1 to 1024"]}),
])
def test_bad_input_is_422_with_every_field(stack, a, kind, payload, fields):
    body = envelope_error(a.submit(kind, payload), 422)
    assert body["errors"] == fields, body


def test_bodies_that_are_not_json_objects(stack, a):
    envelope_error(a.call("POST", "/v1/tasks/echo", raw=b"{nope"), 400)
    envelope_error(a.call("POST", "/v1/tasks/echo", raw=b"[1]"), 400)
    envelope_error(a.call("POST", "/v1/tasks/echo", raw=b'{"text":"a","text":"b"}'), 400)
    # PostgreSQL's jsonb takes no NUL character: refused by the body parser
    envelope_error(a.call("POST", "/v1/tasks/echo", raw=b'{"text":"a\\u0000b"}'), 400)
    r = a.call("POST", "/v1/tasks/echo", headers={"Content-Type": "text/plain"}, raw=b"{}")
    envelope_error(r, 415)


def test_nothing_is_stored_for_bad_input(stack):
    c = Company(stack)
    envelope_error(c.submit("echo", {"txt": "x"}), 422)
    envelope_error(c.submit("nope", {"text": "x"}), 404)
    assert c.rows() == []


@pytest.mark.parametrize("key", ["", " ", "a b", "k" * 256, "caf\u00e9"])
def test_bad_idempotency_key_is_422(stack, a, key):
    r = a.call("POST", "/v1/tasks/echo", {"text": "x"},
               headers={"Idempotency-Key": key.encode("utf-8").decode("latin-1")})
    body = envelope_error(r, 422)
    assert body["errors"] == {"Idempotency-Key": ["must be 1 to 255 visible ASCII characters"]}


# ---- Idempotency-Key -------------------------------------------------------------------------

def test_idempotency_same_request_same_task(stack, a):
    key = "k-" + uuid.uuid4().hex
    r1 = a.submit("echo", {"text": "once"}, key=key)
    assert r1.status == 202 and r1.header("idempotent-replayed") is None
    tid = r1.json["data"]["task_id"]
    a.wait(tid)
    r2 = a.submit("echo", {"text": "once"}, key=key)
    assert r2.status == 202, r2
    assert r2.header("idempotent-replayed") == "true"
    assert r2.json["data"]["task_id"] == tid
    assert r2.json["data"]["status"] == "SUCCESS"
    assert r2.header("location") == f"/v1/tasks/{tid}"
    assert len(a.rows(f"idempotency_key = {q(key)}")) == 1


def test_idempotency_key_order_of_fields_does_not_matter(stack, a):
    key = "k-" + uuid.uuid4().hex
    r1 = a.call("POST", "/v1/tasks/generate_text", headers={"Idempotency-Key": key},
                raw=b'{"prompt":"p","max_tokens":5}')
    r2 = a.call("POST", "/v1/tasks/generate_text", headers={"Idempotency-Key": key},
                raw=b'{"max_tokens":5,"prompt":"p"}')
    assert r1.status == r2.status == 202
    assert r1.json["data"]["task_id"] == r2.json["data"]["task_id"]


def test_idempotency_key_with_another_request_is_409(stack, a):
    key = "k-" + uuid.uuid4().hex
    tid = a.queue("echo", {"text": "first"}, key=key)
    for kind, payload in (("echo", {"text": "second"}), ("generate_text", {"prompt": "first"})):
        body = envelope_error(a.submit(kind, payload, key=key), 409)
        assert body["errors"] == {"Idempotency-Key": ["was used with another kind or input"]}
    assert [r["id"] for r in a.rows(f"idempotency_key = {q(key)}")] == [tid]


def test_idempotency_keys_are_per_company(stack, a, b):
    key = "shared-" + uuid.uuid4().hex
    ta = a.queue("echo", {"text": "same"}, key=key)
    tb = b.queue("echo", {"text": "same"}, key=key)
    assert ta != tb
    assert b.get(tb)["id"] == tb
    envelope_error(b.call("GET", f"/v1/tasks/{ta}"), 404)


def test_idempotency_under_concurrency(stack, a):
    key = "race-" + uuid.uuid4().hex
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        rs = list(ex.map(lambda _: a.submit("echo", {"text": "race"}, key=key), range(16)))
    assert all(r.status == 202 for r in rs), [r for r in rs if r.status != 202]
    assert len({r.json["data"]["task_id"] for r in rs}) == 1
    assert sum(r.header("idempotent-replayed") is None for r in rs) == 1
    assert len(a.rows(f"idempotency_key = {q(key)}")) == 1


# ---- other companies ----------------------------------------------------------------------------

def test_another_companys_task_is_404(stack, a, b):
    tid = a.queue("echo", {"text": "a's secret"})
    a.wait(tid)
    for method, path in (("GET", f"/v1/tasks/{tid}"), ("DELETE", f"/v1/tasks/{tid}"),
                         ("GET", f"/background/tasks/{tid}")):
        body = envelope_error(b.call(method, path), 404)
        assert body["message"] == "no such task"
    listed = b.call("GET", "/v1/tasks?limit=200").json["data"]
    assert tid not in [t["id"] for t in listed]
    # nor with its id as a cursor
    r = b.call("GET", f"/v1/tasks?cursor={tid}")
    assert r.status == 200 and r.json["data"] == []
    assert a.get(tid)["status"] == "SUCCESS"


def test_the_company_comes_from_the_token(stack, a, b):
    r = b.call("POST", "/v1/tasks/echo", {"text": "mine"},
               headers={"X-Company-Id": a.id})
    assert r.status == 202
    tid = r.json["data"]["task_id"]
    assert [x["id"] for x in b.rows(f"id = {q(tid)}")] == [tid]
    assert a.rows(f"id = {q(tid)}") == []
    r = b.call("GET", f"/v1/tasks?company_id={a.id}")
    assert tid in [x["id"] for x in r.json["data"]]


def test_row_level_security_holds_the_tasks_table(stack, a):
    """As the runtime role without app.company_id, no row is visible."""
    a.wait(a.queue("echo", {"text": "rls"}))
    out = psql(stack, "select count(*) from gerbang.tasks", user="gerbang")
    assert out == ["0"]
    out = psql(stack, f"begin; select set_config('app.company_id', {q(a.id)}, true); "
               "select count(*) > 0 from gerbang.tasks; commit", user="gerbang")
    assert "t" in out


# ---- listing -----------------------------------------------------------------------------------

def test_list_pages_newest_first(stack):
    c = Company(stack)
    ids = [c.queue("echo", {"text": str(i)}) for i in range(5)]
    for tid in ids:
        c.wait(tid)
    seen, cursor = [], None
    for _ in range(5):
        r = c.call("GET", "/v1/tasks?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status == 200, r
        assert r.json["meta"]["limit"] == 2
        seen += [t["id"] for t in r.json["data"]]
        for t in r.json["data"]:
            assert "input" not in t and "result" not in t
            assert t["status"] == "SUCCESS"
        cursor = r.json["meta"]["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


def test_list_filters(stack):
    c = Company(stack)
    e = c.queue("echo", {"text": "e"})
    g = c.queue("generate_text", {"prompt": "g"})
    c.wait(e)
    c.wait(g)
    kinds = c.call("GET", "/v1/tasks?kind=echo").json["data"]
    assert [t["id"] for t in kinds] == [e]
    done = c.call("GET", "/v1/tasks?status=SUCCESS").json["data"]
    assert {t["id"] for t in done} == {e, g}
    assert c.call("GET", "/v1/tasks?status=PENDING").json["data"] == []


@pytest.mark.parametrize("query,fields", [
    ("limit=0", {"limit"}), ("limit=201", {"limit"}), ("limit=x", {"limit"}),
    ("cursor=nope", {"cursor"}), ("status=done", {"status"}), ("kind=x", {"kind"}),
    ("limit=0&status=x&kind=y&cursor=z", {"limit", "status", "kind", "cursor"}),
])
def test_list_bad_query_is_422(stack, a, query, fields):
    body = envelope_error(a.call("GET", f"/v1/tasks?{query}"), 422)
    assert set(body["errors"]) == fields


# ---- cancel -----------------------------------------------------------------------------------

def test_cancel_a_pending_task(stack, no_worker):
    c = Company(stack)
    tid = c.queue("echo", {"text": "never"})
    assert c.get(tid)["status"] == "PENDING"
    r = c.call("DELETE", f"/v1/tasks/{tid}")
    assert r.status == 200, r
    t = r.json["data"]
    assert t["status"] == "CANCELLED" and t["finished_at"] and t["result"] is None
    again = c.call("DELETE", f"/v1/tasks/{tid}")
    assert again.status == 200 and again.json["data"]["status"] == "CANCELLED"
    # the worker comes back, takes the message and drops it
    restart_worker(stack)
    deadline = time.monotonic() + 10
    while queue_lists(stack)["queue"] or queue_lists(stack)["processing"]:
        assert time.monotonic() < deadline, queue_lists(stack)
        time.sleep(0.1)
    t = c.get(tid)
    assert t["status"] == "CANCELLED" and t["attempts"] == 0 and t["started_at"] is None
    assert counts_agree(stack, c.id) == (True, ("0", "0"))


def test_cancel_a_finished_task_is_409(stack, a):
    tid = a.queue("echo", {"text": "done"})
    a.wait(tid)
    body = envelope_error(a.call("DELETE", f"/v1/tasks/{tid}"), 409)
    assert body["errors"] == {"status": ["the task has finished"]}


def test_cancel_a_started_task_is_409(stack, a):
    tid = a.queue("generate_text", {"prompt": "[slow:1500] busy"})
    a.wait(tid, ("STARTED",), 10)
    body = envelope_error(a.call("DELETE", f"/v1/tasks/{tid}"), 409)
    assert body["errors"] == {"status": ["the task has started"]}
    assert a.wait(tid)["status"] == "SUCCESS"


def test_viewers_read_but_do_not_write(stack, a):
    tid = a.queue("echo", {"text": "v"})
    envelope_error(a.call("POST", "/v1/tasks/echo", {"text": "x"}, role="viewer"), 403)
    envelope_error(a.call("POST", "/background/generate_text", {"prompt": "x"}, role="viewer"), 403)
    envelope_error(a.call("DELETE", f"/v1/tasks/{tid}", role="viewer"), 403)
    assert a.call("GET", f"/v1/tasks/{tid}", role="viewer").status == 200
    assert a.call("GET", "/v1/tasks", role="viewer").status == 200
    for role in ("owner", "admin"):
        assert a.call("POST", "/v1/tasks/echo", {"text": role}, role=role).status == 202


# ---- the per-company limit --------------------------------------------------------------------

def test_limit_of_queued_tasks(stack, no_worker):
    restart_tasks(stack, {"GERBANG_TASKS_MAX_QUEUED": "3"})
    try:
        c, other = Company(stack), Company(stack)
        ids = [c.queue("echo", {"text": str(i)}) for i in range(3)]
        r = c.submit("echo", {"text": "one too many"})
        body = envelope_error(r, 429)
        assert body["message"] == "too many queued tasks"
        assert r.header("retry-after") == "5"
        # a replay of a queued task is not a new one
        key = "lim-" + uuid.uuid4().hex
        envelope_error(c.submit("echo", {"text": "k"}, key=key), 429)
        # another company has its own limit
        assert other.submit("echo", {"text": "mine"}).status == 202
        # a cancelled task frees its place
        assert c.call("DELETE", f"/v1/tasks/{ids[0]}").status == 200
        assert c.submit("echo", {"text": "now"}, key=key).status == 202
        assert c.submit("echo", {"text": "now"}, key=key).status == 202     # replayed
        assert len(c.rows("status = 'PENDING'")) == 3
        assert counts_agree(stack, c.id)[0], counts_agree(stack, c.id)
    finally:
        restart_tasks(stack)


# ---- group commit (tasks queued at once share a transaction) -----------------------------------

def test_tasks_queued_at_once_each_get_their_row_and_message(stack, no_worker):
    """Concurrent enqueues of several companies: every one answered 202 once,
    with its own id, its own row (its own input, its company) and exactly one
    message naming it; the companies' counts agree with their rows."""
    companies = [Company(stack) for _ in range(3)]
    before = queue_lists(stack)["queue"]

    def one(i):
        c = companies[i % 3]
        r = c.submit("echo", {"text": f"group {i}"})
        return c, i, r

    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(one, range(150)))
    ids = {}
    for c, i, r in results:
        assert r.status == 202, r
        ids[r.json["data"]["task_id"]] = (c, i)
    assert len(ids) == 150
    for c in companies:
        rows = psql(stack, "select id, input->>'text' from gerbang.tasks "
                    f"where company_id = {q(c.id)}")
        got = dict(line.split("|", 1) for line in rows if line)
        mine = {tid: f"group {i}" for tid, (cc, i) in ids.items() if cc is c}
        assert got == mine
        assert counts_agree(stack, c.id)[0], counts_agree(stack, c.id)
    messages = redis(stack, "LRANGE", "gerbang:tasks:queue", "0", "-1").splitlines()
    named = [m for m in messages if any(tid in m for tid in ids)]
    assert len(named) == 150 and queue_lists(stack)["queue"] == before + 150
    assert all(sum(tid in m for m in named) == 1 for tid in ids)


def test_the_limit_holds_within_a_group(stack, no_worker):
    """Forty enqueues at once against a limit of 10: exactly 10 answered 202
    (with rows and messages), the rest 429 with nothing stored."""
    restart_tasks(stack, {"GERBANG_TASKS_MAX_QUEUED": "10"})
    try:
        c = Company(stack)
        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
            rs = list(pool.map(lambda i: c.submit("echo", {"text": str(i)}), range(40)))
        statuses = sorted(r.status for r in rs)
        assert statuses == [202] * 10 + [429] * 30, statuses
        queued = {r.json["data"]["task_id"] for r in rs if r.status == 202}
        assert {row["id"] for row in c.rows()} == queued
        assert counts_agree(stack, c.id)[0], counts_agree(stack, c.id)
    finally:
        restart_tasks(stack)


# ---- Redis down ------------------------------------------------------------------------------------

def test_redis_down_at_enqueue_is_503_and_leaves_no_row(stack):
    c = Company(stack)
    key = "down-" + uuid.uuid4().hex
    stack.ctl("redis-stop")
    try:
        r = c.submit("echo", {"text": "lost?"}, key=key)
        body = envelope_error(r, 503)
        assert body["message"] == "the task queue is unavailable"
        assert r.header("retry-after") == "1"
        r = c.submit("generate_text", {"prompt": "lost?"})
        envelope_error(r, 503)
        assert c.rows() == []
    finally:
        stack.ctl("redis-start")
    line = stack.wait_log("tasks", lambda l: l.get("msg") == "cannot queue a task: rolled back")
    assert line["level"] == "error"
    # back by itself, the same key makes a new task now
    deadline = time.monotonic() + 10
    while True:
        r = c.submit("echo", {"text": "lost?"}, key=key)
        if r.status == 202:
            break
        assert time.monotonic() < deadline, r
        time.sleep(0.2)
    assert r.header("idempotent-replayed") is None
    assert c.wait(r.json["data"]["task_id"], seconds=30)["status"] == "SUCCESS"
    assert len(c.rows()) == 1


def test_redis_hung_at_enqueue_is_503_and_leaves_no_row(stack):
    c = Company(stack)
    stack.ctl("redis-pause")
    try:
        t0 = time.monotonic()
        r = c.submit("echo", {"text": "hung"})
        assert time.monotonic() - t0 < 5
        envelope_error(r, 503)
    finally:
        stack.ctl("redis-resume")
    assert c.rows() == []
    # the push may still have reached Redis after the timeout: a message
    # with no task, which the worker drops
    deadline = time.monotonic() + 10
    while queue_lists(stack)["queue"] or queue_lists(stack)["processing"]:
        assert time.monotonic() < deadline, queue_lists(stack)
        time.sleep(0.1)
    assert c.rows() == []


# ---- metrics and logs ---------------------------------------------------------------------------------

def test_queued_and_finished_are_counted(stack, a):
    before = {s: metric(stack, "gerbang_tasks_total", kind="echo", status=s)
              for s in ("queued", "success")}
    a.wait(a.queue("echo", {"text": "count me"}))
    deadline = time.monotonic() + 5
    while metric(stack, "gerbang_tasks_total", kind="echo", status="success") < before["success"] + 1:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert metric(stack, "gerbang_tasks_total", kind="echo", status="queued") == before["queued"] + 1


def test_access_log_names_the_route(stack, a):
    r = a.submit("echo", {"text": "log"}, key="log-" + uuid.uuid4().hex)
    rid = r.header("x-request-id")
    line = stack.wait_log("tasks", lambda l: l.get("request_id") == rid and "status" in l)
    assert line["route"] == "/v1/tasks/{kind}" and line["status"] == 202
    assert line["company_id"] == a.id
    queued = stack.wait_log("tasks", lambda l: l.get("request_id") == rid and l.get("msg") == "task queued")
    assert queued["task_id"] == r.json["data"]["task_id"]


# ---- docs/openapi.json ----------------------------------------------------------------------------

def test_answers_are_as_documented(stack, a):
    from test_openapi import conforms
    r = a.submit("echo", {"text": "doc"}, key="doc-" + uuid.uuid4().hex)
    conforms(r, "/v1/tasks/echo", "post")
    tid = r.json["data"]["task_id"]
    a.wait(tid)
    conforms(a.call("GET", f"/v1/tasks/{tid}"), "/v1/tasks/{id}", "get")
    conforms(a.call("GET", f"/background/tasks/{tid}"), "/background/tasks/{id}", "get")
    conforms(a.call("GET", "/v1/tasks?limit=2"), "/v1/tasks", "get")
    conforms(a.call("DELETE", f"/v1/tasks/{tid}"), "/v1/tasks/{id}", "delete")
    conforms(a.call("GET", f"/v1/tasks/{uuid.uuid4()}"), "/v1/tasks/{id}", "get")
    r = a.submit("nope", {"text": "x"})
    assert r.status == 404 and r.json["message"] == "no such task kind", r
    conforms(a.submit("echo", {"txt": "x"}), "/v1/tasks/echo", "post")
    conforms(a.submit("generate_text", {"prompt": ""}), "/v1/tasks/generate_text", "post")
    conforms(a.call("GET", "/v1/tasks?status=x"), "/v1/tasks", "get")
    r = a.call("POST", "/background/generate_text", {"prompt": "doc"})
    conforms(r, "/background/generate_text", "post")
    t = a.wait(r.json["data"]["task_id"])
    conforms(a.call("GET", f"/v1/tasks/{t['id']}"), "/v1/tasks/{id}", "get")
