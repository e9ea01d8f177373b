"""Wiring for this process: which event publisher is in use and who listens to it.

Every ingest run publishes one summary ``RaceIngested`` (``pitwall.data.events``) listing its races.
The materialised feature tables are refreshed for the run's seasons FIRST
(``pitwall.features.race_ingested_handler``, one cheap manifest check per changed season: the local
bus's first subscriber, or :class:`FeaturesFirst` before EventBridge), then the event reaches:

- locally to an in-process bus whose subscribers are retraining (models flagged auto-retrain
  retrain through the local workflow, champion/challenger, only when the run's newest race is the
  newest race stored: a new race weekend, not a backfill of history) and monitoring
  (``pitwall.monitoring.subscriber``: live record and alerts for the listed races);
- with ``PITWALL_BACKEND=aws`` to EventBridge, whose rules run retraining and monitoring in the cloud.

Subscribers work on the listed races only: O(changed races), never a walk of the whole lake per race.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache

from pitwall.config import backend_kind
from pitwall.data.events import EventBridgePublisher, LocalEventBus, Publisher, RaceIngested

log = logging.getLogger(__name__)


def _is_newest_race(event: RaceIngested) -> bool:
    """True when the event's newest race is at or after the newest race stored (one season read)."""
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
    from pitwall.platform.models import list_auto_retrain_models

    if not list_auto_retrain_models():  # nothing to retrain: the training workflow is not even imported
        return
    from pitwall.workflow.local_training import retrain_on_race

    for outcome in retrain_on_race(event):
        log.info("retraining %s/%s after %s: %s", outcome.tenant_id, outcome.model_name, event.race_id, outcome.status)


def _monitor(event: RaceIngested) -> None:
    from pitwall.monitoring.subscriber import race_ingested_subscriber

    race_ingested_subscriber(event)


def refresh_features(event: RaceIngested) -> None:
    """Bring the materialised feature tables up to date with the event's seasons (before publishing)."""
    from pitwall.data.catalog import refresh_catalog
    from pitwall.data.store import get_store
    from pitwall.features import race_ingested_handler

    store = get_store()
    race_ingested_handler(store)(event)  # one refresh, from the first changed race of the event's seasons
    refresh_catalog(store)  # the API's data catalogue (pitwall.data.catalog), local and S3 alike


class FeaturesFirst(EventBridgePublisher):
    """EventBridge publishing that refreshes the feature tables first (the cloud rules' subscribers
    then read fresh tables). A failed refresh is logged and the event still goes out (the races are
    stored; monitoring and retraining still need to hear of them)."""

    def publish(self, event: RaceIngested) -> None:
        _refresh_logged(event)
        super().publish(event)


def _refresh_logged(event: RaceIngested) -> None:
    try:
        refresh_features(event)
    except Exception:  # noqa: BLE001 - see FeaturesFirst
        log.exception("feature refresh after ingesting %d race(s) failed", len(event.race_list))


@lru_cache(maxsize=1)
def local_bus() -> LocalEventBus:
    """The in-process bus: the feature refresh is its first subscriber, so retraining and monitoring
    (called in order after it) see the refreshed tables."""
    bus = LocalEventBus()
    bus.subscribe(_refresh_logged)
    bus.subscribe(_retrain)
    bus.subscribe(_monitor)
    return bus


def event_publisher() -> Publisher:
    if backend_kind() == "aws":
        return FeaturesFirst(bus_name=os.environ.get("PITWALL_EVENT_BUS", "default"))
    return local_bus()
