"""Safety car: classify whether the safety car comes out during a race."""

from pitwall.templates.spec import TemplateSpec
from pitwall.templates.strategy import RACE_FEATURES, safety_car_frame

SPEC = TemplateSpec(
    name="safety_car",
    title="Safety car",
    task="classification",
    target="safety_car",
    target_doc="1 when track status 4 (safety car) was shown on any lap",
    grain="race",
    moment="pre_race",
    features=RACE_FEATURES,
    default_algorithm="random_forest",
    primary_metric="accuracy",
    baseline="baseline_base_rate",
    baseline_doc="base rate: 'yes' when at least half of the earlier races had a safety car",
    build=safety_car_frame,
    entity_col="circuit_id",
    min_train_races=20,
    first_season=2018,
)
