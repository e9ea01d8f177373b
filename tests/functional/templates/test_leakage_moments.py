"""Point in time by construction: every template's inputs are known at its prediction moment.

The one check, over every template: each default feature (and the offset a regression refines)
has a ``known_at`` (``pitwall.features.spec.FEATURES`` for (race, driver) features,
``pitwall.features.laps.FRAME_COLUMNS`` and ``pitwall.templates.strategy.DERIVED_COLUMNS`` for the
lap / stint / pit-stop / race frames) that is not later than the template's prediction point.
Scenario inputs are the exception by name: never default features, and known only later.
"""

from __future__ import annotations

import pytest

from pitwall.features.spec import KNOWN_AT, known_by
from pitwall.templates import TEMPLATES
from pitwall.templates.strategy import column_known_at, prediction_point, unknown_at

STRATEGY_TEMPLATES = (
    "lap_time",
    "gap",
    "tyre_degradation",
    "pit_window",
    "pit_stop_duration",
    "safety_car",
    "dnf",
    "rain_impact",
)


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_input_is_known_at_the_prediction_moment(name):
    spec = TEMPLATES[name]
    point = prediction_point(spec)
    assert point in KNOWN_AT or point == "in_race", f"{name}: prediction point {point!r}"
    assert unknown_at(spec) == [], f"{name} uses inputs not known at {point}"


@pytest.mark.parametrize("name", STRATEGY_TEMPLATES)
def test_scenario_inputs_and_baselines(name):
    spec = TEMPLATES[name]
    point = prediction_point(spec)
    for col in spec.scenario_inputs:
        assert col not in spec.features
        assert not known_by(column_known_at(spec.grain, col), point), f"{col} is known: make it a feature"
    for b in spec.baselines:  # the naive rules use only what the model may use
        assert known_by(column_known_at(spec.grain, b.column), point), b.column


def test_same_lap_flags_are_outcomes_of_the_lap():
    for col in ("is_pit_in_lap", "is_pit_out_lap", "status_sc", "status_vsc", "status_yellow", "track_status"):
        assert not known_by(column_known_at("lap", col), "start of lap N"), col
    assert not known_by(column_known_at("stint", "stint_planned_laps"), "start of stint")
    assert not known_by(column_known_at("race", "observed_weather"), "pre_race")
    assert not known_by(column_known_at("driver_race", "observed_weather"), "pre_race")


def test_an_undocumented_input_is_refused():
    with pytest.raises(KeyError, match="no documented known_at"):
        column_known_at("lap", "lap_time_next_s")
