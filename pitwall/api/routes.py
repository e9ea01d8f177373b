"""The API's operations as plain functions over a :class:`~pitwall.api.http.Call`, each named
like its operation id in :data:`pitwall.api.operations.OPERATIONS` (the table that routes them).

Every function is tenant-scoped through ``call.tenant``: records of other tenants are
invisible (404), exactly as missing ones. The marketplace functions (``market_<verb>``) call
:mod:`pitwall.marketplace` with the same verb.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from pitwall import marketplace
from pitwall.api import schemas as s
from pitwall.api.http import API_VERSION, Call
from pitwall.errors import NotFound, ValidationFailed
from pitwall.marketplace import rules as market_rules
from pitwall.marketplace import service as marketplace_service
from pitwall.platform import jobs, models
from pitwall.platform.records import JobRecord, Listing, ModelRecord
from pitwall.platform.validation import identifier
from pitwall.serving.errors import ServingUnavailable

LISTING_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


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


# --------------------------------------------------------------------------- predictions


def predict(call: Call) -> s.PredictResponse:
    name = _name(call)
    payload = call.body.model_dump(mode="json", exclude_none=True)
    record, answer = call.services.deployments.invoke(call.tenant, name, payload)
    if answer.get("race"):
        known = answer["notes"][0] if answer.get("moment") else known_inputs(answer.get("template"))
        answer = {**answer, "race": {**answer["race"], "known_inputs": known}}
    return s.PredictResponse.model_validate({**answer, "model": record.name, "version": record.version})


def known_inputs(template: str | None) -> str | None:
    """The ``known_inputs`` note of a race answer: the template's moment and what it knows then."""
    from pitwall.workflow.template_facts import TEMPLATE_FACTS

    facts = TEMPLATE_FACTS.get(template or "")
    if facts is None:
        return None
    return f"{facts.moment}: {facts.moment_doc}" if facts.moment_doc else facts.moment


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
    deployment = call.services.deployments.refresh(call.tenant, name)  # SageMaker: the endpoint's state
    versions = models.list_model_versions(call.tenant.tenant_id, name, backend=call.services.records)
    latest = versions[-1]
    status = "deployed" if latest.deployed_version is not None else "registered"
    if deployment is not None and deployment.status == "deploying":
        status = "deploying"
    return s.ModelDetail(
        name=latest.name,
        version=latest.version,
        deployed_version=latest.deployed_version,
        status=status,
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


def deploy_model(call: Call) -> s.DeploymentInfo:
    version = call.body.version if call.body is not None else None
    capture = call.body.capture_percent if call.body is not None else None
    name = _name(call)
    if capture is not None:  # validated before anything is deployed
        from pitwall.monitoring.settings import MonitoringSettings

        MonitoringSettings(call.tenant.tenant_id, name, capture_percent=capture)
    deployment = call.services.deployments.deploy(call.tenant, name, version)
    from pitwall.monitoring.settings import configure

    configure(call.tenant.tenant_id, name, capture_percent=capture)
    return _deployment(deployment)


def model_monitoring(call: Call) -> s.MonitoringView:
    """The deployment's latest monitoring summary (JSON only: no pandas on the lean API Lambda)."""
    from pitwall.monitoring.summary import read_summary

    name = _name(call)
    models.get_model(call.tenant.tenant_id, name, backend=call.services.records)  # another tenant's model: 404
    return s.MonitoringView.model_validate(read_summary(call.tenant.tenant_id, name))


def undeploy_model(call: Call) -> s.DeploymentInfo:
    return _deployment(call.services.deployments.undeploy(call.tenant, _name(call)))


def delete_model(call: Call) -> s.DeletedResponse:
    name = _name(call)
    call.services.deployments.delete(call.tenant, name)
    return s.DeletedResponse(deleted=name)


# --------------------------------------------------------------------------- jobs


def job_info(job: JobRecord) -> s.JobInfo:
    """A job record as the API answers it."""
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


def start_job(call: Call) -> s.JobInfo:
    from pitwall.api import jobs as api_jobs

    services = call.services
    return job_info(api_jobs.start_job(call.tenant, call.body, launcher=services.launcher, records=services.records))


def _job_id(call: Call) -> str:
    value = call.params.get("job_id", "")
    if not value or len(value) > 128:
        raise NotFound(f"job {value!r} not found", field="job_id")
    return value


def job_status(call: Call) -> s.JobInfo:
    return job_info(jobs.get_job(call.tenant.tenant_id, _job_id(call), backend=call.services.records))


def cancel_job(call: Call) -> s.JobInfo:
    from pitwall.api import jobs as api_jobs

    services = call.services
    return job_info(
        api_jobs.cancel_job(call.tenant, _job_id(call), launcher=services.launcher, records=services.records)
    )


def list_jobs(call: Call) -> s.JobList:
    status = call.query.get("status")
    found = jobs.list_jobs(call.tenant.tenant_id, status=status, backend=call.services.records)
    return s.JobList(jobs=[job_info(j) for j in found])


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


# --------------------------------------------------------------------------- marketplace


def _listing_id(call: Call) -> str:
    value = call.params.get("listing_id", "")
    if not LISTING_ID_RE.match(value):
        raise NotFound(f"listing {value!r} not found", field="listing_id")
    return value


def _limit(call: Call, default: int) -> int:
    raw = call.query.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(f"limit must be a whole number; got {raw!r}", field="limit") from None
    if not 1 <= value <= market_rules.MAX_PAGE_SIZE:
        raise ValidationFailed(f"limit must be between 1 and {market_rules.MAX_PAGE_SIZE}; got {value}", field="limit")
    return value


def _listing(listing: Listing) -> s.ListingInfo:
    return s.ListingInfo.model_validate(listing.public_doc())


def market_list(call: Call) -> s.ListingPage:
    page = marketplace.list(
        template=call.query.get("template") or None,
        text=call.query.get("text") or None,
        author=call.query.get("author") or None,
        sort=call.query.get("sort") or "recent",
        limit=_limit(call, 20),
        next_token=call.query.get("next_token") or None,
        backend=call.services.records,
    )
    return s.ListingPage(listings=[_listing(x) for x in page.items], next_token=page.next_token)


def market_top(call: Call) -> s.TopListings:
    entries = marketplace.top(_limit(call, 10), backend=call.services.records)
    return s.TopListings(
        listings=[
            s.TopEntry(listing=_listing(e.listing), downloads_7d=e.downloads_7d, ratings_7d=e.ratings_7d)
            for e in entries
        ]
    )


def market_show(call: Call) -> s.ModelCardInfo:
    listing_id = _listing_id(call)
    records = call.services.records
    card = marketplace.show(listing_id, tenant=call.tenant, backend=records)
    mine = market_rules.my_rating(listing_id, tenant=call.tenant, backend=records)
    verified = card.status == market_rules.LISTED
    return s.ModelCardInfo.model_validate({**card.to_dict(), "verified": verified, "my_rating": mine})


def market_publish(call: Call) -> s.ListingInfo:
    body: s.PublishRequest = call.body
    listing = marketplace.publish(
        body.model_name,
        body.title,
        body.description,
        body.reported_metrics,
        version=body.version,
        tenant=call.tenant,
        wait=False,  # 202: the listing is verifying; its verification job lists or rejects it
        backend=call.services.records,
    )
    return _listing(listing)


def market_download(call: Call) -> s.DownloadInfo:
    result = marketplace_service.download(_listing_id(call), tenant=call.tenant, backend=call.services.records)
    return s.DownloadInfo(
        listing_id=result.listing_id,
        model_name=result.model_name,
        model_version=result.model_version,
        file_name=result.file_name,
        sha256=result.sha256,
        bundle_sha256=result.bundle_sha256,
        size_bytes=result.size_bytes,
        metadata=result.metadata,
        downloads=result.downloads,
        bundle_base64=None if result.bundle is None else base64.b64encode(result.bundle).decode("ascii"),
        url=result.url,
        expires_in_seconds=result.expires_in_seconds,
    )


def market_fork(call: Call) -> s.ForkInfo:
    new_name = call.body.new_name if call.body is not None else None
    record = marketplace.fork(_listing_id(call), new_name, tenant=call.tenant, backend=call.services.records)
    assert record.forked_from is not None
    return s.ForkInfo(
        model=record.name,
        version=record.version,
        template=record.template,
        algorithm=record.algorithm,
        created_at=record.created_at,
        forked_from=s.ForkOriginInfo.model_validate(record.forked_from.to_doc()),
    )


def market_rate(call: Call) -> s.RatingInfo:
    body: s.RatingRequest = call.body
    listing = marketplace.rate(_listing_id(call), body.stars, tenant=call.tenant, backend=call.services.records)
    return s.RatingInfo(
        listing_id=listing.listing_id,
        stars=body.stars,
        rating_avg=listing.rating_avg,
        rating_count=listing.rating_count,
    )


def market_unpublish(call: Call) -> s.UnpublishedResponse:
    listing_id = _listing_id(call)
    marketplace.unpublish(listing_id, tenant=call.tenant, backend=call.services.records)
    return s.UnpublishedResponse(unpublished=listing_id)
