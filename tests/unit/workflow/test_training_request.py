"""The one training-request contract (``pitwall.workflow.request``): every path gives train_template
the same arguments for the same request, with the template's defaults; bad requests are refused
(422, naming the field); the lean facts table matches the real templates."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from pitwall.errors import ValidationFailed
from pitwall.platform.records import JobRecord, ModelRecord
from pitwall.workflow import steps
from pitwall.workflow.launchers import StepFunctionsJobLauncher, execution_input, job_request
from pitwall.workflow.request import DEFAULT_CV_FOLDS, TrainingRequest
from pitwall.workflow.retrain import retrain_request
from pitwall.workflow.template_facts import ALGORITHM_NAMES, TEMPLATE_FACTS, live_facts

REPO = Path(__file__).resolve().parents[3]
BODY = {"template": "lap_time", "name": "lt_model", "seasons": [2022, 2021]}  # no algorithm, no folds


class Captured(Exception):
    """Raised by the fake train_template: the arguments a path gave it."""

    def __init__(self, template: str, kwargs: dict[str, Any]) -> None:
        super().__init__(template)
        self.template, self.kwargs = template, kwargs


def _fake_train_template(template: str, **kwargs: Any) -> Any:
    raise Captured(template, kwargs)


def _training_args(call: Any) -> tuple[str, dict[str, Any]]:
    with pytest.raises(Captured) as caught:
        call()
    ignored = {"store", "register", "track", "experiment", "job_id", "tenant_id"}
    return caught.value.template, {k: v for k, v in caught.value.kwargs.items() if k not in ignored}


def _job(params: dict[str, Any]) -> JobRecord:
    return JobRecord(
        job_id="job-1",
        tenant_id="acme",
        kind="train",
        model_name=BODY["name"],
        template=BODY["template"],
        status="queued",
        created_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:00Z",
        max_runtime_seconds=3600,
        params=params,
    )


def test_api_sdk_local_workflow_sfn_and_image_train_the_same_request(monkeypatch: pytest.MonkeyPatch) -> None:
    import pitwall.training
    from pitwall import sdk
    from pitwall.api.jobs import training_request
    from pitwall.api.schemas import JobRequest
    from pitwall.workflow.launchers import train_with_template
    from pitwall.workflow.local_training import train_step

    monkeypatch.setattr(pitwall.training, "train_template", _fake_train_template)
    monkeypatch.syspath_prepend(str(REPO / "training_images"))
    from pitwall_image.hyperparameters import parse_hyperparameters

    # API: the job body -> the contract -> the job record's params (what every later path reads)
    stored = training_request(JobRequest.model_validate(BODY)).to_params()
    job = _job(stored)
    api = _training_args(lambda: train_with_template(job))
    sdk_args = _training_args(lambda: sdk.train("lap_time", [2021, 2022], name="lt_model"))
    state = {
        "job": {"template": job.template, "model_name": job.model_name, "params": stored, "tenant_id": "acme"}
        | {"job_id": job.job_id},
        "features": {"uri": "/nonexistent-lake", "seasons": [2019, 2020, 2021, 2022]},
    }
    local = _training_args(lambda: train_step(state))
    # Step Functions: the execution input names the job only; TrainModel's hyper-parameters carry the request
    assert StepFunctionsJobLauncher.execution_input(None, job) == {
        "tenant_id": "acme",
        "job_id": "job-1",
        "deploy": False,
    }  # type: ignore[arg-type]
    hyperparameters = steps.training_hyperparameters(job, job_request(job))
    image_request = parse_hyperparameters(hyperparameters)
    image = (
        image_request.template,
        {k: v for k, v in image_request.train_kwargs().items() if k not in ("job_id", "tenant_id")},
    )

    expected = {
        "seasons": [2021, 2022],
        "algorithm": "lightgbm",  # lap_time's default, not xgboost
        "auto_tune": False,
        "tuning": "bayes",
        "n_trials": None,
        "timeout": None,
        "cv_folds": DEFAULT_CV_FOLDS,
        "features": None,
        "name": "lt_model",
        "seed": 0,
    }
    assert api == sdk_args == local == image == ("lap_time", expected)


def test_execution_input_is_the_job_only() -> None:
    assert execution_input(_job({}), deploy=True) == {"tenant_id": "acme", "job_id": "job-1", "deploy": True}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"algorithm": "magic"}, "algorithm"),
        ({"seasons": (1970, 1980)}, "seasons"),  # before lap_time's first season: an empty window
        ({"features": ("start_position", "no_such_feature")}, "features"),
        ({"feature_groups": ("astrology",)}, "feature_groups"),
        ({"scenario": {"weather": "snow"}}, "scenario.weather"),
        ({"circuits": ("Monaco GP!",)}, "circuits[0]"),
        ({"template": "race_winner", "drivers": ("max-verstappen",)}, "drivers"),  # a ranking needs the field
        ({"template": "podium", "teams": ("ferrari",)}, "teams"),
        ({"cv_folds": 1}, "cv_folds"),
        ({"template": "no_such_template"}, "template"),
    ],
)
def test_invalid_requests_are_refused_with_422_naming_the_field(changes: dict[str, Any], field: str) -> None:
    values = {"template": "lap_time", "model_name": "m", **changes}
    with pytest.raises(ValidationFailed) as caught:
        TrainingRequest(**values)
    assert (caught.value.http_status, caught.value.field) == (422, field)


def test_wizard_fields_feature_groups_expand_and_filters_reach_training() -> None:
    facts = TEMPLATE_FACTS["race_winner"]
    group = next(iter(facts.feature_groups))
    request = TrainingRequest(
        "race_winner", "m", feature_groups=(group,), circuits=("monaco",), scenario={"weather": "wet"}
    )
    assert request.resolved_features == list(facts.feature_groups[group])
    kwargs = request.train_kwargs(tenant_id="t")
    assert kwargs["features"] == list(facts.feature_groups[group]) and kwargs["circuits"] == ["monaco"]
    assert "drivers" not in kwargs and "teams" not in kwargs  # only filters that are set
    assert [n for n in request.notes if n.startswith("scenario")]  # scenario inputs: at prediction time
    laps = TrainingRequest("lap_time", "m", drivers=("charles-leclerc",), teams=("ferrari",))
    assert laps.train_kwargs(tenant_id="t")["drivers"] == ["charles-leclerc"]
    again = TrainingRequest.from_params("race_winner", "m", request.to_params())
    assert again == request


def test_stored_params_round_trip_and_unknown_keys_are_refused() -> None:
    request = TrainingRequest("dnf", "m", algorithm="xgboost", cv_folds=4, seasons=(2020, 2021))
    assert TrainingRequest.from_params("dnf", "m", request.to_params()) == request
    with pytest.raises(ValidationFailed) as caught:
        TrainingRequest.from_params("dnf", "m", {"data_window": {"from_season": 2020}})
    assert caught.value.field == "params.data_window"


def _registered(**fields: Any) -> ModelRecord:
    """A registered model record: what retraining reads."""
    base: dict[str, Any] = {
        "tenant_id": "acme",
        "name": "m",
        "version": 3,
        "template": "fastest_lap",
        "task": "classification",
        "algorithm": "xgboost",
        "features": [],
        "target": "t",
        "data_window": {"seasons": [2021, 2022]},
        "metrics": {},
        "baseline_metrics": {},
        "artifact_uri": "file:///x",
        "sha256": "0" * 64,
        "created_at": "2026-01-01T00:00:00Z",
    }
    return ModelRecord(**{**base, **fields})


def test_retraining_keeps_the_models_algorithm_and_grows_its_window() -> None:
    request = retrain_request(_registered(), 2023)
    assert request.seasons == (2021, 2022, 2023) and request.resolved_algorithm == "xgboost"


def test_retraining_keeps_the_models_row_filters_and_auto_features() -> None:
    """A model trained on some circuits with generated inputs retrains on the same rows with the
    same inputs (train_template records both in the model's params)."""
    trained = TrainingRequest(
        template="race_winner",
        model_name="street",
        seasons=(2022, 2023),
        circuits=("monaco", "baku"),
        auto_features={"base": ["start_position"], "lags": [1], "windows": [3], "relative": []},
    )
    params = {
        "seasons": [2022, 2023],
        "circuits": ["monaco", "baku"],
        "auto_features": dict(trained.auto_features or {}),
        "max_depth": 4,
    }
    model = _registered(
        name="street",
        version=1,
        template="race_winner",
        task="ranking",
        algorithm="conditional_logit",
        features=list(trained.resolved_features or []),
        target="position",
        data_window={"seasons": [2022, 2023]},
        params=params,
    )
    request = retrain_request(model, 2024)
    assert request.seasons == (2022, 2023, 2024)
    assert request.circuits == ("monaco", "baku")
    assert request.auto_features == trained.auto_features
    assert request.resolved_features == trained.resolved_features


def test_the_lean_facts_match_the_templates() -> None:
    algorithms, facts = live_facts()
    assert ALGORITHM_NAMES == algorithms, "stale: python -m pitwall.workflow.template_facts"
    assert TEMPLATE_FACTS == facts, "stale: python -m pitwall.workflow.template_facts"


def test_the_contract_imports_without_pandas() -> None:
    import subprocess

    code = "import sys, pitwall.workflow.request; assert 'pandas' not in sys.modules and 'numpy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
