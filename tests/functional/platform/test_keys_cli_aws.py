"""``pitwall keys`` on the AWS backend (moto): the tenant record in DynamoDB and the same key in API
Gateway, in the usage plan of the tenant's tier; a tier change moves it, revoking deletes it. Locally
the same commands work on SQLite without touching AWS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from pitwall.cli import app
from pitwall.platform import keys
from pitwall.platform.apigateway_keys import ApiGatewayKeys, usage_plan_name
from pitwall.platform.backend import clear_backend_cache
from pitwall.platform.dynamo_tables import TABLES, create_tables
from pitwall.platform.tiers import TIERS

runner = CliRunner()


@pytest.fixture
def cloud(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """DynamoDB tables and an API with the Free and Pro usage plans, as the api stack deploys them."""
    monkeypatch.setenv("PITWALL_BACKEND", "aws")
    monkeypatch.setenv("PITWALL_STAGE", "test")
    for spec in TABLES.values():
        monkeypatch.setenv(spec.env_var, f"pitwall-test-{spec.logical_name}")
    clear_backend_cache()
    with mock_aws():
        create_tables(boto3.client("dynamodb"))
        apigw = boto3.client("apigateway")
        api = apigw.create_rest_api(name="pitwall-test-api")["id"]
        plans = {
            tier: apigw.create_usage_plan(name=usage_plan_name(tier), apiStages=[{"apiId": api, "stage": "test"}])["id"]
            for tier in TIERS
        }
        yield {"apigw": apigw, "plans": plans}
    clear_backend_cache()


def _plan_values(cloud: dict[str, Any], tier: str) -> set[str]:
    apigw = cloud["apigw"]
    ids = {k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=cloud["plans"][tier])["items"]}
    return {apigw.get_api_key(apiKey=i, includeValue=True)["value"] for i in ids}


def test_create_set_tier_and_revoke_keep_record_and_usage_plan_in_step(cloud: dict[str, Any]) -> None:
    created = runner.invoke(app, ["keys", "create", "--tenant", "acme", "--tier", "free"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert keys.authenticate(key).tier == "free"  # the platform record (DynamoDB)
    assert _plan_values(cloud, "free") == {key} and _plan_values(cloud, "pro") == set()

    second = runner.invoke(app, ["keys", "create", "--tenant", "acme", "--tier", "free"]).stdout.strip()
    assert _plan_values(cloud, "free") == {key, second}

    moved = runner.invoke(app, ["keys", "set-tier", "--tenant", "acme", "--tier", "pro"])
    assert moved.exit_code == 0, moved.output
    assert keys.authenticate(key).tier == "pro"
    assert _plan_values(cloud, "pro") == {key, second} and _plan_values(cloud, "free") == set()

    (first_id, _) = [r.key_id for r in keys.list_keys("acme")]
    listed = runner.invoke(app, ["keys", "list", "--tenant", "acme"])
    assert listed.exit_code == 0 and first_id in listed.stdout
    revoked = runner.invoke(app, ["keys", "revoke", first_id, "--tenant", "acme"])
    assert revoked.exit_code == 0, revoked.output
    assert _plan_values(cloud, "pro") == {second}
    assert [k["name"] for k in ApiGatewayKeys(cloud["apigw"]).keys_of("acme")] == [
        f"acme.{r.key_id}" for r in keys.list_keys("acme") if not r.revoked
    ]
    with pytest.raises(keys.Unauthorized):
        keys.authenticate(key)


def test_a_missing_usage_plan_leaves_no_usable_key(cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PITWALL_USAGE_PLAN_NAME_FREE", "no-such-plan")
    done = runner.invoke(app, ["keys", "create", "--tenant", "acme", "--tier", "free"])
    assert done.exit_code == 2 and "no-such-plan" in done.output
    assert [r.revoked for r in keys.list_keys("acme")] == [True]  # the record was revoked again
    assert ApiGatewayKeys(cloud["apigw"]).keys_of("acme") == []


def test_local_keys_need_no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PITWALL_BACKEND", "local")
    clear_backend_cache()
    key = runner.invoke(app, ["keys", "create", "--tenant", "solo", "--tier", "free"]).stdout.strip()
    assert runner.invoke(app, ["keys", "set-tier", "--tenant", "solo", "--tier", "pro"]).exit_code == 0
    assert keys.authenticate(key).tier == "pro"
    (record,) = keys.list_keys("solo")
    assert runner.invoke(app, ["keys", "revoke", record.key_id, "--tenant", "solo"]).exit_code == 0
    assert runner.invoke(app, ["keys", "revoke", "k_nope", "--tenant", "solo"]).exit_code == 2
    clear_backend_cache()
