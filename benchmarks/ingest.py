"""Ingest benchmark: full F1DB 1950-2024 history, then a single-race incremental ingest.

Targets (issue #2): full history under 20 s on a 2-core machine, one race under 1 s.
Run:  .venv/bin/python benchmarks/ingest.py   (reads $PITWALL_DATA or ../shared/data)
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from pitwall.config import default_data_dir
from pitwall.data.ingest import ingest_f1db, ingest_laps_csv
from pitwall.data.store import LocalStore


def main() -> None:
    data = default_data_dir()
    with tempfile.TemporaryDirectory() as tmp:
        store = LocalStore(Path(tmp) / "lake")
        t0 = time.perf_counter()
        full = ingest_f1db(store, data / "f1db")
        t_full = time.perf_counter() - t0
        t0 = time.perf_counter()
        laps = ingest_laps_csv(store, data / "fastf1-laps")
        t_laps = time.perf_counter() - t0
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            ingest_f1db(store, data / "f1db", seasons=[2024], rounds=[8])
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ingest_laps_csv(store, data / "fastf1-laps" / "laps_2024.csv", rounds=[8])
        t_lap_race = time.perf_counter() - t0
    print(f"cores: {os.cpu_count()}")
    print(f"full F1DB ingest 1950-2024 ({len(full.races)} races, {sum(full.rows.values()):,} rows): {t_full:.2f} s")
    print(f"FastF1 laps 2018-2024 ({laps.rows['laps']:,} rows, join {laps.join.coverage:.2%}): {t_laps:.2f} s")
    print(f"single-race incremental F1DB ingest (2024 round 8), best of 3: {min(times):.3f} s")
    print(f"single-race incremental laps ingest (2024 round 8): {t_lap_race:.3f} s")


if __name__ == "__main__":
    main()
