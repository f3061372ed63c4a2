"""Dependencies dying and returning: /readyz follows them without restarts."""
import os
import threading
import time

from conftest import envelope_error


def warm(stack):
    """Gives every serving thread its own open connections."""
    for _ in range(40):
        assert stack.get("/readyz").status == 200


def test_postgres_down_then_back(stack):
    pid = stack.pid("health")
    stack.ctl("pg-stop")
    try:
        body = envelope_error(stack.wait_status("/readyz", 503), 503)
        assert body["errors"]["postgres"] == ["unreachable"]
        assert "redis" not in body["errors"]
        # liveness never depends on PostgreSQL
        assert stack.get("/healthz").status == 200
    finally:
        stack.ctl("pg-start")
    stack.wait_status("/readyz", 200)
    assert stack.pid("health") == pid


def test_postgres_restart_costs_no_request(stack):
    """Connections opened before a restart are stale after it: the first use
    of each must reconnect, not fail the request."""
    warm(stack)
    stack.ctl("pg-stop")
    stack.ctl("pg-start")
    for _ in range(40):
        r = stack.get("/readyz")
        assert r.status == 200, r


def test_redis_down_then_back(stack):
    pid = stack.pid("health")
    stack.ctl("redis-stop")
    try:
        body = envelope_error(stack.wait_status("/readyz", 503), 503)
        assert body["errors"]["redis"] == ["unreachable"]
        assert "postgres" not in body["errors"]
    finally:
        stack.ctl("redis-start")
    stack.wait_status("/readyz", 200)
    assert stack.pid("health") == pid


def test_redis_restart_costs_no_request(stack):
    warm(stack)
    stack.ctl("redis-stop")
    stack.ctl("redis-start")
    for _ in range(40):
        r = stack.get("/readyz")
        assert r.status == 200, r


def test_redis_hung_answers_within_timeout(stack):
    stack.ctl("redis-pause")
    try:
        t0 = time.monotonic()
        r = stack.get("/readyz")
        elapsed = time.monotonic() - t0
        body = envelope_error(r, 503)
        assert body["errors"]["redis"] == ["timed out"]
        # REDIS_TIMEOUT_MS is 500 ms; generous bound for a loaded CI machine
        assert elapsed < 3, elapsed
    finally:
        stack.ctl("redis-resume")
    stack.wait_status("/readyz", 200)


def test_sigterm_finishes_requests_in_flight(stack):
    """A request in flight when SIGTERM arrives completes with its own answer."""
    stack.ctl("redis-pause")   # makes /readyz take REDIS_TIMEOUT_MS
    result = {}

    def slow():
        result["r"] = stack.get("/readyz")

    t = threading.Thread(target=slow)
    try:
        t.start()
        time.sleep(0.2)
        pid = stack.pid("health")
        os.kill(pid, 15)
        t.join(10)
    finally:
        stack.ctl("redis-resume")
    assert not t.is_alive()
    # the program's own 503 envelope, not nginx's 502 for a dropped request
    body = envelope_error(result["r"], 503)
    assert body["errors"]["redis"] == ["timed out"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("gerbang-health did not exit after SIGTERM")
    assert any(l["msg"] == "stopped" for l in stack.log_lines("health"))
    stack.ctl("program-start", "health")
    stack.wait_status("/readyz", 200)
