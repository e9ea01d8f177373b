"""The monitoring stack (issue 17.5): capture prefix, the after-race monitoring job, the alert topic."""

from __future__ import annotations

from typing import Any

from pitwall.data.events import EVENT_SOURCE, RACE_INGESTED
from pitwall.monitoring.alerts import ALERT_SOURCE, MODEL_ALERT

from .conftest import NO_BUNDLING, SynthesizedApp


def _statements(app: SynthesizedApp, stack: str, role_ref: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for policy in app.resources(stack, "AWS::IAM::Policy").values():
        if {"Ref": role_ref} in policy["Properties"]["Roles"]:
            out += policy["Properties"]["PolicyDocument"]["Statement"]
    return out


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def _resources(statement: dict[str, Any]) -> list[Any]:
    resources = statement["Resource"]
    return resources if isinstance(resources, list) else [resources]


def _flat(value: Any) -> str:
    from infra.nag import flatten_reference

    return flatten_reference(value)


def _job(app: SynthesizedApp) -> tuple[str, dict[str, Any]]:
    functions = app.resources("monitoring", "AWS::Lambda::Function")
    (job,) = [(k, f) for k, f in functions.items() if f["Properties"].get("PackageType") == "Image"]
    return job


def test_race_ingested_runs_the_monitoring_job_with_retries_and_a_dead_letter_queue(
    synthesized: SynthesizedApp,
) -> None:
    job, fn = _job(synthesized)
    rules = synthesized.resources("monitoring", "AWS::Events::Rule")
    (rule,) = [r for r in rules.values() if r["Properties"]["EventPattern"]["source"] == [EVENT_SOURCE]]
    assert rule["Properties"]["EventPattern"] == {"source": [EVENT_SOURCE], "detail-type": [RACE_INGESTED]}
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [job, "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2 and "DeadLetterConfig" in target
    props = fn["Properties"]
    assert props["ImageConfig"]["Command"] == ["pitwall.monitoring.subscriber.handler"]
    env = props["Environment"]["Variables"]
    assert env["PITWALL_BACKEND"] == "aws" and env["PITWALL_HOME"].startswith("/tmp/")
    assert env["PITWALL_CAPTURE_PREFIX"] == "captures" and "-models-" in _flat(env["PITWALL_CAPTURE_BUCKET"])
    assert env["PITWALL_EVENT_BUS"] == "default" and env["PITWALL_PREFIX"] == "lake"
    assert {"PITWALL_MODELS_TABLE", "PITWALL_TENANTS_TABLE"} <= set(env)
    assert env["PITWALL_MONITORING_PREFIX"] == "monitoring" and "-models-" in _flat(env["PITWALL_MONITORING_BUCKET"])
    assert props["ReservedConcurrentExecutions"] == 1  # runs pull/push the state one at a time


def test_model_alerts_go_to_an_encrypted_tls_only_topic(synthesized: SynthesizedApp) -> None:
    (topic_id, topic), *rest = synthesized.resources("monitoring", "AWS::SNS::Topic").items()
    assert not rest
    assert _flat(topic["Properties"]["KmsMasterKeyId"]).endswith("alias/aws/sns")
    rules = synthesized.resources("monitoring", "AWS::Events::Rule")
    (rule,) = [r for r in rules.values() if r["Properties"]["EventPattern"]["source"] == [ALERT_SOURCE]]
    assert rule["Properties"]["EventPattern"]["detail-type"] == [MODEL_ALERT]
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": topic_id} and target["InputPath"] == "$.detail.message"
    (policy,) = synthesized.resources("monitoring", "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    publish = [s for s in statements if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in publish] == [{"Service": "events.amazonaws.com"}]
    assert not synthesized.resources("monitoring", "AWS::SNS::Subscription")  # no alertEmail context


def test_email_subscription_from_context(tmp_path) -> None:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from infra.config import StageConfig
    from infra.pitwall_app import build_app

    app = cdk.App(context={**NO_BUNDLING, "alertEmail": "ops@example.com"}, outdir=str(tmp_path))
    stacks = build_app(app, StageConfig(stage="dev"), nag=False)
    assert stacks.monitoring is not None
    Template.from_stack(stacks.monitoring).has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )


def test_the_job_role_is_least_privilege(synthesized: SynthesizedApp) -> None:
    _, fn = _job(synthesized)
    role = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = _statements(synthesized, "monitoring", role)
    granted = {a for s in statements for a in _actions(s)}
    assert not any(a.endswith(":*") or a == "*" for a in granted)
    s3 = {(a, _flat(r)) for s in statements for a in _actions(s) if a.startswith("s3:") for r in _resources(s)}
    models_writes = {r for a, r in s3 if a in ("s3:PutObject", "s3:DeleteObject") and "-models-" in r}
    assert models_writes and all(r.endswith("/monitoring/*") for r in models_writes)  # its state only
    assert not any(a == "s3:DeleteObject" for a, _ in s3)  # never deletes captures, artifacts or state
    assert any(a == "s3:GetObject" and "-models-" in r and r.endswith("/captures/*") for a, r in s3)
    assert not any(a == "s3:PutObject" and "-raw-" in r for a, r in s3)  # the lake is read-only here
    glue = {a for a in granted if a.startswith("glue:")}
    assert glue and all(a.startswith("glue:Get") for a in glue)
    dynamo = {a for a in granted if a.startswith("dynamodb:")}
    assert dynamo and not dynamo & {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert "events:PutEvents" in granted


def test_the_endpoint_role_writes_captures_under_its_prefix_only(synthesized: SynthesizedApp) -> None:
    serving = synthesized.stacks.serving
    role = serving.get_logical_id(serving.endpoint_role.node.default_child)
    statements = _statements(synthesized, "serving", role)
    writes = {_flat(r) for s in statements if "s3:PutObject" in _actions(s) for r in _resources(s)}
    assert writes and all(r.endswith("/captures/*") and "-models-" in r for r in writes)


def test_the_endpoint_role_reads_only_the_settings_of_the_monitoring_state(synthesized: SynthesizedApp) -> None:
    serving = synthesized.stacks.serving
    role = serving.get_logical_id(serving.endpoint_role.node.default_child)
    statements = _statements(synthesized, "serving", role)
    reads = {_flat(r) for s in statements if "s3:GetObject" in _actions(s) for r in _resources(s)}
    state = {r for r in reads if "/monitoring/" in r}
    assert state and all(r.endswith("/monitoring/settings/*") and "-models-" in r for r in state)


def test_the_functions_that_deploy_hand_the_capture_and_state_variables_on(synthesized: SynthesizedApp) -> None:
    from pitwall.serving.sagemaker import MONITORING_ENV

    _, job = _job(synthesized)
    expected = {k: job["Properties"]["Environment"]["Variables"][k] for k in MONITORING_ENV}
    assert "-models-" in _flat(expected["PITWALL_CAPTURE_BUCKET"]) and expected["PITWALL_CAPTURE_PREFIX"] == "captures"
    assert expected["PITWALL_MONITORING_BUCKET"] == expected["PITWALL_CAPTURE_BUCKET"]
    for stack, handler in (("serving", "workflow_steps.deploy_model"), ("api", "app.app")):
        (fn,) = [
            f
            for f in synthesized.resources(stack, "AWS::Lambda::Function").values()
            if f["Properties"].get("Handler") == handler
        ]
        variables = fn["Properties"]["Environment"]["Variables"]
        assert {k: variables.get(k) for k in MONITORING_ENV} == expected, (stack, handler)
