"""Incremental feature refresh on real data: race by race from the feature state equals a full build.

2018-2023 are built in full; season 2024 then arrives through ``ingest_f1db`` with the
``RaceIngested`` handler subscribed (round 1 opens the season, rounds 2-20 come as one run,
then 21-24 one by one), and every feature table, the manifest and the state snapshot are
compared with a full build of 2018-2024 from the same inputs. Then a corrected 2023 race is
re-ingested: the refresh starts from the end state of 2022 and recomputes from that race on,
compared with an update that reads every input (no feature state).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pitwall.data.events import LocalEventBus, RaceIngested
from pitwall.data.ingest import ingest_f1db
from pitwall.data.store import LocalStore
from pitwall.features import FeatureEngineer, FeatureStore, build_feature_tables, race_ingested_handler
from pitwall.features import inputs as inputs_module
from pitwall.features import tables as tables_module
from pitwall.features.inputs import INPUT_TABLES, read_dataset
from pitwall.features.state import STATE_DATASETS, snapshot_cuts
from pitwall.features.tables import FEATURE_TABLES, MANIFEST, driver_table, update_feature_tables

from .conftest import copy_lake

SEASONS = list(range(2018, 2025))
COMPARED = (*FEATURE_TABLES, MANIFEST)


def _without_season(store: LocalStore, season: int) -> None:
    """Remove ``season`` from the canonical race tables (the FastF1 laps stay: F1DB races bring them in)."""
    for name in INPUT_TABLES:
        if name != "laps":
            shutil.rmtree(store.root / name / f"season={season}", ignore_errors=True)


def _reference(store: LocalStore, target: Path) -> LocalStore:
    """A copy of ``store``'s inputs with the feature tables built from scratch (2018-2024)."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(store.root, target, ignore=shutil.ignore_patterns("features_*", ".*"))
    ref = LocalStore(target)
    build_feature_tables(ref, SEASONS)
    return ref


def _assert_same_tables(got: LocalStore, want: LocalStore, datasets=COMPARED) -> None:
    """Every partition of ``datasets`` in ``want`` is in ``got`` with the same rows (feature tables
    and manifest: the same partitions; state: ``got`` may keep older snapshots too)."""
    for dataset in datasets:
        if dataset in COMPARED:
            assert got.seasons(dataset) == want.seasons(dataset), dataset
        assert set(want.seasons(dataset)) <= set(got.seasons(dataset)), dataset
        for season in want.seasons(dataset):
            a = read_dataset(got, dataset, [season])
            b = read_dataset(want, dataset, [season])
            pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, obj=f"{dataset} {season}")


class InputReads:
    """Seasons of the canonical tables read by the feature code (``None``: every season)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seasons: list[int | None] = []
        real = inputs_module.read_dataset

        def spy(store, dataset, seasons=None):
            if dataset in INPUT_TABLES:
                self.seasons.extend([None] if seasons is None else sorted(set(seasons)))
            return real(store, dataset, seasons)

        monkeypatch.setattr(inputs_module, "read_dataset", spy)
        monkeypatch.setattr(tables_module, "read_dataset", spy)

    def take(self) -> set[int | None]:
        out, self.seasons = set(self.seasons), []
        return out


def test_race_by_race_and_a_corrected_race_equal_full_builds(lake, shared_data, tmp_path, monkeypatch):
    store = copy_lake(lake, tmp_path / "incremental")
    _without_season(store, 2024)
    build_feature_tables(store, range(2018, 2024))
    assert snapshot_cuts(store) == [2023]  # the end state of 2022, under the last materialised season

    bus = LocalEventBus()
    handler = race_ingested_handler(store)
    reports = []
    bus.subscribe(lambda event: reports.append(handler(event)))
    reads = InputReads(monkeypatch)
    f1db = shared_data / "f1db"

    ingest_f1db(store, f1db, seasons=[2024], rounds=[1], publisher=bus)  # a new season
    assert reports[-1].first_changed_race == "2024-01" and reports[-1].seasons_written == [2024]
    assert reports[-1].rows[driver_table("pre_race")] == 20
    assert reads.take() == {2023, 2024}  # the state before 2023 and the raw tables of 2023-2024 only
    assert snapshot_cuts(store) == [2023, 2024]

    ingest_f1db(store, f1db, seasons=[2024], rounds=range(2, 21), publisher=bus)  # one run, 19 races
    assert reports[-1].first_changed_race == "2024-02" and reports[-1].seasons_written == [2024]
    assert reads.take() == {2024}
    for rnd in (21, 22, 23, 24):
        ingest_f1db(store, f1db, seasons=[2024], rounds=[rnd], publisher=bus)
        assert reports[-1].first_changed_race == f"2024-{rnd:02d}" and reports[-1].seasons_written == [2024]
        assert reports[-1].rows[driver_table("pre_race")] == 20  # that race's rows only
        assert reads.take() == {2024}
    assert not bus.errors and len(reports) == 6

    monkeypatch.undo()
    ref = _reference(store, tmp_path / "reference")
    _assert_same_tables(store, ref, (*COMPARED, *STATE_DATASETS))

    # custom features are computed at read time from the same inputs: the same on both stores
    fe = FeatureEngineer(registry={})

    @fe.register("form_points")
    def form_points(driver_data):
        return sum(driver_data["points_last_5"]) + (driver_data["career_wins"] or 0)

    got = FeatureStore(store, engineer=fe).get_features(seasons=2024, custom_features=["form_points"])
    want = FeatureStore(ref, engineer=fe).get_features(seasons=2024, custom_features=["form_points"])
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
    assert got["form_points"].notna().all()

    # a corrected race in the middle of 2023: recomputed from it on, from the end state of 2022
    before = {
        s: (store.root / driver_table("pre_race") / f"season={s}" / "data.parquet").stat().st_mtime_ns for s in SEASONS
    }
    for target in (store, ref):
        results = read_dataset(target, "results", [2023])
        fixed = results[results["round"] == 10].copy()
        winner = fixed["position"] == 1
        fixed.loc[winner, "points"] = fixed.loc[winner, "points"] + 5.0
        fixed.loc[winner, "reason_retired"] = "Engine"
        fixed.loc[winner, "position"] = pd.NA
        fixed.loc[winner, "position_text"] = "DNF"
        fixed.loc[winner, "finished"] = False
        target.replace_races(2023, [10], {"results": fixed})
    reads = InputReads(monkeypatch)
    report = handler(RaceIngested(2023, 10, "2023-10", "test", {"results": len(fixed)}))
    assert report is not None and report.first_changed_race == "2023-10"
    assert report.seasons_written == [2023, 2024]
    assert reads.take() == {2023, 2024}
    monkeypatch.undo()
    after = {
        s: (store.root / driver_table("pre_race") / f"season={s}" / "data.parquet").stat().st_mtime_ns for s in SEASONS
    }
    assert [s for s in SEASONS if after[s] != before[s]] == [2023, 2024]
    # the reference: every input read and compared with the manifest (no feature state), from 2023-10 on
    assert update_feature_tables(ref).first_changed_race == "2023-10"
    _assert_same_tables(store, ref, (*COMPARED, *STATE_DATASETS))
    changed = read_dataset(store, driver_table("pre_race"), [2023])
    assert (changed["round"] > 10).any() and not changed.empty
