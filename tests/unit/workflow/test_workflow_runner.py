"""The local runner follows the definition: order, result paths, retry, catch and choice."""

from __future__ import annotations

from typing import Any

import pytest

from pitwall.workflow.definition import FAILED, FAILURE_HANDLER, SUCCEEDED
from pitwall.workflow.errors import ThrottlingException
from pitwall.workflow.local_runner import (
    StepImplementations,
    get_path,
    run_workflow,
    set_path,
)

HAPPY_PATH = [
    "ValidateAndReserveQuota",
    "BuildFeatures",
    "TrainModel",
    "EvaluateChallenger",
    "RegisterModel",
    "ShouldDeploy",
]


def recording_implementations(
    calls: list[str], *, deploy: bool, not_worse: bool, failing: dict[str, list[Exception]] | None = None
) -> StepImplementations:
    """Step callables that record their calls and raise the queued exceptions first."""
    failing = failing or {}

    def make(name: str, result: dict[str, Any]):
        def fn(state: dict[str, Any]) -> dict[str, Any]:
            calls.append(name)
            queued = failing.get(name)
            if queued:
                raise queued.pop(0)
            return result

        return fn

    return StepImplementations(
        validate_and_reserve_quota=make("validate", {"deploy": deploy, "tenant_id": "t1"}),
        build_features=make("features", {"uri": "lake/training_x"}),
        train_model=make("train", {"model_artifacts": "/tmp/model"}),
        evaluate_challenger=make("evaluate", {"not_worse_than_champion": not_worse}),
        register_model=make("register", {"version": 1}),
        deploy_model=make("deploy", {"endpoint_name": "pitwall-t1-m"}),
        release_quota_and_record_failure=make("release", {"released": True}),
    )


def test_success_with_deploy_runs_every_task_in_order() -> None:
    calls: list[str] = []
    result = run_workflow({"job_id": "j1"}, recording_implementations(calls, deploy=True, not_worse=True))
    assert result.status == "SUCCEEDED"
    assert result.path == [*HAPPY_PATH, "DeployModel", SUCCEEDED]
    assert calls == ["validate", "features", "train", "evaluate", "register", "deploy"]
    assert result.output["job_id"] == "j1"
    assert result.output["deployment"] == {"endpoint_name": "pitwall-t1-m"}
    assert result.output["training"] == {"model_artifacts": "/tmp/model"}


@pytest.mark.parametrize(("deploy", "not_worse"), [(False, True), (True, False), (False, False)])
def test_choice_skips_deploy_unless_requested_and_not_worse(deploy: bool, not_worse: bool) -> None:
    calls: list[str] = []
    result = run_workflow({}, recording_implementations(calls, deploy=deploy, not_worse=not_worse))
    assert result.status == "SUCCEEDED"
    assert result.path == [*HAPPY_PATH, SUCCEEDED]
    assert "deploy" not in calls


def test_failure_is_caught_released_and_fails() -> None:
    calls: list[str] = []
    impls = recording_implementations(
        calls, deploy=True, not_worse=True, failing={"train": [ValueError("bad hyper-parameter")]}
    )
    result = run_workflow({}, impls, sleep=lambda s: None)
    assert result.status == "FAILED"
    assert result.path == ["ValidateAndReserveQuota", "BuildFeatures", "TrainModel", FAILURE_HANDLER, FAILED]
    assert result.output["error"] == {"Error": "ValueError", "Cause": "bad hyper-parameter"}
    assert result.output["failure"] == {"released": True}
    assert result.error == "TrainingWorkflowFailed"
    assert calls[-1] == "release"


def test_throttling_is_retried_with_backoff() -> None:
    calls: list[str] = []
    waits: list[float] = []
    impls = recording_implementations(
        calls,
        deploy=False,
        not_worse=True,
        failing={"features": [ThrottlingException("slow down"), ThrottlingException("slow down")]},
    )
    result = run_workflow({}, impls, sleep=waits.append)
    assert result.status == "SUCCEEDED"
    assert calls.count("features") == 3
    assert waits == [2.0, 4.0]
    assert [(a.step, a.attempt, a.error) for a in result.attempts if a.step == "BuildFeatures"] == [
        ("BuildFeatures", 1, "ThrottlingException"),
        ("BuildFeatures", 2, "ThrottlingException"),
        ("BuildFeatures", 3, None),
    ]


def test_retries_exhausted_go_to_catch() -> None:
    calls: list[str] = []
    impls = recording_implementations(
        calls, deploy=False, not_worse=True, failing={"register": [ThrottlingException("busy")] * 4}
    )
    result = run_workflow({}, impls, sleep=lambda s: None)
    assert calls.count("register") == 4
    assert result.path[-2:] == [FAILURE_HANDLER, FAILED]
    assert result.output["error"]["Error"] == "ThrottlingException"


def test_non_throttling_error_is_not_retried() -> None:
    calls: list[str] = []
    impls = recording_implementations(calls, deploy=False, not_worse=True, failing={"evaluate": [KeyError("x")]})
    run_workflow({}, impls, sleep=lambda s: pytest.fail("must not wait"))
    assert calls.count("evaluate") == 1


def test_failure_handler_error_still_ends_failed() -> None:
    calls: list[str] = []
    impls = recording_implementations(
        calls,
        deploy=False,
        not_worse=True,
        failing={"validate": [RuntimeError("boom")], "release": [RuntimeError("table gone")]},
    )
    result = run_workflow({}, impls, sleep=lambda s: None)
    assert result.status == "FAILED"
    assert result.path == ["ValidateAndReserveQuota", FAILURE_HANDLER, FAILED]
    assert result.output["failure_error"] == {"Error": "RuntimeError", "Cause": "table gone"}


def test_choice_on_missing_variable_is_a_runtime_error() -> None:
    calls: list[str] = []
    impls = recording_implementations(calls, deploy=True, not_worse=True)
    impls = StepImplementations(**{**impls.__dict__, "evaluate_challenger": lambda state: {"score": 1.0}})
    result = run_workflow({}, impls)
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert "$.evaluation.not_worse_than_champion" in (result.cause or "")
    assert result.path[-1] == "ShouldDeploy"


def test_non_json_result_is_a_step_failure() -> None:
    calls: list[str] = []
    impls = recording_implementations(calls, deploy=True, not_worse=True)
    impls = StepImplementations(**{**impls.__dict__, "build_features": lambda state: {"when": object()}})
    result = run_workflow({}, impls)
    assert result.path[-2:] == [FAILURE_HANDLER, FAILED]
    assert result.output["error"]["Error"] == "TypeError"


def test_steps_cannot_mutate_the_state_they_receive() -> None:
    seen: list[dict[str, Any]] = []

    def features(state: dict[str, Any]) -> dict[str, Any]:
        state["job"]["deploy"] = False  # a local mutation must not leak into the execution
        seen.append(state)
        return {"uri": "x"}

    calls: list[str] = []
    impls = recording_implementations(calls, deploy=True, not_worse=True)
    impls = StepImplementations(**{**impls.__dict__, "build_features": features})
    result = run_workflow({}, impls)
    assert result.output["job"]["deploy"] is True
    assert "DeployModel" in result.path


def test_json_path_helpers() -> None:
    doc = {"a": {"b": 1}}
    assert get_path(doc, "$.a.b") == 1
    assert get_path(doc, "$") == doc
    with pytest.raises(KeyError, match=r"'\$.a.c' not found"):
        get_path(doc, "$.a.c")
    updated = set_path(doc, "$.x.y", 2)
    assert updated == {"a": {"b": 1}, "x": {"y": 2}}
    assert doc == {"a": {"b": 1}}
