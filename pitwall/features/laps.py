"""Lap-, pit-stop- and race-level frames for the regression and strategy templates.

Each frame says which of its columns are observations of the row itself (targets) and which
are known before it; aggregates over other races (``pit_lane_loss_s``, ``team_avg_pit_stop_s``,
``circuit_prior_*``) use races strictly before the row's race only.

Column lists: ``LAP_COLUMNS``, ``PIT_STOP_COLUMNS``, ``RACE_COLUMNS`` (documented in
``docs/features.md``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pitwall.features.history import asof_before, rolling_mean, sorted_history
from pitwall.features.inputs import FeatureInputs, status_flag
from pitwall.features.spec import KEY, POST_RACE
from pitwall.features.team import team_pit_history

STATUS_FLAGS: dict[str, str] = {
    "status_green": "1",
    "status_yellow": "2",
    "status_sc": "4",
    "status_red": "5",
    "status_vsc": "6",
    "status_vsc_ending": "7",
}
RECENT_CLEAN_LAPS = 5  # laps in the driver's recent clean-lap median (``recent_clean_lap_s``)


@dataclass(frozen=True)
class Column:
    """One column of a lap / stint / pit-stop / race frame: what it is and when it is known
    (``known_at``: a ``pitwall.features.spec.KNOWN_AT`` value, or ``KEY`` for the row's keys)."""

    meaning: str
    known_at: str


def _cols(known_at: str, **meanings: str) -> dict[str, Column]:
    return {name: Column(text, known_at) for name, text in meanings.items()}


_RACE_KEYS = _cols(KEY, season="key", round="key", race_id="key")

# Lap rows: row = lap N of driver d. Same-lap values ("end of lap N": the lap's own time,
# track status, pit entry/exit) are outcomes or, named as such, scenario inputs of a template;
# never default features of a model predicting lap N.
LAP_COLUMNS: dict[str, Column] = {
    **_RACE_KEYS,
    **_cols(
        KEY,
        driver_id="key: F1DB driver id",
        driver_code="key: timing code",
        constructor_id="key: F1DB constructor id of the driver in this race",
        circuit_id="key",
        lap_number="key: N",
    ),
    **_cols(
        "end of lap N",
        lap_time_s="TARGET: lap time (s)",
        position="TARGET/observed: running position at the end of the lap",
        gap_to_leader_s="TARGET/observed: session time at this lap's end minus the leader's at the same lap",
        interval_s="TARGET/observed: gap to the car that completed this lap just before (NaN for the leader)",
    ),
    **_cols(
        "end of lap N-1",
        prev_lap_time_s="the driver's previous lap time in this race",
        prev2_lap_time_s="the driver's lap time two laps earlier",
        prev_gap_to_leader_s="gap to leader at the end of the previous lap",
        prev2_gap_to_leader_s="gap to leader at the end of lap N-2",
        prev4_gap_to_leader_s="gap to leader at the end of lap N-4",
        prev_interval_s="interval to the car ahead at the end of the previous lap",
        prev_position="running position at the end of the previous lap",
        prev_stint="stint number of the previous lap",
        prev_green="previous lap run under green flags only (track status '1')",
        prev_clean="previous lap was a clean lap (green only, no pit in/out, not lap 1, timed)",
        prev_is_pit_in_lap="the driver entered the pits on the previous lap",
        prev_is_pit_out_lap="the previous lap was an out-lap",
        recent_clean_lap_s=f"median of the driver's last {RECENT_CLEAN_LAPS} clean laps of this race up to lap N-1 "
        "(carried forward; NaN before the first)",
    ),
    **_cols(
        "start of lap N",
        stint="stint number",
        compound="tyre compound (SOFT/MEDIUM/HARD/INTERMEDIATE/WET)",
        tyre_life="laps on this set of tyres (FastF1 TyreLife)",
        fresh_tyre="set was new when fitted",
        laps_remaining="fuel-load proxy: scheduled laps minus lap number (>= 0)",
        fuel_load_proxy="laps_remaining / scheduled laps (1 = full tank, 0 = empty)",
    ),
    **_cols(
        "end of lap N",
        track_status="FastF1 status digits seen during the lap",
        **{k: f"track status {v} seen during the lap" for k, v in STATUS_FLAGS.items()},
        is_pit_in_lap="driver entered the pits on this lap",
        is_pit_out_lap="driver left the pits on this lap (FastF1 also marks lap 1)",
        clean="this lap is a clean lap (green only, no pit in/out, not lap 1, timed)",
    ),
    **_cols(
        "pre_race",
        pit_lane_loss_s="median over the circuit's last 3 races before this one of each race's median pit-lane "
        "time (stops <= 120 s)",
    ),
}

# Stint rows (built by the tyre_degradation template): row = stint S of driver d, predicted
# when it starts (its first lap L0; everything up to the end of lap L0-1 plus its tyres).
STINT_COLUMNS: dict[str, Column] = {
    **_RACE_KEYS,
    **_cols(KEY, driver_id="key", constructor_id="key", circuit_id="key", stint="key: stint number"),
    **_cols(
        "start of stint",
        compound="tyre compound of the stint",
        start_tyre_life="tyre life on the stint's first lap",
        fresh_tyre="set was new when fitted",
        start_lap_fraction="first lap of the stint / scheduled laps",
        start_lap="first lap of the stint",
        laps_remaining_at_start="scheduled laps minus the stint's first lap",
    ),
    **_cols(
        "end of stint",
        deg_s_per_lap="TARGET: slope of fuel-corrected clean-lap time against tyre life over the stint (s/lap)",
        stint_planned_laps="the stint's FINAL length in laps (known only when it ends): a scenario input "
        "(an assumed stint length), never a default feature",
    ),
    **_cols("pre_race", pit_lane_loss_s="see the lap frame"),
}

PIT_STOP_COLUMNS: dict[str, Column] = {
    **_RACE_KEYS,
    **_cols(KEY, driver_id="key", constructor_id="key", circuit_id="key", stop="key: stop number of the driver"),
    **_cols(
        "end of in-lap",
        lap="lap of the stop",
        laps_remaining="scheduled laps minus lap of the stop",
        lap_fraction="lap / scheduled laps",
        track_status="FastF1 status digits of the in-lap (2018+; null otherwise)",
        sc_at_stop="safety car seen on the in-lap",
        vsc_at_stop="virtual safety car seen on the in-lap",
        red_at_stop="red flag seen on the in-lap",
        yellow_at_stop="yellow flag seen on the in-lap",
        compound_in="compound of the in-lap",
        tyre_life_in="tyre life on the in-lap",
    ),
    **_cols(
        "end of stop",
        pit_time_s="TARGET: pit-lane time (s) of the stop",
        is_outlier="pit_time_s > 120 s or missing (red-flag stops); exclude from duration models",
        compound_out="compound of the next lap (fitted during the stop)",
    ),
    **_cols(
        "pre_race",
        pit_lane_loss_s="circuit's median pit-lane time from races before this one (see lap frame)",
        team_avg_pit_stop_s="the team feature avg_pit_stop_time (c's last 5 races with stops before this one)",
    ),
}

RACE_COLUMNS: dict[str, Column] = {
    **_RACE_KEYS,
    **_cols(KEY, circuit_id="key"),
    **_cols(
        "pre_practice",
        circuit_type="RACE / STREET / ROAD",
        scheduled_laps="race distance in laps",
        circuit_prior_races_with_laps="races at the circuit before this one with lap data",
        circuit_prior_sc_rate="share of those races with a safety car",
        circuit_prior_rain_rate="share of those races with rain (mixed or wet)",
        circuit_prior_dnf_rate="mean share of unclassified starters over the circuit's last 5 races before this one",
        track_speed_index="session feature track_speed_index (circuit's previous race)",
    ),
    **_cols(POST_RACE, has_lap_data="FastF1 laps exist for the race (2018+)"),
    **_cols(
        POST_RACE,
        safety_car="TARGET: track status 4 (safety car) seen on any lap; null without lap data",
        vsc="TARGET: track status 6 (virtual safety car) seen; null without lap data",
        red_flag="TARGET: track status 5 (red flag) seen; null without lap data",
        wet_share="TARGET: share of laps on intermediate/wet tyres (derived rain measure, no weather feed)",
        observed_weather="TARGET: the race's OWN observed weather, 'dry' (< 2% wet laps) / 'mixed' / 'wet' "
        "(>= 60%); known only after the race",
        rain="TARGET: observed_weather is 'mixed' or 'wet'",
        starters="TARGET/observed: number of race starts",
        dnf_count="TARGET: starters not classified",
    ),
}

FRAME_COLUMNS: dict[str, dict[str, Column]] = {
    "lap": LAP_COLUMNS,
    "stint": STINT_COLUMNS,
    "pit_stop": PIT_STOP_COLUMNS,
    "race": RACE_COLUMNS,
}
"""The column tables of each row grain (the (race, driver) grain uses ``spec.FEATURES``)."""


def render_frame_tables() -> str:
    """The frame tables of ``docs/features.md`` (one table per grain, with ``known_at``)."""
    titles = {
        "lap": "Lap frame (FastF1 laps, 2018+; row = lap N of driver d)",
        "stint": "Stint frame (built by the tyre_degradation template; row = one stint)",
        "pit_stop": "Pit-stop frame (F1DB pit stops, 1994+)",
        "race": "Race frame",
    }
    out: list[str] = []
    for grain, cols in FRAME_COLUMNS.items():
        out += [f"### {titles[grain]}", "", "| column | known at | meaning |", "|---|---|---|"]
        out += [f"| `{n}` | {c.known_at} | {c.meaning.replace('|', '/')} |" for n, c in cols.items()]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _select(df: pd.DataFrame, seasons: Iterable[int] | None, min_seq: int | None) -> pd.DataFrame:
    if seasons is not None:
        df = df[df["season"].isin([int(s) for s in seasons])]
    if min_seq is not None:
        df = df[df["seq"] >= min_seq]
    return df


def _circuit_pit_loss(inp: FeatureInputs) -> pd.DataFrame:
    return inp.memo("circuit_pit_loss", lambda: _build_circuit_pit_loss(inp))


def _build_circuit_pit_loss(inp: FeatureInputs) -> pd.DataFrame:
    cp = inp.circuit_pit
    h = sorted_history(cp[cp["median_pit_s"].notna()], ["circuit_key"])
    if len(h):
        h["pit_lane_loss_s"] = (
            h.groupby("circuit_key", sort=False)["median_pit_s"]
            .rolling(3, min_periods=1)
            .median()
            .droplevel(0)
            .reindex(h.index)
        )
    else:
        h["pit_lane_loss_s"] = pd.Series(dtype="float64")
    return h


def _previous_laps(out: pd.DataFrame, green: pd.Series, driver: list[pd.Series]) -> None:
    """Columns of lap N known at the end of lap N-1 (``out`` is sorted by race, driver, lap)."""
    by = out.groupby(driver, sort=False)
    consecutive = by["lap_number"].shift(1) == out["lap_number"] - 1
    out["prev2_lap_time_s"] = by["lap_time_s"].shift(2)
    out["prev2_gap_to_leader_s"] = by["gap_to_leader_s"].shift(2)
    out["prev4_gap_to_leader_s"] = by["gap_to_leader_s"].shift(4)
    out["prev_position"] = by["position"].shift(1)
    out["prev_stint"] = by["stint"].shift(1)
    for col, src in (
        ("prev_green", green),
        ("prev_clean", out["clean"]),
        ("prev_is_pit_in_lap", out["is_pit_in_lap"]),
        ("prev_is_pit_out_lap", out["is_pit_out_lap"]),
    ):
        out[col] = (src.groupby(driver, sort=False).shift(1).astype("boolean").fillna(False) & consecutive).astype(bool)
    clean_time = out["lap_time_s"].where(out["clean"])
    recent = clean_time.groupby(driver, sort=False).transform(
        lambda t: t.dropna().rolling(RECENT_CLEAN_LAPS, min_periods=1).median().reindex(t.index).ffill().shift(1)
    )
    out["recent_clean_lap_s"] = recent.astype("float64")


def lap_frame(inp: FeatureInputs, seasons: Iterable[int] | None = None, min_seq: int | None = None) -> pd.DataFrame:
    """One row per FastF1 race lap (2018+) with the columns of ``LAP_COLUMNS``."""
    lp = _select(inp.laps, seasons, min_seq)
    if not len(lp):
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in LAP_COLUMNS})
    lp = lp.sort_values(["seq", "driver_code", "lap_number"], kind="stable").reset_index(drop=True)
    out = pd.DataFrame(
        {
            "season": lp["season"].astype("int64"),
            "round": lp["round"].astype("int64"),
            "race_id": lp["race_id"].astype("string"),
            "driver_id": lp["driver_id"].astype("string"),
            "driver_code": lp["driver_code"].astype("string"),
            "circuit_id": lp["circuit_id"].astype("string"),
            "lap_number": lp["lap_number"].astype("int64"),
            "lap_time_s": lp["lap_time_s"].astype("float64"),
            "position": lp["position"].astype("float64"),
        }
    )
    teams = inp.starts[["race_id", "driver_id", "constructor_id"]]
    out["constructor_id"] = out[["race_id", "driver_id"]].merge(teams, on=["race_id", "driver_id"], how="left")[
        "constructor_id"
    ]
    t = lp["session_time_s"].astype("float64")
    lead = t.groupby([lp["race_id"], lp["lap_number"]]).transform("min")
    out["gap_to_leader_s"] = t - lead
    order = pd.DataFrame({"race_id": lp["race_id"], "lap": lp["lap_number"], "t": t}).sort_values(
        ["race_id", "lap", "t"], kind="stable"
    )
    ahead = order.groupby(["race_id", "lap"], sort=False)["t"].shift(1)
    out["interval_s"] = (order["t"] - ahead).reindex(out.index)
    driver = [lp["race_id"], lp["driver_code"]]
    out["prev_lap_time_s"] = out["lap_time_s"].groupby(driver).shift(1)
    out["prev_gap_to_leader_s"] = out["gap_to_leader_s"].groupby(driver).shift(1)
    out["prev_interval_s"] = out["interval_s"].groupby(driver).shift(1)
    out["stint"] = lp["stint"].astype("float64")
    out["compound"] = lp["compound"].astype("string")
    out["tyre_life"] = lp["tyre_life"].astype("float64")
    out["fresh_tyre"] = lp["fresh_tyre"].astype("boolean")
    sched = lp["scheduled_laps"].astype("float64")
    out["laps_remaining"] = (sched - out["lap_number"]).clip(lower=0)
    out["fuel_load_proxy"] = out["laps_remaining"] / sched
    status = lp["track_status"].astype("string")
    out["track_status"] = status
    for name, digit in STATUS_FLAGS.items():
        out[name] = status_flag(status, digit)
    out["is_pit_in_lap"] = lp["is_pit_in_lap"].fillna(False).astype(bool)
    out["is_pit_out_lap"] = lp["is_pit_out_lap"].fillna(False).astype(bool)
    green = (status == "1").fillna(False).astype(bool)
    out["clean"] = green & ~out["is_pit_in_lap"] & ~out["is_pit_out_lap"] & (out["lap_number"] > 1)
    out["clean"] &= out["lap_time_s"].notna()
    _previous_laps(out, green, driver)
    rows = pd.DataFrame({"seq": lp["seq"], "circuit_key": lp["circuit_key"]})
    out["pit_lane_loss_s"] = asof_before(rows, _circuit_pit_loss(inp), ["circuit_key"], ["pit_lane_loss_s"])[
        "pit_lane_loss_s"
    ].astype("float64")
    return out[list(LAP_COLUMNS)]


def pit_stop_frame(
    inp: FeatureInputs, seasons: Iterable[int] | None = None, min_seq: int | None = None
) -> pd.DataFrame:
    """One row per F1DB pit stop (1994+) with the columns of ``PIT_STOP_COLUMNS``."""
    ps = _select(inp.pit_stops, seasons, min_seq).reset_index(drop=True)
    if not len(ps):
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in PIT_STOP_COLUMNS})
    out = ps[["season", "round", "race_id", "driver_id", "constructor_id", "circuit_id", "stop", "lap"]].copy()
    out["pit_time_s"] = ps["time_s"]
    out["is_outlier"] = ps["outlier"].astype(bool)
    sched = ps["scheduled_laps"].astype("float64")
    out["laps_remaining"] = (sched - ps["lap"]).clip(lower=0)
    out["lap_fraction"] = ps["lap"] / sched
    out["pit_lane_loss_s"] = asof_before(ps, _circuit_pit_loss(inp), ["circuit_key"], ["pit_lane_loss_s"])[
        "pit_lane_loss_s"
    ].astype("float64")
    out["team_avg_pit_stop_s"] = asof_before(ps, team_pit_history(inp), ["constructor_key"], ["avg_pit_stop_time"])[
        "avg_pit_stop_time"
    ].astype("float64")
    lp = inp.laps
    lp = lp[lp["seq"].isin(set(ps["seq"]))] if len(lp) else lp
    if len(lp):
        lk = pd.DataFrame(
            {
                "race_id": lp["race_id"].astype("string"),
                "driver_id": lp["driver_id"].astype("string"),
                "lap": lp["lap_number"].astype("float64"),
                "track_status": lp["track_status"].astype("string"),
                "compound": lp["compound"].astype("string"),
                "tyre_life": lp["tyre_life"].astype("float64"),
            }
        ).drop_duplicates(["race_id", "driver_id", "lap"])
        keys = out[["race_id", "driver_id", "lap"]].astype({"lap": "float64"})
        inlap = keys.merge(lk, on=["race_id", "driver_id", "lap"], how="left")
        nxt = keys.assign(lap=keys["lap"] + 1).merge(lk, on=["race_id", "driver_id", "lap"], how="left")
        out["track_status"] = inlap["track_status"].to_numpy()
        out["compound_in"] = inlap["compound"].to_numpy()
        out["compound_out"] = nxt["compound"].to_numpy()
        out["tyre_life_in"] = inlap["tyre_life"].to_numpy()
    else:
        out["track_status"] = pd.NA
        out["compound_in"] = pd.NA
        out["compound_out"] = pd.NA
        out["tyre_life_in"] = np.nan
    out["track_status"] = out["track_status"].astype("string")
    known = out["track_status"].notna()
    for name, digit in (("sc_at_stop", "4"), ("vsc_at_stop", "6"), ("red_at_stop", "5"), ("yellow_at_stop", "2")):
        out[name] = pd.array(status_flag(out["track_status"], digit), dtype="boolean")
        out[name] = out[name].where(known, pd.NA)
    out["compound_in"] = out["compound_in"].astype("string")
    out["compound_out"] = out["compound_out"].astype("string")
    out["tyre_life_in"] = out["tyre_life_in"].astype("float64")
    out["lap"] = out["lap"].astype("float64")
    return out[list(PIT_STOP_COLUMNS)].reset_index(drop=True)


def race_frame(inp: FeatureInputs, seasons: Iterable[int] | None = None, min_seq: int | None = None) -> pd.DataFrame:
    """One row per race with the columns of ``RACE_COLUMNS``."""
    races = inp.races
    cond = inp.race_conditions.drop(columns=["seq"])
    r = races.merge(cond, on="race_id", how="left")
    r["has_lap_data"] = r["race_id"].isin(set(cond["race_id"]))
    s = inp.starts
    counts = s.groupby("race_id").agg(starters=("driver_id", "size"), finished=("classified", "sum"))
    r = r.join(counts, on="race_id")
    r["starters"] = r["starters"].astype("float64")
    r["dnf_count"] = r["starters"] - r["finished"].astype("float64")
    r["rain"] = r["observed_weather"].isin(["mixed", "wet"]).astype("boolean").where(r["has_lap_data"], pd.NA)
    for col in ("safety_car", "vsc", "red_flag"):
        r[col] = r[col].astype("boolean")
    # circuit priors (strictly before the race)
    lapped = sorted_history(r[r["has_lap_data"]], ["circuit_key"])
    g = lapped.groupby("circuit_key", sort=False)
    n = g.cumcount().astype("float64") + 1.0
    lapped["circuit_prior_races_with_laps"] = n
    lapped["circuit_prior_sc_rate"] = lapped["safety_car"].astype("float64").groupby(lapped["circuit_key"]).cumsum() / n
    lapped["circuit_prior_rain_rate"] = lapped["rain"].astype("float64").groupby(lapped["circuit_key"]).cumsum() / n
    prior = asof_before(
        r,
        lapped,
        ["circuit_key"],
        ["circuit_prior_races_with_laps", "circuit_prior_sc_rate", "circuit_prior_rain_rate"],
    )
    r = pd.concat([r, prior.astype("float64")], axis=1)
    r["circuit_prior_races_with_laps"] = r["circuit_prior_races_with_laps"].fillna(0.0)
    dn = sorted_history(r[r["starters"] > 0], ["circuit_key"])
    dn["dnf_share"] = dn["dnf_count"] / dn["starters"]
    dn["circuit_prior_dnf_rate"] = rolling_mean(dn, ["circuit_key"], "dnf_share", 5)
    r["circuit_prior_dnf_rate"] = asof_before(r, dn, ["circuit_key"], ["circuit_prior_dnf_rate"])[
        "circuit_prior_dnf_rate"
    ].astype("float64")
    speed = races[races["speed_index"].notna()]
    r["track_speed_index"] = asof_before(r, speed, ["circuit_key"], ["speed_index"])["speed_index"].astype("float64")
    r = _select(r, seasons, min_seq)
    return r[list(RACE_COLUMNS)].reset_index(drop=True)
