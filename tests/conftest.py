"""Shared fixtures: the real F1 data in ../shared/data and a lake ingested from it once per session."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from pitwall.config import default_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only real data folder (``$PITWALL_DATA`` or ``../shared/data``)."""
    path = default_data_dir()
    if not (path / "f1db").is_dir():
        raise RuntimeError(f"real F1 data not found at {path}: set PITWALL_DATA to a copy of ../shared/data")
    return path


@pytest.fixture(scope="session")
def lake(tmp_path_factory: pytest.TempPathFactory, shared_data: Path):
    """A LocalStore holding all of F1DB (1950-2024) and the FastF1 laps 2018-2024.

    Read-only for tests: a test that writes must build its own store.
    """
    from pitwall.data.ingest import ingest_f1db, ingest_laps_csv
    from pitwall.data.store import LocalStore

    store = LocalStore(tmp_path_factory.mktemp("lake"))
    ingest_f1db(store, shared_data / "f1db")
    ingest_laps_csv(store, shared_data / "fastf1-laps")
    return store


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own PITWALL_HOME so nothing touches ~/.pitwall. A local training job
    still running when the test ends is waited for before the next test's home is set: it reads
    PITWALL_HOME while it runs, and would otherwise write into the next test's home."""
    home = tmp_path / "pitwall-home"
    monkeypatch.setenv("PITWALL_HOME", str(home))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    _track_in(home, monkeypatch)
    yield home
    launchers = sys.modules.get("pitwall.workflow.launchers")
    if launchers is not None:
        left = launchers.drain_local_launchers()
        if left:
            warnings.warn(f"waited for local job(s) left running by the test: {left}", stacklevel=1)


def _track_in(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow's variables as ``pitwall.mlflow_tracking()`` sets them for ``home``, restored after the
    test: a test that changed one of them directly (or ran ``mlflow_tracking()`` under another home)
    must not point the next test's tracking at its store."""
    import pitwall

    names = ("PITWALL_MLFLOW_URI", "MLFLOW_TRACKING_URI", pitwall.MLFLOW_DEFAULT_MARK, pitwall.MLFLOW_ARTIFACT_ROOT_ENV)
    for name in names:
        monkeypatch.delenv(name, raising=False)
    uri = f"sqlite:///{(home / 'mlflow.db').as_posix()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv(pitwall.MLFLOW_DEFAULT_MARK, uri)
    monkeypatch.setenv(pitwall.MLFLOW_ARTIFACT_ROOT_ENV, (home / "mlruns").as_uri())
    fluent = sys.modules.get("mlflow.tracking._tracking_service.utils")
    if fluent is not None and getattr(fluent, "_tracking_uri", None) is not None:
        monkeypatch.setattr(fluent, "_tracking_uri", None)  # a test's mlflow.set_tracking_uri(...)


@pytest.fixture(scope="session")
def feature_lake(tmp_path_factory: pytest.TempPathFactory, lake):
    """A copy of ``lake`` with the materialised feature tables built (read-only for tests)."""
    import shutil

    from pitwall.data.store import LocalStore
    from pitwall.features import build_feature_tables

    root = tmp_path_factory.mktemp("feature-lake") / "lake"
    shutil.copytree(lake.root, root)
    store = LocalStore(root)
    build_feature_tables(store)
    return store
