"""A corrupt or crafted native model file never takes the server down: deploying it answers the
API's error naming the file, and the same server keeps answering (its model files are test-loaded
in a child process before they are loaded into the serving process)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import requests

from pitwall.api.server import LocalApiServer
from pitwall.ml.artifacts import sha256_file
from pitwall.platform import models


def _scramble(blob: bytes) -> bytes:
    """Keep the leading '{' (it still looks like UBJSON), garble the structure."""
    out = bytearray(blob)
    for i in range(16, len(out), 7):
        out[i] = (out[i] * 31 + 17) % 256
    return bytes(out)


CORRUPTIONS = {
    "truncated": lambda blob: blob[: len(blob) // 2],
    "garbled": _scramble,
    "tail-cut": lambda blob: blob[:-3],
}


def _crafted(artifact: Path, dest: Path, corrupt) -> Path:  # noqa: ANN001
    shutil.copytree(artifact, dest)
    meta = json.loads((dest / "metadata.json").read_text())
    model_file = dest / meta["model_file"]
    model_file.write_bytes(corrupt(model_file.read_bytes()))
    meta["files"][meta["model_file"]] = hashlib.sha256(model_file.read_bytes()).hexdigest()  # re-signed
    (dest / "metadata.json").write_text(json.dumps(meta))
    return dest


@pytest.mark.parametrize("how", sorted(CORRUPTIONS))
def test_deploying_a_corrupt_model_file_is_refused_and_the_server_lives(
    how: str,
    server: LocalApiServer,
    tenants: dict[str, str],
    artifact: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = _crafted(artifact, tmp_path / f"corrupt-{how}", CORRUPTIONS[how])
    meta = json.loads((folder / "metadata.json").read_text())
    record = models.register_model(
        "acme",
        "broken",
        template="reliability_grid",
        task=meta["task"],
        algorithm=meta["algorithm"],
        features=list(meta["features"]),
        target=meta["target"],
        data_window={},
        metrics={},
        baseline_metrics={},
        artifact_uri=str(folder),
        sha256=sha256_file(folder / "metadata.json"),
    )
    key = {"x-api-key": tenants["free"]}
    answer = requests.post(
        f"{server.url}/api/v1/models/broken/deploy", json={"version": record.version}, headers=key, timeout=120
    )
    assert 400 <= answer.status_code < 500, answer.text
    # the client gets the API's error without internals; the operator's log names the file and why
    assert answer.json()["error"]["code"] == "artifact_integrity_failed", answer.text
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "file 'model.ubj'" in logged, logged
    assert "cannot be loaded as xgboost-ubj" in logged or "crashed the model loader" in logged
    assert models.get_model("acme", "broken").deployed_version is None
    # the same server process still answers, and the good model still predicts
    assert requests.get(f"{server.url}/api/v1/health", timeout=30).status_code == 200
    rows = {"instances": [{"driver_id": "d1", "start_position": 1.0}, {"driver_id": "d2", "start_position": 2.0}]}
    assert requests.post(f"{server.url}/api/v1/predict/grid", json=rows, headers=key, timeout=60).status_code == 200
