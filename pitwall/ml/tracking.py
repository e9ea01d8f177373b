"""Experiment tracking with MLflow (imported lazily, inside functions).

Where runs go (first match wins):

1. ``PITWALL_MLFLOW_URI`` (e.g. a SageMaker managed MLflow tracking server ARN/URL),
2. ``MLFLOW_TRACKING_URI``,
3. ``sqlite:///<PITWALL_HOME>/mlflow.db``.

Tenants: every experiment Pitwall creates is named ``<tenant>/<experiment>`` (the library's and
CLI's own tenant is ``local``), and every registered model ``<tenant>.<model>``; ``list_runs``
and ``compare`` only ever read the tenant's own experiments and show their names without the
prefix. Experiment names are validated (:func:`pitwall.platform.validation.experiment_name`:
1-128 letters, digits, spaces, ``_ . -``, starting with a letter or digit, so never ``..`` or a
path). Runs made with plain ``mlflow`` calls outside these names are not listed.

With a local store (SQLite, file, other databases) new experiments keep their artifacts
under ``<PITWALL_HOME>/mlruns/<tenant>/<experiment>``; a tracking server picks its own location.
The SQLite database is created readable by its owner only (0600).

Each training run logs params, metrics, tags (``pitwall.kind``, ``pitwall.task``,
``pitwall.algorithm``, ``pitwall.template``, ``pitwall.primary_metric``), feature importance
(``feature_importance.json``), a feature-importance plot, the confusion matrix when an
evaluation is given, and the saved artifact folder (``model/``). Backtests log their
aggregated and baseline metrics, the per-race table, a summary and the last model's feature
importance (its plot only when asked: ``log_backtest(plots=True)``).

``list_runs`` / ``compare`` return the table the CLI prints (``pitwall experiments
list|compare``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pitwall.config import LOCAL_TENANT, pitwall_home
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
    """The MLflow tracking URI in effect (see module docstring). A ``MLFLOW_TRACKING_URI`` that
    Pitwall set itself (``pitwall.mlflow_tracking``) follows the current ``PITWALL_HOME``."""
    import pitwall

    for var in ("PITWALL_MLFLOW_URI", "MLFLOW_TRACKING_URI"):
        value = os.environ.get(var, "").strip()
        if value and not (var == "MLFLOW_TRACKING_URI" and value == os.environ.get(pitwall.MLFLOW_DEFAULT_MARK)):
            return value
    pitwall_home()
    return pitwall.mlflow_tracking()


def _local_store(uri: str) -> bool:
    """True for a database/file store on this machine (artifacts then go under PITWALL_HOME);
    False for a tracking server (``http(s)://``, SageMaker ``arn:``, ``databricks``) that
    chooses its own artifact store."""
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else "file"
    return scheme not in ("http", "https", "arn", "databricks", "databricks-uc")


MAX_CACHED_CLIENTS = 8  # tracking URIs kept open at once (a process normally uses one)
_CLIENTS: dict[str, tuple[tuple[int, int] | None, Any, int | None]] = {}
"""URI -> (the SQLite file's device and inode, the client, an open descriptor of that file). The
descriptor pins the inode: while it is open no new file at the path can be given the same
number, so a changed (device, inode) always means a replaced file."""


def _sqlite_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` tracking URI (None for other stores)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri.removeprefix("sqlite:///").split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def _file_identity(path: Path | None) -> tuple[int, int] | None:
    """(device, inode) of ``path``; None when it does not exist (or for a non-file store)."""
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _forget_engines(uri: str) -> None:
    """Drop MLflow's own per-URI caches for ``uri``: the SQLAlchemy engines its tracking and
    registry stores keep per database URI (class-level ``_engine_map``) and the stores its
    registries memoise. A pooled connection to a deleted or replaced SQLite file fails every
    write with ``attempt to write a readonly database`` (SQLITE_READONLY_DBMOVED). A store
    module not imported yet holds nothing to drop (importing MLflow's registry store to find
    that out costs about a second)."""
    modules = (
        "mlflow.store.tracking.sqlalchemy_store",
        "mlflow.store.model_registry.sqlalchemy_store",
        "mlflow.tracking._tracking_service.utils",
        "mlflow.tracking._model_registry.utils",
    )
    tracking_store, registry_store, tracking_utils, registry_utils = (sys.modules.get(m) for m in modules)
    for module in (tracking_store, registry_store):
        if module is None:
            continue
        store = module.SqlAlchemyStore
        with store._engine_map_lock:
            engine = store._engine_map.pop(uri, None)
        if engine is not None:
            engine.dispose()
    for utils, attr in (
        (tracking_utils, "_tracking_store_registry"),
        (registry_utils, "_model_registry_store_registry"),
    ):
        registry = getattr(utils, attr, None) if utils is not None else None
        if registry is not None:  # the model registry's is built on first use
            registry._get_store_with_resolved_uri.cache_clear()


def _client() -> Any:
    """One MlflowClient per tracking URI (creating one checks the store's schema: ~1 s).

    For a SQLite store the cached client is tied to the database file it opened (device and
    inode): when that file was deleted or replaced (a new Pitwall home at the same path, a
    restored backup) the client and MLflow's pooled engine for the URI are dropped and a new
    one opens the current file."""
    uri = tracking_uri()
    db = _sqlite_file(uri)
    cached = _CLIENTS.get(uri)
    if cached is not None and (db is None or cached[0] == _file_identity(db)):
        return cached[1]
    from mlflow.tracking import MlflowClient

    # Pitwall moves only its own small files through MLflow's artifact store: no per-file
    # download bars in the CLI's output (a user's own setting wins). Set with the first client.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if cached is not None and cached[2] is not None:
        os.close(cached[2])
    if db is not None:
        _forget_engines(uri)
        db.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # created owner-only before SQLite opens it
            os.close(os.open(db, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    client = MlflowClient(tracking_uri=uri)
    if db is not None:
        client.search_experiments(max_results=1)  # opens (creates) the database file now
        _restrict(db)
    pin = os.open(db, os.O_RDONLY) if db is not None else None
    _CLIENTS[uri] = (_file_identity(db), client, pin)
    while len(_CLIENTS) > MAX_CACHED_CLIENTS:  # the least recently created: its descriptor and engines go
        old_uri = next(iter(_CLIENTS))
        _, _, old_pin = _CLIENTS.pop(old_uri)
        if old_pin is not None:
            os.close(old_pin)
            _forget_engines(old_uri)
    return client


_SETUPS: dict[str, Future[Any]] = {}  # tracking URI -> the client set-up running in the background


def prepare_client() -> Future[Any]:
    """Set up ``_client()`` (MLflow's import, the store's schema check: seconds) in a background
    thread, so that it overlaps other work (a backtest's frame and fits); the future holds the
    client, or the error. While one set-up for the current tracking URI runs, calling this again
    returns it. Wait on the future before the first tracking call of this thread."""
    uri = tracking_uri()
    running = _SETUPS.get(uri)
    if running is not None and not running.done():
        return running
    future: Future[Any] = Future()
    future.set_running_or_notify_cancel()

    def run() -> None:
        try:
            future.set_result(_client())
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)

    _SETUPS[uri] = future
    threading.Thread(target=run, name="pitwall-mlflow-setup", daemon=True).start()
    return future


def _restrict(db: Path) -> None:
    """The tracking database readable by its owner only (0600), like the home's other databases."""
    try:
        os.chmod(db, 0o600)
    except OSError:
        pass


def experiment_name(tenant_id: str, experiment: str) -> str:
    """The MLflow name of a tenant's experiment: ``<tenant>/<experiment>``, both validated
    (``MLInputError`` naming the field, a 422 through the API)."""
    from pitwall.errors import ValidationFailed
    from pitwall.platform import validation

    try:
        tenant = validation.identifier(tenant_id, "tenant_id")
        name = validation.experiment_name(experiment, "experiment")
    except ValidationFailed as exc:
        raise MLInputError(exc.message) from None
    return f"{tenant}/{name}"


def _tenant_prefix(tenant_id: str) -> str:
    return experiment_name(tenant_id, "x")[:-1]


def default_experiment(model_or_spec: Any) -> str:
    """Experiment name: the template name, else ``<task>-<target>[-top<k>]``."""
    spec = getattr(model_or_spec, "spec", model_or_spec)
    if spec.template:
        return str(spec.template)
    suffix = f"-top{spec.top_k}" if spec.top_k is not None else ""
    return f"{spec.task}-{spec.target}{suffix}"


def _experiment_id(client: Any, tenant_id: str, name: str) -> str:
    """The id of the tenant's experiment ``name`` (created on first use)."""
    full = experiment_name(tenant_id, name)
    existing = client.get_experiment_by_name(full)
    if existing is not None:
        return str(existing.experiment_id)
    location = None
    if _local_store(tracking_uri()):
        tenant, _, experiment = full.partition("/")
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", experiment)  # validated: never "." or ".."
        location = (pitwall_home() / "mlruns" / tenant / safe).as_uri()
    return str(client.create_experiment(full, artifact_location=location))


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
    register: bool = True,
    registered_name: str | None = None,
    tenant_id: str = LOCAL_TENANT,
) -> str:
    """Log one trained model (and optionally its evaluation) as an MLflow run; return its id.

    The model is logged as an MLflow model (``model/``: ``MLmodel`` with a pyfunc flavor over
    Pitwall's safe artifact folder, see ``pitwall.ml.mlflow_pyfunc``) and, with ``register``,
    registered as a new version of ``registered_name`` (default: the experiment name) in the
    Model Registry. Tuning trials become nested runs. The run goes to the tenant's experiment
    (``<tenant_id>/<experiment>``)."""
    from mlflow.entities import RunStatus

    client = _client()
    exp_id = _experiment_id(client, tenant_id, experiment or default_experiment(model))
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
                saved = getattr(model, "saved_to", None)
                folder = (
                    saved if saved is not None and Path(saved).is_dir() else model.save(Path(tmp) / "pitwall_model")
                )
                model.saved_to = saved  # a temporary copy is not where the model lives
                client.log_artifacts(run_id, str(save_pyfunc(folder, Path(tmp) / "model")), "model")
        if model.tuning and model.tuning.get("trials"):
            log_trials(client, exp_id, run_id, model.tuning)
    except BaseException:
        client.set_terminated(run_id, status=RunStatus.to_string(RunStatus.FAILED))
        raise
    client.set_terminated(run_id)
    if log_artifact and register:
        register_version(run_id, registered_name or experiment or default_experiment(model), model, tenant_id=tenant_id)
    return run_id


# --------------------------------------------------------------------------- MLflow models


_PYFUNC_SAVE = threading.Lock()


def save_pyfunc(pitwall_folder: Path, path: Path) -> Path:
    """Write an MLflow model (``MLmodel``, pyfunc flavor) at ``path`` wrapping Pitwall's artifact
    folder: the python model is the code file ``pitwall.ml.mlflow_pyfunc`` (no pickle)."""
    import mlflow

    from pitwall.ml import mlflow_pyfunc

    pyfunc_log = logging.getLogger("mlflow.pyfunc")
    with _PYFUNC_SAVE:  # one save at a time: another thread's save must not remove the filter during this one
        pyfunc_log.addFilter(_no_signature_notice)
        try:
            mlflow.pyfunc.save_model(
                path=str(path),
                python_model=str(Path(mlflow_pyfunc.__file__)),
                artifacts={mlflow_pyfunc.ARTIFACT_KEY: str(pitwall_folder)},
                pip_requirements=["mlflow", "pandas", "numpy"],  # pitwall itself: `--env-manager local`
            )
        finally:
            pyfunc_log.removeFilter(_no_signature_notice)
    return path


def _no_signature_notice(record: logging.LogRecord) -> bool:
    """Drops MLflow's "Failed to infer model signature" notice: Pitwall's pyfunc has no MLflow
    signature by design (its input is checked by the Pitwall model it wraps)."""
    return not record.getMessage().startswith("Failed to infer model signature")


def log_trials(client: Any, exp_id: str, parent_id: str, tuning: Mapping[str, Any]) -> list[str]:
    """One nested run per tuning trial (params, value, state) under the training run."""
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    ids = []
    for trial in tuning.get("trials") or []:
        number = trial.get("trial", len(ids))
        run = client.create_run(exp_id, run_name=f"trial-{number}", tags={MLFLOW_PARENT_RUN_ID: parent_id})
        rid = str(run.info.run_id)
        params = {f"param.{k}": v for k, v in dict(trial.get("params") or {}).items()}
        if trial.get("algorithm"):
            params["algorithm"] = trial["algorithm"]
        value = trial.get("value")
        metrics = {str(tuning.get("metric", "value")): value} if isinstance(value, int | float) else {}
        _log(client, rid, metrics, params, {"pitwall.kind": "tuning_trial", "pitwall.state": trial.get("state")})
        client.set_terminated(rid)
        ids.append(rid)
    return ids


def registry_name(name: str, tenant_id: str = LOCAL_TENANT) -> str:
    """The Model Registry name of a tenant's Pitwall model: ``<tenant>.<name>`` (MLflow refuses
    ``/`` in registered names; other characters outside ``A-Za-z0-9._-`` made ``_``)."""
    prefix = _tenant_prefix(tenant_id)[:-1]
    return f"{prefix}." + re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def register_version(run_id: str, name: str, model: BaseModel | None = None, *, tenant_id: str = LOCAL_TENANT) -> int:
    """Register the run's ``model`` as a new version of the tenant's ``name`` in MLflow's Model
    Registry; the version is tagged with the artifact's ``metadata.json`` sha256 (how
    ``sync_aliases`` finds it)."""
    client = _client()
    reg = registry_name(name, tenant_id)
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(reg, tags={"pitwall.model": name, "pitwall.tenant": tenant_id})
    except MlflowException:
        pass  # already registered
    run = client.get_run(run_id)
    source = f"{run.info.artifact_uri.rstrip('/')}/model"
    tags = {"pitwall.run_id": run_id}
    meta = _artifact_sha(run_id)
    if meta:
        tags["pitwall.sha256"] = meta
    if model is not None:
        tags["pitwall.algorithm"] = model.algorithm
        if getattr(model, "saved_to", None) is not None:
            tags["pitwall.artifact_uri"] = os.path.realpath(model.saved_to)
    version = client.create_model_version(reg, source, run_id=run_id, tags=tags)
    return int(version.version)


def _artifact_sha(run_id: str) -> str | None:
    """sha256 of the logged Pitwall ``metadata.json`` (the registry record's ``sha256``)."""
    from pitwall.ml.artifacts import sha256_file
    from pitwall.ml.mlflow_pyfunc import ARTIFACT_KEY

    client = _client()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, f"model/artifacts/{ARTIFACT_KEY}/metadata.json", tmp)
        except Exception:  # noqa: BLE001 - no artifact logged
            return None
        return sha256_file(Path(path))


def sync_aliases(name: str, champion: Any, challenger: Any, *, tenant_id: str = LOCAL_TENANT) -> dict[str, int]:
    """Point the ``champion`` alias at the MLflow version of the deployed Pitwall record and
    ``challenger`` at that of the newest one when it is not the champion (removed otherwise).
    Records are matched by artifact folder (``pitwall.artifact_uri`` tag), else by the sha256 of
    ``metadata.json``. Returns alias -> MLflow version. A model never tracked is left alone."""
    client = _client()
    reg = registry_name(name, tenant_id)
    versions = client.search_model_versions(f"name = '{reg}'")
    index: dict[str, int] = {}
    for v in versions:
        for key in ("pitwall.artifact_uri", "pitwall.sha256"):
            if v.tags.get(key):
                index[v.tags[key]] = int(v.version)

    def find(record: Any) -> int | None:
        if record is None:
            return None
        return index.get(os.path.realpath(str(record.artifact_uri)), index.get(str(record.sha256)))

    out: dict[str, int] = {}
    for alias, record in (("champion", champion), ("challenger", challenger)):
        version = find(record)
        if alias == "challenger" and version is not None and version == out.get("champion"):
            version = None
        if version is not None:
            client.set_registered_model_alias(reg, alias, str(version))
            out[alias] = version
        elif versions:
            try:
                client.delete_registered_model_alias(reg, alias)
            except Exception:  # noqa: BLE001 - alias not set
                pass
    return out


def sync_registry_aliases(tenant_id: str, name: str) -> dict[str, int]:
    """``sync_aliases`` from Pitwall's registry: champion = the deployed version, challenger = the
    latest version when newer. Called after each promotion (deploy); a no-op without a local
    MLflow store."""
    uri = tracking_uri()
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return {}
    from pitwall.platform.models import get_model

    latest = get_model(tenant_id, name)
    champion = get_model(tenant_id, name, latest.deployed_version) if latest.deployed_version else None
    challenger = latest if champion is None or latest.version > champion.version else None
    return sync_aliases((champion or latest).experiment or name, champion, challenger, tenant_id=tenant_id)


def _backtest_payload(
    result: BacktestResult, *, experiment: str | None, run_name: str | None, tenant_id: str
) -> dict[str, Any]:
    """Everything ``log_backtest`` writes, as plain JSON-able values (logged here or by the
    process ``prepare_backtest_log`` starts)."""
    spec = result.spec
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
    importance = result.last_model.feature_importance() if result.last_model is not None else {}
    return {
        "tenant_id": tenant_id,
        "experiment": experiment or default_experiment(spec),
        "run_name": run_name or f"backtest-{result.algorithm}-{result.season}-{result.mode}",
        "algorithm": result.algorithm,
        "metrics": {k: None if v is None else float(v) for k, v in metrics.items()},
        "params": {k: str(v)[:_PARAM_MAX] for k, v in params.items()},
        "tags": {k: str(v) for k, v in tags.items() if v is not None},
        "summary": json.loads(json.dumps(result.to_dict(), default=str)),
        "per_race_csv": result.per_race.to_csv(index=False),
        "importance": {str(k): float(v) for k, v in (importance or {}).items()},
    }


def _write_backtest(client: Any, payload: Mapping[str, Any], plots: bool = False, on_created: Any = None) -> str:
    """Log ``payload`` (``_backtest_payload``) as one run; return its id. ``on_created(run_id)``
    hears of the run as soon as it exists."""
    from mlflow.entities import RunStatus

    exp_id = _experiment_id(client, payload["tenant_id"], payload["experiment"])
    run = client.create_run(exp_id, run_name=payload["run_name"])
    run_id = str(run.info.run_id)
    if on_created is not None:
        on_created(run_id)
    try:
        _log(client, run_id, payload["metrics"], payload["params"], payload["tags"])
        client.log_dict(run_id, payload["summary"], "backtest.json")
        with tempfile.TemporaryDirectory() as tmp:
            per_race = Path(tmp) / "per_race.csv"
            per_race.write_text(payload["per_race_csv"], encoding="utf-8")
            client.log_artifact(run_id, str(per_race))
            importance = payload["importance"]
            if importance:
                client.log_dict(run_id, dict(importance), "feature_importance.json")
            if importance and plots:
                from pitwall.ml.plots import plot_feature_importance

                png = plot_feature_importance(importance, Path(tmp) / "feature_importance.png", payload["algorithm"])
                client.log_artifact(run_id, str(png), "plots")
    except BaseException:
        client.set_terminated(run_id, status=RunStatus.to_string(RunStatus.FAILED))
        raise
    client.set_terminated(run_id)
    return run_id


def log_backtest(
    result: BacktestResult,
    *,
    experiment: str | None = None,
    run_name: str | None = None,
    tenant_id: str = LOCAL_TENANT,
    plots: bool = False,
) -> str:
    """Log a walk-forward backtest as an MLflow run in the tenant's experiment; return its id.

    Logged: metrics (the model's, each baseline's, the paired comparison against the strongest
    baseline), params, tags, ``backtest.json`` (the summary), ``per_race.csv`` and the last
    model's ``feature_importance.json``; with ``plots`` also its feature-importance PNG
    (matplotlib: about a second; ``BacktestResult.plot_by_race`` and ``plot_calibration`` draw
    on demand)."""
    client = _client()
    payload = _backtest_payload(result, experiment=experiment, run_name=run_name, tenant_id=tenant_id)
    return _write_backtest(client, payload, plots)


# ---------------------------------------------------------------------------------------
# a backtest's run logged by a separate process (MLflow's import overlaps the backtest)
# ---------------------------------------------------------------------------------------
LOG_PROCESS_IDLE_S = 900  # a logging process nobody sends a backtest to exits after this long
LOG_PROCESS = True  # False: always log in this process (a thread sets the client up)


class BacktestLog:
    """Where a backtest's run will be logged, set up while the backtest runs: a process that
    imports MLflow and opens the store (one to two seconds of CPU, mostly imports, that a thread
    of this process would take from the frame build and the fits: imports hold the GIL) when a
    core is free for it (``_spare_core``), else this process (a thread sets the client up; also
    when it already has a client for the tracking URI or cannot start a process).

    ``log(result, experiment=, run_name=)`` logs the run exactly as ``log_backtest`` does and
    returns its id. A process that fails before creating the run hands over to this process
    (which raises MLflow's own error if the store is unusable); one that fails after raises
    ``RuntimeError`` with its error output (the run is marked failed)."""

    def __init__(self, uri: str, proc: subprocess.Popen[str] | None, setup: Future[Any] | None) -> None:
        self.uri, self._proc, self._setup = uri, proc, setup

    def log(
        self,
        result: BacktestResult,
        *,
        experiment: str | None = None,
        run_name: str | None = None,
        tenant_id: str = LOCAL_TENANT,
    ) -> str:
        payload = _backtest_payload(result, experiment=experiment, run_name=run_name, tenant_id=tenant_id)
        proc, self._proc = self._proc, None
        if proc is None:
            if self._setup is not None:
                self._setup.result()  # the set-up's error, if any, surfaces here
            return _write_backtest(_client(), payload)
        try:
            out, err = proc.communicate(json.dumps(payload))
        except OSError:  # the process ended before reading (a broken pipe)
            out, err = proc.communicate()
        lines = dict(line.partition(" ")[::2] for line in out.splitlines() if line.strip())
        if proc.returncode == 0 and "done" in lines:
            return lines["done"]
        if "run" not in lines:  # nothing logged: this process logs it (or raises MLflow's error)
            return _write_backtest(_client(), payload)
        raise RuntimeError(f"MLflow: logging backtest run {lines['run']} failed:\n{err[-4000:]}")


_LOG_PROCESSES: dict[str, subprocess.Popen[str]] = {}  # tracking URI -> a started, unused process
_LOG_LOCK = threading.Lock()


def _cached_client(uri: str) -> bool:
    cached = _CLIENTS.get(uri)
    return cached is not None and cached[0] == _file_identity(_sqlite_file(uri))


def prepare_backtest_log() -> BacktestLog:
    """Start setting up the logging of a backtest's run (see ``BacktestLog``); call it early (a
    backtest's frame build and fits hide the set-up). A process started by an earlier call for
    the same tracking URI and not used yet is handed over (``pitwall.training.backtest_template``
    starts it before the frame build, ``walk_forward`` picks it up)."""
    uri = tracking_uri()
    with _LOG_LOCK:
        started = _LOG_PROCESSES.pop(uri, None)
    if started is not None and started.poll() is None and not _cached_client(uri):
        return BacktestLog(uri, started, None)
    if started is not None:
        _stop(started)
    if not LOG_PROCESS or _cached_client(uri) or not _spare_core():
        return BacktestLog(uri, None, None if _cached_client(uri) else prepare_client())
    proc = _start_log_process(uri)
    return BacktestLog(uri, proc, None if proc is not None else prepare_client())


def start_backtest_log() -> None:
    """``prepare_backtest_log()`` now, its process kept for the next call (see there)."""
    log = prepare_backtest_log()
    if log._proc is not None:
        with _LOG_LOCK:
            old = _LOG_PROCESSES.pop(log.uri, None)
            _LOG_PROCESSES[log.uri] = log._proc
        if old is not None:
            _stop(old)


def _spare_core() -> bool:
    """True when about a core is free for the logging process: this process may run on two or
    more cores and the 1-minute load average is below their number less half a core. (The
    process costs some CPU more than a thread here would, its own imports of pandas and NumPy:
    a gain beside an idle core, a loss on a busy machine.)"""
    try:
        cores = len(os.sched_getaffinity(0))
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not Linux / no load average
        return False
    return cores >= 2 and load < cores - 0.5


def _start_log_process(uri: str) -> subprocess.Popen[str] | None:
    env = {**os.environ, "PITWALL_HOME": str(pitwall_home()), "PITWALL_MLFLOW_URI": uri}
    code = "from pitwall.ml.tracking import _log_process_main; _log_process_main()"
    try:
        return subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
    except OSError:
        return None


def _stop(proc: subprocess.Popen[str]) -> None:
    """An unused logging process sent on its way: end of input, it exits without logging."""
    with contextlib.suppress(OSError):
        proc.stdin.close()  # type: ignore[union-attr]


def _log_process_main() -> None:
    """The logging process: set the client up, wait for one payload on stdin (none, or
    ``LOG_PROCESS_IDLE_S`` without one: exit), log it; stdout says ``run <id>`` once the run
    exists and ``done <id>`` when it is logged."""
    import select

    client = _client()
    ready, _, _ = select.select([sys.stdin], [], [], LOG_PROCESS_IDLE_S)
    text = sys.stdin.read() if ready else ""
    if not text.strip():
        return

    def created(run_id: str) -> None:
        print(f"run {run_id}", flush=True)

    run_id = _write_backtest(client, json.loads(text), False, created)
    print(f"done {run_id}", flush=True)


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


def list_runs(
    experiment: str | None = None,
    max_results: int = 1000,
    *,
    tenant_id: str = LOCAL_TENANT,
    all_metrics: bool = False,
) -> pd.DataFrame:
    """The tenant's runs (newest first) with columns ``RUN_COLUMNS``: run_id, run_name,
    experiment (without the tenant prefix), kind, algorithm, metric (``"name=value"`` of the
    primary metric), f1, training_time_s, started_at; with ``all_metrics`` also one column per
    metric any of the runs logged. ``experiment`` restricts to one of the tenant's experiments
    (unknown name -> error). Other tenants' experiments are never read."""
    client = _client()
    prefix = _tenant_prefix(tenant_id)
    if experiment is not None:
        exp = client.get_experiment_by_name(experiment_name(tenant_id, experiment))
        if exp is None:
            raise MLInputError(f"experiment: no experiment named {experiment!r}")
        experiments = [exp]
    else:
        # LIKE narrows the search; the prefix test is the rule ('_' in a tenant id is a LIKE wildcard)
        pattern = prefix.replace("'", "''")
        found = client.search_experiments(filter_string=f"name LIKE '{pattern}%'", max_results=50_000)
        experiments = [e for e in found if e.name.startswith(prefix)]
    names = {str(e.experiment_id): e.name.removeprefix(prefix) for e in experiments}
    if not names:
        return pd.DataFrame(columns=RUN_COLUMNS)
    runs = client.search_runs(list(names), max_results=max_results, order_by=["attributes.start_time DESC"])
    rows = [_row(r, names[str(r.info.experiment_id)]) for r in runs]
    table = pd.DataFrame(rows, columns=RUN_COLUMNS)
    if all_metrics:
        metrics = pd.DataFrame([dict(r.data.metrics) for r in runs], index=table.index)
        table = table.join(metrics[sorted(metrics.columns, key=_metric_order)], rsuffix="_metric")
    return table


def _metric_order(name: str) -> tuple[int, str]:
    """Out-of-sample metrics first, then the baselines', then the rest (training-set, timings)."""
    for rank, prefix in enumerate(("test_", "cv_", "baseline_", "backtest_")):
        if name.startswith(prefix):
            return rank, name
    return 9, name


def compare(names: Sequence[str], *, tenant_id: str = LOCAL_TENANT, all_metrics: bool = True) -> pd.DataFrame:
    """The tenant's ``list_runs`` rows (newest first) whose run name, run id or experiment name is
    in ``names``, with every metric they logged as columns (``all_metrics``); a name matching
    nothing raises ``MLInputError``."""
    if isinstance(names, str) or not names:
        raise MLInputError("names: give a non-empty list of run or experiment names")
    table = list_runs(tenant_id=tenant_id, all_metrics=all_metrics)
    wanted = set(names)
    mask = table["run_name"].isin(wanted) | table["run_id"].isin(wanted) | table["experiment"].isin(wanted)
    found = set(table.loc[mask, "run_name"]) | set(table.loc[mask, "run_id"]) | set(table.loc[mask, "experiment"])
    unknown = sorted(wanted - found)
    if unknown:
        raise MLInputError(f"names: no run or experiment named {', '.join(map(repr, unknown))}")
    found_rows = table.loc[mask].reset_index(drop=True)
    return found_rows.dropna(axis=1, how="all") if all_metrics else found_rows
