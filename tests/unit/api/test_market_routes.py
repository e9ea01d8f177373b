"""The marketplace API surface without I/O: its operations in the table and the Chalice app,
the OpenAPI document, the request models and the path/query helpers."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from pitwall.api import routes
from pitwall.api import schemas as api
from pitwall.api.app import app
from pitwall.api.errors import from_validation_error
from pitwall.api.http import Call
from pitwall.api.operations import OPERATIONS, openapi_document
from pitwall.errors import NotFound, ValidationFailed

MARKET_PREFIX = "/api/v1/marketplace"
MARKET_OPERATIONS = [op for op in OPERATIONS if op.path.startswith(MARKET_PREFIX)]


def test_marketplace_routes_are_exactly_its_operations_and_need_a_key() -> None:
    assert len(MARKET_OPERATIONS) == 8
    routes_ = {(method, path) for path, methods in app.routes.items() for method in methods}
    market = {(m, p) for m, p in routes_ if p.startswith(MARKET_PREFIX)}
    assert market == {(op.method, op.path) for op in MARKET_OPERATIONS}
    for path, methods in app.routes.items():
        if path.startswith(MARKET_PREFIX):
            assert all(entry.api_key_required is True for entry in methods.values())
    assert all(not op.public for op in MARKET_OPERATIONS)


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_openapi_documents_every_marketplace_operation() -> None:
    doc = openapi_document()
    for op in MARKET_OPERATIONS:
        entry = doc["paths"][op.path][op.method.lower()]
        assert entry["operationId"] == op.operation_id and entry["security"] == [{"ApiKey": []}]
        assert entry["tags"] == ["marketplace"]
        assert {str(op.status), "401", "500"} <= set(entry["responses"])
        ok = entry["responses"][str(op.status)]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{op.response.__name__}"}
    publish_answers = doc["paths"][f"{MARKET_PREFIX}/listings"]["post"]["responses"]
    assert "202" in publish_answers and "201" not in publish_answers  # verification runs as a job
    for ref in _refs(doc):
        assert _resolve(doc, ref), ref
    for schema in doc["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    publish = {"$ref": "#/components/schemas/PublishRequest", "components": doc["components"]}
    validator = jsonschema.Draft202012Validator(publish)
    assert validator.is_valid({"model_name": "winner", "title": "t", "description": "d"})
    assert not validator.is_valid({"model_name": "winner", "title": "t" * 101, "description": "d"})
    card = doc["components"]["schemas"]["ModelCardInfo"]["properties"]
    assert {"feature_importance", "verified_metrics", "reported_metrics", "my_rating"} <= set(card)


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"model_name": "w", "title": "t" * 101, "description": "d"}, 422, "title"),
        ({"model_name": "w", "title": "t", "description": "d" * 2001}, 422, "description"),
        ({"model_name": "w", "title": "", "description": "d"}, 422, "title"),
        ({"model_name": "../w", "title": "t", "description": "d"}, 422, "model_name"),
        ({"model_name": "w", "title": "t", "description": "d", "reported_metrics": {"acc": "high"}}, 400, None),
        ({"model_name": "w", "title": "t", "description": "d", "version": 0}, 422, "version"),
        ({"model_name": "w", "title": "t", "description": "d", "owner": "x"}, 400, "owner"),
    ],
)
def test_publish_request_rejects_bad_bodies_naming_the_field(body: dict, status: int, field: str | None) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        api.PublishRequest.model_validate(body)
    err = from_validation_error(info.value, body)
    assert err.http_status == status
    assert err.field == (field or "reported_metrics.acc")


def test_rating_and_fork_requests() -> None:
    assert api.RatingRequest.model_validate({"stars": 5}).stars == 5
    for stars in (0, 6, 3.5, "4", True):
        with pytest.raises(ValueError):
            api.RatingRequest.model_validate({"stars": stars})
    assert api.ForkRequest.model_validate({}).new_name is None
    with pytest.raises(ValueError):
        api.ForkRequest.model_validate({"new_name": "a/b"})


def _call(params: dict[str, str] | None = None, query: dict[str, str] | None = None) -> Call:
    return Call(services=None, principal=None, params=params or {}, query=query or {}, body=None)  # type: ignore[arg-type]


def test_query_and_path_helpers() -> None:
    assert routes._limit(_call(query={}), 20) == 20
    assert routes._limit(_call(query={"limit": "100"}), 20) == 100
    for bad in ("0", "101", "ten", "1.5"):
        with pytest.raises(ValidationFailed) as info:
            routes._limit(_call(query={"limit": bad}), 20)
        assert info.value.field == "limit"
    assert routes._listing_id(_call(params={"listing_id": "lst_0123abcd"})) == "lst_0123abcd"
    for bad in ("", "lst/../x", "x" * 65, "lst 1"):
        with pytest.raises(NotFound):
            routes._listing_id(_call(params={"listing_id": bad}))
