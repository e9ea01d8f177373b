"""Proper scores and the paired bootstrap of pitwall.ml.compare."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pitwall.ml import compare as C
from pitwall.ml.errors import MLInputError


def test_log_loss_and_brier_match_their_definitions() -> None:
    y = np.array([1, 0, 1, 0])
    p = np.array([0.9, 0.2, 0.5, 0.0])
    assert C.log_loss(y, p)[:3] == pytest.approx([-np.log(0.9), -np.log(0.8), -np.log(0.5)])
    assert C.log_loss(y, p)[3] == pytest.approx(0.0, abs=1e-12)  # clipped, finite
    assert C.brier(y, p) == pytest.approx([0.01, 0.04, 0.25, 0.0])
    with pytest.raises(MLInputError, match="prob"):
        C.log_loss(y, np.array([0.1, 1.2, 0.3, 0.4]))


def test_winner_nll_normalises_each_race() -> None:
    groups = ["a", "a", "a", "b", "b"]
    prob = [2.0, 1.0, 1.0, 0.3, 0.3]  # race a sums to 4, race b to 0.6
    won = [0, 1, 0, 1, 0]
    nll = C.winner_nll(prob, won, groups)
    assert nll["a"] == pytest.approx(-np.log(0.25))
    assert nll["b"] == pytest.approx(-np.log(0.5))


def test_ranked_probability_score_is_brier_with_one_threshold_and_penalises_distance() -> None:
    pos = np.array([1.0, 4.0, np.nan])
    one = C.ranked_probability_score(np.array([0.6, 0.2, 0.1]), pos, [1])
    assert one == pytest.approx(C.brier([1, 0, 0], [0.6, 0.2, 0.1]))
    cum_near = np.array([[0.0, 0.9, 1.0]])  # mass on 2-3: near a P2 finish
    cum_far = np.array([[0.0, 0.0, 0.2]])  # mass beyond P10
    assert (
        C.ranked_probability_score(cum_near, [2.0], [1, 3, 10])[0]
        < C.ranked_probability_score(cum_far, [2.0], [1, 3, 10])[0]
    )


def test_reliability_table_bins_and_ece() -> None:
    p = np.array([0.05, 0.05, 0.95, 0.95, 0.55])
    y = np.array([0, 0, 1, 1, 0])
    table = C.reliability_table(y, p, n_bins=10)
    assert table["rows"].sum() == 5
    assert list(table["observed"]) == [0.0, 0.0, 1.0]
    assert C.expected_calibration_error(y, p, 10) == pytest.approx((2 * 0.05 + 2 * 0.05 + 0.55) / 5)


def test_paired_bootstrap_calls_a_clear_win_a_loss_and_a_tie() -> None:
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(24), 20)
    base = rng.uniform(0.5, 1.5, groups.size)
    win = C.paired_bootstrap(base - 0.2, base, groups, n_boot=500)
    assert win.verdict == "win" and win.high < 0 and win.n_races == 24 and win.n_rows == 480
    assert win.mean_difference == pytest.approx(-0.2)
    loss = C.paired_bootstrap(base + 0.2, base, groups, n_boot=500)
    assert loss.verdict == "loss" and loss.low > 0
    noise = rng.normal(0.0, 1.0, groups.size)
    tie = C.paired_bootstrap(base + noise, base + noise[::-1], groups, n_boot=500)
    assert tie.verdict == "tie" and tie.low < 0 < tie.high
    hits = C.paired_bootstrap(np.ones(24), np.zeros(24), np.arange(24), n_boot=500, higher_is_better=True)
    assert hits.verdict == "win"


def test_paired_bootstrap_resamples_races_not_rows() -> None:
    # one race carries the whole difference: resampling races gives a wide interval (a tie),
    # resampling rows would not
    groups = np.repeat(np.arange(10), 20)
    diff = np.where(groups == 0, -1.0, 0.0)
    res = C.paired_bootstrap(diff, np.zeros_like(diff), groups, n_boot=1000)
    assert res.verdict == "tie" and res.low < 0 and res.high == pytest.approx(0.0)


def test_paired_bootstrap_is_seeded_and_checks_its_input() -> None:
    groups = np.repeat(np.arange(8), 5)
    a, b = np.linspace(0, 1, 40), np.linspace(0, 1, 40)[::-1]
    assert C.paired_bootstrap(a, b, groups, seed=3) == C.paired_bootstrap(a, b, groups, seed=3)
    with pytest.raises(MLInputError, match="lengths"):
        C.paired_bootstrap(a, b[:-1], groups)
    with pytest.raises(MLInputError, match="n_boot"):
        C.paired_bootstrap(a, b, groups, n_boot=10)


def test_strongest_picks_the_best_finite_baseline() -> None:
    assert C.strongest({"grid": 0.3, "slot_rate": 0.2, "bad": float("nan")}) == "slot_rate"
    assert C.strongest({"grid": 0.5, "practice": 0.4}, higher_is_better=True) == "grid"
    assert isinstance(C.normalise_per_race([1, 1, 0, 0], pd.Series(["a", "a", "b", "b"]))[2], float)
