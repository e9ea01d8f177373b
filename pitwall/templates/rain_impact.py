"""Rain impact: classify how much rain shapes a race (low / medium / high)."""

from pitwall.templates.spec import TemplateSpec
from pitwall.templates.strategy import RACE_FEATURES, rain_impact_frame

SPEC = TemplateSpec(
    name="rain_impact",
    title="Rain impact",
    task="classification",
    target="rain_impact",
    target_doc="low / medium / high = dry / mixed / wet race, derived from intermediate and wet tyre use",
    grain="race",
    moment="pre_race",
    features=RACE_FEATURES,
    default_algorithm="random_forest",
    primary_metric="accuracy",
    baseline="baseline_prior_majority",
    baseline_doc="majority class of earlier races (low)",
    build=rain_impact_frame,
    entity_col="circuit_id",
    min_train_races=20,
    first_season=2018,
)
