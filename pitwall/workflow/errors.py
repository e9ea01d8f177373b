"""Errors raised by workflow steps, named so Step Functions and the local runner match them alike.

Step Functions names a Lambda failure after the Python exception class (``errorType``), and the local
runner does the same (:func:`error_name`), so a ``Retry``/``Catch`` on ``"ThrottlingException"`` matches
the same failures in both places.
"""

from __future__ import annotations


class ThrottlingException(Exception):
    """A transient AWS throttle (DynamoDB, S3, SageMaker); the workflow retries the step."""


class StepFailed(Exception):
    """A step could not complete and retrying will not help (bad artifact, missing record...)."""


# Error codes botocore reports for throttling, across the services the steps call.
THROTTLING_ERROR_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
    }
)


def error_name(exc: BaseException) -> str:
    """The Step Functions error name of ``exc``: its class name, as Lambda reports it."""
    return type(exc).__name__
