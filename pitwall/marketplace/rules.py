"""Marketplace rules: the listing records and what may be done with them.

Operations (the same verbs as ``pitwall market ...``, ``pw.marketplace.*`` and the API's
``market_*`` operation ids): :func:`list`, :func:`top`, :func:`show`, :func:`rate`,
:func:`unpublish`, and the record side of publish/download/fork (:func:`publish`,
:func:`count_download`, :func:`fork`), whose artifact work is in
:mod:`pitwall.marketplace.service`. Records are stored by the platform's records backend
(SQLite locally, DynamoDB in the cloud: ``pitwall.platform.sqlite_backend`` /
``dynamo_backend``, like every platform record); these rules are the same on both.

A listing is a snapshot of one model version taken at publish time, so later changes to (or
deletion of) the author's model do not alter it, and forks keep working after the author
unpublishes.

Publishing runs two injected checks: ``artifact_check(model)`` (raises on a bad artifact)
and ``verify(model) -> {metric: value}`` (Pitwall's own backtest); only metrics from
``verify`` are shown as verified, the author's ``reported_metrics`` are shown as reported.

In-process callers (SDK, CLI) act as ``tenant`` (default :data:`LOCAL_TENANT`); the API
passes the tenant of the caller's API key.

Publishing is two-phase, the same locally and in the cloud: :func:`begin_publish` stores the
listing as ``verifying`` (the API answers 202), the verification job
(:mod:`pitwall.workflow.verification`) checks the artifact and runs the backtest, and
:func:`complete_verification` lists it with its verified metrics or :func:`reject_verification`
rejects it with the reason. Only ``listed`` listings are searched, ranked, downloaded, forked
or rated; the author alone sees a ``verifying`` or ``rejected`` one (:func:`get_listing` with
``tenant``). A fork is never an original: :func:`check_original` refuses to publish a model
version forked from a listing (or carrying another author's listed checksum).

Download counts (:func:`count_download`, also for forks): a tenant's downloads of one listing
count once per UTC day, on the listing's counters and on the tenant's daily allowance alike;
an author's downloads of their own listing never count on its counters.

Titles (<= 100 chars) and descriptions (<= 2000 chars) are plain text: stored exactly as
given (never interpreted as HTML; clients must escape), but control characters are refused.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import hashlib
import json
import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from pitwall.config import LOCAL_TENANT
from pitwall.errors import Conflict, Forbidden, NotFound, PitwallError, ValidationFailed
from pitwall.platform import models, quotas, validation
from pitwall.platform.backend import RecordsBackend, get_backend
from pitwall.platform.clock import as_utc, expiry_after_day, iso, last_days, utc_day
from pitwall.platform.records import ForkOrigin, Listing, ModelRecord, Principal

TITLE_MAX_CHARS = 100
DESCRIPTION_MAX_CHARS = 2000
SORTS = ("rating", "downloads", "recent")
MAX_PAGE_SIZE = 100
WEEK_DAYS = 7
ACTIVITY_KEEP_DAYS = WEEK_DAYS + 1
VERIFYING, LISTED, REJECTED = "verifying", "listed", "rejected"
STATUSES = (VERIFYING, LISTED, REJECTED)
SEEN_COUNTER = "market_seen"
"""Per-tenant, per-listing, per-day marker behind the once-a-day download rule."""
_CAS_ATTEMPTS = 5
VERIFY_STALE_AFTER = timedelta(hours=3)
"""Longer than the verification state machine's timeout (2 h)."""

Verifier = Callable[[ModelRecord], Mapping[str, float]]
ArtifactCheck = Callable[[ModelRecord], None]
ArtifactCopier = Callable[[str, str, str], str]
"""``copier(source_artifact_uri, tenant_id, model_name) -> new artifact uri`` (used by fork)."""
Tenant = Principal | str
"""A tenant id, or the principal of an API key (its tenant id is used)."""


def tenant_id_of(tenant: Tenant) -> str:
    return tenant.tenant_id if isinstance(tenant, Principal) else tenant


@dataclass(frozen=True)
class ListingPage:
    """One page of search results; ``next_token`` is None on the last page."""

    items: builtins.list[Listing]
    next_token: str | None


@dataclass(frozen=True)
class WeeklyEntry:
    """A listing's activity over the last 7 UTC days (today included)."""

    listing: Listing
    downloads_7d: int
    ratings_7d: int

    @property
    def score(self) -> int:
        return self.downloads_7d + self.ratings_7d


@dataclass(frozen=True)
class ModelCard:
    """What a prospective user sees before downloading: no artifact location."""

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
    features: builtins.list[str]
    data_window: dict[str, Any]
    verified_metrics: dict[str, float]
    verified_at: str
    reported_metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    feature_importance: dict[str, float] | None
    downloads: int
    rating_avg: float | None
    rating_count: int
    created_at: str
    metrics_note: str = (
        "verified_metrics were computed by Pitwall's time-ordered backtest when the model was "
        "published; reported_metrics are the author's own claims and are not verified."
    )
    live_verified: dict[str, Any] | None = None  # the listed version's live record (pitwall.monitoring)
    status: str = LISTED
    rejection: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def _feature_importance(value: Any) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationFailed("feature_importance must be an object of feature -> number", field="feature_importance")
    out: dict[str, float] = {}
    for name, number in value.items():
        validation.plain_text(name, "feature_importance", max_len=128)
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
            raise ValidationFailed(
                f"feature_importance.{name} must be a finite number; got {number!r}", field="feature_importance"
            )
        out[name] = float(number)
    return out


def check_original(model: ModelRecord, *, backend: RecordsBackend | None = None) -> None:
    """Refuse to publish a fork as an original: a version with ``forked_from`` lineage, or one
    whose checksum another author has listed (a downloaded bundle re-imported as one's own).
    ValidationFailed (422, code ``fork_not_original``) naming ``model_name``."""
    if model.forked_from is not None:
        origin = model.forked_from
        raise ValidationFailed(
            f"model {model.name!r} version {model.version} is a fork of listing {origin.listing_id!r} "
            f"({origin.tenant_id}/{origin.model_name} v{origin.version}) and cannot be published as an original; "
            "retrain it to publish your own version",
            field="model_name",
            code="fork_not_original",
            unprocessable=True,
        )
    for listing in (backend or get_backend()).list_listings():
        if listing.sha256 == model.sha256 and listing.author_tenant_id != model.tenant_id:
            raise ValidationFailed(
                f"model {model.name!r} version {model.version} is the model of listing {listing.listing_id!r} "
                f"by {listing.author_tenant_id!r} (same checksum) and cannot be published as an original",
                field="model_name",
                code="fork_not_original",
                unprocessable=True,
            )


def begin_publish(
    tenant_id: str,
    model_name: str,
    title: str,
    description: str,
    reported_metrics: Mapping[str, float] | None,
    *,
    version: int | None = None,
    now: datetime | None = None,
    backend: RecordsBackend | None = None,
) -> Listing:
    """Store a ``verifying`` listing of a version (latest when None) of the tenant's model; its
    verification job then lists or rejects it.

    ValidationFailed for bad text/metrics (400) or a fork (422 ``fork_not_original``); NotFound
    for an unknown model; Conflict if that model version is already listed or being verified
    (a rejected listing of it, or one verifying for longer than :data:`VERIFY_STALE_AFTER`, is
    replaced).
    """
    b = backend or get_backend()
    now = as_utc(now)
    title = validation.plain_text(title, "title", max_len=TITLE_MAX_CHARS)
    description = validation.plain_text(description, "description", max_len=DESCRIPTION_MAX_CHARS, multiline=True)
    reported = validation.metrics(reported_metrics, "reported_metrics")
    model = models.get_model(tenant_id, model_name, version, backend=b)
    check_original(model, backend=b)
    listing = Listing(
        listing_id="lst_" + secrets.token_hex(8),
        author_tenant_id=model.tenant_id,
        model_name=model.name,
        model_version=model.version,
        title=title,
        description=description,
        template=model.template,
        task=model.task,
        algorithm=model.algorithm,
        features=builtins.list(model.features),
        target=model.target,
        data_window=dict(model.data_window),
        baseline_metrics=dict(model.baseline_metrics),
        verified_metrics={},
        reported_metrics=reported,
        artifact_uri=model.artifact_uri,
        sha256=model.sha256,
        created_at=iso(now),
        verified_at="",
        status=VERIFYING,
    )
    if b.put_listing(listing):
        return listing
    previous = next((x for x in b.list_listings() if x.source_key == listing.source_key), None)
    if previous is not None and (previous.status == REJECTED or _stale(previous, now)):
        b.delete_listing(previous.listing_id)
        if b.put_listing(listing):
            return listing
    state = "being verified" if previous is not None and previous.status == VERIFYING else "already listed"
    raise Conflict(f"model {model.name!r} version {model.version} is {state}", field="model_name")


def _stale(listing: Listing, now: datetime) -> bool:
    """A ``verifying`` listing whose verification outlived :data:`VERIFY_STALE_AFTER` (its job died
    without recording an outcome): publishing the version again replaces it."""
    return listing.status == VERIFYING and now - as_utc(datetime.fromisoformat(listing.created_at)) > VERIFY_STALE_AFTER


def _transition(listing_id: str, change: Callable[[Listing], Listing], b: RecordsBackend) -> Listing:
    """Apply ``change`` to a ``verifying`` listing (compare-and-set); a listing that already left
    ``verifying`` is returned as it is (a retried step changes nothing)."""
    for _ in range(_CAS_ATTEMPTS):
        current = b.get_listing(listing_id)
        if current is None:
            raise NotFound(f"listing {listing_id!r} not found", field="listing_id")
        if current.status != VERIFYING:
            return current
        updated = change(current)
        if b.replace_listing(current, updated):
            return updated
    raise Conflict(f"listing {listing_id!r} changed while its verification was recorded; retry", field="listing_id")


def complete_verification(
    listing_id: str,
    verified_metrics: Mapping[str, float],
    *,
    feature_importance: Mapping[str, float] | None = None,
    snapshot: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    backend: RecordsBackend | None = None,
) -> Listing:
    """``verifying`` -> ``listed`` with the verification's metrics (and, in the cloud, where its
    checked bundle is). Metrics that are empty or not finite reject the listing instead."""
    b = backend or get_backend()
    try:
        verified = validation.metrics(verified_metrics, "verified_metrics")
        importance = _feature_importance(feature_importance)
        if not verified:
            raise ValidationFailed("verification produced no metrics", field="model_name")
    except ValidationFailed as exc:
        return reject_verification(listing_id, "verification_failed", "model_name", exc.message, backend=b)
    stamp = iso(as_utc(now))

    def listed(x: Listing) -> Listing:
        return replace(
            x,
            status=LISTED,
            verified_metrics=verified,
            verified_at=stamp,
            feature_importance=importance,
            snapshot=dict(snapshot) if snapshot else None,
        )

    return _transition(listing_id, listed, b)


def reject_verification(
    listing_id: str, code: str, field: str, message: str, *, backend: RecordsBackend | None = None
) -> Listing:
    """``verifying`` -> ``rejected``, keeping why (``code``, ``field``, ``message``) for the author."""
    rejection = {"code": str(code)[:64], "field": str(field)[:64], "message": str(message)[:2000]}
    return _transition(listing_id, lambda x: replace(x, status=REJECTED, rejection=rejection), backend or get_backend())


def rejection_error(listing: Listing) -> ValidationFailed:
    """The 422 a rejected listing stands for (its code, field and message)."""
    r = listing.rejection or {}
    return ValidationFailed(
        r.get("message") or "verification failed",
        field=r.get("field") or "model_name",
        code=r.get("code") or "verification_failed",
        unprocessable=True,
    )


def publish(
    tenant_id: str,
    model_name: str,
    title: str,
    description: str,
    reported_metrics: Mapping[str, float] | None,
    verify: Verifier,
    artifact_check: ArtifactCheck,
    *,
    version: int | None = None,
    feature_importance: Mapping[str, float] | None = None,
    now: datetime | None = None,
    backend: RecordsBackend | None = None,
) -> Listing:
    """Publish and verify in this call with injected checks: :func:`begin_publish`, then
    ``artifact_check`` and ``verify`` on the model, then :func:`complete_verification` (or
    :func:`reject_verification` and the error). The verification job does the same with the
    real checks (:func:`pitwall.marketplace.verify.verification_result`).

    ValidationFailed for bad text/metrics, a fork, a failing artifact check (code
    ``bad_artifact``, 422) or a failing verification (code ``verification_failed``, 422);
    NotFound for an unknown model; Conflict if that model version is already listed.
    """
    b = backend or get_backend()
    listing = begin_publish(
        tenant_id, model_name, title, description, reported_metrics, version=version, now=now, backend=b
    )
    model = models.get_model(tenant_id, listing.model_name, listing.model_version, backend=b)
    try:
        try:
            artifact_check(model)
        except PitwallError:
            raise
        except Exception as exc:
            raise ValidationFailed(
                f"artifact of model {model.name!r} version {model.version} failed its check: {exc}",
                field="artifact",
                code="bad_artifact",
                unprocessable=True,
            ) from exc
        try:
            verified = verify(model)
        except PitwallError:
            raise
        except Exception as exc:
            raise ValidationFailed(
                f"could not verify model {model.name!r} version {model.version} by backtest: {exc}",
                field="model_name",
                code="verification_failed",
                unprocessable=True,
            ) from exc
    except PitwallError as exc:
        reject_verification(listing.listing_id, exc.code, exc.field or "model_name", exc.message, backend=b)
        raise
    final = complete_verification(
        listing.listing_id, verified, feature_importance=feature_importance, now=now, backend=b
    )
    if final.status != LISTED:
        raise rejection_error(final)
    return final


def get_listing(listing_id: str, *, tenant: Tenant | None = None, backend: RecordsBackend | None = None) -> Listing:
    """A listed listing, or (for its author ``tenant``) one still verifying or rejected;
    NotFound otherwise (e.g. unpublished, or someone else's that is not listed)."""
    listing = (backend or get_backend()).get_listing(listing_id)
    if listing is None or (
        listing.status != LISTED and (tenant is None or tenant_id_of(tenant) != listing.author_tenant_id)
    ):
        raise NotFound(f"listing {listing_id!r} not found", field="listing_id")
    return listing


def _sort_key(sort: str) -> Callable[[Listing], tuple[Any, ...]]:
    if sort == "rating":
        return lambda x: (-(x.rating_avg or 0.0), -x.rating_count, _desc(x.created_at), x.listing_id)
    if sort == "downloads":
        return lambda x: (-x.downloads, _desc(x.created_at), x.listing_id)
    return lambda x: (_desc(x.created_at), x.listing_id)


def _desc(text: str) -> tuple[int, ...]:
    """Sort key putting later ISO timestamps first."""
    return tuple(-ord(c) for c in text)


def _query_fingerprint(template: str | None, text: str | None, author: str | None, sort: str) -> str:
    raw = json.dumps([template, text, author, sort])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _encode_token(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "q": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, fingerprint: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset, query = data["o"], data["q"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise ValidationFailed("next_token is not a valid page token", field="next_token") from None
    if not isinstance(offset, int) or offset < 0 or query != fingerprint:
        raise ValidationFailed("next_token does not belong to this search", field="next_token")
    return offset


def list(  # noqa: A001 - the verb users type: ``pitwall market list``
    *,
    template: str | None = None,
    text: str | None = None,
    author: str | None = None,
    sort: str = "recent",
    limit: int = 20,
    next_token: str | None = None,
    backend: RecordsBackend | None = None,
) -> ListingPage:
    """Filter by template (exact), text (case-insensitive, in title or description) and author
    tenant; sort by ``rating`` | ``downloads`` | ``recent``; page with ``limit`` (1-100) and the
    opaque ``next_token`` of the previous page."""
    if sort not in SORTS:
        raise ValidationFailed(f"sort must be one of {builtins.list(SORTS)}; got {sort!r}", field="sort")
    validation.positive_int(limit, "limit", maximum=MAX_PAGE_SIZE)
    if text is not None:
        validation.plain_text(text, "text", max_len=200)
    fingerprint = _query_fingerprint(template, text, author, sort)
    offset = 0 if next_token is None else _decode_token(next_token, fingerprint)
    needle = text.casefold() if text else None
    matches = [
        x
        for x in (backend or get_backend()).list_listings()
        if x.status == LISTED
        and (template is None or x.template == template)
        and (author is None or x.author_tenant_id == author)
        and (needle is None or needle in x.title.casefold() or needle in x.description.casefold())
    ]
    matches.sort(key=_sort_key(sort))
    page = matches[offset : offset + limit]
    more = offset + limit < len(matches)
    return ListingPage(items=page, next_token=_encode_token(offset + limit, fingerprint) if more else None)


def top(
    limit: int = 10, *, now: datetime | None = None, backend: RecordsBackend | None = None
) -> builtins.list[WeeklyEntry]:
    """Listings with the most downloads + new ratings over the last 7 UTC days (today
    included), from per-day counters; ties broken by rating then recency."""
    validation.positive_int(limit, "limit", maximum=MAX_PAGE_SIZE)
    b = backend or get_backend()
    activity = b.listing_activity(last_days(as_utc(now), WEEK_DAYS))
    entries = [
        WeeklyEntry(listing=x, downloads_7d=activity[x.listing_id].downloads, ratings_7d=activity[x.listing_id].ratings)
        for x in b.list_listings()
        if x.listing_id in activity and x.status == LISTED
    ]
    rating_order = _sort_key("rating")
    entries = [e for e in entries if e.score > 0]
    entries.sort(key=lambda e: (-e.score, rating_order(e.listing)))
    return entries[:limit]


def show(listing_id: str, *, tenant: Tenant | None = None, backend: RecordsBackend | None = None) -> ModelCard:
    """The model card of a listing (free: does not count as a download); its author ``tenant``
    also sees it while it is verifying or after it was rejected (``status``, ``rejection``)."""
    x = get_listing(listing_id, tenant=tenant, backend=backend)
    return ModelCard(
        listing_id=x.listing_id,
        title=x.title,
        description=x.description,
        author_tenant_id=x.author_tenant_id,
        model_name=x.model_name,
        model_version=x.model_version,
        template=x.template,
        task=x.task,
        algorithm=x.algorithm,
        target=x.target,
        features=builtins.list(x.features),
        data_window=dict(x.data_window),
        verified_metrics=dict(x.verified_metrics),
        verified_at=x.verified_at,
        reported_metrics=dict(x.reported_metrics),
        baseline_metrics=dict(x.baseline_metrics),
        feature_importance=None if x.feature_importance is None else dict(x.feature_importance),
        downloads=x.downloads,
        rating_avg=x.rating_avg,
        rating_count=x.rating_count,
        created_at=x.created_at,
        live_verified=_live_verified(x) if x.status == LISTED else None,
        status=x.status,
        rejection=None if x.rejection is None else dict(x.rejection),
    )


def _live_verified(listing: Listing) -> dict[str, Any] | None:
    """The listed version's **live verified** record (never reconstructed races); None when unreadable."""
    from pitwall.monitoring.summary import live_verified_card

    try:
        return live_verified_card(listing.author_tenant_id, listing.model_name, listing.model_version)
    except (OSError, ValueError):  # a damaged summary file must not hide the card
        return None


def _seen_today(principal: Principal, listing_id: str, day: str, b: RecordsBackend) -> bool:
    """Whether ``principal`` already downloaded (or forked) the listing on ``day``; marks it."""
    marker = quotas.counter_name(principal.tenant_id, f"{SEEN_COUNTER}#{listing_id}")
    return b.increment_counter(marker, day, limit=1, expires_at=expiry_after_day(day)) is None


def _forget_today(principal: Principal, listing_id: str, day: str, b: RecordsBackend) -> None:
    b.decrement_counter(quotas.counter_name(principal.tenant_id, f"{SEEN_COUNTER}#{listing_id}"), day)


@dataclass(frozen=True)
class DownloadCount:
    """What one download took: a unit of the tenant's daily allowance (``reservation``, None
    when the tenant already downloaded the listing today) and whether the listing's counters
    moved (``counted``)."""

    reservation: quotas.Reservation | None
    counted: bool
    day: str


def take_download(
    principal: Principal,
    listing: Listing,
    *,
    record: bool = True,
    now: datetime | None = None,
    backend: RecordsBackend | None = None,
) -> DownloadCount:
    """THE download rule (downloads and forks): the first download of ``listing`` by a tenant
    on a UTC day takes one unit of its tier's allowance (QuotaExceeded, 429) and counts on the
    listing's downloads and weekly activity, unless the tenant is its author; later ones that
    day take and count nothing. ``record=False`` leaves the counting to :func:`record_download`
    (after the delivery succeeded); undo a failed one with :func:`give_back_download`."""
    b = backend or get_backend()
    now = as_utc(now)
    day = utc_day(now)
    if _seen_today(principal, listing.listing_id, day, b):
        return DownloadCount(reservation=None, counted=False, day=day)
    try:
        reservation = quotas.reserve_marketplace_download(principal, now=now, backend=b)
    except BaseException:
        _forget_today(principal, listing.listing_id, day, b)
        raise
    taken = DownloadCount(reservation=reservation, counted=principal.tenant_id != listing.author_tenant_id, day=day)
    if record:
        try:
            record_download(listing, taken, backend=b)
        except NotFound:
            give_back_download(principal, listing, taken, backend=b)
            raise
    return taken


def record_download(listing: Listing, taken: DownloadCount, *, backend: RecordsBackend | None = None) -> None:
    """Count a download :func:`take_download` allowed (``record=False``) once it was delivered."""
    if taken.counted:
        day, b = taken.day, backend or get_backend()
        if not b.add_download(listing.listing_id, day, expiry_after_day(day, ACTIVITY_KEEP_DAYS)):
            raise NotFound(f"listing {listing.listing_id!r} not found", field="listing_id")


def give_back_download(
    principal: Principal, listing: Listing, taken: DownloadCount, *, backend: RecordsBackend | None = None
) -> None:
    """Undo :func:`take_download` for a download that failed before anything was delivered:
    the allowance unit and the day's marker (the listing's counters keep a counted download)."""
    b = backend or get_backend()
    if taken.reservation is not None:
        quotas.release(taken.reservation, backend=b)
        _forget_today(principal, listing.listing_id, taken.day, b)


def count_download(
    principal: Principal, listing_id: str, *, now: datetime | None = None, backend: RecordsBackend | None = None
) -> Listing:
    """Count a download of a listed listing by the principal (:func:`take_download`) and return
    the listing, including ``artifact_uri`` for the caller to serve. NotFound / QuotaExceeded.
    The record side of :func:`pitwall.marketplace.service.download`."""
    b = backend or get_backend()
    take_download(principal, get_listing(listing_id, backend=b), now=now, backend=b)
    return get_listing(listing_id, backend=b)


def rate(
    listing_id: str,
    stars: int,
    *,
    tenant: Tenant = LOCAL_TENANT,
    now: datetime | None = None,
    backend: RecordsBackend | None = None,
) -> Listing:
    """Rate a listing 1-5 stars; one rating per tenant per listing (rating again replaces it).
    Forbidden for the author's own listing."""
    tenant_id = tenant_id_of(tenant)
    validation.positive_int(stars, "stars", minimum=1, maximum=5)
    b = backend or get_backend()
    listing = get_listing(listing_id, backend=b)
    if listing.author_tenant_id == tenant_id:
        raise Forbidden("authors cannot rate their own listing", field="listing_id", code="own_listing")
    day = utc_day(as_utc(now))
    if not b.put_rating(listing_id, tenant_id, stars, day, expiry_after_day(day, ACTIVITY_KEEP_DAYS)):
        raise NotFound(f"listing {listing_id!r} not found", field="listing_id")
    return get_listing(listing_id, backend=b)


def my_rating(listing_id: str, *, tenant: Tenant, backend: RecordsBackend | None = None) -> int | None:
    """The stars ``tenant`` gave the listing, or None."""
    return (backend or get_backend()).get_rating(listing_id, tenant_id_of(tenant))


def fork(
    principal: Principal,
    listing_id: str,
    copier: ArtifactCopier,
    *,
    new_name: str | None = None,
    now: datetime | None = None,
    backend: RecordsBackend | None = None,
) -> ModelRecord:
    """Copy a listed model into the principal's namespace as a new model (version 1) with
    ``forked_from`` lineage. Counts as a download (quota). Conflict if the caller already has
    a model with that name. The artifact is copied by ``copier``, so the fork keeps working
    after the listing is unpublished."""
    b = backend or get_backend()
    now = as_utc(now)
    listing = get_listing(listing_id, backend=b)
    name = validation.identifier(new_name if new_name is not None else listing.model_name, "new_name")
    if b.get_model(principal.tenant_id, name, None) is not None:
        raise Conflict(f"you already have a model named {name!r}; choose another new_name", field="new_name")
    taken = take_download(principal, listing, record=False, now=now, backend=b)
    try:
        artifact_uri = copier(listing.artifact_uri, principal.tenant_id, name)
        record = models.register_model(
            principal.tenant_id,
            name,
            template=listing.template,
            task=listing.task,
            algorithm=listing.algorithm,
            features=builtins.list(listing.features),
            target=listing.target,
            data_window=listing.data_window,
            metrics=listing.verified_metrics,
            baseline_metrics=listing.baseline_metrics,
            artifact_uri=artifact_uri,
            sha256=listing.sha256,
            auto_retrain=False,
            forked_from=ForkOrigin(
                listing_id=listing.listing_id,
                tenant_id=listing.author_tenant_id,
                model_name=listing.model_name,
                version=listing.model_version,
            ),
            now=now,
            backend=b,
        )
    except BaseException:
        give_back_download(principal, listing, taken, backend=b)
        raise
    record_download(listing, taken, backend=b)
    return record


def unpublish(listing_id: str, *, tenant: Tenant = LOCAL_TENANT, backend: RecordsBackend | None = None) -> None:
    """Remove a listing (author only: Forbidden otherwise), also one still verifying or rejected
    (a running verification then records nothing). Existing forks are unaffected."""
    tenant_id = tenant_id_of(tenant)
    b = backend or get_backend()
    listing = get_listing(listing_id, tenant=tenant_id, backend=b)
    if listing.author_tenant_id != tenant_id:
        raise Forbidden("only the author can unpublish a listing", field="listing_id", code="not_author")
    if not b.delete_listing(listing_id):
        raise NotFound(f"listing {listing_id!r} not found", field="listing_id")
