"""What each built-in template accepts, as plain data the lean API Lambda can import (no pandas).

Generated from :mod:`pitwall.templates` and :mod:`pitwall.features.spec`; a unit test
(``tests/unit/workflow/test_training_request.py``) fails when they drift. Regenerate with::

    python -m pitwall.workflow.template_facts
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TemplateFacts:
    """The parts of a template a training request is checked against."""

    name: str
    default_algorithm: str
    first_season: int
    features: tuple[str, ...]
    scenario_inputs: tuple[str, ...]
    feature_groups: dict[str, tuple[str, ...]]


AUTO_ALGORITHM = "auto"
TUNING_METHODS: tuple[str, ...] = ("bayes", "grid", "random")
ALGORITHM_NAMES: tuple[str, ...] = (
    "xgboost",
    "lightgbm",
    "random_forest",
    "gradient_boosting",
    "neural_net",
    "logistic",
    "linear",
)
TEMPLATE_FACTS: dict[str, TemplateFacts] = {
    "race_winner": TemplateFacts(
        "race_winner",
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
    ),
    "podium": TemplateFacts(
        "podium",
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
    ),
    "points": TemplateFacts(
        "points",
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
    ),
    "qualifying": TemplateFacts(
        "qualifying",
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
    ),
    "fastest_lap": TemplateFacts(
        "fastest_lap",
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
    ),
    "lap_time": TemplateFacts(
        "lap_time",
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
    ),
    "pit_stop_duration": TemplateFacts(
        "pit_stop_duration",
        default_algorithm="lightgbm",
        first_season=2012,
        features=("team_recent_excess_s", "stop", "lap_fraction", "sc_flag", "vsc_flag", "yellow_flag"),
        scenario_inputs=(),
        feature_groups={
            "other": ("team_recent_excess_s", "stop", "lap_fraction", "sc_flag", "vsc_flag", "yellow_flag")
        },
    ),
    "gap": TemplateFacts(
        "gap",
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
    ),
    "tyre_degradation": TemplateFacts(
        "tyre_degradation",
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
    ),
    "pit_window": TemplateFacts(
        "pit_window",
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
    ),
    "safety_car": TemplateFacts(
        "safety_car",
        default_algorithm="logistic",
        first_season=2018,
        features=("circuit_sc_shrunk", "prior_sc_rate", "circuit_type_code", "scheduled_laps", "track_speed_index"),
        scenario_inputs=(),
        feature_groups={
            "other": ("circuit_sc_shrunk", "prior_sc_rate", "circuit_type_code", "scheduled_laps"),
            "session": ("track_speed_index",),
        },
    ),
    "dnf": TemplateFacts(
        "dnf",
        default_algorithm="logistic",
        first_season=2005,
        features=("slot_dnf_shrunk", "circuit_dnf_shrunk", "reliability_rate", "dnf_rate_season", "grid_slot"),
        scenario_inputs=(),
        feature_groups={
            "other": ("slot_dnf_shrunk", "circuit_dnf_shrunk", "grid_slot"),
            "team": ("reliability_rate",),
            "driver": ("dnf_rate_season",),
        },
    ),
    "rain_impact": TemplateFacts(
        "rain_impact",
        default_algorithm="logistic",
        first_season=2018,
        features=("circuit_rain_shrunk", "prior_rain_rate", "month", "circuit_type_code"),
        scenario_inputs=(),
        feature_groups={"other": ("circuit_rain_shrunk", "prior_rain_rate", "month", "circuit_type_code")},
    ),
}


def live_facts() -> tuple[tuple[str, ...], dict[str, TemplateFacts]]:
    """The tables above computed from the real templates and feature catalogue (needs pandas)."""
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
        )
    return tuple(ALGORITHMS), facts


def generate() -> str:
    """The literal tables above, as Python source (paste it over them, then ``ruff format``)."""
    algorithms, facts = live_facts()
    lines = ["ALGORITHM_NAMES: tuple[str, ...] = (" + ", ".join(repr(a) for a in algorithms) + ")"]
    lines.append("TEMPLATE_FACTS: dict[str, TemplateFacts] = {")
    lines += [f"    {name!r}: {fact!r}," for name, fact in facts.items()]
    lines.append("}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(generate())
