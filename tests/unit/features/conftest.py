"""A tiny synthetic championship whose feature values can be worked out by hand.

Season 2020: round 1 at circuit "alpha", round 2 at "beta", round 3 at "alpha".
Season 2021: round 1 at "beta".
Constructors: "red" (drivers a, b), "blue" (drivers c, d).

| race    | a            | b                     | c                      | d          |
|---------|--------------|-----------------------|------------------------|------------|
| 2020-01 | P1 grid 2    | P2 grid 1 (+ shared   | DNF Engine grid 3      | P3 grid 4  |
|         |              |   car entry, DNF)     |                        |            |
| 2020-02 | DNF Accident | P1 grid 1             | P2 from the pit lane   | DNQ        |
|         |   grid 2     |                       |                        |            |
| 2020-03 | P1 grid 1    | P2 grid 2             | P3 grid 3 (+3 sprint)  | P4 grid 4  |
| 2021-01 | P2 grid 2    | P1 grid 1             | P3 grid 3              | P4 grid 4  |

Points 25/18/15/12. Qualifying order equals the grid slots above (pit-lane start: quali P3).
"""

from __future__ import annotations

import pandas as pd
import pytest

from pitwall.features.inputs import FeatureInputs

POINTS = {1: 25.0, 2: 18.0, 3: 15.0, 4: 12.0}
TEAM = {"a": "red", "b": "red", "c": "blue", "d": "blue"}
RACES = [(2020, 1, "alpha"), (2020, 2, "beta"), (2020, 3, "alpha"), (2021, 1, "beta")]

# (race, driver, position or None, position_text, grid, reason)
RESULTS = [
    ("2020-01", "a", 1, "1", 2, None),
    ("2020-01", "b", 2, "2", 1, None),
    ("2020-01", "d", 3, "3", 4, None),
    ("2020-01", "c", None, "DNF", 3, "Engine"),
    ("2020-01", "b", None, "DNF", 1, "Car raced by a"),  # shared car: b's second entry
    ("2020-02", "b", 1, "1", 1, None),
    ("2020-02", "c", 2, "2", None, None),
    ("2020-02", "a", None, "DNF", 2, "Accident"),
    ("2020-02", "d", None, "DNQ", None, None),
    ("2020-03", "a", 1, "1", 1, None),
    ("2020-03", "b", 2, "2", 2, None),
    ("2020-03", "c", 3, "3", 3, None),
    ("2020-03", "d", 4, "4", 4, None),
    ("2021-01", "b", 1, "1", 1, None),
    ("2021-01", "a", 2, "2", 2, None),
    ("2021-01", "c", 3, "3", 3, None),
    ("2021-01", "d", 4, "4", 4, None),
]


def _key(race_id: str) -> dict[str, object]:
    season, rnd = race_id.split("-")
    return {"season": int(season), "round": int(rnd), "race_id": race_id}


def synthetic_frames() -> dict[str, pd.DataFrame]:
    races = pd.DataFrame(
        [
            {
                **_key(f"{s}-{r:02d}"),
                "date": f"{s}-0{r}-01",
                "circuit_id": c,
                "circuit_type": "RACE",
                "course_length_km": 5.0,
                "scheduled_laps": 50,
                "has_sprint": (s, r) == (2020, 3),
            }
            for s, r, c in RACES
        ]
    )
    res_rows = []
    order: dict[str, int] = {}
    for race_id, drv, pos, text, grid, reason in RESULTS:
        order[race_id] = order.get(race_id, 0) + 1
        res_rows.append(
            {
                **_key(race_id),
                "driver_id": drv,
                "constructor_id": TEAM[drv],
                "position": pos,
                "position_text": text,
                "position_order": order[race_id],
                "grid_position": grid,
                "points": POINTS.get(pos, 0.0) if pos is not None else 0.0,
                "reason_retired": reason,
                "finished": pos is not None,
            }
        )
    results = pd.DataFrame(res_rows)
    starters = results[~results["position_text"].isin(["DNQ"])].drop_duplicates(["race_id", "driver_id"])
    grid_rows, quali_rows = [], []
    for race_id, group in starters.groupby("race_id"):
        slots = {r.driver_id: r.grid_position for r in group.itertuples()}
        for drv, slot in slots.items():
            quali_pos = slot if slot == slot and slot is not None else 3
            grid_rows.append(
                {
                    **_key(race_id),
                    "driver_id": drv,
                    "constructor_id": TEAM[drv],
                    "position": slot,
                    "position_text": "PL" if slot is None or slot != slot else str(int(slot)),
                }
            )
            quali_rows.append(
                {
                    **_key(race_id),
                    "driver_id": drv,
                    "constructor_id": TEAM[drv],
                    "position": int(quali_pos),
                    "position_text": str(int(quali_pos)),
                    "best_s": 80.0 + int(quali_pos) * 0.8,  # pole 80.8 s, each slot 0.8 s slower
                }
            )
    sprint = pd.DataFrame(
        [
            {
                **_key("2020-03"),
                "driver_id": "c",
                "constructor_id": "blue",
                "position": 1,
                "position_text": "1",
                "position_order": 1,
                "points": 3.0,
                "finished": True,
            }
        ]
    )
    practice = pd.DataFrame(
        [
            {**_key("2021-01"), "session": 1, "driver_id": "a", "constructor_id": "red", "time_s": 81.0},
            {**_key("2021-01"), "session": 1, "driver_id": "b", "constructor_id": "red", "time_s": 81.5},
            {**_key("2021-01"), "session": 2, "driver_id": "b", "constructor_id": "red", "time_s": 80.5},
            {**_key("2021-01"), "session": 1, "driver_id": "c", "constructor_id": "blue", "time_s": 82.0},
            # sprint weekend: FP2 runs after qualifying, so only FP1 counts
            {**_key("2020-03"), "session": 1, "driver_id": "a", "constructor_id": "red", "time_s": 82.0},
            {**_key("2020-03"), "session": 2, "driver_id": "b", "constructor_id": "red", "time_s": 70.0},
            {**_key("2020-03"), "session": 1, "driver_id": "b", "constructor_id": "red", "time_s": 83.0},
        ]
    )
    pit_stops = pd.DataFrame(
        [
            {**_key("2020-01"), "driver_id": "a", "constructor_id": "red", "stop": 1, "lap": 20, "time_s": 22.0},
            {**_key("2020-01"), "driver_id": "b", "constructor_id": "red", "stop": 1, "lap": 21, "time_s": 24.0},
            {**_key("2020-01"), "driver_id": "b", "constructor_id": "red", "stop": 2, "lap": 30, "time_s": 2400.0},
            {**_key("2020-03"), "driver_id": "a", "constructor_id": "red", "stop": 1, "lap": 25, "time_s": 26.0},
        ]
    )
    return {
        "races": races,
        "results": results,
        "sprint_results": sprint,
        "starting_grid": pd.DataFrame(grid_rows),
        "qualifying": pd.DataFrame(quali_rows),
        "practice": practice,
        "pit_stops": pit_stops,
    }


@pytest.fixture
def frames() -> dict[str, pd.DataFrame]:
    return synthetic_frames()


@pytest.fixture
def inputs(frames: dict[str, pd.DataFrame]) -> FeatureInputs:
    return FeatureInputs.from_frames(frames)
