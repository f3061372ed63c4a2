"""gerbang-worker with real PostgreSQL, Redis and worker processes: many
tasks through two workers, a worker killed mid-task, SIGTERM, retries and
the dead-letter list, the fake provider slow, failing and answering
garbage, the circuit opening, messages without a task.  Every test leaves
the stack's one worker running with the stack's settings."""
import concurrent.futures
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from taskutil import (Company, PREFIX, counts_agree, dead_letters, metric, provider,
                      queue_lists, redis, restart_worker, stop_worker, worker_lines)


@pytest.fixture(autouse=True)
def default_worker(stack):
    """After each test: only the stack's worker, with its settings, and the
    fake provider answering normally."""
    yield
    stack.ctl("program-stop", "worker2")
    provider(stack, "/control/reset", {})
    restart_worker(stack)


def wait_until(what, predicate, seconds=20, step=0.05):
    deadline = time.monotonic() + seconds
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds}s")
        time.sleep(step)


def stack_env(stack):
    """The environment the stack gives its programs."""
    return dict(line.split("=", 1) for line in stack.ctl("env").stdout.splitlines())


def drained(stack):
    q = queue_lists(stack)
    return q["queue"] == 0 and q["processing"] == 0 and q["deadlines"] == 0


# ---- throughput and exactly once ------------------------------------------------------------

def test_a_thousand_tasks_through_two_workers(stack):
    c = Company(stack)
    stack.ctl("program-start", "worker2")
    before = metric(stack, "gerbang_tasks_total", kind="echo", status="success")
    texts = [f"task {i}" for i in range(1000)]
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        ids = list(ex.map(lambda t: c.queue("echo", {"text": t}), texts))
    assert len(set(ids)) == 1000

    def all_done():
        rows = c.rows()
        return len(rows) == 1000 and all(r["status"] == "SUCCESS" for r in rows) and rows
    rows = wait_until("1000 tasks done", all_done, 120, 0.5)
    by_id = {r["id"]: r for r in rows}
    for tid, text in zip(ids, texts):
        assert by_id[tid]["attempts"] == "1", by_id[tid]
        assert json.loads(by_id[tid]["result"]) == {"text": text}
    # each finished exactly once, and both workers took part
    finished = {}
    for w in ("worker", "worker2"):
        for line in worker_lines(stack, w, "task finished"):
            if line["company_id"] == c.id:
                finished.setdefault(line["task_id"], []).append(w)
    assert set(finished) == set(ids)
    assert all(len(v) == 1 for v in finished.values()), [v for v in finished.values() if len(v) > 1]
    per_worker = {w: sum(v == [w] for v in finished.values()) for w in ("worker", "worker2")}
    assert per_worker["worker"] > 0 and per_worker["worker2"] > 0, per_worker
    wait_until("the queue drained", lambda: drained(stack), 10)
    assert metric(stack, "gerbang_tasks_total", kind="echo", status="success") >= before + 1000
    # the limit's counters followed every start and end
    assert counts_agree(stack, c.id) == (True, ("0", "0"))


# ---- workers that die or stop ------------------------------------------------------------------

FAST = {"GERBANG_TASK_VISIBILITY_S": "4", "GERBANG_LLM_TIMEOUT_MS": "2500",
        "GERBANG_LLM_RETRIES": "0"}


def test_a_worker_killed_mid_task_the_task_finishes_on_the_other(stack):
    c = Company(stack)
    restart_worker(stack, FAST)
    tid = c.queue("generate_text", {"prompt": "[slow:1500] survive"})
    wait_until("task started", lambda: c.get(tid)["status"] == "STARTED", 10)
    os.kill(stack.pid("worker"), signal.SIGKILL)
    stack.ctl("program-start", "worker2", env=FAST)
    t = c.wait(tid, seconds=20)
    assert t["status"] == "SUCCESS", t
    assert t["attempts"] == 2
    assert t["result"]["text"] == "fake answer to: survive"
    lines = [l for l in worker_lines(stack, "worker2", "task finished") if l["task_id"] == tid]
    assert len(lines) == 1 and lines[0]["delivery"] == "2"
    assert metric(stack, "gerbang_tasks_total", kind="generate_text", status="redelivered") >= 1
    wait_until("the queue drained", lambda: drained(stack), 10)


def test_a_task_whose_worker_always_dies_fails_after_the_last_attempt(stack):
    c = Company(stack)
    env = {**FAST, "GERBANG_TASK_MAX_ATTEMPTS": "2"}
    stop_worker(stack)
    tid = c.queue("generate_text", {"prompt": "[slow:2000] doomed"})
    for n in (1, 2):
        restart_worker(stack, env)
        wait_until(f"attempt {n} started", lambda: c.get(tid)["attempts"] == n, 15)
        os.kill(stack.pid("worker"), signal.SIGKILL)
    restart_worker(stack, env)
    t = c.wait(tid, seconds=20)
    assert t["status"] == "FAILURE", t
    assert "gave up after 2 attempts" in t["error"]
    assert tid in [d["message"].split("|")[1] for d in dead_letters(stack)]


def test_sigterm_returns_a_running_task(stack):
    c = Company(stack)
    tid = c.queue("generate_text", {"prompt": "[slow:4000] interrupted"})
    wait_until("task started", lambda: c.get(tid)["status"] == "STARTED", 10)
    pid = stack.pid("worker")
    t0 = time.monotonic()
    stop_worker(stack)
    assert time.monotonic() - t0 < 3, "SIGTERM did not stop the worker promptly"
    assert not os.path.exists(f"/proc/{pid}/status") or \
        "zombie" in open(f"/proc/{pid}/status").read()
    t = c.get(tid)
    assert t["status"] == "PENDING" and t["attempts"] == 0, t
    assert any(l["task_id"] == tid for l in worker_lines(stack, "worker",
                                                         "task returned to the queue: stopping"))
    assert worker_lines(stack, "worker", "stopped")
    assert counts_agree(stack, c.id) == (True, ("1", "1"))
    restart_worker(stack)
    t = c.wait(tid, seconds=20)
    assert t["status"] == "SUCCESS" and t["attempts"] == 1, t
    assert counts_agree(stack, c.id) == (True, ("0", "0"))


def test_sigterm_when_idle_exits_at_once(stack):
    pid = stack.pid("worker")
    t0 = time.monotonic()
    stop_worker(stack)
    assert time.monotonic() - t0 < 2.5
    assert not os.path.exists(f"/proc/{pid}/status") or \
        "zombie" in open(f"/proc/{pid}/status").read()


def test_concurrency_runs_tasks_side_by_side(stack):
    c = Company(stack)
    restart_worker(stack, {"GERBANG_WORKER_CONCURRENCY": "4"})
    t0 = time.monotonic()
    ids = [c.queue("generate_text", {"prompt": f"[slow:1000] p{i}"}) for i in range(4)]
    for tid in ids:
        assert c.wait(tid, seconds=20)["status"] == "SUCCESS"
    assert time.monotonic() - t0 < 3.5     # four at once, not one after another


# ---- the provider misbehaving ---------------------------------------------------------------------

NO_BREAKER = {"GERBANG_LLM_BREAKER_FAILURES": "1000", "GERBANG_TASK_RETRY_BASE_MS": "100"}


def test_failing_provider_retries_then_dead_letters(stack):
    c = Company(stack)
    restart_worker(stack, {**NO_BREAKER, "GERBANG_TASK_MAX_ATTEMPTS": "3",
                           "GERBANG_LLM_RETRIES": "1"})
    before = provider(stack, "/control")["counts"].get("failed", 0)
    tid = c.queue("generate_text", {"prompt": "[fail:500] always"})
    t = c.wait(tid, seconds=30)
    assert t["status"] == "FAILURE", t
    assert t["attempts"] == 3
    assert t["error"] == "the API answered HTTP 500"
    assert t["result"] is None
    # three attempts of two requests each
    assert provider(stack, "/control")["counts"]["failed"] - before == 6
    dead = [d for d in dead_letters(stack) if d["message"].split("|")[1] == tid]
    assert len(dead) == 1 and dead[0]["reason"] == "the API answered HTTP 500"
    retried = [l for l in worker_lines(stack, "worker", "task failed; it will be retried")
               if l["task_id"] == tid]
    assert [l["attempt"] for l in retried] == ["1", "2"]
    wait_until("the queue drained", lambda: drained(stack), 10)
    assert counts_agree(stack, c.id) == (True, ("0", "0"))


def test_rate_limited_provider_is_retried(stack):
    c = Company(stack)
    restart_worker(stack, {**NO_BREAKER, "GERBANG_TASK_MAX_ATTEMPTS": "2",
                           "GERBANG_LLM_RETRIES": "0"})
    t = c.wait(c.queue("generate_text", {"prompt": "[fail:429] busy"}), seconds=20)
    assert t["status"] == "FAILURE" and t["attempts"] == 2
    assert t["error"] == "the API answered HTTP 429"


def test_flaky_provider_succeeds_on_a_retry(stack):
    c = Company(stack)
    t = c.wait(c.queue("generate_text", {"prompt": "[flaky:1] second time lucky"}))
    assert t["status"] == "SUCCESS" and t["attempts"] == 1, t
    assert t["result"]["text"] == "fake answer to: second time lucky"


def test_client_errors_of_the_provider_are_not_retried(stack):
    c = Company(stack)
    for status in (400, 401, 404):
        t = c.wait(c.queue("generate_text", {"prompt": f"[fail:{status}] no"}))
        assert t["status"] == "FAILURE" and t["attempts"] == 1, t
        assert t["error"] == f"the API answered HTTP {status}"


def test_slow_provider_times_out(stack):
    c = Company(stack)
    restart_worker(stack, {**NO_BREAKER, "GERBANG_LLM_TIMEOUT_MS": "700",
                           "GERBANG_LLM_RETRIES": "0", "GERBANG_TASK_MAX_ATTEMPTS": "2"})
    t0 = time.monotonic()
    slow = c.queue("generate_text", {"prompt": "[slow:3000] too slow"})
    fine = c.queue("generate_text", {"prompt": "[slow:200] in time"})
    t = c.wait(slow, seconds=20)
    assert t["status"] == "FAILURE" and t["attempts"] == 2, t
    assert t["error"] == "the API did not answer in time"
    assert time.monotonic() - t0 < 10
    assert c.wait(fine)["status"] == "SUCCESS"


@pytest.mark.parametrize("directive,why", [
    ("[garbage]", "malformed answer: not JSON"),
    ("[garbage:shape]", "malformed answer: no choices"),
    ("[garbage:content]", "malformed answer: choices[0].message.content is not a string"),
])
def test_garbage_from_the_provider_fails_the_task(stack, directive, why):
    c = Company(stack)
    t = c.wait(c.queue("generate_text", {"prompt": f"{directive} nonsense"}))
    assert t["status"] == "FAILURE" and t["attempts"] == 1, t
    assert t["error"] == why
    assert t["result"] is None


def test_truncated_answer_is_retried_then_fails(stack):
    c = Company(stack)
    restart_worker(stack, {**NO_BREAKER, "GERBANG_TASK_MAX_ATTEMPTS": "2",
                           "GERBANG_LLM_RETRIES": "0"})
    t = c.wait(c.queue("generate_text", {"prompt": "[truncate] half"}), seconds=20)
    assert t["status"] == "FAILURE" and t["attempts"] == 2, t
    assert t["error"] == "the API's answer was cut short"


def test_wrong_api_key_is_a_permanent_failure(stack, tmp_path):
    c = Company(stack)
    key = tmp_path / "wrong-key"
    key.write_text("not-the-key\n")
    # the stack's worker off; one with another LLM_API_KEY_FILE instead
    stop_worker(stack)
    env = stack_env(stack)
    env["LLM_API_KEY_FILE"] = str(key)
    log = open(stack.log / "worker-wrongkey.log", "ab")
    p = subprocess.Popen([str(stack.build / "tools" / "gerbang-worker"), "--id", "wrongkey"],
                         env={"PATH": "/usr/bin:/bin", **env}, stdout=log, stderr=log,
                         stdin=subprocess.DEVNULL)
    try:
        t = c.wait(c.queue("generate_text", {"prompt": "who am i"}))
        assert t["status"] == "FAILURE" and t["attempts"] == 1
        assert t["error"] == "the API answered HTTP 401"
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(10) == 0
        log.close()


# ---- the circuit breaker ------------------------------------------------------------------------------

def test_the_circuit_opens_and_closes(stack):
    c = Company(stack)
    restart_worker(stack, {"GERBANG_LLM_BREAKER_FAILURES": "3", "GERBANG_LLM_BREAKER_OPEN_MS": "3000",
                           "GERBANG_LLM_RETRIES": "0", "GERBANG_TASK_MAX_ATTEMPTS": "5",
                           "GERBANG_TASK_RETRY_BASE_MS": "100",
                           "GERBANG_WORKER_CONCURRENCY": "1"})
    provider(stack, "/control", {"mode": "fail", "status": 503})
    ids = [c.queue("generate_text", {"prompt": f"during the outage {i}"}) for i in range(3)]
    wait_until("circuit open",
               lambda: metric(stack, "gerbang_circuit_state", plugin="llm") == 2, 15)
    # open: nothing reaches the provider, tasks wait without spending attempts
    sent = provider(stack, "/control")["counts"]["requests"]
    time.sleep(2)
    assert provider(stack, "/control")["counts"]["requests"] == sent
    assert metric(stack, "gerbang_tasks_total", kind="generate_text", status="deferred") >= 1
    assert all(c.get(t)["status"] in ("PENDING", "STARTED") for t in ids)
    # the provider recovers: the half-open probe succeeds, everything runs
    provider(stack, "/control", {"mode": "ok"})
    for tid in ids:
        t = c.wait(tid, seconds=20)
        assert t["status"] == "SUCCESS", t
        assert t["attempts"] <= 3
    assert metric(stack, "gerbang_circuit_state", plugin="llm") == 0


def test_echo_tasks_ignore_the_open_circuit(stack):
    c = Company(stack)
    restart_worker(stack, {"GERBANG_LLM_BREAKER_FAILURES": "1", "GERBANG_LLM_BREAKER_OPEN_MS": "60000",
                           "GERBANG_LLM_RETRIES": "0"})
    g = c.queue("generate_text", {"prompt": "[fail:500] opens it"})
    wait_until("circuit open", lambda: metric(stack, "gerbang_circuit_state", plugin="llm") == 2, 10)
    assert c.wait(c.queue("echo", {"text": "still fine"}))["status"] == "SUCCESS"
    assert c.get(g)["status"] in ("PENDING", "STARTED")


def test_generate_text_through_the_echo_adapter(stack):
    c = Company(stack)
    restart_worker(stack, {"GERBANG_LLM_ADAPTER": "echo"})
    sent = provider(stack, "/control")["counts"]["requests"]
    t = c.wait(c.queue("generate_text", {"prompt": "offline"}))
    assert t["status"] == "SUCCESS" and t["result"] == {"text": "offline"}
    assert provider(stack, "/control")["counts"]["requests"] == sent


# ---- messages without a task, and malformed ones ------------------------------------------------------

def test_a_message_without_a_task_is_dropped(stack):
    c = Company(stack)
    ghost = "00000000-0000-4000-8000-00000000abcd"
    before = metric(stack, "gerbang_tasks_total", kind="echo", status="dropped")
    redis(stack, "LPUSH", PREFIX + "queue", f"t1|{ghost}|{c.id}|echo|1")
    wait_until("dropped", lambda: metric(stack, "gerbang_tasks_total", kind="echo",
                                         status="dropped") == before + 1, 10)
    wait_until("the queue drained", lambda: drained(stack), 10)
    assert c.rows() == []


def test_a_message_naming_another_company_finds_nothing(stack):
    a, b = Company(stack), Company(stack)
    stop_worker(stack)
    tid = a.queue("echo", {"text": "mine"})
    # the same task under another company: row-level security hides it
    redis(stack, "LPUSH", PREFIX + "queue", f"t1|{tid}|{b.id}|echo|1")
    restart_worker(stack)
    assert a.wait(tid)["status"] == "SUCCESS"
    wait_until("the queue drained", lambda: drained(stack), 10)
    assert a.get(tid)["attempts"] == 1


@pytest.mark.parametrize("msg", ["garbage", "t1|x|y|echo|1", "t1|" + "0" * 200])
def test_a_malformed_message_is_dead_lettered(stack, msg):
    redis(stack, "LPUSH", PREFIX + "queue", msg)
    wait_until("dead-lettered", lambda: any(d["message"] == msg and d["reason"] == "malformed message"
                                            for d in dead_letters(stack)), 10)
    wait_until("the queue drained", lambda: drained(stack), 10)


def test_worker_survives_redis_and_postgres_restarts(stack):
    c = Company(stack)
    pid = stack.pid("worker")
    stack.ctl("redis-stop")
    time.sleep(1.5)
    stack.ctl("redis-start")
    r = wait_until("enqueue after Redis restarted",
                   lambda: (lambda r: r.status == 202 and r)(c.submit("echo", {"text": "after redis"})),
                   10, 0.2)
    assert c.wait(r.json["data"]["task_id"], seconds=20)["status"] == "SUCCESS"
    stack.ctl("pg-stop")
    stack.ctl("pg-start")
    assert c.wait(c.queue("echo", {"text": "after postgres"}), seconds=20)["status"] == "SUCCESS"
    assert stack.pid("worker") == pid and os.path.exists(f"/proc/{pid}")


def test_the_queue_survives_a_redis_restart(stack):
    """appendonly: a queued message outlives Redis going down."""
    c = Company(stack)
    stop_worker(stack)
    tid = c.queue("echo", {"text": "durable"})
    stack.ctl("redis-stop")
    stack.ctl("redis-start")
    assert queue_lists(stack)["queue"] >= 1
    restart_worker(stack)
    assert c.wait(tid, seconds=20)["status"] == "SUCCESS"


def test_bad_configuration_stops_the_worker(stack):
    env = stack_env(stack)
    for change, words in (({"LLM_BASE_URL": "ftp://x"}, "LLM_BASE_URL"),
                          ({"TASK_VISIBILITY_S": "5"}, "TASK_VISIBILITY_S"),
                          ({"WORKER_CONCURRENCY": "0"}, "WORKER_CONCURRENCY"),
                          ({"LLM_TEMPERATURE": "3"}, "LLM_TEMPERATURE")):
        p = subprocess.run([str(stack.build / "tools" / "gerbang-worker")],
                           env={**env, **change}, capture_output=True, text=True, timeout=10)
        assert p.returncode == 78, (change, p.stderr)
        assert words in p.stderr
    p = subprocess.run([str(stack.build / "tools" / "gerbang-worker"), "--concurrency", "0"],
                       env=env, capture_output=True, text=True, timeout=10)
    assert p.returncode == 64


# ---- the fake provider itself --------------------------------------------------------------------------

def chat(stack, body, key=True):
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = "Bearer " + (stack.dir / "llm-key").read_text().strip()
    req = urllib.request.Request(f"http://127.0.0.1:{stack.provider_port}/v1/chat/completions",
                                 data=json.dumps(body).encode(), headers=h, method="POST")
    return urllib.request.urlopen(req, timeout=10)


def test_fake_provider_streams(stack):
    with chat(stack, {"model": "fake-model", "stream": True,
                      "messages": [{"role": "user", "content": "stream me please"}]}) as r:
        assert r.headers["Content-Type"] == "text/event-stream"
        events = [l[6:] for l in r.read().decode().splitlines() if l.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(ch["object"] == "chat.completion.chunk" for ch in chunks)
    text = "".join(ch["choices"][0]["delta"].get("content", "") for ch in chunks)
    assert text == "fake answer to: stream me please"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_fake_provider_truncated_stream_has_no_done(stack):
    with chat(stack, {"model": "m", "stream": True,
                      "messages": [{"role": "user", "content": "[truncate] a b c d e f"}]}) as r:
        try:
            body = r.read().decode()
        except Exception:   # the chunked body ends early: IncompleteRead
            body = ""
    assert "[DONE]" not in body


def test_fake_provider_wants_the_key(stack):
    with pytest.raises(urllib.error.HTTPError) as e:
        chat(stack, {"model": "m", "messages": [{"role": "user", "content": "x"}]}, key=False)
    assert e.value.code == 401
    with pytest.raises(urllib.error.HTTPError) as e:
        chat(stack, {"model": "m", "messages": "nope"})
    assert e.value.code == 400
