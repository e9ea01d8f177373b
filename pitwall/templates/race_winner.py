"""Race winner: rank the drivers of a Grand Prix by their probability of winning it."""

from pitwall.templates._common import RACE_WISE_FORM, RACE_WISE_MONOTONE
from pitwall.templates.ranking import race_result_builder
from pitwall.templates.spec import Baseline, TemplateSpec

# Default recipe (issue 12), chosen on the 2021-2023 validation seasons by summed winner NLL of
# walk-forward backtests (retrained before every race on the ten seasons before plus the
# season's earlier races); 2024 is only reported. The conditional logit on RACE_WISE_FORM
# (l2 = 0.001) scored 3.520; with the quali gap as log(1 + gap %) 3.457; adding practice pace
# 3.456, team form at the circuit 3.474, points trajectory 3.480, mean qualifying position 3.489
# (each alone, l2 = 0.001); those four with the log gap 3.312 (l2 = 0.01); plus long-run
# degradation and the driver's mean finish at the circuit 3.274 (this default). Not kept: a
# boosted conditional logit (XGBoost on the per-race softmax, monotone, from the grid prior
# 4.073 or from this linear score 3.323), five / three training seasons instead of ten (3.528 /
# 3.579 on RACE_WISE_FORM), Platt (temperature) scaling on earlier seasons' walk-forward outputs
# (3.589 on RACE_WISE_FORM, _common.py), races of older seasons down-weighted (half-life 4 / 2
# seasons: 3.293 / 3.350), a mixture with the slot rate weighted on the three seasons before
# (3.356), the grid prior scaled by the circuit's overtaking difficulty (grid_log_rate x difficulty,
# tried 2026-12: added 3.276, in place of grid_lock 3.273; grid_lock's own fitted weight is near
# zero, and this default ranks Monaco 2024 Leclerc (pole) 0.34, Verstappen (P6) 0.33).
# Reproduce: `.venv/bin/python benchmarks/race_models.py winner` (`--features a,b,... --l2 x` for
# any one list).
WINNER_FEATURES = (
    *(f if f != "quali_gap_to_pole" else "quali_gap_log" for f in RACE_WISE_FORM),
    "fp_pace_ranking",
    "team_track_performance",
    "points_trajectory",
    "avg_quali_position_last_5",
    "tire_deg_rate",
    "avg_position_at_track",
)
# coefficient signs (+1 = p(win) never decreases in the feature, -1 = never increases, absent = free)
WINNER_MONOTONE = {
    **{(f if f != "quali_gap_to_pole" else "quali_gap_log"): v for f, v in RACE_WISE_MONOTONE.items()},
    "fp_pace_ranking": -1,
    "avg_quali_position_last_5": -1,
    "avg_position_at_track": -1,
}
WINNER_PARAMS = {"monotone_constraints": WINNER_MONOTONE, "l2": 0.01}

SPEC = TemplateSpec(
    name="race_winner",
    title="Race winner",
    task="ranking",
    target="position",
    target_doc="finishing position; the model predicts P(position = 1), a softmax over the race's drivers (sums to 1)",
    grain="driver_race",
    moment="pre_race",
    moment_doc="after qualifying, grid known; nothing of the race itself",
    features=WINNER_FEATURES,
    default_algorithm="conditional_logit",  # softmax over the race's drivers (pitwall.ml.ranking_models)
    params=WINNER_PARAMS,
    calibration=None,  # fitted by likelihood of the race's softmax: calibrated by construction
    primary_metric="top1_accuracy",
    baselines=(
        Baseline("baseline_grid", "grid order: the driver starting first wins"),
        Baseline(
            "baseline_grid_slot_rate",
            "empirical P(win | grid slot) over the 10 seasons before, normalised per race",
            "probability",
        ),
    ),
    build=race_result_builder(1),
    top_k=1,
    card_note="Validation (2021-2023, walk-forward): winner NLL below the empirical P(win | grid slot) in every "
    "season (-0.27, -0.44, -0.85) but with a paired interval excluding zero only in 2023; on 2024 it ties the slot "
    "rate (about +0.03, interval containing zero, 24 races) and top-1 ties grid order. The model has not been shown "
    "to beat the grid prior; see benchmarks/templates.md",
)
