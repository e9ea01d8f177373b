"""The Chalice app of the API (v1): API Gateway + Lambda in the cloud, ``pitwall serve`` locally.

:func:`create_app` routes every operation of :data:`pitwall.api.operations.OPERATIONS` (one
Chalice route per operation, named by its operation id) through one request adapter: the
Chalice request becomes an :class:`~pitwall.api.http.ApiRequest` answered by
:func:`pitwall.api.http.handle` (keys, quotas, validation, errors and the operation's function
all live in ``pitwall.api``). Non-public routes are ``api_key_required``, so in the cloud API
Gateway usage plans (Free/Pro, from ``pitwall.platform.tiers``) throttle requests before the
Lambda runs.

``app`` is the process's app: ``functions/api/app.py`` re-exports it for Chalice and the CDK
stack (Lambda handler ``app.app``), and :mod:`pitwall.api.server` serves it.
"""

from __future__ import annotations

import contextvars
import os
import time
from collections.abc import Callable

from aws_lambda_powertools import Logger
from chalice import Chalice, Response
from chalice.app import Request

from pitwall.api.http import ApiRequest, Operation, error_answer, handle
from pitwall.api.operations import OPERATIONS
from pitwall.api.services import get_services

APP_NAME = "pitwall-api"
logger = Logger(service=APP_NAME, level=os.environ.get("PITWALL_LOG_LEVEL", "WARNING"))
# The request being answered by this thread (Chalice's ``current_request`` is one attribute of
# the app, shared by every thread of the local server).
_current: contextvars.ContextVar[Request] = contextvars.ContextVar("pitwall_request")

# Chalice's own answers (wrong method, wrong content type) re-shaped to the API's error format.
_CHALICE_ERRORS = {
    405: ("method_not_allowed", "this method is not allowed on this path"),
    415: ("unsupported_media_type", "send the body as application/json"),
}


def _bind_request(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Make the request visible to the handler of this thread, time it, fix Chalice's errors."""
    token = _current.set(event)
    started = time.perf_counter()
    try:
        response = get_response(event)
    finally:
        _current.reset(token)
    if response.status_code in _CHALICE_ERRORS and isinstance(response.body, dict) and "Code" in response.body:
        code, message = _CHALICE_ERRORS[response.status_code]
        fixed = error_answer(response.status_code, code, f"{message}: {response.body.get('Message', '')}")
        response = Response(body=fixed.content.decode("utf-8"), status_code=fixed.status, headers=fixed.headers)
    if response.status_code >= 500:
        logger.error(
            "request failed",
            extra={"path": event.path, "status": response.status_code, "ms": 1000 * (time.perf_counter() - started)},
        )
    return response


def _answer(operation: Operation, path_params: dict[str, str]) -> Response:
    """The one request adapter: Chalice request -> ``handle`` -> Chalice response."""
    request = _current.get()
    query = request.query_params
    api_request = ApiRequest(
        method=request.method,
        path=request.path,
        path_params=path_params,
        query={k: query[k] for k in query} if query else {},
        headers={k.lower(): v for k, v in request.headers.items()},
        body=request.raw_body or None,
    )
    result = handle(operation, api_request, get_services())
    return Response(body=result.content.decode("utf-8"), status_code=result.status, headers=result.headers)


def _view(operation: Operation) -> Callable[..., Response]:
    def view(**path_params: str) -> Response:
        return _answer(operation, path_params)

    view.__name__ = view.__qualname__ = operation.operation_id
    view.__doc__ = operation.summary
    return view


def create_app() -> Chalice:
    """A Chalice app serving every operation of the table."""
    chalice_app = Chalice(app_name=APP_NAME)
    chalice_app.register_middleware(_bind_request, "http")
    for op in OPERATIONS:
        options = {} if op.public else {"api_key_required": True}
        chalice_app.route(op.path, methods=[op.method], name=op.operation_id, **options)(_view(op))
    return chalice_app


app = create_app()
