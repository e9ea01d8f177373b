"""Fastest lap: rank the drivers by their probability of setting the race's fastest lap."""

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
    # chosen on the 2021-2023 validation seasons (best mean top-1; log loss within 0.004 of the best
    # candidate, xgboost on the same inputs): grid, the slot's historical fastest-lap rate, the team's
    # race pace from earlier races' clean laps and its gap to the fastest team, the better starter of
    # the team, the fastest-lap-point regime (2019-2024), quali gap and tyre degradation
    features=(
        "start_position",
        "fastest_lap_slot_rate",
        "team_race_pace",
        "team_pace_gap",
        "ahead_of_teammate",
        "fastest_lap_point",
        "quali_gap_to_pole",
        "tire_deg_rate",
    ),
    default_algorithm="logistic",
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
