"""The season forecast's points rules: sprints simulated with their own table, not counted as wins."""

from __future__ import annotations

import pytest

from pitwall.serving import championship as champ
from pitwall.serving.upcoming import points_rules, sprint_points, with_sprints


def test_sprint_points_by_era() -> None:
    assert sprint_points(2020) is None
    assert sprint_points(2021) == (3, 2, 1)
    assert sprint_points(2024) == (8, 7, 6, 5, 4, 3, 2, 1)
    assert "sprints" not in points_rules(2019) and "fastest-lap" in points_rules(2019)
    assert "sprints 8-7-6-5-4-3-2-1" in points_rules(2024)


def test_a_sprint_weekend_scores_the_sprint_table_and_no_win() -> None:
    # a certain order: the strength gap (log 1e9) is far beyond what the Gumbel noise swaps
    race = champ.RaceField(5, ["a", "b"], ["x", "y"], [1.0, 1e-9])
    forecast = with_sprints({5}, (8, 7, 6))([race], champ.Standings(), simulations=50, seed=1)
    assert {d.driver_id: d.expected_points for d in forecast.drivers} == pytest.approx({"a": 33, "b": 25})
    assert {c.constructor_id: c.expected_points for c in forecast.constructors} == pytest.approx({"x": 33, "y": 25})
    # level on points: the tie-break counts Grand Prix wins only ("b" won the Grand Prix, "a" the sprint)
    gp = champ.RaceField(1, ["a", "b"], [None, None], [1e-9, 1.0])
    sprint = champ.RaceField(1, ["a", "b"], [None, None], [1.0, 1e-9], points=(1, 0))
    tie = champ.simulate_championship([gp, sprint], champ.Standings(), simulations=20, seed=1, points_table=(1, 0))
    assert {d.driver_id: d.expected_points for d in tie.drivers} == pytest.approx({"a": 1, "b": 1})
    assert {d.driver_id: d.title_probability for d in tie.drivers} == {"a": 0.0, "b": 1.0}


def test_no_sprints_before_2021() -> None:
    race = champ.RaceField(1, ["a", "b"], [None, None], [1.0, 1e-30])
    forecast = with_sprints({1}, None)([race], champ.Standings(), simulations=10, seed=1)
    assert {d.driver_id: d.expected_points for d in forecast.drivers} == pytest.approx({"a": 25, "b": 18})
