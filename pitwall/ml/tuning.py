"""Hyperparameter search and AutoML with Optuna, cross-validated on race-grouped folds.

- ``cross_validate``: score one algorithm + params on race-grouped (or expanding-window) folds.
- ``tune``: grid search (``GridSampler`` over ``Algorithm.grid``), random search
  (``RandomSampler``) or Bayesian search (``TPESampler``) within a trial budget
  (``n_trials``) and/or a time budget (``timeout`` seconds). Trials report the running mean
  score after each fold and a ``MedianPruner`` stops unpromising ones.
- ``AutoMLTrainer``: one search over algorithms and their parameters, by an Optuna study
  (``backend="optuna"``, the default) or FLAML (``backend="flaml"``, ``pitwall.ml.automl_flaml``);
  returns the best model refitted on all data, or an averaging ensemble of the best model per
  algorithm when its out-of-fold score is better.

Optuna and FLAML are imported inside functions.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pitwall.ml import algorithms as A
from pitwall.ml import metrics as M
from pitwall.ml.dataset import TaskSpec, attach_named_target, check_race_keys, infer_features, notice, require_columns
from pitwall.ml.errors import MLInputError
from pitwall.ml.evaluation import score_frame
from pitwall.ml.model import BaseModel, EnsembleModel, TrainedModel, fit_model, prediction_frame
from pitwall.ml.splits import Split, expanding_window_splits, group_kfold
from pitwall.progress import report as report_progress
from pitwall.vocabulary import AUTOML_BACKENDS

if TYPE_CHECKING:
    from pitwall.ml.builder import ModelBuilder

STRATEGIES = ("bayes", "grid", "random")
DEFAULT_TARGETS = {"classification": "race_winner", "ranking": "race_winner"}  # AutoMLTrainer without target=
CV_SCHEMES = ("group", "expanding")
DEFAULT_TRIALS = 20


SEARCH_CAP_ENV = "PITWALL_SEARCH_BUDGET_S"  # seconds: caps every AutoML budget and tuning search


def search_cap() -> float | None:
    """The environment's cap on search time (``$PITWALL_SEARCH_BUDGET_S``), or None."""
    import os

    raw = os.environ.get(SEARCH_CAP_ENV, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise MLInputError(f"{SEARCH_CAP_ENV}: expected seconds, got {raw!r}") from None
    if not value > 0:
        raise MLInputError(f"{SEARCH_CAP_ENV}: expected a positive number of seconds, got {raw!r}")
    return value


def capped(seconds: float | None, what: str) -> float | None:
    """``seconds`` limited by ``search_cap()`` (with a notice when it cuts a given budget)."""
    cap = search_cap()
    if cap is None or (seconds is not None and seconds <= cap):
        return seconds
    if seconds is not None:
        notice(f"{what}: {seconds:g} s capped to {cap:g} s by {SEARCH_CAP_ENV}")
    return cap


def _spec(spec: TaskSpec | ModelBuilder) -> TaskSpec:
    return spec if isinstance(spec, TaskSpec) else spec.spec


def make_folds(data: pd.DataFrame, spec: TaskSpec, cv_folds: int = 5, cv: str = "group", seed: int = 0) -> list[Split]:
    """Race-grouped k folds (``cv="group"``) or expanding-window splits (``cv="expanding"``)."""
    if cv == "group":
        return group_kfold(data, cv_folds, spec.group_col, seed)
    if cv == "expanding":
        return expanding_window_splits(data, n_splits=cv_folds, group_col=spec.group_col)
    raise MLInputError(f"cv: must be one of {', '.join(CV_SCHEMES)}, got {cv!r}")


@dataclass
class CVResult:
    """Per-fold scores of one configuration, with the raw out-of-fold outputs (for ensembling)."""

    algorithm: str
    params: dict[str, Any]
    metric: str
    scores: list[float]
    fold_metrics: list[dict[str, float]]
    raw_outputs: list[np.ndarray]

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))


def _fold_score(
    spec: TaskSpec, classes: list[Any] | None, test: pd.DataFrame, raw: np.ndarray, metric: str, fold: int
) -> tuple[float, dict[str, float]]:
    values = score_frame(spec, prediction_frame(spec, classes, test, raw), classes)
    if metric not in values or not math.isfinite(values[metric]):
        raise MLInputError(
            f"metric: {metric!r} is undefined on CV fold {fold} (available: {', '.join(sorted(values))}); "
            "choose another metric or fewer cv_folds"
        )
    return float(values[metric]), values


def cross_validate(
    spec: TaskSpec | ModelBuilder,
    data: pd.DataFrame,
    algorithm: str = "xgboost",
    params: Mapping[str, Any] | None = None,
    *,
    cv_folds: int = 5,
    cv: str = "group",
    seed: int = 0,
    metric: str | None = None,
    folds: Sequence[Split] | None = None,
    trial: Any = None,
) -> CVResult:
    """Fit on each fold's training races and score its test races with ``metric``.

    With an Optuna ``trial``, the running mean is reported after every fold and the trial is
    pruned (``optuna.TrialPruned``) when the study's pruner says so.
    """
    task = _spec(spec)
    metric = metric or M.default_metric(task.task, task.top_k)
    M.direction(metric)
    folds = list(folds) if folds is not None else make_folds(data, task, cv_folds, cv, seed)
    full = A.get_algorithm(algorithm, task.kind).params(params)
    scores: list[float] = []
    fold_metrics: list[dict[str, float]] = []
    raws: list[np.ndarray] = []
    for i, (train_idx, test_idx) in enumerate(folds):
        model = fit_model(task, data.iloc[train_idx], algorithm, full, seed, compute_importance=False)
        test = data.iloc[test_idx]
        raw = model.raw_output(test)
        value, values = _fold_score(task, model.classes, test, raw, metric, i)
        scores.append(value)
        fold_metrics.append(values)
        raws.append(raw)
        if trial is not None:
            import optuna

            trial.report(float(np.mean(scores)), step=i)
            if trial.should_prune():
                raise optuna.TrialPruned()
    return CVResult(algorithm, full, metric, scores, fold_metrics, raws)


@dataclass
class TuningResult:
    """Outcome of ``tune``: the best parameters (defaults merged in) and the trial log."""

    algorithm: str
    strategy: str
    metric: str
    direction: str
    best_params: dict[str, Any]
    best_score: float
    n_trials: int
    n_complete: int
    n_pruned: int
    duration_s: float
    trials: pd.DataFrame = field(repr=False)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary kept in model metadata."""
        return {
            "strategy": self.strategy,
            "algorithm": self.algorithm,
            "metric": self.metric,
            "direction": self.direction,
            "best_score": self.best_score,
            "n_trials": self.n_trials,
            "n_complete": self.n_complete,
            "n_pruned": self.n_pruned,
            "duration_s": round(self.duration_s, 3),
            "trials": trial_records(self.trials),
        }


def trial_records(trials: pd.DataFrame) -> list[dict[str, Any]]:
    """The trial log as JSON-ready dicts (logged as nested MLflow runs by ``pitwall.ml.tracking``)."""
    out = []
    for row in trials.to_dict("records"):
        value = row.get("value")
        out.append(
            {
                "trial": int(row["trial"]),
                "state": str(row["state"]),
                "value": float(value) if value is not None and value == value else None,
                "algorithm": row.get("algorithm"),
                "params": {k: v.item() if hasattr(v, "item") else v for k, v in dict(row.get("params") or {}).items()},
            }
        )
    return out


def _quiet_optuna() -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _check_budget(n_trials: int | None, timeout: float | None) -> None:
    if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1):
        raise MLInputError(f"n_trials: must be a positive integer or None, got {n_trials!r}")
    if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
        raise MLInputError(f"timeout: must be a positive number of seconds or None, got {timeout!r}")


FINISHED = ("COMPLETE", "PRUNED", "FAIL")


def _finished(study: Any) -> list[Any]:
    """Trials that ran (enqueued-but-never-started trials stay WAITING and are left out)."""
    return [t for t in study.trials if t.state.name in FINISHED]


def _trials_frame(study: Any) -> pd.DataFrame:
    rows = []
    for t in _finished(study):
        rows.append(
            {
                "trial": t.number,
                "state": t.state.name,
                "value": t.value,
                "algorithm": t.user_attrs.get("algorithm"),
                "params": t.user_attrs.get("params", {}),
                "duration_s": t.duration.total_seconds() if t.duration else None,
            }
        )
    return pd.DataFrame(rows, columns=["trial", "state", "value", "algorithm", "params", "duration_s"])


def tune(
    spec: TaskSpec | ModelBuilder,
    data: pd.DataFrame,
    algorithm: str = "xgboost",
    *,
    strategy: str = "bayes",
    n_trials: int | None = None,
    timeout: float | None = None,
    cv_folds: int = 5,
    cv: str = "group",
    seed: int = 0,
    metric: str | None = None,
    base_params: Mapping[str, Any] | None = None,
    prune: bool = True,
) -> TuningResult:
    """Search ``algorithm``'s hyperparameters; return the best (by mean CV ``metric``).

    Budget: ``n_trials`` and/or ``timeout`` seconds (a running trial finishes); with neither,
    ``DEFAULT_TRIALS`` trials (grid: the whole grid). Grid search never exceeds the grid size.
    ``base_params`` fix parameters outside the search space (e.g. ``n_jobs``).
    """
    task = _spec(spec)
    if strategy not in STRATEGIES:
        raise MLInputError(f"tuning: must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    _check_budget(n_trials, timeout)
    timeout = capped(timeout, "timeout")
    algo = A.get_algorithm(algorithm, task.kind)
    metric = metric or M.default_metric(task.task, task.top_k)
    how = M.direction(metric)
    check_race_keys(data, task.group_col)
    require_columns(data, [task.target], "data")
    task = task.with_features(infer_features(data, task))
    folds = make_folds(data, task, cv_folds, cv, seed)
    optuna = _quiet_optuna()

    grid = {k: list(v) for k, v in algo.grid.items() if k not in (base_params or {})}
    if strategy == "grid":
        if not grid:
            raise MLInputError(f"base_params: fix every grid parameter of {algorithm!r}; nothing left to search")
        size = int(np.prod([len(v) for v in grid.values()]))
        sampler: Any = optuna.samplers.GridSampler(grid, seed=seed)
        budget: int | None = size if n_trials is None else min(n_trials, size)
    else:
        sampler = (
            optuna.samplers.RandomSampler(seed=seed) if strategy == "random" else optuna.samplers.TPESampler(seed=seed)
        )
        budget = n_trials if n_trials is not None or timeout is not None else DEFAULT_TRIALS
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1) if prune else optuna.pruners.NopPruner()
    study = optuna.create_study(direction=how, sampler=sampler, pruner=pruner)

    def objective(trial: Any) -> float:
        fixed = dict(base_params or {})
        if strategy == "grid":
            suggested = {k: trial.suggest_categorical(k, list(v)) for k, v in grid.items()}
        else:
            suggested = algo.suggest(trial, fixed=fixed)
        params = {**fixed, **suggested}
        trial.set_user_attr("algorithm", algorithm)
        trial.set_user_attr("params", params)
        return cross_validate(task, data, algorithm, params, metric=metric, folds=folds, seed=seed, trial=trial).mean

    start = time.perf_counter()
    progress = _trial_progress(f"tuning {algorithm}", budget)
    study.optimize(objective, n_trials=budget, timeout=timeout, callbacks=[progress])
    elapsed = time.perf_counter() - start
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    if not complete:
        raise MLInputError("n_trials: no tuning trial completed within the budget; allow more trials or time")
    best = study.best_trial
    return TuningResult(
        algorithm=algorithm,
        strategy=strategy,
        metric=metric,
        direction=how,
        best_params=algo.params(best.user_attrs["params"]),
        best_score=float(best.value),
        n_trials=len(_finished(study)),
        n_complete=len(complete),
        n_pruned=sum(t.state.name == "PRUNED" for t in study.trials),
        duration_s=elapsed,
        trials=_trials_frame(study),
    )


def _better(a: float, b: float, how: str) -> bool:
    return a < b if how == "minimize" else a > b


def _trial_progress(task: str, total: int | None) -> Any:
    """An Optuna callback reporting each finished trial to ``pitwall.progress`` (with the best value)."""

    def callback(study: Any, trial: Any) -> None:
        complete = any(t.state.name == "COMPLETE" for t in study.trials)
        report_progress(task, len(study.trials), total, f"best {study.best_value:.4f}" if complete else "")

    return callback


class AutoMLTrainer:
    """Search algorithms and hyperparameters together within a time budget.

    ``fit(data)`` runs one Optuna TPE study over ``algorithms`` (default: every algorithm
    for the task) and their search spaces, cross-validated on race-grouped folds
    (``cv_folds``; ``cv="expanding"`` for time-ordered folds). The first trials try each
    algorithm with its default parameters, in the order given (so with a tiny budget some
    algorithms may never run); TPE explores after that. Pruning: ``MedianPruner`` on the
    per-fold running mean.

    Returns the best model refitted on all of ``data``: ``.algorithm`` and ``.score`` (mean
    CV ``metric``). With ``ensemble=True`` the best trial of each of the top
    ``ensemble_size`` algorithms are averaged, and that ``EnsembleModel`` (``algorithm ==
    "ensemble"``) is returned only when its out-of-fold score beats the best single model.
    After ``fit``: ``best_model``, ``leaderboard`` (one row per finished trial, best first:
    trial, state, value, algorithm, params, duration_s), ``study``, ``ensemble_score``.

    ``time_budget`` bounds the whole ``fit`` in seconds, the final refit included: the search
    stops when the next trial plus the refit (estimated from the trials so far) would not fit
    in the budget. ``n_trials`` optionally caps the number of trials as well. ``train(data)``
    is ``fit(data)``.

    ``target``: a column of the data or a template name (``"race_winner"``, joined from the
    store when the data lacks it); by default ``DEFAULT_TARGETS[task]`` (with a notice).

    ``backend``: ``"optuna"`` (default, the TPE study above) or ``"flaml"``: FLAML's CFO search
    over the same algorithms, search spaces (starting at the defaults), folds and metric, every
    trial fitted and scored by Pitwall (``pitwall.ml.automl_flaml``); its budget is the time left
    less a refit reserve, ``n_trials`` caps FLAML's iterations, and ``study`` is None (FLAML's
    ``AutoML`` object is ``flaml_automl``). Both backends return the same kinds of models, saved
    in the same safe formats, with the search summary in ``model.tuning`` (``backend``,
    ``time_budget_s``, ``search_budget_s`` for FLAML, ``search_s``, ``n_trials``, the trials).
    """

    def __init__(
        self,
        task: str,
        time_budget: float = 60.0,
        metric: str | None = None,
        ensemble: bool = True,
        *,
        target: str | None = None,
        features: Sequence[str] | None = None,
        top_k: int | None = None,
        group_col: str = "race_id",
        entity_col: str = "driver_id",
        template: str | None = None,
        offset: str | None = None,
        algorithms: Sequence[str] | None = None,
        n_trials: int | None = None,
        cv_folds: int = 3,
        cv: str = "group",
        seed: int = 0,
        ensemble_size: int = 3,
        prune: bool = True,
        backend: str = "optuna",
    ) -> None:
        if backend not in AUTOML_BACKENDS:
            raise MLInputError(f"backend: must be one of {', '.join(AUTOML_BACKENDS)}, got {backend!r}")
        if target is None:
            if task not in DEFAULT_TARGETS:
                raise MLInputError(f"target: required for task={task!r} (a column name or a template name)")
            target = DEFAULT_TARGETS[task]
            top_k = top_k if top_k is not None or task != "ranking" else 1
            notice(f"target: not given; using {target!r} (pass target= to choose another)")
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
        _check_budget(n_trials, time_budget)
        self.metric = metric or M.default_metric(task, top_k)
        self.direction = M.direction(self.metric)
        names = list(algorithms) if algorithms is not None else A.algorithms_for(self.spec.kind)
        if not names:
            raise MLInputError("algorithms: the list is empty")
        for name in names:
            A.get_algorithm(name, self.spec.kind)
        if ensemble_size < 2 and ensemble:
            raise MLInputError(f"ensemble_size: must be >= 2 when ensemble=True, got {ensemble_size}")
        self.algorithms = names
        self.time_budget = float(capped(float(time_budget), "time_budget") or time_budget)
        self.ensemble = ensemble
        self.n_trials = n_trials
        self.cv_folds = cv_folds
        self.cv = cv
        self.seed = seed
        self.ensemble_size = ensemble_size
        self.prune = prune
        self.backend = backend
        self.best_model: BaseModel | None = None
        self.leaderboard: pd.DataFrame | None = None
        self.study: Any = None
        self.flaml_automl: Any = None
        self.ensemble_score: float | None = None

    def train(self, data: pd.DataFrame) -> BaseModel:
        """The product's name for :meth:`fit`."""
        return self.fit(data)

    def fit(self, data: pd.DataFrame) -> BaseModel:
        """Run the search on ``data`` and return the best model (also kept as ``best_model``)."""
        started = time.perf_counter()
        data = attach_named_target(self.spec, data)
        spec = self.spec
        check_race_keys(data, spec.group_col)
        require_columns(data, [spec.target], "data")
        spec = spec.with_features(infer_features(data, spec))
        self._features = list(spec.features or ())
        folds = make_folds(data, spec, self.cv_folds, self.cv, self.seed)
        if self.backend == "flaml":
            return self._fit_flaml(data, spec, folds, started)
        optuna = _quiet_optuna()
        pruner = (
            optuna.pruners.MedianPruner(n_startup_trials=len(self.algorithms) + 2, n_warmup_steps=1)
            if self.prune
            else optuna.pruners.NopPruner()
        )
        study = optuna.create_study(
            direction=self.direction, sampler=optuna.samplers.TPESampler(seed=self.seed), pruner=pruner
        )
        for name in self.algorithms:
            algo = A.ALGORITHMS[name]
            study.enqueue_trial({"algorithm": name, **{f"{name}.{k}": algo.defaults[k] for k in algo.space}})
        results: dict[int, CVResult] = {}

        def objective(trial: Any) -> float:
            name = trial.suggest_categorical("algorithm", self.algorithms)
            params = A.ALGORITHMS[name].suggest(trial, prefix=f"{name}.")
            trial.set_user_attr("algorithm", name)
            trial.set_user_attr("params", params)
            cv = cross_validate(spec, data, name, params, metric=self.metric, folds=folds, seed=self.seed, trial=trial)
            results[trial.number] = cv
            return cv.mean

        start = time.perf_counter()
        deadline = started + self.time_budget
        n_folds = max(len(folds), 1)

        def refit_estimate() -> float:
            """Seconds to refit the best trial of each algorithm on all data (~ one fold fit each,
            scaled to the full data), plus scoring the ensemble (free: out-of-fold outputs)."""
            best: dict[str, float] = {}
            for t in study.trials:
                if t.state.name == "COMPLETE" and t.duration is not None:
                    name = t.user_attrs.get("algorithm", "")
                    fit_s = t.duration.total_seconds() / n_folds * 1.3
                    best[name] = max(best.get(name, 0.0), fit_s)
            chosen = sorted(best.values(), reverse=True)[: (self.ensemble_size if self.ensemble else 1)]
            return float(sum(chosen))

        def stop_in_time(study_: Any, trial: Any) -> None:
            durations = [t.duration.total_seconds() for t in study_.trials if t.duration is not None]
            next_trial = float(np.median(durations)) if durations else 0.0
            if time.perf_counter() + next_trial + refit_estimate() > deadline:
                study_.stop()

        def progress(study_: Any, trial: Any) -> None:  # the time budget is the bar: its ETA is the deadline
            done = len(study_.trials)
            report_progress("AutoML", int(time.perf_counter() - started), int(self.time_budget), f"{done} trials")

        remaining = max(deadline - time.perf_counter(), 0.0)
        study.optimize(objective, n_trials=self.n_trials, timeout=remaining, callbacks=[stop_in_time, progress])
        search_s = time.perf_counter() - start
        complete = [t for t in study.trials if t.state.name == "COMPLETE"]
        if not complete:
            raise MLInputError("time_budget: no AutoML trial completed; allow more time")
        self.study = study
        summary = {
            "backend": "optuna",
            "search_s": round(search_s, 3),
            "n_trials": len(_finished(study)),
            "n_complete": len(complete),
            "n_pruned": sum(t.state.name == "PRUNED" for t in study.trials),
        }
        trials = [
            _Finished(t.number, t.user_attrs["algorithm"], t.user_attrs["params"], float(t.value), results[t.number])
            for t in complete
        ]
        return self._finish(data, folds, trials, _trials_frame(study), summary)

    def _fit_flaml(self, data: pd.DataFrame, spec: TaskSpec, folds: Sequence[Split], started: float) -> BaseModel:
        """The search by FLAML (``pitwall.ml.automl_flaml``); the same leaderboard, ensemble and refit."""
        from pitwall.ml.automl_flaml import flaml_search

        search = flaml_search(
            spec,
            data,
            folds,
            algorithms=self.algorithms,
            metric=self.metric,
            direction=self.direction,
            time_budget=self.time_budget,
            started=started,
            n_trials=self.n_trials,
            seed=self.seed,
            members=self.ensemble_size if self.ensemble else 1,
        )
        self.flaml_automl = search.automl
        if not search.trials:
            raise MLInputError("time_budget: no AutoML trial completed; allow more time")
        board = pd.DataFrame(
            [
                {
                    "trial": t.number,
                    "state": t.state,
                    "value": t.value,
                    "algorithm": t.algorithm,
                    "params": t.params,
                    "duration_s": t.duration_s,
                }
                for t in search.trials
            ],
            columns=["trial", "state", "value", "algorithm", "params", "duration_s"],
        )
        summary = {
            "backend": "flaml",
            "search_budget_s": round(search.search_budget_s, 3),
            "search_s": round(search.search_s, 3),
            "n_trials": len(search.trials),
            "n_complete": len(search.trials),
            "n_pruned": 0,
        }
        trials = [
            _Finished(
                t.number,
                t.algorithm,
                t.params,
                t.value,
                CVResult(t.algorithm, t.params, self.metric, t.scores, t.fold_metrics, t.raw_outputs),
            )
            for t in search.trials
        ]
        refits = {}
        if search.refit is not None:  # FLAML's final retrain on all rows is Pitwall's fit of its best trial
            refits[(search.refit.algorithm, _key(search.refit.params))] = search.refit
        return self._finish(data, folds, trials, board, summary, refits)

    def _finish(
        self,
        data: pd.DataFrame,
        folds: Sequence[Split],
        complete: list[_Finished],
        board: pd.DataFrame,
        summary: dict[str, Any],
        refits: dict[tuple[str, str], TrainedModel] | None = None,
    ) -> BaseModel:
        """Leaderboard, summary, the ensemble check and the refit, whichever backend searched."""
        refit_started = time.perf_counter()
        reverse = self.direction == "maximize"
        complete = sorted(complete, key=lambda t: t.value, reverse=reverse)
        board["_order"] = board["value"] if reverse else -board["value"]
        board = board.sort_values("_order", ascending=False, na_position="last", kind="mergesort").drop(
            columns="_order"
        )
        self.leaderboard = board.reset_index(drop=True)

        best_per_algo: dict[str, _Finished] = {}
        for t in complete:
            best_per_algo.setdefault(t.algorithm, t)
        chosen = list(best_per_algo.values())[: self.ensemble_size]
        summary = {
            "strategy": "automl",
            "metric": self.metric,
            "direction": self.direction,
            "time_budget_s": self.time_budget,
            **summary,
            "algorithms": list(self.algorithms),
            "best_per_algorithm": {a: float(t.value) for a, t in best_per_algo.items()},
            "trials": trial_records(board),
        }
        refits = refits or {}

        def refit(trial: _Finished) -> TrainedModel:
            done = refits.get((trial.algorithm, _key(trial.params)))
            return done if done is not None else self._refit(data, trial)

        best = complete[0]
        best_score = float(best.value)
        self.ensemble_score = None
        if self.ensemble and len(chosen) >= 2:
            score = self._ensemble_score(data, folds, [t.result for t in chosen])
            self.ensemble_score = score
            summary["ensemble_score"] = score
            summary["ensemble_members"] = [t.algorithm for t in chosen]
            if _better(score, best_score, self.direction):
                members = [refit(t) for t in chosen]
                summary["refit_s"] = round(time.perf_counter() - refit_started, 3)
                model: BaseModel = EnsembleModel(
                    members, score=score, metric=self.metric, metrics={f"cv_{self.metric}": score}, tuning=summary
                )
                self.best_model = model
                return model
        single = refit(best)
        summary["refit_s"] = round(time.perf_counter() - refit_started, 3)
        single.score, single.metric = best_score, self.metric
        single.metrics[f"cv_{self.metric}"] = best_score
        single.tuning = summary
        self.best_model = single
        return single

    def _ensemble_score(self, data: pd.DataFrame, folds: Sequence[Split], members: Sequence[CVResult]) -> float:
        """Mean over folds of the metric of the members' averaged out-of-fold outputs."""
        spec = self.spec
        scores = []
        for i, (train_idx, test_idx) in enumerate(folds):
            raw = np.mean([m.raw_outputs[i] for m in members], axis=0)
            classes = None
            if spec.task == "classification":
                from pitwall.ml.model import sorted_labels

                classes = sorted_labels(data.iloc[train_idx][spec.target].dropna().to_numpy())
            scores.append(_fold_score(spec, classes, data.iloc[test_idx], raw, self.metric, i)[0])
        return float(np.mean(scores))

    def _refit(self, data: pd.DataFrame, trial: _Finished) -> TrainedModel:
        return fit_model(self.spec.with_features(self._features), data, trial.algorithm, trial.params, self.seed)


@dataclass(frozen=True)
class _Finished:
    """A completed AutoML trial, whichever backend ran it."""

    number: int
    algorithm: str
    params: dict[str, Any]
    value: float
    result: CVResult


def _key(params: Mapping[str, Any]) -> str:
    import json

    return json.dumps({k: params[k] for k in sorted(params)}, default=str)
