"""The race catalog the serving side needs: race ids, season calendars, entries, standings.

Reads the canonical ``races``, ``results`` and ``sprint_results`` tables of a Store once and
caches them per season (they only change when races are ingested; :meth:`RaceCatalog.clear`
forgets them, the ``race ingested`` event handler can call it).

Race references accepted by the API:

- ``monaco_2024``: ``<grand_prix_id>_<season>`` (F1DB grand prix id, e.g. ``great-britain``)
- ``2024-08``: ``<season>-<round:02d>`` (the canonical ``race_id``)
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pitwall.errors import ValidationFailed
from pitwall.serving.championship import Standings

if TYPE_CHECKING:
    import pandas as pd

    from pitwall.data.store import Store

_GP_REF = re.compile(r"^(?P<gp>[a-z0-9][a-z0-9-]{0,62})_(?P<season>[0-9]{4})$")
RESOLVED_CACHE_SIZE = 4096
_ID_REF = re.compile(r"^(?P<season>[0-9]{4})-(?P<round>[0-9]{2})$")


@dataclass(frozen=True)
class RaceRef:
    """A resolved race."""

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


def _unknown_race(ref: str, why: str) -> ValidationFailed:
    return ValidationFailed(f"race {ref!r}: {why}", field="race", code="unknown_race", unprocessable=True)


class RaceCatalog:
    """Races, entries and standings from a Store (thread-safe, cached per season)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._races: pd.DataFrame | None = None
        self._results: dict[int, pd.DataFrame] = {}
        self._sprints: dict[int, pd.DataFrame] = {}
        self._resolved: dict[str, RaceRef] = {}

    def clear(self) -> None:
        """Forget cached tables (after new races were ingested)."""
        with self._lock:
            self._races = None
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

    def sprint_results(self, season: int) -> pd.DataFrame:
        with self._lock:
            if season not in self._sprints:
                self._sprints[season] = self.store.read("sprint_results", [season])
            return self._sprints[season]

    # --- races ----------------------------------------------------------------------------------
    def _ref(self, row: Any) -> RaceRef:
        date = row["date"]
        return RaceRef(
            season=int(row["season"]),
            round=int(row["round"]),
            race_id=str(row["race_id"]),
            grand_prix_id=None if _missing(row["grand_prix_id"]) else str(row["grand_prix_id"]),
            name=None if _missing(row["official_name"]) else str(row["official_name"]),
            date=None if _missing(date) else date.date().isoformat(),
        )

    def resolve(self, ref: str) -> RaceRef:
        """The race ``ref`` names; ValidationFailed (422, field ``race``) when there is none."""
        with self._lock:
            found = self._resolved.get(ref)
        if found is not None:
            return found
        found = self._resolve(ref)
        with self._lock:
            if len(self._resolved) < RESOLVED_CACHE_SIZE:
                self._resolved[ref] = found
        return found

    def _resolve(self, ref: str) -> RaceRef:
        races = self.races()
        if (m := _ID_REF.match(ref)) is not None:
            rows = races[races["race_id"] == ref]
            if rows.empty:
                raise _unknown_race(ref, f"no round {int(m['round'])} in season {m['season']}")
            return self._ref(rows.iloc[0])
        if (m := _GP_REF.match(ref)) is not None:
            season = int(m["season"])
            rows = races[(races["season"] == season) & (races["grand_prix_id"] == m["gp"])]
            if rows.empty:
                known = races.loc[races["season"] == season, "grand_prix_id"].dropna().tolist()
                why = f"no grand prix {m['gp']!r} in season {season}" + (
                    f" (known: {', '.join(known)})" if known else " (no races stored for that season)"
                )
                raise _unknown_race(ref, why)
            if len(rows) > 1:
                raise _unknown_race(ref, "ambiguous; use '<season>-<round>' such as " + str(rows.iloc[0]["race_id"]))
            return self._ref(rows.iloc[0])
        raise ValidationFailed(
            f"race {ref!r}: expected '<grand_prix_id>_<season>' (monaco_2024) or '<season>-<round>' (2024-08)",
            field="race",
        )

    def season_races(self, season: int) -> list[RaceRef]:
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
