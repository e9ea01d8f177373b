"""Metric functions, checked against scikit-learn / scipy on small in-memory frames.

The ranking frame holds the real top of the 2023 Bahrain GP (Verstappen, Perez, Alonso,
Sainz, Hamilton) and the 2023 Saudi Arabian GP (Perez, Verstappen, Alonso, Russell,
Hamilton); scores are arbitrary predictions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn import metrics as skm

from pitwall.ml.errors import MLInputError
from pitwall.ml.metrics import (
    classification_metrics,
    default_metric,
    direction,
    ranking_metrics,
    regression_metrics,
)
from pitwall.ml.model import normalise_top_k


def _races() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "race_id": ["2023-01"] * 6 + ["2023-02"] * 6,
            "driver_id": [
                "max-verstappen",
                "sergio-perez",
                "fernando-alonso",
                "carlos-sainz-jr",
                "lewis-hamilton",
                "charles-leclerc",
                "sergio-perez",
                "max-verstappen",
                "fernando-alonso",
                "george-russell",
                "lewis-hamilton",
                "lando-norris",
            ],
            "position": pd.array([1, 2, 3, 4, 5, None, 1, 2, 3, 4, 5, 17], dtype="Int64"),
            # race 1: predicted order VER, LEC, PER, ALO ... ; race 2: VER first, PER second
            "score": [0.9, 0.5, 0.3, 0.2, 0.1, 0.6, 0.7, 0.8, 0.4, 0.3, 0.2, 0.05],
        }
    )


def test_ranking_metrics_match_hand_counts() -> None:
    df = _races()
    out = ranking_metrics(df, "score", "position", "race_id", k=3)
    # race 1: predicted winner VER won; race 2: predicted winner VER finished 2nd
    assert out["top1_accuracy"] == pytest.approx(0.5)
    # actual winner within predicted top 3: race 1 yes (VER), race 2 yes (PER 2nd-ranked)
    assert out["topk_accuracy"] == pytest.approx(1.0)
    # overlap: race 1 predicted {VER, LEC, PER} vs actual {VER, PER, ALO} -> 2/3; race 2 {VER, PER, ALO} -> 3/3
    assert out["topk_overlap"] == pytest.approx((2 / 3 + 1) / 2)
    rho1 = spearmanr([0.9, 0.5, 0.3, 0.2, 0.1], [-1, -2, -3, -4, -5]).statistic
    rho2 = spearmanr([0.7, 0.8, 0.4, 0.3, 0.2, 0.05], [-1, -2, -3, -4, -5, -17]).statistic
    assert out["spearman"] == pytest.approx((rho1 + rho2) / 2)
    assert out["n_races"] == 2 and out["k"] == 3
    assert "log_loss" not in out


def test_ranking_metrics_probability_scores_match_sklearn() -> None:
    df = _races()
    df["prob"] = normalise_top_k(df["score"].to_numpy(), df["race_id"].to_numpy(), 3)
    out = ranking_metrics(df, "prob", k=3, prob_col="prob")
    truth = (df["position"].fillna(99) <= 3).astype(int)
    assert out["log_loss"] == pytest.approx(skm.log_loss(truth, df["prob"]))
    assert out["brier"] == pytest.approx(skm.brier_score_loss(truth, df["prob"]))


def test_ranking_metrics_reject_missing_columns_and_null_scores() -> None:
    df = _races()
    with pytest.raises(MLInputError, match="'nope'"):
        ranking_metrics(df, "nope")
    df.loc[0, "score"] = np.nan
    with pytest.raises(MLInputError, match="null scores"):
        ranking_metrics(df, "score")


def test_classification_metrics_binary_match_sklearn() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200).astype(bool)
    p = np.clip(y * 0.6 + rng.random(200) * 0.5, 0, 1)
    pred = p > 0.5
    out = classification_metrics(y, pred, p, classes=[False, True])
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert out["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert out["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert out["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert out["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert out["log_loss"] == pytest.approx(skm.log_loss(y, p))
    assert out["brier"] == pytest.approx(skm.brier_score_loss(y, p))


def test_classification_metrics_multiclass_match_sklearn() -> None:
    rng = np.random.default_rng(5)
    classes = ["none", "podium", "points", "win"]
    y = np.array(classes, dtype=object)[rng.integers(0, 4, 300)]
    raw = rng.random((300, 4))
    proba = raw / raw.sum(axis=1, keepdims=True)
    pred = np.array(classes, dtype=object)[proba.argmax(axis=1)]
    out = classification_metrics(y, pred, proba, classes=classes)
    assert out["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert out["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=classes))
    assert out["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes))


def test_classification_metrics_reject_unknown_labels() -> None:
    with pytest.raises(MLInputError, match="not among the classes"):
        classification_metrics(["a", "c"], ["a", "a"], classes=["a", "b"])


def test_regression_metrics_ignore_missing_truth() -> None:
    y = pd.Series([25.0, 18.0, None, 12.0])
    pred = np.array([20.0, 18.0, 5.0, 15.0])
    out = regression_metrics(y, pred)
    assert out["mae"] == pytest.approx((5 + 0 + 3) / 3)
    assert out["rmse"] == pytest.approx(np.sqrt((25 + 0 + 9) / 3))
    assert out["r2"] == pytest.approx(skm.r2_score([25, 18, 12], [20, 18, 15]))


def test_metric_directions_and_defaults() -> None:
    assert direction("log_loss") == "minimize" and direction("test_top1_accuracy") == "maximize"
    assert default_metric("ranking", 1) == "log_loss" and default_metric("ranking", None) == "spearman"
    assert default_metric("regression") == "mae"
    with pytest.raises(MLInputError, match="unknown metric"):
        direction("speed")


def test_normalise_top_k_sums_to_k_with_cap_and_keeps_order() -> None:
    rng = np.random.default_rng(11)
    groups = np.repeat(["a", "b", "c"], [20, 20, 2])
    prob = rng.random(42) ** 4
    prob[0] = 0.99  # one dominant favourite forces the cap
    for k in (1, 3, 10):
        out = normalise_top_k(prob, groups, k)
        assert np.all(out <= 1.0 + 1e-12) and np.all(out > 0)
        for g, n in (("a", 20), ("b", 20), ("c", 2)):
            sel = groups == g
            assert out[sel].sum() == pytest.approx(min(k, n))
            # monotone: a more likely driver never gets a lower normalised probability
            p_in, p_out = prob[sel], out[sel]
            hi, lo = np.argsort(-p_in)[:-1], np.argsort(-p_in)[1:]
            assert np.all(p_out[hi] >= p_out[lo] - 1e-12)
    capped = normalise_top_k(np.array([0.95, 0.9, 0.05, 0.05]), np.zeros(4), 3)
    from pitwall.ml.model import PROB_CAP

    assert capped[:2].tolist() == [PROB_CAP, PROB_CAP] and capped.sum() == pytest.approx(3.0)
