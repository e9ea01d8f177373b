"""Gap: predict a driver's gap to the leader (s) at the end of the next lap."""

from pitwall.templates.spec import TemplateSpec
from pitwall.templates.strategy import GAP_FEATURES, gap_frame

SPEC = TemplateSpec(
    name="gap",
    title="Gap to leader",
    task="regression",
    target="gap_to_leader_s",
    target_doc="gap to the leader in seconds at the end of the lap (from cumulative session time)",
    grain="lap",
    moment="in_race",
    features=GAP_FEATURES,
    default_algorithm="lightgbm",
    offset="prev_gap_to_leader_s",  # the model learns the correction to this reference value
    params={"objective": "l1"},  # MAE is the metric; an L1 loss is robust to outlier laps/stops
    primary_metric="mae",
    baseline="baseline_previous_gap",
    baseline_doc="previous lap: the gap stays what it was a lap earlier",
    build=gap_frame,
    backtest_mode="season_start",
    min_train_races=10,
    first_season=2018,
)
