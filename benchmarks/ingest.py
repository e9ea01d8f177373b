"""Ingest benchmark: the CLI as users run it, beside its floor measured in the same run.

- ``pitwall ingest f1db`` (whole process, events on: the feature refresh and other 'race ingested'
  subscribers run) of the full F1DB 1950-2024 history into a fresh Pitwall home;
- its floor: a 2-process PyYAML (C base loader) parse of the same files, best of one run before and one
  after the fresh ingest (the machine's load drifts; goal: CLI <= 1.5x floor); CPU seconds are printed too;
- the same command again on the unchanged source (manifest skip; goal: <= 0.2x the fresh ingest);
- the library path (``ingest_f1db`` without a publisher), and single-race incremental ingests.

Run:  .venv/bin/python benchmarks/ingest.py   (reads $PITWALL_DATA or ../shared/data)
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml
from bench_env import use_bytecode_cache  # benchmarks/ is on the path of a script run from it

from pitwall.config import default_data_dir

_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


def _parse(files: list[str]) -> int:
    n = 0
    for f in files:
        with open(f, "rb") as fh:
            yaml.load(fh, Loader=_LOADER)
        n += 1
    return n


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CPU: dict[str, float] = {}
"""CPU seconds of each measured step (its processes and their children): steadier than wall on a shared machine."""


def yaml_floor(root: Path) -> tuple[float, int]:
    """Seconds for 2 processes to parse every YAML file of the tree (what any F1DB ingest must do)."""
    files = sorted(str(p) for p in (root / "src/data").rglob("*.yml"))
    c0, t0 = _child_cpu(), time.perf_counter()
    with ProcessPoolExecutor(max_workers=2) as pool:
        n = sum(pool.map(_parse, [files[0::2], files[1::2]]))
    wall = time.perf_counter() - t0
    CPU["floor_after" if "floor" in CPU else "floor"] = _child_cpu() - c0
    return wall, n


def cli(args: list[str], home: Path, label: str = "") -> float:
    exe = Path(sys.executable).parent / "pitwall"
    env = {**os.environ, "PITWALL_HOME": str(home)}
    c0, t0 = _child_cpu(), time.perf_counter()
    subprocess.run([str(exe), *args], env=env, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    CPU[label or " ".join(args)] = _child_cpu() - c0
    return wall


def main() -> None:
    use_bytecode_cache()
    data = default_data_dir()
    f1db = data / "f1db"
    with tempfile.TemporaryDirectory() as tmp:
        t_floor, n_files = yaml_floor(f1db)
        home = Path(tmp) / "home"
        t_fresh = cli(["ingest", "f1db", str(f1db)], home, "fresh")
        t_again = cli(["ingest", "f1db", str(f1db)], home, "again")
        t_floor_after, _ = yaml_floor(f1db)  # again after the fresh ingest: the best of the two is the floor
        if t_floor_after < t_floor:
            t_floor, CPU["floor"] = t_floor_after, CPU["floor_after"]
        t_forced = cli(["ingest", "f1db", str(f1db), "--force"], home, "forced")
        t_race = cli(["ingest", "f1db", str(f1db), "--seasons", "2024", "--round", "8", "--force"], home)

        from pitwall.data.ingest import ingest_f1db
        from pitwall.data.store import LocalStore

        store = LocalStore(Path(tmp) / "lib-lake")
        t0 = time.perf_counter()
        full = ingest_f1db(store, f1db)
        t_lib = time.perf_counter() - t0
    cpu = CPU
    print(f"cores: {os.cpu_count()}, load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"floor: 2-process PyYAML parse of the same {n_files:,} files: {t_floor:.2f} s ({cpu['floor']:.1f} s CPU)")
    print(
        f"pitwall ingest f1db (CLI, events on, fresh home, {len(full.races)} races): {t_fresh:.2f} s "
        f"= {t_fresh / t_floor:.2f}x floor (goal <= 1.5x); CPU {cpu['fresh']:.1f} s = "
        f"{cpu['fresh'] / cpu['floor']:.2f}x the floor's"
    )
    print(
        f"pitwall ingest f1db again, unchanged source: {t_again:.2f} s = {t_again / t_fresh:.2f}x fresh (goal <= 0.2x);"
        f" CPU {cpu['again']:.1f} s = {cpu['again'] / cpu['fresh']:.2f}x"
    )
    print(f"pitwall ingest f1db --force (rewrite into a full home): {t_forced:.2f} s = {t_forced / t_floor:.2f}x floor")
    print(f"pitwall ingest f1db --seasons 2024 --round 8 --force (one race, CLI): {t_race:.2f} s")
    print(f"library ingest_f1db (no publisher): {t_lib:.2f} s = {t_lib / t_floor:.2f}x floor")


if __name__ == "__main__":
    main()
