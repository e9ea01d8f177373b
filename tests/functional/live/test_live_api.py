"""``GET /api/v1/live/{model}`` and its Server-Sent Events stream on the real local server, fed by
a replay of a stored 2024 race published to the local live feed (as ``pitwall live replay
--publish`` does), with the live model trained on 2022-2023."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from pitwall.api.server import LocalApiServer
from pitwall.api.services import local_services, set_services
from pitwall.live.feed import LocalFeed, publisher
from pitwall.live.stream import connect_to_stream
from pitwall.platform import keys

ROUND = 8
SNAPSHOT = "/api/v1/live/{}"
EVENTS = "/api/v1/live/{}/events"


@pytest.fixture
def server(home_lake) -> Iterator[LocalApiServer]:
    srv = LocalApiServer("127.0.0.1", 0, services=local_services(enforce_rate_limits=False)).start()
    yield srv
    srv.stop()
    set_services(None)


@pytest.fixture
def key(server: LocalApiServer) -> str:
    return keys.create_key("acme", "pro")


def _get(server: LocalApiServer, path: str, key: str, **kw: Any) -> requests.Response:
    return requests.get(server.url + path, headers={"x-api-key": key, **kw.pop("headers", {})}, timeout=30, **kw)


def _replay(live_lake, live_model, feed: LocalFeed, stop_after: int | None = None) -> list[Any]:
    stream = connect_to_stream(
        live_model, source="replay", season=2024, round=ROUND, store=live_lake, callback=publisher(feed)
    )
    out = []
    for update in stream:
        out.append(update)
        if stop_after is not None and update.lap == stop_after:
            break
    return out


def _events(response: requests.Response) -> Iterator[dict[str, str]]:
    """SSE events of a streamed answer: {'id', 'event', 'data'} per blank-line-terminated block."""
    block: dict[str, str] = {}
    for line in response.iter_lines(decode_unicode=True):
        if line == "":
            if "event" in block:  # (the opening ``retry:`` block carries no event)
                yield block
            block = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            block[name] = value.removeprefix(" ")


def test_unknown_models_and_models_without_live_support_are_4xx_naming_the_model(
    server: LocalApiServer, key: str, live_model
) -> None:
    from pitwall.platform.models import register_model

    missing = _get(server, SNAPSHOT.format("nobody"), key)
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "model"

    live_model.save()  # a live model with nothing published yet
    quiet = _get(server, SNAPSHOT.format(live_model.name), key)
    assert quiet.status_code == 404
    assert quiet.json()["error"]["code"] == "no_live_updates" and "--publish" in quiet.json()["error"]["message"]

    register_model(
        "acme",
        "winner",
        template="race_winner",
        task="ranking",
        algorithm="xgboost",
        features=["start_position"],
        target="winner",
        data_window={"seasons": [2021, 2023]},
        metrics={},
        baseline_metrics={},
        artifact_uri="file:///nowhere",
        sha256="ab" * 32,
    )
    for path in (SNAPSHOT, EVENTS):
        plain = _get(server, path.format("winner"), key)
        assert plain.status_code == 422, plain.text
        assert plain.json()["error"] == {
            "code": "no_live_support",
            "message": plain.json()["error"]["message"],
            "field": "model",
        }
    assert _get(server, SNAPSHOT.format("winner"), "pw_not_a_key").status_code == 401


def test_the_snapshot_is_the_latest_published_lap_and_since_gives_the_missed_laps(
    server: LocalApiServer, key: str, live_lake, live_model
) -> None:
    updates = _replay(live_lake, live_model, LocalFeed())
    last = updates[-1]
    answer = _get(server, SNAPSHOT.format(live_model.name), key)
    assert answer.status_code == 200, answer.text
    snap = answer.json()
    assert (snap["session"], snap["lap"], snap["total_laps"], snap["finished"]) == ("2024-08", last.lap, 78, True)
    assert snap["updates"] == [] and snap["source"] == "replay" and snap["updated_at"].endswith("Z")
    assert f"laps 1-{last.lap}" in snap["known_inputs"]
    assert [d["driver_number"] for d in snap["drivers"]] == [d.driver_number for d in last.state.drivers]
    assert [d["p_win"] for d in snap["drivers"]] == pytest.approx([p.p_win for p in last.predictions], abs=1e-6)
    assert sum(d["p_win"] for d in snap["drivers"]) == pytest.approx(1.0, abs=1e-5)
    assert [d["position"] for d in snap["drivers"]] == list(range(1, len(snap["drivers"]) + 1))

    since = _get(server, SNAPSHOT.format(live_model.name), key, params={"since": "70"}).json()
    assert [u["lap"] for u in since["updates"]] == list(range(71, last.lap + 1))
    lap_72 = since["updates"][1]
    assert [d["p_win"] for d in lap_72["drivers"]] == pytest.approx(
        [p.p_win for p in updates[71].predictions], abs=1e-6
    )

    bad = _get(server, SNAPSHOT.format(live_model.name), key, params={"since": "lap5"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "since"
    # the events route without Accept: text/event-stream answers the snapshot (as in the cloud)
    assert _get(server, EVENTS.format(live_model.name), key).json() == {**snap, "updated_at": snap["updated_at"]}


def test_the_event_stream_sends_each_lap_as_it_is_published_and_resumes_after_last_event_id(
    server: LocalApiServer, key: str, live_lake, live_model
) -> None:
    feed = LocalFeed()
    _replay(live_lake, live_model, feed, stop_after=10)  # the race is under way: laps 1-10 published
    sse = {"accept": "text/event-stream"}
    response = _get(server, EVENTS.format(live_model.name), key, headers=sse, stream=True)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response)
    first = [next(events) for _ in range(10)]
    assert [e["id"] for e in first] == [f"2024-08:{lap}" for lap in range(1, 11)]
    assert {e["event"] for e in first} == {"lap"}

    rest: list[Any] = []
    publishing = threading.Thread(target=lambda: rest.extend(_replay_rest(live_lake, live_model, feed)))
    publishing.start()  # the rest of the race is published while the stream is open
    later = []
    for event in events:
        later.append(event)
        if event["event"] == "end":
            break
    publishing.join(timeout=120)
    response.close()
    laps = [json.loads(e["data"])["lap"] for e in later if e["event"] == "lap"]
    last = rest[-1].lap  # the stored laps of the race end there
    assert laps == list(range(11, last + 1)), laps
    final = json.loads(later[-2]["data"])
    assert final["finished"] and "updates" not in final
    assert [d["p_win"] for d in final["drivers"]] == pytest.approx([p.p_win for p in rest[-1].predictions], abs=1e-6)

    resume = {**sse, "last-event-id": f"2024-08:{last - 3}"}
    got = list(_events(_get(server, EVENTS.format(live_model.name), key, headers=resume, stream=True)))
    assert [e["id"] for e in got if e["event"] == "lap"] == [f"2024-08:{lap}" for lap in range(last - 2, last + 1)]
    assert got[-1]["event"] == "end"


def _replay_rest(live_lake, live_model, feed: LocalFeed) -> list[Any]:
    """Laps 11+ of the same race (a fresh replay whose laps 1-10 are not published again)."""
    target = publisher(feed)
    out = []
    for update in connect_to_stream(live_model, source="replay", season=2024, round=ROUND, store=live_lake):
        if update.lap > 10:
            target(update)
            out.append(update)
    return out
