"""The ML commands of the CLI on real data: templates, train, evaluate, backtest, experiments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pitwall.cli import app
from pitwall.data.store import LocalStore
from pitwall.templates import TEMPLATES

runner = CliRunner()


@pytest.fixture
def home_lake(feature_lake: LocalStore, _isolated_home: Path) -> LocalStore:
    """The feature lake copied to this test's PITWALL_HOME (the CLI uses the default store)."""
    import shutil

    shutil.copytree(feature_lake.root, _isolated_home / "lake")
    return LocalStore(_isolated_home / "lake")


def test_train_evaluate_backtest_and_compare(home_lake: LocalStore, tmp_path: Path) -> None:
    r = runner.invoke(app, ["templates"])
    assert r.exit_code == 0 and "race_winner" in r.output and "rain_impact" in r.output

    r = runner.invoke(app, ["features", "show", "--season", "2024", "--round", "8"])
    assert r.exit_code == 0, r.output
    assert "charles-leclerc" in r.output and "career_wins" in r.output
    assert "driver features, 2024 round 8" in r.output and "team features" in r.output  # one table per group

    r = runner.invoke(app, ["features", "show", "--season", "2024", "--round", "8", "--driver", "charles-leclerc"])
    assert r.exit_code == 0, r.output
    row = next(line for line in r.output.splitlines() if " career_wins " in line)
    assert "driver" in row and any(ch.isdigit() for ch in row)  # feature, group, value
    r = runner.invoke(app, ["features", "show", "--season", "2024", "--round", "8", "--features", "career_wins,nope"])
    assert r.exit_code == 2 and "--features: nope" in r.output

    r = runner.invoke(app, ["features", "build"])
    assert r.exit_code == 0, r.output
    assert "feature tables" in r.output and "BuildReport(" not in r.output

    r = runner.invoke(app, ["train", "safety_car", "--seasons", "2018-2023", "--name", "sc_v1"])
    assert r.exit_code == 0, r.output
    assert "trained sc_v1 v1" in r.output and "baseline: naive" in r.output
    # beside one season's figures, the template's verdict (safety_car: no skill against its baselines)
    assert f"card: {TEMPLATES['safety_car'].card_note}" in " ".join(r.output.split())

    # the README's tour on a fresh home: the laptop's tenant is created on its first deploy; another
    # tenant must exist, and the error says how to create it
    r = runner.invoke(app, ["deploy", "sc_v1", "--tenant", "acme"])
    assert r.exit_code == 2 and "pitwall keys create --tenant acme" in " ".join(r.output.split()), r.output
    r = runner.invoke(app, ["deploy", "sc_v1"])
    assert r.exit_code == 0 and "deployed sc_v1 version 1" in r.output, r.output

    r = runner.invoke(app, ["evaluate", "sc_v1", "--seasons", "2024"])
    assert r.exit_code == 0, r.output
    assert "accuracy" in r.output

    out = tmp_path / "sc.jsonl"
    r = runner.invoke(
        app, ["backtest", "safety_car", "--train-until", "2023", "--season", "2024", "--output", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert "baseline: base_rate" in r.output
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(events) == 18  # 2024 races with lap data (rounds 1-18)
    row = events[0]["rows"][0]
    assert {"prediction", "probability", "actual"} <= set(row)
    assert set(row["probability"]) == {"0", "1"}

    r = runner.invoke(app, ["experiments", "list"])
    assert r.exit_code == 0 and "sc_v1" in r.output
    r = runner.invoke(app, ["experiments", "list", "--tenant", "acme"])  # another tenant's runs: none
    assert r.exit_code == 0 and "no runs yet for tenant 'acme'" in r.output, r.output
    r = runner.invoke(app, ["experiments", "compare", "sc_v1", "backtest-safety_car"])
    assert r.exit_code == 0, r.output
    # every metric of both runs, one row each: the training run's out-of-sample and baseline ones too
    assert "test_accuracy" in r.output and "baseline_" in r.output and "2 run(s)" in r.output


def test_bad_template_and_seasons_are_one_line_errors(home_lake: LocalStore) -> None:
    r = runner.invoke(app, ["train", "podium_finish"])
    assert r.exit_code == 2 and "unknown template 'podium_finish'" in r.output
    r = runner.invoke(app, ["train", "lap_time", "--seasons", "1990"])
    assert r.exit_code == 2 and "seasons:" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["backtest", "race_winner", "--season", "2024", "--train-until", "2024"])
    assert r.exit_code == 2 and "train_until" in r.output


def test_train_takes_hyperparameters_and_the_task_through_the_training_request(home_lake: LocalStore) -> None:
    from pitwall.platform.models import get_model

    bad = [
        (["--algorithm", "xgboost", "--param", "max_depth=99"], "hyperparameters.max_depth: must be between 1 and 32"),
        (["--param", "max_depth"], "--param: expected NAME=VALUE"),
        (["--param", "max_depth=3"], "not a hyperparameter of 'conditional_logit'; settable: l2"),
        (["--task", "regression"], "task: template 'race_winner' trains 'ranking'"),
    ]
    for options, message in bad:
        r = runner.invoke(app, ["train", "race_winner", *options])
        output = " ".join(r.output.split())
        assert r.exit_code == 2 and message in output and "Traceback" not in output, (options, r.output)
    args = ["train", "race_winner", "--seasons", "2023-2024", "--algorithm", "xgboost", "--name", "rw_yes_no"]
    r = runner.invoke(
        app, [*args, "--param", "max_depth=2", "--param", "learning_rate=0.1", "--task", "classification"]
    )
    assert r.exit_code == 0, r.output
    record = get_model("local", "rw_yes_no")
    assert (record.task, record.params["max_depth"], record.params["learning_rate"]) == ("classification", 2, 0.1)
