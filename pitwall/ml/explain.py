"""SHAP values: each feature's additive contribution to one prediction's raw score.

Exact and cheap where the model has them natively — XGBoost (``pred_contribs``), LightGBM
(``pred_contrib``), CatBoost (``ShapValues``) — and, for linear models (logistic, linear,
conditional logit), ``coef * (x - mean x)`` on the model's standardised inputs (exact SHAP for a
linear score with independent features). Contributions are on the model's raw score (log-odds
for classifiers, the value for regressors) and sum with ``base_value`` to it.
Other estimators (random forest, MLP, ensembles) are refused with a message saying so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pitwall.ml.dataset import feature_matrix
from pitwall.ml.errors import MLInputError

if TYPE_CHECKING:
    from pitwall.ml.model import BaseModel

BASE_VALUE = "base_value"
LINEAR = ("logistic", "linear", "conditional_logit")


def shap_values(model: BaseModel, rows: pd.DataFrame) -> pd.DataFrame:
    """One row per row of ``rows``: a column per feature (its contribution) plus ``base_value``.
    For a classifier with more than two classes, the contributions to the last class's score."""
    algorithm = getattr(model, "algorithm", "")
    estimator = getattr(model, "estimator", None)
    if estimator is None:
        raise MLInputError(f"shap: not available for a {algorithm!r} model (no single estimator)")
    features = list(model.features)
    if len(rows) == 0:
        raise MLInputError("rows: the frame has no rows to explain")
    X = feature_matrix(rows, features)
    if algorithm == "xgboost":
        import xgboost as xgb

        values = estimator.get_booster().predict(xgb.DMatrix(X), pred_contribs=True)
    elif algorithm == "lightgbm":
        values = np.asarray(estimator.predict(X, pred_contrib=True), dtype=np.float64)
    elif algorithm == "catboost":
        from catboost import Pool

        values = np.asarray(estimator.get_feature_importance(Pool(X), type="ShapValues"), dtype=np.float64)
    elif algorithm in LINEAR:
        values = _linear(estimator, X)
    else:
        raise MLInputError(
            f"shap: exact SHAP values need a boosted-tree or linear model; {algorithm!r} has none "
            "(use the feature importance, or train with xgboost, lightgbm, catboost or a linear model)"
        )
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 3:  # (rows, classes, features + 1): the last class
        values = values[:, -1, :]
    n = len(features)
    if values.ndim == 2 and values.shape[1] > n + 1:  # flattened per-class blocks (LightGBM multiclass)
        values = values[:, -(n + 1) :]
    out = pd.DataFrame(values[:, :n], columns=features, index=rows.index)
    out[BASE_VALUE] = values[:, n]
    return out


def _linear(pipeline: Any, X: np.ndarray) -> np.ndarray:
    """``coef * (x - mean x)`` on the inputs of the pipeline's last (linear) step."""
    steps = getattr(pipeline, "steps", None)
    last = pipeline[-1] if steps else pipeline
    Xt = X
    for _, step in (steps or [])[:-1]:
        Xt = step.transform(Xt)
    Xt = np.asarray(Xt, dtype=np.float64)
    coef = np.atleast_2d(np.asarray(last.coef_, dtype=np.float64))[-1][: Xt.shape[1]]
    mean = np.nanmean(Xt, axis=0)
    centred = np.where(np.isnan(Xt), 0.0, Xt - mean)
    contrib = centred * coef
    intercept = np.atleast_1d(np.asarray(getattr(last, "intercept_", 0.0), dtype=np.float64))[-1]
    base = float(intercept + np.dot(np.nan_to_num(mean), coef))
    return np.column_stack([contrib, np.full(len(Xt), base)])
