"""Request parsing, schema validation messages and error mapping (no I/O)."""

from __future__ import annotations

import json
import logging

import pytest

from pitwall.api import schemas as s
from pitwall.api.errors import error_response, map_exception
from pitwall.api.http import parse_json, validate_body
from pitwall.errors import NotFound, PitwallError, QuotaExceeded, ValidationFailed
from pitwall.ml.errors import ArtifactIntegrityError, MLInputError

PREDICT = (s.RacePredictRequest, s.InstancesPredictRequest)


def _invalid(body: object, model=PREDICT) -> ValidationFailed:  # type: ignore[no-untyped-def]
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(ValidationFailed) as info:
        validate_body(model, raw)
    return info.value


@pytest.mark.parametrize(
    "raw, fragment",
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"{bad", "malformed JSON"),
        (b'{"race": NaN}', "malformed JSON"),
        (b'{"race": Infinity}', "malformed JSON"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "malformed JSON"),
    ],
)
def test_unparseable_bodies_are_400_malformed_json(raw: bytes, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_json(raw)
    assert info.value.http_status == 400
    assert info.value.code == "malformed_json"
    assert info.value.field == "body"
    assert fragment in info.value.message


def test_missing_and_wrong_typed_fields_name_the_field() -> None:
    err = _invalid({"grid_positions": {"charles-leclerc": 1}})
    assert (err.http_status, err.field) == (400, "race")
    assert "field required" in err.message

    err = _invalid({"race": "monaco_2024", "grid_positions": {"charles-leclerc": "1"}})
    assert (err.http_status, err.field) == (400, "grid_positions.charles-leclerc")

    err = _invalid({"race": "monaco_2024", "grid_positions": {"charles-leclerc": True}})
    assert err.field == "grid_positions.charles-leclerc"

    err = _invalid({"race": "monaco_2024", "surprise": 1})
    assert (err.http_status, err.field, err.message) == (400, "surprise", "surprise: unknown field")

    err = _invalid(["not", "an", "object"])
    assert err.http_status == 400 and err.field is None


def test_out_of_range_values_are_422() -> None:
    err = _invalid({"race": "monaco_2024", "grid_positions": {"charles-leclerc": 0}})
    assert (err.http_status, err.field) == (422, "grid_positions.charles-leclerc")
    assert "greater than or equal to 1" in err.message

    err = _invalid({"race": "not a race"})
    assert (err.http_status, err.field) == (422, "race")

    err = _invalid({"race": "monaco_2024", "weather": "sunny"})
    assert (err.http_status, err.field) == (422, "weather")

    err = _invalid({"season": 2024, "simulations": 10**9}, s.ChampionshipRequest)
    assert (err.http_status, err.field) == (422, "simulations")

    err = _invalid({"instances": []})
    assert (err.http_status, err.field) == (422, "instances")


def test_union_member_errors_collapse_to_the_input_path() -> None:
    err = _invalid({"instances": [{"start_position": [1]}]})
    assert err.field == "instances[0].start_position"
    assert err.http_status == 400
    detail = err.to_dict()["error"]["details"][0]
    assert detail["field"] == "instances[0].start_position"
    assert " or " in detail["message"]  # number or boolean or string or null


def test_instances_body_is_chosen_by_its_field() -> None:
    ok = validate_body(PREDICT, b'{"instances": [{"start_position": 3, "driver_id": "x"}]}')
    assert isinstance(ok, s.InstancesPredictRequest)
    ok = validate_body(PREDICT, b'{"race": "2024-08", "weather": "wet"}')
    assert isinstance(ok, s.RacePredictRequest) and ok.weather == "wet"


def test_quota_errors_carry_retry_after() -> None:
    status, headers, body = error_response(QuotaExceeded("slow down", retry_after_seconds=7, code="rate_limited"))
    assert status == 429
    assert headers == {"Retry-After": "7"}
    assert body["error"]["code"] == "rate_limited" and body["error"]["retry_after_seconds"] == 7


def test_pitwall_errors_keep_status_code_and_field() -> None:
    status, headers, body = error_response(NotFound("model 'x' not found", field="name"))
    assert (status, headers) == (404, {})
    assert body == {"error": {"code": "not_found", "message": "model 'x' not found", "field": "name"}}


def test_ml_input_and_artifact_errors_are_client_facing() -> None:
    err = map_exception(MLInputError("data: missing column 'x'"))
    assert (err.http_status, err.code) == (422, "invalid_input")
    err = map_exception(ArtifactIntegrityError("file 'model.ubj': sha256 mismatch"))
    assert (err.http_status, err.code) == (409, "artifact_integrity_failed")
    assert "sha256" not in err.message  # internals stay in the log


def test_unexpected_errors_are_a_bare_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="pitwall.api")
    try:
        raise KeyError("secret_internal_detail")
    except KeyError as exc:
        status, headers, body = error_response(exc, request_id="req-1")
    assert status == 500
    text = json.dumps(body)
    assert "secret_internal_detail" not in text and "Traceback" not in text and "KeyError" not in text
    assert body["error"]["code"] == "internal_error" and "req-1" in body["error"]["message"]
    assert "secret_internal_detail" in caplog.text  # the traceback went to the log


def test_every_pitwall_error_body_has_the_three_fields() -> None:
    for err in (PitwallError("x"), ValidationFailed("y", field="f"), QuotaExceeded("z")):
        assert set(err.to_dict()["error"]) >= {"code", "message", "field"}
