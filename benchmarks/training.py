"""Training time per template, with and without hyperparameter tuning.

For each template: ``train_template`` on seasons 2019-2023 with the default algorithm (holdout
evaluation + final fit), then the same with Bayesian tuning (Optuna TPE) on a budget of
``TRIALS`` trials x ``FOLDS`` race-grouped folds. Prints seconds and the holdout primary metric.

Run:  .venv/bin/python benchmarks/training.py [TEMPLATE ...]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

TRIALS = 10
FOLDS = 3
SEASONS = list(range(2019, 2024))


def main(names: list[str]) -> None:
    os.environ.setdefault("PITWALL_HOME", tempfile.mkdtemp(prefix="pitwall-bench-"))
    from pitwall.config import default_data_dir
    from pitwall.data.ingest import ingest_data_dir
    from pitwall.data.store import LocalStore
    from pitwall.features import build_feature_tables
    from pitwall.templates import TEMPLATES
    from pitwall.training import train_template

    store = LocalStore()
    ingest_data_dir(store, default_data_dir())
    build_feature_tables(store)
    print(f"cores: {os.cpu_count()}; seasons {SEASONS[0]}-{SEASONS[-1]}; tuning budget {TRIALS} trials x {FOLDS} folds")
    print("| template | algorithm | rows | train s | tuned train s | metric | holdout (default) | holdout (tuned) |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names or list(TEMPLATES):
        spec = TEMPLATES[name]
        common = dict(seasons=SEASONS, store=store, track=False, register=False)
        t0 = time.perf_counter()
        plain = train_template(name, **common)
        t_plain = time.perf_counter() - t0
        t0 = time.perf_counter()
        tuned = train_template(name, auto_tune=True, n_trials=TRIALS, cv_folds=FOLDS, **common)
        t_tuned = time.perf_counter() - t0
        metric = spec.primary_metric
        rows = plain.model.data_window.get("rows")
        print(
            f"| {name} | {plain.model.algorithm} | {rows} | {t_plain:.1f} | {t_tuned:.1f} | {metric} "
            f"| {plain.metrics.get(metric, float('nan')):.4f} | {tuned.metrics.get(metric, float('nan')):.4f} |",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
