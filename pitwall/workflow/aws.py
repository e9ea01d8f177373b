"""AWS implementations of the workflow ports: the lake's training manifest and model artifacts in S3.

Thin boto3 adapters; clients are passed in (the Lambda handlers create them once per container).
Records use :class:`pitwall.platform.dynamo_backend.DynamoBackend`, endpoints
:class:`pitwall.serving.sagemaker.SageMakerServing`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from pitwall.workflow.errors import THROTTLING_ERROR_CODES, StepFailed, ThrottlingException
from pitwall.workflow.local import json_from_tar, metadata_from_tar, parse_metadata
from pitwall.workflow.steps import Artifact, FeatureSnapshot, select_lake

SUMMARY_FILE = "metrics.json"


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def raise_if_throttled(exc: ClientError) -> None:
    """Re-raise a throttling ``ClientError`` as :class:`ThrottlingException` (the workflow retries it)."""
    if error_code(exc) in THROTTLING_ERROR_CODES:
        raise ThrottlingException(str(exc)) from exc


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``; :class:`StepFailed` for anything else."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.lstrip("/"):
        raise StepFailed(f"expected an s3://bucket/key URI; got {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


class S3LakeManifest:
    """Training data from the S3 lake (``s3://<bucket>/<prefix>/``): a SageMaker manifest of the objects
    :func:`select_lake` picks, written to ``s3://<manifest_bucket>/manifests/<job_id>.json``.

    The training job's ``lake`` channel (``S3DataType=ManifestFile``) then receives those objects under
    their lake-relative keys, which is the Store tree the training image expects.
    """

    def __init__(self, client: Any, *, bucket: str, prefix: str, manifest_bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.manifest_bucket = manifest_bucket

    def snapshot(self, job_id: str, seasons: list[int] | None) -> FeatureSnapshot:
        root = f"{self.prefix}/" if self.prefix else ""
        objects = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=root):
            objects += [(obj["Key"][len(root) :], int(obj["Size"])) for obj in page.get("Contents", [])]
        selection = select_lake(objects, seasons)
        manifest = [{"prefix": f"s3://{self.bucket}/{root}"}, *selection.keys]
        key = f"manifests/{job_id}.json"
        self.client.put_object(
            Bucket=self.manifest_bucket, Key=key, Body=json.dumps(manifest).encode(), ContentType="application/json"
        )
        return FeatureSnapshot(
            uri=f"s3://{self.manifest_bucket}/{key}", total_bytes=selection.total_bytes, seasons=selection.seasons
        )


class S3ArtifactReader:
    """Reads ``metadata.json`` from ``s3://.../model.tar.gz`` (SageMaker output) or an artifact prefix."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def _body(self, bucket: str, key: str) -> Any:
        try:
            return self.client.get_object(Bucket=bucket, Key=key)["Body"]
        except ClientError as exc:
            raise_if_throttled(exc)
            if error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise StepFailed(f"cannot read s3://{bucket}/{key}: {error_code(exc)}") from None

    def read(self, model_artifacts: str) -> Artifact:
        bucket, key = split_s3_uri(model_artifacts)
        if not key.endswith((".tar.gz", ".tgz")):
            key = key.rstrip("/") + "/metadata.json"
        body = self._body(bucket, key)
        if body is None:
            raise StepFailed(f"model artifact s3://{bucket}/{key} does not exist")
        if key.endswith("metadata.json"):
            return parse_metadata(body.read(), model_artifacts)
        artifact = metadata_from_tar(body, model_artifacts)
        return Artifact(artifact.metadata, artifact.sha256, self._summary(bucket, key))

    def _summary(self, bucket: str, model_key: str) -> dict[str, Any]:
        """The training image's ``metrics.json`` from ``output.tar.gz`` beside ``model.tar.gz`` ({} if none)."""
        if not model_key.endswith("/model.tar.gz"):
            return {}
        output_key = model_key.removesuffix("model.tar.gz") + "output.tar.gz"
        body = self._body(bucket, output_key)
        raw = json_from_tar(body, SUMMARY_FILE, f"s3://{bucket}/{output_key}") if body is not None else None
        if raw is None:
            return {}
        try:
            summary = json.loads(raw)
        except ValueError:
            raise StepFailed(f"s3://{bucket}/{output_key}: {SUMMARY_FILE} is not valid JSON") from None
        return summary if isinstance(summary, dict) else {}
