"""Every program answers one plain CGI request from a shell, and refuses bad setups."""
import os
import subprocess

from conftest import SRC


def run(stack, env, *args):
    prog = stack.build / "fcgi" / "gerbang-health"
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS")}
    return subprocess.run([str(prog), *args], env={**base, **env}, capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=30)


def test_cgi_request(stack):
    p = run(stack, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/healthz",
                    "HTTP_X_REQUEST_ID": "cgi-1"})
    assert p.returncode == 0, p.stderr
    head, body = p.stdout.split(b"\r\n\r\n", 1)
    assert head.startswith(b"Status: 200 OK\r\n")
    assert b"X-Request-Id: cgi-1" in head
    assert b'"request_id":"cgi-1"' in body


def test_cgi_path_info(stack):
    p = run(stack, {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/version"})
    assert p.stdout.startswith(b"Status: 200 OK\r\n"), p


def test_nothing_to_serve(stack):
    p = run(stack, {})
    assert p.returncode == 64
    assert b"nothing to serve" in p.stderr


def test_bad_configuration_names_the_key(stack):
    for key, value in (("THREADS", "0"), ("THREADS", "4x"), ("MAX_BODY_BYTES", "-1"),
                       ("LOG_LEVEL", "loud"), ("SOCKET_MODE", "999"),
                       ("REDIS_URL", "http://x"), ("DB_TIMEOUT_MS", "99999999999999999999"),
                       ("RATE_LIMIT_FILE", "/nonexistent.json"), ("TRUSTED_PROXIES", "x"),
                       ("CORS_ORIGINS", "https://app.example/"),
                       ("RATE_LIMIT_FAIL", "sometimes")):
        p = run(stack, {"REQUEST_METHOD": "GET", key: value})
        assert p.returncode == 78, (key, value, p)
        assert key.encode() in p.stderr, (key, p.stderr)


def test_secret_from_file(stack, tmp_path):
    f = tmp_path / "url"
    f.write_text("redis://127.0.0.1:1/0\n")
    p = run(stack, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/healthz", "REDIS_URL_FILE": str(f)})
    assert p.returncode == 0, p.stderr
    p = run(stack, {"REQUEST_METHOD": "GET", "REDIS_URL_FILE": str(tmp_path / "missing")})
    assert p.returncode == 78 and b"REDIS_URL_FILE" in p.stderr


def test_bad_arguments(stack):
    assert run(stack, {}, "--threads", "0").returncode == 64
    assert run(stack, {}, "--bogus").returncode == 64
    v = run(stack, {}, "--version")
    assert v.returncode == 0 and v.stdout.startswith(b"gerbang-health ")


def test_body_shorter_than_its_length_is_400(stack):
    """A body that ends before Content-Length is the client's fault: 400,
    not an internal error."""
    prog = stack.build / "fcgi" / "gerbang-auth"
    env = dict(line.split("=", 1) for line in stack.ctl("env").stdout.splitlines())
    env.update({k: v for k, v in os.environ.items()
                if k in ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")})
    env.update({"REQUEST_METHOD": "POST", "REQUEST_URI": "/v1/auth/login",
                "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "100",
                "REMOTE_ADDR": "127.0.0.1"})
    p = subprocess.run([str(prog)], env=env, input=b'{"company":', capture_output=True,
                       timeout=30)
    head, body = p.stdout.split(b"\r\n\r\n", 1)
    assert head.startswith(b"Status: 400 "), p
    assert b'"message":"the request body ended early"' in body
