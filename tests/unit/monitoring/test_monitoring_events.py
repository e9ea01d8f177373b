"""The race-ingested subscriber reads both event shapes: per race and one summary per ingest."""

from __future__ import annotations

import pytest

from pitwall.data.events import RaceIngested
from pitwall.monitoring.subscriber import ingested_races


def test_current_per_race_event() -> None:
    assert ingested_races(RaceIngested(2024, 8, "2024-08", "f1db")) == [(2024, 8)]
    assert ingested_races(RaceIngested(2024, 8, "2024-08", "f1db").to_detail()) == [(2024, 8)]


def test_summary_event_with_a_list_of_races() -> None:
    class Summary:
        races = [(2024, 1), (2024, 2), (2024, 2)]

    assert ingested_races(Summary()) == [(2024, 1), (2024, 2)]
    detail = {"source": "f1db", "races": [[2024, 3], {"season": 2024, "round": 4}, "2024-05"]}
    assert ingested_races(detail) == [(2024, 3), (2024, 4), (2024, 5)]


def test_whole_eventbridge_event() -> None:
    event = {"detail-type": "RaceIngested", "source": "pitwall.data", "detail": {"races": [[2023, 22]]}}
    assert ingested_races(event) == [(2023, 22)]


def test_unreadable_event_names_the_problem() -> None:
    with pytest.raises(ValueError, match="races"):
        ingested_races({"source": "f1db"})
    with pytest.raises(ValueError, match="race id"):
        ingested_races({"races": ["monaco"]})


def test_the_ingest_runs_summary_event_lists_its_races() -> None:
    runs = [RaceIngested(2024, r, f"2024-{r:02d}", "f1db") for r in (3, 4)]
    summary = RaceIngested.summary(runs)
    assert ingested_races(summary) == [(2024, 3), (2024, 4)]
    assert ingested_races(summary.to_detail()) == [(2024, 3), (2024, 4)]
    assert ingested_races({"detail": RaceIngested(2024, 9, "2024-09", "f1db").to_detail()}) == [(2024, 9)]
