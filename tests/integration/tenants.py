"""Test tenants made directly in the database (as the owner role), so the
identity tests depend neither on the seed data nor on gerbang-admin."""
import base64
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # Debian 12's python3.11 still has it; only for test hashes
import hashlib
import hmac
import json
import secrets
import subprocess
import time


def psql(stack, sql, user="gerbang_owner", check=True):
    """Runs sql through psql; returns stdout lines (tuples only, unaligned)."""
    p = subprocess.run(
        ["psql", f"postgresql:///gerbang?host={stack.run}&user={user}",
         "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
        capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"psql failed: {p.stderr}")
    return p.stdout.split("\n")[:-1] if p.stdout else []


def q(s):
    return "'" + s.replace("'", "''") + "'"


def make_company(stack, prefix="t"):
    slug = f"{prefix}-{secrets.token_hex(4)}"
    cid = psql(stack, f"insert into gerbang.companies (slug, name) values ({q(slug)}, {q(slug)}) returning id")[0]
    return slug, cid


def make_user(stack, cid, email, password, role="member", disabled=False, platform=False):
    h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
    return psql(stack, "insert into gerbang.users (company_id, email, password_hash, role, disabled, platform_admin) "
                f"values ({q(cid)}, {q(email)}, {q(h)}, {q(role)}, {str(disabled).lower()}, {str(platform).lower()}) returning id")[0]


def login(stack, company, email, password, headers=None):
    return stack.request("POST", "/v1/auth/login",
                         headers={"Content-Type": "application/json", **(headers or {})},
                         body=json.dumps({"company": company, "email": email,
                                          "password": password}).encode())


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_secret(stack):
    return (stack.dir / "jwt-secret").read_text().strip().encode()


def sign(header, payload, key, raw_payload=None):
    """A compact JWS signed with HMAC-SHA256 over whatever header says."""
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    p = b64url(raw_payload if raw_payload is not None else
               json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(key, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64url(sig)}"


def claims(sub, cid, role="member", **over):
    now = int(time.time())
    c = {"sub": sub, "company_id": cid, "role": role, "iss": "gerbang",
         "aud": "gerbang", "iat": now, "exp": now + 300}
    c.update(over)
    return c


class Tenant:
    """One company with an owner, a member and a disabled user."""

    def __init__(self, stack):
        self.slug, self.id = make_company(stack)
        self.owner_email = f"owner@{self.slug}.test"
        self.member_email = f"member@{self.slug}.test"
        self.disabled_email = f"gone@{self.slug}.test"
        self.password = "pw-" + secrets.token_hex(6)
        self.owner_id = make_user(stack, self.id, self.owner_email, self.password, "owner")
        self.member_id = make_user(stack, self.id, self.member_email, self.password, "member")
        self.disabled_id = make_user(stack, self.id, self.disabled_email, self.password,
                                     "member", disabled=True)
