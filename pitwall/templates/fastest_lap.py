"""Fastest lap: rank the drivers by their probability of setting the race's fastest lap."""

from pitwall.templates._common import RACE_FORM
from pitwall.templates.ranking import fastest_lap_frame
from pitwall.templates.spec import Baseline, TemplateSpec

SPEC = TemplateSpec(
    name="fastest_lap",
    title="Fastest lap",
    task="ranking",
    target="fastest_lap_position",
    target_doc="1 for the driver who set the fastest race lap, null for the others",
    grain="driver_race",
    moment="pre_race",
    moment_doc="after qualifying, grid known; nothing of the race itself",
    features=(
        *(f for f in RACE_FORM if f != "grid_slot_rate"),
        "fastest_lap_slot_rate",
        "fastest_lap_point",
        "tire_deg_rate",
    ),
    default_algorithm="xgboost",
    params={
        "monotone_constraints": {"start_position": -1, "fastest_lap_slot_rate": 1, "team_race_pace": -1},
        "n_estimators": 200,
        "max_depth": 3,
        "learning_rate": 0.03,
        "min_child_weight": 5.0,
    },
    calibration="platt",
    primary_metric="top1_accuracy",
    baselines=(
        Baseline("baseline_pole", "pole-sitter: grid order"),
        Baseline("baseline_pace_team", "the better qualifier of the team with the best race pace of earlier races"),
        Baseline(
            "baseline_fastest_lap_slot_rate",
            "empirical P(fastest lap | grid slot) over the 10 seasons before, normalised per race",
            "probability",
        ),
    ),
    build=fastest_lap_frame,
    top_k=1,
    card_note=(
        "the fastest lap is largely a late-race tyre gamble (and from 2025 scores no point): check the verdict "
        "against the pole-sitter before relying on it"
    ),
)
