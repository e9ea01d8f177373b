"""Fair shares: a Free tenant's expensive requests beyond its caps are refused (429 beyond its own
share, 503 beyond the process bound, 422 beyond its size caps) while another tenant's
predictions keep answering 200. The championship simulator is held by the test (see conftest),
so "running" is a state the test controls, not a timing."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests

from pitwall.api.server import LocalApiServer
from pitwall.platform import quotas
from pitwall.platform.tiers import get_tier

CHAMPIONSHIP = "/api/v1/predict/grid/championship"
PREDICT = "/api/v1/predict/grid"


def _post(server: LocalApiServer, path: str, key: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(server.url + path, json=body, headers={"x-api-key": key}, timeout=60)


def _forecast_in_background(server: LocalApiServer, key: str, answers: list[requests.Response]) -> threading.Thread:
    body = {"season": 2024, "after_round": 20, "simulations": 2000, "seed": 1}
    thread = threading.Thread(target=lambda: answers.append(_post(server, CHAMPIONSHIP, key, body)))
    thread.start()
    return thread


def _rows(n: int) -> dict[str, Any]:
    return {"instances": [{"driver_id": f"d{i}", "start_position": float(i % 20 + 1)} for i in range(n)]}


def test_a_free_tenant_beyond_its_concurrent_forecasts_gets_429_while_others_predict(
    server: LocalApiServer, tenants: dict[str, str], simulator: Any
) -> None:
    answers: list[requests.Response] = []
    first = _forecast_in_background(server, tenants["free"], answers)
    assert simulator.entered.wait(timeout=60)  # the Free tenant's one forecast is running
    try:
        second = _post(server, CHAMPIONSHIP, tenants["free"], {"season": 2024, "after_round": 20, "simulations": 2000})
        assert second.status_code == 429, second.text
        assert second.json()["error"]["code"] == "concurrency_limited"
        assert second.headers["Retry-After"] == "1"
        for _ in range(5):  # the other tenant is not held up by the running forecast
            other = _post(server, PREDICT, tenants["pro"], _rows(20))
            assert other.status_code == 200, other.text
            assert len(other.json()["predictions"]) == 20
    finally:
        simulator.release()
        first.join(timeout=60)
    assert [a.status_code for a in answers] == [200]
    forecast = answers[0].json()
    assert forecast["simulations"] == 2000 and forecast["simulated_rounds"]
    assert sum(d["title_probability"] for d in forecast["drivers"]) == pytest.approx(1.0)


def test_beyond_the_process_bound_forecasts_get_503(
    server: LocalApiServer, tenants: dict[str, str], simulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quotas.SIMULATION_SLOTS, "total", 1)
    answers: list[requests.Response] = []
    first = _forecast_in_background(server, tenants["free"], answers)
    assert simulator.entered.wait(timeout=60)
    try:
        busy = _post(server, CHAMPIONSHIP, tenants["pro"], {"season": 2024, "after_round": 20, "simulations": 2000})
        assert busy.status_code == 503, busy.text
        assert busy.json()["error"]["code"] == "server_busy"
        assert _post(server, PREDICT, tenants["pro"], _rows(5)).status_code == 200
    finally:
        simulator.release()
        first.join(timeout=60)
    assert [a.status_code for a in answers] == [200]


def test_requests_over_the_tier_size_caps_get_422_naming_the_field(
    server: LocalApiServer, tenants: dict[str, str]
) -> None:
    free = get_tier("free")
    too_many = _post(server, CHAMPIONSHIP, tenants["free"], {"season": 2024, "simulations": free.max_simulations + 1})
    assert too_many.status_code == 422 and too_many.json()["error"]["field"] == "simulations"
    big_batch = _post(server, PREDICT, tenants["free"], _rows(free.max_batch_rows + 1))
    assert big_batch.status_code == 422 and big_batch.json()["error"]["field"] == "instances"
    assert _post(server, PREDICT, tenants["pro"], _rows(free.max_batch_rows + 1)).status_code == 200


def test_expensive_requests_cost_more_of_the_rate_limit(server: LocalApiServer, tenants: dict[str, str]) -> None:
    free = get_tier("free")
    rows = free.max_batch_rows  # one full batch costs max_batch_rows / ROWS_PER_UNIT units
    cost = quotas.Expense(rows=rows).units
    assert cost > 1
    statuses = [_post(server, PREDICT, tenants["free"], _rows(rows)).status_code for _ in range(free.burst)]
    # the bucket holds `burst` units: at most burst // cost full batches get through back to back
    assert statuses.count(200) <= free.burst // cost + 1
    assert 429 in statuses
    assert _post(server, PREDICT, tenants["pro"], _rows(5)).status_code == 200
