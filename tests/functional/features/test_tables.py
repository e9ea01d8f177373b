"""Materialised feature tables: full build, reads, incremental rebuild on RaceIngested, the job entry point."""

from __future__ import annotations

import pandas as pd
import pytest

from pitwall.config import REPO_ROOT
from pitwall.data.events import LocalEventBus
from pitwall.data.ingest import ingest_f1db
from pitwall.features import FEATURE_TABLES, FeatureInputError, FeatureStore, show_features
from pitwall.features import feature_store as feature_store_module
from pitwall.features.compute import at_moment, compute_features
from pitwall.features.inputs import INPUT_TABLES, FeatureInputs, read_dataset
from pitwall.features.laps import lap_frame, pit_stop_frame, race_frame
from pitwall.features.spec import render_markdown
from pitwall.features.tables import MANIFEST, build_feature_tables, driver_table, race_ingested_handler

from .conftest import copy_lake

SEASONS = [2023, 2024]


def _expected(store, all_frames: bool) -> dict[str, pd.DataFrame]:
    inp = FeatureInputs.from_store(store)
    pre_race = compute_features(inp, seasons=SEASONS)
    out = {
        driver_table("pre_race"): pre_race,
        driver_table("pre_qualifying"): at_moment(pre_race, "pre_qualifying"),
        "features_races": race_frame(inp, seasons=SEASONS),
        "features_pit_stops": pit_stop_frame(inp, seasons=SEASONS),
    }
    if all_frames:
        out["features_laps"] = lap_frame(inp, seasons=SEASONS)
    return out


def _assert_tables_match_recomputation(store, all_frames: bool = False) -> None:
    """Stored tables equal a from-scratch computation (the lap frame only when ``all_frames``)."""
    for dataset, frame in _expected(store, all_frames).items():
        stored = read_dataset(store, dataset, SEASONS)
        pd.testing.assert_frame_equal(stored, frame.reset_index(drop=True), check_exact=True, obj=dataset)


def _mtimes(store, dataset: str, season: int) -> int:
    return (store.root / dataset / f"season={season}" / "data.parquet").stat().st_mtime_ns


@pytest.fixture
def store(lake, tmp_path):
    """A writable lake without the last race of 2024 (it arrives in the tests)."""
    s = copy_lake(lake, tmp_path / "lake")
    for name in INPUT_TABLES:
        df = read_dataset(s, name, [2024])
        s.replace_races(2024, [24], {name: df.iloc[0:0]})
    return s


def test_build_then_incremental_rebuild_on_race_ingested(store, shared_data, monkeypatch):
    report = build_feature_tables(store, SEASONS)
    assert report.seasons_written == SEASONS
    assert set(FEATURE_TABLES) | {MANIFEST} <= set(store.datasets())
    _assert_tables_match_recomputation(store, all_frames=True)
    assert store.sql("SELECT count(*) AS n FROM features_driver_pre_race WHERE season = 2024")["n"].item() == 459

    # fresh tables are read, not recomputed
    def refuse(*args, **kwargs):
        raise AssertionError("computed although the tables are fresh")

    monkeypatch.setattr(feature_store_module, "compute_features", refuse)
    got = FeatureStore(store).get_features(seasons=2024, moment="pre_qualifying")
    assert len(got) == 459 and got["start_position"].isna().all()
    monkeypatch.undo()

    bus = LocalEventBus()
    handler = race_ingested_handler(store)
    reports = []
    bus.subscribe(lambda event: reports.append(handler(event)))
    before_2023 = _mtimes(store, driver_table("pre_race"), 2023)
    ingest_f1db(store, shared_data / "f1db", seasons=[2024], rounds=[24], publisher=bus)
    assert not bus.errors
    assert len(reports) == 1 and reports[0] is not None
    assert reports[0].first_changed_race == "2024-24" and reports[0].seasons_written == [2024]
    assert reports[0].rows[driver_table("pre_race")] == 20  # only the new race's rows were computed
    assert _mtimes(store, driver_table("pre_race"), 2023) == before_2023
    _assert_tables_match_recomputation(store)

    # the same race again, rewritten (--force; a plain re-ingest skips it unread): the event
    # arrives, nothing changed, nothing is rebuilt
    ingest_f1db(store, shared_data / "f1db", seasons=[2024], rounds=[24], publisher=bus, force=True)
    assert len(reports) == 2 and reports[-1] is None

    # a corrected 2023 race: that season from the race on, and the following season, are rebuilt
    results = read_dataset(store, "results", [2023])
    fixed = results[results["round"] == 20].copy()
    fixed["points"] = fixed["points"] + 1.0
    store.replace_races(2023, [20], {"results": fixed})
    handler_report = handler(type(bus.published[0])(2023, 20, "2023-20", "test", {"results": len(fixed)}))
    assert handler_report is not None and handler_report.first_changed_race == "2023-20"
    assert handler_report.seasons_written == [2023, 2024]
    _assert_tables_match_recomputation(store)


def test_handler_does_nothing_before_a_build(store, shared_data):
    bus = LocalEventBus()
    reports = []
    handler = race_ingested_handler(store)
    bus.subscribe(lambda event: reports.append(handler(event)))
    ingest_f1db(store, shared_data / "f1db", seasons=[2024], rounds=[24], publisher=bus)
    assert reports == [None] and not bus.errors
    assert driver_table("pre_race") not in store.datasets()


def test_show_features_and_job_entry_point(lake, tmp_path, monkeypatch, capsys):
    import feature_jobs.build_features as job

    home = tmp_path / "home"
    monkeypatch.setenv("PITWALL_HOME", str(home))
    copy_lake(lake, home / "lake")
    assert job.main(["2024"]) == 0
    assert "seasons 2024" in capsys.readouterr().out
    assert job.main(["2024-2023"]) == 2
    assert "not a range" in capsys.readouterr().err
    assert job.handler({"detail": {"season": 2024, "round": 24}})["seasons_written"] == []  # already fresh

    from pitwall.data.store import get_store

    shown = show_features(get_store(), 2024, 8)
    assert len(shown) == 20
    assert shown.iloc[0]["driver_id"] == "charles-leclerc" and shown.iloc[0]["start_position"] == 1
    with pytest.raises(FeatureInputError, match="season 2024 has no round 30") as err:
        show_features(get_store(), 2024, 30)
    assert err.value.field == "round"


def test_docs_list_every_feature_definition():
    doc = (REPO_ROOT / "docs" / "features.md").read_text()
    assert render_markdown() in doc
    from pitwall.features.laps import render_frame_tables

    assert render_frame_tables() in doc  # the lap / stint / pit-stop / race columns with their known_at


def test_feature_store_keeps_inputs_only_while_the_store_is_unchanged(store):
    fs = FeatureStore(store)

    def ver_points() -> float:
        df = fs.get_features(seasons=2024, features=["career_points"], drivers="max-verstappen")
        return df.set_index("race_id").loc["2024-02", "career_points"]

    before = ver_points()
    assert ver_points() == before  # served from the kept inputs
    results = read_dataset(store, "results", [2024])
    bahrain = results[results["round"] == 1].copy()
    bahrain.loc[bahrain["driver_id"] == "max-verstappen", "points"] += 100.0
    store.replace_races(2024, [1], {"results": bahrain})
    assert ver_points() == before + 100.0
