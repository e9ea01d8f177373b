"""Tenant isolation of captures and records; the deployment's sampling rate on the serving path."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from pitwall.errors import NotFound, ValidationFailed
from pitwall.monitoring.capture import read_captures
from pitwall.monitoring.drift import drift_report
from pitwall.monitoring.record import read_record
from pitwall.monitoring.settings import configure, monitored_deployments

from .conftest import OTHER_TENANT, TENANT, MonitorEnv

SHARED_NAME = "rw_both"


@pytest.fixture(scope="module")
def two_tenants(monitor_env: MonitorEnv) -> dict:
    env = monitor_env
    env.clock.now = datetime(2026, 3, 1, tzinfo=UTC)
    a, b = env.deploy(TENANT, SHARED_NAME), env.deploy(OTHER_TENANT, SHARED_NAME)
    env.service.invoke(a, SHARED_NAME, {"race": "2024-03"})
    env.service.invoke(a, SHARED_NAME, {"race": "2024-04"})
    env.service.invoke(b, SHARED_NAME, {"race": "2024-05"})
    return {"a": a, "b": b}


def test_each_tenant_reads_only_its_own_captures(monitor_env: MonitorEnv, two_tenants: dict) -> None:
    mine = read_captures(monitor_env.sink, TENANT, SHARED_NAME)
    theirs = read_captures(monitor_env.sink, OTHER_TENANT, SHARED_NAME)
    assert set(mine["tenant_id"]) == {TENANT} and set(mine["race_id"]) == {"2024-03", "2024-04"}
    assert set(theirs["tenant_id"]) == {OTHER_TENANT} and set(theirs["race_id"]) == {"2024-05"}
    assert not set(mine["capture_id"]) & set(theirs["capture_id"])
    assert (OTHER_TENANT, SHARED_NAME) in monitored_deployments()


@pytest.mark.parametrize("tenant", ["../acme", "acme/../globex", ""])
def test_a_tenant_id_cannot_reach_another_folder(monitor_env: MonitorEnv, tenant: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        read_captures(monitor_env.sink, tenant, SHARED_NAME)
    assert err.value.field == "tenant_id"


def test_reports_and_records_are_tenant_scoped(monitor_env: MonitorEnv, two_tenants: dict) -> None:
    with pytest.raises(NotFound):
        drift_report("initech", SHARED_NAME, sink=monitor_env.sink, store=monitor_env.store)
    assert drift_report(OTHER_TENANT, SHARED_NAME, sink=monitor_env.sink, store=monitor_env.store).n_requests == 1
    assert read_record("initech", SHARED_NAME).empty


def test_capture_rate_of_the_deployment_is_honoured(monitor_env: MonitorEnv) -> None:
    env = monitor_env
    name = "rw_sampled"
    principal = env.deploy(TENANT, name)
    configure(TENANT, name, capture_percent=30)
    row = {f: 1.0 for f in env.record.features}
    n = 400
    for _ in range(n):
        env.service.invoke(principal, name, {"instances": [row]})
    kept = read_captures(env.sink, TENANT, name)["capture_id"].nunique()
    sd = math.sqrt(n * 0.3 * 0.7)
    assert abs(kept - n * 0.3) < 4 * sd
    configure(TENANT, name, capture_percent=0)
    env.service.invoke(principal, name, {"instances": [row]})
    assert read_captures(env.sink, TENANT, name)["capture_id"].nunique() == kept


def test_inference_container_hook_captures_what_the_predictor_answered(monitor_env: MonitorEnv) -> None:
    from pitwall.monitoring.capture import CaptureRecorder, Sampler, capture_predictor_answer
    from pitwall.platform.models import get_model
    from pitwall.serving.deploy import LocalServing

    env = monitor_env
    name = "rw_container"
    env.deploy(TENANT, name)
    local = LocalServing()  # what the container holds: a predictor and an InProcessServing
    predictor = local.cache.get(get_model(TENANT, name))
    payload = {"race": "2024-02"}
    answer = local.serving.invoke(predictor, payload)
    recorder = CaptureRecorder(env.sink, sampler=Sampler(0), clock=env.clock)
    capture_id = capture_predictor_answer(recorder, predictor, local.serving, payload, answer)
    caps = read_captures(env.sink, TENANT, name)
    assert set(caps["capture_id"]) == {capture_id} and caps["paired"].all()
    by_driver = {p["driver_id"]: p["rank"] for p in answer["predictions"]}
    assert dict(zip(caps["entity"], caps["rank"], strict=True)) == by_driver


def test_background_writer_writes_every_capture_after_flush(monitor_env: MonitorEnv) -> None:
    from pitwall.monitoring.capture import CaptureRecorder, CapturingServing, Sampler
    from pitwall.serving.deploy import DeploymentService, LocalServing

    env = monitor_env
    name = "rw_background"
    principal = env.deploy(TENANT, name)
    recorder = CaptureRecorder(env.sink, sampler=Sampler(0), clock=env.clock, background=True)
    service = DeploymentService(CapturingServing(LocalServing(), recorder))
    ids = set()
    for rnd in (1, 2, 3, 4, 5):
        service.invoke(principal, name, {"race": f"2024-{rnd:02d}"})
    assert recorder.flush(timeout=60)
    caps = read_captures(env.sink, TENANT, name)
    ids = set(caps["capture_id"])
    assert len(ids) == 5 and set(caps["race_id"]) == {f"2024-{r:02d}" for r in (1, 2, 3, 4, 5)}
    assert recorder.failures == 0
