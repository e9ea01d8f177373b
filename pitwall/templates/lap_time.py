"""Lap time: a green-lap model of a driver's next lap, from the state at the end of the previous lap.

Rows: green laps of one stint (lap N and lap N-1 clean: green flags only, no pit entry or exit,
same stint). The model predicts lap N at its start from past laps only: it learns the change
from the previous lap (its offset) from how far lap N-1 was off the driver's recent clean
pace, the lap before, tyre age, fuel and the gap to the car ahead. The lap's own track status
and pit flags never reach it. Baseline on the same rows: the previous lap.

Every lap (pit, safety-car, yellow laps too) is the scope of a different question — "what if lap N
runs under this status" — answered by ``strategy.status_aware_naive`` over
``strategy.all_laps_frame``, whose lap status is an explicit scenario input
(``scenario_lap_status``): on 2024 (ratios from 2018-2023) it has MAE 1.225 s against 2.162 s for
the previous lap, over 18 races. That gain is the lap's own status, not skill at predicting it.
"""

from pitwall.templates.spec import Baseline, TemplateSpec
from pitwall.templates.strategy import LAP_TIME_FEATURES, lap_time_frame

SPEC = TemplateSpec(
    name="lap_time",
    title="Lap time",
    task="regression",
    target="lap_time_s",
    target_doc="lap time in seconds of a green lap that follows a green lap of the same stint",
    grain="lap",
    moment="in_race",
    moment_doc="start of lap N: everything up to the end of lap N-1, plus the tyres the car runs on lap N",
    features=LAP_TIME_FEATURES,
    default_algorithm="lightgbm",
    offset="prev_lap_time_s",  # the model learns lap N - lap N-1
    # L1 (MAE is the metric); library defaults won on the 2021-2023 validation seasons (MAE summed
    # 1.312 vs 1.327 for 300 trees at learning rate 0.05)
    params={"objective": "l1"},
    primary_metric="mae",
    baselines=(Baseline("baseline_previous_lap", "previous lap: the driver's last lap time"),),
    build=lap_time_frame,
    backtest_mode="season_start",
    min_train_races=10,
    first_season=2018,
    card_note="Scored on green same-stint laps only (the rows of this template); pit, safety-car and "
    "yellow laps are outside its scope.",
)
