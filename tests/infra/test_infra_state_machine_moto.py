"""The synthesized state machine really runs (moto Step Functions): success, skip-deploy and failure paths.

moto cannot run ``createTrainingJob.sync``, so TrainModel uses the request-response ``createTrainingJob``
stand-in (same parameters, Retry and Catch; its result selector keeps the job ARN). moto's Lambda tasks
never run code: they echo their input, so ``$.job``, ``$.features`` and ``$.evaluation`` are copies of
the execution input, which therefore carries the fields later states read. The local runner, given
echoing steps too, must visit exactly the same states.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pitwall.workflow.definition import FAILED, FAILURE_HANDLER, SUCCEEDED
from pitwall.workflow.local_runner import StepImplementations, run_workflow
from pitwall.workflow.steps import HYPERPARAMETER_NAMES
from tests.infra.asl import ACCOUNT, REGION, state_machine_asl
from tests.infra.conftest import SynthesizedApp

HAPPY = [
    "ValidateAndReserveQuota",
    "BuildFeatures",
    "TrainModel",
    "EvaluateChallenger",
    "RegisterModel",
    "ShouldDeploy",
]


def request_response_asl(asl: dict[str, Any]) -> dict[str, Any]:
    """``asl`` with TrainModel as a request-response createTrainingJob (moto cannot do ``.sync``)."""
    out = json.loads(json.dumps(asl))
    train = out["States"]["TrainModel"]
    assert train["Resource"].endswith(":sagemaker:createTrainingJob.sync")
    train["Resource"] = train["Resource"].removesuffix(".sync")
    train["ResultSelector"] = {"training_job_arn.$": "$.TrainingJobArn"}
    return out


def execution_input(*, deploy: bool, not_worse: bool, max_runtime: Any = 3600) -> dict[str, Any]:
    return {
        "tenant_id": "acme",
        "job_id": "job-1",
        "deploy": deploy,
        "not_worse_than_champion": not_worse,
        "training_job_name": "pitwall-acme-job-1-0a1b2c3d",
        "instance_type": "ml.m5.large",
        "training_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/pitwall-dev-model-image:latest",
        "max_runtime_seconds": max_runtime,
        "hyperparameters": {name: f"value-of-{name}" for name in HYPERPARAMETER_NAMES},
        "uri": "s3://pitwall-dev-features/training_race_winner/",
    }


@pytest.fixture(scope="module")
def machine(synthesized: SynthesizedApp):
    asl = request_response_asl(state_machine_asl(synthesized.templates["training"]))
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="stand-in", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
        lambdas = boto3.client("lambda", region_name=REGION)
        for state in asl["States"].values():
            if state.get("Resource", "").startswith("arn:aws:lambda:"):
                lambdas.create_function(
                    FunctionName=state["Resource"].rsplit(":", 1)[1],
                    Runtime="python3.11",
                    Role=role,
                    Handler="handler.handler",
                    Code={"ZipFile": code.getvalue()},
                )
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(
            name="pitwall-dev-training", definition=json.dumps(asl), roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn"
        )["stateMachineArn"]
        yield sfn, arn


def run(machine, name: str, payload: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    sfn, arn = machine
    execution = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))["executionArn"]
    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution did not finish"
        time.sleep(0.05)
    events = sfn.get_execution_history(executionArn=execution)["events"]
    visited = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    return described, visited


def echoing_steps() -> StepImplementations:
    def echo(state: dict[str, Any]) -> dict[str, Any]:
        return state

    def train(state: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(state["job"]["max_runtime_seconds"], int):
            raise ValueError("MaxRuntimeInSeconds must be an integer")
        return {"training_job_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/x"}

    return StepImplementations(echo, echo, train, echo, echo, echo, echo)


def local_path(payload: dict[str, Any]) -> list[str]:
    return run_workflow(payload, echoing_steps(), sleep=lambda s: None).path


def test_success_with_deploy(machine) -> None:
    payload = execution_input(deploy=True, not_worse=True)
    described, visited = run(machine, "deploy", payload)
    assert described["status"] == "SUCCEEDED"
    assert visited == [*HAPPY, "DeployModel", SUCCEEDED] == local_path(payload)
    output = json.loads(described["output"])
    assert output["training"]["training_job_arn"].endswith("training-job/pitwall-acme-job-1-0a1b2c3d")
    assert output["job"]["tenant_id"] == "acme"


@pytest.mark.parametrize(("deploy", "not_worse"), [(False, True), (True, False)])
def test_choice_skips_deploy(machine, deploy: bool, not_worse: bool) -> None:
    payload = execution_input(deploy=deploy, not_worse=not_worse)
    described, visited = run(machine, f"skip-{deploy}-{not_worse}", payload)
    assert described["status"] == "SUCCEEDED"
    assert visited == [*HAPPY, SUCCEEDED] == local_path(payload)


def test_failed_training_is_caught_and_released(machine) -> None:
    payload = execution_input(deploy=True, not_worse=True, max_runtime="soon")
    described, visited = run(machine, "bad-runtime", payload)
    assert described["status"] == "FAILED"
    assert described["error"] == "TrainingWorkflowFailed"
    assert visited == ["ValidateAndReserveQuota", "BuildFeatures", "TrainModel", FAILURE_HANDLER, FAILED]
    assert visited == local_path(payload)
