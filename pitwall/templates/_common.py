"""Default feature lists shared by several template specs."""

from pitwall.templates.frames import DRIVER_FEATURES, PRE_QUALI_SESSION, PRE_RACE_SESSION, TEAM_FEATURES

PRE_RACE_FEATURES = (*DRIVER_FEATURES, *TEAM_FEATURES, *PRE_RACE_SESSION)
PRE_QUALI_FEATURES = (*DRIVER_FEATURES, *TEAM_FEATURES, *PRE_QUALI_SESSION)

# Defaults of the race-result templates were chosen on walk-forward backtests of 2022 and 2023
# (validation seasons; 2024 is the reported test season): four candidate feature sets x
# {logistic, xgboost}, best primary metric summed over both seasons, ties broken by log loss.
# Reproduce with `pitwall backtest TEMPLATE --season 2022|2023 --algorithm ...`.
GRID_AND_TEAM = ("start_position", "constructor_position")
COMPACT_FORM = (
    "start_position",
    "quali_gap_to_pole",
    "constructor_position",
    "avg_race_position_last_5",
    "points_last_3_races",
    "reliability_rate",
    "dnf_rate_season",
)

# Race-result models (issue 12), chosen on the 2021-2023 validation seasons (race_winner: this
# monotone xgboost averages top-1 0.576 / winner NLL 1.203 against logistic on the same inputs
# 0.561 / 1.219 and grid order 0.530 / slot rate 1.610; podium and points share the recipe):
# the grid kept as a prior (its empirical top-k rate from earlier
# seasons), how much the circuit locks the grid in, the team's race pace from earlier races'
# clean laps, form and reliability; monotone where the domain is.
RACE_FORM = (
    "start_position",
    "grid_slot_rate",
    "grid_lock",
    "quali_gap_to_pole",
    "constructor_position",
    "team_race_pace",
    "avg_race_position_last_5",
    "points_last_3_races",
    "reliability_rate",
    "dnf_rate_season",
)
# direction of the estimator's output (P(top k)) in each feature: -1 = never increases with it
RACE_MONOTONE = {
    "start_position": -1,
    "grid_slot_rate": 1,
    "grid_lock": -1,
    "quali_gap_to_pole": -1,
    "constructor_position": -1,
    "team_race_pace": -1,
    "avg_race_position_last_5": -1,
    "points_last_3_races": 1,
    "reliability_rate": 1,
    "dnf_rate_season": -1,
}
RACE_PARAMS = {
    "monotone_constraints": RACE_MONOTONE,
    "n_estimators": 300,
    "max_depth": 3,
    "learning_rate": 0.03,
    "min_child_weight": 5.0,
}

# The race-wise form (issue 12; race_winner.py adds its own inputs to it and says how its default
# was chosen): the conditional logit of pitwall.ml.ranking_models
# (a softmax over the race's drivers, fitted by maximum likelihood), on RACE_FORM with the grid
# prior as the log of its empirical slot rate, every coefficient signed as RACE_MONOTONE. Chosen
# on the 2021-2023 validation seasons (walk-forward, retrained before every race), summed winner
# NLL: conditional logit l2 = 0.001 without Platt 3.520, with Platt 3.589; l2 = 0.01 3.553 / 3.612;
# l2 = 0.1 3.580 / 3.598; the monotone xgboost above (with Platt) 3.610; top-1 equal (0.576).
# A softmax fitted by likelihood is calibrated by construction: no Platt step on top.
RACE_WISE_FORM = tuple("grid_log_rate" if f == "grid_slot_rate" else f for f in RACE_FORM)
RACE_WISE_MONOTONE = {("grid_log_rate" if f == "grid_slot_rate" else f): v for f, v in RACE_MONOTONE.items()}
RACE_WISE_PARAMS = {"monotone_constraints": RACE_WISE_MONOTONE, "l2": 0.001}
