"""Progress of long library calls (training, tuning, AutoML, backtests), for whoever listens.

Library code calls :func:`report` at each step; nothing is shown unless a listener is installed
with :func:`listening` (the CLI installs a rich progress bar with an ETA). The listener lives in a
context variable, so concurrent calls in other threads (a server's training jobs) stay silent.

In a notebook: ``with pitwall.progress.bars(): pw.train(...)`` shows one bar per task with an ETA
(``tqdm.auto``: a widget in Jupyter when ipywidgets is installed, text otherwise; plain text lines
without tqdm). ``pitwall.progress.show_in_notebook()`` turns the bars on for every later cell of
the calling thread's notebook (a process-wide fallback listener: never call it in a server).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

Listener = Callable[[str, int, int | None, str], None]
"""``(task, done, total, label)``: ``task`` names the bar (e.g. ``"backtest 2024"``), ``done`` of
``total`` steps are finished (``total`` None: unknown), ``label`` says what runs now."""

_listener: ContextVar[Listener | None] = ContextVar("pitwall_progress_listener", default=None)


_fallback: Listener | None = None
"""The listener of calls made outside any :func:`listening` block (:func:`show_in_notebook`)."""


def report(task: str, done: int, total: int | None = None, label: str = "") -> None:
    """Tell the current listener (if any) that ``done`` of ``total`` steps of ``task`` are finished."""
    listener = _listener.get() or _fallback
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


class NotebookBars:
    """A listener drawing one bar per task: ``tqdm.auto`` when tqdm is installed, else a text line
    per step on ``stream`` (default stderr). A task's bar closes when it reaches its total."""

    def __init__(self, stream: TextIO | None = None, use_tqdm: bool | None = None) -> None:
        self.stream = stream
        self._tqdm: Any = None
        if use_tqdm is not False:
            try:
                from tqdm.auto import tqdm

                self._tqdm = tqdm
            except ImportError:
                if use_tqdm:
                    raise
        self._bars: dict[str, Any] = {}

    @property
    def uses_tqdm(self) -> bool:
        return self._tqdm is not None

    def __call__(self, task: str, done: int, total: int | None, label: str) -> None:
        out = self.stream if self.stream is not None else sys.stderr
        if self._tqdm is None:
            of = f"/{total}" if total is not None else ""
            out.write(f"{task}: {done}{of} {label}".rstrip() + "\n")
            return
        bar = self._bars.get(task)
        if bar is None:
            bar = self._bars[task] = self._tqdm(total=total, desc=task, file=out, leave=True)
        if total is not None and bar.total != total:
            bar.total = total
        bar.set_postfix_str(label, refresh=False)
        bar.n = done
        bar.refresh()
        if total is not None and done >= total:
            bar.close()
            del self._bars[task]

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()


@contextmanager
def bars(stream: TextIO | None = None) -> Iterator[NotebookBars]:
    """Show the progress of the calls made inside this block as bars (see :class:`NotebookBars`)."""
    listener = NotebookBars(stream)
    try:
        with listening(listener):
            yield listener
    finally:
        listener.close()


def show_in_notebook(enabled: bool = True, stream: TextIO | None = None) -> NotebookBars | None:
    """Bars for every later call outside a :func:`listening` block (a notebook's cells run in
    fresh contexts, so a ``listening`` block cannot span them); ``enabled=False`` turns them off."""
    global _fallback
    if isinstance(_fallback, NotebookBars):
        _fallback.close()
    _fallback = NotebookBars(stream) if enabled else None
    return _fallback if isinstance(_fallback, NotebookBars) else None
