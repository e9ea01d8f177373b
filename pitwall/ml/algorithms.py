"""The algorithm catalogue: default parameters, search spaces, estimator construction.

Each ``Algorithm`` knows

- which estimator kinds it supports (``"classifier"`` / ``"regressor"``),
- its default parameters (used when training without tuning),
- a declarative Optuna search space (``Int`` / ``Float`` / ``Choice`` per parameter),
- a small grid for grid search,
- the safe file format its fitted model is saved in (see ``pitwall.ml.artifacts``).

Heavy libraries (xgboost, lightgbm, catboost, scikit-learn, torch) are imported inside functions.
Every estimator is seeded, single-threaded by default (``n_jobs`` = 1, override through
params) and therefore reproducible bit for bit for a given seed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from pitwall.ml.errors import MLInputError

KINDS = ("classifier", "regressor")
AUTO = "auto"


@dataclass(frozen=True)
class Int:
    """Integer parameter in ``[low, high]``, optionally sampled on a log scale."""

    low: int
    high: int
    log: bool = False


@dataclass(frozen=True)
class Float:
    """Float parameter in ``[low, high]``, optionally sampled on a log scale."""

    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Choice:
    """Categorical parameter (values must be JSON scalars: str, int, float, bool, None)."""

    choices: tuple[Any, ...]


Distribution = Int | Float | Choice


@dataclass(frozen=True)
class Algorithm:
    """One trainable algorithm.

    ``fmt`` is the artifact format: ``"xgboost-ubj"``, ``"lightgbm-txt"``, ``"catboost-cbm"``, ``"torch-npz"``
    or ``"skops"``. ``extra`` names the optional install it needs (``pip install 'pitwall[torch]'``): such an
    algorithm is left out of AutoML's default list (name it in ``algorithms=`` to search it).
    """

    name: str
    kinds: frozenset[str]
    fmt: str
    defaults: Mapping[str, Any]
    space: Mapping[str, Distribution]
    grid: Mapping[str, tuple[Any, ...]]
    build: Callable[[str, dict[str, Any], int], Any]
    doc: str
    grouped: bool = False  # fitted on whole races (``fit(X, y, groups=race ids)``): ranking templates only
    extra: str | None = None  # the optional extra it needs (``pitwall[<extra>]``), None: part of ``pitwall[ml]``

    def params(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Default parameters updated with ``overrides`` (unknown names are passed through)."""
        params = dict(self.defaults)
        params.update(dict(overrides or {}))
        return params

    def suggest(self, trial: Any, prefix: str = "", fixed: Collection[str] = ()) -> dict[str, Any]:
        """Sample parameters from the search space into an Optuna trial (names get ``prefix``);
        parameters named in ``fixed`` are left out of the search."""
        out: dict[str, Any] = {}
        for name, dist in self.space.items():
            if name in fixed:
                continue
            key = f"{prefix}{name}"
            if isinstance(dist, Int):
                out[name] = trial.suggest_int(key, dist.low, dist.high, log=dist.log)
            elif isinstance(dist, Float):
                out[name] = trial.suggest_float(key, dist.low, dist.high, log=dist.log)
            else:
                out[name] = trial.suggest_categorical(key, list(dist.choices))
        return out

    def describe_space(self) -> dict[str, dict[str, Any]]:
        """The search space as JSON-ready dicts (for docs, metadata and the CLI)."""
        out: dict[str, dict[str, Any]] = {}
        for name, dist in self.space.items():
            if isinstance(dist, Choice):
                out[name] = {"type": "choice", "choices": list(dist.choices)}
            else:
                kind = "int" if isinstance(dist, Int) else "float"
                out[name] = {"type": kind, "low": dist.low, "high": dist.high, "log": dist.log}
        return out


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise MLInputError(f"kind: must be one of {KINDS}, got {kind!r}")


def _build_xgboost(kind: str, params: dict[str, Any], seed: int) -> Any:
    import xgboost as xgb

    cls = xgb.XGBClassifier if kind == "classifier" else xgb.XGBRegressor
    return cls(random_state=seed, **params)


def _build_lightgbm(kind: str, params: dict[str, Any], seed: int) -> Any:
    import lightgbm as lgb

    cls = lgb.LGBMClassifier if kind == "classifier" else lgb.LGBMRegressor
    return cls(random_state=seed, **params)


def _build_catboost(kind: str, params: dict[str, Any], seed: int) -> Any:
    import catboost

    params = dict(params)
    if "n_jobs" in params:  # the catalogue's common spelling of the thread count
        params["thread_count"] = params.pop("n_jobs")
    cls = catboost.CatBoostClassifier if kind == "classifier" else catboost.CatBoostRegressor
    # no catboost_info/ folder in the working directory, no per-iteration log
    return cls(random_seed=seed, verbose=False, allow_writing_files=False, **params)


def _build_torch_mlp(kind: str, params: dict[str, Any], seed: int) -> Any:
    from pitwall.ml import torch_mlp

    return torch_mlp.build(kind, params, seed)


def _build_conditional_logit(kind: str, params: dict[str, Any], seed: int) -> Any:
    from pitwall.ml.ranking_models import ConditionalLogit

    if kind != "classifier":
        raise MLInputError("algorithm: 'conditional_logit' trains race-result ranking models (top_k) only")
    params = dict(params)
    return ConditionalLogit(monotone=params.pop("monotone_constraints", None), **params)


def _build_random_forest(kind: str, params: dict[str, Any], seed: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    params = dict(params)
    if params.get("max_depth") == 0:
        params["max_depth"] = None  # 0 in the search space means "unlimited"
    cls = RandomForestClassifier if kind == "classifier" else RandomForestRegressor
    return cls(random_state=seed, **params)


def _build_gradient_boosting(kind: str, params: dict[str, Any], seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingClassifier if kind == "classifier" else HistGradientBoostingRegressor
    return cls(random_state=seed, **params)


def _scaled_pipeline(final: Any) -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("model", final),
        ]
    )


def hidden_layers(spec: str | int | tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """``"64-32"`` -> ``(64, 32)``: hidden layer sizes are stored as strings in params."""
    if isinstance(spec, int):
        return (spec,)
    if isinstance(spec, list | tuple):
        return tuple(int(x) for x in spec)
    try:
        sizes = tuple(int(x) for x in str(spec).split("-"))
    except ValueError:
        raise MLInputError(f"hidden_layer_sizes: expected sizes like '64-32', got {spec!r}") from None
    if not sizes or min(sizes) < 1:
        raise MLInputError(f"hidden_layer_sizes: expected positive sizes like '64-32', got {spec!r}")
    return sizes


def _build_neural_net(kind: str, params: dict[str, Any], seed: int) -> Any:
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    params = dict(params)
    params["hidden_layer_sizes"] = hidden_layers(params.get("hidden_layer_sizes", "64"))
    cls = MLPClassifier if kind == "classifier" else MLPRegressor
    return _scaled_pipeline(cls(random_state=seed, **params))


def _build_logistic(kind: str, params: dict[str, Any], seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    if kind != "classifier":
        raise MLInputError("algorithm: 'logistic' trains classifiers only; use 'linear' for this task")
    return _scaled_pipeline(LogisticRegression(random_state=seed, **params))


def _build_linear(kind: str, params: dict[str, Any], seed: int) -> Any:
    from sklearn.linear_model import Ridge

    if kind != "regressor":
        raise MLInputError("algorithm: 'linear' trains regressors only; use 'logistic' for this task")
    return _scaled_pipeline(Ridge(random_state=seed, **params))


_BOTH = frozenset(KINDS)

ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm(
            name="xgboost",
            kinds=_BOTH,
            fmt="xgboost-ubj",
            defaults={
                "n_estimators": 300,
                "max_depth": 4,
                "learning_rate": 0.05,
                "subsample": 0.9,
                "colsample_bytree": 0.9,
                "min_child_weight": 1.0,
                "reg_lambda": 1.0,
                "tree_method": "hist",
                "n_jobs": 1,
            },
            space={
                "n_estimators": Int(50, 600, log=True),
                "max_depth": Int(2, 8),
                "learning_rate": Float(0.01, 0.3, log=True),
                "subsample": Float(0.6, 1.0),
                "colsample_bytree": Float(0.5, 1.0),
                "min_child_weight": Float(1.0, 20.0, log=True),
                "reg_lambda": Float(1e-3, 10.0, log=True),
            },
            grid={"max_depth": (3, 5), "learning_rate": (0.03, 0.1), "n_estimators": (100, 300)},
            build=_build_xgboost,
            doc="XGBoost gradient-boosted trees (hist); handles NaN natively.",
        ),
        Algorithm(
            name="lightgbm",
            kinds=_BOTH,
            fmt="lightgbm-txt",
            defaults={
                "n_estimators": 300,
                "num_leaves": 15,
                "learning_rate": 0.05,
                "min_child_samples": 20,
                "subsample": 0.9,
                "subsample_freq": 1,
                "colsample_bytree": 0.9,
                "reg_lambda": 1.0,
                "deterministic": True,
                "force_row_wise": True,
                "verbosity": -1,
                "n_jobs": 1,
            },
            space={
                "n_estimators": Int(50, 600, log=True),
                "num_leaves": Int(4, 63, log=True),
                "learning_rate": Float(0.01, 0.3, log=True),
                "min_child_samples": Int(5, 60, log=True),
                "subsample": Float(0.6, 1.0),
                "colsample_bytree": Float(0.5, 1.0),
                "reg_lambda": Float(1e-3, 10.0, log=True),
            },
            grid={"num_leaves": (7, 31), "learning_rate": (0.03, 0.1), "n_estimators": (100, 300)},
            build=_build_lightgbm,
            doc="LightGBM gradient-boosted trees; handles NaN natively.",
        ),
        Algorithm(
            name="random_forest",
            kinds=_BOTH,
            fmt="skops",
            defaults={"n_estimators": 300, "max_depth": 0, "min_samples_leaf": 3, "max_features": "sqrt", "n_jobs": 1},
            space={
                "n_estimators": Int(100, 500, log=True),
                "max_depth": Choice((0, 4, 6, 8, 12)),
                "min_samples_leaf": Int(1, 30, log=True),
                "max_features": Choice(("sqrt", "log2", 0.5, 1.0)),
            },
            grid={"max_depth": (0, 6), "min_samples_leaf": (1, 5), "max_features": ("sqrt", 0.5)},
            build=_build_random_forest,
            doc="scikit-learn random forest (max_depth 0 = unlimited); NaN supported natively.",
        ),
        Algorithm(
            name="gradient_boosting",
            kinds=_BOTH,
            fmt="skops",
            defaults={
                "max_iter": 200,
                "learning_rate": 0.05,
                "max_leaf_nodes": 15,
                "min_samples_leaf": 20,
                "l2_regularization": 1.0,
                "early_stopping": False,
            },
            space={
                "max_iter": Int(50, 500, log=True),
                "learning_rate": Float(0.01, 0.3, log=True),
                "max_leaf_nodes": Int(4, 63, log=True),
                "min_samples_leaf": Int(5, 60, log=True),
                "l2_regularization": Float(1e-4, 10.0, log=True),
            },
            grid={"max_leaf_nodes": (7, 31), "learning_rate": (0.03, 0.1), "max_iter": (100, 300)},
            build=_build_gradient_boosting,
            doc="scikit-learn HistGradientBoosting; handles NaN natively.",
        ),
        Algorithm(
            name="neural_net",
            kinds=_BOTH,
            fmt="skops",
            defaults={
                "hidden_layer_sizes": "64-32",
                "alpha": 1e-3,
                "learning_rate_init": 1e-3,
                "max_iter": 300,
                "early_stopping": True,
                "n_iter_no_change": 10,
            },
            space={
                "hidden_layer_sizes": Choice(("32", "64", "64-32", "128-64")),
                "alpha": Float(1e-5, 1e-1, log=True),
                "learning_rate_init": Float(1e-4, 1e-2, log=True),
            },
            grid={"hidden_layer_sizes": ("32", "64-32"), "alpha": (1e-4, 1e-2)},
            build=_build_neural_net,
            doc="scikit-learn MLP in a Pipeline(median imputer, standard scaler, MLP).",
        ),
        Algorithm(
            name="logistic",
            kinds=frozenset({"classifier"}),
            fmt="skops",
            defaults={"C": 1.0, "max_iter": 2000},
            space={"C": Float(1e-3, 100.0, log=True)},
            grid={"C": (0.01, 0.1, 1.0, 10.0)},
            build=_build_logistic,
            doc="Baseline: logistic regression in a Pipeline(median imputer, standard scaler).",
        ),
        Algorithm(
            name="linear",
            kinds=frozenset({"regressor"}),
            fmt="skops",
            defaults={"alpha": 1.0},
            space={"alpha": Float(1e-3, 100.0, log=True)},
            grid={"alpha": (0.01, 0.1, 1.0, 10.0, 100.0)},
            build=_build_linear,
            doc="Baseline: ridge linear regression in a Pipeline(median imputer, standard scaler).",
        ),
        Algorithm(
            name="conditional_logit",
            kinds=frozenset({"classifier"}),
            fmt="skops",
            defaults={"l2": 0.01, "max_iter": 500},
            space={"l2": Float(1e-4, 1.0, log=True)},
            grid={"l2": (0.001, 0.01, 0.1)},
            build=_build_conditional_logit,
            doc="Race-wise conditional logit (softmax over a race's drivers; pitwall.ml.ranking_models); "
            "monotone constraints as coefficient signs; ranking templates with top_k only.",
            grouped=True,
        ),
        Algorithm(
            name="catboost",
            kinds=_BOTH,
            fmt="catboost-cbm",
            defaults={
                "iterations": 300,
                "depth": 6,
                "learning_rate": 0.05,
                "l2_leaf_reg": 3.0,
                "random_strength": 1.0,
                "thread_count": 1,
            },
            space={
                "iterations": Int(50, 600, log=True),
                "depth": Int(2, 8),
                "learning_rate": Float(0.01, 0.3, log=True),
                "l2_leaf_reg": Float(0.1, 30.0, log=True),
                "random_strength": Float(0.1, 10.0, log=True),
            },
            grid={"depth": (4, 6), "learning_rate": (0.03, 0.1), "iterations": (100, 300)},
            build=_build_catboost,
            doc="CatBoost ordered boosting on oblivious trees; handles NaN natively; saved in its own .cbm format.",
        ),
        Algorithm(
            name="torch_mlp",
            kinds=_BOTH,
            fmt="torch-npz",
            defaults={
                "hidden_layer_sizes": "64-32",
                "learning_rate": 1e-3,
                "weight_decay": 1e-4,
                "batch_size": 64,
                "max_epochs": 200,
                "patience": 10,
                "n_jobs": 1,
            },
            space={
                "hidden_layer_sizes": Choice(("32-16", "64-32", "128-64")),
                "learning_rate": Float(1e-4, 1e-2, log=True),
                "weight_decay": Float(1e-6, 1e-2, log=True),
                "batch_size": Choice((32, 64, 128)),
            },
            grid={"hidden_layer_sizes": ("32-16", "64-32"), "learning_rate": (1e-3, 3e-3)},
            build=_build_torch_mlp,
            doc="PyTorch MLP (pitwall.ml.torch_mlp; pip install 'pitwall[torch]', CPU build): median imputer, "
            "standard scaler, 2 ReLU layers, Adam, early stopping on 10 % held out; weights saved as .npz + JSON.",
            extra="torch",
        ),
    )
}


def get_algorithm(name: str, kind: str | None = None) -> Algorithm:
    """Look up an algorithm by name; with ``kind``, check that it supports it."""
    if name not in ALGORITHMS:
        known = ", ".join([*ALGORITHMS, AUTO])
        raise MLInputError(f"algorithm: unknown algorithm {name!r}; choose one of {known}")
    algo = ALGORITHMS[name]
    if kind is not None:
        _check_kind(kind)
        if kind not in algo.kinds:
            other = "linear" if name == "logistic" else "logistic" if name == "linear" else None
            hint = f"; use {other!r}" if other else ""
            raise MLInputError(f"algorithm: {name!r} does not train {kind}s{hint}")
    return algo


def algorithms_for(kind: str, grouped: bool = False) -> list[str]:
    """Names of the algorithms that can train this estimator kind (race-wise ``grouped`` ones only when asked),
    without those of an optional extra (``torch_mlp``): AutoML's default list, the same on every install."""
    _check_kind(kind)
    return [
        name
        for name, algo in ALGORITHMS.items()
        if kind in algo.kinds and (grouped or not algo.grouped) and algo.extra is None
    ]


def thread_limit(algorithm: str) -> AbstractContextManager[Any]:
    """HistGradientBoosting has no ``n_jobs``: hold its OpenMP pool to one thread, like the
    other algorithms' ``n_jobs=1`` default (oversubscribed OpenMP threads are much slower)."""
    if algorithm != "gradient_boosting":
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def fit_estimator(
    algorithm: str,
    kind: str,
    params: Mapping[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    seed: int,
    groups: np.ndarray | None = None,
) -> Any:
    """Build and fit an estimator; return the object used for prediction.

    LightGBM models are reduced to their ``Booster`` (what is saved and re-loaded), so a
    freshly trained model and a loaded one predict through the same code.
    """
    algo = get_algorithm(algorithm, kind)
    try:
        estimator = algo.build(kind, dict(params), int(seed))
    except TypeError as exc:
        raise MLInputError(f"params: invalid parameter for {algorithm!r}: {exc}") from None
    with thread_limit(algorithm):
        estimator.fit(X, y, groups=groups) if algo.grouped else estimator.fit(X, y)
    if algorithm == "lightgbm":
        return estimator.booster_
    if algo.grouped:
        return estimator.pipeline_  # a plain scikit-learn pipeline: saved with skops, predicts per row
    return estimator


def predict_output(algorithm: str, kind: str, estimator: Any, X: np.ndarray) -> np.ndarray:
    """Raw model output: class-probability matrix ``(n, n_classes)`` or regression values ``(n,)``."""
    if algorithm in ("lightgbm", "xgboost"):
        if algorithm == "xgboost":
            # the booster's own in-place predict, the call its scikit-learn wrapper makes (same
            # trees, missing=NaN), without the wrapper's checks and configuration context, which
            # cost more than a 20-row request's trees
            out = np.asarray(estimator.get_booster().inplace_predict(X, validate_features=False), dtype=np.float64)
        else:
            out = np.asarray(estimator.predict(X), dtype=np.float64)
        if kind == "classifier" and out.ndim == 1:
            return np.column_stack([1.0 - out, out])
        return out if kind == "classifier" else out.reshape(-1)
    with thread_limit(algorithm):
        if kind == "classifier":
            return np.asarray(estimator.predict_proba(X), dtype=np.float64)
        return np.asarray(estimator.predict(X), dtype=np.float64).reshape(-1)


def native_importance(algorithm: str, estimator: Any, n_features: int) -> np.ndarray | None:
    """Model-native feature importance (gain for boosted trees, impurity for forests,
    |coefficient| on standardised inputs for linear models), or ``None`` if the model has none."""
    if algorithm == "lightgbm":
        return np.asarray(estimator.feature_importance(importance_type="gain"), dtype=np.float64)
    if algorithm in ("xgboost", "random_forest", "catboost"):
        values = getattr(estimator, "feature_importances_", None)
        return None if values is None else np.asarray(values, dtype=np.float64)
    if algorithm in ("logistic", "linear", "conditional_logit"):
        coef = np.atleast_2d(np.asarray(estimator[-1].coef_, dtype=np.float64))
        return np.abs(coef).sum(axis=0)[:n_features]
    return None
