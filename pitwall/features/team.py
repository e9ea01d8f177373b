"""Team (constructor) features, each from the constructor's races before R.

Definitions live in ``pitwall.features.spec`` (group ``"team"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pitwall.features.history import asof_before, only, rolling_mean, rolling_sum, sorted_history
from pitwall.features.inputs import FeatureInputs
from pitwall.features.spec import group_features

C = ["constructor_key"]


def constructor_points(inp: FeatureInputs) -> pd.DataFrame:
    """Points per (race ``seq``, ``constructor_key``): Grand Prix plus sprint points of all its cars."""
    return inp.constructor_points[["seq", "constructor_key", "points"]]


def _race_team_frame(inp: FeatureInputs, teams: np.ndarray) -> pd.DataFrame:
    """Per (race, circuit, constructor) of ``teams``: starts, technical DNFs, mean finish, points."""
    s = only(inp.starts, "constructor_key", teams)
    s = s[s["constructor_id"].notna()]
    g = s.groupby(["seq", "circuit_key", "constructor_key"])
    t = g.agg(
        n_starts=("driver_key", "size"), n_tech=("technical_dnf", "sum"), mean_finish=("finish_pos", "mean")
    ).reset_index()
    t = t.merge(constructor_points(inp), on=["seq", "constructor_key"], how="left")
    t["points"] = t["points"].fillna(0.0)
    t["n_starts"] = t["n_starts"].astype("float64")
    t["n_tech"] = t["n_tech"].astype("float64")
    return t


def _team_history(frame: pd.DataFrame) -> pd.DataFrame:
    h = sorted_history(frame, C)
    tech = rolling_sum(h, C, "n_tech", 10)
    starts = rolling_sum(h, C, "n_starts", 10)
    h["reliability_rate"] = 1.0 - tech / starts
    last3 = rolling_sum(h, C, "points", 3, min_periods=3)
    last6 = rolling_sum(h, C, "points", 6, min_periods=6)
    h["points_trajectory"] = last3 - (last6 - last3)
    return h


def _team_track_history(frame: pd.DataFrame) -> pd.DataFrame:
    by = ["constructor_key", "circuit_key"]
    h = sorted_history(frame, by)
    h["team_track_performance"] = rolling_mean(h, by, "mean_finish", 3)
    return h


def _quali_team_history(inp: FeatureInputs, teams: np.ndarray) -> pd.DataFrame:
    q = only(inp.quali, "constructor_key", teams)
    q = q[q["gap_pct"].notna() & q["constructor_id"].notna()]
    t = q.groupby(["seq", "constructor_key"])["gap_pct"].min().rename("gap").reset_index()
    kinds = inp.races.set_index("seq")[["is_power", "is_downforce"]]
    t = t.join(kinds, on="seq")
    h = sorted_history(t, C)
    m3 = rolling_mean(h, C, "gap", 3, min_periods=3)
    h["upgrade_effectiveness"] = m3.groupby(h["constructor_key"], sort=False).shift(3) - m3
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


def team_pit_history(inp: FeatureInputs) -> pd.DataFrame:
    """Per (race, constructor) with valid stops: avg_pit_stop_time over its last 5 such races up to it."""
    return inp.memo("team_pit_history", lambda: _pit_history(inp.pit_stops))


def _pit_history(ps: pd.DataFrame) -> pd.DataFrame:
    ps = ps[~ps["outlier"] & ps["constructor_id"].notna()]
    t = ps.groupby(["seq", "constructor_key"])["time_s"].agg(["sum", "count"]).reset_index()
    t["count"] = t["count"].astype("float64")
    h = sorted_history(t, C)
    h["avg_pit_stop_time"] = rolling_sum(h, C, "sum", 5) / rolling_sum(h, C, "count", 5)
    return h


def _standings(inp: FeatureInputs, from_season: int) -> pd.DataFrame:
    """Constructors' standings after every race of the seasons from ``from_season``: one row per
    (race, constructor entered so far that season). Standings restart every season, so those
    seasons' rows are the same as when every season is computed."""
    entered = inp.constructor_entries[["seq", "constructor_key"]]
    entered = entered[(entered["seq"] >= from_season * 100).to_numpy()]
    pts = entered.merge(constructor_points(inp), on=["seq", "constructor_key"], how="left").fillna({"points": 0.0})
    if not len(pts):
        return pd.DataFrame(columns=["seq", "constructor_key", "constructor_position", "src_season"])
    wide = pts.groupby(["seq", "constructor_key"])["points"].sum().unstack("constructor_key")
    season = pd.Series(wide.index // 100, index=wide.index)
    present = wide.notna().astype("int8").groupby(season).cummax().astype(bool)
    cum = wide.fillna(0.0).groupby(season).cumsum().where(present)
    values = cum.rank(axis=1, ascending=False, method="min").to_numpy()
    r, c = np.nonzero(~np.isnan(values))
    seq = wide.index.to_numpy()[r].astype("int64")
    return pd.DataFrame(
        {
            "seq": seq,
            "constructor_key": wide.columns.to_numpy()[c].astype("int64"),
            "constructor_position": values[r, c],
            "src_season": seq // 100,
        }
    )


def _race_pace_history(inp: FeatureInputs, teams: np.ndarray) -> pd.DataFrame:
    """Per (race, constructor) with clean laps: the mean of its cars' median clean-lap times over
    the field's median (%), and its rolling mean over the constructor's last ``RACE_PACE_WINDOW``."""
    from pitwall.features.spec import RACE_PACE_WINDOW

    t = only(inp.team_race_pct, "constructor_key", teams)[["seq", "constructor_key", "pct"]]
    h = sorted_history(t, C)
    h["team_race_pace"] = rolling_mean(h, C, "pct", RACE_PACE_WINDOW)
    return h


def team_features(inp: FeatureInputs, rows: pd.DataFrame) -> pd.DataFrame:
    """Team-group features for ``rows`` (needs ``seq``, ``season``, ``constructor_id``, ``circuit_id``).

    Histories are per constructor (standings per season), so only the rows' constructors'
    histories (and the standings from the season before the rows' first) are computed.
    """
    teams = rows["constructor_key"].unique()
    first = int(rows["season"].min()) - 1 if len(rows) else 0
    stand = asof_before(rows, _standings(inp, first), C, ["constructor_position", "src_season"])
    recent = stand["src_season"] >= rows["season"].astype("int64") - 1
    frame = _race_team_frame(inp, teams)
    parts = [
        stand["constructor_position"].where(recent),
        asof_before(rows, _pit_history(only(inp.pit_stops, "constructor_key", teams)), C, ["avg_pit_stop_time"]),
        asof_before(rows, _team_history(frame), C, ["reliability_rate", "points_trajectory"]),
        asof_before(
            rows,
            _quali_team_history(inp, teams),
            C,
            ["upgrade_effectiveness", "power_track_advantage", "downforce_track_advantage"],
        ),
        asof_before(rows, _team_track_history(frame), ["constructor_key", "circuit_key"], ["team_track_performance"]),
        asof_before(rows, _race_pace_history(inp, teams), C, ["team_race_pace"]),
    ]
    out = pd.concat(parts, axis=1).astype("float64")
    return out[group_features("team")].replace([np.inf, -np.inf], np.nan)
