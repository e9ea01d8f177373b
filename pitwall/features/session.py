"""Session features: the race weekend itself (practice, qualifying, grid) and the circuit's record.

What a moment may see of race R itself:

- ``pre_qualifying``: R's practice sessions held before qualifying.
- ``pre_race``: also R's qualifying and starting grid.

Definitions live in ``pitwall.features.spec`` (group ``"session"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pitwall.features.history import asof_before, only, rolling_mean, sorted_history
from pitwall.features.inputs import FeatureInputs

D = ["driver_key"]
CIRCUIT = ["circuit_key"]


def _own(rows: pd.DataFrame, frame: pd.DataFrame, col: str, keys: list[str]) -> pd.Series:
    """``frame[col]`` of the row's own race (joined on ``keys``), aligned to ``rows``."""
    if not len(frame):
        return pd.Series(np.nan, index=rows.index)
    frame = only(frame, "race_id", rows["race_id"].unique())  # a left join: other races never match
    left = rows[keys].astype("string")
    right = frame[[*keys, col]].astype({k: "string" for k in keys}).drop_duplicates(keys)
    merged = left.merge(right, on=keys, how="left")
    return pd.Series(merged[col].to_numpy(), index=rows.index)


def _deg_history(lp: pd.DataFrame) -> pd.DataFrame:
    h = sorted_history(lp[lp["deg_rate"].notna()], D)
    h["tire_deg_rate"] = rolling_mean(h, D, "deg_rate", 3)
    return h


def _strategy_history(cp: pd.DataFrame) -> pd.DataFrame:
    h = sorted_history(cp[cp["median_stops"].notna()], CIRCUIT)
    h["predicted_strategy"] = rolling_mean(h, CIRCUIT, "median_stops", 3)
    return h


def _recent_mean(ls: pd.DataFrame, column: str, feature: str) -> pd.DataFrame:
    """Per (driver, race where ``column`` is known): ``feature``, its mean over his last
    ``SECTOR_WINDOW`` such races (the sector-time and speed-trap features)."""
    from pitwall.features.spec import SECTOR_WINDOW

    h = sorted_history(ls[ls[column].notna()], D)
    h[feature] = rolling_mean(h, D, column, SECTOR_WINDOW)
    return h


def _speed_history(r: pd.DataFrame) -> pd.DataFrame:
    return r[r["speed_index"].notna()].rename(columns={"speed_index": "track_speed_index"})


def _overtaking_history(starts: pd.DataFrame) -> pd.DataFrame:
    """Per race: Spearman correlation of grid slot and finish among classified starters with a
    grid slot, and its rolling mean over the circuit's last ``OVERTAKING_WINDOW`` races."""
    from pitwall.features.spec import OVERTAKING_WINDOW

    s = starts
    s = s[s["classified"] & s["grid"].notna() & (s["grid"] > 0)][["seq", "circuit_key", "grid", "position"]].copy()
    if not len(s):
        empty = pd.Series(dtype="int64")
        return pd.DataFrame({"seq": empty, "circuit_key": empty, "circuit_overtaking_difficulty": []})
    g = s.groupby("seq")
    s["rg"] = g["grid"].rank()
    s["rp"] = g["position"].rank()
    s["rg2"], s["rp2"], s["rgp"] = s["rg"] ** 2, s["rp"] ** 2, s["rg"] * s["rp"]
    t = s.groupby(["seq", "circuit_key"]).agg(
        n=("rg", "size"), sg=("rg", "sum"), sp=("rp", "sum"), sgg=("rg2", "sum"), spp=("rp2", "sum"), sgp=("rgp", "sum")
    )
    t = t[t["n"] >= 5].reset_index()
    cov = t["sgp"] - t["sg"] * t["sp"] / t["n"]
    var = np.sqrt((t["sgg"] - t["sg"] ** 2 / t["n"]) * (t["spp"] - t["sp"] ** 2 / t["n"]))
    t["rho"] = (cov / var.where(var > 0)).astype("float64")
    h = sorted_history(t[t["rho"].notna()], CIRCUIT)
    h["circuit_overtaking_difficulty"] = rolling_mean(h, CIRCUIT, "rho", OVERTAKING_WINDOW)
    return h


def session_features(inp: FeatureInputs, rows: pd.DataFrame) -> pd.DataFrame:
    """Session-group features for ``rows`` as known pre_race (``compute.at_moment`` nulls what
    pre_qualifying cannot see: R's qualifying gap and starting slot)."""
    keys = ["race_id", "driver_id"]
    drivers, circuits = rows["driver_key"].unique(), rows["circuit_key"].unique()  # histories: theirs only
    out = pd.DataFrame(index=rows.index)
    out["quali_gap_to_pole"] = _own(rows, inp.quali, "gap_pct", keys).astype("float64")
    out["fp_pace_ranking"] = _own(rows, inp.practice_pace, "fp_pace_ranking", keys).astype("float64")
    sectors = only(inp.lap_sectors, "driver_key", drivers)  # past races only (asof_before): R's laps are outcomes
    for column, feature in (("ideal_lap_pct", "sector_times"), ("trap_speed_pct", "straight_line_speed")):
        out[feature] = asof_before(rows, _recent_mean(sectors, column, feature), D, [feature])[feature]
    out["avg_corner_speed"] = np.nan  # no source has corner speeds (car telemetry); see the spec
    out["tire_deg_rate"] = asof_before(
        rows, _deg_history(only(inp.lap_pace, "driver_key", drivers)), D, ["tire_deg_rate"]
    )["tire_deg_rate"]
    out["start_position"] = _own(rows, inp.grid, "start_position", keys).astype("float64")
    out["predicted_strategy"] = asof_before(
        rows, _strategy_history(only(inp.circuit_pit, "circuit_key", circuits)), CIRCUIT, ["predicted_strategy"]
    )["predicted_strategy"]
    out["track_speed_index"] = asof_before(
        rows, _speed_history(only(inp.races, "circuit_key", circuits)), CIRCUIT, ["track_speed_index"]
    )["track_speed_index"]
    out["circuit_overtaking_difficulty"] = asof_before(
        rows, _overtaking_history(only(inp.starts, "circuit_key", circuits)), CIRCUIT, ["circuit_overtaking_difficulty"]
    )["circuit_overtaking_difficulty"]
    out = out.astype("float64")
    out["observed_weather"] = _own(rows, inp.race_conditions, "observed_weather", ["race_id"]).astype("string")
    return out
