"""Race-grouped splits: k-fold, holdout, expanding windows and walk-forward steps.

Split functions return positional indices (for ``data.iloc``). Every split keeps the rows of
one race (``group_col``) on one side. Time order is ``(season, round)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pitwall.ml.dataset import check_race_keys, race_table
from pitwall.ml.errors import MLInputError

Split = tuple[np.ndarray, np.ndarray]
WALK_FORWARD_MODES = ("expanding", "season_start")


# ---------------------------------------------------------------------------------------
def _positions(data: pd.DataFrame, group_col: str, races: Sequence[Any] | np.ndarray) -> np.ndarray:
    return np.flatnonzero(data[group_col].isin(list(races)).to_numpy())


def group_kfold(data: pd.DataFrame, n_splits: int = 5, group_col: str = "race_id", seed: int = 0) -> list[Split]:
    """K folds of whole races, assigned at random (seeded), each race in exactly one test fold."""
    check_race_keys(data, group_col)
    races = race_table(data, group_col)[group_col].to_numpy()
    if isinstance(n_splits, bool) or not isinstance(n_splits, int) or n_splits < 2:
        raise MLInputError(f"cv_folds: must be an integer >= 2, got {n_splits!r}")
    if n_splits > len(races):
        raise MLInputError(f"cv_folds: {n_splits} folds need at least {n_splits} races; data has {len(races)}")
    shuffled = races[np.random.default_rng(seed).permutation(len(races))]
    out: list[Split] = []
    for chunk in np.array_split(shuffled, n_splits):
        test = _positions(data, group_col, chunk)
        train = np.setdiff1d(np.arange(len(data)), test, assume_unique=True)
        out.append((train, test))
    return out


def holdout_split(data: pd.DataFrame, last_n_races: int = 5, group_col: str = "race_id") -> Split:
    """Train on everything before the last ``last_n_races`` races (by time), test on those."""
    check_race_keys(data, group_col)
    races = race_table(data, group_col)[group_col].to_numpy()
    if isinstance(last_n_races, bool) or not isinstance(last_n_races, int) or last_n_races < 1:
        raise MLInputError(f"last_n_races: must be a positive integer, got {last_n_races!r}")
    if last_n_races >= len(races):
        raise MLInputError(f"last_n_races: {last_n_races} leaves no training race; data has {len(races)} races")
    test = _positions(data, group_col, races[-last_n_races:])
    return np.setdiff1d(np.arange(len(data)), test, assume_unique=True), test


def latest_season_split(data: pd.DataFrame, group_col: str = "race_id") -> Split:
    """Train on every season before the latest one, test on the whole latest season (every race
    of it predicted by a model that saw none of it)."""
    check_race_keys(data, group_col)
    seasons = data["season"].to_numpy()
    latest = seasons.max() if len(seasons) else None
    if latest is None or (seasons < latest).sum() == 0:
        raise MLInputError("seasons: the latest-season evaluation needs at least two seasons of data")
    test = np.flatnonzero(seasons == latest)
    return np.flatnonzero(seasons < latest), test


def expanding_window_splits(
    data: pd.DataFrame,
    n_splits: int = 5,
    test_races: int | None = None,
    min_train_races: int = 1,
    group_col: str = "race_id",
) -> list[Split]:
    """Time-series splits: fold i tests on a block of ``test_races`` consecutive races and
    trains on every race before that block. Blocks are the last ``n_splits * test_races``
    races; ``test_races`` defaults to ``n_races // (n_splits + 1)``."""
    check_race_keys(data, group_col)
    races = race_table(data, group_col)[group_col].to_numpy()
    n = len(races)
    if isinstance(n_splits, bool) or not isinstance(n_splits, int) or n_splits < 1:
        raise MLInputError(f"n_splits: must be a positive integer, got {n_splits!r}")
    block = test_races if test_races is not None else n // (n_splits + 1)
    if block < 1:
        raise MLInputError(f"n_splits: {n_splits} splits need at least {n_splits + 1} races; data has {n}")
    first_test = n - n_splits * block
    if first_test < max(1, min_train_races):
        raise MLInputError(
            f"n_splits: {n_splits} blocks of {block} races leave {max(first_test, 0)} training races "
            f"before the first block; need {max(1, min_train_races)}"
        )
    out: list[Split] = []
    for i in range(n_splits):
        start = first_test + i * block
        out.append(
            (_positions(data, group_col, races[:start]), _positions(data, group_col, races[start : start + block]))
        )
    return out


@dataclass(frozen=True)
class WalkForwardStep:
    """One backtest step: the race predicted and the rows trained on (positions in data)."""

    race_id: Any
    season: int
    round: int
    train: np.ndarray
    test: np.ndarray
    train_races: int


def walk_forward_splits(
    data: pd.DataFrame,
    season: int,
    mode: str = "expanding",
    min_train_races: int = 10,
    rounds: Sequence[int] | None = None,
    group_col: str = "race_id",
) -> Iterator[WalkForwardStep]:
    """The steps of a walk-forward backtest over the races of ``season`` (in round order).

    ``expanding``: each race is predicted from every race strictly before it in time.
    ``season_start``: every race is predicted from the races of earlier seasons only.
    Races with fewer than ``min_train_races`` training races are skipped.
    """
    check_race_keys(data, group_col)
    if mode not in WALK_FORWARD_MODES:
        raise MLInputError(f"mode: must be one of {', '.join(WALK_FORWARD_MODES)}, got {mode!r}")
    races = race_table(data, group_col)
    target = races[races["season"] == season]
    if rounds is not None:
        target = target[target["round"].isin(list(rounds))]
    if target.empty:
        raise MLInputError(f"season: no races of season {season!r} (rounds {rounds!r}) in the data")
    seasons = data["season"].to_numpy()
    rounds_arr = data["round"].to_numpy()
    group = data[group_col].to_numpy()
    for race in target.itertuples(index=False):
        r_season, r_round, r_id = int(race.season), int(race.round), getattr(race, group_col)
        if mode == "expanding":
            before = (seasons < r_season) | ((seasons == r_season) & (rounds_arr < r_round))
        else:
            before = seasons < r_season
        train = np.flatnonzero(before)
        n_races = int(pd.unique(group[train]).size)
        if n_races < min_train_races:
            continue
        yield WalkForwardStep(r_id, r_season, r_round, train, np.flatnonzero(group == r_id), n_races)
