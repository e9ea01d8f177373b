"""The API Lambda as deployed: its asset + the Powertools layer + the runtime's boto3 only, invoked with
the REST proxy events API Gateway sends for every operation of the OpenAPI document, built from the
synthesized resources and methods (no ``{proxy+}``), with real keys (record + usage-plan key) and
AWS behind moto.

What "valid" answers: every operation's documented 2xx, or a documented 4xx when the request needs
state this harness does not create (a deployed endpoint, model artifacts in S3: collected in
``NEEDS_STATE`` and printed), never 404 for a route, 405 or 5xx. A documented 503 (the lean API
Lambda has no pandas for the lake's data operations) is printed and counted separately.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.deployed import support

MODEL = "race_winner_v1"
# A valid body per request schema of the OpenAPI document (a test checks every schema is here).
VALID_BODIES: dict[str, Any] = {
    "RacePredictRequest": {"race": "monaco_2024"},
    "InstancesPredictRequest": {"instances": [{"start_position": 1}]},
    "ChampionshipRequest": {"season": 2024},
    "DeployRequest": {"version": 1},
    "JobRequest": {"template": "race_winner", "name": "race_winner_v2", "seasons": [2021, 2022, 2023]},
    "PublishRequest": {"model_name": MODEL, "title": "Grid + form winner", "description": "xgboost on grid and form"},
    "ForkRequest": {"new_name": "forked_winner"},
    "RatingRequest": {"stars": 5},
}
# Operations acting on another tenant's listing are sent with the other tenant's key.
OTHER_TENANT = {"market_download", "market_fork", "market_rate"}
# Creating operations first, destructive ones last; the rest in document order between.
FIRST = ["health", "openapi", "start_job", "market_publish"]
LAST = ["market_unpublish", "cancel_job", "undeploy_model", "delete_model"]


def _schema_name(op: dict[str, Any]) -> str | None:
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    ref = schema.get("$ref") or schema.get("oneOf", [{}])[0].get("$ref", "")
    return ref.rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def api(api_function: support.Function, layers: support.Layers, aws: dict[str, Any], read_only_home: Any):
    paths = [api_function.asset_dir, *layers.for_function(api_function), layers.runtime]
    process = support.LambdaProcess(api_function, paths, aws["env"], read_only_home)
    yield process
    process.close()


@pytest.fixture(scope="module")
def registered_model(tenant_key: dict[str, str], synth: support.Synth) -> str:
    """A model version in the registry of the key's tenant (its artifact is not uploaded)."""
    from pitwall.platform.models import register_model

    register_model(
        tenant_key["tenant"],
        MODEL,
        template="race_winner",
        task="ranking",
        algorithm="xgboost",
        features=["start_position"],
        target="winner",
        data_window={"seasons": [2021, 2023]},
        metrics={"log_loss": 0.2},
        baseline_metrics={"log_loss": 0.3},
        artifact_uri="s3://pitwall-dev-models/training-output/acme/model.tar.gz",
        sha256="ab" * 32,
    )
    return MODEL


def _call(
    api: support.LambdaProcess,
    method: support.ApiMethod,
    params: dict[str, str],
    key: dict[str, str] | None,
    body: Any = None,
    api_id: str = "api",
) -> tuple[int, Any]:
    event = support.rest_event(
        method,
        params,
        api_id=api_id,
        api_key=key["key"] if key else None,
        api_key_id=key["key_id"] if key else None,
        body=body,
    )
    return support.response_of(api.invoke(event))


def test_every_request_schema_has_a_valid_body(api: support.LambdaProcess, synth: support.Synth) -> None:
    methods = support.api_methods(synth)
    status, doc = _call(api, methods[("/api/v1/openapi.json", "GET")], {}, None)
    assert status == 200
    schemas = {_schema_name(op) for item in doc["paths"].values() for op in item.values()} - {None}
    assert schemas <= set(VALID_BODIES), sorted(schemas - set(VALID_BODIES))


def test_every_operation_reaches_its_handler(
    api: support.LambdaProcess,
    synth: support.Synth,
    aws: dict[str, Any],
    tenant_key: dict[str, str],
    other_tenant_key: dict[str, str],
    registered_model: str,
) -> None:
    methods = support.api_methods(synth)
    api_id = aws["deployed"].rest_api_id
    status, doc = _call(api, methods[("/api/v1/openapi.json", "GET")], {}, None, api_id=api_id)
    assert status == 200 and doc["openapi"].startswith("3.")
    operations = [(path, verb.upper(), op) for path, item in doc["paths"].items() for verb, op in item.items()]
    assert not [(p, m) for p, m, _ in operations if (p, m) not in methods], "operations without an API method"
    assert len(methods) == len(operations), "API methods that the OpenAPI document does not describe"
    for path, verb, op in operations:
        needs_key = bool(op.get("security"))
        assert methods[(path, verb)].api_key_required is needs_key, (path, verb)

    rank = {name: i for i, name in enumerate(FIRST)} | {name: 1000 + i for i, name in enumerate(LAST)}
    operations.sort(key=lambda o: rank.get(o[2]["operationId"], 500))
    params = {
        "model": registered_model,
        "experiment": registered_model,
        "template": "race_winner",
        "race": "monaco_2024",
        "job_id": "job-missing",
        "listing_id": "listing-missing",
    }
    failures, needs_state = [], []
    for path, verb, op in operations:
        op_id = op["operationId"]
        documented = {int(code) for code in op["responses"]}
        key = other_tenant_key if op_id in OTHER_TENANT else tenant_key if op.get("security") else None
        schema = _schema_name(op)
        body = VALID_BODIES.get(schema) if schema else None
        status, answer = _call(api, methods[(path, verb)], params, key, body, api_id)
        line = f"{verb} {path} ({op_id}) -> {status} {json.dumps(answer)[:200]}"
        # every operation works in the cloud: no 5xx (not even a documented 503), no 404/405 of a route
        if status not in documented or status == 405 or status >= 500:
            failures.append(line)
        elif status >= 400:
            needs_state.append(line)
        if op_id == "start_job" and status == 202:
            params["job_id"] = answer["job_id"]
        if op_id == "market_publish" and status == 202:
            params["listing_id"] = answer["listing_id"]

        if key is not None:  # the same request without a key: 401 from the app (API Gateway: 403 before it)
            no_key, _ = _call(api, methods[(path, verb)], params, None, body, api_id)
            if no_key != 401:
                failures.append(f"{verb} {path} ({op_id}) without a key -> {no_key}")
        if schema is not None and op_id not in ("market_unpublish", "delete_model"):
            invalid, _ = _call(api, methods[(path, verb)], params, key, {"unexpected": []}, api_id)
            if invalid not in documented or invalid < 400 or invalid >= 500:
                failures.append(f"{verb} {path} ({op_id}) with an invalid body -> {invalid}")
    print("\nneeds state the harness does not create:\n  " + "\n  ".join(needs_state))
    print("failures:\n  " + "\n  ".join(failures))
    if failures:
        print("handler log:\n" + api.log_tail())
    assert failures == []


def test_a_started_job_is_a_real_execution_of_the_synthesized_state_machine(
    api: support.LambdaProcess, synth: support.Synth, aws: dict[str, Any], tenant_key: dict[str, str]
) -> None:
    import boto3

    methods = support.api_methods(synth)
    body = {**VALID_BODIES["JobRequest"], "name": "race_winner_v3"}
    status, job = _call(api, methods[("/api/v1/jobs", "POST")], {}, tenant_key, body, aws["deployed"].rest_api_id)
    assert status == 202, job
    sfn = boto3.client("stepfunctions", region_name=support.REGION)
    (arn,) = [a for n, a in aws["deployed"].state_machines.items() if n.endswith("-training")]
    started = [e for e in sfn.list_executions(stateMachineArn=arn)["executions"]]
    inputs = [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in started]
    assert any(i.get("job_id") == job["job_id"] and i.get("tenant_id") == "acme" for i in inputs), inputs


def test_cancelling_a_started_job_stops_its_execution(
    api: support.LambdaProcess, synth: support.Synth, aws: dict[str, Any], tenant_key: dict[str, str]
) -> None:
    import boto3

    methods = support.api_methods(synth)
    body = {**VALID_BODIES["JobRequest"], "name": "race_winner_cancelled"}
    api_id = aws["deployed"].rest_api_id
    status, job = _call(api, methods[("/api/v1/jobs", "POST")], {}, tenant_key, body, api_id)
    assert status == 202, job
    cancel = methods[("/api/v1/jobs/{job_id}/cancel", "POST")]
    status, cancelled = _call(api, cancel, {"job_id": job["job_id"]}, tenant_key, None, api_id)
    assert (status, cancelled["status"]) == (200, "cancelled"), cancelled
    sfn = boto3.client("stepfunctions", region_name=support.REGION)
    (arn,) = [a for n, a in aws["deployed"].state_machines.items() if n.endswith("-training")]
    execution = f"{arn.replace(':stateMachine:', ':execution:')}:{job['job_id']}"
    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"


def test_an_invalid_training_request_is_refused_before_any_quota(
    api: support.LambdaProcess, synth: support.Synth, aws: dict[str, Any], other_tenant_key: dict[str, str]
) -> None:
    methods = support.api_methods(synth)
    api_id = aws["deployed"].rest_api_id
    for bad, field in (
        ({"algorithm": "no_such_algorithm"}, "algorithm"),
        ({"seasons": [1960]}, "seasons"),
        ({"features": ["no_such_feature"]}, "features"),
    ):
        body = {**VALID_BODIES["JobRequest"], "name": "refused", **bad}
        status, answer = _call(api, methods[("/api/v1/jobs", "POST")], {}, other_tenant_key, body, api_id)
        assert (status, answer["error"]["field"]) == (422, field), answer
    from pitwall.platform import quotas
    from pitwall.platform.backend import clear_backend_cache

    clear_backend_cache()
    assert quotas.used_today(other_tenant_key["tenant"], quotas.TRAINING_JOBS) == 0  # refused before any quota
