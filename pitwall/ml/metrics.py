"""Metric functions shared by models, tuning, backtests and naive baselines.

Baselines are scored with exactly these functions: a template puts its baseline prediction
in a column and calls ``ranking_metrics(df, "baseline_score", ...)``,
``regression_metrics(df[target], df["baseline"])`` or ``classification_metrics(...)``.

Metrics that are undefined for the given data (ROC AUC with a single class in the truth,
Spearman on a race with fewer than 3 classified drivers, ...) are left out of the dict
rather than reported as NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from pitwall.ml.errors import MLInputError

MAXIMIZE = frozenset(
    {
        "accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "r2",
        "top1_accuracy",
        "topk_accuracy",
        "topk_overlap",
        "spearman",
    }
)
MINIMIZE = frozenset({"log_loss", "brier", "mae", "rmse", "winner_nll"})
_EPS = 1e-15


def direction(metric: str) -> str:
    """``"maximize"`` or ``"minimize"`` for a metric name (``cv_``/``test_`` prefixes allowed)."""
    name = metric.removeprefix("cv_").removeprefix("test_")
    if name in MAXIMIZE:
        return "maximize"
    if name in MINIMIZE:
        return "minimize"
    raise MLInputError(f"metric: unknown metric {metric!r}; known: {', '.join(sorted(MAXIMIZE | MINIMIZE))}")


def default_metric(task: str, top_k: int | None = None) -> str:
    """The metric used to tune and compare models of a task.

    classification: ``log_loss``; regression: ``mae``; ranking with ``top_k``: ``log_loss`` on
    the binary top-k target (normalised probabilities); ranking full order: ``spearman``.
    """
    if task == "classification":
        return "log_loss"
    if task == "regression":
        return "mae"
    if task == "ranking":
        return "log_loss" if top_k is not None else "spearman"
    raise MLInputError(f"task: unknown task {task!r}")


def metrics_for_task(task: str, top_k: int | None = None) -> tuple[str, ...]:
    """Names a model evaluation of this task can report (some may be absent when undefined)."""
    if task == "classification":
        return ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "brier")
    if task == "regression":
        return ("mae", "rmse", "r2")
    base = ("top1_accuracy", "topk_accuracy", "topk_overlap", "spearman")
    if top_k == 1:
        return (*base, "log_loss", "brier", "winner_nll")
    return (*base, "log_loss", "brier") if top_k is not None else base


def classification_metrics(
    y_true: Sequence[Any] | np.ndarray | pd.Series,
    y_pred: Sequence[Any] | np.ndarray | pd.Series,
    proba: np.ndarray | pd.DataFrame | Sequence[float] | None = None,
    classes: Sequence[Any] | None = None,
) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and (given ``proba``) ROC AUC, log loss, Brier.

    - ``classes``: the label order of ``proba`` columns (default: sorted labels of truth and
      predictions). Binary problems use ``classes[1]`` as the positive class; multiclass
      problems use macro averages and the multiclass Brier score (mean squared distance
      between the probability vector and the one-hot truth).
    - ``proba``: ``(n, n_classes)`` matrix, or a 1-D positive-class probability for binary.
    """
    from sklearn import metrics as skm

    yt = np.asarray(pd.Series(y_true).to_numpy(dtype=object))
    yp = np.asarray(pd.Series(y_pred).to_numpy(dtype=object))
    if len(yt) != len(yp):
        raise MLInputError(f"y_pred: length {len(yp)} differs from y_true length {len(yt)}")
    if len(yt) == 0:
        raise MLInputError("y_true: no rows to evaluate")
    if pd.isna(yt).any():
        raise MLInputError("y_true: contains null labels")
    labels = list(classes) if classes is not None else sorted(set(yt.tolist()) | set(yp.tolist()), key=str)
    unknown = set(yt.tolist()) - set(labels)
    if unknown:
        raise MLInputError(f"y_true: labels {sorted(map(str, unknown))} are not among the classes {labels}")
    if len(labels) < 2:
        labels = [*labels, "__other__"]
    index = {label: i for i, label in enumerate(labels)}
    ti = np.array([index[v] for v in yt.tolist()])
    pi = np.array([index.get(v, -1) for v in yp.tolist()])
    out: dict[str, float] = {"accuracy": float(np.mean(ti == pi))}
    if len(labels) == 2:
        avg: dict[str, Any] = {"average": "binary", "pos_label": 1}
    else:
        avg = {"average": "macro", "labels": list(range(len(labels)))}
    out["precision"] = float(skm.precision_score(ti, pi, zero_division=0, **avg))
    out["recall"] = float(skm.recall_score(ti, pi, zero_division=0, **avg))
    out["f1"] = float(skm.f1_score(ti, pi, zero_division=0, **avg))
    if proba is None:
        return out
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim == 1:
        if len(labels) != 2:
            raise MLInputError("proba: a 1-D probability only works for binary classification")
        p = np.column_stack([1.0 - p, p])
    if p.shape != (len(yt), len(labels)):
        raise MLInputError(f"proba: expected shape {(len(yt), len(labels))}, got {p.shape}")
    onehot = np.zeros_like(p)
    onehot[np.arange(len(ti)), ti] = 1.0
    clipped = np.clip(p, _EPS, 1.0)
    out["log_loss"] = float(-np.mean(np.log(clipped[np.arange(len(ti)), ti] / clipped.sum(axis=1))))
    if len(labels) == 2:
        out["brier"] = float(np.mean((p[:, 1] - onehot[:, 1]) ** 2))
    else:
        out["brier"] = float(np.mean(np.sum((p - onehot) ** 2, axis=1)))
    present = np.unique(ti)
    if len(present) >= 2:
        if len(labels) == 2:
            out["roc_auc"] = float(skm.roc_auc_score(ti, p[:, 1]))
        elif len(present) == len(labels):
            norm = p / np.clip(p.sum(axis=1, keepdims=True), _EPS, None)
            out["roc_auc"] = float(skm.roc_auc_score(ti, norm, multi_class="ovr", average="macro"))
    return out


def binary_probability_metrics(y_true: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    """Log loss and Brier score of probabilities ``prob`` for 0/1 outcomes ``y_true``."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.clip(np.asarray(prob, dtype=np.float64), _EPS, 1 - _EPS)
    return {
        "log_loss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
        "brier": float(np.mean((p - y) ** 2)),
    }


def regression_metrics(
    y_true: Sequence[float] | np.ndarray | pd.Series, y_pred: Sequence[float] | np.ndarray | pd.Series
) -> dict[str, float]:
    """MAE, RMSE and R² over rows where both truth and prediction are known."""
    yt = pd.to_numeric(pd.Series(y_true), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    yp = pd.to_numeric(pd.Series(y_pred), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if len(yt) != len(yp):
        raise MLInputError(f"y_pred: length {len(yp)} differs from y_true length {len(yt)}")
    ok = ~(np.isnan(yt) | np.isnan(yp))
    if not ok.any():
        raise MLInputError("y_true: no rows with both a known target and a prediction")
    err = yp[ok] - yt[ok]
    out = {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err**2)))}
    var = float(np.sum((yt[ok] - yt[ok].mean()) ** 2))
    if var > 0:
        out["r2"] = float(1.0 - np.sum(err**2) / var)
    return out


def ranking_metrics(
    df: pd.DataFrame,
    score_col: str,
    target_col: str = "position",
    group_col: str = "race_id",
    k: int = 3,
    prob_col: str | None = None,
) -> dict[str, float]:
    """Per-race ranking quality of ``score_col`` (higher score = expected to finish higher).

    ``target_col`` holds the actual finishing position (lower is better, null = not
    classified). Ties in score keep the frame's row order. Reported:

    - ``top1_accuracy``: share of races whose top-scored row actually won (position 1);
    - ``topk_accuracy``: share of races whose actual winner is among the ``k`` top-scored rows;
    - ``topk_overlap``: mean over races of ``|predicted top k ∩ actual top k| / k``;
    - ``spearman``: mean over races of Spearman's rho between score and ``-position``
      (classified rows only; races with < 3 classified rows or constant scores are skipped);
    - ``log_loss`` / ``brier`` of ``prob_col`` on the binary target ``position <= k``
      (only when ``prob_col`` is given), and with ``k = 1`` ``winner_nll``: the mean over races
      with a winner of ``-log p(winner)``, ``prob_col`` normalised to sum to 1 per race;
    - ``n_races`` and ``k``.
    """
    from scipy.stats import spearmanr

    cols = [score_col, target_col, group_col] + ([prob_col] if prob_col else [])
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise MLInputError(f"ranking_metrics: missing column(s) {', '.join(map(repr, missing))}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise MLInputError(f"k: must be a positive integer, got {k!r}")
    if df.empty:
        raise MLInputError("ranking_metrics: no rows to evaluate")
    score = pd.to_numeric(df[score_col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isnan(score).any():
        raise MLInputError(f"ranking_metrics: column {score_col!r} has null scores")
    pos = pd.to_numeric(df[target_col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    frame = pd.DataFrame({"g": df[group_col].to_numpy(), "s": score, "p": pos, "i": np.arange(len(df))})
    top1: list[float] = []
    topk: list[float] = []
    overlap: list[float] = []
    rhos: list[float] = []
    for _, race in frame.groupby("g", sort=False):
        ordered = race.sort_values(["s", "i"], ascending=[False, True], kind="mergesort")
        positions = ordered["p"].to_numpy()
        predicted_top = positions[:k]
        if (positions == 1).any():
            top1.append(float(positions[0] == 1))
            topk.append(float((predicted_top == 1).any()))
        overlap.append(float(np.sum(predicted_top <= k)) / k)
        classified = ~np.isnan(race["p"].to_numpy())
        s, p = race["s"].to_numpy()[classified], race["p"].to_numpy()[classified]
        if len(s) >= 3 and np.ptp(s) > 0 and np.ptp(p) > 0:
            rhos.append(float(spearmanr(s, -p).statistic))
    out: dict[str, float] = {"n_races": float(len(overlap)), "k": float(k)}
    if top1:
        out["top1_accuracy"] = float(np.mean(top1))
        out["topk_accuracy"] = float(np.mean(topk))
    out["topk_overlap"] = float(np.mean(overlap))
    if rhos:
        out["spearman"] = float(np.mean(rhos))
    if prob_col:
        prob = pd.to_numeric(df[prob_col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isnan(prob).any():
            raise MLInputError(f"ranking_metrics: column {prob_col!r} has null probabilities")
        out.update(binary_probability_metrics(np.where(np.isnan(pos), 0.0, pos <= k), prob))
        if k == 1 and top1:
            from pitwall.ml.compare import winner_nll

            out["winner_nll"] = float(winner_nll(prob, pos == 1, df[group_col].to_numpy()).mean())
    return out
