"""The scale-out topology the tests talk to (tests/scaleout/topology): three
gateway hosts, each a network namespace with every program, a worker and
its own nginx, sharing one PostgreSQL and one Redis in a namespace of their
own, behind an nginx load balancer on a loopback port.  One topology per
session, torn down at its end whatever happened; at the end every log is
searched for sanitizer reports, which fail the session.
"""
import http.client
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import uuid

import pytest

SRC = pathlib.Path(__file__).resolve().parents[2]
TOPOLOGY = SRC / "tests" / "scaleout" / "topology"
SANITIZER_REPORT = re.compile(rb"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:")
# tenants.py of the integration tests: companies and users made in the
# database, tokens signed with the stack's key
sys.path.insert(0, str(SRC / "tests" / "integration"))

HOSTS = 3
# The rate-limit company's default class: a bucket of CAPACITY that does
# not refill within the test.
RL_CAPACITY = 12
RL_RATE = 0.0001
ACCESS_TOKEN_TTL_S = 60


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    @property
    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.body[:200]!r}>"


class Topology:
    def __init__(self, directory, build):
        self.dir = pathlib.Path(directory)
        self.build = pathlib.Path(build)
        self.rl_company = str(uuid.uuid4())
        self.env = {}

    def ctl(self, command, *args, check=True, timeout=120):
        return subprocess.run([str(TOPOLOGY), command, str(self.dir), *map(str, args)],
                              check=check, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "TOPOLOGY_QUIET": "1"})

    def load_env(self):
        self.env = dict(l.split("=", 1) for l in self.ctl("env").stdout.splitlines())
        self.lb_port = int(self.env["LB_PORT"])
        self.hosts = self.env["HOST_ADDRS"].split()
        # what tenants.psql and tenants.jwt_secret look for
        self.run = pathlib.Path(self.env["DB_DIR"]) / "run"

    def host_name(self, addr):
        """h1, h2, ... of a host's address (with or without :80)."""
        return f"h{self.hosts.index(addr.split(':')[0]) + 1}"

    def request(self, method, path, headers=None, body=None, host=None, timeout=15):
        """To the load balancer, or with host=i straight to host h(i+1)."""
        if host is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.lb_port, timeout=timeout)
        else:
            conn = http.client.HTTPConnection(self.hosts[host], 80, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            r = conn.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def post_json(self, path, obj, headers=None, **kw):
        return self.request("POST", path, headers={"Content-Type": "application/json",
                                                   **(headers or {})},
                            body=json.dumps(obj).encode(), **kw)

    def log_lines(self, host, program):
        """The JSON lines of a program's log on host h1, h2, ..."""
        f = self.dir / host / "log" / f"{program}.log"
        return [json.loads(l) for l in f.read_text(errors="replace").splitlines()
                if l.startswith("{")]

    def redis(self, *args):
        p = subprocess.run(["redis-cli", "-s", str(self.run / "redis.sock"), *args],
                           capture_output=True, text=True, timeout=10,
                           env={**os.environ, "REDISCLI_AUTH":
                                (self.run.parent / "redis-password").read_text().strip()})
        assert p.returncode == 0, p.stderr
        return p.stdout.rstrip("\n")


def sanitizer_reports(directory):
    return [str(f) for f in pathlib.Path(directory).glob("*/log/*.log")
            if SANITIZER_REPORT.search(f.read_bytes())]


@pytest.fixture(scope="session")
def topo():
    build = os.environ.get("GERBANG_BUILD", str(SRC / "_build" / "plain"))
    directory = tempfile.mkdtemp(prefix="gerbang-scale-")
    os.chmod(directory, 0o755)
    t = Topology(directory, build)
    rl = t.dir / "ratelimit.json"
    rl.write_text(json.dumps({
        # classes that the load of the tests never trips...
        "classes": {"default": {"rate": 100000, "capacity": 100000},
                    "login_ip": {"rate": 1000, "capacity": 1000},
                    "login_account": {"rate": 1000, "capacity": 1000}},
        # ...and one company whose bucket is small and does not refill
        "companies": {t.rl_company: {"default": {"rate": RL_RATE, "capacity": RL_CAPACITY}}}}))
    env = t.dir / "hosts.env"
    env.write_text(f"ACCESS_TOKEN_TTL_S={ACCESS_TOKEN_TTL_S}\nJWT_LEEWAY_S=0\n"
                   "TASKS_MAX_QUEUED=5000\n")
    try:
        t.ctl("up", "--hosts", HOSTS, "--build", build, "--ratelimit-file", rl,
              "--env-file", env, timeout=180)
    except subprocess.CalledProcessError as e:
        shutil.rmtree(directory, ignore_errors=True)
        pytest.fail(f"the topology did not come up: {e.stderr}")
    try:
        t.load_env()
        yield t
    finally:
        down = t.ctl("down", check=False, timeout=180)
        assert down.returncode == 0, down.stderr
    reports = sanitizer_reports(directory)
    if reports:
        for f in reports:
            print(pathlib.Path(f).read_text(errors="replace")[-4000:])
        pytest.fail(f"sanitizer reports in {reports}")
    if not os.environ.get("SCALEOUT_KEEP"):
        shutil.rmtree(directory, ignore_errors=True)
