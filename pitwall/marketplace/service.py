"""The marketplace operations that move artifacts: publish, download and fork.

Each joins a rule of :mod:`pitwall.marketplace.rules` (records, quotas, counters) to the
artifact work of :mod:`pitwall.marketplace.bundles` (the one artifact check, archives, S3) or,
in the cloud, :mod:`pitwall.marketplace.snapshots` (the verified bundle kept in S3) and, for
publish, the verification job of :mod:`pitwall.workflow.verification`. The API, the CLI
and the SDK all call these functions; the other operations (list, top, show, rate, unpublish)
are rules only and are called there directly.

``tenant`` is a tenant id (in-process callers: SDK, CLI; a tenant that does not exist yet is
created on the ``free`` tier, whose quotas apply) or the principal of an API key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pitwall.config import LOCAL_TENANT
from pitwall.errors import NotFound, PitwallError, ValidationFailed
from pitwall.marketplace import bundles, rules, snapshots
from pitwall.marketplace.rules import Tenant
from pitwall.platform import keys
from pitwall.platform.backend import RecordsBackend, backend_kind, get_backend
from pitwall.platform.records import Listing, ModelRecord, Principal

if TYPE_CHECKING:
    from pitwall.marketplace.jobs import VerificationLauncher


def principal_of(tenant: Tenant, *, backend: RecordsBackend | None = None) -> Principal:
    """``tenant`` as a principal: as given, or the principal of a tenant id (created on first
    use, :func:`pitwall.platform.keys.ensure_tenant`)."""
    if isinstance(tenant, Principal):
        return tenant
    return keys.local_principal(tenant, backend=backend)


def publish(
    model: str | Any,
    title: str,
    description: str,
    reported_metrics: Mapping[str, float] | None = None,
    *,
    version: int | None = None,
    tenant: Tenant = LOCAL_TENANT,
    store: Any = None,
    wait: bool = True,
    timeout: float | None = None,
    launcher: VerificationLauncher | None = None,
    backend: RecordsBackend | None = None,
) -> Listing:
    """Publish a version (latest when None) of one of the tenant's models: the listing is stored
    ``verifying`` and its verification job (artifact check + standard backtest,
    :mod:`pitwall.marketplace.jobs`) is started; it then becomes ``listed`` with its
    verified metrics or ``rejected`` with the reason.

    ``wait=True`` (SDK, CLI) returns the listed listing and raises the rejection's 422
    (``bad_artifact``, ``verification_failed``); ``wait=False`` (the API: 202) returns the
    ``verifying`` listing at once. ``model``: a model name, or a registered model object
    (``pw.train``'s model, a ``TrainingResult``: anything with a ``record``), whose own tenant and
    version are used. ``store`` verifies against that store, in this thread (local only).
    ValidationFailed: bad title/description/metrics (400), a fork (422 ``fork_not_original``);
    NotFound: no such model; Conflict: already listed or being verified.
    """
    from pitwall.marketplace import jobs as verification

    tenant_id = rules.tenant_id_of(tenant)
    if not isinstance(model, str):
        record = getattr(model, "record", None)
        if not isinstance(record, ModelRecord):
            raise ValidationFailed(
                "publish needs a model name or a registered model (train with register=True)", field="model"
            )
        model, tenant_id, version = record.name, record.tenant_id, record.version
    b = backend or get_backend()
    listing = rules.begin_publish(tenant_id, model, title, description, reported_metrics, version=version, backend=b)
    if store is not None and launcher is None:
        from pitwall.config import pitwall_home

        impl = verification.local_implementations(
            b, verify_model=verification.local_verify_model(pitwall_home(), store=store)
        )
        verification.run_local_verification(listing, b, implementations=impl)
        return _settled(b, listing.listing_id)
    chosen = launcher or verification.verification_launcher()
    try:
        chosen.launch(listing, b)
    except Exception as exc:
        message = exc.message if isinstance(exc, PitwallError) else f"{type(exc).__name__}: {exc}"
        rules.reject_verification(
            listing.listing_id, "verification_failed", "model_name", f"could not start: {message}", backend=b
        )
        raise
    if not wait:
        return listing
    chosen.wait(listing.listing_id, b, timeout)
    return _settled(b, listing.listing_id)


def _settled(b: RecordsBackend, listing_id: str) -> Listing:
    """The listing after its verification: listed, or its rejection raised."""
    listing = b.get_listing(listing_id)
    if listing is None:
        raise NotFound(f"listing {listing_id!r} not found", field="listing_id")
    if listing.status == rules.REJECTED:
        raise rules.rejection_error(listing)
    return listing


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
    """Download a listed model and count it (:func:`pitwall.marketplace.rules.take_download`:
    once per tenant per day, never the author's own; the tier's daily allowance, 429).

    Locally the artifact is checked (``bad_artifact`` 422 when it fails, nothing counted) and the
    bundle returned. With ``PITWALL_BACKEND=aws`` the answer is a presigned S3 URL to the bundle
    the verification job checked and kept (:mod:`pitwall.marketplace.snapshots`; no ML library
    needed), its bytes hashed against the listing first."""
    b = backend or get_backend()
    principal = principal_of(tenant, backend=b)
    listing = rules.get_listing(listing_id, backend=b)
    file_name = f"{listing.model_name}-v{listing.model_version}-{listing.sha256[:12]}.zip"
    if backend_kind() == "aws" and listing.snapshot:
        url = snapshots.presigned_download(listing, file_name)
        rules.take_download(principal, listing, backend=b)
        kept = listing.snapshot
        return Download(
            listing_id=listing.listing_id,
            model_name=listing.model_name,
            model_version=listing.model_version,
            file_name=file_name,
            sha256=listing.sha256,
            bundle_sha256=str(kept["bundle_sha256"]),
            size_bytes=int(kept["size_bytes"]),
            metadata=dict(kept.get("metadata") or {}),
            downloads=rules.get_listing(listing_id, backend=b).downloads,
            url=url,
            expires_in_seconds=bundles.DOWNLOAD_URL_EXPIRES_S,
        )
    verified = bundles.check_artifact(listing.artifact_uri, listing.sha256, what=f"listing {listing_id!r}")
    url = bundles.presigned_bundle_url(listing.listing_id, verified, file_name) if backend_kind() == "aws" else None
    rules.take_download(principal, listing, backend=b)
    return Download(
        listing_id=listing.listing_id,
        model_name=listing.model_name,
        model_version=listing.model_version,
        file_name=file_name,
        sha256=verified.sha256,
        bundle_sha256=verified.bundle_sha256,
        size_bytes=len(verified.bundle),
        metadata=verified.metadata,
        downloads=rules.get_listing(listing_id, backend=b).downloads,
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
    """Copy a listed model into the tenant's models (lineage kept: ``forked_from``; counts as a
    download); locally the copy is checked against the listed checksum before it is written, in
    the cloud the verified snapshot is copied S3 -> S3. Deploy or retrain it like any model of
    your own; it cannot be published as an original."""
    b = backend or get_backend()
    principal = principal_of(tenant, backend=b)
    listing = rules.get_listing(listing_id, backend=b)

    def copy(src_uri: str, tenant_id: str, name: str) -> str:
        if backend_kind() == "aws" and listing.snapshot:  # S3 -> S3 from the verified snapshot
            return snapshots.copy_fork(listing, tenant_id, name)
        return bundles.copy_artifact(src_uri, tenant_id, name, expected_sha256=listing.sha256)

    return rules.fork(principal, listing_id, copy, new_name=new_name, backend=b)
