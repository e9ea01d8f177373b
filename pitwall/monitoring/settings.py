"""Per-deployment monitoring settings: capture sampling rate and alert thresholds.

One small JSON document per (tenant, model) under ``$PITWALL_HOME/monitoring/settings/``
(``tenant=<t>/model=<m>.json``). ``pitwall deploy NAME --capture 100`` and
``pitwall monitor configure NAME`` write it; the capture path, the drift report and the
alert rules read it. A deployment without a document is captured at
:data:`DEFAULT_CAPTURE_PERCENT` and checked with the default thresholds.

PSI on a handful of requests measures noise (five race requests are five circuits, a hundred rows of
correlated per-race values), so there is no drift verdict, and no drift alert, before the served side
holds at least ``min_served_rows`` captured rows (:data:`DEFAULT_MIN_SERVED_ROWS`; a race request is
one row per driver) from at least ``min_served_requests`` requests (:data:`DEFAULT_MIN_SERVED_REQUESTS`;
each race request counts once). Until then the drift report says ``insufficient_data`` and its
``note`` how much is missing ("not enough data: 5 of 10 requests, 100 of 200 rows captured").

With ``PITWALL_MONITORING_BUCKET`` set (the API Lambda, the endpoint containers and the job in the
cloud, where no process keeps a home), the same document is read and written at
``s3://<bucket>/<prefix>/settings/tenant=<t>/model=<m>.json``
(:class:`pitwall.monitoring.state_aws.S3MonitoringState`): the deploy route writes the capture rate
there and the endpoint container that captures reads it.

Tenant isolation: every read and write names one tenant; the tenant id and model name are
validated identifiers, so a path can never leave that tenant's folder.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from pitwall.config import pitwall_home
from pitwall.errors import ValidationFailed
from pitwall.platform import validation

DEFAULT_CAPTURE_PERCENT = 100.0
DEFAULT_PSI_THRESHOLD = 0.2
DEFAULT_MISSING_THRESHOLD = 0.2
DEFAULT_TOP_FEATURES = 5
DEFAULT_RECORD_WINDOW = 5
DEFAULT_MIN_SERVED_ROWS = 200
DEFAULT_MIN_SERVED_REQUESTS = 10


def monitoring_home() -> Path:
    """``$PITWALL_HOME/monitoring`` (created on first use)."""
    path = pitwall_home() / "monitoring"
    path.mkdir(parents=True, exist_ok=True)
    return path


def scoped_dir(area: str, tenant_id: str, model: str | None = None) -> Path:
    """``monitoring/<area>/tenant=<t>[/model=<m>]``: the only way paths are built from names."""
    path = monitoring_home() / area / f"tenant={validation.identifier(tenant_id, 'tenant_id')}"
    if model is not None:
        path = path / f"model={validation.identifier(model, 'model')}"
    return path


@dataclass(frozen=True)
class MonitoringSettings:
    """What is captured and when an alert is raised, for one deployed model."""

    tenant_id: str
    model: str
    capture_percent: float = DEFAULT_CAPTURE_PERCENT  # share of requests captured, 0-100
    psi_threshold: float = DEFAULT_PSI_THRESHOLD  # feature drift alert: PSI above this on a top feature
    missing_threshold: float = DEFAULT_MISSING_THRESHOLD  # ... or its missing rate up by more than this
    top_features: int = DEFAULT_TOP_FEATURES  # the model's most important features checked for drift
    record_window: int = DEFAULT_RECORD_WINDOW  # live-record alert: last N scored races
    min_served_rows: int = DEFAULT_MIN_SERVED_ROWS  # no drift verdict on fewer captured rows
    min_served_requests: int = DEFAULT_MIN_SERVED_REQUESTS  # ... nor on rows from fewer requests

    def __post_init__(self) -> None:
        validation.identifier(self.tenant_id, "tenant_id")
        validation.identifier(self.model, "model")
        _number(self.capture_percent, "capture_percent", 0.0, 100.0)
        _number(self.psi_threshold, "psi_threshold", 0.0, math.inf, open_low=True)
        _number(self.missing_threshold, "missing_threshold", 0.0, 1.0)
        for name in ("top_features", "record_window", "min_served_rows", "min_served_requests"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationFailed(f"{name} must be a positive integer; got {value!r}", field=name)

    @property
    def capture_rate(self) -> float:
        """The sampling probability (0-1)."""
        return float(self.capture_percent) / 100.0

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> MonitoringSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in known})


def _number(value: Any, name: str, low: float, high: float, *, open_low: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationFailed(f"{name} must be a number; got {value!r}", field=name)
    if value < low or value > high or (open_low and value == low):
        bound = f"({low}, {high}]" if open_low else f"[{low}, {high}]"
        raise ValidationFailed(f"{name} must be in {bound}; got {value!r}", field=name)


def settings_key(tenant_id: str, model: str) -> str:
    """The settings document's key relative to the monitoring folder (the same in S3)."""
    tenant = validation.identifier(tenant_id, "tenant_id")
    return f"settings/tenant={tenant}/model={validation.identifier(model, 'model')}.json"


def settings_path(tenant_id: str, model: str) -> Path:
    return monitoring_home() / settings_key(tenant_id, model)


def _state() -> Any:
    from pitwall.monitoring.state_aws import S3MonitoringState

    return S3MonitoringState.from_env()


def get_settings(tenant_id: str, model: str) -> MonitoringSettings:
    """The deployment's settings (the defaults when none were saved)."""
    state = _state()
    if state is not None:
        raw = state.get(settings_key(tenant_id, model))
        text = None if raw is None else raw.decode("utf-8")
    else:
        path = settings_path(tenant_id, model)
        text = path.read_text() if path.is_file() else None
    if text is None:
        return MonitoringSettings(tenant_id, model)
    return MonitoringSettings.from_doc({**json.loads(text), "tenant_id": tenant_id, "model": model})


def save_settings(settings: MonitoringSettings) -> MonitoringSettings:
    body = json.dumps(settings.to_doc(), indent=2, sort_keys=True)
    state = _state()
    if state is not None:
        state.put(settings_key(settings.tenant_id, settings.model), body.encode("utf-8"))
        return settings
    path = settings_path(settings.tenant_id, settings.model)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(body)
    tmp.replace(path)
    return settings


def configure(tenant_id: str, model: str, **changes: Any) -> MonitoringSettings:
    """Update some settings of a deployment (``capture_percent=100``, ``psi_threshold=0.25``...)."""
    known = {f.name for f in fields(MonitoringSettings)} - {"tenant_id", "model"}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ValidationFailed(
            f"{unknown[0]}: not a monitoring setting (known: {', '.join(sorted(known))})", field=unknown[0]
        )
    current = get_settings(tenant_id, model)
    return save_settings(replace(current, **{k: v for k, v in changes.items() if v is not None}))


def monitored_deployments(sink: Any = None) -> list[tuple[str, str]]:
    """(tenant, model) of every deployment with saved settings or with captures in ``sink``
    (default: the local capture folder): the list the race-ingested job walks. Internal and
    across tenants: never exposed to a tenant."""
    found: set[tuple[str, str]] = set()
    root = monitoring_home() / "settings"
    if root.is_dir():
        for tenant_dir in root.glob("tenant=*"):
            for entry in tenant_dir.glob("model=*.json"):
                found.add((tenant_dir.name.removeprefix("tenant="), entry.name.removeprefix("model=")[: -len(".json")]))
    if sink is None:
        from pitwall.monitoring.capture import LocalCaptureSink

        sink = LocalCaptureSink()
    found.update(sink.deployments())
    return sorted(found)
