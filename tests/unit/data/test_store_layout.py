"""The one lake layout (pitwall.data.store.base): keys, prefixes, parsing (no I/O)."""

from __future__ import annotations

import fnmatch

import pytest

from pitwall.data.store import (
    PARTITION_LAYOUT,
    REFERENCE_LAYOUT,
    Partition,
    parse_key,
    partition_glob,
    partition_key,
    partition_prefix,
    seasons_in,
)


def test_keys_prefixes_and_globs() -> None:
    assert partition_key("results", 2024) == "results/season=2024/data.parquet"
    assert partition_key("drivers") == "drivers/data.parquet"
    assert partition_prefix("results") == "results/"
    assert partition_prefix("results", 2024) == "results/season=2024/"
    assert fnmatch.fnmatch(partition_key("laps", 2019), partition_glob("laps"))
    assert not fnmatch.fnmatch(partition_key("laps"), partition_glob("laps"))
    assert PARTITION_LAYOUT == "<dataset>/season=<YYYY>/data.parquet"
    assert REFERENCE_LAYOUT == "<dataset>/data.parquet"


@pytest.mark.parametrize(
    ("dataset", "season"),
    [("results", 1950), ("driver_features_pre_race", 2024), ("drivers", None), ("t2", 2100)],
)
def test_parse_key_reads_back_every_key(dataset: str, season: int | None) -> None:
    assert parse_key(partition_key(dataset, season)) == Partition(dataset, season)


@pytest.mark.parametrize(
    "key",
    [
        "_staging/abc/new/races/season=2023/data.parquet",
        ".staging/abc/races/season=2023/data.parquet",
        "races/season=23/data.parquet",
        "races/season=2023/notes.txt",
        "races/2023/data.parquet",
        "Races/data.parquet",
        "races/season=2023/extra/data.parquet",
        "data.parquet",
    ],
)
def test_parse_key_ignores_what_is_not_layout(key: str) -> None:
    assert parse_key(key) is None


@pytest.mark.parametrize("dataset", ["Bad Name", "1races", "races/x", ""])
def test_partition_key_refuses_names_the_layout_cannot_read_back(dataset: str) -> None:
    with pytest.raises(ValueError, match="^dataset: "):
        partition_key(dataset, 2024)


def test_seasons_in() -> None:
    keys = [
        "races/season=2022/data.parquet",
        "races/season=2021/data.parquet",
        "results/season=2020/data.parquet",
        "races/data.parquet",
        "_staging/x/races/season=2019/data.parquet",
    ]
    assert seasons_in(keys, "races") == [2021, 2022]
    assert seasons_in(keys, "laps") == []
