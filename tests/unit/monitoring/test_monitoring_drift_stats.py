"""PSI, KS and missing rate on synthetic samples with answers computed independently."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from pitwall.monitoring import drift


def test_psi_of_identical_samples_is_zero() -> None:
    x = np.random.default_rng(0).normal(size=5000)
    assert drift.psi(x, x) == pytest.approx(0.0, abs=1e-12)


def test_psi_known_answer_on_decile_bins() -> None:
    # training: 10,000 evenly spread values, so its deciles are exactly 0.1 wide; served: 60 %
    # of the mass in the lower half (12 % per decile) and 40 % in the upper half (8 % per decile),
    # with every value strictly inside its decile
    expected = (np.arange(10_000) + 0.5) / 10_000
    lower = (np.arange(6_000) + 0.5) / 6_000 * 0.5
    upper = 0.5 + (np.arange(4_000) + 0.5) / 4_000 * 0.5
    actual = np.concatenate([lower, upper])
    answer = 5 * (0.12 - 0.10) * math.log(0.12 / 0.10) + 5 * (0.08 - 0.10) * math.log(0.08 / 0.10)
    assert drift.psi(expected, actual) == pytest.approx(answer, rel=1e-9)


def test_psi_discrete_values_bin_by_value_with_an_unseen_bin() -> None:
    expected = np.array([1.0] * 50 + [2.0] * 50)
    actual = np.array([1.0] * 20 + [2.0] * 60 + [3.0] * 20)  # 3 was never seen in training
    eps = drift.PSI_EPSILON
    answer = (0.2 - 0.5) * math.log(0.2 / 0.5) + (0.6 - 0.5) * math.log(0.6 / 0.5) + (0.2 - eps) * math.log(0.2 / eps)
    assert drift.psi(expected, actual) == pytest.approx(answer, rel=1e-9)


def test_psi_ignores_missing_values_and_missing_rate_counts_them() -> None:
    expected = np.array([1.0, 2.0, np.nan, 2.0])
    actual = np.array([np.nan, np.nan, 1.0, 2.0, 2.0, 1.0])
    assert drift.missing_rate(expected) == pytest.approx(0.25)
    assert drift.missing_rate(actual) == pytest.approx(2 / 6)
    assert drift.psi(expected, actual) == pytest.approx(drift.psi([1.0, 2.0, 2.0], [1.0, 2.0, 2.0, 1.0]))


def test_psi_grows_with_the_shift() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(size=4000)
    small, large = drift.psi(base, rng.normal(0.1, 1, 4000)), drift.psi(base, rng.normal(1.0, 1, 4000))
    assert small < 0.1 < 0.2 < large


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ks_statistic_and_pvalue_match_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, 1.0, 700)
    b = rng.normal(0.2, 1.3, 450)
    ref = stats.ks_2samp(a, b, method="asymp")
    d = drift.ks_statistic(a, b)
    assert d == pytest.approx(ref.statistic, abs=1e-12)
    assert drift.ks_pvalue(d, len(a), len(b)) == pytest.approx(ref.pvalue, rel=1e-9)


def test_ks_with_ties_matches_scipy() -> None:
    a = np.array([1, 1, 2, 3, 3, 3, 5], dtype=float)
    b = np.array([1, 2, 2, 2, 4, 5, 5, 5], dtype=float)
    assert drift.ks_statistic(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)


def test_column_drift_without_served_values_has_no_statistics() -> None:
    c = drift.column_drift("x", np.array([1.0, 2.0]), np.array([np.nan]))
    assert c.psi is None and c.ks is None and c.missing_served == 1.0 and c.n_served == 1


def test_empty_sample_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="non-missing"):
        drift.psi([np.nan], [1.0])


def test_lookup_values_that_moved_slightly_are_the_same_bin() -> None:
    # a rate per grid slot, recomputed each season: 0.0080 -> 0.0087 is the same slot, not a shift
    train = np.array([0.0080] * 50 + [0.0100] * 50 + [0.5] * 50 + [0.26] * 50)
    served = np.array([0.0087] * 50 + [0.0095] * 50 + [0.52] * 50 + [0.25] * 50)
    assert drift.psi(train, served) == pytest.approx(0.0, abs=1e-12)
    # moving half of the low-rate mass to the high rate is a shift: shares 0.5/0.25/0.25 -> 0.25/0.5/0.25
    shifted = np.array([0.0080] * 50 + [0.5] * 100 + [0.26] * 50)
    answer = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.5 - 0.25) * math.log(0.5 / 0.25)
    assert drift.psi(train, shifted) == pytest.approx(answer, rel=1e-9)
