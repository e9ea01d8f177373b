"""Helpers shared by CLI command modules: season ranges, error reporting, progress bars."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

from pitwall import refs
from pitwall.config import LOCAL_TENANT

if TYPE_CHECKING:
    from rich.console import Console


class LazyConsole:
    """A rich ``Console`` made on first use: importing rich costs every command ~40 ms, which
    ``pitwall --help`` and the commands that print nothing need not pay. Attributes pass through
    (``console.print(...)``); ``.rich`` is the Console itself, for rich objects that take one."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    @property
    def rich(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rich, name)


TENANT_ENV = "PITWALL_TENANT"
TenantOption = typer.Option(None, "--tenant", help=f"tenant id (default: ${TENANT_ENV} or '{LOCAL_TENANT}')")


def resolve_tenant(value: str | None) -> str:
    """The tenant a command acts for: ``--tenant``, else ``$PITWALL_TENANT``, else ``local``."""
    import os

    return value or os.environ.get(TENANT_ENV) or LOCAL_TENANT


def error_message(exc: Exception, tenant_id: str | None = None) -> str:
    """``exc``'s one-line message; a model that ``tenant_id`` does not have also names that tenant
    and how to choose another (the CLI acts for its own tenant, so naming it leaks nothing)."""
    from pitwall.errors import NotFound

    message = getattr(exc, "message", None) or str(exc)
    if tenant_id is not None and isinstance(exc, NotFound) and message.startswith("model "):
        message += f" for tenant {tenant_id!r} (another: --tenant or ${TENANT_ENV})"
    return message


# piped output (files, CI logs, tests) gets a wide fixed width instead of rich's 80-column default
console = LazyConsole(width=None if sys.stdout.isatty() else 160)
err_console = LazyConsole(stderr=True)


def parse_seasons(text: str | None) -> list[int] | None:
    """'2014-2024' -> [2014..2024]; '2023' -> [2023]; '2018,2020' -> [2018, 2020]; None -> None.

    The grammar is :func:`pitwall.refs.parse_seasons`; an empty option means "the default".
    """
    if text is None or not text.strip():
        return None
    try:
        return refs.parse_seasons(text, field="--seasons")
    except refs.RefError as exc:
        raise typer.BadParameter(str(exc)) from None


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar; yields a callback (label, done, total)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[label]}"),
        TimeElapsedColumn(),
        console=err_console.rich,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None, label="")

        def update(label: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, label=label)

        yield update


@contextmanager
def library_progress() -> Iterator[None]:
    """Show the progress the library reports (:mod:`pitwall.progress`: training stages, tuning
    trials, AutoML candidates, backtest races) as rich bars with an ETA, one bar per task, on
    stderr. Piped output (tests, CI logs) stays free of them: rich draws nothing without a terminal."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from pitwall.progress import listening

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[label]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err_console.rich,
        transient=True,
    ) as bars:
        tasks: dict[str, Any] = {}

        def update(task: str, done: int, total: int | None, label: str) -> None:
            if task not in tasks:
                tasks[task] = bars.add_task(task, total=total, label=label)
            bars.update(tasks[task], completed=done, total=total, label=label)

        with listening(update):
            yield


def fail(message: str, code: int = 2) -> None:
    """Print a one-line error (no traceback) and exit."""
    err_console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def print_card_note(template: str, indent: str = "") -> None:
    """After a training run's figures (one evaluation season), the template's card note: its
    verdict against its baselines over the validation and reported seasons, e.g. that it has not
    been shown to beat the grid prior. Nothing for a template without one."""
    from pitwall.templates import TEMPLATES

    spec = TEMPLATES.get(template)
    if spec is not None and spec.card_note:
        console.print(f"{indent}card: {spec.card_note}", markup=False)


def print_frame(df, title: str | None = None, max_rows: int = 60) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    table = Table(title=title)
    for col in df.columns:
        table.add_column(str(col))
    for _, row in df.head(max_rows).iterrows():
        table.add_row(*["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in row.tolist()])
    console.print(table)
    if len(df) > max_rows:
        console.print(f"... {len(df) - max_rows} more rows")
