"""Ingestion: sources -> canonical tables -> Store, incremental, idempotent, atomic, validated.

- ``ingest_f1db``: everything, some seasons, or some rounds of one season.
- ``ingest_laps_csv``: FastF1 lap exports, joined to F1DB drivers (coverage reported).
- ``ingest_frames``: any source's already-parsed race tables (used by the live FastF1 source).

Every source file is parsed and validated before anything is written; each season (or race)
is then committed as one unit by the Store. One summary ``RaceIngested`` event per ingest
run lists the committed races (``pitwall.data.events.one_event_per_run``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pitwall.data.events import Publisher, RaceIngested, one_event_per_run
from pitwall.data.ingest_state import (
    Manifest,
    fingerprint,
    finish_run,
    incomplete_runs,
    ingest_lock,
    season_done,
    season_span,
    start_run,
)
from pitwall.data.schema import TABLES
from pitwall.data.sources import f1db, laps_csv
from pitwall.data.sources.laps_csv import JoinReport
from pitwall.data.store import Store, partition_key
from pitwall.data.validation import SourceValidationError

Progress = Callable[[str, int, int], None]  # (label, done, total)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@dataclass
class IngestReport:
    source: str
    races: list[tuple[int, int]] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    join: JoinReport | None = None
    skipped: int = 0
    """Source units (F1DB races, lap files) left as stored because they are unchanged since the last ingest."""

    def add_rows(self, tables: dict[str, pd.DataFrame]) -> None:
        for name, df in tables.items():
            self.rows[name] = self.rows.get(name, 0) + len(df)

    def summary(self) -> str:
        seasons = sorted({s for s, _ in self.races})
        span = f" (season{'s' if len(seasons) > 1 else ''} {season_span(seasons)})" if seasons else ""
        parts = [f"{self.source}: {_count(len(self.races), 'race')}{span} in {self.seconds:.1f}s"]
        if self.skipped:
            unit = "race" if self.source == "f1db" else "file"
            parts[0] += f"; {_count(self.skipped, 'unchanged ' + unit)} skipped (--force rewrites them)"
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
    races = sorted({(int(s), int(r)) for s, r in zip(key_df["season"], key_df["round"], strict=True)})
    counts = {name: _race_counts(df) for name, df in tables.items()}  # one pass per table, not per race
    for season, rnd in races:
        rows = {name: per_race.get((season, rnd), 0) for name, per_race in counts.items()}
        publisher.publish(RaceIngested(season, rnd, f"{season}-{rnd:02d}", source, rows))


def _race_counts(df: pd.DataFrame) -> dict[tuple[int, int], int]:
    """Rows per (season, round) of a race-scoped table (one ``np.unique`` of a combined integer key)."""
    if not len(df):
        return {}
    seq = df["season"].to_numpy(dtype="int64") * 1000 + df["round"].to_numpy(dtype="int64")
    keys, counts = np.unique(seq, return_counts=True)
    return {(int(k) // 1000, int(k) % 1000): int(n) for k, n in zip(keys, counts, strict=True)}


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
    _check_grid_in_results(by_key, tables)
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


def _check_grid_in_results(by_key: dict[tuple[int, int], Path], tables: dict[str, pd.DataFrame]) -> None:
    """Every car on a race's starting grid is classified in its results (a truncated results file is not)."""
    grid, res = tables["starting_grid"], tables["results"]
    if not len(grid):
        return
    classified = set(
        zip(res["season"].astype(int), res["round"].astype(int), res["driver_id"].astype(str), strict=True)
    )
    keys = zip(grid["season"].astype(int), grid["round"].astype(int), grid["driver_id"].astype(str), strict=True)
    with_results = {k[:2] for k in classified}  # an upcoming race (no results yet) has nothing to disagree with
    missing = [k for k in keys if k[:2] in with_results and k not in classified]
    if missing:
        season, rnd, driver = missing[0]
        n = sum(1 for k in missing if k[:2] == (season, rnd))
        race_dir = by_key[(season, rnd)]
        raise SourceValidationError(
            race_dir / "race-results.yml",
            None,
            "driverId",
            f"{n} driver(s) of {race_dir / 'starting-grid-positions.yml'} are not in the results, e.g. {driver!r}: "
            "the two files of this race disagree (truncated results?)",
        )


@one_event_per_run
def ingest_f1db(
    store: Store,
    root: str | Path,
    seasons: Iterable[int] | None = None,
    rounds: Iterable[int] | None = None,
    publisher: Publisher | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    force: bool = False,
    allow_removal: bool = False,
) -> IngestReport:
    """Ingest an F1DB source tree: all seasons, some ``seasons``, or ``rounds`` of one season.

    Whole seasons replace their season partitions; single rounds replace exactly those races.
    Re-ingesting the same source is idempotent, and cheap: race folders whose files (name, size,
    mtime) match the manifest of the last ingest, into a season the store still holds unchanged,
    are skipped; a changed folder re-ingests only its race. ``force`` rewrites everything given.

    Stored races that have no folder in the source any more are an error unless ``allow_removal``.
    One ingest at a time per store (:func:`pitwall.data.ingest_state.ingest_lock`).
    """
    with ingest_lock(store):
        return _ingest_f1db(store, root, seasons, rounds, publisher, workers, progress, force, allow_removal)


def _ingest_f1db(
    store: Store,
    root: str | Path,
    seasons: Iterable[int] | None,
    rounds: Iterable[int] | None,
    publisher: Publisher | None,
    workers: int | None,
    progress: Progress | None,
    force: bool,
    allow_removal: bool,
) -> IngestReport:
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
    data = f1db.resolve_root(root)
    manifest = Manifest(store)
    stored_seasons = set(store.seasons("races"))
    tokens = store.versions("races")
    by_season: dict[int, list[f1db.RaceDir]] = {}
    for race in races:
        by_season.setdefault(race.season, []).append(race)
    shrunk = (
        _check_removals(store, data, by_season, stored_seasons, allow_removal, manifest, tokens)
        if round_set is None
        else set()
    )

    # which races to (re)write: new or changed folders, or seasons the store no longer holds as ingested
    prints = {r.race_id: fingerprint([r.path]) for r in races}
    todo: list[f1db.RaceDir] = []
    for season, season_races in by_season.items():
        token = tokens.get(partition_key("races", season))
        for r in season_races:
            seen = manifest.get("f1db", r.race_id)
            if (
                force
                or season in shrunk
                or seen is None
                or seen.get("files") != prints[r.race_id]
                or seen.get("store") != token
            ):
                todo.append(r)
    ref_print = fingerprint([data / "drivers", data / "constructors", data / "circuits"])
    ref_seen = manifest.get("f1db", "reference")
    ref_stored = all(store.versions(name) for name in ("drivers", "constructors", "circuits"))
    ref_fresh = force or not ref_stored or ref_seen is None or ref_seen.get("files") != ref_print
    if not todo and not ref_fresh:
        report.seconds = time.perf_counter() - start
        report.skipped = len(races)
        return report
    if ref_fresh:
        ref = f1db.read_reference(root)
        # reference tables are committed with the first validated season, so a source that fails
        # validation leaves every stored table as it was
        pending_ref = {(name, None): df for name, df in ref.items()}
        report.add_rows(ref)
    else:
        ref = {name: store.read(name) for name in ("drivers", "constructors", "circuits")}
        pending_ref = {}
    report.skipped = len(races) - len(todo)
    todo_seasons = sorted({r.season for r in todo})
    start_run(store, "f1db", todo_seasons)
    total = len(todo)
    done = 0
    for season, season_races, tables in f1db.iter_seasons(todo, workers=workers):
        _check_references(season_races, tables, ref)
        whole = round_set is None and len(season_races) == len(by_season[season])
        if whole:
            store.write_partitions({**pending_ref, **{(name, season): df for name, df in tables.items()}})
        else:
            if pending_ref:
                store.write_partitions(pending_ref)
            store.replace_races(season, [r.round for r in season_races], tables)
        if pending_ref:
            manifest.put("f1db", "reference", files=ref_print)
        pending_ref = {}
        token = store.versions("races").get(partition_key("races", season))
        for r in by_season[season]:
            if r in season_races or manifest.get("f1db", r.race_id) is not None:
                manifest.put("f1db", r.race_id, files=prints[r.race_id], store=token)
        manifest.save()
        season_done(store, "f1db", season)
        report.races += [(r.season, r.round) for r in season_races]
        report.add_rows(tables)
        _publish(publisher, "f1db", tables)
        done += len(season_races)
        if progress:
            progress(f"season {season}", done, total)
    if pending_ref:  # every race was unchanged, only the reference entities were not
        store.write_partitions(pending_ref)
        manifest.put("f1db", "reference", files=ref_print)
        manifest.save()
    finish_run(store, "f1db")
    report.races.sort()  # seasons are committed as they are parsed, not in order
    report.seconds = time.perf_counter() - start
    return report


def _check_removals(
    store: Store,
    data: Path,
    by_season: dict[int, list[f1db.RaceDir]],
    stored_seasons: set[int],
    allow_removal: bool,
    manifest: Manifest,
    tokens: dict[str, str],
) -> set[int]:
    """A stored race with no folder in the source is removed only when asked to (``allow_removal``).

    The stored races of a season come from the manifest while the season's stored partition is the
    one the manifest recorded (no read), else from the store. Returns the seasons that lose races.
    """
    shrunk: set[int] = set()
    by_token: dict[int, set[int]] = {}
    for unit, entry in manifest.units("f1db").items():
        season_s, _, round_s = unit.partition("-")
        if season_s.isdigit() and round_s.isdigit():
            token = tokens.get(partition_key("races", int(season_s)))
            if token is not None and entry.get("store") == token:
                by_token.setdefault(int(season_s), set()).add(int(round_s))
    for season, season_races in by_season.items():
        if season not in stored_seasons:
            continue
        if season in by_token:
            stored_rounds = by_token[season]
        else:
            stored_rounds = {int(x) for x in store.read("races", [season])["round"]}
        present = {r.round for r in season_races}
        gone = sorted(x for x in stored_rounds if x not in present)
        if gone and allow_removal:
            shrunk.add(season)
        elif gone:
            ids = ", ".join(f"{season}-{r:02d}" for r in gone)
            raise SourceValidationError(
                data / "seasons" / str(season) / "races",
                None,
                None,
                f"stored race(s) {ids} have no folder here; ingesting would delete them "
                "(pass --allow-removal to remove races on purpose)",
            )
    return shrunk


@one_event_per_run
def ingest_laps_csv(
    store: Store,
    path: str | Path,
    seasons: Iterable[int] | None = None,
    rounds: Iterable[int] | None = None,
    publisher: Publisher | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> IngestReport:
    """Ingest FastF1 lap exports (a file or a folder of ``laps_<season>.csv``).

    Needs the season's F1DB results in the store for the driver join; unjoined rows are kept
    with a null ``driver_id`` and counted in ``report.join``. A whole file unchanged since the
    last ingest (same size and mtime, same stored partitions) is skipped unless ``force``.
    """
    with ingest_lock(store):
        return _ingest_laps_csv(store, path, seasons, rounds, publisher, progress, force)


def _ingest_laps_csv(
    store: Store,
    path: str | Path,
    seasons: Iterable[int] | None,
    rounds: Iterable[int] | None,
    publisher: Publisher | None,
    progress: Progress | None,
    force: bool,
) -> IngestReport:
    start = time.perf_counter()
    report = IngestReport(source="laps-csv", join=JoinReport())
    wanted = set(seasons) if seasons is not None else None
    round_set = {int(r) for r in rounds} if rounds is not None else None
    files = laps_csv.season_files(path)
    manifest = Manifest(store)
    laps_tokens = store.versions("laps")
    results_tokens = store.versions("results")
    drivers: pd.DataFrame | None = None
    for i, file in enumerate(files, start=1):
        unit = file.name
        files_print = fingerprint([file])
        seen = manifest.get("laps-csv", unit)
        whole_file = wanted is None and round_set is None
        if (
            whole_file
            and not force
            and seen is not None
            and seen.get("files") == files_print
            and all(laps_tokens.get(k) == v for k, v in seen.get("store", {}).items())
            and all(results_tokens.get(k) == v for k, v in seen.get("results", {}).items())
        ):
            report.skipped += 1
            if progress:
                progress(file.name, i, len(files))
            continue
        if drivers is None:
            drivers = store.read("drivers")
        laps = laps_csv.read_laps_file(file)
        written: list[int] = []
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
            written.append(season)
            report.races += sorted({(season, int(r)) for r in joined["round"]})
            report.add_rows({"laps": joined})
            _publish(publisher, "laps-csv", {"laps": joined})
        if whole_file:
            now_laps, now_results = store.versions("laps"), store.versions("results")
            keys = [partition_key("laps", s) for s in written]
            rkeys = [partition_key("results", s) for s in written]
            manifest.put(
                "laps-csv",
                unit,
                files=files_print,
                store={k: now_laps.get(k) for k in keys},
                results={k: now_results.get(k) for k in rkeys},
            )
        else:
            manifest.drop("laps-csv", unit)
        manifest.save()
        if progress:
            progress(file.name, i, len(files))
    report.seconds = time.perf_counter() - start
    return report


@one_event_per_run
def ingest_data_dir(
    store: Store, root: str | Path, publisher: Publisher | None = None
) -> tuple[IngestReport, IngestReport]:
    """Ingest a data folder laid out like ``../shared/data``: ``f1db/`` and then ``fastf1-laps/``."""
    root = Path(root)
    with ingest_lock(store):
        return ingest_f1db(store, root / "f1db", publisher=publisher), ingest_laps_csv(
            store, root / "fastf1-laps", publisher=publisher
        )


@one_event_per_run
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
    with ingest_lock(store):
        store.replace_races(season, rounds, tables)
    report = IngestReport(source=source, races=[(season, r) for r in rounds])
    report.add_rows(tables)
    _publish(publisher, source, tables)
    report.seconds = time.perf_counter() - start
    return report


def data_warnings(store: Store) -> list[str]:
    """What ``pitwall data status`` must warn about: ingests that started and never finished."""
    return incomplete_runs(store)


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
