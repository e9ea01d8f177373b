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


def plot_calibration(table: Any, path: str | Path | None, title: str) -> Any:
    """Reliability diagram from ``pitwall.ml.compare.reliability_table``: observed frequency
    against mean predicted probability per bin (point size ~ rows), beside the diagonal."""
    fig = _figure(5.5, 5.0)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfectly calibrated")
    sizes = 20 + 200 * table["rows"] / max(1, int(table["rows"].max())) if len(table) else []
    ax.scatter(table["mean_predicted"], table["observed"], s=sizes, color="#1f77b4", zorder=3, label="model")
    ax.plot(table["mean_predicted"], table["observed"], color="#1f77b4", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title(title)
    ax.legend(loc="upper left")
    return _save(fig, path)


def plot_by_race(per_race: Any, path: str | Path | None, title: str, metric: str) -> Any:
    """One line per side (``model`` and each baseline column of ``per_race``) of ``metric``
    race by race; ``per_race`` is indexed by the race label."""
    fig = _figure(max(7.0, 0.35 * len(per_race)), 4.0)
    ax = fig.add_subplot(1, 1, 1)
    for side in per_race.columns:
        style = {"linewidth": 2.0, "color": "#d62728"} if side == "model" else {"linewidth": 1.0, "alpha": 0.8}
        ax.plot(range(len(per_race)), per_race[side].to_numpy(dtype=float), marker="o", label=str(side), **style)
    ax.set_xticks(range(len(per_race)), [str(i) for i in per_race.index], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_residuals(actual: np.ndarray, predicted: np.ndarray, path: str | Path | None, title: str) -> Any:
    """Residuals (actual - predicted) against the prediction, and their histogram."""
    residual = np.asarray(actual, dtype=float) - np.asarray(predicted, dtype=float)
    fig = _figure(10.0, 4.0)
    ax, hist = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ax.scatter(predicted, residual, s=6, alpha=0.4, color="#1f77b4")
    ax.axhline(0.0, color="grey", linewidth=1)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual - predicted")
    ax.set_title(title)
    hist.hist(residual[np.isfinite(residual)], bins=50, color="#1f77b4")
    hist.set_xlabel("actual - predicted")
    hist.set_ylabel("rows")
    hist.set_title(f"MAE {np.nanmean(np.abs(residual)):.3f}, bias {np.nanmean(residual):+.3f}")
    return _save(fig, path)


def plot_shap(values: Any, feature_values: Any, path: str | Path | None, title: str, top_n: int = 20) -> Any:
    """SHAP summary: per feature (by mean |contribution|, top ``top_n``) each row's contribution
    as a dot coloured by the feature's value (low blue, high red)."""
    order = values.abs().mean().sort_values(ascending=False).index[:top_n][::-1]
    fig = _figure(8.0, max(3.0, 0.8 + 0.35 * len(order)))
    ax = fig.add_subplot(1, 1, 1)
    rng = np.random.default_rng(0)
    for i, name in enumerate(order):
        contrib = values[name].to_numpy(dtype=float)
        raw = feature_values[name].to_numpy(dtype=float)
        lo, hi = np.nanmin(raw) if np.isfinite(raw).any() else 0.0, np.nanmax(raw) if np.isfinite(raw).any() else 1.0
        shade = np.clip((raw - lo) / (hi - lo), 0, 1) if hi > lo else np.full(len(raw), 0.5)
        jitter = rng.uniform(-0.3, 0.3, len(contrib))
        ax.scatter(contrib, i + jitter, c=np.nan_to_num(shade, nan=0.5), cmap="coolwarm", s=6, alpha=0.6)
    ax.axvline(0.0, color="grey", linewidth=1)
    ax.set_yticks(range(len(order)), list(order))
    ax.set_xlabel("contribution to the model's raw score (SHAP value)")
    ax.set_title(title)
    return _save(fig, path)
