"""Calibration of binary outputs: Platt scaling fitted on out-of-sample (walk-forward) outputs.

A calibration is a small JSON-ready dict kept with the model (``TrainedModel.calibration``, saved
in ``metadata.json``) and applied to the positive-class column of the estimator's output before
anything else (per-race normalisation of ranking models included), so training, backtests and
serving see the same probabilities:

    {"method": "platt", "slope": a, "intercept": b}:  p' = sigmoid(a * logit(p) + b)

``fit_platt`` chooses ``a``/``b`` to minimise the log loss of the *final* probabilities: for
ranking models with ``top_k`` the probabilities after normalisation per race to sum to ``k``.
The outputs it is fitted on must come from models that did not see those rows (walk-forward
outputs of training seasons; ``pitwall.training`` does this).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pitwall.ml.errors import MLInputError

EPS = 1e-15  # race-wise models put back-markers far below 1e-6: keep their logit, not a floor
METHODS = ("platt",)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def platt(p: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(slope * _logit(p) + intercept)))


def apply_calibration(output: np.ndarray, calibration: dict[str, Any] | None) -> np.ndarray:
    """Calibrated copy of a ``(n, 2)`` binary probability output (unchanged when ``None``)."""
    if not calibration:
        return output
    if calibration.get("method") != "platt":
        raise MLInputError(f"calibration: unknown method {calibration.get('method')!r}; known: {METHODS}")
    if output.ndim != 2 or output.shape[1] != 2:
        raise MLInputError("calibration: only binary probability outputs can be calibrated")
    p1 = platt(output[:, 1], float(calibration["slope"]), float(calibration["intercept"]))
    return np.column_stack([1.0 - p1, p1])


def _final(p1: np.ndarray, groups: np.ndarray | None, k: int | None) -> np.ndarray:
    if groups is None or k is None:
        return p1
    from pitwall.ml.model import normalise_top_k

    return normalise_top_k(p1, groups, k)


def fit_platt(
    p1: np.ndarray, outcome: np.ndarray, groups: np.ndarray | None = None, k: int | None = None
) -> dict[str, Any]:
    """Platt parameters minimising the log loss of the final probabilities (see module doc)."""
    from scipy.optimize import minimize

    p1 = np.asarray(p1, dtype=np.float64)
    y = np.asarray(outcome, dtype=np.float64)
    if p1.shape != y.shape or p1.size < 20:
        raise MLInputError(f"calibration: needs at least 20 out-of-sample rows, got {p1.size}")
    if y.min() == y.max():
        raise MLInputError("calibration: the out-of-sample rows need both outcomes")
    g = None if groups is None else np.asarray(groups)

    def loss(theta: np.ndarray) -> float:
        q = np.clip(_final(platt(p1, theta[0], theta[1]), g, k), 1e-12, 1 - 1e-12)
        return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))

    res = minimize(loss, x0=np.array([1.0, 0.0]), method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-6})
    slope, intercept = (float(v) for v in res.x)
    slope = float(np.clip(slope, 0.05, 20.0))  # never invert or flatten the ranking
    return {"method": "platt", "slope": slope, "intercept": intercept, "rows": int(p1.size)}
