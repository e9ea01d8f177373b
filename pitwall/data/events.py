"""'Race ingested' events: a small publisher interface with local and AWS implementations.

One ingest run publishes ONE summary :class:`RaceIngested` carrying the list of races it wrote
(``races``), not one event per race: the ingest functions are wrapped by :func:`one_event_per_run`,
which collects their per-race events in an :class:`IngestRun` and publishes the summary when the run
ends. ``season``/``round``/``race_id`` of the summary name its newest race; ``tables`` sums the rows.
:func:`pitwall.runtime.event_publisher` refreshes the feature tables before the summary reaches the
subscribers (retraining, monitoring) or EventBridge.

Locally, subscribers are in-process callables. In the cloud, events go to EventBridge (source
``pitwall.data``, detail-type ``RaceIngested``), where rules start retraining and monitoring.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar

EVENT_SOURCE = "pitwall.data"
RACE_INGESTED = "RaceIngested"


@dataclass(frozen=True)
class RaceIngested:
    season: int
    round: int
    race_id: str
    source: str
    tables: dict[str, int] = field(default_factory=dict)  # rows written per table
    races: list[dict[str, Any]] = field(default_factory=list)
    """Every race of the run, in order: ``{"season", "round", "race_id"}`` (empty: this one race)."""

    def to_detail(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def race_list(self) -> list[dict[str, Any]]:
        """The races this event announces (the summary's list, or this single race)."""
        return list(self.races) or [{"season": self.season, "round": self.round, "race_id": self.race_id}]

    @property
    def seasons(self) -> list[int]:
        return sorted({int(r["season"]) for r in self.race_list})

    @classmethod
    def summary(cls, events: Sequence[RaceIngested]) -> RaceIngested:
        """One event for a run's per-race events: the newest race's identity, every race listed."""
        if not events:
            raise ValueError("events: a summary needs at least one race")
        races: dict[str, dict[str, Any]] = {}
        tables: dict[str, int] = {}
        sources: list[str] = []
        for event in events:
            for race in event.race_list:
                races[str(race["race_id"])] = {k: race[k] for k in ("season", "round", "race_id")}
            for name, rows in event.tables.items():
                tables[name] = tables.get(name, 0) + int(rows)
            if event.source not in sources:
                sources.append(event.source)
        ordered = sorted(races.values(), key=lambda r: (int(r["season"]), int(r["round"])))
        newest = ordered[-1]
        return cls(newest["season"], newest["round"], newest["race_id"], "+".join(sources), tables, ordered)


class Publisher(Protocol):
    def publish(self, event: RaceIngested) -> None: ...


class IngestRun:
    """A publisher that collects one ingest run's events and publishes their summary on :meth:`close`."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher
        self.events: list[RaceIngested] = []

    def publish(self, event: RaceIngested) -> None:
        self.events.append(event)

    def close(self) -> RaceIngested | None:
        """Publish the summary (nothing when no race was written); returns it."""
        if not self.events:
            return None
        summary = RaceIngested.summary(self.events)
        self.events = []
        self.publisher.publish(summary)
        return summary


F = TypeVar("F", bound=Callable[..., Any])


def one_event_per_run(function: F) -> F:
    """Wrap an ingest function taking ``publisher=``: its per-race events become one summary event,
    published when it returns (or fails after committing races). Nested runs publish once, outermost."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind_partial(*args, **kwargs)
        publisher = bound.arguments.get("publisher")
        if publisher is None or isinstance(publisher, IngestRun):
            return function(*args, **kwargs)
        run = IngestRun(publisher)
        bound.arguments["publisher"] = run
        try:
            return function(*bound.args, **bound.kwargs)
        finally:
            run.close()

    return wrapper  # type: ignore[return-value]


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
