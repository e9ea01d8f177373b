"""Errors raised by ``pitwall.features``: each names the parameter (``field``) and the problem."""

from __future__ import annotations

from pitwall.errors import ValidationFailed


class FeatureInputError(ValidationFailed, ValueError):
    """A bad argument: unknown group, feature, moment, season, id or condition (HTTP 400).

    Also a ``ValueError``, so plain Python callers can catch it as one.
    """


class CustomFeatureError(ValidationFailed, ValueError):
    """A registered custom feature failed or returned a value that is not a number (HTTP 422)."""

    def __init__(self, message: str, *, field: str | None = "custom_features") -> None:
        super().__init__(message, field=field, unprocessable=True)
