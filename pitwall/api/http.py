"""Framework-free request handling: what an operation is, and one function from an HTTP
request to an HTTP answer.

The Chalice app (:mod:`pitwall.api.app`, served by API Gateway + Lambda and by ``pitwall
serve``) and tests all go through :func:`handle`, which applies the same steps to every
operation of :data:`pitwall.api.operations.OPERATIONS`:

1. body size limit (413) before anything is read or parsed;
2. API key (``x-api-key``) -> principal via ``pitwall.platform.keys.authenticate``
   (401), except for public operations (health, OpenAPI document);
3. request-rate quota (429 + ``Retry-After``) when the app enforces it (locally);
4. JSON parsing (400 ``malformed_json``) and schema validation (400/422, field named);
5. for expensive operations (``Operation.expense``): the tier's size caps (422), the extra
   request-rate units the request costs (429), and for championship forecasts a concurrency
   slot (429 beyond the tenant's share, 503 beyond the process bound);
6. the operation's plain function; its pydantic response model is serialised to JSON;
7. every exception mapped by :mod:`pitwall.api.errors` (never a stack trace).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic_core
from pydantic import BaseModel, ValidationError

from pitwall.api.errors import error_response, from_validation_error
from pitwall.api.services import ApiServices
from pitwall.errors import PayloadTooLarge, ValidationFailed
from pitwall.platform import keys, quotas
from pitwall.platform.records import Principal

API_VERSION = "1.0.0"
API_PREFIX = "/api/v1"
API_KEY_HEADER = "x-api-key"
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP request, already routed: ``headers`` keys are lower-case."""

    method: str
    path: str
    path_params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


def dumps(body: Any) -> bytes:
    """Compact JSON of an answer (a JSON value or a pydantic model), encoded by pydantic-core (the
    validation library's Rust encoder: ~4x the standard library's speed); a non-finite float is
    ``null`` (JSON has no NaN)."""
    return pydantic_core.to_json(body, by_alias=False, inf_nan_mode="null")


@dataclass
class ApiResponse:
    """An answer: ``body`` is the JSON value (or the response model), ``content`` its encoding
    (what goes on the wire)."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""

    @classmethod
    def json(cls, status: int, body: Any, headers: Mapping[str, str] | None = None) -> ApiResponse:
        return cls(status, body, {**JSON_HEADERS, **headers} if headers else JSON_HEADERS.copy(), dumps(body))


@dataclass(frozen=True)
class Call:
    """What an operation's function receives."""

    services: ApiServices
    principal: Principal | None
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: Any

    @property
    def tenant(self) -> Principal:
        assert self.principal is not None, "public operations have no principal"
        return self.principal


@dataclass(frozen=True)
class QueryParam:
    name: str
    description: str
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Operation:
    """One API operation: where it lives, what it takes and returns, and its function (named
    like its ``operation_id``). ``public``: no API key needed (health, the OpenAPI document)."""

    operation_id: str
    method: str
    path: str
    summary: str
    function: Callable[[Call], BaseModel | dict[str, Any]]
    response: type[BaseModel] | None
    """The answer's model; None: a free-form JSON object (the OpenAPI document)."""
    request: type[BaseModel] | tuple[type[BaseModel], ...] | None = None
    body_optional: bool = False
    status: int = 200
    public: bool = False
    query: tuple[QueryParam, ...] = ()
    errors: tuple[int, ...] = (400, 401, 404, 422, 429)
    tags: tuple[str, ...] = ()
    description: str = ""
    expense: Callable[[Any], quotas.Expense] | None = None
    """What a validated request body costs (fair shares), for expensive operations."""
    example: dict[str, Any] | None = None
    """An example of the answer (shown in the OpenAPI document)."""
    event_stream: bool = False
    """Also answers ``text/event-stream`` (Server-Sent Events) under ``pitwall serve``."""

    @property
    def path_params(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{") and part.endswith("}")]


def parse_json(body: bytes | None) -> Any:
    """The JSON value of a request body (strict: no NaN/Infinity, at most 200 levels deep), parsed
    by pydantic-core; 400 ``malformed_json`` otherwise."""
    if body is None or not body.strip():
        raise ValidationFailed("the request body is empty; send a JSON object", field="body", code="malformed_json")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("the request body is not UTF-8 text", field="body", code="malformed_json") from None
    try:
        return pydantic_core.from_json(text, allow_inf_nan=False)
    except ValueError as exc:
        raise ValidationFailed(f"malformed JSON: {exc}", field="body", code="malformed_json") from None


def _pick_model(request: type[BaseModel] | tuple[type[BaseModel], ...], data: Any) -> type[BaseModel]:
    """For alternative bodies, the model whose required fields the data has (first by default)."""
    if not isinstance(request, tuple):
        return request
    if isinstance(data, dict):
        for model in request:
            required = [name for name, f in model.model_fields.items() if f.is_required()]
            if required and all(name in data for name in required):
                return model
    return request[0]


def validate_body(request: type[BaseModel] | tuple[type[BaseModel], ...], body: bytes | None) -> BaseModel:
    data = parse_json(body)
    model = _pick_model(request, data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, data) from None


def rows_expense(body: Any) -> quotas.Expense:
    """An ``instances`` prediction costs its rows (a race prediction costs one request)."""
    return quotas.Expense(rows=len(getattr(body, "instances", None) or ()))


def simulations_expense(body: Any) -> quotas.Expense:
    """A championship forecast costs its Monte Carlo runs."""
    return quotas.Expense(simulations=int(getattr(body, "simulations", 0) or 0))


def authenticate(services: ApiServices, headers: Mapping[str, str]) -> Principal:
    principal = keys.authenticate(headers.get(API_KEY_HEADER), backend=services.records)
    if services.enforce_rate_limits:
        quotas.check_request_rate(principal, backend=services.records)
    return principal


def handle(operation: Operation, request: ApiRequest, services: ApiServices) -> ApiResponse:
    """Answer ``request`` with ``operation`` (see the module doc); never raises."""
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
    try:
        size = len(request.body or b"")
        if size > services.max_body_bytes:
            raise PayloadTooLarge(
                f"the request body is {size} bytes; at most {services.max_body_bytes} are accepted", field="body"
            )
        principal = None if operation.public else authenticate(services, request.headers)
        body = None
        has_body = bool(request.body and request.body.strip())
        if operation.request is not None and (has_body or not operation.body_optional):
            body = validate_body(operation.request, request.body)
        call = Call(services=services, principal=principal, params=request.path_params, query=request.query, body=body)
        slot: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if operation.expense is not None and principal is not None and body is not None:
            expense = operation.expense(body)
            quotas.check_expense(principal, expense)
            if services.enforce_rate_limits:
                quotas.charge_expense(principal, expense, backend=services.records)
            if expense.simulations:
                slot = quotas.SIMULATION_SLOTS.slot(principal)
        with slot:
            result = operation.function(call)
        return ApiResponse.json(operation.status, result)
    except Exception as exc:  # every failure becomes an HTTP answer
        status, headers, payload = error_response(exc, request_id=request_id)
        return ApiResponse.json(status, payload, headers)


def error_answer(status: int, code: str, message: str, field: str | None = None) -> ApiResponse:
    """An error answer built outside :func:`handle` (unknown route, method not allowed...)."""
    return ApiResponse.json(status, {"error": {"code": code, "message": message, "field": field}})
