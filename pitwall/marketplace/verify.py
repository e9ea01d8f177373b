"""Publish-time verification: Pitwall's own metrics for a listed model, shown as *verified*.

The standard (:data:`VERIFY_STANDARD`): the latest season the store holds for the model's
template is predicted race by race by the one walk-forward backtest of the code base
(``pitwall.training.backtest_template``) in ``season_start`` mode: one fit on the
:data:`VERIFY_TRAIN_SEASONS` seasons before it, never on the predicted season, with the
model's recipe read from its checked artifact (template, features, algorithm,
hyperparameters, seed and whether it is calibrated; an AutoML ensemble refits every member, no
tuning). Returned: the backtest's metrics, each naive baseline of the template on the same
races as ``baseline_<name>_<metric>`` and the strongest of them as ``baseline_<metric>``,
``backtest_season`` and ``train_seasons``. Time is bounded by the data (three seasons, one fit
per member). It measures the recipe, not the exact fitted artifact (which was fitted on the
author's own window).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pitwall.errors import ValidationFailed
from pitwall.platform.records import ModelRecord

VERIFY_STANDARD = "pitwall-walk-forward-v1"
VERIFY_TRAIN_SEASONS = 3
VERIFY_MODE = "season_start"
VERIFY_SEED = 0
_NOT_SCORES = frozenset({"n_races", "k"})


def finite(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The finite numeric entries of ``metrics`` as floats (others are dropped)."""
    out: dict[str, float] = {}
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
            continue
        out[str(name)] = float(value)
    return out


def verify(record: ModelRecord, metadata: Mapping[str, Any], *, store: Any = None) -> dict[str, float]:
    """The verified metrics of ``record`` (see the module doc); ``metadata`` is its checked
    ``metadata.json`` (:func:`pitwall.marketplace.bundles.check_artifact`)."""
    from pitwall.data.store import get_store
    from pitwall.templates import get_template
    from pitwall.training import available_seasons, backtest_template

    spec = get_template(record.template)
    store = store or get_store()
    have = available_seasons(store, spec)
    season = have[-1]
    train_seasons = [s for s in have if s < season][-VERIFY_TRAIN_SEASONS:]
    if not train_seasons:
        raise ValidationFailed(
            f"cannot verify: template {spec.name!r} has only season {season} stored; the standard backtest "
            "needs earlier seasons to train on",
            field="model_name",
            code="verification_failed",
            unprocessable=True,
        )
    features = list(metadata.get("features") or record.features)
    common: dict[str, Any] = dict(
        season=season, train_until=season - 1, first_season=train_seasons[0], mode=VERIFY_MODE, track=False
    )
    if metadata.get("kind") == "ensemble":
        fit = _ensemble_fit(spec, features, list(metadata.get("members") or []))
        report = backtest_template(spec.name, fit=fit, store=store, **common)
    else:
        report = backtest_template(
            spec.name,
            features=features,
            algorithm=str(metadata.get("algorithm", record.algorithm)),
            params=dict(metadata.get("params") or {}),
            seed=int(metadata.get("seed", VERIFY_SEED)),
            calibrate=bool(metadata.get("calibration")),
            store=store,
            **common,
        )
    result = report.result
    verified = finite({k: v for k, v in result.metrics.items() if k != "k"})
    baselines = {name: finite(scores) for name, scores in result.baseline_metrics.items()}
    for name, scores in baselines.items():
        verified.update({f"baseline_{name}_{k}": v for k, v in scores.items() if k not in _NOT_SCORES})
    strongest = getattr(result, "strongest", {}) or {}
    for metric in sorted({k for scores in baselines.values() for k in scores} - _NOT_SCORES):
        name = strongest.get(metric) or next(n for n, scores in baselines.items() if metric in scores)
        if metric in baselines.get(name, {}):
            verified[f"baseline_{metric}"] = baselines[name][metric]
    verified["backtest_season"] = float(season)
    verified["train_seasons"] = float(len(train_seasons))
    return verified


def _ensemble_fit(spec: Any, features: list[str], members: list[Mapping[str, Any]]) -> Any:
    """``train_df -> EnsembleModel`` refitting every member's recipe (algorithm, params, seed)."""
    from pitwall.ml.model import EnsembleModel
    from pitwall.training import template_fit

    fits = [
        template_fit(
            spec,
            features=features,
            algorithm=str(m["algorithm"]),
            params=dict(m.get("params") or {}),
            seed=int(m.get("seed", VERIFY_SEED)),
            calibrate=False,
        )
        for m in members
    ]
    if not fits:
        raise ValidationFailed(
            "cannot verify: the ensemble artifact lists no members", field="model_name", code="verification_failed"
        )

    def fit(train: Any) -> Any:
        return EnsembleModel([member(train) for member in fits])

    fit.spec = fits[0].spec  # type: ignore[attr-defined]
    return fit
