"""A custom spec trains what it says, on real data, through the one training request: the
algorithm's hyper-parameters and the yes/no task of a ranking template; a notebook
``ModelBuilder`` model retrains through the same request with its task, features and
hyper-parameters kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from pitwall.api.services import get_services, set_services
from pitwall.errors import ValidationFailed
from pitwall.features import FeatureEngineer
from pitwall.ml import FeatureStore, ModelBuilder
from pitwall.platform import jobs
from pitwall.platform.models import get_model
from pitwall.training import train_template
from pitwall.workflow.request import TrainingRequest
from pitwall.workflow.retrain import retrain_request

HYPERPARAMETERS = {"max_depth": 2, "n_estimators": 40, "learning_rate": 0.1}


@pytest.fixture
def home_lake(feature_lake, _isolated_home: Path) -> Path:
    """This test's PITWALL_HOME reads the session's (read-only) lake with its feature tables."""
    _isolated_home.mkdir(parents=True, exist_ok=True)
    (_isolated_home / "lake").symlink_to(feature_lake.root, target_is_directory=True)
    return _isolated_home


def _train(request: TrainingRequest):  # type: ignore[no-untyped-def]
    return train_template(request.template, **request.train_kwargs(tenant_id="local"), track=False)


def test_a_custom_spec_trains_its_task_with_its_hyperparameters(home_lake: Path) -> None:
    request = TrainingRequest(
        template="race_winner",
        model_name="winner_yes_no",
        algorithm="xgboost",
        task="classification",
        hyperparameters=HYPERPARAMETERS,
        seasons=(2022, 2023, 2024),
    )
    result = _train(request)
    model = result.model
    assert (model.task, model.target, model.classes) == ("classification", "race_winner", [False, True])
    assert {k: model.params[k] for k in HYPERPARAMETERS} == HYPERPARAMETERS
    # judged on the 2024 season against the template's probability baselines, on the same rows
    assert result.evaluated_on.startswith("season 2024 (24 races")
    assert {"log_loss", "brier"} <= set(result.metrics) and "log_loss" in result.baseline_metrics
    assert any(k.endswith("_log_loss") for k in result.baseline_metrics)
    assert (result.model_dir / "report.json").is_file()  # the model report, as for the template's task
    record = get_model("local", "winner_yes_no")
    assert (record.task, record.target, record.template) == ("classification", "race_winner", "race_winner")
    # the retrain of that model asks for the same spec, one season more
    again = retrain_request(record, 2025)
    assert (again.task, again.algorithm) == ("classification", "xgboost")
    assert again.hyperparameters == {k: model.params[k] for k in again.hyperparameters}  # the model's own
    assert HYPERPARAMETERS.items() <= again.hyperparameters.items()
    assert again.seasons == (2022, 2023, 2024, 2025)


def test_the_template_task_trains_unchanged_with_hyperparameters(home_lake: Path) -> None:
    request = TrainingRequest(
        template="podium", model_name="podium_shallow", hyperparameters={"max_depth": 2}, seasons=(2023, 2024)
    )
    result = _train(request)
    assert result.model.task == "ranking" and result.model.params["max_depth"] == 2
    # the template's own settings for the parameters the spec leaves out stay
    assert result.model.params["min_child_weight"] == 5.0


def test_a_notebook_model_retrains_through_the_training_request(home_lake: Path) -> None:
    data = FeatureStore().get_features(seasons=[2022, 2023], feature_groups=["driver", "team"])
    builder = ModelBuilder(task="classification", target="race_winner")
    model = builder.train(data, algorithm="xgboost", params={"max_depth": 3, "n_estimators": 50})
    model.deploy(name="notebook_winner")
    record = get_model("local", "notebook_winner")
    request = retrain_request(record, 2024)
    assert (request.template, request.task, request.algorithm) == ("race_winner", "classification", "xgboost")
    assert request.hyperparameters is not None and request.hyperparameters["max_depth"] == 3
    assert request.features == tuple(model.features)
    retrained = _train(request).model
    assert (retrained.task, retrained.features, retrained.params["max_depth"]) == (
        "classification",
        model.features,
        3,
    )
    assert retrained.data_window["seasons"] == [2022, 2023, 2024]
    rows = FeatureStore().get_features(seasons=[2024], feature_groups=["driver", "team"])
    p = retrained.predict_proba(rows[rows["round"] == 8])
    assert p.shape == (20, 2) and ((p >= 0) & (p <= 1)).all()


def test_a_notebook_model_is_submitted_as_a_job_with_its_spec(home_lake: Path) -> None:
    data = FeatureStore().get_features(seasons=[2022, 2023], feature_groups=["driver", "team"])
    model = ModelBuilder(task="classification", target="race_winner").train(
        data, algorithm="xgboost", params={"max_depth": 3, "n_estimators": 50}
    )
    body = model.job_spec("winner_job")
    assert (body["template"], body["name"], body["task"], body["algorithm"]) == (
        "race_winner",
        "winner_job",
        "classification",
        "xgboost",
    )
    assert (body["hyperparameters"]["max_depth"], body["features"], body["seasons"]) == (
        3,
        model.features,
        [2022, 2023],
    )
    set_services(None)  # this test's home
    try:
        job = model.submit_job("winner_job", seasons=[2022, 2023, 2024])
        assert job["status"] in ("queued", "running") and job["params"]["task"] == "classification"
        assert get_services().launcher.wait_all(timeout=300) is not None
        done = jobs.get_job("local", job["job_id"])
    finally:
        get_services().launcher.shutdown()
        set_services(None)
    assert done.status == "succeeded", done.error
    record = get_model("local", "winner_job")
    assert (record.task, record.algorithm, record.features) == ("classification", "xgboost", model.features)
    assert record.params["max_depth"] == 3 and record.data_window["seasons"] == [2022, 2023, 2024]


def test_a_notebook_model_with_its_own_python_feature_is_no_job(home_lake: Path) -> None:
    fe = FeatureEngineer(registry={})

    @fe.register("grid_squared")
    def grid_squared(driver_data):  # type: ignore[no-untyped-def]
        grid = driver_data.get("grid")
        return None if grid is None else float(grid) ** 2

    data = FeatureStore(engineer=fe).get_features(
        seasons=[2023], feature_groups=["session"], custom_features=["grid_squared"]
    )
    assert "grid_squared" in data.columns
    model = ModelBuilder("classification", "race_winner", features=["start_position", "grid_squared"]).train(
        data, algorithm="logistic"
    )
    with pytest.raises(ValidationFailed, match="grid_squared not among template 'race_winner'") as info:
        model.job_spec("custom_feature_job")
    assert info.value.field == "features" and "model.deploy(name=...)" in info.value.message
    model.deploy(name="custom_feature_model")  # what it says to do instead works
    assert get_model("local", "custom_feature_model").features == ["start_position", "grid_squared"]
