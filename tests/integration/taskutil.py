"""Helpers of the task tests (test_tasks.py, test_worker.py): tenants with
signed tokens, task calls, polling, the queue in Redis, metrics, and
restarting the workers and gerbang-tasks with other settings."""
import json
import re
import subprocess
import time
import urllib.request
import uuid

from tenants import claims, jwt_secret, make_company, psql, q, sign

TERMINAL = ("SUCCESS", "FAILURE", "CANCELLED")
PREFIX = "gerbang:tasks:"


class Company:
    """A company made in the database, with tokens signed for it."""

    def __init__(self, stack):
        self.stack = stack
        self.slug, self.id = make_company(stack, "tasks")
        self.user = str(uuid.uuid4())

    def token(self, role="member", sub=None):
        """A fresh access token (5 minutes) of a user of the company."""
        return sign({"alg": "HS256", "typ": "JWT"}, claims(sub or self.user, self.id, role),
                    jwt_secret(self.stack))

    def call(self, method, path, body=None, headers=None, role="member", raw=None):
        h = {"Authorization": "Bearer " + self.token(role)}
        if body is not None or raw is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        data = raw if raw is not None else json.dumps(body).encode() if body is not None else None
        return self.stack.request(method, path, headers=h, body=data)

    def submit(self, kind, body, key=None, path=None):
        return self.call("POST", path or f"/v1/tasks/{kind}", body,
                         headers={"Idempotency-Key": key} if key else None)

    def queue(self, kind, body, **kw):
        r = self.submit(kind, body, **kw)
        assert r.status == 202, r
        return r.json["data"]["task_id"]

    def get(self, tid):
        r = self.call("GET", f"/v1/tasks/{tid}")
        assert r.status == 200, r
        return r.json["data"]

    def wait(self, tid, statuses=TERMINAL, seconds=20):
        deadline = time.monotonic() + seconds
        while True:
            t = self.get(tid)
            if t["status"] in statuses:
                return t
            if time.monotonic() > deadline:
                raise AssertionError(f"task {tid} not {statuses} within {seconds}s: {t}")
            time.sleep(0.05)

    def rows(self, where="true"):
        """Its tasks as the database has them (as the owner role)."""
        out = psql(self.stack, "select id, status, attempts, coalesce(result::text, ''), "
                   f"coalesce(error, '') from gerbang.tasks where company_id = {q(self.id)} "
                   f"and ({where}) order by created_at")
        return [dict(zip(("id", "status", "attempts", "result", "error"), l.split("|", 4)))
                for l in out]


def redis(stack, *args):
    p = subprocess.run(["redis-cli", "-s", str(stack.run / "redis.sock"), *args],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    return p.stdout.rstrip("\n")


def queue_lists(stack):
    """How many messages each part of the queue holds."""
    return {"queue": int(redis(stack, "LLEN", PREFIX + "queue")),
            "processing": int(redis(stack, "LLEN", PREFIX + "processing")),
            "delayed": int(redis(stack, "ZCARD", PREFIX + "delayed")),
            "deadlines": int(redis(stack, "ZCARD", PREFIX + "deadlines"))}


def dead_letters(stack):
    out = redis(stack, "LRANGE", PREFIX + "dead", "0", "-1")
    return [json.loads(l) for l in out.splitlines() if l]


def metric(stack, name, **labels):
    """The value of one series of /metrics (0 when absent)."""
    r = stack.get("/metrics")
    assert r.status == 200, r
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in r.body.decode().splitlines():
        m = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if m and m[1] == name and (m[2] or "") == want:
            return float(m[3])
    return 0.0


def restart_worker(stack, env=None, name="worker"):
    stack.ctl("program-stop", name)
    stack.ctl("program-start", name, env=env or {})


def stop_worker(stack, name="worker"):
    stack.ctl("program-stop", name)


def worker_lines(stack, name, msg):
    return [l for l in stack.log_lines(name) if l.get("msg") == msg]


def provider(stack, path, body=None):
    """The fake provider's control endpoint."""
    req = urllib.request.Request(f"http://127.0.0.1:{stack.provider_port}{path}",
                                 data=json.dumps(body).encode() if body is not None else None,
                                 method="POST" if body is not None else "GET",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def counts_agree(stack, cid):
    """gerbang.task_counts says as many active tasks as the table holds."""
    out = psql(stack, "select (select coalesce(sum(active), 0) from gerbang.task_counts "
               f"where company_id = {q(cid)}), (select count(*) from gerbang.tasks "
               f"where company_id = {q(cid)} and status in ('PENDING', 'STARTED'))")
    counted, real = out[0].split("|")
    return int(counted) == int(real), (counted, real)
