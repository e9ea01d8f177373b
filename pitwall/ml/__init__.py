"""Pitwall's ML core: train, tune, evaluate, backtest, save and track models on pandas frames.

Quick start::

    from pitwall.ml import FeatureStore, ModelBuilder, AutoMLTrainer, walk_forward, load_model

    builder = ModelBuilder(task="ranking", target="position", top_k=1)
    model = builder.train(train_df, algorithm="xgboost", seed=0)
    model.rank(next_race_df)                 # per race: drivers, most to least likely
    model.evaluate(test_df).metrics          # top1_accuracy, topk_overlap, log_loss, ...
    model.save("models/winner"); load_model("models/winner")
    walk_forward(df, builder, season=2024)   # race-by-race backtest

Importing ``pitwall.ml`` is cheap: names are resolved lazily on first access, and heavy
libraries (xgboost, lightgbm, scikit-learn, optuna, mlflow, skops, matplotlib) are imported
inside the functions that use them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    # the notebook flow: features from the store (pitwall.features), then a model
    "FeatureStore": "pitwall.features",
    "FeatureEngineer": "pitwall.features",
    # training
    "ModelBuilder": "pitwall.ml.builder",
    "TaskSpec": "pitwall.ml.dataset",
    "TASKS": "pitwall.ml.dataset",
    "BaseModel": "pitwall.ml.model",
    "TrainedModel": "pitwall.ml.model",
    "EnsembleModel": "pitwall.ml.model",
    "fit_model": "pitwall.ml.model",
    "ALGORITHMS": "pitwall.ml.algorithms",
    "get_algorithm": "pitwall.ml.algorithms",
    # tuning / AutoML
    "tune": "pitwall.ml.tuning",
    "cross_validate": "pitwall.ml.tuning",
    "TuningResult": "pitwall.ml.tuning",
    "AutoMLTrainer": "pitwall.ml.tuning",
    # evaluation
    "EvaluationResult": "pitwall.ml.evaluation",
    "BacktestResult": "pitwall.ml.backtest",
    "group_kfold": "pitwall.ml.splits",
    "holdout_split": "pitwall.ml.splits",
    "expanding_window_splits": "pitwall.ml.splits",
    "walk_forward_splits": "pitwall.ml.splits",
    "walk_forward": "pitwall.ml.backtest",
    "paired_bootstrap": "pitwall.ml.compare",
    # metrics
    "classification_metrics": "pitwall.ml.metrics",
    "regression_metrics": "pitwall.ml.metrics",
    "ranking_metrics": "pitwall.ml.metrics",
    "default_metric": "pitwall.ml.metrics",
    # artifacts
    "save_model": "pitwall.ml.artifacts",
    "load_model": "pitwall.ml.artifacts",
    "verify_artifact": "pitwall.ml.artifacts",
    "read_metadata": "pitwall.ml.artifacts",
    "export_bundle": "pitwall.ml.artifacts",
    "import_bundle": "pitwall.ml.artifacts",
    # tracking
    "log_training_run": "pitwall.ml.tracking",
    "log_backtest": "pitwall.ml.tracking",
    "list_runs": "pitwall.ml.tracking",
    "compare_runs": "pitwall.ml.tracking",
    "tracking_uri": "pitwall.ml.tracking",
    # errors
    "PitwallMLError": "pitwall.ml.errors",
    "MLInputError": "pitwall.ml.errors",
    "ArtifactIntegrityError": "pitwall.ml.errors",
}

_RENAMED = {"compare_runs": "compare"}  # ``pitwall.ml.compare`` is the module of proper scores

__all__ = [
    "ALGORITHMS",
    "ArtifactIntegrityError",
    "AutoMLTrainer",
    "BacktestResult",
    "BaseModel",
    "EnsembleModel",
    "EvaluationResult",
    "FeatureEngineer",
    "FeatureStore",
    "MLInputError",
    "ModelBuilder",
    "PitwallMLError",
    "TASKS",
    "TaskSpec",
    "TrainedModel",
    "TuningResult",
    "classification_metrics",
    "compare_runs",
    "cross_validate",
    "default_metric",
    "expanding_window_splits",
    "export_bundle",
    "fit_model",
    "get_algorithm",
    "group_kfold",
    "holdout_split",
    "import_bundle",
    "list_runs",
    "load_model",
    "paired_bootstrap",
    "log_backtest",
    "log_training_run",
    "ranking_metrics",
    "read_metadata",
    "regression_metrics",
    "save_model",
    "tracking_uri",
    "tune",
    "verify_artifact",
    "walk_forward",
    "walk_forward_splits",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pitwall.ml' has no attribute {name!r}")
    value = getattr(import_module(module), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:  # static analysers see the real names
    from pitwall.features import FeatureEngineer, FeatureStore
    from pitwall.ml.algorithms import ALGORITHMS, get_algorithm
    from pitwall.ml.artifacts import (
        export_bundle,
        import_bundle,
        load_model,
        read_metadata,
        save_model,
        verify_artifact,
    )
    from pitwall.ml.backtest import BacktestResult, walk_forward
    from pitwall.ml.builder import ModelBuilder
    from pitwall.ml.compare import paired_bootstrap
    from pitwall.ml.dataset import TASKS, TaskSpec
    from pitwall.ml.errors import ArtifactIntegrityError, MLInputError, PitwallMLError
    from pitwall.ml.evaluation import EvaluationResult
    from pitwall.ml.metrics import classification_metrics, default_metric, ranking_metrics, regression_metrics
    from pitwall.ml.model import BaseModel, EnsembleModel, TrainedModel, fit_model
    from pitwall.ml.splits import expanding_window_splits, group_kfold, holdout_split, walk_forward_splits
    from pitwall.ml.tracking import compare as compare_runs
    from pitwall.ml.tracking import list_runs, log_backtest, log_training_run, tracking_uri
    from pitwall.ml.tuning import AutoMLTrainer, TuningResult, cross_validate, tune
