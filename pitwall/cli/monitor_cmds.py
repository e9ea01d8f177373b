"""``pitwall monitor report|record|configure|alerts NAME``: monitoring of deployed models.

Imports of pandas and the monitoring package happen inside the commands (fast CLI start).
"""

from __future__ import annotations

from pathlib import Path

import typer

from pitwall.cli.common import TenantOption, console, error_message, fail, resolve_tenant

monitor_app = typer.Typer(
    help="Monitoring of deployed models: drift, live track record, capture settings.", no_args_is_help=True
)


def _registered(tenant_id: str, name: str) -> None:
    """NotFound unless ``tenant_id`` has a model ``name`` (as the API's monitoring route checks):
    settings, records and alerts of a mistyped name would otherwise be empty answers, not errors."""
    from pitwall.platform.models import get_model

    get_model(tenant_id, name)


def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


@monitor_app.command("report")
def report_cmd(
    name: str = typer.Argument(..., help="model name"),
    tenant: str = TenantOption,
    version: int = typer.Option(None, "--version", min=1, help="model version (default: the deployed one)"),
    output: Path = typer.Option(None, "--output", help="folder for drift.json and the PNGs"),
) -> None:
    """Drift of served requests vs the training window (PSI, KS, missing rate), JSON + PNGs."""
    from rich.table import Table

    from pitwall.data.store import get_store
    from pitwall.errors import PitwallError
    from pitwall.monitoring.capture import LocalCaptureSink, read_captures
    from pitwall.monitoring.drift import (
        deployed_or_version,
        drift_report,
        load_record_model,
        training_profile,
        write_report,
    )
    from pitwall.monitoring.settings import scoped_dir
    from pitwall.monitoring.summary import build_summary, write_summary

    tenant_id = resolve_tenant(tenant)
    try:
        store, sink = get_store(), LocalCaptureSink()
        report = drift_report(tenant_id, name, sink=sink, store=store, version=version)
        record = deployed_or_version(tenant_id, name, report.version)
        profile = training_profile(record, load_record_model(record), store)
        captures = read_captures(sink, tenant_id, name, version=report.version)
        folder = output or scoped_dir("reports", tenant_id, name) / f"v{report.version}"
        path = write_report(report, folder, profile, captures)
        write_summary(build_summary(tenant_id, name, report, report.generated_at))
    except (PitwallError, ValueError) as exc:
        fail(error_message(exc, tenant_id))
        return
    table = Table(
        title=f"{name} v{report.version}: served ({report.n_served_rows} rows, {report.n_requests} requests) "
        f"vs training {report.training_seasons[0]}-{report.training_seasons[-1]} ({report.n_train_rows} rows)"
    )
    for col in ("feature", "top", "importance", "PSI", "KS", "KS p", "missing train", "missing served"):
        table.add_column(col)
    rows = [*report.features, *([report.prediction] if report.prediction else [])]
    for f in rows:
        flag = f.top and f.psi is not None and f.psi > report.psi_threshold and report.enough_data
        table.add_row(
            f"[red]{f.name}[/red]" if flag else f.name,
            "yes" if f.top else "",
            _fmt(f.importance, 3),
            _fmt(f.psi, 3),
            _fmt(f.ks, 3),
            "" if f.ks_pvalue is None else f"{f.ks_pvalue:.2g}",
            f"{f.missing_train:.1%}",
            f"{f.missing_served:.1%}",
        )
    console.print(table)
    console.print(f"status: {report.status} (PSI threshold {report.psi_threshold} on the top features)")
    if report.note:
        console.print(report.note)
    console.print(f"report: {path}", markup=False)
    for kind, plot in report.plots.items():
        console.print(f"plot ({kind}): {plot}", markup=False)


@monitor_app.command("record")
def record_cmd(
    name: str = typer.Argument(..., help="model name"),
    tenant: str = TenantOption,
) -> None:
    """The live track record (live verified races), and reconstructed races shown apart."""
    from rich.table import Table

    from pitwall.errors import PitwallError
    from pitwall.monitoring.record import LIVE, RECONSTRUCTED, record_summary

    tenant_id = resolve_tenant(tenant)
    try:
        _registered(tenant_id, name)
        summary = record_summary(tenant_id, name)
    except PitwallError as exc:
        fail(error_message(exc, tenant_id))
        return
    for kind in (LIVE, RECONSTRUCTED):
        part = summary[kind]
        if not part["races"] and kind == RECONSTRUCTED:
            continue
        table = Table(title=f"{name}: {part['label']} ({part['n_races']} races)")
        for col in ("race", "version", "metric", "model", "baseline", "cumulative", "baseline cum.", "captured at"):
            table.add_column(col)
        for r in part["races"]:
            table.add_row(
                r["race_id"],
                str(r["version"]),
                r["metric"],
                _fmt(r["value"]),
                _fmt(r["baseline"]),
                _fmt(r["cumulative"]),
                _fmt(r["baseline_cumulative"]),
                r["captured_at"] or "",
            )
        console.print(table)
    if not summary[LIVE]["races"]:
        console.print("no live verified races yet: predictions count once captured before a race and scored after it")


@monitor_app.command("configure")
def configure_cmd(
    name: str = typer.Argument(..., help="model name"),
    tenant: str = TenantOption,
    capture: float = typer.Option(None, "--capture", help="percent of requests captured (0-100)"),
    psi: float = typer.Option(None, "--psi", help="feature drift alert threshold (PSI)"),
    top_features: int = typer.Option(None, "--top-features", help="most important features checked for drift"),
    window: int = typer.Option(None, "--window", help="live record alert: last N races"),
) -> None:
    """Set a deployment's capture rate and alert thresholds."""
    from pitwall.errors import PitwallError
    from pitwall.monitoring.settings import configure

    tenant_id = resolve_tenant(tenant)
    try:
        _registered(tenant_id, name)
        s = configure(
            tenant_id,
            name,
            capture_percent=capture,
            psi_threshold=psi,
            top_features=top_features,
            record_window=window,
        )
    except PitwallError as exc:
        fail(error_message(exc, tenant_id))
        return
    console.print(
        f"{s.model}: capture {s.capture_percent:g}% of requests; drift alert at PSI > {s.psi_threshold} on the top "
        f"{s.top_features} features; record alert over the last {s.record_window} races"
    )


@monitor_app.command("alerts")
def alerts_cmd(name: str = typer.Argument(..., help="model name"), tenant: str = TenantOption) -> None:
    """The model's alert log."""
    from pitwall.errors import PitwallError
    from pitwall.monitoring.alerts import read_alerts

    tenant_id = resolve_tenant(tenant)
    try:
        _registered(tenant_id, name)
        found = read_alerts(tenant_id, name)
    except PitwallError as exc:
        fail(error_message(exc, tenant_id))
        return
    for a in found:
        console.print(f"{a.raised_at}  {a.kind}  {a.message}", markup=False)
    if not found:
        console.print("no alerts")


def register(app: typer.Typer) -> None:
    app.add_typer(monitor_app, name="monitor")
