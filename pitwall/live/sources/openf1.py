"""OpenF1 (https://openf1.org): a REST client and a live source of per-lap race states.

``OpenF1Client`` wraps ``GET https://api.openf1.org/v1/<endpoint>?<filters>`` with a timeout,
retries with exponential backoff on connection errors, timeouts, 429 (``Retry-After`` honoured)
and 5xx, and clear errors: ``OpenF1Unavailable`` when OpenF1 cannot be reached (offline),
``OpenF1AuthError`` on 401/403. Historical sessions need no credentials; live sessions need an
OpenF1 access token, read from ``OPENF1_TOKEN`` (or ``PITWALL_OPENF1_TOKEN``) or from
``$PITWALL_HOME/config.toml`` (``[openf1] token = "..."``) and sent as ``Authorization: Bearer``.
The token is never logged, printed or put in an error message.

``OpenF1Source`` reads the endpoints of one race session — ``sessions``, ``drivers``, ``laps``,
``position``, ``intervals``, ``pit``, ``stints``, ``race_control``, ``weather`` — into the same
``LapRecord`` rows as the replay source and builds one ``LapState`` per completed lap with
``pitwall.live.state.build_lap_state``:

- lap N of a driver ends at the start of their lap N+1 (else ``date_start + lap_duration``; the
  last lap of a finished session ends with the session); their position and gap at the end of lap
  N are the last ``position`` / ``intervals`` samples dated at or before that moment;
- the grid is each driver's first ``position`` sample, dated before the race start;
- the pre-race strength (``pitwall.live.strength``) is computed from the store once the session is
  matched to a stored calendar race, or given (``strengths=``: the cloud poller's table);
- compounds and tyre age come from the ``stints`` started by lap N, stops from ``pit`` rows with
  ``lap_number <= N``, track status from ``race_control`` messages (safety car, VSC, red and
  yellow flags, each active from its deployment lap to its ending lap), weather from the last
  ``weather`` sample before the leader's lap end;
- a finished session is read once; a live one is polled every ``poll_interval_s`` and lap N is
  emitted once every car that completed lap N-1 has completed lap N, or a car has completed N+1.
"""

from __future__ import annotations

import json
import logging
import os
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pitwall.config import pitwall_home
from pitwall.live.state import Entrant, LapRecord, LapState, Stint, Weather, build_lap_state, ms

log = logging.getLogger(__name__)

BASE_URL = "https://api.openf1.org/v1"
BASE_URL_ENV = "PITWALL_OPENF1_URL"
"""Overrides ``BASE_URL`` (a recorded-answers stand-in in tests; a proxy)."""
TOKEN_ENV_VARS = ("OPENF1_TOKEN", "PITWALL_OPENF1_TOKEN")
ENDPOINTS = ("sessions", "drivers", "laps", "position", "intervals", "pit", "stints", "race_control", "weather")
DATED_ENDPOINTS = ("position", "intervals", "pit", "race_control", "weather")
"""Endpoints of timestamped samples, fetched incrementally while a session is polled."""
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SAMPLE_TOLERANCE_S = 0.5  # a sample this close after a lap's end still belongs to that lap
STATUS_DIGITS = {"yellow": "2", "sc": "4", "red": "5", "vsc": "6"}
"""Track statuses as FastF1's digits (the lap tables' ``track_status``)."""


class OpenF1Error(RuntimeError):
    """OpenF1 answered something Pitwall cannot use."""


class OpenF1Unavailable(OpenF1Error):
    """OpenF1 could not be reached (offline, DNS, timeouts, persistent 5xx/429)."""


class OpenF1AuthError(OpenF1Error):
    """OpenF1 refused the request (401/403): live sessions need an access token."""


def openf1_token(explicit: str | None = None) -> str | None:
    """The OpenF1 access token: ``explicit``, the env vars, or ``$PITWALL_HOME/config.toml``."""
    if explicit:
        return explicit
    for var in TOKEN_ENV_VARS:
        if os.environ.get(var):
            return os.environ[var]
    cfg = pitwall_home() / "config.toml"
    if cfg.exists():
        try:
            data = tomllib.loads(cfg.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise OpenF1Error(f"{cfg}: not valid TOML ({exc})") from None
        token = (data.get("openf1") or {}).get("token")
        return str(token) if token else None
    return None


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: attempt k (0-based) waits ``min(base * factor**k, cap)`` seconds."""

    retries: int = 3
    base_s: float = 0.5
    factor: float = 2.0
    cap_s: float = 8.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after:
            try:
                return min(max(float(retry_after), 0.0), 60.0)
            except ValueError:
                pass
        return min(self.base_s * self.factor**attempt, self.cap_s)


class TransportError(OSError):
    """The HTTP transport could not get an answer (connection refused, DNS, timeout)."""


@dataclass
class HttpAnswer:
    """What the client reads of an HTTP answer (the subset of ``requests.Response`` it uses)."""

    status_code: int
    headers: Mapping[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class Urllib3Session:
    """``get(url, params=, headers=, timeout=)`` over urllib3: the transport the cloud poller has
    (urllib3 ships with boto3 in the Lambda runtime; ``requests`` does not)."""

    def __init__(self) -> None:
        import urllib3

        self._pool = urllib3.PoolManager(retries=False)

    def get(self, url: str, params: Mapping[str, Any], headers: Mapping[str, str], timeout: float) -> HttpAnswer:
        import urllib3

        try:
            resp = self._pool.request("GET", url, fields=dict(params), headers=dict(headers), timeout=timeout)
        except (urllib3.exceptions.HTTPError, OSError) as exc:  # timeouts, refused connections, DNS
            raise TransportError(type(exc).__name__) from None
        return HttpAnswer(resp.status, dict(resp.headers), resp.data.decode("utf-8", "replace"))


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Errors meaning "no answer": the urllib3 transport's, and ``requests``' for a requests session."""
    try:
        import requests
    except ImportError:
        return (TransportError,)
    return (TransportError, requests.ConnectionError, requests.Timeout)


class OpenF1Client:
    """``client.get("laps", session_key=9165, driver_number=1)`` -> list of JSON objects.

    Filters with comparison operators go in the key: ``client.get("intervals", **{"date>": iso})``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        token: str | None = None,
        timeout_s: float = 10.0,
        backoff: Backoff = Backoff(),
        sleep: Callable[[float], None] = time.sleep,
        session: Any = None,
    ):
        self.base_url = (base_url or os.environ.get(BASE_URL_ENV) or BASE_URL).rstrip("/")
        self._token = openf1_token(token)
        self.timeout_s = timeout_s
        self.backoff = backoff
        self._sleep = sleep
        self._http = session if session is not None else Urllib3Session()
        self._errors = _transport_errors()

    def __repr__(self) -> str:  # never shows the token
        return f"OpenF1Client({self.base_url!r}, authenticated={self._token is not None})"

    @property
    def authenticated(self) -> bool:
        return self._token is not None

    def get(self, endpoint: str, **params: Any) -> list[dict[str, Any]]:
        if endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint: {endpoint!r} is not one of {ENDPOINTS}")
        url = f"{self.base_url}/{endpoint}"
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        last: str = ""
        for attempt in range(self.backoff.retries + 1):
            retry_after = None
            try:
                log.debug("GET %s %s (attempt %d)", url, params, attempt + 1)
                resp = self._http.get(url, params=params, headers=headers, timeout=self.timeout_s)
            except self._errors as exc:
                last = str(exc) if isinstance(exc, TransportError) else type(exc).__name__
            else:
                if resp.status_code in (401, 403):
                    raise OpenF1AuthError(self._auth_message(endpoint, resp.status_code))
                if resp.status_code == 404:
                    return []  # OpenF1 answers 404 "No results found" for an empty selection
                if resp.status_code in RETRY_STATUSES:
                    last = f"HTTP {resp.status_code}"
                    retry_after = resp.headers.get("Retry-After")
                elif resp.status_code >= 400:
                    raise OpenF1Error(f"OpenF1 answered HTTP {resp.status_code} for /{endpoint}: {resp.text[:200]}")
                else:
                    try:
                        data = resp.json()
                    except ValueError:
                        raise OpenF1Error(f"OpenF1 /{endpoint}: the answer is not JSON") from None
                    if isinstance(data, dict) and "detail" in data:
                        return []
                    if not isinstance(data, list):
                        raise OpenF1Error(f"OpenF1 /{endpoint}: expected a JSON list, got {type(data).__name__}")
                    return data
            if attempt < self.backoff.retries:
                self._sleep(self.backoff.delay(attempt, retry_after))
        raise OpenF1Unavailable(
            f"cannot reach OpenF1 at {self.base_url} (/{endpoint}: {last} after {self.backoff.retries + 1} attempts); "
            "are you offline? Replay a stored race instead: `pitwall live replay SEASON ROUND --model NAME`"
        )

    def _auth_message(self, endpoint: str, status: int) -> str:
        if self._token is None:
            return (
                f"OpenF1 answered {status} for /{endpoint}: live sessions need an OpenF1 access token. "
                f'Set {TOKEN_ENV_VARS[0]} (or put `[openf1] token = "..."` in {pitwall_home() / "config.toml"}); '
                "historical sessions need none"
            )
        return (
            f"OpenF1 answered {status} for /{endpoint}: the OpenF1 access token was refused "
            f"(expired or without live access); renew it and set {TOKEN_ENV_VARS[0]} again"
        )


def fetch_access_token(username: str, password: str, base_url: str | None = None, timeout_s: float = 10.0) -> str:
    """A fresh OpenF1 access token for an OpenF1 account (``POST /token``; tokens last about an
    hour): what the cloud poller's secret rotation stores. Errors never carry the credentials."""
    import urllib3

    root = (base_url or os.environ.get(BASE_URL_ENV) or BASE_URL).rstrip("/").removesuffix("/v1")
    try:
        resp = urllib3.PoolManager(retries=False).request(
            "POST",
            f"{root}/token",
            fields={"username": username, "password": password},
            encode_multipart=False,
            timeout=timeout_s,
        )
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise OpenF1Unavailable(f"cannot reach OpenF1 at {root}/token ({type(exc).__name__})") from None
    if resp.status in (400, 401, 403):
        raise OpenF1AuthError(f"OpenF1 refused the account's credentials (HTTP {resp.status} from /token)")
    if resp.status >= 300:
        raise OpenF1Error(f"OpenF1 answered HTTP {resp.status} for /token")
    try:
        token = json.loads(resp.data.decode("utf-8", "replace")).get("access_token")
    except (ValueError, AttributeError):
        token = None
    if not token:
        raise OpenF1Error("OpenF1 /token: the answer has no access_token")
    return str(token)


def parse_date(text: str | None) -> datetime | None:
    """OpenF1's ISO 8601 dates ('2023-09-17T13:31:02.395000+00:00'; naive ones are UTC)."""
    if not text:
        return None
    dt = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def parse_gap(value: Any) -> tuple[float | None, int]:
    """OpenF1 ``gap_to_leader``: seconds, ``"+1 LAP"`` / ``"+2 LAPS"`` (lapped) or null (leader)."""
    if value is None:
        return None, 0
    if isinstance(value, int | float):
        return ms(value), 0
    text = str(value).strip().upper()
    if text.startswith("+") and "LAP" in text:
        try:
            return None, int(text[1:].split()[0])
        except ValueError:
            return None, 1
    return ms(text.lstrip("+")), 0


# race_control -> track status runs: (start test, end test) per status
def _rc_event(msg: Mapping[str, Any]) -> tuple[str, str] | None:
    """('sc'|'vsc'|'red'|'yellow', 'start'|'end') for a race-control message that changes track status."""
    text = str(msg.get("message") or "").upper()
    flag = str(msg.get("flag") or "").upper()
    category = str(msg.get("category") or "")
    if category == "SafetyCar":
        kind = "vsc" if "VIRTUAL" in text else "sc"
        if "DEPLOYED" in text:
            return kind, "start"
        if "ENDING" in text or "IN THIS LAP" in text:
            return kind, "end"
        return None
    if category == "Flag":
        if flag == "RED":
            return "red", "start"
        if flag == "GREEN" and str(msg.get("scope") or "") == "Track":
            return "red", "end"
        if flag in ("YELLOW", "DOUBLE YELLOW"):
            return "yellow", "start"
        if flag == "CLEAR":
            return "yellow", "end"
    return None


def track_status_by_lap(messages: list[Mapping[str, Any]], last_lap: int) -> dict[int, frozenset[str]]:
    """Statuses active during each lap: from the lap a status starts to the lap it ends (inclusive)."""
    runs: dict[str, list[list[int]]] = {}
    for msg in sorted(messages, key=lambda m: str(m.get("date") or "")):
        event = _rc_event(msg)
        lap = msg.get("lap_number")
        if event is None or lap is None:
            continue
        kind, what = event
        open_runs = runs.setdefault(kind, [])
        if what == "start":
            if not open_runs or open_runs[-1][1] != -1:
                open_runs.append([int(lap), -1])
        elif open_runs and open_runs[-1][1] == -1:
            open_runs[-1][1] = int(lap)
    out: dict[int, set[str]] = {lap: set() for lap in range(1, last_lap + 1)}
    for kind, spans in runs.items():
        for start, end in spans:
            for lap in range(start, (last_lap if end == -1 else end) + 1):
                if lap in out:
                    out[lap].add(kind)
    return {lap: frozenset(s) for lap, s in out.items()}


def _last_at_or_before(samples: list[tuple[datetime, Any]], moment: datetime | None) -> Any:
    """The value of the last (date, value) sample dated <= moment (+ tolerance); samples sorted."""
    if moment is None:
        return None
    limit = moment + timedelta(seconds=SAMPLE_TOLERANCE_S)
    lo, hi = 0, len(samples)
    while lo < hi:
        mid = (lo + hi) // 2
        if samples[mid][0] <= limit:
            lo = mid + 1
        else:
            hi = mid
    return samples[lo - 1][1] if lo else None


@dataclass
class SessionData:
    """The raw endpoint answers of one session."""

    session: dict[str, Any]
    drivers: list[dict[str, Any]]
    laps: list[dict[str, Any]]
    position: list[dict[str, Any]]
    intervals: list[dict[str, Any]]
    pit: list[dict[str, Any]]
    stints: list[dict[str, Any]]
    race_control: list[dict[str, Any]]
    weather: list[dict[str, Any]]


class OpenF1Source:
    """One OpenF1 race session, lap by lap: ``for state in OpenF1Source("latest"): ...``.

    ``total_laps``: race distance; by default looked up in the store's ``races`` table (the race of
    the session's year held within a day of the session's start).
    """

    name = "openf1"

    def __init__(
        self,
        session_key: int | str = "latest",
        *,
        client: OpenF1Client | None = None,
        total_laps: int | None = None,
        store: Any = None,
        poll_interval_s: float = 4.0,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_polls: int | None = None,
        strengths: Mapping[int, float] | None = None,
    ):
        if poll_interval_s <= 0:
            raise ValueError(f"poll_interval_s: must be > 0, got {poll_interval_s}")
        self.session_key = session_key
        self.client = client if client is not None else OpenF1Client()
        self._total_laps = total_laps
        self._store = store
        self.poll_interval_s = poll_interval_s
        self._sleep = sleep
        self._now = now
        self.max_polls = max_polls
        self.strengths: dict[int, float] = dict(strengths or {})
        self.season: int | None = None
        self.round: int | None = None
        self.lap_rows: list[dict[str, Any]] = []
        """The completed laps as ``laps`` table rows (after ``states``; for the lap-level templates)."""
        self._cache: dict[str, dict[str, dict[str, Any]]] = {}

    # --- fetching ---------------------------------------------------------------------------
    def session(self) -> dict[str, Any]:
        rows = self.client.get("sessions", session_key=self.session_key)
        if not rows:
            raise OpenF1Error(f"session_key: OpenF1 has no session {self.session_key!r}")
        session = rows[0]
        if str(session.get("session_type", "Race")) != "Race":
            raise OpenF1Error(
                f"session_key: session {session.get('session_key')} is a {session.get('session_name')!r} session, "
                "not a race; pass a race session_key"
            )
        return session

    def fetch(self, session: dict[str, Any]) -> SessionData:
        """The session's rows: ``drivers``, ``laps`` and ``stints`` in full (rows change as laps
        complete); the sampled endpoints incrementally (``date>`` the last sample seen), merged."""
        key = session["session_key"]
        get = self.client.get
        for endpoint in DATED_ENDPOINTS:
            seen = self._cache.setdefault(endpoint, {})
            last = max((r.get("date") or "" for r in seen.values()), default="")
            params: dict[str, Any] = {"session_key": key}
            if last:
                params["date>"] = last
            for row in get(endpoint, **params):
                seen[json.dumps(row, sort_keys=True, default=str)] = row
        rows = {e: sorted(self._cache[e].values(), key=lambda r: str(r.get("date") or "")) for e in DATED_ENDPOINTS}
        return SessionData(
            session=session,
            drivers=get("drivers", session_key=key),
            laps=get("laps", session_key=key),
            stints=get("stints", session_key=key),
            **rows,
        )

    def resolve_race(self, session: dict[str, Any]) -> int:
        """Race distance (and season/round) from ``total_laps`` or the store's ``races`` table."""
        start = parse_date(session.get("date_start"))
        if self._store is not None or self._total_laps is None:
            try:
                import pandas as pd

                from pitwall.data.store import get_store

                store = self._store if self._store is not None else get_store()
                year = int(session.get("year") or (start.year if start else 0))
                races = store.read("races", [year])
                if start is not None and len(races):
                    days = (races["date"] - start.replace(tzinfo=None)).abs()
                    near = races[days <= timedelta(days=1, hours=12)]
                    if len(near):
                        race = near.iloc[0]
                        self.season, self.round = int(race["season"]), int(race["round"])
                        if not self.strengths:
                            from pitwall.live.sources.replay import form_results
                            from pitwall.live.strength import team_form

                            self.strengths = team_form(form_results(store, self.season), self.season, self.round)
                        laps = race["scheduled_laps"]
                        if self._total_laps is None and laps is not None and laps is not pd.NA:
                            self._total_laps = int(laps)
            except Exception as exc:  # the store is optional here
                log.debug("race lookup failed: %s", exc)
        if self._total_laps is None:
            raise OpenF1Error(
                f"total_laps: the race distance of session {session.get('session_key')} is unknown (no stored race "
                "on that date); pass total_laps= (CLI: --laps)"
            )
        return int(self._total_laps)

    # --- states -----------------------------------------------------------------------------
    def states(self, data: SessionData, total_laps: int, finished: bool) -> dict[int, LapState]:
        """Every lap state computable from ``data`` (lap -> state)."""
        session_end = parse_date(data.session.get("date_end")) if finished else None
        laps_by_driver: dict[int, dict[int, dict[str, Any]]] = {}
        for row in data.laps:
            laps_by_driver.setdefault(int(row["driver_number"]), {})[int(row["lap_number"])] = row

        def samples(rows: list[dict[str, Any]], value: Callable[[dict[str, Any]], Any]) -> dict[int, list]:
            out: dict[int, list] = {}
            for r in rows:
                d = parse_date(r.get("date"))
                if d is not None and r.get("driver_number") is not None:
                    out.setdefault(int(r["driver_number"]), []).append((d, value(r)))
            for v in out.values():
                v.sort(key=lambda x: x[0])
            return out

        positions = samples(data.position, lambda r: r.get("position"))
        gaps = samples(data.intervals, lambda r: parse_gap(r.get("gap_to_leader")))
        race_start = min(
            (d for laps in laps_by_driver.values() if 1 in laps if (d := parse_date(laps[1].get("date_start")))),
            default=None,
        )
        grid = {n: int(s[0][1]) for n, s in positions.items() if s and race_start is not None and s[0][0] < race_start}
        if race_start is not None:  # running positions: samples from the start on (not the grid)
            positions = {n: [x for x in s if x[0] >= race_start] for n, s in positions.items()}
        entrants = {
            int(d["driver_number"]): Entrant(
                driver_number=int(d["driver_number"]),
                driver_code=d.get("name_acronym"),
                team=d.get("team_name"),
                grid_position=grid.get(int(d["driver_number"])),
                pre_race_strength=self.strengths.get(int(d["driver_number"])),
            )
            for d in data.drivers
        }
        records: list[LapRecord] = []
        lap_end: dict[tuple[int, int], datetime] = {}
        for number, laps in laps_by_driver.items():
            if number not in entrants:
                entrants[number] = Entrant(
                    number, grid_position=grid.get(number), pre_race_strength=self.strengths.get(number)
                )
            for lap, row in sorted(laps.items()):
                nxt = laps.get(lap + 1)
                start = parse_date(row.get("date_start"))
                duration = row.get("lap_duration")
                if nxt is not None and parse_date(nxt.get("date_start")) is not None:
                    end = parse_date(nxt.get("date_start"))
                elif start is not None and duration is not None:
                    end = start + timedelta(seconds=float(duration))
                elif session_end is not None:
                    end = session_end
                else:
                    continue  # lap not completed yet
                lap_end[(number, lap)] = end
                position = _last_at_or_before(positions.get(number, []), end)
                gap, laps_down = _last_at_or_before(gaps.get(number, []), end) or (None, 0)
                records.append(
                    LapRecord(
                        driver_number=number,
                        lap=lap,
                        lap_end_s=None,
                        lap_time_s=ms(duration),
                        position=None if position is None else int(position),
                        gap_to_leader_s=gap,
                        laps_down=laps_down,
                    )
                )
        completed: dict[int, set[int]] = {}
        for r in records:
            completed.setdefault(r.lap, set()).add(r.driver_number)
        last = max(completed, default=0)
        if finished:
            through = last
        else:
            through = 0
            for lap in range(1, last + 1):
                before = completed.get(lap - 1, set()) if lap > 1 else set(entrants)
                if before <= completed.get(lap, set()) or completed.get(lap + 1):
                    through = lap
                else:
                    break
        stints = [
            Stint(
                driver_number=int(s["driver_number"]),
                stint=int(s.get("stint_number") or 0),
                lap_start=int(s["lap_start"]),
                compound=s.get("compound"),
                tyre_age_at_start=None if s.get("tyre_age_at_start") is None else int(s["tyre_age_at_start"]),
            )
            for s in data.stints
            if s.get("lap_start") is not None and s.get("driver_number") is not None
        ]
        stop_laps: dict[int, list[int]] = {}
        for p in data.pit:
            if p.get("lap_number") is not None and p.get("driver_number") is not None:
                stop_laps.setdefault(int(p["driver_number"]), []).append(int(p["lap_number"]))
        status = track_status_by_lap(data.race_control, max(last, 1))
        weather = sorted(((d, w) for w in data.weather if (d := parse_date(w.get("date")))), key=lambda x: x[0])
        session_key = data.session.get("session_key")
        self.lap_rows = self._lap_rows(data, laps_by_driver, lap_end, records, stints, stop_laps, status, entrants)
        out: dict[int, LapState] = {}
        for lap in range(1, through + 1):
            state = build_lap_state(
                lap,
                total_laps,
                entrants,
                records,
                stints,
                stop_laps,
                status.get(lap, frozenset()),
                None,
                season=self.season,
                round_=self.round,
                session_key=None if session_key is None else int(session_key),
                source=self.name,
            )
            leader_end = lap_end.get((state.leader.driver_number, lap))
            w = _last_at_or_before(weather, leader_end)
            if w is not None:
                rain = w.get("rainfall")
                state = _with_weather(
                    state,
                    Weather(
                        air_temp_c=ms(w.get("air_temperature")),
                        track_temp_c=ms(w.get("track_temperature")),
                        humidity_pct=ms(w.get("humidity")),
                        rainfall=None if rain is None else bool(rain),
                        wind_speed_ms=ms(w.get("wind_speed")),
                    ),
                )
            out[lap] = replace(state, final=True) if finished and lap == through else state
        return out

    def _lap_rows(
        self,
        data: SessionData,
        laps_by_driver: Mapping[int, Mapping[int, Mapping[str, Any]]],
        lap_end: Mapping[tuple[int, int], datetime],
        records: list[LapRecord],
        stints: list[Stint],
        stop_laps: Mapping[int, list[int]],
        status: Mapping[int, frozenset[str]],
        entrants: Mapping[int, Entrant],
    ) -> list[dict[str, Any]]:
        """The completed laps as rows of the lake's ``laps`` table (what the lap-level templates read):
        session time from the session's start, the stint's compound and tyre life (``tyre_age_at_start``
        + laps run on it), pit in/out laps from ``pit`` and ``is_pit_out_lap``, the lap's track status as
        FastF1 status digits ("1" green); None without a matched calendar race (season/round)."""
        start = parse_date(data.session.get("date_start"))
        if self.season is None or self.round is None or start is None:
            return []
        pits = {(int(p["driver_number"]), int(p["lap_number"])): p for p in data.pit if p.get("lap_number") is not None}
        by_driver: dict[int, list[Stint]] = {}
        for st in sorted(stints, key=lambda x: (x.lap_start, x.stint)):
            by_driver.setdefault(st.driver_number, []).append(st)
        rows = []
        for rec in records:
            raw = laps_by_driver[rec.driver_number][rec.lap]
            stint = next((st for st in reversed(by_driver.get(rec.driver_number, [])) if st.lap_start <= rec.lap), None)
            age = None if stint is None or stint.tyre_age_at_start is None else stint.tyre_age_at_start
            pit = pits.get((rec.driver_number, rec.lap))
            lap_start = parse_date(raw.get("date_start"))
            out_lap = bool(raw.get("is_pit_out_lap"))
            digits = "".join(STATUS_DIGITS[s] for s in sorted(status.get(rec.lap, frozenset()), key=STATUS_DIGITS.get))
            end = lap_end[(rec.driver_number, rec.lap)]
            ent = entrants.get(rec.driver_number, Entrant(rec.driver_number))
            rows.append(
                {
                    "season": self.season,
                    "round": self.round,
                    "race_id": f"{self.season}-{self.round:02d}",
                    "driver_id": ent.driver_id,
                    "driver_code": ent.driver_code,
                    "driver_number": rec.driver_number,
                    "team": ent.team,
                    "lap_number": rec.lap,
                    "lap_time_s": rec.lap_time_s,
                    "session_time_s": ms((end - start).total_seconds()),
                    "stint": None if stint is None else stint.stint,
                    "compound": None if stint is None else stint.compound,
                    "tyre_life": None if stint is None or age is None else float(age + rec.lap - stint.lap_start + 1),
                    "fresh_tyre": None if age is None else age == 0,
                    "pit_in_time_s": None
                    if pit is None or not pit.get("date")
                    else ms(
                        (parse_date(pit["date"]) - start).total_seconds()  # type: ignore[operator]
                    ),
                    "pit_out_time_s": ms((lap_start - start).total_seconds()) if out_lap and lap_start else None,
                    "is_pit_in_lap": pit is not None,
                    "is_pit_out_lap": out_lap,
                    "track_status": digits or "1",
                    "position": rec.position,
                    "is_accurate": rec.lap_time_s is not None,
                    "is_personal_best": None,
                }
            )
        return rows

    def __iter__(self) -> Iterator[LapState]:
        session = self.session()
        total_laps = self.resolve_race(session)
        emitted = 0
        polls = 0
        while True:
            end = parse_date(session.get("date_end"))
            finished = end is not None and self._now() > end + timedelta(minutes=5)
            states = self.states(self.fetch(session), total_laps, finished)
            for lap in sorted(states):
                if lap > emitted:
                    emitted = lap
                    yield states[lap]
            polls += 1
            if finished or emitted >= total_laps or (self.max_polls is not None and polls >= self.max_polls):
                return
            self._sleep(self.poll_interval_s)


def _with_weather(state: LapState, weather: Weather) -> LapState:
    return replace(state, weather=weather)
