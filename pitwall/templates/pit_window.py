"""Pit window: classify before the race when a driver makes his first stop (early / mid / late
third of the race distance, or none)."""

from pitwall.templates.spec import Baseline, TemplateSpec
from pitwall.templates.strategy import PIT_WINDOW_FEATURES, pit_window_frame

SPEC = TemplateSpec(
    name="pit_window",
    title="Pit window",
    task="classification",
    target="pit_window",
    target_doc="'early' / 'mid' / 'late': third of the race distance of the first normal stop; 'none': no normal "
    "stop (every starter is a row)",
    grain="driver_race",
    moment="pre_race",
    features=PIT_WINDOW_FEATURES,
    # chosen on the 2021-2023 validation seasons (accuracy summed 1.775 vs 1.706 for logistic)
    default_algorithm="lightgbm",
    params={"n_estimators": 60, "min_child_samples": 100, "learning_rate": 0.05},
    primary_metric="accuracy",
    baselines=(
        Baseline("baseline_prior_majority", "majority class: the most common first-stop window of earlier races"),
        Baseline(
            "baseline_circuit_majority", "circuit majority: most likely window under the circuit's shrunken shares"
        ),
    ),
    build=pit_window_frame,
    first_season=2010,
    card_note="Does not beat its baselines: on the 2021-2023 validation seasons and on 2024 it ties or loses "
    "against the majority window of earlier races and the circuit's majority window (a paired interval over "
    "races that contains zero, or favours the baseline). Use the circuit majority.",
)
