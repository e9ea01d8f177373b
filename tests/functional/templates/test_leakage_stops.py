"""Leakage test of pit_stop_duration: a stop predicted at pit entry (the end of its in-lap)
must not move when its own duration, every stop of the race from its in-lap on and every lap
after its in-lap change. Stops completed on earlier laps are known at pit entry (the race's
earlier stops are an input); the test checks every in-lap of the race against that cut.

Real data: 2024 round 5 (China), 2023 as the earlier races the priors read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pitwall.features.inputs import FeatureInputs
from pitwall.features.laps import pit_stop_frame
from pitwall.templates import get_template
from pitwall.templates import strategy as S

RACE = "2024-05"


class _StopStore:
    def __init__(self, inp: FeatureInputs) -> None:
        self.inp = inp

    def pit_stop_features(self, seasons):  # noqa: ANN001, ANN201 - the FeatureStore signature
        return pit_stop_frame(self.inp, seasons=list(seasons))


@pytest.fixture(scope="module")
def inputs(lake) -> FeatureInputs:
    return FeatureInputs.from_store(lake)


def _perturbed(inp: FeatureInputs, seed: int, cut: float) -> FeatureInputs:
    """Every stop of the race on lap >= ``cut`` and every lap after ``cut`` scrambled."""
    out = FeatureInputs.__new__(FeatureInputs)
    out.__dict__.update(inp.__dict__)
    rng = np.random.default_rng(seed)
    stops = inp.pit_stops.copy()
    here = (stops["race_id"] == RACE) & ~stops["outlier"].astype(bool) & (stops["lap"] >= cut)
    stops.loc[here, "time_s"] = rng.uniform(19, 60, int(here.sum()))  # the targets and every later stop
    laps = inp.laps.copy()
    later = (laps["race_id"] == RACE) & (laps["lap_number"] > cut)
    n = int(later.sum())
    laps.loc[later, "track_status"] = rng.choice(["1", "4", "6", "2"], n)
    laps.loc[later, "compound"] = rng.choice(["SOFT", "MEDIUM", "HARD"], n)
    laps.loc[later, "lap_time_s"] = rng.uniform(85, 140, n)
    out.__dict__["pit_stops"] = stops
    out.__dict__["laps"] = laps
    out.__dict__["_memo"] = {}
    return out


def test_stop_inputs_ignore_its_duration_and_later_laps(inputs):
    spec = get_template("pit_stop_duration")
    keys = ["driver_id", "stop"]
    cols = sorted({*spec.features, spec.offset, spec.baseline} - set(keys))
    assert "race_earlier_excess_s" in cols  # the input this test must keep honest
    before = S.pit_stop_frame(_StopStore(inputs), [2023, 2024])
    race = before[before["race_id"] == RACE]
    in_laps = sorted(race["lap"].unique())
    assert len(race) >= 15 and len(in_laps) >= 5
    checked = 0
    for i, cut in enumerate(in_laps):
        after = S.pit_stop_frame(_StopStore(_perturbed(inputs, seed=5 + i, cut=cut)), [2023, 2024])
        first = race[race["lap"] == cut]
        a = first.set_index(keys)[cols].sort_index()
        moved = after[after["race_id"] == RACE].merge(first[keys], on=keys).set_index(keys).sort_index()
        pd.testing.assert_frame_equal(a, moved[cols])
        assert not np.allclose(moved["pit_time_s"], a.join(first.set_index(keys)["pit_time_s"])["pit_time_s"])
        checked += len(first)
    assert checked == len(race)
