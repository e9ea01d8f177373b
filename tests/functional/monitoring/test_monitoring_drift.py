"""Drift on real data: requests built from 2014 features against a model trained on 2022-2023
raise the drift alert; the real 2024 season's requests against the same model do not."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pandas as pd
import pytest

from pitwall.features import FeatureStore
from pitwall.monitoring.alerts import FEATURE_DRIFT, LocalAlertBus, read_alerts
from pitwall.monitoring.drift import drift_report
from pitwall.monitoring.subscriber import check_deployment, on_races_ingested
from pitwall.templates import get_template

from .conftest import TENANT, MonitorEnv

OLD = "rw_drift_2014"
REAL = "rw_real_2024"


def _instances(frame: pd.DataFrame, features: list[str]) -> list[dict]:
    rows = []
    for _, r in frame.iterrows():
        row = {f: (None if pd.isna(r[f]) else float(r[f])) for f in features}
        rows.append({**row, "driver_id": str(r["driver_id"]), "race_id": str(r["race_id"])})
    return rows


@pytest.fixture(scope="module")
def served(monitor_env: MonitorEnv) -> dict:
    env = monitor_env
    env.clock.now = datetime(2026, 3, 1, tzinfo=UTC)
    old, real = env.deploy(TENANT, OLD), env.deploy(TENANT, REAL)
    spec = get_template("race_winner")
    features = list(env.record.features)
    frame_2014 = spec.frame(FeatureStore(env.store), [2014])
    for _, race in frame_2014.groupby("race_id", sort=True):
        env.service.invoke(old, OLD, {"instances": _instances(race, features)})
    rounds = sorted(env.store.read("races", [2024])["round"].astype(int))
    for rnd in rounds:
        env.service.invoke(real, REAL, {"race": f"2024-{rnd:02d}"})
    return {"rounds_2024": rounds, "races_2014": frame_2014["race_id"].nunique()}


def test_2014_requests_raise_the_drift_alert(monitor_env: MonitorEnv, served: dict) -> None:
    report = drift_report(TENANT, OLD, sink=monitor_env.sink, store=monitor_env.store)
    assert report.n_requests == served["races_2014"] and report.status == "drift"
    assert report.drifted_features
    alerts = check_deployment(TENANT, OLD, store=monitor_env.store, sink=monitor_env.sink, check_record=False)
    assert [a.kind for a in alerts] == [FEATURE_DRIFT]
    assert alerts[0].details["reasons"].keys() == set(report.drifted_features)


def test_real_2024_requests_do_not(monitor_env: MonitorEnv, served: dict) -> None:
    report = drift_report(TENANT, REAL, sink=monitor_env.sink, store=monitor_env.store)
    assert report.n_requests == len(served["rounds_2024"]) and report.enough_data
    assert report.status == "ok", {f.name: f.psi for f in report.features if f.top}
    assert check_deployment(TENANT, REAL, store=monitor_env.store, sink=monitor_env.sink, check_record=False) == []
    # the served values are the stored pre-race rows: the prediction distribution is the model's own
    assert report.prediction is not None and report.prediction.psi is not None


def test_psi_and_ks_of_the_report_match_a_recomputation(monitor_env: MonitorEnv, served: dict) -> None:
    from scipy import stats

    report = drift_report(TENANT, OLD, sink=monitor_env.sink, store=monitor_env.store)
    spec = get_template("race_winner")
    fs = FeatureStore(monitor_env.store)
    train, old = spec.frame(fs, [2022, 2023]), spec.frame(fs, [2014])
    for f in report.features:
        t = pd.to_numeric(train[f.name], errors="coerce").astype(float).dropna()
        o = pd.to_numeric(old[f.name], errors="coerce").astype(float)
        assert f.missing_served == pytest.approx(o.isna().mean())
        if f.ks is not None:
            assert f.ks == pytest.approx(stats.ks_2samp(t, o.dropna()).statistic)


def test_the_subscriber_publishes_the_drift_alert_and_the_cli_writes_the_report(
    monitor_env: MonitorEnv, served: dict, tmp_path
) -> None:
    from typer.testing import CliRunner

    from pitwall.cli import app

    bus = LocalAlertBus()
    got = []
    bus.subscribe(got.append)
    on_races_ingested({"races": [[2024, 1]]}, store=monitor_env.store, sink=monitor_env.sink, publisher=bus,
                      deployments=[(TENANT, OLD), (TENANT, REAL)])  # fmt: skip
    assert [(a.model, a.kind) for a in got] == [(OLD, FEATURE_DRIFT)]
    assert [a.kind for a in read_alerts(TENANT, OLD)] == [FEATURE_DRIFT]
    assert read_alerts(TENANT, REAL) == []
    # the next race: the same drift is still open, so it is not raised again
    again = on_races_ingested({"races": [[2024, 2]]}, store=monitor_env.store, sink=monitor_env.sink, publisher=bus,
                              deployments=[(TENANT, OLD), (TENANT, REAL)])  # fmt: skip
    assert again.alerts == [] and len(got) == 1
    assert [a.kind for a in read_alerts(TENANT, OLD)] == [FEATURE_DRIFT]

    out = CliRunner().invoke(app, ["monitor", "report", OLD, "--tenant", TENANT, "--output", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert "status: drift" in out.output
    doc = json.loads((tmp_path / "drift.json").read_text())
    assert doc["status"] == "drift" and doc["drifted_features"]
    assert all(math.isfinite(f["psi"]) for f in doc["features"] if f["psi"] is not None)
    for png in ("psi.png", "features.png", "prediction.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    alerts = CliRunner().invoke(app, ["monitor", "alerts", OLD, "--tenant", TENANT])
    assert alerts.exit_code == 0 and FEATURE_DRIFT in alerts.output
    for command in (["alerts"], ["record"], ["configure", "--capture", "50"]):  # a mistyped name: an error
        typo = CliRunner().invoke(app, ["monitor", *command, OLD + "x", "--tenant", TENANT])
        assert typo.exit_code == 2 and f"model '{OLD}x' not found for tenant '{TENANT}'" in typo.output, typo.output
