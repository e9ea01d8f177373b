"""The live feed: every published lap update of every live model, and the one snapshot rule.

Producers publish one document per model, session and lap (:func:`snapshot_doc` of a
``LiveUpdate``): ``pitwall live replay|openf1 --publish`` locally, the cloud poller
(``functions/live_poller``) in AWS. Readers — ``GET /api/v1/live/{model}``, its SSE stream under
``pitwall serve``, the web UI's live page — go through :func:`latest_snapshot` and
:func:`updates_after`, whatever the feed's storage:

- :class:`LocalFeed`: SQLite at ``$PITWALL_HOME/live_feed.sqlite`` (the CLI writes, the server reads);
- ``pitwall.live.aws.DynamoFeed``: the DynamoDB table of the live stack (``PITWALL_LIVE_TABLE``),
  items expiring after ``ttl_days`` (DynamoDB TTL).

A model's *current session* is the session of its most recently published update; the snapshot
is that session's latest lap. Session ids are the race id (``2024-08``) when the feed knows the
race, else ``openf1-<session_key>``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pitwall.config import pitwall_home
from pitwall.live.state import LapState

LIVE_TABLE_ENV = "PITWALL_LIVE_TABLE"
UNPUBLISHED_INPUTS = frozenset({"pre_race_strength"})
"""Driver inputs kept out of the published documents (the API's ``LiveDriver`` does not list them)."""
MAX_UPDATES = 200
"""At most this many laps in one ``?since=`` answer (a race has fewer)."""


class LiveFeed(Protocol):
    def put(self, model: str, doc: Mapping[str, Any]) -> None:
        """Store one lap's document (replacing the same model/session/lap)."""

    def head(self, model: str) -> dict[str, Any] | None:
        """The latest document of the model's current session (None: nothing published)."""

    def laps(self, model: str, session: str, after: int, limit: int = MAX_UPDATES) -> list[dict[str, Any]]:
        """The session's documents of laps ``> after``, in lap order."""


def session_id(state: LapState) -> str:
    if state.race_id is not None:
        return state.race_id
    if state.session_key is not None:
        return f"openf1-{state.session_key}"
    return "unknown"


def known_inputs(state: LapState) -> str:
    """What the lap's predictions were made from (the ``known_inputs`` note of every answer)."""
    weather = ", weather" if state.weather is not None else ""
    return (
        f"in_race at the end of lap {state.lap} of {state.total_laps}: running order, gaps, lap times, tyres, "
        f"stops and track status{weather} of laps 1-{state.lap}; nothing after lap {state.lap} is used"
    )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def snapshot_doc(update: Any, updated_at: str | None = None) -> dict[str, Any]:
    """One lap's published document (``LiveSnapshot`` in the API schemas) from a ``LiveUpdate``."""
    state: LapState = update.state
    drivers = []
    for d, p in zip(state.drivers, update.predictions, strict=True):
        drivers.append(
            {
                **{k: v for k, v in asdict(d).items() if k not in UNPUBLISHED_INPUTS},
                "p_win": round(p.p_win, 6),
                "p_podium": round(p.p_podium, 6),
                "expected_position": round(p.expected_position, 3),
            }
        )
    laps = getattr(update, "lap_predictions", None) or {}
    if laps:
        for row in drivers:
            row["next_lap"] = laps.get(row["driver_number"])
    return {
        "model": update.model,
        "session": session_id(state),
        "source": state.source,
        "race_id": state.race_id,
        "session_key": state.session_key,
        "lap": state.lap,
        "total_laps": state.total_laps,
        "laps_remaining": state.laps_remaining,
        "finished": state.final or state.lap >= state.total_laps,
        "track_status": sorted(state.track_status),
        "weather": None if state.weather is None else asdict(state.weather),
        "updated_at": updated_at or now_iso(),
        "known_inputs": known_inputs(state),
        "drivers": drivers,
    }


def latest_snapshot(feed: LiveFeed, model: str, since: int | None = None) -> dict[str, Any] | None:
    """The snapshot rule: the latest lap of the model's current session, and with ``since`` the
    session's laps after ``since`` (``updates``, lap order; what a polling client missed)."""
    head = feed.head(model)
    if head is None:
        return None
    updates = [] if since is None else feed.laps(model, head["session"], since)
    return {**head, "updates": updates}


def updates_after(feed: LiveFeed, model: str, session: str | None, lap: int) -> list[dict[str, Any]]:
    """What an SSE client resuming after ``(session, lap)`` has not seen: the current session's laps
    after ``lap`` (all of them when the current session is another one)."""
    head = feed.head(model)
    if head is None:
        return []
    after = lap if session == head["session"] else 0
    return feed.laps(model, head["session"], after)


def parse_since(value: str | None) -> int | None:
    """``?since=<lap>``: a whole number >= 0 (None when absent)."""
    if value is None or value == "":
        return None
    try:
        lap = int(value)
    except ValueError:
        raise ValueError(f"since must be a lap number (a whole number >= 0); got {value!r}") from None
    if lap < 0:
        raise ValueError(f"since must be >= 0; got {lap}")
    return lap


class LocalFeed:
    """The feed in one SQLite file (several processes: the CLI publishes, the server reads)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else pitwall_home() / "live_feed.sqlite"
        self._lock = threading.Lock()
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10)
        if not self._ready:
            with self._lock:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS live_updates (model TEXT NOT NULL, session TEXT NOT NULL, "
                    "lap INTEGER NOT NULL, written INTEGER NOT NULL, doc TEXT NOT NULL, "
                    "PRIMARY KEY (model, session, lap))"
                )
                conn.commit()
                self._ready = True
        return conn

    def put(self, model: str, doc: Mapping[str, Any]) -> None:
        conn = self._connect()
        try:
            with conn:
                if int(doc["lap"]) == 1:  # the session published again from its start: a new run replaces the old
                    conn.execute("DELETE FROM live_updates WHERE model = ? AND session = ?", (model, doc["session"]))
                (written,) = conn.execute("SELECT COALESCE(MAX(written), 0) + 1 FROM live_updates").fetchone()
                conn.execute(
                    "INSERT OR REPLACE INTO live_updates VALUES (?, ?, ?, ?, ?)",
                    (model, doc["session"], int(doc["lap"]), written, json.dumps(doc, allow_nan=False)),
                )
        finally:
            conn.close()

    def head(self, model: str) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        conn = self._connect()
        try:
            row = conn.execute(
                "SELECT session FROM live_updates WHERE model = ? ORDER BY written DESC LIMIT 1", (model,)
            ).fetchone()
            if row is None:
                return None
            (doc,) = conn.execute(
                "SELECT doc FROM live_updates WHERE model = ? AND session = ? ORDER BY lap DESC LIMIT 1",
                (model, row[0]),
            ).fetchone()
            return json.loads(doc)
        finally:
            conn.close()

    def laps(self, model: str, session: str, after: int, limit: int = MAX_UPDATES) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        conn = self._connect()
        try:
            rows = conn.execute(
                "SELECT doc FROM live_updates WHERE model = ? AND session = ? AND lap > ? ORDER BY lap LIMIT ?",
                (model, session, int(after), int(limit)),
            ).fetchall()
            return [json.loads(r[0]) for r in rows]
        finally:
            conn.close()


def get_feed() -> LiveFeed:
    """The feed of this environment: the live stack's DynamoDB table when ``PITWALL_LIVE_TABLE`` is
    set (the API and poller Lambdas), else the local SQLite feed."""
    table = os.environ.get(LIVE_TABLE_ENV)
    if table:
        from pitwall.live.aws import DynamoFeed

        return DynamoFeed(table)
    return LocalFeed()


def publisher(feed: LiveFeed | None = None):  # type: ignore[no-untyped-def]
    """A ``connect_to_stream`` callback publishing each update to ``feed`` (default: :func:`get_feed`)."""
    target = feed if feed is not None else get_feed()

    def publish(update: Any) -> None:
        target.put(update.model, snapshot_doc(update))

    return publish
