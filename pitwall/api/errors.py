"""Mapping every failure to an HTTP answer ``{"error": {"code", "message", "field"}}``.

- :class:`pitwall.errors.PitwallError` subclasses carry their own status and code
  (401/403/404/409/413/422/429...; 429 adds ``Retry-After``).
- pydantic validation errors become 400 (missing field, wrong type, unknown field) or 422
  (well-formed but out of range / not allowed), naming the field as a dotted path of the
  request body, with every problem listed in ``details``.
- ``pitwall.ml`` input errors become 422; a model artifact that fails verification is a 409.
- Anything else is a bug: it is logged with its traceback and answered with a bare 500
  that reveals nothing about the code.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from pitwall.errors import PitwallError, QuotaExceeded, ValidationFailed

log = logging.getLogger("pitwall.api")

# pydantic error types that mean "the value has the right type but is not acceptable"
_UNPROCESSABLE_TYPES = frozenset(
    {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "multiple_of",
        "finite_number",
        "too_short",
        "too_long",
        "string_too_short",
        "string_too_long",
        "string_pattern_mismatch",
        "literal_error",
        "enum",
    }
)


class RequestInvalid(ValidationFailed):
    """A request body that failed schema validation; ``details`` lists every problem."""

    def __init__(self, message: str, *, field: str | None, details: list[dict[str, Any]], unprocessable: bool):
        super().__init__(message, field=field, unprocessable=unprocessable)
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["error"]["details"] = self.details
        return body


class InternalError(PitwallError):
    """An unexpected failure (500); the body never includes internals."""

    code = "internal_error"
    http_status = 500


def _path(loc: Sequence[Any], data: Any, prefix: str) -> str | None:
    """The dotted input path of a pydantic error location, following the input data.

    Location parts that are not in the data (union member tags such as ``float`` or
    ``function-after[...]``, ``[key]`` markers) end the path, so ``('c', 'x', 'float')``
    becomes ``c.x``; a missing field is named once and ends the path.
    """
    parts: list[str] = [prefix] if prefix else []
    node = data
    for item in loc:
        if isinstance(node, dict) and item in node:
            parts.append(str(item))
            node = node[item]
        elif isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node):
            if parts:
                parts[-1] = f"{parts[-1]}[{item}]"
            else:
                parts.append(f"[{item}]")
            node = node[item]
        else:
            if isinstance(node, dict) and isinstance(item, str) and not _is_union_tag(item):
                parts.append(item)  # a missing field
            break
    return ".".join(parts) if parts else None


def _is_union_tag(item: str) -> bool:
    return item in ("str", "int", "float", "bool", "none", "dict", "list") or "[" in item


def from_validation_error(exc: ValidationError, data: Any, prefix: str = "") -> RequestInvalid:
    """A :class:`RequestInvalid` naming the first problem's field; all problems in ``details``."""
    grouped: dict[str | None, list[str]] = {}
    kinds: dict[str | None, set[str]] = {}
    for err in exc.errors(include_url=False, include_input=False):
        field = _path(err.get("loc", ()), data, prefix)
        message = str(err.get("msg", "invalid value"))
        if err.get("type") == "missing":
            message = "field required"
        elif err.get("type") == "extra_forbidden":
            message = "unknown field"
        if message not in grouped.setdefault(field, []):
            grouped[field].append(message)
        kinds.setdefault(field, set()).add(str(err.get("type", "")))
    details = [{"field": f, "message": " or ".join(msgs)} for f, msgs in grouped.items()]
    first = details[0]
    where = first["field"] or "body"
    unprocessable = all(kinds[f] <= _UNPROCESSABLE_TYPES for f in kinds)
    return RequestInvalid(
        f"{where}: {first['message']}", field=first["field"], details=details, unprocessable=unprocessable
    )


def error_response(exc: BaseException, *, request_id: str | None = None) -> tuple[int, dict[str, str], dict]:
    """(status, headers, body) for any exception raised while answering a request."""
    mapped = map_exception(exc, request_id=request_id)
    headers: dict[str, str] = {}
    if isinstance(mapped, QuotaExceeded) and mapped.retry_after_seconds is not None:
        headers["Retry-After"] = str(int(mapped.retry_after_seconds))
    return mapped.http_status, headers, mapped.to_dict()


def map_exception(exc: BaseException, *, request_id: str | None = None) -> PitwallError:
    """The PitwallError an exception is answered as (unexpected ones are logged here)."""
    if isinstance(exc, PitwallError):
        return exc
    try:
        from pitwall.ml.errors import ArtifactIntegrityError, MLInputError
    except ImportError:  # the lean Lambda package has no pitwall.ml dependencies
        ArtifactIntegrityError = MLInputError = ()  # type: ignore[assignment,misc]  # noqa: N806
    if MLInputError and isinstance(exc, MLInputError):
        return ValidationFailed(str(exc), code="invalid_input", unprocessable=True)
    if ArtifactIntegrityError and isinstance(exc, ArtifactIntegrityError):
        log.error("model artifact failed verification: %s", exc)
        err = PitwallError(
            "the model's stored artifact failed verification; retrain or re-register the model",
            code="artifact_integrity_failed",
        )
        err.http_status = 409
        return err
    log.error("unhandled error (request %s)", request_id or "-", exc_info=exc)
    suffix = f" (request {request_id})" if request_id else ""
    return InternalError("internal error" + suffix)
