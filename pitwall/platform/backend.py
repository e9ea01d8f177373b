"""The records backend: the storage primitives the platform rules are written against.

Two implementations satisfy :class:`RecordsBackend`:

- :class:`pitwall.platform.sqlite_backend.SqliteBackend`: embedded, ``$PITWALL_HOME/platform.db``.
- :class:`pitwall.platform.dynamo_backend.DynamoBackend`: DynamoDB tables from
  :mod:`pitwall.platform.dynamo_tables`.

Backends hold no business rules: limits, transitions, validation and error messages live in
``keys``, ``quotas``, ``models``, ``jobs`` and ``marketplace``. A backend only guarantees that
each primitive is atomic (conditional writes / transactions) and reports outcomes as return
values, never as HTTP-flavoured errors.

:func:`get_backend` picks one from ``PITWALL_BACKEND`` (``local`` default, or ``aws``).
"""

from __future__ import annotations

import enum
import os
import threading
from typing import Protocol

from pitwall.config import BACKEND_ENV, backend_kind  # noqa: F401  (re-exported: the one reader is in config)
from pitwall.platform.records import (
    ActivityCounts,
    ApiKeyRecord,
    BucketState,
    JobRecord,
    Listing,
    ModelRecord,
    Tenant,
)


class DeployOutcome(enum.Enum):
    DEPLOYED = "deployed"
    NOT_FOUND = "not_found"
    LIMIT_REACHED = "limit_reached"


class DeleteOutcome(enum.Enum):
    DELETED = "deleted"
    NOT_FOUND = "not_found"
    DEPLOYED = "deployed"


class RecordsBackend(Protocol):
    """Atomic storage primitives. All methods are safe to call from many threads/processes."""

    # --- tenants and API keys -------------------------------------------------------------
    def ensure_tenant(self, tenant: Tenant) -> Tenant:
        """Insert ``tenant`` unless it exists; return the stored tenant either way."""
        ...

    def get_tenant(self, tenant_id: str) -> Tenant | None: ...

    def set_tenant_tier(self, tenant_id: str, tier: str) -> bool:
        """Change an existing tenant's tier; False when the tenant does not exist."""
        ...

    def put_api_key(self, key: ApiKeyRecord) -> None:
        """Store a new key (its hash and id are unique)."""
        ...

    def get_api_key(self, key_hash: str) -> ApiKeyRecord | None: ...

    def list_api_keys(self, tenant_id: str) -> list[ApiKeyRecord]:
        """The tenant's keys (revoked included), oldest first."""
        ...

    def revoke_api_key(self, tenant_id: str, key_id: str, revoked_at: str) -> bool:
        """Mark the tenant's key revoked (idempotent); False when the tenant has no such key."""
        ...

    # --- counters (quotas) ------------------------------------------------------------------
    def increment_counter(self, name: str, period: str, *, limit: int | None, expires_at: int) -> int | None:
        """Atomically add 1 to counter (name, period) unless it already reached ``limit``.

        Returns the new value, or None when the limit was reached (nothing changed).
        """
        ...

    def decrement_counter(self, name: str, period: str) -> int:
        """Atomically subtract 1, never below 0; returns the new value."""
        ...

    def get_counter(self, name: str, period: str) -> int: ...

    # --- token buckets (request rate) -------------------------------------------------------
    def get_bucket(self, name: str) -> BucketState | None: ...

    def put_bucket(self, name: str, tokens: float, updated_at: float, expected_version: int | None) -> bool:
        """Compare-and-set: write when the stored version equals ``expected_version`` (None: absent)."""
        ...

    # --- models ---------------------------------------------------------------------------------
    def register_model_version(self, record: ModelRecord, auto_retrain: bool | None) -> ModelRecord:
        """Store ``record`` as the next version of (tenant, name); ``record.version`` is ignored.

        ``auto_retrain`` None keeps the model's current setting (False for a new model).
        Returns the stored record with its assigned version.
        """
        ...

    def get_model(self, tenant_id: str, name: str, version: int | None) -> ModelRecord | None:
        """A version (latest when None) of a live (not deleted) model."""
        ...

    def list_models(self, tenant_id: str) -> list[ModelRecord]:
        """The latest version of each live model of the tenant, by name."""
        ...

    def list_model_versions(self, tenant_id: str, name: str) -> list[ModelRecord]:
        """All versions of a live model, oldest first (empty when the model does not exist)."""
        ...

    def set_deployed(self, tenant_id: str, name: str, version: int, *, limit: int | None) -> DeployOutcome:
        """Mark ``version`` deployed. Deploying a model that had no deployed version counts
        against ``limit`` deployed models per tenant, atomically; switching versions does not."""
        ...

    def clear_deployed(self, tenant_id: str, name: str) -> bool:
        """Undeploy; False when the model does not exist or is not deployed."""
        ...

    def count_deployed(self, tenant_id: str) -> int: ...

    def set_auto_retrain(self, tenant_id: str, name: str, enabled: bool) -> bool:
        """False when the model does not exist."""
        ...

    def delete_model(self, tenant_id: str, name: str) -> DeleteOutcome:
        """Delete all versions; refused (DEPLOYED) while a version is deployed."""
        ...

    def list_auto_retrain_models(self) -> list[ModelRecord]:
        """Latest version of every live model (all tenants) with auto-retrain on."""
        ...

    # --- jobs -----------------------------------------------------------------------------------
    def create_job(self, job: JobRecord) -> tuple[JobRecord, bool]:
        """Insert ``job``; if the tenant already has a job with the same idempotency key, return
        that job and False instead (nothing written)."""
        ...

    def get_job(self, tenant_id: str, job_id: str) -> JobRecord | None: ...

    def get_job_by_idempotency_key(self, tenant_id: str, key: str) -> JobRecord | None: ...

    def list_jobs(self, tenant_id: str) -> list[JobRecord]:
        """All the tenant's jobs, oldest first."""
        ...

    def list_unfinished_jobs(self) -> list[JobRecord]:
        """Every tenant's ``queued`` and ``running`` jobs, oldest first (recovery at start)."""
        ...

    def update_job(self, job: JobRecord, expected_status: str) -> bool:
        """Replace the stored job with ``job`` if its stored status is still ``expected_status``."""
        ...

    # --- marketplace ----------------------------------------------------------------------------
    def put_listing(self, listing: Listing) -> bool:
        """Insert a listing; False when its source model version is already listed."""
        ...

    def get_listing(self, listing_id: str) -> Listing | None: ...

    def list_listings(self) -> list[Listing]:
        """Every live listing (unordered; rules filter, sort and paginate)."""
        ...

    def replace_listing(self, old: Listing, new: Listing) -> bool:
        """Compare-and-set the listing's snapshot: store ``new``'s when the stored one still
        equals ``old``'s (counters untouched); False otherwise (changed, or no listing)."""
        ...

    def delete_listing(self, listing_id: str) -> bool:
        """Remove a listing and its ratings; False when it does not exist."""
        ...

    def add_download(self, listing_id: str, day: str, expires_at: int) -> bool:
        """Atomically count a download on the listing and on its ``day`` activity counter;
        False when the listing does not exist."""
        ...

    def put_rating(self, listing_id: str, tenant_id: str, stars: int, day: str, expires_at: int) -> bool:
        """Insert or replace ``tenant_id``'s rating and adjust the listing's sum/count exactly;
        a new rating also counts on the ``day`` activity counter. False when no listing."""
        ...

    def get_rating(self, listing_id: str, tenant_id: str) -> int | None: ...

    def listing_activity(self, days: list[str]) -> dict[str, ActivityCounts]:
        """Activity per listing id summed over ``days``."""
        ...


_cache: dict[tuple[str, ...], RecordsBackend] = {}
_cache_lock = threading.Lock()


def get_backend() -> RecordsBackend:
    """The backend for the current environment, cached per configuration.

    ``local``: SQLite at ``$PITWALL_HOME/platform.db``. ``aws``: DynamoDB tables named by the
    ``PITWALL_*_TABLE`` variables (see :mod:`pitwall.platform.dynamo_tables`).
    """
    kind = backend_kind()
    if kind == "local":
        from pitwall.config import pitwall_home

        key: tuple[str, ...] = ("local", str(pitwall_home() / "platform.db"))
    else:
        from pitwall.platform.dynamo_tables import TABLES, table_name

        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
        key = ("aws", region, *(table_name(spec) for spec in TABLES.values()))
    with _cache_lock:
        backend = _cache.get(key)
        if backend is None:
            if kind == "local":
                from pathlib import Path

                from pitwall.platform.sqlite_backend import SqliteBackend

                backend = SqliteBackend(Path(key[1]))
            else:
                from pitwall.platform.dynamo_backend import DynamoBackend

                backend = DynamoBackend()
            _cache[key] = backend
        return backend


def clear_backend_cache() -> None:
    """Forget cached backends (tests that switch environments call this)."""
    with _cache_lock:
        _cache.clear()
