"""The marketplace part of the API: request/response models, operation functions and their
table (:data:`MARKETPLACE_OPERATIONS`), served by the Chalice blueprint in
``functions/api/chalicelib/marketplace_routes.py`` through :func:`pitwall.api.http.handle`
(so API keys, request rates, body limits, validation and error mapping are the API's own).

Every route needs an API key. Logic lives in :mod:`pitwall.market_service` (shared with the
CLI and the SDK) and the rules in :mod:`pitwall.platform.marketplace`.

Routes (all under ``/api/v1/marketplace``)::

    GET    /listings                     search (template, text, author, sort, limit, next_token)
    POST   /listings                     publish one of your models (201)
    GET    /top                          top listings of the last 7 days
    GET    /listings/{listing_id}        model card (+ your own rating)
    DELETE /listings/{listing_id}        unpublish (author only)
    POST   /listings/{listing_id}/download   bundle (base64) or presigned URL; tier quota
    POST   /listings/{listing_id}/fork       copy into your models (201); tier quota
    PUT    /listings/{listing_id}/rating     rate 1-5 (not your own)
"""

from __future__ import annotations

import base64
import re
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints
from pydantic.json_schema import models_json_schema

from pitwall import market_service
from pitwall.api.http import API_PREFIX, Call, Operation, QueryParam
from pitwall.api.schemas import Identifier, Request, Response
from pitwall.errors import NotFound, ValidationFailed
from pitwall.platform import marketplace as rules
from pitwall.platform.records import Listing, ModelRecord

MARKET_PREFIX = f"{API_PREFIX}/marketplace"
LISTING_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

MetricName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]


# --------------------------------------------------------------------------- schemas


class PublishRequest(Request):
    """Publish one of your registered models. Text is stored as plain text (never HTML)."""

    model_name: Identifier = Field(description="your model's name")
    version: int | None = Field(None, ge=1, description="model version to list (default: latest)")
    title: str = Field(min_length=1, max_length=rules.TITLE_MAX_CHARS, description="one line of plain text")
    description: str = Field(
        min_length=1, max_length=rules.DESCRIPTION_MAX_CHARS, description="plain text, may span lines"
    )
    reported_metrics: dict[MetricName, float] | None = Field(
        None, max_length=100, description="your own claims, shown apart from Pitwall's verified metrics"
    )


class RatingRequest(Request):
    stars: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")


class ForkRequest(Request):
    new_name: Identifier | None = Field(None, description="name of the copy (default: the listed model's name)")


class ListingInfo(Response):
    """A listing as everyone sees it (no artifact location)."""

    listing_id: str
    author_tenant_id: str
    model_name: str
    model_version: int
    title: str
    description: str
    template: str
    task: str
    algorithm: str
    features: list[str]
    target: str
    data_window: dict[str, Any]
    verified: bool = Field(description="verified_metrics come from Pitwall's own backtest")
    verified_metrics: dict[str, float]
    verified_at: str
    reported_metrics: dict[str, float] = Field(description="the author's claims (not verified)")
    baseline_metrics: dict[str, float]
    feature_importance: dict[str, float] | None
    sha256: str = Field(description="sha256 of the artifact's metadata.json")
    created_at: str
    downloads: int
    rating_avg: float | None
    rating_count: int


class ListingPage(Response):
    listings: list[ListingInfo]
    next_token: str | None = Field(description="pass as next_token for the next page; null on the last")


class TopEntry(Response):
    listing: ListingInfo
    downloads_7d: int
    ratings_7d: int


class TopListings(Response):
    listings: list[TopEntry] = Field(description="most downloads + new ratings over the last 7 days first")


class ModelCardInfo(Response):
    """Everything about a listed model before downloading it, including feature importance."""

    listing_id: str
    title: str
    description: str
    author_tenant_id: str
    model_name: str
    model_version: int
    template: str
    task: str
    algorithm: str
    target: str
    features: list[str]
    data_window: dict[str, Any]
    verified: bool
    verified_metrics: dict[str, float]
    verified_at: str
    reported_metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    feature_importance: dict[str, float] | None
    downloads: int
    rating_avg: float | None
    rating_count: int
    created_at: str
    metrics_note: str
    my_rating: int | None = Field(description="the stars you gave this listing, if any")


class DownloadInfo(Response):
    """A download. Locally the zip bundle comes inline (``bundle_base64``); in the cloud a
    presigned ``url`` valid for ``expires_in_seconds``. Check the file's sha256 against
    ``bundle_sha256`` and import it with ``pitwall.ml.import_bundle`` (verifies every file)."""

    listing_id: str
    model_name: str
    model_version: int
    file_name: str
    sha256: str = Field(description="sha256 of metadata.json inside the bundle")
    bundle_sha256: str = Field(description="sha256 of the zip bundle itself")
    size_bytes: int
    metadata: dict[str, Any] = Field(description="the artifact's metadata.json")
    downloads: int = Field(description="the listing's download count after this one")
    bundle_base64: str | None = None
    url: str | None = None
    expires_in_seconds: int | None = None


class ForkOriginInfo(Response):
    listing_id: str
    tenant_id: str
    model_name: str
    version: int


class ForkInfo(Response):
    """Your copy: a model of your own, deployable and retrainable like any other."""

    model: str
    version: int
    template: str
    algorithm: str
    created_at: str
    forked_from: ForkOriginInfo


class RatingInfo(Response):
    listing_id: str
    stars: int
    rating_avg: float | None
    rating_count: int


class UnpublishedResponse(Response):
    unpublished: str


# --------------------------------------------------------------------------- helpers


def _listing_id(call: Call) -> str:
    value = call.params.get("listing_id", "")
    if not LISTING_ID_RE.match(value):
        raise NotFound(f"listing {value!r} not found", field="listing_id")
    return value


def _limit(call: Call, default: int) -> int:
    raw = call.query.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(f"limit must be a whole number; got {raw!r}", field="limit") from None
    if not 1 <= value <= rules.MAX_PAGE_SIZE:
        raise ValidationFailed(f"limit must be between 1 and {rules.MAX_PAGE_SIZE}; got {value}", field="limit")
    return value


def listing_info(listing: Listing) -> ListingInfo:
    return ListingInfo.model_validate(listing.public_doc())


def _fork_info(record: ModelRecord) -> ForkInfo:
    assert record.forked_from is not None
    return ForkInfo(
        model=record.name,
        version=record.version,
        template=record.template,
        algorithm=record.algorithm,
        created_at=record.created_at,
        forked_from=ForkOriginInfo.model_validate(record.forked_from.to_doc()),
    )


# --------------------------------------------------------------------------- operations


def search_listings(call: Call) -> ListingPage:
    page = market_service.search(
        template=call.query.get("template") or None,
        text=call.query.get("text") or None,
        author=call.query.get("author") or None,
        sort=call.query.get("sort") or "recent",
        limit=_limit(call, 20),
        next_token=call.query.get("next_token") or None,
        backend=call.services.records,
    )
    return ListingPage(listings=[listing_info(x) for x in page.items], next_token=page.next_token)


def top_listings(call: Call) -> TopListings:
    entries = market_service.top(_limit(call, 10), backend=call.services.records)
    return TopListings(
        listings=[
            TopEntry(listing=listing_info(e.listing), downloads_7d=e.downloads_7d, ratings_7d=e.ratings_7d)
            for e in entries
        ]
    )


def show_listing(call: Call) -> ModelCardInfo:
    listing_id = _listing_id(call)
    records = call.services.records
    card = market_service.card(listing_id, backend=records)
    mine = market_service.my_rating(call.tenant.tenant_id, listing_id, backend=records)
    return ModelCardInfo.model_validate({**card.to_dict(), "verified": True, "my_rating": mine})


def publish_listing(call: Call) -> ListingInfo:
    body: PublishRequest = call.body
    listing = market_service.publish(
        call.tenant.tenant_id,
        body.model_name,
        body.title,
        body.description,
        body.reported_metrics,
        version=body.version,
        backend=call.services.records,
    )
    return listing_info(listing)


def download_listing(call: Call) -> DownloadInfo:
    result = market_service.download(call.tenant, _listing_id(call), backend=call.services.records)
    return DownloadInfo(
        listing_id=result.listing_id,
        model_name=result.model_name,
        model_version=result.model_version,
        file_name=result.file_name,
        sha256=result.sha256,
        bundle_sha256=result.bundle_sha256,
        size_bytes=result.size_bytes,
        metadata=result.metadata,
        downloads=result.downloads,
        bundle_base64=None if result.bundle is None else base64.b64encode(result.bundle).decode("ascii"),
        url=result.url,
        expires_in_seconds=result.expires_in_seconds,
    )


def fork_listing(call: Call) -> ForkInfo:
    new_name = call.body.new_name if call.body is not None else None
    record = market_service.fork(call.tenant, _listing_id(call), new_name, backend=call.services.records)
    return _fork_info(record)


def rate_listing(call: Call) -> RatingInfo:
    body: RatingRequest = call.body
    listing = market_service.rate(call.tenant.tenant_id, _listing_id(call), body.stars, backend=call.services.records)
    return RatingInfo(
        listing_id=listing.listing_id,
        stars=body.stars,
        rating_avg=listing.rating_avg,
        rating_count=listing.rating_count,
    )


def unpublish_listing(call: Call) -> UnpublishedResponse:
    listing_id = _listing_id(call)
    market_service.unpublish(call.tenant.tenant_id, listing_id, backend=call.services.records)
    return UnpublishedResponse(unpublished=listing_id)


# --------------------------------------------------------------------------- the table

M = MARKET_PREFIX
TAGS = ("marketplace",)
_LISTING_ERRORS = (401, 404, 429)

MARKETPLACE_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "market_search",
        "GET",
        f"{M}/listings",
        "Search marketplace listings",
        search_listings,
        ListingPage,
        query=(
            QueryParam("template", "only listings of this template"),
            QueryParam("text", "case-insensitive text in the title or description"),
            QueryParam("author", "only listings of this author tenant"),
            QueryParam("sort", "order (default recent)", rules.SORTS),
            QueryParam("limit", f"page size, 1-{rules.MAX_PAGE_SIZE} (default 20)"),
            QueryParam("next_token", "the next_token of the previous page"),
        ),
        errors=(400, 401, 429),
        tags=TAGS,
    ),
    Operation(
        "market_publish",
        "POST",
        f"{M}/listings",
        "Publish one of your models",
        publish_listing,
        ListingInfo,
        request=PublishRequest,
        status=201,
        errors=(400, 401, 404, 409, 413, 422, 429),
        tags=TAGS,
        description="The artifact is verified (safe formats, checksums) and Pitwall runs its standard "
        f"walk-forward backtest ({market_service.VERIFY_STANDARD}) to compute the verified metrics. "
        "409 when that model version is already listed; 422 (bad_artifact, verification_failed) "
        "when the artifact or the backtest fails.",
    ),
    Operation(
        "market_top",
        "GET",
        f"{M}/top",
        "Top models this week",
        top_listings,
        TopListings,
        query=(QueryParam("limit", f"how many, 1-{rules.MAX_PAGE_SIZE} (default 10)"),),
        errors=(400, 401, 429),
        tags=TAGS,
    ),
    Operation(
        "market_show",
        "GET",
        f"{M}/listings/{{listing_id}}",
        "A listing's model card",
        show_listing,
        ModelCardInfo,
        errors=_LISTING_ERRORS,
        tags=TAGS,
    ),
    Operation(
        "market_unpublish",
        "DELETE",
        f"{M}/listings/{{listing_id}}",
        "Unpublish your listing (existing forks keep working)",
        unpublish_listing,
        UnpublishedResponse,
        errors=(401, 403, 404, 429),
        tags=TAGS,
    ),
    Operation(
        "market_download",
        "POST",
        f"{M}/listings/{{listing_id}}/download",
        "Download a listed model (counts against your tier's daily downloads)",
        download_listing,
        DownloadInfo,
        errors=(401, 404, 422, 429, 503),
        tags=TAGS,
        description="The artifact is verified before it is served; one whose files no longer match "
        "their checksums is refused with 422 bad_artifact (and not counted).",
    ),
    Operation(
        "market_fork",
        "POST",
        f"{M}/listings/{{listing_id}}/fork",
        "Copy a listed model into your models (counts as a download)",
        fork_listing,
        ForkInfo,
        request=ForkRequest,
        body_optional=True,
        status=201,
        errors=(400, 401, 404, 409, 413, 422, 429, 503),
        tags=TAGS,
    ),
    Operation(
        "market_rate",
        "PUT",
        f"{M}/listings/{{listing_id}}/rating",
        "Rate a listing 1-5 (one rating per tenant; rating again replaces it)",
        rate_listing,
        RatingInfo,
        request=RatingRequest,
        errors=(400, 401, 403, 404, 413, 422, 429),
        tags=TAGS,
    ),
)

MARKETPLACE_OPERATIONS_BY_ID: dict[str, Operation] = {op.operation_id: op for op in MARKETPLACE_OPERATIONS}


def market_operation(operation_id: str) -> Operation:
    return MARKETPLACE_OPERATIONS_BY_ID[operation_id]


# --------------------------------------------------------------------------- OpenAPI


def _models() -> list[tuple[type[BaseModel], str]]:
    seen: list[tuple[type[BaseModel], str]] = []
    for op in MARKETPLACE_OPERATIONS:
        requests = op.request if isinstance(op.request, tuple) else (op.request,) if op.request else ()
        seen += [(m, "validation") for m in requests]
        if op.response is not None:
            seen.append((op.response, "serialization"))
    return list(dict.fromkeys(seen))


def with_marketplace(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (the API's OpenAPI document) with the marketplace paths and schemas added,
    built by the API's own operation renderer so both parts look alike."""
    from pitwall.api.openapi import REF, _operation

    _, defs = models_json_schema(_models(), ref_template=REF)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in defs.get("$defs", {}).items():
        if schemas.setdefault(name, schema) != schema:
            raise ValueError(f"OpenAPI schema name {name!r} is used by two different models")
    paths = document.setdefault("paths", {})
    for op in MARKETPLACE_OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return document
