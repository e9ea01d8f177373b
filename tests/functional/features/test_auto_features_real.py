"""Auto-features on the real 2023-2024 feature frame: Leclerc's previous results as inputs."""

from __future__ import annotations

import pytest

from pitwall.features import AutoFeatures, FeatureStore, add_auto_features


def test_previous_results_as_inputs_on_real_data(feature_lake) -> None:
    fs = FeatureStore(feature_lake)
    df = fs.get_features(seasons=[2023, 2024], feature_groups=["driver", "session"])
    targets = fs.targets([2023, 2024])[["race_id", "driver_id", "position"]]
    df = df.merge(targets, on=["race_id", "driver_id"], how="left")
    config = AutoFeatures(base=("position", "start_position"), lags=(1,), windows=(3,), relative=())
    out, known = add_auto_features(df, config)
    leclerc = out[out["driver_id"] == "charles-leclerc"].sort_values(["season", "round"]).set_index(["season", "round"])
    # Monaco 2024 (round 8): his previous race was Imola (round 7), where he finished 3rd
    assert leclerc.loc[(2024, 8), "position_lag1"] == leclerc.loc[(2024, 7), "position"] == 3
    expected = leclerc.loc[[(2024, 5), (2024, 6), (2024, 7)], "start_position"].mean()
    assert leclerc.loc[(2024, 8), "start_position_prev3_mean"] == pytest.approx(expected)
    assert known["position_lag1"] == "pre_practice"
    # the grid-relative difference of a pre-race input is allowed and centred on the field
    rel, rel_known = add_auto_features(df, AutoFeatures(base=("start_position",), lags=(), windows=()))
    monaco = rel[rel["race_id"] == leclerc.loc[(2024, 8), "race_id"]]
    assert monaco["start_position_vs_field"].sum() == pytest.approx(0.0, abs=1e-9)
    assert rel_known["start_position_vs_teammate"] == "pre_race"
