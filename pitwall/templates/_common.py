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
