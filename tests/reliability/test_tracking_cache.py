"""The tracking client cache never hands out a client bound to a deleted or replaced SQLite file.

MLflow keeps one SQLAlchemy engine per database URI for the life of the process; a pooled
connection to a file that was deleted and recreated at the same path fails every write with
``attempt to write a readonly database``. ``pitwall.ml.tracking._client`` ties its cached client
to the file's inode and starts over when the file changed.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pitwall
from pitwall.ml import tracking


def _recreate_elsewhere(home: Path) -> None:
    """Another process (another test, a restored backup) creates a fresh store at the same path."""
    code = "from pitwall.ml import tracking; tracking._client().create_experiment('other-process')"
    env = {**os.environ, "PITWALL_HOME": str(home)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)


def test_a_replaced_database_gets_a_new_client(tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("PITWALL_HOME", str(home))
    pitwall.mlflow_tracking()
    first = tracking._client()
    first.create_experiment("before")
    shutil.rmtree(home)
    home.mkdir()
    _recreate_elsewhere(home)

    client = tracking._client()
    assert client is not first
    client.create_experiment("after")  # raised "attempt to write a readonly database" before
    names = {e.name for e in client.search_experiments()}
    assert {"after", "other-process"} <= names and "before" not in names


def test_a_deleted_database_is_recreated(tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("PITWALL_HOME", str(home))
    pitwall.mlflow_tracking()
    tracking._client().create_experiment("one")
    db = home / "mlflow.db"
    db.unlink()
    tracking._client().create_experiment("two")
    assert db.is_file()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_an_unchanged_database_keeps_its_client(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PITWALL_HOME", str(tmp_path / "home"))
    pitwall.mlflow_tracking()
    assert tracking._client() is tracking._client()
