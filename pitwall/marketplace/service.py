"""The marketplace operations that move artifacts: publish, download and fork.

Each joins a rule of :mod:`pitwall.marketplace.rules` (records, quotas, counters) to the
artifact work of :mod:`pitwall.marketplace.bundles` (the one artifact check, archives, S3) and,
for publish, the verification backtest of :mod:`pitwall.marketplace.verify`. The API, the CLI
and the SDK all call these functions; the other operations (list, top, show, rate, unpublish)
are rules only and are called there directly.

``tenant`` is a tenant id (in-process callers: SDK, CLI; a tenant that does not exist yet is
created on the ``free`` tier, whose quotas apply) or the principal of an API key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pitwall.errors import NotFound, ValidationFailed
from pitwall.marketplace import bundles, rules
from pitwall.marketplace.rules import LOCAL_TENANT, Tenant
from pitwall.marketplace.verify import finite, verify
from pitwall.platform import keys, models, validation
from pitwall.platform.backend import RecordsBackend, backend_kind, get_backend
from pitwall.platform.records import Listing, ModelRecord, Principal


def principal_of(tenant: Tenant, *, backend: RecordsBackend | None = None) -> Principal:
    """``tenant`` as a principal: as given, or the principal of a tenant id (created on the
    ``free`` tier when it does not exist yet)."""
    if isinstance(tenant, Principal):
        return tenant
    try:
        return keys.principal_for_tenant(tenant, backend=backend)
    except NotFound:
        keys.create_tenant(tenant, "free", backend=backend)
        return keys.principal_for_tenant(tenant, backend=backend)


def _describe(record: ModelRecord) -> str:
    return f"model {record.name!r} version {record.version}"


def _checked(record: ModelRecord) -> bundles.VerifiedBundle:
    return bundles.check_artifact(record.artifact_uri, record.sha256, what=_describe(record))


def publish(
    model: str | Any,
    title: str,
    description: str,
    reported_metrics: Mapping[str, float] | None = None,
    *,
    version: int | None = None,
    tenant: Tenant = LOCAL_TENANT,
    store: Any = None,
    backend: RecordsBackend | None = None,
) -> Listing:
    """Publish a version (latest when None) of one of the tenant's models after checking its
    artifact and running the verification backtest; returns the listing.

    ``model``: a model name, or a registered model object (``pw.train``'s model, a
    ``TrainingResult``: anything with a ``record``), whose own tenant and version are used.
    ValidationFailed: bad title/description/metrics (400), ``bad_artifact`` or
    ``verification_failed`` (422); NotFound: no such model; Conflict: already listed.
    """
    tenant_id = rules.tenant_id_of(tenant)
    if not isinstance(model, str):
        record = getattr(model, "record", None)
        if not isinstance(record, ModelRecord):
            raise ValidationFailed(
                "publish needs a model name or a registered model (train with register=True)", field="model"
            )
        model, tenant_id, version = record.name, record.tenant_id, record.version
    b = backend or get_backend()
    # cheap checks first (rules.publish applies them again), then the costly ones
    validation.plain_text(title, "title", max_len=rules.TITLE_MAX_CHARS)
    validation.plain_text(description, "description", max_len=rules.DESCRIPTION_MAX_CHARS, multiline=True)
    validation.metrics(reported_metrics, "reported_metrics")
    record = models.get_model(tenant_id, model, version, backend=b)
    checked = _checked(record)

    def same(candidate: ModelRecord) -> bool:
        return (candidate.artifact_uri, candidate.sha256) == (record.artifact_uri, record.sha256)

    def artifact_check(candidate: ModelRecord) -> None:
        if not same(candidate):
            _checked(candidate)

    def run_verification(candidate: ModelRecord) -> dict[str, float]:
        meta = checked.metadata if same(candidate) else _checked(candidate).metadata
        return verify(candidate, meta, store=store)

    importance = checked.metadata.get("feature_importance")
    return rules.publish(
        tenant_id,
        model,
        title,
        description,
        reported_metrics,
        run_verification,
        artifact_check,
        version=record.version,
        feature_importance=(finite(importance) or None) if isinstance(importance, Mapping) else None,
        backend=b,
    )


@dataclass(frozen=True)
class Download:
    """A download: the checked bundle (``bundle``) or, in the cloud, a presigned ``url``."""

    listing_id: str
    model_name: str
    model_version: int
    file_name: str
    sha256: str
    """sha256 of the bundle's ``metadata.json`` (the listing's checksum)."""
    bundle_sha256: str
    """sha256 of the zip bundle bytes (check the downloaded file against it)."""
    size_bytes: int
    metadata: dict[str, Any]
    downloads: int
    bundle: bytes | None = field(default=None, repr=False)
    url: str | None = None
    expires_in_seconds: int | None = None

    def received(self, fetch: Any = bundles.fetch_url) -> bundles.VerifiedBundle:
        """The client side: the bundle bytes (``fetch``-ed from ``url`` when there is one),
        checked with :func:`pitwall.marketplace.bundles.check_bundle` against this answer's
        checksums."""
        data = self.bundle if self.bundle is not None else fetch(str(self.url))
        return bundles.check_bundle(data, self.sha256, bundle_sha256=self.bundle_sha256)


def download(listing_id: str, *, tenant: Tenant = LOCAL_TENANT, backend: RecordsBackend | None = None) -> Download:
    """Download a listed model: check its artifact (``bad_artifact`` 422 when it fails,
    nothing counted), count the download against the tenant's tier quota (429), and return
    the bundle, or a presigned S3 URL to it with ``PITWALL_BACKEND=aws``."""
    b = backend or get_backend()
    principal = principal_of(tenant, backend=b)
    listing = rules.get_listing(listing_id, backend=b)
    verified = bundles.check_artifact(listing.artifact_uri, listing.sha256, what=f"listing {listing_id!r}")
    file_name = f"{listing.model_name}-v{listing.model_version}-{listing.sha256[:12]}.zip"
    url = bundles.presigned_bundle_url(listing.listing_id, verified, file_name) if backend_kind() == "aws" else None
    counted = rules.count_download(principal, listing_id, backend=b)
    return Download(
        listing_id=listing.listing_id,
        model_name=listing.model_name,
        model_version=listing.model_version,
        file_name=file_name,
        sha256=verified.sha256,
        bundle_sha256=verified.bundle_sha256,
        size_bytes=len(verified.bundle),
        metadata=verified.metadata,
        downloads=counted.downloads,
        bundle=None if url is not None else verified.bundle,
        url=url,
        expires_in_seconds=bundles.DOWNLOAD_URL_EXPIRES_S if url is not None else None,
    )


def fork(
    listing_id: str,
    new_name: str | None = None,
    *,
    tenant: Tenant = LOCAL_TENANT,
    backend: RecordsBackend | None = None,
) -> ModelRecord:
    """Copy a listed model into the tenant's models (lineage kept; counts as a download); the
    copy is checked against the listed checksum before it is written. Deploy or retrain it
    like any model of your own."""
    b = backend or get_backend()
    principal = principal_of(tenant, backend=b)
    listing = rules.get_listing(listing_id, backend=b)

    def copy(src_uri: str, tenant_id: str, name: str) -> str:
        return bundles.copy_artifact(src_uri, tenant_id, name, expected_sha256=listing.sha256)

    return rules.fork(principal, listing_id, copy, new_name=new_name, backend=b)
