"""The notebook SDK: ``import pitwall as pw``.

pw.ingest()                                  # local F1DB + FastF1 laps into the store
fs = pw.FeatureStore(); fs.get_features(seasons=(2018, 2023))
model = pw.train("race_winner", seasons=range(2014, 2024), algorithm="xgboost")
model.rank(pw.race_features("race_winner", 2024, 8))
model.deploy(name="race_winner_v1")          # served by `pitwall serve` / the API
model.share(title="Grid + form winner model", description="...")
pw.backtest("race_winner", season=2024, train_until=2023).metrics
pw.marketplace.top()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pitwall import refs
from pitwall.config import LOCAL_TENANT
from pitwall.data.store import Store, get_store


@dataclass
class Model:
    """A trained, registered template model (wraps the ML model and its registry record)."""

    name: str
    tenant_id: str
    model: Any  # pitwall.ml.BaseModel
    model_dir: Path
    record: Any = None
    metrics: dict[str, float] | None = None
    baseline_metrics: dict[str, float] | None = None

    @property
    def algorithm(self) -> str:
        return str(self.model.algorithm)

    @property
    def version(self) -> int | None:
        return getattr(self.record, "version", None)

    def predict(
        self, df: pd.DataFrame | None = None, *, race: Any = None, moment: str | None = None, store: Store | None = None
    ) -> Any:
        """Predictions for feature rows ``df``, or for a ``race`` (``"next"``, ``"2024-08"``,
        ``"monaco_2024"``, stored or upcoming) at a weekend ``moment`` (``pre_practice``,
        ``pre_qualifying``, ``pre_race``; default: the latest the stored data reaches). With
        ``race`` the answer is a ``pitwall.serving.upcoming.RacePrediction`` saying what was known."""
        if race is None:
            if df is None:
                raise TypeError("predict() needs feature rows (df) or race=...")
            return self.model.predict(df)
        if df is not None:
            raise TypeError("predict(): give feature rows (df) or race=..., not both")
        from pitwall.serving.upcoming import predict_race_at

        return predict_race_at(self.model, race, moment, store=store, name=self.name)

    def predict_championship(
        self,
        season: int,
        remaining_races: bool = True,
        *,
        from_round: int | None = None,
        simulations: int = 10_000,
        seed: int | None = None,
        store: Store | None = None,
    ) -> dict[str, Any]:
        """Monte Carlo title forecast of ``season``: rounds ``from_round`` onward simulated (default:
        the first round without results) on top of the standings before it, each race predicted from
        what was known then; ``remaining_races=False``: the whole season from zero. Title
        probabilities and expected points for drivers and constructors
        (``pitwall.serving.upcoming.predict_season``)."""
        from pitwall.serving.upcoming import predict_season

        bad = isinstance(from_round, bool) or not isinstance(from_round, int) or from_round < 1
        if from_round is not None and bad:
            raise ValueError(f"from_round: expected a round number >= 1, got {from_round!r}")
        return predict_season(
            self.model,
            season,
            after_round=None if from_round is None else from_round - 1,
            remaining_races=remaining_races,
            simulations=simulations,
            seed=seed,
            store=store,
            name=self.name,
            version=self.version,
        )

    def predict_proba(self, df: pd.DataFrame) -> Any:
        return self.model.predict_proba(df)

    def rank(self, df: pd.DataFrame) -> pd.DataFrame:
        return self.model.rank(df)

    def evaluate(self, test_data: pd.DataFrame) -> Any:
        return self.model.evaluate(test_data)

    def connect_to_stream(self, source: str = "openf1", update_frequency: str = "per_lap", callback=None, **kw: Any):  # type: ignore[no-untyped-def]
        """Per-lap live updates of a live race model (see ``pitwall.live.stream.connect_to_stream``)."""
        from pitwall.live.stream import connect_to_stream

        return connect_to_stream(self, source=source, update_frequency=update_frequency, callback=callback, **kw)

    def deploy(
        self, name: str | None = None, capture: float | None = None, *, target: str | None = None, **sagemaker: Any
    ) -> Any:
        """Deploy this model version under ``name`` (default: its own name); redeploying swaps
        versions without downtime. Locally the server loads it in-process; on AWS it becomes a
        SageMaker endpoint. ``capture``: percent of requests captured for monitoring (0-100;
        default: the deployment's current rate, 100 at first).

        ``target="sagemaker"``: a SageMaker endpoint made with the SageMaker Python SDK from this
        notebook (``pip install 'pitwall[sagemaker]'``; ``session=``, ``role_arn=``, ``image_uri=``,
        ``wait=`` go to ``pitwall.serving.sagemaker_sdk.deploy_with_sdk``); the answer's ``.predictor``
        calls the endpoint."""
        if target not in (None, "sagemaker"):
            raise ValueError(f"target: expected None (this environment's serving) or 'sagemaker', got {target!r}")
        if sagemaker and target != "sagemaker":
            raise TypeError(f"deploy(): {', '.join(sorted(sagemaker))} only apply with target='sagemaker'")
        if capture is not None and target == "sagemaker":
            raise TypeError("deploy(): capture= is not supported with target='sagemaker' (set it with pitwall deploy)")
        from pitwall.platform.keys import ensure_tenant
        from pitwall.serving.deploy import deploy_model

        ensure_tenant(self.tenant_id)
        if name is not None and name != self.name:
            from pitwall.training import register_copy

            self.record = register_copy(self.record, name)
            self.name = name
        if target == "sagemaker":
            from pitwall.serving.sagemaker_sdk import deploy_with_sdk

            return deploy_with_sdk(self.tenant_id, self.name, self.version, **sagemaker)
        return deploy_model(self.tenant_id, self.name, self.version, capture_percent=capture)

    def share(self, title: str, description: str, reported_metrics: dict[str, float] | None = None) -> Any:
        """Publish this model on the marketplace (Pitwall verifies its metrics at publish time)."""
        from pitwall.marketplace import publish

        return publish(self.name, title, description, reported_metrics, version=self.version, tenant=self.tenant_id)


def train(
    template: str,
    seasons: Sequence[int] | None = None,
    algorithm: str | None = None,
    *,
    auto_tune: bool = False,
    cv_folds: int | None = None,
    name: str | None = None,
    tenant_id: str = LOCAL_TENANT,
    store: Store | None = None,
    **kwargs: Any,
) -> Model:
    """Train a template (see ``pitwall templates``) and register it; returns a ``Model``.

    The request is checked by the one training contract (``pitwall.workflow.request``): template
    defaults (algorithm, folds, season window) are the same as the API's and the cloud's."""
    from pitwall.training import train_template
    from pitwall.workflow.request import PARAM_FIELDS, TrainingRequest

    given = {k: kwargs.pop(k) for k in PARAM_FIELDS if k in kwargs}
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
    request = TrainingRequest(
        template,
        name or template,
        algorithm=algorithm,
        auto_tune=auto_tune,
        cv_folds=cv_folds,
        seasons=tuple(refs.parse_seasons(seasons)) if seasons is not None else None,
        **given,
    )
    job_id = kwargs.pop("job_id", None)
    result = train_template(template, **request.train_kwargs(tenant_id=tenant_id, job_id=job_id), store=store, **kwargs)
    return Model(
        result.name, tenant_id, result.model, result.model_dir, result.record, result.metrics, result.baseline_metrics
    )


def register(
    model: Any, name: str, *, tenant_id: str = LOCAL_TENANT, template: str | None = None, experiment: str | None = None
) -> Model:
    """Save a ``pitwall.ml`` model (e.g. from ``ModelBuilder`` or ``AutoMLTrainer``) as a new
    version of ``name`` in the registry, like a template model; returns the SDK ``Model``.

    ``template``: the template whose feature frames serve the model (its prediction moment and
    rows); default the model's own template, else the template its target is named after
    (``target='race_winner'``)."""
    import uuid

    from pitwall.config import pitwall_home
    from pitwall.ml.artifacts import sha256_file
    from pitwall.platform.models import register_model

    template = template_of(model, template)
    model_dir = pitwall_home() / "models" / tenant_id / name / uuid.uuid4().hex[:12]
    model.save(model_dir)
    metrics = {k: float(v) for k, v in model.metrics.items() if isinstance(v, int | float)}
    record = register_model(
        tenant_id,
        name,
        template=template,
        task=model.task,
        algorithm=model.algorithm,
        features=list(model.features),
        target=model.target,
        data_window=model.data_window,
        metrics={k.removeprefix("test_"): v for k, v in metrics.items() if k.startswith("test_")},
        baseline_metrics={},
        artifact_uri=str(model_dir),
        sha256=sha256_file(model_dir / "metadata.json"),
        experiment=experiment or name,
        params={"custom": True, **{k: v for k, v in model.params.items() if isinstance(v, int | float | str | bool)}},
    )
    return Model(name, tenant_id, model, model_dir, record, record.metrics)


def template_of(model: Any, template: str | None = None) -> str:
    """The template whose feature frames serve a ``pitwall.ml`` model: ``template``, else the
    model's own, else the template its target is named after (``target='race_winner'``)."""
    from pitwall.templates import TEMPLATES

    template = template or model.spec.template or (model.target if model.target in TEMPLATES else None)
    if template not in TEMPLATES:
        raise ValueError(
            f"template: a custom model needs the template whose feature frames serve it (template=...; "
            f"known: {', '.join(TEMPLATES)}); got {template!r}"
        )
    return template


def job_spec(model: Any, name: str, *, template: str | None = None, seasons: Sequence[int] | None = None) -> dict:
    """The API job body (``POST /api/v1/jobs``, the Studio's custom spec) that trains a
    ``pitwall.ml`` model's spec as a job: its template (:func:`template_of`), task, algorithm,
    hyper-parameters, features and seasons (default the model's own), checked by the one training
    request (:func:`pitwall.workflow.request.request_for_spec`). An AutoML ensemble becomes an
    AutoML job. What no job can train (the notebook's own Python features) raises
    ``ValidationFailed`` naming the field."""
    from pitwall.errors import ValidationFailed
    from pitwall.workflow.request import request_for_spec
    from pitwall.workflow.template_facts import ALGORITHM_NAMES, AUTO_ALGORITHM

    template = template_of(model, template)
    algorithm = model.algorithm if model.algorithm in ALGORITHM_NAMES else AUTO_ALGORITHM
    window = seasons if seasons is not None else (model.data_window or {}).get("seasons")
    try:
        request = request_for_spec(
            template,
            name,
            task=model.task,
            algorithm=algorithm,
            features=model.features,
            params=model.params if algorithm != AUTO_ALGORITHM else None,
            seasons=window,
        )
    except ValidationFailed as exc:
        if exc.field != "features":
            raise
        raise ValidationFailed(
            f"{exc.message}. Custom Python features (FeatureEngineer) run only in this process: no job can "
            "compute them; register the model from here instead (model.deploy(name=...))",
            field="features",
            unprocessable=True,
        ) from None
    return {"template": request.template, "name": request.model_name, **request.to_params()}


def submit_job(
    body: dict[str, Any], *, api_url: str | None = None, api_key: str | None = None, tenant_id: str = LOCAL_TENANT
) -> dict[str, Any]:
    """Submit a training job (a :func:`job_spec` body, or any ``POST /api/v1/jobs`` body) and return
    the job as the API answers it (``job_id``, ``status``, ``params``...).

    With ``api_url`` (``pitwall serve``'s or the deployed API's URL) and ``api_key``, over HTTPS, held
    to the key's tier and quota; without, to this laptop's workflow as ``tenant_id``, in the
    background, exactly as ``pitwall serve`` runs API jobs. A refused job raises ``PitwallError``
    (``ValidationFailed`` naming the field, ``QuotaExceeded``...)."""
    from pitwall.errors import PitwallError

    if api_url is not None:
        import requests

        if not api_key:
            raise ValueError("api_key: needed with api_url (pitwall keys create ...)")
        answer = requests.post(
            f"{api_url.rstrip('/')}/api/v1/jobs", json=body, headers={"x-api-key": api_key}, timeout=60
        )
        payload = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
        if answer.status_code >= 400:
            error = payload.get("error", {}) if isinstance(payload, dict) else {}
            raise PitwallError(
                f"job refused ({answer.status_code}): {error.get('message') or answer.text[:300]}",
                field=error.get("field"),
            )
        return payload
    from pydantic import ValidationError

    from pitwall.api.errors import from_validation_error
    from pitwall.api.jobs import start_job
    from pitwall.api.routes import job_info
    from pitwall.api.schemas import JobRequest
    from pitwall.api.services import get_services
    from pitwall.platform.keys import local_principal

    principal = local_principal(tenant_id)
    services = get_services()
    try:
        request = JobRequest.model_validate(body)
    except ValidationError as exc:  # the API's 400/422, the field named the same way
        raise from_validation_error(exc, body) from None
    job = start_job(principal, request, launcher=services.launcher, records=services.records)
    return job_info(job).model_dump(mode="json")


def load(name: str, version: int | None = None, tenant_id: str = LOCAL_TENANT) -> Model:
    """A registered model by name (latest version unless ``version``), checksum-verified."""
    from pitwall.ml import load_model
    from pitwall.platform.models import get_model

    record = get_model(tenant_id, name, version)
    return Model(name, tenant_id, load_model(record.artifact_uri), Path(record.artifact_uri), record, record.metrics)


def backtest(template: str, season: int, train_until: int | None = None, **kwargs: Any) -> Any:
    """Walk-forward backtest of ``season`` (see ``pitwall.training.backtest_template``)."""
    from pitwall.training import backtest_template

    return backtest_template(template, season=season, train_until=train_until, **kwargs)


def race_features(
    template: str,
    season: int,
    round: int,  # noqa: A002 - the F1 word
    overrides: dict[str, Any] | None = None,
    auto_features: Any = None,
) -> pd.DataFrame:
    """The feature rows a template's model sees for one race (with optional overrides); pass a
    model's ``auto_features`` (``model.model.auto_features``) to get the columns it generated."""
    from pitwall.templates import prediction_frame

    return prediction_frame(template, get_store(), season, round, overrides, auto_features=auto_features)


def ingest(data_dir: str | Path | None = None) -> list[Any]:
    """Ingest local F1DB and FastF1 lap exports (default ``$PITWALL_DATA``) into the store."""
    from pitwall.config import default_data_dir
    from pitwall.data.ingest import ingest_data_dir

    return list(ingest_data_dir(get_store(), data_dir if data_dir is not None else default_data_dir()))


# --------------------------------------------------------------------------- actions on a trained model
# ``pitwall.ml`` models (ModelBuilder / AutoMLTrainer results) call these through
# ``pitwall.model_actions()``: deploy, title forecast and live stream live here, above the ML layer.


def deploy_trained(model: Any, name: str, tenant_id: str = LOCAL_TENANT, template: str | None = None) -> Any:
    """Register ``model`` as a new version of ``name`` and deploy it, as a template model."""
    deployment = register(model, name, tenant_id=tenant_id, template=template).deploy()
    model.name = name  # the registered name: live streams and forecasts refer to it
    return deployment


def forecast_season(
    model: Any, season: int, remaining_races: bool = True, *, simulations: int = 10_000, seed: int | None = None
) -> dict[str, Any]:
    """Monte Carlo title forecast of ``season`` with ``model`` (``pitwall.serving.upcoming.predict_season``);
    a model whose target names a race-result template is served through that template's race frames."""
    import copy
    import dataclasses

    from pitwall.serving.upcoming import predict_season
    from pitwall.templates import TEMPLATES

    served = model
    if model.spec.template is None and model.target in TEMPLATES:
        served = copy.copy(model)
        served.spec = dataclasses.replace(model.spec, template=model.target)
    return predict_season(
        served,
        season,
        remaining_races=remaining_races,
        simulations=simulations,
        seed=seed,
        name=getattr(model, "name", None),
    )


def stream_trained(
    model: Any, source: str = "openf1", update_frequency: str = "per_lap", callback: Any = None, **kwargs: Any
) -> Any:
    """Per-lap live updates for ``model``. A pre-race model has no per-lap inputs, so the stream runs
    Pitwall's live race model saved under the model's deployed name (``pitwall live train NAME``);
    when there is none, one is trained on the laps of the model's training seasons and saved as
    ``<name>_live`` (with a notice)."""
    from pitwall.live.stream import connect_to_stream
    from pitwall.live.template import LiveModelError, load_live_model, train_live_model
    from pitwall.ml.dataset import notice

    name = str(getattr(model, "name", None) or f"{model.spec.template or model.target}")
    try:
        live = load_live_model(name)
    except LiveModelError:
        try:
            live = load_live_model(f"{name}_live")
        except LiveModelError:
            seasons = list(model.data_window.get("seasons") or [])
            notice(
                f"connect_to_stream: {name!r} has no per-lap inputs; training the live race model "
                f"{name}_live on the laps of its training seasons {seasons} (pitwall.live.train_live_model)"
            )
            live = train_live_model(f"{name}_live", train_until=max(seasons, default=0), seasons=seasons)
    return connect_to_stream(live, source=source, update_frequency=update_frequency, callback=callback, **kwargs)
