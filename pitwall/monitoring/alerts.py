"""Monitoring alerts: per-deployment thresholds that raise a ``ModelAlert`` event.

Two rules (thresholds from :mod:`pitwall.monitoring.settings`):

- ``feature_drift``: a drift report with enough served data (``min_served_rows`` rows from
  ``min_served_requests`` requests) has PSI above ``psi_threshold`` on one of the model's
  ``top_features`` most important features (or that feature's missing rate rose by more than
  ``missing_threshold``). It is raised once per drift: while a (model, feature, training window)
  alert is *open* the job does not raise it again (:func:`unopened`); it closes when a report with
  enough data finds that feature no longer drifted (or the deployed version is compared with
  another window), and a later drift of it raises a new alert. Open drift alerts are kept in
  ``alerts/tenant=<t>/open.json`` (:data:`OPEN_FILE`, mirrored to S3 with the rest of the job's state);
- ``live_below_baseline``: over the last ``record_window`` live verified races (and only once
  that many exist), the mean of the template's primary metric is worse than the naive
  baseline's mean on the same races.

An alert goes to an :class:`AlertPublisher`: :class:`LocalAlertBus` appends it to
``$PITWALL_HOME/monitoring/alerts/tenant=<t>/alerts.jsonl`` and calls in-process
subscribers (e.g. one that starts the retraining workflow); on AWS
:class:`pitwall.monitoring.alerts_aws.EventBridgeAlertPublisher` puts it on EventBridge
(source ``pitwall.monitoring``, detail-type ``ModelAlert``), where a rule forwards it to SNS.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from pitwall.monitoring.drift import DriftReport
    from pitwall.monitoring.settings import MonitoringSettings

log = logging.getLogger(__name__)

ALERT_SOURCE = "pitwall.monitoring"
MODEL_ALERT = "ModelAlert"
FEATURE_DRIFT = "feature_drift"
LIVE_BELOW_BASELINE = "live_below_baseline"
OPEN_FILE = "open.json"


@dataclass(frozen=True)
class Alert:
    kind: str
    tenant_id: str
    model: str
    version: int
    message: str
    raised_at: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_detail(self) -> dict[str, Any]:
        return asdict(self)


def drift_alerts(report: DriftReport, raised_at: str, already_open: Collection[str] = ()) -> list[Alert]:
    """``feature_drift`` when a top feature drifted (PSI above the threshold, or missing values);
    features in ``already_open`` (their alert is still open) are not alerted again."""
    reasons = {f.name: why for f in report.features if f.name not in already_open and (why := report.drift_reason(f))}
    if not reasons:
        return []
    psis = {f.name: f.psi for f in report.features if f.name in reasons}
    listed = "; ".join(f"{name}: {why}" for name, why in reasons.items())
    window = report.training_window
    return [
        Alert(
            kind=FEATURE_DRIFT,
            tenant_id=report.tenant_id,
            model=report.model,
            version=report.version,
            message=(
                f"{report.model} v{report.version}: served features drifted from the training window "
                f"{window} ({listed})"
            ),
            raised_at=raised_at,
            details={
                "reasons": reasons,
                "psi": psis,
                "window": window,
                "psi_threshold": report.psi_threshold,
                "missing_threshold": report.missing_threshold,
                "n_served_rows": report.n_served_rows,
                "n_requests": report.n_requests,
            },
        )
    ]


def _open_path(tenant_id: str) -> Path:
    from pitwall.monitoring.settings import scoped_dir

    return scoped_dir("alerts", tenant_id) / OPEN_FILE


def open_drift_alerts(tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's open drift alerts: ``{"model", "feature", "window", "version", "raised_at"}`` each."""
    path = _open_path(tenant_id)
    return list(json.loads(path.read_text())[FEATURE_DRIFT]) if path.is_file() else []


def _save_open(tenant_id: str, entries: list[dict[str, Any]]) -> None:
    path = _open_path(tenant_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({FEATURE_DRIFT: entries}, indent=2, sort_keys=True))
    tmp.replace(path)


def unopened(alerts: list[Alert], report: DriftReport | None) -> list[Alert]:
    """``alerts`` to publish, without drift that is already alerted and still open, and the open drift
    alerts of the report's model brought up to date: its drifted features are open (for its training
    window), every other of its features is closed. A report without enough data changes nothing."""
    if report is None:
        return alerts
    entries = open_drift_alerts(report.tenant_id)
    window = report.training_window
    opened = {e["feature"]: e["raised_at"] for e in entries if e["model"] == report.model and e["window"] == window}
    drift = [a for a in alerts if a.kind == FEATURE_DRIFT and a.model == report.model]
    kept = [a for a in alerts if a not in drift]
    fresh = drift_alerts(report, drift[0].raised_at, already_open=set(opened)) if drift else []
    if report.enough_data:
        opened.update({feature: a.raised_at for a in fresh for feature in a.details["reasons"]})
        entry = {"model": report.model, "window": window, "version": report.version}
        mine = [{**entry, "feature": f, "raised_at": opened[f]} for f in report.drifted_features if f in opened]
        updated = [e for e in entries if e["model"] != report.model] + mine
        if updated != entries:
            _save_open(report.tenant_id, updated)
    return kept + fresh


def record_alerts(record: pd.DataFrame, settings: MonitoringSettings, raised_at: str) -> list[Alert]:
    """``live_below_baseline`` over the last ``settings.record_window`` live races."""
    window = settings.record_window
    rows = record.dropna(subset=["value", "baseline"])
    if len(rows) < window:
        return []
    last = rows.tail(window)
    model_mean, base_mean = float(last["value"].mean()), float(last["baseline"].mean())
    maximize = str(last["direction"].iloc[-1]) == "maximize"
    worse = model_mean < base_mean if maximize else model_mean > base_mean
    if not worse:
        return []
    metric = str(last["metric"].iloc[-1])
    return [
        Alert(
            kind=LIVE_BELOW_BASELINE,
            tenant_id=settings.tenant_id,
            model=settings.model,
            version=int(last["version"].iloc[-1]),
            message=(
                f"{settings.model}: live {metric} over the last {window} races is {model_mean:.4f}, "
                f"worse than the baseline's {base_mean:.4f}"
            ),
            raised_at=raised_at,
            details={
                "metric": metric,
                "window": window,
                "model_mean": model_mean,
                "baseline_mean": base_mean,
                "races": [str(r) for r in last["race_id"]],
            },
        )
    ]


class AlertPublisher(Protocol):
    def publish(self, alert: Alert) -> None: ...


class LocalAlertBus:
    """JSONL log per tenant + in-process subscribers (a failing subscriber is logged, not raised)."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[Alert], None]] = []
        self._lock = threading.Lock()
        self.published: list[Alert] = []

    def subscribe(self, handler: Callable[[Alert], None]) -> Callable[[Alert], None]:
        self._subscribers.append(handler)
        return handler

    def publish(self, alert: Alert) -> None:
        from pitwall.monitoring.settings import scoped_dir

        path = scoped_dir("alerts", alert.tenant_id) / "alerts.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            with open(path, "a") as fh:
                fh.write(json.dumps(alert.to_detail(), sort_keys=True) + "\n")
            self.published.append(alert)
        for handler in self._subscribers:
            try:
                handler(alert)
            except Exception:  # noqa: BLE001
                log.exception("alert subscriber failed on %s", alert.kind)


def read_alerts(tenant_id: str, model: str | None = None) -> list[Alert]:
    """The tenant's alert log (one model's when given), oldest first."""
    from pitwall.monitoring.settings import scoped_dir

    path = scoped_dir("alerts", tenant_id) / "alerts.jsonl"
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            doc = json.loads(line)
            if model is None or doc["model"] == model:
                out.append(Alert(**doc))
    return out


_local_bus: LocalAlertBus | None = None


def alert_publisher() -> AlertPublisher:
    """``PITWALL_BACKEND=aws``: EventBridge; otherwise the process's local alert bus."""
    import os

    global _local_bus
    if os.environ.get("PITWALL_BACKEND", "local") == "aws":
        from pitwall.monitoring.alerts_aws import EventBridgeAlertPublisher

        return EventBridgeAlertPublisher(bus_name=os.environ.get("PITWALL_EVENT_BUS", "default"))
    if _local_bus is None:
        _local_bus = LocalAlertBus()
    return _local_bus
