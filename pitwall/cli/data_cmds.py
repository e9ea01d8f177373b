"""``pitwall ingest ...``, ``pitwall data status`` and ``pitwall sql``."""

from __future__ import annotations

from pathlib import Path

import typer

from pitwall.cli.common import console, fail, parse_seasons, print_frame, progress_bar
from pitwall.config import default_data_dir
from pitwall.data.validation import SourceValidationError

ingest_app = typer.Typer(help="Ingest F1 data into the store (incremental, idempotent).", no_args_is_help=True)
data_app = typer.Typer(help="What is stored.", no_args_is_help=True)


def _store():  # type: ignore[no-untyped-def]
    from pitwall.data.store import get_store

    return get_store()


def _publisher():  # type: ignore[no-untyped-def]
    from pitwall.runtime import event_publisher

    return event_publisher()


def _report_subscriber_errors(publisher) -> None:  # type: ignore[no-untyped-def]
    """Ingest committed; say which 'race ingested' subscribers (feature refresh, retraining) failed."""
    for event, exc in getattr(publisher, "errors", [])[:5]:
        console.print(f"[yellow]warning:[/yellow] after {event.race_id}: {type(exc).__name__}: {exc}")


@ingest_app.command("f1db")
def ingest_f1db_cmd(
    path: Path = typer.Argument(None, help="F1DB checkout or its src/data folder (default: $PITWALL_DATA/f1db)"),
    seasons: str = typer.Option(None, "--seasons", help="e.g. 2014-2024 (default: all)"),
    round_: list[int] = typer.Option(None, "--round", help="only these rounds (needs one season)"),
    clone: bool = typer.Option(False, "--clone", help="shallow-clone the public F1DB repository into PATH first"),
    force: bool = typer.Option(False, "--force", help="rewrite races even when their files are unchanged"),
    allow_removal: bool = typer.Option(
        False, "--allow-removal", help="delete stored races whose folder is gone from the source"
    ),
) -> None:
    """Ingest an F1DB YAML source tree (unchanged race folders are skipped)."""
    from pitwall.data.ingest import ingest_f1db
    from pitwall.data.ingest_state import IngestLockedError
    from pitwall.data.sources import f1db

    root = path or default_data_dir() / "f1db"
    try:
        if clone:
            root = f1db.clone(root)
        publisher = _publisher()
        with progress_bar("F1DB") as update:
            report = ingest_f1db(
                _store(),
                root,
                parse_seasons(seasons),
                round_ or None,
                publisher=publisher,
                progress=update,
                force=force,
                allow_removal=allow_removal,
            )
        _report_subscriber_errors(publisher)
    except (SourceValidationError, FileNotFoundError, ValueError, ConnectionError, IngestLockedError) as exc:
        fail(str(exc))
    console.print(report.summary())


@ingest_app.command("laps")
def ingest_laps_cmd(
    path: Path = typer.Argument(None, help="laps_<season>.csv file or folder (default: $PITWALL_DATA/fastf1-laps)"),
    seasons: str = typer.Option(None, "--seasons"),
    round_: list[int] = typer.Option(None, "--round"),
    force: bool = typer.Option(False, "--force", help="rewrite files even when they are unchanged"),
) -> None:
    """Ingest FastF1 lap exports (CSV), joined to F1DB drivers (unchanged files are skipped)."""
    from pitwall.data.ingest import ingest_laps_csv
    from pitwall.data.ingest_state import IngestLockedError

    try:
        with progress_bar("laps") as update:
            report = ingest_laps_csv(
                _store(),
                path or default_data_dir() / "fastf1-laps",
                parse_seasons(seasons),
                round_ or None,
                publisher=_publisher(),
                progress=update,
                force=force,
            )
    except (SourceValidationError, FileNotFoundError, ValueError, IngestLockedError) as exc:
        fail(str(exc))
    console.print(report.summary())
    if report.join is not None and report.join.unjoined:
        console.print("unjoined (season, round, code): rows")
        for key, n in sorted(report.join.unjoined.items()):
            console.print(f"  {key}: {n}")


@ingest_app.command("fastf1")
def ingest_fastf1_cmd(
    season: int = typer.Option(..., "--season"),
    round_: int = typer.Option(None, "--round", help="default: every round of the season"),
) -> None:
    """Download one race (or a season) live through the fastf1 library (needs internet)."""
    from pitwall.data.sources.fastf1_live import ingest_fastf1

    try:
        report = ingest_fastf1(_store(), season, round_, publisher=_publisher())
    except (SourceValidationError, ValueError, ConnectionError) as exc:
        fail(str(exc))
    console.print(report.summary())


@data_app.command("status")
def status_cmd() -> None:
    """Seasons, races and row counts per stored table."""
    from pitwall.data.ingest import data_status, data_warnings

    store = _store()
    df = data_status(store)
    for warning in data_warnings(store):
        console.print(f"[yellow]warning:[/yellow] {warning}")
    if df.empty:
        console.print("the store is empty: run `pitwall ingest f1db` first")
        return
    print_frame(df, title="Pitwall store")


def sql_cmd(query: str = typer.Argument(..., help="e.g. \"SELECT * FROM results WHERE race_id = '2024-08'\"")) -> None:
    """Run SQL over the stored tables (DuckDB locally, Athena on AWS)."""
    try:
        df = _store().sql(query)
    except Exception as exc:  # noqa: BLE001 - any SQL error is the user's query, shown without a traceback
        fail(f"query failed: {exc}")
    print_frame(df)


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")
    app.add_typer(data_app, name="data")
    app.command("sql")(sql_cmd)
