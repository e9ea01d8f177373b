"""Leakage tests of the pre-race templates (safety_car, rain_impact, dnf, pit_window): a race's
rows must not move when the race's own outcomes — its safety cars, its observed weather, who
retired, when everyone stopped — and everything of later races change.

Real data: 2023 and 2024; RACE (2024 round 5) and every later race are scrambled in the inputs
the template frames are built from. The (race, driver) features themselves are checked by
``tests/functional/features/test_leakage.py``; here the templates' own priors, rates and
baselines are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pitwall.features import FeatureStore
from pitwall.features.inputs import FeatureInputs
from pitwall.features.laps import race_frame
from pitwall.templates import get_template

SEASONS = [2023, 2024]
RACE, RACE_SEQ = "2024-05", 202405


class _Store:
    """The FeatureStore surface the race templates read, with scrambled outcomes."""

    def __init__(self, fs: FeatureStore, races: pd.DataFrame, drivers: pd.DataFrame, stops: pd.DataFrame) -> None:
        self.store = fs.store
        self._races, self._drivers, self._stops = races, drivers, stops

    def race_features(self, seasons):  # noqa: ANN001, ANN201 - the FeatureStore signature
        return self._races[self._races["season"].isin(list(seasons))].copy()

    def get_features(self, seasons, moment, include_targets):  # noqa: ANN001, ANN201
        assert moment == "pre_race" and include_targets
        return self._drivers[self._drivers["season"].isin(list(seasons))].copy()

    def pit_stop_features(self, seasons):  # noqa: ANN001, ANN201
        return self._stops[self._stops["season"].isin(list(seasons))].copy()


def _seq(df: pd.DataFrame) -> pd.Series:
    return df["season"].astype("int64") * 100 + df["round"].astype("int64")


@pytest.fixture(scope="module")
def real(lake):
    fs = FeatureStore(lake)
    inp = FeatureInputs.from_store(lake)
    drivers = fs.get_features(seasons=SEASONS, moment="pre_race", include_targets=True)
    return fs, inp, drivers, fs.pit_stop_features(SEASONS)


def _scrambled(real, seed: int) -> _Store:
    fs, inp, drivers, stops = real
    rng = np.random.default_rng(seed)
    # the race frame from inputs whose race conditions (SC, weather) from RACE on are scrambled
    out = FeatureInputs.__new__(FeatureInputs)
    out.__dict__.update(inp.__dict__)
    cond = inp.race_conditions.copy()
    late = (cond["seq"] >= RACE_SEQ).to_numpy()
    n = int(late.sum())
    cond.loc[late, "safety_car"] = rng.random(n) < 0.5
    cond.loc[late, "observed_weather"] = rng.choice(["dry", "mixed", "wet"], n)
    cond.loc[late, "wet_share"] = rng.random(n)
    out.__dict__["race_conditions"] = cond
    out.__dict__["_memo"] = {}
    races = race_frame(out, seasons=SEASONS)
    d = drivers.copy()
    dl = (_seq(d) >= RACE_SEQ).to_numpy()
    d.loc[dl, "dnf"] = rng.random(int(dl.sum())) < 0.5
    d.loc[dl, "position"] = rng.permutation(d.loc[dl, "position"].to_numpy())
    s = stops.copy()
    sl = (_seq(s) >= RACE_SEQ).to_numpy()
    s.loc[sl, "lap_fraction"] = rng.random(int(sl.sum()))
    s.loc[sl, "lap"] = np.floor(s.loc[sl, "lap_fraction"] * 50) + 1
    return _Store(fs, races, d, s)


def _real_store(real) -> _Store:
    fs, inp, drivers, stops = real
    return _Store(fs, race_frame(inp, seasons=SEASONS), drivers, stops)


@pytest.mark.parametrize("name", ["safety_car", "rain_impact", "dnf", "pit_window"])
def test_pre_race_rows_ignore_the_race_and_later_races(name, real):
    spec = get_template(name)
    cols = sorted({*spec.features, *(b.column for b in spec.baselines)})
    key = [spec.entity_col] if spec.grain == "race" else ["driver_id"]
    before = spec.build(_real_store(real), SEASONS)
    after = spec.build(_scrambled(real, seed=11), SEASONS)
    a = before[before["race_id"] == RACE].set_index(key)[cols].sort_index()
    b = after[after["race_id"] == RACE].set_index(key)[cols].sort_index()
    assert len(a) >= (1 if spec.grain == "race" else 15)
    assert not b.empty, "the scrambled store must still hold the race's rows (seeded scramble)"
    pd.testing.assert_frame_equal(a, b.loc[a.index])
    # not vacuous: later races' priors do see the scrambled outcomes
    later_a = before[(_seq(before) > RACE_SEQ)].set_index([*key, "race_id"])[cols].sort_index()
    later_b = after[(_seq(after) > RACE_SEQ)].set_index([*key, "race_id"])[cols].sort_index()
    common = later_a.index.intersection(later_b.index)
    assert not later_a.loc[common].equals(later_b.loc[common])
