"""Rendering an operation table into an OpenAPI 3.1 document: a pure function of the
operations and their pydantic models (so the document cannot drift from the code).

:func:`pitwall.api.operations.openapi_document` renders the API's table; it is served at
``GET /api/v1/openapi.json`` and the fuzz tests generate requests from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from pitwall.api import schemas as s
from pitwall.api.http import API_KEY_HEADER, Operation

REF = "#/components/schemas/{model}"
SECURITY_SCHEME = "ApiKey"
_STATUS_TEXT = {
    200: "OK",
    202: "Accepted",
    400: "Malformed request: bad JSON, missing field or wrong type",
    401: "Missing, unknown or revoked API key",
    403: "Not allowed on this tier",
    404: "No such resource for this tenant",
    409: "Conflicts with the current state",
    413: "Request body too large",
    422: "Well-formed but unacceptable value (out of range, unknown race or driver...)",
    429: "Quota or rate limit reached; see Retry-After",
    500: "Unexpected error (no details are disclosed)",
    502: "The model endpoint failed",
    503: "Serving or training is not available",
}


def _models(operations: Sequence[Operation]) -> list[tuple[type[BaseModel], str]]:
    seen: list[tuple[type[BaseModel], str]] = [(s.ErrorResponse, "serialization")]
    for op in operations:
        requests = op.request if isinstance(op.request, tuple) else (op.request,) if op.request else ()
        seen += [(m, "validation") for m in requests]
        if op.response is not None:
            seen.append((op.response, "serialization"))
    return list(dict.fromkeys(seen))


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _operation(op: Operation) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": list(op.tags),
        "parameters": [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
            for p in op.path_params
        ]
        + [
            {
                "name": q.name,
                "in": "query",
                "required": False,
                "description": q.description,
                "schema": {"type": "string", **({"enum": list(q.enum)} if q.enum else {})},
            }
            for q in op.query
        ],
        "responses": {},
    }
    if op.description:
        doc["description"] = op.description
    if op.request is not None:
        alternatives = op.request if isinstance(op.request, tuple) else (op.request,)
        schema = _ref(alternatives[0]) if len(alternatives) == 1 else {"oneOf": [_ref(m) for m in alternatives]}
        doc["requestBody"] = {"required": not op.body_optional, "content": {"application/json": {"schema": schema}}}
    ok_schema = _ref(op.response) if op.response is not None else {"type": "object"}
    content: dict[str, Any] = {"application/json": {"schema": ok_schema}}
    if op.example is not None:
        content["application/json"]["example"] = op.example
    if op.event_stream:
        content["text/event-stream"] = {
            "schema": {"type": "string"},
            "example": 'id: 2024-08:40\nevent: lap\ndata: {"model":"live_v1","lap":40,...}\n\n',
        }
    doc["responses"][str(op.status)] = {"description": _STATUS_TEXT.get(op.status, "OK"), "content": content}
    for status in (*op.errors, 500):
        answer: dict[str, Any] = {
            "description": _STATUS_TEXT.get(status, "Error"),
            "content": {"application/json": {"schema": _ref(s.ErrorResponse)}},
        }
        if status == 429:
            answer["headers"] = {
                "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}
            }
        doc["responses"][str(status)] = answer
    doc["security"] = [] if op.public else [{SECURITY_SCHEME: []}]
    return doc


def render(operations: Sequence[Operation], *, title: str, version: str, description: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``operations``: one entry per operation (``ValueError`` if
    two share a method and path or an operation id)."""
    ids = [op.operation_id for op in operations]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ValueError(f"operation ids used more than once: {duplicated}")
    _, defs = models_json_schema(_models(operations), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        entry = paths.setdefault(op.path, {})
        if op.method.lower() in entry:
            raise ValueError(f"{op.method} {op.path} is in the table twice")
        entry[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description, "license": {"name": "Apache-2.0"}},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {SECURITY_SCHEME: {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}},
        },
    }
