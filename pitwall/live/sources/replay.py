"""Replay a stored race lap by lap from the lake (``laps``, ``results``, ``pit_stops``, ``races``).

What offline users, the demo, the benchmarks and the tests use instead of a live feed: the
race's lap-by-lap timing rows become ``LapRecord`` rows, exactly as a feed would have reported
them at the end of each lap, and ``pitwall.live.state.build_lap_state`` builds lap N's state from
the laps ``<= N`` only. ``speed=None`` replays as fast as possible; ``speed=k`` waits the leader's
lap time divided by ``k`` between laps (``speed=1`` is real time).

Gaps are derived from the session time at which each driver crossed the line at the end of lap
N (``laps.session_time_s``) minus the leader's; the track status of lap N is the one the leader's
lap N saw (FastF1 status digits); the grid is the published ``results.grid_position``; stops are
the ``pit_stops`` rows with ``lap <= N``. Weather comes from the ``weather`` table when it holds
the race (live FastF1 ingests only).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace

import pandas as pd

from pitwall.data.store import Store, get_store
from pitwall.live.state import (
    Entrant,
    LapRecord,
    LapState,
    Stint,
    Weather,
    build_lap_state,
    ms,
    track_status_from_digits,
)
from pitwall.live.strength import team_form


class RaceNotStored(LookupError):
    """The store has no lap-by-lap data for the requested race."""


def _int(value: object) -> int | None:
    if value is None or value is pd.NA:
        return None
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else int(x)


@dataclass
class RaceData:
    """Everything a replay (or an OpenF1 fixture) needs about one stored race, source-neutral."""

    season: int
    round: int
    total_laps: int
    date: pd.Timestamp | None
    entrants: dict[int, Entrant]
    records: list[LapRecord]
    stints: list[Stint]
    stop_laps: dict[int, list[int]]
    track_status: dict[int, frozenset[str]]  # lap -> statuses seen by the leader's lap
    weather: pd.DataFrame = field(default_factory=pd.DataFrame)  # session_time_s + columns
    leader_lap_end_s: dict[int, float | None] = field(default_factory=dict)

    @property
    def last_lap(self) -> int:
        return max((r.lap for r in self.records), default=0)

    def weather_at(self, lap: int) -> Weather | None:
        end = self.leader_lap_end_s.get(lap)
        if self.weather.empty or end is None:
            return None
        rows = self.weather[self.weather["session_time_s"] <= end]
        if rows.empty:
            return None
        w = rows.iloc[-1]
        rain = w.get("rainfall")
        return Weather(
            air_temp_c=ms(w.get("air_temp_c")),
            track_temp_c=ms(w.get("track_temp_c")),
            humidity_pct=ms(w.get("humidity_pct")),
            rainfall=None if rain is None or rain is pd.NA else bool(rain),
            wind_speed_ms=ms(w.get("wind_speed_ms")),
        )

    def state(self, lap: int, source: str = "replay") -> LapState:
        """Lap ``lap``'s state from the laps ``<= lap`` only."""
        return build_lap_state(
            lap,
            self.total_laps,
            self.entrants,
            self.records,
            self.stints,
            self.stop_laps,
            self.track_status.get(lap, frozenset()),
            self.weather_at(lap),
            season=self.season,
            round_=self.round,
            source=source,
        )


RACE_TABLES = ("laps", "results", "races", "pit_stops", "weather")


def season_tables(store: Store, season: int) -> dict[str, pd.DataFrame]:
    """The tables a replay reads, for a whole season (read once when replaying many races), plus
    ``form_results``: the results of this season and the one before (``pitwall.live.strength``)."""
    out = {}
    for name in RACE_TABLES:
        if name == "weather" and ("weather" not in store.datasets() or season not in store.seasons("weather")):
            out[name] = pd.DataFrame()
        else:
            out[name] = store.read(name, [season])
    out["form_results"] = form_results(store, season)
    return out


def form_results(store: Store, season: int) -> pd.DataFrame:
    """The results the pre-race strength of ``season``'s races is computed from (this season and the one before)."""
    stored = set(store.seasons("results")) if "results" in store.datasets() else set()
    seasons = [s for s in (season - 1, season) if s in stored]
    return store.read("results", seasons) if seasons else pd.DataFrame()


def load_race(store: Store, season: int, round_: int, tables: Mapping[str, pd.DataFrame] | None = None) -> RaceData:
    """Read one race from the store's public tables into source-neutral records.

    ``tables``: the season's tables already read (``season_tables``); otherwise read here."""
    tables = tables if tables is not None else season_tables(store, season)
    laps = tables["laps"]
    all_laps = laps
    laps = laps[laps["round"].astype(int) == int(round_)] if len(laps) else laps
    if laps.empty:
        stored = sorted(set(all_laps["round"].astype(int).unique())) if len(all_laps) else []
        raise RaceNotStored(
            f"race {season}-{int(round_):02d}: no laps stored (season {season} has laps for rounds {stored or 'none'});"
            " ingest them with `pitwall ingest laps` or `pitwall ingest fastf1`"
        )
    laps = laps[laps["driver_number"].notna()].sort_values(["driver_number", "lap_number"]).reset_index(drop=True)
    results = tables["results"]
    results = results[results["round"].astype(int) == int(round_)]
    races = tables["races"]
    race = races[races["round"].astype(int) == int(round_)]
    total_laps = _int(race["scheduled_laps"].iloc[0]) if len(race) else None
    if total_laps is None:
        total_laps = int(results["laps"].max()) if len(results) and results["laps"].notna().any() else 0
    total_laps = max(total_laps, int(laps["lap_number"].max()))
    date = pd.Timestamp(race["date"].iloc[0]) if len(race) and pd.notna(race["date"].iloc[0]) else None

    form = tables.get("form_results")
    strength = team_form(form if form is not None else results, season, round_)
    by_id = {str(r.driver_id): r for r in results.itertuples() if r.driver_id is not pd.NA}
    by_number = {int(r.driver_number): r for r in results.itertuples() if r.driver_number is not pd.NA}
    entrants: dict[int, Entrant] = {}
    for (number,), drv in laps.groupby(["driver_number"], sort=True):
        first = drv.iloc[0]
        res = by_id.get(str(first["driver_id"])) if first["driver_id"] is not pd.NA else None
        res = res if res is not None else by_number.get(int(number))
        entrants[int(number)] = Entrant(
            driver_number=int(number),
            driver_code=None if first["driver_code"] is pd.NA else str(first["driver_code"]),
            team=None if first["team"] is pd.NA else str(first["team"]),
            driver_id=None if res is None else str(res.driver_id),
            grid_position=None if res is None else _int(res.grid_position),
            pre_race_strength=strength.get(int(number)),
        )

    # the leader's row of each lap: the driver reported P1 (else the first across the line)
    ordered = laps.assign(_not_p1=~laps["position"].eq(1).fillna(False)).sort_values(
        ["lap_number", "_not_p1", "session_time_s"], na_position="last", kind="stable"
    )
    leaders = ordered.drop_duplicates("lap_number")
    fastest = laps.groupby("lap_number")["session_time_s"].min()
    leader_end: dict[int, float | None] = {}
    status: dict[int, frozenset[str]] = {}
    for lap, end, digits in zip(leaders["lap_number"], leaders["session_time_s"], leaders["track_status"], strict=True):
        end = fastest.get(lap) if end is pd.NA or pd.isna(end) else end
        leader_end[int(lap)] = None if end is None or end is pd.NA or pd.isna(end) else float(end)
        status[int(lap)] = track_status_from_digits(None if digits is pd.NA else digits)

    records: list[LapRecord] = []
    for row in laps.itertuples():
        end = leader_end.get(int(row.lap_number))
        st = row.session_time_s
        gap = ms(float(st) - end) if (end is not None and st is not pd.NA and not pd.isna(st)) else None
        records.append(
            LapRecord(
                driver_number=int(row.driver_number),
                lap=int(row.lap_number),
                lap_end_s=ms(st),
                lap_time_s=ms(row.lap_time_s),
                position=_int(row.position),
                gap_to_leader_s=gap,
            )
        )

    laps["stint_f"] = laps.groupby("driver_number")["stint"].transform(lambda s: s.ffill().bfill()).fillna(1)
    firsts = laps.drop_duplicates(["driver_number", "stint_f"])  # laps are sorted by driver, lap
    stints = [
        Stint(
            driver_number=int(number),
            stint=int(stint),
            lap_start=int(lap),
            compound=None if compound is pd.NA else str(compound),
            tyre_age_at_start=None if (life := _int(tyre_life)) is None else life - 1,
        )
        for number, stint, lap, compound, tyre_life in zip(
            firsts["driver_number"],
            firsts["stint_f"],
            firsts["lap_number"],
            firsts["compound"],
            firsts["tyre_life"],
            strict=True,
        )
    ]

    stops = tables["pit_stops"]
    stops = stops[stops["round"].astype(int) == int(round_)]
    number_of = {e.driver_id: n for n, e in entrants.items() if e.driver_id}
    stop_laps: dict[int, list[int]] = {}
    for row in stops.itertuples():
        number = number_of.get(str(row.driver_id))
        if number is None and row.driver_number is not pd.NA:
            number = int(row.driver_number)
        lap = _int(row.lap)
        if number is not None and lap is not None:
            stop_laps.setdefault(number, []).append(lap)

    weather = tables.get("weather", pd.DataFrame())
    if len(weather):
        weather = weather[weather["round"].astype(int) == int(round_)]
        weather = weather.sort_values("session_time_s").reset_index(drop=True)
    return RaceData(
        season=int(season),
        round=int(round_),
        total_laps=int(total_laps),
        date=date,
        entrants=entrants,
        records=records,
        stints=stints,
        stop_laps=stop_laps,
        track_status=status,
        weather=weather,
        leader_lap_end_s=leader_end,
    )


class ReplaySource:
    """A stored race, lap by lap: ``for state in ReplaySource(2024, 8): ...``."""

    name = "replay"

    def __init__(
        self,
        season: int,
        round_: int,
        *,
        store: Store | None = None,
        speed: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        race: RaceData | None = None,
    ):
        if speed is not None and speed <= 0:
            raise ValueError(f"speed: must be > 0 (or None for as fast as possible), got {speed}")
        self.season = int(season)
        self.round = int(round_)
        self.speed = speed
        self._sleep = sleep
        self._store = store
        self._race = race

    @property
    def race(self) -> RaceData:
        if self._race is None:
            self._race = load_race(self._store if self._store is not None else get_store(), self.season, self.round)
        return self._race

    def __iter__(self) -> Iterator[LapState]:
        race = self.race
        previous_end: float | None = None
        for lap in range(1, race.last_lap + 1):
            end = race.leader_lap_end_s.get(lap)
            if self.speed is not None and previous_end is not None and end is not None:
                self._sleep(max(end - previous_end, 0.0) / self.speed)
            previous_end = end if end is not None else previous_end
            state = race.state(lap, self.name)
            yield replace(state, final=True) if lap == race.last_lap else state
