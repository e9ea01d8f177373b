"""Pit-stop duration: predict the pit-lane time (s) of a stop."""

from pitwall.templates.spec import TemplateSpec
from pitwall.templates.strategy import PIT_STOP_FEATURES, pit_stop_frame

SPEC = TemplateSpec(
    name="pit_stop_duration",
    title="Pit-stop duration",
    task="regression",
    target="pit_time_s",
    target_doc="pit-lane time of the stop in seconds (red-flag stops over 120 s excluded)",
    grain="pit_stop",
    moment="in_race",
    features=PIT_STOP_FEATURES,
    default_algorithm="lightgbm",
    offset="pit_lane_loss_s",  # the model learns the correction to this reference value
    params={"objective": "l1"},  # MAE is the metric; an L1 loss is robust to outlier laps/stops
    primary_metric="mae",
    baseline="baseline_circuit_median",
    baseline_doc="circuit median: the circuit's median pit-lane time over its earlier races",
    build=pit_stop_frame,
    backtest_mode="season_start",
    first_season=2012,
)
