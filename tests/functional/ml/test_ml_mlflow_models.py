"""MLflow models of Pitwall models: the pyfunc flavor answers what Pitwall's predictor answers,
the Model Registry holds a version per training with champion/challenger aliases that follow
promotion, and tuning trials are nested runs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

SEASONS = range(2021, 2024)


@pytest.fixture
def home_lake(lake, _isolated_home: Path) -> Path:
    _isolated_home.mkdir(parents=True, exist_ok=True)
    (_isolated_home / "lake").symlink_to(lake.root, target_is_directory=True)
    return _isolated_home


def test_pyfunc_model_registry_and_aliases(home_lake: Path) -> None:
    import mlflow

    import pitwall as pw
    from pitwall.ml.tracking import registry_name, tracking_uri

    notices = _Records()
    mlflow_pyfunc_log = logging.getLogger("mlflow.pyfunc")
    mlflow_pyfunc_log.addHandler(notices)
    try:
        first = pw.train("race_winner", seasons=SEASONS, name="winner_mlf")
    finally:
        mlflow_pyfunc_log.removeHandler(notices)
    assert [m for m in notices.messages if "signature" in m] == []  # no schema notice at logging
    client = mlflow.MlflowClient(tracking_uri())
    reg = registry_name("winner_mlf")
    # loading runs the pyfunc's code file in a fresh process: MLflow has nothing to warn about
    loaded = subprocess.run(
        [sys.executable, "-W", "always", "-c", f"import mlflow; mlflow.pyfunc.load_model('models:/{reg}/1')"],
        capture_output=True,
        text=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": tracking_uri()},
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert "type hints" not in loaded.stderr
    assert [int(v.version) for v in client.search_model_versions(f"name = '{reg}'")] == [1]

    # the logged MLflow model is a pyfunc over the safe artifact folder; it answers like Pitwall
    mlflow.set_tracking_uri(tracking_uri())
    pyfunc = mlflow.pyfunc.load_model(f"models:/{reg}/1")
    assert "python_function" in pyfunc.metadata.flavors
    frame = pw.race_features("race_winner", 2024, 8)
    served = pw.load("winner_mlf").model.predict_frame(frame)  # the artifact `pitwall serve` loads
    answer = pyfunc.predict(frame)
    pd.testing.assert_frame_equal(answer.reset_index(drop=True), served.reset_index(drop=True))
    logged = Path(mlflow.artifacts.download_artifacts(f"models:/{reg}/1"))
    assert (logged / "MLmodel").is_file()
    assert not list(logged.rglob("*.pkl")) and not list(logged.rglob("*.pickle"))

    # `mlflow models serve` answers the same (the REST scoring server over the same pyfunc)
    served_rest = _serve_and_predict(f"models:/{reg}/1", frame)
    assert served_rest["proba_True" if "proba_True" in served else "probability"] == pytest.approx(
        served["proba_True" if "proba_True" in served else "probability"].tolist()
    )

    # promotion moves the aliases: deploy v1 -> champion 1; a second training -> challenger 2
    first.deploy()
    assert client.get_registered_model(reg).aliases == {"champion": 1}
    pw.train("race_winner", seasons=SEASONS, name="winner_mlf", algorithm="lightgbm")
    from pitwall.ml.tracking import sync_registry_aliases

    assert sync_registry_aliases("local", "winner_mlf") == {"champion": 1, "challenger": 2}
    assert client.get_registered_model(reg).aliases == {"champion": 1, "challenger": 2}
    pw.load("winner_mlf", version=2).deploy()
    assert client.get_registered_model(reg).aliases == {"champion": 2}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _serve_and_predict(model_uri: str, frame: pd.DataFrame) -> dict[str, list]:
    """Start `mlflow models serve` (local env) on a free port, POST the rows, stop it."""
    import json
    import socket
    import time

    import requests

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [f"{bin_dir}/mlflow", "models", "serve", "-m", model_uri, "-p", str(port), "--env-manager", "local"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(240):
            try:
                if requests.get(f"{url}/ping", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        body = {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}
        answer = requests.post(f"{url}/invocations", json=body, timeout=60)
        answer.raise_for_status()
        rows = answer.json()["predictions"]
        return {k: [r[k] for r in rows] for k in rows[0]}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_tuning_trials_are_nested_runs(home_lake: Path) -> None:
    import mlflow

    import pitwall as pw
    from pitwall.ml.tracking import tracking_uri

    pw.train("race_winner", seasons=SEASONS, name="winner_tuned", auto_tune=True, n_trials=3)
    client = mlflow.MlflowClient(tracking_uri())
    exp = client.get_experiment_by_name("local/winner_tuned")  # the local tenant's experiment
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if r.data.tags.get("pitwall.kind") == "training"]
    children = [r for r in runs if r.data.tags.get("pitwall.kind") == "tuning_trial"]
    assert len(children) == 3
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[-1].info.run_id}
