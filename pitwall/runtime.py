"""Wiring for this process: which event publisher is in use and who listens to it.

Locally, ``event_publisher()`` is an in-process bus with two subscribers:

- the feature store keeps its materialised tables fresh (``race_ingested_handler``);
- models flagged auto-retrain retrain through the local workflow, champion/challenger, but only
  for a race that is the newest one stored (a new race weekend, not a backfill of history).

With ``PITWALL_BACKEND=aws`` events go to EventBridge, whose rules run the same steps in the cloud.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache

from pitwall.config import backend_kind
from pitwall.data.events import EventBridgePublisher, LocalEventBus, Publisher, RaceIngested

log = logging.getLogger(__name__)


def _is_newest_race(event: RaceIngested) -> bool:
    from pitwall.data.store import get_store

    store = get_store()
    seasons = store.seasons("races")
    if not seasons or event.season < seasons[-1]:
        return False
    races = store.read("races", [seasons[-1]])
    return int(races["round"].max()) <= event.round


def _retrain(event: RaceIngested) -> None:
    if not _is_newest_race(event):
        return
    from pitwall.workflow.local_training import retrain_on_race

    for outcome in retrain_on_race(event):
        log.info("retraining %s/%s after %s: %s", outcome.tenant_id, outcome.model_name, event.race_id, outcome.status)


def _refresh_features(event: RaceIngested) -> None:
    from pitwall.data.store import get_store
    from pitwall.features import race_ingested_handler

    race_ingested_handler(get_store())(event)


@lru_cache(maxsize=1)
def local_bus() -> LocalEventBus:
    bus = LocalEventBus()
    bus.subscribe(_refresh_features)
    bus.subscribe(_retrain)
    return bus


def event_publisher() -> Publisher:
    if backend_kind() == "aws":
        return EventBridgePublisher(bus_name=os.environ.get("PITWALL_EVENT_BUS", "default"))
    return local_bus()
