"""Moving model artifacts safely: bundles, archives, the one artifact check, and S3.

:func:`check_bundle` is THE check every marketplace entry point applies (publish, the
server side of download, the client side of download in the SDK and CLI, fork): the bundle
must pass :func:`pitwall.ml.artifacts.bundle_files` (the rules ``pitwall.ml.import_bundle``
applies too: every listed file present with its sha256, nothing else, no symlink, no unsafe
name, no pickle), its ``metadata.json`` must hash to the registered ``sha256`` (and the
bundle itself to the announced ``bundle_sha256``), and it must load with the safe loaders
(XGBoost UBJSON, LightGBM text, skops with an allowlist). Otherwise: ``ValidationFailed``
code ``bad_artifact`` (HTTP 422), naming what failed.

Every check works on the exact bytes that are served or copied: the artifact is read once
into a bundle (:func:`read_artifact`), the bundle is checked, and those same bytes are what a
client receives or a fork writes.

Artifact locations: a local folder (path or ``file://``), an ``s3://.../model.tar.gz``
(SageMaker training output) or an ``s3://`` prefix holding the artifact's files. The S3 calls
(reading artifacts, presigned download URLs, writing forks) are the AWS adapter at the end of
this module.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tempfile
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pitwall.errors import PitwallError, ValidationFailed
from pitwall.platform import validation
from pitwall.platform.archives import tar_gz_files
from pitwall.platform.backend import backend_kind

METADATA_FILE = "metadata.json"
MODELS_BUCKET_ENV = "PITWALL_MODELS_BUCKET"
BUNDLE_PREFIX = "marketplace/bundles"
"""Where presigned download bundles are put in the models bucket (content-addressed keys)."""
FORK_PREFIX = "training-output/marketplace-forks"
"""Where cloud forks are written: under ``training-output/``, the prefix the SageMaker
endpoint role may read, so a fork can be deployed like any trained model."""
DOWNLOAD_URL_EXPIRES_S = 900

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


# ---------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------
def bad_artifact(what: str, problem: object) -> ValidationFailed:
    return ValidationFailed(
        f"the artifact of {what} failed verification: {problem}",
        field="artifact",
        code="bad_artifact",
        unprocessable=True,
    )


def require_ml() -> None:
    """``ServingUnavailable`` (503) where ``pitwall.ml``'s libraries are not installed (the
    lean API Lambda): checking, serving and copying artifacts need its safe loaders."""
    try:
        import pitwall.ml.artifacts  # noqa: F401
    except ImportError as exc:
        from pitwall.serving.errors import ServingUnavailable

        raise ServingUnavailable(
            f"this deployment cannot verify model artifacts ({exc.name or 'pitwall.ml'} is not installed)",
            code="verification_unavailable",
        ) from None


def _artifact_errors() -> tuple[type[BaseException], ...]:
    from pitwall.ml.errors import ArtifactIntegrityError, MLInputError

    return (ArtifactIntegrityError, MLInputError, OSError, zipfile.BadZipFile, tarfile.TarError, ValueError)


# ---------------------------------------------------------------------------------------
# archives (in memory)
# ---------------------------------------------------------------------------------------
def zip_files(files: Mapping[str, bytes]) -> bytes:
    """Deterministic zip of ``{relative name: bytes}`` (names are checked by :func:`check_bundle`)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[name])
    return buffer.getvalue()


def files_from_tar(data: bytes) -> dict[str, bytes]:
    """The regular files of a ``model.tar.gz`` (names without ``./``), read in memory with the
    archive rules of the one check (:func:`pitwall.ml.artifacts.tar_members`: sizes and
    compression ratio before decompressing, entry count, no link, device or duplicate, safe
    names); nothing is extracted to disk. The files are then checked like any bundle by
    :func:`check_bundle`."""
    from pitwall.ml.artifacts import tar_members

    return tar_members(data, "archive")


def _local_folder(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" or len(parsed.scheme) == 1:  # plain path (or a Windows drive letter)
        return Path(uri)
    raise ValueError(f"unsupported artifact location {parsed.scheme}://")


def read_artifact(artifact_uri: str) -> bytes:
    """The artifact at ``artifact_uri`` as zip bundle bytes (not yet checked: pass them to
    :func:`check_bundle`)."""
    from pitwall.ml.artifacts import export_bundle

    if artifact_uri.startswith("s3://"):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return zip_files(_s3_files(artifact_uri))
        except (ClientError, BotoCoreError) as exc:  # missing object, no access
            raise OSError(f"cannot read {artifact_uri!r}: {exc}") from None
    return export_bundle(_local_folder(artifact_uri))


# ---------------------------------------------------------------------------------------
# the one check
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VerifiedBundle:
    """Bundle bytes that passed :func:`check_bundle`, with what was learnt from them."""

    bundle: bytes
    metadata: dict[str, Any]
    sha256: str
    """sha256 of ``metadata.json`` (the registry's checksum of the whole artifact)."""
    bundle_sha256: str
    files: dict[str, bytes] = field(repr=False)


def check_bundle(
    data: bytes, expected_sha256: str | None, *, what: str = "the download", bundle_sha256: str | None = None
) -> VerifiedBundle:
    """Check bundle bytes (see the module doc): ``bundle_sha256`` (when given) against the
    bytes, :func:`pitwall.ml.artifacts.bundle_files`, ``metadata.json`` against
    ``expected_sha256`` (when given), and a load with the safe loaders in a temporary folder
    that is removed. ``ValidationFailed`` (``bad_artifact``) naming ``what`` otherwise."""
    require_ml()
    from pitwall.ml.artifacts import bundle_files, load_model, sha256_bytes

    if bundle_sha256 is not None and hashlib.sha256(data).hexdigest() != bundle_sha256:
        raise bad_artifact(what, "the file's sha256 does not match the announced bundle_sha256")
    try:
        files = bundle_files(bytes(data))
        digest = sha256_bytes(files[METADATA_FILE])
        if expected_sha256 is not None and digest != expected_sha256:
            raise bad_artifact(
                what, f"{METADATA_FILE} has sha256 {digest[:12]}..., registered {expected_sha256[:12]}..."
            )
        with tempfile.TemporaryDirectory(prefix="pitwall-verify-") as tmp:
            for name, blob in files.items():
                target = Path(tmp, name)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(blob)
            load_model(tmp)
        metadata = json.loads(files[METADATA_FILE].decode("utf-8"))
    except PitwallError:
        raise
    except _artifact_errors() as exc:
        raise bad_artifact(what, exc) from None
    return VerifiedBundle(
        bundle=bytes(data),
        metadata=metadata,
        sha256=digest,
        bundle_sha256=hashlib.sha256(data).hexdigest(),
        files=files,
    )


def check_artifact(artifact_uri: str, expected_sha256: str | None, *, what: str = "the artifact") -> VerifiedBundle:
    """Read the artifact at ``artifact_uri`` (:func:`read_artifact`) and :func:`check_bundle` it."""
    require_ml()
    try:
        data = read_artifact(artifact_uri)
    except PitwallError:
        raise
    except _artifact_errors() as exc:
        raise bad_artifact(what, exc) from None
    return check_bundle(data, expected_sha256, what=what)


# ---------------------------------------------------------------------------------------
# copying (fork)
# ---------------------------------------------------------------------------------------
def copy_artifact(src_uri: str, tenant_id: str, name: str, *, expected_sha256: str | None = None) -> str:
    """Copy a checked artifact into the tenant's namespace and return its new URI.

    Locally: ``$PITWALL_HOME/models/<tenant>/<name>/<id>/`` (only ``metadata.json`` and the
    files it lists; written beside and renamed into place). With ``PITWALL_BACKEND=aws``:
    ``s3://<models bucket>/training-output/marketplace-forks/<tenant>/<name>/<id>/model.tar.gz``.
    The source is checked first (``expected_sha256``: the listed checksum of its
    ``metadata.json``) and the checked bytes are what is written.
    """
    from pitwall.config import pitwall_home

    tenant = validation.identifier(tenant_id, "tenant_id")
    model = validation.identifier(name, "new_name")
    verified = check_artifact(src_uri, expected_sha256, what="the listed model")
    copy_id = uuid.uuid4().hex[:12]
    if backend_kind() == "aws":
        return put_fork(f"{tenant}/{model}/{copy_id}", verified.files)
    from pitwall.ml.artifacts import import_bundle

    dest = pitwall_home() / "models" / tenant / model / copy_id
    import_bundle(verified.bundle, dest)
    return str(dest)


def fetch_url(url: str, *, timeout: float = 60.0) -> bytes:
    """The bytes behind a presigned download URL (https only, or http for local emulators)."""
    import urllib.request

    if urlparse(url).scheme not in ("https", "http"):
        raise ValidationFailed(f"download url must be http(s); got {url!r}", field="url")
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - scheme checked above
        return response.read()


# ---------------------------------------------------------------------------------------
# AWS adapter: S3 (artifacts, presigned bundles, forks)
# ---------------------------------------------------------------------------------------
def _s3_client() -> Any:
    import boto3

    return boto3.client("s3")


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.lstrip("/"):
        raise ValueError(f"expected an s3://bucket/key URI; got {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def models_bucket() -> str:
    """The models bucket (``PITWALL_MODELS_BUCKET``); 503 when it is not configured."""
    import os

    bucket = os.environ.get(MODELS_BUCKET_ENV, "").strip()
    if not bucket:
        from pitwall.serving.errors import ServingUnavailable

        raise ServingUnavailable(
            f"{MODELS_BUCKET_ENV} is not set; name the models bucket", code="bucket_not_configured"
        )
    return bucket


def _s3_files(uri: str) -> dict[str, bytes]:
    from pitwall.ml.artifacts import MAX_BUNDLE_BYTES
    from pitwall.ml.errors import ArtifactIntegrityError

    bucket, key = split_s3_uri(uri)
    s3 = _s3_client()
    if key.endswith((".tar.gz", ".tgz")):
        head = s3.head_object(Bucket=bucket, Key=key)
        if int(head["ContentLength"]) > MAX_BUNDLE_BYTES:
            raise ArtifactIntegrityError(f"archive s3://{bucket}/{key}: larger than {MAX_BUNDLE_BYTES} bytes")
        return files_from_tar(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    prefix = key.rstrip("/") + "/"
    files: dict[str, bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if int(obj["Size"]) > MAX_BUNDLE_BYTES:
                raise ArtifactIntegrityError(f"file {obj['Key']!r}: larger than {MAX_BUNDLE_BYTES} bytes")
            files[obj["Key"][len(prefix) :]] = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    if not files:
        raise ArtifactIntegrityError(f"no artifact files under s3://{bucket}/{prefix}")
    return files


def presigned_bundle_url(listing_id: str, verified: VerifiedBundle, file_name: str) -> str:
    """Put the checked bundle in the models bucket (content-addressed) and return a presigned
    GET URL valid for :data:`DOWNLOAD_URL_EXPIRES_S` that downloads it as ``file_name``."""
    bucket = models_bucket()
    key = f"{BUNDLE_PREFIX}/{listing_id}/{verified.bundle_sha256}.zip"
    s3 = _s3_client()
    s3.put_object(Bucket=bucket, Key=key, Body=verified.bundle, ContentType="application/zip")
    return s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": key, "ResponseContentDisposition": f'attachment; filename="{file_name}"'},
        ExpiresIn=DOWNLOAD_URL_EXPIRES_S,
    )


def put_fork(relative: str, files: Mapping[str, bytes]) -> str:
    """Write a fork's files as ``<FORK_PREFIX>/<relative>/model.tar.gz`` in the models bucket."""
    bucket = models_bucket()
    key = f"{FORK_PREFIX}/{relative}/model.tar.gz"
    _s3_client().put_object(Bucket=bucket, Key=key, Body=tar_gz_files(files))
    return f"s3://{bucket}/{key}"
