"""The cloud poller in-process: OpenF1 answers written from a stored 2024 race (OpenF1's documented
JSON) on a loopback stand-in, the DynamoDB feed under moto, and the live model (trained on
2022-2023) evaluated without LightGBM. Its published laps equal a replay's updates of the same race."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pitwall.live.aws import DynamoFeed
from pitwall.live.feed import latest_snapshot
from pitwall.live.poller import PollInputError, PollRequest, poll_once
from pitwall.live.predictors import LeanLiveModel
from pitwall.live.sources.openf1 import OpenF1Client, parse_date
from pitwall.live.sources.replay import form_results, load_race
from pitwall.live.stream import connect_to_stream
from pitwall.live.strength import strength_doc

from .conftest import SESSION_KEY, openf1_fixtures

ROUND = 8
TABLE = "pitwall-test-live"


@pytest.fixture
def feed() -> Any:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DynamoFeed(TABLE, client=client)


@pytest.fixture
def lean(live_model, tmp_path) -> LeanLiveModel:
    return LeanLiveModel.from_dir(live_model.save(tmp_path / "model"))


@pytest.fixture(scope="module")
def fixtures(live_lake) -> dict[str, list[dict[str, Any]]]:
    return openf1_fixtures(load_race(live_lake, 2024, ROUND))


@pytest.fixture(scope="module")
def strengths(live_lake) -> dict[str, Any]:
    """The race's pre-race strengths as ``pitwall live upload`` writes them beside the models."""
    return strength_doc(form_results(live_lake, 2024), 2024, ROUND)


def _at(fixtures: dict[str, Any], field: str, delta: timedelta):  # type: ignore[no-untyped-def]
    moment = parse_date(fixtures["sessions"][0][field]) + delta
    return lambda: moment


def test_a_poll_after_the_race_publishes_every_lap_as_a_replay_predicts_it(
    feed, lean, live_model, live_lake, fixtures, strengths, openf1_server
) -> None:
    client = OpenF1Client(openf1_server.serve(fixtures))
    after = _at(fixtures, "date_end", timedelta(minutes=10))
    request = PollRequest(SESSION_KEY, total_laps=78)
    summary = poll_once(request, {"live_v1": lean}, feed, client, now=after, strengths=strengths)
    assert summary["strength"] == "2024-08"
    replay = list(connect_to_stream(live_model, source="replay", season=2024, round=ROUND, store=live_lake))
    assert summary["written"] == {"live_v1": len(replay)} and summary["session"] == f"openf1-{SESSION_KEY}"

    snap = latest_snapshot(feed, "live_v1", since=0)
    assert snap is not None and snap["lap"] == replay[-1].lap and snap["finished"]
    assert [u["lap"] for u in snap["updates"]] == [u.lap for u in replay]
    for doc, update in zip(snap["updates"], replay, strict=True):
        assert [d["driver_number"] for d in doc["drivers"]] == [d.driver_number for d in update.state.drivers]
        assert [d["p_win"] for d in doc["drivers"]] == pytest.approx([p.p_win for p in update.predictions], abs=2e-6)
        assert [d["expected_position"] for d in doc["drivers"]] == pytest.approx(
            [p.expected_position for p in update.predictions], abs=2e-3
        )

    again = poll_once(request, {"live_v1": lean}, feed, client, now=after, strengths=strengths)
    assert again["written"] == {"live_v1": 0}  # idempotent: nothing published twice


def test_race_distance_comes_from_last_years_race_at_the_circuit(feed, lean, fixtures, openf1_server) -> None:
    previous = {**fixtures["sessions"][0], "session_key": 7777, "year": 2023}
    laps = [{"session_key": 7777, "driver_number": 1, "lap_number": n, "lap_duration": 75.0} for n in range(1, 79)]
    served = {**fixtures, "sessions": [*fixtures["sessions"], previous], "laps": [*fixtures["laps"], *laps]}
    client = OpenF1Client(openf1_server.serve(served))
    during = _at(fixtures, "date_start", timedelta(minutes=40))
    summary = poll_once(PollRequest(SESSION_KEY), {"live_v1": lean}, feed, client, now=during)
    assert summary["total_laps"] == 78 and summary["written"]["live_v1"] > 0
    assert summary["strength"].startswith("unknown")  # no strengths table: the same for every car
    assert not feed.head("live_v1")["finished"]  # the session is still on: not its last lap
    # the next run reuses the distance the feed recorded (no look-up of last year's race)
    openf1_server.requests.clear()
    poll_once(PollRequest(SESSION_KEY), {"live_v1": lean}, feed, client, now=during)
    assert not [r for r in openf1_server.requests if "7777" in r or "year=" in r]


def test_outside_the_session_window_one_request_and_nothing_written(feed, lean, fixtures, openf1_server) -> None:
    client = OpenF1Client(openf1_server.serve(fixtures))
    early = _at(fixtures, "date_start", -timedelta(hours=3))
    summary = poll_once(PollRequest(), {"live_v1": lean}, feed, client, now=early)
    assert "outside its polling window" in summary["skipped"]
    assert len(openf1_server.requests) == 1 and feed.head("live_v1") is None


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"session_key": "next"}, "session_key"),
        ({"session_key": 0}, "session_key"),
        ({"total_laps": "57"}, "total_laps"),
        ([], "event"),
    ],
)
def test_a_bad_schedule_input_names_the_field(event: Any, field: str) -> None:
    with pytest.raises(PollInputError, match=f"^{field}:"):
        PollRequest.from_event(event)
    assert PollRequest.from_event({"session_key": 9165, "total_laps": 57, "scheduled_time": "x"}) == PollRequest(
        9165, 57
    )


def test_the_scheduled_handler_reads_the_openf1_token_from_its_secret(
    monkeypatch, live_model, fixtures, strengths, openf1_server, caplog, tmp_path
) -> None:
    """handle_event as the Lambda runs it under moto: models and strengths in S3, the token in
    Secrets Manager (sent to OpenF1 as a bearer token, never logged nor in the summary)."""
    import logging

    from pitwall.live import aws, poller
    from pitwall.live.aws import S3LiveModels

    token = "tok-" + "x" * 24
    base_url = openf1_server.serve(fixtures)
    with mock_aws():
        dynamo = boto3.client("dynamodb", region_name="us-east-1")
        dynamo.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="models")
        saved = live_model.save(tmp_path / "live_v1")
        S3LiveModels("s3://models/live_models", client=s3).upload(
            "live_v1", {p.name: p.read_bytes() for p in saved.iterdir()}
        )
        S3LiveModels("s3://models/live_models", client=s3).upload_strengths(strengths)
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        secrets.create_secret(Name="pitwall-test-openf1", SecretString=json.dumps({"token": token}))
        for key, value in {
            "AWS_DEFAULT_REGION": "us-east-1",
            "PITWALL_LIVE_TABLE": TABLE,
            "PITWALL_LIVE_MODELS": "live_v1",
            "PITWALL_LIVE_MODELS_URI": "s3://models/live_models",
            aws.OPENF1_SECRET_ENV: "pitwall-test-openf1",
            "PITWALL_OPENF1_URL": base_url,
        }.items():
            monkeypatch.setenv(key, value)
        for var in ("OPENF1_TOKEN", "PITWALL_OPENF1_TOKEN"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setattr(poller, "_models", {})
        monkeypatch.setattr(aws, "_secret_cache", {})
        after = parse_date(fixtures["sessions"][0]["date_end"]) + timedelta(minutes=10)
        monkeypatch.setattr(poller, "poll_once", _at_moment(poller.poll_once, after))
        with caplog.at_level(logging.DEBUG, logger="pitwall"):
            summary = poller.handle_event({"session_key": SESSION_KEY, "total_laps": 78})
        assert summary["written"]["live_v1"] > 50 and summary["strength"] == "2024-08"
        assert DynamoFeed(TABLE, client=dynamo).head("live_v1")["lap"] == summary["laps_available"]
    assert openf1_server.authorizations and set(openf1_server.authorizations) == {f"Bearer {token}"}
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("pitwall")]
    assert ours and not any(token in m for m in ours) and token not in json.dumps(summary)


def _at_moment(poll, moment):  # type: ignore[no-untyped-def]
    def run(*args, **kwargs):  # type: ignore[no-untyped-def]
        return poll(*args, now=lambda: moment, **kwargs)

    return run
