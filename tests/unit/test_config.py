"""PITWALL_BACKEND is read in one place (pitwall.config.backend_kind) and every backend follows it (no I/O)."""

from __future__ import annotations

import pytest

from pitwall.config import BACKEND_ENV, backend_kind


@pytest.mark.parametrize(
    ("value", "kind"), [(None, "local"), ("", "local"), ("local", "local"), (" Local ", "local"), ("AWS", "aws")]
)
def test_backend_kind_ignores_case_and_spaces(monkeypatch: pytest.MonkeyPatch, value: str | None, kind: str) -> None:
    if value is None:
        monkeypatch.delenv(BACKEND_ENV, raising=False)
    else:
        monkeypatch.setenv(BACKEND_ENV, value)
    assert backend_kind() == kind


@pytest.mark.parametrize("value", ["s3", "aws-prod", "dynamo"])
def test_unknown_backend_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(BACKEND_ENV, value)
    with pytest.raises(ValueError, match=f"PITWALL_BACKEND must be one of local, aws; got '{value}'"):
        backend_kind()


def test_every_backend_reads_the_same_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """``PITWALL_BACKEND=AWS`` selects the AWS lake, records, events and serving together."""
    from pitwall.data.events import EventBridgePublisher
    from pitwall.data.store import get_store
    from pitwall.platform import backend
    from pitwall.runtime import event_publisher
    from pitwall.serving.deploy import default_service, reset_default_service
    from pitwall.serving.sagemaker import SageMakerServing

    assert backend.backend_kind is backend_kind
    monkeypatch.setenv(BACKEND_ENV, "AWS")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("PITWALL_BUCKET", raising=False)
    with pytest.raises(ValueError, match="PITWALL_BUCKET"):  # the S3 store, not the local lake
        get_store()
    assert isinstance(event_publisher(), EventBridgePublisher)
    reset_default_service()
    try:
        assert isinstance(default_service().serving, SageMakerServing)
    finally:
        reset_default_service()
    monkeypatch.setenv(BACKEND_ENV, "sagemaker")
    for reader in (get_store, event_publisher, default_service, backend.get_backend):
        with pytest.raises(ValueError, match="PITWALL_BACKEND must be one of"):
            reader()
