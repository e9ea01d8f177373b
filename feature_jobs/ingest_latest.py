"""The post-race-weekend job: ingest the latest race through FastF1, then refresh the features.

Run by the weekly EventBridge schedule (``build_features.handler`` dispatches scheduled events
here). It finds the last race of the season that has been run (FastF1's event schedule), skips
it when its laps are already stored, otherwise downloads it (results, laps, weather, track
status, pit stops), which publishes ``RaceIngested`` (EventBridge in the cloud: the retraining
rule starts there), and updates the materialised feature tables incrementally.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pitwall.data.events import Publisher
from pitwall.data.sources.fastf1_live import RoundsLoader, SessionLoader, fastf1_rounds_loader, ingest_fastf1
from pitwall.data.store import Store
from pitwall.features.tables import update_feature_tables


def latest_completed_round(season: int, rounds_loader: RoundsLoader) -> int | None:
    rounds = rounds_loader(season)
    return max(rounds) if rounds else None


def ingest_latest_race(
    store: Store,
    publisher: Publisher | None,
    *,
    season: int | None = None,
    rounds_loader: RoundsLoader | None = None,
    session_loader: SessionLoader | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Ingest the season's latest completed race unless its laps are stored already."""
    season = season or (now or datetime.now(UTC)).year
    latest = latest_completed_round(season, rounds_loader or fastf1_rounds_loader())
    if latest is None:
        return {"status": "no race run yet", "season": season}
    stored = set(store.read("laps", [season])["round"].astype(int)) if season in store.seasons("laps") else set()
    if latest in stored:
        return {"status": "up to date", "season": season, "round": latest}
    report = ingest_fastf1(store, season, latest, publisher=publisher, session_loader=session_loader)
    features = update_feature_tables(store)
    return {
        "status": "ingested",
        "season": season,
        "round": latest,
        "rows": report.rows,
        "features_from": features.first_changed_race,
    }
