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

:func:`verification_result` is what the verification job runs (the model image's ``verify``
entry point in the cloud, the local workflow's VerifyModel step in process): the one artifact
check, then :func:`verify`, answered as a JSON document the workflow records on the listing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from pitwall.errors import PitwallError, ValidationFailed

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


class Recipe(Protocol):
    """What :func:`verify` reads of a model besides its metadata (a ``ModelRecord`` is one)."""

    @property
    def template(self) -> str: ...
    @property
    def features(self) -> Sequence[str]: ...
    @property
    def algorithm(self) -> str: ...


@dataclass(frozen=True)
class VerificationRequest:
    """What the verification job is given (the workflow's ``params`` hyper-parameter): the listed
    model's artifact and checksum, and its registered recipe."""

    listing_id: str
    tenant_id: str
    model_name: str
    model_version: int
    template: str
    artifact_uri: str
    sha256: str
    algorithm: str
    features: list[str] = field(default_factory=list)

    def to_params(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> VerificationRequest:
        try:
            return cls(
                listing_id=str(params["listing_id"]),
                tenant_id=str(params["tenant_id"]),
                model_name=str(params["model_name"]),
                model_version=int(params["model_version"]),
                template=str(params["template"]),
                artifact_uri=str(params["artifact_uri"]),
                sha256=str(params["sha256"]),
                algorithm=str(params.get("algorithm") or ""),
                features=[str(f) for f in params.get("features") or []],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationFailed(f"verification params: missing or invalid {exc}", field="params") from None


def verification_result(request: VerificationRequest, *, store: Any = None) -> dict[str, Any]:
    """Check the listed artifact (:func:`pitwall.marketplace.bundles.check_artifact`) and run
    :func:`verify`. Returns ``{"status": "verified", "verified_metrics", "feature_importance",
    "snapshot"}`` (``snapshot``: where the checked bundle was kept in the cloud, see
    :mod:`pitwall.marketplace.snapshots`; None locally), or ``{"status": "rejected", "code",
    "field", "message"}`` when the artifact or the backtest fails."""
    from pitwall.marketplace import bundles, snapshots

    what = f"model {request.model_name!r} version {request.model_version}"
    try:
        checked = bundles.check_artifact(request.artifact_uri, request.sha256, what=what)
        try:
            metrics = verify(request, checked.metadata, store=store)
        except PitwallError:
            raise
        except Exception as exc:  # noqa: BLE001 - any backtest failure rejects the listing, naming why
            raise ValidationFailed(
                f"could not verify {what} by backtest: {exc}", field="model_name", code="verification_failed"
            ) from exc
    except ValidationFailed as exc:
        return {"status": "rejected", "code": exc.code, "field": exc.field or "model_name", "message": exc.message}
    importance = checked.metadata.get("feature_importance")
    return {
        "status": "verified",
        "verified_metrics": metrics,
        "feature_importance": (finite(importance) or None) if isinstance(importance, Mapping) else None,
        "snapshot": snapshots.keep(request.listing_id, request.artifact_uri, checked),
    }


def verify(record: Recipe, metadata: Mapping[str, Any], *, store: Any = None) -> dict[str, float]:
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
