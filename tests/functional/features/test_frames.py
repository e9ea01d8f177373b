"""Lap, pit-stop and race frames on real races."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pitwall.features.laps import LAP_COLUMNS, PIT_STOP_COLUMNS, RACE_COLUMNS, lap_frame, pit_stop_frame, race_frame


@pytest.fixture(scope="module")
def laps(lake_inputs) -> pd.DataFrame:
    return lap_frame(lake_inputs, seasons=[2022, 2024])


def test_lap_frame_gaps_and_previous_lap(laps):
    assert list(laps.columns) == list(LAP_COLUMNS)
    monaco = laps[laps["race_id"] == "2024-08"]
    per_lap = monaco.groupby("lap_number")
    assert (per_lap["gap_to_leader_s"].min().dropna() == 0).all()
    assert (monaco["interval_s"].dropna() >= 0).all()
    lec = monaco[monaco["driver_id"] == "charles-leclerc"].set_index("lap_number")
    assert lec.loc[10, "prev_lap_time_s"] == lec.loc[9, "lap_time_s"]
    assert lec.loc[10, "laps_remaining"] == 78 - 10
    assert lec.loc[1, "status_sc"] and lec.loc[1, "track_status"] == "14"  # lap-1 crash: safety car
    assert not lec.loc[10, "status_sc"]


def test_pit_lane_loss_comes_from_earlier_races_at_the_circuit(laps, lake_inputs):
    first_miami = laps[laps["race_id"] == "2022-05"]
    assert first_miami["pit_lane_loss_s"].isna().all()  # Miami's first race: nothing earlier
    stops = lake_inputs["pit_stops"].merge(lake_inputs["races"][["race_id", "circuit_id"]], on="race_id")
    monaco = stops[(stops["circuit_id"] == "monaco") & (stops["season"] < 2024) & (stops["time_s"] <= 120)]
    per_race = monaco.groupby("season")["time_s"].median().sort_index()
    expected = per_race.iloc[-3:].median()  # 2021, 2022, 2023 (2020 was cancelled)
    got = laps[laps["race_id"] == "2024-08"]["pit_lane_loss_s"].unique()
    assert len(got) == 1 and got[0] == pytest.approx(expected)


def test_pit_stop_frame(lake_inputs):
    ps = pit_stop_frame(lake_inputs, seasons=[2024])
    assert list(ps.columns) == list(PIT_STOP_COLUMNS)
    red = ps[(ps["race_id"] == "2024-08") & (ps["lap"] == 1)]
    assert len(red) and red["is_outlier"].all()  # stops under the lap-1 red flag last ~40 minutes
    assert red["sc_at_stop"].all()
    normal = ps[(ps["race_id"] == "2024-01") & ~ps["is_outlier"]]
    assert 20 < normal["pit_time_s"].median() < 30  # Bahrain's pit lane: about 24-25 s
    # F1DB gives renamed teams new ids (rb, kick-sauber in 2024): their history starts at the rename
    known = normal[normal["constructor_id"].isin(["ferrari", "red-bull", "mercedes", "mclaren"])]
    assert known["team_avg_pit_stop_s"].notna().all()
    assert normal[normal["constructor_id"] == "rb"]["team_avg_pit_stop_s"].isna().all()
    late = ps[ps["round"] >= 19]  # no FastF1 laps after round 18 of 2024
    assert late["track_status"].isna().all() and late["sc_at_stop"].isna().all()


def test_race_frame(lake_inputs):
    races = race_frame(lake_inputs, seasons=[2014, 2024])
    assert list(races.columns) == list(RACE_COLUMNS)
    r = races.set_index("race_id")
    assert bool(r.loc["2024-08", "safety_car"]) and bool(r.loc["2024-08", "red_flag"])
    assert bool(r.loc["2024-09", "rain"]) and r.loc["2024-09", "observed_weather"] == "wet"
    assert not r.loc["2014-01", "has_lap_data"] and pd.isna(r.loc["2014-01", "safety_car"])
    assert math.isnan(r.loc["2014-01", "circuit_prior_sc_rate"])
    assert r.loc["2024-08", "dnf_count"] == 4 and r.loc["2024-08", "starters"] == 20
    rates = races["circuit_prior_sc_rate"].dropna()
    assert rates.between(0, 1).all() and len(rates) > 15
