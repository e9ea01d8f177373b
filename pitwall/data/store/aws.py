"""The Store on AWS: parquet objects in S3, one Glue Data Catalog table per dataset, SQL on Athena.

The key layout of :mod:`pitwall.data.store.base`, under ``s3://<bucket>/<prefix>/``: a dataset is
one Glue table, each ``<dataset>/season=<YYYY>/`` folder one of its partitions, and a reference
table's ``<dataset>/data.parquet`` an unpartitioned Glue table.

A commit is all or nothing for readers of the final keys: every object is first PUT under
``_staging/<txid>/`` (each PUT is atomic), the Glue tables and partitions are registered, and
only then are the staged objects copied into place, the objects they replace being backed up
under the same staging prefix. Any failure deletes what was staged and restores what was
replaced, so existing objects are left as they were. The ``season`` column is kept inside the
parquet files (so a copy of the bucket reads the same with DuckDB) and is the Glue partition
key, not a Glue data column.

Athena queries go through ``awswrangler`` with the store's Glue database and workgroup, using
its CTAS approach (so every selected column needs a name: ``count(*) AS n``).
"""

from __future__ import annotations

import io
import logging
import os
import uuid
from collections.abc import Mapping
from typing import Any

import awswrangler as wr
import boto3
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from pitwall.data.schema import TABLES
from pitwall.data.store.base import (
    PARTITION_COLUMN,
    PARTITION_LAYOUT,
    REFERENCE_LAYOUT,
    BaseStore,
    parse_key,
    partition_prefix,
    seasons_in,
)

_log = logging.getLogger(__name__)
_MISSING = {"NoSuchKey", "404", "NotFound"}
STAGING = "_staging"


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    """Parquet as Athena reads it: timestamps in milliseconds (refusing to truncate finer ones)."""
    buf = io.BytesIO()
    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table, buf, coerce_timestamps="ms", allow_truncated_timestamps=False)
    return buf.getvalue()


def _athena_types(df: pd.DataFrame, partitioned: bool) -> dict[str, str]:
    """Glue/Athena column types of the parquet written from ``df`` (partition column excluded)."""
    data = df.drop(columns=[PARTITION_COLUMN]) if partitioned and PARTITION_COLUMN in df.columns else df
    untyped = {c: "string" for c in data.columns if data[c].dtype == object and data[c].isna().all()}
    columns, _ = wr.catalog.extract_athena_types(data, index=False, dtype=untyped or None)
    return columns


class AwsStore(BaseStore):
    """Canonical tables in ``s3://<bucket>/<prefix>/``, catalogued in Glue, queried with Athena."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "lake",
        database: str = "pitwall",
        workgroup: str = "primary",
        boto3_session: boto3.Session | None = None,
    ):
        if not bucket:
            raise ValueError("bucket: an S3 bucket name is required (PITWALL_BUCKET)")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.database = database
        self.workgroup = workgroup
        self.session = boto3_session or boto3.Session()
        self.s3 = self.session.client("s3")
        self._database_ready = False

    @classmethod
    def from_env(cls, boto3_session: boto3.Session | None = None) -> AwsStore:
        """``PITWALL_BUCKET`` (required), ``PITWALL_PREFIX`` (default ``lake``),
        ``PITWALL_GLUE_DATABASE`` (``pitwall``), ``PITWALL_ATHENA_WORKGROUP`` (``primary``)."""
        bucket = os.environ.get("PITWALL_BUCKET", "").strip()
        if not bucket:
            raise ValueError("PITWALL_BUCKET: not set; name the S3 bucket of the Pitwall lake")
        return cls(
            bucket=bucket,
            prefix=os.environ.get("PITWALL_PREFIX", "lake"),
            database=os.environ.get("PITWALL_GLUE_DATABASE", "pitwall"),
            workgroup=os.environ.get("PITWALL_ATHENA_WORKGROUP", "primary"),
            boto3_session=boto3_session,
        )

    # --- locations ------------------------------------------------------------------------
    def _object_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str = "") -> str:
        """``s3://`` URI of a store key (or of the store root)."""
        return f"s3://{self.bucket}/{self._object_key(key)}"

    def _dataset_uri(self, dataset: str, season: int | None = None) -> str:
        return self.uri(partition_prefix(dataset, season))

    # --- backend primitives ---------------------------------------------------------------
    def _read_table(self, key: str) -> pa.Table | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self._object_key(key))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        return pq.ParquetFile(io.BytesIO(body)).read()

    def _list_objects(self, prefix: str = "") -> dict[str, str]:
        """Key -> ETag of the layout keys under ``prefix`` (one paginated listing)."""
        root = f"{self.prefix}/" if self.prefix else ""
        out = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=root + prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"][len(root) :]
                if parse_key(key) is not None:
                    out[key] = str(obj.get("ETag", "")).strip('"')
        return out

    def _copy(self, source: str, target: str) -> None:
        self.s3.copy_object(Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source})

    def _delete(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 1000):
            chunk = keys[i : i + 1000]
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})

    def _commit(self, objects: Mapping[str, pd.DataFrame]) -> None:
        """Stage every object, register the catalog, then copy into place; undo on any failure."""
        for key in objects:
            if parse_key(key) is None:
                raise ValueError(f"key: {key!r} is not '{PARTITION_LAYOUT}' or '{REFERENCE_LAYOUT}'")
        payloads = {key: _parquet_bytes(df) for key, df in objects.items()}  # fail before any write
        staging = self._object_key(f"{STAGING}/{uuid.uuid4().hex}")
        written: list[str] = []
        swapped: list[tuple[str, str | None]] = []  # (final key, backup key or None when it was new)
        added: dict[str, list[int]] = {}  # Glue partitions this commit added, per dataset
        keep_staging = False
        try:
            for key, data in payloads.items():
                staged = f"{staging}/new/{key}"
                self.s3.put_object(Bucket=self.bucket, Key=staged, Body=data)
                written.append(staged)
            self._register(objects, added)
            for key in payloads:
                final = self._object_key(key)
                backup: str | None = f"{staging}/old/{key}"
                try:
                    self._copy(final, backup)
                    written.append(backup)
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") not in _MISSING:
                        raise
                    backup = None
                swapped.append((final, backup))
                self._copy(f"{staging}/new/{key}", final)
        except BaseException as exc:
            problems = self._rollback(swapped, added)
            if problems:
                keep_staging = True  # the replaced objects may be the only copy left: keep them
                raise RuntimeError(
                    f"commit failed ({exc}) and so did its rollback ({'; '.join(problems)}); the replaced "
                    f"objects are kept under s3://{self.bucket}/{staging}/old/ for recovery"
                ) from exc
            raise
        finally:
            if not keep_staging:
                try:
                    self._delete(written)
                except Exception as exc:  # noqa: BLE001 - leftovers under _staging/ are never read
                    _log.warning("could not clean up s3://%s/%s: %s", self.bucket, staging, exc)

    def _rollback(self, swapped: list[tuple[str, str | None]], added: dict[str, list[int]]) -> list[str]:
        """Put back every replaced object, remove new ones and new partitions; return what failed."""
        problems = []
        for final, backup in reversed(swapped):
            try:
                if backup is not None:
                    self._copy(backup, final)
                else:
                    self._delete([final])
            except Exception as exc:  # noqa: BLE001 - keep undoing the rest, report all
                problems.append(f"{final}: {exc}")
        for dataset, seasons in added.items():
            try:
                wr.catalog.delete_partitions(
                    table=dataset,
                    database=self.database,
                    partitions_values=[[str(s)] for s in seasons],
                    boto3_session=self.session,
                )
            except Exception as exc:  # noqa: BLE001
                problems.append(f"Glue partitions {dataset} {seasons}: {exc}")
        return problems

    # --- Glue Data Catalog ----------------------------------------------------------------
    def ensure_database(self) -> None:
        """Create the Glue database when it does not exist yet (an existing one is left as it is)."""
        if not self._database_ready:
            wr.catalog.create_database(self.database, exist_ok=True, boto3_session=self.session)
            self._database_ready = True

    def _registered_seasons(self, dataset: str) -> set[int]:
        parts = wr.catalog.get_parquet_partitions(self.database, dataset, boto3_session=self.session)
        return {int(values[0]) for values in parts.values()}

    def _register(self, objects: Mapping[str, pd.DataFrame], added: dict[str, list[int]]) -> None:
        """One Glue table per dataset (partitioned by season when its keys are); add new partitions.

        ``added`` receives the partitions registered here, for a rollback to remove.
        """
        self.ensure_database()
        by_dataset: dict[str, dict[int | None, pd.DataFrame]] = {}
        for key, df in objects.items():
            part = parse_key(key)
            assert part is not None
            by_dataset.setdefault(part.dataset, {})[part.season] = df
        stored_keys = self._list_keys()
        for dataset, parts in by_dataset.items():
            stored = set(seasons_in(stored_keys, dataset))
            partitioned = any(season is not None for season in parts)
            newest = max(parts, key=lambda s: -1 if s is None else s)
            columns = _athena_types(parts[newest], partitioned)
            partitions = {PARTITION_COLUMN: "int"} if partitioned else {}
            seasons = {s for s in parts if s is not None}
            current = wr.catalog.get_table_types(self.database, dataset, boto3_session=self.session)
            registered = self._registered_seasons(dataset) if current is not None and partitioned else set()
            if current is None or list(current.items()) != list({**columns, **partitions}.items()):
                spec = TABLES.get(dataset)
                comments = {c.name: c.doc for c in spec.columns} if spec is not None else None
                wr.catalog.create_parquet_table(
                    database=self.database,
                    table=dataset,
                    path=self._dataset_uri(dataset),
                    columns_types=columns,
                    partitions_types=partitions or None,
                    compression="snappy",
                    description=spec.doc if spec is not None else f"Pitwall dataset {dataset}",
                    columns_comments=comments,
                    mode="overwrite",
                    boto3_session=self.session,
                )
                # a re-created table starts without partitions: register every stored season again
                seasons |= stored if partitioned else set()
                registered = set()
            new = sorted(seasons - registered)
            if partitioned and new:
                wr.catalog.add_parquet_partitions(
                    database=self.database,
                    table=dataset,
                    partitions_values={self._dataset_uri(dataset, s): [str(s)] for s in new},
                    compression="snappy",
                    boto3_session=self.session,
                )
                added[dataset] = [s for s in new if s not in stored]  # seasons without objects until the copy

    # --- SQL ------------------------------------------------------------------------------
    def sql(self, query: str, **kwargs: Any) -> pd.DataFrame:
        """Run ``query`` on Athena over the Glue tables (awswrangler, CTAS approach)."""
        return wr.athena.read_sql_query(
            sql=query,
            database=self.database,
            workgroup=self.workgroup,
            boto3_session=self.session,
            ctas_approach=True,
            **kwargs,
        )
