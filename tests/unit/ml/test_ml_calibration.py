"""Platt calibration on out-of-sample outputs and monotone-constraint parameters."""

from __future__ import annotations

import numpy as np
import pytest

from pitwall.ml.calibration import apply_calibration, fit_platt, platt
from pitwall.ml.errors import MLInputError
from pitwall.ml.model import monotone_params


def test_fit_platt_recovers_an_overconfident_model_and_keeps_the_order() -> None:
    rng = np.random.default_rng(0)
    true_p = rng.uniform(0.05, 0.95, 4000)
    y = (rng.uniform(size=true_p.size) < true_p).astype(float)
    logit = np.log(true_p / (1 - true_p))
    overconfident = 1 / (1 + np.exp(-2.5 * logit))
    cal = fit_platt(overconfident, y)
    assert cal["method"] == "platt" and cal["slope"] == pytest.approx(0.4, abs=0.08)
    fixed = apply_calibration(np.column_stack([1 - overconfident, overconfident]), cal)
    assert np.allclose(fixed.sum(axis=1), 1.0)
    order = np.argsort(overconfident)
    assert np.all(np.diff(fixed[order, 1]) >= -1e-12)  # calibration never reorders

    def ll(p: np.ndarray) -> float:
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    assert ll(fixed[:, 1]) < ll(overconfident)


def test_fit_platt_for_ranking_scores_the_per_race_normalised_probability() -> None:
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(60), 10)
    strength = rng.normal(size=groups.size)
    y = np.zeros(groups.size)
    for g in range(60):  # one winner per race, drawn from softmax(strength)
        idx = np.flatnonzero(groups == g)
        w = np.exp(strength[idx])
        y[rng.choice(idx, p=w / w.sum())] = 1
    raw = 1 / (1 + np.exp(-(3 * strength - 2)))  # too sharp
    cal = fit_platt(raw, y, groups, k=1)
    assert 0 < cal["slope"] < 1
    with pytest.raises(MLInputError, match="20"):
        fit_platt(raw[:5], y[:5])
    assert platt(np.array([0.5]), 1.0, 0.0)[0] == pytest.approx(0.5)


def test_monotone_params_align_with_the_feature_list() -> None:
    params = {"monotone_constraints": {"grid": -1, "points": 1}, "max_depth": 3}
    xgb = monotone_params("xgboost", params, ["points", "other", "grid"])
    assert xgb == {"monotone_constraints": "(1,0,-1)", "max_depth": 3}
    assert monotone_params("lightgbm", params, ["grid"])["monotone_constraints"] == [-1]
    assert "monotone_constraints" not in monotone_params("logistic", params, ["grid"])
    assert "monotone_constraints" not in monotone_params("xgboost", params, ["other"])
    with pytest.raises(MLInputError, match="monotone"):
        monotone_params("xgboost", {"monotone_constraints": {"grid": 2}}, ["grid"])
