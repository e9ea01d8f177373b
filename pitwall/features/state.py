"""The feature state in the lake: what an incremental refresh carries forward instead of the history.

Every feature of race R is computed from the per-race derived frames of the races up to R
(``pitwall.features.inputs.STATE_FRAMES``: starts, qualifying and grid rows, weekend points,
pit stops, practice pace, lap pace, race conditions, constructor points and entries, team race
pace, the races' lap speeds): one compact row per (race, driver) or (race, constructor) or
race, a few MB for 1950-2024 instead of the raw tables (the FastF1 laps alone are 150k rows).
Career, season and circuit accumulators (wins, poles, points, DNF rates, circuit histories,
standings, rolling forms) are recomputed from these rows, so they equal a full build row for row.

A *snapshot* with cut season ``C`` holds those frames for every race of the seasons before ``C``
(the end state of season ``C - 1``), in one small object: one row per frame (``frame``, ``rows``,
``features_version`` and ``data``, the frame as an Arrow IPC stream, dtypes included)::

    features_state/season=<C>/data.parquet

A refresh from race R0 of season S0 reads the newest snapshot with ``C <= S0`` plus the raw
tables of seasons ``C..`` (one season when a race of the current season arrives), derives only
those seasons' frames, and rewrites the snapshots a change before their cut made stale.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from pitwall.data.store import Store
from pitwall.features.inputs import STATE_FRAMES, FeatureInputs, read_dataset

STATE_META = "features_state"
STATE_DATASETS: tuple[str, ...] = (STATE_META,)


def _season_of(df: pd.DataFrame) -> pd.Series:
    if "season" in df.columns:
        return df["season"].astype("int64")
    if "seq" in df.columns:
        return df["seq"].astype("int64") // 100
    return df["race_id"].astype(str).str.slice(0, 4).astype("int64")


def _encode(df: pd.DataFrame) -> bytes:
    table = pa.Table.from_pandas(df, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _decode(data: bytes) -> pd.DataFrame:
    return pa.ipc.open_stream(data).read_all().to_pandas()


def snapshot_objects(inp: FeatureInputs, cut: int, version: str) -> dict[tuple[str, int | None], pd.DataFrame]:
    """The partition of the snapshot with cut season ``cut``: the state frames of ``inp``'s races before it."""
    rows = []
    for name, frame in inp.state_frames().items():
        part = frame[(_season_of(frame) < cut).to_numpy()].reset_index(drop=True) if len(frame) else frame
        rows.append({"frame": name, "rows": len(part), "features_version": version, "data": _encode(part)})
    return {(STATE_META, cut): pd.DataFrame(rows)}


def snapshot_cuts(store: Store) -> list[int]:
    """Cut seasons of the stored snapshots."""
    return store.seasons(STATE_META)


def read_snapshot(store: Store, cut: int, version: str) -> dict[str, pd.DataFrame] | None:
    """The state frames of snapshot ``cut``; None when it is missing, partial or of another version."""
    meta = read_dataset(store, STATE_META, [cut])
    if not len(meta) or "data" not in meta.columns or set(meta["frame"].astype(str)) != set(STATE_FRAMES):
        return None
    if (meta["features_version"].astype(str) != version).any():
        return None
    frames = {str(f): _decode(d) for f, d in zip(meta["frame"], meta["data"], strict=True)}
    rows = dict(zip(meta["frame"].astype(str), meta["rows"].astype(int), strict=True))
    if any(len(frames[name]) != rows[name] for name in STATE_FRAMES):
        return None
    return frames
