"""FeatureStore.get_features on the real lake: filters, groups, custom features, errors."""

from __future__ import annotations

import pytest

from pitwall.features import GROUPS, KEY_COLUMNS, TARGET_COLUMNS, FeatureEngineer, FeatureInputError, FeatureStore
from pitwall.features.compute import feature_columns


@pytest.fixture(scope="module")
def fs(lake) -> FeatureStore:
    return FeatureStore(lake)


def test_notebook_example_as_written(fs):
    fe = FeatureEngineer()

    @fe.register("momentum_score")
    def momentum_score(driver_data):
        recent_positions = driver_data["positions_last_5"]
        weights = [0.35, 0.25, 0.20, 0.12, 0.08]
        score = sum((21 - pos) * weight for pos, weight in zip(recent_positions, weights))  # noqa: B905 - verbatim
        return score / 20

    try:
        data = fs.get_features(custom_features=["momentum_score"])
    finally:
        fe.unregister("momentum_score")
    assert data["season"].min() == 1950 and data["season"].max() == 2024
    # every built-in known pre-race (not the race's own observed weather), then the custom feature
    pre_race = [c for c in feature_columns(GROUPS) if c != "observed_weather"]
    assert list(data.columns) == list(KEY_COLUMNS) + pre_race + ["momentum_score"]
    # Leclerc before Monaco 2024 (race-results.yml): Imola P3, Miami P3, China P4, Japan P4, Australia P2
    lec = data[(data["race_id"] == "2024-08") & (data["driver_id"] == "charles-leclerc")]
    expected = sum((21 - p) * w for p, w in zip([3, 3, 4, 4, 2], [0.35, 0.25, 0.20, 0.12, 0.08], strict=True)) / 20
    assert lec["momentum_score"].item() == pytest.approx(expected)


def test_filters(fs):
    df = fs.get_features(seasons=(2022, 2024), feature_groups=["driver"], circuits=["monaco", "monza"], teams="ferrari")
    assert set(df["season"]) == {2022, 2023, 2024}
    assert set(df["circuit_id"]) == {"monaco", "monza"} and set(df["constructor_id"]) == {"ferrari"}
    assert list(df.columns) == list(KEY_COLUMNS) + feature_columns(["driver"])
    wet = fs.get_features(seasons=(2018, 2024), conditions="wet", features=["career_wins"], drivers="lewis-hamilton")
    assert set(wet["race_id"]) >= {"2020-14", "2024-09"} and set(wet["driver_id"]) == {"lewis-hamilton"}
    # conditions= is a scenario on the race's observed weather, carried by the rows as such
    assert list(wet.columns) == list(KEY_COLUMNS) + ["career_wins", "scenario_weather"]
    assert set(wet["scenario_weather"]) == {"wet"}
    with pytest.raises(FeatureInputError, match="known only from post_race") as err:
        fs.get_features(seasons=2024, features=["observed_weather"])
    assert err.value.field == "features"
    both = fs.get_features(seasons=2024, feature_groups=["session"], moment="pre_qualifying", include_targets=True)
    assert both["start_position"].isna().all() and both["quali_gap_to_pole"].isna().all()
    assert all(c in both.columns for c in TARGET_COLUMNS)
    assert both[both["race_id"] == "2024-08"].set_index("driver_id").loc["charles-leclerc", "position"] == 1


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"feature_groups": ["driver", "tyres"]}, "feature_groups", "unknown group 'tyres'"),
        ({"moment": "post_race"}, "moment", "must be one of pre_qualifying, pre_race"),
        ({"custom_features": ["nope"]}, "custom_features", "unknown custom feature 'nope'"),
        ({"features": ["career_loses"]}, "features", "unknown built-in feature 'career_loses'"),
        ({"conditions": "damp"}, "conditions", "must be one of dry, mixed, wet"),
        ({"seasons": (2024, 2026)}, "seasons", r"no races in the store for \[2025, 2026\]"),
        ({"seasons": 2024, "circuits": "atlantis"}, "circuits", "unknown circuit id 'atlantis'"),
        ({"seasons": 2024, "drivers": ["max-verstappen", "nobody"]}, "drivers", "unknown driver id 'nobody'"),
        ({"seasons": 2024, "teams": 7}, "teams", "expected a string or a list of strings"),
    ],
)
def test_bad_arguments_name_the_parameter(fs, kwargs, field, message):
    with pytest.raises(ValueError, match=message) as err:
        fs.get_features(**kwargs)
    assert isinstance(err.value, FeatureInputError) and err.value.field == field
    assert err.value.http_status == 400


def test_targets_and_entrants_cover_the_same_rows(fs):
    t = fs.targets(seasons=2024)
    e = fs.entrants(seasons=2024)
    assert len(t) == len(e) == 479
    assert t[["race_id", "driver_id"]].equals(e[["race_id", "driver_id"]])


def test_features_for_an_upcoming_race(fs, shared_data):
    import pandas as pd
    import yaml

    entries = pd.DataFrame(
        {
            "season": [2025, 2025],
            "round": [1, 1],
            "driver_id": ["max-verstappen", "charles-leclerc"],
            "constructor_id": ["red-bull", "ferrari"],
            "circuit_id": ["melbourne", "melbourne"],
            "start_position": [2, 1],
        }
    )
    out = fs.features_for_entries(entries).set_index("driver_id")
    assert (out["race_id"] == "2025-01").all()
    assert out.loc["max-verstappen", "career_wins"] == 54 + 9  # nine wins in 2024
    assert out.loc["charles-leclerc", "start_position"] == 1  # given by the caller
    final = yaml.load(
        next((shared_data / "f1db/src/data/seasons/2024/races").glob("24-*"))
        .joinpath("constructor-standings.yml")
        .read_text(),
        Loader=yaml.CSafeLoader,
    )
    red_bull = next(r["position"] for r in final if r["constructorId"] == "red-bull")
    assert out.loc["max-verstappen", "constructor_position"] == red_bull == 3
    pre_q = fs.features_for_entries(entries, moment="pre_qualifying")
    assert pre_q["start_position"].isna().all()
    with pytest.raises(FeatureInputError, match="missing column 'circuit_id'"):
        fs.features_for_entries(entries.drop(columns="circuit_id"))
