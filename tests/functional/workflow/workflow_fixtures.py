"""Shared helpers for the workflow functional tests: a real-data lake, a small trainer, a serving stand-in.

The lake holds real F1DB seasons ingested by ``pitwall.data.ingest``. The trainer stand-in (the
injected ``train_model``) fits a real, if simple, model on the lake's race results: algorithm "linear"
predicts the finishing position from the grid slot (least squares), "logistic" stands in for a worse
challenger and predicts the mean (both are real algorithm names, so the jobs pass the training-request
contract, ``pitwall.workflow.request``); both are scored on
the window's last season (held out) by mean absolute error. The serving stand-in records what the
deployment service asks of it (loading a model in process needs a ``pitwall.ml`` artifact).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

SEASONS = [2022, 2023]
TEMPLATE = "race_winner"


def build_lake(lake: Path, shared_data: Path) -> None:
    """Ingest the F1DB ``SEASONS`` (real data) into a Store lake at ``lake``."""
    from pitwall.data.ingest import ingest_f1db
    from pitwall.data.store import LocalStore

    ingest_f1db(LocalStore(lake), shared_data / "f1db", seasons=SEASONS, workers=1)


@dataclass
class RecordingServing:
    """A :class:`pitwall.serving.deploy.ServingBackend` that records calls; ``fail`` makes prepare raise."""

    fail: bool = False
    name: str = "recording"
    calls: list[tuple[str, str, int]] = field(default_factory=list)

    def prepare(self, principal: Any, record: Any, previous: Any) -> Any:
        if self.fail:
            raise RuntimeError("endpoint creation failed")
        self.calls.append(("prepare", record.name, record.version))
        return record

    def commit(self, token: Any) -> None:
        self.calls.append(("commit", token.name, token.version))

    def rollback(self, token: Any) -> None:
        self.calls.append(("rollback", token.name, token.version))

    def remove(self, tenant_id: str, name: str) -> None:
        self.calls.append(("remove", name, 0))

    def invoke(self, record: Any, payload: Any) -> dict[str, Any]:
        raise NotImplementedError("not called by the workflow")

    def endpoint(self, tenant_id: str, name: str) -> str:
        return f"recording-{tenant_id}-{name}"


def train(state: dict[str, Any], artifacts: Path) -> dict[str, Any]:
    """Fit the job's algorithm on the training table and save an artifact folder with metadata.json."""
    job, features = state["job"], state["features"]
    results = Path(features["uri"]) / "results"
    table = pd.concat(
        pd.read_parquet(results / f"season={season}" / "data.parquet") for season in features["seasons"]
    ).dropna(subset=["grid_position", "position"])
    test_season = max(features["seasons"])
    fit, test = table[table["season"] < test_season], table[table["season"] == test_season]
    x, y = fit["grid_position"].astype(float), fit["position"].astype(float)
    algorithm = job["params"]["algorithm"]
    if algorithm == "linear":
        slope = float(((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum())
        intercept = float(y.mean() - slope * x.mean())
    elif algorithm == "logistic":
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
        "features": ["start_position"],  # the template's name of the grid slot
        "params": {"slope": slope, "intercept": intercept},
        "data_window": {"seasons": features["seasons"], "rows": len(table)},
        "metric": "mae",
        "direction": "minimize",
        "score": mae,
        "metrics": {"test_mae": mae},
    }
    (folder / "metadata.json").write_text(json.dumps(metadata))
    return {"model_artifacts": str(folder), "training_job_name": job["training_job_name"]}
