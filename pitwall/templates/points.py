"""Points: rank the drivers by their probability of scoring points (top 10)."""

from pitwall.templates._common import RACE_FORM, RACE_PARAMS
from pitwall.templates.ranking import race_result_builder
from pitwall.templates.spec import Baseline, TemplateSpec

SPEC = TemplateSpec(
    name="points",
    title="Points finish (top 10)",
    task="ranking",
    target="position",
    target_doc="finishing position; the model predicts P(position <= 10), normalised to sum to 10 per race",
    grain="driver_race",
    moment="pre_race",
    moment_doc="after qualifying, grid known; nothing of the race itself",
    features=RACE_FORM,
    default_algorithm="xgboost",
    params=RACE_PARAMS,
    calibration="platt",
    primary_metric="topk_overlap",
    baselines=(
        Baseline("baseline_grid", "grid order: the first ten on the grid score"),
        Baseline(
            "baseline_grid_slot_rate",
            "empirical P(top 10 | grid slot) over the 10 seasons before, normalised per race",
            "probability",
        ),
    ),
    build=race_result_builder(10),
    top_k=10,
)
