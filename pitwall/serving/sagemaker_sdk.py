"""The SageMaker Python SDK (v3) for notebook users: ``pip install 'pitwall[sagemaker]'``.

The cloud's own code paths (the API and workflow Lambdas, :class:`pitwall.serving.sagemaker.SageMakerServing`)
stay on plain boto3: the SDK and what it pulls in is far over Lambda's 250 MB. From a notebook the
same two jobs go through the SDK's own objects, with Pitwall's image and Pitwall's rules:

- **Deploy**: ``model.deploy(target="sagemaker")`` (:func:`deploy_with_sdk`) runs the usual
  :class:`~pitwall.serving.deploy.DeploymentService` (tenant scoping, the tier's deployed-models limit,
  ready-then-flip redeploys, ``deploying`` until InService) over :class:`SdkServing`, a serving
  backend made of the SDK's resources: ``sagemaker.core.resources.Model`` (Pitwall's inference image,
  the model's ``model.tar.gz``, the container environment the boto3 backend gives), ``EndpointConfig``
  (the tier's variant, :data:`pitwall.serving.sagemaker.SERVING_BY_TIER`) and ``Endpoint``. A local
  artifact folder is verified, packed as ``model.tar.gz`` and uploaded with the SDK session first. The
  answer carries a :class:`Predictor`: the SDK ``Endpoint`` with its JSON serializer/deserializer, so
  ``predict({"race": "monaco_2024"})`` answers what ``POST /api/v1/predict/{model}`` answers.
- **Train**: :func:`pitwall.workflow.sagemaker_sdk.train_with_sdk` (the workflow layer: it speaks the
  training request) runs the SDK's ``ModelTrainer`` with the session helpers here.

Without the extra installed every entry point raises :class:`SageMakerSDKMissing` naming the install
command.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pitwall.errors import Conflict
from pitwall.platform.archives import tar_gz_files
from pitwall.platform.records import ModelRecord, Principal
from pitwall.serving.deploy import Deployment, DeploymentService
from pitwall.serving.errors import EndpointError, ServingUnavailable
from pitwall.serving.sagemaker import (
    IMAGE_ENV,
    IN_PROGRESS,
    ROLE_ARN_ENV,
    EndpointState,
    _is_missing,
    lake_environment,
    production_variant,
    sagemaker_name,
    serving_for_tier,
)

INSTALL_HINT = "pip install 'pitwall[sagemaker]'"
BACKEND_NAME = "sagemaker-sdk"
MODELS_PREFIX = "pitwall/models"


class SageMakerSDKMissing(ImportError):
    """The optional SageMaker SDK extra is not installed."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} needs the SageMaker Python SDK v3, which is not installed: {INSTALL_HINT}")


def require_sdk(what: str = "this call") -> None:
    """Raise :class:`SageMakerSDKMissing` unless ``sagemaker.core`` and ``sagemaker.train`` import."""
    try:
        import sagemaker.core.resources  # noqa: F401
        import sagemaker.train  # noqa: F401
    except ImportError:
        raise SageMakerSDKMissing(what) from None


def sdk_session(boto_session: Any = None, **kwargs: Any) -> Any:
    """A ``sagemaker.core.helper.session_helper.Session`` over ``boto_session`` (default: boto3's)."""
    require_sdk("a SageMaker SDK session")
    from sagemaker.core.helper.session_helper import Session

    return Session(boto_session=boto_session, **kwargs)


def _boto(session: Any) -> tuple[Any, str]:
    boto_session = session.boto_session
    return boto_session, boto_session.region_name


def container_environment(record: ModelRecord) -> dict[str, str]:
    """The inference container's variables: the lake settings and the model's identity and checksum
    (what :class:`~pitwall.serving.sagemaker.SageMakerServing` gives its endpoints)."""
    return {
        **lake_environment(),
        "PITWALL_TENANT": record.tenant_id,
        "PITWALL_MODEL": record.name,
        "PITWALL_MODEL_VERSION": str(record.version),
        "PITWALL_TEMPLATE": record.template,
        "PITWALL_MODEL_SHA256": record.sha256,
    }


def _variant_shape(variant: Mapping[str, Any]) -> Any:
    """:func:`~pitwall.serving.sagemaker.production_variant`'s dict as the SDK's ``ProductionVariant``."""
    from sagemaker.core import shapes

    serverless = variant.get("ServerlessConfig")
    return shapes.ProductionVariant(
        variant_name=variant["VariantName"],
        model_name=variant["ModelName"],
        **(
            {
                "serverless_config": shapes.ProductionVariantServerlessConfig(
                    memory_size_in_mb=serverless["MemorySizeInMB"], max_concurrency=serverless["MaxConcurrency"]
                )
            }
            if serverless
            else {"instance_type": variant["InstanceType"], "initial_instance_count": variant["InitialInstanceCount"]}
        ),
    )


def pack_artifact(folder: str | Path, dest: str | Path) -> Path:
    """Verify a Pitwall artifact folder and write it as ``model.tar.gz`` (files at the archive's root,
    as SageMaker unpacks them into ``/opt/ml/model``)."""
    from pitwall.ml.artifacts import METADATA_FILE, verify_artifact

    root = Path(folder)
    meta = verify_artifact(root)
    dest = Path(dest)
    dest.write_bytes(tar_gz_files({name: (root / name).read_bytes() for name in [METADATA_FILE, *meta["files"]]}))
    return dest


@dataclass(frozen=True)
class _Change:
    endpoint: str
    config: str
    previous_config: str | None
    action: str  # "created" | "updated" | "unchanged"


class SdkServing:
    """A :class:`pitwall.serving.deploy.ServingBackend` made of the SDK's ``Model``, ``EndpointConfig``
    and ``Endpoint`` resources; names, tiers and container environment as :class:`SageMakerServing`."""

    name = BACKEND_NAME

    def __init__(self, session: Any = None, *, role_arn: str | None = None, image_uri: str | None = None) -> None:
        require_sdk("deploying with the SageMaker SDK")
        self.session = session if session is not None else sdk_session()
        self.role_arn = role_arn or os.environ.get(ROLE_ARN_ENV)
        self.image_uri = image_uri or os.environ.get(IMAGE_ENV)

    @staticmethod
    def endpoint_name(tenant_id: str, name: str) -> str:
        return sagemaker_name(tenant_id, name)

    def endpoint(self, tenant_id: str, name: str) -> str | None:
        return self.endpoint_name(tenant_id, name)

    def _get(self, kind: str, name: str) -> Any:
        """The SDK resource ``kind`` named ``name``, or None when SageMaker has none."""
        from sagemaker.core import resources

        boto_session, region = _boto(self.session)
        try:
            return getattr(resources, kind).get(name, session=boto_session, region=region)
        except Exception as exc:  # botocore ClientError
            if _is_missing(exc):
                return None
            raise

    def model_data(self, record: ModelRecord) -> str:
        """The model's ``model.tar.gz`` in S3: its ``s3://`` artifact, else its folder packed and uploaded."""
        if record.artifact_uri.startswith("s3://"):
            return record.artifact_uri
        folder = Path(record.artifact_uri)
        if not folder.is_dir():
            raise Conflict(
                f"model {record.name!r} version {record.version} has no artifact at {record.artifact_uri!r}",
                field="version",
                code="artifact_missing",
            )
        with tempfile.TemporaryDirectory() as tmp:
            tarball = pack_artifact(folder, Path(tmp) / "model.tar.gz")
            prefix = f"{MODELS_PREFIX}/{record.tenant_id}/{record.name}/v{record.version}"
            return str(self.session.upload_data(str(tarball), key_prefix=prefix))

    def prepare(self, principal: Principal, record: ModelRecord, previous: ModelRecord | None) -> _Change:
        from sagemaker.core import resources, shapes

        if not self.role_arn or not self.image_uri:
            raise ServingUnavailable(
                f"SageMaker serving needs role_arn/image_uri (or {ROLE_ARN_ENV} and {IMAGE_ENV})",
                code="serving_not_configured",
            )
        boto_session, region = _boto(self.session)
        tenant, name, version = record.tenant_id, record.name, record.version
        endpoint = self.endpoint_name(tenant, name)
        model_name = sagemaker_name(tenant, name, f"v{version}")
        config_name = sagemaker_name(tenant, name, f"v{version}", principal.tier)
        tags = [shapes.Tag(key="pitwall:tenant", value=tenant)]
        if self._get("Model", model_name) is None:
            resources.Model.create(
                model_name=model_name,
                execution_role_arn=self.role_arn,
                primary_container=shapes.ContainerDefinition(
                    image=self.image_uri,
                    model_data_url=self.model_data(record),
                    environment=container_environment(record),
                ),
                tags=[*tags, shapes.Tag(key="pitwall:model", value=name)],
                session=boto_session,
                region=region,
            )
        if self._get("EndpointConfig", config_name) is None:
            variant = production_variant(serving_for_tier(principal.tier), model_name)
            resources.EndpointConfig.create(
                endpoint_config_name=config_name,
                production_variants=[_variant_shape(variant)],
                tags=tags,
                session=boto_session,
                region=region,
            )
        current = self._get("Endpoint", endpoint)
        if current is None:
            resources.Endpoint.create(
                endpoint_name=endpoint, endpoint_config_name=config_name, tags=tags, session=boto_session, region=region
            )
            return _Change(endpoint, config_name, None, "created")
        old = str(current.endpoint_config_name)
        if old == config_name:
            return _Change(endpoint, config_name, old, "unchanged")
        current.endpoint_config_name = config_name
        current.update()
        return _Change(endpoint, config_name, old, "updated")

    def commit(self, token: _Change) -> None:
        return None

    def settled(self, token: _Change) -> bool:
        return token.action == "unchanged"

    def state(self, tenant_id: str, name: str) -> EndpointState | None:
        endpoint = self.endpoint_name(tenant_id, name)
        current = self._get("Endpoint", endpoint)
        if current is None:
            return None
        status = str(current.endpoint_status)
        served = self._served_version(str(current.endpoint_config_name)) if status == "InService" else None
        failure = current.failure_reason if isinstance(current.failure_reason, str) else None
        return EndpointState(endpoint=endpoint, status=status, version=served, failure=failure)

    def _served_version(self, config_name: str) -> int | None:
        config = self._get("EndpointConfig", config_name)
        for variant in (config.production_variants if config is not None else [])[:1]:
            model = self._get("Model", str(variant.model_name))
            environment = getattr(getattr(model, "primary_container", None), "environment", None)
            version = environment.get("PITWALL_MODEL_VERSION") if isinstance(environment, dict) else None
            if version is not None and str(version).isdigit():
                return int(version)
        return None

    def wait(self, tenant_id: str, name: str, *, timeout_s: float = 12 * 60, poll_s: float = 15.0) -> Any:
        """The SDK's own waiter (``Endpoint.wait_for_status("InService")``), then the endpoint's state."""
        current = self._get("Endpoint", self.endpoint_name(tenant_id, name))
        if current is not None and str(current.endpoint_status) in IN_PROGRESS:
            try:
                current.wait_for_status("InService", poll=int(poll_s), timeout=int(timeout_s))
            except Exception:  # Failed / timed out: the state below says which
                pass
        return self.state(tenant_id, name)

    def rollback(self, token: _Change) -> None:
        current = self._get("Endpoint", token.endpoint)
        if current is None:
            return
        if token.action == "created":
            current.delete()
        elif token.action == "updated" and token.previous_config:
            current.endpoint_config_name = token.previous_config
            current.update()

    def remove(self, tenant_id: str, name: str) -> None:
        current = self._get("Endpoint", self.endpoint_name(tenant_id, name))
        if current is None:
            return
        config = self._get("EndpointConfig", str(current.endpoint_config_name))
        current.delete()
        if config is not None:
            models = [str(v.model_name) for v in config.production_variants]
            config.delete()
            for model_name in models:
                model = self._get("Model", model_name)
                if model is not None:
                    model.delete()

    def predictor(self, tenant_id: str, name: str) -> Predictor:
        return Predictor(self.endpoint_name(tenant_id, name), self.session)

    def invoke(self, record: ModelRecord, payload: Mapping[str, Any]) -> dict[str, Any]:
        return self.predictor(record.tenant_id, record.name).predict(payload)


class Predictor:
    """A deployed model's endpoint through the SDK: ``predict(payload)`` sends the prediction API's
    body (``{"race": ...}``, ``{"instances": [...]}``, ``{"championship": {...}}``; a DataFrame is sent
    as ``instances``) and returns its JSON answer. Wraps ``sagemaker.core.resources.Endpoint`` with the
    SDK's ``JSONSerializer``/``JSONDeserializer`` (v3's Predictor)."""

    def __init__(self, endpoint_name: str, session: Any = None) -> None:
        require_sdk("a SageMaker SDK predictor")
        self.endpoint_name = endpoint_name
        self.session = session if session is not None else sdk_session()
        self._endpoint: Any = None

    @property
    def endpoint(self) -> Any:
        """The SDK ``Endpoint`` (described on first use)."""
        if self._endpoint is None:
            from sagemaker.core import resources
            from sagemaker.core.deserializers import JSONDeserializer
            from sagemaker.core.serializers import JSONSerializer

            boto_session, region = _boto(self.session)
            endpoint = resources.Endpoint.get(self.endpoint_name, session=boto_session, region=region)
            endpoint.serializer, endpoint.deserializer = JSONSerializer(), JSONDeserializer()
            self._endpoint = endpoint
        return self._endpoint

    def predict(self, payload: Any) -> dict[str, Any]:
        if hasattr(payload, "to_dict") and hasattr(payload, "columns"):  # a pandas DataFrame of feature rows
            payload = {"instances": json.loads(payload.to_json(orient="records"))}
        if not isinstance(payload, Mapping):
            raise TypeError(f"predict(): expected a request body (dict) or a DataFrame, got {type(payload).__name__}")
        boto_session, region = _boto(self.session)
        try:
            response = self.endpoint.invoke(
                body=dict(payload),
                content_type="application/json",
                accept="application/json",
                session=boto_session,
                region=region,
            )
        except Exception as exc:
            from pitwall.serving.sagemaker import _endpoint_failure

            raise _endpoint_failure(exc, self.endpoint_name) from None
        answer = response.body
        if not isinstance(answer, dict):
            raise EndpointError(f"endpoint {self.endpoint_name!r} answered with JSON that is not an object")
        return answer

    def __repr__(self) -> str:
        return f"Predictor({self.endpoint_name!r})"


@dataclass(frozen=True)
class SdkDeployment(Deployment):
    """A deployment made through the SDK, with the :class:`Predictor` of its endpoint."""

    predictor: Predictor | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "backend": self.backend, "endpoint": self.endpoint,
                "status": self.status}  # fmt: skip


def deploy_with_sdk(
    tenant_id: str,
    name: str,
    version: int | None = None,
    *,
    session: Any = None,
    role_arn: str | None = None,
    image_uri: str | None = None,
    wait: bool = False,
) -> SdkDeployment:
    """Deploy a registered model on a SageMaker endpoint through the SDK (``model.deploy(target="sagemaker")``).

    The registry and its rules are Pitwall's (:class:`DeploymentService`); ``wait=True`` blocks on the
    SDK's waiter until the endpoint is InService (the answer says ``deploying`` until then)."""
    from pitwall.platform import keys

    serving = SdkServing(session, role_arn=role_arn, image_uri=image_uri)
    principal = keys.principal_for_tenant(tenant_id)
    deployment = DeploymentService(serving).deploy(principal, name, version, wait=wait)
    return SdkDeployment(
        deployment.model,
        deployment.version,
        deployment.backend,
        deployment.endpoint,
        deployment.status,
        predictor=serving.predictor(tenant_id, name),
    )
