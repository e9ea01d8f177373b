"""Frame builders of the regression and classification templates (laps, stops, stints, races).

Lap-level rows predict a lap from the state at the end of the previous lap plus the lap's
planned pit in/out and its track status (strategy-simulation inputs). Stint rows predict the
degradation of a stint from what is known when it starts. Race rows predict race outcomes
from circuit history. Every prior-based column uses earlier races only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pitwall.features import FeatureStore
from pitwall.features.spec import FUEL_EFFECT_S_PER_LAP, STINT_MIN_CLEAN_LAPS
from pitwall.templates.frames import (
    CIRCUIT_TYPE_CODES,
    COMPOUND_CODES,
    driver_race,
    encode,
    prior_majority,
    prior_mean,
)

MAX_LAP_TIME_S = 240.0  # laps slower than this (red-flag suspensions in the timing) are not modelled
PIT_WINDOW_LABELS = ("early", "mid", "late")
RAIN_IMPACT = {"dry": "low", "mixed": "medium", "wet": "high"}

LAP_STATE = (
    "prev_lap_time_s",
    "tyre_life",
    "compound_code",
    "fresh_tyre",
    "stint",
    "lap_number",
    "laps_remaining",
    "fuel_load_proxy",
    "is_pit_in_lap",
    "is_pit_out_lap",
    "status_yellow",
    "status_sc",
    "status_vsc",
    "status_vsc_ending",
    "pit_lane_loss_s",
)


def _as_float(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    for c in cols:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    return df


def _laps(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    if not seasons:
        raise ValueError("seasons: lap-level templates need seasons from 2018 (FastF1 lap data)")
    lf = fs.lap_features(list(seasons)).copy()
    lf["compound_code"] = encode(lf["compound"], COMPOUND_CODES)
    for c in ("fresh_tyre", "is_pit_in_lap", "is_pit_out_lap", "status_yellow", "status_sc", "status_vsc"):
        lf[c] = lf[c].astype("boolean").astype("float64")
    lf["status_vsc_ending"] = lf["status_vsc_ending"].astype("boolean").astype("float64")
    return lf


def lap_time_frame(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    """Laps with a time and a previous lap, no red flag; baseline = the previous lap's time."""
    lf = _laps(fs, seasons)
    keep = (
        lf["lap_time_s"].notna()
        & lf["prev_lap_time_s"].notna()
        & ~lf["status_red"].astype("boolean").fillna(False).astype(bool)
        & (lf["lap_time_s"] < MAX_LAP_TIME_S)
        & (lf["prev_lap_time_s"] < MAX_LAP_TIME_S)
    )
    df = _as_float(lf[keep.to_numpy()].reset_index(drop=True), ["lap_time_s", *LAP_STATE])
    df["baseline_previous_lap"] = df["prev_lap_time_s"]
    return df


GAP_FEATURES = (*LAP_STATE, "prev_gap_to_leader_s", "prev_interval_s")


def gap_frame(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    """Laps with a gap to the leader now and one lap earlier; baseline = the previous lap's gap."""
    lf = _laps(fs, seasons)
    keep = (
        lf["gap_to_leader_s"].notna()
        & lf["prev_gap_to_leader_s"].notna()
        & lf["prev_lap_time_s"].notna()
        & ~lf["status_red"].astype("boolean").fillna(False).astype(bool)
    )
    df = _as_float(lf[keep.to_numpy()].reset_index(drop=True), ["gap_to_leader_s", *GAP_FEATURES])
    df["baseline_previous_gap"] = df["prev_gap_to_leader_s"]
    return df


# Relative inputs only: absolute circuit-level values (pit-lane loss, the driver's own prior
# degradation) identify circuits and eras, and trees then learn corrections that do not carry
# over to a new season (measured: MAE 0.091 with them vs 0.084 without on the 2024 backtest).
STINT_FEATURES = (
    "compound_code",
    "stint",
    "start_tyre_life",
    "fresh_tyre",
    "start_lap_fraction",
    "stint_planned_laps",
)


def tyre_degradation_frame(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    """One row per stint with at least ``STINT_MIN_CLEAN_LAPS`` clean laps.

    Target ``deg_s_per_lap``: least-squares slope of the fuel-corrected lap time
    (``lap_time_s + FUEL_EFFECT_S_PER_LAP * lap_number``) against tyre life over the stint's
    clean laps (green flag, no pit in/out, not lap 1, within 107 % of the driver's median).
    Baseline: the mean slope of the same compound over earlier races.
    ``stint_planned_laps`` is the stint's length (the strategy being evaluated).
    """
    lf = _laps(fs, seasons)
    green = lf["status_green"].astype("boolean").fillna(False) & ~(
        lf[["status_yellow", "status_sc", "status_vsc", "status_vsc_ending"]].fillna(0).astype(bool).any(axis=1)
    )
    clean = (
        lf["lap_time_s"].notna()
        & green.astype(bool)
        & (lf["is_pit_in_lap"] == 0)
        & (lf["is_pit_out_lap"] == 0)
        & (lf["lap_number"].astype(float) > 1)
    )
    med = lf.groupby(["race_id", "driver_id"], dropna=False)["lap_time_s"].transform("median")
    clean &= lf["lap_time_s"] <= 1.07 * med
    keys = ["season", "round", "race_id", "driver_id", "constructor_id", "circuit_id", "stint"]
    laps = lf[clean.to_numpy()].copy()
    laps["x"] = laps["tyre_life"].astype("float64")
    laps["y"] = laps["lap_time_s"].astype("float64") + FUEL_EFFECT_S_PER_LAP * laps["lap_number"].astype("float64")
    laps["xy"], laps["xx"] = laps["x"] * laps["y"], laps["x"] * laps["x"]
    agg = laps.groupby(keys, observed=True, dropna=False).agg(
        n=("x", "size"), sx=("x", "sum"), sy=("y", "sum"), sxy=("xy", "sum"), sxx=("xx", "sum")
    )
    var = agg["sxx"] - agg["sx"] ** 2 / agg["n"]
    agg["deg_s_per_lap"] = (agg["sxy"] - agg["sx"] * agg["sy"] / agg["n"]) / var.where(var > 0)
    agg = agg[(agg["n"] >= STINT_MIN_CLEAN_LAPS) & agg["deg_s_per_lap"].notna()].reset_index()
    # what is known when the stint starts: its first lap
    first = lf.sort_values("lap_number").groupby(keys, observed=True, dropna=False).first().reset_index()
    last = lf.groupby(keys, observed=True, dropna=False)["lap_number"].max().rename("last_lap").reset_index()
    first = first.merge(last, on=keys)
    first["start_tyre_life"] = first["tyre_life"].astype("float64")
    sched = first["laps_remaining"].astype("float64") + first["lap_number"].astype("float64")
    first["start_lap_fraction"] = first["lap_number"].astype("float64") / sched
    first["stint_planned_laps"] = first["last_lap"].astype("float64") - first["lap_number"].astype("float64") + 1
    cols = [*keys, "compound", "compound_code", "start_tyre_life", "fresh_tyre", "start_lap_fraction"]
    cols += ["stint_planned_laps", "pit_lane_loss_s"]
    df = agg[[*keys, "deg_s_per_lap"]].merge(first[cols], on=keys, how="left")
    drv = fs.get_features(seasons=list(seasons), features=["tire_deg_rate"], moment="pre_race")
    df = df.merge(drv[["race_id", "driver_id", "tire_deg_rate"]], on=["race_id", "driver_id"], how="left")
    overall = prior_mean(df, "deg_s_per_lap")
    df["prior_compound_deg"] = prior_mean(df, "deg_s_per_lap", by=["compound"]).fillna(overall).fillna(0.0)
    df["baseline_compound_prior"] = df["prior_compound_deg"]
    df = _as_float(df, ["deg_s_per_lap", *STINT_FEATURES])
    return df.sort_values(["season", "round", "driver_id", "stint"]).reset_index(drop=True)


# The model corrects the circuit median (its offset) from relative inputs; absolute values such
# as the pit-lane loss itself let trees memorise circuits and eras (2024 backtest MAE 2.50 with
# them, 2.12 without).
PIT_STOP_FEATURES = (
    "team_recent_excess_s",
    "stop",
    "lap_fraction",
    "sc_at_stop",
    "vsc_at_stop",
    "yellow_at_stop",
)


def pit_stop_frame(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    """Pit stops with a normal pit-lane time (not red-flag outliers); baseline = circuit median
    from earlier races (``pit_lane_loss_s``), else the mean of all earlier stops."""
    ps = fs.pit_stop_features(list(seasons)).copy()
    ps = ps[~ps["is_outlier"].astype(bool) & ps["pit_time_s"].notna()].reset_index(drop=True)
    ps["compound_in_code"] = encode(ps["compound_in"], COMPOUND_CODES)
    ps["compound_out_code"] = encode(ps["compound_out"], COMPOUND_CODES)
    for c in ("sc_at_stop", "vsc_at_stop", "yellow_at_stop"):
        ps[c] = ps[c].astype("boolean").astype("float64")
    ps = _as_float(ps, ["pit_time_s", "pit_lane_loss_s", *(f for f in PIT_STOP_FEATURES if f in ps.columns)])
    # a circuit's first race has no history: fall back to the mean of all earlier stops
    ps["pit_lane_loss_s"] = ps["pit_lane_loss_s"].fillna(prior_mean(ps, "pit_time_s"))
    ps["baseline_circuit_median"] = ps["pit_lane_loss_s"]
    ps["team_recent_excess_s"] = team_recent_excess(ps)
    return ps[ps["baseline_circuit_median"].notna()].reset_index(drop=True)


TEAM_EXCESS_RACES = 5


def team_recent_excess(ps: pd.DataFrame) -> pd.Series:
    """The team's median stop time relative to the circuit median over its last
    ``TEAM_EXCESS_RACES`` races with stops before this one (how quick its crew is lately)."""
    excess = ps.assign(excess=ps["pit_time_s"] - ps["pit_lane_loss_s"])
    per_race = (
        excess.groupby(["constructor_id", "season", "round", "race_id"], observed=True)["excess"]
        .median()
        .reset_index()
        .sort_values(["season", "round"])
    )
    per_race["team_recent_excess_s"] = per_race.groupby("constructor_id", observed=True)["excess"].transform(
        lambda s: s.shift(1).rolling(TEAM_EXCESS_RACES, min_periods=1).median()
    )
    out = ps[["constructor_id", "race_id"]].merge(
        per_race[["constructor_id", "race_id", "team_recent_excess_s"]], on=["constructor_id", "race_id"], how="left"
    )
    return pd.Series(out["team_recent_excess_s"].to_numpy(), index=ps.index)


def pit_window_frame(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    """Pre-race rows of drivers who made a normal stop; label = third of the race of the first one."""
    ps = fs.pit_stop_features(list(seasons))
    ps = ps[~ps["is_outlier"].astype(bool)]
    first = ps.sort_values("lap").drop_duplicates(["race_id", "driver_id"])[["race_id", "driver_id", "lap_fraction"]]
    df = driver_race(fs, seasons, "pre_race").merge(first, on=["race_id", "driver_id"], how="inner")
    frac = df["lap_fraction"].astype("float64").to_numpy()
    df["pit_window"] = np.select([frac <= 1 / 3, frac <= 2 / 3], PIT_WINDOW_LABELS[:2], default=PIT_WINDOW_LABELS[2])
    df = df.drop(columns=["lap_fraction"]).reset_index(drop=True)
    df["baseline_prior_majority"] = prior_majority(df, "pit_window")
    return df


def dnf_frame(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    """Pre-race rows; label ``dnf`` = 1 when the driver was not classified; baseline = the
    majority label of earlier races (in practice: 'finishes')."""
    df = driver_race(fs, seasons, "pre_race")
    df["dnf"] = df["dnf"].astype(bool).astype(int)
    df["baseline_prior_majority"] = prior_majority(df, "dnf").astype(int)
    return df


RACE_FEATURES = (
    "circuit_type_code",
    "scheduled_laps",
    "circuit_prior_races_with_laps",
    "circuit_prior_sc_rate",
    "circuit_prior_rain_rate",
    "circuit_prior_dnf_rate",
    "track_speed_index",
    "month",
)


def _races(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    rf = fs.race_features(list(seasons)).copy()
    rf = rf[rf["has_lap_data"].astype(bool)].reset_index(drop=True)
    dates = fs.store.read("races", list(seasons))[["race_id", "date"]]
    rf = rf.merge(dates.astype({"race_id": "string"}), on="race_id", how="left")
    rf["month"] = pd.to_datetime(rf["date"]).dt.month.astype("float64")
    rf["circuit_type_code"] = encode(rf["circuit_type"], CIRCUIT_TYPE_CODES)
    return _as_float(rf, RACE_FEATURES)


def safety_car_frame(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    """Races with lap data; label 1 when the safety car came out; baseline = the base rate of
    earlier races (predict 'yes' when at least half of them had one)."""
    rf = _races(fs, seasons)
    rf["safety_car"] = rf["safety_car"].astype(bool).astype(int)
    rate = prior_mean(rf, "safety_car").fillna(0.5)
    rf["baseline_base_rate"] = (rate >= 0.5).astype(int)
    return rf


def rain_impact_frame(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    """Races with lap data; label low/medium/high from the derived wet share (dry/mixed/wet);
    baseline = the majority label of earlier races."""
    rf = _races(fs, seasons)
    rf["rain_impact"] = rf["weather_condition"].map(RAIN_IMPACT)
    rf = rf[rf["rain_impact"].notna()].reset_index(drop=True)
    rf["baseline_prior_majority"] = prior_majority(rf, "rain_impact")
    return rf
