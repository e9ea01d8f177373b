"""Championship forecasts: Monte Carlo simulation of a season's remaining races.

Each simulated race draws a full finishing order from a Plackett-Luce model whose
strengths are the model's per-race finishing probabilities (for a race-winner model the
strength of a driver *is* their win probability, so simulated win rates match the model).
Sampling uses the Gumbel-max trick: sorting ``log(strength) + Gumbel noise`` gives a
Plackett-Luce order, vectorised over all simulations at once.

Points follow the 2010+ system (25-18-15-12-10-8-6-4-2-1 for the top ten); sprints and the
fastest-lap point are not simulated (points already scored in them are part of the current
standings). A title tie is broken by the number of wins (current + simulated), then by the
order drivers are listed in: every simulation has exactly one champion, so title
probabilities sum to 1.

Only numpy is needed here, so the same code runs inside a Lambda or an inference container.

:func:`simulate_in_pool` runs the same simulation on a small process pool (the local server's
path): the Monte Carlo holds the GIL for most of its run, so on a request thread it would
stall every other tenant's predictions in that process.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np

POINTS_2010: tuple[int, ...] = (25, 18, 15, 12, 10, 8, 6, 4, 2, 1)
POINTS_SYSTEM_NAME = "2010+: 25-18-15-12-10-8-6-4-2-1 (sprints and fastest lap not simulated)"
MIN_STRENGTH = 1e-9
POOL_PROCESSES_ENV = "PITWALL_SIMULATION_PROCESSES"
DEFAULT_POOL_PROCESSES = 1


@dataclass(frozen=True)
class RaceField:
    """One race to simulate: who starts, for which constructor, and their strengths (> 0)."""

    round: int
    drivers: list[str]
    constructors: list[str | None]
    strengths: list[float]
    points: tuple[float, ...] | None = None
    """Points of finishing positions 1.. in this race (default: the simulation's points table);
    a race with its own table (a sprint) does not count as a win in the title tie-break."""

    def __post_init__(self) -> None:
        if not (len(self.drivers) == len(self.constructors) == len(self.strengths)):
            raise ValueError(f"round {self.round}: drivers, constructors and strengths differ in length")
        if len(set(self.drivers)) != len(self.drivers):
            raise ValueError(f"round {self.round}: a driver appears twice")
        if not self.drivers:
            raise ValueError(f"round {self.round}: no drivers")


@dataclass(frozen=True)
class Standings:
    """Points (and wins) already scored before the simulated races."""

    driver_points: Mapping[str, float] = field(default_factory=dict)
    constructor_points: Mapping[str, float] = field(default_factory=dict)
    driver_wins: Mapping[str, int] = field(default_factory=dict)
    driver_constructor: Mapping[str, str] = field(default_factory=dict)
    """Each driver's (latest) constructor, for drivers who do not appear in a simulated race."""


@dataclass(frozen=True)
class DriverForecast:
    driver_id: str
    constructor_id: str | None
    current_points: float
    expected_points: float
    title_probability: float


@dataclass(frozen=True)
class ConstructorForecast:
    constructor_id: str
    current_points: float
    expected_points: float
    title_probability: float


@dataclass(frozen=True)
class ChampionshipForecast:
    simulations: int
    simulated_rounds: list[int]
    drivers: list[DriverForecast]
    constructors: list[ConstructorForecast]


def strengths_from_scores(scores: Sequence[float], probabilities: Sequence[float | None] | None) -> list[float]:
    """Plackett-Luce strengths for one race from a ranking model's output.

    Top-k models give probabilities (used as they are, floored at a tiny positive value);
    full-order models only give scores (higher = better, ``-predicted position``), which
    become ``exp(score - max)`` so one position down is a factor e less likely to lead.
    """
    if probabilities is not None and all(p is not None and np.isfinite(p) for p in probabilities):
        p = np.asarray(probabilities, dtype=np.float64)
    else:
        s = np.asarray(scores, dtype=np.float64)
        if not np.all(np.isfinite(s)):
            raise ValueError("scores must be finite numbers")
        p = np.exp(s - s.max())
    return np.clip(p, MIN_STRENGTH, None).tolist()


def _winner(points: np.ndarray, wins: np.ndarray) -> np.ndarray:
    """Index of the champion per simulation: most points, then most wins, then lowest index."""
    best = points.max(axis=1, keepdims=True)
    tied = points >= best - 1e-9
    key = np.where(tied, wins, -1)
    return np.argmax(key, axis=1)


def simulate_championship(
    races: Sequence[RaceField],
    standings: Standings,
    *,
    simulations: int = 10_000,
    seed: int | None = None,
    points_table: Sequence[int] = POINTS_2010,
) -> ChampionshipForecast:
    """Simulate ``races`` ``simulations`` times on top of ``standings``.

    Returns every driver and constructor seen in the standings or in a race, sorted by
    title probability then expected points. Driver (and constructor) title probabilities
    each sum to 1.
    """
    if simulations < 1:
        raise ValueError("simulations must be at least 1")
    drivers = list(dict.fromkeys([*standings.driver_points, *(d for r in races for d in r.drivers)]))
    constructor_of: dict[str, str | None] = {d: standings.driver_constructor.get(d) for d in drivers}
    for race in races:  # the latest race's team wins for drivers who changed teams
        for d, c in zip(race.drivers, race.constructors, strict=True):
            if c is not None:
                constructor_of[d] = c
    constructors = list(
        dict.fromkeys(
            [
                *standings.constructor_points,
                *(c for r in races for c in r.constructors if c is not None),
                *(c for c in constructor_of.values() if c is not None),
            ]
        )
    )
    if not drivers:
        raise ValueError("nothing to simulate: no drivers in the standings or the races")
    d_index = {d: i for i, d in enumerate(drivers)}
    c_index = {c: i for i, c in enumerate(constructors)}
    rng = np.random.default_rng(seed)
    table = np.asarray(points_table, dtype=np.float64)

    d_points = np.tile(np.array([float(standings.driver_points.get(d, 0.0)) for d in drivers]), (simulations, 1))
    d_wins = np.tile(np.array([int(standings.driver_wins.get(d, 0)) for d in drivers]), (simulations, 1))
    c_points = np.tile(
        np.array([float(standings.constructor_points.get(c, 0.0)) for c in constructors]), (simulations, 1)
    )
    rows = np.arange(simulations)[:, None]
    for race in races:
        n = len(race.drivers)
        log_w = np.log(np.clip(np.asarray(race.strengths, dtype=np.float64), MIN_STRENGTH, None))
        keys = log_w[None, :] + rng.gumbel(size=(simulations, n))
        order = np.argsort(-keys, axis=1)  # order[s, p] = entrant finishing in position p+1
        own = race.points is not None
        table = np.asarray(race.points, dtype=np.float64) if own else np.asarray(points_table, dtype=np.float64)
        scored = min(n, len(table))
        race_d = np.array([d_index[d] for d in race.drivers])
        finishers = race_d[order[:, :scored]]  # (sims, scored) global driver indices
        np.add.at(d_points, (np.broadcast_to(rows, finishers.shape), finishers), table[:scored])
        if not own:
            d_wins[np.arange(simulations), finishers[:, 0]] += 1
        race_c = np.array([c_index[c] if c is not None else -1 for c in race.constructors])
        team = race_c[order[:, :scored]]
        has_team = team >= 0
        np.add.at(
            c_points,
            (np.broadcast_to(rows, team.shape)[has_team], team[has_team]),
            np.broadcast_to(table[:scored], team.shape)[has_team],
        )

    d_champ = np.bincount(_winner(d_points, d_wins), minlength=len(drivers)) / simulations
    c_champ = (
        np.bincount(_winner(c_points, np.zeros_like(c_points)), minlength=len(constructors)) / simulations
        if constructors
        else np.zeros(0)
    )
    d_current = [float(standings.driver_points.get(d, 0.0)) for d in drivers]
    c_current = [float(standings.constructor_points.get(c, 0.0)) for c in constructors]
    driver_rows = [
        DriverForecast(d, constructor_of[d], d_current[i], float(d_points[:, i].mean()), float(d_champ[i]))
        for i, d in enumerate(drivers)
    ]
    constructor_rows = [
        ConstructorForecast(c, c_current[i], float(c_points[:, i].mean()), float(c_champ[i]))
        for i, c in enumerate(constructors)
    ]
    driver_rows.sort(key=lambda r: (-r.title_probability, -r.expected_points, r.driver_id))
    constructor_rows.sort(key=lambda r: (-r.title_probability, -r.expected_points, r.constructor_id))
    return ChampionshipForecast(
        simulations=simulations,
        simulated_rounds=[r.round for r in races],
        drivers=driver_rows,
        constructors=constructor_rows,
    )


# --------------------------------------------------------------------------- process pool

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


POOL_NICENESS = 10
"""Pool processes run at a lower CPU priority: interactive predictions win the cores."""


def _init_pool_process() -> None:
    """Pool processes are SIGKILLed when the server process dies (Linux ``PR_SET_PDEATHSIG``)
    and yield the CPU to the request threads (``nice``)."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(POOL_NICENESS)
    with contextlib.suppress(OSError, AttributeError):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            processes = max(1, int(os.environ.get(POOL_PROCESSES_ENV, DEFAULT_POOL_PROCESSES)))
            _pool = ProcessPoolExecutor(
                max_workers=processes, mp_context=multiprocessing.get_context("spawn"), initializer=_init_pool_process
            )
        return _pool


def shutdown_pool() -> None:
    """Stop the pool's processes (a later simulation starts a new pool)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def simulate_in_pool(
    races: Sequence[RaceField],
    standings: Standings,
    *,
    simulations: int = 10_000,
    seed: int | None = None,
) -> ChampionshipForecast:
    """:func:`simulate_championship` on the process pool (``$PITWALL_SIMULATION_PROCESSES``
    processes, default 1); the calling thread only waits. A pool whose process died is
    replaced once."""
    for attempt in range(2):
        pool = _get_pool()
        try:
            return pool.submit(simulate_championship, races, standings, simulations=simulations, seed=seed).result()
        except BrokenProcessPool:
            with _pool_lock:
                global _pool
                if _pool is pool:
                    _pool = None
            if attempt:
                raise
    raise AssertionError("unreachable")
