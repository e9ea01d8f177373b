"""Model artifacts: safe file formats, ``metadata.json`` with checksums, bundles.

An artifact is a folder::

    metadata.json            what the model is (see ``save_model``) + sha256 of every file
    model.ubj | model.txt | model.cbm | model.skops   single model
    model.npz + mlp.json     single torch_mlp model (weights; architecture and scalers)
    members/00-xgboost/model.ubj, members/01-...  averaging ensemble, one folder per member

Formats: XGBoost UBJSON (``save_model``), LightGBM text (``Booster.save_model``), CatBoost's
binary ``.cbm`` (``save_model(format="cbm")``, a FlatBuffers model, not a pickle), the PyTorch
MLP as ``torch-npz`` (its float32 weights as a NumPy ``.npz`` read with ``allow_pickle=False``, the
architecture and scalers in ``mlp.json`` beside it; never ``torch.save``) and
scikit-learn through skops (``skops.io``) loaded with an explicit allowlist of the
non-default types our estimators need. Nothing is ever unpickled.

The one artifact check, applied to a folder (``verify_artifact``, run by ``load_model``), a zip
bundle (``bundle_files``: ``import_bundle``, the marketplace's ``check_bundle``) and a
``model.tar.gz`` (``tar_members``, the marketplace's S3 path):

- archive rules, from the headers before anything is decompressed: at most
  ``MAX_BUNDLE_BYTES`` received, ``MAX_BUNDLE_FILES`` entries, ``MAX_MEMBER_BYTES`` per file and
  ``MAX_UNPACKED_BYTES`` together, a compression ratio up to ``MAX_COMPRESSION_RATIO``; regular
  files only (no symlink, hard link, device, FIFO), no duplicate, relative names without ``..``,
  allowed suffixes, no pickle-type file;
- ``metadata.json``: strict JSON (size, depth), every listed file present with its sha256 and
  nothing else;
- the described model against the files (``check_description``): a known algorithm for the task,
  its format, ``model_file`` one of the files under the format's name, the file's content in that
  format (no pickle; skops: allowlisted types and the algorithm's estimator class; torch-npz: only
  float32 ``.npy`` entries whose names and shapes are the layers ``mlp.json`` describes);
- native model files (XGBoost, LightGBM, CatBoost) test-loaded in a child process first
  (``probe_artifact``): a crafted file that crashes the C++ parser kills the child, not the caller.

Every refusal is an ``ArtifactIntegrityError`` naming the member and the problem; nothing is
written before the check passes (``import_bundle`` writes beside the destination and renames).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import platform
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import uuid
import zipfile
import zlib
from collections.abc import Callable, Mapping
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
MODEL_FILES = {
    "xgboost-ubj": "model.ubj",
    "lightgbm-txt": "model.txt",
    "catboost-cbm": "model.cbm",
    "skops": "model.skops",
    "torch-npz": "model.npz",
}
TORCH_ARCH_FILE = "mlp.json"
"""Beside a ``torch-npz`` model file: the MLP's architecture and scalers (``pitwall.ml.torch_mlp``)."""
ALLOWED_SUFFIXES = frozenset({".json", ".ubj", ".txt", ".cbm", ".skops", ".npz"})
# .npz is allowed only as a torch-npz model file (checked entry by entry, read with allow_pickle=False)
PICKLE_SUFFIXES = frozenset({".pkl", ".pickle", ".joblib", ".dill", ".pt", ".pth", ".npy", ".sav"})
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
    "conditional_logit": {"Pipeline"},
}
MAX_BUNDLE_BYTES = 256 * 1024 * 1024
"""A bundle or archive as received (compressed)."""
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
"""All files of an artifact together, uncompressed (checked from the headers before anything
is decompressed, and again while reading)."""
MAX_MEMBER_BYTES = 128 * 1024 * 1024
"""One file of an artifact, uncompressed."""
MAX_BUNDLE_FILES = 256
MAX_SKOPS_ENTRIES = 65536
MAX_COMPRESSION_RATIO = 100
"""Uncompressed / compressed size of a file larger than ``RATIO_FLOOR_BYTES`` (a decompression bomb
beyond it); model files compress 2-10x."""
RATIO_FLOOR_BYTES = 1024 * 1024
MAX_METADATA_BYTES = 4 * 1024 * 1024
MAX_JSON_DEPTH = 64
MAX_ENSEMBLE_MEMBERS = 32
PROBE_TIMEOUT_S = 60.0
"""How long the child process that test-loads native model files may take."""
NATIVE_FORMATS = frozenset({"xgboost-ubj", "lightgbm-txt", "catboost-cbm"})
"""Formats parsed by C/C++ code: a crafted file can crash the process, so they are test-loaded in
a child process before they are loaded into this one (``probe_artifact``)."""
_MAGIC = {
    "xgboost-ubj": b"{",
    "lightgbm-txt": b"tree\n",
    "catboost-cbm": b"CBM1",
    "skops": b"PK\x03\x04",
    "torch-npz": b"PK\x03\x04",
}
_LIBRARIES = (
    "numpy",
    "pandas",
    "scikit-learn",
    "xgboost",
    "xgboost-cpu",
    "lightgbm",
    "catboost",
    "skops",
    "optuna",
    "flaml",
    "torch",
    "pitwall",
)
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
# the one check: archives (zip bundles, model.tar.gz), then the files (``check_files``)
# ---------------------------------------------------------------------------------------
def _entry_error(where: str, name: str, problem: str) -> ArtifactIntegrityError:
    return ArtifactIntegrityError(f"{where} entry {name!r}: {problem}")


def _check_sizes(where: str, name: str, size: int, compressed: int | None, total: int) -> None:
    """Size rules of one file (declared sizes, before it is decompressed)."""
    if compressed is not None and size > RATIO_FLOOR_BYTES and size > MAX_COMPRESSION_RATIO * max(compressed, 1):
        raise _entry_error(
            where,
            name,
            f"compression ratio {size // max(compressed, 1)}:1 exceeds the limit of {MAX_COMPRESSION_RATIO}:1 "
            "(decompression bomb)",
        )
    if size > MAX_MEMBER_BYTES:
        raise _entry_error(where, name, f"{size} bytes uncompressed exceeds the limit of {MAX_MEMBER_BYTES} per file")
    if total > MAX_UNPACKED_BYTES:
        raise _entry_error(
            where, name, f"the files together exceed the limit of {MAX_UNPACKED_BYTES} bytes uncompressed"
        )


def _check_entry_name(where: str, name: str) -> None:
    if name == METADATA_FILE:
        return
    try:
        check_member_name(name)
    except ArtifactIntegrityError as exc:
        raise _entry_error(where, name, str(exc).split(": ", 1)[-1]) from None


def zip_members(data: bytes, where: str = "bundle", *, artifact_names: bool = True) -> dict[str, bytes]:
    """The files of a zip bundle, read in memory with the archive rules: at most
    ``MAX_BUNDLE_BYTES`` compressed, ``MAX_BUNDLE_FILES`` entries, ``MAX_MEMBER_BYTES`` per file and
    ``MAX_UNPACKED_BYTES`` together (from the headers, before decompressing, and while reading),
    a compression ratio up to ``MAX_COMPRESSION_RATIO``; regular files and folders only (no
    symlink, device or FIFO), no duplicate, no encrypted entry, safe relative names. Nothing is
    written. ``artifact_names=False`` (a skops file's own zip, never unpacked): any names, up to
    ``MAX_SKOPS_ENTRIES`` entries (one per array)."""
    if not isinstance(data, bytes | bytearray):
        raise MLInputError(f"data: expected bytes, got {type(data).__name__}")
    if len(data) > MAX_BUNDLE_BYTES:
        raise ArtifactIntegrityError(f"{where}: {len(data)} bytes exceeds the {MAX_BUNDLE_BYTES} byte limit")
    check_name = _check_entry_name if artifact_names else (lambda where, name: None)
    try:
        zf = zipfile.ZipFile(io.BytesIO(bytes(data)))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ArtifactIntegrityError(f"{where}: not a zip archive") from None
    files: dict[str, bytes] = {}
    with zf:
        infos = zf.infolist()
        limit = MAX_BUNDLE_FILES if artifact_names else MAX_SKOPS_ENTRIES
        if len(infos) > limit:
            raise ArtifactIntegrityError(f"{where}: {len(infos)} entries exceed the limit of {limit}")
        seen: set[str] = set()
        total = 0
        for info in infos:
            name = info.filename
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise _entry_error(where, name, "symlinks are not allowed")
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise _entry_error(where, name, "only regular files and folders are allowed")
            if name in seen:
                raise _entry_error(where, name, "duplicate entry")
            seen.add(name)
            if info.is_dir():
                check_name(where, name.rstrip("/") + "/x.json")  # same path rules for folders
                continue
            check_name(where, name)
            if info.flag_bits & 0x1:
                raise _entry_error(where, name, "encrypted entries are not allowed")
            total += info.file_size
            _check_sizes(where, name, info.file_size, info.compress_size, total)
        for info in infos:
            if info.is_dir():
                continue
            try:
                with zf.open(info) as fh:
                    blob = fh.read(info.file_size + 1)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, OSError, EOFError) as exc:
                raise _entry_error(where, info.filename, f"corrupted ({exc})") from None
            except Exception as exc:  # noqa: BLE001 - zlib.error and friends: a damaged stream
                raise _entry_error(where, info.filename, f"corrupted ({exc})") from None
            if len(blob) != info.file_size:
                raise _entry_error(where, info.filename, "its size differs from the size its header declares")
            files[info.filename] = blob
    return files


def tar_members(data: bytes, where: str = "archive") -> dict[str, bytes]:
    """The regular files of a ``model.tar.gz`` (names without ``./``), read in memory with the
    archive rules of ``zip_members`` (the ratio over the whole archive); symlinks, hard links,
    devices and FIFOs are refused, nothing is extracted to disk."""
    if not isinstance(data, bytes | bytearray):
        raise MLInputError(f"data: expected bytes, got {type(data).__name__}")
    if len(data) > MAX_BUNDLE_BYTES:
        raise ArtifactIntegrityError(f"{where}: {len(data)} bytes exceeds the {MAX_BUNDLE_BYTES} byte limit")
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(bytes(data)), mode="r:*") as archive:
            for count, member in enumerate(archive, start=1):
                name = member.name.removeprefix("./")
                if count > MAX_BUNDLE_FILES:
                    raise ArtifactIntegrityError(f"{where}: more than {MAX_BUNDLE_FILES} entries")
                if member.issym() or member.islnk():
                    raise _entry_error(where, member.name, "only regular files are allowed (a symlink or hard link)")
                if member.isdir():
                    if name not in ("", "."):
                        _check_entry_name(where, name.rstrip("/") + "/x.json")
                    continue
                if not member.isfile():
                    raise _entry_error(where, member.name, "only regular files are allowed")
                _check_entry_name(where, name)
                if name in files:
                    raise _entry_error(where, member.name, "duplicate entry")
                total += member.size
                if total > RATIO_FLOOR_BYTES and total > MAX_COMPRESSION_RATIO * len(data):
                    raise _entry_error(
                        where,
                        member.name,
                        f"the archive expands more than {MAX_COMPRESSION_RATIO}:1 (decompression bomb)",
                    )
                _check_sizes(where, member.name, member.size, None, total)
                extracted = archive.extractfile(member)
                blob = extracted.read(member.size + 1) if extracted is not None else b""
                if len(blob) != member.size:
                    raise _entry_error(where, member.name, "its size differs from the size its header declares")
                files[name] = blob
    except tarfile.TarError as exc:
        raise ArtifactIntegrityError(f"{where}: not a readable tar archive ({exc})") from None
    except (EOFError, OSError, zlib.error) as exc:
        raise ArtifactIntegrityError(f"{where}: corrupted archive ({exc})") from None
    return files


# ---------------------------------------------------------------------------------------
# the one check: the files
# ---------------------------------------------------------------------------------------
def _json_depth(value: Any) -> int:
    """Nesting depth of parsed JSON (iterative: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _parse_json(raw: bytes, what: str, max_bytes: int = MAX_METADATA_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Strict JSON of a file inside an artifact: size, UTF-8, syntax, no NaN, nesting depth."""
    if len(raw) > max_bytes:
        raise ArtifactIntegrityError(f"{what}: {len(raw)} bytes exceeds the {max_bytes} byte limit")

    def constant(token: str) -> Any:
        raise ValueError(f"{token} is not valid JSON")

    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=constant)
    except RecursionError:
        raise ArtifactIntegrityError(f"{what}: nested deeper than {max_depth} levels") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ArtifactIntegrityError(f"{what}: not valid JSON ({exc})") from None
    if _json_depth(value) > max_depth:
        raise ArtifactIntegrityError(f"{what}: nested deeper than {max_depth} levels")
    return value


def _model_entries(meta: dict[str, Any], where: str) -> list[tuple[str, dict[str, Any]]]:
    """(label, entry) of each model file a ``metadata.json`` describes."""
    kind = meta.get("kind")
    if kind == "single":
        return [("", meta)]
    if kind == "ensemble":
        members = meta.get("members")
        if not isinstance(members, list) or not members or len(members) > MAX_ENSEMBLE_MEMBERS:
            raise ArtifactIntegrityError(
                f"{METADATA_FILE} in {where}: 'members' must list 1 to {MAX_ENSEMBLE_MEMBERS} member models"
            )
        if not all(isinstance(m, dict) for m in members):
            raise ArtifactIntegrityError(f"{METADATA_FILE} in {where}: every entry of 'members' must be an object")
        return [(f"members[{i}].", m) for i, m in enumerate(members)]
    raise ArtifactIntegrityError(f"{METADATA_FILE} in {where}: unknown artifact kind {kind!r}")


def check_description(meta: dict[str, Any], where: str, read: Callable[[str], bytes]) -> None:
    """The model a ``metadata.json`` describes, against the files: a valid task, a known
    algorithm that trains it, ``model_format`` the algorithm's format, ``model_file`` one of the
    listed files under the format's name, that file's content in that format (skops: only the
    allowlisted types and the algorithm's estimator class), any other listed file JSON."""
    spec = _spec_from(meta)
    listed: dict[str, str] = meta["files"]
    model_files: set[str] = set()
    for label, entry in _model_entries(meta, where):
        algorithm = entry.get("algorithm")
        if not isinstance(algorithm, str) or algorithm not in A.ALGORITHMS:
            raise ArtifactIntegrityError(f"{METADATA_FILE} in {where}: {label}unknown algorithm {algorithm!r}")
        try:
            expected = A.get_algorithm(algorithm, spec.kind).fmt
        except MLInputError as exc:
            raise ArtifactIntegrityError(f"{METADATA_FILE} in {where}: {label}{exc}") from None
        fmt = entry.get("model_format")
        if fmt != expected:
            raise ArtifactIntegrityError(
                f"{METADATA_FILE} in {where}: {label}model_format {fmt!r} does not match algorithm "
                f"{algorithm!r} (stored as {expected!r})"
            )
        name = entry.get("model_file")
        if not isinstance(name, str) or name not in listed:
            raise ArtifactIntegrityError(
                f"{METADATA_FILE} in {where}: {label}model_file {name!r} is not one of the artifact's files"
            )
        if PurePosixPath(name).name != MODEL_FILES[fmt]:
            raise ArtifactIntegrityError(
                f"{METADATA_FILE} in {where}: {label}model_file {name!r}: a {fmt} model is stored as "
                f"{MODEL_FILES[fmt]!r}"
            )
        if not isinstance(entry.get("params"), dict):
            raise ArtifactIntegrityError(f"{METADATA_FILE} in {where}: {label}params must be an object")
        check_model_bytes(name, fmt, algorithm, read(name))
        model_files.add(name)
        if fmt == "torch-npz":
            arch = _arch_file(name)
            if arch not in listed:
                raise ArtifactIntegrityError(
                    f"{METADATA_FILE} in {where}: {label}model_file {name!r}: its {TORCH_ARCH_FILE} is not listed"
                )
            _check_torch_npz(name, arch, spec.kind, read(name), read(arch))
            model_files.add(arch)
    for name in sorted(set(listed) - model_files):
        if PurePosixPath(name).suffix.lower() != ".json":
            raise ArtifactIntegrityError(
                f"file {name!r}: not a model file of this artifact (only JSON may sit beside them)"
            )
        _parse_json(read(name), f"file {name!r}")


def _arch_file(model_file: str) -> str:
    """The ``mlp.json`` beside a ``torch-npz`` model file."""
    return str(PurePosixPath(model_file).with_name(TORCH_ARCH_FILE))


def _check_torch_npz(name: str, arch_name: str, kind: str, blob: bytes, arch_blob: bytes) -> None:
    """A torch-npz model: ``mlp.json`` describes an MLP of this kind, and the ``.npz`` (a zip, its own
    archive rules) holds exactly its layers as float32 ``.npy`` arrays of the described shapes, read
    from the array headers (no object arrays, nothing unpickled, nothing built)."""
    from pitwall.ml.torch_mlp import layer_shapes

    arch = _parse_json(arch_blob, f"file {arch_name!r}")
    try:
        shapes = layer_shapes(arch, f"file {arch_name!r}")
    except ValueError as exc:
        raise ArtifactIntegrityError(str(exc)) from None
    if arch.get("kind") != kind:
        raise ArtifactIntegrityError(f"file {arch_name!r}: describes a {arch.get('kind')!r}, not a {kind}")
    inner = zip_members(blob, f"file {name!r}", artifact_names=False)
    expected = {f"{layer}.npy" for layer in shapes}
    if set(inner) != expected:
        raise ArtifactIntegrityError(
            f"file {name!r}: holds {sorted(inner)}, not the layers {TORCH_ARCH_FILE} describes ({sorted(expected)})"
        )
    for entry, data in inner.items():
        shape = shapes[entry.removesuffix(".npy")]
        fh = io.BytesIO(data)
        try:
            version = np.lib.format.read_magic(fh)
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            got, fortran, dtype = read_header(fh)
        except Exception as exc:  # noqa: BLE001 - numpy refusing the header: name it
            raise ArtifactIntegrityError(f"file {name!r}: entry {entry!r} is not a NumPy array ({exc})") from None
        if dtype != np.dtype("<f4") or tuple(got) != shape or fortran:
            raise ArtifactIntegrityError(
                f"file {name!r}: entry {entry!r} must be a float32 array of shape {shape}, got {dtype} {tuple(got)}"
            )
        if len(data) - fh.tell() != 4 * math.prod(shape):
            raise ArtifactIntegrityError(f"file {name!r}: entry {entry!r}: its size does not match its shape")


def check_model_bytes(name: str, fmt: str, algorithm: str, blob: bytes) -> None:
    """The content of a model file is what its format says: no pickle, the format's leading
    bytes, LightGBM text as UTF-8, skops through :func:`_check_skops`."""
    if _looks_like_pickle(blob):
        raise ArtifactIntegrityError(f"file {name!r}: pickle data is not allowed")
    if not blob.startswith(_MAGIC[fmt]):
        raise ArtifactIntegrityError(f"file {name!r}: cannot be loaded as {fmt} (its content does not start like one)")
    if fmt == "lightgbm-txt":
        try:
            blob.decode("utf-8")
        except UnicodeDecodeError:
            raise ArtifactIntegrityError(f"file {name!r}: cannot be loaded as lightgbm-txt (not text)") from None
    if fmt == "skops":
        _check_skops(name, algorithm, blob)


def _check_skops(name: str, algorithm: str, blob: bytes) -> None:
    """A skops file (a zip): its own archive rules, a top-level estimator of ``algorithm``'s
    classes and no type outside ``SKOPS_TRUSTED_TYPES`` (read from its schema, nothing built)."""
    inner = zip_members(blob, f"file {name!r}", artifact_names=False)
    if "schema.json" not in inner:
        raise ArtifactIntegrityError(f"file {name!r}: not a skops file (no schema.json)")
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(data=blob)
    except Exception as exc:  # noqa: BLE001 - skops refusing the file: name it
        raise ArtifactIntegrityError(f"file {name!r}: cannot be read as skops ({exc})") from None
    unknown = sorted(set(untrusted) - SKOPS_TRUSTED_TYPES)
    if unknown:
        raise ArtifactIntegrityError(f"file {name!r}: contains types outside the allowlist: {', '.join(unknown)}")
    schema = _parse_json(inner["schema.json"], f"file {name!r} schema.json", MAX_MEMBER_BYTES, 512)
    cls = schema.get("__class__") if isinstance(schema, dict) else None
    module = schema.get("__module__") if isinstance(schema, dict) else None
    if cls not in SKOPS_CLASSES.get(algorithm, set()) or not str(module).startswith("sklearn."):
        raise ArtifactIntegrityError(f"file {name!r}: holds a {module}.{cls}, not a {algorithm} estimator")


def check_files(files: Mapping[str, bytes], where: str = "bundle") -> dict[str, bytes]:
    """THE artifact check on ``{name: bytes}`` (a bundle's or archive's files): ``metadata.json``
    present and valid, every listed file present with its sha256 and nothing else, no pickle,
    and the described model matching the files (:func:`check_description`). Returns the files."""
    if METADATA_FILE not in files:
        raise ArtifactIntegrityError(f"{where}: missing {METADATA_FILE}")
    for name in files:
        _check_entry_name(where, name)
    meta = _parse_metadata(files[METADATA_FILE], where)
    listed: dict[str, str] = meta["files"]
    for name in sorted(files):
        if name != METADATA_FILE and name not in listed:
            raise _entry_error(where, name, f"not listed in {METADATA_FILE}")
    for name, digest in listed.items():
        if name not in files:
            raise ArtifactIntegrityError(f"{where}: file {name!r} listed in {METADATA_FILE} is missing")
        if _looks_like_pickle(files[name]):
            raise _entry_error(where, name, "pickle data is not allowed")
        if sha256_bytes(files[name]) != digest:
            raise _entry_error(where, name, "sha256 mismatch (modified or corrupted)")
    check_description(meta, where, lambda n: files[n])
    return dict(files)


# ---------------------------------------------------------------------------------------
# native model files: a validating load in a child process first
# ---------------------------------------------------------------------------------------
_PROBED: set[str] = set()
"""sha256 of the ``metadata.json`` of artifacts whose native model files are known to load: tested
in a child process, or written by ``save_model`` in this one (the checksums pin every file)."""
_PROBE_CODE = "import sys; from pitwall.ml.artifacts import _probe_child; _probe_child(sys.argv[1])"


def _needs_probe(meta: dict[str, Any]) -> bool:
    try:
        return any(e.get("model_format") in NATIVE_FORMATS for _, e in _model_entries(meta, "artifact"))
    except ArtifactIntegrityError:
        return False


def probe_artifact(path: str | Path) -> None:
    """Load the (verified) artifact at ``path`` in a child process and predict one row with each
    model file, once per artifact content: a crafted XGBoost/LightGBM/CatBoost file that crashes
    its C++ parser (segfault, abort) ends the child, and this raises ``ArtifactIntegrityError``
    naming the artifact and how the loader died instead of taking this process down."""
    root = Path(path)
    digest = sha256_file(root / METADATA_FILE)
    if digest in _PROBED:
        return
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": ""}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE_CODE, str(root)],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout.decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
        loading = [ln for ln in partial.splitlines() if ln.startswith("pitwall-probe-file: ")]
        what = f"file {loading[-1].removeprefix('pitwall-probe-file: ')!r}" if loading else f"artifact {str(root)!r}"
        raise ArtifactIntegrityError(
            f"{what}: loading it did not finish within {PROBE_TIMEOUT_S:.0f} s (corrupt or crafted model file)"
        ) from None
    if proc.returncode == 0:
        _PROBED.add(digest)
        return
    if proc.returncode < 0:
        try:
            how = signal.Signals(-proc.returncode).name
        except ValueError:
            how = f"signal {-proc.returncode}"
        loading = [ln for ln in proc.stdout.splitlines() if ln.startswith("pitwall-probe-file: ")]
        what = f"file {loading[-1].removeprefix('pitwall-probe-file: ')!r}" if loading else f"artifact {str(root)!r}"
        raise ArtifactIntegrityError(f"{what}: crashed the model loader ({how}): corrupt or crafted model file")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("pitwall-probe: ")]
    reason = lines[-1].removeprefix("pitwall-probe: ") if lines else (proc.stderr.strip().splitlines() or ["?"])[-1]
    raise ArtifactIntegrityError(reason)


def _probe_child(path: str) -> None:
    """In the child: load each model file of the (verified) artifact, announcing it first
    (``pitwall-probe-file: <name>``, so a crash names the file), and predict two rows of zeros
    with each native estimator; print ``pitwall-probe: <reason>`` and exit 3 when a load fails."""
    try:
        root = Path(path)
        meta = verify_artifact(root)
        spec = _spec_from(meta)
        for _, entry in _model_entries(meta, path):
            print(f"pitwall-probe-file: {entry['model_file']}", flush=True)
            fmt = entry["model_format"]
            est = _load_estimator(entry["algorithm"], spec.kind, fmt, root / entry["model_file"], dict(entry["params"]))
            if fmt in NATIVE_FORMATS:
                try:
                    est.predict(np.zeros((2, len(meta["features"]))))
                except Exception:  # noqa: BLE001, S112 - only a crash matters here; errors surface in-process
                    continue
    except ArtifactIntegrityError as exc:
        print(f"pitwall-probe: {exc}", flush=True)
        sys.exit(3)
    except Exception as exc:  # noqa: BLE001 - a library refusing the file: name it
        reason = f"artifact {path!r}: its model file cannot be used ({type(exc).__name__}: {exc})"
        print(f"pitwall-probe: {reason}", flush=True)
        sys.exit(3)


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
    elif fmt == "catboost-cbm":
        model.estimator.save_model(str(path), format="cbm")  # CatBoost's own binary model format
    elif fmt == "torch-npz":
        arrays, arch = model.estimator.to_arrays()
        path.write_bytes(_npz_bytes(arrays))
        text = json.dumps(_jsonable(arch), indent=2, sort_keys=True, allow_nan=False)
        (folder / TORCH_ARCH_FILE).write_text(text + "\n", encoding="utf-8")
    else:
        import skops.io as sio

        sio.dump(model.estimator, path)
    return path.name, fmt


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """A ``.npz`` of plain arrays, byte for byte reproducible (fixed entry times, sorted names)."""
    entries = {}
    for name in sorted(arrays):
        raw = io.BytesIO()
        np.lib.format.write_array(raw, np.ascontiguousarray(arrays[name]), allow_pickle=False)
        entries[f"{name}.npy"] = raw.getvalue()
    return _zip_bytes(entries)


def _zip_bytes(files: Mapping[str, bytes]) -> bytes:
    """A deterministic zip of ``{name: bytes}`` in the given order (fixed entry times, regular
    files 0644, deflated): model bundles and torch-npz weights."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buffer.getvalue()


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
        _PROBED.add(sha256_bytes((text + "\n").encode("utf-8")))  # written from live estimators here
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
    meta = _parse_json(raw, f"{METADATA_FILE} in {where}")
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

    The folder form of the one check (``check_files``): only regular files and folders (no
    symlink, no hard link, device or FIFO), at most ``MAX_BUNDLE_FILES`` files of at most
    ``MAX_MEMBER_BYTES`` each and ``MAX_UNPACKED_BYTES`` together, safe names; ``metadata.json``
    parses; every listed file exists with the recorded sha256 and no other file is present; the
    described model matches its files (``check_description``). Nothing is deserialised.
    """
    root = Path(path)
    if not root.is_dir():
        raise ArtifactIntegrityError(f"artifact {str(root)!r}: not a folder")
    where = repr(str(root))
    present: set[str] = set()
    total = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for name in [*dirnames, *filenames]:
            entry = here / name
            rel = entry.relative_to(root).as_posix()
            info = entry.lstat()
            if stat.S_ISLNK(info.st_mode):
                raise ArtifactIntegrityError(f"file {rel!r}: symlinks are not allowed in an artifact")
            if stat.S_ISDIR(info.st_mode):
                continue
            if not stat.S_ISREG(info.st_mode):
                raise ArtifactIntegrityError(f"file {rel!r}: only regular files are allowed in an artifact")
            if info.st_nlink > 1:
                raise ArtifactIntegrityError(f"file {rel!r}: hard links are not allowed in an artifact")
            present.add(rel)
            if len(present) > MAX_BUNDLE_FILES:
                raise ArtifactIntegrityError(f"artifact {where}: more than {MAX_BUNDLE_FILES} files")
            total += info.st_size
            _check_sizes(f"artifact {where}", rel, info.st_size, None, total)
    if METADATA_FILE not in present:
        raise ArtifactIntegrityError(f"artifact {str(root)!r}: missing {METADATA_FILE}")
    meta = _parse_metadata((root / METADATA_FILE).read_bytes(), str(root))
    files: dict[str, str] = meta["files"]
    for rel in sorted(present - {METADATA_FILE}):
        if rel not in files:
            raise ArtifactIntegrityError(f"file {rel!r}: unexpected file (not listed in {METADATA_FILE})")
    for rel, digest in files.items():
        if rel not in present:
            raise ArtifactIntegrityError(f"file {rel!r}: listed in {METADATA_FILE} but missing")
        if sha256_file(root / rel) != digest:
            raise ArtifactIntegrityError(f"file {rel!r}: sha256 mismatch (modified or corrupted)")
    check_description(meta, str(root), lambda rel: (root / rel).read_bytes())
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
    if fmt == "catboost-cbm":
        import catboost

        est = catboost.CatBoostClassifier() if kind == "classifier" else catboost.CatBoostRegressor()
        est.load_model(str(path), format="cbm")
        return est
    if fmt == "torch-npz":
        from pitwall.ml.torch_mlp import from_arrays

        arch = _parse_json((path.parent / TORCH_ARCH_FILE).read_bytes(), f"file {TORCH_ARCH_FILE!r}")
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        return from_arrays(kind, arch, arrays, f"file {TORCH_ARCH_FILE!r}")
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
    """Verify (``verify_artifact``) then load an artifact folder written by ``save_model``.

    Native model files (XGBoost, LightGBM, CatBoost) are first test-loaded in a child process
    (``probe_artifact``, once per artifact content), so a corrupt or crafted file raises
    ``ArtifactIntegrityError`` instead of crashing this process."""
    root = Path(path)
    meta = verify_artifact(root)
    if _needs_probe(meta):
        probe_artifact(root)
    return _load_verified(root, meta)


def _native(member: Any) -> bool:
    return (
        getattr(member, "algorithm", None) in A.ALGORITHMS and A.get_algorithm(member.algorithm).fmt in NATIVE_FORMATS
    )


def _load_verified(root: Path, meta: dict[str, Any]) -> BaseModel:
    """Deserialise an artifact folder that ``verify_artifact`` accepted (``meta``)."""
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
    return _zip_bytes({name: (root / name).read_bytes() for name in [METADATA_FILE, *sorted(meta["files"])]})


def bundle_files(data: bytes) -> dict[str, bytes]:
    """The checked files (``{name: bytes}``) of a bundle from ``export_bundle``; nothing is written.

    THE bundle check (``import_bundle`` and the marketplace's ``check_bundle`` both apply it):
    the archive rules of ``zip_members`` (size, entry count, per-file and total uncompressed
    size and compression ratio before decompressing, regular files only, safe relative names,
    no duplicate) then ``check_files`` (``metadata.json``, the sha256 of every listed file and
    nothing else, no pickle, the described model matching its files and formats).
    ``ArtifactIntegrityError`` naming the entry and the problem otherwise.
    """
    return check_files(zip_members(data, "bundle"), "bundle")


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
        meta = verify_artifact(tmp)
        if _needs_probe(meta):
            probe_artifact(tmp)  # a crafted native model file is refused here, not at first load
        if dest.exists():
            dest.rmdir()
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def add_artifact_file(path: str | Path, name: str, data: bytes) -> None:
    """Add (or replace) a JSON file beside the model files of an artifact folder (e.g. the model's
    ``report.json``), listed with its sha256 in ``metadata.json``; the folder is verified first."""
    rel = check_member_name(name).as_posix()
    if rel == METADATA_FILE or PurePosixPath(rel).suffix.lower() != ".json":
        raise MLInputError(f"name: {name!r}: only JSON files other than {METADATA_FILE} may be added")
    root = Path(path)
    meta = verify_artifact(root)
    old = sha256_file(root / METADATA_FILE)
    _parse_json(data, f"file {rel!r}")
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)
    meta["files"][rel] = sha256_bytes(data)
    text = json.dumps(_jsonable(meta), indent=2, sort_keys=True, allow_nan=False) + "\n"
    tmp = root / f".{METADATA_FILE}.tmp-{uuid.uuid4().hex}"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, root / METADATA_FILE)
    if old in _PROBED:  # the same model files: still known to load
        _PROBED.add(sha256_bytes(text.encode("utf-8")))
