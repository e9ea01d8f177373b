"""Race-grouped and time-ordered splits on an in-memory frame with shuffled rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pitwall.ml.errors import MLInputError
from pitwall.ml.splits import (
    expanding_window_splits,
    group_kfold,
    holdout_split,
    latest_season_split,
    walk_forward_splits,
)


@pytest.fixture
def races() -> pd.DataFrame:
    rows = [
        {"season": s, "round": r, "race_id": f"{s}-{r:02d}", "driver_id": f"d{d}", "x": float(d)}
        for s in (2022, 2023)
        for r in range(1, 9)
        for d in range(5)
    ]
    df = pd.DataFrame(rows)
    return df.sample(frac=1.0, random_state=7).reset_index(drop=True)  # time order must not matter


def _key(df: pd.DataFrame, idx: np.ndarray) -> set[tuple[int, int]]:
    return set(zip(df["season"].iloc[idx], df["round"].iloc[idx], strict=True))


def test_group_kfold_keeps_races_whole_and_covers_each_once(races: pd.DataFrame) -> None:
    folds = group_kfold(races, n_splits=4, seed=1)
    seen: list[str] = []
    for train, test in folds:
        assert set(races["race_id"].iloc[train]).isdisjoint(races["race_id"].iloc[test])
        assert len(train) + len(test) == len(races)
        seen.extend(races["race_id"].iloc[test].unique())
    assert sorted(seen) == sorted(races["race_id"].unique())
    assert [t.tolist() for _, t in folds] == [t.tolist() for _, t in group_kfold(races, n_splits=4, seed=1)]
    assert [t.tolist() for _, t in folds] != [t.tolist() for _, t in group_kfold(races, n_splits=4, seed=2)]


def test_holdout_takes_the_last_races_in_time(races: pd.DataFrame) -> None:
    train, test = holdout_split(races, last_n_races=3)
    assert _key(races, test) == {(2023, 6), (2023, 7), (2023, 8)}
    assert max(_key(races, train)) == (2023, 5)
    with pytest.raises(MLInputError, match="last_n_races"):
        holdout_split(races, last_n_races=16)


def test_latest_season_split_tests_the_whole_latest_season(races: pd.DataFrame) -> None:
    train, test = latest_season_split(races)
    assert _key(races, test) == {(2023, r) for r in range(1, 9)}
    assert _key(races, train) == {(2022, r) for r in range(1, 9)}
    with pytest.raises(MLInputError, match="two seasons"):
        latest_season_split(races[races["season"] == 2023])


def test_expanding_windows_train_strictly_before_test(races: pd.DataFrame) -> None:
    splits = expanding_window_splits(races, n_splits=3, test_races=2)
    assert len(splits) == 3
    previous_train = 0
    for train, test in splits:
        assert max(_key(races, train)) < min(_key(races, test))
        assert len(train) > previous_train
        previous_train = len(train)
    assert max(_key(races, splits[-1][1])) == (2023, 8)


def test_walk_forward_splits_expanding_and_season_start(races: pd.DataFrame) -> None:
    steps = list(walk_forward_splits(races, season=2023, mode="expanding", min_train_races=9))
    assert [s.round for s in steps] == [2, 3, 4, 5, 6, 7, 8]  # round 1 has only 8 earlier races
    for s in steps:
        assert max(_key(races, s.train)) < (s.season, s.round)
        assert _key(races, s.test) == {(s.season, s.round)}
        assert s.train_races == 8 + s.round - 1
    starts = list(walk_forward_splits(races, season=2023, mode="season_start", min_train_races=8))
    assert all(max(_key(races, s.train)) == (2022, 8) for s in starts)
    with pytest.raises(MLInputError, match="mode"):
        list(walk_forward_splits(races, season=2023, mode="rolling"))
    with pytest.raises(MLInputError, match="season"):
        list(walk_forward_splits(races, season=2019))


def test_splits_reject_a_race_id_with_two_dates(races: pd.DataFrame) -> None:
    races.loc[0, "round"] = 99
    with pytest.raises(MLInputError, match="several"):
        group_kfold(races, n_splits=2)
