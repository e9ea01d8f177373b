"""The OpenF1 secret under moto: the poller reads the token (bare or JSON, cached, never in an error)
and, as the secret's rotation function, stages and promotes a fresh token exchanged from an OpenF1
account's credentials (or keeps a pasted token)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pitwall.live import aws
from pitwall.live.aws import OPENF1_SECRET_ENV, openf1_token_from_secret, rotate_openf1_secret

NAME = "pitwall-test-openf1-token"


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(aws, "_secret_cache", {})
    monkeypatch.setenv(OPENF1_SECRET_ENV, NAME)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def _rotate(client: Any, exchange: Any) -> None:
    """The four rotation steps as Secrets Manager invokes the rotation function, twice over (idempotent)."""
    version = "rotation-" + "0" * 28
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        event = {"SecretId": NAME, "ClientRequestToken": version, "Step": step}
        rotate_openf1_secret(event, client=client, exchange=exchange)
        rotate_openf1_secret(event, client=client, exchange=exchange)


def test_the_token_is_read_bare_or_from_json_and_cached(secrets: Any) -> None:
    secrets.create_secret(Name=NAME, SecretString="tok-bare")
    clock = iter([0.0, 10.0, 400.0, 400.0])
    assert openf1_token_from_secret(secrets, clock=lambda: next(clock)) == "tok-bare"
    secrets.put_secret_value(SecretId=NAME, SecretString=json.dumps({"token": "tok-json"}))
    assert openf1_token_from_secret(secrets, clock=lambda: next(clock)) == "tok-bare"  # cached for 5 minutes
    assert openf1_token_from_secret(secrets, clock=lambda: next(clock)) == "tok-json"
    secrets.put_secret_value(SecretId=NAME, SecretString=json.dumps({"token": ""}))
    aws._secret_cache.clear()
    assert openf1_token_from_secret(secrets) is None  # the stack's placeholder: no token yet


def test_a_missing_or_malformed_secret_is_named_without_its_value(secrets: Any, monkeypatch) -> None:
    monkeypatch.setenv(OPENF1_SECRET_ENV, "nope")
    with pytest.raises(RuntimeError, match="no secret named 'nope'"):
        openf1_token_from_secret(secrets)
    monkeypatch.setenv(OPENF1_SECRET_ENV, NAME)
    secrets.create_secret(Name=NAME, SecretString='{"token": "tok-secret-value"')
    with pytest.raises(RuntimeError, match="neither a token nor a JSON object") as err:
        openf1_token_from_secret(secrets)
    assert "tok-secret-value" not in str(err.value)


def test_rotation_exchanges_the_accounts_credentials_for_a_fresh_token(secrets: Any) -> None:
    secrets.create_secret(Name=NAME, SecretString=json.dumps({"username": "u@x", "password": "pw", "token": "old"}))
    calls: list[tuple[str, str]] = []

    def exchange(user: str, password: str) -> str:
        calls.append((user, password))
        return "tok-fresh"

    _rotate(secrets, exchange)
    assert calls == [("u@x", "pw")]
    current = json.loads(secrets.get_secret_value(SecretId=NAME, VersionStage="AWSCURRENT")["SecretString"])
    assert current == {"username": "u@x", "password": "pw", "token": "tok-fresh"}
    assert openf1_token_from_secret(secrets) == "tok-fresh"


def test_rotation_keeps_a_pasted_token(secrets: Any) -> None:
    secrets.create_secret(Name=NAME, SecretString=json.dumps({"token": "tok-pasted"}))
    _rotate(secrets, lambda *_: pytest.fail("no credentials: nothing to exchange"))
    assert json.loads(secrets.get_secret_value(SecretId=NAME, VersionStage="AWSCURRENT")["SecretString"]) == {
        "token": "tok-pasted"
    }


def test_a_step_for_an_unstaged_version_is_refused(secrets: Any) -> None:
    secrets.create_secret(Name=NAME, SecretString="tok")
    with pytest.raises(RuntimeError, match="not staged for rotation"):
        rotate_openf1_secret({"SecretId": NAME, "ClientRequestToken": "nope", "Step": "finishSecret"}, client=secrets)


def test_the_poller_lambda_runs_the_rotation_steps(secrets: Any) -> None:
    from pitwall.live.poller import handle_event

    secrets.create_secret(Name=NAME, SecretString=json.dumps({"token": "tok-pasted"}))
    version = "rotation-" + "1" * 28
    steps = [
        handle_event({"SecretId": NAME, "ClientRequestToken": version, "Step": s})
        for s in ("createSecret", "finishSecret")
    ]
    assert [s["result"] for s in steps] == ["staged", "current"]
    stages = secrets.describe_secret(SecretId=NAME)["VersionIdsToStages"]
    assert "AWSCURRENT" in stages[version]
