"""Lambda handler of the ``RaceIngested`` rule: start retraining of auto-retrain models.

Calls :func:`pitwall.workflow.retrain.start_retraining` with a starter that names each Step Functions
execution after its job id (a redelivered event finds the execution already started).

Environment: ``PITWALL_*_TABLE`` and ``PITWALL_TRAINING_STATE_MACHINE_ARN``.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config

from pitwall.platform.dynamo_backend import DynamoBackend
from pitwall.workflow.launchers import start_execution as start
from pitwall.workflow.retrain import start_retraining as start_all

logger = Logger()
metrics = Metrics()

_CLIENT_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"})
STEPFUNCTIONS = boto3.client("stepfunctions", config=_CLIENT_CONFIG)
BACKEND = DynamoBackend(boto3.client("dynamodb", config=_CLIENT_CONFIG))


def start_execution(name: str, execution_input: dict[str, Any]) -> bool:
    """Start the training workflow; False when an execution with this name already exists."""
    return start(STEPFUNCTIONS, os.environ["PITWALL_TRAINING_STATE_MACHINE_ARN"], name, execution_input)


@logger.inject_lambda_context
@metrics.log_metrics
def start_retraining(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcomes = start_all(event.get("detail"), backend=BACKEND, start=start_execution)
    for status in ("started", "already_started", "skipped"):
        count = sum(1 for o in outcomes if o.status == status)
        metrics.add_metric(name=f"retrain_{status}", unit=MetricUnit.Count, value=count)
    logger.info("retraining", extra={"outcomes": [asdict(o) for o in outcomes]})
    return {"outcomes": [asdict(o) for o in outcomes]}
