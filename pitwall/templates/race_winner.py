"""Race winner: rank the drivers of a Grand Prix by their probability of winning it."""

from pitwall.templates._common import RACE_WISE_FORM, RACE_WISE_PARAMS
from pitwall.templates.ranking import race_result_builder
from pitwall.templates.spec import Baseline, TemplateSpec

SPEC = TemplateSpec(
    name="race_winner",
    title="Race winner",
    task="ranking",
    target="position",
    target_doc="finishing position; the model predicts P(position = 1), a softmax over the race's drivers (sums to 1)",
    grain="driver_race",
    moment="pre_race",
    moment_doc="after qualifying, grid known; nothing of the race itself",
    features=RACE_WISE_FORM,
    default_algorithm="conditional_logit",  # softmax over the race's drivers (pitwall.ml.ranking_models)
    params=RACE_WISE_PARAMS,
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
    "season (-0.11, -0.38, -0.82) but with a paired interval excluding zero only in 2023; top-1 ties grid order in "
    "2021-2022 and beats it in 2023. Where the interval contains zero the model has not been shown to beat the grid "
    "prior; see benchmarks/templates.md for the reported season",
)
