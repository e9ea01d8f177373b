"""Tyre degradation: predict a stint's degradation rate (s/lap) from what is known at its start."""

from pitwall.templates.spec import TemplateSpec
from pitwall.templates.strategy import STINT_FEATURES, tyre_degradation_frame

SPEC = TemplateSpec(
    name="tyre_degradation",
    title="Tyre degradation",
    task="regression",
    target="deg_s_per_lap",
    target_doc="slope of fuel-corrected clean-lap time against tyre life over the stint, s/lap",
    grain="stint",
    moment="in_race",
    features=STINT_FEATURES,
    default_algorithm="lightgbm",
    offset="prior_compound_deg",  # the model learns the correction to this reference value
    params={"objective": "l1"},  # MAE is the metric; an L1 loss is robust to outlier laps/stops
    primary_metric="mae",
    baseline="baseline_compound_prior",
    baseline_doc="compound average: mean degradation of the same compound in earlier races",
    build=tyre_degradation_frame,
    backtest_mode="season_start",
    min_train_races=10,
    first_season=2018,
)
