"""Monte Carlo championship simulation (pure numpy, no I/O)."""

from __future__ import annotations

import math

import pytest

from pitwall.serving.championship import (
    POINTS_2010,
    RaceField,
    Standings,
    simulate_championship,
    strengths_from_scores,
)


def _race(round_: int, strengths: dict[str, float], teams: dict[str, str]) -> RaceField:
    drivers = list(strengths)
    return RaceField(round_, drivers, [teams[d] for d in drivers], [strengths[d] for d in drivers])


TEAMS = {"ver": "rb", "per": "rb", "lec": "fer", "sai": "fer", "nor": "mcl", "pia": "mcl"}


def test_title_probabilities_sum_to_one_for_drivers_and_constructors() -> None:
    strengths = {"ver": 0.4, "per": 0.1, "lec": 0.2, "sai": 0.1, "nor": 0.15, "pia": 0.05}
    races = [_race(r, strengths, TEAMS) for r in range(20, 25)]
    standings = Standings(
        driver_points={"ver": 300, "nor": 250, "lec": 240, "per": 140, "sai": 200, "pia": 190},
        constructor_points={"rb": 440, "fer": 440, "mcl": 440},
        driver_constructor=TEAMS,
    )
    forecast = simulate_championship(races, standings, simulations=4000, seed=1)
    assert math.isclose(sum(d.title_probability for d in forecast.drivers), 1.0, abs_tol=1e-12)
    assert math.isclose(sum(c.title_probability for c in forecast.constructors), 1.0, abs_tol=1e-12)
    assert forecast.simulated_rounds == [20, 21, 22, 23, 24]
    assert forecast.drivers[0].driver_id == "ver"  # leads on points and is the strongest
    # expected points grow by exactly the points handed out per race (25+18+...+1 = 101 over 6 drivers)
    handed_out = sum(POINTS_2010[:6]) * len(races)
    gained = sum(d.expected_points - d.current_points for d in forecast.drivers)
    assert gained == pytest.approx(handed_out)


def test_decided_championship_has_a_certain_champion() -> None:
    standings = Standings(driver_points={"ver": 437, "nor": 374}, constructor_points={"mcl": 666, "fer": 652})
    forecast = simulate_championship([], standings, simulations=100, seed=0)
    assert [(d.driver_id, d.title_probability) for d in forecast.drivers] == [("ver", 1.0), ("nor", 0.0)]
    assert forecast.constructors[0].constructor_id == "mcl"
    assert forecast.drivers[0].expected_points == 437


def test_win_frequencies_follow_the_strengths() -> None:
    strengths = {"ver": 0.5, "lec": 0.3, "nor": 0.2}
    forecast = simulate_championship([_race(1, strengths, TEAMS)], Standings(), simulations=20_000, seed=7)
    by_driver = {d.driver_id: d for d in forecast.drivers}
    # one race from zero: the title goes to the race winner, so title probability = win probability
    for driver, p in strengths.items():
        assert by_driver[driver].title_probability == pytest.approx(p, abs=0.015)


def test_same_seed_same_forecast_and_different_seed_differs() -> None:
    strengths = {"ver": 0.3, "per": 0.2, "lec": 0.2, "sai": 0.1, "nor": 0.1, "pia": 0.1}
    races = [_race(r, strengths, TEAMS) for r in range(1, 4)]
    a = simulate_championship(races, Standings(), simulations=500, seed=3)
    b = simulate_championship(races, Standings(), simulations=500, seed=3)
    c = simulate_championship(races, Standings(), simulations=500, seed=4)
    assert a == b
    assert a != c


def test_title_ties_break_on_wins() -> None:
    # "leader" has 25 points and a number of earlier wins; "chaser" has 0 and wins the last race
    # (25 points) while "leader" finishes last of 11, out of the points: a tie on 25.
    fillers = [f"f{i}" for i in range(9)]
    race = RaceField(24, ["chaser", "leader", *fillers], [None] * 11, [1e6, 1e-12, *([1.0] * 9)])

    def champion(leader_wins: int) -> tuple[str, float]:
        standings = Standings(driver_points={"leader": 25.0}, driver_wins={"leader": leader_wins})
        top = simulate_championship([race], standings, simulations=200, seed=0).drivers[0]
        return top.driver_id, top.title_probability

    assert champion(leader_wins=2) == ("leader", 1.0)  # 2 wins beat 1
    assert champion(leader_wins=0) == ("chaser", 1.0)  # 1 win beats 0


def test_drivers_outside_the_points_table_score_nothing() -> None:
    names = [f"d{i}" for i in range(15)]
    race = RaceField(1, names, ["t"] * 15, [1.0] * 15)
    forecast = simulate_championship([race], Standings(), simulations=2000, seed=5)
    assert sum(d.expected_points for d in forecast.drivers) == pytest.approx(sum(POINTS_2010))
    assert forecast.constructors[0].expected_points == pytest.approx(sum(POINTS_2010))


def test_strengths_from_probabilities_or_scores() -> None:
    assert strengths_from_scores([0.7, 0.2, 0.1], [0.7, 0.2, 0.0]) == [0.7, 0.2, 1e-9]
    full_order = strengths_from_scores([-1.0, -2.0, -3.0], None)
    assert full_order[0] == pytest.approx(1.0) and full_order[1] == pytest.approx(math.exp(-1))
    with pytest.raises(ValueError, match="finite"):
        strengths_from_scores([float("nan"), 1.0], None)


def test_race_field_rejects_inconsistent_input() -> None:
    with pytest.raises(ValueError, match="twice"):
        RaceField(1, ["a", "a"], [None, None], [1.0, 1.0])
    with pytest.raises(ValueError, match="length"):
        RaceField(1, ["a"], [None, None], [1.0])
    with pytest.raises(ValueError, match="simulations"):
        simulate_championship([], Standings(driver_points={"a": 1}), simulations=0)
