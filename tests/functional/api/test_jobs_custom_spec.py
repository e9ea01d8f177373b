"""A custom spec as an API job: auto-features, the AutoML backend with its budget, the algorithm's
hyper-parameters and the task go through the one training request (202 with them in the job's
params), and a bad spec is a 4xx naming the field that takes no quota."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from pitwall.api.server import LocalApiServer
from pitwall.platform import quotas

JOB = {"template": "race_winner", "name": "rw", "seasons": [2022, 2023]}
SPEC = {
    **JOB,
    "algorithm": "auto",
    "automl_backend": "flaml",
    "timeout": 30,
    "features": ["start_position", "start_position_prev3_mean"],
    "auto_features": {"base": ["start_position"], "windows": [3], "relative": ["field"]},
}


def _start(url: str, key: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{url}/api/v1/jobs", json=body, headers={"x-api-key": key}, timeout=60)


def test_a_custom_spec_job_is_accepted_with_its_spec(server: LocalApiServer, pro_key: str) -> None:
    answer = _start(server.url, pro_key, SPEC)
    assert answer.status_code == 202, answer.text
    params = answer.json()["params"]
    assert params["auto_features"] == {"base": ["start_position"], "lags": [1], "windows": [3], "relative": ["field"]}
    assert (params["automl_backend"], params["timeout"], params["algorithm"]) == ("flaml", 30, "auto")
    assert answer.json()["kind"] == "automl"


def test_hyperparameters_and_task_are_accepted_and_listed_in_the_catalogue(
    server: LocalApiServer, pro_key: str
) -> None:
    catalogue = requests.get(f"{server.url}/api/v1/templates", headers={"x-api-key": pro_key}, timeout=30).json()
    depth = next(h for h in catalogue["hyperparameters"]["xgboost"] if h["name"] == "max_depth")
    assert (depth["kind"], depth["low"], depth["high"], depth["default"]) == ("int", 1, 32, 4)
    body = {**JOB, "algorithm": "xgboost", "task": "classification", "hyperparameters": {"max_depth": 3}}
    answer = _start(server.url, pro_key, body)
    assert answer.status_code == 202, answer.text
    params = answer.json()["params"]
    assert (params["task"], params["hyperparameters"], answer.json()["kind"]) == (
        "classification",
        {"max_depth": 3},
        "train",
    )


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({**JOB, "auto_features": {"base": ["invented"]}}, 422, "auto_features.base[0]"),
        ({**JOB, "auto_features": {"base": ["position"]}}, 422, "auto_features.relative"),
        ({**JOB, "auto_features": {"base": ["start_position"], "lags": [0]}}, 422, "auto_features.lags"),
        ({**JOB, "auto_features": {"base": ["start_position"], "lag": [1]}}, 400, "auto_features.lag"),
        ({**JOB, "automl_backend": "flaml"}, 422, "automl_backend"),
        ({**JOB, "algorithm": "auto", "automl_backend": "h2o"}, 422, "automl_backend"),
        ({**JOB, "features": ["start_position_lag1"]}, 422, "features"),  # not generated without auto_features
        ({"template": "lap_time", "name": "lt", "auto_features": {"base": ["tyre_life"]}}, 422, "auto_features"),
        ({**JOB, "algorithm": "xgboost", "hyperparameters": {"max_depth": 99}}, 422, "hyperparameters.max_depth"),
        ({**JOB, "hyperparameters": {"max_depth": 3}}, 422, "hyperparameters.max_depth"),  # conditional logit's: l2
        ({**JOB, "algorithm": "auto", "hyperparameters": {"l2": 0.1}}, 422, "hyperparameters"),
        ({**JOB, "task": "regression"}, 422, "task"),
        ({**JOB, "task": "clustering"}, 422, "task"),
    ],
)
def test_bad_custom_specs_name_the_field_and_take_no_quota(
    server: LocalApiServer, free_key: str, body: dict[str, Any], status: int, field: str
) -> None:
    answer = _start(server.url, free_key, body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["field"] == field
    assert quotas.used_today("acme", quotas.TRAINING_JOBS) == 0


def test_the_sdk_submits_a_job_spec_over_http(server: LocalApiServer, pro_key: str) -> None:
    from pitwall import sdk
    from pitwall.errors import PitwallError

    job = sdk.submit_job({**JOB, "hyperparameters": {"l2": 0.1}}, api_url=server.url, api_key=pro_key)
    assert job["params"]["hyperparameters"] == {"l2": 0.1} and job["model_name"] == "rw"
    with pytest.raises(PitwallError, match=r"job refused \(422\): hyperparameters.l2: must be between") as info:
        sdk.submit_job({**JOB, "hyperparameters": {"l2": 50.0}}, api_url=server.url, api_key=pro_key)
    assert info.value.field == "hyperparameters.l2"
