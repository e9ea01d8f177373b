"""The model image's entry points as SageMaker runs them, for the deployed-shape tests (no Docker).

- :func:`train_race_winner`: ``python -m pitwall_image train`` on a local ``lake`` channel (real
  F1DB seasons) under a fresh ``/opt/ml`` tree: the model the endpoint tests deploy.
- :class:`ServeContainer`: ``python -m pitwall_image serve`` with a given container environment,
  started until ``/ping`` answers, stopped with SIGTERM as SageMaker stops a container.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.deployed.support import REPO_ROOT
from tests.support.network import free_port

TRAIN_TIMEOUT_S = 300
SERVE_START_ATTEMPTS = 240  # every 0.5 s: the container loads the model, then answers /ping


@dataclass(frozen=True)
class TrainedModel:
    """What the image's train entry point left under ``root`` (an ``/opt/ml`` tree)."""

    root: Path
    base: dict[str, str]  # the image processes' environment: no MLFLOW_/PITWALL_ variables, pitwall_image importable

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(json.loads((self.model_dir / "metadata.json").read_text()))


def train_race_winner(
    tmp_path_factory: pytest.TempPathFactory, shared_data: Path, name: str, seasons: Sequence[int] = (2022, 2023)
) -> TrainedModel:
    """A logistic race-winner model trained by ``python -m pitwall_image train`` on ``seasons``."""
    from pitwall.data.ingest import ingest_f1db
    from pitwall.data.store import LocalStore

    root = tmp_path_factory.mktemp(name)
    (root / "input" / "config").mkdir(parents=True)
    window = f"{seasons[0]}-{seasons[-1]}"
    hyperparameters = {"template": "race_winner", "seasons": window, "algorithm": "logistic"}
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    ingest_f1db(LocalStore(root / "input" / "data" / "lake"), shared_data / "f1db", seasons=list(seasons), workers=1)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PITWALL_"))}
    base.update(PYTHONPATH=str(REPO_ROOT / "training_images"), PITWALL_OPT_ML=str(root))
    train_env = {**base, "PITWALL_HOME": str(tmp_path_factory.mktemp("train-home")), "PITWALL_BACKEND": "local"}
    done = subprocess.run(
        [sys.executable, "-m", "pitwall_image", "train"],
        env=train_env,
        capture_output=True,
        text=True,
        timeout=TRAIN_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return TrainedModel(root=root, base=base)


class ServeContainer:
    """The image's ``serve`` entry point with ``env`` (over the trained model's base environment)."""

    def __init__(self, model: TrainedModel, env: Mapping[str, str], home: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "serve.log"
        full = {
            **model.base,
            **env,
            "PITWALL_OPT_ML": str(model.root),
            "PITWALL_HOME": str(home),
            "PITWALL_SERVE_PORT": str(self.port),
            "PITWALL_SERVE_HOST": "127.0.0.1",
        }
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pitwall_image", "serve"], env=full, stdout=self._log, stderr=self._log
        )
        for _ in range(SERVE_START_ATTEMPTS):
            if self.proc.poll() is not None:
                break
            try:
                if requests.get(f"{self.url}/ping", timeout=5).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        self.stop()
        raise AssertionError(f"serve did not start: {self.log()}")

    def post(self, body: Any) -> requests.Response:
        return requests.post(f"{self.url}/invocations", json=body, timeout=120)

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """SIGTERM, as SageMaker stops a container: the queued captures are written first."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
        self._log.close()
