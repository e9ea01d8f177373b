"""The deployment service: one way to deploy, undeploy and call models, two backends.

- :class:`LocalServing`: the model is loaded in-process (``pitwall serve``) and answered by
  :func:`pitwall.serving.invocation.invoke`.
- :class:`~pitwall.serving.sagemaker.SageMakerServing`: a SageMaker endpoint per model
  (:mod:`pitwall.serving.sagemaker`: naming, the tier -> endpoint table, the boto3 calls).

:class:`DeploymentService` holds the rules shared by both: tenant scoping (another tenant's
model is a 404), the tier's deployed-models limit (enforced atomically by
``pitwall.platform.models.deploy_model``), and the order of steps that makes a redeploy
seamless: the new version is made ready *first* (loaded / endpoint updated), then the
registry's deployed version flips; if the flip is refused, the backend rolls back.

:func:`deploy_model` / :func:`undeploy_model` are the hooks behind the SDK's
``model.deploy(name=...)`` and ``pitwall deploy NAME``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from pitwall.config import backend_kind
from pitwall.errors import Conflict
from pitwall.platform import keys, models, quotas
from pitwall.platform.backend import RecordsBackend, get_backend
from pitwall.platform.records import ModelRecord, Principal
from pitwall.serving.errors import EndpointError
from pitwall.serving.predictor import PredictorCache
from pitwall.serving.sagemaker import IN_PROGRESS, EndpointState, SageMakerServing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deployment:
    """The serving state of a model after a deploy/undeploy call."""

    model: str
    version: int | None
    backend: str
    endpoint: str | None
    status: str  # "deploying" (endpoint not InService yet) | "deployed" | "undeployed"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ServingBackend(Protocol):
    """What the deployment service needs from a place that runs models."""

    name: str

    def prepare(self, principal: Principal, record: ModelRecord, previous: ModelRecord | None) -> Any:
        """Make ``record`` ready to serve (before the registry flips); returns a token."""
        ...

    def commit(self, token: Any) -> None:
        """The registry now points at the new version."""
        ...

    def rollback(self, token: Any) -> None:
        """The registry refused the flip: undo ``prepare``."""
        ...

    def remove(self, tenant_id: str, name: str) -> None:
        """Stop serving the model (before the registry marks it undeployed)."""
        ...

    def invoke(self, record: ModelRecord, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Answer one request with the deployed ``record``."""
        ...

    def endpoint(self, tenant_id: str, name: str) -> str | None:
        """The endpoint name serving the model (None in-process)."""
        ...


def _sync_mlflow_aliases(tenant_id: str, name: str) -> None:
    """Keep MLflow's ``champion``/``challenger`` aliases in step with a promotion (best effort:
    tracking never blocks serving; see ``pitwall.ml.tracking.sync_registry_aliases``). Local
    only: the cloud API Lambda carries no MLflow client (nor pandas), so on AWS the platform
    record alone says which version is the champion."""
    if backend_kind() == "aws":
        return
    try:
        from pitwall.ml.tracking import sync_registry_aliases

        sync_registry_aliases(tenant_id, name)
    except Exception as exc:  # noqa: BLE001 - MLflow absent/unreachable
        log.warning("mlflow aliases of %s/%s not updated: %s", tenant_id, name, exc)


# --------------------------------------------------------------------------- local


class LocalServing:
    """In-process serving: predictors in a :class:`PredictorCache`, features from the Store."""

    name = "local"

    def __init__(self, serving: Any = None, cache: PredictorCache | None = None) -> None:
        self._serving = serving
        self._serving_lock = threading.Lock()
        self.cache = cache or PredictorCache()

    @property
    def serving(self) -> Any:
        """The :class:`~pitwall.serving.invocation.InProcessServing` (built on first use)."""
        if self._serving is None:
            with self._serving_lock:
                if self._serving is None:
                    from pitwall.data.store import get_store
                    from pitwall.serving.invocation import InProcessServing

                    self._serving = InProcessServing(get_store())
        return self._serving

    def prepare(self, principal: Principal, record: ModelRecord, previous: ModelRecord | None) -> Any:
        self.cache.get(record)  # loads and verifies the artifact; raises before anything changes
        return (record, previous)

    def commit(self, token: Any) -> None:
        record, previous = token
        keep = {record.version} | ({previous.version} if previous is not None else set())
        self.cache.discard(record.tenant_id, record.name, keep=keep)

    def rollback(self, token: Any) -> None:
        record, previous = token
        keep = {previous.version} if previous is not None else set()
        self.cache.discard(record.tenant_id, record.name, keep=keep)

    def remove(self, tenant_id: str, name: str) -> None:
        self.cache.discard(tenant_id, name, keep=set())

    def invoke(self, record: ModelRecord, payload: Mapping[str, Any]) -> dict[str, Any]:
        return self.serving.invoke(self.cache.get(record), payload)

    def endpoint(self, tenant_id: str, name: str) -> str | None:
        return None


# --------------------------------------------------------------------------- the service


class DeploymentService:
    """Deploy, undeploy, delete and call a tenant's models (see the module doc)."""

    def __init__(self, serving: ServingBackend, records: RecordsBackend | None = None) -> None:
        self.serving = serving
        self._records = records

    @property
    def records(self) -> RecordsBackend:
        return self._records if self._records is not None else get_backend()

    def deployed_record(self, tenant_id: str, name: str) -> ModelRecord:
        """The version of the tenant's model that serves now; 404 / 409 (not deployed) otherwise."""
        head = models.get_model(tenant_id, name, backend=self.records)
        if head.deployed_version is None:
            raise Conflict(
                f"model {name!r} is not deployed; deploy it first (POST /api/v1/models/{name}/deploy)",
                field="model",
                code="model_not_deployed",
            )
        if head.version == head.deployed_version:
            return head
        return models.get_model(tenant_id, name, head.deployed_version, backend=self.records)

    def deploy(self, principal: Principal, name: str, version: int | None = None, *, wait: bool = False) -> Deployment:
        """Serve ``version`` (latest when None) of the model; swaps versions without downtime.

        On SageMaker the endpoint change takes minutes: the answer is ``deploying`` until the endpoint
        is InService, then ``deployed`` (``wait=True`` polls until then: the workflow's DeployModel
        step; otherwise one describe, and :meth:`reconcile` on a later read). A failed change puts the
        registry back on the version the endpoint actually serves and raises :class:`EndpointError`.
        """
        records = self.records
        record = models.get_model(principal.tenant_id, name, version, backend=records)
        head = record if version is None else models.get_model(principal.tenant_id, name, backend=records)
        previous = (
            None
            if head.deployed_version is None
            else models.get_model(principal.tenant_id, name, head.deployed_version, backend=records)
        )
        if previous is None:  # cheap early refusal; deploy_model below is the atomic check
            limit = quotas.deployed_models_limit(principal.tier)
            if limit is not None and records.count_deployed(principal.tenant_id) >= limit:
                raise quotas.deployed_limit_error(principal.tier)
        token = self.serving.prepare(principal, record, previous)
        try:
            models.deploy_model(principal, name, record.version, backend=records)
        except BaseException:
            self.serving.rollback(token)
            raise
        self.serving.commit(token)
        _sync_mlflow_aliases(principal.tenant_id, name)
        status = "deployed"
        settled = getattr(self.serving, "settled", None)
        if settled is not None and not settled(token):
            serving: Any = self.serving
            state = serving.wait(principal.tenant_id, name) if wait else serving.state(principal.tenant_id, name)
            status = self._settle(principal, name, record.version, previous, state)
        return Deployment(
            name, record.version, self.serving.name, self.serving.endpoint(principal.tenant_id, name), status
        )

    def _settle(
        self, principal: Principal, name: str, version: int, previous: ModelRecord | None, state: EndpointState | None
    ) -> str:
        """``deploying`` / ``deployed`` for the endpoint's ``state``; a failure restores the serving version."""
        if state is not None and state.status in IN_PROGRESS:
            return "deploying"
        if state is not None and state.status == "InService" and state.version in (version, None):
            return "deployed"
        served = state.version if state is not None and state.status == "InService" else None
        reason = (state.failure if state is not None else None) or "the endpoint is gone"
        if served is not None:  # SageMaker rolled the failed update back: the registry follows it
            models.deploy_model(principal, name, served, backend=self.records)
            raise EndpointError(f"deploying version {version} of {name!r} failed ({reason}); version {served} serves")
        models.undeploy_model(principal.tenant_id, name, backend=self.records)
        self.serving.remove(principal.tenant_id, name)
        was = f"; version {previous.version} is no longer served" if previous is not None else ""
        raise EndpointError(f"deploying version {version} of {name!r} failed ({reason}){was}")

    def refresh(self, principal: Principal, name: str) -> Deployment | None:
        """A read's reconcile: for a deployed model on an endpoint backend, :meth:`reconcile`; else None."""
        if getattr(self.serving, "state", None) is None:
            return None
        if models.get_model(principal.tenant_id, name, backend=self.records).deployed_version is None:
            return None
        return self.reconcile(principal, name)

    def reconcile(self, principal: Principal, name: str) -> Deployment:
        """The model's deployment as the endpoint says it is now; the registry follows the endpoint
        (a rolled-back update puts it back on the version served, a vanished endpoint undeploys it)."""
        head = models.get_model(principal.tenant_id, name, backend=self.records)
        endpoint = self.serving.endpoint(principal.tenant_id, name)
        state_of = getattr(self.serving, "state", None)
        if state_of is None:
            status = "deployed" if head.deployed_version is not None else "undeployed"
            return Deployment(name, head.deployed_version, self.serving.name, endpoint, status)
        state: EndpointState | None = state_of(principal.tenant_id, name)
        if state is None or state.status == "Failed":
            if head.deployed_version is not None:
                models.undeploy_model(principal.tenant_id, name, backend=self.records)
            return Deployment(name, None, self.serving.name, None, "undeployed")
        if state.status in IN_PROGRESS:
            return Deployment(name, head.deployed_version, self.serving.name, endpoint, "deploying")
        if state.version is not None and state.version != head.deployed_version:
            models.deploy_model(principal, name, state.version, backend=self.records)
        version = state.version if state.version is not None else head.deployed_version
        return Deployment(name, version, self.serving.name, endpoint, "deployed")

    def undeploy(self, principal: Principal, name: str) -> Deployment:
        """Stop serving the model; 409 when it is not deployed."""
        self.deployed_record(principal.tenant_id, name)
        self.serving.remove(principal.tenant_id, name)
        models.undeploy_model(principal.tenant_id, name, backend=self.records)
        return Deployment(name, None, self.serving.name, None, "undeployed")

    def delete(self, principal: Principal, name: str) -> None:
        """Delete every version of the model; 409 while it is deployed."""
        models.delete_model(principal.tenant_id, name, backend=self.records)

    def invoke(self, principal: Principal, name: str, payload: Mapping[str, Any]) -> tuple[ModelRecord, dict]:
        """Answer ``payload`` with the deployed version; returns (that version, the answer)."""
        record = self.deployed_record(principal.tenant_id, name)
        return record, self.serving.invoke(record, payload)


_services: dict[str, DeploymentService] = {}
_local: dict[str, LocalServing] = {}
_services_lock = threading.Lock()


def _home_key() -> str:
    return os.environ.get("PITWALL_HOME", "")


def local_serving() -> LocalServing:
    """The process-wide in-process serving backend (one :class:`PredictorCache` per process and
    Pitwall home): what :func:`default_service` serves with locally, and what the local workflow's
    DeployModel step and the local API should share."""
    home = _home_key()
    with _services_lock:
        serving = _local.get(home)
        if serving is None:
            serving = _local[home] = LocalServing()
        return serving


def default_service() -> DeploymentService:
    """The process-wide deployment service for the current environment (``PITWALL_BACKEND=aws``:
    SageMaker endpoints; otherwise :func:`local_serving`)."""
    kind = backend_kind()
    key = f"{kind}:{_home_key()}"
    serving: ServingBackend = SageMakerServing() if kind == "aws" else local_serving()
    with _services_lock:
        service = _services.get(key)
        if service is None:
            if kind != "aws":  # on AWS the endpoint container captures (pitwall.monitoring.capture)
                import pitwall

                serving = pitwall.assembled("pitwall.monitoring.capture").capturing(serving)
            service = _services[key] = DeploymentService(serving)
        return service


def reset_default_service() -> None:
    """Forget the process-wide services (tests that switch environments call this)."""
    with _services_lock:
        _services.clear()
        _local.clear()


def deploy_model(
    tenant_id: str, name: str, version: int | None = None, *, capture_percent: float | None = None
) -> Deployment:
    """Deploy a tenant's model: the hook behind ``model.deploy(name=...)`` and ``pitwall deploy``.

    ``capture_percent`` (0-100) sets the share of requests captured for monitoring
    (:mod:`pitwall.monitoring.settings`); None keeps the deployment's current rate."""
    principal = keys.principal_for_tenant(tenant_id)
    import pitwall

    settings = pitwall.assembled("pitwall.monitoring.settings")
    if capture_percent is not None:  # validated before anything is deployed
        settings.MonitoringSettings(tenant_id, name, capture_percent=capture_percent)
    deployment = default_service().deploy(principal, name, version)
    settings.configure(tenant_id, name, capture_percent=capture_percent)
    return deployment


def undeploy_model(tenant_id: str, name: str) -> Deployment:
    """Undeploy a tenant's model (``pitwall undeploy NAME``)."""
    principal = keys.principal_for_tenant(tenant_id)
    return default_service().undeploy(principal, name)
