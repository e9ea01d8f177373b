"""Training, prediction, ranking and evaluation on real 2022-2023 F1DB results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pitwall.ml import ModelBuilder, holdout_split
from pitwall.ml.errors import MLInputError

FAST = {
    "xgboost": {"n_estimators": 60},
    "lightgbm": {"n_estimators": 60},
    "random_forest": {"n_estimators": 60},
    "gradient_boosting": {"max_iter": 60},
    "neural_net": {"max_iter": 200},
    "logistic": {},
    "linear": {},
}
CLASSIFIERS = ["xgboost", "lightgbm", "random_forest", "gradient_boosting", "neural_net", "logistic"]
REGRESSORS = ["xgboost", "lightgbm", "random_forest", "gradient_boosting", "neural_net", "linear"]


def _split(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = holdout_split(df, last_n_races=6)
    return df.iloc[train], df.iloc[test]


@pytest.mark.parametrize("algorithm", CLASSIFIERS)
def test_winner_ranking_every_classifier(frame: pd.DataFrame, features: list[str], algorithm: str) -> None:
    train, test = _split(frame)
    model = ModelBuilder("ranking", "position", features=features, top_k=1).train(
        train, algorithm=algorithm, params=FAST[algorithm], seed=0
    )
    prob = model.predict_proba(test)
    assert np.allclose(pd.Series(prob).groupby(test["race_id"].to_numpy()).sum(), 1.0)
    assert np.all((prob > 0) & (prob <= 1))
    ranked = model.rank(test)
    assert list(ranked.columns[:5]) == ["race_id", "rank", "driver_id", "score", "probability"]
    for race_id, race in ranked.groupby("race_id", sort=False):
        assert race["rank"].tolist() == list(range(1, len(race) + 1))
        assert race["probability"].is_monotonic_decreasing
        assert set(race["driver_id"]) == set(test.loc[test["race_id"] == race_id, "driver_id"])
    metrics = model.evaluate(test).metrics
    assert set(metrics) >= {"top1_accuracy", "topk_accuracy", "topk_overlap", "spearman", "log_loss", "brier"}
    assert model.metrics["test_top1_accuracy"] == metrics["top1_accuracy"]
    importance = model.feature_importance()
    assert set(importance) == set(features) and sum(importance.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("algorithm", REGRESSORS)
def test_points_regression_and_full_order_ranking(frame: pd.DataFrame, features: list[str], algorithm: str) -> None:
    train, test = _split(frame)
    reg = ModelBuilder("regression", "points", features=features).train(train, algorithm, params=FAST[algorithm])
    pred = reg.predict(test)
    assert pred.shape == (len(test),) and np.isfinite(pred).all()
    naive = np.full(len(test), train["points"].mean())
    from pitwall.ml import regression_metrics

    assert reg.evaluate(test).metrics["mae"] < regression_metrics(test["points"], naive)["mae"]
    full = ModelBuilder("ranking", "position", features=features).train(train, algorithm, params=FAST[algorithm])
    ranked = full.rank(test)
    assert ranked["probability"].isna().all()
    with pytest.raises(MLInputError, match="predict_proba"):
        full.predict_proba(test)
    assert full.evaluate(test).metrics["spearman"] > 0.3  # grid and form predict the order


def test_multiclass_classification_with_text_labels(frame: pd.DataFrame, features: list[str]) -> None:
    train, test = _split(frame)
    model = ModelBuilder("classification", "finish_group", features=features).train(train, "lightgbm")
    assert model.classes == ["none", "podium", "points", "win"]
    proba = model.predict_proba(test)
    assert proba.shape == (len(test), 4) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(model.predict(test)) <= set(model.classes)
    result = model.evaluate(test)
    labels, matrix = result.confusion_matrix()
    assert labels == model.classes and matrix.sum() == len(test)
    assert result.metrics["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())


def test_plots_are_png_files(frame: pd.DataFrame, features: list[str], tmp_path: Path) -> None:
    train, test = _split(frame)
    model = ModelBuilder("ranking", "position", features=features, top_k=3).train(train, "xgboost")
    result = model.evaluate(test)
    labels, matrix = result.confusion_matrix()
    assert labels == ["outside top 3", "top 3"]
    assert matrix[:, 1].sum() == 3 * test["race_id"].nunique()  # three predicted podium places per race
    for path in (
        result.plot_confusion_matrix(tmp_path / "cm.png"),
        result.plot_feature_importance(tmp_path / "fi.png"),
    ):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    reg = ModelBuilder("regression", "points", features=features).train(train, "linear")
    with pytest.raises(MLInputError, match="confusion matrix"):
        reg.evaluate(test).plot_confusion_matrix(tmp_path / "no.png")


@pytest.mark.parametrize("algorithm", CLASSIFIERS)
def test_same_seed_same_predictions_bit_for_bit(frame: pd.DataFrame, features: list[str], algorithm: str) -> None:
    train, test = _split(frame)
    builder = ModelBuilder("classification", "podium", features=features)
    first = builder.train(train, algorithm, params=FAST[algorithm], seed=7).predict_proba(test)
    second = builder.train(train.copy(), algorithm, params=FAST[algorithm], seed=7).predict_proba(test)
    assert np.array_equal(first, second)


def test_seed_changes_a_randomised_model(frame: pd.DataFrame, features: list[str]) -> None:
    train, test = _split(frame)
    builder = ModelBuilder("classification", "podium", features=features)
    a = builder.train(train, "random_forest", params={"n_estimators": 30}, seed=1).predict_proba(test)
    b = builder.train(train, "random_forest", params={"n_estimators": 30}, seed=2).predict_proba(test)
    assert not np.array_equal(a, b)


def test_custom_target_and_default_features(frame: pd.DataFrame, features: list[str]) -> None:
    df = frame[["season", "round", "race_id", "driver_id", "constructor_id", *features]].copy()
    df["beat_teammate_grid"] = frame.groupby(["race_id", "constructor_id"])["grid"].rank() == 1
    model = ModelBuilder("classification", "beat_teammate_grid").train(df, "logistic")
    assert model.features == features  # keys, text columns and the target are never features
    assert model.data_window == {
        "seasons": [2022, 2023],
        "first_race": "2022-01",
        "last_race": "2023-22",
        "races": 44,
        "rows": len(df),
    }


def test_clear_errors_for_bad_input(frame: pd.DataFrame, features: list[str]) -> None:
    builder = ModelBuilder("ranking", "position", features=features, top_k=3)
    with pytest.raises(MLInputError, match="unknown algorithm 'svm'"):
        builder.train(frame, "svm")
    with pytest.raises(MLInputError, match="'linear' trains regressors only|does not train classifiers"):
        builder.train(frame, "linear")
    with pytest.raises(MLInputError, match="missing column.*'grid'"):
        builder.train(frame.drop(columns="grid"))
    with pytest.raises(MLInputError, match="'race_id' has null"):
        broken = frame.copy()
        broken.loc[3, "race_id"] = None
        builder.train(broken)
    with pytest.raises(MLInputError, match="invalid parameter"):
        builder.train(frame, "random_forest", params={"n_trees": 5})
    model = builder.train(frame, "logistic")
    with pytest.raises(MLInputError, match="missing column.*'team_prev_best'"):
        model.predict(frame.drop(columns="team_prev_best"))
    with pytest.raises(MLInputError, match="rank: only ranking"):
        ModelBuilder("regression", "points", features=features).train(frame, "linear").rank(frame)
