"""Read-only catalogue operations of the public API, for Pitwall Studio (the web UI) and any client:
the templates (and a starter notebook for each), the feature catalogue, what data is stored
(seasons, races, circuits, entrants, a race's real result), the caller's remaining quota and a
model's report (feature importance, per-race scores beside the naive baseline).

Plain functions over a :class:`~pitwall.api.http.Call` with their pydantic response models; their
rows are in the one operation table (:data:`pitwall.api.operations.OPERATIONS`). Every answer is
the same in the lean cloud Lambda (boto3 + Pitwall's pure modules) as under ``pitwall serve``:

- templates, notebooks and features come from :mod:`pitwall.workflow.template_facts`, generated from
  the template and feature spec tables (a test fails when it drifts);
- data status, circuits, races, results and entrants come from the data catalogue read-model
  (:mod:`pitwall.data.catalog`: JSON documents in the lake, written by every ingest run);
- a model report is the ``report.json`` stored in the model's artifact at training time
  (:mod:`pitwall.model_report`); only a report for another season is computed on request, where
  the ML packages are installed (503 elsewhere).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from pitwall.api.http import Call
from pitwall.api.schemas import Response
from pitwall.data.catalog import CatalogReader
from pitwall.data.catalog import reader as catalog_reader
from pitwall.errors import NotFound, ValidationFailed
from pitwall.model_report import (
    REPORT_FIELDS,
    ArtifactNotFound,
    ReportIntegrityError,
    compute_report,
    read_report,
)
from pitwall.serving.errors import ServingUnavailable
from pitwall.workflow.template_facts import (
    ALGORITHM_HYPERPARAMETERS,
    ALGORITHM_NAMES,
    AUTO_ALGORITHM,
    CONDITIONS,
    FEATURE_FACTS,
    FEATURE_GROUPS,
    TEMPLATE_FACTS,
    TemplateFacts,
)

# --------------------------------------------------------------------------- schemas


class BaselineInfo(Response):
    name: str
    doc: str
    kind: str


class TemplateInfo(Response):
    name: str
    title: str
    task: Literal["ranking", "regression", "classification"]
    description: str = Field(description="one line: what the template predicts, from its target definition")
    target: str
    moment: str = Field(description="when the prediction is made (pre_race, pre_qualifying, in_race...)")
    moment_doc: str
    features: list[str] = Field(description="the template's default features")
    scenario_inputs: list[str] = Field(description="what-if inputs (never default features)")
    default_algorithm: str
    primary_metric: str
    top_k: int | None
    first_season: int
    baselines: list[BaselineInfo]
    card_note: str


class HyperparameterInfo(Response):
    name: str
    kind: Literal["int", "float", "choice"]
    default: Any
    low: float | None = Field(None, description="int / float: the lowest value a job may set")
    high: float | None = Field(None, description="int / float: the highest value a job may set")
    choices: list[Any] = Field(description="choice: the values a job may set")


class TemplateList(Response):
    templates: list[TemplateInfo]
    algorithms: list[str] = Field(description="accepted `algorithm` values of a job ('auto': AutoML, may ensemble)")
    tuning_methods: list[str]
    hyperparameters: dict[str, list[HyperparameterInfo]] = Field(
        description="per algorithm, the `hyperparameters` a job may set (its tuning search space, widened)"
    )


class NotebookResponse(Response):
    template: str
    filename: str
    notebook: dict[str, Any] = Field(description="a Jupyter notebook (nbformat 4) using the Pitwall SDK")


class FeatureInfo(Response):
    name: str
    group: str
    definition: str
    source: str = Field(description="canonical tables it reads; 'none' when no offline source has the inputs")
    dtype: str
    moments: list[str]
    known_at: str | None = Field(None, description="the moment from which the value is known, when declared")
    available: bool = Field(description="false: always null offline (no source of ours has the inputs)")
    unavailable_reason: str | None = None


class FeatureGroup(Response):
    name: str
    features: list[FeatureInfo]


class FeatureCatalog(Response):
    groups: list[FeatureGroup]
    conditions: list[str] = Field(description="weather scenarios a prediction accepts (`weather`)")


class CircuitInfo(Response):
    circuit_id: str
    name: str
    country_id: str | None
    races: int = Field(description="stored races at this circuit")
    first_season: int
    last_season: int


class CircuitList(Response):
    circuits: list[CircuitInfo]


class StoredRace(Response):
    race_id: str
    season: int
    round: int
    grand_prix_id: str | None
    name: str | None
    date: str | None
    circuit_id: str | None
    ref: str = Field(description="'<grand_prix_id>_<season>' when unambiguous, else the race_id")
    has_results: bool


class RaceList(Response):
    races: list[StoredRace]


class Entrant(Response):
    id: str
    name: str
    last_season: int


class EntrantList(Response):
    drivers: list[Entrant]
    constructors: list[Entrant]


class ResultRow(Response):
    position: int | None
    position_text: str | None
    driver_id: str
    driver_name: str | None
    constructor_id: str | None
    grid_position: int | None
    points: float | None


class RaceResult(Response):
    race: StoredRace
    results: list[ResultRow] = Field(description="classified order (unclassified at the end)")


class DatasetStatus(Response):
    dataset: str
    seasons: list[int]
    races: int | None
    rows: int


class DataStatus(Response):
    datasets: list[DatasetStatus]
    seasons: list[int] = Field(description="seasons with race results")
    races: int = Field(description="stored races with results")
    last_ingest: str | None = Field(description="UTC time of the latest write to the store, when the store knows it")
    attribution: str


class UsageResponse(Response):
    tenant_id: str
    tier: str
    day: str = Field(description="the UTC day the daily counters are for")
    training_jobs_today: int
    training_jobs_per_day: int | None = Field(description="null: unlimited")
    training_jobs_left: int | None = Field(description="null: unlimited")
    deployed_models: int
    max_deployed_models: int | None
    marketplace_downloads_today: int
    marketplace_downloads_per_day: int | None
    requests_today: int
    requests_per_day: int


class RaceScore(Response):
    race_id: str
    season: int
    round: int
    name: str | None
    model: float | None
    baseline: float | None


class CalibrationBin(Response):
    low: float
    high: float
    predicted: float = Field(description="mean predicted probability in the bin")
    observed: float = Field(description="observed frequency of the event in the bin")
    count: int


class ModelReport(Response):
    model: str
    version: int
    template: str
    metric: str = Field(description="the template's primary metric, scored per race")
    higher_is_better: bool
    season: int = Field(description="the season scored")
    out_of_sample: bool = Field(description="true when the season is after every race its scores' model was trained on")
    holdout: bool = Field(
        False,
        description="true when the season closes the training window and is scored by the training run's "
        "evaluation model (the same recipe fitted on the seasons before it; the registered model was refitted "
        "with it): the out-of-sample test metrics of the run, per race",
    )
    importance: dict[str, float] = Field(description="feature -> importance, descending")
    metrics: dict[str, float] = Field(description="the model's metrics on the season")
    baseline_metrics: dict[str, float] = Field(description="the naive baseline's metrics on the same rows")
    races: list[RaceScore]
    confusion_labels: list[str] | None = None
    confusion_matrix: list[list[int]] | None = Field(None, description="rows = actual, columns = predicted")
    calibration: list[CalibrationBin] | None = Field(
        None, description="reliability: predicted probability vs observed frequency (top-k or positive class)"
    )


# --------------------------------------------------------------------------- helpers

F1DB_ATTRIBUTION = "Data from F1DB (f1db.com), CC BY 4.0"
TUNING_METHODS = ("grid", "random", "bayes")


def _needs(what: str) -> ServingUnavailable:
    return ServingUnavailable(f"{what} needs the data and ML packages (pitwall[ml]) in this deployment")


def _template(name: str) -> TemplateFacts:
    if name not in TEMPLATE_FACTS:
        raise NotFound(f"template {name!r} not found; known: {', '.join(TEMPLATE_FACTS)}", field="template")
    return TEMPLATE_FACTS[name]


def _season_query(call: Call, name: str = "season") -> int | None:
    raw = call.query.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not 1950 <= int(raw) <= 2100:
        raise ValidationFailed(f"{name} must be a year between 1950 and 2100; got {raw!r}", field=name)
    return int(raw)


def _catalog() -> CatalogReader:
    return catalog_reader()


# --------------------------------------------------------------------------- templates and features


PURPOSES = {
    "race_winner": "Predict the race winner",
    "podium": "Predict the top 3",
    "points": "Predict the top 10 (points finishers)",
    "qualifying": "Predict the qualifying order",
    "fastest_lap": "Predict who sets the fastest lap",
    "lap_time": "Predict lap times",
    "pit_stop_duration": "Predict pit-stop times",
    "gap": "Predict gaps to the leader",
    "tyre_degradation": "Predict the tyre degradation curve",
    "pit_window": "Classify the pit window: early / mid / late",
    "safety_car": "Probability of a safety car",
    "dnf": "Retirement (DNF) risk",
    "rain_impact": "Weather effect: low / medium / high",
}
"""One line per template for cards (the product's template table); the target text follows."""


def _description(spec: TemplateFacts) -> str:
    target = spec.target_doc.split(";")[0].strip()
    purpose = PURPOSES.get(spec.name, spec.title)
    return f"{purpose} (target: {target})" if target else purpose


def list_templates(call: Call) -> TemplateList:
    """The 13 templates, as cards for a training wizard."""
    return TemplateList(
        templates=[
            TemplateInfo(
                name=t.name,
                title=t.title,
                task=t.task,  # type: ignore[arg-type]
                description=_description(t),
                target=t.target,
                moment=t.moment,
                moment_doc=t.moment_doc,
                features=list(t.features),
                scenario_inputs=list(t.scenario_inputs),
                default_algorithm=t.default_algorithm,
                primary_metric=t.primary_metric,
                top_k=t.top_k,
                first_season=t.first_season,
                baselines=[BaselineInfo(name=b.name, doc=b.doc, kind=b.kind) for b in t.baselines],
                card_note=t.card_note,
            )
            for t in TEMPLATE_FACTS.values()
        ],
        algorithms=[*ALGORITHM_NAMES, AUTO_ALGORITHM],
        tuning_methods=list(TUNING_METHODS),
        hyperparameters={
            name: [
                HyperparameterInfo(
                    name=h.name, kind=h.kind, default=h.default, low=h.low, high=h.high, choices=list(h.choices)
                )  # type: ignore[arg-type]
                for h in entries
            ]
            for name, entries in ALGORITHM_HYPERPARAMETERS.items()
        },
    )


def _cell(kind: str, source: str) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": source.strip("\n").splitlines(keepends=True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def notebook_for(spec: TemplateFacts) -> dict[str, Any]:
    """A starter notebook for one template (the product's notebook template, made concrete)."""
    features = ", ".join(repr(f) for f in spec.features)
    cells = [
        _cell("markdown", f"# {spec.title} ({spec.name})\n\n{_description(spec)}.\n\n{F1DB_ATTRIBUTION}."),
        _cell("code", "import pitwall as pw\n\nfs = pw.FeatureStore()"),
        _cell(
            "code",
            f"model = pw.train({spec.name!r}, seasons=range(2019, 2024), algorithm={spec.default_algorithm!r})\n"
            "model.metrics  # holdout metrics beside the naive baseline",
        ),
        _cell("markdown", f"Default features of the template:\n\n`{features}`"),
        _cell("code", f"pw.backtest({spec.name!r}, season=2024, train_until=2023).metrics"),
        _cell("code", f"model.deploy(name='{spec.name}_v1')"),
    ]
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": cells,
    }


def template_notebook(call: Call) -> NotebookResponse:
    spec = _template(call.params.get("template", ""))
    return NotebookResponse(template=spec.name, filename=f"{spec.name}.ipynb", notebook=notebook_for(spec))


def feature_catalog(call: Call) -> FeatureCatalog:
    """Every built-in feature by group, with its definition and whether an offline source has it."""
    groups = []
    for group in FEATURE_GROUPS:
        infos = []
        for spec in FEATURE_FACTS:
            if spec.group != group:
                continue
            available = spec.source != "none"
            infos.append(
                FeatureInfo(
                    name=spec.name,
                    group=spec.group,
                    definition=spec.definition,
                    source=spec.source,
                    dtype=spec.dtype,
                    moments=list(spec.moments),
                    known_at=spec.known_at,
                    available=available,
                    unavailable_reason=None if available else spec.definition,
                )
            )
        groups.append(FeatureGroup(name=group, features=infos))
    return FeatureCatalog(groups=groups, conditions=list(CONDITIONS))


# --------------------------------------------------------------------------- stored data


def list_races(call: Call) -> RaceList:
    season = _season_query(call)
    races = [StoredRace.model_validate(r) for r in _catalog().races()]
    return RaceList(races=[r for r in races if season is None or r.season == season])


def list_circuits(call: Call) -> CircuitList:
    """Circuits with stored races (for a circuit filter)."""
    return CircuitList(circuits=[CircuitInfo.model_validate(c) for c in _catalog().circuits()])


def list_entrants(call: Call) -> EntrantList:
    """Drivers and constructors with stored results (optionally since ``?since=`` season)."""
    since = _season_query(call, "since")
    entrants = _catalog().entrants()

    def pick(rows: list[dict[str, Any]]) -> list[Entrant]:
        return [Entrant.model_validate(e) for e in rows if since is None or int(e["last_season"]) >= since]

    return EntrantList(drivers=pick(entrants["drivers"]), constructors=pick(entrants["constructors"]))


def race_result(call: Call) -> RaceResult:
    """The real result of a stored race (``monaco_2024`` or ``2024-08``)."""
    from pitwall.refs import RefError, resolve_race_ref

    catalog = _catalog()
    races = catalog.races()
    try:
        found = resolve_race_ref(call.params.get("race", ""), races, field="race")
    except RefError as exc:
        raise NotFound(str(exc), field="race") from None
    race = StoredRace.model_validate(next(r for r in races if r["race_id"] == found["race_id"]))
    rows = catalog.results(race.season, race.race_id)
    return RaceResult(race=race, results=[ResultRow.model_validate(r) for r in rows])


def data_status(call: Call) -> DataStatus:
    """What is stored: per dataset seasons, races and rows; the latest write."""
    status = _catalog().status()
    return DataStatus(
        datasets=[DatasetStatus.model_validate(d) for d in status["datasets"]],
        seasons=list(status["seasons"]),
        races=int(status["races"]),
        last_ingest=status.get("last_ingest"),
        attribution=F1DB_ATTRIBUTION,
    )


# --------------------------------------------------------------------------- quota


def usage(call: Call) -> UsageResponse:
    """The caller's tier and today's counters: e.g. '3 of 5 jobs left today'."""
    from pitwall.platform import quotas

    u = quotas.usage(call.tenant, backend=call.services.records)
    left = None if u.training_jobs_per_day is None else max(0, u.training_jobs_per_day - u.training_jobs_today)
    return UsageResponse(tenant_id=call.tenant.tenant_id, training_jobs_left=left, **vars(u))


# --------------------------------------------------------------------------- model report


def _live_report(record: Any, season: int | None) -> dict[str, Any]:
    """The report of ``record`` computed now (another season than the stored one, or an artifact
    stored before reports were): needs the ML packages and a local artifact."""
    try:
        from pitwall.data.store import get_store
        from pitwall.ml.artifacts import load_model
        from pitwall.templates import TEMPLATES
        from pitwall.training import _labelled
    except ImportError:
        raise _needs("a model report for another season than the stored one") from None
    if str(record.artifact_uri).startswith("s3://"):
        raise ServingUnavailable("model reports for another season read local artifacts; this one is in S3")
    spec = TEMPLATES.get(record.template)
    if spec is None:
        raise NotFound(f"model {record.name!r} is not a template model: it has no report", field="model")
    trained = [int(s) for s in record.data_window.get("seasons", [])]
    return compute_report(spec, load_model(record.artifact_uri), get_store(), trained, _labelled, season)


def model_report(call: Call) -> ModelReport:
    """Importance and per-race scores of a model (primary metric) beside its naive baseline.

    The report stored with the artifact at training time (the season after the model's training
    window when it was stored then; else its last training season as the training run scored it,
    out of sample: ``holdout``); with ``?season=`` another season, computed on request (a season
    in the window is then in sample, flagged).
    """
    from pitwall.platform import models
    from pitwall.platform.validation import identifier

    raw = call.params.get("model", "")
    try:
        name = identifier(raw, "model")
    except ValidationFailed:
        raise NotFound(f"model {raw!r} not found", field="model") from None
    record = models.get_model(call.tenant.tenant_id, name, backend=call.services.records)
    season = _season_query(call)
    try:
        stored = read_report(record.artifact_uri)
    except ArtifactNotFound:
        raise NotFound(f"model {name!r} version {record.version}: its artifact is missing", field="model") from None
    except ReportIntegrityError as exc:
        raise ServingUnavailable(f"the stored report of model {name!r} cannot be used: {exc}") from None
    if stored is not None and (season is None or season == stored["season"]):
        report = stored
    else:
        report = _live_report(record, season)
    return ModelReport(
        model=record.name,
        version=record.version,
        template=record.template,
        **{k: report[k] for k in REPORT_FIELDS},
        holdout=bool(report.get("holdout", False)),
    )
