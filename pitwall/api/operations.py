"""The API's one operation table: every route's method, path, function, request and response
models, operation id, whether it needs an API key, and its documentation.

The Chalice app (:mod:`pitwall.api.app`) routes exactly these operations, the OpenAPI document
(:func:`openapi_document`, rendered by :mod:`pitwall.api.openapi`) describes exactly these, and
tests check both. An operation's function (in :mod:`pitwall.api.routes`, or
:mod:`pitwall.api.catalog` for the read-only catalogue) has the operation id's name; the
marketplace operations are ``market_<verb>`` with the verbs of ``pitwall market <verb>`` and
``pw.marketplace.<verb>``.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from pitwall.api import catalog as c
from pitwall.api import live as live_routes
from pitwall.api import routes as r
from pitwall.api import schemas as s
from pitwall.api.http import API_PREFIX, API_VERSION, Call, Operation, QueryParam, rows_expense, simulations_expense
from pitwall.marketplace import rules as market_rules
from pitwall.marketplace.verify import VERIFY_STANDARD
from pitwall.vocabulary import JOB_STATUSES

TITLE = "Pitwall prediction API"
DESCRIPTION = (
    "Predict with deployed Formula 1 models, manage models, training jobs and experiments, and share "
    "models on the marketplace. Every operation except health and this document needs an `x-api-key` "
    'header. Errors are always `{"error": {"code", "message", "field"}}`.'
)


def openapi(call: Call) -> dict[str, Any]:
    """``GET /api/v1/openapi.json``: :func:`openapi_document`."""
    return openapi_document()


P = API_PREFIX
M = f"{API_PREFIX}/marketplace"
MARKET = ("marketplace",)
_LISTING_ERRORS = (401, 404, 429)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "health",
        "GET",
        f"{P}/health",
        "Liveness check",
        r.health,
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
        openapi,
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
        r.predict,
        s.PredictResponse,
        request=(s.RacePredictRequest, s.InstancesPredictRequest),
        errors=(400, 401, 404, 409, 413, 422, 429),
        tags=("predictions",),
        expense=rows_expense,
        description="Send a race (features looked up server-side, with optional grid/weather overrides) "
        "or explicit feature rows. Ranking models answer ranked drivers with probabilities, "
        "regressions a value, classifiers class probabilities.",
    ),
    Operation(
        "predict_championship",
        "POST",
        f"{P}/predict/{{model}}/championship",
        "Monte Carlo championship forecast",
        r.predict_championship,
        s.ChampionshipResponse,
        request=s.ChampionshipRequest,
        errors=(400, 401, 404, 409, 413, 422, 429, 503),
        tags=("predictions",),
        expense=simulations_expense,
    ),
    Operation("list_models", "GET", f"{P}/models", "List models", r.list_models, s.ModelList, tags=("models",)),
    Operation(
        "describe_model",
        "GET",
        f"{P}/models/{{model}}",
        "Describe a model: metrics, features, data window, versions",
        r.describe_model,
        s.ModelDetail,
        tags=("models",),
    ),
    Operation(
        "delete_model",
        "DELETE",
        f"{P}/models/{{model}}",
        "Delete every version of a model (undeploy first)",
        r.delete_model,
        s.DeletedResponse,
        errors=(401, 404, 409, 429),
        tags=("models",),
    ),
    Operation(
        "deploy_model",
        "POST",
        f"{P}/models/{{model}}/deploy",
        "Deploy a model version (swaps versions without downtime)",
        r.deploy_model,
        s.DeploymentInfo,
        request=s.DeployRequest,
        body_optional=True,
        errors=(400, 401, 404, 409, 413, 422, 429, 502, 503),
        tags=("models",),
    ),
    Operation(
        "model_monitoring",
        "GET",
        f"{P}/models/{{model}}/monitoring",
        "Monitoring: drift report, live verified record (reconstructed races apart), alerts",
        r.model_monitoring,
        s.MonitoringView,
        errors=(401, 404, 429),
        tags=("models",),
    ),
    Operation(
        "undeploy_model",
        "POST",
        f"{P}/models/{{model}}/undeploy",
        "Stop serving a model",
        r.undeploy_model,
        s.DeploymentInfo,
        errors=(401, 404, 409, 429, 502, 503),
        tags=("models",),
    ),
    Operation(
        "start_job",
        "POST",
        f"{P}/jobs",
        "Start a training job from a template",
        r.start_job,
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
        r.list_jobs,
        s.JobList,
        query=(QueryParam("status", "only jobs in this status", JOB_STATUSES),),
        tags=("jobs",),
    ),
    Operation("job_status", "GET", f"{P}/jobs/{{job_id}}", "A job's status", r.job_status, s.JobInfo, tags=("jobs",)),
    Operation(
        "cancel_job",
        "POST",
        f"{P}/jobs/{{job_id}}/cancel",
        "Cancel a queued or running job",
        r.cancel_job,
        s.JobInfo,
        errors=(401, 404, 409, 429),
        tags=("jobs",),
    ),
    Operation(
        "list_experiments",
        "GET",
        f"{P}/experiments",
        "List experiments",
        r.list_experiments,
        s.ExperimentList,
        tags=("experiments",),
    ),
    Operation(
        "compare_experiment",
        "GET",
        f"{P}/experiments/{{experiment}}",
        "Compare the runs (model versions) of an experiment",
        r.compare_experiment,
        s.ExperimentComparison,
        query=(QueryParam("metric", "sort by this metric, best first"),),
        tags=("experiments",),
    ),
    Operation(
        "market_list",
        "GET",
        f"{M}/listings",
        "Search marketplace listings",
        r.market_list,
        s.ListingPage,
        query=(
            QueryParam("template", "only listings of this template"),
            QueryParam("text", "case-insensitive text in the title or description"),
            QueryParam("author", "only listings of this author tenant"),
            QueryParam("sort", "order (default recent)", market_rules.SORTS),
            QueryParam("limit", f"page size, 1-{market_rules.MAX_PAGE_SIZE} (default 20)"),
            QueryParam("next_token", "the next_token of the previous page"),
        ),
        errors=(400, 401, 429),
        tags=MARKET,
    ),
    Operation(
        "market_publish",
        "POST",
        f"{M}/listings",
        "Publish one of your models",
        r.market_publish,
        s.ListingInfo,
        request=s.PublishRequest,
        status=202,
        errors=(400, 401, 404, 409, 413, 422, 429, 503),
        tags=MARKET,
        description="Answers 202 with the listing in status `verifying`: a verification job on the model "
        "image checks the artifact (safe formats, checksums) and runs Pitwall's standard walk-forward "
        f"backtest ({VERIFY_STANDARD}); the listing then becomes `listed` with its verified metrics, or "
        "`rejected` with the reason (code bad_artifact or verification_failed). Poll "
        "GET /marketplace/listings/{listing_id} as its author. 409 when that model version is already "
        "listed or being verified; 422 fork_not_original for a fork (it keeps its lineage); 503 when "
        "verification is not configured in this deployment.",
    ),
    Operation(
        "market_top",
        "GET",
        f"{M}/top",
        "Top models this week",
        r.market_top,
        s.TopListings,
        query=(QueryParam("limit", f"how many, 1-{market_rules.MAX_PAGE_SIZE} (default 10)"),),
        errors=(400, 401, 429),
        tags=MARKET,
    ),
    Operation(
        "market_show",
        "GET",
        f"{M}/listings/{{listing_id}}",
        "A listing's model card",
        r.market_show,
        s.ModelCardInfo,
        errors=_LISTING_ERRORS,
        tags=MARKET,
    ),
    Operation(
        "market_unpublish",
        "DELETE",
        f"{M}/listings/{{listing_id}}",
        "Unpublish your listing (existing forks keep working)",
        r.market_unpublish,
        s.UnpublishedResponse,
        errors=(401, 403, 404, 429),
        tags=MARKET,
    ),
    Operation(
        "market_download",
        "POST",
        f"{M}/listings/{{listing_id}}/download",
        "Download a listed model (counts against your tier's daily downloads)",
        r.market_download,
        s.DownloadInfo,
        errors=(401, 404, 422, 429, 503),
        tags=MARKET,
        description="The artifact is verified before it is served; one whose files no longer match "
        "their checksums is refused with 422 bad_artifact (and not counted). In the cloud the answer is a "
        "presigned S3 URL to the bundle the verification job checked. A tenant's downloads of a listing "
        "count once per UTC day (its allowance and the listing's counters); the author's never count.",
    ),
    Operation(
        "market_fork",
        "POST",
        f"{M}/listings/{{listing_id}}/fork",
        "Copy a listed model into your models (counts as a download)",
        r.market_fork,
        s.ForkInfo,
        request=s.ForkRequest,
        body_optional=True,
        status=201,
        errors=(400, 401, 404, 409, 413, 422, 429, 503),
        tags=MARKET,
    ),
    Operation(
        "market_rate",
        "PUT",
        f"{M}/listings/{{listing_id}}/rating",
        "Rate a listing 1-5 (one rating per tenant; rating again replaces it)",
        r.market_rate,
        s.RatingInfo,
        request=s.RatingRequest,
        errors=(400, 401, 403, 404, 413, 422, 429),
        tags=MARKET,
    ),
    Operation(
        "live_snapshot",
        "GET",
        f"{P}/live/{{model}}",
        "The latest live snapshot of a live race model",
        live_routes.live_snapshot,
        s.LiveSnapshot,
        query=(QueryParam("since", "also answer the session's laps after this lap (`updates`), for polling"),),
        errors=(400, 401, 404, 422, 429),
        tags=("live",),
        example=live_routes.EXAMPLE_SNAPSHOT,
        description="The last lap published for the model's current (or most recent) session: per driver "
        "the inputs known at the end of that lap (position, gaps, tyres, stops) and the model's P(win), "
        "P(podium) and expected position. Only laps up to that lap feed it (`known_inputs`). Poll it "
        "(every few seconds during a race) with `?since=<last lap seen>` to receive missed laps in "
        "`updates`. 404 `no_live_updates`: a live model with nothing published yet; 422 "
        "`no_live_support`: a registered model that is not a live race model.",
    ),
    Operation(
        "live_events",
        "GET",
        f"{P}/live/{{model}}/events",
        "Live updates as Server-Sent Events (pitwall serve); the snapshot in the cloud",
        live_routes.live_events,
        s.LiveSnapshot,
        query=(QueryParam("since", "resume after this lap (as Last-Event-ID does)"),),
        errors=(400, 401, 404, 422, 429),
        tags=("live",),
        example=live_routes.EXAMPLE_SNAPSHOT,
        event_stream=True,
        description="Under `pitwall serve`, with `Accept: text/event-stream`: one `event: lap` per published "
        "lap (`id: <session>:<lap>`, `data:` the lap's snapshot as one JSON line), resumable with "
        "`Last-Event-ID`, and `event: end` after the session's last lap. API Gateway REST cannot stream: "
        "in the cloud (and without that Accept header) this answers the snapshot of `GET /live/{model}`; "
        "clients poll it with `?since=<lap>`.",
    ),
    # --- the read-only catalogue (pitwall.api.catalog)
    Operation(
        "list_templates",
        "GET",
        f"{P}/templates",
        "The model templates (training wizard cards), algorithms and tuning methods",
        c.list_templates,
        c.TemplateList,
        errors=(401, 429),
        tags=("catalog",),
    ),
    Operation(
        "template_notebook",
        "GET",
        f"{P}/templates/{{template}}/notebook",
        "A starter Jupyter notebook for a template",
        c.template_notebook,
        c.NotebookResponse,
        errors=(401, 404, 429),
        tags=("catalog",),
    ),
    Operation(
        "feature_catalog",
        "GET",
        f"{P}/features",
        "Every built-in feature by group, with its definition and offline availability",
        c.feature_catalog,
        c.FeatureCatalog,
        errors=(401, 429),
        tags=("catalog",),
    ),
    Operation(
        "data_status",
        "GET",
        f"{P}/data/status",
        "What data is stored: seasons, races, rows per dataset, last ingest",
        c.data_status,
        c.DataStatus,
        errors=(401, 429),
        tags=("data",),
    ),
    Operation(
        "list_circuits",
        "GET",
        f"{P}/data/circuits",
        "Circuits with stored races",
        c.list_circuits,
        c.CircuitList,
        errors=(401, 429),
        tags=("data",),
    ),
    Operation(
        "list_races",
        "GET",
        f"{P}/data/races",
        "Stored races (optionally of one season)",
        c.list_races,
        c.RaceList,
        query=(QueryParam("season", "only races of this season"),),
        errors=(400, 401, 429),
        tags=("data",),
    ),
    Operation(
        "race_result",
        "GET",
        f"{P}/data/races/{{race}}",
        "A stored race's real result",
        c.race_result,
        c.RaceResult,
        errors=(401, 404, 429),
        tags=("data",),
    ),
    Operation(
        "list_entrants",
        "GET",
        f"{P}/data/entrants",
        "Drivers and constructors with stored results",
        c.list_entrants,
        c.EntrantList,
        query=(QueryParam("since", "only entrants with results since this season"),),
        errors=(400, 401, 429),
        tags=("data",),
    ),
    Operation(
        "usage",
        "GET",
        f"{P}/usage",
        "Your tier and today's usage (jobs left today, deployed models, downloads, requests)",
        c.usage,
        c.UsageResponse,
        errors=(401, 429),
        tags=("account",),
    ),
    Operation(
        "model_report",
        "GET",
        f"{P}/models/{{model}}/report",
        "Feature importance and per-race scores of a model beside its naive baseline",
        c.model_report,
        c.ModelReport,
        query=(QueryParam("season", "score this season (default: the report stored at training time)"),),
        errors=(400, 401, 404, 422, 429, 503),
        tags=("models",),
        description="The report stored with the model's artifact at training time: the first stored "
        "season after the training window, else the window's last season as the training run scored it "
        "before refitting (`holdout: true`, out of sample). `?season=` scores another season on request (in "
        "the window: in sample, flagged `out_of_sample: false`): 503 where the deployment "
        "has no ML packages (the lean API Lambda answers the stored report only).",
    ),
)

OPERATIONS_BY_ID: dict[str, Operation] = {op.operation_id: op for op in OPERATIONS}


def operation(operation_id: str) -> Operation:
    return OPERATIONS_BY_ID[operation_id]


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    from pitwall.api.openapi import render  # JSON-schema generation: only when the document is asked for

    return render(OPERATIONS, title=TITLE, version=API_VERSION, description=DESCRIPTION)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of :data:`OPERATIONS` (a fresh copy each call)."""
    return copy.deepcopy(_document())
