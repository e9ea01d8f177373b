"""The notebook flow on real data: template-named targets, the leakage guard, empty columns,
base rates, in-sample notices, AutoML's product signature and deploying a custom model."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from pitwall.ml import AutoMLTrainer, FeatureStore, MLInputError, ModelBuilder

SEASONS = [2022, 2023, 2024]


@pytest.fixture
def home_lake(lake, _isolated_home: Path) -> Path:
    """This test's PITWALL_HOME reads the session's (read-only) lake."""
    _isolated_home.mkdir(parents=True, exist_ok=True)
    (_isolated_home / "lake").symlink_to(lake.root, target_is_directory=True)
    return _isolated_home


@pytest.fixture
def data(home_lake: Path) -> pd.DataFrame:
    return FeatureStore().get_features(seasons=SEASONS, feature_groups=["driver", "team", "session"])


def _notices(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "pitwall.ml")


def test_target_named_after_a_template_is_joined_from_the_store(
    data: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pitwall.ml")
    train, test = data[data["season"] < 2024], data[data["season"] == 2024]
    model = ModelBuilder(task="classification", target="race_winner").train(train, algorithm="xgboost")
    assert model.classes == [False, True]
    targets = FeatureStore().targets([2024])
    winners = targets[targets["position"] == 1]
    result = model.evaluate(test)
    labelled = result.predictions
    assert int(labelled["race_winner"].sum()) == len(winners)  # one winner per race, from the store
    assert result.metrics["base_rate_True"] == pytest.approx(len(winners) / len(labelled))
    log = _notices(caplog)
    assert "template race_winner's target (position <= 1)" in log
    # telemetry-derived session features are empty offline: dropped with a notice, not a crash
    empty = [c for c in ("sector_times", "avg_corner_speed", "straight_line_speed") if train[c].isna().all()]
    assert empty and all(c not in model.features for c in empty)
    assert f"dropped {', '.join(empty)}" in log
    assert "in-sample" not in log  # 2024 lies after the 2022-2023 training window


def test_in_sample_evaluation_says_so(data: pd.DataFrame, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="pitwall.ml")
    model = ModelBuilder(task="classification", target="race_winner").train(data, algorithm="logistic")
    model.evaluate(data[data["season"] == 2024])
    assert "in-sample" in _notices(caplog)


def test_outcome_columns_are_refused_as_features(
    home_lake: Path, data: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(MLInputError, match="'points', 'dnf' are outcomes of the race"):
        ModelBuilder("classification", "race_winner", features=["start_position", "points", "dnf"])
    ModelBuilder(  # an explicit override is possible
        "classification", "race_winner", features=["start_position", "points"], allow_outcome_features=True
    )
    caplog.set_level(logging.WARNING, logger="pitwall.ml")
    with_targets = FeatureStore().get_features(seasons=[2023], include_targets=True)
    model = ModelBuilder("classification", "race_winner").train(with_targets, algorithm="logistic")
    leaked = {"position", "position_order", "finished", "dnf", "points", "fastest_lap"}
    assert not leaked & set(model.features)
    assert "left out position, position_order, finished, dnf, points, fastest_lap" in _notices(caplog)


def test_unknown_target_names_the_templates(data: pd.DataFrame) -> None:
    with pytest.raises(MLInputError, match="not a template name .*race_winner"):
        ModelBuilder("classification", "winner_of_race").train(data)


def test_automl_product_signature_and_deploy(data: pd.DataFrame, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="pitwall.ml")
    trainer = AutoMLTrainer(task="classification", time_budget=8, metric="accuracy", ensemble=True)
    best = trainer.train(data[data["season"] < 2024])
    assert "using 'race_winner'" in _notices(caplog)
    assert best.algorithm in {*trainer.algorithms, "ensemble"}
    assert 0.0 < best.score <= 1.0
    assert trainer.leaderboard is not None and len(trainer.leaderboard) >= 1
    deployment = best.deploy(name="automl_winner")
    assert (deployment.model, deployment.version, deployment.status) == ("automl_winner", 1, "deployed")
    from pitwall.platform.models import get_model

    record = get_model("local", "automl_winner")
    assert record.template == "race_winner" and record.target == "race_winner"
    assert (record.status, record.deployed_version) == ("deployed", 1)


def test_plots_return_figures_and_save_when_given_a_path(data: pd.DataFrame, tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    train, test = data[data["season"] < 2024], data[data["season"] == 2024]
    results = ModelBuilder("classification", "race_winner").train(train, algorithm="logistic").evaluate(test)
    assert isinstance(results.plot_confusion_matrix(), Figure)
    assert isinstance(results.plot_feature_importance(), Figure)
    png = results.plot_confusion_matrix(path=tmp_path / "cm.png")
    assert Path(png).read_bytes()[:4] == b"\x89PNG"
