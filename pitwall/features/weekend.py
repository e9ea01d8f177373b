"""A race weekend as data arrives: what each prediction moment may see of race R.

The features of a race at moment M are computed by the same code as every historical race
(:func:`pitwall.features.compute.compute_features` through :class:`FeatureStore`), from the
inputs as they stand at M: every race before R in full, and of R itself only

- ``pre_practice``: the calendar row and the entry list (table ``entries``);
- ``pre_qualifying``: also the practice sessions;
- ``pre_race``: also qualifying and the starting grid (with penalties, as published).

R's own outcomes (results, sprint results, pit stops, fastest laps, laps) and every race after
R are never visible. A race not yet run has only what has been ingested of its weekend, so an
upcoming race and a stored race seen at the same moment give the same features.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pitwall.data.schema import race_id as make_race_id
from pitwall.features.inputs import INPUT_TABLES, FeatureInputs, race_seq
from pitwall.vocabulary import WEEKEND_MOMENTS

VISIBLE_AT: dict[str, frozenset[str]] = {
    "pre_practice": frozenset({"races", "entries"}),
    "pre_qualifying": frozenset({"races", "entries", "practice"}),
    "pre_race": frozenset({"races", "entries", "practice", "qualifying", "starting_grid"}),
}
"""The input tables whose rows of race R itself a moment may see."""

MOMENT_NOTES: dict[str, str] = {
    "pre_practice": "practice, qualifying and grid not yet known: pre-practice prediction (entry list + history)",
    "pre_qualifying": "grid not yet known: pre-qualifying prediction (entry list, practice + history)",
    "pre_race": "grid known: pre-race prediction",
}


class MomentError(ValueError):
    """A moment that is not a weekend moment, or not reached yet by the stored data."""

    def __init__(self, message: str, field: str = "moment") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def check_moment(moment: str) -> str:
    if moment not in WEEKEND_MOMENTS:
        raise MomentError(f"must be one of {', '.join(WEEKEND_MOMENTS)}; got {moment!r}")
    return moment


@dataclass(frozen=True)
class WeekendState:
    """What is stored of one race weekend."""

    race_id: str
    run: bool  # race results stored
    practice: bool
    qualifying: bool
    grid: bool
    entries: bool

    @property
    def moment(self) -> str:
        """The latest weekend moment the stored data reaches (``pre_race`` once run)."""
        if self.run or self.grid:
            return "pre_race"
        if self.practice or self.qualifying:
            return "pre_qualifying"
        return "pre_practice"


def _has(inp: FeatureInputs, table: str, rid: str) -> bool:
    df = inp[table]
    return bool(len(df)) and bool((df["race_id"].astype("string") == rid).any())


def weekend_state(inp: FeatureInputs, season: int, round_: int) -> WeekendState:
    rid = make_race_id(season, round_)
    return WeekendState(
        race_id=rid,
        run=_has(inp, "results", rid),
        practice=_has(inp, "practice", rid),
        qualifying=_has(inp, "qualifying", rid),
        grid=_has(inp, "starting_grid", rid),
        entries=_has(inp, "entries", rid),
    )


def inputs_at(inp: FeatureInputs, season: int, round_: int, moment: str) -> FeatureInputs:
    """``inp`` as it stands at ``moment`` of race (season, round): races after it removed and, of
    the race itself, only the tables :data:`VISIBLE_AT` the moment."""
    check_moment(moment)
    rid = make_race_id(season, round_)
    seq = race_seq(season, round_)
    visible = VISIBLE_AT[moment]
    out: dict[str, pd.DataFrame] = {}
    for name in INPUT_TABLES:
        df = inp[name]
        if not len(df):
            out[name] = df
            continue
        order = race_seq(df["season"], df["round"])
        keep = order < seq
        if name in visible:
            keep = keep | (df["race_id"].astype("string") == rid).fillna(False)
        out[name] = df[keep.to_numpy(dtype=bool)].reset_index(drop=True)
    return FeatureInputs(out)


EXPECTED_GRID_WINDOW = 5
"""Races of qualifying history the expected grid of an upcoming race averages."""

EXPECTED_GRID_NOTE = (
    "an expected grid stands in for the grid: each entrant's mean qualifying position over his last "
    f"{EXPECTED_GRID_WINDOW} races (none: the back); an assumption, never stored"
)


def expected_grid(inp: FeatureInputs, season: int, round_: int) -> pd.DataFrame:
    """``starting_grid`` rows for race (season, round) that is not on the grid yet: its entrants
    ordered by their mean qualifying position over their last ``EXPECTED_GRID_WINDOW`` races
    before it (drivers without qualifying history at the back, then by driver id)."""
    from pitwall.data.schema import conform

    rid = make_race_id(season, round_)
    seq = race_seq(season, round_)
    ent = inp.entrants
    ent = ent[ent["race_id"] == rid][["driver_id", "constructor_id"]].reset_index(drop=True)
    q = inp.quali
    q = q[(q["seq"] < seq) & q["quali_position"].notna() & q["driver_id"].isin(ent["driver_id"])]
    recent = q.sort_values("seq").groupby("driver_id", observed=True).tail(EXPECTED_GRID_WINDOW)
    mean = recent.groupby("driver_id", observed=True)["quali_position"].mean()
    ent["mean_quali"] = ent["driver_id"].map(mean).astype("float64")
    ent = ent.sort_values(["mean_quali", "driver_id"], na_position="last", kind="stable").reset_index(drop=True)
    rows = pd.DataFrame(
        {
            "season": season,
            "round": round_,
            "race_id": rid,
            "driver_id": ent["driver_id"].astype(str),
            "constructor_id": ent["constructor_id"],
            "driver_number": pd.NA,
            "position": range(1, len(ent) + 1),
            "position_text": [str(i) for i in range(1, len(ent) + 1)],
            "grid_penalty": pd.NA,
            "time_s": pd.NA,
        }
    )
    return conform("starting_grid", rows)


def with_expected_grids(inp: FeatureInputs, races: list[tuple[int, int]]) -> FeatureInputs:
    """``inp`` plus an :func:`expected_grid` for each of ``races`` without a stored grid."""
    tables = dict(inp.tables)
    grids = [tables["starting_grid"]]
    have = set(tables["starting_grid"]["race_id"].astype(str))
    for season, round_ in races:
        if make_race_id(season, round_) not in have:
            grids.append(expected_grid(inp, season, round_))
    if len(grids) == 1:
        return inp
    tables["starting_grid"] = pd.concat([g for g in grids if len(g)], ignore_index=True)
    return FeatureInputs(tables)
