"""'Race ingested' events: a small publisher interface with local and AWS implementations.

Locally, subscribers are in-process callables (the feature rebuild and retraining hooks).
In the cloud, events go to EventBridge (source ``pitwall.data``, detail-type ``RaceIngested``),
where a rule starts the retraining workflow.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

EVENT_SOURCE = "pitwall.data"
RACE_INGESTED = "RaceIngested"


@dataclass(frozen=True)
class RaceIngested:
    season: int
    round: int
    race_id: str
    source: str
    tables: dict[str, int] = field(default_factory=dict)  # rows written per table

    def to_detail(self) -> dict[str, Any]:
        return asdict(self)


class Publisher(Protocol):
    def publish(self, event: RaceIngested) -> None: ...


class LocalEventBus:
    """In-process publisher: calls each subscriber in order; a failing subscriber is reported
    in ``errors`` but never undoes the ingest that already committed."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[RaceIngested], None]] = []
        self.published: list[RaceIngested] = []
        self.errors: list[tuple[RaceIngested, Exception]] = []

    def subscribe(self, handler: Callable[[RaceIngested], None]) -> Callable[[RaceIngested], None]:
        self._subscribers.append(handler)
        return handler

    def publish(self, event: RaceIngested) -> None:
        self.published.append(event)
        for handler in self._subscribers:
            try:
                handler(event)
            except Exception as exc:  # noqa: BLE001 - one bad subscriber must not stop the others
                self.errors.append((event, exc))


class EventBridgePublisher:
    """Publishes to an EventBridge bus (default bus unless ``bus_name`` is given)."""

    def __init__(self, client: Any = None, bus_name: str = "default"):
        if client is None:
            import boto3

            client = boto3.client("events")
        self.client = client
        self.bus_name = bus_name

    def publish(self, event: RaceIngested) -> None:
        resp = self.client.put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": RACE_INGESTED,
                    "Detail": json.dumps(event.to_detail()),
                    "EventBusName": self.bus_name,
                }
            ]
        )
        if resp.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge rejected the event: {resp['Entries']}")
