"""Predict what has not happened yet: one race at a moment of its weekend, or the rest of a season.

- :func:`predict_race_at`: a template model's predictions for a race (stored or upcoming) at a
  weekend moment (``pre_practice``, ``pre_qualifying``, ``pre_race``). The race's feature rows
  (:func:`race_at`) are the template's frame computed from the inputs as they stood at that moment
  (:func:`pitwall.features.weekend.inputs_at`), by the same code as every historical race. The
  answer says what was known (e.g. "grid not yet known: pre-qualifying prediction") and which
  of the model's inputs were unknown. The API's race answers for a race still to come, or at a
  ``moment``, are built from the same :func:`race_at` (``pitwall.serving.invocation.predict_race``).
- :func:`predict_season`: the championship Monte Carlo (:mod:`pitwall.serving.championship`, via
  the serving path :func:`pitwall.serving.invocation.predict_championship`) over the races after
  ``after_round``, each predicted from what was known after that round: history up to it and the
  entry list of the race (never a later grid or result).

Race references (``next``, ``2024-08``, ``monaco_2024``) are resolved by
:meth:`pitwall.serving.races.RaceCatalog.resolve`; ``next`` is the first race of the calendar
without results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pitwall.errors import ValidationFailed
from pitwall.features.weekend import MOMENT_NOTES, WEEKEND_MOMENTS, MomentError, check_moment

if TYPE_CHECKING:
    import pandas as pd

    from pitwall.data.store import Store
    from pitwall.features.inputs import FeatureInputs


def _moment_error(exc: MomentError) -> ValidationFailed:
    return ValidationFailed(str(exc), field=exc.field, unprocessable=True)


@dataclass
class RacePrediction:
    """A model's predictions for one race at one weekend moment."""

    model: str
    template: str
    race: dict[str, Any]
    moment: str
    known: dict[str, bool]
    notes: list[str]
    unknown_inputs: list[str]
    predictions: pd.DataFrame
    run: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        rows = self.predictions.astype(object).where(self.predictions.notna(), None).to_dict("records")
        return {
            "model": self.model,
            "template": self.template,
            "race": self.race,
            "moment": self.moment,
            "race_run": self.run,
            "known": self.known,
            "notes": self.notes,
            "unknown_inputs": self.unknown_inputs,
            "predictions": rows,
            **self.extra,
        }


def _template(name: str) -> Any:
    from pitwall.templates import get_template

    try:
        return get_template(name)
    except ValueError as exc:
        raise ValidationFailed(f"model template: {exc}", field="model", unprocessable=True) from None


def template_frame_at(
    template: str,
    store: Store,
    season: int,
    round_: int,
    moment: str,
    inputs: FeatureInputs | None = None,
    *,
    expected_grid: bool = False,
    auto_features: Any = None,
) -> pd.DataFrame:
    """The template's rows of race (season, round) as known at ``moment`` (see the module doc);
    ``expected_grid``: before the grid is known, an expected grid stands in for it
    (:func:`pitwall.features.weekend.expected_grid`); ``auto_features``: a model's
    (``pitwall.templates.predict.template_frame``)."""
    from pitwall.features import FeatureStore
    from pitwall.features.inputs import FeatureInputs
    from pitwall.features.weekend import inputs_at, with_expected_grids
    from pitwall.templates.predict import template_frame

    spec = _template(template)
    if season < spec.first_season:
        raise ValidationFailed(
            f"race: template {template!r} needs data from {spec.first_season} onward", field="race", unprocessable=True
        )
    inp = inputs if inputs is not None else FeatureInputs.from_store(store, max_season=season)
    at = inputs_at(inp, season, round_, moment)
    if expected_grid and moment != "pre_race":
        at = with_expected_grids(at, [(season, round_)])
    frame = template_frame(spec, FeatureStore(store, inputs=at), [season], auto_features)
    return frame[frame["round"] == round_].reset_index(drop=True)


def _choose_moment(requested: str | None, reached: str, template_moment: str, race_id: str) -> str:
    order = WEEKEND_MOMENTS.index
    cap = template_moment if template_moment in WEEKEND_MOMENTS else "pre_race"
    if requested is None:
        return min(reached, cap, key=order)
    check_moment(requested)
    if order(requested) > order(cap):
        raise MomentError(f"{requested!r} is after the model's own moment {cap!r} (it would see what it predicts)")
    if order(requested) > order(reached):
        raise MomentError(f"{race_id} has not reached {requested!r}: the stored data reaches {reached!r}")
    return requested


@dataclass
class RaceAt:
    """A race's feature rows at a moment of its weekend and what was known then (``race_at``)."""

    race: Any  # pitwall.serving.races.Race
    moment: str
    frame: pd.DataFrame
    known: dict[str, bool]
    notes: list[str]
    unknown_inputs: list[str]
    run: bool
    expected_grid: bool


def race_at(
    model: Any, race: Any = "next", moment: str | None = None, *, store: Store, expected_grid: bool = True
) -> RaceAt:
    """The feature rows of ``race`` for ``model`` (a ``pitwall.ml`` model of a template) at
    ``moment``, and what was known then: the one rule behind :func:`predict_race_at` and the
    API's answer for a race not yet run (``pitwall.serving.invocation.predict_race``).

    ``moment`` defaults to the latest the stored data reaches for that race (capped at the
    template's own moment). A model that uses the grid (``start_position``), asked before the
    grid is known, sees an expected grid (``expected_grid=False``: a null grid instead); the
    notes say so. Errors are ``ValidationFailed`` naming the field (``race``, ``moment``).
    """
    from pitwall.features.inputs import FeatureInputs
    from pitwall.features.weekend import weekend_state
    from pitwall.serving.races import RaceCatalog

    template = getattr(model.spec, "template", None)
    if not template:
        raise ValidationFailed("model: not a template model (no template to build race features)", field="model")
    spec = _template(template)
    found = RaceCatalog(store).resolve(race)
    inp = FeatureInputs.from_store(store, max_season=found.season)
    state = weekend_state(inp, found.season, found.round)
    try:
        chosen = _choose_moment(moment, state.moment, spec.moment, found.race_id)
    except MomentError as exc:
        raise _moment_error(exc) from None
    features = list(model.features)
    imputed = expected_grid and chosen != "pre_race" and "start_position" in features
    frame = template_frame_at(
        template,
        store,
        found.season,
        found.round,
        chosen,
        inputs=inp,
        expected_grid=imputed,
        auto_features=getattr(model, "auto_features", None),
    )
    if frame.empty:
        raise ValidationFailed(
            f"race: {found.race_id} has no entrants stored (no entry list, grid or results)",
            field="race",
            unprocessable=True,
            code="unknown_race",
        )
    unknown = [f for f in features if f in frame.columns and frame[f].isna().all()]
    if imputed:
        unknown = ["start_position", *unknown]
    notes = race_notes(model, found, chosen, run=state.run, expected_grid=imputed)
    if WEEKEND_MOMENTS.index(chosen) < WEEKEND_MOMENTS.index(min(spec.moment, "pre_race", key=WEEKEND_MOMENTS.index)):
        other = "its other inputs" if imputed else "inputs"
        notes.append(f"template {template!r} predicts at {spec.moment}; {other} not yet known are null")
    known = {
        "entry_list": state.entries or state.grid or state.run,
        "practice": state.practice and chosen != "pre_practice",
        "qualifying": state.qualifying and chosen == "pre_race",
        "grid": state.grid and chosen == "pre_race",
        "result": False,
    }
    return RaceAt(found, chosen, frame, known, notes, unknown, state.run, imputed)


def predict_race_at(
    model: Any,
    race: Any = "next",
    moment: str | None = None,
    *,
    store: Store | None = None,
    name: str | None = None,
    expected_grid: bool = True,
) -> RacePrediction:
    """Predictions of ``model`` (a ``pitwall.ml`` model of a template) for ``race`` at ``moment``
    (the rows and notes of :func:`race_at`)."""
    from pitwall.data.store import get_store

    at = race_at(model, race, moment, store=store or get_store(), expected_grid=expected_grid)
    out = model.predict_frame(at.frame)
    if model.spec.target in out.columns and (not at.run or out[model.spec.target].isna().all()):
        out = out.drop(columns=[model.spec.target])
    if "predicted_rank" in out.columns:
        out = out.sort_values(["predicted_rank"], kind="stable")
    return RacePrediction(
        model=name or model.spec.template,
        template=model.spec.template,
        race=at.race.to_dict(),
        moment=at.moment,
        known=at.known,
        notes=at.notes,
        unknown_inputs=at.unknown_inputs,
        predictions=out.reset_index(drop=True),
        run=at.run,
        extra={"expected_grid": at.expected_grid},
    )


# --------------------------------------------------------------------------- the rest of a season


def inputs_after(inp: FeatureInputs, season: int, after_round: int) -> FeatureInputs:
    """``inp`` as it stood right after round ``after_round`` of ``season``: every race up to it in
    full; of the season's later races only the calendar rows and entry lists; no later season."""
    from pitwall.features.inputs import INPUT_TABLES, FeatureInputs, race_seq

    seq = race_seq(season, after_round)
    last = race_seq(season, 99)
    out = {}
    for name in INPUT_TABLES:
        df = inp[name]
        if not len(df):
            out[name] = df
            continue
        order = race_seq(df["season"], df["round"])
        keep = order <= seq
        if name in ("races", "entries"):
            keep = keep | ((order > seq) & (order <= last))
        out[name] = df[keep.to_numpy(dtype=bool)].reset_index(drop=True)
    return FeatureInputs(out)


SPRINT_POINTS: dict[int, tuple[float, ...]] = {2021: (3, 2, 1)}
"""Sprint points by first season they applied (2022 onward: 8-7-6-5-4-3-2-1 for the top eight)."""
SPRINT_POINTS_2022: tuple[float, ...] = (8, 7, 6, 5, 4, 3, 2, 1)


def sprint_points(season: int) -> tuple[float, ...] | None:
    """The season's sprint points table (None before sprints existed, 2021)."""
    if season < 2021:
        return None
    return SPRINT_POINTS.get(season, SPRINT_POINTS_2022)


def points_rules(season: int) -> str:
    """The season's points rules as simulated (Grand Prix top ten, sprints; not the fastest lap)."""
    sprint = sprint_points(season)
    text = "Grand Prix 25-18-15-12-10-8-6-4-2-1"
    if sprint is not None:
        text += "; sprints " + "-".join(f"{p:g}" for p in sprint)
    if 2019 <= season <= 2024:
        text += "; the fastest-lap point is not simulated"
    return text


def with_sprints(sprint_rounds: set[int], points: tuple[float, ...] | None) -> Any:
    """A simulator (``invocation.Simulator``) that also runs the sprint of each round in
    ``sprint_rounds``, with the sprint points table and the Grand Prix strengths (the model's
    Grand Prix prediction stands in for the sprint's)."""
    from pitwall.serving import championship as champ

    def simulate(fields: list[Any], standings: Any, *, simulations: int, seed: int | None) -> Any:
        sprints = [
            champ.RaceField(f.round, f.drivers, f.constructors, f.strengths, points=points)
            for f in fields
            if points is not None and f.round in sprint_rounds
        ]
        return champ.simulate_championship([*fields, *sprints], standings, simulations=simulations, seed=seed)

    return simulate


def predict_season(
    model: Any,
    season: int,
    *,
    after_round: int | None = None,
    remaining_races: bool = True,
    simulations: int = 10_000,
    seed: int | None = None,
    store: Store | None = None,
    name: str | None = None,
    version: int | None = None,
) -> dict[str, Any]:
    """Championship forecast of ``season`` from the standings after ``after_round`` (default: the
    last round with results): title probabilities and expected points for drivers and
    constructors (the answer of the API's ``{"championship": ...}``), each remaining race
    predicted from what was known after ``after_round``."""
    from pitwall.data.store import get_store
    from pitwall.features import FeatureStore
    from pitwall.features.inputs import FeatureInputs
    from pitwall.serving.invocation import FrameSource, predict_championship
    from pitwall.serving.predictor import Predictor
    from pitwall.serving.races import RaceCatalog

    store = store or get_store()
    template = getattr(model.spec, "template", None)
    if not template:
        raise ValidationFailed("model: not a template model (no template to build race features)", field="model")
    catalog = RaceCatalog(store)
    if not catalog.season_races(season):
        raise ValidationFailed(f"season {season}: no races stored", field="season", unprocessable=True)
    after = catalog.last_completed_round(season) if after_round is None else int(after_round)
    if not remaining_races:
        after = 0
    from pitwall.features.weekend import EXPECTED_GRID_NOTE, with_expected_grids

    cut = inputs_after(FeatureInputs.from_store(store, max_season=season), season, after)
    imputed = "start_position" in list(model.features)
    if imputed:
        remaining = [(season, r.round) for r in catalog.season_races(season) if r.round > after]
        cut = with_expected_grids(cut, remaining)

    def builder(tpl: str, st: Store, s: int, auto_features: Any = None) -> pd.DataFrame:
        from pitwall.templates.predict import template_frame

        return template_frame(_template(tpl), FeatureStore(st, inputs=cut), [s], auto_features)

    predictor = Predictor("local", name or template, int(version or 0), template, model)
    request: dict[str, Any] = {"season": season, "after_round": after, "remaining_races": True}
    request.update(simulations=simulations, seed=seed)
    sprint_rounds = {int(r) for r in _sprint_rounds(store, season) if int(r) > after}
    simulate = with_sprints(sprint_rounds, sprint_points(season))
    answer = predict_championship(predictor, request, catalog, FrameSource(store, builder), simulate)
    answer["simulated_rounds"] = sorted(set(answer["simulated_rounds"]))
    answer["simulated_sprints"] = sorted(sprint_rounds & set(answer["simulated_rounds"]))
    answer["points_system"] = points_rules(season)
    answer["remaining_races"] = remaining_races
    answer["known"] = f"standings after round {after}; remaining races predicted from entry lists and history"
    answer["expected_grid"] = imputed
    if imputed:
        answer["known"] += "; " + EXPECTED_GRID_NOTE
    races = {r.round: r.race_id for r in catalog.season_races(season)}
    in_sample = in_sample_note(model, [(season, races[r]) for r in answer["simulated_rounds"] if r in races])
    if in_sample:
        answer["known"] += "; " + in_sample
    return answer


def race_notes(model: Any, race: Any, moment: str, *, run: bool, expected_grid: bool = False) -> list[str]:
    """What a race answer at ``moment`` was made from (``RaceAt.notes``, and the API's answer for a
    stored race at the template's moment): the moment's note first (the answer's ``known_inputs``),
    then an expected grid standing in, results hidden, in sample."""
    from pitwall.features.weekend import EXPECTED_GRID_NOTE

    notes = [MOMENT_NOTES[moment]]
    if expected_grid:
        notes.append(EXPECTED_GRID_NOTE)
    if run:
        notes.append(f"{race.race_id} has been run: its results were hidden from this {moment} prediction")
    in_sample = in_sample_note(model, [(race.season, race.race_id)])
    if in_sample:
        notes.append(in_sample)
    return notes


def in_sample_note(model: Any, races: list[tuple[int, str]]) -> str | None:
    """A note when some of ``races`` ((season, race id)) are inside the model's training window
    (``pitwall.ml.dataset.in_training_window``): hiding their results from the inputs does not
    hide them from the model, which learned from them."""
    from pitwall.ml.dataset import in_training_window

    window = getattr(model, "data_window", None) or {}
    inside = [race_id for season, race_id in races if in_training_window(window, season, race_id)]
    if not inside:
        return None
    which = inside[0] if len(inside) == 1 else f"{len(inside)} of these races ({inside[0]} to {inside[-1]})"
    return (
        f"in sample: the model was trained on races up to {window.get('last_race')}, {which} among them; "
        "their results shaped it (train on earlier seasons for an honest forecast)"
    )


def _sprint_rounds(store: Store, season: int) -> list[int]:
    races = store.read("races", [season])
    return [int(r) for r in races.loc[races["has_sprint"].fillna(False).astype(bool), "round"]]
