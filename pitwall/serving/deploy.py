"""The deployment service: one way to deploy, undeploy and call models, two backends.

- :class:`LocalServing`: the model is loaded in-process (``pitwall serve``) and answered by
  :func:`pitwall.serving.invocation.invoke`.
- :class:`SageMakerServing`: a SageMaker endpoint per model (``CreateModel`` ->
  ``CreateEndpointConfig`` -> ``CreateEndpoint``, or ``UpdateEndpoint`` on redeploy, which
  SageMaker performs blue/green). Free-tier models get serverless inference, Pro models an
  instance (:mod:`pitwall.workflow.serving`). Plain boto3 only.

:class:`DeploymentService` holds the rules shared by both: tenant scoping (another tenant's
model is a 404), the tier's deployed-models limit (enforced atomically by
``pitwall.platform.models.deploy_model``), and the order of steps that makes a redeploy
seamless: the new version is made ready *first* (loaded / endpoint updated), then the
registry's deployed version flips; if the flip is refused, the backend rolls back.

:func:`deploy_model` / :func:`undeploy_model` are the hooks behind the SDK's
``model.deploy(name=...)`` and ``pitwall deploy NAME``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from pitwall.errors import Conflict, PitwallError
from pitwall.platform import keys, models, quotas
from pitwall.platform.backend import RecordsBackend, backend_kind, get_backend
from pitwall.platform.records import ModelRecord, Principal
from pitwall.serving.errors import EndpointError, ServingUnavailable
from pitwall.serving.predictor import PredictorCache

log = logging.getLogger(__name__)

ROLE_ARN_ENV = "PITWALL_SAGEMAKER_ROLE_ARN"
IMAGE_ENV = "PITWALL_INFERENCE_IMAGE"


@dataclass(frozen=True)
class Deployment:
    """The serving state of a model after a deploy/undeploy call."""

    model: str
    version: int | None
    backend: str
    endpoint: str | None
    status: str  # "deployed" | "undeployed"

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


# --------------------------------------------------------------------------- SageMaker


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _is_missing(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    message = str(response.get("Error", {}).get("Message", ""))
    return _error_code(exc) in ("ValidationException", "ResourceNotFound") and "Could not find" in message


@dataclass(frozen=True)
class _EndpointChange:
    endpoint: str
    config: str
    previous_config: str | None
    action: str  # "created" | "updated" | "unchanged"


class SageMakerServing:
    """A SageMaker endpoint per (tenant, model); names from :func:`pitwall.workflow.steps.sagemaker_name`.

    The endpoint serves the inference image ``$PITWALL_INFERENCE_IMAGE`` (``training_images/``)
    with the model's ``model.tar.gz`` (``artifact_uri``, an ``s3://`` URI), assuming
    ``$PITWALL_SAGEMAKER_ROLE_ARN``. The container answers ``POST /invocations`` with
    :func:`pitwall.serving.invocation.invoke`.
    """

    name = "sagemaker"

    def __init__(
        self,
        *,
        role_arn: str | None = None,
        image_uri: str | None = None,
        sagemaker_client: Any = None,
        runtime_client: Any = None,
    ) -> None:
        self.role_arn = role_arn or os.environ.get(ROLE_ARN_ENV)
        self.image_uri = image_uri or os.environ.get(IMAGE_ENV)
        self._sm = sagemaker_client
        self._rt = runtime_client

    @property
    def sm(self) -> Any:
        if self._sm is None:
            import boto3

            self._sm = boto3.client("sagemaker")
        return self._sm

    @property
    def rt(self) -> Any:
        if self._rt is None:
            import boto3

            self._rt = boto3.client("sagemaker-runtime")
        return self._rt

    @staticmethod
    def endpoint_name(tenant_id: str, name: str) -> str:
        from pitwall.workflow.steps import sagemaker_name

        return sagemaker_name(tenant_id, name)

    def endpoint(self, tenant_id: str, name: str) -> str | None:
        return self.endpoint_name(tenant_id, name)

    def _describe(self, call: str, **kw: Any) -> dict[str, Any] | None:
        try:
            return getattr(self.sm, call)(**kw)
        except Exception as exc:  # botocore ClientError; imported lazily
            if _is_missing(exc):
                return None
            raise

    def prepare(self, principal: Principal, record: ModelRecord, previous: ModelRecord | None) -> _EndpointChange:
        from pitwall.workflow.serving import production_variant, serving_for_tier
        from pitwall.workflow.steps import sagemaker_name

        if not self.role_arn or not self.image_uri:
            raise ServingUnavailable(
                f"SageMaker serving needs {ROLE_ARN_ENV} and {IMAGE_ENV} to be set", code="serving_not_configured"
            )
        if not record.artifact_uri.startswith("s3://"):
            raise Conflict(
                f"model {record.name!r} version {record.version} has no S3 artifact ({record.artifact_uri!r})",
                field="version",
                code="artifact_not_in_s3",
            )
        tenant, name, version = record.tenant_id, record.name, record.version
        endpoint = self.endpoint_name(tenant, name)
        model_name = sagemaker_name(tenant, name, f"v{version}")
        config_name = sagemaker_name(tenant, name, f"v{version}", principal.tier)
        if self._describe("describe_model", ModelName=model_name) is None:
            self.sm.create_model(
                ModelName=model_name,
                ExecutionRoleArn=self.role_arn,
                PrimaryContainer={
                    "Image": self.image_uri,
                    "ModelDataUrl": record.artifact_uri,
                    "Environment": {
                        "PITWALL_TENANT": tenant,
                        "PITWALL_MODEL": name,
                        "PITWALL_MODEL_VERSION": str(version),
                        "PITWALL_TEMPLATE": record.template,
                        "PITWALL_MODEL_SHA256": record.sha256,
                    },
                },
                Tags=[{"Key": "pitwall:tenant", "Value": tenant}, {"Key": "pitwall:model", "Value": name}],
            )
        if self._describe("describe_endpoint_config", EndpointConfigName=config_name) is None:
            self.sm.create_endpoint_config(
                EndpointConfigName=config_name,
                ProductionVariants=[production_variant(serving_for_tier(principal.tier), model_name)],
                Tags=[{"Key": "pitwall:tenant", "Value": tenant}],
            )
        current = self._describe("describe_endpoint", EndpointName=endpoint)
        if current is None:
            self.sm.create_endpoint(
                EndpointName=endpoint, EndpointConfigName=config_name, Tags=[{"Key": "pitwall:tenant", "Value": tenant}]
            )
            return _EndpointChange(endpoint, config_name, None, "created")
        old = str(current["EndpointConfigName"])
        if old == config_name:
            return _EndpointChange(endpoint, config_name, old, "unchanged")
        self.sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=config_name)
        return _EndpointChange(endpoint, config_name, old, "updated")

    def commit(self, token: _EndpointChange) -> None:
        return None

    def rollback(self, token: _EndpointChange) -> None:
        if token.action == "created":
            self.sm.delete_endpoint(EndpointName=token.endpoint)
        elif token.action == "updated" and token.previous_config:
            self.sm.update_endpoint(EndpointName=token.endpoint, EndpointConfigName=token.previous_config)

    def remove(self, tenant_id: str, name: str) -> None:
        endpoint = self.endpoint_name(tenant_id, name)
        current = self._describe("describe_endpoint", EndpointName=endpoint)
        if current is None:
            return
        config = self._describe("describe_endpoint_config", EndpointConfigName=current["EndpointConfigName"])
        self.sm.delete_endpoint(EndpointName=endpoint)
        if config is not None:
            self.sm.delete_endpoint_config(EndpointConfigName=current["EndpointConfigName"])
            for variant in config.get("ProductionVariants", []):
                if self._describe("describe_model", ModelName=variant["ModelName"]) is not None:
                    self.sm.delete_model(ModelName=variant["ModelName"])

    def invoke(self, record: ModelRecord, payload: Mapping[str, Any]) -> dict[str, Any]:
        endpoint = self.endpoint_name(record.tenant_id, record.name)
        try:
            response = self.rt.invoke_endpoint(
                EndpointName=endpoint,
                ContentType="application/json",
                Accept="application/json",
                Body=json.dumps(payload).encode("utf-8"),
            )
        except Exception as exc:
            raise _endpoint_failure(exc, endpoint) from None
        raw = response["Body"].read()
        try:
            answer = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise EndpointError(f"endpoint {endpoint!r} answered with a body that is not JSON") from None
        if not isinstance(answer, dict):
            raise EndpointError(f"endpoint {endpoint!r} answered with JSON that is not an object")
        return answer


def _endpoint_failure(exc: Exception, endpoint: str) -> PitwallError:
    """Map an InvokeEndpoint failure: the container's own 4xx error passes through."""
    code = _error_code(exc)
    response = getattr(exc, "response", None) or {}
    if code == "ModelError":
        status = int(response.get("OriginalStatusCode") or 0)
        try:
            err = json.loads(response.get("OriginalMessage") or "")["error"]
            if 400 <= status < 500:
                passed = PitwallError(str(err["message"]), field=err.get("field"), code=str(err["code"]))
                passed.http_status = status
                return passed
        except (ValueError, KeyError, TypeError):
            pass
        return EndpointError(f"endpoint {endpoint!r} failed (status {status or 'unknown'})")
    if _is_missing(exc):
        return ServingUnavailable(f"endpoint {endpoint!r} does not exist", code="endpoint_missing")
    if code:
        return EndpointError(f"endpoint {endpoint!r} call failed: {code}")
    log.exception("endpoint %s call failed", endpoint)
    return EndpointError(f"endpoint {endpoint!r} call failed")


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

    def deploy(self, principal: Principal, name: str, version: int | None = None) -> Deployment:
        """Serve ``version`` (latest when None) of the model; swaps versions without downtime."""
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
        return Deployment(
            name, record.version, self.serving.name, self.serving.endpoint(principal.tenant_id, name), "deployed"
        )

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
_services_lock = threading.Lock()


def serving_for_environment() -> ServingBackend:
    """``PITWALL_BACKEND=aws``: SageMaker; otherwise in-process."""
    return SageMakerServing() if backend_kind() == "aws" else LocalServing()


def default_service() -> DeploymentService:
    """The process-wide deployment service for the current environment."""
    kind = backend_kind()
    home = os.environ.get("PITWALL_HOME", "")
    key = f"{kind}:{home}"
    with _services_lock:
        service = _services.get(key)
        if service is None:
            service = DeploymentService(serving_for_environment())
            _services[key] = service
        return service


def reset_default_service() -> None:
    """Forget the process-wide services (tests that switch environments call this)."""
    with _services_lock:
        _services.clear()


def deploy_model(tenant_id: str, name: str, version: int | None = None) -> Deployment:
    """Deploy a tenant's model: the hook behind ``model.deploy(name=...)`` and ``pitwall deploy``."""
    principal = keys.principal_for_tenant(tenant_id)
    return default_service().deploy(principal, name, version)


def undeploy_model(tenant_id: str, name: str) -> Deployment:
    """Undeploy a tenant's model (``pitwall undeploy NAME``)."""
    principal = keys.principal_for_tenant(tenant_id)
    return default_service().undeploy(principal, name)
