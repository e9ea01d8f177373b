"""Request and response bodies of the prediction API (v1), as pydantic models.

These models are the single description of the API's JSON: the route logic validates
requests with them, serialises responses through them, and :mod:`pitwall.api.openapi`
builds the OpenAPI 3 document from their JSON schemas. Requests are strict (no type
coercion: ``"3"`` is not an integer, ``true`` is not a number) and reject unknown fields.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pitwall.marketplace.rules import DESCRIPTION_MAX_CHARS, TITLE_MAX_CHARS
from pitwall.refs import MAX_SEASON, MIN_SEASON, RACE_REF_PATTERN
from pitwall.vocabulary import JobKind, JobStatus, WeatherCondition, WeekendMoment

IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""Model names, driver and constructor ids, template names (same rule as the platform's)."""

RACE_PATTERN = RACE_REF_PATTERN
"""A race, as :func:`pitwall.refs.parse_race_ref` reads it: ``monaco_2024``, ``2024-08`` or ``next``."""

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
DriverId = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
RaceRef = Annotated[str, StringConstraints(pattern=RACE_PATTERN)]
Season = Annotated[int, Field(ge=MIN_SEASON, le=MAX_SEASON)]
GridSlot = Annotated[int, Field(ge=1, le=40, description="starting position (1 = pole)")]
FeatureValue = float | bool | None

MAX_INSTANCES = 1000
MAX_GRID_ENTRIES = 40
MAX_SIMULATIONS = 100_000

Weather = WeatherCondition
"""Request ``weather`` values: the vocabulary of the ``weather_condition`` feature (``pitwall.vocabulary``)."""


class Request(BaseModel):
    """Base of request bodies: strict types, unknown fields rejected, no NaN/Infinity."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class Response(BaseModel):
    """Base of response bodies."""

    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- errors


class ErrorDetail(Response):
    field: str | None = Field(None, description="the offending input field, dotted path")
    message: str


class ErrorInfo(Response):
    code: str = Field(description="snake_case code clients can switch on, e.g. 'not_found', 'quota_exceeded'")
    message: str = Field(description="what is wrong, for humans")
    field: str | None = Field(None, description="the offending input field (dotted path), when there is one")
    retry_after_seconds: int | None = Field(None, description="429 only: seconds until a retry can succeed")
    details: list[ErrorDetail] | None = Field(None, description="every validation problem, when there are several")


class ErrorResponse(Response):
    """Every 4xx/5xx answer."""

    error: ErrorInfo


# --------------------------------------------------------------------------- health


class HealthResponse(Response):
    status: Literal["ok"]
    version: str = Field(description="API version")
    backend: Literal["local", "aws"]


# --------------------------------------------------------------------------- predictions


class RacePredictRequest(Request):
    """Predict for a race: features are looked up server-side as of the model's moment."""

    race: RaceRef = Field(description="'2024-08' (season-round), 'monaco_2024' (grand prix id + season) or 'next'")
    grid_positions: dict[DriverId, GridSlot] | None = Field(
        None,
        max_length=MAX_GRID_ENTRIES,
        description="override starting positions: driver id -> grid slot",
    )
    weather: Weather | None = Field(None, description="override the race's weather condition")
    moment: WeekendMoment | None = Field(
        None,
        description="predict as of this moment of the race weekend (default: a race already run at the "
        "template's own moment; a race still to come at the latest moment the stored data reaches, e.g. "
        "pre_qualifying before its grid is known); the answer's `notes` say what was known",
    )


class InstancesPredictRequest(Request):
    """Predict for explicit feature rows (as SageMaker and MLflow serving do).

    Each instance maps the model's feature names to numbers (null = missing). Optional key
    fields: ``driver_id`` (names the row in the answer) and ``race_id`` (groups rows of one
    race for ranking models; all rows form one race when absent).
    """

    instances: list[dict[str, FeatureValue | str]] = Field(min_length=1, max_length=MAX_INSTANCES)


class RaceInfo(Response):
    race_id: str = Field(description="'<season>-<round:02d>'")
    season: int
    round: int
    grand_prix_id: str | None = None
    name: str | None = None
    date: str | None = None
    known_inputs: str | None = Field(
        None,
        description="what was known at the prediction moment: the template's moment and its inputs "
        "(e.g. 'pre_race: after qualifying, grid known; nothing of the race itself')",
    )


class Prediction(Response):
    """One row of the answer. Which fields are set depends on the model kind:

    - ranking: ``rank`` (1 = predicted best), ``score``, ``probability`` (top-k probability)
    - regression: ``value``
    - classification: ``label`` and ``probabilities`` (class -> probability)
    """

    driver_id: str | None = None
    race_id: str | None = None
    rank: int | None = None
    score: float | None = None
    probability: float | None = None
    value: float | None = None
    label: str | None = None
    probabilities: dict[str, float] | None = None


class PredictResponse(Response):
    model: str
    version: int
    template: str
    kind: Literal["ranking", "regression", "classification"]
    top_k: int | None = None
    race: RaceInfo | None = None
    moment: WeekendMoment | None = Field(
        None, description="race answers: the weekend moment the prediction is made at (see `moment` in the request)"
    )
    notes: list[str] = Field(
        default_factory=list,
        description="race answers: what was known and assumed (grid not yet known and an expected grid in its "
        "place, results hidden, in sample when the model trained on the race)",
    )
    unknown_inputs: list[str] = Field(
        default_factory=list, description="the model's inputs not yet known at the moment (null, or standing in)"
    )
    predictions: list[Prediction]


class ChampionshipRequest(Request):
    """Monte Carlo forecast of a season's championships from per-race finishing probabilities."""

    season: Season
    remaining_races: bool = Field(
        True,
        description="true: start from the standings after `after_round` and simulate the rest; "
        "false: simulate every race of the season from zero",
    )
    after_round: int | None = Field(
        None, ge=0, le=30, description="standings as of this round (default: the last round with results)"
    )
    simulations: int = Field(10_000, ge=100, le=MAX_SIMULATIONS)
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="fix the random draws")


class DriverOutlook(Response):
    driver_id: str
    constructor_id: str | None
    current_points: float
    expected_points: float
    title_probability: float


class ConstructorOutlook(Response):
    constructor_id: str
    current_points: float
    expected_points: float
    title_probability: float


class ChampionshipResponse(Response):
    model: str
    version: int
    season: int
    after_round: int
    simulated_rounds: list[int]
    simulations: int
    points_system: str
    drivers: list[DriverOutlook] = Field(description="by title probability, then expected points")
    constructors: list[ConstructorOutlook]


# --------------------------------------------------------------------------- models


class ModelVersionInfo(Response):
    version: int
    algorithm: str
    created_at: str
    metrics: dict[str, float]
    experiment: str | None = None
    job_id: str | None = None


class ModelSummary(Response):
    name: str
    latest_version: int
    deployed_version: int | None
    template: str
    task: str
    algorithm: str
    created_at: str
    metrics: dict[str, float]


class ModelDetail(Response):
    name: str
    version: int = Field(description="the described version (latest)")
    deployed_version: int | None
    status: Literal["registered", "deploying", "deployed"] = Field(
        description="'deploying' while the SageMaker endpoint is not InService yet"
    )
    template: str
    task: str
    algorithm: str
    target: str
    features: list[str]
    data_window: dict[str, Any]
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    params: dict[str, Any]
    auto_retrain: bool
    experiment: str | None
    created_at: str
    versions: list[ModelVersionInfo]


class ModelList(Response):
    models: list[ModelSummary]


class DeployRequest(Request):
    version: int | None = Field(None, ge=1, description="version to serve (default: latest)")
    capture_percent: float | None = Field(
        None, ge=0, le=100, description="percent of requests captured for monitoring (default: the current rate, 100)"
    )


class DeploymentInfo(Response):
    model: str
    version: int | None = Field(description="the deployed version; null after undeploy")
    backend: Literal["local", "sagemaker"]
    endpoint: str | None = Field(None, description="SageMaker endpoint name (aws backend)")
    status: Literal["deploying", "deployed", "undeployed"] = Field(
        description="'deploying' until the SageMaker endpoint is InService"
    )


class LiveRecordView(Response):
    """A model's race-by-race record: ``live verified`` (predictions captured before the race) or
    ``reconstructed (not live)`` (what it would have predicted from the pre-race features)."""

    label: str
    n_races: int
    metric: str | None = Field(None, description="the per-race metric scored")
    cumulative: float | None = Field(None, description="the metric over every scored race")
    baseline_cumulative: float | None = Field(None, description="the template's naive baseline on the same races")
    races: list[dict[str, Any]] = Field(default_factory=list, description="one score per race, in race order")


class MonitoringView(Response):
    """A deployment's monitoring: settings, latest drift report, live record, alerts."""

    tenant_id: str
    model: str
    generated_at: str | None = Field(None, description="when the monitoring job last ran (null: never)")
    settings: dict[str, Any]
    drift: dict[str, Any] | None = Field(None, description="PSI/KS/missing rate per feature vs the training window")
    live_verified: LiveRecordView
    reconstructed: LiveRecordView
    alerts: list[dict[str, Any]]


class DeletedResponse(Response):
    deleted: str


# --------------------------------------------------------------------------- jobs


class JobScenario(Request):
    """A what-if for the model's predictions (stored with the job; never filters training rows)."""

    weather: Weather | None = None


Name = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]


class JobAutoFeatures(Request):
    """Auto-features (``pitwall.features.auto``), checked by ``pitwall.workflow.request`` (422 naming
    ``auto_features.<key>``); keys left out take the defaults."""

    base: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=20, description="base columns: the template's features or its target"
    )
    lags: list[int] | None = Field(None, max_length=10, description="lags in races (default [1])")
    windows: list[int] | None = Field(None, max_length=20, description="previous-race mean windows (default [3])")
    relative: list[Literal["teammate", "field"]] | None = Field(
        None, max_length=2, description="same-race differences (default both)"
    )


class JobRequest(Request):
    """Start a training job from a model template (checked by ``pitwall.workflow.request.TrainingRequest``)."""

    template: Identifier = Field(description="template name, e.g. 'race_winner'")
    name: Identifier = Field(description="model name to register the result under")
    algorithm: Identifier | None = Field(
        None, description="'xgboost', 'lightgbm', 'random_forest', ... or 'auto'; default: the template's"
    )
    auto_tune: bool = False
    tuning: Literal["bayes", "grid", "random"] = Field("bayes", description="tuning method when auto_tune")
    n_trials: int | None = Field(None, ge=1, le=10_000, description="tuning budget (trials)")
    cv_folds: int | None = Field(None, ge=2, le=20, description="cross-validation folds; default 5")
    seasons: list[Season] | None = Field(
        None, min_length=1, max_length=80, description="training seasons; default: the template's latest ten"
    )
    features: list[Annotated[str, StringConstraints(min_length=1, max_length=128)]] | None = Field(
        None, min_length=1, max_length=200, description="custom feature subset of the template's features"
    )
    feature_groups: list[Name] | None = Field(
        None, min_length=1, max_length=20, description="train on the template's features of these groups"
    )
    circuits: list[Name] | None = Field(None, min_length=1, max_length=200, description="circuit filter")
    drivers: list[Name] | None = Field(None, min_length=1, max_length=200, description="driver filter")
    teams: list[Name] | None = Field(None, min_length=1, max_length=200, description="team filter")
    scenario: JobScenario | None = Field(None, description="conditions, e.g. {'weather': 'wet'}")
    auto_features: JobAutoFeatures | None = Field(
        None, description="generated inputs: lags, previous-race means, team-mate / field differences"
    )
    automl_backend: Literal["optuna", "flaml"] | None = Field(
        None, description="with algorithm 'auto': who searches (default optuna)"
    )
    timeout: float | None = Field(None, gt=0, le=8 * 3600, description="tuning / AutoML time budget in seconds")
    hyperparameters: dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], Any] | None = Field(
        None,
        max_length=50,
        description="the algorithm's parameters, names of its search space (GET /api/v1/templates lists them "
        "per algorithm); fixed during tuning; default: the template's",
    )
    task: Literal["ranking", "classification", "regression"] | None = Field(
        None,
        description="default: the template's; 'classification' on a ranking template with top_k trains a yes/no "
        "model of finishing in the top k",
    )
    experiment: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    idempotency_key: Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,128}$")] | None = None
    max_runtime_seconds: int | None = Field(None, ge=1, le=8 * 3600, description="default: the tier's maximum")
    gpu: bool = Field(False, description="train on a GPU instance (Pro tier only)")


class JobInfo(Response):
    job_id: str
    status: JobStatus
    kind: JobKind
    model_name: str
    template: str
    created_at: str
    updated_at: str
    max_runtime_seconds: int
    params: dict[str, Any]
    experiment: str | None
    error: str | None
    result: dict[str, Any]


class JobList(Response):
    jobs: list[JobInfo]


# --------------------------------------------------------------------------- experiments


class ExperimentSummary(Response):
    name: str
    job_ids: list[str]
    model_names: list[str]
    last_activity: str


class ExperimentList(Response):
    experiments: list[ExperimentSummary]


class ExperimentRun(Response):
    model: str
    version: int
    algorithm: str
    template: str
    created_at: str
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    params: dict[str, Any]
    job_id: str | None


class ExperimentComparison(Response):
    experiment: str
    metric: str | None = Field(description="the metric runs are sorted by (best first)")
    runs: list[ExperimentRun]


# --------------------------------------------------------------------------- marketplace

MetricName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]


class PublishRequest(Request):
    """Publish one of your registered models. Text is stored as plain text (never HTML)."""

    model_name: Identifier = Field(description="your model's name")
    version: int | None = Field(None, ge=1, description="model version to list (default: latest)")
    title: str = Field(min_length=1, max_length=TITLE_MAX_CHARS, description="one line of plain text")
    description: str = Field(min_length=1, max_length=DESCRIPTION_MAX_CHARS, description="plain text, may span lines")
    reported_metrics: dict[MetricName, float] | None = Field(
        None, max_length=100, description="your own claims, shown apart from Pitwall's verified metrics"
    )


class RatingRequest(Request):
    stars: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")


class ForkRequest(Request):
    new_name: Identifier | None = Field(None, description="name of the copy (default: the listed model's name)")


class ListingRejection(Response):
    """Why a listing's verification rejected it (the 422 a synchronous publish would answer)."""

    code: str
    field: str
    message: str


ListingStatus = Literal["verifying", "listed", "rejected"]


class ListingInfo(Response):
    """A listing as everyone sees it (no artifact location)."""

    listing_id: str
    status: ListingStatus = Field(
        description="verifying (its verification job runs; poll GET /marketplace/listings/{listing_id}), "
        "listed (verified, discoverable) or rejected (see rejection)"
    )
    rejection: ListingRejection | None = Field(None, description="why it was rejected")
    author_tenant_id: str
    model_name: str
    model_version: int
    title: str
    description: str
    template: str
    task: str
    algorithm: str
    features: list[str]
    target: str
    data_window: dict[str, Any]
    verified: bool = Field(description="verified_metrics come from Pitwall's own backtest")
    verified_metrics: dict[str, float]
    verified_at: str
    reported_metrics: dict[str, float] = Field(description="the author's claims (not verified)")
    baseline_metrics: dict[str, float]
    feature_importance: dict[str, float] | None
    sha256: str = Field(description="sha256 of the artifact's metadata.json")
    created_at: str
    downloads: int
    rating_avg: float | None
    rating_count: int


class ListingPage(Response):
    listings: list[ListingInfo]
    next_token: str | None = Field(description="pass as next_token for the next page; null on the last")


class TopEntry(Response):
    listing: ListingInfo
    downloads_7d: int
    ratings_7d: int


class TopListings(Response):
    listings: list[TopEntry] = Field(description="most downloads + new ratings over the last 7 days first")


class LiveVerifiedCard(Response):
    """The listed version's live verified record (distinct from the backtest-verified metrics)."""

    label: str
    version: int
    n_races: int
    metric: str | None
    mean: float | None = Field(description="mean per-race metric of the model over its live races")
    baseline_mean: float | None = Field(description="the template's naive baseline on the same races")
    races: list[dict[str, Any]]
    note: str


class ModelCardInfo(Response):
    """Everything about a listed model before downloading it, including feature importance."""

    listing_id: str
    title: str
    description: str
    author_tenant_id: str
    model_name: str
    model_version: int
    template: str
    task: str
    algorithm: str
    target: str
    features: list[str]
    data_window: dict[str, Any]
    verified: bool
    verified_metrics: dict[str, float]
    verified_at: str
    reported_metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    feature_importance: dict[str, float] | None
    downloads: int
    rating_avg: float | None
    rating_count: int
    created_at: str
    metrics_note: str
    my_rating: int | None = Field(description="the stars you gave this listing, if any")
    status: ListingStatus = Field("listed", description="only the author sees a verifying or rejected listing")
    rejection: ListingRejection | None = Field(None, description="why it was rejected")
    live_verified: LiveVerifiedCard | None = Field(
        None, description="race-by-race record of this version from predictions captured before each race"
    )


class DownloadInfo(Response):
    """A download. Locally the zip bundle comes inline (``bundle_base64``); in the cloud a
    presigned ``url`` valid for ``expires_in_seconds``. Check the file's sha256 against
    ``bundle_sha256`` and import it with ``pitwall.ml.import_bundle`` (checks every file)."""

    listing_id: str
    model_name: str
    model_version: int
    file_name: str
    sha256: str = Field(description="sha256 of metadata.json inside the bundle")
    bundle_sha256: str = Field(description="sha256 of the zip bundle itself")
    size_bytes: int
    metadata: dict[str, Any] = Field(description="the artifact's metadata.json")
    downloads: int = Field(description="the listing's download count after this one")
    bundle_base64: str | None = None
    url: str | None = None
    expires_in_seconds: int | None = None


class ForkOriginInfo(Response):
    listing_id: str
    tenant_id: str
    model_name: str
    version: int


class ForkInfo(Response):
    """Your copy: a model of your own, deployable and retrainable like any other."""

    model: str
    version: int
    template: str
    algorithm: str
    created_at: str
    forked_from: ForkOriginInfo


class RatingInfo(Response):
    listing_id: str
    stars: int
    rating_avg: float | None
    rating_count: int


class UnpublishedResponse(Response):
    unpublished: str


# --------------------------------------------------------------------------- live race mode


class LiveWeather(Response):
    air_temp_c: float | None = None
    track_temp_c: float | None = None
    humidity_pct: float | None = None
    rainfall: bool | None = None
    wind_speed_ms: float | None = None


class LiveNextLap(Response):
    """A lap-level model's prediction for the driver's next lap (from laps up to this one)."""

    lap: int = Field(description="the lap predicted (this snapshot's lap + 1)")
    lap_time_s: float | None = Field(None, description="predicted lap time of that lap")


class LiveDriver(Response):
    """One driver at the end of the snapshot's lap: the known inputs and the model's outputs."""

    driver_number: int
    driver_code: str | None = None
    team: str | None = None
    driver_id: str | None = None
    position: int = Field(description="classification at the end of the lap (1 = leader)")
    laps_completed: int
    running: bool = Field(description="completed this lap (false: stopped, or a lapped car not yet across)")
    gap_to_leader_s: float | None = None
    interval_s: float | None = None
    laps_down: int = 0
    last_lap_time_s: float | None = None
    compound: str | None = None
    tyre_age_laps: int | None = None
    stops: int = 0
    grid_position: int | None = None
    p_win: float = Field(description="P(win), summing to 1 over the running drivers")
    p_podium: float = Field(description="P(podium), summing to min(3, running)")
    expected_position: float
    next_lap: LiveNextLap | None = None


class LiveSnapshot(Response):
    """The latest lap of a live model's current (or most recent) session.

    ``updates`` holds the session's laps after ``?since=<lap>`` in lap order (empty without
    ``since``): what a polling client missed since the last lap it saw."""

    model: str
    session: str = Field(description="the race id ('2024-08') when known, else 'openf1-<session_key>'")
    source: str = Field(description="'openf1' or 'replay'")
    race_id: str | None = None
    session_key: int | None = None
    lap: int
    total_laps: int
    laps_remaining: int
    finished: bool
    track_status: list[str] = Field(description="neutralisations seen during the lap: yellow, sc, vsc, red")
    weather: LiveWeather | None = None
    updated_at: str = Field(description="when this lap's update was published (ISO 8601, UTC)")
    known_inputs: str = Field(description="what the predictions were made from (laps up to this one only)")
    drivers: list[LiveDriver]
    updates: list[LiveSnapshot] = Field(default_factory=list)
