"""What each built-in template and feature is, as plain data the lean API Lambda can import (no pandas).

The training-request contract (:mod:`pitwall.workflow.request`) checks requests against it and the
API's catalogue operations (:mod:`pitwall.api.catalog`: templates, notebooks, the feature catalogue)
answer from it, so the lean cloud Lambda answers exactly what ``pitwall serve`` does.

GENERATED from :mod:`pitwall.templates` and :mod:`pitwall.features.spec` (the one source of
truth); unit tests (``tests/unit/workflow/test_training_request.py``,
``tests/unit/api/test_catalog_facts.py``) fail when they drift. Regenerate with::

    python -m pitwall.workflow.template_facts
"""

# ruff: noqa: E501 - the generated tables hold the specs' long definitions verbatim

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class BaselineFacts:
    """One naive rule reported beside a template's model (``pitwall.templates.spec.Baseline``)."""

    name: str
    doc: str
    kind: str


@dataclass(frozen=True)
class TemplateFacts:
    """The parts of a template a training request is checked against, and its catalogue card."""

    name: str
    default_algorithm: str
    first_season: int
    features: tuple[str, ...]
    scenario_inputs: tuple[str, ...]
    feature_groups: dict[str, tuple[str, ...]]
    title: str
    task: str
    target: str
    target_doc: str
    moment: str
    moment_doc: str
    primary_metric: str
    top_k: int | None
    baselines: tuple[BaselineFacts, ...]
    card_note: str


@dataclass(frozen=True)
class FeatureFacts:
    """One built-in feature (``pitwall.features.spec.FeatureSpec``)."""

    name: str
    group: str
    definition: str
    source: str
    dtype: str
    moments: tuple[str, ...]
    known_at: str


@dataclass(frozen=True)
class HyperparameterFacts:
    """One hyperparameter a training request may set (``hyperparameters``): an entry of the
    algorithm's tuning search space (``pitwall.ml.algorithms``) and the values accepted for it.

    ``kind`` ``int`` / ``float``: a number in ``[low, high]``, the search range widened (whole
    numbers from half its low to 4x its high; floats from a tenth of its low to 10x its high, a
    fraction's high capped at 1); ``choice``: one of ``choices``. ``default``: the algorithm's."""

    name: str
    kind: str
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()


AUTO_ALGORITHM = "auto"
TUNING_METHODS: tuple[str, ...] = ("bayes", "grid", "random")
BEGIN = "# BEGIN GENERATED (python -m pitwall.workflow.template_facts)"
END = "# END GENERATED"

# BEGIN GENERATED (python -m pitwall.workflow.template_facts)
ALGORITHM_NAMES: tuple[str, ...] = (
    "xgboost",
    "lightgbm",
    "random_forest",
    "gradient_boosting",
    "neural_net",
    "logistic",
    "linear",
    "conditional_logit",
    "catboost",
    "torch_mlp",
)
ALGORITHM_HYPERPARAMETERS: dict[str, tuple[HyperparameterFacts, ...]] = {
    "xgboost": (
        HyperparameterFacts(name="n_estimators", kind="int", default=300, low=25, high=2400, choices=()),
        HyperparameterFacts(name="max_depth", kind="int", default=4, low=1, high=32, choices=()),
        HyperparameterFacts(name="learning_rate", kind="float", default=0.05, low=0.001, high=1.0, choices=()),
        HyperparameterFacts(name="subsample", kind="float", default=0.9, low=0.06, high=1.0, choices=()),
        HyperparameterFacts(name="colsample_bytree", kind="float", default=0.9, low=0.05, high=1.0, choices=()),
        HyperparameterFacts(name="min_child_weight", kind="float", default=1.0, low=0.1, high=200.0, choices=()),
        HyperparameterFacts(name="reg_lambda", kind="float", default=1.0, low=0.0001, high=100.0, choices=()),
    ),
    "lightgbm": (
        HyperparameterFacts(name="n_estimators", kind="int", default=300, low=25, high=2400, choices=()),
        HyperparameterFacts(name="num_leaves", kind="int", default=15, low=2, high=252, choices=()),
        HyperparameterFacts(name="learning_rate", kind="float", default=0.05, low=0.001, high=1.0, choices=()),
        HyperparameterFacts(name="min_child_samples", kind="int", default=20, low=2, high=240, choices=()),
        HyperparameterFacts(name="subsample", kind="float", default=0.9, low=0.06, high=1.0, choices=()),
        HyperparameterFacts(name="colsample_bytree", kind="float", default=0.9, low=0.05, high=1.0, choices=()),
        HyperparameterFacts(name="reg_lambda", kind="float", default=1.0, low=0.0001, high=100.0, choices=()),
    ),
    "random_forest": (
        HyperparameterFacts(name="n_estimators", kind="int", default=300, low=50, high=2000, choices=()),
        HyperparameterFacts(name="max_depth", kind="choice", default=0, low=None, high=None, choices=(0, 4, 6, 8, 12)),
        HyperparameterFacts(name="min_samples_leaf", kind="int", default=3, low=1, high=120, choices=()),
        HyperparameterFacts(
            name="max_features", kind="choice", default="sqrt", low=None, high=None, choices=("sqrt", "log2", 0.5, 1.0)
        ),
    ),
    "gradient_boosting": (
        HyperparameterFacts(name="max_iter", kind="int", default=200, low=25, high=2000, choices=()),
        HyperparameterFacts(name="learning_rate", kind="float", default=0.05, low=0.001, high=1.0, choices=()),
        HyperparameterFacts(name="max_leaf_nodes", kind="int", default=15, low=2, high=252, choices=()),
        HyperparameterFacts(name="min_samples_leaf", kind="int", default=20, low=2, high=240, choices=()),
        HyperparameterFacts(name="l2_regularization", kind="float", default=1.0, low=1e-05, high=100.0, choices=()),
    ),
    "neural_net": (
        HyperparameterFacts(
            name="hidden_layer_sizes",
            kind="choice",
            default="64-32",
            low=None,
            high=None,
            choices=("32", "64", "64-32", "128-64"),
        ),
        HyperparameterFacts(
            name="alpha", kind="float", default=0.001, low=1.0000000000000002e-06, high=1.0, choices=()
        ),
        HyperparameterFacts(name="learning_rate_init", kind="float", default=0.001, low=1e-05, high=1.0, choices=()),
    ),
    "logistic": (HyperparameterFacts(name="C", kind="float", default=1.0, low=0.0001, high=1000.0, choices=()),),
    "linear": (HyperparameterFacts(name="alpha", kind="float", default=1.0, low=0.0001, high=1000.0, choices=()),),
    "conditional_logit": (HyperparameterFacts(name="l2", kind="float", default=0.01, low=1e-05, high=1.0, choices=()),),
    "catboost": (
        HyperparameterFacts(name="iterations", kind="int", default=300, low=25, high=2400, choices=()),
        HyperparameterFacts(name="depth", kind="int", default=6, low=1, high=32, choices=()),
        HyperparameterFacts(name="learning_rate", kind="float", default=0.05, low=0.001, high=1.0, choices=()),
        HyperparameterFacts(name="l2_leaf_reg", kind="float", default=3.0, low=0.01, high=300.0, choices=()),
        HyperparameterFacts(name="random_strength", kind="float", default=1.0, low=0.01, high=100.0, choices=()),
    ),
    "torch_mlp": (
        HyperparameterFacts(
            name="hidden_layer_sizes",
            kind="choice",
            default="64-32",
            low=None,
            high=None,
            choices=("32-16", "64-32", "128-64"),
        ),
        HyperparameterFacts(name="learning_rate", kind="float", default=0.001, low=1e-05, high=1.0, choices=()),
        HyperparameterFacts(name="weight_decay", kind="float", default=0.0001, low=1e-07, high=1.0, choices=()),
        HyperparameterFacts(name="batch_size", kind="choice", default=64, low=None, high=None, choices=(32, 64, 128)),
    ),
}
FEATURE_GROUPS: tuple[str, ...] = ("driver", "team", "session")
CONDITIONS: tuple[str, ...] = ("dry", "mixed", "wet")
TEMPLATE_FACTS: dict[str, TemplateFacts] = {
    "race_winner": TemplateFacts(
        name="race_winner",
        default_algorithm="conditional_logit",
        first_season=1994,
        features=(
            "start_position",
            "grid_log_rate",
            "grid_lock",
            "quali_gap_log",
            "constructor_position",
            "team_race_pace",
            "avg_race_position_last_5",
            "points_last_3_races",
            "reliability_rate",
            "dnf_rate_season",
            "fp_pace_ranking",
            "team_track_performance",
            "points_trajectory",
            "avg_quali_position_last_5",
            "tire_deg_rate",
            "avg_position_at_track",
        ),
        scenario_inputs=(),
        feature_groups={
            "session": ("start_position", "fp_pace_ranking", "tire_deg_rate"),
            "other": ("grid_log_rate", "grid_lock", "quali_gap_log"),
            "team": (
                "constructor_position",
                "team_race_pace",
                "reliability_rate",
                "team_track_performance",
                "points_trajectory",
            ),
            "driver": (
                "avg_race_position_last_5",
                "points_last_3_races",
                "dnf_rate_season",
                "avg_quali_position_last_5",
                "avg_position_at_track",
            ),
        },
        title="Race winner",
        task="ranking",
        target="position",
        target_doc="finishing position; the model predicts P(position = 1), a softmax over the race's drivers (sums to 1)",
        moment="pre_race",
        moment_doc="after qualifying, grid known; nothing of the race itself",
        primary_metric="top1_accuracy",
        top_k=1,
        baselines=(
            BaselineFacts(name="grid", doc="grid order: the driver starting first wins", kind="point"),
            BaselineFacts(
                name="grid_slot_rate",
                doc="empirical P(win | grid slot) over the 10 seasons before, normalised per race",
                kind="probability",
            ),
        ),
        card_note="Validation (2021-2023, walk-forward): winner NLL below the empirical P(win | grid slot) in every season (-0.27, -0.44, -0.85) but with a paired interval excluding zero only in 2023; on 2024 it ties the slot rate (about +0.03, interval containing zero, 24 races) and top-1 ties grid order. The model has not been shown to beat the grid prior; see benchmarks/templates.md",
    ),
    "podium": TemplateFacts(
        name="podium",
        default_algorithm="xgboost",
        first_season=1994,
        features=(
            "start_position",
            "grid_slot_rate",
            "grid_lock",
            "quali_gap_to_pole",
            "constructor_position",
            "team_race_pace",
            "avg_race_position_last_5",
            "points_last_3_races",
            "reliability_rate",
            "dnf_rate_season",
        ),
        scenario_inputs=(),
        feature_groups={
            "session": ("start_position", "quali_gap_to_pole"),
            "other": ("grid_slot_rate", "grid_lock"),
            "team": ("constructor_position", "team_race_pace", "reliability_rate"),
            "driver": ("avg_race_position_last_5", "points_last_3_races", "dnf_rate_season"),
        },
        title="Podium (top 3)",
        task="ranking",
        target="position",
        target_doc="finishing position; the model predicts P(position <= 3), normalised to sum to 3 per race",
        moment="pre_race",
        moment_doc="after qualifying, grid known; nothing of the race itself",
        primary_metric="topk_overlap",
        top_k=3,
        baselines=(
            BaselineFacts(
                name="grid", doc="grid order: the first three on the grid finish on the podium", kind="point"
            ),
            BaselineFacts(
                name="grid_slot_rate",
                doc="empirical P(top 3 | grid slot) over the 10 seasons before, normalised per race",
                kind="probability",
            ),
        ),
        card_note="Validation (2021-2023, walk-forward): log loss below the empirical P(top 3 | grid slot) in every season (-0.020, -0.039, -0.030) with a paired interval excluding zero only in 2022; top-3 overlap ties grid order in every season. On 2024 both tie (log loss +0.002, 24 races): the model has not been shown to beat the grid prior",
    ),
    "points": TemplateFacts(
        name="points",
        default_algorithm="xgboost",
        first_season=1994,
        features=(
            "start_position",
            "grid_slot_rate",
            "grid_lock",
            "quali_gap_to_pole",
            "constructor_position",
            "team_race_pace",
            "avg_race_position_last_5",
            "points_last_3_races",
            "reliability_rate",
            "dnf_rate_season",
        ),
        scenario_inputs=(),
        feature_groups={
            "session": ("start_position", "quali_gap_to_pole"),
            "other": ("grid_slot_rate", "grid_lock"),
            "team": ("constructor_position", "team_race_pace", "reliability_rate"),
            "driver": ("avg_race_position_last_5", "points_last_3_races", "dnf_rate_season"),
        },
        title="Points finish (top 10)",
        task="ranking",
        target="position",
        target_doc="finishing position; the model predicts P(position <= 10), normalised to sum to 10 per race",
        moment="pre_race",
        moment_doc="after qualifying, grid known; nothing of the race itself",
        primary_metric="topk_overlap",
        top_k=10,
        baselines=(
            BaselineFacts(name="grid", doc="grid order: the first ten on the grid score", kind="point"),
            BaselineFacts(
                name="grid_slot_rate",
                doc="empirical P(top 10 | grid slot) over the 10 seasons before, normalised per race",
                kind="probability",
            ),
        ),
        card_note="",
    ),
    "qualifying": TemplateFacts(
        name="qualifying",
        default_algorithm="xgboost",
        first_season=1994,
        features=(
            "avg_quali_position_last_5",
            "avg_race_position_last_5",
            "avg_positions_gained",
            "dnf_rate_season",
            "avg_position_at_track",
            "best_finish_at_track",
            "track_experience_races",
            "points_last_3_races",
            "quali_trend",
            "race_pace_vs_teammate",
            "career_wins",
            "career_poles",
            "career_points",
            "constructor_position",
            "avg_pit_stop_time",
            "reliability_rate",
            "points_trajectory",
            "upgrade_effectiveness",
            "team_track_performance",
            "power_track_advantage",
            "downforce_track_advantage",
            "team_race_pace",
            "fp_pace_ranking",
            "tire_deg_rate",
            "last_practice_rank",
        ),
        scenario_inputs=(),
        feature_groups={
            "driver": (
                "avg_quali_position_last_5",
                "avg_race_position_last_5",
                "avg_positions_gained",
                "dnf_rate_season",
                "avg_position_at_track",
                "best_finish_at_track",
                "track_experience_races",
                "points_last_3_races",
                "quali_trend",
                "race_pace_vs_teammate",
                "career_wins",
                "career_poles",
                "career_points",
            ),
            "team": (
                "constructor_position",
                "avg_pit_stop_time",
                "reliability_rate",
                "points_trajectory",
                "upgrade_effectiveness",
                "team_track_performance",
                "power_track_advantage",
                "downforce_track_advantage",
                "team_race_pace",
            ),
            "session": ("fp_pace_ranking", "tire_deg_rate"),
            "other": ("last_practice_rank",),
        },
        title="Qualifying order",
        task="ranking",
        target="quali_position",
        target_doc="qualifying position; the model regresses the position and ranks by it",
        moment="pre_qualifying",
        moment_doc="after the practice sessions held before qualifying",
        primary_metric="spearman",
        top_k=None,
        baselines=(
            BaselineFacts(
                name="best_practice",
                doc="practice order: best practice lap of the weekend (fp_pace_ranking)",
                kind="point",
            ),
            BaselineFacts(
                name="last_practice",
                doc="last practice session: order of the last session before qualifying",
                kind="point",
            ),
        ),
        card_note="",
    ),
    "fastest_lap": TemplateFacts(
        name="fastest_lap",
        default_algorithm="logistic",
        first_season=1994,
        features=(
            "start_position",
            "fastest_lap_slot_rate",
            "team_race_pace",
            "team_pace_gap",
            "ahead_of_teammate",
            "fastest_lap_point",
            "quali_gap_to_pole",
            "tire_deg_rate",
        ),
        scenario_inputs=(),
        feature_groups={
            "session": ("start_position", "quali_gap_to_pole", "tire_deg_rate"),
            "other": ("fastest_lap_slot_rate", "team_pace_gap", "ahead_of_teammate", "fastest_lap_point"),
            "team": ("team_race_pace",),
        },
        title="Fastest lap",
        task="ranking",
        target="fastest_lap_position",
        target_doc="1 for the driver who set the fastest race lap, null for the others",
        moment="pre_race",
        moment_doc="after qualifying, grid known; nothing of the race itself",
        primary_metric="top1_accuracy",
        top_k=1,
        baselines=(
            BaselineFacts(name="pole", doc="pole-sitter: grid order", kind="point"),
            BaselineFacts(
                name="pace_team",
                doc="the better qualifier of the team with the best race pace of earlier races",
                kind="point",
            ),
            BaselineFacts(
                name="fastest_lap_slot_rate",
                doc="empirical P(fastest lap | grid slot) over the 10 seasons before, normalised per race",
                kind="probability",
            ),
        ),
        card_note="the fastest lap is largely a late-race tyre gamble (and from 2025 scores no point): check the verdict against the pole-sitter before relying on it",
    ),
    "lap_time": TemplateFacts(
        name="lap_time",
        default_algorithm="lightgbm",
        first_season=2018,
        features=(
            "prev_lap_time_s",
            "prev_vs_recent_s",
            "prev_vs_prev2_s",
            "tyre_life",
            "compound_code",
            "fresh_tyre_flag",
            "stint",
            "lap_number",
            "laps_remaining",
            "fuel_load_proxy",
            "prev_interval_s",
        ),
        scenario_inputs=(),
        feature_groups={
            "other": (
                "prev_lap_time_s",
                "prev_vs_recent_s",
                "prev_vs_prev2_s",
                "tyre_life",
                "compound_code",
                "fresh_tyre_flag",
                "stint",
                "lap_number",
                "laps_remaining",
                "fuel_load_proxy",
                "prev_interval_s",
            )
        },
        title="Lap time",
        task="regression",
        target="lap_time_s",
        target_doc="lap time in seconds of a green lap that follows a green lap of the same stint",
        moment="in_race",
        moment_doc="start of lap N: everything up to the end of lap N-1, plus the tyres the car runs on lap N",
        primary_metric="mae",
        top_k=None,
        baselines=(BaselineFacts(name="previous_lap", doc="previous lap: the driver's last lap time", kind="point"),),
        card_note="Scored on green same-stint laps only (the rows of this template); pit, safety-car and yellow laps are outside its scope.",
    ),
    "pit_stop_duration": TemplateFacts(
        name="pit_stop_duration",
        default_algorithm="lightgbm",
        first_season=2012,
        features=(
            "team_recent_excess_s",
            "stop",
            "lap_fraction",
            "sc_flag",
            "vsc_flag",
            "yellow_flag",
            "race_earlier_stops",
            "race_earlier_excess_s",
        ),
        scenario_inputs=(),
        feature_groups={
            "other": (
                "team_recent_excess_s",
                "stop",
                "lap_fraction",
                "sc_flag",
                "vsc_flag",
                "yellow_flag",
                "race_earlier_stops",
                "race_earlier_excess_s",
            )
        },
        title="Pit-stop duration",
        task="regression",
        target="pit_time_s",
        target_doc="pit-lane time of the stop in seconds (red-flag stops over 120 s excluded)",
        moment="in_race",
        moment_doc="end of in-lap: at pit entry, with the in-lap's track status known",
        primary_metric="mae",
        top_k=None,
        baselines=(
            BaselineFacts(
                name="circuit_median",
                doc="circuit median: median over the circuit's last 3 races (about 3 seasons) of each race's median stop",
                kind="point",
            ),
        ),
        card_note="A model of normal stops (the scenario is the row set: stops over 120 s, red-flag suspensions and garage repairs, are outside it for the model and the circuit median alike). The circuit median of the last 3 races misses this year's pit lane and the day's crew form; the median of this race's stops on earlier laps (known at pit entry) carries both. With it the model's MAE is below the circuit median on every validation season (2021-2023: -0.31, -0.27, -0.21 s), with a paired interval excluding zero in 2022 only (heavy-tailed slow stops make the intervals wide); see benchmarks/templates.md for the reported season",
    ),
    "gap": TemplateFacts(
        name="gap",
        default_algorithm="lightgbm",
        first_season=2018,
        features=(
            "prev_gap_to_leader_s",
            "gap_trend_1_s",
            "gap_trend_3_s",
            "prev_vs_recent_s",
            "prev_interval_s",
            "tyre_life",
            "compound_code",
            "lap_number",
            "fuel_load_proxy",
        ),
        scenario_inputs=(),
        feature_groups={
            "other": (
                "prev_gap_to_leader_s",
                "gap_trend_1_s",
                "gap_trend_3_s",
                "prev_vs_recent_s",
                "prev_interval_s",
                "tyre_life",
                "compound_code",
                "lap_number",
                "fuel_load_proxy",
            )
        },
        title="Gap to leader",
        task="regression",
        target="gap_to_leader_s",
        target_doc="gap to the leader in seconds at the end of a green lap (from cumulative session time)",
        moment="in_race",
        moment_doc="start of lap N: everything up to the end of lap N-1, plus the tyres the car runs on lap N",
        primary_metric="mae",
        top_k=None,
        baselines=(
            BaselineFacts(
                name="previous_gap", doc="previous gap: the gap stays what it was a lap earlier", kind="point"
            ),
        ),
        card_note="Scored on green same-stint laps only; a pit stop or safety car of the leader moves every gap.",
    ),
    "tyre_degradation": TemplateFacts(
        name="tyre_degradation",
        default_algorithm="lightgbm",
        first_season=2018,
        features=(
            "compound_code",
            "stint",
            "start_tyre_life",
            "fresh_tyre_flag",
            "start_lap_fraction",
            "prev_stint_excess_deg",
        ),
        scenario_inputs=("stint_planned_laps",),
        feature_groups={
            "other": (
                "compound_code",
                "stint",
                "start_tyre_life",
                "fresh_tyre_flag",
                "start_lap_fraction",
                "prev_stint_excess_deg",
            )
        },
        title="Tyre degradation",
        task="regression",
        target="deg_s_per_lap",
        target_doc="slope of fuel-corrected clean-lap time against tyre life over the stint, s/lap",
        moment="in_race",
        moment_doc="start of stint: everything up to the end of the lap before its first lap, plus its tyres",
        primary_metric="mae",
        top_k=None,
        baselines=(
            BaselineFacts(
                name="circuit_compound",
                doc="circuit x compound median: the median slope of the compound at the circuit in earlier races",
                kind="point",
            ),
        ),
        card_note="",
    ),
    "pit_window": TemplateFacts(
        name="pit_window",
        default_algorithm="lightgbm",
        first_season=2010,
        features=(
            "circuit_pit_shares_early",
            "circuit_pit_shares_mid",
            "circuit_pit_shares_late",
            "circuit_pit_shares_none",
            "predicted_strategy",
            "grid_slot",
            "reliability_rate",
        ),
        scenario_inputs=(),
        feature_groups={
            "other": (
                "circuit_pit_shares_early",
                "circuit_pit_shares_mid",
                "circuit_pit_shares_late",
                "circuit_pit_shares_none",
                "grid_slot",
            ),
            "session": ("predicted_strategy",),
            "team": ("reliability_rate",),
        },
        title="Pit window",
        task="classification",
        target="pit_window",
        target_doc="'early' / 'mid' / 'late': third of the race distance of the first normal stop; 'none': no normal stop (every starter is a row)",
        moment="pre_race",
        moment_doc="",
        primary_metric="accuracy",
        top_k=None,
        baselines=(
            BaselineFacts(
                name="prior_majority",
                doc="majority class: the most common first-stop window of earlier races",
                kind="point",
            ),
            BaselineFacts(
                name="circuit_majority",
                doc="circuit majority: most likely window under the circuit's shrunken shares",
                kind="point",
            ),
        ),
        card_note="Does not beat its baselines: on the 2021-2023 validation seasons and on 2024 it ties or loses against the majority window of earlier races and the circuit's majority window (a paired interval over races that contains zero, or favours the baseline). Use the circuit majority.",
    ),
    "safety_car": TemplateFacts(
        name="safety_car",
        default_algorithm="logistic",
        first_season=2018,
        features=(
            "circuit_sc_logit",
            "prior_sc_rate",
            "circuit_type_code",
            "scheduled_laps",
            "track_speed_index",
            "street_circuit",
        ),
        scenario_inputs=(),
        feature_groups={
            "other": ("circuit_sc_logit", "prior_sc_rate", "circuit_type_code", "scheduled_laps", "street_circuit"),
            "session": ("track_speed_index",),
        },
        title="Safety car",
        task="classification",
        target="safety_car",
        target_doc="1 when track status 4 (safety car) was shown on any lap",
        moment="pre_race",
        moment_doc="",
        primary_metric="log_loss",
        top_k=None,
        baselines=(
            BaselineFacts(
                name="base_rate", doc="constant base rate: share of earlier races with a safety car", kind="probability"
            ),
            BaselineFacts(
                name="circuit_rate",
                doc="shrunken circuit rate: the circuit's share of earlier races with a safety car, pulled towards the base rate with the weight of 5 races",
                kind="probability",
            ),
        ),
        card_note="No skill: a logistic regression on the logit of the shrunken circuit rate (the circuit rate recalibrated) plus the base rate, circuit type and a street-circuit flag, strongly regularised, ties the constant base rate and the shrunken circuit rate on every validation season (2021-2023) and on 2024 (paired intervals contain zero; about 20 races a season). No other pre-race signal tried (the circuit's rate of any neutralisation or of the VSC, its DNF rate, other shrinkage) does better. A safety car is close to a coin flip weighted by the circuit's history: use the shrunken circuit rate",
    ),
    "dnf": TemplateFacts(
        name="dnf",
        default_algorithm="logistic",
        first_season=2005,
        features=("slot_dnf_shrunk", "circuit_dnf_shrunk", "reliability_rate", "dnf_rate_season", "grid_slot"),
        scenario_inputs=(),
        feature_groups={
            "other": ("slot_dnf_shrunk", "circuit_dnf_shrunk", "grid_slot"),
            "team": ("reliability_rate",),
            "driver": ("dnf_rate_season",),
        },
        title="DNF risk",
        task="classification",
        target="dnf",
        target_doc="1 when the driver was not classified (retired, disqualified, not classified, did not start)",
        moment="pre_race",
        moment_doc="",
        primary_metric="log_loss",
        top_k=None,
        baselines=(
            BaselineFacts(
                name="base_rate", doc="constant base rate: DNF share of all earlier starts", kind="probability"
            ),
            BaselineFacts(
                name="circuit_rate",
                doc="shrunken circuit rate: the circuit's DNF share of earlier starts, pulled towards the base rate (weight of 50 starts)",
                kind="probability",
            ),
            BaselineFacts(
                name="grid_slot_rate",
                doc="grid-slot rate: DNF share of earlier starts from the same grid slot, shrunk towards the base rate",
                kind="probability",
            ),
        ),
        card_note="",
    ),
    "rain_impact": TemplateFacts(
        name="rain_impact",
        default_algorithm="logistic",
        first_season=2018,
        features=("circuit_rain_shrunk", "prior_rain_rate", "month", "circuit_type_code"),
        scenario_inputs=(),
        feature_groups={"other": ("circuit_rain_shrunk", "prior_rain_rate", "month", "circuit_type_code")},
        title="Rain impact",
        task="classification",
        target="rain_impact",
        target_doc="low / medium / high = dry / mixed / wet race, derived from the race's intermediate and wet tyre use",
        moment="pre_race",
        moment_doc="",
        primary_metric="accuracy",
        top_k=None,
        baselines=(
            BaselineFacts(name="prior_majority", doc="majority class of earlier races (low)", kind="point"),
            BaselineFacts(
                name="circuit_majority", doc="most likely class under the circuit's shrunken class shares", kind="point"
            ),
        ),
        card_note="No skill without a forecast: it ties the majority class ('low') and the circuit's majority class; a live prediction needs a weather forecast, which no offline source has.",
    ),
}
FEATURE_FACTS: tuple[FeatureFacts, ...] = (
    FeatureFacts(
        name="avg_quali_position_last_5",
        group="driver",
        definition="mean qualifying position of d over d's last 5 qualifying sessions before R",
        source="qualifying",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="avg_race_position_last_5",
        group="driver",
        definition="mean finish position of d over d's last 5 starts before R (unclassified = 21)",
        source="results",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="avg_positions_gained",
        group="driver",
        definition="mean of (grid slot - finish position) over d's last 5 classified finishes from a grid slot before R",
        source="results",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="dnf_rate_season",
        group="driver",
        definition="share of d's starts this season before R that were not classified; null before d's first start of the season",
        source="results",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="avg_position_at_track",
        group="driver",
        definition="mean finish position of d in d's starts at R's circuit before R (unclassified = 21); null if none",
        source="results",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="best_finish_at_track",
        group="driver",
        definition="best classified position of d at R's circuit before R; null if never classified there",
        source="results",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="track_experience_races",
        group="driver",
        definition="number of d's starts at R's circuit before R",
        source="results",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="points_last_3_races",
        group="driver",
        definition="points (Grand Prix + sprint) d scored at the weekends of d's last 3 starts before R",
        source="results, sprint_results",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="quali_trend",
        group="driver",
        definition="least-squares slope of d's qualifying position per session over d's last 5 qualifying sessions before R (negative = improving); null with fewer than 2",
        source="qualifying",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="race_pace_vs_teammate",
        group="driver",
        definition="mean over d's last 5 races with lap data before R of (d's median clean-lap time / teammates' median - 1) * 100 (negative = faster than teammate); null without FastF1 laps (before 2018)",
        source="laps, results",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="career_wins",
        group="driver",
        definition="number of Grand Prix wins of d before R",
        source="results",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="career_poles",
        group="driver",
        definition="number of races before R that d started from pole (starting-grid slot 1, F1DB's pole convention)",
        source="starting_grid",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="career_points",
        group="driver",
        definition="championship points (Grand Prix + sprint) d scored in all weekends before R",
        source="results, sprint_results",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="constructor_position",
        group="team",
        definition="c's position in the constructors' standings (points of this season's races before R; at round 1 the previous season's final standings); null when c has none this or last season",
        source="results, sprint_results",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="avg_pit_stop_time",
        group="team",
        definition="mean pit-lane time (s) of c's stops (<= 120 s) over c's last 5 races with recorded stops before R; null before 1994",
        source="pit_stops",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="reliability_rate",
        group="team",
        definition="1 - share of c's starts in c's last 10 races before R that ended in a technical retirement (a retirement whose reason is not an accident, collision, spin, driver health, withdrawal or regulatory exclusion)",
        source="results",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="points_trajectory",
        group="team",
        definition="points of c in its last 3 races before R minus its points in the 3 races before those; null with fewer than 6 races",
        source="results, sprint_results",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="upgrade_effectiveness",
        group="team",
        definition="c's mean best-car quali gap (%) over its 3 races before the last 3 minus that over its last 3 races before R (positive = car gained pace; a proxy: no upgrade data exists); null with fewer than 6",
        source="qualifying",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="team_track_performance",
        group="team",
        definition="mean finish position of c's cars (unclassified = 21) over c's last 3 races at R's circuit before R; null if none",
        source="results",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="power_track_advantage",
        group="team",
        definition="over c's last 20 races before R: c's mean best-car quali gap (%) at all circuits minus at high-speed circuits (track speed index >= 1.05); positive = relatively stronger on power tracks",
        source="qualifying, fastest_laps, races",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="downforce_track_advantage",
        group="team",
        definition="over c's last 20 races before R: c's mean best-car quali gap (%) at all circuits minus at low-speed circuits (track speed index <= 0.95); positive = relatively stronger on downforce tracks",
        source="qualifying, fastest_laps, races",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="team_race_pace",
        group="team",
        definition="c's race pace vs the field (%): per race, the mean of c's cars' median clean-lap times over the median of all cars' median clean-lap times, minus 1, times 100 (negative = faster than the field); mean over c's last 5 races with lap data before R; null before 2018",
        source="laps, results",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="quali_gap_to_pole",
        group="session",
        definition="pre_race: d's quali gap (%) in R's qualifying (0 = pole time); null pre_qualifying",
        source="qualifying",
        dtype="float",
        moments=("pre_race",),
        known_at="pre_race",
    ),
    FeatureFacts(
        name="fp_pace_ranking",
        group="session",
        definition="rank (1 = fastest) of d's best lap over R's practice sessions held before qualifying (FP1 only on sprint weekends); null without practice data",
        source="practice",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_qualifying",
    ),
    FeatureFacts(
        name="sector_times",
        group="session",
        definition="d's ideal-lap deficit (%): per race, the sum of d's best sector 1, 2 and 3 times over his clean laps over the race's best such sum, minus 1, times 100 (0 = the best ideal lap); mean over d's last 5 races with sector times before R; null without stored sector times: FastF1 downloads (`pitwall ingest fastf1`) carry them, the bundled FastF1 lap exports do not (null offline)",
        source="laps",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="avg_corner_speed",
        group="session",
        definition="always null: corner speeds need car telemetry, which no source of ours downloads; FastF1 laps carry only speed traps (SpeedI1, SpeedI2, SpeedFL, SpeedST), measured at fixed points that are not corners",
        source="none",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_qualifying",
    ),
    FeatureFacts(
        name="straight_line_speed",
        group="session",
        definition="d's straight-line speed edge (%): per race, d's median speed-trap speed (FastF1 SpeedST, km/h) over his clean laps over the median of all cars' medians, minus 1, times 100 (positive = faster than the field); mean over d's last 5 races with speed traps before R; null without stored speed traps: FastF1 downloads (`pitwall ingest fastf1`) carry them, the bundled FastF1 lap exports do not (null offline)",
        source="laps",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="tire_deg_rate",
        group="session",
        definition="d's fuel-corrected tyre degradation (s per lap of tyre age): mean per-stint least-squares slope of clean dry-compound laps (+0.055 s per lap of fuel remaining removed; stints with >= 5 clean laps) over d's last 3 races with lap data before R; null before 2018",
        source="laps, races",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="start_position",
        group="session",
        definition="pre_race: d's slot on R's starting grid (pit-lane start = number of cars on the grid); null pre_qualifying",
        source="starting_grid",
        dtype="float",
        moments=("pre_race",),
        known_at="pre_race",
    ),
    FeatureFacts(
        name="predicted_strategy",
        group="session",
        definition="expected number of pit stops: mean over R's circuit's last 3 races with stop data before R of the median number of stops (<= 120 s) per classified finisher",
        source="pit_stops, results",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="track_speed_index",
        group="session",
        definition="track speed index of R's circuit at its previous race (> 1: faster than a typical circuit)",
        source="qualifying, fastest_laps, races",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="circuit_overtaking_difficulty",
        group="session",
        definition="how much the grid decides the finish at R's circuit: per race, Spearman's correlation of grid slot and finish position among classified starters with a grid slot (races with >= 5), mean over the circuit's last 5 races before R (near 1: hard to overtake, e.g. Monaco); null at a circuit's first race",
        source="results",
        dtype="float",
        moments=("pre_qualifying", "pre_race"),
        known_at="pre_practice",
    ),
    FeatureFacts(
        name="observed_weather",
        group="session",
        definition="R's OWN observed weather, known only after the race: 'dry' / 'mixed' / 'wet' from the share of R's race laps on intermediate or wet tyres (< 2% dry, >= 60% wet); null in every (race, driver) frame (no pre-race moment can see it): it is a target of the race frame and, named as such, a scenario (the conditions= filter); no weather forecast exists offline",
        source="laps",
        dtype="string",
        moments=(),
        known_at="post_race",
    ),
)
# END GENERATED


def accepted_range(kind: str, low: float, high: float) -> tuple[float, float]:
    """The values a request may set for a search-space entry ``[low, high]`` (see :class:`HyperparameterFacts`)."""
    if kind == "int":
        return max(1, int(low) // 2), int(high) * 4
    return low / 10, 1.0 if high <= 1.0 else high * 10


def live_hyperparameter_facts() -> dict[str, tuple[HyperparameterFacts, ...]]:
    """Per algorithm, the settable hyperparameters: its search space (``pitwall.ml.algorithms``)."""
    from pitwall.ml.algorithms import ALGORITHMS, Choice, Int

    out: dict[str, tuple[HyperparameterFacts, ...]] = {}
    for name, algorithm in ALGORITHMS.items():
        entries = []
        for param, dist in algorithm.space.items():
            default = algorithm.defaults.get(param)
            if isinstance(dist, Choice):
                entries.append(HyperparameterFacts(param, "choice", default, choices=tuple(dist.choices)))
                continue
            kind = "int" if isinstance(dist, Int) else "float"
            low, high = accepted_range(kind, dist.low, dist.high)
            entries.append(HyperparameterFacts(param, kind, default, low, high))
        out[name] = tuple(entries)
    return out


def checked_hyperparameter(fact: HyperparameterFacts, value: Any) -> str | None:
    """Why ``value`` is not accepted for ``fact`` (None when it is)."""
    if fact.kind == "choice":
        if value in fact.choices and type(value) is not bool:
            return None
        return f"must be one of {', '.join(map(repr, fact.choices))}; got {value!r}"
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if fact.kind == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
        return f"must be a whole number; got {value!r}"
    if not number or not math.isfinite(value):
        return f"must be a number; got {value!r}"
    if not fact.low <= value <= fact.high:  # type: ignore[operator]
        return f"must be between {fact.low:g} and {fact.high:g}; got {value!r}"
    return None


def live_facts() -> tuple[tuple[str, ...], dict[str, TemplateFacts]]:
    """The algorithm and template tables computed from the real templates and feature catalogue (needs pandas)."""
    from pitwall.features.spec import FEATURES
    from pitwall.ml import ALGORITHMS
    from pitwall.templates import TEMPLATES

    facts = {}
    for name, spec in TEMPLATES.items():
        groups: dict[str, list[str]] = {}
        for feature in spec.features:
            groups.setdefault(FEATURES[feature].group if feature in FEATURES else "other", []).append(feature)
        facts[name] = TemplateFacts(
            name,
            default_algorithm=spec.default_algorithm,
            first_season=spec.first_season,
            features=tuple(spec.features),
            scenario_inputs=tuple(spec.scenario_inputs),
            feature_groups={g: tuple(v) for g, v in groups.items()},
            title=spec.title,
            task=spec.task,
            target=spec.target,
            target_doc=spec.target_doc,
            moment=spec.moment,
            moment_doc=spec.moment_doc,
            primary_metric=spec.primary_metric,
            top_k=spec.top_k,
            baselines=tuple(BaselineFacts(b.name, b.doc, b.kind) for b in spec.baselines),
            card_note=spec.card_note,
        )
    return tuple(ALGORITHMS), facts


def live_feature_facts() -> tuple[tuple[str, ...], tuple[str, ...], tuple[FeatureFacts, ...]]:
    """The feature groups, weather conditions and feature table from :mod:`pitwall.features.spec`."""
    from pitwall.features.spec import CONDITIONS, FEATURES, GROUPS

    features = tuple(
        FeatureFacts(s.name, s.group, s.definition, s.source, s.dtype, tuple(s.moments), s.known_at)
        for s in FEATURES.values()
    )
    return tuple(GROUPS), tuple(CONDITIONS), features


def generate() -> str:
    """The generated tables of this module, as Python source (not yet ``ruff format``-ed)."""
    algorithms, facts = live_facts()
    groups, conditions, features = live_feature_facts()
    lines = ["ALGORITHM_NAMES: tuple[str, ...] = " + repr(algorithms)]
    lines.append("ALGORITHM_HYPERPARAMETERS: dict[str, tuple[HyperparameterFacts, ...]] = {")
    lines += [f"    {name!r}: {entries!r}," for name, entries in live_hyperparameter_facts().items()]
    lines.append("}")
    lines.append("FEATURE_GROUPS: tuple[str, ...] = " + repr(groups))
    lines.append("CONDITIONS: tuple[str, ...] = " + repr(conditions))
    lines.append("TEMPLATE_FACTS: dict[str, TemplateFacts] = {")
    lines += [f"    {name!r}: {fact!r}," for name, fact in facts.items()]
    lines.append("}")
    lines.append("FEATURE_FACTS: tuple[FeatureFacts, ...] = (")
    lines += [f"    {fact!r}," for fact in features]
    lines.append(")")
    return "\n".join(lines)


def regenerate(path: Path = Path(__file__)) -> None:
    """Rewrite the generated block of this module in place, then ``ruff format`` it when ruff is installed."""
    import shutil
    import subprocess

    text = path.read_text(encoding="utf-8")
    before, rest = text.split(BEGIN + "\n", 1)
    _, after = rest.split(END + "\n", 1)
    path.write_text(f"{before}{BEGIN}\n{generate()}\n{END}\n{after}", encoding="utf-8")
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if Path(ruff).exists():
        subprocess.run([ruff, "format", "--quiet", str(path)], check=True)


if __name__ == "__main__":
    regenerate()
    print(f"regenerated {Path(__file__)}")
