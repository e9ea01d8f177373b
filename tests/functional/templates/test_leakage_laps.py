"""Leakage tests of the lap templates (lap_time, gap): a prediction of lap N at its start must
not move when anything at or after lap N changes — the lap's own time, track status (SC, VSC,
yellow, red) and pit flags, every later lap, every car's gaps and positions from lap N on, and
the tyres of later laps.

Real data: 2024 round 5 (China) is perturbed in the FeatureInputs the lap frame is built from;
the template inputs of lap N are rebuilt and compared bit for bit, and so are the predictions of
a small model trained on 2023.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pitwall.features.inputs import FeatureInputs
from pitwall.features.laps import lap_frame
from pitwall.templates import get_template
from pitwall.templates import strategy as S
from pitwall.training import _builder

RACE = "2024-05"
LAPS = (8, 25, 40)  # predicted laps (their start) of every driver of RACE
LAP_TEMPLATES = ("lap_time", "gap")


class _LapStore:
    """The FeatureStore surface the lap templates read, over given FeatureInputs."""

    def __init__(self, inp: FeatureInputs) -> None:
        self.inp = inp

    def lap_features(self, seasons):  # noqa: ANN001, ANN201 - the FeatureStore signature
        return lap_frame(self.inp, seasons=list(seasons))


@pytest.fixture(scope="module")
def inputs(lake) -> FeatureInputs:
    return FeatureInputs.from_store(lake)


def _perturbed(inp: FeatureInputs, lap: int, seed: int) -> FeatureInputs:
    """A copy of ``inp`` whose laps of RACE from ``lap`` on are scrambled (tyres from lap+1 on)."""
    out = FeatureInputs.__new__(FeatureInputs)
    out.__dict__.update(inp.__dict__)
    laps = inp.laps.copy()
    rng = np.random.default_rng(seed)
    at = (laps["race_id"] == RACE) & (laps["lap_number"] >= lap)
    later = (laps["race_id"] == RACE) & (laps["lap_number"] > lap)
    n = int(at.sum())
    laps.loc[at, "lap_time_s"] = rng.uniform(60, 200, n)
    laps.loc[at, "session_time_s"] = laps.loc[at, "session_time_s"] + rng.uniform(-30, 30, n)
    laps.loc[at, "track_status"] = rng.choice(["1", "4", "6", "2", "12", "45", "67"], n)
    laps.loc[at, "is_pit_in_lap"] = rng.random(n) < 0.5
    laps.loc[at, "is_pit_out_lap"] = rng.random(n) < 0.5
    laps.loc[at, "position"] = rng.integers(1, 21, n).astype("float64")
    m = int(later.sum())
    laps.loc[later, "stint"] = laps.loc[later, "stint"] + rng.integers(0, 2, m)
    laps.loc[later, "compound"] = rng.choice(["SOFT", "MEDIUM", "HARD", "WET"], m)
    laps.loc[later, "tyre_life"] = rng.integers(1, 40, m).astype("float64")
    out.__dict__["laps"] = laps
    out.__dict__["_memo"] = {}
    return out


def _inputs_at(inp: FeatureInputs, lap: int, columns: list[str]) -> pd.DataFrame:
    rows = S.lap_inputs(S._laps(_LapStore(inp), [2024]))
    rows = rows[(rows["race_id"] == RACE) & (rows["lap_number"] == lap)]
    return rows.set_index("driver_id")[columns].sort_index()


@pytest.fixture(scope="module")
def models(inputs):
    """A small model per lap template, trained on 2023 (the predictions compared below)."""
    out = {}
    for name in LAP_TEMPLATES:
        spec = get_template(name)
        data = spec.build(_LapStore(inputs), [2023])
        out[name] = _builder(spec).train(
            data, algorithm="lightgbm", params={"objective": "l1", "n_estimators": 40}, seed=0
        )
    return out


@pytest.mark.parametrize("name", LAP_TEMPLATES)
@pytest.mark.parametrize("lap", LAPS)
def test_lap_n_inputs_ignore_lap_n_and_later(name, lap, inputs, models):
    spec = get_template(name)
    cols = sorted({*spec.features, spec.offset})
    base_cols = {"lap_time": "prev_lap_time_s", "gap": "prev_gap_to_leader_s"}[name]  # the baseline's value
    before = _inputs_at(inputs, lap, cols)
    after = _inputs_at(_perturbed(inputs, lap, seed=lap), lap, cols)
    assert len(before) >= 15
    pd.testing.assert_frame_equal(before, after)
    assert before[base_cols].notna().any()
    # the predictions of the trained model do not move either (cars with a previous lap)
    ok = before[spec.offset].notna().to_numpy()
    pred_before = models[name].predict(before[ok].reset_index())
    pred_after = models[name].predict(after[ok].reset_index())
    np.testing.assert_array_equal(pred_before, pred_after)


def test_the_perturbation_reaches_the_lap_itself(inputs):
    """Guard against a vacuous test: the scrambled race really changes lap N's own outcome."""
    cols = ["lap_time_s", "track_status", "is_pit_in_lap", "gap_to_leader_s"]
    before = _inputs_at(inputs, LAPS[1], cols)
    after = _inputs_at(_perturbed(inputs, LAPS[1], seed=1), LAPS[1], cols)
    for c in cols:
        assert not before[c].equals(after[c]), c
