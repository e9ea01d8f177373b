"""An upcoming race's features, at each moment of its weekend, are those the same race gets once
it is stored (the lake cut at 2024 round 10 against the full lake), minus its own outcomes."""

from __future__ import annotations

import pandas as pd
import pytest

from pitwall.features import FeatureStore
from pitwall.features.inputs import FeatureInputs
from pitwall.features.weekend import WEEKEND_MOMENTS, inputs_at, weekend_state
from pitwall.serving.races import RaceCatalog
from tests.functional.upcoming.cut import CUT_SEASON, LAST_RUN, NEXT_ROUND


@pytest.fixture(scope="module")
def cut_inputs(cut_lake) -> FeatureInputs:
    return FeatureInputs.from_store(cut_lake)


@pytest.fixture(scope="module")
def full_inputs(lake) -> FeatureInputs:
    return FeatureInputs.from_store(lake)


@pytest.fixture(scope="module")
def cut_frames(cut_lake, cut_inputs) -> dict[str, pd.DataFrame]:
    return {m: _at(cut_lake, cut_inputs, m) for m in WEEKEND_MOMENTS}


def _race(frame: pd.DataFrame, round_: int = NEXT_ROUND) -> pd.DataFrame:
    return frame[frame["round"] == round_].sort_values("driver_id").reset_index(drop=True)


def _at(store, inp: FeatureInputs, moment: str) -> pd.DataFrame:
    fs = FeatureStore(store, inputs=inputs_at(inp, CUT_SEASON, NEXT_ROUND, moment))
    return _race(fs.get_features(seasons=CUT_SEASON, moment="pre_race"))


def test_the_cut_lake_stores_the_calendar_and_entry_lists_without_results(cut_lake, lake) -> None:
    races = cut_lake.read("races", [CUT_SEASON])
    assert sorted(races["round"]) == sorted(lake.read("races", [CUT_SEASON])["round"])
    assert sorted(set(cut_lake.read("results", [CUT_SEASON])["round"])) == list(range(1, LAST_RUN + 1))
    assert cut_lake.read("sprint_results", [CUT_SEASON])["round"].max() < NEXT_ROUND
    entries = cut_lake.read("entries", [CUT_SEASON])
    assert set(entries["round"]) == set(races["round"])  # every race of the calendar has its entry list
    ran = lake.read("results", [CUT_SEASON])
    ran = ran[ran["round"] == NEXT_ROUND]
    entered = entries[entries["round"] == NEXT_ROUND]
    assert set(zip(entered["driver_id"], entered["constructor_id"], strict=True)) == set(
        zip(ran["driver_id"], ran["constructor_id"], strict=True)
    )
    # a sprint weekend not yet run is known as one from its calendar row
    assert bool(races.set_index("round").loc[NEXT_ROUND, "has_sprint"])
    assert RaceCatalog(cut_lake).resolve("next").round == NEXT_ROUND
    assert RaceCatalog(cut_lake).last_completed_round(CUT_SEASON) == LAST_RUN


def test_weekend_state_says_how_far_the_stored_weekend_got(cut_inputs, full_inputs) -> None:
    now = weekend_state(cut_inputs, CUT_SEASON, NEXT_ROUND)
    assert (now.run, now.practice, now.grid, now.entries, now.moment) == (False, True, True, True, "pre_race")
    later = weekend_state(cut_inputs, CUT_SEASON, NEXT_ROUND + 1)
    assert (later.run, later.practice, later.grid, later.moment) == (False, False, False, "pre_practice")
    assert weekend_state(full_inputs, CUT_SEASON, NEXT_ROUND).run


@pytest.mark.parametrize("moment", WEEKEND_MOMENTS)
def test_features_at_each_moment_equal_those_of_the_stored_race(cut_frames, lake, full_inputs, moment):
    upcoming = cut_frames[moment]
    stored = _at(lake, full_inputs, moment)
    assert len(upcoming) == 20
    pd.testing.assert_frame_equal(upcoming, stored)
    assert not {"position", "points", "observed_weather"} & set(upcoming.columns)  # no outcome of the race


def test_moments_see_only_what_has_happened(cut_frames) -> None:
    known = {m: cut_frames[m].notna().sum() for m in WEEKEND_MOMENTS}
    assert known["pre_practice"]["fp_pace_ranking"] == 0
    assert known["pre_qualifying"]["fp_pace_ranking"] == 20
    assert known["pre_qualifying"]["start_position"] == known["pre_qualifying"]["quali_gap_to_pole"] == 0
    assert known["pre_race"]["start_position"] == known["pre_race"]["quali_gap_to_pole"] == 20
    history = ["career_wins", "avg_race_position_last_5", "constructor_position"]
    for m in WEEKEND_MOMENTS:  # history is the same all weekend
        pd.testing.assert_frame_equal(cut_frames[m][history], cut_frames["pre_race"][history])


@pytest.mark.parametrize("moment", ["pre_qualifying", "pre_race"])
def test_the_ordinary_feature_path_gives_the_upcoming_race_the_stored_race_rows(cut_lake, lake, moment) -> None:
    upcoming = _race(FeatureStore(cut_lake).get_features(seasons=CUT_SEASON, moment=moment))
    stored = _race(FeatureStore(lake).get_features(seasons=CUT_SEASON, moment=moment))
    pd.testing.assert_frame_equal(upcoming, stored)
    later = FeatureStore(cut_lake).get_features(seasons=CUT_SEASON, moment=moment)
    assert set(later["round"]) == set(range(1, 25))  # races still to come have rows from their entry lists
