"""Honest deploy and cancel on AWS, with SageMaker and Step Functions played by botocore's Stubber
(moto makes endpoints InService at once and does not implement UpdateEndpoint or StopTrainingJob):

- a new endpoint is ``deploying`` while Creating, ``deployed`` once InService (reconciled on read);
- the workflow's DeployModel waits for InService;
- a failed UpdateEndpoint (SageMaker rolls back) puts the registry back on the version still served;
- cancelling a job stops its Step Functions execution and its SageMaker training job.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from pitwall.platform import jobs, keys, models
from pitwall.platform.records import Principal
from pitwall.serving.deploy import DeploymentService
from pitwall.serving.errors import EndpointError
from pitwall.serving.sagemaker import SageMakerServing, sagemaker_name
from pitwall.workflow.launchers import StepFunctionsJobLauncher

REGION = "us-east-1"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
PRO = Principal(tenant_id="acme", tier="pro")
ARN = f"arn:aws:sagemaker:{REGION}:123456789012"


def _missing(stubber: Stubber, method: str) -> None:
    stubber.add_client_error(method, "ValidationException", "Could not find it", 400)


def _endpoint(status: str, config: str, failure: str | None = None) -> dict[str, Any]:
    out = {
        "EndpointName": sagemaker_name("acme", "winner"),
        "EndpointArn": f"{ARN}:endpoint/x",
        "EndpointConfigName": config,
        "EndpointStatus": status,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }
    if failure:
        out["FailureReason"] = failure
    return out


def _serving_version(stubber: Stubber, version: int) -> None:
    """describe_endpoint_config -> describe_model of the config serving ``version``."""
    model = sagemaker_name("acme", "winner", f"v{version}")
    stubber.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": "c",
            "EndpointConfigArn": f"{ARN}:endpoint-config/c",
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": model}],
            "CreationTime": NOW,
        },
    )
    stubber.add_response(
        "describe_model",
        {
            "ModelName": model,
            "ModelArn": f"{ARN}:model/{model}",
            "CreationTime": NOW,
            "PrimaryContainer": {"Image": "img", "Environment": {"PITWALL_MODEL_VERSION": str(version)}},
        },
    )


def _prepare_new_version(stubber: Stubber) -> None:
    _missing(stubber, "describe_model")
    stubber.add_response("create_model", {"ModelArn": f"{ARN}:model/m"})
    _missing(stubber, "describe_endpoint_config")
    stubber.add_response("create_endpoint_config", {"EndpointConfigArn": f"{ARN}:endpoint-config/c"})


def _config(version: int) -> str:
    return sagemaker_name("acme", "winner", f"v{version}", "pro")


def _register(version_count: int) -> None:
    keys.create_key("acme", "pro")
    for _ in range(version_count):
        models.register_model(
            "acme",
            "winner",
            template="race_winner",
            task="ranking",
            algorithm="xgboost",
            features=["start_position"],
            target="winner",
            data_window={"seasons": [2023]},
            metrics={"log_loss": 0.2},
            baseline_metrics={"log_loss": 0.3},
            artifact_uri="s3://models/acme/winner/model.tar.gz",
            sha256="ab" * 32,
        )


@pytest.fixture
def sagemaker() -> tuple[SageMakerServing, Stubber]:
    client = boto3.client("sagemaker", region_name=REGION)
    serving = SageMakerServing(
        role_arn="arn:aws:iam::1:role/r", image_uri="img", sagemaker_client=client, sleep=lambda s: None
    )
    return serving, Stubber(client)


def test_a_new_endpoint_is_deploying_until_in_service(sagemaker: tuple[SageMakerServing, Stubber]) -> None:
    serving, stubber = sagemaker
    _register(1)
    _prepare_new_version(stubber)
    _missing(stubber, "describe_endpoint")
    stubber.add_response("create_endpoint", {"EndpointArn": f"{ARN}:endpoint/x"})
    stubber.add_response("describe_endpoint", _endpoint("Creating", _config(1)))  # the API's one describe
    stubber.add_response("describe_endpoint", _endpoint("Creating", _config(1)))  # a read while creating
    stubber.add_response("describe_endpoint", _endpoint("InService", _config(1)))  # a read once in service
    _serving_version(stubber, 1)
    service = DeploymentService(serving)
    with stubber:
        first = service.deploy(PRO, "winner", 1)
        assert (first.status, first.version) == ("deploying", 1)
        assert service.refresh(PRO, "winner").status == "deploying"  # a read (GET model) describes the endpoint
        done = service.reconcile(PRO, "winner")
        stubber.assert_no_pending_responses()
    assert (done.status, done.version) == ("deployed", 1)
    assert models.get_model("acme", "winner").deployed_version == 1


def test_the_workflow_deploy_waits_for_in_service(sagemaker: tuple[SageMakerServing, Stubber]) -> None:
    serving, stubber = sagemaker
    _register(1)
    _prepare_new_version(stubber)
    _missing(stubber, "describe_endpoint")
    stubber.add_response("create_endpoint", {"EndpointArn": f"{ARN}:endpoint/x"})
    stubber.add_response("describe_endpoint", _endpoint("Creating", _config(1)))
    stubber.add_response("describe_endpoint", _endpoint("Creating", _config(1)))
    stubber.add_response("describe_endpoint", _endpoint("InService", _config(1)))
    _serving_version(stubber, 1)
    with stubber:
        deployment = DeploymentService(serving).deploy(PRO, "winner", 1, wait=True)
        stubber.assert_no_pending_responses()
    assert (deployment.status, deployment.version) == ("deployed", 1)


def test_a_failed_update_puts_the_record_back_on_the_version_serving(
    sagemaker: tuple[SageMakerServing, Stubber],
) -> None:
    serving, stubber = sagemaker
    _register(2)
    models.deploy_model(PRO, "winner", 1)  # version 1 serves
    _prepare_new_version(stubber)
    stubber.add_response("describe_endpoint", _endpoint("InService", _config(1)))
    stubber.add_response("update_endpoint", {"EndpointArn": f"{ARN}:endpoint/x"})
    stubber.add_response("describe_endpoint", _endpoint("Updating", _config(1)))
    stubber.add_response("describe_endpoint", _endpoint("InService", _config(1), failure="health check failed"))
    _serving_version(stubber, 1)  # SageMaker rolled back: version 1's config still serves
    with stubber, pytest.raises(EndpointError) as caught:
        DeploymentService(serving).deploy(PRO, "winner", 2, wait=True)
    assert "health check failed" in caught.value.message and "version 1 serves" in caught.value.message
    assert models.get_model("acme", "winner").deployed_version == 1


def test_cancel_stops_the_execution_and_the_training_job() -> None:
    from pitwall.api.jobs import cancel_job

    keys.create_key("acme", "pro")
    machine = f"arn:aws:states:{REGION}:123456789012:stateMachine:pitwall-dev-training"
    sfn, sm = boto3.client("stepfunctions", region_name=REGION), boto3.client("sagemaker", region_name=REGION)
    job = jobs.submit_job(PRO, model_name="winner", template="race_winner", params={"seasons": [2023]}).job
    launcher = StepFunctionsJobLauncher(machine, client=sfn)
    with Stubber(sfn) as sfn_stub, Stubber(sm) as sm_stub:
        sfn_stub.add_response(
            "stop_execution",
            {"stopDate": NOW},
            {"executionArn": launcher.execution_arn(job), "cause": "cancelled by the tenant"},
        )
        sm_stub.add_response("stop_training_job", {}, {"TrainingJobName": sagemaker_name("acme", job.job_id)})
        original = launcher.cancel
        launcher.cancel = lambda j: original(j, sagemaker_client=sm)  # type: ignore[method-assign]
        cancelled = cancel_job(PRO, job.job_id, launcher=launcher, records=jobs_backend())
        sfn_stub.assert_no_pending_responses()
        sm_stub.assert_no_pending_responses()
    assert cancelled.status == "cancelled"
    assert launcher.execution_arn(job).endswith(f":execution:pitwall-dev-training:{job.job_id}")


def jobs_backend() -> Any:
    from pitwall.platform.backend import get_backend

    return get_backend()
