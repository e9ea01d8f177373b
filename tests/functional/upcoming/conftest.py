"""Fixtures of the upcoming-race tests: the lake cut at 2024 round 10 (see ``cut.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.functional.upcoming.cut import CUT_SEASON, LAST_RUN, cut_tree


@pytest.fixture(scope="session")
def cut_lake(tmp_path_factory: pytest.TempPathFactory, shared_data: Path):
    """A LocalStore of the cut tree (all F1DB seasons; laps 2018 to 2024 round 10). Read-only."""
    from pitwall.data.ingest import ingest_f1db, ingest_laps_csv
    from pitwall.data.store import LocalStore

    root = tmp_path_factory.mktemp("cut")
    tree = cut_tree(shared_data / "f1db", root / "f1db")
    store = LocalStore(root / "lake")
    ingest_f1db(store, tree)
    laps = shared_data / "fastf1-laps"
    ingest_laps_csv(store, laps, seasons=range(2018, CUT_SEASON))
    ingest_laps_csv(store, laps, seasons=[CUT_SEASON], rounds=range(1, LAST_RUN + 1))
    return store
