"""Predictions by race on a SageMaker endpoint, as deployed: the image's ``serve`` entry point (the
endpoint container) started with the environment the deploy path gives the endpoint (the lake's
settings from the synthesized DeployModel/API functions, ``pitwall.serving.sagemaker.lake_environment``),
reading real F1DB races from the S3 lake (moto), and the synthesized endpoint role allowed to read it.
A race body (``{"race": "monaco_2024"}``) answers 200 with predictions, not 422 ``unknown_race``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.deployed import support


def _deploy_function(functions: list[support.Function]) -> support.Function:
    (function,) = [f for f in functions if f.handler == "workflow_steps.deploy_model"]
    return function


def test_the_endpoint_role_may_read_the_lake(synth: support.Synth) -> None:
    policies = [r for _, logical, r in synth.resources("AWS::IAM::Policy") if "EndpointRole" in logical]
    text = json.dumps(policies)
    assert policies and "s3:GetObject" in text and "raw" in text and "lake/" in text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_race_body_is_answered_by_the_image_serve_entry_point(
    functions: list[support.Function],
    aws: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
    shared_data: Path,
) -> None:
    from pitwall.data.ingest import ingest_f1db
    from pitwall.data.store import LocalStore
    from pitwall.data.store.aws import AwsStore
    from pitwall.serving.sagemaker import lake_environment

    deploy = _deploy_function(functions)
    container_lake = lake_environment(deploy.environment)  # what SageMakerServing.prepare puts in the model
    assert container_lake["PITWALL_BACKEND"] == "aws" and container_lake["PITWALL_BUCKET"]
    saved = {k: os.environ.get(k) for k in container_lake}
    os.environ.update({k: v for k, v in container_lake.items() if k != "PITWALL_BACKEND"})
    try:
        ingest_f1db(AwsStore.from_env(), shared_data / "f1db", seasons=[2022, 2023, 2024], workers=1)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    # the model, trained by the image's train entry point on the same seasons (a local lake channel)
    root = tmp_path_factory.mktemp("opt-ml-serve")
    (root / "input" / "config").mkdir(parents=True)
    hyperparameters = {"template": "race_winner", "seasons": "2022-2023", "algorithm": "logistic"}
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    ingest_f1db(LocalStore(root / "input" / "data" / "lake"), shared_data / "f1db", seasons=[2022, 2023], workers=1)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PITWALL_"))}
    base.update(PYTHONPATH=str(support.REPO_ROOT / "training_images"), PITWALL_OPT_ML=str(root))
    train_env = {**base, "PITWALL_HOME": str(tmp_path_factory.mktemp("train-home")), "PITWALL_BACKEND": "local"}
    done = subprocess.run(
        [sys.executable, "-m", "pitwall_image", "train"], env=train_env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]

    port = _free_port()
    serve_env = {
        **base,
        **aws["env"],
        **container_lake,
        "PITWALL_HOME": str(tmp_path_factory.mktemp("serve-home")),
        "PITWALL_TEMPLATE": "race_winner",
        "PITWALL_SERVE_PORT": str(port),
        "PITWALL_SERVE_HOST": "127.0.0.1",
    }
    log = (root / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "pitwall_image", "serve"], env=serve_env, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(240):  # the container starts: load the model, then answer /ping
            if server.poll() is not None:
                break
            try:
                if requests.get(f"{url}/ping", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        assert server.poll() is None, (root / "serve.log").read_text()[-3000:]
        answer = requests.post(f"{url}/invocations", json={"race": "monaco_2024"}, timeout=120)
        assert answer.status_code == 200, (answer.text, (root / "serve.log").read_text()[-3000:])
        body = answer.json()
        assert body["race"] and len(body["predictions"]) >= 18
        # the race's real entrants, read from the S3 lake
        assert any(p.get("driver_id") == "charles-leclerc" for p in body["predictions"]), body["predictions"][:3]
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
