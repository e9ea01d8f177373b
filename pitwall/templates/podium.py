"""Podium: rank the drivers by their probability of finishing in the top 3."""

from pitwall.templates._common import RACE_FORM, RACE_PARAMS
from pitwall.templates.ranking import race_result_builder
from pitwall.templates.spec import Baseline, TemplateSpec

# Default kept (issue 12): on the 2021-2023 validation seasons (walk-forward, summed log loss of
# P(top 3)) the monotone xgboost with Platt scores 0.6625, the slot rate 0.7508. Not kept:
# conditional logits (pitwall.ml.ranking_models) fitted to the top-3 set with 3 x softmax (what
# algorithm="conditional_logit" gives here) 0.7096, or with exact Plackett-Luce top 3 from the
# same strengths 0.6752; fitted to the winner as race_winner is, Plackett-Luce top 3, 0.6951; on
# RACE_WISE_FORM, Plackett-Luce top 3, 0.6680. A linear Plackett-Luce fitted to the order of the
# first three sums 0.6548 but ties xgboost in every season (paired intervals containing zero) and
# is not a product algorithm. Reproduce: `.venv/bin/python benchmarks/race_models.py podium --vs-default`

SPEC = TemplateSpec(
    name="podium",
    title="Podium (top 3)",
    task="ranking",
    target="position",
    target_doc="finishing position; the model predicts P(position <= 3), normalised to sum to 3 per race",
    grain="driver_race",
    moment="pre_race",
    moment_doc="after qualifying, grid known; nothing of the race itself",
    features=RACE_FORM,
    default_algorithm="xgboost",
    params=RACE_PARAMS,
    calibration="platt",
    primary_metric="topk_overlap",
    baselines=(
        Baseline("baseline_grid", "grid order: the first three on the grid finish on the podium"),
        Baseline(
            "baseline_grid_slot_rate",
            "empirical P(top 3 | grid slot) over the 10 seasons before, normalised per race",
            "probability",
        ),
    ),
    build=race_result_builder(3),
    top_k=3,
    card_note="Validation (2021-2023, walk-forward): log loss below the empirical P(top 3 | grid slot) in every "
    "season (-0.020, -0.039, -0.030) with a paired interval excluding zero only in 2022; top-3 overlap ties grid "
    "order in every season. On 2024 both tie (log loss +0.002, 24 races): the model has not been shown to beat the "
    "grid prior",
)
