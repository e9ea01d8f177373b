"""The platform's records: tenants, API keys, models, jobs and marketplace listings.

Plain frozen dataclasses shared by both storage backends and by the rule modules. Each has
``to_doc()`` (a JSON-serialisable dict) and ``from_doc()``; backends store that document and
keep only keys and counters in their own columns/attributes. Timestamps are ISO-8601 UTC
strings (see :mod:`pitwall.platform.clock`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from pitwall.platform.tiers import Tier, get_tier
from pitwall.vocabulary import (  # noqa: F401  (re-exported: the job vocabularies live in pitwall.vocabulary)
    JOB_KINDS,
    JOB_STATUSES,
    TERMINAL_JOB_STATUSES,
    TRAINING_JOB_KINDS,
    JobKind,
    JobStatus,
)

ModelStatus = Literal["registered", "deployed"]


@dataclass(frozen=True)
class Tenant:
    """An account. ``tier`` is the single source of the tenant's limits."""

    tenant_id: str
    tier: str
    created_at: str

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Tenant:
        return cls(tenant_id=doc["tenant_id"], tier=doc["tier"], created_at=doc["created_at"])


@dataclass(frozen=True)
class ApiKeyRecord:
    """A stored API key: only the SHA-256 of the plaintext is kept."""

    key_id: str
    tenant_id: str
    key_hash: str
    created_at: str
    revoked_at: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ApiKeyRecord:
        return cls(
            key_id=doc["key_id"],
            tenant_id=doc["tenant_id"],
            key_hash=doc["key_hash"],
            created_at=doc["created_at"],
            revoked_at=doc.get("revoked_at"),
        )


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant, its tier name, and the key used (None for internal callers)."""

    tenant_id: str
    tier: str
    key_id: str | None = None

    @property
    def limits(self) -> Tier:
        """The tier's limits (from :mod:`pitwall.platform.tiers`)."""
        return get_tier(self.tier)


@dataclass(frozen=True)
class ForkOrigin:
    """Lineage of a forked model: the listing and the author's model version it came from."""

    listing_id: str
    tenant_id: str
    model_name: str
    version: int

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> ForkOrigin | None:
        if doc is None:
            return None
        return cls(
            listing_id=doc["listing_id"],
            tenant_id=doc["tenant_id"],
            model_name=doc["model_name"],
            version=int(doc["version"]),
        )


@dataclass(frozen=True)
class ModelRecord:
    """One registered version of a tenant's model.

    ``version`` starts at 1 and increments on every registration of the same name; numbers are
    never reused, even after the model is deleted and registered again. ``status``,
    ``deployed_version`` and ``auto_retrain`` describe the model as a whole (all versions):
    ``status`` is ``"deployed"`` only on the version that is deployed.
    """

    tenant_id: str
    name: str
    version: int
    template: str
    task: str
    algorithm: str
    features: list[str]
    target: str
    data_window: dict[str, Any]
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    artifact_uri: str
    sha256: str
    created_at: str
    status: ModelStatus = "registered"
    deployed_version: int | None = None
    auto_retrain: bool = False
    forked_from: ForkOrigin | None = None
    experiment: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    job_id: str | None = None

    def version_doc(self) -> dict[str, Any]:
        """The per-version document (without the model-wide status fields)."""
        doc = asdict(self)
        for key in ("status", "deployed_version", "auto_retrain"):
            doc.pop(key)
        return doc

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_version_doc(cls, doc: dict[str, Any], *, deployed_version: int | None, auto_retrain: bool) -> ModelRecord:
        """Rebuild a record from a version document plus the model-wide fields."""
        version = int(doc["version"])
        return cls(
            tenant_id=doc["tenant_id"],
            name=doc["name"],
            version=version,
            template=doc["template"],
            task=doc["task"],
            algorithm=doc["algorithm"],
            features=list(doc["features"]),
            target=doc["target"],
            data_window=dict(doc["data_window"]),
            metrics=dict(doc["metrics"]),
            baseline_metrics=dict(doc["baseline_metrics"]),
            artifact_uri=doc["artifact_uri"],
            sha256=doc["sha256"],
            created_at=doc["created_at"],
            status="deployed" if deployed_version == version else "registered",
            deployed_version=deployed_version,
            auto_retrain=bool(auto_retrain),
            forked_from=ForkOrigin.from_doc(doc.get("forked_from")),
            experiment=doc.get("experiment"),
            params=dict(doc.get("params") or {}),
            job_id=doc.get("job_id"),
        )


@dataclass(frozen=True)
class JobRecord:
    """A training/tuning/backtest job of a tenant.

    ``quota_day`` is the UTC day whose training-jobs counter this job was charged to (None if
    the job kind does not count), so a reservation can be released later.
    """

    job_id: str
    tenant_id: str
    kind: str
    model_name: str
    template: str
    status: JobStatus
    created_at: str
    updated_at: str
    max_runtime_seconds: int
    gpu: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    experiment: str | None = None
    idempotency_key: str | None = None
    quota_day: str | None = None
    error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_JOB_STATUSES

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    def with_status(self, status: str, **changes: Any) -> JobRecord:
        return replace(self, status=status, **changes)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> JobRecord:
        return cls(
            job_id=doc["job_id"],
            tenant_id=doc["tenant_id"],
            kind=doc["kind"],
            model_name=doc["model_name"],
            template=doc["template"],
            status=doc["status"],
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
            max_runtime_seconds=int(doc["max_runtime_seconds"]),
            gpu=bool(doc.get("gpu", False)),
            params=dict(doc.get("params") or {}),
            experiment=doc.get("experiment"),
            idempotency_key=doc.get("idempotency_key"),
            quota_day=doc.get("quota_day"),
            error=doc.get("error"),
            result=dict(doc.get("result") or {}),
        )


@dataclass(frozen=True)
class Listing:
    """A model published on the marketplace: a snapshot of one model version plus counters.

    ``verified_metrics`` were computed by Pitwall's own backtest at publish time
    (``verified`` is always True for them); ``reported_metrics`` are the author's claims.
    ``artifact_uri`` is internal (used to fork) and is not part of :meth:`public_doc`.

    ``status``: ``verifying`` (published, its verification job running), ``listed`` (verified:
    discoverable, downloadable) or ``rejected`` (``rejection`` holds code, field and message).
    ``snapshot`` (internal): where the verification job put the checked bundle in the cloud
    (``uri`` prefix, ``bundle_sha256``, ``size_bytes``); None locally.
    """

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
    baseline_metrics: dict[str, float]
    verified_metrics: dict[str, float]
    reported_metrics: dict[str, float]
    artifact_uri: str
    sha256: str
    created_at: str
    verified_at: str
    feature_importance: dict[str, float] | None = None
    status: str = "listed"
    rejection: dict[str, str] | None = None
    snapshot: dict[str, Any] | None = None
    downloads: int = 0
    rating_sum: int = 0
    rating_count: int = 0

    @property
    def rating_avg(self) -> float | None:
        """Mean stars (exact: ``rating_sum / rating_count``), None when unrated."""
        return self.rating_sum / self.rating_count if self.rating_count else None

    @property
    def source_key(self) -> str:
        """Uniqueness of a listing: one per author model version."""
        return f"{self.author_tenant_id}#{self.model_name}#{self.model_version}"

    def snapshot_doc(self) -> dict[str, Any]:
        """The immutable part (everything except counters)."""
        doc = asdict(self)
        for key in ("downloads", "rating_sum", "rating_count"):
            doc.pop(key)
        return doc

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    def public_doc(self) -> dict[str, Any]:
        """What API clients may see: no artifact location, plus derived ``rating_avg``."""
        doc = asdict(self)
        doc.pop("artifact_uri")
        doc.pop("rating_sum")
        doc.pop("snapshot")
        doc["rating_avg"] = self.rating_avg
        doc["verified"] = self.status == "listed"
        return doc

    @classmethod
    def from_doc(
        cls, doc: dict[str, Any], *, downloads: int = 0, rating_sum: int = 0, rating_count: int = 0
    ) -> Listing:
        """Rebuild from a snapshot document plus the counters kept beside it."""
        return cls(
            listing_id=doc["listing_id"],
            author_tenant_id=doc["author_tenant_id"],
            model_name=doc["model_name"],
            model_version=int(doc["model_version"]),
            title=doc["title"],
            description=doc["description"],
            template=doc["template"],
            task=doc["task"],
            algorithm=doc["algorithm"],
            features=list(doc["features"]),
            target=doc["target"],
            data_window=dict(doc["data_window"]),
            baseline_metrics=dict(doc["baseline_metrics"]),
            verified_metrics=dict(doc["verified_metrics"]),
            reported_metrics=dict(doc["reported_metrics"]),
            artifact_uri=doc["artifact_uri"],
            sha256=doc["sha256"],
            created_at=doc["created_at"],
            verified_at=doc["verified_at"],
            feature_importance=doc.get("feature_importance"),
            status=str(doc.get("status", "listed")),
            rejection=doc.get("rejection"),
            snapshot=doc.get("snapshot"),
            downloads=int(downloads),
            rating_sum=int(rating_sum),
            rating_count=int(rating_count),
        )


@dataclass(frozen=True)
class ActivityCounts:
    """Marketplace activity of one listing on one UTC day (or summed over several days)."""

    downloads: int = 0
    ratings: int = 0

    def __add__(self, other: ActivityCounts) -> ActivityCounts:
        return ActivityCounts(self.downloads + other.downloads, self.ratings + other.ratings)


@dataclass(frozen=True)
class BucketState:
    """A token bucket for request rate limiting; ``version`` enables compare-and-set writes."""

    tokens: float
    updated_at: float
    version: int
