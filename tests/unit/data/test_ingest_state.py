"""The run record's season spans (what `pitwall data status` prints for an incomplete history)."""

from __future__ import annotations

import pytest

from pitwall.data.ingest_state import season_span


@pytest.mark.parametrize(
    ("seasons", "text"),
    [
        ([], "none"),
        ([1994], "1994"),
        ([1994, 1995, 1996], "1994-1996"),
        ([1950, 1994, 1995, 2024], "1950, 1994-1995, 2024"),
    ],
)
def testseason_span(seasons: list[int], text: str) -> None:
    assert season_span(seasons) == text


def test_ingest_summary_counts_in_words() -> None:
    from pitwall.data.ingest import IngestReport

    one = IngestReport(source="f1db", races=[(2024, 24)], seconds=0.2, skipped=1124)
    assert one.summary() == "f1db: 1 race (season 2024) in 0.2s; 1124 unchanged races skipped (--force rewrites them)"
    many = IngestReport(source="f1db", races=[(2023, 1), (2024, 1)], seconds=1.0)
    assert many.summary() == "f1db: 2 races (seasons 2023-2024) in 1.0s"
    laps = IngestReport(source="laps-csv", skipped=1)
    assert laps.summary() == "laps-csv: 0 races in 0.0s; 1 unchanged file skipped (--force rewrites them)"
