"""Tenants and API keys.

A key's plaintext (``pw_<43 url-safe chars>``) is returned once by :func:`create_key`; only its
SHA-256 is stored. A tenant has one tier (the tenant record is its source of truth); every
key of the tenant authenticates as that tier.

In the cloud API Gateway also needs each key, in the usage plan of the tenant's tier: pass a
``gateway`` (:class:`KeyGateway`, e.g. :class:`pitwall.platform.apigateway_keys.ApiGatewayKeys`)
and creating, re-tiering and revoking keep both sides in step (the CLI does, on the AWS backend).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from pitwall.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from pitwall.platform import validation
from pitwall.platform.backend import RecordsBackend, get_backend
from pitwall.platform.clock import iso, utc_now
from pitwall.platform.records import ApiKeyRecord, Principal, Tenant
from pitwall.platform.tiers import TIERS

KEY_PREFIX = "pw_"
PRINCIPAL_TTL_SECONDS = 5.0
"""How long a process reuses a key's principal without asking the records backend again; a
revoke or re-tier through this module is seen at once in this process, within this TTL in others."""

_principals: dict[tuple[int, str], tuple[float, Principal]] = {}
_principals_lock = threading.Lock()


def forget_cached_principals() -> None:
    """Drop this process's key -> principal cache (after a revoke or a tier change)."""
    with _principals_lock:
        _principals.clear()


class KeyGateway(Protocol):
    """Where else a key must exist for requests to get through (API Gateway usage plans)."""

    def add_key(self, tenant_id: str, key_id: str, plaintext: str, tier: str) -> str: ...

    def move_keys(self, tenant_id: str, old_tier: str, new_tier: str) -> int: ...

    def remove_key(self, tenant_id: str, key_id: str) -> bool: ...


@dataclass(frozen=True)
class IssuedKey:
    """A new key: its record (hash only) and the plaintext, shown once."""

    record: ApiKeyRecord
    plaintext: str


def hash_key(api_key: str) -> str:
    """The stored form of a key: lowercase hex SHA-256 of its UTF-8 plaintext."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def _tier(tier: str) -> str:
    if tier not in TIERS:
        raise ValidationFailed(f"tier must be one of {sorted(TIERS)}; got {tier!r}", field="tier")
    return tier


def create_tenant(tenant_id: str, tier: str, *, backend: RecordsBackend | None = None) -> Tenant:
    """Create the tenant (idempotent for the same tier); Conflict if it exists on another tier."""
    b = backend or get_backend()
    tenant = Tenant(
        tenant_id=validation.identifier(tenant_id, "tenant_id"), tier=_tier(tier), created_at=iso(utc_now())
    )
    stored = b.ensure_tenant(tenant)
    if stored.tier != tier:
        raise Conflict(
            f"tenant {tenant_id!r} is on tier {stored.tier!r}; change tiers with set_tenant_tier",
            field="tier",
        )
    return stored


LOCAL_CALLER_TIER = "pro"
"""The tier of a tenant created on first use by a caller on this machine (:func:`ensure_tenant`):
the notebook user on their own laptop is not held to Free-tier limits."""


def ensure_tenant(tenant_id: str, *, backend: RecordsBackend | None = None) -> Tenant:
    """The tenant named by a caller on this machine (the SDK, ``pitwall deploy``, the marketplace
    functions), created on first use on :data:`LOCAL_CALLER_TIER`; an existing one keeps its
    tier. API requests never reach it: their tenant comes from their key."""
    try:
        return get_tenant(tenant_id, backend=backend)
    except NotFound:
        return create_tenant(tenant_id, LOCAL_CALLER_TIER, backend=backend)


def get_tenant(tenant_id: str, *, backend: RecordsBackend | None = None) -> Tenant:
    """The tenant, or NotFound."""
    tenant = (backend or get_backend()).get_tenant(tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id!r} not found", field="tenant_id")
    return tenant


def set_tenant_tier(
    tenant_id: str, tier: str, *, backend: RecordsBackend | None = None, gateway: KeyGateway | None = None
) -> Tenant:
    """Move a tenant to another tier (upgrade/downgrade); applies to all its keys at once (and moves
    them to the new tier's usage plan through ``gateway``)."""
    b = backend or get_backend()
    before = get_tenant(tenant_id, backend=b)
    if not b.set_tenant_tier(tenant_id, _tier(tier)):
        raise NotFound(f"tenant {tenant_id!r} not found", field="tenant_id")
    forget_cached_principals()
    if gateway is not None:
        gateway.move_keys(tenant_id, before.tier, tier)
    return get_tenant(tenant_id, backend=b)


def issue_key(
    tenant_id: str, tier: str, *, backend: RecordsBackend | None = None, gateway: KeyGateway | None = None
) -> IssuedKey:
    """Create an API key for ``tenant_id`` (creating the tenant on ``tier`` if new), and with
    ``gateway`` the same key in the tier's usage plan (the record is revoked if that fails).

    Conflict when the tenant already exists on a different tier.
    """
    b = backend or get_backend()
    tenant = create_tenant(tenant_id, tier, backend=b)
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKeyRecord(
        key_id="k_" + secrets.token_hex(8),
        tenant_id=tenant.tenant_id,
        key_hash=hash_key(plaintext),
        created_at=iso(utc_now()),
    )
    b.put_api_key(record)
    if gateway is not None:
        try:
            gateway.add_key(tenant.tenant_id, record.key_id, plaintext, tenant.tier)
        except Exception:
            b.revoke_api_key(tenant.tenant_id, record.key_id, iso(utc_now()))
            raise
    return IssuedKey(record=record, plaintext=plaintext)


def create_key(
    tenant_id: str, tier: str, *, backend: RecordsBackend | None = None, gateway: KeyGateway | None = None
) -> str:
    """:func:`issue_key`, returning only the plaintext key: it is shown once and cannot be recovered."""
    return issue_key(tenant_id, tier, backend=backend, gateway=gateway).plaintext


def authenticate(api_key: str | None, *, backend: RecordsBackend | None = None) -> Principal:
    """The principal a key belongs to; Unauthorized for a missing, unknown or revoked key."""
    if not api_key or not isinstance(api_key, str):
        raise Unauthorized("missing API key", field="x-api-key")
    b = backend or get_backend()
    key_hash = hash_key(api_key.strip())
    cache_key = (id(b), key_hash)
    now = time.monotonic()
    cached = _principals.get(cache_key)
    if cached is not None and cached[0] > now:
        return cached[1]
    record = b.get_api_key(key_hash)
    if record is None or record.revoked:
        raise Unauthorized("invalid or revoked API key", field="x-api-key")
    tenant = b.get_tenant(record.tenant_id)
    if tenant is None:
        raise Unauthorized("invalid or revoked API key", field="x-api-key")
    principal = Principal(tenant_id=tenant.tenant_id, tier=tenant.tier, key_id=record.key_id)
    with _principals_lock:
        if len(_principals) > 10_000:
            _principals.clear()
        _principals[cache_key] = (now + PRINCIPAL_TTL_SECONDS, principal)
    return principal


def principal_for_tenant(tenant_id: str, *, backend: RecordsBackend | None = None) -> Principal:
    """A principal for internal callers (workflows, schedulers) acting for a tenant: no key."""
    return _keyless(get_tenant(tenant_id, backend=backend))


def local_principal(tenant_id: str, *, backend: RecordsBackend | None = None) -> Principal:
    """The principal of a tenant named by a caller on this machine (:func:`ensure_tenant`: created
    on first use): no key."""
    return _keyless(ensure_tenant(tenant_id, backend=backend))


def _keyless(tenant: Tenant) -> Principal:
    return Principal(tenant_id=tenant.tenant_id, tier=tenant.tier, key_id=None)


def list_keys(tenant_id: str, *, backend: RecordsBackend | None = None) -> list[ApiKeyRecord]:
    """The tenant's keys (hashes only), revoked ones included, oldest first."""
    return (backend or get_backend()).list_api_keys(tenant_id)


def revoke_key(
    tenant_id: str, key_id: str, *, backend: RecordsBackend | None = None, gateway: KeyGateway | None = None
) -> None:
    """Revoke one of the tenant's keys (idempotent), and delete its API Gateway copy through
    ``gateway``. NotFound for another tenant's key id."""
    b = backend or get_backend()
    revoked = b.revoke_api_key(tenant_id, key_id, iso(utc_now()))
    forget_cached_principals()
    if not revoked:
        raise NotFound(f"API key {key_id!r} not found", field="key_id")
    if gateway is not None:
        gateway.remove_key(tenant_id, key_id)
