"""F1DB source: the YAML tree of the public f1db repository (``src/data/``).

Layout: ``seasons/<year>/races/<NN>-<grand-prix>/<table>.yml`` plus reference entities in
``drivers/``, ``constructors/``, ``circuits/``. Documents are built straight from libyaml's
parse events (:func:`load_yaml`: the values of PyYAML's C *base* loader, every scalar a string,
no implicit typing, about 3x faster than that loader) and then parsed by
``pitwall.data.validation`` so that a bad value fails with the file, row and field. Races are
parsed in parallel worker processes, one season per task, handed over as they are done.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from yaml import events as _ev

from pitwall.data.schema import conform, race_id
from pitwall.data.store.base import normalise
from pitwall.data.validation import (
    SourceValidationError,
    parse_float,
    parse_int,
    parse_position,
    parse_time,
)

F1DB_GIT_URL = "https://github.com/f1db/f1db.git"
_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
try:  # libyaml's event parser (PyYAML built with libyaml); without it load_yaml uses yaml.load
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - PyYAML without libyaml
    _CParser = None
_RACE_DIR_RE = re.compile(r"^(\d+)-[a-z0-9-]+$")


@dataclass(frozen=True)
class RaceDir:
    season: int
    round: int
    path: Path

    @property
    def race_id(self) -> str:
        return race_id(self.season, self.round)


def resolve_root(path: str | Path) -> Path:
    """Accept the repository root, ``src/`` or ``src/data/`` and return the data folder."""
    p = Path(path).expanduser()
    for candidate in (p, p / "data", p / "src" / "data", p / "f1db" / "src" / "data"):
        if (candidate / "seasons").is_dir() and (candidate / "drivers").is_dir():
            return candidate
    raise FileNotFoundError(
        f"{p} is not an F1DB source tree: expected 'src/data/seasons' and 'src/data/drivers' under it"
    )


def clone(dest: str | Path, url: str = F1DB_GIT_URL) -> Path:
    """Shallow-clone the public F1DB repository (online use only) and return its data folder."""
    dest = Path(dest)
    if not dest.exists():
        try:
            subprocess.run(["git", "clone", "--depth", "1", url, str(dest)], check=True, capture_output=True)
        except subprocess.CalledProcessError as exc:
            raise ConnectionError(
                f"could not clone {url}: {exc.stderr.decode(errors='replace').strip()} "
                "(offline? point 'pitwall ingest f1db' at a local copy instead)"
            ) from None
    return resolve_root(dest)


def load_yaml(file: Path) -> Any:
    """One YAML document as plain values (every scalar a string), as ``yaml.load(Loader=CBaseLoader)``."""
    try:
        with open(file, "rb") as fh:
            raw = fh.read()
        return _load_events(raw) if _CParser is not None else yaml.load(raw, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise SourceValidationError(file, None, None, f"invalid YAML (line {row}): {exc}") from None


class _NeedsFullLoader(Exception):
    """The document uses a YAML feature the event builder leaves to PyYAML (aliases)."""


_NO_KEY = object()


def _load_events(raw: bytes) -> Any:
    """Build the document straight from libyaml's parse events (what ``CBaseLoader`` returns, without
    its node graph and per-node resolver calls: about 3x faster). Scalars stay strings, tags are
    ignored, a repeated key keeps its last value, as the base loader does; a document with aliases,
    an unhashable key or more than one document is handed to ``yaml.load`` (same value or same error)."""
    try:
        return _build_from_events(raw)
    except _NeedsFullLoader:
        return yaml.load(raw, Loader=_LOADER)


def _build_from_events(raw: bytes) -> Any:
    scalar, alias, document = _ev.ScalarEvent, _ev.AliasEvent, _ev.DocumentStartEvent
    map_start, map_end, seq_start, seq_end = (
        _ev.MappingStartEvent,
        _ev.MappingEndEvent,
        _ev.SequenceStartEvent,
        _ev.SequenceEndEvent,
    )
    parser = _CParser(raw)
    try:
        stack: list[tuple[Any, Any]] = []
        cur: Any = None  # the open list or dict (None: at the document's top)
        key: Any = _NO_KEY  # a dict's key waiting for its value
        root: Any = None
        documents = 0
        while (event := parser.get_event()) is not None:
            kind = event.__class__
            if kind is scalar:
                value: Any = event.value
            elif kind is map_start:
                stack.append((cur, key))
                cur, key = {}, _NO_KEY
                continue
            elif kind is seq_start:
                stack.append((cur, key))
                cur, key = [], _NO_KEY
                continue
            elif kind is map_end or kind is seq_end:
                value = cur
                cur, key = stack.pop()
            elif kind is document:
                documents += 1
                if documents > 1:
                    raise _NeedsFullLoader
                continue
            elif kind is alias:
                raise _NeedsFullLoader
            else:
                continue
            if cur is None:
                root = value
            elif cur.__class__ is list:
                cur.append(value)
            elif key is _NO_KEY:
                if value.__class__ is not str:
                    raise _NeedsFullLoader
                key = value
            else:
                cur[key] = value
                key = _NO_KEY
        return root
    finally:
        parser.dispose()


def list_races(root: str | Path, seasons: Iterable[int] | None = None) -> list[RaceDir]:
    """All race folders, in (season, round) order, optionally restricted to ``seasons``."""
    data = resolve_root(root)
    wanted = set(seasons) if seasons is not None else None
    out: list[RaceDir] = []
    for season_dir in sorted((data / "seasons").iterdir()):
        if not season_dir.name.isdigit():
            continue
        season = int(season_dir.name)
        if wanted is not None and season not in wanted:
            continue
        races = season_dir / "races"
        if not races.is_dir():
            continue
        for race_dir in sorted(races.iterdir()):
            m = _RACE_DIR_RE.match(race_dir.name)
            if not m:
                continue
            if not (race_dir / "race.yml").exists():
                # a race folder without its race.yml is a broken source, never a removal
                raise SourceValidationError(
                    race_dir / "race.yml",
                    None,
                    None,
                    "required file is missing (to remove a race, delete its folder and ingest with --allow-removal)",
                )
            out.append(RaceDir(season, int(m.group(1)), race_dir))
    return out


# --- field parsing -------------------------------------------------------------------------


class _Rows:
    """Reads a YAML list-of-records file and parses its fields with precise error locations."""

    def __init__(self, file: Path):
        self.file = file
        raw = load_yaml(file) if file.exists() else []
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise SourceValidationError(file, None, None, "expected a list of records")
        self.records: list[dict[str, Any]] = []
        for i, rec in enumerate(raw, start=1):
            if not isinstance(rec, dict):
                raise SourceValidationError(file, i, None, "expected a mapping")
            self.records.append(rec)

    def parse(self, row: int, rec: dict[str, Any], field: str, fn: Callable[[Any], Any], required: bool = False):
        value = rec.get(field)
        try:
            parsed = fn(value)
        except ValueError as exc:
            raise SourceValidationError(self.file, row, field, str(exc)) from None
        if required and (parsed is None or parsed == (None, None)):
            raise SourceValidationError(self.file, row, field, "required value is missing")
        return parsed

    def text(self, row: int, rec: dict[str, Any], field: str, required: bool = False) -> str | None:
        value = rec.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise SourceValidationError(self.file, row, field, "required value is missing")
            return None
        if not isinstance(value, str):
            raise SourceValidationError(self.file, row, field, f"expected text, got {type(value).__name__}")
        return value.strip()


def _entry(rows: _Rows, i: int, rec: dict[str, Any]) -> dict[str, Any]:
    return {
        "driver_id": rows.text(i, rec, "driverId", required=True),
        "constructor_id": rows.text(i, rec, "constructorId"),
        "driver_number": rows.parse(i, rec, "driverNumber", _driver_number),
    }


def _driver_number(v: Any) -> int | None:
    # a handful of historical entries have non-numeric numbers; they are not car numbers we can join on
    try:
        return parse_int(v)
    except ValueError:
        return None


def _classification(rows: _Rows, key: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for i, rec in enumerate(rows.records, start=1):
        pos, text = rows.parse(i, rec, "position", parse_position)
        grid_raw = rec.get("gridPosition")
        pit_lane = isinstance(grid_raw, str) and grid_raw.strip() == "PL"
        grid = None if pit_lane else rows.parse(i, rec, "gridPosition", parse_int)
        gap = rows.parse(i, rec, "gap", parse_time)
        out.append(
            {
                **key,
                **_entry(rows, i, rec),
                "position": pos,
                "position_text": text,
                "position_order": i,
                "grid_position": grid,
                "pit_lane_start": pit_lane,
                "laps": rows.parse(i, rec, "laps", parse_int),
                "time_s": rows.parse(i, rec, "time", parse_time),
                "gap_s": gap,
                "points": rows.parse(i, rec, "points", parse_float) or 0.0,
                "reason_retired": rows.text(i, rec, "reasonRetired"),
                "finished": pos is not None,
            }
        )
    return out


def _qualifying(rows: _Rows, key: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for i, rec in enumerate(rows.records, start=1):
        pos, text = rows.parse(i, rec, "position", parse_position)
        q1 = rows.parse(i, rec, "q1", parse_time) if "q1" in rec else rows.parse(i, rec, "time", parse_time)
        q2 = rows.parse(i, rec, "q2", parse_time)
        q3 = rows.parse(i, rec, "q3", parse_time)
        times = [t for t in (q1, q2, q3) if t is not None]
        out.append(
            {
                **key,
                **_entry(rows, i, rec),
                "position": pos,
                "position_text": text,
                "q1_s": q1,
                "q2_s": q2,
                "q3_s": q3,
                "best_s": min(times) if times else None,
                "laps": rows.parse(i, rec, "laps", parse_int),
            }
        )
    return out


def _grid(rows: _Rows, key: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for i, rec in enumerate(rows.records, start=1):
        pos, text = rows.parse(i, rec, "position", parse_position)
        out.append(
            {
                **key,
                **_entry(rows, i, rec),
                "position": pos,
                "position_text": text,
                "grid_penalty": rows.text(i, rec, "gridPenalty"),
                "time_s": rows.parse(i, rec, "time", parse_time),
            }
        )
    return out


def _practice(rows: _Rows, key: dict[str, Any], session: int) -> list[dict[str, Any]]:
    out = []
    for i, rec in enumerate(rows.records, start=1):
        pos, text = rows.parse(i, rec, "position", parse_position)
        out.append(
            {
                **key,
                "session": session,
                **_entry(rows, i, rec),
                "position": pos,
                "position_text": text,
                "time_s": rows.parse(i, rec, "time", parse_time),
                "laps": rows.parse(i, rec, "laps", parse_int),
            }
        )
    return out


def _pit_stops(rows: _Rows, key: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            **key,
            **_entry(rows, i, rec),
            "stop": rows.parse(i, rec, "stop", parse_int, required=True),
            "lap": rows.parse(i, rec, "lap", parse_int),
            "time_s": rows.parse(i, rec, "time", parse_time),
        }
        for i, rec in enumerate(rows.records, start=1)
    ]


def _fastest_laps(rows: _Rows, key: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for i, rec in enumerate(rows.records, start=1):
        pos, _ = rows.parse(i, rec, "position", parse_position)
        out.append(
            {
                **key,
                **_entry(rows, i, rec),
                "position": pos,
                "lap": rows.parse(i, rec, "lap", parse_int),
                "time_s": rows.parse(i, rec, "time", parse_time),
            }
        )
    return out


def _race_row(race: RaceDir) -> dict[str, Any]:
    file = race.path / "race.yml"
    rec = load_yaml(file)
    if not isinstance(rec, dict):
        raise SourceValidationError(file, None, None, "expected a mapping")
    rows = _Rows.__new__(_Rows)
    rows.file = file
    season_rnd = rows.parse(1, rec, "round", parse_int, required=True)
    if season_rnd != race.round:
        raise SourceValidationError(
            file, 1, "round", f"round {season_rnd} does not match the folder name {race.path.name!r}"
        )
    date = rows.text(1, rec, "date", required=True)
    try:
        pd.Timestamp(date)
    except ValueError:
        raise SourceValidationError(file, 1, "date", f"not a date: {date!r}") from None
    laps = rows.parse(1, rec, "laps", parse_int)
    return {
        "season": race.season,
        "round": race.round,
        "race_id": race.race_id,
        "f1db_race_id": rows.parse(1, rec, "id", parse_int),
        "date": date,
        "grand_prix_id": rows.text(1, rec, "grandPrixId", required=True),
        "official_name": rows.text(1, rec, "officialName"),
        "circuit_id": rows.text(1, rec, "circuitId", required=True),
        "circuit_type": rows.text(1, rec, "circuitType"),
        "course_length_km": rows.parse(1, rec, "courseLength", parse_float),
        "turns": rows.parse(1, rec, "turns", parse_int),
        "scheduled_laps": rows.parse(1, rec, "scheduledLaps", parse_int) or laps,
        "distance_km": rows.parse(1, rec, "distance", parse_float),
        "qualifying_format": rows.text(1, rec, "qualifyingFormat"),
        # an upcoming sprint weekend has no sprint results yet; its race.yml names the sprint's date
        "has_sprint": (race.path / "sprint-race-results.yml").exists() or bool(rows.text(1, rec, "sprintRaceDate")),
    }


def _rounds(text: str | None) -> set[int]:
    """``"1-16,18-20,22-24"`` -> the rounds it names (empty for a blank value)."""
    out: set[int] = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


@functools.lru_cache(maxsize=8)
def _season_entries(file: Path) -> tuple[tuple[str, str | None, frozenset[int]], ...]:
    """(driver_id, constructor_id, rounds) of a season's ``entrants.yml``.

    A driver with no rounds (a reserve who only ran in practice) enters no race; F1DB's
    ``testDriver`` flag is not used, as drivers promoted mid-season keep it."""
    if not file.exists():
        return ()
    raw = load_yaml(file) or []
    if not isinstance(raw, list):
        raise SourceValidationError(file, None, None, "expected a list of entrants")
    out = []
    for i, entrant in enumerate(raw, start=1):
        if not isinstance(entrant, dict):
            raise SourceValidationError(file, i, None, "expected a mapping")
        constructor = entrant.get("constructorId") or None
        for driver in entrant.get("drivers") or []:
            if not isinstance(driver, dict) or not driver.get("driverId"):
                raise SourceValidationError(file, i, "drivers", "expected driverId entries")
            try:
                rounds = _rounds(driver.get("rounds"))
            except ValueError:
                raise SourceValidationError(file, i, "rounds", f"not a round list: {driver.get('rounds')!r}") from None
            out.append((str(driver["driverId"]), constructor, frozenset(rounds)))
    return tuple(out)


def _entries(race: RaceDir, key: dict[str, Any]) -> list[dict[str, Any]]:
    """The race's entry list (known before the weekend; what an upcoming race's rows are made of)."""
    seen: set[str] = set()
    out = []
    for driver, constructor, rounds in _season_entries(race.path.parent.parent / "entrants.yml"):
        if race.round in rounds and driver not in seen:
            seen.add(driver)
            out.append({**key, "driver_id": driver, "constructor_id": constructor, "driver_number": None})
    return out


def _check_unique(file: Path, records: list[dict[str, Any]], fields: tuple[str, ...]) -> None:
    seen: dict[tuple, int] = {}
    for i, rec in enumerate(records, start=1):
        k = tuple(rec[f] for f in fields)
        if k in seen:
            raise SourceValidationError(file, i, fields[-1], f"duplicate {'/'.join(fields)} {k} (also row {seen[k]})")
        seen[k] = i


def is_upcoming(race: RaceDir) -> bool:
    """Whether ``race`` is a race not yet run: F1DB keeps the rest of the current season as
    folders without ``race-results.yml`` (``race.yml``, then the weekend's session files as they
    happen). Upcoming races are the tail of their season's calendar: a race without results
    followed by one with results is a broken source, not an upcoming race."""
    if (race.path / "race-results.yml").exists():
        return False
    for sibling in race.path.parent.iterdir():
        m = _RACE_DIR_RE.match(sibling.name)
        if m and int(m.group(1)) > race.round and (sibling / "race-results.yml").exists():
            return False
    return True


def read_race_records(race: RaceDir) -> dict[str, list[dict[str, Any]]]:
    """Parse one race folder into validated, typed records per canonical table."""
    key = {"season": race.season, "round": race.round, "race_id": race.race_id}
    p = race.path
    tables: dict[str, list[dict[str, Any]]] = {"races": [_race_row(race)]}
    # a driver can appear twice in early races (shared cars), so results are keyed by row order
    results_file = p / "race-results.yml"
    results = _Rows(results_file)
    upcoming = not results_file.exists() and is_upcoming(race)
    if not results.records and not upcoming:
        # a missing or empty results file is a broken source, never "this race has no results"
        # (except an upcoming race: see is_upcoming)
        problem = "required file is empty" if results_file.exists() else "required file is missing"
        raise SourceValidationError(results_file, None, None, problem)
    tables["results"] = _classification(results, key)
    tables["sprint_results"] = _classification(_Rows(p / "sprint-race-results.yml"), key)
    tables["qualifying"] = _qualifying(_Rows(p / "qualifying-results.yml"), key)
    tables["starting_grid"] = _grid(_Rows(p / "starting-grid-positions.yml"), key)
    # results vs starting grid: checked per race by pitwall.data.ingest (after the reference ids)
    tables["practice"] = [
        row for n in (1, 2, 3, 4) for row in _practice(_Rows(p / f"free-practice-{n}-results.yml"), key, n)
    ]
    ps = _Rows(p / "pit-stops.yml")
    tables["pit_stops"] = _pit_stops(ps, key)
    _check_unique(ps.file, tables["pit_stops"], ("driver_id", "stop"))
    tables["fastest_laps"] = _fastest_laps(_Rows(p / "fastest-laps.yml"), key)
    tables["entries"] = _entries(race, key)
    return tables


F1DB_RACE_TABLES = (
    "races",
    "results",
    "sprint_results",
    "qualifying",
    "starting_grid",
    "practice",
    "pit_stops",
    "fastest_laps",
    "entries",
)


def read_races(races: list[RaceDir]) -> dict[str, pd.DataFrame]:
    """Parse several race folders into one canonical frame per table, as the store writes it
    (conformed and in key order: done here, in the parse workers, rather than by the committing process)."""
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in F1DB_RACE_TABLES}
    for race in races:
        for table, recs in read_race_records(race).items():
            rows[table].extend(recs)
    return {table: normalise(table, pd.DataFrame(recs)) for table, recs in rows.items()}


def read_race(race: RaceDir) -> dict[str, pd.DataFrame]:
    """Parse one race folder into canonical race-scoped tables."""
    return read_races([race])


def iter_seasons(
    races: list[RaceDir], workers: int | None = None
) -> Iterator[tuple[int, list[RaceDir], dict[str, pd.DataFrame]]]:
    """Parse races grouped by season using ``workers`` processes; seasons come as they are parsed
    (in season order with one worker).

    The unit of parallel work is a season, so frames are built once per season and table
    rather than once per race. The biggest seasons are parsed first, and each season is handed
    over as soon as it is ready, so the caller's writes overlap the parsing of the others.
    """
    by_season: dict[int, list[RaceDir]] = {}
    for race in races:
        by_season.setdefault(race.season, []).append(race)
    groups = list(by_season.items())
    workers = workers or os.cpu_count() or 1
    if workers <= 1 or len(groups) < 2:
        for season, rs in groups:
            yield season, rs, read_races(rs)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(groups)), initializer=die_with_parent) as pool:
        # biggest seasons first keeps both workers busy until the end
        order = sorted(groups, key=lambda g: -len(g[1]))
        futures = {pool.submit(read_races, rs): (season, rs) for season, rs in order}
        try:
            for future in as_completed(futures):
                season, rs = futures[future]
                yield season, rs, future.result()
        finally:
            for future in futures:
                future.cancel()  # a failed season (or a caller that stopped) stops the rest


def die_with_parent() -> None:
    """Worker initializer: the kernel kills this process when its parent dies (Linux ``PR_SET_PDEATHSIG``).

    Elsewhere a watchdog thread exits the worker once its parent is gone.
    """
    import signal
    import sys

    parent = os.getppid()
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    if not sys.platform.startswith("linux"):
        import threading
        import time

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()


# --- reference entities --------------------------------------------------------------------


def _entities(folder: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    for file in sorted(folder.glob("*.yml")):
        rec = load_yaml(file)
        if not isinstance(rec, dict):
            raise SourceValidationError(file, None, None, "expected a mapping")
        yield file, rec


def _ref_rows(folder: Path, build: Callable[[_Rows, dict[str, Any]], dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for file, rec in _entities(folder):
        rows = _Rows.__new__(_Rows)
        rows.file = file
        out.append(build(rows, rec))
    return out


def read_reference(root: str | Path) -> dict[str, pd.DataFrame]:
    """Drivers, constructors and circuits."""
    data = resolve_root(root)

    def driver(r: _Rows, rec: dict[str, Any]) -> dict[str, Any]:
        return {
            "driver_id": r.text(1, rec, "id", required=True),
            "name": r.text(1, rec, "name"),
            "first_name": r.text(1, rec, "firstName"),
            "last_name": r.text(1, rec, "lastName"),
            "abbreviation": r.text(1, rec, "abbreviation"),
            "permanent_number": r.parse(1, rec, "permanentNumber", _driver_number),
            "date_of_birth": r.text(1, rec, "dateOfBirth"),
            "nationality_country_id": r.text(1, rec, "nationalityCountryId"),
        }

    def constructor(r: _Rows, rec: dict[str, Any]) -> dict[str, Any]:
        return {
            "constructor_id": r.text(1, rec, "id", required=True),
            "name": r.text(1, rec, "name"),
            "full_name": r.text(1, rec, "fullName"),
            "country_id": r.text(1, rec, "countryId"),
        }

    def circuit(r: _Rows, rec: dict[str, Any]) -> dict[str, Any]:
        return {
            "circuit_id": r.text(1, rec, "id", required=True),
            "name": r.text(1, rec, "name"),
            "full_name": r.text(1, rec, "fullName"),
            "type": r.text(1, rec, "type"),
            "direction": r.text(1, rec, "direction"),
            "country_id": r.text(1, rec, "countryId"),
            "latitude": r.parse(1, rec, "latitude", parse_float),
            "longitude": r.parse(1, rec, "longitude", parse_float),
            "length_km": r.parse(1, rec, "length", parse_float),
            "turns": r.parse(1, rec, "turns", parse_int),
        }

    return {
        "drivers": conform("drivers", pd.DataFrame(_ref_rows(data / "drivers", driver))),
        "constructors": conform("constructors", pd.DataFrame(_ref_rows(data / "constructors", constructor))),
        "circuits": conform("circuits", pd.DataFrame(_ref_rows(data / "circuits", circuit))),
    }
