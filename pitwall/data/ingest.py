"""Ingestion: sources -> canonical tables -> Store, incremental, idempotent, atomic, validated.

- ``ingest_f1db``: everything, some seasons, or some rounds of one season.
- ``ingest_laps_csv``: FastF1 lap exports, joined to F1DB drivers (coverage reported).
- ``ingest_frames``: any source's already-parsed race tables (used by the live FastF1 source).

Every source file is parsed and validated before anything is written; each season (or race)
is then committed as one unit by the Store. After each committed race a ``RaceIngested``
event is published.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pitwall.data.events import Publisher, RaceIngested
from pitwall.data.schema import TABLES
from pitwall.data.sources import f1db, laps_csv
from pitwall.data.sources.laps_csv import JoinReport
from pitwall.data.store import Store
from pitwall.data.validation import SourceValidationError

Progress = Callable[[str, int, int], None]  # (label, done, total)


@dataclass
class IngestReport:
    source: str
    races: list[tuple[int, int]] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    join: JoinReport | None = None

    def add_rows(self, tables: dict[str, pd.DataFrame]) -> None:
        for name, df in tables.items():
            self.rows[name] = self.rows.get(name, 0) + len(df)

    def summary(self) -> str:
        seasons = sorted({s for s, _ in self.races})
        span = f"{seasons[0]}-{seasons[-1]}" if seasons else "none"
        parts = [f"{self.source}: {len(self.races)} races (seasons {span}) in {self.seconds:.1f}s"]
        parts += [f"  {t}: {n:,} rows" for t, n in sorted(self.rows.items())]
        if self.join is not None:
            parts.append(
                f"  laps joined to F1DB drivers: {self.join.joined:,}/{self.join.rows:,} "
                f"({self.join.coverage:.2%}); unjoined rows: {self.join.unjoined_rows:,}"
            )
        return "\n".join(parts)


def _publish(publisher: Publisher | None, source: str, tables: dict[str, pd.DataFrame]) -> None:
    if publisher is None:
        return
    key_df = tables.get("races")
    if key_df is None:
        key_df = next(iter(tables.values()))
    for (season, rnd), _ in key_df.groupby(["season", "round"], sort=True):
        counts = {name: int(((df["season"] == season) & (df["round"] == rnd)).sum()) for name, df in tables.items()}
        publisher.publish(RaceIngested(int(season), int(rnd), f"{int(season)}-{int(rnd):02d}", source, counts))


def _check_references(races: list[f1db.RaceDir], tables: dict[str, pd.DataFrame], ref: dict[str, pd.DataFrame]) -> None:
    """Cross-file consistency: every id used by a race exists among the reference entities."""
    by_key = {(r.season, r.round): r.path for r in races}
    known_drivers = set(ref["drivers"]["driver_id"])
    known_circuits = set(ref["circuits"]["circuit_id"])
    known_constructors = set(ref["constructors"]["constructor_id"])
    res = tables["results"]
    bad = res[
        ~res["driver_id"].isin(known_drivers)
        | (res["constructor_id"].notna() & ~res["constructor_id"].isin(known_constructors))
    ]
    if len(bad):
        row = bad.iloc[0]
        field_ = "driverId" if row["driver_id"] not in known_drivers else "constructorId"
        value = row["driver_id"] if field_ == "driverId" else row["constructor_id"]
        raise SourceValidationError(
            by_key[(int(row["season"]), int(row["round"]))] / "race-results.yml",
            int(row["position_order"]),
            field_,
            f"unknown id {value!r} (not in the F1DB reference entities)",
        )
    rc = tables["races"]
    bad = rc[~rc["circuit_id"].isin(known_circuits)]
    if len(bad):
        row = bad.iloc[0]
        raise SourceValidationError(
            by_key[(int(row["season"]), int(row["round"]))] / "race.yml",
            1,
            "circuitId",
            f"unknown circuit {row['circuit_id']!r}",
        )


def ingest_f1db(
    store: Store,
    root: str | Path,
    seasons: Iterable[int] | None = None,
    rounds: Iterable[int] | None = None,
    publisher: Publisher | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest an F1DB source tree: all seasons, some ``seasons``, or ``rounds`` of one season.

    Whole seasons replace their season partitions; single rounds replace exactly those races.
    Re-ingesting the same source is idempotent.
    """
    start = time.perf_counter()
    report = IngestReport(source="f1db")
    season_list = sorted(set(seasons)) if seasons is not None else None
    round_set = sorted({int(r) for r in rounds}) if rounds is not None else None
    if round_set is not None and (season_list is None or len(season_list) != 1):
        raise ValueError("rounds: give exactly one season when selecting rounds")
    races = f1db.list_races(root, season_list)
    if round_set is not None:
        races = [r for r in races if r.round in round_set]
        missing = sorted(set(round_set) - {r.round for r in races})
        if missing:
            raise ValueError(f"rounds: season {season_list[0]} has no round(s) {missing} in {root}")
    if not races:
        raise ValueError(f"seasons: no races found for {season_list} in {root}")
    ref = f1db.read_reference(root)
    # reference tables are committed with the first validated season, so a source that fails
    # validation leaves every stored table as it was
    pending_ref = {(name, None): df for name, df in ref.items()}
    report.add_rows(ref)
    total = len(races)
    done = 0
    for season, season_races, tables in f1db.iter_seasons(races, workers=workers):
        _check_references(season_races, tables, ref)
        if round_set is None:
            store.write_partitions({**pending_ref, **{(name, season): df for name, df in tables.items()}})
        else:
            if pending_ref:
                store.write_partitions(pending_ref)
            store.replace_races(season, [r.round for r in season_races], tables)
        pending_ref = {}
        report.races += [(r.season, r.round) for r in season_races]
        report.add_rows(tables)
        _publish(publisher, "f1db", tables)
        done += len(season_races)
        if progress:
            progress(f"season {season}", done, total)
    report.seconds = time.perf_counter() - start
    return report


def ingest_laps_csv(
    store: Store,
    path: str | Path,
    seasons: Iterable[int] | None = None,
    rounds: Iterable[int] | None = None,
    publisher: Publisher | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest FastF1 lap exports (a file or a folder of ``laps_<season>.csv``).

    Needs the season's F1DB results in the store for the driver join; unjoined rows are kept
    with a null ``driver_id`` and counted in ``report.join``.
    """
    start = time.perf_counter()
    report = IngestReport(source="laps-csv", join=JoinReport())
    wanted = set(seasons) if seasons is not None else None
    round_set = {int(r) for r in rounds} if rounds is not None else None
    drivers = store.read("drivers")
    files = laps_csv.season_files(path)
    for i, file in enumerate(files, start=1):
        laps = laps_csv.read_laps_file(file)
        for season, part in laps.groupby("season", sort=True):
            season = int(season)
            if wanted is not None and season not in wanted:
                continue
            if round_set is not None:
                part = part[part["round"].astype(int).isin(round_set)]
                if part.empty:
                    continue
            results = store.read("results", [season])
            joined, join = laps_csv.join_drivers(part.reset_index(drop=True), results, drivers)
            assert report.join is not None
            report.join.merge(join)
            if round_set is None:
                store.write_partitions({("laps", season): joined})
            else:
                store.replace_races(season, sorted(set(joined["round"].astype(int))), {"laps": joined})
            report.races += sorted({(season, int(r)) for r in joined["round"]})
            report.add_rows({"laps": joined})
            _publish(publisher, "laps-csv", {"laps": joined})
        if progress:
            progress(file.name, i, len(files))
    report.seconds = time.perf_counter() - start
    return report


def ingest_data_dir(
    store: Store, root: str | Path, publisher: Publisher | None = None
) -> tuple[IngestReport, IngestReport]:
    """Ingest a data folder laid out like ``../shared/data``: ``f1db/`` and then ``fastf1-laps/``."""
    root = Path(root)
    return ingest_f1db(store, root / "f1db", publisher=publisher), ingest_laps_csv(
        store, root / "fastf1-laps", publisher=publisher
    )


def ingest_frames(
    store: Store,
    source: str,
    season: int,
    rounds: Iterable[int],
    tables: dict[str, pd.DataFrame],
    publisher: Publisher | None = None,
) -> IngestReport:
    """Write already-parsed canonical race tables for some rounds of one season."""
    start = time.perf_counter()
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise ValueError(f"tables: unknown canonical table(s) {sorted(unknown)}")
    rounds = sorted({int(r) for r in rounds})
    store.replace_races(season, rounds, tables)
    report = IngestReport(source=source, races=[(season, r) for r in rounds])
    report.add_rows(tables)
    _publish(publisher, source, tables)
    report.seconds = time.perf_counter() - start
    return report


def data_status(store: Store) -> pd.DataFrame:
    """One row per stored dataset: seasons, races and rows."""
    rows = []
    for ds in store.datasets():
        spec = TABLES.get(ds)
        if spec is not None and not spec.race_scoped:
            n = int(store.sql(f'SELECT count(*) AS n FROM "{ds}"')["n"].iloc[0])
            rows.append({"dataset": ds, "seasons": "", "races": None, "rows": n})
            continue
        df = store.sql(
            f"SELECT min(season) AS lo, max(season) AS hi, count(DISTINCT season) AS ns, "
            f'count(DISTINCT (season, "round")) AS nr, count(*) AS n FROM "{ds}"'
        )
        r = df.iloc[0]
        rows.append(
            {
                "dataset": ds,
                "seasons": f"{int(r['lo'])}-{int(r['hi'])} ({int(r['ns'])})" if r["n"] else "",
                "races": int(r["nr"]),
                "rows": int(r["n"]),
            }
        )
    return pd.DataFrame(rows, columns=["dataset", "seasons", "races", "rows"]).astype({"races": "Int64"})
