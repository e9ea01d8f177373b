"""The spec table covers every feature the issue names, each with a definition."""

from __future__ import annotations

import pytest

from pitwall.features import FEATURES, FeatureInputError
from pitwall.features.feature_store import parse_seasons
from pitwall.features.spec import group_features

REQUIRED = {
    "driver": [
        "avg_quali_position_last_5", "avg_race_position_last_5", "avg_positions_gained", "dnf_rate_season",
        "avg_position_at_track", "best_finish_at_track", "track_experience_races", "points_last_3_races",
        "quali_trend", "race_pace_vs_teammate", "career_wins", "career_poles", "career_points",
    ],
    "team": [
        "constructor_position", "avg_pit_stop_time", "reliability_rate", "points_trajectory",
        "upgrade_effectiveness", "team_track_performance", "power_track_advantage", "downforce_track_advantage",
    ],
    "session": [
        "quali_gap_to_pole", "fp_pace_ranking", "sector_times", "avg_corner_speed", "straight_line_speed",
        "tire_deg_rate", "start_position", "predicted_strategy", "observed_weather",
    ],
}  # fmt: skip


@pytest.mark.parametrize("group", sorted(REQUIRED))
def test_every_required_feature_is_specified(group):
    names = group_features(group)
    missing = [n for n in REQUIRED[group] if n not in names]
    assert not missing
    for n in names:
        spec = FEATURES[n]
        assert len(spec.definition) > 20 and "\n" not in spec.definition
        assert spec.source


def test_every_feature_says_when_it_is_known():
    from pitwall.features.spec import KNOWN_AT, known_by

    for spec in FEATURES.values():
        assert spec.known_at in KNOWN_AT, spec.name
        # a feature with values at a moment is known by then
        assert all(known_by(spec.known_at, m) for m in spec.moments), spec.name
    assert FEATURES["observed_weather"].known_at == "post_race" and FEATURES["observed_weather"].moments == ()
    assert not known_by("end of lap N", "start of lap N") and known_by("end of lap N-1", "start of lap N")


def test_features_without_offline_inputs_say_so():
    corner = FEATURES["avg_corner_speed"]
    assert corner.source == "none" and "always null" in corner.definition and "telemetry" in corner.definition
    # sector times and speed traps come from FastF1 laps (downloads), from past races only
    for name in ("sector_times", "straight_line_speed"):
        spec = FEATURES[name]
        assert spec.source == "laps" and spec.known_at == "pre_practice", name
        assert "before R" in spec.definition and "null offline" in spec.definition, name


def test_parse_seasons():
    have = range(2010, 2025)
    assert parse_seasons((2018, 2020), have) == [2018, 2019, 2020]
    assert parse_seasons([2024, 2018], have) == [2018, 2024]
    assert parse_seasons(2024, have) == [2024]
    assert parse_seasons(None, have) == list(have)
    for bad, message in [
        ((2020, 2018), "ends before it starts"),
        ([2018, "2019"], "is not a year"),
        ((2020, 2030), r"no races in the store for \[2025"),
        ([], "empty"),
        (True, "expected a year"),
        (2.5, "expected a year"),
    ]:
        with pytest.raises(FeatureInputError, match=message) as err:
            parse_seasons(bad, have)
        assert err.value.field == "seasons"
