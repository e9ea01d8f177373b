"""SHAP values, calibration, residual and backtest-by-race plots on real 2022-2023 F1DB results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pitwall.ml import ModelBuilder, holdout_split, walk_forward
from pitwall.ml.errors import MLInputError
from pitwall.ml.explain import BASE_VALUE

PNG = b"\x89PNG\r\n\x1a\n"


def _split(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = holdout_split(df, last_n_races=6)
    return df.iloc[train], df.iloc[test]


@pytest.mark.parametrize("algorithm", ["xgboost", "lightgbm", "linear"])
def test_shap_values_add_up_to_the_raw_score(frame: pd.DataFrame, features: list[str], algorithm: str) -> None:
    train, test = _split(frame)
    params = {"n_estimators": 40} if algorithm != "linear" else {}
    model = ModelBuilder("regression", "points", features=features).train(train, algorithm, params=params)
    values = model.evaluate(test).shap_values()
    assert list(values.columns) == [*features, BASE_VALUE] and len(values) == len(test)
    total = values.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, model.predict(test), rtol=1e-4, atol=1e-4)
    # a feature the model leans on gets a large contribution somewhere; a constant one none
    assert values[features].abs().mean().max() > 0.1


def test_shap_of_a_classifier_is_on_the_log_odds(frame: pd.DataFrame, features: list[str]) -> None:
    train, test = _split(frame)
    model = ModelBuilder("classification", "podium", features=features).train(
        train, "xgboost", params={"n_estimators": 40}
    )
    values = model.evaluate(test).shap_values()
    p = model.predict_proba(test)[:, -1]
    np.testing.assert_allclose(values.sum(axis=1).to_numpy(), np.log(p / (1 - p)), rtol=1e-3, atol=1e-3)


def test_models_without_exact_shap_are_refused(frame: pd.DataFrame, features: list[str]) -> None:
    train, test = _split(frame)
    model = ModelBuilder("regression", "points", features=features).train(
        train, "random_forest", params={"n_estimators": 20}
    )
    with pytest.raises(MLInputError, match="exact SHAP"):
        model.evaluate(test).shap_values()


def test_evaluation_and_backtest_plots_are_png_files(frame: pd.DataFrame, features: list[str], tmp_path: Path) -> None:
    train, test = _split(frame)
    ranking = ModelBuilder("ranking", "position", features=features, top_k=3).train(
        train, "xgboost", params={"n_estimators": 40}
    )
    result = ranking.evaluate(test)
    regression = ModelBuilder("regression", "points", features=features).train(train, "lightgbm")
    paths = [
        result.plot_calibration(tmp_path / "cal.png", n_bins=5),
        result.plot_shap(tmp_path / "shap.png"),
        regression.evaluate(test).plot_residuals(tmp_path / "res.png"),
    ]
    with pytest.raises(MLInputError, match="residuals"):
        result.plot_residuals(tmp_path / "no.png")
    with pytest.raises(MLInputError, match="no probabilities"):
        regression.evaluate(test).plot_calibration(tmp_path / "no.png")

    frame = frame.assign(grid_score=-frame["grid"].fillna(30.0))
    backtest = walk_forward(
        frame,
        ModelBuilder("ranking", "position", features=features, top_k=1),
        season=2023,
        rounds=range(2, 8),
        min_train_races=20,
        train_kwargs={"algorithm": "xgboost", "params": {"n_estimators": 40}},
        baselines={"grid": "grid_score"},
        n_boot=200,
    )
    table = backtest.by_race("top1_accuracy")
    assert list(table.columns) == ["model", "grid"] and list(table.index) == [f"2023 r{r}" for r in range(2, 8)]
    assert table["model"].mean() == pytest.approx(backtest.metrics["top1_accuracy"])
    paths += [backtest.plot_by_race(path=tmp_path / "by_race.png"), backtest.plot_calibration(tmp_path / "bcal.png")]
    with pytest.raises(MLInputError, match="metric"):
        backtest.by_race("mae")
    for path in paths:
        assert Path(path).read_bytes()[:8] == PNG
