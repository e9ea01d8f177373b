"""Progress of long library calls (training, tuning, AutoML, backtests), for whoever listens.

Library code calls :func:`report` at each step; nothing is shown unless a listener is installed
with :func:`listening` (the CLI installs a rich progress bar with an ETA). The listener lives in a
context variable, so concurrent calls in other threads (a server's training jobs) stay silent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Listener = Callable[[str, int, int | None, str], None]
"""``(task, done, total, label)``: ``task`` names the bar (e.g. ``"backtest 2024"``), ``done`` of
``total`` steps are finished (``total`` None: unknown), ``label`` says what runs now."""

_listener: ContextVar[Listener | None] = ContextVar("pitwall_progress_listener", default=None)


def report(task: str, done: int, total: int | None = None, label: str = "") -> None:
    """Tell the current listener (if any) that ``done`` of ``total`` steps of ``task`` are finished."""
    listener = _listener.get()
    if listener is not None:
        listener(task, done, total, label)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send the progress of the calls made inside this block to ``listener``."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)
