"""The PyTorch MLP (``algorithm="torch_mlp"``) on real F1 data (2022-2023): trains, saves as
``torch-npz`` (float32 .npz + mlp.json, no pickle), loads back with identical predictions, and a
tampered artifact is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pitwall.ml import ModelBuilder, load_model
from pitwall.ml.artifacts import PICKLE_SUFFIXES
from pitwall.ml.errors import ArtifactIntegrityError

SMALL = {"max_epochs": 30}


@pytest.mark.parametrize(("task", "target", "top_k"), [("ranking", "position", 3), ("regression", "points", None)])
def test_torch_mlp_round_trip_gives_identical_predictions(
    frame: pd.DataFrame, features: list[str], tmp_path: Path, task: str, target: str, top_k: int | None
) -> None:
    model = ModelBuilder(task, target, features=features, top_k=top_k).train(frame, "torch_mlp", params=SMALL)
    path = model.save(tmp_path / "mlp")
    files = sorted(p.name for p in path.rglob("*") if p.is_file())
    assert files == ["metadata.json", "mlp.json", "model.npz"]
    assert not any(Path(f).suffix in PICKLE_SUFFIXES for f in files)
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["model_format"] == "torch-npz" and set(meta["files"]) == {"mlp.json", "model.npz"}
    loaded = load_model(path)
    assert np.array_equal(loaded.raw_output(frame), model.raw_output(frame))
    assert np.isfinite(model.raw_output(frame)).all()


def test_a_tampered_torch_mlp_artifact_is_refused(frame: pd.DataFrame, features: list[str], tmp_path: Path) -> None:
    model = ModelBuilder("ranking", "position", features=features, top_k=3).train(frame, "torch_mlp", params=SMALL)
    path = model.save(tmp_path / "mlp")
    arch = json.loads((path / "mlp.json").read_text())
    arch["scale"][0] *= 2
    (path / "mlp.json").write_text(json.dumps(arch))
    with pytest.raises(ArtifactIntegrityError, match="mlp.json"):
        load_model(path)
    # consistent checksums do not help: the weights must be the layers mlp.json describes
    meta = json.loads((path / "metadata.json").read_text())
    arch["hidden"] = [8, 8]
    text = json.dumps(arch)
    (path / "mlp.json").write_text(text)
    import hashlib

    meta["files"]["mlp.json"] = hashlib.sha256(text.encode()).hexdigest()
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactIntegrityError, match="float32 array of shape"):
        load_model(path)
