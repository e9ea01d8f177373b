"""Driver features: form, track record and career, each from the driver's races before R.

Definitions live in ``pitwall.features.spec`` (group ``"driver"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pitwall.features.history import asof_before, only, rolling_mean, rolling_slope, rolling_sum, sorted_history
from pitwall.features.inputs import FeatureInputs

D = ["driver_key"]


def _starts_history(starts: pd.DataFrame) -> pd.DataFrame:
    h = sorted_history(starts, D)
    g = h.groupby("driver_key", sort=False)
    h["avg_race_position_last_5"] = rolling_mean(h, D, "finish_pos", 5)
    h["points_last_3_races"] = rolling_sum(h, D, "points", 3)
    h["career_wins"] = g["win"].cumsum().astype("float64")
    return h


def _track_history(starts: pd.DataFrame) -> pd.DataFrame:
    by = ["driver_key", "circuit_key"]
    h = sorted_history(starts, by)
    g = h.groupby(by, sort=False)
    n = g.cumcount().astype("float64") + 1.0
    h["track_experience_races"] = n
    h["avg_position_at_track"] = g["finish_pos"].cumsum() / n
    best = h["position"].fillna(np.inf).groupby([h["driver_key"], h["circuit_key"]], sort=False).cummin()
    h["best_finish_at_track"] = best.replace(np.inf, np.nan)
    return h


def _season_history(starts: pd.DataFrame) -> pd.DataFrame:
    by = ["driver_key", "season"]
    h = sorted_history(starts, by)
    g = h.groupby(by, sort=False)
    dnf = (~h["classified"]).astype("float64")
    h["dnf_rate_season"] = dnf.groupby([h["driver_key"], h["season"]], sort=False).cumsum() / (
        g.cumcount().astype("float64") + 1.0
    )
    return h


def _gained_history(starts: pd.DataFrame) -> pd.DataFrame:
    s = starts
    s = s[s["classified"] & s["grid"].notna() & (s["grid"] > 0)]
    h = sorted_history(s, D)
    h["gained"] = h["grid"] - h["position"]
    h["avg_positions_gained"] = rolling_mean(h, D, "gained", 5)
    return h


def _quali_history(q: pd.DataFrame) -> pd.DataFrame:
    h = sorted_history(q[q["quali_position"].notna()], D)
    h["avg_quali_position_last_5"] = rolling_mean(h, D, "quali_position", 5)
    h["quali_trend"] = rolling_slope(h, D, "quali_position", 5)
    return h


def _pace_history(lp: pd.DataFrame) -> pd.DataFrame:
    h = sorted_history(lp[lp["pace_vs_teammate"].notna()], D)
    h["race_pace_vs_teammate"] = rolling_mean(h, D, "pace_vs_teammate", 5)
    return h


def _poles_history(grid: pd.DataFrame) -> pd.DataFrame:
    h = sorted_history(grid, D)
    h["career_poles"] = h.groupby("driver_key", sort=False)["pole"].cumsum().astype("float64")
    return h


def _points_history(points: pd.DataFrame) -> pd.DataFrame:
    h = sorted_history(points, D)
    h["career_points"] = h.groupby("driver_key", sort=False)["points"].cumsum()
    return h


def driver_features(inp: FeatureInputs, rows: pd.DataFrame) -> pd.DataFrame:
    """Driver-group features for ``rows`` (needs ``seq``, ``season``, ``driver_key``, ``circuit_key``).

    Every history is per driver, so only the rows' drivers' histories are computed.
    """
    drivers = rows["driver_key"].unique()
    starts = only(inp.starts, "driver_key", drivers)
    parts = [
        asof_before(
            rows,
            _quali_history(only(inp.quali, "driver_key", drivers)),
            D,
            ["avg_quali_position_last_5", "quali_trend"],
        ),
        asof_before(
            rows, _starts_history(starts), D, ["avg_race_position_last_5", "points_last_3_races", "career_wins"]
        ),
        asof_before(rows, _gained_history(starts), D, ["avg_positions_gained"]),
        asof_before(rows, _season_history(starts), ["driver_key", "season"], ["dnf_rate_season"]),
        asof_before(
            rows,
            _track_history(starts),
            ["driver_key", "circuit_key"],
            ["avg_position_at_track", "best_finish_at_track", "track_experience_races"],
        ),
        asof_before(rows, _pace_history(only(inp.lap_pace, "driver_key", drivers)), D, ["race_pace_vs_teammate"]),
        asof_before(rows, _poles_history(only(inp.grid, "driver_key", drivers)), D, ["career_poles"]),
        asof_before(rows, _points_history(only(inp.weekend_points, "driver_key", drivers)), D, ["career_points"]),
    ]
    out = pd.concat(parts, axis=1).astype("float64")
    for col in ("track_experience_races", "career_wins", "career_poles", "career_points"):
        out[col] = out[col].fillna(0.0)
    return out
