"""Leakage test of pit_stop_duration: a stop predicted at pit entry must not move when its own
duration, every other stop of the race and every lap after its in-lap change.

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


def _perturbed(inp: FeatureInputs, seed: int) -> FeatureInputs:
    out = FeatureInputs.__new__(FeatureInputs)
    out.__dict__.update(inp.__dict__)
    rng = np.random.default_rng(seed)
    stops = inp.pit_stops.copy()
    here = (stops["race_id"] == RACE) & ~stops["outlier"].astype(bool)
    stops.loc[here, "time_s"] = rng.uniform(19, 60, int(here.sum()))  # every stop of the race (targets)
    laps = inp.laps.copy()
    in_lap = laps["driver_id"].map(stops[here].groupby("driver_id")["lap"].min())
    later = (laps["race_id"] == RACE) & (laps["lap_number"] > in_lap.fillna(0))
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
    before = S.pit_stop_frame(_StopStore(inputs), [2023, 2024])
    after = S.pit_stop_frame(_StopStore(_perturbed(inputs, seed=5)), [2023, 2024])
    first = before[before["race_id"] == RACE]
    first = first.sort_values("lap").drop_duplicates("driver_id")  # each driver's first stop of the race
    assert len(first) >= 15
    a = first.set_index(keys)[cols].sort_index()
    b = after[after["race_id"] == RACE].merge(first[keys], on=keys).set_index(keys)[cols].sort_index()
    pd.testing.assert_frame_equal(a, b)
    moved = after[after["race_id"] == RACE].merge(first[keys], on=keys).set_index(keys).sort_index()
    assert not np.allclose(moved["pit_time_s"], first.set_index(keys).sort_index()["pit_time_s"])
