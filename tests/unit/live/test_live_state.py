"""Building the per-lap state from feed records (no I/O)."""

from __future__ import annotations

import pytest

from pitwall.live.state import (
    Entrant,
    LapRecord,
    Stint,
    build_lap_state,
    track_status_from_digits,
)

ENTRANTS = {
    1: Entrant(1, "VER", "Red Bull Racing", "max-verstappen", grid_position=1),
    4: Entrant(4, "NOR", "McLaren", "lando-norris", grid_position=2),
    16: Entrant(16, "LEC", "Ferrari", "charles-leclerc", grid_position=3),
    44: Entrant(44, "HAM", "Mercedes", "lewis-hamilton", grid_position=4),
}


def _records() -> list[LapRecord]:
    return [
        # lap 1
        LapRecord(1, 1, 100.0, 95.0, 1, 0.0),
        LapRecord(4, 1, 100.8, 95.8, 2, 0.8),
        LapRecord(16, 1, 101.5, 96.5, 3, 1.5),
        LapRecord(44, 1, 102.0, 97.0, 4, 2.0),
        # lap 2: NOR passes VER; HAM stops on track (no lap 2); LEC's position is missing
        LapRecord(1, 2, 190.5, 90.5, 2, 0.3),
        LapRecord(4, 2, 190.2, 89.4, 1, 0.0),
        LapRecord(16, 2, 191.9, 90.4, None, 1.7),
        # lap 3 (after the lap asked for below)
        LapRecord(1, 3, 280.0, 89.5, 1, 0.0),
        LapRecord(4, 3, 280.4, 90.2, 2, 0.4),
    ]


def test_lap_state_orders_running_drivers_then_stopped_ones():
    state = build_lap_state(2, 57, ENTRANTS, _records(), track_status=["yellow"])

    assert [d.driver_code for d in state.drivers] == ["NOR", "VER", "LEC", "HAM"]
    assert [d.position for d in state.drivers] == [1, 2, 3, 4]
    assert [d.running for d in state.drivers] == [True, True, True, False]
    nor, ver, lec, ham = state.drivers
    assert nor.gap_to_leader_s == 0.0 and nor.interval_s is None
    assert ver.gap_to_leader_s == 0.3 and ver.interval_s == 0.3
    assert lec.gap_to_leader_s == 1.7 and lec.interval_s == 1.4  # 1.7 - 0.3, to the millisecond
    assert ham.gap_to_leader_s is None and ham.laps_completed == 1 and ham.laps_down == 1
    assert state.laps_remaining == 55 and state.track_status == frozenset({"yellow"})
    assert ver.last_lap_time_s == 90.5 and ver.grid_position == 1


def test_missing_position_uses_the_drivers_last_known_one():
    records = [
        LapRecord(16, 1, 100.0, 95.0, 1, 0.0),
        LapRecord(1, 1, 100.5, 95.5, 2, 0.5),
        LapRecord(1, 2, 190.5, 90.0, 2, 0.3),
        LapRecord(16, 2, 190.2, 90.2, None, None),  # the feed gave no position or gap this lap
    ]
    state = build_lap_state(2, 57, ENTRANTS, records)
    assert [d.driver_code for d in state.drivers] == ["LEC", "VER"]


def test_records_after_the_lap_are_not_read():
    records = _records()
    later = [LapRecord(16, 3, 250.0, 58.0, 1, 0.0), LapRecord(44, 3, 251.0, 60.0, 2, 1.0)]
    assert build_lap_state(2, 57, ENTRANTS, records) == build_lap_state(2, 57, ENTRANTS, records + later)


def test_tyres_stops_and_stints_known_by_the_lap():
    stints = [
        Stint(1, 1, 1, "MEDIUM", 0),
        Stint(1, 2, 3, "HARD", 0),  # fitted at the lap-2 stop, first run on lap 3
        Stint(4, 1, 1, "SOFT", 3),  # a used set
    ]
    stops = {1: [2, 30]}
    lap2 = build_lap_state(2, 57, ENTRANTS, _records(), stints, stops)
    lap3 = build_lap_state(3, 57, ENTRANTS, _records(), stints, stops)

    assert (lap2.driver(1).compound, lap2.driver(1).tyre_age_laps, lap2.driver(1).stops) == ("MEDIUM", 2, 1)
    assert (lap3.driver(1).compound, lap3.driver(1).tyre_age_laps, lap3.driver(1).stops) == ("HARD", 1, 1)
    assert (lap2.driver(4).compound, lap2.driver(4).tyre_age_laps) == ("SOFT", 5)
    assert lap2.driver(16).compound is None and lap2.driver(16).tyre_age_laps is None


def test_comparable_drops_feed_identity_only():
    a = build_lap_state(2, 57, ENTRANTS, _records(), source="replay", session_key=None)
    b = build_lap_state(
        2,
        57,
        {n: Entrant(n, e.driver_code, e.team, None, e.grid_position) for n, e in ENTRANTS.items()},
        _records(),
        source="openf1",
        session_key=9165,
    )
    assert a != b and a.comparable() == b.comparable()
    assert a.to_dict()["laps_remaining"] == 55


def test_bad_input_names_the_field():
    with pytest.raises(ValueError, match="track_status"):
        build_lap_state(2, 57, ENTRANTS, _records(), track_status=["chequered"])
    with pytest.raises(ValueError, match="lap"):
        build_lap_state(0, 57, ENTRANTS, _records())


@pytest.mark.parametrize(
    ("digits", "expected"),
    [("1", set()), ("26", {"yellow", "vsc"}), ("1254", {"yellow", "red", "sc"}), ("67", {"vsc"}), (None, set())],
)
def test_fastf1_status_digits(digits, expected):
    assert track_status_from_digits(digits) == frozenset(expected)
