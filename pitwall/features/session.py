"""Session features: the race weekend itself (practice, qualifying, grid) and the circuit's record.

What a moment may see of race R itself:

- ``pre_qualifying``: R's practice sessions held before qualifying.
- ``pre_race``: also R's qualifying and starting grid.

Definitions live in ``pitwall.features.spec`` (group ``"session"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pitwall.features.history import asof_before, rolling_mean, sorted_history
from pitwall.features.inputs import FeatureInputs

D = ["driver_key"]
CIRCUIT = ["circuit_key"]


def _own(rows: pd.DataFrame, frame: pd.DataFrame, col: str, keys: list[str]) -> pd.Series:
    """``frame[col]`` of the row's own race (joined on ``keys``), aligned to ``rows``."""
    if not len(frame):
        return pd.Series(np.nan, index=rows.index)
    left = rows[keys].astype("string")
    right = frame[[*keys, col]].astype({k: "string" for k in keys}).drop_duplicates(keys)
    merged = left.merge(right, on=keys, how="left")
    return pd.Series(merged[col].to_numpy(), index=rows.index)


def _deg_history(inp: FeatureInputs) -> pd.DataFrame:
    lp = inp.lap_pace
    h = sorted_history(lp[lp["deg_rate"].notna()], D)
    h["tire_deg_rate"] = rolling_mean(h, D, "deg_rate", 3)
    return h


def _strategy_history(inp: FeatureInputs) -> pd.DataFrame:
    cp = inp.circuit_pit
    h = sorted_history(cp[cp["median_stops"].notna()], CIRCUIT)
    h["predicted_strategy"] = rolling_mean(h, CIRCUIT, "median_stops", 3)
    return h


def _speed_history(inp: FeatureInputs) -> pd.DataFrame:
    r = inp.races
    return r[r["speed_index"].notna()].rename(columns={"speed_index": "track_speed_index"})


def session_features(inp: FeatureInputs, rows: pd.DataFrame) -> pd.DataFrame:
    """Session-group features for ``rows`` as known pre_race (``compute.at_moment`` nulls what
    pre_qualifying cannot see: R's qualifying gap and starting slot)."""
    keys = ["race_id", "driver_id"]
    out = pd.DataFrame(index=rows.index)
    out["quali_gap_to_pole"] = _own(rows, inp.quali, "gap_pct", keys).astype("float64")
    out["fp_pace_ranking"] = _own(rows, inp.practice_pace, "fp_pace_ranking", keys).astype("float64")
    out["sector_times"] = np.nan
    out["avg_corner_speed"] = np.nan
    out["straight_line_speed"] = np.nan
    out["tire_deg_rate"] = asof_before(rows, _deg_history(inp), D, ["tire_deg_rate"])["tire_deg_rate"]
    out["start_position"] = _own(rows, inp.grid, "start_position", keys).astype("float64")
    out["predicted_strategy"] = asof_before(rows, _strategy_history(inp), CIRCUIT, ["predicted_strategy"])[
        "predicted_strategy"
    ]
    out["track_speed_index"] = asof_before(rows, _speed_history(inp), CIRCUIT, ["track_speed_index"])[
        "track_speed_index"
    ]
    out = out.astype("float64")
    out["weather_condition"] = _own(rows, inp.race_conditions, "weather_condition", ["race_id"]).astype("string")
    return out
