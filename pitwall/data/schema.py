"""Canonical tables: names, columns, types and keys.

Every source (F1DB YAML, FastF1 laps CSV exports, live FastF1) produces these tables and
nothing else. Ids are stable: F1DB ids for drivers, constructors and circuits; races are
identified by ``season`` + ``round`` and the derived ``race_id`` string ``"2024-08"``.

Times are stored as float seconds (``*_s``); positions as nullable integers where a driver
can be unclassified, with the original text kept in ``position_text`` ("DNF", "DSQ", ...).

Race-scoped tables are partitioned by ``season`` in the Store (one parquet object per
season and table, key ``<table>/season=<YYYY>/data.parquet``); reference tables are single
objects (``<table>/data.parquet``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # pandas dtype name: "string", "Int64", "Float64", "boolean", "datetime64[ns]"
    doc: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    race_scoped: bool = True  # partitioned by season, replaced race by race

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def dtypes(self) -> dict[str, str]:
        return {c.name: c.dtype for c in self.columns}


def race_id(season: int, round_: int) -> str:
    """Stable race id: ``"2024-08"`` for season 2024, round 8."""
    return f"{int(season)}-{int(round_):02d}"


_RACE_KEY = (
    Column("season", "Int64", "championship year", nullable=False),
    Column("round", "Int64", "round number within the season", nullable=False),
    Column("race_id", "string", "'<season>-<round:02d>'", nullable=False),
)
_ENTRY = (
    Column("driver_id", "string", "F1DB driver id", nullable=False),
    Column("constructor_id", "string", "F1DB constructor id"),
    Column("driver_number", "Int64", "car number in this race"),
)


def _t(name: str, doc: str, cols: tuple[Column, ...], key: tuple[str, ...], race_scoped: bool = True) -> Table:
    return Table(name, doc, cols, key, race_scoped)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        _t(
            "races",
            "one row per Grand Prix",
            _RACE_KEY
            + (
                Column("f1db_race_id", "Int64", "F1DB numeric race id"),
                Column("date", "datetime64[ns]", "race day"),
                Column("grand_prix_id", "string", "F1DB grand prix id, e.g. 'monaco'"),
                Column("official_name", "string", "official event name"),
                Column("circuit_id", "string", "F1DB circuit id"),
                Column("circuit_type", "string", "RACE / STREET / ROAD"),
                Column("course_length_km", "Float64", "lap length in km"),
                Column("turns", "Int64", "number of corners"),
                Column("scheduled_laps", "Int64", "race distance in laps"),
                Column("distance_km", "Float64", "race distance in km"),
                Column("qualifying_format", "string", "F1DB qualifying format"),
                Column("has_sprint", "boolean", "weekend includes a sprint race"),
            ),
            ("season", "round"),
        ),
        _t(
            "results",
            "race classification",
            _RACE_KEY
            + _ENTRY
            + (
                Column("position", "Int64", "finishing position; null when not classified"),
                Column("position_text", "string", "as published: '1', 'DNF', 'DSQ', 'NC', ..."),
                Column("position_order", "Int64", "order in the published classification (1..n)"),
                Column("grid_position", "Int64", "starting position; null for pit-lane/no start"),
                Column("pit_lane_start", "boolean", "started from the pit lane"),
                Column("laps", "Int64", "laps completed"),
                Column("time_s", "Float64", "race time of the winner / own time when given"),
                Column("gap_s", "Float64", "gap to the winner in seconds (null for lapped cars)"),
                Column("points", "Float64", "championship points scored"),
                Column("reason_retired", "string", "retirement reason, when retired"),
                Column("finished", "boolean", "classified finisher"),
            ),
            ("season", "round", "position_order"),
        ),
        _t(
            "sprint_results",
            "sprint race classification",
            _RACE_KEY
            + _ENTRY
            + (
                Column("position", "Int64", "finishing position; null when not classified"),
                Column("position_text", "string", "as published"),
                Column("position_order", "Int64", "order in the classification"),
                Column("grid_position", "Int64", "sprint starting position"),
                Column("laps", "Int64", "laps completed"),
                Column("time_s", "Float64", "sprint time"),
                Column("gap_s", "Float64", "gap to the sprint winner"),
                Column("points", "Float64", "points scored"),
                Column("reason_retired", "string", "retirement reason"),
                Column("finished", "boolean", "classified finisher"),
            ),
            ("season", "round", "driver_id"),
        ),
        _t(
            "qualifying",
            "qualifying classification",
            _RACE_KEY
            + _ENTRY
            + (
                Column("position", "Int64", "qualifying position"),
                Column("position_text", "string", "as published"),
                Column("q1_s", "Float64", "Q1 time (or the single-session time)"),
                Column("q2_s", "Float64", "Q2 time"),
                Column("q3_s", "Float64", "Q3 time"),
                Column("best_s", "Float64", "best time over all parts"),
                Column("laps", "Int64", "laps run"),
            ),
            ("season", "round", "driver_id"),
        ),
        _t(
            "starting_grid",
            "official starting grid (after penalties)",
            _RACE_KEY
            + _ENTRY
            + (
                Column("position", "Int64", "grid slot; null for pit-lane starts"),
                Column("position_text", "string", "as published ('PL' = pit lane)"),
                Column("grid_penalty", "string", "penalty text"),
                Column("time_s", "Float64", "qualifying time that set the slot"),
            ),
            ("season", "round", "driver_id"),
        ),
        _t(
            "entries",
            "entry list: the drivers entered for each race (F1DB season entrants.yml)",
            _RACE_KEY + _ENTRY,
            ("season", "round", "driver_id"),
        ),
        _t(
            "practice",
            "free practice classifications",
            _RACE_KEY
            + (Column("session", "Int64", "practice session number 1..4", nullable=False),)
            + _ENTRY
            + (
                Column("position", "Int64", "position in the session"),
                Column("position_text", "string", "as published"),
                Column("time_s", "Float64", "best lap"),
                Column("laps", "Int64", "laps run"),
            ),
            ("season", "round", "session", "driver_id"),
        ),
        _t(
            "pit_stops",
            "pit stops with pit-lane time",
            _RACE_KEY
            + _ENTRY
            + (
                Column("stop", "Int64", "stop number for the driver", nullable=False),
                Column("lap", "Int64", "lap of the stop"),
                Column("time_s", "Float64", "pit-lane time in seconds (red-flag stops can be minutes)"),
            ),
            ("season", "round", "driver_id", "stop"),
        ),
        _t(
            "fastest_laps",
            "fastest lap of each driver in the race",
            _RACE_KEY
            + _ENTRY
            + (
                Column("position", "Int64", "rank of the driver's fastest lap"),
                Column("lap", "Int64", "lap number"),
                Column("time_s", "Float64", "lap time"),
            ),
            ("season", "round", "driver_id"),
        ),
        _t(
            "laps",
            "lap-by-lap race data (FastF1)",
            _RACE_KEY
            + (
                Column("driver_id", "string", "F1DB driver id; null when the join failed"),
                Column("driver_code", "string", "three-letter code from the timing feed"),
                Column("driver_number", "Int64", "car number from the timing feed"),
                Column("team", "string", "team name from the timing feed"),
                Column("lap_number", "Int64", "lap number", nullable=False),
                Column("lap_time_s", "Float64", "lap time"),
                Column("session_time_s", "Float64", "session time at the end of the lap"),
                Column("stint", "Int64", "stint number"),
                Column("compound", "string", "SOFT/MEDIUM/HARD/INTERMEDIATE/WET"),
                Column("tyre_life", "Float64", "laps on this set of tyres"),
                Column("fresh_tyre", "boolean", "set was new at fitting"),
                Column("pit_in_time_s", "Float64", "session time of pit entry on this lap"),
                Column("pit_out_time_s", "Float64", "session time of pit exit on this lap"),
                Column("is_pit_in_lap", "boolean", "driver entered the pits this lap"),
                Column("is_pit_out_lap", "boolean", "driver left the pits this lap"),
                Column("track_status", "string", "FastF1 status digits seen during the lap"),
                Column("position", "Int64", "running position at the end of the lap"),
                Column("is_accurate", "boolean", "FastF1 accuracy flag"),
                Column("is_personal_best", "boolean", "personal best lap so far"),
                # FastF1's sector times and speed traps: null when not timed or when the source lacks them
                # (the bundled FastF1 exports omit them; live FastF1 downloads carry them)
                Column("sector1_time_s", "Float64", "sector 1 time (FastF1 Sector1Time)"),
                Column("sector2_time_s", "Float64", "sector 2 time (FastF1 Sector2Time)"),
                Column("sector3_time_s", "Float64", "sector 3 time (FastF1 Sector3Time)"),
                Column("speed_i1_kmh", "Float64", "speed at the sector-1 speed trap, km/h (FastF1 SpeedI1)"),
                Column("speed_i2_kmh", "Float64", "speed at the sector-2 speed trap, km/h (FastF1 SpeedI2)"),
                Column("speed_fl_kmh", "Float64", "speed at the finish line, km/h (FastF1 SpeedFL)"),
                Column("speed_st_kmh", "Float64", "speed at the long-straight speed trap, km/h (FastF1 SpeedST)"),
            ),
            ("season", "round", "driver_code", "lap_number"),
        ),
        _t(
            "weather",
            "weather samples during the race (live FastF1 only)",
            _RACE_KEY
            + (
                Column("session_time_s", "Float64", "session time of the sample", nullable=False),
                Column("air_temp_c", "Float64", "air temperature"),
                Column("track_temp_c", "Float64", "track temperature"),
                Column("humidity_pct", "Float64", "relative humidity"),
                Column("pressure_mbar", "Float64", "air pressure"),
                Column("rainfall", "boolean", "rain detected"),
                Column("wind_speed_ms", "Float64", "wind speed"),
                Column("wind_direction_deg", "Float64", "wind direction"),
            ),
            ("season", "round", "session_time_s"),
        ),
        _t(
            "drivers",
            "drivers (F1DB)",
            (
                Column("driver_id", "string", "F1DB id", nullable=False),
                Column("name", "string", "display name"),
                Column("first_name", "string", "first name"),
                Column("last_name", "string", "last name"),
                Column("abbreviation", "string", "three-letter code"),
                Column("permanent_number", "Int64", "permanent car number"),
                Column("date_of_birth", "datetime64[ns]", "date of birth"),
                Column("nationality_country_id", "string", "F1DB country id"),
            ),
            ("driver_id",),
            race_scoped=False,
        ),
        _t(
            "constructors",
            "constructors (F1DB)",
            (
                Column("constructor_id", "string", "F1DB id", nullable=False),
                Column("name", "string", "display name"),
                Column("full_name", "string", "full name"),
                Column("country_id", "string", "F1DB country id"),
            ),
            ("constructor_id",),
            race_scoped=False,
        ),
        _t(
            "circuits",
            "circuits (F1DB)",
            (
                Column("circuit_id", "string", "F1DB id", nullable=False),
                Column("name", "string", "display name"),
                Column("full_name", "string", "full name"),
                Column("type", "string", "RACE / STREET / ROAD"),
                Column("direction", "string", "CLOCKWISE / ANTI_CLOCKWISE"),
                Column("country_id", "string", "F1DB country id"),
                Column("latitude", "Float64", "latitude"),
                Column("longitude", "Float64", "longitude"),
                Column("length_km", "Float64", "current layout length"),
                Column("turns", "Int64", "current layout corners"),
            ),
            ("circuit_id",),
            race_scoped=False,
        ),
    )
}

RACE_TABLES = [t for t, spec in TABLES.items() if spec.race_scoped]
REFERENCE_TABLES = [t for t, spec in TABLES.items() if not spec.race_scoped]


def conform(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with exactly the table's columns, in order, with the canonical dtypes.

    Missing nullable columns are added as nulls; a missing non-nullable column or a null in
    one raises ``ValueError`` naming the table and the column.
    """
    spec = TABLES[table]
    columns: dict[str, pd.Series] = {}
    for col in spec.columns:
        if col.name in df.columns:
            series = df[col.name]
        elif col.nullable or len(df) == 0:
            series = pd.Series(pd.NA, index=df.index, dtype="object")
        else:
            raise ValueError(f"table {table!r}: required column {col.name!r} is missing")
        if col.dtype.startswith("datetime"):
            typed = pd.to_datetime(series, errors="raise").astype("datetime64[ns]")
        else:
            typed = series.astype(col.dtype)
        if not col.nullable and typed.isna().any():
            raise ValueError(f"table {table!r}: column {col.name!r} has null values")
        columns[col.name] = typed
    return pd.DataFrame(columns, index=df.index).reset_index(drop=True)


def empty(table: str) -> pd.DataFrame:
    """An empty frame with the table's canonical columns and dtypes."""
    return conform(table, pd.DataFrame())
