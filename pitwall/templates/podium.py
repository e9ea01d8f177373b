"""Podium: rank the drivers by their probability of finishing in the top 3."""

from pitwall.templates._common import GRID_AND_TEAM
from pitwall.templates.ranking import race_result_frame
from pitwall.templates.spec import TemplateSpec

SPEC = TemplateSpec(
    name="podium",
    title="Podium (top 3)",
    task="ranking",
    target="position",
    target_doc="finishing position; the model predicts P(position <= 3), normalised to sum to 3 per race",
    grain="driver_race",
    moment="pre_race",
    features=GRID_AND_TEAM,
    default_algorithm="logistic",
    primary_metric="topk_overlap",
    baseline="baseline_grid",
    baseline_doc="grid order: the first three on the grid finish on the podium",
    build=race_result_frame,
    top_k=3,
)
