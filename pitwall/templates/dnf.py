"""DNF risk: the probability that a driver is not classified, before the race."""

from pitwall.templates.spec import Baseline, TemplateSpec
from pitwall.templates.strategy import DNF_FEATURES, dnf_frame

SPEC = TemplateSpec(
    name="dnf",
    title="DNF risk",
    task="classification",
    target="dnf",
    target_doc="1 when the driver was not classified (retired, disqualified, not classified, did not start)",
    grain="driver_race",
    moment="pre_race",
    features=DNF_FEATURES,
    default_algorithm="logistic",
    primary_metric="log_loss",
    baselines=(
        Baseline("baseline_base_rate", "constant base rate: DNF share of all earlier starts", "probability"),
        Baseline(
            "baseline_circuit_rate",
            "shrunken circuit rate: the circuit's DNF share of earlier starts, pulled towards the base rate "
            "(weight of 50 starts)",
            "probability",
        ),
        Baseline(
            "baseline_grid_slot_rate",
            "grid-slot rate: DNF share of earlier starts from the same grid slot, shrunk towards the base rate",
            "probability",
        ),
    ),
    build=dnf_frame,
    first_season=2005,
)
