"""A custom spec's hyper-parameters and task are checked once by the training request (422 naming
the field), stored with the job and handed to training unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from pitwall.errors import ValidationFailed
from pitwall.ml.algorithms import ALGORITHMS, Choice, Int
from pitwall.workflow.request import TrainingRequest
from pitwall.workflow.template_facts import ALGORITHM_HYPERPARAMETERS, accepted_range


def _request(**values: Any) -> TrainingRequest:
    return TrainingRequest(template=values.pop("template", "race_winner"), model_name="m", **values)


def test_hyperparameters_and_task_reach_training_and_the_stored_params() -> None:
    request = _request(
        algorithm="xgboost", hyperparameters={"max_depth": 3, "learning_rate": 0.1}, task="classification"
    )
    kwargs = request.train_kwargs(tenant_id="acme")
    assert kwargs["hyperparameters"] == {"max_depth": 3, "learning_rate": 0.1}
    assert kwargs["task"] == "classification"
    params = request.to_params()
    assert params["hyperparameters"] == {"max_depth": 3, "learning_rate": 0.1} and params["task"] == "classification"
    assert TrainingRequest.from_params("race_winner", "m", params) == request


def test_the_default_algorithm_is_the_one_checked() -> None:
    # race_winner's default is the conditional logit: its one parameter is l2
    assert _request(hyperparameters={"l2": 0.1}).hyperparameters == {"l2": 0.1}
    with pytest.raises(ValidationFailed, match="not a hyperparameter of 'conditional_logit'; settable: l2") as info:
        _request(hyperparameters={"max_depth": 3})
    assert info.value.field == "hyperparameters.max_depth"


def test_the_template_task_is_the_default_and_other_tasks_are_refused() -> None:
    assert _request(task="ranking").task is None  # the template's own: nothing to record
    assert "task" not in _request(task="ranking").to_params()
    with pytest.raises(ValidationFailed, match="trains 'ranking' or 'classification'") as info:
        _request(task="regression")
    assert info.value.field == "task"
    with pytest.raises(ValidationFailed, match="template 'lap_time' trains 'regression'; got 'classification'"):
        _request(template="lap_time", task="classification")


@pytest.mark.parametrize(
    "hyperparameters, field, message",
    [
        ({"max_depth": 0}, "hyperparameters.max_depth", "between 1 and 32"),
        ({"max_depth": 2.5}, "hyperparameters.max_depth", "whole number"),
        ({"max_depth": True}, "hyperparameters.max_depth", "whole number"),
        ({"learning_rate": "fast"}, "hyperparameters.learning_rate", "a number"),
        ({"learning_rate": float("nan")}, "hyperparameters.learning_rate", "a number"),
        ({"subsample": 1.5}, "hyperparameters.subsample", "between"),
        ({"n_jobs": 8}, "hyperparameters.n_jobs", "not a hyperparameter of 'xgboost'"),
        ({}, "hyperparameters", "an object of parameters"),
        ([("max_depth", 3)], "hyperparameters", "an object of parameters"),
    ],
)
def test_bad_hyperparameters_name_the_parameter(hyperparameters: Any, field: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message) as info:
        _request(algorithm="xgboost", hyperparameters=hyperparameters)
    assert (info.value.field, info.value.http_status) == (field, 422)


def test_choices_and_automl() -> None:
    assert _request(algorithm="random_forest", hyperparameters={"max_features": "log2"}).hyperparameters
    with pytest.raises(ValidationFailed, match="must be one of 'sqrt', 'log2', 0.5, 1.0") as info:
        _request(algorithm="random_forest", hyperparameters={"max_features": "all"})
    assert info.value.field == "hyperparameters.max_features"
    with pytest.raises(ValidationFailed, match="AutoML picks the parameters") as info:
        _request(algorithm="auto", hyperparameters={"max_depth": 3})
    assert info.value.field == "hyperparameters"


def test_every_search_space_value_is_accepted() -> None:
    """What tuning can find, a request (a retrain of a tuned model) can set."""
    for name, algorithm in ALGORITHMS.items():
        facts = {f.name: f for f in ALGORITHM_HYPERPARAMETERS[name]}
        assert set(facts) == set(algorithm.space), name
        for param, dist in algorithm.space.items():
            values = dist.choices if isinstance(dist, Choice) else (dist.low, dist.high)
            for value in values:
                TrainingRequest(template="podium", model_name="m", algorithm=name, hyperparameters={param: value})
            if not isinstance(dist, Choice):
                low, high = accepted_range("int" if isinstance(dist, Int) else "float", dist.low, dist.high)
                assert low <= dist.low and dist.high <= high
