"""Input checks shared by every platform rule: each failure names the field and the problem.

All raise :class:`pitwall.errors.ValidationFailed` (HTTP 400) with ``field`` set.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from pitwall.errors import ValidationFailed

IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
"""Tenant ids and model names: 1-64 chars, letters/digits/``_.-``, starting alphanumeric.

``#`` and ``/`` are excluded so identifiers can be joined into storage keys and URIs safely.
"""

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,128}$")
METRIC_NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")

# Characters that reorder or hide text (bidirectional overrides/isolates, zero-width joiners
# are allowed): rejected in user-visible text along with C0/C1 control characters.
_BIDI_CONTROLS = {chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}


def identifier(value: Any, field: str) -> str:
    """A tenant id or model name (see :data:`IDENTIFIER_RE`)."""
    if not isinstance(value, str) or not IDENTIFIER_RE.match(value):
        raise ValidationFailed(
            f"{field} must be 1-64 characters of letters, digits, '_', '.' or '-', "
            f"starting with a letter or digit; got {value!r}",
            field=field,
        )
    return value


EXPERIMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,127}$")
"""An experiment name: 1-128 letters, digits, spaces, ``_ . -``, starting with a letter or digit
(never ``.``/``..``, a ``/`` or a path). MLflow stores it as ``<tenant>/<name>``."""


def experiment_name(value: Any, field: str = "experiment") -> str:
    """An experiment name (see :data:`EXPERIMENT_RE`)."""
    if not isinstance(value, str) or not EXPERIMENT_RE.match(value) or value.endswith(" "):
        raise ValidationFailed(
            f"{field} must be 1-128 characters of letters, digits, spaces, '_', '.' or '-', starting with "
            f"a letter or digit (no '/'); got {value!r}",
            field=field,
        )
    return value


def plain_text(value: Any, field: str, *, max_len: int, multiline: bool = False, required: bool = True) -> str:
    """User text stored as-is (never interpreted as HTML): length-checked, no control chars.

    ``multiline`` allows newlines and tabs. Leading/trailing whitespace is not stripped, but a
    required value must contain something besides whitespace.
    """
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be a string", field=field)
    if required and not value.strip():
        raise ValidationFailed(f"{field} must not be empty", field=field)
    if len(value) > max_len:
        raise ValidationFailed(f"{field} is {len(value)} characters; at most {max_len} allowed", field=field)
    allowed = {"\n", "\t", "\r"} if multiline else set()
    for i, ch in enumerate(value):
        if ch in allowed:
            continue
        if unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS:
            raise ValidationFailed(f"{field} contains a control character U+{ord(ch):04X} at position {i}", field=field)
    return value


def metrics(value: Any, field: str, *, max_items: int = 100) -> dict[str, float]:
    """A ``{metric name: finite number}`` mapping (bools are not numbers here)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationFailed(f"{field} must be an object of metric name -> number", field=field)
    if len(value) > max_items:
        raise ValidationFailed(f"{field} has {len(value)} entries; at most {max_items} allowed", field=field)
    out: dict[str, float] = {}
    for name, number in value.items():
        if not isinstance(name, str) or not METRIC_NAME_RE.match(name):
            raise ValidationFailed(
                f"{field} has an invalid metric name {name!r} (1-64 chars of letters, digits, _.@-)",
                field=field,
            )
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
            raise ValidationFailed(f"{field}.{name} must be a finite number; got {number!r}", field=field)
        out[name] = float(number)
    return out


def string_list(value: Any, field: str, *, max_items: int = 1000, max_len: int = 128) -> list[str]:
    """A list of non-empty strings without control characters."""
    if not isinstance(value, list | tuple):
        raise ValidationFailed(f"{field} must be a list of strings", field=field)
    if len(value) > max_items:
        raise ValidationFailed(f"{field} has {len(value)} items; at most {max_items} allowed", field=field)
    return [plain_text(v, field, max_len=max_len) for v in value]


def json_object(value: Any, field: str, *, max_bytes: int = 64 * 1024) -> dict[str, Any]:
    """A JSON-serialisable object (e.g. a data window or hyper-parameters), size-capped."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationFailed(f"{field} must be an object", field=field)
    try:
        encoded = json.dumps(dict(value), allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{field} must contain only JSON values: {exc}", field=field) from None
    if len(encoded) > max_bytes:
        raise ValidationFailed(f"{field} is {len(encoded)} bytes as JSON; at most {max_bytes}", field=field)
    return json.loads(encoded)


def sha256_hex(value: Any, field: str = "sha256") -> str:
    """A lowercase hex SHA-256 digest."""
    if not isinstance(value, str) or not SHA256_RE.match(value):
        raise ValidationFailed(f"{field} must be 64 lowercase hex characters", field=field)
    return value


def idempotency_key(value: Any, field: str = "idempotency_key") -> str | None:
    """An optional client idempotency key: 1-128 printable ASCII characters without spaces."""
    if value is None:
        return None
    if not isinstance(value, str) or not IDEMPOTENCY_KEY_RE.match(value):
        raise ValidationFailed(f"{field} must be 1-128 printable ASCII characters without spaces", field=field)
    return value


def positive_int(value: Any, field: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer in ``[minimum, maximum]`` (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"{field} must be an integer", field=field)
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise ValidationFailed(f"{field} must be at least {minimum}{upper}; got {value}", field=field)
    return value
