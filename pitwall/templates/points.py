"""Points: rank the drivers by their probability of scoring points (top 10)."""

from pitwall.templates._common import PRE_RACE_FEATURES
from pitwall.templates.ranking import race_result_frame
from pitwall.templates.spec import TemplateSpec

SPEC = TemplateSpec(
    name="points",
    title="Points finish (top 10)",
    task="ranking",
    target="position",
    target_doc="finishing position; the model predicts P(position <= 10), normalised to sum to 10 per race",
    grain="driver_race",
    moment="pre_race",
    features=PRE_RACE_FEATURES,
    default_algorithm="logistic",
    primary_metric="topk_overlap",
    baseline="baseline_grid",
    baseline_doc="grid order: the first ten on the grid score",
    build=race_result_frame,
    top_k=10,
)
