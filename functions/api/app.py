"""Pitwall prediction API v1: the Chalice app (API Gateway + Lambda in the cloud, ``pitwall serve`` locally).

Handlers are one line each: they hand the request to :func:`pitwall.api.http.handle` with
the operation of :data:`pitwall.api.routes.OPERATIONS` they serve (the marketplace routes come
from the ``chalicelib.marketplace_routes`` blueprint and
:data:`pitwall.api.marketplace.MARKETPLACE_OPERATIONS`). Keys, quotas, validation, errors and
the route logic all live in ``pitwall.api``; a unit test checks that the routes here and
those tables are the same set.

In the cloud every non-public route is also ``api_key_required`` so API Gateway usage plans
(Free/Pro, from ``pitwall.platform.tiers``) throttle requests before the Lambda runs.
"""

from __future__ import annotations

import contextvars
import importlib
import os
import time

import chalicelib.marketplace_routes
from aws_lambda_powertools import Logger
from chalice import Chalice, Response
from chalice.app import Request

from pitwall.api.http import ApiRequest, ApiResponse, error_answer, handle
from pitwall.api.routes import API_PREFIX, operation
from pitwall.api.services import get_services

app = Chalice(app_name="pitwall-api")
# /api/v1/marketplace/... (pitwall.api.marketplace). A Chalice Blueprint can be registered only
# once (registration consumes its recorded route arguments), so each app instance gets a fresh
# one: this module may be loaded more than once in a process (the local server, tests).
app.register_blueprint(importlib.reload(chalicelib.marketplace_routes).bp)
logger = Logger(service="pitwall-api", level=os.environ.get("PITWALL_LOG_LEVEL", "WARNING"))
_current: contextvars.ContextVar[Request] = contextvars.ContextVar("pitwall_request")

# Chalice's own answers (wrong method, wrong content type) re-shaped to the API's error format.
_CHALICE_ERRORS = {
    405: ("method_not_allowed", "this method is not allowed on this path"),
    415: ("unsupported_media_type", "send the body as application/json"),
}


@app.middleware("http")
def _bind_request(event: Request, get_response):  # type: ignore[no-untyped-def]
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


def _answer(operation_id: str, **path_params: str) -> Response:
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
    result: ApiResponse = handle(operation(operation_id), api_request, get_services())
    return Response(body=result.content.decode("utf-8"), status_code=result.status, headers=result.headers)


P = API_PREFIX
KEY = {"api_key_required": True}


@app.route(f"{P}/health", methods=["GET"])
def health() -> Response:
    return _answer("health")


@app.route(f"{P}/openapi.json", methods=["GET"])
def openapi() -> Response:
    return _answer("openapi")


@app.route(f"{P}/predict/{{model}}", methods=["POST"], **KEY)
def predict(model: str) -> Response:
    return _answer("predict", model=model)


@app.route(f"{P}/predict/{{model}}/championship", methods=["POST"], **KEY)
def predict_championship(model: str) -> Response:
    return _answer("predict_championship", model=model)


@app.route(f"{P}/models", methods=["GET"], **KEY)
def list_models() -> Response:
    return _answer("list_models")


@app.route(f"{P}/models/{{model}}", methods=["GET"], **KEY)
def describe_model(model: str) -> Response:
    return _answer("describe_model", model=model)


@app.route(f"{P}/models/{{model}}", methods=["DELETE"], **KEY)
def delete_model(model: str) -> Response:
    return _answer("delete_model", model=model)


@app.route(f"{P}/models/{{model}}/deploy", methods=["POST"], **KEY)
def deploy_model(model: str) -> Response:
    return _answer("deploy_model", model=model)


@app.route(f"{P}/models/{{model}}/undeploy", methods=["POST"], **KEY)
def undeploy_model(model: str) -> Response:
    return _answer("undeploy_model", model=model)


@app.route(f"{P}/jobs", methods=["POST"], **KEY)
def start_job() -> Response:
    return _answer("start_job")


@app.route(f"{P}/jobs", methods=["GET"], **KEY)
def list_jobs() -> Response:
    return _answer("list_jobs")


@app.route(f"{P}/jobs/{{job_id}}", methods=["GET"], **KEY)
def job_status(job_id: str) -> Response:
    return _answer("job_status", job_id=job_id)


@app.route(f"{P}/jobs/{{job_id}}/cancel", methods=["POST"], **KEY)
def cancel_job(job_id: str) -> Response:
    return _answer("cancel_job", job_id=job_id)


@app.route(f"{P}/experiments", methods=["GET"], **KEY)
def list_experiments() -> Response:
    return _answer("list_experiments")


@app.route(f"{P}/experiments/{{experiment}}", methods=["GET"], **KEY)
def compare_experiment(experiment: str) -> Response:
    return _answer("compare_experiment", experiment=experiment)
