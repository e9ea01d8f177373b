"""Scoring and evaluation results: metrics of a prediction frame, of a baseline column on the
same rows, and ``EvaluationResult`` (metrics and plots of one evaluation).

Splits live in ``pitwall.ml.splits``; the walk-forward backtest in ``pitwall.ml.backtest``;
proper scores and paired comparisons in ``pitwall.ml.compare``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pitwall.ml import metrics as M
from pitwall.ml.dataset import TaskSpec, check_race_keys, require_columns
from pitwall.ml.errors import MLInputError

if TYPE_CHECKING:
    from pitwall.ml.model import BaseModel


# ---------------------------------------------------------------------------------------
def proba_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if str(c).startswith("proba_")]


def score_frame(spec: TaskSpec, frame: pd.DataFrame, classes: Sequence[Any] | None = None) -> dict[str, float]:
    """Metrics of a prediction frame (``BaseModel.predict_frame`` output with the target).

    Classification and regression ignore rows with a null target. Ranking uses
    ``k = top_k`` (or 3 for full-order models).
    """
    require_columns(frame, [spec.target], "evaluation data")
    if spec.task == "classification":
        rows = frame[frame[spec.target].notna()]
        if rows.empty:
            raise MLInputError(f"evaluation data: column {spec.target!r} has no labelled rows")
        labels = list(classes) if classes is not None else [c.removeprefix("proba_") for c in proba_columns(rows)]
        proba = rows[[f"proba_{c}" for c in labels]].to_numpy(dtype=np.float64)
        return M.classification_metrics(rows[spec.target], rows["prediction"], np.nan_to_num(proba), labels)
    if spec.task == "regression":
        return M.regression_metrics(frame[spec.target], frame["prediction"])
    k = spec.top_k if spec.top_k is not None else 3
    prob = "probability" if spec.top_k is not None else None
    return M.ranking_metrics(frame, "score", spec.target, spec.group_col, k=k, prob_col=prob)


@dataclass
class EvaluationResult:
    """Metrics of a model on a labelled frame, with the predictions behind them.

    ``metrics``: dict of metric name -> value (see ``pitwall.ml.metrics``).
    ``predictions``: the ``predict_frame`` output (keys, target, predictions).
    """

    spec: TaskSpec
    algorithm: str
    metrics: dict[str, float]
    predictions: pd.DataFrame
    classes: list[Any] | None
    importance: dict[str, float]
    model: BaseModel | None = None  # the model evaluated (for SHAP values)
    rows: pd.DataFrame | None = None  # the frame it was evaluated on (for SHAP values)

    @property
    def task(self) -> str:
        return self.spec.task

    def plot_calibration(self, path: str | Path | None = None, n_bins: int = 10) -> Any:
        """Reliability diagram of the predicted probabilities (ranking p(top k), binary
        classification) as a Figure (inline in Jupyter); with ``path`` written there as a PNG."""
        from pitwall.ml.compare import reliability_table
        from pitwall.ml.plots import plot_calibration

        outcome, prob = calibration_pairs(self.spec, self.predictions, self.classes)
        table = reliability_table(outcome, prob, n_bins)
        return plot_calibration(table, path, f"{self.algorithm}: calibration ({len(prob)} rows)")

    def plot_residuals(self, path: str | Path | None = None) -> Any:
        """Regression residuals against the prediction, and their histogram."""
        from pitwall.ml.plots import plot_residuals

        if self.task != "regression":
            raise MLInputError(f"residuals: defined for regression models, not {self.task}")
        rows = self.predictions[self.predictions[self.spec.target].notna()]
        actual = pd.to_numeric(rows[self.spec.target], errors="coerce").to_numpy(dtype=float)
        return plot_residuals(actual, rows["prediction"].to_numpy(dtype=float), path, f"{self.algorithm}: residuals")

    def shap_values(self) -> pd.DataFrame:
        """Per evaluated row, each feature's SHAP contribution to the raw score (``pitwall.ml.explain``)."""
        from pitwall.ml.explain import shap_values

        if self.model is None or self.rows is None:
            raise MLInputError("shap: this evaluation does not hold its model and rows (use model.evaluate)")
        return shap_values(self.model, self.rows)

    def plot_shap(self, path: str | Path | None = None, top_n: int = 20) -> Any:
        """SHAP summary plot (each row's contribution per feature, coloured by the feature's value)."""
        from pitwall.ml.explain import BASE_VALUE
        from pitwall.ml.plots import plot_shap

        values = self.shap_values().drop(columns=[BASE_VALUE])
        assert self.rows is not None
        features = self.rows[list(values.columns)].apply(pd.to_numeric, errors="coerce")
        return plot_shap(values, features, path, f"{self.algorithm}: SHAP values ({len(values)} rows)", top_n)

    def confusion_matrix(self) -> tuple[list[Any], np.ndarray]:
        """(labels, counts) with rows = actual, columns = predicted.

        Classification: the model's classes. Ranking with ``top_k``: "in top k" (predicted
        rank <= k) against actually finishing in the top k.
        """
        frame = self.predictions
        if self.task == "classification":
            rows = frame[frame[self.spec.target].notna()]
            labels = list(self.classes or [])
            actual, predicted = rows[self.spec.target].tolist(), rows["prediction"].tolist()
        elif self.task == "ranking" and self.spec.top_k is not None:
            k = self.spec.top_k
            labels = [f"outside top {k}", f"top {k}"]
            pos = pd.to_numeric(frame[self.spec.target], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            actual = [labels[int(p <= k)] for p in np.nan_to_num(pos, nan=np.inf)]
            predicted = [labels[int(r <= k)] for r in frame["predicted_rank"]]
        else:
            raise MLInputError(f"confusion matrix: not defined for {self.task} (top_k={self.spec.top_k})")
        index = {label: i for i, label in enumerate(labels)}
        matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
        for a, p in zip(actual, predicted, strict=True):
            if a in index and p in index:
                matrix[index[a], index[p]] += 1
        return labels, matrix

    def plot_confusion_matrix(self, path: str | Path | None = None) -> Any:
        """The confusion matrix as a matplotlib Figure (shown inline in Jupyter); with ``path``
        written there as a PNG and the path returned."""
        from pitwall.ml.plots import plot_confusion_matrix

        labels, matrix = self.confusion_matrix()
        return plot_confusion_matrix(matrix, labels, path, f"{self.algorithm}: {self.spec.target}")

    def plot_feature_importance(self, path: str | Path | None = None, top_n: int = 20) -> Any:
        """The ``top_n`` feature importances as a bar chart Figure (shown inline in Jupyter); with
        ``path`` written there as a PNG and the path returned."""
        from pitwall.ml.plots import plot_feature_importance

        if not self.importance:
            raise MLInputError("feature importance: this model has none recorded")
        return plot_feature_importance(self.importance, path, f"{self.algorithm}: feature importance", top_n)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "target": self.spec.target,
            "top_k": self.spec.top_k,
            "algorithm": self.algorithm,
            "metrics": dict(self.metrics),
            "rows": int(len(self.predictions)),
        }


def evaluate_model(model: BaseModel, test_df: pd.DataFrame) -> EvaluationResult:
    """Predict ``test_df`` (which must hold the target) and score it."""
    require_columns(test_df, [model.target], "test data")
    if model.task == "ranking":
        check_race_keys(test_df, model.spec.group_col, "test data")
    frame = model.predict_frame(test_df)
    return EvaluationResult(
        spec=model.spec,
        algorithm=model.algorithm,
        metrics=score_frame(model.spec, frame, model.classes),
        predictions=frame,
        classes=model.classes,
        importance=model.feature_importance(),
        model=model,
        rows=test_df,
    )


def calibration_pairs(spec: TaskSpec, frame: pd.DataFrame, classes: Sequence[Any] | None) -> tuple[Any, Any]:
    """(outcome 0/1, predicted probability) of a prediction frame: p(top k) against finishing in
    the top k for ranking models, p(positive class) for binary classifiers."""
    if spec.task == "ranking":
        if "probability" not in frame:
            raise MLInputError("calibration: this ranking model gives no probabilities")
        k = spec.top_k or 1
        pos = pd.to_numeric(frame[spec.target], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return np.where(np.isnan(pos), 0.0, pos <= k).astype(float), frame["probability"].to_numpy(dtype=float)
    if spec.task == "classification":
        labels = list(classes or [])
        if len(labels) != 2:
            raise MLInputError(f"calibration: defined for binary classifiers; this one has {len(labels)} classes")
        rows = frame[frame[spec.target].notna()]
        outcome = (rows[spec.target] == labels[-1]).to_numpy(dtype=float)
        return outcome, rows[f"proba_{labels[-1]}"].to_numpy(dtype=float)
    raise MLInputError("calibration: a regression model gives no probabilities (see plot_residuals)")


def baseline_scores(spec: TaskSpec, rows: pd.DataFrame, column: str, probability: bool = False) -> dict[str, float]:
    """Metrics of a baseline column on ``rows``, in the model's own convention.

    Point rules (``probability=False``): a class label, a value, or a ranking score (higher =
    better). Probability baselines: binary classification — P(positive class = the larger
    label); ranking with ``top_k`` — P(top k) (it is also the ranking score), so log loss and
    Brier are reported beside the point metrics.
    """
    require_columns(rows, [column, spec.target], "baselines")
    if spec.task == "classification":
        labelled = rows[rows[spec.target].notna()]
        if not probability:
            return M.classification_metrics(labelled[spec.target], labelled[column])
        labels = sorted(pd.unique(labelled[spec.target]).tolist(), key=str)
        if len(labels) > 2:
            raise MLInputError(f"baselines: probability column {column!r} needs a binary target")
        labels = labels if len(labels) == 2 else [*labels, "__other__"]
        prob = pd.to_numeric(labelled[column], errors="coerce").fillna(0.5).to_numpy(dtype=np.float64)
        predicted = np.where(prob >= 0.5, labels[1], labels[0])
        return M.classification_metrics(labelled[spec.target], predicted, prob, labels)
    if spec.task == "regression":
        return M.regression_metrics(rows[spec.target], rows[column])
    k = spec.top_k if spec.top_k is not None else 3
    prob_col = column if probability and spec.top_k is not None else None
    return M.ranking_metrics(rows, column, spec.target, spec.group_col, k=k, prob_col=prob_col)
