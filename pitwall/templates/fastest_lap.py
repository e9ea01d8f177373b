"""Fastest lap: rank the drivers by their probability of setting the race's fastest lap."""

from pitwall.templates._common import PRE_RACE_FEATURES
from pitwall.templates.ranking import fastest_lap_frame
from pitwall.templates.spec import TemplateSpec

SPEC = TemplateSpec(
    name="fastest_lap",
    title="Fastest lap",
    task="ranking",
    target="fastest_lap_position",
    target_doc="1 for the driver who set the fastest race lap, null for the others",
    grain="driver_race",
    moment="pre_race",
    features=PRE_RACE_FEATURES,
    default_algorithm="xgboost",
    primary_metric="top1_accuracy",
    baseline="baseline_grid",
    baseline_doc="grid order: the pole sitter sets the fastest lap",
    build=fastest_lap_frame,
    top_k=1,
)
