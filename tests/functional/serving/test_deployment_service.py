"""One deployment service per process: the SDK/CLI hook, the local workflow and local_serving share it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pitwall.serving.deploy import LocalServing, default_service, local_serving, reset_default_service


@pytest.fixture(autouse=True)
def _fresh_services():
    reset_default_service()
    yield
    reset_default_service()


def test_the_process_has_one_local_serving_backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pitwall.workflow.local import local_ports

    monkeypatch.delenv("PITWALL_BACKEND", raising=False)
    from pitwall.monitoring.capture import CapturingServing

    service = default_service()
    assert isinstance(service.serving, CapturingServing)  # local requests are captured for monitoring
    assert isinstance(service.serving.inner, LocalServing)
    assert default_service() is service
    assert local_serving() is service.serving.inner
    assert local_ports().serving is service.serving.inner  # the local workflow's DeployModel step
    assert local_ports(home=tmp_path / "other").serving is service.serving.inner


def test_a_new_home_or_a_reset_gets_a_new_service(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    first = default_service()
    monkeypatch.setenv("PITWALL_HOME", str(tmp_path / "second-home"))
    second = default_service()
    assert second is not first and second.serving is not first.serving
    reset_default_service()
    assert default_service() is not second
