"""The error hierarchy every layer raises and the API maps to HTTP."""

from __future__ import annotations

import pytest

from pitwall.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PitwallError,
    QuotaExceeded,
    Unauthorized,
    ValidationFailed,
)


@pytest.mark.parametrize(
    ("cls", "status", "code"),
    [
        (ValidationFailed, 400, "validation_failed"),
        (Unauthorized, 401, "unauthorized"),
        (Forbidden, 403, "forbidden"),
        (NotFound, 404, "not_found"),
        (Conflict, 409, "conflict"),
        (PayloadTooLarge, 413, "payload_too_large"),
        (QuotaExceeded, 429, "quota_exceeded"),
    ],
)
def test_each_error_has_its_http_status_and_code(cls: type[PitwallError], status: int, code: str) -> None:
    err = cls("something is wrong", field="thing")
    assert isinstance(err, PitwallError)
    assert (err.http_status, err.code, err.message, err.field) == (status, code, "something is wrong", "thing")
    assert err.to_dict()["error"]["code"] == code
    assert str(err) == "something is wrong"


def test_to_dict_shape() -> None:
    err = ValidationFailed("title is 101 characters; at most 100 allowed", field="title")
    assert err.to_dict() == {
        "error": {
            "code": "validation_failed",
            "message": "title is 101 characters; at most 100 allowed",
            "field": "title",
        }
    }
    assert NotFound("model 'x' not found").to_dict()["error"]["field"] is None


def test_unprocessable_validation_is_422_and_codes_can_be_specific() -> None:
    err = ValidationFailed("artifact failed its check", field="artifact", code="bad_artifact", unprocessable=True)
    assert (err.http_status, err.code) == (422, "bad_artifact")
    assert ValidationFailed("x").http_status == 400  # the instance flag does not leak into the class
    assert ValidationFailed.http_status == 400


def test_quota_exceeded_carries_retry_after() -> None:
    err = QuotaExceeded("limit reached", retry_after_seconds=120, code="training_jobs_quota_exceeded")
    body = err.to_dict()["error"]
    assert (body["code"], body["retry_after_seconds"]) == ("training_jobs_quota_exceeded", 120)
    assert QuotaExceeded("deployed limit").retry_after_seconds is None
    assert "QuotaExceeded" in repr(err) and "limit reached" in repr(err)
