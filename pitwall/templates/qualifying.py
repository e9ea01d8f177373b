"""Qualifying: predict the full qualifying order from practice and history (pre-qualifying)."""

from pitwall.templates._common import PRE_QUALI_FEATURES
from pitwall.templates.ranking import qualifying_frame
from pitwall.templates.spec import Baseline, TemplateSpec

SPEC = TemplateSpec(
    name="qualifying",
    title="Qualifying order",
    task="ranking",
    target="quali_position",
    target_doc="qualifying position; the model regresses the position and ranks by it",
    grain="driver_race",
    moment="pre_qualifying",
    moment_doc="after the practice sessions held before qualifying",
    features=(*PRE_QUALI_FEATURES, "last_practice_rank"),
    default_algorithm="xgboost",
    # the estimator regresses the position (higher = worse): never better with a worse practice
    # rank, constructor standing or qualifying form
    params={
        "monotone_constraints": {
            "fp_pace_ranking": 1,
            "last_practice_rank": 1,
            "constructor_position": 1,
            "avg_quali_position_last_5": 1,
        },
    },
    primary_metric="spearman",
    baselines=(
        Baseline("baseline_best_practice", "practice order: best practice lap of the weekend (fp_pace_ranking)"),
        Baseline("baseline_last_practice", "last practice session: order of the last session before qualifying"),
    ),
    build=qualifying_frame,
    top_k=None,
)
