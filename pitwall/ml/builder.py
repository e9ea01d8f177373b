"""``ModelBuilder``: the one entry point templates and users call to train a model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import pandas as pd

from pitwall.ml import algorithms as A
from pitwall.ml.dataset import TaskSpec, attach_named_target, infer_features, outcome_features
from pitwall.ml.errors import MLInputError
from pitwall.ml.model import BaseModel, fit_model

DEFAULT_AUTOML_BUDGET_S = 60.0


class ModelBuilder:
    """Describe a model once, then train it with any algorithm.

    ``ModelBuilder(task, target, features=None, top_k=None, group_col="race_id",
    entity_col="driver_id", template=None)``; see ``TaskSpec`` for the meaning of each
    argument. Any target column and feature list work (custom models).

    ``target`` may also name a template (``target="race_winner"``): when the data lacks that
    column, the template's target is joined from the store (see
    ``pitwall.ml.dataset.attach_named_target``). Outcome columns of the same race
    (``position``, ``points``, ``dnf``, ...) are never inferred as features; naming them in
    ``features`` is refused unless ``allow_outcome_features=True``.
    """

    def __init__(
        self,
        task: str,
        target: str,
        features: Sequence[str] | None = None,
        top_k: int | None = None,
        group_col: str = "race_id",
        entity_col: str = "driver_id",
        template: str | None = None,
        offset: str | None = None,
        allow_outcome_features: bool = False,
    ) -> None:
        self.allow_outcome_features = bool(allow_outcome_features)
        self.spec = TaskSpec(
            task=task,
            target=target,
            features=features,
            top_k=top_k,
            group_col=group_col,
            entity_col=entity_col,
            template=template,
            offset=offset,
        )
        self.check_features()

    def check_features(self) -> None:
        """Refuse explicit outcome features (the leakage guard) unless overridden."""
        if self.spec.features is None or self.allow_outcome_features:
            return
        leaked = outcome_features(self.spec.features, self.spec)
        if leaked:
            raise MLInputError(
                f"features: {', '.join(map(repr, leaked))} are outcomes of the race being predicted "
                "(known only after it): a model trained on them scores well and predicts nothing; "
                "remove them, or pass allow_outcome_features=True if they are really known in advance"
            )

    def prepare(self, data: pd.DataFrame) -> pd.DataFrame:
        """``data`` with the target column (a template-named target is joined from the store)."""
        return attach_named_target(self.spec, data)

    def __repr__(self) -> str:
        return f"ModelBuilder({self.spec!r})"

    def train(
        self,
        data: pd.DataFrame,
        algorithm: str = "xgboost",
        *,
        params: Mapping[str, Any] | None = None,
        auto_tune: bool = False,
        tuning: str = "bayes",
        n_trials: int | None = None,
        timeout: float | None = None,
        cv_folds: int = 5,
        cv: str = "group",
        seed: int = 0,
        metric: str | None = None,
        ensemble: bool = True,
        track: bool = False,
        experiment: str | None = None,
        run_name: str | None = None,
        automl_backend: str = "optuna",
    ) -> BaseModel:
        """Train on ``data`` and return a ``TrainedModel`` (or ``EnsembleModel`` from AutoML).

        - ``algorithm``: one of ``pitwall.ml.ALGORITHMS`` or ``"auto"`` (AutoML over all
          algorithms for ``timeout`` seconds, default 60, optionally capped by ``n_trials``;
          ``ensemble`` allows an averaging ensemble; ``automl_backend``: who searches, ``"optuna"``
          or ``"flaml"``).
        - ``params``: overrides of the algorithm's defaults (fixed during tuning as well).
        - ``auto_tune``: search hyperparameters first with ``tuning`` = ``"bayes"`` (TPE),
          ``"grid"`` or ``"random"`` within ``n_trials`` (default 20; grid: whole grid) and/or
          ``timeout`` seconds, on ``cv_folds`` race-grouped folds (``cv="expanding"`` for
          time-ordered folds), scoring ``metric`` (default per task, see
          ``pitwall.ml.metrics.default_metric``); the model is refitted on all data with the
          best parameters and gets ``.score`` = best mean CV score.
        - ``seed``: fixes every source of randomness (same seed, same data -> same predictions).
        - ``track``: log the run to MLflow (``pitwall.ml.tracking``) under ``experiment``.
        """
        data = self.prepare(data)
        spec = self.spec.with_features(infer_features(data, self.spec))
        if algorithm == A.AUTO:
            from pitwall.ml.tuning import AutoMLTrainer

            if params:
                raise MLInputError("params: not used with algorithm='auto' (AutoML picks parameters)")
            trainer = AutoMLTrainer(
                **asdict(spec),  # the same task description: task, target, features, top_k, ...
                time_budget=timeout if timeout is not None else DEFAULT_AUTOML_BUDGET_S,
                metric=metric,
                ensemble=ensemble,
                n_trials=n_trials,
                cv_folds=cv_folds,
                cv=cv,
                seed=seed,
                backend=automl_backend,
            )
            model = trainer.fit(data)
        elif auto_tune:
            from pitwall.ml.tuning import tune

            result = tune(
                spec,
                data,
                algorithm,
                strategy=tuning,
                n_trials=n_trials,
                timeout=timeout,
                cv_folds=cv_folds,
                cv=cv,
                seed=seed,
                metric=metric,
                base_params=params,
            )
            model = fit_model(spec, data, algorithm, result.best_params, seed)
            model.score, model.metric = result.best_score, result.metric
            model.metrics[f"cv_{result.metric}"] = result.best_score
            model.tuning = result.summary()
        else:
            model = fit_model(spec, data, algorithm, dict(params or {}), seed)
        if track:
            from pitwall.ml.tracking import log_training_run

            log_training_run(model, experiment=experiment, run_name=run_name)
        return model

    def cross_validate(
        self,
        data: pd.DataFrame,
        algorithm: str = "xgboost",
        *,
        params: Mapping[str, Any] | None = None,
        cv_folds: int = 5,
        cv: str = "group",
        seed: int = 0,
        metric: str | None = None,
    ) -> dict[str, float]:
        """Mean of every metric over race-grouped CV folds (no model is kept)."""
        from pitwall.ml.tuning import cross_validate

        data = self.prepare(data)
        result = cross_validate(self.spec, data, algorithm, params, cv_folds=cv_folds, cv=cv, seed=seed, metric=metric)
        names = set.intersection(*(set(m) for m in result.fold_metrics))
        return {n: float(sum(m[n] for m in result.fold_metrics) / len(result.fold_metrics)) for n in sorted(names)}
