"""Feature-table benchmark: full rebuild for 2014-2024, then the incremental rebuild after one new race.

Targets (issue #3): full rebuild under 30 s, one race under 2 s on a 2-core machine.
Run:  .venv/bin/python benchmarks/features.py   (reads $PITWALL_DATA or ../shared/data)

Steps: ingest all of F1DB and the FastF1 laps into a temporary store without the last race of
2024 (not timed), build every feature table for 2014-2024 (timed), ingest 2024 round 24 with the
``RaceIngested`` handler subscribed (the handler's incremental refresh, from the feature state of
2023's end, is timed on its own; best of 3), print it beside the full rebuild and a one-season
read of the input tables measured in the same run, then time reads.
Wall and CPU seconds are printed; on a shared machine the CPU figure is the steadier one.

First, the path users run (:func:`cli_new_race`): in a Pitwall home with all of F1DB, the laps and
the feature tables, one new race folder (2024 round 24) appears in the F1DB tree and
``pitwall ingest f1db`` runs as a whole process (manifest skip of the unchanged races, events on:
the feature refresh runs). Its floor, measured in the same run: a process reading one season
(2024) of every stored dataset from parquet. Goal (issue 13): <= 2 s and <= 1.5x the read.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_env import use_bytecode_cache  # benchmarks/ is on the path of a script run from it

from pitwall.config import default_data_dir
from pitwall.data.events import LocalEventBus
from pitwall.data.ingest import ingest_f1db, ingest_laps_csv
from pitwall.data.store import LocalStore
from pitwall.features import FeatureStore, build_feature_tables, race_ingested_handler, update_feature_tables
from pitwall.features.inputs import INPUT_TABLES, read_dataset
from pitwall.features.tables import BuildReport

SEASONS = list(range(2014, 2025))


class Timer:
    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:.2f} s wall ({self.cpu:.2f} s CPU)"


def hold_back_last_race(store: LocalStore) -> None:
    """Remove 2024 round 24 from every input table."""
    for name in INPUT_TABLES:
        df = read_dataset(store, name, [2024])
        store.replace_races(2024, [24], {name: df.iloc[0:0]})


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cli(args: list[str], home: Path, cpu: list[float] | None = None) -> float:
    """Wall seconds of one ``pitwall`` process; its CPU seconds (and its children's) appended to ``cpu``."""
    exe = Path(sys.executable).parent / "pitwall"
    c0, t0 = _child_cpu(), time.perf_counter()
    subprocess.run([str(exe), *args], env={**os.environ, "PITWALL_HOME": str(home)}, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    if cpu is not None:
        cpu.append(_child_cpu() - c0)
    return wall


_READ_SEASON = """
import sys
from pathlib import Path
import pyarrow.parquet as pq
n = 0
for f in sorted(Path(sys.argv[1]).glob("*/season=2024/data.parquet")):
    n += pq.ParquetFile(f).read().num_rows
print(n)
"""


def cli_new_race(tmp: Path) -> None:
    data = default_data_dir()
    src = tmp / "f1db"
    shutil.copytree(data / "f1db", src)
    race = next((src / "src/data/seasons/2024/races").glob("24-*"))
    held = tmp / race.name
    shutil.move(race, held)
    home = tmp / "home"
    _cli(["ingest", "f1db", str(src)], home)
    _cli(["ingest", "laps", str(data / "fastf1-laps")], home)
    _cli(["features", "build", "--seasons", "2014-2024"], home)
    times, floors, cpus, floor_cpus = [], [], [], []
    for attempt in range(3):
        if attempt:  # take the race out again (untimed) to repeat the measurement
            shutil.move(race, held)
            _cli(["ingest", "f1db", str(src), "--allow-removal"], home)
        shutil.move(held, race)
        times.append(_cli(["ingest", "f1db", str(src)], home, cpus))
        c0, t0 = _child_cpu(), time.perf_counter()
        subprocess.run([sys.executable, "-c", _READ_SEASON, str(home / "lake")], check=True, capture_output=True)
        floors.append(time.perf_counter() - t0)
        floor_cpus.append(_child_cpu() - c0)
    t, floor = min(times), min(floors)
    cpu, floor_cpu = min(cpus), min(floor_cpus)
    print(
        f"one new race (2024-24), CLI `pitwall ingest f1db` (ingest + feature refresh), best of 3: {t:.2f} s wall"
        f" ({cpu:.2f} s CPU)"
    )
    print(
        f"  floor: a process reading season 2024 of every stored dataset (parquet): {floor:.2f} s wall"
        f" ({floor_cpu:.2f} s CPU)"
    )
    print(f"  ratio {t / floor:.2f}x the read wall, {cpu / floor_cpu:.2f}x its CPU (goal <= 1.5x, and <= 2 s)")


def main() -> None:
    use_bytecode_cache()
    with tempfile.TemporaryDirectory() as tmp:
        cli_new_race(Path(tmp))
    data = default_data_dir()
    with tempfile.TemporaryDirectory() as tmp:
        store = LocalStore(Path(tmp) / "lake")
        with Timer() as t_ingest:
            ingest_f1db(store, data / "f1db")
            ingest_laps_csv(store, data / "fastf1-laps")
            hold_back_last_race(store)  # it arrives below
        print(f"cores: {os.cpu_count()}, load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"setup (ingest F1DB 1950-2024 + FastF1 laps, not part of the targets): {t_ingest}")

        with Timer() as t_full:
            full = build_feature_tables(store, SEASONS)
        rows = sum(n for name, n in full.rows.items() if name.startswith("features_driver"))
        print(f"full rebuild 2014-2024 ({rows:,} driver rows, {full.rows['features_laps']:,} laps): {t_full}")

        bus = LocalEventBus()
        handler = race_ingested_handler(store)
        reports: list[BuildReport | None] = []
        timers: list[Timer] = []

        def timed(event):  # type: ignore[no-untyped-def]
            with Timer() as t:
                reports.append(handler(event))
            timers.append(t)

        bus.subscribe(timed)
        totals: list[Timer] = []
        for attempt in range(3):
            if attempt:  # take the race out again (tables follow, untimed) to repeat the measurement
                hold_back_last_race(store)
                update_feature_tables(store)
            with Timer() as t_race:
                ingest_f1db(store, data / "f1db", seasons=[2024], rounds=[24], publisher=bus)
            totals.append(t_race)
            report = reports[-1]
            assert report is not None and report.seasons_written == [2024] and not bus.errors
        best = min(range(len(timers)), key=lambda i: timers[i].wall)
        print(f"one new race (2024-24), best of 3: rebuild {timers[best]}; ingest + rebuild {totals[best]}")
        print(f"  all rebuilds: {', '.join(f'{t.wall:.2f}' for t in timers)} s wall; seasons rewritten: [2024]")
        floors: list[Timer] = []
        for _ in range(3):
            with Timer() as t_floor:
                for name in INPUT_TABLES:
                    read_dataset(store, name, [2024])
            floors.append(t_floor)
        floor = min(floors, key=lambda t: t.wall)
        inc = timers[best]
        print(f"  floor: reading season 2024 of every input table (parquet, in process), best of 3: {floor}")
        print(
            f"  incremental refresh vs full rebuild 2014-2024 (same run): {inc.wall:.2f} s vs {t_full.wall:.2f} s"
            f" = {inc.wall / t_full.wall:.3f}x ({t_full.wall / inc.wall:.1f}x faster); "
            f"vs the one-season read: {inc.wall / floor.wall:.1f}x"
        )
        with Timer() as t_same:
            handler(bus.published[-1])
        print(f"same race re-announced (nothing changed, check only): {t_same}")

        fs = FeatureStore(store)
        with Timer() as t_read:
            frame = fs.get_features(seasons=(2014, 2024))
        print(f"get_features 2014-2024 from fresh tables ({len(frame):,} rows): {t_read}")


if __name__ == "__main__":
    main()
