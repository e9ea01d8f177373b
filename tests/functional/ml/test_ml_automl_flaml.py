"""AutoMLTrainer(backend="flaml") on real F1 data (2022-2023): FLAML picks the trials, Pitwall fits and
scores them on its race-grouped folds, the budget it was given is logged, and the model saves safely."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pitwall.ml import AutoMLTrainer, EnsembleModel, cross_validate, load_model
from pitwall.ml.artifacts import PICKLE_SUFFIXES
from pitwall.ml.automl_flaml import MIN_SEARCH_S, REFIT_RESERVE
from pitwall.ml.tuning import make_folds


@pytest.fixture
def trainer(features: list[str]) -> AutoMLTrainer:
    return AutoMLTrainer(
        "ranking",
        time_budget=300,
        metric="log_loss",
        ensemble=True,
        target="position",
        features=features,
        top_k=1,
        algorithms=["logistic", "lightgbm"],
        n_trials=4,
        cv_folds=2,
        backend="flaml",
    )


def test_flaml_trials_are_pitwall_cross_validations(
    trainer: AutoMLTrainer, frame: pd.DataFrame, tmp_path: Path
) -> None:
    model = trainer.fit(frame)
    summary = model.tuning
    assert summary is not None and summary["backend"] == "flaml" and summary["strategy"] == "automl"
    board = trainer.leaderboard
    assert board is not None and len(board) == summary["n_trials"] == 4  # n_trials caps FLAML's iterations
    assert set(board["state"]) == {"COMPLETE"} and set(board["algorithm"]) <= {"logistic", "lightgbm"}
    assert list(board["value"]) == sorted(board["value"])  # best (lowest log loss) first
    assert trainer.study is None and trainer.flaml_automl is not None

    # a trial's value is exactly Pitwall's cross-validation of that algorithm and params on the same folds
    spec = trainer.spec.with_features(trainer._features)
    folds = make_folds(frame, spec, trainer.cv_folds, trainer.cv, trainer.seed)
    for row in board.itertuples():
        again = cross_validate(spec, frame, row.algorithm, row.params, metric="log_loss", folds=folds)
        assert again.mean == pytest.approx(row.value, rel=1e-12)

    best = float(board["value"].iloc[0])
    if isinstance(model, EnsembleModel):
        assert model.score == trainer.ensemble_score and model.score < best
    else:
        assert model.algorithm == board["algorithm"].iloc[0] and model.score == best
        assert model.params == board["params"].iloc[0]
    assert summary["refit_s"] >= 0 and summary["search_s"] > 0

    path = model.save(tmp_path / "flaml")
    assert not [p for p in path.rglob("*") if p.suffix in PICKLE_SUFFIXES]
    loaded = load_model(path)
    assert np.array_equal(loaded.predict(frame), model.predict(frame))
    assert loaded.tuning is not None and loaded.tuning["backend"] == "flaml"


def test_flaml_gets_the_budget_less_the_refit_reserve(frame: pd.DataFrame, features: list[str]) -> None:
    budget = 12.0
    trainer = AutoMLTrainer(
        "regression",
        time_budget=budget,
        ensemble=False,
        target="points",
        features=features,
        algorithms=["linear", "lightgbm"],
        cv_folds=2,
        backend="flaml",
    )
    model = trainer.fit(frame)
    summary = model.tuning
    assert summary is not None and summary["time_budget_s"] == budget
    # FLAML's own budget: what was left of the trainer's, less the refit reserve (logged, not timed)
    assert MIN_SEARCH_S <= summary["search_budget_s"] <= budget * (1 - REFIT_RESERVE)
    assert summary["n_trials"] == len(trainer.leaderboard) >= 1
    assert model.algorithm in {"linear", "lightgbm"} and model.metric == "mae" and model.score > 0
    assert summary["best_per_algorithm"][model.algorithm] == model.score
