"""The marketplace verification state machine: built from the verification workflow definition by the
training stack's own state builder (VerifyModel = the training task on the model image), its step Lambdas
least-privilege, and the API Lambda allowed to start it."""

from __future__ import annotations

import json
from typing import Any

from pitwall.workflow import verification
from pitwall.workflow.steps import HYPERPARAMETER_NAMES
from tests.infra.asl import intrinsic_to_text
from tests.infra.conftest import SynthesizedApp


def _machines(synthesized: SynthesizedApp) -> dict[str, dict[str, Any]]:
    return {
        logical: json.loads(intrinsic_to_text(machine["Properties"]["DefinitionString"]))
        for logical, machine in synthesized.resources("training", "AWS::StepFunctions::StateMachine").items()
    }


def test_the_verification_machine_is_the_verification_definition(synthesized: SynthesizedApp) -> None:
    machines = _machines(synthesized)
    (logical,) = [k for k in machines if k.startswith("VerificationWorkflow")]
    asl = machines[logical]
    assert asl["StartAt"] == verification.START_AT
    assert set(asl["States"]) == {step.name for step in verification.VERIFICATION_WORKFLOW}
    for step in verification.VERIFICATION_WORKFLOW:
        state = asl["States"][step.name]
        if step.kind == "task":
            assert (state["ResultPath"], state["Next"]) == (step.result_path, step.next)
            assert [c["Next"] for c in state["Catch"]] == [c.next for c in step.catch]
    verify = asl["States"]["VerifyModel"]
    (training,) = [m for k, m in machines.items() if not k.startswith("VerificationWorkflow")]
    train = training["States"]["TrainModel"]
    # the same SageMaker training task as TrainModel: same resource, parameters read from $.job/$.features
    assert verify["Resource"] == train["Resource"] and verify["Resource"].endswith("createTrainingJob.sync")
    assert set(verify["Parameters"]) == set(train["Parameters"])
    assert {k.removesuffix(".$") for k in verify["Parameters"]["HyperParameters"]} == set(HYPERPARAMETER_NAMES)
    assert verify["Parameters"]["AlgorithmSpecification"]["TrainingImage.$"] == "$.job.training_image"


def test_verification_step_functions_and_the_api_grant(synthesized: SynthesizedApp) -> None:
    functions = synthesized.resources("training", "AWS::Lambda::Function")
    handlers = {f["Properties"].get("Handler") for f in functions.values()}
    for name in ("prepare_verification", "select_verification_data", "record_verification", "record_rejection"):
        assert f"workflow_verification.{name}" in handlers
    api_functions = [
        f for k, f in synthesized.resources("api", "AWS::Lambda::Function").items() if k.startswith("ApiFunction")
    ]
    (api,) = api_functions
    assert verification.STATE_MACHINE_ENV in api["Properties"]["Environment"]["Variables"]
    policies = json.dumps(synthesized.resources("api", "AWS::IAM::Policy"))
    assert "states:StartExecution" in policies and "VerificationWorkflow" in policies
