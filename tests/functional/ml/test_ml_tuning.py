"""Hyperparameter search budgets, pruning reports and AutoML on real 2022-2023 results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pitwall.ml import AutoMLTrainer, EnsembleModel, ModelBuilder, cross_validate, load_model, tune
from pitwall.ml.algorithms import ALGORITHMS
from pitwall.ml.errors import MLInputError
from pitwall.progress import listening


@pytest.mark.parametrize("strategy", ["bayes", "random"])
def test_trial_budget_is_respected(frame: pd.DataFrame, features: list[str], strategy: str) -> None:
    builder = ModelBuilder("ranking", "position", features=features, top_k=3)
    seen: list[tuple[str, int, int | None, str]] = []
    with listening(lambda *event: seen.append(event)):
        result = tune(builder, frame, "logistic", strategy=strategy, n_trials=5, cv_folds=3, seed=1)
    assert [(task, done, total) for task, done, total, _ in seen] == [("tuning logistic", i, 5) for i in range(1, 6)]
    assert seen[-1][3] == f"best {result.best_score:.4f}"  # the progress bar shows the best score so far
    assert result.n_trials == 5 and len(result.trials) == 5
    assert result.n_complete + result.n_pruned == 5
    assert result.metric == "log_loss" and result.direction == "minimize"
    complete = result.trials[result.trials["state"] == "COMPLETE"]
    assert result.best_score == pytest.approx(complete["value"].min())
    assert 1e-3 <= result.best_params["C"] <= 100.0


def test_grid_search_never_exceeds_the_grid(frame: pd.DataFrame, features: list[str]) -> None:
    builder = ModelBuilder("regression", "points", features=features)
    grid_size = len(ALGORITHMS["linear"].grid["alpha"])
    result = tune(builder, frame, "linear", strategy="grid", n_trials=50, cv_folds=3, prune=False)
    assert result.n_trials == grid_size
    tried = sorted(p["alpha"] for p in result.trials["params"])
    assert tried == sorted(ALGORITHMS["linear"].grid["alpha"])
    # the best grid point really is the best mean CV score among them
    scores = {
        a: cross_validate(builder, frame, "linear", {"alpha": a}, cv_folds=3, metric="mae").mean
        for a in ALGORITHMS["linear"].grid["alpha"]
    }
    assert result.best_params["alpha"] == min(scores, key=scores.get)


def test_time_budget_stops_the_search(frame: pd.DataFrame, features: list[str]) -> None:
    builder = ModelBuilder("classification", "podium", features=features)
    result = tune(builder, frame, "lightgbm", strategy="random", timeout=1.5, cv_folds=2)
    durations = result.trials["duration_s"].to_numpy()
    assert result.n_trials >= 1
    assert result.duration_s >= 1.5  # searched until the budget was spent (no trial count given)
    # no trial started after the budget: all but the last ran, one after another, within it
    # (trial durations, not wall-clock bounds, so a loaded machine cannot fail it)
    assert durations[:-1].sum() <= 1.5


def test_trials_report_each_fold_for_pruning(frame: pd.DataFrame, features: list[str]) -> None:
    import optuna

    builder = ModelBuilder("ranking", "position", features=features, top_k=1)
    study = optuna.create_study(direction="minimize", pruner=optuna.pruners.NopPruner())

    def objective(trial: optuna.Trial) -> float:
        c = trial.suggest_float("C", 1e-3, 10, log=True)
        return cross_validate(builder, frame, "logistic", {"C": c}, cv_folds=4, trial=trial).mean

    study.optimize(objective, n_trials=2)
    for t in study.trials:
        assert sorted(t.intermediate_values) == [0, 1, 2, 3]
        assert t.intermediate_values[3] == pytest.approx(t.value)

    pruning = optuna.create_study(
        direction="minimize", pruner=optuna.pruners.ThresholdPruner(upper=0.0, n_warmup_steps=0)
    )
    pruning.optimize(objective, n_trials=2)
    assert all(t.state.name == "PRUNED" and len(t.intermediate_values) == 1 for t in pruning.trials)


def test_auto_tune_refits_with_the_best_params(frame: pd.DataFrame, features: list[str]) -> None:
    builder = ModelBuilder("ranking", "position", features=features, top_k=1)
    model = builder.train(
        frame, "xgboost", auto_tune=True, tuning="random", n_trials=3, cv_folds=2, params={"n_estimators": 30}
    )
    assert model.score is not None and model.metric == "log_loss"
    assert model.metrics["cv_log_loss"] == model.score
    assert model.params["n_estimators"] == 30  # fixed params stay fixed during the search
    assert model.tuning is not None and model.tuning["n_trials"] == 3 and model.tuning["strategy"] == "random"


def test_automl_returns_scored_model(frame: pd.DataFrame, features: list[str], tmp_path) -> None:
    trainer = AutoMLTrainer(
        "ranking",
        time_budget=8,
        metric="log_loss",
        ensemble=True,
        target="position",
        features=features,
        top_k=1,
        algorithms=["logistic", "lightgbm", "xgboost"],
        n_trials=5,
        cv_folds=2,
    )
    model = trainer.fit(frame)
    assert trainer.best_model is model
    assert model.metric == "log_loss" and np.isfinite(model.score)
    board = trainer.leaderboard
    assert board is not None and set(board["algorithm"].iloc[:3]) <= {"logistic", "lightgbm", "xgboost"}
    assert set(board.loc[board["state"] == "COMPLETE", "algorithm"]) == {"logistic", "lightgbm", "xgboost"}
    best_single = board.loc[board["state"] == "COMPLETE", "value"].min()
    if isinstance(model, EnsembleModel):
        assert model.algorithm == "ensemble" and model.score < best_single
        assert trainer.ensemble_score == model.score
    else:
        assert model.algorithm in {"logistic", "lightgbm", "xgboost"} and model.score == best_single
        assert trainer.ensemble_score is None or trainer.ensemble_score >= best_single
    loaded = load_model(model.save(tmp_path / "automl"))
    assert np.array_equal(loaded.predict(frame), model.predict(frame))
    assert loaded.algorithm == model.algorithm and loaded.score == model.score


def test_train_auto_without_ensemble_picks_one_algorithm(frame: pd.DataFrame, features: list[str]) -> None:
    builder = ModelBuilder("regression", "points", features=features)
    model = builder.train(frame, "auto", timeout=5, n_trials=3, cv_folds=2, ensemble=False)
    assert model.algorithm in ALGORITHMS and model.metric == "mae" and model.score > 0
    assert model.tuning is not None and model.tuning["n_trials"] == 3


def test_time_ordered_cv_and_builder_cross_validate(frame: pd.DataFrame, features: list[str]) -> None:
    builder = ModelBuilder("ranking", "position", features=features)
    result = tune(builder, frame, "linear", strategy="random", n_trials=2, cv_folds=3, cv="expanding")
    assert result.metric == "spearman" and result.direction == "maximize"
    direct = cross_validate(builder, frame, "linear", result.best_params, cv_folds=3, cv="expanding")
    assert direct.mean == pytest.approx(result.best_score)
    summary = builder.cross_validate(frame, "linear", cv_folds=4, seed=2)
    assert {"spearman", "top1_accuracy", "topk_overlap"} <= set(summary)
    per_fold = cross_validate(builder, frame, "linear", cv_folds=4, seed=2)
    assert summary["spearman"] == pytest.approx(np.mean([m["spearman"] for m in per_fold.fold_metrics]))


def test_tuning_rejects_bad_settings(frame: pd.DataFrame, features: list[str]) -> None:
    builder = ModelBuilder("ranking", "position", features=features, top_k=3)
    with pytest.raises(MLInputError, match="tuning"):
        tune(builder, frame, "xgboost", strategy="hyperband")
    with pytest.raises(MLInputError, match="n_trials"):
        tune(builder, frame, "xgboost", n_trials=0)
    with pytest.raises(MLInputError, match="cv_folds"):
        tune(builder, frame, "xgboost", cv_folds=100)
    with pytest.raises(MLInputError, match="unknown metric"):
        AutoMLTrainer("ranking", target="position", top_k=3, metric="fastest")
