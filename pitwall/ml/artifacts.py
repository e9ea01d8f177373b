"""Model artifacts: safe file formats, ``metadata.json`` with checksums, bundles.

An artifact is a folder::

    metadata.json            what the model is (see ``save_model``) + sha256 of every file
    model.ubj | model.txt | model.skops           single model
    members/00-xgboost/model.ubj, members/01-...  averaging ensemble, one folder per member

Formats: XGBoost UBJSON (``save_model``), LightGBM text (``Booster.save_model``) and
scikit-learn through skops (``skops.io``) loaded with an explicit allowlist of the
non-default types our estimators need. Nothing is ever unpickled.

``load_model`` verifies the folder first: every file listed in ``metadata.json`` must exist
with the recorded sha256, no other file may be present, no symlink, no unsafe name, no
pickle. ``export_bundle`` / ``import_bundle`` move an artifact as one zip (marketplace);
import checks every entry and checksum in memory before writing anything.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import platform
import shutil
import stat
import uuid
import zipfile
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from pitwall.ml import algorithms as A
from pitwall.ml import metrics as M
from pitwall.ml.dataset import TaskSpec
from pitwall.ml.errors import ArtifactIntegrityError, MLInputError
from pitwall.ml.model import BaseModel, EnsembleModel, TrainedModel

METADATA_FILE = "metadata.json"
FORMAT_VERSION = 1
MODEL_FILES = {"xgboost-ubj": "model.ubj", "lightgbm-txt": "model.txt", "skops": "model.skops"}
ALLOWED_SUFFIXES = frozenset({".json", ".ubj", ".txt", ".skops"})
PICKLE_SUFFIXES = frozenset({".pkl", ".pickle", ".joblib", ".dill", ".pt", ".pth", ".npy", ".npz", ".sav"})
# Non-default types skops must accept for our scikit-learn estimators, and nothing else.
SKOPS_TRUSTED_TYPES = frozenset(
    {
        "numpy.dtype",
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn._loss.loss.HalfMultinomialLoss",
        "sklearn._loss.loss.HalfSquaredError",
        "sklearn._loss.link.IdentityLink",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.link.MultinomialLogit",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    }
)
# Estimator classes each skops-saved algorithm may contain at top level.
SKOPS_CLASSES = {
    "random_forest": {"RandomForestClassifier", "RandomForestRegressor"},
    "gradient_boosting": {"HistGradientBoostingClassifier", "HistGradientBoostingRegressor"},
    "neural_net": {"Pipeline"},
    "logistic": {"Pipeline"},
    "linear": {"Pipeline"},
}
MAX_BUNDLE_BYTES = 512 * 1024 * 1024
MAX_BUNDLE_FILES = 256
_LIBRARIES = ("numpy", "pandas", "scikit-learn", "xgboost", "xgboost-cpu", "lightgbm", "skops", "optuna", "pitwall")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a model depends on (installed ones only)."""
    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return out


def _jsonable(value: Any) -> Any:
    """numpy scalars -> Python, NaN/inf -> None, tuples -> lists (recursively)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def check_member_name(name: str) -> PurePosixPath:
    """A file name inside an artifact: relative, forward slashes, no ``..``, allowed suffix."""
    if not isinstance(name, str) or not name:
        raise ArtifactIntegrityError(f"file name {name!r}: empty or not text")
    if "\\" in name or "\x00" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ArtifactIntegrityError(f"file {name!r}: absolute or non-portable path")
    path = PurePosixPath(name)
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise ArtifactIntegrityError(f"file {name!r}: path traversal or empty path component")
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise ArtifactIntegrityError(f"file {name!r}: pickle-type files are not allowed")
    if suffix not in ALLOWED_SUFFIXES:
        raise ArtifactIntegrityError(
            f"file {name!r}: suffix {suffix or '(none)'} is not an allowed artifact format "
            f"({', '.join(sorted(ALLOWED_SUFFIXES))})"
        )
    return path


def _looks_like_pickle(data: bytes) -> bool:
    return len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5


# ---------------------------------------------------------------------------------------
# save
# ---------------------------------------------------------------------------------------
def _write_estimator(model: TrainedModel, folder: Path) -> tuple[str, str]:
    """Write ``model.estimator`` into ``folder``; return (file name, format)."""
    fmt = A.get_algorithm(model.algorithm).fmt
    path = folder / MODEL_FILES[fmt]
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "xgboost-ubj":
        model.estimator.save_model(str(path))
    elif fmt == "lightgbm-txt":
        model.estimator.save_model(str(path))
    else:
        import skops.io as sio

        sio.dump(model.estimator, path)
    return path.name, fmt


def _common_metadata(model: BaseModel) -> dict[str, Any]:
    spec = model.spec
    return {
        "format_version": FORMAT_VERSION,
        "template": spec.template,
        "task": spec.task,
        "target": spec.target,
        "top_k": spec.top_k,
        "group_col": spec.group_col,
        "entity_col": spec.entity_col,
        "offset": spec.offset,
        "algorithm": model.algorithm,
        "features": list(model.features),
        "params": model.params,
        "classes": model.classes,
        "seed": model.seed,
        "feature_importance": model.feature_importance(),
        "data_window": model.data_window,
        "metric": model.metric,
        "direction": M.direction(model.metric),
        "score": model.score,
        "metrics": model.metrics,
        "tuning": model.tuning,
        "calibration": model.calibration,
        "training_time_s": model.training_time_s,
        "library_versions": library_versions(),
        "created_at": model.created_at,
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def save_model(model: BaseModel, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``model`` as an artifact folder at ``path`` and return it.

    ``metadata.json`` holds: ``format_version``, ``kind`` (single/ensemble), ``template``,
    ``task``, ``target``, ``top_k``, ``group_col``, ``entity_col``, ``algorithm``, ``features``,
    ``params``, ``classes``, ``seed``, ``feature_importance``, ``data_window`` (seasons,
    first/last race, races, rows), ``metric``/``score`` (CV), ``metrics``, ``tuning``,
    ``training_time_s``, ``library_versions``, ``created_at``, ``saved_at``, the model file(s)
    and ``files`` (relative path -> sha256 of every other file). The folder is written
    beside ``path`` and renamed into place, so a failure leaves no partial artifact.
    """
    dest = Path(path)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())) and not overwrite:
        raise MLInputError(f"path: {str(dest)!r} already exists and is not empty (pass overwrite=True)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        meta = _common_metadata(model)
        if isinstance(model, EnsembleModel):
            meta["kind"] = "ensemble"
            members = []
            for i, member in enumerate(model.members):
                rel = f"members/{i:02d}-{member.algorithm}"
                name, fmt = _write_estimator(member, tmp / rel)
                members.append(
                    {
                        "algorithm": member.algorithm,
                        "params": member.params,
                        "model_file": f"{rel}/{name}",
                        "model_format": fmt,
                        "seed": member.seed,
                        "feature_importance": member.feature_importance(),
                        "training_time_s": member.training_time_s,
                    }
                )
            meta["members"] = members
        elif isinstance(model, TrainedModel):
            meta["kind"] = "single"
            name, fmt = _write_estimator(model, tmp)
            meta["model_file"], meta["model_format"] = name, fmt
        else:
            raise MLInputError(f"model: cannot save a {type(model).__name__}")
        meta["files"] = {p.relative_to(tmp).as_posix(): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        text = json.dumps(_jsonable(meta), indent=2, sort_keys=True, allow_nan=False)
        (tmp / METADATA_FILE).write_text(text + "\n", encoding="utf-8")
        if dest.exists():
            shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


# ---------------------------------------------------------------------------------------
# verify + load
# ---------------------------------------------------------------------------------------
def _parse_metadata(raw: bytes, where: str) -> dict[str, Any]:
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactIntegrityError(f"{METADATA_FILE} in {where}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise ArtifactIntegrityError(f"{METADATA_FILE} in {where}: expected a JSON object")
    files = meta.get("files")
    if not isinstance(files, dict) or not files:
        raise ArtifactIntegrityError(f"{METADATA_FILE} in {where}: missing the 'files' checksum table")
    for name, digest in files.items():
        if name == METADATA_FILE:
            raise ArtifactIntegrityError(f"{METADATA_FILE} in {where}: lists itself in 'files'")
        check_member_name(name)
        if not isinstance(digest, str) or len(digest) != 64:
            raise ArtifactIntegrityError(f"{METADATA_FILE} in {where}: bad sha256 for file {name!r}")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ArtifactIntegrityError(
            f"{METADATA_FILE} in {where}: format_version {meta.get('format_version')!r} is not supported "
            f"(expected {FORMAT_VERSION})"
        )
    return meta


def verify_artifact(path: str | Path) -> dict[str, Any]:
    """Check an artifact folder and return its metadata; raise ``ArtifactIntegrityError``.

    Checks: ``metadata.json`` parses; every listed file exists, is a regular file and has
    the recorded sha256; no other file or any symlink is present.
    """
    root = Path(path)
    if not root.is_dir():
        raise ArtifactIntegrityError(f"artifact {str(root)!r}: not a folder")
    meta_path = root / METADATA_FILE
    if meta_path.is_symlink() or not meta_path.is_file():
        raise ArtifactIntegrityError(f"artifact {str(root)!r}: missing {METADATA_FILE}")
    meta = _parse_metadata(meta_path.read_bytes(), str(root))
    files: dict[str, str] = meta["files"]
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for name in [*dirnames, *filenames]:
            entry = here / name
            rel = entry.relative_to(root).as_posix()
            if entry.is_symlink():
                raise ArtifactIntegrityError(f"file {rel!r}: symlinks are not allowed in an artifact")
            if name in filenames and rel != METADATA_FILE and rel not in files:
                raise ArtifactIntegrityError(f"file {rel!r}: unexpected file (not listed in {METADATA_FILE})")
    for rel, digest in files.items():
        entry = root / rel
        if not entry.is_file():
            raise ArtifactIntegrityError(f"file {rel!r}: listed in {METADATA_FILE} but missing")
        if sha256_file(entry) != digest:
            raise ArtifactIntegrityError(f"file {rel!r}: sha256 mismatch (modified or corrupted)")
    return meta


def _load_estimator(algorithm: str, kind: str, fmt: str, path: Path, params: dict[str, Any]) -> Any:
    """Deserialise one estimator file (already checksum-verified) with its safe loader."""
    try:
        expected = A.get_algorithm(algorithm, kind).fmt
    except MLInputError as exc:
        raise ArtifactIntegrityError(f"{METADATA_FILE}: {exc}") from None
    if fmt != expected:
        raise ArtifactIntegrityError(f"file {path.name!r}: format {fmt!r} does not match algorithm {algorithm!r}")
    try:
        return _read_estimator(algorithm, kind, fmt, path, params)
    except ArtifactIntegrityError:
        raise
    except Exception as exc:  # a library refusing the file: name it, no stack trace
        raise ArtifactIntegrityError(f"file {path.name!r}: cannot be loaded as {fmt} ({exc})") from None


def _read_estimator(algorithm: str, kind: str, fmt: str, path: Path, params: dict[str, Any]) -> Any:
    if fmt == "xgboost-ubj":
        import xgboost as xgb

        # the thread count is not part of the saved booster: restore the trained setting
        threads = {"n_jobs": params["n_jobs"]} if isinstance(params.get("n_jobs"), int) else {}
        est = xgb.XGBClassifier(**threads) if kind == "classifier" else xgb.XGBRegressor(**threads)
        est.load_model(str(path))
        return est
    if fmt == "lightgbm-txt":
        import lightgbm as lgb

        return lgb.Booster(model_file=str(path))
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=path)
    unknown = sorted(set(untrusted) - SKOPS_TRUSTED_TYPES)
    if unknown:
        raise ArtifactIntegrityError(f"file {path.name!r}: contains types outside the allowlist: {', '.join(unknown)}")
    est = sio.load(path, trusted=list(untrusted))
    if type(est).__name__ not in SKOPS_CLASSES[algorithm]:
        raise ArtifactIntegrityError(f"file {path.name!r}: holds a {type(est).__name__}, not a {algorithm} estimator")
    return est


def _spec_from(meta: dict[str, Any]) -> TaskSpec:
    try:
        return TaskSpec(
            task=meta["task"],
            target=meta["target"],
            features=tuple(meta["features"]),
            top_k=meta.get("top_k"),
            group_col=meta.get("group_col", "race_id"),
            entity_col=meta.get("entity_col", "driver_id"),
            template=meta.get("template"),
            offset=meta.get("offset"),
        )
    except (KeyError, TypeError, MLInputError) as exc:
        raise ArtifactIntegrityError(f"{METADATA_FILE}: invalid model description ({exc})") from None


def load_model(path: str | Path) -> BaseModel:
    """Verify (``verify_artifact``) then load an artifact folder written by ``save_model``."""
    root = Path(path)
    meta = verify_artifact(root)
    spec = _spec_from(meta)
    common = {
        "score": meta.get("score"),
        "metric": meta.get("metric"),
        "metrics": dict(meta.get("metrics") or {}),
        "tuning": meta.get("tuning"),
        "created_at": meta.get("created_at"),
    }

    def member(entry: dict[str, Any], importance: dict[str, float]) -> TrainedModel:
        est = _load_estimator(
            entry["algorithm"], spec.kind, entry["model_format"], root / entry["model_file"], dict(entry["params"])
        )
        return TrainedModel(
            spec=spec,
            algorithm=entry["algorithm"],
            params=dict(entry["params"]),
            estimator=est,
            features=list(meta["features"]),
            classes=meta.get("classes"),
            seed=int(entry.get("seed", meta.get("seed", 0))),
            importance=importance,
            data_window=dict(meta.get("data_window") or {}),
            training_time_s=float(entry.get("training_time_s", meta.get("training_time_s", 0.0))),
            calibration=entry.get("calibration"),
            **common,
        )

    try:
        if meta.get("kind") == "ensemble":
            members = [member(e, e.get("feature_importance", {})) for e in meta["members"]]
            for m in members:
                m.score = m.tuning = None
                m.metrics = {}
            return EnsembleModel(members, **common)
        if meta.get("kind") == "single":
            entry = {k: meta[k] for k in ("algorithm", "params", "model_file", "model_format")}
            entry["seed"], entry["training_time_s"] = meta.get("seed", 0), meta.get("training_time_s", 0.0)
            entry["calibration"] = meta.get("calibration")
            return member(entry, meta.get("feature_importance", {}))
    except (KeyError, TypeError) as exc:
        raise ArtifactIntegrityError(f"{METADATA_FILE}: incomplete model description (missing {exc})") from None
    raise ArtifactIntegrityError(f"{METADATA_FILE}: unknown artifact kind {meta.get('kind')!r}")


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Verified ``metadata.json`` of an artifact folder (nothing is deserialised)."""
    return verify_artifact(path)


# ---------------------------------------------------------------------------------------
# bundles
# ---------------------------------------------------------------------------------------
def export_bundle(path: str | Path) -> bytes:
    """Verify the artifact folder and return it as deterministic zip bytes."""
    root = Path(path)
    meta = verify_artifact(root)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in [METADATA_FILE, *sorted(meta["files"])]:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, (root / name).read_bytes())
    return buffer.getvalue()


def bundle_files(data: bytes) -> dict[str, bytes]:
    """The checked files (``{name: bytes}``) of a bundle from ``export_bundle``; nothing is written.

    Rejected (``ArtifactIntegrityError``): a bundle that is not a zip or is too large; entries
    with absolute or ``..`` paths, backslashes, symlinks, duplicates, pickle files or
    disallowed suffixes; entries not listed in ``metadata.json`` or listed files that are
    absent; any sha256 mismatch. The one bundle check: ``import_bundle`` and the marketplace
    (``pitwall.marketplace.bundles.check_bundle``) both apply it.
    """
    if not isinstance(data, bytes | bytearray):
        raise MLInputError(f"data: expected bytes, got {type(data).__name__}")
    if len(data) > MAX_BUNDLE_BYTES:
        raise ArtifactIntegrityError(f"bundle: {len(data)} bytes exceeds the {MAX_BUNDLE_BYTES} byte limit")
    try:
        zf = zipfile.ZipFile(io.BytesIO(bytes(data)))
    except zipfile.BadZipFile:
        raise ArtifactIntegrityError("bundle: not a zip archive") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_BUNDLE_FILES:
            raise ArtifactIntegrityError(f"bundle: {len(infos)} entries exceed the limit of {MAX_BUNDLE_FILES}")
        if sum(i.file_size for i in infos) > MAX_BUNDLE_BYTES:
            raise ArtifactIntegrityError("bundle: uncompressed size exceeds the limit")
        seen: set[str] = set()
        files: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise ArtifactIntegrityError(f"bundle entry {name!r}: symlinks are not allowed")
            if name in seen:
                raise ArtifactIntegrityError(f"bundle entry {name!r}: duplicate entry")
            seen.add(name)
            if info.is_dir():
                check_member_name(name.rstrip("/") + "/x.json")  # same path rules for folders
                continue
            if name != METADATA_FILE:
                check_member_name(name)
            files[name] = info
        if METADATA_FILE not in files:
            raise ArtifactIntegrityError(f"bundle: missing {METADATA_FILE}")
        meta = _parse_metadata(zf.read(files[METADATA_FILE]), "bundle")
        listed: dict[str, str] = meta["files"]
        for name in files:
            if name != METADATA_FILE and name not in listed:
                raise ArtifactIntegrityError(f"bundle entry {name!r}: not listed in {METADATA_FILE}")
        contents: dict[str, bytes] = {METADATA_FILE: zf.read(files[METADATA_FILE])}
        for name, digest in listed.items():
            if name not in files:
                raise ArtifactIntegrityError(f"bundle: file {name!r} listed in {METADATA_FILE} is missing")
            try:
                blob = zf.read(files[name])
            except zipfile.BadZipFile as exc:
                raise ArtifactIntegrityError(f"bundle entry {name!r}: corrupted ({exc})") from None
            if _looks_like_pickle(blob):
                raise ArtifactIntegrityError(f"bundle entry {name!r}: pickle data is not allowed")
            if sha256_bytes(blob) != digest:
                raise ArtifactIntegrityError(f"bundle entry {name!r}: sha256 mismatch (modified or corrupted)")
            contents[name] = blob
    return contents


def import_bundle(data: bytes, dest_dir: str | Path) -> Path:
    """Check a bundle (``bundle_files``) and unpack it into ``dest_dir`` (new or empty); nothing
    is written when the check fails. Returns the artifact folder, ready for ``load_model``."""
    contents = bundle_files(data)
    dest = Path(dest_dir)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise MLInputError(f"dest_dir: {str(dest)!r} already exists and is not empty")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.tmp-{uuid.uuid4().hex}"
    try:
        for name, blob in contents.items():
            target = tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
        verify_artifact(tmp)
        if dest.exists():
            dest.rmdir()
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
