"""The numpy-free prediction step of the cloud poller: LightGBM text trees evaluated in Python give
LightGBM's own numbers (NaNs, monotone constraints, binary and regression), and the lean helpers
keep their distribution properties."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pitwall.live.predictors import FEATURES, LiveModelError, TreeEnsemble, normalise, softmax


def _data(n: int = 3000, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURES)))
    x[rng.random(x.shape) < 0.15] = np.nan  # gaps unknown for lapped cars, tyre age unknown...
    x[:, 9] = rng.integers(0, 5, n)  # compound code
    x[rng.random(n) < 0.2, 9] = np.nan
    x[:, 13] = np.where(rng.random(n) < 0.8, 0.0, rng.integers(1, 3, n))  # laps down: mostly exactly 0
    y = (np.nan_to_num(x[:, 3]) + 0.5 * np.nan_to_num(x[:, 4]) + rng.normal(scale=0.5, size=n) < -0.8).astype(float)
    return x, y


@pytest.mark.parametrize("objective", ["binary", "regression"])
def test_python_trees_give_lightgbms_predictions(objective: str) -> None:
    import lightgbm as lgb

    x, y = _data()
    target = y if objective == "binary" else np.nan_to_num(x[:, 3]) * 2 + y
    mono = [-1 if f in ("position", "gap_to_leader_s") else 0 for f in FEATURES]
    params = {"objective": objective, "num_leaves": 7, "min_data_in_leaf": 30, "verbose": -1, "seed": 1}
    if objective == "binary":
        params["monotone_constraints"] = mono
    booster = lgb.train(params, lgb.Dataset(x, target, feature_name=list(FEATURES)), num_boost_round=60)
    ensemble = TreeEnsemble.from_text(booster.model_to_string())

    test, _ = _data(400, seed=11)
    test[:5] = np.nan  # every feature missing
    test[5:10] = 0.0  # exactly zero everywhere
    raw = booster.predict(test, raw_score=True)
    out = booster.predict(test)
    assert len(ensemble.trees) == booster.num_trees()
    assert ensemble.feature_names == tuple(FEATURES)
    assert [ensemble.raw(list(r)) for r in test] == pytest.approx(list(raw), abs=1e-12)
    assert [ensemble.predict(list(r)) for r in test] == pytest.approx(list(out), abs=1e-12)


def test_an_unsupported_objective_is_refused_by_name() -> None:
    import lightgbm as lgb

    x, y = _data(300)
    booster = lgb.train(
        {"objective": "multiclass", "num_class": 2, "verbose": -1}, lgb.Dataset(x, y), num_boost_round=2
    )
    with pytest.raises(LiveModelError, match="objective"):
        TreeEnsemble.from_text(booster.model_to_string())


def test_lean_softmax_and_normalise_are_distributions() -> None:
    p = softmax([3.0, 1.0, -2.0, 800.0])
    assert math.isclose(sum(p), 1.0) and max(range(4), key=p.__getitem__) == 3
    q = normalise([0.99, 0.98, 0.97, 0.5, 0.01], 3.0)
    assert math.isclose(sum(q), 3.0) and max(q) <= 1.0 + 1e-12
    assert q == sorted(q, reverse=True)
    assert normalise([0.2, 0.1], 3.0) == [1.0, 1.0]
