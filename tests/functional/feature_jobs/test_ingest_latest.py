"""The weekly post-race job: ingest the latest race from FastF1 (recorded Monaco 2024 session),
publish RaceIngested, refresh the features; a second run finds nothing to do."""

from __future__ import annotations

from pathlib import Path

from feature_jobs.ingest_latest import ingest_latest_race
from pitwall.data.events import LocalEventBus
from pitwall.data.ingest import ingest_f1db
from pitwall.data.store import LocalStore
from pitwall.features import build_feature_tables
from tests.functional.data.test_fastf1_live import fake_loader


def test_schedule_ingests_the_latest_race_once(tmp_path: Path, shared_data: Path) -> None:
    store = LocalStore(tmp_path / "lake")
    ingest_f1db(store, shared_data / "f1db", seasons=[2024], rounds=list(range(1, 9)), workers=1)
    build_feature_tables(store)
    bus = LocalEventBus()
    rounds = lambda season: list(range(1, 9))  # noqa: E731 - the schedule: rounds 1-8 have been run

    out = ingest_latest_race(store, bus, season=2024, rounds_loader=rounds, session_loader=fake_loader())
    assert out["status"] == "ingested" and out["round"] == 8
    assert [(e.season, e.round, e.source) for e in bus.published] == [(2024, 8, "fastf1")]
    assert set(store.read("laps", [2024])["round"]) == {8}
    assert out["features_from"] == "2024-08"  # the feature tables were refreshed from that race

    again = ingest_latest_race(store, bus, season=2024, rounds_loader=rounds, session_loader=fake_loader())
    assert again == {"status": "up to date", "season": 2024, "round": 8}
    assert len(bus.published) == 1


def test_before_the_first_race_nothing_happens(tmp_path: Path) -> None:
    out = ingest_latest_race(LocalStore(tmp_path / "lake"), None, season=2025, rounds_loader=lambda s: [])
    assert out == {"status": "no race run yet", "season": 2025}
