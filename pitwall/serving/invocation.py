"""What a model endpoint does with one request: the in-process serving logic.

:func:`invoke` takes a loaded :class:`~pitwall.serving.predictor.Predictor` and a validated
payload (the API's request JSON) and returns the prediction JSON (without the model name and
version, which the registry knows). The local backend calls it in the API process; a
SageMaker inference container calls the same function, so both backends answer alike.

Payload shapes (see :mod:`pitwall.api.schemas`):

- ``{"race": "monaco_2024", "grid_positions": {...}, "weather": "wet"}``: the race's feature
  rows as of the model's prediction moment (``pitwall.templates.prediction_frame``), with
  the caller's values overriding ``start_position`` / ``weather_condition``.
- ``{"instances": [{feature: value, ...}, ...]}``: explicit feature rows.
- ``{"championship": {"season": 2024, ...}}``: Monte Carlo title forecast
  (:mod:`pitwall.serving.championship`) from the model's per-race probabilities.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pitwall.errors import ValidationFailed
from pitwall.serving import championship as champ
from pitwall.serving.predictor import Predictor
from pitwall.serving.races import Race, RaceCatalog
from pitwall.vocabulary import WEATHER_CONDITIONS

if TYPE_CHECKING:
    import pandas as pd

    from pitwall.data.store import Store

GRID_FEATURE = "start_position"
WEATHER_FEATURE = "weather_condition"
"""Values of the ``weather_condition`` feature (``pitwall.features``), accepted as ``weather``."""
KEY_FIELDS = ("driver_id", "race_id", "season", "round")
INSTANCES_RACE_ID = "instances"
SEASON_CACHE_SIZE = 64
INPUTS_CACHE_SIZE = 1024
MOMENTS_CACHE_SIZE = 16  # races at a weekend moment (upcoming races), each seconds to build


def _unprocessable(message: str, field: str, code: str = "validation_failed") -> ValidationFailed:
    return ValidationFailed(message, field=field, code=code, unprocessable=True)


SeasonBuilder = Callable[..., "pd.DataFrame"]
"""``(template, store, season, auto_features=None) -> DataFrame``: every feature row of a template
for one season, with a model's auto-features (``BaseModel.auto_features``) when given."""


def auto_key(predictor: Predictor) -> str:
    """The predictor's auto-features as a cache key ("" without)."""
    import json

    auto = getattr(predictor.model, "auto_features", None)
    return json.dumps(auto, sort_keys=True) if auto else ""


def template_season_frame(template: str, store: Store, season: int, auto_features: Any = None) -> pd.DataFrame:
    """The default builder: the template's point-in-time frame for ``season`` with ``auto_features``
    (``pitwall.templates.predict.template_frame``; what ``prediction_frame`` slices one race from)."""
    from pitwall.features import FeatureStore
    from pitwall.templates import get_template
    from pitwall.templates.predict import template_frame

    try:
        spec = get_template(template)
    except ValueError as exc:
        raise _unprocessable(f"model template: {exc}", "model", code="unknown_template") from None
    if season < spec.first_season:
        raise _unprocessable(f"race: template {template!r} needs data from {spec.first_season} onward", "race")
    return template_frame(spec, FeatureStore(store), [season], auto_features)


def apply_overrides(
    frame: pd.DataFrame,
    overrides: Mapping[str, Any],
    entity_col: str,
    features: Sequence[str],
    auto_features: Any = None,
) -> pd.DataFrame:
    """The caller's feature overrides (``pitwall.templates.predict.apply_overrides``)."""
    from pitwall.templates.predict import apply_overrides as apply

    return apply(frame, overrides, entity_col, tuple(features), auto_features)


class FrameSource:
    """Feature rows of races: each (template, season) frame is built once and cached (LRU),
    races are sliced from it and the caller's overrides applied to a copy."""

    def __init__(
        self, store: Store, builder: SeasonBuilder = template_season_frame, size: int = SEASON_CACHE_SIZE
    ) -> None:
        self.store = store
        self.builder = builder
        self._size = size
        self._lock = threading.Lock()
        self._seasons: OrderedDict[tuple[str, int, str], dict[int, pd.DataFrame]] = OrderedDict()
        self._building: dict[tuple[str, int, str], threading.Lock] = {}
        self._inputs: OrderedDict[tuple[Any, ...], RaceInputs] = OrderedDict()
        self._moments: OrderedDict[tuple[Any, ...], Any] = OrderedDict()  # -> upcoming.RaceAt

    def clear(self) -> None:
        with self._lock:
            self._seasons.clear()
            self._inputs.clear()
            self._moments.clear()

    def _season(self, template: str, season: int, auto: str = "") -> dict[int, pd.DataFrame]:
        key = (template, season, auto)
        with self._lock:
            found = self._seasons.get(key)
            if found is not None:
                self._seasons.move_to_end(key)
                return found
            gate = self._building.setdefault(key, threading.Lock())
        with gate:  # one build per season at a time; others wait for it
            with self._lock:
                found = self._seasons.get(key)
            if found is not None:
                return found
            frame = (
                self.builder(template, self.store, season, json.loads(auto))
                if auto
                else self.builder(template, self.store, season)
            )
            by_round = {int(r): g.reset_index(drop=True) for r, g in frame.groupby("round", sort=True)}
            with self._lock:
                self._seasons[key] = by_round
                self._building.pop(key, None)
                while len(self._seasons) > self._size:
                    self._seasons.popitem(last=False)
            return by_round

    def frame(
        self,
        template: str,
        season: int,
        round_: int,
        overrides: Mapping[str, Any] | None = None,
        *,
        entity_col: str = "driver_id",
        features: Sequence[str] = (),
        copy: bool = True,
        auto: str = "",
    ) -> pd.DataFrame:
        """A race's rows with ``overrides`` applied: a copy the caller may modify (``copy=False``:
        the cached frame itself, strictly read-only); ``auto``: a model's auto-features (``auto_key``)."""
        race = self._season(template, season, auto).get(int(round_))
        if race is None or race.empty:
            raise _unprocessable(
                f"race {season}-{int(round_):02d}: no rows for template {template!r}", "race", code="unknown_race"
            )
        if overrides:
            return apply_overrides(race, overrides, entity_col, features, json.loads(auto) if auto else None)
        return race.copy() if copy else race

    def race_at(self, predictor: Predictor, race: Race, moment: str | None) -> Any:
        """``pitwall.serving.upcoming.race_at`` of ``race`` for ``predictor``, cached per moment and
        feature list (seconds to compute: the weekend's inputs are cut and the features rebuilt)."""
        from pitwall.serving.upcoming import race_at

        key = (predictor.template, race.race_id, moment, tuple(predictor.features), auto_key(predictor))
        with self._lock:
            found = self._moments.get(key)
            if found is not None:
                self._moments.move_to_end(key)
                return found
        found = race_at(predictor.model, race.race_id, moment, store=self.store)
        with self._lock:
            self._moments[key] = found
            while len(self._moments) > MOMENTS_CACHE_SIZE:
                self._moments.popitem(last=False)
        return found

    def inputs(self, predictor: Predictor, season: int, round_: int) -> RaceInputs:
        """The race's model inputs (no overrides) for ``predictor``, cached per feature list."""
        spec = predictor.model.spec
        auto = auto_key(predictor)
        key = (
            predictor.template,
            season,
            int(round_),
            tuple(predictor.features),
            spec.entity_col,
            spec.group_col,
            auto,
        )
        with self._lock:
            found = self._inputs.get(key)
            if found is not None:
                self._inputs.move_to_end(key)
                return found
        found = race_inputs(predictor, self.frame(predictor.template, season, round_, copy=False, auto=auto))
        with self._lock:
            self._inputs[key] = found
            while len(self._inputs) > INPUTS_CACHE_SIZE:
                self._inputs.popitem(last=False)
        return found


# --------------------------------------------------------------------------- output


def _num(value: Any) -> float | None:
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def raw_output(predictor: Predictor, X: np.ndarray) -> np.ndarray:
    """The model's raw output for a float64 feature matrix (class probabilities or values).

    Calls the model's matrix hook directly: a request's rows are already a matrix, and the
    DataFrame round trip of ``BaseModel.raw_output`` costs more than the prediction itself.
    """
    return predictor.model.raw_output_matrix(X)


def prediction_rows(
    predictor: Predictor, X: np.ndarray, groups: Sequence[str], entities: Sequence[str | None]
) -> list[dict[str, Any]]:
    """The answer rows for feature matrix ``X`` (one row per entity; ``groups`` = race ids).

    Ranking: per race (in order of first appearance) best first, with ``rank``, ``score`` and
    the top-k ``probability`` (``pitwall.ml.model.ranking_scores``: normalised per race).
    Regression: ``value``; classification: ``label`` + class ``probabilities``; input order.
    """
    from pitwall.ml.model import ranking_group_scores

    model = predictor.model
    if len(X) == 0:
        raise ValidationFailed("no rows to predict", field="body", unprocessable=True)
    raw = raw_output(predictor, X)
    if predictor.kind == "ranking":
        group_array = np.asarray(groups, dtype=object)
        if any(g is None for g in groups):
            raise ValidationFailed("every row needs its race", field="race_id", unprocessable=True)
        score, prob = ranking_group_scores(model.spec, group_array, raw)
        # races in order of first appearance, best score first within a race (stable)
        _, first, codes = np.unique(group_array.astype(str), return_index=True, return_inverse=True)
        appearance = np.argsort(np.argsort(first, kind="stable"), kind="stable")[codes]
        order = np.lexsort((-np.asarray(score, dtype=np.float64), appearance))
        sorted_groups = appearance[order]
        starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
        ranks = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)])) + 1
        scores = _finite_list(np.asarray(score, dtype=np.float64)[order])
        probs = [None] * len(order) if prob is None else _finite_list(np.asarray(prob, dtype=np.float64)[order])
        return [
            {
                "driver_id": entities[i],
                "race_id": str(groups[i]),
                "rank": int(rank),
                "score": sc,
                "probability": pr,
            }
            for i, rank, sc, pr in zip(order.tolist(), ranks.tolist(), scores, probs, strict=True)
        ]
    race_ids = [None if g is None else str(g) for g in groups]
    if predictor.kind == "regression":
        values = _finite_list(np.asarray(raw, dtype=np.float64).reshape(len(X)))
        return [{"driver_id": e, "race_id": g, "value": v} for e, g, v in zip(entities, race_ids, values, strict=True)]
    classes = [str(c) for c in (model.classes or [])]
    matrix = np.asarray(raw, dtype=np.float64)
    labels = [classes[j] for j in np.argmax(matrix, axis=1).tolist()]
    return [
        {"driver_id": e, "race_id": g, "label": label, "probabilities": dict(zip(classes, p, strict=True))}
        for e, g, label, p in zip(entities, race_ids, labels, matrix.tolist(), strict=True)
    ]


def _finite_list(values: np.ndarray) -> list[float | None]:
    """``values`` as Python floats, None where not finite (JSON has no NaN)."""
    out = values.tolist()
    if not np.isfinite(values).all():
        bad = np.flatnonzero(~np.isfinite(values)).tolist()
        for i in bad:
            out[i] = None
    return out


@dataclass(frozen=True)
class RaceInputs:
    """A race's model inputs: feature matrix, race id and entity of each row (read-only)."""

    X: np.ndarray
    groups: list[str]
    entities: list[str | None]


def race_inputs(predictor: Predictor, frame: pd.DataFrame) -> RaceInputs:
    """Model inputs of a feature frame (``pitwall.ml.dataset.feature_matrix``)."""
    from pitwall.ml.dataset import feature_matrix

    spec = predictor.model.spec
    entities = [str(e) for e in frame[spec.entity_col]] if spec.entity_col in frame.columns else [None] * len(frame)
    X = feature_matrix(frame, predictor.features)
    X.setflags(write=False)
    return RaceInputs(X, [str(g) for g in frame[spec.group_col]], entities)


def frame_rows(predictor: Predictor, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """:func:`prediction_rows` for a feature frame."""
    inputs = race_inputs(predictor, frame)
    return prediction_rows(predictor, inputs.X, inputs.groups, inputs.entities)


def _answer(predictor: Predictor, race: Race | None, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "template": predictor.template,
        "kind": predictor.kind,
        "top_k": predictor.top_k,
        "race": None if race is None else race.to_dict(),
        "predictions": rows,
    }


# --------------------------------------------------------------------------- race predictions


def race_overrides(
    predictor: Predictor, frame: pd.DataFrame, grid_positions: Mapping[str, int] | None, weather: str | None
) -> dict[str, Any]:
    """Overrides for the race's rows from the request, checked against the model and the race."""
    overrides: dict[str, Any] = {}
    if grid_positions:
        if GRID_FEATURE not in predictor.features:
            raise _unprocessable(
                f"grid_positions: model {predictor.name!r} does not use {GRID_FEATURE!r}", "grid_positions"
            )
        entity = predictor.model.spec.entity_col
        entrants = set(frame[entity].astype(str))
        for driver in grid_positions:
            if driver not in entrants:
                raise _unprocessable(
                    f"grid_positions: driver {driver!r} is not entered in this race "
                    f"(entrants: {', '.join(sorted(entrants))})",
                    f"grid_positions.{driver}",
                    code="unknown_driver",
                )
        taken: dict[int, str] = {}
        for driver, slot in grid_positions.items():
            if slot > len(frame):
                raise _unprocessable(
                    f"grid_positions.{driver}: slot {slot} is beyond the {len(frame)} starters",
                    f"grid_positions.{driver}",
                )
            if slot in taken:
                raise _unprocessable(
                    f"grid_positions: slot {slot} is given to both {taken[slot]!r} and {driver!r}",
                    f"grid_positions.{driver}",
                )
            taken[slot] = driver
        overrides[GRID_FEATURE] = {d: int(slot) for d, slot in grid_positions.items()}
    if weather is not None:
        if weather not in WEATHER_CONDITIONS:
            raise _unprocessable(f"weather must be one of {list(WEATHER_CONDITIONS)}; got {weather!r}", "weather")
        if WEATHER_FEATURE not in predictor.features:
            raise _unprocessable(f"weather: model {predictor.name!r} does not use {WEATHER_FEATURE!r}", "weather")
        overrides[WEATHER_FEATURE] = weather
    return overrides


def race_frame(
    predictor: Predictor,
    frames: FrameSource,
    race: Race,
    grid_positions: Mapping[str, int] | None = None,
    weather: str | None = None,
) -> pd.DataFrame:
    """The race's feature rows for the predictor's template, with the caller's overrides."""
    auto = auto_key(predictor)
    base = frames.frame(predictor.template, race.season, race.round, copy=False, auto=auto)
    overrides = race_overrides(predictor, base, grid_positions, weather)
    if not overrides:
        return base.copy()
    return frames.frame(
        predictor.template,
        race.season,
        race.round,
        overrides,
        entity_col=predictor.model.spec.entity_col,
        features=predictor.features,
        auto=auto,
    )


def predict_race(predictor: Predictor, payload: Mapping[str, Any], catalog: RaceCatalog, frames: FrameSource) -> dict:
    """A race answer. A race already run, asked without a ``moment``, is predicted from its cached
    rows at the template's moment; a race still to come, or any race at a ``moment``, from its rows
    as they stood then (``pitwall.serving.upcoming.race_at``, the SDK's and CLI's rule), the answer
    saying what was known. A what-if (``grid_positions`` / ``weather``) overrides the cached rows."""
    from pitwall.serving.upcoming import in_sample_note, race_notes

    race = catalog.resolve(payload["race"])
    moment = payload.get("moment")
    own = template_moment(predictor)
    if payload.get("grid_positions") or payload.get("weather") is not None:
        if moment is not None:
            raise ValidationFailed(
                "moment: a what-if (grid_positions / weather) is predicted at the template's own moment; "
                "leave moment out",
                field="moment",
                unprocessable=True,
            )
        frame = race_frame(predictor, frames, race, payload.get("grid_positions"), payload.get("weather"))
        answer = _answer(predictor, race, frame_rows(predictor, frame))
        given = [f for f in ("grid_positions", "weather") if payload.get(f) is not None]
        what_if = f"what-if: {' and '.join(given)} from the request in place of the stored values"
        if own is None:
            return {**answer, "notes": [what_if]}
        notes = race_notes(predictor.model, race, own, run=catalog.has_run(race))
        return {**answer, "moment": own, "notes": [*notes, what_if]}
    if at_a_moment(payload, catalog, race):
        at = frames.race_at(predictor, race, moment)
        answer = _answer(predictor, race, frame_rows(predictor, at.frame))
        return {**answer, "moment": at.moment, "notes": at.notes, "unknown_inputs": at.unknown_inputs}
    inputs = frames.inputs(predictor, race.season, race.round)
    answer = _answer(predictor, race, prediction_rows(predictor, inputs.X, inputs.groups, inputs.entities))
    if own is None:
        note = in_sample_note(predictor.model, [(race.season, race.race_id)])
        return {**answer, "notes": [note]} if note else answer
    unknown = [f for i, f in enumerate(predictor.features) if len(inputs.X) and bool(np.isnan(inputs.X[:, i]).all())]
    notes = race_notes(predictor.model, race, own, run=True)
    return {**answer, "moment": own, "notes": notes, "unknown_inputs": unknown}


def template_moment(predictor: Predictor) -> str | None:
    """The weekend moment the predictor's template predicts a race at (the answer's ``moment``
    for a stored race asked without one); None for the in-race (lap) templates and for a model
    whose template is not one of Pitwall's (a model built on its own frame)."""
    from pitwall.templates import TEMPLATES
    from pitwall.vocabulary import WEEKEND_MOMENTS

    spec = TEMPLATES.get(predictor.template)
    return spec.moment if spec is not None and spec.moment in WEEKEND_MOMENTS else None


def at_a_moment(payload: Mapping[str, Any], catalog: RaceCatalog, race: Race) -> bool:
    """Whether a race request (no what-if) is answered from the race's rows at a weekend moment
    (``FrameSource.race_at``) rather than its cached rows: a ``moment`` asked, or a race not yet run."""
    return payload.get("moment") is not None or not catalog.has_run(race)


# --------------------------------------------------------------------------- instances


_MISSING = object()
_NUMERIC_TYPES = frozenset({int, float, bool, type(None)})


def _cell_error(predictor: Predictor, instances: list[Mapping[str, Any]]) -> ValidationFailed:
    """The first bad cell of ``instances``, named ``instances[i].<field>`` (the slow path: only
    runs once the vectorised checks found something wrong)."""
    features = predictor.features
    allowed = set(features) | set(KEY_FIELDS)
    for i, row in enumerate(instances):
        for key, value in row.items():
            field = f"instances[{i}].{key}"
            if key not in allowed:
                return _unprocessable(
                    f"{field}: unknown feature; the model's features are {', '.join(features)}", field
                )
            if key in ("driver_id", "race_id"):
                if not isinstance(value, str) or not value:
                    return ValidationFailed(f"{field} must be a non-empty string", field=field)
            elif key in ("season", "round"):
                if isinstance(value, bool) or not isinstance(value, int):
                    return ValidationFailed(f"{field} must be an integer", field=field)
            elif value is not None and (isinstance(value, str) or not isinstance(value, int | float | bool)):
                return ValidationFailed(f"{field} must be a number, true/false or null", field=field)
            elif isinstance(value, float) and not math.isfinite(value):
                return ValidationFailed(f"{field} must be a finite number", field=field)
            elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > np.finfo(np.float64).max:
                return ValidationFailed(f"{field} must be a finite number", field=field)
        missing = [f for f in features if f not in row]
        if missing:
            return _unprocessable(
                f"instances[{i}]: missing feature(s) {', '.join(missing)} (use null for an unknown value)",
                f"instances[{i}].{missing[0]}",
            )
    return ValidationFailed("instances: invalid rows", field="instances")


_last_instances = threading.local()  # this thread's latest (predictor, instances, result)


def instances_matrix(
    predictor: Predictor, instances: list[Mapping[str, Any]]
) -> tuple[np.ndarray, list[str], list[str | None]]:
    """(feature matrix, race ids, driver ids) from explicit rows; every problem names
    ``instances[i].<field>``. Rows without ``race_id`` form one race.

    Column-wise: the cells are gathered once per feature, their types checked as a set, and
    the matrix converted by numpy; only a request with a bad cell walks the rows to name it.
    The result is kept for :func:`answered_instances_matrix` (the request's capture).
    """
    result = _instances_matrix(predictor, instances)
    result[0].setflags(write=False)  # shared by the prediction and its capture: never changed in place
    _last_instances.value = (predictor, instances, result)
    return result


def answered_instances_matrix(
    predictor: Predictor, instances: list[Mapping[str, Any]]
) -> tuple[np.ndarray, list[str], list[str | None]]:
    """:func:`instances_matrix` of a request this thread has just answered: the matrix its
    prediction used, taken once (the very list, right after it); computed again otherwise. A
    prediction itself always converts its rows, so a caller that edits a list and predicts
    again gets the edited rows."""
    last = getattr(_last_instances, "value", None)
    _last_instances.value = None
    if last is not None and last[0] is predictor and last[1] is instances:
        return last[2]
    return instances_matrix(predictor, instances)


def _instances_matrix(
    predictor: Predictor, instances: list[Mapping[str, Any]]
) -> tuple[np.ndarray, list[str], list[str | None]]:
    features = predictor.features
    allowed = set(features) | set(KEY_FIELDS)
    try:
        if not all(map(allowed.issuperset, instances)):
            raise ValueError
        columns = [[row.get(f, _MISSING) for row in instances] for f in features]
        if not _NUMERIC_TYPES.issuperset({type(v) for column in columns for v in column}):
            raise ValueError
        X = np.array(columns, dtype=np.float64).T.reshape(len(instances), len(features))
        if np.isinf(X).any():
            raise ValueError
        groups = [row.get("race_id", INSTANCES_RACE_ID) for row in instances]
        drivers = [row.get("driver_id", _MISSING) for row in instances]
        if not all(type(g) is str and g for g in groups):
            raise ValueError
        if not all(d is _MISSING or (type(d) is str and d) for d in drivers):
            raise ValueError
        entities = [None if d is _MISSING else d for d in drivers]
        for key in ("season", "round"):
            values = [row[key] for row in instances if key in row]
            if values and not all(type(v) is int for v in values):
                raise ValueError
    except (ValueError, OverflowError, TypeError):
        raise _cell_error(predictor, instances) from None
    return np.ascontiguousarray(X), groups, entities


def predict_instances(predictor: Predictor, payload: Mapping[str, Any]) -> dict:
    X, groups, entities = instances_matrix(predictor, payload["instances"])
    return _answer(predictor, None, prediction_rows(predictor, X, groups, entities))


# --------------------------------------------------------------------------- championship


Simulator = Callable[..., champ.ChampionshipForecast]
"""``(races, standings, *, simulations, seed) -> ChampionshipForecast``."""


def predict_championship(
    predictor: Predictor,
    request: Mapping[str, Any],
    catalog: RaceCatalog,
    frames: FrameSource,
    simulate: Simulator = champ.simulate_championship,
) -> dict:
    """Title probabilities and expected points for ``request["season"]`` (see the module doc)."""
    if predictor.kind != "ranking":
        raise _unprocessable(
            f"a championship forecast needs a ranking model; {predictor.name!r} is a {predictor.kind} model",
            "model",
            code="unsupported_model",
        )
    season = int(request["season"])
    calendar = catalog.season_races(season)
    if not calendar:
        raise _unprocessable(f"season {season}: no races stored", "season", code="unknown_season")
    if season < 2010:
        raise _unprocessable("championship forecasts use the 2010+ points system; pick a season >= 2010", "season")
    last = calendar[-1].round
    if request.get("remaining_races", True):
        after = request.get("after_round")
        after = catalog.last_completed_round(season) if after is None else int(after)
        if after > last:
            raise _unprocessable(f"after_round {after} is beyond the season's last round {last}", "after_round")
        standings = catalog.standings(season, after)
    else:
        after, standings = 0, champ.Standings()
    fields: list[champ.RaceField] = []
    for race in calendar:
        if race.round <= after:
            continue
        try:
            frame = frames.frame(predictor.template, race.season, race.round, copy=False, auto=auto_key(predictor))
            inputs = frames.inputs(predictor, race.season, race.round)
        except ValidationFailed as exc:
            if exc.code == "unknown_race":
                continue  # on the calendar but no entrants known (cancelled, or not yet entered)
            raise
        ranked = prediction_rows(predictor, inputs.X, inputs.groups, inputs.entities)
        entity = predictor.model.spec.entity_col
        teams = catalog.entries(season, race.round)
        frame_teams = (
            dict(zip(frame[entity].astype(str), frame["constructor_id"], strict=True))
            if "constructor_id" in frame.columns
            else {}
        )
        drivers = [str(r["driver_id"]) for r in ranked]
        constructors = [
            _team(frame_teams.get(d)) or teams.get(d) or standings.driver_constructor.get(d) for d in drivers
        ]
        probabilities = [r["probability"] for r in ranked] if predictor.top_k is not None else None
        fields.append(
            champ.RaceField(
                round=race.round,
                drivers=drivers,
                constructors=constructors,
                strengths=champ.strengths_from_scores([r["score"] for r in ranked], probabilities),
            )
        )
    forecast = simulate(
        fields, standings, simulations=int(request.get("simulations", 10_000)), seed=request.get("seed")
    )
    return {
        "season": season,
        "after_round": after,
        "simulated_rounds": forecast.simulated_rounds,
        "simulations": forecast.simulations,
        "points_system": champ.POINTS_SYSTEM_NAME,
        "drivers": [vars(d) for d in forecast.drivers],
        "constructors": [vars(c) for c in forecast.constructors],
    }


def _team(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


# --------------------------------------------------------------------------- entry point


def invoke(
    predictor: Predictor,
    payload: Mapping[str, Any],
    catalog: RaceCatalog,
    frames: FrameSource,
    simulate: Simulator = champ.simulate_championship,
) -> dict:
    """Answer one endpoint request (race, instances or championship payload)."""
    if "championship" in payload:
        return predict_championship(predictor, payload["championship"], catalog, frames, simulate)
    if "instances" in payload:
        return predict_instances(predictor, payload)
    if "race" in payload:
        return predict_race(predictor, payload, catalog, frames)
    raise ValidationFailed("the request needs 'race', 'instances' or 'championship'", field="body")


class InProcessServing:
    """The store-backed pieces the in-process serving path shares (catalog + frame cache); its
    championship Monte Carlo runs on :func:`pitwall.serving.championship.simulate_in_pool`."""

    def __init__(
        self,
        store: Store,
        builder: SeasonBuilder = template_season_frame,
        simulate: Simulator = champ.simulate_in_pool,
    ) -> None:
        self.store = store
        self.catalog = RaceCatalog(store)
        self.frames = FrameSource(store, builder)
        self.simulate = simulate

    def invoke(self, predictor: Predictor, payload: Mapping[str, Any]) -> dict:
        return invoke(predictor, payload, self.catalog, self.frames, self.simulate)

    def clear(self) -> None:
        """Forget cached tables and frames (after new data was ingested)."""
        self.catalog.clear()
        self.frames.clear()
