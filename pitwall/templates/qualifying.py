"""Qualifying: predict the full qualifying order from practice and history (pre-qualifying)."""

from pitwall.templates._common import PRE_QUALI_FEATURES
from pitwall.templates.ranking import qualifying_frame
from pitwall.templates.spec import TemplateSpec

SPEC = TemplateSpec(
    name="qualifying",
    title="Qualifying order",
    task="ranking",
    target="quali_position",
    target_doc="qualifying position; the model regresses the position and ranks by it",
    grain="driver_race",
    moment="pre_qualifying",
    features=PRE_QUALI_FEATURES,
    default_algorithm="xgboost",
    primary_metric="spearman",
    baseline="baseline_practice",
    baseline_doc="practice order: fp_pace_ranking (best practice lap of the weekend)",
    build=qualifying_frame,
    top_k=None,
)
