"""AWS implementations of the workflow ports: S3 training tables and artifacts, SageMaker endpoints.

Thin boto3 adapters; clients are passed in (the Lambda handlers create them once per container).
Records use :class:`pitwall.platform.dynamo_backend.DynamoBackend`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from pitwall.workflow.errors import THROTTLING_ERROR_CODES, StepFailed, ThrottlingException
from pitwall.workflow.local import metadata_from_tar, parse_metadata
from pitwall.workflow.steps import Artifact, FeatureSnapshot


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


class S3FeatureSource:
    """Training tables in the features bucket: ``<dataset>/season=<YYYY>/*.parquet``."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def snapshot(self, dataset: str, seasons: list[int] | None) -> FeatureSnapshot:
        sizes: dict[int, int] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{dataset}/season="):
            for obj in page.get("Contents", []):
                partition, _, name = obj["Key"][len(dataset) + 1 :].partition("/")
                if not name.endswith(".parquet"):
                    continue
                try:
                    season = int(partition.removeprefix("season="))
                except ValueError:
                    continue
                sizes[season] = sizes.get(season, 0) + int(obj["Size"])
        wanted = sorted(sizes) if seasons is None else list(seasons)
        if not wanted:
            raise StepFailed(f"training table {dataset!r} has no season partitions in s3://{self.bucket}/{dataset}/")
        missing = [s for s in wanted if s not in sizes]
        if missing:
            raise StepFailed(f"training table {dataset!r} has no data for seasons {missing} in s3://{self.bucket}/")
        return FeatureSnapshot(
            uri=f"s3://{self.bucket}/{dataset}/", total_bytes=sum(sizes[s] for s in wanted), seasons=wanted
        )


class S3ArtifactReader:
    """Reads ``metadata.json`` from ``s3://.../model.tar.gz`` (SageMaker output) or an artifact prefix."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def read(self, model_artifacts: str) -> Artifact:
        bucket, key = split_s3_uri(model_artifacts)
        if not key.endswith((".tar.gz", ".tgz")):
            key = key.rstrip("/") + "/metadata.json"
        try:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
        except ClientError as exc:
            raise_if_throttled(exc)
            raise StepFailed(f"cannot read model artifact s3://{bucket}/{key}: {error_code(exc)}") from None
        if key.endswith("metadata.json"):
            return parse_metadata(body.read(), model_artifacts)
        return metadata_from_tar(body, model_artifacts)


class SageMakerDeployer:
    """Creates the SageMaker model and endpoint config of a version, then creates or updates the endpoint.

    Idempotent: existing models/configs with the same name are reused (names are derived from the
    tenant, model and version), and an endpoint already on the config is left alone.
    """

    def __init__(self, client: Any, *, image_uri: str, role_arn: str) -> None:
        self.client = client
        self.image_uri = image_uri
        self.role_arn = role_arn

    def _create(self, call: Any, **kwargs: Any) -> bool:
        try:
            call(**kwargs)
        except ClientError as exc:
            raise_if_throttled(exc)
            message = str(exc.response.get("Error", {}).get("Message", ""))
            if error_code(exc) == "ValidationException" and "already exist" in message:
                return False
            raise
        return True

    def deploy(
        self, *, endpoint_name: str, model_name: str, artifact_uri: str, production_variant: Mapping[str, Any]
    ) -> dict[str, Any]:
        tags = [{"Key": "project", "Value": "pitwall"}]
        self._create(
            self.client.create_model,
            ModelName=model_name,
            ExecutionRoleArn=self.role_arn,
            PrimaryContainer={"Image": self.image_uri, "ModelDataUrl": artifact_uri},
            Tags=tags,
        )
        config_name = model_name
        self._create(
            self.client.create_endpoint_config,
            EndpointConfigName=config_name,
            ProductionVariants=[dict(production_variant)],
            Tags=tags,
        )
        try:
            current = self.client.describe_endpoint(EndpointName=endpoint_name)
        except ClientError as exc:
            raise_if_throttled(exc)
            if error_code(exc) != "ValidationException":
                raise
            current = None
        if current is None:
            self.client.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name, Tags=tags)
            action = "created"
        elif current.get("EndpointConfigName") == config_name:
            action = "unchanged"
        else:
            self.client.update_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name)
            action = "updated"
        return {"endpoint_config_name": config_name, "action": action}
