"""Feature values on real races, checked by hand against the F1DB YAML sources."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pitwall.features.compute import at_moment, compute_features
from pitwall.features.targets import target_frame


@pytest.fixture(scope="module")
def features(lake_inputs) -> pd.DataFrame:
    return compute_features(lake_inputs, moment="pre_race", seasons=[2014, 2023, 2024])


def _row(frame: pd.DataFrame, race_id: str, driver: str) -> pd.Series:
    hit = frame[(frame["race_id"] == race_id) & (frame["driver_id"] == driver)]
    assert len(hit) == 1
    return hit.iloc[0]


def _yaml(shared_data: Path, season: int, race_glob: str, file: str):
    folder = next((shared_data / "f1db" / "src" / "data" / "seasons" / str(season) / "races").glob(race_glob))
    return yaml.load((folder / file).read_text(), Loader=yaml.CSafeLoader)


def test_career_numbers_before_2024_bahrain(features, shared_data):
    ver = _row(features, "2024-01", "max-verstappen")
    assert ver["career_wins"] == 54
    assert ver["career_poles"] == 32  # F1DB counts pole as starting-grid slot 1
    assert ver["career_points"] == 2586.5
    # cross-check with another F1DB file: his final championship points of 2015-2023
    seasons = range(2015, 2024)
    standings = [_yaml(shared_data, s, "*abu-dhabi", "driver-standings.yml") for s in seasons]
    total = sum(r["points"] for table in standings for r in table if r["driverId"] == "max-verstappen")
    assert ver["career_points"] == total
    assert _row(features, "2024-01", "lewis-hamilton")["career_wins"] == 103


def test_monaco_2024_winner_starts_first_and_track_record(features, lake_inputs):
    targets = target_frame(lake_inputs, [2024])
    winner = targets[(targets["race_id"] == "2024-08") & (targets["position"] == 1)]["driver_id"].item()
    assert winner == "charles-leclerc"
    lec = _row(features, "2024-08", winner)
    assert lec["start_position"] == 1
    assert lec["quali_gap_to_pole"] == 0.0
    # race-results.yml at Monaco: 2018 P18, 2019 DNF, 2021 DNS (no start), 2022 P4, 2023 P6
    assert lec["track_experience_races"] == 4
    assert lec["avg_position_at_track"] == (18 + 21 + 4 + 6) / 4
    assert lec["best_finish_at_track"] == 4
    pre_q = at_moment(features, "pre_qualifying")
    assert math.isnan(_row(pre_q, "2024-08", winner)["start_position"])


def test_monaco_2024_quali_gap_and_constructor_standings(features, shared_data):
    # qualifying-results.yml: Leclerc pole 1:10.270, Piastri 1:10.424
    pia = _row(features, "2024-08", "oscar-piastri")
    assert pia["quali_gap_to_pole"] == pytest.approx((70.424 / 70.270 - 1) * 100)
    standings = _yaml(shared_data, 2024, "07-*", "constructor-standings.yml")
    ferrari = next(r["position"] for r in standings if r["constructorId"] == "ferrari")
    assert _row(features, "2024-08", "charles-leclerc")["constructor_position"] == ferrari == 2


def test_observed_weather_from_tyre_use(features, lake_inputs):
    by_race = lake_inputs.race_conditions.set_index("race_id")["observed_weather"]
    assert by_race["2024-09"] == "wet"  # Canada 2024: two thirds of laps on intermediates/wets
    assert by_race["2023-06"] == "mixed"  # Monaco 2023: rain late in the race
    assert by_race["2024-08"] == "dry"
    assert "2014-01" not in by_race.index  # no lap data before 2018
    # the race's own observed weather is known only after the race: null in every pre-race row
    assert features["observed_weather"].isna().all()


def test_race_conditions_have_the_same_columns_and_dtypes_without_lap_data(lake, lake_inputs):
    from pitwall.features.inputs import FeatureInputs

    with_laps = lake_inputs.race_conditions
    without = FeatureInputs.from_store(lake, max_season=2017).race_conditions  # no lap data before 2018
    assert len(with_laps) and not len(without)
    assert list(without.columns) == list(with_laps.columns)
    assert without.dtypes.to_dict() == with_laps.dtypes.to_dict()
    # so a season without laps and one with them merge without object columns (or pandas' warning)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        merged = pd.concat([without, with_laps.iloc[:1]], ignore_index=True)
    assert merged.dtypes.to_dict() == with_laps.dtypes.to_dict()
