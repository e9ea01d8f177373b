"""The S3 capture sink: the same parquet keys as the local sink, under a bucket prefix.

``s3://<bucket>/<prefix>/tenant=<t>/model=<m>/date=<YYYY-MM-DD>/<capture_id>.parquet``.
Reads list only ``<prefix>/tenant=<t>/model=<m>/``: a tenant's read can never see another
tenant's objects (and the API Lambda's IAM policy may further restrict it to the prefix).
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING, Any

from pitwall.monitoring.capture import (
    _check_scope,
    capture_key,
    concat_captures,
    table_to_parquet,
)
from pitwall.platform import validation

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

BUCKET_ENV = "PITWALL_CAPTURE_BUCKET"
PREFIX_ENV = "PITWALL_CAPTURE_PREFIX"
DEFAULT_PREFIX = "captures"


class S3CaptureSink:
    """Capture rows as parquet objects in S3 (boto3 client injectable for moto tests)."""

    def __init__(self, bucket: str, prefix: str = DEFAULT_PREFIX, client: Any = None) -> None:
        if not bucket:
            raise ValueError("bucket: the capture bucket name is required")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client

    @classmethod
    def from_env(cls) -> S3CaptureSink:
        bucket = os.environ.get(BUCKET_ENV, "")
        if not bucket:
            raise ValueError(f"{BUCKET_ENV} is not set: no capture bucket configured")
        return cls(bucket, os.environ.get(PREFIX_ENV, DEFAULT_PREFIX))

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def _key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def write(self, tenant_id: str, model: str, table: pa.Table) -> str:
        day = _check_scope(tenant_id, model, table)
        key = self._key(capture_key(tenant_id, model, day, str(table["capture_id"][0].as_py())))
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=table_to_parquet(table), ContentType="application/x-parquet"
        )
        return f"s3://{self.bucket}/{key}"

    def read(self, tenant_id: str, model: str) -> pd.DataFrame:
        import pandas as pd

        scope = self._key(
            f"tenant={validation.identifier(tenant_id, 'tenant_id')}/model={validation.identifier(model, 'model')}/"
        )
        frames = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=scope):
            for item in page.get("Contents", []):
                if not item["Key"].endswith(".parquet"):
                    continue
                body = self.client.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
                frames.append(pd.read_parquet(io.BytesIO(body)))
        return concat_captures(frames)

    def deployments(self) -> list[tuple[str, str]]:
        out = []
        paginator = self.client.get_paginator("list_objects_v2")
        root = self._key("")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=root + "tenant=", Delimiter="/"):
            for tenant_prefix in page.get("CommonPrefixes", []):
                tenant = tenant_prefix["Prefix"][len(root) :].strip("/").removeprefix("tenant=")
                for sub in paginator.paginate(Bucket=self.bucket, Prefix=tenant_prefix["Prefix"], Delimiter="/"):
                    for model_prefix in sub.get("CommonPrefixes", []):
                        model = model_prefix["Prefix"].rstrip("/").rsplit("/", 1)[-1].removeprefix("model=")
                        out.append((tenant, model))
        return sorted(out)
