"""The template-frame cache: a built-in template's frame from the local lake, kept as parquet.

Building a template's frame (``TemplateSpec.frame`` plus auto-features) reads every input table
and computes the features: 2-4 s for race_winner's eleven seasons. Training, backtests, reports and
serving ask for the same frames again and again while the lake does not change, so
:func:`cached_frame` keeps each frame in ``$PITWALL_HOME/cache/frames/`` (never in the lake, which
may be read-only) under a key of everything it depends on:

- the template's name and the requested seasons and auto-features, and the lake's folder;
- the version token of every object in the lake (``Store.versions``: inode, size and mtime of each
  parquet file; every write replaces the file, so any ingest or feature build changes the key);
- the Pitwall source files (path, size and mtime of each ``.py``) and the numpy, pandas and
  pyarrow versions, so changed code never reads an old frame.

Only the registered built-in templates on a plain FeatureStore over a
:class:`~pitwall.data.store.LocalStore` are cached; a FeatureStore given its own inputs (serving's
cut lakes), a custom or modified template spec, or another store never is. A frame
that cannot be read back is rebuilt; a cache that cannot be written is skipped (the frame is still
returned). ``PITWALL_FRAME_CACHE=0`` turns the cache off. The :data:`KEEP` frames used last are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from pitwall.features import FeatureStore
    from pitwall.templates.spec import TemplateSpec

CACHE_DIR = ("cache", "frames")
"""The cache folder, under the Pitwall home."""
KEEP = 24
"""Frames kept (the ones used last)."""
ENV_SWITCH = "PITWALL_FRAME_CACHE"


def enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


@cache
def code_fingerprint() -> str:
    """Path, size and mtime of every Pitwall source file, plus the versions of the frame's libraries."""
    import numpy
    import pyarrow

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        st = path.stat()
        h.update(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    h.update(f"numpy {numpy.__version__} pandas {pd.__version__} pyarrow {pyarrow.__version__}".encode())
    return h.hexdigest()


def cache_dir() -> Path:
    from pitwall.config import pitwall_home

    return pitwall_home().joinpath(*CACHE_DIR)


def _cache_root(fs: FeatureStore) -> Path | None:
    """The cache folder, for a plain FeatureStore reading a LocalStore's own tables (else None)."""
    from pitwall.data.store.local import LocalStore
    from pitwall.features import FeatureStore

    if type(fs) is not FeatureStore or fs._given is not None or not isinstance(fs.store, LocalStore):
        return None
    try:
        return cache_dir()
    except OSError:  # no writable home: no cache
        return None


def _built_in(spec: TemplateSpec) -> bool:
    """Whether ``spec`` is the registered built-in template of its name (its code is Pitwall's)."""
    from pitwall.templates import TEMPLATES

    return TEMPLATES.get(spec.name) is spec


def frame_key(spec: TemplateSpec, fs: FeatureStore, seasons: Sequence[int], auto: dict[str, Any] | None) -> str:
    """The cache key of one frame (see the module doc)."""
    store = fs.store
    lake = {name: store.versions(name) for name in store.datasets()}
    payload = json.dumps(
        {
            "template": spec.name,
            "seasons": sorted({int(s) for s in seasons}),
            "auto": auto,
            "root": str(Path(store.root).resolve()),
            "lake": lake,
            "code": code_fingerprint(),
        },
        sort_keys=True,
    )
    return f"{spec.name}-{hashlib.sha256(payload.encode()).hexdigest()[:32]}"


def cached_frame(
    spec: TemplateSpec,
    fs: FeatureStore,
    seasons: Sequence[int],
    auto: dict[str, Any] | None,
    build: Callable[[], pd.DataFrame],
) -> pd.DataFrame:
    """``build()``, or the frame it built last time for the same template, seasons, auto-features,
    lake and code."""
    root = _cache_root(fs) if enabled() and _built_in(spec) else None
    if root is None:
        return build()
    path = root / f"{frame_key(spec, fs, seasons, auto)}.parquet"
    if path.is_file():
        try:
            frame = pd.read_parquet(path)
            os.utime(path)  # the newest by use are kept
            return frame
        except (OSError, ValueError):  # a torn or foreign file: rebuild it
            path.unlink(missing_ok=True)
    frame = build()
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:  # written without it
        _write(root, path, frame)
    return frame


def _write(root: Path, path: Path, frame: pd.DataFrame) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=root, prefix=".tmp-", suffix=".parquet")
        os.close(fd)
        try:
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        kept = sorted(root.glob("*.parquet"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in kept[KEEP:]:
            old.unlink(missing_ok=True)
    except (OSError, ValueError, TypeError, ImportError):  # a read-only lake or an unwritable frame
        return


def clear() -> int:
    """Remove every cached frame; returns how many."""
    root = cache_dir()
    if not root.is_dir():
        return 0
    files = list(root.glob("*.parquet"))
    for f in files:
        f.unlink(missing_ok=True)
    return len(files)
