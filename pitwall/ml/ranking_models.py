"""Race-wise models: a conditional logit (Plackett-Luce first choice) over the drivers of a race.

``ConditionalLogit`` scores every driver ``s_i = w . z_i`` (``z`` = the median-imputed,
standardised features) and models the race as one choice among its drivers:

    P(driver i wins race r) = exp(s_i) / sum_{j in r} exp(s_j)

It is fitted by maximum likelihood of that per-race softmax (McFadden's conditional logit, the
first stage of a Plackett-Luce model), with a small L2 penalty, by L-BFGS-B. For a top-k target
(podium k=3, points k=10) the softmax is fitted to the race's top-k set spread evenly
(soft labels ``1/k`` on each of the k): ``k x softmax`` then estimates P(top k), which is what
``pitwall.ml.model.normalise_top_k`` produces from the saved output. Sign constraints
(``monotone``: +1 = the score never decreases in that feature, -1 = never increases) are bounds
on the coefficients, so a monotone feature stays monotone by construction: a driver moved up the
grid never loses probability. The grid enters as a prior through the feature
``grid_log_rate`` (the log of the empirical P(top k | grid slot) of earlier seasons): with weight
1 on it and 0 elsewhere the model *is* the slot-rate baseline.

The fitted model is kept as a plain scikit-learn ``Pipeline(SimpleImputer, StandardScaler,
LogisticRegression)`` whose logistic coefficients are the conditional-logit weights and whose
intercept is shifted far below every training score (``INTERCEPT_MARGIN``): its positive-class
probability ``sigmoid(s + b)`` then equals ``exp(s + b)`` to a relative 5e-5, so normalising it
per race gives the softmax above. That pipeline is saved with skops like the ``logistic``
algorithm (no pickle, no new artifact format).

``plackett_luce_top_k`` turns race-wise strengths ``exp(s_i)`` into exact P(driver i finishes in
the top k) under the Plackett-Luce model (the whole finishing order drawn stage by stage from
the same strengths), instead of scaling one softmax to sum to k.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from pitwall.ml.errors import MLInputError

INTERCEPT_MARGIN = 10.0  # the top training score sits at sigmoid(-10): exp and sigmoid agree to 5e-5


def _race_order(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row order grouping the races together, start index of each race in that order, race code per ordered row)."""
    codes, _ = pd.factorize(pd.Series(np.asarray(groups).ravel()), sort=False)
    if (codes < 0).any():
        raise MLInputError("groups: null race ids")
    order = np.argsort(codes, kind="mergesort")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    race = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(sorted_codes)]))
    return order, starts, race


def race_softmax(scores: np.ndarray, starts: np.ndarray, race: np.ndarray) -> np.ndarray:
    """Softmax of ``scores`` within each race (rows ordered by race; ``starts``/``race`` from ``_race_order``)."""
    top = np.maximum.reduceat(scores, starts)
    e = np.exp(scores - top[race])
    return e / np.add.reduceat(e, starts)[race]


PL_GRID_POINTS = 400  # quadrature points of plackett_luce_top_k (error below 1e-5 on 20-car races)


def plackett_luce_top_k(strength: np.ndarray, groups: np.ndarray, k: int) -> np.ndarray:
    """P(row finishes in the top ``k`` of its race) under Plackett-Luce with these strengths.

    Exact up to quadrature, through the exponential-race form of the model: with independent
    finishing times ``T_j ~ Exp(w_j)`` the order of the ``T_j`` is Plackett-Luce distributed, so
    ``P(i in top k) = integral of w_i exp(-w_i t) P(fewer than k others have T_j < t) dt``; the
    count of others ahead is Poisson-binomial (a dynamic programme truncated at ``k``) and the
    integral a trapezoid rule over ``log t``. Each race sums to ``min(k, race size)``; ``k = 1``
    is the softmax.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise MLInputError(f"k: must be a positive integer, got {k!r}")
    w_all = np.asarray(strength, dtype=np.float64).ravel()
    if len(w_all) != len(np.asarray(groups).ravel()):
        raise MLInputError("groups: one race id per strength")
    if not np.all(np.isfinite(w_all)) or (w_all <= 0).any():
        raise MLInputError("strength: must be finite and > 0")
    out = np.empty_like(w_all)
    codes, _ = pd.factorize(pd.Series(np.asarray(groups).ravel()), sort=False)
    for idx in pd.Series(np.arange(len(w_all))).groupby(codes, sort=False).indices.values():
        w = w_all[idx] / w_all[idx].sum()
        n = len(w)
        if n <= k:
            out[idx] = 1.0
            continue
        if k == 1:
            out[idx] = w
            continue
        w = np.clip(w, 1e-12, None)
        z = np.linspace(np.log(1e-6 / w.max()), np.log(60.0 / w.min()), PL_GRID_POINTS)
        t = np.exp(z)
        ahead = -np.expm1(-np.outer(w, t))  # (n, points): P(T_j < t)
        count = np.zeros((n, len(t), k))  # per driver i: P(m others ahead by t), m < k
        count[:, :, 0] = 1.0
        for j in range(n):
            pj = ahead[j][None, :, None]
            moved = count * (1.0 - pj)
            moved[:, :, 1:] += count[:, :, :-1] * pj
            others = np.arange(n) != j
            count[others] = moved[others]
        density = w[:, None] * np.exp(-w[:, None] * t[None, :]) * count.sum(axis=2) * t[None, :]
        out[idx] = np.trapezoid(density, z, axis=1)
    return out


class ConditionalLogit:
    """Per-race softmax over linear scores; see the module doc.

    ``l2``: penalty on the standardised coefficients (per race of training data);
    ``monotone``: per feature column -1 / 0 / +1 sign constraint (or ``None``);
    ``max_iter``: L-BFGS-B iterations.
    """

    def __init__(self, l2: float = 0.01, monotone: Sequence[int] | None = None, max_iter: int = 500) -> None:
        if not isinstance(l2, int | float) or isinstance(l2, bool) or l2 < 0:
            raise MLInputError(f"l2: must be a number >= 0, got {l2!r}")
        if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
            raise MLInputError(f"max_iter: must be a positive integer, got {max_iter!r}")
        self.l2 = float(l2)
        self.monotone = None if monotone is None else [int(v) for v in monotone]
        self.max_iter = max_iter
        self.pipeline_: Any = None

    def fit(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> ConditionalLogit:
        from scipy.optimize import minimize
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        if groups is None:
            raise MLInputError(
                "algorithm: 'conditional_logit' compares the drivers of a race with each other; "
                "it trains race-result ranking models (a top_k target grouped by race) only"
            )
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64).ravel()
        if X.ndim != 2 or len(X) != len(y) or len(np.asarray(groups).ravel()) != len(y):
            raise MLInputError("data: features, target and race ids must have the same rows")
        d = X.shape[1]
        if self.monotone is not None and len(self.monotone) != d:
            raise MLInputError(f"monotone_constraints: {len(self.monotone)} values for {d} features")
        imputer = SimpleImputer(strategy="median", keep_empty_features=True).fit(X)
        scaler = StandardScaler().fit(imputer.transform(X))
        Z = scaler.transform(imputer.transform(X))

        order, starts, race = _race_order(np.asarray(groups))
        Z, y = Z[order], y[order]
        hits = np.add.reduceat(y, starts)
        keep_race = hits > 0  # a race without a row in the top k says nothing about the choice
        if not keep_race.any():
            raise MLInputError("target: no race has a driver inside the top k")
        keep = keep_race[race]
        Z, y = Z[keep], y[keep]
        _, starts, race = _race_order(race[keep])  # rows stay in race order: recompute the race index
        target = y / np.add.reduceat(y, starts)[race]
        n_races = float(len(starts))

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            s = Z @ w
            p = race_softmax(s, starts, race)
            nll = -float(np.sum(target * np.log(np.clip(p, 1e-300, None)))) / n_races
            grad = Z.T @ (p - target) / n_races
            return nll + 0.5 * self.l2 * float(w @ w), grad + self.l2 * w

        bounds = [(0.0, None) if m > 0 else (None, 0.0) if m < 0 else (None, None) for m in (self.monotone or [0] * d)]
        options = {"maxiter": self.max_iter}
        res = minimize(loss, np.zeros(d), jac=True, method="L-BFGS-B", bounds=bounds, options=options)
        w = np.asarray(res.x, dtype=np.float64)
        intercept = -float(np.max(Z @ w)) - INTERCEPT_MARGIN if len(Z) else -INTERCEPT_MARGIN
        logit = LogisticRegression()
        logit.classes_ = np.array([0, 1])
        logit.coef_ = w.reshape(1, -1)
        logit.intercept_ = np.array([intercept])
        logit.n_features_in_ = d
        logit.n_iter_ = np.array([int(res.nit)], dtype=np.int32)
        self.pipeline_ = Pipeline([("impute", imputer), ("scale", scaler), ("model", logit)])
        self.coef_ = w
        self.n_iter_ = int(res.nit)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if self.pipeline_ is None:
            raise MLInputError("conditional_logit: the model is not fitted")
        return np.asarray(self.pipeline_.predict_proba(np.asarray(X, dtype=np.float64)), dtype=np.float64)


def coefficients(pipeline: Any) -> np.ndarray:
    """The conditional-logit weights (standardised features) of a fitted pipeline."""
    return np.asarray(pipeline[-1].coef_, dtype=np.float64).ravel()
