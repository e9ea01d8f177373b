"""Safety car: the probability that the safety car comes out during a race, before the race."""

from pitwall.templates.spec import Baseline, TemplateSpec
from pitwall.templates.strategy import RACE_FEATURES, SAFETY_CAR_PARAMS, safety_car_frame

SPEC = TemplateSpec(
    name="safety_car",
    title="Safety car",
    task="classification",
    target="safety_car",
    target_doc="1 when track status 4 (safety car) was shown on any lap",
    grain="race",
    moment="pre_race",
    features=RACE_FEATURES,
    default_algorithm="logistic",
    params=SAFETY_CAR_PARAMS,
    primary_metric="log_loss",
    baselines=(
        Baseline("baseline_base_rate", "constant base rate: share of earlier races with a safety car", "probability"),
        Baseline(
            "baseline_circuit_rate",
            "shrunken circuit rate: the circuit's share of earlier races with a safety car, pulled towards the "
            "base rate with the weight of 5 races",
            "probability",
        ),
    ),
    build=safety_car_frame,
    entity_col="circuit_id",
    min_train_races=20,
    first_season=2018,
    card_note="No skill: a logistic regression on the logit of the shrunken circuit rate (the circuit rate "
    "recalibrated) plus the base rate, circuit type and a street-circuit flag, strongly regularised, ties the "
    "constant base rate and the shrunken circuit rate on every validation season (2021-2023) and on 2024 (paired "
    "intervals contain zero; about 20 races a season). No other pre-race signal tried (the circuit's rate of any "
    "neutralisation or of the VSC, its DNF rate, other shrinkage) does better. A safety car is close to a coin flip "
    "weighted by the circuit's history: use the shrunken circuit rate",
)
