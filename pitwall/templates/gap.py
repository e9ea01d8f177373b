"""Gap: a green-lap model of a driver's gap to the leader at the end of the next lap.

Rows: green laps of one stint (as ``lap_time``). The model predicts at the start of lap N from
past laps only: the change of the gap (its offset is the previous gap) from the gap's recent
trend, how far lap N-1 was off the driver's recent pace, the car ahead, tyres and fuel.
Baseline on the same rows: the previous gap.
"""

from pitwall.templates.spec import Baseline, TemplateSpec
from pitwall.templates.strategy import GAP_FEATURES, gap_frame

SPEC = TemplateSpec(
    name="gap",
    title="Gap to leader",
    task="regression",
    target="gap_to_leader_s",
    target_doc="gap to the leader in seconds at the end of a green lap (from cumulative session time)",
    grain="lap",
    moment="in_race",
    moment_doc="start of lap N: everything up to the end of lap N-1, plus the tyres the car runs on lap N",
    features=GAP_FEATURES,
    default_algorithm="lightgbm",
    offset="prev_gap_to_leader_s",  # the model learns gap(N) - gap(N-1)
    # chosen on the 2021-2023 validation seasons (MAE summed 2.421 vs 2.426 for the library defaults)
    params={"objective": "l1", "n_estimators": 300, "learning_rate": 0.05, "min_child_samples": 50},
    primary_metric="mae",
    baselines=(Baseline("baseline_previous_gap", "previous gap: the gap stays what it was a lap earlier"),),
    build=gap_frame,
    backtest_mode="season_start",
    min_train_races=10,
    first_season=2018,
    card_note="Scored on green same-stint laps only; a pit stop or safety car of the leader moves every gap.",
)
