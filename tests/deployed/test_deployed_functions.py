"""Every synthesized Lambda function, loaded from its asset folder with only what Lambda gives it, and
invoked with the payloads its triggers send: the training state machine's task states (walked along
the synthesized ASL from the input the API's job start really sends), and the EventBridge rules'
events (the RaceIngested event as EventBridge delivers it; the weekly schedule's Scheduled Event).

TrainModel is played by the image's own ``train`` entry point on real F1DB data (its model folder
uploaded where SageMaker puts ``model.tar.gz``), so the walk goes through evaluation and
registration to the success state. What fails the suite is a handler that does not load, fails the
way a packaging problem does (a missing module or variable, a write outside /tmp), or a step that
does not succeed.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.python_lambda import ZIP_FUNCTION_LIMIT_BYTES
from tests.deployed import support

# Errors that mean "not deployable as packaged", never "no state for this request".
PACKAGING_ERRORS = {"ImportError", "ModuleNotFoundError", "NameError", "SyntaxError", "PermissionError", "TypeError"}
STUB_INTERNET = ["feature_jobs.ingest_latest:fastf1_rounds_loader"]  # FastF1's schedule needs the internet


def _packaging_problem(invocation: support.Invocation) -> bool:
    if invocation.ok:
        return False
    text = f"{invocation.error}"
    return (
        invocation.error_type in PACKAGING_ERRORS
        or "Read-only file system" in text
        or (invocation.error_type == "KeyError" and ("PITWALL_" in text or "AWS_" in text))
    )


def _paths(function: support.Function, layers: support.Layers) -> list[Any]:
    if function.image:  # the image: the Dockerfile's context copied in + the packages `pip install .` gives
        return [function.asset_dir, support.image_site_packages()]
    return [function.asset_dir, *layers.for_function(function), layers.runtime]


def _process(function: support.Function, layers: support.Layers, aws: dict[str, Any], home: Any):
    stubs = STUB_INTERNET if function.image else None
    return support.LambdaProcess(function, _paths(function, layers), aws["env"], home, stubs=stubs)


CDK_PROVIDERS = ("AutoDeleteObjects", "CustomCDKBucketDeployment")
"""CDK's own provider functions (bucket auto-delete, s3-deployment): CDK's code, not Pitwall's."""


def _pitwall_functions(functions: list[support.Function]) -> list[support.Function]:
    return [
        f
        for f in functions
        if (f.image or str(f.props.get("Runtime", "")).startswith("python"))
        and not any(p in f.logical_id for p in CDK_PROVIDERS)
    ]


def test_every_function_is_python_or_an_image_and_zips_fit_lambda(
    functions: list[support.Function], layers: support.Layers
) -> None:
    others = [f for f in functions if f not in _pitwall_functions(functions)]
    # CDK's own bucket auto-delete providers (Node.js, inline in CDK's assets) are the only others.
    assert all(any(p in f.logical_id for p in CDK_PROVIDERS) for f in others), [f.name for f in others]
    sizes = {}
    for function in _pitwall_functions(functions):
        if function.image:
            assert list(function.asset_dir.glob("*/Dockerfile")), function.name  # the image's build context
            continue
        assert function.props["Runtime"] == "python3.11", function.name
        size = support.folder_bytes(function.asset_dir) + sum(
            support.folder_bytes(p) for p in layers.for_function(function)
        )
        sizes[function.name] = size
        assert size < ZIP_FUNCTION_LIMIT_BYTES, (function.name, size)
    print("\nunzipped code + layers (MB):", {k: round(v / 2**20, 1) for k, v in sizes.items()})


def test_every_handler_loads_from_its_asset(
    functions: list[support.Function], layers: support.Layers, aws: dict[str, Any], read_only_home: Any
) -> None:
    failures = []
    for function in _pitwall_functions(functions):
        try:
            _process(function, layers, aws, read_only_home).close()
        except AssertionError as exc:
            failures.append(str(exc)[-1500:])
    assert failures == []


# --------------------------------------------------------------------------- Step Functions


def _asl(synth: support.Synth, name: str = "training") -> dict[str, Any]:
    """The ASL of the state machine named ``pitwall-<stage>-<name>`` (training or verification)."""
    resolve = support.Resolver(synth)
    ((stack, _, machine),) = [
        (stack, logical, machine)
        for stack, logical, machine in synth.resources("AWS::StepFunctions::StateMachine")
        if str(resolve(machine["Properties"]["StateMachineName"], stack)).endswith(f"-{name}")
    ]
    return json.loads(resolve(machine["Properties"]["DefinitionString"], stack))


def _by_arn(functions: list[support.Function], synth: support.Synth) -> dict[str, support.Function]:
    resolve = support.Resolver(synth)
    return {resolve.get_att(f.logical_id, "Arn", f.stack): f for f in functions}


def _get(document: Any, path: str) -> Any:
    value = document
    for part in path.removeprefix("$").strip(".").split("."):
        if part:
            if not isinstance(value, dict) or part not in value:
                raise AssertionError(f"{path}: the state has no {part!r} here (keys: {sorted(value)})")
            value = value[part]
    return value


def _set(document: dict[str, Any], path: str | None, value: Any) -> dict[str, Any]:
    if path is None or path == "$":
        return value if isinstance(value, dict) else document
    parts = path.removeprefix("$.").split(".")
    out = json.loads(json.dumps(document))
    target = out
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
    return out


def _render(parameters: Any, state: Any) -> Any:
    """A task's ``Parameters`` rendered over its input (``key.$`` JSON paths)."""
    if isinstance(parameters, dict):
        return {
            (k[:-2] if k.endswith(".$") else k): (_get(state, v) if k.endswith(".$") else _render(v, state))
            for k, v in parameters.items()
        }
    return parameters


def _choose(state: dict[str, Any], data: Any) -> str:
    def holds(rule: dict[str, Any]) -> bool:
        if "And" in rule:
            return all(holds(r) for r in rule["And"])
        return _get(data, rule["Variable"]) == rule["BooleanEquals"]

    return next((rule["Next"] for rule in state.get("Choices", []) if holds(rule)), state["Default"])


def _started_execution_input(synth: support.Synth, api: support.LambdaProcess, aws: dict[str, Any], key: Any) -> Any:
    methods = support.api_methods(synth)
    body = {"template": "race_winner", "name": f"walk_{uuid.uuid4().hex[:6]}", "seasons": [2021, 2022, 2023]}
    event = support.rest_event(
        methods[("/api/v1/jobs", "POST")],
        {},
        api_id=aws["deployed"].rest_api_id,
        api_key=key["key"],
        api_key_id=key["key_id"],
        body=body,
    )
    status, job = support.response_of(api.invoke(event))
    assert status == 202, (status, job)
    sfn = boto3.client("stepfunctions", region_name=support.REGION)
    (arn,) = [a for n, a in aws["deployed"].state_machines.items() if n.endswith("-training")]
    for execution in sfn.list_executions(stateMachineArn=arn)["executions"]:
        data = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
        if data.get("job_id") == job["job_id"]:
            return data
    raise AssertionError(f"no execution started for {job}")


def _seed_lake(functions: list[support.Function]) -> None:
    """Objects where the Store's lake lives (BuildFeatures lists them; their content is not read)."""
    (build,) = [f for f in functions if f.handler.endswith(".build_features") and not f.image]
    env = build.environment
    s3 = boto3.client("s3", region_name=support.REGION)
    for key in [*(f"races/season={s}/data.parquet" for s in (2021, 2022, 2023)), "drivers/data.parquet"]:
        s3.put_object(Bucket=env["PITWALL_BUCKET"], Key=f"{env['PITWALL_PREFIX']}/{key}", Body=b"PAR1" * 256)


def _train_with_the_image(request: dict[str, Any], tmp: pytest.TempPathFactory, shared_data: Path) -> dict[str, Any]:
    """What SageMaker does with TrainModel's request: ``python -m pitwall_image train`` with its
    hyper-parameters on a lake channel (the job's seasons of real F1DB data), then the model folder
    as ``<S3OutputPath>/<job>/output/model.tar.gz``; returns DescribeTrainingJob's fields."""
    from pitwall.data.ingest import ingest_f1db
    from pitwall.data.store import LocalStore

    params = json.loads(request["HyperParameters"].get("params") or "{}")
    root = tmp.mktemp("opt-ml")
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(request["HyperParameters"]))
    ingest_f1db(LocalStore(root / "input" / "data" / "lake"), shared_data / "f1db", seasons=params.get("seasons"))
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PITWALL_MLFLOW_URI")}
    env.update(
        PITWALL_OPT_ML=str(root),
        PITWALL_HOME=str(tmp.mktemp("image-home")),
        PITWALL_BACKEND="local",
        PYTHONPATH=str(support.REPO_ROOT / "training_images"),
        **request.get("Environment", {}),
    )
    env.pop("MLFLOW_TRACKING_URI", None)  # no tracking server here
    done = subprocess.run(
        [sys.executable, "-m", "pitwall_image", "train"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for file in sorted((root / "model").rglob("*")):
            tar.add(file, arcname=str(file.relative_to(root / "model")))
    output = request["OutputDataConfig"]["S3OutputPath"].removeprefix("s3://")
    bucket, _, prefix = output.partition("/")
    key = f"{prefix}/{request['TrainingJobName']}/output/model.tar.gz".lstrip("/")
    boto3.client("s3", region_name=support.REGION).put_object(Bucket=bucket, Key=key, Body=archive.getvalue())
    return {
        "TrainingJobName": request["TrainingJobName"],
        "TrainingJobStatus": "Completed",
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://{bucket}/{key}"},
    }


def test_the_state_machine_walked_with_the_real_step_handlers(
    synth: support.Synth,
    functions: list[support.Function],
    api_function: support.Function,
    layers: support.Layers,
    aws: dict[str, Any],
    tenant_key: dict[str, str],
    read_only_home: Any,
    tmp_path_factory: pytest.TempPathFactory,
    shared_data: Path,
) -> None:
    asl = _asl(synth)
    by_arn = _by_arn(functions, synth)
    processes: dict[str, support.LambdaProcess] = {}
    api = _process(api_function, layers, aws, read_only_home)
    try:
        _seed_lake(functions)
        data = _started_execution_input(synth, api, aws, tenant_key)
        assert "deploy" in data
        data["deploy"] = True  # as a deploying start sends it: the walk also runs DeployModel
        name, visited, domain_errors, failures = asl["StartAt"], [], [], []
        for _ in range(40):
            state = asl["States"][name]
            visited.append(name)
            if state["Type"] in ("Succeed", "Fail"):
                break
            if state["Type"] == "Choice":
                name = _choose(state, data)
                continue
            resource = state["Resource"]
            if ":sagemaker:" in resource:  # what SageMaker does: the image's train entry point
                request = _render(state["Parameters"], data)
                response = _train_with_the_image(request, tmp_path_factory, shared_data)
                selected = _render(state.get("ResultSelector", {}), response)
                data = _set(data, state.get("ResultPath"), selected)
                name = state["Next"]
                continue
            function = by_arn[resource]
            if function.logical_id not in processes:
                processes[function.logical_id] = _process(function, layers, aws, read_only_home)
            payload = _render(state["Parameters"], data) if "Parameters" in state else data
            result = processes[function.logical_id].invoke(payload)
            if _packaging_problem(result):
                failures.append(f"{name}: {result.error_type}: {result.error}\n{result.trace}")
                break
            if result.ok:
                data = _set(data, state.get("ResultPath"), result.result)
                name = state["Next"]
                continue
            domain_errors.append(f"{name}: {result.error_type}: {result.error}")
            catch = state["Catch"][0]
            error = {"Error": result.error_type, "Cause": json.dumps({"errorMessage": result.error})}
            data = _set(data, catch.get("ResultPath"), error)
            name = catch["Next"]
        print("\nwalked:", " -> ".join(visited))
        print("domain errors (state this harness does not create):\n  " + "\n  ".join(domain_errors))
        assert failures == []
        # with a trained artifact every step succeeds: the walk ends in the success state
        assert asl["States"][visited[-1]]["Type"] == "Succeed", visited
        assert "TrainModel" in visited and "DeployModel" in visited and domain_errors == []
    finally:
        api.close()
        for process in processes.values():
            process.close()


# --------------------------------------------------------------------------- EventBridge


def _delivered_race_ingested() -> dict[str, Any]:
    """A RaceIngested published by the real publisher, as EventBridge delivers it (SQS target)."""
    from dataclasses import fields

    from pitwall.data.events import EVENT_SOURCE, RACE_INGESTED, EventBridgePublisher, RaceIngested

    samples = {"season": 2024, "round": 8, "race_id": "2024-08", "source": "f1db", "tables": {"results": 20}}
    samples["races"] = [{"season": 2024, "round": 8, "race_id": "2024-08"}]
    event = RaceIngested(**{f.name: samples[f.name] for f in fields(RaceIngested) if f.name in samples})
    events, sqs = boto3.client("events", region_name=support.REGION), boto3.client("sqs", region_name=support.REGION)
    queue = sqs.create_queue(QueueName=f"harness-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"harness-{uuid.uuid4().hex[:8]}"
    pattern = {"source": [EVENT_SOURCE], "detail-type": [RACE_INGESTED]}
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": queue_arn}])
    EventBridgePublisher(events).publish(event)
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2).get("Messages", [])
    assert messages, "EventBridge delivered nothing"
    return json.loads(messages[0]["Body"])


def _matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    return all(_matches(v, event.get(k, {})) if isinstance(v, dict) else event.get(k) in v for k, v in pattern.items())


def test_every_rule_target_handles_the_event_its_rule_delivers(
    synth: support.Synth,
    functions: list[support.Function],
    layers: support.Layers,
    aws: dict[str, Any],
    platform_env: dict[str, str],
    read_only_home: Any,
) -> None:
    by_arn = _by_arn(functions, synth)
    resolve = support.Resolver(synth)
    race_ingested = _delivered_race_ingested()
    results, failures = [], []
    rules = list(synth.resources("AWS::Events::Rule"))
    assert rules
    for stack, logical_id, rule in rules:
        props = rule["Properties"]
        if "EventPattern" in props and props["EventPattern"].get("detail-type") != ["RaceIngested"]:
            # another event (ModelAlert -> SNS): no Lambda target to run here
            arns = [str(resolve(t["Arn"], stack)) for t in props["Targets"]]
            assert not [a for a in arns if a.startswith("arn:aws:lambda")], (logical_id, arns)
            continue
        if "EventPattern" in props:
            assert _matches(props["EventPattern"], race_ingested), (logical_id, props["EventPattern"])
            event = race_ingested
        else:
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": support.ACCOUNT,
                "time": "2026-12-07T06:00:00Z",
                "region": support.REGION,
                "resources": [f"arn:aws:events:{support.REGION}:{support.ACCOUNT}:rule/{logical_id}"],
                "detail": {},
            }
        for target in props["Targets"]:
            function = by_arn[resolve(target["Arn"], stack)]
            process = _process(function, layers, aws, read_only_home)
            try:
                result = process.invoke(event)
            finally:
                process.close()
            line = f"{logical_id} -> {function.logical_id}: " + (
                json.dumps(result.result, default=str)[:300] if result.ok else f"{result.error_type}: {result.error}"
            )
            results.append(line)
            if not result.ok:
                failures.append(line + "\n" + (result.trace or ""))
    print("\n" + "\n".join(results))
    assert failures == []


def test_the_retrain_function_keeps_a_models_filters_and_auto_features(
    synth: support.Synth,
    functions: list[support.Function],
    layers: support.Layers,
    aws: dict[str, Any],
    platform_env: dict[str, str],
    read_only_home: Any,
) -> None:
    """The synthesized retrain function, given RaceIngested as EventBridge delivers it, submits the
    retrain job of an auto-retrain model trained on two circuits with auto-features with both kept."""
    from pitwall.auto_feature_rules import generated_names
    from pitwall.platform import jobs, keys, models

    tenant = f"retrain-{uuid.uuid4().hex[:6]}"
    keys.create_tenant(tenant, "pro")
    auto = {"base": ["start_position"], "lags": [1], "windows": [3], "relative": []}
    models.register_model(
        tenant,
        "street",
        template="race_winner",
        task="ranking",
        algorithm="conditional_logit",
        features=["start_position", *generated_names(**auto)],
        target="position",
        data_window={"seasons": [2022, 2023]},
        metrics={},
        baseline_metrics={},
        artifact_uri="s3://models/street/1",
        sha256="ab" * 32,
        auto_retrain=True,
        params={"seasons": [2022, 2023], "circuits": ["monaco", "baku"], "auto_features": auto},
    )
    (function,) = [f for f in functions if "workflow_retrain" in f.handler]
    process = _process(function, layers, aws, read_only_home)
    try:
        result = process.invoke(_delivered_race_ingested())
    finally:
        process.close()
    assert result.ok, f"{result.error_type}: {result.error}\n{result.trace}"
    (job,) = jobs.list_jobs(tenant)
    assert job.kind == "retrain" and job.params["seasons"] == [2022, 2023, 2024]
    assert job.params["circuits"] == ["monaco", "baku"] and job.params["auto_features"] == auto


@pytest.fixture(autouse=True)
def _tables(platform_env: dict[str, str]) -> None:
    """The platform tables' names in this process too (the harness reads records the handlers write)."""
