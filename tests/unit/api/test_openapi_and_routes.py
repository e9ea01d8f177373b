"""The OpenAPI document, the operation table and the Chalice routes agree (no I/O)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from pitwall.api import routes
from pitwall.api import schemas as s
from pitwall.api.app import app, create_app
from pitwall.api.http import API_VERSION, Operation
from pitwall.api.openapi import render
from pitwall.api.operations import OPERATIONS
from pitwall.api.operations import openapi_document as openapi
from pitwall.vocabulary import WEATHER_CONDITIONS


def _resolve(doc: dict[str, Any], ref: str) -> dict[str, Any]:
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


ALL_OPERATIONS = OPERATIONS


def test_the_document_lists_every_operation_of_the_table_exactly_once_with_unique_ids() -> None:
    doc = openapi()
    entries = [(method.upper(), path, op) for path, ops in doc["paths"].items() for method, op in ops.items()]
    assert len(entries) == len(OPERATIONS)
    ids = [op["operationId"] for _, _, op in entries]
    assert len(set(ids)) == len(ids)
    assert sorted(ids) == sorted(op.operation_id for op in OPERATIONS)
    by_id = {op["operationId"]: (method, path) for method, path, op in entries}
    assert all(by_id[op.operation_id] == (op.method, op.path) for op in OPERATIONS)
    assert doc["info"]["version"] == API_VERSION


def test_rendering_refuses_a_table_with_a_repeated_operation() -> None:
    health = next(op for op in OPERATIONS if op.operation_id == "health")
    twin = Operation("health_again", health.method, health.path, "twin", health.function, None, public=True)
    for table in ((*OPERATIONS, health), (*OPERATIONS, twin)):
        with pytest.raises(ValueError):
            render(table, title="t", version="1", description="d")


def test_operation_functions_are_named_like_their_operation_ids() -> None:
    for op in OPERATIONS:
        assert op.function.__name__ == op.operation_id, op.operation_id
    market = [op for op in OPERATIONS if op.path.startswith("/api/v1/marketplace/")]
    assert sorted(op.operation_id for op in market) == sorted(
        f"market_{verb}" for verb in ("list", "top", "show", "publish", "download", "fork", "rate", "unpublish")
    )
    assert all(getattr(routes, op.operation_id) is op.function for op in market)


def test_every_operation_is_documented_with_its_method_and_security() -> None:
    doc = openapi()
    assert doc["openapi"].startswith("3.")
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == {(op.method, op.path) for op in ALL_OPERATIONS}
    assert len({op.operation_id for op in ALL_OPERATIONS}) == len(ALL_OPERATIONS)
    for op in ALL_OPERATIONS:
        entry = doc["paths"][op.path][op.method.lower()]
        assert entry["operationId"] == op.operation_id
        assert entry["security"] == ([] if op.public else [{"ApiKey": []}])
        assert str(op.status) in entry["responses"]
        assert "500" in entry["responses"]
        if 429 in op.errors:
            assert "Retry-After" in entry["responses"]["429"]["headers"]
    public = {op.path for op in ALL_OPERATIONS if op.public}
    assert public == {"/api/v1/health", "/api/v1/openapi.json"}


def test_all_references_resolve_and_schemas_are_valid_json_schema() -> None:
    doc = openapi()
    for ref in _refs(doc):
        assert _resolve(doc, ref), ref
    for schema in doc["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def _validator(doc: dict[str, Any], model: type) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{model.__name__}", "components": doc["components"]}
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize(
    "model, body, valid",
    [
        (s.RacePredictRequest, {"race": "monaco_2024", "grid_positions": {"charles-leclerc": 1}}, True),
        (s.RacePredictRequest, {"race": "2024-08", "weather": "wet"}, True),
        (s.RacePredictRequest, {"race": "monaco_2024", "grid_positions": {"charles-leclerc": 0}}, False),
        (s.RacePredictRequest, {"race": "monaco_2024", "extra": 1}, False),
        (s.InstancesPredictRequest, {"instances": [{"start_position": 1.0}]}, True),
        (s.InstancesPredictRequest, {"instances": []}, False),
        (s.ChampionshipRequest, {"season": 2024, "after_round": 18, "simulations": 1000}, True),
        (s.ChampionshipRequest, {"season": 1800}, False),
        (s.JobRequest, {"template": "race_winner", "name": "rw1", "seasons": [2022, 2023]}, True),
        (s.JobRequest, {"template": "race_winner"}, False),
    ],
)
def test_document_schemas_accept_what_the_models_accept(model: type, body: dict, valid: bool) -> None:
    doc = openapi()
    assert _validator(doc, model).is_valid(body) is valid
    try:
        model.model_validate(body)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted is valid


@pytest.mark.parametrize("chalice", [app, create_app()], ids=["app", "fresh"])
def test_chalice_routes_are_exactly_the_operation_table(chalice: Any) -> None:
    routes = {(method, path) for path, methods in chalice.routes.items() for method in methods}
    assert routes == {(op.method, op.path) for op in ALL_OPERATIONS}
    by_route = {(op.method, op.path): op for op in ALL_OPERATIONS}
    for path, methods in chalice.routes.items():
        for method, entry in methods.items():
            public = path in ("/api/v1/health", "/api/v1/openapi.json")
            assert bool(entry.api_key_required) is (not public), (method, path)
            assert entry.view_name == by_route[(method, path)].operation_id


def test_the_lambda_entry_point_re_exports_the_package_app() -> None:
    import importlib.util

    from pitwall.config import REPO_ROOT

    spec = importlib.util.spec_from_file_location("lambda_entry", REPO_ROOT / "functions" / "api" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.app is app


def test_weather_values_in_schema_and_serving_agree() -> None:
    schema = s.RacePredictRequest.model_json_schema()["properties"]["weather"]["anyOf"][0]
    assert set(schema["enum"]) == set(WEATHER_CONDITIONS)
