"""The Store on a laptop: parquet files under a folder (default ``$PITWALL_HOME/lake``), DuckDB for SQL.

Keys are relative paths laid out as :mod:`pitwall.data.store.base` says. A commit writes every
object to ``.staging/<txid>/`` (fsynced), records its intent in ``.journal/<txid>.json`` (fsynced:
the keys and whether each existed), and then swaps them in with ``os.replace`` (replaced files are
kept under ``.backup/<txid>/`` until the swap is done), rolling back on any failure. A process
killed mid-swap leaves its journal behind: the next :class:`LocalStore` on that folder rolls the
commit back (every replaced file restored, every new one removed), so a commit is all or nothing
even across SIGKILL, and leftover staging/backup folders are removed.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pitwall.config import pitwall_home
from pitwall.data.store.base import DATA_FILE, BaseStore, parse_key, partition_glob, partition_key

if TYPE_CHECKING:
    import duckdb


class LocalStore(BaseStore):
    """Parquet files under a root folder (default ``$PITWALL_HOME/lake``), DuckDB for SQL."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else pitwall_home() / "lake"
        self.root.mkdir(parents=True, exist_ok=True)
        self.recover()

    # --- crash safety -------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Roll back every commit a killed process left half-done; remove leftover temp folders.

        Returns the transaction ids rolled back. Safe to run at any time no commit of this folder
        is in flight in another process (ingests hold the store's lock while they commit).
        """
        journal_dir = self.root / ".journal"
        rolled: list[str] = []
        if journal_dir.is_dir():
            for journal in sorted(journal_dir.glob("*.json")):
                try:
                    intent = json.loads(journal.read_text(encoding="utf-8"))
                except ValueError:
                    intent = None  # written by write-new + rename: a torn journal is never the live one
                if isinstance(intent, dict) and intent.get("txid") in _IN_FLIGHT:
                    continue
                if isinstance(intent, dict) and not _pid_alive(int(intent.get("pid", 0))):
                    self._roll_back(intent["txid"], intent["keys"])
                    rolled.append(intent["txid"])
                    journal.unlink(missing_ok=True)
                elif intent is None:
                    journal.unlink(missing_ok=True)
        live = {j.stem for j in journal_dir.glob("*.json")} if journal_dir.is_dir() else set()
        for area in (".staging", ".backup"):
            folder = self.root / area
            if folder.is_dir():
                for tx in folder.iterdir():
                    if tx.name not in live and not _tx_in_flight(tx):
                        shutil.rmtree(tx, ignore_errors=True)
        return rolled

    def _roll_back(self, txid: str, keys: dict[str, bool]) -> None:
        backup = self.root / ".backup" / txid
        for key, existed in keys.items():
            final, saved = self._path(key), backup / key
            if existed:
                if saved.exists():
                    os.replace(saved, final)  # the old object back (whether or not the new one landed)
            elif final.exists():
                final.unlink()
        _fsync_tree_dirs(self.root, keys)
        shutil.rmtree(self.root / ".staging" / txid, ignore_errors=True)
        shutil.rmtree(backup, ignore_errors=True)

    def _path(self, key: str) -> Path:
        return self.root / key

    def _read_table(self, key: str) -> pa.Table | None:
        try:
            return pq.ParquetFile(self._path(key)).read()
        except FileNotFoundError:
            return None

    def _read_columns(self, key: str, columns: list[str]) -> pa.Table | None:
        """Only the column chunks of ``columns`` (and the footer: no column at all is the row count)."""
        try:
            file = pq.ParquetFile(self._path(key))
        except FileNotFoundError:
            return None
        names = set(file.schema_arrow.names)
        return file.read(columns=[c for c in columns if c in names])

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
        txid = f"{uuid.uuid4().hex}-{os.getpid()}"
        staging = self.root / ".staging" / txid
        backup = self.root / ".backup" / txid
        journal = self.root / ".journal" / f"{txid}.json"
        swapped: list[tuple[Path, Path | None]] = []
        _IN_FLIGHT.add(txid)
        try:
            for key in objects:
                (staging / key).parent.mkdir(parents=True, exist_ok=True)
            _in_parallel([functools.partial(_write_durably, staging / key, df) for key, df in objects.items()])
            journal.parent.mkdir(parents=True, exist_ok=True)
            intent = {"txid": txid, "pid": os.getpid(), "keys": {k: self._path(k).exists() for k in objects}}
            tmp = journal.with_suffix(".tmp")
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(intent, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, journal)
            _fsync_dir(journal.parent)
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
            _fsync_tree_dirs(self.root, objects)
            journal.unlink()  # the commit point: from here on the new objects are the store
            _fsync_dir(journal.parent)
        except BaseException:
            for final, saved in reversed(swapped):
                if saved is not None and saved.exists():
                    os.replace(saved, final)
                elif saved is None and final.exists():
                    final.unlink()
            journal.unlink(missing_ok=True)
            raise
        finally:
            _IN_FLIGHT.discard(txid)
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(backup, ignore_errors=True)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with one view per stored dataset."""
        import duckdb  # imported when SQL is asked for: ingest and feature refresh never need it

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


_IN_FLIGHT: set[str] = set()
"""Transaction ids this process is committing now (their journals are live, not leftovers)."""


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree_dirs(root: Path, keys: Mapping[str, object]) -> None:
    """fsync the folders holding ``keys`` so the renames in them are durable."""
    folders = sorted({(root / k).parent for k in keys})
    _in_parallel([functools.partial(_fsync_dir, f) for f in folders if f.is_dir()])


def _write_durably(target: Path, df: pd.DataFrame) -> None:
    """One parquet object, written and fsynced (before any rename makes it part of the store)."""
    with open(target, "wb") as fh:
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), fh)
        fh.flush()
        os.fsync(fh.fileno())


_IO_THREADS = 4
_io_pool: ThreadPoolExecutor | None = None
_io_pool_guard = threading.Lock()


def _in_parallel(calls: list[Callable[[], None]]) -> None:
    """Run ``calls`` on a few I/O threads (parquet encoding and fsync release the GIL; concurrent fsyncs
    share the file system's journal commits); the first failure is raised once every call has ended."""
    global _io_pool
    if len(calls) <= 1:
        for call in calls:
            call()
        return
    with _io_pool_guard:
        if _io_pool is None:
            _io_pool = ThreadPoolExecutor(max_workers=_IO_THREADS, thread_name_prefix="pitwall-store-io")
        pool = _io_pool
    futures = [pool.submit(call) for call in calls]
    errors = [exc for f in futures if (exc := f.exception()) is not None]
    if errors:
        raise errors[0]


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return False  # not in _IN_FLIGHT: a previous process that had this pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tx_in_flight(tx: Path) -> bool:
    """A staging/backup folder of a commit still running in a live process (its txid ends in the pid)."""
    _, _, pid = tx.name.rpartition("-")
    if tx.name in _IN_FLIGHT:
        return True
    return pid.isdigit() and _pid_alive(int(pid))
