"""Fixtures for the SageMaker image entry points, run without Docker.

The entry points run as the container runs them (``python -m pitwall_image train|serve``) against
temporary folders laid out like ``/opt/ml`` (``PITWALL_OPT_ML``): ``input/config/hyperparameters.json``
plus a ``lake`` data channel holding a LocalStore ingested from the real F1DB seasons 2021-2023.
Two real templates are trained once per session in subprocesses: ``race_winner`` (ranking, XGBoost,
flat hyper-parameters) and ``pit_stop_duration`` (regression, LightGBM, the training workflow's
``params`` JSON spelling). ``serve`` subprocesses answer on a free local port.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from pitwall.config import REPO_ROOT
from pitwall.data.store import LocalStore

IMAGE_SOURCE = REPO_ROOT / "training_images"
if str(IMAGE_SOURCE) not in sys.path:
    sys.path.insert(0, str(IMAGE_SOURCE))  # the image puts pitwall_image on PYTHONPATH the same way

SEASONS = [2021, 2022, 2023]
ENTRYPOINT_TIMEOUT_S = 120
SERVE_START_TIMEOUT_S = 60
WINNER_HYPERPARAMETERS = {
    "template": "race_winner",
    "algorithm": "xgboost",
    "seasons": "2021-2023",
    "auto_tune": "false",
    "cv_folds": "3",
    "seed": "0",
    "model_name": "winner",
}
PIT_STOP_PARAMS = {"algorithm": "lightgbm", "seasons": SEASONS, "cv_folds": 3}
PIT_STOP_HYPERPARAMETERS = {
    "tenant_id": "acme",
    "job_id": "job-0001",
    "kind": "train",
    "model_name": "stops",
    "template": "pit_stop_duration",
    "experiment": "",
    "params": json.dumps(PIT_STOP_PARAMS, sort_keys=True, separators=(",", ":")),
}


def entrypoint_env(root: Path, home: Path, **extra: str) -> dict[str, str]:
    """The subprocess environment: the /opt/ml root, a private PITWALL_HOME, no MLflow server."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PITWALL_MLFLOW_URI")}
    env.update(
        PITWALL_OPT_ML=str(root),
        PITWALL_HOME=str(home),
        PYTHONPATH=os.pathsep.join([str(IMAGE_SOURCE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        PITWALL_BACKEND="local",
        **extra,
    )
    return env


def make_opt_ml(root: Path, hyperparameters: Mapping[str, Any] | None, lake: Path | None) -> Path:
    """A folder laid out like /opt/ml for a training job; the lake is copied into channel ``lake``."""
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (root / "input" / "data").mkdir(parents=True)
    if hyperparameters is not None:
        (config / "hyperparameters.json").write_text(json.dumps(dict(hyperparameters)), encoding="utf-8")
    if lake is not None:
        shutil.copytree(lake, root / "input" / "data" / "lake")
    return root


def run_entrypoint(command: str, root: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pitwall_image", command],
        env=entrypoint_env(root, home),
        cwd=str(root),
        capture_output=True,
        text=True,
        timeout=ENTRYPOINT_TIMEOUT_S,
    )


@pytest.fixture(scope="session")
def f1_lake(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A LocalStore root with the real F1DB seasons 2021-2023 (read-only for tests)."""
    from pitwall.data.ingest import ingest_f1db

    root = tmp_path_factory.mktemp("f1-lake")
    ingest_f1db(LocalStore(root), shared_data / "f1db", seasons=SEASONS)
    return root


@dataclass(frozen=True)
class TrainedJob:
    root: Path
    result: subprocess.CompletedProcess[str]

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def metrics(self) -> dict[str, Any]:
        return json.loads((self.root / "output" / "data" / "metrics.json").read_text(encoding="utf-8"))


def _train(tmp_path_factory: pytest.TempPathFactory, lake: Path, hyperparameters: Mapping[str, Any]) -> TrainedJob:
    root = make_opt_ml(tmp_path_factory.mktemp("opt-ml"), hyperparameters, lake)
    result = run_entrypoint("train", root, tmp_path_factory.mktemp("home"))
    return TrainedJob(root, result)


@pytest.fixture(scope="session")
def winner_job(tmp_path_factory: pytest.TempPathFactory, f1_lake: Path) -> TrainedJob:
    return _train(tmp_path_factory, f1_lake, WINNER_HYPERPARAMETERS)


@pytest.fixture(scope="session")
def pit_stop_job(tmp_path_factory: pytest.TempPathFactory, f1_lake: Path) -> TrainedJob:
    return _train(tmp_path_factory, f1_lake, PIT_STOP_HYPERPARAMETERS)


@dataclass
class ServeProcess:
    """A running ``serve`` subprocess and its base URL."""

    process: subprocess.Popen[str]
    url: str
    stderr_lines: list[str]

    def post(self, body: Any, content_type: str = "application/json") -> requests.Response:
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        return requests.post(f"{self.url}/invocations", data=data, headers={"Content-Type": content_type}, timeout=30)


def _drain(stream: Any, sink: list[str], ready: threading.Event | None = None) -> None:
    for line in stream:
        sink.append(line)
        if ready is not None and "listening on" in line:
            ready.set()


@contextmanager
def serve_process(root: Path, home: Path, **extra_env: str) -> Iterator[ServeProcess]:
    """``python -m pitwall_image serve`` on a free port of 127.0.0.1, stopped with SIGTERM afterwards."""
    env = entrypoint_env(root, home, PITWALL_SERVE_HOST="127.0.0.1", PITWALL_SERVE_PORT="0", **extra_env)
    process = subprocess.Popen(
        [sys.executable, "-m", "pitwall_image", "serve"],
        env=env,
        cwd=str(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout: list[str] = []
    stderr: list[str] = []
    ready = threading.Event()
    threading.Thread(target=_drain, args=(process.stdout, stdout, ready), daemon=True).start()
    threading.Thread(target=_drain, args=(process.stderr, stderr), daemon=True).start()
    try:
        if not ready.wait(SERVE_START_TIMEOUT_S):
            raise RuntimeError(f"serve did not start: {''.join(stdout + stderr)[-3000:]}")
        address = next(line for line in stdout if "listening on" in line).rsplit(" ", 1)[1].strip()
        yield ServeProcess(process, f"http://{address}", stderr)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def winner_server(winner_job: TrainedJob, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """``serve`` over the race_winner model, with the identity SageMakerServing gives an endpoint."""
    from pitwall.ml.artifacts import sha256_file

    assert winner_job.result.returncode == 0, winner_job.result.stderr
    with serve_process(
        winner_job.root,
        tmp_path_factory.mktemp("serve-home"),
        PITWALL_TENANT="acme",
        PITWALL_MODEL="winner",
        PITWALL_MODEL_VERSION="3",
        PITWALL_TEMPLATE="race_winner",
        PITWALL_MODEL_SHA256=sha256_file(winner_job.model_dir / "metadata.json"),
    ) as server:
        yield server


@pytest.fixture(scope="session")
def pit_stop_server(pit_stop_job: TrainedJob, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """``serve`` over the pit_stop_duration model in a bare container (no identity variables)."""
    assert pit_stop_job.result.returncode == 0, pit_stop_job.result.stderr
    with serve_process(pit_stop_job.root, tmp_path_factory.mktemp("serve-home")) as server:
        yield server


@pytest.fixture
def new_opt_ml(tmp_path: Path, f1_lake: Path):  # type: ignore[no-untyped-def]
    """``new_opt_ml(hyperparameters, lake=True)``: a fresh /opt/ml tree for one job."""
    counter = iter(range(1_000_000))

    def build(hyperparameters: Mapping[str, Any] | None, lake: bool = True) -> Path:
        return make_opt_ml(tmp_path / f"opt-ml-{next(counter)}", hyperparameters, f1_lake if lake else None)

    return build


@pytest.fixture
def run_image(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``run_image(command, root)``: run the image's entry point as a subprocess."""

    def run(command: str, root: Path) -> subprocess.CompletedProcess[str]:
        home = tmp_path / "subprocess-home"
        home.mkdir(exist_ok=True)
        return run_entrypoint(command, root, home)

    return run
