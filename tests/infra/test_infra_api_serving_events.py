"""API, serving, events and tracking stacks: usage plans from TIERS, API keys required, tables with
PITR/encryption, deploy permissions scoped to pitwall-*, schedules and rules wired to their targets."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match

from infra.stacks.serving_stack import DEPLOY_ACTIONS
from infra.stacks.tracking_stack import TRACKING_SERVER_SIZE
from pitwall.data.events import EVENT_SOURCE, RACE_INGESTED
from pitwall.platform.dynamo_tables import TABLES
from pitwall.platform.tiers import TIERS
from pitwall.serving.sagemaker import SERVING_BY_TIER
from tests.infra.asl import intrinsic_to_text
from tests.infra.conftest import SynthesizedApp


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_usage_plans_come_from_the_tier_table(synthesized: SynthesizedApp) -> None:
    plans = {
        p["Properties"]["UsagePlanName"]: p["Properties"]
        for p in synthesized.resources("api", "AWS::ApiGateway::UsagePlan").values()
    }
    assert set(plans) == {f"pitwall-dev-{name}-plan" for name in TIERS}
    for name, tier in TIERS.items():
        plan = plans[f"pitwall-dev-{name}-plan"]
        assert plan["Throttle"] == {"RateLimit": tier.requests_per_second, "BurstLimit": tier.burst}
        assert plan["Quota"] == {"Limit": tier.requests_per_day, "Period": "DAY"}
        (stage_id,) = synthesized.resources("api", "AWS::ApiGateway::Stage")
        assert plan["ApiStages"][0]["Stage"] == {"Ref": stage_id}


def _resource_paths(resources: dict[str, dict[str, Any]], rest_api: str) -> dict[str, str]:
    """Logical id of each AWS::ApiGateway::Resource -> its full path (the root resource is '/')."""
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            props = resources[logical_id]["Properties"]
            parent = props["ParentId"]
            base = "" if "Fn::GetAtt" in parent else path_of(parent["Ref"])
            paths[logical_id] = f"{base}/{props['PathPart']}"
        return paths[logical_id]

    for logical_id in resources:
        path_of(logical_id)
    return paths


def test_one_method_per_chalice_route_with_the_routes_key_requirement(synthesized: SynthesizedApp) -> None:
    """No {proxy+}: Chalice dispatches on the resource path, so each route needs its own resource."""
    from infra.chalice_routes import routes_of_project
    from infra.config import REPO_ROOT

    routes = routes_of_project(REPO_ROOT / "functions" / "api")
    assert len(routes) >= 17
    resources = synthesized.resources("api", "AWS::ApiGateway::Resource")
    paths = _resource_paths(resources, "RestApi")
    assert not any("{proxy+}" in path for path in paths.values())
    methods = synthesized.resources("api", "AWS::ApiGateway::Method")
    deployed = {
        (paths[m["Properties"]["ResourceId"]["Ref"]], m["Properties"]["HttpMethod"]): m["Properties"]
        for m in methods.values()
    }
    assert set(deployed) == {(r.path, r.method) for r in routes}
    for route in routes:
        method = deployed[(route.path, route.method)]
        assert method["ApiKeyRequired"] is route.api_key_required, route
        assert method["Integration"]["Type"] == "AWS_PROXY"
    open_routes = {r.path for r in routes if not r.api_key_required}
    assert open_routes == {"/api/v1/health", "/api/v1/openapi.json"}
    (permission,) = synthesized.resources("api", "AWS::Lambda::Permission").values()  # one for all routes
    assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    assert intrinsic_to_text(permission["Properties"]["SourceArn"]).endswith("/dev/*/*")
    api_fn = [
        f
        for f in synthesized.resources("api", "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "app.app"
    ]
    assert len(api_fn) == 1
    env = api_fn[0]["Properties"]["Environment"]["Variables"]
    assert env["PITWALL_USAGE_PLAN_NAME_FREE"] == "pitwall-dev-free-plan"
    assert env["PITWALL_USAGE_PLAN_NAME_PRO"] == "pitwall-dev-pro-plan"
    assert env["PITWALL_BACKEND"] == "aws"
    assert env["PITWALL_PREFIX"] == "lake" and env["PITWALL_GLUE_DATABASE"] == "pitwall_dev"
    assert {"PITWALL_INFERENCE_IMAGE", "PITWALL_SAGEMAKER_ROLE_ARN", "PITWALL_TRAINING_STATE_MACHINE_ARN"} <= set(env)
    synthesized.template("api").has_resource_properties(
        "AWS::ApiGateway::Stage",
        {"StageName": "dev", "TracingEnabled": True, "AccessLogSetting": Match.object_like({})},
    )


def test_platform_tables_have_pitr_encryption_keys_and_removal_policy(synthesized: SynthesizedApp) -> None:
    tables = {t["Properties"]["TableName"]: t for t in synthesized.resources("api", "AWS::DynamoDB::Table").values()}
    assert set(tables) == {f"pitwall-dev-{name}" for name in TABLES}
    for name, spec in TABLES.items():
        table = tables[f"pitwall-dev-{name}"]
        props = table["Properties"]
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True}
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["KeySchema"] == [
            {"AttributeName": spec.partition_key, "KeyType": "HASH"},
            {"AttributeName": spec.sort_key, "KeyType": "RANGE"},
        ]
        assert [i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])] == [i.name for i in spec.indexes]
        if spec.ttl_attribute:
            assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
        assert table["DeletionPolicy"] == "Delete"  # dev


def test_deploy_lambda_is_scoped_to_pitwall_sagemaker_resources(synthesized: SynthesizedApp) -> None:
    template = synthesized.templates["serving"]
    functions = [
        f
        for f in synthesized.resources("serving", "AWS::Lambda::Function").values()
        if "deploy_model" in f["Properties"]["Handler"]
    ]
    assert len(functions) == 1
    assert functions[0]["Properties"]["FunctionName"] == "pitwall-dev-deploy-model"
    statements = [
        s
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and "DeployModelFunction" in str(r["Properties"]["Roles"])
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    sagemaker = [s for s in statements if any(a.startswith("sagemaker:") for a in _as_list(s["Action"]))]
    assert len(sagemaker) == 1
    assert sorted(_as_list(sagemaker[0]["Action"])) == sorted(DEPLOY_ACTIONS)
    resources = sorted(intrinsic_to_text(r) for r in _as_list(sagemaker[0]["Resource"]))
    assert resources == sorted(
        f"arn:aws:sagemaker:us-east-1:123456789012:{kind}/pitwall-*"
        for kind in ("endpoint", "endpoint-config", "model")
    )
    (pass_role,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert set(SERVING_BY_TIER) == set(TIERS)


def test_model_image_repository_without_docker(synthesized: SynthesizedApp) -> None:
    synthesized.template("serving").has_resource_properties(
        "AWS::ECR::Repository",
        {"RepositoryName": "pitwall-dev-model-image", "ImageScanningConfiguration": {"ScanOnPush": True}},
    )
    assert not synthesized.stacks.config.use_image_asset


def test_weekly_schedule_runs_the_feature_job(synthesized: SynthesizedApp) -> None:
    rules = synthesized.resources("events", "AWS::Events::Rule")
    (schedule,) = [r for r in rules.values() if "ScheduleExpression" in r["Properties"]]
    assert schedule["Properties"]["ScheduleExpression"] == "cron(0 6 ? * MON *)"
    (target,) = schedule["Properties"]["Targets"]
    functions = synthesized.resources("events", "AWS::Lambda::Function")
    (feature_job,) = [k for k, f in functions.items() if f["Properties"].get("PackageType") == "Image"]
    assert target["Arn"] == {"Fn::GetAtt": [feature_job, "Arn"]}
    props = functions[feature_job]["Properties"]
    # a container image: its data libraries are far over a zip Lambda's 250 MB
    assert props["ImageConfig"]["Command"] == ["feature_jobs.build_features.handler"]
    env = props["Environment"]["Variables"]
    assert env["PITWALL_HOME"].startswith("/tmp/") and env["PITWALL_BACKEND"] == "aws"
    assert env["PITWALL_PREFIX"] == "lake"
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2
    assert "DeadLetterConfig" in target


def test_race_ingested_rule_starts_retraining(synthesized: SynthesizedApp) -> None:
    rules = synthesized.resources("events", "AWS::Events::Rule")
    (rule,) = [r for r in rules.values() if "EventPattern" in r["Properties"]]
    assert rule["Properties"]["EventPattern"] == {"source": [EVENT_SOURCE], "detail-type": [RACE_INGESTED]}
    (target,) = rule["Properties"]["Targets"]
    functions = synthesized.resources("events", "AWS::Lambda::Function")
    retrain = next(
        k for k, f in functions.items() if f["Properties"].get("Handler") == "workflow_retrain.start_retraining"
    )
    assert target["Arn"] == {"Fn::GetAtt": [retrain, "Arn"]}
    statements = [
        s
        for r in synthesized.templates["events"]["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert any(s["Action"] == "states:StartExecution" for s in statements)


def test_mlflow_tracking_server_is_small_with_its_own_bucket(synthesized: SynthesizedApp) -> None:
    synthesized.template("tracking").has_resource_properties(
        "AWS::SageMaker::MlflowTrackingServer",
        {"TrackingServerName": "pitwall-dev-mlflow", "TrackingServerSize": TRACKING_SERVER_SIZE},
    )
    statements = [
        s
        for r in synthesized.templates["training"]["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    mlflow = [s for s in statements if any(a.startswith("sagemaker-mlflow:") for a in _as_list(s["Action"]))]
    assert len(mlflow) == 1
    assert "Fn::ImportValue" in mlflow[0]["Resource"]


def test_every_stack_is_tagged(synthesized: SynthesizedApp) -> None:
    for name, template in synthesized.templates.items():
        buckets_or_functions = [
            r
            for logical_id, r in template["Resources"].items()
            if r["Type"] in ("AWS::S3::Bucket", "AWS::Lambda::Function")
            and not logical_id.startswith("Custom")  # CDK's own custom-resource provider (an untaggable L1)
        ]
        assert buckets_or_functions, name
        for resource in buckets_or_functions:
            tags = {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
            assert tags.get("project") == "pitwall" and tags.get("stage") == "dev", name


def test_image_asset_builds_from_the_repository_root(tmp_path) -> None:
    """With ``useImageAsset`` the model image is a Docker asset (built at deploy time; synth needs no Docker)."""
    import aws_cdk as cdk

    from infra.config import StageConfig
    from infra.stacks.serving_stack import ServingStack
    from tests.infra.conftest import NO_BUNDLING

    app = cdk.App(context=NO_BUNDLING, outdir=str(tmp_path))
    stack = ServingStack(app, "pitwall-img-serving", config=StageConfig(stage="img", use_image_asset=True))
    assembly = app.synth()
    template = assembly.get_stack_by_name(stack.stack_name).template
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::ECR::Repository"]
    manifest = json.loads((tmp_path / f"{stack.stack_name}.assets.json").read_text())
    images = {i["source"]["dockerFile"]: i for i in manifest["dockerImages"].values()}
    assert set(images) == {"training_images/Dockerfile", "training_images/Dockerfile.gpu"}
    image = images["training_images/Dockerfile"]
    staged = tmp_path / image["source"]["directory"]
    assert (staged / "training_images" / "Dockerfile").is_file() and (staged / "pitwall").is_dir()
    assert not (staged / ".venv").exists() and not (staged / "tests").exists()
