"""Leakage test of tyre_degradation: a stint's inputs, known when it starts, must not move when
anything from its first lap's outcome on changes — every car's lap times, track status and pit
flags from that lap on, later tyres, and the stint's own final length (``stint_planned_laps``,
a scenario input only).

Real data: 2024 round 5 (China); the stints that start at lap ``START`` or later are checked
after scrambling every lap of the race from ``START`` on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pitwall.features.inputs import FeatureInputs
from pitwall.features.laps import lap_frame
from pitwall.templates import get_template
from pitwall.templates import strategy as S

RACE = "2024-05"
START = 12  # stints starting at this lap or later are checked


class _LapStore:
    def __init__(self, inp: FeatureInputs) -> None:
        self.inp = inp

    def lap_features(self, seasons):  # noqa: ANN001, ANN201 - the FeatureStore signature
        return lap_frame(self.inp, seasons=list(seasons))


@pytest.fixture(scope="module")
def inputs(lake) -> FeatureInputs:
    return FeatureInputs.from_store(lake)


def _perturbed(inp: FeatureInputs, starts: pd.DataFrame, seed: int) -> FeatureInputs:
    """Scramble RACE from each checked stint's first lap on (that lap keeps only its tyres)."""
    out = FeatureInputs.__new__(FeatureInputs)
    out.__dict__.update(inp.__dict__)
    laps = inp.laps.copy()
    rng = np.random.default_rng(seed)
    first_lap = laps["driver_id"].map(starts.set_index("driver_id")["start_lap"]).astype("float64")
    # each checked driver from his stint's first lap on, every other car from START on
    at = (laps["race_id"] == RACE) & (laps["lap_number"] >= first_lap.fillna(START))
    n = int(at.sum())
    laps.loc[at, "lap_time_s"] = rng.uniform(85, 140, n)
    laps.loc[at, "session_time_s"] = laps.loc[at, "session_time_s"] + rng.uniform(-30, 30, n)
    laps.loc[at, "track_status"] = rng.choice(["1", "4", "6", "2"], n)
    laps.loc[at, "is_pit_in_lap"] = rng.random(n) < 0.3
    # later tyres, and every checked stint ends after 3 laps (its final length changes)
    after_first = (laps["race_id"] == RACE) & (laps["lap_number"] > first_lap)
    m = int(after_first.sum())
    laps.loc[after_first, "compound"] = rng.choice(["SOFT", "MEDIUM", "HARD"], m)
    laps.loc[after_first, "tyre_life"] = rng.integers(1, 40, m).astype("float64")
    ends = (laps["race_id"] == RACE) & (laps["lap_number"] > first_lap + 2)
    laps.loc[ends, "stint"] = laps.loc[ends, "stint"] + 10
    out.__dict__["laps"] = laps
    out.__dict__["_memo"] = {}
    return out


def test_stint_inputs_ignore_the_stint_and_everything_after_its_start(inputs):
    spec = get_template("tyre_degradation")
    keys = ["driver_id", "stint"]
    cols = sorted({*spec.features, spec.offset, spec.baseline} - set(keys))
    before = S.stint_table(S._laps(_LapStore(inputs), [2023, 2024]))
    before = before[(before["race_id"] == RACE) & (before["start_lap"] >= START)]
    assert len(before) >= 10
    # one checked stint per driver (his first one from START on)
    before = before.sort_values("start_lap").drop_duplicates("driver_id")
    after = S.stint_table(S._laps(_LapStore(_perturbed(inputs, before, seed=3)), [2023, 2024]))
    after = after[after["race_id"] == RACE].merge(before[keys], on=keys)
    a = before.set_index(keys)[cols].sort_index()
    b = after.set_index(keys)[cols].sort_index()
    pd.testing.assert_frame_equal(a, b)
    # not vacuous: the stint's final length and its target did change
    moved = after.set_index(keys).sort_index()
    assert (moved["stint_planned_laps"] != before.set_index(keys).sort_index()["stint_planned_laps"]).all()
