"""The live poller and the live route as deployed: the synthesized poller Lambda (its asset + the
Powertools layer + the runtime's boto3 only) invoked with the input its EventBridge Scheduler
schedule really sends, OpenF1 played by a loopback stand-in serving answers written from a stored
2024 race in OpenF1's documented JSON (dated as if the race ended minutes ago), the saved live model
in the models bucket and the feed table under moto; then the API Lambda's
``GET /api/v1/live/{model}`` answers the snapshot the poller wrote."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.deployed import support
from tests.functional.live.conftest import SESSION_KEY, live_lake, live_model, openf1_fixtures, openf1_server

__all__ = ["live_lake", "live_model", "openf1_server"]  # fixtures used here
MODEL = "live_v1"
ROUND = 8
PREVIOUS_SESSION = 7777


def _shifted(fixtures: dict[str, list[dict[str, Any]]], delta: timedelta) -> dict[str, list[dict[str, Any]]]:
    def move(row: dict[str, Any]) -> dict[str, Any]:
        out = dict(row)
        for key in ("date", "date_start", "date_end"):
            if out.get(key):
                out[key] = (datetime.fromisoformat(out[key]) + delta).isoformat(timespec="microseconds")
        return out

    return {name: [move(r) for r in rows] for name, rows in fixtures.items()}


def _race_fixtures(live_lake) -> dict[str, list[dict[str, Any]]]:
    """The race ended 10 minutes ago; last year's race at the circuit gives the distance (78 laps)."""
    from pitwall.live.sources.replay import load_race

    fixtures = openf1_fixtures(load_race(live_lake, 2024, ROUND))
    end = datetime.fromisoformat(fixtures["sessions"][0]["date_end"])
    fixtures = _shifted(fixtures, datetime.now(UTC) - timedelta(minutes=10) - end)
    session = fixtures["sessions"][0]
    previous = {**session, "session_key": PREVIOUS_SESSION, "year": session["year"] - 1}
    laps = [{"session_key": PREVIOUS_SESSION, "driver_number": 1, "lap_number": n} for n in range(1, 79)]
    return {**fixtures, "sessions": [*fixtures["sessions"], previous], "laps": [*fixtures["laps"], *laps]}


def _deploy_secrets(synth: support.Synth) -> None:
    """The templates' Secrets Manager secrets, created in moto as CloudFormation would (the shared
    ``support.deploy_to_moto`` creates tables, buckets and queues only)."""
    import boto3

    client = boto3.client("secretsmanager", region_name=support.REGION)
    for _stack, _logical, secret in synth.resources("AWS::SecretsManager::Secret"):
        props = secret["Properties"]
        client.create_secret(Name=props["Name"], SecretString=props["SecretString"])


@pytest.fixture(scope="module")
def poller(functions: list[support.Function]) -> support.Function:
    (function,) = [f for f in functions if f.logical_id.startswith("LivePoller")]
    return function


def _schedule_input(synth: support.Synth) -> Any:
    (stack, _, schedule), *others = list(synth.resources("AWS::Scheduler::Schedule"))
    assert not others
    return json.loads(schedule["Properties"]["Target"]["Input"])


def test_the_scheduled_poller_publishes_the_race_and_the_api_answers_its_snapshot(
    synth: support.Synth,
    poller: support.Function,
    api_function: support.Function,
    layers: support.Layers,
    aws: dict[str, Any],
    platform_env: dict[str, str],
    tenant_key: dict[str, str],
    read_only_home: Any,
    live_lake,
    live_model,
    openf1_server,
    tmp_path,
) -> None:
    from pitwall.live.aws import S3LiveModels

    saved = live_model.save(tmp_path / MODEL)
    files = {p.name: p.read_bytes() for p in saved.iterdir()}
    files["metadata.json"] = json.dumps({**json.loads(files["metadata.json"]), "name": MODEL}).encode()
    assert poller.environment["PITWALL_LIVE_MODELS"] == MODEL
    from pitwall.live.sources.replay import form_results
    from pitwall.live.strength import strength_doc

    _deploy_secrets(synth)
    models = S3LiveModels(poller.environment["PITWALL_LIVE_MODELS_URI"])
    models.upload(MODEL, files)
    models.upload_strengths(strength_doc(form_results(live_lake, 2024), 2024, ROUND))  # `pitwall live upload`
    base_url = openf1_server.serve(_race_fixtures(live_lake))

    paths = [poller.asset_dir, *layers.for_function(poller), layers.runtime]
    process = support.LambdaProcess(poller, paths, {**aws["env"], "PITWALL_OPENF1_URL": base_url}, read_only_home)
    try:
        first = process.invoke(_schedule_input(synth))
        second = process.invoke(_schedule_input(synth))
        log = process.log_tail()
    finally:
        process.close()
    assert first.ok, f"{first.error_type}: {first.error}\n{first.trace}\n{log}"
    summary = first.result
    assert summary["skipped"] is None and summary["session"] == f"openf1-{SESSION_KEY}"
    assert summary["strength"] == f"2024-{ROUND:02d}"
    assert summary["total_laps"] == 78 and summary["written"][MODEL] == summary["laps_available"] > 50
    assert second.ok and second.result["written"] == {MODEL: 0}  # the next minute's run writes nothing again

    api = support.LambdaProcess(
        api_function,
        [api_function.asset_dir, *layers.for_function(api_function), layers.runtime],
        aws["env"],
        read_only_home,
    )
    try:
        methods = support.api_methods(synth)
        event = support.rest_event(
            methods[("/api/v1/live/{model}", "GET")],
            {"model": MODEL},
            api_id=aws["deployed"].rest_api_id,
            api_key=tenant_key["key"],
            api_key_id=tenant_key["key_id"],
            query={"since": str(summary["laps_available"] - 2)},
        )
        status, snap = support.response_of(api.invoke(event))
        events_route = dict(event, resource="/api/v1/live/{model}/events", path=f"/api/v1/live/{MODEL}/events")
        events_status, polled = support.response_of(api.invoke(events_route))
    finally:
        api.close()
    assert status == 200, snap
    assert snap["lap"] == summary["laps_available"] and snap["finished"] and snap["source"] == "openf1"
    assert [u["lap"] for u in snap["updates"]] == [snap["lap"] - 1, snap["lap"]]
    assert sum(d["p_win"] for d in snap["drivers"]) == pytest.approx(1.0, abs=1e-5)
    assert f"laps 1-{snap['lap']}" in snap["known_inputs"]
    # the cloud's events route answers the same snapshot (API Gateway REST cannot stream)
    assert events_status == 200 and polled == snap
