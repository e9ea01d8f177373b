"""Every crafted bundle refused by every entry point that accepts a model artifact.

Entry points (bytes): ``pitwall.ml.import_bundle``; the marketplace's client-side download
(``check_bundle`` then ``import_bundle``, what ``pw.marketplace.download`` does); the marketplace's
S3 ``model.tar.gz`` path (``files_from_tar`` then ``check_bundle``). Entry points (folders):
``pitwall.ml.load_model``; the marketplace's publish check (``check_artifact``) and fork
(``copy_artifact``); serving's ``load_predictor``; the training image's ``load_predictor``;
``mlflow.pyfunc.load_model`` of the MLflow model wrapping the folder.

Each case derives from a real saved XGBoost artifact, re-signed the way an attacker who rewrites
``metadata.json`` would, and must be refused with an error naming the member and the problem,
with nothing written anywhere (the sandbox holding the crafted input and the Pitwall home are
byte-for-byte the same afterwards).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import pickle
import shutil
import stat
import sys
import tarfile
import uuid
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pitwall.errors import ValidationFailed
from pitwall.marketplace import bundles
from pitwall.ml import artifacts
from pitwall.ml.errors import ArtifactIntegrityError
from pitwall.platform.records import ModelRecord

IMAGE_SOURCE = Path(__file__).resolve().parents[3] / "training_images"
ABSOLUTE = f"/tmp/pitwall-crafted-{uuid.uuid4().hex}.json"
HOSTILE = b'{"pwned": true}'
MiB = 1024 * 1024


@dataclass(frozen=True)
class Crafted:
    """A crafted artifact: its files (``None`` content: listed in metadata.json only), special
    entries, and how each form is built."""

    files: dict[str, bytes]
    symlinks: dict[str, str] = field(default_factory=dict)  # name -> target (outside the artifact)
    hardlinks: dict[str, str] = field(default_factory=dict)
    fifos: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()
    raw: bytes | None = None  # the bytes forms are these bytes (not an archive)


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[dict[str, bytes], dict[str, Any]], Crafted]
    problem: str  # regex the error must match
    member: str | None  # the member the error must name
    limits: dict[str, int] = field(default_factory=dict)  # artifact limits lowered for the case
    forms: tuple[str, ...] = ("zip", "tar", "folder")  # hard links exist in tar and folders only...


def _sign(files: dict[str, bytes], meta: dict[str, Any], *, unlisted: tuple[str, ...] = ()) -> dict[str, bytes]:
    """``files`` with ``meta['files']`` re-signed for every file (but ``unlisted``)."""
    out = {k: v for k, v in files.items() if k != "metadata.json"}
    meta = {**meta, "files": {k: hashlib.sha256(v).hexdigest() for k, v in out.items() if k not in unlisted}}
    out["metadata.json"] = json.dumps(meta).encode()
    return out


def _with(extra: dict[str, bytes], **kw: Any) -> Callable[[dict[str, bytes], dict[str, Any]], Crafted]:
    return lambda files, meta: Crafted(_sign({**files, **extra}, meta), **kw)


def _meta(change: dict[str, Any], files_change: dict[str, bytes | None] | None = None) -> Callable[..., Crafted]:
    def build(files: dict[str, bytes], meta: dict[str, Any]) -> Crafted:
        new = dict(files)
        for name, blob in (files_change or {}).items():
            if blob is None:
                new.pop(name, None)
            else:
                new[name] = blob
        return Crafted(_sign(new, {**meta, **change}))

    return build


class Payload:
    """Unpickling this writes a marker file: proof a pickle ran."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (f"/tmp/pitwall-pickle-ran-{os.getpid()}", "w"))


def _skops(obj: Any) -> bytes:
    import skops.io as sio

    return sio.dumps(obj)


def _os_system_skops() -> bytes:
    from sklearn.preprocessing import FunctionTransformer

    return _skops(FunctionTransformer(func=os.system))


SKOPS_META = {"algorithm": "logistic", "model_format": "skops", "model_file": "model.skops"}


def _deep_metadata(files: dict[str, bytes], meta: dict[str, Any]) -> Crafted:
    signed = _sign(files, meta)
    text = signed["metadata.json"].decode()
    signed["metadata.json"] = (text[:-1] + ', "notes": ' + "[" * 100_000 + "]" * 100_000 + "}").encode()
    return Crafted(signed)


def _truncated(files: dict[str, bytes], meta: dict[str, Any]) -> Crafted:
    blob = files["model.ubj"]
    return Crafted(_sign({**files, "model.ubj": blob[: len(blob) // 2]}, meta))


def _garbled(files: dict[str, bytes], meta: dict[str, Any]) -> Crafted:
    blob = bytearray(files["model.ubj"])
    for i in range(16, len(blob), 7):  # keep the leading '{', scramble the structure
        blob[i] = (blob[i] * 31 + 17) % 256
    return Crafted(_sign({**files, "model.ubj": bytes(blob)}, meta))


CASES = [
    Case("traversal", _with({"../outside.json": HOSTILE}), r"path traversal", "../outside.json"),
    Case("absolute-path", _with({ABSOLUTE: HOSTILE}), r"absolute", ABSOLUTE),
    Case(
        "model-file-outside",
        _meta({"model_file": "../model.ubj"}),
        r"model_file '\.\./model\.ubj' is not one of the artifact's files",
        "../model.ubj",
    ),
    Case("symlink", _with({"notes.json": HOSTILE}, symlinks={"notes.json": "outside.json"}), r"symlink", "notes.json"),
    Case(
        "hardlink",
        _with({"notes.json": HOSTILE}, hardlinks={"notes.json": "outside.json"}),
        r"hard link",
        "notes.json",
        forms=("tar", "folder"),
    ),
    Case("fifo", _with({"notes.json": b""}, fifos=("notes.json",)), r"only regular files", "notes.json"),
    Case(
        "unexpected-suffix", _with({"run.sh": b"#!/bin/sh\necho pwned\n"}), r"suffix \.sh is not an allowed", "run.sh"
    ),
    Case("extra-model-format", _with({"extra.txt": b"tree\n"}), r"not a model file of this artifact", "extra.txt"),
    Case("pickle-file", _with({"helpers.pkl": pickle.dumps(Payload())}), r"pickle-type", "helpers.pkl"),
    Case("joblib-file", _with({"model.joblib": pickle.dumps(Payload())}), r"pickle-type", "model.joblib"),
    Case(
        "pickle-as-model",
        _meta({}, {"model.ubj": pickle.dumps(Payload(), protocol=4)}),
        r"pickle data is not allowed",
        "model.ubj",
    ),
    Case(
        "protocol0-pickle-as-model",
        _meta({}, {"model.ubj": pickle.dumps({"a": Payload()}, protocol=0)}),
        r"cannot be loaded as xgboost-ubj",
        "model.ubj",
    ),
    Case(
        "skops-os-system",
        lambda f, m: _meta(SKOPS_META, {"model.ubj": None, "model.skops": _os_system_skops()})(f, m),
        r"outside the allowlist: .*posix\.system|outside the allowlist",
        "model.skops",
    ),
    Case(
        "skops-holding-a-dict",
        lambda f, m: _meta(SKOPS_META, {"model.ubj": None, "model.skops": _skops({"a": [1, 2]})})(f, m),
        r"holds a builtins\.dict, not a logistic estimator",
        "model.skops",
    ),
    Case(
        "format-does-not-match-algorithm",
        _meta({"algorithm": "lightgbm"}),
        r"model_format 'xgboost-ubj' does not match algorithm 'lightgbm'",
        "metadata.json",
    ),
    Case(
        "claims-lightgbm-for-xgboost-file",
        _meta({"algorithm": "lightgbm", "model_format": "lightgbm-txt"}),
        r"a lightgbm-txt model is stored as 'model\.txt'",
        "model.ubj",
    ),
    Case(
        "xgboost-bytes-as-lightgbm",
        lambda f, m: _meta(
            {"algorithm": "lightgbm", "model_format": "lightgbm-txt", "model_file": "model.txt"},
            {"model.ubj": None, "model.txt": f["model.ubj"]},
        )(f, m),
        r"cannot be loaded as lightgbm-txt",
        "model.txt",
    ),
    Case("algorithm-os-system", _meta({"algorithm": "os.system"}), r"unknown algorithm 'os\.system'", "metadata.json"),
    Case(
        "metadata-not-json",
        lambda f, m: Crafted({**_sign(f, m), "metadata.json": b"{not json"}),
        r"not valid JSON",
        "metadata.json",
    ),
    Case("metadata-deeply-nested", _deep_metadata, r"nested deeper than", "metadata.json"),
    Case(
        "metadata-not-an-object",
        lambda f, m: Crafted({**_sign(f, m), "metadata.json": b"[1, 2, 3]"}),
        r"expected a JSON object",
        "metadata.json",
    ),
    Case("truncated-model-file", _truncated, r"cannot be loaded as xgboost-ubj|crashed the model loader", "model.ubj"),
    Case("garbled-model-file", _garbled, r"cannot be loaded as xgboost-ubj|crashed the model loader", "model.ubj"),
    Case(
        "oversized-member",
        _with({"notes.json": b'"' + b"a" * (2 * MiB) + b'"'}),
        r"exceeds the limit of 1048576 per file|decompression bomb",
        "notes.json",
        limits={"MAX_MEMBER_BYTES": MiB},
    ),
    Case(
        "too-large-together",
        _with({f"n{i}.json": b'"' + os.urandom(MiB // 2).hex()[:800_000].encode() + b'"' for i in range(3)}),
        r"together exceed the limit of 2097152",
        "n2.json",
        limits={"MAX_UNPACKED_BYTES": 2 * MiB},
    ),
    Case(
        "decompression-bomb",
        _with({"bomb.json": b"0" * (300 * MiB)}),
        r"decompression bomb",
        "bomb.json",
        forms=("zip", "tar"),  # a folder is not compressed: its size rules are the cases above
    ),
    Case(
        "too-many-members",
        _with({f"m/{i:03d}.json": b"{}" for i in range(300)}),
        r"exceed the limit of 256|more than 256",
        None,
    ),
    Case(
        "duplicate-entry",
        _with({"notes.json": b"{}"}, duplicates=("notes.json",)),
        r"duplicate entry",
        "notes.json",
        forms=("zip", "tar"),
    ),
    Case(
        "not-an-archive",
        lambda f, m: Crafted({}, raw=b"MZ\x90\x00 definitely not an archive"),
        r"not a zip archive|not a readable tar archive",
        None,
        forms=("zip", "tar"),
    ),
    Case(
        "unlisted-file",
        lambda f, m: Crafted(_sign({**f, "notes.json": b"{}"}, m, unlisted=("notes.json",))),
        r"not listed in metadata\.json|unexpected file",
        "notes.json",
    ),
    Case(
        "listed-file-missing",
        lambda f, m: Crafted({k: v for k, v in _sign({**f, "notes.json": b"{}"}, m).items() if k != "notes.json"}),
        r"missing",
        "notes.json",
    ),
    Case(
        "checksum-mismatch",
        lambda f, m: Crafted({**_sign(f, m), "model.ubj": f["model.ubj"] + b" "}),
        r"sha256 mismatch",
        "model.ubj",
    ),
]


# --------------------------------------------------------------------------- building the forms


def _zip(c: Crafted) -> bytes:
    if c.raw is not None:
        return c.raw
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, blob in c.files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in c.symlinks:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                blob = c.symlinks[name].encode()
            elif name in c.fifos:
                info.external_attr = (stat.S_IFIFO | 0o644) << 16
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
            for _ in range(2 if name in c.duplicates else 1):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
                    zf.writestr(info, blob)
    return buffer.getvalue()


def _tar(c: Crafted) -> bytes:
    if c.raw is not None:
        return c.raw
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name, blob in c.files.items():
            info = tarfile.TarInfo(name)
            if name in c.symlinks:
                info.type, info.linkname = tarfile.SYMTYPE, c.symlinks[name]
                archive.addfile(info)
            elif name in c.hardlinks:
                info.type, info.linkname = tarfile.LNKTYPE, c.hardlinks[name]
                archive.addfile(info)
            elif name in c.fifos:
                info.type = tarfile.FIFOTYPE
                archive.addfile(info)
            else:
                info.size = len(blob)
                for _ in range(2 if name in c.duplicates else 1):
                    archive.addfile(info, io.BytesIO(blob))
    return buffer.getvalue()


def _folder(c: Crafted, root: Path, name: str = "artifact") -> Path:
    """The crafted artifact as a folder ``root/name``; names that would land outside it
    (absolute, ``..``) are only listed in metadata.json: their files sit where they point.
    Links point at ``root/outside.json``."""
    folder = root / name
    folder.mkdir()
    if not (root / "outside.json").exists():
        (root / "outside.json").write_bytes(b"{}")
    for name, blob in c.files.items():  # noqa: PLR1704 - the member's name
        if name.startswith("/"):
            continue  # listed only: an absolute path is never created
        target = folder / name
        if name.startswith("../"):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if name in c.symlinks:
            target.symlink_to(root / c.symlinks[name])
        elif name in c.hardlinks:
            os.link(root / c.hardlinks[name], target)
        elif name in c.fifos:
            os.mkfifo(target)
        else:
            target.write_bytes(blob)
    return folder


@functools.cache
def _base(artifact: Path) -> tuple[tuple[tuple[str, bytes], ...], str]:
    files = {p.relative_to(artifact).as_posix(): p.read_bytes() for p in sorted(artifact.rglob("*")) if p.is_file()}
    return tuple(files.items()), files["metadata.json"].decode()


@functools.cache
def _built(case_id: str, form: str, artifact: Path) -> bytes:
    """The bytes form of a case (built once: the bomb takes a while to compress)."""
    crafted = _crafted(case_id, artifact)
    return _zip(crafted) if form == "zip" else _tar(crafted)


@functools.cache
def _crafted(case_id: str, artifact: Path) -> Crafted:
    files, meta_text = _base(artifact)
    case = next(c for c in CASES if c.id == case_id)
    return case.build(dict(files), json.loads(meta_text))


# --------------------------------------------------------------------------- entry points


def _record(folder: Path) -> ModelRecord:
    meta = folder / "metadata.json"
    digest = hashlib.sha256(meta.read_bytes()).hexdigest() if meta.is_file() and not meta.is_symlink() else "0" * 64
    return ModelRecord(
        tenant_id="mallory",
        name="crafted",
        version=1,
        template="podium",
        task="classification",
        algorithm="xgboost",
        features=[],
        target="podium",
        data_window={},
        metrics={},
        baseline_metrics={},
        artifact_uri=str(folder),
        sha256=digest,
        created_at="2026-01-01T00:00:00+00:00",
    )


def _import_bundle(data: bytes, sandbox: Path) -> None:
    artifacts.import_bundle(data, sandbox / "imported")


def _market_download(data: bytes, sandbox: Path) -> None:
    verified = bundles.check_bundle(data, None)  # what Download.received() runs on the bytes
    artifacts.import_bundle(verified.bundle, sandbox / "downloaded")


def _market_s3_archive(data: bytes, sandbox: Path) -> None:
    bundles.check_bundle(bundles.zip_files(bundles.files_from_tar(data)), None)


def _load_model(folder: Path, sandbox: Path) -> None:
    artifacts.load_model(folder)


def _market_publish(folder: Path, sandbox: Path) -> None:
    bundles.check_artifact(str(folder), _record(folder).sha256, what="the published model")


def _market_fork(folder: Path, sandbox: Path) -> None:
    bundles.copy_artifact(str(folder), "thief", "stolen")


def _serving(folder: Path, sandbox: Path) -> None:
    from pitwall.serving.predictor import load_predictor

    load_predictor(_record(folder))


def _training_image(folder: Path, sandbox: Path) -> None:
    if str(IMAGE_SOURCE) not in sys.path:
        sys.path.insert(0, str(IMAGE_SOURCE))
    from pitwall_image.serve import ModelIdentity, load_predictor

    load_predictor(folder, ModelIdentity())


def _mlflow_pyfunc(folder: Path, sandbox: Path) -> None:
    import mlflow

    mlflow.pyfunc.load_model(str(folder.parents[1]))  # <model>/artifacts/<pitwall folder>


BYTES_ENTRIES: dict[str, tuple[str, Callable[[bytes, Path], None]]] = {
    "ml.import_bundle": ("zip", _import_bundle),
    "marketplace.download": ("zip", _market_download),
    "marketplace.s3_model_tar_gz": ("tar", _market_s3_archive),
}
FOLDER_ENTRIES: dict[str, Callable[[Path, Path], None]] = {
    "ml.load_model": _load_model,
    "marketplace.publish": _market_publish,
    "marketplace.fork": _market_fork,
    "serving.load_predictor": _serving,
    "training_image.load_predictor": _training_image,
    "mlflow.pyfunc.load_model": _mlflow_pyfunc,
}


def _params() -> list[Any]:
    out = []
    for case in CASES:
        forms = case.forms
        for entry, (form, _) in BYTES_ENTRIES.items():
            if form in forms:
                out.append(pytest.param(case.id, entry, id=f"{case.id}-{entry}"))
        if "folder" in forms:
            out.extend(pytest.param(case.id, entry, id=f"{case.id}-{entry}") for entry in FOLDER_ENTRIES)
    return out


def _snapshot(*roots: Path) -> dict[str, str]:
    """Every path under ``roots`` with its type and content hash (links not followed)."""
    out: dict[str, str] = {}
    for root in roots:
        if not root.exists():
            continue
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            for name in [*dirnames, *filenames]:
                p = Path(dirpath, name)
                st = p.lstat()
                if stat.S_ISREG(st.st_mode):
                    out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
                else:
                    out[str(p)] = oct(stat.S_IFMT(st.st_mode))
    return out


@pytest.mark.parametrize(("case_id", "entry"), _params())
def test_crafted_artifact_is_refused(
    case_id: str, entry: str, podium_artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = next(c for c in CASES if c.id == case_id)
    crafted = _crafted(case_id, podium_artifact)
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    (sandbox / "outside.json").write_bytes(b"{}")  # what links and traversals point at
    home = Path(os.environ["PITWALL_HOME"])
    if entry in BYTES_ENTRIES:
        form, call = BYTES_ENTRIES[entry]
        data = _built(case_id, form, podium_artifact)
        run: Callable[[], None] = lambda: call(data, sandbox)  # noqa: E731
    else:
        if entry == "mlflow.pyfunc.load_model":
            folder = _mlflow_model(crafted, podium_artifact, sandbox / "mlflow-model")
        else:
            folder = _folder(crafted, sandbox)
        run = lambda: FOLDER_ENTRIES[entry](folder, sandbox)  # noqa: E731
    for name, value in case.limits.items():
        monkeypatch.setattr(artifacts, name, value)
    before = _snapshot(sandbox, home)

    with pytest.raises(Exception) as info:  # noqa: PT011 - the type is checked below, through wrappers
        run()
    message = _message(info.value)
    assert isinstance(_root_error(info.value), ArtifactIntegrityError | ValidationFailed), message
    assert _matches(case.problem, message), f"{entry}: {message!r} does not say {case.problem!r}"
    if case.member is not None:
        assert case.member in message, f"{entry}: {message!r} does not name {case.member!r}"
    assert _snapshot(sandbox, home) == before, "something was written"
    assert not Path(ABSOLUTE).exists()
    assert not Path(f"/tmp/pitwall-pickle-ran-{os.getpid()}").exists()


def _root_error(exc: BaseException) -> BaseException:
    """The Pitwall error behind ``exc`` (the training image wraps it in ModelNotLoaded, MLflow may
    wrap the load_context error)."""
    seen = exc
    while not isinstance(seen, ArtifactIntegrityError | ValidationFailed):
        if type(seen).__name__ == "ModelNotLoaded":
            return ArtifactIntegrityError(str(seen))
        nxt = seen.__cause__ or seen.__context__
        if nxt is None:
            return seen
        seen = nxt
    return seen


def _message(exc: BaseException) -> str:
    return str(getattr(exc, "message", None) or exc)


def _matches(pattern: str, message: str) -> bool:
    import re

    return re.search(pattern, message) is not None


def _mlflow_model(crafted: Crafted, good: Path, dest: Path) -> Path:
    """An MLflow model (pyfunc from code) saved around the good artifact, whose copy of the Pitwall
    artifact is then replaced by the crafted one; returns that inner folder."""
    from pitwall.ml.tracking import save_pyfunc

    save_pyfunc(good, dest)
    inner = dest / "artifacts" / good.name  # MLflow copies the artifact folder under its own name
    shutil.rmtree(inner)
    return _folder(crafted, inner.parent, good.name)
