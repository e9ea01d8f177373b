"""Lambda handlers of the training workflow's steps: parse, call :mod:`pitwall.workflow.steps`, return.

One handler per step (``workflow_steps.<implementation>``). The state machine passes the whole state
document as the event and stores the return value at the step's result path. Clients are created once
per container. A throttled AWS call is re-raised as ``ThrottlingException`` so the state machine's
Retry policy (from :mod:`pitwall.workflow.definition`) retries the step; every step is safe to retry
(the platform rules are idempotent per job).

Environment: ``PITWALL_*_TABLE`` (platform tables); BuildFeatures: ``PITWALL_BUCKET`` and
``PITWALL_PREFIX`` (the Store's lake) and ``PITWALL_FEATURES_BUCKET`` (where manifests go); DeployModel:
``PITWALL_INFERENCE_IMAGE`` and ``PITWALL_SAGEMAKER_ROLE_ARN`` (read by ``SageMakerServing``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config
from botocore.exceptions import ClientError

from pitwall.platform.dynamo_backend import DynamoBackend
from pitwall.serving.sagemaker import SageMakerServing
from pitwall.workflow import steps
from pitwall.workflow.aws import S3ArtifactReader, S3LakeManifest, raise_if_throttled
from pitwall.workflow.steps import WorkflowPorts

logger = Logger()
metrics = Metrics()

_CLIENT_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"})
S3 = boto3.client("s3", config=_CLIENT_CONFIG)
SAGEMAKER = boto3.client("sagemaker", config=_CLIENT_CONFIG)
DYNAMODB = boto3.client("dynamodb", config=_CLIENT_CONFIG)

PORTS = WorkflowPorts(
    backend=DynamoBackend(DYNAMODB),
    features=S3LakeManifest(
        S3,
        bucket=os.environ.get("PITWALL_BUCKET", ""),
        prefix=os.environ.get("PITWALL_PREFIX", "lake"),
        manifest_bucket=os.environ.get("PITWALL_FEATURES_BUCKET", ""),
    ),
    artifacts=S3ArtifactReader(S3),
    serving=SageMakerServing(sagemaker_client=SAGEMAKER),
)

Step = Callable[[Mapping[str, Any], WorkflowPorts], dict[str, Any]]


def _run(step: Step, event: Mapping[str, Any]) -> dict[str, Any]:
    job = event.get("job") if isinstance(event, Mapping) else None
    tenant_id = job.get("tenant_id") if isinstance(job, Mapping) else event.get("tenant_id")
    job_id = job.get("job_id") if isinstance(job, Mapping) else event.get("job_id")
    logger.append_keys(step=step.__name__, tenant_id=tenant_id, job_id=job_id)
    try:
        result = step(event, PORTS)
    except ClientError as exc:
        metrics.add_metric(name=f"{step.__name__}_failed", unit=MetricUnit.Count, value=1)
        logger.warning("AWS call failed", extra={"error": type(exc).__name__, "cause": str(exc)})
        raise_if_throttled(exc)
        raise
    except Exception as exc:
        logger.warning("step failed", extra={"error": type(exc).__name__, "cause": str(exc)})
        metrics.add_metric(name=f"{step.__name__}_failed", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name=f"{step.__name__}_succeeded", unit=MetricUnit.Count, value=1)
    return result


@logger.inject_lambda_context
@metrics.log_metrics
def validate_and_reserve_quota(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run(steps.validate_and_reserve_quota, event)


@logger.inject_lambda_context
@metrics.log_metrics
def build_features(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run(steps.build_features, event)


@logger.inject_lambda_context
@metrics.log_metrics
def evaluate_challenger(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run(steps.evaluate_challenger, event)


@logger.inject_lambda_context
@metrics.log_metrics
def register_model(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run(steps.register_model, event)


@logger.inject_lambda_context
@metrics.log_metrics
def deploy_model(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run(steps.deploy_model, event)


@logger.inject_lambda_context
@metrics.log_metrics
def release_quota_and_record_failure(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run(steps.release_quota_and_record_failure, event)
