"""Property-based fuzzing of every operation in the served OpenAPI document: no 5xx, ever.

Requests are generated from the document itself (``GET /api/v1/openapi.json``): path and
query parameters, bodies drawn from each operation's JSON schema (so many are valid and reach
the route logic), bodies that break the schema, arbitrary JSON, raw bytes, and wrong, missing
or valid API keys. They go through the whole Chalice app (``chalice.test.Client``) on the
local backends, with a deployed real model so predictions run end to end.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pitwall.api.app import app
from pitwall.api.operations import OPERATIONS
from pitwall.api.services import ApiServices, set_services
from pitwall.platform import keys

REAL_RACES = ["monaco_2024", "2024-08", "2023-01", "great-britain_2022", "2024-24"]
REAL_DRIVERS = ["charles-leclerc", "max-verstappen", "lando-norris", "oscar-piastri"]
MAX_EXAMPLES = 100  # draws per operation: enough that predict reaches its 200s and 422s, not only 4xx guards

json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


class SchemaStrategies:
    """Hypothesis strategies for the JSON-Schema subset pydantic emits (refs resolved)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.doc = document

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            node: Any = self.doc
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def string(self, schema: dict[str, Any], name: str | None) -> st.SearchStrategy[Any]:
        if "pattern" in schema:
            pattern = schema["pattern"]
            strategy = st.from_regex(re.compile(pattern), fullmatch=True)
        else:
            strategy = st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 40), 40))
        if name == "race":
            strategy = st.sampled_from(REAL_RACES) | strategy
        if name == "template":
            strategy = st.sampled_from(["race_winner", "podium", "points"]) | strategy
        return strategy

    def value(self, schema: dict[str, Any], name: str | None = None) -> st.SearchStrategy[Any]:
        schema = self.resolve(schema)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return st.one_of([self.value(s, name) for s in schema[key]])
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        if "const" in schema:
            return st.just(schema["const"])
        kind = schema.get("type")
        if kind == "null":
            return st.none()
        if kind == "boolean":
            return st.booleans()
        if kind == "integer":
            return st.integers(schema.get("minimum", -(2**40)), schema.get("maximum", 2**40)) | st.integers()
        if kind == "number":
            return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
        if kind == "string":
            return self.string(schema, name)
        if kind == "array":
            items = self.value(schema.get("items", {}), name)
            return st.lists(items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 5), 5))
        if kind == "object" or "properties" in schema:
            return self.object(schema, name)
        return json_values

    def object(self, schema: dict[str, Any], name: str | None) -> st.SearchStrategy[dict[str, Any]]:
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        fixed = {k: self.value(v, k) for k, v in props.items() if k in required}
        optional = {k: self.value(v, k) for k, v in props.items() if k not in required}
        base = st.fixed_dictionaries(fixed, optional=optional)
        extra: st.SearchStrategy[dict[str, Any]] = st.just({})
        if "patternProperties" in schema:
            (pattern, sub), *_ = schema["patternProperties"].items()
            keys_ = st.sampled_from(REAL_DRIVERS) | st.from_regex(re.compile(pattern), fullmatch=True)
            extra = st.dictionaries(keys_, self.value(sub), max_size=4)
        elif isinstance(schema.get("additionalProperties"), dict):
            extra = st.dictionaries(
                st.sampled_from(["start_position", "points_before", "wet_race", "driver_id", "race_id", "x"])
                | st.text(max_size=8),
                self.value(schema["additionalProperties"]),
                max_size=5,
            )
        return st.tuples(base, extra).map(lambda pair: {**pair[1], **pair[0]})


@pytest.fixture
def fuzz_client(services: ApiServices) -> Client:
    services.enforce_rate_limits = False  # let requests reach the route logic
    set_services(services)
    return Client(app)


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, methods in document["paths"].items() for method, op in methods.items()]


def test_no_generated_request_gets_a_5xx(fuzz_client: Client, artifacts: dict[str, Path], h: Any) -> None:
    client = fuzz_client
    free, pro = keys.create_key("acme", "free"), keys.create_key("bigteam", "pro")
    h.register("acme", "rw", artifacts["winner_v1"], experiment="exp")
    h.register("bigteam", "rw", artifacts["winner_v1"])
    assert client.http.post("/api/v1/models/rw/deploy", headers={"x-api-key": free}).status_code == 200
    document = client.http.get("/api/v1/openapi.json").json_body
    strategies = SchemaStrategies(document)
    operations = _operations(document)
    assert len(operations) == len(OPERATIONS)
    seen: dict[str, set[int]] = {}

    identifiers = st.sampled_from(["rw", "rw", "rw", "rw", "exp", "missing", "job-x"]) | st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30
    )

    @st.composite
    def requests(draw: st.DrawFn, path: str, method: str, op: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
        url = path
        for param in op.get("parameters", []):
            if param["in"] == "path":
                url = url.replace("{" + param["name"] + "}", quote(draw(identifiers), safe=""))
        query = [
            f"{p['name']}={quote(draw(strategies.value(p['schema']) | st.text(max_size=10)), safe='')}"
            for p in op.get("parameters", [])
            if p["in"] == "query" and draw(st.booleans())
        ]
        if query:
            url += "?" + "&".join(query)
        headers = {"content-type": "application/json"}
        key = draw(st.sampled_from([free, free, free, pro, "pw_wrong", "", None]))
        if key is not None:
            headers["x-api-key"] = key
        body = b""
        if "requestBody" in op:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            kind = draw(st.sampled_from(["schema", "schema", "schema", "json", "bytes", "empty"]))
            if kind == "schema":
                body = json.dumps(draw(strategies.value(schema))).encode()
            elif kind == "json":
                body = json.dumps(draw(json_values)).encode()
            elif kind == "bytes":
                body = draw(st.binary(max_size=64))
        return url, headers, body

    def make_check(path: str, method: str, op: dict[str, Any]) -> Any:
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
            database=None,
            derandomize=True,  # the same requests every run: a failure reproduces
        )
        @given(request=requests(path, method, op))
        def check(request: tuple[str, dict[str, str], bytes]) -> None:
            url, headers, body = request
            answer = getattr(client.http, method)(url, headers=headers, body=body)
            assert answer.status_code < 500, (method, url, body[:200], answer.body[:500])
            if answer.status_code >= 400 and answer.status_code != 403:
                error = json.loads(answer.body)["error"]
                assert error["code"] and error["message"]
            seen.setdefault(op["operationId"], set()).add(answer.status_code)

        return check

    for path, method, op in operations:
        make_check(path, method, op)()

    # the generated traffic reached the route logic, not only the validators
    assert 200 in seen["predict"] and 422 in seen["predict"] and 401 in seen["predict"]
    assert 202 in seen["start_job"] or 429 in seen["start_job"]
    assert 200 in seen["list_models"]
