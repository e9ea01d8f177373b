"""Marketplace glue: the one implementation the API, the CLI and the SDK share.

The rules (listings, ratings, quotas, counters) live in :mod:`pitwall.platform.marketplace`;
this module supplies what those rules take as injected pieces, and the safe movement of
artifacts:

- :func:`artifact_check` (publish, download, fork): the artifact must pass
  ``verify_artifact`` (every listed file present with its sha256, nothing else, no symlink,
  no unsafe name, no pickle), its ``metadata.json`` must hash to the registered
  ``sha256``, and it must load with the safe loaders (XGBoost UBJSON, LightGBM text, skops
  with an allowlist). Otherwise: ``ValidationFailed`` code ``bad_artifact`` (HTTP 422).
- :func:`verify`: Pitwall's own metrics on the *standard walk-forward backtest* (below).
- :func:`copier`: copies a verified artifact into the forking tenant's namespace.
- :func:`download`: the verified artifact as a zip bundle (``export_bundle`` format) with
  its metadata and checksums; with ``PITWALL_BACKEND=aws`` the bundle is put in the models
  bucket and a presigned S3 URL is returned instead of the bytes.

Every check works on the exact bytes that are served or copied: the artifact is read once
into a bundle, the bundle is verified (``import_bundle`` into a temporary folder, checksum
of ``metadata.json``, safe load), and those same bytes are what a client receives.

Artifact locations: a local folder (path or ``file://``), an ``s3://.../model.tar.gz``
(SageMaker training output) or an ``s3://`` prefix holding the artifact's files.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import tarfile
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pitwall.errors import NotFound, PitwallError, ValidationFailed
from pitwall.platform import keys, models, validation
from pitwall.platform import marketplace as rules
from pitwall.platform.backend import RecordsBackend, backend_kind, get_backend
from pitwall.platform.records import Listing, ModelRecord, Principal

METADATA_FILE = "metadata.json"
MODELS_BUCKET_ENV = "PITWALL_MODELS_BUCKET"
BUNDLE_PREFIX = "marketplace/bundles"
"""Where presigned download bundles are put in the models bucket (content-addressed keys)."""
FORK_PREFIX = "training-output/marketplace-forks"
"""Where cloud forks are written: under ``training-output/``, the prefix the SageMaker
endpoint role may read, so a fork can be deployed like any trained model."""
DOWNLOAD_URL_EXPIRES_S = 900

VERIFY_STANDARD = "pitwall-walk-forward-v1"
VERIFY_TRAIN_SEASONS = 3
VERIFY_MODE = "season_start"
VERIFY_SEED = 0

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


# ---------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------
def _bad_artifact(what: str, problem: object) -> ValidationFailed:
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
# reading an artifact location into bundle bytes
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


def _local_folder(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" or len(parsed.scheme) == 1:  # plain path (or a Windows drive letter)
        return Path(uri)
    raise ValueError(f"unsupported artifact location {parsed.scheme}://")


def zip_files(files: Mapping[str, bytes]) -> bytes:
    """Deterministic zip of ``{relative name: bytes}`` (names are checked on import, not here)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[name])
    return buffer.getvalue()


def files_from_tar(data: bytes) -> dict[str, bytes]:
    """The regular files of a ``model.tar.gz`` (names without ``./``), read in memory.

    Links, devices and duplicate names are refused; nothing is extracted to disk. The names
    are checked like any bundle entry when the result is imported.
    """
    from pitwall.ml.artifacts import MAX_BUNDLE_BYTES, MAX_BUNDLE_FILES
    from pitwall.ml.errors import ArtifactIntegrityError

    files: dict[str, bytes] = {}
    total = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        for member in archive:
            name = member.name.removeprefix("./")
            if member.isdir():
                continue
            if not member.isfile():
                raise ArtifactIntegrityError(f"archive entry {member.name!r}: only regular files are allowed")
            if name in files:
                raise ArtifactIntegrityError(f"archive entry {member.name!r}: duplicate entry")
            total += member.size
            if total > MAX_BUNDLE_BYTES or len(files) >= MAX_BUNDLE_FILES:
                raise ArtifactIntegrityError("archive: too large or too many files")
            extracted = archive.extractfile(member)
            files[name] = extracted.read() if extracted is not None else b""
    return files


def tar_gz_files(files: Mapping[str, bytes]) -> bytes:
    """Deterministic ``model.tar.gz`` of ``{relative name: bytes}`` (SageMaker's model format)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o644
            info.mtime = 0
            archive.addfile(info, io.BytesIO(files[name]))
    return buffer.getvalue()


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


def read_bundle(artifact_uri: str) -> bytes:
    """The artifact at ``artifact_uri`` as zip bundle bytes (not yet verified for S3 sources;
    a local folder is verified by ``export_bundle`` on the way)."""
    from pitwall.ml.artifacts import export_bundle

    if artifact_uri.startswith("s3://"):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return zip_files(_s3_files(artifact_uri))
        except (ClientError, BotoCoreError) as exc:  # missing object, no access
            raise OSError(f"cannot read {artifact_uri!r}: {exc}") from None
    return export_bundle(_local_folder(artifact_uri))


# ---------------------------------------------------------------------------------------
# verification of bundle bytes
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VerifiedBundle:
    """Bundle bytes that passed every check, with what was learnt from them."""

    bundle: bytes
    metadata: dict[str, Any]
    sha256: str
    """sha256 of ``metadata.json`` (the registry's checksum of the whole artifact)."""
    bundle_sha256: str
    files: dict[str, bytes] = field(repr=False)


def check_bundle(data: bytes, expected_sha256: str | None, *, what: str) -> VerifiedBundle:
    """Verify bundle bytes: ``import_bundle`` into a temporary folder (names, pickle, every
    checksum), ``metadata.json`` hashing to ``expected_sha256`` (when given), and a load with
    the safe loaders. ``ValidationFailed`` (``bad_artifact``) naming ``what`` otherwise.
    Nothing is written outside the temporary folder, which is removed."""
    require_ml()
    from pitwall.ml.artifacts import import_bundle, load_model, sha256_file

    try:
        with tempfile.TemporaryDirectory(prefix="pitwall-verify-") as tmp:
            folder = import_bundle(bytes(data), Path(tmp) / "artifact")
            digest = sha256_file(folder / METADATA_FILE)
            if expected_sha256 is not None and digest != expected_sha256:
                raise _bad_artifact(
                    what, f"{METADATA_FILE} has sha256 {digest[:12]}..., registered {expected_sha256[:12]}..."
                )
            load_model(folder)
            metadata = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
            files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    except PitwallError:
        raise
    except _artifact_errors() as exc:
        raise _bad_artifact(what, exc) from None
    return VerifiedBundle(
        bundle=bytes(data),
        metadata=metadata,
        sha256=digest,
        bundle_sha256=hashlib.sha256(data).hexdigest(),
        files=files,
    )


def verified_artifact(artifact_uri: str, expected_sha256: str | None, *, what: str) -> VerifiedBundle:
    """Read the artifact at ``artifact_uri`` and verify it (see :func:`check_bundle`)."""
    require_ml()
    try:
        data = read_bundle(artifact_uri)
    except PitwallError:
        raise
    except _artifact_errors() as exc:
        raise _bad_artifact(what, exc) from None
    return check_bundle(data, expected_sha256, what=what)


def _describe(record: ModelRecord) -> str:
    return f"model {record.name!r} version {record.version}"


def artifact_check(record: ModelRecord) -> None:
    """Refuse a model whose artifact does not verify (see the module doc); used at publish,
    download and fork."""
    verified_artifact(record.artifact_uri, record.sha256, what=_describe(record))


# ---------------------------------------------------------------------------------------
# verification backtest
# ---------------------------------------------------------------------------------------
def _finite(metrics: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
            continue
        out[str(name)] = float(value)
    return out


def verify(record: ModelRecord, *, store: Any = None, metadata: Mapping[str, Any] | None = None) -> dict[str, float]:
    """Pitwall's own metrics for the model on the standard walk-forward backtest
    (``pitwall-walk-forward-v1``), computed at publish time and shown as *verified*.

    The standard: the latest season the store holds for the model's template is predicted
    race by race (``season_start`` mode: one fit per member on the
    ``VERIFY_TRAIN_SEASONS`` = 3 seasons before it, never on the predicted season) with the
    model's recipe read from its verified artifact (template, features, algorithm,
    hyperparameters and seed; AutoML ensembles refit every member, no tuning). Returned:
    the backtest's metrics, the template's naive baseline on the same races as
    ``baseline_<metric>``, ``backtest_season`` and ``train_seasons``. Time is bounded by
    the data (three seasons, one fit per member). It measures the recipe, not the exact
    fitted artifact (which was fitted on the author's own window).

    ``metadata`` is the artifact's verified ``metadata.json`` (read and verified when None).
    """
    require_ml()
    from pitwall.data.store import get_store
    from pitwall.features import FeatureStore
    from pitwall.ml import ModelBuilder, walk_forward
    from pitwall.ml.model import EnsembleModel
    from pitwall.templates import get_template
    from pitwall.training import _labelled, available_seasons

    meta = (
        dict(metadata)
        if metadata is not None
        else verified_artifact(record.artifact_uri, record.sha256, what=_describe(record)).metadata
    )
    spec = get_template(record.template)
    store = store or get_store()
    have = available_seasons(store, spec)
    season = have[-1]
    train_seasons = [s for s in have if s < season][-VERIFY_TRAIN_SEASONS:]
    if not train_seasons:
        raise ValidationFailed(
            f"cannot verify: template {spec.name!r} has only season {season} stored; the standard backtest "
            "needs earlier seasons to train on",
            field="model_name",
            code="verification_failed",
            unprocessable=True,
        )
    data = _labelled(spec, spec.frame(FeatureStore(store), [*train_seasons, season]))
    features = list(meta.get("features") or record.features)
    builder = ModelBuilder(
        task=spec.task,
        target=spec.target,
        features=features,
        top_k=spec.top_k,
        entity_col=spec.entity_col,
        template=spec.name,
    )
    baselines = {spec.baseline.removeprefix("baseline_"): spec.baseline}
    common: dict[str, Any] = dict(
        season=season, mode=VERIFY_MODE, min_train_races=spec.min_train_races, baselines=baselines, track=False
    )
    if meta.get("kind") == "ensemble":
        members = list(meta.get("members") or [])

        def fit(train: Any) -> Any:
            return EnsembleModel(
                [
                    builder.train(train, m["algorithm"], params=m.get("params") or {}, seed=int(m.get("seed", 0)))
                    for m in members
                ]
            )

        result = walk_forward(data, fit, group_col=builder.spec.group_col, **common)
    else:
        train_kwargs = {
            "algorithm": meta.get("algorithm", record.algorithm),
            "params": meta.get("params") or {},
            "seed": int(meta.get("seed", VERIFY_SEED)),
        }
        result = walk_forward(data, builder, train_kwargs=train_kwargs, **common)
    verified = _finite({k: v for k, v in result.metrics.items() if k != "k"})
    for scores in result.baseline_metrics.values():
        verified.update({f"baseline_{k}": v for k, v in _finite(scores).items() if k not in ("n_races", "k")})
    verified["backtest_season"] = float(season)
    verified["train_seasons"] = float(len(train_seasons))
    return verified


# ---------------------------------------------------------------------------------------
# copier (fork)
# ---------------------------------------------------------------------------------------
def _models_bucket() -> str:
    bucket = os.environ.get(MODELS_BUCKET_ENV, "").strip()
    if not bucket:
        from pitwall.serving.errors import ServingUnavailable

        raise ServingUnavailable(
            f"{MODELS_BUCKET_ENV} is not set; name the models bucket", code="bucket_not_configured"
        )
    return bucket


def copier(src_uri: str, tenant_id: str, name: str, *, expected_sha256: str | None = None) -> str:
    """Copy a verified artifact into the tenant's namespace and return its new URI.

    Locally: ``$PITWALL_HOME/models/<tenant>/<name>/<id>/`` (only ``metadata.json`` and the
    files it lists; written beside and renamed into place). With ``PITWALL_BACKEND=aws``:
    ``s3://<models bucket>/training-output/marketplace-forks/<tenant>/<name>/<id>/model.tar.gz``.
    The source is verified first (``expected_sha256``: the listed checksum of its
    ``metadata.json``) and the verified bytes are what is written.
    """
    from pitwall.config import pitwall_home

    tenant = validation.identifier(tenant_id, "tenant_id")
    model = validation.identifier(name, "new_name")
    verified = verified_artifact(src_uri, expected_sha256, what="the listed model")
    copy_id = uuid.uuid4().hex[:12]
    if backend_kind() == "aws":
        bucket = _models_bucket()
        key = f"{FORK_PREFIX}/{tenant}/{model}/{copy_id}/model.tar.gz"
        _s3_client().put_object(Bucket=bucket, Key=key, Body=tar_gz_files(verified.files))
        return f"s3://{bucket}/{key}"
    from pitwall.ml.artifacts import import_bundle

    dest = pitwall_home() / "models" / tenant / model / copy_id
    import_bundle(verified.bundle, dest)
    return str(dest)


# ---------------------------------------------------------------------------------------
# principals (SDK / CLI act for a tenant without a key)
# ---------------------------------------------------------------------------------------
def local_principal(tenant_id: str, *, backend: RecordsBackend | None = None) -> Principal:
    """The principal of ``tenant_id`` for in-process callers (SDK, CLI); a tenant that does
    not exist yet is created on the ``free`` tier (its quotas apply)."""
    try:
        return keys.principal_for_tenant(tenant_id, backend=backend)
    except NotFound:
        keys.create_tenant(tenant_id, "free", backend=backend)
        return keys.principal_for_tenant(tenant_id, backend=backend)


# ---------------------------------------------------------------------------------------
# the operations
# ---------------------------------------------------------------------------------------
def _feature_importance(metadata: Mapping[str, Any]) -> dict[str, float] | None:
    raw = metadata.get("feature_importance")
    if not isinstance(raw, Mapping):
        return None
    return _finite(raw) or None


def publish(
    tenant_id: str,
    model_name: str,
    title: str,
    description: str,
    reported_metrics: Mapping[str, float] | None = None,
    *,
    version: int | None = None,
    store: Any = None,
    backend: RecordsBackend | None = None,
) -> Listing:
    """Publish a version (latest when None) of the tenant's model after checking its artifact
    and running the verification backtest; returns the listing.

    ValidationFailed: bad title/description/metrics (400), ``bad_artifact`` or
    ``verification_failed`` (422); NotFound: no such model; Conflict: already listed.
    """
    b = backend or get_backend()
    # cheap checks first (the same rules publish applies again), then the costly ones
    validation.plain_text(title, "title", max_len=rules.TITLE_MAX_CHARS)
    validation.plain_text(description, "description", max_len=rules.DESCRIPTION_MAX_CHARS, multiline=True)
    validation.metrics(reported_metrics, "reported_metrics")
    record = models.get_model(tenant_id, model_name, version, backend=b)
    checked = verified_artifact(record.artifact_uri, record.sha256, what=_describe(record))
    checked_key = (record.artifact_uri, record.sha256)

    def check(model: ModelRecord) -> None:
        if (model.artifact_uri, model.sha256) != checked_key:
            artifact_check(model)

    def run_verification(model: ModelRecord) -> dict[str, float]:
        meta = checked.metadata if (model.artifact_uri, model.sha256) == checked_key else None
        return verify(model, store=store, metadata=meta)

    return rules.publish(
        tenant_id,
        model_name,
        title,
        description,
        reported_metrics,
        run_verification,
        check,
        version=record.version,
        feature_importance=_feature_importance(checked.metadata),
        backend=b,
    )


def share(
    model_name_or_result: Any,
    title: str,
    description: str,
    tenant_id: str = "local",
    *,
    reported_metrics: Mapping[str, float] | None = None,
    version: int | None = None,
    store: Any = None,
) -> Listing:
    """Publish a model by name, or a ``TrainingResult`` (its registered version and tenant):
    the hook behind the SDK's ``model.share(...)``."""
    if isinstance(model_name_or_result, str):
        return publish(
            tenant_id, model_name_or_result, title, description, reported_metrics, version=version, store=store
        )
    record = getattr(model_name_or_result, "record", None)
    if not isinstance(record, ModelRecord):
        raise ValidationFailed(
            "share needs a model name or a registered training result (train with register=True)", field="model"
        )
    return publish(
        record.tenant_id, record.name, title, description, reported_metrics, version=record.version, store=store
    )


@dataclass(frozen=True)
class Download:
    """A download: the verified bundle (``bundle``) or, in the cloud, a presigned ``url``."""

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


def _presigned_bundle(listing: Listing, verified: VerifiedBundle, file_name: str) -> str:
    bucket = _models_bucket()
    key = f"{BUNDLE_PREFIX}/{listing.listing_id}/{verified.bundle_sha256}.zip"
    s3 = _s3_client()
    s3.put_object(Bucket=bucket, Key=key, Body=verified.bundle, ContentType="application/zip")
    return s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket,
            "Key": key,
            "ResponseContentDisposition": f'attachment; filename="{file_name}"',
        },
        ExpiresIn=DOWNLOAD_URL_EXPIRES_S,
    )


def download(principal: Principal, listing_id: str, *, backend: RecordsBackend | None = None) -> Download:
    """Download a listed model: verify its artifact (``bad_artifact`` 422 when it fails,
    nothing counted), count the download against the caller's tier quota (429), and return
    the bundle, or a presigned S3 URL to it with ``PITWALL_BACKEND=aws``."""
    b = backend or get_backend()
    listing = rules.get_listing(listing_id, backend=b)
    verified = verified_artifact(listing.artifact_uri, listing.sha256, what=f"listing {listing_id!r}")
    file_name = f"{listing.model_name}-v{listing.model_version}-{listing.sha256[:12]}.zip"
    url = _presigned_bundle(listing, verified, file_name) if backend_kind() == "aws" else None
    counted = rules.record_download(principal, listing_id, backend=b)
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
        expires_in_seconds=DOWNLOAD_URL_EXPIRES_S if url is not None else None,
    )


def fetch_url(url: str, *, timeout: float = 60.0) -> bytes:
    """The bytes behind a presigned download URL (https only, or http for local emulators)."""
    import urllib.request

    if urlparse(url).scheme not in ("https", "http"):
        raise ValidationFailed(f"download url must be http(s); got {url!r}", field="url")
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - scheme checked above
        return response.read()


def check_download(data: bytes, expected_sha256: str, bundle_sha256: str | None = None) -> VerifiedBundle:
    """Client side: check downloaded bundle bytes (their sha256, then :func:`check_bundle`)."""
    if bundle_sha256 is not None and hashlib.sha256(data).hexdigest() != bundle_sha256:
        raise _bad_artifact("the download", "the file's sha256 does not match the announced bundle_sha256")
    return check_bundle(data, expected_sha256, what="the download")


def download_checked(
    principal: Principal,
    listing_id: str,
    *,
    backend: RecordsBackend | None = None,
    fetch: Callable[[str], bytes] = fetch_url,
) -> tuple[Download, VerifiedBundle]:
    """Client side of a download (CLI, SDK): :func:`download`, ``fetch`` the presigned URL
    when there is one, and check the bytes received (:func:`check_download`)."""
    result = download(principal, listing_id, backend=backend)
    data = result.bundle if result.bundle is not None else fetch(str(result.url))
    return result, check_download(data, result.sha256, result.bundle_sha256)


def fork(
    principal: Principal, listing_id: str, new_name: str | None = None, *, backend: RecordsBackend | None = None
) -> ModelRecord:
    """Copy a listed model into the caller's namespace (lineage kept; counts as a download);
    the copy is verified against the listed checksum before it is written."""
    b = backend or get_backend()
    listing = rules.get_listing(listing_id, backend=b)

    def copy(src_uri: str, tenant_id: str, name: str) -> str:
        return copier(src_uri, tenant_id, name, expected_sha256=listing.sha256)

    return rules.fork(principal, listing_id, copy, new_name=new_name, backend=b)


def rate(tenant_id: str, listing_id: str, stars: int, *, backend: RecordsBackend | None = None) -> Listing:
    """Rate 1-5 (one rating per tenant, updatable; not one's own listing)."""
    return rules.rate(tenant_id, listing_id, stars, backend=backend)


def unpublish(tenant_id: str, listing_id: str, *, backend: RecordsBackend | None = None) -> None:
    """Remove a listing (author only); forks keep working."""
    rules.unpublish(tenant_id, listing_id, backend=backend)


def search(
    *,
    template: str | None = None,
    text: str | None = None,
    author: str | None = None,
    sort: str = "recent",
    limit: int = 20,
    next_token: str | None = None,
    backend: RecordsBackend | None = None,
) -> rules.ListingPage:
    """Search listings (see :func:`pitwall.platform.marketplace.search_listings`)."""
    return rules.search_listings(
        template=template, text=text, author=author, sort=sort, limit=limit, next_token=next_token, backend=backend
    )


def top(limit: int = 10, *, backend: RecordsBackend | None = None) -> list[rules.WeeklyEntry]:
    """Top listings of the last 7 days (downloads + new ratings)."""
    return rules.top_this_week(limit=limit, backend=backend)


def card(listing_id: str, *, backend: RecordsBackend | None = None) -> rules.ModelCard:
    """The model card (free; not a download)."""
    return rules.preview(listing_id, backend=backend)


def my_rating(tenant_id: str, listing_id: str, *, backend: RecordsBackend | None = None) -> int | None:
    return rules.my_rating(tenant_id, listing_id, backend=backend)
