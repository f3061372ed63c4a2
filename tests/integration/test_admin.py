"""gerbang-admin against the stack: check-config, companies, users, passwords,
tokens, and the development accounts that `scripts/stack start` seeds."""
import base64
import json
import os
import re
import secrets
import subprocess

import pytest

from conftest import STACK

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PASSWORD = "first-password-1"


def stack_env(stack):
    """The environment the stack's programs get (`scripts/stack env DIR`)."""
    out = subprocess.run([str(STACK), "env", str(stack.dir)], check=True,
                         capture_output=True, text=True, timeout=30).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


def admin(stack, *args, stdin=None, env=None, drop=()):
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS")}
    e = {**base, **stack_env(stack), **(env or {})}
    for k in drop:
        e.pop(k, None)
    return subprocess.run([str(stack.build / "tools" / "gerbang-admin"), *args], env=e,
                          input=stdin if stdin is not None else "", capture_output=True,
                          text=True, timeout=60)


def ok(p):
    assert p.returncode == 0, (p.returncode, p.stderr)
    assert "ERROR:" not in p.stderr and "runtime error" not in p.stderr, p.stderr
    return p.stdout


def login(stack, company, email, password):
    return stack.request("POST", "/v1/auth/login", headers={"Content-Type": "application/json"},
                         body=json.dumps({"company": company, "email": email,
                                          "password": password}).encode())


def refresh(stack, token):
    return stack.request("POST", "/v1/auth/refresh", headers={"Content-Type": "application/json"},
                         body=json.dumps({"refresh_token": token}).encode())


def me(stack, token):
    return stack.get("/v1/me", headers={"Authorization": f"Bearer {token}"})


def payload(token):
    p = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


@pytest.fixture
def company(stack):
    slug = f"adm-{secrets.token_hex(4)}"
    cid = ok(admin(stack, "company", "create", slug, "Admin Test Company")).strip()
    assert UUID.fullmatch(cid)
    return slug


def new_user(stack, slug, role="member", password=PASSWORD, *extra):
    email = f"u-{secrets.token_hex(3)}@example.test"
    uid = ok(admin(stack, "user", "create", "--company", slug, "--email", email, "--role", role,
                   *extra, stdin=password + "\n")).strip()
    assert UUID.fullmatch(uid)
    return email, uid


# ---- check-config ---------------------------------------------------------

def test_check_config_ok(stack):
    p = admin(stack, "check-config")
    out = ok(p)
    assert out.rstrip().endswith("configuration OK")
    for key in ("DATABASE_URL", "REDIS_URL", "RUN_DIR", "THREADS", "JWT_ALG", "JWT_SECRET",
                "ACCESS_TOKEN_TTL_S", "REFRESH_TOKEN_TTL_S"):
        assert re.search(rf"^{key}=", out, re.M), key
    assert "DATABASE_URL=(set)" in out and "JWT_SECRET=(set)" in out
    assert "HS256" in out
    secret = (stack.dir / "jwt-secret").read_text().strip()
    env = stack_env(stack)
    for value in (secret, env["DATABASE_URL"], env["REDIS_URL"]):
        assert value not in out and value not in p.stderr


@pytest.mark.parametrize("key,env,drop", [
    ("THREADS", {"THREADS": "0"}, ()),
    ("LOG_LEVEL", {"LOG_LEVEL": "loud"}, ()),
    ("REDIS_URL", {"REDIS_URL": "http://127.0.0.1/"}, ()),
    ("DATABASE_URL", {"DATABASE_URL": "postgresql://[oops"}, ()),
    ("JWT_SECRET", {"JWT_SECRET": "too-short-secret-value"}, ("JWT_SECRET_FILE",)),
    ("JWT_SECRET_FILE", {"JWT_SECRET_FILE": "/nonexistent/secret"}, ()),
    ("JWT_PUBLIC_KEY_FILE", {"JWT_ALG": "RS256"}, ()),
])
def test_check_config_bad_key(stack, key, env, drop):
    p = admin(stack, "check-config", env=env, drop=drop)
    assert p.returncode == 78, (p.returncode, p.stdout, p.stderr)
    assert key in p.stderr, p.stderr
    assert "configuration OK" not in p.stdout
    assert "too-short-secret-value" not in p.stderr + p.stdout


def test_check_config_plugins(stack, tmp_path):
    p = admin(stack, "check-config")
    assert re.search(r"^plugins: 2 in ", ok(p), re.M), p.stdout
    bad = tmp_path / "plugins.d"
    bad.mkdir()
    (bad / "a.json").write_text('{"name": "a", "version": "1", "mount": "/v1/plugins/a", "upstream": '
                                '"ftp://x", "auth_mode": "public"}')
    p = admin(stack, "check-config", env={"PLUGIN_DIR": str(bad)})
    assert p.returncode == 78, p
    assert "PLUGIN_DIR" in p.stderr and "a.json" in p.stderr and "upstream" in p.stderr
    p = admin(stack, "check-config", env={"PLUGIN_DIR": str(tmp_path / "none")})
    assert p.returncode == 0 and "does not exist" in p.stdout


def test_check_config_edge(stack, tmp_path):
    out = ok(admin(stack, "check-config"))
    assert re.search(r"^rate limits: 4 classes, 0 company overrides; trusted proxies: 0; "
                     r"CORS: on$", out, re.M), out
    rl = tmp_path / "rl.json"
    rl.write_text('{"classes": {"login_ip": {"rate": 0}}}')
    for env, words in (
            ({"RATE_LIMIT_FILE": str(rl)}, ("RATE_LIMIT_FILE", "rl.json", "classes.login_ip.rate")),
            ({"RATE_LIMIT_FILE": str(tmp_path / "none.json")}, ("RATE_LIMIT_FILE", "none.json")),
            ({"TRUSTED_PROXIES": "10.0.0.1/8"}, ("TRUSTED_PROXIES", "10.0.0.0/8")),
            ({"TRUSTED_PROXIES": "not-an-address"}, ("TRUSTED_PROXIES",)),
            ({"CORS_ORIGINS": "https://app.example/"}, ("CORS_ORIGINS: origins entry 1",)),
            ({"CORS_ORIGINS": "*", "CORS_CREDENTIALS": "on"}, ("CORS_CREDENTIALS",)),
            ({"RATE_LIMIT_RATE": "0"}, ("RATE_LIMIT_RATE",))):
        p = admin(stack, "check-config", env=env)
        assert p.returncode == 78, (env, p.stdout, p.stderr)
        for w in words:
            assert w in p.stderr, (w, p.stderr)
    out = ok(admin(stack, "check-config", env={"RATE_LIMIT": "off",
                                                "TRUSTED_PROXIES": "10.0.0.0/8 ::1"}))
    assert "rate limits: off; trusted proxies: 2" in out


def test_bad_configuration_stops_every_command(stack, company):
    p = admin(stack, "company", "show", company, env={"DB_TIMEOUT_MS": "1"})
    assert p.returncode == 78 and "DB_TIMEOUT_MS" in p.stderr


# ---- usage ------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    [], ["frobnicate"], ["company"], ["company", "create", "only-slug"],
    ["company", "create", "Bad_Slug", "Name"], ["company", "create", "-x", "Name"],
    ["user", "create", "--company", "demo", "--email", "a@b.test"],
    ["user", "create", "--company", "demo", "--email", "a@b.test", "--role", "king"],
    ["user", "create", "--company", "demo", "--email", "not-an-email", "--role", "member"],
    ["user", "create", "--company", "demo", "--email", "a@b.test", "--role", "member",
     "--password", "in-argv-never"],
    ["user", "list", "--company", "demo", "--role", "owner"],
    ["token", "issue", "--company", "demo"],
    ["check-config", "extra"],
])
def test_usage(stack, args):
    p = admin(stack, *args)
    assert p.returncode == 64, (args, p.returncode, p.stderr)
    assert "usage" in p.stderr or "gerbang-admin:" in p.stderr


def test_help_and_version(stack):
    assert "user set-password" in ok(admin(stack, "--help"))
    assert ok(admin(stack, "--version")).startswith("gerbang-admin ")
    assert "--role" in ok(admin(stack, "user", "create", "--help"))


def test_database_unreachable(stack):
    p = admin(stack, "company", "list",
              env={"DATABASE_URL": f"postgresql:///gerbang?host={stack.dir}/nowhere&user=gerbang"})
    assert p.returncode == 69, (p.returncode, p.stderr)
    assert "unreachable" in p.stderr


# ---- companies --------------------------------------------------------------

def test_company_create_show_list_duplicate(stack):
    slug = f"adm-{secrets.token_hex(4)}"
    cid = ok(admin(stack, "company", "create", slug, "Acme Widgets")).strip()
    assert UUID.fullmatch(cid)
    dup = admin(stack, "company", "create", slug, "Another Name")
    assert dup.returncode == 1, dup
    assert "already exists" in dup.stderr and slug in dup.stderr
    shown = ok(admin(stack, "company", "show", slug)).rstrip("\n").split("\t")
    assert shown[:3] == [cid, slug, "Acme Widgets"]
    listed = [line.split("\t") for line in ok(admin(stack, "company", "list")).splitlines()]
    assert [cid, slug, "Acme Widgets"] in [row[:3] for row in listed]
    assert {"demo", "acme"} <= {row[1] for row in listed}


def test_company_unknown(stack):
    p = admin(stack, "company", "show", "no-such-company")
    assert p.returncode == 1 and "no-such-company" in p.stderr


# ---- users ------------------------------------------------------------------

def test_user_create_and_login(stack, company):
    email = f"Mixed.Case-{secrets.token_hex(3)}@Example.TEST"
    p = admin(stack, "user", "create", "--company", company, "--email", email,
              "--role", "admin", stdin=PASSWORD + "\n")
    uid = ok(p).strip()
    assert UUID.fullmatch(uid)
    assert PASSWORD not in p.stdout + p.stderr
    row = ok(admin(stack, "user", "show", "--company", company, "--email", email)).split("\t")
    assert row[:5] == [uid, email.lower(), "admin", "enabled", "-"]
    r = login(stack, company, email.lower(), PASSWORD)
    assert r.status == 200, r
    token = r.json["data"]["access_token"]
    assert payload(token)["sub"] == uid and payload(token)["role"] == "admin"
    listed = ok(admin(stack, "user", "list", "--company", company))
    assert email.lower() in listed


def test_user_create_duplicate(stack, company):
    email, _ = new_user(stack, company)
    p = admin(stack, "user", "create", "--company", company, "--email", email.upper(),
              "--role", "viewer", stdin="another-password\n")
    assert p.returncode == 1 and "already exists" in p.stderr


@pytest.mark.parametrize("stdin,why", [
    ("", "no password"), ("\n", "no password"), ("short7\n", "shorter than 8"),
    ("a" * 2000 + "\n", "longer than"), ("with\0nul-byte\n", "NUL"),
])
def test_user_create_refuses_bad_passwords(stack, company, stdin, why):
    email = f"bad-{secrets.token_hex(3)}@example.test"
    p = admin(stack, "user", "create", "--company", company, "--email", email,
              "--role", "member", stdin=stdin)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert why in p.stderr
    assert admin(stack, "user", "show", "--company", company, "--email", email).returncode == 1


def test_password_first_line_only_crlf(stack, company):
    email, _ = new_user(stack, company, "member", "crlf-password\r\nsecond line")
    assert login(stack, company, email, "crlf-password").status == 200


def test_user_in_unknown_company(stack):
    p = admin(stack, "user", "create", "--company", "no-such-company", "--email", "a@b.test",
              "--role", "member", stdin=PASSWORD + "\n")
    assert p.returncode == 1 and "no-such-company" in p.stderr


def test_set_password_revokes_refresh_tokens(stack, company):
    email, _ = new_user(stack, company)
    r = login(stack, company, email, PASSWORD)
    assert r.status == 200, r
    old_refresh = r.json["data"]["refresh_token"]
    p = admin(stack, "user", "set-password", "--company", company, "--email", email,
              stdin="second-password-2\n")
    assert "1 refresh token revoked" in ok(p)
    assert "second-password-2" not in p.stdout + p.stderr
    assert login(stack, company, email, PASSWORD).status == 401
    assert login(stack, company, email, "second-password-2").status == 200
    assert refresh(stack, old_refresh).status == 401
    short = admin(stack, "user", "set-password", "--company", company, "--email", email,
                  stdin="short\n")
    assert short.returncode == 1
    assert login(stack, company, email, "second-password-2").status == 200


def test_set_password_unknown_user(stack, company):
    p = admin(stack, "user", "set-password", "--company", company,
              "--email", "nobody@example.test", stdin=PASSWORD + "\n")
    assert p.returncode == 1 and "nobody@example.test" in p.stderr


def test_disable_and_enable(stack, company):
    email, _ = new_user(stack, company)
    r = login(stack, company, email, PASSWORD)
    assert r.status == 200
    old_refresh = r.json["data"]["refresh_token"]
    out = ok(admin(stack, "user", "disable", "--company", company, "--email", email))
    assert "disabled" in out and "1 refresh token revoked" in out
    assert login(stack, company, email, PASSWORD).status == 401
    assert refresh(stack, old_refresh).status == 401
    p = admin(stack, "token", "issue", "--company", company, "--email", email)
    assert p.returncode == 1 and "disabled" in p.stderr and p.stdout == ""
    row = ok(admin(stack, "user", "show", "--company", company, "--email", email)).split("\t")
    assert row[3] == "disabled"
    ok(admin(stack, "user", "enable", "--company", company, "--email", email))
    assert login(stack, company, email, PASSWORD).status == 200


# ---- tokens -------------------------------------------------------------------

def test_token_issue(stack, company):
    email, uid = new_user(stack, company, "viewer")
    p = admin(stack, "token", "issue", "--company", company, "--email", email.upper())
    token = ok(p).strip()
    assert p.stderr == ""
    assert token.count(".") == 2 and "\n" not in token
    claims = payload(token)
    assert claims["sub"] == uid and claims["role"] == "viewer" and "pa" not in claims
    r = me(stack, token)
    assert r.status == 200, r
    # /v1/me answers from the token: the user is the one of that email
    assert r.json["data"]["id"] == uid and r.json["data"]["role"] == "viewer"
    assert ok(admin(stack, "user", "show", "--company", company,
                    "--email", email)).split("\t")[:2] == [uid, email]
    assert r.json["data"]["company_id"] == ok(admin(stack, "company", "show", company)).split("\t")[0]


def test_token_issue_platform_admin(stack, company):
    email, _ = new_user(stack, company, "owner", PASSWORD, "--platform-admin")
    token = ok(admin(stack, "token", "issue", "--company", company, "--email", email)).strip()
    assert payload(token)["pa"] is True
    assert me(stack, token).json["data"]["platform_admin"] is True


def test_token_issue_needs_a_signing_key(stack, company):
    email, _ = new_user(stack, company)
    p = admin(stack, "token", "issue", "--company", company, "--email", email,
              env={"JWT_ALG": "ES256"})
    assert p.returncode == 78 and "JWT_PUBLIC_KEY_FILE" in p.stderr and p.stdout == ""


def test_token_issue_unknown_user(stack, company):
    p = admin(stack, "token", "issue", "--company", company, "--email", "nobody@example.test")
    assert p.returncode == 1 and p.stdout == ""


# ---- the seeded development accounts -----------------------------------------

@pytest.mark.parametrize("company,email,password,role,platform", [
    ("demo", "owner@demo.test", "demo-owner-pass", "owner", False),
    ("demo", "member@demo.test", "demo-member-pass", "member", False),
    ("acme", "owner@acme.test", "acme-owner-pass", "owner", False),
    ("acme", "member@acme.test", "acme-member-pass", "member", False),
    ("demo", "root@demo.test", "demo-root-pass", "owner", True),
])
def test_seed_accounts_log_in(stack, company, email, password, role, platform):
    r = login(stack, company, email, password)
    assert r.status == 200, r
    claims = payload(r.json["data"]["access_token"])
    assert claims["role"] == role
    assert claims.get("pa", False) is platform
    r = me(stack, r.json["data"]["access_token"])
    assert r.status == 200 and r.json["data"]["id"] == claims["sub"]
    row = ok(admin(stack, "user", "show", "--company", company, "--email", email)).split("\t")
    assert row[0] == claims["sub"] and row[4] == ("platform-admin" if platform else "-")


def test_seed_companies(stack):
    assert ok(admin(stack, "company", "show", "demo")).split("\t")[2] == "Demo Company"
    assert ok(admin(stack, "company", "show", "acme")).split("\t")[2] == "Acme Corporation"


def test_seed_is_idempotent(stack):
    p = stack.ctl("seed", check=False)
    assert p.returncode == 0, p.stderr
    users = ok(admin(stack, "user", "list", "--company", "demo"))
    for email in ("owner@demo.test", "member@demo.test", "root@demo.test"):
        assert len([u for u in users.splitlines() if u.split("\t")[1] == email]) == 1
