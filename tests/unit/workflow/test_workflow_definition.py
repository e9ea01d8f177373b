"""The workflow definition is a valid state machine with the agreed shape."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pitwall.workflow.definition import (
    FAILED,
    FAILURE_HANDLER,
    START_AT,
    SUCCEEDED,
    WORKFLOW,
    CatchPolicy,
    Step,
    get_step,
    task_steps,
    validate_definition,
)
from pitwall.workflow.local_runner import IMPLEMENTATION_NAMES


def test_states_in_order() -> None:
    assert [s.name for s in WORKFLOW] == [
        "ValidateAndReserveQuota",
        "BuildFeatures",
        "TrainModel",
        "EvaluateChallenger",
        "RegisterModel",
        "ShouldDeploy",
        "DeployModel",
        SUCCEEDED,
        FAILURE_HANDLER,
        FAILED,
    ]
    assert START_AT == "ValidateAndReserveQuota"


def test_every_task_is_caught_and_retried() -> None:
    for step in task_steps():
        assert step.catch, step.name
        assert step.retry, step.name
        expected = FAILED if step.name == FAILURE_HANDLER else FAILURE_HANDLER
        assert [c.next for c in step.catch] == [expected]
    assert get_step(FAILURE_HANDLER).next == FAILED


def test_only_training_runs_on_sagemaker() -> None:
    resources = {s.name: s.resource for s in task_steps()}
    assert resources.pop("TrainModel") == "sagemaker_training"
    assert set(resources.values()) == {"lambda"}


def test_implementations_match_step_implementations_fields() -> None:
    assert sorted(s.implementation for s in task_steps()) == sorted(IMPLEMENTATION_NAMES)


def test_choice_requires_deploy_and_not_worse() -> None:
    choice = get_step("ShouldDeploy")
    (rule,) = choice.choices
    assert rule.next == "DeployModel"
    assert {(c.variable, c.equals) for c in rule.all_of} == {
        ("$.job.deploy", True),
        ("$.evaluation.not_worse_than_champion", True),
    }
    assert choice.default == SUCCEEDED


def test_unknown_step_name_is_reported() -> None:
    with pytest.raises(KeyError, match="unknown workflow step 'Nope'"):
        get_step("Nope")


def test_validation_rejects_dangling_transition() -> None:
    broken = tuple(
        replace(s, catch=(CatchPolicy(next="Missing"),)) if s.name == "BuildFeatures" else s for s in WORKFLOW
    )
    with pytest.raises(ValueError, match="'BuildFeatures': transition to unknown state 'Missing'"):
        validate_definition(broken)


def test_validation_rejects_unreachable_state() -> None:
    extra = (*WORKFLOW, Step(name="Orphan", kind="succeed", doc="never reached"))
    with pytest.raises(ValueError, match=r"\['Orphan'\] are unreachable"):
        validate_definition(extra)


def test_validation_rejects_task_without_implementation() -> None:
    broken = tuple(replace(s, implementation=None) if s.name == "TrainModel" else s for s in WORKFLOW)
    with pytest.raises(ValueError, match="'TrainModel': a task needs implementation"):
        validate_definition(broken)
