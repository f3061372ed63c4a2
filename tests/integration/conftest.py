"""The private stack the integration tests talk to.

One stack per test session, in a temporary directory: PostgreSQL and Redis on
unix sockets, every FastCGI program of the build in GERBANG_BUILD, nginx on
free loopback ports.  Nothing is mocked.  At the end every program log is
searched for sanitizer reports, which fail the session.
"""
import http.client
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

SRC = pathlib.Path(__file__).resolve().parents[2]
STACK = SRC / "scripts" / "stack"
SANITIZER_REPORT = re.compile(rb"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class Stack:
    def __init__(self, directory, build):
        self.dir = pathlib.Path(directory)
        self.build = pathlib.Path(build)
        self.http_port = free_port()
        self.https_port = free_port()
        self.echo_port = free_port()
        self.provider_port = free_port()   # scripts/fake-provider
        self.log = self.dir / "log"
        self.run = self.dir / "run"

    def ctl(self, command, *args, check=True, env=None):
        return subprocess.run([str(STACK), command, str(self.dir), *map(str, args)],
                              check=check, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "STACK_QUIET": "1", **(env or {})})

    def request(self, method, path, headers=None, body=None, https=False,
                port=None, timeout=15):
        if https:
            ctx = ssl.create_default_context(cafile=str(self.dir / "tls" / "cert.pem"))
            conn = http.client.HTTPSConnection("127.0.0.1", port or self.https_port,
                                               context=ctx, timeout=timeout)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", port or self.http_port,
                                              timeout=timeout)
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

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def pid(self, program):
        return int((self.run / f"{program}.pid").read_text())

    def log_lines(self, program):
        out = []
        for line in (self.log / f"{program}.log").read_text(errors="replace").splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def wait_log(self, program, predicate, seconds=5):
        """The first log line of program for which predicate is true, waiting
        for it: access lines reach the log a moment after the response (a
        serving thread writes them together, at the latest when it idles)."""
        deadline = time.monotonic() + seconds
        while True:
            for line in self.log_lines(program):
                if predicate(line):
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"no such line in {program}.log within {seconds}s")
            time.sleep(0.05)

    def wait_status(self, path, status, seconds=20):
        deadline = time.monotonic() + seconds
        r = None
        while time.monotonic() < deadline:
            r = self.get(path)
            if r.status == status:
                return r
            time.sleep(0.2)
        raise AssertionError(f"{path} did not answer {status} within {seconds}s: {r}")


def sanitizer_reports(directory):
    found = []
    for f in pathlib.Path(directory).glob("log/*.log"):
        if SANITIZER_REPORT.search(f.read_bytes()):
            found.append(str(f))
    return found


@pytest.fixture(scope="session")
def stack():
    build = os.environ.get("GERBANG_BUILD", str(SRC / "_build" / "plain"))
    directory = tempfile.mkdtemp(prefix="gerbang-it-")
    os.chmod(directory, 0o755)
    s = Stack(directory, build)
    try:
        # with the development accounts of README.md (GERBANG_SEED)
        s.ctl("start", "--build", build, "--http-port", s.http_port,
              "--https-port", s.https_port, "--echo-port", s.echo_port,
              "--provider-port", s.provider_port,
              env={"GERBANG_SEED": "1"})
    except subprocess.CalledProcessError as e:
        s.ctl("stop", check=False)
        pytest.fail(f"stack did not start: {e.stderr}")
    yield s
    s.ctl("stop", check=False)
    reports = sanitizer_reports(directory)
    if reports:
        for f in reports:
            print(pathlib.Path(f).read_text(errors="replace")[-4000:])
        pytest.fail(f"sanitizer reports in {reports}")
    shutil.rmtree(directory, ignore_errors=True)


def envelope_error(r, status):
    """Asserts r is an error envelope with status and returns its body."""
    assert r.status == status, r
    assert r.header("content-type").startswith("application/json"), r.headers
    body = r.json
    assert body["ok"] is False
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict)
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", body["request_id"])
    return body
