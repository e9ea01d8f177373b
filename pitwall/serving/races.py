"""The race catalog the serving side needs: race ids, season calendars, entries, standings.

Reads the canonical ``races``, ``results`` and ``sprint_results`` tables of a Store once and
caches them per season (they only change when races are ingested; :meth:`RaceCatalog.clear`
forgets them, the ``race ingested`` event handler can call it).

Race references are parsed and resolved by :mod:`pitwall.refs` (``2024-08``, ``monaco_2024``,
``next``, season + round).
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pitwall.refs import NEXT_RACE, parse_race_ref, resolve_race_ref
from pitwall.serving.championship import Standings

if TYPE_CHECKING:
    import pandas as pd

    from pitwall.data.store import Store

RESOLVED_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Race:
    """A resolved race (a race reference that names a stored race)."""

    season: int
    round: int
    race_id: str
    grand_prix_id: str | None
    name: str | None
    date: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "race_id": self.race_id,
            "season": self.season,
            "round": self.round,
            "grand_prix_id": self.grand_prix_id,
            "name": self.name,
            "date": self.date,
        }


class RaceCatalog:
    """Races, entries and standings from a Store (thread-safe, cached per season)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._races: pd.DataFrame | None = None
        self._results: dict[int, pd.DataFrame] = {}
        self._sprints: dict[int, pd.DataFrame] = {}
        self._race_rows: list[dict[str, Any]] | None = None
        self._resolved: dict[str, Race] = {}

    def clear(self) -> None:
        """Forget cached tables (after new races were ingested)."""
        with self._lock:
            self._races = None
            self._race_rows = None
            self._resolved.clear()
            self._results.clear()
            self._sprints.clear()

    # --- tables ---------------------------------------------------------------------------------
    def races(self) -> pd.DataFrame:
        with self._lock:
            if self._races is None:
                self._races = self.store.read("races")
            return self._races

    def results(self, season: int) -> pd.DataFrame:
        with self._lock:
            if season not in self._results:
                self._results[season] = self.store.read("results", [season])
            return self._results[season]

    def has_run(self, race: Race) -> bool:
        """Whether ``race`` has stored race results."""
        return bool((self.results(race.season)["round"] == int(race.round)).any())

    def sprint_results(self, season: int) -> pd.DataFrame:
        with self._lock:
            if season not in self._sprints:
                self._sprints[season] = self.store.read("sprint_results", [season])
            return self._sprints[season]

    # --- races ----------------------------------------------------------------------------------
    def race_rows(self) -> list[dict[str, Any]]:
        """The ``races`` table as row dicts (what :func:`pitwall.refs.resolve_race_ref` reads)."""
        races = self.races()
        with self._lock:
            if self._race_rows is None:
                self._race_rows = races.to_dict("records")
            return self._race_rows

    def _ref(self, row: Any) -> Race:
        date = row["date"]
        return Race(
            season=int(row["season"]),
            round=int(row["round"]),
            race_id=str(row["race_id"]),
            grand_prix_id=None if _missing(row["grand_prix_id"]) else str(row["grand_prix_id"]),
            name=None if _missing(row["official_name"]) else str(row["official_name"]),
            date=None if _missing(date) else date.date().isoformat(),
        )

    def resolve(self, ref: Any, *, today: dt.date | None = None) -> Race:
        """The race ``ref`` names (any form :func:`pitwall.refs.parse_race_ref` accepts).

        Malformed: ValidationFailed 400; no such race: 422 (field ``race``, code ``unknown_race``).
        ``next`` (the first race dated ``today`` or later; default: the date of the first race of
        the calendar without results, :meth:`next_race_date`, or today's date when every stored
        race has been run) is resolved afresh on each call, as it moves with the date and the
        data; other refs are cached.
        """
        parsed = parse_race_ref(ref)
        if parsed.kind == "next" and today is None:
            today = self.next_race_date()
        key = str(parsed)
        with self._lock:
            found = self._resolved.get(key)
        if found is not None:
            return found
        found = self._ref(resolve_race_ref(parsed, self.race_rows(), today=today))
        if key != NEXT_RACE:
            with self._lock:
                if len(self._resolved) < RESOLVED_CACHE_SIZE:
                    self._resolved[key] = found
        return found

    def next_race_date(self) -> dt.date | None:
        """The date of the first race (by season, round) without stored results: an upcoming race
        whose calendar row and entry list are stored (None when every stored race has been run)."""
        races = self.races()
        if races.empty:
            return None
        ordered = races.sort_values(["season", "round"])
        for season in sorted({int(s) for s in ordered["season"]}, reverse=True)[:2][::-1]:
            done = self.last_completed_round(season)
            later = ordered[(ordered["season"] == season) & (ordered["round"] > done)]
            if not later.empty and not _missing(later["date"].iloc[0]):
                return later["date"].iloc[0].date()
        return None

    def season_races(self, season: int) -> list[Race]:
        """The season's calendar, by round."""
        races = self.races()
        rows = races[races["season"] == season].sort_values("round")
        return [self._ref(r) for _, r in rows.iterrows()]

    def last_completed_round(self, season: int) -> int:
        """The last round of ``season`` with race results (0 when none)."""
        res = self.results(season)
        return 0 if res.empty else int(res["round"].max())

    def entries(self, season: int, round_: int) -> dict[str, str | None]:
        """driver_id -> constructor_id of a race's classification (empty when not yet run)."""
        res = self.results(season)
        rows = res[res["round"] == round_]
        return {
            str(d): (None if _missing(c) else str(c))
            for d, c in zip(rows["driver_id"], rows["constructor_id"], strict=True)
        }

    def standings(self, season: int, after_round: int) -> Standings:
        """Points (races + sprints), wins and latest constructor of each driver after ``after_round``."""
        res = self.results(season)
        res = res[res["round"] <= after_round]
        spr = self.sprint_results(season)
        spr = spr[spr["round"] <= after_round] if not spr.empty else spr
        driver_points: dict[str, float] = {}
        constructor_points: dict[str, float] = {}
        wins: dict[str, int] = {}
        latest: dict[str, str] = {}
        for frame in (res, spr):
            if frame.empty:
                continue
            for d, c, pts in zip(frame["driver_id"], frame["constructor_id"], frame["points"].fillna(0.0), strict=True):
                driver_points[str(d)] = driver_points.get(str(d), 0.0) + float(pts)
                if not _missing(c):
                    constructor_points[str(c)] = constructor_points.get(str(c), 0.0) + float(pts)
        if not res.empty:
            for d in res.loc[res["position"] == 1, "driver_id"]:
                wins[str(d)] = wins.get(str(d), 0) + 1
            ordered = res.sort_values("round", kind="stable")
            for d, c in zip(ordered["driver_id"], ordered["constructor_id"], strict=True):
                if not _missing(c):
                    latest[str(d)] = str(c)
        return Standings(
            driver_points=driver_points,
            constructor_points=constructor_points,
            driver_wins=wins,
            driver_constructor=latest,
        )


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
