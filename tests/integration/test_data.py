"""gerbang-data against real PostgreSQL: the declared resources, every type's
validation edges, filters, sorts and cursors, SQL-injection strings wherever a
value can go, isolation between companies, forged company ids, pagination
while rows are inserted, concurrent PATCH with If-Match, constraint errors,
roles, and declarations that stop the program at start."""
import base64
import concurrent.futures
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid

import pytest

from conftest import STACK, envelope_error
from tenants import claims, jwt_secret, make_company, psql, sign

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
INJECTIONS = [
    "'; DROP TABLE gerbang_data.notes; --",
    "' OR '1'='1",
    "\" OR \"\"=\"",
    "1; DELETE FROM gerbang.users",
    "Robert'); DROP TABLE students;--",
    "$1::text); SELECT pg_sleep(5); --",
    "\\'; TRUNCATE gerbang_data.notes; --",
    "' UNION SELECT password_hash FROM gerbang.users --",
]

# A table with a column of every type, a unique code, a composite foreign
# key to notes and a check, under row-level security as 005_data.sql makes
# notes.
KINDS_SQL = """
CREATE TABLE IF NOT EXISTS gerbang_data.t_kinds (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id uuid NOT NULL DEFAULT gerbang.current_company()
        REFERENCES gerbang.companies (id) ON DELETE CASCADE,
    version bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    t text, tag text, i integer, n numeric(12, 2), b boolean, d date, ts timestamptz,
    u uuid, j jsonb, code varchar(16), note_id uuid,
    serial_no bigint NOT NULL DEFAULT 7,
    CONSTRAINT t_kinds_code UNIQUE (company_id, code),
    CONSTRAINT t_kinds_note FOREIGN KEY (company_id, note_id)
        REFERENCES gerbang_data.notes (company_id, id),
    CONSTRAINT t_kinds_i_not_13 CHECK (i IS DISTINCT FROM 13)
);
ALTER TABLE gerbang_data.t_kinds ENABLE ROW LEVEL SECURITY;
ALTER TABLE gerbang_data.t_kinds FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant ON gerbang_data.t_kinds;
CREATE POLICY tenant ON gerbang_data.t_kinds
    USING (company_id = gerbang.current_company())
    WITH CHECK (company_id = gerbang.current_company());
GRANT SELECT, INSERT, UPDATE, DELETE ON gerbang_data.t_kinds TO gerbang_runtime;
"""

KINDS = {
    "resource": "kinds", "table": "t_kinds",
    "columns": {
        "t": {"type": "text", "min_length": 2, "max_length": 5, "pattern": "^[a-z]+$"},
        "tag": {"type": "text", "enum": ["red", "green"]},
        "i": {"type": "integer", "minimum": -10, "maximum": 100},
        "n": {"type": "numeric", "minimum": 0, "maximum": "9999.99"},
        "b": {"type": "boolean"},
        "d": {"type": "date", "minimum": "2000-01-01", "maximum": "2099-12-31"},
        "ts": {"type": "timestamp", "minimum": "2000-01-01T00:00:00Z"},
        "u": {"type": "uuid", "write_once": True},
        "j": {"type": "json"},
        "code": {"type": "text", "max_length": 16},
        "note_id": {"type": "uuid"},
        "serial_no": {"type": "integer", "read_only": True},
    },
    "filter": ["t", "i", "n", "b", "d", "ts", "u", "code"],
    "sort": ["i", "n", "d", "ts", "code"],
    "roles": {"read": ["owner", "admin", "member"], "write": ["owner", "admin"]},
}


def stack_env(stack):
    out = subprocess.run([str(STACK), "env", str(stack.dir)], check=True, capture_output=True,
                         text=True, timeout=30).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


def admin(stack, *args, env=None):
    """gerbang-admin with the stack's environment (and env over it)."""
    e = {k: v for k, v in os.environ.items() if k in ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS")}
    e.update(stack_env(stack))
    e.update(env or {})
    return subprocess.run([str(stack.build / "tools" / "gerbang-admin"), *args], env=e,
                          input="", capture_output=True, text=True, timeout=60)


def restart_data(stack):
    stack.ctl("program-stop", "data")
    stack.ctl("program-start", "data")


class Co:
    """A company made in the database, with tokens signed for it."""

    def __init__(self, stack, prefix="data"):
        self.stack = stack
        self.slug, self.id = make_company(stack, prefix)
        self.user = str(uuid.uuid4())

    def token(self, role="owner"):
        return sign({"alg": "HS256", "typ": "JWT"}, claims(self.user, self.id, role),
                    jwt_secret(self.stack))

    def call(self, method, path, body=None, headers=None, role="owner", raw=None):
        h = {"Authorization": "Bearer " + self.token(role)}
        if body is not None or raw is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        data = raw if raw is not None else json.dumps(body).encode() if body is not None else None
        return self.stack.request(method, path, headers=h, body=data)

    def create(self, resource, body, **kw):
        r = self.call("POST", f"/v1/data/{resource}", body, **kw)
        assert r.status == 201, r
        return r.json["data"]

    def get(self, resource, rid, **kw):
        return self.call("GET", f"/v1/data/{resource}/{rid}", **kw)

    def list(self, resource, query="", **kw):
        return self.call("GET", f"/v1/data/{resource}" + (f"?{query}" if query else ""), **kw)

    def all_pages(self, resource, query, between=None):
        """Every row of a list, page after page; between(page_no) runs after
        each page (to insert rows while paging)."""
        rows, cursor, n = [], None, 0
        while True:
            qs = query + (f"&cursor={cursor}" if cursor else "")
            r = self.list(resource, qs)
            assert r.status == 200, r
            rows += r.json["data"]
            cursor = r.json["meta"]["next_cursor"]
            n += 1
            if between is not None:
                between(n)
            if cursor is None:
                return rows
            assert n < 500, "paging does not end"


@pytest.fixture(scope="module")
def kinds(stack):
    """The t_kinds table and its declaration, gerbang-data restarted to
    serve it; removed again afterwards."""
    psql(stack, KINDS_SQL)
    decl = stack.dir / "schema.d" / "kinds.json"
    decl.write_text(json.dumps(KINDS, indent=2))
    restart_data(stack)
    yield "kinds"
    decl.unlink()
    restart_data(stack)


@pytest.fixture(scope="module")
def a(stack):
    return Co(stack)


@pytest.fixture(scope="module")
def b(stack):
    return Co(stack)


# ---- the routes ----------------------------------------------------------------------

def test_create_read_update_delete(stack, a):
    r = a.call("POST", "/v1/data/notes", {"title": "Call the bank", "due": "2026-12-01"})
    assert r.status == 201, r
    row = r.json["data"]
    assert UUID.fullmatch(row["id"])
    assert row == {"id": row["id"], "title": "Call the bank", "body": None, "done": False,
                   "due": "2026-12-01", "version": 1, "created_at": row["created_at"],
                   "updated_at": row["updated_at"]}
    assert re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d", row["created_at"])
    assert r.header("etag") == '"1"'
    assert r.header("location") == f"/v1/data/notes/{row['id']}"
    assert r.json["request_id"] == r.header("x-request-id")

    g = a.call("GET", r.header("location"))
    assert g.status == 200 and g.json["data"] == row and g.header("etag") == '"1"', g
    assert g.header("cache-control") == "no-store"

    p = a.call("PATCH", f"/v1/data/notes/{row['id']}", {"done": True, "body": "with notes"},
               headers={"If-Match": '"1"'})
    assert p.status == 200, p
    assert p.json["data"]["done"] is True and p.json["data"]["body"] == "with notes"
    assert p.json["data"]["version"] == 2 and p.header("etag") == '"2"'
    assert p.json["data"]["title"] == "Call the bank"
    assert p.json["data"]["updated_at"] >= row["updated_at"]

    d = a.call("DELETE", f"/v1/data/notes/{row['id']}", headers={"If-Match": '"2"'})
    assert d.status == 200 and d.json["data"] is None and d.json["ok"] is True, d
    envelope_error(a.get("notes", row["id"]), 404)
    envelope_error(a.call("DELETE", f"/v1/data/notes/{row['id']}"), 404)
    envelope_error(a.call("PATCH", f"/v1/data/notes/{row['id']}", {"done": False}), 404)


def test_head_and_methods(stack, a):
    row = a.create("notes", {"title": "head"})
    r = a.call("HEAD", f"/v1/data/notes/{row['id']}")
    assert r.status == 200 and r.body == b"" and r.header("etag") == '"1"', r
    r = a.call("PUT", f"/v1/data/notes/{row['id']}", {"title": "x"})
    envelope_error(r, 405)
    assert "PATCH" in r.header("allow") and "DELETE" in r.header("allow")
    envelope_error(a.call("DELETE", "/v1/data/notes"), 405)


def test_unknown_resources_and_ids_are_404(stack, a):
    for path in ("/v1/data/nope", "/v1/data/users", "/v1/data/refresh_tokens",
                 "/v1/data/tasks/" + str(uuid.uuid4()), "/v1/data/NOTES"):
        body = envelope_error(a.call("GET", path), 404)
        assert body["message"] == "no such resource", path
    for rid in ("x", "0d5e7a3c", str(uuid.uuid4()), "0D5E7A3C-7D8E-4D59-9D53-5D2F3C8A9B10"):
        assert envelope_error(a.get("notes", rid), 404)["message"] == "no such row"
    envelope_error(stack.get("/v1/data/notes/a/b"), 404)


def test_token_required(stack):
    r = stack.get("/v1/data/notes")
    envelope_error(r, 401)
    assert r.header("www-authenticate").startswith("Bearer")
    r = stack.request("POST", "/v1/data/notes", headers={"Content-Type": "application/json",
                                                          "Authorization": "Bearer x.y.z"},
                      body=b'{"title":"x"}')
    envelope_error(r, 401)


def test_every_failing_field_at_once(stack, a):
    r = a.call("POST", "/v1/data/notes", {"done": "yes", "due": "2026-02-30", "extra": 1,
                                          "id": str(uuid.uuid4()), "version": 9,
                                          "created_at": "2026-01-01T00:00:00Z"})
    errors = envelope_error(r, 422)["errors"]
    assert set(errors) == {"title", "done", "due", "extra", "id", "version", "created_at"}
    assert errors["title"] == ["is required"]
    assert errors["extra"] == ["unknown field"]
    assert errors["id"] == ["is set by the gateway"]
    assert "true or false" in errors["done"][0]


def test_bodies_that_are_not_objects(stack, a):
    envelope_error(a.call("POST", "/v1/data/notes", raw=b"[]"), 400)
    envelope_error(a.call("POST", "/v1/data/notes", raw=b'{"title": '), 400)
    envelope_error(a.call("POST", "/v1/data/notes", raw=b'{"title":"a","title":"b"}'), 400)
    r = a.call("POST", "/v1/data/notes", raw=b'{"title":"x"}',
               headers={"Content-Type": "text/plain"})
    envelope_error(r, 415)
    row = a.create("notes", {"title": "patch me"})
    body = envelope_error(a.call("PATCH", f"/v1/data/notes/{row['id']}", {}), 422)
    assert body["errors"] == {"body": ["names no column to change"]}


def test_patch_can_clear_a_nullable_column_but_not_a_required_one(stack, a):
    row = a.create("notes", {"title": "clear", "due": "2026-01-01", "body": "b"})
    r = a.call("PATCH", f"/v1/data/notes/{row['id']}", {"due": None, "body": None})
    assert r.status == 200 and r.json["data"]["due"] is None and r.json["data"]["body"] is None
    for body in ({"title": None}, {"done": None}):
        errors = envelope_error(a.call("PATCH", f"/v1/data/notes/{row['id']}", body), 422)["errors"]
        assert list(errors.values()) == [["must not be null"]], errors


# ---- every type at its edges -----------------------------------------------------------

# column, value, and what comes back: the value read back (SAME: as sent),
# or ERR and words of the field's error
SAME, ERR = object(), "error"
EDGES = [
    ("t", "ab", SAME), ("t", "abcde", SAME), ("t", "a", (ERR, "at least 2 characters")),
    ("t", "abcdef", (ERR, "at most 5 characters")), ("t", "ab1", (ERR, "must match")),
    ("t", "", (ERR, "at least 2")), ("t", 5, (ERR, "must be a string")),
    ("t", ["ab"], (ERR, "must be a string")),
    ("tag", "red", SAME), ("tag", "blue", (ERR, "not one of the allowed values")),
    ("i", -10, SAME), ("i", 100, SAME), ("i", -11, (ERR, "at least -10")),
    ("i", 101, (ERR, "at most 100")), ("i", 1.5, (ERR, "whole number")),
    ("i", "1", (ERR, "whole number")), ("i", True, (ERR, "whole number")),
    ("i", 13, (ERR, "not accepted by the table's checks")),    # the table's own CHECK
    ("n", 0, SAME), ("n", 9999.99, SAME), ("n", "12.50", 12.5), ("n", 0.1, SAME),
    ("n", 10000, (ERR, "at most 9999.99")), ("n", -0.01, (ERR, "at least 0")),
    ("n", "abc", (ERR, "number")), ("n", "1e3", (ERR, "number")), ("n", False, (ERR, "number")),
    ("b", True, SAME), ("b", False, SAME), ("b", "true", (ERR, "true or false")),
    ("b", 0, (ERR, "true or false")),
    ("d", "2024-02-29", SAME), ("d", "2000-01-01", SAME), ("d", "2099-12-31", SAME),
    ("d", "2023-02-29", (ERR, "YYYY-MM-DD")), ("d", "1999-12-31", (ERR, "at least 2000-01-01")),
    ("d", "2100-01-01", (ERR, "at most 2099-12-31")), ("d", "2026-1-1", (ERR, "YYYY-MM-DD")),
    ("d", 20260101, (ERR, "YYYY-MM-DD")),
    ("ts", "2026-01-31T09:30:00Z", "2026-01-31T09:30:00+00:00"),
    ("ts", "2026-01-31T09:30:00.123456+07:00", "2026-01-31T02:30:00.123456+00:00"),
    ("ts", "2026-01-31T09:30:00", (ERR, "offset")), ("ts", "2026-01-31 09:30:00Z", (ERR, "offset")),
    ("ts", "1999-12-31T23:59:59Z", (ERR, "at least 2000-01-01T00:00:00Z")),
    ("ts", "2026-01-31T09:30:00.1234567Z", (ERR, "offset")),
    ("u", "6F9619FF-8B86-D011-B42D-00C04FC964FF", "6f9619ff-8b86-d011-b42d-00c04fc964ff"),
    ("u", "6f9619ff8b86d011b42d00c04fc964ff", (ERR, "UUID")), ("u", 1, (ERR, "UUID")),
    ("j", {"a": [1, 2.5, None, "x\"y"], "b": {"c": True}}, SAME), ("j", [1, "two"], SAME),
    ("j", "just a string", SAME), ("j", 0.1, SAME),
    ("code", "x" * 16, SAME), ("code", "x" * 17, (ERR, "at most 16 characters")),
    ("code", "\u00e9" * 16, SAME),
    ("serial_no", 1, (ERR, "is read-only")),
    ("company_id", str(uuid.uuid4()), (ERR, "from your token")),
]


@pytest.mark.parametrize("col,value,expect", EDGES,
                         ids=[f"{c}={json.dumps(v)[:30]}" for c, v, _ in EDGES])
def test_type_edges(stack, kinds, a, col, value, expect):
    r = a.call("POST", "/v1/data/kinds", {col: value})
    if isinstance(expect, tuple):
        errors = envelope_error(r, 422)["errors"]
        assert list(errors) == [col], errors
        assert expect[1] in errors[col][0], errors
        return
    assert r.status == 201, r
    want = value if expect is SAME else expect
    assert r.json["data"][col] == want, r.json["data"]
    assert r.json["data"]["serial_no"] == 7        # the table's default
    back = a.get("kinds", r.json["data"]["id"]).json["data"]
    assert back[col] == want


def test_null_and_defaults(stack, kinds, a):
    row = a.create("kinds", {"t": None, "i": None, "j": None})
    assert row["t"] is None and row["i"] is None and row["j"] is None
    note = a.create("notes", {"title": "defaults"})
    assert note["done"] is False                    # the declared default


def test_write_once_and_read_only(stack, kinds, a):
    u = str(uuid.uuid4())
    row = a.create("kinds", {"u": u})
    r = a.call("PATCH", f"/v1/data/kinds/{row['id']}", {"u": str(uuid.uuid4()), "serial_no": 1,
                                                         "version": 5, "id": str(uuid.uuid4())})
    errors = envelope_error(r, 422)["errors"]
    assert errors == {"u": ["can only be set when the row is created"],
                      "serial_no": ["is read-only"], "version": ["is set by the gateway"],
                      "id": ["is set by the gateway"]}
    assert a.get("kinds", row["id"]).json["data"]["u"] == u


# ---- constraints ------------------------------------------------------------------------

def test_unique_violation_is_409_naming_the_column(stack, kinds, a, b):
    a.create("kinds", {"code": "dup-1"})
    body = envelope_error(a.call("POST", "/v1/data/kinds", {"code": "dup-1"}), 409)
    assert body["errors"] == {"code": ["already exists"]}
    b.create("kinds", {"code": "dup-1"})            # per company
    other = a.create("kinds", {"code": "dup-2"})
    r = a.call("PATCH", f"/v1/data/kinds/{other['id']}", {"code": "dup-1"})
    assert envelope_error(r, 409)["errors"] == {"code": ["already exists"]}


def test_foreign_keys(stack, kinds, a, b):
    note = a.create("notes", {"title": "referenced"})
    row = a.create("kinds", {"note_id": note["id"]})
    assert row["note_id"] == note["id"]
    r = a.call("POST", "/v1/data/kinds", {"note_id": str(uuid.uuid4())})
    assert envelope_error(r, 422)["errors"] == {"note_id": ["refers to a row that does not exist"]}
    # another company's note: the composite key does not reach it
    theirs = b.create("notes", {"title": "not yours"})
    r = a.call("POST", "/v1/data/kinds", {"note_id": theirs["id"]})
    assert envelope_error(r, 422)["errors"] == {"note_id": ["refers to a row that does not exist"]}
    # a note others refer to cannot go
    r = a.call("DELETE", f"/v1/data/notes/{note['id']}")
    assert envelope_error(r, 409)["message"] == "other rows still refer to this one"
    assert a.get("notes", note["id"]).status == 200


# ---- roles --------------------------------------------------------------------------------

def test_roles_of_the_declaration(stack, kinds, a):
    row = a.create("kinds", {"t": "ok"})
    assert a.list("kinds", role="member").status == 200
    assert a.get("kinds", row["id"], role="admin").status == 200
    envelope_error(a.list("kinds", role="viewer"), 403)
    envelope_error(a.get("kinds", row["id"], role="viewer"), 403)
    envelope_error(a.call("POST", "/v1/data/kinds", {"t": "ok"}, role="member"), 403)
    envelope_error(a.call("PATCH", f"/v1/data/kinds/{row['id']}", {"t": "no"}, role="member"), 403)
    envelope_error(a.call("DELETE", f"/v1/data/kinds/{row['id']}", role="member"), 403)
    assert a.call("POST", "/v1/data/kinds", {"t": "ok"}, role="admin").status == 201
    # notes: every role reads, viewers do not write
    assert a.list("notes", role="viewer").status == 200
    envelope_error(a.call("POST", "/v1/data/notes", {"title": "v"}, role="viewer"), 403)
    assert a.call("POST", "/v1/data/notes", {"title": "m"}, role="member").status == 201


# ---- isolation -----------------------------------------------------------------------------

def test_another_companys_rows_are_404(stack, a, b):
    mine = a.create("notes", {"title": "mine only"})
    path = f"/v1/data/notes/{mine['id']}"
    envelope_error(b.call("GET", path), 404)
    envelope_error(b.call("PATCH", path, {"title": "stolen"}), 404)
    envelope_error(b.call("PATCH", path, {"title": "stolen"}, headers={"If-Match": '"1"'}), 404)
    envelope_error(b.call("DELETE", path), 404)
    envelope_error(b.call("DELETE", path, headers={"If-Match": "*"}), 404)
    assert all(r["id"] != mine["id"] for r in b.all_pages("notes", "limit=100"))
    assert b.list("notes", f"id={mine['id']}").json["data"] == []
    r = a.get("notes", mine["id"])
    assert r.status == 200 and r.json["data"] == mine


def test_forged_company_id(stack, a, b):
    r = a.call("POST", "/v1/data/notes", {"title": "forged", "company_id": b.id})
    assert envelope_error(r, 422)["errors"] == {"company_id": ["is set by the gateway from your token"]}
    r = a.list("notes", f"company_id={b.id}")
    assert envelope_error(r, 422)["errors"] == {"company_id": ["is not a parameter of this list"]}
    r = a.list("notes", f"company_id.eq={b.id}")
    envelope_error(r, 422)
    # headers name no company either: the row is the token's company's
    row = a.create("notes", {"title": "header ignored"},
                   headers={"X-Company-Id": b.id, "X-Tenant-Id": b.id})
    owner = psql(stack, f"select company_id from gerbang_data.notes where id = '{row['id']}'")
    assert owner == [a.id]
    envelope_error(b.get("notes", row["id"]), 404)
    # a token of another company's id in its claims only reaches that company
    r = a.call("PATCH", f"/v1/data/notes/{row['id']}", {"company_id": b.id})
    envelope_error(r, 422)


def test_row_level_security_holds_without_the_gateway(stack, a):
    """The runtime role itself sees nothing without app.company_id."""
    a.create("notes", {"title": "rls"})
    n = psql(stack, "select count(*) from gerbang_data.notes", user="gerbang")
    assert n == ["0"]


# ---- lists ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def listed(stack):
    """A company with 30 notes of known titles, dues and states."""
    c = Co(stack, "list")
    rows = []
    for k in range(30):
        body = {"title": f"t{k % 6:02d}", "done": k % 3 == 0}
        if k % 4:
            body["due"] = f"2026-0{1 + k % 9}-{10 + k % 15:02d}"
        rows.append(c.create("notes", body))
    return c, rows


def test_filters(stack, listed):
    c, rows = listed

    def ids(query):
        got = c.all_pages("notes", query)
        return sorted(r["id"] for r in got)

    assert ids("done=true") == sorted(r["id"] for r in rows if r["done"])
    assert ids("done.ne=true") == sorted(r["id"] for r in rows if not r["done"])
    assert ids("due.null=true") == sorted(r["id"] for r in rows if r["due"] is None)
    assert ids("due.null=false&due.gte=2026-03-01&due.lt=2026-06-01") == sorted(
        r["id"] for r in rows if r["due"] and "2026-03-01" <= r["due"] < "2026-06-01")
    assert ids("due=2026-02-11") == sorted(r["id"] for r in rows if r["due"] == "2026-02-11")
    assert ids(f"created_at.lte={urllib.parse.quote(rows[9]['created_at'])}") == sorted(
        r["id"] for r in rows[:10])
    assert ids(f"id={rows[3]['id']}") == [rows[3]["id"]]


@pytest.mark.parametrize("sort", ["", "sort=title", "sort=-title", "sort=due", "sort=-due",
                                  "sort=-created_at", "sort=updated_at"])
def test_sorts_page_through_every_row_once(stack, listed, sort):
    c, rows = listed
    got = c.all_pages("notes", f"limit=4&{sort}")
    assert sorted(r["id"] for r in got) == sorted(r["id"] for r in rows)
    key = sort.split("=")[1].lstrip("-") if sort else "created_at"
    desc = sort.startswith("sort=-")

    def order(r):
        v = r[key]
        # nulls last ascending, first descending; equal keys by id
        return (v is None, v or "", r["id"])
    want = sorted(got, key=order, reverse=desc)
    assert [r["id"] for r in got] == [r["id"] for r in want]


def test_limits(stack, listed):
    c, _ = listed
    r = c.list("notes")
    assert r.status == 200 and len(r.json["data"]) == 20 and r.json["meta"]["limit"] == 20
    assert r.json["meta"]["next_cursor"]
    r = c.list("notes", "limit=100")
    assert len(r.json["data"]) == 30 and r.json["meta"] == {"limit": 100, "next_cursor": None}
    for bad in ("limit=0", "limit=101", "limit=-1", "limit=x", "limit=1.5"):
        assert "limit" in envelope_error(c.list("notes", bad), 422)["errors"]


def test_undeclared_filters_and_sorts(stack, listed):
    c, _ = listed
    for query, field in (("body=x", "body"), ("version=1", "version"), ("nope=1", "nope"),
                         ("title.like=t%25", "title.like"), ("done.gt=false", "done.gt"),
                         ("due.null=maybe", "due.null"), ("sort=body", "sort"),
                         ("sort=done", "sort"), ("sort=version", "sort"), ("sort=title%2Cid", "sort"),
                         ("sort=-title&sort=due", "sort"), ("done=true&done=false", "done"),
                         ("updated_at=2026-01-01T00:00:00Z", "updated_at")):
        errors = envelope_error(c.list("notes", query), 422)["errors"]
        assert field in errors, (query, errors)
    errors = envelope_error(c.list("notes", "sort=body&nope=1&done=2&limit=0"), 422)["errors"]
    assert set(errors) == {"sort", "nope", "done", "limit"}


def test_cursors_are_checked(stack, listed):
    c, _ = listed
    r = c.list("notes", "limit=3&sort=-due")
    cursor = r.json["meta"]["next_cursor"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert c.list("notes", f"limit=3&sort=-due&cursor={cursor}").status == 200
    # another sort order: refused (400)
    body = envelope_error(c.list("notes", f"limit=3&sort=due&cursor={cursor}"), 400)
    assert body["errors"] == {"cursor": ["belongs to another sort order"]}
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    tampered = [
        cursor[:-1], cursor + "A", cursor[:10], "x" + cursor[1:], "", "====",
        base64.urlsafe_b64encode(raw.replace(b"-due", b"-due\x00")).decode().rstrip("="),
        base64.urlsafe_b64encode(raw[:-1] + b"g").decode().rstrip("="),
        base64.urlsafe_b64encode(raw.replace(b"1\x00", b"2\x00", 1)).decode().rstrip("="),
        base64.urlsafe_b64encode(b"1\x00-due\x00=2026-02-30\x00" + raw[-36:]).decode().rstrip("="),
    ]
    for t in tampered:
        body = envelope_error(c.list("notes", f"limit=3&sort=-due&cursor={urllib.parse.quote(t)}"),
                              400)
        assert "cursor" in body["errors"], t
    # a cursor of another company is just a position: its rows stay theirs
    other = Co(stack, "cursor")
    other.create("notes", {"title": "other", "due": "2026-01-01"})
    page = other.list("notes", f"limit=3&sort=-due&cursor={cursor}")
    assert page.status == 200
    assert all(r["title"] == "other" for r in page.json["data"])


def test_pagination_while_rows_are_inserted(stack):
    """Rows inserted between pages, before and after the cursor, make none of
    the rows that were there repeat or go missing."""
    c = Co(stack, "paging")
    before = [c.create("notes", {"title": f"m{k:03d}", "due": None if k % 5 == 0 else
                                 f"2026-03-{1 + k % 28:02d}"}) for k in range(40)]
    for sort in ("", "sort=title", "sort=-title", "sort=due", "sort=-due", "sort=-created_at"):
        inserted = []

        def insert(page_no):
            for t in (f"a{page_no:03d}", f"z{page_no:03d}", f"m{page_no:03d}"):
                due = None if page_no % 2 else f"2026-0{1 + page_no % 6}-15"
                inserted.append(c.create("notes", {"title": t, "due": due}))

        got = c.all_pages("notes", f"limit=6&{sort}", between=insert)
        ids = [r["id"] for r in got]
        assert len(ids) == len(set(ids)), f"{sort}: a row came twice"
        missing = {r["id"] for r in before} - set(ids)
        assert not missing, f"{sort}: {len(missing)} rows went missing"
        assert inserted


def test_pagination_with_a_concurrent_writer(stack):
    c = Co(stack, "paging2")
    before = [c.create("notes", {"title": f"r{k:03d}"}) for k in range(60)]
    stop = threading.Event()
    written = []

    def writer():
        k = 0
        while not stop.is_set():
            written.append(c.create("notes", {"title": f"w{k:03d}"}))
            k += 1
    t = threading.Thread(target=writer)
    t.start()
    try:
        # new rows sort first: before the cursor once the first page is read
        got = c.all_pages("notes", "limit=5&sort=-title")
    finally:
        stop.set()
        t.join(30)
    ids = [r["id"] for r in got]
    assert len(ids) == len(set(ids))
    assert {r["id"] for r in before} <= set(ids)
    assert written


# ---- If-Match ---------------------------------------------------------------------------------

def test_if_match(stack, a):
    row = a.create("notes", {"title": "etag"})
    path = f"/v1/data/notes/{row['id']}"
    r = a.call("PATCH", path, {"done": True}, headers={"If-Match": '"7"'})
    envelope_error(r, 412)
    assert r.header("etag") == '"1"'
    r = a.call("PATCH", path, {"done": True}, headers={"If-Match": 'W/"1"'})
    envelope_error(r, 412)                          # weak tags never match
    r = a.call("PATCH", path, {"done": True}, headers={"If-Match": '"5", "1"'})
    assert r.status == 200 and r.header("etag") == '"2"', r
    r = a.call("PATCH", path, {"done": False}, headers={"If-Match": "*"})
    assert r.status == 200 and r.header("etag") == '"3"', r
    r = a.call("PATCH", path, {"done": False})      # honoured, not required
    assert r.status == 200 and r.header("etag") == '"4"', r
    for bad in ("3", '"3', "W/3", '"3" "4"', '"3";', "*, \"3\"", '"a b"', "", ","):
        body = envelope_error(a.call("PATCH", path, {"done": True}, headers={"If-Match": bad}), 400)
        assert "If-Match" in body["errors"], bad
    envelope_error(a.call("DELETE", path, headers={"If-Match": '"3"'}), 412)
    assert a.call("DELETE", path, headers={"If-Match": '"4"'}).status == 200
    envelope_error(a.call("DELETE", path, headers={"If-Match": '"4"'}), 404)


def test_concurrent_patches_with_the_same_etag(stack, a):
    """Of N writers that read version 1, exactly one wins."""
    row = a.create("notes", {"title": "race"})
    path = f"/v1/data/notes/{row['id']}"

    def patch(k):
        return a.call("PATCH", path, {"title": f"writer {k}"}, headers={"If-Match": '"1"'})
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        results = list(ex.map(patch, range(16)))
    statuses = sorted(r.status for r in results)
    assert statuses.count(200) == 1 and statuses.count(412) == 15, statuses
    winner = next(r for r in results if r.status == 200)
    now = a.get("notes", row["id"]).json["data"]
    assert now["version"] == 2 and now["title"] == winner.json["data"]["title"]


def test_concurrent_patches_without_etag_all_count(stack, a):
    row = a.create("notes", {"title": "counter"})
    path = f"/v1/data/notes/{row['id']}"
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        results = list(ex.map(lambda k: a.call("PATCH", path, {"body": str(k)}), range(12)))
    assert all(r.status == 200 for r in results)
    assert a.get("notes", row["id"]).json["data"]["version"] == 13


# ---- SQL injection ----------------------------------------------------------------------------

@pytest.mark.parametrize("evil", INJECTIONS)
def test_injection_in_values_is_stored_as_text(stack, a, evil):
    row = a.create("notes", {"title": evil[:200], "body": evil})
    got = a.get("notes", row["id"]).json["data"]
    assert got["title"] == evil[:200] and got["body"] == evil
    r = a.list("notes", "limit=100&title=" + urllib.parse.quote(evil, safe=""))
    assert r.status == 200 and row["id"] in [x["id"] for x in r.json["data"]]
    assert all(x["title"] == evil[:200] for x in r.json["data"])
    r = a.list("notes", "title.gt=" + urllib.parse.quote(evil, safe="") + "&sort=title")
    assert r.status == 200
    r = a.call("PATCH", f"/v1/data/notes/{row['id']}", {"body": evil + evil})
    assert r.status == 200 and r.json["data"]["body"] == evil + evil


@pytest.mark.parametrize("evil", INJECTIONS)
def test_injection_elsewhere_is_refused(stack, kinds, a, evil):
    e = urllib.parse.quote(evil, safe="")
    row = a.create("notes", {"title": "target"})
    # typed filter values, filter names, sort, limit: 422
    for query in (f"due={e}", f"due.gte={e}", f"done={e}", f"created_at={e}", f"id={e}",
                  f"{e}=1", f"title.{e}=1", f"sort={e}", f"sort=-{e}", f"limit={e}"):
        envelope_error(a.list("notes", query), 422)
    for query in (f"i={e}", f"n.lt={e}", f"ts={e}", f"u={e}", f"code.gt={e}&sort={e}"):
        envelope_error(a.list("kinds", query), 422)
    # a cursor: 400
    envelope_error(a.list("notes", f"cursor={e}"), 400)
    # the path: 404
    envelope_error(a.call("GET", f"/v1/data/notes/{e}"), 404)
    envelope_error(a.call("GET", f"/v1/data/{e}"), 404)
    envelope_error(a.call("PATCH", f"/v1/data/{e}/{row['id']}", {"title": "x"}), 404)
    # a field name and a typed value: 422
    errors = envelope_error(a.call("POST", "/v1/data/notes", {"title": "x", evil: 1}), 422)["errors"]
    assert errors == {evil: ["unknown field"]}
    errors = envelope_error(a.call("POST", "/v1/data/kinds", {"i": evil, "d": evil, "u": evil,
                                                               "n": evil, "ts": evil}),
                            422)["errors"]
    assert set(errors) == {"i", "d", "u", "n", "ts"}
    # If-Match: 400
    r = a.call("PATCH", f"/v1/data/notes/{row['id']}", {"title": "x"},
               headers={"If-Match": evil.replace("\\", "")})
    assert r.status in (400, 412), r
    # and nothing happened to the database
    assert a.get("notes", row["id"]).json["data"]["title"] == "target"
    assert int(psql(stack, "select count(*) from gerbang.users")[0]) > 0
    assert psql(stack, "select to_regclass('gerbang_data.notes') is not null") == ["t"]


# ---- declarations at start ------------------------------------------------------------------

BAD_TABLES_SQL = """
CREATE TABLE IF NOT EXISTS gerbang_data.t_norls (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), company_id uuid NOT NULL,
    version bigint NOT NULL DEFAULT 1, created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(), x text);
GRANT SELECT, INSERT, UPDATE, DELETE ON gerbang_data.t_norls TO gerbang_runtime;
CREATE TABLE IF NOT EXISTS gerbang_data.t_open (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), company_id uuid NOT NULL,
    version bigint NOT NULL DEFAULT 1, created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(), x text);
ALTER TABLE gerbang_data.t_open ENABLE ROW LEVEL SECURITY;
ALTER TABLE gerbang_data.t_open FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS everyone ON gerbang_data.t_open;
CREATE POLICY everyone ON gerbang_data.t_open USING (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON gerbang_data.t_open TO gerbang_runtime;
CREATE TABLE IF NOT EXISTS gerbang_data.t_bare (id uuid PRIMARY KEY, x text);
ALTER TABLE gerbang_data.t_bare ENABLE ROW LEVEL SECURITY;
ALTER TABLE gerbang_data.t_bare FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant ON gerbang_data.t_bare;
GRANT SELECT, INSERT, UPDATE, DELETE ON gerbang_data.t_bare TO gerbang_runtime;
"""


def note_decl(**over):
    d = json.loads((pathlib.Path(__file__).resolve().parents[2] / "etc" / "schema.d" /
                    "notes.json").read_text())
    d.update(over)
    return d


START_ERRORS = [
    # declaration, the key in the message, words of it
    ({**note_decl(), "colums": {}}, "colums", "is not a known key"),
    (note_decl(columns={"title": {"type": "text", "required": True, "max_length": 200},
                        "nope": {"type": "text"}}, filter=[], sort=[]),
     "columns.nope", "has no such column"),
    (note_decl(columns={"title": {"type": "integer", "required": True}}, filter=[], sort=[]),
     "columns.title.type", "is integer, but the column is text"),
    (note_decl(columns={"title": {"type": "text", "max_length": 200}}, filter=[], sort=[]),
     "columns.title.required", "NOT NULL without a default"),
    (note_decl(table="users"), "table", "gateway"),
    (note_decl(table="nosuch"), "table", "there is no table gerbang_data.nosuch"),
    (note_decl(table="t_norls", columns={"x": {"type": "text"}}, filter=[], sort=[]), "table",
     "ENABLE and FORCE ROW LEVEL SECURITY"),
    (note_decl(table="t_open", columns={"x": {"type": "text"}}, filter=[], sort=[]), "table",
     "must be USING and WITH CHECK (company_id = gerbang.current_company())"),
    (note_decl(table="t_bare", columns={"x": {"type": "text"}}, filter=[], sort=[]), "table",
     "no policy"),
    (note_decl(columns={"title": {"type": "text", "required": True, "max_length": 200,
                                  "pattern": "("}}, filter=[], sort=[]),
     "columns.title.pattern", "not a POSIX"),
]


def start_data(stack, schema_dir, env=None, seconds=15):
    """gerbang-data on a socket of its own with SCHEMA_DIR=schema_dir: its
    exit status and stderr, or None when it is still serving (stopped)."""
    e = {k: v for k, v in os.environ.items() if k in ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS")}
    e.update(stack_env(stack))
    e["SCHEMA_DIR"] = str(schema_dir)
    e.update(env or {})
    sock = pathlib.Path(schema_dir).parent / "data-test.sock"
    p = subprocess.Popen([str(stack.build / "fcgi" / "gerbang-data"), "--listen", f"unix:{sock}"],
                         env=e, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if p.poll() is not None:
            return p.returncode, p.stderr.read()
        if sock.exists():
            p.terminate()
            p.communicate(timeout=30)
            return None, ""
        time.sleep(0.05)
    p.kill()
    p.communicate()
    raise AssertionError("gerbang-data neither served nor stopped")


@pytest.fixture(scope="module")
def bad_tables(stack):
    psql(stack, BAD_TABLES_SQL)


@pytest.mark.parametrize("decl,key,words", START_ERRORS,
                         ids=[f"{k}:{w[:20]}" for _, k, w in START_ERRORS])
def test_declaration_errors_stop_the_program(stack, bad_tables, decl, key, words):
    d = pathlib.Path(tempfile.mkdtemp(prefix="gb-schema-"))
    try:
        (d / "schema.d").mkdir()
        (d / "schema.d" / "bad.json").write_text(json.dumps(decl))
        rc, err = start_data(stack, d / "schema.d")
        assert rc == 78, (rc, err)
        assert f"SCHEMA_DIR: {d}/schema.d/bad.json: {key}: " in err, err
        assert words in err, err
        # gerbang-admin check-config names the same (with --database for the
        # checks against the catalog)
        p = admin(stack, "check-config", "--database", env={"SCHEMA_DIR": str(d / "schema.d")})
        assert p.returncode == 78, (p.returncode, p.stderr)
        assert f"{d}/schema.d/bad.json: {key}: " in p.stderr and words in p.stderr, p.stderr
    finally:
        shutil.rmtree(d)


def test_good_declarations_start_and_check(stack, kinds):
    p = admin(stack, "check-config")
    assert p.returncode == 0, p.stderr
    assert re.search(r"^resources: 2 in .*\(tables not checked: --database checks them\)$",
                     p.stdout, re.M), p.stdout
    p = admin(stack, "check-config", "--database")
    assert p.returncode == 0, p.stderr
    assert re.search(r"^resources: 2 in \S+$", p.stdout, re.M), p.stdout
    rc, err = start_data(stack, stack.dir / "schema.d")
    assert rc is None, err


def test_an_empty_directory_starts_without_the_database(stack, tmp_path):
    (tmp_path / "schema.d").mkdir()
    rc, err = start_data(stack, tmp_path / "schema.d",
                         env={"DATABASE_URL": f"postgresql:///gerbang?host={tmp_path}/none"})
    assert rc is None, err


def test_database_down_at_start_is_75(stack, tmp_path):
    (tmp_path / "schema.d").mkdir()
    shutil.copy(pathlib.Path(__file__).resolve().parents[2] / "etc" / "schema.d" / "notes.json",
                tmp_path / "schema.d")
    rc, err = start_data(stack, tmp_path / "schema.d",
                         env={"DATABASE_URL": f"postgresql:///gerbang?host={tmp_path}/none"})
    assert rc == 75, (rc, err)
    assert "cannot check SCHEMA_DIR against the database" in err
    p = admin(stack, "check-config", "--database",
              env={"SCHEMA_DIR": str(tmp_path / "schema.d"),
                   "DATABASE_URL": f"postgresql:///gerbang?host={tmp_path}/none"})
    assert p.returncode == 69, (p.returncode, p.stderr)
    # offline, the same directory is fine
    p = admin(stack, "check-config", env={"SCHEMA_DIR": str(tmp_path / "schema.d")})
    assert p.returncode == 0, p.stderr


def test_missing_directory_is_a_configuration_error(stack, tmp_path):
    rc, err = start_data(stack, tmp_path / "none")
    assert rc == 78 and "SCHEMA_DIR" in err and "cannot open the directory" in err, err
