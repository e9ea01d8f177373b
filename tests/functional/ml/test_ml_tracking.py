"""MLflow tracking into a temporary SQLite store under PITWALL_HOME."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pytest

from pitwall.ml import ModelBuilder, compare_runs, holdout_split, list_runs, load_model, walk_forward
from pitwall.ml.errors import MLInputError
from pitwall.ml.tracking import RUN_COLUMNS, log_training_run, tracking_uri


def test_runs_are_logged_listed_and_compared(frame: pd.DataFrame, features: list[str], _pitwall_home: Path) -> None:
    from mlflow.tracking import MlflowClient

    train_idx, test_idx = holdout_split(frame, last_n_races=5)
    train, test = frame.iloc[train_idx], frame.iloc[test_idx]
    assert tracking_uri() == f"sqlite:///{(_pitwall_home / 'mlflow.db').as_posix()}"

    podium = ModelBuilder("classification", "podium", features=features, template="podium-clf")
    clf = podium.train(train, "logistic", track=True, run_name="logistic-podium")
    evaluation = clf.evaluate(test)
    run_id = log_training_run(clf, run_name="logistic-podium-evaluated", evaluation=evaluation)
    winner = ModelBuilder("ranking", "position", features=features, top_k=1)
    winner.train(train, "lightgbm", params={"n_estimators": 30}, track=True, experiment="winner")
    walk_forward(
        frame,
        winner,
        season=2023,
        rounds=[20, 21, 22],
        train_kwargs={"algorithm": "logistic"},
        track=True,
        experiment="winner",
        run_name="backtest-2023",
    )
    assert (_pitwall_home / "mlflow.db").is_file()

    table = list_runs()
    assert list(table.columns) == RUN_COLUMNS and len(table) == 4
    row = table.set_index("run_name").loc["logistic-podium-evaluated"]
    assert row["experiment"] == "podium-clf" and row["algorithm"] == "logistic" and row["kind"] == "training"
    assert row["f1"] == pytest.approx(evaluation.metrics["f1"])
    assert row["metric"] == f"test_log_loss={evaluation.metrics['log_loss']:.4g}"
    assert row["training_time_s"] == pytest.approx(clf.training_time_s)
    backtest = table.set_index("run_name").loc["backtest-2023"]
    assert backtest["kind"] == "backtest" and backtest["metric"].startswith("log_loss=")

    client = MlflowClient(tracking_uri=tracking_uri())
    backtest_dir = Path(urlparse(client.get_run(backtest["run_id"]).info.artifact_uri).path)
    # a backtest logs its tables and the last model's importance; no figure unless asked
    logged = sorted(p.name for p in backtest_dir.iterdir())
    assert logged == ["backtest.json", "feature_importance.json", "per_race.csv"]
    run = client.get_run(run_id)
    assert run.data.params["param.C"] == "1.0" and run.data.tags["pitwall.template"] == "podium-clf"
    artifact_dir = Path(urlparse(run.info.artifact_uri).path)
    assert artifact_dir.is_relative_to(_pitwall_home / "mlruns")
    assert json.loads((artifact_dir / "feature_importance.json").read_text()) == pytest.approx(clf.feature_importance())
    assert (artifact_dir / "plots" / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    # the logged MLflow model wraps Pitwall's artifact folder: a verified, loadable model
    assert (artifact_dir / "model" / "MLmodel").is_file()
    logged = load_model(artifact_dir / "model" / "artifacts" / "pitwall_model")
    assert np.array_equal(logged.predict_proba(test), clf.predict_proba(test))

    compared = compare_runs(["winner"])
    assert set(compared["run_name"]) == {"lightgbm-position", "backtest-2023"}
    both = compare_runs(["logistic-podium", "backtest-2023"])
    assert sorted(both["run_name"]) == ["backtest-2023", "logistic-podium"]
    with pytest.raises(MLInputError, match="'nobody'"):
        compare_runs(["winner", "nobody"])
    assert list(list_runs("winner")["experiment"].unique()) == ["winner"]


def test_tracking_uri_can_be_overridden(
    frame: pd.DataFrame, features: list[str], tmp_path: Path, _pitwall_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "elsewhere.db"
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///ignored.db")
    monkeypatch.setenv("PITWALL_MLFLOW_URI", f"sqlite:///{other.as_posix()}")
    assert tracking_uri() == f"sqlite:///{other.as_posix()}"
    ModelBuilder("regression", "points", features=features).train(
        frame, "linear", track=True, experiment="points", run_name="ridge"
    )
    assert other.is_file() and not (_pitwall_home / "mlflow.db").exists()
    assert list_runs()["run_name"].tolist() == ["ridge"]
    assert (_pitwall_home / "mlruns" / "local" / "points").is_dir()  # artifacts never land in the working directory
    assert not (workdir / "mlruns").exists()


def _logged_backtest(run_name: str) -> dict:
    """What a backtest run holds, less its id, times and training time."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri())
    (row,) = list_runs().query("run_name == @run_name").itertuples()
    run = client.get_run(row.run_id)
    folder = Path(urlparse(run.info.artifact_uri).path)
    files = {p.name: p.read_text() for p in sorted(folder.iterdir())}
    summary = json.loads(files.pop("backtest.json"))
    summary.pop("training_time_s")
    return {
        "status": run.info.status,
        "metrics": {k: v for k, v in run.data.metrics.items() if k != "training_time_s"},
        "params": run.data.params,
        "tags": {k: v for k, v in run.data.tags.items() if k.startswith("pitwall.")},
        "summary": summary,
        "files": files,
    }


def test_a_backtest_logged_by_its_own_process_is_the_same_run(
    frame: pd.DataFrame, features: list[str], _pitwall_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow is set up in another process while the backtest runs (its imports would hold this
    process's GIL); that process logs exactly the run this process would."""
    from pitwall.ml import tracking

    winner = ModelBuilder("ranking", "position", features=features, top_k=1)
    kw = dict(season=2023, rounds=[21, 22], train_kwargs={"algorithm": "logistic"}, track=True, experiment="w")
    monkeypatch.setattr(tracking, "_spare_core", lambda: True)
    started = []
    real_start = tracking._start_log_process
    monkeypatch.setattr(tracking, "_start_log_process", lambda uri: started.append(uri) or real_start(uri))
    tracking.start_backtest_log()  # as backtest_template does before its frame build
    walk_forward(frame, winner, run_name="by-process", **kw)  # picks that process up
    assert started == [tracking_uri()] and tracking_uri() not in tracking._CLIENTS  # MLflow never set up here
    monkeypatch.setattr(tracking, "LOG_PROCESS", False)
    walk_forward(frame, winner, run_name="in-process", **kw)
    assert tracking_uri() in tracking._CLIENTS
    by_process, here = _logged_backtest("by-process"), _logged_backtest("in-process")
    assert by_process["status"] == "FINISHED"
    assert set(by_process["files"]) == {"feature_importance.json", "per_race.csv"}
    assert by_process == here


def test_a_logging_process_that_fails_before_the_run_hands_over(
    frame: pd.DataFrame, features: list[str], _pitwall_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys

    from pitwall.ml import tracking

    monkeypatch.setattr(tracking, "_spare_core", lambda: True)
    dead = [sys.executable, "-c", "import sys; sys.stdin.read(); sys.exit(3)"]
    monkeypatch.setattr(
        tracking, "_start_log_process", lambda uri: subprocess.Popen(dead, stdin=-1, stdout=-1, stderr=-1, text=True)
    )
    winner = ModelBuilder("ranking", "position", features=features, top_k=1)
    walk_forward(
        frame, winner, season=2023, rounds=[22], train_kwargs={"algorithm": "logistic"}, track=True, run_name="r"
    )
    assert _logged_backtest("r")["status"] == "FINISHED"  # logged by this process instead
