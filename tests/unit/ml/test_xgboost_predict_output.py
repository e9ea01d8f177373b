"""XGBoost's raw output comes from the booster's in-place predict: it must equal what the
scikit-learn wrapper answers (binary, multi-class, regression; missing values included)."""

from __future__ import annotations

import numpy as np
import pytest

from pitwall.ml.algorithms import fit_estimator, predict_output


@pytest.mark.parametrize(("kind", "n_classes"), [("classifier", 2), ("classifier", 3), ("regressor", None)])
def test_xgboost_output_equals_the_wrapper(kind: str, n_classes: int | None) -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 5))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = rng.integers(0, n_classes, size=300) if n_classes else X[:, 0] * 2 + rng.normal(size=300)
    y = np.where(np.isnan(y), 0.0, y)
    estimator = fit_estimator("xgboost", kind, {"n_estimators": 20}, X, y, seed=1)
    Q = rng.normal(size=(20, 5))
    Q[3, 2] = np.nan
    out = predict_output("xgboost", kind, estimator, Q)
    if kind == "classifier":
        assert out.shape == (20, n_classes)
        np.testing.assert_allclose(out, estimator.predict_proba(Q), rtol=0, atol=1e-7)
    else:
        assert out.shape == (20,)
        np.testing.assert_allclose(out, estimator.predict(Q), rtol=0, atol=1e-6)
