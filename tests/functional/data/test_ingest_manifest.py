"""The content manifest: an unchanged source is skipped, a changed file re-ingests only its race."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pitwall.data import ingest
from pitwall.data.store import LocalStore


@pytest.fixture
def f1db_copy(tmp_path: Path, shared_data: Path) -> Path:
    src = shared_data / "f1db/src/data"
    out = tmp_path / "src/f1db/src/data"
    for folder in ("drivers", "constructors", "circuits"):
        shutil.copytree(src / folder, out / folder)
    for s in (2023, 2024):
        shutil.copytree(src / "seasons" / str(s), out / "seasons" / str(s))
    return tmp_path / "src/f1db"


def _snapshot(store: LocalStore) -> dict[str, pd.DataFrame]:
    return {ds: store.read(ds) for ds in store.datasets()}


def test_manifest_skips_unchanged_races_and_reingests_only_the_changed_one(tmp_path: Path, f1db_copy: Path) -> None:
    store = LocalStore(tmp_path / "lake")
    first = ingest.ingest_f1db(store, f1db_copy, workers=1)
    n_races = len(first.races)
    assert n_races == len(list(f1db_copy.glob("src/data/seasons/*/races/*")))
    before = _snapshot(store)
    versions = {ds: store.versions(ds) for ds in before}

    again = ingest.ingest_f1db(store, f1db_copy, workers=1)
    assert again.races == [] and again.skipped == n_races
    assert {ds: store.versions(ds) for ds in before} == versions  # nothing rewritten

    race_dir = next((f1db_copy / "src/data/seasons/2024/races").glob("08-*"))
    results_file = race_dir / "race-results.yml"
    results_file.write_text(results_file.read_text().replace("points: 25", "points: 26", 1))
    changed = ingest.ingest_f1db(store, f1db_copy, workers=1)
    assert changed.races == [(2024, 8)]
    assert changed.skipped == n_races - 1
    assert (
        store.versions("results")["results/season=2023/data.parquet"]
        == versions["results"]["results/season=2023/data.parquet"]
    )
    res = store.read("results")
    merged = res.merge(before["results"], on=["season", "round", "position_order"], suffixes=("", "_old"))
    diff = merged[merged["points"] != merged["points_old"]]
    assert diff[["race_id", "driver_id", "points"]].values.tolist() == [["2024-08", "charles-leclerc", 26.0]]
    for ds in before:
        if ds != "results":
            pd.testing.assert_frame_equal(before[ds], store.read(ds), obj=ds)

    forced = ingest.ingest_f1db(store, f1db_copy, workers=1, force=True)
    assert len(forced.races) == n_races and forced.skipped == 0


def test_the_same_source_by_another_path_is_unchanged(
    tmp_path: Path, f1db_copy: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStore(tmp_path / "lake")
    laps_dir = tmp_path / "laps"
    laps_dir.mkdir()
    shutil.copy2(shared_data / "fastf1-laps/laps_2024.csv", laps_dir)
    monkeypatch.chdir(tmp_path)
    first = ingest.ingest_f1db(store, Path("src/f1db"), workers=1)
    ingest.ingest_laps_csv(store, Path("laps"))
    moved = shutil.move(f1db_copy, tmp_path / "elsewhere")  # a checkout moved, file times kept
    again = ingest.ingest_f1db(store, Path(moved).resolve(), workers=1)
    assert again.races == [] and again.skipped == len(first.races)
    assert ingest.ingest_laps_csv(store, laps_dir.resolve()).skipped == 1


def test_a_store_changed_behind_the_manifest_is_reingested(tmp_path: Path, f1db_copy: Path) -> None:
    store = LocalStore(tmp_path / "lake")
    ingest.ingest_f1db(store, f1db_copy, seasons=[2024], workers=1)
    results = store.read("results", [2024])
    store.write_partitions({("results", 2024): results.iloc[:10]})
    store.write_partitions({("races", 2024): store.read("races", [2024])})  # the season's token moves
    report = ingest.ingest_f1db(store, f1db_copy, seasons=[2024], workers=1)
    assert len(report.races) == len(store.read("races", [2024]))
    assert len(store.read("results", [2024])) == len(results)


def test_unchanged_lap_files_are_skipped(tmp_path: Path, f1db_copy: Path, shared_data: Path) -> None:
    store = LocalStore(tmp_path / "lake")
    ingest.ingest_f1db(store, f1db_copy, seasons=[2024], workers=1)
    laps_dir = tmp_path / "laps"
    laps_dir.mkdir()
    shutil.copy(shared_data / "fastf1-laps/laps_2024.csv", laps_dir)
    first = ingest.ingest_laps_csv(store, laps_dir)
    assert first.rows["laps"] > 0 and first.skipped == 0
    again = ingest.ingest_laps_csv(store, laps_dir)
    assert again.races == [] and again.skipped == 1
    forced = ingest.ingest_laps_csv(store, laps_dir, force=True)
    assert forced.rows["laps"] == first.rows["laps"]
