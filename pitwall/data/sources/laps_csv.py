"""FastF1 ``session.laps`` CSV exports (one file per season, ``laps_<season>.csv``).

Columns (see ``../shared/data/README.md``): ``Season, Time, Driver, DriverNumber, LapTime,
LapNumber, Stint, PitOutTime, PitInTime, IsPersonalBest, Compound, TyreLife, FreshTyre, Team,
TrackStatus, Position, IsAccurate, RoundNumber, EventName``. ``LapTime`` is seconds;
``Time``/``PitOutTime``/``PitInTime`` are pandas Timedelta strings.

Optional columns (FastF1 ``Laps`` has them; the bundled exports omit them, so they are null
there): ``Sector1Time``, ``Sector2Time``, ``Sector3Time`` (seconds, or pandas Timedelta
strings as ``session.laps.to_csv()`` writes them) and the speed traps ``SpeedI1``, ``SpeedI2``,
``SpeedFL``, ``SpeedST`` (km/h).

Laps are joined to F1DB drivers by season + round + car number, checked against the
three-letter code, falling back to the code alone when the number is unknown. Rows that
cannot be joined keep ``driver_id`` null and are counted in the ``JoinReport``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pitwall.data.schema import conform, race_id
from pitwall.data.validation import SourceValidationError

REQUIRED_COLUMNS = (
    "Season",
    "Time",
    "Driver",
    "DriverNumber",
    "LapTime",
    "LapNumber",
    "Stint",
    "PitOutTime",
    "PitInTime",
    "IsPersonalBest",
    "Compound",
    "TyreLife",
    "FreshTyre",
    "Team",
    "TrackStatus",
    "Position",
    "IsAccurate",
    "RoundNumber",
)
SECTOR_COLUMNS = {"Sector1Time": "sector1_time_s", "Sector2Time": "sector2_time_s", "Sector3Time": "sector3_time_s"}
SPEED_COLUMNS = {
    "SpeedI1": "speed_i1_kmh",
    "SpeedI2": "speed_i2_kmh",
    "SpeedFL": "speed_fl_kmh",
    "SpeedST": "speed_st_kmh",
}
"""Optional columns: FastF1 name -> canonical ``laps`` column (null when the file lacks the column)."""
COMPOUNDS = {"SOFT", "MEDIUM", "HARD", "INTERMEDIATE", "WET", "TEST_UNKNOWN", "UNKNOWN"}


@dataclass
class JoinReport:
    rows: int = 0
    joined: int = 0
    unjoined: dict[tuple[int, int, str], int] = field(default_factory=dict)  # (season, round, code) -> rows

    @property
    def unjoined_rows(self) -> int:
        return self.rows - self.joined

    @property
    def coverage(self) -> float:
        return self.joined / self.rows if self.rows else 1.0

    def merge(self, other: JoinReport) -> None:
        self.rows += other.rows
        self.joined += other.joined
        for k, v in other.unjoined.items():
            self.unjoined[k] = self.unjoined.get(k, 0) + v


def season_files(path: str | Path) -> list[Path]:
    """A single CSV file, or every ``laps_<season>.csv`` in a folder."""
    p = Path(path).expanduser()
    if p.is_file():
        return [p]
    files = sorted(p.glob("laps_*.csv"))
    if not files:
        raise FileNotFoundError(f"no laps_<season>.csv files in {p}")
    return files


def _fail(file: Path, df: pd.DataFrame, mask: pd.Series, fieldname: str, problem: str) -> None:
    idx = int(mask.to_numpy().nonzero()[0][0])
    # +2: 1-based, and the header line
    raise SourceValidationError(file, idx + 2, fieldname, f"{problem}: {df[fieldname].iloc[idx]!r}")


def _numeric(file: Path, df: pd.DataFrame, col: str, integer: bool = False) -> pd.Series:
    raw = df[col]
    num = pd.to_numeric(raw, errors="coerce")
    bad = num.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        _fail(file, df, bad, col, "not a number")
    if integer:
        frac = num.notna() & (num != num.round())
        if frac.any():
            _fail(file, df, frac, col, "not an integer")
        return num.astype("Int64")
    return num.astype("Float64")


def _timedelta(file: Path, df: pd.DataFrame, col: str) -> pd.Series:
    raw = df[col]
    td = pd.to_timedelta(raw, errors="coerce")
    bad = td.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        _fail(file, df, bad, col, "not a duration")
    return (td.dt.total_seconds()).astype("Float64")


def _seconds(file: Path, df: pd.DataFrame, col: str) -> pd.Series:
    """A duration given as seconds (``31.118``) or as a pandas Timedelta string."""
    raw = df[col]
    num = pd.to_numeric(raw, errors="coerce")
    td = pd.to_timedelta(raw.where(num.isna()), errors="coerce").dt.total_seconds()
    out = num.fillna(td)
    bad = out.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        _fail(file, df, bad, col, "not a duration (seconds or a Timedelta)")
    return out.astype("Float64")


def _optional(file: Path, df: pd.DataFrame) -> dict[str, pd.Series]:
    """The optional sector-time and speed-trap columns present in ``df``, parsed and checked."""
    out: dict[str, pd.Series] = {}
    for col, name in SECTOR_COLUMNS.items():
        if col in df.columns:
            sector = _seconds(file, df, col)
            neg = sector.notna() & (sector <= 0)
            if neg.any():
                _fail(file, df, neg, col, "sector time must be positive")
            out[name] = sector
    for col, name in SPEED_COLUMNS.items():
        if col in df.columns:
            speed = _numeric(file, df, col)
            neg = speed.notna() & (speed < 0)
            if neg.any():
                _fail(file, df, neg, col, "speed must not be negative")
            out[name] = speed
    return out


def _boolean(file: Path, df: pd.DataFrame, col: str) -> pd.Series:
    raw = df[col].astype("string").str.strip().str.lower()
    mapped = raw.map({"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False})
    bad = mapped.isna() & raw.notna() & (raw != "") & (raw != "nan")
    if bad.any():
        _fail(file, df, bad, col, "not a boolean")
    return mapped.astype("boolean")


def read_laps_file(file: str | Path) -> pd.DataFrame:
    """Parse and validate one export into the canonical ``laps`` table (without driver ids)."""
    file = Path(file)
    try:
        df = pd.read_csv(file, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise SourceValidationError(file, None, None, f"unreadable CSV: {exc}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise SourceValidationError(file, None, missing[0], f"missing column(s) {missing}")
    for col in ("Season", "RoundNumber", "LapNumber", "Driver"):
        empty = df[col].isna()
        if empty.any():
            _fail(file, df, empty, col, "required value is missing")
    if df.empty:
        raise SourceValidationError(file, None, None, "the file has no lap rows (an empty export is never a deletion)")
    season = _numeric(file, df, "Season", integer=True)
    file_season = re.fullmatch(r"laps_(\d{4})\.csv", file.name)
    if file_season is not None:
        other = season != int(file_season.group(1))
        if other.any():
            _fail(
                file,
                df,
                other,
                "Season",
                f"row belongs to another season than its file (season {file_season.group(1)})",
            )
    rnd = _numeric(file, df, "RoundNumber", integer=True)
    lap_time = _numeric(file, df, "LapTime")
    neg = lap_time.notna() & (lap_time <= 0)
    if neg.any():
        _fail(file, df, neg, "LapTime", "lap time must be positive")
    compound = df["Compound"].astype("string").str.strip().str.upper()
    bad_c = compound.notna() & ~compound.isin(COMPOUNDS)
    if bad_c.any():
        _fail(file, df, bad_c, "Compound", f"unknown compound (expected one of {sorted(COMPOUNDS)})")
    pit_in = _timedelta(file, df, "PitInTime")
    pit_out = _timedelta(file, df, "PitOutTime")
    status = df["TrackStatus"].astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    bad_s = status.notna() & ~status.str.fullmatch(r"[0-9]+")
    if bad_s.any():
        _fail(file, df, bad_s, "TrackStatus", "track status must be status digits")
    out = pd.DataFrame(
        {
            "season": season,
            "round": rnd,
            "race_id": [race_id(s, r) for s, r in zip(season, rnd, strict=True)],
            "driver_id": pd.NA,
            "driver_code": df["Driver"].astype("string").str.strip(),
            "driver_number": _numeric(file, df, "DriverNumber", integer=True),
            "team": df["Team"].astype("string"),
            "lap_number": _numeric(file, df, "LapNumber", integer=True),
            "lap_time_s": lap_time,
            "session_time_s": _timedelta(file, df, "Time"),
            "stint": _numeric(file, df, "Stint", integer=True),
            "compound": compound,
            "tyre_life": _numeric(file, df, "TyreLife"),
            "fresh_tyre": _boolean(file, df, "FreshTyre"),
            "pit_in_time_s": pit_in,
            "pit_out_time_s": pit_out,
            "is_pit_in_lap": pit_in.notna(),
            "is_pit_out_lap": pit_out.notna(),
            "track_status": status,
            "position": _numeric(file, df, "Position", integer=True),
            "is_accurate": _boolean(file, df, "IsAccurate"),
            "is_personal_best": _boolean(file, df, "IsPersonalBest"),
            **_optional(file, df),
        }
    )
    dup = out.duplicated(["season", "round", "driver_code", "lap_number"])
    if dup.any():
        _fail(file, df, dup, "LapNumber", "duplicate lap for this driver and race")
    return conform("laps", out)


def join_drivers(laps: pd.DataFrame, results: pd.DataFrame, drivers: pd.DataFrame) -> tuple[pd.DataFrame, JoinReport]:
    """Fill ``laps.driver_id`` from the race's F1DB entry list; report what could not be joined.

    ``results``: canonical results for the same races; ``drivers``: the drivers table.
    """
    laps = laps.copy()
    entries = results[["season", "round", "driver_id", "driver_number"]].drop_duplicates()
    entries = entries.merge(drivers[["driver_id", "abbreviation"]], on="driver_id", how="left")
    # 1) number within the race, accepted when the code agrees (or the driver has no code)
    by_num = entries.dropna(subset=["driver_number"]).drop_duplicates(["season", "round", "driver_number"], keep=False)
    m = laps[["season", "round", "driver_number", "driver_code"]].merge(
        by_num, on=["season", "round", "driver_number"], how="left"
    )
    ok = m["driver_id"].notna() & (m["abbreviation"].isna() | (m["abbreviation"] == m["driver_code"]))
    ids = m["driver_id"].where(ok)
    # 2) the code alone within the race
    by_code = entries.dropna(subset=["abbreviation"]).drop_duplicates(["season", "round", "abbreviation"], keep=False)
    m2 = laps[["season", "round", "driver_code"]].merge(
        by_code.rename(columns={"abbreviation": "driver_code"})[["season", "round", "driver_code", "driver_id"]],
        on=["season", "round", "driver_code"],
        how="left",
    )
    ids = ids.fillna(m2["driver_id"])
    laps["driver_id"] = ids.astype("string").to_numpy()
    report = JoinReport(rows=len(laps), joined=int(laps["driver_id"].notna().sum()))
    miss = laps[laps["driver_id"].isna()]
    if len(miss):
        counts = miss.groupby(["season", "round", "driver_code"]).size()
        report.unjoined = {(int(s), int(r), str(c)): int(n) for (s, r, c), n in counts.items()}
    return laps, report
