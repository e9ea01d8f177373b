"""Rain impact: classify before the race how much rain shapes it (low / medium / high).

No weather forecast exists offline: the inputs are the circuit's and the calendar's rain
history. The race's own observed weather is the target, never an input.
"""

from pitwall.templates.spec import Baseline, TemplateSpec
from pitwall.templates.strategy import RAIN_FEATURES, rain_impact_frame

SPEC = TemplateSpec(
    name="rain_impact",
    title="Rain impact",
    task="classification",
    target="rain_impact",
    target_doc="low / medium / high = dry / mixed / wet race, derived from the race's intermediate and wet tyre use",
    grain="race",
    moment="pre_race",
    features=RAIN_FEATURES,
    default_algorithm="logistic",
    primary_metric="accuracy",
    baselines=(
        Baseline("baseline_prior_majority", "majority class of earlier races (low)"),
        Baseline("baseline_circuit_majority", "most likely class under the circuit's shrunken class shares"),
    ),
    build=rain_impact_frame,
    entity_col="circuit_id",
    min_train_races=20,
    first_season=2018,
    card_note="No skill without a forecast: it ties the majority class ('low') and the circuit's majority class; "
    "a live prediction needs a weather forecast, which no offline source has.",
)
