"""Where a backtest's MLflow run is set up: a separate process only beside a free core."""

from __future__ import annotations

import pytest

from pitwall.ml import tracking


@pytest.mark.parametrize(
    ("cores", "load", "spare"),
    [(2, 0.3, True), (2, 1.2, True), (2, 1.6, False), (2, 4.0, False), (1, 0.0, False), (16, 9.0, True)],
)
def test_a_logging_process_needs_a_spare_core(
    monkeypatch: pytest.MonkeyPatch, cores: int, load: float, spare: bool
) -> None:
    monkeypatch.setattr(tracking.os, "sched_getaffinity", lambda pid: set(range(cores)))
    monkeypatch.setattr(tracking.os, "getloadavg", lambda: (load, load, load))
    assert tracking._spare_core() is spare


def test_no_spare_core_means_no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures import Future

    monkeypatch.setattr(tracking, "_spare_core", lambda: False)
    monkeypatch.setattr(tracking, "_start_log_process", lambda uri: pytest.fail("a process was started"))
    setup: Future = Future()
    monkeypatch.setattr(tracking, "prepare_client", lambda: setup)
    log = tracking.prepare_backtest_log()
    assert log._proc is None and log._setup is setup  # this process sets the client up (a thread)
