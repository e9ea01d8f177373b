"""Lap-level predictions in the live stream: a lap_time model's next-lap predictions ride on each lap
update of a replay, computed from laps <= N only (the template's own feature code, point-in-time)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from pitwall.live.feed import snapshot_doc
from pitwall.live.lap_models import NextLapPredictor
from pitwall.live.stream import connect_to_stream

ROUND = 8
LAP = 30


class OffsetModel:
    """The lap_time template's shape: LightGBM on the change from the previous lap (offset)."""

    def __init__(self, rows: pd.DataFrame, features: tuple[str, ...]) -> None:
        import lightgbm as lgb

        self.input_columns = list(features)
        x = rows[self.input_columns].astype("float64")
        y = rows["lap_time_s"] - rows["prev_lap_time_s"]
        params = {"objective": "l1", "verbose": -1, "num_threads": 1, "seed": 1}
        self.booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=80)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return frame["prev_lap_time_s"].to_numpy() + self.booster.predict(frame[self.input_columns])


@pytest.fixture(scope="module")
def inputs(live_lake) -> Any:
    from pitwall.features.inputs import FeatureInputs

    return FeatureInputs.from_store(live_lake, max_season=2024)


@pytest.fixture(scope="module")
def full_rows(inputs) -> pd.DataFrame:
    """The template's inputs of every lap of the stored seasons (all data of the race known)."""
    from pitwall.features.laps import lap_frame
    from pitwall.live.lap_models import template_inputs

    return template_inputs(lap_frame(inputs))


@pytest.fixture(scope="module")
def lap_model(full_rows) -> OffsetModel:
    from pitwall.templates.strategy import LAP_TIME_FEATURES, green_same_stint

    train = full_rows[(full_rows["season"] == 2023) & green_same_stint(full_rows).to_numpy()]
    return OffsetModel(train[train["lap_time_s"].notna()], LAP_TIME_FEATURES)


def _predictor(inputs, lap_model, laps: pd.DataFrame | None = None) -> NextLapPredictor:
    race = inputs.laps[(inputs.laps["season"] == 2024) & (inputs.laps["round"] == ROUND)].reset_index(drop=True)
    return NextLapPredictor(lap_model, race if laps is None else laps, inputs)


def test_next_lap_inputs_equal_the_stored_laps_inputs_and_ignore_later_laps(inputs, full_rows, lap_model) -> None:
    from pitwall.templates.strategy import LAP_TIME_FEATURES

    predictor = _predictor(inputs, lap_model)
    live = predictor.next_lap_rows(LAP).set_index("driver_code")
    stored = full_rows[(full_rows["race_id"] == "2024-08") & (full_rows["lap_number"] == LAP + 1)]
    stored = stored[stored["stint"] == stored["prev_stint"]].set_index("driver_code")
    both = live.index.intersection(stored.index)
    assert len(both) >= 15, both
    cols = list(LAP_TIME_FEATURES)
    pd.testing.assert_frame_equal(
        live.loc[both, cols].astype("float64"), stored.loc[both, cols].astype("float64"), check_names=False
    )

    laps = predictor.laps.copy()
    later = laps["lap_number"] > LAP
    laps.loc[later, "lap_time_s"] = laps.loc[later, "lap_time_s"] + 9.0
    laps.loc[later, "compound"] = "WET"
    laps.loc[later, "track_status"] = "4"
    perturbed = _predictor(inputs, lap_model, laps).next_lap_rows(LAP).set_index("driver_code")
    pd.testing.assert_frame_equal(perturbed[cols], live[cols])


def test_the_replay_stream_carries_the_models_next_lap_predictions_as_offline(
    live_lake, live_model, inputs, full_rows, lap_model
) -> None:
    from pitwall.templates.strategy import green_same_stint

    predictor = _predictor(inputs, lap_model)
    updates = list(
        connect_to_stream(live_model, source="replay", season=2024, round=ROUND, store=live_lake, lap_model=predictor)
    )
    covered = [u for u in updates if u.lap_predictions]
    assert len(covered) > 0.6 * len(updates)
    doc = snapshot_doc(covered[len(covered) // 2])
    assert any(d.get("next_lap") for d in doc["drivers"])
    assert {d["next_lap"]["lap"] for d in doc["drivers"] if d.get("next_lap")} == {doc["lap"] + 1}

    # the template's rows of the stored race (laps that ran green after a clean lap of the stint):
    # the live prediction made at the end of lap N equals the model's prediction on the stored row
    stored = full_rows[(full_rows["race_id"] == "2024-08") & green_same_stint(full_rows).to_numpy()]
    offline = dict(
        zip(zip(stored["driver_code"], stored["lap_number"], strict=True), lap_model.predict(stored), strict=True)
    )
    code_of = {d.driver_number: d.driver_code for d in updates[0].state.drivers}
    pairs, model_err, naive_err = 0, [], []
    by_key = stored.set_index(["driver_code", "lap_number"])
    for u in covered:
        for number, p in u.lap_predictions.items():
            key = (code_of[number], p["lap"])
            if key not in offline:
                continue
            pairs += 1
            assert p["lap_time_s"] == pytest.approx(offline[key], abs=5e-4), key
            actual = by_key.loc[key]
            model_err.append(abs(p["lap_time_s"] - actual["lap_time_s"]))
            naive_err.append(abs(actual["prev_lap_time_s"] - actual["lap_time_s"]))
    assert pairs > 300
    print(
        f"\nMonaco 2024, {pairs} green laps: next-lap MAE {np.mean(model_err):.3f} s (test model, 2023 only) "
        f"vs previous lap {np.mean(naive_err):.3f} s"
    )


def test_an_openf1_stream_carries_the_same_next_lap_predictions_as_a_replay(
    live_lake, live_model, inputs, lap_model, openf1_server
) -> None:
    """The OpenF1 feed of the stored race (OpenF1's JSON, out-laps included) builds the race's lap
    table as laps complete; its next-lap predictions are the replay's, except where the feeds differ:
    race control gives one track status per lap for every car (FastF1's laps carry each car's own)
    and the pit stops are F1DB's laps (FastF1 marks its own in-laps)."""
    from pitwall.live.sources.openf1 import OpenF1Client
    from pitwall.live.sources.replay import load_race

    from .conftest import SESSION_KEY, openf1_fixtures

    race_laps = inputs.laps[(inputs.laps["season"] == 2024) & (inputs.laps["round"] == ROUND)]
    out = race_laps[race_laps["is_pit_out_lap"].fillna(False).astype(bool)]
    out_laps = set(zip(out["driver_number"].astype(int), out["lap_number"].astype(int), strict=True))
    client = OpenF1Client(openf1_server.serve(openf1_fixtures(load_race(live_lake, 2024, ROUND), out_laps=out_laps)))
    kwargs = {"store": live_lake, "lap_model": lap_model}
    live = list(connect_to_stream(live_model, source="openf1", session_key=SESSION_KEY, client=client, **kwargs))
    replay = list(connect_to_stream(live_model, source="replay", season=2024, round=ROUND, **kwargs))
    assert [u.lap for u in live] == [u.lap for u in replay]
    pairs = {(u.lap, n): p["lap_time_s"] for u in replay for n, p in u.lap_predictions.items()}
    got = {(u.lap, n): p["lap_time_s"] for u in live for n, p in u.lap_predictions.items()}
    same = [k for k in pairs if k in got and abs(got[k] - pairs[k]) <= 5e-4]
    print(f"\n{len(same)} of {len(pairs)} replay next-lap predictions equal on OpenF1 ({len(got)} there)")
    assert len(same) >= 0.95 * len(pairs) and len(got) <= 1.05 * len(pairs)
    for u in live:  # point in time: lap N's predictions are about lap N+1
        assert all(p["lap"] == u.lap + 1 for p in u.lap_predictions.values())
