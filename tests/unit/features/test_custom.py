"""Custom features: registration rules, point-in-time driver_data, error reporting."""

from __future__ import annotations

import pytest

from pitwall.features import CustomFeatureError, FeatureEngineer, FeatureInputError
from pitwall.features.compute import compute_features
from pitwall.features.custom import driver_data_records


def _records(inputs, moment="pre_race"):
    frame = compute_features(inputs, moment=moment)
    return {(r["race_id"], r["driver_id"]): r for r in driver_data_records(inputs, frame, moment)}


def test_driver_data_holds_histories_most_recent_first(inputs):
    recs = _records(inputs)
    a = recs[("2021-01", "a")]
    assert a["positions_last_5"] == [1, 21, 1]
    assert a["points_last_5"] == [25.0, 0.0, 25.0]
    assert a["quali_positions_last_5"] == [1, 2, 2]
    assert a["grid_last_5"] == [1, 2, 2]
    assert a["grid"] == 2 and a["quali_position"] == 2
    assert a["career_wins"] == 2.0 and a["moment"] == "pre_race"
    assert recs[("2021-01", "d")]["positions_last_5"] == [4, 3]  # the DNQ is not a start
    assert recs[("2020-02", "c")]["grid_last_5"] == [3]
    assert recs[("2020-01", "a")]["positions_last_5"] == []


def test_pre_qualifying_driver_data_hides_the_grid(inputs):
    a = _records(inputs, "pre_qualifying")[("2021-01", "a")]
    assert a["grid"] is None and a["quali_position"] is None and a.get("start_position") is None
    assert a["positions_last_5"] == [1, 21, 1]


def test_notebook_momentum_score(inputs):
    fe = FeatureEngineer(registry={})

    @fe.register("momentum_score")
    def momentum_score(driver_data):
        recent_positions = driver_data["positions_last_5"]
        weights = [0.35, 0.25, 0.20, 0.12, 0.08]
        score = sum((21 - pos) * weight for pos, weight in zip(recent_positions, weights))  # noqa: B905 - the notebook snippet, verbatim
        return score / 20

    recs = _records(inputs)
    keys = [("2021-01", "a"), ("2020-01", "a")]
    out = fe.compute(["momentum_score"], [recs[k] for k in keys])
    assert out["momentum_score"].tolist() == pytest.approx([(20 * 0.35 + 0 * 0.25 + 20 * 0.20) / 20, 0.0])


def test_registration_rules():
    fe = FeatureEngineer(registry={})
    with pytest.raises(FeatureInputError, match="built-in"):
        fe.register("career_wins")
    with pytest.raises(FeatureInputError, match="not a valid feature name"):
        fe.register("Bad Name")
    fe.register("twice")(lambda d: 1)
    fe.register("twice")(lambda d: 2)  # re-running a notebook cell replaces the function
    assert fe.compute(["twice"], [{}])["twice"].tolist() == [2.0]
    fe.unregister("twice")
    with pytest.raises(FeatureInputError, match="unknown custom feature 'twice'") as err:
        fe.get("twice")
    assert err.value.field == "custom_features"


def test_default_registry_is_shared_between_engineers():
    first = FeatureEngineer()
    first.register("shared_probe_feature")(lambda d: 1.0)
    try:
        assert "shared_probe_feature" in FeatureEngineer().names()
        assert "shared_probe_feature" not in FeatureEngineer(registry={}).names()
    finally:
        first.unregister("shared_probe_feature")


def test_failures_name_the_feature_and_row():
    fe = FeatureEngineer(registry={})
    fe.register("boom")(lambda d: 1 / 0)
    fe.register("texty")(lambda d: "fast")
    row = {"race_id": "2024-08", "driver_id": "charles-leclerc"}
    with pytest.raises(CustomFeatureError, match="'boom' failed for race 2024-08 driver charles-leclerc"):
        fe.compute(["boom"], [row])
    with pytest.raises(CustomFeatureError, match="'texty' returned str"):
        fe.compute(["texty"], [row])
    assert fe.compute(["boom"], []).empty
