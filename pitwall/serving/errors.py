"""Serving errors that are not the client's fault but still deserve a clear answer."""

from __future__ import annotations

from pitwall.errors import PitwallError


class EndpointError(PitwallError):
    """The model endpoint failed or answered something unusable (502)."""

    code = "endpoint_error"
    http_status = 502


class ServingUnavailable(PitwallError):
    """Serving is not configured or not reachable in this environment (503)."""

    code = "serving_unavailable"
    http_status = 503
