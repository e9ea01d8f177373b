"""FastF1 sector times and speed traps in the ``laps`` table: parsed when a source has them, null
when it does not, bad values rejected like any other column, and lakes written before the
columns existed still readable."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pitwall.data.schema import TABLES, conform
from pitwall.data.sources.laps_csv import REQUIRED_COLUMNS, read_laps_file
from pitwall.data.store import LocalStore
from pitwall.data.store.base import partition_key
from pitwall.data.validation import SourceValidationError

NEW = [
    "sector1_time_s",
    "sector2_time_s",
    "sector3_time_s",
    "speed_i1_kmh",
    "speed_i2_kmh",
    "speed_fl_kmh",
    "speed_st_kmh",
]


def _export(season: int = 2024, laps: int = 3, **extra: list[object]) -> pd.DataFrame:
    """A minimal FastF1-layout export with ``laps`` laps of VER, plus optional columns."""
    base: dict[str, list[object]] = {
        "Season": [season] * laps,
        "Time": [str(pd.Timedelta(seconds=3600 + 90 * i)) for i in range(1, laps + 1)],
        "Driver": ["VER"] * laps,
        "DriverNumber": [1] * laps,
        "LapTime": [90.0] * laps,
        "LapNumber": list(range(1, laps + 1)),
        "Stint": [1] * laps,
        "PitOutTime": [""] * laps,
        "PitInTime": [""] * laps,
        "IsPersonalBest": [False] * laps,
        "Compound": ["SOFT"] * laps,
        "TyreLife": list(range(1, laps + 1)),
        "FreshTyre": [True] * laps,
        "Team": ["Red Bull Racing"] * laps,
        "TrackStatus": ["1"] * laps,
        "Position": [1] * laps,
        "IsAccurate": [True] * laps,
        "RoundNumber": [5] * laps,
    }
    assert set(REQUIRED_COLUMNS) <= set(base)
    return pd.DataFrame({**base, **extra})


def _read(tmp_path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    file = tmp_path / "laps_2024.csv"
    frame.to_csv(file, index=False)
    return read_laps_file(file)


def test_an_export_without_sector_columns_reads_them_as_null(tmp_path: Path) -> None:
    laps = _read(tmp_path, _export())
    assert list(laps.columns) == TABLES["laps"].column_names
    assert laps[NEW].isna().all().all()
    assert all(str(laps[c].dtype) == "Float64" for c in NEW)


def test_sector_times_in_seconds_or_timedeltas_and_speed_traps_are_parsed(tmp_path: Path) -> None:
    laps = _read(
        tmp_path,
        _export(
            Sector1Time=["", "0 days 00:00:30.118000", 30.5],
            Sector2Time=["", 40.25, "0 days 00:00:40.100000"],
            Sector3Time=["", 19.75, 20],
            SpeedI1=[250.0, 251, ""],
            SpeedI2=[260, 261, 262],
            SpeedFL=["", 280, 281],
            SpeedST=[300, 310.5, 320],
        ),
    )
    assert laps["sector1_time_s"].tolist()[1:] == pytest.approx([30.118, 30.5])
    assert laps["sector2_time_s"].tolist()[1:] == pytest.approx([40.25, 40.1])
    assert laps["sector3_time_s"].tolist()[1:] == pytest.approx([19.75, 20.0])
    assert laps.loc[0, NEW[:3]].isna().all()  # lap 1: FastF1 has no sector-1 time from the grid
    assert laps["speed_st_kmh"].tolist() == [300.0, 310.5, 320.0]
    assert laps["speed_i1_kmh"].isna().tolist() == [False, False, True]
    assert laps["speed_fl_kmh"].tolist()[1:] == [280.0, 281.0]


@pytest.mark.parametrize(
    ("column", "values", "row", "problem"),
    [
        ("Sector1Time", [30.0, "quick", 30.0], 3, "not a duration"),
        ("Sector2Time", [40.0, 40.0, "-1"], 4, "sector time must be positive"),
        ("Sector3Time", ["0 days 00:00:00", 20.0, 20.0], 2, "sector time must be positive"),
        ("SpeedST", [300, "fast", 300], 3, "not a number"),
        ("SpeedI2", [260, 260, -3], 4, "speed must not be negative"),
    ],
)
def test_bad_sector_or_speed_values_name_row_and_field(
    tmp_path: Path, column: str, values: list[object], row: int, problem: str
) -> None:
    with pytest.raises(SourceValidationError, match=problem) as err:
        _read(tmp_path, _export(**{column: values}))
    assert (err.value.row, err.value.field) == (row, column)  # row: the file's line (header = 1)


def test_a_lake_written_before_the_columns_still_reads(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "lake")
    old = _read(tmp_path, _export()).drop(columns=NEW)
    old_file = store.root / partition_key("laps", 2023)
    old_file.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(old.assign(season=2023, race_id="2023-05"), preserve_index=False), old_file)
    new = _read(tmp_path, _export(SpeedST=[300, 301, 302], Sector1Time=["", 30.0, 30.1]))
    store.write_partitions({("laps", 2024): new})
    assert set(pq.read_schema(old_file).names).isdisjoint(NEW)  # written by an older Pitwall
    laps = store.read("laps")
    assert list(laps.columns) == TABLES["laps"].column_names
    pd.testing.assert_frame_equal(laps, conform("laps", laps))  # canonical dtypes throughout
    assert laps.loc[laps["season"] == 2023, NEW].isna().all().all()
    assert laps.loc[laps["season"] == 2024, "speed_st_kmh"].tolist() == [300.0, 301.0, 302.0]
    assert store.read("laps", [2023])[NEW].isna().all().all()
    counts = store.sql("SELECT season, count(speed_st_kmh) AS n FROM laps GROUP BY season ORDER BY season")
    assert counts["n"].tolist() == [0, 3]
