"""Experiment tracking with MLflow (imported lazily, inside functions).

Where runs go (first match wins):

1. ``PITWALL_MLFLOW_URI`` (e.g. a SageMaker managed MLflow tracking server ARN/URL),
2. ``MLFLOW_TRACKING_URI``,
3. ``sqlite:///<PITWALL_HOME>/mlflow.db``.

With a local store (SQLite, file, other databases) new experiments keep their artifacts
under ``<PITWALL_HOME>/mlruns/<experiment>``; a tracking server picks its own location.

Each training run logs params, metrics, tags (``pitwall.kind``, ``pitwall.task``,
``pitwall.algorithm``, ``pitwall.template``, ``pitwall.primary_metric``), feature importance
(``feature_importance.json``), a feature-importance plot, the confusion matrix when an
evaluation is given, and the saved artifact folder (``model/``). Backtests log their
aggregated and baseline metrics, the per-race table and a summary.

``list_runs`` / ``compare`` return the table the CLI prints (``pitwall experiments
list|compare``).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pitwall.config import pitwall_home
from pitwall.ml import metrics as M
from pitwall.ml.errors import MLInputError

if TYPE_CHECKING:
    from pitwall.ml.backtest import BacktestResult
    from pitwall.ml.evaluation import EvaluationResult
    from pitwall.ml.model import BaseModel

RUN_COLUMNS = [
    "run_id",
    "run_name",
    "experiment",
    "kind",
    "algorithm",
    "metric",
    "f1",
    "training_time_s",
    "started_at",
]
_BATCH = 100
_PARAM_MAX = 500


def tracking_uri() -> str:
    """The MLflow tracking URI in effect (see module docstring)."""
    for var in ("PITWALL_MLFLOW_URI", "MLFLOW_TRACKING_URI"):
        value = os.environ.get(var, "").strip()
        if value:
            return value
    return f"sqlite:///{(pitwall_home() / 'mlflow.db').as_posix()}"


def _local_store(uri: str) -> bool:
    """True for a database/file store on this machine (artifacts then go under PITWALL_HOME);
    False for a tracking server (``http(s)://``, SageMaker ``arn:``, ``databricks``) that
    chooses its own artifact store."""
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else "file"
    return scheme not in ("http", "https", "arn", "databricks", "databricks-uc")


_CLIENTS: dict[str, Any] = {}


def _client() -> Any:
    """One MlflowClient per tracking URI (creating one checks the store's schema: ~1 s)."""
    uri = tracking_uri()
    if uri not in _CLIENTS:
        from mlflow.tracking import MlflowClient

        _CLIENTS[uri] = MlflowClient(tracking_uri=uri)
    return _CLIENTS[uri]


def default_experiment(model_or_spec: Any) -> str:
    """Experiment name: the template name, else ``<task>-<target>[-top<k>]``."""
    spec = getattr(model_or_spec, "spec", model_or_spec)
    if spec.template:
        return str(spec.template)
    suffix = f"-top{spec.top_k}" if spec.top_k is not None else ""
    return f"{spec.task}-{spec.target}{suffix}"


def _experiment_id(client: Any, name: str) -> str:
    if not name or not isinstance(name, str):
        raise MLInputError(f"experiment: must be a non-empty name, got {name!r}")
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return str(existing.experiment_id)
    location = None
    if _local_store(tracking_uri()):
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
        location = (pitwall_home() / "mlruns" / safe).as_uri()
    return str(client.create_experiment(name, artifact_location=location))


def _log(
    client: Any, run_id: str, metrics: Mapping[str, float], params: Mapping[str, Any], tags: Mapping[str, str]
) -> None:
    from mlflow.entities import Metric, Param, RunTag

    stamp = int(datetime.now(UTC).timestamp() * 1000)
    m = [Metric(k, float(v), stamp, 0) for k, v in metrics.items() if v is not None and v == v]
    p = [Param(k, str(v)[:_PARAM_MAX]) for k, v in params.items()]
    t = [RunTag(k, str(v)) for k, v in tags.items() if v is not None]
    for i in range(0, max(len(m), len(p), len(t)), _BATCH):
        client.log_batch(run_id, metrics=m[i : i + _BATCH], params=p[i : i + _BATCH], tags=t[i : i + _BATCH])


def _primary_key(metric: str, available: Iterable[str]) -> str | None:
    names = set(available)
    for key in (f"test_{metric}", f"cv_{metric}", metric):
        if key in names:
            return key
    return None


def log_training_run(
    model: BaseModel,
    *,
    experiment: str | None = None,
    run_name: str | None = None,
    evaluation: EvaluationResult | None = None,
    extra_params: Mapping[str, Any] | None = None,
    log_artifact: bool = True,
) -> str:
    """Log one trained model (and optionally its evaluation) as an MLflow run; return its id."""
    from mlflow.entities import RunStatus

    client = _client()
    exp_id = _experiment_id(client, experiment or default_experiment(model))
    spec = model.spec
    metric = model.metric or M.default_metric(spec.task, spec.top_k)
    metrics = {k: v for k, v in model.metrics.items() if isinstance(v, int | float)}
    if evaluation is not None:
        metrics.update({f"test_{k}": v for k, v in evaluation.metrics.items() if k not in ("n_races", "k")})
    metrics["training_time_s"] = model.training_time_s
    primary = _primary_key(metric, metrics)
    params: dict[str, Any] = {
        "task": spec.task,
        "target": spec.target,
        "top_k": spec.top_k,
        "algorithm": model.algorithm,
        "n_features": len(model.features),
        "seed": model.seed,
        "train_rows": model.data_window.get("rows"),
        "train_races": model.data_window.get("races"),
        "train_first_race": model.data_window.get("first_race"),
        "train_last_race": model.data_window.get("last_race"),
    }
    if model.algorithm == "ensemble":
        params["members"] = "+".join(getattr(model, "member_algorithms", []))
    else:
        params.update({f"param.{k}": v for k, v in model.params.items()})
    params.update(dict(extra_params or {}))
    tags = {
        "pitwall.kind": "training",
        "pitwall.task": spec.task,
        "pitwall.algorithm": model.algorithm,
        "pitwall.template": spec.template,
        "pitwall.primary_metric": primary,
    }
    run = client.create_run(exp_id, run_name=run_name or f"{model.algorithm}-{spec.target}")
    run_id = str(run.info.run_id)
    try:
        _log(client, run_id, metrics, params, tags)
        client.log_dict(run_id, model.feature_importance(), "feature_importance.json")
        client.log_dict(
            run_id, {"features": model.features, "params": model.params, "tuning": model.tuning}, "model_config.json"
        )
        with tempfile.TemporaryDirectory() as tmp:
            plots = Path(tmp) / "plots"
            if model.feature_importance():
                from pitwall.ml.plots import plot_feature_importance

                plot_feature_importance(model.feature_importance(), plots / "feature_importance.png", model.algorithm)
            if evaluation is not None and (spec.task == "classification" or spec.top_k is not None):
                evaluation.plot_confusion_matrix(plots / "confusion_matrix.png")
            if plots.exists():
                client.log_artifacts(run_id, str(plots), "plots")
            if log_artifact:
                folder = model.save(Path(tmp) / "model")
                client.log_artifacts(run_id, str(folder), "model")
    except BaseException:
        client.set_terminated(run_id, status=RunStatus.to_string(RunStatus.FAILED))
        raise
    client.set_terminated(run_id)
    return run_id


def log_backtest(result: BacktestResult, *, experiment: str | None = None, run_name: str | None = None) -> str:
    """Log a walk-forward backtest as an MLflow run; return its id."""
    from mlflow.entities import RunStatus

    client = _client()
    spec = result.spec
    exp_id = _experiment_id(client, experiment or default_experiment(spec))
    metric = M.default_metric(spec.task, spec.top_k)
    metrics = {k: v for k, v in result.metrics.items()}
    for name, values in result.baseline_metrics.items():
        metrics.update({f"baseline_{name}_{k}": v for k, v in values.items()})
    for metric in result.strongest:  # the paired comparison against the strongest baseline
        c = result.verdict(metric)
        metrics.update(
            {
                f"vs_strongest_{metric}_diff": c.mean_difference,
                f"vs_strongest_{metric}_low": c.low,
                f"vs_strongest_{metric}_high": c.high,
            }
        )
    metrics["training_time_s"] = result.training_time_s
    params = {
        "task": spec.task,
        "target": spec.target,
        "top_k": spec.top_k,
        "algorithm": result.algorithm,
        "season": result.season,
        "mode": result.mode,
        "races": len(result.per_race),
        "n_models": result.n_models,
    }
    tags = {
        "pitwall.kind": "backtest",
        "pitwall.task": spec.task,
        "pitwall.algorithm": result.algorithm,
        "pitwall.template": spec.template,
        "pitwall.primary_metric": _primary_key(metric, metrics),
    }
    run = client.create_run(exp_id, run_name=run_name or f"backtest-{result.algorithm}-{result.season}-{result.mode}")
    run_id = str(run.info.run_id)
    try:
        _log(client, run_id, metrics, params, tags)
        client.log_dict(run_id, json.loads(json.dumps(result.to_dict(), default=str)), "backtest.json")
        with tempfile.TemporaryDirectory() as tmp:
            per_race = Path(tmp) / "per_race.csv"
            result.per_race.to_csv(per_race, index=False)
            client.log_artifact(run_id, str(per_race))
            if result.last_model is not None and result.last_model.feature_importance():
                from pitwall.ml.plots import plot_feature_importance

                png = plot_feature_importance(
                    result.last_model.feature_importance(), Path(tmp) / "feature_importance.png", result.algorithm
                )
                client.log_artifact(run_id, str(png), "plots")
    except BaseException:
        client.set_terminated(run_id, status=RunStatus.to_string(RunStatus.FAILED))
        raise
    client.set_terminated(run_id)
    return run_id


def _row(run: Any, experiment: str) -> dict[str, Any]:
    metrics, params, tags = run.data.metrics, run.data.params, run.data.tags
    primary = tags.get("pitwall.primary_metric")
    metric = f"{primary}={metrics[primary]:.4g}" if primary and primary in metrics else None
    f1 = next((metrics[k] for k in ("test_f1", "f1", "cv_f1") if k in metrics), None)
    started = datetime.fromtimestamp(run.info.start_time / 1000, UTC).isoformat(timespec="seconds")
    return {
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "experiment": experiment,
        "kind": tags.get("pitwall.kind"),
        "algorithm": tags.get("pitwall.algorithm") or params.get("algorithm"),
        "metric": metric,
        "f1": f1,
        "training_time_s": metrics.get("training_time_s"),
        "started_at": started,
    }


def list_runs(experiment: str | None = None, max_results: int = 1000) -> pd.DataFrame:
    """Runs (newest first) with columns ``RUN_COLUMNS``: run_id, run_name, experiment, kind,
    algorithm, metric (``"name=value"`` of the primary metric), f1, training_time_s,
    started_at. ``experiment`` restricts to one experiment (unknown name -> error)."""
    client = _client()
    if experiment is not None:
        exp = client.get_experiment_by_name(experiment)
        if exp is None:
            raise MLInputError(f"experiment: no experiment named {experiment!r}")
        experiments = [exp]
    else:
        experiments = list(client.search_experiments())
    names = {str(e.experiment_id): e.name for e in experiments}
    if not names:
        return pd.DataFrame(columns=RUN_COLUMNS)
    runs = client.search_runs(list(names), max_results=max_results, order_by=["attributes.start_time DESC"])
    rows = [_row(r, names[str(r.info.experiment_id)]) for r in runs]
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def compare(names: Sequence[str]) -> pd.DataFrame:
    """The ``list_runs`` rows (newest first) whose run name, run id or experiment name is in
    ``names``; a name matching nothing raises ``MLInputError``."""
    if isinstance(names, str) or not names:
        raise MLInputError("names: give a non-empty list of run or experiment names")
    table = list_runs()
    wanted = set(names)
    mask = table["run_name"].isin(wanted) | table["run_id"].isin(wanted) | table["experiment"].isin(wanted)
    found = set(table.loc[mask, "run_name"]) | set(table.loc[mask, "run_id"]) | set(table.loc[mask, "experiment"])
    unknown = sorted(wanted - found)
    if unknown:
        raise MLInputError(f"names: no run or experiment named {', '.join(map(repr, unknown))}")
    return table.loc[mask].reset_index(drop=True)
