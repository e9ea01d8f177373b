"""The marketplace API surface without I/O: the operation table, the blueprint's routes,
the OpenAPI document and the request models."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import jsonschema
import pytest
from chalice import Chalice

from pitwall.api import marketplace as api
from pitwall.api.errors import from_validation_error
from pitwall.api.http import Call
from pitwall.api.openapi import openapi
from pitwall.config import REPO_ROOT
from pitwall.errors import NotFound, ValidationFailed


def _blueprint() -> Any:
    path = REPO_ROOT / "functions" / "api" / "chalicelib" / "marketplace_routes.py"
    spec = importlib.util.spec_from_file_location("market_routes_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.bp


def test_blueprint_routes_are_exactly_the_operation_table_and_need_a_key() -> None:
    app = Chalice(app_name="market-unit")
    app.register_blueprint(_blueprint())
    routes = {(method, path) for path, methods in app.routes.items() for method in methods}
    assert routes == {(op.method, op.path) for op in api.MARKETPLACE_OPERATIONS}
    assert all(path.startswith("/api/v1/marketplace/") for _, path in routes)
    for methods in app.routes.values():
        for entry in methods.values():
            assert entry.api_key_required is True
    assert all(not op.public for op in api.MARKETPLACE_OPERATIONS)


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
    base = openapi()
    doc = api.with_marketplace(openapi())
    for path, operations in base["paths"].items():
        assert doc["paths"][path] == operations  # the rest of the API is unchanged
    for op in api.MARKETPLACE_OPERATIONS:
        entry = doc["paths"][op.path][op.method.lower()]
        assert entry["operationId"] == op.operation_id and entry["security"] == [{"ApiKey": []}]
        assert entry["tags"] == ["marketplace"]
        assert {str(op.status), "401", "500"} <= set(entry["responses"])
        ok = entry["responses"][str(op.status)]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{op.response.__name__}"}
    assert doc["paths"][f"{api.MARKET_PREFIX}/listings"]["post"]["responses"]["201"]
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
    assert api._limit(_call(query={}), 20) == 20
    assert api._limit(_call(query={"limit": "100"}), 20) == 100
    for bad in ("0", "101", "ten", "1.5"):
        with pytest.raises(ValidationFailed) as info:
            api._limit(_call(query={"limit": bad}), 20)
        assert info.value.field == "limit"
    assert api._listing_id(_call(params={"listing_id": "lst_0123abcd"})) == "lst_0123abcd"
    for bad in ("", "lst/../x", "x" * 65, "lst 1"):
        with pytest.raises(NotFound):
            api._listing_id(_call(params={"listing_id": bad}))
