"""Inputs the race-result frames derive themselves: the log quali gap of race_winner."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pitwall.templates.race_winner import SPEC, WINNER_MONOTONE
from pitwall.templates.ranking import quali_gap_log


def test_quali_gap_log_is_log1p_of_the_gap_with_negatives_at_pole_and_unknown_kept() -> None:
    gap = pd.Series([0.0, 0.25, 1.0, 3.0, -0.01, np.nan])
    out = quali_gap_log(gap)
    assert np.allclose(out[:4], np.log1p([0.0, 0.25, 1.0, 3.0]))
    assert out[4] == 0.0  # a negative gap (timing noise) counts as pole
    assert np.isnan(out[5])  # unknown stays unknown (the model imputes it)
    assert np.all(np.diff(out[:4]) > 0)  # order of the gaps kept: a monotone input


def test_race_winner_grid_and_gap_inputs_are_signed() -> None:
    # every input that follows the grid or the qualifying gap carries a sign, so a better slot
    # or a smaller gap never lowers p(win)
    for feature in ("start_position", "grid_log_rate", "grid_lock", "quali_gap_log"):
        assert feature in SPEC.features
        assert WINNER_MONOTONE[feature] == (1 if feature == "grid_log_rate" else -1)
