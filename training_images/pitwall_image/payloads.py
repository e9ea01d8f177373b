"""An ``/invocations`` request body -> the validated payload ``pitwall.serving.invocation`` answers.

JSON bodies (``application/json``, the default) are the prediction API's bodies, checked with the
API's own request models and error mapping (:mod:`pitwall.api.http`, :mod:`pitwall.api.errors`),
so a bad body gets the same 400/422 answer naming the field as the HTTPS API gives:

- ``{"instances": [{feature: value, ...}, ...]}`` (optional ``driver_id`` / ``race_id`` per row),
- ``{"race": "monaco_2024", "grid_positions": {...}, "weather": "wet"}``,
- ``{"championship": {"season": 2024, ...}}`` (what the API sends for a championship forecast).

``text/csv`` bodies are rows of instances: a header row of column names (the model's features,
plus optionally ``driver_id`` / ``race_id``) or no header, with every row holding the model's
features in the model's order (SageMaker batch transform). Empty cells, ``nan`` and ``null`` are
missing values. CSV rows become an instances payload and go through the same checks.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import Any

from pitwall.errors import PitwallError, ValidationFailed

JSON_MEDIA = "application/json"
JSON_DEFAULT_MEDIA = frozenset({JSON_MEDIA, "application/octet-stream"})
"""Bodies read as JSON: ``application/octet-stream`` is what an InvokeEndpoint call without a type sends."""
CSV_MEDIA = "text/csv"
MISSING_CELLS = frozenset({"", "nan", "null", "none", "na"})
TEXT_KEYS = ("driver_id", "race_id")
INTEGER_KEYS = ("season", "round")


class UnsupportedMediaType(PitwallError):
    """A body type other than JSON or CSV (415)."""

    code = "unsupported_media_type"
    http_status = 415


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` -> ``application/json`` (JSON when absent)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media or JSON_MEDIA


def parse_invocation(body: bytes | None, content_type: str | None, features: Sequence[str]) -> dict[str, Any]:
    """The validated payload of one request (see the module doc)."""
    media = media_type(content_type)
    if media in JSON_DEFAULT_MEDIA or media.endswith("+json"):
        return validate_json(body)
    if media == CSV_MEDIA:
        rows = csv_instances(body, features)
        return validate_json(json.dumps({"instances": rows}, allow_nan=False).encode("utf-8"))
    raise UnsupportedMediaType(
        f"content-type {media!r} is not supported; send {JSON_MEDIA} or {CSV_MEDIA}", field="content-type"
    )


def validate_json(body: bytes | None) -> dict[str, Any]:
    """A JSON body checked with the API's request models, dumped as the API dumps it."""
    from pydantic import ValidationError

    from pitwall.api.errors import from_validation_error
    from pitwall.api.http import parse_json, validate_body
    from pitwall.api.operations import operation

    data = parse_json(body)
    if isinstance(data, dict) and "championship" in data:
        extra = sorted(set(data) - {"championship"})
        if extra:
            raise ValidationFailed(
                f"{extra[0]}: unknown field (a championship request has only 'championship')", field=extra[0]
            )
        model = operation("predict_championship").request
        assert model is not None and not isinstance(model, tuple)
        try:
            request = model.model_validate(data["championship"])
        except ValidationError as exc:
            raise from_validation_error(exc, data["championship"], prefix="championship") from None
        return {"championship": request.model_dump(mode="json", exclude_none=True)}
    models = operation("predict").request
    assert models is not None
    return validate_body(models, body).model_dump(mode="json", exclude_none=True)


def _cell(value: str, column: str, field: str) -> Any:
    text = value.strip()
    if column in TEXT_KEYS or (column in INTEGER_KEYS and not text):
        return text or None
    if column in INTEGER_KEYS:
        try:
            return int(text)
        except ValueError:
            raise ValidationFailed(f"{field} must be an integer; got {value!r}", field=field) from None
    if text.lower() in MISSING_CELLS:
        return None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        number = float(text)
    except ValueError:
        raise ValidationFailed(f"{field} must be a number, true/false or empty; got {value!r}", field=field) from None
    if not math.isfinite(number):
        raise ValidationFailed(f"{field} must be a finite number; got {value!r}", field=field)
    return number


def csv_instances(body: bytes | None, features: Sequence[str]) -> list[dict[str, Any]]:
    """CSV rows as instances (see the module doc); problems name ``instances[i].<column>``."""
    try:
        text = (body or b"").decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed("the CSV body is not UTF-8 text", field="body") from None
    try:
        rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise ValidationFailed(f"malformed CSV: {exc}", field="body") from None
    if not rows:
        raise ValidationFailed("the CSV body has no rows; send one row per instance", field="body")
    known = set(features) | set(TEXT_KEYS) | set(INTEGER_KEYS)
    header = [cell.strip() for cell in rows[0]]
    if all(cell in known for cell in header):
        duplicated = sorted({c for c in header if header.count(c) > 1})
        if duplicated:
            raise ValidationFailed(f"CSV header: column {duplicated[0]!r} appears twice", field="body")
        columns, data = header, rows[1:]
        if not data:
            raise ValidationFailed("the CSV body has a header but no data rows", field="body")
    else:
        columns, data = list(features), rows
    instances: list[dict[str, Any]] = []
    for i, row in enumerate(data):
        if len(row) != len(columns):
            raise ValidationFailed(
                f"instances[{i}]: CSV row has {len(row)} values for {len(columns)} columns ({', '.join(columns)})",
                field=f"instances[{i}]",
            )
        instance: dict[str, Any] = {}
        for column, value in zip(columns, row, strict=True):
            parsed = _cell(value, column, f"instances[{i}].{column}")
            if parsed is not None or column in features:
                instance[column] = parsed
        instances.append(instance)
    return instances
