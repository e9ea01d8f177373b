"""The monitoring job's state in S3: settings, records, alerts, summaries and training profiles.

Locally these live under ``$PITWALL_HOME/monitoring/`` (``settings/``, ``records/``, ``alerts/``,
``summaries/``, ``profiles/``). The AWS monitoring job runs in a Lambda whose ``/tmp`` is lost
between runs, so :class:`S3MonitoringState` mirrors those folders to
``s3://<bucket>/<prefix>/`` (``PITWALL_MONITORING_BUCKET`` / ``PITWALL_MONITORING_PREFIX``,
default ``monitoring``): :meth:`~S3MonitoringState.pull` before a run, :meth:`~S3MonitoringState.push`
of what the run changed after it. Captures are not part of it (their own sink:
:mod:`pitwall.monitoring.capture_aws`). The job runs one at a time (reserved concurrency 1 in the
monitoring stack), so a pull/run/push never interleaves with another.

Keys keep the local layout (``records/tenant=<t>/model=<m>/live.parquet``...): every tenant's
state stays under its own ``tenant=<t>`` folder; the mirror as a whole is internal to the job and
never exposed to a tenant.

Processes that do not run the job read and write single JSON documents of that state directly
(:meth:`S3MonitoringState.get` / :meth:`S3MonitoringState.put`): the API Lambda writes a deployment's
settings (``pitwall deploy --capture``) and reads its summary (``GET /api/v1/models/{model}/monitoring``),
the endpoint container reads the settings for its capture rate. :meth:`S3MonitoringState.from_env` is the one
place that picks S3 (``PITWALL_MONITORING_BUCKET`` set) over the local folders.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

BUCKET_ENV = "PITWALL_MONITORING_BUCKET"
PREFIX_ENV = "PITWALL_MONITORING_PREFIX"
DEFAULT_PREFIX = "monitoring"
AREAS = ("settings", "records", "alerts", "summaries", "profiles")


def _digest(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


class S3MonitoringState:
    """Mirror of the monitoring folders (:data:`AREAS`) of ``home`` to an S3 prefix."""

    def __init__(self, bucket: str, prefix: str = DEFAULT_PREFIX, client: Any = None, home: Path | None = None) -> None:
        if not bucket:
            raise ValueError("bucket: the monitoring state bucket name is required")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client
        self._home = home
        self._pulled: dict[str, str] = {}  # relative key -> digest at pull time

    @classmethod
    def from_env(cls) -> S3MonitoringState | None:
        """The mirror named by the environment; None when ``PITWALL_MONITORING_BUCKET`` is unset."""
        bucket = os.environ.get(BUCKET_ENV, "")
        return cls(bucket, os.environ.get(PREFIX_ENV, DEFAULT_PREFIX)) if bucket else None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    @property
    def home(self) -> Path:
        if self._home is None:
            from pitwall.monitoring.settings import monitoring_home

            self._home = monitoring_home()
        return self._home

    def _key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def get(self, relative: str) -> bytes | None:
        """One state document (``settings/tenant=<t>/model=<m>.json``...); None when there is none."""
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=self._key(relative))["Body"].read())
        except Exception as exc:  # botocore ClientError (imported lazily)
            code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                return None
            raise

    def put(self, relative: str, body: bytes) -> str:
        """Write one state document; returns its key."""
        key = self._key(relative)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        return key

    def _local_files(self) -> dict[str, Path]:
        out: dict[str, Path] = {}
        for area in AREAS:
            root = self.home / area
            if root.is_dir():
                for path in root.rglob("*"):
                    if path.is_file() and path.suffix != ".tmp":
                        out[path.relative_to(self.home).as_posix()] = path
        return out

    def pull(self) -> int:
        """Download the mirrored state into the local monitoring folders; returns the file count."""
        count = 0
        paginator = self.client.get_paginator("list_objects_v2")
        for area in AREAS:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(f"{area}/")):
                for item in page.get("Contents", []):
                    relative = item["Key"][len(self._key("")) :] if self.prefix else item["Key"]
                    target = self.home / relative
                    if self.home.resolve() not in target.resolve().parents:
                        raise ValueError(f"key {item['Key']!r} leaves the monitoring folder")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    body = self.client.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
                    target.write_bytes(body)
                    self._pulled[relative] = hashlib.md5(body, usedforsecurity=False).hexdigest()
                    count += 1
        return count

    def push(self) -> list[str]:
        """Upload every local state file that is new or changed since :meth:`pull`; returns their keys."""
        written: list[str] = []
        for relative, path in sorted(self._local_files().items()):
            digest = _digest(path)
            if self._pulled.get(relative) == digest:
                continue
            self.client.put_object(Bucket=self.bucket, Key=self._key(relative), Body=path.read_bytes())
            self._pulled[relative] = digest
            written.append(self._key(relative))
        return written
