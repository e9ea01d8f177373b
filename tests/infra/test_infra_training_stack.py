"""Training stack: the state machine is the workflow definition (and agrees with the local runner),
TrainModel is a .sync SageMaker job sized from the tier, and the roles are least-privilege."""

from __future__ import annotations

from typing import Any

import pytest

from pitwall.workflow.definition import FAILED, FAILURE_HANDLER, START_AT, SUCCEEDED, WORKFLOW, get_step
from pitwall.workflow.local_runner import StepImplementations, run_workflow
from pitwall.workflow.steps import HYPERPARAMETER_NAMES
from tests.infra.asl import state_machine_asl, transitions
from tests.infra.conftest import SynthesizedApp


@pytest.fixture(scope="module")
def asl(synthesized: SynthesizedApp) -> dict[str, Any]:
    return state_machine_asl(synthesized.templates["training"])


def test_states_are_the_workflow_definition(asl: dict[str, Any]) -> None:
    assert asl["StartAt"] == START_AT
    assert set(asl["States"]) == {step.name for step in WORKFLOW}
    for step in WORKFLOW:
        state = asl["States"][step.name]
        assert state["Type"] == {"task": "Task", "choice": "Choice", "succeed": "Succeed", "fail": "Fail"}[step.kind]
        if step.kind == "task":
            assert state["ResultPath"] == step.result_path
            assert state["Next"] == step.next
            assert [c["Next"] for c in state["Catch"]] == [c.next for c in step.catch]
            assert [c["ResultPath"] for c in state["Catch"]] == [c.result_path for c in step.catch]
            assert [
                (r["ErrorEquals"], r["IntervalSeconds"], r["MaxAttempts"], r["BackoffRate"]) for r in state["Retry"]
            ] == [(list(p.errors), p.interval_seconds, p.max_attempts, p.backoff_rate) for p in step.retry]


def test_every_task_is_caught_into_the_failure_path(asl: dict[str, Any]) -> None:
    for name, state in asl["States"].items():
        if state["Type"] != "Task":
            continue
        expected = FAILED if name == FAILURE_HANDLER else FAILURE_HANDLER
        assert state["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": state["Catch"][0]["ResultPath"], "Next": expected}
        ]
    assert asl["States"][FAILURE_HANDLER]["Next"] == FAILED
    assert asl["States"][FAILED]["Type"] == "Fail"


def test_train_model_is_a_sync_sagemaker_job_sized_by_the_tier(asl: dict[str, Any]) -> None:
    train = asl["States"]["TrainModel"]
    assert train["Resource"] == "arn:aws:states:::sagemaker:createTrainingJob.sync"
    params = train["Parameters"]
    assert params["TrainingJobName.$"] == "$.job.training_job_name"
    assert params["ResourceConfig"]["InstanceType.$"] == "$.job.instance_type"
    assert params["AlgorithmSpecification"]["TrainingImage.$"] == "$.job.training_image"  # CPU or GPU image
    assert params["StoppingCondition"] == {"MaxRuntimeInSeconds.$": "$.job.max_runtime_seconds"}
    assert params["HyperParameters"] == {f"{n}.$": f"$.job.hyperparameters.{n}" for n in HYPERPARAMETER_NAMES}
    (channel,) = params["InputDataConfig"]
    assert channel["ChannelName"] == "lake"  # the training image's data channel
    assert channel["DataSource"]["S3DataSource"] == {"S3Uri.$": "$.features.uri", "S3DataType": "ManifestFile"}
    assert params["OutputDataConfig"]["S3OutputPath"].endswith("/training-output")
    assert "MLFLOW_TRACKING_URI" in params["Environment"]
    assert train["ResultSelector"]["model_artifacts.$"] == "$.ModelArtifacts.S3ModelArtifacts"
    assert train["Retry"][0]["ErrorEquals"] == ["SageMaker.AmazonSageMakerException", "ThrottlingException"]


def test_deploy_choice_matches_definition(asl: dict[str, Any]) -> None:
    choice = asl["States"]["ShouldDeploy"]
    (rule,) = choice["Choices"]
    assert rule["Next"] == "DeployModel"
    assert sorted(rule["And"], key=lambda c: c["Variable"]) == [
        {"Variable": "$.evaluation.not_worse_than_champion", "BooleanEquals": True},
        {"Variable": "$.job.deploy", "BooleanEquals": True},
    ]
    assert choice["Default"] == SUCCEEDED == get_step("ShouldDeploy").default


def _recording(deploy: bool, fail_at: str | None) -> StepImplementations:
    def make(name: str, result: dict[str, Any]):
        def fn(state: dict[str, Any]) -> dict[str, Any]:
            if name == fail_at:
                raise RuntimeError(f"{name} failed")
            return result

        return fn

    return StepImplementations(
        validate_and_reserve_quota=make("validate_and_reserve_quota", {"deploy": deploy}),
        build_features=make("build_features", {"uri": "s3://b/training_x/"}),
        train_model=make("train_model", {"model_artifacts": "s3://b/m.tar.gz"}),
        evaluate_challenger=make("evaluate_challenger", {"not_worse_than_champion": True}),
        register_model=make("register_model", {"version": 1}),
        deploy_model=make("deploy_model", {"endpoint_name": "e"}),
        release_quota_and_record_failure=make("release_quota_and_record_failure", {"recorded": True}),
    )


def _asl_path(asl: dict[str, Any], state_doc: dict[str, Any], fail_at: str | None) -> list[str]:
    """Walk the synthesized ASL: Next for tasks (Catch when the task fails), Choices on ``state_doc``."""
    path, current = [], asl["StartAt"]
    while True:
        path.append(current)
        state = asl["States"][current]
        if state["Type"] in ("Succeed", "Fail"):
            return path
        if state["Type"] == "Choice":
            (rule,) = state["Choices"]
            holds = all(_lookup(state_doc, c["Variable"]) is c["BooleanEquals"] for c in rule["And"])
            current = rule["Next"] if holds else state["Default"]
        elif current == fail_at:
            current = state["Catch"][0]["Next"]
        else:
            current = state["Next"]


def _lookup(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path[2:].split("."):
        value = value[part]
    return value


@pytest.mark.parametrize(
    ("deploy", "fail_at"),
    [(True, None), (False, None), (True, "TrainModel"), (True, "DeployModel"), (False, "ValidateAndReserveQuota")],
)
def test_local_runner_walks_the_synthesized_machine(asl: dict[str, Any], deploy: bool, fail_at: str | None) -> None:
    implementation = get_step(fail_at).implementation if fail_at else None
    result = run_workflow({}, _recording(deploy, implementation), sleep=lambda s: None)
    doc = {"job": {"deploy": deploy}, "evaluation": {"not_worse_than_champion": True}}
    assert result.path == _asl_path(asl, doc, fail_at)
    for before, after in zip(result.path, result.path[1:], strict=False):
        assert after in transitions(asl["States"][before])
    assert result.status == ("FAILED" if fail_at else "SUCCEEDED")


def test_lambda_steps_have_their_handlers_and_tables(synthesized: SynthesizedApp) -> None:
    functions = synthesized.resources("training", "AWS::Lambda::Function")
    handlers = sorted(
        f["Properties"]["Handler"] for f in functions.values() if "workflow_steps" in f["Properties"]["Handler"]
    )
    assert handlers == sorted(
        f"workflow_steps.{s.implementation}" for s in WORKFLOW if s.resource == "lambda" and s.name != "DeployModel"
    )
    for function in functions.values():
        env = function["Properties"]["Environment"]["Variables"]
        if "workflow_steps" in function["Properties"]["Handler"]:
            assert env["PITWALL_BACKEND"] == "aws"
            assert env["PITWALL_JOBS_TABLE"] == "pitwall-dev-jobs"
            assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}


def _statements(template: dict[str, Any], path_fragment: str) -> list[dict[str, Any]]:
    statements = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::IAM::Policy" and path_fragment in logical_id:
            statements += resource["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_training_role_reads_training_tables_and_writes_outputs_only(synthesized: SynthesizedApp) -> None:
    from tests.infra.asl import intrinsic_to_text

    statements = _statements(synthesized.templates["training"], "TrainingJobRole")
    s3 = [
        (sorted(_as_list(s["Action"])), [intrinsic_to_text(r) for r in _as_list(s["Resource"])])
        for s in statements
        if any(a.startswith("s3:") for a in _as_list(s["Action"]))
    ]
    bucket = "arn:aws:s3:::pitwall-dev-{}-123456789012-us-east-1"
    granted = sorted((action, resource) for actions, resources in s3 for action in actions for resource in resources)
    assert granted == sorted(
        [
            ("s3:GetObject", bucket.format("raw") + "/lake/*"),
            ("s3:GetObject", bucket.format("features") + "/manifests/*"),
            ("s3:AbortMultipartUpload", bucket.format("models") + "/training-output/*"),
            ("s3:PutObject", bucket.format("models") + "/training-output/*"),
            ("s3:GetObject", bucket.format("models") + "/training-output/*"),  # a listed model, verified
        ]
    )
    actions = {a for s in statements for a in _as_list(s["Action"])}
    assert "sagemaker-mlflow:LogBatch" in actions


def test_no_service_wide_wildcard_actions_anywhere(synthesized: SynthesizedApp) -> None:
    for name, template in synthesized.templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::IAM::Policy":
                continue
            if logical_id.startswith("CustomCDKBucketDeployment"):
                continue  # aws-cdk-lib's own BucketDeployment handler (web stack): CDK's grant, not ours
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                for action in _as_list(statement["Action"]):
                    service = action.split(":")[0]
                    if service in ("s3", "sagemaker", "dynamodb", "states", "lambda"):
                        assert "*" not in action, f"{name}: {action}"


def test_the_validate_step_knows_both_model_images(synthesized: SynthesizedApp) -> None:
    functions = synthesized.resources("training", "AWS::Lambda::Function")
    (validate,) = [
        f for f in functions.values() if f["Properties"]["Handler"] == "workflow_steps.validate_and_reserve_quota"
    ]
    env = validate["Properties"]["Environment"]["Variables"]
    assert {"PITWALL_TRAINING_IMAGE", "PITWALL_TRAINING_IMAGE_GPU"} <= set(env)
    assert env["PITWALL_TRAINING_IMAGE"] != env["PITWALL_TRAINING_IMAGE_GPU"]
