"""Live FastF1 source: one race downloaded through the ``fastf1`` library (needs internet).

``fetch_race(season, round)`` loads the race session (laps, weather, track status) and the
qualifying session (results only) and turns them into canonical tables:

- ``results``: ``session.results`` of the race. FastF1 gives ``Time`` as the winner's total
  race time and as the gap to the winner for the others; ``ClassifiedPosition`` letters
  (R, D, E, W, F, N) become F1DB's texts (DNF, DSQ, EX, DNS, DNQ, NC).
- ``qualifying``: ``session.results`` of qualifying (Q1/Q2/Q3).
- ``starting_grid``: the race results' ``GridPosition`` (0 = pit-lane start, text ``PL``).
- ``laps``: ``session.laps``, converted exactly as the CSV exports are (the frame is laid out
  like a ``laps_<season>.csv`` export and parsed by ``laps_csv.read_laps_file``), keeping
  FastF1's sector times (``Sector1Time``..``Sector3Time``) and speed traps (``SpeedI1``,
  ``SpeedI2``, ``SpeedFL``, ``SpeedST``) when the session has them. FastF1 folds
  the track status into ``TrackStatus``; when a session lacks it, ``session.track_status`` is
  folded in here with FastF1's rule (every status active at some point of the lap).
- ``pit_stops``: from the laps. A stop is an out-lap (``PitOutTime``); its pit-lane time is
  ``PitOutTime`` of the out-lap minus ``PitInTime`` of the lap before (the in-lap), and its
  ``lap`` is the out-lap's number (as in F1DB). An out-lap without a timed in-lap (cars sent
  to the pit lane under a red flag) is a stop with an unknown time; an out-lap on lap 1 in the
  first stint is a pit-lane start, not a stop.
- ``weather``: ``session.weather_data``.

FastF1 has no F1DB ids: drivers are joined to the race's F1DB entry list in the store by
season + round + car number, checked against the three-letter code (``laps_csv.join_drivers``).
When the store has no F1DB results for the race yet (a race newer than the F1DB copy), the
entry list of the season's other races stands in. Laps keep unjoined rows with a null
``driver_id``; the classification tables, whose ``driver_id`` is required, leave them out and
``LiveRace.dropped`` names them.

Network access is FastF1's own (its HTTP cache under ``$PITWALL_HOME/fastf1-cache`` and its
rate limiter). Offline, or over the rate limit, a ``LiveTimingUnavailable`` (a
``ConnectionError``) says so. Tests inject ``session_loader`` instead of downloading.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pitwall.config import pitwall_home
from pitwall.data.events import Publisher
from pitwall.data.ingest import IngestReport, ingest_frames
from pitwall.data.schema import conform, race_id
from pitwall.data.sources import laps_csv
from pitwall.data.sources.laps_csv import JoinReport
from pitwall.data.store import Store
from pitwall.data.validation import SourceValidationError

_log = logging.getLogger(__name__)

SOURCE = "fastf1"
RACE, QUALIFYING = "R", "Q"

SessionLoader = Callable[[int, int, str], Any]
"""``(season, round, "R" | "Q") -> session``: a loaded FastF1 session, or any object with the
same ``results``, ``laps``, ``weather_data``, ``track_status`` (and optional ``event``)."""

RoundsLoader = Callable[[int], list[int]]
"""``season -> rounds`` whose race has already been run."""

# FastF1 ClassifiedPosition letters -> F1DB position texts
_CLASSIFIED_TEXT = {"R": "DNF", "D": "DSQ", "E": "EX", "W": "DNS", "F": "DNQ", "N": "NC"}
_OFFLINE_HINT = "use `pitwall ingest laps` with local exports instead"
_CLASSIFICATION_TABLES = ("results", "qualifying", "starting_grid", "pit_stops")


class LiveTimingUnavailable(ConnectionError):
    """FastF1 could not download a session (offline, API down, rate-limited, no data)."""


def default_cache_dir() -> Path:
    """FastF1's cache folder: ``$PITWALL_HOME/fastf1-cache``."""
    return pitwall_home() / "fastf1-cache"


def enable_cache(cache_dir: str | Path | None = None) -> Path:
    """Point FastF1's HTTP/data cache at ``cache_dir`` (created if missing) and return it."""
    import fastf1

    path = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    if hasattr(fastf1.Cache, "configure"):  # fastf1 >= 3.9 (enable_cache is deprecated there)
        fastf1.Cache.configure(cache_dir=str(path))
    else:  # pragma: no cover - older fastf1
        fastf1.Cache.enable_cache(str(path))
    return path


def fastf1_session_loader(cache_dir: str | Path | None = None) -> SessionLoader:
    """The real loader: ``fastf1.get_session`` + ``Session.load`` through FastF1's cache.

    The race loads laps (with track status) and weather; qualifying loads results only.
    Telemetry and race-control messages are never downloaded.
    """

    def load(season: int, round_: int, kind: str) -> Any:
        import fastf1

        enable_cache(cache_dir)
        session = fastf1.get_session(int(season), int(round_), kind)
        if kind == RACE:
            session.load(laps=True, telemetry=False, weather=True, messages=False)
        else:
            session.load(laps=False, telemetry=False, weather=False, messages=False)
        return session

    return load


def fastf1_rounds_loader(cache_dir: str | Path | None = None) -> RoundsLoader:
    """The real schedule: rounds of ``season`` whose race start is in the past."""

    def rounds(season: int) -> list[int]:
        import fastf1

        enable_cache(cache_dir)
        schedule = fastf1.get_event_schedule(int(season), include_testing=False)
        race_start = pd.to_datetime(schedule["Session5DateUtc"], utc=True, errors="coerce")
        done = schedule[race_start.notna() & (race_start < pd.Timestamp.now(tz="UTC"))]
        return sorted(int(r) for r in done["RoundNumber"] if int(r) > 0)

    return rounds


def _unavailable(exc: BaseException, what: str, cache_dir: str | Path | None) -> LiveTimingUnavailable | None:
    """Translate a download failure into a clear ``LiveTimingUnavailable`` (None: not one)."""
    import requests
    from fastf1.exceptions import DataNotLoadedError, NoLapDataError, RateLimitExceededError

    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if isinstance(exc, LiveTimingUnavailable):
        return exc
    if isinstance(exc, RateLimitExceededError):
        return LiveTimingUnavailable(
            f"the FastF1 live timing API rate limit was exceeded while loading {what} ({exc}); "
            f"sessions already cached in {cache} load without requests: retry later, or {_OFFLINE_HINT}"
        )
    if isinstance(exc, requests.RequestException | ConnectionError | TimeoutError) or (
        isinstance(exc, ValueError) and "Failed to load any schedule data" in str(exc)
    ):
        return LiveTimingUnavailable(
            f"could not reach the FastF1 live timing API for {what} ({type(exc).__name__}: {exc}); "
            f"offline? {_OFFLINE_HINT}"
        )
    if isinstance(exc, DataNotLoadedError | NoLapDataError):
        return LiveTimingUnavailable(
            f"the FastF1 live timing API returned no usable data for {what} (offline, or the session "
            f"has not been run yet); {_OFFLINE_HINT}"
        )
    return None


@dataclass
class RawRace:
    """The FastF1 frames of one race weekend, as downloaded."""

    season: int
    round: int
    event_name: str | None
    results: pd.DataFrame
    qualifying: pd.DataFrame
    laps: pd.DataFrame
    weather: pd.DataFrame
    track_status: pd.DataFrame | None


def download_race(
    season: int,
    round_: int,
    cache_dir: str | Path | None = None,
    session_loader: SessionLoader | None = None,
) -> RawRace:
    """Load the race and qualifying sessions; network failures become ``LiveTimingUnavailable``."""
    loader = session_loader or fastf1_session_loader(cache_dir)
    what = f"season {season} round {round_}"
    try:
        race = loader(season, round_, RACE)
        quali = loader(season, round_, QUALIFYING)
        results = pd.DataFrame(race.results)
        laps = pd.DataFrame(race.laps)
        weather = pd.DataFrame(race.weather_data)
        try:
            track_status = pd.DataFrame(race.track_status)
        except Exception as exc:  # noqa: BLE001 - optional: only used when laps lack TrackStatus
            if _unavailable(exc, what, cache_dir) is None:
                raise
            track_status = None
        quali_results = pd.DataFrame(quali.results)
    except Exception as exc:
        translated = _unavailable(exc, what, cache_dir)
        if translated is None:
            raise
        raise translated from exc
    event = getattr(race, "event", None)
    name = event.get("EventName") if event is not None and hasattr(event, "get") else None
    return RawRace(int(season), int(round_), name, results, quali_results, laps, weather, track_status)


# --- conversions (pure) ------------------------------------------------------------------------


def _seconds(values: pd.Series) -> pd.Series:
    return pd.to_timedelta(values, errors="coerce").dt.total_seconds().astype("Float64")


def _float(frame: pd.DataFrame, col: str) -> pd.Series:
    if col not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="Float64")
    return pd.to_numeric(frame[col], errors="coerce").astype("Float64")


def _text(frame: pd.DataFrame, col: str) -> pd.Series:
    if col not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    s = frame[col].astype("string").str.strip()
    return s.mask(s.isin(["", "nan", "None", "NaN"]))


def _key(season: int, round_: int, n: int) -> dict[str, Any]:
    return {"season": [season] * n, "round": [round_] * n, "race_id": [race_id(season, round_)] * n}


def _require(frame: pd.DataFrame, cols: Iterable[str], what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise SourceValidationError(what, None, missing[0], f"missing column(s) {missing} in the FastF1 data")


def results_table(results: pd.DataFrame, season: int, round_: int) -> pd.DataFrame:
    """Race ``session.results`` -> canonical ``results`` (plus ``driver_code``; no driver ids yet)."""
    _require(results, ("DriverNumber", "Abbreviation", "Position", "ClassifiedPosition"), "FastF1 race results")
    res = results.reset_index(drop=True)
    res = res.assign(_order=_float(res, "Position")).sort_values("_order", kind="stable", na_position="last")
    res = res.reset_index(drop=True)
    classified = _text(res, "ClassifiedPosition")
    position = pd.to_numeric(classified, errors="coerce").astype("Int64")
    text = classified.where(position.notna(), classified.map(_CLASSIFIED_TEXT).astype("string"))
    grid = _float(res, "GridPosition")
    time_s = _seconds(res["Time"]) if "Time" in res.columns else _float(res, "Time")
    is_winner = (position == 1).fillna(False)
    gap = time_s.where(~is_winner & position.notna())
    winner_total = time_s[is_winner].dropna()
    own_time = time_s.where(is_winner)
    if len(winner_total):
        own_time = own_time.fillna(gap + winner_total.iloc[0])
    status = _text(res, "Status")
    out = pd.DataFrame(
        {
            **_key(season, round_, len(res)),
            "driver_code": _text(res, "Abbreviation"),
            "driver_number": pd.to_numeric(res["DriverNumber"], errors="coerce").astype("Int64"),
            "position": position,
            "position_text": text,
            "position_order": range(1, len(res) + 1),
            "grid_position": grid.where(grid > 0).round().astype("Int64"),
            "pit_lane_start": (grid == 0).fillna(False).astype("boolean"),
            "laps": _float(res, "Laps").round().astype("Int64"),
            "time_s": own_time.astype("Float64"),
            "gap_s": gap.astype("Float64"),
            "points": _float(res, "Points").fillna(0.0),
            "reason_retired": status.where(position.isna()),
            "finished": position.notna(),
        }
    )
    return out


def qualifying_table(results: pd.DataFrame, season: int, round_: int) -> pd.DataFrame:
    """Qualifying ``session.results`` -> canonical ``qualifying`` (plus ``driver_code``)."""
    _require(results, ("DriverNumber", "Abbreviation", "Position"), "FastF1 qualifying results")
    res = results.reset_index(drop=True)
    position = _float(res, "Position").round().astype("Int64")
    parts = {q: _seconds(res[q]) if q in res.columns else _float(res, q) for q in ("Q1", "Q2", "Q3")}
    best = pd.concat(parts.values(), axis=1).astype("float64").min(axis=1).astype("Float64")
    out = pd.DataFrame(
        {
            **_key(season, round_, len(res)),
            "driver_code": _text(res, "Abbreviation"),
            "driver_number": pd.to_numeric(res["DriverNumber"], errors="coerce").astype("Int64"),
            "position": position,
            "position_text": position.astype("string"),
            "q1_s": parts["Q1"],
            "q2_s": parts["Q2"],
            "q3_s": parts["Q3"],
            "best_s": best,
        }
    )
    return out.sort_values("position", kind="stable", na_position="last").reset_index(drop=True)


def starting_grid_table(results: pd.DataFrame) -> pd.DataFrame:
    """Starting grid from canonical race results: grid slots, pit-lane starters last as ``PL``."""
    started = results[results["grid_position"].notna() | results["pit_lane_start"].fillna(False)]
    grid = pd.DataFrame(
        {
            "season": started["season"],
            "round": started["round"],
            "race_id": started["race_id"],
            "driver_code": started["driver_code"],
            "driver_number": started["driver_number"],
            "position": started["grid_position"],
            "position_text": started["grid_position"].astype("string").fillna("PL"),
        }
    )
    return grid.sort_values("position", kind="stable", na_position="last").reset_index(drop=True)


def fold_track_status(laps: pd.DataFrame, track_status: pd.DataFrame) -> pd.Series:
    """FastF1's rule: a lap gets every status (``Status`` digit) active at some time during it.

    ``laps`` needs ``Time`` (lap end) and ``LapStartTime`` (or ``LapTime``); ``track_status``
    is the timeline of ``Time`` / ``Status`` changes. Digits appear in timeline order.
    """
    end = pd.to_timedelta(laps["Time"], errors="coerce")
    if "LapStartTime" in laps.columns:
        start = pd.to_timedelta(laps["LapStartTime"], errors="coerce")
    else:
        start = end - pd.to_timedelta(laps["LapTime"], errors="coerce")
    timeline = track_status.assign(Time=pd.to_timedelta(track_status["Time"], errors="coerce"))
    timeline = timeline.dropna(subset=["Time"]).sort_values("Time", kind="stable")
    times = list(timeline["Time"])
    statuses = [str(s).strip() for s in timeline["Status"]]
    folded = [""] * len(laps)
    for i, (t, status) in enumerate(zip(times, statuses, strict=True)):
        until = times[i + 1] if i + 1 < len(times) else None
        active = end >= t if until is None else (end >= t) & (start <= until)
        for j in active.fillna(False).to_numpy().nonzero()[0]:
            if status not in folded[j]:
                folded[j] += status
    return pd.Series(folded, index=laps.index, dtype="string").replace("", pd.NA)


_LAPS_CSV_COLUMNS = tuple(c for c in laps_csv.REQUIRED_COLUMNS if c not in ("Season", "LapTime", "RoundNumber"))
"""The CSV export's columns taken as they are from ``session.laps`` (the season, the round and the
lap time in seconds are added by ``laps_table``)."""


def laps_table(
    laps: pd.DataFrame,
    season: int,
    round_: int,
    track_status: pd.DataFrame | None = None,
    event_name: str | None = None,
) -> pd.DataFrame:
    """``session.laps`` -> canonical ``laps`` (no driver ids), parsed by the CSV-export parser."""
    if laps.empty:
        return conform("laps", pd.DataFrame())
    _require(laps, (*_LAPS_CSV_COLUMNS, "LapTime"), "FastF1 laps")
    frame = laps.loc[:, list(_LAPS_CSV_COLUMNS)].copy()
    status = _text(frame, "TrackStatus")
    if status.isna().all() and track_status is not None and len(track_status):
        frame["TrackStatus"] = fold_track_status(laps, track_status)
    lap_time = laps["LapTime"]
    if pd.api.types.is_timedelta64_dtype(lap_time) or lap_time.astype(str).str.contains("day").any():
        lap_time = _seconds(lap_time)
    frame.insert(3, "LapTime", lap_time)
    for col in laps_csv.SECTOR_COLUMNS:  # optional: sector times (Timedelta) as seconds
        if col in laps.columns:
            sector = laps[col]
            frame[col] = _seconds(sector) if pd.api.types.is_timedelta64_dtype(sector) else sector
    for col in laps_csv.SPEED_COLUMNS:  # optional: speed traps (km/h)
        if col in laps.columns:
            frame[col] = laps[col]
    frame.insert(0, "Season", int(season))
    frame["RoundNumber"] = int(round_)
    frame["EventName"] = event_name or ""
    what = f"FastF1 laps of season {season} round {round_}"
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / f"laps_{int(season)}.csv"
        frame.to_csv(file, index=False)
        try:
            return laps_csv.read_laps_file(file)
        except SourceValidationError as exc:
            raise SourceValidationError(what, exc.row, exc.field, exc.problem) from None


def pit_stops_table(laps: pd.DataFrame) -> pd.DataFrame:
    """Pit stops from canonical laps (see the module docstring for the rule)."""
    rows: list[dict[str, Any]] = []
    ordered = laps.sort_values(["season", "round", "driver_code", "lap_number"], kind="stable")
    for (_, _, _code), drv in ordered.groupby(["season", "round", "driver_code"], sort=False):
        pit_in = dict(zip(drv["lap_number"].astype(int), drv["pit_in_time_s"], strict=True))
        stop = 0
        for lap in drv[drv["pit_out_time_s"].notna()].itertuples(index=False):
            number = int(lap.lap_number)
            entered = pit_in.get(number - 1, pd.NA)
            if pd.isna(entered) and number == 1 and (pd.isna(lap.stint) or int(lap.stint) <= 1):
                continue  # pit-lane start
            duration = lap.pit_out_time_s - entered if pd.notna(entered) else pd.NA
            if pd.notna(duration) and duration <= 0:
                duration = pd.NA
            stop += 1
            rows.append(
                {
                    "season": lap.season,
                    "round": lap.round,
                    "race_id": lap.race_id,
                    "driver_id": lap.driver_id,
                    "driver_code": lap.driver_code,
                    "driver_number": lap.driver_number,
                    "stop": stop,
                    "lap": number,
                    "time_s": duration,
                }
            )
    cols = ["season", "round", "race_id", "driver_id", "driver_code", "driver_number", "stop", "lap", "time_s"]
    return pd.DataFrame(rows, columns=cols)


def weather_table(weather: pd.DataFrame, season: int, round_: int) -> pd.DataFrame:
    """``session.weather_data`` -> canonical ``weather``."""
    if weather.empty:
        return conform("weather", pd.DataFrame())
    _require(weather, ("Time",), "FastF1 weather data")
    w = weather.reset_index(drop=True)
    w = w[pd.to_timedelta(w["Time"], errors="coerce").notna()].reset_index(drop=True)
    rain = w["Rainfall"].astype("string").str.strip().str.lower() if "Rainfall" in w.columns else None
    out = pd.DataFrame(
        {
            **_key(season, round_, len(w)),
            "session_time_s": _seconds(w["Time"]),
            "air_temp_c": _float(w, "AirTemp"),
            "track_temp_c": _float(w, "TrackTemp"),
            "humidity_pct": _float(w, "Humidity"),
            "pressure_mbar": _float(w, "Pressure"),
            "rainfall": rain.map({"true": True, "false": False, "1": True, "0": False}).astype("boolean")
            if rain is not None
            else pd.NA,
            "wind_speed_ms": _float(w, "WindSpeed"),
            "wind_direction_deg": _float(w, "WindDirection"),
        }
    )
    return conform("weather", out.drop_duplicates("session_time_s"))


# --- driver join --------------------------------------------------------------------------------


def race_entries(store: Store, season: int, round_: int) -> pd.DataFrame:
    """The F1DB entry list (driver id, constructor id, car number) to join one race against.

    The race's own results when stored; otherwise each car number's latest entry among the
    season's other races (a race newer than the F1DB copy has mostly the same drivers).
    """
    results = store.read("results", [season])
    cols = ["season", "round", "driver_id", "constructor_id", "driver_number"]
    if results.empty:
        return pd.DataFrame(columns=cols)
    own = results[results["round"] == round_]
    if len(own):
        return own[cols].drop_duplicates("driver_id").reset_index(drop=True)
    latest = results.sort_values("round", kind="stable").drop_duplicates("driver_number", keep="last")
    latest = latest.drop_duplicates("driver_id", keep="last")
    return latest.assign(round=round_)[cols].reset_index(drop=True)


def _with_constructor(frame: pd.DataFrame, entries: pd.DataFrame) -> pd.DataFrame:
    constructor = entries.drop_duplicates("driver_id").set_index("driver_id")["constructor_id"]
    return frame.assign(constructor_id=frame["driver_id"].map(constructor).astype("string"))


@dataclass
class LiveRace:
    """One race from FastF1 as canonical tables, with what the driver join could not match."""

    season: int
    round: int
    tables: dict[str, pd.DataFrame]
    join: JoinReport  # laps rows joined to F1DB drivers
    dropped: dict[str, list[str]] = field(default_factory=dict)  # table -> driver codes left out


def to_canonical(raw: RawRace, entries: pd.DataFrame, drivers: pd.DataFrame) -> LiveRace:
    """Convert downloaded frames to canonical tables and join driver ids (pure; no I/O)."""
    season, rnd = raw.season, raw.round
    results = results_table(raw.results, season, rnd)
    laps = laps_table(raw.laps, season, rnd, raw.track_status, raw.event_name)
    parts = {
        "results": results,
        "qualifying": qualifying_table(raw.qualifying, season, rnd) if len(raw.qualifying) else None,
        "starting_grid": starting_grid_table(results),
    }
    joined_laps, join = laps_csv.join_drivers(laps, entries, drivers)
    parts["pit_stops"] = pit_stops_table(joined_laps)
    tables: dict[str, pd.DataFrame] = {}
    dropped: dict[str, list[str]] = {}
    for name in _CLASSIFICATION_TABLES:
        frame = parts.get(name)
        if frame is None:
            continue
        if name != "pit_stops":  # pit stops carry the ids joined on the laps
            frame, _ = laps_csv.join_drivers(frame, entries, drivers)
        frame = _with_constructor(frame, entries)
        missing = frame["driver_id"].isna()
        if missing.any():
            dropped[name] = sorted({str(c) for c in frame.loc[missing, "driver_code"]})
            _log.warning("%s %s: no F1DB driver for %s; rows left out", race_id(season, rnd), name, dropped[name])
        tables[name] = conform(name, frame[~missing])
    tables["laps"] = conform("laps", joined_laps)
    tables["weather"] = weather_table(raw.weather, season, rnd)
    return LiveRace(season, rnd, tables, join, dropped)


def fetch_race(
    season: int,
    round_: int,
    cache_dir: str | Path | None = None,
    *,
    store: Store | None = None,
    session_loader: SessionLoader | None = None,
) -> LiveRace:
    """Download one race through FastF1 and return canonical tables joined to F1DB drivers."""
    if store is None:
        from pitwall.data.store import get_store

        store = get_store()
    drivers = store.read("drivers")
    if drivers.empty:
        raise ValueError(
            "drivers: the store has no F1DB drivers; run `pitwall ingest f1db` first "
            "(FastF1 data is joined to F1DB driver ids)"
        )
    raw = download_race(season, round_, cache_dir, session_loader)
    return to_canonical(raw, race_entries(store, season, round_), drivers)


def load_race(
    season: int,
    round_: int,
    cache_dir: str | Path | None = None,
    *,
    store: Store | None = None,
    session_loader: SessionLoader | None = None,
) -> dict[str, pd.DataFrame]:
    """Canonical tables of one race from FastF1: results, qualifying, starting_grid,
    pit_stops, laps (with track status) and weather. See ``fetch_race``."""
    return fetch_race(season, round_, cache_dir, store=store, session_loader=session_loader).tables


def ingest_fastf1(
    store: Store,
    season: int,
    round_: int | None = None,
    publisher: Publisher | None = None,
    *,
    cache_dir: str | Path | None = None,
    session_loader: SessionLoader | None = None,
    rounds_loader: RoundsLoader | None = None,
) -> IngestReport:
    """Download and store one race (or every race run so far in ``season``), race by race.

    Each race replaces exactly its own rows in results, qualifying, starting_grid, pit_stops,
    laps and weather (``ingest_frames``), so re-running is idempotent and a failed download
    leaves the stored races as they were.
    """
    if round_ is not None:
        rounds = [int(round_)]
    else:
        try:
            rounds = (rounds_loader or fastf1_rounds_loader(cache_dir))(season)
        except Exception as exc:
            translated = _unavailable(exc, f"the season {season} schedule", cache_dir)
            if translated is None:
                raise
            raise translated from exc
        if not rounds:
            raise ValueError(f"season: no race of season {season} has been run yet")
    start = time.perf_counter()
    total = IngestReport(source=SOURCE, join=JoinReport())
    for rnd in rounds:
        race = fetch_race(season, rnd, cache_dir, store=store, session_loader=session_loader)
        report = ingest_frames(store, SOURCE, season, [rnd], race.tables, publisher=publisher)
        total.races += report.races
        total.add_rows(race.tables)
        assert total.join is not None
        total.join.merge(race.join)
    total.seconds = time.perf_counter() - start
    return total
