"""FLAML as an AutoML search backend (``AutoMLTrainer(backend="flaml")``).

FLAML (``flaml.AutoML``, its CFO search) chooses which algorithm and parameters to try next; every
trial is Pitwall's own: each of Pitwall's algorithms is registered with FLAML as a custom learner
whose search space is the algorithm's declarative space (``pitwall.ml.algorithms``, starting from
its defaults), whose fit is :func:`pitwall.ml.model.fit_model` and whose score is the AutoML metric
computed by Pitwall (:func:`pitwall.ml.tuning._fold_score`) on the same race-grouped folds the
Optuna backend uses. So a FLAML trial's value is exactly what ``cross_validate`` gives for that
algorithm and parameters, and the final model is a Pitwall ``TrainedModel`` (or averaging
``EnsembleModel``) saved in the safe formats of ``pitwall.ml.artifacts``: FLAML's own estimators,
stacking ensembles and pickled logs are never kept.

Budget: FLAML gets the trainer's time budget less what was spent before the search and less a
reserve for the final refit (:data:`REFIT_RESERVE` of the budget); it starts no trial after its
budget (a running trial finishes). ``n_trials`` becomes FLAML's ``max_iter``. The search summary
records both budgets, the time spent searching and refitting, and the trial count.

FLAML is imported inside :func:`flaml_search` (an optional dependency of ``pitwall[ml]``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pitwall.ml import algorithms as A
from pitwall.ml.dataset import TaskSpec
from pitwall.ml.errors import MLInputError
from pitwall.ml.model import TrainedModel, fit_model
from pitwall.ml.splits import Split

REFIT_RESERVE = 0.05
MEMBER_RESERVE = 0.025
"""Shares of the time budget kept for the final refit: :data:`REFIT_RESERVE`, plus :data:`MEMBER_RESERVE`
per extra ensemble member (measured: refits take ~5 % of a 60 s budget on two seasons)."""
LEARNER_PREFIX = "pitwall_"
MIN_SEARCH_S = 1.0


@dataclass
class FlamlTrial:
    """One finished FLAML trial, in the shape the trainer's leaderboard uses."""

    number: int
    algorithm: str
    params: dict[str, Any]
    value: float
    scores: list[float]
    fold_metrics: list[dict[str, float]]
    raw_outputs: list[np.ndarray] = field(repr=False)
    duration_s: float
    state: str = "COMPLETE"


@dataclass
class FlamlSearch:
    """What :func:`flaml_search` found: the trials, FLAML's own refit of the best one, the budget."""

    trials: list[FlamlTrial]
    refit: TrainedModel | None
    search_budget_s: float
    search_s: float
    automl: Any = field(repr=False)


def _domain(dist: A.Distribution) -> Any:
    """A Pitwall search-space entry as a ``flaml.tune`` domain (integer upper bounds inclusive; a
    choice by its index, as FLAML samples choices through numpy, which turns ``("sqrt", 0.5)`` into strings)."""
    from flaml import tune

    if isinstance(dist, A.Int):
        return tune.lograndint(dist.low, dist.high + 1) if dist.log else tune.randint(dist.low, dist.high + 1)
    if isinstance(dist, A.Float):
        return tune.loguniform(dist.low, dist.high) if dist.log else tune.uniform(dist.low, dist.high)
    return tune.choice(list(range(len(dist.choices))))


def _start(dist: A.Distribution, default: Any) -> Any:
    return dist.choices.index(default) if isinstance(dist, A.Choice) else default


def search_space(algorithm: str) -> dict[str, dict[str, Any]]:
    """FLAML's ``search_space`` of a Pitwall algorithm: its space, starting at its defaults."""
    algo = A.ALGORITHMS[algorithm]
    return {
        name: {"domain": _domain(dist), "init_value": _start(dist, algo.defaults[name])}
        for name, dist in algo.space.items()
    }


def decode(algorithm: str, config: dict[str, Any]) -> dict[str, Any]:
    """A FLAML config as the algorithm's parameters (choice indices -> values, numpy -> Python)."""
    space = A.ALGORITHMS[algorithm].space
    out: dict[str, Any] = {}
    for name, value in config.items():
        dist = space.get(name)
        if isinstance(dist, A.Choice):
            value = dist.choices[int(value)]
        elif isinstance(value, np.generic):
            value = value.item()
        out[name] = int(round(value)) if isinstance(dist, A.Int) else value
    return out


class _Context:
    """The one search's data and folds, shared by the learners, the metric and the fold aggregation."""

    def __init__(
        self, spec: TaskSpec, data: pd.DataFrame, folds: Sequence[Split], metric: str, direction: str, seed: int
    ) -> None:
        self.spec = spec
        self.data = data.reset_index(drop=True)
        self.folds = [(np.asarray(tr), np.asarray(te)) for tr, te in folds]
        self.metric = metric
        self.sign = -1.0 if direction == "maximize" else 1.0  # FLAML minimises
        self.seed = seed
        self.fold_of = np.full(len(self.data), -1, dtype=np.int64)
        for i, (_, test_idx) in enumerate(self.folds):
            self.fold_of[test_idx] = i
        self.trials: list[FlamlTrial] = []
        self.refit: TrainedModel | None = None
        self._pending: list[tuple[str, dict[str, Any], float, dict[str, float], np.ndarray]] = []
        self._started: float | None = None
        self._owner: int | None = None  # the FLAML learner object of the trial being scored

    # FLAML's splitter protocol: our race-grouped folds, by row position
    def split(self, X: Any = None, y: Any = None, groups: Any = None) -> Iterator[Split]:
        yield from self.folds

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return len(self.folds)

    def fit(self, algorithm: str, params: dict[str, Any], rows: np.ndarray) -> TrainedModel:
        if self._started is None:
            self._started = time.perf_counter()
        full = len(rows) == len(self.data)
        model = fit_model(self.spec, self.data.iloc[rows], algorithm, params, self.seed, compute_importance=full)
        if full:
            self.refit = model
        return model

    def metric_fn(self, X_val: pd.DataFrame, y_val: Any, estimator: Any, *args: Any) -> tuple[float, dict[str, Any]]:
        """FLAML's custom metric: Pitwall's score of the fold's model on the fold's test races."""
        from pitwall.ml.tuning import _fold_score

        rows = X_val.index.to_numpy()
        fold = int(self.fold_of[rows[0]])
        if fold < 0 or not np.array_equal(rows, self.folds[fold][1]):
            raise MLInputError("backend: FLAML handed back rows that are not one of the search's folds")
        if self._pending and self._owner != id(estimator):  # a trial FLAML abandoned mid-way: start afresh
            self._pending = []
        self._owner = id(estimator)
        model: TrainedModel = estimator.model.trained
        test = self.data.iloc[rows]
        raw = model.raw_output(test)
        value, values = _fold_score(self.spec, model.classes, test, raw, self.metric, fold)
        self._pending.append((model.algorithm, dict(model.params), value, values, raw))
        return self.sign * value, {"score": value}

    def aggregate(self, losses: list[float], logged: list[Any]) -> tuple[float, Any]:
        """FLAML's per-trial fold aggregation: the mean, and the finished trial recorded."""
        pending, self._pending = self._pending, []
        if pending:
            started = self._started if self._started is not None else time.perf_counter()
            self.trials.append(
                FlamlTrial(
                    number=len(self.trials),
                    algorithm=pending[0][0],
                    params=pending[0][1],
                    value=float(np.mean([p[2] for p in pending])),
                    scores=[p[2] for p in pending],
                    fold_metrics=[p[3] for p in pending],
                    raw_outputs=[p[4] for p in pending],
                    duration_s=time.perf_counter() - started,
                )
            )
        self._started = None
        return float(np.mean(losses)), {"score": float(np.mean([d["score"] for d in logged]))} if logged else None


class _Fitted:
    """The object FLAML's learner fits: a Pitwall ``TrainedModel`` on the rows FLAML hands it."""

    def __init__(self, context: _Context, algorithm: str, **params: Any) -> None:
        self.context = context
        self.algorithm = algorithm
        self.params = params
        self.trained: TrainedModel | None = None

    def fit(self, X: pd.DataFrame, y: Any = None, **kwargs: Any) -> _Fitted:
        self.trained = self.context.fit(self.algorithm, self.params, np.sort(X.index.to_numpy()))
        return self

    def _output(self, X: pd.DataFrame) -> np.ndarray:
        if self.trained is None:
            raise MLInputError("model: not fitted")
        return self.trained.raw_output(self.context.data.iloc[X.index.to_numpy()])

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self._output(X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        out = self._output(X)
        return out.argmax(axis=1) if out.ndim == 2 else out


def _learner(context: _Context, algorithm: str) -> type:
    """A FLAML learner class for one Pitwall algorithm."""
    from flaml.automl.model import SKLearnEstimator

    class PitwallLearner(SKLearnEstimator):
        def __init__(self, task: Any = "binary", n_jobs: Any = None, **config: Any) -> None:
            super().__init__(task, **config)
            self.estimator_class = _bind(context, algorithm)

        @classmethod
        def search_space(cls, data_size: Any, task: Any = None, **params: Any) -> dict[str, dict[str, Any]]:
            return search_space(algorithm)

    PitwallLearner.__name__ = PitwallLearner.__qualname__ = f"Pitwall_{algorithm}"
    return PitwallLearner


def _bind(context: _Context, algorithm: str) -> Callable[..., _Fitted]:
    def make(**params: Any) -> _Fitted:
        return _Fitted(context, algorithm, **decode(algorithm, params))

    return make


def _proxy_target(spec: TaskSpec, n: int) -> np.ndarray:
    """The label FLAML is given: a stand-in (alternating 0/1, or 0..n-1 for regressors); Pitwall's
    learners fit and score on the real target of the rows FLAML hands them."""
    return (np.arange(n) % 2).astype(np.int64) if spec.kind == "classifier" else np.arange(n, dtype=np.float64)


def flaml_search(
    spec: TaskSpec,
    data: pd.DataFrame,
    folds: Sequence[Split],
    *,
    algorithms: Sequence[str],
    metric: str,
    direction: str,
    time_budget: float,
    started: float,
    n_trials: int | None,
    seed: int,
    members: int = 1,
) -> FlamlSearch:
    """Run FLAML's search over ``algorithms`` on ``folds``; the trials and FLAML's refit of the best.

    ``time_budget`` is the whole AutoML budget, counted from ``started`` (a ``time.perf_counter()``
    value: when the trainer's ``fit`` began). FLAML's own budget is what remains once FLAML is
    imported (it imports MLflow and scikit-learn: seconds) less the refit reserve
    (:data:`REFIT_RESERVE`, + :data:`MEMBER_RESERVE` per extra ensemble ``members``), at least
    :data:`MIN_SEARCH_S`.
    """
    try:
        from flaml import AutoML
    except ImportError:  # pragma: no cover - flaml is in pitwall[ml]
        raise MLInputError("backend: 'flaml' needs the flaml package (pip install 'pitwall[ml]')") from None
    if not folds:
        raise MLInputError("cv_folds: the FLAML backend needs at least 2 folds")
    context = _Context(spec, data, folds, metric, direction, seed)
    reserve = time_budget * (REFIT_RESERVE + MEMBER_RESERVE * max(members - 1, 0))
    search_budget = max(time_budget - (time.perf_counter() - started) - reserve, MIN_SEARCH_S)
    automl = AutoML()
    names = []
    for algorithm in algorithms:
        name = f"{LEARNER_PREFIX}{algorithm}"
        automl.add_learner(name, _learner(context, algorithm))
        names.append(name)
    X = pd.DataFrame({"row": np.arange(len(context.data), dtype=np.float64)})
    flaml_logger = logging.getLogger("flaml.automl.logger")
    level = flaml_logger.level
    started = time.perf_counter()
    try:
        automl.fit(
            X_train=X,
            y_train=_proxy_target(spec, len(X)),
            task="classification" if spec.kind == "classifier" else "regression",
            metric=context.metric_fn,
            cv_score_agg_func=context.aggregate,
            estimator_list=names,
            time_budget=search_budget,
            max_iter=n_trials,
            eval_method="cv",
            split_type=context,
            sample=False,
            ensemble=False,
            n_jobs=1,
            seed=seed,
            verbose=0,
            log_file_name="",
            retrain_full=True,
            auto_augment=False,
            mlflow_logging=False,
        )
    finally:
        flaml_logger.setLevel(level)
    return FlamlSearch(
        trials=context.trials,
        refit=context.refit,
        search_budget_s=search_budget,
        search_s=time.perf_counter() - started,
        automl=automl,
    )
