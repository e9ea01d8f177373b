"""Team (constructor) features, each from the constructor's races before R.

Definitions live in ``pitwall.features.spec`` (group ``"team"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pitwall.features.history import asof_before, rolling_mean, rolling_sum, sorted_history
from pitwall.features.inputs import FeatureInputs

C = ["constructor_id"]


def constructor_points(inp: FeatureInputs) -> pd.DataFrame:
    """Points per (race, constructor): Grand Prix plus sprint points of all its cars."""
    frames = []
    for name in ("results", "sprint_results"):
        t = inp[name]
        t = t[t["constructor_id"].notna()]
        frames.append(t.groupby(["race_id", "constructor_id"], observed=True)["points"].sum().astype("float64"))
    pts = pd.concat(frames, axis=1).fillna(0.0).sum(axis=1).rename("points").reset_index()
    return pts.astype({"race_id": "string", "constructor_id": "string"})


def _race_team_frame(inp: FeatureInputs) -> pd.DataFrame:
    s = inp.starts[inp.starts["constructor_id"].notna()]
    g = s.groupby(["seq", "race_id", "season", "circuit_id", "constructor_id"], observed=True)
    t = g.agg(
        n_starts=("driver_id", "size"), n_tech=("technical_dnf", "sum"), mean_finish=("finish_pos", "mean")
    ).reset_index()
    t = t.merge(constructor_points(inp), on=["race_id", "constructor_id"], how="left")
    t["points"] = t["points"].fillna(0.0)
    t["n_starts"] = t["n_starts"].astype("float64")
    t["n_tech"] = t["n_tech"].astype("float64")
    return t


def _team_history(inp: FeatureInputs) -> pd.DataFrame:
    h = sorted_history(_race_team_frame(inp), C)
    tech = rolling_sum(h, C, "n_tech", 10)
    starts = rolling_sum(h, C, "n_starts", 10)
    h["reliability_rate"] = 1.0 - tech / starts
    last3 = rolling_sum(h, C, "points", 3, min_periods=3)
    last6 = rolling_sum(h, C, "points", 6, min_periods=6)
    h["points_trajectory"] = last3 - (last6 - last3)
    return h


def _team_track_history(inp: FeatureInputs) -> pd.DataFrame:
    by = ["constructor_id", "circuit_id"]
    h = sorted_history(_race_team_frame(inp), by)
    h["team_track_performance"] = rolling_mean(h, by, "mean_finish", 3)
    return h


def _quali_team_history(inp: FeatureInputs) -> pd.DataFrame:
    q = inp.quali
    q = q[q["gap_pct"].notna() & q["constructor_id"].notna()]
    t = q.groupby(["seq", "race_id", "constructor_id"], observed=True)["gap_pct"].min().rename("gap").reset_index()
    kinds = inp.races.set_index("race_id")[["is_power", "is_downforce"]]
    t = t.join(kinds, on="race_id")
    h = sorted_history(t, C)
    m3 = rolling_mean(h, C, "gap", 3, min_periods=3)
    h["upgrade_effectiveness"] = m3.groupby(h["constructor_id"], sort=False).shift(3) - m3
    h["one"] = 1.0
    n_all = rolling_sum(h, C, "one", 20)
    mean_all = rolling_sum(h, C, "gap", 20) / n_all
    for kind, name in (("is_power", "power_track_advantage"), ("is_downforce", "downforce_track_advantage")):
        flag = h[kind].fillna(False).astype(bool)
        h["_g"] = h["gap"].where(flag, 0.0)
        h["_n"] = flag.astype("float64")
        n_kind = rolling_sum(h, C, "_n", 20)
        mean_kind = rolling_sum(h, C, "_g", 20) / n_kind.where(n_kind > 0)
        h[name] = mean_all - mean_kind
    return h


def _pit_history(inp: FeatureInputs) -> pd.DataFrame:
    ps = inp.pit_stops
    ps = ps[~ps["outlier"] & ps["constructor_id"].notna()]
    t = ps.groupby(["seq", "constructor_id"], observed=True)["time_s"].agg(["sum", "count"]).reset_index()
    t["count"] = t["count"].astype("float64")
    h = sorted_history(t, C)
    h["avg_pit_stop_time"] = rolling_sum(h, C, "sum", 5) / rolling_sum(h, C, "count", 5)
    return h


def _standings(inp: FeatureInputs) -> pd.DataFrame:
    """Constructors' standings after every race: one row per (race, constructor entered so far that season)."""
    pts = constructor_points(inp)
    res = inp["results"]
    entered = res[res["constructor_id"].notna()][["race_id", "constructor_id"]].drop_duplicates()
    entered = entered.astype({"race_id": "string", "constructor_id": "string"})
    pts = entered.merge(pts, on=["race_id", "constructor_id"], how="left").fillna({"points": 0.0})
    pts = pts.merge(inp.races[["race_id", "seq", "season"]], on="race_id", how="inner")
    if not len(pts):
        return pd.DataFrame(columns=["seq", "constructor_id", "constructor_position", "src_season"])
    wide = pts.groupby(["seq", "constructor_id"], observed=True)["points"].sum().unstack("constructor_id")
    season = pd.Series(wide.index // 100, index=wide.index)
    present = wide.notna().astype("int8").groupby(season).cummax().astype(bool)
    cum = wide.fillna(0.0).groupby(season).cumsum().where(present)
    values = cum.rank(axis=1, ascending=False, method="min").to_numpy()
    r, c = np.nonzero(~np.isnan(values))
    seq = wide.index.to_numpy()[r].astype("int64")
    return pd.DataFrame(
        {
            "seq": seq,
            "constructor_id": pd.array(wide.columns.to_numpy()[c], dtype="string"),
            "constructor_position": values[r, c],
            "src_season": seq // 100,
        }
    )


def team_features(inp: FeatureInputs, rows: pd.DataFrame) -> pd.DataFrame:
    """Team-group features for ``rows`` (needs ``seq``, ``season``, ``constructor_id``, ``circuit_id``)."""
    stand = asof_before(rows, _standings(inp), C, ["constructor_position", "src_season"])
    recent = stand["src_season"] >= rows["season"].astype("int64") - 1
    parts = [
        stand["constructor_position"].where(recent),
        asof_before(rows, _pit_history(inp), C, ["avg_pit_stop_time"]),
        asof_before(rows, _team_history(inp), C, ["reliability_rate", "points_trajectory"]),
        asof_before(
            rows,
            _quali_team_history(inp),
            C,
            ["upgrade_effectiveness", "power_track_advantage", "downforce_track_advantage"],
        ),
        asof_before(rows, _team_track_history(inp), ["constructor_id", "circuit_id"], ["team_track_performance"]),
    ]
    out = pd.concat(parts, axis=1).astype("float64")
    cols = [
        "constructor_position",
        "avg_pit_stop_time",
        "reliability_rate",
        "points_trajectory",
        "upgrade_effectiveness",
        "team_track_performance",
        "power_track_advantage",
        "downforce_track_advantage",
    ]
    return out[cols].replace([np.inf, -np.inf], np.nan)
