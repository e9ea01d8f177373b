"""Fixtures for the prediction API tests: real models trained on the real lake, servers, keys.

Models are trained directly with ``pitwall.ml`` on a small real-data frame
(:func:`season_features`): one row per 2021-2024 race entrant with

- ``start_position``: the driver's grid slot in that race (NaN for pit-lane starts),
- ``points_before``: the driver's championship points before that race (no look-ahead),
- ``wet_race``: 1.0 when intermediate or wet tyres were used in the race, else 0.0,

and the finishing position as target. The same function is the serving side's season frame
builder, so a request for ``monaco_2024`` is answered from Monaco 2024's rows (overrides are
applied by ``pitwall.templates.predict.apply_overrides``, as for template models).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pitwall.api.jobs import LocalJobLauncher
from pitwall.api.server import LocalApiServer
from pitwall.api.services import ApiServices, local_services, set_services
from pitwall.data.store import Store
from pitwall.ml.artifacts import sha256_file
from pitwall.ml.builder import ModelBuilder
from pitwall.platform import keys, models
from pitwall.platform.backend import clear_backend_cache
from pitwall.platform.records import JobRecord, ModelRecord
from pitwall.serving.deploy import LocalServing, reset_default_service
from pitwall.serving.invocation import InProcessServing

FEATURES = ["start_position", "points_before", "wet_race"]
SEASONS = (2021, 2022, 2023, 2024)
TEMPLATE = "race_winner_test"


def _season_features(store: Store, season: int) -> pd.DataFrame:
    res = store.read("results", [season])
    res = res[res["position_text"].ne("DNS")].sort_values(["round", "position_order"])
    out = res[["season", "round", "race_id", "driver_id", "constructor_id"]].copy()
    out["start_position"] = res["grid_position"].astype("float64")
    points = res.pivot_table(index="round", columns="driver_id", values="points", aggfunc="sum").fillna(0.0)
    before = points.cumsum().shift(1).fillna(0.0)
    out["points_before"] = [float(before.at[r, d]) for r, d in zip(out["round"], out["driver_id"], strict=True)]
    laps = store.read("laps", [season])
    wet = (
        laps.assign(wet=laps["compound"].isin(["INTERMEDIATE", "WET"])).groupby("round")["wet"].any().astype("float64")
        if not laps.empty
        else pd.Series(dtype="float64")
    )
    out["wet_race"] = out["round"].map(wet).fillna(0.0).astype("float64")
    out["finish_position"] = res["position"].astype("Float64")
    return out.reset_index(drop=True)


@functools.lru_cache(maxsize=8)
def _cached_season(store: Store, season: int) -> pd.DataFrame:
    return _season_features(store, season).drop(columns=["finish_position"])


def season_features(template: str, store: Store, season: int) -> pd.DataFrame:
    """Every race's feature rows of ``season`` (the serving-side season builder of these tests)."""
    return _cached_season(store, season)


@pytest.fixture(scope="session")
def training_frame(lake: Store) -> pd.DataFrame:
    return pd.concat([_season_features(lake, s) for s in SEASONS[:-1]], ignore_index=True)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory, training_frame: pd.DataFrame) -> dict[str, Path]:
    """Saved models: ``winner_v1``/``winner_v2`` (ranking, top 1), ``points`` (regression),
    ``dnf`` (classification)."""
    root = tmp_path_factory.mktemp("artifacts")
    out: dict[str, Path] = {}
    ranking = ModelBuilder("ranking", "finish_position", features=FEATURES, top_k=1, template=TEMPLATE)
    for name, trees in (("winner_v1", 40), ("winner_v2", 15)):
        model = ranking.train(training_frame, "xgboost", params={"n_estimators": trees, "max_depth": 3})
        out[name] = model.save(root / name)
    frame = training_frame.assign(
        points_scored=training_frame["finish_position"].fillna(99).le(10).astype(float),
        dnf=training_frame["finish_position"].isna().astype(int),
    )
    reg = ModelBuilder("regression", "points_scored", features=FEATURES, template=TEMPLATE)
    out["points"] = reg.train(frame, "random_forest", params={"n_estimators": 20}).save(root / "points")
    clf = ModelBuilder("classification", "dnf", features=FEATURES, template=TEMPLATE)
    out["dnf"] = clf.train(frame, "logistic").save(root / "dnf")
    return out


def register(tenant: str, name: str, artifact: Path, *, experiment: str | None = None, **metrics: float) -> ModelRecord:
    """Register ``artifact`` as the next version of the tenant's model ``name``."""
    import json

    meta = json.loads((artifact / "metadata.json").read_text())
    return models.register_model(
        tenant,
        name,
        template=TEMPLATE,
        task=meta["task"],
        algorithm=meta["algorithm"],
        features=list(meta["features"]),
        target=meta["target"],
        data_window=meta.get("data_window") or {},
        metrics=metrics or {"test_log_loss": 0.25},
        baseline_metrics={"test_log_loss": 0.3},
        artifact_uri=str(artifact),
        sha256=sha256_file(artifact / "metadata.json"),
        experiment=experiment,
    )


class RecordingTrainer:
    """A trainer for job tests: registers a copy of a real artifact as the job's model."""

    def __init__(self, artifact: Path, gate: threading.Event | None = None) -> None:
        self.artifact = artifact
        self.gate = gate
        self.ran: list[str] = []

    def __call__(self, job: JobRecord) -> dict[str, Any]:
        if self.gate is not None:
            self.gate.wait(timeout=30)
        self.ran.append(job.job_id)
        record = register(job.tenant_id, job.model_name, self.artifact, experiment=job.experiment)
        return {"model": record.name, "version": record.version}


@pytest.fixture
def recording_trainer() -> type[RecordingTrainer]:
    return RecordingTrainer


@pytest.fixture
def serving(lake: Store) -> LocalServing:
    return LocalServing(InProcessServing(lake, builder=season_features))


@pytest.fixture
def services(serving: LocalServing, artifacts: dict[str, Path]) -> Iterator[ApiServices]:
    clear_backend_cache()
    reset_default_service()
    launcher = LocalJobLauncher(RecordingTrainer(artifacts["winner_v1"]))
    svc = local_services(serving=serving, launcher=launcher)
    yield svc
    launcher.shutdown()
    set_services(None)
    clear_backend_cache()


@pytest.fixture
def server(services: ApiServices) -> Iterator[LocalApiServer]:
    srv = LocalApiServer("127.0.0.1", 0, services=services).start()
    yield srv
    srv.stop()


@pytest.fixture
def free_key() -> str:
    return keys.create_key("acme", "free")


@pytest.fixture
def pro_key() -> str:
    return keys.create_key("bigteam", "pro")


def winner_probabilities(answer: dict[str, Any]) -> dict[str, float]:
    return {p["driver_id"]: p["probability"] for p in answer["predictions"]}


@pytest.fixture
def unthrottled_server(serving: LocalServing, artifacts: dict[str, Path]) -> Iterator[LocalApiServer]:
    """A local server that does not enforce request rates (for load-style tests)."""
    clear_backend_cache()
    svc = local_services(
        serving=serving, launcher=LocalJobLauncher(RecordingTrainer(artifacts["winner_v1"])), enforce_rate_limits=False
    )
    srv = LocalApiServer("127.0.0.1", 0, services=svc).start()
    yield srv
    srv.stop()
    set_services(None)


@pytest.fixture
def serialised_dynamodb() -> Any:
    return serialised_moto_dynamodb


class Helpers:
    """Helper functions for the tests of this folder (tests/ is not an importable package)."""

    register = staticmethod(register)
    winner_probabilities = staticmethod(winner_probabilities)

    @staticmethod
    def assert_probabilities(values: list[float], total: float) -> None:
        assert all(0.0 <= v <= 1.0 for v in values)
        assert np.isclose(sum(values), total, atol=1e-6)


@pytest.fixture
def h() -> type[Helpers]:
    return Helpers


@contextmanager
def serialised_moto_dynamodb() -> Iterator[None]:
    """One moto DynamoDB request at a time, as the real service applies each request atomically
    (moto evaluates a condition and writes without a lock). Our own multi-request sequences
    still race, which is what the concurrency tests exercise."""
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    @functools.wraps(original)
    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]
