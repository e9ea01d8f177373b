"""Pitwall's error hierarchy: every failure a caller can act on, with its HTTP meaning.

All layers (data, ML, platform, API) raise these. The API maps them to HTTP responses with
``err.http_status`` and ``err.to_dict()`` as the body, plus a ``Retry-After`` header for
:class:`QuotaExceeded` when ``retry_after_seconds`` is set. Anything that is not a
``PitwallError`` is a bug and becomes a 500.

``code`` is a short snake_case string clients can switch on; ``message`` is for humans and
names the problem; ``field`` names the offending input field when there is one.
"""

from __future__ import annotations

from typing import Any


class PitwallError(Exception):
    """Base class: an error a client caused or can act on."""

    code: str = "error"
    http_status: int = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of an error response: ``{"error": {"code", "message", "field"}}``."""
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, field={self.field!r})"


class ValidationFailed(PitwallError):
    """Input is malformed (400) or well-formed but unacceptable (422, ``unprocessable=True``)."""

    code = "validation_failed"
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        unprocessable: bool = False,
    ) -> None:
        super().__init__(message, field=field, code=code)
        self.http_status = 422 if unprocessable else 400


class Unauthorized(PitwallError):
    """No credentials, or credentials that do not identify an active key (401)."""

    code = "unauthorized"
    http_status = 401


class Forbidden(PitwallError):
    """The caller is known but not allowed to do this (403)."""

    code = "forbidden"
    http_status = 403


class NotFound(PitwallError):
    """The thing does not exist, or belongs to another tenant (404; existence is never leaked)."""

    code = "not_found"
    http_status = 404


class Conflict(PitwallError):
    """The request clashes with the current state, e.g. a duplicate or a finished job (409)."""

    code = "conflict"
    http_status = 409


class PayloadTooLarge(PitwallError):
    """The upload or dataset exceeds the allowed size (413)."""

    code = "payload_too_large"
    http_status = 413


class QuotaExceeded(PitwallError):
    """A tier limit or rate limit was hit (429).

    ``retry_after_seconds`` says when retrying can succeed (``None`` when waiting will not help,
    e.g. the deployed-models limit: undeploy a model or upgrade instead).
    """

    code = "quota_exceeded"
    http_status = 429

    def __init__(
        self,
        message: str,
        *,
        retry_after_seconds: int | None = None,
        field: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, field=field, code=code)
        self.retry_after_seconds = retry_after_seconds

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["error"]["retry_after_seconds"] = self.retry_after_seconds
        return body
