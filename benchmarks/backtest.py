"""Season backtest benchmark: `pitwall backtest TEMPLATE --season 2024` as a whole process beside
its floor, the model fits the walk-forward cannot avoid, timed in this process on the same rows.

Floor: for every race of the season, the template's fit (its default algorithm and calibration)
on the rows before that race — exactly the fits an expanding backtest makes — summed. Also shown:
the same CLI run with ``--refit-every 3`` (a third of the fits, reported as such by the backtest).
Goal (issue 13): the CLI backtest <= 2x its fitting floor on 2 cores.

Run:  .venv/bin/python benchmarks/backtest.py [TEMPLATE ...]   (default: race_winner)
Needs a home with the real data and feature tables; one is built in a temporary folder from
$PITWALL_DATA unless PITWALL_HOME already has a lake.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEASON = 2024


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
    return home


def _cli(args: list[str]) -> float:
    pitwall = shutil.which("pitwall", path=str(Path(sys.executable).parent)) or "pitwall"
    t0 = time.perf_counter()
    subprocess.run([pitwall, *args], check=True, capture_output=True, env=os.environ.copy())
    return time.perf_counter() - t0


def fitting_floor(template: str) -> tuple[float, int]:
    """Seconds of the walk-forward's own fits (one per race) and their count."""
    from pitwall.data.store import get_store
    from pitwall.features import FeatureStore
    from pitwall.ml.splits import walk_forward_splits
    from pitwall.templates import get_template
    from pitwall.training import DEFAULT_TRAIN_SEASONS, _labelled, available_seasons, template_fit

    spec = get_template(template)
    store = get_store()
    have = available_seasons(store, spec)
    seasons = [s for s in have if SEASON - DEFAULT_TRAIN_SEASONS <= s < SEASON] + [SEASON]
    data = _labelled(spec, spec.frame(FeatureStore(store), seasons))
    fit = template_fit(spec)
    steps = list(walk_forward_splits(data, SEASON, spec.backtest_mode, spec.min_train_races))
    if spec.backtest_mode != "expanding":
        steps = steps[:1]
    t0 = time.perf_counter()
    for step in steps:
        fit(data.iloc[step.train])
    return time.perf_counter() - t0, len(steps)


def main(templates: list[str]) -> None:
    _home()
    print(f"cores: {os.cpu_count()}; season {SEASON}")
    print("| template | fits | floor s | `pitwall backtest` s | ratio | `--refit-every 3` s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for template in templates or ["race_winner"]:
        floor, n = fitting_floor(template)
        base = ["backtest", template, "--season", str(SEASON)]
        full = _cli(base)
        third = _cli([*base, "--refit-every", "3"])
        print(
            f"| {template} | {n} | {floor:.1f} | {full:.1f} | {full / floor:.2f}x "
            f"| {third:.1f} | {third / floor:.2f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
