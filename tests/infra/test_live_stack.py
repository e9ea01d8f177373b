"""The live stack: the feed table (TTL), the zip poller Lambda and its EventBridge Scheduler schedule,
least-privilege grants, and the API function reading the same table (cdk-nag runs in the fixture)."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match


def _policies(synthesized: Any, stack: str, role_fragment: str) -> list[dict[str, Any]]:
    statements = []
    for policy in synthesized.resources(stack, "AWS::IAM::Policy").values():
        roles = json.dumps(policy["Properties"].get("Roles", []))
        if role_fragment in roles:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def test_the_feed_table_expires_items_and_is_encrypted(synthesized: Any) -> None:
    template = synthesized.template("live")
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": "pitwall-dev-live",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "BillingMode": "PAY_PER_REQUEST",
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "SSESpecification": {"SSEEnabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    )


def test_the_poller_is_a_zip_lambda_with_the_feed_and_models_in_its_environment(synthesized: Any) -> None:
    (poller,) = [
        f for f in synthesized.resources("live", "AWS::Lambda::Function").values() if "live poller" in json.dumps(f)
    ]
    props = poller["Properties"]
    assert props["Runtime"] == "python3.11" and props["Handler"] == "handler.handler"
    assert props["Timeout"] == 60 and len(props["Layers"]) == 1  # Powertools only
    env = props["Environment"]["Variables"]
    assert env["PITWALL_LIVE_TABLE"] == "pitwall-dev-live" and env["PITWALL_LIVE_MODELS"] == "live_v1"
    uri = json.dumps(env["PITWALL_LIVE_MODELS_URI"])  # the bucket's name holds the account and region
    assert "s3://pitwall-dev-models-" in uri and uri.endswith('/live_models"]]}')
    assert env["PITWALL_HOME"].startswith("/tmp/")


def test_the_schedule_polls_every_minute_on_race_days_without_retries(synthesized: Any) -> None:
    template = synthesized.template("live")
    template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "cron(* * ? * SAT-SUN *)",
            "State": "ENABLED",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": {"Fn::GetAtt": [Match.string_like_regexp("LivePoller"), "Arn"]},
                "Input": json.dumps({"session_key": "latest"}, separators=(",", ":")),
                "RetryPolicy": {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60},
                "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [Match.string_like_regexp("LivePollDeadLetters"), "Arn"]}},
            },
        },
    )


def test_grants_poller_writes_the_feed_reads_models_api_only_reads(synthesized: Any) -> None:
    poller = _policies(synthesized, "live", "LivePoller")
    table = [s for s in poller if "dynamodb" in json.dumps(s["Action"])]
    assert len(table) == 1 and "dynamodb:PutItem" in _actions(table[0]) and "dynamodb:Scan" not in _actions(table[0])
    assert "table/pitwall-dev-live" in json.dumps(table[0]["Resource"])
    s3 = [s for s in poller if "s3:" in json.dumps(s["Action"])]
    assert [_actions(s) for s in s3] == [{"s3:GetObject"}] and "live_models/*" in json.dumps(s3[0]["Resource"])

    api_function = synthesized.stacks.api.api_function
    env = synthesized.templates["api"]["Resources"][
        synthesized.stacks.api.get_logical_id(api_function.node.default_child)
    ]
    assert env["Properties"]["Environment"]["Variables"]["PITWALL_LIVE_TABLE"] == "pitwall-dev-live"
    api_statements = [
        s
        for policy in synthesized.resources("api", "AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "pitwall-dev-live" in json.dumps(s.get("Resource"))
    ]
    assert api_statements and all(
        not (_actions(s) & {"dynamodb:PutItem", "dynamodb:DeleteItem"}) for s in api_statements
    )


def test_the_openf1_token_is_a_secret_the_poller_reads_and_rotates(synthesized: Any) -> None:
    template = synthesized.template("live")
    (logical, secret), *others = list(synthesized.resources("live", "AWS::SecretsManager::Secret").items())
    assert not others and secret["Properties"]["Name"] == "pitwall-dev-openf1-token"
    assert json.loads(secret["Properties"]["SecretString"]) == {"token": ""}  # no token in the template
    (poller,) = [
        f for f in synthesized.resources("live", "AWS::Lambda::Function").values() if "live poller" in json.dumps(f)
    ]
    assert poller["Properties"]["Environment"]["Variables"]["PITWALL_OPENF1_SECRET"] == "pitwall-dev-openf1-token"
    secret_statements = [s for s in _policies(synthesized, "live", "LivePoller") if "secretsmanager" in json.dumps(s)]
    assert len(secret_statements) == 1 and secret_statements[0]["Resource"] == {"Ref": logical}
    assert _actions(secret_statements[0]) == {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
    }
    template.has_resource_properties(
        "AWS::SecretsManager::RotationSchedule",
        {
            "SecretId": {"Ref": logical},
            "RotationLambdaARN": {"Fn::GetAtt": [Match.string_like_regexp("LivePoller"), "Arn"]},
            "RotationRules": {"ScheduleExpression": "rate(4 hours)"},
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"Action": "lambda:InvokeFunction", "Principal": "secretsmanager.amazonaws.com"},
    )
    # the API function never sees the secret
    api_text = json.dumps(synthesized.templates["api"])
    assert "openf1-token" not in api_text
