"""Shared helpers for the workflow functional tests: a real-data training table and a small trainer.

The training table ``training_race_winner`` is built from real F1DB race results (grid and finishing
positions) for two seasons. The trainer stand-in (the injected ``train_model``) fits a real, if simple,
model on it: "grid" predicts the finishing position from the grid slot (least squares), "constant"
predicts the mean; both are scored on the last season (held out) by mean absolute error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

SEASONS = [2022, 2023]
TEMPLATE = "race_winner"


def build_training_table(lake: Path, shared_data: Path) -> None:
    """Ingest F1DB ``SEASONS`` into ``lake`` and write the template's training table beside them."""
    from pitwall.data.ingest import ingest_f1db
    from pitwall.data.store import LocalStore

    store = LocalStore(lake)
    ingest_f1db(store, shared_data / "f1db", seasons=SEASONS, workers=1)
    results = store.read("results", seasons=SEASONS)
    rows = results.dropna(subset=["grid_position", "position"])
    frames = {
        (f"training_{TEMPLATE}", int(season)): group[
            ["season", "round", "race_id", "driver_id", "grid_position", "position"]
        ]
        for season, group in rows.groupby("season")
    }
    store.write_partitions(frames)


def train(state: dict[str, Any], artifacts: Path) -> dict[str, Any]:
    """Fit the job's algorithm on the training table and save an artifact folder with metadata.json."""
    job, features = state["job"], state["features"]
    table = pd.concat(pd.read_parquet(Path(features["uri"]) / f"season={season}") for season in features["seasons"])
    test_season = max(features["seasons"])
    fit, test = table[table["season"] < test_season], table[table["season"] == test_season]
    x, y = fit["grid_position"].astype(float), fit["position"].astype(float)
    algorithm = job["params"]["algorithm"]
    if algorithm == "grid":
        slope = float(((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum())
        intercept = float(y.mean() - slope * x.mean())
    elif algorithm == "constant":
        slope, intercept = 0.0, float(y.mean())
    else:
        raise ValueError(f"unknown algorithm {algorithm!r}")
    predicted = intercept + slope * test["grid_position"].astype(float)
    mae = float((predicted - test["position"].astype(float)).abs().mean())
    folder = artifacts / job["training_job_name"]
    folder.mkdir(parents=True)
    metadata = {
        "template": TEMPLATE,
        "task": "regression",
        "target": "position",
        "algorithm": algorithm,
        "features": ["grid_position"],
        "params": {"slope": slope, "intercept": intercept},
        "data_window": {"seasons": features["seasons"], "rows": len(table)},
        "metric": "mae",
        "direction": "minimize",
        "score": mae,
        "metrics": {"test_mae": mae},
    }
    (folder / "metadata.json").write_text(json.dumps(metadata))
    return {"model_artifacts": str(folder), "training_job_name": job["training_job_name"]}
