"""The cloud snapshot of a listed model: the checked bytes the verification job keeps in S3, so
the lean API Lambda (boto3 only, no ML libraries) can serve downloads and forks.

When the listed artifact is in S3, the verification job (:func:`keep`, called by
:func:`pitwall.marketplace.verify.verification_result` after the one artifact check passed)
writes, beside nothing else, ``s3://<artifact bucket>/training-output/marketplace/listings/<listing>/``:

- ``bundle.zip``: the checked bundle, byte for byte what :func:`pitwall.marketplace.bundles.check_bundle`
  accepted (downloads are presigned URLs to it; its sha256 is on the listing);
- ``model.tar.gz``: the same files in SageMaker's model format (forks are S3 -> S3 copies of it,
  deployable like any trained model: ``training-output/`` is what the endpoint role reads).

The listing's ``snapshot`` records ``uri``, ``bundle_sha256``, ``size_bytes`` and the
``metadata`` (``metadata.json``). Locally (an artifact folder) nothing is kept: downloads and
forks check the artifact itself. Everything here but :func:`keep` is standard library + boto3.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from pitwall.marketplace.bundles import (
    DOWNLOAD_URL_EXPIRES_S,
    FORK_PREFIX,
    bad_artifact,
    split_s3_uri,
)
from pitwall.platform import validation
from pitwall.platform.archives import tar_gz_files
from pitwall.platform.records import Listing

SNAPSHOT_PREFIX = "training-output/marketplace/listings"
BUNDLE_FILE = "bundle.zip"
ARCHIVE_FILE = "model.tar.gz"


def _s3() -> Any:
    import boto3

    return boto3.client("s3")


def keep(listing_id: str, artifact_uri: str, checked: Any) -> dict[str, Any] | None:
    """Write the checked bundle (a ``VerifiedBundle``) as the listing's snapshot when the
    artifact is in S3; returns the listing's ``snapshot`` record (None for a local artifact)."""
    if not artifact_uri.startswith("s3://"):
        return None
    bucket, _ = split_s3_uri(artifact_uri)
    prefix = f"{SNAPSHOT_PREFIX}/{validation.identifier(listing_id, 'listing_id')}"
    s3 = _s3()
    s3.put_object(Bucket=bucket, Key=f"{prefix}/{BUNDLE_FILE}", Body=checked.bundle, ContentType="application/zip")
    s3.put_object(Bucket=bucket, Key=f"{prefix}/{ARCHIVE_FILE}", Body=tar_gz_files(checked.files))
    return {
        "uri": f"s3://{bucket}/{prefix}/",
        "bundle_sha256": checked.bundle_sha256,
        "size_bytes": len(checked.bundle),
        "metadata": dict(checked.metadata),
    }


def _where(listing: Listing, name: str) -> tuple[str, str]:
    snapshot: Mapping[str, Any] = listing.snapshot or {}
    bucket, prefix = split_s3_uri(str(snapshot.get("uri", "")))
    return bucket, f"{prefix.rstrip('/')}/{name}"


def presigned_download(listing: Listing, file_name: str) -> str:
    """A presigned GET URL (valid :data:`DOWNLOAD_URL_EXPIRES_S`) to the listing's checked bundle,
    downloading as ``file_name``; ``bad_artifact`` (422) when the stored bytes no longer hash to
    the listing's ``bundle_sha256``."""
    bucket, key = _where(listing, BUNDLE_FILE)
    s3 = _s3()
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    expected = (listing.snapshot or {}).get("bundle_sha256")
    if hashlib.sha256(body).hexdigest() != expected:
        raise bad_artifact(f"listing {listing.listing_id!r}", "the kept bundle does not match its recorded sha256")
    return s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": key, "ResponseContentDisposition": f'attachment; filename="{file_name}"'},
        ExpiresIn=DOWNLOAD_URL_EXPIRES_S,
    )


def copy_fork(listing: Listing, tenant_id: str, name: str) -> str:
    """Copy the listing's ``model.tar.gz`` S3 -> S3 into the tenant's forks; returns its URI."""
    tenant = validation.identifier(tenant_id, "tenant_id")
    model = validation.identifier(name, "new_name")
    bucket, key = _where(listing, ARCHIVE_FILE)
    target = f"{FORK_PREFIX}/{tenant}/{model}/{uuid.uuid4().hex[:12]}/{ARCHIVE_FILE}"
    _s3().copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": key})
    return f"s3://{bucket}/{target}"
