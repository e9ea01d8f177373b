"""Live-mode fixtures: a small lake (F1DB + laps 2022-2024), a live model trained on 2022-2023, and
OpenF1 answers written from a stored race in OpenF1's documented JSON schema, served on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from pitwall.live.sources.replay import RaceData

SEASONS = (2022, 2023, 2024)
SESSION_KEY = 9999
MEETING_KEY = 1234


@pytest.fixture(scope="session")
def live_lake(tmp_path_factory: pytest.TempPathFactory, shared_data: Path):
    """F1DB and the FastF1 laps of 2022-2024 only (read-only for tests)."""
    from pitwall.data.ingest import ingest_f1db, ingest_laps_csv
    from pitwall.data.store import LocalStore

    store = LocalStore(tmp_path_factory.mktemp("live-lake"))
    ingest_f1db(store, shared_data / "f1db", seasons=SEASONS)
    ingest_laps_csv(store, shared_data / "fastf1-laps", seasons=SEASONS)
    return store


@pytest.fixture(scope="session")
def live_model(live_lake):
    """The live template trained on 2022-2023 (not saved)."""
    from pitwall.live.template import train_live_model

    return train_live_model("live_test", seasons=[2022, 2023], store=live_lake, save=False)


@pytest.fixture
def home_lake(live_lake, _isolated_home: Path):
    """This test's PITWALL_HOME with ``lake`` pointing at the live lake (for get_store())."""
    _isolated_home.mkdir(parents=True, exist_ok=True)
    (_isolated_home / "lake").symlink_to(live_lake.root, target_is_directory=True)
    return live_lake


def _iso(t0: datetime, seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return (t0 + timedelta(seconds=seconds)).isoformat(timespec="microseconds")


def openf1_fixtures(
    race: RaceData, session_key: int = SESSION_KEY, out_laps: set[tuple[int, int]] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """One stored race as OpenF1 would publish it: sessions, drivers, laps, position, intervals,
    pit, stints, race_control, weather (field names and types as in OpenF1's API reference).

    Session time s (FastF1: seconds since the session's start) is the date ``t0 + s``. ``out_laps``:
    (driver number, lap) of the out-laps (``laps.is_pit_out_lap``; none by default)."""
    assert race.date is not None
    t0 = datetime(race.date.year, race.date.month, race.date.day, 13, 0, tzinfo=UTC)
    keys = {"meeting_key": MEETING_KEY, "session_key": session_key}
    last_end = max((r.lap_end_s for r in race.records if r.lap_end_s is not None), default=0.0)
    sessions = [
        {
            "circuit_key": 22,
            "circuit_short_name": "Circuit",
            "country_code": "XXX",
            "country_key": 1,
            "country_name": "Country",
            "date_end": _iso(t0, last_end + 600),
            "date_start": t0.isoformat(),
            "gmt_offset": "00:00:00",
            "location": "Somewhere",
            "session_name": "Race",
            "session_type": "Race",
            "year": race.season,
            **keys,
        }
    ]
    drivers = [
        {
            "broadcast_name": (e.driver_code or "").upper(),
            "country_code": None,
            "driver_number": n,
            "first_name": None,
            "full_name": e.driver_code,
            "headshot_url": None,
            "last_name": None,
            "name_acronym": e.driver_code,
            "team_colour": "FFFFFF",
            "team_name": e.team,
            **keys,
        }
        for n, e in sorted(race.entrants.items())
    ]
    by_driver: dict[int, dict[int, Any]] = {}
    for r in race.records:
        by_driver.setdefault(r.driver_number, {})[r.lap] = r
    laps, position, intervals = [], [], []
    for n, e in sorted(race.entrants.items()):
        if e.grid_position is not None:  # the grid: first position samples, at the session's start
            position.append({"date": _iso(t0, 0.0), "driver_number": n, "position": e.grid_position, **keys})
    for n, recs in sorted(by_driver.items()):
        for lap, r in sorted(recs.items()):
            prev = recs.get(lap - 1)
            if prev is not None:
                start = prev.lap_end_s
            elif r.lap_end_s is not None and r.lap_time_s is not None:
                start = r.lap_end_s - r.lap_time_s
            else:
                start = None
            laps.append(
                {
                    "date_start": _iso(t0, start),
                    "driver_number": n,
                    "duration_sector_1": None,
                    "duration_sector_2": None,
                    "duration_sector_3": None,
                    "i1_speed": None,
                    "i2_speed": None,
                    "is_pit_out_lap": (n, lap) in (out_laps or set()),
                    "lap_duration": r.lap_time_s,
                    "lap_number": lap,
                    "segments_sector_1": None,
                    "segments_sector_2": None,
                    "segments_sector_3": None,
                    "st_speed": None,
                    **keys,
                }
            )
            if r.lap_end_s is None:
                continue
            if r.position is not None:
                position.append({"date": _iso(t0, r.lap_end_s), "driver_number": n, "position": r.position, **keys})
            leader = r.position == 1
            intervals.append(
                {
                    "date": _iso(t0, r.lap_end_s),
                    "driver_number": n,
                    "gap_to_leader": None if leader else r.gap_to_leader_s,
                    "interval": None,
                    **keys,
                }
            )
    pit = [
        {
            "date": _iso(t0, race.leader_lap_end_s.get(lap)),
            "driver_number": n,
            "lap_number": lap,
            "pit_duration": None,
            **keys,
        }
        for n, stop_laps in sorted(race.stop_laps.items())
        for lap in stop_laps
    ]
    last_lap_of = {n: max(recs) for n, recs in by_driver.items()}
    stints = []
    by_stints: dict[int, list] = {}
    for st in race.stints:
        by_stints.setdefault(st.driver_number, []).append(st)
    for n, sts in sorted(by_stints.items()):
        sts.sort(key=lambda s: s.lap_start)
        for i, st in enumerate(sts):
            end = sts[i + 1].lap_start - 1 if i + 1 < len(sts) else last_lap_of.get(n, st.lap_start)
            stints.append(
                {
                    "compound": st.compound,
                    "driver_number": n,
                    "lap_end": end,
                    "lap_start": st.lap_start,
                    "stint_number": st.stint,
                    "tyre_age_at_start": st.tyre_age_at_start,
                    **keys,
                }
            )
    race_control = _race_control(race, t0, keys)
    return {
        "sessions": sessions,
        "drivers": drivers,
        "laps": laps,
        "position": position,
        "intervals": intervals,
        "pit": pit,
        "stints": stints,
        "race_control": race_control,
        "weather": [],
    }


_MESSAGES = {
    "sc": (
        {"category": "SafetyCar", "flag": None, "scope": "Track", "message": "SAFETY CAR DEPLOYED"},
        {"category": "SafetyCar", "flag": None, "scope": "Track", "message": "SAFETY CAR IN THIS LAP"},
    ),
    "vsc": (
        {"category": "SafetyCar", "flag": None, "scope": "Track", "message": "VIRTUAL SAFETY CAR DEPLOYED"},
        {"category": "SafetyCar", "flag": None, "scope": "Track", "message": "VIRTUAL SAFETY CAR ENDING"},
    ),
    "red": (
        {"category": "Flag", "flag": "RED", "scope": "Track", "message": "RED FLAG"},
        {"category": "Flag", "flag": "GREEN", "scope": "Track", "message": "TRACK CLEAR"},
    ),
    "yellow": (
        {"category": "Flag", "flag": "YELLOW", "scope": "Sector", "message": "YELLOW IN TRACK SECTOR 7"},
        {"category": "Flag", "flag": "CLEAR", "scope": "Sector", "message": "CLEAR IN TRACK SECTOR 7"},
    ),
}


def _race_control(race: RaceData, t0: datetime, keys: dict[str, int]) -> list[dict[str, Any]]:
    """Track-status runs (consecutive laps with a status) as deploy/ending messages, plus noise."""
    out: list[dict[str, Any]] = []

    def end_of(lap: int) -> float:
        for lp in range(lap, 0, -1):
            if race.leader_lap_end_s.get(lp) is not None:
                return float(race.leader_lap_end_s[lp])  # type: ignore[arg-type]
        return 0.0

    last = race.last_lap
    for kind, (start_msg, end_msg) in _MESSAGES.items():
        lap = 1
        while lap <= last:
            if kind in race.track_status.get(lap, frozenset()):
                first = lap
                while lap + 1 <= last and kind in race.track_status.get(lap + 1, frozenset()):
                    lap += 1
                base = {"driver_number": None, "sector": None, **keys}
                out.append({**base, **start_msg, "date": _iso(t0, end_of(first) - 2.0), "lap_number": first})
                out.append({**base, **end_msg, "date": _iso(t0, end_of(lap) - 1.0), "lap_number": lap})
            lap += 1
    noise = {"sector": None, **keys}
    out.append(
        {
            **noise,
            "category": "Drs",
            "flag": None,
            "scope": None,
            "driver_number": None,
            "message": "DRS ENABLED",
            "date": _iso(t0, end_of(3) - 5.0),
            "lap_number": 3,
        }
    )
    out.append(
        {
            **noise,
            "category": "Flag",
            "flag": "BLUE",
            "scope": "Driver",
            "driver_number": 2,
            "message": "WAVED BLUE FLAG FOR CAR 2 (SAR)",
            "date": _iso(t0, end_of(20) - 5.0),
            "lap_number": 20,
        }
    )
    return sorted(out, key=lambda m: m["date"])


class _Handler(BaseHTTPRequestHandler):
    fixtures: dict[str, list[dict[str, Any]]] = {}
    requests: list[str] = []
    authorizations: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        self.requests.append(self.path)
        self.authorizations.append(self.headers.get("Authorization"))
        endpoint = url.path.rsplit("/", 1)[-1]
        query = parse_qs(url.query)
        rows = self.fixtures.get(endpoint)
        if rows is None:
            self._send(404, {"detail": "Not Found"})
            return
        key = query.get("session_key", [None])[0]
        if key not in (None, "latest"):
            rows = [r for r in rows if str(r.get("session_key")) == key]
        after = query.get("date>", [None])[0]  # OpenF1's comparison filter (same ISO format: compares as text)
        if after is not None:
            rows = [r for r in rows if r.get("date") is not None and r["date"] > after]
        self._send(200, rows)

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def openf1_server() -> Iterator[Any]:
    """A loopback OpenF1 stand-in: ``server.serve(fixtures)`` -> base URL ``http://127.0.0.1:PORT/v1``."""

    class Server:
        def __init__(self) -> None:
            handler = type("Handler", (_Handler,), {"fixtures": {}, "requests": [], "authorizations": []})
            self.handler = handler
            self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
            self.thread.start()
            self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

        def serve(self, fixtures: dict[str, list[dict[str, Any]]]) -> str:
            self.handler.fixtures = fixtures
            return self.base_url

        @property
        def requests(self) -> list[str]:
            return self.handler.requests

        @property
        def authorizations(self) -> list[str | None]:
            """The ``Authorization`` header of each request (None when absent)."""
            return self.handler.authorizations

    server = Server()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
