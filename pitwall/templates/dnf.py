"""DNF risk: classify whether a driver fails to be classified in the race."""

from pitwall.templates._common import PRE_RACE_FEATURES
from pitwall.templates.spec import TemplateSpec
from pitwall.templates.strategy import dnf_frame

SPEC = TemplateSpec(
    name="dnf",
    title="DNF risk",
    task="classification",
    target="dnf",
    target_doc="1 when the driver was not classified (retired, disqualified, not classified)",
    grain="driver_race",
    moment="pre_race",
    features=PRE_RACE_FEATURES,
    default_algorithm="lightgbm",
    primary_metric="roc_auc",
    baseline="baseline_prior_majority",
    baseline_doc="base rate: the majority outcome of earlier races (finishes)",
    build=dnf_frame,
    first_season=2005,
)
