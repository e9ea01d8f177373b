"""Input checks: each failure names the field."""

from __future__ import annotations

from typing import Any

import pytest

from pitwall.errors import ValidationFailed
from pitwall.platform import validation


@pytest.mark.parametrize("good", ["acme", "a", "team-42", "A.b_c", "x" * 64])
def test_identifiers_accepted(good: str) -> None:
    assert validation.identifier(good, "tenant_id") == good


@pytest.mark.parametrize("bad", ["", "-lead", "a#b", "a/b", "sp ace", "x" * 65, None, 7, "ünï"])
def test_identifiers_rejected(bad: Any) -> None:
    with pytest.raises(ValidationFailed) as err:
        validation.identifier(bad, "tenant_id")
    assert err.value.field == "tenant_id"


def test_plain_text_keeps_markup_and_rejects_control_characters() -> None:
    markup = "<b>Fast</b> & <script>x()</script> — 速い 🏎"
    assert validation.plain_text(markup, "title", max_len=100) == markup
    assert validation.plain_text("a\nb\tc", "description", max_len=10, multiline=True) == "a\nb\tc"
    for bad in ("a\nb", "nul\x00", "bell\x07", "c1\x85", "rtl\u202eoverride", "iso\u2066late"):
        with pytest.raises(ValidationFailed, match="control character") as err:
            validation.plain_text(bad, "title", max_len=100)
        assert err.value.field == "title"
    with pytest.raises(ValidationFailed, match="at most 5"):
        validation.plain_text("123456", "title", max_len=5)
    with pytest.raises(ValidationFailed, match="empty"):
        validation.plain_text(" \t", "title", max_len=5)
    assert validation.plain_text("", "note", max_len=5, required=False) == ""
    with pytest.raises(ValidationFailed, match="string"):
        validation.plain_text(b"bytes", "title", max_len=5)


def test_metrics_must_be_finite_numbers_with_safe_names() -> None:
    assert validation.metrics({"auc": 1, "log_loss": 0.2}, "metrics") == {"auc": 1.0, "log_loss": 0.2}
    assert validation.metrics(None, "metrics") == {}
    for bad in ({"auc": float("nan")}, {"auc": float("-inf")}, {"auc": True}, {"auc": "0.9"}, {"a b": 1}, [1, 2]):
        with pytest.raises(ValidationFailed) as err:
            validation.metrics(bad, "reported_metrics")
        assert err.value.field == "reported_metrics"
    with pytest.raises(ValidationFailed, match="at most 2"):
        validation.metrics({"a": 1, "b": 2, "c": 3}, "metrics", max_items=2)


def test_json_object_and_lists() -> None:
    assert validation.json_object({"seasons": [2018, 2024]}, "data_window") == {"seasons": [2018, 2024]}
    for bad in ({"x": float("nan")}, {"x": {1, 2}}, "seasons", {"x": "y" * 70_000}):
        with pytest.raises(ValidationFailed) as err:
            validation.json_object(bad, "data_window")
        assert err.value.field == "data_window"
    assert validation.string_list(("a", "b"), "features") == ["a", "b"]
    with pytest.raises(ValidationFailed):
        validation.string_list(["ok", ""], "features")


def test_small_scalars() -> None:
    assert validation.sha256_hex("0f" * 32) == "0f" * 32
    with pytest.raises(ValidationFailed):
        validation.sha256_hex("0F" * 32)
    assert validation.idempotency_key(None) is None
    assert validation.idempotency_key("req-2026-03-01#1") == "req-2026-03-01#1"
    for bad in ("", "with space", "x" * 129, "tab\t"):
        with pytest.raises(ValidationFailed):
            validation.idempotency_key(bad)
    assert validation.positive_int(5, "stars", maximum=5) == 5
    for bad in (0, 6, True, 2.0):
        with pytest.raises(ValidationFailed) as err:
            validation.positive_int(bad, "stars", maximum=5)
        assert err.value.field == "stars"
