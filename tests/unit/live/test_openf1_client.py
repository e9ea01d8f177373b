"""The OpenF1 client's retries, backoff, auth errors and parsing, with a fake HTTP session and a
fake clock (no network, no sleeping)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from pitwall.live.sources.openf1 import (
    Backoff,
    OpenF1AuthError,
    OpenF1Client,
    OpenF1Error,
    OpenF1Source,
    OpenF1Unavailable,
    SessionData,
    parse_gap,
    track_status_by_lap,
)

TOKEN = "s3cr3t-openf1-token"


class FakeResponse:
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        self.status_code = status
        self._body = body
        self.headers = headers or {}
        self.text = str(body)

    def json(self) -> Any:
        return self._body


class FakeSession:
    """Answers each GET with the next scripted item (a response, or an exception to raise)."""

    def __init__(self, *script: Any):
        self.script = list(script)
        self.calls: list[dict[str, Any]] = []

    def get(self, url: str, params: dict[str, Any], headers: dict[str, str], timeout: float) -> FakeResponse:
        self.calls.append({"url": url, "params": params, "headers": headers, "timeout": timeout})
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


class FakeClock:
    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture(autouse=True)
def _no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENF1_TOKEN", raising=False)
    monkeypatch.delenv("PITWALL_OPENF1_TOKEN", raising=False)


def _client(session: FakeSession, clock: FakeClock, **kw: Any) -> OpenF1Client:
    return OpenF1Client("https://api.openf1.test/v1", session=session, sleep=clock.sleep, timeout_s=3, **kw)  # type: ignore[arg-type]


def test_retries_with_exponential_backoff_then_succeeds():
    session = FakeSession(
        requests.ConnectionError("down"),
        requests.Timeout("slow"),
        FakeResponse(502),
        FakeResponse(200, [{"lap_number": 1}]),
    )
    clock = FakeClock()
    rows = _client(session, clock, backoff=Backoff(retries=3, base_s=0.5, factor=2.0, cap_s=8.0)).get(
        "laps", session_key=9165
    )

    assert rows == [{"lap_number": 1}]
    assert clock.slept == [0.5, 1.0, 2.0]
    assert all(c["timeout"] == 3 for c in session.calls)
    assert session.calls[0]["url"] == "https://api.openf1.test/v1/laps"
    assert session.calls[0]["params"] == {"session_key": 9165}


def test_backoff_is_capped_and_honours_retry_after():
    b = Backoff(retries=10, base_s=1.0, factor=3.0, cap_s=5.0)
    assert [b.delay(k) for k in range(4)] == [1.0, 3.0, 5.0, 5.0]
    assert b.delay(0, retry_after="7") == 7.0
    assert b.delay(0, retry_after="soon") == 1.0

    session = FakeSession(FakeResponse(429, {"detail": "rate"}, {"Retry-After": "4"}), FakeResponse(200, []))
    clock = FakeClock()
    assert _client(session, clock).get("intervals", session_key=1) == []
    assert clock.slept == [4.0]


def test_offline_gives_a_clear_error_after_the_retries():
    session = FakeSession(*[requests.ConnectionError("Name or service not known")] * 4)
    clock = FakeClock()
    with pytest.raises(OpenF1Unavailable, match="offline") as err:
        _client(session, clock, backoff=Backoff(retries=3)).get("sessions", session_key="latest")
    assert "after 4 attempts" in str(err.value) and "pitwall live replay" in str(err.value)
    assert len(clock.slept) == 3 and len(session.calls) == 4


def test_401_without_a_token_says_how_to_give_one():
    clock = FakeClock()
    with pytest.raises(OpenF1AuthError, match="OPENF1_TOKEN") as err:
        _client(FakeSession(FakeResponse(401, {"detail": "Unauthorized"})), clock).get("laps", session_key="latest")
    assert "live sessions need an OpenF1 access token" in str(err.value)
    assert clock.slept == []  # no retry on 401


def test_the_token_is_sent_but_never_shown(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture):
    monkeypatch.setenv("OPENF1_TOKEN", TOKEN)
    session = FakeSession(FakeResponse(200, []), FakeResponse(401, {"detail": "expired"}))
    client = _client(session, FakeClock())
    caplog.set_level("DEBUG")

    client.get("laps", session_key=1)
    with pytest.raises(OpenF1AuthError) as err:
        client.get("laps", session_key=1)

    assert session.calls[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert "refused" in str(err.value)
    assert TOKEN not in str(err.value) and TOKEN not in repr(client) and TOKEN not in caplog.text


def test_empty_selection_and_bad_endpoint():
    assert _client(FakeSession(FakeResponse(404, {"detail": "No results found."})), FakeClock()).get("pit") == []
    with pytest.raises(ValueError, match="endpoint"):
        _client(FakeSession(), FakeClock()).get("telemetry_secret")
    with pytest.raises(OpenF1Error, match="HTTP 422"):
        _client(FakeSession(FakeResponse(422, "bad filter")), FakeClock()).get("laps")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, (None, 0)), (1.2346, (1.235, 0)), (41.019, (41.019, 0)), ("+1 LAP", (None, 1)), ("+2 LAPS", (None, 2))],
)
def test_gap_parsing(value, expected):
    gap, down = parse_gap(value)
    assert down == expected[1]
    assert gap == pytest.approx(expected[0]) if expected[0] is not None else gap is None


def test_track_status_runs_from_race_control():
    msgs = [
        {"date": "2024-05-26T13:05:00+00:00", "category": "Flag", "flag": "RED", "scope": "Track", "lap_number": 1},
        {"date": "2024-05-26T13:50:00+00:00", "category": "Flag", "flag": "GREEN", "scope": "Track", "lap_number": 1},
        {
            "date": "2024-05-26T14:00:00+00:00",
            "category": "SafetyCar",
            "message": "SAFETY CAR DEPLOYED",
            "lap_number": 3,
        },
        {"date": "2024-05-26T14:05:00+00:00", "category": "Drs", "message": "DRS DISABLED", "lap_number": 3},
        {
            "date": "2024-05-26T14:09:00+00:00",
            "category": "SafetyCar",
            "message": "SAFETY CAR IN THIS LAP",
            "lap_number": 5,
        },
        {
            "date": "2024-05-26T14:30:00+00:00",
            "category": "SafetyCar",
            "message": "VIRTUAL SAFETY CAR DEPLOYED",
            "lap_number": 8,
        },
        {"date": "2024-05-26T14:31:00+00:00", "category": "Flag", "flag": "BLUE", "scope": "Driver", "lap_number": 8},
    ]
    status = track_status_by_lap(msgs, 9)
    assert status[1] == {"red"} and status[2] == frozenset()
    assert status[3] == status[4] == status[5] == {"sc"} and status[6] == frozenset()
    assert status[8] == status[9] == {"vsc"}  # still deployed


T0 = datetime(2024, 5, 26, 13, 0, tzinfo=UTC)


def _iso(s: float) -> str:
    return (T0 + timedelta(seconds=s)).isoformat()


def _session_data(with_lap3: bool) -> SessionData:
    laps = [
        {"driver_number": 1, "lap_number": 1, "date_start": _iso(0), "lap_duration": 100.0},
        {"driver_number": 1, "lap_number": 2, "date_start": _iso(100), "lap_duration": 90.0},
        {"driver_number": 2, "lap_number": 1, "date_start": _iso(0), "lap_duration": 101.0},
        {"driver_number": 2, "lap_number": 2, "date_start": _iso(101), "lap_duration": None},  # in progress
    ]
    if with_lap3:
        laps.append({"driver_number": 1, "lap_number": 3, "date_start": _iso(190), "lap_duration": 89.0})
    return SessionData(
        session={"session_key": 1, "date_start": _iso(-600), "date_end": _iso(7200)},
        drivers=[
            {"driver_number": 1, "name_acronym": "AAA", "team_name": "A"},
            {"driver_number": 2, "name_acronym": "BBB", "team_name": "B"},
        ],
        laps=laps,
        position=[
            {"driver_number": 2, "date": _iso(-300), "position": 1},
            {"driver_number": 1, "date": _iso(-300), "position": 2},
            {"driver_number": 1, "date": _iso(100), "position": 1},
            {"driver_number": 2, "date": _iso(101), "position": 2},
        ],
        intervals=[
            {"driver_number": 2, "date": _iso(101), "gap_to_leader": 1.0},
            {"driver_number": 1, "date": _iso(100), "gap_to_leader": None},
            {"driver_number": 2, "date": _iso(190.2), "gap_to_leader": "+1 LAP"},
        ],
        pit=[],
        stints=[{"driver_number": 1, "stint_number": 1, "lap_start": 1, "compound": "SOFT", "tyre_age_at_start": 2}],
        race_control=[],
        weather=[
            {
                "date": _iso(50),
                "air_temperature": 24.1,
                "track_temperature": 45.0,
                "humidity": 60,
                "rainfall": 0,
                "wind_speed": 1.2,
            }
        ],
    )


def test_openf1_source_builds_states_of_completed_laps_only():
    src = OpenF1Source(1, client=OpenF1Client(session=FakeSession()), total_laps=78)  # type: ignore[arg-type]
    states = src.states(_session_data(with_lap3=False), 78, finished=False)
    assert sorted(states) == [1]  # lap 2 of car 2 is still running
    lap1 = states[1]
    assert [(d.driver_code, d.position, d.gap_to_leader_s, d.grid_position) for d in lap1.drivers] == [
        ("AAA", 1, 0.0, 2),
        ("BBB", 2, 1.0, 1),
    ]
    assert lap1.driver(1).compound == "SOFT" and lap1.driver(1).tyre_age_laps == 3
    assert lap1.weather is not None and lap1.weather.air_temp_c == 24.1 and lap1.weather.rainfall is False

    states = src.states(_session_data(with_lap3=True), 78, finished=False)
    # car 1 has completed lap 3: laps 2 and 3 are complete; car 2 has not finished lap 2 (stopped or lapped)
    assert sorted(states) == [1, 2, 3]
    assert [d.running for d in states[2].drivers] == [True, False]


def test_non_race_sessions_are_refused():
    session = FakeSession(
        FakeResponse(200, [{"session_key": 7, "session_type": "Qualifying", "session_name": "Qualifying"}])
    )
    with pytest.raises(OpenF1Error, match="not a race"):
        OpenF1Source(7, client=_client(session, FakeClock())).session()
