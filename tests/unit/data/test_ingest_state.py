"""The run record's season spans (what `pitwall data status` prints for an incomplete history)."""

from __future__ import annotations

import pytest

from pitwall.data.ingest_state import _span


@pytest.mark.parametrize(
    ("seasons", "text"),
    [
        ([], "none"),
        ([1994], "1994"),
        ([1994, 1995, 1996], "1994-1996"),
        ([1950, 1994, 1995, 2024], "1950, 1994-1995, 2024"),
    ],
)
def test_span(seasons: list[int], text: str) -> None:
    assert _span(seasons) == text
