"""Race winner: rank the drivers of a Grand Prix by their probability of winning it."""

from pitwall.templates._common import COMPACT_FORM
from pitwall.templates.ranking import race_result_frame
from pitwall.templates.spec import TemplateSpec

SPEC = TemplateSpec(
    name="race_winner",
    title="Race winner",
    task="ranking",
    target="position",
    target_doc="finishing position; the model predicts P(position = 1), normalised to sum to 1 per race",
    grain="driver_race",
    moment="pre_race",
    features=COMPACT_FORM,
    default_algorithm="xgboost",
    primary_metric="top1_accuracy",
    baseline="baseline_grid",
    baseline_doc="grid order: the driver starting first wins",
    build=race_result_frame,
    top_k=1,
)
