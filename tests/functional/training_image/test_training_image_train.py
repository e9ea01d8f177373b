"""``train``: SageMaker's training contract on real F1 data, without Docker.

Happy paths run the real entry point in a subprocess (``python -m pitwall_image train``) and are
checked against pitwall's own training on the same data; failure paths run the entry point or
``pitwall_image.train.run`` against their own /opt/ml tree and read ``output/failure``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pitwall_image.hyperparameters import HyperparameterError, parse_hyperparameters
from pitwall_image.layout import OptMl
from pitwall_image.train import run

from pitwall.data.store import LocalStore
from pitwall.features import FeatureStore
from pitwall.ml.artifacts import load_model, sha256_file, verify_artifact
from pitwall.templates import get_template
from pitwall.training import train_template

SEASONS = [2021, 2022, 2023]


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _failure(root: Path) -> str:
    return (root / "output" / "failure").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- success


def test_race_winner_job_writes_a_verified_artifact_and_metrics(winner_job) -> None:  # type: ignore[no-untyped-def]
    assert winner_job.result.returncode == 0, winner_job.result.stderr
    model_dir = winner_job.model_dir
    # the artifact folder's files, nothing else (report.json: the model report, listed in metadata.json)
    assert _files(model_dir) == ["metadata.json", "model.ubj", "report.json"]
    meta = verify_artifact(model_dir)
    assert (meta["template"], meta["task"], meta["algorithm"], meta["seed"]) == (
        "race_winner",
        "ranking",
        "xgboost",
        0,
    )
    assert meta["data_window"]["seasons"] == SEASONS
    assert not (winner_job.root / "output" / "failure").exists()

    metrics = winner_job.metrics
    assert metrics["model_name"] == "winner"
    assert metrics["metadata_sha256"] == sha256_file(model_dir / "metadata.json")
    # evaluated on the whole latest season of the window (2023: 22 races), trained on the seasons before
    assert metrics["holdout_metrics"]["n_races"] == 22
    holdout_in_metadata = {k.removeprefix("test_"): v for k, v in meta["metrics"].items() if k.startswith("test_")}
    assert holdout_in_metadata
    assert {k: metrics["holdout_metrics"][k] for k in holdout_in_metadata} == holdout_in_metadata
    accuracy = metrics["holdout_metrics"]["top1_accuracy"]
    assert f"pitwall_metric holdout_top1_accuracy={accuracy!r}" in winner_job.result.stdout
    assert load_model(model_dir).rank(_last_race(get_template("race_winner"), winner_job.root))["rank"].min() == 1


def _last_race(spec, root: Path):  # type: ignore[no-untyped-def]
    frame = spec.frame(FeatureStore(LocalStore(root / "input" / "data" / "lake")), [2023])
    return frame[frame["race_id"] == frame["race_id"].iloc[-1]].reset_index(drop=True)


def test_workflow_hyperparameters_train_the_same_model_as_pitwall(pit_stop_job, f1_lake: Path) -> None:  # type: ignore[no-untyped-def]
    """The training workflow's spelling (params as JSON) trains what train_template trains in-process."""
    assert pit_stop_job.result.returncode == 0, pit_stop_job.result.stderr
    model_dir = pit_stop_job.model_dir
    assert _files(model_dir) == ["metadata.json", "model.txt", "report.json"]
    meta = verify_artifact(model_dir)
    assert (meta["template"], meta["task"], meta["algorithm"]) == ("pit_stop_duration", "regression", "lightgbm")
    metrics = pit_stop_job.metrics
    assert (metrics["tenant_id"], metrics["job_id"], metrics["model_name"]) == ("acme", "job-0001", "stops")

    store = LocalStore(f1_lake)
    expected = train_template(
        "pit_stop_duration",
        seasons=SEASONS,
        algorithm="lightgbm",
        cv_folds=3,
        seed=0,
        store=store,
        register=False,
        track=False,
    )
    assert metrics["holdout_metrics"] == expected.metrics
    assert metrics["baseline_metrics"] == expected.baseline_metrics
    rows = get_template("pit_stop_duration").frame(FeatureStore(store), [2023])
    assert len(rows) > 100
    np.testing.assert_array_equal(load_model(model_dir).predict(rows), expected.model.predict(rows))


# --------------------------------------------------------------------------- failures


def test_unknown_template_fails_the_job_with_a_clear_message(new_opt_ml, run_image) -> None:  # type: ignore[no-untyped-def]
    root = new_opt_ml({"template": "race_loser", "seasons": "2021-2023"})
    result = run_image("train", root)
    assert result.returncode == 2
    message = _failure(root)
    assert message.startswith("hyperparameters.template: unknown template 'race_loser'; known: race_winner,")
    assert "Traceback" not in result.stderr
    assert not (root / "model").exists() or _files(root / "model") == []


BAD_HYPERPARAMETERS = [
    ({}, "hyperparameters.template: required; one of race_winner,"),
    ({"template": "race_winner", "seasons": "2023-2021"}, "hyperparameters.seasons: range '2023-2021' ends before"),
    ({"template": "race_winner", "seasons": "recent"}, "hyperparameters.seasons: expected a season, a range like"),
    ({"template": "race_winner", "seasons": "1900"}, "hyperparameters.seasons: must be between 1950 and 2100"),
    (
        {"template": "race_winner", "seasons": "2010-2011"},
        "seasons: no race_winner data for [2010, 2011] (available: 2021-2023)",
    ),
    ({"template": "race_winner", "n_trials": "many"}, "hyperparameters.n_trials: must be a whole number; got 'many'"),
    ({"template": "race_winner", "auto_tune": "maybe"}, "hyperparameters.auto_tune: must be true or false"),
    ({"template": "race_winner", "cv_folds": "1"}, "hyperparameters.cv_folds: must be between 2 and 20; got 1"),
    ({"template": "race_winner", "timeout": "-5"}, "hyperparameters.timeout: must be a positive number of seconds"),
    (
        {"template": "race_winner", "algorithm": "deep_forest"},
        "hyperparameters.algorithm: unknown algorithm 'deep_forest'",
    ),
    ({"template": "race_winner", "tuning": "guess"}, "hyperparameters.tuning: must be one of bayes, grid, random"),
    ({"template": "race_winner", "learning_rate": "0.1"}, "hyperparameters.learning_rate: unknown hyper-parameter"),
    ({"template": "race_winner", "model_name": "my model!"}, "hyperparameters.model_name: must be 1-64 characters"),
    ({"template": "race_winner", "features": "grid,start_position"}, "hyperparameters.features: grid not among"),
    ({"template": "race_winner", "params": '{"seasons": [2021'}, "hyperparameters.params: is not valid JSON"),
    ({"template": "race_winner", "params": '{"epochs": 3}'}, "hyperparameters.params.epochs: unknown key"),
    (
        {"template": "race_winner", "params": '{"seasons": [2021, "x"]}'},
        "hyperparameters.params.seasons: must be a whole number; got 'x'",
    ),
    ({"template": "race_winner", "kind": "deploy"}, "hyperparameters.kind: must be one of train, tune, automl"),
]


@pytest.mark.parametrize(("hyperparameters", "expected"), BAD_HYPERPARAMETERS)
def test_bad_hyperparameters_write_a_failure_naming_the_field(  # type: ignore[no-untyped-def]
    new_opt_ml, hyperparameters: dict, expected: str
) -> None:
    root = new_opt_ml(hyperparameters)
    assert run(OptMl(root)) == 2
    assert _failure(root).startswith(expected), _failure(root)
    assert not (root / "model").exists() or _files(root / "model") == []


def test_missing_or_malformed_hyperparameters_file(new_opt_ml) -> None:  # type: ignore[no-untyped-def]
    root = new_opt_ml(None)
    assert run(OptMl(root)) == 2
    assert _failure(root).startswith("input/config/hyperparameters.json: not found under ")

    (root / "input" / "config" / "hyperparameters.json").write_text('{"template": ', encoding="utf-8")
    assert run(OptMl(root)) == 2
    assert _failure(root).startswith("input/config/hyperparameters.json: not valid JSON")


def test_data_channel_problems_are_named(new_opt_ml) -> None:  # type: ignore[no-untyped-def]
    root = new_opt_ml({"template": "race_winner"}, lake=False)
    table = root / "input" / "data" / "train" / "season=2021"
    table.mkdir(parents=True)
    (table / "part-0.parquet").write_bytes(b"PAR1")
    assert run(OptMl(root)) == 2
    message = _failure(root)
    assert message.startswith("data channel 'lake': no input channel holds a Pitwall data lake")
    assert "races/season=<YYYY>/data.parquet" in message and "train: season=2021" in message

    (root / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({"template": "race_winner", "channel": "features"}), encoding="utf-8"
    )
    assert run(OptMl(root)) == 2
    assert _failure(root).startswith("data channel 'features': not found under input/data (channels: train)")


def test_failure_after_training_started_leaves_the_model_folder_empty(new_opt_ml) -> None:  # type: ignore[no-untyped-def]
    """A lap template on a lake without laps fails in pitwall; stale files never look like a model."""
    root = new_opt_ml({"template": "lap_time", "seasons": "2021-2023"})
    (root / "model").mkdir()
    (root / "model" / "metadata.json").write_text("{}", encoding="utf-8")
    assert run(OptMl(root)) == 2
    assert _failure(root).startswith("seasons: the store has no data for template 'lap_time'")
    assert _files(root / "model") == []


def test_a_successful_run_clears_an_earlier_failure(new_opt_ml, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = new_opt_ml(
        {"template": "pit_stop_duration", "seasons": "2023", "algorithm": "linear", "model_name": "stops"}
    )
    (root / "output").mkdir()
    (root / "output" / "failure").write_text("earlier failure", encoding="utf-8")
    assert run(OptMl(root)) == 0
    assert not (root / "output" / "failure").exists()
    assert verify_artifact(root / "model")["algorithm"] == "linear"


# --------------------------------------------------------------------------- hyper-parameter spellings


def test_workflow_spelling_maps_to_train_template_arguments() -> None:
    request = parse_hyperparameters(
        {
            "tenant_id": "acme",
            "job_id": "j1",
            "kind": "tune",
            "model_name": "winner",
            "template": "race_winner",
            "experiment": "winner",
            "params": json.dumps({"seasons": [2023, 2021], "features": ["start_position"], "params": {"eta": 0.1}}),
            "seasons": "2022-2023",  # a flat key wins over params
            "sagemaker_program": "ignored",
        }
    )
    kwargs = request.train_kwargs()
    assert kwargs["seasons"] == [2022, 2023]
    assert kwargs["auto_tune"] is True  # kind=tune
    assert kwargs["features"] == ["start_position"]
    assert (kwargs["name"], kwargs["tenant_id"], kwargs["job_id"]) == ("winner", "acme", "j1")
    assert any(note.startswith("params.params: fixed estimator parameters are not applied") for note in request.notes)
    assert parse_hyperparameters({"template": "podium", "kind": "automl"}).algorithm == "auto"
    assert parse_hyperparameters({"template": "podium", "seasons": "2018,2020-2021"}).seasons == [2018, 2020, 2021]
    with pytest.raises(HyperparameterError, match=r"hyperparameters\.features\[1\]: must be a non-empty name"):
        parse_hyperparameters({"template": "podium", "features": '["start_position", ""]'})
