"""Tyre degradation: predict a stint's degradation rate (s/lap) from what is known at its start.

The stint's final length (``stint_planned_laps``) is known only when it ends: it is a scenario
input (an assumed stint length for a strategy what-if), never a default feature.
"""

from pitwall.templates.spec import Baseline, TemplateSpec
from pitwall.templates.strategy import STINT_FEATURES, STINT_SCENARIO, tyre_degradation_frame

SPEC = TemplateSpec(
    name="tyre_degradation",
    title="Tyre degradation",
    task="regression",
    target="deg_s_per_lap",
    target_doc="slope of fuel-corrected clean-lap time against tyre life over the stint, s/lap",
    grain="stint",
    moment="in_race",
    moment_doc="start of stint: everything up to the end of the lap before its first lap, plus its tyres",
    features=STINT_FEATURES,
    scenario_inputs=STINT_SCENARIO,
    default_algorithm="lightgbm",
    offset="circuit_compound_median",  # the model learns the correction to this reference value
    # chosen on the 2021-2023 validation seasons (MAE summed: 0.2355 vs 0.2589 for the library
    # defaults and 0.2406 for the baseline); reported on 2024
    params={"objective": "l1", "n_estimators": 60, "min_child_samples": 200, "learning_rate": 0.05},
    primary_metric="mae",
    baselines=(
        Baseline(
            "baseline_circuit_compound",
            "circuit x compound median: the median slope of the compound at the circuit in earlier races",
        ),
    ),
    build=tyre_degradation_frame,
    backtest_mode="season_start",
    min_train_races=10,
    first_season=2018,
)
