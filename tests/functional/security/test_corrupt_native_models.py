"""Corrupt native model files (LightGBM text, XGBoost UBJSON) are refused by ``load_model`` with an
error naming the file, and never take the loading process down: they are test-loaded in a child
process first (a truncated LightGBM file aborts its parser, a garbled one can loop in it)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from pitwall.ml import artifacts
from pitwall.ml.errors import ArtifactIntegrityError

from .conftest import FEATURES, podium_frame


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from pitwall.ml.builder import ModelBuilder

    frame = podium_frame((2023,))
    out = {}
    for algorithm in ("lightgbm", "xgboost"):
        model = ModelBuilder("classification", "podium", features=FEATURES).train(
            frame, algorithm, params={"n_estimators": 10}
        )
        out[algorithm] = model.save(tmp_path_factory.mktemp(algorithm) / "model")
    return out


def _garble(blob: bytes) -> bytes:
    return bytes((b * 7 + 3) % 128 if i % 5 == 0 and i > 10 else b for i, b in enumerate(blob))


CORRUPTIONS = {
    "truncated": lambda blob: blob[: len(blob) // 2],
    "garbled": _garble,
    "one-byte": lambda blob: blob[:1],
}


@pytest.mark.parametrize("algorithm", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("how", sorted(CORRUPTIONS))
def test_a_corrupt_native_model_file_is_refused_naming_it(
    saved: dict[str, Path], algorithm: str, how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(artifacts, "PROBE_TIMEOUT_S", 20.0)  # a parser stuck in a loop is cut off sooner
    folder = tmp_path / "crafted"
    shutil.copytree(saved[algorithm], folder)
    meta = json.loads((folder / "metadata.json").read_text())
    model_file = folder / meta["model_file"]
    model_file.write_bytes(CORRUPTIONS[how](model_file.read_bytes()))
    meta["files"][meta["model_file"]] = hashlib.sha256(model_file.read_bytes()).hexdigest()  # re-signed
    (folder / "metadata.json").write_text(json.dumps(meta))

    with pytest.raises(ArtifactIntegrityError) as info:
        artifacts.load_model(folder)
    message = str(info.value)
    assert repr(meta["model_file"]) in message, message
    assert any(p in message for p in ("cannot be loaded as", "crashed the model loader", "did not finish within"))
    # and the good artifact still loads in this (surviving) process
    assert artifacts.load_model(saved[algorithm]).algorithm == algorithm
