"""Race winner: rank the drivers of a Grand Prix by their probability of winning it."""

from pitwall.templates._common import RACE_FORM, RACE_PARAMS
from pitwall.templates.ranking import race_result_builder
from pitwall.templates.spec import Baseline, TemplateSpec

SPEC = TemplateSpec(
    name="race_winner",
    title="Race winner",
    task="ranking",
    target="position",
    target_doc="finishing position; the model predicts P(position = 1), normalised to sum to 1 per race",
    grain="driver_race",
    moment="pre_race",
    moment_doc="after qualifying, grid known; nothing of the race itself",
    features=RACE_FORM,
    default_algorithm="xgboost",
    params=RACE_PARAMS,
    calibration="platt",
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
)
