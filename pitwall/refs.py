"""The one parser of season ranges and the one parser of race references.

Standard library only (the lean API Lambda and the training image import it). CLI, SDK, feature
store, API and serving all parse through these functions, so ``--seasons 2014-2023`` on the command
line, ``seasons=(2014, 2023)`` in Python and ``"seasons": [2014, 2023]`` over HTTP mean the same.

Season ranges (:func:`parse_seasons`, :func:`parse_season_range`) accept exactly:

- an int year: ``2024``
- a string: ``"2024"``, ``"2014-2023"`` (inclusive), or a comma list of those, ``"2018,2020-2021"``
  (spaces around the parts are ignored)
- a ``(first, last)`` tuple of two int years, inclusive: ``(2014, 2023)``
- a ``range`` of years with step 1: ``range(2014, 2024)`` (= 2014..2023)
- a list (or set, or other iterable that is not a tuple) of int years: ``[2018, 2020]``

Years are ints in 1950..2100 (``bool`` is not a year); a range must not end before it starts and
a window must not be empty. Bad input raises :class:`RefError` (a ``ValueError`` and a 400
``ValidationFailed``) whose message starts with the field name.

Race references (:func:`parse_race_ref`) accept exactly:

- ``"2024-08"``: ``<season>-<round>``, the canonical ``race_id`` (round with one or two digits)
- ``"monaco_2024"``: ``<grand_prix_id>_<season>``, the F1DB grand prix id (lower case, digits
  and hyphens, e.g. ``great-britain_2024``)
- ``"next"``: the next race on the calendar that has not started yet
- season + round: a ``(2024, 8)`` tuple or a mapping ``{"season": 2024, "round": 8}``
- an already parsed :class:`RaceRef` (returned as is)

:func:`resolve_race_ref` finds the race a reference names among the rows of the ``races`` table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pitwall.errors import ValidationFailed

MIN_SEASON = 1950
MAX_SEASON = 2100
MAX_ROUND = 99

NEXT_RACE = "next"
RACE_ID_PATTERN = r"[0-9]{4}-[0-9]{1,2}"
GRAND_PRIX_REF_PATTERN = r"[a-z0-9][a-z0-9-]{0,62}_[0-9]{4}"
RACE_REF_PATTERN = rf"^(?:{GRAND_PRIX_REF_PATTERN}|{RACE_ID_PATTERN}|{NEXT_RACE})$"
"""The string forms of a race reference, as one regular expression (for request schemas)."""

_RACE_ID = re.compile(r"^(?P<season>[0-9]{4})-(?P<round>[0-9]{1,2})$")
_GRAND_PRIX = re.compile(r"^(?P<gp>[a-z0-9][a-z0-9-]{0,62})_(?P<season>[0-9]{4})$")
_SEASON_PART = re.compile(r"^\s*(?P<lo>[0-9]{4})\s*(?:-\s*(?P<hi>[0-9]{4})\s*)?$")

SEASONS_FORMS = "a year (2024), a range '2014-2023', a (first, last) tuple, a range() or a list of years"


class RefError(ValidationFailed, ValueError):
    """A season range or race reference that does not parse (HTTP 400); ``field`` names the input."""

    def __init__(self, message: str, *, field: str, unprocessable: bool = False) -> None:
        super().__init__(f"{field}: {message}", field=field, unprocessable=unprocessable)


# --- seasons --------------------------------------------------------------------------------------
def _year(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RefError(f"{value!r} is not a year", field=field)
    if not MIN_SEASON <= value <= MAX_SEASON:
        raise RefError(f"must be between {MIN_SEASON} and {MAX_SEASON}; got {value}", field=field)
    return value


def _span(lo: int, hi: int, field: str) -> list[int]:
    if lo > hi:
        raise RefError(f"range '{lo}-{hi}' ends before it starts", field=field)
    return list(range(lo, hi + 1))


def _parse_text(text: str, field: str) -> list[int]:
    if not text.strip():
        raise RefError(f"empty; expected {SEASONS_FORMS}", field=field)
    years: list[int] = []
    for part in text.split(","):
        m = _SEASON_PART.match(part)
        if m is None:
            raise RefError(
                f"expected a season, a range like 2014-2023 or a comma list of those; got {text!r}", field=field
            )
        lo = _year(int(m["lo"]), field)
        hi = _year(int(m["hi"]), field) if m["hi"] else lo
        years.extend(_span(lo, hi, field))
    return years


def parse_seasons(value: Any, *, field: str = "seasons") -> list[int]:
    """The sorted, distinct seasons ``value`` names (forms in the module docstring).

    ``None`` is not a window: callers that give ``None`` a meaning ("all stored seasons") decide
    that before calling.
    """
    if value is None:
        raise RefError(f"missing; expected {SEASONS_FORMS}", field=field)
    if isinstance(value, str):
        years = _parse_text(value, field)
    elif isinstance(value, bool):
        raise RefError(f"expected {SEASONS_FORMS}; got {value!r}", field=field)
    elif isinstance(value, int):
        years = [_year(value, field)]
    elif isinstance(value, tuple):
        if len(value) != 2:
            raise RefError(f"a tuple is an inclusive (first, last) pair; got {value!r}", field=field)
        years = _span(_year(value[0], field), _year(value[1], field), field)
    elif isinstance(value, range):
        if value.step != 1:
            raise RefError(f"a range of seasons must have step 1; got {value!r}", field=field)
        years = [_year(y, field) for y in value]
    elif isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise RefError(f"expected {SEASONS_FORMS}; got {value!r}", field=field)
    else:
        years = [_year(v, field) for v in value]
    if not years:
        raise RefError(f"empty window {value!r}: it holds no season", field=field)
    return sorted(set(years))


def parse_season_range(value: Any, *, field: str = "seasons") -> tuple[int, int]:
    """The inclusive ``(first, last)`` window ``value`` names; the seasons must be consecutive.

    Same forms as :func:`parse_seasons`; ``"2018,2020"`` or ``[2018, 2020]`` (a gap) is refused.
    """
    years = parse_seasons(value, field=field)
    if years[-1] - years[0] + 1 != len(years):
        gaps = sorted(set(range(years[0], years[-1] + 1)) - set(years))
        raise RefError(f"{value!r} is not a consecutive range of seasons (missing {gaps})", field=field)
    return years[0], years[-1]


# --- races ----------------------------------------------------------------------------------------
RaceRefKind = Literal["race_id", "grand_prix", "next"]


@dataclass(frozen=True)
class RaceRef:
    """A parsed race reference (not yet checked against the calendar).

    ``kind`` is ``race_id`` (season and round known), ``grand_prix`` (season and grand prix id
    known) or ``next`` (nothing known until resolved).
    """

    kind: RaceRefKind
    season: int | None = None
    round: int | None = None
    grand_prix_id: str | None = None

    @property
    def race_id(self) -> str | None:
        """``<season>-<round:02d>`` when season and round are known."""
        if self.season is None or self.round is None:
            return None
        return f"{self.season}-{self.round:02d}"

    def __str__(self) -> str:
        if self.kind == "next":
            return NEXT_RACE
        if self.kind == "grand_prix":
            return f"{self.grand_prix_id}_{self.season}"
        return str(self.race_id)


def _round(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ROUND:
        raise RefError(f"round must be an int between 1 and {MAX_ROUND}; got {value!r}", field=field)
    return value


RACE_REF_FORMS = "'2024-08' (season-round), 'monaco_2024' (grand prix id + season), 'next' or (season, round)"


def parse_race_ref(value: Any, *, field: str = "race") -> RaceRef:
    """The :class:`RaceRef` ``value`` spells (forms in the module docstring)."""
    if isinstance(value, RaceRef):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text == NEXT_RACE:
            return RaceRef(kind="next")
        if (m := _RACE_ID.match(text)) is not None:
            return RaceRef(kind="race_id", season=_year(int(m["season"]), field), round=_round(int(m["round"]), field))
        if (m := _GRAND_PRIX.match(text)) is not None:
            return RaceRef(kind="grand_prix", season=_year(int(m["season"]), field), grand_prix_id=m["gp"])
        raise RefError(f"expected {RACE_REF_FORMS}; got {value!r}", field=field)
    if isinstance(value, Mapping) and set(value) == {"season", "round"}:
        return RaceRef(kind="race_id", season=_year(value["season"], field), round=_round(value["round"], field))
    if isinstance(value, tuple) and len(value) == 2:
        return RaceRef(kind="race_id", season=_year(value[0], field), round=_round(value[1], field))
    raise RefError(f"expected {RACE_REF_FORMS}; got {value!r}", field=field)


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    if hasattr(value, "date") and callable(value.date):  # datetime / pandas Timestamp (NaT: not a date)
        try:
            value = value.date()
        except (TypeError, ValueError):
            return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        return date.fromisoformat(value[:10])
    return None


def resolve_race_ref(
    ref: RaceRef | Any, races: Iterable[Mapping[str, Any]], *, today: date | None = None, field: str = "race"
) -> Mapping[str, Any]:
    """The row of ``races`` (dicts with ``season``, ``round``, ``grand_prix_id``, ``date``) ``ref`` names.

    ``next`` is the first race (by date, then season and round) dated ``today`` or later
    (default: today's UTC date). An unknown race raises :class:`RefError` with HTTP 422
    (``code`` ``unknown_race``); an ambiguous grand prix reference (two races of one grand prix
    in a season) asks for ``<season>-<round>``.
    """
    parsed = parse_race_ref(ref, field=field)
    rows = list(races)

    def unknown(why: str) -> RefError:
        err = RefError(f"{str(parsed)!r}: {why}", field=field, unprocessable=True)
        err.code = "unknown_race"
        return err

    if parsed.kind == "race_id":
        found = [r for r in rows if int(r["season"]) == parsed.season and int(r["round"]) == parsed.round]
        if not found:
            raise unknown(f"no round {parsed.round} in season {parsed.season}")
        return found[0]
    if parsed.kind == "grand_prix":
        season_rows = [r for r in rows if int(r["season"]) == parsed.season]
        found = [r for r in season_rows if r.get("grand_prix_id") == parsed.grand_prix_id]
        if not found:
            known = sorted({str(r["grand_prix_id"]) for r in season_rows if isinstance(r.get("grand_prix_id"), str)})
            raise unknown(
                f"no grand prix {parsed.grand_prix_id!r} in season {parsed.season}"
                + (f" (known: {', '.join(known)})" if known else " (no races stored for that season)")
            )
        if len(found) > 1:
            first = found[0]
            raise unknown(f"ambiguous; use '<season>-<round>' such as {int(first['season'])}-{int(first['round']):02d}")
        return found[0]
    day = today or date.today()
    upcoming = [(d, int(r["season"]), int(r["round"]), i) for i, r in enumerate(rows) if (d := _as_date(r.get("date")))]
    upcoming = [u for u in upcoming if u[0] >= day]
    if not upcoming:
        raise unknown(f"no race on the stored calendar on or after {day.isoformat()}")
    return rows[min(upcoming)[3]]
