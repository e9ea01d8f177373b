"""``normalise_top_k``: per-race water filling, the same values as the plain groupby loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pitwall.ml.model import PROB_CAP, normalise_top_k


def _reference(prob: np.ndarray, groups: np.ndarray, k: int) -> np.ndarray:
    """The original implementation (pandas groupby over the rows of each group)."""
    out = np.empty(len(prob), dtype=np.float64)
    for idx in pd.Series(np.arange(len(prob))).groupby(pd.Series(groups), sort=False).indices.values():
        p = np.clip(prob[idx].astype(np.float64), 1e-12, None)
        if len(p) * PROB_CAP <= k:
            out[idx] = 1.0
            continue
        capped = np.zeros(len(p), dtype=bool)
        while True:
            scale = (k - PROB_CAP * capped.sum()) / p[~capped].sum()
            q = np.where(capped, PROB_CAP, p * scale)
            newly = (q > PROB_CAP) & ~capped
            if not newly.any():
                break
            capped |= newly
        out[idx] = q
    return out


@pytest.mark.parametrize("seed", range(6))
def test_same_values_as_the_groupby_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n = int(rng.integers(1, 120))
        names = [f"2024-{i:02d}" for i in range(int(rng.integers(1, 12)))]
        groups = rng.choice(names, n) if seed % 2 else rng.integers(0, 12, n)  # interleaved rows
        prob = rng.random(n) ** rng.uniform(0.2, 6.0)  # skewed: some groups need capping
        prob[rng.random(n) < 0.2] = 0.0
        k = int(rng.integers(1, 5))
        got = normalise_top_k(prob, groups, k)
        assert np.array_equal(got, _reference(prob, groups, k))
        for g in np.unique(groups):
            rows = groups == g
            assert got[rows].max() <= PROB_CAP + 1e-12 or rows.sum() * PROB_CAP <= k
            assert got[rows].sum() == pytest.approx(min(k, rows.sum()) if rows.sum() * PROB_CAP > k else rows.sum())


def test_a_dominant_driver_is_capped_and_the_rest_refilled() -> None:
    prob = np.array([1.0, 0.001, 0.001, 0.001, 0.5, 0.25, 0.25])
    groups = np.array(["a", "a", "a", "a", "b", "b", "b"])
    got = normalise_top_k(prob, groups, 1)
    assert got[0] == PROB_CAP and got[1:4] == pytest.approx([(1 - PROB_CAP) / 3] * 3)
    assert got[4:] == pytest.approx([0.5, 0.25, 0.25])
