"""The in-race state every live source yields: one ``LapState`` per completed lap.

A source (``pitwall.live.sources.replay``, ``pitwall.live.sources.openf1``) turns its own feed
into ``LapRecord`` rows (one per driver and completed lap, as the timing feed reported it at the
end of that lap) plus per-lap track status and weather, and ``build_lap_state`` turns those into
the standings at the end of lap N. Both sources go through this one function, so the same laps
give the same states whichever feed they came from.

Only what is known at the end of lap N goes into lap N's state: each driver's own lap-N record
(or, for a driver who has stopped, the last lap they completed), the stints started by lap N,
the stops made by lap N, and the track status and weather seen up to then.

Conventions (shared by every source):

- times in seconds, rounded to the millisecond (``round(x, 3)``), as OpenF1 publishes them;
- ``gap_to_leader_s`` is the time between the leader's and the driver's crossing of the line at
  the end of their lap N; ``interval_s`` the gap to the car classified just ahead; both ``None``
  when a feed does not give them (e.g. OpenF1's ``"+1 LAP"``, where ``laps_down`` says how many);
- ``track_status`` is the set of neutralisations seen during the lap, from ``TRACK_STATUSES``
  (empty = green all lap);
- the classification orders running drivers by reported position (ties by gap), then drivers who
  have stopped by laps completed and last position; ``position`` is the rank in that order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, get_args

TrackStatus = Literal["yellow", "sc", "vsc", "red"]
TRACK_STATUSES: tuple[str, ...] = get_args(TrackStatus)
"""Neutralisations a lap can see: yellow flag, safety car, virtual safety car, red flag."""

COMPOUNDS: tuple[str, ...] = ("SOFT", "MEDIUM", "HARD", "INTERMEDIATE", "WET")
"""Tyre compounds as the timing feeds spell them."""

# FastF1's track-status digits (laps table ``track_status``): 1 green, 2 yellow, 4 SC, 5 red,
# 6 VSC deployed, 7 VSC ending
FASTF1_STATUS_DIGITS: dict[str, str] = {"2": "yellow", "4": "sc", "5": "red", "6": "vsc", "7": "vsc"}


def ms(value: Any) -> float | None:
    """Seconds rounded to the millisecond; ``None`` for missing / NaN values."""
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else round(x, 3)


def track_status_from_digits(digits: Any) -> frozenset[str]:
    """FastF1's status digits seen during a lap ('264') -> {'yellow', 'vsc'}."""
    if digits is None or (isinstance(digits, float) and math.isnan(digits)):
        return frozenset()
    text = str(digits)
    if text in ("<NA>", "nan"):
        return frozenset()
    return frozenset(FASTF1_STATUS_DIGITS[d] for d in text if d in FASTF1_STATUS_DIGITS)


@dataclass(frozen=True)
class Weather:
    """The latest weather sample at the end of the lap (only where the feed has one)."""

    air_temp_c: float | None = None
    track_temp_c: float | None = None
    humidity_pct: float | None = None
    rainfall: bool | None = None
    wind_speed_ms: float | None = None


@dataclass(frozen=True)
class LapRecord:
    """One driver's completed lap as a feed reports it (the input of ``build_lap_state``)."""

    driver_number: int
    lap: int
    lap_end_s: float | None  # session time (s) when the driver crossed the line
    lap_time_s: float | None = None
    position: int | None = None  # reported running position at the end of the lap
    gap_to_leader_s: float | None = None
    laps_down: int = 0


@dataclass(frozen=True)
class Stint:
    driver_number: int
    stint: int
    lap_start: int
    compound: str | None
    tyre_age_at_start: int | None  # laps on the set when fitted


@dataclass(frozen=True)
class Entrant:
    driver_number: int
    driver_code: str | None = None
    team: str | None = None
    driver_id: str | None = None  # F1DB id where the source knows it
    grid_position: int | None = None
    pre_race_strength: float | None = None  # pitwall.live.strength: the team's recent points per car


@dataclass(frozen=True)
class DriverState:
    """One driver at the end of lap N."""

    driver_number: int
    driver_code: str | None
    team: str | None
    position: int
    laps_completed: int
    running: bool  # completed lap N (False: stopped, or a lapped car that has not yet)
    gap_to_leader_s: float | None
    interval_s: float | None
    laps_down: int
    last_lap_time_s: float | None
    compound: str | None
    tyre_age_laps: int | None
    stops: int
    grid_position: int | None
    driver_id: str | None = None
    pre_race_strength: float | None = None  # known before the race (pitwall.live.strength)


@dataclass(frozen=True)
class LapState:
    """The race at the end of lap ``lap``: what every live source yields, once per lap."""

    lap: int
    total_laps: int
    drivers: tuple[DriverState, ...]  # in classification order
    track_status: frozenset[str] = field(default_factory=frozenset)
    weather: Weather | None = None
    season: int | None = None
    round: int | None = None
    session_key: int | None = None
    source: str = ""
    final: bool = False  # the session's last lap: the race is over (a finished session's last state)

    @property
    def laps_remaining(self) -> int:
        return max(self.total_laps - self.lap, 0)

    @property
    def race_id(self) -> str | None:
        return None if self.season is None or self.round is None else f"{self.season}-{self.round:02d}"

    @property
    def leader(self) -> DriverState:
        return self.drivers[0]

    def driver(self, driver_number: int) -> DriverState:
        for d in self.drivers:
            if d.driver_number == driver_number:
                return d
        raise KeyError(f"driver_number {driver_number} is not in lap {self.lap}'s state")

    def comparable(self) -> dict[str, Any]:
        """The state without where it came from (source, session key, F1DB ids): equal across feeds."""
        out = asdict(replace(self, source="", session_key=None))
        out["track_status"] = sorted(self.track_status)
        for d in out["drivers"]:
            d.pop("driver_id", None)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the API, SSE and the cloud poller)."""
        out = asdict(self)
        out["track_status"] = sorted(self.track_status)
        out["race_id"] = self.race_id
        out["laps_remaining"] = self.laps_remaining
        return out


def _rank_key(rec: LapRecord) -> tuple[float, float]:
    pos = rec.position if rec.position is not None else math.inf
    gap = rec.gap_to_leader_s if rec.gap_to_leader_s is not None else math.inf
    return (pos, gap)


def build_lap_state(
    lap: int,
    total_laps: int,
    entrants: Mapping[int, Entrant],
    records: Iterable[LapRecord],
    stints: Iterable[Stint] = (),
    stop_laps: Mapping[int, Iterable[int]] | None = None,
    track_status: Iterable[str] = (),
    weather: Weather | None = None,
    *,
    season: int | None = None,
    round_: int | None = None,
    session_key: int | None = None,
    source: str = "",
) -> LapState:
    """The standings at the end of ``lap`` from the feed's records of laps ``<= lap``.

    ``records`` may contain any laps; only those ``<= lap`` are read. A driver's latest record
    gives their state; drivers whose latest record is lap ``lap`` are running. ``stop_laps``:
    driver number -> laps on which they made a pit stop.
    """
    if lap < 1:
        raise ValueError(f"lap: must be >= 1, got {lap}")
    latest: dict[int, LapRecord] = {}
    last_position: dict[int, int] = {}
    for rec in sorted((r for r in records if r.lap <= lap), key=lambda r: (r.driver_number, r.lap)):
        latest[rec.driver_number] = rec
        if rec.position is not None:
            last_position[rec.driver_number] = rec.position
    # a running driver's reported position may be missing on one lap: use their last known one
    latest = {
        n: (r if r.position is not None or n not in last_position else replace(r, position=last_position[n]))
        for n, r in latest.items()
    }
    running = sorted((r for r in latest.values() if r.lap == lap), key=_rank_key)
    stopped = sorted(
        (r for r in latest.values() if r.lap < lap),
        key=lambda r: (-r.lap, r.position if r.position is not None else math.inf),
    )
    stint_of: dict[int, Stint] = {}
    for st in sorted(stints, key=lambda s: (s.driver_number, s.lap_start, s.stint)):
        if st.lap_start <= lap:
            stint_of[st.driver_number] = st
    stops_by = {n: sum(1 for x in laps if x <= lap) for n, laps in (stop_laps or {}).items()}
    drivers: list[DriverState] = []
    ahead_gap: float | None = None
    for i, rec in enumerate(running + stopped, start=1):
        is_running = rec.lap == lap
        gap = rec.gap_to_leader_s if is_running else None
        if i == 1 and is_running:
            gap = 0.0
        interval = ms(gap - ahead_gap) if (gap is not None and ahead_gap is not None and i > 1) else None
        ahead_gap = gap if is_running else None
        st = stint_of.get(rec.driver_number)
        tyre_age = None
        if st is not None and st.tyre_age_at_start is not None:
            tyre_age = st.tyre_age_at_start + (rec.lap - st.lap_start + 1)
        ent = entrants.get(rec.driver_number, Entrant(rec.driver_number))
        drivers.append(
            DriverState(
                driver_number=rec.driver_number,
                driver_code=ent.driver_code,
                team=ent.team,
                position=i,
                laps_completed=rec.lap,
                running=is_running,
                gap_to_leader_s=gap,
                interval_s=interval,
                laps_down=rec.laps_down if is_running else max(lap - rec.lap, rec.laps_down),
                last_lap_time_s=rec.lap_time_s,
                compound=st.compound if st is not None else None,
                tyre_age_laps=tyre_age,
                stops=stops_by.get(rec.driver_number, 0),
                grid_position=ent.grid_position,
                driver_id=ent.driver_id,
                pre_race_strength=ent.pre_race_strength,
            )
        )
    unknown = set(track_status) - set(TRACK_STATUSES)
    if unknown:
        raise ValueError(f"track_status: unknown value(s) {sorted(unknown)}; expected {TRACK_STATUSES}")
    return LapState(
        lap=lap,
        total_laps=int(total_laps),
        drivers=tuple(drivers),
        track_status=frozenset(track_status),
        weather=weather,
        season=season,
        round=round_,
        session_key=session_key,
        source=source,
    )
