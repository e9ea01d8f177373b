"""Auto-features on a small in-memory frame: lags, previous-race means, team-mate and field
differences, their known_at, and a leakage check (nothing from race M on moves race M's lags)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pitwall.features.auto import AutoFeatures, add_auto_features, auto_feature_names, auto_features_from
from pitwall.features.errors import FeatureInputError


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for rnd in range(1, 7):
        for d, team in (("a", "t1"), ("b", "t1"), ("c", "t2"), ("d", "t2")):
            rows.append(
                {
                    "season": 2024,
                    "round": rnd,
                    "race_id": f"2024-{rnd:02d}",
                    "driver_id": d,
                    "constructor_id": team,
                    "position": float(rng.permutation(4)[0] + 1),
                    "grid_position": float(rng.integers(1, 5)),
                }
            )
    return pd.DataFrame(rows).sample(frac=1.0, random_state=1).reset_index(drop=True)  # order must not matter


def _at(df: pd.DataFrame, rnd: int, driver: str, col: str) -> float:
    return float(df.loc[(df["round"] == rnd) & (df["driver_id"] == driver), col].iloc[0])


def test_lags_and_previous_means_look_back_per_driver(frame: pd.DataFrame) -> None:
    out, known = add_auto_features(frame, AutoFeatures(base=("position",), lags=(1, 2), windows=(3,), relative=()))
    assert _at(out, 4, "a", "position_lag1") == _at(frame, 3, "a", "position")
    assert _at(out, 4, "a", "position_lag2") == _at(frame, 2, "a", "position")
    expected = np.mean([_at(frame, r, "c", "position") for r in (2, 3, 4)])
    assert _at(out, 5, "c", "position_prev3_mean") == pytest.approx(expected)
    assert np.isnan(_at(out, 1, "b", "position_lag1")) and np.isnan(_at(out, 1, "b", "position_prev3_mean"))
    # the previous race's outcome is known before this weekend
    assert known == {
        "position_lag1": "pre_practice",
        "position_lag2": "pre_practice",
        "position_prev3_mean": "pre_practice",
    }
    assert list(known) == auto_feature_names(AutoFeatures(base=("position",), lags=(1, 2), windows=(3,), relative=()))


def test_teammate_and_field_differences(frame: pd.DataFrame) -> None:
    out, known = add_auto_features(frame, AutoFeatures(base=("grid_position",), lags=(), windows=()))
    race = out[out["round"] == 3].set_index("driver_id")
    assert race.loc["a", "grid_position_vs_teammate"] == race.loc["a", "grid_position"] - race.loc["b", "grid_position"]
    assert race["grid_position_vs_field"].sum() == pytest.approx(0.0)
    assert known["grid_position_vs_teammate"] == known["grid_position_vs_field"] == "pre_race"


def test_nothing_from_race_m_on_moves_race_m_lags(frame: pd.DataFrame) -> None:
    config = AutoFeatures(base=("position",), lags=(1, 3), windows=(2, 5), relative=())
    base, _ = add_auto_features(frame, config)
    changed = frame.copy()
    later = changed["round"] >= 4
    changed.loc[later, "position"] = (
        np.random.default_rng(9).permutation(changed.loc[later, "position"].to_numpy()) + 10
    )
    again, _ = add_auto_features(changed, config)
    cols = auto_feature_names(config)
    key = ["round", "driver_id"]
    a = base[base["round"] <= 4].sort_values(key)[cols].to_numpy()
    b = again[again["round"] <= 4].sort_values(key)[cols].to_numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(
        base[base["round"] == 5].sort_values(key)[cols].to_numpy(),
        again[again["round"] == 5].sort_values(key)[cols].to_numpy(),
    )


def test_bad_configurations_name_the_field(frame: pd.DataFrame) -> None:
    with pytest.raises(FeatureInputError, match="relative: 'position' is known only after the race"):
        add_auto_features(frame, AutoFeatures(base=("position",)))
    with pytest.raises(FeatureInputError, match="lags: 0"):
        AutoFeatures(base=("position",), lags=(0,))
    with pytest.raises(FeatureInputError, match="relative: 'rival'"):
        AutoFeatures(base=("position",), relative=("rival",))
    with pytest.raises(FeatureInputError, match="no known_at"):
        add_auto_features(frame.assign(mystery=1.0), AutoFeatures(base=("mystery",)))
    out, known = add_auto_features(
        frame.assign(mystery=1.0),
        AutoFeatures(base=("mystery",), relative=("field",)),
        known_at={"mystery": "pre_race"},
    )
    assert known["mystery_vs_field"] == "pre_race" and (out["mystery_vs_field"] == 0).all()
    assert auto_features_from({"base": ["position"], "lags": [2]}).lags == (2,)
    with pytest.raises(FeatureInputError, match="unknown key"):
        auto_features_from({"base": ["position"], "lag": [2]})
