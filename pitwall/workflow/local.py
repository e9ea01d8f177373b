"""Local (offline) implementations of the workflow ports, and the default step wiring.

Records go to the platform's embedded backend (SQLite at ``$PITWALL_HOME/platform.db``); training
tables are read from the local lake (``$PITWALL_HOME/lake``, the same layout as the features bucket);
model metadata from the artifact folder or ``model.tar.gz``. "Deploying" locally only records the
deployment: the local API serves the deployed version's artifact itself.
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
from pitwall.workflow.steps import Artifact, FeatureSnapshot, WorkflowPorts

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


def metadata_from_tar(fileobj: IO[bytes], where: str) -> Artifact:
    """``metadata.json`` from a ``model.tar.gz`` stream (at the archive root, with or without ``./``)."""
    try:
        with tarfile.open(fileobj=fileobj, mode="r|*") as archive:
            for member in archive:
                if member.isfile() and member.name.removeprefix("./") == METADATA_FILE:
                    extracted = archive.extractfile(member)
                    if extracted is not None:
                        return parse_metadata(extracted.read(MAX_METADATA_BYTES + 1), where)
    except tarfile.TarError as exc:
        raise StepFailed(f"{where}: not a readable model archive ({exc})") from None
    raise StepFailed(f"{where}: the model archive has no {METADATA_FILE}")


class LocalFeatureSource:
    """Training tables in the local lake: ``<lake>/<dataset>/season=<YYYY>/*.parquet``."""

    def __init__(self, lake: Path) -> None:
        self.lake = lake

    def snapshot(self, dataset: str, seasons: list[int] | None) -> FeatureSnapshot:
        root = self.lake / dataset
        if seasons is None:
            found = sorted(int(p.name.split("=", 1)[1]) for p in root.glob("season=*") if any(p.glob("*.parquet")))
            if not found:
                raise StepFailed(f"training table {dataset!r} has no season partitions under {root}")
            seasons = found
        total, missing = 0, []
        for season in seasons:
            files = sorted((root / f"season={season}").glob("*.parquet"))
            if not files:
                missing.append(season)
            total += sum(f.stat().st_size for f in files)
        if missing:
            raise StepFailed(f"training table {dataset!r} has no data for seasons {missing} under {root}")
        return FeatureSnapshot(uri=str(root), total_bytes=total, seasons=list(seasons))


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


class LocalDeployer:
    """Local "endpoints": the local API serves the deployed version's artifact, so this only reports."""

    def deploy(
        self, *, endpoint_name: str, model_name: str, artifact_uri: str, production_variant: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {"mode": "local", "model_name": model_name, "artifact_uri": artifact_uri}


def local_ports(home: Path | None = None, backend: RecordsBackend | None = None) -> WorkflowPorts:
    """Ports over the Pitwall home (``$PITWALL_HOME`` unless ``home`` is given)."""
    root = home or pitwall_home()
    if backend is None:
        from pitwall.platform.sqlite_backend import SqliteBackend

        backend = SqliteBackend(root / "platform.db")
    return WorkflowPorts(
        backend=backend,
        features=LocalFeatureSource(root / "lake"),
        artifacts=LocalArtifactReader(),
        deployer=LocalDeployer(),
    )


def default_implementations(
    train_model: StepFn,
    ports: WorkflowPorts | None = None,
    *,
    build_features: StepFn | None = None,
) -> StepImplementations:
    """The local step wiring: the shared step logic over ``ports``, plus the injected training.

    ``train_model`` receives the state (``$.job`` holds template, params, seasons and limits;
    ``$.features.uri`` the training table) and returns ``{"model_artifacts": <artifact folder or
    model.tar.gz>, "training_job_name": ...}``. ``build_features`` replaces the default, which finds the
    already materialised training table in the local lake.
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
