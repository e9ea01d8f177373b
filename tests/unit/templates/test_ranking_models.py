"""The race-wise conditional logit (pitwall.ml.ranking_models) on synthetic races: it recovers
the weights it was simulated with, keeps its sign constraints, sums to 1 per race, and saves and
loads through the safe artifact path (skops) predicting the same probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pitwall.ml import ModelBuilder, load_model
from pitwall.ml.errors import MLInputError
from pitwall.ml.ranking_models import ConditionalLogit, plackett_luce_top_k, race_softmax

TRUE_W = np.array([1.5, -0.8, 0.0])


def _races(n_races: int = 300, drivers: int = 20, seed: int = 0) -> pd.DataFrame:
    """Races whose winner is drawn from softmax(X @ TRUE_W) among its drivers."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(n_races):
        X = rng.normal(size=(drivers, 3))
        s = X @ TRUE_W
        p = np.exp(s - s.max())
        p /= p.sum()
        winner = rng.choice(drivers, p=p)
        for i in range(drivers):
            rows.append(
                {
                    "season": 2000 + r // 20,
                    "round": r % 20 + 1,
                    "race_id": f"r{r:04d}",
                    "driver_id": f"d{i:02d}",
                    "a": X[i, 0],
                    "b": X[i, 1],
                    "c": X[i, 2],
                    "position": 1.0 if i == winner else 2.0 + i,
                }
            )
    return pd.DataFrame(rows)


def _xy(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return df[["a", "b", "c"]].to_numpy(), (df["position"] == 1).to_numpy(float), df["race_id"].to_numpy()


def test_recovers_the_simulated_weights() -> None:
    X, y, g = _xy(_races())
    model = ConditionalLogit(l2=0.0).fit(X, y, g)
    w = model.coef_ / X.std(axis=0)  # back from standardised inputs
    assert np.allclose(w, TRUE_W, atol=0.3), w


def test_sign_constraints_are_kept() -> None:
    X, y, g = _xy(_races(n_races=150))
    free = ConditionalLogit(l2=0.0).fit(X, y, g)
    assert free.coef_[0] > 0.5
    held = ConditionalLogit(l2=0.0, monotone=[-1, 0, 1]).fit(X, y, g)  # 'a' may only lower the score
    assert held.coef_[0] <= 0.0
    assert held.coef_[2] >= 0.0


def test_probabilities_are_a_softmax_per_race() -> None:
    df = _races(n_races=120)
    builder = ModelBuilder(task="ranking", target="position", features=["a", "b", "c"], top_k=1)
    model = builder.train(df[df["season"] < 2005], algorithm="conditional_logit")
    test = df[df["season"] == 2005]
    p = model.predict_proba(test)
    sums = pd.Series(p).groupby(test["race_id"].to_numpy()).sum()
    assert np.allclose(sums, 1.0)
    # the same softmax computed from the weights directly
    pipe = model.estimator
    s = pipe[-1].decision_function(pipe[:-1].transform(test[["a", "b", "c"]].to_numpy()))
    order = np.argsort(test["race_id"].to_numpy(), kind="mergesort")
    codes = pd.factorize(test["race_id"].to_numpy()[order])[0]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    exact = np.empty_like(s)
    exact[order] = race_softmax(s[order], starts, codes)
    assert np.allclose(p, exact, rtol=1e-3)


def test_saved_model_predicts_the_same(tmp_path) -> None:  # noqa: ANN001
    df = _races(n_races=60)
    builder = ModelBuilder(task="ranking", target="position", features=["a", "b", "c"], top_k=1)
    model = builder.train(df, algorithm="conditional_logit", params={"l2": 0.01})
    model.save(tmp_path / "cl")
    loaded = load_model(tmp_path / "cl")
    assert loaded.algorithm == "conditional_logit"
    assert np.allclose(loaded.predict_proba(df), model.predict_proba(df))


def test_refuses_a_task_without_races() -> None:
    df = _races(n_races=30)
    df["won"] = (df["position"] == 1).astype(int)
    builder = ModelBuilder(task="classification", target="won", features=["a", "b", "c"])
    with pytest.raises(MLInputError, match="conditional_logit"):
        builder.train(df, algorithm="conditional_logit")


def _top3_by_enumeration(strength: np.ndarray) -> np.ndarray:
    """P(i in the top 3) under Plackett-Luce, summed over every (first, second, third) order."""
    w = strength / strength.sum()
    n = len(w)
    p = np.zeros(n)
    for a in range(n):
        for b in range(n):
            for c in range(n):
                if len({a, b, c}) < 3:
                    continue
                prob = w[a] * w[b] / (1 - w[a]) * w[c] / (1 - w[a] - w[b])
                p[[a, b, c]] += prob
    return p


def test_plackett_luce_top_3_is_exact() -> None:
    rng = np.random.default_rng(1)
    strength = np.exp(rng.normal(0.0, 1.5, size=(3, 20)))
    groups = np.repeat(["r1", "r2", "r3"], 20)
    p = plackett_luce_top_k(strength.ravel(), groups, 3)
    exact = np.concatenate([_top3_by_enumeration(s) for s in strength])
    assert np.allclose(p, exact, atol=1e-5)
    assert np.allclose(pd.Series(p).groupby(groups).sum(), 3.0, atol=1e-5)
    # a stronger driver is likelier to finish in the top 3
    order = np.argsort(strength[0])
    assert np.all(np.diff(p[:20][order]) > 0)


def test_plackett_luce_top_10_matches_simulated_races() -> None:
    rng = np.random.default_rng(2)
    strength = np.exp(rng.normal(0.0, 1.0, size=20))
    p = plackett_luce_top_k(strength, np.zeros(20), 10)
    # Gumbel-max sampling draws whole Plackett-Luce orders (fixed seed)
    draws = np.log(strength) + rng.gumbel(size=(100_000, 20))
    top10 = np.argsort(-draws, axis=1)[:, :10]
    simulated = np.bincount(top10.ravel(), minlength=20) / 100_000
    assert np.abs(p - simulated).max() < 0.006  # about 4 standard errors of the simulation
    assert p.sum() == pytest.approx(10.0, abs=1e-4)


def test_plackett_luce_top_1_is_the_softmax_and_small_races_all_score() -> None:
    strength = np.array([4.0, 2.0, 1.0, 1.0, 0.5, 0.5])
    groups = np.array(["a"] * 4 + ["b"] * 2)
    p1 = plackett_luce_top_k(strength, groups, 1)
    assert np.allclose(p1[:4], strength[:4] / strength[:4].sum())
    assert np.allclose(plackett_luce_top_k(strength, groups, 3)[4:], 1.0)  # race of 2: both in the top 3
    with pytest.raises(MLInputError, match="strength"):
        plackett_luce_top_k(np.array([1.0, 0.0]), np.zeros(2), 1)
