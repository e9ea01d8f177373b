"""Trained models: fitting, prediction, ranking, evaluation hooks and persistence.

``ModelBuilder`` (in ``pitwall.ml.builder``) is the entry point; this module holds the model
classes it returns and ``fit_model``, the one function that fits an estimator on a frame.

Output conventions (all arrays align with the rows of the frame passed in):

- classification: ``predict`` -> class labels; ``predict_proba`` -> ``(n, n_classes)`` in
  ``model.classes`` order.
- regression: ``predict`` -> values.
- ranking: ``predict`` -> a score, higher = better. With ``top_k`` the score is the
  probability of finishing in the top k, normalised per race to sum to ``top_k`` (each
  capped at 1); ``predict_proba`` returns the same probabilities. Full order (``top_k=None``)
  scores are ``-predicted position``; ``predict_proba`` is not defined there.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pitwall.config import LOCAL_TENANT
from pitwall.ml import algorithms
from pitwall.ml.dataset import (
    TaskSpec,
    check_race_keys,
    data_window,
    feature_matrix,
    in_training_window,
    infer_features,
    notice,
    numeric_target,
    ranking_binary_target,
    ranking_position_target,
    require_columns,
)
from pitwall.ml.errors import MLInputError
from pitwall.ml.metrics import default_metric

if TYPE_CHECKING:
    from pitwall.ml.evaluation import EvaluationResult

PERMUTATION_ROWS = 1000
PERMUTATION_REPEATS = 3


def _py(value: Any) -> Any:
    """numpy scalars -> plain Python (for JSON metadata)."""
    return value.item() if isinstance(value, np.generic) else value


def sorted_labels(values: Sequence[Any]) -> list[Any]:
    """Distinct labels in a stable order (natural order, or by text for mixed types)."""
    unique = list(dict.fromkeys(_py(v) for v in values))
    try:
        return sorted(unique)
    except TypeError:
        return sorted(unique, key=str)


PROB_CAP = 0.99  # no top-k probability above this: one surprise must not cost a log loss of 35


def normalise_top_k(prob: np.ndarray, groups: np.ndarray, k: int) -> np.ndarray:
    """Scale probabilities per group so they sum to ``k`` with each value capped at ``PROB_CAP``.

    Capped values free their excess mass, which is re-spread proportionally over the
    others (water filling), so the sum is exactly ``min(k, group size)`` (groups of at most
    ``k`` rows, or too few to hold ``k`` below the cap, get 1 each).
    """
    out = np.empty(len(prob), dtype=np.float64)
    groups = np.asarray(groups)
    if len(groups) and not pd.isna(groups[0]) and bool((groups == groups[0]).all()):
        order, bounds = np.arange(len(groups)), np.array([0, len(groups)])  # one race: a served request
    else:
        codes, uniques = pd.factorize(groups)  # null groups: -1, left out (as groupby drops them)
        order = np.argsort(codes, kind="stable")  # each group's rows, in row order
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        idx = order[a:b]
        p = np.clip(prob[idx].astype(np.float64), 1e-12, None)
        if len(p) * PROB_CAP <= k:
            out[idx] = 1.0
            continue
        capped = np.zeros(len(p), dtype=bool)
        while True:
            scale = (k - PROB_CAP * capped.sum()) / p[~capped].sum()
            q = np.where(capped, PROB_CAP, p * scale)
            newly = (q > PROB_CAP) & ~capped
            if not newly.any():
                break
            capped |= newly
        out[idx] = q
    return out


def ranking_scores(spec: TaskSpec, df: pd.DataFrame, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(score, probability or None) of ranking output ``raw`` for the rows of ``df``."""
    require_columns(df, [spec.group_col], "data")
    if df[spec.group_col].isna().any():
        raise MLInputError(f"data: column {spec.group_col!r} has null values")
    return ranking_group_scores(spec, df[spec.group_col].to_numpy(), raw)


def ranking_group_scores(spec: TaskSpec, groups: np.ndarray, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`ranking_scores` for rows whose (non-null) race ids are ``groups``: serving's path,
    without a frame."""
    if spec.top_k is None:
        return -raw, None
    prob = normalise_top_k(raw[:, 1], groups, spec.top_k)
    return prob, prob


def prediction_frame(spec: TaskSpec, classes: list[Any] | None, df: pd.DataFrame, raw: np.ndarray) -> pd.DataFrame:
    """Key columns of ``df`` (those present), the target (if present) and the predictions.

    Output columns: classification ``prediction`` + ``proba_<class>`` per class;
    regression ``prediction``; ranking ``score``, ``predicted_rank`` (1 = best in its race)
    and, with ``top_k``, ``probability``. The index is ``df``'s index.
    """
    keys = [c for c in ("season", "round", spec.group_col, spec.entity_col) if c in df.columns]
    if spec.target in df.columns and spec.target not in keys:
        keys.append(spec.target)
    out = df[keys].copy()
    if spec.task == "classification":
        if classes is None:
            raise MLInputError("classes: a classification model needs its class labels")
        out["prediction"] = np.asarray(classes)[np.argmax(raw, axis=1)]
        for j, label in enumerate(classes):
            out[f"proba_{label}"] = raw[:, j]
    elif spec.task == "regression":
        out["prediction"] = raw
    else:
        score, prob = ranking_scores(spec, df, raw)
        out["score"] = score
        order = pd.DataFrame({"g": df[spec.group_col].to_numpy(), "s": score})
        ranks = order.groupby("g", sort=False)["s"].rank(method="first", ascending=False)
        out["predicted_rank"] = ranks.astype(int).to_numpy()
        if prob is not None:
            out["probability"] = prob
    return out


class BaseModel:
    """What every trained model offers (single estimator or averaging ensemble).

    Attributes: ``spec`` (TaskSpec), ``features``, ``classes`` (classification labels or
    ``None``), ``algorithm``, ``params``, ``seed``, ``metric`` (the primary metric name:
    the tuning metric, else ``pitwall.ml.metrics.default_metric`` of the task), ``score``
    (mean CV value of ``metric`` when tuned or AutoML-selected, else ``None``), ``metrics``
    (flat dict: ``cv_*`` from tuning, ``test_*`` recorded by ``evaluate``), ``data_window``,
    ``training_time_s``, ``created_at`` (ISO UTC), ``tuning`` (search summary or ``None``).
    """

    spec: TaskSpec
    features: list[str]
    classes: list[Any] | None
    algorithm: str
    params: dict[str, Any]
    seed: int
    score: float | None
    metric: str
    metrics: dict[str, float]
    data_window: dict[str, Any]
    training_time_s: float
    created_at: str
    tuning: dict[str, Any] | None
    calibration: dict[str, Any] | None = None  # see pitwall.ml.calibration

    AUTO_FEATURES_KEY = "auto_features"
    """Where a model's auto-features description lives: its ``data_window`` (saved in the
    artifact's metadata and the registry record with it)."""

    @property
    def auto_features(self) -> dict[str, list] | None:
        """The auto-features the model's inputs include (``pitwall.features.auto``: ``{"base":
        [...], "lags": [...], "windows": [...], "relative": [...]}``), or None. Prediction rows
        are built with them (``pitwall.templates.predict.template_frame``)."""
        value = (self.data_window or {}).get(self.AUTO_FEATURES_KEY)
        return dict(value) if value else None

    @auto_features.setter
    def auto_features(self, value: dict[str, list] | None) -> None:
        window = dict(self.data_window or {})
        window.pop(self.AUTO_FEATURES_KEY, None)
        if value:
            window[self.AUTO_FEATURES_KEY] = {k: list(v) for k, v in value.items()}
        self.data_window = window
        for member in getattr(self, "members", None) or []:
            member.data_window = dict(window)

    # -- to implement -------------------------------------------------------------------
    def _output(self, X: np.ndarray) -> np.ndarray:
        """Raw output for a feature matrix: class probabilities or regression values."""
        raise NotImplementedError

    @property
    def input_columns(self) -> list[str]:
        """Columns a frame needs for prediction: the features plus the offset column, if any."""
        cols = list(self.features)
        if self.spec.offset is not None and self.spec.offset not in cols:
            cols.append(self.spec.offset)
        return cols

    def raw_output_matrix(self, X: np.ndarray) -> np.ndarray:
        """``raw_output`` for a float matrix whose columns are ``input_columns`` (serving's fast path,
        no DataFrame round trip)."""
        n = len(self.features)
        if X.ndim != 2 or X.shape[1] != len(self.input_columns):
            raise MLInputError(f"data: expected a matrix with columns {self.input_columns}")
        out = self._output(X[:, :n])
        if self.spec.offset is not None:
            offset = X[:, self.input_columns.index(self.spec.offset)]
            if np.isnan(offset).any():
                raise MLInputError(f"data: offset column {self.spec.offset!r} has null values")
            out = out + offset
        return out

    def feature_importance(self) -> dict[str, float]:
        """Feature -> importance (non-negative, summing to 1 unless all are zero), descending."""
        raise NotImplementedError

    # -- shared behaviour ----------------------------------------------------------------
    @property
    def task(self) -> str:
        return self.spec.task

    @property
    def target(self) -> str:
        return self.spec.target

    @property
    def top_k(self) -> int | None:
        return self.spec.top_k

    @property
    def kind(self) -> str:
        return self.spec.kind

    def raw_output(self, df: pd.DataFrame) -> np.ndarray:
        """Raw estimator output for ``df`` (class probabilities, or values / positions)."""
        require_columns(df, self.features, "data")
        if len(df) == 0:
            raise MLInputError("data: the frame has no rows to predict")
        out = self._output(feature_matrix(df, self.features))
        if self.spec.offset is not None:
            offset = offset_values(df, self.spec.offset)
            if np.isnan(offset).any():
                raise MLInputError(f"data: offset column {self.spec.offset!r} has null values")
            out = out + offset
        return out

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Class labels, regression values, or ranking scores (higher = better), one per row."""
        raw = self.raw_output(df)
        if self.task == "classification":
            return np.asarray(self.classes)[np.argmax(raw, axis=1)]
        if self.task == "regression":
            return raw
        return ranking_scores(self.spec, df, raw)[0]

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """Classification: ``(n, n_classes)`` in ``classes`` order. Ranking with ``top_k``:
        per-race normalised probability of finishing in the top k, shape ``(n,)``."""
        if self.task == "classification":
            return self.raw_output(df)
        if self.task == "ranking" and self.spec.top_k is not None:
            prob = ranking_scores(self.spec, df, self.raw_output(df))[1]
            assert prob is not None
            return prob
        what = "regression" if self.task == "regression" else "full-order ranking (top_k=None)"
        raise MLInputError(f"predict_proba: not defined for {what}; use predict()")

    def predict_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """Key columns, target (if present) and predictions; see ``prediction_frame``."""
        return prediction_frame(self.spec, self.classes, df, self.raw_output(df))

    def rank(self, df: pd.DataFrame) -> pd.DataFrame:
        """Per race, the entities from most to least likely (ranking models only).

        Columns: ``<group_col>``, ``rank`` (1 = predicted best), ``<entity_col>`` (the row
        index when the frame has no entity column), ``score``, ``probability`` (top-k
        probability; NaN for full-order models), plus ``season``/``round`` when present.
        Races keep the order of their first row in ``df``.
        """
        if self.task != "ranking":
            raise MLInputError(f"rank: only ranking models rank; this model's task is {self.task!r}")
        frame = self.predict_frame(df)
        entity = self.spec.entity_col
        ent = df[entity].to_numpy() if entity in df.columns else df.index.to_numpy()
        table = pd.DataFrame(
            {
                self.spec.group_col: frame[self.spec.group_col].to_numpy(),
                "rank": frame["predicted_rank"].to_numpy(),
                entity: ent,
                "score": frame["score"].to_numpy(),
                "probability": frame["probability"].to_numpy() if "probability" in frame else np.nan,
            }
        )
        for col in ("season", "round"):
            if col in df.columns:
                table[col] = df[col].to_numpy()
        race_order = {g: i for i, g in enumerate(pd.unique(table[self.spec.group_col]))}
        table["_race"] = table[self.spec.group_col].map(race_order)
        table = table.sort_values(["_race", "rank"], kind="mergesort").drop(columns="_race")
        return table.reset_index(drop=True)

    def evaluate(self, test_df: pd.DataFrame, record: bool = True) -> EvaluationResult:
        """Score the model on labelled rows; with ``record`` store metrics as ``test_*`` in
        ``self.metrics`` (saved in metadata and logged to MLflow)."""
        from pitwall.ml.dataset import attach_named_target
        from pitwall.ml.evaluation import evaluate_model

        test_df = attach_named_target(self.spec, test_df)
        warn_in_sample(self, test_df)
        result = evaluate_model(self, test_df)
        result.metrics.update(base_rates(self.spec, result.predictions))
        if record:
            self.metrics.update({f"test_{k}": v for k, v in result.metrics.items() if k not in ("n_races", "k")})
        return result

    # The SDK's actions on a trained model (deploy, title forecast, live stream) live in
    # ``pitwall.sdk``, above this layer; they are reached through the package root
    # (``pitwall.model_actions``), the one place that assembles the layers, so ``pitwall.ml``
    # imports nothing above it.

    def deploy(self, name: str, tenant_id: str = LOCAL_TENANT, template: str | None = None) -> Any:
        """Register this model as a new version of ``name`` and deploy it, as a template model
        (``pitwall.sdk.deploy_trained``); returns the deployment."""
        import pitwall

        return pitwall.model_actions().deploy_trained(self, name, tenant_id=tenant_id, template=template)

    def job_spec(self, name: str, template: str | None = None, seasons: Any = None) -> dict[str, Any]:
        """The API job body that trains this model's spec as a job (``pitwall.sdk.job_spec``): its
        template, task, algorithm, hyper-parameters, features and seasons."""
        import pitwall

        return pitwall.model_actions().job_spec(self, name, template=template, seasons=seasons)

    def submit_job(
        self,
        name: str,
        *,
        template: str | None = None,
        seasons: Any = None,
        api_url: str | None = None,
        api_key: str | None = None,
    ) -> dict[str, Any]:
        """Train this model's spec as a training job (``pitwall.sdk.submit_job``): on this laptop's
        workflow, or through the API at ``api_url`` with ``api_key``; returns the job."""
        import pitwall

        actions = pitwall.model_actions()
        body = actions.job_spec(self, name, template=template, seasons=seasons)
        return actions.submit_job(body, api_url=api_url, api_key=api_key)

    def predict_championship(
        self, season: int, remaining_races: bool = True, *, simulations: int = 10_000, seed: int | None = None
    ) -> dict[str, Any]:
        """Monte Carlo title forecast of ``season`` with this model (``pitwall.sdk.forecast_season``).
        The model must belong to a race-result template (``template=`` or a target named after one)."""
        import pitwall

        return pitwall.model_actions().forecast_season(
            self, season, remaining_races=remaining_races, simulations=simulations, seed=seed
        )

    def connect_to_stream(
        self, source: str = "openf1", update_frequency: str = "per_lap", callback: Any = None, **kwargs: Any
    ) -> Any:
        """Per-lap live updates (``pitwall.sdk.stream_trained``; see ``pitwall.live.stream``)."""
        import pitwall

        return pitwall.model_actions().stream_trained(
            self, source=source, update_frequency=update_frequency, callback=callback, **kwargs
        )

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the artifact folder (safe formats + ``metadata.json`` with checksums)."""
        from pitwall.ml.artifacts import save_model

        out = save_model(self, path, overwrite=overwrite)
        self.saved_to = Path(out)  # the latest artifact folder (what tracking logs and registers)
        return out

    def summary(self) -> dict[str, Any]:
        """Short JSON-ready description (algorithm, task, score, metrics, data window)."""
        return {
            "template": self.spec.template,
            "task": self.task,
            "target": self.target,
            "top_k": self.top_k,
            "algorithm": self.algorithm,
            "metric": self.metric,
            "score": self.score,
            "metrics": dict(self.metrics),
            "data_window": dict(self.data_window),
            "training_time_s": self.training_time_s,
        }

    def __repr__(self) -> str:
        score = f", {self.metric}={self.score:.4g}" if self.score is not None else ""
        return f"<{type(self).__name__} {self.algorithm} {self.task}:{self.target}{score}>"


class TrainedModel(BaseModel):
    """One fitted estimator (``estimator``) with everything needed to use and save it."""

    def __init__(
        self,
        *,
        spec: TaskSpec,
        algorithm: str,
        params: dict[str, Any],
        estimator: Any,
        features: list[str],
        classes: list[Any] | None,
        seed: int,
        importance: dict[str, float],
        data_window: dict[str, Any],
        training_time_s: float,
        created_at: str | None = None,
        score: float | None = None,
        metric: str | None = None,
        metrics: dict[str, float] | None = None,
        tuning: dict[str, Any] | None = None,
        calibration: dict[str, Any] | None = None,
    ) -> None:
        self.spec = spec.with_features(features)
        self.algorithm = algorithm
        self.params = dict(params)
        self.estimator = estimator
        self.features = list(features)
        self.classes = None if classes is None else list(classes)
        self.seed = int(seed)
        self._importance = dict(importance)
        self.data_window = dict(data_window)
        self.training_time_s = float(training_time_s)
        self.created_at = created_at or datetime.now(UTC).isoformat(timespec="seconds")
        self.score = score
        self.metric = metric or default_metric(self.spec.task, self.spec.top_k)
        self.metrics = dict(metrics or {})
        self.tuning = tuning
        self.calibration = dict(calibration) if calibration else None

    def _output(self, X: np.ndarray) -> np.ndarray:
        from pitwall.ml.calibration import apply_calibration

        out = algorithms.predict_output(self.algorithm, self.kind, self.estimator, X)
        return apply_calibration(out, self.calibration) if self.calibration else out

    def feature_importance(self) -> dict[str, float]:
        return dict(self._importance)


class EnsembleModel(BaseModel):
    """Averaging ensemble: the mean of its members' raw outputs (probabilities or values).

    ``algorithm`` is ``"ensemble"``; ``member_algorithms`` lists the members'. Members share
    the task spec and feature list; classifiers must share their classes.
    """

    def __init__(
        self,
        members: Sequence[TrainedModel],
        *,
        score: float | None = None,
        metric: str | None = None,
        metrics: dict[str, float] | None = None,
        tuning: dict[str, Any] | None = None,
        created_at: str | None = None,
    ) -> None:
        if len(members) < 2:
            raise MLInputError("members: an ensemble needs at least 2 models")
        first = members[0]
        for m in members[1:]:
            if (m.spec, m.features, m.classes) != (first.spec, first.features, first.classes):
                raise MLInputError("members: ensemble members must share task, features and classes")
        self.members = list(members)
        self.spec = first.spec
        self.features = list(first.features)
        self.classes = None if first.classes is None else list(first.classes)
        self.algorithm = "ensemble"
        self.params = {"members": [{"algorithm": m.algorithm, "params": m.params} for m in members]}
        self.seed = first.seed
        self.data_window = dict(first.data_window)
        self.training_time_s = float(sum(m.training_time_s for m in members))
        self.created_at = created_at or datetime.now(UTC).isoformat(timespec="seconds")
        self.score = score
        self.metric = metric or default_metric(self.spec.task, self.spec.top_k)
        self.metrics = dict(metrics or {})
        self.tuning = tuning

    @property
    def member_algorithms(self) -> list[str]:
        return [m.algorithm for m in self.members]

    def _output(self, X: np.ndarray) -> np.ndarray:
        return np.mean([m._output(X) for m in self.members], axis=0)

    def feature_importance(self) -> dict[str, float]:
        total = {f: float(np.mean([m.feature_importance().get(f, 0.0) for m in self.members])) for f in self.features}
        return dict(sorted(total.items(), key=lambda kv: -kv[1]))


def warn_in_sample(model: BaseModel, test_df: pd.DataFrame) -> None:
    """A notice when test races lie inside the training window (in a training season, not after
    the last training race): those scores are in-sample, not a forecast."""
    window = model.data_window or {}
    seasons, last = sorted(window.get("seasons") or []), window.get("last_race")
    group = model.spec.group_col
    if not seasons or last is None or group not in test_df.columns or "season" not in test_df.columns:
        return
    races = test_df[[group, "season"]].drop_duplicates(group)
    inside = [r for r, s in zip(races[group], races["season"], strict=True) if in_training_window(window, s, r)]
    if inside:
        notice(
            f"evaluate: {len(inside)} of {len(races)} test races lie inside the training window "
            f"(seasons {seasons[0]}-{seasons[-1]}, last race {last}): these scores are in-sample, not a "
            "forecast; train on earlier races, or use pitwall.ml.walk_forward for an honest backtest"
        )


RARE_CLASS_SHARE = 0.25  # classes at most this common get their base rate beside the metrics


def base_rates(spec: TaskSpec, frame: pd.DataFrame) -> dict[str, float]:
    """``base_rate_<class>``: the share of the rare classes among the labelled rows (binary: the
    minority class; more classes: those with at most ``RARE_CLASS_SHARE``), what a metric on
    them must be read against (5 % winners make 95 % accuracy trivial).
    Ranking with ``top_k``: ``base_rate_top<k>``, the share of rows in the top k."""
    if spec.task == "classification":
        labels = frame[spec.target].dropna()
        if labels.empty:
            return {}
        shares = labels.map(_py).value_counts(normalize=True)
        rare = shares.iloc[-1:] if len(shares) == 2 else shares[shares <= RARE_CLASS_SHARE]
        return {f"base_rate_{c}": float(v) for c, v in rare.items()}
    if spec.task == "ranking" and spec.top_k is not None:
        pos = pd.to_numeric(frame[spec.target], errors="coerce")
        return {f"base_rate_top{spec.top_k}": float((pos <= spec.top_k).fillna(False).mean())} if len(pos) else {}
    return {}


def offset_values(df: pd.DataFrame, column: str) -> np.ndarray:
    """The offset column as float64 (NaN for nulls)."""
    require_columns(df, [column], "offset")
    return pd.to_numeric(df[column], errors="coerce").astype("float64").to_numpy(na_value=np.nan)


def training_arrays(spec: TaskSpec, data: pd.DataFrame) -> tuple[np.ndarray, list[Any] | None, np.ndarray]:
    """(row mask of usable training rows, classes or None, encoded target for those rows)."""
    require_columns(data, [spec.target], "data")
    if spec.task == "classification":
        mask = data[spec.target].notna().to_numpy()
        values = data[spec.target].to_numpy()[mask]
        classes = sorted_labels(values)
        if len(classes) < 2:
            raise MLInputError(f"target: column {spec.target!r} needs at least 2 classes, found {classes}")
        index = {c: i for i, c in enumerate(classes)}
        return mask, classes, np.array([index[_py(v)] for v in values], dtype=np.int64)
    if spec.task == "regression":
        y = numeric_target(data, spec.target)
        if spec.offset is not None:
            y = y - offset_values(data, spec.offset)
        mask = ~np.isnan(y)
        return mask, None, y[mask]
    mask = np.ones(len(data), dtype=bool)
    if spec.top_k is not None:
        y = ranking_binary_target(data, spec.target, spec.top_k)
        if y.min() == y.max():
            raise MLInputError(
                f"target: column {spec.target!r} needs rows both inside and outside the top {spec.top_k}"
            )
        return mask, [0, 1], y
    return mask, None, ranking_position_target(data, spec.target, spec.group_col)


def _importance(
    algorithm: str, estimator: Any, features: list[str], X: np.ndarray, y: np.ndarray, seed: int
) -> dict[str, float]:
    """Normalised importance: model-native when available, else permutation importance."""
    values = algorithms.native_importance(algorithm, estimator, len(features))
    if values is None:
        from sklearn.inspection import permutation_importance

        rng = np.random.default_rng(seed)
        rows = rng.choice(len(X), size=min(len(X), PERMUTATION_ROWS), replace=False)
        rows.sort()
        with algorithms.thread_limit(algorithm):
            result = permutation_importance(
                estimator, X[rows], y[rows], n_repeats=PERMUTATION_REPEATS, random_state=seed, n_jobs=1
            )
        values = np.asarray(result.importances_mean, dtype=np.float64)
    values = np.clip(np.nan_to_num(values), 0.0, None)
    total = values.sum()
    if total > 0:
        values = values / total
    pairs = sorted(zip(features, values.tolist(), strict=True), key=lambda kv: -kv[1])
    return {f: float(v) for f, v in pairs}


MONOTONE_ALGORITHMS = ("xgboost", "lightgbm", "conditional_logit")


def monotone_params(algorithm: str, params: dict[str, Any] | None, features: Sequence[str]) -> dict[str, Any]:
    """``params`` with a ``monotone_constraints`` mapping {feature: +1/-1} (direction of the
    estimator's output: the top-k probability, the class-1 probability, a regressed value or
    position) turned into the per-column list XGBoost / LightGBM expect; features not named get
    0. Dropped for algorithms without monotone constraints and when no named feature is used."""
    out = dict(params or {})
    mono = out.get("monotone_constraints")
    if not isinstance(mono, dict):
        return out
    if algorithm not in MONOTONE_ALGORITHMS or not set(mono) & set(features):
        out.pop("monotone_constraints")
        return out
    bad = {f: v for f, v in mono.items() if v not in (-1, 0, 1)}
    if bad:
        raise MLInputError(f"monotone_constraints: values must be -1, 0 or 1, got {bad}")
    values = [int(mono.get(f, 0)) for f in features]
    out["monotone_constraints"] = "(" + ",".join(map(str, values)) + ")" if algorithm == "xgboost" else values
    return out


def fit_model(
    spec: TaskSpec,
    data: pd.DataFrame,
    algorithm: str,
    params: dict[str, Any] | None = None,
    seed: int = 0,
    compute_importance: bool = True,
) -> TrainedModel:
    """Fit ``algorithm`` on ``data`` for ``spec``; parameters default to the algorithm's own.

    Classification drops rows with a null target; regression drops rows with a NaN target;
    ranking keeps every row (null position = not classified).
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise MLInputError(f"seed: must be an integer, got {seed!r}")
    check_race_keys(data, spec.group_col)
    algo = algorithms.get_algorithm(algorithm, spec.kind)
    features = infer_features(data, spec, quiet=spec.features is not None)
    mask, classes, y = training_arrays(spec, data)
    if len(y) == 0:
        raise MLInputError(f"target: column {spec.target!r} has no usable (non-null) values")
    train_rows = data.loc[mask] if not mask.all() else data
    X = feature_matrix(train_rows, features)
    full_params = algo.params(monotone_params(algorithm, params, features))
    start = time.perf_counter()
    groups = train_rows[spec.group_col].to_numpy() if algo.grouped and spec.task == "ranking" else None
    estimator = algorithms.fit_estimator(algorithm, spec.kind, full_params, X, y, int(seed), groups)
    elapsed = time.perf_counter() - start
    importance = _importance(algorithm, estimator, features, X, y, int(seed)) if compute_importance else {}
    return TrainedModel(
        spec=spec,
        algorithm=algorithm,
        params=full_params,
        estimator=estimator,
        features=features,
        classes=classes if spec.task == "classification" else None,
        seed=int(seed),
        importance=importance,
        data_window=data_window(train_rows, spec.group_col),
        training_time_s=elapsed,
    )
