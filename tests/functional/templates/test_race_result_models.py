"""Race-result templates on real data: the demo's Monaco 2024 favourite, monotonicity in the
grid, and what-if grids seen consistently."""

from __future__ import annotations

import numpy as np
import pytest

from pitwall.data.store import LocalStore
from pitwall.templates import prediction_frame
from pitwall.training import train_template

MONACO_2024 = (2024, 8)


@pytest.fixture(scope="module")
def demo_winner(feature_lake: LocalStore):  # type: ignore[no-untyped-def]
    """race_winner trained as `make demo` does: default recipe on 2014-2023."""
    result = train_template("race_winner", seasons=range(2014, 2024), store=feature_lake, track=False, register=False)
    return result.model


def test_monaco_2024_favourite_starts_from_the_front_row(demo_winner, feature_lake: LocalStore) -> None:
    rows = prediction_frame("race_winner", feature_lake, *MONACO_2024)
    ranked = demo_winner.rank(rows)
    favourite = ranked.iloc[0]["driver_id"]
    slot = rows.loc[rows["driver_id"] == favourite, "start_position"].item()
    assert slot <= 2, f"favourite {favourite} starts P{slot:.0f}"
    assert ranked["probability"].sum() == pytest.approx(1.0)
    # the model is calibrated at all: a pole-sitter at Monaco is far from a coin toss but not certain
    assert 0.2 < ranked.iloc[0]["probability"] < 0.95


@pytest.mark.parametrize("driver", ["max-verstappen", "charles-leclerc", "lewis-hamilton"])
def test_moving_up_the_grid_never_lowers_p_win(demo_winner, feature_lake: LocalStore, driver: str) -> None:
    probs = []
    for slot in range(20, 0, -1):
        rows = prediction_frame("race_winner", feature_lake, *MONACO_2024, overrides={"start_position": {driver: slot}})
        p = demo_winner.predict_proba(rows)
        probs.append(float(p[(rows["driver_id"] == driver).to_numpy()][0]))
    assert np.all(np.diff(probs) >= -1e-9), probs
    assert probs[-1] > probs[0]


def test_a_what_if_grid_moves_the_inputs_derived_from_it(feature_lake: LocalStore) -> None:
    rows = prediction_frame("race_winner", feature_lake, *MONACO_2024)
    moved = prediction_frame(
        "race_winner", feature_lake, *MONACO_2024, overrides={"start_position": {"max-verstappen": 1}}
    )
    pole_rate = rows.loc[rows["start_position"] == 1, "grid_slot_rate"].item()
    ver = moved["driver_id"] == "max-verstappen"
    assert moved.loc[ver, "grid_slot_rate"].item() == pytest.approx(pole_rate)
    assert moved.loc[ver, "grid_lock"].item() == 0.0
    assert moved.loc[ver, "baseline_grid"].item() == -1.0


def test_slot_rate_baseline_is_a_probability_per_race(feature_lake: LocalStore) -> None:
    from pitwall.features import FeatureStore
    from pitwall.templates import get_template

    for name, k in (("race_winner", 1), ("podium", 3), ("points", 10)):
        frame = get_template(name).frame(FeatureStore(feature_lake), [2023])
        sums = frame.groupby("race_id")["baseline_grid_slot_rate"].sum()
        assert np.allclose(sums, k)
        rate = frame.groupby("start_position")["grid_slot_rate"].mean()
        assert rate.loc[1.0] > rate.loc[10.0]  # from earlier seasons: pole beats P10
