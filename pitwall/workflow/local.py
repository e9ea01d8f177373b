"""Local (offline) implementations of the workflow ports, and the default step wiring.

Records go to the platform's embedded backend (SQLite at ``$PITWALL_HOME/platform.db``); training
data is the local lake (``$PITWALL_HOME/lake``, the Store's layout); model metadata comes from the
artifact folder or ``model.tar.gz``; deploying loads the model in process, in the process-wide
:func:`pitwall.serving.deploy.local_serving` (the one the SDK, CLI and local API deploy through).
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from pitwall.config import pitwall_home
from pitwall.platform.backend import RecordsBackend
from pitwall.workflow import steps
from pitwall.workflow.errors import StepFailed
from pitwall.workflow.local_runner import StepFn, StepImplementations
from pitwall.workflow.steps import Artifact, FeatureSnapshot, WorkflowPorts, select_lake

METADATA_FILE = "metadata.json"
MAX_METADATA_BYTES = 16 * 1024 * 1024


def parse_metadata(raw: bytes, where: str) -> Artifact:
    """An :class:`Artifact` from ``metadata.json`` bytes; :class:`StepFailed` naming ``where`` if invalid."""
    if len(raw) > MAX_METADATA_BYTES:
        raise StepFailed(f"{where}: {METADATA_FILE} is larger than {MAX_METADATA_BYTES} bytes")
    try:
        metadata = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StepFailed(f"{where}: {METADATA_FILE} is not valid JSON ({exc})") from None
    if not isinstance(metadata, dict):
        raise StepFailed(f"{where}: {METADATA_FILE} must hold a JSON object")
    return Artifact(metadata=metadata, sha256=hashlib.sha256(raw).hexdigest())


def json_from_tar(fileobj: IO[bytes], name: str, where: str) -> bytes | None:
    """The bytes of file ``name`` at the root of a ``.tar.gz`` stream (with or without ``./``), or None."""
    try:
        with tarfile.open(fileobj=fileobj, mode="r|*") as archive:
            for member in archive:
                if member.isfile() and member.name.removeprefix("./") == name:
                    extracted = archive.extractfile(member)
                    if extracted is not None:
                        return extracted.read(MAX_METADATA_BYTES + 1)
    except tarfile.TarError as exc:
        raise StepFailed(f"{where}: not a readable archive ({exc})") from None
    return None


def metadata_from_tar(fileobj: IO[bytes], where: str) -> Artifact:
    """``metadata.json`` from a ``model.tar.gz`` stream."""
    raw = json_from_tar(fileobj, METADATA_FILE, where)
    if raw is None:
        raise StepFailed(f"{where}: the model archive has no {METADATA_FILE}")
    return parse_metadata(raw, where)


class LocalLake:
    """Training data from the local lake: the lake folder itself, sized by :func:`select_lake`."""

    def __init__(self, lake: Path) -> None:
        self.lake = lake

    def snapshot(self, job_id: str, seasons: list[int] | None) -> FeatureSnapshot:
        objects = [(p.relative_to(self.lake).as_posix(), p.stat().st_size) for p in self.lake.rglob("*.parquet")]
        selection = select_lake(objects, seasons)
        return FeatureSnapshot(uri=str(self.lake), total_bytes=selection.total_bytes, seasons=selection.seasons)


class LocalArtifactReader:
    """Reads ``metadata.json`` from a local artifact folder or ``model.tar.gz``."""

    def read(self, model_artifacts: str) -> Artifact:
        path = Path(model_artifacts)
        if path.is_dir():
            metadata = path / METADATA_FILE
            if not metadata.is_file():
                raise StepFailed(f"model artifact {path} has no {METADATA_FILE}")
            return parse_metadata(metadata.read_bytes(), str(path))
        if path.is_file():
            with path.open("rb") as fh:
                return metadata_from_tar(fh, str(path))
        raise StepFailed(f"model artifact {model_artifacts!r} does not exist")


def local_ports(home: Path | None = None, backend: RecordsBackend | None = None) -> WorkflowPorts:
    """Ports over the Pitwall home (``$PITWALL_HOME`` unless ``home`` is given)."""
    root = home or pitwall_home()
    if backend is None:
        from pitwall.platform.sqlite_backend import SqliteBackend

        backend = SqliteBackend(root / "platform.db")
    from pitwall.serving.deploy import local_serving

    return WorkflowPorts(
        backend=backend, features=LocalLake(root / "lake"), artifacts=LocalArtifactReader(), serving=local_serving()
    )


def default_implementations(
    train_model: StepFn,
    ports: WorkflowPorts | None = None,
    *,
    build_features: StepFn | None = None,
) -> StepImplementations:
    """The local step wiring: the shared step logic over ``ports``, plus the injected training.

    ``train_model`` receives the state (``$.job`` holds template, params, seasons and limits;
    ``$.features.uri`` the lake folder) and returns ``{"model_artifacts": <artifact folder or
    model.tar.gz>, "training_job_name": ...}``. ``build_features`` replaces the default, which selects the
    job's data in the local lake.
    """
    p = ports or local_ports()

    def bind(fn: Callable[[Mapping[str, Any], WorkflowPorts], dict[str, Any]]) -> StepFn:
        return lambda state: fn(state, p)

    return StepImplementations(
        validate_and_reserve_quota=bind(steps.validate_and_reserve_quota),
        build_features=build_features or bind(steps.build_features),
        train_model=train_model,
        evaluate_challenger=bind(steps.evaluate_challenger),
        register_model=bind(steps.register_model),
        deploy_model=bind(steps.deploy_model),
        release_quota_and_record_failure=bind(steps.release_quota_and_record_failure),
    )
