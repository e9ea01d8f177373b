"""Plots drawn on matplotlib ``Figure`` objects with the Agg canvas (no pyplot, no global backend
change). Each function returns the ``Figure`` (Jupyter shows it inline as the cell's value) and,
given ``path``, writes it there as a PNG and returns the path."""

from __future__ import annotations

import io
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    class InlineFigure(Figure):
        """A Figure that Jupyter shows once: when drawn by a plot call, or as a cell's value."""

        shown = False

        def _ipython_display_(self) -> None:
            if self.shown:
                return
            from IPython.display import Image, display

            buf = io.BytesIO()
            self.savefig(buf, format="png")
            self.shown = True
            display(Image(data=buf.getvalue(), format="png"))

    fig = InlineFigure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _in_notebook() -> bool:
    """True inside a Jupyter/IPython kernel (where figures are shown rather than returned only)."""
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    ip = get() if get is not None else None
    return ip is not None and getattr(ip, "kernel", None) is not None


def _save(fig: Any, path: str | Path | None) -> Any:
    """Lay ``fig`` out; with ``path`` write a PNG there and return the path, else return the
    Figure, shown inline at once in a Jupyter kernel (also when not the cell's last line)."""
    fig.tight_layout()
    if path is None:
        if _in_notebook():
            fig._ipython_display_()
        return fig
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out


def plot_confusion_matrix(matrix: np.ndarray, labels: Sequence[Any], path: str | Path | None, title: str) -> Any:
    """Heat map of ``matrix`` (rows = actual, columns = predicted), cell counts printed."""
    n = len(labels)
    fig = _figure(max(4.0, 1.0 + 0.8 * n), max(3.5, 0.8 + 0.7 * n))
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax)
    ax.set_xticks(range(n), [str(label) for label in labels], rotation=45, ha="right")
    ax.set_yticks(range(n), [str(label) for label in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title)
    peak = matrix.max() if matrix.size else 0
    for i in range(n):
        for j in range(n):
            colour = "white" if peak and matrix[i, j] > peak / 2 else "black"
            ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", color=colour)
    return _save(fig, path)


def plot_feature_importance(
    importance: Mapping[str, float], path: str | Path | None, title: str, top_n: int = 20
) -> Any:
    """Horizontal bars of the ``top_n`` most important features."""
    items = sorted(importance.items(), key=lambda kv: -kv[1])[:top_n]
    names = [k for k, _ in items][::-1]
    values = [v for _, v in items][::-1]
    fig = _figure(7.0, max(2.5, 0.6 + 0.35 * len(items)))
    ax = fig.add_subplot(1, 1, 1)
    ax.barh(names, values, color="#1f77b4")
    ax.set_xlabel("importance (share)")
    ax.set_title(title)
    return _save(fig, path)
