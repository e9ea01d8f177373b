"""Model artifacts in S3 for the monitoring job: what reconstructed predictions load in the cloud.

A registered version's ``artifact_uri`` is, on AWS, the training job's ``s3://.../model.tar.gz``
(SageMaker's output) or an ``s3://.../<prefix>/`` folder of artifact files. :func:`fetch_artifact`
downloads it once into ``$PITWALL_HOME/monitoring/artifacts/<sha256>/`` (the job's ``/tmp``),
extracting archives with the ``data`` filter (no absolute paths, links or names leaving the
folder), and returns the local folder; the caller loads it with the serving loader, which checks
``metadata.json`` against the registered sha256 and every file against its checksum.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pitwall.platform.records import ModelRecord


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    if not uri.startswith("s3://"):
        raise ValueError(f"artifact_uri: {uri!r} is not an s3:// URI")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise ValueError(f"artifact_uri: {uri!r} names no bucket")
    return bucket, key


def artifacts_home() -> Path:
    from pitwall.monitoring.settings import monitoring_home

    return monitoring_home() / "artifacts"


def fetch_artifact(record: ModelRecord, client: Any = None, root: Path | None = None) -> Path:
    """The local folder holding ``record``'s S3 artifact (downloaded on first use)."""
    from pitwall.platform import validation

    digest = validation.identifier(str(record.sha256), "sha256")
    target = (root or artifacts_home()) / digest
    if (target / "metadata.json").is_file():
        return target
    if client is None:
        import boto3

        client = boto3.client("s3")
    bucket, key = split_s3_uri(record.artifact_uri)
    staging = target.with_name(f"{digest}.{uuid.uuid4().hex}.tmp")
    staging.mkdir(parents=True)
    try:
        if key.endswith((".tar.gz", ".tgz", ".tar")):
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as archive:
                archive.extractall(staging, filter="data")
        else:
            prefix = key.rstrip("/") + "/"
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    relative = item["Key"][len(prefix) :]
                    path = (staging / relative).resolve()
                    if not relative or staging.resolve() not in path.parents:
                        raise ValueError(f"artifact key {item['Key']!r} leaves the artifact folder")
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
        if target.exists():  # another run got there first
            shutil.rmtree(staging)
        else:
            staging.replace(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
