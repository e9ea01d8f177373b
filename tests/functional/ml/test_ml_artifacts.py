"""Artifacts: safe formats round-trip bit for bit; tampering and unsafe bundles are refused."""

from __future__ import annotations

import io
import json
import os
import pickle
import stat
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pitwall.ml import (
    ArtifactIntegrityError,
    EnsembleModel,
    ModelBuilder,
    export_bundle,
    holdout_split,
    import_bundle,
    load_model,
)
from pitwall.ml.artifacts import sha256_file
from pitwall.ml.errors import MLInputError
from pitwall.ml.metrics import default_metric, direction

SMALL = {
    "xgboost": {"n_estimators": 40},
    "lightgbm": {"n_estimators": 40},
    "random_forest": {"n_estimators": 40},
    "gradient_boosting": {"max_iter": 40},
    "neural_net": {"max_iter": 150},
    "logistic": {},
    "linear": {},
}
MODEL_FILE = {"xgboost": "model.ubj", "lightgbm": "model.txt"}


@pytest.fixture
def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = holdout_split(frame, last_n_races=4)
    return frame.iloc[train], frame.iloc[test]


@pytest.fixture
def saved(split: tuple[pd.DataFrame, pd.DataFrame], features: list[str], tmp_path: Path) -> Path:
    model = ModelBuilder("ranking", "position", features=features, top_k=3, template="podium").train(
        split[0], "xgboost", params=SMALL["xgboost"]
    )
    return model.save(tmp_path / "podium")


@pytest.mark.parametrize(
    ("task", "target", "top_k", "algorithm"),
    [
        ("ranking", "position", 1, "xgboost"),
        ("ranking", "position", 3, "lightgbm"),
        ("ranking", "position", None, "random_forest"),
        ("classification", "finish_group", None, "gradient_boosting"),
        ("classification", "podium", None, "neural_net"),
        ("classification", "podium", None, "logistic"),
        ("regression", "points", None, "linear"),
        ("regression", "points", None, "xgboost"),
        ("regression", "points", None, "lightgbm"),
    ],
)
def test_round_trip_gives_identical_predictions(
    split: tuple[pd.DataFrame, pd.DataFrame],
    features: list[str],
    tmp_path: Path,
    task: str,
    target: str,
    top_k: int | None,
    algorithm: str,
) -> None:
    train, test = split
    model = ModelBuilder(task, target, features=features, top_k=top_k).train(train, algorithm, params=SMALL[algorithm])
    model.evaluate(test)
    folder = model.save(tmp_path / "m")
    meta = json.loads((folder / "metadata.json").read_text())
    expected_file = MODEL_FILE.get(algorithm, "model.skops")
    assert set(meta["files"]) == {expected_file}
    assert meta["files"][expected_file] == sha256_file(folder / expected_file)
    assert meta["algorithm"] == algorithm and meta["features"] == features and meta["top_k"] == top_k
    assert meta["data_window"]["last_race"] == train["race_id"].iloc[-1]
    assert "scikit-learn" in meta["library_versions"] and meta["created_at"]
    assert meta["metrics"] == pytest.approx(model.metrics)
    assert (meta["metric"], meta["score"]) == (default_metric(task, top_k), None)  # untuned: no CV score
    assert meta["direction"] == direction(meta["metric"])
    loaded = load_model(folder)
    assert np.array_equal(np.asarray(model.predict(test)), np.asarray(loaded.predict(test)))
    if task == "classification" or top_k is not None:
        assert np.array_equal(model.predict_proba(test), loaded.predict_proba(test))
    assert loaded.feature_importance() == pytest.approx(model.feature_importance())
    assert loaded.classes == model.classes and loaded.metrics == pytest.approx(model.metrics)
    with pytest.raises(MLInputError, match="not empty"):
        model.save(folder)


def test_ensemble_saves_a_folder_per_member(
    split: tuple[pd.DataFrame, pd.DataFrame], features: list[str], tmp_path: Path
) -> None:
    train, test = split
    builder = ModelBuilder("ranking", "position", features=features, top_k=1)
    members = [builder.train(train, a, params=SMALL[a]) for a in ("lightgbm", "logistic", "random_forest")]
    ensemble = EnsembleModel(members, score=0.1, metric="log_loss")
    expected = np.mean([m.raw_output(test) for m in members], axis=0)[:, 1]
    assert np.allclose(pd.Series(ensemble.predict(test)).groupby(test["race_id"].to_numpy()).sum(), 1.0)
    folder = ensemble.save(tmp_path / "ens")
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["kind"] == "ensemble"
    assert sorted(meta["files"]) == [
        "members/00-lightgbm/model.txt",
        "members/01-logistic/model.skops",
        "members/02-random_forest/model.skops",
    ]
    loaded = load_model(folder)
    assert isinstance(loaded, EnsembleModel) and loaded.member_algorithms == ["lightgbm", "logistic", "random_forest"]
    assert np.array_equal(loaded.raw_output(test)[:, 1], expected)
    assert np.array_equal(loaded.predict(test), ensemble.predict(test))


def test_modified_byte_is_detected(saved: Path) -> None:
    target = saved / "model.ubj"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(ArtifactIntegrityError, match="'model.ubj': sha256 mismatch"):
        load_model(saved)


def test_missing_extra_and_symlinked_files_are_detected(saved: Path, tmp_path: Path) -> None:
    (saved / "notes.txt").write_text("hello")
    with pytest.raises(ArtifactIntegrityError, match="'notes.txt': unexpected file"):
        load_model(saved)
    (saved / "notes.txt").unlink()
    (saved / "model.pkl").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ArtifactIntegrityError, match="'model.pkl': unexpected file"):
        load_model(saved)
    (saved / "model.pkl").unlink()
    os.symlink(saved / "model.ubj", saved / "link.ubj")
    with pytest.raises(ArtifactIntegrityError, match="symlink"):
        load_model(saved)
    (saved / "link.ubj").unlink()
    (saved / "model.ubj").rename(tmp_path / "moved.ubj")
    with pytest.raises(ArtifactIntegrityError, match="'model.ubj': listed in metadata.json but missing"):
        load_model(saved)


def test_metadata_cannot_point_at_a_pickle(saved: Path) -> None:
    meta = json.loads((saved / "metadata.json").read_text())
    (saved / "model.ubj").rename(saved / "model.pkl")
    meta["files"] = {"model.pkl": sha256_file(saved / "model.pkl")}
    meta["model_file"] = "model.pkl"
    (saved / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactIntegrityError, match="'model.pkl': pickle-type files are not allowed"):
        load_model(saved)


def test_skops_file_with_unlisted_type_is_refused(
    split: tuple[pd.DataFrame, pd.DataFrame], features: list[str], tmp_path: Path
) -> None:
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    model = ModelBuilder("classification", "podium", features=features).train(split[0], "logistic")
    folder = model.save(tmp_path / "m")
    sio.dump(FunctionTransformer(func=os.system), folder / "model.skops")  # a hostile payload
    meta = json.loads((folder / "metadata.json").read_text())
    meta["files"]["model.skops"] = sha256_file(folder / "model.skops")  # attacker also rewrites checksums
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactIntegrityError, match="outside the allowlist: .*posix.system|outside the allowlist"):
        load_model(folder)


def test_bundle_round_trip(saved: Path, split: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    blob = export_bundle(saved)
    assert blob == export_bundle(saved)  # deterministic bytes
    dest = import_bundle(blob, tmp_path / "imported")
    assert np.array_equal(load_model(dest).predict(split[1]), load_model(saved).predict(split[1]))
    with pytest.raises(MLInputError, match="not empty"):
        import_bundle(blob, dest)


def _rewrite(blob: bytes, add: dict[str, bytes] | None = None, replace: dict[str, bytes] | None = None) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(blob))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for info in src.infolist():
            zf.writestr(info.filename, (replace or {}).get(info.filename, src.read(info)))
        for name, data in (add or {}).items():
            zf.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("add", "message"),
    [
        ({"../escape.json": b"{}"}, "path traversal"),
        ({"members/../../escape.txt": b"x"}, "path traversal"),
        ({"/etc/evil.txt": b"x"}, "absolute"),
        ({"C:/evil.txt": b"x"}, "absolute"),
        ({"model.pkl": pickle.dumps([1, 2])}, "pickle-type files are not allowed"),
        ({"weights.joblib": b"x"}, "pickle-type files are not allowed"),
        ({"extra.json": b"{}"}, "'extra.json': not listed in metadata.json"),
        ({"run.sh": b"#!/bin/sh"}, "not an allowed artifact format"),
    ],
)
def test_bundle_rejects_unsafe_entries(saved: Path, tmp_path: Path, add: dict[str, bytes], message: str) -> None:
    blob = _rewrite(export_bundle(saved), add=add)
    dest = tmp_path / "imported"
    with pytest.raises(ArtifactIntegrityError, match=message):
        import_bundle(blob, dest)
    assert not dest.exists() and not list(tmp_path.glob(".imported*"))


def test_bundle_rejects_symlink_entries(saved: Path, tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf, zipfile.ZipFile(io.BytesIO(export_bundle(saved))) as src:
        for info in src.infolist():
            zf.writestr(info.filename, src.read(info))
        link = zipfile.ZipInfo("model.json")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(ArtifactIntegrityError, match="symlinks are not allowed"):
        import_bundle(out.getvalue(), tmp_path / "imported")


def test_bundle_rejects_tampered_and_incomplete_content(saved: Path, tmp_path: Path) -> None:
    blob = export_bundle(saved)
    original = zipfile.ZipFile(io.BytesIO(blob)).read("model.ubj")
    tampered = _rewrite(blob, replace={"model.ubj": original[:-1] + bytes([original[-1] ^ 0xFF])})
    with pytest.raises(ArtifactIntegrityError, match="'model.ubj': sha256 mismatch"):
        import_bundle(tampered, tmp_path / "a")
    pickled = _rewrite(blob, replace={"model.ubj": pickle.dumps(object)})
    with pytest.raises(ArtifactIntegrityError, match="pickle data is not allowed"):
        import_bundle(pickled, tmp_path / "b")
    src = zipfile.ZipFile(io.BytesIO(blob))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("metadata.json", src.read("metadata.json"))
    with pytest.raises(ArtifactIntegrityError, match="'model.ubj' listed in metadata.json is missing"):
        import_bundle(out.getvalue(), tmp_path / "c")
    with pytest.raises(ArtifactIntegrityError, match="not a zip"):
        import_bundle(b"PK-not-really", tmp_path / "d")
    assert not any(p.exists() for p in (tmp_path / "a", tmp_path / "b", tmp_path / "c", tmp_path / "d"))


def test_rewritten_metadata_is_refused_with_a_clear_error(saved: Path) -> None:
    meta_path = saved / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "algorithm": "svm"}))
    with pytest.raises(ArtifactIntegrityError, match="unknown algorithm 'svm'"):
        load_model(saved)
    (saved / "model.ubj").write_bytes(b"not a booster")
    meta_path.write_text(json.dumps({**meta, "files": {"model.ubj": sha256_file(saved / "model.ubj")}}))
    with pytest.raises(ArtifactIntegrityError, match="'model.ubj': cannot be loaded as xgboost-ubj"):
        load_model(saved)
    meta_path.write_text("{not json")
    with pytest.raises(ArtifactIntegrityError, match="not valid JSON"):
        load_model(saved)
