"""One ingest run, one summary ``RaceIngested``: a bulk ingest of 300+ real races publishes a single
event listing every race, after the feature tables were refreshed; its subscribers read the list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pitwall.data.events import LocalEventBus, RaceIngested
from pitwall.data.ingest import ingest_f1db
from pitwall.data.store import LocalStore
from pitwall.monitoring.subscriber import ingested_races
from pitwall.workflow.retrain import parse_race


def test_a_300_race_bulk_ingest_publishes_one_event_listing_every_race(tmp_path: Path, shared_data: Path) -> None:
    bus = LocalEventBus()
    heard: list[RaceIngested] = []
    bus.subscribe(heard.append)
    report = ingest_f1db(LocalStore(tmp_path / "lake"), shared_data / "f1db", seasons=range(2010, 2025), publisher=bus)
    assert len(report.races) >= 300
    assert len(bus.published) == 1 and heard == bus.published
    (event,) = heard
    listed = [(r["season"], r["round"]) for r in event.races]
    assert listed == sorted(report.races)
    assert (event.season, event.round) == max(report.races) and event.race_id == f"2024-{max(report.races)[1]:02d}"
    assert event.tables["results"] == report.rows["results"]
    # the subscribers read the list: monitoring scores every race, retraining retrains once on the newest
    assert ingested_races(event.to_detail()) == listed
    assert parse_race(event.to_detail()) == (2024, event.race_id)


def test_no_race_written_publishes_nothing_and_a_failed_run_still_announces_what_it_committed(
    tmp_path: Path, shared_data: Path
) -> None:
    bus = LocalEventBus()
    with pytest.raises(ValueError):
        ingest_f1db(LocalStore(tmp_path / "lake"), shared_data / "f1db", seasons=[1900], publisher=bus)
    assert bus.published == []


def test_features_are_refreshed_before_the_event_goes_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from pitwall import runtime

    order: list[Any] = []
    monkeypatch.setattr(runtime, "refresh_features", lambda event: order.append(("refresh", event.seasons)))

    class Client:
        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
            order.append(("publish", json.loads(Entries[0]["Detail"])["race_id"]))
            return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}

    summary = RaceIngested.summary([RaceIngested(2024, r, f"2024-{r:02d}", "f1db", {"results": 20}) for r in (1, 2)])
    runtime.FeaturesFirst(Client()).publish(summary)  # the cloud: refresh, then EventBridge
    assert order == [("refresh", [2024]), ("publish", "2024-02")]
    assert summary.tables == {"results": 40} and len(summary.races) == 2
    order.clear()
    bus = LocalEventBus()  # locally: the refresh is the bus's first subscriber
    for handler in runtime.local_bus()._subscribers[:1]:
        bus.subscribe(handler)
    bus.subscribe(lambda event: order.append(("subscriber", event.race_id)))
    bus.publish(summary)
    assert order == [("refresh", [2024]), ("subscriber", "2024-02")]
