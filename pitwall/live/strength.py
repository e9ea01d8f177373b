"""Pre-race strength of each entrant, known before the race starts: the form of the driver's team.

``pre_race_strength`` = the mean points per car the driver's constructor scored in its previous
``FORM_RACES`` Grands Prix (F1DB ``results``, races strictly before this one, across the season
boundary). The driver's constructor is the one of their entry in this race when the race is stored,
else the one of their latest earlier race (a live race is not stored yet).

It is the live race-result template's pre-race input (with the grid slot): chosen on the 2021-2023
validation seasons, it is what lets the in-race model tell a front-runner that lost places at the
start from a midfield car that gained them (``pitwall.live.template``).

Replays and local OpenF1 streams compute it from the store; the cloud poller has no store and reads
the table ``pitwall live upload`` writes next to the models (``strength_doc``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the cloud poller imports this module without pandas (``strengths_of``)
    import pandas as pd

FORM_RACES = 6


def team_form(results: pd.DataFrame, season: int, round_: int) -> dict[int, float]:
    """Driver number -> the team's mean points per car over its previous ``FORM_RACES`` races.

    ``results``: F1DB results (``season``, ``round``, ``driver_number``, ``constructor_id``,
    ``points``) of at least the season before ``season`` and the races of ``season`` before ``round_``."""
    if results is None or not len(results):
        return {}
    res = results[results["driver_number"].notna() & results["constructor_id"].notna()]
    order = res["season"].astype(int) * 1000 + res["round"].astype(int)
    here = int(season) * 1000 + int(round_)
    entry = res[order == here]
    earlier = res[order < here].assign(_order=order[order < here])
    team_of: dict[int, str] = {}
    for n, c in zip(
        earlier.sort_values("_order")["driver_number"], earlier.sort_values("_order")["constructor_id"], strict=True
    ):
        team_of[int(n)] = str(c)  # the latest earlier entry (sorted ascending)
    for n, c in zip(entry["driver_number"], entry["constructor_id"], strict=True):
        team_of[int(n)] = str(c)  # this race's own entry, when stored
    per_race = (
        earlier.assign(points=earlier["points"].astype(float).fillna(0.0))
        .groupby(["constructor_id", "_order"])["points"]
        .mean()
        .reset_index()
        .sort_values("_order")
    )
    form = {str(c): float(g["points"].tail(FORM_RACES).mean()) for c, g in per_race.groupby("constructor_id")}
    return {n: round(form.get(team, 0.0), 6) for n, team in sorted(team_of.items())}


def strength_doc(results: pd.DataFrame, season: int, round_: int) -> dict[str, Any]:
    """The strengths of one race as the JSON the cloud poller reads (``strengths.json``)."""
    return {
        "season": int(season),
        "round": int(round_),
        "rule": f"team's mean points per car over its previous {FORM_RACES} Grands Prix",
        "by_driver_number": {str(n): v for n, v in team_form(results, season, round_).items()},
    }


def strengths_of(doc: Mapping[str, Any] | None, season: int | None) -> dict[int, float]:
    """Driver number -> strength from a ``strength_doc`` (empty when it is for another season)."""
    if not doc or season is None or int(doc.get("season", -1)) != int(season):
        return {}
    return {int(n): float(v) for n, v in (doc.get("by_driver_number") or {}).items()}


def upcoming_race(races: pd.DataFrame, results: pd.DataFrame | None) -> tuple[int, int] | None:
    """(season, round) of the first race of ``races`` without stored results."""
    if races is None or not len(races):
        return None
    done: set[tuple[int, int]] = set()
    if results is not None and len(results):
        done = set(zip(results["season"].astype(int), results["round"].astype(int), strict=True))
    for season, round_ in sorted(zip(races["season"].astype(int), races["round"].astype(int), strict=True)):
        if (season, round_) not in done:
            return season, round_
    return None
