"""Monitoring through the local API over HTTP: the deploy body's ``capture_percent``, the capture
of answered predictions, and ``GET /api/v1/models/{model}/monitoring`` (tenant-scoped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from pitwall.api.server import LocalApiServer
from pitwall.api.services import ApiServices
from pitwall.platform import keys

RACES = ("monaco_2024", "2024-16", "2024-12")


def _post(server: LocalApiServer, path: str, key: str, body: object = None) -> requests.Response:
    return requests.post(server.url + path, json=body, headers={"x-api-key": key}, timeout=30)


def _get(server: LocalApiServer, path: str, key: str) -> requests.Response:
    return requests.get(server.url + path, headers={"x-api-key": key}, timeout=30)


def test_deploy_sets_the_capture_rate_and_predictions_are_captured(
    h: Any, server: LocalApiServer, services: ApiServices, pro_key: str, artifacts: dict[str, Path]
) -> None:
    from pitwall.monitoring.capture import LocalCaptureSink, read_captures

    h.register("bigteam", "winner", artifacts["winner_v1"])
    bad = _post(server, "/api/v1/models/winner/deploy", pro_key, {"capture_percent": 150})
    assert bad.status_code in (400, 422) and bad.json()["error"]["field"].endswith("capture_percent"), bad.text
    assert _get(server, "/api/v1/models/winner", pro_key).json()["deployed_version"] is None  # nothing deployed

    deployed = _post(server, "/api/v1/models/winner/deploy", pro_key, {"capture_percent": 100})
    assert deployed.status_code == 200 and deployed.json()["status"] == "deployed", deployed.text
    for race in RACES:
        assert _post(server, "/api/v1/predict/winner", pro_key, {"race": race}).status_code == 200
    assert services.deployments.serving.recorder.flush(timeout=60)
    captured = read_captures(LocalCaptureSink(), "bigteam", "winner")
    assert captured["capture_id"].nunique() == len(RACES)
    assert set(captured["race_id"]) == {"2024-08", "2024-16", "2024-12"}
    assert (captured["version"] == 1).all() and captured["paired"].all()

    view = _get(server, "/api/v1/models/winner/monitoring", pro_key)
    assert view.status_code == 200, view.text
    doc = view.json()
    assert (doc["tenant_id"], doc["model"], doc["settings"]["capture_percent"]) == ("bigteam", "winner", 100.0)
    assert doc["live_verified"]["label"] == "live verified" and doc["live_verified"]["n_races"] == 0
    assert doc["reconstructed"]["label"] == "reconstructed (not live)"

    # redeploying with a lower rate changes only the rate; 0 % captures nothing more
    assert _post(server, "/api/v1/models/winner/deploy", pro_key, {"capture_percent": 0}).status_code == 200
    assert _get(server, "/api/v1/models/winner/monitoring", pro_key).json()["settings"]["capture_percent"] == 0.0
    assert _post(server, "/api/v1/predict/winner", pro_key, {"race": "monaco_2024"}).status_code == 200
    assert services.deployments.serving.recorder.flush(timeout=60)
    assert read_captures(LocalCaptureSink(), "bigteam", "winner")["capture_id"].nunique() == len(RACES)


def test_monitoring_of_another_tenants_model_is_a_404(
    h: Any, server: LocalApiServer, pro_key: str, free_key: str, artifacts: dict[str, Path]
) -> None:
    h.register("bigteam", "secret", artifacts["winner_v1"])
    assert _post(server, "/api/v1/models/secret/deploy", pro_key).status_code == 200
    assert _get(server, "/api/v1/models/secret/monitoring", pro_key).status_code == 200
    other = _get(server, "/api/v1/models/secret/monitoring", free_key)  # tenant acme
    assert other.status_code == 404 and "secret" in other.json()["error"]["message"]
    assert _get(server, "/api/v1/models/missing/monitoring", pro_key).status_code == 404
    assert _get(server, "/api/v1/models/secret/monitoring", keys.create_key("globex", "free")).status_code == 404


def test_the_operation_is_in_the_openapi_document(server: LocalApiServer, pro_key: str) -> None:
    doc = requests.get(server.url + "/api/v1/openapi.json", timeout=30).json()
    assert "get" in doc["paths"]["/api/v1/models/{model}/monitoring"]
    deploy_body = doc["components"]["schemas"]["DeployRequest"]["properties"]
    assert "capture_percent" in deploy_body
