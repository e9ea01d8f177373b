"""The Store on a laptop: parquet files under a folder (default ``$PITWALL_HOME/lake``), DuckDB for SQL.

Keys are relative paths laid out as :mod:`pitwall.data.store.base` says. A commit writes every
object to ``.staging/<txid>/`` and then swaps them in with ``os.replace`` (replaced files are kept
under ``.backup/<txid>/`` until the swap is done), rolling back on any failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pitwall.config import pitwall_home
from pitwall.data.store.base import DATA_FILE, BaseStore, parse_key, partition_glob, partition_key


class LocalStore(BaseStore):
    """Parquet files under a root folder (default ``$PITWALL_HOME/lake``), DuckDB for SQL."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else pitwall_home() / "lake"
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / key

    def _read_table(self, key: str) -> pa.Table | None:
        try:
            return pq.ParquetFile(self._path(key)).read()
        except FileNotFoundError:
            return None

    def _list_objects(self, prefix: str = "") -> dict[str, str]:
        """Key -> ``<inode>:<size>:<mtime_ns>`` (every write replaces the whole file).

        Walks only the two folder levels the layout has (``<dataset>/`` and its partition folders),
        and only the dataset folder a ``<dataset>/...`` prefix names.
        """
        head, slash, _ = prefix.partition("/")
        try:
            datasets = [head] if slash else [e.name for e in os.scandir(self.root) if e.name.startswith(head)]
        except FileNotFoundError:
            return {}
        out = {}
        for dataset in datasets:
            try:
                entries = list(os.scandir(self.root / dataset))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                if entry.name == DATA_FILE:
                    key, path = f"{dataset}/{DATA_FILE}", entry.path
                else:
                    key, path = f"{dataset}/{entry.name}/{DATA_FILE}", os.path.join(entry.path, DATA_FILE)
                if not key.startswith(prefix) or parse_key(key) is None:
                    continue
                try:
                    st = os.stat(path)
                except (FileNotFoundError, NotADirectoryError):
                    continue
                out[key] = f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
        return out

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
            reference = self._path(partition_key(ds))
            pattern = reference if reference.exists() else self.root / partition_glob(ds)
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
