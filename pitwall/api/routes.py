"""The API's operations: plain functions over a :class:`~pitwall.api.http.Call`, and the table
(:data:`OPERATIONS`) that the Chalice app, the OpenAPI document and the tests all read.

Every function is tenant-scoped through ``call.tenant``: records of other tenants are
invisible (404), exactly as missing ones.
"""

from __future__ import annotations

from typing import Any

from pitwall.api import schemas as s
from pitwall.api.http import API_PREFIX, Call, Operation, QueryParam
from pitwall.errors import NotFound, ValidationFailed
from pitwall.platform import jobs, models
from pitwall.platform.records import JOB_STATUSES, JobRecord, ModelRecord
from pitwall.platform.validation import identifier
from pitwall.serving.errors import ServingUnavailable

API_VERSION = "1.0.0"


def _name(call: Call, param: str = "model") -> str:
    """A path identifier; malformed ones cannot exist, so they are a 404 like unknown ones."""
    value = call.params.get(param, "")
    try:
        return identifier(value, param)
    except ValidationFailed:
        raise NotFound(f"{param} {value!r} not found", field=param) from None


# --------------------------------------------------------------------------- health / docs


def health(call: Call) -> s.HealthResponse:
    return s.HealthResponse(status="ok", version=API_VERSION, backend=call.services.backend)  # type: ignore[arg-type]


def openapi_document(call: Call) -> dict[str, Any]:
    from pitwall.api.openapi import openapi

    return openapi()


# --------------------------------------------------------------------------- predictions


def predict(call: Call) -> s.PredictResponse:
    name = _name(call)
    payload = call.body.model_dump(mode="json", exclude_none=True)
    record, answer = call.services.deployments.invoke(call.tenant, name, payload)
    return s.PredictResponse.model_validate({**answer, "model": record.name, "version": record.version})


def predict_championship(call: Call) -> s.ChampionshipResponse:
    name = _name(call)
    payload = {"championship": call.body.model_dump(mode="json", exclude_none=True)}
    record, answer = call.services.deployments.invoke(call.tenant, name, payload)
    return s.ChampionshipResponse.model_validate({**answer, "model": record.name, "version": record.version})


# --------------------------------------------------------------------------- models


def _summary(record: ModelRecord) -> s.ModelSummary:
    return s.ModelSummary(
        name=record.name,
        latest_version=record.version,
        deployed_version=record.deployed_version,
        template=record.template,
        task=record.task,
        algorithm=record.algorithm,
        created_at=record.created_at,
        metrics=record.metrics,
    )


def list_models(call: Call) -> s.ModelList:
    return s.ModelList(
        models=[_summary(m) for m in models.list_models(call.tenant.tenant_id, backend=call.services.records)]
    )


def describe_model(call: Call) -> s.ModelDetail:
    name = _name(call)
    versions = models.list_model_versions(call.tenant.tenant_id, name, backend=call.services.records)
    latest = versions[-1]
    return s.ModelDetail(
        name=latest.name,
        version=latest.version,
        deployed_version=latest.deployed_version,
        status="deployed" if latest.deployed_version is not None else "registered",
        template=latest.template,
        task=latest.task,
        algorithm=latest.algorithm,
        target=latest.target,
        features=latest.features,
        data_window=latest.data_window,
        metrics=latest.metrics,
        baseline_metrics=latest.baseline_metrics,
        params=latest.params,
        auto_retrain=latest.auto_retrain,
        experiment=latest.experiment,
        created_at=latest.created_at,
        versions=[
            s.ModelVersionInfo(
                version=v.version,
                algorithm=v.algorithm,
                created_at=v.created_at,
                metrics=v.metrics,
                experiment=v.experiment,
                job_id=v.job_id,
            )
            for v in versions
        ],
    )


def _deployment(result: Any) -> s.DeploymentInfo:
    return s.DeploymentInfo.model_validate(result.to_dict())


def deploy(call: Call) -> s.DeploymentInfo:
    version = call.body.version if call.body is not None else None
    return _deployment(call.services.deployments.deploy(call.tenant, _name(call), version))


def undeploy(call: Call) -> s.DeploymentInfo:
    return _deployment(call.services.deployments.undeploy(call.tenant, _name(call)))


def delete_model(call: Call) -> s.DeletedResponse:
    name = _name(call)
    call.services.deployments.delete(call.tenant, name)
    return s.DeletedResponse(deleted=name)


# --------------------------------------------------------------------------- jobs


def _job(job: JobRecord) -> s.JobInfo:
    return s.JobInfo(
        job_id=job.job_id,
        status=job.status,
        kind=job.kind,
        model_name=job.model_name,
        template=job.template,
        created_at=job.created_at,
        updated_at=job.updated_at,
        max_runtime_seconds=job.max_runtime_seconds,
        params=job.params,
        experiment=job.experiment,
        error=job.error,
        result=job.result,
    )


def _job_kind(request: s.JobRequest) -> str:
    if request.algorithm == "auto":
        return "automl"
    return "tune" if request.auto_tune else "train"


def start_job(call: Call) -> s.JobInfo:
    request: s.JobRequest = call.body
    params = {
        "algorithm": request.algorithm,
        "auto_tune": request.auto_tune,
        "cv_folds": request.cv_folds,
        "seasons": sorted(set(request.seasons)) if request.seasons else None,
        "features": request.features,
    }
    params = {k: v for k, v in params.items() if v is not None}
    launcher = call.services.launcher
    launcher.check(params, request.template)
    submission = jobs.submit_job(
        call.tenant,
        model_name=request.name,
        template=request.template,
        kind=_job_kind(request),
        params=params,
        experiment=request.experiment,
        idempotency_key=request.idempotency_key,
        max_runtime_seconds=request.max_runtime_seconds,
        gpu=request.gpu,
        backend=call.services.records,
    )
    job = submission.job
    if submission.created:
        try:
            launcher.launch(call.tenant, job)
        except Exception as exc:
            jobs.fail_job(job.tenant_id, job.job_id, f"could not start: {exc}", backend=call.services.records)
            raise
    return _job(job)


def _job_id(call: Call) -> str:
    value = call.params.get("job_id", "")
    if not value or len(value) > 128:
        raise NotFound(f"job {value!r} not found", field="job_id")
    return value


def job_status(call: Call) -> s.JobInfo:
    return _job(jobs.get_job(call.tenant.tenant_id, _job_id(call), backend=call.services.records))


def cancel_job(call: Call) -> s.JobInfo:
    return _job(jobs.cancel_job(call.tenant.tenant_id, _job_id(call), backend=call.services.records))


def list_jobs(call: Call) -> s.JobList:
    status = call.query.get("status")
    found = jobs.list_jobs(call.tenant.tenant_id, status=status, backend=call.services.records)
    return s.JobList(jobs=[_job(j) for j in found])


# --------------------------------------------------------------------------- experiments


def list_experiments(call: Call) -> s.ExperimentList:
    found = jobs.list_experiments(call.tenant.tenant_id, backend=call.services.records)
    return s.ExperimentList(experiments=[s.ExperimentSummary(**vars(e)) for e in found])


def _higher_is_better(metric: str) -> bool:
    """True when higher values of ``metric`` are better (``pitwall.ml.metrics.direction``)."""
    try:
        from pitwall.ml.errors import MLInputError
        from pitwall.ml.metrics import direction
    except ImportError:  # a deployment without pitwall[ml] (the lean API Lambda)
        raise ServingUnavailable("sorting runs by metric needs pitwall[ml] in this deployment") from None

    try:
        return direction(metric) == "maximize"
    except MLInputError as exc:
        raise ValidationFailed(str(exc), field="metric", unprocessable=True) from None


def compare_experiment(call: Call) -> s.ExperimentComparison:
    """Every model version tagged with the experiment, best first by ``?metric=`` (default:
    the first ``test_`` metric all runs share)."""
    tenant = call.tenant.tenant_id
    name = call.params.get("experiment", "")
    records = call.services.records
    runs = [
        version
        for head in models.list_models(tenant, backend=records)
        for version in models.list_model_versions(tenant, head.name, backend=records)
        if version.experiment == name
    ]
    if not runs and not any(e.name == name for e in jobs.list_experiments(tenant, backend=records)):
        raise NotFound(f"experiment {name!r} not found", field="experiment")
    metric = call.query.get("metric")
    if metric is None and runs:
        shared = set.intersection(*(set(r.metrics) for r in runs))
        candidates = sorted(m for m in shared if m.startswith("test_")) or sorted(shared)
        metric = candidates[0] if candidates else None
    if metric is not None and runs:
        higher = _higher_is_better(metric)
        present = [r for r in runs if metric in r.metrics]
        absent = [r for r in runs if metric not in r.metrics]
        present.sort(key=lambda r: r.metrics[metric], reverse=higher)
        runs = present + absent
    return s.ExperimentComparison(
        experiment=name,
        metric=metric,
        runs=[
            s.ExperimentRun(
                model=r.name,
                version=r.version,
                algorithm=r.algorithm,
                template=r.template,
                created_at=r.created_at,
                metrics=r.metrics,
                baseline_metrics=r.baseline_metrics,
                params=r.params,
                job_id=r.job_id,
            )
            for r in runs
        ],
    )


# --------------------------------------------------------------------------- the table

P = API_PREFIX
OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "health",
        "GET",
        f"{P}/health",
        "Liveness check",
        health,
        s.HealthResponse,
        public=True,
        errors=(),
        tags=("meta",),
    ),
    Operation(
        "openapi",
        "GET",
        f"{P}/openapi.json",
        "This API's OpenAPI 3 document",
        openapi_document,
        None,
        public=True,
        errors=(),
        tags=("meta",),
    ),
    Operation(
        "predict",
        "POST",
        f"{P}/predict/{{model}}",
        "Predict with a deployed model",
        predict,
        s.PredictResponse,
        request=(s.RacePredictRequest, s.InstancesPredictRequest),
        errors=(400, 401, 404, 409, 413, 422, 429),
        tags=("predictions",),
        description="Send a race (features looked up server-side, with optional grid/weather overrides) "
        "or explicit feature rows. Ranking models answer ranked drivers with probabilities, "
        "regressions a value, classifiers class probabilities.",
    ),
    Operation(
        "predict_championship",
        "POST",
        f"{P}/predict/{{model}}/championship",
        "Monte Carlo championship forecast",
        predict_championship,
        s.ChampionshipResponse,
        request=s.ChampionshipRequest,
        errors=(400, 401, 404, 409, 413, 422, 429),
        tags=("predictions",),
    ),
    Operation("list_models", "GET", f"{P}/models", "List models", list_models, s.ModelList, tags=("models",)),
    Operation(
        "describe_model",
        "GET",
        f"{P}/models/{{model}}",
        "Describe a model: metrics, features, data window, versions",
        describe_model,
        s.ModelDetail,
        tags=("models",),
    ),
    Operation(
        "delete_model",
        "DELETE",
        f"{P}/models/{{model}}",
        "Delete every version of a model (undeploy first)",
        delete_model,
        s.DeletedResponse,
        errors=(401, 404, 409, 429),
        tags=("models",),
    ),
    Operation(
        "deploy_model",
        "POST",
        f"{P}/models/{{model}}/deploy",
        "Deploy a model version (swaps versions without downtime)",
        deploy,
        s.DeploymentInfo,
        request=s.DeployRequest,
        body_optional=True,
        errors=(400, 401, 404, 409, 413, 422, 429, 502, 503),
        tags=("models",),
    ),
    Operation(
        "undeploy_model",
        "POST",
        f"{P}/models/{{model}}/undeploy",
        "Stop serving a model",
        undeploy,
        s.DeploymentInfo,
        errors=(401, 404, 409, 429, 502, 503),
        tags=("models",),
    ),
    Operation(
        "start_job",
        "POST",
        f"{P}/jobs",
        "Start a training job from a template",
        start_job,
        s.JobInfo,
        request=s.JobRequest,
        status=202,
        errors=(400, 401, 403, 409, 413, 422, 429, 503),
        tags=("jobs",),
    ),
    Operation(
        "list_jobs",
        "GET",
        f"{P}/jobs",
        "List training jobs",
        list_jobs,
        s.JobList,
        query=(QueryParam("status", "only jobs in this status", JOB_STATUSES),),
        tags=("jobs",),
    ),
    Operation("job_status", "GET", f"{P}/jobs/{{job_id}}", "A job's status", job_status, s.JobInfo, tags=("jobs",)),
    Operation(
        "cancel_job",
        "POST",
        f"{P}/jobs/{{job_id}}/cancel",
        "Cancel a queued or running job",
        cancel_job,
        s.JobInfo,
        errors=(401, 404, 409, 429),
        tags=("jobs",),
    ),
    Operation(
        "list_experiments",
        "GET",
        f"{P}/experiments",
        "List experiments",
        list_experiments,
        s.ExperimentList,
        tags=("experiments",),
    ),
    Operation(
        "compare_experiment",
        "GET",
        f"{P}/experiments/{{experiment}}",
        "Compare the runs (model versions) of an experiment",
        compare_experiment,
        s.ExperimentComparison,
        query=(QueryParam("metric", "sort by this metric, best first"),),
        tags=("experiments",),
    ),
)

OPERATIONS_BY_ID: dict[str, Operation] = {op.operation_id: op for op in OPERATIONS}


def operation(operation_id: str) -> Operation:
    return OPERATIONS_BY_ID[operation_id]
