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
    default_algorithm="logistic",
    primary_metric="accuracy",
    baselines=(
        Baseline("baseline_prior_majority", "majority class: the most common first-stop window of earlier races"),
        Baseline(
            "baseline_circuit_majority", "circuit majority: most likely window under the circuit's shrunken shares"
        ),
    ),
    build=pit_window_frame,
    first_season=2010,
)
