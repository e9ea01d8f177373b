"""What monitoring does when races are ingested: score the live record, then check the alerts.

:func:`on_races_ingested` accepts both shapes of the ``RaceIngested`` event:

- the per-race event of :mod:`pitwall.data.events` (``season``, ``round`` attributes);
- the summary event, one per ingest run, carrying ``races``: a list of ``(season, round)``
  pairs (tuples, ``[season, round]`` lists, ``{"season", "round"}`` dicts, ``"2024-08"``
  race ids, or objects with ``season`` / ``round``);

as a dataclass/object, as its detail dict, or as the whole EventBridge event
(``{"detail-type": "RaceIngested", "detail": {...}}``, what :func:`handler` receives in Lambda).

For every monitored deployment (:func:`pitwall.monitoring.settings.monitored_deployments`:
saved settings or captures in the sink)
and every race: :func:`pitwall.monitoring.record.score_race`; then, per deployment that got a
new live score, the ``live_below_baseline`` rule, and (``check_drift``) the drift rule on its
captures (a drift alert that is still open is not raised again:
:func:`pitwall.monitoring.alerts.unopened`). Alerts go to
:func:`pitwall.monitoring.alerts.alert_publisher`; each deployment's JSON summary
(:mod:`pitwall.monitoring.summary`) is rewritten.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pitwall.data.store import Store
    from pitwall.monitoring.alerts import Alert, AlertPublisher
    from pitwall.monitoring.capture import CaptureSink
    from pitwall.monitoring.record import RaceScore

log = logging.getLogger(__name__)


def _pair(item: Any) -> tuple[int, int]:
    if isinstance(item, str):
        head, _, tail = item.partition("-")
        if head.isdigit() and tail.isdigit():
            return int(head), int(tail)
        raise ValueError(f"races: {item!r} is not a race id like '2024-08'")
    if isinstance(item, Mapping):
        return int(item["season"]), int(item["round"])
    if isinstance(item, Sequence) and len(item) == 2:
        return int(item[0]), int(item[1])
    if hasattr(item, "season") and hasattr(item, "round"):
        return int(item.season), int(item.round)
    raise ValueError(f"races: cannot read a (season, round) from {item!r}")


def ingested_races(event: Any) -> list[tuple[int, int]]:
    """The (season, round) pairs an ingest event announces, in order, without duplicates."""
    if isinstance(event, Mapping) and isinstance(event.get("detail"), Mapping):
        event = event["detail"]
    races: Iterable[Any] | None
    if isinstance(event, Mapping):
        races = event.get("races") or None  # an empty list: the per-race shape (this one race)
        single = event if races is None and "season" in event and "round" in event else None
    else:
        races = getattr(event, "races", None) or None
        single = event if races is None and hasattr(event, "season") and hasattr(event, "round") else None
    if races is not None:
        pairs = [_pair(r) for r in races]
    elif single is not None:
        pairs = [_pair(single)]
    else:
        raise ValueError("event: neither 'races' nor 'season'/'round' found")
    return list(dict.fromkeys(pairs))


@dataclass
class MonitoringOutcome:
    races: list[tuple[int, int]]
    scores: list[RaceScore] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


def check_deployment(
    tenant_id: str,
    model: str,
    *,
    store: Store,
    sink: CaptureSink,
    check_drift: bool = True,
    check_record: bool = True,
) -> list[Alert]:
    """The alert rules of one deployment (nothing is published here)."""
    return _check(tenant_id, model, store=store, sink=sink, check_drift=check_drift, check_record=check_record)[0]


def _check(
    tenant_id: str, model: str, *, store: Store, sink: CaptureSink, check_drift: bool, check_record: bool
) -> tuple[list[Alert], Any]:
    from pitwall.monitoring import alerts as A
    from pitwall.monitoring.drift import drift_report
    from pitwall.monitoring.record import read_record
    from pitwall.monitoring.settings import get_settings
    from pitwall.platform.clock import iso, utc_now

    now = iso(utc_now())
    found: list[Alert] = []
    report = None
    if check_record:
        found += A.record_alerts(read_record(tenant_id, model), get_settings(tenant_id, model), now)
    if check_drift:
        report = drift_report(tenant_id, model, sink=sink, store=store)
        found += A.drift_alerts(report, now)
    return found, report


def on_races_ingested(
    event: Any,
    *,
    store: Store | None = None,
    sink: CaptureSink | None = None,
    publisher: AlertPublisher | None = None,
    deployments: Sequence[tuple[str, str]] | None = None,
    check_drift: bool = True,
) -> MonitoringOutcome:
    """Score every monitored deployment on the ingested races and publish the alerts raised."""
    from pitwall.data.store import get_store
    from pitwall.monitoring.alerts import alert_publisher, unopened
    from pitwall.monitoring.capture import LocalCaptureSink
    from pitwall.monitoring.record import LIVE, score_races
    from pitwall.monitoring.settings import monitored_deployments
    from pitwall.monitoring.summary import build_summary, write_summary
    from pitwall.platform.clock import iso, utc_now

    store = store or get_store()
    sink = sink or LocalCaptureSink()
    publisher = publisher or alert_publisher()
    outcome = MonitoringOutcome(ingested_races(event))
    targets = list(deployments) if deployments is not None else monitored_deployments(sink)
    outcome.scores = score_races(outcome.races, targets, store=store, sink=sink)
    live = {(s.tenant_id, s.model) for s in outcome.scores if s.kind == LIVE}
    for tenant_id, model in targets:
        try:
            raised, report = _check(
                tenant_id, model, store=store, sink=sink, check_drift=check_drift,
                check_record=(tenant_id, model) in live,
            )  # fmt: skip
        except Exception:  # noqa: BLE001 - one deployment's failure never stops the others
            log.exception("monitoring checks of %s/%s failed", tenant_id, model)
            continue
        raised = unopened(raised, report)  # a drift alert is not raised again while it is open
        for alert in raised:
            publisher.publish(alert)
        outcome.alerts += raised
        write_summary(build_summary(tenant_id, model, report, iso(utc_now())))
    return outcome


def race_ingested_subscriber(event: Any) -> None:
    """The in-process subscriber (``LocalEventBus.subscribe(race_ingested_subscriber)``)."""
    outcome = on_races_ingested(event)
    log.info("monitoring: %d race score(s), %d alert(s)", len(outcome.scores), len(outcome.alerts))


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Lambda entry for the EventBridge rule on ``RaceIngested`` (captures in S3). With
    ``PITWALL_MONITORING_BUCKET`` set, the job's state (settings, records, alerts, summaries) is
    pulled from S3 first and what the run changed is pushed back (:mod:`pitwall.monitoring.state_aws`)."""
    from pitwall.monitoring.capture_aws import S3CaptureSink
    from pitwall.monitoring.state_aws import S3MonitoringState

    state = S3MonitoringState.from_env()
    if state is not None:
        state.pull()
    try:
        outcome = on_races_ingested(event, sink=S3CaptureSink.from_env())
    finally:
        if state is not None:
            state.push()
    return {
        "races": [f"{s}-{r:02d}" for s, r in outcome.races],
        "scores": len(outcome.scores),
        "alerts": [a.kind for a in outcome.alerts],
    }
