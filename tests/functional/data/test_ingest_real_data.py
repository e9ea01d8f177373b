"""Ingestion of the real F1DB tree and FastF1 lap exports from ../shared/data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pitwall.data import ingest
from pitwall.data.events import LocalEventBus
from pitwall.data.store import LocalStore
from pitwall.data.validation import SourceValidationError


def test_known_season_counts_match_the_files(lake: LocalStore, shared_data: Path) -> None:
    races = lake.read("races", [2023])
    race_dirs = list((shared_data / "f1db/src/data/seasons/2023/races").iterdir())
    assert len(races) == len(race_dirs) == 22
    results = lake.read("results", [2023])
    assert results.groupby("race_id").size().min() >= 20


def test_monaco_2024_winner_started_from_pole(lake: LocalStore) -> None:
    res = lake.read("results", [2024])
    winner = res[(res["race_id"] == "2024-08") & (res["position"] == 1)].iloc[0]
    assert winner["driver_id"] == "charles-leclerc"
    assert winner["grid_position"] == 1
    assert lake.read("races", [2024]).set_index("race_id").loc["2024-08", "circuit_id"] == "monaco"


def test_laps_join_coverage_above_99_percent(lake: LocalStore) -> None:
    laps = lake.read("laps")
    assert sorted(laps["season"].unique()) == list(range(2018, 2025))
    coverage = laps.groupby("season")["driver_id"].apply(lambda s: s.notna().mean())
    assert (coverage > 0.99).all(), coverage.to_dict()
    # the join must agree with F1DB's own entry list: VER drove car 1 (or 33) for red-bull
    ver = laps[(laps["driver_code"] == "VER") & (laps["season"] == 2024)]
    assert set(ver["driver_id"]) == {"max-verstappen"}


def test_sql_over_the_lake(lake: LocalStore) -> None:
    df = lake.sql("SELECT count(*) AS n FROM results WHERE season = 2023 AND position = 1")
    assert int(df["n"].iloc[0]) == 22


def _copy_season(shared_data: Path, dest: Path, seasons: list[int]) -> Path:
    src = shared_data / "f1db/src/data"
    out = dest / "f1db/src/data"
    for folder in ("drivers", "constructors", "circuits"):
        shutil.copytree(src / folder, out / folder)
    for s in seasons:
        shutil.copytree(src / "seasons" / str(s), out / "seasons" / str(s))
    return dest / "f1db"


@pytest.fixture
def f1db_copy(tmp_path: Path, shared_data: Path) -> Path:
    return _copy_season(shared_data, tmp_path / "src", [2023, 2024])


def _snapshot(store: LocalStore) -> dict[str, pd.DataFrame]:
    return {ds: store.read(ds) for ds in store.datasets()}


def test_reingesting_a_race_is_idempotent_and_replaces_only_that_race(tmp_path: Path, f1db_copy: Path) -> None:
    store = LocalStore(tmp_path / "lake")
    bus = LocalEventBus()
    ingest.ingest_f1db(store, f1db_copy, workers=1)
    before = _snapshot(store)
    report = ingest.ingest_f1db(store, f1db_copy, seasons=[2024], rounds=[8], publisher=bus, force=True)
    assert report.races == [(2024, 8)]
    after = _snapshot(store)
    for ds in before:
        pd.testing.assert_frame_equal(before[ds], after[ds], obj=ds)
    assert [(e.season, e.round) for e in bus.published] == [(2024, 8)]
    assert bus.published[0].tables["results"] == 20

    # change the source of that race: exactly that race changes
    results_file = next((f1db_copy / "src/data/seasons/2024/races").glob("08-*")) / "race-results.yml"
    text = results_file.read_text().replace("points: 25", "points: 26", 1)
    results_file.write_text(text)
    ingest.ingest_f1db(store, f1db_copy, seasons=[2024], rounds=[8])
    res = store.read("results")
    changed = res.merge(before["results"], on=["season", "round", "position_order"], suffixes=("", "_old"))
    diff = changed[changed["points"] != changed["points_old"]]
    assert diff[["race_id", "driver_id", "points"]].values.tolist() == [["2024-08", "charles-leclerc", 26.0]]
    assert len(res) == len(before["results"])


def test_a_failed_commit_leaves_previous_data_intact(tmp_path: Path, f1db_copy: Path, monkeypatch) -> None:
    import pyarrow.parquet as pq

    store = LocalStore(tmp_path / "lake")
    ingest.ingest_f1db(store, f1db_copy, seasons=[2024], workers=1)
    before = _snapshot(store)
    real_write = pq.write_table
    calls = {"n": 0}

    def flaky_write(table, where, *args, **kwargs):  # fails on the 5th object of the commit
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError("disk full (injected)")
        return real_write(table, where, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", flaky_write)
    with pytest.raises(OSError, match="injected"):
        ingest.ingest_f1db(store, f1db_copy, seasons=[2024], rounds=[8], workers=1, force=True)
    monkeypatch.setattr(pq, "write_table", real_write)
    after = _snapshot(store)
    assert before.keys() == after.keys()
    for ds in before:
        pd.testing.assert_frame_equal(before[ds], after[ds], obj=ds)
    assert not any((tmp_path / "lake").glob(".staging/*/**/*.parquet"))


def test_rollback_when_the_swap_itself_fails(tmp_path: Path, f1db_copy: Path, monkeypatch) -> None:
    import os

    store = LocalStore(tmp_path / "lake")
    ingest.ingest_f1db(store, f1db_copy, seasons=[2024], workers=1)
    before = _snapshot(store)
    real_replace = os.replace
    calls = {"n": 0}

    def flaky_replace(src, dst):
        calls["n"] += 1
        if calls["n"] == 7:  # in the middle of swapping the race's tables into place
            raise OSError("crash during swap (injected)")
        return real_replace(src, dst)

    monkeypatch.setattr("pitwall.data.store.local.os.replace", flaky_replace)
    with pytest.raises(OSError, match="injected"):
        ingest.ingest_f1db(store, f1db_copy, seasons=[2024], rounds=[8], workers=1, force=True)
    monkeypatch.setattr("pitwall.data.store.local.os.replace", real_replace)
    for ds, df in before.items():
        pd.testing.assert_frame_equal(df, store.read(ds), obj=ds)


@pytest.mark.parametrize(
    ("file", "old", "new", "row", "field"),
    [
        ("race-results.yml", "points: 18", "points: eighteen", 2, "points"),
        ("race-results.yml", "gridPosition: 2", "gridPosition: second", 2, "gridPosition"),
        ("qualifying-results.yml", 'q3: "1:10.424"', 'q3: "1:10.4x4"', 2, "q3"),
        ("pit-stops.yml", "stop: 1", "stop:", 1, "stop"),
        ("race-results.yml", "driverId: oscar-piastri", "driverId: nobody-at-all", 2, "driverId"),
    ],
)
def test_corrupted_files_fail_naming_file_row_and_field(
    tmp_path: Path, f1db_copy: Path, file: str, old: str, new: str, row: int, field: str
) -> None:
    race_dir = next((f1db_copy / "src/data/seasons/2024/races").glob("08-*"))
    target = race_dir / file
    text = target.read_text()
    assert old in text
    target.write_text(text.replace(old, new, 1))
    store = LocalStore(tmp_path / "lake")
    with pytest.raises(SourceValidationError) as info:
        ingest.ingest_f1db(store, f1db_copy, seasons=[2024], workers=1)
    err = info.value
    assert Path(err.file) == target
    assert (err.row, err.field) == (row, field)
    assert store.datasets() == []  # nothing written at all, reference tables included


def test_invalid_yaml_is_reported_with_the_file(tmp_path: Path, f1db_copy: Path) -> None:
    race_dir = next((f1db_copy / "src/data/seasons/2024/races").glob("08-*"))
    (race_dir / "fastest-laps.yml").write_text("- position: 1\n  lap: [unclosed\n")
    with pytest.raises(SourceValidationError, match="fastest-laps.yml.*invalid YAML"):
        ingest.ingest_f1db(LocalStore(tmp_path / "lake"), f1db_copy, seasons=[2024], rounds=[8])


def test_laps_csv_validation_names_row_and_field(tmp_path: Path, shared_data: Path) -> None:
    src = shared_data / "fastf1-laps/laps_2024.csv"
    lines = src.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[3].split(",")
    cells[header.index("LapTime")] = "fast"
    lines[3] = ",".join(cells)
    bad = tmp_path / "laps_2024.csv"
    bad.write_text("\n".join(lines[:50]) + "\n")
    store = LocalStore(tmp_path / "lake")
    with pytest.raises(SourceValidationError) as info:
        ingest.ingest_laps_csv(store, bad)
    assert (info.value.row, info.value.field) == (4, "LapTime")
    assert store.seasons("laps") == []


def test_unjoinable_laps_are_counted_not_dropped(tmp_path: Path, shared_data: Path, f1db_copy: Path) -> None:
    store = LocalStore(tmp_path / "lake")
    ingest.ingest_f1db(store, f1db_copy, seasons=[2024], workers=1)
    src = (shared_data / "fastf1-laps/laps_2024.csv").read_text().splitlines()
    header = src[0].split(",")
    rows = [r.split(",") for r in src[1:400]]
    for r in rows[:5]:  # an unknown driver code and number
        r[header.index("Driver")] = "ZZZ"
        r[header.index("DriverNumber")] = "99"
    f = tmp_path / "laps_2024.csv"
    f.write_text("\n".join([src[0]] + [",".join(r) for r in rows]) + "\n")
    report = ingest.ingest_laps_csv(store, f)
    assert report.join is not None
    assert report.join.rows == 399 and report.join.unjoined_rows == 5
    assert report.join.unjoined == {(2024, 1, "ZZZ"): 5}
    laps = store.read("laps")
    assert len(laps) == 399 and laps["driver_id"].isna().sum() == 5
