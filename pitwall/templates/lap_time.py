"""Lap time: predict a driver's next lap time (s) from the state at the end of the previous lap."""

from pitwall.templates.spec import TemplateSpec
from pitwall.templates.strategy import LAP_STATE, lap_time_frame

SPEC = TemplateSpec(
    name="lap_time",
    title="Lap time",
    task="regression",
    target="lap_time_s",
    target_doc="lap time in seconds (laps with a previous lap, no red flag, under 240 s)",
    grain="lap",
    moment="in_race",
    features=LAP_STATE,
    default_algorithm="lightgbm",
    offset="prev_lap_time_s",  # the model learns the correction to this reference value
    params={"objective": "l1"},  # MAE is the metric; an L1 loss is robust to outlier laps/stops
    primary_metric="mae",
    baseline="baseline_previous_lap",
    baseline_doc="previous lap: the driver's last lap time",
    build=lap_time_frame,
    backtest_mode="season_start",
    min_train_races=10,
    first_season=2018,
)
