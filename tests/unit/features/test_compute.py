"""Feature values on the synthetic championship of conftest.py, worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pitwall.features.compute import compute_features
from pitwall.features.inputs import FeatureInputs
from pitwall.features.spec import FEATURES, GROUPS, group_features
from pitwall.features.targets import target_frame


def _row(frame: pd.DataFrame, race_id: str, driver: str) -> pd.Series:
    hit = frame[(frame["race_id"] == race_id) & (frame["driver_id"] == driver)]
    assert len(hit) == 1, f"expected one row for {race_id}/{driver}, got {len(hit)}"
    return hit.iloc[0]


@pytest.fixture
def pre_race(inputs: FeatureInputs) -> pd.DataFrame:
    return compute_features(inputs, moment="pre_race")


def test_row_set_is_entrants_without_non_qualifiers_and_without_duplicates(pre_race):
    per_race = pre_race.groupby("race_id")["driver_id"].apply(sorted).to_dict()
    assert per_race["2020-02"] == ["a", "b", "c"]  # d did not qualify
    assert per_race["2020-01"] == ["a", "b", "c", "d"]  # b's shared-car entry is one row
    assert list(pre_race.columns[:6]) == ["season", "round", "race_id", "driver_id", "constructor_id", "circuit_id"]
    assert [c for c in pre_race.columns[6:]] == [n for g in GROUPS for n in group_features(g)]


def test_driver_form_uses_only_earlier_races(pre_race):
    a = _row(pre_race, "2020-03", "a")
    assert a["avg_race_position_last_5"] == 11.0  # P1, then DNF counted as 21
    assert a["career_wins"] == 1.0
    assert a["dnf_rate_season"] == 0.5
    assert a["points_last_3_races"] == 25.0
    assert a["avg_positions_gained"] == 1.0  # grid 2 -> P1; the DNF does not count
    assert a["avg_quali_position_last_5"] == 2.0
    assert a["quali_trend"] == 0.0
    assert a["avg_position_at_track"] == 1.0 and a["best_finish_at_track"] == 1.0
    assert a["track_experience_races"] == 1.0
    assert a["career_poles"] == 0.0
    first = _row(pre_race, "2020-01", "a")
    assert math.isnan(first["avg_race_position_last_5"]) and first["career_wins"] == 0.0
    assert first["track_experience_races"] == 0.0 and math.isnan(first["dnf_rate_season"])


def test_shared_car_keeps_the_best_result_and_sums_points(pre_race):
    b = _row(pre_race, "2020-03", "b")
    assert b["avg_race_position_last_5"] == 1.5  # P2 (not the shared car's DNF), then P1
    assert b["career_poles"] == 2.0
    assert b["career_points"] == 43.0


def test_non_qualifier_has_no_start_and_sprint_points_count(pre_race):
    d = _row(pre_race, "2020-03", "d")
    assert d["avg_race_position_last_5"] == 3.0  # only 2020-01; the DNQ is not a start
    assert d["dnf_rate_season"] == 0.0
    c = _row(pre_race, "2021-01", "c")
    assert c["career_points"] == 18.0 + 15.0 + 3.0  # includes the 2020-03 sprint
    assert c["points_last_3_races"] == 36.0


def test_pit_lane_start_gets_the_last_slot_and_no_positions_gained(pre_race):
    c = _row(pre_race, "2020-02", "c")
    assert c["start_position"] == 3.0  # three cars on the grid
    c3 = _row(pre_race, "2020-03", "c")
    assert math.isnan(c3["avg_positions_gained"])


def test_team_features(pre_race):
    assert math.isnan(_row(pre_race, "2020-01", "a")["constructor_position"])  # no earlier standings
    assert _row(pre_race, "2020-02", "a")["constructor_position"] == 1.0
    assert _row(pre_race, "2020-02", "c")["constructor_position"] == 2.0
    assert _row(pre_race, "2021-01", "c")["constructor_position"] == 2.0  # previous season's final table
    assert _row(pre_race, "2020-02", "c")["reliability_rate"] == 0.5  # c's engine failure is technical
    assert _row(pre_race, "2020-03", "a")["reliability_rate"] == 1.0  # a's accident is not
    assert _row(pre_race, "2020-02", "a")["avg_pit_stop_time"] == 23.0  # the 2400 s red-flag stop is dropped
    assert _row(pre_race, "2021-01", "a")["avg_pit_stop_time"] == 24.0
    assert _row(pre_race, "2020-03", "b")["team_track_performance"] == 1.5
    assert pre_race["points_trajectory"].isna().all()  # needs 6 earlier races


def test_session_features(pre_race, inputs):
    a = _row(pre_race, "2021-01", "a")
    assert a["quali_gap_to_pole"] == pytest.approx((81.6 / 80.8 - 1) * 100)
    assert a["start_position"] == 2.0
    ranks = pre_race[pre_race["race_id"] == "2021-01"].set_index("driver_id")["fp_pace_ranking"]
    assert ranks["b"] == 1.0 and ranks["a"] == 2.0 and ranks["c"] == 3.0 and math.isnan(ranks["d"])
    sprint = pre_race[pre_race["race_id"] == "2020-03"].set_index("driver_id")["fp_pace_ranking"]
    assert sprint["a"] == 1.0 and sprint["b"] == 2.0  # b's FP2 lap came after qualifying
    assert _row(pre_race, "2020-03", "a")["predicted_strategy"] == 1.0
    assert math.isnan(_row(pre_race, "2021-01", "a")["predicted_strategy"])
    for name in ("sector_times", "avg_corner_speed", "straight_line_speed"):
        assert pre_race[name].isna().all()
    assert pre_race["observed_weather"].isna().all()  # known only after the race


def test_pre_qualifying_nulls_only_what_qualifying_reveals(inputs, pre_race):
    pre_q = compute_features(inputs, moment="pre_qualifying")
    hidden = [n for n, s in FEATURES.items() if "pre_qualifying" not in s.moments and s.moments]
    assert sorted(hidden) == ["quali_gap_to_pole", "start_position"]
    never = [n for n, s in FEATURES.items() if not s.moments]  # post-race values (observed weather)
    assert pre_q[never].isna().all().all() and pre_race[never].isna().all().all()
    assert pre_q[hidden].isna().all().all()
    rest = [c for c in pre_race.columns if c not in hidden]
    pd.testing.assert_frame_equal(pre_q[rest], pre_race[rest])


def test_explicit_rows_for_an_upcoming_race(inputs):
    rows = pd.DataFrame(
        {"season": [2021], "round": [2], "driver_id": ["a"], "constructor_id": ["red"], "circuit_id": ["alpha"]}
    )
    out = compute_features(inputs, rows=rows)
    assert out.loc[0, "race_id"] == "2021-02"
    assert out.loc[0, "career_wins"] == 2.0
    assert out.loc[0, "avg_position_at_track"] == 1.0
    assert math.isnan(out.loc[0, "start_position"])


def test_targets(inputs):
    t = target_frame(inputs)
    b = t[(t["race_id"] == "2020-01") & (t["driver_id"] == "b")].iloc[0]
    assert b["position"] == 2 and b["points"] == 18.0 and bool(b["finished"])
    c = t[(t["race_id"] == "2020-01") & (t["driver_id"] == "c")].iloc[0]
    assert pd.isna(c["position"]) and bool(c["dnf"])
    assert t[(t["race_id"] == "2020-03") & (t["driver_id"] == "c")].iloc[0]["sprint_points"] == 3.0
    assert len(t) == len(compute_features(inputs))
