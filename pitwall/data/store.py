"""The Store: canonical tables (and materialised feature tables) in a columnar lakehouse.

One interface, two backends with the same key layout:

- ``LocalStore``: parquet files under ``$PITWALL_HOME/lake``, queried with DuckDB.
- ``AwsStore`` (``pitwall.data.store_aws``): the same keys in S3, registered as Glue Data
  Catalog tables, queried with Athena (through awswrangler).

Key layout (``<dataset>`` is a canonical table name or a feature table such as
``features_driver``)::

    <dataset>/season=<YYYY>/data.parquet     # season-partitioned datasets
    <dataset>/data.parquet                   # reference tables (drivers, constructors, circuits)

Writes are validated in memory first and then swapped in as whole objects, so a failure
never leaves half a partition; ``replace_races`` replaces exactly the given races of a season.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pitwall.config import pitwall_home
from pitwall.data.schema import TABLES, conform


def partition_key(dataset: str, season: int | None) -> str:
    """The object key of a dataset partition (``season=None`` for unpartitioned datasets)."""
    return f"{dataset}/data.parquet" if season is None else f"{dataset}/season={int(season)}/data.parquet"


def _normalise(dataset: str, df: pd.DataFrame) -> pd.DataFrame:
    if dataset in TABLES:
        df = conform(dataset, df)
        key = [k for k in TABLES[dataset].key if k in df.columns]
        return df.sort_values(key, kind="stable").reset_index(drop=True) if key else df
    return df.reset_index(drop=True)


class Store(Protocol):
    """What the rest of Pitwall needs from storage; both backends implement it."""

    def read(self, dataset: str, seasons: Iterable[int] | None = None) -> pd.DataFrame: ...

    def seasons(self, dataset: str) -> list[int]: ...

    def datasets(self) -> list[str]: ...

    def write_partitions(self, frames: Mapping[tuple[str, int | None], pd.DataFrame]) -> None: ...

    def replace_races(self, season: int, rounds: Iterable[int], tables: Mapping[str, pd.DataFrame]) -> None: ...

    def sql(self, query: str) -> pd.DataFrame: ...


class BaseStore:
    """Shared rules; backends provide ``_read_key``, ``_commit``, ``_list_keys`` and ``sql``."""

    # --- backend primitives -------------------------------------------------------------
    def _read_key(self, key: str) -> pd.DataFrame | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _commit(self, objects: Mapping[str, pd.DataFrame]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _list_keys(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def sql(self, query: str) -> pd.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError

    # --- shared behaviour ---------------------------------------------------------------
    def datasets(self) -> list[str]:
        return sorted({k.split("/", 1)[0] for k in self._list_keys()})

    def seasons(self, dataset: str) -> list[int]:
        out = set()
        for k in self._list_keys():
            parts = k.split("/")
            if parts[0] == dataset and len(parts) == 3 and parts[1].startswith("season="):
                out.add(int(parts[1].removeprefix("season=")))
        return sorted(out)

    def read(self, dataset: str, seasons: Iterable[int] | None = None) -> pd.DataFrame:
        """Read a dataset (all seasons, or only ``seasons``); canonical tables keep their dtypes."""
        spec = TABLES.get(dataset)
        if spec is not None and not spec.race_scoped:
            df = self._read_key(partition_key(dataset, None))
            return _normalise(dataset, df if df is not None else pd.DataFrame())
        available = self.seasons(dataset)
        wanted = available if seasons is None else [s for s in sorted(set(seasons)) if s in available]
        frames = [f for s in wanted if (f := self._read_key(partition_key(dataset, s))) is not None]
        frames = [f for f in frames if len(f)]
        if not frames:
            return _normalise(dataset, pd.DataFrame()) if spec is not None else pd.DataFrame()
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        return _normalise(dataset, df) if spec is not None else df.reset_index(drop=True)

    def write_partitions(self, frames: Mapping[tuple[str, int | None], pd.DataFrame]) -> None:
        """Replace whole partitions ``(dataset, season)`` (``season=None``: unpartitioned) at once."""
        objects = {partition_key(ds, season): _normalise(ds, df) for (ds, season), df in frames.items()}
        self._commit(objects)

    def replace_races(self, season: int, rounds: Iterable[int], tables: Mapping[str, pd.DataFrame]) -> None:
        """Replace exactly the given races of ``season`` in each table; other races stay as they are."""
        rounds = {int(r) for r in rounds}
        objects: dict[str, pd.DataFrame] = {}
        for dataset, new in tables.items():
            new = _normalise(dataset, new)
            bad = set(new["round"].astype(int)) - rounds if len(new) else set()
            if bad or (len(new) and set(new["season"].astype(int)) != {int(season)}):
                raise ValueError(f"{dataset}: rows outside season {season} rounds {sorted(rounds)}")
            key = partition_key(dataset, season)
            old = self._read_key(key)
            if old is not None and len(old):
                keep = old[~old["round"].astype(int).isin(rounds)]
                merged = pd.concat([keep, new], ignore_index=True) if len(new) else keep
            else:
                merged = new
            objects[key] = _normalise(dataset, merged)
        self._commit(objects)


class LocalStore(BaseStore):
    """Parquet files under a root folder (default ``$PITWALL_HOME/lake``), DuckDB for SQL."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else pitwall_home() / "lake"
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / key

    def _read_key(self, key: str) -> pd.DataFrame | None:
        p = self._path(key)
        if not p.exists():
            return None
        return pq.ParquetFile(p).read().to_pandas()

    def _list_keys(self) -> list[str]:
        return sorted(
            str(p.relative_to(self.root)).replace(os.sep, "/")
            for p in self.root.glob("**/data.parquet")
            if not any(part.startswith(".") for part in p.relative_to(self.root).parts)
        )

    def _commit(self, objects: Mapping[str, pd.DataFrame]) -> None:
        """Write every object to a staging folder, then swap them in; roll back on any failure."""
        txid = uuid.uuid4().hex
        staging = self.root / ".staging" / txid
        backup = self.root / ".backup" / txid
        swapped: list[tuple[Path, Path | None]] = []
        try:
            for key, df in objects.items():
                target = staging / key
                target.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(pa.Table.from_pandas(df, preserve_index=False), target)
            for key in objects:
                final = self._path(key)
                final.parent.mkdir(parents=True, exist_ok=True)
                saved = None
                if final.exists():
                    saved = backup / key
                    saved.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(final, saved)
                swapped.append((final, saved))
                os.replace(staging / key, final)
        except BaseException:
            for final, saved in reversed(swapped):
                if saved is not None and saved.exists():
                    os.replace(saved, final)
                elif saved is None and final.exists():
                    final.unlink()
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(backup, ignore_errors=True)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with one view per stored dataset."""
        con = duckdb.connect()
        for ds in self.datasets():
            folder = self.root / ds
            pattern = folder / "data.parquet" if (folder / "data.parquet").exists() else folder / "*" / "data.parquet"
            con.execute(
                f"CREATE VIEW \"{ds}\" AS SELECT * FROM read_parquet('{pattern.as_posix()}', union_by_name=true)"
            )
        return con

    def sql(self, query: str) -> pd.DataFrame:
        con = self.connect()
        try:
            return con.execute(query).df()
        finally:
            con.close()


def get_store() -> Store:
    """The Store for this environment: ``PITWALL_BACKEND=aws`` selects S3/Glue/Athena."""
    if os.environ.get("PITWALL_BACKEND", "local") == "aws":
        from pitwall.data.store_aws import AwsStore

        return AwsStore.from_env()
    return LocalStore()
