"""PNG plots drawn with matplotlib's Agg canvas (no pyplot, no global backend change)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, format="png")
    return out


def plot_confusion_matrix(matrix: np.ndarray, labels: Sequence[Any], path: str | Path, title: str) -> Path:
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


def plot_feature_importance(importance: Mapping[str, float], path: str | Path, title: str, top_n: int = 20) -> Path:
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
