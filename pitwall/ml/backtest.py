"""The walk-forward backtest: every race predicted by a model that saw only earlier races, the
naive baselines scored on the same rows, and the paired comparison against each of them.

This is the one backtest. ``pitwall.training.backtest_template`` (CLI ``pitwall backtest``,
SDK ``pw.backtest``, benchmarks, marketplace verification) builds a template's frame and calls
``walk_forward`` here.

Comparisons (``BacktestResult.comparisons``): per metric, per baseline, a
``pitwall.ml.compare.PairedComparison`` of the model against the baseline on the same rows,
resampled over races. Point baselines take part in point metrics (top-1, top-k overlap,
Spearman, MAE, accuracy); probability baselines also in proper scores (log loss, Brier, winner
NLL). ``strongest[metric]`` names the baseline with the best value of that metric;
``verdict(metric)`` is the model's verdict against it — the only one a "beats baseline" claim
may rest on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pitwall.config import LOCAL_TENANT
from pitwall.ml import compare as C
from pitwall.ml.dataset import TaskSpec, race_table, require_columns
from pitwall.ml.errors import MLInputError
from pitwall.ml.evaluation import baseline_scores, score_frame
from pitwall.ml.metrics import direction
from pitwall.ml.splits import walk_forward_splits
from pitwall.progress import report as report_progress

if TYPE_CHECKING:
    from pitwall.ml.builder import ModelBuilder
    from pitwall.ml.model import BaseModel

N_BOOT = 2000


@dataclass
class BacktestResult:
    """Outcome of ``walk_forward``.

    - ``predictions``: one row per predicted row (``predict_frame`` columns) plus
      ``train_races`` (races trained on), ``train_last_race`` (latest race trained on) and
      ``baseline_<name>`` per baseline;
    - ``metrics``: aggregated over all predicted rows; ``per_race``: one row per race with its
      metrics; ``baseline_metrics``: name -> metrics of each baseline on the same rows;
    - ``comparisons``: metric -> baseline -> ``PairedComparison``; ``strongest``: metric ->
      the best baseline's name;
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
    comparisons: dict[str, dict[str, C.PairedComparison]] = field(default_factory=dict)
    strongest: dict[str, str] = field(default_factory=dict)
    probability_baselines: tuple[str, ...] = ()
    skipped_races: list[Any] = field(default_factory=list)
    n_models: int = 0
    refit_every: int = 1
    training_time_s: float = 0.0
    last_model: BaseModel | None = None

    @property
    def n_races(self) -> int:
        return int(len(self.per_race))

    def verdict(self, metric: str) -> C.PairedComparison | None:
        """The model against the strongest baseline in ``metric`` (None when no baseline has it)."""
        name = self.strongest.get(metric)
        return None if name is None else self.comparisons[metric][name]

    def by_race(self, metric: str | None = None) -> pd.DataFrame:
        """``metric`` (default: the task's primary one) race by race for the model and every
        baseline that has it: one row per race (``<season> r<round>``), one column per side."""
        from pitwall.ml.metrics import default_metric

        metric = metric or default_metric(self.spec.task, self.spec.top_k)
        sides = dict.fromkeys(self.baseline_metrics, "")
        losses = loss_frames(self.spec, self.predictions, sides, self.probability_baselines)
        if metric not in losses:
            raise MLInputError(f"metric: {metric!r} is not compared race by race here ({', '.join(sorted(losses))})")
        table = losses[metric].groupby("group", sort=False).mean()
        table = table.dropna(axis=1, how="all")
        keys = race_table(self.predictions, self.spec.group_col).set_index(self.spec.group_col)
        table = table.loc[[g for g in keys.index if g in table.index]]
        table.index = [f"{keys.loc[g, 'season']} r{keys.loc[g, 'round']}" for g in table.index]
        return table

    def plot_by_race(self, metric: str | None = None, path: str | Path | None = None) -> Any:
        """``by_race(metric)`` as a line chart (model and baselines), inline in Jupyter; with
        ``path`` written there as a PNG."""
        from pitwall.ml.metrics import default_metric
        from pitwall.ml.plots import plot_by_race

        metric = metric or default_metric(self.spec.task, self.spec.top_k)
        title = f"{self.algorithm}, walk-forward {self.season}: {metric} by race"
        return plot_by_race(self.by_race(metric), path, title, metric)

    def plot_calibration(self, path: str | Path | None = None, n_bins: int = 10) -> Any:
        """Reliability diagram of the walk-forward probabilities (every race out of sample)."""
        from pitwall.ml.compare import reliability_table
        from pitwall.ml.evaluation import calibration_pairs
        from pitwall.ml.plots import plot_calibration

        classes = self.last_model.classes if self.last_model is not None else None
        outcome, prob = calibration_pairs(self.spec, self.predictions, classes)
        title = f"{self.algorithm}, walk-forward {self.season}: calibration ({len(prob)} rows)"
        return plot_calibration(reliability_table(outcome, prob, n_bins), path, title)

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
            "comparisons": {m: {b: c.to_dict() for b, c in per.items()} for m, per in self.comparisons.items()},
            "strongest": dict(self.strongest),
            "races": self.n_races,
            "skipped_races": [str(r) for r in self.skipped_races],
            "n_models": self.n_models,
            "refit_every": self.refit_every,
            "training_time_s": self.training_time_s,
        }


def _merge_classes(models: Sequence[BaseModel]) -> list[Any] | None:
    from pitwall.ml.model import sorted_labels

    if models[0].classes is None:
        return None
    return sorted_labels([c for m in models for c in (m.classes or [])])


# ---------------------------------------------------------------------------------------
# per-row / per-race losses of the model and of each baseline on the same rows
# ---------------------------------------------------------------------------------------
def _ranking_race_scores(race: pd.DataFrame, score: str, target: str, k: int) -> dict[str, float]:
    from scipy.stats import spearmanr

    ordered = race.sort_values(score, ascending=False, kind="mergesort")
    pos = pd.to_numeric(ordered[target], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    out: dict[str, float] = {"topk_overlap": float(np.sum(pos[:k] <= k)) / k}
    if (pos == 1).any():
        out["top1_accuracy"] = float(pos[0] == 1)
    ok = ~np.isnan(pos)
    s = ordered[score].to_numpy(dtype=np.float64)[ok]
    if ok.sum() >= 3 and np.ptp(s) > 0 and np.ptp(pos[ok]) > 0:
        out["spearman"] = float(spearmanr(s, -pos[ok]).statistic)
    return out


def loss_frames(
    spec: TaskSpec, predictions: pd.DataFrame, baselines: Mapping[str, str], probability: Collection[str] = ()
) -> dict[str, pd.DataFrame]:
    """Metric -> frame with ``group`` and one column per side (``model`` and each baseline name)
    holding that side's per-row (proper scores, MAE, accuracy) or per-race (top-1, top-k overlap,
    Spearman) values; NaN where a side does not produce the metric."""
    gcol = spec.group_col
    frame = predictions.reset_index(drop=True)
    out: dict[str, pd.DataFrame] = {}
    if spec.task == "ranking":
        k = spec.top_k if spec.top_k is not None else 3
        sides = {"model": "score", **{n: f"baseline_{n}" for n in baselines}}
        per_race: dict[str, dict[str, pd.Series]] = {}
        for side, col in sides.items():
            rows = frame.groupby(gcol, sort=False)[[col, spec.target]].apply(
                lambda r, c=col: pd.Series(_ranking_race_scores(r, c, spec.target, k))
            )
            table = rows.unstack() if isinstance(rows, pd.Series) else rows
            for metric in table.columns:
                per_race.setdefault(str(metric), {})[side] = table[metric]
        for metric, sides_values in per_race.items():
            df = pd.DataFrame(sides_values)
            out[metric] = df.rename_axis("group").reset_index()
        if spec.top_k is not None and "probability" in frame:
            pos = pd.to_numeric(frame[spec.target], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            hit = np.where(np.isnan(pos), 0.0, pos <= k)
            probs = {"model": frame["probability"]}
            probs.update({n: frame[f"baseline_{n}"] for n in baselines if n in probability})
            groups = frame[gcol].to_numpy()
            ll = pd.DataFrame({"group": groups})
            br = pd.DataFrame({"group": groups})
            for side in ("model", *baselines):
                ll[side] = C.log_loss(hit, probs[side]) if side in probs else np.nan
                br[side] = C.brier(hit, probs[side]) if side in probs else np.nan
            out["log_loss"], out["brier"] = ll, br
            if k == 1:
                nll = {s: C.winner_nll(p, pos == 1, groups) for s, p in probs.items()}
                df = pd.DataFrame(nll).reindex(columns=["model", *baselines])
                out["winner_nll"] = df.rename_axis("group").reset_index()
        return out
    labelled = frame[frame[spec.target].notna()].reset_index(drop=True)
    groups = labelled[gcol].to_numpy()
    if spec.task == "regression":
        mae = pd.DataFrame({"group": groups, "model": C.absolute_error(labelled[spec.target], labelled["prediction"])})
        for n in baselines:
            mae[n] = C.absolute_error(labelled[spec.target], labelled[f"baseline_{n}"])
        return {"mae": mae}
    acc = pd.DataFrame({"group": groups, "model": (labelled["prediction"] == labelled[spec.target]).astype(float)})
    for n in baselines:
        col = labelled[f"baseline_{n}"]
        if n in probability:
            labels = sorted(pd.unique(labelled[spec.target]).tolist(), key=str)
            predicted = np.where(pd.to_numeric(col, errors="coerce").fillna(0.5) >= 0.5, labels[-1], labels[0])
            acc[n] = (predicted == labelled[spec.target].to_numpy()).astype(float)
        else:
            acc[n] = (col == labelled[spec.target]).astype(float).to_numpy()
    out["accuracy"] = acc
    proba = [c for c in labelled.columns if str(c).startswith("proba_")]
    if proba:
        labels = [c.removeprefix("proba_") for c in proba]
        truth = labelled[spec.target].astype(str).to_numpy()
        p = labelled[proba].to_numpy(dtype=np.float64)
        p = p / np.clip(p.sum(axis=1, keepdims=True), C.EPS, None)
        idx = np.array([labels.index(t) if t in labels else -1 for t in truth])
        p_true = np.where(idx >= 0, p[np.arange(len(p)), np.clip(idx, 0, None)], 0.0)
        ll = pd.DataFrame({"group": groups, "model": -np.log(np.clip(p_true, C.EPS, 1.0))})
        onehot = np.zeros_like(p)
        onehot[np.arange(len(p))[idx >= 0], idx[idx >= 0]] = 1.0
        br_model = np.sum((p - onehot) ** 2, axis=1) / (2.0 if len(labels) == 2 else 1.0)
        br = pd.DataFrame({"group": groups, "model": br_model})
        if len(labels) == 2:
            positive = (truth == labels[1]).astype(float)
            for n in baselines:
                if n in probability:
                    q = pd.to_numeric(labelled[f"baseline_{n}"], errors="coerce").fillna(0.5).to_numpy()
                    ll[n], br[n] = C.log_loss(positive, q), C.brier(positive, q)
                else:
                    ll[n], br[n] = np.nan, np.nan
        else:
            for n in baselines:
                ll[n], br[n] = np.nan, np.nan
        out["log_loss"], out["brier"] = ll, br
    return out


def compare_sides(
    losses: Mapping[str, pd.DataFrame], n_boot: int = N_BOOT, seed: int = 0
) -> tuple[dict[str, dict[str, C.PairedComparison]], dict[str, str]]:
    """Paired bootstrap of the model against every baseline that produces each metric, and the
    strongest baseline per metric (best mean on the rows both sides have)."""
    comparisons: dict[str, dict[str, C.PairedComparison]] = {}
    strongest: dict[str, str] = {}
    for metric, df in losses.items():
        if "model" not in df.columns:  # only baselines produce it (e.g. Spearman of a constant model score)
            continue
        higher = direction(metric) == "maximize"
        per: dict[str, C.PairedComparison] = {}
        for side in df.columns:
            if side in ("group", "model") or df[side].isna().all():
                continue
            ok = df["model"].notna() & df[side].notna()
            if not ok.any():
                continue
            per[side] = C.paired_bootstrap(
                df.loc[ok, "model"], df.loc[ok, side], df.loc[ok, "group"], n_boot, seed, higher_is_better=higher
            )
        if per:
            comparisons[metric] = per
            strongest[metric] = C.strongest({n: c.baseline_mean for n, c in per.items()}, higher_is_better=higher)
    return comparisons, strongest


# ---------------------------------------------------------------------------------------
# the walk-forward loop
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FitBlock:
    """One model of a backtest: the rows it is trained on and the races it predicts (row
    positions in the backtest's frame; every predicted race comes after every training race)."""

    train: np.ndarray
    tests: tuple[np.ndarray, ...]


@dataclass
class BlockResult:
    """A block's model, its ``predict_frame`` of each race and that race's metrics."""

    model: BaseModel
    frames: list[pd.DataFrame]
    scores: list[dict[str, float]]


def fit_blocks(steps: Sequence[Any], mode: str, refit_every: int) -> list[FitBlock]:
    """Group walk-forward steps by the model that predicts them: ``expanding`` refits before
    every ``refit_every``-th race (each model trained on the rows of the step that fits it),
    ``season_start`` fits one model for every race."""
    blocks: list[tuple[np.ndarray, list[np.ndarray]]] = []
    for i, step in enumerate(steps):
        if not blocks or (mode == "expanding" and i % refit_every == 0):
            blocks.append((step.train, []))
        blocks[-1][1].append(step.test)
    return [FitBlock(train, tuple(tests)) for train, tests in blocks]


def race_scores(spec: TaskSpec, frame: pd.DataFrame) -> dict[str, float]:
    """One race's metrics (``per_race``): the task's metrics, accuracy alone for classification."""
    if spec.task != "classification":
        return score_frame(spec, frame, None)
    labelled = frame[frame[spec.target].notna()]
    return {} if labelled.empty else {"accuracy": float((labelled["prediction"] == labelled[spec.target]).mean())}


def run_block(shared: tuple[Callable[[pd.DataFrame], BaseModel], pd.DataFrame], block: FitBlock) -> BlockResult:
    """Fit ``block``'s model and predict its races in one call (rows are predicted independently
    and ranks/probabilities normalised per race, so this equals predicting race by race)."""
    fit, data = shared
    model = fit(data.iloc[block.train])
    frame = model.predict_frame(data.iloc[np.concatenate(block.tests)])
    ends = np.cumsum([len(t) for t in block.tests])
    frames = [frame.iloc[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    return BlockResult(model, frames, [race_scores(model.spec, f) for f in frames])


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
    probability_baselines: Collection[str] = (),
    group_col: str | None = None,
    track: bool = False,
    experiment: str | None = None,
    run_name: str | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
    refit_every: int = 1,
    n_jobs: int | None = None,
    tenant_id: str = LOCAL_TENANT,
) -> BacktestResult:
    """Backtest race by race over ``season``.

    ``model`` is either a ``ModelBuilder`` (trained with ``builder.train(train_df,
    **train_kwargs)``) or any callable ``train_df -> model``. For each race of the season
    (optionally only ``rounds``), ``expanding`` mode trains a fresh model on every row of
    races strictly before it; ``season_start`` trains one model on earlier seasons and
    predicts every race of the season with it. The predicted race and anything later are
    never passed to training. ``baselines`` maps a name to a column of ``data`` holding a
    naive prediction in the model's convention (see ``evaluation.baseline_scores``); names in
    ``probability_baselines`` hold probabilities. ``n_boot`` / ``seed``: the paired bootstrap.
    ``refit_every=k`` (expanding mode) retrains before every k-th race only: the races between
    are predicted by the latest model, which saw only races before them too (each row records
    the races its model was trained on: ``train_races``, ``train_last_race``).

    The models are independent: they are fitted in ``n_jobs`` processes (default: the cores
    this process may use, or ``$PITWALL_JOBS``; 1 = serial), with the same results whatever
    ``n_jobs`` (see ``pitwall.ml.parallel_fits``). With ``track``, MLflow is set up in another
    process while the models fit (``pitwall.ml.tracking.prepare_backtest_log``), and the run is
    logged once at the end, in ``tenant_id``'s experiment.
    """
    from pitwall.ml.builder import ModelBuilder
    from pitwall.ml.parallel_fits import check_jobs, default_jobs, run_parallel

    if isinstance(model, ModelBuilder):
        fit: Callable[[pd.DataFrame], BaseModel] = _BuilderFit(model, dict(train_kwargs or {}))
        gcol = group_col or model.spec.group_col
    elif callable(model):
        if train_kwargs:
            raise MLInputError("train_kwargs: only used with a ModelBuilder; pass a callable's options yourself")
        fit, gcol = model, group_col or "race_id"
    else:
        raise MLInputError(f"model: expected a ModelBuilder or a callable, got {type(model).__name__}")
    if isinstance(refit_every, bool) or not isinstance(refit_every, int) or refit_every < 1:
        raise MLInputError(f"refit_every: must be a positive integer, got {refit_every!r}")
    jobs = default_jobs() if n_jobs is None else check_jobs(n_jobs)
    baselines = dict(baselines or {})
    unknown = sorted(set(probability_baselines) - set(baselines))
    if unknown:
        raise MLInputError(f"probability_baselines: {unknown} are not among the baselines {sorted(baselines)}")
    for name, col in baselines.items():
        require_columns(data, [col], f"baselines[{name!r}]")

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

    tracker = None
    if track:
        from pitwall.ml.tracking import prepare_backtest_log

        tracker = prepare_backtest_log()  # MLflow's import and schema check overlap the fits
    blocks = fit_blocks(steps, mode, refit_every)
    block_of = np.repeat(np.arange(len(blocks)), [len(b.tests) for b in blocks])
    race_order = pd.Series(np.arange(len(all_races)), index=all_races[gcol].to_numpy())
    row_race = race_order.loc[data[gcol].to_numpy()].to_numpy()
    task = f"backtest {season}"
    finished: list[int] = []

    def progress(i: int) -> None:
        finished.append(len(blocks[i].tests))
        report_progress(task, sum(finished), len(steps), f"{len(finished)} of {len(blocks)} models fitted")

    report_progress(task, 0, len(steps), f"fitting {len(blocks)} models on {min(jobs, len(blocks))} processes")
    start = time.perf_counter()
    order = list(range(len(blocks)))[::-1]  # the largest training sets first
    results = run_parallel(run_block, (fit, data), [blocks[i] for i in order], jobs, lambda j: progress(order[j]))
    by_block = dict(zip(order, results, strict=True))
    report_progress(task, len(steps), len(steps), "scoring")
    elapsed = time.perf_counter() - start
    models = [by_block[i].model for i in range(len(blocks))]
    fitted = models[-1]
    spec = fitted.spec

    frames: list[pd.DataFrame] = []
    per_race_rows = []
    for step, b in zip(steps, block_of, strict=True):
        result_b, pos = by_block[int(b)], len(frames) - int(np.searchsorted(block_of, b))
        frame = result_b.frames[pos].copy()
        train = blocks[int(b)].train
        last = all_races[gcol].iloc[int(row_race[train].max())]
        frame["train_races"], frame["train_last_race"] = int(pd.unique(row_race[train]).size), last
        test = data.iloc[step.test]
        for name, col in baselines.items():
            frame[f"baseline_{name}"] = test[col].to_numpy()
        frames.append(frame)
        row: dict[str, Any] = {gcol: step.race_id, "season": step.season, "round": step.round}
        row.update({"train_races": int(frame["train_races"].iloc[0]), "rows": len(frame)})
        row.update(result_b.scores[pos])
        per_race_rows.append(row)
    predictions = pd.concat(frames)
    classes = _merge_classes(models)
    if classes is not None:
        for label in classes:
            col = f"proba_{label}"
            predictions[col] = predictions[col].fillna(0.0) if col in predictions else 0.0

    prob_names = tuple(n for n in baselines if n in set(probability_baselines))
    baseline_metrics = {
        name: baseline_scores(spec, predictions, f"baseline_{name}", probability=name in prob_names)
        for name in baselines
    }
    losses = loss_frames(spec, predictions, baselines, prob_names)
    comparisons, strongest = compare_sides(losses, n_boot=n_boot, seed=seed)
    result = BacktestResult(
        season=int(season),
        mode=mode,
        spec=spec,
        algorithm=fitted.algorithm,
        predictions=predictions,
        metrics=score_frame(spec, predictions, classes),
        per_race=pd.DataFrame(per_race_rows),
        baseline_metrics=baseline_metrics,
        comparisons=comparisons,
        strongest=strongest,
        probability_baselines=prob_names,
        skipped_races=skipped,
        n_models=len(models),
        refit_every=refit_every,
        training_time_s=elapsed,
        last_model=fitted,
    )
    if tracker is not None:
        tracker.log(result, experiment=experiment, run_name=run_name, tenant_id=tenant_id)
    return result


@dataclass(frozen=True)
class _BuilderFit:
    """``builder.train(train_df, **kwargs)`` as a picklable callable."""

    builder: ModelBuilder
    kwargs: dict[str, Any]

    def __call__(self, train: pd.DataFrame) -> BaseModel:
        return self.builder.train(train, **self.kwargs)
