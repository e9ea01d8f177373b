"""Honest, time-aware evaluation: race-grouped splits, holdout, expanding windows and
walk-forward backtests, plus ``EvaluationResult`` (metrics and plots of one evaluation).

Split functions return positional indices (for ``data.iloc``). Every split keeps the rows
of one race (``group_col``) on one side. Time order is ``(season, round)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pitwall.ml import metrics as M
from pitwall.ml.dataset import TaskSpec, check_race_keys, race_table, require_columns
from pitwall.ml.errors import MLInputError

if TYPE_CHECKING:
    from pitwall.ml.builder import ModelBuilder
    from pitwall.ml.model import BaseModel

Split = tuple[np.ndarray, np.ndarray]
WALK_FORWARD_MODES = ("expanding", "season_start")


# ---------------------------------------------------------------------------------------
# splits
# ---------------------------------------------------------------------------------------
def _positions(data: pd.DataFrame, group_col: str, races: Sequence[Any] | np.ndarray) -> np.ndarray:
    return np.flatnonzero(data[group_col].isin(list(races)).to_numpy())


def group_kfold(data: pd.DataFrame, n_splits: int = 5, group_col: str = "race_id", seed: int = 0) -> list[Split]:
    """K folds of whole races, assigned at random (seeded), each race in exactly one test fold."""
    check_race_keys(data, group_col)
    races = race_table(data, group_col)[group_col].to_numpy()
    if isinstance(n_splits, bool) or not isinstance(n_splits, int) or n_splits < 2:
        raise MLInputError(f"cv_folds: must be an integer >= 2, got {n_splits!r}")
    if n_splits > len(races):
        raise MLInputError(f"cv_folds: {n_splits} folds need at least {n_splits} races; data has {len(races)}")
    shuffled = races[np.random.default_rng(seed).permutation(len(races))]
    out: list[Split] = []
    for chunk in np.array_split(shuffled, n_splits):
        test = _positions(data, group_col, chunk)
        train = np.setdiff1d(np.arange(len(data)), test, assume_unique=True)
        out.append((train, test))
    return out


def holdout_split(data: pd.DataFrame, last_n_races: int = 5, group_col: str = "race_id") -> Split:
    """Train on everything before the last ``last_n_races`` races (by time), test on those."""
    check_race_keys(data, group_col)
    races = race_table(data, group_col)[group_col].to_numpy()
    if isinstance(last_n_races, bool) or not isinstance(last_n_races, int) or last_n_races < 1:
        raise MLInputError(f"last_n_races: must be a positive integer, got {last_n_races!r}")
    if last_n_races >= len(races):
        raise MLInputError(f"last_n_races: {last_n_races} leaves no training race; data has {len(races)} races")
    test = _positions(data, group_col, races[-last_n_races:])
    return np.setdiff1d(np.arange(len(data)), test, assume_unique=True), test


def expanding_window_splits(
    data: pd.DataFrame,
    n_splits: int = 5,
    test_races: int | None = None,
    min_train_races: int = 1,
    group_col: str = "race_id",
) -> list[Split]:
    """Time-series splits: fold i tests on a block of ``test_races`` consecutive races and
    trains on every race before that block. Blocks are the last ``n_splits * test_races``
    races; ``test_races`` defaults to ``n_races // (n_splits + 1)``."""
    check_race_keys(data, group_col)
    races = race_table(data, group_col)[group_col].to_numpy()
    n = len(races)
    if isinstance(n_splits, bool) or not isinstance(n_splits, int) or n_splits < 1:
        raise MLInputError(f"n_splits: must be a positive integer, got {n_splits!r}")
    block = test_races if test_races is not None else n // (n_splits + 1)
    if block < 1:
        raise MLInputError(f"n_splits: {n_splits} splits need at least {n_splits + 1} races; data has {n}")
    first_test = n - n_splits * block
    if first_test < max(1, min_train_races):
        raise MLInputError(
            f"n_splits: {n_splits} blocks of {block} races leave {max(first_test, 0)} training races "
            f"before the first block; need {max(1, min_train_races)}"
        )
    out: list[Split] = []
    for i in range(n_splits):
        start = first_test + i * block
        out.append(
            (_positions(data, group_col, races[:start]), _positions(data, group_col, races[start : start + block]))
        )
    return out


@dataclass(frozen=True)
class WalkForwardStep:
    """One backtest step: the race predicted and the rows trained on (positions in data)."""

    race_id: Any
    season: int
    round: int
    train: np.ndarray
    test: np.ndarray
    train_races: int


def walk_forward_splits(
    data: pd.DataFrame,
    season: int,
    mode: str = "expanding",
    min_train_races: int = 10,
    rounds: Sequence[int] | None = None,
    group_col: str = "race_id",
) -> Iterator[WalkForwardStep]:
    """The steps of a walk-forward backtest over the races of ``season`` (in round order).

    ``expanding``: each race is predicted from every race strictly before it in time.
    ``season_start``: every race is predicted from the races of earlier seasons only.
    Races with fewer than ``min_train_races`` training races are skipped.
    """
    check_race_keys(data, group_col)
    if mode not in WALK_FORWARD_MODES:
        raise MLInputError(f"mode: must be one of {', '.join(WALK_FORWARD_MODES)}, got {mode!r}")
    races = race_table(data, group_col)
    target = races[races["season"] == season]
    if rounds is not None:
        target = target[target["round"].isin(list(rounds))]
    if target.empty:
        raise MLInputError(f"season: no races of season {season!r} (rounds {rounds!r}) in the data")
    seasons = data["season"].to_numpy()
    rounds_arr = data["round"].to_numpy()
    group = data[group_col].to_numpy()
    for race in target.itertuples(index=False):
        r_season, r_round, r_id = int(race.season), int(race.round), getattr(race, group_col)
        if mode == "expanding":
            before = (seasons < r_season) | ((seasons == r_season) & (rounds_arr < r_round))
        else:
            before = seasons < r_season
        train = np.flatnonzero(before)
        n_races = int(pd.unique(group[train]).size)
        if n_races < min_train_races:
            continue
        yield WalkForwardStep(r_id, r_season, r_round, train, np.flatnonzero(group == r_id), n_races)


# ---------------------------------------------------------------------------------------
# scoring prediction frames
# ---------------------------------------------------------------------------------------
def proba_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if str(c).startswith("proba_")]


def score_frame(spec: TaskSpec, frame: pd.DataFrame, classes: Sequence[Any] | None = None) -> dict[str, float]:
    """Metrics of a prediction frame (``BaseModel.predict_frame`` output with the target).

    Classification and regression ignore rows with a null target. Ranking uses
    ``k = top_k`` (or 3 for full-order models).
    """
    require_columns(frame, [spec.target], "evaluation data")
    if spec.task == "classification":
        rows = frame[frame[spec.target].notna()]
        if rows.empty:
            raise MLInputError(f"evaluation data: column {spec.target!r} has no labelled rows")
        labels = list(classes) if classes is not None else [c.removeprefix("proba_") for c in proba_columns(rows)]
        proba = rows[[f"proba_{c}" for c in labels]].to_numpy(dtype=np.float64)
        return M.classification_metrics(rows[spec.target], rows["prediction"], np.nan_to_num(proba), labels)
    if spec.task == "regression":
        return M.regression_metrics(frame[spec.target], frame["prediction"])
    k = spec.top_k if spec.top_k is not None else 3
    prob = "probability" if spec.top_k is not None else None
    return M.ranking_metrics(frame, "score", spec.target, spec.group_col, k=k, prob_col=prob)


@dataclass
class EvaluationResult:
    """Metrics of a model on a labelled frame, with the predictions behind them.

    ``metrics``: dict of metric name -> value (see ``pitwall.ml.metrics``).
    ``predictions``: the ``predict_frame`` output (keys, target, predictions).
    """

    spec: TaskSpec
    algorithm: str
    metrics: dict[str, float]
    predictions: pd.DataFrame
    classes: list[Any] | None
    importance: dict[str, float]

    @property
    def task(self) -> str:
        return self.spec.task

    def confusion_matrix(self) -> tuple[list[Any], np.ndarray]:
        """(labels, counts) with rows = actual, columns = predicted.

        Classification: the model's classes. Ranking with ``top_k``: "in top k" (predicted
        rank <= k) against actually finishing in the top k.
        """
        frame = self.predictions
        if self.task == "classification":
            rows = frame[frame[self.spec.target].notna()]
            labels = list(self.classes or [])
            actual, predicted = rows[self.spec.target].tolist(), rows["prediction"].tolist()
        elif self.task == "ranking" and self.spec.top_k is not None:
            k = self.spec.top_k
            labels = [f"outside top {k}", f"top {k}"]
            pos = pd.to_numeric(frame[self.spec.target], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            actual = [labels[int(p <= k)] for p in np.nan_to_num(pos, nan=np.inf)]
            predicted = [labels[int(r <= k)] for r in frame["predicted_rank"]]
        else:
            raise MLInputError(f"confusion matrix: not defined for {self.task} (top_k={self.spec.top_k})")
        index = {label: i for i, label in enumerate(labels)}
        matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
        for a, p in zip(actual, predicted, strict=True):
            if a in index and p in index:
                matrix[index[a], index[p]] += 1
        return labels, matrix

    def plot_confusion_matrix(self, path: str | Path) -> Path:
        """Write the confusion matrix as a PNG; returns the path."""
        from pitwall.ml.plots import plot_confusion_matrix

        labels, matrix = self.confusion_matrix()
        return plot_confusion_matrix(matrix, labels, path, f"{self.algorithm}: {self.spec.target}")

    def plot_feature_importance(self, path: str | Path, top_n: int = 20) -> Path:
        """Write the ``top_n`` feature importances as a PNG bar chart; returns the path."""
        from pitwall.ml.plots import plot_feature_importance

        if not self.importance:
            raise MLInputError("feature importance: this model has none recorded")
        return plot_feature_importance(self.importance, path, f"{self.algorithm}: feature importance", top_n)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "target": self.spec.target,
            "top_k": self.spec.top_k,
            "algorithm": self.algorithm,
            "metrics": dict(self.metrics),
            "rows": int(len(self.predictions)),
        }


def evaluate_model(model: BaseModel, test_df: pd.DataFrame) -> EvaluationResult:
    """Predict ``test_df`` (which must hold the target) and score it."""
    require_columns(test_df, [model.target], "test data")
    if model.task == "ranking":
        check_race_keys(test_df, model.spec.group_col, "test data")
    frame = model.predict_frame(test_df)
    return EvaluationResult(
        spec=model.spec,
        algorithm=model.algorithm,
        metrics=score_frame(model.spec, frame, model.classes),
        predictions=frame,
        classes=model.classes,
        importance=model.feature_importance(),
    )


# ---------------------------------------------------------------------------------------
# walk-forward backtests
# ---------------------------------------------------------------------------------------
@dataclass
class BacktestResult:
    """Outcome of ``walk_forward``.

    - ``predictions``: one row per predicted row (``predict_frame`` columns) plus
      ``train_races`` (races trained on) and ``train_last_race`` (latest race trained on);
    - ``metrics``: aggregated over all predicted rows; ``per_race``: one row per race with its
      metrics; ``baseline_metrics``: name -> metrics of each baseline column on the same rows;
    - ``skipped_races``: races left out for lack of training history.
    """

    season: int
    mode: str
    spec: TaskSpec
    algorithm: str
    predictions: pd.DataFrame
    metrics: dict[str, float]
    per_race: pd.DataFrame
    baseline_metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    skipped_races: list[Any] = field(default_factory=list)
    n_models: int = 0
    training_time_s: float = 0.0
    last_model: BaseModel | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "season": self.season,
            "mode": self.mode,
            "task": self.spec.task,
            "target": self.spec.target,
            "top_k": self.spec.top_k,
            "algorithm": self.algorithm,
            "metrics": dict(self.metrics),
            "baseline_metrics": {k: dict(v) for k, v in self.baseline_metrics.items()},
            "races": int(len(self.per_race)),
            "skipped_races": [str(r) for r in self.skipped_races],
            "n_models": self.n_models,
            "training_time_s": self.training_time_s,
        }


def baseline_scores(spec: TaskSpec, rows: pd.DataFrame, column: str) -> dict[str, float]:
    """Metrics of a baseline column in the model's own convention (class label, value, or
    ranking score with higher = better) on ``rows``."""
    require_columns(rows, [column, spec.target], "baselines")
    if spec.task == "classification":
        labelled = rows[rows[spec.target].notna()]
        return M.classification_metrics(labelled[spec.target], labelled[column])
    if spec.task == "regression":
        return M.regression_metrics(rows[spec.target], rows[column])
    k = spec.top_k if spec.top_k is not None else 3
    return M.ranking_metrics(rows, column, spec.target, spec.group_col, k=k)


def _merge_classes(models: Sequence[BaseModel]) -> list[Any] | None:
    from pitwall.ml.model import sorted_labels

    if models[0].classes is None:
        return None
    return sorted_labels([c for m in models for c in (m.classes or [])])


def walk_forward(
    data: pd.DataFrame,
    model: ModelBuilder | Callable[[pd.DataFrame], BaseModel],
    *,
    season: int,
    mode: str = "expanding",
    min_train_races: int = 10,
    rounds: Sequence[int] | None = None,
    train_kwargs: Mapping[str, Any] | None = None,
    baselines: Mapping[str, str] | None = None,
    group_col: str | None = None,
    track: bool = False,
    experiment: str | None = None,
    run_name: str | None = None,
) -> BacktestResult:
    """Backtest race by race over ``season``.

    ``model`` is either a ``ModelBuilder`` (trained with ``builder.train(train_df,
    **train_kwargs)``) or any callable ``train_df -> model``. For each race of the season
    (optionally only ``rounds``), ``expanding`` mode trains a fresh model on every row of
    races strictly before it; ``season_start`` trains one model on earlier seasons and
    predicts every race of the season with it. The predicted race and anything later are
    never passed to training. ``baselines`` maps a name to a column of ``data`` holding a
    naive prediction in the model's convention (see ``baseline_scores``).
    """
    from pitwall.ml.builder import ModelBuilder

    if isinstance(model, ModelBuilder):
        builder, kwargs = model, dict(train_kwargs or {})
        gcol = group_col or builder.spec.group_col

        def fit(train_df: pd.DataFrame) -> BaseModel:
            return builder.train(train_df, **kwargs)
    elif callable(model):
        if train_kwargs:
            raise MLInputError("train_kwargs: only used with a ModelBuilder; pass a callable's options yourself")
        fit, gcol = model, group_col or "race_id"
    else:
        raise MLInputError(f"model: expected a ModelBuilder or a callable, got {type(model).__name__}")

    steps = list(walk_forward_splits(data, season, mode, min_train_races, rounds, gcol))
    all_races = race_table(data, gcol)
    wanted = all_races[all_races["season"] == season]
    if rounds is not None:
        wanted = wanted[wanted["round"].isin(list(rounds))]
    done = {s.race_id for s in steps}
    skipped = [r for r in wanted[gcol].tolist() if r not in done]
    if not steps:
        raise MLInputError(
            f"min_train_races: no race of season {season} has {min_train_races} earlier races to train on"
        )

    frames: list[pd.DataFrame] = []
    models: list[BaseModel] = []
    fitted: BaseModel | None = None
    start = time.perf_counter()
    for step in steps:
        if fitted is None or mode == "expanding":
            fitted = fit(data.iloc[step.train])
            models.append(fitted)
        test = data.iloc[step.test]
        frame = fitted.predict_frame(test)
        frame["train_races"] = step.train_races
        frame["train_last_race"] = race_table(data.iloc[step.train], gcol)[gcol].iloc[-1]
        for name, col in (baselines or {}).items():
            require_columns(test, [col], f"baselines[{name!r}]")
            frame[f"baseline_{name}"] = test[col].to_numpy()
        frames.append(frame)
    elapsed = time.perf_counter() - start
    assert fitted is not None
    spec = fitted.spec
    predictions = pd.concat(frames)
    classes = _merge_classes(models)
    if classes is not None:
        for label in classes:
            col = f"proba_{label}"
            predictions[col] = predictions[col].fillna(0.0) if col in predictions else 0.0

    per_race_rows = []
    for step, frame in zip(steps, frames, strict=True):
        row: dict[str, Any] = {gcol: step.race_id, "season": step.season, "round": step.round}
        row.update({"train_races": step.train_races, "rows": len(frame)})
        if spec.task != "classification":
            row.update(score_frame(spec, frame, None))
        else:
            labelled = frame[frame[spec.target].notna()]
            if not labelled.empty:
                row["accuracy"] = float((labelled["prediction"] == labelled[spec.target]).mean())
        per_race_rows.append(row)

    baseline_metrics = {name: baseline_scores(spec, predictions, f"baseline_{name}") for name in (baselines or {})}
    result = BacktestResult(
        season=int(season),
        mode=mode,
        spec=spec,
        algorithm=fitted.algorithm,
        predictions=predictions,
        metrics=score_frame(spec, predictions, classes),
        per_race=pd.DataFrame(per_race_rows),
        baseline_metrics=baseline_metrics,
        skipped_races=skipped,
        n_models=len(models),
        training_time_s=elapsed,
        last_model=fitted,
    )
    if track:
        from pitwall.ml.tracking import log_backtest

        log_backtest(result, experiment=experiment, run_name=run_name)
    return result
