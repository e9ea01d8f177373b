"""The workflow Lambda handlers, called in-process against moto: DynamoDB records through the platform's
Dynamo backend, the real-data lake and model artifact in S3, endpoints in SageMaker."""

from __future__ import annotations

import importlib
import io
import json
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from pitwall.platform import jobs, models, quotas
from pitwall.platform.dynamo_tables import create_tables
from pitwall.platform.records import Principal, Tenant
from pitwall.serving.sagemaker import SERVING_BY_TIER
from tests.functional.workflow.workflow_fixtures import SEASONS, TEMPLATE, build_lake

HANDLERS = Path(__file__).resolve().parents[3] / "functions" / "workflow"
REGION = "us-east-1"
RAW, FEATURES, MODELS = "pitwall-test-raw", "pitwall-test-features", "pitwall-test-models"


@dataclass
class LambdaContext:
    function_name: str = "pitwall-test-step"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:pitwall-test-step"
    aws_request_id: str = "req-1"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    root = tmp_path_factory.mktemp("lake")
    build_lake(root, shared_data)
    return root


def fresh_import(name: str) -> Any:
    """Import a handler module anew, so its module-level clients are created inside the moto mock."""
    if str(HANDLERS) not in sys.path:
        sys.path.insert(0, str(HANDLERS))
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lake: Path):
    for key, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PITWALL_HOME": str(tmp_path),
        "PITWALL_BACKEND": "aws",
        "PITWALL_BUCKET": RAW,
        "PITWALL_PREFIX": "lake",
        "PITWALL_FEATURES_BUCKET": FEATURES,
        "PITWALL_INFERENCE_IMAGE": "123456789012.dkr.ecr.us-east-1.amazonaws.com/pitwall-test-model-image:latest",
        "PITWALL_SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/pitwall-endpoint",
        "POWERTOOLS_SERVICE_NAME": "pitwall-workflow",
        "POWERTOOLS_METRICS_NAMESPACE": "PitwallTest",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        create_tables(boto3.client("dynamodb", region_name=REGION))
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (RAW, FEATURES, MODELS):
            s3.create_bucket(Bucket=bucket)
        for path in sorted(lake.rglob("*.parquet")):
            s3.upload_file(str(path), RAW, f"lake/{path.relative_to(lake).as_posix()}")
        s3.put_object(Bucket=RAW, Key="lake/_staging/tx1/races/season=2023/data.parquet", Body=b"half-written")
        yield fresh_import("workflow_steps"), s3


def submit(module: Any, tier: str = "free", **params: Any) -> str:
    backend = module.PORTS.backend
    backend.ensure_tenant(Tenant(tenant_id="acme", tier=tier, created_at="2026-01-01T00:00:00+00:00"))
    principal = Principal(tenant_id="acme", tier=tier)
    job = jobs.submit_job(
        principal,
        model_name="winner",
        template=TEMPLATE,
        params={"algorithm": "linear", "seasons": SEASONS, **params},
        backend=backend,
    )
    return job.job.job_id


def put_artifact(s3: Any, training_job_name: str, mae: float) -> str:
    """What SageMaker leaves after training: output/model.tar.gz holding metadata.json."""
    metadata = {
        "template": TEMPLATE,
        "task": "regression",
        "target": "position",
        "algorithm": "linear",
        "features": ["start_position"],
        "params": {},
        "data_window": {"seasons": SEASONS},
        "metric": "mae",
        "direction": "minimize",
        "metrics": {"test_mae": mae},
    }
    body = json.dumps(metadata).encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("metadata.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    key = f"training-output/{training_job_name}/output/model.tar.gz"
    s3.put_object(Bucket=MODELS, Key=key, Body=archive.getvalue())
    return f"s3://{MODELS}/{key}"


def used(module: Any) -> int:
    return quotas.used_today("acme", quotas.TRAINING_JOBS, backend=module.PORTS.backend)


def test_steps_train_register_and_deploy_a_serverless_endpoint(aws) -> None:
    module, s3 = aws
    ctx = LambdaContext()
    job_id = submit(module)
    state: dict[str, Any] = {"tenant_id": "acme", "job_id": job_id, "deploy": True}
    state["job"] = module.validate_and_reserve_quota(state, ctx)
    assert state["job"]["instance_type"] == "ml.m5.large" and state["job"]["max_runtime_seconds"] == 3600
    state["features"] = module.build_features(state, ctx)
    assert state["features"]["uri"] == f"s3://{FEATURES}/manifests/{job_id}.json"
    assert state["features"]["seasons"] == SEASONS and state["features"]["total_bytes"] > 10_000
    manifest = json.loads(s3.get_object(Bucket=FEATURES, Key=f"manifests/{job_id}.json")["Body"].read())
    assert manifest[0] == {"prefix": f"s3://{RAW}/lake/"}
    assert {"races/season=2022/data.parquet", "results/season=2023/data.parquet"} <= set(manifest[1:])
    assert "drivers/data.parquet" in manifest[1:]
    assert not [key for key in manifest[1:] if key.startswith("_staging")]
    assert jobs.get_job("acme", job_id, backend=module.PORTS.backend).status == "running"
    name = state["job"]["training_job_name"]
    state["training"] = {"model_artifacts": put_artifact(s3, name, 3.1), "training_job_name": name}
    state["evaluation"] = module.evaluate_challenger(state, ctx)
    assert state["evaluation"]["not_worse_than_champion"] is True and state["evaluation"]["value"] == 3.1
    state["registration"] = module.register_model(state, ctx)
    assert state["registration"]["version"] == 1 and state["registration"]["deploy_follows"] is True
    assert module.register_model(state, ctx)["version"] == 1  # a retried step registers nothing new
    deployment = module.deploy_model(state, ctx)
    assert deployment["status"] == "deployed" and deployment["backend"] == "sagemaker" and deployment["version"] == 1

    sagemaker = boto3.client("sagemaker", region_name=REGION)
    endpoint = sagemaker.describe_endpoint(EndpointName=deployment["endpoint"])
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    free = SERVING_BY_TIER["free"]
    assert config["ProductionVariants"][0]["ServerlessConfig"]["MemorySizeInMB"] == free.memory_size_mb
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["ModelDataUrl"] == state["training"]["model_artifacts"]
    assert model["PrimaryContainer"]["Environment"]["PITWALL_MODEL_SHA256"] == state["evaluation"]["sha256"]
    assert module.deploy_model(state, ctx) == deployment  # retried: idempotent
    assert len(sagemaker.list_endpoints()["Endpoints"]) == 1
    job = jobs.get_job("acme", job_id, backend=module.PORTS.backend)
    assert job.status == "succeeded" and job.result["endpoint_name"] == deployment["endpoint"]
    assert models.get_model("acme", "winner", backend=module.PORTS.backend).deployed_version == 1


def test_failure_handler_releases_a_queued_jobs_quota(aws) -> None:
    module, _ = aws
    job_id = submit(module, seasons=[2015])
    assert used(module) == 1
    state = {"tenant_id": "acme", "job_id": job_id, "deploy": False}
    state["job"] = module.validate_and_reserve_quota(state, LambdaContext())
    from pitwall.workflow.errors import StepFailed

    with pytest.raises(StepFailed, match=r"no data for seasons \[2015\]"):
        module.build_features(state, LambdaContext())
    state["error"] = {"Error": "StepFailed", "Cause": "no data for seasons [2015]"}
    result = module.release_quota_and_record_failure(state, LambdaContext())
    assert result == {"released": True, "recorded": True, "error": "StepFailed", "cause": "no data for seasons [2015]"}
    assert jobs.get_job("acme", job_id, backend=module.PORTS.backend).status == "failed"
    assert used(module) == 0


def test_bad_input_names_the_field(aws) -> None:
    module, _ = aws
    from pitwall.errors import NotFound, ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        module.validate_and_reserve_quota({"tenant_id": "acme", "job_id": "a/b"}, LambdaContext())
    assert info.value.field == "job_id"
    with pytest.raises(NotFound, match="tenant 'ghost' not found"):
        module.validate_and_reserve_quota({"tenant_id": "ghost", "job_id": "job-1"}, LambdaContext())


def test_dynamodb_throttling_becomes_a_retryable_error(aws) -> None:
    module, _ = aws
    job_id = submit(module)
    with Stubber(module.DYNAMODB) as stub:
        stub.add_client_error("get_item", service_error_code="ProvisionedThroughputExceededException")
        with pytest.raises(Exception) as info:
            module.validate_and_reserve_quota({"tenant_id": "acme", "job_id": job_id}, LambdaContext())
    assert type(info.value).__name__ == "ThrottlingException"  # the name the state machine's Retry matches


def test_race_ingested_starts_retraining_once(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    module, s3 = aws
    backend = module.PORTS.backend
    backend.ensure_tenant(Tenant(tenant_id="acme", tier="pro", created_at="2026-01-01T00:00:00+00:00"))
    models.register_model(
        "acme",
        "winner",
        template=TEMPLATE,
        task="ranking",
        algorithm="linear",
        features=["start_position"],
        target="position",
        data_window={"seasons": SEASONS},
        metrics={"test_mae": 3.0},
        baseline_metrics={},
        artifact_uri=f"s3://{MODELS}/m.tar.gz",
        sha256="0" * 64,
        auto_retrain=True,
        backend=backend,
    )
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name="pitwall-test-training",
        definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    monkeypatch.setenv("PITWALL_TRAINING_STATE_MACHINE_ARN", machine)
    retrain = fresh_import("workflow_retrain")
    event = {
        "detail-type": "RaceIngested",
        "source": "pitwall.data",
        "detail": {"season": 2024, "round": 8, "race_id": "2024-08"},
    }
    first = retrain.start_retraining(event, LambdaContext())
    (outcome,) = first["outcomes"]
    assert outcome["status"] == "started" and outcome["model_name"] == "winner"
    job = jobs.get_job("acme", outcome["job_id"], backend=retrain.BACKEND)
    assert job.kind == "retrain" and job.params["seasons"] == [*SEASONS, 2024]
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [e["name"] for e in executions] == [outcome["job_id"]]
    retrain.start_retraining(event, LambdaContext())  # redelivered event
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1
    assert len(jobs.list_jobs("acme", backend=retrain.BACKEND)) == 1
