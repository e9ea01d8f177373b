"""Season backtest benchmark: `pitwall backtest TEMPLATE --season 2024` as a whole process beside
its floor, the model fits the walk-forward cannot avoid, timed in this process on the same rows.

Floor: for every race of the season, the template's fit (the algorithm the backtest fits, its
parameters and calibration) on the rows before that race — exactly the fits an expanding backtest
makes — summed, run serially here, timed with the BLAS/OpenMP pools at their default size and at
one thread; the faster of the two is the floor. Beside it: the frame build (in this process), the
CLI run (fits in parallel over the cores, ``PITWALL_JOBS`` unset), the same run serial
(``PITWALL_JOBS=1``) and with ``--refit-every 3`` (a third of the fits, also compared with the
floor of those fits alone); each CLI run is timed twice and the faster kept. The CLI runs find the
template frame in the frame cache (``pitwall.templates.frame_cache``: built by the first run, as a
user's repeat backtest of an unchanged lake finds it); the ``cache off`` column
(``PITWALL_FRAME_CACHE=0``) is the run that builds its frame, as the first after an ingest does.
Goal (issue 13): the CLI backtest <= 2x its fitting floor on 2 cores.

The process's own imports (pandas, scikit-learn, scipy, the booster, MLflow's client...) are a
cost no backtest process avoids and that does not shrink with the fits: ``imports s`` is their
total in a serial CLI run (``python -X importtime``'s top-level entries, summed; it inflates them
slightly), and ``vs imports + floor`` compares the CLI run with the two together, i.e. what is
left once a process has imported what it needs and made its fits.

On a shared machine wall times follow the load; the CPU seconds of the default CLI run (the
process and everything it started: fit workers, the MLflow logging process) beside the floor's
CPU seconds give a ratio that follows it much less (``CPU s``, ``CPU ratio``; with parallel fits
the CPU ratio is above the wall ratio of an idle machine, as workers repeat their imports).

The MLflow database is created before anything is timed (a user's home has one after the first
run; creating it costs seconds once). The load average is printed with every row.

Run:  .venv/bin/python benchmarks/backtest.py [TEMPLATE[:ALGORITHM] ...]
      (default: race_winner race_winner:xgboost)
Needs a home with the real data and feature tables; one is built in a temporary folder from
$PITWALL_DATA unless PITWALL_HOME already has a lake.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_env import use_bytecode_cache  # benchmarks/ is on the path of a script run from it

SEASON = 2024
REFIT = 3
REPEAT = 2  # each CLI run is timed this many times, the fastest kept (the load on a shared machine varies)


def _home() -> Path:
    home = Path(os.environ.get("PITWALL_HOME") or tempfile.mkdtemp(prefix="pitwall-bench-"))
    os.environ["PITWALL_HOME"] = str(home)
    if not (home / "lake" / "features_races").exists():
        from pitwall.config import default_data_dir
        from pitwall.data.ingest import ingest_data_dir
        from pitwall.data.store import LocalStore
        from pitwall.features import build_feature_tables

        store = LocalStore(home / "lake")
        ingest_data_dir(store, default_data_dir())
        build_feature_tables(store)
    from pitwall.ml.tracking import _client

    _client()  # the tracking database exists before the timed runs
    return home


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """``pitwall ARGS`` of this environment, with ``env`` added; a failure ends the benchmark."""
    pitwall = shutil.which("pitwall", path=str(Path(sys.executable).parent)) or "pitwall"
    done = subprocess.run([pitwall, *args], capture_output=True, text=True, env={**os.environ, **env})
    if done.returncode != 0:
        raise SystemExit(f"pitwall {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return done


def _cli(args: list[str], **env: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children) of ``pitwall ARGS``: the
    fastest of ``REPEAT`` runs for each."""
    times, cpus = [], []
    for _ in range(REPEAT):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        _run(args, **env)
        times.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return min(times), min(cpus)


IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+(\d+) \| ( *)\S")
"""A line of ``-X importtime``: self us | cumulative us | the module, indented by its depth."""


def _imports_s(args: list[str]) -> float:
    """Seconds the CLI process ``pitwall ARGS`` (serial) spends importing: the cumulative times
    of ``-X importtime``'s top-level entries (lazy imports inside functions included)."""
    done = _run(args, PYTHONPROFILEIMPORTTIME="1", PITWALL_JOBS="1")
    total_us = 0
    for line in done.stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match and not match.group(2):  # no indentation: a top-level import
            total_us += int(match.group(1))
    return total_us / 1e6


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def fitting_floor(template: str, algorithm: str | None) -> tuple[list[float], float, float, int]:
    """Per-race fit seconds of the walk-forward's own fits (the faster of default threads and
    one thread), their CPU seconds, the frame build's seconds, and the number of fits."""
    from threadpoolctl import threadpool_limits

    from pitwall.data.store import get_store
    from pitwall.features import FeatureStore
    from pitwall.ml.splits import walk_forward_splits
    from pitwall.templates import get_template
    from pitwall.training import DEFAULT_TRAIN_SEASONS, _labelled, available_seasons, template_fit

    spec = get_template(template)
    store = get_store()
    have = available_seasons(store, spec)
    seasons = [s for s in have if SEASON - DEFAULT_TRAIN_SEASONS <= s < SEASON] + [SEASON]
    t0 = time.perf_counter()
    data = _labelled(spec, spec.frame(FeatureStore(store), seasons))
    frame_s = time.perf_counter() - t0
    steps = list(walk_forward_splits(data, SEASON, spec.backtest_mode, spec.min_train_races))
    if spec.backtest_mode != "expanding":
        steps = steps[:1]

    def timed() -> tuple[list[float], float]:
        fit = template_fit(spec, algorithm=algorithm)  # a fresh calibration cache, like the backtest's
        out = []
        cpu = time.process_time()
        for step in steps:
            t = time.perf_counter()
            fit(data.iloc[step.train])
            out.append(time.perf_counter() - t)
        return out, time.process_time() - cpu

    default = timed()
    with threadpool_limits(limits=1):
        one = timed()
    best, cpu = min(default, one, key=lambda r: sum(r[0]))
    return best, cpu, frame_s, len(steps)


def main(targets: list[str]) -> None:
    use_bytecode_cache()
    _home()
    print(f"cores: {len(os.sched_getaffinity(0))}; season {SEASON}; load average (1/5/15 min) per row")
    print(
        "| template | algorithm | fits | floor s | frame s | `pitwall backtest` s | ratio "
        "| floor CPU s | CPU s | CPU ratio | cache off s | ratio "
        f"| serial (`PITWALL_JOBS=1`) s | ratio | `--refit-every {REFIT}` s | vs floor "
        "| vs the floor of its own fits | imports s | vs imports + floor | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for target in targets or ["race_winner", "race_winner:xgboost"]:
        template, _, algorithm = target.partition(":")
        from pitwall.templates import get_template

        algo = algorithm or get_template(template).default_algorithm
        fits, floor_cpu, frame_s, n = fitting_floor(template, algorithm or None)
        floor = sum(fits)
        refit_floor = sum(t for i, t in enumerate(fits) if i % REFIT == 0)
        base = ["backtest", template, "--season", str(SEASON)] + (["--algorithm", algorithm] if algorithm else [])
        full, full_cpu = _cli(base)
        cold, _ = _cli(base, PITWALL_FRAME_CACHE="0")
        serial, _ = _cli(base, PITWALL_JOBS="1")
        third, _ = _cli([*base, "--refit-every", str(REFIT)])
        imports = min(_imports_s(base) for _ in range(REPEAT))
        print(
            f"| {template} | {algo} | {n} | {floor:.1f} | {frame_s:.1f} | {full:.1f} | {full / floor:.2f}x "
            f"| {floor_cpu:.1f} | {full_cpu:.1f} | {full_cpu / floor_cpu:.2f}x | {cold:.1f} | {cold / floor:.2f}x "
            f"| {serial:.1f} | {serial / floor:.2f}x | {third:.1f} | {third / floor:.2f}x "
            f"| {third / refit_floor:.2f}x | {imports:.1f} | {full / (imports + floor):.2f}x | {_load()} |",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
