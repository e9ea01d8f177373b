"""What an ingest keeps beside the store it writes: the exclusive lock, the content manifest, the run record.

- **Lock** (:func:`ingest_lock`): one ingest at a time per store (``flock`` on ``<state>/lock``); a
  second one refuses with :class:`IngestLockedError` naming the holder's pid.
- **Manifest** (:class:`Manifest`): per source race folder (or lap file) a fingerprint of its files
  (name, size, mtime in ns) and the store's version token of the season it was committed into, so
  an unchanged source is skipped and a changed one re-ingests only its races.
- **Run record** (:func:`start_run` / :func:`finish_run` / :func:`incomplete_runs`): a run that
  started but never finished (killed, crashed) is reported by ``pitwall data status``; running the
  same ingest again resumes it (the manifest skips what was committed).

The state folder is ``<lake>/.ingest`` for a local store (it travels with the lake it describes)
and ``$PITWALL_HOME/ingest/<bucket>-<prefix>`` for an S3 store. Standard library only.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pitwall.config import pitwall_home

MANIFEST_VERSION = 1


class IngestLockedError(RuntimeError):
    """Another ingest holds this store's lock."""


def state_dir(store: object) -> Path:
    root = getattr(store, "root", None)
    if isinstance(root, str | Path):
        folder = Path(root) / ".ingest"
    else:  # a remote store: one folder per bucket and prefix under the Pitwall home
        where = "-".join(str(getattr(store, a, "") or "") for a in ("bucket", "prefix")).strip("-") or "default"
        folder = pitwall_home() / "ingest" / "".join(c if c.isalnum() or c in "-_." else "_" for c in where)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_json_atomic(path: Path, data: Any) -> None:
    """Write-new, fsync, rename: a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    text = json.dumps(data, sort_keys=True)  # one C-encoded string (json.dump to a file encodes in Python)
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


# --- the lock ------------------------------------------------------------------------------
_held: dict[str, int] = {}  # lock path -> depth (re-entrant within one process)
_held_guard = threading.Lock()


@contextlib.contextmanager
def ingest_lock(store: object) -> Iterator[None]:
    """Hold the store's exclusive ingest lock (re-entrant in-process); refuse when another process has it."""
    path = state_dir(store) / "lock"
    key = str(path)
    with _held_guard:
        if key in _held:
            _held[key] += 1
            fd = None
        else:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise IngestLockedError(
                    f"another ingest (pid {holder}) is writing this store ({path.parent.parent}); "
                    "wait for it to finish and run this one again"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            _held[key] = 1
    try:
        yield
    finally:
        with _held_guard:
            _held[key] -= 1
            if _held[key] == 0:
                del _held[key]
                if fd is not None:
                    os.close(fd)  # closing the descriptor releases the flock


# --- fingerprints and the manifest -----------------------------------------------------------
def fingerprint(paths: Iterable[Path]) -> str:
    """A digest of (name, size, mtime_ns) of each file in ``paths`` (folders: their direct files).

    Each path counts by its name, not by how it was spelled: the same source given as a relative
    or an absolute path, or moved to another folder with its files' times kept, is unchanged."""
    h = hashlib.blake2b(digest_size=16)
    for p in sorted(paths):
        entries: list[tuple[str, int, int]] = []
        try:
            if p.is_dir():
                with os.scandir(p) as it:
                    for e in it:
                        if e.is_file():
                            st = e.stat()
                            entries.append((e.name, st.st_size, st.st_mtime_ns))
            else:
                st = p.stat()
                entries.append((p.name, st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            entries.append((p.name, -1, -1))
        h.update(repr((p.name, sorted(entries))).encode())
    return h.hexdigest()


class Manifest:
    """Fingerprints of ingested source units, per source (``f1db``, ``laps-csv``), saved atomically."""

    def __init__(self, store: object):
        self.path = state_dir(store) / "manifest.json"
        data = _read_json(self.path)
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            data = {"version": MANIFEST_VERSION, "sources": {}}
        self.data: dict[str, Any] = data

    def units(self, source: str) -> dict[str, dict[str, Any]]:
        return self.data["sources"].setdefault(source, {})

    def get(self, source: str, unit: str) -> dict[str, Any] | None:
        return self.units(source).get(unit)

    def put(self, source: str, unit: str, **entry: Any) -> None:
        self.units(source)[unit] = entry

    def drop(self, source: str, unit: str) -> None:
        self.units(source).pop(unit, None)

    def save(self) -> None:
        write_json_atomic(self.path, self.data)


# --- the run record ------------------------------------------------------------------------
def _runs_path(store: object) -> Path:
    return state_dir(store) / "runs.json"


def start_run(store: object, source: str, seasons: list[int]) -> None:
    runs = _read_json(_runs_path(store)) or {}
    runs[source] = {"pid": os.getpid(), "started": time.time(), "seasons": seasons, "done": [], "status": "running"}
    write_json_atomic(_runs_path(store), runs)


def season_done(store: object, source: str, season: int) -> None:
    runs = _read_json(_runs_path(store)) or {}
    run = runs.get(source)
    if run is not None and int(season) not in run["done"]:
        run["done"].append(int(season))
        write_json_atomic(_runs_path(store), runs)


def finish_run(store: object, source: str) -> None:
    runs = _read_json(_runs_path(store)) or {}
    if source in runs:
        runs[source]["status"] = "complete"
        write_json_atomic(_runs_path(store), runs)


def incomplete_runs(store: object) -> list[str]:
    """One line per ingest run that started and never finished (and is not running now)."""
    runs = _read_json(_runs_path(store)) or {}
    if not any(run.get("status") == "running" for run in runs.values()) or _ingest_running(store):
        return []
    out = []
    for source, run in sorted(runs.items()):
        if run.get("status") != "running":
            continue
        missing = sorted(set(run.get("seasons", [])) - set(run.get("done", [])))
        span = season_span(missing)
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(run["started"]))
        out.append(
            f"incomplete history: the {source} ingest started {started} "
            f"did not finish; seasons not committed: {span}. Run the same ingest again to resume."
        )
    return out


def season_span(seasons: list[int]) -> str:
    """Sorted seasons as ranges: ``[1950, 1994, 1995]`` -> ``1950, 1994-1995`` (``none`` when empty)."""
    if not seasons:
        return "none"
    parts, start, prev = [], seasons[0], seasons[0]
    for s in [*seasons[1:], None]:
        if s is not None and s == prev + 1:
            prev = s
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if s is not None:
            start = prev = s
    return ", ".join(parts)


def _ingest_running(store: object) -> bool:
    """Whether an ingest (this process or another) holds the store's lock now."""
    path = state_dir(store) / "lock"
    if str(path) in _held:
        return True
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
