"""Retraining after a race is ingested: one ``retrain`` job per model with auto-retrain on.

Called by the ``RaceIngested`` EventBridge rule in the cloud (``functions/workflow/workflow_retrain.py``)
and usable locally with any ``start`` callable (e.g. one that runs the local runner). Jobs go through
:func:`pitwall.platform.jobs.submit_job`, so the tenant's daily training quota applies; the
idempotency key ``retrain-<race_id>-<model>`` makes a redelivered event start nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pitwall import refs
from pitwall.errors import PitwallError, ValidationFailed
from pitwall.platform import jobs, models
from pitwall.platform.backend import RecordsBackend
from pitwall.platform.records import ModelRecord, Principal
from pitwall.platform.validation import positive_int
from pitwall.workflow.request import TrainingRequest, request_for_spec

StartFn = Callable[[str, dict[str, Any]], bool]
"""``start(execution_name, execution_input)``: start the workflow; False if it was already started."""


@dataclass(frozen=True)
class RetrainOutcome:
    """What happened to one auto-retrain model: ``started``, ``already_started`` or ``skipped``."""

    tenant_id: str
    model_name: str
    status: str
    job_id: str | None = None
    reason: str | None = None


def parse_race(detail: Any) -> tuple[int, str]:
    """``(season, race_id)`` of the newest race a ``RaceIngested`` detail announces (the summary
    event of an ingest run lists its races in ``races``; one retrain per run, on the newest);
    ValidationFailed naming the field."""
    if not isinstance(detail, Mapping):
        raise ValidationFailed("the RaceIngested detail must be an object", field="detail")
    races = detail.get("races")
    if races:
        if not isinstance(races, list):
            raise ValidationFailed("detail.races must be a list of races", field="detail.races")
        parsed = [_one_race(r, f"detail.races[{i}]") for i, r in enumerate(races)]
        return max(parsed, key=lambda p: (p[0], p[1]))
    return _one_race(detail, "detail")


def _one_race(detail: Any, where: str) -> tuple[int, str]:
    if not isinstance(detail, Mapping):
        raise ValidationFailed(f"{where} must be an object", field=where)
    season = positive_int(detail.get("season"), f"{where}.season", minimum=1950, maximum=2100)
    race_id = detail.get("race_id")
    if not isinstance(race_id, str) or not race_id:
        raise ValidationFailed(f"{where}.race_id must be a non-empty string", field=f"{where}.race_id")
    ref = refs.parse_race_ref(race_id, field=f"{where}.race_id")
    if ref.kind != "race_id" or ref.season != season or ref.race_id is None:
        raise ValidationFailed(
            f"{where}.race_id must be '<season>-<round>' of season {season} (such as {season}-01); got {race_id!r}",
            field=f"{where}.race_id",
        )
    return season, ref.race_id


RETRAINED_CHOICES = ("circuits", "drivers", "teams", "auto_features")
"""What the training recorded in a model's ``params`` that a retrain keeps: its row filters
(the wizard's circuits, drivers and teams) and its generated auto-features."""


def retrain_request(model: ModelRecord, season: int) -> TrainingRequest:
    """The retrain job's request (:func:`~pitwall.workflow.request.request_for_spec`): the model's
    template, task, algorithm, hyper-parameters, features, row filters and auto-features, its seasons plus
    the new race's season (the template's default window when the model names none). A model whose
    spec no job can train (a notebook model's own Python features) is refused here, naming the field."""
    seasons = model.data_window.get("seasons") if isinstance(model.data_window, Mapping) else None
    window = None
    if isinstance(seasons, list) and seasons and all(type(s) is int for s in seasons):
        window = tuple(sorted({*seasons, season}))
    recorded = model.params if isinstance(model.params, Mapping) else {}
    kept: dict[str, Any] = {}
    for name in RETRAINED_CHOICES:
        value = recorded.get(name)
        if value:
            kept[name] = dict(value) if name == "auto_features" else tuple(value)
    return request_for_spec(
        model.template,
        model.name,
        task=model.task,
        algorithm=model.algorithm,
        features=model.features,
        params=recorded,
        seasons=window,
        **kept,
    )


def retrain_params(model: ModelRecord, season: int) -> dict[str, Any]:
    """The retrain job's params: its request (:func:`retrain_request`) plus the model's provenance."""
    return {**retrain_request(model, season).to_params(), "params": model.params, "retrain_of_version": model.version}


def start_retraining(
    detail: Any, *, backend: RecordsBackend, start: StartFn, now: datetime | None = None
) -> list[RetrainOutcome]:
    """Submit and start a retrain job for every auto-retrain model (all tenants).

    A tenant without quota left (or any other refusal by the platform rules) skips that model with the
    reason; other models still retrain.
    """
    season, race_id = parse_race(detail)
    outcomes = []
    for model in models.list_auto_retrain_models(backend=backend):
        tenant = backend.get_tenant(model.tenant_id)
        if tenant is None:
            outcomes.append(RetrainOutcome(model.tenant_id, model.name, "skipped", reason="tenant not found"))
            continue
        principal = Principal(tenant_id=tenant.tenant_id, tier=tenant.tier)
        try:
            submission = jobs.submit_job(
                principal,
                model_name=model.name,
                template=model.template,
                kind="retrain",
                params=retrain_params(model, season),
                experiment=model.experiment,
                idempotency_key=f"retrain-{race_id}-{model.name}"[:128],
                now=now,
                backend=backend,
            )
        except PitwallError as exc:
            outcomes.append(RetrainOutcome(model.tenant_id, model.name, "skipped", reason=f"{exc.code}: {exc.message}"))
            continue
        job = submission.job
        execution_input = {
            "tenant_id": job.tenant_id,
            "job_id": job.job_id,
            "deploy": model.deployed_version is not None,
        }
        try:
            started = start(job.job_id, execution_input)
        except Exception as exc:  # noqa: BLE001 - fail this job (its quota unit is given back), go on
            if not job.finished:
                jobs.fail_job(job.tenant_id, job.job_id, f"could not start the workflow: {exc}", backend=backend)
            outcomes.append(RetrainOutcome(job.tenant_id, model.name, "skipped", job.job_id, f"start failed: {exc}"))
            continue
        outcomes.append(
            RetrainOutcome(job.tenant_id, model.name, "started" if started else "already_started", job.job_id)
        )
    return outcomes
