"""The live poller Lambda (EventBridge Scheduler -> here): ``pitwall.live.poller.handle_event``.

Packaged as this folder + the ``pitwall`` package (``infra.python_lambda.code_with_pitwall``); it
imports only the standard library, boto3 and urllib3 (the runtime's) and Powertools (the layer).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from pitwall.live.poller import handle_event

logger = Logger(service="pitwall-live-poller")


@logger.inject_lambda_context
def handler(event: Any, context: Any) -> dict[str, Any]:
    summary = handle_event(event)
    logger.info("live poll", extra={"summary": summary})
    return summary
