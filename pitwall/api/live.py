"""The live routes: ``GET /api/v1/live/{model}`` (the latest snapshot) and
``GET /api/v1/live/{model}/events`` (a Server-Sent Events stream under ``pitwall serve``).

Both answer from the live feed (:mod:`pitwall.live.feed`: SQLite locally, the live stack's
DynamoDB table in the cloud) through the one snapshot rule, :func:`pitwall.live.feed.latest_snapshot`.

API Gateway REST cannot stream, so through the Chalice app (the Lambda, and ``pitwall serve``
when the client does not ask for ``text/event-stream``) the events route answers the snapshot
too and clients poll it, with ``?since=<lap>`` to receive the laps they missed. Under
``pitwall serve`` a request with ``Accept: text/event-stream`` is first answered by the app as
usual (key, quota, model checks: the same 4xx), and on a 200 the server streams instead
(:class:`LiveEventStream`): one ``event: lap`` per published lap, ``id: <session>:<lap>``,
``data:`` the lap's snapshot as one JSON line; ``Last-Event-ID`` (or ``?since=``) resumes after a
lap; ``event: end`` once the session's last lap was sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from pitwall.api import schemas as s
from pitwall.api.http import Call
from pitwall.errors import NotFound, ValidationFailed
from pitwall.live.feed import LiveFeed, get_feed, latest_snapshot, parse_since, updates_after
from pitwall.platform import models
from pitwall.platform.validation import identifier

EVENTS_SUFFIX = "/events"
SSE_CONTENT_TYPE = "text/event-stream"

EXAMPLE_SNAPSHOT: dict[str, Any] = {
    "model": "live_v1",
    "session": "2024-08",
    "source": "replay",
    "race_id": "2024-08",
    "session_key": None,
    "lap": 40,
    "total_laps": 78,
    "laps_remaining": 38,
    "finished": False,
    "track_status": [],
    "weather": None,
    "updated_at": "2024-05-26T14:12:31.204Z",
    "known_inputs": "in_race at the end of lap 40 of 78: running order, gaps, lap times, tyres, stops and "
    "track status of laps 1-40; nothing after lap 40 is used",
    "drivers": [
        {
            "driver_number": 16,
            "driver_code": "LEC",
            "team": "Ferrari",
            "driver_id": "charles-leclerc",
            "position": 1,
            "laps_completed": 40,
            "running": True,
            "gap_to_leader_s": 0.0,
            "interval_s": None,
            "laps_down": 0,
            "last_lap_time_s": 76.511,
            "compound": "HARD",
            "tyre_age_laps": 40,
            "stops": 1,
            "grid_position": 1,
            "p_win": 0.912,
            "p_podium": 0.997,
            "expected_position": 1.1,
            "next_lap": {"lap": 41, "lap_time_s": 76.42},
        }
    ],
    "updates": [],
}


def _feed(call: Call) -> LiveFeed:
    return getattr(call.services, "live_feed", None) or get_feed()


def _live_name(call: Call) -> str:
    value = call.params.get("model", "")
    try:
        return identifier(value, "model")
    except ValidationFailed:
        raise NotFound(f"model {value!r} not found", field="model") from None


def _no_snapshot(call: Call, name: str) -> Exception:
    """Why a model has no snapshot: a registered model without live support (422), a live model
    with nothing published yet (404 ``no_live_updates``), or no such model (404)."""
    try:
        record = models.get_model(call.tenant.tenant_id, name, backend=call.services.records)
    except NotFound:
        record = None
    if record is not None:
        return ValidationFailed(
            f"model {name!r} is a {record.template} model without live support; live snapshots come from live "
            "race models (`pitwall live train NAME --train-until 2023`)",
            field="model",
            code="no_live_support",
            unprocessable=True,
        )
    if _live_model_exists(name):
        return NotFound(
            f"model {name!r} has no live updates yet: none of its sessions has been published (locally: "
            f"`pitwall live replay SEASON ROUND --model {name} --publish`; in the cloud the poller publishes "
            "during races)",
            field="model",
            code="no_live_updates",
        )
    return NotFound(f"live model {name!r} not found", field="model")


def _live_model_exists(name: str) -> bool:
    from pitwall.live.predictors import live_models_dir

    return (live_models_dir() / name / "metadata.json").exists()


def _snapshot(call: Call) -> s.LiveSnapshot:
    name = _live_name(call)
    try:
        since = parse_since(call.query.get("since"))
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="since") from None
    snapshot = latest_snapshot(_feed(call), name, since)
    if snapshot is None:
        raise _no_snapshot(call, name)
    return s.LiveSnapshot.model_validate(snapshot)


def live_snapshot(call: Call) -> s.LiveSnapshot:
    """``GET /live/{model}``: the latest lap of the model's current session (+ laps after ``since``)."""
    return _snapshot(call)


def live_events(call: Call) -> s.LiveSnapshot:
    """``GET /live/{model}/events``: the snapshot (the server streams it as SSE when asked)."""
    return _snapshot(call)


# --------------------------------------------------------------------------- Server-Sent Events


def sse_event(doc: Mapping[str, Any]) -> bytes:
    """One lap as an SSE event: ``id: <session>:<lap>``, ``event: lap``, ``data: <JSON line>``."""
    data = json.dumps({k: v for k, v in doc.items() if k != "updates"}, separators=(",", ":"), allow_nan=False)
    return f"id: {doc['session']}:{doc['lap']}\nevent: lap\ndata: {data}\n\n".encode()


def parse_event_id(value: str | None) -> tuple[str | None, int]:
    """``Last-Event-ID`` (``<session>:<lap>``) -> (session, lap); (None, 0) when absent or malformed."""
    if not value or ":" not in value:
        return None, 0
    session, _, lap = value.rpartition(":")
    return (session, int(lap)) if lap.isdigit() else (None, 0)


def wants_stream(method: str, path: str, headers: Mapping[str, str]) -> str | None:
    """The model of a ``GET /api/v1/live/{model}/events`` request asking for ``text/event-stream``."""
    from pitwall.api.http import API_PREFIX

    prefix = f"{API_PREFIX}/live/"
    if method != "GET" or not path.startswith(prefix) or not path.endswith(EVENTS_SUFFIX):
        return None
    model = path[len(prefix) : -len(EVENTS_SUFFIX)]
    if not model or "/" in model or SSE_CONTENT_TYPE not in headers.get("accept", ""):
        return None
    return model


class LiveEventStream:
    """The SSE stream of one model: ``poll()`` returns what is ready now (never blocks), ``done``
    once the session's last lap (and ``event: end``) went out. The server awaits between polls."""

    HEADERS: tuple[tuple[bytes, bytes], ...] = (
        (b"content-type", b"text/event-stream; charset=utf-8"),
        (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no"),
    )

    def __init__(
        self,
        model: str,
        feed: LiveFeed,
        last_event_id: str | None = None,
        since: int | None = None,
        *,
        heartbeat_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self.feed = feed
        self.session, self.lap = parse_event_id(last_event_id)
        if self.session is None and since is not None:
            head = feed.head(model)
            self.session, self.lap = (head["session"], since) if head else (None, 0)
        self.heartbeat_s = heartbeat_s
        self._clock = clock
        self._last_sent = clock()
        self.done = False
        self.started = False

    def poll(self) -> list[bytes]:
        if self.done:
            return []
        out: list[bytes] = [] if self.started else [b"retry: 2000\n\n"]
        self.started = True
        for doc in updates_after(self.feed, self.model, self.session, self.lap):
            out.append(sse_event(doc))
            self.session, self.lap = doc["session"], int(doc["lap"])
            if doc.get("finished"):
                out.append(b"event: end\ndata: {}\n\n")
                self.done = True
                break
        now = self._clock()
        if out:
            self._last_sent = now
        elif now - self._last_sent >= self.heartbeat_s:
            out.append(b": keep-alive\n\n")
            self._last_sent = now
        return out
