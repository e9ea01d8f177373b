"""Read-only catalogue operations of the public API, for Pitwall Studio (the web UI) and any client:
the templates (and a starter notebook for each), the feature catalogue, what data is stored
(seasons, races, circuits, entrants, a race's real result), the caller's remaining quota and a
model's report (feature importance, per-race scores beside the naive baseline).

Plain functions over a :class:`~pitwall.api.http.Call` with their pydantic response models,
registered in the operation table like every other operation (:data:`CATALOG_OPERATIONS`).
Everything heavy (pandas, the store, the ML package) is imported inside the functions: a lean
deployment without those packages answers 503 for the data operations instead of failing to
import.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field

from pitwall.api.http import API_PREFIX, Call, Operation, QueryParam
from pitwall.api.schemas import Response
from pitwall.errors import NotFound, ValidationFailed
from pitwall.serving.errors import ServingUnavailable

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


class TemplateList(Response):
    templates: list[TemplateInfo]
    algorithms: list[str] = Field(description="accepted `algorithm` values of a job ('auto': AutoML, may ensemble)")
    tuning_methods: list[str]


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
    out_of_sample: bool = Field(description="true when the season is after every race the model was trained on")
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


def _store() -> Any:
    try:
        from pitwall.data.store import get_store

        return get_store()  # the cloud store imports awswrangler on first use
    except ImportError:
        raise _needs("reading stored data") from None


def _algorithms() -> list[str]:
    """Accepted ``algorithm`` values: every algorithm of ``pitwall.ml`` plus 'auto' (AutoML)."""
    from pitwall.ml.algorithms import ALGORITHMS, AUTO

    return [*ALGORITHMS, AUTO]


def _templates() -> dict[str, Any]:
    try:
        from pitwall.templates import TEMPLATES
    except ImportError:
        raise _needs("the template catalogue") from None
    return TEMPLATES


def _template(name: str) -> Any:
    templates = _templates()
    if name not in templates:
        raise NotFound(f"template {name!r} not found; known: {', '.join(templates)}", field="template")
    return templates[name]


def _int(value: Any) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else int(number)


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if not math.isfinite(number) else number


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return text if text and text not in ("NaT", "nan", "<NA>") else None


def _season_query(call: Call, name: str = "season") -> int | None:
    raw = call.query.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not 1950 <= int(raw) <= 2100:
        raise ValidationFailed(f"{name} must be a year between 1950 and 2100; got {raw!r}", field=name)
    return int(raw)


def _frame(store: Any, dataset: str) -> Any:
    import pandas as pd

    if dataset not in store.datasets():
        return pd.DataFrame()
    return store.read(dataset)


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


def _description(spec: Any) -> str:
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
                task=t.task,
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
            for t in _templates().values()
        ],
        algorithms=_algorithms(),
        tuning_methods=list(TUNING_METHODS),
    )


def _cell(kind: str, source: str) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": source.strip("\n").splitlines(keepends=True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def notebook_for(spec: Any) -> dict[str, Any]:
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
    try:
        from pitwall.features.spec import CONDITIONS, FEATURES, GROUPS
    except ImportError:
        raise _needs("the feature catalogue") from None
    groups = []
    for group in GROUPS:
        infos = []
        for spec in FEATURES.values():
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
                    known_at=getattr(spec, "known_at", None),
                    available=available,
                    unavailable_reason=None if available else spec.definition,
                )
            )
        groups.append(FeatureGroup(name=group, features=infos))
    return FeatureCatalog(groups=groups, conditions=list(CONDITIONS))


# --------------------------------------------------------------------------- stored data


def _races(store: Any) -> list[StoredRace]:
    races = _frame(store, "races")
    results = _frame(store, "results")
    with_results = set(results["race_id"].astype(str)) if len(results) else set()
    if not len(races):
        return []
    races = races.sort_values(["season", "round"])
    counts = races.groupby(["season", "grand_prix_id"]).size().to_dict()
    out = []
    for r in races.to_dict("records"):
        season, gp = int(r["season"]), _text(r.get("grand_prix_id"))
        unique = gp is not None and counts.get((season, gp), 0) == 1
        date = r.get("date")
        out.append(
            StoredRace(
                race_id=str(r["race_id"]),
                season=season,
                round=int(r["round"]),
                grand_prix_id=gp,
                name=_text(r.get("official_name")),
                date=_text(date.date().isoformat() if hasattr(date, "date") and callable(date.date) else date),
                circuit_id=_text(r.get("circuit_id")),
                ref=f"{gp}_{season}" if unique else str(r["race_id"]),
                has_results=str(r["race_id"]) in with_results,
            )
        )
    return out


def list_races(call: Call) -> RaceList:
    season = _season_query(call)
    races = _races(_store())
    return RaceList(races=[r for r in races if season is None or r.season == season])


def list_circuits(call: Call) -> CircuitList:
    """Circuits with stored races (for a circuit filter)."""
    store = _store()
    races = _frame(store, "races")
    circuits = _frame(store, "circuits")
    names = {str(c["circuit_id"]): c for c in circuits.to_dict("records")} if len(circuits) else {}
    out = []
    if len(races):
        for circuit_id, group in races.groupby("circuit_id"):
            ref = names.get(str(circuit_id), {})
            out.append(
                CircuitInfo(
                    circuit_id=str(circuit_id),
                    name=_text(ref.get("name")) or str(circuit_id),
                    country_id=_text(ref.get("country_id")),
                    races=int(len(group)),
                    first_season=int(group["season"].min()),
                    last_season=int(group["season"].max()),
                )
            )
    out.sort(key=lambda c: c.name.lower())
    return CircuitList(circuits=out)


def list_entrants(call: Call) -> EntrantList:
    """Drivers and constructors with stored results (optionally since ``?since=`` season)."""
    since = _season_query(call, "since")
    store = _store()
    results = _frame(store, "results")
    if not len(results):
        return EntrantList(drivers=[], constructors=[])
    if since is not None:
        results = results[results["season"] >= since]

    def entrants(column: str, dataset: str) -> list[Entrant]:
        ref = _frame(store, dataset)
        names = dict(zip(ref[column].astype(str), ref["name"].astype(str), strict=True)) if len(ref) else {}
        last = results.groupby(column)["season"].max()
        rows = [Entrant(id=str(k), name=names.get(str(k), str(k)), last_season=int(v)) for k, v in last.items()]
        return sorted(rows, key=lambda e: (-e.last_season, e.name.lower()))

    drivers = entrants("driver_id", "drivers")
    return EntrantList(drivers=drivers, constructors=entrants("constructor_id", "constructors"))


def race_result(call: Call) -> RaceResult:
    """The real result of a stored race (``monaco_2024`` or ``2024-08``)."""
    from pitwall.refs import RefError, resolve_race_ref

    store = _store()
    races = _races(store)
    try:
        found = resolve_race_ref(call.params.get("race", ""), [r.model_dump() for r in races], field="race")
    except RefError as exc:
        raise NotFound(str(exc), field="race") from None
    race = next(r for r in races if r.race_id == found["race_id"])
    results = _frame(store, "results")
    drivers = _frame(store, "drivers")
    names = {}
    if len(drivers):
        names = dict(zip(drivers["driver_id"].astype(str), drivers["name"].astype(str), strict=True))
    rows = results[results["race_id"].astype(str) == race.race_id] if len(results) else results
    if len(rows):
        rows = rows.sort_values("position_order")
    return RaceResult(
        race=race,
        results=[
            ResultRow(
                position=_int(r.get("position")),
                position_text=_text(r.get("position_text")),
                driver_id=str(r["driver_id"]),
                driver_name=names.get(str(r["driver_id"])),
                constructor_id=_text(r.get("constructor_id")),
                grid_position=_int(r.get("grid_position")),
                points=_float(r.get("points")),
            )
            for r in rows.to_dict("records")
        ],
    )


def _last_write(store: Any) -> str | None:
    root = getattr(store, "root", None)
    if root is None:
        return None
    times = [p.stat().st_mtime for p in root.glob("*/**/data.parquet")] + [
        p.stat().st_mtime for p in root.glob("*/data.parquet")
    ]
    if not times:
        return None
    return datetime.fromtimestamp(max(times), tz=UTC).isoformat(timespec="seconds")


def data_status(call: Call) -> DataStatus:
    """What is stored: per dataset seasons, races and rows; the latest write."""
    try:
        from pitwall.data.schema import TABLES
    except ImportError:
        raise _needs("the data status") from None
    store = _store()
    datasets = []
    for ds in store.datasets():
        spec = TABLES.get(ds)
        if spec is not None and not spec.race_scoped:
            n = int(store.sql(f'SELECT count(*) AS n FROM "{ds}"')["n"].iloc[0])
            datasets.append(DatasetStatus(dataset=ds, seasons=[], races=None, rows=n))
            continue
        df = store.sql(f'SELECT count(DISTINCT (season, "round")) AS nr, count(*) AS n FROM "{ds}"')
        datasets.append(
            DatasetStatus(dataset=ds, seasons=store.seasons(ds), races=int(df["nr"].iloc[0]), rows=int(df["n"].iloc[0]))
        )
    results = next((d for d in datasets if d.dataset == "results"), None)
    return DataStatus(
        datasets=datasets,
        seasons=results.seasons if results else [],
        races=results.races or 0 if results else 0,
        last_ingest=_last_write(store),
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


def _direction(metric: str) -> bool:
    from pitwall.ml.metrics import direction

    return direction(metric) == "maximize"


def calibration_bins(task_spec: Any, frame: Any, bins: int = 10) -> list[CalibrationBin] | None:
    """Reliability table of a prediction frame: the top-k probability of ranking models, or the
    positive class of binary classifiers, against how often the event happened; None otherwise."""
    import numpy as np
    import pandas as pd

    if task_spec.task == "ranking" and task_spec.top_k is not None and "probability" in frame:
        p = pd.to_numeric(frame["probability"], errors="coerce")
        position = pd.to_numeric(frame[task_spec.target], errors="coerce")
        y = position.le(task_spec.top_k).astype(float)  # unclassified (null) is outside the top k
    elif task_spec.task == "classification":
        columns = sorted(c for c in frame.columns if str(c).startswith("proba_"))
        if len(columns) != 2:
            return None
        labelled = frame[frame[task_spec.target].notna()]
        p = pd.to_numeric(labelled[columns[1]], errors="coerce")
        y = (labelled[task_spec.target].astype(str) == columns[1].removeprefix("proba_")).astype(float)
    else:
        return None
    keep = p.notna()
    p, y = p[keep].to_numpy(dtype=float), y[keep].to_numpy(dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    out = []
    for i in range(bins):
        members = which == i
        if members.any():
            out.append(
                CalibrationBin(
                    low=float(edges[i]),
                    high=float(edges[i + 1]),
                    predicted=float(p[members].mean()),
                    observed=float(y[members].mean()),
                    count=int(members.sum()),
                )
            )
    return out or None


def model_report(call: Call) -> ModelReport:
    """Importance and per-race scores of a model (primary metric) beside its naive baseline.

    Scores the season after the model's training window when it is stored (out of sample),
    else the model's last training season (in sample, flagged), or ``?season=``.
    """
    from pitwall.platform import models
    from pitwall.platform.validation import identifier

    try:
        from pitwall.features import FeatureStore
        from pitwall.ml import evaluation as ev
        from pitwall.ml.artifacts import load_model
        from pitwall.ml.errors import MLInputError
        from pitwall.training import _labelled
    except ImportError:
        raise _needs("model reports") from None
    raw = call.params.get("model", "")
    try:
        name = identifier(raw, "model")
    except ValidationFailed:
        raise NotFound(f"model {raw!r} not found", field="model") from None
    record = models.get_model(call.tenant.tenant_id, name, backend=call.services.records)
    if str(record.artifact_uri).startswith("s3://"):
        raise ServingUnavailable("model reports read local artifacts; this deployment stores them in S3")
    spec = _template(record.template)
    store = _store()
    trained = [int(s) for s in record.data_window.get("seasons", [])]
    stored = store.seasons("results") if "results" in store.datasets() else []
    season = _season_query(call)
    if season is None:
        after = [s for s in stored if trained and s > max(trained)]
        season = after[0] if after else (max(trained) if trained else (stored[-1] if stored else None))
    if season is None or season not in stored:
        raise ValidationFailed(f"season {season} has no stored results", field="season", unprocessable=True)
    model = load_model(record.artifact_uri)
    try:
        data = _labelled(spec, spec.frame(FeatureStore(store), [season]))
        result = model.evaluate(data, record=False)
        baseline = ev.baseline_scores(model.spec, data, spec.baseline)
    except MLInputError as exc:
        raise ValidationFailed(str(exc), field="season", unprocessable=True) from None
    metric = spec.primary_metric
    frame = result.predictions
    names = {r.race_id: r.name for r in _races(store)}
    race_col = "race_id" if "race_id" in frame.columns else model.spec.group_col
    scores = []
    for race_id, rows in frame.groupby(race_col, sort=True):
        base_rows = data.loc[data[race_col] == race_id]
        try:
            m = ev.score_frame(model.spec, rows, result.classes).get(metric)
            b = ev.baseline_scores(model.spec, base_rows, spec.baseline).get(metric)
        except (MLInputError, ValueError):
            m, b = None, None
        season_, round_ = (int(x) for x in str(race_id).split("-")[:2])
        scores.append(
            RaceScore(
                race_id=str(race_id),
                season=season_,
                round=round_,
                name=names.get(str(race_id)),
                model=_float(m),
                baseline=_float(b),
            )
        )
    labels: list[str] | None = None
    matrix: list[list[int]] | None = None
    try:
        found_labels, counts = result.confusion_matrix()
        labels, matrix = [str(x) for x in found_labels], [[int(v) for v in row] for row in counts]
    except MLInputError:
        pass
    ranked = [(k, float(v)) for k, v in model.feature_importance().items() if _float(v) is not None]
    clean = {k: v for k, v in ((k, _float(v)) for k, v in result.metrics.items()) if v is not None}
    base_clean = {k: v for k, v in ((k, _float(v)) for k, v in baseline.items()) if v is not None}
    return ModelReport(
        model=record.name,
        version=record.version,
        template=record.template,
        metric=metric,
        higher_is_better=_direction(metric),
        season=int(season),
        out_of_sample=bool(trained) and season > max(trained),
        importance=dict(sorted(ranked, key=lambda kv: -kv[1])),
        metrics=clean,
        baseline_metrics=base_clean,
        races=scores,
        confusion_labels=labels,
        confusion_matrix=matrix,
        calibration=calibration_bins(model.spec, frame),
    )


# --------------------------------------------------------------------------- the table

P = API_PREFIX
CATALOG_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "list_templates",
        "GET",
        f"{P}/templates",
        "The model templates (training wizard cards), algorithms and tuning methods",
        list_templates,
        TemplateList,
        errors=(401, 429, 503),
        tags=("catalog",),
    ),
    Operation(
        "template_notebook",
        "GET",
        f"{P}/templates/{{template}}/notebook",
        "A starter Jupyter notebook for a template",
        template_notebook,
        NotebookResponse,
        errors=(401, 404, 429, 503),
        tags=("catalog",),
    ),
    Operation(
        "feature_catalog",
        "GET",
        f"{P}/features",
        "Every built-in feature by group, with its definition and offline availability",
        feature_catalog,
        FeatureCatalog,
        errors=(401, 429, 503),
        tags=("catalog",),
    ),
    Operation(
        "data_status",
        "GET",
        f"{P}/data/status",
        "What data is stored: seasons, races, rows per dataset, last ingest",
        data_status,
        DataStatus,
        errors=(401, 429, 503),
        tags=("data",),
    ),
    Operation(
        "list_circuits",
        "GET",
        f"{P}/data/circuits",
        "Circuits with stored races",
        list_circuits,
        CircuitList,
        errors=(401, 429, 503),
        tags=("data",),
    ),
    Operation(
        "list_races",
        "GET",
        f"{P}/data/races",
        "Stored races (optionally of one season)",
        list_races,
        RaceList,
        query=(QueryParam("season", "only races of this season"),),
        errors=(400, 401, 429, 503),
        tags=("data",),
    ),
    Operation(
        "race_result",
        "GET",
        f"{P}/data/races/{{race}}",
        "A stored race's real result",
        race_result,
        RaceResult,
        errors=(401, 404, 429, 503),
        tags=("data",),
    ),
    Operation(
        "list_entrants",
        "GET",
        f"{P}/data/entrants",
        "Drivers and constructors with stored results",
        list_entrants,
        EntrantList,
        query=(QueryParam("since", "only entrants with results since this season"),),
        errors=(400, 401, 429, 503),
        tags=("data",),
    ),
    Operation(
        "usage",
        "GET",
        f"{P}/usage",
        "Your tier and today's usage (jobs left today, deployed models, downloads, requests)",
        usage,
        UsageResponse,
        errors=(401, 429),
        tags=("account",),
    ),
    Operation(
        "model_report",
        "GET",
        f"{P}/models/{{model}}/report",
        "Feature importance and per-race scores of a model beside its naive baseline",
        model_report,
        ModelReport,
        query=(QueryParam("season", "score this season (default: the season after the training window)"),),
        errors=(400, 401, 404, 422, 429, 503),
        tags=("models",),
    ),
)
