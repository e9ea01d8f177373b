"""SageMaker serving: endpoint naming, the tier -> endpoint table, and the :class:`SageMakerServing` backend.

- :func:`sagemaker_name`: every SageMaker resource Pitwall creates (training jobs, models, endpoint
  configs, endpoints) is named ``pitwall-<parts>-<hash8>``, the prefix the IAM policies are scoped to.
- :data:`SERVING_BY_TIER`: how each tier's models are served, the ONE mapping the deploy path and the
  serving stack read. Free models get SageMaker Serverless Inference (no idle cost, cold starts); Pro
  models an instance-backed endpoint (steady latency, billed per hour). Keys are the tier names of
  :data:`pitwall.platform.tiers.TIERS`.
- :class:`SageMakerServing`: a :class:`pitwall.serving.deploy.ServingBackend` with one endpoint per
  (tenant, model): ``CreateModel`` -> ``CreateEndpointConfig`` -> ``CreateEndpoint``, or
  ``UpdateEndpoint`` on redeploy, which SageMaker performs blue/green. Plain boto3 only, imported
  when a client is first needed (the API Lambda stays lean).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pitwall.errors import Conflict, PitwallError
from pitwall.platform.records import ModelRecord, Principal
from pitwall.platform.tiers import TIERS
from pitwall.serving.errors import EndpointError, ServingUnavailable

log = logging.getLogger(__name__)

LAKE_ENV = ("PITWALL_BUCKET", "PITWALL_PREFIX", "PITWALL_GLUE_DATABASE", "PITWALL_ATHENA_WORKGROUP")
"""The Store's lake settings handed to every endpoint container (with ``PITWALL_BACKEND=aws``), so race
and championship bodies resolve their features from the lake; the endpoint role reads it (serving stack)."""
MONITORING_ENV = (
    "PITWALL_CAPTURE_BUCKET",
    "PITWALL_CAPTURE_PREFIX",
    "PITWALL_MONITORING_BUCKET",
    "PITWALL_MONITORING_PREFIX",
)
"""Handed to every endpoint container too: where it writes its data captures and reads its capture rate
(``pitwall.monitoring``; the monitoring stack sets them on the functions that deploy)."""
ROLE_ARN_ENV = "PITWALL_SAGEMAKER_ROLE_ARN"
IMAGE_ENV = "PITWALL_INFERENCE_IMAGE"
NAME_PREFIX = "pitwall-"


# --------------------------------------------------------------------------- names


def _slug(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^A-Za-z0-9]", "-", text)).strip("-") or "x"


def sagemaker_name(*parts: str, max_len: int = 63) -> str:
    """A SageMaker resource name ``pitwall-<parts>-<hash8>``: unique per parts, at most ``max_len``.

    SageMaker names allow letters, digits and hyphens; the hash keeps names distinct when slugs collide
    or are truncated. Every name starts with ``pitwall-``, the prefix the IAM policies are scoped to.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:8]
    room = max_len - len(NAME_PREFIX) - len(digest) - 1
    body = "-".join(_slug(p) for p in parts)[:room].strip("-")
    return f"{NAME_PREFIX}{body}-{digest}"


# --------------------------------------------------------------------------- tiers


@dataclass(frozen=True)
class ServerlessServing:
    """SageMaker Serverless Inference: memory in MB (1024-6144, steps of 1024) and max concurrency."""

    memory_size_mb: int
    max_concurrency: int


@dataclass(frozen=True)
class InstanceServing:
    """A real-time endpoint on ``initial_instance_count`` instances of ``instance_type``."""

    instance_type: str
    initial_instance_count: int


ServingConfig = ServerlessServing | InstanceServing

SERVING_BY_TIER: dict[str, ServingConfig] = {
    "free": ServerlessServing(memory_size_mb=2048, max_concurrency=5),
    "pro": InstanceServing(instance_type="ml.m5.large", initial_instance_count=1),
}

if set(SERVING_BY_TIER) != set(TIERS):
    raise RuntimeError(f"SERVING_BY_TIER covers {sorted(SERVING_BY_TIER)} but the tiers are {sorted(TIERS)}")


def serving_for_tier(tier: str) -> ServingConfig:
    """The serving configuration of ``tier``; ``ValueError`` naming the known tiers otherwise."""
    try:
        return SERVING_BY_TIER[tier]
    except KeyError:
        raise ValueError(f"unknown tier {tier!r}; expected one of {sorted(SERVING_BY_TIER)}") from None


def production_variant(config: ServingConfig, model_name: str, variant_name: str = "AllTraffic") -> dict[str, Any]:
    """The SageMaker ``ProductionVariant`` for ``CreateEndpointConfig`` serving ``model_name``."""
    variant: dict[str, Any] = {"VariantName": variant_name, "ModelName": model_name}
    if isinstance(config, ServerlessServing):
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": config.memory_size_mb,
            "MaxConcurrency": config.max_concurrency,
        }
    else:
        variant["InstanceType"] = config.instance_type
        variant["InitialInstanceCount"] = config.initial_instance_count
    return variant


# --------------------------------------------------------------------------- SageMaker


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _is_missing(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    message = str(response.get("Error", {}).get("Message", ""))
    return _error_code(exc) in ("ValidationException", "ResourceNotFound") and "Could not find" in message


IN_PROGRESS = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
"""Endpoint statuses that are still moving: a deployment is ``deploying`` while the endpoint has one."""
DEPLOY_WAIT_SECONDS = 12 * 60  # the DeployModel step's Lambda runs up to 15 minutes
DEPLOY_POLL_SECONDS = 15.0


@dataclass(frozen=True)
class EndpointState:
    """What DescribeEndpoint says: ``status`` (InService, Creating, Updating, Failed...) and, when
    InService, the model version its config serves."""

    endpoint: str
    status: str
    version: int | None
    failure: str | None = None


@dataclass(frozen=True)
class _EndpointChange:
    endpoint: str
    config: str
    previous_config: str | None
    action: str  # "created" | "updated" | "unchanged"


class SageMakerServing:
    """A SageMaker endpoint per (tenant, model); names from :func:`sagemaker_name`.

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
        sleep: Any = None,
    ) -> None:
        import time

        self.sleep = sleep or time.sleep
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
                        **lake_environment(),
                        **{k: os.environ[k] for k in MONITORING_ENV if os.environ.get(k)},
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

    def settled(self, token: _EndpointChange) -> bool:
        """True when the change needs no waiting (the endpoint already served this config)."""
        return token.action == "unchanged"

    def state(self, tenant_id: str, name: str) -> EndpointState | None:
        """The endpoint's status and the model version it serves now (None: no endpoint)."""
        endpoint = self.endpoint_name(tenant_id, name)
        current = self._describe("describe_endpoint", EndpointName=endpoint)
        if current is None:
            return None
        status = str(current.get("EndpointStatus", ""))
        served = self._served_version(str(current.get("EndpointConfigName", ""))) if status == "InService" else None
        return EndpointState(endpoint=endpoint, status=status, version=served, failure=current.get("FailureReason"))

    def _served_version(self, config_name: str) -> int | None:
        config = self._describe("describe_endpoint_config", EndpointConfigName=config_name) if config_name else None
        for variant in (config or {}).get("ProductionVariants", [])[:1]:
            model = self._describe("describe_model", ModelName=variant["ModelName"]) or {}
            version = model.get("PrimaryContainer", {}).get("Environment", {}).get("PITWALL_MODEL_VERSION")
            if version is not None and str(version).isdigit():
                return int(version)
        return None

    def wait(
        self,
        tenant_id: str,
        name: str,
        *,
        timeout_s: float = DEPLOY_WAIT_SECONDS,
        poll_s: float = DEPLOY_POLL_SECONDS,
    ) -> EndpointState | None:
        """Poll the endpoint until it leaves Creating/Updating (or ``timeout_s`` passes); its last state."""
        sleep = self.sleep
        waited = 0.0
        while True:
            state = self.state(tenant_id, name)
            if state is None or state.status not in IN_PROGRESS or waited >= timeout_s:
                return state
            sleep(poll_s)
            waited += poll_s

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


def lake_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The container variables that point ``get_store()`` at the lake (empty when this process has none)."""
    env = os.environ if environ is None else environ
    found = {name: env[name] for name in LAKE_ENV if env.get(name)}
    return {"PITWALL_BACKEND": "aws", **found} if "PITWALL_BUCKET" in found else {}


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
