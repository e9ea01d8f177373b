"""A drift alert is raised once while it is open: per (model, feature, training window), kept in the
tenant's ``alerts/open.json``; it closes when a report with enough data finds the feature back in line."""

from __future__ import annotations

import json

from pitwall.monitoring import alerts
from pitwall.monitoring.drift import ColumnDrift, DriftReport
from pitwall.monitoring.settings import scoped_dir

TENANT = "acme"


def _report(
    psis: dict[str, float], *, model: str = "m", seasons: tuple[int, ...] = (2022, 2023), n_requests: int = 12
) -> DriftReport:
    features = [ColumnDrift(name, psi, 0.5, 0.0, 0.0, 0.0, 1000, 250, 0.5, True) for name, psi in psis.items()]
    return DriftReport(
        TENANT, model, 1, "race_winner", list(seasons), 1000, 250, n_requests, 0.2, 200, features, None, "now",
        min_served_requests=10,
    )  # fmt: skip


def _published(report: DriftReport, at: str, others: list[alerts.Alert] | None = None) -> list[alerts.Alert]:
    """What the monitoring job publishes for ``report`` (the drift rule, then the open-alert filter)."""
    return alerts.unopened([*(others or []), *alerts.drift_alerts(report, at)], report)


def _reasons(published: list[alerts.Alert]) -> list[list[str]]:
    return [sorted(a.details["reasons"]) for a in published if a.kind == alerts.FEATURE_DRIFT]


def test_an_open_drift_alert_is_not_raised_again_until_it_closes() -> None:
    drifted = _report({"start_position": 0.5, "grid_rate": 0.05})
    assert _reasons(_published(drifted, "t1")) == [["start_position"]]
    assert [(e["model"], e["feature"], e["window"]) for e in alerts.open_drift_alerts(TENANT)] == [
        ("m", "start_position", "2022-2023")
    ]
    assert _published(drifted, "t2") == []  # still open: not raised again

    both = _report({"start_position": 0.6, "grid_rate": 0.4})
    assert _reasons(_published(both, "t3")) == [["grid_rate"]]  # only the newly drifted feature

    too_few = _report({"start_position": 0.01, "grid_rate": 0.01}, n_requests=3)
    assert _published(too_few, "t4") == []  # no verdict: the open alerts stay open
    assert {e["feature"] for e in alerts.open_drift_alerts(TENANT)} == {"start_position", "grid_rate"}

    recovered = _report({"start_position": 0.01, "grid_rate": 0.4})
    assert _published(recovered, "t5") == []
    assert {e["feature"] for e in alerts.open_drift_alerts(TENANT)} == {"grid_rate"}
    assert _reasons(_published(both, "t6")) == [["start_position"]]  # drifted again after it closed
    opened = {e["feature"]: e["raised_at"] for e in alerts.open_drift_alerts(TENANT)}
    assert opened == {"start_position": "t6", "grid_rate": "t3"}


def test_the_key_is_the_model_the_feature_and_the_training_window() -> None:
    assert _reasons(_published(_report({"start_position": 0.5}), "t1")) == [["start_position"]]
    assert _reasons(_published(_report({"start_position": 0.5}, model="other"), "t2")) == [["start_position"]]
    retrained = _report({"start_position": 0.5}, seasons=(2022, 2024))  # compared with another window
    assert _reasons(_published(retrained, "t3")) == [["start_position"]]
    assert sorted((e["model"], e["window"]) for e in alerts.open_drift_alerts(TENANT)) == [
        ("m", "2022-2024"),
        ("other", "2022-2023"),
    ]
    path = scoped_dir("alerts", TENANT) / alerts.OPEN_FILE
    assert set(json.loads(path.read_text())) == {alerts.FEATURE_DRIFT}


def test_other_alerts_pass_and_no_report_changes_nothing() -> None:
    below = alerts.Alert(alerts.LIVE_BELOW_BASELINE, TENANT, "m", 1, "below", "t1", {})
    drifted = _report({"start_position": 0.5})
    assert [a.kind for a in _published(drifted, "t1", [below])] == [alerts.LIVE_BELOW_BASELINE, alerts.FEATURE_DRIFT]
    assert _published(drifted, "t2", [below]) == [below]
    assert alerts.unopened([below], None) == [below]
    assert len(alerts.open_drift_alerts(TENANT)) == 1
