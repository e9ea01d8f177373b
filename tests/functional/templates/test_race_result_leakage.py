"""Point in time by construction for the race-result, qualifying and fastest-lap templates:
perturb everything known only at or after the template's moment for one race (its own race
results, laps, pit stops, fastest lap; pre-qualifying also its qualifying and grid) and every
later race; the race's model inputs, baselines and predictions must not move."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from pitwall.data.store import LocalStore
from pitwall.features import FeatureStore
from pitwall.templates import get_template
from pitwall.training import template_fit

SEASON, ROUND = 2023, 10
AFTER_RACE = ("results", "fastest_laps", "laps", "pit_stops")  # R's own and later races
LATER_ONLY = ("sprint_results", "practice", "qualifying", "starting_grid")  # later races only (pre-race)
PRE_RACE = ("race_winner", "podium", "points", "fastest_lap")


def _perturb(store: LocalStore, tables_from_r: tuple[str, ...], tables_after_r: tuple[str, ...]) -> None:
    rng = np.random.default_rng(7)
    frames = {}
    for table in (*tables_from_r, *tables_after_r):
        df = store.read(table, [SEASON])
        if df.empty:
            continue
        first = ROUND if table in tables_from_r else ROUND + 1
        hit = (df["round"] >= first).to_numpy()
        if table == "fastest_laps":  # who set each race's fastest lap: shuffled within the race
            for race in pd.unique(df.loc[hit, "race_id"]):
                idx = df.index[(df["race_id"] == race).to_numpy()]
                df.loc[idx, "driver_id"] = rng.permutation(df.loc[idx, "driver_id"].to_numpy())
            frames[(table, SEASON)] = df
            continue
        for col in df.columns:
            if col in ("season", "round", "race_id", "driver_id", "constructor_id", "driver_number"):
                continue
            values = df.loc[hit, col].to_numpy()
            df.loc[hit, col] = rng.permutation(values)
        frames[(table, SEASON)] = df
    store.write_partitions(frames)


@pytest.fixture(scope="module")
def stores(lake: LocalStore, tmp_path_factory: pytest.TempPathFactory) -> dict[str, LocalStore]:
    out = {"original": lake}
    for name, from_r, after_r in (
        ("pre_race", AFTER_RACE, LATER_ONLY),
        ("pre_qualifying", (*AFTER_RACE, "qualifying", "starting_grid", "sprint_results"), ("practice",)),
    ):
        root = tmp_path_factory.mktemp(f"perturbed-{name}") / "lake"
        shutil.copytree(lake.root, root)
        store = LocalStore(root)
        _perturb(store, from_r, after_r)
        out[name] = store
    return out


@pytest.fixture(scope="module")
def feature_stores(stores: dict[str, LocalStore]) -> dict[str, FeatureStore]:
    return {k: FeatureStore(v) for k, v in stores.items()}


@pytest.mark.parametrize("name", [*PRE_RACE, "qualifying"])
def test_inputs_and_predictions_ignore_the_race_and_later(
    name: str, stores: dict[str, LocalStore], feature_stores: dict[str, FeatureStore]
) -> None:
    spec = get_template(name)
    moment = spec.moment
    assert moment in ("pre_race", "pre_qualifying")
    train = spec.frame(feature_stores["original"], [SEASON - 2, SEASON - 1])
    model = template_fit(spec, calibrate=False)(train)
    rows = {}
    for which in ("original", moment):
        frame = spec.frame(feature_stores[which], [SEASON])
        race = frame[frame["round"] == ROUND].sort_values("driver_id").reset_index(drop=True)
        rows[which] = race
    cols = ["driver_id", *spec.features, *(b.column for b in spec.baselines)]
    pd.testing.assert_frame_equal(rows["original"][cols], rows[moment][cols])
    np.testing.assert_array_equal(model.predict(rows["original"]), model.predict(rows[moment]))
    # the perturbation did reach the race itself: its outcome (finish order, fastest lap) moved
    for table in ("results", "fastest_laps"):
        before, after = (s.read(table, [SEASON]) for s in (stores["original"], stores[moment]))
        cols = ["driver_id", "position"]
        assert not before.loc[before["round"] == ROUND, cols].equals(after.loc[after["round"] == ROUND, cols])
