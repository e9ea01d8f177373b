import pytest

from pitwall.data.schema import TABLES, conform, race_id
from pitwall.data.validation import SourceValidationError, parse_int, parse_position, parse_time


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1:23.456", 83.456),
        ("2:23:15.554", 2 * 3600 + 23 * 60 + 15.554),
        ("+7.152", 7.152),
        ("39:18.026", 39 * 60 + 18.026),
        ("83.5", 83.5),
        ("-0.5", -0.5),
    ],
)
def test_parse_time(text: str, seconds: float) -> None:
    assert parse_time(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", [None, "", "+1 lap", "+3 laps"])
def test_parse_time_empty_or_laps(text: str | None) -> None:
    assert parse_time(text) is None


@pytest.mark.parametrize("text", ["fast", "1:2x.3", "1::2"])
def test_parse_time_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="not a time"):
        parse_time(text)


def test_parse_position() -> None:
    assert parse_position("3") == (3, "3")
    assert parse_position("DNF") == (None, "DNF")
    assert parse_position("") == (None, None)
    with pytest.raises(ValueError):
        parse_position("first")
    with pytest.raises(ValueError):
        parse_position("0")


def test_parse_int() -> None:
    assert parse_int(" 12 ") == 12
    assert parse_int(None) is None
    with pytest.raises(ValueError, match="not an integer"):
        parse_int("1.5")


def test_error_names_file_row_field_and_survives_pickling() -> None:
    import pickle

    err = SourceValidationError("a/race-results.yml", 4, "points", "not a number: 'x'")
    assert str(err) == "a/race-results.yml, row 4, field 'points': not a number: 'x'"
    again = pickle.loads(pickle.dumps(err))
    assert (again.file, again.row, again.field) == ("a/race-results.yml", 4, "points")


def test_conform_orders_columns_and_rejects_missing_required() -> None:
    import pandas as pd

    df = conform("races", pd.DataFrame({"round": [1], "season": [2024], "race_id": [race_id(2024, 1)]}))
    assert list(df.columns) == TABLES["races"].column_names
    assert df["race_id"].iloc[0] == "2024-01"
    with pytest.raises(ValueError, match="required column 'race_id'"):
        conform("races", pd.DataFrame({"round": [1], "season": [2024]}))
