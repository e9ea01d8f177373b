"""The same Chalice app on the AWS backends, in-process with ``chalice.test.Client`` + moto:
DynamoDB platform records, SageMaker endpoints, Step Functions training executions.

moto limits (``/work/shared/docs/local-aws-facts.md``): ``UpdateEndpoint`` is not implemented
(the redeploy path is checked with botocore's Stubber below) and ``InvokeEndpoint`` returns
canned bodies, which these tests queue through moto's runtime backend.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from chalice.config import Config
from chalice.local import LocalGateway
from chalice.test import Client
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemakerruntime.models import sagemakerruntime_backends

from pitwall.api.app import app
from pitwall.api.services import set_services
from pitwall.errors import QuotaExceeded
from pitwall.platform import keys, models, quotas
from pitwall.platform.backend import clear_backend_cache
from pitwall.platform.dynamo_tables import create_tables
from pitwall.platform.records import Principal
from pitwall.serving.deploy import DeploymentService, SageMakerServing, reset_default_service
from pitwall.workflow.steps import sagemaker_name

REGION = "us-east-1"
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/pitwall-sagemaker"
IMAGE = f"{DEFAULT_ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/pitwall-inference:1"
SHA = "ab" * 32
ANSWER = {
    "template": "race_winner",
    "kind": "ranking",
    "top_k": 1,
    "race": {"race_id": "2024-08", "season": 2024, "round": 8, "grand_prix_id": "monaco"},
    "predictions": [
        {"driver_id": "charles-leclerc", "race_id": "2024-08", "rank": 1, "score": 0.6, "probability": 0.6},
        {"driver_id": "oscar-piastri", "race_id": "2024-08", "rank": 2, "score": 0.4, "probability": 0.4},
    ],
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, serialised_dynamodb: Any) -> Iterator[dict[str, Any]]:
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "PITWALL_BACKEND": "aws",
        "PITWALL_SAGEMAKER_ROLE_ARN": ROLE,
        "PITWALL_INFERENCE_IMAGE": IMAGE,
    }.items():
        monkeypatch.setenv(var, value)
    with mock_aws(), serialised_dynamodb():
        create_tables(boto3.client("dynamodb", region_name=REGION))
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="pitwall-training",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/sfn",
        )["stateMachineArn"]
        monkeypatch.setenv("PITWALL_TRAINING_STATE_MACHINE_ARN", machine)
        clear_backend_cache()
        reset_default_service()
        set_services(None)
        yield {
            "sm": boto3.client("sagemaker", region_name=REGION),
            "sfn": sfn,
            "machine": machine,
            "client": Client(app),
        }
        set_services(None)
        reset_default_service()
        clear_backend_cache()


def _register(tenant: str, name: str, uri: str = "s3://pitwall-models/acme/rw/1/model.tar.gz") -> Any:
    return models.register_model(
        tenant,
        name,
        template="race_winner",
        task="ranking",
        algorithm="xgboost",
        features=["start_position", "quali_gap_to_pole"],
        target="position",
        data_window={"seasons": [2022, 2023]},
        metrics={"test_log_loss": 0.2},
        baseline_metrics={"test_log_loss": 0.3},
        artifact_uri=uri,
        sha256=SHA,
    )


def _call(client: Client, method: str, path: str, key: str | None, body: Any = None) -> Any:
    headers = {"content-type": "application/json"}
    if key:
        headers["x-api-key"] = key
    raw = b"" if body is None else json.dumps(body).encode()
    return getattr(client.http, method)(path, headers=headers, body=raw)


def _queue_endpoint_answer(body: bytes) -> None:
    backend = sagemakerruntime_backends[DEFAULT_ACCOUNT_ID][REGION]
    backend.results_queue.append((body.decode(), "application/json", "AllTraffic", ""))


def test_health_reports_the_aws_backend_and_keys_live_in_dynamodb(aws: dict[str, Any]) -> None:
    client = aws["client"]
    health = _call(client, "get", "/api/v1/health", None)
    assert health.json_body == {"status": "ok", "version": "1.0.0", "backend": "aws"}
    assert _call(client, "get", "/api/v1/models", None).status_code == 401
    key = keys.create_key("acme", "free")
    assert _call(client, "get", "/api/v1/models", key).json_body == {"models": []}
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName="pitwall-tenants")["Items"]
    assert any(i["pk"]["S"] == "TENANT#acme" for i in items)


def test_deploy_predict_undeploy_on_sagemaker(aws: dict[str, Any]) -> None:
    client, sm = aws["client"], aws["sm"]
    free, pro = keys.create_key("acme", "free"), keys.create_key("bigteam", "pro")
    _register("acme", "rw")
    _register("bigteam", "rw", "s3://pitwall-models/bigteam/rw/1/model.tar.gz")

    deployed = _call(client, "post", "/api/v1/models/rw/deploy", free)
    assert deployed.status_code == 200, deployed.body
    endpoint = sagemaker_name("acme", "rw")
    assert deployed.json_body == {
        "model": "rw",
        "version": 1,
        "backend": "sagemaker",
        "endpoint": endpoint,
        "status": "deployed",
    }
    described = sm.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "InService"
    config = sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    variant = config["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}  # Free: serverless
    container = sm.describe_model(ModelName=variant["ModelName"])["PrimaryContainer"]
    assert container["ModelDataUrl"] == "s3://pitwall-models/acme/rw/1/model.tar.gz"
    assert container["Image"] == IMAGE and container["Environment"]["PITWALL_MODEL_VERSION"] == "1"

    assert _call(client, "post", "/api/v1/models/rw/deploy", pro).status_code == 200
    pro_endpoint = sm.describe_endpoint(EndpointName=sagemaker_name("bigteam", "rw"))
    pro_variant = sm.describe_endpoint_config(EndpointConfigName=pro_endpoint["EndpointConfigName"])[
        "ProductionVariants"
    ][0]
    assert (pro_variant["InstanceType"], pro_variant["InitialInstanceCount"]) == ("ml.m5.large", 1)  # Pro

    _queue_endpoint_answer(json.dumps(ANSWER).encode())
    answer = _call(client, "post", "/api/v1/predict/rw", free, {"race": "monaco_2024"})
    assert answer.status_code == 200, answer.body
    assert answer.json_body["model"] == "rw" and answer.json_body["version"] == 1
    assert [p["driver_id"] for p in answer.json_body["predictions"]] == ["charles-leclerc", "oscar-piastri"]

    # moto's default canned body is not JSON: the API answers 502, not a 500 or a trace
    garbage = _call(client, "post", "/api/v1/predict/rw", free, {"race": "2024-09"})
    assert (garbage.status_code, garbage.json_body["error"]["code"]) == (502, "endpoint_error")

    undeployed = _call(client, "post", "/api/v1/models/rw/undeploy", free)
    assert undeployed.json_body["status"] == "undeployed"
    # acme's endpoint, config and model are gone; bigteam's remain
    left = sagemaker_name("bigteam", "rw")
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == [left]
    assert [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]] == [
        sagemaker_name("bigteam", "rw", "v1", "pro")
    ]
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == [sagemaker_name("bigteam", "rw", "v1")]
    after = _call(client, "post", "/api/v1/predict/rw", free, {"race": "monaco_2024"})
    assert (after.status_code, after.json_body["error"]["code"]) == (409, "model_not_deployed")


def test_tenant_isolation_and_free_limits_on_aws(aws: dict[str, Any]) -> None:
    client, sm = aws["client"], aws["sm"]
    free, other = keys.create_key("acme", "free"), keys.create_key("rival", "free")
    for i in range(4):
        _register("acme", f"m{i}", f"s3://pitwall-models/acme/m{i}/1/model.tar.gz")
    assert _call(client, "get", "/api/v1/models/m0", other).status_code == 404
    assert _call(client, "post", "/api/v1/models/m0/deploy", other).status_code == 404
    assert _call(client, "post", "/api/v1/predict/m0", other, {"race": "monaco_2024"}).status_code == 404
    for i in range(3):
        assert _call(client, "post", f"/api/v1/models/m{i}/deploy", free).status_code == 200
    refused = _call(client, "post", "/api/v1/models/m3/deploy", free)
    assert (refused.status_code, refused.json_body["error"]["code"]) == (429, "deployed_models_limit")
    names = {e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]}
    assert sagemaker_name("acme", "m3") not in names and len(names) == 3  # nothing created for the refusal
    local = _register("acme", "local-only", "file:///tmp/model")
    assert local.version == 1
    assert _call(client, "post", "/api/v1/models/m0/undeploy", free).status_code == 200
    not_s3 = _call(client, "post", "/api/v1/models/local-only/deploy", free)
    assert (not_s3.status_code, not_s3.json_body["error"]["code"]) == (409, "artifact_not_in_s3")


def test_fifty_parallel_job_starts_on_dynamodb_accept_exactly_five(aws: dict[str, Any]) -> None:
    """50 threads through the Chalice app's local gateway (``chalice.test.Client`` swaps
    ``os.environ`` per request, which is not thread-safe, so the threads use the gateway it wraps)."""
    sfn = aws["sfn"]
    gateway = LocalGateway(app, Config.create())
    free = keys.create_key("acme", "free")
    body = {"template": "race_winner", "name": "rw", "seasons": [2022, 2023]}

    def start(i: int) -> dict[str, Any]:
        return gateway.handle_request(
            method="POST",
            path="/api/v1/jobs",
            headers={"x-api-key": free, "content-type": "application/json"},
            body=json.dumps({**body, "name": f"rw{i}"}).encode(),
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(start, range(50)))
    assert Counter(a["statusCode"] for a in answers) == {202: 5, 429: 45}
    for refused in (a for a in answers if a["statusCode"] == 429):
        assert json.loads(refused["body"])["error"]["code"] == "training_jobs_quota_exceeded"
        assert int(refused["headers"]["Retry-After"]) >= 1
    assert quotas.used_today("acme", quotas.TRAINING_JOBS) == 5
    executions = sfn.list_executions(stateMachineArn=aws["machine"])["executions"]
    accepted = {json.loads(a["body"])["job_id"] for a in answers if a["statusCode"] == 202}
    assert {e["name"] for e in executions} == accepted
    started = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    request = json.loads(started["input"])
    # the execution input names the job; the job record holds the request (pitwall.workflow.request)
    assert set(request) == {"tenant_id", "job_id", "deploy"} and request["tenant_id"] == "acme"
    bad = {"template": "race_winner", "name": "x", "algorithm": "no_such_algorithm"}
    refused = _call(aws["client"], "post", "/api/v1/jobs", free, bad)
    assert (refused.status_code, refused.json_body["error"]["field"]) == (422, "algorithm")
    assert quotas.used_today("acme", quotas.TRAINING_JOBS) == 5  # refused before any quota is taken


def _stubbed() -> tuple[SageMakerServing, Stubber, Stubber]:
    sm = boto3.client("sagemaker", region_name=REGION)
    rt = boto3.client("sagemaker-runtime", region_name=REGION)
    return (
        SageMakerServing(role_arn=ROLE, image_uri=IMAGE, sagemaker_client=sm, runtime_client=rt),
        Stubber(sm),
        Stubber(rt),
    )


def test_redeploy_updates_the_endpoint_in_place(aws: dict[str, Any]) -> None:
    """UpdateEndpoint (blue/green in SageMaker) is what makes a redeploy seamless; moto lacks it."""
    principal = Principal("acme", "free", "k")
    keys.create_tenant("acme", "free")
    _register("acme", "rw")
    v2 = _register("acme", "rw", "s3://pitwall-models/acme/rw/2/model.tar.gz")
    models.deploy_model(principal, "rw", 1)
    serving, sm, _ = _stubbed()
    endpoint = sagemaker_name("acme", "rw")
    model_v2, config_v2 = sagemaker_name("acme", "rw", "v2"), sagemaker_name("acme", "rw", "v2", "free")
    config_v1 = sagemaker_name("acme", "rw", "v1", "free")
    missing = {"service_error_code": "ValidationException", "service_message": "Could not find model"}
    sm.add_client_error("describe_model", expected_params={"ModelName": model_v2}, **missing)
    sm.add_response("create_model", {"ModelArn": f"arn:aws:sagemaker:{REGION}:{DEFAULT_ACCOUNT_ID}:model/m"})
    sm.add_client_error(
        "describe_endpoint_config",
        expected_params={"EndpointConfigName": config_v2},
        service_error_code="ValidationException",
        service_message="Could not find endpoint configuration",
    )
    sm.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:{DEFAULT_ACCOUNT_ID}:endpoint-config/c"},
    )
    sm.add_response(
        "describe_endpoint",
        {
            "EndpointName": endpoint,
            "EndpointArn": f"arn:aws:sagemaker:{REGION}:{DEFAULT_ACCOUNT_ID}:endpoint/e",
            "EndpointConfigName": config_v1,
            "EndpointStatus": "InService",
            "CreationTime": "2026-01-01T00:00:00Z",
            "LastModifiedTime": "2026-01-01T00:00:00Z",
        },
        {"EndpointName": endpoint},
    )
    sm.add_response(
        "update_endpoint",
        {"EndpointArn": f"arn:aws:sagemaker:{REGION}:{DEFAULT_ACCOUNT_ID}:endpoint/e"},
        {"EndpointName": endpoint, "EndpointConfigName": config_v2},
    )
    sm.add_response(  # the one describe after the change: the blue/green update is under way
        "describe_endpoint",
        {
            "EndpointName": endpoint,
            "EndpointArn": f"arn:aws:sagemaker:{REGION}:{DEFAULT_ACCOUNT_ID}:endpoint/e",
            "EndpointConfigName": config_v1,
            "EndpointStatus": "Updating",
            "CreationTime": "2026-01-01T00:00:00Z",
            "LastModifiedTime": "2026-01-01T00:00:00Z",
        },
        {"EndpointName": endpoint},
    )
    with sm:
        result = DeploymentService(serving).deploy(principal, "rw", v2.version)
        sm.assert_no_pending_responses()
    assert (result.version, result.endpoint, result.status) == (2, endpoint, "deploying")
    assert models.get_model("acme", "rw").deployed_version == 2


def test_a_refused_flip_rolls_the_new_endpoint_back(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """If the registry refuses the deploy after the endpoint was created (a concurrent deploy
    took the last Free slot), the endpoint is deleted again."""
    principal = Principal("acme", "free", "k")
    keys.create_tenant("acme", "free")
    _register("acme", "rw")
    sm = aws["sm"]

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise quotas.deployed_limit_error("free")

    monkeypatch.setattr(models, "deploy_model", refuse)
    with pytest.raises(QuotaExceeded):
        DeploymentService(SageMakerServing()).deploy(principal, "rw")
    assert sm.list_endpoints()["Endpoints"] == []
