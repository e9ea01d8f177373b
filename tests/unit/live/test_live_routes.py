"""The live routes' pieces without I/O: the snapshot rule over an in-memory feed, ``?since=``, the
SSE encoding, resume and heartbeat of the event stream, which requests stream, the poller's event
parsing, and the ``known_inputs`` note of race answers (``RaceInfo``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pitwall.api import schemas as s
from pitwall.api.live import EXAMPLE_SNAPSHOT, LiveEventStream, parse_event_id, sse_event, wants_stream
from pitwall.live.feed import latest_snapshot, parse_since, updates_after


class MemoryFeed:
    def __init__(self) -> None:
        self.docs: list[dict[str, Any]] = []

    def put(self, model: str, doc: dict[str, Any]) -> None:
        self.docs = [
            d for d in self.docs if (d["model"], d["session"], d["lap"]) != (model, doc["session"], doc["lap"])
        ]
        self.docs.append({**doc, "model": model})

    def head(self, model: str) -> dict[str, Any] | None:
        mine = [d for d in self.docs if d["model"] == model]
        if not mine:
            return None
        session = mine[-1]["session"]
        return max((d for d in mine if d["session"] == session), key=lambda d: d["lap"])

    def laps(self, model: str, session: str, after: int, limit: int = 200) -> list[dict[str, Any]]:
        found = [d for d in self.docs if d["model"] == model and d["session"] == session and d["lap"] > after]
        return sorted(found, key=lambda d: d["lap"])[:limit]


def _doc(session: str, lap: int, finished: bool = False) -> dict[str, Any]:
    return {**EXAMPLE_SNAPSHOT, "session": session, "lap": lap, "finished": finished, "updates": []}


def test_the_snapshot_is_the_current_sessions_latest_lap_with_the_missed_laps_after_since() -> None:
    feed = MemoryFeed()
    for lap in (1, 2, 3):
        feed.put("m", _doc("2024-07", lap))
    assert latest_snapshot(feed, "m")["lap"] == 3
    feed.put("m", _doc("2024-08", 1))  # a new session is the current one as soon as it publishes
    feed.put("m", _doc("2024-08", 2))
    snap = latest_snapshot(feed, "m", since=0)
    assert (snap["session"], snap["lap"]) == ("2024-08", 2) and [u["lap"] for u in snap["updates"]] == [1, 2]
    assert latest_snapshot(feed, "m", since=2)["updates"] == [] and latest_snapshot(feed, "other") is None
    # a client resuming in the old session gets the new session from its first lap
    assert [d["lap"] for d in updates_after(feed, "m", "2024-07", 3)] == [1, 2]
    assert [d["lap"] for d in updates_after(feed, "m", "2024-08", 1)] == [2]
    s.LiveSnapshot.model_validate(snap)  # the documented schema holds the rule's answer


@pytest.mark.parametrize("raw", ["x", "-1", "1.5"])
def test_since_must_be_a_lap_number(raw: str) -> None:
    with pytest.raises(ValueError, match="since"):
        parse_since(raw)
    assert parse_since(None) is None and parse_since("0") == 0


def test_sse_events_resume_end_and_heartbeat() -> None:
    feed = MemoryFeed()
    for lap in (1, 2, 3):
        feed.put("m", _doc("2024-08", lap))
    text = sse_event(feed.head("m")).decode()
    head, data = text.split("data: ")
    assert head == "id: 2024-08:3\nevent: lap\n" and data.endswith("\n\n") and "\n" not in data[:-2]
    assert "updates" not in json.loads(data)
    assert parse_event_id("2024-08:3") == ("2024-08", 3) and parse_event_id("garbage") == (None, 0)

    now = [0.0]
    stream = LiveEventStream("m", feed, last_event_id="2024-08:1", heartbeat_s=15, clock=lambda: now[0])
    first = stream.poll()
    assert first[0].startswith(b"retry:") and [c.split(b"\n")[0] for c in first[1:]] == [
        b"id: 2024-08:2",
        b"id: 2024-08:3",
    ]
    now[0] = 10.0
    assert stream.poll() == []  # nothing new, no heartbeat due yet
    now[0] = 26.0
    assert stream.poll() == [b": keep-alive\n\n"]
    feed.put("m", _doc("2024-08", 4, finished=True))
    last = stream.poll()
    assert last[0].startswith(b"id: 2024-08:4") and last[1].startswith(b"event: end") and stream.done
    assert stream.poll() == []
    since = LiveEventStream("m", feed, since=3)
    assert [c.split(b"\n")[0] for c in since.poll()[1:]] == [b"id: 2024-08:4", b"event: end"]


def test_only_event_stream_requests_of_the_events_route_stream() -> None:
    sse = {"accept": "text/event-stream"}
    assert wants_stream("GET", "/api/v1/live/live_v1/events", sse) == "live_v1"
    assert wants_stream("GET", "/api/v1/live/live_v1/events", {"accept": "application/json"}) is None
    assert wants_stream("GET", "/api/v1/live/live_v1", sse) is None
    assert wants_stream("POST", "/api/v1/live/live_v1/events", sse) is None
    assert wants_stream("GET", "/api/v1/live/a/b/events", sse) is None


def test_race_answers_say_what_was_known_at_the_prediction_moment() -> None:
    from types import SimpleNamespace

    from pitwall.api.routes import known_inputs, predict

    assert known_inputs("race_winner") == "pre_race: after qualifying, grid known; nothing of the race itself"
    assert known_inputs("no_such_template") is None
    answer = {
        "template": "race_winner",
        "kind": "ranking",
        "top_k": 1,
        "race": {"race_id": "2024-08", "season": 2024, "round": 8, "grand_prix_id": "monaco"},
        "predictions": [{"driver_id": "charles-leclerc", "rank": 1, "probability": 0.4}],
    }
    record = SimpleNamespace(name="winner", version=3)
    services = SimpleNamespace(deployments=SimpleNamespace(invoke=lambda tenant, name, payload: (record, answer)))
    body = s.RacePredictRequest(race="monaco_2024")
    call = SimpleNamespace(params={"model": "winner"}, body=body, services=services, tenant=SimpleNamespace())
    out = predict(call)  # type: ignore[arg-type]
    assert out.race is not None and out.race.known_inputs == known_inputs("race_winner")
    assert out.moment is None and out.notes == [] and out.unknown_inputs == []
    # a race answered at a weekend moment: known_inputs is that moment's note, not the template's
    early = {**answer, "moment": "pre_qualifying", "notes": ["grid not yet known: ...", "an expected grid ..."]}
    services.deployments.invoke = lambda tenant, name, payload: (record, early)
    out = predict(call)  # type: ignore[arg-type]
    assert out.race is not None and out.race.known_inputs == "grid not yet known: ..."
    assert out.moment == "pre_qualifying" and out.notes == early["notes"]
    with pytest.raises(ValueError, match="moment"):
        s.RacePredictRequest(race="next", moment="in_race")  # a weekend moment only
    with pytest.raises(ValueError):  # still no other extra field
        s.RaceInfo.model_validate({"race_id": "2024-08", "season": 2024, "round": 8, "surprise": 1})
