"""pitwall.refs: the one season-range parser and the one race-reference parser (no I/O)."""

from __future__ import annotations

from datetime import date

import pytest

from pitwall.errors import ValidationFailed
from pitwall.refs import (
    RACE_REF_PATTERN,
    RaceRef,
    RefError,
    parse_race_ref,
    parse_season_range,
    parse_seasons,
    resolve_race_ref,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2014-2023", (2014, 2023)),
        (" 2014 - 2023 ", (2014, 2023)),
        ("2024", (2024, 2024)),
        (2024, (2024, 2024)),
        ((2018, 2020), (2018, 2020)),
        (range(2014, 2024), (2014, 2023)),
        ([2020, 2019, 2021], (2019, 2021)),
        ({2022, 2023}, (2022, 2023)),
        ("2018-2019,2020", (2018, 2020)),
    ],
)
def test_season_range_forms(value: object, expected: tuple[int, int]) -> None:
    assert parse_season_range(value) == expected


def test_parse_seasons_keeps_gaps_and_sorts() -> None:
    assert parse_seasons("2018,2020-2021") == [2018, 2020, 2021]
    assert parse_seasons([2024, 2018, 2024]) == [2018, 2024]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ([], "empty window"),
        (range(2020, 2020), "empty window"),
        (range(2014, 2024, 2), "step 1"),
        ("2023-2021", "range '2023-2021' ends before it starts"),
        ((2020, 2018), "ends before it starts"),
        ("recent", "expected a season, a range like 2014-2023"),
        ("2014-", "expected a season"),
        ("1900", "must be between 1950 and 2100; got 1900"),
        ([2018, "2019"], "'2019' is not a year"),
        ([2018, True], "True is not a year"),
        (True, "expected a year"),
        (2.5, "expected a year"),
        ((2018, 2019, 2020), "(first, last) pair"),
        ({"first": 2018}, "expected a year"),
        (None, "missing"),
        ([2018, 2020], "not a consecutive range of seasons (missing [2019])"),
    ],
)
def test_bad_season_ranges_name_the_field(value: object, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_season_range(value, field="train_seasons")
    assert isinstance(err.value, RefError) and isinstance(err.value, ValidationFailed)
    assert err.value.field == "train_seasons" and err.value.http_status == 400
    assert str(err.value).startswith("train_seasons: ") and message in str(err.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-08", RaceRef(kind="race_id", season=2024, round=8)),
        ("2024-8", RaceRef(kind="race_id", season=2024, round=8)),
        ("monaco_2024", RaceRef(kind="grand_prix", season=2024, grand_prix_id="monaco")),
        ("great-britain_2023", RaceRef(kind="grand_prix", season=2023, grand_prix_id="great-britain")),
        ("next", RaceRef(kind="next")),
        ((2024, 8), RaceRef(kind="race_id", season=2024, round=8)),
        ({"season": 2024, "round": 8}, RaceRef(kind="race_id", season=2024, round=8)),
    ],
)
def test_race_ref_forms(value: object, expected: RaceRef) -> None:
    ref = parse_race_ref(value)
    assert ref == expected
    assert parse_race_ref(ref) is ref
    assert parse_race_ref(str(ref)) == ref  # str() spells a form the parser reads back


def test_race_ref_race_id_and_pattern() -> None:
    import re

    assert parse_race_ref("2024-8").race_id == "2024-08"
    assert parse_race_ref("next").race_id is None
    for text in ("2024-08", "monaco_2024", "next"):
        assert re.match(RACE_REF_PATTERN, text)
    for text in ("Monaco_2024", "2024_08", "nextt", ""):
        assert not re.match(RACE_REF_PATTERN, text)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Monaco 2024", "expected '2024-08'"),
        ("2024-00", "round must be an int between 1 and 99"),
        ("1900-01", "must be between 1950 and 2100"),
        ((2024, 0), "round must be"),
        ((2024, True), "round must be"),
        ({"season": 2024}, "expected '2024-08'"),
        (20240, "expected '2024-08'"),
        (None, "expected '2024-08'"),
    ],
)
def test_bad_race_refs_name_the_field(value: object, message: str) -> None:
    with pytest.raises(RefError, match="^race: ") as err:
        parse_race_ref(value)
    assert err.value.field == "race" and message in str(err.value)


RACES = [
    {"season": 2024, "round": 7, "grand_prix_id": "emilia-romagna", "date": "2024-05-19"},
    {"season": 2024, "round": 8, "grand_prix_id": "monaco", "date": "2024-05-26"},
    {"season": 2024, "round": 9, "grand_prix_id": "canada", "date": "2024-06-09"},
    {"season": 2020, "round": 3, "grand_prix_id": "austria", "date": "2020-07-05"},
    {"season": 2020, "round": 4, "grand_prix_id": "austria", "date": "2020-07-12"},
]


def test_resolve_against_race_rows() -> None:
    assert resolve_race_ref("monaco_2024", RACES)["round"] == 8
    assert resolve_race_ref((2024, 9), RACES)["grand_prix_id"] == "canada"
    assert resolve_race_ref("next", RACES, today=date(2024, 5, 20))["round"] == 8
    assert resolve_race_ref("next", RACES, today=date(2024, 5, 26))["round"] == 8  # race day: still next
    assert resolve_race_ref("next", RACES, today=date(2020, 1, 1))["round"] == 3


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("2024-30", "no round 30 in season 2024"),
        ("atlantis_2024", "no grand prix 'atlantis' in season 2024 (known: canada, emilia-romagna, monaco)"),
        ("monaco_2031", "no races stored for that season"),
        ("austria_2020", "ambiguous; use '<season>-<round>' such as 2020-03"),
        ("next", "no race on the stored calendar on or after 2025-01-01"),
    ],
)
def test_unresolvable_refs_are_unprocessable(ref: str, message: str) -> None:
    with pytest.raises(RefError) as err:
        resolve_race_ref(ref, RACES, today=date(2025, 1, 1))
    assert err.value.http_status == 422 and err.value.code == "unknown_race" and err.value.field == "race"
    assert message in str(err.value)
