"""docs/openapi.json: its structure, its agreement with the route tables of
fcgi/*.c, and with what the running stack answers.

The first two parts read files only (no stack); the last talks to the
`stack` fixture of conftest.py.  Schemas are checked by the small validator
below, which knows exactly the keywords the document uses and refuses any
other, so that a schema can never be skipped silently.
"""
import json
import pathlib
import re
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC_PATH = ROOT / "docs" / "openapi.json"
DOC_TEXT = DOC_PATH.read_text()
DOC = json.loads(DOC_TEXT)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# The methods documented for the proxy's "*" route (it forwards HEAD and
# OPTIONS too; those are not separate operations).
PROXY_METHODS = {"get", "post", "put", "patch", "delete"}
# The proxy's route pattern, served under the nginx location /v1/plugins/.
PROXY_PATTERN, PROXY_PATH = "/{*path}", "/v1/plugins/{path}"
PROGRAMS = {"health", "auth", "users", "proxy", "metrics", "tasks", "data", "chat"}

# The reusable error responses, by the status each stands for.
ERROR_RESPONSES = {
    "BadRequest": 400, "Unauthorized": 401, "CredentialsRejected": 401, "Forbidden": 403,
    "NotFound": 404, "MethodNotAllowed": 405, "Conflict": 409, "PayloadTooLarge": 413,
    "UriTooLong": 414, "UnsupportedMediaType": 415, "ValidationFailed": 422,
    "TooManyRequests": 429, "RequestHeaderFieldsTooLarge": 431, "InternalError": 500,
    "BadGateway": 502, "ServiceUnavailable": 503, "GatewayTimeout": 504,
}
# Answered by nginx or the pipeline in front of every operation.
EDGE_STATUSES = {"400", "414", "431", "500", "502"}
BODY_STATUSES = {"413", "415", "422"}


# ---- helpers -----------------------------------------------------------------------------

def resolve(ref):
    assert ref.startswith("#/"), f"$ref outside the document: {ref}"
    node = DOC
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"$ref does not resolve: {ref}"
        node = node[part]
    return node


def deref(node):
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(node["$ref"])
        seen += 1
        assert seen < 20, "a $ref cycle"
    return node


def walk(node, where="#"):
    """Yields (where, dict) for every object in node."""
    if isinstance(node, dict):
        yield where, node
        for k, v in node.items():
            yield from walk(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{where}/{i}")


def operations():
    for path, item in DOC["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


OPS = list(operations())
OP_IDS = [f"{m.upper()} {p}" for p, m, _ in OPS]


class SchemaError(AssertionError):
    pass


ANNOTATIONS = {"description", "title", "format", "examples", "default", "readOnly",
               "writeOnly", "deprecated", "$comment"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


def check(schema, value, where="$"):
    """Raises SchemaError when value does not satisfy schema (a JSON Schema
    2020-12 subset: $ref, allOf, type, const, enum, required, properties,
    additionalProperties, minProperties, items, minItems, minLength,
    maxLength, minimum, maximum, pattern)."""
    if schema is True or schema == {}:
        return
    if schema is False:
        raise SchemaError(f"{where}: no value is allowed here")
    unknown = set(schema) - ANNOTATIONS - {
        "$ref", "allOf", "type", "const", "enum", "required", "properties",
        "additionalProperties", "minProperties", "items", "minItems", "minLength",
        "maxLength", "minimum", "maximum", "pattern"}
    if unknown:
        raise SchemaError(f"{where}: the test's checker does not know {sorted(unknown)}")
    if "$ref" in schema:
        check(resolve(schema["$ref"]), value, where)
    for sub in schema.get("allOf", []):
        check(sub, value, where)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(TYPES[t](value) for t in types):
            raise SchemaError(f"{where}: {value!r} is not of type {types}")
    if "const" in schema and (value != schema["const"] or
                              type(value) is not type(schema["const"])):
        raise SchemaError(f"{where}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaError(f"{where}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                raise SchemaError(f"{where}: {key!r} is required")
        if len(value) < schema.get("minProperties", 0):
            raise SchemaError(f"{where}: fewer than {schema['minProperties']} properties")
        props = schema.get("properties", {})
        for key, v in value.items():
            if key in props:
                check(props[key], v, f"{where}.{key}")
            elif "additionalProperties" in schema:
                check(schema["additionalProperties"], v, f"{where}.{key}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            raise SchemaError(f"{where}: fewer than {schema['minItems']} items")
        for i, v in enumerate(value):
            if "items" in schema:
                check(schema["items"], v, f"{where}[{i}]")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            raise SchemaError(f"{where}: {value!r} is too short")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise SchemaError(f"{where}: {value!r} is too long")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise SchemaError(f"{where}: {value!r} does not match {schema['pattern']}")
    if TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            raise SchemaError(f"{where}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise SchemaError(f"{where}: {value} > {schema['maximum']}")


def security_of(op):
    return op["security"]


def is_jwt(op):
    return security_of(op) == [{"bearerAuth": []}]


def response_component(resp):
    """The component name a response refers to, or None when inline."""
    if "$ref" in resp:
        return resp["$ref"].rsplit("/", 1)[1]
    return None


def json_schema_of(resp):
    resp = deref(resp)
    content = resp.get("content", {})
    assert "application/json" in content, resp
    return content["application/json"]["schema"]


# ---- (a) the document itself ------------------------------------------------------------

def test_is_two_space_indented_with_stable_key_order():
    # What json.dumps writes back from the parsed document is the file: no
    # duplicate keys (they would be lost), 2-space indent, one final newline.
    assert DOC_TEXT == json.dumps(DOC, indent=2, ensure_ascii=False) + "\n"


def test_version_info_servers_tags():
    assert DOC["openapi"] == "3.1.0"
    want = re.search(r"AC_INIT\(\[gerbang\], \[([^]]+)\]", (ROOT / "configure.ac").read_text())[1]
    assert DOC["info"]["title"] == "gerbang"
    assert DOC["info"]["version"] == want
    assert [s["url"] for s in DOC["servers"]] == ["/"]
    tags = [t["name"] for t in DOC["tags"]]
    assert len(tags) == len(set(tags)) and set(tags) == PROGRAMS
    assert all(t.get("description") for t in DOC["tags"])
    assert {op["tags"][0] for _, _, op in OPS} == PROGRAMS


def test_every_ref_resolves():
    refs = [(w, n["$ref"]) for w, n in walk(DOC) if "$ref" in n]
    assert refs
    for where, ref in refs:
        assert isinstance(ref, str), where
        resolve(ref)


@pytest.mark.parametrize("kind", ["schemas", "parameters", "headers"])
def test_every_component_is_used(kind):
    used = {n["$ref"] for _, n in walk(DOC) if "$ref" in n}
    for name in DOC["components"][kind]:
        assert f"#/components/{kind}/{name}" in used, f"components/{kind}/{name} is unused"


def test_security_scheme():
    scheme = DOC["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert scheme["bearerFormat"] == "JWT"
    assert "security" not in DOC or DOC["security"] in ([], [{"bearerAuth": []}])


def test_envelopes():
    s = DOC["components"]["schemas"]
    ok, lst, bad = s["SuccessEnvelope"], s["ListEnvelope"], s["ErrorEnvelope"]
    assert ok["required"] == ["ok", "message", "data", "request_id"]
    assert ok["properties"]["ok"] == {"const": True}
    assert lst["required"] == ["ok", "message", "data", "meta", "request_id"]
    assert set(deref(lst["properties"]["meta"])["required"]) == {"limit", "next_cursor"}
    assert bad["required"] == ["ok", "message", "errors", "request_id"]
    assert bad["properties"]["ok"] == {"const": False}
    errors = deref(bad["properties"]["errors"])
    assert errors["type"] == "object"
    assert errors["additionalProperties"]["type"] == "array"
    assert errors["additionalProperties"]["items"] == {"type": "string"}
    for env in (ok, lst, bad):
        assert env["additionalProperties"] is False
    check(bad, {"ok": False, "message": "x", "errors": {"f": ["y"]}, "request_id": "a.b-c_1"})
    with pytest.raises(SchemaError):
        check(bad, {"ok": False, "message": "x", "errors": {"f": "y"}, "request_id": "r"})
    with pytest.raises(SchemaError):
        check(ok, {"ok": True, "message": "x", "data": None, "request_id": "bad id"})


def test_error_responses_of_the_pipeline():
    comps = DOC["components"]["responses"]
    assert {s for s in ERROR_RESPONSES.values()} == {
        400, 401, 403, 404, 405, 409, 413, 414, 415, 422, 429, 431, 500, 502, 503, 504}
    for name in ERROR_RESPONSES:
        assert name in comps, f"components/responses/{name} is missing"
    assert set(comps) == set(ERROR_RESPONSES), "a response component the test does not know"
    for name, resp in comps.items():
        assert deref(json_schema_of(resp)) is DOC["components"]["schemas"]["ErrorEnvelope"], name
        assert resp["content"]["application/json"]["examples"], name
    assert "WWW-Authenticate" in comps["Unauthorized"]["headers"]
    assert "WWW-Authenticate" not in comps["CredentialsRejected"]["headers"]
    assert "Allow" in comps["MethodNotAllowed"]["headers"]
    assert deref(comps["MethodNotAllowed"]["headers"]["Allow"])["required"] is True
    h429 = comps["TooManyRequests"]["headers"]
    assert {"Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(h429)
    assert "Retry-After" in comps["ServiceUnavailable"]["headers"]


def all_responses():
    for path, method, op in OPS:
        for status, resp in op["responses"].items():
            yield f"{method.upper()} {path} {status}", status, resp
    for name, resp in DOC["components"]["responses"].items():
        yield f"components/responses/{name}", str(ERROR_RESPONSES.get(name)), resp


def test_every_response_has_a_request_id_header():
    for where, _, resp in all_responses():
        h = deref(resp).get("headers", {})
        assert "X-Request-Id" in h, where
        assert deref(h["X-Request-Id"]) is DOC["components"]["headers"]["X-Request-Id"], where
    assert DOC["components"]["headers"]["X-Request-Id"]["required"] is True


def test_headers_are_described():
    for name, h in DOC["components"]["headers"].items():
        assert h.get("description") and "schema" in h, name
    for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"):
        assert DOC["components"]["headers"][name]["schema"]["type"] == "integer"


@pytest.mark.parametrize("path,method,op", OPS, ids=OP_IDS)
def test_operation(path, method, op):
    assert re.fullmatch(r"[a-z][A-Za-z0-9]*", op["operationId"]), op["operationId"]
    assert op["summary"].strip() and op["description"].strip()
    assert len(op["tags"]) == 1 and op["tags"][0] in PROGRAMS
    assert "security" in op, "security must be explicit on every operation"
    assert security_of(op) in ([], [{"bearerAuth": []}], [{}, {"bearerAuth": []}])
    statuses = set(op["responses"])
    assert all(re.fullmatch(r"[1-5][0-9][0-9]", s) or s == "default" for s in statuses), statuses
    assert any(s.startswith("2") for s in statuses), "no 2xx response"
    assert EDGE_STATUSES <= statuses, f"missing {EDGE_STATUSES - statuses}"
    if security_of(op) != []:
        assert "401" in statuses, "an operation that takes a token documents 401"
        assert "WWW-Authenticate" in deref(op["responses"]["401"])["headers"]
    if "requestBody" in op and "application/json" in op["requestBody"]["content"] \
            and op["tags"] != ["proxy"]:
        assert BODY_STATUSES <= statuses, f"a JSON body route misses {BODY_STATUSES - statuses}"
    for status, resp in op["responses"].items():
        name = response_component(resp)
        if name is not None:
            assert str(ERROR_RESPONSES[name]) == status, f"{name} used for {status}"
        resp = deref(resp)
        assert resp.get("description"), status
        if status.startswith(("4", "5")):
            assert deref(json_schema_of(resp)) is DOC["components"]["schemas"]["ErrorEnvelope"], status
        elif status.startswith("2") and op["tags"] not in (["proxy"], ["metrics"]):
            schema = deref(json_schema_of(resp))
            assert schema["allOf"][0]["$ref"] in ("#/components/schemas/SuccessEnvelope",
                                                  "#/components/schemas/ListEnvelope"), status
    params = [deref(p) for p in op.get("parameters", [])]
    names = {(p["in"], p["name"]) for p in params}
    assert len(names) == len(params), "a parameter twice"
    assert {("header", "X-Request-Id"), ("header", "traceparent")} <= names
    for p in params:
        assert p.get("description") and "schema" in p, p["name"]


def test_operation_ids_unique():
    ids = [op["operationId"] for _, _, op in OPS]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.parametrize("path,method,op", OPS, ids=OP_IDS)
def test_path_parameters_match_the_template(path, method, op):
    in_template = re.findall(r"\{([^}/]+)\}", path)
    assert len(in_template) == len(set(in_template))
    params = [deref(p) for p in DOC["paths"][path].get("parameters", []) + op.get("parameters", [])]
    declared = [p["name"] for p in params if p["in"] == "path"]
    assert sorted(declared) == sorted(in_template), (declared, in_template)
    for p in params:
        if p["in"] == "path":
            assert p["required"] is True, p["name"]


@pytest.mark.parametrize("path,method,op", [o for o in OPS if "requestBody" in o[2]],
                         ids=[i for i, o in zip(OP_IDS, OPS) if "requestBody" in o[2]])
def test_json_request_bodies_are_closed(path, method, op):
    body = op["requestBody"]
    if op["tags"] == ["proxy"]:
        assert body["required"] is False
        return
    assert body["required"] is True
    assert list(body["content"]) == ["application/json"]
    schema = deref(body["content"]["application/json"]["schema"])
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False, "unknown fields are 422"
    assert set(schema.get("required", [])) <= set(schema["properties"])
    for name, prop in schema["properties"].items():
        assert "type" in prop, name
        if prop["type"] == "string":
            assert "enum" in prop or ("minLength" in prop and "maxLength" in prop), name


# The fields, lengths and enums the handlers check (fcgi/auth.c, fcgi/users.c).
BODY_RULES = {
    ("/v1/auth/login", "post"): ({"company", "email", "password"},
                                 {"company": (1, 63), "email": (3, 254), "password": (1, 511)}),
    ("/v1/auth/refresh", "post"): ({"refresh_token"}, {"refresh_token": (1, 256)}),
    ("/v1/auth/logout", "post"): ({"refresh_token"}, {"refresh_token": (1, 256)}),
    ("/v1/users", "post"): ({"email", "password", "role"},
                            {"email": (3, 254), "password": (8, 511)}),
    ("/v1/users/{id}", "patch"): (set(), {"email": (3, 254), "password": (8, 511)}),
    ("/v1/companies", "post"): ({"slug", "name"}, {"slug": (1, 63), "name": (1, 200)}),
}


@pytest.mark.parametrize("key", sorted(BODY_RULES))
def test_request_body_rules(key):
    required, lengths = BODY_RULES[key]
    schema = deref(DOC["paths"][key[0]][key[1]]["requestBody"]["content"]["application/json"]["schema"])
    assert set(schema.get("required", [])) == required
    for field, (lo, hi) in lengths.items():
        prop = schema["properties"][field]
        assert (prop["minLength"], prop["maxLength"]) == (lo, hi), field
    if "role" in schema["properties"]:
        assert schema["properties"]["role"]["enum"] == ["owner", "admin", "member", "viewer"]
    if key == ("/v1/users/{id}", "patch"):
        assert set(schema["properties"]) == {"email", "password", "role", "disabled"}
        assert schema["properties"]["disabled"]["type"] == "boolean"
        assert schema["minProperties"] == 1


def examples_of(content):
    for media, m in content.items():
        for name, e in (m.get("examples") or {}).items():
            yield media, name, m.get("schema", {}), deref(e)
        if "example" in m:
            yield media, "example", m.get("schema", {}), {"value": m["example"]}


@pytest.mark.parametrize("path,method,op", OPS, ids=OP_IDS)
def test_examples_exist_and_validate(path, method, op):
    request_examples = 0
    if "requestBody" in op:
        for media, name, schema, e in examples_of(op["requestBody"]["content"]):
            check(schema, e["value"], f"request {media} {name}")
            request_examples += 1
        if op["requestBody"]["required"]:
            assert request_examples, "no request body example"
    for p in op.get("parameters", []):
        p = deref(p)
        if "example" in p:
            check(p["schema"], p["example"], f"parameter {p['name']}")
            request_examples += 1
    assert request_examples, "no request example"
    ok_examples = 0
    for status, resp in op["responses"].items():
        for media, name, schema, e in examples_of(deref(resp).get("content", {})):
            check(schema, e["value"], f"{status} {media} {name}")
            ok_examples += status.startswith("2")
    assert ok_examples, "no 2xx response example"


def test_component_examples_validate():
    for name, resp in DOC["components"]["responses"].items():
        for media, ex, schema, e in examples_of(resp["content"]):
            check(schema, e["value"], f"components/responses/{name} {ex}")
    for name, h in DOC["components"]["headers"].items():
        if "example" in h:
            check(h["schema"], h["example"], name)


def test_the_checker_refuses():
    user = DOC["components"]["schemas"]["User"]
    good = {"id": "45cc3860-259c-492a-9c65-e9b0fa117fe7", "email": "a@b", "role": "member",
            "disabled": False, "platform_admin": False,
            "created_at": "2026-11-22T08:33:20.91755+00:00",
            "updated_at": "2026-11-22T08:33:20.91755+00:00"}
    check(user, good)
    for bad in ({**good, "role": "boss"}, {**good, "disabled": 0}, {**good, "extra": 1},
                {k: v for k, v in good.items() if k != "email"},
                {**good, "id": "45CC3860-259C-492A-9C65-E9B0FA117FE7"}):
        with pytest.raises(SchemaError):
            check(user, bad)
    with pytest.raises(SchemaError):
        check({"type": "integer"}, True)
    with pytest.raises(SchemaError):
        check({"oneOf": []}, 1)


# ---- (b) the route tables of fcgi/*.c ---------------------------------------------------

TABLE = re.compile(r"static\s+const\s+struct\s+gb_route\s+routes\[\]\s*=\s*\{(.*?)\n\};", re.S)
ENTRY = re.compile(r'\{\s*"([A-Z]+|\*)"\s*,\s*"([^"]+)"\s*,\s*(\w+)\s*,\s*(GB_PUBLIC|GB_JWT)\s*,'
                   r'\s*([\w|() ]+?)\s*,\s*([\w"]+)\s*\}')


def route_tables():
    """{service: [(method, pattern, handler, access, roles, rate_class)]} of every fcgi/*.c."""
    tables = {}
    for src in sorted((ROOT / "fcgi").glob("*.c")):
        text = src.read_text()
        m = TABLE.search(text)
        assert m, f"{src.name}: no routes[] table"
        body = re.sub(r"/\*.*?\*/", "", m[1], flags=re.S)
        # brace groups, with string literals ("/{*path}") taken whole
        groups = re.findall(r'\{(?:"[^"]*"|[^{}"])*\}', body)
        entries = [ENTRY.fullmatch(g) for g in groups]
        bad = [g for g, e in zip(groups, entries) if e is None]
        assert not bad, f"{src.name}: entries the test cannot read: {bad}"
        assert entries, f"{src.name}: an empty routes[] table"
        service = re.search(r'\.service\s*=\s*"([^"]+)"', text)
        assert service, f"{src.name}: no .service"
        tables[service[1]] = [e.groups() for e in entries]
    return tables


try:
    TABLES, TABLES_ERROR = route_tables(), None
except AssertionError as e:     # reported by test_route_tables_were_read
    TABLES, TABLES_ERROR = {}, e


# A route whose template stands for a closed set of names is documented as
# one path per name: OpenAPI refuses two templates of the same shape
# (/v1/tasks/{kind} beside /v1/tasks/{id}).
NAMED = {"/v1/tasks/{kind}": ("/v1/tasks/{}", "TaskKind")}


def documented(pattern, method):
    """The [(path, [methods])] a route table entry is documented as."""
    if pattern == PROXY_PATTERN:
        assert method == "*"
        return [(PROXY_PATH, sorted(PROXY_METHODS))]
    assert method != "*", f"a '*' route other than the proxy's: {pattern}"
    if pattern in NAMED:
        shape, schema = NAMED[pattern]
        return [(shape.format(n), [method.lower()])
                for n in DOC["components"]["schemas"][schema]["enum"]]
    return [(pattern, [method.lower()])]


def test_route_tables_were_read():
    if TABLES_ERROR is not None:
        raise TABLES_ERROR
    assert set(TABLES) == PROGRAMS
    assert sum(len(t) for t in TABLES.values()) >= 18
    assert ("*", PROXY_PATTERN) in [(r[0], r[1]) for r in TABLES["proxy"]]


def table_routes():
    for service, routes in sorted(TABLES.items()):
        for method, pattern, handler, access, roles, rate in routes:
            yield service, method, pattern, access, roles, rate


@pytest.mark.parametrize("service,method,pattern,access,roles,rate", list(table_routes()),
                         ids=[f"{r[0]}:{r[1]} {r[2]}" for r in table_routes()])
def test_every_route_is_documented(service, method, pattern, access, roles, rate):
    for path, methods in documented(pattern, method):
        check_documented(service, path, methods, pattern, access, roles, rate)


def check_documented(service, path, methods, pattern, access, roles, rate):
    assert path in DOC["paths"], f"{path} is not documented"
    for m in methods:
        op = DOC["paths"][path].get(m)
        assert op is not None, f"{m.upper()} {path} is not documented"
        assert op["tags"] == [service]
        statuses = set(op["responses"])
        if pattern == PROXY_PATTERN:
            # Public to the pipeline; the handler authorizes per plugin
            # manifest (gb_authorize), so a token is optional.
            assert access == "GB_PUBLIC"
            assert op["security"] == [{}, {"bearerAuth": []}]
            assert {"401", "403", "404", "429", "502", "503", "504"} <= statuses
        elif access == "GB_JWT":
            assert op["security"] == [{"bearerAuth": []}]
            assert "401" in statuses
        else:
            assert op["security"] == []
        if roles != "0":
            assert "403" in statuses, "a route with roles documents 403"
        if rate != "GB_RATE_NONE":
            assert "429" in statuses, "a rate-limited route documents 429"
            ok = next(deref(r) for s, r in op["responses"].items() if s.startswith("2"))
            assert "RateLimit-Remaining" in ok["headers"]
        elif pattern != PROXY_PATTERN:
            assert "429" not in statuses, "a route without a rate class cannot answer 429"


def test_no_two_paths_have_the_same_shape():
    """OpenAPI: templates that differ only in their names are the same path."""
    shapes = {}
    for path in DOC["paths"]:
        shape = re.sub(r"\{[^}]*\}", "{}", path)
        assert shape not in shapes, f"{path} and {shapes[shape]} are the same path"
        shapes[shape] = path


def test_every_documented_operation_is_a_route():
    served = set()
    for service, method, pattern, *_ in table_routes():
        for path, methods in documented(pattern, method):
            served.update((path, m) for m in methods)
            if method == "GET":
                served.add((path, "head"))   # GET routes answer HEAD too
    for path, method, _ in OPS:
        assert (path, method) in served, f"{method.upper()} {path} is in no route table"


# ---- (c) the running stack ---------------------------------------------------------------

def operation(path, method):
    return DOC["paths"][path][method]


def first_example(op):
    content = op["requestBody"]["content"]["application/json"]
    return deref(next(iter(content["examples"].values())))["value"]


def conforms(r, path, method):
    """Checks r against the documented response for its status; returns the body."""
    op = operation(path, method)
    assert str(r.status) in op["responses"], f"{method.upper()} {path}: {r.status} undocumented"
    resp = deref(op["responses"][str(r.status)])
    for name, h in resp.get("headers", {}).items():
        if deref(h).get("required"):
            assert r.header(name), f"{r.status}: header {name} missing"
    assert r.header("x-request-id")
    media = r.header("content-type")
    matching = [m for m in resp["content"] if media.startswith(m) or m == "*/*"]
    assert matching, f"{media} is not documented for {r.status}"
    if not matching[0].startswith("application/json"):
        return r.body.decode()
    body = r.json
    check(resp["content"][matching[0]]["schema"], body, f"{method.upper()} {path} {r.status}")
    assert body["request_id"] == r.header("x-request-id")
    return body


@pytest.mark.parametrize("path", ["/", "/healthz", "/healthz/", "/readyz", "/version"])
def test_health_routes_answer_as_documented(stack, path):
    r = stack.get(path, headers={"X-Request-Id": "openapi-test.1"})
    assert r.status == 200, r
    assert conforms(r, path, "get")["request_id"] == "openapi-test.1"


def login_example(stack, **change):
    body = {**first_example(operation("/v1/auth/login", "post")), **change}
    return stack.request("POST", "/v1/auth/login",
                         headers={"Content-Type": "application/json"},
                         body=json.dumps(body).encode())


def test_login_with_the_documented_example(stack):
    r = login_example(stack)
    assert r.status == 200, r
    data = conforms(r, "/v1/auth/login", "post")["data"]
    me = stack.get("/v1/me", headers={"Authorization": f"Bearer {data['access_token']}"})
    assert me.status == 200, me
    assert conforms(me, "/v1/me", "get")["data"]["role"] == "owner"
    users = stack.get("/v1/users?limit=2",
                      headers={"Authorization": f"Bearer {data['access_token']}"})
    assert users.status == 200, users
    assert conforms(users, "/v1/users", "get")["meta"]["limit"] == 2


def test_documented_errors(stack):
    r = login_example(stack, password="not-the-password")
    assert r.status == 401, r
    conforms(r, "/v1/auth/login", "post")
    assert r.header("www-authenticate") is None     # as documented (CredentialsRejected)
    r = stack.request("POST", "/v1/auth/login", headers={"Content-Type": "application/json"},
                      body=b"{}")
    assert r.status == 422, r
    assert set(conforms(r, "/v1/auth/login", "post")["errors"]) == {"company", "email", "password"}
    r = stack.get("/v1/me")
    assert r.status == 401, r
    assert conforms(r, "/v1/me", "get")["message"] == "authentication required"


def test_data_routes_answer_as_documented(stack):
    """The example resource notes through every data route, each answer
    checked against the document."""
    from tenants import claims, jwt_secret, make_company, sign
    _, cid = make_company(stack, "openapi")
    token = sign({"alg": "HS256", "typ": "JWT"}, claims(str(uuid.uuid4()), cid, "owner"),
                 jwt_secret(stack))
    auth = {"Authorization": f"Bearer {token}"}
    js = {**auth, "Content-Type": "application/json"}
    body = first_example(operation("/v1/data/{resource}", "post"))
    r = stack.request("POST", "/v1/data/notes", headers=js, body=json.dumps(body).encode())
    assert r.status == 201, r
    row = conforms(r, "/v1/data/{resource}", "post")["data"]
    stack.request("POST", "/v1/data/notes", headers=js, body=json.dumps(body).encode())
    path = f"/v1/data/notes/{row['id']}"
    conforms(stack.get("/v1/data/notes?limit=1&done=false&due.gte=2026-01-01", headers=auth),
             "/v1/data/{resource}", "get")
    conforms(stack.get("/v1/data/notes?limit=0&nope=1", headers=auth), "/v1/data/{resource}", "get")
    conforms(stack.get("/v1/data/notes?cursor=xyz", headers=auth), "/v1/data/{resource}", "get")
    conforms(stack.get("/v1/data/nope", headers=auth), "/v1/data/{resource}", "get")
    conforms(stack.get(path, headers=auth), "/v1/data/{resource}/{id}", "get")
    change = first_example(operation("/v1/data/{resource}/{id}", "patch"))
    r = stack.request("PATCH", path, headers={**js, "If-Match": '"1"'},
                      body=json.dumps(change).encode())
    assert r.status == 200, r
    conforms(r, "/v1/data/{resource}/{id}", "patch")
    r = stack.request("PATCH", path, headers={**js, "If-Match": '"1"'},
                      body=json.dumps(change).encode())
    assert r.status == 412, r
    conforms(r, "/v1/data/{resource}/{id}", "patch")
    r = stack.request("POST", "/v1/data/notes", headers=js, body=b'{"company_id": 1}')
    conforms(r, "/v1/data/{resource}", "post")
    r = stack.request("DELETE", path, headers=auth)
    assert r.status == 200, r
    conforms(r, "/v1/data/{resource}/{id}", "delete")
    conforms(stack.request("DELETE", path, headers=auth), "/v1/data/{resource}/{id}", "delete")


def test_metrics_media_type(stack):
    r = stack.get("/metrics")
    assert r.status == 200, r
    assert conforms(r, "/metrics", "get").startswith("# HELP ")
