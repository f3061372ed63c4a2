"""docs/openapi.json against the official OpenAPI 3.1 JSON Schema.

The schemas are the OpenAPI Initiative's, copied in oas-3.1/ (its README
says which iterations and where from); python3-jsonschema validates with
them, offline: every $ref resolves to one of those files or to the JSON
Schema 2020-12 meta-schemas that come with jsonschema, and any other
address fails the test instead of being fetched.  schema-base checks the
whole document, its Schema Objects included (against the OpenAPI dialect).

test_openapi.py checks what this cannot: that the document agrees with
the route tables and the running stack.  Debian 12 has no
openapi-spec-validator; this needs no stack.
"""
import copy
import functools
import json
import os
import pathlib

import pytest

try:
    from jsonschema import Draft202012Validator, RefResolver
except ImportError:
    # scripts/dev installs it; in CI its absence is a failure, not a skip.
    if os.environ.get("CI"):
        raise
    pytest.skip("python3-jsonschema is not installed", allow_module_level=True)

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC = json.loads((ROOT / "docs" / "openapi.json").read_text())
SCHEMA_DIR = pathlib.Path(__file__).resolve().parent / "oas-3.1"

SCHEMA_ID = "https://spec.openapis.org/oas/3.1/schema/2025-11-23"
SCHEMA_BASE_ID = "https://spec.openapis.org/oas/3.1/schema-base/2025-11-23"
DIALECT_ID = "https://spec.openapis.org/oas/3.1/dialect/2024-11-10"
META_ID = "https://spec.openapis.org/oas/3.1/meta/2024-11-10"


def load_schemas():
    by_id = {}
    for f in sorted(SCHEMA_DIR.glob("*.json")):
        s = json.loads(f.read_text())
        assert s["$id"] not in by_id, f"two files with $id {s['$id']}"
        by_id[s["$id"]] = s
    return by_id


SCHEMAS = load_schemas()


def no_download(uri):
    raise AssertionError(f"a $ref outside oas-3.1/ and jsonschema's own: {uri}")


@functools.lru_cache(maxsize=None)
def validator(schema_id):
    schema = SCHEMAS[schema_id]
    resolver = RefResolver.from_schema(schema, store=dict(SCHEMAS),
                                       handlers={"http": no_download, "https": no_download})
    return Draft202012Validator(schema, resolver=resolver,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(schema_id, doc):
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in validator(schema_id).iter_errors(doc)]


def test_the_schema_copies_are_the_expected_iterations():
    assert set(SCHEMAS) == {SCHEMA_ID, SCHEMA_BASE_ID, DIALECT_ID, META_ID}
    # schema-base ties them together: the schema, and the dialect for
    # Schema Objects, which names the meta vocabulary.
    base = SCHEMAS[SCHEMA_BASE_ID]
    assert base["$ref"] == SCHEMA_ID
    assert base["$defs"]["dialect"]["const"] == DIALECT_ID
    assert {"$ref": META_ID} in SCHEMAS[DIALECT_ID]["allOf"]


@pytest.mark.parametrize("schema_id", sorted(SCHEMAS))
def test_the_schemas_are_valid_json_schema_2020_12(schema_id):
    Draft202012Validator.check_schema(SCHEMAS[schema_id])


@pytest.mark.parametrize("schema_id", [SCHEMA_ID, SCHEMA_BASE_ID])
def test_document_is_valid_openapi_3_1(schema_id):
    assert errors(schema_id, DOC) == []


# Each case breaks one copy of the document in one way; schema-base must
# refuse every one (the last two only it can see: they are inside Schema
# Objects).
def set_in(doc, path, value):
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value


def first_schema_name():
    return sorted(DOC["components"]["schemas"])[0]


BROKEN = {
    "openapi 3.0.3": (["openapi"], "3.0.3"),
    "no info.title": (["info", "title"], KeyError),
    "unknown top-level key": (["paths_"], {}),
    "a path not starting with /": (["paths", "healthz"], {}),
    "a response description that is not a string":
        (["paths", "/healthz", "get", "responses", "200", "description"], 5),
    "a response code that is no status":
        (["paths", "/healthz", "get", "responses", "2000"], {"description": "x"}),
    "a parameter in a made-up place":
        (["paths", "/v1/users/{id}", "parameters"], [{"name": "id", "in": "body", "schema": {}}]),
    "an unknown security scheme type":
        (["components", "securitySchemes", "bearerAuth", "type"], "token"),
    "a Schema Object with an unknown type":
        (["components", "schemas", first_schema_name(), "type"], "strin"),
    "a Schema Object with a negative minLength":
        (["components", "schemas", first_schema_name(), "minLength"], -1),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_copy_is_refused(case):
    path, value = BROKEN[case]
    doc = copy.deepcopy(DOC)
    set_in(doc, path, value)
    assert doc != DOC
    assert errors(SCHEMA_BASE_ID, doc), f"schema-base accepted: {case}"
