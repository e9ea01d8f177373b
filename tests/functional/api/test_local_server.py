"""The API over real HTTP against the local server (``pitwall serve``'s server, in a thread).

Models are real (trained on 2021-2023 with ``pitwall.ml``), races real (the lake fixture).
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from pitwall.api.server import LocalApiServer
from pitwall.platform import keys

PREDICT = "/api/v1/predict/{}"


def _post(server: LocalApiServer, path: str, key: str | None, body: object = None, **kw: object) -> requests.Response:
    headers = {"x-api-key": key} if key else {}
    return requests.post(server.url + path, json=body, headers=headers, timeout=30, **kw)


def _get(server: LocalApiServer, path: str, key: str | None) -> requests.Response:
    return requests.get(server.url + path, headers={"x-api-key": key} if key else {}, timeout=30)


def _deploy(server: LocalApiServer, key: str, name: str, version: int | None = None) -> requests.Response:
    return _post(server, f"/api/v1/models/{name}/deploy", key, {"version": version} if version else None)


def test_health_and_openapi_need_no_key_everything_else_does(h: Any, server: LocalApiServer) -> None:
    assert _get(server, "/api/v1/health", None).json() == {"status": "ok", "version": "1.0.0", "backend": "local"}
    doc = _get(server, "/api/v1/openapi.json", None).json()
    assert "/api/v1/predict/{model}" in doc["paths"]
    for path in ("/api/v1/models", "/api/v1/jobs", "/api/v1/experiments"):
        answer = _get(server, path, None)
        assert answer.status_code == 401
        assert answer.json()["error"] == {"code": "unauthorized", "message": "missing API key", "field": "x-api-key"}
    assert _get(server, "/api/v1/models", "pw_not-a-real-key").status_code == 401
    assert _post(server, PREDICT.format("winner"), None, {"race": "monaco_2024"}).status_code == 401


def test_predict_a_real_2024_race_with_and_without_overrides(
    h: Any, server: LocalApiServer, free_key: str, artifacts: dict[str, Path]
) -> None:
    h.register("acme", "winner", artifacts["winner_v1"])
    assert _deploy(server, free_key, "winner").json()["status"] == "deployed"

    plain = _post(server, PREDICT.format("winner"), free_key, {"race": "monaco_2024"})
    assert plain.status_code == 200, plain.text
    answer = plain.json()
    assert (answer["model"], answer["version"], answer["kind"], answer["top_k"]) == ("winner", 1, "ranking", 1)
    assert answer["race"]["race_id"] == "2024-08" and answer["race"]["grand_prix_id"] == "monaco"
    drivers = [p["driver_id"] for p in answer["predictions"]]
    assert len(drivers) == 20 and "charles-leclerc" in drivers
    assert [p["rank"] for p in answer["predictions"]] == list(range(1, 21))
    probs = h.winner_probabilities(answer)
    h.assert_probabilities(list(probs.values()), 1.0)
    assert sorted(probs.values(), reverse=True) == [p["probability"] for p in answer["predictions"]]
    same = _post(server, PREDICT.format("winner"), free_key, {"race": "2024-08"}).json()
    assert same["predictions"] == answer["predictions"]

    # Leclerc started from pole in Monaco 2024; send him to the back and a backmarker to pole
    backmarker = answer["predictions"][-1]["driver_id"]
    moved = _post(
        server,
        PREDICT.format("winner"),
        free_key,
        {"race": "monaco_2024", "grid_positions": {"charles-leclerc": 20, backmarker: 1}},
    )
    assert moved.status_code == 200, moved.text
    after = h.winner_probabilities(moved.json())
    assert after["charles-leclerc"] < probs["charles-leclerc"]
    assert after[backmarker] > probs[backmarker]
    h.assert_probabilities(list(after.values()), 1.0)

    # this model has no weather_condition feature: a weather override is refused, naming the field
    wet = _post(server, PREDICT.format("winner"), free_key, {"race": "monaco_2024", "weather": "wet"})
    assert (wet.status_code, wet.json()["error"]["field"]) == (422, "weather")


@pytest.mark.parametrize(
    "body, status, field, code",
    [
        ({"race": "atlantis_2024"}, 422, "race", "unknown_race"),
        ({"race": "2024-30"}, 422, "race", "unknown_race"),
        ({"race": "monaco_2024", "grid_positions": {"nobody-here": 1}}, 422, "grid_positions.nobody-here", None),
        (
            {"race": "monaco_2024", "grid_positions": {"charles-leclerc": 25}},
            422,
            "grid_positions.charles-leclerc",
            None,
        ),
        (
            {"race": "monaco_2024", "grid_positions": {"charles-leclerc": 0}},
            422,
            "grid_positions.charles-leclerc",
            None,
        ),
        (
            {"race": "monaco_2024", "grid_positions": {"charles-leclerc": "1"}},
            400,
            "grid_positions.charles-leclerc",
            None,
        ),
        ({"race": 2024}, 400, "race", None),
        ({}, 400, "race", None),
        ({"instances": [{"start_position": 1}]}, 422, "instances[0].points_before", None),
        ({"instances": [{"start_position": 1, "points_before": 0, "wet_race": "rain"}]}, 400, None, None),
    ],
)
def test_bad_prediction_input_is_a_4xx_naming_the_field(
    h: Any,
    server: LocalApiServer,
    free_key: str,
    artifacts: dict[str, Path],
    body: dict,
    status: int,
    field: str | None,
    code: str | None,
) -> None:
    h.register("acme", "winner", artifacts["winner_v1"])
    _deploy(server, free_key, "winner")
    answer = _post(server, PREDICT.format("winner"), free_key, body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["message"]
    if field is not None:
        assert error["field"] == field
    if code is not None:
        assert error["code"] == code


def test_malformed_and_oversized_bodies(
    h: Any, server: LocalApiServer, free_key: str, artifacts: dict[str, Path]
) -> None:
    h.register("acme", "winner", artifacts["winner_v1"])
    _deploy(server, free_key, "winner")
    url = server.url + PREDICT.format("winner")
    headers = {"x-api-key": free_key, "content-type": "application/json"}
    bad = requests.post(url, data=b'{"race": "monaco_2024",', headers=headers, timeout=30)
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "malformed_json")
    huge = requests.post(url, data=b"[" + b"1," * 700_000 + b"1]", headers=headers, timeout=30)
    assert (huge.status_code, huge.json()["error"]["code"]) == (413, "payload_too_large")
    text = requests.post(url, data=b"{}", headers={**headers, "content-type": "text/plain"}, timeout=30)
    assert (text.status_code, text.json()["error"]["code"]) == (415, "unsupported_media_type")
    nowhere = requests.get(server.url + "/api/v1/nowhere", headers=headers, timeout=30)
    assert (nowhere.status_code, nowhere.json()["error"]["code"]) == (404, "not_found")


def test_explicit_instances_for_every_model_kind(
    h: Any, server: LocalApiServer, pro_key: str, artifacts: dict[str, Path]
) -> None:
    for name in ("winner_v1", "points", "dnf"):
        h.register("bigteam", name.replace("_", "-"), artifacts[name])
        assert _deploy(server, pro_key, name.replace("_", "-")).status_code == 200
    rows = [
        {"driver_id": "pole", "start_position": 1, "points_before": 300.0, "wet_race": 0},
        {"driver_id": "back", "start_position": 20, "points_before": 0.0, "wet_race": None},
    ]
    ranking = _post(server, PREDICT.format("winner-v1"), pro_key, {"instances": rows}).json()
    assert [p["driver_id"] for p in ranking["predictions"]] == ["pole", "back"]
    h.assert_probabilities([p["probability"] for p in ranking["predictions"]], 1.0)

    points = _post(server, PREDICT.format("points"), pro_key, {"instances": rows}).json()
    assert points["kind"] == "regression"
    values = {p["driver_id"]: p["value"] for p in points["predictions"]}
    assert values["pole"] > values["back"]

    dnf = _post(server, PREDICT.format("dnf"), pro_key, {"instances": rows}).json()
    assert dnf["kind"] == "classification"
    for p in dnf["predictions"]:
        assert set(p["probabilities"]) == {"0", "1"} and p["label"] in ("0", "1")
        h.assert_probabilities(list(p["probabilities"].values()), 1.0)


def test_rows_answered_on_the_event_loop_and_on_the_pool_are_the_same(
    h: Any, server: LocalApiServer, pro_key: str, artifacts: dict[str, Path]
) -> None:
    from pitwall.api.server import ROWS_ON_LOOP_MAX_BYTES

    h.register("bigteam", "winner-v1", artifacts["winner_v1"])
    assert _deploy(server, pro_key, "winner-v1").status_code == 200
    rows = [
        {"driver_id": f"d{i}", "start_position": i, "points_before": 10.0 * (20 - i), "wet_race": 0}
        for i in range(1, 21)
    ]
    body = json.dumps({"instances": rows}).encode()
    padded = body[:-1] + b" " * ROWS_ON_LOOP_MAX_BYTES + b"}"  # the same JSON, too big for the loop
    headers = {"x-api-key": pro_key, "content-type": "application/json"}
    url = server.url + PREDICT.format("winner-v1")
    on_loop = requests.post(url, data=body, headers=headers, timeout=30)
    on_pool = requests.post(url, data=padded, headers=headers, timeout=30)
    assert on_loop.status_code == on_pool.status_code == 200, (on_loop.text, on_pool.text)
    assert on_loop.json()["predictions"] == on_pool.json()["predictions"]
    assert [p["driver_id"] for p in on_loop.json()["predictions"]][0] == "d1"


def test_championship_forecast_sums_to_one(
    h: Any, server: LocalApiServer, free_key: str, artifacts: dict[str, Path]
) -> None:
    h.register("acme", "winner", artifacts["winner_v1"])
    _deploy(server, free_key, "winner")
    body = {"season": 2024, "after_round": 18, "simulations": 2000, "seed": 11}
    answer = _post(server, "/api/v1/predict/winner/championship", free_key, body)
    assert answer.status_code == 200, answer.text
    forecast = answer.json()
    assert forecast["simulated_rounds"] == [19, 20, 21, 22, 23, 24]
    drivers = {d["driver_id"]: d for d in forecast["drivers"]}
    h.assert_probabilities([d["title_probability"] for d in forecast["drivers"]], 1.0)
    h.assert_probabilities([c["title_probability"] for c in forecast["constructors"]], 1.0)
    # Verstappen led Norris by 52 points after Singapore (round 18)
    assert drivers["max-verstappen"]["current_points"] - drivers["lando-norris"]["current_points"] == 52
    assert forecast["drivers"][0]["driver_id"] == "max-verstappen"
    for d in forecast["drivers"]:
        assert d["expected_points"] >= d["current_points"]
    again = _post(server, "/api/v1/predict/winner/championship", free_key, body).json()
    assert again == forecast  # seeded

    whole = _post(
        server,
        "/api/v1/predict/winner/championship",
        free_key,
        {"season": 2024, "remaining_races": False, "simulations": 500},
    ).json()
    assert whole["after_round"] == 0 and len(whole["simulated_rounds"]) == 24
    assert all(d["current_points"] == 0 for d in whole["drivers"])
    h.assert_probabilities([d["title_probability"] for d in whole["drivers"]], 1.0)

    late = _post(server, "/api/v1/predict/winner/championship", free_key, {"season": 2024, "after_round": 29})
    assert (late.status_code, late.json()["error"]["field"]) == (422, "after_round")


def test_deploy_undeploy_and_delete(h: Any, server: LocalApiServer, pro_key: str, artifacts: dict[str, Path]) -> None:
    h.register("bigteam", "winner", artifacts["winner_v1"])
    h.register("bigteam", "winner", artifacts["winner_v2"])
    not_yet = _post(server, PREDICT.format("winner"), pro_key, {"race": "monaco_2024"})
    assert (not_yet.status_code, not_yet.json()["error"]["code"]) == (409, "model_not_deployed")

    assert _deploy(server, pro_key, "winner", 1).json() == {
        "model": "winner",
        "version": 1,
        "backend": "local",
        "endpoint": None,
        "status": "deployed",
    }
    assert _post(server, PREDICT.format("winner"), pro_key, {"race": "monaco_2024"}).json()["version"] == 1
    assert _deploy(server, pro_key, "winner").json()["version"] == 2  # latest by default
    assert _post(server, PREDICT.format("winner"), pro_key, {"race": "monaco_2024"}).json()["version"] == 2

    described = _get(server, "/api/v1/models/winner", pro_key).json()
    assert (described["deployed_version"], described["status"]) == (2, "deployed")
    assert described["features"] == ["start_position", "points_before", "wet_race"]
    assert described["data_window"]["seasons"] == [2021, 2022, 2023]
    assert (described["data_window"]["first_race"], described["data_window"]["last_race"]) == ("2021-01", "2023-22")
    assert [v["version"] for v in described["versions"]] == [1, 2]

    conflict = requests.delete(server.url + "/api/v1/models/winner", headers={"x-api-key": pro_key}, timeout=30)
    assert conflict.status_code == 409
    assert _post(server, "/api/v1/models/winner/undeploy", pro_key).json()["status"] == "undeployed"
    again = _post(server, "/api/v1/models/winner/undeploy", pro_key)
    assert again.status_code == 409
    assert _post(server, PREDICT.format("winner"), pro_key, {"race": "monaco_2024"}).status_code == 409
    gone = requests.delete(server.url + "/api/v1/models/winner", headers={"x-api-key": pro_key}, timeout=30)
    assert gone.json() == {"deleted": "winner"}
    assert _get(server, "/api/v1/models/winner", pro_key).status_code == 404
    assert _deploy(server, pro_key, "winner").status_code == 404


def test_tenant_isolation(h: Any, server: LocalApiServer, free_key: str, artifacts: dict[str, Path]) -> None:
    h.register("acme", "winner", artifacts["winner_v1"], experiment="exp-a")
    _deploy(server, free_key, "winner")
    other = keys.create_key("rival", "pro")
    assert _get(server, "/api/v1/models", other).json() == {"models": []}
    for answer in (
        _get(server, "/api/v1/models/winner", other),
        _post(server, PREDICT.format("winner"), other, {"race": "monaco_2024"}),
        _post(server, "/api/v1/predict/winner/championship", other, {"season": 2024}),
        _deploy(server, other, "winner"),
        _post(server, "/api/v1/models/winner/undeploy", other),
        requests.delete(server.url + "/api/v1/models/winner", headers={"x-api-key": other}, timeout=30),
        _get(server, "/api/v1/experiments/exp-a", other),
    ):
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"]["code"] == "not_found"
    started = _post(server, "/api/v1/jobs", free_key, {"template": "race_winner", "name": "w2"})
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    assert _get(server, f"/api/v1/jobs/{job_id}", other).status_code == 404
    assert _post(server, f"/api/v1/jobs/{job_id}/cancel", other).status_code == 404
    assert _get(server, "/api/v1/experiments", other).json() == {"experiments": []}
    # and the owner still has everything
    assert _post(server, PREDICT.format("winner"), free_key, {"race": "monaco_2024"}).status_code == 200


def test_free_tier_deployed_models_limit_is_exactly_three(
    h: Any, server: LocalApiServer, free_key: str, pro_key: str, artifacts: dict[str, Path]
) -> None:
    for i in range(5):
        h.register("acme", f"m{i}", artifacts["winner_v2"])
        h.register("bigteam", f"m{i}", artifacts["winner_v2"])
    for i in range(3):
        assert _deploy(server, free_key, f"m{i}").status_code == 200
    refused = _deploy(server, free_key, "m3")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "deployed_models_limit"
    assert "Retry-After" not in refused.headers  # waiting does not help: undeploy or upgrade
    assert _deploy(server, free_key, "m0", 1).status_code == 200  # redeploying a deployed model is free
    assert _post(server, "/api/v1/models/m0/undeploy", free_key).status_code == 200
    assert _deploy(server, free_key, "m3").status_code == 200
    for i in range(5):  # Pro: unlimited
        assert _deploy(server, pro_key, f"m{i}").status_code == 200


def test_free_tier_request_rate_limit_hits_at_the_burst(h: Any, server: LocalApiServer, free_key: str) -> None:
    """Free: bucket of 10 (burst), refilled at 5/s. 10 quick calls pass, then 429 + Retry-After."""
    with requests.Session() as session:
        statuses = []
        for _ in range(14):
            r = session.get(server.url + "/api/v1/models", headers={"x-api-key": free_key}, timeout=30)
            statuses.append(r.status_code)
            if r.status_code == 429:
                limited = r
                break
    assert statuses[:10] == [200] * 10
    assert statuses[-1] == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    # health is public and not counted
    assert requests.get(server.url + "/api/v1/health", timeout=30).status_code == 200


def test_redeploy_swaps_versions_without_failing_a_single_request(
    h: Any, unthrottled_server: LocalApiServer, pro_key: str, artifacts: dict[str, Path]
) -> None:
    server = unthrottled_server
    h.register("bigteam", "winner", artifacts["winner_v1"])
    h.register("bigteam", "winner", artifacts["winner_v2"])
    _deploy(server, pro_key, "winner", 1)
    stop = threading.Event()
    seen: list[tuple[int, int]] = []

    def caller() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                r = session.post(
                    server.url + PREDICT.format("winner"),
                    json={"race": "monaco_2024"},
                    headers={"x-api-key": pro_key},
                    timeout=30,
                )
                seen.append((r.status_code, r.json().get("version", -1)))

    with ThreadPoolExecutor(max_workers=3) as pool:
        for _ in range(3):
            pool.submit(caller)
        for version in (2, 1, 2, 1, 2):
            while len(seen) < 5:
                time.sleep(0.01)
            assert _deploy(server, pro_key, "winner", version).status_code == 200
            mark = len(seen)
            while len(seen) < mark + 5:
                time.sleep(0.01)
        stop.set()
    statuses = {status for status, _ in seen}
    assert statuses == {200}, statuses  # never an error during the swaps
    versions = [v for status, v in seen if status == 200]
    assert {1, 2} <= set(versions)
    assert versions[-1] == 2
