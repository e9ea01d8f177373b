"""Train and backtest templates end to end: features -> model -> evaluation -> artifact -> registry.

One code path for the SDK, the CLI, the API's training jobs, the local workflow runner and the
SageMaker training image:

- ``train_template``: build the template's frame, evaluate on a holdout of the latest races
  (model and naive baseline side by side), refit on everything, save the safe-format artifact
  under ``$PITWALL_HOME/models/<tenant>/<name>/<id>/``, register it and log it to MLflow.
- ``backtest_template``: walk-forward backtest of one season with the model, the naive
  baseline and (for ranking templates with a top k) a grid-only logistic model, writing one
  JSON object per predicted event when asked.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pitwall.config import pitwall_home
from pitwall.data.store import Store, get_store
from pitwall.errors import ValidationFailed
from pitwall.features import FeatureStore
from pitwall.templates import TemplateSpec, get_template

DEFAULT_TRAIN_SEASONS = 10  # default window: the latest ten seasons the template has data for
HOLDOUT_RACES = 5
ROW_ID_COLUMNS = ("lap_number", "stint", "stop")  # identify rows of lap/stint/stop-level templates


@dataclass
class TrainingResult:
    template: str
    name: str
    model: Any  # pitwall.ml.BaseModel
    model_dir: Path
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    record: Any = None  # pitwall.platform.records.ModelRecord when registered
    run_id: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "name": self.name,
            "version": getattr(self.record, "version", None),
            "algorithm": self.model.algorithm,
            "metrics": self.metrics,
            "baseline_metrics": self.baseline_metrics,
            "model_dir": str(self.model_dir),
            "data_window": self.model.data_window,
        }


@dataclass
class BacktestReport:
    template: str
    season: int
    result: Any  # pitwall.ml.BacktestResult
    baseline_metrics: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def metrics(self) -> dict[str, float]:
        return self.result.metrics


def available_seasons(store: Store, spec: TemplateSpec) -> list[int]:
    seasons = [s for s in store.seasons("races") if s >= spec.first_season]
    if spec.grain in ("lap", "stint", "race"):
        laps = set(store.seasons("laps"))
        seasons = [s for s in seasons if s in laps]
    if not seasons:
        raise ValidationFailed(
            f"seasons: the store has no data for template {spec.name!r} (needs {spec.first_season}+); "
            "run `pitwall ingest f1db` (and `pitwall ingest laps`) first",
            field="seasons",
            unprocessable=True,
        )
    return seasons


def resolve_seasons(store: Store, spec: TemplateSpec, seasons: Sequence[int] | None) -> list[int]:
    have = available_seasons(store, spec)
    if seasons is None:
        return have[-DEFAULT_TRAIN_SEASONS:]
    chosen = sorted({int(s) for s in seasons})
    missing = [s for s in chosen if s not in have]
    if missing:
        raise ValidationFailed(
            f"seasons: no {spec.name} data for {missing} (available: {have[0]}-{have[-1]})", field="seasons"
        )
    return chosen


def _builder(spec: TemplateSpec, features: Sequence[str] | None = None):  # type: ignore[no-untyped-def]
    from pitwall.ml import ModelBuilder

    return ModelBuilder(
        task=spec.task,
        target=spec.target,
        features=list(features or spec.features),
        top_k=spec.top_k,
        entity_col=spec.entity_col,
        template=spec.name,
        offset=spec.offset,
    )


def _default_params(spec: TemplateSpec, algorithm: str) -> dict[str, Any] | None:
    """The template's parameter overrides apply to its default algorithm only."""
    return dict(spec.params) if spec.params and algorithm == spec.default_algorithm else None


def _labelled(spec: TemplateSpec, df: pd.DataFrame) -> pd.DataFrame:
    # ranking targets may be null (= not classified); other tasks need a label
    return df if spec.task == "ranking" else df[df[spec.target].notna()].reset_index(drop=True)


def _clean(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float) and math.isfinite(float(v))}


def train_template(
    template: str,
    *,
    seasons: Sequence[int] | None = None,
    algorithm: str | None = None,
    auto_tune: bool = False,
    tuning: str = "bayes",
    n_trials: int | None = None,
    timeout: float | None = None,
    cv_folds: int = 5,
    features: Sequence[str] | None = None,
    name: str | None = None,
    tenant_id: str = "local",
    register: bool = True,
    track: bool = True,
    seed: int = 0,
    holdout_races: int = HOLDOUT_RACES,
    store: Store | None = None,
    job_id: str | None = None,
    experiment: str | None = None,
) -> TrainingResult:
    """Train ``template`` and return the model, its holdout metrics and the baseline's."""
    from pitwall.ml import evaluation as ev

    spec = get_template(template)
    store = store or get_store()
    fs = FeatureStore(store)
    season_list = resolve_seasons(store, spec, seasons)
    data = _labelled(spec, spec.frame(fs, season_list))
    builder = _builder(spec, features)
    algorithm = algorithm or spec.default_algorithm
    train_kwargs: dict[str, Any] = dict(
        algorithm=algorithm,
        params=_default_params(spec, algorithm),
        auto_tune=auto_tune,
        tuning=tuning,
        n_trials=n_trials,
        timeout=timeout,
        cv_folds=cv_folds,
        seed=seed,
    )
    train_idx, test_idx = ev.holdout_split(data, last_n_races=holdout_races)
    holdout_model = builder.train(data.iloc[train_idx], **train_kwargs)
    test = data.iloc[test_idx]
    evaluation = holdout_model.evaluate(test, record=False)
    baseline = ev.baseline_scores(builder.spec, test, spec.baseline)
    model = builder.train(data, **train_kwargs)
    # test_* = the holdout of the latest races (what champion/challenger comparisons read)
    model.metrics.update({f"test_{k}": v for k, v in evaluation.metrics.items() if k not in ("n_races", "k")})
    model.metrics.update({f"baseline_{k}": v for k, v in baseline.items() if k not in ("n_races", "k")})
    name = name or spec.name
    model_dir = pitwall_home() / "models" / tenant_id / name / uuid.uuid4().hex[:12]
    model.save(model_dir)
    result = TrainingResult(
        template=spec.name,
        name=name,
        model=model,
        model_dir=model_dir,
        metrics=_clean(evaluation.metrics),
        baseline_metrics=_clean(baseline),
    )
    if track:
        from pitwall.ml.tracking import log_training_run

        result.run_id = log_training_run(
            model, experiment=experiment or name, run_name=f"{spec.name}-{model.algorithm}", evaluation=evaluation
        )
    if register:
        from pitwall.ml.artifacts import sha256_file
        from pitwall.platform.models import register_model

        result.record = register_model(
            tenant_id,
            name,
            template=spec.name,
            task=spec.task,
            algorithm=model.algorithm,
            features=list(model.features),
            target=spec.target,
            data_window=model.data_window,
            metrics=result.metrics,
            baseline_metrics=result.baseline_metrics,
            artifact_uri=str(model_dir),
            sha256=sha256_file(model_dir / "metadata.json"),
            experiment=experiment or name,
            params={"seasons": season_list, "auto_tune": auto_tune, "seed": seed, **model.params},
            job_id=job_id,
        )
    return result


def backtest_template(
    template: str,
    *,
    season: int,
    train_until: int | None = None,
    first_season: int | None = None,
    mode: str | None = None,
    algorithm: str | None = None,
    rounds: Sequence[int] | None = None,
    features: Sequence[str] | None = None,
    params: dict[str, Any] | None = None,
    output: str | Path | None = None,
    track: bool = True,
    seed: int = 0,
    store: Store | None = None,
) -> BacktestReport:
    """Walk-forward backtest of ``season``: each race is predicted by a model that saw only
    races before it (``expanding``) or only seasons before it (``season_start``)."""
    from pitwall.ml import walk_forward

    spec = get_template(template)
    store = store or get_store()
    have = available_seasons(store, spec)
    if season not in have:
        raise ValidationFailed(f"season: no {spec.name} data for {season}", field="season")
    train_until = train_until if train_until is not None else season - 1
    if train_until >= season:
        raise ValidationFailed("train_until: must be before the backtested season", field="train_until")
    start = first_season if first_season is not None else max(have[0], train_until - DEFAULT_TRAIN_SEASONS + 1)
    seasons = [s for s in have if start <= s <= train_until] + [season]
    data = _labelled(spec, spec.frame(FeatureStore(store), seasons))
    mode = mode or spec.backtest_mode
    builder = _builder(spec, features)
    result = walk_forward(
        data,
        builder,
        season=season,
        mode=mode,
        min_train_races=spec.min_train_races,
        rounds=rounds,
        train_kwargs={
            "algorithm": algorithm or spec.default_algorithm,
            "seed": seed,
            "params": params if params is not None else _default_params(spec, algorithm or spec.default_algorithm),
        },
        baselines={spec.baseline.removeprefix("baseline_"): spec.baseline},
        track=track,
        experiment=f"backtest-{spec.name}",
        run_name=f"{spec.name}-{season}-{mode}",
    )
    report = BacktestReport(spec.name, season, result, dict(result.baseline_metrics))
    if spec.task == "ranking" and spec.top_k is not None:
        report.baseline_metrics["grid_logistic"] = _grid_logistic(spec, data, season, mode, rounds, seed)
    if output is not None:
        ids = [c for c in ROW_ID_COLUMNS if c in data.columns and c not in result.predictions.columns]
        write_backtest_jsonl(spec, result.predictions.join(data[ids]), output)
    return report


def _grid_logistic(
    spec: TemplateSpec, data: pd.DataFrame, season: int, mode: str, rounds: Sequence[int] | None, seed: int
) -> dict[str, float]:
    """The calibration reference: a logistic model on the grid slot alone, same walk-forward."""
    from pitwall.ml import walk_forward

    grid = data.assign(grid_slot=-data["baseline_grid"]) if "baseline_grid" in data else None
    if grid is None:
        return {}
    res = walk_forward(
        grid,
        _builder(spec, ["grid_slot"]),
        season=season,
        mode=mode,
        min_train_races=spec.min_train_races,
        rounds=rounds,
        train_kwargs={"algorithm": "logistic", "seed": seed},
    )
    return _clean(res.metrics)


def write_backtest_jsonl(spec: TemplateSpec, predictions: pd.DataFrame, path: str | Path) -> Path:
    """One JSON object per predicted event (race): ranking or rows with prediction and actual."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        for (season, rnd, race_id), race in predictions.groupby(["season", "round", "race_id"], sort=True):
            event: dict[str, Any] = {"season": int(season), "round": int(rnd), "race_id": str(race_id)}
            if spec.task == "ranking":
                ordered = race.sort_values("predicted_rank")
                event["ranking"] = [str(d) for d in ordered[spec.entity_col]]
                if "probability" in ordered:
                    event["probabilities"] = {
                        str(d): round(float(p), 6)
                        for d, p in zip(ordered[spec.entity_col], ordered["probability"], strict=True)
                    }
                event["actual"] = {
                    str(d): (None if pd.isna(a) else int(a))
                    for d, a in zip(ordered[spec.entity_col], ordered[spec.target], strict=True)
                }
            else:
                event["rows"] = [_row(spec, r) for _, r in race.iterrows()]
            fh.write(json.dumps(event) + "\n")
    return path


def _row(spec: TemplateSpec, r: pd.Series) -> dict[str, Any]:
    keys = {k: _jsonable(r[k]) for k in (spec.entity_col, *ROW_ID_COLUMNS) if k in r.index}
    out: dict[str, Any] = {**keys, "prediction": _jsonable(r["prediction"])}
    probs = {c.removeprefix("proba_"): round(float(r[c]), 6) for c in r.index if str(c).startswith("proba_")}
    if probs:
        out["probability"] = probs
    if spec.target in r.index and not pd.isna(r[spec.target]):
        out["actual"] = _jsonable(r[spec.target])
    return out


def _jsonable(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, 4)
    return v


def evaluate_registered(
    name: str,
    *,
    seasons: Sequence[int],
    tenant_id: str = "local",
    version: int | None = None,
    store: Store | None = None,
) -> dict[str, dict[str, float]]:
    """Score a registered model and its template's baseline on ``seasons`` (same rows)."""
    from pitwall.ml import evaluation as ev
    from pitwall.ml import load_model
    from pitwall.platform.models import get_model

    record = get_model(tenant_id, name, version)
    spec = get_template(record.template)
    store = store or get_store()
    data = _labelled(spec, spec.frame(FeatureStore(store), resolve_seasons(store, spec, seasons)))
    model = load_model(record.artifact_uri)
    result = model.evaluate(data, record=False)
    baseline = ev.baseline_scores(model.spec, data, spec.baseline)
    return {"model": _clean(result.metrics), "baseline": _clean(baseline)}


def register_copy(record: Any, name: str) -> Any:
    """Register an existing artifact under another model name of the same tenant."""
    from pitwall.platform.models import register_model

    return register_model(
        record.tenant_id,
        name,
        template=record.template,
        task=record.task,
        algorithm=record.algorithm,
        features=list(record.features),
        target=record.target,
        data_window=record.data_window,
        metrics=record.metrics,
        baseline_metrics=record.baseline_metrics,
        artifact_uri=record.artifact_uri,
        sha256=record.sha256,
        experiment=record.experiment,
        params=record.params,
    )
