"""Local (offline) implementations of the workflow ports, and the default step wiring.

``LocalWorkflowStore`` keeps quota reservations, job records, model versions and deployments in
one JSON file under the Pitwall home (``workflow/state.json``), written atomically. Features are
read from the local lake (``$PITWALL_HOME/lake``, same layout as the features bucket), metrics from the
model artifact folder or ``model.tar.gz``. Everything here is standard library only.
"""

from __future__ import annotations

import json
import os
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from pitwall.config import pitwall_home
from pitwall.workflow import steps
from pitwall.workflow.errors import StepFailed
from pitwall.workflow.local_runner import StepFn, StepImplementations
from pitwall.workflow.steps import FeatureSnapshot, WorkflowPorts

METRICS_FILE = "metrics.json"


class LocalWorkflowStore:
    """Quota ledger, job log and model registry in one JSON file (see module doc).

    ``path=None`` keeps the state in memory (same behaviour, nothing written): for tests and dry runs.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._memory = json.dumps({"quotas": {}, "jobs": {}, "models": {}, "deployments": {}})

    def _load(self) -> dict[str, Any]:
        if self.path is None or not self.path.exists():
            return json.loads(self._memory)
        return json.loads(self.path.read_text())

    def _save(self, data: dict[str, Any]) -> None:
        if self.path is None:
            self._memory = json.dumps(data)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    # QuotaLedger
    def reserve_training_job(self, tenant_id: str, day: str, job_id: str, limit: int | None) -> int | None:
        data = self._load()
        jobs = data["quotas"].setdefault(f"{tenant_id}/{day}", [])
        if job_id not in jobs:
            if limit is not None and len(jobs) >= limit:
                return None
            jobs.append(job_id)
            self._save(data)
        return len(jobs)

    def release_training_job(self, tenant_id: str, day: str, job_id: str) -> bool:
        data = self._load()
        jobs = data["quotas"].get(f"{tenant_id}/{day}", [])
        if job_id not in jobs:
            return False
        jobs.remove(job_id)
        self._save(data)
        return True

    def training_jobs_used(self, tenant_id: str, day: str) -> int:
        """Slots reserved by ``tenant_id`` on ``day``."""
        return len(self._load()["quotas"].get(f"{tenant_id}/{day}", []))

    # JobLog
    def set_status(self, tenant_id: str, job_id: str, status: str, detail: Mapping[str, Any]) -> None:
        data = self._load()
        record = data["jobs"].setdefault(f"{tenant_id}/{job_id}", {"tenant_id": tenant_id, "job_id": job_id})
        record.update(dict(detail))
        record["status"] = status
        self._save(data)

    def job(self, tenant_id: str, job_id: str) -> dict[str, Any] | None:
        """The job record, or None."""
        return self._load()["jobs"].get(f"{tenant_id}/{job_id}")

    # ModelRegistry
    def champion(self, tenant_id: str, model_name: str) -> dict[str, Any] | None:
        model = self._load()["models"].get(f"{tenant_id}/{model_name}")
        if not model or model.get("champion") is None:
            return None
        return model["versions"][model["champion"] - 1]

    def register(
        self, tenant_id: str, model_name: str, record: Mapping[str, Any], make_champion: bool
    ) -> dict[str, Any]:
        data = self._load()
        model = data["models"].setdefault(f"{tenant_id}/{model_name}", {"versions": [], "champion": None})
        existing = next((v for v in model["versions"] if v["job_id"] == record["job_id"]), None)
        if existing is not None:
            return existing
        stored = {**dict(record), "version": len(model["versions"]) + 1}
        model["versions"].append(stored)
        if make_champion:
            model["champion"] = stored["version"]
        self._save(data)
        return stored

    def versions(self, tenant_id: str, model_name: str) -> list[dict[str, Any]]:
        """Every registered version of the model, oldest first."""
        return self._load()["models"].get(f"{tenant_id}/{model_name}", {}).get("versions", [])

    def deployed_models(self, tenant_id: str) -> list[str]:
        return sorted(self._load()["deployments"].get(tenant_id, {}))

    def record_deployment(self, tenant_id: str, model_name: str, deployment: Mapping[str, Any]) -> None:
        data = self._load()
        data["deployments"].setdefault(tenant_id, {})[model_name] = dict(deployment)
        self._save(data)

    def deployment(self, tenant_id: str, model_name: str) -> dict[str, Any] | None:
        """The model's current deployment record, or None."""
        return self._load()["deployments"].get(tenant_id, {}).get(model_name)


class LocalFeatureSource:
    """Training tables in the local lake: ``<lake>/<dataset>/season=<YYYY>/*.parquet``."""

    def __init__(self, lake: Path | None = None) -> None:
        self.lake = lake or pitwall_home() / "lake"

    def snapshot(self, dataset: str, seasons: list[int]) -> FeatureSnapshot:
        root = self.lake / dataset
        total, missing = 0, []
        for season in seasons:
            files = sorted((root / f"season={season}").glob("*.parquet"))
            if not files:
                missing.append(season)
            total += sum(f.stat().st_size for f in files)
        if missing:
            raise StepFailed(f"training table {dataset!r} has no data for seasons {missing} under {root}")
        return FeatureSnapshot(uri=str(root), total_bytes=total, seasons=list(seasons))


def read_metrics_from_tar(fileobj: IO[bytes]) -> dict[str, Any]:
    """``metrics.json`` from a ``model.tar.gz`` stream (at the archive root or ``./``)."""
    with tarfile.open(fileobj=fileobj, mode="r:*") as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.lstrip("./") == METRICS_FILE:
                extracted = archive.extractfile(member)
                if extracted is not None:
                    return json.loads(extracted.read())
    raise StepFailed(f"the model artifact has no {METRICS_FILE}")


class LocalMetricsReader:
    """Reads ``metrics.json`` from a local artifact folder or ``model.tar.gz``."""

    def read(self, model_artifacts: str) -> Mapping[str, Any]:
        path = Path(model_artifacts)
        if path.is_dir():
            metrics = path / METRICS_FILE
            if not metrics.exists():
                raise StepFailed(f"the model artifact {path} has no {METRICS_FILE}")
            return json.loads(metrics.read_text())
        if path.is_file():
            with path.open("rb") as fh:
                return read_metrics_from_tar(fh)
        raise StepFailed(f"model artifact {model_artifacts!r} does not exist")


class LocalDeployer:
    """Local "endpoints": the local API serves registered artifacts, so deploying is a record."""

    def deploy(
        self, *, endpoint_name: str, model_name: str, artifact_uri: str, production_variant: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {"mode": "local", "model_name": model_name, "artifact_uri": artifact_uri}


def local_ports(home: Path | None = None) -> WorkflowPorts:
    """Ports backed by the Pitwall home (``$PITWALL_HOME`` unless ``home`` is given)."""
    root = home or pitwall_home()
    store = LocalWorkflowStore(root / "workflow" / "state.json")
    return WorkflowPorts(
        quotas=store,
        jobs=store,
        models=store,
        features=LocalFeatureSource(root / "lake"),
        metrics=LocalMetricsReader(),
        deployer=LocalDeployer(),
    )


def default_implementations(
    train_model: StepFn,
    ports: WorkflowPorts | None = None,
    *,
    build_features: StepFn | None = None,
) -> StepImplementations:
    """The local step wiring: the shared step logic over ``ports``, plus the injected training.

    ``train_model`` receives the state (``$.job`` holds the template, algorithm, tuning budget and data
    window; ``$.features.uri`` the training table) and returns ``{"model_artifacts": <folder or
    model.tar.gz containing metrics.json>, "training_job_name": ...}``. ``build_features`` replaces the
    default, which locates the already materialised training table in the local lake.
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
