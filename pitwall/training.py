"""Train and backtest templates end to end: features -> model -> evaluation -> artifact -> registry.

One code path for the SDK, the CLI, the API's training jobs, the local workflow runner and the
SageMaker training image:

- ``train_template``: build the template's frame, evaluate out of sample on the whole latest
  season of the window (a model trained on the seasons before it predicts every race of it; model
  and naive baselines side by side on the same rows; ``holdout_races=N`` asks for the last N races
  instead), refit on everything, save the safe-format artifact
  under ``$PITWALL_HOME/models/<tenant>/<name>/<id>/``, register it and log it to MLflow.
- ``backtest_template``: walk-forward backtest of one season (``pitwall.ml.backtest``, the one
  backtest) with every naive baseline of the template on the same rows and the paired
  comparison against each, writing one JSON object per predicted event when asked. The CLI,
  the SDK, the benchmarks and marketplace verification call it.
- ``template_fit``: the template's training recipe as a ``train_df -> model`` callable: its
  default algorithm and parameters (monotone constraints included) and, when the template
  declares one, a calibration step fitted on walk-forward outputs of the training seasons only.
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

from pitwall.config import LOCAL_TENANT, pitwall_home
from pitwall.data.store import Store, get_store
from pitwall.errors import ValidationFailed
from pitwall.features import FeatureStore
from pitwall.model_report import attach_report
from pitwall.progress import report as report_progress
from pitwall.templates import TemplateSpec, get_template

DEFAULT_TRAIN_SEASONS = 10  # default window: the latest ten seasons the template has data for
HOLDOUT_RACES = 5  # the evaluation of a one-season window: its last races
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
    evaluated_on: str = ""  # what ``metrics`` were measured on, e.g. "season 2024 (24 races)"

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
            "evaluated_on": self.evaluated_on,
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

    @property
    def comparisons(self) -> dict[str, dict[str, Any]]:
        """metric -> baseline -> ``pitwall.ml.compare.PairedComparison``."""
        return self.result.comparisons

    @property
    def strongest(self) -> dict[str, str]:
        """metric -> the name of the strongest baseline in that metric."""
        return self.result.strongest

    def verdict(self, metric: str) -> Any:
        """The model against the strongest baseline in ``metric`` (a ``PairedComparison``)."""
        return self.result.verdict(metric)


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
    # ranking targets may be null (= not classified); other tasks need a label. A race whose
    # target is null for every row has not been run yet (an upcoming race): never a label.
    if spec.task != "ranking":
        return df[df[spec.target].notna()].reset_index(drop=True)
    run = df[spec.target].notna().groupby(df["race_id"]).transform("any")
    return df if bool(run.all()) else df[run.to_numpy()].reset_index(drop=True)


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
    tenant_id: str = LOCAL_TENANT,
    register: bool = True,
    track: bool = True,
    seed: int = 0,
    holdout_races: int | None = None,
    circuits: Sequence[str] | None = None,
    drivers: Sequence[str] | None = None,
    teams: Sequence[str] | None = None,
    store: Store | None = None,
    job_id: str | None = None,
    experiment: str | None = None,
    auto_features: Any = None,
    automl_backend: str | None = None,
    hyperparameters: dict[str, Any] | None = None,
    task: str | None = None,
) -> TrainingResult:
    """Train ``template`` and return the model, its out-of-sample metrics and the baselines'
    (on the latest season of the window, or its last ``holdout_races`` races when given).

    ``auto_features``: generated inputs (``pitwall.features.auto``; ``{"base": [...], "lags":
    [...], "windows": [...], "relative": [...]}`` or a list of base columns) added to the
    features, stored in the model's metadata (``model.auto_features``) and rebuilt the same way
    at prediction time (``pitwall.templates.predict.template_frame``). ``automl_backend``: who
    searches with ``algorithm="auto"`` (``optuna``, the default, or ``flaml``).

    A custom spec (``pitwall.workflow.request``): ``hyperparameters`` override the algorithm's
    parameters (the template's own defaults kept for the others; fixed during tuning);
    ``task="classification"`` on a ranking template with ``top_k`` trains a yes/no model of
    finishing in the top k (target column named after the template, as
    ``ModelBuilder(task='classification', target=<template>)``), compared with the template's
    probability baselines only and not calibrated."""
    from pitwall.templates.predict import template_frame

    spec = get_template(template)
    progress = f"train {name or spec.name}"
    report_progress(progress, 0, 4, "building the training rows")
    store = store or get_store()
    fs = FeatureStore(store)
    season_list = resolve_seasons(store, spec, seasons)
    auto = _auto_features(auto_features)
    frame = template_frame(spec, fs, season_list, auto)
    data = _only(spec, _labelled(spec, frame), circuits=circuits, drivers=drivers, teams=teams)
    chosen = with_auto_features(features or spec.features, auto)
    missing = [f for f in chosen if f not in data.columns]
    if missing:
        raise ValidationFailed(
            f"features: {', '.join(missing)} not in template {spec.name}'s rows (one per {spec.grain})",
            field="features",
            unprocessable=True,
        )
    if task is not None and task != spec.task:
        data, spec = as_top_k_classification(spec, data, task)
    builder = _builder(spec, chosen)
    algorithm = algorithm or spec.default_algorithm
    params = {**(_default_params(spec, algorithm) or {}), **(hyperparameters or {})}
    train_kwargs: dict[str, Any] = dict(
        algorithm=algorithm,
        params=params or None,
        auto_tune=auto_tune,
        tuning=tuning,
        n_trials=n_trials,
        timeout=timeout,
        cv_folds=cv_folds,
        seed=seed,
    )
    if automl_backend is not None:
        from pitwall.vocabulary import AUTOML_BACKENDS

        if automl_backend not in AUTOML_BACKENDS:
            raise ValidationFailed(
                f"automl_backend: must be one of {', '.join(AUTOML_BACKENDS)}; got {automl_backend!r}",
                field="automl_backend",
            )
        if algorithm != "auto":
            raise ValidationFailed("automl_backend: only with algorithm 'auto' (AutoML)", field="automl_backend")
        train_kwargs["automl_backend"] = automl_backend
    train_idx, test_idx, evaluated_on = evaluation_split(data, holdout_races)
    report_progress(progress, 1, 4, f"evaluating on {evaluated_on}")
    holdout_model = _fit_with_calibration(spec, builder, data.iloc[train_idx], train_kwargs)
    holdout_model.auto_features = auto.to_dict() if auto else None
    test = data.iloc[test_idx]
    evaluation = holdout_model.evaluate(test, record=False)
    baseline = baseline_summary(spec, builder.spec, test)
    report_progress(progress, 2, 4, f"fitting on {len(season_list)} season(s)")
    model = _fit_with_calibration(spec, builder, data, train_kwargs)
    model.auto_features = auto.to_dict() if auto else None
    report_progress(progress, 3, 4, "saving, registering, tracking")
    # test_* = the out-of-sample evaluation (what champion/challenger comparisons read)
    model.metrics.update({f"test_{k}": v for k, v in evaluation.metrics.items() if k not in ("n_races", "k")})
    model.metrics.update({f"baseline_{k}": v for k, v in baseline.items() if k not in ("n_races", "k")})
    name = name or spec.name
    model_dir = pitwall_home() / "models" / tenant_id / name / uuid.uuid4().hex[:12]
    model.save(model_dir)
    attach_report(model_dir, spec, model, store, _labelled, holdout_model)  # report.json (the API's model report)
    result = TrainingResult(
        template=spec.name,
        name=name,
        model=model,
        model_dir=model_dir,
        metrics=_clean(evaluation.metrics),
        baseline_metrics=_clean(baseline),
        evaluated_on=evaluated_on,
    )
    if track:
        from pitwall.ml.tracking import log_training_run

        result.run_id = log_training_run(
            model,
            experiment=experiment or name,
            run_name=f"{spec.name}-{model.algorithm}",
            evaluation=evaluation,
            tenant_id=tenant_id,
        )
    if register:
        from pitwall.ml.artifacts import sha256_file
        from pitwall.platform.models import register_model

        result.record = register_model(
            tenant_id,
            name,
            template=spec.name,
            task=model.task,
            algorithm=model.algorithm,
            features=list(model.features),
            target=model.target,
            data_window=model.data_window,
            metrics=result.metrics,
            baseline_metrics=result.baseline_metrics,
            artifact_uri=str(model_dir),
            sha256=sha256_file(model_dir / "metadata.json"),
            experiment=experiment or name,
            params={
                "seasons": season_list,
                "auto_tune": auto_tune,
                "seed": seed,
                **({"automl_backend": automl_backend} if automl_backend else {}),
                **{k: list(v) for k, v in (("circuits", circuits), ("drivers", drivers), ("teams", teams)) if v},
                **({"auto_features": auto.to_dict()} if auto else {}),
                **model.params,
            },
            job_id=job_id,
        )
    report_progress(progress, 4, 4, "done")
    return result


def as_top_k_classification(spec: TemplateSpec, data: pd.DataFrame, task: str) -> tuple[pd.DataFrame, TemplateSpec]:
    """A ranking template's rows and recipe as the yes/no ``position <= top_k`` classification
    named after the template (its frames gain that column; its probability baselines kept, no
    calibration)."""
    from dataclasses import replace

    if task != "classification" or spec.task != "ranking" or spec.top_k is None:
        raise ValidationFailed(
            f"task: template {spec.name!r} trains {spec.task!r}; got {task!r}", field="task", unprocessable=True
        )

    def with_target(frame: pd.DataFrame) -> pd.DataFrame:
        top_k = pd.to_numeric(frame[spec.target], errors="coerce") <= spec.top_k
        return frame.assign(**{spec.name: top_k.fillna(False).astype(bool).to_numpy()})

    recipe = replace(
        spec,
        task="classification",
        target=spec.name,
        top_k=None,
        primary_metric="log_loss",
        calibration=None,
        baselines=tuple(b for b in spec.baselines if b.is_probability),
        build=lambda fs, seasons: with_target(spec.build(fs, seasons)),
    )
    return with_target(data), recipe


def _auto_features(value: Any) -> Any:
    """``pitwall.features.auto.AutoFeatures`` of a request's ``auto_features`` (None when not set)."""
    if not value:
        return None
    from pitwall.features.auto import auto_features_from

    return auto_features_from(value)


def with_auto_features(features: Sequence[str], auto: Any) -> list[str]:
    """``features`` plus every column ``auto`` generates that is not already among them."""
    out = list(features)
    if auto is not None:
        out += [n for n in auto.names if n not in out]
    return out


ROW_FILTERS = {"circuits": "circuit_id", "drivers": "driver_id", "teams": "constructor_id"}


def _only(spec: TemplateSpec, data: pd.DataFrame, **wanted: Sequence[str] | None) -> pd.DataFrame:
    """The training rows at the given circuits / of the given drivers / teams (the wizard's
    filters); an id with no row in the window is refused naming the field."""
    for name, values in wanted.items():
        if not values:
            continue
        column = ROW_FILTERS[name]
        if column not in data.columns:
            raise ValidationFailed(f"{name}: template {spec.name}'s rows have no {column} to filter on", field=name)
        have = data[column].astype(str)
        unknown = sorted(set(values) - set(have))
        if unknown:
            raise ValidationFailed(f"{name}: {', '.join(unknown)} not in the training window's rows", field=name)
        data = data[have.isin(list(values)).to_numpy()]
    return data.reset_index(drop=True)


def evaluation_split(data: pd.DataFrame, holdout_races: int | None = None) -> tuple[Any, Any, str]:
    """The rows a training run is evaluated on, out of sample: the whole latest season (trained on
    the seasons before it); the last ``holdout_races`` races when asked, or when the window holds a
    single season. Returns (train positions, test positions, a description of the test rows)."""
    from pitwall.ml.splits import holdout_split, latest_season_split

    seasons = pd.unique(data["season"])
    if holdout_races is None and len(seasons) >= 2:
        train_idx, test_idx = latest_season_split(data)
        latest = int(max(seasons))
        n = int(data.iloc[test_idx]["race_id"].nunique())
        return train_idx, test_idx, f"season {latest} ({n} races, trained on the seasons before)"
    n = holdout_races or HOLDOUT_RACES
    train_idx, test_idx = holdout_split(data, last_n_races=n)
    return train_idx, test_idx, f"the last {n} races (trained on the races before)"


def baseline_summary(spec: TemplateSpec, task: Any, rows: pd.DataFrame) -> dict[str, float]:
    """Flat baseline metrics on ``rows``: per metric the strongest baseline's value (the one a
    model is judged against), plus ``<name>_<metric>`` for every baseline."""
    from pitwall.ml.evaluation import baseline_scores
    from pitwall.ml.metrics import direction

    per = {b.name: _clean(baseline_scores(task, rows, b.column, probability=b.is_probability)) for b in spec.baselines}
    out: dict[str, float] = {}
    for name, scores in per.items():
        out.update({f"{name}_{k}": v for k, v in scores.items() if k not in ("n_races", "k")})
    for metric in sorted({k for scores in per.values() for k in scores} - {"n_races", "k"}):
        values = [scores[metric] for scores in per.values() if metric in scores]
        out[metric] = max(values) if direction(metric) == "maximize" else min(values)
    return out


CALIBRATION_SEASONS = 2  # seasons of walk-forward outputs a calibration is fitted on


def _fit_with_calibration(
    spec: TemplateSpec, builder: Any, train: pd.DataFrame, train_kwargs: dict[str, Any], cache: dict | None = None
) -> Any:
    """``builder.train(train)`` plus, when ``spec.calibration`` is set and the model is one
    estimator, a Platt calibration fitted on walk-forward outputs of training seasons only: the
    ``CALIBRATION_SEASONS`` seasons before the latest season in ``train``, each predicted by a
    model trained on the seasons before it (``cache`` reuses a calibration across the races of
    an expanding backtest)."""
    model = builder.train(train, **train_kwargs)
    if not spec.calibration or train_kwargs.get("algorithm") == "auto" or not hasattr(model, "estimator"):
        return model
    if spec.task == "classification" and len(model.classes or []) != 2:
        return model  # Platt calibrates binary outputs only
    seasons = sorted(int(x) for x in pd.unique(train["season"]))
    cal_seasons = tuple(seasons[:-1][-CALIBRATION_SEASONS:])
    if not cal_seasons:
        return model
    key = (cal_seasons, tuple(model.features))
    if cache is not None and key in cache:
        model.calibration = cache[key]
        return model
    from pitwall.ml.calibration import fit_platt
    from pitwall.ml.errors import MLInputError

    quiet = {k: v for k, v in train_kwargs.items() if k not in ("auto_tune", "n_trials", "timeout")}
    p1, outcome, groups = [], [], []
    for season in cal_seasons:
        before, rows = train[train["season"] < season], train[train["season"] == season]
        if before["race_id"].nunique() < spec.min_train_races or rows.empty:
            continue
        m = builder.train(before, **quiet)
        p1.append(m.raw_output(rows)[:, 1])
        if spec.task == "ranking":
            pos = pd.to_numeric(rows[spec.target], errors="coerce").to_numpy(dtype="float64", na_value=float("nan"))
            outcome.append((pos <= (spec.top_k or 1)).astype(float))
        else:
            outcome.append((rows[spec.target].to_numpy() == m.classes[-1]).astype(float))
        groups.append(rows["race_id"].to_numpy())
    if not p1:
        return model
    import numpy as np

    try:
        cal = fit_platt(
            np.concatenate(p1),
            np.concatenate(outcome),
            np.concatenate(groups) if spec.task == "ranking" else None,
            spec.top_k if spec.task == "ranking" else None,
        )
    except MLInputError:
        return model
    cal["seasons"] = list(cal_seasons)
    if cache is not None:
        cache[key] = cal
    model.calibration = cal
    return model


def template_fit(
    spec: TemplateSpec,
    *,
    features: Sequence[str] | None = None,
    algorithm: str | None = None,
    params: dict[str, Any] | None = None,
    seed: int = 0,
    calibrate: bool = True,
) -> Any:
    """The template's training recipe as a ``train_df -> model`` callable (see module doc)."""
    builder = _builder(spec, features)
    algo = algorithm or spec.default_algorithm
    kwargs = {"algorithm": algo, "seed": seed, "params": params if params is not None else _default_params(spec, algo)}
    cache: dict = {}
    recipe = spec if calibrate else _without_calibration(spec)

    def fit(train: pd.DataFrame) -> Any:
        return _fit_with_calibration(recipe, builder, train, kwargs, cache)

    fit.spec = builder.spec  # type: ignore[attr-defined]
    return fit


def _without_calibration(spec: TemplateSpec) -> TemplateSpec:
    from dataclasses import replace

    return replace(spec, calibration=None)


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
    fit: Any = None,
    calibrate: bool = True,
    output: str | Path | None = None,
    track: bool = True,
    seed: int = 0,
    n_boot: int = 2000,
    store: Store | None = None,
    refit_every: int = 1,
    auto_features: Any = None,
    n_jobs: int | None = None,
    tenant_id: str = LOCAL_TENANT,
) -> BacktestReport:
    """Walk-forward backtest of ``season``: each race is predicted by a model that saw only
    races before it (``expanding``) or only seasons before it (``season_start``), trained on
    the seasons from ``first_season`` (default: the ten before) to ``train_until``.

    The model is the template's recipe (``template_fit``: ``features``/``algorithm``/``params``/
    ``seed`` override it) or ``fit``, any ``train_df -> model`` callable (e.g. an ensemble
    refit). Every baseline of the template is scored on the same rows and compared with a
    paired bootstrap over races (``report.comparisons``, ``report.verdict(metric)``).
    ``refit_every=k`` retrains before every k-th race only (faster; each race is still predicted
    by a model that saw only earlier races). ``auto_features`` adds generated inputs as in
    ``train_template``. ``n_jobs``: processes the fits are spread over (default: ``$PITWALL_JOBS``
    or the cores this process may use; 1 = serial; the results are the same whatever it is)."""
    from pitwall.ml.backtest import walk_forward
    from pitwall.ml.parallel_fits import check_jobs, default_jobs
    from pitwall.templates.predict import template_frame

    jobs = check_jobs(n_jobs) if n_jobs is not None else default_jobs()  # a bad value fails before any work
    spec = get_template(template)
    store = store or get_store()
    have = available_seasons(store, spec)
    if season not in have:
        raise ValidationFailed(f"season: no {spec.name} data for {season}", field="season")
    train_until = train_until if train_until is not None else season - 1
    if train_until >= season:
        raise ValidationFailed("train_until: must be before the backtested season", field="train_until")
    if track:  # MLflow's set-up (another process) overlaps the frame build too
        from pitwall.ml.tracking import start_backtest_log

        start_backtest_log()
    start = first_season if first_season is not None else max(have[0], train_until - DEFAULT_TRAIN_SEASONS + 1)
    seasons = [s for s in have if start <= s <= train_until] + [season]
    auto = _auto_features(auto_features)
    data = _labelled(spec, template_frame(spec, FeatureStore(store), seasons, auto))
    mode = mode or spec.backtest_mode
    if auto is not None:
        features = with_auto_features(features or spec.features, auto)
    model = fit or template_fit(
        spec, features=features, algorithm=algorithm, params=params, seed=seed, calibrate=calibrate
    )
    result = walk_forward(
        data,
        model,
        season=season,
        mode=mode,
        min_train_races=spec.min_train_races,
        rounds=rounds,
        baselines=spec.baseline_columns,
        probability_baselines=[b.name for b in spec.baselines if b.is_probability],
        group_col="race_id",
        track=track,
        experiment=f"backtest-{spec.name}",
        run_name=f"{spec.name}-{season}-{mode}",
        n_boot=n_boot,
        seed=seed,
        refit_every=refit_every,
        n_jobs=jobs,
        tenant_id=tenant_id,
    )
    report = BacktestReport(spec.name, season, result, dict(result.baseline_metrics))
    if output is not None:
        ids = [c for c in ROW_ID_COLUMNS if c in data.columns and c not in result.predictions.columns]
        write_backtest_jsonl(spec, result.predictions.join(data[ids]), output)
    return report


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
    tenant_id: str = LOCAL_TENANT,
    version: int | None = None,
    store: Store | None = None,
) -> dict[str, dict[str, float]]:
    """Score a registered model and its template's baseline on ``seasons`` (same rows)."""
    from pitwall.ml import load_model
    from pitwall.platform.models import get_model

    record = get_model(tenant_id, name, version)
    spec = get_template(record.template)
    store = store or get_store()
    from pitwall.templates.predict import template_frame

    model = load_model(record.artifact_uri)
    frame = template_frame(spec, FeatureStore(store), resolve_seasons(store, spec, seasons), model.auto_features)
    data = _labelled(spec, frame)
    result = model.evaluate(data, record=False)
    return {"model": _clean(result.metrics), "baseline": _clean(baseline_summary(spec, model.spec, data))}


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
