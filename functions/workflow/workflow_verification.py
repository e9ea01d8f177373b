"""Lambda handlers of the marketplace verification workflow's steps (:mod:`pitwall.marketplace.jobs`,
the definition in :mod:`pitwall.workflow.verification`).

One handler per Lambda step (``workflow_verification.<implementation>``); the state machine passes the
whole state document and stores the return value at the step's result path. VerifyModel is the SageMaker
training job on the model image (no handler here). A throttled AWS call is re-raised as
``ThrottlingException`` so the Retry policy retries the step; every step is safe to retry (a listing
leaves ``verifying`` once).

Environment: ``PITWALL_*_TABLE`` (platform tables); PrepareVerification: ``PITWALL_TRAINING_IMAGE``;
SelectVerificationData: ``PITWALL_BUCKET``, ``PITWALL_PREFIX`` (the Store's lake) and
``PITWALL_FEATURES_BUCKET`` (where the SageMaker manifest goes).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import ClientError

from pitwall.marketplace import jobs
from pitwall.platform.dynamo_backend import DynamoBackend
from pitwall.workflow import verification
from pitwall.workflow.aws import S3LakeManifest, raise_if_throttled, split_s3_uri
from pitwall.workflow.errors import StepFailed
from pitwall.workflow.local import json_from_tar

logger = Logger()

_CLIENT_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"})
S3 = boto3.client("s3", config=_CLIENT_CONFIG)
DYNAMODB = boto3.client("dynamodb", config=_CLIENT_CONFIG)


class S3VerificationResults:
    """``verification.json`` from the ``model.tar.gz`` the verification job wrote."""

    def read(self, model_artifacts: str) -> dict[str, Any]:
        bucket, key = split_s3_uri(model_artifacts)
        try:
            body = S3.get_object(Bucket=bucket, Key=key)["Body"]
        except ClientError as exc:
            raise_if_throttled(exc)
            raise StepFailed(f"cannot read {model_artifacts}: {exc}") from None
        raw = json_from_tar(body, verification.RESULT_FILE, model_artifacts)
        if raw is None:
            raise StepFailed(f"{model_artifacts} has no {verification.RESULT_FILE}")
        return verification.parse_result(raw, model_artifacts)


PORTS = jobs.VerificationPorts(
    backend=DynamoBackend(DYNAMODB),
    features=S3LakeManifest(
        S3,
        bucket=os.environ.get("PITWALL_BUCKET", ""),
        prefix=os.environ.get("PITWALL_PREFIX", "lake"),
        manifest_bucket=os.environ.get("PITWALL_FEATURES_BUCKET", ""),
    ),
    results=S3VerificationResults(),
)

Step = Callable[[Mapping[str, Any], jobs.VerificationPorts], dict[str, Any]]


def _run(step: Step, event: Mapping[str, Any]) -> dict[str, Any]:
    logger.append_keys(step=step.__name__, listing_id=event.get("listing_id") if isinstance(event, Mapping) else None)
    try:
        return step(event, PORTS)
    except ClientError as exc:
        logger.warning("AWS call failed", extra={"error": type(exc).__name__, "cause": str(exc)})
        raise_if_throttled(exc)
        raise
    except Exception as exc:
        logger.warning("step failed", extra={"error": type(exc).__name__, "cause": json.dumps(str(exc))[:500]})
        raise


@logger.inject_lambda_context
def prepare_verification(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run(jobs.prepare_verification, event)


@logger.inject_lambda_context
def select_verification_data(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run(jobs.select_verification_data, event)


@logger.inject_lambda_context
def record_verification(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run(jobs.record_verification, event)


@logger.inject_lambda_context
def record_rejection(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run(jobs.record_rejection, event)
