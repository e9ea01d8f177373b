"""Pit window: classify when a driver makes the first stop (early / mid / late third of the race)."""

from pitwall.templates._common import PRE_RACE_FEATURES
from pitwall.templates.spec import TemplateSpec
from pitwall.templates.strategy import pit_window_frame

SPEC = TemplateSpec(
    name="pit_window",
    title="Pit window",
    task="classification",
    target="pit_window",
    target_doc="'early' / 'mid' / 'late': third of the race distance of the first normal stop",
    grain="driver_race",
    moment="pre_race",
    features=PRE_RACE_FEATURES,
    default_algorithm="lightgbm",
    primary_metric="f1",
    baseline="baseline_prior_majority",
    baseline_doc="majority class: the most common first-stop window of earlier races",
    build=pit_window_frame,
    first_season=2010,
)
