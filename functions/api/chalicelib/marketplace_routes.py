"""Marketplace routes of the Pitwall API: a Chalice blueprint, registered by ``app.py`` with
``app.register_blueprint(marketplace_routes.bp)``.

Handlers are one line each: they hand the request to :func:`pitwall.api.http.handle` with
their operation of :data:`pitwall.api.marketplace.MARKETPLACE_OPERATIONS` (keys, rates,
validation, errors and logic live in ``pitwall``). Every route is ``api_key_required`` so
API Gateway usage plans apply in the cloud.
"""

from __future__ import annotations

import contextvars

from chalice import Blueprint, Response
from chalice.app import Request

from pitwall.api.http import ApiRequest, ApiResponse, handle
from pitwall.api.marketplace import MARKET_PREFIX, market_operation
from pitwall.api.services import get_services

bp = Blueprint(__name__)
_current: contextvars.ContextVar[Request] = contextvars.ContextVar("pitwall_market_request")


@bp.middleware("http")
def _bind_market_request(event: Request, get_response):  # type: ignore[no-untyped-def]
    """Make the request visible to the handler of this thread (Chalice's ``current_request``
    is shared by every thread of the local server)."""
    token = _current.set(event)
    try:
        return get_response(event)
    finally:
        _current.reset(token)


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
    result: ApiResponse = handle(market_operation(operation_id), api_request, get_services())
    return Response(body=result.content.decode("utf-8"), status_code=result.status, headers=result.headers)


M = MARKET_PREFIX
KEY = {"api_key_required": True}


@bp.route(f"{M}/listings", methods=["GET"], **KEY)
def market_search() -> Response:
    return _answer("market_search")


@bp.route(f"{M}/listings", methods=["POST"], **KEY)
def market_publish() -> Response:
    return _answer("market_publish")


@bp.route(f"{M}/top", methods=["GET"], **KEY)
def market_top() -> Response:
    return _answer("market_top")


@bp.route(f"{M}/listings/{{listing_id}}", methods=["GET"], **KEY)
def market_show(listing_id: str) -> Response:
    return _answer("market_show", listing_id=listing_id)


@bp.route(f"{M}/listings/{{listing_id}}", methods=["DELETE"], **KEY)
def market_unpublish(listing_id: str) -> Response:
    return _answer("market_unpublish", listing_id=listing_id)


@bp.route(f"{M}/listings/{{listing_id}}/download", methods=["POST"], **KEY)
def market_download(listing_id: str) -> Response:
    return _answer("market_download", listing_id=listing_id)


@bp.route(f"{M}/listings/{{listing_id}}/fork", methods=["POST"], **KEY)
def market_fork(listing_id: str) -> Response:
    return _answer("market_fork", listing_id=listing_id)


@bp.route(f"{M}/listings/{{listing_id}}/rating", methods=["PUT"], **KEY)
def market_rate(listing_id: str) -> Response:
    return _answer("market_rate", listing_id=listing_id)
