"""The monitoring view of one deployment as plain JSON: what ``GET /api/v1/models/{model}/monitoring``
and the marketplace card show.

The monitoring job (:mod:`pitwall.monitoring.subscriber`) and ``pitwall monitor report``
write ``monitoring/summaries/tenant=<t>/model=<m>.json`` after each run: settings, the
latest drift report, the live record (labelled *live verified*) and, apart, reconstructed
races, and the latest alerts. Reading it needs no pandas or numpy (:func:`read_summary`),
so the lean API Lambda can serve it. In the cloud (``PITWALL_MONITORING_BUCKET`` set) the API
Lambda reads the document the monitoring job pushed to S3
(:class:`pitwall.monitoring.state_aws.S3MonitoringState`), the same key under the state prefix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pitwall.platform import validation

if TYPE_CHECKING:
    from pitwall.monitoring.drift import DriftReport

MAX_ALERTS = 20


def summary_key(tenant_id: str, model: str) -> str:
    """The summary's key relative to the monitoring folder (the same in S3)."""
    tenant = validation.identifier(tenant_id, "tenant_id")
    return f"summaries/tenant={tenant}/model={validation.identifier(model, 'model')}.json"


def summary_path(tenant_id: str, model: str) -> Path:
    from pitwall.monitoring.settings import monitoring_home

    return monitoring_home() / summary_key(tenant_id, model)


def build_summary(tenant_id: str, model: str, report: DriftReport | None, generated_at: str) -> dict[str, Any]:
    from pitwall.monitoring.alerts import read_alerts
    from pitwall.monitoring.record import record_summary
    from pitwall.monitoring.settings import get_settings

    record = record_summary(tenant_id, model)
    return {
        "tenant_id": tenant_id,
        "model": model,
        "generated_at": generated_at,
        "settings": get_settings(tenant_id, model).to_doc(),
        "drift": None if report is None else report.to_dict(),
        "live_verified": record["live"],
        "reconstructed": record["reconstructed"],
        "alerts": [a.to_detail() for a in read_alerts(tenant_id, model)[-MAX_ALERTS:]],
    }


def write_summary(doc: dict[str, Any]) -> Path:
    path = summary_path(doc["tenant_id"], doc["model"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True))
    tmp.replace(path)
    return path


def read_summary(tenant_id: str, model: str) -> dict[str, Any]:
    """The deployment's latest summary; an empty one (nothing measured yet) when none was written.

    The caller checks first that the tenant owns the model (the registry's 404)."""
    from pitwall.monitoring.state_aws import S3MonitoringState

    state = S3MonitoringState.from_env()
    if state is not None:
        raw = state.get(summary_key(tenant_id, model))
        if raw is not None:
            return dict(json.loads(raw))
    else:
        path = summary_path(tenant_id, model)
        if path.is_file():
            return dict(json.loads(path.read_text()))
    from pitwall.monitoring.settings import get_settings

    empty = {"label": "live verified", "races": [], "n_races": 0, "metric": None, "cumulative": None}
    return {
        "tenant_id": tenant_id,
        "model": model,
        "generated_at": None,
        "settings": get_settings(tenant_id, model).to_doc(),
        "drift": None,
        "live_verified": {**empty, "baseline_cumulative": None},
        "reconstructed": {**empty, "label": "reconstructed (not live)", "baseline_cumulative": None},
        "alerts": [],
    }


def live_verified_card(tenant_id: str, model: str, version: int) -> dict[str, Any]:
    """The marketplace card's **live verified** record of one listed model version: only races whose
    prediction was captured before the race (reconstructed races never count), with the mean
    per-race metric of that version and of the template's naive baseline on the same races.
    Distinct from the backtest-verified metrics of the listing."""
    live = read_summary(tenant_id, model)["live_verified"]
    races = [r for r in live.get("races", []) if int(r.get("version", -1)) == int(version)]
    values = [float(r["value"]) for r in races if r.get("value") is not None]
    baselines = [float(r["baseline"]) for r in races if r.get("baseline") is not None]
    return {
        "label": "live verified",
        "version": int(version),
        "n_races": len(races),
        "metric": races[-1]["metric"] if races else None,
        "mean": sum(values) / len(values) if values else None,
        "baseline_mean": sum(baselines) / len(baselines) if baselines else None,
        "races": [{"race_id": r["race_id"], "value": r.get("value"), "baseline": r.get("baseline")} for r in races],
        "note": "scored after each race from predictions captured before it; not the backtest",
    }
