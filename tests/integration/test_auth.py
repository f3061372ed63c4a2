"""gerbang-auth through nginx: login, refresh rotation and reuse, logout,
/v1/me, and every way to forge or bend an access token."""
import json
import statistics
import time

import pytest

from conftest import envelope_error
from tenants import Tenant, b64url, b64url_decode, claims, jwt_secret, login, psql, sign


@pytest.fixture(scope="module")
def demo(stack):
    return Tenant(stack)


@pytest.fixture(scope="module")
def acme(stack):
    return Tenant(stack)


def me(stack, token, **headers):
    return stack.get("/v1/me", headers={"Authorization": f"Bearer {token}", **headers})


def test_login(stack, demo):
    r = login(stack, demo.slug, demo.member_email, demo.password)
    assert r.status == 200, r
    d = r.json["data"]
    assert d["token_type"] == "Bearer"
    assert d["expires_in"] == 900
    assert len(d["refresh_token"]) == 43
    header = json.loads(b64url_decode(d["access_token"].split(".")[0]))
    payload = json.loads(b64url_decode(d["access_token"].split(".")[1]))
    assert header["alg"] == "HS256"
    assert payload["sub"] == demo.member_id
    assert payload["company_id"] == demo.id
    assert payload["role"] == "member"
    assert payload["iss"] == "gerbang" and payload["aud"] == "gerbang"
    assert payload["exp"] - payload["iat"] == 900
    # the login is logged without the password or the tokens
    log = (stack.log / "auth.log").read_text()
    assert demo.password not in log and d["refresh_token"] not in log
    assert d["access_token"].split(".")[2] not in log


def test_login_email_case_insensitive(stack, demo):
    assert login(stack, demo.slug, demo.member_email.upper(), demo.password).status == 200


@pytest.mark.parametrize("who", ["wrong password", "unknown user", "unknown company", "disabled"])
def test_login_failures_look_alike(stack, demo, who):
    company, email, password = demo.slug, demo.member_email, demo.password
    if who == "wrong password":
        password = "not-it"
    elif who == "unknown user":
        email = "nobody@nowhere.test"
    elif who == "unknown company":
        company = "no-such-company"
    else:
        email = demo.disabled_email
    r = login(stack, company, email, password)
    body = envelope_error(r, 401)
    assert body["message"] == "invalid credentials"
    assert body["errors"] == {}


def test_login_failures_take_about_as_long(stack, demo):
    """Unknown accounts pay the same password work as known ones."""
    def timed(company, email):
        t = []
        for _ in range(5):
            t0 = time.monotonic()
            assert login(stack, company, email, "not-it").status == 401
            t.append(time.monotonic() - t0)
        return statistics.median(t)

    known = timed(demo.slug, demo.member_email)
    for company, email in ((demo.slug, "nobody@nowhere.test"),
                           ("no-such-company", demo.member_email)):
        other = timed(company, email)
        assert other > known * 0.5, (company, email, other, known)


def test_login_validation(stack):
    r = stack.request("POST", "/v1/auth/login", headers={"Content-Type": "application/json"},
                      body=b'{"email": 5, "company_id": "x"}')
    body = envelope_error(r, 422)
    assert set(body["errors"]) == {"company", "email", "password", "company_id"}
    assert body["errors"]["company_id"] == ["unknown field"]
    envelope_error(stack.request("POST", "/v1/auth/login", body=b"{}",
                                 headers={"Content-Type": "text/plain"}), 415)
    body = envelope_error(stack.request("POST", "/v1/auth/login", body=b'{"company": ',
                                        headers={"Content-Type": "application/json"}), 400)
    assert "line 1" in body["errors"]["body"][0]
    envelope_error(stack.request("POST", "/v1/auth/login", body=b'[1]',
                                 headers={"Content-Type": "application/json"}), 400)
    envelope_error(stack.request("POST", "/v1/auth/login", body=b'{"a":1,"a":2}',
                                 headers={"Content-Type": "application/json"}), 400)
    envelope_error(stack.get("/v1/auth/login"), 405)


def test_me(stack, demo, acme):
    for t, email, uid, role in ((demo, demo.owner_email, demo.owner_id, "owner"),
                                (acme, acme.member_email, acme.member_id, "member")):
        tok = login(stack, t.slug, email, t.password).json["data"]["access_token"]
        r = me(stack, tok)
        assert r.status == 200, r
        assert r.json["data"]["id"] == uid
        assert r.json["data"]["company_id"] == t.id
        assert r.json["data"]["role"] == role
        assert r.json["data"]["platform_admin"] is False


def test_me_ignores_smuggled_company(stack, demo, acme):
    tok = login(stack, demo.slug, demo.member_email, demo.password).json["data"]["access_token"]
    r = stack.get(f"/v1/me?company_id={acme.id}",
                  headers={"Authorization": f"Bearer {tok}", "X-Company-Id": acme.id})
    assert r.json["data"]["company_id"] == demo.id


def test_no_token(stack):
    r = stack.get("/v1/me")
    envelope_error(r, 401)
    assert r.header("www-authenticate") == 'Bearer realm="gerbang"'


def test_our_own_signing_is_accepted(stack, demo):
    """The forgeries below are meaningful only if a correct token passes."""
    tok = sign({"alg": "HS256", "typ": "JWT"}, claims(demo.member_id, demo.id), jwt_secret(stack))
    assert me(stack, tok).status == 200


def forgeries(stack, demo, acme):
    key = jwt_secret(stack)
    good = claims(demo.member_id, demo.id)
    valid = sign({"alg": "HS256", "typ": "JWT"}, good, key)
    h, p, s = valid.split(".")
    flipped = s[:-2] + ("A" if s[-2] != "A" else "B") + s[-1]
    role_up = b64url(json.dumps({**good, "role": "owner"}, separators=(",", ":")).encode())
    import hashlib
    import hmac as hm
    hs512 = b64url(json.dumps({"alg": "HS512"}).encode()) + "." + p
    hs512 += "." + b64url(hm.new(key, hs512.encode(), hashlib.sha512).digest())
    now = int(time.time())
    none = b64url(b'{"alg":"none"}')
    none_up = b64url(b'{"alg":"NONE"}')
    return {
        "alg none": f"{none}.{p}.",
        "alg NONE": f"{none_up}.{p}.",
        "alg None signed": sign({"alg": "None"}, good, key),
        "alg hs256": sign({"alg": "hs256"}, good, key),
        "alg HS512": hs512,
        "alg RS256 with HMAC": sign({"alg": "RS256"}, good, key),
        "crit header": sign({"alg": "HS256", "crit": ["exp"]}, good, key),
        "other key": sign({"alg": "HS256"}, good, b"x" * 32),
        "flipped signature": f"{h}.{p}.{flipped}",
        "role raised, not re-signed": f"{h}.{role_up}.{s}",
        "empty signature": f"{h}.{p}.",
        "expired": sign({"alg": "HS256"}, {**good, "iat": now - 4000, "exp": now - 3600}, key),
        "not yet valid": sign({"alg": "HS256"}, {**good, "nbf": now + 3600}, key),
        "issued in the future": sign({"alg": "HS256"}, {**good, "iat": now + 3600, "exp": now + 7200}, key),
        "wrong iss": sign({"alg": "HS256"}, {**good, "iss": "evil"}, key),
        "wrong aud": sign({"alg": "HS256"}, {**good, "aud": "other"}, key),
        "aud list without ours": sign({"alg": "HS256"}, {**good, "aud": ["a", "b"]}, key),
        "exp as string": sign({"alg": "HS256"}, {**good, "exp": str(now + 300)}, key),
        "exp as real": sign({"alg": "HS256"}, {**good, "exp": now + 300.5}, key),
        "no exp": sign({"alg": "HS256"}, {k: v for k, v in good.items() if k != "exp"}, key),
        "no company_id": sign({"alg": "HS256"}, {k: v for k, v in good.items() if k != "company_id"}, key),
        "company_id not a uuid": sign({"alg": "HS256"}, {**good, "company_id": "1 or 1=1"}, key),
        "role superuser": sign({"alg": "HS256"}, {**good, "role": "superuser"}, key),
        "duplicate claim": sign({"alg": "HS256"}, None, key, raw_payload=(
            json.dumps(good, separators=(",", ":"))[:-1] + ',"role":"owner"}').encode()),
        "four segments": valid + ".x",
        "two segments": f"{h}.{p}",
        "padding": f"{h}.{p}.{s}==",
        "not base64url": f"{h}.{p}.{s[:-1]}*",
        "oversized": sign({"alg": "HS256"}, {**good, "x": "a" * 5000}, key),
        "garbage": "abc",
    }


def test_forged_tokens_are_rejected(stack, demo, acme):
    for name, tok in forgeries(stack, demo, acme).items():
        r = me(stack, tok)
        body = envelope_error(r, 401)
        assert body["message"] == "invalid or expired token", name
        assert 'error="invalid_token"' in r.header("www-authenticate"), name


@pytest.mark.parametrize("value", ["Basic dXNlcjpwdw==", "Bearer", "Bearer ", "bearer x.y.z", "Token abc"])
def test_bad_authorization_headers(stack, value):
    envelope_error(stack.get("/v1/me", headers={"Authorization": value}), 401)


def refresh(stack, token):
    return stack.request("POST", "/v1/auth/refresh", headers={"Content-Type": "application/json"},
                         body=json.dumps({"refresh_token": token}).encode())


def test_refresh_rotates(stack, demo):
    first = login(stack, demo.slug, demo.owner_email, demo.password).json["data"]
    r = refresh(stack, first["refresh_token"])
    assert r.status == 200, r
    second = r.json["data"]
    assert second["refresh_token"] != first["refresh_token"]
    assert me(stack, second["access_token"]).json["data"]["role"] == "owner"
    assert me(stack, second["access_token"]).json["data"]["id"] == demo.owner_id
    rows = psql(stack, "select count(*) filter (where revoked_at is null), count(*) from "
                f"gerbang.refresh_tokens where user_id = '{demo.owner_id}' and family = "
                f"(select family from gerbang.refresh_tokens where replaced_by is not null "
                f"and user_id = '{demo.owner_id}' order by created_at desc limit 1)")
    assert rows == ["1|2"]


def test_refresh_reuse_revokes_the_family(stack, demo):
    first = login(stack, demo.slug, demo.member_email, demo.password).json["data"]
    second = refresh(stack, first["refresh_token"]).json["data"]
    # the thief replays the first token: refused, and the family is gone
    envelope_error(refresh(stack, first["refresh_token"]), 401)
    envelope_error(refresh(stack, second["refresh_token"]), 401)


@pytest.mark.parametrize("token", ["", "x" * 43, "short", "a" * 300, "../../etc/passwd"])
def test_refresh_garbage(stack, token):
    r = refresh(stack, token)
    assert r.status in (401, 422), r
    envelope_error(r, r.status)


def test_refresh_disabled_user(stack, demo):
    t = login(stack, demo.slug, demo.member_email, demo.password).json["data"]
    psql(stack, f"update gerbang.users set disabled = true where id = '{demo.member_id}'")
    try:
        envelope_error(refresh(stack, t["refresh_token"]), 401)
    finally:
        psql(stack, f"update gerbang.users set disabled = false where id = '{demo.member_id}'")


def test_logout(stack, demo):
    t = login(stack, demo.slug, demo.member_email, demo.password).json["data"]
    r = stack.request("POST", "/v1/auth/logout", headers={"Content-Type": "application/json"},
                      body=json.dumps({"refresh_token": t["refresh_token"]}).encode())
    assert r.status == 200 and r.json["ok"] is True
    envelope_error(refresh(stack, t["refresh_token"]), 401)
    # unknown tokens get the same answer
    r = stack.request("POST", "/v1/auth/logout", headers={"Content-Type": "application/json"},
                      body=json.dumps({"refresh_token": "A" * 43}).encode())
    assert r.status == 200


def test_login_after_postgres_restart(stack, demo):
    pid = stack.pid("auth")
    assert login(stack, demo.slug, demo.member_email, demo.password).status == 200
    stack.ctl("pg-stop")
    try:
        r = login(stack, demo.slug, demo.member_email, demo.password)
        envelope_error(r, 503)
    finally:
        stack.ctl("pg-start")
    for _ in range(8):
        assert login(stack, demo.slug, demo.member_email, demo.password).status == 200
    assert stack.pid("auth") == pid


def cgi_me(stack, token, keys):
    """GET /v1/me answered by the built gerbang-auth as one CGI request,
    configured for RS256 with keys = (private, public)."""
    import os
    import subprocess
    env = {"PATH": os.environ["PATH"], "REQUEST_METHOD": "GET", "REQUEST_URI": "/v1/me",
           "HTTP_AUTHORIZATION": f"Bearer {token}", "JWT_ALG": "RS256",
           "JWT_PRIVATE_KEY_FILE": str(keys[0]), "JWT_PUBLIC_KEY_FILE": str(keys[1])}
    env.update({k: v for k, v in os.environ.items() if k.endswith("SAN_OPTIONS")})
    p = subprocess.run([str(stack.build / "fcgi" / "gerbang-auth")], env=env,
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.split(b"\r\n", 1)[0].decode()


def test_rs256_key_confusion(stack, demo, tmp_path):
    """With RS256 configured, an HMAC "signed" with the public key (the
    classic algorithm confusion) is refused; a real RS256 signature passes."""
    import hashlib
    import hmac as hm
    import subprocess
    priv, pub = tmp_path / "key.pem", tmp_path / "key.pub"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(priv)], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", str(priv), "-pubout", "-out", str(pub)],
                   check=True, capture_output=True)
    body = b64url(json.dumps(claims(demo.member_id, demo.id), separators=(",", ":")).encode())

    def hmac_with_public_key(alg):
        head = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        mac = hm.new(pub.read_bytes(), f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{b64url(mac)}"

    head = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(priv)],
                         input=f"{head}.{body}".encode(), capture_output=True, check=True).stdout
    assert cgi_me(stack, f"{head}.{body}.{b64url(sig)}", (priv, pub)) == "Status: 200 OK"
    assert cgi_me(stack, hmac_with_public_key("HS256"), (priv, pub)) == "Status: 401 Unauthorized"
    assert cgi_me(stack, hmac_with_public_key("RS256"), (priv, pub)) == "Status: 401 Unauthorized"
