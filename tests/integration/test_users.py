"""gerbang-users through nginx: users of the caller's company, companies for
platform admins, the role rules, pagination, and tenant isolation.

Every company and user here is made by the tests themselves (tenants.py, as
the database owner), with unique slugs: nothing depends on the seed data or
disturbs it."""
import concurrent.futures
import datetime
import json
import re
import secrets
import uuid

import pytest

from conftest import envelope_error, free_port
from tenants import login, make_company, make_user, psql, q

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
USER_KEYS = {"id", "email", "role", "disabled", "platform_admin", "created_at", "updated_at"}
PASSWORD = "ut-pass-" + secrets.token_hex(4)


class Account:
    def __init__(self, stack, company, role, disabled=False, platform=False, email=None):
        self.stack = stack
        self.company = company
        self.email = email or f"{role}-{secrets.token_hex(3)}@{company.slug}.test"
        self.password = PASSWORD
        self.role = role
        self.id = make_user(stack, company.id, self.email, self.password, role,
                            disabled=disabled, platform=platform)
        self._token = None

    @property
    def token(self):
        if self._token is None:
            r = login(self.stack, self.company.slug, self.email, self.password)
            assert r.status == 200, r
            self._token = r.json["data"]["access_token"]
        return self._token


class Company:
    def __init__(self, stack):
        self.stack = stack
        self.slug, self.id = make_company(stack, "ut")

    def user(self, role="member", **kw):
        return Account(self.stack, self, role, **kw)


@pytest.fixture(scope="module")
def a(stack):
    """Company A with one user of every role and a platform admin."""
    c = Company(stack)
    c.owner = c.user("owner")
    c.admin = c.user("admin")
    c.member = c.user("member")
    c.viewer = c.user("viewer")
    c.platform = c.user("member", platform=True)
    return c


@pytest.fixture(scope="module")
def b(stack):
    c = Company(stack)
    c.owner = c.user("owner")
    c.member = c.user("member")
    return c


def call(stack, method, path, who=None, body=None, headers=None):
    h = dict(headers or {})
    if who is not None:
        h["Authorization"] = f"Bearer {who.token}"
    raw = None
    if body is not None:
        h.setdefault("Content-Type", "application/json")
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return stack.request(method, path, headers=h, body=raw)


def ok(r, status=200):
    assert r.status == status, r
    assert r.header("content-type") == "application/json"
    body = r.json
    assert body["ok"] is True
    assert body["request_id"] == r.header("x-request-id")
    return body


def ts(s):
    return datetime.datetime.fromisoformat(s)


def db_user(stack, uid):
    """The user as the API must show it, read as the database owner."""
    rows = psql(stack, "select json_build_object('id', id, 'email', email, 'role', role, "
                       "'disabled', disabled, 'platform_admin', platform_admin, "
                       "'created_at', to_json(created_at) #>> '{}', "
                       "'updated_at', to_json(updated_at) #>> '{}') "
                       f"from gerbang.users where id = {q(uid)}")
    return json.loads(rows[0]) if rows else None


def db_row(stack, uid):
    """Every column of a user row, to prove a request changed nothing."""
    return psql(stack, f"select row_to_json(u) from gerbang.users u where id = {q(uid)}")


def company_ids(stack, cid):
    return psql(stack, f"select id from gerbang.users where company_id = {q(cid)} order by id")


# ---- authentication and route roles -------------------------------------

ROUTES = [("GET", "/v1/users"), ("POST", "/v1/users"), ("GET", f"/v1/users/{uuid.uuid4()}"),
          ("PATCH", f"/v1/users/{uuid.uuid4()}"), ("DELETE", f"/v1/users/{uuid.uuid4()}"),
          ("GET", "/v1/companies"), ("POST", "/v1/companies")]


@pytest.mark.parametrize("method,path", ROUTES)
def test_no_token_is_401(stack, method, path):
    r = call(stack, method, path, body={} if method in ("POST", "PATCH") else None)
    body = envelope_error(r, 401)
    assert body["message"] == "authentication required"
    assert r.header("www-authenticate") == 'Bearer realm="gerbang"'


def test_bad_token_is_401(stack):
    r = stack.get("/v1/users", headers={"Authorization": "Bearer not.a.token"})
    envelope_error(r, 401)
    assert "invalid_token" in r.header("www-authenticate")


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_non_admin_on_admin_routes_is_403(stack, a, role):
    who = getattr(a, role)
    target = a.user("member")
    before = db_row(stack, target.id)
    for method, path, body in (
            ("GET", "/v1/users", None),
            ("POST", "/v1/users", {"email": f"x-{secrets.token_hex(3)}@x.test",
                                   "password": "long-enough", "role": "viewer"}),
            ("DELETE", f"/v1/users/{target.id}", None),
            ("GET", f"/v1/users/{a.owner.id}", None),
            ("PATCH", f"/v1/users/{target.id}", {"email": "hijack@x.test"}),
            ("PATCH", f"/v1/users/{target.id}", {"disabled": True}),
            ("GET", "/v1/companies", None),
            ("POST", "/v1/companies", {"slug": "ut-nope", "name": "nope"})):
        envelope_error(call(stack, method, path, who, body), 403)
    assert db_row(stack, target.id) == before
    assert psql(stack, "select count(*) from gerbang.companies where slug = 'ut-nope'") == ["0"]


def test_usersx_does_not_reach_the_program(stack, a):
    a.owner.token
    for i, path in enumerate(("/v1/usersX", "/v1/users-x/1", "/v1/companiesX",
                              "/v1/companies-x")):
        body = envelope_error(call(stack, "GET", path, a.owner,
                                   headers={"X-Request-Id": f"usersx-{i}"}), 404)
        assert body["message"] == "no such route"
    # a request that did reach it is logged; none of those above is
    call(stack, "GET", "/v1/users", a.owner, headers={"X-Request-Id": "usersx-reached"})
    stack.wait_log("users", lambda l: l.get("request_id") == "usersx-reached")
    assert not [l for l in stack.log_lines("users")
                if str(l.get("request_id", "")).startswith("usersx-") and
                l["request_id"] != "usersx-reached"]


# ---- GET /v1/users -------------------------------------------------------

def test_list_users_exact(stack, a):
    body = ok(call(stack, "GET", "/v1/users", a.owner))
    assert body["message"] == "users"
    assert body["meta"] == {"limit": 50, "next_cursor": None}
    ids = company_ids(stack, a.id)
    assert [u["id"] for u in body["data"]] == ids
    for u in body["data"]:
        assert set(u) == USER_KEYS
        assert u == db_user(stack, u["id"])
    # admins list too, and see the same
    assert ok(call(stack, "GET", "/v1/users", a.admin))["data"] == body["data"]


@pytest.mark.parametrize("limit", [1, 3, 4, 7, 8, 9])
def test_list_pagination(stack, limit):
    c = Company(stack)
    owner = c.user("owner")
    for _ in range(7):
        c.user("viewer")
    want = company_ids(stack, c.id)
    assert len(want) == 8
    seen, cursor, pages = [], None, 0
    while True:
        path = f"/v1/users?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = ok(call(stack, "GET", path, owner))
        pages += 1
        assert body["meta"]["limit"] == limit
        assert len(body["data"]) == min(limit, len(want) - len(seen))
        seen += [u["id"] for u in body["data"]]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
        assert cursor == seen[-1]
        assert pages < 20
    assert seen == want            # in id order, nothing skipped or repeated
    assert pages == max(1, -(-len(want) // limit))


def test_list_default_and_max_limit(stack, a):
    assert ok(call(stack, "GET", "/v1/users?limit=200", a.owner))["meta"]["limit"] == 200
    assert ok(call(stack, "GET", "/v1/users?limit=050", a.owner))["meta"]["limit"] == 50


@pytest.mark.parametrize("query,fields", [
    ("limit=0", {"limit"}), ("limit=201", {"limit"}), ("limit=-1", {"limit"}),
    ("limit=abc", {"limit"}), ("limit=", {"limit"}), ("limit=1.5", {"limit"}),
    ("limit=%2B5", {"limit"}), ("limit=99999999999999999999999", {"limit"}),
    ("cursor=nope", {"cursor"}), ("cursor=", {"cursor"}),
    ("cursor=" + "0" * 36, {"cursor"}),
    ("limit=0&cursor=zzz", {"limit", "cursor"}),
])
def test_list_bad_query_is_422(stack, a, query, fields):
    body = envelope_error(call(stack, "GET", f"/v1/users?{query}", a.owner), 422)
    assert set(body["errors"]) == fields


def test_list_cursor_of_another_company_leaks_nothing(stack, a, b):
    body = ok(call(stack, "GET", f"/v1/users?cursor={b.owner.id}", a.owner))
    assert {u["id"] for u in body["data"]} <= set(company_ids(stack, a.id))


# ---- GET /v1/users/{id} -------------------------------------------------

def test_get_user(stack, a):
    for who in (a.owner, a.admin):
        body = ok(call(stack, "GET", f"/v1/users/{a.member.id}", who))
        assert body["data"] == db_user(stack, a.member.id)
        assert body["data"]["email"] == a.member.email
        assert body["data"]["role"] == "member"


@pytest.mark.parametrize("role", ["member", "viewer", "admin", "owner"])
def test_get_self(stack, a, role):
    who = getattr(a, role)
    body = ok(call(stack, "GET", f"/v1/users/{who.id}", who))
    assert body["data"] == db_user(stack, who.id)
    # an upper-case spelling of the same id is the same user
    assert ok(call(stack, "GET", f"/v1/users/{who.id.upper()}", who))["data"]["id"] == who.id


def test_member_cannot_read_others(stack, a):
    for who in (a.member, a.viewer):
        envelope_error(call(stack, "GET", f"/v1/users/{a.owner.id}", who), 403)


@pytest.mark.parametrize("bad", ["nope", "123", "00000000-0000-0000-0000-00000000000",
                                 "00000000-0000-0000-0000-0000000000000",
                                 "0000000000000000000000000000000000000", "g" * 36,
                                 str(uuid.uuid4()), "%27%20or%201=1--"])
def test_garbage_ids_are_404(stack, a, bad):
    for method, body in (("GET", None), ("PATCH", {"email": "x@y.test"}), ("DELETE", None)):
        r = call(stack, method, f"/v1/users/{bad}", a.owner, body)
        assert envelope_error(r, 404)["message"] == "no such user"


# ---- POST /v1/users ------------------------------------------------------

def test_create_user(stack, a):
    email = f"New.User-{secrets.token_hex(3)}@Example.TEST"
    r = call(stack, "POST", "/v1/users", a.admin,
             {"email": email, "password": "a-good-password", "role": "member"})
    body = ok(r, 201)
    assert body["message"] == "user created"
    d = body["data"]
    assert set(d) == USER_KEYS
    assert UUID.fullmatch(d["id"])
    assert d["email"] == email.lower()
    assert (d["role"], d["disabled"], d["platform_admin"]) == ("member", False, False)
    assert d["created_at"] == d["updated_at"]
    assert d == db_user(stack, d["id"])
    row = psql(stack, f"select company_id, password_hash from gerbang.users where id = {q(d['id'])}")
    cid, h = row[0].split("|")
    assert cid == a.id
    assert h.startswith("$y$") and "a-good-password" not in h
    # the new user can log in, with any case of its email
    assert login(stack, a.slug, email, "a-good-password").status == 200
    assert "a-good-password" not in (stack.log / "users.log").read_text()


def test_create_user_every_role(stack, a):
    for role in ("owner", "admin", "member", "viewer"):
        r = call(stack, "POST", "/v1/users", a.owner,
                 {"email": f"{role}-{secrets.token_hex(3)}@new.test",
                  "password": "12345678", "role": role})
        assert ok(r, 201)["data"]["role"] == role


def test_create_user_422_names_every_field(stack, a):
    before = company_ids(stack, a.id)
    r = call(stack, "POST", "/v1/users", a.owner,
             {"email": "not-an-email", "password": "short", "role": "king",
              "company_id": a.id, "platform_admin": True})
    body = envelope_error(r, 422)
    assert body["errors"] == {"email": ["is not a valid email address"],
                              "password": ["is too short"],
                              "role": ["must be one of owner, admin, member, viewer"],
                              "company_id": ["unknown field"],
                              "platform_admin": ["unknown field"]}
    body = envelope_error(call(stack, "POST", "/v1/users", a.owner, {}), 422)
    assert body["errors"] == {f: ["is required"] for f in ("email", "password", "role")}
    body = envelope_error(call(stack, "POST", "/v1/users", a.owner,
                               {"email": 5, "password": "x" * 1025, "role": None}), 422)
    assert body["errors"] == {"email": ["must be a string"], "password": ["is too long"],
                              "role": ["is required"]}
    assert company_ids(stack, a.id) == before


def test_create_user_bad_bodies(stack, a):
    envelope_error(call(stack, "POST", "/v1/users", a.owner, b'{"email": ',), 400)
    envelope_error(call(stack, "POST", "/v1/users", a.owner, b"[]"), 400)
    envelope_error(call(stack, "POST", "/v1/users", a.owner, b"{}",
                        headers={"Content-Type": "text/plain"}), 415)


def test_create_duplicate_email_is_409(stack, a):
    body = envelope_error(call(stack, "POST", "/v1/users", a.owner,
                               {"email": a.member.email.upper(), "password": "12345678",
                                "role": "viewer"}), 409)
    assert body["errors"] == {"email": ["already exists"]}


def test_same_email_in_another_company_is_fine(stack, a, b):
    r = call(stack, "POST", "/v1/users", b.owner,
             {"email": a.member.email, "password": "12345678", "role": "viewer"})
    assert ok(r, 201)["data"]["email"] == a.member.email


def test_admin_cannot_create_owner(stack, a):
    email = f"o-{secrets.token_hex(3)}@new.test"
    r = call(stack, "POST", "/v1/users", a.admin,
             {"email": email, "password": "12345678", "role": "owner"})
    envelope_error(r, 403)
    assert psql(stack, f"select count(*) from gerbang.users where email = {q(email)}") == ["0"]


# ---- PATCH /v1/users/{id} -----------------------------------------------

@pytest.mark.parametrize("role", ["viewer", "member", "admin", "owner"])
def test_patch_self_email_and_password(stack, role):
    c = Company(stack)
    c.user("owner")
    me = c.user(role)
    before = db_user(stack, me.id)
    new_email = f"Renamed-{secrets.token_hex(3)}@Self.TEST"
    body = ok(call(stack, "PATCH", f"/v1/users/{me.id}", me,
                   {"email": new_email, "password": "brand-new-pw"}))
    assert body["message"] == "user updated"
    d = body["data"]
    assert d == db_user(stack, me.id)
    assert d["email"] == new_email.lower()
    assert d["role"] == role and d["created_at"] == before["created_at"]
    assert ts(d["updated_at"]) > ts(before["updated_at"])
    assert login(stack, c.slug, new_email, "brand-new-pw").status == 200
    assert login(stack, c.slug, new_email, PASSWORD).status == 401
    assert login(stack, c.slug, me.email, PASSWORD).status == 401


def test_patch_password_revokes_refresh_tokens(stack, a):
    u = a.user("member")
    refresh = login(stack, a.slug, u.email, PASSWORD).json["data"]["refresh_token"]
    ok(call(stack, "PATCH", f"/v1/users/{u.id}", a.owner, {"password": "reset-by-owner"}))
    r = stack.request("POST", "/v1/auth/refresh", headers={"Content-Type": "application/json"},
                      body=json.dumps({"refresh_token": refresh}).encode())
    envelope_error(r, 401)


def test_patch_422_names_every_field(stack, a):
    before = db_row(stack, a.member.id)
    body = envelope_error(call(stack, "PATCH", f"/v1/users/{a.member.id}", a.owner,
                               {"email": "nope", "password": "1234567", "role": "root",
                                "disabled": "yes", "company_id": a.id}), 422)
    assert body["errors"] == {"email": ["is not a valid email address"],
                              "password": ["is too short"],
                              "role": ["must be one of owner, admin, member, viewer"],
                              "disabled": ["must be true or false"],
                              "company_id": ["unknown field"]}
    body = envelope_error(call(stack, "PATCH", f"/v1/users/{a.member.id}", a.owner, {}), 422)
    assert set(body["errors"]) == {"body"}
    body = envelope_error(call(stack, "PATCH", f"/v1/users/{a.member.id}", a.owner,
                               {"id": str(uuid.uuid4()), "platform_admin": True}), 422)
    assert body["errors"] == {"id": ["unknown field"], "platform_admin": ["unknown field"]}
    assert db_row(stack, a.member.id) == before


def test_patch_duplicate_email_is_409(stack, a):
    u = a.user("viewer")
    before = db_row(stack, u.id)
    body = envelope_error(call(stack, "PATCH", f"/v1/users/{u.id}", u,
                               {"email": a.owner.email}), 409)
    assert body["errors"] == {"email": ["already exists"]}
    assert db_row(stack, u.id) == before


def test_admin_changes_role_and_disabled(stack, a):
    u = a.user("member")
    refresh = login(stack, a.slug, u.email, PASSWORD).json["data"]["refresh_token"]
    d = ok(call(stack, "PATCH", f"/v1/users/{u.id}", a.admin, {"role": "viewer"}))["data"]
    assert d["role"] == "viewer" and d == db_user(stack, u.id)
    d = ok(call(stack, "PATCH", f"/v1/users/{u.id}", a.admin,
                {"role": "admin", "disabled": True}))["data"]
    assert (d["role"], d["disabled"]) == ("admin", True)
    # a disabled user can neither log in nor refresh
    envelope_error(login(stack, a.slug, u.email, PASSWORD), 401)
    envelope_error(stack.request("POST", "/v1/auth/refresh",
                                 headers={"Content-Type": "application/json"},
                                 body=json.dumps({"refresh_token": refresh}).encode()), 401)
    d = ok(call(stack, "PATCH", f"/v1/users/{u.id}", a.owner, {"disabled": False}))["data"]
    assert d["disabled"] is False
    assert login(stack, a.slug, u.email, PASSWORD).status == 200


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_non_admin_cannot_change_own_role_or_disabled(stack, a, role):
    me = a.user(role)
    before = db_row(stack, me.id)
    for body in ({"role": "admin"}, {"role": "owner"}, {"disabled": True},
                 {"email": "x@y.test", "role": "admin"}):
        envelope_error(call(stack, "PATCH", f"/v1/users/{me.id}", me, body), 403)
    assert db_row(stack, me.id) == before


@pytest.mark.parametrize("role,new", [("owner", "admin"), ("owner", "member"),
                                      ("admin", "owner"), ("admin", "viewer")])
def test_self_role_change_is_403(stack, role, new):
    c = Company(stack)
    c.user("owner")
    me = c.user(role)
    before = db_row(stack, me.id)
    body = envelope_error(call(stack, "PATCH", f"/v1/users/{me.id}", me, {"role": new}), 403)
    assert body["message"] == "no self-escalation"
    assert body["errors"] == {"role": ["you cannot change your own role"]}
    assert db_row(stack, me.id) == before


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_self_disable_is_403(stack, role):
    c = Company(stack)
    c.user("owner")
    me = c.user(role)
    before = db_row(stack, me.id)
    body = envelope_error(call(stack, "PATCH", f"/v1/users/{me.id}", me, {"disabled": True}), 403)
    assert body["message"] == "no self-escalation"
    assert body["errors"] == {"disabled": ["you cannot disable yourself"]}
    assert db_row(stack, me.id) == before
    # saying what already holds is no change
    d = ok(call(stack, "PATCH", f"/v1/users/{me.id}", me, {"role": role, "disabled": False}))
    assert d["data"]["role"] == role


def test_admin_cannot_modify_an_owner_or_grant_owner(stack, a):
    owner = a.user("owner")
    member = a.user("member")
    o_before, m_before = db_row(stack, owner.id), db_row(stack, member.id)
    for body in ({"email": "taken-over@x.test"}, {"password": "hijacked-pw"},
                 {"role": "member"}, {"disabled": True}):
        r = call(stack, "PATCH", f"/v1/users/{owner.id}", a.admin, body)
        assert envelope_error(r, 403)["message"] == "an admin cannot modify an owner"
    r = call(stack, "PATCH", f"/v1/users/{member.id}", a.admin, {"role": "owner"})
    assert envelope_error(r, 403)["message"] == "an admin cannot grant owner"
    assert (db_row(stack, owner.id), db_row(stack, member.id)) == (o_before, m_before)
    # an owner may do both
    assert ok(call(stack, "PATCH", f"/v1/users/{member.id}", a.owner,
                   {"role": "owner"}))["data"]["role"] == "owner"
    assert ok(call(stack, "PATCH", f"/v1/users/{owner.id}", a.owner,
                   {"role": "viewer"}))["data"]["role"] == "viewer"


def test_last_owner_cannot_be_demoted_disabled_or_deleted(stack):
    c = Company(stack)
    o1, o2 = c.user("owner"), c.user("owner")
    assert o1.token and o2.token    # both log in while both are owners
    # o1 demotes o2: o1 stays, so that is fine
    ok(call(stack, "PATCH", f"/v1/users/{o2.id}", o1, {"role": "admin"}))
    # o2's token still says owner; o1 is now the last active owner
    before = db_row(stack, o1.id)
    for method, body, msg in (
            ("PATCH", {"role": "member"}, "the last owner cannot be demoted or disabled"),
            ("PATCH", {"disabled": True}, "the last owner cannot be demoted or disabled"),
            ("DELETE", None, "the last owner cannot be deleted")):
        r = call(stack, method, f"/v1/users/{o1.id}", o2, body)
        assert envelope_error(r, 409)["message"] == msg
    assert db_row(stack, o1.id) == before
    # a disabled owner does not count as one
    o3 = c.user("owner", disabled=True)
    envelope_error(call(stack, "PATCH", f"/v1/users/{o1.id}", o2, {"role": "member"}), 409)
    # with another active owner it is allowed again
    ok(call(stack, "PATCH", f"/v1/users/{o3.id}", o1, {"disabled": False}))
    d = ok(call(stack, "PATCH", f"/v1/users/{o1.id}", o2, {"role": "member"}))["data"]
    assert d["role"] == "member"
    assert psql(stack, f"select count(*) from gerbang.users where company_id = {q(c.id)} "
                       "and role = 'owner' and not disabled") == ["1"]


def test_concurrent_demotions_keep_an_owner(stack):
    """Two owners demoting (or deleting) each other at once: the row locks
    make one of them wait and then see it would remove the last owner."""
    c = Company(stack)
    o1, o2 = c.user("owner"), c.user("owner")
    assert o1.token and o2.token
    for method, body in [("PATCH", {"role": "admin"}), ("PATCH", {"disabled": True})] * 5 + \
            [("DELETE", None)]:
        psql(stack, f"update gerbang.users set role = 'owner', disabled = false "
                    f"where id in ({q(o1.id)}, {q(o2.id)})")
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            rs = list(pool.map(lambda p: call(stack, method, f"/v1/users/{p[1].id}", p[0], body),
                               ((o1, o2), (o2, o1))))
        assert sorted(r.status for r in rs) == [200, 409], rs
        assert psql(stack, f"select count(*) from gerbang.users where company_id = {q(c.id)} "
                           "and role = 'owner' and not disabled") == ["1"]


# ---- DELETE /v1/users/{id} ----------------------------------------------

def test_delete_user(stack, a):
    for who in (a.owner, a.admin):
        u = a.user("member")
        login(stack, a.slug, u.email, PASSWORD)   # leaves a refresh token behind
        body = ok(call(stack, "DELETE", f"/v1/users/{u.id}", who))
        assert body["message"] == "deleted" and body["data"] is None
        assert db_user(stack, u.id) is None
        assert psql(stack, f"select count(*) from gerbang.refresh_tokens where user_id = {q(u.id)}") == ["0"]
        envelope_error(call(stack, "GET", f"/v1/users/{u.id}", who), 404)
        envelope_error(call(stack, "DELETE", f"/v1/users/{u.id}", who), 404)


def test_delete_rules(stack, a):
    for who in (a.owner, a.admin):
        before = db_row(stack, who.id)
        r = call(stack, "DELETE", f"/v1/users/{who.id}", who)
        assert envelope_error(r, 403)["message"] == "you cannot delete yourself"
        assert db_row(stack, who.id) == before
    owner = a.user("owner")
    r = call(stack, "DELETE", f"/v1/users/{owner.id}", a.admin)
    assert envelope_error(r, 403)["message"] == "an admin cannot delete an owner"
    assert db_user(stack, owner.id) is not None
    ok(call(stack, "DELETE", f"/v1/users/{owner.id}", a.owner))


# ---- tenant isolation ----------------------------------------------------

def test_cross_tenant_is_404_and_changes_nothing(stack, a, b):
    target = a.user("member")
    before = db_row(stack, target.id)
    for who in (b.owner, b.member):
        for method, body in (("GET", None), ("PATCH", {"email": "stolen@b.test"}),
                             ("PATCH", {"password": "stolen-password"}),
                             ("PATCH", {"role": "viewer", "disabled": True}),
                             ("DELETE", None)):
            if who is b.member and method == "DELETE":
                continue    # the route itself is for admins: 403 before any lookup
            r = call(stack, method, f"/v1/users/{target.id}", who, body)
            assert envelope_error(r, 404)["message"] == "no such user"
    assert db_row(stack, target.id) == before
    ids = {u["id"] for u in ok(call(stack, "GET", "/v1/users?limit=200", b.owner))["data"]}
    assert ids == set(company_ids(stack, b.id)) and target.id not in ids


def test_company_id_in_query_or_header_is_ignored(stack, a, b):
    want = company_ids(stack, a.id)
    for path, headers in ((f"/v1/users?company_id={b.id}", {}),
                          ("/v1/users", {"X-Company-Id": b.id}),
                          (f"/v1/users?company_id={b.id}&company_id={b.id}",
                           {"X-Company-Id": b.id, "X-Internal-Company-Id": b.id})):
        body = ok(call(stack, "GET", path, a.owner, headers=headers))
        assert [u["id"] for u in body["data"]] == want
    email = f"smuggled-{secrets.token_hex(3)}@x.test"
    r = call(stack, "POST", f"/v1/users?company_id={b.id}", a.owner,
             {"email": email, "password": "12345678", "role": "viewer"},
             headers={"X-Company-Id": b.id})
    uid = ok(r, 201)["data"]["id"]
    assert psql(stack, f"select company_id from gerbang.users where id = {q(uid)}") == [a.id]
    r = call(stack, "GET", f"/v1/users/{b.owner.id}?company_id={b.id}", a.owner,
             headers={"X-Company-Id": b.id})
    envelope_error(r, 404)


def test_company_id_in_body_is_422(stack, a, b):
    r = call(stack, "POST", "/v1/users", a.owner,
             {"email": f"x-{secrets.token_hex(3)}@x.test", "password": "12345678",
              "role": "viewer", "company_id": b.id})
    assert envelope_error(r, 422)["errors"] == {"company_id": ["unknown field"]}
    r = call(stack, "PATCH", f"/v1/users/{a.member.id}", a.owner, {"company_id": b.id})
    assert envelope_error(r, 422)["errors"]["company_id"] == ["unknown field"]
    assert psql(stack, f"select company_id from gerbang.users where id = {q(a.member.id)}") == [a.id]


# ---- companies -----------------------------------------------------------

def db_companies(stack):
    return psql(stack, "select id from gerbang.companies order by id")


def test_platform_routes_need_a_platform_admin(stack, a, b):
    for who in (a.owner, b.owner, a.admin):
        envelope_error(call(stack, "GET", "/v1/companies", who), 403)
        envelope_error(call(stack, "POST", "/v1/companies", who,
                            {"slug": "ut-forbidden", "name": "x"}), 403)
    assert psql(stack, "select count(*) from gerbang.companies where slug = 'ut-forbidden'") == ["0"]
    # the platform flag opens the platform routes, not the company's admin routes
    envelope_error(call(stack, "GET", "/v1/users", a.platform), 403)


def test_create_company(stack, a):
    slug = f"ut-new-{secrets.token_hex(4)}"
    body = ok(call(stack, "POST", "/v1/companies", a.platform,
                   {"slug": slug, "name": "PT Gerbang Baru \u00e9\u00e8"}), 201)
    assert body["message"] == "company created"
    d = body["data"]
    assert set(d) == {"id", "slug", "name", "created_at"}
    assert UUID.fullmatch(d["id"])
    assert (d["slug"], d["name"]) == (slug, "PT Gerbang Baru \u00e9\u00e8")
    row = psql(stack, "select json_build_object('id', id, 'slug', slug, 'name', name, "
                      "'created_at', to_json(created_at) #>> '{}') from gerbang.companies "
                      f"where slug = {q(slug)}")
    assert json.loads(row[0]) == d
    # it has no users yet: nobody can log in to it
    envelope_error(login(stack, slug, "owner@x.test", "whatever1"), 401)


def test_create_company_duplicate_slug_is_409(stack, a):
    body = envelope_error(call(stack, "POST", "/v1/companies", a.platform,
                               {"slug": a.slug, "name": "again"}), 409)
    assert body["errors"] == {"slug": ["already exists"]}


@pytest.mark.parametrize("payload,errors", [
    ({}, {"slug": ["is required"], "name": ["is required"]}),
    ({"slug": "-bad", "name": ""}, {"slug": ["must match ^[a-z0-9][a-z0-9-]{0,62}$"],
                                    "name": ["must not be empty"]}),
    ({"slug": "Upper", "name": "x" * 201}, {"slug": ["must match ^[a-z0-9][a-z0-9-]{0,62}$"],
                                           "name": ["is too long"]}),
    ({"slug": "a" * 64, "name": "\u00e9" * 201, "id": "x"},
     {"slug": ["is too long"], "name": ["is too long"], "id": ["unknown field"]}),
    ({"slug": "has_underscore", "name": 5}, {"slug": ["must match ^[a-z0-9][a-z0-9-]{0,62}$"],
                                             "name": ["must be a string"]}),
])
def test_create_company_422(stack, a, payload, errors):
    before = db_companies(stack)
    body = envelope_error(call(stack, "POST", "/v1/companies", a.platform, payload), 422)
    assert body["errors"] == errors
    assert db_companies(stack) == before


def test_create_company_limits_accepted(stack, a):
    slug = "u" + secrets.token_hex(4) + "-" * 20 + "9" * 34
    assert len(slug) == 63
    d = ok(call(stack, "POST", "/v1/companies", a.platform,
                {"slug": slug, "name": "\u00e9" * 200}), 201)["data"]
    assert d["slug"] == slug and len(d["name"]) == 200


@pytest.mark.parametrize("limit", [1, 2, 5, 200])
def test_list_companies(stack, a, b, limit):
    want = db_companies(stack)
    assert len(want) >= 3
    seen, cursor = [], None
    for _ in range(len(want) + 2):
        path = f"/v1/companies?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = ok(call(stack, "GET", path, a.platform))
        assert body["message"] == "companies"
        assert body["meta"]["limit"] == limit
        assert 1 <= len(body["data"]) <= limit
        for c in body["data"]:
            assert set(c) == {"id", "slug", "name", "created_at"}
        seen += [c["id"] for c in body["data"]]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
        assert cursor == seen[-1]
    assert seen == want


def test_list_companies_bad_query(stack, a):
    body = envelope_error(call(stack, "GET", "/v1/companies?limit=0&cursor=x", a.platform), 422)
    assert set(body["errors"]) == {"limit", "cursor"}


# ---- lighttpd ------------------------------------------------------------

@pytest.fixture(scope="module")
def lighttpd(stack):
    port = free_port()
    stack.ctl("lighttpd-start", "--build", stack.build, "--http-port", port)
    yield port
    stack.ctl("lighttpd-stop")


def test_routes_through_lighttpd(stack, a, lighttpd):
    auth = {"Authorization": f"Bearer {a.owner.token}"}
    body = ok(stack.get("/v1/users?limit=2", headers=auth, port=lighttpd))
    assert [u["id"] for u in body["data"]] == company_ids(stack, a.id)[:2]
    r = stack.get(f"/v1/users/{a.owner.id}", headers=auth, port=lighttpd)
    assert ok(r)["data"]["id"] == a.owner.id
    r = stack.get("/v1/companies?limit=1",
                  headers={"Authorization": f"Bearer {a.platform.token}"}, port=lighttpd)
    assert len(ok(r)["data"]) == 1
    # /v1/usersX is not the program's: lighttpd itself says 404
    r = stack.get("/v1/usersX", headers=auth, port=lighttpd)
    assert r.status == 404 and not r.body.startswith(b'{"ok"')


def test_log_has_no_errors_or_secrets(stack):
    """Runs last: nothing above was a server-side failure, nothing leaked."""
    lines = stack.log_lines("users")
    assert lines
    assert [l for l in lines if l["level"] not in ("info", "warn")] == []
    assert [l for l in lines if l.get("status", 200) >= 500] == []
    text = (stack.log / "users.log").read_text()
    for secret in (PASSWORD, "brand-new-pw", "reset-by-owner", "a-good-password", "$6$", "$y$"):
        assert secret not in text
